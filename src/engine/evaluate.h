/* evaluate.h: `segue evaluate`: offline evaluation by playlist continuation,
 * under a stated protocol.
 *
 * - Split: the test split (dataset.h; never seen by training), or the
 *   validation split for tuning. Only playlists of the chosen split are read.
 * - The same playlists in every row: a playlist is used when it has more
 *   distinct tracks than the largest seed count (25), so every seed case
 *   leaves at least one hidden track.
 * - Seed cases: first-n (n = 1, 5, 10, 25), random-n (n = 5, 25 seeds at
 *   random positions, the same for a playlist on every run), and title-only
 *   (no seeds, the playlist's title) for the models that read a title.
 * - Lists are filled to k (500): a model that returns fewer gets the most
 *   popular training tracks it did not list and that are not seeds.
 * - Metrics: R-precision with artist credit, NDCG as the organisers' tool
 *   computes it ("ndcg"), NDCG normalised over the hits ("ndcg_hits", the
 *   older figure), clicks, recall@k; novelty and ILD over the top 10.
 * - Every cell (model, case, source: all, mpd, editorial) has a 95% CI
 *   (normal approximation over playlists); each model is compared with the
 *   cell's best baseline by a paired t-test over playlists, Holm-corrected
 *   over every comparison of the table.
 * - With runs > 1, the models are trained `runs` times with different seeds
 *   on the train split: cells are mean ± sd over runs; CIs and tests use the
 *   per-playlist values averaged over runs.
 * The table is printed and written as JSON beside the model
 * (evaluation.json). The scoring core (eval_set_pick, eval_score) is shared
 * with `segue tune`. */
#ifndef SEGUE_EVALUATE_H
#define SEGUE_EVALUATE_H

#include <stdio.h>

#include "core/error.h"
#include "engine/recommend.h"
#include "engine/train.h"

/* The re-ranking knobs of the default model's re-ranked row. */
typedef struct eval_rerank {
	float diversity;    /* MMR λ */
	float novelty;      /* novelty weight */
	int max_per_artist; /* artist cap, 0 = none */
} eval_rerank;

typedef struct eval_options {
	const char *workspace;
	const char *artifact;       /* model version or NULL for the latest (runs == 1) */
	int split;                  /* CATALOG_SPLIT_TEST (default) or CATALOG_SPLIT_VALID */
	size_t k;                   /* list length scored (500, as the challenge) */
	size_t max_playlists;       /* 0 = every eligible playlist; else thinned evenly */
	int runs;                   /* training seeds (default 1 = the published model) */
	const train_options *train; /* how runs > 1 train (NULL = defaults); seeds seed..seed+runs-1 */
	const eval_rerank *rerank;  /* NULL = rec_request_default's knobs */
	const char *markdown;       /* non-NULL: only print this evaluation.json as Markdown */
	int json;                   /* print JSON instead of the table */
	FILE *out;
	char *kept;      /* where the table was kept (evaluation.json) is copied here, or NULL */
	size_t kept_cap; /* bytes at kept */
} eval_options;

void eval_options_default(eval_options *o);

/* Runs the evaluation (or, with o->markdown, only converts a file). */
int evaluate_run(const eval_options *o, seg_error *err);

/* ---- the scoring core, shared with tune ---- */

enum eval_case_kind { EVAL_FIRST, EVAL_RANDOM, EVAL_TITLE };

/* One seed case: which tracks of a playlist are given. */
typedef struct eval_case {
	enum eval_case_kind kind;
	size_t n; /* seeds (0 for EVAL_TITLE) */
} eval_case;

/* Writes the case's name ("first-5", "random-25", "title") into buf. */
void eval_case_name(const eval_case *c, char *buf, size_t cap);

/* One recommender as scored: a model, its re-ranking and blend. */
typedef struct eval_variant {
	char name[80];
	int model;                    /* registry id */
	int rerank;                   /* re-rank with the knobs below */
	float diversity, novelty;     /* MMR λ and novelty weight when re-ranking */
	int max_per_artist;           /* artist cap when re-ranking */
	const hybrid_weights *hybrid; /* NULL = the artifact's */
} eval_variant;

/* The per-playlist metrics eval_score fills. */
enum eval_metric {
	EM_RPREC,     /* R-precision with artist credit */
	EM_NDCG,      /* organisers' NDCG (metrics_ndcg_organisers, cut-off k) */
	EM_NDCG_HITS, /* NDCG over the hits with the rules' discount (the older figure) */
	EM_CLICKS,    /* recommended-songs clicks */
	EM_RECALL,    /* recall@k */
	EM_NOVELTY,   /* novelty of the top 10 (bits) */
	EM_ILD,       /* intra-list diversity of the top 10 with features (NaN: < 2) */
	EM_FILLED,    /* tracks of the list that are popularity filler */
	EM__COUNT
};
extern const char *const eval_metric_names[EM__COUNT];

/* The playlists one evaluation reads. */
typedef struct eval_set {
	int split;                 /* the split they all come from */
	size_t min_distinct;       /* a playlist needs more distinct tracks than this */
	size_t eligible;           /* playlists of the split that qualify */
	size_t n;                  /* used after thinning */
	size_t *pl;                /* [n] dataset playlist indices, ascending */
	size_t scored_by_split[3]; /* playlists eval_score actually read, by their pl_split (instrumentation) */
} eval_set;

/* Picks the playlists of `split` with more than `max_seeds` distinct tracks,
 * thinned to at most max_playlists (0 = all) by an even stride. */
int eval_set_pick(const dataset *ds, int split, size_t max_seeds, size_t max_playlists, eval_set *out, seg_error *err);
void eval_set_free(eval_set *s); /* NULL is a no-op */

/* Scores variants v[V] on cases c[C] over the set's playlists, with lists of
 * k, into values[((v * C + c) * n + i) * EM__COUNT + m] (n = set->n): NaN
 * where undefined (a title case for a model that reads no title, or a
 * playlist without a title). cover (may be NULL) is [V * C] bitsets of
 * engine_track_limit bits, the tracks in any top 10. Runs on the engine's
 * threads. Adds to set->scored_by_split. */
int eval_score(const engine *e, const dataset *ds, eval_set *set, const eval_case *c, size_t C, const eval_variant *v,
               size_t V, size_t k, double *values, uint64_t *cover, seg_error *err);

/* 1 when model `id` reads a playlist title (title-only case). */
int eval_model_reads_title(int id);

#endif
