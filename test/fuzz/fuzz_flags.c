/* Fuzz target: the command-line parser (lib/config). The input is split
 * at NUL bytes into argv[1..]. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/config.h"
#include "ahpa/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    memcpy(buf, data, size);
    buf[size] = '\0';
    char *argv[65] = {"ahpa-metrics-adapter"};
    int argc = 1;
    for (size_t i = 0; i < size && argc < 64;) {
        argv[argc++] = buf + i;
        i += strlen(buf + i) + 1;
    }
    struct ahpa_config cfg;
    struct ahpa_error err = {0};
    ahpa_config_load(&cfg, argc, argv, &err);
    ahpa_config_dispose(&cfg);
    free(buf);
    return 0;
}
