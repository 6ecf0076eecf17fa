/* testutil.h: small helpers shared by the cmocka test files: temporary
 * directories, writing fixture files, and locating the real data sets. */
#ifndef SEGUE_TESTUTIL_H
#define SEGUE_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* Creates a fresh directory under $TMPDIR (or /tmp) and returns its path in a
 * static buffer per call slot (up to 8 live at once). Removed by tu_rmtree. */
const char *tu_tmpdir(void);
/* Removes a directory tree (like rm -rf). */
void tu_rmtree(const char *path);
/* Writes `text` to dir/name and returns the full path (static slot buffer). */
const char *tu_write(const char *dir, const char *name, const char *text);
/* Reads a whole file into a malloc'd NUL-terminated buffer (NULL on error). */
char *tu_read(const char *path, size_t *len);
/* Returns the directory of the real shared data sets, or NULL when absent
 * (then tests that need it call skip()). */
const char *tu_shared_data(void);
/* Runs a shell command, captures stdout into a malloc'd buffer (may be NULL),
 * and returns the exit status (or -1). */
int tu_run(const char *cmd, char **out);



/* A minimal HTTP/1.1 client for the server tests: sends one request to
 * 127.0.0.1:port (Connection: close) and returns the status code (or -1), the
 * body in a malloc'd NUL-terminated buffer and, when wanted, the Content-Type. */
int tu_http(int port, const char *method, const char *target, const char *body, size_t body_len, char **resp,
            char *ctype, size_t ctype_cap);
#endif
