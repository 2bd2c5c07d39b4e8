/* Reload detection: stat first, hash on a stat change, parse on a content
 * change. */
#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ahpa/error.h"
#include "ahpa/mem.h"
#include "ahpa/str.h"
#include "ahpa/tls.h"
#include "tls_int.h"

struct file_state {
    dev_t dev;
    ino_t ino;
    off_t size;
    int64_t mtime_ns;
    unsigned char sha256[32];
};

struct ahpa_tls_watch {
    char *cert_file;
    char *key_file;
    struct file_state cert, key;           /* the accepted contents */
    bool failed;                           /* the last attempt failed ... */
    struct file_state fail_cert, fail_key; /* ... on files with these stats */
    struct ahpa_error fail;
};

static void state_of(const struct stat *st, struct file_state *s)
{
    s->dev = st->st_dev;
    s->ino = st->st_ino;
    s->size = st->st_size;
    s->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

static bool same_stat(const struct stat *st, const struct file_state *s)
{
    struct file_state now;
    state_of(st, &now);
    return now.dev == s->dev && now.ino == s->ino && now.size == s->size &&
           now.mtime_ns == s->mtime_ns;
}

static void hash(const struct ahpa_tls__file *f, struct file_state *s)
{
    if (!EVP_Digest(f->data, f->len, s->sha256, NULL, EVP_sha256(), NULL))
        ahpa_oom(0);
}

/* Reads both files into `c`/`k` (stats and hashes). */
static int read_pair(const struct ahpa_tls_watch *w, struct ahpa_tls__file *cf,
                     struct ahpa_tls__file *kf, struct file_state *c, struct file_state *k,
                     struct ahpa_error *err)
{
    int rc = ahpa_tls__read_file("certificate file", w->cert_file, AHPA_TLS_MAX_FILE_BYTES,
                                 cf, err);
    if (rc < 0)
        return rc;
    rc = ahpa_tls__read_file("key file", w->key_file, AHPA_TLS_MAX_FILE_BYTES, kf, err);
    if (rc < 0) {
        ahpa_tls__file_dispose(cf);
        return rc;
    }
    state_of(&cf->st, c);
    state_of(&kf->st, k);
    hash(cf, c);
    hash(kf, k);
    return 0;
}

static int build(const struct ahpa_tls_watch *w, const struct ahpa_tls__file *cf,
                 const struct ahpa_tls__file *kf, struct ahpa_tls_keypair **out,
                 struct ahpa_error *err)
{
    return ahpa_tls__keypair_build("certificate file", w->cert_file, cf->data, cf->len,
                                   "key file", w->key_file, kf->data, kf->len, out, err);
}

void ahpa_tls_watch_free(struct ahpa_tls_watch *w)
{
    if (!w)
        return;
    free(w->cert_file);
    free(w->key_file);
    free(w);
}

int ahpa_tls_watch_new(const char *cert_file, const char *key_file,
                       struct ahpa_tls_watch **out, struct ahpa_tls_keypair **first,
                       struct ahpa_error *err)
{
    *out = NULL;
    if (first)
        *first = NULL;
    if (!cert_file || !key_file)
        return ahpa_error_set(err, AHPA_EINVAL, "watch: certificate and key paths needed");
    struct ahpa_tls_watch *w = ahpa_calloc(1, sizeof(*w));
    w->cert_file = ahpa_strdup(cert_file);
    w->key_file = ahpa_strdup(key_file);
    struct ahpa_tls__file cf, kf;
    struct ahpa_tls_keypair *kp = NULL;
    int rc = read_pair(w, &cf, &kf, &w->cert, &w->key, err);
    if (rc == 0) {
        rc = build(w, &cf, &kf, &kp, err);
        ahpa_tls__file_dispose(&cf);
        ahpa_tls__file_dispose(&kf);
    }
    if (rc < 0) {
        ahpa_tls_watch_free(w);
        return rc;
    }
    if (first)
        *first = kp;
    else
        ahpa_tls_keypair_free(kp);
    *out = w;
    return 0;
}

static int stat_file(const char *what, const char *path, struct stat *st,
                     struct ahpa_error *err)
{
    if (stat(path, st) == 0)
        return 0;
    return ahpa_error_set(err, errno == ENOENT ? AHPA_ENOTFOUND : AHPA_EIO, "%s %s: %s",
                          what, path, strerror(errno));
}

/* Remembers a failed attempt on files with stats `c`/`k`, returns its code. */
static int remember_failure(struct ahpa_tls_watch *w, const struct file_state *c,
                            const struct file_state *k, const struct ahpa_error *e,
                            int rc, struct ahpa_error *err)
{
    w->failed = true;
    w->fail_cert = *c;
    w->fail_key = *k;
    w->fail = *e;
    if (!w->fail.code)
        w->fail.code = -rc;
    return ahpa_error_set(err, w->fail.code, "%s", ahpa_error_message(&w->fail, rc));
}

/* Reads, hashes and maybe parses; the slow half of a poll. */
static int reload(struct ahpa_tls_watch *w, const struct stat *cs, const struct stat *ks,
                  struct ahpa_tls_keypair **fresh, struct ahpa_error *err)
{
    struct ahpa_tls__file cf, kf;
    struct file_state c = {0}, k = {0};
    struct ahpa_error e = {0};
    int rc = read_pair(w, &cf, &kf, &c, &k, &e);
    if (rc < 0) {
        state_of(cs, &c);
        state_of(ks, &k);
        return remember_failure(w, &c, &k, &e, rc, err);
    }
    if (memcmp(c.sha256, w->cert.sha256, 32) == 0 && memcmp(k.sha256, w->key.sha256, 32) == 0) {
        rc = 0; /* touched or rewritten with the same bytes */
    } else {
        rc = build(w, &cf, &kf, fresh, &e);
        rc = rc < 0 ? remember_failure(w, &c, &k, &e, rc, err) : 1;
    }
    ahpa_tls__file_dispose(&cf);
    ahpa_tls__file_dispose(&kf);
    if (rc >= 0) {
        w->cert = c;
        w->key = k;
        w->failed = false;
    }
    return rc;
}

int ahpa_tls_watch_poll(struct ahpa_tls_watch *w, struct ahpa_tls_keypair **fresh,
                        struct ahpa_error *err)
{
    *fresh = NULL;
    struct stat cs, ks;
    int rc = stat_file("certificate file", w->cert_file, &cs, err);
    if (rc == 0)
        rc = stat_file("key file", w->key_file, &ks, err);
    if (rc < 0)
        return rc;
    if (same_stat(&cs, &w->cert) && same_stat(&ks, &w->key))
        return 0;
    if (w->failed && same_stat(&cs, &w->fail_cert) && same_stat(&ks, &w->fail_key))
        return ahpa_error_set(err, w->fail.code, "%s", w->fail.msg);
    return reload(w, &cs, &ks, fresh, err);
}
