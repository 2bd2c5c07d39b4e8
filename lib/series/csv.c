/* CSV text of (timestamp, value) rows. */
#include <math.h>
#include <string.h>

#include "ahpa/error.h"
#include "ahpa/series.h"
#include "ahpa/str.h"
#include "ahpa/timefmt.h"

struct csv_field {
    const char *p;
    size_t len;
};

/* Trims blanks and one pair of surrounding double quotes. */
static struct csv_field trim_field(const char *p, size_t len)
{
    while (len && (*p == ' ' || *p == '\t')) {
        p++;
        len--;
    }
    while (len && (p[len - 1] == ' ' || p[len - 1] == '\t' || p[len - 1] == '\r'))
        len--;
    if (len >= 2 && p[0] == '"' && p[len - 1] == '"') {
        p++;
        len -= 2;
    }
    return (struct csv_field){p, len};
}

/* Finds field `col` of a line; returns false when the line is too short. */
static bool get_field(const char *line, size_t len, size_t col,
                      struct csv_field *out)
{
    size_t start = 0, idx = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || line[i] == ',') {
            if (idx == col) {
                *out = trim_field(line + start, i - start);
                return true;
            }
            idx++;
            start = i + 1;
        }
    }
    return false;
}

static void field_str(struct csv_field f, char buf[AHPA_SERIES_CSV_MAX_LINE + 1])
{
    memcpy(buf, f.p, f.len);
    buf[f.len] = '\0';
}

static int parse_value(struct csv_field f, double *out)
{
    char buf[AHPA_SERIES_CSV_MAX_LINE + 1];
    field_str(f, buf);
    if (f.len == 0 || ahpa_str_ieq(buf, "nan") || ahpa_str_ieq(buf, "null")) {
        *out = NAN;
        return 0;
    }
    if (ahpa_str_to_double(buf, out, NULL) != 0 || !isfinite(*out))
        return -1;
    return 0;
}

struct csv_state {
    const struct ahpa_series_csv_options *opt;
    struct ahpa_series_samples *out;
    size_t line_no;
    size_t rows;
    size_t max_rows;
    bool have_prev;
    bool seen_line;
    int64_t prev_t;
};

static int parse_line(struct csv_state *st, const char *line, size_t len,
                      struct ahpa_error *err)
{
    struct csv_field tf, vf;
    char buf[AHPA_SERIES_CSV_MAX_LINE + 1];
    if (!get_field(line, len, st->opt->time_col, &tf) ||
        !get_field(line, len, st->opt->value_col, &vf))
        return ahpa_error_set(err, AHPA_EPARSE, "line %zu: expected at least %zu columns",
                              st->line_no,
                              (st->opt->time_col > st->opt->value_col ? st->opt->time_col
                                                                      : st->opt->value_col) + 1);
    field_str(tf, buf);
    int64_t t;
    bool first = !st->seen_line;
    st->seen_line = true;
    if (ahpa_time_parse(buf, &t, NULL) != 0) {
        if (first)
            return 1; /* header */
        return ahpa_error_set(err, AHPA_EPARSE, "line %zu: bad timestamp \"%.64s\"",
                              st->line_no, buf);
    }
    double v;
    if (parse_value(vf, &v) != 0) {
        field_str(vf, buf);
        return ahpa_error_set(err, AHPA_EPARSE, "line %zu: bad value \"%.64s\"",
                              st->line_no, buf);
    }
    if (st->opt->require_sorted && st->have_prev && t <= st->prev_t)
        return ahpa_error_set(err, AHPA_EPARSE, "line %zu: timestamp %lld %s the previous row's",
                              st->line_no, (long long)t,
                              t == st->prev_t ? "duplicates" : "is before");
    if (st->rows >= st->max_rows)
        return ahpa_error_set(err, AHPA_ETOOBIG, "line %zu: more than %zu rows",
                              st->line_no, st->max_rows);
    ahpa_series_samples_push(st->out, t, v);
    st->rows++;
    st->have_prev = true;
    st->prev_t = t;
    return 0;
}

static bool is_blank(const char *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
            return false;
    return true;
}

int ahpa_series_csv_parse(const char *text, size_t len,
                          const struct ahpa_series_csv_options *opt,
                          struct ahpa_series_samples *out,
                          struct ahpa_error *err)
{
    static const struct ahpa_series_csv_options defaults = {0, 1, 0, true};
    struct csv_state st = {.opt = opt ? opt : &defaults, .out = out};
    st.max_rows = st.opt->max_rows ? st.opt->max_rows : AHPA_SERIES_CSV_MAX_ROWS;
    size_t pos = 0;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        const char *line = text + pos;
        size_t llen = end - pos;
        st.line_no++;
        pos = end + 1;
        if (llen > AHPA_SERIES_CSV_MAX_LINE)
            return ahpa_error_set(err, AHPA_ETOOBIG, "line %zu: longer than %u bytes",
                                  st.line_no, AHPA_SERIES_CSV_MAX_LINE);
        if (memchr(line, '\0', llen))
            return ahpa_error_set(err, AHPA_EPARSE, "line %zu: NUL byte", st.line_no);
        if (is_blank(line, llen) || line[0] == '#')
            continue;
        int rc = parse_line(&st, line, llen, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}
