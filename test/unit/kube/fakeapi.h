/* A canned Kubernetes apiserver for one collection, on 127.0.0.1:0, for
 * the informer tests: objects in memory with increasing resourceVersions,
 * list with limit/continue, watch as a chunked stream of JSON lines (the
 * history after the asked RV, then live events), bookmarks on request,
 * compaction (watches from before it get 410 Gone, as an HTTP status or an
 * ERROR event), and dropping every open stream. Threads: one acceptor and
 * one per connection; every loop is bounded in count and time. */
#ifndef AHPA_TEST_FAKEAPI_H
#define AHPA_TEST_FAKEAPI_H

#include <stdbool.h>
#include <stddef.h>

struct fakeapi;

/* Serves the collection at `path` (e.g. "/api/v1/pods") for objects of
 * `kind`. Aborts the test on failure. */
struct fakeapi *fakeapi_start(const char *path, const char *kind);
void fakeapi_stop(struct fakeapi *f);
char *fakeapi_url(struct fakeapi *f); /* caller frees */

/* Creates or updates ns/name (a new RV, an ADDED or MODIFIED event);
 * `spec` is any JSON text stored under "spec". Returns the new RV. */
long fakeapi_put(struct fakeapi *f, const char *ns, const char *name, const char *spec);
/* Deletes it (a DELETED event); returns the new RV, or 0 if absent. */
long fakeapi_delete(struct fakeapi *f, const char *ns, const char *name);
/* Sends a BOOKMARK with the current RV on every open stream; returns it. */
long fakeapi_bookmark(struct fakeapi *f);
/* Forgets the history (events not yet sent are never sent): watches from
 * an RV below the current one get 410.
 * as_event: answer 200 and an ERROR event instead of HTTP 410. Open
 * streams are sent an ERROR 410 event if as_event, else dropped. */
void fakeapi_compact(struct fakeapi *f, bool as_event);
/* While held, open streams send nothing and new watches get 503, so a
 * test can change and compact the history behind a client's back. */
void fakeapi_hold(struct fakeapi *f, bool held);
/* New watches get this HTTP status and body (status 0: serve again). */
void fakeapi_fail_watches(struct fakeapi *f, int status, const char *body);
/* Cuts every open watch stream without ending it properly. */
void fakeapi_drop_streams(struct fakeapi *f);
/* Sends this raw line (plus '\n') on every open stream. */
void fakeapi_send_raw(struct fakeapi *f, const char *line);

long fakeapi_rv(struct fakeapi *f);
size_t fakeapi_lists(struct fakeapi *f);     /* list requests (pages) */
size_t fakeapi_watches(struct fakeapi *f);   /* watch requests */
size_t fakeapi_streams(struct fakeapi *f);   /* watch streams open now */
/* Streams that began (they receive broadcasts from then on). */
size_t fakeapi_streams_started(struct fakeapi *f);
/* The resourceVersion parameter of the latest watch, and its full target. */
long fakeapi_last_watch_rv(struct fakeapi *f);
void fakeapi_last_target(struct fakeapi *f, char *out, size_t n);
/* Page size the server enforces regardless of "limit" (0 = honour it). */
void fakeapi_set_page(struct fakeapi *f, size_t n);

#endif
