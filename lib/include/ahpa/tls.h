/* Certificates for the HTTPS server, done with OpenSSL 3.0.
 *
 * MHD's TLS backend is GnuTLS; this module does everything around it:
 * - generation: a self-signed CA, a serving certificate and client
 *   certificates signed by it (EC P-256, SHA-256, random 128-bit serials);
 * - the serving files: explicit --tls-cert-file/--tls-private-key-file, or
 *   apiserver.crt/apiserver.key in --cert-dir, generated when missing;
 * - loading: a PEM chain plus a private key, checked to match, re-encoded as
 *   PEM (PKCS#8 key) for MHD_OPTION_HTTPS_MEM_CERT/KEY;
 * - reload detection: a stat-then-hash watch on the two files;
 * - verification: a chain (PEM or DER blobs) against a CA bundle for server
 *   or client use, with an optional host name or IP, and the CN/O identity
 *   of a client certificate.
 *
 * Conventions: functions return 0 (or the documented positive value) or a
 * negative -AHPA_E* code with a one-line message in `err` that names the
 * file and the reason; messages never contain key material. Objects are
 * heap `_new`/`_free` (free(NULL) is a no-op) unless said otherwise; every
 * `char *` or object handed out through an out-parameter belongs to the
 * caller. All functions are thread-safe on distinct objects; the const
 * accessors and verify functions may share one object across threads. */
#ifndef AHPA_TLS_H
#define AHPA_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ahpa_error;

#define AHPA_TLS_DEFAULT_VALID_DAYS 365
/* Cap on any certificate, key or CA bundle file read by this module. */
#define AHPA_TLS_MAX_FILE_BYTES (1024 * 1024)
/* The serving certificate's common name. */
#define AHPA_TLS_SERVING_CN "ahpa-metrics-adapter"
/* Generated certificates start this long before "now" (clock skew). */
#define AHPA_TLS_BACKDATE_S 3600
/* File names inside --cert-dir. */
#define AHPA_TLS_DIR_CERT "apiserver.crt"
#define AHPA_TLS_DIR_KEY "apiserver.key"
#define AHPA_TLS_DIR_CA "ca.crt"

/* ---- generation ------------------------------------------------------ */

struct ahpa_tls_gen_options {
    int valid_days; /* <= 0: AHPA_TLS_DEFAULT_VALID_DAYS */
    int64_t now_s;  /* unix seconds the validity counts from; 0: the clock */
};

/* A certificate and its private key as PEM text: `cert_pem` holds one or
 * more CERTIFICATE blocks, `key_pem` one PKCS#8 "PRIVATE KEY" block. Both
 * heap strings, NUL-terminated; release with ahpa_tls_pem_pair_dispose(),
 * which also wipes the key text. */
struct ahpa_tls_pem_pair {
    char *cert_pem;
    char *key_pem;
};

void ahpa_tls_pem_pair_dispose(struct ahpa_tls_pem_pair *p);

/* A CA that can sign: certificate plus private key. Opaque. */
struct ahpa_tls_issuer;

/* Generates a self-signed CA: EC P-256, CN "ahpa-metrics-adapter-ca@<now_s>",
 * basicConstraints CA:TRUE (critical), keyUsage keyCertSign|cRLSign
 * (critical), subject key identifier. `opt` may be NULL (defaults).
 * Caller frees *out with ahpa_tls_issuer_free(). */
int ahpa_tls_issuer_generate(const struct ahpa_tls_gen_options *opt,
                             struct ahpa_tls_issuer **out,
                             struct ahpa_error *err);

/* Generates an intermediate CA signed by `parent`: EC P-256, CN `cn`, the
 * same CA extensions plus an authority key identifier (no path length
 * limit). Leaves it issues verify against a bundle holding `parent` when
 * the intermediate is sent in the chain. */
int ahpa_tls_issuer_generate_sub(const struct ahpa_tls_issuer *parent, const char *cn,
                                 const struct ahpa_tls_gen_options *opt,
                                 struct ahpa_tls_issuer **out,
                                 struct ahpa_error *err);

/* Builds an issuer from PEM text: the first certificate of `cert_pem` (which
 * must be a CA) and the key in `key_pem`, which must match it. */
int ahpa_tls_issuer_from_pem(const char *cert_pem, const char *key_pem,
                             struct ahpa_tls_issuer **out,
                             struct ahpa_error *err);

void ahpa_tls_issuer_free(struct ahpa_tls_issuer *ca);

/* The CA certificate as PEM; borrowed, valid until the issuer is freed. */
const char *ahpa_tls_issuer_cert_pem(const struct ahpa_tls_issuer *ca);

/* Copies of the CA certificate and its PKCS#8 key as PEM (to keep a test CA
 * on disk, or rebuild it with ahpa_tls_issuer_from_pem). */
void ahpa_tls_issuer_to_pem(const struct ahpa_tls_issuer *ca,
                            struct ahpa_tls_pem_pair *out);

/* Issues a serving certificate: EC P-256, CN AHPA_TLS_SERVING_CN, SANs
 * DNS:localhost and IP:127.0.0.1 then each of `extra_sans` (n of them; a
 * v4 or v6 address literal becomes an IP SAN, anything else a DNS name;
 * duplicates are dropped), extendedKeyUsage serverAuth, keyUsage
 * digitalSignature|keyEncipherment, CA:FALSE, AKI/SKI, validity from
 * now - AHPA_TLS_BACKDATE_S to now + valid_days. Out: the leaf certificate
 * only (no chain) and its key. Fails with -AHPA_EINVAL on a malformed SAN:
 * a string with ':' that is no IPv6 literal, one of digits and dots that is
 * no IPv4 literal, or a DNS name that is empty, over 253 bytes or holds
 * anything but letters, digits, '-', '.', '_' and '*'. */
int ahpa_tls_generate_serving(const struct ahpa_tls_issuer *ca,
                              const char *const *extra_sans, size_t n,
                              const struct ahpa_tls_gen_options *opt,
                              struct ahpa_tls_pem_pair *out,
                              struct ahpa_error *err);

/* Issues a client certificate for x509 authentication: subject O=<each of
 * orgs> (n_orgs of them, may be 0), CN=<cn>; extendedKeyUsage clientAuth,
 * keyUsage digitalSignature|keyEncipherment, CA:FALSE, AKI/SKI. Out: leaf
 * certificate and key. */
int ahpa_tls_generate_client(const struct ahpa_tls_issuer *ca, const char *cn,
                             const char *const *orgs, size_t n_orgs,
                             const struct ahpa_tls_gen_options *opt,
                             struct ahpa_tls_pem_pair *out,
                             struct ahpa_error *err);

#define AHPA_TLS_SERVICE_NAMES 4

/* The DNS names of a Service: "<svc>", "<svc>.<ns>", "<svc>.<ns>.svc",
 * "<svc>.<ns>.svc.cluster.local". Both must be RFC 1123 labels, else
 * -AHPA_EINVAL. Each out[i] is a heap string the caller frees with free()
 * (ahpa_tls_strv_free(out, AHPA_TLS_SERVICE_NAMES) does all four). */
int ahpa_tls_service_names(const char *svc, const char *ns,
                           char *out[AHPA_TLS_SERVICE_NAMES],
                           struct ahpa_error *err);

/* free()s v[0..n-1] (NULL entries allowed); does not free `v` itself. */
void ahpa_tls_strv_free(char **v, size_t n);

/* ---- the serving files ---------------------------------------------- */

struct ahpa_tls_files_options {
    const char *cert_file; /* --tls-cert-file; NULL or "" when unset */
    const char *key_file;  /* --tls-private-key-file; both or neither */
    const char *cert_dir;  /* --cert-dir; required when the two are unset */
    const char *const *extra_sans; /* for generation; borrowed */
    size_t n_extra_sans;
    int valid_days; /* <= 0: AHPA_TLS_DEFAULT_VALID_DAYS */
};

/* Which files are in use. Caller storage; release with
 * ahpa_tls_paths_dispose(). All strings are heap copies. */
struct ahpa_tls_paths {
    char *cert_file;
    char *key_file;
    char *ca_file;  /* <cert_dir>/ca.crt when it was generated now, or when
                       it exists and verifies the reused certificate; NULL
                       otherwise (always NULL for explicit files) */
    bool generated; /* true when this call wrote new files */
};

void ahpa_tls_paths_dispose(struct ahpa_tls_paths *p);

/* Decides the serving files, generating them when needed:
 * - cert_file and key_file both set: use them as they are (they are loaded
 *   and checked to match; cert_dir is ignored); only one set:
 *   -AHPA_ECONFIG; neither and no cert_dir: -AHPA_ECONFIG;
 * - else in cert_dir (created with its parents, mode 0700, when missing;
 *   not a directory: -AHPA_EIO), under an flock of the directory so that
 *   processes starting together agree on one pair: reuse apiserver.crt and
 *   apiserver.key when both load as a matching pair (even expired: that is
 *   only logged, as are requested SANs the reused certificate lacks);
 *   otherwise (missing, damaged or mismatched files, which get replaced)
 *   generate a CA and a serving certificate and write ca.crt (the CA),
 *   apiserver.key (PKCS#8, mode 0600) and apiserver.crt (the serving
 *   certificate followed by the CA certificate, as the generic apiserver
 *   writes it), in that order, each to a temporary file renamed into place.
 *   The CA key is not kept.
 * `out` is filled on success only (zeroed first). */
int ahpa_tls_ensure_serving_files(const struct ahpa_tls_files_options *opt,
                                  struct ahpa_tls_paths *out,
                                  struct ahpa_error *err);

/* ---- a loaded certificate and key ----------------------------------- */

/* Opaque, immutable after creation. */
struct ahpa_tls_keypair;

/* Loads a PEM certificate chain (leaf first) and a PEM private key
 * (PKCS#8, or traditional EC/RSA; encrypted keys are refused, never
 * prompted for), each a regular file of at most AHPA_TLS_MAX_FILE_BYTES
 * (else -AHPA_ETOOBIG) that does not grow while read (else -AHPA_EIO);
 * checks the key matches the leaf (else -AHPA_EINVAL). Missing file:
 * -AHPA_ENOTFOUND; bad PEM: -AHPA_EPARSE. An expired or not-yet-valid leaf
 * is only logged as a warning. Caller frees *out with
 * ahpa_tls_keypair_free(). */
int ahpa_tls_keypair_load(const char *cert_file, const char *key_file,
                          struct ahpa_tls_keypair **out,
                          struct ahpa_error *err);

/* The same from memory; the texts need not be NUL-terminated. */
int ahpa_tls_keypair_from_pem(const char *cert_pem, size_t cert_len,
                              const char *key_pem, size_t key_len,
                              struct ahpa_tls_keypair **out,
                              struct ahpa_error *err);

/* Wipes the key text and frees. */
void ahpa_tls_keypair_free(struct ahpa_tls_keypair *kp);

/* Accessors; returned strings are borrowed until ahpa_tls_keypair_free(). */
/* The chain re-encoded as PEM CERTIFICATE blocks, leaf first (for
 * MHD_OPTION_HTTPS_MEM_CERT). */
const char *ahpa_tls_keypair_cert_pem(const struct ahpa_tls_keypair *kp);
/* The key as one PKCS#8 PEM block (for MHD_OPTION_HTTPS_MEM_KEY). */
const char *ahpa_tls_keypair_key_pem(const struct ahpa_tls_keypair *kp);
/* The leaf's validity bounds, unix seconds. */
int64_t ahpa_tls_keypair_not_before(const struct ahpa_tls_keypair *kp);
int64_t ahpa_tls_keypair_not_after(const struct ahpa_tls_keypair *kp);
/* The leaf's subject, RFC 2253 ("CN=ahpa-metrics-adapter"). */
const char *ahpa_tls_keypair_subject(const struct ahpa_tls_keypair *kp);
/* The leaf's serial as upper-case hex without leading zeros. */
const char *ahpa_tls_keypair_serial_hex(const struct ahpa_tls_keypair *kp);
/* The leaf's DNS and IP SANs in certificate order; IPs in text form
 * ("127.0.0.1", "::1"); other SAN kinds are skipped. */
size_t ahpa_tls_keypair_san_count(const struct ahpa_tls_keypair *kp);
const char *ahpa_tls_keypair_san(const struct ahpa_tls_keypair *kp, size_t i);
/* Number of certificates in the chain (>= 1). */
size_t ahpa_tls_keypair_chain_len(const struct ahpa_tls_keypair *kp);

/* ---- reload detection ----------------------------------------------- */

/* Remembers, for the certificate and key file, the (dev, inode, size,
 * mtime_ns) of the last accepted contents and their SHA-256. Opaque; not
 * thread-safe: poll it from one thread. */
struct ahpa_tls_watch;

/* Loads the pair (as ahpa_tls_keypair_load) and starts watching the paths
 * (copied). `first` may be NULL to discard the loaded pair; else the
 * caller frees *first. Caller frees *out with ahpa_tls_watch_free(). */
int ahpa_tls_watch_new(const char *cert_file, const char *key_file,
                       struct ahpa_tls_watch **out,
                       struct ahpa_tls_keypair **first,
                       struct ahpa_error *err);

void ahpa_tls_watch_free(struct ahpa_tls_watch *w);

/* Checks the files. Costs two stat() calls while nothing changed; files
 * are read and hashed only when their stat changed, and parsed only when
 * their contents changed. Returns
 *   1  new valid pair in *fresh (caller frees); the watch now remembers it;
 *   0  unchanged (a touch that kept the bytes counts as unchanged);
 *   <0 the files changed but cannot be read, do not parse or do not match
 *      (e.g. the certificate was replaced before the key). The caller keeps
 *      serving its current pair. The watch keeps its accepted state, so the
 *      next poll tries again; while the files stay as they were at the
 *      failed attempt, it returns the same error without reading them.
 * *fresh is set to NULL unless 1 is returned. */
int ahpa_tls_watch_poll(struct ahpa_tls_watch *w,
                        struct ahpa_tls_keypair **fresh,
                        struct ahpa_error *err);

/* ---- verification --------------------------------------------------- */

/* A set of trusted CA certificates. Opaque, immutable, shareable. */
struct ahpa_tls_ca;

/* Loads one or more PEM CERTIFICATE blocks (at least one; at most
 * AHPA_TLS_MAX_FILE_BYTES). Caller frees *out with ahpa_tls_ca_free(). */
int ahpa_tls_ca_load_file(const char *path, struct ahpa_tls_ca **out,
                          struct ahpa_error *err);
int ahpa_tls_ca_load_pem(const char *pem, size_t len, struct ahpa_tls_ca **out,
                         struct ahpa_error *err);
void ahpa_tls_ca_free(struct ahpa_tls_ca *ca);

size_t ahpa_tls_ca_count(const struct ahpa_tls_ca *ca);
/* Subject of certificate i, RFC 2253; borrowed until ahpa_tls_ca_free(). */
const char *ahpa_tls_ca_subject(const struct ahpa_tls_ca *ca, size_t i);
/* The bundle re-encoded as PEM (for MHD_OPTION_HTTPS_MEM_TRUST, whose
 * subjects GnuTLS sends as acceptable CAs); borrowed likewise. */
const char *ahpa_tls_ca_pem(const struct ahpa_tls_ca *ca);

enum ahpa_tls_purpose {
    AHPA_TLS_PURPOSE_SERVER, /* X509_PURPOSE_SSL_SERVER */
    AHPA_TLS_PURPOSE_CLIENT, /* X509_PURPOSE_SSL_CLIENT */
};

struct ahpa_tls_verify_options {
    enum ahpa_tls_purpose purpose;
    const char *host; /* NULL: no name check; else a DNS name (checked
                         against DNS SANs, no partial wildcards) or an IP
                         literal (checked against IP SANs) */
    int64_t at_s;     /* 0: verify at the current time; else at this time */
};

/* The identity a client certificate carries (Kubernetes x509 auth: user =
 * CN, groups = O). Caller storage, filled by the functions below; release
 * with ahpa_tls_identity_dispose(). All strings heap, UTF-8. */
struct ahpa_tls_identity {
    char *cn;     /* "" when the subject has no CN */
    char **orgs;  /* n_orgs strings, subject order */
    size_t n_orgs;
};

void ahpa_tls_identity_dispose(struct ahpa_tls_identity *id);

/* Verifies a chain (leaf first, then intermediates; all untrusted) against
 * `ca`. Certificates in `ca` are trust anchors even when not self-signed
 * (Go's semantics for client-ca bundles). The leaf must allow
 * `opt->purpose` (extendedKeyUsage) and match `opt->host` when set.
 * Returns 0, -AHPA_EPARSE for undecodable input, -AHPA_EUNAUTHORIZED when
 * the chain does not verify (message: OpenSSL's reason and the depth).
 * When `id` is non-NULL and the result is 0, it receives the leaf's
 * identity (a CN with an embedded NUL fails with -AHPA_EUNAUTHORIZED). */
int ahpa_tls_verify_chain_pem(const char *pem, size_t len,
                              const struct ahpa_tls_ca *ca,
                              const struct ahpa_tls_verify_options *opt,
                              struct ahpa_tls_identity *id,
                              struct ahpa_error *err);

/* The same for DER blobs, as GnuTLS hands over a peer chain
 * (gnutls_certificate_get_peers): der[i] of len[i] bytes, i < n, n >= 1. */
int ahpa_tls_verify_chain_der(const unsigned char *const *der,
                              const size_t *len, size_t n,
                              const struct ahpa_tls_ca *ca,
                              const struct ahpa_tls_verify_options *opt,
                              struct ahpa_tls_identity *id,
                              struct ahpa_error *err);

/* The identity of the first certificate in `pem`, without verification. */
int ahpa_tls_identity_from_pem(const char *pem, size_t len,
                               struct ahpa_tls_identity *id,
                               struct ahpa_error *err);

/* DER blobs of a PEM chain (for tests and for feeding the DER verifier).
 * Caller storage; release with ahpa_tls_der_chain_dispose(). */
struct ahpa_tls_der_chain {
    const unsigned char **der; /* owned by the struct despite the const */
    size_t *len;
    size_t n;
};

int ahpa_tls_der_chain_from_pem(const char *pem, size_t len,
                                struct ahpa_tls_der_chain *out,
                                struct ahpa_error *err);
void ahpa_tls_der_chain_dispose(struct ahpa_tls_der_chain *c);

#endif
