/* test_pipeline.c: `segue pipeline run` on one small generated workspace,
 * the tests in order (each starts from the state the one before left):
 * a cold run, a cached one, one parameter changed, a transient failure
 * retried, the lock, a run SIGKILLed inside each stage and resumed, then
 * every gate. */
#include <glob.h>
#include <jansson.h>
#include <math.h>
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/progress.h"
#include "pipeline/pipeline.h"
#include "pipeline/registry.h"
#include "testutil.h"

static char ws[1200], conf[1200], syn[1200];

/* The configuration: the tiny training sizes, and `extra` appended (later
 * keys of a section win; a section may appear again). */
static void write_conf(const char *extra)
{
	char text[4096];
	snprintf(text, sizeof text,
	         "[ingest]\nfiles = %s\n"
	         "[validate]\nmin_playlists = 50\n"
	         "[eda]\ntop_n = 20\n"
	         "[train]\nclusters = 3\nfactors = 4\niterations = 2\nrounds = 5\ncv_folds = 2\n"
	         "[evaluate]\nmax_playlists = 8\n"
	         "[register]\nmargin = 0.5\n" /* the model's quality is not under test here */
	         "%s",
	         syn, extra ? extra : "");
	for (int s = 0; s < PS__COUNT; s++) {
		size_t l = strlen(text);
		snprintf(text + l, sizeof text - l, "[%s]\nbackoff = 0.01\n", pipeline_stage_names[s]);
	}
	snprintf(conf, sizeof conf, "%s", tu_write(tu_group_dir, "pipeline.conf", text));
}

/* Runs the pipeline with `extra` configuration; statuses into r. */
static int run(const char *extra, pipeline_options *o, pipeline_result *r, seg_error *err)
{
	write_conf(extra);
	pipeline_config c;
	pipeline_config_default(&c);
	if (pipeline_config_load(conf, &c, err) < 0)
		fail_msg("%s", err->msg);
	o->workspace = ws;
	o->conf = &c;
	o->out = NULL;
	int rc = pipeline_run(o, r, err);
	pipeline_config_free(&c);
	return rc;
}

static int run_plain(const char *extra, pipeline_result *r, seg_error *err)
{
	pipeline_options o;
	pipeline_options_default(&o);
	return run(extra, &o, r, err);
}

/* "irrrrrr": i ingest... one letter per stage: c cached, r ran, f failed,
 * - not run. */
static void expect(const pipeline_result *r, const char *want)
{
	char got[PS__COUNT + 1];
	for (int s = 0; s < PS__COUNT; s++)
		got[s] = "-crf"[r->status[s]];
	got[PS__COUNT] = '\0';
	assert_string_equal(got, want);
}

/* The text of file REL of MLflow run `id` (malloc'd), or NULL. */
static char *run_file(const char *id, const char *rel)
{
	char pat[1600];
	snprintf(pat, sizeof pat, "%s/mlruns/*/%s/%s", ws, id, rel);
	glob_t g;
	char *text = NULL;
	if (glob(pat, 0, NULL, &g) == 0 && g.gl_pathc == 1)
		text = tu_read(g.gl_pathv[0], NULL);
	globfree(&g);
	return text;
}

static void expect_run_file(const char *id, const char *rel, const char *want)
{
	char *text = run_file(id, rel);
	if (text == NULL)
		fail_msg("run %s has no %s", id, rel);
	if (want)
		assert_string_equal(text, want);
	free(text);
}

static int setup(void **state)
{
	tu_group_tmpdir(state);
	snprintf(syn, sizeof syn, "%s/syn", tu_group_dir);
	snprintf(ws, sizeof ws, "%s/ws", tu_group_dir);
	tu_gen(syn, 400, 300, 7);
	return 0;
}

static void test_config(void **state)
{
	(void)state;
	pipeline_config c;
	seg_error err = {0};
	pipeline_config_default(&c);
	const char *p = tu_write(tu_group_dir, "bad.conf", "[train]\nfactors = 8\n\n[train]\nfactorz = 3\n");
	assert_int_equal(pipeline_config_load(p, &c, &err), SEG_EINVAL);
	assert_non_null(strstr(err.msg, "bad.conf:5: unknown key 'factorz'"));
	assert_int_equal(c.factors, 8);
	p = tu_write(tu_group_dir, "bad2.conf", "[fit]\n");
	assert_int_equal(pipeline_config_load(p, &c, &err), SEG_EINVAL);
	assert_non_null(strstr(err.msg, "unknown section"));
	p = tu_write(tu_group_dir, "bad3.conf", "[validate]\npsi_limit = lots\n");
	assert_int_equal(pipeline_config_load(p, &c, &err), SEG_EINVAL);
	pipeline_config_free(&c);
	/* The documented example parses, and says what the defaults are. */
	char path[1400];
	assert_non_null(tu_golden_path("../../docs/pipeline.conf.example", path, sizeof path));
	pipeline_config d;
	pipeline_config_default(&c);
	pipeline_config_default(&d);
	assert_int_equal(pipeline_config_load(path, &c, &err), 0);
	assert_int_equal((int)c.nfiles, 2);
	assert_non_null(strstr(c.files[0], "docs/data/tracks.csv"));
	assert_int_equal(c.factors, d.factors);
	assert_near(c.psi_limit, d.psi_limit, 0);
	assert_near(c.margin, d.margin, 0);
	assert_int_equal(c.min_playlists, d.min_playlists);
	pipeline_config_free(&c);
}

static void test_cli_usage(void **state)
{
	(void)state;
	char *out = NULL;
	assert_int_equal(tu_cli(&out, "pipeline", "--help", NULL), 0);
	assert_non_null(strstr(out, "segue pipeline run [--workspace DIR] [--config FILE]"));
	free(out);
	assert_int_equal(tu_cli(&out, "pipeline", "run", "--only", "fit", NULL), 2);
	assert_non_null(strstr(out, "unknown stage 'fit'"));
	free(out);
	assert_int_equal(tu_cli(&out, "pipeline", "run", "--only", "eda", "--from", "train", NULL), 2);
	free(out);
	assert_int_equal(tu_cli(&out, "pipeline", "frobnicate", NULL), 2);
	free(out);
	/* No configuration: said, with where to find the example. */
	assert_int_equal(tu_cli(&out, "pipeline", "run", "--workspace", ws, NULL), 1);
	assert_non_null(strstr(out, "pipeline.conf.example"));
	free(out);
	assert_int_equal(tu_cli(&out, "pipeline", "show", "--workspace", ws, NULL), 1);
	assert_non_null(strstr(out, "never ran"));
	free(out);
}

static void test_cold_then_cached(void **state)
{
	(void)state;
	pipeline_result r;
	seg_error err = {0};
	assert_int_equal(run_plain(NULL, &r, &err), 0);
	expect(&r, "rrrrrrrrrrrrrr");
	double cold = r.total_seconds;
	/* The model stages ran side by side (two at a time by default): some
	 * two of them overlap in time, by their records in state.json. */
	char spath[1300];
	snprintf(spath, sizeof spath, "%s/pipeline/state.json", ws);
	json_error_t je;
	json_t *st = json_load_file(spath, 0, &je);
	assert_non_null(st);
	double from[PS__COUNT], to[PS__COUNT];
	for (int s = PS_MAP; s <= PS_TITLE; s++) {
		json_t *rec = json_object_get(json_object_get(st, "stages"), pipeline_stage_names[s]);
		assert_true(json_is_integer(json_object_get(rec, "finished_ms")));
		to[s] = (double)json_integer_value(json_object_get(rec, "finished_ms")) / 1000;
		from[s] = to[s] - json_number_value(json_object_get(rec, "seconds"));
	}
	json_decref(st);
	int overlaps = 0;
	for (int a = PS_MAP; a <= PS_TITLE; a++)
		for (int b = a + 1; b <= PS_TITLE; b++)
			overlaps += from[a] < to[b] && from[b] < to[a];
	print_message("# model stages overlapping in pairs: %d\n", overlaps);
	assert_true(overlaps > 0);
	/* The run is tracked in MLflow's layout with what it made. */
	assert_int_equal(strlen(r.run_id), 32);
	expect_run_file(r.run_id, "params/train.factors", "4");
	expect_run_file(r.run_id, "tags/stage.train", "ran");
	expect_run_file(r.run_id, "tags/model.version", "v1");
	expect_run_file(r.run_id, "artifacts/model.seg", NULL);
	expect_run_file(r.run_id, "artifacts/evaluation.json", NULL);
	expect_run_file(r.run_id, "artifacts/eda/report.html", NULL);
	expect_run_file(r.run_id, "metrics/rprec_validation", NULL);
	char *meta = run_file(r.run_id, "meta.yaml");
	assert_non_null(meta);
	assert_non_null(strstr(meta, "status: 3")); /* FINISHED */
	free(meta);
	/* Nothing changed: nothing runs, and it is fast. */
	double t0 = progress_now();
	assert_int_equal(run_plain(NULL, &r, &err), 0);
	double dt = progress_now() - t0;
	expect(&r, "cccccccccccccc");
	assert_true(dt < 1.0);
	expect_run_file(r.run_id, "tags/stage.train", "cached");
	expect_run_file(r.run_id, "tags/model.version", "v1");
	print_message("# cold run %.2f s, cached run %.3f s\n", cold, dt);
	/* The show command reads the last run. */
	char *out = NULL;
	assert_int_equal(tu_cli(&out, "pipeline", "show", "--workspace", ws, NULL), 0);
	assert_non_null(strstr(out, "train     cached"));
	free(out);
}

static void test_one_parameter(void **state)
{
	(void)state;
	pipeline_result r;
	seg_error err = {0};
	/* eda's parameter: only eda (no stage depends on the report). */
	assert_int_equal(run_plain("[eda]\ntop_n = 7\n", &r, &err), 0);
	expect(&r, "ccrccccccccccc");
	assert_int_equal(run_plain("[eda]\ntop_n = 7\n", &r, &err), 0);
	expect(&r, "cccccccccccccc");
	/* ALS's factors: the cf stage alone of the model stages, then the
	 * assembly and everything downstream of the model. */
	assert_int_equal(run_plain("[eda]\ntop_n = 7\n[train]\nfactors = 5\n", &r, &err), 0);
	expect(&r, "ccccccrcccrrrr");
	expect_run_file(r.run_id, "params/train.factors", "5");
	expect_run_file(r.run_id, "tags/model.version", "v2");
	/* k-means' clusters: the map stage alone of them. */
	assert_int_equal(run_plain("[eda]\ntop_n = 7\n[train]\nfactors = 5\nclusters = 4\n", &r, &err), 0);
	expect(&r, "ccccrcccccrrrr");
	expect_run_file(r.run_id, "tags/model.version", "v3");
	/* A part made again with nothing changed has the same bytes, so the
	 * model is not assembled again. */
	pipeline_options fo;
	pipeline_options_default(&fo);
	fo.force = PS_CF;
	assert_int_equal(run("[eda]\ntop_n = 7\n[train]\nfactors = 5\nclusters = 4\n", &fo, &r, &err), 0);
	expect(&r, "ccccccrccccccc");
	/* A validate threshold that still passes: validate reruns, its
	 * output (the data it vouches for) is the same, so nothing after it. */
	assert_int_equal(
		run_plain("[eda]\ntop_n = 7\n[train]\nfactors = 5\nclusters = 4\n[validate]\npsi_limit = 0.3\n", &r,
	                  &err),
		0);
	expect(&r, "crcccccccccccc");
	/* --force reruns one stage whatever the cache says. */
	pipeline_options o;
	pipeline_options_default(&o);
	o.force = PS_EDA;
	assert_int_equal(run("[eda]\ntop_n = 7\n[train]\nfactors = 5\nclusters = 4\n[validate]\npsi_limit = 0.3\n", &o,
	                     &r, &err),
	                 0);
	expect(&r, "ccrccccccccccc");
}

/* Sets the mtime of `path` a minute later than it is, bytes unchanged. */
static void touch_later(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	struct timespec ts[2] = {st.st_atim, st.st_mtim};
	ts[1].tv_sec += 60;
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static void test_file_hash_rule(void **state)
{
	(void)state;
	pipeline_result r;
	seg_error err = {0};
	char path[1300];
	snprintf(path, sizeof path, "%s/synthetic_playlists.csv", syn);
	/* Files hashed by their bytes: a new mtime alone changes nothing. */
	assert_int_equal(run_plain(NULL, &r, &err), 0);
	touch_later(path);
	assert_int_equal(run_plain(NULL, &r, &err), 0);
	expect(&r, "cccccccccccccc");
	/* Above large_file_mb (0 here: every file) by size, mtime, inode:
	 * the same touch makes ingest run again. */
	assert_int_equal(run_plain("[ingest]\nlarge_file_mb = 0\n", &r, &err), 0);
	assert_int_equal(r.status[PS_INGEST], PSS_RAN); /* its parameter changed */
	assert_int_equal(run_plain("[ingest]\nlarge_file_mb = 0\n", &r, &err), 0);
	expect(&r, "cccccccccccccc");
	touch_later(path);
	assert_int_equal(run_plain("[ingest]\nlarge_file_mb = 0\n", &r, &err), 0);
	assert_int_equal(r.status[PS_INGEST], PSS_RAN);
	/* A changed byte is seen by the content hash. */
	assert_int_equal(run_plain(NULL, &r, &err), 0);
	char *text = tu_read(path, NULL);
	assert_non_null(text);
	char *sun = strstr(text, "Synthetic: ");
	assert_non_null(sun);
	sun[0] = 's'; /* a playlist's name, lower-case */
	tu_write(syn, "synthetic_playlists.csv", text);
	free(text);
	assert_int_equal(run_plain(NULL, &r, &err), 0);
	assert_int_equal(r.status[PS_INGEST], PSS_RAN);
	assert_int_equal(run_plain(NULL, &r, &err), 0);
	expect(&r, "cccccccccccccc");
}

static void test_transient_retry(void **state)
{
	(void)state;
	pipeline_result r;
	seg_error err = {0};
	pipeline_options o;
	pipeline_options_default(&o);
	o.only = PS_EDA;
	o.test_transient_in = PS_EDA;
	o.test_transient_count = 2; /* two failures, then success: retries = 2 suffices */
	assert_int_equal(run(NULL, &o, &r, &err), 0);
	expect(&r, "--r-----------");
	assert_int_equal(r.attempts[PS_EDA], 3);
	/* One more failure than retries: the stage fails with the last error. */
	o.test_transient_count = 3;
	assert_int_equal(run(NULL, &o, &r, &err), SEG_EIO);
	expect(&r, "--f-----------");
	assert_int_equal(r.attempts[PS_EDA], 3);
	assert_non_null(strstr(err.msg, "injected transient failure (attempt 3)"));
	/* retries = 0 in the configuration: no retry. */
	o.test_transient_count = 1;
	assert_int_equal(run("[eda]\nretries = 0\n", &o, &r, &err), SEG_EIO);
	assert_int_equal(r.attempts[PS_EDA], 1);
	pipeline_options_default(&o);
	assert_int_equal(run(NULL, &o, &r, &err), 0); /* back to the plain configuration */
}

static void test_lock(void **state)
{
	(void)state;
	seg_error err = {0};
	int fd = pipeline_lock(ws, &err);
	assert_true(fd >= 0);
	pipeline_result r;
	assert_int_equal(run_plain(NULL, &r, &err), SEG_EINVAL);
	char pid[32];
	snprintf(pid, sizeof pid, "pid %ld, started ", (long)getpid());
	assert_non_null(strstr(err.msg, "another pipeline is running"));
	assert_non_null(strstr(err.msg, pid));
	expect(&r, "--------------");
	/* Through the command line too: exit 1 with the message. */
	char *out = NULL;
	assert_int_equal(tu_cli(&out, "pipeline", "run", "--workspace", ws, "--config", conf, NULL), 1);
	assert_non_null(strstr(out, pid));
	free(out);
	pipeline_unlock(fd);
	assert_int_equal(run_plain(NULL, &r, &err), 0);
	expect(&r, "cccccccccccccc");
}

/* A child runs the pipeline with --from `from`, `parallel` stages at once,
 * and is SIGKILLed (with its stages) on entering `kill_at`; it must die of
 * SIGKILL. */
static void killed_run(int from, int kill_at, int parallel)
{
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		pipeline_options o;
		pipeline_options_default(&o);
		o.from = from;
		o.test_kill_in = kill_at;
		pipeline_result r;
		seg_error err = {0};
		char extra[64];
		snprintf(extra, sizeof extra, "[train]\nparallel = %d\n", parallel);
		run(extra, &o, &r, &err);
		_exit(3); /* not reached: the stage kills this process */
	}
	int st = 0;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGKILL);
}

/* Removes stage s's record from state.json. */
static void forget(int s)
{
	char path[1300];
	snprintf(path, sizeof path, "%s/pipeline/state.json", ws);
	json_error_t je;
	json_t *st = json_load_file(path, 0, &je);
	assert_non_null(st);
	assert_int_equal(json_object_del(json_object_get(st, "stages"), pipeline_stage_names[s]), 0);
	assert_int_equal(json_dump_file(st, path, JSON_INDENT(1)), 0);
	json_decref(st);
}

static void test_resume_after_sigkill(void **state)
{
	(void)state;
	pipeline_result r;
	seg_error err = {0};
	/* Killed inside each stage (one stage at a time, in stage order): the
	 * rerun keeps every stage that finished and runs the killed one. */
	for (int s = PS_VALIDATE; s < PS__COUNT; s++) {
		/* validate: after a new ingest (--from ingest), so that every
		 * stage has to run again; the others: their record removed, as
		 * if they had never finished, so that the run has to run them. */
		if (s != PS_VALIDATE)
			forget(s);
		killed_run(s == PS_VALIDATE ? PS_INGEST : -1, s, 1);
		assert_int_equal(run_plain(NULL, &r, &err), 0);
		char got[PS__COUNT + 1];
		for (int t = 0; t < PS__COUNT; t++)
			got[t] = "-crf"[r.status[t]];
		got[PS__COUNT] = '\0';
		print_message("# killed in %s: rerun %s\n", pipeline_stage_names[s], got);
		for (int t = 0; t < s; t++)
			assert_int_equal(r.status[t], PSS_CACHED);
		assert_int_equal(r.status[s], PSS_RAN);
		assert_int_equal(run_plain(NULL, &r, &err), 0);
		expect(&r, "cccccccccccccc");
	}
	/* Killed in a model stage while another runs beside it: the rerun
	 * makes the killed part, keeps what finished before the kill. */
	forget(PS_QUALITY);
	forget(PS_CF);
	killed_run(-1, PS_CF, 2);
	assert_int_equal(run_plain(NULL, &r, &err), 0);
	for (int t = 0; t <= PS_FEATURES; t++)
		assert_int_equal(r.status[t], PSS_CACHED);
	assert_int_equal(r.status[PS_CF], PSS_RAN);
	assert_int_equal(run_plain(NULL, &r, &err), 0);
	expect(&r, "cccccccccccccc");
	/* And killed inside ingest itself (forced): the rerun does it again. */
	killed_run(PS_INGEST, PS_INGEST, 2);
	pipeline_options o;
	pipeline_options_default(&o);
	assert_int_equal(run(NULL, &o, &r, &err), 0);
	assert_int_equal(r.status[PS_INGEST], PSS_CACHED); /* the record of the last finished ingest still holds */
}

static void test_timeout(void **state)
{
	(void)state;
	pipeline_result r;
	seg_error err = {0};
	pipeline_options o;
	pipeline_options_default(&o);
	o.only = PS_EVALUATE;
	double t0 = progress_now();
	assert_int_equal(run("[evaluate]\ntimeout = 0.05\nretries = 0\n", &o, &r, &err), SEG_EINVAL);
	assert_true(progress_now() - t0 < 5);
	expect(&r, "-----------f--");
	assert_non_null(strstr(err.msg, "timed out after 0.05 s"));
}

static void test_stop_signal(void **state)
{
	(void)state;
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		pipeline_options o;
		pipeline_options_default(&o);
		o.from = PS_TRAIN;
		pipeline_result r;
		seg_error err = {0};
		int rc = run(NULL, &o, &r, &err);
		_exit(rc == SEG_EINVAL && strstr(err.msg, "stopped by signal 15") ? 0 : 1);
	}
	struct timespec ts = {0, 300 * 1000000L};
	nanosleep(&ts, NULL);
	kill(pid, SIGTERM);
	int st = 0;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0); /* pipeline_run returned, saying why */
	char path[1300];
	snprintf(path, sizeof path, "%s/pipeline/state.json", ws);
	char *text = tu_read(path, NULL);
	assert_non_null(text);
	assert_non_null(strstr(text, "\"status\": \"stopped\""));
	free(text);
	/* The lock is free and the next run finishes the work. */
	pipeline_result r;
	seg_error err = {0};
	assert_int_equal(run_plain(NULL, &r, &err), 0);
	expect_run_file(r.run_id, "tags/stage.ingest", "cached");
}

static void test_gate_evaluation(void **state)
{
	(void)state;
	pipeline_result r;
	seg_error err = {0};
	registry_version *vs = NULL;
	size_t before = 0, after = 0;
	assert_int_equal(registry_list(ws, &vs, &before, &err), 0);
	free(vs);
	int champ = 0;
	assert_int_equal(registry_alias_get(ws, "champion", &champ, &err), 0);
	/* The champion's table beside its model replaced by one of the test
	 * split (`segue evaluate`): the gate still knows its validation figure. */
	char *out = NULL;
	assert_int_equal(tu_cli(&out, "evaluate", "--workspace", ws, "--max-playlists", "8", "--json", NULL), 0);
	free(out);
	/* A new model whose R-precision must beat the champion's by 1 (margin
	 * -1) cannot: it is refused, not registered, not promoted. */
	assert_int_equal(run_plain("[train]\nfactors = 6\n[register]\nmargin = -1\n", &r, &err), SEG_EINVAL);
	expect(&r, "ccccccrcccrrf-");
	assert_non_null(strstr(err.msg, "evaluation gate: not registering"));
	assert_non_null(strstr(err.msg, "below the champion's"));
	assert_int_equal(registry_list(ws, &vs, &after, &err), 0);
	free(vs);
	assert_int_equal(after, before);
	int now = 0;
	assert_int_equal(registry_alias_get(ws, "champion", &now, &err), 0);
	assert_int_equal(now, champ);
	/* The command line says so and exits 1. */
	assert_int_equal(tu_cli(&out, "pipeline", "run", "--workspace", ws, "--config", conf, NULL), 1);
	assert_non_null(strstr(out, "evaluation gate: not registering"));
	free(out);
	/* With a margin it passes. */
	assert_int_equal(run_plain("[train]\nfactors = 6\n[register]\nmargin = 1\n", &r, &err), 0);
	expect(&r, "ccccccccccccrr");
	assert_int_equal(registry_list(ws, &vs, &after, &err), 0);
	free(vs);
	assert_int_equal(after, before + 1);
}

static void test_gate_playlists(void **state)
{
	(void)state;
	pipeline_result r;
	seg_error err = {0};
	assert_int_equal(run_plain("[validate]\nmin_playlists = 100000\n", &r, &err), SEG_EINVAL);
	expect(&r, "cf------------");
	assert_non_null(strstr(err.msg, "validation failed"));
	assert_non_null(strstr(err.msg, "300 playlists < minimum 100000"));
}

static void test_gate_rejected(void **state)
{
	(void)state;
	/* A file of bad rows (ids that are no Spotify ids) beside the data. */
	char text[8192] = "track_id,track_name,artists,album_name,release_date,popularity,duration_ms,explicit,genres,"
			  "danceability,energy,key,loudness,mode,speechiness,acousticness,instrumentalness,liveness,"
			  "valence,tempo,time_signature,synthetic\n";
	for (int i = 0; i < 40; i++) {
		size_t l = strlen(text);
		snprintf(text + l, sizeof text - l,
		         "bad%d,Song,Artist,Album,2000,1,1000,0,pop,0.5,0.5,1,-5,1,0.1,0.1,0,0.1,0.5,"
		         "120,4,1\n",
		         i);
	}
	const char *bad = tu_write(tu_group_dir, "bad_tracks.csv", text);
	char extra[2048];
	snprintf(extra, sizeof extra, "[ingest]\nfiles = %s\n[validate]\nmax_rejected_share = 0.0001\n", bad);
	pipeline_result r;
	seg_error err = {0};
	assert_int_equal(run_plain(extra, &r, &err), SEG_EINVAL);
	expect(&r, "rf------------");
	assert_non_null(strstr(err.msg, "rejected share"));
	assert_non_null(strstr(err.msg, "> limit 0.0001"));
}

static void test_gate_schema(void **state)
{
	(void)state;
	const char *unk = tu_write(tu_group_dir, "unknown.csv", "foo,bar\n1,2\n");
	char extra[2048];
	snprintf(extra, sizeof extra, "[ingest]\nfiles = %s\n", unk);
	pipeline_result r;
	seg_error err = {0};
	assert_true(run_plain(extra, &r, &err) < 0);
	expect(&r, "f-------------");
	assert_int_equal(r.attempts[PS_INGEST], 1); /* not transient: no retry */
	assert_non_null(strstr(err.msg, "header not recognised"));
	/* A missing file is found before any stage runs. */
	snprintf(extra, sizeof extra, "[ingest]\nfiles = %s/nowhere.csv\n", tu_group_dir);
	assert_true(run_plain(extra, &r, &err) < 0);
	expect(&r, "f-------------");
	assert_int_equal(r.attempts[PS_INGEST], 0);
	assert_non_null(strstr(err.msg, "nowhere.csv"));
}

static void test_gate_psi(void **state)
{
	(void)state;
	pipeline_result r;
	seg_error err = {0};
	pipeline_options o;
	pipeline_options_default(&o);
	o.force = PS_VALIDATE;
	assert_int_equal(run(NULL, &o, &r, &err), 0); /* a good baseline of the data as it is */
	/* The energy of every track squashed towards 0: its deciles move. */
	char db[1300];
	snprintf(db, sizeof db, "%s/catalog.db", ws);
	sqlite3 *h = NULL;
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	tu_sql_exec(h, "UPDATE tracks SET energy = energy * energy * 0.2");
	sqlite3_close(h);
	assert_int_equal(run(NULL, &o, &r, &err), SEG_EINVAL);
	assert_int_equal(r.status[PS_VALIDATE], PSS_FAILED);
	assert_non_null(strstr(err.msg, "energy shifted: PSI"));
	assert_null(strstr(err.msg, "danceability shifted"));
	/* The failed run kept the last good baseline: it fails again. */
	assert_int_equal(run(NULL, &o, &r, &err), SEG_EINVAL);
	/* A limit above the shift lets it through. */
	assert_int_equal(run("[validate]\npsi_limit = 1000\n", &o, &r, &err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_cli_usage),
		cmocka_unit_test(test_cold_then_cached),
		cmocka_unit_test(test_one_parameter),
		cmocka_unit_test(test_file_hash_rule),
		cmocka_unit_test(test_transient_retry),
		cmocka_unit_test(test_lock),
		cmocka_unit_test(test_resume_after_sigkill),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_stop_signal),
		cmocka_unit_test(test_gate_evaluation),
		cmocka_unit_test(test_gate_playlists),
		cmocka_unit_test(test_gate_rejected),
		cmocka_unit_test(test_gate_schema),
		cmocka_unit_test(test_gate_psi),
	};
	return cmocka_run_group_tests(tests, setup, tu_group_rmtree);
}
