/* AHPA objects from YAML files in --ahpa-dir, re-read when they change.
 * A file that cannot be read or parsed, an object in it that does not
 * validate, or an object whose namespace/name a file earlier in path order
 * already defines, is reported (snapshot errors, log) and skipped; the other
 * objects keep working, and a workload whose object only changed keeps
 * its history. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ahpa/ahpaobj.h"
#include "ahpa/buf.h"
#include "ahpa/config.h"
#include "ahpa/error.h"
#include "ahpa/log.h"
#include "ahpa/mem.h"
#include "ahpa/str.h"
#include "controller_int.h"

#define MAX_FILE_BYTES (1u << 20)
#define MAX_FILES 4096

static void file_clear(struct ahpa_controller__file *f)
{
    free(f->error);
    f->error = NULL;
    ahpa_obj_list_free(f->objs, f->nobjs);
    f->objs = NULL;
    f->nobjs = 0;
    ahpa_obj_errs_free(f->obj_errors, f->nobj_errors);
    f->obj_errors = NULL;
    f->nobj_errors = 0;
}

static bool is_yaml(const char *name)
{
    return name[0] != '.' && (ahpa_str_has_suffix(name, ".yaml") ||
                              ahpa_str_has_suffix(name, ".yml") ||
                              ahpa_str_has_suffix(name, ".json"));
}

/* (Re)reads one file into f. */
static void load_file(struct ahpa_controller *c, struct ahpa_controller__file *f)
{
    file_clear(f);
    struct ahpa_buf b;
    ahpa_buf_init(&b);
    struct ahpa_error err = {0};
    int rc = ahpa_config_read_file(f->path, MAX_FILE_BYTES, &b, &err);
    if (rc == 0)
        rc = ahpa_obj_parse_yaml(ahpa_buf_cstr(&b), b.len, c->opt.zone, f->path, &f->objs,
                                 &f->nobjs, &f->obj_errors, &f->nobj_errors, &err);
    if (rc < 0)
        f->error = ahpa_strdup(ahpa_error_message(&err, rc));
    ahpa_buf_dispose(&b);
    if (f->error != NULL)
        AHPA_LOG_WARN("%s: %s", f->path, f->error);
    for (size_t i = 0; i < f->nobj_errors; i++)
        AHPA_LOG_WARN("%s: %s", f->path, f->obj_errors[i]);
    if (f->error == NULL)
        AHPA_LOG_INFO("%s: %zu AdvancedHorizontalPodAutoscaler objects", f->path, f->nobjs);
}

static struct ahpa_controller__file *find_file(struct ahpa_controller *c, const char *path)
{
    for (size_t i = 0; i < c->nfiles; i++)
        if (strcmp(c->files[i].path, path) == 0)
            return &c->files[i];
    return NULL;
}

static int file_cmp(const void *a, const void *b)
{
    return strcmp(((const struct ahpa_controller__file *)a)->path,
                  ((const struct ahpa_controller__file *)b)->path);
}

/* Stats the directory's files; reloads those whose identity or mtime
 * changed; forgets removed ones. Sets *changed when anything did. */
static int rescan_files(struct ahpa_controller *c, bool *changed, struct ahpa_error *err)
{
    DIR *d = opendir(c->opt.ahpa_dir);
    if (d == NULL)
        return ahpa_error_set(err, AHPA_ENOTFOUND, "--ahpa-dir %s: %s", c->opt.ahpa_dir,
                              strerror(errno));
    bool *seen = ahpa_calloc(c->nfiles + MAX_FILES, sizeof(bool));
    size_t count = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL && count < MAX_FILES;) {
        if (!is_yaml(e->d_name))
            continue;
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", c->opt.ahpa_dir, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        count++;
        struct ahpa_controller__file *f = find_file(c, path);
        int64_t mtime = (int64_t)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
        if (f == NULL) {
            c->files = ahpa_reallocarray(c->files, c->nfiles + 1, sizeof(*c->files));
            f = &c->files[c->nfiles++];
            memset(f, 0, sizeof(*f));
            f->path = ahpa_strdup(path);
            f->size = -2;
        }
        seen[f - c->files] = true;
        bool same = f->dev == st.st_dev && f->ino == st.st_ino && f->mtime_ns == mtime &&
                    f->size == st.st_size; /* a new file has size -2: never same */
        f->dev = st.st_dev;
        f->ino = st.st_ino;
        f->mtime_ns = mtime;
        f->size = st.st_size;
        if (!same) {
            load_file(c, f);
            *changed = true;
        }
    }
    closedir(d);
    /* Forget files that are gone. */
    size_t w = 0;
    for (size_t i = 0; i < c->nfiles; i++) {
        if (seen[i]) {
            c->files[w++] = c->files[i];
        } else {
            AHPA_LOG_INFO("%s: removed", c->files[i].path);
            file_clear(&c->files[i]);
            free(c->files[i].path);
            *changed = true;
        }
    }
    c->nfiles = w;
    free(seen);
    /* Path order, so that "the first file wins" for duplicate objects does
     * not depend on the directory's order. */
    qsort(c->files, c->nfiles, sizeof(*c->files), file_cmp);
    return 0;
}

void ahpa_controller__workload_prepare(struct ahpa_controller *c,
                                       struct ahpa_controller__workload *w);

/* The workload for ns/name among the first n of `list`, or NULL. */
static struct ahpa_controller__workload *
find_in(struct ahpa_controller__workload *const *list, size_t n, const char *ns, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i]->obj->ns, ns) == 0 && strcmp(list[i]->obj->name, name) == 0)
            return list[i];
    return NULL;
}

static void clear_dup_errors(struct ahpa_controller *c)
{
    for (size_t i = 0; i < c->ndup_errors; i++)
        free(c->dup_errors[i]);
    free(c->dup_errors);
    c->dup_errors = NULL;
    c->ndup_errors = 0;
}

/* Records (and logs) an object skipped because `kept` already defines
 * its namespace/name. */
static void duplicate(struct ahpa_controller *c, const struct ahpa_controller__file *f,
                      const struct ahpa_obj *o, const struct ahpa_controller__workload *kept)
{
    struct ahpa_buf b;
    ahpa_buf_init(&b);
    ahpa_buf_printf(&b, "%s: %s/%s is defined twice; keeping the one from %s", f->path, o->ns,
                    o->name, kept->obj->source);
    AHPA_LOG_WARN("%s", ahpa_buf_cstr(&b));
    c->dup_errors = ahpa_reallocarray(c->dup_errors, c->ndup_errors + 1, sizeof(char *));
    c->dup_errors[c->ndup_errors++] = ahpa_strdup(ahpa_buf_cstr(&b));
    ahpa_buf_dispose(&b);
}

/* Builds the workload list from the files' objects, in file order: known
 * objects keep their workload (and history, unless their target changed),
 * new ones get one, vanished ones are dropped. The first object with a
 * namespace/name wins; later ones are reported and skipped. Objects move
 * out of the files. */
static void adopt_objects(struct ahpa_controller *c)
{
    clear_dup_errors(c);
    struct ahpa_controller__workload **next = NULL;
    size_t n = 0;
    for (size_t fi = 0; fi < c->nfiles; fi++) {
        struct ahpa_controller__file *f = &c->files[fi];
        for (size_t k = 0; k < f->nobjs; k++) {
            struct ahpa_obj *o = f->objs[k];
            if (o == NULL)
                continue;
            struct ahpa_controller__workload *kept = find_in(next, n, o->ns, o->name);
            if (kept != NULL) {
                duplicate(c, f, o, kept);
                continue;
            }
            struct ahpa_controller__workload *w =
                find_in(c->workloads, c->nworkloads, o->ns, o->name);
            if (w != NULL && strcmp(w->obj->target_name, o->target_name) == 0) {
                pthread_mutex_lock(&w->lock);
                struct ahpa_obj *old = w->obj;
                w->obj = o;
                pthread_mutex_unlock(&w->lock);
                ahpa_obj_free(old);
                ahpa_ref_retain(&w->ref); /* the new array's reference */
            } else {
                w = ahpa_controller__workload_new(o);
                ahpa_controller__workload_prepare(c, w);
            }
            w->replan = true; /* new or redefined (ahpa_controller_refresh) */
            f->objs[k] = NULL; /* now owned by the workload */
            next = ahpa_reallocarray(next, n + 1, sizeof(*next));
            next[n++] = w;
        }
    }
    pthread_mutex_lock(&c->workloads_lock);
    struct ahpa_controller__workload **old = c->workloads;
    size_t nold = c->nworkloads;
    c->workloads = next;
    c->nworkloads = n;
    pthread_mutex_unlock(&c->workloads_lock);
    /* The old array's references; a renderer may still hold one. */
    for (size_t i = 0; i < nold; i++)
        ahpa_controller__workload_release(old[i]);
    free(old);
}

int ahpa_controller__scan(struct ahpa_controller *c, bool *changed, struct ahpa_error *err)
{
    *changed = false;
    int rc = rescan_files(c, changed, err);
    if (rc < 0 || !*changed)
        return rc;
    /* A file whose objects were adopted earlier holds NULLs: reload all
     * objects so that every kept workload gets its current definition. */
    for (size_t i = 0; i < c->nfiles; i++) {
        struct ahpa_controller__file *f = &c->files[i];
        bool adopted = false;
        for (size_t k = 0; k < f->nobjs; k++)
            adopted |= f->objs[k] == NULL;
        if (adopted)
            load_file(c, f);
    }
    adopt_objects(c);
    return 0;
}
