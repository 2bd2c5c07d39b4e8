/* Fuzz target: a watch stream (lib/kube). The input is fed to the line
 * splitter in pieces whose sizes come from the input itself, every line is
 * decoded as a watch event, and the same bytes are tried as a kubeconfig
 * and as a Status body. Invariants: lines never exceed the bound, a
 * decoded event has what its type promises. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kube/kube_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LINE_MAX_FUZZ 512

static int on_line(const char *line, size_t len, void *ud)
{
    (void)ud;
    if (len == 0 || len > LINE_MAX_FUZZ)
        abort();
    struct ahpa_kube__event ev;
    if (ahpa_kube__event_decode(line, len, "Pod", &ev, NULL) != 0) {
        if (ev.object != NULL)
            abort();
        return 0;
    }
    if (ev.type == AHPA_KUBE_EV_ERROR) {
        if (ev.object != NULL || ev.error_code <= 0)
            abort();
    } else if (!json_is_object(ev.object) || ev.rv == NULL || ev.rv[0] == '\0') {
        abort();
    } else if (ev.type != AHPA_KUBE_EV_BOOKMARK) {
        struct ahpa_kube_obj *o = NULL;
        if (ahpa_kube__obj_new(json_incref(ev.object), &o, NULL) != 0)
            abort(); /* what decodes must make a store object */
        ahpa_kube_obj_release(o);
    }
    ahpa_kube__event_dispose(&ev);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ahpa_kube__lines ls;
    ahpa_kube__lines_init(&ls, LINE_MAX_FUZZ);
    size_t step = size > 0 ? (size_t)data[0] % 64 + 1 : 1;
    for (size_t off = 0; off < size; off += step)
        ahpa_kube__lines_feed(&ls, (const char *)data + off, size - off < step ? size - off : step,
                              on_line, NULL, NULL);
    ahpa_kube__lines_dispose(&ls);

    char reason[64];
    if (ahpa_kube_status_error(410, (const char *)data, size, "fuzz", reason, sizeof(reason),
                               NULL) >= 0)
        abort();

    struct ahpa_kube_options o = {.allow_insecure = true};
    struct ahpa_kube_config *c = NULL;
    if (ahpa_kube_config_parse((const char *)data, size, "/nonexistent", &o, &c, NULL) == 0 &&
        c->server == NULL)
        abort();
    ahpa_kube_config_free(c);
    return 0;
}
