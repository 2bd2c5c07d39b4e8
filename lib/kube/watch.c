/* Watch streams: one JSON event per line ({"type": ..., "object": ...}),
 * split incrementally as libcurl hands over bytes, each line bounded. */
#include <string.h>

#include "ahpa/error.h"
#include "kube_int.h"

void ahpa_kube__lines_init(struct ahpa_kube__lines *ls, size_t max)
{
    ahpa_buf_init(&ls->line);
    ls->max = max > 0 ? max : AHPA_KUBE_WATCH_LINE_MAX;
}

void ahpa_kube__lines_dispose(struct ahpa_kube__lines *ls)
{
    ahpa_buf_dispose(&ls->line);
}

static int emit(const char *p, size_t n, ahpa_kube__line_fn fn, void *ud)
{
    if (n > 0 && p[n - 1] == '\r')
        n--;
    return n > 0 ? fn(p, n, ud) : 0;
}

int ahpa_kube__lines_feed(struct ahpa_kube__lines *ls, const char *data, size_t len,
                          ahpa_kube__line_fn fn, void *ud, struct ahpa_error *err)
{
    while (len > 0) {
        const char *nl = memchr(data, '\n', len);
        size_t take = nl ? (size_t)(nl - data) : len;
        if (ls->line.len + take > ls->max) {
            ahpa_buf_reset(&ls->line);
            return ahpa_error_set(err, AHPA_ETOOBIG, "watch event longer than %zu bytes",
                                  ls->max);
        }
        if (nl == NULL) {
            ahpa_buf_append(&ls->line, data, take);
            return 0;
        }
        int rc;
        if (ls->line.len == 0) { /* the common case: the line is whole here */
            rc = emit(data, take, fn, ud);
        } else {
            ahpa_buf_append(&ls->line, data, take);
            rc = emit(ls->line.data, ls->line.len, fn, ud);
            ahpa_buf_reset(&ls->line);
        }
        if (rc != 0)
            return rc;
        data += take + 1;
        len -= take + 1;
    }
    return 0;
}

static const char *const type_names[] = {"ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"};

static int decode_type(json_t *root, enum ahpa_kube__event_type *out, struct ahpa_error *err)
{
    const char *t = json_string_value(json_object_get(root, "type"));
    if (t == NULL)
        return ahpa_error_set(err, AHPA_EPARSE, "watch event without a type");
    for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++) {
        if (strcmp(t, type_names[i]) == 0) {
            *out = (enum ahpa_kube__event_type)i;
            return 0;
        }
    }
    return ahpa_error_set(err, AHPA_EPARSE, "watch event of unknown type \"%.32s\"", t);
}

static int decode_error_event(json_t *obj, struct ahpa_kube__event *ev, struct ahpa_error *err)
{
    json_t *code = json_object_get(obj, "code");
    ev->status_code = json_is_integer(code) ? (long)json_integer_value(code) : 500;
    char *text = json_dumps(obj, JSON_COMPACT);
    ev->error_code = -ahpa_kube_status_error(ev->status_code, text, text ? strlen(text) : 0,
                                             "watch", NULL, 0, err);
    free(text);
    return 0;
}

static int check_object(json_t *obj, enum ahpa_kube__event_type type, const char *kind,
                        struct ahpa_kube__event *ev, struct ahpa_error *err)
{
    const char *k = json_string_value(json_object_get(obj, "kind"));
    if (kind != NULL && k != NULL && strcmp(k, kind) != 0)
        return ahpa_error_set(err, AHPA_EPARSE, "watch event %s of kind \"%.64s\", want %s",
                              type_names[type], k, kind);
    json_t *meta = json_object_get(obj, "metadata");
    ev->rv = json_string_value(json_object_get(meta, "resourceVersion"));
    if (ev->rv == NULL || ev->rv[0] == '\0')
        return ahpa_error_set(err, AHPA_EPARSE, "watch event %s without a resourceVersion",
                              type_names[type]);
    const char *name = json_string_value(json_object_get(meta, "name"));
    if (type != AHPA_KUBE_EV_BOOKMARK && (name == NULL || name[0] == '\0'))
        return ahpa_error_set(err, AHPA_EPARSE, "watch event %s without a name",
                              type_names[type]);
    return 0;
}

int ahpa_kube__event_decode(const char *line, size_t len, const char *kind,
                            struct ahpa_kube__event *ev, struct ahpa_error *err)
{
    memset(ev, 0, sizeof(*ev));
    json_error_t je;
    json_t *root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL)
        return ahpa_error_set(err, AHPA_EPARSE, "watch event is not JSON: %.80s at %d",
                              je.text, je.position);
    int rc = json_is_object(root) ? decode_type(root, &ev->type, err)
                                  : ahpa_error_set(err, AHPA_EPARSE, "watch event is not an object");
    json_t *obj = json_object_get(root, "object");
    if (rc == 0 && !json_is_object(obj))
        rc = ahpa_error_set(err, AHPA_EPARSE, "watch event without an object");
    if (rc == 0 && ev->type == AHPA_KUBE_EV_ERROR)
        rc = decode_error_event(obj, ev, err);
    else if (rc == 0)
        rc = check_object(obj, ev->type, kind, ev, err);
    if (rc == 0 && ev->type != AHPA_KUBE_EV_ERROR)
        ev->object = json_incref(obj);
    json_decref(root); /* ev->rv stays valid: it lives in ev->object */
    if (rc != 0)
        ahpa_kube__event_dispose(ev);
    return rc;
}

void ahpa_kube__event_dispose(struct ahpa_kube__event *ev)
{
    json_decref(ev->object);
    ev->object = NULL;
    ev->rv = NULL;
}
