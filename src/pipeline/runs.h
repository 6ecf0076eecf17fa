/* runs.h: tracked runs in MLflow's file-store layout, so that `mlflow ui
 * --backend-store-uri WORKSPACE/mlruns` browses segue's runs: experiments
 * (a directory with meta.yaml), runs (RUN_ID/ with meta.yaml, params/,
 * metrics/ of "timestamp value step" lines, tags/, artifacts/), written from
 * MLflow's documented format; and the reader behind `segue runs
 * list|show|compare`. It does not decide what a run records: the pipeline
 * and `segue train`/`evaluate` do.
 *
 * The layout, as MLflow's FileStore reads it:
 *   MLRUNS/.trash/                       (MLflow's deleted experiments)
 *   MLRUNS/EXP_ID/meta.yaml              artifact_location, creation_time,
 *                                        experiment_id, last_update_time,
 *                                        lifecycle_stage, name
 *   MLRUNS/EXP_ID/RUN_ID/meta.yaml       artifact_uri, end_time,
 *        entry_point_name, experiment_id, lifecycle_stage, run_id, run_name,
 *        run_uuid, source_name, source_type (4, LOCAL), source_version,
 *        start_time, status (MLflow's RunStatus: 1 RUNNING, 3 FINISHED,
 *        4 FAILED, 5 KILLED), tags ([]), user_id
 *   MLRUNS/EXP_ID/RUN_ID/params/KEY      the value, no newline
 *   MLRUNS/EXP_ID/RUN_ID/metrics/KEY     "TIMESTAMP_MS VALUE STEP\n" lines
 *   MLRUNS/EXP_ID/RUN_ID/tags/KEY        the value, no newline
 *   MLRUNS/EXP_ID/RUN_ID/artifacts/...   any files
 * A key with '/' is a subdirectory, as in MLflow. meta.yaml, params and tags
 * are replaced atomically (core/atomicfile.h); a metric point is appended
 * with one write(2) of a whole line, so a reader sees whole lines.
 *
 * Names are checked as MLflow checks them: a key is 1..250 characters of
 * [A-Za-z0-9_.- /], is not "." nor starts with "/" and has no ".." or "//"
 * component nor a trailing "/"; a parameter value is at most 6000 bytes, a tag value
 * 8000; an experiment or run name is 1..250 bytes without control
 * characters.
 *
 * Thread-safety: one mlrun is used by one thread at a time; any number of
 * runs (threads or processes) may write into one MLRUNS at once: experiment
 * creation is serialised by flock(2) on MLRUNS itself, and a run id is 128
 * bits from getrandom(2). */
#ifndef SEGUE_RUNS_H
#define SEGUE_RUNS_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/strbuf.h"

/* The runs of a workspace are in WORKSPACE/MLRUNS_DIR. */
#define MLRUNS_DIR "mlruns"

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
/* Sets a tag (replaced when set again). mlflow.runName renames the run
 * (meta.yaml's run_name too, as MLflow does). */
int mlrun_tag(mlrun *r, const char *key, const char *value, seg_error *err);
/* Puts the file at `path` into the run's artifacts/ as `name` (may hold
 * '/' for a subdirectory; the same rules as a key): a hard link when both
 * are on one file system (segue replaces its files by rename, so the link
 * keeps this run's bytes, and a model of hundreds of MB costs nothing), else
 * an atomic copy. An existing artifact of that name is replaced. */
int mlrun_artifact(mlrun *r, const char *path, const char *name, seg_error *err);
/* Logs the numbers of a JSON document (a model's metadata, an
 * evaluation.json) as metrics: the member "b" of the object "a" is the
 * metric PREFIX"a.b"; a number is one point at step 0; an array of numbers
 * is one point per element, step = its index (ALS's loss per iteration);
 * strings, booleans, nulls, arrays holding anything but numbers, and keys
 * MLflow would refuse are skipped. timestamp_ms 0: now. SEG_EFORMAT when
 * `json` is not JSON. */
int mlrun_metrics_json(mlrun *r, const char *prefix, const char *json, int64_t timestamp_ms, seg_error *err);
/* Ends the run with status "FINISHED", "FAILED" or "KILLED" (end_time set)
 * and frees r. r is freed whatever it returns; NULL is a no-op. */
int mlrun_end(mlrun *r, const char *status, seg_error *err);

/* ---- the reader ---------------------------------------------------------- */

typedef struct mlrun_kv { /* a parameter or a tag */
	char *key;
	char *value;
} mlrun_kv;

typedef struct mlrun_series { /* a metric */
	char *key;
	double last;       /* the value at the greatest (step, timestamp), as MLflow's latest */
	int64_t last_step; /* its step */
	int64_t last_ms;   /* its timestamp */
	size_t n;          /* points in the history */
} mlrun_series;

typedef struct mlrun_file { /* an artifact */
	char *path;         /* relative to artifacts/ */
	int64_t bytes;
} mlrun_file;

/* One run as read from disk; keys sorted (strcmp). */
typedef struct mlrun_info {
	char run_id[64];
	char experiment_id[32];
	char *experiment;         /* the experiment's name */
	char *name;               /* run_name (or the mlflow.runName tag) */
	char status[16];          /* "RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED" */
	int64_t start_ms, end_ms; /* end_ms 0 while running */
	char *dir;                /* the run's directory */
	mlrun_kv *params, *tags;
	size_t nparams, ntags;
	mlrun_series *metrics;
	size_t nmetrics;
	mlrun_file *artifacts;
	size_t nartifacts;
} mlrun_info;

/* Reads the run whose id is `run` or starts with it (a unique prefix, at
 * least 1 character) in any experiment of MLRUNS. SEG_ENOTFOUND (no such
 * run, or no MLRUNS), SEG_EINVAL (the prefix is ambiguous: err names two),
 * SEG_EFORMAT (a meta.yaml or metric line MLflow would not read), SEG_EIO,
 * SEG_ENOMEM. On error *out is zeroed. */
int mlrun_read(const char *mlruns, const char *run, mlrun_info *out, seg_error *err);
/* Every run of MLRUNS, newest start first (*n 0 and *out NULL when there is
 * none or MLRUNS is missing). Errors as mlrun_read's. */
int mlrun_list(const char *mlruns, mlrun_info **out, size_t *n, seg_error *err);
/* Releases what mlrun_read filled (the struct itself is the caller's);
 * NULL is a no-op. */
void mlrun_info_free(mlrun_info *info);
/* Releases what mlrun_list returned. */
void mlrun_list_free(mlrun_info *runs, size_t n);
/* The parameter, tag or metric of that key, or NULL. */
const char *mlrun_info_param(const mlrun_info *info, const char *key);
const char *mlrun_info_tag(const mlrun_info *info, const char *key);
const mlrun_series *mlrun_info_metric(const mlrun_info *info, const char *key);

/* What `segue runs` prints, as text (json 0) or one JSON document (json 1),
 * appended to sb:
 *   list: one line per run: id, experiment, name, status, start, duration,
 *     and its first metrics;
 *   show: one run: its parameters, metrics (last value, step, history
 *     length), tags and artifacts;
 *   compare: parameters and metrics of a and b side by side, the difference
 *     b - a of numbers, and a '*' (JSON: "differs": true) where they differ. */
void mlrun_format_list(strbuf *sb, const mlrun_info *runs, size_t n, int json);
void mlrun_format_show(strbuf *sb, const mlrun_info *info, int json);
void mlrun_format_compare(strbuf *sb, const mlrun_info *a, const mlrun_info *b, int json);

#endif
