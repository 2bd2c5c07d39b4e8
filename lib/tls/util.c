/* OpenSSL error text, bounded file reads, atomic writes and PEM codecs. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ahpa/error.h"
#include "ahpa/mem.h"
#include "tls_int.h"

int ahpa_tls__ossl_error(struct ahpa_error *err, int code, const char *fmt, ...)
{
    char ctx[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx, sizeof(ctx), fmt, ap);
    va_end(ap);
    unsigned long e = ERR_peek_error();
    const char *reason = e ? ERR_reason_error_string(e) : NULL;
    char fallback[128];
    if (e && !reason) {
        ERR_error_string_n(e, fallback, sizeof(fallback));
        reason = fallback;
    }
    ERR_clear_error();
    if (reason)
        return ahpa_error_set(err, code, "%s: %s", ctx, reason);
    return ahpa_error_set(err, code, "%s", ctx);
}

static int read_all(int fd, char *buf, size_t cap, size_t *got)
{
    size_t n = 0;
    while (n < cap) {
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            break;
        n += (size_t)r;
    }
    *got = n;
    return 0;
}

int ahpa_tls__read_file(const char *what, const char *path, size_t cap,
                        struct ahpa_tls__file *out, struct ahpa_error *err)
{
    memset(out, 0, sizeof(*out));
    if (!path || !*path)
        return ahpa_error_set(err, AHPA_EINVAL, "%s: no path given", what);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return ahpa_error_set(err, errno == ENOENT ? AHPA_ENOTFOUND : AHPA_EIO,
                              "%s %s: %s", what, path, strerror(errno));
    int rc = 0;
    if (fstat(fd, &out->st) != 0) {
        rc = ahpa_error_set(err, AHPA_EIO, "%s %s: %s", what, path, strerror(errno));
    } else if (!S_ISREG(out->st.st_mode)) {
        rc = ahpa_error_set(err, AHPA_EIO, "%s %s: not a regular file", what, path);
    } else if ((uintmax_t)out->st.st_size > cap) {
        rc = ahpa_error_set(err, AHPA_ETOOBIG, "%s %s: larger than %zu bytes", what,
                            path, cap);
    } else {
        /* Room for one byte more than fstat promised shows a file that grew
         * while being read (a writer at work): refused, read again later. */
        size_t want = (size_t)out->st.st_size;
        out->data = ahpa_malloc(want + 2);
        int r = read_all(fd, out->data, want + 1, &out->len);
        if (r < 0)
            rc = ahpa_error_set(err, AHPA_EIO, "%s %s: %s", what, path, strerror(-r));
        else if (out->len > want)
            rc = ahpa_error_set(err, AHPA_EIO, "%s %s: changed while being read", what,
                                path);
        else
            out->data[out->len] = '\0';
    }
    close(fd);
    if (rc < 0)
        ahpa_tls__file_dispose(out);
    return rc;
}

void ahpa_tls__file_dispose(struct ahpa_tls__file *f)
{
    if (f->data) {
        OPENSSL_cleanse(f->data, f->len);
        free(f->data);
    }
    f->data = NULL;
    f->len = 0;
}

static int write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, data, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        data += w;
        len -= (size_t)w;
    }
    return 0;
}

int ahpa_tls__write_file_atomic(const char *path, const char *data, size_t len,
                                mode_t mode, struct ahpa_error *err)
{
    size_t n = strlen(path) + sizeof(".tmp-XXXXXX");
    char *tmp = ahpa_malloc(n);
    snprintf(tmp, n, "%s.tmp-XXXXXX", path);
    int fd = mkostemp(tmp, O_CLOEXEC); /* created 0600: never readable early */
    int rc = 0;
    if (fd < 0) {
        rc = ahpa_error_set(err, AHPA_EIO, "creating %s: %s", tmp, strerror(errno));
        free(tmp);
        return rc;
    }
    int e = 0;
    if (fchmod(fd, mode) != 0)
        e = errno;
    if (!e)
        e = -write_all(fd, data, len);
    if (!e && fsync(fd) != 0)
        e = errno;
    if (close(fd) != 0 && !e)
        e = errno;
    if (!e && rename(tmp, path) != 0)
        e = errno;
    if (e) {
        rc = ahpa_error_set(err, AHPA_EIO, "writing %s: %s", path, strerror(e));
        unlink(tmp);
    }
    free(tmp);
    return rc;
}

/* Encrypted keys are refused instead of prompting on a terminal. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf, (void)size, (void)rwflag, (void)u;
    return -1;
}

static BIO *mem_bio(const char *pem, size_t len)
{
    if (len > INT_MAX)
        return NULL;
    return BIO_new_mem_buf(pem, (int)len);
}

static bool is_end_of_pem(unsigned long e)
{
    return ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
}

int ahpa_tls__parse_certs(const char *what, const char *name, const char *pem,
                          size_t len, STACK_OF(X509) **out, struct ahpa_error *err)
{
    *out = NULL;
    BIO *bio = mem_bio(pem, len);
    if (!bio)
        return ahpa_tls__ossl_error(err, AHPA_EPARSE, "%s %s: unreadable", what, name);
    STACK_OF(X509) *certs = sk_X509_new_null();
    int rc = 0;
    for (;;) {
        X509 *x = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL);
        if (!x) {
            if (sk_X509_num(certs) > 0 && is_end_of_pem(ERR_peek_last_error())) {
                ERR_clear_error();
                break;
            }
            rc = ahpa_tls__ossl_error(err, AHPA_EPARSE, "%s %s: certificate %d",
                                      what, name, sk_X509_num(certs) + 1);
            break;
        }
        if (!sk_X509_push(certs, x))
            ahpa_oom(sizeof(void *));
    }
    BIO_free(bio);
    if (rc < 0)
        sk_X509_pop_free(certs, X509_free);
    else
        *out = certs;
    return rc;
}

int ahpa_tls__parse_key(const char *what, const char *name, const char *pem,
                        size_t len, EVP_PKEY **out, struct ahpa_error *err)
{
    *out = NULL;
    BIO *bio = mem_bio(pem, len);
    if (bio)
        *out = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
    BIO_free(bio);
    if (!*out)
        return ahpa_tls__ossl_error(err, AHPA_EPARSE,
                                    "%s %s: no usable unencrypted private key", what,
                                    name);
    ERR_clear_error();
    return 0;
}

static char *bio_take(BIO *bio)
{
    char *p = NULL;
    long n = BIO_get_mem_data(bio, &p);
    char *s = ahpa_malloc((size_t)(n > 0 ? n : 0) + 1);
    if (n > 0)
        memcpy(s, p, (size_t)n);
    s[n > 0 ? n : 0] = '\0';
    return s;
}

char *ahpa_tls__cert_pem(X509 *x)
{
    BIO *bio = BIO_new(BIO_s_mem());
    if (!bio || !PEM_write_bio_X509(bio, x))
        ahpa_oom(0);
    char *s = bio_take(bio);
    BIO_free(bio);
    return s;
}

char *ahpa_tls__certs_pem(STACK_OF(X509) *certs)
{
    BIO *bio = BIO_new(BIO_s_mem());
    if (!bio)
        ahpa_oom(0);
    for (int i = 0; i < sk_X509_num(certs); i++)
        if (!PEM_write_bio_X509(bio, sk_X509_value(certs, i)))
            ahpa_oom(0);
    char *s = bio_take(bio);
    BIO_free(bio);
    return s;
}

char *ahpa_tls__key_pem(EVP_PKEY *key)
{
    /* The memory BIO wipes its buffer when freed. */
    BIO *bio = BIO_new(BIO_s_secmem());
    if (!bio || !PEM_write_bio_PKCS8PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL))
        ahpa_oom(0);
    char *s = bio_take(bio);
    BIO_free(bio);
    return s;
}

char *ahpa_tls__name_text(const X509_NAME *name)
{
    BIO *bio = BIO_new(BIO_s_mem());
    if (!bio)
        ahpa_oom(0);
    X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
    char *s = bio_take(bio);
    BIO_free(bio);
    return s;
}

int64_t ahpa_tls__time_unix(const ASN1_TIME *t)
{
    struct tm tm;
    if (!t || !ASN1_TIME_to_tm(t, &tm))
        return INT64_MIN;
    return (int64_t)timegm(&tm);
}

void ahpa_tls__free_secret(char *s)
{
    if (!s)
        return;
    OPENSSL_cleanse(s, strlen(s));
    free(s);
}
