/* test_catalog.c: the catalogue's merge rule, playlists and transactions. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"

static void rec(track_rec *t, const char *id, double energy)
{
	track_rec_init(t);
	snprintf(t->id, sizeof t->id, "%s", id);
	for (int i = 0; i < TF__AUDIO; i++)
		t->audio[i] = 0.5;
	t->audio[TF_KEY] = 5;
	t->audio[TF_MODE] = 1;
	t->audio[TF_LOUDNESS] = -7;
	t->audio[TF_TEMPO] = 100;
	t->audio[TF_ENERGY] = energy;
	t->has_audio = 1;
}

#define ID1 "1111111111111111111111"
#define ID2 "2222222222222222222222"

/* Creates the catalogue of workspace ws, begins a write session and starts
 * the ingest of `file` (its id in *ing). */
static catalog *open_ingest(const char *ws, const char *file, int64_t *ing)
{
	catalog *c;
	seg_error err;
	assert_int_equal(catalog_open(&c, ws, 1, &err), 0);
	assert_int_equal(catalog_begin(c, &err), 0);
	assert_int_equal(catalog_ingest_start(c, file, "test", 0, ing, &err), 0);
	return c;
}

static void test_merge_first_value_wins(void **state)
{
	(void)state;
	const char *ws = tu_tmpdir();
	int64_t ing, id1, id1b;
	catalog *c = open_ingest(ws, "a.csv", &ing);
	seg_error err;
	int merged;

	track_rec t;
	rec(&t, ID1, 0.9);
	t.name = "First Name";
	t.popularity = -1; /* unknown in the first file */
	t.artists[0] = "Ann";
	t.nartists = 1;
	t.genres[0] = "rock";
	t.ngenres = 1;
	assert_int_equal(catalog_put_track(c, &t, ing, &merged, &id1, &err), 0);
	assert_int_equal(merged, 0);

	rec(&t, ID1, 0.1); /* conflicting features: the first block stays */
	t.name = "Second Name";
	t.popularity = 42; /* fills the NULL */
	t.artists[0] = "Ann";
	t.artists[1] = "Bob";
	t.nartists = 2;
	t.genres[0] = "rock";
	t.genres[1] = "indie";
	t.ngenres = 2;
	assert_int_equal(catalog_put_track(c, &t, ing, &merged, &id1b, &err), 0);
	assert_int_equal(merged, 1);
	assert_int_equal(id1, id1b);
	assert_int_equal(catalog_commit(c, &err), 0);

	sqlite3 *db = catalog_db(c);
	char buf[64];
	assert_string_equal(tu_sql_text(db, "SELECT name FROM tracks", buf, sizeof buf), "First Name");
	assert_int_equal(tu_sql_long(db, "SELECT popularity FROM tracks"), 42);
	assert_int_equal(tu_sql_long(db, "SELECT round(energy*10) FROM tracks"), 9);
	assert_int_equal(tu_sql_long(db, "SELECT count(*) FROM track_artists"), 2);
	assert_int_equal(tu_sql_long(db, "SELECT count(*) FROM track_genres"), 2);
	assert_int_equal(tu_sql_long(db, "SELECT count(*) FROM artists"), 2);
	/* The search index sees both artists. */
	assert_int_equal(tu_sql_long(db, "SELECT count(*) FROM track_search WHERE track_search MATCH 'bob'"), 1);
	catalog_close(c);
	tu_rmtree(ws);
}

static void test_playlist_reference_then_features(void **state)
{
	(void)state;
	const char *ws = tu_tmpdir();
	int64_t ing, ref, id, pl, pl2;
	catalog *c = open_ingest(ws, "p.csv", &ing);
	sqlite3 *db = catalog_db(c);
	seg_error err;
	int merged, created, added;
	/* A playlist names a track before any track table has it. */
	assert_int_equal(catalog_ref_track(c, ID2, "Only Name", "Cleo", ing, &ref, &err), 0);
	assert_int_equal(tu_sql_long(db, "SELECT has_features FROM tracks"), 0);
	track_rec t;
	rec(&t, ID2, 0.3);
	assert_int_equal(catalog_put_track(c, &t, ing, &merged, &id, &err), 0);
	assert_int_equal(merged, 0); /* it had no features: not a merged duplicate */
	assert_int_equal(ref, id);
	assert_int_equal(tu_sql_long(db, "SELECT has_features FROM tracks"), 1);
	assert_int_equal(tu_sql_long(db, "SELECT round(energy*10) FROM tracks"), 3);
	/* Playlists: found again by (source, external id); NULLs filled. */
	assert_int_equal(catalog_put_playlist(c, "mpd", "17", NULL, NULL, -1, 0, &pl, &created, &err), 0);
	assert_int_equal(created, 1);
	assert_int_equal(catalog_put_playlist(c, "mpd", "17", "road trip", "desc", 12, 0, &pl2, &created, &err), 0);
	assert_int_equal(created, 0);
	assert_int_equal(pl, pl2);
	assert_int_equal(catalog_put_playlist(c, "other", "17", NULL, NULL, -1, 0, &pl2, &created, &err), 0);
	assert_int_equal(created, 1);
	assert_int_equal(catalog_put_playlist_track(c, pl, 0, id, &err), 0);
	assert_int_equal(catalog_put_playlist_track(c, pl, 0, id, &err), 0); /* idempotent */
	assert_int_equal(catalog_add_playlist_track(c, pl2, id, &added, &err), 0);
	assert_int_equal(added, 1);
	assert_int_equal(catalog_add_playlist_track(c, pl2, id, &added, &err), 0);
	assert_int_equal(added, 0); /* set semantics */
	assert_int_equal(catalog_commit(c, &err), 0);
	assert_int_equal(tu_sql_long(db, "SELECT num_followers FROM playlists WHERE external_id='17' AND source='mpd'"),
	                 12);
	assert_int_equal(tu_sql_long(db, "SELECT count(*) FROM playlist_tracks"), 2);
	catalog_close(c);
	tu_rmtree(ws);
}

/* Counts SQLite virtual-machine instructions, 100 per call. */
static int count_steps(void *ctx)
{
	++*(long *)ctx;
	return 0;
}

/* SQLite instructions spent adding n distinct tracks (ids[0..n)) to one new
 * playlist through catalog_add_playlist_track. */
static long steps_for_playlist(catalog *c, const char *name, const int64_t *ids, int n)
{
	seg_error err;
	int64_t pl;
	int created, added;
	assert_int_equal(catalog_put_playlist(c, "spotify_songs", name, NULL, NULL, -1, 0, &pl, &created, &err), 0);
	long calls = 0;
	sqlite3_progress_handler(catalog_db(c), 100, count_steps, &calls);
	for (int i = 0; i < n; i++) {
		assert_int_equal(catalog_add_playlist_track(c, pl, ids[i], &added, &err), 0);
		assert_int_equal(added, 1);
	}
	assert_int_equal(catalog_add_playlist_track(c, pl, ids[0], &added, &err), 0);
	assert_int_equal(added, 0);
	sqlite3_progress_handler(catalog_db(c), 0, NULL, NULL);
	return calls * 100;
}

/* A row of a track this session catalogued that brings no field the track
 * lacks runs no statement (the track map knows which fields are stored);
 * one that brings a missing field still fills it; a track read from the
 * catalogue is merged in SQL as before. */
static void test_merge_without_news_writes_nothing(void **state)
{
	(void)state;
	const char *ws = tu_tmpdir();
	int64_t ing, id, id2, id3;
	catalog *c = open_ingest(ws, "a.csv", &ing);
	sqlite3 *db = catalog_db(c);
	seg_error err;
	int merged;
	long calls = 0;
	char buf[64];

	track_rec t;
	rec(&t, ID1, 0.9);
	t.name = "Name";
	assert_int_equal(catalog_put_track(c, &t, ing, &merged, &id, &err), 0);
	/* A track without features first: any later row may bring them. */
	track_rec u;
	track_rec_init(&u);
	snprintf(u.id, sizeof u.id, "%s", ID2);
	u.name = "No Features";
	assert_int_equal(catalog_put_track(c, &u, ing, &merged, &id3, &err), 0);

	sqlite3_progress_handler(db, 1, count_steps, &calls);
	/* The same row again, then other features and another name: nothing
	 * that would change the row. */
	assert_int_equal(catalog_put_track(c, &t, ing, &merged, &id2, &err), 0);
	assert_int_equal(merged, 1);
	assert_int_equal(id2, id);
	rec(&t, ID1, 0.1);
	t.name = "Other Name";
	assert_int_equal(catalog_put_track(c, &t, ing, &merged, &id2, &err), 0);
	assert_int_equal(merged, 1);
	assert_int_equal(calls, 0);
	/* A popularity it lacks is written; then it is known. */
	t.popularity = 42;
	assert_int_equal(catalog_put_track(c, &t, ing, &merged, &id2, &err), 0);
	assert_true(calls > 0);
	calls = 0;
	t.popularity = 7;
	assert_int_equal(catalog_put_track(c, &t, ing, &merged, &id2, &err), 0);
	assert_int_equal(calls, 0);
	/* Synthetic only goes up, and that is a change. */
	t.synthetic = 1;
	assert_int_equal(catalog_put_track(c, &t, ing, &merged, &id2, &err), 0);
	assert_true(calls > 0);
	/* The featureless track takes its features from the next row that has them. */
	rec(&u, ID2, 0.3);
	assert_int_equal(catalog_put_track(c, &u, ing, &merged, &id2, &err), 0);
	assert_int_equal(merged, 0);
	assert_int_equal(id2, id3);
	sqlite3_progress_handler(db, 0, NULL, NULL);
	assert_int_equal(catalog_commit(c, &err), 0);
	assert_string_equal(tu_sql_text(db, "SELECT name FROM tracks WHERE id = 1", buf, sizeof buf), "Name");
	assert_int_equal(tu_sql_long(db, "SELECT popularity FROM tracks WHERE id = 1"), 42);
	assert_int_equal(tu_sql_long(db, "SELECT round(energy*10) FROM tracks WHERE id = 1"), 9);
	assert_int_equal(tu_sql_long(db, "SELECT synthetic FROM tracks WHERE id = 1"), 1);
	assert_int_equal(tu_sql_long(db, "SELECT has_features FROM tracks WHERE id = 2"), 1);
	assert_int_equal(tu_sql_long(db, "SELECT round(energy*10) FROM tracks WHERE id = 2"), 3);
	catalog_close(c);

	/* Read from the catalogue, the track's stored fields are not known to
	 * the map: the row is merged in SQL, and fills the album. */
	c = open_ingest(ws, "b.csv", &ing);
	db = catalog_db(c);
	rec(&t, ID1, 0.1);
	t.album = "Album";
	assert_int_equal(catalog_put_track(c, &t, ing, &merged, &id2, &err), 0);
	assert_int_equal(merged, 1);
	assert_int_equal(id2, id);
	assert_int_equal(catalog_commit(c, &err), 0);
	assert_string_equal(tu_sql_text(db, "SELECT album FROM tracks WHERE id = 1", buf, sizeof buf), "Album");
	assert_int_equal(tu_sql_long(db, "SELECT round(energy*10) FROM tracks WHERE id = 1"), 9);
	assert_int_equal(tu_sql_long(db, "SELECT popularity FROM tracks WHERE id = 1"), 42);
	catalog_close(c);
	tu_rmtree(ws);
}

/* Adding to a playlist costs the same per entry whatever its length: 4x
 * the entries take about 4x the SQLite instructions (a check that scanned
 * the playlist per entry took 16x). Counted, not timed, so it is stable. */
static void test_playlist_add_linear(void **state)
{
	(void)state;
	const char *ws = tu_tmpdir();
	int64_t ing;
	catalog *c = open_ingest(ws, "big.csv", &ing);
	seg_error err;
	enum { SMALL = 20000, LARGE = 80000 };
	int64_t *ids = malloc(LARGE * sizeof(int64_t));
	assert_non_null(ids);
	for (int i = 0; i < LARGE; i++) {
		char id[23];
		snprintf(id, sizeof id, "%022d", i);
		assert_int_equal(catalog_ref_track(c, id, NULL, NULL, ing, &ids[i], &err), 0);
	}
	long small = steps_for_playlist(c, "small", ids, SMALL);
	long large = steps_for_playlist(c, "large", ids, LARGE);
	print_message("# VM instructions: %ld for %d entries, %ld for %d (ratio %.2f)\n", small, SMALL, large, LARGE,
	              (double)large / (double)small);
	assert_true(small > 0);
	assert_true((double)large / (double)small < 6.0);
	assert_int_equal(catalog_commit(c, &err), 0);
	assert_int_equal(tu_sql_long(catalog_db(c), "SELECT count(*) FROM playlist_tracks"), SMALL + LARGE);
	assert_int_equal(tu_sql_long(catalog_db(c), "SELECT max(pos) FROM playlist_tracks"), LARGE - 1);
	free(ids);
	catalog_close(c);
	tu_rmtree(ws);
}

/* Entries put by position are written many to a statement: 300 puts over
 * positions 0..149 (two rounds, crossing batch boundaries, the second
 * replacing the first) leave each position with its last track, as one
 * statement a put would. */
static void test_playlist_put_by_position_batched(void **state)
{
	(void)state;
	const char *ws = tu_tmpdir();
	int64_t ing, pl, ids[300];
	catalog *c = open_ingest(ws, "entries.csv", &ing);
	seg_error err;
	int created;
	for (int i = 0; i < 300; i++) {
		char sid[32];
		snprintf(sid, sizeof sid, "%022d", i);
		assert_int_equal(catalog_ref_track(c, sid, NULL, NULL, ing, &ids[i], &err), 0);
	}
	assert_int_equal(catalog_put_playlist(c, "mpd", "7", NULL, NULL, -1, 0, &pl, &created, &err), 0);
	for (int i = 0; i < 300; i++)
		assert_int_equal(catalog_put_playlist_track(c, pl, i % 150, ids[i], &err), 0);
	assert_int_equal(catalog_commit(c, &err), 0);
	sqlite3 *db = catalog_db(c);
	assert_int_equal(tu_sql_long(db, "SELECT count(*) FROM playlist_tracks"), 150);
	char sql[160];
	long wrong = 0;
	for (int p = 0; p < 150; p++) {
		snprintf(sql, sizeof sql, "SELECT track_id FROM playlist_tracks WHERE playlist_id = %lld AND pos = %d",
		         (long long)pl, p);
		wrong += tu_sql_long(db, sql) != ids[150 + p];
	}
	assert_int_equal(wrong, 0);
	catalog_close(c);
	tu_rmtree(ws);
}

/* A later session finds the stored members (appends after them, skips
 * them); a playlist also written by position is still right. */
static void test_playlist_add_after_commit(void **state)
{
	(void)state;
	const char *ws = tu_tmpdir();
	int64_t ing, a, b, d, pl, pl2;
	catalog *c = open_ingest(ws, "one.csv", &ing);
	seg_error err;
	int created, added;
	assert_int_equal(catalog_ref_track(c, ID1, "One", NULL, ing, &a, &err), 0);
	assert_int_equal(catalog_ref_track(c, ID2, "Two", NULL, ing, &b, &err), 0);
	assert_int_equal(catalog_put_playlist(c, "spotify_songs", "p", "P", NULL, -1, 0, &pl, &created, &err), 0);
	assert_int_equal(catalog_add_playlist_track(c, pl, a, &added, &err), 0);
	assert_int_equal(catalog_commit(c, &err), 0);
	assert_int_equal(catalog_begin(c, &err), 0);
	assert_int_equal(catalog_ref_track(c, "3333333333333333333333", "Three", NULL, ing, &d, &err), 0);
	assert_int_equal(catalog_put_playlist(c, "spotify_songs", "p", "P", NULL, -1, 0, &pl2, &created, &err), 0);
	assert_int_equal(created, 0);
	assert_int_equal(pl2, pl);
	assert_int_equal(catalog_add_playlist_track(c, pl, a, &added, &err), 0);
	assert_int_equal(added, 0);
	assert_int_equal(catalog_add_playlist_track(c, pl, b, &added, &err), 0);
	assert_int_equal(added, 1);
	/* Position 1 (b) replaced by d: b may be added again, after the rest. */
	assert_int_equal(catalog_put_playlist_track(c, pl, 1, d, &err), 0);
	assert_int_equal(catalog_add_playlist_track(c, pl, d, &added, &err), 0);
	assert_int_equal(added, 0);
	assert_int_equal(catalog_add_playlist_track(c, pl, b, &added, &err), 0);
	assert_int_equal(added, 1);
	assert_int_equal(catalog_commit(c, &err), 0);
	sqlite3 *db = catalog_db(c);
	char got[200], want[200];
	snprintf(want, sizeof want, "0:%lld 1:%lld 2:%lld", (long long)a, (long long)d, (long long)b);
	assert_string_equal(tu_sql_text(db,
	                                "SELECT group_concat(pos || ':' || track_id, ' ') FROM"
	                                " (SELECT * FROM playlist_tracks ORDER BY pos)",
	                                got, sizeof got),
	                    want);
	catalog_close(c);
	tu_rmtree(ws);
}

static void test_rollback_and_reopen(void **state)
{
	(void)state;
	const char *ws = tu_tmpdir();
	int64_t ing, id;
	catalog *c = open_ingest(ws, "x.csv", &ing);
	seg_error err;
	int merged;
	track_rec t;
	rec(&t, ID1, 0.5);
	assert_int_equal(catalog_put_track(c, &t, ing, &merged, &id, &err), 0);
	catalog_close(c); /* no commit: rolled back */
	assert_int_equal(catalog_open(&c, ws, 0, &err), 0);
	assert_int_equal(tu_sql_long(catalog_db(c), "SELECT count(*) FROM tracks"), 0);
	assert_int_equal(tu_sql_long(catalog_db(c), "SELECT count(*) FROM ingests"), 0);
	/* A read-only catalogue refuses a write session. */
	assert_int_equal(catalog_begin(c, &err), SEG_EREADONLY);
	catalog_close(c);
	catalog_close(NULL);
	tu_rmtree(ws);
}

/* The origin a derived file records follows every committed ingest, and
 * tells a catalogue made again from scratch from the one before. */
static void test_origin(void **state)
{
	(void)state;
	const char *ws = tu_tmpdir();
	seg_error err;
	catalog *c;
	assert_int_equal(catalog_open(&c, ws, 1, &err), 0);
	catalog_origin a, b;
	assert_int_equal(catalog_origin_now(catalog_db(c), &a, &err), 0);
	assert_string_equal(a.code, SEGUE_VERSION);
	int64_t stamp[CATALOG_STAMP];
	assert_int_equal(catalog_stamp(catalog_db(c), stamp, &err), 0);
	assert_memory_equal(a.stamp, stamp, sizeof stamp);
	assert_true(a.stamp[0] != 0); /* a drawn catalogue id */
	catalog_close(c);
	int64_t ing, id;
	int merged;
	track_rec t;
	c = open_ingest(ws, "a.csv", &ing);
	rec(&t, ID1, 0.5);
	assert_int_equal(catalog_put_track(c, &t, ing, &merged, &id, &err), 0);
	assert_int_equal(catalog_commit(c, &err), 0);
	assert_int_equal(catalog_origin_now(catalog_db(c), &b, &err), 0);
	assert_false(catalog_origin_same(&a, &b));
	assert_int_equal(b.stamp[1], ing);
	assert_int_equal(b.stamp[2], 1);
	catalog_origin b2 = b;
	snprintf(b2.code, sizeof b2.code, "another");
	assert_true(catalog_origin_same(&b, &b2)); /* the code version is recorded, not compared */
	catalog_close(c);
	tu_rmtree(ws);
	/* the same ingest into a new catalogue: another catalogue id */
	ws = tu_tmpdir();
	c = open_ingest(ws, "a.csv", &ing);
	assert_int_equal(catalog_put_track(c, &t, ing, &merged, &id, &err), 0);
	assert_int_equal(catalog_commit(c, &err), 0);
	assert_int_equal(catalog_origin_now(catalog_db(c), &a, &err), 0);
	assert_memory_equal(a.stamp + 1, b.stamp + 1, sizeof(int64_t) * (CATALOG_STAMP - 1));
	assert_false(catalog_origin_same(&a, &b));
	catalog_close(c);
	tu_rmtree(ws);
}

static void test_open_errors(void **state)
{
	(void)state;
	const char *ws = tu_tmpdir();
	catalog *c;
	seg_error err;
	char missing[1100];
	snprintf(missing, sizeof missing, "%s/nowhere", ws);
	assert_int_equal(catalog_open(&c, missing, 0, &err), SEG_ENOTFOUND);
	assert_non_null(strstr(err.msg, "segue ingest"));
	/* A catalogue from a future schema version is refused. */
	assert_int_equal(catalog_open(&c, ws, 1, &err), 0);
	tu_sql_exec(catalog_db(c), "UPDATE meta SET value='99' WHERE key='schema_version'");
	catalog_close(c);
	assert_int_equal(catalog_open(&c, ws, 0, &err), SEG_EVERSION);
	assert_non_null(strstr(err.msg, "99"));
	/* A version 1 catalogue (genre labels without their playlists' split)
	 * is refused both ways, with what to do, and left as it was. */
	char path[1100];
	snprintf(path, sizeof path, "%s/catalog.db", ws);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	tu_sql_exec(db, "UPDATE meta SET value='1' WHERE key='schema_version'");
	sqlite3_close(db);
	assert_int_equal(catalog_open(&c, ws, 0, &err), SEG_EVERSION);
	assert_non_null(strstr(err.msg, "older segue"));
	assert_non_null(strstr(err.msg, "new workspace"));
	assert_int_equal(catalog_open(&c, ws, 1, &err), SEG_EVERSION);
	assert_non_null(strstr(err.msg, "older segue"));
	db = tu_open_ro(path);
	assert_int_equal(tu_sql_long(db, "SELECT value FROM meta WHERE key='schema_version'"), 1);
	sqlite3_close(db);
	tu_rmtree(ws);
}

static void test_workspace_resolution(void **state)
{
	(void)state;
	char buf[256];
	setenv("SEGUE_HOME", "/env/home", 1);
	assert_string_equal(catalog_workspace("given", buf, sizeof buf), "given");
	assert_string_equal(catalog_workspace(NULL, buf, sizeof buf), "/env/home");
	unsetenv("SEGUE_HOME");
	assert_string_equal(catalog_workspace(NULL, buf, sizeof buf), "./segue-data");
}

/* ---- a new catalogue (CATALOG_OPEN_LOAD) ---- */

/* Rows of three kinds: tracks no later row changes, and (per `change`) a
 * track whose name a later row fills (1) or which a later row gives one
 * more artist (2); a referenced track (no name, one artist) too. */
static void load_rows(catalog *c, int change)
{
	seg_error err;
	int64_t ing, id;
	int merged;
	assert_int_equal(catalog_ingest_start(c, "a.csv", "test", 0, &ing, &err), 0);
	track_rec t;
	for (int i = 0; i < 50; i++) {
		char sid[23], name[32], art[32];
		snprintf(sid, sizeof sid, "%022d", i);
		snprintf(name, sizeof name, "Song %d", i);
		snprintf(art, sizeof art, "Artist %d", i % 7);
		rec(&t, sid, 0.5);
		t.name = i == 7 ? NULL : name;
		t.artists[0] = art;
		t.artists[1] = "Guest";
		t.artists[2] = art; /* listed twice: kept once */
		t.nartists = i % 3;
		if (i == 9)
			t.nartists = 3;
		assert_int_equal(catalog_put_track(c, &t, ing, &merged, &id, &err), 0);
		/* the same row again: nothing new */
		assert_int_equal(catalog_put_track(c, &t, ing, &merged, &id, &err), 0);
	}
	assert_int_equal(catalog_ref_track(c, "ref0000000000000000000", NULL, "Ref Artist", ing, &id, &err), 0);
	rec(&t, "0000000000000000000007", 0.5);
	if (change == 1)
		t.name = "Found Later";
	if (change == 2) {
		t.artists[0] = "Late Artist";
		t.nartists = 1;
	}
	assert_int_equal(catalog_put_track(c, &t, ing, &merged, &id, &err), 0);
	catalog_counts n = {0};
	assert_int_equal(catalog_ingest_finish(c, ing, &n, 0, &err), 0);
}

/* One column of text of every row of `sql`. */
static char *rows_text(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *q;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
	size_t len = 0, cap = 4096;
	char *out = malloc(cap);
	assert_non_null(out);
	while (sqlite3_step(q) == SQLITE_ROW) {
		const char *v = (const char *)sqlite3_column_text(q, 0);
		size_t k = strlen(v ? v : "");
		while (len + k + 2 > cap)
			assert_non_null(out = realloc(out, cap *= 2));
		memcpy(out + len, v ? v : "", k);
		len += k;
		out[len++] = '\n';
	}
	out[len] = '\0';
	sqlite3_finalize(q);
	return out;
}

/* A catalogue built new (the unique index on spotify_id built at commit,
 * the search index beside the load, or at commit when a later row changed
 * a search row) is the one a plain write session makes of the same rows. */
static void test_load_same_as_session(void **state)
{
	(void)state;
	static const char *const SAME[] = {
		"SELECT sql FROM sqlite_schema WHERE sql NOT NULL AND name NOT LIKE 'sqlite_stat%' ORDER BY name",
		"SELECT name || ',' || \"unique\" || ',' || origin FROM pragma_index_list('tracks') ORDER BY name",
		"SELECT rowid || quote(name) || quote(artists) FROM track_search ORDER BY rowid",
		"SELECT id || spotify_id || quote(name) FROM tracks ORDER BY id",
		"SELECT track_id || ',' || artist_id || ',' || position FROM track_artists ORDER BY 1",
		"SELECT quote(block) FROM track_search_data ORDER BY id",
		"SELECT quote(sz) FROM track_search_docsize ORDER BY id",
		"SELECT count(*) FROM track_search WHERE track_search MATCH 'song'",
	};
	for (int change = 0; change <= 2; change++) {
		const char *ws_plain = tu_tmpdir(), *ws_load = tu_tmpdir();
		catalog *plain, *load;
		seg_error err;
		assert_int_equal(catalog_open(&plain, ws_plain, 1, &err), 0);
		assert_int_equal(catalog_begin(plain, &err), 0);
		load_rows(plain, change);
		assert_int_equal(catalog_commit(plain, &err), 0);
		assert_int_equal(catalog_open(&load, ws_load, CATALOG_OPEN_LOAD, &err), 0);
		assert_int_equal(catalog_begin(load, &err), 0);
		load_rows(load, change);
		assert_int_equal(catalog_commit(load, &err), 0);
		for (size_t i = 0; i < sizeof SAME / sizeof SAME[0]; i++) {
			char *a = rows_text(catalog_db(plain), SAME[i]), *b = rows_text(catalog_db(load), SAME[i]);
			if (strcmp(a, b) != 0) {
				/* the whole of both, where cmocka's message would cut them */
				fprintf(stderr, "# change %d: %s:\n%s\n# vs\n%s", change, SAME[i], a, b);
				fail_msg("change %d: %s differs", change, SAME[i]);
			}
			free(a);
			free(b);
		}
		sqlite3 *db = catalog_db(load);
		char buf[64];
		assert_string_equal(tu_sql_text(db, "PRAGMA integrity_check", buf, sizeof buf), "ok");
		assert_int_equal(sqlite3_exec(db, "INSERT INTO track_search(track_search) VALUES('integrity-check')",
		                              NULL, NULL, NULL),
		                 SQLITE_OK);
		/* the constraint holds in the catalogue renamed into place */
		assert_int_not_equal(sqlite3_exec(db, "INSERT INTO tracks(spotify_id) VALUES('0000000000000000000001')",
		                                  NULL, NULL, NULL),
		                     SQLITE_OK);
		assert_non_null(strstr(sqlite3_errmsg(db), "UNIQUE"));
		catalog_close(plain);
		catalog_close(load);
		tu_rmtree(ws_plain);
		tu_rmtree(ws_load);
	}
}

/* The same playlist on consecutive rows (as track tables name it): a
 * later row still fills what the first left NULL, and another playlist
 * in between is looked up again. */
static void test_playlist_consecutive_rows(void **state)
{
	(void)state;
	const char *ws = tu_tmpdir();
	int64_t ing, a1, a2, a3, b1, a4;
	int created;
	seg_error err;
	catalog *c = open_ingest(ws, "p.csv", &ing);
	assert_int_equal(catalog_put_playlist(c, "spotify_songs", "A", NULL, NULL, -1, 0, &a1, &created, &err), 0);
	assert_int_equal(created, 1);
	assert_int_equal(catalog_put_playlist(c, "spotify_songs", "A", NULL, NULL, -1, 0, &a2, &created, &err), 0);
	assert_int_equal(created, 0);
	assert_int_equal(catalog_put_playlist(c, "spotify_songs", "A", "Named", NULL, 7, 0, &a3, &created, &err), 0);
	assert_int_equal(catalog_put_playlist(c, "mpd", "A", "Other", NULL, -1, 0, &b1, &created, &err), 0);
	assert_int_equal(created, 1);
	assert_int_equal(catalog_put_playlist(c, "spotify_songs", "A", "Renamed", NULL, -1, 1, &a4, &created, &err), 0);
	assert_int_equal(created, 0);
	assert_true(a1 == a2 && a2 == a3 && a3 == a4 && b1 != a1);
	assert_int_equal(catalog_commit(c, &err), 0);
	sqlite3 *db = catalog_db(c);
	char buf[64];
	assert_string_equal(tu_sql_text(db,
	                                "SELECT name || ',' || num_followers || ',' || synthetic FROM playlists"
	                                " WHERE source = 'spotify_songs'",
	                                buf, sizeof buf),
	                    "Named,7,1");
	catalog_close(c);
	tu_rmtree(ws);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_merge_first_value_wins),
		cmocka_unit_test(test_merge_without_news_writes_nothing),
		cmocka_unit_test(test_origin),
		cmocka_unit_test(test_playlist_reference_then_features),
		cmocka_unit_test(test_rollback_and_reopen),
		cmocka_unit_test(test_playlist_add_linear),
		cmocka_unit_test(test_playlist_put_by_position_batched),
		cmocka_unit_test(test_playlist_add_after_commit),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_workspace_resolution),
		cmocka_unit_test(test_load_same_as_session),
		cmocka_unit_test(test_playlist_consecutive_rows),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
