/* test_cli.c: the segue binary as a script would use it: --help on every
 * command, exit codes (0 ok, 1 failure, 2 bad usage), and generate -> ingest
 * -> sql -> eda end to end on synthetic data. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *bin(void)
{
	const char *b = getenv("SEGUE_BIN");
	return b && *b ? b : "./build-san/segue";
}

static int segue(const char *args, char **out)
{
	char cmd[4096];
	snprintf(cmd, sizeof cmd, "%s %s 2>&1", bin(), args);
	return tu_run(cmd, out);
}

static void test_help_everywhere(void **state)
{
	(void)state;
	static const char *const cmds[] = {"ingest", "sql", "eda", "generate"};
	char *out;
	assert_int_equal(segue("--help", &out), 0);
	for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++)
		assert_non_null(strstr(out, cmds[i]));
	free(out);
	for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) {
		char args[64];
		snprintf(args, sizeof args, "%s --help", cmds[i]);
		assert_int_equal(segue(args, &out), 0);
		assert_non_null(strstr(out, "usage: segue"));
		free(out);
	}
	assert_int_equal(segue("ingest --help", &out), 0);
	assert_non_null(strstr(out, "spotify_features")); /* lists the variants */
	free(out);
}

static void test_usage_errors_exit_2(void **state)
{
	(void)state;
	char *out;
	assert_int_equal(segue("", &out), 2);
	free(out);
	assert_int_equal(segue("frobnicate", &out), 2);
	assert_non_null(strstr(out, "unknown command"));
	free(out);
	assert_int_equal(segue("ingest", &out), 2);
	free(out);
	assert_int_equal(segue("sql --format xml 'SELECT 1'", &out), 2);
	free(out);
	assert_int_equal(segue("generate --tracks lots", &out), 2);
	free(out);
}

static void test_end_to_end(void **state)
{
	(void)state;
	const char *dir = tu_tmpdir();
	char args[2048], *out;
	snprintf(args, sizeof args, "generate --tracks 3000 --playlists 200 --seed 5 --out %s/syn", dir);
	assert_int_equal(segue(args, &out), 0);
	assert_non_null(strstr(out, "SYNTHETIC"));
	free(out);
	snprintf(args, sizeof args, "ingest -q --workspace %s/ws %s/syn", dir, dir);
	assert_int_equal(segue(args, &out), 0);
	free(out);
	snprintf(args, sizeof args,
	         "sql --workspace %s/ws --format csv \"SELECT count(*) n, sum(synthetic) s FROM tracks WHERE has_features\"",
	         dir);
	assert_int_equal(segue(args, &out), 0);
	assert_string_equal(out, "n,s\n3000,3000\n");
	free(out);
	/* Writes are refused with exit 1 and say why. */
	snprintf(args, sizeof args, "sql --workspace %s/ws \"DELETE FROM tracks\"", dir);
	assert_int_equal(segue(args, &out), 1);
	assert_non_null(strstr(out, "read-only"));
	free(out);
	/* SQL from standard input. */
	char cmd[2048];
	snprintf(cmd, sizeof cmd, "echo 'SELECT count(*) FROM playlists' | %s sql --workspace %s/ws --format csv - 2>&1",
	         bin(), dir);
	assert_int_equal(tu_run(cmd, &out), 0);
	assert_string_equal(out, "count(*)\n200\n");
	free(out);
	snprintf(args, sizeof args, "eda --workspace %s/ws --out %s/report", dir, dir);
	assert_int_equal(segue(args, &out), 0);
	free(out);
	char path[1200];
	snprintf(path, sizeof path, "%s/report/report.html", dir);
	char *html = tu_read(path, NULL);
	assert_non_null(html);
	assert_non_null(strstr(html, "<svg"));
	assert_non_null(strstr(html, "ynthetic")); /* the synthetic banner */
	free(html);
	/* Failures exit 1 with a message naming the problem. */
	snprintf(args, sizeof args, "ingest --workspace %s/ws %s/nope.csv", dir, dir);
	assert_int_equal(segue(args, &out), 1);
	assert_non_null(strstr(out, "nope.csv"));
	free(out);
	snprintf(args, sizeof args, "sql --workspace %s/empty \"SELECT 1\"", dir);
	assert_int_equal(segue(args, &out), 1);
	assert_non_null(strstr(out, "segue ingest"));
	free(out);
	tu_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_help_everywhere),
		cmocka_unit_test(test_usage_errors_exit_2),
		cmocka_unit_test(test_end_to_end),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
