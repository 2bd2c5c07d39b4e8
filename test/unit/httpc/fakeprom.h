/* A canned Prometheus for the controller and API tests: answers
 * /api/v1/query_range (GET or form POST) with one matrix series whose
 * samples a test's callback chooses, one per step from start to end.
 *
 *   static int usage(void *ud, bool replicas, double t, double *v)
 *   {
 *       *v = replicas ? 3 : 100 + 80 * sin(...);
 *       return FAKEPROM_SAMPLE;
 *   }
 *   static void handler(const struct testsrv_request *req,
 *                       struct testsrv_reply *reply, void *ud)
 *   {
 *       fakeprom_answer_range(req, reply, usage, ud);
 *   }
 *
 * Anything else (another path, no positive step) is answered 400 with a
 * Prometheus error body. The reply's body is a thread-local buffer of
 * 1 MiB (testsrv answers each connection on its own thread), valid until
 * the next answer on that thread; a series longer than that is cut short. */
#ifndef AHPA_TEST_FAKEPROM_H
#define AHPA_TEST_FAKEPROM_H

#include <stdbool.h>

#include "testsrv.h"

enum {
    FAKEPROM_SAMPLE = 0, /* *value is the sample; NaN is sent as "NaN" */
    FAKEPROM_SKIP = 1,   /* no sample at this step */
    FAKEPROM_END = 2,    /* the series ends before this step */
};

/* replicas: the query asks for kube_deployment_status_replicas (else it
 * is the usage query); t: the step's unix seconds. */
typedef int (*fakeprom_sample_fn)(void *ud, bool replicas, double t, double *value);

/* The query parameter name of a target or form body as a number, NaN
 * when absent. */
double fakeprom_param(const char *query, const char *name);

void fakeprom_answer_range(const struct testsrv_request *req, struct testsrv_reply *reply,
                           fakeprom_sample_fn sample, void *ud);

#endif
