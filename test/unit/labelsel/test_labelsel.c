/* Unit tests for lib/labelsel: parser, JSON, matching, PromQL rendering. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/buf.h"
#include "ahpa/error.h"
#include "ahpa/labelsel.h"
#include "unit.h"

/* Parses and renders the canonical form; "" on success with no reqs. */
static char *canonical_of(const char *s, struct ahpa_error *err, int *rc)
{
    struct ahpa_labelsel *sel = NULL;
    *rc = ahpa_labelsel_parse(s, &sel, err);
    if (*rc != 0)
        return NULL;
    struct ahpa_buf b;
    ahpa_buf_init(&b);
    ahpa_labelsel_canonical(sel, &b);
    ahpa_labelsel_free(sel);
    return ahpa_buf_take(&b, NULL);
}

static const struct {
    const char *in, *canon;
} parse_ok[] = {
    {"", ""},
    {"  \t\n", ""},
    {"a=b", "a=b"},
    {"a==b", "a=b"},
    {"a!=b", "a!=b"},
    {"y=b,x=a", "x=a,y=b"},
    {"a in (b,c)", "a in (b,c)"},
    {"a in (c,b,c)", "a in (b,c)"},
    {"a notin (b)", "a notin (b)"},
    {"a", "a"},
    {"!a", "!a"},
    {"a>5", "a>5"},
    {"a<-5x", NULL}, /* placeholder skipped below */
    {" a = b , c in ( d , e ) ", "a=b,c in (d,e)"},
    {"a=", "a="},
    {"a=,b", "a=,b"},
    {"a in ()", "a in ()"},
    {"a in (b,)", "a in (,b)"},
    {"a in (,b)", "a in (,b)"},
    {"a in (b,,c)", "a in (,b,c)"},
    {"example.com/name=v", "example.com/name=v"},
    {"in=notin", "in=notin"},
    {"a in (in,notin)", "a in (in,notin)"},
    {"a\tin\n(b)", "a in (b)"},
    {"d,a=b,!c", "a=b,!c,d"},
    {"a=b,a!=c", "a=b,a!=c"},
    {"A_b-c.D=1-2_3.x", "A_b-c.D=1-2_3.x"},
    {"a>10,a<20", "a>10,a<20"},
};

START_TEST(parse_valid_table)
{
    for (size_t i = 0; i < sizeof parse_ok / sizeof parse_ok[0]; i++) {
        if (!parse_ok[i].canon)
            continue;
        struct ahpa_error err = {0};
        int rc;
        char *c = canonical_of(parse_ok[i].in, &err, &rc);
        ck_assert_msg(rc == 0, "%s: %s", parse_ok[i].in, err.msg);
        ck_assert_str_eq(c, parse_ok[i].canon);
        /* the canonical form parses back to itself */
        char *c2 = canonical_of(c, &err, &rc);
        ck_assert_msg(rc == 0, "reparse %s: %s", c, err.msg);
        ck_assert_str_eq(c2, c);
        free(c);
        free(c2);
    }
}
END_TEST

static const struct {
    const char *in, *msg;
} parse_bad[] = {
    {"a=b,", "at offset 4: found 'end of string', expected: identifier after ','"},
    {",a", "at offset 0: found ',', expected: !, identifier, or 'end of string'"},
    {"a b", "at offset 2: found 'b', expected: in, notin, =, ==, !=, >, <"},
    {"a in b", "at offset 5: found 'b', expected: '('"},
    {"a in (b", "at offset 7: found 'end of string', expected: ',' or ')'"},
    {"a in (b c)", "at offset 8: found 'c', expected: ',' or ')'"},
    {"a in ((", "at offset 6: found '(', expected: ',', ')' or identifier"},
    {"a=b=c", "at offset 3: found '=', expected: ',' or 'end of string'"},
    {"!a=b", "at offset 2: found '=', expected: ',' or 'end of string'"},
    {"a=(", "at offset 2: found '(', expected: identifier"},
    {"!", "at offset 1: found 'end of string', expected: identifier"},
    {"a!b", "at offset 1: found '!', expected: in, notin, =, ==, !=, >, <"},
    {"a=b,,c", "at offset 4: found ',', expected: identifier after ','"},
    {"a=b\n}", "at offset 4: found '}', expected: ',' or 'end of string'"},
    {"-a=b", "at offset 0: invalid label key \"-a\": name part must consist"},
    {"a/b/c=d", "at offset 0: invalid label key \"a/b/c\": at most one '/'"},
    {"/a=b", "prefix part must be non-empty"},
    {"a/=b", "name part must be non-empty"},
    {"Example.com/a=b", "prefix part must be a lowercase RFC 1123 subdomain"},
    {"a=b\"}", "at offset 2: invalid label value \"b\\x22}\""},
    {"a=b\\", "invalid label value \"b\\x5c\""},
    {"a=\xc3\xa9", "invalid label value \"\\xc3\\xa9\""},
    {"a>x", "at offset 0: for 'Gt', 'Lt' operators, the value must be an integer"},
    {"a>", "the value must be an integer"},
    {"a=-", "invalid label value"},
    {"a in (b,-)", "at offset 8: invalid label value \"-\""},
    {"a=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
     "must be no more than 63 characters"},
    {"a='b'", "invalid label value \"'b'\""},
};

START_TEST(parse_error_table)
{
    for (size_t i = 0; i < sizeof parse_bad / sizeof parse_bad[0]; i++) {
        struct ahpa_error err = {0};
        struct ahpa_labelsel *sel = (void *)1;
        int rc = ahpa_labelsel_parse(parse_bad[i].in, &sel, &err);
        ck_assert_msg(rc == -AHPA_EPARSE, "%s: rc %d", parse_bad[i].in, rc);
        ck_assert_ptr_eq(sel, (void *)1);
        ck_assert_msg(strstr(err.msg, parse_bad[i].msg) != NULL,
                      "%s: got \"%s\", want \"%s\"", parse_bad[i].in, err.msg,
                      parse_bad[i].msg);
        ck_assert_ptr_null(strchr(err.msg, '\n'));
    }
}
END_TEST

START_TEST(parse_limits)
{
    size_t n = AHPA_LABELSEL_MAX_INPUT + 10;
    char *big = malloc(n + 1);
    memset(big, 'a', n);
    big[n] = '\0';
    struct ahpa_error err = {0};
    struct ahpa_labelsel *sel = NULL;
    ck_assert_int_eq(ahpa_labelsel_parse(big, &sel, &err), -AHPA_ETOOBIG);
    /* many requirements within the cap parse and stay sorted */
    struct ahpa_buf b;
    ahpa_buf_init(&b);
    for (int i = 999; i >= 0; i--)
        ahpa_buf_printf(&b, "%sk%04d=v", i == 999 ? "" : ",", i);
    ck_assert_int_eq(ahpa_labelsel_parse(b.data, &sel, &err), 0);
    ck_assert_uint_eq(sel->nreqs, 1000);
    ck_assert_str_eq(sel->reqs[0].key, "k0000");
    ck_assert_str_eq(sel->reqs[999].key, "k0999");
    ahpa_labelsel_free(sel);
    ahpa_buf_dispose(&b);
    free(big);
    ck_assert_int_eq(ahpa_labelsel_parse(NULL, &sel, &err), -AHPA_EINVAL);
}
END_TEST

/* "k=v;k2=v2" -> a label set (pointers into a copy). */
struct set_holder {
    char *copy;
    const char *names[16];
    const char *values[16];
    struct ahpa_labelsel_set set;
};

static void set_make(struct set_holder *h, const char *spec)
{
    h->copy = strdup(spec);
    h->set.len = 0;
    char *save = NULL;
    for (char *p = strtok_r(h->copy, ";", &save); p;
         p = strtok_r(NULL, ";", &save)) {
        char *eq = strchr(p, '=');
        *eq = '\0';
        h->names[h->set.len] = p;
        h->values[h->set.len++] = eq + 1;
    }
    h->set.names = h->names;
    h->set.values = h->values;
}

static const struct {
    const char *sel, *labels;
    bool want;
} match_table[] = {
    {"", "", true},
    {"", "a=b", true},
    {"a=b", "a=b", true},
    {"a=b", "a=c", false},
    {"a=b", "", false},
    {"a=b", "x=y;a=b", true},
    {"a!=b", "", true},
    {"a!=b", "a=b", false},
    {"a!=b", "a=c", true},
    {"a in (b,c)", "a=c", true},
    {"a in (b,c)", "a=d", false},
    {"a in (b,c)", "", false},
    {"a notin (b,c)", "", true},
    {"a notin (b,c)", "a=b", false},
    {"a notin (b,c)", "a=d", true},
    {"a", "a=", true},
    {"a", "b=a", false},
    {"!a", "", true},
    {"!a", "a=x", false},
    {"a>5", "a=6", true},
    {"a>5", "a=5", false},
    {"a>5", "a=x", false},
    {"a>5", "", false},
    {"a<5", "a=-3", true},
    {"a<5", "a=5", false},
    {"a=b,c=d", "a=b;c=d", true},
    {"a=b,c=d", "a=b", false},
    {"a=", "a=", true},
    {"a=", "", false},
    {"a in (a.b)", "a=aXb", false},
    {"a in (a.b)", "a=a.b", true},
};

START_TEST(match_table_cases)
{
    for (size_t i = 0; i < sizeof match_table / sizeof match_table[0]; i++) {
        struct ahpa_labelsel *sel = NULL;
        struct ahpa_error err = {0};
        ck_assert_msg(ahpa_labelsel_parse(match_table[i].sel, &sel, &err) == 0,
                      "%s: %s", match_table[i].sel, err.msg);
        struct set_holder h;
        set_make(&h, match_table[i].labels);
        ck_assert_msg(ahpa_labelsel_matches(sel, &h.set) == match_table[i].want,
                      "%s against {%s}", match_table[i].sel,
                      match_table[i].labels);
        free(h.copy);
        ahpa_labelsel_free(sel);
    }
    ck_assert(ahpa_labelsel_matches(NULL, NULL));
}
END_TEST

static const struct {
    const char *sel;
    const char *prefix;
    enum ahpa_labelsel_names names;
    int rc;
    const char *want;
} promql_table[] = {
    {"app=bert,tier!=x,env in (a,b)", NULL, AHPA_LABELSEL_NAMES_STRICT, 0,
     "app=\"bert\",env=~\"a|b\",tier!=\"x\""},
    {"env notin (c,d)", NULL, AHPA_LABELSEL_NAMES_STRICT, 0, "env!~\"c|d\""},
    {"env notin (c)", NULL, AHPA_LABELSEL_NAMES_STRICT, 0, "env!=\"c\""},
    {"a", NULL, AHPA_LABELSEL_NAMES_STRICT, 0, "a!=\"\""},
    {"!a", NULL, AHPA_LABELSEL_NAMES_STRICT, 0, "a=\"\""},
    {"a in (a.b)", NULL, AHPA_LABELSEL_NAMES_STRICT, 0, "a=\"a.b\""},
    {"a in (a.b,c)", NULL, AHPA_LABELSEL_NAMES_STRICT, 0, "a=~\"a\\\\.b|c\""},
    {"a in (,c)", NULL, AHPA_LABELSEL_NAMES_STRICT, 0, "a=~\"|c\""},
    {"", NULL, AHPA_LABELSEL_NAMES_STRICT, 0, ""},
    {"app.kubernetes.io/name=x", NULL, AHPA_LABELSEL_NAMES_STRICT,
     -AHPA_EINVAL, NULL},
    {"app.kubernetes.io/name=x", "label_", AHPA_LABELSEL_NAMES_SANITIZE, 0,
     "label_app_kubernetes_io_name=\"x\""},
    {"appName=x,my-Key=y", "label_", AHPA_LABELSEL_NAMES_KSM, 0,
     "label_app_name=\"x\",label_my_key=\"y\""},
    {"a1B2C=x", "label_", AHPA_LABELSEL_NAMES_KSM, 0, "label_a1_b2_c=\"x\""},
    {"9a=x", NULL, AHPA_LABELSEL_NAMES_SANITIZE, 0, "_9a=\"x\""},
    {"9a=x", NULL, AHPA_LABELSEL_NAMES_STRICT, -AHPA_EINVAL, NULL},
    {"app=x", "label_", AHPA_LABELSEL_NAMES_STRICT, 0, "label_app=\"x\""},
    {"a>1", NULL, AHPA_LABELSEL_NAMES_STRICT, -AHPA_ENOTSUP, NULL},
};

START_TEST(promql_table_cases)
{
    for (size_t i = 0; i < sizeof promql_table / sizeof promql_table[0]; i++) {
        struct ahpa_labelsel *sel = NULL;
        struct ahpa_error err = {0};
        ck_assert_int_eq(ahpa_labelsel_parse(promql_table[i].sel, &sel, &err), 0);
        struct ahpa_labelsel_promql_opts o = {promql_table[i].prefix,
                                              promql_table[i].names};
        struct ahpa_buf b;
        ahpa_buf_init(&b);
        int rc = ahpa_labelsel_render_promql(sel, &o, &b, &err);
        ck_assert_msg(rc == promql_table[i].rc, "%s: rc %d (%s)",
                      promql_table[i].sel, rc, err.msg);
        if (rc == 0)
            ck_assert_str_eq(ahpa_buf_cstr(&b), promql_table[i].want);
        ahpa_buf_dispose(&b);
        ahpa_labelsel_free(sel);
    }
}
END_TEST

/* An independent reader of PromQL double-quoted strings (Go escapes):
 * returns the decoded length, or -1 if the literal is malformed or does
 * not end exactly at the end of `s`. */
static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static long promql_unquote(const char *s, size_t n, char *out)
{
    if (n < 2 || s[0] != '"')
        return -1;
    size_t o = 0;
    for (size_t i = 1; i < n; i++) {
        char c = s[i];
        if (c == '"')
            return i == n - 1 ? (long)o : -1;
        if (c == '\n')
            return -1;
        if (c != '\\') {
            out[o++] = c;
            continue;
        }
        if (++i >= n)
            return -1;
        switch (s[i]) {
        case 'n': out[o++] = '\n'; break;
        case 't': out[o++] = '\t'; break;
        case 'r': out[o++] = '\r'; break;
        case '\\': out[o++] = '\\'; break;
        case '"': out[o++] = '"'; break;
        case 'x':
            if (i + 2 >= n || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0)
                return -1;
            out[o++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
            break;
        default: return -1;
        }
    }
    return -1;
}

static const char *hostile[] = {
    "\"}",
    "a\"} or vector(1) #",
    "back\\slash",
    "new\nline",
    "\\\"",
    "\"}[5m]) or up{a=\"",
    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
    "\xff\xfe bad utf8 \xc0\xaf \xed\xa0\x80",
    "tab\tcr\rdel\x7f\x01",
    "",
};

START_TEST(promql_quote_hostile)
{
    char out[4096];
    for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
        struct ahpa_buf b;
        ahpa_buf_init(&b);
        ahpa_labelsel_promql_quote(&b, hostile[i], strlen(hostile[i]));
        long n = promql_unquote(b.data, b.len, out);
        ck_assert_msg(n == (long)strlen(hostile[i]), "%s -> %s", hostile[i],
                      b.data);
        ck_assert(memcmp(out, hostile[i], (size_t)n) == 0);
        ck_assert_ptr_null(memchr(b.data, '\n', b.len));
        ahpa_buf_dispose(&b);
    }
    struct ahpa_buf b;
    ahpa_buf_init(&b);
    ahpa_labelsel_promql_quote(&b, "a\"}\\\n\xc3\xa9\xff", 8);
    ck_assert_str_eq(b.data, "\"a\\\"}\\\\\\n\xc3\xa9\\xff\"");
    ahpa_buf_dispose(&b);
}
END_TEST

START_TEST(promql_quote_random_roundtrip)
{
    uint64_t x = 88172645463325252ULL;
    char in[200], out[1024];
    for (int round = 0; round < 5000; round++) {
        size_t n = (size_t)(round % 200);
        for (size_t i = 0; i < n; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            in[i] = (char)(x & 0xff);
        }
        struct ahpa_buf b;
        ahpa_buf_init(&b);
        ahpa_labelsel_promql_quote(&b, in, n);
        long m = promql_unquote(b.data, b.len, out);
        ck_assert_int_eq(m, (long)n);
        ck_assert(memcmp(in, out, n) == 0);
        ahpa_buf_dispose(&b);
    }
}
END_TEST

START_TEST(regex_alternatives_quoted)
{
    const char *vals[] = {"a.b", "x|.*", "(c)", "d\\", "[e]{1}^$+?"};
    struct ahpa_buf b;
    ahpa_buf_init(&b);
    ahpa_labelsel_promql_alternatives(&b, vals, 5);
    ck_assert_str_eq(b.data, "\"a\\\\.b|x\\\\|\\\\.\\\\*|\\\\(c\\\\)|d\\\\\\\\|"
                             "\\\\[e\\\\]\\\\{1\\\\}\\\\^\\\\$\\\\+\\\\?\"");
    ahpa_buf_reset(&b);
    ahpa_labelsel_promql_alternatives(&b, vals, 0);
    ck_assert_str_eq(b.data, "\"\"");
    ahpa_buf_reset(&b);
    ahpa_labelsel_regex_escape(&b, "a\"b\n");
    ck_assert_str_eq(b.data, "a\"b\n");
    ahpa_buf_dispose(&b);
    ck_assert(ahpa_labelsel_is_prom_label_name("_a9"));
    ck_assert(!ahpa_labelsel_is_prom_label_name("9a"));
    ck_assert(!ahpa_labelsel_is_prom_label_name("a-b"));
    ck_assert(!ahpa_labelsel_is_prom_label_name(""));
}
END_TEST

static const struct {
    const char *json, *canon, *msg;
} json_table[] = {
    {"{\"matchLabels\":{\"app\":\"bert\"},\"matchExpressions\":["
     "{\"key\":\"env\",\"operator\":\"In\",\"values\":[\"b\",\"a\"]},"
     "{\"key\":\"x\",\"operator\":\"DoesNotExist\"},"
     "{\"key\":\"y\",\"operator\":\"NotIn\",\"values\":[\"c\"]},"
     "{\"key\":\"z\",\"operator\":\"Exists\",\"values\":[]}]}",
     "app=bert,env in (a,b),!x,y notin (c),z", NULL},
    {"null", "", NULL},
    {"{}", "", NULL},
    {"{\"matchLabels\":null,\"matchExpressions\":null,\"other\":1}", "", NULL},
    {"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Gt\",\"values\":[\"1\"]}]}",
     NULL, "matchExpressions[0].operator: not a valid label selector operator"},
    {"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\"}]}", NULL,
     "matchExpressions[0]: for 'in', 'notin' operators, values set can't be empty"},
    {"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Exists\",\"values\":[\"x\"]}]}",
     NULL, "values set must be empty for exists and does not exist"},
    {"{\"matchLabels\":{\"a\":1}}", NULL, "matchLabels: values must be strings"},
    {"{\"matchLabels\":{\"a\":\"b\\\"}\"}}", NULL, "matchLabels: invalid label value"},
    {"{\"matchLabels\":{\"a b\":\"c\"}}", NULL, "matchLabels: invalid label key"},
    {"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\",\"values\":[\"x\\ny\"]}]}",
     NULL, "invalid label value \"x\\x0ay\""},
    {"{\"matchExpressions\":{}}", NULL, "matchExpressions: must be an array"},
    {"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\",\"values\":[1]}]}",
     NULL, "matchExpressions[0].values: must be an array of strings"},
    {"[1]", NULL, "must be an object"},
    {"{\"matchLabels\":", NULL, "label selector JSON at offset"},
    {"{\"matchLabels\":{\"a\":\"b\\u0000c\"}}", NULL, "label selector JSON"},
};

START_TEST(json_table_cases)
{
    for (size_t i = 0; i < sizeof json_table / sizeof json_table[0]; i++) {
        struct ahpa_labelsel *sel = NULL;
        struct ahpa_error err = {0};
        int rc = ahpa_labelsel_parse_json(json_table[i].json,
                                          strlen(json_table[i].json), &sel,
                                          &err);
        if (json_table[i].canon) {
            ck_assert_msg(rc == 0, "%s: %s", json_table[i].json, err.msg);
            struct ahpa_buf b;
            ahpa_buf_init(&b);
            ahpa_labelsel_canonical(sel, &b);
            ck_assert_str_eq(ahpa_buf_cstr(&b), json_table[i].canon);
            ahpa_buf_dispose(&b);
            ahpa_labelsel_free(sel);
        } else {
            ck_assert_int_eq(rc, -AHPA_EPARSE);
            ck_assert_msg(strstr(err.msg, json_table[i].msg) != NULL,
                          "%s: got \"%s\"", json_table[i].json, err.msg);
        }
    }
}
END_TEST

START_TEST(build_programmatically)
{
    struct ahpa_labelsel *sel = ahpa_labelsel_new();
    struct ahpa_error err = {0};
    const char *v[] = {"z", "a", "z", "m"};
    ck_assert_int_eq(ahpa_labelsel_add(sel, "k", AHPA_LABELSEL_IN, v, 4, &err), 0);
    ck_assert_int_eq(ahpa_labelsel_add(sel, "b", AHPA_LABELSEL_EQ, v, 1, &err), 0);
    ck_assert_int_eq(ahpa_labelsel_add(sel, "b", AHPA_LABELSEL_EQ, v, 2, &err),
                     -AHPA_EINVAL);
    ck_assert_str_eq(err.msg, "exact-match compatibility requires one single value");
    const char *bad = "a\"}";
    ck_assert_int_eq(ahpa_labelsel_add(sel, "c", AHPA_LABELSEL_EQ, &bad, 1, NULL),
                     -AHPA_EINVAL);
    ck_assert_uint_eq(sel->nreqs, 2);
    ck_assert_uint_eq(sel->reqs[1].nvalues, 3);
    struct ahpa_buf b;
    ahpa_buf_init(&b);
    ahpa_labelsel_canonical(sel, &b);
    ck_assert_str_eq(b.data, "b=z,k in (a,m,z)");
    ck_assert(!ahpa_labelsel_is_empty(sel));
    ahpa_buf_dispose(&b);
    ahpa_labelsel_free(sel);
    ahpa_labelsel_free(NULL);
    ck_assert(ahpa_labelsel_is_empty(NULL));
}
END_TEST

Suite *ahpa_unit_suite(void)
{
    Suite *s = suite_create("labelsel");
    TCase *tc = tcase_create("labelsel");
    tcase_add_test(tc, parse_valid_table);
    tcase_add_test(tc, parse_error_table);
    tcase_add_test(tc, parse_limits);
    tcase_add_test(tc, match_table_cases);
    tcase_add_test(tc, promql_table_cases);
    tcase_add_test(tc, promql_quote_hostile);
    tcase_add_test(tc, promql_quote_random_roundtrip);
    tcase_add_test(tc, regex_alternatives_quoted);
    tcase_add_test(tc, json_table_cases);
    tcase_add_test(tc, build_programmatically);
    suite_add_tcase(s, tc);
    return s;
}
