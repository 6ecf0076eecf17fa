/* fuzz_csv.c: libFuzzer target for the CSV reader (csv.h). The input bytes are
 * read from memory to the end; every record must satisfy the reader's
 * contract (fields NUL-terminated at their length, line numbers that never go
 * back, a record over a limit has no fields, the reader's memory stays
 * bounded), and, for plain (non-zstd) input, must equal what the one-byte-at-
 * a-time RFC 4180 reference splitter of the tests (tests/csv_reference.h)
 * produces, flags (limits, NUL bytes) included. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tests/csv_reference.h"
#include "ingest/csv.h"

#define CHECK(cond)                                                                                  \
	do {                                                                                         \
		if (!(cond)) {                                                                       \
			fprintf(stderr, "fuzz_csv: check failed at line %d: %s\n", __LINE__, #cond); \
			abort();                                                                     \
		}                                                                                    \
	} while (0)

/* ---- the target ----------------------------------------------------------- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t zstd_magic[4] = {0x28, 0xB5, 0x2F, 0xFD};
	const int plain = !(size >= 4 && memcmp(data, zstd_magic, 4) == 0);
	ref want = {0};
	if (plain)
		ref_split(&want, (const char *)data, size);

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
		CHECK(rec.over_limit >= CSV_LIMIT_NONE && rec.over_limit <= CSV_LIMIT_FIELDS);
		CHECK(rec.over_limit == CSV_LIMIT_NONE ? rec.nfields >= 1 : rec.nfields == 0);
		CHECK(rec.over_limit == CSV_LIMIT_NONE || rec.nul_field == -1);
		CHECK(rec.nul_field >= -1 && rec.nul_field < (int)rec.nfields);
		CHECK(rec.nfields <= CSV_MAX_FIELDS);
		CHECK(csv_memory(r) <= (1u << 20) + CSV_MAX_RECORD + CSV_MAX_FIELDS * 3 * sizeof(size_t) + 4096);
		CHECK(rec.fields != NULL && rec.lens != NULL);
		CHECK(rec.line >= prev_line);
		CHECK(rec.bad_quote == 0 || rec.bad_quote == 1);
		prev_line = rec.line;
		for (size_t k = 0; k < rec.nfields; k++) {
			CHECK(rec.fields[k][rec.lens[k]] == '\0');
			CHECK(strlen(rec.fields[k]) <= rec.lens[k]);
			CHECK(rec.lens[k] <= CSV_MAX_FIELD);
			/* nul_field is the first field with a NUL byte. */
			if (rec.nul_field < 0 || (int)k < rec.nul_field)
				CHECK(strlen(rec.fields[k]) == rec.lens[k]);
			if ((int)k == rec.nul_field)
				CHECK(strlen(rec.fields[k]) < rec.lens[k]);
			if (plain)
				CHECK(rec.lens[k] <= size);
		}
		uint64_t c = csv_consumed(r);
		CHECK(c >= prev_consumed && c <= size);
		prev_consumed = c;
		if (plain) {
			CHECK(i < want.nrec);
			CHECK(rec.line == want.rec[i].line);
			CHECK(rec.bad_quote == want.rec[i].bad_quote);
			CHECK(rec.over_limit == want.rec[i].over_limit);
			CHECK(rec.nul_field == want.rec[i].nul_field);
			CHECK(rec.nfields == want.rec[i].nf);
			for (size_t k = 0; k < rec.nfields; k++) {
				size_t f = want.rec[i].first + k;
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

	ref_free(&want);
	return 0;
}
