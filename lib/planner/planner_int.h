/* Internals of lib/planner shared by planner.c (one cycle's terms, the
 * clamp, the reason text) and policy.c (the policy over the history). */
#ifndef AHPA_PLANNER_INT_H
#define AHPA_PLANNER_INT_H

#include "ahpa/planner.h"

/* ceil(x) as pods: within 1e-9 above an integer counts as it; <= 0 or
 * NaN gives 0; saturates at INT32_MAX. */
int32_t ahpa_planner__pods_for(double x);

/* Appends to r->text, truncating silently. */
void ahpa_planner__text_add(struct ahpa_planner_result *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* 0 or -AHPA_EINVAL with the message of ahpa_planner_plan(). */
int ahpa_planner__check_input(const struct ahpa_planner_input *in, struct ahpa_error *err);

/* Highest non-NaN value of v[0..n), NaN when none. */
double ahpa_planner__peak_of(const double *v, size_t n);

/* The reason text of the proactive term (r->forecast_peak, r->proactive)
 * and of the reactive one (r->reactive, r->reactive_raw, r->flags). */
void ahpa_planner__say_proactive(const struct ahpa_planner_input *in,
                                 struct ahpa_planner_result *r);
void ahpa_planner__say_reactive(const struct ahpa_planner_input *in,
                                struct ahpa_planner_result *r);

/* r->final from r->unclamped within the spec's and the bounds' limits. */
void ahpa_planner__clamp(const struct ahpa_planner_input *in, struct ahpa_planner_result *r);

#endif
