/* test_realdata.c: ingests every real track table and the MPD playlist pair in
 * ../shared/data together and checks the catalogue against counts derived
 * independently with pandas (tests/golden/realdata_counts.py, output in
 * tests/golden/realdata_counts.json), and that search lists one song once and
 * forgives a typo there. Skipped when the data is absent. */
#include "testutil.h"

#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "catalog/catalog.h"
#include "catalog/lookup.h"
#include "ingest/ingest.h"
#include "catalog/snapshot.h"

/* clang-format off */
static const char *const FILES[] = {
	"spotify_songs.csv.zst", "hit_predictor_1960s-2010s.csv.zst", "SpotifyFeatures.PARTIAL.csv",
	"tracks_600k.PARTIAL.csv", "high_popularity_spotify_data.csv", "low_popularity_spotify_data.csv",
	"mpd_subset_playlists.csv", "mpd_subset_playlist_tracks.csv.zst",
};
/* clang-format on */
#define NFILES (sizeof FILES / sizeof *FILES)

static long jlong(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_integer(v) ? (long)json_integer_value(v) : 0;
}

/* For each key of `want` (key -> count), the rejects with this action and
 * `column` = key number count; and all rejects with the action, their sum. */
static void check_rejects_by(sqlite3 *db, json_t *want, const char *action, const char *column)
{
	char sql[256];
	const char *key;
	json_t *v;
	long total = 0;
	json_object_foreach(want, key, v)
	{
		snprintf(sql, sizeof sql, "SELECT count(*) FROM rejects WHERE action='%s' AND %s='%s'", action, column,
		         key);
		assert_int_equal(tu_sql_long(db, sql), json_integer_value(v));
		total += (long)json_integer_value(v);
	}
	snprintf(sql, sizeof sql, "SELECT count(*) FROM rejects WHERE action='%s'", action);
	assert_int_equal(tu_sql_long(db, sql), total);
}

static void test_real_catalogue_counts(void **state)
{
	(void)state;
	const char *data = tu_shared_data();
	if (data == NULL) {
		printf("# SKIP ../shared/data is not present\n");
		skip();
	}
	char golden[PATH_MAX];
	assert_non_null(tu_golden_path("realdata_counts.json", golden, sizeof golden));
	json_error_t jerr;
	json_t *expect = json_load_file(golden, 0, &jerr);
	assert_non_null(expect);

	char paths[NFILES][PATH_MAX];
	char *argv[NFILES];
	for (size_t i = 0; i < NFILES; i++) {
		snprintf(paths[i], sizeof paths[i], "%s/%s", data, FILES[i]);
		argv[i] = paths[i];
	}
	const char *ws = tu_tmpdir();
	ingest_summary sum;
	tu_ingest(ws, argv, NFILES, &sum);

	/* Per file, from the ingest summary. */
	json_t *files = json_object_get(expect, "files");
	for (size_t i = 0; i < NFILES; i++) {
		json_t *f = json_object_get(files, FILES[i]);
		assert_non_null(f);
		const catalog_counts *n = &sum.files[i].n;
		assert_int_equal(n->rows_read, jlong(f, "rows"));
		if (json_object_get(f, "accepted")) {
			assert_int_equal(n->rows_accepted, jlong(f, "accepted"));
			assert_int_equal(n->new_tracks, jlong(f, "new"));
			assert_int_equal(n->merged, jlong(f, "merged"));
			assert_int_equal(n->rows_rejected, jlong(f, "rejected"));
			assert_int_equal(n->values_dropped, jlong(f, "dropped"));
		}
	}
	assert_int_equal(sum.total.merged, jlong(expect, "merged"));
	/* the summary's counts, taken from the snapshot and the names file */
	assert_int_equal(sum.tracks_with_features, jlong(expect, "tracks_with_features"));
	assert_int_equal(sum.tracks_without_features, jlong(expect, "tracks_without_features"));

	/* The catalogue itself. */
	seg_error err = {0};
	catalog *c;
	assert_int_equal(catalog_open(&c, ws, 0, &err), 0);
	sqlite3 *db = catalog_db(c);
	assert_int_equal(tu_sql_long(db, "SELECT count(*) FROM tracks WHERE has_features"),
	                 jlong(expect, "tracks_with_features"));
	assert_int_equal(tu_sql_long(db, "SELECT count(*) FROM tracks WHERE NOT has_features"),
	                 jlong(expect, "tracks_without_features"));
	assert_int_equal(tu_sql_long(db, "SELECT count(*) FROM playlists"), jlong(expect, "playlists"));
	assert_int_equal(tu_sql_long(db, "SELECT count(*) FROM playlist_tracks"), jlong(expect, "playlist_entries"));
	assert_int_equal(tu_sql_long(db, "SELECT count(*) FROM playlist_tracks pt JOIN playlists p"
	                                 " ON p.id = pt.playlist_id WHERE p.source = 'mpd'"),
	                 jlong(expect, "mpd_entries"));
	assert_int_equal(tu_sql_long(db, "SELECT sum(merged) FROM ingests"), jlong(expect, "merged"));

	/* Rejects by reason (rows) and by column (values). */
	check_rejects_by(db, json_object_get(expect, "rows_rejected_by_reason"), "row", "reason");
	check_rejects_by(db, json_object_get(expect, "values_dropped_by_column"), "value", "column_name");

	/* The known bad rows, handled as documented. */
	/* "Make It" (2teI76KKFE6qkpLZJs7tZ7): every audio feature empty -> row rejected,
	 * with its line number, and the track has no features. */
	assert_int_equal(tu_sql_long(db, "SELECT count(*) FROM rejects WHERE reason='missing' AND column_name IS NULL"
	                                 " AND file LIKE '%low_popularity%' AND line > 1"),
	                 1);
	assert_int_equal(tu_sql_long(db, "SELECT count(*) FROM tracks WHERE spotify_id='2teI76KKFE6qkpLZJs7tZ7'"
	                                 " AND has_features"),
	                 0);
	/* Zero tempo and time signature 0: stored as NULL, the track kept. */
	assert_true(tu_sql_long(db, "SELECT count(*) FROM tracks WHERE has_features AND tempo IS NULL") > 0);
	assert_int_equal(tu_sql_long(db, "SELECT count(*) FROM tracks WHERE tempo = 0 OR time_signature = 0"), 0);
	/* SpotifyFeatures' spreadsheet-damaged time signatures come back as beats. */
	assert_int_equal(tu_sql_long(db, "SELECT count(*) FROM tracks WHERE time_signature NOT BETWEEN 1 AND 7"), 0);
	/* Every 0..1 feature is in range, keys are pitch classes, mode is 0/1. */
	assert_int_equal(tu_sql_long(db,
	                             "SELECT count(*) FROM tracks WHERE has_features AND (energy NOT BETWEEN 0 AND 1"
	                             " OR valence NOT BETWEEN 0 AND 1 OR key NOT BETWEEN -1 AND 11"
	                             " OR mode NOT IN (0,1))"),
	                 0);
	/* A track listed under several genres keeps all of them. */
	assert_true(tu_sql_long(db, "SELECT max(n) FROM (SELECT count(*) n FROM track_genres GROUP BY track_id)") >= 3);
	/* Full-text search finds tracks by artist. */
	assert_true(tu_sql_long(db, "SELECT count(*) FROM track_search WHERE track_search MATCH 'artists:queen'") > 10);
	/* Issue 10: Queen's Bohemian Rhapsody is one song however often it is
	 * listed ("- 2011 Mix", "- Remastered 2011", ...): one search row, found
	 * misspelt too; a cover is another song. */
	static const char *const queries[] = {"bohemian rhapsody", "bohemian rapsody", "queen bohemian rapsody"};
	for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++) {
		lookup_hit h[50];
		size_t n = 0, queen = 0;
		assert_int_equal(lookup_search(db, queries[i], 50, h, &n, &err), 0);
		assert_true(n > 0);
		assert_non_null(strstr(h[0].name, "Bohemian Rhapsody"));
		assert_string_equal(h[0].artists, "Queen");
		assert_true(h[0].versions >= 4);
		for (size_t j = 0; j < n; j++)
			queen += strcmp(h[j].artists, "Queen") == 0 &&
			         strstr(h[j].name, "Bohemian Rhapsody") == h[j].name;
		if (queen != 1)
			fail_msg("'%s': %zu rows of Queen's Bohemian Rhapsody", queries[i], queen);
	}
	assert_true(lookup_song_key("Bohemian Rhapsody - 2011 Mix", "Queen") ==
	            lookup_song_key("Bohemian Rhapsody - Remastered 2011", "Queen"));
	assert_true(lookup_song_key("Bohemian Rhapsody", "Panic! At The Disco") !=
	            lookup_song_key("Bohemian Rhapsody", "Queen"));
	lookup_forget(db);
	catalog_close(c);

	/* The snapshot maps and holds every track with features. */
	char snap[PATH_MAX];
	snprintf(snap, sizeof snap, "%s/%s", ws, CATALOG_SNAPSHOT_NAME);
	snapshot *s;
	assert_int_equal(snapshot_open(&s, snap, &err), 0);
	assert_int_equal(snapshot_rows(s), jlong(expect, "tracks_with_features"));
	snapshot_close(s);

	ingest_summary_free(&sum);
	json_decref(expect);
	tu_rmtree(ws);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_catalogue_counts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
