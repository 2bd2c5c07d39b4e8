/* Kubeconfig parsing (a table of inline documents, then files) and the
 * in-cluster configuration with a rotating token. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "ahpa/error.h"
#include "ahpa/kube.h"
#include "test_kube.h"
#include "testsrv.h"
#include "unit.h"

#define HEAD "apiVersion: v1\nkind: Config\n"
#define CLUSTER(extra) "clusters:\n- name: c1\n  cluster:\n    server: https://10.0.0.1:6443\n" extra
#define CTX(extra) "contexts:\n- name: x\n  context:\n    cluster: c1\n    user: u1\n" extra
#define USER(body) "users:\n- name: u1\n  user:\n" body

/* base64 of "CA-PEM", "CERT-PEM", "KEY-PEM" */
#define CA64 "Q0EtUEVN"
#define CERT64 "Q0VSVC1QRU0="
#define KEY64 "S0VZLVBFTQ=="

struct kc_case {
    const char *name;
    const char *yaml;
    const char *context;  /* option */
    const char *master;   /* option */
    bool allow_insecure;  /* option */
    int want_rc;          /* 0 or -AHPA_ECONFIG */
    const char *want_err; /* substring of the message */
    const char *server, *ca, *cert, *key, *token, *token_file, *ns;
    bool inline_files;    /* ca/cert/key come from -data: check content */
};

static const struct kc_case kc_cases[] = {
    {"token and relative CA", HEAD CLUSTER("    certificate-authority: ca.crt\n")
         CTX("    namespace: team-a\n") USER("    token: abc.def\n") "current-context: x\n",
     .server = "https://10.0.0.1:6443", .ca = "/etc/kc/ca.crt", .token = "abc.def",
     .ns = "team-a"},
    {"inline data", HEAD CLUSTER("    certificate-authority-data: " CA64 "\n") CTX("")
         USER("    client-certificate-data: " CERT64 "\n    client-key-data: " KEY64 "\n")
             "current-context: x\n",
     .server = "https://10.0.0.1:6443", .inline_files = true},
    {"data wins over file", HEAD CLUSTER("    certificate-authority: /nope\n"
                                         "    certificate-authority-data: " CA64 "\n")
         CTX("") USER("    token: t\n") "current-context: x\n",
     .server = "https://10.0.0.1:6443", .token = "t", .inline_files = true},
    {"absolute cert files and tokenFile", HEAD CLUSTER("") CTX("")
         USER("    client-certificate: /pki/c.pem\n    client-key: k.pem\n"
              "    tokenFile: tok\n") "current-context: x\n",
     .server = "https://10.0.0.1:6443", .cert = "/pki/c.pem", .key = "/etc/kc/k.pem",
     .token_file = "/etc/kc/tok"},
    {"named context", HEAD CLUSTER("- name: c2\n  cluster:\n    server: https://c2:443\n")
         CTX("- name: y\n  context:\n    cluster: c2\n    user: u1\n    namespace: ns-y\n")
             USER("    token: t\n") "current-context: x\n",
     .context = "y", .server = "https://c2:443", .token = "t", .ns = "ns-y"},
    {"master overrides server", HEAD CLUSTER("") CTX("") USER("    token: t\n")
         "current-context: x\n",
     .master = "https://override:8443", .server = "https://override:8443", .token = "t"},
    {"quoted values stay strings", HEAD "clusters:\n- name: c1\n  cluster:\n    server: "
         "\"https://q:1\"\n" CTX("") USER("    token: \"12345\"\n") "current-context: x\n",
     .server = "https://q:1", .token = "12345"},
    {"no current-context", HEAD CLUSTER("") CTX("") USER("    token: t\n"), .want_rc = -AHPA_ECONFIG,
     .want_err = "no current-context"},
    {"unknown context", HEAD CLUSTER("") CTX("") USER("    token: t\n") "current-context: z\n",
     .want_rc = -AHPA_ECONFIG, .want_err = "context \"z\" not found"},
    {"missing cluster", HEAD "clusters: []\n" CTX("") USER("    token: t\n")
         "current-context: x\n",
     .want_rc = -AHPA_ECONFIG, .want_err = "cluster \"c1\""},
    {"missing user", HEAD CLUSTER("") CTX("") "users: []\ncurrent-context: x\n",
     .want_rc = -AHPA_ECONFIG, .want_err = "user \"u1\" not found"},
    {"server missing", HEAD "clusters:\n- name: c1\n  cluster: {}\n" CTX("")
         USER("    token: t\n") "current-context: x\n",
     .want_rc = -AHPA_ECONFIG, .want_err = "no server"},
    {"exec refused", HEAD CLUSTER("") CTX("") USER("    exec:\n      command: aws\n")
         "current-context: x\n",
     .want_rc = -AHPA_ECONFIG, .want_err = "exec is not supported"},
    {"insecure refused", HEAD CLUSTER("    insecure-skip-tls-verify: true\n") CTX("")
         USER("    token: t\n") "current-context: x\n",
     .want_rc = -AHPA_ECONFIG, .want_err = "insecure-skip-tls-verify is refused"},
    {"insecure allowed", HEAD CLUSTER("    insecure-skip-tls-verify: true\n") CTX("")
         USER("    token: t\n") "current-context: x\n",
     .allow_insecure = true, .server = "https://10.0.0.1:6443", .token = "t"},
    {"cert without key", HEAD CLUSTER("") CTX("") USER("    client-certificate: c.pem\n")
         "current-context: x\n",
     .want_rc = -AHPA_ECONFIG, .want_err = "go together"},
    {"bad base64", HEAD CLUSTER("    certificate-authority-data: '***'\n") CTX("")
         USER("    token: t\n") "current-context: x\n",
     .want_rc = -AHPA_ECONFIG, .want_err = "not valid base64"},
    {"bad YAML", "clusters: [\n  - {name: c1\n", .want_rc = -AHPA_ECONFIG,
     .want_err = "kubeconfig:"},
    {"not a mapping", "- a\n- b\n", .want_rc = -AHPA_ECONFIG, .want_err = "not a mapping"},
    {"alias refused", "a: &x {b: 1}\nc: *x\n", .want_rc = -AHPA_ECONFIG, .want_err = "alias"},
    {"two documents", "a: 1\n---\nb: 2\n", .want_rc = -AHPA_ECONFIG,
     .want_err = "more than one"},
    {"not http", HEAD "clusters:\n- name: c1\n  cluster:\n    server: ftp://x\n" CTX("")
         USER("    token: t\n") "current-context: x\n",
     .want_rc = -AHPA_ECONFIG, .want_err = "want https://"},
};

static void check_str(const char *what, const char *got, const char *want)
{
    if (want == NULL)
        ck_assert_msg(got == NULL, "%s: got %s, want none", what, got);
    else
        ck_assert_msg(got != NULL && strcmp(got, want) == 0, "%s: got %s, want %s", what,
                      got ? got : "(null)", want);
}

static void check_file(const char *path, const char *want)
{
    ck_assert_ptr_nonnull(path);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char buf[64] = "";
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    ck_assert_str_eq(buf, want);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 077, 0); /* private: a key may be inside */
}

START_TEST(kubeconfig_table)
{
    const struct kc_case *k = &kc_cases[_i];
    struct ahpa_kube_options o = {.context = k->context, .master = k->master,
                                  .allow_insecure = k->allow_insecure};
    struct ahpa_kube_config *c = NULL;
    struct ahpa_error err = {0};
    int rc = ahpa_kube_config_parse(k->yaml, strlen(k->yaml), "/etc/kc", &o, &c, &err);
    ck_assert_msg(rc == k->want_rc, "%s: rc %d (%s), want %d", k->name, rc, err.msg, k->want_rc);
    if (rc != 0) {
        ck_assert_ptr_null(c);
        ck_assert_msg(strstr(err.msg, k->want_err) != NULL, "%s: message \"%s\" lacks \"%s\"",
                      k->name, err.msg, k->want_err);
        ck_assert_ptr_null(strchr(err.msg, '\n'));
        return;
    }
    check_str("server", c->server, k->server);
    check_str("token", c->token, k->token);
    check_str("token_file", c->token_file, k->token_file);
    check_str("namespace", c->namespace, k->ns);
    ck_assert(c->insecure == k->allow_insecure);
    if (k->inline_files) {
        check_file(c->ca_file, "CA-PEM");
        if (k->token == NULL) {
            check_file(c->cert_file, "CERT-PEM");
            check_file(c->key_file, "KEY-PEM");
        }
    } else {
        check_str("ca", c->ca_file, k->ca);
        check_str("cert", c->cert_file, k->cert);
        check_str("key", c->key_file, k->key);
    }
    char *ca = c->ca_file ? strdup(c->ca_file) : NULL;
    ahpa_kube_config_free(c);
    if (k->inline_files)
        ck_assert_int_ne(access(ca, F_OK), 0); /* removed with the configuration */
    free(ca);
}
END_TEST

static char *write_file(const char *dir, const char *name, const char *text)
{
    char *p = NULL;
    ck_assert_int_ge(asprintf(&p, "%s/%s", dir, name), 0);
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    return p;
}

START_TEST(kubeconfig_file)
{
    char dir[] = "/tmp/ahpa-kube-test-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char *kc = write_file(dir, "config", HEAD CLUSTER("    certificate-authority: ca.crt\n")
                                             CTX("") USER("    tokenFile: token\n")
                                                 "current-context: x\n");
    struct ahpa_kube_options o = {.kubeconfig = kc};
    struct ahpa_kube_config *c = NULL;
    struct ahpa_error err = {0};
    ck_assert_int_eq(ahpa_kube_config_load(&o, &c, &err), 0);
    char want[256];
    snprintf(want, sizeof(want), "%s/ca.crt", dir);
    ck_assert_str_eq(c->ca_file, want);
    snprintf(want, sizeof(want), "%s/token", dir);
    ck_assert_str_eq(c->token_file, want);
    ahpa_kube_config_free(c);

    /* Missing and oversized files. */
    o.kubeconfig = "/nonexistent/kubeconfig";
    ahpa_error_clear(&err);
    ck_assert_int_eq(ahpa_kube_config_load(&o, &c, &err), -AHPA_ECONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "/nonexistent/kubeconfig"));
    char *big = malloc(AHPA_KUBE_KUBECONFIG_MAX_BYTES + 2);
    memset(big, '#', AHPA_KUBE_KUBECONFIG_MAX_BYTES + 1);
    big[AHPA_KUBE_KUBECONFIG_MAX_BYTES + 1] = '\0';
    char *bigp = write_file(dir, "big", big);
    o.kubeconfig = bigp;
    ahpa_error_clear(&err);
    ck_assert_int_eq(ahpa_kube_config_load(&o, &c, &err), -AHPA_ECONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "larger than"));
    unlink(bigp);
    unlink(kc);
    rmdir(dir);
    free(big);
    free(bigp);
    free(kc);
}
END_TEST

/* ---- in-cluster --------------------------------------------------- */

static const char *fake_env_host = "10.96.0.1";

static const char *fake_env(const char *name)
{
    if (strcmp(name, "KUBERNETES_SERVICE_HOST") == 0)
        return fake_env_host;
    if (strcmp(name, "KUBERNETES_SERVICE_PORT") == 0)
        return "443";
    return NULL;
}

static const char *no_env(const char *name)
{
    (void)name;
    return NULL;
}

START_TEST(in_cluster)
{
    char dir[] = "/tmp/ahpa-kube-sa-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char *tok = write_file(dir, "token", "tok-1\n");
    char *ca = write_file(dir, "ca.crt", "PEM");
    char *ns = write_file(dir, "namespace", "kube-system\n");
    struct ahpa_kube_options o = {.incluster_dir = dir, .getenv_fn = fake_env};
    struct ahpa_kube_config *c = NULL;
    struct ahpa_error err = {0};
    ck_assert_int_eq(ahpa_kube_config_load(&o, &c, &err), 0);
    ck_assert_str_eq(c->server, "https://10.96.0.1:443");
    ck_assert_str_eq(c->token_file, tok);
    ck_assert_str_eq(c->ca_file, ca);
    ck_assert_str_eq(c->namespace, "kube-system");
    ck_assert(c->in_cluster);
    ahpa_kube_config_free(c);

    fake_env_host = "fd00::1"; /* IPv6 service addresses get brackets */
    ck_assert_int_eq(ahpa_kube_config_load(&o, &c, &err), 0);
    ck_assert_str_eq(c->server, "https://[fd00::1]:443");
    ahpa_kube_config_free(c);
    fake_env_host = "10.96.0.1";

    o.getenv_fn = no_env; /* outside a pod, without flags */
    ck_assert_int_eq(ahpa_kube_config_load(&o, &c, &err), -AHPA_ECONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "--kubeconfig"));

    unlink(tok); /* in a pod without a token */
    o.getenv_fn = fake_env;
    ahpa_error_clear(&err);
    ck_assert_int_eq(ahpa_kube_config_load(&o, &c, &err), -AHPA_ECONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "token"));
    unlink(ca);
    unlink(ns);
    rmdir(dir);
    free(tok);
    free(ca);
    free(ns);
}
END_TEST

static void echo_handler(const struct testsrv_request *req, struct testsrv_reply *rep, void *ud)
{
    (void)req;
    (void)ud;
    rep->body = "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\",\"resourceVersion\":\"1\"}}";
}

static const struct ahpa_kube_resource pods = {"", "v1", "pods", "Pod", true};

static void get_and_check_token(struct ahpa_kube_client *kc, struct testsrv *s, const char *want)
{
    json_t *out = NULL;
    struct ahpa_error err = {0};
    ck_assert_int_eq(ahpa_kube_get(kc, &pods, "default", "p", NULL, &out, &err), 0);
    json_decref(out);
    struct testsrv_request last;
    testsrv_last(s, &last);
    char auth[128];
    ck_assert(testsrv_header(&last, "Authorization", auth, sizeof(auth)));
    ck_assert_str_eq(auth, want);
}

START_TEST(in_cluster_token_rotation)
{
    char dir[] = "/tmp/ahpa-kube-sa-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char *tok = write_file(dir, "token", "tok-1\n");
    struct ahpa_kube_options o = {.incluster_dir = dir, .getenv_fn = fake_env};
    struct ahpa_kube_config *c = NULL;
    struct ahpa_error err = {0};
    ck_assert_int_eq(ahpa_kube_config_load(&o, &c, &err), 0);
    ck_assert_ptr_null(c->ca_file); /* no ca.crt: the system store */
    struct testsrv *s = testsrv_start(echo_handler, NULL);
    free(c->server); /* the test server stands in for the service address */
    c->server = testsrv_url(s, "");
    struct ahpa_kube_client *kc = ahpa_kube_client_new(c, &o, &err);
    ck_assert_msg(kc != NULL, "%s", err.msg);
    get_and_check_token(kc, s, "Bearer tok-1");
    /* The kubelet swaps the file (a new inode), as projected tokens do. */
    char *tmp = write_file(dir, "token.new", "tok-2-longer\n");
    ck_assert_int_eq(rename(tmp, tok), 0);
    get_and_check_token(kc, s, "Bearer tok-2-longer");
    ahpa_kube_client_free(kc);
    testsrv_stop(s);
    ahpa_kube_config_free(c);
    unlink(tok);
    rmdir(dir);
    free(tok);
    free(tmp);
}
END_TEST

TCase *kube_config_tcase(void)
{
    TCase *tc = tcase_create("config");
    tcase_add_loop_test(tc, kubeconfig_table, 0, (int)(sizeof(kc_cases) / sizeof(kc_cases[0])));
    tcase_add_test(tc, kubeconfig_file);
    tcase_add_test(tc, in_cluster);
    tcase_add_test(tc, in_cluster_token_rotation);
    return tc;
}
