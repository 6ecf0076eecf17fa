/* test_tune.c: `segue tune` and `segue evaluate --runs` on a generated
 * catalogue: tuning scores validation playlists only (never a test one: the
 * instrumentation in tuning.json counts what was scored, by split), records
 * every point of the grid, chooses the diversity λ by its stated rule, and
 * its choices are what tune_apply hands `segue train`; an evaluation over two
 * training runs reports mean ± sd over runs and leaves no model behind. */
#include "testutil.h"

#include <dirent.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "catalog/workspace.h"
#include "engine/evaluate.h"
#include "engine/recommender.h"
#include "engine/train.h"
#include "engine/tune.h"

static char ws[PATH_MAX];
static const char *dir;

/* A small, quick training configuration. */
static void small(train_options *o)
{
	train_options_default(o);
	o->verbose = 0;
	o->clusters = 3;
	o->factors = 8;
	o->als_iterations = 3;
	o->quality_rounds = 5;
	o->cv_folds = 2;
}

static int setup(void **state)
{
	(void)state;
	dir = tu_tmpdir();
	snprintf(ws, sizeof ws, "%s/ws", dir);
	tu_train_sizes sizes = {.clusters = 3, .factors = 8, .als_iterations = 3, .quality_rounds = 5, .cv_folds = 2};
	return tu_build_workspace(dir, ws, 600, 500, 5, &sizes) < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	tu_rmtree(dir);
	return 0;
}

/* 1 when directory `d` holds a name starting with `prefix`. */
static int has_entry(const char *d, const char *prefix)
{
	DIR *dd = opendir(d);
	assert_non_null(dd);
	struct dirent *e;
	int yes = 0;
	while ((e = readdir(dd)) != NULL)
		yes |= strncmp(e->d_name, prefix, strlen(prefix)) == 0;
	closedir(dd);
	return yes;
}

static void test_tune_on_validation_only(void **state)
{
	(void)state;
	train_options base;
	small(&base);
	tune_options o;
	tune_options_default(&o);
	o.workspace = ws;
	o.base = &base;
	o.max_playlists = 12;
	o.k = 50;
	o.verbose = 0;
	seg_error err = {0};
	int applied = 1;
	train_options t = base;
	assert_int_equal(tune_apply(ws, &t, NULL, &applied, NULL, 0, &err), 0);
	assert_int_equal(applied, 0); /* no tuning.json yet */
	if (tune_run(&o, &err) != 0)
		fail_msg("tune_run: %s", err.msg);
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/tuning.json", ws);
	json_error_t je;
	json_t *root = json_load_file(path, 0, &je);
	assert_non_null(root);
	/* Validation only: not one test (or train) playlist was scored. */
	json_t *read = json_object_get(root, "playlists_read");
	assert_int_equal(json_integer_value(json_object_get(read, "test")), 0);
	assert_int_equal(json_integer_value(json_object_get(read, "train")), 0);
	json_int_t n = json_integer_value(json_object_get(root, "playlists"));
	assert_true(n > 0 && n <= 12);
	/* Every point was scored on the n playlists: 15 grid rows (retrained:
	 * 5 of 2 values and 3 of 3; 3 + 2 hybrid weights of 4 and 2 values; 2
	 * re-ranking rows of 4: 41 points) and the 6 points of the λ curve. */
	size_t npoints = json_array_size(json_object_get(root, "points"));
	assert_int_equal(npoints, 5 * 2 + 3 * 3 + 3 * 4 + 2 * 2 + 2 * 4);
	assert_int_equal(json_integer_value(json_object_get(read, "validation")), (json_int_t)(npoints + 6) * n);
	/* The λ rule: the chosen one is the largest within the budget. */
	json_t *curve = json_object_get(root, "lambda_curve"), *pts = json_object_get(curve, "points");
	assert_int_equal(json_array_size(pts), 6);
	double obj0 = json_number_value(json_object_get(json_array_get(pts, 0), "objective"));
	double chosen = json_number_value(json_object_get(curve, "chosen"));
	for (size_t i = 0; i < json_array_size(pts); i++) {
		json_t *p = json_array_get(pts, i);
		double l = json_number_value(json_object_get(p, "lambda"));
		double ob = json_number_value(json_object_get(p, "objective"));
		if (fabs(l - chosen) < 1e-9)
			assert_true(ob >= (1 - TUNE_LAMBDA_BUDGET) * obj0);
		if (l > chosen + 1e-9)
			assert_true(ob < (1 - TUNE_LAMBDA_BUDGET) * obj0);
	}
	/* The discovery knobs: each takes the last of its listed values (least
	 * to most discovery-leaning) within TUNE_KNOB_BUDGET of its row's best. */
	json_t *ch = json_object_get(root, "chosen");
	static const char *const knobs[] = {"rerank.novelty", "rerank.max_per_artist"};
	for (size_t k = 0; k < 2; k++) {
		json_t *all = json_object_get(root, "points"), *pt;
		size_t j;
		double best = -INFINITY, want = NAN;
		json_array_foreach(all, j,
		                   pt) if (strcmp(json_string_value(json_object_get(pt, "param")), knobs[k]) == 0)
		{
			double ob = json_number_value(json_object_get(pt, "objective"));
			best = ob > best ? ob : best;
		}
		json_array_foreach(all, j,
		                   pt) if (strcmp(json_string_value(json_object_get(pt, "param")), knobs[k]) == 0)
		{
			if (json_number_value(json_object_get(pt, "objective")) >= (1 - TUNE_KNOB_BUDGET) * best)
				want = json_number_value(json_object_get(pt, "value"));
		}
		assert_true(isfinite(want));
		assert_near(json_number_value(json_object_get(ch, knobs[k])), want, 1e-9);
	}
	/* The chosen values are one of each grid row's values, and what
	 * tune_apply hands training. */
	double factors = json_number_value(json_object_get(ch, "als.factors"));
	assert_true(factors == 64 || factors == 128);
	t = base;
	eval_rerank rr = {0};
	char note[PATH_MAX + 128];
	assert_int_equal(tune_apply(ws, &t, &rr, &applied, note, sizeof note, &err), 0);
	assert_int_equal(applied, 1);
	assert_int_equal(t.factors, (int)factors);
	assert_near(t.rp3_alpha, json_number_value(json_object_get(ch, "rp3.alpha")), 1e-6);
	assert_near(t.hybrid.rp3, json_number_value(json_object_get(ch, "hybrid.rp3")), 1e-6);
	assert_near(rr.diversity, chosen, 1e-6);
	/* What the server and `segue recommend` serve by default. */
	assert_int_equal(tune_use_rerank_defaults(ws, &applied, NULL, 0, &err), 0);
	assert_int_equal(applied, 1);
	rec_request d;
	rec_request_default(&d);
	assert_near(d.diversity, chosen, 1e-6);
	assert_near(d.novelty, json_number_value(json_object_get(ch, "rerank.novelty")), 1e-6);
	assert_int_equal(d.max_per_artist, (int)json_number_value(json_object_get(ch, "rerank.max_per_artist")));
	rec_request_set_rerank_defaults(0.3f, 0.1f, 2); /* the code's, for the tests after */
	assert_non_null(strstr(note, "tuning.json"));
	/* The curve as a chart; no temporary left. */
	char svg[PATH_MAX + 32];
	snprintf(svg, sizeof svg, "%s/tuning-lambda.svg", ws);
	FILE *f = fopen(svg, "r");
	assert_non_null(f);
	char head[5] = {0};
	assert_int_equal(fread(head, 1, 4, f), 4);
	fclose(f);
	assert_string_equal(head, "<svg");
	assert_false(has_entry(ws, "tune.tmp"));
	/* The README's summary. */
	char *md = NULL;
	size_t len;
	FILE *out = open_memstream(&md, &len);
	assert_int_equal(tune_markdown(path, out, &err), 0);
	fclose(out);
	assert_non_null(strstr(md, "| als.factors |"));
	assert_non_null(strstr(md, "| diversity λ |"));
	free(md);
	json_decref(root);
}

/* evaluate --runs 2 on the generated data: each run trains its own model
 * (seeds 42 and 43), the cells carry the sd over runs, nothing is left. */
static void test_evaluate_two_runs(void **state)
{
	(void)state;
	train_options t;
	small(&t);
	t.skip_quality_cv = 1;
	eval_options o;
	eval_options_default(&o);
	o.workspace = ws;
	o.k = 30;
	o.runs = 2;
	o.max_playlists = 10;
	o.train = &t;
	char *text = NULL;
	size_t len;
	o.out = open_memstream(&text, &len);
	seg_error err = {0};
	int rc = evaluate_run(&o, &err);
	fclose(o.out);
	if (rc != 0)
		fail_msg("evaluate_run: %s", err.msg);
	assert_non_null(strstr(text, "2 runs"));
	char path[PATH_MAX + 64];
	snprintf(path, sizeof path, "%s/models/v1/evaluation.json", ws);
	json_error_t je;
	json_t *root = json_load_file(path, 0, &je);
	assert_non_null(root);
	json_t *proto = json_object_get(root, "protocol");
	assert_int_equal(json_integer_value(json_object_get(proto, "runs")), 2);
	json_t *seeds = json_object_get(proto, "train_seeds");
	assert_int_equal(json_integer_value(json_array_get(seeds, 0)), 42);
	assert_int_equal(json_integer_value(json_array_get(seeds, 1)), 43);
	/* ALS depends on its seed: a spread over runs; random does not train. */
	json_t *cells = json_object_get(root, "cells"), *c;
	size_t i;
	int als_seen = 0;
	json_array_foreach(cells, i, c)
	{
		if (strcmp(json_string_value(json_object_get(c, "model")), "als") != 0 ||
		    strcmp(json_string_value(json_object_get(c, "source")), "all") != 0)
			continue;
		json_t *sd = json_object_get(json_object_get(json_object_get(c, "metrics"), "r_precision"), "run_sd");
		assert_true(json_is_number(sd));
		als_seen++;
	}
	assert_int_equal(als_seen, 6);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(root, "playlists_read"), "test")),
	                 2 * json_integer_value(json_object_get(root, "playlists")));
	assert_false(has_entry(ws, "eval.tmp"));
	free(text);
	json_decref(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tune_on_validation_only),
		cmocka_unit_test(test_evaluate_two_runs),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
