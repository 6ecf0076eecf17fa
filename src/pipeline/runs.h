/* runs.h: tracked runs in MLflow's file-store layout, so that `mlflow ui
 * --backend-store-uri WORKSPACE/mlruns` browses segue's runs: experiments
 * (a directory with meta.yaml), runs (RUN_ID/ with meta.yaml, params/,
 * metrics/ of "timestamp value step" lines, tags/, artifacts/), written from
 * MLflow's documented format; and the reader behind `segue runs
 * list|show|compare`. It does not decide what a run records: the pipeline
 * and `segue train`/`evaluate` do. */
#ifndef SEGUE_RUNS_H
#define SEGUE_RUNS_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef struct mlrun mlrun;

/* Starts a run under MLRUNS/ (created when missing) in the experiment
 * `experiment` (created with the next free id when it does not exist;
 * "Default" is id 0), named run_name (tag mlflow.runName). status RUNNING.
 * SEG_EIO, SEG_EINVAL (a name MLflow would refuse), SEG_ENOMEM; *out NULL on
 * error. */
int mlrun_start(const char *mlruns, const char *experiment, const char *run_name, mlrun **out, seg_error *err);
/* The run's id (32 lowercase hex digits, as MLflow's). */
const char *mlrun_id(const mlrun *r);
/* The run's directory (MLRUNS/EXPERIMENT_ID/RUN_ID). */
const char *mlrun_dir(const mlrun *r);
/* A parameter (written once; a second value for a key is SEG_EINVAL, as in
 * MLflow). */
int mlrun_param(mlrun *r, const char *key, const char *value, seg_error *err);
/* Appends a metric point (timestamp_ms 0: now). */
int mlrun_metric(mlrun *r, const char *key, double value, int64_t step, int64_t timestamp_ms, seg_error *err);
/* Sets a tag (replaced when set again). */
int mlrun_tag(mlrun *r, const char *key, const char *value, seg_error *err);
/* Copies the file at `path` into the run's artifacts/ as `name` (may hold
 * '/' for a subdirectory). */
int mlrun_artifact(mlrun *r, const char *path, const char *name, seg_error *err);
/* Ends the run with status "FINISHED", "FAILED" or "KILLED" (end_time set)
 * and frees r. r is freed whatever it returns; NULL is a no-op. */
int mlrun_end(mlrun *r, const char *status, seg_error *err);

#endif
