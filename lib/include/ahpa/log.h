/* klog-style log lines on stderr:
 *
 *   I1128 08:42:36.123456   12345 server.c:88] listening on 127.0.0.1:6443
 *
 * Severity letter, month and day, wall time with microseconds, thread id,
 * file:line, message. Verbosity follows klog's -v: AHPA_LOG_V(n, ...) prints
 * when the configured level is >= n. Only shell modules log; pure modules
 * return errors. Never log secrets (tokens, keys, Authorization headers).
 *
 * The level, the output stream and the table of repeated causes (below)
 * are the process-wide state outside the server context, as in klog: the
 * settings are made once at start-up and read atomically. */
#ifndef AHPA_LOG_H
#define AHPA_LOG_H

#include <stdint.h>
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

/* --- repeated messages ------------------------------------------------
 *
 * A failure that repeats (Prometheus down, every request answering 503)
 * must not write one line per occurrence (each one is counted on /metrics
 * instead). AHPA_LOG_WARN_REPEAT and AHPA_LOG_ERROR_REPEAT take what
 * failed (fixed text), a cause (a short, stable class of the failure: an
 * error code's description, a status class; never a message with unique
 * values in it) and the detail. Occurrences with the same call site and
 * cause are one cause:
 *
 *   - the first occurrence is written in full, as "what: detail";
 *   - later ones within the repeat interval are only counted;
 *   - when the interval has passed, the next log call (of any kind) or
 *     ahpa_log_flush_due() writes one summary
 *       "what ×12,345 in the last 10s: cause (last: detail)"
 *     counting every occurrence of the interval, the first included, and
 *     the count starts over for the next interval;
 *   - a cause quiet for a whole interval starts over: its next occurrence
 *     is written in full again.
 *
 * The causes live in a fixed table (AHPA_LOG_REPEAT_SLOTS); when it is
 * full the cause least recently seen is evicted, its pending count written
 * first. One mutex guards the table; lines are written while holding it,
 * so a summary never overtakes the occurrence it counts. Interval 0 turns
 * the limiting off (every occurrence written in full). */
#define AHPA_LOG_REPEAT_SLOTS 64
#define AHPA_LOG_CAUSE_MAX 64      /* longer causes are cut */
#define AHPA_LOG_DETAIL_MAX 240    /* the "last:" detail kept per cause */

void ahpa_log_set_repeat_interval_ms(int64_t ms);
int64_t ahpa_log_repeat_interval_ms(void);

/* The clock of the repeat table, in milliseconds (monotonic). NULL restores
 * CLOCK_MONOTONIC. For tests; set before logging starts. */
void ahpa_log_set_clock(int64_t (*now_ms)(void));

/* `file` is __FILE__ (static storage); `what` and `cause` are copied. */
void ahpa_log_repeat(enum ahpa_log_severity sev, const char *file, int line, const char *what,
                     const char *cause, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* Writes the summaries whose interval has passed. Call it periodically
 * (the main loop does), so a summary does not wait for the next failure. */
void ahpa_log_flush_due(void);
/* Writes every pending count now and empties the table (at exit). */
void ahpa_log_flush(void);

#define AHPA_LOG_WARN_REPEAT(what, cause, ...) \
    ahpa_log_repeat(AHPA_LOG_SEV_WARNING, __FILE__, __LINE__, what, cause, __VA_ARGS__)
#define AHPA_LOG_ERROR_REPEAT(what, cause, ...) \
    ahpa_log_repeat(AHPA_LOG_SEV_ERROR, __FILE__, __LINE__, what, cause, __VA_ARGS__)

#endif
