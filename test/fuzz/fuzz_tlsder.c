/* Fuzz target: client certificate chains as GnuTLS hands them over (DER
 * blobs), through verification and identity extraction (lib/tls). The
 * input is split into up to four blobs by its first bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/error.h"
#include "ahpa/tls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One CA for the whole run (test code: static state is fine here). */
static struct ahpa_tls_ca *trust(void)
{
    static struct ahpa_tls_ca *ca;
    if (ca == NULL) {
        struct ahpa_tls_issuer *issuer = NULL;
        if (ahpa_tls_issuer_generate(NULL, &issuer, NULL) == 0) {
            const char *pem = ahpa_tls_issuer_cert_pem(issuer);
            ahpa_tls_ca_load_pem(pem, strlen(pem), &ca, NULL);
            ahpa_tls_issuer_free(issuer);
        }
    }
    return ca;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || trust() == NULL)
        return 0;
    size_t n = 1 + data[0] % 4;
    const unsigned char *der[4];
    size_t len[4];
    size_t rest = size - 1, off = 1;
    for (size_t i = 0; i < n; i++) {
        len[i] = i + 1 == n ? rest : rest / (n - i);
        der[i] = data + off;
        off += len[i];
        rest -= len[i];
    }
    struct ahpa_tls_verify_options opt = {0};
    opt.purpose = AHPA_TLS_PURPOSE_CLIENT;
    struct ahpa_tls_identity id = {0};
    struct ahpa_error err = {0};
    if (ahpa_tls_verify_chain_der(der, len, n, trust(), &opt, &id, &err) == 0)
        ahpa_tls_identity_dispose(&id);
    char *pem = malloc(size + 1);
    memcpy(pem, data, size);
    pem[size] = '\0';
    struct ahpa_tls_identity id2 = {0};
    if (ahpa_tls_identity_from_pem(pem, size, &id2, NULL) == 0)
        ahpa_tls_identity_dispose(&id2);
    free(pem);
    return 0;
}
