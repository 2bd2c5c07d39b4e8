/* The lib/tls suite and the helpers its test files share. */
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tls_test.h"
#include "unit.h"

char *tls_test_mkdtemp(void)
{
    char *dir = strdup("/tmp/ahpa-tls-test-XXXXXX");
    ck_assert_ptr_nonnull(dir);
    ck_assert_ptr_nonnull(mkdtemp(dir));
    return dir;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

void tls_test_rmdir(char *dir)
{
    if (dir)
        ck_assert_int_eq(nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
    free(dir);
}

char *tls_test_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    ck_assert_ptr_nonnull(p);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

void tls_test_overwrite(const char *path, const char *s)
{
    FILE *f = fopen(path, "w");
    ck_assert_msg(f != NULL, "open %s", path);
    ck_assert_uint_eq(fwrite(s, 1, strlen(s), f), strlen(s));
    ck_assert_int_eq(fclose(f), 0);
}

void tls_test_write(const char *path, const char *s)
{
    size_t n = strlen(path) + 8;
    char *tmp = malloc(n);
    ck_assert_ptr_nonnull(tmp);
    snprintf(tmp, n, "%s.new", path);
    tls_test_overwrite(tmp, s);
    ck_assert_int_eq(rename(tmp, path), 0);
    free(tmp);
}

char *tls_test_read(const char *path)
{
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "open %s", path);
    char *buf = calloc(1, 4 * 1024 * 1024);
    ck_assert_ptr_nonnull(buf);
    size_t n = fread(buf, 1, 4 * 1024 * 1024 - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

Suite *ahpa_unit_suite(void)
{
    Suite *s = suite_create("tls");
    suite_add_tcase(s, tls_test_gen_case());
    suite_add_tcase(s, tls_test_verify_case());
    suite_add_tcase(s, tls_test_files_case());
    suite_add_tcase(s, tls_test_watch_case());
    suite_add_tcase(s, tls_test_gnutls_case());
    return s;
}
