/* test_runs.c: tracked runs in MLflow's file-store layout: the files a run
 * leaves (experiment and run meta.yaml, params, metric lines, tags,
 * artifacts), a parameter that cannot change, names MLflow would refuse,
 * distinct ids for concurrent runs of one experiment, the reader's round
 * trip, `runs compare` marking the difference of two runs with other ALS
 * factors, and the tree accepted by an independent checker written from
 * MLflow's format (tests/golden/mlflow_layout_check.py), which in turn
 * rejects a tree missing a required field. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pipeline/runs.h"

static const char HEX[] = "0123456789abcdef";

static char *path_of(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 2;
	char *p = malloc(n);
	assert_non_null(p);
	snprintf(p, n, "%s/%s", a, b);
	return p;
}

static char *slurp(const char *dir, const char *name)
{
	char *p = path_of(dir, name);
	char *t = tu_read(p, NULL);
	free(p);
	return t;
}

static int exists(const char *dir, const char *name)
{
	char *p = path_of(dir, name);
	struct stat st;
	int ok = stat(p, &st) == 0;
	free(p);
	return ok;
}

/* A finished run with ALS parameters, a loss curve, a tag and an artifact;
 * its id into id[33]. */
static void write_run(const char *mlruns, const char *name, int factors, double final_loss, char *id)
{
	seg_error err = {0};
	mlrun *r;
	assert_int_equal(mlrun_start(mlruns, "segue", name, &r, &err), 0);
	char v[32];
	snprintf(v, sizeof v, "%d", factors);
	assert_int_equal(mlrun_param(r, "als.factors", v, &err), 0);
	assert_int_equal(mlrun_param(r, "als.lambda", "0.1", &err), 0);
	for (int it = 0; it < 5; it++)
		assert_int_equal(
			mlrun_metric(r, "als.loss", final_loss + (4 - it) * 10.0, it, 1700000000000 + it, &err), 0);
	assert_int_equal(mlrun_metric(r, "r_precision", 0.1 + factors / 1000.0, 0, 0, &err), 0);
	assert_int_equal(mlrun_tag(r, "segue.data_hash", "abc123", &err), 0);
	const char *src = tu_write(tu_group_dir, "model.seg", "model bytes\n");
	assert_int_equal(mlrun_artifact(r, src, "model.seg", &err), 0);
	assert_int_equal(mlrun_artifact(r, src, "eval/evaluation.json", &err), 0);
	snprintf(id, 33, "%s", mlrun_id(r));
	assert_int_equal(mlrun_end(r, "FINISHED", &err), 0);
}

static void test_layout(void **state)
{
	(void)state;
	char *mlruns = path_of(tu_group_dir, "layout/mlruns");
	char id[33];
	write_run(mlruns, "first", 32, 5.0, id);
	assert_int_equal(strlen(id), 32);
	assert_int_equal(strspn(id, "0123456789abcdef"), 32);
	assert_true(exists(mlruns, ".trash"));
	char *emeta = slurp(mlruns, "1/meta.yaml");
	assert_non_null(emeta);
	assert_non_null(strstr(emeta, "name: 'segue'\n"));
	assert_non_null(strstr(emeta, "experiment_id: '1'\n"));
	assert_non_null(strstr(emeta, "lifecycle_stage: 'active'\n"));
	free(emeta);
	char *rdir = path_of(mlruns, "1");
	char *run = path_of(rdir, id);
	char *meta = slurp(run, "meta.yaml");
	assert_non_null(meta);
	char want[128];
	snprintf(want, sizeof want, "run_id: '%s'\n", id);
	assert_non_null(strstr(meta, want));
	assert_non_null(strstr(meta, "status: 3\n")); /* FINISHED */
	assert_non_null(strstr(meta, "artifact_uri: 'file:///"));
	assert_non_null(strstr(meta, "experiment_id: '1'\n"));
	assert_non_null(strstr(meta, "run_name: 'first'\n"));
	assert_null(strstr(meta, "end_time: null"));
	char *v = slurp(run, "params/als.factors");
	assert_string_equal(v, "32");
	free(v);
	v = slurp(run, "tags/mlflow.runName");
	assert_string_equal(v, "first");
	free(v);
	/* The commit the build was made from (meson's vcs_tag), or "unknown". */
	v = slurp(run, "tags/mlflow.source.git.commit");
	assert_true(strcmp(v, "unknown") == 0 || (strlen(v) == 40 && strspn(v, HEX) == 40));
	free(v);
	assert_true(exists(run, "tags/mlflow.user"));
	v = slurp(run, "artifacts/model.seg");
	assert_string_equal(v, "model bytes\n");
	free(v);
	assert_true(exists(run, "artifacts/eval/evaluation.json"));
	/* Metric lines: "timestamp value step", one a point, in order. */
	v = slurp(run, "metrics/als.loss");
	assert_non_null(v);
	char *line = v;
	for (int it = 0; it < 5; it++) {
		long long ts, step;
		double val;
		assert_int_equal(sscanf(line, "%lld %lf %lld", &ts, &val, &step), 3);
		assert_int_equal(ts, 1700000000000 + it);
		assert_int_equal(step, it);
		assert_near(val, 5.0 + (4 - it) * 10.0, 1e-12);
		line = strchr(line, '\n');
		assert_non_null(line);
		line++;
	}
	assert_string_equal(line, "");
	free(v);
	/* The Default experiment is id 0. */
	seg_error err = {0};
	mlrun *r;
	assert_int_equal(mlrun_start(mlruns, "Default", "d", &r, &err), 0);
	assert_non_null(strstr(mlrun_dir(r), "/mlruns/0/"));
	char *open_meta = slurp(mlrun_dir(r), "meta.yaml");
	assert_non_null(strstr(open_meta, "end_time: null\n"));
	assert_non_null(strstr(open_meta, "status: 1\n")); /* RUNNING */
	free(open_meta);
	assert_int_equal(mlrun_end(r, "DONE", &err), SEG_EINVAL); /* not a status; r freed */
	free(meta);
	free(run);
	free(rdir);
	free(mlruns);
}

static void test_params_immutable(void **state)
{
	(void)state;
	char *mlruns = path_of(tu_group_dir, "params/mlruns");
	seg_error err = {0};
	mlrun *r;
	assert_int_equal(mlrun_start(mlruns, "segue", "p", &r, &err), 0);
	assert_int_equal(mlrun_param(r, "k", "1", &err), 0);
	assert_int_equal(mlrun_param(r, "k", "1", &err), 0); /* the same value again: fine */
	assert_int_equal(mlrun_param(r, "k", "2", &err), SEG_EINVAL);
	assert_non_null(strstr(err.msg, "cannot change"));
	char *v = slurp(mlrun_dir(r), "params/k");
	assert_string_equal(v, "1");
	free(v);
	/* A tag may change. */
	assert_int_equal(mlrun_tag(r, "t", "a", &err), 0);
	assert_int_equal(mlrun_tag(r, "t", "b", &err), 0);
	v = slurp(mlrun_dir(r), "tags/t");
	assert_string_equal(v, "b");
	free(v);
	assert_int_equal(mlrun_end(r, "KILLED", &err), 0);
	free(mlruns);
}

static void test_bad_names(void **state)
{
	(void)state;
	char *mlruns = path_of(tu_group_dir, "names/mlruns");
	seg_error err = {0};
	mlrun *r = (mlrun *)1;
	assert_int_equal(mlrun_start(mlruns, "", "x", &r, &err), SEG_EINVAL);
	assert_null(r);
	assert_int_equal(mlrun_start(mlruns, "e", "a\nb", &r, &err), SEG_EINVAL);
	assert_int_equal(mlrun_start(mlruns, "e", "ok", &r, &err), 0);
	static const char *const BAD[] = {"", "../x", "a/../b", "/abs", "a//b", "a/", ".", "a:b", "tab\tkey", "é"};
	for (size_t i = 0; i < sizeof BAD / sizeof *BAD; i++) {
		assert_int_equal(mlrun_param(r, BAD[i], "1", &err), SEG_EINVAL);
		assert_int_equal(mlrun_metric(r, BAD[i], 1, 0, 0, &err), SEG_EINVAL);
		assert_int_equal(mlrun_tag(r, BAD[i], "1", &err), SEG_EINVAL);
	}
	char longkey[300];
	memset(longkey, 'k', sizeof longkey - 1);
	longkey[sizeof longkey - 1] = '\0';
	assert_int_equal(mlrun_param(r, longkey, "1", &err), SEG_EINVAL);
	longkey[250] = '\0';
	assert_int_equal(mlrun_param(r, longkey, "1", &err), 0); /* 250: MLflow's limit */
	char *big = malloc(6002);
	memset(big, 'v', 6001);
	big[6001] = '\0';
	assert_int_equal(mlrun_param(r, "big", big, &err), SEG_EINVAL);
	big[6000] = '\0';
	assert_int_equal(mlrun_param(r, "big", big, &err), 0);
	free(big);
	/* Slashes, spaces, dashes, periods: good names, '/' a subdirectory. */
	assert_int_equal(mlrun_param(r, "model/als factors-x.y", "3", &err), 0);
	assert_true(exists(mlrun_dir(r), "params/model/als factors-x.y"));
	assert_false(exists(mlruns, "x")); /* "../x" wrote nothing */
	assert_int_equal(mlrun_end(r, "FINISHED", &err), 0);
	free(mlruns);
}

static void test_concurrent_ids(void **state)
{
	(void)state;
	char *mlruns = path_of(tu_group_dir, "conc/mlruns");
	enum { N = 6 };
	int pipes[N][2];
	pid_t pid[N];
	for (int i = 0; i < N; i++) {
		assert_int_equal(pipe(pipes[i]), 0);
		pid[i] = fork();
		assert_true(pid[i] >= 0);
		if (pid[i] == 0) {
			seg_error err = {0};
			mlrun *r;
			char id[33] = "";
			if (mlrun_start(mlruns, "together", "c", &r, &err) == 0) {
				snprintf(id, sizeof id, "%s", mlrun_id(r));
				mlrun_end(r, "FINISHED", &err);
			}
			ssize_t w = write(pipes[i][1], id, 32);
			_exit(w == 32 ? 0 : 1);
		}
		close(pipes[i][1]);
	}
	char ids[N][33];
	for (int i = 0; i < N; i++) {
		int st;
		assert_int_equal(waitpid(pid[i], &st, 0), pid[i]);
		assert_int_equal(WEXITSTATUS(st), 0);
		assert_int_equal(read(pipes[i][0], ids[i], 32), 32);
		ids[i][32] = '\0';
		close(pipes[i][0]);
		for (int j = 0; j < i; j++)
			assert_string_not_equal(ids[i], ids[j]);
	}
	/* One experiment, not one per writer, and every run in it. */
	mlrun_info *runs;
	size_t n;
	seg_error err = {0};
	assert_int_equal(mlrun_list(mlruns, &runs, &n, &err), 0);
	assert_int_equal(n, N);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(runs[i].experiment, "together");
		assert_string_equal(runs[i].experiment_id, "1");
	}
	assert_false(exists(mlruns, "2"));
	mlrun_list_free(runs, n);
	free(mlruns);
}

static void test_reader(void **state)
{
	(void)state;
	char *mlruns = path_of(tu_group_dir, "reader/mlruns");
	char a[33], b[33];
	write_run(mlruns, "als32", 32, 7.5, a);
	write_run(mlruns, "als64", 64, 3.25, b);
	mlrun_info r;
	seg_error err = {0};
	/* A prefix that names one run is enough. */
	char pre[13];
	memcpy(pre, b, 12);
	pre[12] = '\0';
	assert_int_equal(mlrun_read(mlruns, pre, &r, &err), 0);
	assert_string_equal(r.run_id, b);
	assert_string_equal(r.name, "als64");
	assert_string_equal(r.experiment, "segue");
	assert_string_equal(r.status, "FINISHED");
	assert_true(r.end_ms >= r.start_ms && r.start_ms > 0);
	assert_string_equal(mlrun_info_param(&r, "als.factors"), "64");
	assert_string_equal(mlrun_info_tag(&r, "mlflow.runName"), "als64");
	const mlrun_series *loss = mlrun_info_metric(&r, "als.loss");
	assert_non_null(loss);
	assert_int_equal(loss->n, 5);
	assert_int_equal(loss->last_step, 4);
	assert_near(loss->last, 3.25, 1e-12);
	assert_int_equal(r.nartifacts, 2);
	assert_string_equal(r.artifacts[0].path, "eval/evaluation.json");
	assert_string_equal(r.artifacts[1].path, "model.seg");
	assert_int_equal(r.artifacts[1].bytes, 12);
	strbuf sb = {0};
	mlrun_format_show(&sb, &r, 0);
	assert_non_null(strstr(strbuf_cstr(&sb), "als.factors"));
	assert_non_null(strstr(strbuf_cstr(&sb), "5 points"));
	strbuf_free(&sb);
	mlrun_info_free(&r);
	mlrun_info_free(&r); /* freed twice: a no-op */
	/* A writer's temporaries (left by a crash) are not parameters; a key
	 * that merely looks like one is. */
	char *pdir = path_of(mlruns, "1");
	char *rdir = path_of(pdir, b);
	char *params = path_of(rdir, "params");
	tu_write(params, "als.factors.tmp.Ab12Cd", "99");
	tu_write(params, ".long0123456789abcdef", "99");
	tu_write(params, "x.tmp.y", "5");
	assert_int_equal(mlrun_read(mlruns, b, &r, &err), 0);
	assert_int_equal(r.nparams, 3);
	assert_string_equal(mlrun_info_param(&r, "x.tmp.y"), "5");
	assert_string_equal(mlrun_info_param(&r, "als.factors"), "64");
	mlrun_info_free(&r);
	free(params);
	free(rdir);
	free(pdir);
	assert_int_equal(mlrun_read(mlruns, "ffffffffffffffffffffffffffffffff", &r, &err), SEG_ENOTFOUND);
	assert_int_equal(mlrun_read(mlruns, "xyz", &r, &err), SEG_ENOTFOUND);
	for (size_t i = 0; pre[i]; i++) /* an uppercase id is the same id */
		pre[i] = (char)(pre[i] >= 'a' ? pre[i] - 'a' + 'A' : pre[i]);
	assert_int_equal(mlrun_read(mlruns, pre, &r, &err), 0);
	assert_string_equal(r.run_id, b);
	mlrun_info_free(&r);
	assert_int_equal(mlrun_read(mlruns, "nowhere", &r, &err), SEG_ENOTFOUND);
	mlrun_info *runs;
	size_t n;
	assert_int_equal(mlrun_list(mlruns, &runs, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_true(runs[0].start_ms >= runs[1].start_ms); /* newest first */
	/* Compare: the ALS factors differ and are marked, with b - a. */
	mlrun_info *ra = strcmp(runs[0].run_id, a) == 0 ? &runs[0] : &runs[1];
	mlrun_info *rb = ra == &runs[0] ? &runs[1] : &runs[0];
	mlrun_format_compare(&sb, ra, rb, 0);
	const char *t = strbuf_cstr(&sb);
	const char *line = strstr(t, "* als.factors");
	assert_non_null(line);
	assert_non_null(strstr(line, "32"));
	assert_non_null(strstr(line, "64"));
	assert_non_null(strstr(line, "+32"));
	assert_non_null(strstr(t, "  als.lambda")); /* the same: no mark */
	assert_null(strstr(t, "* als.lambda"));
	line = strstr(t, "* als.loss");
	assert_non_null(line);
	assert_non_null(strstr(line, "-4.25"));
	strbuf_reset(&sb);
	mlrun_format_compare(&sb, ra, rb, 1);
	assert_non_null(strstr(strbuf_cstr(&sb),
	                       "{\"key\":\"als.factors\",\"a\":\"32\",\"b\":\"64\",\"diff\":32,\"differs\":true}"));
	assert_non_null(strstr(strbuf_cstr(&sb),
	                       "\"key\":\"als.lambda\",\"a\":\"0.1\",\"b\":\"0.1\",\"diff\":0,\"differs\":false"));
	strbuf_free(&sb);
	mlrun_list_free(runs, n);
	/* An empty or missing tree lists nothing. */
	char *none = path_of(tu_group_dir, "reader/none");
	assert_int_equal(mlrun_list(none, &runs, &n, &err), 0);
	assert_int_equal(n, 0);
	free(none);
	free(mlruns);
}

/* The independent checker accepts what the writer made and rejects it with
 * a required field removed. */
static void test_checker(void **state)
{
	(void)state;
	if (access("/usr/bin/python3", X_OK) != 0) {
		print_message("no /usr/bin/python3\n");
		skip();
	}
	char script[1024];
	assert_non_null(tu_golden_path("mlflow_layout_check.py", script, sizeof script));
	char *mlruns = path_of(tu_group_dir, "check/mlruns");
	char a[33], b[33];
	write_run(mlruns, "als32", 32, 7.5, a);
	write_run(mlruns, "als64", 64, 3.25, b);
	seg_error err = {0};
	mlrun *r;
	assert_int_equal(mlrun_start(mlruns, "Default", "still running", &r, &err), 0);
	char cmd[4096];
	snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s %s 2>&1", script, mlruns);
	char *out = NULL;
	int rc = tu_run(cmd, &out);
	print_message("%s", out ? out : "");
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "2 experiments, 3 runs, 12 metric points"));
	free(out);
	mlrun_end(r, "FINISHED", &err);
	/* Remove the status line of one run's meta.yaml. */
	char *rdir = path_of(mlruns, "1");
	char *run = path_of(rdir, a);
	char *meta_path = path_of(run, "meta.yaml");
	char *meta = tu_read(meta_path, NULL);
	char *st = strstr(meta, "status: 3\n");
	assert_non_null(st);
	memmove(st, st + strlen("status: 3\n"), strlen(st + strlen("status: 3\n")) + 1);
	FILE *f = fopen(meta_path, "w");
	fputs(meta, f);
	fclose(f);
	rc = tu_run(cmd, &out);
	assert_int_not_equal(rc, 0);
	assert_non_null(strstr(out, "field status missing"));
	free(out);
	/* A metric line whose value is not a number is refused too (meta.yaml restored). */
	snprintf(cmd, sizeof cmd, "printf '1 abc 2\\n' >> %s/metrics/als.loss", run);
	assert_int_equal(tu_run(cmd, NULL), 0);
	f = fopen(meta_path, "w");
	fputs(meta, f);
	fputs("status: 3\n", f);
	fclose(f);
	snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s %s 2>&1", script, mlruns);
	rc = tu_run(cmd, &out);
	assert_int_not_equal(rc, 0);
	assert_non_null(strstr(out, "timestamp value step"));
	free(out);
	/* ... and so does segue's own reader. */
	mlrun_info info;
	assert_int_equal(mlrun_read(mlruns, a, &info, &err), SEG_EFORMAT);
	free(meta);
	free(meta_path);
	free(run);
	free(rdir);
	free(mlruns);
}

/* A model's metadata as metrics: numbers, arrays of numbers (step = index),
 * nested names joined by '.'; anything else skipped. */
static void test_metrics_json(void **state)
{
	(void)state;
	char *mlruns = path_of(tu_group_dir, "json/mlruns");
	seg_error err = {0};
	mlrun *r;
	assert_int_equal(mlrun_start(mlruns, "segue", "j", &r, &err), 0);
	const char *meta = "{\"cf\":{\"als_loss\":[3,2.5,1],\"trained\":true,\"factors\":64},"
			   "\"map\":{\"inertia\":5.5,\"clusters\":[{\"k\":1}],\"words\":\"x\"},\"bad key!\":1}";
	assert_int_equal(mlrun_metrics_json(r, "", meta, 1000, &err), 0);
	assert_int_equal(mlrun_metrics_json(r, "eval.", "{\"r_precision\":0.25}", 1000, &err), 0);
	assert_int_equal(mlrun_metrics_json(r, "x", "{\"y\":{\"z\":2}}", 1000, &err), 0);
	assert_int_equal(mlrun_metrics_json(r, "", "{nope", 0, &err), SEG_EFORMAT);
	char id[33];
	snprintf(id, sizeof id, "%s", mlrun_id(r));
	char *v = slurp(mlrun_dir(r), "metrics/cf.als_loss");
	assert_string_equal(v, "1000 3 0\n1000 2.5 1\n1000 1 2\n");
	free(v);
	assert_int_equal(mlrun_end(r, "FINISHED", &err), 0);
	mlrun_info info;
	assert_int_equal(mlrun_read(mlruns, id, &info, &err), 0);
	assert_int_equal(info.nmetrics, 5); /* cf.als_loss cf.factors eval.r_precision map.inertia x.y.z */
	assert_near(mlrun_info_metric(&info, "map.inertia")->last, 5.5, 0);
	assert_near(mlrun_info_metric(&info, "eval.r_precision")->last, 0.25, 0);
	assert_near(mlrun_info_metric(&info, "x.y.z")->last, 2, 0);
	assert_near(mlrun_info_metric(&info, "cf.als_loss")->last, 1, 0);
	mlrun_info_free(&info);
	free(mlruns);
}

/* `segue runs`: the acceptance (compare two runs with other ALS factors),
 * prefixes, unknown and ambiguous runs, bad usage. */
static void test_cli(void **state)
{
	(void)state;
	char *mlruns = path_of(tu_group_dir, "cli/mlruns");
	char a[33], b[33];
	write_run(mlruns, "als32", 32, 7.5, a);
	write_run(mlruns, "als64", 64, 3.25, b);
	char pa[9], pb[9];
	memcpy(pa, a, 8);
	memcpy(pb, b, 8);
	pa[8] = pb[8] = '\0';
	char *out;
	assert_int_equal(tu_cli(&out, "runs", "compare", pa, pb, "--mlruns", mlruns, NULL), 0);
	print_message("%s", out);
	const char *line = strstr(out, "* als.factors");
	assert_non_null(line);
	assert_non_null(strstr(line, "+32"));
	assert_non_null(strstr(out, a));
	assert_non_null(strstr(out, b));
	free(out);
	assert_int_equal(tu_cli(&out, "runs", "compare", a, b, "--json", "--mlruns", mlruns, NULL), 0);
	assert_non_null(strstr(out, "\"key\":\"als.factors\",\"a\":\"32\",\"b\":\"64\""));
	free(out);
	assert_int_equal(tu_cli(&out, "runs", "list", "--mlruns", mlruns, NULL), 0);
	assert_non_null(strstr(out, "als32"));
	assert_non_null(strstr(out, "FINISHED"));
	assert_non_null(strstr(out, " r_precision=0.132 als.loss=7.5\n")); /* the key metrics first */
	free(out);
	assert_int_equal(tu_cli(&out, "runs", "show", pb, "--json", "--mlruns", mlruns, NULL), 0);
	assert_non_null(strstr(out, "\"als.loss\":{\"last\":3.25,\"step\":4"));
	free(out);
	/* The workspace's mlruns/ is the default. */
	char *ws = path_of(tu_group_dir, "cli");
	assert_int_equal(tu_cli(&out, "runs", "show", a, "--workspace", ws, NULL), 0);
	assert_non_null(strstr(out, "als32"));
	free(out);
	free(ws);
	assert_int_equal(tu_cli(&out, "runs", "show", "0123456789abcdef0123456789abcdef", "--mlruns", mlruns, NULL), 1);
	assert_non_null(strstr(out, "no run 0123456789abcdef0123456789abcdef"));
	free(out);
	/* Runs until two share a first digit: that digit is ambiguous. */
	int count[16] = {0};
	char one[2] = {0};
	count[strchr(HEX, a[0]) - HEX]++;
	if (++count[strchr(HEX, b[0]) - HEX] == 2)
		one[0] = b[0];
	for (int i = 0; i < 17 && !one[0]; i++) {
		char id[33];
		write_run(mlruns, "more", 8, 1, id);
		if (++count[strchr(HEX, id[0]) - HEX] == 2)
			one[0] = id[0];
	}
	assert_true(one[0] != 0);
	assert_int_equal(tu_cli(&out, "runs", "show", one, "--mlruns", mlruns, NULL), 1);
	assert_non_null(strstr(out, "more than one run"));
	free(out);
	assert_int_equal(tu_cli(&out, "runs", "compare", a, NULL), 2);
	free(out);
	assert_int_equal(tu_cli(&out, "runs", "show", a, b, NULL), 2);
	free(out);
	assert_int_equal(tu_cli(&out, "runs", "frobnicate", NULL), 2);
	free(out);
	assert_int_equal(tu_cli(&out, "runs", "--help", NULL), 0);
	assert_non_null(strstr(out, "compare RUN RUN"));
	free(out);
	free(mlruns);
}

/* `segue train` records its run: the options as parameters, ALS's loss per
 * iteration and the k-means inertia as metrics, the data hash and the
 * version as tags, model.seg as an artifact; two trainings with ALS factors
 * 32 and 64 compare with the factors marked. */
static void test_train_tracked(void **state)
{
	(void)state;
	char *dir = path_of(tu_group_dir, "train");
	char *ws = path_of(dir, "ws");
	assert_int_equal(tu_build_workspace(dir, ws, 300, 120, 7, NULL), 0);
	char *out;
	const char *F[2] = {"32", "64"};
	for (int i = 0; i < 2; i++) {
		int rc = tu_cli(&out, "train", "--workspace", ws, "--factors", F[i], "--clusters", "3", "--iterations",
		                "4", "--rounds", "5", "--ease-items", "0", "--rp3-neighbours", "0", "--quiet", NULL);
		if (rc != 0)
			print_message("%s", out);
		assert_int_equal(rc, 0);
		free(out);
	}
	char *mlruns = path_of(ws, MLRUNS_DIR);
	mlrun_info *runs;
	size_t n;
	seg_error err = {0};
	/* `segue evaluate` records its own run: the settings, the version it
	 * scored, each model's means as metrics, the table as an artifact. */
	assert_int_equal(tu_cli(&out, "evaluate", "--workspace", ws, "--max-playlists", "12", "--split", "validation",
	                        "--json", NULL),
	                 0);
	free(out);
	assert_int_equal(mlrun_list(mlruns, &runs, &n, &err), 0);
	assert_int_equal(n, 3);
	const mlrun_info *ev = NULL;
	for (size_t i = 0; i < n; i++)
		if (strcmp(runs[i].experiment, "segue evaluate") == 0)
			ev = &runs[i];
	assert_non_null(ev);
	assert_string_equal(ev->status, "FINISHED");
	assert_string_equal(mlrun_info_param(ev, "split"), "validation");
	assert_string_equal(mlrun_info_param(ev, "max_playlists"), "12");
	assert_string_equal(mlrun_info_tag(ev, "segue.model_version"), "v2");
	int hybrid_rprec = 0, popular = 0;
	for (size_t i = 0; i < ev->nmetrics; i++) {
		const char *k = ev->metrics[i].key;
		size_t l = strlen(k);
		hybrid_rprec += strncmp(k, "hybrid.", 7) == 0 && l > 12 && strcmp(k + l - 12, ".r_precision") == 0 &&
		                ev->metrics[i].last >= 0 && ev->metrics[i].last <= 1;
		popular += strncmp(k, "popular.", 8) == 0;
	}
	assert_true(hybrid_rprec > 0);
	assert_true(popular > 0);
	assert_int_equal(ev->nartifacts, 1);
	assert_string_equal(ev->artifacts[0].path, "evaluation.json");
	mlrun_list_free(runs, n);
	assert_int_equal(mlrun_list(mlruns, &runs, &n, &err), 0);
	for (size_t i = 0; i < n; i++) /* the two trainings first, for what follows */
		if (strcmp(runs[i].experiment, "segue evaluate") == 0) {
			mlrun_info t = runs[i];
			runs[i] = runs[n - 1];
			runs[n - 1] = t;
		}
	mlrun_info *r32 = strcmp(mlrun_info_param(&runs[0], "als.factors"), "32") == 0 ? &runs[0] : &runs[1];
	mlrun_info *r64 = r32 == &runs[0] ? &runs[1] : &runs[0];
	assert_string_equal(mlrun_info_param(r64, "als.factors"), "64");
	assert_string_equal(r32->status, "FINISHED");
	assert_string_equal(r32->experiment, "segue train");
	assert_string_equal(r32->name, "v1");
	assert_string_equal(r64->name, "v2");
	assert_non_null(mlrun_info_param(r32, "als.lambda"));
	assert_non_null(mlrun_info_tag(r32, "segue.data_hash"));
	assert_string_equal(mlrun_info_tag(r32, "segue.data_hash"), mlrun_info_tag(r64, "segue.data_hash"));
	const mlrun_series *loss = mlrun_info_metric(r32, "cf.als_loss");
	assert_non_null(loss);
	assert_int_equal(loss->n, 4);
	assert_int_equal(loss->last_step, 3);
	assert_non_null(mlrun_info_metric(r32, "map.inertia"));
	assert_int_equal(r32->nartifacts, 1);
	assert_string_equal(r32->artifacts[0].path, "model.seg");
	assert_true(r32->artifacts[0].bytes > 0);
	char a[64], b[64];
	snprintf(a, sizeof a, "%s", r32->run_id);
	snprintf(b, sizeof b, "%s", r64->run_id);
	mlrun_list_free(runs, n);
	assert_int_equal(tu_cli(&out, "runs", "compare", a, b, "--workspace", ws, NULL), 0);
	print_message("%s", out);
	const char *line = strstr(out, "* als.factors");
	assert_non_null(line);
	assert_non_null(strstr(line, "+32"));
	assert_null(strstr(out, "* als.lambda"));
	free(out);
	if (access("/usr/bin/python3", X_OK) == 0) {
		char script[1024], cmd[4096];
		assert_non_null(tu_golden_path("mlflow_layout_check.py", script, sizeof script));
		snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s %s 2>&1", script, mlruns);
		assert_int_equal(tu_run(cmd, &out), 0);
		print_message("%s", out);
		free(out);
	}
	free(mlruns);
	free(ws);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout),        cmocka_unit_test(test_params_immutable),
		cmocka_unit_test(test_bad_names),     cmocka_unit_test(test_concurrent_ids),
		cmocka_unit_test(test_reader),        cmocka_unit_test(test_checker),
		cmocka_unit_test(test_cli),           cmocka_unit_test(test_metrics_json),
		cmocka_unit_test(test_train_tracked),
	};
	return cmocka_run_group_tests(tests, tu_group_tmpdir, tu_group_rmtree);
}
