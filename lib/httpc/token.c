/* Bearer token from a file, re-read when the file changes.
 *
 * Kubernetes rotates projected service-account tokens by swapping a
 * symlink, so identity is judged by what stat() follows to: device, inode,
 * size and mtime. The token never leaves this file except as the
 * Authorization header value built by ahpa_httpc__token_header(). */
#include "httpc_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ahpa/error.h"
#include "ahpa/mem.h"

/* A token larger than this is certainly not a token. */
#define TOKEN_FILE_MAX (64 * 1024)

static void wipe_free(char *s)
{
    if (s == NULL)
        return;
    volatile char *p = s;
    while (*p != '\0')
        *p++ = '\0';
    free(s);
}

static bool same_file(const struct ahpa_httpc__token *t, const struct stat *st)
{
    return t->loaded && t->dev == st->st_dev && t->ino == st->st_ino &&
           t->size == st->st_size && t->mtime.tv_sec == st->st_mtim.tv_sec &&
           t->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

/* Reads the whole file (bounded) and trims surrounding whitespace. */
static int read_token(const char *path, char **out, struct ahpa_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ahpa_error_set(err, AHPA_ECONFIG, "token file %s: %s", path, strerror(errno));
    char *buf = ahpa_malloc(TOKEN_FILE_MAX + 1);
    size_t len = 0;
    int rc = 0;
    while (len < TOKEN_FILE_MAX) {
        ssize_t n = read(fd, buf + len, TOKEN_FILE_MAX - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = ahpa_error_set(err, AHPA_ECONFIG, "token file %s: %s", path, strerror(errno));
            break;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    buf[len] = '\0';
    if (rc == 0 && len == TOKEN_FILE_MAX)
        rc = ahpa_error_set(err, AHPA_ECONFIG, "token file %s: larger than %d bytes", path,
                            TOKEN_FILE_MAX);
    size_t start = strspn(buf, " \t\r\n");
    while (len > start && strchr(" \t\r\n", buf[len - 1]) != NULL)
        buf[--len] = '\0';
    if (rc == 0 && memchr(buf + start, '\n', len - start) != NULL)
        rc = ahpa_error_set(err, AHPA_ECONFIG, "token file %s: more than one line", path);
    if (rc == 0)
        *out = ahpa_strdup(buf + start);
    memset(buf, 0, TOKEN_FILE_MAX + 1);
    free(buf);
    return rc;
}

int ahpa_httpc__token_init(struct ahpa_httpc__token *t, const char *path, const char *literal,
                     struct ahpa_error *err)
{
    memset(t, 0, sizeof(*t));
    pthread_mutex_init(&t->mu, NULL);
    if (path != NULL && *path != '\0') {
        t->path = ahpa_strdup(path);
        return ahpa_httpc__token_refresh(t, err);
    }
    if (literal != NULL && *literal != '\0') {
        if (strpbrk(literal, "\r\n") != NULL)
            return ahpa_error_set(err, AHPA_ECONFIG, "bearer token holds a line break");
        t->value = ahpa_strdup(literal);
        t->loaded = true;
    }
    return 0;
}

void ahpa_httpc__token_dispose(struct ahpa_httpc__token *t)
{
    wipe_free(t->value);
    free(t->path);
    pthread_mutex_destroy(&t->mu);
    memset(t, 0, sizeof(*t));
}

int ahpa_httpc__token_refresh(struct ahpa_httpc__token *t, struct ahpa_error *err)
{
    if (t->path == NULL)
        return 0;
    struct stat st;
    if (stat(t->path, &st) != 0) {
        /* Mid-rotation the file may vanish briefly: keep the last token. */
        pthread_mutex_lock(&t->mu);
        bool have = t->loaded;
        pthread_mutex_unlock(&t->mu);
        return have ? 0
                    : ahpa_error_set(err, AHPA_ECONFIG, "token file %s: %s", t->path,
                                     strerror(errno));
    }
    pthread_mutex_lock(&t->mu);
    int rc = 0;
    if (!same_file(t, &st)) {
        char *fresh = NULL;
        rc = read_token(t->path, &fresh, err);
        if (rc == 0) {
            wipe_free(t->value);
            t->value = fresh;
            t->loaded = true;
            t->dev = st.st_dev;
            t->ino = st.st_ino;
            t->size = st.st_size;
            t->mtime = st.st_mtim;
        } else if (t->loaded) {
            rc = 0; /* unreadable for a moment: keep using the last one */
        }
    }
    pthread_mutex_unlock(&t->mu);
    return rc;
}

char *ahpa_httpc__token_header(struct ahpa_httpc__token *t)
{
    pthread_mutex_lock(&t->mu);
    char *h = NULL;
    if (t->value != NULL && *t->value != '\0') {
        static const char prefix[] = "Authorization: Bearer ";
        size_t n = strlen(t->value);
        h = ahpa_malloc(sizeof(prefix) + n);
        memcpy(h, prefix, sizeof(prefix) - 1);
        memcpy(h + sizeof(prefix) - 1, t->value, n + 1);
    }
    pthread_mutex_unlock(&t->mu);
    return h;
}

void ahpa_httpc__token_header_free(char *h)
{
    wipe_free(h);
}
