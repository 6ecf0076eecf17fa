/* test_eda.c: the EDA report on a small hand-made catalogue (exact counts and
 * statistics worked out by hand), on an empty one, and its errors; its files
 * replaced whole, and `segue eda` waiting for the workspace's lock. */
#include "testutil.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "catalog/workspace.h"
#include "report/eda.h"
#include "core/error.h"
#include "core/strbuf.h"

/* ------------------------------------------------------------------------ */
/* Fixtures                                                                  */

/* Four tracks with features and one without (only in a playlist):
 *
 *   id  danceability  energy  popularity  key mode  genres      artists
 *   1   0.5           0.8     60          0   1     pop         Tom & <Jerry>
 *   2   0.7           0.6     40          0   1     pop, rock   Tom & <Jerry>
 *   3   0.9           0.9     80          7   0     rock        Plain
 *   4   0.2           0.3     NULL        11  0     rock        Plain
 *   5   (no features; synthetic)                    -           Plain
 *
 * danceability: mean 2.3 / 4 = 0.575, sorted 0.2 0.5 0.7 0.9, so the median is
 * 0.6 and the 25% quantile 0.2 + 0.75 * 0.3 = 0.425 (linear interpolation).
 * popularity: mean (60 + 40 + 80) / 3 = 60, one missing.
 * Pearson(danceability, popularity) over tracks 1-3: deviations (-0.2, 0, 0.2)
 * and (0, -20, 20): 4 / sqrt(0.08 * 800) = 0.5. */
static const char FIXTURE[] =
	"INSERT INTO ingests(id, file, variant, started_at, seconds, rows_read, rows_accepted,"
	" new_tracks, merged, rows_rejected, values_dropped)"
	" VALUES(1, 'songs.csv', 'spotify_songs', '2025-01-01T00:00:00Z', 0.5, 7, 6, 5, 1, 1, 0);"
	"INSERT INTO tracks(id, spotify_id, name, popularity, duration_ms, danceability, energy,"
	" key, loudness, mode, speechiness, acousticness, instrumentalness, liveness, valence,"
	" tempo, time_signature, has_features, ingest_id) VALUES"
	" (1, '0000000000000000000001', 'Song <One>', 60, 180000, 0.5, 0.8, 0, -5, 1, 0.05,"
	"  0.1, 0, 0.1, 0.6, 120, 4, 1, 1),"
	" (2, '0000000000000000000002', 'Two', 40, 240000, 0.7, 0.6, 0, -7, 1, 0.04,"
	"  0.3, 0.01, 0.2, 0.4, 100, 4, 1, 1),"
	" (3, '0000000000000000000003', 'Three', 80, 200000, 0.9, 0.9, 7, -4, 0, 0.1,"
	"  0.05, 0, 0.3, 0.9, 128, 4, 1, 1),"
	" (4, '0000000000000000000004', 'Four', NULL, 300000, 0.2, 0.3, 11, -12, 0, 0.03,"
	"  0.8, 0.7, 0.1, 0.2, 80, 3, 1, 1);"
	"INSERT INTO tracks(id, spotify_id, name, has_features, synthetic, ingest_id)"
	" VALUES(5, '0000000000000000000005', 'Five', 0, 1, 1);"
	"INSERT INTO artists VALUES(1, 'Tom & <Jerry>'), (2, 'Plain');"
	"INSERT INTO track_artists VALUES(1, 1, 0), (2, 1, 0), (3, 2, 0), (4, 2, 0), (5, 2, 0);"
	"INSERT INTO genres VALUES(1, 'pop'), (2, 'rock');"
	"INSERT INTO track_genres(track_id, genre_id) VALUES(1, 1), (2, 1), (2, 2), (3, 2), (4, 2);"
	"INSERT INTO playlists(id, source, external_id, name) VALUES(1, 'mpd', '7', 'road trip');"
	"INSERT INTO playlist_tracks VALUES(1, 0, 1), (1, 1, 5);"
	"INSERT INTO rejects(ingest_id, file, line, column_name, value, reason, detail, action)"
	" VALUES(1, 'songs.csv', 4, NULL, NULL, 'field_count', 'expected 23 fields, found 3', 'row');";

/* Writes the report of catalogue `db` into `out`; fails with its message. */
static void report(const char *db, const char *out)
{
	seg_error err = {0};
	int rc = eda_report(db, out, &err);
	if (rc != 0)
		fail_msg("eda_report: %d %s", rc, err.msg);
}

/* Renders the charts (and the page and summary); fails with its message. */
static void render_charts(sqlite3 *db, strbuf *html, strbuf *json, eda_charts *ch)
{
	seg_error err = {0};
	int rc = eda_render_charts(db, NULL, html, json, ch, &err);
	if (rc != 0)
		fail_msg("eda_render_charts: %d %s", rc, err.msg);
}

static char *read_out(const char *dir, const char *name)
{
	char path[1100];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	char *s = tu_read(path, NULL);
	if (s == NULL)
		fail_msg("%s was not written", path);
	return s;
}

static json_t *load_summary(const char *dir)
{
	char path[1100];
	snprintf(path, sizeof path, "%s/summary.json", dir);
	json_error_t je;
	json_t *j = json_load_file(path, 0, &je);
	if (j == NULL)
		fail_msg("summary.json does not parse: %s (line %d)", je.text, je.line);
	return j;
}

/* The value at a path of object keys, e.g. get(j, "counts", "tracks", NULL). */
static json_t *get(json_t *j, ...)
{
	va_list ap;
	va_start(ap, j);
	const char *k;
	while (j && (k = va_arg(ap, const char *)) != NULL)
		j = json_object_get(j, k);
	va_end(ap);
	if (j == NULL)
		fail_msg("summary.json lacks a key");
	return j;
}

static const char *const HEADINGS[] = {
	"<h2>Overview</h2>",
	"<h2>Findings</h2>",
	"<h2>Feature distributions</h2>",
	"<h2>Correlations</h2>",
	"<h2>Feature profiles by genre</h2>",
	"<h2>Popularity and features</h2>",
	"<h2>Key, mode, tempo and time signature</h2>",
	"<h2>Top artists and genres</h2>",
	"<h2>Data quality</h2>",
};

/* ------------------------------------------------------------------------ */
/* Charts: the checks every chart list must pass                            */

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* Checks a chart list against the page and the summary it came with: names are
 * unique and URL-safe, each SVG is one well-formed <svg> element that the page
 * embeds byte for byte, followed by its SQL in the figure's SQL block, every
 * <svg> of the page is in the list, and summary["charts"] lists the same
 * charts (name, title, SQL) in the same order. */
static void check_charts(const eda_charts *ch, const char *html, const char *json_text)
{
	assert_int_equal(count(html, "<svg"), ch->n);
	for (size_t i = 0; i < ch->n; i++) {
		const eda_chart *c = &ch->v[i];
		size_t len = strlen(c->name);
		if (len == 0 || strspn(c->name, "abcdefghijklmnopqrstuvwxyz0123456789-") != len)
			fail_msg("chart name \"%s\" is not URL-safe", c->name);
		for (size_t k = 0; k < i; k++)
			if (strcmp(ch->v[k].name, c->name) == 0)
				fail_msg("two charts named %s", c->name);
		assert_true(c->title[0] != '\0');
		assert_non_null(c->sql);
		assert_non_null(c->svg);
		assert_true(strncmp(c->svg, "<svg", 4) == 0);
		char why[256];
		if (tu_xml_check(c->svg, why, sizeof why) != 0)
			fail_msg("chart %s: malformed SVG: %s", c->name, why);
		const char *at = strstr(html, c->svg);
		if (at == NULL)
			fail_msg("chart %s is not in the page verbatim", c->name);
		/* The SQL block that closes the figure holds the chart's SQL. */
		strbuf esc = {0};
		strbuf_puts(&esc, "<pre><code>");
		strbuf_xml(&esc, c->sql);
		strbuf_puts(&esc, "</code></pre>");
		const char *pre = strstr(at, "<pre><code>");
		assert_non_null(pre);
		if (strncmp(pre, esc.data, esc.len) != 0)
			fail_msg("chart %s: the SQL under it differs from its sql", c->name);
		strbuf_free(&esc);
	}

	json_error_t je;
	json_t *j = json_loads(json_text, 0, &je);
	if (j == NULL)
		fail_msg("summary does not parse: %s", je.text);
	json_t *arr = get(j, "charts", NULL);
	assert_true(json_is_array(arr));
	assert_int_equal(json_array_size(arr), ch->n);
	for (size_t i = 0; i < ch->n; i++) {
		json_t *o = json_array_get(arr, i);
		assert_string_equal(json_string_value(get(o, "name", NULL)), ch->v[i].name);
		assert_string_equal(json_string_value(get(o, "title", NULL)), ch->v[i].title);
		assert_string_equal(json_string_value(get(o, "sql", NULL)), ch->v[i].sql);
	}
	json_decref(j);
}

/* ------------------------------------------------------------------------ */
/* Tests                                                                     */

static void test_report(void **state)
{
	(void)state;
	const char *dir = tu_tmpdir();
	const char *db = tu_catalog_file(dir, FIXTURE);
	size_t before_len = 0;
	char *before = tu_read(db, &before_len);
	char out[1100];
	snprintf(out, sizeof out, "%s/eda", dir); /* created by eda_report */
	report(db, out);

	char *html = read_out(out, "report.html");
	for (size_t i = 0; i < sizeof HEADINGS / sizeof HEADINGS[0]; i++)
		if (strstr(html, HEADINGS[i]) == NULL)
			fail_msg("report lacks %s", HEADINGS[i]);
	assert_non_null(strstr(html, "<!DOCTYPE html>"));
	assert_non_null(strstr(html, "<svg"));
	/* The SQL behind a figure is shown (escaped for HTML). */
	assert_non_null(strstr(html, "SELECT key, mode, COUNT(*) AS tracks\nFROM tracks"));
	assert_non_null(strstr(html, "SUM(action = &#39;row&#39;)"));
	/* Names from the data are escaped everywhere. */
	assert_non_null(strstr(html, "Tom &amp; &lt;Jerry&gt;"));
	assert_null(strstr(html, "<Jerry>"));
	/* Track 5 is synthetic. */
	assert_non_null(strstr(html, "SYNTHETIC DATA"));
	/* Self-contained: no scripts, no external resources (the only URL is the
	 * SVG namespace). */
	assert_null(strstr(html, "<script"));
	assert_null(strstr(html, "<link"));
	assert_null(strstr(html, "src="));
	assert_null(strstr(html, "href=\"http"));
	assert_null(strstr(html, "url("));

	json_t *j = load_summary(out);
	assert_int_equal(json_integer_value(get(j, "counts", "tracks", NULL)), 5);
	assert_int_equal(json_integer_value(get(j, "counts", "tracks_with_features", NULL)), 4);
	assert_int_equal(json_integer_value(get(j, "counts", "artists", NULL)), 2);
	assert_int_equal(json_integer_value(get(j, "counts", "genres", NULL)), 2);
	assert_int_equal(json_integer_value(get(j, "counts", "playlists", NULL)), 1);
	assert_int_equal(json_integer_value(get(j, "counts", "playlist_entries", NULL)), 2);
	assert_int_equal(json_integer_value(get(j, "counts", "ingested_files", NULL)), 1);
	assert_true(json_is_true(get(j, "synthetic", NULL)));

	json_t *d = get(j, "features", "danceability", NULL);
	assert_int_equal(json_integer_value(get(d, "count", NULL)), 4);
	assert_int_equal(json_integer_value(get(d, "missing", NULL)), 0);
	assert_near(json_number_value(get(d, "mean", NULL)), 0.575, 1e-12);
	assert_near(json_number_value(get(d, "min", NULL)), 0.2, 1e-12);
	assert_near(json_number_value(get(d, "p25", NULL)), 0.425, 1e-12);
	assert_near(json_number_value(get(d, "median", NULL)), 0.6, 1e-12);
	assert_near(json_number_value(get(d, "max", NULL)), 0.9, 1e-12);
	json_t *p = get(j, "features", "popularity", NULL);
	assert_int_equal(json_integer_value(get(p, "count", NULL)), 3);
	assert_int_equal(json_integer_value(get(p, "missing", NULL)), 1);
	assert_near(json_number_value(get(p, "mean", NULL)), 60, 1e-12);
	assert_near(json_number_value(get(p, "std", NULL)), 20, 1e-12); /* sample std */
	assert_near(json_number_value(get(j, "features", "duration_min", "max", NULL)), 5, 1e-12);

	/* Genres, largest first. */
	json_t *g = get(j, "genres", NULL);
	assert_int_equal(json_array_size(g), 2);
	assert_string_equal(json_string_value(get(json_array_get(g, 0), "genre", NULL)), "rock");
	assert_int_equal(json_integer_value(get(json_array_get(g, 0), "tracks", NULL)), 3);
	assert_int_equal(json_integer_value(get(json_array_get(g, 1), "tracks", NULL)), 2);

	/* Correlation of danceability (0) and popularity (last). */
	json_t *names = get(j, "correlations", "features", NULL);
	json_t *m = get(j, "correlations", "matrix", NULL);
	size_t D = json_array_size(names);
	assert_string_equal(json_string_value(json_array_get(names, D - 1)), "popularity");
	assert_near(json_number_value(json_array_get(json_array_get(m, 0), D - 1)), 0.5, 1e-12);
	assert_near(json_number_value(json_array_get(json_array_get(m, D - 1), 0)), 0.5, 1e-12);
	assert_near(json_number_value(json_array_get(json_array_get(m, 0), 0)), 1, 0);

	/* Keys: C major 2, G minor 1, B minor 1. */
	json_t *keys = get(j, "keys", NULL);
	assert_int_equal(json_array_size(keys), 12);
	assert_int_equal(json_integer_value(get(json_array_get(keys, 0), "major", NULL)), 2);
	assert_int_equal(json_integer_value(get(json_array_get(keys, 7), "minor", NULL)), 1);
	assert_int_equal(json_integer_value(get(json_array_get(keys, 11), "minor", NULL)), 1);
	assert_int_equal(json_integer_value(get(j, "time_signatures", "4", NULL)), 3);

	json_t *dq = get(j, "data_quality", NULL);
	assert_int_equal(json_integer_value(get(dq, "rejects", NULL)), 1);
	assert_int_equal(json_integer_value(get(dq, "rejected_rows", NULL)), 1);
	assert_int_equal(json_integer_value(get(dq, "rejects_by_reason", "field_count", NULL)), 1);
	assert_int_equal(json_integer_value(get(dq, "missing", "popularity", NULL)), 1);
	assert_int_equal(json_integer_value(get(dq, "missing", "danceability", NULL)), 0);
	assert_int_equal(json_integer_value(get(dq, "merged_duplicates", NULL)), 1);
	assert_int_equal(json_integer_value(get(dq, "tracks_without_features", NULL)), 1);
	assert_int_equal(json_integer_value(get(dq, "tracks_without_features_in_playlists", NULL)), 1);

	/* The SQL of every figure is in the summary too. */
	assert_non_null(strstr(json_string_value(get(j, "queries", "key_mode", NULL)), "GROUP BY key"));
	json_decref(j);

	/* Same catalogue, same bytes; and the catalogue was not modified. */
	report(db, out);
	char *html2 = read_out(out, "report.html");
	assert_string_equal(html, html2);
	size_t after_len = 0;
	char *after = tu_read(db, &after_len);
	assert_int_equal(before_len, after_len);
	assert_memory_equal(before, after, before_len);

	free(before);
	free(after);
	free(html);
	free(html2);
	tu_rmtree(dir);
}

static void test_empty_catalogue(void **state)
{
	(void)state;
	const char *dir = tu_tmpdir();
	const char *db = tu_catalog_file(dir, NULL);
	report(db, dir);
	char *html = read_out(dir, "report.html");
	for (size_t i = 0; i < sizeof HEADINGS / sizeof HEADINGS[0]; i++)
		if (strstr(html, HEADINGS[i]) == NULL)
			fail_msg("report lacks %s", HEADINGS[i]);
	assert_non_null(strstr(html, "no tracks yet"));
	assert_non_null(strstr(html, "No tracks with audio features yet"));
	assert_non_null(strstr(html, "No rejects"));
	assert_null(strstr(html, "SYNTHETIC DATA"));
	json_t *j = load_summary(dir);
	assert_int_equal(json_integer_value(get(j, "counts", "tracks", NULL)), 0);
	assert_true(json_is_false(get(j, "synthetic", NULL)));
	assert_true(json_is_null(get(j, "features", "danceability", "mean", NULL)));
	assert_int_equal(json_integer_value(get(j, "features", "danceability", "count", NULL)), 0);
	assert_int_equal(json_integer_value(get(j, "data_quality", "rejects", NULL)), 0);
	assert_int_equal(json_array_size(get(j, "genres", NULL)), 0);
	json_decref(j);
	free(html);
	tu_rmtree(dir);
}

/* Features but no popularity values, one track only: no crash, sections say so. */
static void test_sparse_catalogue(void **state)
{
	(void)state;
	const char *dir = tu_tmpdir();
	const char *db = tu_catalog_file(
		dir, "INSERT INTO tracks(id, spotify_id, danceability, energy, key, mode, tempo, has_features)"
		     " VALUES(9, '0000000000000000000009', 1.0, 0.5, -1, NULL, 400, 1);"
		     /* An artist name that is not valid UTF-8 (0xFF). */
		     "INSERT INTO artists VALUES(1, CAST(X'41FF42' AS TEXT));"
		     "INSERT INTO track_artists VALUES(9, 1, 0);");
	report(db, dir);
	char *html = read_out(dir, "report.html");
	assert_non_null(strstr(html, "No track with audio features has a popularity value"));
	assert_non_null(strstr(html, "Not enough tracks with audio features to correlate"));
	/* Key -1 is "none"; NULL mode is its own series. */
	assert_non_null(strstr(html, ">none</text>"));
	assert_non_null(strstr(html, "mode unknown"));
	/* Tempo 400 lands in the last, clamped bin, and the caption says so. */
	assert_non_null(strstr(html, "295 BPM"));
	json_t *j = load_summary(dir);
	assert_near(json_number_value(get(j, "features", "danceability", "mean", NULL)), 1.0, 0);
	assert_true(json_is_null(get(j, "features", "danceability", "std", NULL)));
	/* Invalid UTF-8 from the catalogue becomes U+FFFD instead of failing the summary. */
	json_t *a = json_array_get(get(j, "top_artists", NULL), 0);
	assert_non_null(a);
	assert_string_equal(json_string_value(get(a, "artist", NULL)), "A\xEF\xBF\xBD"
	                                                               "B");
	json_decref(j);
	/* Charts on a sparse catalogue: the ones drawn (with "No data" frames, and
	 * an invalid UTF-8 label) are listed and pass the same checks. */
	sqlite3 *h = tu_open_ro(db);
	strbuf page = {0}, sum = {0};
	eda_charts ch = {0};
	render_charts(h, &page, &sum, &ch);
	assert_true(ch.n > 0);
	check_charts(&ch, page.data, sum.data);
	assert_non_null(eda_charts_find(&ch, "top-artists"));
	assert_null(eda_charts_find(&ch, "corr-heatmap")); /* "Not enough tracks" instead */
	eda_charts_free(&ch);
	strbuf_free(&page);
	strbuf_free(&sum);
	sqlite3_close(h);
	free(html);
	tu_rmtree(dir);
}

static void test_errors(void **state)
{
	(void)state;
	const char *dir = tu_tmpdir();
	seg_error err = {0};
	char path[1100];

	/* No catalogue. */
	snprintf(path, sizeof path, "%s/nothing.db", dir);
	assert_int_equal(eda_report(path, dir, &err), SEG_ENOTFOUND);
	assert_non_null(strstr(err.msg, "no catalogue at"));
	assert_non_null(strstr(err.msg, "nothing.db"));
	assert_non_null(strstr(err.msg, "segue ingest"));

	/* A file that is not a database, and a database without the tables. */
	const char *txt = tu_write(dir, "notes.db", "just some text, not SQLite at all\n");
	assert_int_equal(eda_report(txt, dir, &err), SEG_EFORMAT);
	assert_non_null(strstr(err.msg, "not a segue catalogue"));
	snprintf(path, sizeof path, "%s/other.db", dir);
	sqlite3 *h;
	assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
	tu_sql_exec(h, "CREATE TABLE t(x);");
	sqlite3_close(h);
	assert_int_equal(eda_report(path, dir, &err), SEG_EFORMAT);
	assert_non_null(strstr(err.msg, "no table"));

	/* An output directory that cannot be created. */
	const char *db = tu_catalog_file(dir, FIXTURE);
	snprintf(path, sizeof path, "%s/missing/parent/out", dir);
	assert_int_equal(eda_report(db, path, &err), SEG_EIO);
	assert_non_null(strstr(err.msg, "cannot create"));

	/* Bad arguments. */
	assert_int_equal(eda_report(NULL, dir, &err), SEG_EINVAL);
	assert_int_equal(eda_render(NULL, NULL, NULL, NULL, &err), SEG_EINVAL);
	tu_rmtree(dir);
}

/* eda_render into memory, with options. */
static void test_render_opts(void **state)
{
	(void)state;
	const char *dir = tu_tmpdir();
	sqlite3 *db = tu_open_ro(tu_catalog_file(dir, FIXTURE));
	eda_opts o = {0};
	o.top_n = 1;
	o.source_name = "demo <catalogue>";
	strbuf html = {0}, json = {0};
	seg_error err = {0};
	assert_int_equal(eda_render(db, &o, &html, &json, &err), 0);
	assert_non_null(strstr(html.data, "demo &lt;catalogue&gt;"));
	assert_non_null(strstr(html.data, "LIMIT 1"));
	json_error_t je;
	json_t *j = json_loads(json.data, 0, &je);
	assert_non_null(j);
	assert_int_equal(json_array_size(get(j, "top_artists", NULL)), 1);
	json_decref(j);
	/* JSON only. */
	strbuf_reset(&json);
	assert_int_equal(eda_render(db, NULL, NULL, &json, &err), 0);
	assert_true(json.len > 0);
	strbuf_free(&html);
	strbuf_free(&json);
	sqlite3_close(db);
	tu_rmtree(dir);
}

/* Each chart by name, from the same rendering as the page. */
static void test_charts(void **state)
{
	(void)state;
	const char *dir = tu_tmpdir();
	sqlite3 *db = tu_open_ro(tu_catalog_file(dir, FIXTURE));
	strbuf html = {0}, json = {0};
	eda_charts ch = {0};
	render_charts(db, &html, &json, &ch);
	assert_true(ch.n > 0);
	check_charts(&ch, html.data, json.data);

	/* Figures of every kind have their chart under a stable name. */
	/* clang-format off */
	static const char *const expect[] = {
		"hist-danceability", "hist-duration-min", "hist-tempo", "corr-heatmap",
		"profile-genres", "profile-genres-heatmap", "popularity-vs-energy", "key-mode",
		"time-signatures", "top-artists", "top-genres", "rejects-by-reason",
	};
	/* clang-format on */
	for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++) {
		const eda_chart *c = eda_charts_find(&ch, expect[i]);
		if (c == NULL)
			fail_msg("no chart named %s", expect[i]);
		assert_string_equal(c->name, expect[i]);
	}
	const eda_chart *km = eda_charts_find(&ch, "key-mode");
	assert_string_equal(km->title, "Key and mode");
	assert_non_null(strstr(km->sql, "GROUP BY key, mode"));
	assert_non_null(strstr(km->svg, "<title>Key and mode</title>"));
	/* Names from the data stay escaped inside a chart. */
	assert_non_null(strstr(eda_charts_find(&ch, "top-artists")->svg, "Tom &amp; &lt;Jerry&gt;"));
	assert_null(eda_charts_find(&ch, "no-such-chart"));
	assert_null(eda_charts_find(&ch, ""));
	assert_null(eda_charts_find(&ch, NULL));
	assert_null(eda_charts_find(NULL, "key-mode"));

	/* eda_render gives the same page and summary; a second run the same charts;
	 * the charts do not need the page or the summary. */
	strbuf html2 = {0}, json2 = {0};
	seg_error err = {0};
	assert_int_equal(eda_render(db, NULL, &html2, &json2, &err), 0);
	assert_string_equal(html.data, html2.data);
	assert_string_equal(json.data, json2.data);
	eda_charts ch2 = {0};
	assert_int_equal(eda_render_charts(db, NULL, NULL, NULL, &ch2, &err), 0);
	assert_int_equal(ch2.n, ch.n);
	for (size_t i = 0; i < ch.n; i++) {
		assert_string_equal(ch2.v[i].name, ch.v[i].name);
		assert_string_equal(ch2.v[i].title, ch.v[i].title);
		assert_string_equal(ch2.v[i].sql, ch.v[i].sql);
		assert_string_equal(ch2.v[i].svg, ch.v[i].svg);
	}

	/* Freeing empties the list; freeing again, an empty list or NULL is a no-op. */
	eda_charts_free(&ch);
	assert_null(ch.v);
	assert_int_equal(ch.n, 0);
	assert_null(eda_charts_find(&ch, "key-mode"));
	eda_charts_free(&ch);
	eda_charts empty = {0};
	eda_charts_free(&empty);
	eda_charts_free(NULL);

	/* On error the list is left empty (whatever it held is overwritten). */
	eda_chart stale[1];
	memset(stale, 0, sizeof(stale));
	eda_charts junk = {stale, 1};
	assert_int_equal(eda_render_charts(NULL, NULL, NULL, NULL, &junk, &err), SEG_EINVAL);
	assert_null(junk.v);
	assert_int_equal(junk.n, 0);

	eda_charts_free(&ch2);
	strbuf_free(&html);
	strbuf_free(&json);
	strbuf_free(&html2);
	strbuf_free(&json2);
	sqlite3_close(db);
	tu_rmtree(dir);
}

/* An empty catalogue draws no chart: an empty list and "charts": []. */
/* Edge values for the histograms: below -60 dB and above 0 dB, tempos past
 * the last bin, a duration past 11.5 minutes, features exactly on bin
 * edges and at 1.0, NULLs, time signatures and keys of every kind. */
static const char EDGES[] = "INSERT INTO tracks(id, spotify_id, name, popularity, duration_ms, danceability, energy,"
			    " key, loudness, mode, speechiness, acousticness, instrumentalness, liveness, valence,"
			    " tempo, time_signature, has_features) VALUES"
			    " (1, 'a000000000000000000001', 'A', 100, 29999, 1.0, 0.05, -1, -75, NULL,"
			    "  0.9, 0.1, 0, 0.1, 0.6, 300, 5, 1),"
			    " (2, 'a000000000000000000002', 'B', 0, 30000, 0.95, 0.1, 3, 2.5, 1,"
			    "  0.7, NULL, 0.5, 0.2, 0.4, 294.9, 3, 1),"
			    " (3, 'a000000000000000000003', 'C', 95, 700000, 0.049999, 0.15, 11, -60, 0,"
			    "  0.66, 0.3, 1, NULL, 0.3, 0, NULL, 1),"
			    " (4, 'a000000000000000000004', 'D', NULL, NULL, NULL, 0.2, NULL, -0.1, 1,"
			    "  0.01, 0.4, 0.25, 0.3, NULL, NULL, 4, 1),"
			    " (5, 'a000000000000000000005', 'E', 50, 1200000, 0.5, 0.55, 5, -30.5, 0,"
			    "  0.2, 0.5, 0.75, 0.4, 0.5, 5, 1, 1),"
			    " (6, 'a000000000000000000006', 'F', 12, 90000, 0.25, 0.6, 6, -59.99, 1,"
			    "  0.3, 0.6, 0.05, 0.5, 0.8, 100, 4, 0);";

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* "...: N</title>" values of an SVG, sorted. Returns how many. */
static size_t svg_counts(const char *svg, double *v, size_t cap)
{
	size_t n = 0;
	for (const char *p = strstr(svg, "</title></rect>"); p != NULL && n < cap;
	     p = strstr(p + 1, "</title></rect>")) {
		const char *q = p;
		while (q > svg && q[-1] != ' ')
			q--;
		v[n++] = strtod(q, NULL);
	}
	qsort(v, n, sizeof *v, cmp_double);
	return n;
}

/* Every histogram (drawn from the columns read once) has the bins and
 * counts its SQL, run here as shown, gives. */
static void test_hist_is_the_sql(void **state)
{
	(void)state;
	const char *fixtures[2] = {FIXTURE, EDGES};
	for (int k = 0; k < 2; k++) {
		const char *dir = tu_tmpdir();
		sqlite3 *db = tu_open_ro(tu_catalog_file(dir, fixtures[k]));
		strbuf html = {0}, json = {0};
		eda_charts ch = {0};
		render_charts(db, &html, &json, &ch);
		int seen = 0;
		for (size_t i = 0; i < ch.n; i++) {
			if (strncmp(ch.v[i].name, "hist-", 5) != 0)
				continue;
			seen++;
			double want[64], got[64];
			size_t nw = 0;
			sqlite3_stmt *st;
			assert_int_equal(sqlite3_prepare_v2(db, ch.v[i].sql, -1, &st, NULL), SQLITE_OK);
			while (sqlite3_step(st) == SQLITE_ROW && nw < 64)
				want[nw++] = (double)sqlite3_column_int64(st, 1);
			sqlite3_finalize(st);
			qsort(want, nw, sizeof *want, cmp_double);
			size_t ng = svg_counts(ch.v[i].svg, got, 64);
			if (ng != nw)
				fail_msg("%s: %zu bars, its SQL gives %zu bins", ch.v[i].name, ng, nw);
			for (size_t j = 0; j < nw; j++)
				assert_true(got[j] == want[j]);
		}
		assert_int_equal(seen, 11);
		/* Keys and time signatures, against their SQL too. */
		json_t *j = json_loads(json.data, 0, NULL);
		assert_non_null(j);
		sqlite3_stmt *st;
		assert_int_equal(sqlite3_prepare_v2(db,
		                                    "SELECT time_signature, COUNT(*) FROM tracks WHERE has_features = 1"
		                                    " AND time_signature IS NOT NULL GROUP BY time_signature",
		                                    -1, &st, NULL),
		                 SQLITE_OK);
		size_t nts = 0;
		while (sqlite3_step(st) == SQLITE_ROW) {
			char key[24];
			snprintf(key, sizeof key, "%lld", (long long)sqlite3_column_int64(st, 0));
			assert_int_equal(json_integer_value(get(j, "time_signatures", key, NULL)),
			                 sqlite3_column_int64(st, 1));
			nts++;
		}
		sqlite3_finalize(st);
		assert_int_equal(json_object_size(get(j, "time_signatures", NULL)), nts);
		json_decref(j);
		eda_charts_free(&ch);
		strbuf_free(&html);
		strbuf_free(&json);
		sqlite3_close(db);
		tu_rmtree(dir);
	}
}

static void test_charts_empty(void **state)
{
	(void)state;
	const char *dir = tu_tmpdir();
	sqlite3 *db = tu_open_ro(tu_catalog_file(dir, NULL));
	strbuf html = {0}, json = {0};
	eda_charts ch = {0};
	render_charts(db, &html, &json, &ch);
	assert_int_equal(ch.n, 0);
	check_charts(&ch, html.data, json.data);
	assert_null(eda_charts_find(&ch, "hist-danceability"));
	eda_charts_free(&ch);
	strbuf_free(&html);
	strbuf_free(&json);
	sqlite3_close(db);
	tu_rmtree(dir);
}

/* The report leaves the summary and charts beside the catalogue, and they
 * read back as eda_render_charts computes them (the cache's other cases are
 * in test_eda_cache.c). */
static void test_cache(void **state)
{
	(void)state;
	const char *dir = tu_tmpdir();
	char out[1100], cache[1100];
	snprintf(out, sizeof out, "%s/eda", dir);
	assert_int_equal(workspace_path(dir, WS_EDA_CACHE, cache, sizeof cache, NULL), 0);
	const char *path = tu_catalog_file(dir, FIXTURE);
	report(path, out);
	sqlite3 *db = tu_open_ro(path);
	strbuf json = {0}, cached = {0};
	eda_charts ch = {0}, back = {0};
	render_charts(db, NULL, &json, &ch);
	assert_int_equal(eda_cache_load(db, NULL, cache, &cached, &back), 0);
	assert_string_equal(strbuf_cstr(&cached), strbuf_cstr(&json));
	assert_true(back.n > 5);
	assert_int_equal(back.n, ch.n);
	for (size_t i = 0; i < ch.n; i++) {
		assert_string_equal(back.v[i].name, ch.v[i].name);
		assert_string_equal(back.v[i].title, ch.v[i].title);
		assert_string_equal(back.v[i].sql, ch.v[i].sql);
		assert_string_equal(back.v[i].svg, ch.v[i].svg);
	}
	sqlite3_close(db);
	strbuf_free(&json);
	strbuf_free(&cached);
	eda_charts_free(&ch);
	eda_charts_free(&back);
	tu_rmtree(dir);
}

/* 1 when directory `d` holds a name with ".tmp." in it (a writer's
 * temporary). */
static int has_temporary(const char *d)
{
	char cmd[1200], *out = NULL;
	snprintf(cmd, sizeof cmd, "ls -a '%s' | grep -c '\\.tmp\\.'", d);
	tu_run(cmd, &out);
	int yes = out != NULL && atoi(out) > 0;
	free(out);
	return yes;
}

/* The report's files are replaced whole: each is a new file renamed over the
 * old one, written through a temporary of its own (never through a fixed
 * name, which a link planted there would redirect), and none is left. */
static void test_files_replaced_whole(void **state)
{
	(void)state;
	const char *dir = tu_tmpdir();
	const char *db = tu_catalog_file(dir, FIXTURE);
	char out[1100], html[1200], kept[1200], victim[1200], planted[1200];
	snprintf(out, sizeof out, "%s/eda", dir);
	snprintf(html, sizeof html, "%s/report.html", out);
	snprintf(kept, sizeof kept, "%s/kept.html", dir);
	report(db, out);
	/* a second name keeps the old file's inode from being reused */
	assert_int_equal(link(html, kept), 0);
	struct stat before, after;
	assert_int_equal(stat(html, &before), 0);
	/* the fixed temporary names segue 0.1.0 wrote through, linked elsewhere */
	tu_write(dir, "victim.txt", "not the report\n");
	snprintf(victim, sizeof victim, "%s/victim.txt", dir);
	const char *names[] = {"report.html.tmp", "summary.json.tmp"};
	for (int i = 0; i < 2; i++) {
		snprintf(planted, sizeof planted, "%s/%s", out, names[i]);
		assert_int_equal(symlink(victim, planted), 0);
	}
	report(db, out);
	assert_int_equal(lstat(html, &after), 0);
	assert_true(S_ISREG(after.st_mode));
	assert_true(before.st_ino != after.st_ino);
	char *text = tu_read(victim, NULL);
	assert_string_equal(text, "not the report\n");
	free(text);
	text = read_out(out, "report.html");
	assert_non_null(strstr(text, "<!DOCTYPE html>"));
	free(text);
	text = read_out(out, "summary.json");
	json_error_t je;
	json_t *sum = json_loads(text, 0, &je);
	assert_non_null(sum);
	json_decref(sum);
	free(text);
	assert_false(has_temporary(out));
	tu_rmtree(dir);
}

/* `segue eda` is a writer of the workspace: while another holds its lock it
 * says so and waits, and writes once the lock is let go. */
static void test_cli_waits_for_lock(void **state)
{
	(void)state;
	const char *bin = getenv("SEGUE_BIN");
	if (bin == NULL || *bin == '\0')
		skip();
	const char *dir = tu_tmpdir();
	char ws[1100], html[1200], log[1200];
	snprintf(ws, sizeof ws, "%s/ws", dir);
	assert_int_equal(mkdir(ws, 0777), 0);
	tu_catalog_file(ws, FIXTURE);
	snprintf(html, sizeof html, "%s/eda/report.html", ws);
	snprintf(log, sizeof log, "%s/eda.log", dir);
	seg_error err = {0};
	assert_int_equal(workspace_lock(ws, WORKSPACE_LOCK_TRY, &err), 0);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (freopen(log, "w", stdout) == NULL || dup2(fileno(stdout), STDERR_FILENO) < 0)
			_exit(126);
		execl(bin, bin, "eda", "-w", ws, (char *)NULL);
		_exit(127);
	}
	/* it says it waits, and writes nothing meanwhile */
	char *text = NULL;
	for (int i = 0; i < 300; i++) {
		free(text);
		text = tu_read(log, NULL);
		if (text != NULL && strstr(text, "waiting for") != NULL)
			break;
		usleep(50 * 1000);
	}
	if (text == NULL || strstr(text, "waiting for") == NULL)
		fail_msg("segue eda did not wait for the lock: %s", text ? text : "(no output)");
	free(text);
	usleep(200 * 1000);
	assert_int_not_equal(access(html, F_OK), 0);
	workspace_unlock(ws);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(access(html, F_OK), 0);
	text = tu_read(log, NULL);
	assert_non_null(strstr(text, "wrote"));
	free(text);
	tu_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_report),
		cmocka_unit_test(test_empty_catalogue),
		cmocka_unit_test(test_sparse_catalogue),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_render_opts),
		cmocka_unit_test(test_charts),
		cmocka_unit_test(test_charts_empty),
		cmocka_unit_test(test_hist_is_the_sql),
		cmocka_unit_test(test_files_replaced_whole),
		cmocka_unit_test(test_cli_waits_for_lock),
		cmocka_unit_test(test_cache),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
