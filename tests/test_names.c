/* test_names.c: the names file gives, for every track id and Spotify id, what
 * the SQL lookups give; it knows when the catalogue has moved on; a damaged
 * or foreign file is refused. */
#include "testutil.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "catalog/lookup.h"
#include "core/container.h"
#include "catalog/names.h"

/* Gaps in the ids (4 and 6 absent), a track without features, NULL name and
 * popularity, several artists credited out of their id order, genres
 * inserted out of id order, a name longer than lookup_hit keeps, bytes that
 * are not ASCII, and a track with neither artists nor genres. */
static sqlite3 *make_db(const char *dir)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/c.db", dir);
	static char rows[4096];
	char longname[301];
	memset(longname, 'x', 300);
	longname[300] = '\0';
	snprintf(rows, sizeof rows,
	         "INSERT INTO ingests(id,file,variant,started_at) VALUES(1,'a.csv','spotify_songs','2026-01-01');"
	         "INSERT INTO tracks(id,spotify_id,name,popularity,has_features) VALUES"
	         "(1,'ZZZZZZZZZZZZZZZZZZZZZZ','Zebra',0,1),"
	         "(2,'AAAAAAAAAAAAAAAAAAAAAA','Caf\xc3\xa9 del Mar',100,1),"
	         "(3,'MMMMMMMMMMMMMMMMMMMMMM',NULL,NULL,0),"
	         "(5,'BBBBBBBBBBBBBBBBBBBBBB','%s',55,1),"
	         "(7,'aaaaaaaaaaaaaaaaaaaaaa','lower',12,1);"
	         "INSERT INTO artists(id,name) VALUES(1,'Second'),(2,'First'),(3,'Solo');"
	         "INSERT INTO track_artists(track_id,artist_id,position) VALUES"
	         "(2,1,1),(2,2,0),(5,3,0),(7,2,0),(7,3,2),(7,1,1);"
	         "INSERT INTO genres(id,name) VALUES(3,'pop'),(1,'rock'),(2,'dance pop');"
	         "INSERT INTO track_genres(track_id,genre_id) VALUES(2,3),(2,1),(5,2),(7,3),(7,2),(7,1);",
	         longname);
	return tu_catalog_db(path, rows);
}

static names *write_and_open(sqlite3 *db, const char *dir, char *path, size_t cap)
{
	snprintf(path, cap, "%s/%s", dir, NAMES_FILE_NAME);
	uint64_t n = 0;
	seg_error err = {0};
	int rc = names_write(db, path, &n, &err);
	if (rc != 0)
		fprintf(stderr, "names_write: %s\n", err.msg);
	assert_int_equal(rc, 0);
	assert_int_equal(n, 5);
	names *nm = NULL;
	assert_int_equal(names_open(&nm, path, &err), 0);
	assert_non_null(nm);
	return nm;
}

static void test_same_as_sql(void **state)
{
	(void)state;
	const char *dir = tu_tmpdir();
	sqlite3 *db = make_db(dir);
	char path[PATH_MAX];
	names *nm = write_and_open(db, dir, path, sizeof path);
	assert_int_equal(names_count(nm), 5);
	seg_error err = {0};
	assert_int_equal(names_current(nm, db, &err), 1);
	int found = 0;
	for (int64_t t = -1; t <= 9; t++) {
		lookup_hit a, b;
		memset(&b, 0x5a, sizeof b);
		int rc = lookup_track(db, t, &a, NULL);
		int got = names_get(nm, t, &b);
		assert_int_equal(got, rc == 0);
		if (!got)
			continue;
		found++;
		assert_int_equal(b.track, a.track);
		assert_string_equal(b.spotify_id, a.spotify_id);
		assert_string_equal(b.name, a.name);
		assert_string_equal(b.artists, a.artists);
		assert_string_equal(b.genres, a.genres);
		assert_int_equal(b.popularity, a.popularity);
		assert_int_equal(b.has_features, a.has_features);
		int64_t back = 0;
		assert_int_equal(names_find(nm, b.spotify_id, &back), 1);
		assert_int_equal(back, t);
	}
	assert_int_equal(found, 5);
	/* The fields themselves, not only their agreement with SQL. */
	lookup_hit h;
	assert_int_equal(names_get(nm, 7, &h), 1);
	assert_string_equal(h.artists, "First, Second, Solo"); /* credit order */
	assert_string_equal(h.genres, "rock, dance pop, pop"); /* genre id order */
	assert_int_equal(h.popularity, 12);
	assert_int_equal(names_get(nm, 3, &h), 1);
	assert_string_equal(h.name, "");
	assert_string_equal(h.artists, "");
	assert_int_equal(h.popularity, -1);
	assert_int_equal(h.has_features, 0);
	assert_int_equal(names_get(nm, 1, &h), 1);
	assert_int_equal(h.popularity, 0);
	assert_int_equal(names_get(nm, 5, &h), 1);
	assert_int_equal(strlen(h.name), sizeof h.name - 1); /* cut like snprintf */
	/* Ids that are not there: absent, a prefix, another case, empty. */
	int64_t t = 0;
	assert_int_equal(names_find(nm, "CCCCCCCCCCCCCCCCCCCCCC", &t), 0);
	assert_int_equal(names_find(nm, "AAAAAAAAAAAAAAAAAAAAA", &t), 0);
	assert_int_equal(names_find(nm, "zzzzzzzzzzzzzzzzzzzzzz", &t), 0);
	assert_int_equal(names_find(nm, "", &t), 0);
	assert_int_equal(names_find(nm, "aaaaaaaaaaaaaaaaaaaaaa", &t), 1);
	assert_int_equal(t, 7);
	names_close(nm);
	names_close(NULL);
	lookup_forget(db);
	sqlite3_close(db);
	tu_rmtree(dir);
}

/* A later ingest, a new track or a removed one makes the file out of date. */
static void test_current(void **state)
{
	(void)state;
	const char *dir = tu_tmpdir();
	sqlite3 *db = make_db(dir);
	char path[PATH_MAX];
	names *nm = write_and_open(db, dir, path, sizeof path);
	seg_error err = {0};
	/* the origin: the same state as names_current compares, and this segue */
	const catalog_origin *o = names_origin(nm);
	assert_non_null(o);
	int64_t stamp[CATALOG_STAMP];
	assert_int_equal(catalog_stamp(db, stamp, &err), 0);
	assert_memory_equal(o->stamp, stamp, sizeof stamp);
	assert_string_equal(o->code, SEGUE_VERSION);
	tu_sql_exec(db, "INSERT INTO ingests(id,file,variant,started_at) VALUES(2,'b.csv','x','2026-01-02')");
	assert_int_equal(names_current(nm, db, &err), 0);
	names_close(nm);
	nm = write_and_open(db, dir, path, sizeof path);
	assert_int_equal(names_current(nm, db, &err), 1);
	tu_sql_exec(db, "INSERT INTO tracks(id,spotify_id,name) VALUES(4,'QQQQQQQQQQQQQQQQQQQQQQ','new')");
	assert_int_equal(names_current(nm, db, &err), 0);
	tu_sql_exec(db, "DELETE FROM tracks WHERE id = 4");
	assert_int_equal(names_current(nm, db, &err), 1);
	tu_sql_exec(db, "DELETE FROM tracks WHERE id = 7");
	assert_int_equal(names_current(nm, db, &err), 0);
	/* A catalogue made again from scratch to the same shape has another id. */
	tu_sql_exec(db, "INSERT INTO tracks(id,spotify_id,name) VALUES(7,'aaaaaaaaaaaaaaaaaaaaaa','lower')");
	names_close(nm);
	nm = write_and_open(db, dir, path, sizeof path);
	assert_int_equal(names_current(nm, db, &err), 1);
	tu_sql_exec(db, "INSERT INTO meta VALUES('catalogue_id', '12345')");
	assert_int_equal(names_current(nm, db, &err), 0);
	names_close(nm);
	sqlite3_close(db);
	tu_rmtree(dir);
}

static void test_empty_catalogue(void **state)
{
	(void)state;
	const char *dir = tu_tmpdir();
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/c.db", dir);
	sqlite3 *db = tu_catalog_db(path, NULL);
	snprintf(path, sizeof path, "%s/%s", dir, NAMES_FILE_NAME);
	seg_error err = {0};
	uint64_t n = 9;
	assert_int_equal(names_write(db, path, &n, &err), 0);
	assert_int_equal(n, 0);
	names *nm = NULL;
	assert_int_equal(names_open(&nm, path, &err), 0);
	lookup_hit h;
	int64_t t;
	assert_int_equal(names_get(nm, 1, &h), 0);
	assert_int_equal(names_find(nm, "AAAAAAAAAAAAAAAAAAAAAA", &t), 0);
	assert_int_equal(names_current(nm, db, &err), 1);
	names_close(nm);
	sqlite3_close(db);
	tu_rmtree(dir);
}

/* Long genre lists: 187 characters (longer than the 95 once kept) come
 * back whole; 418 are cut after the last whole genre that fits, with how
 * many more there are; the names file and SQL agree on both. */
static void test_long_genres(void **state)
{
	(void)state;
	const char *dir = tu_tmpdir();
	sqlite3 *db = make_db(dir);
	tu_sql_exec(
		db,
		"WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 20)"
		" INSERT INTO genres(id, name) SELECT 100 + i, printf('longgenrename%06d', i) FROM c;"
		"INSERT INTO track_genres(track_id, genre_id) SELECT 1, id FROM genres WHERE id BETWEEN 101 AND 109;"
		"INSERT INTO track_genres(track_id, genre_id) SELECT 5, id FROM genres WHERE id > 100;");
	char path[PATH_MAX];
	names *nm = write_and_open(db, dir, path, sizeof path);
	char whole[512] = "", cut[512] = "";
	for (int i = 1; i <= 9; i++)
		snprintf(whole + strlen(whole), sizeof whole - strlen(whole), "%slonggenrename%06d", i > 1 ? ", " : "",
		         i);
	/* track 5 also has "dance pop" (id 2) first: 9 + 11 * 19 + 11 * 2 + 13 =
	 * 253 bytes with the ending, a 12th genre would not fit in 255. */
	strcpy(cut, "dance pop");
	for (int i = 1; i <= 11; i++)
		snprintf(cut + strlen(cut), sizeof cut - strlen(cut), ", longgenrename%06d", i);
	strcat(cut, ", \xe2\x80\xa6 +9 more");
	lookup_hit a, b;
	assert_int_equal(lookup_track(db, 1, &a, NULL), 0);
	assert_int_equal(names_get(nm, 1, &b), 1);
	assert_int_equal(strlen(whole), 187);
	assert_string_equal(a.genres, whole);
	assert_string_equal(b.genres, whole);
	assert_int_equal(lookup_track(db, 5, &a, NULL), 0);
	assert_int_equal(names_get(nm, 5, &b), 1);
	assert_string_equal(a.genres, cut);
	assert_string_equal(b.genres, cut);
	/* The cut itself: a first genre too long for any ending, and a list that fits exactly. */
	char small[16];
	lookup_genres_fit(small, sizeof small, "abcdefghijklmnopq, b", 20);
	assert_string_equal(small, "2 genres");
	lookup_genres_fit(small, sizeof small, "abcdefghijklmno", 15);
	assert_string_equal(small, "abcdefghijklmno");
	lookup_genres_fit(small, sizeof small, "a, b, c, d, e, f", 16);
	assert_string_equal(small, "a, \xe2\x80\xa6 +5 more");
	names_close(nm);
	lookup_forget(db);
	sqlite3_close(db);
	tu_rmtree(dir);
}

static void test_refused(void **state)
{
	(void)state;
	const char *dir = tu_tmpdir();
	sqlite3 *db = make_db(dir);
	char path[PATH_MAX];
	names_close(write_and_open(db, dir, path, sizeof path));
	/* A byte of the text changed: the container's checksum. */
	tu_put_byte(path, -3, 'q');
	names *nm = (names *)1;
	seg_error err = {0};
	assert_int_equal(names_open(&nm, path, &err), SEG_ECHECKSUM);
	assert_null(nm);
	/* A sound container that is not a names file. */
	container_writer *w = container_writer_create();
	assert_int_equal(container_writer_add(w, "weights", "abcd", 4, &err), 0);
	assert_int_equal(container_writer_save(w, path, &err), 0);
	container_writer_free(w);
	assert_int_equal(names_open(&nm, path, &err), SEG_EFORMAT);
	assert_null(nm);
	assert_non_null(strstr(err.msg, "not a segue names file"));
	/* Sections of the wrong sizes, and a format version 1 file (its stamp
	 * had no version: three numbers). */
	for (int v = 1; v <= 2; v++) {
		int64_t stamp[5] = {NAMES_VERSION, 0, 1, 5, 7};
		uint64_t off[3] = {0};
		w = container_writer_create();
		assert_int_equal(container_writer_add(w, "names.stamp", v == 1 ? stamp + 2 : stamp,
		                                      v == 1 ? 3 * sizeof(int64_t) : sizeof stamp, &err),
		                 0);
		assert_int_equal(container_writer_add(w, "names.offset", off, sizeof off, &err), 0);
		assert_int_equal(container_writer_add(w, "names.by_sid", off, sizeof off, &err), 0);
		assert_int_equal(container_writer_add(w, "names.text", "", 1, &err), 0);
		assert_int_equal(container_writer_save(w, path, &err), 0);
		container_writer_free(w);
		assert_int_equal(names_open(&nm, path, &err), v == 1 ? SEG_EVERSION : SEG_EFORMAT);
		assert_null(nm);
		if (v == 1)
			assert_non_null(strstr(err.msg, "names format version 1"));
	}
	/* Sound sizes, but a record offset at the very end of the range: no
	 * read outside the text. */
	{
		int64_t stamp[5] = {NAMES_VERSION, 0, 1, 1, 1};
		uint64_t off[2] = {0, UINT64_MAX - 1};
		struct {
			char sid[24];
			int64_t track;
		} sid = {"AAAAAAAAAAAAAAAAAAAAAA", 1};
		w = container_writer_create();
		assert_int_equal(container_writer_add(w, "names.stamp", stamp, sizeof stamp, &err), 0);
		assert_int_equal(container_writer_add(w, "names.offset", off, sizeof off, &err), 0);
		assert_int_equal(container_writer_add(w, "names.by_sid", &sid, sizeof sid, &err), 0);
		assert_int_equal(container_writer_add(w, "names.text", "\0\0\0", 4, &err), 0);
		assert_int_equal(container_writer_save(w, path, &err), 0);
		container_writer_free(w);
		assert_int_equal(names_open(&nm, path, &err), 0);
		lookup_hit h;
		assert_int_equal(names_get(nm, 1, &h), 0);
		names_close(nm);
		nm = NULL;
	}
	/* Missing. */
	unlink(path);
	assert_int_equal(names_open(&nm, path, &err), SEG_ENOTFOUND);
	sqlite3_close(db);
	tu_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_as_sql),     cmocka_unit_test(test_current),
		cmocka_unit_test(test_empty_catalogue), cmocka_unit_test(test_long_genres),
		cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
