/* test_snapshot.c: the feature snapshot round-trips through a catalogue and is
 * refused, with the right code, when its magic, version, size or checksum is
 * wrong. */
#include "testutil.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog/snapshot.h"

static sqlite3 *make_db(const char *dir)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/c.db", dir);
	return tu_catalog_db(
		path, "INSERT INTO tracks(id,spotify_id,danceability,energy,key,loudness,mode,speechiness,"
		      "acousticness,instrumentalness,liveness,valence,tempo,time_signature,duration_ms,"
		      "popularity,year,has_features) VALUES"
		      "(7,'AAAAAAAAAAAAAAAAAAAAAA',0.5,0.25,3,-6.5,1,0.1,0.2,0.3,0.4,0.6,120,4,200000,55,1999,1),"
		      "(9,'BBBBBBBBBBBBBBBBBBBBBB',0.125,1,11,-60,0,0,1,0,1,0,NULL,NULL,NULL,NULL,NULL,1),"
		      "(8,'CCCCCCCCCCCCCCCCCCCCCC',NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,"
		      "NULL,NULL,NULL,NULL,0);");
}

static void write_snapshot(const char *dir, char *snap, size_t cap)
{
	sqlite3 *db = make_db(dir);
	snprintf(snap, cap, "%s/f.snap", dir);
	uint64_t rows = 0;
	seg_error err;
	assert_int_equal(snapshot_write(db, snap, &rows, &err), 0);
	assert_int_equal(rows, 2);
	sqlite3_close(db);
}

static void test_roundtrip(void **state)
{
	(void)state;
	const char *dir = tu_tmpdir();
	char snap[PATH_MAX];
	write_snapshot(dir, snap, sizeof snap);
	snapshot *s;
	seg_error err;
	assert_int_equal(snapshot_open(&s, snap, &err), 0);
	assert_int_equal(snapshot_rows(s), 2); /* the track without features is not in it */
	assert_int_equal(snapshot_cols(s), SNAP__COLS);
	const int64_t *ids = snapshot_track_ids(s);
	assert_int_equal(ids[0], 7); /* ordered by track id */
	assert_int_equal(ids[1], 9);
	assert_string_equal(snapshot_spotify_id(s, 1), "BBBBBBBBBBBBBBBBBBBBBB");
	const float *x = snapshot_matrix(s);
	assert_float_equal(x[SNAP_DANCEABILITY], 0.5f, 0);
	assert_float_equal(x[SNAP_LOUDNESS], -6.5f, 0);
	assert_float_equal(x[SNAP_TEMPO], 120.0f, 0);
	assert_float_equal(x[SNAP_YEAR], 1999.0f, 0);
	assert_float_equal(x[SNAP__COLS + SNAP_KEY], 11.0f, 0);
	assert_true(isnan(x[SNAP__COLS + SNAP_TEMPO])); /* NULL -> NaN */
	assert_true(isnan(x[SNAP__COLS + SNAP_POPULARITY]));
	/* stamped with the catalogue it was made from */
	const catalog_origin *o = snapshot_origin(s);
	assert_int_equal(o->stamp[2], 3); /* tracks, with features or not */
	assert_int_equal(o->stamp[3], 9); /* largest track id */
	assert_string_equal(o->code, SEGUE_VERSION);
	snapshot_close(s);
	snapshot_close(NULL);
	tu_rmtree(dir);
}

/* Flips one byte at `off` (from the end when negative) and expects `code`. */
static void expect_refused(long off, unsigned char value, int code, const char *needle)
{
	const char *dir = tu_tmpdir();
	char snap[PATH_MAX];
	write_snapshot(dir, snap, sizeof snap);
	tu_put_byte(snap, off, value);
	snapshot *s = (snapshot *)1;
	seg_error err = {0};
	assert_int_equal(snapshot_open(&s, snap, &err), code);
	assert_null(s);
	assert_non_null(strstr(err.msg, needle));
	tu_rmtree(dir);
}

static void test_bad_magic(void **state)
{
	(void)state;
	expect_refused(0, 'X', SEG_EFORMAT, "bad magic");
}

static void test_bad_version(void **state)
{
	(void)state;
	expect_refused(8, 99, SEG_EVERSION, "version 99");
}

static void test_bad_checksum(void **state)
{
	(void)state;
	expect_refused(-3, 0x7F, SEG_ECHECKSUM, "checksum");
}

/* A file of segue 0.1.0's own header format is refused by its version. */
static void test_version_1_refused(void **state)
{
	(void)state;
	const char *dir = tu_tmpdir();
	char snap[PATH_MAX];
	snprintf(snap, sizeof snap, "%s/f.snap", dir);
	unsigned char v1[128] = "SEGSNAP";
	v1[8] = 1;
	FILE *f = fopen(snap, "wb");
	assert_int_equal(fwrite(v1, 1, sizeof v1, f), sizeof v1);
	fclose(f);
	snapshot *s = (snapshot *)1;
	seg_error err = {0};
	assert_int_equal(snapshot_open(&s, snap, &err), SEG_EVERSION);
	assert_null(s);
	assert_non_null(strstr(err.msg, "version 1"));
	tu_rmtree(dir);
}

/* The temporary file is the writer's own: a leftover at the fixed name
 * segue 0.1.0 used (here a directory, which no fopen could replace) does not
 * stop it, and nothing is left beside the snapshot. */
static void test_own_temporary(void **state)
{
	(void)state;
	const char *dir = tu_tmpdir();
	char snap[PATH_MAX], tmp[PATH_MAX + 8], cmd[PATH_MAX + 64], *out = NULL;
	snprintf(snap, sizeof snap, "%s/f.snap", dir);
	snprintf(tmp, sizeof tmp, "%s.tmp", snap);
	assert_int_equal(mkdir(tmp, 0777), 0);
	write_snapshot(dir, snap, sizeof snap);
	rmdir(tmp);
	snprintf(cmd, sizeof cmd, "ls '%s' | grep -c tmp", dir);
	tu_run(cmd, &out);
	assert_non_null(out);
	assert_int_equal(atoi(out), 0);
	free(out);
	tu_rmtree(dir);
}

static void test_truncated(void **state)
{
	(void)state;
	const char *dir = tu_tmpdir();
	char snap[PATH_MAX];
	write_snapshot(dir, snap, sizeof snap);
	assert_int_equal(truncate(snap, 100), 0);
	snapshot *s;
	seg_error err;
	assert_int_equal(snapshot_open(&s, snap, &err), SEG_EFORMAT);
	assert_int_equal(truncate(snap, 10), 0);
	assert_int_equal(snapshot_open(&s, snap, &err), SEG_EFORMAT);
	assert_non_null(strstr(err.msg, "too short"));
	unlink(snap);
	assert_int_equal(snapshot_open(&s, snap, &err), SEG_ENOTFOUND);
	tu_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),     cmocka_unit_test(test_bad_magic),
		cmocka_unit_test(test_bad_version),   cmocka_unit_test(test_bad_checksum),
		cmocka_unit_test(test_truncated),     cmocka_unit_test(test_version_1_refused),
		cmocka_unit_test(test_own_temporary),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
