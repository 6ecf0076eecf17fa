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
	REASON_TITLE = 1 << 7,     /* in training playlists whose titles share words with the request's */
	REASON__BITS = 8
};
/* The machine-readable code of each reason bit, by bit index:
 * rec_reason_codes[b] names 1 << b ("content", "cf", "gem", "new_genre",
 * "popular", "mood", "random", "title"). */
extern const char *const rec_reason_codes[REASON__BITS];

/* The hybrid's blend: the weight of each kind of evidence (each scaled to
 * 0..1 over the pool) in its score. Only their ratios matter; a model with
 * weight 0 is not asked for candidates. Plain data. */
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
	uint64_t seed;     /* for the random baseline */
	size_t pool;       /* candidates re-ranking chooses from; 0 = max(5k, 100) */
	const char *title; /* the playlist's title, or NULL; read by models flagged REC_USES_TITLE */
	/* Tracks the listener dislikes: never returned, nor their other
	 * versions; with seeds that have audio features, the content query
	 * moves away from them: query = normalise(mean(seed vectors) -
	 * REC_DISLIKE_WEIGHT * mean(dislike vectors)) (dislikes without
	 * features only exclude). */
	const int64_t *dislikes; /* [ndislikes] track ids */
	size_t ndislikes;
	/* Filters: only tracks with at least one of these genres (names from
	 * the model's genre vocabulary, engine_spec()->genres, any case; a name
	 * not in it is SEG_EINVAL), and released in year_min..year_max (each
	 * 1900..2100, 0 = no bound; SEG_EINVAL otherwise or when min > max; a
	 * track of unknown year is dropped when either bound is set). NULL/0:
	 * no filter. Tracks without audio features have no known genre. */
	const char *const *genres; /* [ngenres] */
	size_t ngenres;
	int year_min, year_max;
	const hybrid_weights *hybrid; /* NULL = the artifact's (as tuned); weights not >= 0
	                               * with a positive sum are refused (SEG_EINVAL) */
	/* The content search: 0 = exact (the default); N = at most N clusters of
	 * the index, those nearest the query first (knn_search_probe: faster,
	 * approximate; bench/knn states its recall at each budget). At most
	 * REC_KNN_PROBE_MAX. */
	size_t knn_probe;
} rec_request;
#define REC_KNN_PROBE_MAX 100000

/* How far dislikes push the content query (see rec_request.dislikes). */
#define REC_DISLIKE_WEIGHT 0.5f
#define REC_YEAR_MIN 1900
#define REC_YEAR_MAX 2100

/* Fills defaults: the model RECOMMENDER_DEFAULT names (the hybrid), k 10,
 * re-ranking on with the re-ranking defaults below, quality 0.1. */
void rec_request_default(rec_request *r);
/* The re-ranking defaults rec_request_default hands out: diversity 0.3,
 * novelty 0.1, two tracks per artist until set here, which the server and
 * `segue recommend` do at start-up from what `segue tune` chose on
 * validation (tune_use_rerank_defaults), so that they serve what `segue
 * evaluate` scored. Not thread-safe: set before threads start. Values out
 * of range (diversity 0..1, novelty 0..10, cap 0..100) are ignored. */
void rec_request_set_rerank_defaults(float diversity, float novelty, int max_per_artist);
/* The knn_probe rec_request_default gives every request from now on (0 =
 * exact; above REC_KNN_PROBE_MAX is ignored): `segue serve --knn-probe`.
 * Call before requests are served. */
void rec_request_set_knn_probe_default(size_t probe);

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
 * *shortfall (may be NULL) a sentence when fewer than k came out. Seeds,
 * disliked and excluded tracks are never returned, nor any other version of
 * a seed's or a disliked track's song (same song key, lookup.h), and of
 * several versions of one song among the picks only the best scored is
 * kept (models trained before song keys were recorded: the tracks
 * themselves only). Filters (genres, years) drop what they exclude before
 * any recommender proposes. SEG_EINVAL for a bad genre or year too, and for
 * a year filter on a model trained before years were recorded. SEG_EINVAL for a model id that is not
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
uint64_t engine_song_of(const engine *e, int64_t track); /* song key, 0 unknown (or an older model) */
int engine_year_of(const engine *e, int64_t track);      /* release year, 0 unknown (or an older model) */

#endif
