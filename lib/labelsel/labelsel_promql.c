/* Selectors as PromQL label matchers.
 *
 * Two layers of quoting protect the query: every value goes inside a
 * PromQL double-quoted string (so `"`, `\` and newlines are escaped and no
 * value can close the string, the braces or the query), and values that
 * become regex alternatives are first regex-escaped, so that `in (a.b)`
 * means exactly "a.b" and `in (x|.*)` cannot widen the match. */
#include <string.h>

#include "ahpa/buf.h"
#include "ahpa/error.h"
#include "labelsel_int.h"

static const char hexdig[] = "0123456789abcdef";

/* Length of the valid UTF-8 sequence at s (n bytes available), 0 if the
 * bytes there are not one (overlong forms and surrogates included). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    unsigned min;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4, min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    unsigned cp = c & (0x3f >> (len - 1));
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

static void put_hex_escape(struct ahpa_buf *out, unsigned char c)
{
    char e[4] = {'\\', 'x', hexdig[c >> 4], hexdig[c & 15]};
    ahpa_buf_append(out, e, 4);
}

void ahpa_labelsel_promql_quote(struct ahpa_buf *out, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    ahpa_buf_putc(out, '"');
    for (size_t i = 0; i < n;) {
        unsigned char c = u[i];
        if (c == '"' || c == '\\') {
            ahpa_buf_putc(out, '\\');
            ahpa_buf_putc(out, (char)c);
        } else if (c == '\n') {
            ahpa_buf_puts(out, "\\n");
        } else if (c == '\t') {
            ahpa_buf_puts(out, "\\t");
        } else if (c == '\r') {
            ahpa_buf_puts(out, "\\r");
        } else if (c < 0x20 || c == 0x7f) {
            put_hex_escape(out, c);
        } else if (c >= 0x80) {
            size_t len = utf8_len(u + i, n - i);
            if (len == 0) {
                put_hex_escape(out, c);
            } else {
                ahpa_buf_append(out, u + i, len);
                i += len;
                continue;
            }
        } else {
            ahpa_buf_putc(out, (char)c);
        }
        i++;
    }
    ahpa_buf_putc(out, '"');
}

void ahpa_labelsel_regex_escape(struct ahpa_buf *out, const char *s)
{
    for (; *s; s++) {
        if (strchr("\\.+*?()|[]{}^$", *s))
            ahpa_buf_putc(out, '\\');
        ahpa_buf_putc(out, *s);
    }
}

void ahpa_labelsel_promql_alternatives(struct ahpa_buf *out,
                                       const char *const *values, size_t n)
{
    struct ahpa_buf re;
    ahpa_buf_init(&re);
    for (size_t i = 0; i < n; i++) {
        if (i)
            ahpa_buf_putc(&re, '|');
        ahpa_labelsel_regex_escape(&re, values[i]);
    }
    ahpa_labelsel_promql_quote(out, re.data ? re.data : "", re.len);
    ahpa_buf_dispose(&re);
}

bool ahpa_labelsel_is_prom_label_name(const char *s)
{
    if (!s || !*s || (*s >= '0' && *s <= '9'))
        return false;
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_'))
            return false;
    }
    return true;
}

static bool is_lower_or_digit(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* Appends the mapped key to `name` (which holds the prefix). */
static void map_key(struct ahpa_buf *name, const char *key,
                    enum ahpa_labelsel_names mode)
{
    if (mode == AHPA_LABELSEL_NAMES_STRICT) {
        ahpa_buf_puts(name, key);
        return;
    }
    if (name->len == 0 && key[0] >= '0' && key[0] <= '9')
        ahpa_buf_putc(name, '_');
    char prev = '\0';
    for (const char *p = key; *p; p++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (c >= '0' && c <= '9') || c == '_';
        if (!ok)
            c = '_';
        if (mode == AHPA_LABELSEL_NAMES_KSM && c >= 'A' && c <= 'Z') {
            if (is_lower_or_digit(prev))
                ahpa_buf_putc(name, '_');
            prev = c;
            c = (char)(c - 'A' + 'a');
        } else {
            prev = c;
        }
        ahpa_buf_putc(name, c);
    }
}

static int put_matcher(struct ahpa_buf *out, const char *name,
                       const struct ahpa_labelsel_req *r,
                       struct ahpa_error *err)
{
    const char *const *vals = (const char *const *)r->values;
    bool many = r->nvalues > 1;
    ahpa_buf_puts(out, name);
    switch (r->op) {
    case AHPA_LABELSEL_EQ:
    case AHPA_LABELSEL_IN:
        ahpa_buf_puts(out, many ? "=~" : "=");
        break;
    case AHPA_LABELSEL_NE:
    case AHPA_LABELSEL_NOTIN:
        ahpa_buf_puts(out, many ? "!~" : "!=");
        break;
    case AHPA_LABELSEL_EXISTS:
        ahpa_buf_puts(out, "!=\"\"");
        return 0;
    case AHPA_LABELSEL_NOT_EXISTS:
        ahpa_buf_puts(out, "=\"\"");
        return 0;
    default:
        return ahpa_error_set(err, AHPA_ENOTSUP,
                              "label selector operator '%s' on %s has no "
                              "PromQL label matcher",
                              r->op == AHPA_LABELSEL_GT ? ">" : "<", r->key);
    }
    if (many)
        ahpa_labelsel_promql_alternatives(out, vals, r->nvalues);
    else
        ahpa_labelsel_promql_quote(out, vals[0], strlen(vals[0]));
    return 0;
}

int ahpa_labelsel_render_promql(const struct ahpa_labelsel *sel,
                                const struct ahpa_labelsel_promql_opts *opts,
                                struct ahpa_buf *out, struct ahpa_error *err)
{
    const char *prefix = opts && opts->name_prefix ? opts->name_prefix : "";
    enum ahpa_labelsel_names mode = opts ? opts->names
                                         : AHPA_LABELSEL_NAMES_STRICT;
    struct ahpa_buf name;
    ahpa_buf_init(&name);
    int rc = 0;
    ahpa_buf_append(out, "", 0);
    for (size_t i = 0; rc == 0 && sel && i < sel->nreqs; i++) {
        const struct ahpa_labelsel_req *r = &sel->reqs[i];
        ahpa_buf_reset(&name);
        ahpa_buf_puts(&name, prefix);
        map_key(&name, r->key, mode);
        if (!ahpa_labelsel_is_prom_label_name(name.data)) {
            rc = ahpa_error_set(err, AHPA_EINVAL,
                                "label key %s is not a valid Prometheus "
                                "label name", r->key);
            break;
        }
        if (i)
            ahpa_buf_putc(out, ',');
        rc = put_matcher(out, name.data, r, err);
    }
    ahpa_buf_dispose(&name);
    return rc;
}
