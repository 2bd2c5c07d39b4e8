/* Fuzz target: timestamps and Go durations (lib/base). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/quantity.h"
#include "ahpa/str.h"
#include "ahpa/timefmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    int64_t t, ms;
    double q;
    if (ahpa_time_parse(s, &t, NULL) == 0) {
        char out[AHPA_RFC3339_MAX];
        ahpa_time_format_rfc3339(t, out);
    }
    ahpa_str_to_duration_ms(s, &ms, NULL);
    if (ahpa_quantity_parse(s, &q, NULL) == 0) {
        char out[AHPA_QUANTITY_MAX];
        ahpa_quantity_format(q, out);
    }
    ahpa_url_decode_inplace(s, NULL);
    free(s);
    return 0;
}
