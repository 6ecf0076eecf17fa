/* cmd_runs.c: `segue runs list|show RUN|compare RUN RUN`: reads the tracked
 * runs that the pipeline and `segue train` write in MLflow's file-store
 * layout under WORKSPACE/mlruns (or --mlruns DIR). A thin layer: the layout,
 * the reader and the printed forms are runs.h's. Exit codes: 0 ok, 1
 * failed (an unknown or ambiguous run, an unreadable tree), 2 bad usage.
 * Also what `segue train` records as a run (cli__train_track_*). */
#include "cli/cli_internal.h"

#include <ctype.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "catalog/catalog.h"
#include "catalog/workspace.h"
#include "core/container.h"
#include "core/strbuf.h"
#include "engine/evaluate.h"
#include "engine/train.h"
#include "pipeline/runs.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };
enum { O_JSON = 256, O_MLRUNS };

static void runs_help(FILE *f)
{
	fprintf(f, "usage: segue runs list [--json] [--workspace DIR | --mlruns DIR]\n"
	           "       segue runs show RUN [--json] [--workspace DIR | --mlruns DIR]\n"
	           "       segue runs compare RUN RUN [--json] [--workspace DIR | --mlruns DIR]\n\n"
	           "Reads the tracked runs (MLflow's file-store layout, which `mlflow ui\n"
	           "--backend-store-uri WORKSPACE/" MLRUNS_DIR "` browses too).\n\n"
	           "  list                 every run, newest first: id, experiment, name, status,\n"
	           "                       start, duration, its first metrics\n"
	           "  show RUN             one run: parameters, metrics (last value, step, points),\n"
	           "                       tags, artifacts\n"
	           "  compare RUN RUN      parameters and metrics side by side, b - a, and '*'\n"
	           "                       where they differ\n"
	           "RUN is a run id or a prefix of one that names one run.\n\n"
	           "      --json           one JSON document instead of text\n"
	           "  -w, --workspace DIR  workspace (default $SEGUE_HOME, else ./segue-data); runs are\n"
	           "                       in WORKSPACE/" MLRUNS_DIR "\n"
	           "      --mlruns DIR     read runs from DIR instead\n"
	           "  -h, --help           this text\n\n"
	           "Example:\n"
	           "  segue runs compare 3f2a 9c1d\n");
}

int cli__runs(int argc, char **argv)
{
	if (argc < 2) {
		runs_help(stderr);
		return EXIT_USAGE;
	}
	const char *sub = argv[1];
	if (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0 || strcmp(sub, "help") == 0) {
		runs_help(stdout);
		return EXIT_OK;
	}
	int want; /* RUN arguments the subcommand takes */
	if (strcmp(sub, "list") == 0)
		want = 0;
	else if (strcmp(sub, "show") == 0)
		want = 1;
	else if (strcmp(sub, "compare") == 0)
		want = 2;
	else {
		fprintf(stderr, "segue runs: unknown command '%s'\n\n", sub);
		runs_help(stderr);
		return EXIT_USAGE;
	}
	char cmd[32];
	snprintf(cmd, sizeof cmd, "runs %s", sub);
	static const struct option opts[] = {{"json", no_argument, NULL, O_JSON},
	                                     {"workspace", required_argument, NULL, 'w'},
	                                     {"mlruns", required_argument, NULL, O_MLRUNS},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {0}};
	const char *ws = NULL, *mlruns = NULL;
	int json = 0, c;
	optind = 0; /* the subcommand parses its own options afresh */
	argc--, argv++;
	while ((c = getopt_long(argc, argv, "w:h", opts, NULL)) != -1) {
		switch (c) {
		case 'w': ws = optarg; break;
		case O_MLRUNS: mlruns = optarg; break;
		case O_JSON: json = 1; break;
		case 'h': runs_help(stdout); return EXIT_OK;
		default: return cli__usage_error(cmd, "%s", "unknown option");
		}
	}
	if (ws && mlruns)
		return cli__usage_error(cmd, "%s", "give --workspace or --mlruns, not both");
	if (argc - optind < want)
		return cli__usage_error(cmd, "%s", want == 1 ? "give the RUN to show" : "give two RUNs to compare");
	if (argc - optind > want)
		return cli__usage_error(cmd, "unexpected argument '%s'", argv[optind + want]);
	char dir[PATH_MAX];
	if (!mlruns) {
		char wsbuf[PATH_MAX];
		const char *w = catalog_workspace(ws, wsbuf, sizeof wsbuf);
		if ((size_t)snprintf(dir, sizeof dir, "%s/%s", w, MLRUNS_DIR) >= sizeof dir)
			return cli__usage_error(cmd, "%s", "the workspace's path is too long");
		mlruns = dir;
	}
	seg_error err = {0};
	strbuf sb = {0};
	mlrun_info a = {0}, b = {0}, *list = NULL;
	size_t n = 0;
	int rc;
	if (want == 0) {
		rc = mlrun_list(mlruns, &list, &n, &err);
		if (rc == 0)
			mlrun_format_list(&sb, list, n, json);
	} else {
		rc = mlrun_read(mlruns, argv[optind], &a, &err);
		if (rc == 0 && want == 2)
			rc = mlrun_read(mlruns, argv[optind + 1], &b, &err);
		if (rc == 0 && want == 1)
			mlrun_format_show(&sb, &a, json);
		else if (rc == 0)
			mlrun_format_compare(&sb, &a, &b, json);
	}
	int code = EXIT_OK;
	if (rc < 0) {
		code = cli__fail(&err);
	} else if (sb.oom) {
		seg_error_set(&err, SEG_ENOMEM, "out of memory printing the runs");
		code = cli__fail(&err);
	} else {
		fputs(strbuf_cstr(&sb), stdout);
	}
	strbuf_free(&sb);
	mlrun_info_free(&a);
	mlrun_info_free(&b);
	mlrun_list_free(list, n);
	return code;
}

/* ---- `segue train` as a tracked run ---- */

static void track_warn(const seg_error *err) { fprintf(stderr, "segue train: the run is not tracked: %s\n", err->msg); }

/* Starts a run of `command` ("train", "evaluate") in the experiment "segue
 * COMMAND" of the workspace's mlruns; NULL, with a warning, when it cannot. */
static mlrun *command_run_start(const char *workspace, const char *command)
{
	char dir[PATH_MAX], experiment[64];
	seg_error err = {0};
	mlrun *r = NULL;
	snprintf(experiment, sizeof experiment, "segue %s", command);
	if ((size_t)snprintf(dir, sizeof dir, "%s/%s", workspace, MLRUNS_DIR) >= sizeof dir)
		seg_error_set(&err, SEG_EINVAL, "the workspace's path is too long");
	else if (mlrun_start(dir, experiment, command, &r, &err) == 0)
		return r;
	fprintf(stderr, "segue %s: the run is not tracked: %s\n", command, err.msg);
	return NULL;
}

mlrun *cli__train_track_start(const train_options *o)
{
	seg_error err = {0};
	mlrun *r = command_run_start(o->workspace, "train");
	if (r == NULL)
		return NULL;
	/* The options as train used them (after tuning.json and the command line). */
	const struct {
		const char *key;
		double v;
	} P[] = {
		{"clusters", o->clusters},
		{"als.factors", o->factors},
		{"als.iterations", o->als_iterations},
		{"als.alpha", o->als_alpha},
		{"als.lambda", o->als_lambda},
		{"quality.rounds", o->quality_rounds},
		{"quality.cv_folds", o->cv_folds},
		{"cooc.neighbours", o->cooc_neighbours},
		{"ease.lambda", o->ease_lambda},
		{"ease.items", o->ease_items},
		{"ease.neighbours", o->ease_neighbours},
		{"rp3.alpha", o->rp3_alpha},
		{"rp3.beta", o->rp3_beta},
		{"rp3.neighbours", o->rp3_neighbours},
		{"hybrid.content", o->hybrid.content},
		{"hybrid.cooc", o->hybrid.cooc},
		{"hybrid.als", o->hybrid.als},
		{"hybrid.ease", o->hybrid.ease},
		{"hybrid.rp3", o->hybrid.rp3},
	};
	int rc = 0;
	char v[64];
	for (size_t i = 0; i < sizeof P / sizeof *P && rc == 0; i++) {
		snprintf(v, sizeof v, "%.7g", P[i].v); /* the floats' own precision: 0.1, not 0.100000001 */
		rc = mlrun_param(r, P[i].key, v, &err);
	}
	snprintf(v, sizeof v, "%llu", (unsigned long long)o->seed);
	if (rc == 0)
		rc = mlrun_param(r, "seed", v, &err);
	int64_t stamp[CATALOG_STAMP];
	if (rc == 0 && workspace_catalog_stamp(o->workspace, stamp, &err) == 0) {
		snprintf(v, sizeof v, "%llx-%llx-%llx-%llx", (unsigned long long)stamp[0], (unsigned long long)stamp[1],
		         (unsigned long long)stamp[2], (unsigned long long)stamp[3]);
		rc = mlrun_tag(r, "segue.data_hash", v, &err);
	}
	if (rc < 0) {
		track_warn(&err);
		mlrun_end(r, "FAILED", &err);
		return NULL;
	}
	return r;
}

void cli__train_track_end(mlrun *r, const train_options *o, const char *version)
{
	if (!r)
		return;
	seg_error err = {0};
	if (!version) {
		mlrun_end(r, "FAILED", &err);
		return;
	}
	char path[PATH_MAX];
	container_file *m = NULL;
	int rc = train_model_path(o->workspace, version, path, sizeof path, &err);
	if (rc == 0)
		rc = mlrun_tag(r, "mlflow.runName", version, &err);
	if (rc == 0)
		rc = mlrun_tag(r, "segue.model_version", version, &err);
	if (rc == 0)
		rc = container_file_open(&m, path, &err);
	/* The model's figures: ALS's loss per iteration (cf.als_loss, step =
	 * iteration), k-means inertia (map.inertia), the quality prior's
	 * cross-validation... */
	size_t size;
	const char *meta = m ? container_file_section(m, MS_META, &size) : NULL;
	if (rc == 0 && meta && size > 0 && meta[size - 1] == '\0')
		rc = mlrun_metrics_json(r, "", meta, 0, &err);
	container_file_close(m);
	if (rc == 0)
		rc = mlrun_artifact(r, path, "model.seg", &err);
	if (rc < 0)
		track_warn(&err);
	if (mlrun_end(r, rc < 0 ? "FAILED" : "FINISHED", &err) < 0 && rc == 0)
		track_warn(&err);
}

/* ---- `segue evaluate` as a tracked run ---- */

static void eval_track_warn(const seg_error *err)
{
	fprintf(stderr, "segue evaluate: the run is not tracked: %s\n", err->msg);
}

mlrun *cli__evaluate_track_start(const eval_options *o)
{
	seg_error err = {0};
	mlrun *r = command_run_start(o->workspace, "evaluate");
	if (r == NULL)
		return NULL;
	char v[64];
	int rc = mlrun_param(r, "model", o->runs > 1 ? "trained per run" : o->artifact ? o->artifact : "latest", &err);
	if (rc == 0)
		rc = mlrun_param(r, "split", o->split == CATALOG_SPLIT_VALID ? "validation" : "test", &err);
	snprintf(v, sizeof v, "%zu", o->max_playlists);
	if (rc == 0)
		rc = mlrun_param(r, "max_playlists", v, &err);
	snprintf(v, sizeof v, "%d", o->runs);
	if (rc == 0)
		rc = mlrun_param(r, "runs", v, &err);
	snprintf(v, sizeof v, "%zu", o->k);
	if (rc == 0)
		rc = mlrun_param(r, "k", v, &err);
	if (rc < 0) {
		eval_track_warn(&err);
		mlrun_end(r, "FAILED", &err);
		return NULL;
	}
	return r;
}

void cli__evaluate_track_end(mlrun *r, const char *table)
{
	if (!r)
		return;
	seg_error err = {0};
	if (!table || !table[0]) {
		mlrun_end(r, "FAILED", &err);
		return;
	}
	json_error_t je;
	json_t *root = json_load_file(table, 0, &je), *cell;
	int rc = root ? 0 : seg_error_set(&err, SEG_EFORMAT, "cannot read %s: %s", table, je.text);
	const char *model = json_string_value(json_object_get(root, "model"));
	if (rc == 0 && model) {
		/* ".../models/v3/model.seg": the version is its directory's name. */
		char buf[PATH_MAX];
		snprintf(buf, sizeof buf, "%s", model);
		char *slash = strrchr(buf, '/');
		if (slash) {
			*slash = '\0';
			slash = strrchr(buf, '/');
		}
		if (slash && slash[1] == 'v')
			rc = mlrun_tag(r, "segue.model_version", slash + 1, &err);
	}
	size_t i;
	json_array_foreach(json_object_get(root, "cells"), i, cell)
	{
		const char *m = json_string_value(json_object_get(cell, "model"));
		const char *c = json_string_value(json_object_get(cell, "case"));
		const char *src = json_string_value(json_object_get(cell, "source"));
		if (rc < 0 || !m || !c || !src || strcmp(src, "all") != 0)
			continue;
		const char *name;
		json_t *stat;
		json_object_foreach(json_object_get(cell, "metrics"), name, stat)
		{
			json_t *mean = json_object_get(stat, "mean");
			char raw[256], key[300];
			snprintf(raw, sizeof raw, "%s.%s.%s", m, c, name);
			/* MLflow's keys take letters, digits and _-. /: recall@k is recall_at_k. */
			size_t kl = 0;
			for (const char *p = raw; *p && kl + 5 < sizeof key; p++) {
				if (*p == '@') {
					memcpy(key + kl, "_at_", 4);
					kl += 4;
				} else {
					key[kl++] = isalnum((unsigned char)*p) || strchr("_-. /", *p) ? *p : '_';
				}
			}
			key[kl] = '\0';
			if (rc == 0 && json_is_number(mean))
				rc = mlrun_metric(r, key, json_number_value(mean), 0, 0, &err);
		}
	}
	json_decref(root);
	if (rc == 0)
		rc = mlrun_artifact(r, table, "evaluation.json", &err);
	if (rc < 0)
		eval_track_warn(&err);
	if (mlrun_end(r, rc < 0 ? "FAILED" : "FINISHED", &err) < 0 && rc == 0)
		eval_track_warn(&err);
}
