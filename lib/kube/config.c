/* Where the apiserver is and how to authenticate: in-cluster service
 * account, a kubeconfig file, or --master. Field names follow
 * k8s.io/client-go/tools/clientcmd/api/v1 (clusters, users, contexts,
 * current-context). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ahpa/base64.h"
#include "ahpa/error.h"
#include "ahpa/log.h"
#include "ahpa/mem.h"
#include "ahpa/str.h"
#include "kube_int.h"

void ahpa_kube_config_free(struct ahpa_kube_config *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < sizeof(c->temp_files) / sizeof(c->temp_files[0]); i++) {
        if (c->temp_files[i] != NULL)
            unlink(c->temp_files[i]);
        free(c->temp_files[i]);
    }
    free(c->server);
    free(c->ca_file);
    free(c->cert_file);
    free(c->key_file);
    free(c->token_file);
    if (c->token != NULL)
        memset(c->token, 0, strlen(c->token));
    free(c->token);
    free(c->namespace);
    free(c);
}

/* Reads a small file whole. */
static int read_small(const char *path, size_t max, struct ahpa_buf *out, struct ahpa_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ahpa_error_set(err, AHPA_ECONFIG, "%.200s: %s", path, strerror(errno));
    int rc = 0;
    char chunk[4096];
    for (;;) {
        ssize_t r = read(fd, chunk, sizeof(chunk));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = ahpa_error_set(err, AHPA_ECONFIG, "%.200s: %s", path, strerror(errno));
            break;
        }
        if (r == 0)
            break;
        if (out->len + (size_t)r > max) {
            rc = ahpa_error_set(err, AHPA_ECONFIG, "%.200s: larger than %zu bytes", path, max);
            break;
        }
        ahpa_buf_append(out, chunk, (size_t)r);
    }
    close(fd);
    return rc;
}

static const char *env(const struct ahpa_kube_options *o, const char *name)
{
    return o->getenv_fn ? o->getenv_fn(name) : getenv(name);
}

static char *join_path(const char *dir, const char *file)
{
    struct ahpa_buf b;
    ahpa_buf_init(&b);
    if (file[0] == '/' || dir == NULL || dir[0] == '\0')
        ahpa_buf_puts(&b, file);
    else
        ahpa_buf_printf(&b, "%s/%s", dir, file);
    return ahpa_buf_take(&b, NULL);
}

static int load_in_cluster(const struct ahpa_kube_options *o, struct ahpa_kube_config *c,
                           struct ahpa_error *err)
{
    const char *host = env(o, "KUBERNETES_SERVICE_HOST");
    const char *port = env(o, "KUBERNETES_SERVICE_PORT");
    if (host == NULL || host[0] == '\0' || port == NULL || port[0] == '\0')
        return ahpa_error_set(err, AHPA_ECONFIG,
                              "no Kubernetes configuration: give --kubeconfig or --master, or run "
                              "in a pod (KUBERNETES_SERVICE_HOST/_PORT unset)");
    const char *dir = o->incluster_dir ? o->incluster_dir : AHPA_KUBE_INCLUSTER_DIR;
    struct ahpa_buf b;
    ahpa_buf_init(&b);
    bool v6 = strchr(host, ':') != NULL;
    ahpa_buf_printf(&b, "https://%s%s%s:%s", v6 ? "[" : "", host, v6 ? "]" : "", port);
    c->server = ahpa_buf_take(&b, NULL);
    c->token_file = join_path(dir, "token");
    c->ca_file = join_path(dir, "ca.crt");
    c->in_cluster = true;
    if (access(c->token_file, R_OK) != 0)
        return ahpa_error_set(err, AHPA_ECONFIG, "in-cluster token %.200s: %s", c->token_file,
                              strerror(errno));
    if (access(c->ca_file, R_OK) != 0) {
        free(c->ca_file);
        c->ca_file = NULL; /* client-go goes on with the system roots too */
    }
    char *ns_path = join_path(dir, "namespace");
    ahpa_buf_init(&b);
    if (read_small(ns_path, 256, &b, NULL) == 0 && b.len > 0) {
        size_t n = strcspn(ahpa_buf_cstr(&b), " \t\r\n");
        c->namespace = ahpa_strndup(b.data, n);
    }
    ahpa_buf_dispose(&b);
    free(ns_path);
    return 0;
}

/* ---- kubeconfig --------------------------------------------------- */

/* The entry named `name` of a list like clusters: [{name, cluster: {...}}]. */
static json_t *named(json_t *root, const char *list, const char *field, const char *name)
{
    json_t *arr = json_object_get(root, list);
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e)
    {
        const char *n = json_string_value(json_object_get(e, "name"));
        if (n != NULL && strcmp(n, name) == 0) {
            json_t *v = json_object_get(e, field);
            return json_is_object(v) ? v : NULL;
        }
    }
    return NULL;
}

static const char *str_field(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s != NULL && s[0] != '\0' ? s : NULL;
}

/* Writes decoded base64 data to a private temporary file. */
static int data_to_file(struct ahpa_kube_config *c, size_t slot, const char *what,
                        const char *b64, char **path_out, struct ahpa_error *err)
{
    struct ahpa_buf raw;
    ahpa_buf_init(&raw);
    int rc = ahpa_base64_decode(b64, strlen(b64), &raw, NULL);
    if (rc != 0 || raw.len == 0) {
        ahpa_buf_dispose(&raw);
        return ahpa_error_set(err, AHPA_ECONFIG, "kubeconfig: %s is not valid base64", what);
    }
    const char *tmp = getenv("TMPDIR");
    struct ahpa_buf p;
    ahpa_buf_init(&p);
    ahpa_buf_printf(&p, "%s/ahpa-kube-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    char *path = ahpa_buf_take(&p, NULL);
    int fd = mkstemp(path); /* mode 0600 */
    bool ok = fd >= 0 && write(fd, raw.data, raw.len) == (ssize_t)raw.len;
    if (fd >= 0)
        close(fd);
    memset(raw.data, 0, raw.len); /* a key may be in there */
    ahpa_buf_dispose(&raw);
    if (!ok) {
        if (fd >= 0)
            unlink(path);
        free(path);
        return ahpa_error_set(err, AHPA_ECONFIG, "kubeconfig: cannot write %s to a temporary "
                                                 "file: %s", what, strerror(errno));
    }
    c->temp_files[slot] = path;
    *path_out = ahpa_strdup(path);
    return 0;
}

/* A file field or its -data twin; the data wins, as in client-go. */
static int file_or_data(struct ahpa_kube_config *c, json_t *o, const char *field,
                        const char *base_dir, size_t slot, char **out, struct ahpa_error *err)
{
    char data_key[64];
    snprintf(data_key, sizeof(data_key), "%s-data", field);
    const char *data = str_field(o, data_key);
    if (data != NULL)
        return data_to_file(c, slot, data_key, data, out, err);
    const char *file = str_field(o, field);
    if (file != NULL)
        *out = join_path(base_dir, file);
    return 0;
}

static int load_cluster(json_t *cl, const char *base_dir, const struct ahpa_kube_options *o,
                        struct ahpa_kube_config *c, struct ahpa_error *err)
{
    const char *server = str_field(cl, "server");
    if (server != NULL)
        c->server = ahpa_strdup(server);
    if (json_is_true(json_object_get(cl, "insecure-skip-tls-verify"))) {
        if (!o->allow_insecure)
            return ahpa_error_set(err, AHPA_ECONFIG, "kubeconfig: insecure-skip-tls-verify is "
                                                     "refused (the server would not be verified)");
        AHPA_LOG_WARN("kubeconfig: insecure-skip-tls-verify: the apiserver is not verified");
        c->insecure = true;
    }
    return file_or_data(c, cl, "certificate-authority", base_dir, 0, &c->ca_file, err);
}

static int load_user(json_t *u, const char *base_dir, struct ahpa_kube_config *c,
                     struct ahpa_error *err)
{
    static const char *const unsupported[] = {"exec", "auth-provider", "username", "password"};
    for (size_t i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++)
        if (json_object_get(u, unsupported[i]) != NULL)
            return ahpa_error_set(err, AHPA_ECONFIG, "kubeconfig: user authentication by %s is "
                                                     "not supported (use a token, tokenFile or a "
                                                     "client certificate)", unsupported[i]);
    int rc = file_or_data(c, u, "client-certificate", base_dir, 1, &c->cert_file, err);
    if (rc == 0)
        rc = file_or_data(c, u, "client-key", base_dir, 2, &c->key_file, err);
    if (rc == 0 && (c->cert_file == NULL) != (c->key_file == NULL))
        rc = ahpa_error_set(err, AHPA_ECONFIG, "kubeconfig: client-certificate and client-key "
                                               "go together");
    const char *tf = str_field(u, "tokenFile");
    const char *tok = str_field(u, "token");
    if (rc == 0 && tf != NULL)
        c->token_file = join_path(base_dir, tf);
    if (rc == 0 && tok != NULL)
        c->token = ahpa_strdup(tok);
    return rc;
}

static int load_kubeconfig(json_t *root, const char *base_dir, const struct ahpa_kube_options *o,
                           struct ahpa_kube_config *c, struct ahpa_error *err)
{
    const char *ctx_name = o->context ? o->context : str_field(root, "current-context");
    if (ctx_name == NULL)
        return ahpa_error_set(err, AHPA_ECONFIG, "kubeconfig: no current-context and no "
                                                 "context given");
    json_t *ctx = named(root, "contexts", "context", ctx_name);
    if (ctx == NULL)
        return ahpa_error_set(err, AHPA_ECONFIG, "kubeconfig: context \"%.100s\" not found",
                              ctx_name);
    const char *cl_name = str_field(ctx, "cluster");
    const char *user_name = str_field(ctx, "user");
    json_t *cl = cl_name ? named(root, "clusters", "cluster", cl_name) : NULL;
    if (cl == NULL && o->master == NULL)
        return ahpa_error_set(err, AHPA_ECONFIG, "kubeconfig: cluster \"%.100s\" of context "
                                                 "\"%.100s\" not found", cl_name ? cl_name : "",
                              ctx_name);
    const char *ns = str_field(ctx, "namespace");
    if (ns != NULL)
        c->namespace = ahpa_strdup(ns);
    int rc = cl ? load_cluster(cl, base_dir, o, c, err) : 0;
    json_t *u = user_name ? named(root, "users", "user", user_name) : NULL;
    if (rc == 0 && user_name != NULL && u == NULL)
        rc = ahpa_error_set(err, AHPA_ECONFIG, "kubeconfig: user \"%.100s\" not found",
                            user_name);
    if (rc == 0 && u != NULL)
        rc = load_user(u, base_dir, c, err);
    return rc;
}

static int finish(const struct ahpa_kube_options *o, struct ahpa_kube_config *c,
                  struct ahpa_error *err)
{
    if (o->master != NULL && o->master[0] != '\0') {
        free(c->server);
        c->server = ahpa_strdup(o->master);
    }
    if (c->server == NULL)
        return ahpa_error_set(err, AHPA_ECONFIG, "kubeconfig: the cluster has no server");
    if (!ahpa_str_has_prefix(c->server, "https://") && !ahpa_str_has_prefix(c->server, "http://"))
        return ahpa_error_set(err, AHPA_ECONFIG, "server \"%.100s\": want https:// (or http://)",
                              c->server);
    return 0;
}

int ahpa_kube_config_parse(const char *text, size_t len, const char *base_dir,
                           const struct ahpa_kube_options *o, struct ahpa_kube_config **out,
                           struct ahpa_error *err)
{
    static const struct ahpa_kube_options none = {0};
    *out = NULL;
    if (o == NULL)
        o = &none;
    if (len > AHPA_KUBE_KUBECONFIG_MAX_BYTES)
        return ahpa_error_set(err, AHPA_ECONFIG, "kubeconfig larger than %d bytes",
                              AHPA_KUBE_KUBECONFIG_MAX_BYTES);
    json_t *root = NULL;
    int rc = ahpa_kube__yaml_load(text, len, &root, err);
    if (rc != 0)
        return -AHPA_ECONFIG; /* err keeps the parser's own code */
    struct ahpa_kube_config *c = ahpa_calloc(1, sizeof(*c));
    rc = load_kubeconfig(root, base_dir, o, c, err);
    if (rc == 0)
        rc = finish(o, c, err);
    json_decref(root);
    if (rc != 0) {
        ahpa_kube_config_free(c);
        return -AHPA_ECONFIG;
    }
    *out = c;
    return 0;
}

static int load_file(const struct ahpa_kube_options *o, struct ahpa_kube_config **out,
                     struct ahpa_error *err)
{
    struct ahpa_buf b;
    ahpa_buf_init(&b);
    int rc = read_small(o->kubeconfig, AHPA_KUBE_KUBECONFIG_MAX_BYTES, &b, err);
    if (rc == 0) {
        const char *slash = strrchr(o->kubeconfig, '/');
        char *dir = slash ? ahpa_strndup(o->kubeconfig, (size_t)(slash - o->kubeconfig))
                          : ahpa_strdup(".");
        if (slash == o->kubeconfig) {
            free(dir);
            dir = ahpa_strdup("/");
        }
        rc = ahpa_kube_config_parse(b.len ? b.data : "", b.len, dir, o, out, err);
        free(dir);
    }
    ahpa_buf_dispose(&b);
    return rc;
}

int ahpa_kube_config_load(const struct ahpa_kube_options *o, struct ahpa_kube_config **out,
                          struct ahpa_error *err)
{
    *out = NULL;
    if (o == NULL)
        return ahpa_error_set(err, AHPA_EINVAL, "no Kubernetes options");
    bool have_kc = o->kubeconfig != NULL && o->kubeconfig[0] != '\0';
    bool have_master = o->master != NULL && o->master[0] != '\0';
    if (have_kc)
        return load_file(o, out, err);
    struct ahpa_kube_config *c = ahpa_calloc(1, sizeof(*c));
    int rc = have_master ? finish(o, c, err) : load_in_cluster(o, c, err);
    if (rc != 0) {
        ahpa_kube_config_free(c);
        return -AHPA_ECONFIG;
    }
    *out = c;
    return 0;
}
