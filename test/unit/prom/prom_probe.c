/* One instant query through lib/prom with the --prometheus-* options, for
 * the TLS test (tls_prometheus.sh):
 *
 *   prom_probe URL [--ca F] [--insecure] [--cert F --key F] [--token-file F]
 *              [--header k=v] [--post] [--timeout-ms N] [--max-bytes N] QUERY
 *
 * Prints "ok <series>" (exit 0) or "error <ENAME> <message>" (exit 1). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/error.h"
#include "ahpa/httpc.h"
#include "ahpa/prom.h"

#define MAX_HEADERS 8

static int usage(void)
{
    fprintf(stderr, "usage: prom_probe URL [--ca F] [--insecure] [--cert F --key F] "
                    "[--token-file F] [--header k=v] [--post] [--timeout-ms N] [--max-bytes N] "
                    "QUERY\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return usage();
    const char *headers[MAX_HEADERS];
    struct ahpa_prom_options o = {.url = argv[1], .headers = headers};
    int i = 2;
    for (; i < argc - 1; i++) {
        const char *a = argv[i];
        bool has_value = i + 1 < argc - 1;
        if (strcmp(a, "--insecure") == 0)
            o.insecure_skip_verify = true;
        else if (strcmp(a, "--post") == 0)
            o.verb = AHPA_PROM_POST;
        else if (!has_value)
            return usage();
        else if (strcmp(a, "--ca") == 0)
            o.ca_file = argv[++i];
        else if (strcmp(a, "--cert") == 0)
            o.cert_file = argv[++i];
        else if (strcmp(a, "--key") == 0)
            o.key_file = argv[++i];
        else if (strcmp(a, "--token-file") == 0)
            o.token_file = argv[++i];
        else if (strcmp(a, "--timeout-ms") == 0)
            o.timeout_ms = strtoll(argv[++i], NULL, 10);
        else if (strcmp(a, "--max-bytes") == 0)
            o.max_response_bytes = (size_t)strtoull(argv[++i], NULL, 10);
        else if (strcmp(a, "--header") == 0 && o.n_headers < MAX_HEADERS)
            headers[o.n_headers++] = argv[++i];
        else
            return usage();
    }
    struct ahpa_error err = {0};
    struct ahpa_prom_result r;
    ahpa_prom_result_init(&r);
    int rc = ahpa_httpc_global_init(&err);
    struct ahpa_prom_client *c = rc == 0 ? ahpa_prom_client_new(&o, &err) : NULL;
    if (c != NULL)
        rc = ahpa_prom_query(c, argv[argc - 1], -1, &r, &err);
    else
        rc = -err.code;
    if (rc == 0)
        printf("ok %zu\n", r.n_series);
    else
        printf("error %s %s\n", ahpa_error_name(rc), err.msg);
    ahpa_prom_result_dispose(&r);
    ahpa_prom_client_free(c);
    return rc == 0 ? 0 : 1;
}
