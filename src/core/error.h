/* error.h: segue's error codes and the seg_error detail record that fallible
 * functions fill for a human. It does not log or exit: callers decide. */
#ifndef SEGUE_ERROR_H
#define SEGUE_ERROR_H

#include <stddef.h>

/* Every fallible function returns 0 or one of these negative codes. */
enum {
	SEG_OK = 0,
	SEG_ENOMEM = -1,    /* allocation failed */
	SEG_EIO = -2,       /* a file could not be opened, read or written */
	SEG_EINVAL = -3,    /* bad argument or bad user input */
	SEG_EFORMAT = -4,   /* input is not in the expected format */
	SEG_ENOTFOUND = -5, /* a named thing does not exist */
	SEG_EDB = -6,       /* SQLite reported an error */
	SEG_EVERSION = -7,  /* a file has a format version this build cannot read */
	SEG_ECHECKSUM = -8, /* a file's checksum does not match its contents */
	SEG_EREADONLY = -9, /* a write was attempted where only reads are allowed */
	SEG_ESTALE = -10,   /* a derived file was made from another state of its source */
};

/* Detail for a human. `file`, `line` and `column` are set where they apply
 * (0 / empty otherwise). Plain data: the caller owns it, usually on the stack. */
typedef struct seg_error {
	int code;       /* the SEG_E* code that was returned */
	char msg[512];  /* one sentence, no trailing newline */
	char file[256]; /* input file the error is about, or "" */
	long line;      /* 1-based line in `file`, or 0 */
	int column;     /* 1-based column (field) number, or 0 */
} seg_error;

/* Returns a static description of `code` ("out of memory", ...). */
const char *seg_strerror(int code);

/* Fills `err` (which may be NULL) with `code` and a printf-style message and
 * clears its location. Returns `code`, so that `return seg_error_set(...)` reads well. */
int seg_error_set(seg_error *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Sets the location fields of `err` (NULL is a no-op). */
void seg_error_at(seg_error *err, const char *file, long line, int column);

/* Clears `err` (NULL is a no-op). */
void seg_error_clear(seg_error *err);

/* Formats `err` as "file:line:col: msg" (omitting absent parts) into buf. */
void seg_error_format(const seg_error *err, char *buf, size_t cap);

#endif
