/* fuzz_schema.c: libFuzzer target for header recognition, row mapping and the
 * value parsers (schema.h, track.h). The first CSV record is the header: it
 * goes to schema_detect without a --map spec and, when the input's first line
 * contains '=', with that line as the spec too. Every later record is mapped
 * with schema_map_row, and each of its fields goes through every track_parse_*
 * function and the artist splitter. Results are checked against the
 * documented contracts (a record over a CSV limit or holding a NUL byte is
 * rejected). */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/csv.h"
#include "ingest/schema.h"
#include "ingest/track.h"

#define CHECK(cond)                                                                                     \
	do {                                                                                            \
		if (!(cond)) {                                                                          \
			fprintf(stderr, "fuzz_schema: check failed at line %d: %s\n", __LINE__, #cond); \
			abort();                                                                        \
		}                                                                                       \
	} while (0)

#define MAXV 8

static int is_blank(char c) { return c == ' ' || c == '\t'; }

static void check_schema(const schema *s, size_t n)
{
	CHECK(s->variant != NULL && s->title != NULL);
	CHECK(s->nfields == n);
	for (int c = 0; c < SC__COUNT; c++)
		CHECK(s->col[c] >= -1 && s->col[c] < (int)n);
	CHECK(s->col[SC_ID] >= 0);
	for (int c = 0; c < TF__AUDIO; c++)
		CHECK(s->col[c] >= 0);
}

static void check_names(const char *const *names, int n, int max)
{
	CHECK(n >= 0 && n <= max);
	for (int i = 0; i < n; i++) {
		size_t len = strlen(names[i]);
		CHECK(len > 0);
		CHECK(!is_blank(names[i][0]) && !is_blank(names[i][len - 1]));
	}
}

/* track_parse_double must agree with strtod on the blank-trimmed text, bit
 * for bit, whichever of its paths (fast decimal or strtod) it takes. */
static void check_double(const char *f)
{
	while (is_blank(*f))
		f++;
	size_t n = strlen(f);
	while (n > 0 && is_blank(f[n - 1]))
		n--;
	double got;
	int ok = track_parse_double(f, &got) == 0;
	if (n == 0 || n > 63) {
		CHECK(!ok);
		return;
	}
	char buf[64], *end;
	memcpy(buf, f, n);
	buf[n] = '\0';
	errno = 0;
	double want = strtod(buf, &end);
	int want_ok = *end == '\0' && errno != ERANGE && isfinite(want);
	CHECK(ok == want_ok);
	if (ok)
		CHECK(memcmp(&got, &want, sizeof got) == 0);
}

/* Runs every value parser on one field and checks what they promise. */
static void parse_field(const char *f, size_t len)
{
	long l;
	int v;
	char date[11], id[TRACK_ID_LEN + 1];
	check_double(f);
	if (track_parse_long(f, &l) == 0)
		CHECK(l >= -9000000000000000L && l <= 9000000000000000L);
	if (track_parse_key(f, &v) == 0)
		CHECK(v >= -100 && v <= 100);
	if (track_parse_mode(f, &v) == 0)
		CHECK(v >= -100 && v <= 100);
	if (track_parse_bool(f, &v) == 0)
		CHECK(v == 0 || v == 1);
	if (track_parse_time_signature(f, &v) == 0)
		CHECK(v >= -100 && v <= 100);
	if (track_parse_date(f, date, &v) == 0) {
		size_t dl = strlen(date);
		CHECK(dl == 4 || dl == 7 || dl == 10);
		CHECK(v >= 0 && v <= 9999);
		CHECK(atoi(date) == v);
	}
	if (track_parse_id(f, id) == 0) {
		CHECK(strlen(id) == TRACK_ID_LEN);
		for (int i = 0; i < TRACK_ID_LEN; i++)
			CHECK(isascii((unsigned char)id[i]) && isalnum((unsigned char)id[i]));
	}
	/* The splitter modifies its input: give it copies. */
	char *copy = malloc(len + 1);
	CHECK(copy != NULL);
	for (int st = ARTISTS_ONE; st <= ARTISTS_COMMA; st++) {
		memcpy(copy, f, len + 1);
		const char *names[TRACK_MAX_ARTISTS];
		int n = track_split_artists(copy, (enum artist_style)st, names, TRACK_MAX_ARTISTS);
		check_names(names, n, TRACK_MAX_ARTISTS);
		memcpy(copy, f, len + 1);
		n = track_split_artists(copy, (enum artist_style)st, names, 1);
		check_names(names, n, 1);
	}
	free(copy);
}

static void check_problem(const track_problem *p)
{
	CHECK(p->reason != NULL);
	CHECK(memchr(p->detail, '\0', sizeof p->detail) != NULL);
	CHECK(p->detail[0] != '\0');
}

static void map_row(const schema *s, csv_record *rec)
{
	for (size_t k = 0; k < rec->nfields; k++)
		parse_field(rec->fields[k], rec->lens[k]);

	track_rec t;
	track_problem rowp, vp[MAXV];
	int nv = -1;
	int rc = schema_map_row(s, rec, &t, &rowp, vp, MAXV, &nv);
	CHECK(rc == 0 || rc == 1);
	CHECK(nv >= 0 && nv <= MAXV);
	/* A record over a limit, or (with the right field count) holding a NUL
	 * byte, is never usable. */
	if (rec->over_limit != CSV_LIMIT_NONE)
		CHECK(rc == 1 && strcmp(rowp.reason, "too_long") == 0);
	else if (rec->nul_field >= 0 && rec->nfields == s->nfields)
		CHECK(rc == 1 && strcmp(rowp.reason, "nul_byte") == 0);
	if (rc == 1) {
		check_problem(&rowp);
		return;
	}
	for (int i = 0; i < nv; i++) {
		check_problem(&vp[i]);
		CHECK(vp[i].column != NULL);
	}
	CHECK(strlen(t.id) == TRACK_ID_LEN);
	CHECK(t.has_audio == 1);
	for (int f = 0; f < TF__AUDIO; f++) {
		double a = t.audio[f];
		if (f == TF_TEMPO && isnan(a))
			continue; /* tempo 0 is dropped */
		CHECK(!isnan(a));
		if (f == TF_KEY)
			CHECK(a >= -1 && a <= 11);
		else if (f == TF_MODE)
			CHECK(a == 0 || a == 1);
		else if (f == TF_LOUDNESS)
			CHECK(a >= -60 && a <= 5);
		else if (f == TF_TEMPO)
			CHECK(a > 0 && a <= 300);
		else
			CHECK(a >= 0 && a <= 1);
	}
	CHECK(t.popularity == -1 || (t.popularity >= 0 && t.popularity <= 100));
	CHECK(t.duration_ms == -1 || t.duration_ms > 0);
	CHECK(t.time_signature == -1 || (t.time_signature >= 1 && t.time_signature <= 16));
	CHECK(t.year == -1 || (t.year >= 1900 && t.year <= 2030));
	CHECK(t.explicit_ >= -1 && t.explicit_ <= 1);
	CHECK(t.hit >= -1 && t.hit <= 1);
	CHECK(memchr(t.release_date, '\0', sizeof t.release_date) != NULL);
	check_names(t.artists, t.nartists, TRACK_MAX_ARTISTS);
	CHECK(t.ngenres >= 0 && t.ngenres <= TRACK_MAX_GENRES);
	for (int i = 0; i < t.ngenres; i++) {
		CHECK(t.genres[i][0] != '\0');
		for (const char *g = t.genres[i]; *g; g++)
			CHECK(!isupper((unsigned char)*g));
		for (int j = 0; j < i; j++)
			CHECK(strcmp(t.genres[i], t.genres[j]) != 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The first line, as a --map spec when it looks like one. */
	char *spec = NULL;
	const uint8_t *nl = memchr(data, '\n', size);
	size_t first_len = nl ? (size_t)(nl - data) : size;
	if (memchr(data, '=', first_len) != NULL && memchr(data, '\0', first_len) == NULL) {
		spec = malloc(first_len + 1);
		CHECK(spec != NULL);
		memcpy(spec, data, first_len);
		spec[first_len] = '\0';
		if (first_len > 0 && spec[first_len - 1] == '\r')
			spec[first_len - 1] = '\0';
	}

	csv_reader *r = NULL;
	seg_error err = {0};
	CHECK(csv_open_mem(&r, data, size, &err) == 0);
	csv_record rec;
	schema s, s_map;
	int have = 0;
	if (csv_next(r, &rec, &err) == 1) {
		int rc = schema_detect(&s, rec.fields, rec.nfields, NULL, &err);
		CHECK(rc == 0 || rc == SEG_EFORMAT);
		if (rc == 0) {
			check_schema(&s, rec.nfields);
			have = 1;
		} else {
			CHECK(err.code == rc && strstr(err.msg, "--map") != NULL);
		}
		if (spec != NULL) {
			rc = schema_detect(&s_map, rec.fields, rec.nfields, spec, &err);
			CHECK(rc == 0 || rc == SEG_EFORMAT || rc == SEG_EINVAL);
			if (rc == 0) {
				check_schema(&s_map, rec.nfields);
				s = s_map;
				have = 1;
			} else {
				CHECK(err.code == rc && err.msg[0] != '\0');
			}
		}
		/* Rows are read whatever the header was, to exercise the parsers;
		 * they are mapped only with a schema. */
		while (csv_next(r, &rec, &err) == 1) {
			if (have)
				map_row(&s, &rec);
			else
				for (size_t k = 0; k < rec.nfields; k++)
					parse_field(rec.fields[k], rec.lens[k]);
		}
	}
	csv_close(r);
	free(spec);
	return 0;
}
