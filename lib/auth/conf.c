/* Which CAs and names are trusted: from the flags, else from the
 * kube-system/extension-apiserver-authentication ConfigMap, watched so a
 * rotation applies to the next request (and the next TLS handshake)
 * without a restart.
 *
 * As k8s.io/apiserver decides it: --client-ca-file wins over the
 * ConfigMap's client-ca-file; --requestheader-client-ca-file, when given,
 * brings the requestheader flags with it, else the ConfigMap's five
 * requestheader-* keys are used together. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/buf.h"
#include "ahpa/error.h"
#include "ahpa/kube.h"
#include "ahpa/log.h"
#include "ahpa/mem.h"
#include "ahpa/tls.h"
#include "auth_int.h"

#define CM_NAMESPACE "kube-system"
#define CM_NAME "extension-apiserver-authentication"
#define DEFAULT_LOOKUP_TIMEOUT_MS 10000

void ahpa_auth__strv_copy(struct ahpa_auth__strv *dst, const char *const *v, size_t n)
{
    dst->v = ahpa_calloc(n + 1, sizeof(char *));
    dst->n = n;
    for (size_t i = 0; i < n; i++)
        dst->v[i] = ahpa_strdup(v[i]);
}

void ahpa_auth__strv_dispose(struct ahpa_auth__strv *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

void ahpa_auth__verdict_clear(struct ahpa_auth__verdict *v)
{
    free(v->cn);
    for (size_t i = 0; i < v->n_orgs; i++)
        free(v->orgs[i]);
    free(v->orgs);
    memset(v, 0, sizeof(*v));
}

static void conf_destroy(void *obj)
{
    struct ahpa_auth__conf *c = obj;
    for (size_t i = 0; i < AHPA_AUTH__VERDICT_SLOTS; i++)
        ahpa_auth__verdict_clear(&c->verdicts[i]);
    free(c->verdicts);
    pthread_mutex_destroy(&c->vlock);
    ahpa_tls_ca_free(c->client_ca);
    ahpa_tls_ca_free(c->rh_ca);
    ahpa_auth__strv_dispose(&c->allowed_names);
    ahpa_auth__strv_dispose(&c->user_headers);
    ahpa_auth__strv_dispose(&c->group_headers);
    ahpa_auth__strv_dispose(&c->extra_prefixes);
    free(c->cas_pem);
    free(c);
}

struct ahpa_auth__conf *ahpa_auth__conf_get(struct ahpa_auth *a)
{
    return (struct ahpa_auth__conf *)ahpa_snapshot_get(&a->conf);
}

void ahpa_auth__conf_release(struct ahpa_auth__conf *c)
{
    if (c != NULL)
        ahpa_ref_release(&c->ref);
}

/* A CA bundle from the ConfigMap's data (NULL when the key is absent). */
static int cm_ca(const json_t *data, const char *key, struct ahpa_tls_ca **out,
                 struct ahpa_error *err)
{
    *out = NULL;
    const char *pem = json_string_value(json_object_get(data, key));
    if (pem == NULL || *pem == '\0')
        return 0;
    struct ahpa_error inner = {0};
    if (ahpa_tls_ca_load_pem(pem, strlen(pem), out, &inner) < 0)
        return ahpa_error_set(err, AHPA_EPARSE, "ConfigMap %s/%s %s: %s", CM_NAMESPACE, CM_NAME,
                              key, inner.msg);
    return 0;
}

/* A list the ConfigMap keeps as JSON text: "[\"X-Remote-User\"]". */
static int cm_list(const json_t *data, const char *key, struct ahpa_auth__strv *out,
                   struct ahpa_error *err)
{
    memset(out, 0, sizeof(*out));
    const char *text = json_string_value(json_object_get(data, key));
    if (text == NULL || *text == '\0')
        return 0;
    json_t *arr = json_loads(text, 0, NULL);
    if (!json_is_array(arr) || json_array_size(arr) > 64) {
        json_decref(arr);
        return ahpa_error_set(err, AHPA_EPARSE, "ConfigMap %s/%s %s: not a JSON string list",
                              CM_NAMESPACE, CM_NAME, key);
    }
    out->v = ahpa_calloc(json_array_size(arr) + 1, sizeof(char *));
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const char *s = json_string_value(json_array_get(arr, i));
        if (s != NULL && *s != '\0')
            out->v[out->n++] = ahpa_strdup(s);
    }
    json_decref(arr);
    return 0;
}

static void copy_strv(struct ahpa_auth__strv *dst, const struct ahpa_auth__strv *src)
{
    ahpa_auth__strv_copy(dst, (const char *const *)src->v, src->n);
}

static int conf_requestheader(struct ahpa_auth *a, const json_t *cm, struct ahpa_auth__conf *c,
                              struct ahpa_error *err)
{
    if (a->rh_ca_file != NULL || cm == NULL) {
        if (a->rh_ca_file != NULL &&
            ahpa_tls_ca_load_file(a->rh_ca_file, &c->rh_ca, err) < 0)
            return -AHPA_ECONFIG;
        copy_strv(&c->allowed_names, &a->flag_allowed);
        copy_strv(&c->user_headers, &a->flag_user);
        copy_strv(&c->group_headers, &a->flag_group);
        copy_strv(&c->extra_prefixes, &a->flag_extra);
        return 0;
    }
    int rc = cm_ca(cm, "requestheader-client-ca-file", &c->rh_ca, err);
    if (rc == 0)
        rc = cm_list(cm, "requestheader-allowed-names", &c->allowed_names, err);
    if (rc == 0)
        rc = cm_list(cm, "requestheader-username-headers", &c->user_headers, err);
    if (rc == 0)
        rc = cm_list(cm, "requestheader-group-headers", &c->group_headers, err);
    if (rc == 0)
        rc = cm_list(cm, "requestheader-extra-headers-prefix", &c->extra_prefixes, err);
    return rc;
}

static char *bundle_pem(const struct ahpa_auth__conf *c)
{
    struct ahpa_buf b;
    ahpa_buf_init(&b);
    if (c->client_ca != NULL)
        ahpa_buf_puts(&b, ahpa_tls_ca_pem(c->client_ca));
    if (c->rh_ca != NULL)
        ahpa_buf_puts(&b, ahpa_tls_ca_pem(c->rh_ca));
    ahpa_buf_puts(&b, ""); /* a string even when empty */
    return ahpa_buf_take(&b, NULL);
}

static void digest_hex(const char *s, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(s, strlen(s), md, &n, EVP_sha256(), NULL);
    for (unsigned i = 0; i < n && i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

int ahpa_auth__conf_apply(struct ahpa_auth *a, const json_t *cm, struct ahpa_error *err)
{
    struct ahpa_auth__conf *c = ahpa_calloc(1, sizeof(*c));
    ahpa_ref_init(&c->ref, conf_destroy);
    pthread_mutex_init(&c->vlock, NULL);
    c->verdicts = ahpa_calloc(AHPA_AUTH__VERDICT_SLOTS, sizeof(*c->verdicts));
    c->from_configmap = cm != NULL;
    int rc = 0;
    if (a->client_ca_file != NULL)
        rc = ahpa_tls_ca_load_file(a->client_ca_file, &c->client_ca, err) < 0 ? -AHPA_ECONFIG : 0;
    else if (cm != NULL)
        rc = cm_ca(cm, "client-ca-file", &c->client_ca, err);
    if (rc == 0)
        rc = conf_requestheader(a, cm, c, err);
    if (rc < 0) {
        ahpa_ref_release(&c->ref);
        return rc;
    }
    c->cas_pem = bundle_pem(c);
    char digest[65] = "";
    digest_hex(c->cas_pem, digest);
    bool changed = strcmp(digest, a->last_cas) != 0;
    memcpy(a->last_cas, digest, sizeof(digest));
    char *pem = changed ? ahpa_strdup(c->cas_pem) : NULL;
    ahpa_snapshot_swap(&a->conf, &c->ref);
    if (changed && a->o.cas_changed != NULL)
        a->o.cas_changed(a->o.cas_ctx, pem);
    free(pem);
    return 0;
}

/* The CA files' contents digest ("" when neither is set or readable). */
static void files_digest(const struct ahpa_auth *a, char out[65])
{
    struct ahpa_buf b;
    ahpa_buf_init(&b);
    const char *files[] = {a->client_ca_file, a->rh_ca_file};
    for (size_t i = 0; i < 2; i++) {
        if (files[i] == NULL)
            continue;
        FILE *f = fopen(files[i], "rb");
        char chunk[4096];
        size_t n;
        while (f != NULL && (n = fread(chunk, 1, sizeof(chunk), f)) > 0 &&
               b.len < 2 * AHPA_TLS_MAX_FILE_BYTES)
            ahpa_buf_append(&b, chunk, n);
        if (f != NULL)
            fclose(f);
        ahpa_buf_putc(&b, '\n');
    }
    out[0] = '\0';
    if (b.len > 0)
        digest_hex(ahpa_buf_cstr(&b), out);
    ahpa_buf_dispose(&b);
}

void ahpa_auth__files_seen(struct ahpa_auth *a)
{
    files_digest(a, a->files_digest);
}

int ahpa_auth_reload_files(struct ahpa_auth *a, struct ahpa_error *err)
{
    if (a->client_ca_file == NULL && a->rh_ca_file == NULL)
        return 0;
    char digest[65];
    files_digest(a, digest);
    pthread_mutex_lock(&a->conf_lock);
    int rc = 0;
    if (strcmp(digest, a->files_digest) != 0) {
        rc = ahpa_auth__conf_apply(a, a->last_cm, err);
        if (rc == 0) {
            memcpy(a->files_digest, digest, sizeof(digest));
            rc = 1;
        }
    }
    pthread_mutex_unlock(&a->conf_lock);
    return rc;
}

char *ahpa_auth_client_cas_pem(struct ahpa_auth *a)
{
    struct ahpa_auth__conf *c = ahpa_auth__conf_get(a);
    char *pem = ahpa_strdup(c != NULL ? c->cas_pem : "");
    ahpa_auth__conf_release(c);
    return pem;
}

/* --- the ConfigMap ------------------------------------------------------------ */

static void cm_changed(struct ahpa_auth *a, const struct ahpa_kube_obj *obj)
{
    struct ahpa_error err = {0};
    const json_t *data = obj != NULL ? json_object_get(obj->json, "data") : NULL;
    json_t *copy = obj == NULL ? NULL : data != NULL ? json_deep_copy(data) : json_object();
    pthread_mutex_lock(&a->conf_lock);
    int rc = ahpa_auth__conf_apply(a, copy, &err);
    if (rc == 0) {
        json_decref(a->last_cm);
        a->last_cm = copy;
        copy = NULL;
    }
    pthread_mutex_unlock(&a->conf_lock);
    json_decref(copy);
    if (rc < 0)
        AHPA_LOG_WARN("authentication configuration not updated, keeping the previous one: %s",
                      ahpa_error_message(&err, rc));
    else
        AHPA_LOG_INFO("authentication configuration from ConfigMap %s/%s %s", CM_NAMESPACE,
                      CM_NAME, obj != NULL ? obj->resource_version : "(deleted)");
}

static void on_add(const struct ahpa_kube_obj *obj, void *ud)
{
    cm_changed(ud, obj);
}

static void on_update(const struct ahpa_kube_obj *old_obj, const struct ahpa_kube_obj *new_obj,
                      void *ud)
{
    (void)old_obj;
    cm_changed(ud, new_obj);
}

static void on_delete(const struct ahpa_kube_obj *obj, void *ud)
{
    (void)obj;
    cm_changed(ud, NULL);
}

int ahpa_auth__lookup_start(struct ahpa_auth *a, struct ahpa_error *err)
{
    struct ahpa_kube_informer_options io = {
        .resource = {"", "v1", "configmaps", "ConfigMap", true},
        .ns = CM_NAMESPACE,
        .field_selector = "metadata.name=" CM_NAME,
        .max_items = 4,
        .on_add = on_add,
        .on_update = on_update,
        .on_delete = on_delete,
        .ud = a,
    };
    a->informer = ahpa_kube_informer_new(a->o.authn_client, &io, err);
    if (a->informer == NULL || ahpa_kube_informer_start(a->informer, err) < 0)
        return -AHPA_EUNAVAIL;
    int64_t timeout = a->o.lookup_timeout_ms > 0 ? a->o.lookup_timeout_ms
                                                 : DEFAULT_LOOKUP_TIMEOUT_MS;
    if (ahpa_kube_informer_wait_synced(a->informer, timeout)) {
        if (ahpa_kube_informer_count(a->informer) == 0)
            AHPA_LOG_WARN("ConfigMap %s/%s not found: client certificates and front-proxy "
                          "headers are trusted only through the flags",
                          CM_NAMESPACE, CM_NAME);
        return 0;
    }
    if (a->o.tolerate_lookup_failure) {
        AHPA_LOG_WARN("cannot read ConfigMap %s/%s yet (kube-apiserver unreachable, or the "
                      "extension-apiserver-authentication-reader Role not bound); continuing "
                      "without it (--authentication-tolerate-lookup-failure), it applies once "
                      "readable",
                      CM_NAMESPACE, CM_NAME);
        return 0;
    }
    return ahpa_error_set(err, AHPA_EUNAVAIL,
                          "cannot read ConfigMap %s/%s within %lldms (is the kube-apiserver "
                          "reachable, the extension-apiserver-authentication-reader Role "
                          "bound? else --authentication-tolerate-lookup-failure or "
                          "--authentication-skip-lookup)",
                          CM_NAMESPACE, CM_NAME, (long long)timeout);
}
