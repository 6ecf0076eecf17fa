/* runs.c: not written yet; the team's helper replaces this file. */
#include <math.h>
#include <stddef.h>
#include "pipeline/runs.h"
#pragma GCC diagnostic ignored "-Wunused-parameter"

int mlrun_start(const char *mlruns, const char *experiment, const char *run_name, mlrun **out, seg_error *err)
{
	return -3;
}

const char *mlrun_id(const mlrun *r) { return NULL; }

const char *mlrun_dir(const mlrun *r) { return NULL; }

int mlrun_param(mlrun *r, const char *key, const char *value, seg_error *err) { return -3; }

int mlrun_metric(mlrun *r, const char *key, double value, int64_t step, int64_t timestamp_ms, seg_error *err)
{
	return -3;
}

int mlrun_tag(mlrun *r, const char *key, const char *value, seg_error *err) { return -3; }

int mlrun_artifact(mlrun *r, const char *path, const char *name, seg_error *err) { return -3; }

int mlrun_end(mlrun *r, const char *status, seg_error *err) { return -3; }
