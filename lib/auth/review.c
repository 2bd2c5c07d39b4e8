/* Reviews: the bounded table that is both the cache and the in-flight set,
 * and the TokenReview / SubjectAccessReview wire format. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ahpa/error.h"
#include "ahpa/mem.h"
#include "ahpa/str.h"
#include "auth_int.h"

int64_t ahpa_auth__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* --- reviews -------------------------------------------------------------- */

static void strv_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void review_destroy(void *obj)
{
    struct ahpa_auth_review *rv = obj;
    free(rv->key);
    json_decref(rv->body);
    free(rv->error);
    free(rv->user);
    free(rv->uid);
    strv_free(rv->groups, rv->ngroups);
    for (size_t i = 0; i < rv->nextra; i++)
        strv_free(rv->extra_values[i], rv->extra_nvalues[i]);
    strv_free(rv->extra_keys, rv->nextra);
    free(rv->extra_values);
    free(rv->extra_nvalues);
    free(rv->reason);
    free(rv);
}

struct ahpa_auth_review *ahpa_auth__review_new(enum ahpa_auth__kind kind, char *key,
                                               json_t *body)
{
    struct ahpa_auth_review *rv = ahpa_calloc(1, sizeof(*rv));
    ahpa_ref_init(&rv->ref, review_destroy);
    rv->kind = kind;
    rv->key = key;
    rv->body = body;
    return rv;
}

struct ahpa_auth_review *ahpa_auth__review_retain(struct ahpa_auth_review *rv)
{
    return ahpa_ref_retain(&rv->ref);
}

void ahpa_auth_review_release(struct ahpa_auth_review *rv)
{
    if (rv != NULL)
        ahpa_ref_release(&rv->ref);
}

/* --- the table ------------------------------------------------------------- */

void ahpa_auth__table_init(struct ahpa_auth__table *t, size_t max)
{
    memset(t, 0, sizeof(*t));
    t->max = max;
    t->nbuckets = 64;
    while (t->nbuckets < 2 * max)
        t->nbuckets *= 2;
    t->buckets = ahpa_calloc(t->nbuckets, sizeof(*t->buckets));
}

void ahpa_auth__table_dispose(struct ahpa_auth__table *t)
{
    while (t->oldest != NULL)
        ahpa_auth__table_remove(t, t->oldest);
    free(t->buckets);
    t->buckets = NULL;
}

static size_t bucket_of(const struct ahpa_auth__table *t, const char *key)
{
    return (size_t)ahpa_str_hash(key) & (t->nbuckets - 1);
}

void ahpa_auth__table_remove(struct ahpa_auth__table *t, struct ahpa_auth_review *rv)
{
    if (!rv->in_table)
        return;
    struct ahpa_auth_review **pp = &t->buckets[bucket_of(t, rv->key)];
    while (*pp != rv)
        pp = &(*pp)->hnext;
    *pp = rv->hnext;
    if (rv->older != NULL)
        rv->older->newer = rv->newer;
    else
        t->oldest = rv->newer;
    if (rv->newer != NULL)
        rv->newer->older = rv->older;
    else
        t->newest = rv->older;
    rv->hnext = rv->older = rv->newer = NULL;
    rv->in_table = false;
    t->count--;
    ahpa_auth_review_release(rv);
}

struct ahpa_auth_review *ahpa_auth__table_get(struct ahpa_auth__table *t, const char *key,
                                              int64_t now_ns)
{
    struct ahpa_auth_review *rv = t->buckets[bucket_of(t, key)];
    while (rv != NULL && strcmp(rv->key, key) != 0)
        rv = rv->hnext;
    if (rv != NULL && rv->done && now_ns >= rv->expires_ns) {
        ahpa_auth__table_remove(t, rv);
        return NULL;
    }
    return rv;
}

int ahpa_auth__table_put(struct ahpa_auth__table *t, struct ahpa_auth_review *rv)
{
    if (t->count >= t->max) {
        /* Evict the oldest answered review (in-flight ones stay). */
        struct ahpa_auth_review *victim = t->oldest;
        while (victim != NULL && !victim->done)
            victim = victim->newer;
        if (victim == NULL)
            return -AHPA_EUNAVAIL;
        ahpa_auth__table_remove(t, victim);
    }
    size_t b = bucket_of(t, rv->key);
    rv->hnext = t->buckets[b];
    t->buckets[b] = ahpa_auth__review_retain(rv);
    rv->older = t->newest;
    rv->newer = NULL;
    if (t->newest != NULL)
        t->newest->newer = rv;
    else
        t->oldest = rv;
    t->newest = rv;
    rv->in_table = true;
    t->count++;
    return 0;
}

/* --- wire format ------------------------------------------------------------ */

char *ahpa_auth__token_key(const char *token, const char *const *aud, size_t naud)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx == NULL)
        ahpa_oom(0);
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    EVP_DigestUpdate(ctx, token, strlen(token) + 1); /* the NUL separates */
    for (size_t i = 0; i < naud; i++)
        EVP_DigestUpdate(ctx, aud[i], strlen(aud[i]) + 1);
    EVP_DigestFinal_ex(ctx, md, &mdlen);
    EVP_MD_CTX_free(ctx);
    char *key = ahpa_malloc(2 + 2 * mdlen + 1);
    memcpy(key, "t:", 2);
    for (unsigned i = 0; i < mdlen; i++)
        snprintf(key + 2 + 2 * i, 3, "%02x", md[i]);
    return key;
}

json_t *ahpa_auth__token_review_body(const char *token, const char *const *aud, size_t naud)
{
    json_t *spec = json_pack("{s:s}", "token", token);
    if (naud > 0) {
        json_t *a = json_array();
        for (size_t i = 0; i < naud; i++)
            json_array_append_new(a, json_string(aud[i]));
        json_object_set_new(spec, "audiences", a);
    }
    return json_pack("{s:s,s:s,s:o}", "apiVersion", "authentication.k8s.io/v1", "kind",
                     "TokenReview", "spec", spec);
}

static json_t *strv_json(const char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

json_t *ahpa_auth__access_review_body(const struct ahpa_auth_user *u,
                                      const struct ahpa_auth_attrs *a)
{
    json_t *spec = json_pack("{s:s,s:o}", "user", u->name, "groups",
                             strv_json(u->groups, u->ngroups));
    if (u->uid != NULL && *u->uid != '\0')
        json_object_set_new(spec, "uid", json_string(u->uid));
    if (u->nextra > 0) {
        json_t *extra = json_object();
        for (size_t i = 0; i < u->nextra; i++)
            json_object_set_new(extra, u->extra[i].key,
                                strv_json(u->extra[i].values, u->extra[i].nvalues));
        json_object_set_new(spec, "extra", extra);
    }
    if (a->resource_request) {
        json_object_set_new(spec, "resourceAttributes",
                            json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "namespace", a->ns,
                                      "verb", a->verb, "group", a->group, "version",
                                      a->version, "resource", a->resource, "subresource",
                                      a->subresource, "name", a->name));
    } else {
        json_object_set_new(spec, "nonResourceAttributes",
                            json_pack("{s:s,s:s}", "path", a->path, "verb", a->verb));
    }
    return json_pack("{s:s,s:s,s:o}", "apiVersion", "authorization.k8s.io/v1", "kind",
                     "SubjectAccessReview", "spec", spec);
}

/* A JSON array of strings into a heap vector; non-strings are refused. */
static int strv_from_json(const json_t *arr, char ***out, size_t *n, struct ahpa_error *err)
{
    *out = NULL;
    *n = 0;
    if (arr == NULL || json_is_null(arr))
        return 0;
    if (!json_is_array(arr) || json_array_size(arr) > AHPA_AUTH_MAX_GROUPS)
        return ahpa_error_set(err, AHPA_EPARSE, "review answer: bad string list");
    *out = ahpa_calloc(json_array_size(arr) + 1, sizeof(char *));
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const char *s = json_string_value(json_array_get(arr, i));
        if (s == NULL)
            return ahpa_error_set(err, AHPA_EPARSE, "review answer: a list item is no string");
        (*out)[(*n)++] = ahpa_strdup(s);
    }
    return 0;
}

static int user_extra(const json_t *extra, struct ahpa_auth_review *rv, struct ahpa_error *err)
{
    if (extra == NULL || json_is_null(extra))
        return 0;
    if (!json_is_object(extra) || json_object_size(extra) > AHPA_AUTH_MAX_EXTRA)
        return ahpa_error_set(err, AHPA_EPARSE, "TokenReview answer: bad user.extra");
    size_t n = json_object_size(extra);
    rv->extra_keys = ahpa_calloc(n + 1, sizeof(char *));
    rv->extra_values = ahpa_calloc(n + 1, sizeof(char **));
    rv->extra_nvalues = ahpa_calloc(n + 1, sizeof(size_t));
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)extra, k, v) {
        size_t i = rv->nextra++;
        rv->extra_keys[i] = ahpa_strdup(k);
        int rc = strv_from_json(v, &rv->extra_values[i], &rv->extra_nvalues[i], err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static bool audiences_meet(const json_t *got, const char *const *aud, size_t naud)
{
    for (size_t i = 0; i < json_array_size(got); i++) {
        const char *s = json_string_value(json_array_get(got, i));
        for (size_t j = 0; s != NULL && j < naud; j++)
            if (strcmp(s, aud[j]) == 0)
                return true;
    }
    return false;
}

int ahpa_auth__token_review_parse(const json_t *resp, const char *const *aud, size_t naud,
                                  struct ahpa_auth_review *rv, struct ahpa_error *err)
{
    const json_t *status = json_object_get(resp, "status");
    if (!json_is_object(status))
        return ahpa_error_set(err, AHPA_EPARSE, "TokenReview answer without status");
    rv->authenticated = json_is_true(json_object_get(status, "authenticated"));
    const char *e = json_string_value(json_object_get(status, "error"));
    if (!rv->authenticated) {
        rv->error = ahpa_strdup(e != NULL && *e ? e : "token not authenticated");
        return 0;
    }
    if (naud > 0 && !audiences_meet(json_object_get(status, "audiences"), aud, naud)) {
        rv->authenticated = false;
        rv->error = ahpa_strdup("token audiences do not include this server's");
        return 0;
    }
    const json_t *user = json_object_get(status, "user");
    const char *name = json_string_value(json_object_get(user, "username"));
    if (name == NULL || *name == '\0')
        return ahpa_error_set(err, AHPA_EPARSE, "TokenReview answer without a username");
    const char *uid = json_string_value(json_object_get(user, "uid"));
    rv->user = ahpa_strdup(name);
    rv->uid = ahpa_strdup(uid != NULL ? uid : "");
    int rc = strv_from_json(json_object_get(user, "groups"), &rv->groups, &rv->ngroups, err);
    if (rc == 0)
        rc = user_extra(json_object_get(user, "extra"), rv, err);
    return rc;
}

int ahpa_auth__access_review_parse(const json_t *resp, struct ahpa_auth_review *rv,
                                   struct ahpa_error *err)
{
    const json_t *status = json_object_get(resp, "status");
    if (!json_is_object(status))
        return ahpa_error_set(err, AHPA_EPARSE, "SubjectAccessReview answer without status");
    rv->allowed = json_is_true(json_object_get(status, "allowed"));
    rv->denied = json_is_true(json_object_get(status, "denied"));
    const char *reason = json_string_value(json_object_get(status, "reason"));
    rv->reason = ahpa_strndup(reason != NULL ? reason : "", 512);
    /* One line for the Status message. */
    for (char *c = rv->reason; *c; c++)
        if ((unsigned char)*c < 0x20)
            *c = ' ';
    return 0;
}
