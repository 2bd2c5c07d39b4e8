/* Fuzz target: Accept header negotiation (lib/api), the one parser every
 * request goes through. The input is the header value. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    enum ahpa_api_accept a = ahpa_api__negotiate(s, true);
    enum ahpa_api_accept b = ahpa_api__negotiate(s, false);
    /* Without discovery allowed, aggregated answers can never be chosen. */
    if (b == AHPA_ACCEPT_DISCOVERY_V2 || b == AHPA_ACCEPT_DISCOVERY_V2BETA1)
        abort();
    (void)a;
    free(s);
    return 0;
}
