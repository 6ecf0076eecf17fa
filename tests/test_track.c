/* test_track.c: the value parsers, the artist-list splitter and the
 * validation rules of the canonical track record (track.h). */
#include "testutil.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/track.h"

#define N(a) (sizeof(a) / sizeof *(a))

/* A parser case: input, expected return, expected value when it succeeds. */
typedef struct int_case {
	const char *in;
	int rc;
	int want;
} int_case;

typedef int (*int_parser)(const char *, int *);

static void run_int_cases(const char *what, int_parser parse, const int_case *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int v = -12345;
		int rc = parse(c[i].in, &v);
		if (rc != c[i].rc)
			fail_msg("%s(\"%s\") returned %d, expected %d", what, c[i].in, rc, c[i].rc);
		if (rc == 0 && v != c[i].want)
			fail_msg("%s(\"%s\") gave %d, expected %d", what, c[i].in, v, c[i].want);
	}
}

/* ------------------------------------------------------------------------ */
/* Number parsers                                                           */

static void test_parse_double(void **state)
{
	(void)state;
	double v;
	assert_int_equal(track_parse_double("0.5", &v), 0);
	assert_true(v == 0.5);
	assert_int_equal(track_parse_double(" -7.727\t", &v), 0);
	assert_true(v == -7.727);
	assert_int_equal(track_parse_double("4.79E-06", &v), 0);
	assert_true(fabs(v - 4.79e-06) < 1e-18);
	assert_int_equal(track_parse_double("122", &v), 0);
	assert_true(v == 122.0);
	const char *bad[] = {"", "   ", "abc", "1,5", "0.5x", "nan", "NaN", "inf", "-inf", "1e999", "1 2"};
	for (size_t i = 0; i < N(bad); i++) {
		v = 42;
		if (track_parse_double(bad[i], &v) != -1)
			fail_msg("track_parse_double(\"%s\") should fail", bad[i]);
		assert_true(v == 42); /* untouched on failure */
	}
	/* Longer than the parser's buffer: refused rather than cut. */
	char longnum[100];
	memset(longnum, '1', sizeof longnum - 1);
	longnum[sizeof longnum - 1] = '\0';
	assert_int_equal(track_parse_double(longnum, &v), -1);
}

/* track_parse_double has a fast path for plain decimals; whatever path it
 * takes, the result must be the double strtod gives, bit for bit. */
static void expect_same_as_strtod(const char *s, size_t *checked, size_t *mismatches)
{
	char *end;
	errno = 0;
	double want = strtod(s, &end);
	int want_ok = *end == '\0' && errno != ERANGE && isfinite(want);
	double got = 0;
	int ok = track_parse_double(s, &got) == 0;
	(*checked)++;
	if (ok != want_ok || (ok && memcmp(&got, &want, sizeof got) != 0)) {
		if (*mismatches < 5)
			print_message("mismatch for \"%s\": got %d %.17g, strtod %d %.17g\n", s, ok, got, want_ok,
			              want);
		(*mismatches)++;
	}
}

static void test_parse_double_matches_strtod(void **state)
{
	(void)state;
	/* clang-format off */
	static const char *const edge[] = {
		"0.1", "0.3", "0.7", "1e22", "1e23", "1e-22", "1e-23", "9007199254740992",
		"9007199254740993", "9007199254740992e-22", "90071992547409921", "123456789012345678",
		"1234567890123456789", "12345678901234567890", "0.000001", "-0", "-0.0", "+.5", "5.", ".5",
		"-.5e1", "4.79E-06", "4.79e+06", "1E5", "1e", "1e+", "1e-", "e5", ".", "-", "+", "1.2.3",
		"1e5.5", "0x1p3", "00000000000000000000001", "0.00000000000000000000000000001",
		"1.00000000000000000000", "1e0000000000000000005", "1e400", "1e-400", "2.2250738585072014e-308",
		"1.7976931348623157e308", "-122.036", "173533", "0.0000123", "7.", "0e0", "-0e-0",
	};
	/* clang-format on */
	size_t checked = 0, mismatches = 0;
	for (size_t i = 0; i < N(edge); i++)
		expect_same_as_strtod(edge[i], &checked, &mismatches);

	/* Random decimals of the shapes in the exports: up to 20 digits, a point
	 * anywhere, an exponent now and then, a sign now and then. */
	uint32_t x = 2463534242u;
	char buf[64];
	for (int n = 0; n < 200000; n++) {
		size_t len = 0;
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		uint32_t r = x;
		if (r % 7 == 0)
			buf[len++] = r % 2 ? '-' : '+';
		int ndig = 1 + (int)((r >> 3) % 20);
		int point = (int)((r >> 8) % (unsigned)(ndig + 2)) - 1; /* -1: none */
		for (int d = 0; d < ndig; d++) {
			if (d == point)
				buf[len++] = '.';
			x ^= x << 13, x ^= x >> 17, x ^= x << 5;
			buf[len++] = (char)('0' + x % 10);
		}
		if ((r >> 13) % 4 == 0)
			len += (size_t)snprintf(buf + len, sizeof buf - len, "%c%d", (r >> 15) % 2 ? 'e' : 'E',
			                        (int)((r >> 16) % 61) - 30);
		buf[len] = '\0';
		expect_same_as_strtod(buf, &checked, &mismatches);
	}
	print_message("track_parse_double vs strtod: %zu strings, %zu mismatches\n", checked, mismatches);
	assert_int_equal(mismatches, 0);
}

static void test_parse_long(void **state)
{
	(void)state;
	long v;
	assert_int_equal(track_parse_long("194754", &v), 0);
	assert_int_equal(v, 194754);
	assert_int_equal(track_parse_long("123.0", &v), 0);
	assert_int_equal(v, 123);
	assert_int_equal(track_parse_long("-5", &v), 0);
	assert_int_equal(v, -5);
	assert_int_equal(track_parse_long(" 7 ", &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(track_parse_long("1.5", &v), -1);
	assert_int_equal(track_parse_long("", &v), -1);
	assert_int_equal(track_parse_long("12a", &v), -1);
	assert_int_equal(track_parse_long("1e300", &v), -1); /* does not fit a long */
}

static void test_parse_key(void **state)
{
	(void)state;
	/* clang-format off */
	static const int_case c[] = {
		{"0", 0, 0},    {"5", 0, 5},     {"11", 0, 11},  {" 7 ", 0, 7},  {"-1", 0, -1},
		{"1.0", 0, 1},  {"12", 0, 12},   /* form only: the range is track_validate's job */
		{"C", 0, 0},    {"C#", 0, 1},    {"Db", 0, 1},   {"D", 0, 2},    {"D#", 0, 3},
		{"Eb", 0, 3},   {"E", 0, 4},     {"F", 0, 5},    {"F#", 0, 6},   {"Gb", 0, 6},
		{"G", 0, 7},    {"G#", 0, 8},    {"Ab", 0, 8},   {"A", 0, 9},    {"A#", 0, 10},
		{"Bb", 0, 10},  {"B", 0, 11},    {"Cb", 0, 11},  {"B#", 0, 0},   {"c#", 0, 1},
		{"H", -1, 0},   {"X", -1, 0},    {"", -1, 0},    {"C##", -1, 0}, {"Cx", -1, 0},
		{"5.5", -1, 0}, {"C major", -1, 0}, {"#", -1, 0},
	};
	/* clang-format on */
	run_int_cases("track_parse_key", track_parse_key, c, N(c));
}

static void test_parse_mode(void **state)
{
	(void)state;
	/* clang-format off */
	static const int_case c[] = {
		{"Major", 0, 1}, {"Minor", 0, 0}, {"major", 0, 1}, {"MINOR", 0, 0}, {" Major ", 0, 1},
		{"1", 0, 1},     {"0", 0, 0},     {"1.0", 0, 1},   {"2", 0, 2}, /* range checked later */
		{"", -1, 0},     {"Majr", -1, 0}, {"Dorian", -1, 0}, {"0.5", -1, 0}, {"Maj", -1, 0},
	};
	/* clang-format on */
	run_int_cases("track_parse_mode", track_parse_mode, c, N(c));
}

static void test_parse_bool(void **state)
{
	(void)state;
	/* clang-format off */
	static const int_case c[] = {
		{"True", 0, 1},  {"False", 0, 0}, {"true", 0, 1}, {"false", 0, 0}, {"TRUE", 0, 1},
		{"1", 0, 1},     {"0", 0, 0},     {" True ", 0, 1},
		{"", -1, 0},     {"yes", -1, 0},  {"2", -1, 0},   {"1.0", -1, 0},  {"Tru", -1, 0},
		{"-1", -1, 0},
	};
	/* clang-format on */
	run_int_cases("track_parse_bool", track_parse_bool, c, N(c));
}

static void test_parse_time_signature(void **state)
{
	(void)state;
	/* clang-format off */
	static const int_case c[] = {
		{"4", 0, 4},      {"3", 0, 3},      {"4.0", 0, 4},    {" 5 ", 0, 5},
		{"4/4", 0, 4},    {"3/4", 0, 3},    {"0/4", 0, 0},    {"5/4", 0, 5},
		{"4-Apr", 0, 4},  {"4-Mar", 0, 3},  {"04-Apr", 0, 4}, {"4-May", 0, 5},
		{"4-Jan", 0, 1},  {"4-apr", 0, 4},  {"04-Mar", 0, 3},
		{"", -1, 0},      {"abc", -1, 0},   {"4/", -1, 0},    {"/4", -1, 0},
		{"7/8", -1, 0},   {"4/4/4", -1, 0}, {"3-Apr", -1, 0}, /* the day must be 4 */
		{"4-Foo", -1, 0}, {"4-April", -1, 0}, {"x-Apr", -1, 0}, {"99/4", -1, 0},
		{"four", -1, 0},
	};
	/* clang-format on */
	run_int_cases("track_parse_time_signature", track_parse_time_signature, c, N(c));
}

/* ------------------------------------------------------------------------ */
/* Dates                                                                    */

static void expect_date(const char *in, const char *iso, int year)
{
	char out[11] = "untouched";
	int y = -7;
	if (track_parse_date(in, out, &y) != 0)
		fail_msg("track_parse_date(\"%s\") failed, expected %s", in, iso);
	if (strcmp(out, iso) != 0 || y != year)
		fail_msg("track_parse_date(\"%s\") gave %s / %d, expected %s / %d", in, out, y, iso, year);
}

static void expect_bad_date(const char *in)
{
	char out[11];
	int y = -7;
	if (track_parse_date(in, out, &y) != -1)
		fail_msg("track_parse_date(\"%s\") should fail", in);
}

static void test_parse_date_forms(void **state)
{
	(void)state;
	expect_date("1999", "1999", 1999);
	expect_date(" 1922 ", "1922", 1922);
	expect_date("2019-06", "2019-06", 2019);
	expect_date("2019-06-14", "2019-06-14", 2019);
	expect_date("22-02-1922", "1922-02-22", 1922); /* DD-MM-YYYY */
	expect_date("22/02/1922", "1922-02-22", 1922); /* DD/MM/YYYY */
	expect_date("31-12-2000", "2000-12-31", 2000);
	expect_date("2020-02-29", "2020-02-29", 2020); /* leap day */
	expect_date("2019-01-31", "2019-01-31", 2019);
	expect_date("2019-12-01", "2019-12-01", 2019);
}

static void test_parse_date_rejects(void **state)
{
	(void)state;
	expect_bad_date("");
	expect_bad_date("   ");
	expect_bad_date("2019-13"); /* month 13 */
	expect_bad_date("2019-00"); /* month 0 */
	expect_bad_date("2019-13-01");
	expect_bad_date("2019-00-10");
	expect_bad_date("2019-06-00"); /* day 0 */
	expect_bad_date("2019-06-31"); /* June has 30 days */
	expect_bad_date("2019-02-30"); /* Feb 30 */
	expect_bad_date("2019-01-32");
	expect_bad_date("32-01-2019");
	expect_bad_date("01-13-2019"); /* month-first US style is not accepted */
	expect_bad_date("30/02/2019");
	expect_bad_date("22-02/1922"); /* mixed separators */
	expect_bad_date("2019/06/14");
	expect_bad_date("1922-2-22");
	expect_bad_date("99");
	expect_bad_date("19999");
	expect_bad_date("abcd");
	expect_bad_date("2019-06-14T00:00");
	expect_bad_date("8/16/24");
}

/* February 29 exists only in leap years. */
static void test_parse_date_leap_years(void **state)
{
	(void)state;
	expect_date("2000-02-29", "2000-02-29", 2000);
	expect_date("29-02-2016", "2016-02-29", 2016);
	expect_bad_date("2019-02-29");
	expect_bad_date("1900-02-29"); /* divisible by 100, not by 400 */
	expect_bad_date("29/02/2021");
}

/* ------------------------------------------------------------------------ */
/* Spotify ids                                                              */

static void test_parse_id(void **state)
{
	(void)state;
	const char *id = "4uLU6hMCjMI75M1A2tKUQC";
	static const char *const ok[] = {
		"4uLU6hMCjMI75M1A2tKUQC",
		" 4uLU6hMCjMI75M1A2tKUQC ",
		"spotify:track:4uLU6hMCjMI75M1A2tKUQC",
		"https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC",
		"https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC?si=1a2b3c4d5e6f",
		"http://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC",
	};
	for (size_t i = 0; i < N(ok); i++) {
		char out[TRACK_ID_LEN + 1] = "";
		if (track_parse_id(ok[i], out) != 0)
			fail_msg("track_parse_id(\"%s\") failed", ok[i]);
		assert_string_equal(out, id);
	}
	/* clang-format off */
	static const char *const bad[] = {
		"",
		"4uLU6hMCjMI75M1A2tKUQ",            /* 21 characters */
		"4uLU6hMCjMI75M1A2tKUQCx",          /* 23 characters */
		"4uLU6hMCjMI75M1A2tK-QC",           /* '-' is not base 62 */
		"4uLU6hMCjMI75M1A2tK_QC",
		"4uLU6hMCjMI75M1A2t QC",
		"4uLU6hMCjMI75M1A2t\xC3\xA9QC",     /* UTF-8 letter */
		"spotify:album:4uLU6hMCjMI75M1A2tKUQC",
		"spotify:track:",
		"spotify:track:4uLU6hMCjMI75M1A2tKUQ",
		"https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQCx?si=1",
		"https://open.spotify.com/album/4uLU6hMCjMI75M1A2tKUQC",
	};
	/* clang-format on */
	for (size_t i = 0; i < N(bad); i++) {
		char out[TRACK_ID_LEN + 1];
		if (track_parse_id(bad[i], out) != -1)
			fail_msg("track_parse_id(\"%s\") should fail", bad[i]);
	}
}

/* ------------------------------------------------------------------------ */
/* Artist lists                                                             */

/* Splits a copy of `in` and compares with the expected names (NULL-ended). */
static void expect_artists(const char *in, enum artist_style st, int max, const char *const *want)
{
	char buf[512];
	snprintf(buf, sizeof buf, "%s", in);
	const char *names[TRACK_MAX_ARTISTS + 8];
	int n = track_split_artists(buf, st, names, max);
	int nw = 0;
	while (want[nw] != NULL)
		nw++;
	if (n != nw)
		fail_msg("split(\"%s\", style %d) gave %d names, expected %d (first '%s')", in, (int)st, n, nw,
		         n > 0 ? names[0] : "");
	for (int i = 0; i < n; i++)
		if (strcmp(names[i], want[i]) != 0)
			fail_msg("split(\"%s\", style %d) name %d is '%s', expected '%s'", in, (int)st, i, names[i],
			         want[i]);
}

#define NAMES(...) ((const char *const[]){__VA_ARGS__, NULL})
#define NONE ((const char *const[]){NULL})

static void test_split_pylist(void **state)
{
	(void)state;
	expect_artists("['Uli']", ARTISTS_PYLIST, 16, NAMES("Uli"));
	expect_artists("['A', 'B']", ARTISTS_PYLIST, 16, NAMES("A", "B"));
	expect_artists("[\"Guns N' Roses\"]", ARTISTS_PYLIST, 16, NAMES("Guns N' Roses"));
	expect_artists("[\"Guns N' Roses\", 'Slash']", ARTISTS_PYLIST, 16, NAMES("Guns N' Roses", "Slash"));
	expect_artists("['A \\'quoted\\'']", ARTISTS_PYLIST, 16, NAMES("A 'quoted'"));
	expect_artists("['back\\\\slash']", ARTISTS_PYLIST, 16, NAMES("back\\slash"));
	expect_artists("['Tyler, The Creator', 'Kali Uchis']", ARTISTS_PYLIST, 16,
	               NAMES("Tyler, The Creator", "Kali Uchis"));
	expect_artists("  [ ' padded ' ,'', 'x' ]", ARTISTS_PYLIST, 16, NAMES("padded", "x"));
	expect_artists("[]", ARTISTS_PYLIST, 16, NONE);
	expect_artists("", ARTISTS_PYLIST, 16, NONE);
}

static void test_split_pylist_fallbacks(void **state)
{
	(void)state;
	/* Not a list at all: the field is one name. */
	expect_artists("Adele", ARTISTS_PYLIST, 16, NAMES("Adele"));
	expect_artists("[A, B]", ARTISTS_PYLIST, 16, NAMES("[A, B]"));
	/* An unterminated item: the whole text, unchanged, is one name. */
	expect_artists("['A", ARTISTS_PYLIST, 16, NAMES("['A"));
	expect_artists("['A', 'B", ARTISTS_PYLIST, 16, NAMES("['A', 'B"));
	expect_artists("['It\\'s", ARTISTS_PYLIST, 16, NAMES("['It\\'s"));
}

static void test_split_one(void **state)
{
	(void)state;
	expect_artists("Ed Sheeran", ARTISTS_ONE, 16, NAMES("Ed Sheeran"));
	expect_artists("  Lady Gaga, Bruno Mars \t", ARTISTS_ONE, 16, NAMES("Lady Gaga, Bruno Mars"));
	expect_artists("", ARTISTS_ONE, 16, NONE);
	expect_artists("   ", ARTISTS_ONE, 16, NONE);
	expect_artists("x", ARTISTS_ONE, 0, NONE);
}

static void test_split_comma(void **state)
{
	(void)state;
	expect_artists("Lady Gaga, Bruno Mars", ARTISTS_COMMA, 16, NAMES("Lady Gaga", "Bruno Mars"));
	expect_artists("A, B", ARTISTS_COMMA, 16, NAMES("A", "B"));
	expect_artists("A, B, , C, ", ARTISTS_COMMA, 16, NAMES("A", "B", "C"));
	expect_artists("Tyler,The Creator", ARTISTS_COMMA, 16, NAMES("Tyler,The Creator"));
	expect_artists(" Solo ", ARTISTS_COMMA, 16, NAMES("Solo"));
	expect_artists("", ARTISTS_COMMA, 16, NONE);
}

static void test_split_semicolon(void **state)
{
	(void)state;
	expect_artists("A;B;", ARTISTS_SEMICOLON, 16, NAMES("A", "B"));
	expect_artists(";;A; ;B;", ARTISTS_SEMICOLON, 16, NAMES("A", "B"));
	expect_artists("Tyler, The Creator;Kali Uchis", ARTISTS_SEMICOLON, 16,
	               NAMES("Tyler, The Creator", "Kali Uchis"));
	expect_artists("Gen Hoshino", ARTISTS_SEMICOLON, 16, NAMES("Gen Hoshino"));
	expect_artists(";", ARTISTS_SEMICOLON, 16, NONE);
}

static void test_split_max_cap(void **state)
{
	(void)state;
	char semi[256] = "", py[512] = "[", comma[256] = "";
	for (int i = 0; i < 20; i++) {
		char name[8];
		snprintf(name, sizeof name, "a%d", i);
		snprintf(semi + strlen(semi), sizeof semi - strlen(semi), "%s%s", i ? ";" : "", name);
		snprintf(comma + strlen(comma), sizeof comma - strlen(comma), "%s%s", i ? ", " : "", name);
		snprintf(py + strlen(py), sizeof py - strlen(py), "%s'%s'", i ? ", " : "", name);
	}
	strcat(py, "]");
	const char *first16[17];
	char store[16][8];
	for (int i = 0; i < 16; i++) {
		snprintf(store[i], sizeof store[i], "a%d", i);
		first16[i] = store[i];
	}
	first16[16] = NULL;
	expect_artists(semi, ARTISTS_SEMICOLON, TRACK_MAX_ARTISTS, first16);
	expect_artists(comma, ARTISTS_COMMA, TRACK_MAX_ARTISTS, first16);
	expect_artists(py, ARTISTS_PYLIST, TRACK_MAX_ARTISTS, first16);
	expect_artists(semi, ARTISTS_SEMICOLON, 2, NAMES("a0", "a1"));
	expect_artists(py, ARTISTS_PYLIST, 1, NAMES("a0"));
	expect_artists(semi, ARTISTS_SEMICOLON, 0, NONE);
}

/* ------------------------------------------------------------------------ */
/* Validation                                                               */

/* A record with every field known and in range. */
static void good_track(track_rec *t)
{
	track_rec_init(t);
	strcpy(t->id, "4uLU6hMCjMI75M1A2tKUQC");
	const double audio[TF__AUDIO] = {0.748, 0.916, 6, -2.634, 1, 0.0583, 0.102, 0, 0.0653, 0.518, 122.036};
	memcpy(t->audio, audio, sizeof audio);
	t->has_audio = 1;
	t->popularity = 66;
	t->duration_ms = 194754;
	t->time_signature = 4;
	t->year = 2019;
	strcpy(t->release_date, "2019-06-14");
}

static void test_rec_init(void **state)
{
	(void)state;
	track_rec t;
	memset(&t, 0x5a, sizeof t);
	track_rec_init(&t);
	for (int i = 0; i < TF__AUDIO; i++)
		assert_true(isnan(t.audio[i]));
	assert_int_equal(t.year, -1);
	assert_int_equal(t.popularity, -1);
	assert_int_equal(t.duration_ms, -1);
	assert_int_equal(t.explicit_, -1);
	assert_int_equal(t.time_signature, -1);
	assert_int_equal(t.hit, -1);
	assert_int_equal(t.has_audio, 0);
	assert_int_equal(t.nartists, 0);
	assert_int_equal(t.ngenres, 0);
	assert_null(t.name);
	assert_string_equal(t.id, "");
	assert_string_equal(t.release_date, "");
	assert_string_equal(track_feature_names[TF_DANCEABILITY], "danceability");
	assert_string_equal(track_feature_names[TF_TEMPO], "tempo");
}

static void test_validate_good_row(void **state)
{
	(void)state;
	track_rec t;
	good_track(&t);
	track_problem rp = {0}, vp[8];
	int nv = -1;
	assert_int_equal(track_validate(&t, &rp, vp, 8, &nv), 0);
	assert_int_equal(nv, 0);
	assert_int_equal(t.popularity, 66);
	assert_true(t.audio[TF_TEMPO] == 122.036);
	/* Unknown values are not problems. */
	track_rec_init(&t);
	assert_int_equal(track_validate(&t, &rp, vp, 8, &nv), 0);
	assert_int_equal(nv, 0);
}

/* Sets feature f to v on a good row (into *t) and validates it. */
static int validate_with(enum track_feature f, double v, track_rec *t, track_problem *rp, int *nv)
{
	good_track(t);
	t->audio[f] = v;
	track_problem vp[8];
	memset(rp, 0, sizeof *rp);
	*nv = -1;
	return track_validate(t, rp, vp, 8, nv);
}

/* Sets feature f to v on a good row and expects the row to be refused. */
static void expect_row_reject(enum track_feature f, double v)
{
	track_rec t;
	track_problem rp;
	int nv;
	int rc = validate_with(f, v, &t, &rp, &nv);
	if (rc != 1)
		fail_msg("%s = %g: track_validate returned %d, expected 1", track_feature_names[f], v, rc);
	assert_non_null(rp.column);
	if (strcmp(rp.column, track_feature_names[f]) != 0)
		fail_msg("%s = %g: problem names column '%s'", track_feature_names[f], v, rp.column);
	assert_string_equal(rp.reason, "out_of_range");
	assert_true(rp.detail[0] != '\0');
	assert_int_equal(nv, 0);
}

static void expect_row_accept(enum track_feature f, double v)
{
	track_rec t;
	track_problem rp;
	int nv;
	int rc = validate_with(f, v, &t, &rp, &nv);
	if (rc != 0 || nv != 0)
		fail_msg("%s = %g: track_validate returned %d with %d problems, expected 0 and 0",
		         track_feature_names[f], v, rc, nv);
	assert_true(t.audio[f] == v);
}

static void test_validate_unit_features(void **state)
{
	(void)state;
	static const enum track_feature unit[] = {TF_DANCEABILITY,     TF_ENERGY,   TF_SPEECHINESS, TF_ACOUSTICNESS,
	                                          TF_INSTRUMENTALNESS, TF_LIVENESS, TF_VALENCE};
	for (size_t i = 0; i < N(unit); i++) {
		expect_row_reject(unit[i], -0.01);
		expect_row_reject(unit[i], 1.01);
		expect_row_accept(unit[i], 0.0);
		expect_row_accept(unit[i], 1.0);
	}
}

static void test_validate_key_mode(void **state)
{
	(void)state;
	expect_row_reject(TF_KEY, 12);
	expect_row_reject(TF_KEY, -2);
	expect_row_accept(TF_KEY, 11);
	expect_row_accept(TF_KEY, 0);
	expect_row_accept(TF_KEY, -1); /* "no key detected" */
	expect_row_reject(TF_MODE, 2);
	expect_row_reject(TF_MODE, -1);
	expect_row_accept(TF_MODE, 0);
	expect_row_accept(TF_MODE, 1);
}

static void test_validate_loudness_tempo(void **state)
{
	(void)state;
	expect_row_reject(TF_LOUDNESS, -61);
	expect_row_reject(TF_LOUDNESS, 5.1);
	expect_row_accept(TF_LOUDNESS, 3.7); /* a clipped master */
	expect_row_accept(TF_LOUDNESS, -60);
	expect_row_accept(TF_LOUDNESS, 5.0);
	expect_row_reject(TF_TEMPO, -1);
	expect_row_reject(TF_TEMPO, 300.5);
	expect_row_accept(TF_TEMPO, 300);
}

static void test_validate_first_bad_feature_wins(void **state)
{
	(void)state;
	track_rec t;
	good_track(&t);
	t.audio[TF_VALENCE] = 2;
	t.audio[TF_ENERGY] = -1;
	t.popularity = 500; /* value problems are not looked at for a refused row */
	track_problem rp = {0}, vp[8];
	int nv = -1;
	assert_int_equal(track_validate(&t, &rp, vp, 8, &nv), 1);
	assert_string_equal(rp.column, "energy");
	assert_int_equal(nv, 0);
}

/* Runs track_validate on a good row changed by `edit`, expects it usable with
 * exactly one value problem in `column`. */
static track_rec value_case(void (*edit)(track_rec *), const char *column)
{
	track_rec t;
	good_track(&t);
	edit(&t);
	track_problem rp = {0}, vp[8];
	int nv = -1;
	assert_int_equal(track_validate(&t, &rp, vp, 8, &nv), 0);
	assert_int_equal(nv, 1);
	assert_string_equal(vp[0].column, column);
	assert_string_equal(vp[0].reason, "out_of_range");
	assert_null(vp[0].value); /* the mapper fills in the text */
	assert_true(vp[0].detail[0] != '\0');
	return t;
}

static void edit_tempo0(track_rec *t) { t->audio[TF_TEMPO] = 0; }
static void edit_ts0(track_rec *t) { t->time_signature = 0; }
static void edit_ts17(track_rec *t) { t->time_signature = 17; }
static void edit_ts_neg(track_rec *t) { t->time_signature = -2; }
static void edit_pop101(track_rec *t) { t->popularity = 101; }
static void edit_pop_neg(track_rec *t) { t->popularity = -5; }
static void edit_dur0(track_rec *t) { t->duration_ms = 0; }
static void edit_year1850(track_rec *t) { t->year = 1850; }
static void edit_year2031(track_rec *t) { t->year = 2031; }

static void test_validate_value_problems(void **state)
{
	(void)state;
	track_rec t;
	t = value_case(edit_tempo0, "tempo");
	assert_true(isnan(t.audio[TF_TEMPO]));
	t = value_case(edit_ts0, "time_signature");
	assert_int_equal(t.time_signature, -1);
	t = value_case(edit_ts17, "time_signature");
	assert_int_equal(t.time_signature, -1);
	t = value_case(edit_ts_neg, "time_signature");
	assert_int_equal(t.time_signature, -1);
	t = value_case(edit_pop101, "popularity");
	assert_int_equal(t.popularity, -1);
	t = value_case(edit_pop_neg, "popularity");
	assert_int_equal(t.popularity, -1);
	t = value_case(edit_dur0, "duration_ms");
	assert_int_equal(t.duration_ms, -1);
	t = value_case(edit_year1850, "release_date");
	assert_int_equal(t.year, -1);
	assert_string_equal(t.release_date, "");
	t = value_case(edit_year2031, "release_date");
	assert_int_equal(t.year, -1);
}

static void test_validate_value_boundaries(void **state)
{
	(void)state;
	track_rec t;
	good_track(&t);
	t.popularity = 0;
	t.time_signature = 1;
	t.duration_ms = 1;
	t.year = 1900;
	track_problem rp, vp[8];
	int nv;
	assert_int_equal(track_validate(&t, &rp, vp, 8, &nv), 0);
	assert_int_equal(nv, 0);
	t.popularity = 100;
	t.time_signature = 16;
	t.year = 2030;
	assert_int_equal(track_validate(&t, &rp, vp, 8, &nv), 0);
	assert_int_equal(nv, 0);
}

static void test_validate_value_problem_cap(void **state)
{
	(void)state;
	track_rec t;
	good_track(&t);
	t.audio[TF_TEMPO] = 0;
	t.time_signature = 0;
	t.popularity = 101;
	t.duration_ms = 0;
	t.year = 1850;
	track_problem rp, vp[8];
	int nv;
	assert_int_equal(track_validate(&t, &rp, vp, 8, &nv), 0);
	assert_int_equal(nv, 5);
	const char *cols[] = {"tempo", "time_signature", "popularity", "duration_ms", "release_date"};
	for (int i = 0; i < 5; i++)
		assert_string_equal(vp[i].column, cols[i]);

	/* With room for two, two are listed but every bad value is still cleared. */
	good_track(&t);
	t.audio[TF_TEMPO] = 0;
	t.time_signature = 0;
	t.popularity = 101;
	t.duration_ms = 0;
	memset(vp, 0, sizeof vp);
	assert_int_equal(track_validate(&t, &rp, vp, 2, &nv), 0);
	assert_int_equal(nv, 2);
	assert_null(vp[2].column);
	assert_true(isnan(t.audio[TF_TEMPO]));
	assert_int_equal(t.time_signature, -1);
	assert_int_equal(t.popularity, -1);
	assert_int_equal(t.duration_ms, -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_double),
		cmocka_unit_test(test_parse_double_matches_strtod),
		cmocka_unit_test(test_parse_long),
		cmocka_unit_test(test_parse_key),
		cmocka_unit_test(test_parse_mode),
		cmocka_unit_test(test_parse_bool),
		cmocka_unit_test(test_parse_time_signature),
		cmocka_unit_test(test_parse_date_forms),
		cmocka_unit_test(test_parse_date_rejects),
		cmocka_unit_test(test_parse_date_leap_years),
		cmocka_unit_test(test_parse_id),
		cmocka_unit_test(test_split_pylist),
		cmocka_unit_test(test_split_pylist_fallbacks),
		cmocka_unit_test(test_split_one),
		cmocka_unit_test(test_split_comma),
		cmocka_unit_test(test_split_semicolon),
		cmocka_unit_test(test_split_max_cap),
		cmocka_unit_test(test_rec_init),
		cmocka_unit_test(test_validate_good_row),
		cmocka_unit_test(test_validate_unit_features),
		cmocka_unit_test(test_validate_key_mode),
		cmocka_unit_test(test_validate_loudness_tempo),
		cmocka_unit_test(test_validate_first_bad_feature_wins),
		cmocka_unit_test(test_validate_value_problems),
		cmocka_unit_test(test_validate_value_boundaries),
		cmocka_unit_test(test_validate_value_problem_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
