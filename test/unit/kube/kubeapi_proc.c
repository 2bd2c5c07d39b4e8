/* The test apiserver as a child process (see kubeapi_proc.h). */
#include "kubeapi_proc.h"

#include <check.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ahpa/error.h"
#include "ahpa/httpc.h"
#include "ahpa/kube.h"

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void exec_child(const struct kubeapi_proc *k, const char *const *extra)
{
    char log[320], tls[300], portf[300], script[1024];
    snprintf(log, sizeof(log), "%s/kubeapi.log", k->dir);
    snprintf(tls, sizeof(tls), "%s/tls", k->dir);
    snprintf(portf, sizeof(portf), "%s/port", k->dir);
    const char *src = getenv("AHPA_SOURCE_DIR");
    snprintf(script, sizeof(script), "%s/test/lib/kube_apiserver.py", src ? src : ".");
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
    }
    const char *argv[40] = {"python3",     script, "--tls-dir",    tls,
                            "--port-file", portf,  "--kubeconfig", k->kubeconfig};
    size_t n = 8;
    for (size_t i = 0; extra != NULL && extra[i] != NULL && n < 39; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    setenv("PYTHONDONTWRITEBYTECODE", "1", 1);
    execvp("python3", (char *const *)argv);
    _exit(127);
}

void kubeapi_proc_start(struct kubeapi_proc *k, const char *const *extra)
{
    memset(k, 0, sizeof(*k));
    const char *tmp = getenv("TMPDIR");
    snprintf(k->dir, sizeof(k->dir), "%s/ahpa-kubeapi-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(k->dir));
    snprintf(k->kubeconfig, sizeof(k->kubeconfig), "%s/kubeconfig", k->dir);
    snprintf(k->ca, sizeof(k->ca), "%s/tls/ca.crt", k->dir);
    k->pid = fork();
    ck_assert_int_ge(k->pid, 0);
    if (k->pid == 0)
        exec_child(k, extra);
    char portf[300];
    snprintf(portf, sizeof(portf), "%s/port", k->dir);
    for (int i = 0; i < 600 && k->port == 0; i++) { /* 30 s */
        FILE *f = fopen(portf, "r");
        if (f != NULL) {
            if (fscanf(f, "%d", &k->port) != 1)
                k->port = 0;
            fclose(f);
        }
        int st;
        ck_assert_msg(waitpid(k->pid, &st, WNOHANG) == 0, "test apiserver exited; see %s", k->dir);
        if (k->port == 0)
            sleep_ms(50);
    }
    ck_assert_msg(k->port > 0, "test apiserver did not start in 30 s");
    snprintf(k->url, sizeof(k->url), "https://127.0.0.1:%d", k->port);
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

void kubeapi_proc_stop(struct kubeapi_proc *k)
{
    if (k->pid <= 0)
        return;
    kill(k->pid, SIGTERM);
    int st;
    pid_t r = 0;
    for (int i = 0; i < 100 && (r = waitpid(k->pid, &st, WNOHANG)) == 0; i++)
        sleep_ms(50);
    if (r == 0) {
        kill(k->pid, SIGKILL);
        waitpid(k->pid, &st, 0);
    }
    k->pid = 0;
    nftw(k->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

struct ahpa_kube_client *kubeapi_proc_client(const struct kubeapi_proc *k, const char *token,
                                             long long timeout_ms)
{
    struct ahpa_error err = {0};
    struct ahpa_kube_options o = {.kubeconfig = k->kubeconfig, .qps = -1, .timeout_ms = timeout_ms};
    struct ahpa_kube_config *cfg = NULL;
    int rc = ahpa_kube_config_load(&o, &cfg, &err);
    ck_assert_msg(rc == 0, "kubeconfig: %s", err.msg);
    if (token != NULL) { /* the same server and CA, the token instead of the certificate */
        free(cfg->cert_file);
        free(cfg->key_file);
        cfg->cert_file = cfg->key_file = NULL;
        cfg->token = strdup(token);
    }
    struct ahpa_kube_client *c = ahpa_kube_client_new(cfg, &o, &err);
    ck_assert_msg(c != NULL, "client: %s", err.msg);
    ahpa_kube_config_free(cfg);
    return c;
}

int kubeapi_proc_admin(const struct kubeapi_proc *k, const char *method, const char *path_query,
                       const char *body, char **out)
{
    struct ahpa_error err = {0};
    struct ahpa_httpc_options o = {.base_url = k->url, .ca_file = k->ca, .timeout_ms = 10000};
    struct ahpa_httpc_client *h = ahpa_httpc_client_new(&o, &err);
    ck_assert_msg(h != NULL, "%s", err.msg);
    enum ahpa_httpc_method m = strcmp(method, "GET") == 0      ? AHPA_HTTPC_GET
                               : strcmp(method, "PUT") == 0    ? AHPA_HTTPC_PUT
                               : strcmp(method, "DELETE") == 0 ? AHPA_HTTPC_DELETE
                                                               : AHPA_HTTPC_POST;
    if (body == NULL && m != AHPA_HTTPC_GET)
        body = "{}";
    struct ahpa_httpc_request req = {.method = m,
                                     .path = path_query,
                                     .body = body,
                                     .body_len = body ? strlen(body) : 0,
                                     .content_type = body ? "application/json" : NULL};
    struct ahpa_httpc_response resp;
    ahpa_httpc_response_init(&resp);
    int rc = ahpa_httpc_do(h, &req, &resp, &err);
    ck_assert_msg(rc == 0, "%s %s: %s", method, path_query, err.msg);
    int status = (int)resp.status;
    if (out != NULL)
        *out = strdup(resp.body.data ? resp.body.data : "");
    ahpa_httpc_response_dispose(&resp);
    ahpa_httpc_client_free(h);
    return status;
}
