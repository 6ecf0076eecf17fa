/* test_search_load.c: a search index built beside the load is the one that
 * one INSERT ... SELECT in the catalogue builds: every FTS5 table holds the
 * same rows (compared as SQL dumps of each), for NULLs, a record larger than
 * a chunk and enough rows for FTS5 to flush and merge segments. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/search_load.h"

#define FTS_SQL \
	"CREATE VIRTUAL TABLE track_search USING fts5(\n  name, artists, tokenize = 'unicode61 remove_diacritics 2')"
#define ROWS 30000

static const char *const SHADOW[] = {"data", "idx", "content", "docsize", "config"};

/* The search row of track i: some without a name or artists, one very long. */
static void row_of(int i, char *name, size_t ncap, char *artists, size_t acap, char *big, const char **pn,
                   const char **pa)
{
	snprintf(name, ncap, "Song %d Ça%d", i, i % 97);
	snprintf(artists, acap, "Artist %d, Ñame %d", i % 500, i % 7);
	*pn = i % 11 == 3 ? NULL : name;
	*pa = i % 13 == 5 ? NULL : artists;
	if (i == 777)
		*pa = big;
}

/* A database with an empty track_search and the table of its rows, src. */
static sqlite3 *make_db(const char *path, const char *big)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
	                              FTS_SQL "; CREATE TABLE src(id INTEGER PRIMARY KEY, name TEXT, artists TEXT);"
	                                      " BEGIN",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	sqlite3_stmt *q;
	assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO src VALUES(?1, ?2, ?3)", -1, &q, NULL), SQLITE_OK);
	for (int i = 1; i <= ROWS; i++) {
		char name[64], artists[64];
		const char *pn, *pa;
		row_of(i, name, sizeof name, artists, sizeof artists, (char *)big, &pn, &pa);
		sqlite3_bind_int(q, 1, i);
		if (pn)
			sqlite3_bind_text(q, 2, pn, -1, SQLITE_TRANSIENT);
		else
			sqlite3_bind_null(q, 2);
		if (pa)
			sqlite3_bind_text(q, 3, pa, -1, SQLITE_TRANSIENT);
		else
			sqlite3_bind_null(q, 3);
		assert_int_equal(sqlite3_step(q), SQLITE_DONE);
		sqlite3_reset(q);
	}
	sqlite3_finalize(q);
	assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	return db;
}

/* A dump of every row of table `t`, as text. */
static char *dump(sqlite3 *db, const char *t)
{
	char sql[128];
	snprintf(sql, sizeof sql, "SELECT quote(%s) FROM track_search_%s ORDER BY 1",
	         strcmp(t, "data") == 0      ? "id) || quote(block"
	         : strcmp(t, "idx") == 0     ? "segid) || quote(term) || quote(pgno"
	         : strcmp(t, "content") == 0 ? "id) || quote(c0) || quote(c1"
	         : strcmp(t, "docsize") == 0 ? "id) || quote(sz"
	                                     : "k) || quote(v",
	         t);
	sqlite3_stmt *q;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
	size_t len = 0, cap = 1 << 16;
	char *out = malloc(cap);
	assert_non_null(out);
	while (sqlite3_step(q) == SQLITE_ROW) {
		const char *v = (const char *)sqlite3_column_text(q, 0);
		size_t n = strlen(v);
		while (len + n + 2 > cap)
			assert_non_null(out = realloc(out, cap *= 2));
		memcpy(out + len, v, n);
		len += n;
		out[len++] = '\n';
	}
	out[len] = '\0';
	sqlite3_finalize(q);
	return out;
}

static void test_same_index_as_insert_select(void **state)
{
	(void)state;
	const char *dir = tu_tmpdir();
	char ref_path[512], got_path[512];
	snprintf(ref_path, sizeof ref_path, "%s/ref.db", dir);
	snprintf(got_path, sizeof got_path, "%s/got.db", dir);
	size_t big_len = 300 * 1024; /* more than a chunk */
	char *big = malloc(big_len + 1);
	assert_non_null(big);
	for (size_t i = 0; i < big_len; i++)
		big[i] = i % 6 == 5 ? ' ' : (char)('a' + i % 23);
	big[big_len] = '\0';

	sqlite3 *ref = make_db(ref_path, big);
	assert_int_equal(sqlite3_exec(ref,
	                              "INSERT INTO track_search(rowid, name, artists)"
	                              " SELECT id, name, artists FROM src ORDER BY id",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	sqlite3 *got = make_db(got_path, big);

	search_load *s;
	seg_error err;
	assert_int_equal(search_load_start(&s, FTS_SQL, &err), 0);
	for (int i = 1; i <= ROWS; i++) {
		char name[64], artists[64];
		const char *pn, *pa;
		row_of(i, name, sizeof name, artists, sizeof artists, big, &pn, &pa);
		assert_int_equal(search_load_put(s, i, pn, pa, &err), 0);
	}
	/* the database is open on another connection, as the catalogue is */
	assert_int_equal(search_load_finish(s, got_path, &err), 0);
	search_load_free(s);

	for (size_t i = 0; i < sizeof SHADOW / sizeof SHADOW[0]; i++) {
		char *a = dump(ref, SHADOW[i]), *b = dump(got, SHADOW[i]);
		if (strcmp(a, b) != 0)
			fail_msg("track_search_%s differs", SHADOW[i]);
		free(a);
		free(b);
	}
	assert_int_equal(tu_sql_long(got, "SELECT count(*) FROM track_search WHERE track_search MATCH 'ça5'"),
	                 tu_sql_long(ref, "SELECT count(*) FROM track_search WHERE track_search MATCH 'ça5'"));
	assert_int_equal(
		sqlite3_exec(got, "INSERT INTO track_search(track_search) VALUES('integrity-check')", NULL, NULL, NULL),
		SQLITE_OK);
	sqlite3_close(ref);
	sqlite3_close(got);
	free(big);
	tu_rmtree(dir);
}

/* Freed before finishing, or with nothing handed: nothing is left running. */
static void test_free_unfinished(void **state)
{
	(void)state;
	search_load *s;
	seg_error err;
	assert_int_equal(search_load_start(&s, FTS_SQL, &err), 0);
	for (int i = 1; i <= 1000; i++)
		assert_int_equal(search_load_put(s, i, "x y", NULL, &err), 0);
	search_load_free(s);
	assert_int_equal(search_load_start(&s, FTS_SQL, &err), 0);
	search_load_free(s);
	search_load_free(NULL);
}

/* A definition SQLite refuses: the error comes back from finish. */
static void test_bad_definition(void **state)
{
	(void)state;
	search_load *s;
	seg_error err;
	assert_int_equal(search_load_start(&s, "CREATE VIRTUAL TABLE track_search USING nosuchmodule(a)", &err), 0);
	search_load_put(s, 1, "x", NULL, &err);
	assert_int_equal(search_load_finish(s, "/nonexistent/x.db", &err), SEG_EDB);
	assert_non_null(strstr(err.msg, "search index"));
	search_load_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_index_as_insert_select),
		cmocka_unit_test(test_free_unfinished),
		cmocka_unit_test(test_bad_definition),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
