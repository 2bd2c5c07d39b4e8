/* The serving files in a certificate directory and explicit ones. */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ahpa/error.h"
#include "ahpa/tls.h"
#include "tls_test.h"
#include "unit.h"

static char *tmp;

static void setup(void)
{
    tmp = tls_test_mkdtemp();
}

static void teardown(void)
{
    tls_test_rmdir(tmp);
    tmp = NULL;
}

static mode_t mode_of(const char *path)
{
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    return st.st_mode & 07777;
}

static char *serial_of(const char *cert, const char *key)
{
    struct ahpa_tls_keypair *kp = NULL;
    struct ahpa_error err = {0};
    ck_assert_msg(ahpa_tls_keypair_load(cert, key, &kp, &err) == 0, "%s", err.msg);
    char *s = strdup(ahpa_tls_keypair_serial_hex(kp));
    ahpa_tls_keypair_free(kp);
    return s;
}

static void ensure(const struct ahpa_tls_files_options *o, struct ahpa_tls_paths *p)
{
    struct ahpa_error err = {0};
    ck_assert_msg(ahpa_tls_ensure_serving_files(o, p, &err) == 0, "%s", err.msg);
}

START_TEST(generates_then_reuses)
{
    char *dir = tls_test_path(tmp, "a/certs");
    const char *sans[] = {"ahpa.kube-system.svc", "192.0.2.7"};
    struct ahpa_tls_files_options o = {.cert_dir = dir, .extra_sans = sans, .n_extra_sans = 2};
    struct ahpa_tls_paths p;
    ensure(&o, &p);
    ck_assert(p.generated);
    char *want = tls_test_path(dir, "apiserver.crt");
    ck_assert_str_eq(p.cert_file, want);
    free(want);
    want = tls_test_path(dir, "ca.crt");
    ck_assert_str_eq(p.ca_file, want);
    free(want);
    ck_assert_uint_eq(mode_of(p.key_file), 0600);
    ck_assert_uint_eq(mode_of(dir), 0700);
    char *key = tls_test_read(p.key_file);
    ck_assert(strncmp(key, "-----BEGIN PRIVATE KEY-----\n", 28) == 0);
    free(key);

    /* apiserver.crt is leaf + CA; it verifies against ca.crt for every SAN. */
    struct ahpa_tls_keypair *kp = NULL;
    ck_assert_int_eq(ahpa_tls_keypair_load(p.cert_file, p.key_file, &kp, NULL), 0);
    ck_assert_uint_eq(ahpa_tls_keypair_chain_len(kp), 2);
    int64_t days = (ahpa_tls_keypair_not_after(kp) - ahpa_tls_keypair_not_before(kp)) / 86400;
    ck_assert_int_eq(days, 365); /* 365 days plus the one-hour backdating */
    struct ahpa_tls_ca *ca = NULL;
    ck_assert_int_eq(ahpa_tls_ca_load_file(p.ca_file, &ca, NULL), 0);
    const char *hosts[] = {"localhost", "127.0.0.1", "ahpa.kube-system.svc", "192.0.2.7"};
    const char *pem = ahpa_tls_keypair_cert_pem(kp);
    for (size_t i = 0; i < 4; i++) {
        struct ahpa_tls_verify_options vo = {.purpose = AHPA_TLS_PURPOSE_SERVER,
                                             .host = hosts[i]};
        ck_assert_int_eq(ahpa_tls_verify_chain_pem(pem, strlen(pem), ca, &vo, NULL, NULL), 0);
    }
    char *serial = strdup(ahpa_tls_keypair_serial_hex(kp));
    ahpa_tls_keypair_free(kp);
    ahpa_tls_ca_free(ca);

    struct ahpa_tls_paths p2;
    ensure(&o, &p2);
    ck_assert(!p2.generated);
    ck_assert_str_eq(p2.cert_file, p.cert_file);
    ck_assert_str_eq(p2.ca_file, p.ca_file); /* still verifies the reused pair */
    char *serial2 = serial_of(p2.cert_file, p2.key_file);
    ck_assert_str_eq(serial2, serial);
    free(serial2);

    /* A damaged key makes the next start regenerate. */
    tls_test_write(p.key_file, "garbage\n");
    struct ahpa_tls_paths p3;
    ensure(&o, &p3);
    ck_assert(p3.generated);
    serial2 = serial_of(p3.cert_file, p3.key_file);
    ck_assert_str_ne(serial2, serial);
    free(serial2);
    free(serial);
    ahpa_tls_paths_dispose(&p);
    ahpa_tls_paths_dispose(&p2);
    ahpa_tls_paths_dispose(&p3);
    free(dir);
}
END_TEST

START_TEST(explicit_pair)
{
    char *dir = tls_test_path(tmp, "gen");
    struct ahpa_tls_files_options o = {.cert_dir = dir};
    struct ahpa_tls_paths g;
    ensure(&o, &g);

    struct ahpa_tls_files_options e = {.cert_file = g.cert_file, .key_file = g.key_file,
                                       .cert_dir = "/nonexistent/never-created"};
    struct ahpa_tls_paths p;
    ensure(&e, &p);
    ck_assert_str_eq(p.cert_file, g.cert_file);
    ck_assert_str_eq(p.key_file, g.key_file);
    ck_assert_ptr_null(p.ca_file);
    ck_assert(!p.generated);
    ahpa_tls_paths_dispose(&p);

    struct ahpa_error err = {0};
    e.key_file = "";
    ck_assert_int_eq(ahpa_tls_ensure_serving_files(&e, &p, &err), -AHPA_ECONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "only the certificate"));
    ck_assert_ptr_null(p.cert_file);
    e.key_file = g.key_file;
    e.cert_file = NULL;
    ck_assert_int_eq(ahpa_tls_ensure_serving_files(&e, &p, NULL), -AHPA_ECONFIG);
    struct ahpa_tls_files_options none = {0};
    ck_assert_int_eq(ahpa_tls_ensure_serving_files(&none, &p, NULL), -AHPA_ECONFIG);

    /* A key of another pair. */
    char *dir2 = tls_test_path(tmp, "other");
    struct ahpa_tls_files_options o2 = {.cert_dir = dir2};
    struct ahpa_tls_paths g2;
    ensure(&o2, &g2);
    struct ahpa_tls_files_options mixed = {.cert_file = g.cert_file, .key_file = g2.key_file};
    ahpa_error_clear(&err);
    ck_assert_int_eq(ahpa_tls_ensure_serving_files(&mixed, &p, &err), -AHPA_EINVAL);
    ck_assert_msg(strstr(err.msg, g2.key_file) && strstr(err.msg, "does not match"), "%s",
                  err.msg);
    /* Missing files name themselves. */
    mixed.key_file = "/nonexistent/k.pem";
    ahpa_error_clear(&err);
    ck_assert_int_eq(ahpa_tls_ensure_serving_files(&mixed, &p, &err), -AHPA_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(err.msg, "key file /nonexistent/k.pem"));
    ahpa_tls_paths_dispose(&g);
    ahpa_tls_paths_dispose(&g2);
    free(dir);
    free(dir2);
}
END_TEST

START_TEST(unusable_cert_dir)
{
    char *file = tls_test_path(tmp, "plain");
    tls_test_write(file, "x");
    struct ahpa_tls_files_options o = {.cert_dir = file};
    struct ahpa_tls_paths p;
    struct ahpa_error err = {0};
    ck_assert_int_eq(ahpa_tls_ensure_serving_files(&o, &p, &err), -AHPA_EIO);
    ck_assert_ptr_nonnull(strstr(err.msg, file));
    const char *bad[] = {"no spaces"};
    o.cert_dir = tmp;
    o.extra_sans = bad;
    o.n_extra_sans = 1;
    ck_assert_int_eq(ahpa_tls_ensure_serving_files(&o, &p, NULL), -AHPA_EINVAL);
    free(file);
}
END_TEST

START_TEST(oversized_file_refused)
{
    char *dir = tls_test_path(tmp, "d");
    struct ahpa_tls_files_options o = {.cert_dir = dir};
    struct ahpa_tls_paths g;
    ensure(&o, &g);
    /* The real chain followed by comment lines past the 1 MiB cap. */
    char *pem = tls_test_read(g.cert_file);
    size_t n = strlen(pem), total = AHPA_TLS_MAX_FILE_BYTES + 1;
    char *big = malloc(total + 1);
    memcpy(big, pem, n);
    memset(big + n, '#', total - n);
    big[total] = '\0';
    tls_test_write(g.cert_file, big);
    struct ahpa_tls_keypair *kp = NULL;
    struct ahpa_error err = {0};
    ck_assert_int_eq(ahpa_tls_keypair_load(g.cert_file, g.key_file, &kp, &err), -AHPA_ETOOBIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "certificate file"));
    big[total - 1] = '\0'; /* exactly at the cap: accepted */
    tls_test_write(g.cert_file, big);
    ck_assert_int_eq(ahpa_tls_keypair_load(g.cert_file, g.key_file, &kp, &err), 0);
    ahpa_tls_keypair_free(kp);
    ck_assert_int_eq(ahpa_tls_keypair_load(tmp, g.key_file, &kp, &err), -AHPA_EIO);
    free(big);
    free(pem);
    free(dir);
    ahpa_tls_paths_dispose(&g);
}
END_TEST

/* Several processes starting at once on one empty directory end up with
 * one pair: each reports the serial that is finally on disk. */
START_TEST(concurrent_starts_agree)
{
    char *dir = tls_test_path(tmp, "shared");
    enum { N = 4 };
    int fds[N][2];
    pid_t pids[N];
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(pipe(fds[i]), 0);
        pids[i] = fork();
        ck_assert_int_ge(pids[i], 0);
        if (pids[i] == 0) {
            struct ahpa_tls_files_options o = {.cert_dir = dir};
            struct ahpa_tls_paths p;
            char out[80] = "error";
            struct ahpa_tls_keypair *kp = NULL;
            if (ahpa_tls_ensure_serving_files(&o, &p, NULL) == 0 &&
                ahpa_tls_keypair_load(p.cert_file, p.key_file, &kp, NULL) == 0)
                snprintf(out, sizeof(out), "%s", ahpa_tls_keypair_serial_hex(kp));
            ssize_t w = write(fds[i][1], out, strlen(out));
            _exit(w > 0 ? 0 : 1);
        }
        close(fds[i][1]);
    }
    char *cert = tls_test_path(dir, "apiserver.crt"), *key = tls_test_path(dir, "apiserver.key");
    for (int i = 0; i < N; i++) {
        int status = 0;
        ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
        ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    char *final = serial_of(cert, key);
    for (int i = 0; i < N; i++) {
        char got[80] = {0};
        ck_assert_int_gt(read(fds[i][0], got, sizeof(got) - 1), 0);
        close(fds[i][0]);
        ck_assert_str_eq(got, final);
    }
    free(final);
    free(cert);
    free(key);
    free(dir);
}
END_TEST

TCase *tls_test_files_case(void)
{
    TCase *tc = tcase_create("files");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, generates_then_reuses);
    tcase_add_test(tc, explicit_pair);
    tcase_add_test(tc, unusable_cert_dir);
    tcase_add_test(tc, oversized_file_refused);
    tcase_add_test(tc, concurrent_starts_agree);
    return tc;
}
