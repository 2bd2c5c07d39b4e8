/* Error codes and the error report that travels with them.
 *
 * Functions that can fail return 0 on success or a negative -AHPA_E* code,
 * and take an optional `struct ahpa_error *err` as their last parameter.
 * The first message set on an error wins, so the innermost cause survives
 * as the failure unwinds through callers that add nothing new. */
#ifndef AHPA_ERROR_H
#define AHPA_ERROR_H

#include <stddef.h>

/* X(name, short description). The order fixes the numeric values. */
#define AHPA_ERRNO_MAP(X)                                       \
    X(EINVAL, "invalid argument")                               \
    X(ENOMEM, "out of memory")                                  \
    X(ENOTFOUND, "not found")                                   \
    X(ERANGE, "value out of range")                             \
    X(EPARSE, "parse error")                                    \
    X(ENODATA, "not enough data")                               \
    X(EIO, "input/output error")                                \
    X(ETIMEDOUT, "timed out")                                   \
    X(EUPSTREAM, "upstream service failed")                     \
    X(ETOOBIG, "too large")                                     \
    X(EUNAVAIL, "temporarily unavailable")                      \
    X(ECONFIG, "configuration error")                           \
    X(EUNAUTHORIZED, "unauthorized")                            \
    X(EFORBIDDEN, "forbidden")                                  \
    X(ENOTSUP, "not supported")                                 \
    X(EMETHOD, "method not allowed")                            \
    X(ENOTACCEPTABLE, "not acceptable")                         \
    X(ECONFLICT, "conflict")                                    \
    X(EINTERNAL, "internal error")                              \
    X(EEXIST, "already exists")                                 \
    X(EGONE, "gone (resource version expired)")

enum ahpa_errno {
    AHPA_OK = 0,
#define AHPA_ERRNO_ENUM_(name, desc) AHPA_##name,
    AHPA_ERRNO_MAP(AHPA_ERRNO_ENUM_)
#undef AHPA_ERRNO_ENUM_
    AHPA_ERRNO_COUNT_
};

#define AHPA_ERROR_MSG_MAX 256

/* Caller storage; zero it (or ahpa_error_clear) before use. */
struct ahpa_error {
    int code;                      /* positive AHPA_E*, 0 when unset */
    char msg[AHPA_ERROR_MSG_MAX];  /* one line, NUL-terminated */
};

/* Records `code` and a printf-style message in `err` unless `err` already
 * holds one (first message wins). `err` may be NULL. Returns -code, so a
 * failing function can `return ahpa_error_set(err, AHPA_EINVAL, ...)`. */
int ahpa_error_set(struct ahpa_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

void ahpa_error_clear(struct ahpa_error *err);

/* Description of a code; accepts code or -code; never NULL. */
const char *ahpa_strerror(int code);

/* Symbolic name ("EINVAL") of a code; accepts code or -code; never NULL. */
const char *ahpa_error_name(int code);

/* The message of `err` if set, else ahpa_strerror(code). Never NULL. */
const char *ahpa_error_message(const struct ahpa_error *err, int code);

#endif
