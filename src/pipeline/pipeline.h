/* pipeline.h: `segue pipeline run`: the workspace's stages in one run, each
 * skipped when nothing it depends on changed (Prefect's input-hash cache).
 *
 * Stages, a graph, each with the stages it depends on -> its outputs:
 *   ingest    the configured files              -> the catalogue (its stamp)
 *   validate  ingest; the last good baseline    -> pass/fail report; on pass the
 *                                                  baseline (pipeline/baseline.json)
 *   eda       validate                          -> WORKSPACE/eda/report.html
 *   features  validate                          -> pipeline/parts/features.seg: content
 *                                                  vectors, track facts, the training
 *                                                  matrix (train.h's parts)
 *   map, quality, cf, ease, rp3, title
 *             features (quality and title also  -> pipeline/parts/NAME.seg, one model
 *             read the catalogue)                  each: the model stages
 *   train     features and the six model stages -> models/vN, assembled from the parts
 *   evaluate  train                             -> models/vN/evaluation.json (validation split)
 *   register  the evaluation, the champion's    -> a registry version (alias challenger)
 *   promote   the registered version            -> alias champion (when [promote] auto)
 *
 * Cache. A stage's key is XXH3-64 of: its name, its code version
 * (STAGE_CODE in pipeline.c, raised when a stage's behaviour changes),
 * SEGUE_VERSION, its parameters as configured (only those it reads: factors
 * and iterations are cf's, clusters map's, rounds and cv_folds quality's),
 * and its inputs: for ingest the configured files (each file's bytes, or,
 * for a file larger than [ingest] large_file_mb, its path, size, mtime in
 * ns, inode and device: a stated shortcut that misses a same-size rewrite
 * keeping the mtime), for the others the "hash" each stage it depends on
 * recorded (a part's is the hash of its file's bytes, so a part rebuilt the
 * same leaves train cached). The stage is skipped when its last successful
 * record has the same key and its output is still there (ingest: the
 * catalogue's stamp is the recorded one; eda: the report exists; a part:
 * its file, of the recorded size; train: the model exists). Records live in
 * WORKSPACE/pipeline/state.json, replaced atomically; a stage's record is
 * written only when it has finished, so a run killed at any point resumes
 * from the last finished stage.
 *
 * Execution. Stages whose dependencies are done run as soon as a slot is
 * free: [train] parallel slots (default 2), the ready stage that took
 * longest last time first (in stage order with one slot). A stage started
 * while another is running or ready runs its threads (core/parallel.h,
 * OpenBLAS, XGBoost) at the machine's CPUs / parallel, else at all of them.
 * When a stage fails, no new stage starts; those running finish and keep
 * their records. Each stage runs in a forked child process (library calls, no
 * exec), which gives a timeout that works: the runner polls the child and
 * SIGKILLs it when its stage's timeout passes (the stage is then failed; a
 * killed stage leaves no record, and what it half-wrote is only what the
 * library's own atomic writes allow: temporaries, which the workspace lock
 * cleans). The child dies with the runner (PR_SET_PDEATHSIG). The runner
 * itself does no training, so no OpenMP runtime (XGBoost's) is live when it
 * forks; a caller that trained in-process before pipeline_run may see the
 * child hang in OpenMP, which is not fork-safe (the timeout then ends it).
 * A stage that
 * fails with SEG_EIO or SEG_EDB (a file or the database busy or unreadable
 * for a moment) is transient: retried up to `retries` times, waiting
 * `backoff` seconds, doubled each time; any other error fails the run at
 * once.
 *
 * Stopping. SIGINT and SIGTERM are caught while pipeline_run runs (the
 * caller's handlers are restored after): the running stage's child is
 * SIGKILLed, the run ends with "stopped by signal N" (state.json's last run
 * "stopped", the MLflow run KILLED).
 *
 * Lock. WORKSPACE/pipeline/.lock is flock'ed for the whole run and holds the
 * runner's pid and start time, which a refused second run names. Stages
 * take the workspace's own writer lock as the commands do.
 *
 * Tracking. Each run is an MLflow run (runs.h) under WORKSPACE/mlruns in the
 * experiment "pipeline": parameters, each stage's status and seconds, the
 * validation R-precision, the evaluation as an artifact. When tracking is
 * unavailable the run goes on and says so. */
#ifndef SEGUE_PIPELINE_H
#define SEGUE_PIPELINE_H

#include <stddef.h>
#include <stdio.h>

#include "core/error.h"

enum pipeline_stage {
	PS_INGEST,
	PS_VALIDATE,
	PS_EDA,
	PS_FEATURES,
	PS_MAP, /* the model stages, PS_MAP..PS_TITLE: one part each (train.h) */
	PS_QUALITY,
	PS_CF,
	PS_EASE,
	PS_RP3,
	PS_TITLE,
	PS_TRAIN,
	PS_EVALUATE,
	PS_REGISTER,
	PS_PROMOTE,
	PS__COUNT
};
extern const char *const pipeline_stage_names[PS__COUNT];
/* The stage called `name`, or -1. */
int pipeline_stage_parse(const char *name);

#define PIPELINE_DIR "pipeline"
#define PIPELINE_STATE_FILE "state.json"
#define PIPELINE_BASELINE_FILE "baseline.json"
#define PIPELINE_LOCK_FILE ".lock"
#define PIPELINE_MAX_FILES 64

/* Per stage: retries of a transient failure, the first wait (seconds,
 * doubled each retry) and the timeout (seconds, 0 = none). */
typedef struct pipeline_stage_conf {
	int retries;
	double backoff;
	double timeout;
} pipeline_stage_conf;

/* The configuration: one INI-like file, see docs/pipeline.conf.example. */
typedef struct pipeline_config {
	char *files[PIPELINE_MAX_FILES]; /* [ingest] files (malloc'd, resolved against the file's directory) */
	size_t nfiles;
	double large_file_mb;      /* [ingest] files above this are hashed by size+mtime+inode (default 64) */
	double max_rejected_share; /* [validate] (default 0.05) */
	long min_playlists;        /* [validate] (default 100) */
	double psi_limit;          /* [validate] per feature (default 0.2) */
	int eda_top_n;             /* [eda] top_n (default 20) */
	int clusters, factors, als_iterations, quality_rounds, cv_folds; /* [train] */
	unsigned long seed;                                              /* [train] */
	int parallel;            /* [train] parallel: stages run at once (default 2) */
	long eval_max_playlists; /* [evaluate] max_playlists (default 2000; 0 = all) */
	double margin;           /* [register] how far below the champion's R-precision is allowed (0.01) */
	int promote_auto;        /* [promote] auto: make the registered version champion (default 1) */
	pipeline_stage_conf stage[PS__COUNT];
} pipeline_config;

/* The documented defaults, no files. */
void pipeline_config_default(pipeline_config *c);
/* Reads `path` over the defaults in *c (call pipeline_config_default
 * first). SEG_EIO when unreadable, SEG_EINVAL naming the line of an
 * unknown section or key or a bad value. */
int pipeline_config_load(const char *path, pipeline_config *c, seg_error *err);
/* The parameters as "section.key=value" lines, for messages and tracking
 * (malloc'd). */
char *pipeline_config_text(const pipeline_config *c);
void pipeline_config_free(pipeline_config *c);

/* What happened to a stage in a run. */
enum pipeline_status { PSS_NOT_RUN, PSS_CACHED, PSS_RAN, PSS_FAILED };
extern const char *const pipeline_status_names[4];

typedef struct pipeline_options {
	const char *workspace;
	const pipeline_config *conf;
	int from;  /* a stage: rerun it and every stage that depends on it; -1 none */
	int only;  /* a stage: run only it (from its upstream records); -1 none */
	int force; /* a stage: rerun it whatever the cache says; -1 none */
	FILE *out; /* one line per stage; NULL = quiet */
	/* Test hooks (0 / -1 in normal use): the stage's child SIGKILLs the
	 * runner and itself on entry; the stage fails transiently (SEG_EIO) on
	 * its first test_transient_count attempts. */
	int test_kill_in;
	int test_transient_in;
	int test_transient_count;
} pipeline_options;
/* from, only, force, hooks at -1/0; out stderr. */
void pipeline_options_default(pipeline_options *o);

typedef struct pipeline_result {
	int status[PS__COUNT];
	int attempts[PS__COUNT];
	double seconds[PS__COUNT];
	double total_seconds;
	char run_id[40]; /* the MLflow run, or "" */
} pipeline_result;

/* Runs the pipeline. 0 when every stage passed or was cached; else the
 * failing stage's code with err saying which stage and why (a gate's
 * refusal is SEG_EINVAL with its report). Another run holding the lock:
 * SEG_EINVAL naming its pid and start time. r (may be NULL) is filled as
 * far as it got. */
int pipeline_run(const pipeline_options *o, pipeline_result *r, seg_error *err);

/* Prints the last run stage by stage from state.json. SEG_ENOTFOUND when
 * the pipeline never ran in `ws`. */
int pipeline_show(const char *ws, FILE *out, seg_error *err);

/* The pipeline lock of `ws`, for tools and tests: a file descriptor
 * (>= 0) to give to pipeline_unlock, or a negative code as pipeline_run's. */
int pipeline_lock(const char *ws, seg_error *err);
void pipeline_unlock(int fd);

#endif
