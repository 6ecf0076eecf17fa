/* test_eda_findings.c: the findings of the EDA report against values computed
 * independently with pandas (tests/golden/eda_findings_golden.py on the
 * committed catalogue tests/golden/eda_findings.csv, a generated one edited to
 * hold every finding); on plain generated catalogues, that a finding the data
 * do not support is absent rather than wrong; and, when ../shared/data is
 * present, the findings of the real catalogue (printed) against pandas
 * (tests/golden/eda_realdata_findings.py). */
#include "testutil.h"

#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/strbuf.h"
#include "ingest/ingest.h"
#include "report/eda.h"

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */

/* The summary and page of the catalogue of workspace ws. */
static json_t *render(const char *ws, char **html)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/catalog.db", ws);
	sqlite3 *db = tu_open_ro(path);
	strbuf h = {0}, j = {0};
	seg_error err = {0};
	int rc = eda_render(db, NULL, &h, &j, &err);
	sqlite3_close(db);
	if (rc != 0)
		fail_msg("eda_render: %d %s", rc, err.msg);
	json_error_t je;
	json_t *s = json_loads(strbuf_cstr(&j), 0, &je);
	if (s == NULL)
		fail_msg("summary does not parse: %s", je.text);
	strbuf_free(&j);
	if (html)
		*html = strdup(strbuf_cstr(&h));
	strbuf_free(&h);
	return s;
}

/* The finding of `kind` in summary s, or NULL. */
static json_t *finding(json_t *s, const char *kind)
{
	json_t *arr = json_object_get(s, "findings");
	assert_true(json_is_array(arr));
	size_t i;
	json_t *f;
	json_array_foreach(arr, i, f)
	{
		const char *k = json_string_value(json_object_get(f, "kind"));
		assert_non_null(k);
		assert_true(json_is_string(json_object_get(f, "sentence")));
		assert_true(json_is_object(json_object_get(f, "numbers")));
		if (strcmp(k, kind) == 0)
			return f;
	}
	return NULL;
}

static json_t *num(json_t *f, const char *key)
{
	json_t *v = json_object_get(json_object_get(f, "numbers"), key);
	if (v == NULL)
		fail_msg("finding %s has no number %s", json_string_value(json_object_get(f, "kind")), key);
	return v;
}

static long long inum(json_t *f, const char *key) { return json_integer_value(num(f, key)); }
static double dnum(json_t *f, const char *key) { return json_number_value(num(f, key)); }
static long long gint(json_t *g, const char *key) { return json_integer_value(json_object_get(g, key)); }

static const char *sentence(json_t *f) { return json_string_value(json_object_get(f, "sentence")); }

/* Fails unless the finding's sentence contains `text`. */
static void says(json_t *f, const char *text)
{
	if (strstr(sentence(f), text) == NULL)
		fail_msg("the %s finding does not say \"%s\": %s", json_string_value(json_object_get(f, "kind")), text,
		         sentence(f));
}

static void print_findings(json_t *s)
{
	size_t i;
	json_t *f;
	json_array_foreach(json_object_get(s, "findings"), i, f)
		printf("# %s: %s\n", json_string_value(json_object_get(f, "kind")), sentence(f));
}

/* ------------------------------------------------------------------------ */
/* The golden catalogue                                                      */

static void test_golden(void **state)
{
	(void)state;
	char csv[PATH_MAX], gpath[PATH_MAX];
	assert_non_null(tu_golden_path("eda_findings.csv", csv, sizeof csv));
	assert_non_null(tu_golden_path("eda_findings_golden.json", gpath, sizeof gpath));
	json_error_t je;
	json_t *g = json_load_file(gpath, 0, &je);
	assert_non_null(g);
	const char *ws = tu_tmpdir();
	char *paths[1] = {csv};
	ingest_summary sum;
	tu_ingest(ws, paths, 1, &sum);
	ingest_summary_free(&sum);
	char *html = NULL;
	json_t *s = render(ws, &html);
	print_findings(s);

	/* Popularity: missing values, and the pile at 0. */
	json_t *f = finding(s, "popularity_missing");
	assert_non_null(f);
	assert_int_equal(inum(f, "missing"), gint(g, "popularity_missing"));
	assert_int_equal(inum(f, "tracks"), gint(g, "tracks"));
	assert_near(dnum(f, "share"), (double)gint(g, "popularity_missing") / (double)gint(g, "tracks"), 1e-12);
	says(f, "134 of the 400 tracks with audio features (33.5%) have no popularity value");

	f = finding(s, "popularity_zero");
	assert_true(json_is_true(json_object_get(g, "popularity_pile")));
	assert_non_null(f);
	assert_int_equal(inum(f, "zero"), gint(g, "popularity_zero"));
	assert_int_equal(inum(f, "with_popularity"), gint(g, "popularity_known"));
	assert_int_equal(inum(f, "next_value"), gint(g, "popularity_next_value"));
	assert_int_equal(inum(f, "next_tracks"), gint(g, "popularity_next_tracks"));
	says(f, "39 of the 266 tracks with a popularity value (14.7%) have popularity exactly 0");

	/* Skewed features: the same ones, in the same order, with pandas' skewness. */
	f = finding(s, "skewed");
	assert_non_null(f);
	json_t *want = json_object_get(g, "skewed"), *got = num(f, "features");
	assert_int_equal(json_array_size(got), json_array_size(want));
	double worst = 0;
	for (size_t i = 0; i < json_array_size(want); i++) {
		const char *name = json_string_value(json_array_get(want, i));
		json_t *gf = json_object_get(json_object_get(g, "skewness"), name);
		json_t *cf = json_array_get(got, i);
		assert_string_equal(json_string_value(json_object_get(cf, "name")), name);
		double d = fabs(json_number_value(json_object_get(cf, "skewness")) -
		                json_number_value(json_object_get(gf, "skewness")));
		worst = d > worst ? d : worst;
		assert_near(json_number_value(json_object_get(cf, "median")),
		            json_number_value(json_object_get(gf, "median")), 1e-9); /* 12 digits in JSON */
		assert_int_equal(json_integer_value(json_object_get(cf, "n")),
		                 json_integer_value(json_object_get(gf, "n")));
	}
	printf("# skewness: largest difference from pandas %.3g\n", worst);
	assert_true(worst < 1e-9);
	/* Every feature's skewness is in the summary, skewed or not. */
	json_t *gsk = json_object_get(g, "skewness");
	const char *key;
	json_t *gv;
	json_object_foreach(gsk, key, gv)
	{
		json_t *v = json_object_get(json_object_get(json_object_get(s, "features"), key), "skewness");
		assert_near(json_number_value(v), json_number_value(json_object_get(gv, "skewness")), 1e-9);
	}

	/* The strongest correlations, and popularity's own when it is not among them. */
	f = finding(s, "correlation");
	assert_non_null(f);
	want = json_object_get(g, "strongest_pairs");
	got = num(f, "pairs");
	assert_true(json_array_size(want) > 0);
	assert_int_equal(json_array_size(got), json_array_size(want));
	for (size_t i = 0; i < json_array_size(want); i++) {
		json_t *w = json_array_get(want, i), *c = json_array_get(got, i);
		assert_string_equal(json_string_value(json_object_get(c, "a")),
		                    json_string_value(json_object_get(w, "a")));
		assert_string_equal(json_string_value(json_object_get(c, "b")),
		                    json_string_value(json_object_get(w, "b")));
		assert_near(json_number_value(json_object_get(c, "r")), json_number_value(json_object_get(w, "r")),
		            1e-9);
		assert_int_equal(json_integer_value(json_object_get(c, "n")),
		                 json_integer_value(json_object_get(w, "n")));
	}
	json_t *pp = json_object_get(g, "popularity_pair");
	f = finding(s, "popularity_correlation");
	assert_non_null(f);
	const char *other = json_string_value(json_object_get(pp, "a"));
	if (strcmp(other, "popularity") == 0)
		other = json_string_value(json_object_get(pp, "b"));
	assert_string_equal(json_string_value(num(f, "feature")), other);
	assert_near(dnum(f, "r"), json_number_value(json_object_get(pp, "r")), 1e-9);
	assert_int_equal(inum(f, "n"), gint(pp, "n"));

	/* Spoken word: the count, and the artists named with their examples. */
	f = finding(s, "spoken_word");
	assert_non_null(f);
	assert_int_equal(inum(f, "tracks"), gint(g, "spoken_word"));
	want = json_object_get(g, "spoken_examples");
	got = num(f, "examples");
	assert_int_equal(json_array_size(got), json_array_size(want));
	for (size_t i = 0; i < json_array_size(want); i++) {
		json_t *w = json_array_get(want, i), *c = json_array_get(got, i);
		assert_string_equal(json_string_value(json_object_get(c, "artist")),
		                    json_string_value(json_object_get(w, "artist")));
		assert_int_equal(gint(c, "tracks"), gint(w, "tracks"));
		assert_string_equal(json_string_value(json_object_get(c, "example")),
		                    json_string_value(json_object_get(w, "example")));
	}
	says(f, "10 tracks (2.5% of those with audio features) have speechiness above 0.66");
	says(f, "Synthetic Narrator A (6 tracks, e.g. \"Synthetic Audiobook Chapter 5\")");

	/* Merged duplicates; no track lacks features (there are no playlists). */
	f = finding(s, "merged_duplicates");
	assert_non_null(f);
	assert_int_equal(inum(f, "merged"), gint(g, "merged"));
	assert_int_equal(inum(f, "track_rows"), gint(g, "rows"));
	assert_null(finding(s, "without_features"));
	assert_true(json_array_size(json_object_get(s, "findings")) <= 8);

	/* The page: the findings come right after the overview, one item each. */
	const char *fh = strstr(html, "<h2>Findings</h2>");
	assert_non_null(fh);
	assert_true(fh > strstr(html, "<h2>Overview</h2>"));
	assert_true(fh < strstr(html, "<h2>Feature distributions</h2>"));
	assert_non_null(strstr(html, "<a href=\"#findings\">Findings</a>"));
	size_t items = 0;
	for (const char *p = strstr(html, "<li data-kind="); p; p = strstr(p + 1, "<li data-kind="))
		items++;
	assert_int_equal(items, json_array_size(json_object_get(s, "findings")));
	assert_non_null(
		strstr(html, "Synthetic Narrator A (6 tracks, e.g. &quot;Synthetic Audiobook Chapter 5&quot;)"));

	free(html);
	json_decref(s);
	json_decref(g);
	tu_rmtree(ws);
}

/* ------------------------------------------------------------------------ */
/* What the data do not support is not said                                  */

static void test_absent_findings(void **state)
{
	(void)state;
	const char *dir = tu_tmpdir();
	char ws[PATH_MAX - 16];
	snprintf(ws, sizeof ws, "%s/ws", dir);
	assert_int_equal(tu_build_workspace(dir, ws, 300, 20, 5, NULL), 0);

	/* The generator writes every popularity and no speechiness above 0.66. */
	assert_int_equal(tu_ws_long(ws, "SELECT COUNT(*) FROM tracks WHERE has_features AND popularity IS NULL"), 0);
	assert_int_equal(tu_ws_long(ws, "SELECT COUNT(*) FROM tracks WHERE speechiness > 0.66"), 0);
	json_t *s = render(ws, NULL);
	print_findings(s);
	assert_null(finding(s, "popularity_missing"));
	assert_null(finding(s, "spoken_word"));
	assert_null(finding(s, "merged_duplicates"));
	assert_non_null(finding(s, "correlation"));
	json_decref(s);

	/* Without any popularity: said once, and nothing about popularity's
	 * values or correlations. */
	char path[PATH_MAX + 16];
	snprintf(path, sizeof path, "%s/catalog.db", ws);
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	tu_sql_exec(db, "UPDATE tracks SET popularity = NULL");
	sqlite3_close(db);
	s = render(ws, NULL);
	print_findings(s);
	json_t *f = finding(s, "popularity_missing");
	assert_non_null(f);
	assert_int_equal(inum(f, "missing"), 300);
	assert_near(dnum(f, "share"), 1.0, 0);
	says(f, "None of the 300 tracks with audio features has a popularity value");
	assert_null(finding(s, "popularity_zero"));
	assert_null(finding(s, "popularity_correlation"));
	f = finding(s, "correlation");
	assert_non_null(f);
	size_t i;
	json_t *p;
	json_array_foreach(num(f, "pairs"), i, p)
	{
		assert_string_not_equal(json_string_value(json_object_get(p, "a")), "popularity");
		assert_string_not_equal(json_string_value(json_object_get(p, "b")), "popularity");
	}
	json_t *sk;
	json_array_foreach(num(finding(s, "skewed"), "features"), i, sk)
		assert_string_not_equal(json_string_value(json_object_get(sk, "name")), "popularity");
	json_decref(s);
	tu_rmtree(dir);
}

/* An empty catalogue has no findings, and the page says so. */
static void test_empty(void **state)
{
	(void)state;
	const char *dir = tu_tmpdir();
	tu_catalog_file(dir, NULL);
	char *html = NULL;
	json_t *s = render(dir, &html);
	assert_int_equal(json_array_size(json_object_get(s, "findings")), 0);
	assert_non_null(strstr(html, "<h2>Findings</h2>"));
	assert_non_null(strstr(html, "Nothing stands out"));
	free(html);
	json_decref(s);
	tu_rmtree(dir);
}

/* ------------------------------------------------------------------------ */
/* The real data                                                             */

/* clang-format off */
static const char *const FILES[] = {
	"spotify_songs.csv.zst", "hit_predictor_1960s-2010s.csv.zst", "SpotifyFeatures.PARTIAL.csv",
	"tracks_600k.PARTIAL.csv", "high_popularity_spotify_data.csv", "low_popularity_spotify_data.csv",
	"mpd_subset_playlists.csv", "mpd_subset_playlist_tracks.csv.zst",
};
/* clang-format on */
#define NFILES (sizeof FILES / sizeof *FILES)

static void test_realdata_findings(void **state)
{
	(void)state;
	const char *data = tu_shared_data();
	if (data == NULL) {
		printf("# SKIP ../shared/data is not present\n");
		skip();
	}
	char gpath[PATH_MAX];
	assert_non_null(tu_golden_path("eda_realdata_findings.json", gpath, sizeof gpath));
	json_error_t je;
	json_t *g = json_load_file(gpath, 0, &je);
	assert_non_null(g);
	char paths[NFILES][PATH_MAX];
	char *argv[NFILES];
	for (size_t i = 0; i < NFILES; i++) {
		snprintf(paths[i], sizeof paths[i], "%s/%s", data, FILES[i]);
		argv[i] = paths[i];
	}
	const char *ws = tu_tmpdir();
	ingest_summary sum;
	tu_ingest(ws, argv, NFILES, &sum);
	ingest_summary_free(&sum);
	json_t *s = render(ws, NULL);
	print_findings(s);

	json_t *f = finding(s, "popularity_missing");
	assert_non_null(f);
	assert_int_equal(inum(f, "missing"), gint(g, "popularity_missing"));
	assert_int_equal(inum(f, "tracks"), gint(g, "tracks_with_features"));
	assert_near(dnum(f, "share"), json_number_value(json_object_get(g, "popularity_missing_share")), 1e-12);
	f = finding(s, "popularity_zero");
	assert_non_null(f);
	assert_int_equal(inum(f, "zero"), gint(g, "popularity_zero"));
	assert_int_equal(inum(f, "with_popularity"), gint(g, "popularity_known"));
	f = finding(s, "spoken_word");
	assert_non_null(f);
	assert_int_equal(inum(f, "tracks"), gint(g, "spoken_word"));
	assert_int_equal(json_array_size(num(f, "examples")), 3);
	json_decref(s);
	json_decref(g);
	tu_rmtree(ws);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_absent_findings),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_realdata_findings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
