/* test_cli.c: the segue binary as a script would use it: --help on every
 * command, exit codes (0 ok, 1 failure, 2 bad usage), and generate -> ingest
 * -> sql -> eda end to end on synthetic data. Then the commands run
 * in-process (cli_run), where a model registered at run time is offered by
 * recommend (--help, --model) and scored by evaluate. */
#include "testutil.h"

#include <jansson.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "engine/recommender.h"

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
	/* The stronger models' flags are checked before anything is read. */
	static const char *const bad_train[] = {
		"train --ease-lambda 0",
		"train --ease-items -1",
		"train --ease-neighbours 2.5",
		"train --rp3-alpha x",
		"train --rp3-beta -1",
		"train --hybrid als=-1",
		"train --hybrid content=0,als=0",
		"train --hybrid jazz=1",
	};
	for (size_t i = 0; i < sizeof bad_train / sizeof *bad_train; i++) {
		assert_int_equal(segue(bad_train[i], &out), 2);
		assert_non_null(strstr(out, "segue train: "));
		free(out);
	}
	assert_int_equal(segue("train --help", &out), 0);
	assert_non_null(strstr(out, "--ease-lambda L"));
	assert_non_null(strstr(out, "default content=0.1,cooc=0,als=0.45,ease=0,rp3=0.45"));
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
	         "sql --workspace %s/ws --format csv \"SELECT count(*) n, sum(synthetic) s FROM tracks WHERE "
	         "has_features\"",
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
	snprintf(cmd, sizeof cmd,
	         "echo 'SELECT count(*) FROM playlists' | %s sql --workspace %s/ws --format csv - 2>&1", bin(), dir);
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

/* ---- in-process ---- */

/* Runs `segue ARGS...` (NULL-terminated) in-process, output captured. */
#define cli tu_cli

static void test_registered_model_offered(void **state)
{
	(void)state;
	const char *dir = tu_tmpdir();
	char syn[1024], ws[1024], *out;
	snprintf(syn, sizeof syn, "%s/syn", dir);
	snprintf(ws, sizeof ws, "%s/ws", dir);
	/* Before: not offered. */
	assert_int_equal(cli(&out, "recommend", "--help", NULL), 0);
	assert_null(strstr(out, "constant"));
	assert_non_null(strstr(out, "hybrid"));
	free(out);
	int before = (int)recommender_count();
	assert_int_equal(tu_register_constant(), before);
	/* Offered by --help, with its description, and by the usage error. */
	assert_int_equal(cli(&out, "recommend", "--help", NULL), 0);
	assert_non_null(strstr(out, "constant   * the known tracks in id order (a test model)"));
	free(out);
	assert_int_equal(cli(&out, "recommend", "--model", "nope", "--seed", "x", NULL), 2);
	assert_non_null(strstr(
		out,
		"unknown model 'nope' (random, popular, content, cooc, als, ease, rp3beta, hybrid, title, constant)"));
	free(out);
	assert_int_equal(cli(&out, "evaluate", "--help", NULL), 0);
	assert_non_null(
		strstr(out, "Models: random, popular, content, cooc, als, ease, rp3beta, hybrid, title, constant."));
	free(out);
	/* A trained workspace. */
	assert_int_equal(
		cli(&out, "generate", "--tracks", "400", "--playlists", "150", "--seed", "9", "--out", syn, NULL), 0);
	free(out);
	assert_int_equal(cli(&out, "ingest", "-q", "--workspace", ws, syn, NULL), 0);
	free(out);
	assert_int_equal(cli(&out, "train", "-q", "--workspace", ws, "--clusters", "3", "--factors", "4",
	                     "--iterations", "2", "--rounds", "5", "--ease-lambda", "50", "--ease-items", "300",
	                     "--ease-neighbours", "20", "--rp3-alpha", "0.5", "--rp3-beta", "0.25", "--rp3-neighbours",
	                     "30", "--hybrid", "content=0.1,als=0.2,rp3=0.7", NULL),
	                 0);
	free(out);
	/* The flags reach the model and its metadata. */
	char meta[1024 + 32];
	snprintf(meta, sizeof meta, "%s/models/v1/model.seg", ws);
	engine *e = NULL;
	seg_error err = {0};
	assert_int_equal(engine_open(&e, meta, &err), 0);
	json_t *m = json_loads(engine_meta_json(e), 0, NULL);
	assert_non_null(m);
	json_t *ease = json_object_get(m, "ease"), *rp3 = json_object_get(m, "rp3"), *hy = json_object_get(m, "hybrid");
	assert_true(json_is_true(json_object_get(ease, "trained")));
	assert_float_equal(json_number_value(json_object_get(ease, "lambda")), 50, 1e-6);
	assert_int_equal(json_integer_value(json_object_get(ease, "items_cap")), 300);
	assert_int_equal(json_integer_value(json_object_get(ease, "neighbours")), 20);
	assert_true(json_integer_value(json_object_get(ease, "items")) <= 300);
	assert_float_equal(json_number_value(json_object_get(rp3, "alpha")), 0.5, 1e-6);
	assert_float_equal(json_number_value(json_object_get(rp3, "beta")), 0.25, 1e-6);
	assert_int_equal(json_integer_value(json_object_get(rp3, "neighbours")), 30);
	assert_float_equal(json_number_value(json_object_get(hy, "rp3")), 0.7, 1e-6);
	assert_float_equal(json_number_value(json_object_get(hy, "cooc")), 0, 1e-6);
	json_decref(m);
	engine_free(e);
	/* It needs no seed; with one, it recommends the next tracks by id. */
	assert_int_equal(
		cli(&out, "recommend", "--workspace", ws, "--model", "constant", "--k", "3", "--no-rerank", NULL), 0);
	assert_non_null(strstr(out, "3 recommendations (constant)"));
	free(out);
	/* The title model takes --title alone, and without it says what to give. */
	assert_int_equal(cli(&out, "recommend", "--workspace", ws, "--model", "title", "--title", "Synthetic: jazz",
	                     "--k", "3", "--no-rerank", NULL),
	                 0);
	assert_non_null(strstr(out, "3 recommendations (title)"));
	assert_non_null(strstr(out, "titled like yours"));
	free(out);
	assert_int_equal(cli(&out, "recommend", "--workspace", ws, "--model", "title", NULL), 2);
	assert_non_null(strstr(out, "--title"));
	free(out);
	char seed[64];
	snprintf(seed, sizeof seed, "%s", tu_ws_text(ws, "SELECT spotify_id FROM tracks WHERE id = 1"));
	assert_int_equal(cli(&out, "recommend", "--workspace", ws, "--model", "constant", "--k", "2", "--no-rerank",
	                     "--seed", seed, "--json", NULL),
	                 0);
	/* The answer is the server's JSON: tracks in rank order, ids 2 and 3. */
	json_error_t jerr;
	json_t *answer = json_loads(out, 0, &jerr);
	assert_non_null(answer);
	json_t *tracks = json_object_get(answer, "tracks");
	assert_int_equal(json_array_size(tracks), 2);
	for (int id = 2; id <= 3; id++) {
		char q[128];
		snprintf(q, sizeof q, "SELECT spotify_id FROM tracks WHERE id = %d", id);
		json_t *t = json_array_get(tracks, (size_t)(id - 2));
		assert_int_equal(json_integer_value(json_object_get(t, "rank")), id - 1);
		assert_string_equal(json_string_value(json_object_get(t, "id")), tu_ws_text(ws, q));
	}
	json_decref(answer);
	free(out);
	/* Evaluate scores it beside the built-ins. */
	assert_int_equal(cli(&out, "evaluate", "--workspace", ws, "--k", "20", "--json", NULL), 0);
	assert_non_null(strstr(out, "\"model\": \"constant\""));
	assert_non_null(strstr(out, "\"model\": \"hybrid+rerank\""));
	free(out);
	tu_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_help_everywhere),
		cmocka_unit_test(test_usage_errors_exit_2),
		cmocka_unit_test(test_end_to_end),
		cmocka_unit_test(test_registered_model_offered),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
