/* Reload detection on the certificate and key files. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ahpa/error.h"
#include "ahpa/tls.h"
#include "tls_test.h"
#include "unit.h"

static char *tmp;
static char *cert_path;
static char *key_path;
static struct ahpa_tls_issuer *ca;

static void setup(void)
{
    tmp = tls_test_mkdtemp();
    cert_path = tls_test_path(tmp, "tls.crt");
    key_path = tls_test_path(tmp, "tls.key");
    ck_assert_int_eq(ahpa_tls_issuer_generate(NULL, &ca, NULL), 0);
}

static void teardown(void)
{
    ahpa_tls_issuer_free(ca);
    free(cert_path);
    free(key_path);
    tls_test_rmdir(tmp);
}

/* A fresh leaf; returns its serial (caller frees). */
static char *new_pair(struct ahpa_tls_pem_pair *p)
{
    ck_assert_int_eq(ahpa_tls_generate_serving(ca, NULL, 0, NULL, p, NULL), 0);
    struct ahpa_tls_keypair *kp = NULL;
    ck_assert_int_eq(ahpa_tls_keypair_from_pem(p->cert_pem, strlen(p->cert_pem), p->key_pem,
                                               strlen(p->key_pem), &kp, NULL),
                     0);
    char *s = strdup(ahpa_tls_keypair_serial_hex(kp));
    ahpa_tls_keypair_free(kp);
    return s;
}

static void install(const struct ahpa_tls_pem_pair *p)
{
    tls_test_write(key_path, p->key_pem);
    tls_test_write(cert_path, p->cert_pem);
}

/* Polls once; on 1 checks the serial, frees the pair. */
static int poll_serial(struct ahpa_tls_watch *w, const char *want, struct ahpa_error *err)
{
    struct ahpa_tls_keypair *kp = (struct ahpa_tls_keypair *)1;
    int rc = ahpa_tls_watch_poll(w, &kp, err);
    if (rc == 1) {
        ck_assert_str_eq(ahpa_tls_keypair_serial_hex(kp), want);
        ahpa_tls_keypair_free(kp);
    } else {
        ck_assert_ptr_null(kp);
    }
    return rc;
}

START_TEST(unchanged_touched_and_replaced)
{
    struct ahpa_tls_pem_pair a = {0}, b = {0};
    char *sa = new_pair(&a), *sb = new_pair(&b);
    install(&a);
    struct ahpa_tls_watch *w = NULL;
    struct ahpa_tls_keypair *first = NULL;
    ck_assert_int_eq(ahpa_tls_watch_new(cert_path, key_path, &w, &first, NULL), 0);
    ck_assert_str_eq(ahpa_tls_keypair_serial_hex(first), sa);
    ahpa_tls_keypair_free(first);

    ck_assert_int_eq(poll_serial(w, NULL, NULL), 0);
    /* Same bytes under a new inode and mtime: hashed, found unchanged. */
    install(&a);
    ck_assert_int_eq(poll_serial(w, NULL, NULL), 0);
    install(&b);
    ck_assert_int_eq(poll_serial(w, sb, NULL), 1);
    ck_assert_int_eq(poll_serial(w, NULL, NULL), 0);
    /* In-place rewrite (same inode) of both files; the pause lets the
     * coarse file-system clock move on, so the mtime differs. */
    usleep(20000);
    tls_test_overwrite(key_path, a.key_pem);
    tls_test_overwrite(cert_path, a.cert_pem);
    ck_assert_int_eq(poll_serial(w, sa, NULL), 1);
    ahpa_tls_watch_free(w);
    ahpa_tls_pem_pair_dispose(&a);
    ahpa_tls_pem_pair_dispose(&b);
    free(sa);
    free(sb);
}
END_TEST

START_TEST(cert_before_key_is_retried)
{
    struct ahpa_tls_pem_pair a = {0}, b = {0};
    char *sa = new_pair(&a), *sb = new_pair(&b);
    install(&a);
    struct ahpa_tls_watch *w = NULL;
    ck_assert_int_eq(ahpa_tls_watch_new(cert_path, key_path, &w, NULL, NULL), 0);
    tls_test_write(cert_path, b.cert_pem);
    struct ahpa_error err = {0};
    ck_assert_int_eq(poll_serial(w, NULL, &err), -AHPA_EINVAL);
    ck_assert_msg(strstr(err.msg, "does not match") && strstr(err.msg, key_path), "%s", err.msg);
    /* Nothing changed since: the same answer, from the stat alone. */
    struct ahpa_error err2 = {0};
    ck_assert_int_eq(poll_serial(w, NULL, &err2), -AHPA_EINVAL);
    ck_assert_str_eq(err2.msg, err.msg);
    tls_test_write(key_path, b.key_pem);
    ck_assert_int_eq(poll_serial(w, sb, NULL), 1);
    /* Back to the old cert: mismatch again, then the old key: reload. */
    tls_test_write(cert_path, a.cert_pem);
    ck_assert_int_eq(poll_serial(w, NULL, NULL), -AHPA_EINVAL);
    tls_test_write(key_path, a.key_pem);
    ck_assert_int_eq(poll_serial(w, sa, NULL), 1);
    ahpa_tls_watch_free(w);
    ahpa_tls_pem_pair_dispose(&a);
    ahpa_tls_pem_pair_dispose(&b);
    free(sa);
    free(sb);
}
END_TEST

START_TEST(corrupt_and_missing_files)
{
    struct ahpa_tls_pem_pair a = {0};
    char *sa = new_pair(&a);
    install(&a);
    struct ahpa_tls_watch *w = NULL;
    ck_assert_int_eq(ahpa_tls_watch_new(cert_path, key_path, &w, NULL, NULL), 0);
    struct ahpa_error err = {0};
    tls_test_write(cert_path, "-----BEGIN CERTIFICATE-----\nnot base64!\n"
                              "-----END CERTIFICATE-----\n");
    ck_assert_int_eq(poll_serial(w, NULL, &err), -AHPA_EPARSE);
    ck_assert_msg(strstr(err.msg, cert_path) != NULL, "%s", err.msg);
    /* Restoring the accepted bytes is "unchanged", not a reload. */
    install(&a);
    ck_assert_int_eq(poll_serial(w, NULL, NULL), 0);
    ck_assert_int_eq(unlink(key_path), 0);
    ahpa_error_clear(&err);
    ck_assert_int_eq(poll_serial(w, NULL, &err), -AHPA_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(err.msg, "key file"));
    tls_test_write(key_path, a.key_pem);
    ck_assert_int_eq(poll_serial(w, NULL, NULL), 0);
    ahpa_tls_watch_free(w);

    ck_assert_int_eq(ahpa_tls_watch_new("/nonexistent/c", key_path, &w, NULL, &err),
                     -AHPA_ENOTFOUND);
    ck_assert_ptr_null(w);
    ck_assert_int_eq(ahpa_tls_watch_new(cert_path, tmp, &w, NULL, NULL), -AHPA_EIO);
    ck_assert_int_eq(ahpa_tls_watch_new(NULL, key_path, &w, NULL, NULL), -AHPA_EINVAL);
    ahpa_tls_pem_pair_dispose(&a);
    free(sa);
}
END_TEST

/* The cost model: while (dev, inode, size, mtime) stay, the contents are
 * not read. Changed bytes with the stat restored go unseen, which proves it
 * (and is why writers should replace files, as Kubernetes volumes do). */
START_TEST(stat_only_while_unchanged)
{
    struct ahpa_tls_pem_pair a = {0};
    char *sa = new_pair(&a);
    install(&a);
    struct ahpa_tls_watch *w = NULL;
    ck_assert_int_eq(ahpa_tls_watch_new(cert_path, key_path, &w, NULL, NULL), 0);
    struct stat st;
    ck_assert_int_eq(stat(cert_path, &st), 0);
    char *junk = strdup(a.cert_pem);
    junk[40] = junk[40] == 'A' ? 'B' : 'A';
    tls_test_overwrite(cert_path, junk);
    struct timespec ts[2] = {st.st_atim, st.st_mtim};
    ck_assert_int_eq(utimensat(AT_FDCWD, cert_path, ts, 0), 0);
    ck_assert_int_eq(poll_serial(w, NULL, NULL), 0);
    /* Any stat change makes it look. */
    ts[1].tv_nsec = (ts[1].tv_nsec + 1) % 1000000000;
    ck_assert_int_eq(utimensat(AT_FDCWD, cert_path, ts, 0), 0);
    ck_assert_int_lt(poll_serial(w, NULL, NULL), 0);
    ahpa_tls_watch_free(w);
    ahpa_tls_pem_pair_dispose(&a);
    free(junk);
    free(sa);
}
END_TEST

TCase *tls_test_watch_case(void)
{
    TCase *tc = tcase_create("watch");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, unchanged_touched_and_replaced);
    tcase_add_test(tc, cert_before_key_is_retried);
    tcase_add_test(tc, corrupt_and_missing_files);
    tcase_add_test(tc, stat_only_while_unchanged);
    return tc;
}
