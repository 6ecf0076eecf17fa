/* recommend.h: the recommendation engine over one trained model artifact.
 * A request goes through stages: resolve it (seeds, exclusions, the content
 * query, the mood), retrieve candidates from the chosen recommender (one of
 * the registry's, see recommender.h: random, most popular, content
 * similarity, co-occurrence, ALS, the hybrid of content and CF, and any
 * registered at run time), blend their evidence into one score, re-rank
 * (diversity, novelty, quality, artist cap), and explain each pick as reason
 * codes. The artifact is mapped read-only; an engine is shareable between
 * threads. Names and words for humans are the caller's (they come from the
 * catalogue). */
#ifndef SEGUE_RECOMMEND_H
#define SEGUE_RECOMMEND_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "models/featvec.h"

typedef struct engine engine;

/* Reasons, as bits of rec_item.reasons. */
enum {
	REASON_CONTENT = 1 << 0,   /* close to a seed in sound (seed and matching features given) */
	REASON_CF = 1 << 1,        /* often in playlists with the seeds */
	REASON_GEM = 1 << 2,       /* predicted appeal well above its popularity */
	REASON_NEW_GENRE = 1 << 3, /* from a genre none of the seeds has */
	REASON_POPULAR = 1 << 4,   /* among the most played in playlists */
	REASON_MOOD = 1 << 5,      /* close to the asked-for mood (RMS distance <= 0.5 sd) */
	REASON_RANDOM = 1 << 6,    /* picked at random (baseline) */
	REASON__BITS = 7
};
/* The machine-readable code of each reason bit, by bit index:
 * rec_reason_codes[b] names 1 << b ("content", "cf", "gem", "new_genre",
 * "popular", "mood", "random"). */
extern const char *const rec_reason_codes[REASON__BITS];

/* The hybrid's blend: the share of the score each kind of evidence gets
 * (the weights need not sum to 1; the hybrid normalises them). */
typedef struct hybrid_weights {
	float content, cooc, als, ease, rp3;
} hybrid_weights;

typedef struct rec_request {
	int model;            /* registry id (recommender_find); RECOMMENDER_DEFAULT's by default */
	const int64_t *seeds; /* [nseeds] track ids the listener likes */
	size_t nseeds;
	const char *mood;       /* "energy=0.8,valence=0.7" or NULL */
	size_t k;               /* results wanted */
	int rerank;             /* apply MMR/novelty/quality/artist cap */
	float diversity;        /* MMR λ, 0..1 */
	float novelty;          /* novelty weight, >= 0 */
	float quality;          /* quality weight, >= 0 */
	int max_per_artist;     /* 0 = no cap */
	const int64_t *exclude; /* [nexclude] tracks the listener already knows */
	size_t nexclude;
	uint64_t seed;                /* for the random baseline */
	size_t pool;                  /* candidates re-ranking chooses from; 0 = max(5k, 100) */
	const hybrid_weights *hybrid; /* the hybrid's blend; NULL = the artifact's weights */
	const char *title;            /* the playlist's title, for models that read one, or NULL */
} rec_request;

/* Fills defaults: the model RECOMMENDER_DEFAULT names (the hybrid), k 10, re-ranking on, diversity 0.3, novelty 0.1,
 * quality 0.1, two tracks per artist. */
void rec_request_default(rec_request *r);

#define REC_MATCHES 3

typedef struct rec_item {
	int64_t track;             /* tracks.id */
	float score;               /* final score (higher first) */
	float content;             /* content similarity to the seeds, NaN when none */
	float cf;                  /* collaborative score, normalised 0..1, NaN when none */
	float predicted;           /* predicted popularity 0..100, NaN when unknown */
	float popularity;          /* catalogue popularity, NaN when unknown */
	uint32_t reasons;          /* REASON_* bits */
	int32_t near_seed;         /* index into the request's seeds, -1 */
	int8_t match[REC_MATCHES]; /* feature dimensions (enum feat_dim) shared with near_seed, -1 */
	int32_t cluster;           /* sonic-map cluster, -1 */
	int16_t new_genre;         /* genre vocabulary index no seed has (REASON_NEW_GENRE), -1 */
} rec_item;

/* Opens the artifact at `path` (see train.h for its sections). A corrupt,
 * truncated or version-mismatched file is refused with a clear message. */
int engine_open(engine **out, const char *path, seg_error *err);
void engine_free(engine *e);

/* Recommends up to r->k tracks into out[r->k]; *nout receives the count and
 * *shortfall (may be NULL) a sentence when fewer than k came out. Seeds and
 * excluded tracks are never returned. SEG_EINVAL for a model id that is not
 * registered (or was registered after the engine opened), for a model that
 * needs seeds or a mood given neither, and for a bad mood. */
int engine_recommend(const engine *e, const rec_request *r, rec_item *out, size_t *nout, const char **shortfall,
                     seg_error *err);

/* Writes the reasons of `it` as one line of text ("sounds like X (same energy
 * and tempo); often in playlists with your seeds"); seed_names[nseeds] name
 * the request's seeds. Returns the length. */
int rec_reason_text(const engine *e, const rec_item *it, const char *const *seed_names, size_t nseeds, char *buf,
                    size_t cap);

/* Accessors for callers that explain, map or evaluate. */
const char *engine_meta_json(const engine *e);
const feat_spec *engine_spec(const engine *e);
size_t engine_rows(const engine *e);
int32_t engine_row_of(const engine *e, int64_t track); /* content row or -1 */
int64_t engine_track_of(const engine *e, size_t row);
const float *engine_vector(const engine *e, size_t row);        /* [dim], unit length */
int32_t engine_artist_of(const engine *e, int64_t track);       /* -1 unknown */
uint32_t engine_playlist_count(const engine *e, int64_t track); /* training playlists holding it */
int64_t engine_track_limit(const engine *e);                    /* track ids are < this */
int engine_cluster_of(const engine *e, size_t row);
const char *engine_cluster_words(const engine *e, int cluster);
int engine_clusters(const engine *e);
const float *engine_map_xy(const engine *e);         /* [N][2] */
float engine_predicted(const engine *e, size_t row); /* predicted popularity */
float engine_popularity(const engine *e, size_t row);

#endif
