/* Errors become HTTP responses here and nowhere else. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/api.h"
#include "ahpa/buf.h"
#include "ahpa/error.h"
#include "ahpa/httpd.h"
#include "api_int.h"

static const struct {
    int code;
    const char *reason;
} reasons[] = {
    {400, "BadRequest"},          {401, "Unauthorized"},       {403, "Forbidden"},
    {404, "NotFound"},            {405, "MethodNotAllowed"},   {406, "NotAcceptable"},
    {409, "Conflict"},            {413, "RequestEntityTooLarge"},
    {415, "UnsupportedMediaType"}, {429, "TooManyRequests"},   {500, "InternalError"},
    {503, "ServiceUnavailable"},  {504, "Timeout"},
};

static const char *reason_of(int http_code)
{
    for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
        if (reasons[i].code == http_code)
            return reasons[i].reason;
    }
    return http_code >= 500 ? "InternalError" : "BadRequest";
}

void ahpa_api_status(struct ahpa_httpd_response *resp, int http_code, const char *message)
{
    json_t *doc = json_pack("{s:s, s:s, s:{}, s:s, s:s, s:s, s:i}", "kind", "Status", "apiVersion",
                            "v1", "metadata", "status", "Failure", "message",
                            message ? message : "", "reason", reason_of(http_code), "code",
                            http_code);
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    ahpa_buf_reset(&resp->body);
    ahpa_buf_puts(&resp->body, text ? text : "{\"kind\":\"Status\",\"apiVersion\":\"v1\"}");
    ahpa_buf_putc(&resp->body, '\n');
    free(text);
    json_decref(doc);
    resp->status = http_code;
    resp->content_type = "application/json";
}

int ahpa_api_http_code(int code)
{
    switch (code < 0 ? -code : code) {
    case AHPA_EINVAL:
    case AHPA_EPARSE:
    case AHPA_ERANGE:
    case AHPA_ECONFIG:
        return 400;
    case AHPA_EUNAUTHORIZED:
        return 401;
    case AHPA_EFORBIDDEN:
        return 403;
    case AHPA_ENOTFOUND:
        return 404;
    case AHPA_EMETHOD:
        return 405;
    case AHPA_ENOTACCEPTABLE:
        return 406;
    case AHPA_ECONFLICT:
        return 409;
    case AHPA_ETOOBIG:
        return 413;
    case AHPA_EUNAVAIL:
    case AHPA_ENODATA:
        return 503;
    default:
        return 500;
    }
}

void ahpa_api_error(struct ahpa_httpd_response *resp, int code, const struct ahpa_error *err)
{
    int http = ahpa_api_http_code(code);
    const char *msg = ahpa_error_message(err, code);
    if (http == 500)
        msg = "Internal error occurred: unable to fetch metrics";
    ahpa_api_status(resp, http, msg);
}
