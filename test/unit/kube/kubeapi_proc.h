/* The project's test apiserver (test/lib/kube_apiserver.py, a test double
 * of kube-apiserver) as a child process of a unit test: started on a free
 * 127.0.0.1 port in a private temporary directory, stopped by its PID.
 * Needs python3 and openssl (the double generates its TLS files) and
 * AHPA_SOURCE_DIR in the environment (ctest sets it). */
#ifndef AHPA_TEST_KUBEAPI_PROC_H
#define AHPA_TEST_KUBEAPI_PROC_H

#include <stdbool.h>
#include <sys/types.h>

struct ahpa_kube_client;

struct kubeapi_proc {
    pid_t pid;
    int port;
    char dir[256];        /* removed by kubeapi_proc_stop() */
    char url[64];         /* https://127.0.0.1:PORT */
    char ca[320];         /* the serving CA */
    char kubeconfig[320]; /* the admin client certificate */
};

/* Starts the double with `extra` flags (NULL-terminated, may be NULL), e.g.
 * {"--token", "tok-a=alice", NULL}. Fails the test if it does not come up
 * within 30 s. */
void kubeapi_proc_start(struct kubeapi_proc *k, const char *const *extra);
/* SIGTERM, then SIGKILL after 5 s; removes the directory. Idempotent. */
void kubeapi_proc_stop(struct kubeapi_proc *k);

/* A client of the double: the admin certificate (token NULL) or a bearer
 * token given with --token. timeout_ms 0 = the default. Caller frees with
 * ahpa_kube_client_free(). */
struct ahpa_kube_client *kubeapi_proc_client(const struct kubeapi_proc *k, const char *token,
                                             long long timeout_ms);

/* A request to an admin endpoint ("/-/test/partition?user=alice"); body
 * may be NULL. Returns the HTTP status; *out (may be NULL) receives the
 * body, caller frees. */
int kubeapi_proc_admin(const struct kubeapi_proc *k, const char *method, const char *path_query,
                       const char *body, char **out);

#endif
