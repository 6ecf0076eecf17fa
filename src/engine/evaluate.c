/* evaluate.c: offline evaluation under the protocol of evaluate.h.
 *
 * Legend: n playlists of the set, C seed cases, V variants (recommenders),
 * R training runs, G source groups (all, mpd, editorial), M per-playlist
 * metrics (enum eval_metric), K list length, T track ids. */
#include "engine/evaluate.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "catalog/workspace.h"
#include "core/container.h"
#include "core/parallel.h"
#include "core/progress.h"
#include "core/rng.h"
#include "engine/dataset.h"
#include "engine/metrics.h"
#include "engine/recommender.h"

#define TOP 10       /* beyond-accuracy metrics look at what a listener sees */
#define MAX_SEEDS 25 /* the largest seed count of any case */

/* clang-format off */
static const eval_case CASES[] = {
	{EVAL_FIRST, 1}, {EVAL_FIRST, 5}, {EVAL_FIRST, 10}, {EVAL_FIRST, 25},
	{EVAL_RANDOM, 5}, {EVAL_RANDOM, 25}, {EVAL_TITLE, 0},
};
/* clang-format on */
#define NCASES (sizeof CASES / sizeof *CASES)

const char *const eval_metric_names[EM__COUNT] = {
	[EM_RPREC] = "r_precision", [EM_NDCG] = "ndcg",       [EM_NDCG_HITS] = "ndcg_hits", [EM_CLICKS] = "clicks",
	[EM_RECALL] = "recall@k",   [EM_NOVELTY] = "novelty", [EM_ILD] = "ild@10",          [EM_FILLED] = "filled",
};

/* Source groups every cell is reported for. */
enum { GR_ALL, GR_MPD, GR_EDITORIAL, GR__COUNT };
static const char *const GROUP_NAMES[GR__COUNT] = {"all", "mpd", "editorial"};

/* Metrics that get a paired test against the cell's best baseline. */
static const int TESTED[] = {EM_RPREC, EM_NDCG};
#define NTESTED (sizeof TESTED / sizeof *TESTED)

void eval_options_default(eval_options *o)
{
	memset(o, 0, sizeof(*o));
	o->split = CATALOG_SPLIT_TEST;
	o->k = 500;
	o->runs = 1;
	o->out = stdout;
}

void eval_case_name(const eval_case *c, char *buf, size_t cap)
{
	if (c->kind == EVAL_TITLE)
		snprintf(buf, cap, "title");
	else
		snprintf(buf, cap, "%s-%zu", c->kind == EVAL_FIRST ? "first" : "random", c->n);
}

int eval_model_reads_title(int id)
{
	const recommender *r = recommender_get(id);
	return r != NULL && (r->flags & REC_USES_TITLE) != 0;
}

/* ------------------------------------------------------------ playlists */

int eval_set_pick(const dataset *ds, int split, size_t max_seeds, size_t max_playlists, eval_set *out, seg_error *err)
{
	memset(out, 0, sizeof *out);
	out->split = split;
	out->min_distinct = max_seeds;
	uint32_t *mark = calloc((size_t)(ds->T > 0 ? ds->T : 1), sizeof(uint32_t));
	size_t *all = malloc(sizeof(size_t) * (ds->P ? ds->P : 1));
	if (mark == NULL || all == NULL) {
		free(mark);
		free(all);
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	}
	uint32_t stamp = 0;
	for (size_t p = 0; p < ds->P; p++) {
		if (ds->pl_split[p] != split)
			continue;
		stamp++;
		size_t distinct = 0;
		for (uint32_t j = ds->pl_ptr[p]; j < ds->pl_ptr[p + 1]; j++) {
			int64_t t = ds->pl_tracks[j];
			if (t > 0 && t < ds->T && mark[t] != stamp) {
				mark[t] = stamp;
				distinct++;
			}
		}
		if (distinct > max_seeds)
			all[out->eligible++] = p;
	}
	free(mark);
	size_t step = max_playlists && out->eligible > max_playlists
	                      ? (out->eligible + max_playlists - 1) / max_playlists
	                      : 1;
	for (size_t i = 0; i < out->eligible; i += step)
		all[out->n++] = all[i];
	out->pl = all;
	return 0;
}

void eval_set_free(eval_set *s)
{
	if (s == NULL)
		return;
	free(s->pl);
	s->pl = NULL;
	s->n = 0;
}

/* -------------------------------------------------------------- scoring */

/* One worker's scratch. */
typedef struct worker_scratch {
	rec_item *items;     /* [K] */
	uint32_t *rec;       /* [K] the list as scored, filler included */
	int64_t *rec_artist; /* [K] */
	uint32_t *truth;     /* [L] hidden tracks */
	int64_t *truth_art;  /* [L] */
	int64_t *seeds;      /* [L] */
	uint32_t *pos;       /* [L] positions, shuffled for random seeds */
	uint8_t *chosen;     /* [L] 1 = position is a seed */
	float *gather;       /* [TOP][D] */
	uint32_t *mark;      /* [T] stamp per track */
	uint32_t stamp;      /* last stamp used */
	metrics_truth mt;    /* hidden set */
	uint64_t *cover;     /* [V*C][words] tracks in any top 10 */
	size_t by_split[3];  /* playlists read, by split */
	int rc;              /* first error of this worker */
	seg_error err;       /* its message */
} worker_scratch;

typedef struct score_ctx {
	const engine *e;
	const dataset *ds;
	const eval_set *set;
	const eval_case *c;
	size_t C;
	const eval_variant *v;
	size_t V, K, D, words;
	const int64_t *pop_order; /* [npop] tracks by training popularity, most first */
	size_t npop;
	metrics_popularity pop;
	double *values;
	worker_scratch *ws;
	progress *prog;
	size_t done;
	pthread_mutex_t lock;
} score_ctx;

static uint32_t next_stamp(worker_scratch *w, size_t T)
{
	if (++w->stamp == 0) {
		memset(w->mark, 0, sizeof(uint32_t) * T);
		w->stamp = 1;
	}
	return w->stamp;
}

/* Scores playlist set->pl[i] for every case and variant. */
static int score_one(score_ctx *x, worker_scratch *w, size_t i)
{
	const dataset *ds = x->ds;
	size_t p = x->set->pl[i], T = (size_t)ds->T;
	const int64_t *tracks = ds->pl_tracks + ds->pl_ptr[p];
	size_t len = ds->pl_ptr[p + 1] - ds->pl_ptr[p];
	if (ds->pl_split[p] < 3)
		w->by_split[ds->pl_split[p]]++;
	int rc = 0;
	for (size_t ci = 0; ci < x->C; ci++) {
		const eval_case *c = &x->c[ci];
		size_t n = c->kind == EVAL_TITLE ? 0 : c->n;
		/* Which positions are seeds. */
		memset(w->chosen, 0, len);
		if (c->kind == EVAL_FIRST) {
			for (size_t j = 0; j < n && j < len; j++)
				w->chosen[j] = 1;
		} else if (c->kind == EVAL_RANDOM) {
			/* A partial Fisher-Yates draw, seeded by the playlist and n, so
			 * every run and every model sees the same seeds. */
			rng r;
			rng_seed(&r, rng_mix64((uint64_t)ds->pl_id[p] * 0x9E3779B97F4A7C15ull + n));
			for (size_t j = 0; j < len; j++)
				w->pos[j] = (uint32_t)j;
			for (size_t j = 0; j < n && j < len; j++) {
				size_t q = j + (size_t)(rng_next(&r) % (uint64_t)(len - j));
				uint32_t tmp = w->pos[j];
				w->pos[j] = w->pos[q];
				w->pos[q] = tmp;
				w->chosen[w->pos[j]] = 1;
			}
		}
		uint32_t seed_stamp = next_stamp(w, T);
		size_t ns = 0;
		for (size_t j = 0; j < len; j++)
			if (w->chosen[j]) {
				w->seeds[ns++] = tracks[j];
				if (tracks[j] > 0 && tracks[j] < ds->T)
					w->mark[tracks[j]] = seed_stamp;
			}
		/* Hidden: every other track that is not also a seed. */
		size_t nt = 0;
		for (size_t j = 0; j < len; j++) {
			int64_t t = tracks[j];
			if (w->chosen[j] || t <= 0 || t >= ds->T || w->mark[t] == seed_stamp)
				continue;
			w->truth[nt] = (uint32_t)t;
			w->truth_art[nt++] = ds->track_artist[t];
		}
		if ((rc = metrics_truth_set(&w->mt, w->truth, w->truth_art, nt, &w->err)) < 0)
			return rc;
		const char *title = ds->pl_name ? ds->pl_name[p] : NULL;
		for (size_t vi = 0; vi < x->V; vi++) {
			const eval_variant *v = &x->v[vi];
			double *out = x->values + ((vi * x->C + ci) * x->set->n + i) * EM__COUNT;
			for (int m = 0; m < EM__COUNT; m++)
				out[m] = NAN;
			/* The title-only case is for the models that read a title and
			 * the baselines that need no query; a title model is not scored
			 * on seeds (it would only serve its popular fill). */
			const recommender *rm = recommender_get(v->model);
			int title_reader = eval_model_reads_title(v->model);
			int query_free = rm != NULL && !(rm->flags & REC_NEEDS_QUERY);
			if (nt == 0 || (c->kind == EVAL_TITLE && ((!title_reader && !query_free) || title == NULL)) ||
			    (c->kind != EVAL_TITLE && title_reader))
				continue;
			rec_request r;
			rec_request_default(&r);
			r.model = v->model;
			r.rerank = v->rerank;
			if (v->rerank) {
				r.diversity = v->diversity;
				r.novelty = v->novelty;
				r.max_per_artist = v->max_per_artist;
			}
			r.hybrid = v->hybrid;
			r.k = x->K;
			r.pool = x->K + x->K / 5;
			r.seeds = ns ? w->seeds : NULL;
			r.nseeds = ns;
			r.title = c->kind == EVAL_TITLE ? title : NULL;
			r.seed = (uint64_t)p * 31 + n + (c->kind == EVAL_RANDOM ? 7919 : 0);
			size_t got = 0;
			if ((rc = engine_recommend(x->e, &r, w->items, &got, NULL, &w->err)) < 0)
				return rc;
			uint32_t list_stamp = next_stamp(w, T);
			for (size_t j = 0; j < got; j++) {
				w->rec[j] = (uint32_t)w->items[j].track;
				w->mark[w->items[j].track] = list_stamp;
			}
			/* Fill to K with the most popular training tracks not listed
			 * and not seeds. */
			size_t filled = 0;
			for (size_t q = 0; got < x->K && q < x->npop; q++) {
				int64_t t = x->pop_order[q];
				if (w->mark[t] == list_stamp || w->mark[t] == seed_stamp)
					continue;
				w->mark[t] = list_stamp;
				w->rec[got++] = (uint32_t)t;
				filled++;
			}
			for (size_t j = 0; j < got; j++)
				w->rec_artist[j] = ds->track_artist[w->rec[j]];
			size_t top = got < TOP ? got : TOP;
			out[EM_RPREC] = metrics_r_precision(&w->mt, w->rec, w->rec_artist, got);
			out[EM_NDCG] = metrics_ndcg_organisers(&w->mt, w->rec, got, x->K);
			out[EM_NDCG_HITS] = metrics_ndcg(&w->mt, w->rec, got, METRICS_IDCG_CHALLENGE);
			out[EM_CLICKS] = metrics_clicks(&w->mt, w->rec, got);
			out[EM_RECALL] = metrics_recall_at(&w->mt, w->rec, got, x->K);
			if ((rc = metrics_novelty(&x->pop, w->rec, top, &out[EM_NOVELTY], &w->err)) < 0)
				return rc;
			size_t ng = 0;
			for (size_t j = 0; j < top; j++) {
				int32_t row = engine_row_of(x->e, w->rec[j]);
				if (row >= 0)
					memcpy(w->gather + x->D * ng++, engine_vector(x->e, (size_t)row),
					       sizeof(float) * x->D);
			}
			if (ng >= 2)
				out[EM_ILD] = metrics_ild(w->gather, ng, x->D);
			out[EM_FILLED] = (double)filled;
			if (w->cover != NULL) {
				uint64_t *bits = w->cover + (vi * x->C + ci) * x->words;
				for (size_t j = 0; j < top; j++)
					bits[w->rec[j] >> 6] |= 1ull << (w->rec[j] & 63);
			}
		}
	}
	return 0;
}

static void score_chunk(void *ctx, int worker, int64_t chunk, int64_t begin, int64_t end)
{
	(void)chunk;
	score_ctx *x = ctx;
	worker_scratch *w = &x->ws[worker];
	for (int64_t i = begin; i < end && w->rc == 0; i++)
		w->rc = score_one(x, w, (size_t)i);
	pthread_mutex_lock(&x->lock);
	x->done += (size_t)(end - begin);
	if (x->prog != NULL && worker == 0)
		progress_update(x->prog, x->done);
	pthread_mutex_unlock(&x->lock);
}

static int cmp_pop_desc(const void *a, const void *b, void *arg)
{
	const uint32_t *count = arg;
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	if (count[x] != count[y])
		return count[x] > count[y] ? -1 : 1;
	return (x > y) - (x < y);
}

int eval_score(const engine *e, const dataset *ds, eval_set *set, const eval_case *c, size_t C, const eval_variant *v,
               size_t V, size_t k, double *values, uint64_t *cover, seg_error *err)
{
	size_t T = (size_t)ds->T, D = engine_spec(e)->dim, L = 1;
	for (size_t i = 0; i < set->n; i++) {
		size_t p = set->pl[i];
		if (ds->pl_split[p] != set->split)
			return seg_error_set(err, SEG_EINVAL, "playlist %lld is not of the evaluated split",
			                     (long long)ds->pl_id[p]);
		if (ds->pl_ptr[p + 1] - ds->pl_ptr[p] > L)
			L = ds->pl_ptr[p + 1] - ds->pl_ptr[p];
	}
	int W = parallel_workers(0);
	score_ctx x = {.e = e,
	               .ds = ds,
	               .set = set,
	               .c = c,
	               .C = C,
	               .v = v,
	               .V = V,
	               .K = k,
	               .D = D,
	               .words = (T + 63) / 64,
	               .values = values};
	pthread_mutex_init(&x.lock, NULL);
	uint32_t *count = malloc(sizeof(uint32_t) * (T ? T : 1));
	int64_t *order = malloc(sizeof(int64_t) * (T ? T : 1));
	x.ws = calloc((size_t)W, sizeof(worker_scratch));
	int rc = 0;
	if (count == NULL || order == NULL || x.ws == NULL) {
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
		goto out;
	}
	/* Popularity over the training playlists: novelty and the fill. */
	for (size_t t = 0; t < T; t++) {
		count[t] = engine_playlist_count(e, (int64_t)t);
		if (count[t] > 0 && t > 0)
			order[x.npop++] = (int64_t)t;
	}
	if ((rc = metrics_popularity_init(&x.pop, count, T, err)) < 0)
		goto out;
	qsort_r(order, x.npop, sizeof *order, cmp_pop_desc, count);
	if (x.npop > k + MAX_SEEDS + 1)
		x.npop = k + MAX_SEEDS + 1; /* enough to fill any list */
	x.pop_order = order;
	for (int wi = 0; wi < W; wi++) {
		worker_scratch *w = &x.ws[wi];
		w->items = malloc(sizeof(rec_item) * k);
		w->rec = malloc(sizeof(uint32_t) * k);
		w->rec_artist = malloc(sizeof(int64_t) * k);
		w->truth = malloc(sizeof(uint32_t) * L);
		w->truth_art = malloc(sizeof(int64_t) * L);
		w->seeds = malloc(sizeof(int64_t) * L);
		w->pos = malloc(sizeof(uint32_t) * L);
		w->chosen = malloc(L);
		w->gather = malloc(sizeof(float) * TOP * (D ? D : 1));
		w->mark = calloc(T ? T : 1, sizeof(uint32_t));
		if (cover != NULL)
			w->cover = calloc(V * C * x.words, sizeof(uint64_t));
		if (!w->items || !w->rec || !w->rec_artist || !w->truth || !w->truth_art || !w->seeds || !w->pos ||
		    !w->chosen || !w->gather || !w->mark || (cover != NULL && w->cover == NULL)) {
			rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
			goto out;
		}
	}
	progress prog;
	progress_start(&prog, "evaluating", set->n);
	x.prog = &prog;
	parallel_for(W, (int64_t)set->n, 4, score_chunk, &x);
	progress_finish(&prog);
	for (int wi = 0; wi < W; wi++) {
		worker_scratch *w = &x.ws[wi];
		if (w->rc < 0 && rc == 0) {
			rc = w->rc;
			if (err != NULL)
				*err = w->err;
		}
		for (int s = 0; s < 3; s++)
			set->scored_by_split[s] += w->by_split[s];
		if (cover != NULL && w->cover != NULL)
			for (size_t q = 0; q < V * C * x.words; q++)
				cover[q] |= w->cover[q];
	}
out:
	if (x.ws != NULL)
		for (int wi = 0; wi < W; wi++) {
			worker_scratch *w = &x.ws[wi];
			free(w->items);
			free(w->rec);
			free(w->rec_artist);
			free(w->truth);
			free(w->truth_art);
			free(w->seeds);
			free(w->pos);
			free(w->chosen);
			free(w->gather);
			free(w->mark);
			free(w->cover);
			metrics_truth_free(&w->mt);
		}
	free(x.ws);
	free(count);
	free(order);
	pthread_mutex_destroy(&x.lock);
	return rc;
}

/* ------------------------------------------------------------ the table */

/* One comparison of the table: variant v against ref on (case, group, metric). */
typedef struct comparison {
	size_t v, ref, c, g;
	int m;
	metrics_paired pr;
	double p_holm;
} comparison;

/* Everything evaluate_run aggregates, for the JSON and the printout. */
typedef struct table {
	const dataset *ds;
	const eval_set *set;
	const eval_case *cases;
	size_t C, V, n, R, K;
	const eval_variant *v;
	const uint8_t *grp; /* [n] GR_MPD or GR_EDITORIAL */
	size_t gcount[GR__COUNT];
	const double *avg;     /* [V][C][n][M] per-playlist values averaged over runs */
	const double *runmean; /* [R][V][C][G][M] each run's cell means */
	const double *cover;   /* [V][C] mean over runs of the distinct tracks in any top 10 */
	comparison *cmp;
	size_t ncmp;
	size_t *ref; /* [C][G][NTESTED] reference variant, or SIZE_MAX */
} table;

static double avg_at(const table *tb, size_t v, size_t c, size_t i, int m)
{
	return tb->avg[((v * tb->C + c) * tb->n + i) * EM__COUNT + (size_t)m];
}

static void cell_stat(const table *tb, size_t v, size_t c, size_t g, int m, metrics_stat *s)
{
	memset(s, 0, sizeof *s);
	for (size_t i = 0; i < tb->n; i++)
		if (g == GR_ALL || tb->grp[i] == g)
			metrics_stat_add(s, avg_at(tb, v, c, i, m));
}

/* Standard deviation over runs of the cell's run means (NaN for one run). */
static double run_sd(const table *tb, size_t v, size_t c, size_t g, int m)
{
	metrics_stat s = {0};
	for (size_t r = 0; r < tb->R; r++)
		metrics_stat_add(&s,
		                 tb->runmean[(((r * tb->V + v) * tb->C + c) * GR__COUNT + g) * EM__COUNT + (size_t)m]);
	return s.n >= 2 ? sqrt(s.m2 / (double)(s.n - 1)) : NAN;
}

static json_t *num_or_null(double x) { return isfinite(x) ? json_real(x) : json_null(); }

/* The paired tests: per (case, group, tested metric) the reference is the
 * best baseline by the cell's mean; every other variant is tested against
 * it. Holm over all of them. */
static int table_tests(table *tb, seg_error *err)
{
	rec_request def;
	rec_request_default(&def);
	size_t slots = tb->C * GR__COUNT * NTESTED;
	tb->ref = malloc(sizeof(size_t) * slots);
	tb->cmp = calloc(slots * tb->V + 1, sizeof(comparison));
	double *a = malloc(sizeof(double) * (tb->n + 1)), *b = malloc(sizeof(double) * (tb->n + 1));
	double *p = NULL;
	int rc = 0;
	if (!tb->ref || !tb->cmp || !a || !b) {
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t c = 0; c < tb->C; c++)
		for (size_t g = 0; g < GR__COUNT; g++)
			for (size_t q = 0; q < NTESTED; q++) {
				int m = TESTED[q];
				size_t best = SIZE_MAX;
				double bm = -INFINITY;
				for (size_t v = 0; v < tb->V; v++) {
					if (tb->v[v].rerank || tb->v[v].model == def.model)
						continue;
					metrics_stat s;
					cell_stat(tb, v, c, g, m, &s);
					if (s.n > 0 && s.mean > bm) {
						bm = s.mean;
						best = v;
					}
				}
				tb->ref[(c * GR__COUNT + g) * NTESTED + q] = best;
				if (best == SIZE_MAX)
					continue;
				for (size_t v = 0; v < tb->V; v++) {
					if (v == best)
						continue;
					size_t np = 0;
					for (size_t i = 0; i < tb->n; i++) {
						if (g != GR_ALL && tb->grp[i] != g)
							continue;
						double x = avg_at(tb, v, c, i, m), y = avg_at(tb, best, c, i, m);
						if (isnan(x) || isnan(y))
							continue;
						a[np] = x;
						b[np++] = y;
					}
					if (np < 2)
						continue;
					comparison *k = &tb->cmp[tb->ncmp++];
					k->v = v;
					k->ref = best;
					k->c = c;
					k->g = g;
					k->m = m;
					metrics_paired_ttest(a, b, np, &k->pr);
				}
			}
	p = malloc(sizeof(double) * (tb->ncmp + 1));
	if (p == NULL) {
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < tb->ncmp; i++)
		p[i] = tb->cmp[i].pr.p;
	if ((rc = metrics_holm(p, tb->ncmp, p, err)) < 0)
		goto out;
	for (size_t i = 0; i < tb->ncmp; i++)
		tb->cmp[i].p_holm = p[i];
out:
	free(a);
	free(b);
	free(p);
	return rc;
}

static const comparison *find_cmp(const table *tb, size_t v, size_t c, size_t g, int m)
{
	for (size_t i = 0; i < tb->ncmp; i++)
		if (tb->cmp[i].v == v && tb->cmp[i].c == c && tb->cmp[i].g == g && tb->cmp[i].m == m)
			return &tb->cmp[i];
	return NULL;
}

static json_t *table_json(const table *tb)
{
	json_t *cells = json_array();
	for (size_t c = 0; c < tb->C; c++) {
		char cname[32];
		eval_case_name(&tb->cases[c], cname, sizeof cname);
		for (size_t g = 0; g < GR__COUNT; g++) {
			if (tb->gcount[g] == 0)
				continue;
			for (size_t v = 0; v < tb->V; v++) {
				metrics_stat s0;
				cell_stat(tb, v, c, g, EM_RPREC, &s0);
				if (s0.n == 0)
					continue;
				json_t *cell = json_pack("{s:s,s:s,s:I,s:s,s:I}", "model", tb->v[v].name, "case", cname,
				                         "seeds", (json_int_t)tb->cases[c].n, "source", GROUP_NAMES[g],
				                         "lists", (json_int_t)s0.n);
				json_t *ms = json_object();
				for (int m = 0; m < EM__COUNT; m++) {
					metrics_stat s;
					cell_stat(tb, v, c, g, m, &s);
					double mean = metrics_stat_mean(&s), se = metrics_stat_se(&s);
					json_t *jm = json_object();
					json_object_set_new(jm, "mean", num_or_null(mean));
					json_object_set_new(jm, "ci95",
					                    json_pack("[o,o]", num_or_null(mean - 1.96 * se),
					                              num_or_null(mean + 1.96 * se)));
					json_object_set_new(jm, "run_sd", num_or_null(run_sd(tb, v, c, g, m)));
					json_object_set_new(ms, eval_metric_names[m], jm);
				}
				json_object_set_new(cell, "metrics", ms);
				if (g == GR_ALL)
					json_object_set_new(cell, "tracks@10", num_or_null(tb->cover[v * tb->C + c]));
				json_t *vs = json_object();
				for (size_t q = 0; q < NTESTED; q++) {
					const comparison *k = find_cmp(tb, v, c, g, TESTED[q]);
					size_t ref = tb->ref[(c * GR__COUNT + g) * NTESTED + q];
					if (ref == v) {
						json_object_set_new(vs, eval_metric_names[TESTED[q]],
						                    json_pack("{s:b}", "is_reference", 1));
						continue;
					}
					if (k == NULL)
						continue;
					json_object_set_new(
						vs, eval_metric_names[TESTED[q]],
						json_pack("{s:s,s:o,s:[o,o],s:b,s:o,s:o,s:I}", "reference",
					                  tb->v[k->ref].name, "mean_diff", num_or_null(k->pr.mean),
					                  "diff_ci95", num_or_null(k->pr.lo), num_or_null(k->pr.hi),
					                  "ci_includes_0", k->pr.lo <= 0 && k->pr.hi >= 0, "p",
					                  num_or_null(k->pr.p), "p_holm", num_or_null(k->p_holm), "n",
					                  (json_int_t)k->pr.n));
				}
				json_object_set_new(cell, "vs_reference", vs);
				json_array_append_new(cells, cell);
			}
		}
	}
	return cells;
}

/* The older flat rows (model, seeds, metric, metric_se) that the dashboard
 * reads: first-n cases over all sources. */
static json_t *table_rows(const table *tb)
{
	json_t *rows = json_array();
	for (size_t c = 0; c < tb->C; c++) {
		if (tb->cases[c].kind != EVAL_FIRST)
			continue;
		for (size_t v = 0; v < tb->V; v++) {
			metrics_stat s0;
			cell_stat(tb, v, c, GR_ALL, EM_RPREC, &s0);
			json_t *row = json_pack("{s:s,s:I,s:I}", "model", tb->v[v].name, "seeds",
			                        (json_int_t)tb->cases[c].n, "lists", (json_int_t)s0.n);
			for (int m = 0; m < EM__COUNT; m++) {
				metrics_stat s;
				cell_stat(tb, v, c, GR_ALL, m, &s);
				char name[48];
				if (m == EM_RECALL)
					snprintf(name, sizeof name, "recall@%zu", tb->K);
				else
					snprintf(name, sizeof name, "%s", eval_metric_names[m]);
				json_object_set_new(row, name, num_or_null(metrics_stat_mean(&s)));
				char se[64];
				snprintf(se, sizeof se, "%s_se", name);
				json_object_set_new(row, se, num_or_null(metrics_stat_se(&s)));
			}
			json_object_set_new(row, "tracks@10", num_or_null(tb->cover[v * tb->C + c]));
			json_array_append_new(rows, row);
		}
	}
	return rows;
}

/* "0.1234 [0.1200, 0.1268]", with " ±sd" over runs when there are several. */
static void fmt_cell(const table *tb, size_t v, size_t c, size_t g, int m, char *buf, size_t cap)
{
	metrics_stat s;
	cell_stat(tb, v, c, g, m, &s);
	double mean = metrics_stat_mean(&s), h = 1.96 * metrics_stat_se(&s), sd = run_sd(tb, v, c, g, m);
	if (s.n == 0)
		snprintf(buf, cap, "-");
	else if (tb->R > 1)
		snprintf(buf, cap, "%.4f±%.4f [%.4f,%.4f]", mean, sd, mean - h, mean + h);
	else
		snprintf(buf, cap, "%.4f [%.4f,%.4f]", mean, mean - h, mean + h);
}

static void table_print(const table *tb, FILE *out)
{
	for (size_t c = 0; c < tb->C; c++) {
		char cname[32];
		eval_case_name(&tb->cases[c], cname, sizeof cname);
		size_t rr = tb->ref[(c * GR__COUNT + GR_ALL) * NTESTED + 0];
		size_t rn = tb->ref[(c * GR__COUNT + GR_ALL) * NTESTED + 1];
		fprintf(out, "\n%s, all sources (reference: %s for R-precision, %s for NDCG)\n", cname,
		        rr == SIZE_MAX ? "-" : tb->v[rr].name, rn == SIZE_MAX ? "-" : tb->v[rn].name);
		fprintf(out, "  %-14s %-*s %-*s %9s %6s %7s %6s %6s %9s %9s %6s\n", "model", tb->R > 1 ? 31 : 24,
		        "R-prec [95% CI]", tb->R > 1 ? 31 : 24, "NDCG [95% CI]", "NDCG-hits", "clicks", "novelty",
		        "ILD@10", "filled", "dR-prec p(Holm)", "dNDCG p(Holm)", "lists");
		for (size_t v = 0; v < tb->V; v++) {
			metrics_stat s0;
			cell_stat(tb, v, c, GR_ALL, EM_RPREC, &s0);
			if (s0.n == 0)
				continue;
			char r[64], nd[64], pr[40] = "reference", pn[40] = "reference";
			fmt_cell(tb, v, c, GR_ALL, EM_RPREC, r, sizeof r);
			fmt_cell(tb, v, c, GR_ALL, EM_NDCG, nd, sizeof nd);
			const comparison *kr = find_cmp(tb, v, c, GR_ALL, EM_RPREC),
					 *kn = find_cmp(tb, v, c, GR_ALL, EM_NDCG);
			if (kr != NULL)
				snprintf(pr, sizeof pr, "%+.4f %.1e", kr->pr.mean, kr->p_holm);
			if (kn != NULL)
				snprintf(pn, sizeof pn, "%+.4f %.1e", kn->pr.mean, kn->p_holm);
			metrics_stat s;
			double mv[EM__COUNT];
			for (int m = 0; m < EM__COUNT; m++) {
				cell_stat(tb, v, c, GR_ALL, m, &s);
				mv[m] = metrics_stat_mean(&s);
			}
			fprintf(out, "  %-14s %-*s %-*s %9.4f %6.2f %7.2f %6.3f %6.1f %-17s %-17s %6zu\n",
			        tb->v[v].name, tb->R > 1 ? 31 : 24, r, tb->R > 1 ? 31 : 24, nd, mv[EM_NDCG_HITS],
			        mv[EM_CLICKS], mv[EM_NOVELTY], mv[EM_ILD], mv[EM_FILLED], pr, pn, s0.n);
		}
	}
	fprintf(out, "\nby source: R-precision / NDCG (mpd: %zu playlists, editorial: %zu)\n", tb->gcount[GR_MPD],
	        tb->gcount[GR_EDITORIAL]);
	fprintf(out, "  %-24s", "source/model");
	for (size_t c = 0; c < tb->C; c++) {
		char cname[32];
		eval_case_name(&tb->cases[c], cname, sizeof cname);
		fprintf(out, " %27s", cname);
	}
	fprintf(out, "\n");
	for (size_t g = GR_MPD; g < GR__COUNT; g++) {
		if (tb->gcount[g] == 0)
			continue;
		for (size_t v = 0; v < tb->V; v++) {
			char label[128];
			snprintf(label, sizeof label, "%.9s/%s", GROUP_NAMES[g], tb->v[v].name);
			fprintf(out, "  %-24.24s", label);
			for (size_t c = 0; c < tb->C; c++) {
				metrics_stat a, b;
				cell_stat(tb, v, c, g, EM_RPREC, &a);
				cell_stat(tb, v, c, g, EM_NDCG, &b);
				if (a.n == 0)
					fprintf(out, " %27s", "-");
				else
					fprintf(out, "     %.4f / %.4f (n=%5zu)", a.mean, b.mean, a.n);
			}
			fprintf(out, "\n");
		}
	}
}

/* -------------------------------------------------------------- markdown */

/* The README's table from an evaluation.json: per case, every model's
 * R-precision and NDCG over all sources with the 95% CI half-width (and the
 * sd over training runs when there were several), the older NDCG, novelty,
 * ILD, and the Holm-adjusted p of the NDCG comparison with the reference. */
static int markdown_print(const char *file, FILE *out, seg_error *err)
{
	json_error_t je;
	json_t *root = json_load_file(file, 0, &je);
	if (root == NULL)
		return seg_error_set(err, SEG_EFORMAT, "%s: %s (line %d)", file, je.text, je.line);
	json_t *proto = json_object_get(root, "protocol"), *cells = json_object_get(root, "cells");
	if (!json_is_object(proto) || !json_is_array(cells)) {
		json_decref(root);
		return seg_error_set(err, SEG_EFORMAT, "%s is not an evaluation.json of this segue (no protocol/cells)",
		                     file);
	}
	json_int_t runs = json_integer_value(json_object_get(proto, "runs"));
	fprintf(out,
	        "Split: %s, %lld playlists (%s). Lists of %lld, filled with popular tracks. "
	        "Mean [95%% CI half-width]%s; p: paired t-test against the reference (best baseline of the "
	        "case), Holm-adjusted over %lld comparisons.\n\n",
	        json_string_value(json_object_get(proto, "split")),
	        (long long)json_integer_value(json_object_get(proto, "playlists")),
	        json_string_value(json_object_get(proto, "playlists_by_source")),
	        (long long)json_integer_value(json_object_get(proto, "k")), runs > 1 ? ", ± sd over training runs" : "",
	        (long long)json_integer_value(json_object_get(proto, "comparisons")));
	fprintf(out, "| case | model | R-precision | NDCG | NDCG (hits) | novelty | ILD@10 | filled | ΔNDCG vs "
	             "reference, Holm p |\n");
	fprintf(out, "|---|---|---|---|---|---|---|---|---|\n");
	size_t i;
	json_t *cell;
	json_array_foreach(cells, i, cell)
	{
		const char *src = json_string_value(json_object_get(cell, "source"));
		if (src == NULL || strcmp(src, "all") != 0)
			continue;
		json_t *ms = json_object_get(cell, "metrics");
		char col[4][64];
		static const char *const main_m[2] = {"r_precision", "ndcg"};
		for (int q = 0; q < 2; q++) {
			json_t *jm = json_object_get(ms, main_m[q]);
			double mean = json_number_value(json_object_get(jm, "mean"));
			json_t *ci = json_object_get(jm, "ci95");
			double h =
				(json_number_value(json_array_get(ci, 1)) - json_number_value(json_array_get(ci, 0))) /
				2;
			json_t *sd = json_object_get(jm, "run_sd");
			if (json_is_number(sd))
				snprintf(col[q], sizeof col[q], "%.4f ± %.4f [%.4f]", mean, json_number_value(sd), h);
			else
				snprintf(col[q], sizeof col[q], "%.4f [%.4f]", mean, h);
		}
		json_t *vs = json_object_get(json_object_get(cell, "vs_reference"), "ndcg");
		if (json_is_true(json_object_get(vs, "is_reference")))
			snprintf(col[2], sizeof col[2], "reference");
		else if (json_is_number(json_object_get(vs, "p_holm")))
			snprintf(col[2], sizeof col[2], "%+.4f, %.2g",
			         json_number_value(json_object_get(vs, "mean_diff")),
			         json_number_value(json_object_get(vs, "p_holm")));
		else
			snprintf(col[2], sizeof col[2], "-");
		double nov = json_number_value(json_object_get(json_object_get(ms, "novelty"), "mean"));
		double ild = json_number_value(json_object_get(json_object_get(ms, "ild@10"), "mean"));
		double hits = json_number_value(json_object_get(json_object_get(ms, "ndcg_hits"), "mean"));
		double fil = json_number_value(json_object_get(json_object_get(ms, "filled"), "mean"));
		fprintf(out, "| %s | %s | %s | %s | %.4f | %.2f | %.3f | %.1f | %s |\n",
		        json_string_value(json_object_get(cell, "case")),
		        json_string_value(json_object_get(cell, "model")), col[0], col[1], hits, nov, ild, fil, col[2]);
	}
	json_decref(root);
	return 0;
}

/* --------------------------------------------------------------- the run */

/* Writes the table's JSON through `f` (container_write_atomic's fill). */
static int write_table(FILE *f, void *root) { return json_dumpf(root, f, JSON_INDENT(2)) == 0 ? 0 : -1; }

int evaluate_run(const eval_options *o, seg_error *err)
{
	if (o->markdown != NULL)
		return markdown_print(o->markdown, o->out, err);
	size_t R = o->runs > 1 ? (size_t)o->runs : 1, K = o->k;
	char path[PATH_MAX], tmpfile[PATH_MAX + 16] = "";
	workspace_scratch scratch = {"", -1};
	int have_published = train_model_path(o->workspace, o->artifact, path, sizeof path, err) == 0;
	if (!have_published && (R == 1 || o->artifact != NULL))
		return err ? err->code : SEG_ENOTFOUND;
	engine *e = NULL;
	dataset *ds = NULL;
	eval_set set;
	memset(&set, 0, sizeof set);
	double *vals = NULL, *sum = NULL, *runmean = NULL, *cover = NULL;
	uint32_t *cnt = NULL;
	uint64_t *bits = NULL;
	uint8_t *grp = NULL;
	json_t *root = NULL;
	table tb;
	memset(&tb, 0, sizeof tb);
	int rc = dataset_load(&ds, o->workspace, err);
	if (rc < 0)
		return rc;

	/* Cases and variants. */
	eval_case cases[NCASES];
	size_t C = 0;
	int title_model = 0;
	for (size_t i = 0; i < recommender_count(); i++)
		title_model |= eval_model_reads_title((int)i);
	for (size_t i = 0; i < NCASES; i++)
		if (CASES[i].kind != EVAL_TITLE || title_model)
			cases[C++] = CASES[i];
	eval_variant vs[RECOMMENDER_MAX + 1];
	size_t V = 0;
	rec_request def;
	rec_request_default(&def);
	for (size_t i = 0; i < recommender_count(); i++, V++) {
		memset(&vs[V], 0, sizeof vs[V]);
		snprintf(vs[V].name, sizeof vs[V].name, "%s", recommender_name((int)i));
		vs[V].model = (int)i;
	}
	memset(&vs[V], 0, sizeof vs[V]);
	snprintf(vs[V].name, sizeof vs[V].name, "%s+rerank", recommender_name(def.model));
	vs[V].model = def.model;
	vs[V].rerank = 1;
	if (o->rerank != NULL) {
		def.diversity = o->rerank->diversity;
		def.novelty = o->rerank->novelty;
		def.max_per_artist = o->rerank->max_per_artist;
	}
	vs[V].diversity = def.diversity;
	vs[V].novelty = def.novelty;
	vs[V].max_per_artist = def.max_per_artist;
	V++;

	if ((rc = eval_set_pick(ds, o->split, MAX_SEEDS, o->max_playlists, &set, err)) < 0)
		goto out;
	if (set.n == 0) {
		rc = seg_error_set(err, SEG_EINVAL, "no %s playlist has more than %d distinct tracks to evaluate on",
		                   o->split == CATALOG_SPLIT_VALID ? "validation" : "test", MAX_SEEDS);
		goto out;
	}
	size_t n = set.n, cellsz = V * C * n * EM__COUNT, words = ((size_t)ds->T + 63) / 64;
	vals = malloc(sizeof(double) * cellsz);
	sum = calloc(cellsz, sizeof(double));
	cnt = calloc(cellsz, sizeof(uint32_t));
	runmean = malloc(sizeof(double) * R * V * C * GR__COUNT * EM__COUNT);
	cover = calloc(V * C, sizeof(double));
	bits = malloc(sizeof(uint64_t) * V * C * words);
	grp = malloc(n);
	if (!vals || !sum || !cnt || !runmean || !cover || !bits || !grp) {
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const char *src = ds->source_names[ds->pl_source[set.pl[i]]];
		grp[i] = src != NULL && strcmp(src, "mpd") == 0 ? GR_MPD : GR_EDITORIAL;
	}

	train_options topt;
	if (o->train)
		topt = *o->train;
	else
		train_options_default(&topt);
	topt.verbose = 0;
	uint64_t seed0 = topt.seed;
	json_t *seeds_used = json_array();
	double t0 = progress_now();
	for (size_t r = 0; r < R; r++) {
		const char *mpath = path;
		if (R > 1) {
			/* A model of its own per run, trained on the train split with
			 * seed seed0 + r, and never published. */
			if ((rc = workspace_scratch_open(o->workspace, "eval", &scratch, err)) < 0)
				goto out;
			snprintf(tmpfile, sizeof tmpfile, "%s/model.seg", scratch.dir);
			topt.seed = seed0 + r;
			if (o->out != NULL && !o->json)
				fprintf(o->out, "run %zu of %zu: training with seed %llu\n", r + 1, R,
				        (unsigned long long)topt.seed);
			if ((rc = train_to_path(ds, &topt, tmpfile, err)) < 0)
				goto out;
			mpath = tmpfile;
			json_array_append_new(seeds_used, json_integer((json_int_t)topt.seed));
		}
		if ((rc = engine_open(&e, mpath, err)) < 0)
			goto out;
		if (engine_track_limit(e) != ds->T) {
			rc = seg_error_set(
				err, SEG_ESTALE,
				"the catalogue changed since this model was trained; run `segue train` again");
			goto out;
		}
		memset(bits, 0, sizeof(uint64_t) * V * C * words);
		if ((rc = eval_score(e, ds, &set, cases, C, vs, V, K, vals, bits, err)) < 0)
			goto out;
		engine_free(e);
		e = NULL;
		workspace_scratch_close(&scratch);
		for (size_t q = 0; q < cellsz; q++)
			if (!isnan(vals[q])) {
				sum[q] += vals[q];
				cnt[q]++;
			}
		for (size_t v = 0; v < V; v++)
			for (size_t c = 0; c < C; c++) {
				metrics_stat st[GR__COUNT][EM__COUNT];
				memset(st, 0, sizeof st);
				for (size_t i = 0; i < n; i++)
					for (int m = 0; m < EM__COUNT; m++) {
						double x = vals[((v * C + c) * n + i) * EM__COUNT + (size_t)m];
						metrics_stat_add(&st[GR_ALL][m], x);
						metrics_stat_add(&st[grp[i]][m], x);
					}
				for (size_t g = 0; g < GR__COUNT; g++)
					for (int m = 0; m < EM__COUNT; m++)
						runmean[(((r * V + v) * C + c) * GR__COUNT + g) * EM__COUNT +
						        (size_t)m] = metrics_stat_mean(&st[g][m]);
				size_t ones = 0;
				for (size_t q = 0; q < words; q++)
					ones += (size_t)__builtin_popcountll(bits[(v * C + c) * words + q]);
				cover[v * C + c] += (double)ones / (double)R;
			}
	}
	double secs = progress_now() - t0;
	for (size_t q = 0; q < cellsz; q++)
		sum[q] = cnt[q] ? sum[q] / cnt[q] : NAN;

	tb = (table){.ds = ds,
	             .set = &set,
	             .cases = cases,
	             .C = C,
	             .V = V,
	             .n = n,
	             .R = R,
	             .K = K,
	             .v = vs,
	             .grp = grp,
	             .avg = sum,
	             .runmean = runmean,
	             .cover = cover};
	memcpy(tb.gcount, (size_t[GR__COUNT]){n, 0, 0}, sizeof tb.gcount);
	for (size_t i = 0; i < n; i++)
		tb.gcount[grp[i]]++;
	if ((rc = table_tests(&tb, err)) < 0)
		goto out;

	/* The report, protocol first. */
	root = json_object();
	const char *split = o->split == CATALOG_SPLIT_VALID ? "validation" : "test";
	json_t *proto = json_object();
	json_object_set_new(proto, "split", json_string(split));
	json_object_set_new(proto, "splits",
	                    json_string("train, validation and test by a hash of each playlist's source and id "
	                                "(catalog_playlist_split); training reads the train split only"));
	json_object_set_new(proto, "playlists_rule",
	                    json_string("the playlists of the split with more than 25 distinct tracks, so that "
	                                "every seed case leaves at least one hidden track; the same playlists "
	                                "in every row"));
	json_object_set_new(proto, "eligible", json_integer((json_int_t)set.eligible));
	json_object_set_new(proto, "playlists", json_integer((json_int_t)n));
	json_object_set_new(proto, "thinned", json_boolean(n < set.eligible));
	char bysrc[96];
	snprintf(bysrc, sizeof bysrc, "%zu mpd, %zu editorial", tb.gcount[GR_MPD], tb.gcount[GR_EDITORIAL]);
	json_object_set_new(proto, "playlists_by_source", json_string(bysrc));
	json_object_set_new(proto, "sources",
	                    json_string("mpd: the Million Playlist Dataset's playlists; editorial: every other "
	                                "source's playlists"));
	json_t *jc = json_array();
	for (size_t c = 0; c < C; c++) {
		char cname[32];
		eval_case_name(&cases[c], cname, sizeof cname);
		json_array_append_new(jc, json_string(cname));
	}
	json_object_set_new(proto, "cases", jc);
	json_object_set_new(proto, "random_seeds",
	                    json_string("random-n: n distinct positions drawn by a partial Fisher-Yates shuffle "
	                                "seeded by the playlist id and n, the same for every model and run"));
	json_t *skipped = json_array();
	if (!title_model)
		json_array_append_new(skipped, json_pack("{s:s,s:s}", "case", "title", "reason",
		                                         "no registered model reads a playlist title"));
	json_object_set_new(proto, "skipped_cases", skipped);
	json_object_set_new(proto, "k", json_integer((json_int_t)K));
	json_object_set_new(proto, "fill",
	                    json_string("a list shorter than k is filled with the most popular training tracks "
	                                "not already listed and not seeds; 'filled' is the mean number of "
	                                "such tracks per list"));
	json_object_set_new(proto, "metrics",
	                    json_string("ndcg: as the organisers' tool (1/log2(i+1) over the list, ideal over "
	                                "min(|G|, k)); ndcg_hits: the older figure, the rules' discount "
	                                "normalised over the hits; r_precision with artist credit; novelty "
	                                "and ild@10 over the top 10"));
	json_object_set_new(proto, "ci",
	                    json_string("95%, normal approximation over playlists: mean ± 1.96 sd/sqrt(n) of "
	                                "the per-playlist values averaged over runs"));
	json_object_set_new(proto, "reference",
	                    json_string("per case, source and metric: the registered model other than the "
	                                "default (hybrid) with the best mean"));
	json_object_set_new(proto, "test",
	                    json_string("paired t-test over playlists (two-sided, df = n - 1) of each model "
	                                "against the reference, on r_precision and ndcg; the difference's "
	                                "95% CI by the normal approximation"));
	json_object_set_new(proto, "correction", json_string("Holm, over every comparison of the table"));
	json_object_set_new(proto, "comparisons", json_integer((json_int_t)tb.ncmp));
	json_object_set_new(proto, "runs", json_integer((json_int_t)R));
	json_object_set_new(proto, "run_spread",
	                    json_string(R > 1 ? "run_sd: sd over runs of each run's cell mean"
	                                      : "one run: the published model; run_sd is null"));
	if (R > 1)
		json_object_set_new(proto, "train_seeds", json_incref(seeds_used));
	json_object_set_new(proto, "rerank",
	                    json_pack("{s:f,s:f,s:i}", "diversity", (double)def.diversity, "novelty",
	                              (double)def.novelty, "max_per_artist", def.max_per_artist));
	json_object_set_new(root, "protocol", proto);
	json_decref(seeds_used);
	json_object_set_new(root, "model", json_string(R > 1 ? "trained per run, not published" : path));
	json_object_set_new(root, "playlists", json_integer((json_int_t)n));
	json_object_set_new(root, "k", json_integer((json_int_t)K));
	json_object_set_new(root, "seconds", json_real(secs));
	json_object_set_new(root, "playlists_read",
	                    json_pack("{s:I,s:I,s:I}", "train", (json_int_t)set.scored_by_split[CATALOG_SPLIT_TRAIN],
	                              "validation", (json_int_t)set.scored_by_split[CATALOG_SPLIT_VALID], "test",
	                              (json_int_t)set.scored_by_split[CATALOG_SPLIT_TEST]));
	json_object_set_new(root, "results", table_rows(&tb));
	json_object_set_new(root, "cells", table_json(&tb));

	if (!o->json) {
		fprintf(o->out,
		        "playlist continuation on %zu %s playlists of %zu eligible (more than %d distinct tracks; "
		        "%s),\n"
		        "lists of %zu filled with popular tracks, %zu run%s, %.1f s\n",
		        n, split, set.eligible, MAX_SEEDS, bysrc, K, R, R > 1 ? "s" : "", secs);
		if (!title_model)
			fprintf(o->out, "title-only case skipped: no registered model reads a playlist title\n");
		table_print(&tb, o->out);
		fprintf(o->out,
		        "\nMean [95%% CI over playlists]%s. NDCG as the organisers' tool computes it; NDCG-hits is "
		        "the older\nfigure (normalised over the hits). dR-prec/dNDCG: the mean paired difference with "
		        "the reference\nand its Holm-adjusted p (paired t-test over playlists; %zu comparisons). "
		        "filled: mean popular tracks added per "
		        "list.\n",
		        R > 1 ? " ± sd over runs" : "", tb.ncmp);
	}
	/* Keep the table with the model (or at the workspace's root when the
	 * runs trained their own and none is published). */
	char jpath[PATH_MAX + 32];
	if (have_published) {
		snprintf(jpath, sizeof jpath, "%s", path);
		char *slash = strrchr(jpath, '/');
		if (slash)
			snprintf(slash + 1, sizeof jpath - (size_t)(slash + 1 - jpath), WORKSPACE_EVALUATION_FILE);
	} else {
		snprintf(jpath, sizeof jpath, "%s/%s", o->workspace, WORKSPACE_EVALUATION_FILE);
	}
	/* Replaced whole, under the workspace's lock: a reader never sees half
	 * a table, and two evaluations never write through one temporary. */
	if ((rc = workspace_lock(o->workspace, WORKSPACE_LOCK_WAIT, err)) < 0)
		goto out;
	rc = container_write_atomic(jpath, write_table, root, err);
	workspace_unlock(o->workspace);
	if (rc < 0)
		goto out;
	if (o->kept && o->kept_cap)
		snprintf(o->kept, o->kept_cap, "%s", jpath);
	if (o->json) {
		char *text = json_dumps(root, JSON_INDENT(2));
		fprintf(o->out, "%s\n", text ? text : "{}");
		free(text);
	} else {
		fprintf(o->out, "kept in %s\n", jpath);
	}
	rc = 0;
out:
	workspace_scratch_close(&scratch);
	json_decref(root);
	free(tb.ref);
	free(tb.cmp);
	free(vals);
	free(sum);
	free(cnt);
	free(runmean);
	free(cover);
	free(bits);
	free(grp);
	eval_set_free(&set);
	engine_free(e);
	dataset_free(ds);
	return rc;
}
