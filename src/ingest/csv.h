/* csv.h: a streaming RFC 4180 reader. Quoted fields may hold commas, doubled
 * quotes and line breaks; CRLF and LF both end records; a UTF-8 byte-order mark
 * is skipped; blank lines are skipped. Input comes through bytesrc, so .zst
 * files are read directly. It only splits records into fields: what the
 * fields mean is schema.c's business. */
#ifndef SEGUE_CSV_H
#define SEGUE_CSV_H

#include <stddef.h>
#include <stdint.h>

#include "core/bytesrc.h"
#include "core/error.h"

typedef struct csv_reader csv_reader;

/* One record. Field strings are NUL-terminated, unescaped, and valid until the
 * next csv_next() or csv_close(). */
typedef struct csv_record {
	size_t nfields;       /* number of fields */
	char **fields;        /* [nfields] field text */
	const size_t *lens;   /* [nfields] field lengths in bytes */
	long line;            /* 1-based physical line where the record starts */
	int bad_quote;        /* 1 when a quote appeared inside an unquoted field or text
	                         followed a closing quote; the text is kept as read */
} csv_record;

/* Opens a reader on `path` ("-" = stdin; zstd detected by magic number). */
int csv_open(csv_reader **out, const char *path, seg_error *err);

/* Opens a reader over a memory buffer that must outlive the reader. */
int csv_open_mem(csv_reader **out, const void *buf, size_t len, seg_error *err);

/* Reads the next record into *rec. Returns 1 with a record, 0 at the end of
 * input, or a negative code (err filled with file and line), e.g. for a quoted
 * field still open at the end of input: its text up to there is lost. */
int csv_next(csv_reader *r, csv_record *rec, seg_error *err);

/* Progress: input bytes consumed and total (0 when unknown). */
uint64_t csv_consumed(const csv_reader *r);
uint64_t csv_size(const csv_reader *r);

/* Closes the reader; NULL is a no-op. */
void csv_close(csv_reader *r);

#endif
