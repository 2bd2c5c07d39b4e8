/* Internals shared by the files of lib/tls. */
#ifndef AHPA_TLS_INT_H
#define AHPA_TLS_INT_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

struct ahpa_error;

/* Records `code` with the printf-style context, followed by ": " and the
 * reason of the oldest OpenSSL error queued (when any), then empties the
 * thread's OpenSSL error queue. Returns -code. */
int ahpa_tls__ossl_error(struct ahpa_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A whole file read into memory, NUL-terminated; `st` is fstat() of the
 * descriptor that was read. */
struct ahpa_tls__file {
    char *data;
    size_t len;
    struct stat st;
};

/* Reads a regular file of at most `cap` bytes. `what` names it in errors
 * ("certificate file"). -AHPA_EIO, -AHPA_ENOTFOUND or -AHPA_ETOOBIG. */
int ahpa_tls__read_file(const char *what, const char *path, size_t cap,
                        struct ahpa_tls__file *out, struct ahpa_error *err);
/* Wipes and frees the contents. */
void ahpa_tls__file_dispose(struct ahpa_tls__file *f);

/* Writes `len` bytes to `path` atomically: a temporary file beside it with
 * `mode`, fsync, rename. */
int ahpa_tls__write_file_atomic(const char *path, const char *data, size_t len,
                                mode_t mode, struct ahpa_error *err);

/* Every CERTIFICATE block of a PEM text, in order; at least one, and any
 * other damage is an error. `what` and `name` label messages. Caller frees
 * with sk_X509_pop_free(*out, X509_free). */
int ahpa_tls__parse_certs(const char *what, const char *name, const char *pem,
                          size_t len, STACK_OF(X509) **out,
                          struct ahpa_error *err);
/* The first private key of a PEM text (PKCS#8 or traditional). */
int ahpa_tls__parse_key(const char *what, const char *name, const char *pem,
                        size_t len, EVP_PKEY **out, struct ahpa_error *err);

/* PEM encodings; heap strings (free / ahpa_tls__free_secret for keys). */
char *ahpa_tls__cert_pem(X509 *x);
char *ahpa_tls__certs_pem(STACK_OF(X509) *certs);
char *ahpa_tls__key_pem(EVP_PKEY *key);
/* RFC 2253 text of a name; heap string. */
char *ahpa_tls__name_text(const X509_NAME *name);
/* Unix seconds of an ASN1_TIME; INT64_MIN when unparsable. */
int64_t ahpa_tls__time_unix(const ASN1_TIME *t);
/* OPENSSL_cleanse + free; NULL is fine. */
void ahpa_tls__free_secret(char *s);

struct ahpa_tls_keypair;

/* Builds a keypair from texts in memory. `cert_what`/`cert_name` and
 * `key_what`/`key_name` label messages ("certificate file", path). */
int ahpa_tls__keypair_build(const char *cert_what, const char *cert_name,
                            const char *cert_pem, size_t cert_len,
                            const char *key_what, const char *key_name,
                            const char *key_pem, size_t key_len,
                            struct ahpa_tls_keypair **out, struct ahpa_error *err);

#endif
