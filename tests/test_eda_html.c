/* test_eda_html.c: the HTML pieces of the EDA report: number formats, cut and
 * escaped cells, tables of query rows (headings, alignment, NULLs, the row
 * limit, errors), and the page around the sections. */
#include "testutil.h"

#include <limits.h>
#include <math.h>
#include <string.h>

#include "core/error.h"
#include "core/strbuf.h"
#include "report/eda_html.h"
#include "report/eda_sql.h"

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

static void test_format_int(void **state)
{
	(void)state;
	char buf[40];
	const struct {
		long long v;
		const char *want;
	} cases[] = {
		{0, "0"},
		{7, "7"},
		{999, "999"},
		{1000, "1,000"},
		{-1234567, "-1,234,567"},
		{100000, "100,000"},
		{LLONG_MAX, "9,223,372,036,854,775,807"},
		{LLONG_MIN, "-9,223,372,036,854,775,808"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		eda_html_format_int(buf, sizeof buf, cases[i].v);
		assert_string_equal(buf, cases[i].want);
	}
	/* Too small a buffer: cut short, still a string. */
	eda_html_format_int(buf, 4, 12345);
	assert_string_equal(buf, "12");
	strbuf sb = {0};
	eda_html_int(&sb, 1234);
	assert_string_equal(sb.data, "1,234");
	strbuf_free(&sb);
}

static void test_double_cut_heading(void **state)
{
	(void)state;
	strbuf sb = {0};
	eda_html_double(&sb, 0.123456, 4);
	assert_string_equal(sb.data, "0.1235");
	strbuf_reset(&sb);
	eda_html_double(&sb, NAN, 4);
	assert_string_equal(sb.data, "<span class=\"na\">&ndash;</span>");
	strbuf_reset(&sb);
	eda_html_double(&sb, INFINITY, 4);
	assert_string_equal(sb.data, "<span class=\"na\">&ndash;</span>");

	/* Characters, not bytes: "h\xC3\xA9llo" cut at 3 keeps the two-byte e. */
	strbuf_reset(&sb);
	eda_html_cut(&sb, "h\xC3\xA9llo", 3);
	assert_string_equal(sb.data, "h\xC3\xA9l\xE2\x80\xA6");
	strbuf_reset(&sb);
	eda_html_cut(&sb, "a<b", 3);
	assert_string_equal(sb.data, "a&lt;b");
	strbuf_reset(&sb);
	eda_html_cut(&sb, "a<b&c", 2);
	assert_string_equal(sb.data, "a&lt;\xE2\x80\xA6");

	strbuf_reset(&sb);
	eda_html_heading(&sb, "rows_read");
	assert_string_equal(sb.data, "rows read");
	strbuf_reset(&sb);
	eda_html_heading(&sb, "<a>_b");
	assert_string_equal(sb.data, "&lt;a&gt; b");
	strbuf_reset(&sb);
	eda_html_heading(&sb, NULL);
	assert_string_equal(strbuf_cstr(&sb), "");
	strbuf_free(&sb);
}

static void test_figure(void **state)
{
	(void)state;
	strbuf sb = {0};
	eda_html_figure_open(&sb, "wide");
	eda_html_figure_open(&sb, NULL);
	eda_html_empty(&sb, "none <here>");
	eda_html_caption(&sb, "a & b");
	eda_html_figure_close(&sb, "SELECT 1 < 2");
	assert_string_equal(sb.data, "<figure class=\"wide\"><figure><p class=\"empty\">none &lt;here&gt;</p>"
	                             "<figcaption>a &amp; b</figcaption>"
	                             "<details><summary>SQL</summary><pre><code>SELECT 1 &lt; 2</code></pre>"
	                             "</details></figure>");
	strbuf_free(&sb);
}

static void test_table(void **state)
{
	(void)state;
	sqlite3 *db;
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	tu_sql_exec(db, "CREATE TABLE t(label_text, n, f, z);"
	                "INSERT INTO t VALUES('a<b', 12345, 0.5, NULL), ('c', 2, 1.25, 'x');");
	strbuf sb = {0};
	seg_error err = {0};
	long long n = -1;
	assert_int_equal(eda_html_table(&sb, db, "t", "SELECT * FROM t ORDER BY rowid", NULL, &n, &err), 0);
	assert_int_equal(n, 2);
	/* Numeric columns (by the first row) are right-aligned; the fourth is
	 * NULL in the first row, so it is not. */
	assert_non_null(strstr(sb.data, "<thead><tr><th>label text</th><th class=\"n\">n</th>"
	                                "<th class=\"n\">f</th><th>z</th></tr></thead>"));
	assert_non_null(strstr(sb.data, "<tr><td>a&lt;b</td><td class=\"n\">12,345</td><td class=\"n\">0.5</td>"
	                                "<td class=\"na\">&ndash;</td></tr>"));
	assert_null(strstr(sb.data, "Showing"));

	/* No rows: the sentence, default or given. */
	strbuf_reset(&sb);
	assert_int_equal(eda_html_table(&sb, db, "t", "SELECT * FROM t WHERE 0", NULL, &n, &err), 0);
	assert_int_equal(n, 0);
	assert_string_equal(sb.data, "<p class=\"empty\">No rows.</p>");
	strbuf_reset(&sb);
	assert_int_equal(eda_html_table(&sb, db, "t", "SELECT * FROM t WHERE 0", "Nothing.", NULL, &err), 0);
	assert_string_equal(sb.data, "<p class=\"empty\">Nothing.</p>");

	/* More rows than a table shows. */
	strbuf_reset(&sb);
	assert_int_equal(eda_html_table(&sb, db, "many",
	                                "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 1234)"
	                                " SELECT i FROM c",
	                                NULL, &n, &err),
	                 0);
	assert_int_equal(n, 1234);
	assert_int_equal(count(sb.data, "<tr>"), EDA_TABLE_MAX_ROWS + 1); /* with the heading row */
	assert_non_null(strstr(sb.data, "<p class=\"note\">Showing 50 of 1,234 rows;"));

	/* A failing query appends nothing. */
	strbuf_reset(&sb);
	assert_int_equal(eda_html_table(&sb, db, "gone", "SELECT * FROM gone", NULL, NULL, &err), SEG_EDB);
	assert_int_equal(sb.len, 0);
	assert_non_null(strstr(err.msg, "gone"));
	strbuf_free(&sb);
	sqlite3_close(db);
}

static void test_page(void **state)
{
	(void)state;
	strbuf sb = {0};
	eda_html_page_begin(&sb, "my <db>", 10, 0);
	eda_html_page_end(&sb);
	assert_true(strncmp(sb.data, "<!DOCTYPE html>\n", 16) == 0);
	assert_non_null(strstr(sb.data, "<code>my &lt;db&gt;</code> &middot; "));
	assert_null(strstr(sb.data, "SYNTHETIC"));
	for (int s = 0; s < EDA_NSECTIONS; s++) {
		char link[128];
		snprintf(link, sizeof link, "<a href=\"#%s\">", eda_sections[s].id);
		assert_non_null(strstr(sb.data, link));
	}
	assert_true(sb.len > 16 && strcmp(sb.data + sb.len - 15, "</body></html>\n") == 0);

	strbuf_reset(&sb);
	eda_html_page_begin(&sb, NULL, 1500, 1500);
	assert_null(strstr(sb.data, "<code>"));
	assert_non_null(strstr(sb.data, "SYNTHETIC DATA: 1,500 (all) of the tracks"));
	strbuf_reset(&sb);
	eda_html_page_begin(&sb, "", 10, 3);
	assert_non_null(strstr(sb.data, "SYNTHETIC DATA: 3 of the tracks"));
	assert_null(strstr(sb.data, "<code>"));
	strbuf_free(&sb);
}

int main(void)
{
	/* clang-format off */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_int),
		cmocka_unit_test(test_double_cut_heading),
		cmocka_unit_test(test_figure),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_page),
	};
	/* clang-format on */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
