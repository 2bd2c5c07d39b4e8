/* The subset of Go's text/template that prometheus-adapter configs use,
 * with `<<` and `>>` as delimiters. Templates are parsed once, when the
 * config loads, so that a misspelt field is a config error rather than a
 * failure on the first request. */
#include <stdlib.h>
#include <string.h>

#include "ahpa/buf.h"
#include "ahpa/error.h"
#include "ahpa/mem.h"
#include "rules_int.h"

static const char *const field_names[] = {
    [AHPA_RULES__F_SERIES] = "Series",
    [AHPA_RULES__F_LABEL_MATCHERS] = "LabelMatchers",
    [AHPA_RULES__F_GROUP_BY] = "GroupBy",
    [AHPA_RULES__F_GROUP_BY_SLICE] = "GroupBySlice",
    [AHPA_RULES__F_VALUES_BY_NAME] = "LabelValuesByName",
    [AHPA_RULES__F_GROUP] = "Group",
    [AHPA_RULES__F_RESOURCE] = "Resource",
};
#define NFIELDS (sizeof field_names / sizeof field_names[0])

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void push_node(struct ahpa_rules__tmpl *t, struct ahpa_rules__node nd)
{
    t->nodes = ahpa_reallocarray(t->nodes, t->n + 1, sizeof(*t->nodes));
    t->nodes[t->n++] = nd;
}

static void push_text(struct ahpa_rules__tmpl *t, const char *s, size_t n)
{
    if (n == 0)
        return;
    struct ahpa_rules__node nd = {AHPA_RULES__N_TEXT, 0,
                                  ahpa_strndup(s, n), -1};
    push_node(t, nd);
}

/* Action tokens: at most 4 per action in the supported forms. */
struct tokens {
    char *tok[4];
    size_t n;
    bool quoted[4];
};

static void tokens_dispose(struct tokens *k)
{
    for (size_t i = 0; i < k->n; i++)
        free(k->tok[i]);
}

/* A Go string literal at s: "..." with \" \\ \n \t escapes, or `raw`. */
static size_t scan_string(const char *s, size_t n, struct ahpa_buf *out)
{
    char q = s[0];
    for (size_t i = 1; i < n; i++) {
        if (s[i] == q)
            return i + 1;
        if (q == '"' && s[i] == '\\' && i + 1 < n) {
            char e = s[++i];
            ahpa_buf_putc(out, e == 'n' ? '\n' : e == 't' ? '\t' : e);
        } else {
            ahpa_buf_putc(out, s[i]);
        }
    }
    return 0;
}

static int tokenize(const char *s, size_t n, struct tokens *k,
                    struct ahpa_error *err)
{
    size_t i = 0;
    while (i < n) {
        if (is_space(s[i])) {
            i++;
            continue;
        }
        if (k->n == 4)
            return ahpa_error_set(err, AHPA_ECONFIG, "too many arguments");
        struct ahpa_buf b;
        ahpa_buf_init(&b);
        ahpa_buf_append(&b, "", 0);
        size_t used;
        k->quoted[k->n] = s[i] == '"' || s[i] == '`';
        if (k->quoted[k->n]) {
            used = scan_string(s + i, n - i, &b);
            if (used == 0) {
                ahpa_buf_dispose(&b);
                return ahpa_error_set(err, AHPA_ECONFIG,
                                      "unterminated string");
            }
        } else {
            used = 0;
            while (i + used < n && !is_space(s[i + used]))
                used++;
            ahpa_buf_append(&b, s + i, used);
        }
        k->tok[k->n++] = ahpa_buf_take(&b, NULL);
        i += used;
    }
    return 0;
}

static int field_of(const char *tok, unsigned allowed,
                    enum ahpa_rules__field *f, struct ahpa_error *err)
{
    if (tok[0] != '.')
        return ahpa_error_set(err, AHPA_ECONFIG,
                              "expected a field like .Series, found \"%.40s\"",
                              tok);
    for (size_t i = 0; i < NFIELDS; i++) {
        if (strcmp(tok + 1, field_names[i]) == 0 && (allowed & (1u << i))) {
            *f = (enum ahpa_rules__field)i;
            return 0;
        }
    }
    return ahpa_error_set(err, AHPA_ECONFIG, "unknown field %.40s", tok);
}

static int parse_index_arg(struct ahpa_rules__node *nd, const char *arg,
                           bool quoted, struct ahpa_error *err)
{
    if (nd->field == AHPA_RULES__F_VALUES_BY_NAME && quoted) {
        nd->text = ahpa_strdup(arg);
        return 0;
    }
    if (nd->field == AHPA_RULES__F_GROUP_BY_SLICE && !quoted) {
        char *end;
        long v = strtol(arg, &end, 10);
        if (*arg && !*end && v >= 0 && v < 1000) {
            nd->index = v;
            return 0;
        }
    }
    return ahpa_error_set(err, AHPA_ECONFIG,
                          "index: use .LabelValuesByName \"label\" or "
                          ".GroupBySlice N");
}

/* One action's tokens to a node (or nothing for comments). */
static int parse_action(struct ahpa_rules__tmpl *t, struct tokens *k,
                        unsigned allowed, struct ahpa_error *err)
{
    struct ahpa_rules__node nd = {AHPA_RULES__N_FIELD, 0, NULL, -1};
    int rc;
    if (k->n == 1 && !k->quoted[0]) {
        rc = field_of(k->tok[0], allowed, &nd.field, err);
    } else if (k->n == 3 && strcmp(k->tok[0], "index") == 0) {
        nd.kind = AHPA_RULES__N_INDEX;
        rc = field_of(k->tok[1], allowed & AHPA_RULES__QUERY_FIELDS, &nd.field,
                      err);
        if (rc == 0)
            rc = parse_index_arg(&nd, k->tok[2], k->quoted[2], err);
    } else if (k->n == 3 && strcmp(k->tok[0], "join") == 0 && k->quoted[2]) {
        nd.kind = AHPA_RULES__N_JOIN;
        rc = field_of(k->tok[1], allowed & AHPA_RULES__QUERY_FIELDS, &nd.field,
                      err);
        if (rc == 0 && nd.field != AHPA_RULES__F_GROUP_BY_SLICE)
            rc = ahpa_error_set(err, AHPA_ECONFIG,
                                "join works on .GroupBySlice only");
        if (rc == 0)
            nd.text = ahpa_strdup(k->tok[2]);
    } else {
        rc = ahpa_error_set(err, AHPA_ECONFIG, "unsupported action \"%.40s\"",
                            k->n ? k->tok[0] : "");
    }
    if (rc == 0)
        push_node(t, nd);
    return rc;
}

/* End of the action starting at s (after "<<"): the offset of ">>",
 * skipping string literals; -1 if unclosed. */
static long action_end(const char *s)
{
    for (size_t i = 0; s[i]; i++) {
        if (s[i] == '"' || s[i] == '`') {
            char q = s[i];
            for (i++; s[i] && s[i] != q; i++)
                if (q == '"' && s[i] == '\\' && s[i + 1])
                    i++;
            if (!s[i])
                return -1;
        } else if (s[i] == '>' && s[i + 1] == '>') {
            return (long)i;
        }
    }
    return -1;
}

static int parse_one(struct ahpa_rules__tmpl *t, const char *a, size_t n,
                     unsigned allowed, struct ahpa_error *err)
{
    while (n > 0 && is_space(*a))
        a++, n--;
    while (n > 0 && is_space(a[n - 1]))
        n--;
    if (n >= 4 && memcmp(a, "/*", 2) == 0 && memcmp(a + n - 2, "*/", 2) == 0)
        return 0;
    struct tokens k = {0};
    int rc = tokenize(a, n, &k, err);
    if (rc == 0)
        rc = parse_action(t, &k, allowed, err);
    tokens_dispose(&k);
    return rc;
}

int ahpa_rules__tmpl_parse(struct ahpa_rules__tmpl *t, const char *src,
                           unsigned allowed, struct ahpa_error *err)
{
    memset(t, 0, sizeof(*t));
    size_t pos = 0;
    bool trim_next = false;
    for (;;) {
        if (trim_next)
            while (is_space(src[pos]))
                pos++;
        const char *open = strstr(src + pos, "<<");
        size_t text_end = open ? (size_t)(open - src) : strlen(src);
        const char *a = open ? open + 2 : NULL;
        bool trim_prev = a && a[0] == '-' && is_space(a[1]);
        size_t keep = text_end;
        while (trim_prev && keep > pos && is_space(src[keep - 1]))
            keep--;
        push_text(t, src + pos, keep - pos);
        if (!open)
            return 0;
        long end = action_end(a);
        if (end < 0) {
            ahpa_rules__tmpl_dispose(t);
            return ahpa_error_set(err, AHPA_ECONFIG,
                                  "unclosed action at offset %zu", text_end);
        }
        size_t alen = (size_t)end, astart = trim_prev ? 2 : 0;
        trim_next = alen >= astart + 2 && a[alen - 1] == '-' &&
                    is_space(a[alen - 2]);
        if (trim_next)
            alen -= 2;
        struct ahpa_error inner = {0};
        int rc = parse_one(t, a + astart, alen >= astart ? alen - astart : 0,
                           allowed, &inner);
        if (rc != 0) {
            ahpa_rules__tmpl_dispose(t);
            return ahpa_error_set(err, AHPA_ECONFIG, "at offset %zu: %s",
                                  text_end, inner.msg);
        }
        pos = (size_t)(a - src) + (size_t)end + 2;
    }
}

void ahpa_rules__tmpl_dispose(struct ahpa_rules__tmpl *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->nodes[i].text);
    free(t->nodes);
    t->nodes = NULL;
    t->n = 0;
}

bool ahpa_rules__tmpl_uses(const struct ahpa_rules__tmpl *t,
                           enum ahpa_rules__field f)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->nodes[i].kind != AHPA_RULES__N_TEXT && t->nodes[i].field == f)
            return true;
    return false;
}

static void put_slice(struct ahpa_buf *out, const struct ahpa_rules__args *a,
                      const char *sep)
{
    for (size_t i = 0; i < a->ngroup_by; i++) {
        if (i)
            ahpa_buf_puts(out, sep);
        ahpa_buf_puts(out, a->group_by_slice[i]);
    }
}

static void put_field(struct ahpa_buf *out, enum ahpa_rules__field f,
                      const struct ahpa_rules__args *a)
{
    const char *s = NULL;
    switch (f) {
    case AHPA_RULES__F_SERIES: s = a->series; break;
    case AHPA_RULES__F_LABEL_MATCHERS: s = a->label_matchers; break;
    case AHPA_RULES__F_GROUP_BY: s = a->group_by; break;
    case AHPA_RULES__F_GROUP: s = a->group; break;
    case AHPA_RULES__F_RESOURCE: s = a->resource; break;
    case AHPA_RULES__F_GROUP_BY_SLICE: /* Go prints []string as [a b] */
        ahpa_buf_putc(out, '[');
        put_slice(out, a, " ");
        ahpa_buf_putc(out, ']');
        return;
    case AHPA_RULES__F_VALUES_BY_NAME: /* and maps as map[k:v k2:v2] */
        ahpa_buf_puts(out, "map[");
        for (size_t i = 0; i < a->nvalues; i++)
            ahpa_buf_printf(out, "%s%s:%s", i ? " " : "", a->values[i].key,
                            a->values[i].value);
        ahpa_buf_putc(out, ']');
        return;
    }
    ahpa_buf_puts(out, s ? s : "");
}

static int put_index(struct ahpa_buf *out, const struct ahpa_rules__node *nd,
                     const struct ahpa_rules__args *a, struct ahpa_error *err)
{
    if (nd->field == AHPA_RULES__F_GROUP_BY_SLICE) {
        if (nd->index < 0 || (size_t)nd->index >= a->ngroup_by)
            return ahpa_error_set(err, AHPA_EINVAL,
                                  "index %ld out of range of .GroupBySlice",
                                  nd->index);
        ahpa_buf_puts(out, a->group_by_slice[nd->index]);
        return 0;
    }
    for (size_t i = 0; i < a->nvalues; i++) {
        if (strcmp(a->values[i].key, nd->text) == 0) {
            ahpa_buf_puts(out, a->values[i].value);
            break;
        }
    }
    return 0; /* a missing map key gives "", as in Go */
}

int ahpa_rules__tmpl_exec(const struct ahpa_rules__tmpl *t,
                          const struct ahpa_rules__args *a,
                          struct ahpa_buf *out, struct ahpa_error *err)
{
    ahpa_buf_append(out, "", 0);
    for (size_t i = 0; i < t->n; i++) {
        const struct ahpa_rules__node *nd = &t->nodes[i];
        int rc = 0;
        switch (nd->kind) {
        case AHPA_RULES__N_TEXT: ahpa_buf_puts(out, nd->text); break;
        case AHPA_RULES__N_FIELD: put_field(out, nd->field, a); break;
        case AHPA_RULES__N_INDEX: rc = put_index(out, nd, a, err); break;
        case AHPA_RULES__N_JOIN: put_slice(out, a, nd->text); break;
        }
        if (rc != 0)
            return rc;
    }
    return 0;
}
