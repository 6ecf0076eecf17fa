/* handlers.c: the server's routes (see internal.h): each handler checks
 * its arguments, asks the engine and the catalogue, and answers; nothing
 * here exits or decides on an error's text. Each worker thread opens its
 * own read-only SQLite connection on first use; the engine (mapped model)
 * is shared. */
#include "serve/internal.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "serve/assets.h"
#include "catalog/workspace.h"
#include "catalog/lookup.h"
#include "catalog/query.h"
#include "core/progress.h"
#include "core/utf8.h"
#include "engine/recommender.h"
#include "ingest/track.h"
#include "models/featvec.h"
#include "models/quality.h"

#include <xxhash.h>

const asset *asset_find(const char *path)
{
	for (size_t i = 0; i < nassets; i++)
		if (strcmp(assets[i].path, path) == 0)
			return &assets[i];
	return NULL;
}

/* ---- routes ---- */

/* clang-format off */
const serve_route serve_routes[] = {
	[R_HEALTH] = {"GET", "/api/health"},
	[R_TRACKS] = {"GET", "/api/tracks"},
	[R_TRACK] = {"GET", "/api/tracks/{id}"},
	[R_RECOMMEND] = {"POST", "/api/recommend"},
	[R_SIMILAR] = {"GET", "/api/similar/{id}"},
	[R_GEMS] = {"GET", "/api/gems"},
	[R_CLUSTERS] = {"GET", "/api/clusters"},
	[R_MAP] = {"GET", "/api/map"},
	[R_GENRES] = {"GET", "/api/genres"},
	[R_EDA] = {"GET", "/api/eda/summary"},
	[R_CHART] = {"GET", "/api/charts/{name}"},
	[R_MODELS] = {"GET", "/api/models"},
	[R_OPENAPI] = {"GET", "/openapi.json"},
	[R_METRICS] = {"GET", "/metrics"},
	[R_EVENTS] = {"POST", "/api/events"},
	[R_EXPERIMENTS] = {"GET", "/api/experiments"},
	[R_EXP_CREATE] = {"POST", "/api/experiments"},
	[R_EXPERIMENT] = {"GET", "/api/experiments/{name}"},
	[R_EXP_START] = {"POST", "/api/experiments/{name}/start"},
	[R_EXP_STOP] = {"POST", "/api/experiments/{name}/stop"},
	[R_EXP_REPORT] = {"GET", "/api/experiments/{name}/report"},
	[R_EXP_EXPORT] = {"GET", "/api/experiments/{name}/export"},
	[R_EXP_LIFT] = {"GET", "/api/experiments/{name}/lift.svg"},
	[R_EXP_SEQUENTIAL] = {"GET", "/api/experiments/{name}/sequential.svg"},
	[R_POWER] = {"GET", "/api/power"},
	[R_RUNS] = {"GET", "/api/runs"},
	[R_RUN] = {"GET", "/api/runs/{id}"},
	[R_REGISTRY] = {"GET", "/api/registry"},
	[R_PIPELINE] = {"GET", "/api/pipeline"},
	[R_DASHBOARD] = {"GET", "/"},
};
/* clang-format on */
const size_t serve_nroutes = R_DASHBOARD + 1;

/* ---- the per-thread catalogue connection ---- */

static _Thread_local sqlite3 *tl_db;

static sqlite3 *thread_db(server *s)
{
	if (tl_db != NULL)
		return tl_db;
	sqlite3 *db;
	if (query_open(s->dbpath, &db, NULL) < 0)
		return NULL;
	/* Kept for serve__close_dbs; there is room for every worker
	 * (o->threads <= SERVE_MAX_THREADS), and a connection that could not be
	 * kept is not opened at all rather than leaked. */
	pthread_mutex_lock(&s->lock);
	int kept = s->ndbs < sizeof s->dbs / sizeof *s->dbs;
	if (kept)
		s->dbs[s->ndbs++] = db;
	pthread_mutex_unlock(&s->lock);
	if (!kept) {
		query_close(db);
		return NULL;
	}
	tl_db = db;
	return db;
}

void serve__close_dbs(server *s)
{
	for (size_t i = 0; i < s->ndbs; i++)
		query_close(s->dbs[i]);
	s->ndbs = 0;
}

/* ---- query-string helpers ---- */

static const char *arg(struct MHD_Connection *c, const char *name)
{
	return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
}

/* Parses an integer argument in [lo, hi]; absent gives def. Returns -1 on a
 * bad value (err filled). */
static int int_arg(struct MHD_Connection *c, const char *name, long lo, long hi, long def, long *out, seg_error *err)
{
	const char *v = arg(c, name);
	if (v == NULL) {
		*out = def;
		return 0;
	}
	char *end;
	errno = 0;
	long x = strtol(v, &end, 10);
	if (*v == '\0' || *end != '\0' || errno || x < lo || x > hi) {
		seg_error_set(err, SEG_EINVAL, "%s must be a whole number from %ld to %ld, not '%.40s'", name, lo, hi,
		              v);
		return -1;
	}
	*out = x;
	return 0;
}

/* A Spotify id in a path or body, normalised into id[TRACK_ID_LEN + 1]. */
static int parse_id(const char *text, char *id, seg_error *err)
{
	if (track_parse_id(text, id) < 0)
		return seg_error_set(err, SEG_EINVAL, "'%.60s' is not a Spotify track id (22 base-62 characters)",
		                     text);
	return 0;
}

/* Display fields of tracks ids[n] into out[n], found[i] (may be NULL)
 * whether ids[i] exists: from the names file, as the catalogue was when the
 * server started; what it lacks (tracks ingested since) from SQLite. */
static int track_hits(server *s, const int64_t *ids, size_t n, lookup_hit *out, uint8_t *found, seg_error *err)
{
	sqlite3 *db = NULL;
	if (s->names == NULL) {
		if ((db = thread_db(s)) == NULL)
			return seg_error_set(err, SEG_EDB, "the catalogue cannot be opened");
		return lookup_tracks(db, ids, n, out, found, err);
	}
	for (size_t i = 0; i < n; i++) {
		uint8_t ok = (uint8_t)names_get(s->names, ids[i], &out[i]);
		if (!ok) {
			if (db == NULL && (db = thread_db(s)) == NULL)
				return seg_error_set(err, SEG_EDB, "the catalogue cannot be opened");
			int rc = lookup_tracks(db, &ids[i], 1, &out[i], &ok, err);
			if (rc < 0)
				return rc;
		}
		if (found)
			found[i] = ok;
	}
	return 0;
}

/* Resolves a Spotify id in a path or body to a track and its display
 * fields. */
static int resolve_id(server *s, const char *text, lookup_hit *h, seg_error *err)
{
	char id[TRACK_ID_LEN + 1];
	if (parse_id(text, id, err) < 0)
		return SEG_EINVAL;
	int64_t t;
	if (s->names != NULL && names_find(s->names, id, &t) && names_get(s->names, t, h))
		return 0;
	/* not in the names file (none, or the track came after the server
	 * started): the catalogue itself */
	sqlite3 *db = thread_db(s);
	if (db == NULL)
		return seg_error_set(err, SEG_EDB, "the catalogue cannot be opened");
	lookup_hit alts[1];
	size_t na;
	int rc = lookup_resolve(db, id, h, alts, 0, &na, err);
	if (rc == SEG_EDB)
		return rc;
	if (rc == 0 && strcmp(h->spotify_id, id) == 0)
		return 0;
	return seg_error_set(err, SEG_ENOTFOUND, "no track with id %s in the catalogue", id);
}

/* resolve_id for a request that needs only the track id and name (into
 * name[cap], may be NULL). */
static int resolve_brief(server *s, const char *text, int64_t *track, char *name, size_t cap, seg_error *err)
{
	if (s->names != NULL) {
		lookup_hit h;
		int rc = resolve_id(s, text, &h, err);
		if (rc < 0)
			return rc;
		*track = h.track;
		if (name && cap)
			snprintf(name, cap, "%s", h.name);
		return 0;
	}
	char id[TRACK_ID_LEN + 1];
	if (parse_id(text, id, err) < 0)
		return SEG_EINVAL;
	sqlite3 *db = thread_db(s);
	if (db == NULL)
		return seg_error_set(err, SEG_EDB, "the catalogue cannot be opened");
	int rc = lookup_spotify_id(db, id, track, name, cap, err);
	if (rc < 0)
		return rc;
	return rc ? 0 : seg_error_set(err, SEG_ENOTFOUND, "no track with id %s in the catalogue", id);
}

/* ---- handlers ---- */

static enum MHD_Result h_health(server *s, struct MHD_Connection *c, req *r)
{
	return serve__send_json(c, r, 200,
	                        json_pack("{s:s,s:s,s:s,s:I,s:f}", "status", "ok", "version", SEGUE_VERSION, "model",
	                                  serve__cur->version, "tracks", (json_int_t)engine_rows(serve__cur->eng),
	                                  "uptime_seconds", progress_now() - s->started));
}

static enum MHD_Result h_tracks(server *s, struct MHD_Connection *c, req *r)
{
	seg_error err = {0};
	long limit;
	if (int_arg(c, "limit", 1, 100, 20, &limit, &err) < 0)
		return serve__send_seg_error(c, r, &err);
	const char *q = arg(c, "q"), *genre = arg(c, "genre");
	if ((q == NULL || *q == '\0') && (genre == NULL || *genre == '\0'))
		return serve__send_error(c, r, 400, "bad_request", "give q (words to search for) or genre");
	if (q != NULL && strlen(q) > 200)
		return serve__send_error(c, r, 400, "bad_request", "q is longer than 200 characters");
	sqlite3 *db = thread_db(s);
	if (db == NULL)
		return serve__send_error(c, r, 503, "unavailable", "the catalogue cannot be opened");
	lookup_hit hits[100];
	size_t n = 0;
	json_t *arr = json_array();
	if (q != NULL && *q) {
		/* Search wider when a genre narrows the hits afterwards. */
		lookup_hit many[400];
		size_t want = genre && *genre ? 400 : (size_t)limit;
		size_t got = 0;
		long steps = s->o->search_steps > 0 ? s->o->search_steps : LOOKUP_MAX_STEPS;
		if (lookup_search_bounded(db, q, want, steps, many, &got, &err) < 0) {
			json_decref(arr);
			return serve__send_seg_error(c, r, &err);
		}
		for (size_t i = 0; i < got && n < (size_t)limit; i++) {
			if (genre && *genre) {
				/* genres is "a, b, c": match a whole name. */
				int match = 0;
				const char *g = many[i].genres;
				size_t gl = strlen(genre);
				while (*g && !match) {
					const char *e = strstr(g, ", ");
					size_t len = e ? (size_t)(e - g) : strlen(g);
					match = len == gl && strncasecmp(g, genre, gl) == 0;
					g += len + (e ? 2 : 0);
				}
				if (!match)
					continue;
			}
			hits[n++] = many[i];
		}
	} else {
		sqlite3_stmt *st;
		if (sqlite3_prepare_v2(db,
		                       "SELECT t.id FROM tracks t JOIN track_genres tg ON tg.track_id = t.id"
		                       " JOIN genres g ON g.id = tg.genre_id WHERE g.name = lower(?1)"
		                       " ORDER BY t.popularity DESC NULLS LAST, t.id LIMIT ?2",
		                       -1, &st, NULL) != SQLITE_OK) {
			json_decref(arr);
			return serve__send_error(c, r, 500, "internal", "%s", sqlite3_errmsg(db));
		}
		sqlite3_bind_text(st, 1, genre, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, limit);
		while (sqlite3_step(st) == SQLITE_ROW && n < (size_t)limit)
			if (lookup_track(db, sqlite3_column_int64(st, 0), &hits[n], NULL) == 0)
				n++;
		sqlite3_finalize(st);
	}
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, serve_track_json(&hits[i]));
	return serve__send_json(c, r, 200, json_pack("{s:o,s:I}", "tracks", arr, "count", (json_int_t)n));
}

static enum MHD_Result h_track(server *s, struct MHD_Connection *c, req *r, const char *id)
{
	lookup_hit h;
	seg_error err = {0};
	if (resolve_id(s, id, &h, &err) < 0)
		return serve__send_seg_error(c, r, &err);
	sqlite3 *db = thread_db(s);
	if (db == NULL)
		return serve__send_error(c, r, 503, "unavailable", "the catalogue cannot be opened");
	json_t *j = serve_track_json(&h);
	json_t *feat = json_null();
	sqlite3_stmt *st;
	if (h.has_features && db != NULL &&
	    sqlite3_prepare_v2(db,
	                       "SELECT danceability, energy, key, loudness, mode, speechiness, acousticness,"
	                       " instrumentalness, liveness, valence, tempo, time_signature, duration_ms, year"
	                       " FROM tracks WHERE id = ?1",
	                       -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, h.track);
		if (sqlite3_step(st) == SQLITE_ROW) {
			json_decref(feat);
			feat = json_object();
			for (int i = 0; i < sqlite3_column_count(st); i++)
				json_object_set_new(feat, sqlite3_column_name(st, i),
				                    sqlite3_column_type(st, i) == SQLITE_NULL
				                            ? json_null()
				                            : json_real(sqlite3_column_double(st, i)));
		}
		sqlite3_finalize(st);
	}
	json_object_set_new(j, "features", feat);
	int32_t row = engine_row_of(serve__cur->eng, h.track);
	if (row >= 0) {
		int k = engine_cluster_of(serve__cur->eng, (size_t)row);
		json_object_set_new(
			j, "cluster",
			json_pack("{s:i,s:s}", "id", k, "description", engine_cluster_words(serve__cur->eng, k)));
		float p = engine_predicted(serve__cur->eng, (size_t)row);
		json_object_set_new(j, "predicted_popularity", isnan(p) ? json_null() : json_real(p));
	} else {
		json_object_set_new(j, "cluster", json_null());
		json_object_set_new(j, "predicted_popularity", json_null());
	}
	return serve__send_json(c, r, 200, j);
}

/* What the A/B side adds to one recommendation: the listener, the
 * experiment and variant that chose the configuration, and the two teams
 * of an interleaved list. */
typedef struct ab_plan {
	const char *user;                  /* "" when the request names none: nothing is logged */
	char experiment[EXP_NAME_MAX + 1]; /* "" when no running experiment decided */
	char variant[EXP_NAME_MAX + 1];    /* its variant */
	int interleave[2];                 /* teams A and B (registry ids), or -1 -1 */
} ab_plan;

/* The rec_item of `track` among list[n] (it is there: exp_interleave took
 * it from that list). */
static const rec_item *item_of(const rec_item *list, size_t n, int64_t track)
{
	for (size_t i = 0; i < n; i++)
		if (list[i].track == track)
			return &list[i];
	return NULL;
}

/* Runs rq as team-draft interleaving of ab->interleave[0] and [1] into
 * items[*n] with teams[*n], seeded from the request id. */
static int run_interleaved(server *s, rec_request *rq, const ab_plan *ab, const char *rid, rec_item *items,
                           uint8_t *teams, size_t *n, const char **shortfall, seg_error *err)
{
	(void)s; /* the model is the request's (serve__cur) */
	rec_item list[2][100];
	size_t len[2];
	int64_t ids[2][100], merged[100];
	for (int t = 0; t < 2; t++) {
		const char *sf = "";
		rq->model = ab->interleave[t];
		int rc = engine_recommend(serve__cur->eng, rq, list[t], &len[t], &sf, err);
		if (rc < 0)
			return rc;
		if (sf != NULL && sf[0] != '\0')
			*shortfall = sf;
		for (size_t i = 0; i < len[t]; i++)
			ids[t][i] = list[t][i].track;
	}
	rq->model = ab->interleave[0];
	uint64_t seed = XXH3_64bits(rid, strlen(rid));
	*n = exp_interleave(ids[0], len[0], ids[1], len[1], rq->k, seed, merged, teams);
	for (size_t i = 0; i < *n; i++) {
		const rec_item *it = item_of(list[teams[i]], len[teams[i]], merged[i]);
		if (it == NULL)
			return seg_error_set(err, SEG_EINVAL, "interleaving returned a track neither team proposed");
		items[i] = *it;
	}
	return 0;
}

/* Logs the impression of the list served to ab->user (items[n] as shown:
 * those with found[i]) through evstore_log: queued before the answer goes,
 * committed by the store's writer within a few milliseconds, without the
 * request waiting for the sync. */
static int log_impression(server *s, const ab_plan *ab, const char *rid, const char *model, const rec_item *items,
                          size_t n, const lookup_hit *hits, const uint8_t *found, const uint8_t *teams, seg_error *err)
{
	(void)items;
	ev_event ev;
	char tracks[100][EV_TRACK_LEN + 1];
	uint8_t shown_teams[100];
	memset(&ev, 0, sizeof ev);
	ev.type = EV_IMPRESSION;
	snprintf(ev.event_id, sizeof ev.event_id, "%s", rid);
	snprintf(ev.request, sizeof ev.request, "%s", rid);
	snprintf(ev.user, sizeof ev.user, "%s", ab->user);
	snprintf(ev.experiment, sizeof ev.experiment, "%s", ab->experiment);
	snprintf(ev.variant, sizeof ev.variant, "%s", ab->variant);
	/* The model and the version that answered ("hybrid@v7"), so that an
	 * experiment's lists say which version served them (segue models
	 * promote --experiment reads it). */
	const char *version = serve__cur->version;
	if (version[0] != '\0')
		snprintf(ev.model, sizeof ev.model, "%.*s@%s", (int)(EV_MODEL_MAX - 1 - strlen(version)), model,
		         version);
	else
		snprintf(ev.model, sizeof ev.model, "%s", model);
	ev.position = -1;
	ev.client_ms = serve__now_ms();
	for (size_t i = 0; i < n; i++) {
		if (!found[i])
			continue;
		snprintf(tracks[ev.ntracks], sizeof tracks[ev.ntracks], "%s", hits[i].spotify_id);
		if (teams != NULL)
			shown_teams[ev.ntracks] = teams[i];
		ev.ntracks++;
	}
	ev.tracks = tracks;
	ev.teams = teams != NULL ? shown_teams : NULL;
	return evstore_log(s->store, &ev, err);
}

/* Runs a request and writes the response, with warnings[nwarnings] (may
 * be NULL and 0). With ab (may be NULL): an interleaved list when it names
 * two teams, and, when it names a user, the impression logged (queued in
 * the store, which commits it a few milliseconds later) before the answer
 * goes. A store that refuses it (failing to write, or falling behind with
 * its queue full) makes the answer a 503: a list that is not logged is not
 * served, so no click is ever credited to a list the analysis cannot see.
 * Events posted about the list after the answer are stored after its
 * impression (evstore.h's order), and the routes that read the store flush
 * the queue first. What a SIGKILL can lose is the last few milliseconds of
 * impressions; SIGTERM loses none (the store is closed, drained, after the
 * daemon stops). */
static enum MHD_Result answer_recommend(server *s, struct MHD_Connection *c, req *r, rec_request *rq,
                                        const char *const *seed_names, const char *const *warnings, size_t nwarnings,
                                        const ab_plan *ab)
{
	rec_item items[100];
	uint8_t teams[100];
	size_t n = 0;
	const char *shortfall = "";
	seg_error err = {0};
	char rid[EV_ID_MAX + 1];
	serve__request_id(s, rid);
	int interleaved = ab != NULL && ab->interleave[0] >= 0;
	char model[EV_MODEL_MAX + 1];
	if (interleaved) {
		if (run_interleaved(s, rq, ab, rid, items, teams, &n, &shortfall, &err) < 0)
			return serve__send_seg_error(c, r, &err);
		snprintf(model, sizeof model, "interleave:%s,%s", recommender_name(ab->interleave[0]),
		         recommender_name(ab->interleave[1]));
	} else {
		if (engine_recommend(serve__cur->eng, rq, items, &n, &shortfall, &err) < 0)
			return serve__send_seg_error(c, r, &err);
		snprintf(model, sizeof model, "%s", recommender_name(rq->model));
	}
	int64_t ids[100];
	lookup_hit hits[100];
	uint8_t found[100];
	for (size_t i = 0; i < n; i++)
		ids[i] = items[i].track;
	if (track_hits(s, ids, n, hits, found, &err) < 0)
		return serve__send_error(c, r, 503, "unavailable", "the catalogue cannot be read");
	if (ab != NULL && ab->user[0] != '\0' &&
	    log_impression(s, ab, rid, model, items, n, hits, found, interleaved ? teams : NULL, &err) < 0)
		return serve__send_error(c, r, 503, "unavailable",
		                         "the event store did not log this list, so it is not served: %s", err.msg);
	char note[SERVE_MAX_NOTES][SERVE_NOTE_CAP];
	const char *notes[SERVE_MAX_NOTES];
	size_t nnotes = serve_recommend_notes(serve__cur->eng, rq, n, note);
	for (size_t i = 0; i < nnotes; i++)
		notes[i] = note[i];
	serve_answer_ab extra = {NULL, NULL, interleaved ? teams : NULL, serve__cur->version};
	if (ab != NULL && ab->experiment[0] != '\0') {
		extra.experiment = ab->experiment;
		extra.variant = ab->variant;
	}
	strbuf sb = {0};
	serve_write_recommend(&sb, serve__cur->eng, rid, model, items, n, hits, found, seed_names, NULL, rq->nseeds,
	                      shortfall, warnings, nwarnings, notes, nnotes, &extra);
	return serve__send_strbuf(c, r, 200, &sb);
}

int serve_mood_check(const char *key, double v, seg_error *err)
{
	int rc = feat_mood_check(key, strlen(key), v, err);
	if (rc < 0) {
		/* The key came from the request: the message quotes it, made valid
		 * UTF-8 for the JSON answer. */
		strbuf tmp = {0};
		const char *clean = utf8_clean(err->msg, &tmp);
		if (clean != err->msg)
			snprintf(err->msg, sizeof err->msg, "%s", clean);
		strbuf_free(&tmp);
	}
	return rc;
}

int serve_parse_recommend(const char *text, size_t len, serve_recommend_body *out, seg_error *err)
{
	rec_request def;
	rec_request_default(&def);
	memset(out, 0, sizeof(*out));
	out->k = def.k;
	out->model = def.model;
	out->diversity = def.diversity;
	out->novelty = def.novelty;
	out->quality = def.quality;
	out->max_per_artist = def.max_per_artist;
	out->knn_probe = def.knn_probe;
	out->rerank = def.rerank;
	out->interleave[0] = out->interleave[1] = -1;
	json_error_t je;
	json_t *body = json_loadb(text ? text : "", len, JSON_REJECT_DUPLICATES, &je);
	if (body == NULL)
		return seg_error_set(err, SEG_EFORMAT, "the body is not valid JSON: %s (line %d, column %d)", je.text,
		                     je.line, je.column);
	int rc = 0;
	const char *key;
	json_t *v;
	if (!json_is_object(body)) {
		rc = seg_error_set(err, SEG_EINVAL, "the body must be a JSON object");
		goto out;
	}
	/* Reject unknown fields: a typo should not be silently ignored. */
	static const char *const known[] = {"seeds",    "mood",           "k",       "model",   "diversity", "novelty",
	                                    "quality",  "max_per_artist", "exclude", "rerank",  "dislikes",  "genres",
	                                    "year_min", "year_max",       "title",   "user_id", "knn_probe"};
	json_object_foreach(body, key, v)
	{
		int ok = 0;
		for (size_t i = 0; i < sizeof known / sizeof *known; i++)
			ok |= strcmp(key, known[i]) == 0;
		if (!ok) {
			rc = seg_error_set(err, SEG_EINVAL, "unknown field '%.40s'", key);
			goto out;
		}
	}
	/* Id lists. */
	static const struct {
		const char *name;
		size_t max;
	} lists[3] = {{"seeds", SERVE_MAX_SEEDS}, {"exclude", SERVE_MAX_EXCLUDE}, {"dislikes", SERVE_MAX_DISLIKES}};
	for (int l = 0; l < 3; l++) {
		json_t *arr = json_object_get(body, lists[l].name);
		if (arr == NULL || json_is_null(arr))
			continue;
		if (!json_is_array(arr) || json_array_size(arr) > lists[l].max) {
			rc = seg_error_set(err, SEG_EINVAL, "%s must be an array of at most %zu Spotify track ids",
			                   lists[l].name, lists[l].max);
			goto out;
		}
		for (size_t i = 0; i < json_array_size(arr); i++) {
			json_t *e = json_array_get(arr, i);
			char *dst = l == 0 ? out->seeds[i] : l == 1 ? out->exclude[i] : out->dislikes[i];
			if (!json_is_string(e) || track_parse_id(json_string_value(e), dst) < 0) {
				rc = seg_error_set(err, SEG_EINVAL,
				                   "%s[%zu] is not a Spotify track id (22 base-62 characters)",
				                   lists[l].name, i);
				goto out;
			}
		}
		*(l == 0 ? &out->nseeds : l == 1 ? &out->nexclude : &out->ndislikes) = json_array_size(arr);
	}
	/* Filters: genre names (checked against the model's vocabulary by the
	 * engine) and years. */
	json_t *jg = json_object_get(body, "genres");
	if (jg != NULL && !json_is_null(jg)) {
		if (!json_is_array(jg) || json_array_size(jg) > SERVE_MAX_GENRES) {
			rc = seg_error_set(err, SEG_EINVAL, "genres must be an array of at most %d genre names",
			                   SERVE_MAX_GENRES);
			goto out;
		}
		for (size_t i = 0; i < json_array_size(jg); i++) {
			json_t *e = json_array_get(jg, i);
			if (!json_is_string(e) || json_string_length(e) == 0 ||
			    json_string_length(e) >= SERVE_GENRE_CAP) {
				rc = seg_error_set(err, SEG_EINVAL, "genres[%zu] must be a genre name (1 to %d bytes)",
				                   i, SERVE_GENRE_CAP - 1);
				goto out;
			}
			memcpy(out->genres[i], json_string_value(e), json_string_length(e) + 1);
		}
		out->ngenres = json_array_size(jg);
	}
	for (int y = 0; y < 2; y++) {
		const char *name = y ? "year_max" : "year_min";
		json_t *jy = json_object_get(body, name);
		if (jy == NULL || json_is_null(jy))
			continue;
		if (!json_is_integer(jy) || json_integer_value(jy) < REC_YEAR_MIN ||
		    json_integer_value(jy) > REC_YEAR_MAX) {
			rc = seg_error_set(err, SEG_EINVAL, "%s must be a whole number from %d to %d", name,
			                   REC_YEAR_MIN, REC_YEAR_MAX);
			goto out;
		}
		*(y ? &out->year_max : &out->year_min) = (int)json_integer_value(jy);
	}
	if (out->year_min && out->year_max && out->year_min > out->year_max) {
		rc = seg_error_set(err, SEG_EINVAL, "year_min (%d) is after year_max (%d)", out->year_min,
		                   out->year_max);
		goto out;
	}
	json_t *jm = json_object_get(body, "mood");
	if (jm != NULL && !json_is_null(jm)) {
		if (!json_is_object(jm)) {
			rc = seg_error_set(err, SEG_EINVAL, "mood must be an object such as {\"energy\": 0.8}");
			goto out;
		}
		size_t mlen = 0;
		json_object_foreach(jm, key, v)
		{
			if (!json_is_number(v) || strpbrk(key, ",=") != NULL) {
				rc = seg_error_set(err, SEG_EINVAL, "mood.%.40s must be a number", key);
				goto out;
			}
			if ((rc = serve_mood_check(key, json_number_value(v), err)) < 0)
				goto out;
			int n = snprintf(out->mood + mlen, sizeof out->mood - mlen, "%s%s=%.17g", mlen ? "," : "", key,
			                 json_number_value(v));
			if (n < 0 || (size_t)n >= sizeof out->mood - mlen) {
				rc = seg_error_set(err, SEG_EINVAL, "mood has too many fields");
				goto out;
			}
			mlen += (size_t)n;
		}
	}
	json_t *jt = json_object_get(body, "title");
	if (jt != NULL && !json_is_null(jt)) {
		if (!json_is_string(jt) || json_string_length(jt) >= sizeof out->title ||
		    memchr(json_string_value(jt), '\0', json_string_length(jt)) != NULL) {
			rc = seg_error_set(err, SEG_EINVAL, "title must be text of at most %zu bytes",
			                   sizeof out->title - 1);
			goto out;
		}
		memcpy(out->title, json_string_value(jt), json_string_length(jt) + 1);
	}
	json_t *jk = json_object_get(body, "k");
	if (jk != NULL) {
		if (!json_is_integer(jk) || json_integer_value(jk) < 1 || json_integer_value(jk) > 100) {
			rc = seg_error_set(err, SEG_EINVAL, "k must be a whole number from 1 to 100");
			goto out;
		}
		out->k = (size_t)json_integer_value(jk);
	}
	json_t *ju = json_object_get(body, "user_id");
	if (ju != NULL && !json_is_null(ju)) {
		if (!json_is_string(ju) || json_string_length(ju) > EV_ID_MAX ||
		    strlen(json_string_value(ju)) != json_string_length(ju) || !ev_id_valid(json_string_value(ju))) {
			rc = seg_error_set(err, SEG_EINVAL,
			                   "user_id must be 1 to %d characters of A-Z, a-z, 0-9, '_', '.', ':' and '-'",
			                   EV_ID_MAX);
			goto out;
		}
		memcpy(out->user, json_string_value(ju), json_string_length(ju) + 1);
	}
	json_t *jmodel = json_object_get(body, "model");
	if (jmodel != NULL) {
		const char *name = json_is_string(jmodel) ? json_string_value(jmodel) : "";
		int m = -1;
		if (strncmp(name, "interleave:", 11) == 0) {
			/* "interleave:A,B": two registered models, teams A and B. */
			char pair[2][64];
			const char *comma = strchr(name + 11, ',');
			size_t la = comma ? (size_t)(comma - (name + 11)) : 0;
			if (comma == NULL || la == 0 || la >= sizeof pair[0] || strlen(comma + 1) >= sizeof pair[1] ||
			    strchr(comma + 1, ',') != NULL) {
				rc = seg_error_set(err, SEG_EINVAL,
				                   "model 'interleave:A,B' names two recommenders, A and B");
				goto out;
			}
			memcpy(pair[0], name + 11, la);
			pair[0][la] = '\0';
			snprintf(pair[1], sizeof pair[1], "%s", comma + 1);
			for (int t = 0; t < 2; t++)
				if ((out->interleave[t] = recommender_find(pair[t])) < 0) {
					char offered[512];
					recommender_names_join(", ", offered, sizeof offered);
					rc = seg_error_set(err, SEG_EINVAL, "interleave:A,B: team %c must be one of %s",
					                   'A' + t, offered);
					out->interleave[0] = out->interleave[1] = -1;
					goto out;
				}
			m = out->interleave[0];
		} else {
			m = recommender_find(name);
		}
		if (m < 0) {
			char offered[512];
			recommender_names_join(", ", offered, sizeof offered);
			rc = seg_error_set(err, SEG_EINVAL,
			                   "model must be one of %s, or interleave:A,B with two of them", offered);
			goto out;
		}
		out->model = m;
	}
	static const struct {
		const char *name;
		double lo, hi;
	} nums[5] = {{"diversity", 0, 1},
	             {"novelty", 0, 10},
	             {"quality", 0, 10},
	             {"max_per_artist", 0, 100},
	             {"knn_probe", 0, REC_KNN_PROBE_MAX}};
	for (int i = 0; i < 5; i++) {
		json_t *jv = json_object_get(body, nums[i].name);
		if (jv == NULL || json_is_null(jv))
			continue;
		double x = json_is_number(jv) ? json_number_value(jv) : NAN;
		if (!(x >= nums[i].lo && x <= nums[i].hi) || (i >= 3 && x != floor(x))) {
			rc = seg_error_set(err, SEG_EINVAL, "%s must be a %s between %g and %g", nums[i].name,
			                   i >= 3 ? "whole number" : "number", nums[i].lo, nums[i].hi);
			goto out;
		}
		if (i == 0)
			out->diversity = (float)x;
		else if (i == 1)
			out->novelty = (float)x;
		else if (i == 2)
			out->quality = (float)x;
		else if (i == 3)
			out->max_per_artist = (int)x;
		else
			out->knn_probe = (size_t)x;
	}
	json_t *jr = json_object_get(body, "rerank");
	if (jr != NULL) {
		if (!json_is_boolean(jr)) {
			rc = seg_error_set(err, SEG_EINVAL, "rerank must be true or false");
			goto out;
		}
		out->rerank = json_is_true(jr);
	}
	/* Every model that runs (both teams of an interleaving) gets what it
	 * needs. */
	for (int t = 0; t < (out->interleave[0] >= 0 ? 2 : 1) && rc == 0; t++) {
		const recommender *chosen = recommender_get(out->interleave[0] >= 0 ? out->interleave[t] : out->model);
		if (out->nseeds == 0 && out->mood[0] == '\0' && (chosen == NULL || (chosen->flags & REC_NEEDS_QUERY))) {
			if (chosen == NULL || !(chosen->flags & REC_USES_TITLE))
				rc = seg_error_set(err, SEG_EINVAL, "give seeds (Spotify track ids) or a mood");
			else if (out->title[0] == '\0')
				rc = seg_error_set(err, SEG_EINVAL,
				                   "give seeds (Spotify track ids), a mood or a title");
		}
	}
out:
	json_decref(body);
	return rc;
}

static enum MHD_Result h_recommend(server *s, struct MHD_Connection *c, req *r)
{
	if (r->too_big)
		return serve__send_error(c, r, 413, "payload_too_large", "the request body is over %d bytes",
		                         SERVE_MAX_BODY);
	serve_recommend_body *b = malloc(sizeof(*b));
	int64_t *exclude = malloc(sizeof(int64_t) * SERVE_MAX_EXCLUDE);
	seg_error err = {0};
	enum MHD_Result ret;
	if (b == NULL || exclude == NULL) {
		free(b);
		free(exclude);
		return serve__send_error(c, r, 503, "unavailable", "out of memory");
	}
	if (serve_parse_recommend(r->body.data, r->body.len, b, &err) < 0) {
		ret = serve__send_seg_error(c, r, &err); /* SEG_EFORMAT: bad_json */
		goto out;
	}
	rec_request rq;
	rec_request_default(&rq);
	/* A seed that is not in the catalogue is skipped, with a warning, when
	 * another one resolves; when none does, the answer is the 404. (Text
	 * that is not an id was refused above, 400.) */
	int64_t seeds[SERVE_MAX_SEEDS];
	char seed_name[SERVE_MAX_SEEDS][160];
	const char *seed_names[SERVE_MAX_SEEDS];
	char warning[SERVE_MAX_SEEDS + SERVE_MAX_DISLIKES][160];
	const char *warnings[SERVE_MAX_SEEDS + SERVE_MAX_DISLIKES];
	size_t nseeds = 0, nwarnings = 0;
	seg_error first = {0};
	for (size_t i = 0; i < b->nseeds; i++) {
		int rc = resolve_brief(s, b->seeds[i], &seeds[nseeds], seed_name[nseeds], sizeof seed_name[nseeds],
		                       &err);
		if (rc == SEG_ENOTFOUND) {
			if (first.code == 0)
				first = err;
			snprintf(warning[nwarnings], sizeof warning[nwarnings],
			         "seed '%s' is not in the catalogue; it was skipped", b->seeds[i]);
			warnings[nwarnings] = warning[nwarnings];
			nwarnings++;
			continue;
		}
		if (rc < 0) {
			ret = serve__send_seg_error(c, r, &err);
			goto out;
		}
		seed_names[nseeds] = seed_name[nseeds];
		nseeds++;
	}
	if (b->nseeds > 0 && nseeds == 0) {
		ret = serve__send_seg_error(c, r, &first);
		goto out;
	}
	size_t nx = 0;
	for (size_t i = 0; i < b->nexclude; i++) {
		int64_t t;
		if (resolve_brief(s, b->exclude[i], &t, NULL, 0, NULL) == 0)
			exclude[nx++] = t; /* unknown ids cannot be recommended anyway */
	}
	/* A disliked track that is not in the catalogue cannot come back: it is
	 * skipped with a warning, as an unknown seed is. */
	int64_t dislikes[SERVE_MAX_DISLIKES];
	size_t nd = 0;
	for (size_t i = 0; i < b->ndislikes; i++) {
		int rc = resolve_brief(s, b->dislikes[i], &dislikes[nd], NULL, 0, &err);
		if (rc == SEG_ENOTFOUND) {
			snprintf(warning[nwarnings], sizeof warning[nwarnings],
			         "disliked track '%s' is not in the catalogue; it was skipped", b->dislikes[i]);
			warnings[nwarnings] = warning[nwarnings];
			nwarnings++;
			continue;
		}
		if (rc < 0) {
			ret = serve__send_seg_error(c, r, &err);
			goto out;
		}
		nd++;
	}
	const char *genres[SERVE_MAX_GENRES];
	for (size_t i = 0; i < b->ngenres; i++)
		genres[i] = b->genres[i];
	rq.seeds = seeds;
	rq.nseeds = nseeds;
	rq.exclude = exclude;
	rq.nexclude = nx;
	rq.dislikes = dislikes;
	rq.ndislikes = nd;
	rq.genres = genres;
	rq.ngenres = b->ngenres;
	rq.year_min = b->year_min;
	rq.year_max = b->year_max;
	rq.mood = b->mood[0] ? b->mood : NULL;
	rq.title = b->title[0] ? b->title : NULL;
	rq.k = b->k;
	rq.model = b->model;
	rq.diversity = b->diversity;
	rq.novelty = b->novelty;
	rq.quality = b->quality;
	rq.max_per_artist = b->max_per_artist;
	rq.knn_probe = b->knn_probe;
	rq.rerank = b->rerank;
	/* The listener's experiment: its variant's configuration overrides
	 * what it names of the body (the model: an interleaving or a plain
	 * one, the knobs, the hybrid's weights). */
	ab_plan ab;
	hybrid_weights hw;
	ab.user = b->user;
	ab.experiment[0] = ab.variant[0] = '\0';
	ab.interleave[0] = b->interleave[0];
	ab.interleave[1] = b->interleave[1];
	exp_config cfg;
	if (b->user[0] != '\0' && serve__assign(s, b->user, ab.experiment, ab.variant, &cfg)) {
		serve__model_pick(s, &cfg); /* version=: the champion or the challenger answers */
		exp_config_apply(&cfg, &rq, &hw, &serve__cur->base_hybrid);
		if (cfg.interleave[0] >= 0) {
			ab.interleave[0] = cfg.interleave[0];
			ab.interleave[1] = cfg.interleave[1];
		} else if (cfg.model >= 0) {
			ab.interleave[0] = ab.interleave[1] = -1;
		}
	}
	ret = answer_recommend(s, c, r, &rq, seed_names, warnings, nwarnings, &ab);
out:
	free(b);
	free(exclude);
	return ret;
}

static enum MHD_Result h_similar(server *s, struct MHD_Connection *c, req *r, const char *id)
{
	seg_error err = {0};
	long k;
	lookup_hit h;
	if (int_arg(c, "k", 1, 100, 10, &k, &err) < 0 || resolve_id(s, id, &h, &err) < 0)
		return serve__send_seg_error(c, r, &err);
	if (!h.has_features)
		return serve__send_error(c, r, 404, "not_found", "track %s has no audio features to compare",
		                         h.spotify_id);
	rec_request rq;
	rec_request_default(&rq);
	rq.model = recommender_find("content"); /* similar = sounds alike */
	rq.rerank = 0;
	rq.k = (size_t)k;
	int64_t seed = h.track;
	rq.seeds = &seed;
	rq.nseeds = 1;
	const char *seed_names[1] = {h.name};
	return answer_recommend(s, c, r, &rq, seed_names, NULL, 0, NULL);
}

static enum MHD_Result h_gems(server *s, struct MHD_Connection *c, req *r)
{
	seg_error err = {0};
	long limit;
	if (int_arg(c, "limit", 1, 200, 20, &limit, &err) < 0)
		return serve__send_seg_error(c, r, &err);
	const char *genre = arg(c, "genre");
	const feat_spec *spec = engine_spec(serve__cur->eng);
	int g = -1;
	if (genre != NULL && *genre) {
		for (uint32_t i = 0; i < spec->ngenres; i++)
			if (strcasecmp(spec->genres[i], genre) == 0)
				g = (int)i;
		if (g < 0)
			return serve__send_error(c, r, 400, "bad_request",
			                         "genre '%.40s' is not in the model's genre vocabulary", genre);
	}
	size_t N = engine_rows(serve__cur->eng);
	float *pred = malloc(sizeof(float) * N), *act = malloc(sizeof(float) * N);
	if (!pred || !act) {
		free(pred);
		free(act);
		return serve__send_error(c, r, 503, "unavailable", "out of memory");
	}
	for (size_t i = 0; i < N; i++) {
		int in = g < 0 || engine_vector(serve__cur->eng, i)[FD_GENRE0 + g] > 0;
		pred[i] = in ? engine_predicted(serve__cur->eng, i) : NAN;
		act[i] = engine_popularity(serve__cur->eng, i);
	}
	quality_gem_opts go = {.min_gap = 15, .min_predicted = 40, .top_k = (size_t)limit};
	quality_gem *gems = NULL;
	size_t ng = 0;
	int rc = quality_gems_find(pred, act, N, &go, &gems, &ng, &err);
	free(pred);
	free(act);
	if (rc < 0)
		return serve__send_seg_error(c, r, &err);
	json_t *arr = json_array();
	for (size_t i = 0; i < ng; i++) {
		lookup_hit h;
		uint8_t found;
		int64_t track = engine_track_of(serve__cur->eng, gems[i].item);
		if (track_hits(s, &track, 1, &h, &found, NULL) < 0 || !found)
			continue;
		json_t *t = serve_track_json(&h);
		json_object_set_new(t, "predicted_popularity", json_real(gems[i].predicted));
		json_object_set_new(t, "gap", json_real(gems[i].gap));
		json_array_append_new(arr, t);
	}
	free(gems);
	return serve__send_json(c, r, 200, json_pack("{s:o}", "tracks", arr));
}

json_t *serve__clusters_array(engine *e)
{
	int K = engine_clusters(e);
	size_t *count = calloc((size_t)(K ? K : 1), sizeof(size_t));
	for (size_t i = 0; count && i < engine_rows(e); i++) {
		int k = engine_cluster_of(e, i);
		if (k >= 0 && k < K)
			count[k]++;
	}
	json_t *arr = json_array();
	for (int k = 0; k < K; k++)
		json_array_append_new(arr, json_pack("{s:i,s:I,s:s}", "cluster", k, "tracks",
		                                     (json_int_t)(count ? count[k] : 0), "description",
		                                     engine_cluster_words(e, k)));
	free(count);
	return arr;
}

/* The ETag of GET /api/map with this limit: the answer only changes with
 * the model (its version) and the rows it maps. */
static void map_etag(server *s, long limit, char *out, size_t cap)
{
	(void)s; /* the model is the request's (serve__cur) */
	snprintf(out, cap, "\"map-%s-%zu-%ld\"", serve__cur->version, engine_rows(serve__cur->eng), limit);
}

/* 1 when the request's If-None-Match names etag (or is "*"). */
static int etag_matches(struct MHD_Connection *c, const char *etag)
{
	const char *inm = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "If-None-Match");
	if (inm == NULL)
		return 0;
	if (strcmp(inm, "*") == 0)
		return 1;
	/* A list of tags, each possibly weak (W/"..."): a substring match of the
	 * whole quoted tag is enough, tags being quoted. */
	return strstr(inm, etag) != NULL;
}

/* GET /api/map: every mapped track (or an even sample of `limit`), as
 * parallel arrays, compact enough for ~100k points: x and y quantised to
 * 0..65535 over "bounds", the cluster of each point, and the Spotify ids as
 * one space-separated string (ids hold no space). Names are not sent: the
 * dashboard asks /api/tracks/{id} for the one point under the pointer. */
static enum MHD_Result h_map(server *s, struct MHD_Connection *c, req *r)
{
	seg_error err = {0};
	long limit;
	if (int_arg(c, "limit", 0, 10000000, 0, &limit, &err) < 0)
		return serve__send_seg_error(c, r, &err);
	char etag[128];
	map_etag(s, limit, etag, sizeof etag);
	if (etag_matches(c, etag))
		return serve__send_etag(c, r, 304, "application/json", "", 0, 0, etag);
	size_t N = engine_rows(serve__cur->eng);
	size_t step = limit > 0 && N > (size_t)limit ? (N + (size_t)limit - 1) / (size_t)limit : 1;
	const float *xy = engine_map_xy(serve__cur->eng);
	float x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
	for (size_t i = 0; i < N; i += step) {
		if (!isfinite(xy[2 * i]) || !isfinite(xy[2 * i + 1]))
			continue;
		x0 = fminf(x0, xy[2 * i]);
		x1 = fmaxf(x1, xy[2 * i]);
		y0 = fminf(y0, xy[2 * i + 1]);
		y1 = fmaxf(y1, xy[2 * i + 1]);
	}
	if (!(x1 > x0)) {
		x0 = isfinite(x0) ? x0 - 1 : -1;
		x1 = x0 + 2;
	}
	if (!(y1 > y0)) {
		y0 = isfinite(y0) ? y0 - 1 : -1;
		y1 = y0 + 2;
	}
	/* Built as text, one array at a time: ~100k small values through jansson
	 * would be slow. */
	strbuf sb = {0}, ys = {0}, cs = {0}, ids = {0};
	sqlite3 *db = thread_db(s);
	sqlite3_stmt *st = NULL;
	if (db && s->names == NULL)
		sqlite3_prepare_v2(db, "SELECT spotify_id FROM tracks WHERE id = ?1", -1, &st, NULL);
	strbuf_printf(&sb, "{\"version\":");
	strbuf_json(&sb, serve__cur->version);
	strbuf_printf(&sb, ",\"total\":%zu,\"bounds\":[%.6g,%.6g,%.6g,%.6g],\"scale\":65535,\"x\":[", N, (double)x0,
	              (double)y0, (double)x1, (double)y1);
	size_t n = 0;
	for (size_t i = 0; i < N; i += step) {
		float x = xy[2 * i], y = xy[2 * i + 1];
		if (!isfinite(x) || !isfinite(y))
			continue;
		long qx = lroundf((x - x0) / (x1 - x0) * 65535.0f), qy = lroundf((y - y0) / (y1 - y0) * 65535.0f);
		strbuf_printf(&sb, "%s%ld", n ? "," : "", qx);
		strbuf_printf(&ys, "%s%ld", n ? "," : "", qy);
		strbuf_printf(&cs, "%s%d", n ? "," : "", engine_cluster_of(serve__cur->eng, i));
		const char *sid = "";
		lookup_hit h;
		if (s->names != NULL && names_get(s->names, engine_track_of(serve__cur->eng, i), &h))
			sid = h.spotify_id;
		else if (st) {
			sqlite3_reset(st);
			sqlite3_bind_int64(st, 1, engine_track_of(serve__cur->eng, i));
			if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) != NULL)
				sid = (const char *)sqlite3_column_text(st, 0);
		}
		if (n)
			strbuf_putc(&ids, ' ');
		/* Ids are base-62; anything else would break the string apart. */
		for (const char *p = sid; *p; p++)
			strbuf_putc(&ids,
			            (*p == ' ' || *p == '"' || *p == '\\' || (unsigned char)*p < 0x20) ? '_' : *p);
		n++;
	}
	sqlite3_finalize(st);
	strbuf_puts(&sb, "],\"y\":[");
	strbuf_append(&sb, strbuf_cstr(&ys), ys.len);
	strbuf_puts(&sb, "],\"cluster\":[");
	strbuf_append(&sb, strbuf_cstr(&cs), cs.len);
	strbuf_printf(&sb, "],\"count\":%zu,\"ids\":\"", n);
	strbuf_append(&sb, strbuf_cstr(&ids), ids.len);
	strbuf_puts(&sb, "\",\"clusters\":");
	strbuf_puts(&sb, serve__cur->clusters_json);
	strbuf_puts(&sb, "}");
	int oom = ys.oom || cs.oom || ids.oom;
	strbuf_free(&ys);
	strbuf_free(&cs);
	strbuf_free(&ids);
	if (sb.oom || oom) {
		strbuf_free(&sb);
		return serve__send_error(c, r, 503, "unavailable", "out of memory");
	}
	enum MHD_Result ret = serve__send_etag(c, r, 200, "application/json", sb.data, sb.len, 1, etag);
	strbuf_free(&sb);
	return ret;
}

/* GET /api/genres: the genres the model knows (its genre vocabulary: what
 * the genre filters of /api/recommend and /api/gems take), each with its
 * tracks in the catalogue, most tracks first (ties by name), at most
 * `limit` (default 300): what the dashboard's genre filter offers. */
static enum MHD_Result h_genres(server *s, struct MHD_Connection *c, req *r)
{
	seg_error err = {0};
	long limit;
	if (int_arg(c, "limit", 1, 100000, 300, &limit, &err) < 0)
		return serve__send_seg_error(c, r, &err);
	sqlite3 *db = thread_db(s);
	if (db == NULL)
		return serve__send_error(c, r, 503, "unavailable", "the catalogue cannot be opened");
	const feat_spec *spec = engine_spec(serve__cur->eng);
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db,
	                       "SELECT count(*) FROM track_genres tg JOIN genres g ON g.id = tg.genre_id"
	                       " WHERE g.name = lower(?1)",
	                       -1, &st, NULL) != SQLITE_OK)
		return serve__send_error(c, r, 500, "internal", "%s", sqlite3_errmsg(db));
	uint32_t n = spec->ngenres;
	int64_t *count = calloc(n ? n : 1, sizeof *count);
	uint32_t *order = calloc(n ? n : 1, sizeof *order);
	if (count == NULL || order == NULL) {
		sqlite3_finalize(st);
		free(count);
		free(order);
		return serve__send_error(c, r, 503, "unavailable", "out of memory");
	}
	for (uint32_t i = 0; i < n; i++) {
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, spec->genres[i], -1, SQLITE_STATIC);
		count[i] = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
		/* Insertion sort: a vocabulary is a few dozen names. */
		uint32_t j = i;
		while (j > 0 &&
		       (count[order[j - 1]] < count[i] ||
		        (count[order[j - 1]] == count[i] && strcmp(spec->genres[order[j - 1]], spec->genres[i]) > 0))) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = i;
	}
	sqlite3_finalize(st);
	json_t *arr = json_array();
	for (uint32_t j = 0; j < n && j < (uint32_t)limit; j++)
		json_array_append_new(arr, json_pack("{s:s,s:I}", "name", spec->genres[order[j]], "tracks",
		                                     (json_int_t)count[order[j]]));
	free(count);
	free(order);
	return serve__send_json(c, r, 200, json_pack("{s:o}", "genres", arr));
}

static enum MHD_Result h_chart(server *s, struct MHD_Connection *c, req *r, const char *name)
{
	char base[80];
	size_t len = strlen(name);
	if (len < 5 || len - 4 >= sizeof base || strcmp(name + len - 4, ".svg") != 0)
		return serve__send_error(c, r, 404, "not_found", "charts are named NAME.svg; see /api/eda/summary");
	memcpy(base, name, len - 4);
	base[len - 4] = '\0';
	const eda_chart *ch = eda_charts_find(&s->charts, base);
	if (ch == NULL)
		return serve__send_error(c, r, 404, "not_found", "no chart named '%s'; see /api/eda/summary", base);
	return serve__send_bytes(c, r, 200, "image/svg+xml", ch->svg, strlen(ch->svg), 0);
}

/* The name a client may see for an absolute path: the part from its last
 * "models/" on ("models/v3/model.seg"), else its last component. NULL for
 * a string that is not an absolute path (kept as it is). */
static json_t *hidden_path(const char *text)
{
	if (text[0] != '/')
		return NULL;
	const char *m = NULL;
	for (const char *p = strstr(text, "/models/"); p; p = strstr(p + 1, "/models/"))
		m = p + 1;
	json_t *hidden = json_string(m ? m : strrchr(text, '/') + 1);
	return hidden ? hidden : json_null(); /* out of memory: the path goes, all the same */
}

/* Rewrites every absolute path among j's strings, object members and array
 * elements alike, at any depth (evaluation.json names the model file it
 * scored) as hidden_path says: where the workspace lives on the server's
 * disk is no business of a client. */
static void hide_paths(json_t *j)
{
	const char *key;
	json_t *v, *hidden;
	size_t i;
	if (json_is_object(j)) {
		json_object_foreach(j, key, v)
		{
			if (!json_is_string(v))
				hide_paths(v);
			else if ((hidden = hidden_path(json_string_value(v))) != NULL)
				json_object_set_new(j, key, hidden);
		}
	} else if (json_is_array(j)) {
		json_array_foreach(j, i, v)
		{
			if (!json_is_string(v))
				hide_paths(v);
			else if ((hidden = hidden_path(json_string_value(v))) != NULL)
				json_array_set_new(j, i, hidden);
		}
	}
}

static enum MHD_Result h_models(server *s, struct MHD_Connection *c, req *r)
{
	/* The published versions, newest first (the workspace module lists
	 * them: no temporary or incomplete directory is taken for one). */
	seg_error err = {0};
	int *versions = NULL;
	size_t n = 0;
	if (workspace_models_list(s->o->workspace, &versions, &n, &err) < 0)
		return serve__send_seg_error(c, r, &err);
	json_t *arr = json_array();
	for (size_t i = n; i-- > 0;) {
		char name[16], model[PATH_MAX], path[PATH_MAX + 32];
		snprintf(name, sizeof name, "v%d", versions[i]);
		json_t *ev = NULL, *meta = NULL;
		if (workspace_model_file(s->o->workspace, versions[i], model, sizeof model, &err) == 0) {
			/* evaluation.json lies beside model.seg */
			char *slash = strrchr(model, '/');
			if (slash != NULL) {
				*slash = '\0';
				snprintf(path, sizeof path, "%s/%s", model, WORKSPACE_EVALUATION_FILE);
				json_error_t je;
				ev = json_load_file(path, 0, &je);
			}
		}
		int serving = strcmp(name, serve__cur->version) == 0;
		if (serving) {
			json_error_t je;
			meta = json_loads(engine_meta_json(serve__cur->eng), 0, &je);
		}
		hide_paths(ev);
		hide_paths(meta);
		json_array_append_new(arr,
		                      json_pack("{s:s,s:o,s:o,s:b}", "version", name, "meta", meta ? meta : json_null(),
		                                "evaluation", ev ? ev : json_null(), "serving", serving));
	}
	free(versions);
	/* The recommenders the engine serves, from the registry: what "model"
	 * of POST /api/recommend takes, and the one it gets when it names none. */
	rec_request def;
	rec_request_default(&def);
	/* The serving model's genre vocabulary: what "genres" of POST
	 * /api/recommend takes. */
	json_t *genres = json_array();
	const feat_spec *spec = engine_spec(serve__cur->eng);
	for (uint32_t g = 0; g < spec->ngenres; g++)
		json_array_append_new(genres, json_string(spec->genres[g]));
	/* The re-ranking knobs a request gets when it sets none (tuned on
	 * validation when `segue tune` ran): the dashboard starts from them. */
	json_t *knobs = json_pack("{s:f,s:f,s:i}", "diversity", round(def.diversity * 1e6) / 1e6, "novelty",
	                          round(def.novelty * 1e6) / 1e6, "max_per_artist", def.max_per_artist);
	return serve__send_json(c, r, 200,
	                        json_pack("{s:o,s:o,s:s,s:o,s:o}", "models", arr, "recommenders",
	                                  recommender_list_json(), "default_recommender", recommender_name(def.model),
	                                  "genres", genres, "rerank_defaults", knobs));
}

/* ---- the OpenAPI document ---- */

/* Fills in the lists at every schema of the document `j` that names one
 * with "x-segue-enum" (and drops the marker): "recommenders" sets its enum
 * to the registry's names and its default to the model a request gets when
 * it names none; "reason_codes" sets its enum to the engine's reason codes.
 * SEG_EFORMAT for a marker naming no such list, SEG_ENOMEM. */
static int openapi_fill(json_t *j, json_t *models, json_t *codes, seg_error *err)
{
	const char *key;
	json_t *v;
	size_t i;
	if (json_is_array(j)) {
		json_array_foreach(j, i, v)
		{
			int rc = openapi_fill(v, models, codes, err);
			if (rc < 0)
				return rc;
		}
		return 0;
	}
	if (!json_is_object(j))
		return 0;
	json_t *mark = json_object_get(j, "x-segue-enum");
	if (mark != NULL) {
		const char *list = json_string_value(mark);
		rec_request def;
		rec_request_default(&def);
		int rc = 0;
		if (list != NULL && strcmp(list, "recommenders") == 0)
			rc = json_object_set(j, "enum", models) |
			     json_object_set_new(j, "default", json_string(recommender_name(def.model)));
		else if (list != NULL && strcmp(list, "reason_codes") == 0)
			rc = json_object_set(j, "enum", codes);
		else
			return seg_error_set(err, SEG_EFORMAT,
			                     "openapi.json: x-segue-enum names no list the server has");
		if (rc != 0 || json_object_del(j, "x-segue-enum") != 0)
			return seg_error_set(err, SEG_ENOMEM, "out of memory");
	}
	json_object_foreach(j, key, v)
	{
		int rc = openapi_fill(v, models, codes, err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int serve__openapi_build(server *s, seg_error *err)
{
	const asset *a = asset_find("/openapi.json");
	s->openapi = NULL;
	if (a == NULL)
		return 0; /* a build without the dashboard's files */
	json_error_t je;
	json_t *doc = json_loadb((const char *)a->data, a->len, 0, &je);
	json_t *models = json_array(), *codes = json_array();
	int rc = 0;
	if (doc == NULL) {
		rc = seg_error_set(err, SEG_EFORMAT, "openapi.json: %s (line %d)", je.text, je.line);
		goto out;
	}
	for (size_t i = 0; models != NULL && i < recommender_count(); i++)
		if (json_array_append_new(models, json_string(recommender_name((int)i))) != 0)
			goto oom;
	for (size_t b = 0; codes != NULL && b < REASON__BITS; b++)
		if (json_array_append_new(codes, json_string(rec_reason_codes[b])) != 0)
			goto oom;
	if (models == NULL || codes == NULL)
		goto oom;
	if ((rc = openapi_fill(doc, models, codes, err)) < 0)
		goto out;
	/* The re-ranking defaults as this server applies them (tuned ones when
	 * `segue tune` chose them). */
	json_t *props = json_object_get(
		json_object_get(json_object_get(json_object_get(doc, "components"), "schemas"), "RecommendRequest"),
		"properties");
	rec_request def;
	rec_request_default(&def);
	const struct {
		const char *name;
		json_t *value;
	} defaults[] = {{"diversity", json_real(round(def.diversity * 1e6) / 1e6)},
	                {"novelty", json_real(round(def.novelty * 1e6) / 1e6)},
	                {"max_per_artist", json_integer(def.max_per_artist)}};
	for (size_t i = 0; i < sizeof defaults / sizeof *defaults; i++) {
		json_t *p = json_object_get(props, defaults[i].name);
		if (json_is_object(p) && defaults[i].value != NULL)
			json_object_set(p, "default", defaults[i].value);
		json_decref(defaults[i].value);
	}
	/* Real numbers as they are written in the file (0.3, not 0.29999...). */
	if ((s->openapi = json_dumps(doc, JSON_INDENT(1) | JSON_REAL_PRECISION(15))) == NULL)
		goto oom;
	goto out;
oom:
	rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
out:
	json_decref(doc);
	json_decref(models);
	json_decref(codes);
	return rc;
}

/* ---- dispatch ---- */

/* Whether url is the route path `pattern`: the same text, where a {param}
 * stands for one non-empty path segment (no '/'), which goes into
 * param[cap] (cut to fit: no route takes so long a parameter). */
static int route_match(const char *pattern, const char *url, char *param, size_t cap)
{
	const char *open = strchr(pattern, '{');
	if (open == NULL)
		return strcmp(pattern, url) == 0;
	size_t pre = (size_t)(open - pattern);
	const char *suffix = strchr(open, '}') + 1;
	if (strncmp(url, pattern, pre) != 0)
		return 0;
	const char *seg = url + pre;
	size_t len = strcspn(seg, "/");
	if (len == 0 || strcmp(seg + len, suffix) != 0)
		return 0;
	if (len >= cap)
		len = cap - 1;
	memcpy(param, seg, len);
	param[len] = '\0';
	return 1;
}

static enum MHD_Result dispatch_route(server *s, struct MHD_Connection *c, req *r, const char *url, const char *method)
{
	int get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	int post = strcmp(method, "POST") == 0;
	/* The route of this path and method; a path routed for other methods
	 * only is a 405 naming them. */
	char param[256];
	int route = -1, other = -1;
	int allow_get = 0, allow_post = 0;
	for (size_t i = 0; i < serve_nroutes && route < 0; i++) {
		if (!route_match(serve_routes[i].path, url, param, sizeof param))
			continue;
		int want_post = strcmp(serve_routes[i].method, "POST") == 0;
		if ((want_post && post) || (!want_post && get))
			route = (int)i;
		else if (other < 0)
			other = (int)i;
		allow_post |= want_post;
		allow_get |= !want_post;
	}
	if (route < 0 && other >= 0) {
		r->route = other;
		return serve__send_405(c, r, serve_routes[other].path,
		                       allow_get && allow_post ? "GET, HEAD, POST"
		                       : allow_post            ? "POST"
		                                               : "GET, HEAD");
	}
	if (route >= 0) {
		r->route = route;
		switch (route) {
		case R_HEALTH: return h_health(s, c, r);
		case R_TRACKS: return h_tracks(s, c, r);
		case R_TRACK: return h_track(s, c, r, param);
		case R_RECOMMEND: return h_recommend(s, c, r);
		case R_SIMILAR: return h_similar(s, c, r, param);
		case R_GEMS: return h_gems(s, c, r);
		case R_CLUSTERS:
			return serve__send_json(c, r, 200,
			                        json_pack("{s:o}", "clusters", serve__clusters_array(serve__cur->eng)));
		case R_MAP: return h_map(s, c, r);
		case R_GENRES: return h_genres(s, c, r);
		case R_EDA:
			return serve__send_bytes(c, r, 200, "application/json", s->summary ? s->summary : "{}",
			                         s->summary ? s->summary_len : 2, 0);
		case R_CHART: return h_chart(s, c, r, param);
		case R_MODELS: return h_models(s, c, r);
		case R_OPENAPI:
			if (s->openapi == NULL)
				return serve__send_error(c, r, 404, "not_found", "this build has no OpenAPI document");
			return serve__send_bytes(c, r, 200, "application/json", s->openapi, strlen(s->openapi), 0);
		case R_RUNS:
		case R_RUN:
		case R_REGISTRY:
		case R_PIPELINE: return serve__runs_route(s, c, r, route == R_RUN ? param : NULL);
		case R_METRICS: {
			strbuf sb = {0};
			serve__metrics_text(s, &sb);
			enum MHD_Result ret =
				serve__send_bytes(c, r, 200, "text/plain; version=0.0.4", strbuf_cstr(&sb), sb.len, 1);
			strbuf_free(&sb);
			return ret;
		}
		case R_DASHBOARD: {
			const asset *a = asset_find("/index.html");
			if (a == NULL)
				return serve__send_error(c, r, 404, "not_found", "this build has no dashboard");
			return serve__send_bytes(c, r, 200, a->type, a->data, a->len, 0);
		}
		default: return serve__experiment_route(s, c, r, strchr(serve_routes[route].path, '{') ? param : NULL);
		}
	}
	/* Dashboard files. */
	const asset *a = asset_find(url);
	if (a != NULL) {
		r->route = R_STATIC;
		if (!get)
			return serve__send_405(c, r, url, "GET, HEAD");
		return serve__send_bytes(c, r, 200, a->type, a->data, a->len, 0);
	}
	r->route = R_NOTFOUND;
	return serve__send_error(c, r, 404, "not_found", "no route %s %.200s; see /openapi.json", method, url);
}

_Thread_local serve_model *serve__cur;

enum MHD_Result serve__dispatch(server *s, struct MHD_Connection *c, req *r, const char *url, const char *method)
{
	/* Every answer is built whole (copied into the response) before the
	 * handler returns, so the model is needed only for this call. */
	serve__cur = serve__model_acquire(s);
	enum MHD_Result ret = dispatch_route(s, c, r, url, method);
	serve__model_release(serve__cur);
	serve__cur = NULL;
	return ret;
}
