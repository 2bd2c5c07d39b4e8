/* Internals shared by the files of lib/httpc. */
#ifndef AHPA_HTTPC_INT_H
#define AHPA_HTTPC_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

struct ahpa_error;

/* The bearer token and the identity of the file it came from. */
struct ahpa_httpc__token {
    pthread_mutex_t mu;
    char *path;  /* NULL for a literal token or none */
    char *value; /* NULL when there is no token */
    bool loaded;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
};

/* Loads the file (path wins) or copies the literal. -AHPA_ECONFIG when
 * the file cannot be read. */
int ahpa_httpc__token_init(struct ahpa_httpc__token *t, const char *path, const char *literal,
                     struct ahpa_error *err);
void ahpa_httpc__token_dispose(struct ahpa_httpc__token *t);
/* Re-reads the file if it changed; keeps the last good token when the
 * file is briefly missing or unreadable. */
int ahpa_httpc__token_refresh(struct ahpa_httpc__token *t, struct ahpa_error *err);
/* "Authorization: Bearer <token>" or NULL without a token. Release with
 * ahpa_httpc__token_header_free(), which wipes it. */
char *ahpa_httpc__token_header(struct ahpa_httpc__token *t);
void ahpa_httpc__token_header_free(char *h);

#endif
