/* klog-style log lines on stderr:
 *
 *   I1128 08:42:36.123456   12345 server.c:88] listening on 127.0.0.1:6443
 *
 * Severity letter, month and day, wall time with microseconds, thread id,
 * file:line, message. Verbosity follows klog's -v: AHPA_LOG_V(n, ...) prints
 * when the configured level is >= n. Only shell modules log; pure modules
 * return errors. Never log secrets (tokens, keys, Authorization headers).
 *
 * The level and the output stream are the one piece of process-wide state
 * outside the server context, as in klog: they are set once at start-up and
 * read atomically. */
#ifndef AHPA_LOG_H
#define AHPA_LOG_H

#include <stdio.h>

enum ahpa_log_severity {
    AHPA_LOG_SEV_INFO,
    AHPA_LOG_SEV_WARNING,
    AHPA_LOG_SEV_ERROR,
    AHPA_LOG_SEV_FATAL,
};

void ahpa_log_set_verbosity(int level);
int ahpa_log_verbosity(void);
/* Borrowed; must outlive logging. NULL restores stderr. */
void ahpa_log_set_output(FILE *out);

void ahpa_log_write(enum ahpa_log_severity sev, const char *file, int line,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#define AHPA_LOG_V(level, ...)                                                  \
    do {                                                                        \
        if (ahpa_log_verbosity() >= (level))                                    \
            ahpa_log_write(AHPA_LOG_SEV_INFO, __FILE__, __LINE__, __VA_ARGS__); \
    } while (0)
#define AHPA_LOG_INFO(...) ahpa_log_write(AHPA_LOG_SEV_INFO, __FILE__, __LINE__, __VA_ARGS__)
#define AHPA_LOG_WARN(...) \
    ahpa_log_write(AHPA_LOG_SEV_WARNING, __FILE__, __LINE__, __VA_ARGS__)
#define AHPA_LOG_ERROR(...) ahpa_log_write(AHPA_LOG_SEV_ERROR, __FILE__, __LINE__, __VA_ARGS__)

#endif
