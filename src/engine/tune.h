/* tune.h: `segue tune`: chooses every weight and hyperparameter on the
 * validation split, never the test split, by a documented search.
 *
 * The search is coordinate descent over one table of (model, parameter,
 * values), in the table's order, one pass: each value of a parameter is tried
 * with every other parameter at its best value so far; a point whose
 * parameter changes the artifact (ALS, co-occurrence) is trained on the train
 * split into a temporary file (train_to_path, quality CV skipped), the
 * others (the hybrid's blend, re-ranking) only change the request. Each point
 * is scored on validation playlists (evaluate.h's eval_score, the same
 * playlist rule) by the objective: the mean of R-precision and organisers'
 * NDCG at first-5 and first-10 seeds, of the model the parameter belongs to.
 * The diversity λ is not chosen by accuracy alone: the trade-off curve
 * (accuracy, novelty, ILD against λ) is recorded and the default is the
 * largest λ whose objective is within TUNE_LAMBDA_BUDGET of λ = 0's. The
 * other re-ranking knobs (novelty, artist cap) likewise take their most
 * discovery-leaning value within TUNE_KNOB_BUDGET of their row's best.
 *
 * Everything tried, the chosen values, the objective, the curve and the time
 * taken go to WORKSPACE/tuning.json (stamped with the catalogue's state), and
 * the curve to WORKSPACE/tuning-lambda.svg. `segue train` reads the chosen
 * values back through tune_apply. */
#ifndef SEGUE_TUNE_H
#define SEGUE_TUNE_H

#include <stdio.h>

#include "core/error.h"
#include "engine/evaluate.h"
#include "engine/train.h"

/* The relative accuracy cost the diversity λ may buy (0.05: 5%). */
#define TUNE_LAMBDA_BUDGET 0.05
/* The other discovery knobs of re-ranking (novelty weight, artist cap) each
 * take their most discovery-leaning value within this share of their row's
 * best objective. */
#define TUNE_KNOB_BUDGET 0.02

typedef struct tune_options {
	const char *workspace;
	size_t max_playlists;      /* validation playlists per point (default 400; 0 = all eligible) */
	size_t k;                  /* list length (default 500) */
	const train_options *base; /* starting point (NULL = train_options_default) */
	int verbose;               /* progress to `out` */
	FILE *out;
} tune_options;

void tune_options_default(tune_options *o);

/* Runs the search and writes tuning.json. Reads only train (to fit) and
 * validation (to score) playlists; tuning.json's "playlists_read" counts
 * what was scored, by split. */
int tune_run(const tune_options *o, seg_error *err);

/* Applies tuning.json's chosen values to `t` (training) and `rr`
 * (re-ranking; may be NULL). *applied = 1 when they were applied, 0 when
 * there is no tuning.json or it was made from another state of the
 * catalogue (then note[cap] says so; o untouched). A damaged file is
 * SEG_EFORMAT. */
int tune_apply(const char *workspace, train_options *t, eval_rerank *rr, int *applied, char *note, size_t cap,
               seg_error *err);

/* Makes tuning.json's re-ranking choices (diversity λ, novelty, artist cap)
 * the defaults of every request (rec_request_set_rerank_defaults), when it
 * is there and current; *applied and note[cap] as tune_apply. For the
 * server and `segue recommend`, at start-up. */
int tune_use_rerank_defaults(const char *workspace, int *applied, char *note, size_t cap, seg_error *err);

/* Prints tuning.json's summary (chosen values, objective, λ curve) as
 * Markdown, for the README. */
int tune_markdown(const char *file, FILE *out, seg_error *err);

#endif
