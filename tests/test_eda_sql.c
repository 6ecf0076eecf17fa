/* test_eda_sql.c: the tables of the EDA report (features, queries, sections)
 * are consistent with each other and every query runs on an empty catalogue;
 * placeholders expand as documented; the query helpers report errors. */
#include "testutil.h"

#include <math.h>
#include <string.h>

#include "core/error.h"
#include "core/strbuf.h"
#include "report/eda_sql.h"

static void test_features(void **state)
{
	(void)state;
	for (size_t f = 0; f < EDA_NFEAT; f++) {
		const eda_feature *fe = &eda_features[f];
		assert_non_null(fe->name);
		assert_non_null(fe->label);
		assert_non_null(fe->expr);
		assert_non_null(fe->bin);
		assert_true(fe->width > 0);
		assert_int_equal(fe->unit, f < EDA_NUNIT);
		assert_true(fe->hist_section == EDA_SEC_FEATURES || fe->hist_section == EDA_SEC_KEYS);
		for (size_t g = 0; g < f; g++)
			assert_string_not_equal(eda_features[g].name, fe->name);
	}
	assert_string_equal(eda_features[EDA_FEAT_POPULARITY].name, "popularity");
}

/* Runs every query, each feature-placeholder query once per feature, on an
 * empty catalogue: they all prepare and run to the end. The correlation
 * query's columns are the features, in order (the report indexes them so). */
static void test_queries_run(void **state)
{
	(void)state;
	const char *dir = tu_tmpdir();
	char path[1100];
	snprintf(path, sizeof path, "%s/catalog.db", dir);
	sqlite3 *db = tu_catalog_db(path, NULL);
	strbuf sql = {0};
	seg_error err = {0};
	int seen[EDA_NSECTIONS] = {0}, corr = 0;
	for (size_t i = 0; i < eda_nqueries; i++) {
		const eda_query *q = &eda_queries[i];
		assert_true(q->section >= 0 && q->section < EDA_NSECTIONS);
		seen[q->section]++;
		for (size_t k = 0; k < i; k++)
			assert_string_not_equal(eda_queries[k].name, q->name);
		size_t nf = strstr(q->sql, "{x}") || strstr(q->sql, "{bin}") ? EDA_NFEAT : 1;
		for (size_t f = 0; f < nf; f++) {
			eda_sql_expand(&sql, q->sql, &eda_features[f], 3);
			assert_false(sql.oom);
			assert_null(strchr(sql.data, '{'));
			sqlite3_stmt *st;
			if (eda_sql_prepare(db, q->name, sql.data, &st, &err) != 0)
				fail_msg("%s: %s", q->name, err.msg);
			int rc;
			while ((rc = sqlite3_step(st)) == SQLITE_ROW)
				;
			assert_int_equal(eda_sql_done(db, q->name, rc, &err), 0);
			if (q->kind == EDA_K_CORR) {
				corr++;
				assert_int_equal(sqlite3_column_count(st), EDA_NFEAT);
				for (int c = 0; c < EDA_NFEAT; c++)
					assert_string_equal(sqlite3_column_name(st, c), eda_features[c].name);
			}
			sqlite3_finalize(st);
		}
	}
	assert_int_equal(corr, 1);
	/* Every section but the findings (which read the others' figures and
	 * run the queries below) has a query of the table. */
	for (int s = 0; s < EDA_NSECTIONS; s++) {
		if (seen[s] == 0 && s != EDA_SEC_FINDINGS)
			fail_msg("section %s has no query", eda_sections[s].id);
	}
	assert_int_equal(seen[EDA_SEC_FINDINGS], 0);
	const char *const findings[] = {eda_sql_popularity_values, eda_sql_spoken_total, eda_sql_spoken_examples,
	                                eda_sql_ingest_totals};
	for (size_t i = 0; i < sizeof findings / sizeof findings[0]; i++) {
		eda_sql_expand(&sql, findings[i], NULL, 3);
		assert_null(strchr(sql.data, '{'));
		sqlite3_stmt *st;
		if (eda_sql_prepare(db, "findings", sql.data, &st, &err) != 0)
			fail_msg("%s: %s", sql.data, err.msg);
		int rc;
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			;
		assert_int_equal(eda_sql_done(db, "findings", rc, &err), 0);
		sqlite3_finalize(st);
	}
	assert_non_null(strstr(eda_sql_spoken_total, "speechiness > 0.66"));
	/* Every feature has the words the findings' sentences use. */
	for (int f = 0; f < EDA_NFEAT; f++)
		assert_true(eda_features[f].word && eda_features[f].high && eda_features[f].low);
	sqlite3_stmt *st;
	assert_int_equal(eda_sql_prepare(db, "merged", eda_sql_merged_total, &st, &err), 0);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int64(st, 0), 0);
	sqlite3_finalize(st);
	strbuf_free(&sql);
	sqlite3_close(db);
	tu_rmtree(dir);
}

static void test_expand(void **state)
{
	(void)state;
	strbuf sb = {0};
	strbuf_puts(&sb, "old text");
	const eda_feature *dance = &eda_features[0];
	eda_sql_expand(&sb, "{x}|{bin}|{name}|{label}|{limit}|{other}|{", dance, 12);
	char want[512];
	snprintf(want, sizeof want, "%s|%s|%s|%s|12|{other}|{", dance->expr, dance->bin, dance->name, dance->label);
	assert_string_equal(sb.data, want);
	/* Without a feature only {limit} is replaced. */
	eda_sql_expand(&sb, "SELECT {x} LIMIT {limit}", NULL, -1);
	assert_string_equal(sb.data, "SELECT {x} LIMIT -1");
	eda_sql_expand(&sb, "", NULL, 0);
	assert_string_equal(strbuf_cstr(&sb), "");
	strbuf_free(&sb);
}

static void test_errors(void **state)
{
	(void)state;
	sqlite3 *db;
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	seg_error err = {0};
	sqlite3_stmt *st = (sqlite3_stmt *)&err; /* overwritten with NULL */
	assert_int_equal(eda_sql_prepare(db, "broken", "SELEKT 1", &st, &err), SEG_EDB);
	assert_null(st);
	assert_non_null(strstr(err.msg, "broken"));
	assert_int_equal(eda_sql_done(db, "late", SQLITE_ERROR, &err), SEG_EDB);
	assert_non_null(strstr(err.msg, "late"));
	assert_int_equal(eda_sql_done(db, "fine", SQLITE_DONE, NULL), 0);

	/* Not a catalogue: the first missing table is named. */
	assert_int_equal(eda_sql_check_schema(db, &err), SEG_EFORMAT);
	assert_non_null(strstr(err.msg, "ingests"));

	/* NULL reads as NaN, numbers as themselves. */
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT NULL, 2.5", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_true(isnan(eda_sql_double(st, 0)));
	assert_near(eda_sql_double(st, 1), 2.5, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* eda_sql_one_row on a catalogue: the counts query gives its one row; a
 * catalogue passes the schema check. */
static void test_one_row(void **state)
{
	(void)state;
	const char *dir = tu_tmpdir();
	char path[1100];
	snprintf(path, sizeof path, "%s/catalog.db", dir);
	sqlite3 *db = tu_catalog_db(path, "INSERT INTO genres VALUES(1, 'pop'), (2, 'rock');");
	seg_error err = {0};
	assert_int_equal(eda_sql_check_schema(db, &err), 0);
	const eda_query *counts = NULL;
	for (size_t i = 0; i < eda_nqueries; i++)
		if (eda_queries[i].kind == EDA_K_COUNTS)
			counts = &eda_queries[i];
	assert_non_null(counts);
	sqlite3_stmt *st;
	int has = -1;
	assert_int_equal(eda_sql_one_row(db, counts, &st, &has, &err), 0);
	assert_int_equal(has, 1);
	assert_string_equal(sqlite3_column_name(st, 3), "genres");
	assert_int_equal(sqlite3_column_int64(st, 3), 2);
	assert_int_equal(sqlite3_column_int64(st, 0), 0);
	sqlite3_finalize(st);
	eda_query bad = {"bad", "Bad", EDA_SEC_OVERVIEW, EDA_K_COUNTS, "SELECT * FROM nowhere", NULL};
	assert_int_equal(eda_sql_one_row(db, &bad, &st, &has, &err), SEG_EDB);
	assert_null(st);
	sqlite3_close(db);
	tu_rmtree(dir);
}

int main(void)
{
	/* clang-format off */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_features),
		cmocka_unit_test(test_queries_run),
		cmocka_unit_test(test_expand),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_one_row),
	};
	/* clang-format on */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
