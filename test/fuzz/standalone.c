/* Replay driver for fuzz targets without libFuzzer.
 *
 *   replay-<name> CORPUS_DIR [MUTATIONS]
 *
 * Runs LLVMFuzzerTestOneInput() on every file in CORPUS_DIR, then on
 * MUTATIONS inputs derived from them by a seeded generator (bit flips,
 * byte insertions and deletions, splices, truncations, repeated blocks),
 * so that every ctest run exercises the parser with the same hostile
 * inputs. Crashes and sanitizer reports fail the test. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define INPUT_CAP (1u << 20)
#define MAX_FILES 512

struct input {
    uint8_t *data;
    size_t size;
};

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t next_random(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    rng_state = x;
    return x;
}

static size_t load_corpus(const char *dir, struct input *out)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return 0;
    size_t n = 0;
    struct dirent *e;
    while (n < MAX_FILES && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        if (f == NULL)
            continue;
        uint8_t *buf = malloc(INPUT_CAP);
        size_t got = fread(buf, 1, INPUT_CAP, f);
        fclose(f);
        out[n].data = buf;
        out[n].size = got;
        n++;
    }
    closedir(d);
    return n;
}

/* One mutation of `src` into `dst` (capacity INPUT_CAP); returns size. */
static size_t mutate(const struct input *src, const struct input *other, uint8_t *dst)
{
    size_t n = src->size;
    memcpy(dst, src->data, n);
    int rounds = 1 + (int)(next_random() % 4);
    for (int r = 0; r < rounds; r++) {
        size_t pos = n ? next_random() % n : 0;
        switch (next_random() % 7) {
        case 0: /* flip a bit */
            if (n)
                dst[pos] ^= (uint8_t)(1u << (next_random() % 8));
            break;
        case 1: /* overwrite with an interesting byte */
            if (n) {
                static const uint8_t bytes[] = {0, '"', '\\', '\n', '}', '{', ',', '=', '!',
                                                '*', '?', '-', ' ', 0xff, 0x80, '%'};
                dst[pos] = bytes[next_random() % sizeof(bytes)];
            }
            break;
        case 2: /* insert a random byte */
            if (n < INPUT_CAP) {
                memmove(dst + pos + 1, dst + pos, n - pos);
                dst[pos] = (uint8_t)next_random();
                n++;
            }
            break;
        case 3: /* delete a range */
            if (n) {
                size_t len = 1 + next_random() % (n - pos);
                memmove(dst + pos, dst + pos + len, n - pos - len);
                n -= len;
            }
            break;
        case 4: /* truncate */
            n = pos;
            break;
        case 5: /* splice in part of another input */
            if (other->size) {
                size_t from = next_random() % other->size;
                size_t len = 1 + next_random() % (other->size - from);
                if (pos + len > INPUT_CAP)
                    len = INPUT_CAP - pos;
                memcpy(dst + pos, other->data + from, len);
                if (pos + len > n)
                    n = pos + len;
            }
            break;
        default: /* repeat a block to make the input long */
            if (n) {
                size_t len = 1 + next_random() % (n - pos < 64 ? n - pos : 64);
                size_t times = 1 + next_random() % 200;
                for (size_t t = 0; t < times && n + len <= INPUT_CAP; t++) {
                    memmove(dst + pos + len, dst + pos, n - pos);
                    n += len;
                }
            }
            break;
        }
    }
    return n;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR [MUTATIONS]\n", argv[0]);
        return 2;
    }
    long mutations = argc > 2 ? strtol(argv[2], NULL, 10) : 1000;
    static struct input corpus[MAX_FILES];
    size_t n = load_corpus(argv[1], corpus);
    if (n == 0) {
        fprintf(stderr, "%s: no corpus files in %s\n", argv[0], argv[1]);
        return 1;
    }
    for (size_t i = 0; i < n; i++)
        LLVMFuzzerTestOneInput(corpus[i].data, corpus[i].size);
    uint8_t *scratch = malloc(INPUT_CAP);
    for (long m = 0; m < mutations; m++) {
        const struct input *a = &corpus[next_random() % n];
        const struct input *b = &corpus[next_random() % n];
        size_t size = mutate(a, b, scratch);
        /* A copy of exactly `size` bytes lets ASan catch reads past the end. */
        uint8_t *exact = malloc(size ? size : 1);
        memcpy(exact, scratch, size);
        LLVMFuzzerTestOneInput(exact, size);
        free(exact);
    }
    free(scratch);
    for (size_t i = 0; i < n; i++)
        free(corpus[i].data);
    printf("%zu corpus inputs and %ld mutations: 0 crashes\n", n, mutations);
    return 0;
}
