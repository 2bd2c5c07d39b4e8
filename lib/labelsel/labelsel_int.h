/* Internals shared by the files of lib/labelsel. */
#ifndef AHPA_LABELSEL_INT_H
#define AHPA_LABELSEL_INT_H

#include "ahpa/labelsel.h"

/* Checks the number of values (and integer values for GT/LT) an operator
 * needs; the message names the operator as Kubernetes does. */
int ahpa_labelsel__check_arity(enum ahpa_labelsel_op op,
                               const char *const *values, size_t n,
                               struct ahpa_error *err);

/* Operator spelling in the string syntax ("=", "!=", "in", ...). */
const char *ahpa_labelsel__op_str(enum ahpa_labelsel_op op);

#endif
