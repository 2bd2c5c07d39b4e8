/* Events on AHPA objects (issue 12, item 3): core/v1 Events that tell a
 * user what the controller decided (managed HPA created, updated or
 * deleted, strategy changed, a user's HPA in the way, prediction
 * unavailable and why, available again, invalid spec).
 *
 * Recorded the way Kubernetes' event recorder (client-go
 * tools/record) aggregates them, with one difference that makes the
 * de-duplication survive a change of leader:
 *
 *   - The Event's name is deterministic: "<object name>.<16 hex digits
 *     of a hash of uid, type, reason and message>". The same event for the
 *     same object is therefore always the same Event object: the first
 *     occurrence is created with count 1; a repeat is a merge PATCH of
 *     count + 1 and lastTimestamp. A new leader that repeats an event the
 *     old one recorded finds the Event (409 AlreadyExists on create), reads
 *     its count and patches it, instead of adding a second Event.
 *   - Similar events (same object, type and reason, another message) are
 *     folded as client-go's EventAggregator folds them: within a window of
 *     AHPA_EVENTS_AGGREGATE_INTERVAL_S seconds since the group's last
 *     event, the first AHPA_EVENTS_AGGREGATE_MAX - 1 distinct messages
 *     keep their own Events; every other message counts up the group's
 *     combined Event, "<object name>.<hash of uid, type, reason>", whose
 *     message becomes AHPA_EVENTS_COMBINED_PREFIX + the latest message.
 *   - A token bucket per involved object (uid): AHPA_EVENTS_BURST events,
 *     then one every AHPA_EVENTS_REFILL_S seconds (client-go's spam
 *     filter: burst 25, 1/300 s). An event over the limit is dropped and
 *     counted.
 *   - Bounded memory: at most AHPA_EVENTS_OBJECTS_MAX objects' buckets
 *     and AHPA_EVENTS_SEEN_MAX known Events (counts), each found by a
 *     hash lookup; past that the entry used longest ago is forgotten (an
 *     Event forgotten and repeated is found again through the 409).
 *
 * The recorder does not decide who may write: the caller checks
 * leadership first (only the leader emits).
 *
 * Threads: not thread-safe; the controller's loop thread owns it. */
#ifndef AHPA_CONTROLLER_EVENTS_H
#define AHPA_CONTROLLER_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ahpa_error;
struct ahpa_kube_client;

#define AHPA_EVENTS_BURST 25
#define AHPA_EVENTS_REFILL_S 300
#define AHPA_EVENTS_OBJECTS_MAX 4096
#define AHPA_EVENTS_SEEN_MAX 4096
#define AHPA_EVENTS_NAME_MAX 254 /* a DNS subdomain (253) and the NUL */
#define AHPA_EVENTS_STRATEGY_MAX 32
#define AHPA_EVENTS_AGGREGATE_MAX 10          /* client-go's defaultAggregateMaxEvents */
#define AHPA_EVENTS_AGGREGATE_INTERVAL_S 600  /* defaultAggregateIntervalInSeconds */
#define AHPA_EVENTS_AGGREGATES_MAX 4096       /* groups remembered */
#define AHPA_EVENTS_COMBINED_PREFIX "(combined from similar events): "

/* The object an event is about (an AHPA); strings borrowed for the call. */
struct ahpa_controller__event_object {
    const char *ns, *name, *uid;
};

enum ahpa_controller__event_type {
    AHPA_EVENT_NORMAL,
    AHPA_EVENT_WARNING,
};

struct ahpa_controller__events_stats {
    uint64_t created, patched, dropped, failed;
    uint64_t found;       /* of patched: Events this process did not know (the 409) */
    uint64_t combined;    /* events recorded on a combined Event */
    size_t objects, seen, aggregates; /* entries held now (at most their bounds) */
};

struct ahpa_controller__events;

/* kube: borrowed, must outlive the recorder. component: the
 * source.component / reportingComponent (borrowed, static). Caller frees
 * with ahpa_controller__events_free(). */
struct ahpa_controller__events *ahpa_controller__events_new(struct ahpa_kube_client *kube,
                                                            const char *component);
/* The same with other bounds than AHPA_EVENTS_OBJECTS_MAX and
 * AHPA_EVENTS_SEEN_MAX (at least 1 each): for tests of the eviction. */
struct ahpa_controller__events *ahpa_controller__events_new_bounded(
    struct ahpa_kube_client *kube, const char *component, size_t objects_max, size_t seen_max);
void ahpa_controller__events_free(struct ahpa_controller__events *ev); /* NULL: no-op */

/* Records one event on `obj` at now_s (wall clock, seconds). Returns 0
 * when the Event was created or its count raised, 1 when the object's
 * rate limit dropped it, or a negative code (err set) when the API
 * failed. The message is cut at 1 KiB. */
int ahpa_controller__events_emit(struct ahpa_controller__events *ev,
                                 const struct ahpa_controller__event_object *obj,
                                 enum ahpa_controller__event_type type, const char *reason,
                                 const char *message, int64_t now_s, struct ahpa_error *err);

/* Notes the scaleStrategy seen for the object `uid` this cycle (every
 * replica calls it, leader or not, so that a new leader knows the last
 * strategy). Returns true and copies the previous strategy into prev
 * (size n) when it differs from the last one noted; false the first time
 * an object is seen (nothing to compare) and when it is the same. */
bool ahpa_controller__events_strategy(struct ahpa_controller__events *ev, const char *uid,
                                      const char *strategy, int64_t now_s, char *prev, size_t n);

/* The name of the combined Event of (object, type, reason): no message in
 * it, so that any leader finds the same one. Into out (AHPA_EVENTS_NAME_MAX). */
void ahpa_controller__event_combined_name(const char *obj_name, const char *uid,
                                          enum ahpa_controller__event_type type,
                                          const char *reason, char *out);

/* The Event name for these fields, into out (AHPA_EVENTS_NAME_MAX). */
void ahpa_controller__event_name(const char *obj_name, const char *uid,
                                 enum ahpa_controller__event_type type, const char *reason,
                                 const char *message, char *out);

void ahpa_controller__events_stats(const struct ahpa_controller__events *ev,
                                   struct ahpa_controller__events_stats *out);

#endif
