/* simulate.h: the listener simulator. Simulated listeners, each a held-out
 * playlist of the workspace (validation or test split, never seen by
 * training), ask a running `segue serve` for recommendations through the
 * real HTTP API, scan the list with a position-based click model, and post
 * what they did as events; on top of that, the study that checks the
 * experiment machinery end to end (A/A false-positive rate, hybrid against
 * popular, an injected effect of known size against the promised power,
 * interleaving against an A/B split). It does not compute statistics of its
 * own: the server's report (analysis.h) does, and the study only reads it.
 *
 * Thread-safety: sim_click, sim_event_id, sim_user_id and the listeners
 * (read-only once loaded) may be used from any thread; a sim_http is one
 * connection and belongs to one thread at a time. */
#ifndef SEGUE_SIMULATE_H
#define SEGUE_SIMULATE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/error.h"
#include "core/rng.h"
#include "core/strbuf.h"
#include "experiment/events.h"
#include "experiment/experiment.h"

/* ---- the click model ----
 *
 * A listener is shown a ranked list of k tracks (rank r = 0, 1, ...). For
 * each rank, independently:
 *   examined      with probability  e(r) = 1 / (1 + r)^eta
 *                 (a position-based model: the top track is always looked
 *                 at, attention decays as a power of the rank);
 *   if examined and the track is one the listener likes (one of the
 *   playlist's hidden tracks):
 *     played      with probability  p_liked = min(1, play_liked * boost),
 *                 boost = 1 except for the injected effect (sim_options);
 *     then, given the play, independently: skipped with probability
 *     skip_liked, liked with probability `like`, saved with probability
 *     `save`;
 *   if examined and not liked:
 *     played      with probability  play_other,
 *     then, given the play, independently: skipped with probability
 *     skip_other, disliked with probability `dislike`.
 * "Played" and "skipped" mean what the dashboard (web/app.js) sends: a play
 * is a track started, a skip a started track abandoned early (within its
 * first 30 s), so a skip always comes with a play of the same track in the
 * same list, and an examined track that is not started leaves no event
 * (it was passed over, not skipped). A track that is not examined leaves
 * no event either. So, per shown track (p_play, p_skip: the two of its kind),
 *   P(play)  = e(r) * p_play,      P(skip) = e(r) * p_play * p_skip,
 *   P(like)  = e(r) * p_liked * like (liked tracks), and so on;
 * skips / plays estimates p_skip, and analysis.h's skip_rate (skips per
 * impressed track) is e(r) * p_play * p_skip averaged over the lists.
 * The defaults: a liked track is started half the time and rarely left
 * early (0.5, 0.1); another one is started now and then, mostly to be left
 * at once (0.15, 0.7). So an examined liked track is listened to (played,
 * not skipped) with probability 0.45 and skipped with 0.05, another one
 * 0.045 and 0.105: a list with more liked tracks has more plays and fewer
 * skips per track.
 * After a session the listener comes back for another with probability
 * come_back, up to max_sessions sessions; a later session excludes every
 * track shown before, so it sees new ones. */
typedef struct sim_behaviour {
	double eta;        /* examination decay (default 0.8) */
	double play_liked; /* P(play | examined, liked) (0.5) */
	double skip_liked; /* P(skip | played, liked) (0.1) */
	double play_other; /* P(play | examined, not liked) (0.15) */
	double skip_other; /* P(skip | played, not liked) (0.7) */
	double like;       /* P(like | played, liked) (0.3) */
	double save;       /* P(save | played, liked) (0.15) */
	double dislike;    /* P(dislike | played, not liked) (0.2) */
	double come_back;  /* P(another session after one) (0.5) */
	int max_sessions;  /* 1..16 (3) */
	int k;             /* tracks asked per list, 1..100 (10) */
	int nseeds;        /* seeds given to the recommender, 1..25 (5) */
} sim_behaviour;
void sim_behaviour_default(sim_behaviour *b);
/* SEG_EINVAL naming the first parameter out of its range (probabilities in
 * [0, 1], eta in [0, 10]). */
int sim_behaviour_check(const sim_behaviour *b, seg_error *err);

/* What a listener did with one shown track: a set of these bits. */
enum {
	SIM_EXAMINED = 1,
	SIM_PLAY = 2,
	SIM_SKIP = 4,
	SIM_LIKE = 8,
	SIM_SAVE = 16,
	SIM_DISLIKE = 32,
};
/* The examination probability e(r) of 0-based rank r. */
double sim_examine_prob(const sim_behaviour *b, size_t rank);
/* Draws the listener's actions on a list of n tracks, liked[i] saying
 * whether track i is one they like, into act[n] (SIM_* bits), from r. */
void sim_click(const sim_behaviour *b, double boost, const uint8_t *liked, size_t n, rng *r, uint8_t *act);

/* ---- identities ---- */

/* The user id of the listener of playlist `playlist` in the simulation of
 * seed `seed`: "sim-<seed>-<playlist>" (at most 45 bytes, ev_id_valid). */
void sim_user_id(char out[EV_ID_MAX + 1], uint64_t seed, int64_t playlist);
/* The id of an event: "sim-<seed>-<playlist>.<session>.<position>.<t>",
 * t the type's letter (p play, s skip, l like, d dislike, v save). A pure
 * function of its arguments, so a retried batch carries the same ids (and
 * is stored once), and distinct for distinct arguments (the fields are
 * separated, the letters distinct). session 0..99, position 0..999. */
void sim_event_id(char out[EV_ID_MAX + 1], uint64_t seed, int64_t playlist, int session, int position, int type);

/* ---- listeners ---- */

typedef struct sim_listener {
	int64_t playlist;       /* playlists.id */
	int split;              /* enum catalog_split: CATALOG_SPLIT_VALID or CATALOG_SPLIT_TEST, never train */
	size_t nseeds, nhidden; /* the first nseeds distinct tracks, and the rest */
	const char (*seeds)[EV_TRACK_LEN + 1];  /* [nseeds] Spotify ids, playlist order */
	const char (*hidden)[EV_TRACK_LEN + 1]; /* [nhidden] Spotify ids, sorted (strcmp) for sim_listener_likes */
} sim_listener;

typedef struct sim_listeners {
	sim_listener *l; /* [n], in playlist order */
	size_t n;
	void *mem; /* private */
} sim_listeners;

/* Loads the listeners of workspace ws: every playlist of the validation
 * and test splits (dataset.h's pl_split, catalog_playlist_split) with more
 * than `nseeds` distinct tracks that have Spotify ids, its first nseeds
 * distinct tracks as seeds and the others as the hidden tracks it likes.
 * SEG_ENOTFOUND when there is none; dataset_load's errors. Free with
 * sim_listeners_free. */
int sim_listeners_load(const char *ws, int nseeds, sim_listeners *out, seg_error *err);
void sim_listeners_free(sim_listeners *L); /* a zeroed one is a no-op */
/* Whether the listener likes the track with Spotify id `id`. */
int sim_listener_likes(const sim_listener *l, const char *id);
/* The n listeners a simulation of seed `seed` takes, into idx[n]: the first
 * n of a permutation of 0..L->n-1 drawn from seed (distinct). SEG_EINVAL
 * when n > L->n. */
int sim_listeners_pick(const sim_listeners *L, uint64_t seed, size_t n, size_t *idx, seg_error *err);

/* ---- HTTP ----
 * A small blocking HTTP/1.1 client over TCP: one keep-alive connection,
 * Content-Length or chunked response bodies up to SIM_HTTP_MAX_BODY bytes,
 * a timeout on connecting and on every read and write. */
#define SIM_HTTP_MAX_BODY (32 * 1024 * 1024)
#define SIM_HTTP_MAX_HEAD (16 * 1024)

typedef struct sim_http sim_http;
/* A client for `url` ("http://HOST[:PORT]", port 80 by default; a path
 * after it is refused), not connected yet; token (may be NULL) is sent as
 * "Authorization: Bearer TOKEN". SEG_EINVAL for a bad URL, SEG_ENOMEM. */
int sim_http_open(const char *url, const char *token, int timeout_ms, sim_http **out, seg_error *err);
void sim_http_close(sim_http *h); /* NULL is a no-op */
/* One request: connects (again) when needed, sends, reads the answer's
 * status into *status and its body into resp (reset first). A connection
 * the server had closed while idle is reopened once, silently. SEG_EIO
 * (connection refused, reset, timed out), SEG_EFORMAT (not HTTP), SEG_EINVAL
 * (answer larger than SIM_HTTP_MAX_BODY); the connection is closed after
 * an error. */
int sim_http_request(sim_http *h, const char *method, const char *target, const char *body, size_t len, int *status,
                     strbuf *resp, seg_error *err);
/* sim_http_request with up to `retries` more attempts after a connection
 * error or a 5xx answer, waiting 25 ms, 50 ms, 100 ms, ... (at most 2 s)
 * between them; *nretries (may be NULL) is increased by the attempts
 * beyond the first. Returns the last attempt's result. */
int sim_http_call(sim_http *h, const char *method, const char *target, const char *body, size_t len, int retries,
                  int *status, strbuf *resp, size_t *nretries, seg_error *err);
/* Requests served by this client, connections it opened (for tests of
 * keep-alive). */
void sim_http_counts(const sim_http *h, size_t *requests, size_t *connects);

/* ---- one simulation ---- */

typedef struct sim_options {
	const char *server; /* http://127.0.0.1:8080 */
	const char *token;  /* bearer token for the experiment routes, or NULL */
	uint64_t seed;      /* picks the listeners, draws their behaviour, names users and events */
	size_t users;       /* listeners (at most the held-out playlists) */
	int threads;        /* listener threads, each with its connection (4) */
	int retries;        /* attempts after the first on connection errors and 5xx (6) */
	int timeout_ms;     /* per connect, read and write (10000) */
	sim_behaviour b;
	/* The injected effect: listeners whose answers were served by variant
	 * `effect_variant` (the answer's experiment.variant) play the tracks
	 * they like with probability play_liked * (1 + effect) (at most 1;
	 * skip_liked, given a play, unchanged). NULL: none. */
	const char *effect_variant;
	double effect;
} sim_options;
void sim_options_default(sim_options *o);

/* What one simulation did, as the simulator saw it, per variant that
 * served it ("" when no experiment did). */
typedef struct sim_variant_count {
	char name[EV_NAME_MAX + 1];
	size_t users;                     /* listeners whose first list it served */
	size_t lists, shown, liked_shown; /* lists, tracks in them, of which the listener likes */
	size_t plays, liked_plays, skips, likes, saves, dislikes;
} sim_variant_count;

typedef struct sim_result {
	size_t users, sessions;
	size_t events, stored, duplicates; /* posted, newly stored, already there (answers of POST /api/events) */
	size_t retries;                    /* HTTP attempts beyond the first */
	size_t failed;                     /* listeners stopped by an error */
	char experiment[EV_NAME_MAX + 1];  /* the experiment the first answer named, "" none */
	sim_variant_count v[EXP_MAX_VARIANTS + 1];
	size_t nv;
	double seconds; /* wall time */
	char first_error[256];
} sim_result;

/* Runs o->users listeners (sim_listeners_pick(L, o->seed, ...)) on
 * o->threads threads against o->server: each session one POST
 * /api/recommend with user_id, seeds, k and the tracks shown before as
 * exclude, then one POST /api/events with what the click model drew
 * (position and request_id from the answer). Returns 0 when every listener
 * ran to the end; SEG_EIO with the first error when some failed after
 * their retries (res says how many), SEG_EINVAL for bad options. */
int sim_run(const sim_listeners *L, const sim_options *o, sim_result *res, seg_error *err);
/* Prints res: events, retries, per variant the play rates seen. */
void sim_result_print(const sim_result *res, FILE *out);

/* ---- experiments over the API ---- */

/* Creates the experiment `name` over POST /api/experiments with variants
 * named names[i] (configs[i], weight 1 each), primary metric `metric`,
 * and starts it. SEG_EIO / SEG_EINVAL with the server's answer. */
int sim_experiment_begin(sim_http *h, const char *name, size_t nvariants, const char *const *names,
                         const char *const *configs, const char *metric, seg_error *err);
/* Stops it (POST .../stop) and reads its report (GET .../report) into
 * report (reset first). */
int sim_experiment_end(sim_http *h, const char *name, strbuf *report, seg_error *err);

/* The figures the study reads from a report (analysis_json). */
typedef struct sim_report {
	size_t users[2];              /* of variants 0 and 1 (1: 0 when there is one variant) */
	double value[2];              /* the primary metric in each */
	double diff, lo, hi, p;       /* treatment minus control on the primary metric, its CI, p (unadjusted) */
	int has_interleaving;         /* the report had an interleaving object */
	double share_b, ilo, ihi, ip; /* its preference share of team B, CI, p (the sign test) */
	double cmean, clo, chi, cp;   /* its credit test: mean B - A credited plays per user, CI, p */
	int srm_alarm;
} sim_report;
/* Parses the report. SEG_EFORMAT when it is not analysis_json's shape. */
int sim_report_parse(const char *json, size_t len, sim_report *r, seg_error *err);

/* ---- the study ---- */

typedef struct sim_study_options {
	sim_options sim;               /* server, token, threads, behaviour; seed: the first run's */
	const char *prefix;            /* experiment names start with it ("study-<seed>") */
	const char *metric;            /* primary metric (play_rate) */
	int aa_runs;                   /* A/A experiments (200); 0 skips */
	size_t aa_users;               /* listeners per A/A run (200) */
	size_t hp_users;               /* listeners of hybrid vs popular (1000); 0 skips */
	int effect_runs;               /* known-effect experiments (100); 0 skips */
	size_t effect_users;           /* listeners per run (300) */
	double effect;                 /* the injected effect delta (0.5) */
	int ladder_runs;               /* runs per size of the interleaving/A-B ladder (20); 0 skips */
	size_t ladder[8];              /* listener counts, largest first, 0 ends them (300,150,75,40,20,10) */
	const char *model_a, *model_b; /* the ladder's and hybrid-vs-popular's models: popular, hybrid */
	const char *aa_model;          /* A/A's model (hybrid) */
	int quiet;                     /* no progress on stderr */
} sim_study_options;
void sim_study_options_default(sim_study_options *o);
/* Runs the parts o asks for against o->sim.server and prints each result
 * to out as it comes (with wall times): the A/A rejection rate at p < 0.05
 * with its 95% binomial (Wilson) interval; hybrid vs popular's difference,
 * CI and p; the injected effect's detection rate against the power that
 * stats_power_proportion promises for the observed baseline; and, per
 * ladder size, how often A/B and interleaving detect model_b over model_a
 * (interleaving by its credit test, the report's primary one, and by its
 * sign test on the preference share, from the same runs), with the
 * smallest size each detects in at least 80% of runs. Needs
 * listeners L with at least the largest size asked. 0, or the first error
 * that stopped it. */
int sim_study_run(const sim_listeners *L, const sim_study_options *o, FILE *out, seg_error *err);

/* The Wilson score interval of k successes in n at 95%. */
void sim_wilson(size_t k, size_t n, double *lo, double *hi);

#endif
