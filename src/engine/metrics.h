/* metrics.h: offline evaluation metrics for playlist continuation (hide part of
 * a playlist, recommend from the rest, score the list against what was hidden):
 * the RecSys Challenge 2018 metrics, the usual top-k accuracy metrics, the
 * beyond-accuracy ones (novelty, intra-list diversity, coverage, Gini,
 * popularity bias) and an accumulator for mean ± standard error tables.
 * It does not split playlists or produce recommendations (evaluate.c does).
 *
 * Identifiers. An item is a uint32_t catalogue index (a snapshot row, 0..N-1),
 * so that per-item arrays (counts, feature rows) are indexed by it directly.
 * An artist is an int64_t catalogue artist id; artist arrays run parallel to
 * the item arrays they describe (artist[i] is the primary artist of item[i]).
 *
 * Dimensions: G hidden (ground-truth) items, K recommended items (ranked, best
 * first), k a cut-off, N catalogue items, D feature dimensions.
 *
 * Undefined values. A per-list metric whose definition divides by zero (for
 * example recall with an empty ground truth) returns NaN; the accumulator
 * counts NaNs as "undefined" and leaves them out of the mean. */
#ifndef SEGUE_METRICS_H
#define SEGUE_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/strbuf.h"

/* ---- ground truth ---- */

/* The hidden items of one playlist, prepared for fast membership tests.
 * Plain struct: zero-initialise, fill with metrics_truth_set (which reuses
 * its memory across playlists), release with metrics_truth_free. The metric
 * functions write to the scratch fields, so one metrics_truth must not be
 * used by two threads at once. */
typedef struct metrics_truth {
	uint32_t *item;   /* [G] distinct hidden items, ascending */
	int64_t *artist;  /* [G] artist of item[g] (the first one given for it) */
	uint32_t *mark;   /* [G] scratch: == stamp when item[g] was matched in this call */
	int64_t *scratch; /* [2G] scratch for artist sets */
	uint32_t stamp;   /* current call's mark value; 0 is never used */
	size_t n;         /* G: number of distinct hidden items */
	size_t cap;       /* entries allocated in each array */
	int has_artist;   /* artist[] is filled (an artist array was given) */
} metrics_truth;

/* Sets the ground truth to item[0..n) (duplicates are merged; the first
 * artist given for an item is kept). `artist` may be NULL: R-precision then
 * gives no artist credit. On error (SEG_ENOMEM) t is left empty (n = 0). */
int metrics_truth_set(metrics_truth *t, const uint32_t *item, const int64_t *artist, size_t n, seg_error *err);
/* Releases t's memory; t becomes empty. NULL is a no-op. */
void metrics_truth_free(metrics_truth *t);
/* Returns the index of `item` in t->item, or -1 when it is not hidden. */
long metrics_truth_find(const metrics_truth *t, uint32_t item);

/* ---- accuracy (one list) ----
 * `rec` is the ranked list, rec[0] best. A duplicate in `rec` keeps its slot
 * (it uses up a position) but is never relevant a second time. */

/* R-precision of the RecSys Challenge 2018, with its artist credit:
 *
 *   R-precision = (|S_T ∩ G_T| + 0.25 · |S_A ∩ G_A|) / |G_T|
 *
 * G_T: the distinct hidden tracks; S_T: the distinct tracks among the first
 * |G_T| positions of rec. The artist term is counted only on what the track
 * term did not match: G_A is the set of artists of the hidden tracks not in
 * S_T, S_A the set of artists of the top-|G_T| recommended tracks not in G_T.
 * So a wrong track by an artist of a still-missing hidden track earns a
 * quarter, and the score never exceeds 1. With rec_artist == NULL or a truth
 * set without artists it is the plain |G ∩ R_{1:|G|}| / |G|.
 * Empty ground truth: NaN. (Definition: see metrics.c.) */
double metrics_r_precision(metrics_truth *t, const uint32_t *rec, const int64_t *rec_artist, size_t K);

/* Which ideal DCG normalises NDCG. */
enum metrics_idcg {
	METRICS_IDCG_CHALLENGE = 0, /* over |G ∩ R| (the challenge's rules); 0 hits gives NDCG 0 */
	METRICS_IDCG_TRUTH = 1,     /* over min(|G|, K): also penalises hidden tracks not retrieved */
};

/* NDCG of the RecSys Challenge 2018 (binary relevance, challenge discount):
 *
 *   DCG  = rel_1 + Σ_{i=2..K} rel_i / log2(i)
 *   IDCG = 1 + Σ_{i=2..M} 1 / log2(i),  M = |G ∩ R| or min(|G|, K) (see enum)
 *   NDCG = DCG / IDCG, and 0 when there is no hit.
 *
 * Note the discount: positions 1 and 2 both weigh 1 (log2(2) = 1), unlike
 * the 1/log2(i+1) of most libraries. Empty ground truth: NaN. */
double metrics_ndcg(metrics_truth *t, const uint32_t *rec, size_t K, enum metrics_idcg idcg);

/* NDCG as the challenge organisers' evaluation tool computes it (their
 * metrics.py, whose figures published results quote), which differs from the
 * rules' text above in both the discount and the ideal:
 *
 *   L    = rec[0..min(K, k)), duplicates dropped keeping the first (later
 *          positions close up, as the tool deduplicates after truncating)
 *   DCG  = Σ_{i=1..|L|} rel_i / log2(i + 1)        (positions 1, 2: 1, 0.631)
 *   IDCG = Σ_{i=1..min(|G|, k)} 1 / log2(i + 1)
 *   NDCG = DCG / IDCG
 *
 * rel_i is 1 when L_i is a hidden track (exact track match, each hidden track
 * counted once). k is the challenge's cut-off (500); k == 0 means k = K. A
 * list shorter than k is not padded: missing positions are misses, and the
 * ideal still counts min(|G|, k). Empty ground truth: NaN (the tool raises).
 * Allocates a scratch set of 2K entries; NaN when that fails. */
double metrics_ndcg_organisers(metrics_truth *t, const uint32_t *rec, size_t K, size_t k);

/* Recommended Songs clicks of the RecSys Challenge 2018: the number of
 * refreshes of a 10-track panel before a relevant track shows,
 * floor((rank of the first relevant track - 1) / 10), looking at the first
 * METRICS_CLICKS_DEPTH positions only; 51 when none of them is relevant
 * (also for an empty ground truth, where nothing can be relevant). */
#define METRICS_CLICKS_DEPTH 500
#define METRICS_CLICKS_NONE 51
double metrics_clicks(metrics_truth *t, const uint32_t *rec, size_t K);

/* Top-k metrics over the first k positions (k == 0 means k = K; k > K counts
 * the missing positions as misses). "Hits" are distinct relevant items.
 *   recall@k    = hits / |G|             (NaN when G is empty)
 *   precision@k = hits / k               (NaN when k = K = 0)
 *   hit@k       = 1 if hits > 0, else 0  (its mean over lists is the hit rate)
 *   rr@k        = 1 / rank of the first relevant item, 0 if none in the top k
 *                 (its mean over lists is MRR) */
double metrics_recall_at(metrics_truth *t, const uint32_t *rec, size_t K, size_t k);
double metrics_precision_at(metrics_truth *t, const uint32_t *rec, size_t K, size_t k);
double metrics_hit_at(metrics_truth *t, const uint32_t *rec, size_t K, size_t k);
double metrics_rr_at(metrics_truth *t, const uint32_t *rec, size_t K, size_t k);

/* ---- beyond accuracy ---- */

/* How often each catalogue item occurs in the training data (playlist
 * occurrences, plays), with the totals that novelty and popularity bias need.
 * Plain struct over a caller-owned array that must outlive it. */
typedef struct metrics_popularity {
	const uint32_t *count; /* [N] occurrences of each item */
	size_t n;              /* N */
	double total;          /* Σ count */
	double mean;           /* total / N */
} metrics_popularity;

/* Fills p from count[0..N). N == 0 or an all-zero count is SEG_EINVAL. */
int metrics_popularity_init(metrics_popularity *p, const uint32_t *count, size_t N, seg_error *err);

/* Novelty: the mean self-information of the recommended items,
 * mean_i -log2(max(count[rec_i], 1) / total), in bits. An item never seen in
 * training is treated as seen once, which keeps the value finite (at most
 * log2(total)). K == 0 gives NaN. An item >= N is SEG_EINVAL. */
int metrics_novelty(const metrics_popularity *p, const uint32_t *rec, size_t K, double *out, seg_error *err);

/* Popularity bias: mean count of the recommended items over the mean count of
 * the catalogue (1 = as popular as the average item; > 1 leans popular).
 * K == 0 gives NaN. An item >= N is SEG_EINVAL. */
int metrics_popularity_bias(const metrics_popularity *p, const uint32_t *rec, size_t K, double *out, seg_error *err);

/* Intra-list diversity: the mean over the K(K-1)/2 pairs of 1 - cosine
 * similarity. A zero vector has no direction; its pairs count as cosine 0
 * (distance 1). Fewer than two items: NaN.
 *   metrics_ild:      X is [K][D], one row per recommended item.
 *   metrics_ild_rows: X is the catalogue [N][D]; the items are rows rec[0..K)
 *                     (the caller guarantees rec[i] < N).
 *   metrics_ild_fn:   any distance, dist(a, b, ctx) for items a, b. */
double metrics_ild(const float *X, size_t K, size_t D);
double metrics_ild_rows(const float *X, size_t D, const uint32_t *rec, size_t K);
typedef double (*metrics_distance_fn)(uint32_t a, uint32_t b, void *ctx);
double metrics_ild_fn(const uint32_t *rec, size_t K, metrics_distance_fn dist, void *ctx);

/* ---- across lists: exposure ---- */

/* How often each catalogue item was recommended, over all evaluated lists.
 * Plain struct: metrics_exposure_init, then _add per list, then read. */
typedef struct metrics_exposure {
	uint64_t *count; /* [N] times each item was recommended (every occurrence) */
	size_t n;        /* N: catalogue size */
	uint64_t total;  /* Σ count */
	size_t lists;    /* lists added */
} metrics_exposure;

int metrics_exposure_init(metrics_exposure *e, size_t N, seg_error *err);
/* Counts rec[0..K). An item >= N is SEG_EINVAL and nothing is counted. */
int metrics_exposure_add(metrics_exposure *e, const uint32_t *rec, size_t K, seg_error *err);
/* Catalogue coverage: distinct items recommended at least once / N. */
double metrics_exposure_coverage(const metrics_exposure *e);
/* Gini index of the recommendation counts over all N items (zeros included),
 * with the counts sorted ascending x_(1) <= ... <= x_(N):
 *   Gini = Σ_i (2i - N - 1) x_(i) / (N Σ_i x_(i))
 * 0 when every item is recommended equally often, (N-1)/N when one item takes
 * all. NaN when nothing was recommended. Sorts a copy (may fail: SEG_ENOMEM). */
int metrics_exposure_gini(const metrics_exposure *e, double *out, seg_error *err);
void metrics_exposure_free(metrics_exposure *e); /* NULL is a no-op */

/* ---- accumulator ---- */

/* One running mean and variance (Welford), for one metric over lists. */
typedef struct metrics_stat {
	size_t n;         /* defined values added */
	size_t undefined; /* NaN values seen (not in the mean) */
	double mean;      /* running mean of the defined values */
	double m2;        /* Σ (x - mean)^2 of the defined values */
} metrics_stat;

void metrics_stat_add(metrics_stat *s, double x);
/* Merges b into a (Chan et al.'s pairwise update), for per-thread partials. */
void metrics_stat_merge(metrics_stat *a, const metrics_stat *b);
/* Mean (NaN when n == 0); standard error sd/sqrt(n) with the sample
 * deviation (n - 1), NaN when n < 2; the 95% half-width is 1.96·SE. */
double metrics_stat_mean(const metrics_stat *s);
double metrics_stat_se(const metrics_stat *s);

/* ---- inference over lists ----
 * For comparing recommenders on the same lists: every array below is indexed
 * by list (playlist), a[i] and b[i] scored on the same list. */

/* Two-sided p-value of Student's t with df degrees of freedom:
 * P(|T| >= |t|) = I_{df/(df+t²)}(df/2, 1/2), the regularised incomplete beta
 * (continued fraction). df <= 0 or NaN t gives NaN. */
double metrics_t_pvalue(double t, double df);

/* A paired comparison of a against b over n lists (d_i = a_i - b_i). */
typedef struct metrics_paired {
	size_t n;      /* lists compared */
	double mean;   /* mean of d */
	double se;     /* sd(d)/sqrt(n), sample sd (n - 1) */
	double t;      /* mean / se; ±inf when se == 0 and mean != 0 */
	double p;      /* two-sided p of the paired t-test (df = n - 1), as scipy.stats.ttest_rel */
	double lo, hi; /* 95% CI of the mean difference, normal approximation: mean ± 1.96 se */
} metrics_paired;

/* Paired t-test of a against b. n < 2 gives p = NaN. Both means equal with
 * se == 0 gives t = 0, p = 1. */
void metrics_paired_ttest(const double *a, const double *b, size_t n, metrics_paired *out);

/* Holm's step-down adjustment of m p-values: with p sorted ascending
 * p_(1) <= ... <= p_(m), adj_(j) = max_{i<=j} min(1, (m - i + 1) p_(i)).
 * A NaN p stays NaN and is left out of m. adj may alias p. Allocates m
 * indices; returns SEG_ENOMEM (adj untouched) when that fails. */
int metrics_holm(const double *p, size_t m, double *adj, seg_error *err);

/* The per-list metrics that metrics_list_eval computes and metrics_acc sums. */
/* clang-format off */
enum metrics_id {
	METRIC_R_PRECISION, METRIC_NDCG, METRIC_CLICKS, METRIC_RECALL, METRIC_PRECISION,
	METRIC_HIT, METRIC_RR, METRIC_NOVELTY, METRIC_ILD, METRIC_POPULARITY_BIAS,
	METRIC__COUNT
};
/* clang-format on */
/* Short names ("r_precision", "ndcg", "clicks", "recall@k", ...). */
extern const char *const metrics_names[METRIC__COUNT];

/* Options of metrics_list_eval. Zero-initialised means: k = whole list,
 * challenge IDCG, no novelty, popularity bias or diversity (those are NaN). */
typedef struct metrics_list_opts {
	size_t k;                      /* cut-off of recall/precision/hit/rr/diversity; 0 = K */
	enum metrics_idcg idcg;        /* NDCG normalisation */
	const metrics_popularity *pop; /* for novelty and popularity bias (over the top k), or NULL */
	const float *features;         /* [N][D] catalogue feature rows for diversity, or NULL */
	size_t features_n;             /* N of `features` */
	size_t features_d;             /* D of `features` */
} metrics_list_opts;

/* Computes every per-list metric of one recommendation list into
 * out[METRIC__COUNT] (NaN where undefined or not requested). Fails only on
 * an item outside the popularity or feature arrays (SEG_EINVAL). */
int metrics_list_eval(metrics_truth *t, const uint32_t *rec, const int64_t *rec_artist, size_t K,
                      const metrics_list_opts *o, double out[METRIC__COUNT], seg_error *err);

/* Sums per-list metric values. Plain struct; zero-initialise. */
typedef struct metrics_acc {
	metrics_stat stat[METRIC__COUNT]; /* one series per metric */
} metrics_acc;

void metrics_acc_add(metrics_acc *a, const double v[METRIC__COUNT]);
void metrics_acc_merge(metrics_acc *a, const metrics_acc *b);
/* Appends one line per metric with at least one value:
 * "name  mean ± 1.96·SE  (n=..., undefined=...)", 4 decimals. */
void metrics_acc_format(const metrics_acc *a, strbuf *sb);

#endif
