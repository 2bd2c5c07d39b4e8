/* Clock reads, in one place.
 *
 * Durations, TTLs, deadlines and waits use the monotonic clock, which
 * neither jumps nor steps back when the wall clock is set; the wall clock
 * is for timestamps that leave the process (Prometheus query times,
 * exported *_timestamp_seconds). Pure modules take times as arguments and
 * never read a clock. */
#ifndef AHPA_CLOCK_H
#define AHPA_CLOCK_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

/* CLOCK_MONOTONIC in milliseconds (an arbitrary origin; differences only). */
int64_t ahpa_clock_mono_ms(void);
/* CLOCK_REALTIME in unix milliseconds. */
int64_t ahpa_clock_wall_ms(void);

/* A condition variable whose timed waits run on the monotonic clock;
 * destroy with pthread_cond_destroy(). */
void ahpa_clock_cond_init(pthread_cond_t *cond);
/* The absolute monotonic time ms from now, for pthread_cond_timedwait on
 * a condition variable made by ahpa_clock_cond_init(). */
struct timespec ahpa_clock_mono_deadline(int64_t ms);

#endif
