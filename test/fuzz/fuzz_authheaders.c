/* Fuzz target: the front proxy's identity headers and the request
 * attributes (lib/auth), both fed by whoever reaches the server. The input
 * is "Name: value" lines; the first line's text is also taken as a path. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/arena.h"
#include "ahpa/auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_LINES 2048
#define FAIL(what)                               \
    do {                                         \
        fprintf(stderr, "invariant: %s\n", what); \
        abort();                                 \
    } while (0)

static void check_user(const struct ahpa_auth_user *u)
{
    if (u->name == NULL)
        return;
    if (u->ngroups > AHPA_AUTH_MAX_GROUPS || u->nextra > AHPA_AUTH_MAX_EXTRA)
        FAIL("counts within bounds");
    for (size_t i = 0; i < u->ngroups; i++)
        if (u->groups[i][0] == '\0' || strlen(u->groups[i]) > AHPA_AUTH_MAX_NAME_BYTES)
            FAIL("groups non-empty and bounded");
    for (size_t i = 0; i < u->nextra; i++)
        if (u->extra[i].key[0] == '\0' || u->extra[i].nvalues == 0 ||
            u->extra[i].nvalues > AHPA_AUTH_MAX_EXTRA_VALUES)
            FAIL("extras non-empty and bounded");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    struct ahpa_arena *arena = ahpa_arena_new(4096);
    struct ahpa_auth_header *h = malloc(MAX_LINES * sizeof(*h));
    size_t n = 0;
    char *first = NULL;
    for (char *line = text, *next; line != NULL && n < MAX_LINES; line = next) {
        next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        if (first == NULL)
            first = ahpa_arena_strdup(arena, line);
        char *colon = strchr(line, ':');
        if (colon == NULL)
            continue;
        *colon = '\0';
        h[n++] = (struct ahpa_auth_header){line, colon[1] == ' ' ? colon + 2 : colon + 1};
    }
    static const char *const user[] = {"X-Remote-User", "X-Other-User"};
    static const char *const group[] = {"X-Remote-Group"};
    static const char *const extra[] = {"X-Remote-Extra-", "X-E-"};
    struct ahpa_auth_user u;
    if (ahpa_auth_frontproxy_user(h, n, user, 2, group, 1, extra, 2, arena, &u, NULL) == 0)
        check_user(&u);
    else if (u.name != NULL)
        FAIL("a refused set of headers names nobody");
    struct ahpa_auth_attrs a;
    ahpa_auth_request_attrs("GET", first != NULL ? first : "", false, arena, &a);
    /* Every field is a string; only /api and /apis paths are resources
     * (an empty segment gives an empty field, as kube-apiserver's does). */
    const char *f[] = {a.verb, a.group, a.version, a.resource, a.subresource, a.ns, a.name, a.path};
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
        if (f[i] == NULL)
            FAIL("attributes are strings");
    if (a.resource_request && strstr(a.path, "api") == NULL)
        FAIL("resources live under /api and /apis");
    free(h);
    ahpa_arena_free(arena);
    free(text);
    return 0;
}
