/* fuzz_csv.c: libFuzzer target for the CSV reader (csv.h). The input bytes are
 * read from memory to the end; every record must satisfy the reader's
 * contract (fields NUL-terminated at their length, line numbers that never go
 * back), and, for plain (non-zstd) input, must equal what a one-byte-at-a-time
 * RFC 4180 reference splitter written here produces. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"

#define CHECK(cond)                                                                          \
	do {                                                                                 \
		if (!(cond)) {                                                               \
			fprintf(stderr, "fuzz_csv: check failed at line %d: %s\n", __LINE__, #cond); \
			abort();                                                             \
		}                                                                            \
	} while (0)

/* ---- the reference splitter ------------------------------------------------
 * Records are stored flat: field bytes back to back in `data`, each field an
 * offset and a length, each record its first field, field count, start line
 * and bad_quote flag. Sizes are bounded by the input length. */

typedef struct ref {
	char *data;          /* [len] field bytes */
	size_t dlen;
	size_t *foff, *flen; /* [len + 1] */
	size_t nf;
	size_t *rfirst, *rnf; /* [len + 1] */
	long *rline;
	int *rbad;
	size_t nrec;
	int err;       /* 0, or SEG_EFORMAT for a quote open at the end */
	long err_line; /* the start line of that record */
} ref;

static void field_begin(ref *r)
{
	r->foff[r->nf] = r->dlen;
	r->flen[r->nf] = 0;
	r->nf++;
	r->rnf[r->nrec - 1]++;
}

static void put(ref *r, char c)
{
	r->data[r->dlen++] = c;
	r->flen[r->nf - 1]++;
}

static void ref_split(ref *r, const char *buf, size_t len)
{
	enum { START, UNQ, QUO, QUO_QUOTE } st;
	size_t pos = 0;
	long line = 1;
	if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
		pos = 3;
	while (pos < len) {
		long start = line;
		int first_quoted = 0, done = 0;
		r->rfirst[r->nrec] = r->nf;
		r->rnf[r->nrec] = 0;
		r->rline[r->nrec] = start;
		r->rbad[r->nrec] = 0;
		r->nrec++;
		st = START;
		while (!done && pos < len) {
			char c = buf[pos];
			switch (st) {
			case START:
				field_begin(r);
				if (c == '"') {
					first_quoted |= r->rnf[r->nrec - 1] == 1;
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
					line += c == '\n';
					put(r, c);
				}
				break;
			case QUO_QUOTE:
				if (c == '"') {
					put(r, c);
					pos++;
					st = QUO;
					break;
				}
				if (c != ',' && c != '\n' && c != '\r') {
					r->rbad[r->nrec - 1] = 1;
					put(r, c);
					pos++;
					st = UNQ;
					break;
				}
				/* FALLTHROUGH */
			case UNQ:
				pos++;
				if (c == ',') {
					st = START;
				} else if (c == '\n' || c == '\r') {
					line++;
					if (c == '\r' && pos < len && buf[pos] == '\n')
						pos++;
					done = 1;
				} else {
					r->rbad[r->nrec - 1] |= c == '"';
					put(r, c);
				}
				break;
			}
		}
		if (!done && st == QUO) {
			r->nrec--;
			r->err = SEG_EFORMAT;
			r->err_line = start;
			return;
		}
		if (!done && st == START)
			field_begin(r);
		size_t k = r->nrec - 1;
		if (r->rnf[k] == 1 && r->flen[r->rfirst[k]] == 0 && !first_quoted) {
			r->nf = r->rfirst[k];
			r->nrec--;
		}
	}
}

/* ---- the target ----------------------------------------------------------- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t zstd_magic[4] = {0x28, 0xB5, 0x2F, 0xFD};
	const int plain = !(size >= 4 && memcmp(data, zstd_magic, 4) == 0);
	ref want = {0};
	if (plain) {
		want.data = malloc(size + 1);
		want.foff = malloc((size + 1) * sizeof(size_t));
		want.flen = malloc((size + 1) * sizeof(size_t));
		want.rfirst = malloc((size + 1) * sizeof(size_t));
		want.rnf = malloc((size + 1) * sizeof(size_t));
		want.rline = malloc((size + 1) * sizeof(long));
		want.rbad = malloc((size + 1) * sizeof(int));
		CHECK(want.data && want.foff && want.flen && want.rfirst && want.rnf && want.rline && want.rbad);
		ref_split(&want, (const char *)data, size);
	}

	csv_reader *r = NULL;
	seg_error err = {0};
	int rc = csv_open_mem(&r, data, size, &err);
	CHECK(rc == 0 && r != NULL);
	CHECK(csv_size(r) == size);

	csv_record rec;
	long prev_line = 1;
	size_t i = 0;
	uint64_t prev_consumed = 0;
	while ((rc = csv_next(r, &rec, &err)) == 1) {
		CHECK(rec.nfields >= 1);
		CHECK(rec.fields != NULL && rec.lens != NULL);
		CHECK(rec.line >= prev_line);
		CHECK(rec.bad_quote == 0 || rec.bad_quote == 1);
		prev_line = rec.line;
		for (size_t k = 0; k < rec.nfields; k++) {
			CHECK(rec.fields[k][rec.lens[k]] == '\0');
			CHECK(strlen(rec.fields[k]) <= rec.lens[k]);
			if (plain)
				CHECK(rec.lens[k] <= size);
		}
		uint64_t c = csv_consumed(r);
		CHECK(c >= prev_consumed && c <= size);
		prev_consumed = c;
		if (plain) {
			CHECK(i < want.nrec);
			CHECK(rec.line == want.rline[i]);
			CHECK(rec.bad_quote == want.rbad[i]);
			CHECK(rec.nfields == want.rnf[i]);
			for (size_t k = 0; k < rec.nfields; k++) {
				size_t f = want.rfirst[i] + k;
				CHECK(rec.lens[k] == want.flen[f]);
				CHECK(memcmp(rec.fields[k], want.data + want.foff[f], want.flen[f]) == 0);
			}
		}
		i++;
	}
	CHECK(rc <= 0);
	if (rc < 0) {
		CHECK(err.code == rc);
		CHECK(err.msg[0] != '\0');
	}
	if (plain) {
		CHECK(i == want.nrec);
		CHECK(rc == want.err);
		if (rc < 0)
			CHECK(err.line == want.err_line);
		CHECK(csv_consumed(r) == size);
		/* The end, clean or not, is sticky. */
		CHECK(csv_next(r, &rec, &err) == 0);
	} else if (rc == 0) {
		CHECK(csv_next(r, &rec, &err) == 0);
	}
	csv_close(r);

	free(want.data);
	free(want.foff);
	free(want.flen);
	free(want.rfirst);
	free(want.rnf);
	free(want.rline);
	free(want.rbad);
	return 0;
}
