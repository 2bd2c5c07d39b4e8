/* Internals shared by the files of lib/rules. */
#ifndef AHPA_RULES_INT_H
#define AHPA_RULES_INT_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

#include "ahpa/rules.h"

struct ahpa_buf;
struct ahpa_error;

/* --- regular expressions (rules_regex.c) ------------------------------- */

/* A compiled RE2-style pattern on POSIX regex. Group numbers as the user
 * wrote them (non-capturing groups removed) map to POSIX group numbers. */
struct ahpa_rules__regex {
    regex_t re;
    bool compiled;
    size_t ngroups;  /* user-visible capture groups */
    size_t nposix;   /* POSIX groups (re_nsub) */
    size_t *map;     /* [0..ngroups]: user group -> POSIX group */
    char **names;    /* [0..ngroups]: group names or NULL */
};

/* Translates and compiles `pattern`. *lazy_dropped tells whether a
 * non-greedy quantifier was made greedy. -AHPA_ECONFIG with the reason. */
int ahpa_rules__regex_compile(struct ahpa_rules__regex *rx, const char *pattern,
                              bool *lazy_dropped, struct ahpa_error *err);
void ahpa_rules__regex_dispose(struct ahpa_rules__regex *rx);
/* Unanchored search, like Go's MatchString. */
bool ahpa_rules__regex_search(const struct ahpa_rules__regex *rx,
                              const char *s);
/* Go's Regexp.ExpandString over the first match of rx in s: `$1`, `${1}`,
 * `$name`, `$$`. Returns false (nothing appended) when rx does not match. */
bool ahpa_rules__regex_expand(const struct ahpa_rules__regex *rx,
                              const char *tmpl, const char *s,
                              struct ahpa_buf *out);

/* --- templates (rules_tmpl.c) ------------------------------------------ */

enum ahpa_rules__field {
    AHPA_RULES__F_SERIES,
    AHPA_RULES__F_LABEL_MATCHERS,
    AHPA_RULES__F_GROUP_BY,
    AHPA_RULES__F_GROUP_BY_SLICE,
    AHPA_RULES__F_VALUES_BY_NAME,
    AHPA_RULES__F_GROUP,
    AHPA_RULES__F_RESOURCE,
};

enum ahpa_rules__node_kind {
    AHPA_RULES__N_TEXT,
    AHPA_RULES__N_FIELD,  /* <<.F>> */
    AHPA_RULES__N_INDEX,  /* <<index .F "key">> or <<index .F 0>> */
    AHPA_RULES__N_JOIN,   /* <<join .F "sep">> */
};

struct ahpa_rules__node {
    enum ahpa_rules__node_kind kind;
    enum ahpa_rules__field field;
    char *text;      /* TEXT: the text; INDEX: key; JOIN: separator */
    long index;      /* INDEX with an integer argument, else -1 */
};

struct ahpa_rules__tmpl {
    struct ahpa_rules__node *nodes;
    size_t n;
};

/* Which fields a template may use: one bit per enum ahpa_rules__field. */
#define AHPA_RULES__QUERY_FIELDS 0x1fu
#define AHPA_RULES__RESOURCE_FIELDS 0x60u

int ahpa_rules__tmpl_parse(struct ahpa_rules__tmpl *t, const char *src,
                           unsigned allowed_fields, struct ahpa_error *err);
void ahpa_rules__tmpl_dispose(struct ahpa_rules__tmpl *t);
bool ahpa_rules__tmpl_uses(const struct ahpa_rules__tmpl *t,
                           enum ahpa_rules__field f);

struct ahpa_rules__kv {
    char *key;
    char *value;
};

/* The data a template runs against. */
struct ahpa_rules__args {
    const char *series;
    const char *label_matchers;
    const char *group_by;
    const char *const *group_by_slice;
    size_t ngroup_by;
    const struct ahpa_rules__kv *values; /* sorted by key */
    size_t nvalues;
    const char *group;
    const char *resource;
};

int ahpa_rules__tmpl_exec(const struct ahpa_rules__tmpl *t,
                          const struct ahpa_rules__args *a,
                          struct ahpa_buf *out, struct ahpa_error *err);

/* --- rules ------------------------------------------------------------- */

struct ahpa_rules__filter {
    struct ahpa_rules__regex re;
    bool positive;  /* is (true) or isNot (false) */
};

struct ahpa_rules__override {
    char *label;
    char *group;
    char *resource;  /* normalized plural */
};

struct ahpa_rules_rule {
    enum ahpa_rules_kind kind;
    size_t index;
    char *series_query;
    struct ahpa_rules__filter *filters;
    size_t nfilters;
    bool has_name_re;
    struct ahpa_rules__regex name_re;
    char *name_as;
    struct ahpa_rules__override *overrides;
    size_t noverrides;
    bool has_res_tmpl;
    struct ahpa_rules__tmpl res_tmpl;
    bool namespaced;
    char *metrics_query_src;
    struct ahpa_rules__tmpl metrics_query;
};

struct ahpa_rules_config {
    struct ahpa_rules_rule *rules[2];  /* by enum ahpa_rules_kind */
    size_t nrules[2];
    char **warnings;
    size_t nwarnings;
};

void ahpa_rules__rule_dispose(struct ahpa_rules_rule *r);
void ahpa_rules__warn(struct ahpa_rules_config *cfg, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Singular form of a plural resource for label templates ("pods" ->
 * "pod"), known table first, then English rules. Caller frees. */
char *ahpa_rules__singular(const char *plural);
/* Like ahpa_rules_normalize_resource, but resources outside the table
 * are taken as written (lower case, English plural guessed). */
void ahpa_rules__normalize_override(const char *group, const char *resource,
                                    char **group_out, char **plural);
/* Group as a label part: '.' and '-' become '_'. Caller frees. */
char *ahpa_rules__sanitize_group(const char *group);

#endif
