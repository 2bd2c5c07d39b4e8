/* The serving files: explicit ones, or apiserver.crt/.key in the cert
 * directory, generated on first start. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ahpa/error.h"
#include "ahpa/log.h"
#include "ahpa/mem.h"
#include "ahpa/str.h"
#include "ahpa/tls.h"
#include "tls_int.h"

void ahpa_tls_paths_dispose(struct ahpa_tls_paths *p)
{
    if (!p)
        return;
    free(p->cert_file);
    free(p->key_file);
    free(p->ca_file);
    memset(p, 0, sizeof(*p));
}

static bool is_set(const char *s)
{
    return s && *s;
}

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = ahpa_malloc(n);
    bool slash = ahpa_str_has_suffix(dir, "/");
    snprintf(p, n, "%s%s%s", dir, slash ? "" : "/", name);
    return p;
}

/* mkdir -p with mode 0700 for every directory it creates. */
static int make_dirs(const char *dir, struct ahpa_error *err)
{
    char *p = ahpa_strdup(dir);
    int rc = 0;
    for (char *s = p + 1; rc == 0; s++) {
        bool end = *s == '\0';
        if (*s != '/' && !end)
            continue;
        char saved = *s;
        *s = '\0';
        if (mkdir(p, 0700) != 0 && errno != EEXIST)
            rc = ahpa_error_set(err, AHPA_EIO, "certificate directory %s: %s", p,
                                strerror(errno));
        *s = saved;
        if (end)
            break;
    }
    free(p);
    struct stat st;
    if (rc == 0 && (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)))
        rc = ahpa_error_set(err, AHPA_EIO, "certificate directory %s: not a directory", dir);
    return rc;
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static void sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

/* ca.crt counts as the CA of the reused pair only if it verifies it. */
static bool ca_matches(const char *ca_file, const struct ahpa_tls_keypair *kp)
{
    struct ahpa_tls_ca *ca = NULL;
    if (!exists(ca_file) || ahpa_tls_ca_load_file(ca_file, &ca, NULL) < 0)
        return false;
    struct ahpa_tls_verify_options vo = {.purpose = AHPA_TLS_PURPOSE_SERVER,
                                         .at_s = ahpa_tls_keypair_not_before(kp) + 1};
    const char *pem = ahpa_tls_keypair_cert_pem(kp);
    bool ok = ahpa_tls_verify_chain_pem(pem, strlen(pem), ca, &vo, NULL, NULL) == 0;
    ahpa_tls_ca_free(ca);
    return ok;
}

static void warn_missing_sans(const char *cert_file, const struct ahpa_tls_keypair *kp,
                              const struct ahpa_tls_files_options *opt)
{
    for (size_t i = 0; i < opt->n_extra_sans; i++) {
        bool found = false;
        for (size_t j = 0; !found && j < ahpa_tls_keypair_san_count(kp); j++)
            found = ahpa_str_ieq(ahpa_tls_keypair_san(kp, j), opt->extra_sans[i]);
        if (!found)
            AHPA_LOG_WARN("reusing %s, which lacks the requested SAN %s; delete it to "
                          "regenerate", cert_file, opt->extra_sans[i]);
    }
}

static int write_generated(const char *dir, const struct ahpa_tls_paths *p,
                           const struct ahpa_tls_files_options *opt, struct ahpa_error *err)
{
    struct ahpa_tls_gen_options go = {.valid_days = opt->valid_days};
    struct ahpa_tls_issuer *ca = NULL;
    struct ahpa_tls_pem_pair leaf = {0};
    int rc = ahpa_tls_issuer_generate(&go, &ca, err);
    if (rc == 0)
        rc = ahpa_tls_generate_serving(ca, opt->extra_sans, opt->n_extra_sans, &go, &leaf,
                                       err);
    if (rc == 0) {
        const char *ca_pem = ahpa_tls_issuer_cert_pem(ca);
        size_t n = strlen(leaf.cert_pem) + strlen(ca_pem) + 1;
        char *chain = ahpa_malloc(n);
        snprintf(chain, n, "%s%s", leaf.cert_pem, ca_pem);
        rc = ahpa_tls__write_file_atomic(p->ca_file, ca_pem, strlen(ca_pem), 0644, err);
        if (rc == 0)
            rc = ahpa_tls__write_file_atomic(p->key_file, leaf.key_pem,
                                             strlen(leaf.key_pem), 0600, err);
        if (rc == 0)
            rc = ahpa_tls__write_file_atomic(p->cert_file, chain, strlen(chain), 0644, err);
        free(chain);
        sync_dir(dir);
    }
    ahpa_tls_pem_pair_dispose(&leaf);
    ahpa_tls_issuer_free(ca);
    return rc;
}

/* Reuses the pair in `dir` when it loads; returns 1 when reused. */
static int try_reuse(struct ahpa_tls_paths *p, const struct ahpa_tls_files_options *opt)
{
    bool have_cert = exists(p->cert_file), have_key = exists(p->key_file);
    if (!have_cert && !have_key)
        return 0;
    struct ahpa_error e = {0};
    struct ahpa_tls_keypair *kp = NULL;
    if (ahpa_tls_keypair_load(p->cert_file, p->key_file, &kp, &e) < 0) {
        AHPA_LOG_WARN("regenerating the serving certificate: %s", e.msg);
        return 0;
    }
    warn_missing_sans(p->cert_file, kp, opt);
    if (!ca_matches(p->ca_file, kp)) {
        free(p->ca_file);
        p->ca_file = NULL;
    }
    ahpa_tls_keypair_free(kp);
    return 1;
}

static int reuse_or_generate(const struct ahpa_tls_files_options *opt,
                             struct ahpa_tls_paths *p, struct ahpa_error *err)
{
    if (try_reuse(p, opt))
        return 0;
    int rc = write_generated(opt->cert_dir, p, opt, err);
    struct ahpa_tls_keypair *kp = NULL;
    if (rc == 0)
        rc = ahpa_tls_keypair_load(p->cert_file, p->key_file, &kp, err);
    ahpa_tls_keypair_free(kp);
    if (rc == 0) {
        p->generated = true;
        AHPA_LOG_INFO("generated a self-signed CA %s and serving certificate %s",
                      p->ca_file, p->cert_file);
    }
    return rc;
}

static int in_cert_dir(const struct ahpa_tls_files_options *opt, struct ahpa_tls_paths *p,
                       struct ahpa_error *err)
{
    int rc = make_dirs(opt->cert_dir, err);
    if (rc < 0)
        return rc;
    p->cert_file = join(opt->cert_dir, AHPA_TLS_DIR_CERT);
    p->key_file = join(opt->cert_dir, AHPA_TLS_DIR_KEY);
    p->ca_file = join(opt->cert_dir, AHPA_TLS_DIR_CA);
    /* Two processes starting on one directory: the second waits, then
     * reuses what the first wrote instead of mixing a key of one with the
     * certificate of the other. Best effort: no lock, no wait. */
    int dfd = open(opt->cert_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0)
        while (flock(dfd, LOCK_EX) != 0 && errno == EINTR) {
        }
    rc = reuse_or_generate(opt, p, err);
    if (dfd >= 0)
        close(dfd);
    return rc;
}

int ahpa_tls_ensure_serving_files(const struct ahpa_tls_files_options *opt,
                                  struct ahpa_tls_paths *out, struct ahpa_error *err)
{
    memset(out, 0, sizeof(*out));
    if (!opt)
        return ahpa_error_set(err, AHPA_EINVAL, "serving files: no options");
    bool cert = is_set(opt->cert_file), key = is_set(opt->key_file);
    if (cert != key)
        return ahpa_error_set(err, AHPA_ECONFIG,
                              "a certificate file needs a key file and vice versa "
                              "(only the %s was given)", cert ? "certificate" : "key");
    struct ahpa_tls_paths p = {0};
    int rc;
    if (cert) {
        struct ahpa_tls_keypair *kp = NULL;
        rc = ahpa_tls_keypair_load(opt->cert_file, opt->key_file, &kp, err);
        ahpa_tls_keypair_free(kp);
        p.cert_file = ahpa_strdup(opt->cert_file);
        p.key_file = ahpa_strdup(opt->key_file);
    } else if (!is_set(opt->cert_dir)) {
        return ahpa_error_set(err, AHPA_ECONFIG,
                              "no certificate and key files and no certificate directory");
    } else {
        rc = in_cert_dir(opt, &p, err);
    }
    if (rc < 0)
        ahpa_tls_paths_dispose(&p);
    else
        *out = p;
    return rc;
}
