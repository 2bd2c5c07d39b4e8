/* YAML text to JSON trees, one per document, through libyaml's event API
 * with caps on nesting, nodes and strings. Aliases are refused (no
 * billion laughs), duplicate keys and non-string keys are reported, plain
 * scalars are resolved with the YAML 1.2 core schema. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "ahpa/ahpaobj.h"
#include "ahpa/buf.h"
#include "ahpa/error.h"
#include "ahpa/mem.h"
#include "ahpaobj_int.h"

struct frame {
    json_t *container;   /* object or array */
    bool is_map;
    char *key;           /* map: the key waiting for its value, owned */
    bool have_key;
    bool discard;        /* map: drop the value of this key */
    size_t index;        /* array: index of the next element */
};

struct loader {
    struct frame stack[AHPA_OBJ_MAX_DEPTH];
    size_t depth;
    size_t skip;         /* > 0 while skipping a refused subtree */
    bool skip_is_key;    /* the skipped subtree stands in a key position */
    json_t *root;
    bool have_root;
    char *problem;       /* first structural problem of the document */
    size_t nodes;
};

static void path_of(const struct loader *l, struct ahpa_buf *b)
{
    for (size_t i = 0; i < l->depth; i++) {
        const struct frame *f = &l->stack[i];
        if (f->is_map && f->have_key && f->key != NULL)
            ahpa_buf_printf(b, "%s%s", b->len ? "." : "", f->key);
        else if (!f->is_map)
            ahpa_buf_printf(b, "[%zu]", f->index);
    }
    if (b->len == 0)
        ahpa_buf_puts(b, "(document)");
}

__attribute__((format(printf, 3, 4)))
static void problem(struct loader *l, const yaml_event_t *ev, const char *fmt, ...)
{
    if (l->problem != NULL)
        return;
    struct ahpa_buf b;
    ahpa_buf_init(&b);
    path_of(l, &b);
    ahpa_buf_puts(&b, ": ");
    va_list ap;
    va_start(ap, fmt);
    ahpa_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    ahpa_buf_printf(&b, " (line %zu)", (size_t)ev->start_mark.line + 1);
    l->problem = ahpa_buf_take(&b, NULL);
}

static void reset(struct loader *l)
{
    while (l->depth > 0) {
        struct frame *f = &l->stack[--l->depth];
        json_decref(f->container);
        free(f->key);
    }
    json_decref(l->root);
    free(l->problem);
    l->root = NULL;
    l->problem = NULL;
    l->have_root = false;
    l->skip = 0;
}

/* Places a finished value (reference stolen; NULL = nothing) at the
 * current position. */
static void deliver(struct loader *l, const yaml_event_t *ev, json_t *v)
{
    if (l->depth == 0) {
        json_decref(l->root);
        l->root = v;
        l->have_root = true;
        return;
    }
    struct frame *f = &l->stack[l->depth - 1];
    if (!f->is_map) {
        if (v != NULL)
            json_array_append_new(f->container, v);
        f->index++;
        return;
    }
    if (!f->have_key) {
        if (v != NULL && json_is_string(v)) {
            const char *k = json_string_value(v);
            f->discard = json_object_get(f->container, k) != NULL;
            if (f->discard)
                problem(l, ev, "duplicate key \"%s\"", k);
            f->key = ahpa_strdup(k);
        } else {
            f->discard = true;
            problem(l, ev, "%s", "mapping keys must be strings");
        }
        f->have_key = true;
        json_decref(v);
        return;
    }
    if (v != NULL && !f->discard)
        json_object_set_new(f->container, f->key, v);
    else
        json_decref(v);
    free(f->key);
    f->key = NULL;
    f->have_key = false;
    f->discard = false;
}

static bool all_digits(const char *s, const char *digits)
{
    if (*s == '\0')
        return false;
    for (; *s; s++)
        if (strchr(digits, *s) == NULL)
            return false;
    return true;
}

static json_t *resolve_int(const char *s)
{
    const char *p = s;
    int base = 10;
    if (*p == '-' || *p == '+')
        p++;
    if (p[0] == '0' && p[1] == 'x') {
        if (p != s || !all_digits(p + 2, "0123456789abcdefABCDEF"))
            return NULL;
        base = 16;
    } else if (p[0] == '0' && p[1] == 'o') {
        if (p != s || !all_digits(p + 2, "01234567"))
            return NULL;
        base = 8;
    } else if (!all_digits(p, "0123456789")) {
        return NULL;
    }
    errno = 0;
    const char *digits = base == 10 ? s : p + 2;
    char *end;
    long long v = strtoll(digits, &end, base);
    if (errno == ERANGE || *end != '\0')
        return json_real(strtod(s, NULL)); /* beyond int64: a number still */
    return json_integer(v);
}

static json_t *resolve_float(const char *s)
{
    const char *p = s;
    if (*p == '-' || *p == '+')
        p++;
    bool digits = false, dot = false;
    for (; *p >= '0' && *p <= '9'; p++)
        digits = true;
    if (*p == '.') {
        dot = true;
        for (p++; *p >= '0' && *p <= '9'; p++)
            digits = true;
    }
    if (!digits)
        return NULL;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '-' || *p == '+')
            p++;
        if (!(*p >= '0' && *p <= '9'))
            return NULL;
        while (*p >= '0' && *p <= '9')
            p++;
    } else if (!dot) {
        return NULL;
    }
    if (*p != '\0')
        return NULL;
    double v = strtod(s, NULL);
    return json_real(v); /* NULL for +-inf: kept a string by the caller */
}

static bool is_one_of(const char *s, const char *const *set)
{
    for (; *set; set++)
        if (strcmp(s, *set) == 0)
            return true;
    return false;
}

/* Plain scalar with no tag (or a core-schema tag): null, bool, int,
 * float, else string. */
static json_t *resolve_plain(const char *s, size_t n)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
    static const char *const trues[] = {"true", "True", "TRUE", NULL};
    static const char *const falses[] = {"false", "False", "FALSE", NULL};
    if (is_one_of(s, nulls))
        return json_null();
    if (is_one_of(s, trues))
        return json_true();
    if (is_one_of(s, falses))
        return json_false();
    json_t *v = resolve_int(s);
    if (v == NULL)
        v = resolve_float(s);
    if (v == NULL)
        v = json_stringn(s, n);
    return v;
}

static void on_scalar(struct loader *l, const yaml_event_t *ev)
{
    const char *s = (const char *)ev->data.scalar.value;
    size_t n = ev->data.scalar.length;
    const char *tag = (const char *)ev->data.scalar.tag;
    if (memchr(s, '\0', n) != NULL) {
        problem(l, ev, "%s", "NUL byte in a string");
        deliver(l, ev, NULL);
        return;
    }
    json_t *v;
    /* An explicit core tag decides; otherwise quoting and block styles
     * make a string. */
    bool core_typed = tag != NULL && (strcmp(tag, YAML_INT_TAG) == 0 ||
                                      strcmp(tag, YAML_FLOAT_TAG) == 0 ||
                                      strcmp(tag, YAML_BOOL_TAG) == 0 ||
                                      strcmp(tag, YAML_NULL_TAG) == 0);
    bool as_string = (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE && !core_typed) ||
                     (tag != NULL && strcmp(tag, YAML_STR_TAG) == 0);
    if (as_string)
        v = json_stringn(s, n);
    else
        v = resolve_plain(s, n);
    if (v == NULL) {
        problem(l, ev, "%s", "string is not valid UTF-8");
        deliver(l, ev, NULL);
        return;
    }
    deliver(l, ev, v);
}

static void on_start(struct loader *l, const yaml_event_t *ev, bool is_map)
{
    if (l->skip > 0) {
        l->skip++;
        return;
    }
    struct frame *top = l->depth ? &l->stack[l->depth - 1] : NULL;
    bool key_position = top != NULL && top->is_map && !top->have_key;
    if (key_position || l->depth == AHPA_OBJ_MAX_DEPTH) {
        if (key_position)
            problem(l, ev, "%s", "mapping keys must be strings");
        else
            problem(l, ev, "nesting deeper than %d levels", AHPA_OBJ_MAX_DEPTH);
        l->skip = 1;
        l->skip_is_key = key_position;
        return;
    }
    l->stack[l->depth++] = (struct frame){
        .container = is_map ? json_object() : json_array(), .is_map = is_map};
}

static void on_end(struct loader *l, const yaml_event_t *ev)
{
    if (l->skip > 0) {
        if (--l->skip == 0)
            deliver(l, ev, l->skip_is_key ? json_integer(0) : json_null());
        return;
    }
    struct frame f = l->stack[--l->depth];
    free(f.key);
    deliver(l, ev, f.container);
}

/* One event of a document body. Returns false when a whole-text cap is
 * crossed. */
static bool on_event(struct loader *l, const yaml_event_t *ev)
{
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
    case YAML_ALIAS_EVENT:
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        if (++l->nodes > AHPA_OBJ_MAX_NODES)
            return false;
        break;
    default:
        break;
    }
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        if (l->skip == 0)
            on_scalar(l, ev);
        break;
    case YAML_ALIAS_EVENT:
        if (l->skip == 0) {
            problem(l, ev, "%s", "aliases are not allowed");
            deliver(l, ev, NULL);
        }
        break;
    case YAML_SEQUENCE_START_EVENT:
        on_start(l, ev, false);
        break;
    case YAML_MAPPING_START_EVENT:
        on_start(l, ev, true);
        break;
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        on_end(l, ev);
        break;
    default:
        break;
    }
    return true;
}

static int syntax_error(const yaml_parser_t *p, struct ahpa_error *err)
{
    const yaml_mark_t *m = p->context ? &p->context_mark : &p->problem_mark;
    if (p->problem != NULL && p->problem_mark.line >= m->line)
        m = &p->problem_mark;
    if (p->error == YAML_MEMORY_ERROR)
        ahpa_oom(0);
    return ahpa_error_set(err, AHPA_EPARSE, "line %zu column %zu: %s%s%s",
                          (size_t)m->line + 1, (size_t)m->column + 1,
                          p->context ? p->context : "",
                          p->context ? ": " : "",
                          p->problem ? p->problem : "malformed YAML");
}

int ahpaobj_yaml_load(const char *text, size_t len, ahpaobj_doc_fn fn, void *ctx,
                      struct ahpa_error *err)
{
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p))
        ahpa_oom(0);
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    struct loader l = {0};
    size_t docs = 0;
    int rc = 0;
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            rc = syntax_error(&p, err);
            break;
        }
        bool stop = ev.type == YAML_STREAM_END_EVENT;
        if (ev.type == YAML_DOCUMENT_START_EVENT && ++docs > AHPA_OBJ_MAX_DOCS) {
            rc = ahpa_error_set(err, AHPA_ETOOBIG, "more than %d documents",
                                AHPA_OBJ_MAX_DOCS);
            stop = true;
        } else if (ev.type == YAML_DOCUMENT_END_EVENT) {
            fn(ctx, docs, l.root, l.problem);
            reset(&l);
        } else if (!on_event(&l, &ev)) {
            rc = ahpa_error_set(err, AHPA_ETOOBIG, "line %zu: more than %d nodes",
                                (size_t)ev.start_mark.line + 1, AHPA_OBJ_MAX_NODES);
            stop = true;
        }
        yaml_event_delete(&ev);
        if (stop)
            break;
    }
    reset(&l);
    yaml_parser_delete(&p);
    return rc;
}
