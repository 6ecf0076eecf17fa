/* runs.c: the server's read-only view of the workspace's tracking, for the
 * dashboard's Runs page: GET /api/runs (every tracked run of
 * WORKSPACE/mlruns, as `segue runs list --json`), GET /api/runs/{id} (one
 * run, as `segue runs show --json`), GET /api/registry (registry.json as
 * registry_json gives it) and GET /api/pipeline (the last pipeline run of
 * WORKSPACE/pipeline/state.json, stage by stage in the pipeline's order).
 * What is absent (no mlruns, no registry, the pipeline never ran) is an
 * empty answer, not an error: a fresh workspace has none of them. It writes
 * nothing; the files it reads are replaced atomically by their writers, so
 * it reads them whole without a lock. */
#include "serve/internal.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "pipeline/pipeline.h"
#include "pipeline/registry.h"
#include "pipeline/runs.h"

static enum MHD_Result h_runs(server *s, struct MHD_Connection *c, req *r)
{
	char mlruns[PATH_MAX];
	seg_error err = {0};
	snprintf(mlruns, sizeof mlruns, "%s/%s", s->o->workspace, MLRUNS_DIR);
	mlrun_info *list = NULL;
	size_t n = 0;
	int rc = mlrun_list(mlruns, &list, &n, &err);
	if (rc == SEG_ENOTFOUND) /* no mlruns yet: no runs */
		rc = 0, n = 0, list = NULL;
	if (rc < 0)
		return serve__send_seg_error(c, r, &err);
	strbuf sb = {0};
	mlrun_format_list(&sb, list, n, 1);
	mlrun_list_free(list, n);
	return serve__send_strbuf(c, r, 200, &sb);
}

static enum MHD_Result h_run(server *s, struct MHD_Connection *c, req *r, const char *id)
{
	char mlruns[PATH_MAX];
	seg_error err = {0};
	snprintf(mlruns, sizeof mlruns, "%s/%s", s->o->workspace, MLRUNS_DIR);
	/* A run id is hex (a prefix of one); anything else names no run and
	 * must not reach the file system as a path. */
	if (id == NULL || id[0] == '\0' || strspn(id, "0123456789abcdef") != strlen(id))
		return serve__send_error(c, r, 404, "not_found", "no run %.64s", id ? id : "");
	mlrun_info info = {0};
	int rc = mlrun_read(mlruns, id, &info, &err);
	if (rc == SEG_ENOTFOUND)
		return serve__send_error(c, r, 404, "not_found", "no run %s", id);
	if (rc < 0)
		return serve__send_seg_error(c, r, &err);
	strbuf sb = {0};
	mlrun_format_show(&sb, &info, 1);
	mlrun_info_free(&info);
	return serve__send_strbuf(c, r, 200, &sb);
}

static enum MHD_Result h_registry(server *s, struct MHD_Connection *c, req *r)
{
	seg_error err = {0};
	strbuf sb = {0};
	if (registry_json(s->o->workspace, &sb, &err) < 0) {
		strbuf_free(&sb);
		return serve__send_seg_error(c, r, &err);
	}
	return serve__send_strbuf(c, r, 200, &sb);
}

/* {"last_run": {"run_id", "status", "seconds", "message", "stages": [{"name",
 * "status", "seconds", "attempts", "message"}, ...]}} in the pipeline's
 * stage order (state.json keeps stages in an object); {} when it never
 * ran. */
static enum MHD_Result h_pipeline(server *s, struct MHD_Connection *c, req *r)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s/%s", s->o->workspace, PIPELINE_DIR, PIPELINE_STATE_FILE);
	json_t *state = json_load_file(path, 0, NULL);
	json_t *last = json_object_get(state, "last_run");
	json_t *out = json_object();
	if (json_is_object(last)) {
		json_t *run = json_object();
		const char *fields[] = {"run_id", "status", "seconds", "message", "started_ms", "finished_ms"};
		for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
			json_t *v = json_object_get(last, fields[i]);
			if (v != NULL)
				json_object_set(run, fields[i], v);
		}
		json_t *stages = json_array();
		for (int st = 0; st < PS__COUNT; st++) {
			json_t *ls = json_object_get(json_object_get(last, "stages"), pipeline_stage_names[st]);
			json_t *one = json_is_object(ls) ? json_deep_copy(ls) : json_object();
			json_object_set_new(one, "name", json_string(pipeline_stage_names[st]));
			json_array_append_new(stages, one);
		}
		json_object_set_new(run, "stages", stages);
		json_object_set_new(out, "last_run", run);
	}
	json_decref(state);
	return serve__send_json(c, r, 200, out);
}

enum MHD_Result serve__runs_route(server *s, struct MHD_Connection *c, req *r, const char *id)
{
	switch (r->route) {
	case R_RUNS: return h_runs(s, c, r);
	case R_RUN: return h_run(s, c, r, id);
	case R_REGISTRY: return h_registry(s, c, r);
	default: return h_pipeline(s, c, r);
	}
}
