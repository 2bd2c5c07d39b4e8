/* Kubernetes label selectors: parsing, matching, PromQL rendering.
 *
 * Two inputs: the string syntax of `kubectl -l` and of the `labelSelector`
 * query parameter (apimachinery labels.Parse), and the LabelSelector JSON
 * object (`matchLabels`, `matchExpressions`). Both produce the same
 * selector: a list of requirements, all of which must hold (AND).
 *
 * Pure module: no I/O, no global state; a parsed selector is immutable and
 * may be shared between threads for reading. */
#ifndef AHPA_LABELSEL_H
#define AHPA_LABELSEL_H

#include <stdbool.h>
#include <stddef.h>

struct ahpa_buf;
struct ahpa_error;
struct json_t;

/* Longest selector string accepted (bytes); longer input fails with
 * -AHPA_ETOOBIG before any parsing. */
#define AHPA_LABELSEL_MAX_INPUT 65536
/* Kubernetes limits: label value and key name part, key prefix. */
#define AHPA_LABELSEL_MAX_VALUE 63
#define AHPA_LABELSEL_MAX_PREFIX 253

enum ahpa_labelsel_op {
    AHPA_LABELSEL_EQ,         /* k=v, k==v: present and equal */
    AHPA_LABELSEL_NE,         /* k!=v: absent, or present and different */
    AHPA_LABELSEL_IN,         /* k in (a,b): present, value in the set */
    AHPA_LABELSEL_NOTIN,      /* k notin (a,b): absent, or value not in set */
    AHPA_LABELSEL_EXISTS,     /* k: present */
    AHPA_LABELSEL_NOT_EXISTS, /* !k: absent */
    AHPA_LABELSEL_GT,         /* k>n: present, value an integer > n */
    AHPA_LABELSEL_LT,         /* k<n: present, value an integer < n */
};

/* One requirement. Read-only for callers. */
struct ahpa_labelsel_req {
    char *key;                /* valid Kubernetes qualified name */
    enum ahpa_labelsel_op op;
    char **values;            /* sorted ascending (strcmp), no duplicates */
    size_t nvalues;           /* 0 for EXISTS/NOT_EXISTS, 1 for EQ NE GT LT */
};

/* A selector: requirements sorted by key (stable), all must hold. The
 * empty selector (nreqs == 0) matches everything. Read-only for callers;
 * released with ahpa_labelsel_free(). */
struct ahpa_labelsel {
    struct ahpa_labelsel_req *reqs;
    size_t nreqs;
};

/* A set of labels to match against: parallel arrays, borrowed. Names are
 * expected unique; with duplicates the first wins. */
struct ahpa_labelsel_set {
    const char *const *names;
    const char *const *values;
    size_t len;
};

/* --- construction ------------------------------------------------------ */

/* Parses the string syntax (`a=b,c!=d,e in (f,g),!h,i,j>3`). Empty or
 * blank input gives the empty selector. On error returns -AHPA_EPARSE (or
 * -AHPA_ETOOBIG) and a message naming the byte offset and the reason,
 * e.g. `at offset 4: found ')', expected: identifier`. *out is set only on
 * success; caller frees with ahpa_labelsel_free(). */
int ahpa_labelsel_parse(const char *s, struct ahpa_labelsel **out,
                        struct ahpa_error *err);

/* Converts a LabelSelector object (borrowed). JSON null gives the empty
 * selector (no restriction). matchLabels become EQ; matchExpressions
 * operators In, NotIn, Exists, DoesNotExist. Keys and values are validated
 * like the string syntax. -AHPA_EPARSE on anything else. */
int ahpa_labelsel_from_json(const struct json_t *j, struct ahpa_labelsel **out,
                            struct ahpa_error *err);
/* Same, from JSON text of `len` bytes (need not be NUL-terminated). */
int ahpa_labelsel_parse_json(const char *text, size_t len,
                             struct ahpa_labelsel **out,
                             struct ahpa_error *err);

/* An empty selector; caller frees with ahpa_labelsel_free(). */
struct ahpa_labelsel *ahpa_labelsel_new(void);

/* Adds a requirement after validating key, operator arity and values as
 * the parser does (values are copied; order and duplicates don't matter).
 * Keeps the requirements sorted by key. -AHPA_EINVAL on invalid input. */
int ahpa_labelsel_add(struct ahpa_labelsel *sel, const char *key,
                      enum ahpa_labelsel_op op, const char *const *values,
                      size_t nvalues, struct ahpa_error *err);

void ahpa_labelsel_free(struct ahpa_labelsel *sel);

/* --- use --------------------------------------------------------------- */

bool ahpa_labelsel_is_empty(const struct ahpa_labelsel *sel);

/* Kubernetes semantics (see enum). NULL `sel` matches everything. */
bool ahpa_labelsel_matches(const struct ahpa_labelsel *sel,
                           const struct ahpa_labelsel_set *labels);

/* Appends the canonical string form to `out`: requirements in key order,
 * values sorted, `==` written `=`, set operators spaced as Kubernetes does:
 * `a=b,c in (d,e),!f`. Equal selectors give equal strings (cache keys);
 * the result parses back to the same selector. */
void ahpa_labelsel_canonical(const struct ahpa_labelsel *sel,
                             struct ahpa_buf *out);

/* --- PromQL ------------------------------------------------------------ */

enum ahpa_labelsel_names {
    /* Keys must already be valid Prometheus label names
     * ([a-zA-Z_][a-zA-Z0-9_]*, after the prefix), else -AHPA_EINVAL. */
    AHPA_LABELSEL_NAMES_STRICT,
    /* Every byte outside [a-zA-Z0-9_] becomes '_'; a leading digit gets a
     * '_' in front when there is no prefix. */
    AHPA_LABELSEL_NAMES_SANITIZE,
    /* kube-state-metrics v2 (kube_pod_labels): SANITIZE, then snake case
     * (`_` between a lower-case letter or digit and an upper-case letter)
     * and lower case. With prefix "label_", `app.kubernetes.io/name`
     * becomes `label_app_kubernetes_io_name`. */
    AHPA_LABELSEL_NAMES_KSM,
};

struct ahpa_labelsel_promql_opts {
    const char *name_prefix;          /* prepended to every key; NULL = "" */
    enum ahpa_labelsel_names names;
};

/* Appends the selector as comma-separated PromQL label matchers, without
 * braces, to `out`: EQ `k="v"`, NE `k!="v"`, IN one value `k="v"`, several
 * `k=~"a|b"`, NOTIN `k!="v"` / `k!~"a|b"`, EXISTS `k!=""`, NOT_EXISTS
 * `k=""`. Values are escaped for PromQL strings and, inside regexes,
 * regex-quoted, so `in (a.b)` matches only "a.b" and no value can leave its
 * string. GT and LT have no PromQL matcher: -AHPA_ENOTSUP. `opts` may be
 * NULL (STRICT, no prefix). On error `out` may hold a partial result. */
int ahpa_labelsel_render_promql(const struct ahpa_labelsel *sel,
                                const struct ahpa_labelsel_promql_opts *opts,
                                struct ahpa_buf *out, struct ahpa_error *err);

/* Appends `s` (n bytes) as a PromQL double-quoted string literal: `"`, `\`
 * and control bytes escaped, invalid UTF-8 bytes written as \xNN. */
void ahpa_labelsel_promql_quote(struct ahpa_buf *out, const char *s, size_t n);

/* Appends `s` with every RE2 metacharacter (\.+*?()|[]{}^$) backslashed,
 * unquoted (callers then quote the whole regex with promql_quote). */
void ahpa_labelsel_regex_escape(struct ahpa_buf *out, const char *s);

/* Appends a PromQL string literal holding the regex that matches exactly
 * the n given values: `"a|b\\.c"`. n == 0 gives `""`. */
void ahpa_labelsel_promql_alternatives(struct ahpa_buf *out,
                                       const char *const *values, size_t n);

/* [a-zA-Z_][a-zA-Z0-9_]* */
bool ahpa_labelsel_is_prom_label_name(const char *s);

/* Validation of Kubernetes label keys (optional DNS-subdomain prefix and
 * '/', then a name of 1..63 of [A-Za-z0-9-_.] starting and ending
 * alphanumeric) and values (empty or like a key name). On failure the
 * message says why. */
int ahpa_labelsel_validate_key(const char *key, struct ahpa_error *err);
int ahpa_labelsel_validate_value(const char *value, struct ahpa_error *err);

#endif
