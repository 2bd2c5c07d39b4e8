/* The front proxy's identity headers, as k8s.io/apiserver's
 * requestheader authenticator reads them. Only called once the proxy's
 * certificate has been verified: the headers are trusted for that reason
 * alone. */
#include <string.h>
#include <strings.h>

#include "ahpa/arena.h"
#include "ahpa/auth.h"
#include "ahpa/error.h"
#include "ahpa/str.h"

static bool name_in(const char *name, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(name, list[i]) == 0)
            return true;
    return false;
}

static const char *prefix_of(const char *name, const char *const *prefixes, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (prefixes[i][0] != '\0' && strncasecmp(name, prefixes[i], strlen(prefixes[i])) == 0)
            return prefixes[i];
    return NULL;
}

/* An extra key: lower-cased, then percent-unescaped (the proxy escapes
 * keys because header names cannot carry every character). */
static int extra_key(const char *raw, struct ahpa_arena *arena, char **out, struct ahpa_error *err)
{
    char *k = ahpa_arena_strdup(arena, raw);
    for (char *c = k; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c - 'A' + 'a');
    struct ahpa_error inner = {0};
    if (ahpa_url_decode_inplace(k, &inner) < 0)
        return ahpa_error_set(err, AHPA_EINVAL, "bad escape in a front-proxy extra header name");
    if (*k == '\0')
        return ahpa_error_set(err, AHPA_EINVAL, "empty front-proxy extra key");
    *out = k;
    return 0;
}

static int add_extra(struct ahpa_auth_user *u, const char *key, const char *value,
                     struct ahpa_arena *arena, struct ahpa_error *err)
{
    struct ahpa_auth_extra *e = NULL;
    for (size_t i = 0; i < u->nextra && e == NULL; i++)
        if (strcmp(u->extra[i].key, key) == 0)
            e = &u->extra[i];
    if (e == NULL) {
        if (u->nextra == AHPA_AUTH_MAX_EXTRA)
            return ahpa_error_set(err, AHPA_ETOOBIG, "more than %d front-proxy extra keys",
                                  AHPA_AUTH_MAX_EXTRA);
        e = &u->extra[u->nextra++];
        e->key = key;
        e->values = ahpa_arena_alloc(arena, AHPA_AUTH_MAX_EXTRA_VALUES * sizeof(char *));
        e->nvalues = 0;
    }
    if (e->nvalues == AHPA_AUTH_MAX_EXTRA_VALUES)
        return ahpa_error_set(err, AHPA_ETOOBIG, "more than %d values of front-proxy extra %.64s",
                              AHPA_AUTH_MAX_EXTRA_VALUES, key);
    e->values[e->nvalues++] = value;
    return 0;
}

static int too_long(const char *what, const char *s, struct ahpa_error *err)
{
    if (strlen(s) > AHPA_AUTH_MAX_NAME_BYTES)
        return ahpa_error_set(err, AHPA_ETOOBIG, "front-proxy %s longer than %d bytes", what,
                              AHPA_AUTH_MAX_NAME_BYTES);
    return 0;
}

static int one_header(const struct ahpa_auth_header *h, const char *const *group_headers,
                      size_t ngroup, const char *const *extra_prefixes, size_t nextra,
                      struct ahpa_arena *arena, struct ahpa_auth_user *u, struct ahpa_error *err)
{
    if (name_in(h->name, group_headers, ngroup)) {
        if (*h->value == '\0')
            return 0;
        if (u->ngroups == AHPA_AUTH_MAX_GROUPS)
            return ahpa_error_set(err, AHPA_ETOOBIG, "more than %d front-proxy groups",
                                  AHPA_AUTH_MAX_GROUPS);
        if (too_long("group", h->value, err) < 0)
            return -AHPA_ETOOBIG;
        u->groups[u->ngroups++] = h->value;
        return 0;
    }
    const char *prefix = prefix_of(h->name, extra_prefixes, nextra);
    if (prefix == NULL)
        return 0;
    char *key;
    int rc = too_long("extra key", h->name, err);
    if (rc == 0)
        rc = too_long("extra value", h->value, err);
    if (rc == 0)
        rc = extra_key(h->name + strlen(prefix), arena, &key, err);
    if (rc == 0)
        rc = add_extra(u, key, h->value, arena, err);
    return rc;
}

int ahpa_auth_frontproxy_user(const struct ahpa_auth_header *h, size_t nh,
                              const char *const *user_headers, size_t nuser,
                              const char *const *group_headers, size_t ngroup,
                              const char *const *extra_prefixes, size_t nextra,
                              struct ahpa_arena *arena, struct ahpa_auth_user *u,
                              struct ahpa_error *err)
{
    *u = (struct ahpa_auth_user){.uid = "", .method = "frontproxy"};
    /* The first listed header with a value names the user. */
    for (size_t k = 0; k < nuser && u->name == NULL; k++)
        for (size_t i = 0; i < nh && u->name == NULL; i++)
            if (strcasecmp(h[i].name, user_headers[k]) == 0 && h[i].value[0] != '\0')
                u->name = h[i].value;
    if (u->name == NULL)
        return 0;
    if (too_long("user", u->name, err) < 0) {
        u->name = NULL;
        return -AHPA_ETOOBIG;
    }
    u->groups = ahpa_arena_alloc(arena, (AHPA_AUTH_MAX_GROUPS + 1) * sizeof(char *));
    u->extra = ahpa_arena_alloc(arena, AHPA_AUTH_MAX_EXTRA * sizeof(*u->extra));
    for (size_t i = 0; i < nh; i++) {
        int rc = one_header(&h[i], group_headers, ngroup, extra_prefixes, nextra, arena, u, err);
        if (rc < 0) {
            u->name = NULL;
            return rc;
        }
    }
    return 0;
}
