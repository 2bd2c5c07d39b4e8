/* Label selectors: lifecycle, validation, matching, canonical form. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/buf.h"
#include "ahpa/error.h"
#include "ahpa/mem.h"
#include "ahpa/str.h"
#include "labelsel_int.h"

/* Error messages quote user input; keep them one short printable line. */
static const char *msg_quote(char *dst, size_t cap, const char *s)
{
    size_t o = 0;
    for (; *s && o + 5 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
            dst[o++] = (char)c;
        } else {
            static const char hex[] = "0123456789abcdef";
            dst[o++] = '\\';
            dst[o++] = 'x';
            dst[o++] = hex[c >> 4];
            dst[o++] = hex[c & 15];
        }
    }
    if (*s && o + 4 <= cap) {
        memcpy(dst + o, "...", 3);
        o += 3;
    }
    dst[o] = '\0';
    return dst;
}

static bool is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9');
}

/* ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9] over n bytes, n >= 1. */
static bool is_name_part(const char *s, size_t n)
{
    if (n == 0 || !is_alnum(s[0]) || !is_alnum(s[n - 1]))
        return false;
    for (size_t i = 1; i + 1 < n; i++)
        if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
            return false;
    return true;
}

static int check_name_part(const char *key, const char *name,
                           struct ahpa_error *err)
{
    char q[64];
    size_t n = strlen(name);
    if (n == 0)
        return ahpa_error_set(err, AHPA_EINVAL,
                              "invalid label key \"%s\": name part must be "
                              "non-empty", msg_quote(q, sizeof q, key));
    if (n > AHPA_LABELSEL_MAX_VALUE)
        return ahpa_error_set(err, AHPA_EINVAL,
                              "invalid label key \"%s\": name part must be "
                              "no more than 63 characters",
                              msg_quote(q, sizeof q, key));
    if (!is_name_part(name, n))
        return ahpa_error_set(err, AHPA_EINVAL,
                              "invalid label key \"%s\": name part must "
                              "consist of alphanumeric characters, '-', '_' "
                              "or '.', and must start and end with an "
                              "alphanumeric character",
                              msg_quote(q, sizeof q, key));
    return 0;
}

int ahpa_labelsel_validate_key(const char *key, struct ahpa_error *err)
{
    char q[64];
    if (!key)
        return ahpa_error_set(err, AHPA_EINVAL, "label key missing");
    const char *slash = strchr(key, '/');
    if (!slash)
        return check_name_part(key, key, err);
    if (strchr(slash + 1, '/'))
        return ahpa_error_set(err, AHPA_EINVAL,
                              "invalid label key \"%s\": at most one '/' "
                              "(prefix/name)", msg_quote(q, sizeof q, key));
    size_t plen = (size_t)(slash - key);
    if (plen == 0)
        return ahpa_error_set(err, AHPA_EINVAL,
                              "invalid label key \"%s\": prefix part must be "
                              "non-empty", msg_quote(q, sizeof q, key));
    char prefix[AHPA_LABELSEL_MAX_PREFIX + 1];
    if (plen > AHPA_LABELSEL_MAX_PREFIX)
        return ahpa_error_set(err, AHPA_EINVAL,
                              "invalid label key \"%s\": prefix part must be "
                              "no more than 253 characters",
                              msg_quote(q, sizeof q, key));
    memcpy(prefix, key, plen);
    prefix[plen] = '\0';
    if (!ahpa_str_is_dns_subdomain(prefix))
        return ahpa_error_set(err, AHPA_EINVAL,
                              "invalid label key \"%s\": prefix part must be a "
                              "lowercase RFC 1123 subdomain",
                              msg_quote(q, sizeof q, key));
    return check_name_part(key, slash + 1, err);
}

int ahpa_labelsel_validate_value(const char *value, struct ahpa_error *err)
{
    char q[64];
    if (!value)
        return ahpa_error_set(err, AHPA_EINVAL, "label value missing");
    size_t n = strlen(value);
    if (n == 0)
        return 0;
    if (n > AHPA_LABELSEL_MAX_VALUE)
        return ahpa_error_set(err, AHPA_EINVAL,
                              "invalid label value \"%s\": must be no more "
                              "than 63 characters",
                              msg_quote(q, sizeof q, value));
    if (!is_name_part(value, n))
        return ahpa_error_set(err, AHPA_EINVAL,
                              "invalid label value \"%s\": must be empty or "
                              "consist of alphanumeric characters, '-', '_' "
                              "or '.', and must start and end with an "
                              "alphanumeric character",
                              msg_quote(q, sizeof q, value));
    return 0;
}

const char *ahpa_labelsel__op_str(enum ahpa_labelsel_op op)
{
    switch (op) {
    case AHPA_LABELSEL_EQ: return "=";
    case AHPA_LABELSEL_NE: return "!=";
    case AHPA_LABELSEL_IN: return "in";
    case AHPA_LABELSEL_NOTIN: return "notin";
    case AHPA_LABELSEL_EXISTS: return "exists";
    case AHPA_LABELSEL_NOT_EXISTS: return "!";
    case AHPA_LABELSEL_GT: return "gt";
    case AHPA_LABELSEL_LT: return "lt";
    }
    return "?";
}

int ahpa_labelsel__check_arity(enum ahpa_labelsel_op op,
                               const char *const *values, size_t n,
                               struct ahpa_error *err)
{
    int64_t v;
    switch (op) {
    case AHPA_LABELSEL_IN:
    case AHPA_LABELSEL_NOTIN:
        if (n == 0)
            return ahpa_error_set(err, AHPA_EINVAL, "for 'in', 'notin' "
                                  "operators, values set can't be empty");
        return 0;
    case AHPA_LABELSEL_EQ:
    case AHPA_LABELSEL_NE:
        if (n != 1)
            return ahpa_error_set(err, AHPA_EINVAL, "exact-match "
                                  "compatibility requires one single value");
        return 0;
    case AHPA_LABELSEL_EXISTS:
    case AHPA_LABELSEL_NOT_EXISTS:
        if (n != 0)
            return ahpa_error_set(err, AHPA_EINVAL, "values set must be "
                                  "empty for exists and does not exist");
        return 0;
    case AHPA_LABELSEL_GT:
    case AHPA_LABELSEL_LT:
        if (n != 1)
            return ahpa_error_set(err, AHPA_EINVAL, "for 'Gt', 'Lt' "
                                  "operators, exactly one value is required");
        if (ahpa_str_to_int64(values[0], &v, NULL) != 0)
            return ahpa_error_set(err, AHPA_EINVAL, "for 'Gt', 'Lt' "
                                  "operators, the value must be an integer");
        return 0;
    }
    return ahpa_error_set(err, AHPA_EINVAL, "operator %d is not recognized",
                          (int)op);
}

struct ahpa_labelsel *ahpa_labelsel_new(void)
{
    return ahpa_calloc(1, sizeof(struct ahpa_labelsel));
}

static void req_dispose(struct ahpa_labelsel_req *r)
{
    for (size_t i = 0; i < r->nvalues; i++)
        free(r->values[i]);
    free(r->values);
    free(r->key);
}

void ahpa_labelsel_free(struct ahpa_labelsel *sel)
{
    if (!sel)
        return;
    for (size_t i = 0; i < sel->nreqs; i++)
        req_dispose(&sel->reqs[i]);
    free(sel->reqs);
    free(sel);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Copies, sorts and deduplicates the values into r. */
static void req_set_values(struct ahpa_labelsel_req *r,
                           const char *const *values, size_t n)
{
    r->values = n ? ahpa_calloc(n, sizeof(char *)) : NULL;
    for (size_t i = 0; i < n; i++)
        r->values[i] = ahpa_strdup(values[i]);
    if (n > 1)
        qsort(r->values, n, sizeof(char *), cmp_str);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (k > 0 && strcmp(r->values[k - 1], r->values[i]) == 0)
            free(r->values[i]);
        else
            r->values[k++] = r->values[i];
    }
    r->nvalues = k;
}

int ahpa_labelsel_add(struct ahpa_labelsel *sel, const char *key,
                      enum ahpa_labelsel_op op, const char *const *values,
                      size_t nvalues, struct ahpa_error *err)
{
    if (!sel)
        return ahpa_error_set(err, AHPA_EINVAL, "no selector");
    int rc = ahpa_labelsel_validate_key(key, err);
    if (rc == 0)
        rc = ahpa_labelsel__check_arity(op, values, nvalues, err);
    for (size_t i = 0; rc == 0 && i < nvalues; i++)
        rc = ahpa_labelsel_validate_value(values[i], err);
    if (rc != 0)
        return rc;
    size_t pos = sel->nreqs;
    while (pos > 0 && strcmp(sel->reqs[pos - 1].key, key) > 0)
        pos--;
    sel->reqs = ahpa_reallocarray(sel->reqs, sel->nreqs + 1,
                                  sizeof(*sel->reqs));
    memmove(&sel->reqs[pos + 1], &sel->reqs[pos],
            (sel->nreqs - pos) * sizeof(*sel->reqs));
    sel->nreqs++;
    struct ahpa_labelsel_req *r = &sel->reqs[pos];
    memset(r, 0, sizeof(*r));
    r->key = ahpa_strdup(key);
    r->op = op;
    req_set_values(r, values, nvalues);
    return 0;
}

bool ahpa_labelsel_is_empty(const struct ahpa_labelsel *sel)
{
    return !sel || sel->nreqs == 0;
}

static const char *set_get(const struct ahpa_labelsel_set *ls,
                           const char *name)
{
    if (!ls)
        return NULL;
    for (size_t i = 0; i < ls->len; i++)
        if (ls->names[i] && strcmp(ls->names[i], name) == 0)
            return ls->values[i] ? ls->values[i] : "";
    return NULL;
}

static bool in_values(const struct ahpa_labelsel_req *r, const char *v)
{
    return bsearch(&v, r->values, r->nvalues, sizeof(char *), cmp_str) !=
           NULL;
}

static bool req_matches(const struct ahpa_labelsel_req *r,
                        const struct ahpa_labelsel_set *ls)
{
    const char *v = set_get(ls, r->key);
    int64_t have, want;
    switch (r->op) {
    case AHPA_LABELSEL_EQ:
    case AHPA_LABELSEL_IN:
        return v && in_values(r, v);
    case AHPA_LABELSEL_NE:
    case AHPA_LABELSEL_NOTIN:
        return !v || !in_values(r, v);
    case AHPA_LABELSEL_EXISTS:
        return v != NULL;
    case AHPA_LABELSEL_NOT_EXISTS:
        return v == NULL;
    case AHPA_LABELSEL_GT:
    case AHPA_LABELSEL_LT:
        if (!v || ahpa_str_to_int64(v, &have, NULL) != 0 ||
            ahpa_str_to_int64(r->values[0], &want, NULL) != 0)
            return false;
        return r->op == AHPA_LABELSEL_GT ? have > want : have < want;
    }
    return false;
}

bool ahpa_labelsel_matches(const struct ahpa_labelsel *sel,
                           const struct ahpa_labelsel_set *labels)
{
    if (!sel)
        return true;
    for (size_t i = 0; i < sel->nreqs; i++)
        if (!req_matches(&sel->reqs[i], labels))
            return false;
    return true;
}

static void put_value_list(struct ahpa_buf *out,
                           const struct ahpa_labelsel_req *r)
{
    ahpa_buf_puts(out, " (");
    for (size_t i = 0; i < r->nvalues; i++) {
        if (i)
            ahpa_buf_putc(out, ',');
        ahpa_buf_puts(out, r->values[i]);
    }
    ahpa_buf_putc(out, ')');
}

void ahpa_labelsel_canonical(const struct ahpa_labelsel *sel,
                             struct ahpa_buf *out)
{
    ahpa_buf_append(out, "", 0); /* "" rather than NULL data when empty */
    for (size_t i = 0; sel && i < sel->nreqs; i++) {
        const struct ahpa_labelsel_req *r = &sel->reqs[i];
        if (i)
            ahpa_buf_putc(out, ',');
        if (r->op == AHPA_LABELSEL_NOT_EXISTS)
            ahpa_buf_putc(out, '!');
        ahpa_buf_puts(out, r->key);
        switch (r->op) {
        case AHPA_LABELSEL_EQ: ahpa_buf_putc(out, '='); break;
        case AHPA_LABELSEL_NE: ahpa_buf_puts(out, "!="); break;
        case AHPA_LABELSEL_GT: ahpa_buf_putc(out, '>'); break;
        case AHPA_LABELSEL_LT: ahpa_buf_putc(out, '<'); break;
        case AHPA_LABELSEL_IN:
        case AHPA_LABELSEL_NOTIN:
            ahpa_buf_putc(out, ' ');
            ahpa_buf_puts(out, ahpa_labelsel__op_str(r->op));
            put_value_list(out, r);
            continue;
        default: continue;
        }
        ahpa_buf_puts(out, r->values[0]);
    }
}
