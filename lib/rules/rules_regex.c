/* RE2-style patterns from prometheus-adapter configs on POSIX regex.
 *
 * Configs are written for Go's regexp (RE2). POSIX ERE shares most of the
 * syntax; this file rewrites the common differences before regcomp() and
 * rejects what it cannot express faithfully, so that a config never means
 * something else silently. See ahpa/rules.h for the list. */
#include <stdlib.h>
#include <string.h>

#include "ahpa/buf.h"
#include "ahpa/error.h"
#include "ahpa/mem.h"
#include "rules_int.h"

/* glibc's regcomp copies the tree of a repeated expression once per
 * repetition, so nested counted repeats grow memory multiplicatively. Like
 * RE2, counts are capped at 1000, nested operators (`a**`) are rejected,
 * and the product of repeat counts along any nesting is capped too. */
#define MAX_REPEAT 1000
#define MAX_DEPTH 32
#define MAX_PATTERN 4096

struct xlate {
    const char *p;        /* pattern */
    size_t i;             /* read position */
    struct ahpa_buf out;  /* POSIX pattern */
    struct ahpa_rules__regex *rx;
    bool icase, lazy;
    size_t depth;                     /* open groups */
    unsigned long weight[MAX_DEPTH + 1]; /* max repeat product per level */
    unsigned long atom;               /* weight of the last atom, 0: none */
    bool quantified;                  /* last token was a quantifier */
    struct ahpa_error *err;
};

static int unsupported(struct xlate *x, const char *what)
{
    return ahpa_error_set(x->err, AHPA_ECONFIG,
                          "%s at offset %zu is not supported (POSIX regex)",
                          what, x->i);
}

static bool is_word(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_';
}

static void add_group(struct xlate *x, char *name)
{
    struct ahpa_rules__regex *rx = x->rx;
    rx->nposix++;
    rx->ngroups++;
    rx->map = ahpa_reallocarray(rx->map, rx->ngroups + 1, sizeof(size_t));
    rx->names = ahpa_reallocarray(rx->names, rx->ngroups + 1, sizeof(char *));
    rx->map[rx->ngroups] = rx->nposix;
    rx->names[rx->ngroups] = name;
}

/* At "(": plain, non-capturing or named group. */
static int xlate_group(struct xlate *x)
{
    const char *s = x->p + x->i;
    if (s[1] != '?') {
        add_group(x, NULL);
        x->i += 1;
    } else if (s[2] == ':') {
        x->rx->nposix++;
        x->i += 3;
    } else if (s[2] == 'P' || s[2] == '<') {
        size_t start = s[2] == 'P' ? 4 : 3;
        if (s[2] == 'P' && s[3] != '<')
            return unsupported(x, "group flag");
        size_t n = 0;
        while (is_word(s[start + n]))
            n++;
        if (n == 0 || s[start + n] != '>')
            return unsupported(x, "malformed group name");
        add_group(x, ahpa_strndup(s + start, n));
        x->i += start + n + 1;
    } else {
        return unsupported(x, "group flag");
    }
    ahpa_buf_putc(&x->out, '(');
    return 0;
}

/* Escapes inside [...]: POSIX takes '\' literally there. */
static int xlate_bracket_escape(struct xlate *x, char c)
{
    switch (c) {
    case 'd': ahpa_buf_puts(&x->out, "0-9"); return 0;
    case 's': ahpa_buf_puts(&x->out, "[:space:]"); return 0;
    case 'w': ahpa_buf_puts(&x->out, "[:alnum:]_"); return 0;
    case 'n': ahpa_buf_putc(&x->out, '\n'); return 0;
    case 't': ahpa_buf_putc(&x->out, '\t'); return 0;
    case '\\': ahpa_buf_putc(&x->out, '\\'); return 0;
    case ']':
    case '-':
    case '^': return unsupported(x, "escaped ']', '-' or '^' in brackets");
    default:
        if (is_word(c) || c == '\0')
            return unsupported(x, "escape in brackets");
        ahpa_buf_putc(&x->out, c);
        return 0;
    }
}

static int xlate_bracket(struct xlate *x)
{
    const char *p = x->p;
    size_t i = x->i + 1;
    ahpa_buf_putc(&x->out, '[');
    if (p[i] == '^')
        ahpa_buf_putc(&x->out, p[i++]);
    if (p[i] == ']')
        ahpa_buf_putc(&x->out, p[i++]);
    while (p[i] && p[i] != ']') {
        if (p[i] == '[' && p[i + 1] == ':') {
            const char *end = strstr(p + i + 2, ":]");
            if (!end)
                return unsupported(x, "unterminated character class");
            ahpa_buf_append(&x->out, p + i, (size_t)(end + 2 - (p + i)));
            i = (size_t)(end + 2 - p);
        } else if (p[i] == '\\') {
            x->i = i;
            int rc = xlate_bracket_escape(x, p[i + 1]);
            if (rc != 0)
                return rc;
            i += 2;
        } else {
            ahpa_buf_putc(&x->out, p[i++]);
        }
    }
    if (!p[i])
        return ahpa_error_set(x->err, AHPA_ECONFIG, "missing ']'");
    ahpa_buf_putc(&x->out, ']');
    x->i = i + 1;
    return 0;
}

static int xlate_escape(struct xlate *x)
{
    char c = x->p[x->i + 1];
    const char *rep = NULL;
    switch (c) {
    case 'd': rep = "[0-9]"; break;
    case 'D': rep = "[^0-9]"; break;
    case 's': rep = "[[:space:]]"; break;
    case 'S': rep = "[^[:space:]]"; break;
    case 'w': rep = "[[:alnum:]_]"; break;
    case 'W': rep = "[^[:alnum:]_]"; break;
    case 'A': rep = "^"; break;
    case 'z': rep = "$"; break;
    case 'n': rep = "\n"; break;
    case 't': rep = "\t"; break;
    case 'b': rep = "\\b"; break;
    case 'B': rep = "\\B"; break;
    case '\0': return ahpa_error_set(x->err, AHPA_ECONFIG, "trailing '\\'");
    default:
        if (is_word(c))
            return unsupported(x, "escape sequence");
        ahpa_buf_putc(&x->out, '\\');
        ahpa_buf_putc(&x->out, c);
        x->i += 2;
        return 0;
    }
    ahpa_buf_puts(&x->out, rep);
    x->i += 2;
    return 0;
}

static void set_atom(struct xlate *x, unsigned long w)
{
    x->atom = w;
    x->quantified = false;
    if (w > x->weight[x->depth])
        x->weight[x->depth] = w;
}

/* `{n}`, `{n,}` or `{n,m}` at p: its length and the largest count it
 * allows (n + 1 for open ranges); 0 if p is not a repetition (RE2 then
 * takes the brace literally). */
static size_t parse_braces(const char *p, unsigned long *factor, bool *bad)
{
    size_t i = 1;
    unsigned long lo = 0, hi;
    *bad = false;
    if (p[i] < '0' || p[i] > '9')
        return 0;
    for (; p[i] >= '0' && p[i] <= '9'; i++)
        lo = lo > MAX_REPEAT ? lo : lo * 10 + (unsigned long)(p[i] - '0');
    hi = lo;
    if (p[i] == ',') {
        i++;
        if (p[i] >= '0' && p[i] <= '9') {
            for (hi = 0; p[i] >= '0' && p[i] <= '9'; i++)
                hi = hi > MAX_REPEAT ? hi : hi * 10 + (unsigned long)(p[i] - '0');
        } else {
            hi = lo + 1;
        }
    }
    if (p[i] != '}')
        return 0;
    *bad = lo > MAX_REPEAT || hi > MAX_REPEAT + 1 || hi < lo;
    *factor = hi ? hi : 1;
    return i + 1;
}

static int xlate_quantifier(struct xlate *x, size_t len, unsigned long factor)
{
    if (x->quantified)
        return unsupported(x, "nested repetition operator");
    if (x->atom == 0)
        return unsupported(x, "repetition without an argument");
    unsigned long w = x->atom * factor;
    if (w > MAX_REPEAT)
        return unsupported(x, "repetition count over 1000");
    ahpa_buf_append(&x->out, x->p + x->i, len);
    x->i += len;
    set_atom(x, w);
    x->quantified = true;
    if (x->p[x->i] == '?') {
        x->lazy = true; /* non-greedy: POSIX has none */
        x->i++;
    }
    return 0;
}

static int xlate_paren(struct xlate *x, char c)
{
    if (c == '(') {
        if (x->depth == MAX_DEPTH)
            return unsupported(x, "nesting deeper than 32 groups");
        int rc = xlate_group(x);
        x->weight[++x->depth] = 0;
        x->atom = 0;
        x->quantified = false;
        return rc;
    }
    if (x->depth == 0)
        return ahpa_error_set(x->err, AHPA_ECONFIG, "unexpected ')'");
    unsigned long w = x->weight[x->depth--];
    ahpa_buf_putc(&x->out, ')');
    x->i++;
    set_atom(x, w ? w : 1);
    return 0;
}

static int xlate_one(struct xlate *x)
{
    char c = x->p[x->i];
    unsigned long factor = 1;
    bool bad;
    size_t len;
    switch (c) {
    case '\\': {
        char e = x->p[x->i + 1];
        int rc = xlate_escape(x);
        set_atom(x, strchr("AzbB", e) && e ? 0 : 1);
        return rc;
    }
    case '[': set_atom(x, 1); return xlate_bracket(x);
    case '(':
    case ')': return xlate_paren(x, c);
    case '*':
    case '?': return xlate_quantifier(x, 1, 1);
    case '+': return xlate_quantifier(x, 1, 2);
    case '{':
        len = parse_braces(x->p + x->i, &factor, &bad);
        if (bad)
            return unsupported(x, "repetition count over 1000");
        if (len)
            return xlate_quantifier(x, len, factor);
        ahpa_buf_puts(&x->out, "\\{");
        x->i++;
        set_atom(x, 1);
        return 0;
    case '}': ahpa_buf_puts(&x->out, "\\}"); x->i++; set_atom(x, 1); return 0;
    case '|':
    case '^':
    case '$':
        ahpa_buf_putc(&x->out, c);
        x->i++;
        x->atom = 0;
        x->quantified = false;
        return 0;
    default:
        ahpa_buf_putc(&x->out, c);
        x->i++;
        set_atom(x, 1);
        return 0;
    }
}

static int xlate_all(struct xlate *x)
{
    if (strlen(x->p) > MAX_PATTERN)
        return ahpa_error_set(x->err, AHPA_ECONFIG, "longer than %d bytes",
                              MAX_PATTERN);
    if (strncmp(x->p, "(?i)", 4) == 0) {
        x->icase = true;
        x->i = 4;
    }
    while (x->p[x->i]) {
        int rc = xlate_one(x);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int ahpa_rules__regex_compile(struct ahpa_rules__regex *rx, const char *pattern,
                              bool *lazy_dropped, struct ahpa_error *err)
{
    memset(rx, 0, sizeof(*rx));
    rx->map = ahpa_calloc(1, sizeof(size_t));
    rx->names = ahpa_calloc(1, sizeof(char *));
    struct xlate x = {.p = pattern, .rx = rx, .err = err};
    ahpa_buf_init(&x.out);
    ahpa_buf_append(&x.out, "", 0);
    int rc = xlate_all(&x);
    if (rc == 0) {
        int flags = REG_EXTENDED | (x.icase ? REG_ICASE : 0);
        int prc = regcomp(&rx->re, x.out.data, flags);
        if (prc != 0) {
            char msg[128];
            regerror(prc, &rx->re, msg, sizeof msg);
            rc = ahpa_error_set(err, AHPA_ECONFIG, "%s", msg);
        } else {
            rx->compiled = true;
            if (rx->re.re_nsub != rx->nposix)
                rc = ahpa_error_set(err, AHPA_ECONFIG, "unbalanced groups");
        }
    }
    if (lazy_dropped)
        *lazy_dropped = x.lazy;
    ahpa_buf_dispose(&x.out);
    if (rc != 0)
        ahpa_rules__regex_dispose(rx);
    return rc;
}

void ahpa_rules__regex_dispose(struct ahpa_rules__regex *rx)
{
    if (rx->compiled)
        regfree(&rx->re);
    for (size_t i = 0; rx->names && i <= rx->ngroups; i++)
        free(rx->names[i]);
    free(rx->names);
    free(rx->map);
    memset(rx, 0, sizeof(*rx));
}

bool ahpa_rules__regex_search(const struct ahpa_rules__regex *rx,
                              const char *s)
{
    return rx->compiled && regexec(&rx->re, s, 0, NULL, 0) == 0;
}

/* Resolves a `$` reference name to a user group number, -1 if none. */
static long group_number(const struct ahpa_rules__regex *rx, const char *name,
                         size_t n)
{
    bool digits = true;
    for (size_t i = 0; i < n; i++)
        digits = digits && name[i] >= '0' && name[i] <= '9';
    if (digits) {
        if (n > 6)
            return -1;
        long v = 0;
        for (size_t i = 0; i < n; i++)
            v = v * 10 + (name[i] - '0');
        return v <= (long)rx->ngroups ? v : -1;
    }
    for (size_t g = 1; g <= rx->ngroups; g++)
        if (rx->names[g] && strlen(rx->names[g]) == n &&
            memcmp(rx->names[g], name, n) == 0)
            return (long)g;
    return -1;
}

/* Parses the reference after '$' at t: sets name/len and returns the
 * bytes consumed after '$', or 0 if it is not a valid reference. */
static size_t ref_extract(const char *t, const char **name, size_t *len)
{
    bool brace = t[0] == '{';
    const char *s = brace ? t + 1 : t;
    size_t n = 0;
    while (is_word(s[n]))
        n++;
    if (n == 0 || (brace && s[n] != '}'))
        return 0;
    *name = s;
    *len = n;
    return brace ? n + 2 : n;
}

bool ahpa_rules__regex_expand(const struct ahpa_rules__regex *rx,
                              const char *tmpl, const char *s,
                              struct ahpa_buf *out)
{
    if (!rx->compiled)
        return false;
    regmatch_t *m = ahpa_calloc(rx->nposix + 1, sizeof(regmatch_t));
    bool ok = regexec(&rx->re, s, rx->nposix + 1, m, 0) == 0;
    ahpa_buf_append(out, "", 0);
    for (const char *t = tmpl; ok && *t;) {
        if (*t != '$') {
            ahpa_buf_putc(out, *t++);
            continue;
        }
        if (t[1] == '$') {
            ahpa_buf_putc(out, '$');
            t += 2;
            continue;
        }
        const char *name;
        size_t len;
        size_t used = ref_extract(t + 1, &name, &len);
        if (used == 0) {
            ahpa_buf_putc(out, *t++);
            continue;
        }
        long g = group_number(rx, name, len);
        if (g >= 0) {
            regmatch_t r = m[rx->map[g]];
            if (r.rm_so >= 0)
                ahpa_buf_append(out, s + r.rm_so, (size_t)(r.rm_eo - r.rm_so));
        }
        t += 1 + used;
    }
    free(m);
    return ok;
}
