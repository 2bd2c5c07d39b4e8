/* Fuzz target: cron expressions, fixed zones, TZif files (lib/cron).
 * The input is tried as text for the parsers and as bytes for TZif; a
 * parsed expression is matched against a spread of times. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/cron.h"
#include "ahpa/timefmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    struct ahpa_cron_expr e;
    if (ahpa_cron_parse(s, &e, NULL) == 0) {
        struct ahpa_civil c;
        for (int64_t t = 1700000000; t < 1700000000 + 40 * 86400; t += 7919) {
            ahpa_civil_from_unix(t, &c);
            (void)ahpa_cron_match(&e, &c);
        }
    }
    struct ahpa_cron_zone *z = NULL;
    if (ahpa_cron_zone_new_fixed(s, &z, NULL) == 0)
        ahpa_cron_zone_free(z);
    z = NULL;
    if (ahpa_cron_zone_new_tzif("fuzz", data, size, &z, NULL) == 0) {
        struct ahpa_civil c;
        for (int64_t t = -4000000000LL; t < 8000000000LL; t += 123456789) {
            ahpa_cron_zone_to_civil(z, t, &c);
            (void)ahpa_cron_zone_from_civil(z, &c);
        }
        ahpa_cron_zone_free(z);
    }
    free(s);
    return 0;
}
