/* test_eda_cache.c: the EDA summary and charts kept between runs: they read
 * back as rendered, only for the catalogue state, options and version of
 * segue they were written for; they are written under the workspace's lock;
 * and the return codes say which case happened. */
#include "testutil.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "catalog/workspace.h"
#include "core/container.h"
#include "core/error.h"
#include "core/strbuf.h"
#include "report/eda.h"

/* Two tracks with features, one genre: enough for several charts. */
/* clang-format off */
static const char ROWS[] =
	"INSERT INTO ingests(id, file, variant, started_at, seconds, rows_read, rows_accepted,"
	" new_tracks, merged, rows_rejected, values_dropped)"
	" VALUES(1, 'a.csv', 'spotify_songs', '2025-01-01T00:00:00Z', 0.5, 2, 2, 2, 0, 0, 0);"
	"INSERT INTO tracks(id, spotify_id, name, popularity, duration_ms, danceability, energy,"
	" key, loudness, mode, speechiness, acousticness, instrumentalness, liveness, valence,"
	" tempo, time_signature, has_features, ingest_id) VALUES"
	" (1, '0000000000000000000001', 'One', 60, 180000, 0.5, 0.8, 0, -5, 1, 0.05,"
	"  0.1, 0, 0.1, 0.6, 120, 4, 1, 1),"
	" (2, '0000000000000000000002', 'Two', 40, 240000, 0.7, 0.6, 2, -7, 0, 0.04,"
	"  0.3, 0.01, 0.2, 0.4, 100, 4, 1, 1);"
	"INSERT INTO artists VALUES(1, 'Someone');"
	"INSERT INTO track_artists VALUES(1, 1, 0), (2, 1, 0);"
	"INSERT INTO genres VALUES(1, 'pop');"
	"INSERT INTO track_genres(track_id, genre_id) VALUES(1, 1), (2, 1);";
/* clang-format on */

static void add_ingest(const char *path, const char *file)
{
	sqlite3 *rw;
	char sql[256];
	assert_int_equal(sqlite3_open(path, &rw), SQLITE_OK);
	snprintf(sql, sizeof sql, "INSERT INTO ingests(file, variant, started_at) VALUES('%s', 'x', '2026-11-26')",
	         file);
	tu_sql_exec(rw, sql);
	sqlite3_close(rw);
}

/* What was saved reads back as eda_render_charts computed it, for these
 * options and this state of the catalogue only; every other case is
 * EDA_CACHE_STALE with the caller's buffers untouched. */
static void test_roundtrip_and_stale(void **state)
{
	(void)state;
	const char *dir = tu_tmpdir();
	char cache[1100];
	assert_int_equal(workspace_path(dir, WS_EDA_CACHE, cache, sizeof cache, NULL), 0);
	const char *path = tu_catalog_file(dir, ROWS);
	sqlite3 *db = tu_open_ro(path);
	seg_error err = {0};
	strbuf json = {0}, cached = {0}, none = {0};
	eda_charts ch = {0}, back = {0}, untouched = {0};
	int64_t key[EDA_CACHE_KEY];

	/* Nothing saved yet. */
	assert_int_equal(eda_cache_load(db, NULL, cache, &none, &untouched), EDA_CACHE_STALE);
	assert_int_equal(eda_cache_key(db, NULL, key), 0);
	assert_int_equal(eda_render_charts(db, NULL, NULL, &json, &ch, &err), 0);
	assert_true(ch.n > 5);
	assert_int_equal(eda_cache_save(db, NULL, key, cache, &json, &ch, &err), 0);

	assert_int_equal(eda_cache_load(db, NULL, cache, &cached, &back), 0);
	assert_string_equal(strbuf_cstr(&cached), strbuf_cstr(&json));
	assert_int_equal(back.n, ch.n);
	for (size_t i = 0; i < ch.n; i++) {
		assert_string_equal(back.v[i].name, ch.v[i].name);
		assert_string_equal(back.v[i].title, ch.v[i].title);
		assert_string_equal(back.v[i].sql, ch.v[i].sql);
		assert_string_equal(back.v[i].svg, ch.v[i].svg);
	}

	/* Other options: not these figures. */
	eda_opts o = {.top_n = 5};
	assert_int_equal(eda_cache_load(db, &o, cache, &none, &untouched), EDA_CACHE_STALE);
	assert_int_equal(none.len, 0);
	assert_int_equal(untouched.n, 0);

	/* The catalogue moved on: not its figures any more. */
	sqlite3_close(db);
	add_ingest(path, "more.csv");
	db = tu_open_ro(path);
	assert_int_equal(eda_cache_load(db, NULL, cache, &none, &untouched), EDA_CACHE_STALE);

	/* Damaged, then missing. */
	assert_int_equal(eda_cache_key(db, NULL, key), 0);
	assert_int_equal(eda_cache_save(db, NULL, key, cache, &json, &ch, &err), 0);
	assert_int_equal(eda_cache_load(db, NULL, cache, &none, &untouched), 0);
	eda_charts_free(&untouched);
	strbuf_reset(&none);
	tu_put_byte(cache, -2, 'x');
	assert_int_equal(eda_cache_load(db, NULL, cache, &none, &untouched), EDA_CACHE_STALE);
	assert_int_equal(none.len, 0);
	unlink(cache);
	assert_int_equal(eda_cache_load(db, NULL, cache, &none, &untouched), EDA_CACHE_STALE);
	assert_int_equal(untouched.n, 0);

	/* Figures rendered while an ingest landed are not kept. */
	assert_int_equal(eda_cache_key(db, NULL, key), 0);
	add_ingest(path, "late.csv");
	assert_int_equal(eda_cache_save(db, NULL, key, cache, &json, &ch, &err), EDA_CACHE_STALE);
	assert_int_not_equal(access(cache, F_OK), 0);

	strbuf_free(&none);
	strbuf_free(&json);
	strbuf_free(&cached);
	eda_charts_free(&ch);
	eda_charts_free(&back);
	sqlite3_close(db);
	tu_rmtree(dir);
}

/* Without a readable catalogue state there is no key: the functions say so
 * with SEG_EDB (a real error code), not with a code that means something
 * else, and nothing is written or changed. */
static void test_no_key(void **state)
{
	(void)state;
	const char *dir = tu_tmpdir();
	char path[1100], cache[1100];
	snprintf(path, sizeof path, "%s/empty.db", dir);
	assert_int_equal(workspace_path(dir, WS_EDA_CACHE, cache, sizeof cache, NULL), 0);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	tu_sql_exec(db, "CREATE TABLE unrelated(x)");
	int64_t key[EDA_CACHE_KEY] = {0};
	assert_int_equal(eda_cache_key(db, NULL, key), SEG_EDB);

	strbuf json = {0};
	strbuf_puts(&json, "{}");
	eda_charts none = {0};
	seg_error err = {0};
	assert_int_equal(eda_cache_save(db, NULL, key, cache, &json, &none, &err), SEG_EDB);
	assert_int_equal(err.code, SEG_EDB);
	assert_non_null(strstr(err.msg, cache));
	assert_int_not_equal(access(cache, F_OK), 0);
	assert_int_equal(eda_cache_load(db, NULL, cache, &json, &none), SEG_EDB);
	assert_string_equal(strbuf_cstr(&json), "{}");
	assert_int_equal(none.n, 0);
	strbuf_free(&json);
	sqlite3_close(db);
	tu_rmtree(dir);
}

/* The key changes with each option that changes figures, and not otherwise. */
static void test_key_options(void **state)
{
	(void)state;
	const char *dir = tu_tmpdir();
	sqlite3 *db = tu_open_ro(tu_catalog_file(dir, ROWS));
	int64_t a[EDA_CACHE_KEY], b[EDA_CACHE_KEY];
	assert_int_equal(eda_cache_key(db, NULL, a), 0);
	eda_opts o = {0};
	assert_int_equal(eda_cache_key(db, &o, b), 0);
	assert_memory_equal(a, b, sizeof a);
	o.source_name = "elsewhere.db"; /* only the heading: same figures */
	assert_int_equal(eda_cache_key(db, &o, b), 0);
	assert_memory_equal(a, b, sizeof a);
	eda_opts diff[3] = {{.top_n = 7}, {.profile_genres = 3}, {.reject_examples = 9}};
	for (int i = 0; i < 3; i++) {
		assert_int_equal(eda_cache_key(db, &diff[i], b), 0);
		assert_memory_not_equal(a, b, sizeof a);
	}
	sqlite3_close(db);
	tu_rmtree(dir);
}

/* Writes the container at `path` again with every section as it is, except
 * that the origin section's code version becomes `code`. */
static void rewrite_code_version(const char *path, const char *code)
{
	seg_error err = {0};
	container_file *m = NULL;
	assert_int_equal(container_file_open(&m, path, &err), 0);
	container_writer *w = container_writer_create();
	assert_non_null(w);
	int found = 0;
	for (size_t i = 0; i < container_file_count(m); i++) {
		const char *name = container_file_name_at(m, i);
		size_t size = 0;
		const void *data = container_file_section(m, name, &size);
		catalog_origin o;
		if (strcmp(name, CATALOG_ORIGIN_SECTION) == 0) {
			assert_int_equal(size, sizeof o);
			memcpy(&o, data, sizeof o);
			assert_string_equal(o.code, SEGUE_VERSION);
			memset(o.code, 0, sizeof o.code);
			snprintf(o.code, sizeof o.code, "%s", code);
			data = &o;
			found = 1;
		}
		assert_int_equal(container_writer_add(w, name, data, size, &err), 0);
	}
	assert_true(found); /* the cache says which segue wrote it */
	container_file_close(m);
	assert_int_equal(container_writer_save(w, path, &err), 0);
	container_writer_free(w);
}

/* Figures drawn by another version of segue are not these: refused, though
 * the catalogue and the options are the same. */
static void test_other_code_version(void **state)
{
	(void)state;
	const char *dir = tu_tmpdir();
	char cache[1100];
	assert_int_equal(workspace_path(dir, WS_EDA_CACHE, cache, sizeof cache, NULL), 0);
	sqlite3 *db = tu_open_ro(tu_catalog_file(dir, ROWS));
	seg_error err = {0};
	strbuf json = {0}, none = {0};
	eda_charts ch = {0}, back = {0};
	int64_t key[EDA_CACHE_KEY];
	assert_int_equal(eda_cache_key(db, NULL, key), 0);
	assert_int_equal(eda_render_charts(db, NULL, NULL, &json, &ch, &err), 0);
	assert_int_equal(eda_cache_save(db, NULL, key, cache, &json, &ch, &err), 0);
	/* copied section by section, it still reads back */
	rewrite_code_version(cache, SEGUE_VERSION);
	assert_int_equal(eda_cache_load(db, NULL, cache, &none, &back), 0);
	eda_charts_free(&back);
	strbuf_reset(&none);
	rewrite_code_version(cache, "0.0.1-older");
	assert_int_equal(eda_cache_load(db, NULL, cache, &none, &back), EDA_CACHE_STALE);
	assert_int_equal(none.len, 0);
	assert_int_equal(back.n, 0);
	strbuf_free(&json);
	strbuf_free(&none);
	eda_charts_free(&ch);
	sqlite3_close(db);
	tu_rmtree(dir);
}

/* The cache is written under the workspace's lock: while another segue
 * holds it, nothing is written and the figures are not kept. */
static void test_saved_under_lock(void **state)
{
	(void)state;
	const char *dir = tu_tmpdir();
	char cache[1100];
	assert_int_equal(workspace_path(dir, WS_EDA_CACHE, cache, sizeof cache, NULL), 0);
	sqlite3 *db = tu_open_ro(tu_catalog_file(dir, ROWS));
	seg_error err = {0};
	strbuf json = {0};
	eda_charts ch = {0};
	int64_t key[EDA_CACHE_KEY];
	assert_int_equal(eda_cache_key(db, NULL, key), 0);
	assert_int_equal(eda_render_charts(db, NULL, NULL, &json, &ch, &err), 0);
	int up[2], down[2];
	assert_int_equal(pipe(up), 0);
	assert_int_equal(pipe(down), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* another segue: holds the lock until told to let go */
		char c;
		int ok = workspace_lock(dir, WORKSPACE_LOCK_WAIT, NULL) == 0 && write(up[1], "L", 1) == 1 &&
		         read(down[0], &c, 1) == 1;
		_exit(ok ? 0 : 1);
	}
	char c;
	assert_int_equal(read(up[0], &c, 1), 1);
	assert_int_equal(eda_cache_save(db, NULL, key, cache, &json, &ch, &err), EDA_CACHE_STALE);
	assert_int_not_equal(access(cache, F_OK), 0);
	assert_int_equal(write(down[1], "U", 1), 1);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* let go: kept; and a caller that holds the lock itself keeps it too */
	assert_int_equal(eda_cache_save(db, NULL, key, cache, &json, &ch, &err), 0);
	unlink(cache);
	assert_int_equal(workspace_lock(dir, WORKSPACE_LOCK_TRY, &err), 0);
	assert_int_equal(eda_cache_save(db, NULL, key, cache, &json, &ch, &err), 0);
	workspace_unlock(dir);
	assert_int_equal(access(cache, F_OK), 0);
	close(up[0]);
	close(up[1]);
	close(down[0]);
	close(down[1]);
	strbuf_free(&json);
	eda_charts_free(&ch);
	sqlite3_close(db);
	tu_rmtree(dir);
}

int main(void)
{
	/* clang-format off */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_and_stale),
		cmocka_unit_test(test_no_key),
		cmocka_unit_test(test_key_options),
		cmocka_unit_test(test_other_code_version),
		cmocka_unit_test(test_saved_under_lock),
	};
	/* clang-format on */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
