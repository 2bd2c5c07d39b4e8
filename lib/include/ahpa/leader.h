/* Leader election with a coordination.k8s.io/v1 Lease, as client-go's
 * leaderelection package does it (module kube).
 *
 * The Lease's spec is the election record:
 *   holderIdentity        who leads ("" after a release)
 *   leaseDurationSeconds  how long others wait without seeing a change
 *   acquireTime           when the holder took it (RFC 3339, microseconds)
 *   renewTime             the holder's last renewal (RFC 3339, microseconds)
 *   leaseTransitions      how many times the holder changed
 *
 * Candidates never compare clocks: a candidate notes (on its own monotonic
 * clock) when it last saw the record change, and takes the Lease only
 * when it is free (no holder) or has not changed for the record's
 * leaseDurationSeconds. Every write is an update carrying the
 * resourceVersion that was read (a Lease that does not exist yet is
 * created); a 409 means someone wrote in between, and the record is read
 * again once at once.
 *
 * The elector runs one thread. A follower tries every retry period
 * (jittered upwards by up to 1.2 times, as client-go's JitterFactor). A
 * leader renews every retry period; it stops being leader as soon as
 * `renew_deadline` has passed since the start of its last successful
 * renewal (monotonic clock), or at once when it reads the Lease held by
 * another. ahpa_leader_is_leader() checks that deadline itself, so it
 * turns false on time even while the thread is stuck in a request. A
 * leader that stepped down keeps running as a candidate (unlike
 * kube-controller-manager, which exits: this process goes on serving).
 * Requests of a leader are cut at its deadline; a candidate's requests
 * last at most renew_deadline.
 *
 * Stopping with `release_on_cancel` clears the holder (holderIdentity "",
 * leaseDurationSeconds 1) so that a candidate takes over on its next try
 * instead of waiting out the lease duration.
 *
 * Threads: every function but _new/_start/_stop/_free may be called from
 * any thread at any time. Callbacks run on the elector's thread, one at a
 * time, with no lock held; they must return quickly. */
#ifndef AHPA_LEADER_H
#define AHPA_LEADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ahpa_buf;
struct ahpa_error;
struct ahpa_kube_client;

/* component-base's defaults (--leader-elect-*). */
#define AHPA_LEADER_DEFAULT_LEASE_DURATION_MS 15000
#define AHPA_LEADER_DEFAULT_RENEW_DEADLINE_MS 10000
#define AHPA_LEADER_DEFAULT_RETRY_PERIOD_MS 2000
#define AHPA_LEADER_DEFAULT_NAME "ahpa-metrics-adapter"
/* kube-controller-manager's healthz adaptor tolerance. */
#define AHPA_LEADER_HEALTHZ_TOLERANCE_MS 20000
/* hostname (at most 64) + "_" + a UUID (36) + NUL. */
#define AHPA_LEADER_IDENTITY_MAX 128

typedef void (*ahpa_leader_fn)(void *ud);
/* identity: borrowed for the call; "" when the Lease has no holder. */
typedef void (*ahpa_leader_new_leader_fn)(const char *identity, void *ud);

/* Strings are copied by ahpa_leader_new(). */
struct ahpa_leader_options {
    struct ahpa_kube_client *client; /* borrowed; must outlive the elector */
    const char *ns;                  /* the Lease's namespace; required */
    const char *name;                /* the Lease's name; NULL = AHPA_LEADER_DEFAULT_NAME */
    const char *identity;            /* NULL = ahpa_leader_default_identity() */
    /* 0 = the defaults above. Required: lease > renew deadline >
     * 1.2 x retry period (client-go's rule), each at least 100 ms. */
    int64_t lease_duration_ms;
    int64_t renew_deadline_ms;
    int64_t retry_period_ms;
    bool release_on_cancel;
    ahpa_leader_fn on_started_leading;       /* each may be NULL */
    ahpa_leader_fn on_stopped_leading;       /* also on stop, when leading */
    ahpa_leader_new_leader_fn on_new_leader; /* the holder seen changed */
    void *ud;
    uint64_t seed; /* jitter; 0 = from the clock */
};

struct ahpa_leader;

/* Checks and copies the options; not started. -AHPA_EINVAL for bad
 * names or durations. Caller frees with ahpa_leader_free(). */
struct ahpa_leader *ahpa_leader_new(const struct ahpa_leader_options *o, struct ahpa_error *err);
/* Starts the election thread. -AHPA_EINVAL if already started. */
int ahpa_leader_start(struct ahpa_leader *l, struct ahpa_error *err);
/* Stops the thread and waits for it: cuts the request under way short,
 * then, when leading and release_on_cancel, releases the Lease on a
 * connection of its own (at most 2 requests of at most
 * min(renew deadline, max(retry period, 1 s)) each). on_stopped_leading
 * runs before it returns when the elector was leading. Idempotent. */
void ahpa_leader_stop(struct ahpa_leader *l);
/* Stops it if running. NULL is a no-op. */
void ahpa_leader_free(struct ahpa_leader *l);

/* True while this process holds the Lease and its renew deadline has not
 * passed. NULL (no election configured) is always leader: a lone process
 * acts alone. Lock-free. */
bool ahpa_leader_is_leader(const struct ahpa_leader *l);

/* hostname + "_" + a random UUID, as kube-controller-manager builds its
 * identity; into buf (n >= AHPA_LEADER_IDENTITY_MAX is enough). */
void ahpa_leader_default_identity(char *buf, size_t n);

struct ahpa_leader_status {
    bool leading;                              /* ahpa_leader_is_leader() */
    char holder[AHPA_LEADER_IDENTITY_MAX * 2]; /* last holder seen; "" = none or unknown */
    char identity[AHPA_LEADER_IDENTITY_MAX * 2];
    char name[256];      /* "namespace/name" of the Lease */
    int64_t transitions; /* leaseTransitions last seen */
    uint64_t acquired;   /* times this process became leader */
    uint64_t lost;       /* times it stopped (deadline, taken, stop) */
    uint64_t writes;     /* Lease creates and updates that succeeded */
    uint64_t failures;   /* requests that failed (409s included) */
    uint64_t conflicts;  /* 409 answers to updates */
    /* Monotonic ms since the start of the last successful renewal while
     * leading; -1 when not leading. */
    int64_t since_renew_ms;
};

void ahpa_leader_status(const struct ahpa_leader *l, struct ahpa_leader_status *out);

/* The healthz check ("leaderElection" in component-base): fails when
 * the elector believes it leads but has not renewed for the lease
 * duration plus `tolerance_ms` (a stuck elector). Healthy when not
 * leading. Returns 0 or -AHPA_EUNAVAIL with the reason in reason[0..n). */
int ahpa_leader_check(const struct ahpa_leader *l, int64_t tolerance_ms, char *reason, size_t n);

/* Appends Prometheus text exposition: component-base's
 * leader_election_master_status{name} gauge and the elector's counters. */
void ahpa_leader_write_metrics(const struct ahpa_leader *l, struct ahpa_buf *out);

#endif
