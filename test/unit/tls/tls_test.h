/* Shared by the lib/tls unit tests. */
#ifndef AHPA_TEST_TLS_H
#define AHPA_TEST_TLS_H

#include <check.h>
#include <stddef.h>

/* A fresh directory under /tmp; tls_test_rmdir() removes it recursively. */
char *tls_test_mkdtemp(void);
void tls_test_rmdir(char *dir);
/* dir + "/" + name; caller frees. */
char *tls_test_path(const char *dir, const char *name);
/* Writes `s` to `path` (replacing it through a rename, so the inode changes). */
void tls_test_write(const char *path, const char *s);
/* Overwrites in place (same inode). */
void tls_test_overwrite(const char *path, const char *s);
/* The file's contents; caller frees. */
char *tls_test_read(const char *path);

TCase *tls_test_gen_case(void);
TCase *tls_test_verify_case(void);
TCase *tls_test_files_case(void);
TCase *tls_test_watch_case(void);
TCase *tls_test_gnutls_case(void);

#endif
