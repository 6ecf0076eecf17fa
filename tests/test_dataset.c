/* test_dataset.c: what dataset_load hands training and evaluation, checked
 * against the catalogue it came from (each array recomputed with SQL): content
 * rows and track ids map both ways, main artists, the genre vocabulary by
 * track count and each row's genres, the playlists in order, the held-out
 * split decided by each playlist's identity alone, and track popularity
 * counted over training playlists only. Also its errors, the split's rate,
 * and a snapshot made from another state of the catalogue refused. */
#include "testutil.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "catalog/catalog.h"
#include "catalog/workspace.h"
#include "core/error.h"
#include "engine/dataset.h"

static char ws[PATH_MAX];
static const char *dir;
static dataset *ds;
static sqlite3 *db;

/* A small generated catalogue, plus one track without audio features that
 * only a playlist holds (as the MPD files give). */
static int setup(void **state)
{
	(void)state;
	dir = tu_tmpdir();
	snprintf(ws, sizeof ws, "%s/ws", dir);
	if (tu_build_workspace(dir, ws, 400, 120, 11, NULL) < 0)
		return -1;
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/catalog.db", ws);
	if (sqlite3_open(path, &db) != SQLITE_OK)
		return -1;
	tu_sql_exec(db, "INSERT INTO tracks(id, spotify_id, name, has_features)"
	                " VALUES((SELECT max(id) + 1 FROM tracks), 'zzzzzzzzzzzzzzzzzzzzzz', 'no features', 0);"
	                "INSERT INTO playlist_tracks(playlist_id, pos, track_id)"
	                " SELECT id, 1000, (SELECT max(id) FROM tracks) FROM playlists"
	                " WHERE id IN (SELECT playlist_id FROM playlist_tracks) ORDER BY id LIMIT 12;");
	/* the catalogue changed: its snapshot is made again, or is stale */
	seg_error err = {0};
	if (workspace_features_write(ws, db, NULL, &err) < 0 || dataset_load(&ds, ws, &err) < 0) {
		fprintf(stderr, "dataset_load: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	dataset_free(ds);
	sqlite3_close(db);
	tu_rmtree(dir);
	return 0;
}

static void test_tracks(void **state)
{
	(void)state;
	assert_int_equal(ds->N, tu_sql_long(db, "SELECT count(*) FROM tracks WHERE has_features = 1"));
	assert_int_equal(ds->T, tu_sql_long(db, "SELECT max(id) + 1 FROM tracks"));
	assert_string_equal(ds->workspace, ws);
	/* Content rows and track ids map both ways; other ids map to -1. */
	long with = 0;
	for (size_t i = 0; i < ds->N; i++) {
		int64_t t = ds->row_track[i];
		assert_true(t > 0 && t < ds->T);
		assert_int_equal(ds->track_row[t], (int32_t)i);
	}
	for (int64_t t = 0; t < ds->T; t++)
		with += ds->track_row[t] >= 0;
	assert_int_equal(with, (long)ds->N);
	assert_int_equal(ds->track_row[0], -1);
	assert_int_equal(ds->track_row[ds->T - 1], -1); /* the playlist-only track */
	/* The main artist is the one at position 0. */
	sqlite3_stmt *q;
	assert_int_equal(sqlite3_prepare_v2(db,
	                                    "SELECT t.id, coalesce(ta.artist_id, -1) FROM tracks t"
	                                    " LEFT JOIN track_artists ta ON ta.track_id = t.id AND ta.position = 0",
	                                    -1, &q, NULL),
	                 SQLITE_OK);
	long n = 0;
	while (sqlite3_step(q) == SQLITE_ROW) {
		int64_t t = sqlite3_column_int64(q, 0);
		assert_int_equal(ds->track_artist[t], sqlite3_column_int64(q, 1));
		n++;
	}
	sqlite3_finalize(q);
	assert_int_equal(n, ds->T - 1);
	assert_int_equal(ds->track_artist[ds->T - 1], -1);
}

static void test_genres(void **state)
{
	(void)state;
	/* The vocabulary: genres that have tracks, most tracks first, then by name. */
	sqlite3_stmt *q;
	assert_int_equal(sqlite3_prepare_v2(db,
	                                    "SELECT g.name FROM genres g JOIN track_genres tg ON tg.genre_id = g.id"
	                                    " GROUP BY g.id ORDER BY count(*) DESC, g.name",
	                                    -1, &q, NULL),
	                 SQLITE_OK);
	size_t g = 0;
	while (sqlite3_step(q) == SQLITE_ROW) {
		assert_true(g < ds->G);
		assert_string_equal(ds->genre_names[g], (const char *)sqlite3_column_text(q, 0));
		g++;
	}
	sqlite3_finalize(q);
	assert_int_equal(g, ds->G);
	assert_true(ds->G > 1);
	/* Each content row lists its track's genres (as vocabulary indices). */
	assert_int_equal(ds->genre_ptr[0], 0);
	char sql[256];
	for (size_t i = 0; i < ds->N; i++) {
		assert_true(ds->genre_ptr[i] <= ds->genre_ptr[i + 1]);
		snprintf(sql, sizeof sql, "SELECT count(*) FROM track_genres WHERE track_id = %lld",
		         (long long)ds->row_track[i]);
		assert_int_equal(ds->genre_ptr[i + 1] - ds->genre_ptr[i], tu_sql_long(db, sql));
		for (uint32_t k = ds->genre_ptr[i]; k < ds->genre_ptr[i + 1]; k++) {
			int32_t v = ds->genre_idx[k];
			assert_true(v >= 0 && (size_t)v < ds->G);
			snprintf(sql, sizeof sql,
			         "SELECT count(*) FROM track_genres tg JOIN genres g ON g.id = tg.genre_id"
			         " WHERE tg.track_id = %lld AND g.name = '%s'",
			         (long long)ds->row_track[i], ds->genre_names[v]);
			assert_int_equal(tu_sql_long(db, sql), 1);
		}
	}
	assert_int_equal(ds->genre_ptr[ds->N],
	                 tu_sql_long(db, "SELECT count(*) FROM track_genres tg JOIN tracks t ON t.id = tg.track_id"
	                                 " WHERE t.has_features = 1"));
}

static void test_playlists(void **state)
{
	(void)state;
	assert_int_equal(ds->P, tu_sql_long(db, "SELECT count(DISTINCT playlist_id) FROM playlist_tracks"));
	assert_int_equal(ds->pl_ptr[0], 0);
	assert_int_equal(ds->pl_ptr[ds->P], tu_sql_long(db, "SELECT count(*) FROM playlist_tracks"));
	/* In playlist order, tracks in position order; the split from the
	 * playlist's source and external id alone. */
	sqlite3_stmt *q;
	assert_int_equal(sqlite3_prepare_v2(db,
	                                    "SELECT p.id, p.source, p.external_id, pt.track_id, p.name FROM playlists p"
	                                    " JOIN playlist_tracks pt ON pt.playlist_id = p.id ORDER BY p.id, pt.pos",
	                                    -1, &q, NULL),
	                 SQLITE_OK);
	size_t p = (size_t)-1, e = 0, tests = 0, valids = 0;
	int64_t cur = -1;
	while (sqlite3_step(q) == SQLITE_ROW) {
		int64_t pid = sqlite3_column_int64(q, 0);
		if (pid != cur) {
			p++;
			cur = pid;
			assert_true(p < ds->P);
			assert_int_equal(ds->pl_id[p], pid);
			assert_int_equal(ds->pl_ptr[p], e);
			int want = catalog_playlist_split((const char *)sqlite3_column_text(q, 1),
			                                  (const char *)sqlite3_column_text(q, 2));
			assert_int_equal(ds->pl_split[p], want);
			/* Its source and title, as the catalogue has them. */
			assert_true(ds->pl_source[p] < ds->n_sources);
			assert_string_equal(ds->source_names[ds->pl_source[p]],
			                    (const char *)sqlite3_column_text(q, 1));
			const char *title = (const char *)sqlite3_column_text(q, 4);
			if (title == NULL)
				assert_null(ds->pl_name[p]);
			else
				assert_string_equal(ds->pl_name[p], title);
			tests += want == CATALOG_SPLIT_TEST;
			valids += want == CATALOG_SPLIT_VALID;
		}
		assert_int_equal(ds->pl_tracks[e], sqlite3_column_int64(q, 3));
		e++;
	}
	sqlite3_finalize(q);
	assert_int_equal(p + 1, ds->P);
	assert_int_equal(ds->P_test, tests);
	assert_true(ds->P_test > 0 && ds->P_test < ds->P);
	assert_int_equal(ds->P_valid, valids);
	assert_true(ds->P_valid > 0 && ds->P_valid < ds->P);

	/* Popularity: the train-split playlists that hold each track. */
	uint32_t *pop = calloc((size_t)ds->T, sizeof(uint32_t));
	assert_non_null(pop);
	for (size_t k = 0; k < ds->P; k++)
		if (ds->pl_split[k] == CATALOG_SPLIT_TRAIN)
			for (uint32_t j = ds->pl_ptr[k]; j < ds->pl_ptr[k + 1]; j++)
				pop[ds->pl_tracks[j]]++;
	assert_memory_equal(pop, ds->track_pop, sizeof(uint32_t) * (size_t)ds->T);
	/* The playlist-only track is in 12 playlists, and counted in the
	 * train-split ones among them. */
	uint32_t held = 0;
	for (size_t k = 0; k < 12; k++)
		held += ds->pl_split[k] != CATALOG_SPLIT_TRAIN;
	assert_int_equal(ds->track_pop[ds->T - 1], 12 - held);
	free(pop);
}

/* One playlist in CATALOG_SPLIT_MODULUS is test, one validation, by its
 * identity: deterministic, and the same external id from another source is
 * another playlist. */
static void test_split_rate(void **state)
{
	(void)state;
	char id[32];
	int held = 0, valid = 0, differ = 0;
	for (int i = 0; i < 20000; i++) {
		snprintf(id, sizeof id, "%d", i);
		enum catalog_split a = catalog_playlist_split("mpd", id);
		assert_true(a == CATALOG_SPLIT_TRAIN || a == CATALOG_SPLIT_VALID || a == CATALOG_SPLIT_TEST);
		assert_int_equal(a, catalog_playlist_split("mpd", id));
		held += a == CATALOG_SPLIT_TEST;
		valid += a == CATALOG_SPLIT_VALID;
		differ += a != catalog_playlist_split("spotify_songs", id);
	}
	/* 2000 of each expected; 5 standard deviations is about 212. */
	assert_in_range(held, 20000 / CATALOG_SPLIT_MODULUS - 212, 20000 / CATALOG_SPLIT_MODULUS + 212);
	assert_in_range(valid, 20000 / CATALOG_SPLIT_MODULUS - 212, 20000 / CATALOG_SPLIT_MODULUS + 212);
	assert_true(differ > 1000);
}

static void test_errors(void **state)
{
	(void)state;
	dataset_free(NULL);
	seg_error err = {0};
	dataset *d = (dataset *)&err; /* overwritten with NULL */
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/nowhere", dir);
	assert_true(dataset_load(&d, path, &err) < 0);
	assert_null(d);
	assert_true(err.msg[0] != '\0');
	/* A catalogue without its snapshot. */
	char ws2[PATH_MAX + 32], snap[PATH_MAX + 64], from[PATH_MAX + 64];
	snprintf(ws2, sizeof ws2, "%s/ws2", dir);
	assert_int_equal(mkdir(ws2, 0777), 0);
	snprintf(from, sizeof from, "%s/catalog.db", ws);
	snprintf(snap, sizeof snap, "%s/catalog.db", ws2);
	size_t len = 0;
	char *bytes = tu_read(from, &len);
	assert_non_null(bytes);
	FILE *f = fopen(snap, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(bytes, 1, len, f), len);
	fclose(f);
	free(bytes);
	d = (dataset *)&err;
	memset(&err, 0, sizeof err);
	assert_true(dataset_load(&d, ws2, &err) < 0);
	assert_null(d);
	assert_non_null(strstr(err.msg, CATALOG_SNAPSHOT_NAME));
}

/* A snapshot made from an older state of the catalogue (an ingest killed
 * between its commit and its snapshot) is refused, naming the command that
 * rebuilds it; rebuilt, it loads again. */
static void test_stale_snapshot_refused(void **state)
{
	(void)state;
	tu_sql_exec(db, "INSERT INTO ingests(file, variant, started_at) VALUES('late.csv', 'x', '2026-01-01')");
	seg_error err = {0};
	dataset *d = (dataset *)&err; /* overwritten with NULL */
	assert_int_equal(dataset_load(&d, ws, &err), SEG_ESTALE);
	assert_null(d);
	assert_int_equal(err.code, SEG_ESTALE);
	assert_non_null(strstr(err.msg, "older than the catalogue"));
	assert_non_null(strstr(err.msg, "segue ingest --refresh"));
	/* another catalogue altogether */
	assert_int_equal(workspace_features_write(ws, db, NULL, &err), 0);
	tu_sql_exec(db, "UPDATE meta SET value = '12345' WHERE key = 'catalogue_id'");
	assert_int_equal(dataset_load(&d, ws, &err), SEG_ESTALE);
	assert_non_null(strstr(err.msg, "another catalogue"));
	assert_int_equal(workspace_features_write(ws, db, NULL, &err), 0);
	assert_int_equal(dataset_load(&d, ws, &err), 0);
	assert_int_equal(d->N, ds->N);
	dataset_free(d);
}

int main(void)
{
	/* clang-format off */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tracks),
		cmocka_unit_test(test_genres),
		cmocka_unit_test(test_playlists),
		cmocka_unit_test(test_split_rate),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_stale_snapshot_refused),
	};
	/* clang-format on */
	return cmocka_run_group_tests(tests, setup, teardown);
}
