/* The generic flag parser. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/buf.h"
#include "ahpa/config.h"
#include "ahpa/error.h"
#include "ahpa/mem.h"
#include "ahpa/str.h"

static void *field(void *target, const struct ahpa_flag *f)
{
    return (char *)target + f->offset;
}

static void list_add(struct ahpa_strlist *l, const char *value)
{
    /* Comma-separated items; empty items are dropped. */
    const char *p = value;
    while (*p != '\0') {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len > 0) {
            l->items = ahpa_reallocarray(l->items, l->n + 1, sizeof(char *));
            l->items[l->n++] = ahpa_strndup(p, len);
        }
        if (comma == NULL)
            break;
        p = comma + 1;
    }
}

static void list_clear(struct ahpa_strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

static int check_bounds(const struct ahpa_flag *f, int64_t v, struct ahpa_error *err)
{
    if (f->min <= f->max && (v < f->min || v > f->max))
        return ahpa_error_set(err, AHPA_ERANGE, "--%s: %" PRId64 " is outside %" PRId64
                              "..%" PRId64, f->name, v, f->min, f->max);
    return 0;
}

/* Applies one value; `replace_list` clears a list's defaults on first use. */
static int apply(const struct ahpa_flag *f, void *target, const char *value,
                 bool replace_list, struct ahpa_error *err)
{
    struct ahpa_error inner = {0};
    int rc = 0;
    void *dst = field(target, f);
    switch (f->type) {
    case AHPA_FLAG_STRING:
        free(*(char **)dst);
        *(char **)dst = *value ? ahpa_strdup(value) : NULL;
        return 0;
    case AHPA_FLAG_INT:
        rc = ahpa_str_to_int64(value, dst, &inner);
        if (rc == 0)
            rc = check_bounds(f, *(int64_t *)dst, err);
        break;
    case AHPA_FLAG_DOUBLE:
        rc = ahpa_str_to_double(value, dst, &inner);
        break;
    case AHPA_FLAG_BOOL:
        rc = ahpa_str_to_bool(value, dst, &inner);
        break;
    case AHPA_FLAG_DURATION:
        rc = ahpa_str_to_duration_ms(value, dst, &inner);
        if (rc == 0)
            rc = check_bounds(f, *(int64_t *)dst, err);
        break;
    case AHPA_FLAG_STRING_LIST:
        if (replace_list)
            list_clear(dst);
        list_add(dst, value);
        return 0;
    }
    if (rc < 0 && inner.code != 0)
        return ahpa_error_set(err, inner.code, "--%s: %s", f->name, inner.msg);
    return rc;
}

static const struct ahpa_flag *lookup(const struct ahpa_flag *table, size_t n, const char *name,
                                      size_t len)
{
    for (size_t i = 0; i < n; i++) {
        if (strlen(table[i].name) == len && strncmp(table[i].name, name, len) == 0)
            return &table[i];
    }
    return NULL;
}

static int set_defaults(const struct ahpa_flag *table, size_t n, void *target,
                        struct ahpa_error *err)
{
    for (size_t i = 0; i < n; i++) {
        if (table[i].def != NULL) {
            int rc = apply(&table[i], target, table[i].def, false, err);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

int ahpa_flags_parse(const struct ahpa_flag *table, size_t n, void *target, int argc,
                     char **argv, struct ahpa_error *err)
{
    int rc = set_defaults(table, n, target, err);
    if (rc < 0)
        return rc;
    bool *seen = ahpa_calloc(n, sizeof(bool));
    for (int i = 1; i < argc && rc == 0; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            rc = ahpa_error_set(err, AHPA_ENOTFOUND, "help");
            break;
        }
        const char *name = arg[0] == '-' && arg[1] == '-' ? arg + 2 : arg[0] == '-' ? arg + 1 : NULL;
        if (name == NULL || *name == '\0') {
            rc = ahpa_error_set(err, AHPA_EINVAL, "unexpected argument \"%.64s\"", arg);
            break;
        }
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const struct ahpa_flag *f = lookup(table, n, name, len);
        if (f == NULL) {
            rc = ahpa_error_set(err, AHPA_EINVAL, "unknown flag: --%.*s", (int)(len > 64 ? 64 : len),
                                name);
            break;
        }
        const char *value = eq ? eq + 1 : NULL;
        if (value == NULL && f->type == AHPA_FLAG_BOOL)
            value = "true";
        if (value == NULL) {
            if (i + 1 >= argc) {
                rc = ahpa_error_set(err, AHPA_EINVAL, "flag needs an argument: --%s", f->name);
                break;
            }
            value = argv[++i];
        }
        size_t idx = (size_t)(f - table);
        rc = apply(f, target, value, !seen[idx], err);
        seen[idx] = true;
    }
    free(seen);
    return rc;
}

void ahpa_flags_dispose(const struct ahpa_flag *table, size_t n, void *target)
{
    for (size_t i = 0; i < n; i++) {
        void *dst = field(target, &table[i]);
        if (table[i].type == AHPA_FLAG_STRING) {
            free(*(char **)dst);
            *(char **)dst = NULL;
        } else if (table[i].type == AHPA_FLAG_STRING_LIST) {
            list_clear(dst);
        }
    }
}

static const char *type_name(enum ahpa_flag_type t)
{
    static const char *const names[] = {"string", "int", "float", "", "duration", "strings"};
    return names[t];
}

void ahpa_flags_usage(const struct ahpa_flag *table, size_t n, FILE *out)
{
    for (size_t i = 0; i < n; i++) {
        const struct ahpa_flag *f = &table[i];
        char head[96];
        snprintf(head, sizeof(head), "--%s %s", f->name, type_name(f->type));
        fprintf(out, "      %-36s %s", head, f->help);
        if (f->def != NULL && *f->def != '\0')
            fprintf(out, " (default %s)", f->def);
        fputc('\n', out);
    }
}

int ahpa_config_read_file(const char *path, size_t max_bytes, struct ahpa_buf *out,
                          struct ahpa_error *err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return ahpa_error_set(err, AHPA_ENOTFOUND, "%s: %s", path, strerror(errno));
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && out->len <= max_bytes)
        ahpa_buf_append(out, chunk, n);
    bool failed = ferror(f);
    fclose(f);
    if (failed || out->len > max_bytes) {
        ahpa_buf_reset(out);
        return ahpa_error_set(err, failed ? AHPA_EIO : AHPA_ETOOBIG, "%s: %s", path,
                              failed ? "read error" : "file too large");
    }
    return 0;
}
