/* Request accessors: headers, query parameters and the TLS peer chain,
 * read from libmicrohttpd's connection for the length of the request. */
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <string.h>

#include "ahpa/httpd.h"

const char *ahpa_httpd_request_header(const struct ahpa_httpd_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn_, MHD_HEADER_KIND, name);
}

const char *ahpa_httpd_request_query(const struct ahpa_httpd_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn_, MHD_GET_ARGUMENT_KIND, name);
}

bool ahpa_httpd_request_has_query(const struct ahpa_httpd_request *req, const char *name)
{
    const char *value;
    return MHD_lookup_connection_value_n(req->conn_, MHD_GET_ARGUMENT_KIND, name, strlen(name),
                                         &value, NULL) == MHD_YES;
}

struct foreach_ctx {
    ahpa_httpd_query_fn *fn;
    void *ctx;
};

static enum MHD_Result foreach_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    (void)kind;
    struct foreach_ctx *f = cls;
    f->fn(f->ctx, key, value);
    return MHD_YES;
}

void ahpa_httpd_request_query_foreach(const struct ahpa_httpd_request *req,
                                      ahpa_httpd_query_fn *fn, void *ctx)
{
    struct foreach_ctx f = {fn, ctx};
    MHD_get_connection_values(req->conn_, MHD_GET_ARGUMENT_KIND, foreach_arg, &f);
}

struct header_foreach_ctx {
    ahpa_httpd_header_fn *fn;
    void *ctx;
};

static enum MHD_Result foreach_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    (void)kind;
    struct header_foreach_ctx *f = cls;
    f->fn(f->ctx, key, value != NULL ? value : "");
    return MHD_YES;
}

void ahpa_httpd_request_header_foreach(const struct ahpa_httpd_request *req,
                                       ahpa_httpd_header_fn *fn, void *ctx)
{
    struct header_foreach_ctx f = {fn, ctx};
    MHD_get_connection_values(req->conn_, MHD_HEADER_KIND, foreach_header, &f);
}

size_t ahpa_httpd_request_peer_chain(const struct ahpa_httpd_request *req,
                                     const unsigned char **der, size_t *len, size_t max)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(req->conn_, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    gnutls_session_t session = ci != NULL ? ci->tls_session : NULL;
    if (session == NULL)
        return 0;
    unsigned n = 0;
    const gnutls_datum_t *certs = gnutls_certificate_get_peers(session, &n);
    if (certs == NULL)
        return 0;
    for (unsigned i = 0; i < n && i < max; i++) {
        der[i] = certs[i].data;
        len[i] = certs[i].size;
    }
    return n;
}
