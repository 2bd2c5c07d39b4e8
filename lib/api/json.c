/* JSON bodies. */
#include <jansson.h>
#include <stdlib.h>

#include "ahpa/buf.h"
#include "ahpa/quantity.h"
#include "ahpa/timefmt.h"
#include "ahpa/httpd.h"
#include "api_int.h"

char *ahpa_api__json_render(const json_t *doc)
{
    return json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
}

void ahpa_api__json_body(struct ahpa_httpd_request *req, struct ahpa_httpd_response *resp,
                         const json_t *doc)
{
    ahpa_api__json_answer(resp, doc, ahpa_httpd_request_has_query(req, "pretty"));
}

void ahpa_api__json_answer(struct ahpa_httpd_response *resp, const json_t *doc, bool pretty)
{
    size_t flags = JSON_PRESERVE_ORDER;
    flags |= pretty ? JSON_INDENT(2) : JSON_COMPACT;
    char *text = json_dumps(doc, flags);
    ahpa_buf_reset(&resp->body);
    if (text != NULL)
        ahpa_buf_puts(&resp->body, text);
    ahpa_buf_putc(&resp->body, '\n');
    free(text);
    resp->content_type = "application/json";
}

json_t *ahpa_api__quantity(double v)
{
    char q[AHPA_QUANTITY_MAX];
    if (ahpa_quantity_format(v, q) < 0) /* callers hand out finite values only */
        return json_string("0");
    return json_string(q);
}

json_t *ahpa_api__timestamp(int64_t t)
{
    char ts[AHPA_RFC3339_MAX];
    ahpa_time_format_rfc3339(t, ts);
    return json_string(ts);
}
