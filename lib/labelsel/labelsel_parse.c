/* The label selector string syntax, after apimachinery's labels.Parse.
 *
 * Lexer: whitespace is ' ', '\t', '\r', '\n'; the special symbols are
 * = ! ( ) , > < and the tokens made of them are = == != ! ( ) , > <
 * (longest match); an identifier is a run of any other bytes, and the
 * identifiers `in` and `notin` are keywords except where a value is
 * expected. Grammar:
 *
 *   selector    := "" | requirement ("," requirement)*
 *   requirement := "!" key | key | key op value | key set-op "(" list ")"
 *   op          := "=" | "==" | "!=" | ">" | "<"   (value may be empty)
 *   list        := [value] ("," [value])*         (empty items are "")
 *
 * Errors carry the byte offset of the offending token. */
#include <stdlib.h>
#include <string.h>

#include "ahpa/buf.h"
#include "ahpa/error.h"
#include "ahpa/mem.h"
#include "labelsel_int.h"

enum tok {
    T_ERROR, T_EOS, T_IDENT, T_IN, T_NOTIN, T_OPENPAR, T_CLOSEPAR, T_COMMA,
    T_BANG, T_EQ, T_DEQ, T_NE, T_GT, T_LT,
};

struct token {
    enum tok type;
    size_t off, len;
};

struct parser {
    const char *s;
    size_t pos;
    struct ahpa_labelsel *sel;
    struct ahpa_error *err;
};

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_special(char c)
{
    return c == '=' || c == '!' || c == '(' || c == ')' || c == ',' ||
           c == '>' || c == '<';
}

static enum tok special_tok(char c)
{
    switch (c) {
    case '=': return T_EQ;
    case '!': return T_BANG;
    case '(': return T_OPENPAR;
    case ')': return T_CLOSEPAR;
    case ',': return T_COMMA;
    case '>': return T_GT;
    default: return T_LT;
    }
}

/* Scans the token at p->pos; advances only when `consume`. With
 * `values`, the keywords in/notin are plain identifiers. */
static struct token lex(struct parser *p, bool consume, bool values)
{
    size_t i = p->pos;
    while (is_space(p->s[i]))
        i++;
    struct token t = {T_EOS, i, 0};
    char c = p->s[i];
    if (c == '\0') {
        t.type = T_EOS;
    } else if (is_special(c)) {
        char d = p->s[i + 1];
        if ((c == '!' || c == '=') && d == '=') {
            t.type = c == '!' ? T_NE : T_DEQ;
            t.len = 2;
        } else {
            t.type = special_tok(c);
            t.len = 1;
        }
    } else {
        while (p->s[i + t.len] && !is_space(p->s[i + t.len]) &&
               !is_special(p->s[i + t.len]))
            t.len++;
        t.type = T_IDENT;
        if (!values && t.len == 2 && memcmp(p->s + i, "in", 2) == 0)
            t.type = T_IN;
        else if (!values && t.len == 5 && memcmp(p->s + i, "notin", 5) == 0)
            t.type = T_NOTIN;
    }
    if (consume)
        p->pos = t.off + t.len;
    return t;
}

/* Formats the token's text for a message: at most 32 bytes, unprintable
 * bytes as \xNN, end of input as "end of string". */
static const char *tok_text(const struct parser *p, struct token t, char *dst,
                            size_t cap)
{
    if (t.type == T_EOS)
        return "end of string";
    size_t o = 0;
    for (size_t i = 0; i < t.len && o + 5 < cap && i < 32; i++) {
        unsigned char c = (unsigned char)p->s[t.off + i];
        if (c >= 0x20 && c < 0x7f && c != '\'') {
            dst[o++] = (char)c;
        } else {
            static const char hex[] = "0123456789abcdef";
            dst[o++] = '\\';
            dst[o++] = 'x';
            dst[o++] = hex[c >> 4];
            dst[o++] = hex[c & 15];
        }
    }
    dst[o] = '\0';
    return dst;
}

static int fail_at(struct parser *p, struct token t, const char *expected)
{
    char q[160];
    return ahpa_error_set(p->err, AHPA_EPARSE,
                          "at offset %zu: found '%s', expected: %s", t.off,
                          tok_text(p, t, q, sizeof q), expected);
}

/* Wraps a validation failure with the offset it happened at. */
static int fail_inner(struct parser *p, size_t off,
                      const struct ahpa_error *inner)
{
    return ahpa_error_set(p->err, AHPA_EPARSE, "at offset %zu: %s", off,
                          inner->msg);
}

struct values {
    char **v;
    size_t n;
};

static void values_dispose(struct values *vs)
{
    for (size_t i = 0; i < vs->n; i++)
        free(vs->v[i]);
    free(vs->v);
}

static int values_push(struct parser *p, struct values *vs, struct token t)
{
    char *v = ahpa_strndup(p->s + t.off, t.len);
    struct ahpa_error inner = {0};
    if (ahpa_labelsel_validate_value(v, &inner) != 0) {
        free(v);
        return fail_inner(p, t.off, &inner);
    }
    vs->v = ahpa_reallocarray(vs->v, vs->n + 1, sizeof(char *));
    vs->v[vs->n++] = v;
    return 0;
}

static int push_empty(struct parser *p, struct values *vs, size_t off)
{
    struct token t = {T_IDENT, off, 0};
    return values_push(p, vs, t);
}

/* After "(": a comma-separated list, empty items meaning "". */
static int parse_list(struct parser *p, struct values *vs)
{
    struct token t = lex(p, false, true);
    if (t.type == T_CLOSEPAR) {
        lex(p, true, true);
        return push_empty(p, vs, t.off); /* "in ()" is the set {""} */
    }
    bool want_value = true;
    for (;;) {
        t = lex(p, true, true);
        int rc = 0;
        if (t.type == T_IDENT && want_value) {
            rc = values_push(p, vs, t);
            want_value = false;
        } else if (t.type == T_COMMA) {
            if (want_value)
                rc = push_empty(p, vs, t.off);
            want_value = true;
        } else if (t.type == T_CLOSEPAR) {
            if (want_value)
                rc = push_empty(p, vs, t.off);
            return rc;
        } else {
            return fail_at(p, t, want_value ? "',', ')' or identifier"
                                            : "',' or ')'");
        }
        if (rc != 0)
            return rc;
    }
}

/* After a binary operator: one value, possibly empty ("a=" or "a=,b"). */
static int parse_exact(struct parser *p, struct values *vs)
{
    struct token t = lex(p, false, true);
    if (t.type == T_EOS || t.type == T_COMMA)
        return push_empty(p, vs, t.off);
    t = lex(p, true, true);
    if (t.type != T_IDENT)
        return fail_at(p, t, "identifier");
    return values_push(p, vs, t);
}

static int parse_operator(struct parser *p, enum ahpa_labelsel_op *op,
                          struct values *vs)
{
    struct token t = lex(p, true, false);
    switch (t.type) {
    case T_EQ:
    case T_DEQ: *op = AHPA_LABELSEL_EQ; break;
    case T_NE: *op = AHPA_LABELSEL_NE; break;
    case T_GT: *op = AHPA_LABELSEL_GT; break;
    case T_LT: *op = AHPA_LABELSEL_LT; break;
    case T_IN: *op = AHPA_LABELSEL_IN; break;
    case T_NOTIN: *op = AHPA_LABELSEL_NOTIN; break;
    default: return fail_at(p, t, "in, notin, =, ==, !=, >, <");
    }
    if (*op != AHPA_LABELSEL_IN && *op != AHPA_LABELSEL_NOTIN)
        return parse_exact(p, vs);
    t = lex(p, true, true);
    if (t.type != T_OPENPAR)
        return fail_at(p, t, "'('");
    return parse_list(p, vs);
}

static int parse_requirement(struct parser *p)
{
    struct token t = lex(p, true, true);
    enum ahpa_labelsel_op op = AHPA_LABELSEL_EXISTS;
    if (t.type == T_BANG) {
        op = AHPA_LABELSEL_NOT_EXISTS;
        t = lex(p, true, true);
    }
    if (t.type != T_IDENT)
        return fail_at(p, t, "identifier");
    char *key = ahpa_strndup(p->s + t.off, t.len);
    struct ahpa_error inner = {0};
    struct values vs = {0};
    int rc = ahpa_labelsel_validate_key(key, &inner);
    if (rc != 0) {
        rc = fail_inner(p, t.off, &inner);
        goto out;
    }
    struct token next = lex(p, false, true);
    if (op == AHPA_LABELSEL_EXISTS && next.type != T_EOS &&
        next.type != T_COMMA)
        rc = parse_operator(p, &op, &vs);
    if (rc == 0 && ahpa_labelsel_add(p->sel, key, op,
                                     (const char *const *)vs.v, vs.n,
                                     &inner) != 0)
        rc = fail_inner(p, t.off, &inner);
out:
    values_dispose(&vs);
    free(key);
    return rc;
}

static int parse_all(struct parser *p)
{
    struct token t = lex(p, false, true);
    if (t.type == T_EOS)
        return 0;
    for (;;) {
        t = lex(p, false, true);
        if (t.type != T_IDENT && t.type != T_BANG)
            return fail_at(p, t, "!, identifier, or 'end of string'");
        int rc = parse_requirement(p);
        if (rc != 0)
            return rc;
        t = lex(p, true, true);
        if (t.type == T_EOS)
            return 0;
        if (t.type != T_COMMA)
            return fail_at(p, t, "',' or 'end of string'");
        t = lex(p, false, true);
        if (t.type != T_IDENT && t.type != T_BANG)
            return fail_at(p, t, "identifier after ','");
    }
}

int ahpa_labelsel_parse(const char *s, struct ahpa_labelsel **out,
                        struct ahpa_error *err)
{
    if (!s || !out)
        return ahpa_error_set(err, AHPA_EINVAL, "no selector");
    size_t n = strnlen(s, AHPA_LABELSEL_MAX_INPUT + 1);
    if (n > AHPA_LABELSEL_MAX_INPUT)
        return ahpa_error_set(err, AHPA_ETOOBIG,
                              "label selector longer than %d bytes",
                              AHPA_LABELSEL_MAX_INPUT);
    struct parser p = {s, 0, ahpa_labelsel_new(), err};
    int rc = parse_all(&p);
    if (rc != 0) {
        ahpa_labelsel_free(p.sel);
        return rc;
    }
    *out = p.sel;
    return 0;
}
