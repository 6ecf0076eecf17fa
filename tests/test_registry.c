/* test_registry.c: the model registry: registering only published models,
 * the aliases, rollback step by step, the file replaced whole, another
 * format refused, two processes registering at once, and `segue models`. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"

#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "catalog/workspace.h"
#include "experiment/events.h"
#include "experiment/evstore.h"
#include "experiment/experiment.h"
#include "pipeline/registry.h"

/* A workspace whose models/ holds versions 1..n: a directory with a
 * model.seg each, which is all workspace_models_list asks of a published
 * version (the registry never opens the model). */
static const char *fake_workspace(int n)
{
	static char ws[PATH_MAX];
	char path[PATH_MAX + 64];
	snprintf(ws, sizeof ws, "%s/ws", tu_tmpdir());
	mkdir(ws, 0777);
	snprintf(path, sizeof path, "%s/models", ws);
	mkdir(path, 0777);
	for (int v = 1; v <= n; v++) {
		snprintf(path, sizeof path, "%s/models/v%d", ws, v);
		mkdir(path, 0777);
		tu_write(path, "model.seg", "not read by the registry");
	}
	if (n > 0) {
		char latest[16];
		snprintf(path, sizeof path, "%s/models", ws);
		snprintf(latest, sizeof latest, "v%d\n", n);
		tu_write(path, "latest", latest);
	}
	return ws;
}

static void done(const char *ws)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s", ws);
	char *slash = strrchr(dir, '/');
	*slash = '\0';
	tu_rmtree(dir);
}

static void test_register(void **state)
{
	(void)state;
	const char *ws = fake_workspace(2);
	seg_error err = {0};
	int v = 0;
	assert_int_equal(registry_register(ws, 3, NULL, NULL, NULL, NULL, &v, &err), SEG_ENOTFOUND);
	assert_non_null(strstr(err.msg, "v3"));
	assert_int_equal(
		registry_register(ws, 2, "run-a", "stamp-1", "{\"factors\": 64}", "{\"ndcg\": 0.25}", &v, &err), 0);
	assert_int_equal(v, 1);
	assert_int_equal(registry_register(ws, 1, NULL, NULL, NULL, NULL, &v, &err), 0);
	assert_int_equal(v, 2);
	assert_int_equal(registry_register(ws, 1, NULL, NULL, "[1]", NULL, &v, &err), SEG_EINVAL);
	registry_version *r;
	size_t n;
	assert_int_equal(registry_list(ws, &r, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(r[0].version, 1);
	assert_int_equal(r[0].model, 2);
	assert_string_equal(r[0].run_id, "run-a");
	assert_string_equal(r[0].data_hash, "stamp-1");
	assert_true(r[0].created_ms > 0);
	assert_int_equal(r[1].model, 1);
	assert_string_equal(r[1].run_id, "");
	free(r);
	/* show: the lineage with its params and metrics as JSON objects */
	strbuf sb = {0};
	assert_int_equal(registry_show(ws, 1, &sb, &err), 0);
	json_t *j = json_loads(strbuf_cstr(&sb), 0, NULL);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "params"), "factors")), 64);
	assert_true(json_real_value(json_object_get(json_object_get(j, "metrics"), "ndcg")) == 0.25);
	assert_int_equal(json_array_size(json_object_get(j, "aliases")), 0);
	json_decref(j);
	strbuf_free(&sb);
	assert_int_equal(registry_show(ws, 9, &sb, &err), SEG_ENOTFOUND);
	strbuf_free(&sb);
	/* an empty workspace: an empty list */
	const char *empty = tu_tmpdir();
	assert_int_equal(registry_list(empty, &r, &n, &err), 0);
	assert_int_equal(n, 0);
	assert_null(r);
	tu_rmtree(empty);
	done(ws);
}

static void test_aliases_and_rollback(void **state)
{
	(void)state;
	const char *ws = fake_workspace(3);
	seg_error err = {0};
	int v = 0, model = 0;
	for (int m = 1; m <= 3; m++)
		assert_int_equal(registry_register(ws, m, NULL, NULL, NULL, NULL, &v, &err), 0);
	assert_int_equal(registry_alias_get(ws, "champion", &v, &err), SEG_ENOTFOUND);
	assert_int_equal(registry_champion_model(ws, &model, NULL, &err), SEG_ENOTFOUND);
	assert_int_equal(registry_rollback(ws, &v, &err), SEG_ENOTFOUND);
	assert_int_equal(registry_alias_set(ws, "winner", 1, &err), SEG_EINVAL);
	assert_int_equal(registry_alias_set(ws, "champion", 4, &err), SEG_ENOTFOUND);
	assert_int_equal(registry_alias_set(ws, "champion", 1, &err), 0);
	/* the first champion has nothing before it */
	assert_int_equal(registry_rollback(ws, &v, &err), SEG_ENOTFOUND);
	assert_non_null(strstr(err.msg, "nothing to roll back"));
	assert_int_equal(registry_alias_set(ws, "challenger", 3, &err), 0);
	assert_int_equal(registry_alias_set(ws, "champion", 2, &err), 0);
	assert_int_equal(registry_alias_set(ws, "champion", 2, &err), 0); /* again: no step */
	assert_int_equal(registry_alias_set(ws, "champion", 3, &err), 0);
	assert_int_equal(registry_alias_get(ws, "champion", &v, &err), 0);
	assert_int_equal(v, 3);
	assert_int_equal(registry_alias_get(ws, "challenger", &v, &err), 0);
	assert_int_equal(v, 3);
	int rv = 0;
	assert_int_equal(registry_champion_model(ws, &model, &rv, &err), 0);
	assert_int_equal(model, 3);
	assert_int_equal(rv, 3);
	/* back step by step: 3 -> 2 -> 1, then nothing */
	assert_int_equal(registry_rollback(ws, &v, &err), 0);
	assert_int_equal(v, 2);
	assert_int_equal(registry_alias_get(ws, "champion", &v, &err), 0);
	assert_int_equal(v, 2);
	assert_int_equal(registry_rollback(ws, &v, &err), 0);
	assert_int_equal(v, 1);
	assert_int_equal(registry_rollback(ws, &v, &err), SEG_ENOTFOUND);
	assert_int_equal(registry_alias_get(ws, "champion", &v, &err), 0);
	assert_int_equal(v, 1);
	/* the challenger is untouched by the champion's moves */
	assert_int_equal(registry_alias_get(ws, "challenger", &v, &err), 0);
	assert_int_equal(v, 3);
	/* show names the aliases on a version; the history has every step */
	strbuf sb = {0};
	assert_int_equal(registry_show(ws, 3, &sb, &err), 0);
	assert_non_null(strstr(strbuf_cstr(&sb), "\"challenger\""));
	strbuf_reset(&sb);
	assert_int_equal(registry_json(ws, &sb, &err), 0);
	json_t *j = json_loads(strbuf_cstr(&sb), 0, NULL);
	assert_non_null(j);
	/* 3 registers, champion 1, challenger 3, champion 2, champion 3, 2 rollbacks */
	assert_int_equal(json_array_size(json_object_get(j, "history")), 9);
	assert_int_equal(json_array_size(json_object_get(j, "champion_stack")), 0);
	json_decref(j);
	strbuf_free(&sb);
	done(ws);
}

/* A change replaces the file by rename: a reader holding the old file keeps
 * its whole old content, the path is a new inode, and no temporary stays. */
static void test_atomic_replace(void **state)
{
	(void)state;
	const char *ws = fake_workspace(1);
	seg_error err = {0};
	int v;
	assert_int_equal(registry_register(ws, 1, NULL, NULL, NULL, NULL, &v, &err), 0);
	char path[PATH_MAX];
	assert_int_equal(workspace_path(ws, WS_REGISTRY, path, sizeof path, &err), 0);
	size_t len0;
	char *before = tu_read(path, &len0);
	FILE *old = fopen(path, "rb");
	assert_non_null(old);
	struct stat s0, s1;
	assert_int_equal(stat(path, &s0), 0);
	assert_int_equal(registry_alias_set(ws, "champion", 1, &err), 0);
	assert_int_equal(stat(path, &s1), 0);
	assert_true(s0.st_ino != s1.st_ino);
	char *seen = calloc(1, len0 + 16);
	size_t got = fread(seen, 1, len0 + 16, old);
	fclose(old);
	assert_int_equal(got, len0);
	assert_memory_equal(seen, before, len0);
	free(seen);
	free(before);
	char cmd[PATH_MAX + 64];
	snprintf(cmd, sizeof cmd, "ls -a '%s' | grep -c tmp", ws);
	char *out = NULL;
	tu_run(cmd, &out);
	assert_int_equal(atoi(out), 0);
	free(out);
	done(ws);
}

static void test_format_refused(void **state)
{
	(void)state;
	const char *ws = fake_workspace(1);
	const char *text = "{\"format\": \"segue-registry/2\", \"versions\": []}\n";
	tu_write(ws, "registry.json", text);
	seg_error err = {0};
	int v;
	assert_int_equal(registry_register(ws, 1, NULL, NULL, NULL, NULL, &v, &err), SEG_EVERSION);
	assert_non_null(strstr(err.msg, "segue-registry/2"));
	assert_int_equal(registry_alias_get(ws, "champion", &v, &err), SEG_EVERSION);
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/registry.json", ws);
	char *now = tu_read(path, NULL);
	assert_string_equal(now, text); /* left alone */
	free(now);
	tu_write(ws, "registry.json", "{\"versions\": []}");
	assert_int_equal(registry_rollback(ws, &v, &err), SEG_EVERSION);
	tu_write(ws, "registry.json", "not json");
	assert_int_equal(registry_alias_get(ws, "champion", &v, &err), SEG_EFORMAT);
	tu_write(ws, "registry.json", "{\"format\": \"segue-registry/1\", \"versions\": {}}");
	assert_int_equal(registry_alias_get(ws, "champion", &v, &err), SEG_EFORMAT);
	done(ws);
}

/* Two processes register 25 versions each at once: every register is
 * load-edit-replace under the lock, so none is lost and numbers are unique. */
static void test_concurrent_register(void **state)
{
	(void)state;
	const char *ws = fake_workspace(2);
	enum { EACH = 25 };
	pid_t kids[2];
	for (int k = 0; k < 2; k++) {
		kids[k] = fork();
		assert_true(kids[k] >= 0);
		if (kids[k] == 0) {
			seg_error err = {0};
			int v;
			for (int i = 0; i < EACH; i++)
				if (registry_register(ws, k + 1, NULL, NULL, NULL, NULL, &v, &err) < 0)
					_exit(1);
			_exit(0);
		}
	}
	for (int k = 0; k < 2; k++) {
		int st;
		assert_int_equal(waitpid(kids[k], &st, 0), kids[k]);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	registry_version *r;
	size_t n;
	seg_error err = {0};
	assert_int_equal(registry_list(ws, &r, &n, &err), 0);
	assert_int_equal(n, 2 * EACH);
	int per_model[3] = {0};
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(r[i].version, (int)i + 1);
		per_model[r[i].model]++;
	}
	assert_int_equal(per_model[1], EACH);
	assert_int_equal(per_model[2], EACH);
	free(r);
	done(ws);
}

/* ---- the command line ---- */

/* `segue ARGS` in-process, its exit code checked (tu_cli_expect). */
#define run(want, ...) tu_cli_expect(want, __VA_ARGS__, NULL)
#define RUN(want, ...) free(tu_cli_expect(want, __VA_ARGS__, NULL))

static void test_cli(void **state)
{
	(void)state;
	const char *ws = fake_workspace(2);
	char *out = run(0, "models", "--help");
	assert_non_null(strstr(out, "rollback"));
	free(out);
	const char *subs[] = {"list", "show", "register", "promote", "rollback"};
	for (size_t i = 0; i < 5; i++) {
		out = run(0, "models", subs[i], "--help");
		assert_non_null(strstr(out, "--workspace"));
		free(out);
	}
	RUN(2, "models");
	RUN(2, "models", "frobnicate");
	RUN(2, "models", "list", "--bogus");
	RUN(2, "models", "show", "-w", ws);
	RUN(2, "models", "show", "v1", "-w", ws);
	RUN(2, "models", "promote", "1", "--alias", "winner", "-w", ws);
	RUN(2, "models", "register", "model1", "-w", ws);
	out = run(0, "models", "list", "-w", ws);
	assert_non_null(strstr(out, "no registered versions"));
	free(out);
	/* v2 has an evaluation: its lineage carries the default recommender's
	 * figures from the row with the most playlists */
	char dir[PATH_MAX + 32];
	snprintf(dir, sizeof dir, "%s/models/v2", ws);
	tu_write(dir, "evaluation.json",
	         "{\"protocol\": {\"split\": \"validation\"}, \"results\": ["
	         "{\"model\": \"popular\", \"lists\": 90, \"r_precision\": 0.03, \"ndcg\": 0.18},"
	         "{\"model\": \"hybrid\", \"lists\": 40, \"r_precision\": 0.5, \"ndcg\": 0.6},"
	         "{\"model\": \"hybrid\", \"lists\": 90, \"r_precision\": 0.125, \"ndcg\": 0.25}]}");
	RUN(1, "models", "register", "v3", "-w", ws); /* no such model */
	out = run(0, "models", "register", "v1", "-w", ws, "--run-id", "abc123");
	assert_non_null(strstr(out, "version 1"));
	free(out);
	out = run(0, "models", "register", "-w", ws); /* the latest: v2 */
	assert_non_null(strstr(out, "model v2 as version 2"));
	free(out);
	out = run(0, "models", "show", "2", "-w", ws, "--json");
	json_t *j = json_loads(out, 0, NULL);
	if (j == NULL)
		fail_msg("show --json is not JSON: %s", out);
	free(out);
	assert_int_equal(json_integer_value(json_object_get(j, "model")), 2);
	json_t *m = json_object_get(j, "metrics");
	assert_true(json_number_value(json_object_get(m, "r_precision")) == 0.125);
	assert_true(json_number_value(json_object_get(m, "ndcg")) == 0.25);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "params"), "evaluation_split")),
	                    "validation");
	json_decref(j);
	RUN(0, "models", "promote", "1", "-w", ws);
	RUN(0, "models", "promote", "2", "-w", ws);
	RUN(0, "models", "promote", "2", "--alias", "challenger", "-w", ws);
	RUN(1, "models", "promote", "7", "-w", ws);
	out = run(0, "models", "list", "-w", ws);
	/* version 1: model v1, run abc123; version 2: model v2, its figures, both aliases */
	assert_non_null(strstr(out, "abc123"));
	assert_non_null(strstr(out, "0.1250"));
	assert_non_null(strstr(out, "champion, challenger"));
	free(out);
	out = run(0, "models", "show", "1", "-w", ws);
	assert_non_null(strstr(out, "model v1"));
	assert_non_null(strstr(out, "abc123"));
	free(out);
	out = run(0, "models", "rollback", "-w", ws);
	assert_non_null(strstr(out, "version 1"));
	free(out);
	out = run(1, "models", "rollback", "-w", ws);
	assert_non_null(strstr(out, "nothing to roll back"));
	free(out);
	out = run(0, "models", "list", "--json", "-w", ws);
	j = json_loads(out, 0, NULL);
	assert_non_null(j);
	free(out);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "aliases"), "champion")), 1);
	assert_string_equal(json_string_value(json_object_get(j, "format")), REGISTRY_FORMAT);
	json_decref(j);
	done(ws);
}

/* Feeds experiment `name` of ws's store as a server would: per listener one
 * impression of 5 tracks (ids of its own per experiment: the store keeps
 * an event id once), then plays of its first tracks, control_plays (or
 * treatment_plays) plus 0 or 1 by the listener's parity, and in the
 * treatment treatment_skips skips. The treatment's impressions name
 * treatment_model ("hybrid", or with the version that answered, as the
 * server writes it: "hybrid@v2"), the control's "hybrid@v1". */
static void feed(const char *ws, const char *name, size_t users, int control_plays, int treatment_plays,
                 int treatment_skips, const char *treatment_model)
{
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/events.db", ws);
	evstore *s;
	seg_error err = {0};
	experiment e;
	if (evstore_open(path, &s, &err) < 0 || evstore_experiment_get(s, name, &e, &err) < 0)
		fail_msg("%s", err.msg);
	char tracks[5][EV_TRACK_LEN + 1];
	for (int t = 0; t < 5; t++)
		snprintf(tracks[t], sizeof tracks[t], "%022d", t + 1);
	int64_t now = (int64_t)time(NULL) * 1000;
	for (size_t u = 0; u < users; u++) {
		ev_event ev[11];
		memset(ev, 0, sizeof ev);
		char user[32];
		snprintf(user, sizeof user, "listener-%zu", u);
		size_t v = exp_assign(&e, user);
		int plays = (v == 0 ? control_plays : treatment_plays) + (int)(u % 2);
		int skips = v == 0 ? 0 : treatment_skips;
		size_t n = 1 + (size_t)plays + (size_t)skips;
		for (size_t i = 0; i < n; i++) {
			strcpy(ev[i].user, user);
			snprintf(ev[i].request, sizeof ev[i].request, "%s-req-%zu", name, u);
			ev[i].client_ms = now;
			ev[i].position = -1;
		}
		ev[0].type = EV_IMPRESSION;
		strcpy(ev[0].event_id, ev[0].request);
		strcpy(ev[0].experiment, name);
		strcpy(ev[0].variant, e.variant[v].name);
		strcpy(ev[0].model, v == 0 ? "hybrid@v1" : treatment_model);
		ev[0].ntracks = 5;
		ev[0].tracks = tracks;
		for (size_t i = 1; i < n; i++) {
			size_t t = i <= (size_t)plays ? i - 1 : i - 1 - (size_t)plays;
			ev[i].type = i <= (size_t)plays ? EV_PLAY : EV_SKIP;
			snprintf(ev[i].event_id, sizeof ev[i].event_id, "%s-ev-%zu-%zu", name, u, i);
			strcpy(ev[i].track, tracks[t]);
			ev[i].position = (int32_t)t;
		}
		if (evstore_append(s, ev, n, NULL, &err) < 0)
			fail_msg("%s", err.msg);
	}
	evstore_close(s);
}

/* promote --experiment: only a stopped experiment whose treatment is
 * significantly better on the primary metric, with no guardrail harmed. */
static void test_cli_promote_experiment(void **state)
{
	(void)state;
	const char *ws = fake_workspace(2);
	RUN(0, "models", "register", "v1", "-w", ws);
	RUN(0, "models", "register", "v2", "-w", ws);
	RUN(0, "models", "promote", "1", "-w", ws);
	RUN(0, "models", "promote", "2", "--alias", "challenger", "-w", ws);
	/* Every case but the first is refused: its metrics, or the model its
	 * treatment's lists say answered them (version 2 is models/v2). */
	struct {
		const char *name;
		int control, treatment, skips;
		const char *config, *model;
		const char *why;
	} cases[] = {
		{"better", 1, 3, 0, "challenger:version=challenger", "hybrid@v2", NULL},
		{"worse", 3, 1, 0, "challenger:version=challenger", "hybrid@v2", "not significantly better"},
		{"harmful", 1, 3, 2, "challenger:version=challenger", "hybrid@v2", "guardrail skip_rate"},
		/* better metrics, but the champion (v1) answered the challenger */
		{"fallback", 1, 3, 0, "challenger:version=challenger", "hybrid@v1", "answered by another model (v1"},
		/* a version named, and no list says it answered */
		{"unlabelled", 1, 3, 0, "challenger:version=challenger", "hybrid", "none of challenger's lists"},
	};
	size_t ncases = sizeof cases / sizeof cases[0];
	for (size_t c = 0; c < ncases; c++) {
		RUN(0, "experiment", "create", cases[c].name, "-w", ws, "--variant", "control:model=hybrid",
		    "--variant", cases[c].config, "--guardrail", "skip_rate");
		RUN(0, "experiment", "start", cases[c].name, "-w", ws);
		feed(ws, cases[c].name, 80, cases[c].control, cases[c].treatment, cases[c].skips, cases[c].model);
		if (c == 0) { /* still running: refused */
			char *out = run(1, "models", "promote", "2", "-w", ws, "--experiment", cases[c].name);
			assert_non_null(strstr(out, "stopped"));
			free(out);
		}
		RUN(0, "experiment", "stop", cases[c].name, "-w", ws);
	}
	RUN(1, "models", "promote", "2", "-w", ws, "--experiment", "nonesuch");
	/* version 1 is not what "better"'s challenger served */
	char *wrong = run(1, "models", "promote", "1", "-w", ws, "--experiment", "better");
	if (strstr(wrong, "no evidence for version 1") == NULL)
		fail_msg("promote 1 on better: %s", wrong);
	free(wrong);
	for (size_t c = 1; c < ncases; c++) {
		char *out = run(1, "models", "promote", "2", "-w", ws, "--experiment", cases[c].name);
		if (strstr(out, cases[c].why) == NULL)
			fail_msg("%s: wanted \"%s\" in: %s", cases[c].name, cases[c].why, out);
		free(out);
	}
	seg_error err = {0};
	int v = 0;
	assert_int_equal(registry_alias_get(ws, "champion", &v, &err), 0);
	assert_int_equal(v, 1); /* nothing was promoted */
	RUN(0, "models", "promote", "2", "-w", ws, "--experiment", "better");
	assert_int_equal(registry_alias_get(ws, "champion", &v, &err), 0);
	assert_int_equal(v, 2);
	done(ws);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_register),
		cmocka_unit_test(test_aliases_and_rollback),
		cmocka_unit_test(test_atomic_replace),
		cmocka_unit_test(test_format_refused),
		cmocka_unit_test(test_concurrent_register),
		cmocka_unit_test(test_cli),
		cmocka_unit_test(test_cli_promote_experiment),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
