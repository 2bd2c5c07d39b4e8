/* Request attributes as kube-apiserver's RequestInfoFactory computes them,
 * and its wording of a denial. */
#include <string.h>
#include <strings.h>

#include "ahpa/arena.h"
#include "ahpa/auth.h"
#include "ahpa/buf.h"

#define MAX_PARTS 32

bool ahpa_auth_user_in_group(const struct ahpa_auth_user *u, const char *group)
{
    for (size_t i = 0; i < u->ngroups; i++)
        if (strcmp(u->groups[i], group) == 0)
            return true;
    return false;
}

/* strings.Split(strings.Trim(path, "/"), "/"), bounded. */
static size_t split(const char *path, struct ahpa_arena *arena, const char **parts)
{
    while (*path == '/')
        path++;
    size_t len = strlen(path);
    while (len > 0 && path[len - 1] == '/')
        len--;
    if (len == 0)
        return 0;
    size_t n = 0;
    const char *p = path, *end = path + len;
    while (n < MAX_PARTS) {
        const char *slash = memchr(p, '/', (size_t)(end - p));
        const char *stop = slash ? slash : end;
        parts[n++] = ahpa_arena_strndup(arena, p, (size_t)(stop - p));
        if (slash == NULL)
            break;
        p = slash + 1;
    }
    return n;
}

static const char *lower_method(const char *method, struct ahpa_arena *arena)
{
    char *v = ahpa_arena_strdup(arena, method);
    for (char *c = v; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c - 'A' + 'a');
    return v;
}

static const char *resource_verb(const char *method)
{
    if (strcmp(method, "POST") == 0)
        return "create";
    if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)
        return "get";
    if (strcmp(method, "PUT") == 0)
        return "update";
    if (strcmp(method, "PATCH") == 0)
        return "patch";
    if (strcmp(method, "DELETE") == 0)
        return "delete";
    return "";
}

/* The parts after the version: namespace, then resource/name/subresource. */
static void resource_parts(const char **parts, size_t n, struct ahpa_auth_attrs *a)
{
    if (n > 0 && strcmp(parts[0], "namespaces") == 0) {
        if (n > 1) {
            a->ns = parts[1];
            if (n > 2 && strcmp(parts[2], "status") != 0 && strcmp(parts[2], "finalize") != 0) {
                parts += 2;
                n -= 2;
            }
        }
    }
    if (n >= 3 && strcmp(a->verb, "watch") != 0)
        a->subresource = parts[2];
    if (n >= 2)
        a->name = parts[1];
    if (n >= 1)
        a->resource = parts[0];
}

void ahpa_auth_request_attrs(const char *method, const char *path, bool watch,
                             struct ahpa_arena *arena, struct ahpa_auth_attrs *a)
{
    *a = (struct ahpa_auth_attrs){false, lower_method(method, arena), "", "", "", "", "", "",
                                  ahpa_arena_strdup(arena, path)};
    const char *parts[MAX_PARTS];
    size_t n = split(path, arena, parts);
    if (n < 3)
        return;
    size_t i;
    if (strcmp(parts[0], "api") == 0) {
        i = 1;
    } else if (strcmp(parts[0], "apis") == 0) {
        if (n < 4)
            return;
        a->group = parts[1];
        i = 2;
    } else {
        return;
    }
    a->resource_request = true;
    a->version = parts[i++];
    if (i < n && strcmp(parts[i], "watch") == 0) {
        if (i + 1 >= n) { /* "/watch" alone is not a resource request */
            a->resource_request = false;
            a->group = a->version = "";
            return;
        }
        a->verb = "watch";
        i++;
    } else {
        a->verb = resource_verb(method);
    }
    resource_parts(parts + i, n - i, a);
    if (*a->name == '\0' && strcmp(a->verb, "get") == 0)
        a->verb = watch ? "watch" : "list";
}

/* responsewriters.Forbidden: apierrors.NewForbidden around
 * forbiddenMessage, with the reviewer's reason appended. */
const char *ahpa_auth_forbidden_message(const struct ahpa_auth_user *u,
                                        const struct ahpa_auth_attrs *a, const char *reason,
                                        struct ahpa_arena *arena)
{
    struct ahpa_buf b;
    ahpa_buf_init(&b);
    if (!a->resource_request || *a->resource == '\0')
        ahpa_buf_puts(&b, "forbidden: ");
    else
        ahpa_buf_printf(&b, "%s%s%s%s%s%s is forbidden: ", a->resource, *a->group ? "." : "",
                        a->group, *a->name ? " \"" : "", a->name, *a->name ? "\"" : "");
    ahpa_buf_printf(&b, "User \"%s\" cannot %s ", u->name, a->verb);
    if (!a->resource_request) {
        ahpa_buf_printf(&b, "path \"%s\"", a->path);
    } else {
        ahpa_buf_printf(&b, "resource \"%s%s%s\" in API group \"%s\"", a->resource,
                        *a->subresource ? "/" : "", a->subresource, a->group);
        if (*a->ns != '\0')
            ahpa_buf_printf(&b, " in the namespace \"%s\"", a->ns);
        else
            ahpa_buf_puts(&b, " at the cluster scope");
    }
    if (reason != NULL && *reason != '\0')
        ahpa_buf_printf(&b, ": %s", reason);
    const char *out = ahpa_arena_strdup(arena, ahpa_buf_cstr(&b));
    ahpa_buf_dispose(&b);
    return out;
}
