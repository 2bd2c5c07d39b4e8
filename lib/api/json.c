/* JSON bodies and pre-rendered documents with ETags. */
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

void ahpa_api__doc_set(struct ahpa_api__doc *d, char *text)
{
    d->text = text;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (text == NULL || !EVP_Digest(text, strlen(text), md, &mdlen, EVP_sha256(), NULL))
        mdlen = 0;
    char *w = d->etag;
    *w++ = '"';
    for (unsigned i = 0; i < 32 && i < mdlen; i++, w += 2)
        snprintf(w, 3, "%02X", md[i]);
    *w++ = '"';
    *w = '\0';
}

void ahpa_api__doc_dispose(struct ahpa_api__doc *d)
{
    free(d->text);
    d->text = NULL;
    d->etag[0] = '\0';
}

/* If-None-Match is "*" or a comma-separated list of entity tags, each
 * perhaps weak (W/"..."); the weak comparison of RFC 9110 13.1.2 applies. */
static bool none_match_lists(const char *header, const char *etag)
{
    size_t elen = strlen(etag);
    const char *p = header;
    while (*p != '\0') {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        size_t len = strcspn(p, ",");
        size_t end = len;
        while (end > 0 && (p[end - 1] == ' ' || p[end - 1] == '\t'))
            end--;
        const char *tag = p;
        if (end >= 2 && tag[0] == 'W' && tag[1] == '/') {
            tag += 2;
            end -= 2;
        }
        if ((end == 1 && tag[0] == '*') || (end == elen && strncmp(tag, etag, elen) == 0))
            return true;
        p += len;
    }
    return false;
}

void ahpa_api__doc_serve(const struct ahpa_api__doc *d, const char *content_type,
                         struct ahpa_httpd_request *req, struct ahpa_httpd_response *resp)
{
    ahpa_httpd_response_header(req, resp, "ETag", d->etag);
    const char *inm = ahpa_httpd_request_header(req, "If-None-Match");
    ahpa_buf_reset(&resp->body);
    resp->content_type = content_type;
    if (inm != NULL && none_match_lists(inm, d->etag)) {
        resp->status = 304;
        return;
    }
    resp->status = 200;
    if (d->text != NULL)
        ahpa_buf_puts(&resp->body, d->text);
}
