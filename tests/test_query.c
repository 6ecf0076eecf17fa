/* test_query.c: `segue sql`'s engine: exact output of each format, and writes
 * refused before they run. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/query.h"

static sqlite3 *db;
static const char *dir;
static char path[1100];

static int setup(void **state)
{
	(void)state;
	dir = tu_tmpdir();
	snprintf(path, sizeof path, "%s/c.db", dir);
	sqlite3_close(tu_catalog_db(path, "INSERT INTO tracks(id,spotify_id,name,energy,popularity) VALUES"
	                                  "(1,'AAAAAAAAAAAAAAAAAAAAAA','Plain',0.5,10),"
	                                  "(2,'BBBBBBBBBBBBBBBBBBBBBB','Comma, \"quoted\"',0.25,NULL),"
	                                  "(3,'CCCCCCCCCCCCCCCCCCCCCC','Café ☕',1,99)"));
	seg_error err;
	return query_open(path, &db, &err);
}

static int teardown(void **state)
{
	(void)state;
	sqlite3_close(db);
	tu_rmtree(dir);
	return 0;
}

/* Runs sql in fmt and returns what was printed (static buffer). */
static const char *run(const char *sql, enum query_format fmt, int *rc, long *rows)
{
	static char buf[8192];
	FILE *f = fmemopen(buf, sizeof buf, "w");
	seg_error err = {0};
	*rc = query_run(db, sql, fmt, f, rows, &err);
	fclose(f);
	return buf;
}

static void test_csv(void **state)
{
	(void)state;
	int rc;
	long rows;
	const char *out = run("SELECT id, name, popularity FROM tracks ORDER BY id", QUERY_CSV, &rc, &rows);
	assert_int_equal(rc, 0);
	assert_int_equal(rows, 3);
	assert_string_equal(out, "id,name,popularity\n"
	                         "1,Plain,10\n"
	                         "2,\"Comma, \"\"quoted\"\"\",\n"
	                         "3,Café ☕,99\n");
}

static void test_json(void **state)
{
	(void)state;
	int rc;
	long rows;
	const char *out =
		run("SELECT id, name, energy, popularity FROM tracks WHERE id < 3 ORDER BY id", QUERY_JSON, &rc, &rows);
	assert_int_equal(rc, 0);
	assert_string_equal(
		out, "[\n"
		     "  {\"id\": 1, \"name\": \"Plain\", \"energy\": 0.5, \"popularity\": 10},\n"
		     "  {\"id\": 2, \"name\": \"Comma, \\\"quoted\\\"\", \"energy\": 0.25, \"popularity\": null}\n"
		     "]\n");
	out = run("SELECT * FROM tracks WHERE 0", QUERY_JSON, &rc, &rows);
	assert_string_equal(out, "[]\n");
}

static void test_table(void **state)
{
	(void)state;
	int rc;
	long rows;
	const char *out = run("SELECT id, name FROM tracks ORDER BY id", QUERY_TABLE, &rc, &rows);
	assert_int_equal(rc, 0);
	/* Columns are padded to the widest value in characters, not bytes. */
	assert_string_equal(out, "id | name           \n"
	                         "---+----------------\n"
	                         "1  | Plain          \n"
	                         "2  | Comma, \"quoted\"\n"
	                         "3  | Café ☕         \n"
	                         "(3 rows)\n");
}

static void test_writes_refused(void **state)
{
	(void)state;
	/* clang-format off */
	static const char *const writes[] = {
		"DELETE FROM tracks",
		"UPDATE tracks SET name='x'",
		"INSERT INTO genres(name) VALUES('x')",
		"DROP TABLE tracks",
		"CREATE TABLE t(x)",
		"SELECT 1; DELETE FROM tracks",
	};
	/* clang-format on */
	for (size_t i = 0; i < sizeof writes / sizeof *writes; i++) {
		int rc;
		long rows;
		run(writes[i], QUERY_CSV, &rc, &rows);
		assert_int_equal(rc, SEG_EREADONLY);
	}
	int rc;
	long rows;
	run("SELECT count(*) FROM tracks", QUERY_CSV, &rc, &rows);
	const char *out = run("SELECT count(*) n FROM tracks", QUERY_CSV, &rc, &rows);
	assert_string_equal(out, "n\n3\n"); /* nothing was deleted */
}

static void test_errors(void **state)
{
	(void)state;
	int rc;
	long rows;
	run("SELEC nonsense", QUERY_TABLE, &rc, &rows);
	assert_int_equal(rc, SEG_EINVAL);
	run("   -- only a comment\n", QUERY_TABLE, &rc, &rows);
	assert_int_equal(rc, SEG_EINVAL);
	run("SELECT * FROM no_such_table", QUERY_TABLE, &rc, &rows);
	assert_int_equal(rc, SEG_EINVAL);
	assert_int_equal(query_format_parse("json"), QUERY_JSON);
	assert_int_equal(query_format_parse("xml"), -1);
}

static void test_several_statements(void **state)
{
	(void)state;
	int rc;
	long rows;
	const char *out = run("SELECT 1 a; SELECT 2 b, 3 c;", QUERY_CSV, &rc, &rows);
	assert_int_equal(rc, 0);
	assert_int_equal(rows, 2);
	assert_string_equal(out, "a\n1\nb,c\n2,3\n");
}

int main(void)
{
	/* clang-format off */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csv),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_writes_refused),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_several_statements),
	};
	/* clang-format on */
	return cmocka_run_group_tests(tests, setup, teardown);
}
