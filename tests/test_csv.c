/* test_csv.c: the streaming RFC 4180 reader (csv.h). Every case is read four
 * ways: from memory, from a plain file, from a .zst file and from a zstd frame
 * in memory, and compared with the expected records. Inputs larger than the
 * reader's 1 MiB chunk are compared with a simple reference splitter
 * (csv_reference.h), one byte at a time, with no chunking at all. */
#include "testutil.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ingest/csv.h"
#include "csv_reference.h"
#include "core/error.h"

#define MiB (1u << 20)
/* What the reader may hold whatever its input (csv_memory): its 1 MiB chunk,
 * one record at the limit, the field arrays at the limit and some change. */
#define MEMORY_BOUND (MiB + CSV_MAX_RECORD + CSV_MAX_FIELDS * 3 * sizeof(size_t) + 4096)

/* Appends bytes to the current field. */
static void ref_put(ref *r, const char *s, size_t n)
{
	r->data = grow(r->data, &r->dcap, r->dlen + n + 1, 1);
	memcpy(r->data + r->dlen, s, n);
	r->dlen += n;
	r->flen[r->nf - 1] += n;
}

/* Builds a ref from a readable table: each record is a line number, a
 * bad_quote flag and up to 8 NUL-terminated fields (NULL ends the list). */
typedef struct exp_rec {
	long line;
	int bad_quote;
	const char *f[9];
} exp_rec;

static void ref_from_table(ref *r, const exp_rec *e, size_t n)
{
	memset(r, 0, sizeof *r);
	for (size_t i = 0; i < n; i++) {
		ref_begin(r, e[i].line);
		r->rec[r->nrec - 1].bad_quote = e[i].bad_quote;
		for (int k = 0; e[i].f[k] != NULL; k++) {
			ref_field_begin(r);
			ref_put(r, e[i].f[k], strlen(e[i].f[k]));
		}
	}
}

/* ------------------------------------------------------------------------ */
/* Reading through each kind of source.                                     */

enum mode { MODE_MEM, MODE_FILE, MODE_ZST_FILE, MODE_ZST_MEM, MODE__COUNT };
static const char *const mode_names[MODE__COUNT] = {"memory", "file", "zst file", "zst memory"};

/* An open reader plus what must outlive it. */
typedef struct source {
	csv_reader *r;
	char *zbuf; /* compressed copy for MODE_ZST_MEM */
	char path[1200];
} source;

static void source_open(source *s, enum mode m, const char *buf, size_t len)
{
	seg_error err = {0};
	size_t zlen;
	int rc = -1;
	memset(s, 0, sizeof *s);
	switch (m) {
	case MODE_MEM: rc = csv_open_mem(&s->r, buf, len, &err); break;
	case MODE_FILE:
		snprintf(s->path, sizeof s->path, "%s", tu_write_bytes(tu_group_dir, "in.csv", buf, len));
		rc = csv_open(&s->r, s->path, &err);
		break;
	case MODE_ZST_FILE: {
		char *z = tu_zcompress(buf, len, len > MiB ? 1 : 3, &zlen);
		snprintf(s->path, sizeof s->path, "%s", tu_write_bytes(tu_group_dir, "in.csv.zst", z, zlen));
		free(z);
		rc = csv_open(&s->r, s->path, &err);
		break;
	}
	case MODE_ZST_MEM:
		s->zbuf = tu_zcompress(buf, len, len > MiB ? 1 : 3, &zlen);
		rc = csv_open_mem(&s->r, s->zbuf, zlen, &err);
		break;
	default: fail();
	}
	if (rc != 0)
		fail_msg("%s: open failed: %s", mode_names[m], err.msg);
	assert_non_null(s->r);
}

static void source_close(source *s)
{
	csv_close(s->r);
	free(s->zbuf);
	s->r = NULL;
	s->zbuf = NULL;
}

/* Reads `buf` in mode m and checks every record against `want`, then the end
 * (clean, or the expected error) and that progress reaches the total size. */
static void check_mode(const char *buf, size_t len, const ref *want, enum mode m)
{
	source s;
	source_open(&s, m, buf, len);
	const char *mn = mode_names[m];
	csv_record rec;
	seg_error err = {0};
	long prev_line = 0;
	size_t i = 0;
	int rc;
	while ((rc = csv_next(s.r, &rec, &err)) == 1) {
		if (i >= want->nrec)
			fail_msg("%s: extra record %zu at line %ld (%zu fields, first '%.40s')", mn, i, rec.line,
			         rec.nfields, rec.nfields ? rec.fields[0] : "");
		const ref_rec *w = &want->rec[i];
		if (rec.line != w->line)
			fail_msg("%s: record %zu: line %ld, expected %ld", mn, i, rec.line, w->line);
		if (rec.bad_quote != w->bad_quote)
			fail_msg("%s: record %zu (line %ld): bad_quote %d, expected %d", mn, i, rec.line, rec.bad_quote,
			         w->bad_quote);
		if (rec.over_limit != w->over_limit)
			fail_msg("%s: record %zu (line %ld): over_limit %d, expected %d", mn, i, rec.line,
			         rec.over_limit, w->over_limit);
		if (rec.nul_field != w->nul_field)
			fail_msg("%s: record %zu (line %ld): nul_field %d, expected %d", mn, i, rec.line, rec.nul_field,
			         w->nul_field);
		if (rec.nfields != w->nf)
			fail_msg("%s: record %zu (line %ld): %zu fields, expected %zu", mn, i, rec.line, rec.nfields,
			         w->nf);
		if (csv_memory(s.r) > MEMORY_BOUND)
			fail_msg("%s: record %zu (line %ld): the reader holds %zu bytes, more than %zu", mn, i,
			         rec.line, csv_memory(s.r), (size_t)MEMORY_BOUND);
		assert_true(rec.line >= prev_line);
		prev_line = rec.line;
		for (size_t k = 0; k < rec.nfields; k++) {
			size_t wl = want->flen[w->first + k];
			const char *wd = want->data + want->foff[w->first + k];
			if (rec.lens[k] != wl || memcmp(rec.fields[k], wd, wl) != 0)
				fail_msg("%s: record %zu (line %ld) field %zu: got %zu bytes '%.40s', expected %zu "
				         "bytes '%.40s'",
				         mn, i, rec.line, k, rec.lens[k], rec.fields[k], wl, wl ? wd : "");
			if (rec.fields[k][rec.lens[k]] != '\0')
				fail_msg("%s: record %zu field %zu is not NUL-terminated", mn, i, k);
		}
		i++;
	}
	if (i != want->nrec)
		fail_msg("%s: %zu records, expected %zu (csv_next returned %d: %s)", mn, i, want->nrec, rc, err.msg);
	if (rc != want->err)
		fail_msg("%s: csv_next ended with %d (%s), expected %d", mn, rc, err.msg, want->err);
	if (rc < 0) {
		assert_int_equal(err.code, rc);
		assert_int_equal(err.line, want->err_line);
		assert_true(err.msg[0] != '\0');
		if (m == MODE_FILE || m == MODE_ZST_FILE)
			assert_string_equal(err.file, s.path);
		/* The reader stays at the end afterwards. */
		assert_int_equal(csv_next(s.r, &rec, &err), 0);
	} else {
		/* Reading past the end keeps returning 0. */
		assert_int_equal(csv_next(s.r, &rec, &err), 0);
		assert_true(csv_size(s.r) > 0 || len == 0);
		if (csv_consumed(s.r) != csv_size(s.r))
			fail_msg("%s: consumed %llu of %llu bytes at the end", mn,
			         (unsigned long long)csv_consumed(s.r), (unsigned long long)csv_size(s.r));
	}
	source_close(&s);
}

static void check_all_modes(const char *buf, size_t len, const ref *want)
{
	for (int m = 0; m < MODE__COUNT; m++)
		check_mode(buf, len, want, (enum mode)m);
}

/* Checks `in` against a table, and checks that the reference splitter agrees
 * with the table too (so that the large tests below rest on a tested oracle). */
static void expect_csv(const char *in, const exp_rec *e, size_t n, int err, long err_line)
{
	ref want, oracle;
	ref_from_table(&want, e, n);
	want.err = err;
	want.err_line = err_line;
	ref_split(&oracle, in, strlen(in));
	assert_int_equal(oracle.nrec, want.nrec);
	assert_int_equal(oracle.err, want.err);
	check_all_modes(in, strlen(in), &oracle);
	check_all_modes(in, strlen(in), &want);
	ref_free(&want);
	ref_free(&oracle);
}

#define N(a) (sizeof(a) / sizeof *(a))

/* ------------------------------------------------------------------------ */
/* RFC 4180 cases.                                                          */

static void test_plain_fields(void **state)
{
	(void)state;
	static const exp_rec e[] = {
		{1, 0, {"id", "name", "tempo"}},
		{2, 0, {"1", "Yellow", "173.37"}},
		{3, 0, {"2", "Clocks", "130.9"}},
	};
	expect_csv("id,name,tempo\n1,Yellow,173.37\n2,Clocks,130.9\n", e, N(e), 0, 0);
}

static void test_quoted_comma(void **state)
{
	(void)state;
	static const exp_rec e[] = {
		{1, 0, {"Lady Gaga, Bruno Mars", "x"}},
		{2, 0, {"a", ",", ",,"}},
	};
	expect_csv("\"Lady Gaga, Bruno Mars\",x\na,\",\",\",,\"\n", e, N(e), 0, 0);
}

static void test_doubled_quotes(void **state)
{
	(void)state;
	static const exp_rec e[] = {
		{1, 0, {"he said \"hi\"", "\"", "\"\""}},
		{2, 0, {"12\" single", "end"}},
	};
	expect_csv("\"he said \"\"hi\"\"\",\"\"\"\",\"\"\"\"\"\"\n\"12\"\" single\",end\n", e, N(e), 0, 0);
}

static void test_quoted_lf_and_following_lines(void **state)
{
	(void)state;
	static const exp_rec e[] = {
		{1, 0, {"line one\nline two", "b"}},
		{3, 0, {"c", "d"}},
		{4, 0, {"x\n\ny", "\n"}},
		{8, 0, {"last"}},
	};
	expect_csv("\"line one\nline two\",b\nc,d\n\"x\n\ny\",\"\n\"\nlast\n", e, N(e), 0, 0);
}

static void test_quoted_crlf_and_following_lines(void **state)
{
	(void)state;
	static const exp_rec e[] = {
		{1, 0, {"a\r\nb", "c"}},
		{3, 0, {"d", "e"}},
		{4, 0, {"\r\n\r\n", "f"}},
		{7, 0, {"g"}},
	};
	expect_csv("\"a\r\nb\",c\r\nd,e\r\n\"\r\n\r\n\",f\r\ng\r\n", e, N(e), 0, 0);
}

static void test_crlf_line_ends(void **state)
{
	(void)state;
	static const exp_rec e[] = {
		{1, 0, {"a", "b"}},
		{2, 0, {"c", "d"}},
		{3, 0, {"e", "f"}},
	};
	expect_csv("a,b\r\nc,d\r\n\"e\",\"f\"\r\n", e, N(e), 0, 0);
}

static void test_lf_line_ends(void **state)
{
	(void)state;
	static const exp_rec e[] = {
		{1, 0, {"a", "b"}},
		{2, 0, {"c", "d"}},
		{3, 0, {"e", "f"}},
	};
	expect_csv("a,b\nc,d\n\"e\",\"f\"\n", e, N(e), 0, 0);
}

static void test_mixed_line_ends(void **state)
{
	(void)state;
	/* clang-format off */
	static const exp_rec e[] = {
		{1, 0, {"a", "b"}},
		{2, 0, {"c", "d"}},
		{3, 0, {"e", "f"}},
		{4, 0, {"g", "h\ni"}},
		{6, 0, {"j"}},
	};
	/* clang-format on */
	expect_csv("a,b\r\nc,d\n\"e\",f\r\ng,\"h\ni\"\nj\r\n", e, N(e), 0, 0);
}

static void test_bom_stripped_at_start(void **state)
{
	(void)state;
	static const exp_rec e[] = {
		{1, 0, {"genre", "artist_name"}},
		{2, 0, {"Movie", "Henri Salvador"}},
	};
	expect_csv("\xEF\xBB\xBFgenre,artist_name\r\nMovie,Henri Salvador\r\n", e, N(e), 0, 0);
	/* A BOM before a quoted first field. */
	static const exp_rec q[] = {{1, 0, {"q,q", "r"}}};
	expect_csv("\xEF\xBB\xBF\"q,q\",r\n", q, N(q), 0, 0);
	/* Only a BOM, or a BOM and a blank line: no records. */
	expect_csv("\xEF\xBB\xBF", NULL, 0, 0, 0);
	expect_csv("\xEF\xBB\xBF\n", NULL, 0, 0, 0);
}

static void test_bom_kept_elsewhere(void **state)
{
	(void)state;
	/* clang-format off */
	static const exp_rec e[] = {
		{1, 0, {"a", "b"}},
		{2, 0, {"\xEF\xBB\xBF" "c", "d\xEF\xBB\xBF"}},
		{3, 0, {"\xEF\xBB\xBF"}},
	};
	/* clang-format on */
	expect_csv("a,b\n\xEF\xBB\xBF"
	           "c,d\xEF\xBB\xBF\n\xEF\xBB\xBF\n",
	           e, N(e), 0, 0);
	/* Two BOMs at the start: only the first is a BOM. */
	static const exp_rec two[] = {{1,
	                               0,
	                               {"\xEF\xBB\xBF"
	                                "x"}}};
	expect_csv("\xEF\xBB\xBF\xEF\xBB\xBF"
	           "x\n",
	           two, N(two), 0, 0);
}

static void test_no_final_newline(void **state)
{
	(void)state;
	static const exp_rec e[] = {
		{1, 0, {"a", "b"}},
		{2, 0, {"c", "d"}},
	};
	expect_csv("a,b\nc,d", e, N(e), 0, 0);
	static const exp_rec q[] = {
		{1, 0, {"a", "b"}},
		{2, 0, {"c", "quoted, last"}},
	};
	expect_csv("a,b\r\nc,\"quoted, last\"", q, N(q), 0, 0);
	static const exp_rec one[] = {{1, 0, {"x"}}};
	expect_csv("x", one, N(one), 0, 0);
}

static void test_blank_lines_skipped(void **state)
{
	(void)state;
	static const exp_rec e[] = {
		{3, 0, {"a"}},
		{6, 0, {"b", "c"}},
	};
	expect_csv("\n\na\n\n\r\nb,c\n\n\r\n", e, N(e), 0, 0);
	expect_csv("\n\r\n\n", NULL, 0, 0, 0);
	expect_csv("", NULL, 0, 0, 0);
}

static void test_quoted_empty_line_is_a_record(void **state)
{
	(void)state;
	static const exp_rec e[] = {
		{1, 0, {"a"}},
		{2, 0, {""}},
		{3, 0, {"b"}},
		{4, 0, {""}},
	};
	expect_csv("a\n\"\"\nb\r\n\"\"", e, N(e), 0, 0);
}

static void test_trailing_comma_is_empty_field(void **state)
{
	(void)state;
	/* clang-format off */
	static const exp_rec e[] = {
		{1, 0, {"a", "b", ""}},
		{2, 0, {"c", ""}},
		{3, 0, {"", ""}},
		{4, 0, {"\"q\"", ""}},
		{5, 0, {"x", ""}},
	};
	/* clang-format on */
	expect_csv("a,b,\nc,\r\n,\n\"\"\"q\"\"\",\nx,", e, N(e), 0, 0);
}

static void test_ragged_rows(void **state)
{
	(void)state;
	static const exp_rec e[] = {
		{1, 0, {"a", "b", "c"}},
		{2, 0, {"d"}},
		{3, 0, {"e", "f"}},
		{4, 0, {"1", "2", "3", "4", "5", "6", "7", "8"}},
	};
	expect_csv("a,b,c\nd\ne,f\n1,2,3,4,5,6,7,8\n", e, N(e), 0, 0);
}

static void test_empty_fields(void **state)
{
	(void)state;
	static const exp_rec e[] = {
		{1, 0, {"", "", ""}},
		{2, 0, {"a", "", "b"}},
		{3, 0, {"", ""}},
		{4, 0, {"", "x", ""}},
	};
	expect_csv(",,\na,,b\n\"\",\"\"\n,x,\"\"\n", e, N(e), 0, 0);
}

static void test_many_fields(void **state)
{
	(void)state;
	/* More fields than the reader's initial field array (64). */
	char in[4000];
	size_t n = 0;
	for (int i = 0; i < 500; i++)
		n += (size_t)snprintf(in + n, sizeof in - n, "%s%d", i ? "," : "", i);
	snprintf(in + n, sizeof in - n, "\nz\n");
	ref want;
	ref_split(&want, in, strlen(in));
	assert_int_equal(want.nrec, 2);
	assert_int_equal(want.rec[0].nf, 500);
	check_all_modes(in, strlen(in), &want);
	ref_free(&want);
}

static void test_unterminated_quote(void **state)
{
	(void)state;
	static const exp_rec e[] = {{1, 0, {"a", "b"}}};
	expect_csv("a,b\n\"open,x\ny\n", e, N(e), SEG_EFORMAT, 2);
	/* After a multi-line quoted field, the error names the start line. */
	static const exp_rec m[] = {
		{1, 0, {"h"}},
		{2, 0, {"a\nb"}},
	};
	expect_csv("h\n\"a\nb\"\nc,\"never\nclosed", m, N(m), SEG_EFORMAT, 4);
	expect_csv("\"", NULL, 0, SEG_EFORMAT, 1);
	/* A doubled quote at the end is still inside the field. */
	expect_csv("\"abc\"\"", NULL, 0, SEG_EFORMAT, 1);
}

static void test_quote_inside_unquoted_field(void **state)
{
	(void)state;
	static const exp_rec e[] = {
		{1, 1, {"ab\"c", "d"}},
		{2, 0, {"e", "f"}},
		{3, 1, {"x", "12\" vinyl"}},
	};
	expect_csv("ab\"c,d\ne,f\nx,12\" vinyl\n", e, N(e), 0, 0);
}

static void test_text_after_closing_quote(void **state)
{
	(void)state;
	static const exp_rec e[] = {
		{1, 1, {"abc", "d"}},
		{2, 0, {"e"}},
		{3, 1, {"q x", "y"}},
	};
	expect_csv("\"ab\"c,d\ne\n\"q\" x,y\n", e, N(e), 0, 0);
}

static void test_close_null(void **state)
{
	(void)state;
	csv_close(NULL);
	/* And a reader closed before reading anything releases everything. */
	csv_reader *r = NULL;
	assert_int_equal(csv_open_mem(&r, "a,b\n", 4, NULL), 0);
	csv_close(r);
}

static void test_open_missing_file(void **state)
{
	(void)state;
	char path[1200];
	snprintf(path, sizeof path, "%s/does-not-exist.csv", tu_group_dir);
	csv_reader *r = (csv_reader *)&r; /* must be reset to NULL */
	seg_error err = {0};
	int rc = csv_open(&r, path, &err);
	assert_int_equal(rc, SEG_ENOTFOUND);
	assert_null(r);
	assert_int_equal(err.code, SEG_ENOTFOUND);
	assert_non_null(strstr(err.msg, "does-not-exist.csv"));
	/* A directory is not a CSV file. */
	rc = csv_open(&r, tu_group_dir, &err);
	assert_true(rc < 0);
	assert_null(r);
}

static void test_progress(void **state)
{
	(void)state;
	const char *in = "a,b\nc,d\ne,f\n";
	size_t len = strlen(in);
	for (int m = 0; m < MODE__COUNT; m++) {
		source s;
		source_open(&s, (enum mode)m, in, len);
		uint64_t size = csv_size(s.r);
		if (m == MODE_MEM || m == MODE_FILE)
			assert_int_equal(size, len);
		assert_true(size > 0);
		assert_true(csv_consumed(s.r) <= size);
		csv_record rec;
		uint64_t prev = 0;
		int rc, n = 0;
		while ((rc = csv_next(s.r, &rec, NULL)) == 1) {
			uint64_t c = csv_consumed(s.r);
			assert_true(c >= prev);
			assert_true(c <= size);
			prev = c;
			n++;
		}
		assert_int_equal(rc, 0);
		assert_int_equal(n, 3);
		assert_int_equal(csv_consumed(s.r), size);
		source_close(&s);
	}
}

/* ------------------------------------------------------------------------ */
/* Chunk boundaries (the reader refills 1 MiB at a time).                    */

static uint32_t rng_state;
static uint32_t rnd(void)
{
	rng_state = rng_state * 1664525u + 1013904223u;
	return rng_state >> 8;
}

typedef struct gen {
	char *buf;
	size_t len, cap;
} gen;

static void gen_put(gen *g, const char *s, size_t n)
{
	g->buf = grow(g->buf, &g->cap, g->len + n + 1, 1);
	memcpy(g->buf + g->len, s, n);
	g->len += n;
	g->buf[g->len] = '\0';
}

static void gen_puts(gen *g, const char *s) { gen_put(g, s, strlen(s)); }

static inline void gen_putc(gen *g, char c)
{
	if (g->len + 2 > g->cap)
		g->buf = grow(g->buf, &g->cap, g->len + 2, 1);
	g->buf[g->len++] = c;
	g->buf[g->len] = '\0';
}

static void gen_fill(gen *g, char c, size_t n)
{
	g->buf = grow(g->buf, &g->cap, g->len + n + 1, 1);
	memset(g->buf + g->len, c, n);
	g->len += n;
	g->buf[g->len] = '\0';
}

/* One random record: 1..8 fields of every kind, LF or CRLF at the end, now
 * and then a blank line, a `""` line, or a stray quote. */
static void gen_record(gen *g)
{
	static const char alnum[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .-";
	static const char quoted[] = "abc ,,\n\r\"";
	uint32_t r = rnd() % 40;
	if (r == 0) {
		gen_puts(g, rnd() % 2 ? "\n" : "\r\n");
		return;
	}
	if (r == 1) {
		gen_puts(g, "\"\"\n");
		return;
	}
	int nf = 1 + (int)(rnd() % 8);
	for (int i = 0; i < nf; i++) {
		if (i)
			gen_puts(g, ",");
		uint32_t kind = rnd() % 10;
		int n = (int)(rnd() % 30);
		if (kind < 5) {
			for (int k = 0; k < n; k++)
				gen_putc(g, alnum[rnd() % (sizeof alnum - 1)]);
			if (kind == 0 && rnd() % 20 == 0)
				gen_puts(g, "\"stray");
		} else {
			gen_puts(g, "\"");
			for (int k = 0; k < n; k++) {
				char c = quoted[rnd() % (sizeof quoted - 1)];
				gen_putc(g, c);
				if (c == '"')
					gen_putc(g, c); /* doubled */
			}
			gen_puts(g, "\"");
			if (kind == 5 && rnd() % 20 == 0)
				gen_puts(g, "after");
		}
	}
	gen_puts(g, rnd() % 2 ? "\n" : "\r\n");
}

/* Shapes that put a delimiter of some kind at an exact offset. */
enum shape { SH_LF, SH_CRLF, SH_COMMA, SH_CLOSE_QUOTE, SH_DOUBLED_QUOTE, SH_QUOTED_CRLF, SH__COUNT };

/* Appends random records up to near `at`, then a filler record whose special
 * byte lands exactly at offset `at`. */
static void gen_place(gen *g, size_t at, enum shape sh)
{
	while (g->len + 2000 < at)
		gen_record(g);
	size_t pad; /* filler bytes before the special byte */
	switch (sh) {
	case SH_LF:
	case SH_CRLF:
	case SH_COMMA:
		pad = at - g->len;
		gen_fill(g, 'p', pad);
		gen_puts(g, sh == SH_LF ? "\n" : sh == SH_CRLF ? "\r\n" : ",tail\n");
		break;
	case SH_CLOSE_QUOTE:
	case SH_DOUBLED_QUOTE:
	case SH_QUOTED_CRLF:
		pad = at - g->len - 1; /* after the opening quote */
		gen_puts(g, "\"");
		gen_fill(g, 'q', pad);
		gen_puts(g, sh == SH_CLOSE_QUOTE ? "\"\r\n" : sh == SH_DOUBLED_QUOTE ? "\"\"q\"\n" : "\r\nq\"\n");
		break;
	default: fail();
	}
}

/* Checks a generated input from memory and in one other mode (rotating, to
 * keep the test fast: the chunking is the same whatever the source). */
static void check_boundary_input(gen *g, int rot)
{
	ref want;
	ref_split(&want, g->buf, g->len);
	assert_int_equal(want.err, 0);
	assert_true(want.nrec > 10000);
	check_mode(g->buf, g->len, &want, MODE_MEM);
	check_mode(g->buf, g->len, &want, (enum mode)(1 + rot % (MODE__COUNT - 1)));
	ref_free(&want);
}

static void test_records_straddle_chunk_boundary(void **state)
{
	(void)state;
	/* Random records before, between and after the placed ones are generated
	 * once and shared by every input. */
	gen prefix = {0}, middle = {0}, tail = {0};
	rng_state = 12345;
	while (prefix.len < MiB - 2000)
		gen_record(&prefix);
	while (middle.len < MiB - 2100)
		gen_record(&middle);
	while (tail.len < 8192)
		gen_record(&tail);
	/* For each shape, its special byte at offset 1048575, 1048576 or 1048577,
	 * and a second one (another shape) at the same distance from 2 MiB. */
	int rot = 0;
	for (int sh = 0; sh < SH__COUNT; sh++) {
		for (long d = -1; d <= 1; d++) {
			gen g = {0};
			gen_put(&g, prefix.buf, prefix.len);
			gen_place(&g, (size_t)((long)MiB + d), (enum shape)sh);
			gen_put(&g, middle.buf, middle.len);
			gen_place(&g, (size_t)((long)(2 * MiB) + d), (enum shape)((sh + 3) % SH__COUNT));
			gen_put(&g, tail.buf, tail.len);
			assert_true(g.len > 2 * MiB + 4096);
			check_boundary_input(&g, rot++);
			free(g.buf);
		}
	}
	free(prefix.buf);
	free(middle.buf);
	free(tail.buf);
}

static void test_bom_with_chunk_boundary(void **state)
{
	(void)state;
	/* The BOM is three bytes of the first chunk; boundaries stay at byte
	 * offsets of the input. */
	gen g = {0};
	rng_state = 99;
	gen_puts(&g, "\xEF\xBB\xBF");
	gen_place(&g, MiB - 1, SH_CRLF);
	while (g.len < MiB + 5000)
		gen_record(&g);
	check_boundary_input(&g, 2);
	free(g.buf);
}

static void test_field_longer_than_chunk(void **state)
{
	(void)state;
	gen g = {0};
	gen_puts(&g, "x,");
	/* A 2.5 MiB quoted field with commas, doubled quotes and line breaks,
	 * crossing two chunk boundaries, then a 1.5 MiB unquoted field. */
	gen_puts(&g, "\"");
	size_t qlen = 0; /* unescaped length */
	long nl = 0;
	while (qlen < 5 * MiB / 2) {
		switch (qlen % 97) {
		case 13: gen_puts(&g, "\"\""); break;
		case 40: gen_puts(&g, ","); break;
		case 71:
			gen_puts(&g, "\n");
			nl++;
			break;
		default: gen_putc(&g, "0123456789"[qlen % 10]);
		}
		qlen++;
	}
	gen_puts(&g, "\",y\n");
	gen_fill(&g, 'u', 3 * MiB / 2);
	gen_puts(&g, ",z\nlast,row\n");

	ref want;
	ref_split(&want, g.buf, g.len);
	assert_int_equal(want.nrec, 3);
	assert_int_equal(want.rec[0].nf, 3);
	assert_int_equal(want.flen[1], qlen);
	assert_int_equal(want.rec[1].line, 2 + nl);
	assert_int_equal(want.flen[want.rec[1].first], 3 * MiB / 2);
	assert_int_equal(want.rec[2].line, 3 + nl);
	check_all_modes(g.buf, g.len, &want);
	ref_free(&want);
	free(g.buf);
}

/* ------------------------------------------------------------------------ */
/* NUL bytes and limits (csv.h).                                             */

/* Splits buf with the oracle, checks the oracle's flags for record `i`
 * against what the test expects (so the oracle is not trusted blindly), then
 * reads buf every way. */
static void expect_flags(const char *buf, size_t len, size_t nrec, size_t i, int over_limit, int nul_field, long line)
{
	ref want;
	ref_split(&want, buf, len);
	assert_int_equal(want.err, 0);
	assert_int_equal(want.nrec, nrec);
	assert_int_equal(want.rec[i].over_limit, over_limit);
	assert_int_equal(want.rec[i].nul_field, nul_field);
	assert_int_equal(want.rec[i].line, line);
	if (over_limit != CSV_LIMIT_NONE)
		assert_int_equal(want.rec[i].nf, 0);
	check_all_modes(buf, len, &want);
	ref_free(&want);
}

static void test_nul_byte_flags_its_field(void **state)
{
	(void)state;
	/* An id with a NUL and junk after it: as a C string it would read as a
	 * valid id. The field keeps its whole text; the record names the field. */
	static const char a[] = "id,name\n5KY6tpydrnMqDLytakBoRx\0junk,Song\nok,row\n";
	expect_flags(a, sizeof a - 1, 3, 1, CSV_LIMIT_NONE, 0, 2);
	csv_reader *r;
	csv_record rec;
	assert_int_equal(csv_open_mem(&r, a, sizeof a - 1, NULL), 0);
	assert_int_equal(csv_next(r, &rec, NULL), 1);
	assert_int_equal(rec.nul_field, -1);
	assert_int_equal(csv_next(r, &rec, NULL), 1);
	assert_int_equal(rec.nul_field, 0);
	assert_int_equal(rec.lens[0], 27);
	assert_memory_equal(rec.fields[0], "5KY6tpydrnMqDLytakBoRx\0junk", 28);
	assert_int_equal(csv_next(r, &rec, NULL), 1);
	assert_int_equal(rec.nul_field, -1); /* the next record is clean again */
	csv_close(r);

	/* In a quoted field (the second), after a closing quote, and the first of
	 * two fields with one. */
	static const char b[] = "a,\"b\0c\"\n";
	expect_flags(b, sizeof b - 1, 1, 0, CSV_LIMIT_NONE, 1, 1);
	static const char c[] = "\"a\"\0,b\n";
	expect_flags(c, sizeof c - 1, 1, 0, CSV_LIMIT_NONE, 0, 1);
	static const char d[] = "x,y\0,\0z\n";
	expect_flags(d, sizeof d - 1, 1, 0, CSV_LIMIT_NONE, 1, 1);
	/* In a span that grows the record buffer (beyond its first 4 KiB). */
	char big[9000];
	memset(big, 'g', sizeof big);
	memcpy(big, "h\nx,", 4);
	big[6000] = '\0';
	big[sizeof big - 1] = '\n';
	expect_flags(big, sizeof big, 2, 1, CSV_LIMIT_NONE, 1, 2);
	/* A field that is only a NUL is not a blank line. */
	static const char e[] = "\0\nq\n";
	expect_flags(e, sizeof e - 1, 2, 0, CSV_LIMIT_NONE, 0, 1);
}

static void test_nul_byte_at_chunk_boundary(void **state)
{
	(void)state;
	/* A NUL as the last byte of the first chunk, the first of the second, and
	 * just after it; records in later chunks without one stay clean. */
	for (long d = -1; d <= 1; d++) {
		gen g = {0};
		rng_state = 7;
		while (g.len + 2000 < MiB)
			gen_record(&g);
		size_t rec_start = g.len;
		gen_fill(&g, 'p', (size_t)((long)MiB + d) - g.len);
		gen_putc(&g, '\0');
		gen_puts(&g, "tail,x\n");
		size_t before = g.len;
		while (g.len < 2 * MiB + 5000)
			gen_record(&g);
		ref want;
		ref_split(&want, g.buf, g.len);
		size_t flagged = 0, at = 0;
		for (size_t i = 0; i < want.nrec; i++)
			if (want.rec[i].nul_field >= 0) {
				flagged++;
				at = i;
			}
		assert_int_equal(flagged, 1);
		assert_int_equal(want.rec[at].nul_field, 0);
		assert_int_equal(want.flen[want.rec[at].first], (size_t)((long)MiB + d) - rec_start + 5);
		(void)before;
		check_mode(g.buf, g.len, &want, MODE_MEM);
		check_mode(g.buf, g.len, &want, MODE_ZST_FILE);
		ref_free(&want);
		free(g.buf);
	}
}

static void test_long_line_is_skipped(void **state)
{
	(void)state;
	/* A 20 MB line between two good ones: flagged at its line, no fields,
	 * the next record read as usual, and the reader never holding more than
	 * MEMORY_BOUND (check_mode checks csv_memory on every record). */
	gen g = {0};
	gen_puts(&g, "h1,h2\n");
	gen_fill(&g, 'x', 20 * 1000 * 1000);
	gen_puts(&g, ",tail\na,b\n");
	expect_flags(g.buf, g.len, 3, 1, CSV_LIMIT_FIELD, -1, 2);
	free(g.buf);

	/* Three fields of 3 MiB: each within the field limit, together over the
	 * record limit. And the line ends with CRLF, then the input without one. */
	g = (gen){0};
	gen_puts(&g, "h\r\n");
	for (int i = 0; i < 3; i++) {
		gen_puts(&g, i ? "," : "");
		gen_fill(&g, 'r', 3 * MiB);
	}
	gen_puts(&g, "\r\nlast");
	expect_flags(g.buf, g.len, 3, 1, CSV_LIMIT_RECORD, -1, 2);
	free(g.buf);

	/* The same record as the last one of the input, with no line end. */
	g = (gen){0};
	gen_puts(&g, "h\n");
	for (int i = 0; i < 3; i++) {
		gen_puts(&g, i ? "," : "");
		gen_fill(&g, 'r', 3 * MiB);
	}
	expect_flags(g.buf, g.len, 2, 1, CSV_LIMIT_RECORD, -1, 2);
	free(g.buf);
}

static void test_limits_are_exact(void **state)
{
	(void)state;
	gen g = {0};
	/* A field of exactly CSV_MAX_FIELD bytes is read; one more is not. */
	gen_fill(&g, 'f', CSV_MAX_FIELD);
	gen_puts(&g, "\n");
	gen_fill(&g, 'f', CSV_MAX_FIELD + 1);
	gen_puts(&g, "\nend\n");
	expect_flags(g.buf, g.len, 3, 0, CSV_LIMIT_NONE, -1, 1);
	expect_flags(g.buf, g.len, 3, 1, CSV_LIMIT_FIELD, -1, 2);
	free(g.buf);

	/* A record of exactly CSV_MAX_RECORD bytes (its two fields plus one byte
	 * each) is read; one more byte is not. */
	g = (gen){0};
	size_t second = CSV_MAX_RECORD - CSV_MAX_FIELD - 2;
	for (int extra = 0; extra <= 1; extra++) {
		gen_fill(&g, 'a', CSV_MAX_FIELD);
		gen_puts(&g, ",");
		gen_fill(&g, 'b', second + (size_t)extra);
		gen_puts(&g, "\n");
	}
	expect_flags(g.buf, g.len, 2, 0, CSV_LIMIT_NONE, -1, 1);
	expect_flags(g.buf, g.len, 2, 1, CSV_LIMIT_RECORD, -1, 2);
	free(g.buf);

	/* CSV_MAX_FIELDS fields are read; one more is not (with empty fields too:
	 * the record limit counts one byte per field). */
	g = (gen){0};
	for (unsigned k = 0; k < CSV_MAX_FIELDS; k++)
		gen_puts(&g, k ? ",v" : "v");
	gen_puts(&g, "\n");
	for (unsigned k = 0; k < CSV_MAX_FIELDS; k++)
		gen_puts(&g, ",");
	gen_puts(&g, "\nz\n");
	expect_flags(g.buf, g.len, 3, 0, CSV_LIMIT_NONE, -1, 1);
	expect_flags(g.buf, g.len, 3, 1, CSV_LIMIT_FIELDS, -1, 2);
	free(g.buf);
}

static void test_skipping_honours_quotes(void **state)
{
	(void)state;
	/* An oversized quoted field full of line breaks, commas and doubled
	 * quotes: skipping it must not end the record at any of them, and the
	 * line count goes on through it. */
	gen g = {0};
	gen_puts(&g, "x,\"");
	long nl = 0;
	for (size_t i = 0; g.len < 5 * MiB; i++) {
		if (i % 1000 == 999) {
			gen_puts(&g, "\n");
			nl++;
		} else if (i % 1000 == 500) {
			gen_puts(&g, "\"\",a\r\n");
			nl++;
		} else {
			gen_putc(&g, 'q');
		}
	}
	gen_puts(&g, "\",y\nnext,row\n");
	expect_flags(g.buf, g.len, 2, 0, CSV_LIMIT_FIELD, -1, 1);
	expect_flags(g.buf, g.len, 2, 1, CSV_LIMIT_NONE, -1, 2 + nl);
	free(g.buf);
}

/* Reads `buf` from memory: one good record, then the error that ends an
 * oversized record with no end in sight, at line 2; then nothing more. */
static void expect_endless(const char *buf, size_t len)
{
	csv_reader *r;
	csv_record rec;
	seg_error err = {0};
	assert_int_equal(csv_open_mem(&r, buf, len, &err), 0);
	assert_int_equal(csv_next(r, &rec, &err), 1);
	assert_int_equal(rec.nfields, 2);
	assert_int_equal(csv_next(r, &rec, &err), SEG_EFORMAT);
	assert_int_equal(err.code, SEG_EFORMAT);
	assert_int_equal(err.line, 2);
	assert_string_equal(err.file, "(memory)");
	assert_non_null(strstr(err.msg, "CSV"));
	assert_true(csv_memory(r) <= MEMORY_BOUND);
	/* It stopped soon after CSV_MAX_SKIP bytes, not at the end of the input. */
	assert_true(csv_consumed(r) <= CSV_MAX_SKIP + 4 * MiB);
	assert_int_equal(csv_next(r, &rec, &err), 0);
	csv_close(r);
}

static void test_endless_record_stops(void **state)
{
	(void)state;
	/* A header, then NULs, commas, or a quote never closed, all far past
	 * CSV_MAX_SKIP: each ends with an error, in bounded time and memory. */
	const size_t n = CSV_MAX_SKIP + 16 * MiB;
	char *buf = malloc(n);
	assert_non_null(buf);
	memcpy(buf, "a,b\n", 4);
	memset(buf + 4, 0, n - 4);
	expect_endless(buf, n);
	memset(buf + 4, ',', n - 4);
	expect_endless(buf, n);
	buf[4] = '"';
	memset(buf + 5, 'q', n - 5);
	expect_endless(buf, n);
	free(buf);

	/* And /dev/zero itself: the first record never ends. */
	csv_reader *r;
	csv_record rec;
	seg_error err = {0};
	assert_int_equal(csv_open(&r, "/dev/zero", &err), 0);
	assert_int_equal(csv_next(r, &rec, &err), SEG_EFORMAT);
	assert_int_equal(err.line, 1);
	assert_string_equal(err.file, "/dev/zero");
	assert_true(csv_memory(r) <= MEMORY_BOUND);
	assert_int_equal(csv_next(r, &rec, &err), 0);
	csv_close(r);
}

/* The peak resident set size of this process in KiB since reset_peak(), or
 * -1 when the kernel does not say. */
static long peak_rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	if (f == NULL)
		return -1;
	char line[256];
	long v = -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "VmHWM: %ld kB", &v) == 1)
			break;
	fclose(f);
	return v;
}

static int reset_peak(void)
{
	int fd = open("/proc/self/clear_refs", O_WRONLY);
	if (fd < 0)
		return -1;
	int ok = write(fd, "5", 1) == 1;
	close(fd);
	return ok ? 0 : -1;
}

static void test_nul_stream_in_bounded_memory(void **state)
{
	(void)state;
	/* The attack as the binary sees it: a header, then NULs through a pipe
	 * (up to 4 x CSV_MAX_SKIP of them: without the limits the reader would
	 * swallow them all). A child process reads them; its peak resident size
	 * must grow by less than 64 MiB. Child exit codes: 0 ok, 10 + n for the
	 * check n that failed. */
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[1]);
		if (dup2(fds[0], 0) < 0)
			_exit(10);
		close(fds[0]);
		int have_peak = reset_peak() == 0;
		long rss0 = peak_rss_kib();
		csv_reader *r;
		csv_record rec;
		seg_error err = {0};
		if (csv_open(&r, "-", &err) != 0)
			_exit(11);
		if (csv_next(r, &rec, &err) != 1 || rec.nfields != 2)
			_exit(12);
		int rc = csv_next(r, &rec, &err);
		if (have_peak && rss0 > 0 && peak_rss_kib() - rss0 > 64 * 1024)
			_exit(13);
		if (csv_memory(r) > MEMORY_BOUND)
			_exit(14);
		if (rc != SEG_EFORMAT || err.line != 2)
			_exit(15);
		csv_close(r);
		_exit(0);
	}
	close(fds[0]);
	void (*old)(int) = signal(SIGPIPE, SIG_IGN);
	static char zeros[1 << 16];
	assert_int_equal(write(fds[1], "a,b\n", 4), 4);
	for (size_t sent = 0; sent < 4 * (size_t)CSV_MAX_SKIP;) {
		ssize_t w = write(fds[1], zeros, sizeof zeros);
		if (w <= 0)
			break; /* the reader gave up (EPIPE) */
		sent += (size_t)w;
	}
	close(fds[1]);
	signal(SIGPIPE, old);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) != 0)
		fail_msg("the child reading a stream of NULs failed check %d", WEXITSTATUS(status) - 10);
}

/* ------------------------------------------------------------------------ */
/* Compressed input that is damaged.                                          */

/* A .zst file cut short must be an error, not a shorter CSV: otherwise an
 * interrupted download is ingested as if it were complete. */
static void test_truncated_zst_is_an_error(void **state)
{
	(void)state;
	gen g = {0};
	for (int i = 0; i < 5000; i++) {
		char line[64];
		snprintf(line, sizeof line, "%d,track %d,%d.5\n", i, i * 7, i % 200);
		gen_puts(&g, line);
	}
	size_t zlen;
	char *z = tu_zcompress(g.buf, g.len, 3, &zlen);
	const size_t cut = zlen - 8; /* drop the end of the frame */
	const char *path = tu_write_bytes(tu_group_dir, "cut.csv.zst", z, cut);

	for (int m = 0; m < 2; m++) {
		csv_reader *r;
		seg_error err = {0};
		int rc = m == 0 ? csv_open(&r, path, &err) : csv_open_mem(&r, z, cut, &err);
		assert_int_equal(rc, 0);
		csv_record rec;
		long n = 0;
		while ((rc = csv_next(r, &rec, &err)) == 1)
			n++;
		csv_close(r);
		if (rc >= 0) {
			free(z);
			free(g.buf);
			fail_msg("%s: a truncated zstd frame read as %ld of 5000 records and a clean end",
			         m == 0 ? "file" : "memory", n);
		}
		assert_int_equal(rc, SEG_EFORMAT);
	}
	free(z);
	free(g.buf);
}

static void test_corrupt_zst_is_an_error(void **state)
{
	(void)state;
	const char *text = "a,b\nc,d\n";
	size_t zlen;
	char *z = tu_zcompress(text, strlen(text), 3, &zlen);
	/* Keep the magic number, damage the frame header and block. */
	for (size_t i = 4; i < zlen; i++)
		z[i] = (char)(z[i] ^ 0xA5);
	csv_reader *r;
	seg_error err = {0};
	assert_int_equal(csv_open_mem(&r, z, zlen, &err), 0);
	csv_record rec;
	int rc;
	while ((rc = csv_next(r, &rec, &err)) == 1)
		;
	assert_int_equal(rc, SEG_EFORMAT);
	assert_non_null(strstr(err.msg, "zstd"));
	csv_close(r);
	free(z);
}

/* ------------------------------------------------------------------------ */

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_fields),
		cmocka_unit_test(test_quoted_comma),
		cmocka_unit_test(test_doubled_quotes),
		cmocka_unit_test(test_quoted_lf_and_following_lines),
		cmocka_unit_test(test_quoted_crlf_and_following_lines),
		cmocka_unit_test(test_crlf_line_ends),
		cmocka_unit_test(test_lf_line_ends),
		cmocka_unit_test(test_mixed_line_ends),
		cmocka_unit_test(test_bom_stripped_at_start),
		cmocka_unit_test(test_bom_kept_elsewhere),
		cmocka_unit_test(test_no_final_newline),
		cmocka_unit_test(test_blank_lines_skipped),
		cmocka_unit_test(test_quoted_empty_line_is_a_record),
		cmocka_unit_test(test_trailing_comma_is_empty_field),
		cmocka_unit_test(test_ragged_rows),
		cmocka_unit_test(test_empty_fields),
		cmocka_unit_test(test_many_fields),
		cmocka_unit_test(test_unterminated_quote),
		cmocka_unit_test(test_quote_inside_unquoted_field),
		cmocka_unit_test(test_text_after_closing_quote),
		cmocka_unit_test(test_close_null),
		cmocka_unit_test(test_open_missing_file),
		cmocka_unit_test(test_progress),
		cmocka_unit_test(test_records_straddle_chunk_boundary),
		cmocka_unit_test(test_bom_with_chunk_boundary),
		cmocka_unit_test(test_field_longer_than_chunk),
		cmocka_unit_test(test_nul_byte_flags_its_field),
		cmocka_unit_test(test_nul_byte_at_chunk_boundary),
		cmocka_unit_test(test_long_line_is_skipped),
		cmocka_unit_test(test_limits_are_exact),
		cmocka_unit_test(test_skipping_honours_quotes),
		cmocka_unit_test(test_endless_record_stops),
		cmocka_unit_test(test_nul_stream_in_bounded_memory),
		cmocka_unit_test(test_truncated_zst_is_an_error),
		cmocka_unit_test(test_corrupt_zst_is_an_error),
	};
	return cmocka_run_group_tests(tests, tu_group_tmpdir, tu_group_rmtree);
}
