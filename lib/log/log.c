/* klog-compatible line writer. One fputs per line under the stream's own
 * lock, so lines from different threads never interleave. */
#include "ahpa/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

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

void ahpa_log_write(enum ahpa_log_severity sev, const char *file, int line,
                    const char *fmt, ...)
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
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text + n, sizeof(text) - (size_t)n - 1, fmt, ap);
    va_end(ap);
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
