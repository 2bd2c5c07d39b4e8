/* What a peer chain is worth against the configuration's CAs, verified
 * once per chain and configuration (see struct ahpa_auth__verdict). */
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ahpa/arena.h"
#include "ahpa/mem.h"
#include "ahpa/tls.h"
#include "auth_int.h"

static void chain_key(const struct ahpa_auth_request *r, unsigned char key[32])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx == NULL)
        ahpa_oom(0);
    unsigned int n = 0;
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    for (size_t i = 0; i < r->nchain; i++) {
        uint64_t len = r->chain_len[i]; /* lengths keep the boundaries */
        EVP_DigestUpdate(ctx, &len, sizeof(len));
        EVP_DigestUpdate(ctx, r->chain[i], r->chain_len[i]);
    }
    EVP_DigestFinal_ex(ctx, key, &n);
    EVP_MD_CTX_free(ctx);
}

/* The leaf's notAfter, unix seconds; 0 when it cannot be read (then the
 * verdict is not cached: it failed verification anyway). */
static int64_t leaf_not_after(const struct ahpa_auth_request *r)
{
    const unsigned char *p = r->chain[0];
    X509 *x = d2i_X509(NULL, &p, (long)r->chain_len[0]);
    if (x == NULL)
        return 0;
    struct tm tm;
    int64_t t = ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1 ? (int64_t)timegm(&tm) : 0;
    X509_free(x);
    return t;
}

static bool name_allowed(const struct ahpa_auth__conf *c, const char *cn)
{
    if (c->allowed_names.n == 0)
        return true;
    for (size_t i = 0; i < c->allowed_names.n; i++)
        if (strcmp(c->allowed_names.v[i], cn) == 0)
            return true;
    return false;
}

static void verify(const struct ahpa_auth__conf *c, const struct ahpa_auth_request *r,
                   struct ahpa_auth__verdict *v)
{
    struct ahpa_tls_verify_options vo = {.purpose = AHPA_TLS_PURPOSE_CLIENT};
    struct ahpa_tls_identity id = {0};
    v->rh = v->client = -1;
    if (c->rh_ca != NULL) {
        v->rh = ahpa_tls_verify_chain_der(r->chain, r->chain_len, r->nchain, c->rh_ca, &vo, &id,
                                          NULL) == 0 &&
                name_allowed(c, id.cn);
        ahpa_tls_identity_dispose(&id);
    }
    if (c->client_ca != NULL) {
        v->client = ahpa_tls_verify_chain_der(r->chain, r->chain_len, r->nchain, c->client_ca,
                                              &vo, &id, NULL) == 0;
        if (v->client == 1) {
            v->cn = ahpa_strdup(id.cn);
            v->orgs = ahpa_calloc(id.n_orgs + 1, sizeof(char *));
            for (size_t i = 0; i < id.n_orgs; i++)
                v->orgs[v->n_orgs++] = ahpa_strdup(id.orgs[i]);
        }
        ahpa_tls_identity_dispose(&id);
    }
}

/* Copies the verdict's identity into the arena. */
static void copy_out(const struct ahpa_auth__verdict *v, struct ahpa_arena *arena,
                     struct ahpa_auth__verdict *out)
{
    *out = *v;
    out->cn = v->cn != NULL ? ahpa_arena_strdup(arena, v->cn) : NULL;
    out->orgs = ahpa_arena_alloc(arena, (v->n_orgs + 1) * sizeof(char *));
    for (size_t i = 0; i < v->n_orgs; i++)
        out->orgs[i] = ahpa_arena_strdup(arena, v->orgs[i]);
}

void ahpa_auth__chain_verdict(struct ahpa_auth__conf *c, const struct ahpa_auth_request *r,
                              struct ahpa_auth__verdict *out)
{
    unsigned char key[32];
    chain_key(r, key);
    struct ahpa_auth__verdict *slot = &c->verdicts[key[0]]; /* SHA-256: uniform */
    int64_t now_ns = ahpa_auth__now_ns();
    int64_t now_s = (int64_t)time(NULL);
    pthread_mutex_lock(&c->vlock);
    if (slot->used && memcmp(slot->key, key, sizeof(key)) == 0 && now_ns < slot->expires_ns &&
        now_s < slot->not_after_s) {
        copy_out(slot, r->arena, out);
        pthread_mutex_unlock(&c->vlock);
        return;
    }
    pthread_mutex_unlock(&c->vlock);
    struct ahpa_auth__verdict v = {0};
    verify(c, r, &v); /* outside the lock: the expensive part */
    copy_out(&v, r->arena, out);
    v.not_after_s = leaf_not_after(r);
    if (v.not_after_s > now_s) {
        memcpy(v.key, key, sizeof(key));
        v.used = true;
        v.expires_ns = now_ns + AHPA_AUTH__VERDICT_TTL_NS;
        pthread_mutex_lock(&c->vlock);
        ahpa_auth__verdict_clear(slot);
        *slot = v;
        pthread_mutex_unlock(&c->vlock);
    } else {
        ahpa_auth__verdict_clear(&v);
    }
}
