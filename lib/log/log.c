/* klog-compatible line writer, and the table that folds repeated causes
 * into one summary per interval.
 *
 * Lines: one fputs per line under the stream's own lock, so lines from
 * different threads never interleave.
 *
 * Repeats: `repeat.lock` guards the whole table (slots, next_due, the
 * clock pointer); lines about repeats are written while it is held, so
 * the order on the stream is the order of the table's decisions. Nothing
 * called under the lock logs or takes another lock of ours. */
#include "ahpa/log.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "ahpa/str.h"
#include "ahpa/timefmt.h"

static atomic_int verbosity;
static _Atomic(FILE *) output;

void ahpa_log_set_verbosity(int level)
{
    atomic_store(&verbosity, level < 0 ? 0 : level);
}

int ahpa_log_verbosity(void)
{
    return atomic_load_explicit(&verbosity, memory_order_relaxed);
}

void ahpa_log_set_output(FILE *out)
{
    atomic_store(&output, out);
}

static const char severity_letter[] = {'I', 'W', 'E', 'F'};

static void write_line_v(enum ahpa_log_severity sev, const char *file, int line, const char *fmt,
                         va_list ap) __attribute__((format(printf, 4, 0)));

static void write_line_v(enum ahpa_log_severity sev, const char *file, int line, const char *fmt,
                         va_list ap)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct ahpa_civil c;
    ahpa_civil_from_unix((int64_t)ts.tv_sec, &c);
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;

    char text[2048];
    int n = snprintf(text, sizeof(text), "%c%02d%02d %02d:%02d:%02d.%06ld %7ld %s:%d] ",
                     severity_letter[sev], c.month, c.day, c.hour, c.minute, c.second,
                     ts.tv_nsec / 1000, (long)syscall(SYS_gettid), base, line);
    if (n < 0 || (size_t)n >= sizeof(text))
        n = 0;
    vsnprintf(text + n, sizeof(text) - (size_t)n - 1, fmt, ap);
    /* One line per call: control characters from inputs are neutralised. */
    for (char *p = text + n; *p; p++) {
        if ((unsigned char)*p < 0x20)
            *p = ' ';
    }
    size_t len = strlen(text); /* vsnprintf left room for the newline */
    text[len] = '\n';
    text[len + 1] = '\0';
    FILE *out = atomic_load(&output);
    fputs(text, out ? out : stderr);
}

static void write_line(enum ahpa_log_severity sev, const char *file, int line, const char *fmt,
                       ...) __attribute__((format(printf, 4, 5)));

static void write_line(enum ahpa_log_severity sev, const char *file, int line, const char *fmt,
                       ...)
{
    va_list ap;
    va_start(ap, fmt);
    write_line_v(sev, file, line, fmt, ap);
    va_end(ap);
}

/* --- repeated causes -------------------------------------------------- */

#define DEFAULT_REPEAT_INTERVAL_MS 10000
#define WHAT_MAX 96

struct repeat_slot {
    bool used;
    enum ahpa_log_severity sev;
    const char *file;              /* __FILE__: static storage */
    int line;
    char cause[AHPA_LOG_CAUSE_MAX];
    char what[WHAT_MAX];
    char detail[AHPA_LOG_DETAIL_MAX]; /* of the latest counted occurrence */
    int64_t window_start_ms;
    int64_t last_seen_ms;
    uint64_t count;                /* occurrences in this window */
    uint64_t unreported;           /* of which not yet written or summarised */
};

static struct {
    pthread_mutex_t lock;
    int64_t (*now_ms)(void);
    int64_t next_due_ms;           /* earliest window end with unreported > 0 */
    struct repeat_slot slots[AHPA_LOG_REPEAT_SLOTS];
} repeat = {.lock = PTHREAD_MUTEX_INITIALIZER, .next_due_ms = INT64_MAX};

static atomic_llong repeat_interval_ms = DEFAULT_REPEAT_INTERVAL_MS;
/* Slots with unreported counts; lets plain log calls skip the lock. */
static atomic_int repeat_pending;

void ahpa_log_set_repeat_interval_ms(int64_t ms)
{
    atomic_store(&repeat_interval_ms, ms < 0 ? 0 : ms);
}

int64_t ahpa_log_repeat_interval_ms(void)
{
    return atomic_load(&repeat_interval_ms);
}

static int64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void ahpa_log_set_clock(int64_t (*now_ms)(void))
{
    pthread_mutex_lock(&repeat.lock);
    repeat.now_ms = now_ms;
    pthread_mutex_unlock(&repeat.lock);
}

static int64_t now_locked(void)
{
    return repeat.now_ms != NULL ? repeat.now_ms() : monotonic_ms();
}

/* 12345 -> "12,345". */
static void format_count(uint64_t n, char *out, size_t cap)
{
    char digits[24];
    int len = snprintf(digits, sizeof(digits), "%" PRIu64, n);
    size_t o = 0;
    for (int i = 0; i < len && o + 2 < cap; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = digits[i];
    }
    out[o] = '\0';
}

static void format_span(int64_t ms, char *out, size_t cap)
{
    if (ms < 1000)
        snprintf(out, cap, "%" PRId64 "ms", ms < 0 ? 0 : ms);
    else
        snprintf(out, cap, "%" PRId64 "s", (ms + 500) / 1000);
}

/* Writes the slot's summary and starts its next window at `now`. */
static void summarise_locked(struct repeat_slot *s, int64_t now)
{
    char count[32], span[32];
    format_count(s->count, count, sizeof(count));
    format_span(now - s->window_start_ms, span, sizeof(span));
    write_line(s->sev, s->file, s->line, "%s \xc3\x97%s in the last %s: %s (last: %s)", s->what,
               count, span, s->cause, s->detail);
    s->window_start_ms = now;
    s->count = 0;
    s->unreported = 0;
    atomic_fetch_sub(&repeat_pending, 1);
}

static void recompute_next_due_locked(int64_t interval)
{
    int64_t due = INT64_MAX;
    for (size_t i = 0; i < AHPA_LOG_REPEAT_SLOTS; i++) {
        const struct repeat_slot *s = &repeat.slots[i];
        if (s->used && s->unreported > 0 && s->window_start_ms + interval < due)
            due = s->window_start_ms + interval;
    }
    repeat.next_due_ms = due;
}

static void flush_due_locked(int64_t now)
{
    if (now < repeat.next_due_ms)
        return;
    int64_t interval = atomic_load(&repeat_interval_ms);
    for (size_t i = 0; i < AHPA_LOG_REPEAT_SLOTS; i++) {
        struct repeat_slot *s = &repeat.slots[i];
        if (s->used && s->unreported > 0 && now - s->window_start_ms >= interval)
            summarise_locked(s, now);
    }
    recompute_next_due_locked(interval);
}

static struct repeat_slot *find_locked(const char *file, int line, const char *cause)
{
    for (size_t i = 0; i < AHPA_LOG_REPEAT_SLOTS; i++) {
        struct repeat_slot *s = &repeat.slots[i];
        if (s->used && s->line == line && strcmp(s->file, file) == 0 &&
            strncmp(s->cause, cause, sizeof(s->cause) - 1) == 0)
            return s;
    }
    return NULL;
}

/* A free slot, or the one least recently seen, its pending count written. */
static struct repeat_slot *claim_locked(int64_t now)
{
    struct repeat_slot *victim = &repeat.slots[0];
    for (size_t i = 0; i < AHPA_LOG_REPEAT_SLOTS; i++) {
        struct repeat_slot *s = &repeat.slots[i];
        if (!s->used)
            return s;
        if (s->last_seen_ms < victim->last_seen_ms)
            victim = s;
    }
    if (victim->unreported > 0)
        summarise_locked(victim, now);
    victim->used = false;
    return victim;
}

void ahpa_log_repeat(enum ahpa_log_severity sev, const char *file, int line, const char *what,
                     const char *cause, const char *fmt, ...)
{
    char detail[AHPA_LOG_DETAIL_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    if (cause == NULL)
        cause = "";

    int64_t interval = atomic_load(&repeat_interval_ms);
    if (interval == 0) {
        write_line(sev, file, line, "%s: %s", what, detail);
        return;
    }
    pthread_mutex_lock(&repeat.lock);
    int64_t now = now_locked();
    flush_due_locked(now);
    struct repeat_slot *s = find_locked(file, line, cause);
    if (s != NULL && now - s->window_start_ms < interval) {
        /* Within the window: count it. */
        s->count++;
        if (s->unreported++ == 0)
            atomic_fetch_add(&repeat_pending, 1);
        ahpa_strlcpy(s->detail, detail, sizeof(s->detail));
        if (s->window_start_ms + interval < repeat.next_due_ms)
            repeat.next_due_ms = s->window_start_ms + interval;
    } else {
        /* New, evicted, or quiet for a whole interval: a new episode,
         * written in full. (A window that ended with a count was
         * summarised by flush_due_locked above.) */
        if (s == NULL) {
            s = claim_locked(now);
            s->used = true;
            s->file = file;
            s->line = line;
            ahpa_strlcpy(s->cause, cause, sizeof(s->cause));
        }
        s->sev = sev;
        ahpa_strlcpy(s->what, what, sizeof(s->what));
        ahpa_strlcpy(s->detail, detail, sizeof(s->detail));
        s->window_start_ms = now;
        s->count = 1;
        s->unreported = 0;
        write_line(sev, file, line, "%s: %s", what, detail);
    }
    s->last_seen_ms = now;
    pthread_mutex_unlock(&repeat.lock);
}

void ahpa_log_flush_due(void)
{
    if (atomic_load(&repeat_pending) == 0)
        return;
    pthread_mutex_lock(&repeat.lock);
    flush_due_locked(now_locked());
    pthread_mutex_unlock(&repeat.lock);
}

void ahpa_log_flush(void)
{
    pthread_mutex_lock(&repeat.lock);
    int64_t now = now_locked();
    for (size_t i = 0; i < AHPA_LOG_REPEAT_SLOTS; i++) {
        struct repeat_slot *s = &repeat.slots[i];
        if (s->used && s->unreported > 0)
            summarise_locked(s, now);
        s->used = false;
    }
    repeat.next_due_ms = INT64_MAX;
    pthread_mutex_unlock(&repeat.lock);
}

/* --- plain lines ------------------------------------------------------ */

void ahpa_log_write(enum ahpa_log_severity sev, const char *file, int line,
                    const char *fmt, ...)
{
    /* Any log call is a chance to write summaries that are due. */
    ahpa_log_flush_due();
    va_list ap;
    va_start(ap, fmt);
    write_line_v(sev, file, line, fmt, ap);
    va_end(ap);
}
