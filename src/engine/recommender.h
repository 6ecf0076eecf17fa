/* recommender.h: the one interface every recommender implements (random,
 * popular, content, cooc, als, ease, rp3beta, hybrid and those to come), and the registry
 * that lists them for the engine, the CLI, evaluate and the server.
 *
 * A recommender is a table of functions: its name and one line saying what it
 * does; how it reads its own sections of the model container when the engine
 * opens an artifact (open/close); how it proposes scored candidates for one
 * request (propose), optionally how it turns the evidence of its candidates
 * into one score (blend); and what it adds to the explanation of a pick
 * (explain). The engine does everything around it: it resolves the request
 * (seeds, exclusions, the content query, the mood), normalises the evidence,
 * re-ranks, and explains what every pick shares (see recommend.h).
 * docs/ADDING-A-MODEL.md walks through adding one.
 *
 * It does not train: `segue train` writes the sections (train.c). */
#ifndef SEGUE_RECOMMENDER_H
#define SEGUE_RECOMMENDER_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/container.h"
#include "core/error.h"
#include "engine/recommend.h"
#include "models/featvec.h"

/* ---- what a recommender reads ---- */

/* The parts of an open artifact that every recommender may read: read-only
 * arrays over the mapped model file (or built when the engine opened it),
 * valid until engine_free. Legend: N content rows (tracks with audio
 * features), D content dimensions, T track ids (they run 1..T-1), I CF items
 * (tracks in training playlists). */
typedef struct rec_artifact {
	const feat_spec *spec; /* the content feature pipeline */
	size_t N, D;
	const int64_t *row_track; /* [N] track id of each content row */
	const float *vec;         /* [N][D] unit-length content vectors */
	const float *norm;        /* [N] length of each vector before normalising */
	const float *popularity;  /* [N] catalogue popularity 0..100, NaN unknown */
	const float *predicted;   /* [N] predicted popularity (quality prior), NaN unknown */
	int64_t T;
	const int32_t *track_row;    /* [T] content row of each track id, -1 */
	const int32_t *track_artist; /* [T] main artist of each track id, -1 */
	const uint32_t *track_pop;   /* [T] training playlists holding each track id */
	int32_t I;                   /* 0 when no collaborative model was trained */
	const int64_t *cf_track;     /* [I] track id of each CF item */
	const int32_t *track_item;   /* [T] CF item of each track id, -1 */
} rec_artifact;

/* One request, resolved by the engine before any recommender sees it. */
typedef struct rec_query {
	const engine *e; /* for rec_query_propose */
	const rec_artifact *a;
	const rec_request *r;      /* as the caller gave it (k, seed, weights) */
	const uint8_t *blocked;    /* [T] 1 = never propose: the seeds and excluded tracks */
	const uint8_t *rowbits;    /* the same tracks as a bitmap over content rows (knn_filter) */
	const float *query;        /* [D] the seeds (and mood) as one unit vector, or NULL */
	const float *mood;         /* [D] mood target in unnormalised units, or NULL: no mood */
	const uint8_t *mood_mask;  /* [D] 1 on the dimensions the mood names */
	const int32_t *seed_rows;  /* [r->nseeds] content row of each seed, -1 */
	const int32_t *seed_items; /* [nseed_items] CF items of the seeds that are items */
	size_t nseed_items;
	struct rec_work *work; /* the engine's per-thread buffers (rec_internal.h, rec__buf), or NULL */
} rec_query;

/* ---- what a recommender writes ---- */

/* A candidate: one track with the evidence for it. Evidence is NaN where it
 * was not computed. After propose (and before blend) the engine scales each
 * kind of evidence over the pool to 0..1; the explanations read it then. */
typedef struct rec_cand {
	int64_t track; /* tracks.id */
	int32_t row;   /* content row or -1 */
	float content; /* cosine to the query, or closeness to the mood */
	float cooc;    /* item co-occurrence score (collaborative) */
	float als;     /* factor-model score (collaborative) */
	float ease;    /* EASE item-weight score (collaborative) */
	float rp3;     /* RP3beta random-walk score (collaborative) */
	float score;   /* the recommender's relevance, higher first */
} rec_cand;

/* A candidate's collaborative evidence as one figure: the mean of the kinds
 * it has (cooc, als, ease, rp3), NaN when it has none. */
static inline float rec_cand_cf(const rec_cand *c)
{
	const float v[] = {c->cooc, c->als, c->ease, c->rp3};
	float sum = 0;
	int n = 0;
	for (size_t k = 0; k < sizeof v / sizeof *v; k++)
		if (!isnan(v[k])) {
			sum += v[k];
			n++;
		}
	return n > 0 ? sum / (float)n : NAN;
}

/* The candidates of one request. Plain struct: read c[0..n) directly; add
 * through rec_pool_add, which keeps one candidate per track. */
typedef struct rec_pool {
	rec_cand *c; /* [n] in the order they were added */
	size_t n, cap;
	int64_t *slot;            /* [T] index+1 into c, 0 = absent (engine scratch) */
	const int32_t *track_row; /* [T] */
} rec_pool;

/* Returns the candidate for `track` (0 < track < T), adding it with every
 * evidence NaN and score 0 when it is new; NULL when out of memory. The
 * pointer is valid until the next rec_pool_add. */
rec_cand *rec_pool_add(rec_pool *p, int64_t track);
/* 1 when `track` is in the pool. */
int rec_pool_has(const rec_pool *p, int64_t track);

/* ---- the interface ---- */

/* Flags of a recommender. */
enum {
	/* Needs seeds or a mood: a request with neither is refused (SEG_EINVAL). */
	REC_NEEDS_QUERY = 1u << 0,
	/* Reads rec_request.title (a playlist's name): a title alone is then
	 * query enough for REC_NEEDS_QUERY. Evaluation runs its title-only case
	 * for the models with this flag. */
	REC_USES_TITLE = 1u << 1,
};

typedef struct recommender {
	const char *name;        /* what --model, evaluate and the API call it: [a-z0-9_+-] */
	const char *description; /* one line, for --help and the API */
	unsigned flags;          /* REC_NEEDS_QUERY, REC_USES_TITLE */
	/* Reads the recommender's own sections of the artifact `f` (through
	 * container_file_section/_require) and builds what it needs, into *state.
	 * An artifact without the sections is not an error: leave *state NULL and
	 * propose nothing. Sections that are there but damaged are (SEG_EFORMAT).
	 * May be NULL: nothing to read. Called once per engine_open. */
	int (*open)(const rec_artifact *a, const container_file *f, void **state, seg_error *err);
	/* Releases what open built; called with a NULL state too. May be NULL. */
	void (*close)(void *state);
	/* Adds up to `want` candidates to `pool`, best first, never a blocked
	 * track (q->blocked), setting the evidence it has and `score`. May touch
	 * candidates already in the pool (the hybrid runs several). Called from
	 * many threads at once: `state` is read-only. */
	int (*propose)(const rec_query *q, const void *state, size_t want, rec_pool *pool, seg_error *err);
	/* Sets `score` of every candidate from its normalised evidence. May be
	 * NULL: the scores propose set stand. */
	void (*blend)(const rec_query *q, const void *state, rec_pool *pool);
	/* REASON_* bits this recommender adds to a pick, beyond those the
	 * evidence gives (recommend.h). May be NULL. */
	uint32_t (*explain)(const rec_query *q, const void *state, const rec_item *it);
} recommender;

/* Runs the propose of the recommender `name` with the state the engine holds
 * for it (how the hybrid draws on content, cooc and als). SEG_EINVAL when no
 * such recommender is registered or it was registered after q->e opened. */
int rec_query_propose(const rec_query *q, const char *name, size_t want, rec_pool *pool, seg_error *err);

/* ---- playlist titles (the title model, rec_title.c, and its training) ----
 * A title is cut into words this way, at training and at request time alike:
 * ASCII letters and digits are lower-cased; an apostrophe (' or U+2019) is
 * dropped inside a word ("don't" -> "dont"); a two-byte UTF-8 letter (lead
 * byte 0xC3-0xDF: accented Latin, Greek, Cyrillic...) is kept as it is; any
 * other character (punctuation, spaces, symbols, emoji, three- and four-byte
 * characters) ends a word. Words of one byte are dropped, and a word of 4 or
 * more bytes ending in a single "s" loses it ("hits" -> "hit", "class"
 * stays). Words longer than REC_TITLE_WORD_MAX - 1 bytes are dropped. */
#define REC_TITLE_WORD_MAX 32
#define REC_TITLE_WORDS_MAX 16
/* The distinct words of `title` (NULL: none), at most max, in order of
 * first appearance, into words[max]. Returns how many. */
size_t rec_title_words(const char *title, char (*words)[REC_TITLE_WORD_MAX], size_t max);

/* The hybrid's blend for an artifact that has no "hybrid" section (one
 * trained before the weights were tuned): content 0.15, cooc and als 0.425
 * each, ease and rp3 0. */
extern const hybrid_weights hybrid_weights_default;
/* 1 when every weight is finite and >= 0 and their sum is positive. */
int hybrid_weights_valid(const hybrid_weights *w);

/* ---- the registry ----
 * The one list of the models segue offers: the CLI, evaluate, the server
 * and its OpenAPI document take their names from here, and nowhere else
 * spells them out. The built-ins are registered before main runs, in this
 * order: random, popular, content, cooc, als, ease, rp3beta, hybrid. Ids are positions in
 * the registry and never change; callers look a model up by name
 * (recommender_find) and keep its id within one run. Registering is not
 * thread-safe: do it at start-up, before engines are opened (an engine knows
 * the recommenders registered when it was opened) and before threads start.
 * Lookups are thread-safe. */

#define RECOMMENDER_MAX 32
/* The model a request gets when it names none (rec_request_default). */
#define RECOMMENDER_DEFAULT "hybrid"

/* Adds `r` (which must outlive the registry: a static) and returns its id;
 * SEG_EINVAL for a missing or malformed name, a name already taken or a
 * missing propose, and when RECOMMENDER_MAX are registered ("the registry
 * is full"). */
int recommender_register(const recommender *r, seg_error *err);
/* Number of registered recommenders; ids run 0..count-1. */
size_t recommender_count(void);
/* The recommender with id `id`, or NULL. */
const recommender *recommender_get(int id);
/* The id of the recommender called `name`, or -1. */
int recommender_find(const char *name);
/* Its name ("?" for an unknown id). */
const char *recommender_name(int id);
/* The registered names joined by `sep` into buf[cap] (cut like snprintf);
 * returns the full length. For messages such as "unknown model 'x' (...)". */
int recommender_names_join(const char *sep, char *buf, size_t cap);
/* The registry as a new JSON array, in id order:
 * [{"name": "random", "description": "...", "needs_query": false}, ...].
 * NULL when out of memory. (The server answers it in GET /api/models.) */
json_t *recommender_list_json(void);

#endif
