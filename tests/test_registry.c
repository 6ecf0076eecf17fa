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
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "catalog/workspace.h"
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_register),
		cmocka_unit_test(test_aliases_and_rollback),
		cmocka_unit_test(test_atomic_replace),
		cmocka_unit_test(test_format_refused),
		cmocka_unit_test(test_concurrent_register),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
