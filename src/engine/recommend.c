/* recommend.c: the recommendation engine (see recommend.h): opening an
 * artifact, and one request in stages: resolve, retrieve (the chosen
 * recommender), blend, select (re-rank), explain. The recommenders are in
 * src/engine/rec_*.c, behind recommender.h.
 *
 * Legend: N content rows, D content dimensions, T track ids, I CF items,
 * C candidates in the pool that re-ranking chooses from. */
#include "engine/recommend.h"

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <pthread.h>
#include <stdatomic.h>

#include "core/array.h"
#include "core/container.h"
#include "core/topk.h"
#include "engine/rec_internal.h"
#include "engine/recommender.h"
#include "engine/train.h"
#include "models/knn.h"
#include "models/rerank.h"

const char *const rec_reason_codes[REASON__BITS] = {"content", "cf",   "gem",    "new_genre",
                                                    "popular", "mood", "random", "title"};

/* rec_request_set_rerank_defaults' values. */
static float default_diversity = 0.3f, default_novelty = 0.1f;
static int default_max_per_artist = 2;

void rec_request_set_rerank_defaults(float diversity, float novelty, int max_per_artist)
{
	if (diversity >= 0 && diversity <= 1 && novelty >= 0 && novelty <= 10 && max_per_artist >= 0 &&
	    max_per_artist <= 100) {
		default_diversity = diversity;
		default_novelty = novelty;
		default_max_per_artist = max_per_artist;
	}
}

/* rec_request_set_knn_probe_default's value. */
static size_t default_knn_probe;

void rec_request_set_knn_probe_default(size_t probe)
{
	if (probe <= REC_KNN_PROBE_MAX)
		default_knn_probe = probe;
}

void rec_request_default(rec_request *r)
{
	memset(r, 0, sizeof(*r));
	r->model = recommender_find(RECOMMENDER_DEFAULT);
	r->k = 10;
	r->rerank = 1;
	r->diversity = default_diversity;
	r->novelty = default_novelty;
	r->quality = 0.1f;
	r->max_per_artist = default_max_per_artist;
	r->knn_probe = default_knn_probe;
}

/* A hidden gem: predicted well above its popularity. */
#define GEM_GAP 15.0f
#define GEM_MIN_PREDICTED 40.0f
/* With seeds and a mood, the share of a candidate's score that is its
 * closeness to the mood (the rest is the model's score, scaled 0..1 over the
 * pool); and the mood-nearest tracks added to the pool, so that it holds
 * some that fit the mood. */
#define MOOD_WEIGHT 0.5f
/* A pick "fits the mood" when its root-mean-square distance from the target
 * over the features the mood names is at most this, in model units (a
 * standardised feature at weight 1: standard deviations). */
#define MOOD_CLOSE 0.5f

/* Per-thread scratch for requests: arrays over all track ids that would cost
 * a large allocation and clear per request. Each request leaves them zeroed
 * again, touching only the entries it set. */
typedef struct scratch {
	struct scratch *next; /* the engine's list, freed with it */
	uint8_t *blocked;     /* [T] */
	uint8_t *rowbits;     /* [KNN_BITMAP_BYTES(N)] */
	int64_t *slot;        /* [T] */
	struct rec_work work; /* the request's other buffers (rec__buf) */
} scratch;

static atomic_uint_fast64_t next_engine_id = 1;
/* The thread's scratches, by engine id: a server holds more than one engine
 * at a time (a model and the next one while it is promoted, or two A/B
 * variants' models), and a thread that alternates between them keeps one
 * scratch for each instead of making a new one at every switch. An entry
 * pushed out (more engines than entries) stays on its engine's list until
 * the engine is freed. */
#define TL_SCRATCHES 4
static _Thread_local uint64_t tl_engine_id[TL_SCRATCHES]; /* 0: empty */
static _Thread_local scratch *tl_scratch[TL_SCRATCHES];
static _Thread_local unsigned tl_next; /* the entry the next new scratch takes */

struct engine {
	uint64_t id;          /* unique per engine_open, keys the thread scratch */
	pthread_mutex_t lock; /* guards scratches */
	scratch *scratches;
	container_file *mf;
	const char *meta;      /* JSON text */
	rec_artifact a;        /* what every recommender reads (views into the file) */
	const int32_t *labels; /* [N] sonic-map cluster of each row */
	const float *xy;       /* [N][2] */
	int K;
	const char **words;   /* [K] */
	int32_t *track_row;   /* [T] content row or -1 (built at open; a.track_row) */
	int32_t *track_item;  /* [T] CF item or -1 (built at open; a.track_item) */
	double pop_total;     /* sum of track_pop */
	double max_info;      /* largest self-information, to normalise novelty */
	size_t nmodels;       /* recommenders registered when the engine opened */
	void **model_state;   /* [nmodels] what each one's open built, or NULL */
	const uint64_t *song; /* [T] song key of each track id, 0 unknown; NULL in older models */
	const uint16_t *year; /* [T] release year of each track id, 0 unknown; NULL in older models */
	int32_t *song_next;   /* [T] the next track id of the same song, a ring (itself when alone); with song */
	uint32_t *genre_bits; /* [N] bit g: the row has genre g of the vocabulary (at most 24) */
};

void engine_free(engine *e)
{
	if (e == NULL)
		return;
	for (scratch *sc = e->scratches, *next; sc; sc = next) {
		next = sc->next;
		free(sc->blocked);
		free(sc->rowbits);
		free(sc->slot);
		for (int w = 0; w < REC__W__N; w++)
			free(sc->work.slot[w].p);
		free(sc);
	}
	pthread_mutex_destroy(&e->lock);
	for (size_t m = 0; e->model_state && m < e->nmodels; m++) {
		const recommender *rec = recommender_get((int)m);
		if (rec->close)
			rec->close(e->model_state[m]);
	}
	free(e->model_state);
	free(e->words);
	free(e->track_row);
	free(e->track_item);
	free(e->song_next);
	free(e->genre_bits);
	container_file_close(e->mf);
	free(e);
}

/* Maps the sections every recommender shares: the content vectors and their
 * feature pipeline, the sonic map, the quality prior, the per-track arrays
 * and the CF item vocabulary. */
static int open_shared(engine *e, const char *path, seg_error *err)
{
	rec_artifact *a = &e->a;
	const void *p;
	size_t sz;
	int rc;
	e->meta = container_file_section(e->mf, MS_META, &sz);
	if ((rc = container_file_require(e->mf, MS_FEAT_SPEC, sizeof(feat_spec), &p, err)) < 0)
		return rc;
	a->spec = p;
	if (a->spec->version != FEAT_SPEC_VERSION || a->spec->dim != FD_GENRE0 + a->spec->ngenres ||
	    a->spec->ngenres > FEAT_MAX_GENRES)
		return seg_error_set(err, SEG_EVERSION,
		                     "%s: feature pipeline version %u is not the one this segue reads (%d)", path,
		                     a->spec->version, FEAT_SPEC_VERSION);
	a->D = a->spec->dim;
	a->row_track = container_file_section(e->mf, MS_TRACK_ID, &sz);
	if (a->row_track == NULL)
		return seg_error_set(err, SEG_EFORMAT, "%s: no content section", path);
	a->N = sz / sizeof(int64_t);
	size_t N = a->N, D = a->D;
#define REQUIRE(name, field, bytes)                                                 \
	do {                                                                        \
		if ((rc = container_file_require(e->mf, name, bytes, &p, err)) < 0) \
			return rc;                                                  \
		field = p;                                                          \
	} while (0)
	REQUIRE(MS_VECTORS, a->vec, sizeof(float) * N * D);
	REQUIRE(MS_VECTOR_NORM, a->norm, sizeof(float) * N);
	REQUIRE(MS_POPULARITY, a->popularity, sizeof(float) * N);
	REQUIRE(MS_QUALITY_PRED, a->predicted, sizeof(float) * N);
	REQUIRE(MS_KM_LABELS, e->labels, sizeof(int32_t) * N);
	REQUIRE(MS_MAP_XY, e->xy, sizeof(float) * N * 2);
	a->track_artist = container_file_section(e->mf, MS_TRACK_ARTIST, &sz);
	a->T = (int64_t)(sz / sizeof(int32_t));
	REQUIRE(MS_TRACK_POP, a->track_pop, sizeof(uint32_t) * (size_t)a->T);
#undef REQUIRE
	const float *cent = container_file_section(e->mf, MS_KM_CENTROIDS, &sz);
	e->K = cent ? (int)(sz / (sizeof(float) * D)) : 0;
	const char *w = container_file_section(e->mf, MS_KM_WORDS, &sz);
	e->words = calloc((size_t)(e->K ? e->K : 1), sizeof(char *));
	for (int k = 0; e->words && w && k < e->K; k++) {
		e->words[k] = w;
		w += strnlen(w, sz) + 1;
	}
	/* The CF item vocabulary, when collaborative filtering was trained. */
	a->cf_track = container_file_section(e->mf, MS_CF_TRACK, &sz);
	a->I = a->cf_track ? (int32_t)(sz / sizeof(int64_t)) : 0;
	/* Lookups by track id. */
	e->track_row = malloc(sizeof(int32_t) * (size_t)a->T);
	e->track_item = malloc(sizeof(int32_t) * (size_t)a->T);
	if (!e->track_row || !e->track_item)
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	for (int64_t t = 0; t < a->T; t++)
		e->track_row[t] = e->track_item[t] = -1;
	for (size_t i = 0; i < N; i++)
		if (a->row_track[i] > 0 && a->row_track[i] < a->T)
			e->track_row[a->row_track[i]] = (int32_t)i;
	for (int32_t i = 0; i < a->I; i++)
		if (a->cf_track[i] > 0 && a->cf_track[i] < a->T)
			e->track_item[a->cf_track[i]] = i;
	a->track_row = e->track_row;
	a->track_item = e->track_item;
	for (int64_t t = 1; t < a->T; t++)
		e->pop_total += a->track_pop[t];
	e->max_info = log2(e->pop_total + 1);
	return 0;
}

/* A row's genres are bits of one uint32 (genre_bits). */
_Static_assert(FEAT_MAX_GENRES <= 32, "the genre vocabulary fits in 32 bits");

typedef struct song_pair {
	uint64_t key;
	int32_t track;
} song_pair;

static int song_pair_cmp(const void *pa, const void *pb)
{
	const song_pair *a = pa, *b = pb;
	if (a->key != b->key)
		return a->key < b->key ? -1 : 1;
	return (a->track > b->track) - (a->track < b->track);
}

/* Maps the per-track facts that hygiene and filters read: the song keys
 * (then links the versions of each song into a ring, so that a request
 * reaches a seed's versions in as many steps as there are) and the years,
 * both optional (older models have neither); and each row's genres as
 * bits. */
static int open_facts(engine *e, const char *path, seg_error *err)
{
	const rec_artifact *a = &e->a;
	size_t T = (size_t)a->T, sz;
	e->genre_bits = calloc(a->N ? a->N : 1, sizeof(uint32_t));
	if (e->genre_bits == NULL)
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	for (size_t i = 0; i < a->N; i++)
		for (uint32_t g = 0; g < a->spec->ngenres; g++)
			if (a->vec[i * a->D + FD_GENRE0 + g] > 0)
				e->genre_bits[i] |= 1u << g;
	e->year = container_file_section(e->mf, MS_TRACK_YEAR, &sz);
	if (e->year != NULL && sz != sizeof(uint16_t) * T)
		return seg_error_set(err, SEG_EFORMAT, "%s: section %s has %zu bytes, not %zu", path, MS_TRACK_YEAR, sz,
		                     sizeof(uint16_t) * T);
	e->song = container_file_section(e->mf, MS_TRACK_SONG, &sz);
	if (e->song == NULL)
		return 0;
	if (sz != sizeof(uint64_t) * T)
		return seg_error_set(err, SEG_EFORMAT, "%s: section %s has %zu bytes, not %zu", path, MS_TRACK_SONG, sz,
		                     sizeof(uint64_t) * T);
	e->song_next = malloc(sizeof(int32_t) * (T ? T : 1));
	song_pair *p = malloc(sizeof(song_pair) * (T ? T : 1));
	if (e->song_next == NULL || p == NULL) {
		free(p);
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	}
	size_t n = 0;
	for (size_t t = 0; t < T; t++) {
		e->song_next[t] = (int32_t)t;
		if (t > 0 && e->song[t] != 0)
			p[n++] = (song_pair){e->song[t], (int32_t)t};
	}
	qsort(p, n, sizeof *p, song_pair_cmp);
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		while (j < n && p[j].key == p[i].key)
			j++;
		for (size_t m = i; m < j; m++)
			e->song_next[p[m].track] = p[m + 1 < j ? m + 1 : i].track;
		i = j;
	}
	free(p);
	return 0;
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
	if (rc < 0 || (rc = open_shared(e, path, err)) < 0 || (rc = open_facts(e, path, err)) < 0)
		goto fail;
	/* Each recommender reads its own sections. */
	e->nmodels = recommender_count();
	e->model_state = calloc(e->nmodels, sizeof(void *));
	if (e->model_state == NULL) {
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
		goto fail;
	}
	for (size_t m = 0; m < e->nmodels; m++) {
		const recommender *rec = recommender_get((int)m);
		if (rec->open && (rc = rec->open(&e->a, e->mf, &e->model_state[m], err)) < 0)
			goto fail;
	}
	*out = e;
	return 0;
fail:
	engine_free(e);
	return rc;
}

/* ---- accessors ---- */

const char *engine_meta_json(const engine *e) { return e->meta ? e->meta : "{}"; }
const feat_spec *engine_spec(const engine *e) { return e->a.spec; }
size_t engine_rows(const engine *e) { return e->a.N; }
int32_t engine_row_of(const engine *e, int64_t t) { return t > 0 && t < e->a.T ? e->track_row[t] : -1; }
int64_t engine_track_of(const engine *e, size_t row) { return row < e->a.N ? e->a.row_track[row] : -1; }
const float *engine_vector(const engine *e, size_t row) { return e->a.vec + row * e->a.D; }
int32_t engine_artist_of(const engine *e, int64_t t) { return t > 0 && t < e->a.T ? e->a.track_artist[t] : -1; }
uint32_t engine_playlist_count(const engine *e, int64_t t) { return t > 0 && t < e->a.T ? e->a.track_pop[t] : 0; }
int64_t engine_track_limit(const engine *e) { return e->a.T; }
int engine_cluster_of(const engine *e, size_t row) { return row < e->a.N ? e->labels[row] : -1; }
const char *engine_cluster_words(const engine *e, int k) { return k >= 0 && k < e->K ? e->words[k] : ""; }
int engine_clusters(const engine *e) { return e->K; }
const float *engine_map_xy(const engine *e) { return e->xy; }
float engine_predicted(const engine *e, size_t row) { return row < e->a.N ? e->a.predicted[row] : NAN; }
float engine_popularity(const engine *e, size_t row) { return row < e->a.N ? e->a.popularity[row] : NAN; }
uint64_t engine_song_of(const engine *e, int64_t t) { return e->song && t > 0 && t < e->a.T ? e->song[t] : 0; }
int engine_year_of(const engine *e, int64_t t) { return e->year && t > 0 && t < e->a.T ? e->year[t] : 0; }

/* ---- the candidate pool ---- */

rec_cand *rec_pool_add(rec_pool *p, int64_t t)
{
	if (p->slot[t])
		return &p->c[p->slot[t] - 1];
	rec_cand *nc = array_grow(p->c, &p->cap, p->n + 1, sizeof(rec_cand), 256);
	if (nc == NULL)
		return NULL;
	p->c = nc;
	rec_cand *c = &p->c[p->n++];
	c->track = t;
	c->row = p->track_row[t];
	c->content = c->cooc = c->als = c->ease = c->rp3 = NAN;
	c->score = 0;
	p->slot[t] = (int64_t)p->n;
	return c;
}

int rec_pool_has(const rec_pool *p, int64_t t) { return p->slot[t] != 0; }

/* ---- one request ---- */

static scratch *thread_scratch(const engine *ce)
{
	engine *e = (engine *)ce; /* only the scratch list changes, under the lock */
	for (int i = 0; i < TL_SCRATCHES; i++)
		if (tl_engine_id[i] == e->id)
			return tl_scratch[i];
	scratch *sc = calloc(1, sizeof(*sc));
	if (sc == NULL)
		return NULL;
	sc->blocked = calloc((size_t)e->a.T, 1);
	sc->rowbits = calloc(KNN_BITMAP_BYTES(e->a.N) + 1, 1);
	sc->slot = calloc((size_t)e->a.T, sizeof(int64_t));
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
	tl_scratch[tl_next] = sc;
	tl_engine_id[tl_next] = e->id;
	tl_next = (tl_next + 1) % TL_SCRATCHES;
	return sc;
}

void *rec__buf(const rec_query *q, enum rec__slot s, size_t bytes, void **own)
{
	*own = NULL;
	if (bytes == 0)
		bytes = 1;
	if (q->work == NULL)
		return *own = malloc(bytes);
	struct rec_work *w = q->work;
	if (w->slot[s].cap >= bytes)
		return w->slot[s].p;
	size_t cap = w->slot[s].cap ? w->slot[s].cap : 256;
	while (cap < bytes)
		cap *= 2;
	void *p = realloc(w->slot[s].p, cap);
	if (p == NULL)
		return NULL;
	if (s == REC__W_REACH_SEEN)
		memset((char *)p + w->slot[s].cap, 0, cap - w->slot[s].cap);
	w->slot[s].p = p;
	w->slot[s].cap = cap;
	return p;
}

/* One request on its way through the stages. `q` is what the recommender
 * sees; the writable pointers below are the same buffers. */
typedef struct request {
	const engine *e;
	const rec_request *r;
	const recommender *model;
	const void *state;     /* the model's, from engine_open */
	struct rec_work *work; /* the thread scratch's buffers */
	rec_query q;
	uint8_t *blocked;    /* [T] 1 = never recommend (seeds, known); thread scratch */
	uint8_t *rowbits;    /* knn exclude bitmap over rows; thread scratch */
	float *query;        /* [D] content query, unit length, or NULL */
	float *mood;         /* [D] mood target, or NULL */
	uint8_t *mood_mask;  /* [D] */
	int32_t *seed_rows;  /* [nseeds] content rows of the seeds (-1) */
	int32_t *seed_items; /* [nseeds] CF items of the seeds */
	size_t nseed_items;
	rec_pool pool;   /* slot is thread scratch */
	rerank_cand *rr; /* [C] re-ranking input */
	size_t *order;   /* [k] pool indices of the picks, best first */
	size_t n;        /* picks */
	int filtered;    /* a genre or year filter blocked tracks all over blocked/rowbits */
} request;

/* Blocks track t and, when the model has song keys, every other version of
 * its song. */
static void block_song(request *x, int64_t t)
{
	const engine *e = x->e;
	if (t <= 0 || t >= e->a.T)
		return;
	int64_t u = t;
	do {
		x->blocked[u] = 1;
		if (e->track_row[u] >= 0)
			knn_bitmap_set(x->rowbits, (size_t)e->track_row[u]);
		u = e->song_next ? e->song_next[u] : t;
	} while (u != t);
}

/* Undoes block_song (the bitmap a byte at a time: every bit set in it is
 * being cleared anyway). */
static void unblock_song(request *x, int64_t t)
{
	const engine *e = x->e;
	if (t <= 0 || t >= e->a.T)
		return;
	int64_t u = t;
	do {
		x->blocked[u] = 0;
		if (e->track_row[u] >= 0)
			x->rowbits[(size_t)e->track_row[u] >> 3] = 0;
		u = e->song_next ? e->song_next[u] : t;
	} while (u != t);
}

/* Checks the filters of the request and blocks every track they leave
 * out: those without one of the asked genres, those released outside the
 * years (or in an unknown year). One pass over the track ids: a filtered
 * request costs that much more, and its scratch is cleared whole. */
static int resolve_filters(request *x, seg_error *err)
{
	const engine *e = x->e;
	const rec_request *r = x->r;
	const feat_spec *spec = e->a.spec;
	uint32_t want = 0;
	for (size_t i = 0; i < r->ngenres; i++) {
		uint32_t g = 0;
		while (g < spec->ngenres && strcasecmp(spec->genres[g], r->genres[i] ? r->genres[i] : "") != 0)
			g++;
		if (g >= spec->ngenres) {
			char known[400];
			size_t kn = 0;
			known[0] = '\0';
			for (uint32_t k = 0; k < spec->ngenres && kn < sizeof known; k++) {
				int w = snprintf(known + kn, sizeof known - kn, "%s%s", k ? ", " : "", spec->genres[k]);
				kn += w > 0 ? (size_t)w : 0;
			}
			return seg_error_set(err, SEG_EINVAL,
			                     "genre '%.100s' is not in the model's genre vocabulary (%s)",
			                     r->genres[i] ? r->genres[i] : "", known);
		}
		want |= 1u << g;
	}
	int lo = r->year_min, hi = r->year_max;
	if ((lo != 0 && (lo < REC_YEAR_MIN || lo > REC_YEAR_MAX)) ||
	    (hi != 0 && (hi < REC_YEAR_MIN || hi > REC_YEAR_MAX)))
		return seg_error_set(err, SEG_EINVAL, "a year must be between %d and %d", REC_YEAR_MIN, REC_YEAR_MAX);
	if (lo != 0 && hi != 0 && lo > hi)
		return seg_error_set(err, SEG_EINVAL, "year_min (%d) is after year_max (%d)", lo, hi);
	int years = lo != 0 || hi != 0;
	if (years && e->year == NULL)
		return seg_error_set(
			err, SEG_EINVAL,
			"this model was trained before years were recorded; run segue train to filter by year");
	if (r->ngenres == 0 && !years)
		return 0;
	x->filtered = 1;
	for (int64_t t = 1; t < e->a.T; t++) {
		int32_t row = e->track_row[t];
		int pass = r->ngenres == 0 || (row >= 0 && (e->genre_bits[row] & want) != 0);
		if (pass && years) {
			int y = e->year[t];
			pass = y != 0 && (lo == 0 || y >= lo) && (hi == 0 || y <= hi);
		}
		if (!pass) {
			x->blocked[t] = 1;
			if (row >= 0)
				knn_bitmap_set(x->rowbits, (size_t)row);
		}
	}
	return 0;
}

/* Resolves the request: blocks the seeds and excluded tracks, turns the
 * seeds into a content query and CF items, parses the mood (its target lives
 * in the model's unnormalised space), and refuses a model that needs seeds
 * or a mood given neither. */
static int stage_resolve(request *x, seg_error *err)
{
	const engine *e = x->e;
	const rec_request *r = x->r;
	size_t D = e->a.D;
	int rc = resolve_filters(x, err);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < r->nexclude; i++)
		if (r->exclude[i] > 0 && r->exclude[i] < e->a.T) {
			x->blocked[r->exclude[i]] = 1;
			if (e->track_row[r->exclude[i]] >= 0)
				knn_bitmap_set(x->rowbits, (size_t)e->track_row[r->exclude[i]]);
		}
	/* The seeds and the dislikes, with every version of their songs, are
	 * blocked; the content query is the seeds' mean vector, moved away
	 * from the dislikes' mean (REC_DISLIKE_WEIGHT). */
	void *own;
	rec_query wq = {.work = x->work};
	float *q = rec__buf(&wq, REC__W_QUERY, 2 * sizeof(float) * (D ? D : 1), &own);
	float *dq = q ? q + (D ? D : 1) : NULL;
	if (q != NULL)
		memset(q, 0, 2 * sizeof(float) * (D ? D : 1));
	x->query = q;
	int nq = 0, nd = 0;
	for (size_t s = 0; s < r->nseeds; s++) {
		int64_t t = r->seeds[s];
		x->seed_rows[s] = -1;
		if (t <= 0 || t >= e->a.T)
			continue;
		block_song(x, t);
		x->seed_rows[s] = e->track_row[t];
		if (x->seed_rows[s] >= 0 && q) {
			const float *v = e->a.vec + (size_t)x->seed_rows[s] * D;
			for (size_t d = 0; d < D; d++)
				q[d] += v[d];
			nq++;
		}
		if (e->track_item[t] >= 0)
			x->seed_items[x->nseed_items++] = e->track_item[t];
	}
	for (size_t s = 0; s < r->ndislikes; s++) {
		int64_t t = r->dislikes[s];
		if (t <= 0 || t >= e->a.T)
			continue;
		block_song(x, t);
		if (e->track_row[t] >= 0 && dq) {
			const float *v = e->a.vec + (size_t)e->track_row[t] * D;
			for (size_t d = 0; d < D; d++)
				dq[d] += v[d];
			nd++;
		}
	}
	if (nq > 0 && nd > 0 && q && dq)
		for (size_t d = 0; d < D; d++)
			q[d] = q[d] / (float)nq - REC_DISLIKE_WEIGHT * dq[d] / (float)nd;
	if (nq == 0 || q == NULL) {
		x->query = NULL;
	} else {
		knn_vec_normalize(q, D);
	}
	if (r->mood != NULL) {
		x->mood = calloc(D, sizeof(float));
		x->mood_mask = calloc(D, 1);
		if (!x->mood || !x->mood_mask)
			return seg_error_set(err, SEG_ENOMEM, "out of memory");
		if ((rc = feat_mood(e->a.spec, r->mood, x->mood, x->mood_mask, err)) < 0)
			return rc;
		if (x->query != NULL) {
			/* Seeds and a mood: the seeds' direction with the mood's values
			 * on the dimensions it names, at a typical vector length. */
			float len = 0;
			for (size_t s = 0; s < r->nseeds; s++)
				if (x->seed_rows[s] >= 0)
					len += e->a.norm[x->seed_rows[s]];
			len /= (float)(nq ? nq : 1);
			for (size_t d = 0; d < D; d++)
				x->query[d] = x->mood_mask[d] ? x->mood[d] : x->query[d] * len;
			knn_vec_normalize(x->query, D);
		}
	}
	if (r->nseeds == 0 && r->mood == NULL && (x->model->flags & REC_NEEDS_QUERY)) {
		if (!(x->model->flags & REC_USES_TITLE))
			return seg_error_set(err, SEG_EINVAL, "give at least one seed track or a mood");
		if (r->title == NULL || r->title[0] == '\0')
			return seg_error_set(err, SEG_EINVAL, "give at least one seed track, a mood or a title");
	}
	x->q = (rec_query){
		.e = e,
		.a = &e->a,
		.r = r,
		.blocked = x->blocked,
		.rowbits = x->rowbits,
		.query = x->query,
		.mood = x->mood,
		.mood_mask = x->mood_mask,
		.seed_rows = x->seed_rows,
		.seed_items = x->seed_items,
		.nseed_items = x->nseed_items,
		.work = x->work,
	};
	return 0;
}

/* Squared distance of content row `row` from the mood target over the
 * dimensions the mood names, in the model's unnormalised units. */
static float mood_dist2(const request *x, size_t row)
{
	const rec_artifact *a = &x->e->a;
	float d2 = 0;
	for (size_t d = 0; d < a->D; d++)
		if (x->mood_mask[d]) {
			float diff = a->vec[row * a->D + d] * a->norm[row] - x->mood[d];
			d2 += diff * diff;
		}
	return d2;
}

/* Number of dimensions the mood names. */
static size_t mood_dims(const request *x)
{
	size_t n = 0;
	for (size_t d = 0; d < x->e->a.D; d++)
		n += x->mood_mask[d] != 0;
	return n;
}

/* With seeds and a mood: adds the `want` unblocked tracks nearest the mood
 * to the pool (those already there are left as they are), with their
 * content evidence (cosine to the query) when there is a query. */
static int mood_retrieve(request *x, size_t want, seg_error *err)
{
	const rec_artifact *a = &x->e->a;
	topk_hit *best = malloc(sizeof(topk_hit) * (want ? want : 1)); /* best first, ties by row */
	if (best == NULL)
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	topk sel;
	topk_init(&sel, best, want);
	for (size_t i = 0; i < a->N && want > 0; i++) {
		if (x->blocked[a->row_track[i]])
			continue;
		float s = -mood_dist2(x, i);
		if (topk_admits(&sel, i, s))
			topk_push(&sel, i, s);
	}
	size_t nb = topk_finish(&sel);
	for (size_t j = 0; j < nb; j++) {
		int64_t t = a->row_track[best[j].row];
		if (rec_pool_has(&x->pool, t))
			continue;
		rec_cand *c = rec_pool_add(&x->pool, t);
		if (c == NULL) {
			free(best);
			return seg_error_set(err, SEG_ENOMEM, "out of memory");
		}
		if (x->query != NULL) {
			const float *v = a->vec + best[j].row * a->D;
			float dot = 0;
			for (size_t d = 0; d < a->D; d++)
				dot += v[d] * x->query[d];
			c->content = dot;
			c->score = dot;
		}
	}
	free(best);
	return 0;
}

/* Retrieves the candidates from the chosen recommender: k of them, or the
 * larger pool that re-ranking chooses from; with seeds and a mood, also the
 * tracks nearest the mood (mood_retrieve). */
static int stage_retrieve(request *x, seg_error *err)
{
	const rec_request *r = x->r;
	size_t want = r->k;
	if (r->rerank)
		want = r->pool > r->k ? r->pool : r->k * 5 > 100 ? r->k * 5 : 100;
	int rc = x->model->propose(&x->q, x->state, want, &x->pool, err);
	if (rc < 0 || x->mood == NULL || x->r->nseeds == 0)
		return rc;
	return mood_retrieve(x, want, err);
}

/* The finite values of one kind of evidence over the pool, scaled to 0..1:
 * by the maximum, or min-max when some are negative. */
typedef struct range {
	float lo, hi;
} range;

static void range_add(range *g, float v)
{
	if (!isnan(v)) {
		g->lo = v < g->lo ? v : g->lo;
		g->hi = v > g->hi ? v : g->hi;
	}
}

static void range_scale(const range *g, float *v)
{
	if (g->hi == -INFINITY || isnan(*v))
		return;
	float base = g->lo < 0 ? g->lo : 0, width = g->hi - base;
	*v = width > 0 ? (*v - base) / width : 1.0f;
}

/* Blends: scales every kind of evidence over the pool to 0..1, so that the
 * explanations and the model's blend compare like with like, then lets the
 * model turn the evidence into one score; with seeds and a mood, blends that
 * score with the closeness to the mood (MOOD_WEIGHT). */
static void stage_blend(request *x)
{
	rec_pool *p = &x->pool;
	range content = {INFINITY, -INFINITY}, cooc = content, als = content, ease = content, rp3 = content;
	for (size_t i = 0; i < p->n; i++) {
		range_add(&content, p->c[i].content);
		range_add(&cooc, p->c[i].cooc);
		range_add(&als, p->c[i].als);
		range_add(&ease, p->c[i].ease);
		range_add(&rp3, p->c[i].rp3);
	}
	for (size_t i = 0; i < p->n; i++) {
		range_scale(&content, &p->c[i].content);
		range_scale(&cooc, &p->c[i].cooc);
		range_scale(&als, &p->c[i].als);
		range_scale(&ease, &p->c[i].ease);
		range_scale(&rp3, &p->c[i].rp3);
	}
	if (x->model->blend)
		x->model->blend(&x->q, x->state, p);
	if (x->mood == NULL || x->r->nseeds == 0)
		return;
	/* Seeds and a mood: the model's score scaled over the pool, blended with
	 * the closeness to the mood (1 at the target, 1/2 at one unit of RMS
	 * distance; 0 without a content row). */
	range sc = {INFINITY, -INFINITY};
	for (size_t i = 0; i < p->n; i++)
		range_add(&sc, p->c[i].score);
	size_t nd = mood_dims(x);
	for (size_t i = 0; i < p->n; i++) {
		rec_cand *c = &p->c[i];
		float s = isnan(c->score) ? 0 : c->score;
		range_scale(&sc, &s);
		float close = 0;
		if (c->row >= 0 && nd > 0)
			close = 1.0f / (1.0f + mood_dist2(x, (size_t)c->row) / (float)nd);
		c->score = (1 - MOOD_WEIGHT) * s + MOOD_WEIGHT * close;
	}
}

static float score_of(const rec_cand *c) { return isnan(c->score) ? -INFINITY : c->score; }

/* The pool indices of the candidates that stand for their song into
 * keep[C], in pool order; returns how many. Of several versions of one song
 * in the pool, the best scored stands (on a tie, the one added first). */
static size_t songs_keep(const request *x, size_t *keep)
{
	const engine *e = x->e;
	const rec_pool *p = &x->pool;
	size_t n = 0;
	for (size_t i = 0; i < p->n; i++) {
		int64_t t = p->c[i].track;
		float si = score_of(&p->c[i]);
		int stands = 1;
		for (int64_t u = e->song_next ? e->song_next[t] : t; u != t && stands; u = e->song_next[u]) {
			if (p->slot[u] == 0)
				continue;
			size_t j = (size_t)(p->slot[u] - 1);
			float sj = score_of(&p->c[j]);
			stands = !(sj > si || (sj == si && j < i));
		}
		if (stands)
			keep[n++] = i;
	}
	return n;
}

/* Selects the k picks into x->order: one version per song (songs_keep),
 * then by re-ranking (relevance, diversity, novelty, quality, the artist
 * cap), or by score alone. */
static int stage_select(request *x, const char **shortfall, seg_error *err)
{
	const engine *e = x->e;
	const rec_request *r = x->r;
	rec_pool *p = &x->pool;
	void *own; /* NULL: the buffers are the thread's (x->work is set) */
	x->order = rec__buf(&x->q, REC__W_ORDER, sizeof(size_t) * r->k, &own);
	size_t *keep = rec__buf(&x->q, REC__W_KEEP, sizeof(size_t) * (p->n ? p->n : 1),
	                        &own); /* [C'] pool index of each kept candidate */
	if (x->order == NULL || keep == NULL)
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	size_t C = songs_keep(x, keep);
	if (r->rerank && C > 0) {
		x->rr = rec__buf(&x->q, REC__W_RERANK, sizeof(rerank_cand) * C, &own);
		void *rs = rec__buf(&x->q, REC__W_RERANK_RUN, rerank_scratch_size(C), &own);
		if (x->rr == NULL || rs == NULL)
			return seg_error_set(err, SEG_ENOMEM, "out of memory");
		float smax = 0;
		for (size_t i = 0; i < C; i++)
			smax = p->c[keep[i]].score > smax ? p->c[keep[i]].score : smax;
		for (size_t i = 0; i < C; i++) {
			const rec_cand *c = &p->c[keep[i]];
			double info = -log2(((double)e->a.track_pop[c->track] + 1) / (e->pop_total + 1));
			x->rr[i] = (rerank_cand){
				.track = c->track,
				.row = c->row,
				.artist = e->a.track_artist[c->track],
				.relevance = smax > 0 ? c->score / smax : 0,
				.novelty = e->max_info > 0 ? (float)(info / e->max_info) : 0,
				.quality = c->row >= 0 && !isnan(e->a.predicted[c->row])
			                           ? e->a.predicted[c->row] / 100.0f
			                           : NAN,
			};
		}
		rerank_opts ro = {.k = r->k,
		                  .diversity = r->diversity,
		                  .novelty = r->novelty,
		                  .quality = r->quality,
		                  .max_per_artist = r->max_per_artist,
		                  .vectors = e->a.vec,
		                  .dim = e->a.D};
		enum rerank_shortfall sf = rerank_run_in(x->rr, C, &ro, x->order, &x->n, rs);
		if (shortfall)
			*shortfall = rerank_shortfall_text(sf);
		for (size_t j = 0; j < x->n; j++) {
			size_t o = x->order[j];
			x->order[j] = keep[o];
			p->c[keep[o]].score = x->rr[o].final;
		}
	} else {
		/* The k best by score, ties by track id (core/topk's order, with
		 * the track as the row), read back through the pool's slots. */
		topk_hit *h = rec__buf(&x->q, REC__W_TOPK, sizeof(topk_hit) * (C ? C : 1), &own);
		if (h == NULL)
			return seg_error_set(err, SEG_ENOMEM, "out of memory");
		for (size_t i = 0; i < C; i++)
			h[i] = (topk_hit){(size_t)p->c[keep[i]].track, p->c[keep[i]].score};
		x->n = topk_select(h, C, r->k);
		for (size_t j = 0; j < x->n; j++)
			x->order[j] = (size_t)(p->slot[h[j].row] - 1);
		if (x->n < r->k && shortfall)
			*shortfall = rerank_shortfall_text(RERANK_FEW_CANDIDATES);
	}
	return 0;
}

/* The reasons every pick can have, from its evidence and the request: close
 * in sound to a seed (with the features they share), often with the seeds in
 * playlists, a hidden gem, a genre new to the seeds, the mood. */
static void explain_shared(const request *x, rec_item *it)
{
	const engine *e = x->e;
	const rec_artifact *a = &e->a;
	int32_t row = e->track_row[it->track];
	it->near_seed = -1;
	it->new_genre = -1;
	for (int m = 0; m < REC_MATCHES; m++)
		it->match[m] = -1;
	it->cluster = row >= 0 ? e->labels[row] : -1;
	it->predicted = row >= 0 ? a->predicted[row] : NAN;
	it->popularity = row >= 0 ? a->popularity[row] : NAN;
	if (!isnan(it->cf) && it->cf > 0)
		it->reasons |= REASON_CF;
	if (!isnan(it->predicted) && it->predicted >= GEM_MIN_PREDICTED &&
	    (isnan(it->popularity) ? 0 : it->predicted - it->popularity >= GEM_GAP))
		it->reasons |= REASON_GEM;
	if (row < 0)
		return;
	const float *v = a->vec + (size_t)row * a->D;
	/* The nearest seed in sound, and the features they share. */
	float best = -2;
	for (size_t s = 0; s < x->r->nseeds; s++) {
		int32_t sr = x->seed_rows[s];
		if (sr < 0)
			continue;
		const float *sv = a->vec + (size_t)sr * a->D;
		float dot = 0;
		for (size_t d = 0; d < a->D; d++)
			dot += v[d] * sv[d];
		if (dot > best) {
			best = dot;
			it->near_seed = (int32_t)s;
		}
	}
	if (it->near_seed >= 0 && !isnan(it->content)) {
		it->reasons |= REASON_CONTENT;
		const float *sv = a->vec + (size_t)x->seed_rows[it->near_seed] * a->D;
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
		/* A genre none of the seeds has: the seeds' genres are known only
		 * through their vectors, so every seed must have one; a genre in the
		 * vocabulary that no seed's vector marks is then one no seed has. */
		int all_known = 1, seeds_genres = 0;
		for (size_t s = 0; s < x->r->nseeds; s++)
			if (x->seed_rows[s] < 0)
				all_known = 0;
		for (uint32_t g = 0; all_known && g < a->spec->ngenres; g++) {
			int in_seed = 0;
			for (size_t s = 0; s < x->r->nseeds; s++)
				if (a->vec[(size_t)x->seed_rows[s] * a->D + FD_GENRE0 + g] > 0)
					in_seed = 1;
			seeds_genres |= in_seed;
			if (v[FD_GENRE0 + g] > 0 && !in_seed && it->new_genre < 0)
				it->new_genre = (int16_t)g;
		}
		if (it->new_genre >= 0 && seeds_genres)
			it->reasons |= REASON_NEW_GENRE;
		else
			it->new_genre = -1;
	}
	if (x->mood != NULL) {
		size_t nd = mood_dims(x);
		if (nd > 0 && mood_dist2(x, (size_t)row) <= MOOD_CLOSE * MOOD_CLOSE * (float)nd)
			it->reasons |= REASON_MOOD;
	}
}

/* Writes the picks to out[n] with their evidence and reasons: the shared
 * ones, and what the model adds. */
static void stage_explain(const request *x, rec_item *out)
{
	for (size_t j = 0; j < x->n; j++) {
		const rec_cand *c = &x->pool.c[x->order[j]];
		rec_item *it = &out[j];
		memset(it, 0, sizeof(*it));
		it->track = c->track;
		it->score = c->score;
		it->content = c->content;
		it->cf = rec_cand_cf(c);
		explain_shared(x, it);
		if (x->model->explain)
			it->reasons |= x->model->explain(&x->q, x->state, it);
	}
}

/* Leaves the thread's scratch zeroed (undoing exactly what was set) and
 * frees the request's buffers. */
static void request_end(request *x)
{
	const engine *e = x->e;
	const rec_request *r = x->r;
	if (x->blocked != NULL && x->filtered) {
		memset(x->blocked, 0, (size_t)e->a.T);
		memset(x->rowbits, 0, KNN_BITMAP_BYTES(e->a.N) + 1);
	} else if (x->blocked != NULL) {
		for (size_t s = 0; s < r->nseeds; s++)
			unblock_song(x, r->seeds[s]);
		for (size_t s = 0; s < r->ndislikes; s++)
			unblock_song(x, r->dislikes[s]);
		for (size_t s = 0; s < r->nexclude; s++) {
			int64_t t = r->exclude[s];
			if (t > 0 && t < e->a.T) {
				x->blocked[t] = 0;
				if (e->track_row[t] >= 0)
					x->rowbits[(size_t)e->track_row[t] >> 3] = 0;
			}
		}
	}
	for (size_t i = 0; x->pool.slot && i < x->pool.n; i++)
		x->pool.slot[x->pool.c[i].track] = 0;
	/* The pool's array goes back to the thread (it may have moved as it
	 * grew); the other buffers are the thread's, but the mood's. */
	if (x->work != NULL) {
		x->work->slot[REC__W_POOL].p = x->pool.c;
		x->work->slot[REC__W_POOL].cap = x->pool.cap * sizeof(rec_cand);
	} else {
		free(x->pool.c);
	}
	free(x->mood);
	free(x->mood_mask);
}

int engine_recommend(const engine *e, const rec_request *r, rec_item *out, size_t *nout, const char **shortfall,
                     seg_error *err)
{
	*nout = 0;
	if (shortfall)
		*shortfall = "";
	if (r->k == 0)
		return 0;
	if (r->model < 0 || (size_t)r->model >= e->nmodels)
		return seg_error_set(err, SEG_EINVAL,
		                     "model %d is not one this engine knows (%zu registered when it opened)", r->model,
		                     e->nmodels);
	request x;
	memset(&x, 0, sizeof x);
	x.e = e;
	x.r = r;
	x.model = recommender_get(r->model);
	x.state = e->model_state[r->model];
	scratch *sc = thread_scratch(e);
	if (sc != NULL) {
		x.blocked = sc->blocked;
		x.rowbits = sc->rowbits;
		x.pool.slot = sc->slot;
		x.work = &sc->work;
		x.q.work = x.work;
		/* The pool's array from the last request, emptied. */
		x.pool.c = sc->work.slot[REC__W_POOL].p;
		x.pool.cap = sc->work.slot[REC__W_POOL].cap / sizeof(rec_cand);
		void *own;
		x.seed_rows = rec__buf(&x.q, REC__W_SEEDS, 2 * sizeof(int32_t) * (r->nseeds + 1), &own);
		x.seed_items = x.seed_rows ? x.seed_rows + (r->nseeds + 1) : NULL;
	}
	x.pool.track_row = e->track_row;
	int rc;
	if (!x.blocked || !x.rowbits || !x.pool.slot || !x.seed_rows || !x.seed_items)
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
	else if ((rc = stage_resolve(&x, err)) == 0 && (rc = stage_retrieve(&x, err)) == 0) {
		stage_blend(&x);
		if ((rc = stage_select(&x, shortfall, err)) == 0) {
			stage_explain(&x, out);
			*nout = x.n;
		}
	}
	request_end(&x);
	return rc;
}

int rec_query_propose(const rec_query *q, const char *name, size_t want, rec_pool *pool, seg_error *err)
{
	int id = recommender_find(name);
	if (id < 0 || (size_t)id >= q->e->nmodels)
		return seg_error_set(err, SEG_EINVAL, "no recommender '%s' in this engine", name);
	return recommender_get(id)->propose(q, q->e->model_state[id], want, pool, err);
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
		const char *g = it->new_genre >= 0 && (uint32_t)it->new_genre < e->a.spec->ngenres
		                        ? e->a.spec->genres[it->new_genre]
		                        : NULL;
		put(buf, cap, &n, n ? "; " : "", "from a genre new to your seeds", g ? " (" : "", g ? g : "",
		    g ? ")" : "", (char *)NULL);
	}
	if (it->reasons & REASON_GEM) {
		char num[64];
		snprintf(num, sizeof num, "%.0f, actual %.0f", it->predicted, it->popularity);
		put(buf, cap, &n, n ? "; " : "", "hidden gem: predicted popularity ", num, (char *)NULL);
	}
	if (it->reasons & REASON_TITLE)
		put(buf, cap, &n, n ? "; " : "", "in playlists titled like yours", (char *)NULL);
	if (it->reasons & REASON_POPULAR)
		put(buf, cap, &n, n ? "; " : "", "among the most played in playlists", (char *)NULL);
	if (it->reasons & REASON_RANDOM)
		put(buf, cap, &n, n ? "; " : "", "picked at random", (char *)NULL);
	return (int)n;
}

const void *rec__state(const rec_query *q, const char *name)
{
	int id = recommender_find(name);
	if (id < 0 || (size_t)id >= q->e->nmodels)
		return NULL;
	return q->e->model_state[id];
}
