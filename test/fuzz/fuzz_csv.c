/* Fuzz target: CSV of (timestamp, value) rows and resampling (lib/series). */
#include <stdint.h>
#include <stdlib.h>

#include "ahpa/series.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ahpa_series_samples s;
    struct ahpa_series_csv_options opt = {0, 1, 1000, true};
    ahpa_series_samples_init(&s);
    if (ahpa_series_csv_parse((const char *)data, size, &opt, &s, NULL) == 0 && s.n > 0) {
        struct ahpa_series out;
        ahpa_series_init(&out);
        int64_t step = ahpa_series_samples_median_step(&s);
        if (step > 0)
            ahpa_series_resample(&s, step, AHPA_SERIES_AGG_MEAN, 100000, &out, NULL);
        ahpa_series_dispose(&out);
    }
    ahpa_series_samples_dispose(&s);
    return 0;
}
