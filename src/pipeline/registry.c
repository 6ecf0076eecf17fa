/* registry.c: the model registry, one JSON file (registry.h gives its
 * layout). Every change is load, edit, replace, all under the workspace
 * lock, so the file is the only state and two processes never lose each
 * other's change; readers need no lock because the file is replaced whole. */
#include "pipeline/registry.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "catalog/workspace.h"
#include "core/container.h"

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int alias_valid(const char *alias)
{
	return alias && (strcmp(alias, "champion") == 0 || strcmp(alias, "challenger") == 0);
}

static json_t *empty_registry(void)
{
	return json_pack("{s:s,s:[],s:{},s:[],s:[]}", "format", REGISTRY_FORMAT, "versions", "aliases",
	                 "champion_stack", "history");
}

/* Checks the parts this module relies on, so that a hand-edited file fails
 * here with a message rather than later with a wrong answer. */
static int check_shape(json_t *root, const char *path, seg_error *err)
{
	const char *need[][2] = {
		{"versions", "array"}, {"aliases", "object"}, {"champion_stack", "array"}, {"history", "array"}};
	for (size_t i = 0; i < sizeof need / sizeof *need; i++) {
		json_t *v = json_object_get(root, need[i][0]);
		if (v == NULL) {
			json_object_set_new(root, need[i][0], need[i][1][0] == 'a' ? json_array() : json_object());
			continue;
		}
		int ok = need[i][1][0] == 'a' ? json_is_array(v) : json_is_object(v);
		if (!ok)
			return seg_error_set(err, SEG_EFORMAT, "%s: \"%s\" is not an %s", path, need[i][0], need[i][1]);
	}
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(root, "versions"), i, v)
	{
		if (!json_is_object(v) || !json_is_integer(json_object_get(v, "version")) ||
		    !json_is_integer(json_object_get(v, "model")))
			return seg_error_set(err, SEG_EFORMAT, "%s: version entry %zu has no integer version and model",
			                     path, i + 1);
	}
	return 0;
}

/* Reads the registry; a missing file is an empty one. */
static int load(const char *ws, json_t **out, seg_error *err)
{
	char path[PATH_MAX];
	*out = NULL;
	int rc = workspace_path(ws, WS_REGISTRY, path, sizeof path, err);
	if (rc < 0)
		return rc;
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		if (errno == ENOENT) {
			*out = empty_registry();
			return *out ? 0 : seg_error_set(err, SEG_ENOMEM, "out of memory");
		}
		return seg_error_set(err, SEG_EIO, "%s: %s", path, strerror(errno));
	}
	json_error_t je;
	json_t *root = json_loadf(f, 0, &je);
	fclose(f);
	if (root == NULL)
		return seg_error_set(err, SEG_EFORMAT, "%s: not JSON (line %d: %s)", path, je.line, je.text);
	if (!json_is_object(root)) {
		json_decref(root);
		return seg_error_set(err, SEG_EFORMAT, "%s: not a JSON object", path);
	}
	const char *format = json_string_value(json_object_get(root, "format"));
	if (format == NULL || strcmp(format, REGISTRY_FORMAT) != 0) {
		seg_error_set(err, SEG_EVERSION, "%s: format \"%s\" is not one this build reads (%s); left unchanged",
		              path, format ? format : "(none)", REGISTRY_FORMAT);
		json_decref(root);
		return SEG_EVERSION;
	}
	if ((rc = check_shape(root, path, err)) < 0) {
		json_decref(root);
		return rc;
	}
	*out = root;
	return 0;
}

static int write_json(FILE *f, void *root) { return json_dumpf(root, f, JSON_INDENT(2)) == 0 ? 0 : -1; }

static int save(const char *ws, json_t *root, seg_error *err)
{
	char path[PATH_MAX];
	int rc = workspace_path(ws, WS_REGISTRY, path, sizeof path, err);
	if (rc < 0)
		return rc;
	return container_write_atomic(path, write_json, root, err);
}

static json_t *find_version(json_t *root, int version)
{
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(root, "versions"), i, v)
	{
		if (json_integer_value(json_object_get(v, "version")) == version)
			return v;
	}
	return NULL;
}

static void history_add(json_t *root, const char *action, const char *alias, int version, int previous)
{
	json_t *h = json_pack("{s:I,s:s,s:s?,s:i,s:i}", "at_ms", (json_int_t)now_ms(), "action", action, "alias", alias,
	                      "version", version, "previous", previous);
	json_array_append_new(json_object_get(root, "history"), h);
}

/* Parses an optional JSON object argument; NULL and "" are {}. */
static int object_arg(const char *text, const char *what, json_t **out, seg_error *err)
{
	if (text == NULL || text[0] == '\0') {
		*out = json_object();
		return 0;
	}
	json_error_t je;
	*out = json_loads(text, 0, &je);
	if (*out == NULL || !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return seg_error_set(err, SEG_EINVAL, "%s is not a JSON object: %s", what, text);
	}
	return 0;
}

int registry_register(const char *ws, int model, const char *run_id, const char *data_hash, const char *params_json,
                      const char *metrics_json, int *version, seg_error *err)
{
	json_t *root = NULL, *params = NULL, *metrics = NULL;
	int *models = NULL;
	size_t nm = 0;
	int locked = 0, rc;
	if (run_id && strlen(run_id) >= sizeof((registry_version *)0)->run_id)
		return seg_error_set(err, SEG_EINVAL, "run id too long: %s", run_id);
	if (data_hash && strlen(data_hash) >= sizeof((registry_version *)0)->data_hash)
		return seg_error_set(err, SEG_EINVAL, "data hash too long: %s", data_hash);
	if ((rc = object_arg(params_json, "params", &params, err)) < 0 ||
	    (rc = object_arg(metrics_json, "metrics", &metrics, err)) < 0)
		goto out;
	if ((rc = workspace_lock(ws, WORKSPACE_LOCK_WAIT, err)) < 0)
		goto out;
	locked = 1;
	if ((rc = workspace_models_list(ws, &models, &nm, err)) < 0)
		goto out;
	int found = 0;
	for (size_t i = 0; i < nm; i++)
		found |= models[i] == model;
	if (!found) {
		rc = seg_error_set(err, SEG_ENOTFOUND,
		                   "%s has no published model v%d (`segue models list`, `segue train`)", ws, model);
		goto out;
	}
	if ((rc = load(ws, &root, err)) < 0)
		goto out;
	json_t *versions = json_object_get(root, "versions");
	int next = 1;
	size_t i;
	json_t *v;
	json_array_foreach(versions, i, v)
	{
		int n = (int)json_integer_value(json_object_get(v, "version"));
		if (n >= next)
			next = n + 1;
	}
	json_t *entry = json_pack("{s:i,s:i,s:s,s:s,s:O,s:O,s:I}", "version", next, "model", model, "run_id",
	                          run_id ? run_id : "", "data_hash", data_hash ? data_hash : "", "params", params,
	                          "metrics", metrics, "created_ms", (json_int_t)now_ms());
	if (entry == NULL || json_array_append_new(versions, entry) < 0) {
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
		goto out;
	}
	history_add(root, "register", NULL, next, 0);
	if ((rc = save(ws, root, err)) < 0)
		goto out;
	if (version)
		*version = next;
out:
	if (locked)
		workspace_unlock(ws);
	free(models);
	json_decref(root);
	json_decref(params);
	json_decref(metrics);
	return rc;
}

int registry_alias_get(const char *ws, const char *alias, int *version, seg_error *err)
{
	if (!alias_valid(alias))
		return seg_error_set(err, SEG_EINVAL, "unknown alias \"%s\" (champion or challenger)",
		                     alias ? alias : "");
	json_t *root;
	int rc = load(ws, &root, err);
	if (rc < 0)
		return rc;
	json_t *a = json_object_get(json_object_get(root, "aliases"), alias);
	if (!json_is_integer(a) || json_integer_value(a) <= 0)
		rc = seg_error_set(err, SEG_ENOTFOUND, "the registry of %s has no %s (`segue models promote`)", ws,
		                   alias);
	else
		*version = (int)json_integer_value(a);
	json_decref(root);
	return rc;
}

int registry_alias_set(const char *ws, const char *alias, int version, seg_error *err)
{
	if (!alias_valid(alias))
		return seg_error_set(err, SEG_EINVAL, "unknown alias \"%s\" (champion or challenger)",
		                     alias ? alias : "");
	json_t *root = NULL;
	int rc = workspace_lock(ws, WORKSPACE_LOCK_WAIT, err);
	if (rc < 0)
		return rc;
	if ((rc = load(ws, &root, err)) < 0)
		goto out;
	if (find_version(root, version) == NULL) {
		rc = seg_error_set(err, SEG_ENOTFOUND, "the registry of %s has no version %d (`segue models list`)", ws,
		                   version);
		goto out;
	}
	json_t *aliases = json_object_get(root, "aliases");
	json_t *cur = json_object_get(aliases, alias);
	int previous = json_is_integer(cur) ? (int)json_integer_value(cur) : 0;
	if (previous == version)
		goto out; /* already so: nothing to remember, nothing to write */
	if (strcmp(alias, "champion") == 0 && previous > 0)
		json_array_append_new(json_object_get(root, "champion_stack"), json_integer(previous));
	json_object_set_new(aliases, alias, json_integer(version));
	history_add(root, "promote", alias, version, previous);
	rc = save(ws, root, err);
out:
	workspace_unlock(ws);
	json_decref(root);
	return rc;
}

int registry_rollback(const char *ws, int *version, seg_error *err)
{
	json_t *root = NULL;
	int rc = workspace_lock(ws, WORKSPACE_LOCK_WAIT, err);
	if (rc < 0)
		return rc;
	if ((rc = load(ws, &root, err)) < 0)
		goto out;
	json_t *stack = json_object_get(root, "champion_stack");
	size_t n = json_array_size(stack);
	if (n == 0) {
		rc = seg_error_set(err, SEG_ENOTFOUND, "nothing to roll back: %s has had no champion before this one",
		                   ws);
		goto out;
	}
	int back = (int)json_integer_value(json_array_get(stack, n - 1));
	json_t *aliases = json_object_get(root, "aliases");
	json_t *cur = json_object_get(aliases, "champion");
	int previous = json_is_integer(cur) ? (int)json_integer_value(cur) : 0;
	json_array_remove(stack, n - 1);
	json_object_set_new(aliases, "champion", json_integer(back));
	history_add(root, "rollback", "champion", back, previous);
	if ((rc = save(ws, root, err)) < 0)
		goto out;
	if (version)
		*version = back;
out:
	workspace_unlock(ws);
	json_decref(root);
	return rc;
}

int registry_list(const char *ws, registry_version **out, size_t *n, seg_error *err)
{
	*out = NULL;
	*n = 0;
	json_t *root;
	int rc = load(ws, &root, err);
	if (rc < 0)
		return rc;
	json_t *versions = json_object_get(root, "versions");
	size_t count = json_array_size(versions);
	registry_version *r = count ? calloc(count, sizeof *r) : NULL;
	if (count && r == NULL) {
		json_decref(root);
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	}
	size_t i;
	json_t *v;
	json_array_foreach(versions, i, v)
	{
		r[i].version = (int)json_integer_value(json_object_get(v, "version"));
		r[i].model = (int)json_integer_value(json_object_get(v, "model"));
		const char *s = json_string_value(json_object_get(v, "run_id"));
		snprintf(r[i].run_id, sizeof r[i].run_id, "%s", s ? s : "");
		s = json_string_value(json_object_get(v, "data_hash"));
		snprintf(r[i].data_hash, sizeof r[i].data_hash, "%s", s ? s : "");
		r[i].created_ms = (int64_t)json_integer_value(json_object_get(v, "created_ms"));
	}
	json_decref(root);
	*out = r;
	*n = count;
	return 0;
}

static int append_json(strbuf *sb, json_t *j, seg_error *err)
{
	char *text = json_dumps(j, JSON_INDENT(2));
	if (text == NULL)
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	strbuf_puts(sb, text);
	free(text);
	return sb->oom ? seg_error_set(err, SEG_ENOMEM, "out of memory") : 0;
}

int registry_show(const char *ws, int version, strbuf *sb, seg_error *err)
{
	json_t *root;
	int rc = load(ws, &root, err);
	if (rc < 0)
		return rc;
	json_t *v = find_version(root, version);
	if (v == NULL) {
		rc = seg_error_set(err, SEG_ENOTFOUND, "the registry of %s has no version %d (`segue models list`)", ws,
		                   version);
		goto out;
	}
	json_t *copy = json_deep_copy(v), *names = json_array();
	const char *key;
	json_t *a;
	json_object_foreach(json_object_get(root, "aliases"), key, a)
	{
		if (json_integer_value(a) == version)
			json_array_append_new(names, json_string(key));
	}
	json_object_set_new(copy, "aliases", names);
	rc = append_json(sb, copy, err);
	json_decref(copy);
out:
	json_decref(root);
	return rc;
}

int registry_json(const char *ws, strbuf *sb, seg_error *err)
{
	json_t *root;
	int rc = load(ws, &root, err);
	if (rc < 0)
		return rc;
	rc = append_json(sb, root, err);
	json_decref(root);
	return rc;
}

int registry_alias_model(const char *ws, const char *alias, int *model, int *version, seg_error *err)
{
	json_t *root;
	int rc = load(ws, &root, err);
	if (rc < 0)
		return rc;
	json_t *a = json_object_get(json_object_get(root, "aliases"), alias);
	json_t *v = json_is_integer(a) ? find_version(root, (int)json_integer_value(a)) : NULL;
	if (v == NULL) {
		rc = seg_error_set(err, SEG_ENOTFOUND, "the registry of %s names no %s", ws, alias);
	} else {
		*model = (int)json_integer_value(json_object_get(v, "model"));
		if (version)
			*version = (int)json_integer_value(a);
	}
	json_decref(root);
	return rc;
}

int registry_champion_model(const char *ws, int *model, int *version, seg_error *err)
{
	return registry_alias_model(ws, "champion", model, version, err);
}
