/* csv_reference.h: a reference RFC 4180 splitter, one byte at a time with no
 * chunking, and the flat record store it fills, for checking the streaming
 * reader (csv.h): tests/test_csv.c compares with it and builds expected
 * records by hand in the same store; fuzz/fuzz_csv.c compares with it on
 * every input. Header-only (static functions); include it in one file of a
 * program. Allocation failure aborts. */
#ifndef SEGUE_CSV_REFERENCE_H
#define SEGUE_CSV_REFERENCE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "ingest/csv.h"

/* Records, stored flat: all field bytes in one buffer. */

typedef struct ref_rec {
	size_t first;   /* index of its first field in foff/flen */
	size_t nf;      /* number of fields */
	long line;      /* 1-based start line */
	int bad_quote;  /* expected csv_record.bad_quote */
	int over_limit; /* expected csv_record.over_limit (then nf is 0) */
	int nul_field;  /* expected csv_record.nul_field */
} ref_rec;

typedef struct ref {
	char *data; /* [dcap] field bytes, back to back */
	size_t dlen, dcap;
	size_t *foff, *flen; /* [fcap] field offset in data, length */
	size_t nf, fcap;
	ref_rec *rec; /* [rcap] */
	size_t nrec, rcap;
	int err;       /* expected final csv_next result: 0 or negative */
	long err_line; /* expected err.line when err < 0 */
} ref;

static void *grow(void *p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return p;
	size_t c = *cap ? *cap : 64;
	while (c < need)
		c *= 2;
	void *np = realloc(p, c * elem);
	if (np == NULL) {
		fprintf(stderr, "csv_reference: out of memory\n");
		abort();
	}
	*cap = c;
	return np;
}

static void ref_free(ref *r)
{
	free(r->data);
	free(r->foff);
	free(r->flen);
	free(r->rec);
	memset(r, 0, sizeof *r);
}

static void ref_begin(ref *r, long line)
{
	r->rec = grow(r->rec, &r->rcap, r->nrec + 1, sizeof *r->rec);
	r->rec[r->nrec++] = (ref_rec){.first = r->nf, .nf = 0, .line = line, .bad_quote = 0, .nul_field = -1};
}

/* Starts a new (empty) field of the current record. */
static void ref_field_begin(ref *r)
{
	if (r->nf + 1 > r->fcap) {
		size_t cap = r->fcap;
		r->foff = grow(r->foff, &cap, r->nf + 1, sizeof *r->foff);
		r->flen = grow(r->flen, &r->fcap, r->nf + 1, sizeof *r->flen);
	}
	r->foff[r->nf] = r->dlen;
	r->flen[r->nf] = 0;
	r->nf++;
	r->rec[r->nrec - 1].nf++;
}

/* Appends one byte; ref_split reserves room for the whole input first. */
static inline void ref_putc(ref *r, char c)
{
	r->data[r->dlen++] = c;
	r->flen[r->nf - 1]++;
}

/* Drops the current record (a blank line). */
static void ref_drop(ref *r)
{
	ref_rec *x = &r->rec[r->nrec - 1];
	r->nf = x->first;
	r->dlen = x->nf ? r->foff[x->first] : r->dlen;
	r->nrec--;
}

/* The limit (enum csv_limit) a record's fields break first, in input order,
 * as csv.h defines them: at most CSV_MAX_FIELDS fields; each field at most
 * CSV_MAX_FIELD bytes; the fields' bytes plus one per field at most
 * CSV_MAX_RECORD. */
static int ref_limit(const ref *r, const ref_rec *x)
{
	size_t total = 0; /* bytes of the fields so far, one more each */
	for (size_t k = 0; k < x->nf; k++) {
		if (k == CSV_MAX_FIELDS)
			return CSV_LIMIT_FIELDS;
		if (total + 1 > CSV_MAX_RECORD)
			return CSV_LIMIT_RECORD;
		size_t len = r->flen[x->first + k];
		int field_first = total + CSV_MAX_FIELD <= CSV_MAX_RECORD - 1;
		if (len > CSV_MAX_FIELD || total + len > CSV_MAX_RECORD - 1) {
			/* Both broken: the one that lies nearer to the field's start first. */
			if (len > CSV_MAX_FIELD && total + len > CSV_MAX_RECORD - 1)
				return field_first ? CSV_LIMIT_FIELD : CSV_LIMIT_RECORD;
			return len > CSV_MAX_FIELD ? CSV_LIMIT_FIELD : CSV_LIMIT_RECORD;
		}
		total += len + 1;
	}
	return CSV_LIMIT_NONE;
}

/* Sets the flags of the last record: a record over a limit loses its fields,
 * one within them notes its first field with a NUL byte. */
static void ref_flag(ref *r)
{
	ref_rec *x = &r->rec[r->nrec - 1];
	x->over_limit = ref_limit(r, x);
	if (x->over_limit != CSV_LIMIT_NONE) {
		r->dlen = x->nf ? r->foff[x->first] : r->dlen;
		r->nf = x->first;
		x->nf = 0;
		return;
	}
	for (size_t k = 0; k < x->nf && x->nul_field < 0; k++)
		if (memchr(r->data + r->foff[x->first + k], '\0', r->flen[x->first + k]) != NULL)
			x->nul_field = (int)k;
}

/* The reference splitter: RFC 4180 over the whole buffer, one byte at a time.
 * A leading UTF-8 BOM is dropped; CRLF or LF ends a record outside quotes; a
 * record that is an empty line is skipped (but `""` is one empty field); a
 * quote inside an unquoted field, or text after a closing quote, is kept and
 * flags the record; a quote still open at the end is an error at the line
 * where its record starts; a record over a limit has no fields and is flagged
 * with it (ref_flag). It does not stop at CSV_MAX_SKIP. */
static void ref_split(ref *r, const char *buf, size_t len)
{
	enum { START, UNQ, QUO, QUO_QUOTE } st;
	memset(r, 0, sizeof *r);
	r->data = grow(r->data, &r->dcap, len + 1, 1); /* fields never outgrow the input */
	size_t pos = 0;
	long line = 1;
	if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
		pos = 3;
	while (pos < len) {
		long start = line;
		int first_quoted = 0, done = 0;
		ref_begin(r, start);
		st = START;
		while (!done && pos < len) {
			char c = buf[pos];
			switch (st) {
			case START:
				ref_field_begin(r);
				if (c == '"') {
					if (r->rec[r->nrec - 1].nf == 1)
						first_quoted = 1;
					pos++;
					st = QUO;
				} else {
					st = UNQ;
				}
				break;
			case QUO:
				pos++;
				if (c == '"') {
					st = QUO_QUOTE;
				} else {
					if (c == '\n')
						line++;
					ref_putc(r, c);
				}
				break;
			case QUO_QUOTE:
				if (c == '"') {
					ref_putc(r, c);
					pos++;
					st = QUO;
					break;
				}
				if (c != ',' && c != '\n' && c != '\r') {
					r->rec[r->nrec - 1].bad_quote = 1;
					ref_putc(r, c);
					pos++;
					st = UNQ;
					break;
				}
				/* fall through: a delimiter after the closing quote */
				/* FALLTHROUGH */
			case UNQ:
				pos++;
				if (c == ',') {
					st = START;
				} else if (c == '\n') {
					line++;
					done = 1;
				} else if (c == '\r') {
					line++;
					if (pos < len && buf[pos] == '\n')
						pos++;
					done = 1;
				} else {
					if (c == '"')
						r->rec[r->nrec - 1].bad_quote = 1;
					ref_putc(r, c);
				}
				break;
			}
		}
		if (!done) { /* end of input inside the record */
			if (st == QUO) {
				r->nrec--;
				r->nf = r->rec[r->nrec].first;
				r->err = SEG_EFORMAT;
				r->err_line = start;
				return;
			}
			if (st == START)
				ref_field_begin(r); /* ended right after a comma */
		}
		ref_rec *x = &r->rec[r->nrec - 1];
		if (x->nf == 1 && r->flen[x->first] == 0 && !first_quoted)
			ref_drop(r);
		else
			ref_flag(r);
	}
}

#endif
