/* Fuzz target: label selector string and JSON parsers (lib/labelsel).
 * Every accepted selector must render canonically, reparse to the same
 * canonical form, and render as PromQL without crashing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/buf.h"
#include "ahpa/labelsel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void exercise(const struct ahpa_labelsel *sel)
{
    struct ahpa_buf a, b;
    ahpa_buf_init(&a);
    ahpa_buf_init(&b);
    ahpa_labelsel_canonical(sel, &a);
    struct ahpa_labelsel *again = NULL;
    if (ahpa_labelsel_parse(ahpa_buf_cstr(&a), &again, NULL) != 0)
        abort();
    ahpa_labelsel_canonical(again, &b);
    if (strcmp(ahpa_buf_cstr(&a), ahpa_buf_cstr(&b)) != 0)
        abort();
    ahpa_buf_reset(&b);
    struct ahpa_labelsel_promql_opts o = {"label_", AHPA_LABELSEL_NAMES_KSM};
    ahpa_labelsel_render_promql(sel, &o, &b, NULL);
    const char *names[] = {"a", "app", "k"};
    const char *values[] = {"b", "bert", "5"};
    struct ahpa_labelsel_set set = {names, values, 3};
    (void)ahpa_labelsel_matches(sel, &set);
    ahpa_labelsel_free(again);
    ahpa_buf_dispose(&a);
    ahpa_buf_dispose(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    struct ahpa_labelsel *sel = NULL;
    if (ahpa_labelsel_parse(s, &sel, NULL) == 0) {
        exercise(sel);
        ahpa_labelsel_free(sel);
    }
    if (ahpa_labelsel_parse_json(s, size, &sel, NULL) == 0) {
        exercise(sel);
        ahpa_labelsel_free(sel);
    }
    struct ahpa_buf q;
    ahpa_buf_init(&q);
    ahpa_labelsel_promql_quote(&q, s, size);
    ahpa_buf_dispose(&q);
    free(s);
    return 0;
}
