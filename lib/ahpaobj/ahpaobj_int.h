/* Internals of the ahpaobj module. */
#ifndef AHPA_AHPAOBJ_INT_H
#define AHPA_AHPAOBJ_INT_H

#include <jansson.h>
#include <stddef.h>

struct ahpa_error;
struct ahpa_cron_zone;
struct ahpa_obj;

/* Called once per YAML document with its tree (borrowed; may be NULL for
 * an empty document) and, when the document broke a structural rule
 * (alias, duplicate key, non-string key, nesting, bad string), the first
 * such problem as "<path>: <reason> (line L)" (borrowed) -- the tree then
 * has the offending parts left out. `index` counts documents from 1. */
typedef void (*ahpaobj_doc_fn)(void *ctx, size_t index, json_t *root,
                               const char *problem);

/* Reads every document of `text` (len bytes, <= AHPA_OBJ_MAX_INPUT).
 * Returns 0 at the end of the stream, or -AHPA_EPARSE when the YAML is
 * malformed or a whole-text cap is crossed (message "line L column C:
 * ..." or the cap); documents before that point were delivered. */
int ahpaobj_yaml_load(const char *text, size_t len, ahpaobj_doc_fn fn,
                      void *ctx, struct ahpa_error *err);

/* Validates one object tree. `prefix` ("document 3: " or "") is used for
 * messages until metadata.name is known. On failure returns a negative
 * code and sets `*msg` (heap, caller frees) to the full message. */
int ahpaobj_validate(const json_t *root, const struct ahpa_cron_zone *zone,
                     const char *source, const char *prefix,
                     struct ahpa_obj **out, char **msg);

/* "<ns>/<name>: " of a tree when metadata.name is a usable string, else
 * NULL. Heap; caller frees. */
char *ahpaobj_name_prefix(const json_t *root);

/* Longest message kept (bytes, NUL excluded); longer ones end in "...". */
#define AHPAOBJ_MSG_MAX 480

/* Makes `msg` one printable line in place: control bytes become '?', and
 * text past AHPAOBJ_MSG_MAX is cut at a UTF-8 boundary with "...". */
void ahpaobj_sanitize(char *msg);

#endif
