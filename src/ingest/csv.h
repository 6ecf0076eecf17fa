/* csv.h: a streaming RFC 4180 reader. Quoted fields may hold commas, doubled
 * quotes and line breaks; CRLF and LF both end records; a UTF-8 byte-order mark
 * is skipped; blank lines are skipped. Input comes through bytesrc, so .zst
 * files are read directly. It only splits records into fields: what the
 * fields mean is schema.c's business.
 *
 * It reads in bounded memory whatever the input: a record that breaks one of
 * the limits below is not stored but skipped to its end (quotes still count,
 * so the next record starts where it should) and handed out flagged, with no
 * fields, for the caller to reject with its line; reading then goes on. A
 * NUL byte is kept in the field text (lens[] is the real length) and flags
 * the record too: C strings would silently cut the value there. */
#ifndef SEGUE_CSV_H
#define SEGUE_CSV_H

#include <stddef.h>
#include <stdint.h>

#include "core/bytesrc.h"
#include "core/error.h"

typedef struct csv_reader csv_reader;

/* Limits, far above any real export (the Kaggle tables have lines of at most
 * about 1 KB and at most 30 columns). The record limit counts the unescaped
 * text of its fields plus one byte per field (its separator): about the
 * length of the line. */
#define CSV_MAX_RECORD (8u << 20) /* 8 MiB: bytes in one record */
#define CSV_MAX_FIELD (4u << 20)  /* 4 MiB: bytes in one field */
#define CSV_MAX_FIELDS 1024u      /* fields in one record */
/* An oversized record that has not ended CSV_MAX_SKIP bytes of input after its
 * start (endless NULs from /dev/zero, a binary file, a quote opened by
 * mistake early in a huge file) ends the reading: csv_next fails with
 * SEG_EFORMAT, so that skipping is bounded in time as well as in memory. */
#define CSV_MAX_SKIP (64u << 20) /* 64 MiB */

/* Which limit a record broke. */
enum csv_limit {
	CSV_LIMIT_NONE,   /* within every limit */
	CSV_LIMIT_RECORD, /* longer than CSV_MAX_RECORD */
	CSV_LIMIT_FIELD,  /* a field longer than CSV_MAX_FIELD */
	CSV_LIMIT_FIELDS, /* more than CSV_MAX_FIELDS fields */
};

/* One record. Field strings are NUL-terminated, unescaped, and valid until the
 * next csv_next() or csv_close(). */
typedef struct csv_record {
	size_t nfields;     /* number of fields */
	char **fields;      /* [nfields] field text */
	const size_t *lens; /* [nfields] field lengths in bytes */
	long line;          /* 1-based physical line where the record starts */
	int bad_quote;      /* 1 when a quote appeared inside an unquoted field or text
	                         followed a closing quote; the text is kept as read */
	int over_limit;     /* enum csv_limit: the first limit the record broke (in input
	                         order), or CSV_LIMIT_NONE; when set, nfields is 0 and the
	                         record's text was skipped */
	int nul_field;      /* index of the first field holding a NUL byte, or -1 */
} csv_record;

/* Opens a reader on `path` ("-" = stdin; zstd detected by magic number). */
int csv_open(csv_reader **out, const char *path, seg_error *err);

/* Opens a reader over a memory buffer that must outlive the reader. */
int csv_open_mem(csv_reader **out, const void *buf, size_t len, seg_error *err);

/* Reads the next record into *rec. Returns 1 with a record (possibly flagged:
 * over_limit, nul_field), 0 at the end of input, or a negative code (err
 * filled with file and line): SEG_EFORMAT for a quoted field still open at the
 * end of input (its text up to there is lost) or for an oversized record with
 * no end within CSV_MAX_SKIP bytes. After an error the reader stays at its
 * end (csv_next returns 0). */
int csv_next(csv_reader *r, csv_record *rec, seg_error *err);

/* Writes one sentence on the limit `rec` broke, naming the limit ("the record
 * is longer than 8388608 bytes, the limit for a record"), into buf[cap]; ""
 * when it broke none. */
void csv_limit_describe(const csv_record *rec, char *buf, size_t cap);

/* Bytes of memory the reader holds for its buffers (not the byte source's
 * fixed ones). Bounded by about 1 MiB + CSV_MAX_RECORD + CSV_MAX_FIELDS * 24
 * whatever the input: tests check it. */
size_t csv_memory(const csv_reader *r);

/* Progress: input bytes consumed and total (0 when unknown). */
uint64_t csv_consumed(const csv_reader *r);
uint64_t csv_size(const csv_reader *r);

/* Closes the reader; NULL is a no-op. */
void csv_close(csv_reader *r);

#endif
