/* The pods of a scale target (cluster mode): the scale subresource's
 * status.selector, the pods it selects in the shared pod cache, and their
 * names rendered into the usage query's <<.Pods>> placeholder, in chunks
 * that bound each query's length. Runs on the cycle workers; reads the
 * pod cache only (no request). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/ahpaobj.h"
#include "ahpa/buf.h"
#include "ahpa/error.h"
#include "ahpa/kube.h"
#include "ahpa/labelsel.h"
#include "ahpa/mem.h"
#include "controller_int.h"

void ahpa_controller__pods_dispose(struct ahpa_controller__pods *p)
{
    for (size_t i = 0; i < p->nchunks; i++)
        free(p->chunks[i]);
    free(p->chunks);
    memset(p, 0, sizeof(*p));
}

/* One name as it stands in the regex body of a PromQL string: regex
 * metacharacters backslashed, then the string's own escaping (a
 * backslash doubled). */
static void escaped_name(struct ahpa_buf *out, const char *name)
{
    struct ahpa_buf re;
    ahpa_buf_init(&re);
    ahpa_labelsel_regex_escape(&re, name);
    for (size_t i = 0; i < re.len; i++) {
        char ch = re.data[i];
        if (ch == '\\' || ch == '"')
            ahpa_buf_putc(out, '\\');
        ahpa_buf_putc(out, ch);
    }
    ahpa_buf_dispose(&re);
}

int ahpa_controller__pods_render(char *const *names, size_t n, size_t max_bytes,
                                 size_t max_chunks, struct ahpa_controller__pods *out,
                                 struct ahpa_error *err)
{
    memset(out, 0, sizeof(*out));
    out->npods = n;
    struct ahpa_buf chunk, one;
    ahpa_buf_init(&chunk);
    ahpa_buf_init(&one);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        ahpa_buf_reset(&one);
        escaped_name(&one, names[i]);
        if (one.len > max_bytes) {
            rc = ahpa_error_set(err, AHPA_ETOOBIG, "pod name %.64s is longer than the usage "
                                "query allows", names[i]);
            break;
        }
        if (chunk.len > 0 && chunk.len + 1 + one.len > max_bytes) {
            if (out->nchunks + 1 >= max_chunks) {
                rc = ahpa_error_set(err, AHPA_ETOOBIG, "%zu pods: more than %zu usage queries "
                                    "of %zu bytes of pod names can hold", n, max_chunks,
                                    max_bytes);
                break;
            }
            out->chunks = ahpa_reallocarray(out->chunks, out->nchunks + 1, sizeof(char *));
            out->chunks[out->nchunks++] = ahpa_strdup(ahpa_buf_cstr(&chunk));
            ahpa_buf_reset(&chunk);
        }
        if (chunk.len > 0)
            ahpa_buf_putc(&chunk, '|');
        ahpa_buf_append(&chunk, one.data, one.len);
    }
    if (rc == 0 && chunk.len > 0) {
        out->chunks = ahpa_reallocarray(out->chunks, out->nchunks + 1, sizeof(char *));
        out->chunks[out->nchunks++] = ahpa_strdup(ahpa_buf_cstr(&chunk));
    }
    ahpa_buf_dispose(&chunk);
    ahpa_buf_dispose(&one);
    if (rc < 0)
        ahpa_controller__pods_dispose(out);
    return rc;
}

int ahpa_controller__target_pods(struct ahpa_controller *c, const struct ahpa_obj *o,
                                 const char *selector, struct ahpa_controller__pods *out,
                                 struct ahpa_error *err)
{
    memset(out, 0, sizeof(*out));
    if (c->opt.pods == NULL)
        return ahpa_error_set(err, AHPA_EUNAVAIL, "no pod informer");
    if (selector == NULL || selector[0] == '\0')
        return ahpa_error_set(err, AHPA_EUNAVAIL, "%s/%s: its scale subresource has no "
                              "status.selector yet", o->target_kind, o->target_name);
    struct ahpa_labelsel *sel = NULL;
    struct ahpa_error perr = {0};
    int rc = ahpa_labelsel_parse(selector, &sel, &perr);
    if (rc < 0)
        return ahpa_error_set(err, AHPA_EUNAVAIL, "%s/%s: status.selector %.80s: %s",
                              o->target_kind, o->target_name, selector, perr.msg);
    char **names = NULL;
    size_t n = 0;
    rc = ahpa_kube_pods_select(c->opt.pods, o->ns, sel, AHPA_KUBE_PODS_SKIP_TERMINAL, &names, &n,
                               err);
    ahpa_labelsel_free(sel);
    if (rc == 0 && n == 0)
        rc = ahpa_error_set(err, AHPA_EUNAVAIL, "no pods of %s/%s (selector %.80s) are known",
                            o->target_kind, o->target_name, selector);
    if (rc == 0)
        rc = ahpa_controller__pods_render(names, n, AHPA_CONTROLLER_PODS_QUERY_BYTES,
                                          AHPA_CONTROLLER_PODS_MAX_QUERIES, out, err);
    ahpa_kube_pods_names_free(names, n);
    return rc;
}

void ahpa_controller__render_query_pods(const char *tmpl, const char *ns, const char *name,
                                        const char *pods, struct ahpa_buf *out)
{
    if (pods == NULL || strstr(tmpl, "<<.Pods>>") == NULL) {
        ahpa_controller__render_query(tmpl, ns, name, out);
        return;
    }
    /* The names hold no '<' (DNS names, escaped), so substituting them
     * first leaves the other placeholders as they were. */
    struct ahpa_buf t;
    ahpa_buf_init(&t);
    for (const char *p = tmpl; *p != '\0';) {
        if (strncmp(p, "<<.Pods>>", 9) == 0) {
            ahpa_buf_puts(&t, pods);
            p += 9;
        } else {
            ahpa_buf_putc(&t, *p++);
        }
    }
    ahpa_controller__render_query(ahpa_buf_cstr(&t), ns, name, out);
    ahpa_buf_dispose(&t);
}
