/* recommend.c: the recommendation engine (see recommend.h).
 *
 * Legend: N content rows, D content dimensions, I CF items, F factors,
 * C candidates in the pool that re-ranking chooses from. */
#include "engine/recommend.h"

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>
#include <stdatomic.h>

#include "models/cf.h"
#include "models/knn.h"
#include "core/container.h"
#include "models/rerank.h"
#include "engine/train.h"

const char *const rec_model_names[REC__COUNT] = {"random", "popular", "content", "cooc", "als", "hybrid"};

int rec_model_parse(const char *name)
{
	for (int i = 0; i < REC__COUNT; i++)
		if (strcmp(name, rec_model_names[i]) == 0)
			return i;
	return -1;
}

void rec_request_default(rec_request *r)
{
	memset(r, 0, sizeof(*r));
	r->model = REC_HYBRID;
	r->k = 10;
	r->rerank = 1;
	r->diversity = 0.3f;
	r->novelty = 0.1f;
	r->quality = 0.1f;
	r->max_per_artist = 2;
}

/* A hidden gem: predicted well above its popularity. */
#define GEM_GAP 15.0f
#define GEM_MIN_PREDICTED 40.0f
/* Share of the hybrid score that collaborative filtering gets when the
 * seeds are in training playlists. */
#define HYBRID_CF_WEIGHT 0.85f

/* Per-thread scratch for requests: arrays over all track ids that would cost
 * a large allocation and clear per request. Each request leaves them zeroed
 * again, touching only the entries it set. */
typedef struct scratch {
	struct scratch *next;     /* the engine's list, freed with it */
	uint8_t *blocked;         /* [T] */
	uint8_t *rowbits;         /* [KNN_BITMAP_BYTES(N)] */
	int64_t *slot;            /* [T] */
} scratch;

static atomic_uint_fast64_t next_engine_id = 1;
static _Thread_local uint64_t tl_engine_id; /* the engine tl_scratch belongs to */
static _Thread_local scratch *tl_scratch;

struct engine {
	uint64_t id;                 /* unique per engine_open, keys the thread scratch */
	pthread_mutex_t lock;        /* guards scratches */
	scratch *scratches;
	container_file *mf;
	const char *meta;            /* JSON text */
	const feat_spec *spec;
	size_t N, D;
	const int64_t *row_track;    /* [N] */
	const float *vec;            /* [N][D] */
	const float *norm;           /* [N] length of each vector before normalising */
	const float *pop;            /* [N] */
	const float *qpred;          /* [N] */
	const int32_t *labels;       /* [N] */
	const float *xy;             /* [N][2] */
	int K;
	const char **words;          /* [K] */
	int64_t T;
	const int32_t *track_artist; /* [T] */
	const uint32_t *track_pop;   /* [T] */
	int32_t *track_row;          /* [T] content row or -1 (built at open) */
	int32_t *track_item;         /* [T] CF item or -1 (built at open) */
	int32_t I;
	const int64_t *cf_track;     /* [I] */
	cf_cooc cooc;                /* views into the file */
	int has_cooc;
	cf_als als;                  /* view; user factors unused */
	int has_als;
	knn_index *knn;
	int64_t *popular;            /* [npopular] track ids by playlist count, most first */
	size_t npopular;
	double pop_total;            /* sum of track_pop */
	double max_info;             /* largest self-information, to normalise novelty */
};

static int cmp_pop_desc(const void *a, const void *b, void *ctx)
{
	const uint32_t *pop = ctx;
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	if (pop[x] != pop[y])
		return pop[x] > pop[y] ? -1 : 1;
	return (x > y) - (x < y);
}

void engine_free(engine *e)
{
	if (e == NULL)
		return;
	for (scratch *sc = e->scratches, *next; sc; sc = next) {
		next = sc->next;
		free(sc->blocked);
		free(sc->rowbits);
		free(sc->slot);
		free(sc);
	}
	pthread_mutex_destroy(&e->lock);
	knn_index_free(e->knn);
	free(e->words);
	free(e->track_row);
	free(e->track_item);
	free(e->popular);
	container_file_close(e->mf);
	free(e);
}

int engine_open(engine **out, const char *path, seg_error *err)
{
	*out = NULL;
	engine *e = calloc(1, sizeof(*e));
	if (e == NULL)
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	e->id = atomic_fetch_add(&next_engine_id, 1);
	pthread_mutex_init(&e->lock, NULL);
	int rc = container_file_open(&e->mf, path, err);
	if (rc < 0)
		goto fail;
	const void *p;
	size_t sz;
	e->meta = container_file_section(e->mf, MS_META, &sz);
	if ((rc = container_file_require(e->mf, MS_FEAT_SPEC, sizeof(feat_spec), &p, err)) < 0)
		goto fail;
	e->spec = p;
	if (e->spec->version != FEAT_SPEC_VERSION || e->spec->dim != FD_GENRE0 + e->spec->ngenres ||
	    e->spec->ngenres > FEAT_MAX_GENRES) {
		rc = seg_error_set(err, SEG_EVERSION, "%s: feature pipeline version %u is not the one this segue reads (%d)",
		                   path, e->spec->version, FEAT_SPEC_VERSION);
		goto fail;
	}
	e->D = e->spec->dim;
	e->row_track = container_file_section(e->mf, MS_TRACK_ID, &sz);
	if (e->row_track == NULL) {
		rc = seg_error_set(err, SEG_EFORMAT, "%s: no content section", path);
		goto fail;
	}
	e->N = sz / sizeof(int64_t);
	size_t N = e->N, D = e->D;
#define REQUIRE(name, field, bytes)                                                          \
	do {                                                                                 \
		if ((rc = container_file_require(e->mf, name, bytes, &p, err)) < 0)              \
			goto fail;                                                           \
		e->field = p;                                                                \
	} while (0)
	REQUIRE(MS_VECTORS, vec, sizeof(float) * N * D);
	REQUIRE(MS_VECTOR_NORM, norm, sizeof(float) * N);
	REQUIRE(MS_POPULARITY, pop, sizeof(float) * N);
	REQUIRE(MS_QUALITY_PRED, qpred, sizeof(float) * N);
	REQUIRE(MS_KM_LABELS, labels, sizeof(int32_t) * N);
	REQUIRE(MS_MAP_XY, xy, sizeof(float) * N * 2);
	e->track_artist = container_file_section(e->mf, MS_TRACK_ARTIST, &sz);
	e->T = (int64_t)(sz / sizeof(int32_t));
	REQUIRE(MS_TRACK_POP, track_pop, sizeof(uint32_t) * (size_t)e->T);
	const float *cent = container_file_section(e->mf, MS_KM_CENTROIDS, &sz);
	e->K = cent ? (int)(sz / (sizeof(float) * D)) : 0;
	const char *w = container_file_section(e->mf, MS_KM_WORDS, &sz);
	e->words = calloc((size_t)(e->K ? e->K : 1), sizeof(char *));
	for (int k = 0; e->words && w && k < e->K; k++) {
		e->words[k] = w;
		w += strnlen(w, sz) + 1;
	}
	/* Collaborative filtering, when trained. */
	e->cf_track = container_file_section(e->mf, MS_CF_TRACK, &sz);
	e->I = e->cf_track ? (int32_t)(sz / sizeof(int64_t)) : 0;
	if (e->I > 0) {
		size_t I = (size_t)e->I;
		const int64_t *ptr;
		if ((rc = container_file_require(e->mf, MS_COOC_PTR, sizeof(int64_t) * (I + 1), &p, err)) < 0)
			goto fail;
		ptr = p;
		size_t nnz = (size_t)ptr[I];
		const int32_t *nbr;
		const float *sim;
		if ((rc = container_file_require(e->mf, MS_COOC_NBR, sizeof(int32_t) * nnz, &p, err)) < 0)
			goto fail;
		nbr = p;
		if ((rc = container_file_require(e->mf, MS_COOC_SIM, sizeof(float) * nnz, &p, err)) < 0)
			goto fail;
		sim = p;
		e->cooc.nitems = e->I;
		e->cooc.indptr = (int64_t *)ptr;
		e->cooc.nbr = (int32_t *)nbr;
		e->cooc.sim = (float *)sim;
		/* The longest neighbour list sizes the scoring scratch. */
		int64_t topm = 0;
		for (size_t i = 0; i < I; i++)
			if (ptr[i + 1] - ptr[i] > topm)
				topm = ptr[i + 1] - ptr[i];
		e->cooc.topm = (int32_t)topm;
		e->has_cooc = 1;
		const cf_als_opts *ao;
		if ((rc = container_file_require(e->mf, MS_ALS_OPTS, sizeof(cf_als_opts), &p, err)) < 0)
			goto fail;
		ao = p;
		size_t F = (size_t)ao->factors;
		e->als.opts = *ao;
		e->als.nitems = e->I;
		e->als.factors = ao->factors;
		if ((rc = container_file_require(e->mf, MS_ALS_ITEMS, sizeof(float) * I * F, &p, err)) < 0)
			goto fail;
		e->als.item_factors = (float *)p;
		if ((rc = container_file_require(e->mf, MS_ALS_NORMS, sizeof(float) * I, &p, err)) < 0)
			goto fail;
		e->als.item_norms = (float *)p;
		if ((rc = container_file_require(e->mf, MS_ALS_YTY, sizeof(float) * F * F, &p, err)) < 0)
			goto fail;
		e->als.yty = (float *)p;
		e->has_als = 1;
	}
#undef REQUIRE
	/* Lookups by track id. */
	e->track_row = malloc(sizeof(int32_t) * (size_t)e->T);
	e->track_item = malloc(sizeof(int32_t) * (size_t)e->T);
	e->popular = malloc(sizeof(int64_t) * (size_t)e->T);
	if (!e->track_row || !e->track_item || !e->popular) {
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
		goto fail;
	}
	for (int64_t t = 0; t < e->T; t++)
		e->track_row[t] = e->track_item[t] = -1;
	for (size_t i = 0; i < N; i++)
		if (e->row_track[i] > 0 && e->row_track[i] < e->T)
			e->track_row[e->row_track[i]] = (int32_t)i;
	for (int32_t i = 0; i < e->I; i++)
		if (e->cf_track[i] > 0 && e->cf_track[i] < e->T)
			e->track_item[e->cf_track[i]] = i;
	for (int64_t t = 1; t < e->T; t++) {
		e->pop_total += e->track_pop[t];
		if (e->track_pop[t] > 0)
			e->popular[e->npopular++] = t;
	}
	qsort_r(e->popular, e->npopular, sizeof(int64_t), cmp_pop_desc, (void *)e->track_pop);
	e->max_info = log2(e->pop_total + 1);
	if ((rc = knn_index_create(&e->knn, e->vec, N, D, KNN_BORROW, err)) < 0)
		goto fail;
	*out = e;
	return 0;
fail:
	engine_free(e);
	return rc;
}

/* ---- accessors ---- */

const char *engine_meta_json(const engine *e) { return e->meta ? e->meta : "{}"; }
const feat_spec *engine_spec(const engine *e) { return e->spec; }
size_t engine_rows(const engine *e) { return e->N; }
int32_t engine_row_of(const engine *e, int64_t t) { return t > 0 && t < e->T ? e->track_row[t] : -1; }
int64_t engine_track_of(const engine *e, size_t row) { return row < e->N ? e->row_track[row] : -1; }
const float *engine_vector(const engine *e, size_t row) { return e->vec + row * e->D; }
int32_t engine_artist_of(const engine *e, int64_t t) { return t > 0 && t < e->T ? e->track_artist[t] : -1; }
uint32_t engine_playlist_count(const engine *e, int64_t t) { return t > 0 && t < e->T ? e->track_pop[t] : 0; }
int64_t engine_track_limit(const engine *e) { return e->T; }
int engine_cluster_of(const engine *e, size_t row) { return row < e->N ? e->labels[row] : -1; }
const char *engine_cluster_words(const engine *e, int k) { return k >= 0 && k < e->K ? e->words[k] : ""; }
int engine_clusters(const engine *e) { return e->K; }
const float *engine_map_xy(const engine *e) { return e->xy; }
float engine_predicted(const engine *e, size_t row) { return row < e->N ? e->qpred[row] : NAN; }
float engine_popularity(const engine *e, size_t row) { return row < e->N ? e->pop[row] : NAN; }

/* ---- one request ---- */

static scratch *thread_scratch(const engine *ce)
{
	engine *e = (engine *)ce; /* only the scratch list changes, under the lock */
	if (tl_scratch != NULL && tl_engine_id == e->id)
		return tl_scratch;
	scratch *sc = calloc(1, sizeof(*sc));
	if (sc == NULL)
		return NULL;
	sc->blocked = calloc((size_t)e->T, 1);
	sc->rowbits = calloc(KNN_BITMAP_BYTES(e->N) + 1, 1);
	sc->slot = calloc((size_t)e->T, sizeof(int64_t));
	if (!sc->blocked || !sc->rowbits || !sc->slot) {
		free(sc->blocked);
		free(sc->rowbits);
		free(sc->slot);
		free(sc);
		return NULL;
	}
	pthread_mutex_lock(&e->lock);
	sc->next = e->scratches;
	e->scratches = sc;
	pthread_mutex_unlock(&e->lock);
	tl_scratch = sc;
	tl_engine_id = e->id;
	return sc;
}

/* A candidate in the pool. */
typedef struct cand {
	int64_t track;
	int32_t row;      /* content row or -1 */
	float content;    /* cosine to the query, NaN when not computed */
	float cooc, als;  /* raw CF scores, NaN when absent */
	float score;      /* blended relevance */
} cand;

typedef struct pool {
	cand *c;
	size_t n, cap;
	int64_t *slot;    /* [T] index+1 into c, 0 = absent (sparse reset) */
} pool;

static cand *pool_get(pool *p, const engine *e, int64_t t)
{
	if (p->slot[t])
		return &p->c[p->slot[t] - 1];
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 256;
		cand *nc = realloc(p->c, cap * sizeof(cand));
		if (nc == NULL)
			return NULL;
		p->c = nc;
		p->cap = cap;
	}
	cand *c = &p->c[p->n++];
	c->track = t;
	c->row = e->track_row[t];
	c->content = c->cooc = c->als = NAN;
	c->score = 0;
	p->slot[t] = (int64_t)p->n;
	return c;
}

typedef struct ctx {
	const engine *e;
	const rec_request *r;
	uint8_t *blocked;      /* [T] 1 = never recommend (seeds, known) */
	uint8_t *rowbits;      /* knn exclude bitmap over rows */
	float *query;          /* [D] content query, unit length, or NULL */
	float *mood;           /* [D] mood target */
	uint8_t *mood_mask;    /* [D] */
	int has_mood;
	int32_t *seed_rows;    /* [nseeds] content rows of the seeds (-1) */
	int32_t *seed_items;   /* [nseeds] CF items of the seeds */
	size_t nseed_items;
	pool pool;
} ctx;

static int add_content(ctx *x, size_t want, seg_error *err)
{
	const engine *e = x->e;
	if (x->query == NULL && !x->has_mood)
		return 0;
	if (x->has_mood && x->query == NULL) {
		/* Mood only: the tracks nearest the target on the named dimensions. */
		knn_hit *best = malloc(sizeof(knn_hit) * want);
		size_t nb = 0;
		if (best == NULL)
			return seg_error_set(err, SEG_ENOMEM, "out of memory");
		for (size_t i = 0; i < e->N; i++) {
			if (x->blocked[e->row_track[i]])
				continue;
			/* Squared distance on the dimensions the mood names, in the
			 * model's (unnormalised) units. */
			float d2 = 0;
			for (size_t d = 0; d < e->D; d++)
				if (x->mood_mask[d]) {
					float diff = e->vec[i * e->D + d] * e->norm[i] - x->mood[d];
					d2 += diff * diff;
				}
			float s = -d2;
			if (nb < want || s > best[nb - 1].score) {
				size_t j = nb < want ? nb++ : nb - 1;
				while (j > 0 && best[j - 1].score < s) {
					best[j] = best[j - 1];
					j--;
				}
				best[j].row = i;
				best[j].score = s;
			}
		}
		for (size_t j = 0; j < nb; j++) {
			cand *c = pool_get(&x->pool, e, e->row_track[best[j].row]);
			if (c == NULL) {
				free(best);
				return seg_error_set(err, SEG_ENOMEM, "out of memory");
			}
			c->content = 1.0f / (1.0f - best[j].score); /* 1 at the target, falling with distance */
		}
		free(best);
		return 0;
	}
	knn_hit *hits = malloc(sizeof(knn_hit) * want);
	if (hits == NULL)
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	knn_filter f = {.exclude = x->rowbits};
	size_t n = 0;
	int rc = knn_search(e->knn, x->query, want, &f, hits, &n);
	for (size_t j = 0; rc == 0 && j < n; j++) {
		cand *c = pool_get(&x->pool, e, e->row_track[hits[j].row]);
		if (c == NULL) {
			rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
			break;
		}
		c->content = hits[j].score;
	}
	free(hits);
	return rc < 0 ? rc : 0;
}

static int add_cf(ctx *x, int which, size_t want, seg_error *err)
{
	const engine *e = x->e;
	if (x->nseed_items == 0 || (which == REC_COOC && !e->has_cooc) || (which == REC_ALS && !e->has_als))
		return 0;
	/* Ask for extra: blocked tracks are filtered after. */
	int32_t k = (int32_t)(want + x->r->nexclude + 8);
	if (k > e->I)
		k = e->I;
	int32_t *items = malloc(sizeof(int32_t) * (size_t)k);
	float *scores = malloc(sizeof(float) * (size_t)k);
	int32_t n = 0;
	int rc = 0;
	if (!items || !scores) {
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
		goto out;
	}
	if (which == REC_COOC)
		rc = cf_cooc_recommend(&e->cooc, x->seed_items, x->nseed_items, k, items, scores, &n, NULL, err);
	else
		rc = cf_als_recommend(&e->als, x->seed_items, x->nseed_items, k, items, scores, &n, NULL, err);
	size_t taken = 0;
	for (int32_t j = 0; rc == 0 && j < n && taken < want; j++) {
		int64_t t = e->cf_track[items[j]];
		if (x->blocked[t])
			continue;
		cand *c = pool_get(&x->pool, e, t);
		if (c == NULL) {
			rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
			break;
		}
		if (which == REC_COOC)
			c->cooc = scores[j];
		else
			c->als = scores[j];
		taken++;
	}
out:
	free(items);
	free(scores);
	return rc;
}

/* Scales the finite values of one field over the pool to 0..1 (by the max,
 * or min-max when some are negative). */
static void normalise(pool *p, size_t off)
{
	float lo = INFINITY, hi = -INFINITY;
	for (size_t i = 0; i < p->n; i++) {
		float v = *(float *)((char *)&p->c[i] + off);
		if (!isnan(v)) {
			lo = v < lo ? v : lo;
			hi = v > hi ? v : hi;
		}
	}
	if (hi == -INFINITY)
		return;
	float base = lo < 0 ? lo : 0, range = hi - base;
	for (size_t i = 0; i < p->n; i++) {
		float *v = (float *)((char *)&p->c[i] + off);
		if (!isnan(*v))
			*v = range > 0 ? (*v - base) / range : 1.0f;
	}
}

static int cmp_cand(const void *a, const void *b)
{
	const cand *x = a, *y = b;
	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return (x->track > y->track) - (x->track < y->track);
}

/* Fills the reasons of one result. */
static void explain(const ctx *x, rec_item *it)
{
	const engine *e = x->e;
	int32_t row = e->track_row[it->track];
	it->near_seed = -1;
	for (int m = 0; m < REC_MATCHES; m++)
		it->match[m] = -1;
	it->cluster = row >= 0 ? e->labels[row] : -1;
	it->predicted = row >= 0 ? e->qpred[row] : NAN;
	it->popularity = row >= 0 ? e->pop[row] : NAN;
	if (!isnan(it->cf) && it->cf > 0)
		it->reasons |= REASON_CF;
	if (!isnan(it->predicted) && it->predicted >= GEM_MIN_PREDICTED &&
	    (isnan(it->popularity) ? 0 : it->predicted - it->popularity >= GEM_GAP))
		it->reasons |= REASON_GEM;
	if (row < 0)
		return;
	const float *v = e->vec + (size_t)row * e->D;
	/* The nearest seed in sound, and the features they share. */
	float best = -2;
	for (size_t s = 0; s < x->r->nseeds; s++) {
		int32_t sr = x->seed_rows[s];
		if (sr < 0)
			continue;
		const float *sv = e->vec + (size_t)sr * e->D;
		float dot = 0;
		for (size_t d = 0; d < e->D; d++)
			dot += v[d] * sv[d];
		if (dot > best) {
			best = dot;
			it->near_seed = (int32_t)s;
		}
	}
	if (it->near_seed >= 0 && !isnan(it->content)) {
		it->reasons |= REASON_CONTENT;
		const float *sv = e->vec + (size_t)x->seed_rows[it->near_seed] * e->D;
		/* Distinctive features of the seed that the pick shares: the seed is
		 * away from average on them and the two are close. */
		float sc[FD_GENRE0];
		for (int d = 0; d < FD_GENRE0; d++) {
			if (d == FD_KEY_X || d == FD_KEY_Y || d == FD_DURATION)
				sc[d] = -INFINITY;
			else
				sc[d] = fabsf(sv[d]) - 2.0f * fabsf(sv[d] - v[d]);
		}
		for (int m = 0; m < REC_MATCHES; m++) {
			int bd = -1;
			for (int d = 0; d < FD_GENRE0; d++)
				if (sc[d] > 0 && (bd < 0 || sc[d] > sc[bd]))
					bd = d;
			if (bd < 0)
				break;
			it->match[m] = (int8_t)bd;
			sc[bd] = -INFINITY;
		}
		/* A genre none of the seeds has. */
		int seeds_genres = 0, novel = 0;
		for (uint32_t g = 0; g < e->spec->ngenres; g++) {
			int in_seed = 0;
			for (size_t s = 0; s < x->r->nseeds; s++)
				if (x->seed_rows[s] >= 0 && e->vec[(size_t)x->seed_rows[s] * e->D + FD_GENRE0 + g] > 0)
					in_seed = 1;
			seeds_genres |= in_seed;
			if (v[FD_GENRE0 + g] > 0 && !in_seed)
				novel = 1;
		}
		if (novel && seeds_genres)
			it->reasons |= REASON_NEW_GENRE;
	}
	if (x->has_mood)
		it->reasons |= REASON_MOOD;
}

int engine_recommend(const engine *e, const rec_request *r, rec_item *out, size_t *nout, const char **shortfall,
                     seg_error *err)
{
	*nout = 0;
	if (shortfall)
		*shortfall = "";
	if (r->k == 0)
		return 0;
	ctx x;
	memset(&x, 0, sizeof x);
	x.e = e;
	x.r = r;
	int rc = 0;
	size_t D = e->D;
	scratch *sc = thread_scratch(e);
	if (sc != NULL) {
		x.blocked = sc->blocked;
		x.rowbits = sc->rowbits;
		x.pool.slot = sc->slot;
	}
	x.seed_rows = malloc(sizeof(int32_t) * (r->nseeds + 1));
	x.seed_items = malloc(sizeof(int32_t) * (r->nseeds + 1));
	rerank_cand *rc_c = NULL;
	size_t *order = NULL;
	if (!x.blocked || !x.rowbits || !x.pool.slot || !x.seed_rows || !x.seed_items) {
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < r->nexclude; i++)
		if (r->exclude[i] > 0 && r->exclude[i] < e->T)
			x.blocked[r->exclude[i]] = 1;
	/* Seeds: blocked, and turned into a content query and CF items. */
	float *q = calloc(D, sizeof(float));
	x.query = q;
	int nq = 0;
	for (size_t s = 0; s < r->nseeds; s++) {
		int64_t t = r->seeds[s];
		x.seed_rows[s] = -1;
		if (t <= 0 || t >= e->T)
			continue;
		x.blocked[t] = 1;
		x.seed_rows[s] = e->track_row[t];
		if (x.seed_rows[s] >= 0 && q) {
			const float *v = e->vec + (size_t)x.seed_rows[s] * D;
			for (size_t d = 0; d < D; d++)
				q[d] += v[d];
			nq++;
		}
		if (e->track_item[t] >= 0)
			x.seed_items[x.nseed_items++] = e->track_item[t];
	}
	for (size_t s = 0; s < r->nseeds + r->nexclude; s++) {
		int64_t t = s < r->nseeds ? r->seeds[s] : r->exclude[s - r->nseeds];
		if (t > 0 && t < e->T && e->track_row[t] >= 0)
			knn_bitmap_set(x.rowbits, (size_t)e->track_row[t]);
	}
	if (nq == 0 || q == NULL) {
		free(q);
		x.query = NULL;
	} else {
		knn_vec_normalize(q, D);
	}
	if (r->mood != NULL) {
		x.mood = calloc(D, sizeof(float));
		x.mood_mask = calloc(D, 1);
		if (!x.mood || !x.mood_mask) {
			rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
			goto out;
		}
		/* The target lives in the model's unnormalised space. */
		if ((rc = feat_mood(e->spec, r->mood, x.mood, x.mood_mask, err)) < 0)
			goto out;
		x.has_mood = 1;
		if (x.query != NULL) {
			/* Seeds and a mood: the seeds' direction with the mood's values
			 * on the dimensions it names, at a typical vector length. */
			float len = 0;
			for (size_t s = 0; s < r->nseeds; s++)
				if (x.seed_rows[s] >= 0)
					len += e->norm[x.seed_rows[s]];
			len /= (float)(nq ? nq : 1);
			for (size_t d = 0; d < D; d++)
				x.query[d] = x.mood_mask[d] ? x.mood[d] : x.query[d] * len;
			knn_vec_normalize(x.query, D);
		}
	}
	if (r->nseeds == 0 && r->mood == NULL && r->model != REC_POPULAR && r->model != REC_RANDOM) {
		rc = seg_error_set(err, SEG_EINVAL, "give at least one seed track or a mood");
		goto out;
	}

	/* Candidate pool. */
	size_t want = r->k;
	if (r->rerank)
		want = r->pool > r->k ? r->pool : r->k * 5 > 100 ? r->k * 5 : 100;
	switch (r->model) {
	case REC_RANDOM: {
		uint64_t s = r->seed * 0x9E3779B97F4A7C15ull + 1;
		size_t tries = 0;
		while (x.pool.n < want && tries++ < want * 20 && e->T > 1) {
			s ^= s << 13, s ^= s >> 7, s ^= s << 17;
			int64_t t = 1 + (int64_t)(s % (uint64_t)(e->T - 1));
			if (x.blocked[t] || (e->track_row[t] < 0 && e->track_item[t] < 0) || x.pool.slot[t])
				continue;
			cand *c = pool_get(&x.pool, e, t);
			if (c)
				c->score = 1.0f - (float)x.pool.n / (float)(want + 1);
		}
		break;
	}
	case REC_POPULAR:
		for (size_t i = 0; i < e->npopular && x.pool.n < want; i++) {
			int64_t t = e->popular[i];
			if (x.blocked[t])
				continue;
			cand *c = pool_get(&x.pool, e, t);
			if (c)
				c->score = (float)e->track_pop[t] / (float)(e->track_pop[e->popular[0]] + 1);
		}
		break;
	case REC_CONTENT:
		rc = add_content(&x, want, err);
		for (size_t i = 0; i < x.pool.n; i++)
			x.pool.c[i].score = x.pool.c[i].content;
		break;
	case REC_COOC:
	case REC_ALS:
		rc = add_cf(&x, r->model, want, err);
		for (size_t i = 0; i < x.pool.n; i++)
			x.pool.c[i].score = r->model == REC_COOC ? x.pool.c[i].cooc : x.pool.c[i].als;
		break;
	case REC_HYBRID:
	case REC__COUNT:
		if ((rc = add_content(&x, want, err)) < 0 || (rc = add_cf(&x, REC_COOC, want, err)) < 0 ||
		    (rc = add_cf(&x, REC_ALS, want, err)) < 0)
			break;
		/* Content scores for CF candidates that have vectors, so both parts
		 * are known wherever they can be. */
		if (x.query != NULL)
			for (size_t i = 0; i < x.pool.n; i++) {
				cand *c = &x.pool.c[i];
				if (isnan(c->content) && c->row >= 0) {
					const float *v = e->vec + (size_t)c->row * D;
					float dot = 0;
					for (size_t d = 0; d < D; d++)
						dot += v[d] * x.query[d];
					c->content = dot;
				}
			}
		normalise(&x.pool, offsetof(cand, content));
		normalise(&x.pool, offsetof(cand, cooc));
		normalise(&x.pool, offsetof(cand, als));
		float wcf = x.nseed_items > 0 ? HYBRID_CF_WEIGHT : 0;
		for (size_t i = 0; i < x.pool.n; i++) {
			cand *c = &x.pool.c[i];
			float cf = (isnan(c->cooc) ? 0 : c->cooc) * 0.5f + (isnan(c->als) ? 0 : c->als) * 0.5f;
			float ct = isnan(c->content) ? 0 : c->content;
			c->score = wcf * cf + (1 - wcf) * ct;
		}
		break;
	}
	if (rc < 0)
		goto out;
	if (r->model != REC_HYBRID) {
		normalise(&x.pool, offsetof(cand, content));
		normalise(&x.pool, offsetof(cand, cooc));
		normalise(&x.pool, offsetof(cand, als));
	}

	/* Final selection. */
	size_t n = 0;
	order = malloc(sizeof(size_t) * r->k);
	if (order == NULL) {
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
		goto out;
	}
	if (r->rerank && x.pool.n > 0) {
		rc_c = malloc(sizeof(rerank_cand) * x.pool.n);
		if (rc_c == NULL) {
			rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
			goto out;
		}
		float smax = 0;
		for (size_t i = 0; i < x.pool.n; i++)
			smax = x.pool.c[i].score > smax ? x.pool.c[i].score : smax;
		for (size_t i = 0; i < x.pool.n; i++) {
			cand *c = &x.pool.c[i];
			double info = -log2(((double)e->track_pop[c->track] + 1) / (e->pop_total + 1));
			rc_c[i] = (rerank_cand){
				.track = c->track,
				.row = c->row,
				.artist = e->track_artist[c->track],
				.relevance = smax > 0 ? c->score / smax : 0,
				.novelty = e->max_info > 0 ? (float)(info / e->max_info) : 0,
				.quality = c->row >= 0 && !isnan(e->qpred[c->row]) ? e->qpred[c->row] / 100.0f : NAN,
			};
		}
		rerank_opts ro = {.k = r->k,
		                  .diversity = r->diversity,
		                  .novelty = r->novelty,
		                  .quality = r->quality,
		                  .max_per_artist = r->max_per_artist,
		                  .vectors = e->vec,
		                  .dim = D};
		enum rerank_shortfall sf = rerank_run(rc_c, x.pool.n, &ro, order, &n);
		if (shortfall)
			*shortfall = rerank_shortfall_text(sf);
		for (size_t j = 0; j < n; j++)
			x.pool.c[order[j]].score = rc_c[order[j]].final;
	} else {
		qsort(x.pool.c, x.pool.n, sizeof(cand), cmp_cand);
		n = x.pool.n < r->k ? x.pool.n : r->k;
		for (size_t j = 0; j < n; j++)
			order[j] = j;
		if (n < r->k && shortfall)
			*shortfall = rerank_shortfall_text(RERANK_FEW_CANDIDATES);
	}
	for (size_t j = 0; j < n; j++) {
		const cand *c = &x.pool.c[order[j]];
		rec_item *it = &out[j];
		memset(it, 0, sizeof(*it));
		it->track = c->track;
		it->score = c->score;
		it->content = c->content;
		float cf = NAN;
		if (!isnan(c->cooc) || !isnan(c->als))
			cf = ((isnan(c->cooc) ? 0 : c->cooc) + (isnan(c->als) ? 0 : c->als)) * 0.5f;
		it->cf = cf;
		if (r->model == REC_POPULAR)
			it->reasons |= REASON_POPULAR;
		if (r->model == REC_RANDOM)
			it->reasons |= REASON_RANDOM;
		explain(&x, it);
	}
	*nout = n;
out:
	/* Leave the thread's scratch zeroed: undo exactly what was set. */
	if (x.blocked != NULL)
		for (size_t s = 0; s < r->nseeds + r->nexclude; s++) {
			int64_t t = s < r->nseeds ? r->seeds[s] : r->exclude[s - r->nseeds];
			if (t > 0 && t < e->T) {
				x.blocked[t] = 0;
				if (e->track_row[t] >= 0)
					x.rowbits[(size_t)e->track_row[t] >> 3] = 0;
			}
		}
	for (size_t i = 0; x.pool.slot && i < x.pool.n; i++)
		x.pool.slot[x.pool.c[i].track] = 0;
	free(x.pool.c);
	free(x.seed_rows);
	free(x.seed_items);
	free(x.query);
	free(x.mood);
	free(x.mood_mask);
	free(rc_c);
	free(order);
	return rc;
}

/* ---- reasons in words ---- */

static const char *dim_word(int d)
{
	switch (d) {
	case FD_MODE: return "mode";
	case FD_LOUDNESS: return "loudness";
	case FD_TEMPO: return "tempo";
	default: return d >= 0 && d < FD_GENRE0 ? feat_dim_names[d] : "";
	}
}

/* Appends the strings of a NULL-terminated list to buf[cap] at *n, cut as
 * snprintf cuts; *n counts what would have been written. (Plain copies: the
 * reasons of every result of every request are written here, and snprintf
 * was a visible part of the server's profile.) */
static void put(char *buf, size_t cap, size_t *n, ...)
{
	va_list ap;
	va_start(ap, n);
	for (const char *s = va_arg(ap, const char *); s != NULL; s = va_arg(ap, const char *)) {
		size_t len = strlen(s);
		if (*n + 1 < cap) {
			size_t k = len < cap - 1 - *n ? len : cap - 1 - *n;
			memcpy(buf + *n, s, k);
			buf[*n + k] = '\0';
		}
		*n += len;
	}
	va_end(ap);
}

int rec_reason_text(const engine *e, const rec_item *it, const char *const *seed_names, size_t nseeds, char *buf,
                    size_t cap)
{
	size_t n = 0;
	buf[0] = '\0';
	if ((it->reasons & REASON_CONTENT) && it->near_seed >= 0 && (size_t)it->near_seed < nseeds) {
		put(buf, cap, &n, "sounds like", " ", seed_names[it->near_seed] ? seed_names[it->near_seed] : "a seed",
		    (char *)NULL);
		int m0 = it->match[0], m1 = it->match[1], m2 = it->match[2];
		if (m0 >= 0 && m1 >= 0 && m2 >= 0)
			put(buf, cap, &n, " (same ", dim_word(m0), ", ", dim_word(m1), " and ", dim_word(m2), ")",
			    (char *)NULL);
		else if (m0 >= 0 && m1 >= 0)
			put(buf, cap, &n, " (same ", dim_word(m0), " and ", dim_word(m1), ")", (char *)NULL);
		else if (m0 >= 0)
			put(buf, cap, &n, " (same ", dim_word(m0), ")", (char *)NULL);
	}
	if (it->reasons & REASON_MOOD)
		put(buf, cap, &n, n ? "; " : "", "fits the mood", (char *)NULL);
	if (it->reasons & REASON_CF)
		put(buf, cap, &n, n ? "; " : "", "often in playlists with your seeds", (char *)NULL);
	if (it->reasons & REASON_NEW_GENRE) {
		int32_t row = engine_row_of(e, it->track);
		const char *g = NULL;
		for (uint32_t k = 0; row >= 0 && k < e->spec->ngenres && g == NULL; k++)
			if (e->vec[(size_t)row * e->D + FD_GENRE0 + k] > 0)
				g = e->spec->genres[k];
		put(buf, cap, &n, n ? "; " : "", "from a genre new to your seeds", g ? " (" : "", g ? g : "", g ? ")" : "",
		    (char *)NULL);
	}
	if (it->reasons & REASON_GEM) {
		char num[64];
		snprintf(num, sizeof num, "%.0f, actual %.0f", it->predicted, it->popularity);
		put(buf, cap, &n, n ? "; " : "", "hidden gem: predicted popularity ", num, (char *)NULL);
	}
	if (it->reasons & REASON_POPULAR)
		put(buf, cap, &n, n ? "; " : "", "among the most played in playlists", (char *)NULL);
	if (it->reasons & REASON_RANDOM)
		put(buf, cap, &n, n ? "; " : "", "picked at random", (char *)NULL);
	return (int)n;
}
