/* serve.c: the HTTP server (see serve.h).
 *
 * Requests run on libmicrohttpd's thread pool. Each worker thread opens its own
 * read-only SQLite connection on first use; the engine (mapped model) is shared.
 * Every handler either answers or returns an error value that becomes a 4xx/5xx
 * with {"error", "detail"}: nothing on a request path exits. */
#include "serve/serve.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "serve/assets.h"
#include "catalog/catalog.h"
#include "report/eda.h"
#include "models/knn.h"
#include "catalog/lookup.h"
#include "catalog/names.h"
#include "core/progress.h"
#include "catalog/query.h"
#include "models/quality.h"
#include "engine/recommend.h"
#include "core/strbuf.h"
#include "ingest/track.h"
#include "engine/train.h"


const asset *asset_find(const char *path)
{
	for (size_t i = 0; i < nassets; i++)
		if (strcmp(assets[i].path, path) == 0)
			return &assets[i];
	return NULL;
}

/* ---- routes and metrics ---- */

enum route_id {
	R_HEALTH, R_TRACKS, R_TRACK, R_RECOMMEND, R_SIMILAR, R_GEMS, R_CLUSTERS, R_MAP, R_EDA,
	R_CHART, R_MODELS, R_OPENAPI, R_METRICS, R_DASHBOARD, R_STATIC, R_NOTFOUND, R__COUNT
};

const serve_route serve_routes[] = {
	[R_HEALTH] = {"GET", "/api/health"},
	[R_TRACKS] = {"GET", "/api/tracks"},
	[R_TRACK] = {"GET", "/api/tracks/{id}"},
	[R_RECOMMEND] = {"POST", "/api/recommend"},
	[R_SIMILAR] = {"GET", "/api/similar/{id}"},
	[R_GEMS] = {"GET", "/api/gems"},
	[R_CLUSTERS] = {"GET", "/api/clusters"},
	[R_MAP] = {"GET", "/api/map"},
	[R_EDA] = {"GET", "/api/eda/summary"},
	[R_CHART] = {"GET", "/api/charts/{name}"},
	[R_MODELS] = {"GET", "/api/models"},
	[R_OPENAPI] = {"GET", "/openapi.json"},
	[R_METRICS] = {"GET", "/metrics"},
	[R_DASHBOARD] = {"GET", "/"},
};
const size_t serve_nroutes = R_DASHBOARD + 1;

/* Names for metrics of the routes that are not API routes. */
static const char *route_label(int r)
{
	if (r == R_STATIC)
		return "static";
	if (r == R_NOTFOUND)
		return "unmatched";
	return serve_routes[r].path;
}

/* Latency histogram bucket upper bounds, seconds. */
static const double BUCKETS[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};
#define NBUCKETS (sizeof BUCKETS / sizeof *BUCKETS)

typedef struct route_stats {
	atomic_ulong status[6];           /* by status class 1xx..5xx (index 1..5) */
	atomic_ulong bucket[NBUCKETS + 1]; /* last = +Inf */
	atomic_ulong micros;              /* sum of latencies */
} route_stats;

/* ---- server state ---- */

typedef struct server {
	const serve_options *o;
	engine *eng;
	names *names;              /* display fields without SQL; NULL: they come from SQLite */
	char dbpath[PATH_MAX];
	char model_path[PATH_MAX];
	char version[64];
	char *summary;             /* EDA summary JSON */
	size_t summary_len;
	eda_charts charts;
	char *clusters_json;
	route_stats stats[R__COUNT];
	double started;
	atomic_ulong next_id;
	pthread_mutex_t lock;      /* guards dbs[] and the access log */
	sqlite3 *dbs[64];          /* every per-thread connection, closed at exit */
	size_t ndbs;
} server;

static _Thread_local sqlite3 *tl_db;

static sqlite3 *thread_db(server *s)
{
	if (tl_db != NULL)
		return tl_db;
	sqlite3 *db;
	if (query_open(s->dbpath, &db, NULL) < 0)
		return NULL;
	pthread_mutex_lock(&s->lock);
	if (s->ndbs < sizeof s->dbs / sizeof *s->dbs)
		s->dbs[s->ndbs++] = db;
	pthread_mutex_unlock(&s->lock);
	tl_db = db;
	return db;
}

/* Per-request state. */
typedef struct req {
	double t0;
	int route;
	unsigned status;
	strbuf body;
	int too_big;
	char method[8];
	char url[256];
} req;

/* ---- responses ---- */

static enum MHD_Result send_bytes(struct MHD_Connection *c, req *r, unsigned status, const char *type,
                                  const void *data, size_t len, int copy)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(
		len, (void *)data, copy ? MHD_RESPMEM_MUST_COPY : MHD_RESPMEM_PERSISTENT);
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", type);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	r->status = status;
	enum MHD_Result ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* Sends the JSON text in sb (and empties it). */
static enum MHD_Result send_strbuf(struct MHD_Connection *c, req *r, unsigned status, strbuf *sb)
{
	if (sb->oom) {
		strbuf_free(sb);
		return send_bytes(c, r, 500, "application/json", "{\"error\":\"internal\",\"detail\":\"out of memory\"}",
		                  46, 0);
	}
	enum MHD_Result ret = send_bytes(c, r, status, "application/json", strbuf_cstr(sb), sb->len, 1);
	strbuf_free(sb);
	return ret;
}

static enum MHD_Result send_json(struct MHD_Connection *c, req *r, unsigned status, json_t *j)
{
	char *text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (text == NULL)
		return send_bytes(c, r, 500, "application/json", "{\"error\":\"internal\",\"detail\":\"out of memory\"}",
		                  46, 0);
	enum MHD_Result ret = send_bytes(c, r, status, "application/json", text, strlen(text), 1);
	free(text);
	return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *c, req *r, unsigned status, const char *error,
                                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static enum MHD_Result send_error(struct MHD_Connection *c, req *r, unsigned status, const char *error,
                                  const char *fmt, ...)
{
	char detail[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	return send_json(c, r, status, json_pack("{s:s,s:s}", "error", error, "detail", detail));
}

/* Maps a library error to an HTTP status. */
static enum MHD_Result send_seg_error(struct MHD_Connection *c, req *r, const seg_error *err)
{
	unsigned status = 500;
	const char *kind = "internal";
	switch (err->code) {
	case SEG_EINVAL: status = 400; kind = "bad_request"; break;
	case SEG_ENOTFOUND: status = 404; kind = "not_found"; break;
	case SEG_ENOMEM:
	case SEG_EDB: status = 503; kind = "unavailable"; break;
	default: break;
	}
	return send_error(c, r, status, kind, "%s", err->msg[0] ? err->msg : seg_strerror(err->code));
}

/* ---- query-string helpers ---- */

static const char *arg(struct MHD_Connection *c, const char *name)
{
	return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
}

/* Parses an integer argument in [lo, hi]; absent gives def. Returns -1 on a
 * bad value (err filled). */
static int int_arg(struct MHD_Connection *c, const char *name, long lo, long hi, long def, long *out,
                   seg_error *err)
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
		seg_error_set(err, SEG_EINVAL, "%s must be a whole number from %ld to %ld, not '%.40s'", name, lo, hi, v);
		return -1;
	}
	*out = x;
	return 0;
}

/* ---- track JSON ---- */

/* The fields of a track in every answer, written as JSON members (no
 * braces). Names come from the catalogue as they were ingested; strbuf_json
 * makes any byte that is not UTF-8 a U+FFFD, so the answer stays valid. */
static void track_fields(strbuf *sb, const lookup_hit *h)
{
	strbuf_puts(sb, "\"id\":");
	strbuf_json(sb, h->spotify_id);
	strbuf_puts(sb, ",\"name\":");
	strbuf_json(sb, h->name);
	strbuf_puts(sb, ",\"artists\":");
	strbuf_json(sb, h->artists);
	strbuf_puts(sb, ",\"genres\":");
	strbuf_json(sb, h->genres);
	strbuf_puts(sb, h->has_features ? ",\"has_features\":true" : ",\"has_features\":false");
	strbuf_puts(sb, ",\"url\":\"https://open.spotify.com/track/");
	strbuf_puts(sb, h->spotify_id); /* base-62 */
	strbuf_puts(sb, "\",\"popularity\":");
	if (h->popularity >= 0 && h->popularity <= 100) { /* 0..100: no printf */
		char num[4] = {0};
		int p = h->popularity, k = 0;
		if (p >= 100)
			num[k++] = '1';
		if (p >= 10)
			num[k++] = (char)('0' + p / 10 % 10);
		num[k] = (char)('0' + p % 10);
		strbuf_puts(sb, num);
	} else if (h->popularity >= 0)
		strbuf_printf(sb, "%d", h->popularity);
	else
		strbuf_puts(sb, "null");
}

/* A track as a jansson object, for the answers built with jansson. */
static json_t *track_json(const lookup_hit *h)
{
	strbuf sb = {0};
	strbuf_putc(&sb, '{');
	track_fields(&sb, h);
	strbuf_putc(&sb, '}');
	json_t *j = json_loadb(strbuf_cstr(&sb), sb.len, 0, NULL);
	strbuf_free(&sb);
	return j ? j : json_object();
}

/* A Spotify id in a path or body, normalised into id[TRACK_ID_LEN + 1]. */
static int parse_id(const char *text, char *id, seg_error *err)
{
	if (track_parse_id(text, id) < 0)
		return seg_error_set(err, SEG_EINVAL, "'%.60s' is not a Spotify track id (22 base-62 characters)", text);
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
	return send_json(c, r, 200,
	                 json_pack("{s:s,s:s,s:s,s:I,s:f}", "status", "ok", "version", SEGUE_VERSION, "model", s->version,
	                           "tracks", (json_int_t)engine_rows(s->eng), "uptime_seconds",
	                           progress_now() - s->started));
}

static enum MHD_Result h_tracks(server *s, struct MHD_Connection *c, req *r)
{
	seg_error err = {0};
	long limit;
	if (int_arg(c, "limit", 1, 100, 20, &limit, &err) < 0)
		return send_seg_error(c, r, &err);
	const char *q = arg(c, "q"), *genre = arg(c, "genre");
	if ((q == NULL || *q == '\0') && (genre == NULL || *genre == '\0'))
		return send_error(c, r, 400, "bad_request", "give q (words to search for) or genre");
	if (q != NULL && strlen(q) > 200)
		return send_error(c, r, 400, "bad_request", "q is longer than 200 characters");
	sqlite3 *db = thread_db(s);
	if (db == NULL)
		return send_error(c, r, 503, "unavailable", "the catalogue cannot be opened");
	lookup_hit hits[100];
	size_t n = 0;
	json_t *arr = json_array();
	if (q != NULL && *q) {
		/* Search wider when a genre narrows the hits afterwards. */
		lookup_hit many[400];
		size_t want = genre && *genre ? 400 : (size_t)limit;
		size_t got = 0;
		if (lookup_search(db, q, want, many, &got, &err) < 0) {
			json_decref(arr);
			return send_seg_error(c, r, &err);
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
			return send_error(c, r, 500, "internal", "%s", sqlite3_errmsg(db));
		}
		sqlite3_bind_text(st, 1, genre, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, limit);
		while (sqlite3_step(st) == SQLITE_ROW && n < (size_t)limit)
			if (lookup_track(db, sqlite3_column_int64(st, 0), &hits[n], NULL) == 0)
				n++;
		sqlite3_finalize(st);
	}
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, track_json(&hits[i]));
	return send_json(c, r, 200, json_pack("{s:o,s:I}", "tracks", arr, "count", (json_int_t)n));
}

static enum MHD_Result h_track(server *s, struct MHD_Connection *c, req *r, const char *id)
{
	lookup_hit h;
	seg_error err = {0};
	if (resolve_id(s, id, &h, &err) < 0)
		return send_seg_error(c, r, &err);
	sqlite3 *db = thread_db(s);
	if (db == NULL)
		return send_error(c, r, 503, "unavailable", "the catalogue cannot be opened");
	json_t *j = track_json(&h);
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
				                    sqlite3_column_type(st, i) == SQLITE_NULL ? json_null()
				                                                              : json_real(sqlite3_column_double(st, i)));
		}
		sqlite3_finalize(st);
	}
	json_object_set_new(j, "features", feat);
	int32_t row = engine_row_of(s->eng, h.track);
	if (row >= 0) {
		int k = engine_cluster_of(s->eng, (size_t)row);
		json_object_set_new(j, "cluster",
		                    json_pack("{s:i,s:s}", "id", k, "description", engine_cluster_words(s->eng, k)));
		float p = engine_predicted(s->eng, (size_t)row);
		json_object_set_new(j, "predicted_popularity", isnan(p) ? json_null() : json_real(p));
	} else {
		json_object_set_new(j, "cluster", json_null());
		json_object_set_new(j, "predicted_popularity", json_null());
	}
	return send_json(c, r, 200, j);
}

static const char *const REASON_CODES[] = {"content", "cf", "gem", "new_genre", "popular", "mood", "random"};

/* Runs a request and writes the response. */
static enum MHD_Result answer_recommend(server *s, struct MHD_Connection *c, req *r, rec_request *rq,
                                        const char *const *seed_names)
{
	rec_item items[100];
	size_t n = 0;
	const char *shortfall = "";
	seg_error err = {0};
	if (engine_recommend(s->eng, rq, items, &n, &shortfall, &err) < 0)
		return send_seg_error(c, r, &err);
	char rid[32];
	unsigned long id = atomic_fetch_add(&s->next_id, 1);
	snprintf(rid, sizeof rid, "%08lx-%06lx", (unsigned long)time(NULL), id & 0xffffff);
	int64_t ids[100];
	lookup_hit hits[100];
	uint8_t found[100];
	for (size_t i = 0; i < n; i++)
		ids[i] = items[i].track;
	if (track_hits(s, ids, n, hits, found, &err) < 0)
		return send_error(c, r, 503, "unavailable", "the catalogue cannot be read");
	strbuf sb = {0};
	serve_write_recommend(&sb, s->eng, rid, rec_model_names[rq->model], items, n, hits, found, seed_names, rq->nseeds,
	                      shortfall);
	return send_strbuf(c, r, 200, &sb);
}

/* Written directly rather than through jansson objects: the most requested
 * answer, and building and dumping a document of ten tracks cost about as
 * much as the catalogue lookups. */
void serve_write_recommend(strbuf *sb, const engine *e, const char *request_id, const char *model,
                           const rec_item *items, size_t n, const lookup_hit *hits, const uint8_t *found,
                           const char *const *seed_names, size_t nseeds, const char *shortfall)
{
	strbuf_puts(sb, "{\"request_id\":");
	strbuf_json(sb, request_id);
	strbuf_puts(sb, ",\"model\":");
	strbuf_json(sb, model);
	strbuf_puts(sb, ",\"tracks\":[");
	size_t out = 0;
	for (size_t i = 0; i < n; i++) {
		if (!found[i])
			continue;
		char why[512];
		rec_reason_text(e, &items[i], seed_names, nseeds, why, sizeof why);
		strbuf_puts(sb, out++ ? ",{" : "{");
		track_fields(sb, &hits[i]);
		strbuf_printf(sb, ",\"rank\":%zu,\"score\":%.9g,\"reasons\":", i + 1, (double)items[i].score);
		strbuf_json(sb, why);
		strbuf_puts(sb, ",\"reason_codes\":[");
		const char *sep = "";
		for (size_t b = 0; b < sizeof REASON_CODES / sizeof *REASON_CODES; b++)
			if (items[i].reasons & (1u << b)) {
				strbuf_puts(sb, sep);
				strbuf_json(sb, REASON_CODES[b]);
				sep = ",";
			}
		strbuf_puts(sb, "]}");
	}
	strbuf_puts(sb, "],\"shortfall\":");
	strbuf_json(sb, shortfall ? shortfall : "");
	strbuf_putc(sb, '}');
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
	out->rerank = def.rerank;
	json_error_t je;
	json_t *body = json_loadb(text ? text : "", len, JSON_REJECT_DUPLICATES, &je);
	if (body == NULL)
		return seg_error_set(err, SEG_EINVAL, "the body is not valid JSON: %s (line %d, column %d)", je.text,
		                     je.line, je.column);
	int rc = 0;
	const char *key;
	json_t *v;
	if (!json_is_object(body)) {
		rc = seg_error_set(err, SEG_EINVAL, "the body must be a JSON object");
		goto out;
	}
	/* Reject unknown fields: a typo should not be silently ignored. */
	static const char *const known[] = {"seeds", "mood", "k", "model", "diversity", "novelty", "quality",
	                                    "max_per_artist", "exclude", "rerank"};
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
	} lists[2] = {{"seeds", SERVE_MAX_SEEDS}, {"exclude", SERVE_MAX_EXCLUDE}};
	for (int l = 0; l < 2; l++) {
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
			char *dst = l == 0 ? out->seeds[i] : out->exclude[i];
			if (!json_is_string(e) || track_parse_id(json_string_value(e), dst) < 0) {
				rc = seg_error_set(err, SEG_EINVAL, "%s[%zu] is not a Spotify track id (22 base-62 characters)",
				                   lists[l].name, i);
				goto out;
			}
		}
		*(l == 0 ? &out->nseeds : &out->nexclude) = json_array_size(arr);
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
			int n = snprintf(out->mood + mlen, sizeof out->mood - mlen, "%s%s=%.17g", mlen ? "," : "", key,
			                 json_number_value(v));
			if (n < 0 || (size_t)n >= sizeof out->mood - mlen) {
				rc = seg_error_set(err, SEG_EINVAL, "mood has too many fields");
				goto out;
			}
			mlen += (size_t)n;
		}
	}
	json_t *jk = json_object_get(body, "k");
	if (jk != NULL) {
		if (!json_is_integer(jk) || json_integer_value(jk) < 1 || json_integer_value(jk) > 100) {
			rc = seg_error_set(err, SEG_EINVAL, "k must be a whole number from 1 to 100");
			goto out;
		}
		out->k = (size_t)json_integer_value(jk);
	}
	json_t *jmodel = json_object_get(body, "model");
	if (jmodel != NULL) {
		int m = json_is_string(jmodel) ? rec_model_parse(json_string_value(jmodel)) : -1;
		if (m < 0) {
			rc = seg_error_set(err, SEG_EINVAL, "model must be one of hybrid, content, cooc, als, popular, random");
			goto out;
		}
		out->model = m;
	}
	static const struct {
		const char *name;
		double lo, hi;
	} nums[4] = {{"diversity", 0, 1}, {"novelty", 0, 10}, {"quality", 0, 10}, {"max_per_artist", 0, 100}};
	for (int i = 0; i < 4; i++) {
		json_t *jv = json_object_get(body, nums[i].name);
		if (jv == NULL || json_is_null(jv))
			continue;
		double x = json_is_number(jv) ? json_number_value(jv) : NAN;
		if (!(x >= nums[i].lo && x <= nums[i].hi) || (i == 3 && x != floor(x))) {
			rc = seg_error_set(err, SEG_EINVAL, "%s must be a %s between %g and %g", nums[i].name,
			                   i == 3 ? "whole number" : "number", nums[i].lo, nums[i].hi);
			goto out;
		}
		if (i == 0)
			out->diversity = (float)x;
		else if (i == 1)
			out->novelty = (float)x;
		else if (i == 2)
			out->quality = (float)x;
		else
			out->max_per_artist = (int)x;
	}
	json_t *jr = json_object_get(body, "rerank");
	if (jr != NULL) {
		if (!json_is_boolean(jr)) {
			rc = seg_error_set(err, SEG_EINVAL, "rerank must be true or false");
			goto out;
		}
		out->rerank = json_is_true(jr);
	}
	if (out->nseeds == 0 && out->mood[0] == '\0' && out->model != REC_POPULAR && out->model != REC_RANDOM)
		rc = seg_error_set(err, SEG_EINVAL, "give seeds (Spotify track ids) or a mood");
out:
	json_decref(body);
	return rc;
}

static enum MHD_Result h_recommend(server *s, struct MHD_Connection *c, req *r)
{
	if (r->too_big)
		return send_error(c, r, 413, "payload_too_large", "the request body is over %d bytes", SERVE_MAX_BODY);
	serve_recommend_body *b = malloc(sizeof(*b));
	int64_t *exclude = malloc(sizeof(int64_t) * SERVE_MAX_EXCLUDE);
	seg_error err = {0};
	enum MHD_Result ret;
	if (b == NULL || exclude == NULL) {
		free(b);
		free(exclude);
		return send_error(c, r, 503, "unavailable", "out of memory");
	}
	if (serve_parse_recommend(r->body.data, r->body.len, b, &err) < 0) {
		ret = strncmp(err.msg, "the body is not valid JSON", 26) == 0
		              ? send_error(c, r, 400, "bad_json", "%s", err.msg)
		              : send_seg_error(c, r, &err);
		goto out;
	}
	rec_request rq;
	rec_request_default(&rq);
	int64_t seeds[SERVE_MAX_SEEDS];
	char seed_name[SERVE_MAX_SEEDS][160];
	const char *seed_names[SERVE_MAX_SEEDS];
	for (size_t i = 0; i < b->nseeds; i++) {
		if (resolve_brief(s, b->seeds[i], &seeds[i], seed_name[i], sizeof seed_name[i], &err) < 0) {
			ret = send_seg_error(c, r, &err);
			goto out;
		}
		seed_names[i] = seed_name[i];
	}
	size_t nx = 0;
	for (size_t i = 0; i < b->nexclude; i++) {
		int64_t t;
		if (resolve_brief(s, b->exclude[i], &t, NULL, 0, NULL) == 0)
			exclude[nx++] = t; /* unknown ids cannot be recommended anyway */
	}
	rq.seeds = seeds;
	rq.nseeds = b->nseeds;
	rq.exclude = exclude;
	rq.nexclude = nx;
	rq.mood = b->mood[0] ? b->mood : NULL;
	rq.k = b->k;
	rq.model = (enum rec_model)b->model;
	rq.diversity = b->diversity;
	rq.novelty = b->novelty;
	rq.quality = b->quality;
	rq.max_per_artist = b->max_per_artist;
	rq.rerank = b->rerank;
	ret = answer_recommend(s, c, r, &rq, seed_names);
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
		return send_seg_error(c, r, &err);
	if (!h.has_features)
		return send_error(c, r, 404, "not_found", "track %s has no audio features to compare", h.spotify_id);
	rec_request rq;
	rec_request_default(&rq);
	rq.model = REC_CONTENT;
	rq.rerank = 0;
	rq.k = (size_t)k;
	int64_t seed = h.track;
	rq.seeds = &seed;
	rq.nseeds = 1;
	const char *seed_names[1] = {h.name};
	return answer_recommend(s, c, r, &rq, seed_names);
}

static enum MHD_Result h_gems(server *s, struct MHD_Connection *c, req *r)
{
	seg_error err = {0};
	long limit;
	if (int_arg(c, "limit", 1, 200, 20, &limit, &err) < 0)
		return send_seg_error(c, r, &err);
	const char *genre = arg(c, "genre");
	const feat_spec *spec = engine_spec(s->eng);
	int g = -1;
	if (genre != NULL && *genre) {
		for (uint32_t i = 0; i < spec->ngenres; i++)
			if (strcasecmp(spec->genres[i], genre) == 0)
				g = (int)i;
		if (g < 0)
			return send_error(c, r, 400, "bad_request", "genre '%.40s' is not in the model's genre vocabulary",
			                  genre);
	}
	size_t N = engine_rows(s->eng);
	float *pred = malloc(sizeof(float) * N), *act = malloc(sizeof(float) * N);
	if (!pred || !act) {
		free(pred);
		free(act);
		return send_error(c, r, 503, "unavailable", "out of memory");
	}
	for (size_t i = 0; i < N; i++) {
		int in = g < 0 || engine_vector(s->eng, i)[FD_GENRE0 + g] > 0;
		pred[i] = in ? engine_predicted(s->eng, i) : NAN;
		act[i] = engine_popularity(s->eng, i);
	}
	quality_gem_opts go = {.min_gap = 15, .min_predicted = 40, .top_k = (size_t)limit};
	quality_gem *gems = NULL;
	size_t ng = 0;
	int rc = quality_gems_find(pred, act, N, &go, &gems, &ng, &err);
	free(pred);
	free(act);
	if (rc < 0)
		return send_seg_error(c, r, &err);
	json_t *arr = json_array();
	for (size_t i = 0; i < ng; i++) {
		lookup_hit h;
		uint8_t found;
		int64_t track = engine_track_of(s->eng, gems[i].item);
		if (track_hits(s, &track, 1, &h, &found, NULL) < 0 || !found)
			continue;
		json_t *t = track_json(&h);
		json_object_set_new(t, "predicted_popularity", json_real(gems[i].predicted));
		json_object_set_new(t, "gap", json_real(gems[i].gap));
		json_array_append_new(arr, t);
	}
	free(gems);
	return send_json(c, r, 200, json_pack("{s:o}", "tracks", arr));
}

static json_t *clusters_array(server *s)
{
	int K = engine_clusters(s->eng);
	size_t *count = calloc((size_t)(K ? K : 1), sizeof(size_t));
	for (size_t i = 0; count && i < engine_rows(s->eng); i++) {
		int k = engine_cluster_of(s->eng, i);
		if (k >= 0 && k < K)
			count[k]++;
	}
	json_t *arr = json_array();
	for (int k = 0; k < K; k++)
		json_array_append_new(arr, json_pack("{s:i,s:I,s:s}", "cluster", k, "tracks",
		                                     (json_int_t)(count ? count[k] : 0), "description",
		                                     engine_cluster_words(s->eng, k)));
	free(count);
	return arr;
}

static enum MHD_Result h_map(server *s, struct MHD_Connection *c, req *r)
{
	seg_error err = {0};
	long limit;
	if (int_arg(c, "limit", 1, 200000, 5000, &limit, &err) < 0)
		return send_seg_error(c, r, &err);
	size_t N = engine_rows(s->eng);
	size_t step = N > (size_t)limit ? (N + (size_t)limit - 1) / (size_t)limit : 1;
	/* Built as text: tens of thousands of small arrays through jansson would be slow. */
	strbuf sb = {0}, ids = {0};
	sqlite3 *db = thread_db(s);
	const float *xy = engine_map_xy(s->eng);
	strbuf_puts(&sb, "{\"points\":[");
	size_t n = 0;
	sqlite3_stmt *st = NULL;
	if (db && s->names == NULL)
		sqlite3_prepare_v2(db, "SELECT spotify_id FROM tracks WHERE id = ?1", -1, &st, NULL);
	for (size_t i = 0; i < N; i += step) {
		strbuf_printf(&sb, "%s[%.4f,%.4f,%d,%zu]", n ? "," : "", xy[2 * i], xy[2 * i + 1],
		              engine_cluster_of(s->eng, i), n);
		const char *sid = "";
		lookup_hit h;
		if (s->names != NULL && names_get(s->names, engine_track_of(s->eng, i), &h))
			sid = h.spotify_id;
		else if (st) {
			sqlite3_reset(st);
			sqlite3_bind_int64(st, 1, engine_track_of(s->eng, i));
			if (sqlite3_step(st) == SQLITE_ROW)
				sid = (const char *)sqlite3_column_text(st, 0);
		}
		strbuf_printf(&ids, "%s\"%s\"", n ? "," : "", sid);
		n++;
	}
	sqlite3_finalize(st);
	strbuf_puts(&sb, "],\"tracks\":[");
	strbuf_append(&sb, strbuf_cstr(&ids), ids.len);
	strbuf_puts(&sb, "],\"clusters\":");
	strbuf_puts(&sb, s->clusters_json);
	strbuf_puts(&sb, "}");
	strbuf_free(&ids);
	if (sb.oom) {
		strbuf_free(&sb);
		return send_error(c, r, 503, "unavailable", "out of memory");
	}
	enum MHD_Result ret = send_bytes(c, r, 200, "application/json", sb.data, sb.len, 1);
	strbuf_free(&sb);
	return ret;
}

static enum MHD_Result h_chart(server *s, struct MHD_Connection *c, req *r, const char *name)
{
	char base[80];
	size_t len = strlen(name);
	if (len < 5 || len - 4 >= sizeof base || strcmp(name + len - 4, ".svg") != 0)
		return send_error(c, r, 404, "not_found", "charts are named NAME.svg; see /api/eda/summary");
	memcpy(base, name, len - 4);
	base[len - 4] = '\0';
	const eda_chart *ch = eda_charts_find(&s->charts, base);
	if (ch == NULL)
		return send_error(c, r, 404, "not_found", "no chart named '%s'; see /api/eda/summary", base);
	return send_bytes(c, r, 200, "image/svg+xml", ch->svg, strlen(ch->svg), 0);
}

static int cmp_version(const void *a, const void *b)
{
	return atoi(*(char *const *)a + 1) - atoi(*(char *const *)b + 1);
}

static enum MHD_Result h_models(server *s, struct MHD_Connection *c, req *r)
{
	char dir[PATH_MAX + 16];
	snprintf(dir, sizeof dir, "%s/models", s->o->workspace);
	DIR *d = opendir(dir);
	json_t *arr = json_array();
	char *versions[256];
	size_t n = 0;
	struct dirent *e;
	while (d && (e = readdir(d)) != NULL && n < 256) {
		int v;
		if (sscanf(e->d_name, "v%d", &v) == 1)
			versions[n++] = strdup(e->d_name);
	}
	if (d)
		closedir(d);
	qsort(versions, n, sizeof(char *), cmp_version);
	for (size_t i = n; i-- > 0;) {
		char path[PATH_MAX + 300];
		json_error_t je;
		snprintf(path, sizeof path, "%s/%s/evaluation.json", dir, versions[i]);
		json_t *ev = json_load_file(path, 0, &je);
		json_t *meta = json_null();
		snprintf(path, sizeof path, "%s/%s/model.seg", dir, versions[i]);
		if (strcmp(versions[i], s->version) == 0) {
			json_decref(meta);
			meta = json_loads(engine_meta_json(s->eng), 0, &je);
		}
		json_array_append_new(arr, json_pack("{s:s,s:o,s:o,s:b}", "version", versions[i], "meta",
		                                     meta ? meta : json_null(), "evaluation", ev ? ev : json_null(),
		                                     "serving", strcmp(versions[i], s->version) == 0));
		free(versions[i]);
	}
	return send_json(c, r, 200, json_pack("{s:o}", "models", arr));
}

static void metrics_text(server *s, strbuf *sb)
{
	strbuf_puts(sb, "# HELP segue_requests_total HTTP requests by route and status class.\n"
	                "# TYPE segue_requests_total counter\n");
	for (int rt = 0; rt < R__COUNT; rt++)
		for (int k = 1; k <= 5; k++) {
			unsigned long v = atomic_load(&s->stats[rt].status[k]);
			if (v)
				strbuf_printf(sb, "segue_requests_total{route=\"%s\",status=\"%dxx\"} %lu\n", route_label(rt), k, v);
		}
	strbuf_puts(sb, "# HELP segue_request_duration_seconds Time to answer, by route.\n"
	                "# TYPE segue_request_duration_seconds histogram\n");
	for (int rt = 0; rt < R__COUNT; rt++) {
		unsigned long total = 0;
		for (size_t b = 0; b <= NBUCKETS; b++)
			total += atomic_load(&s->stats[rt].bucket[b]);
		if (total == 0)
			continue;
		unsigned long cum = 0;
		for (size_t b = 0; b < NBUCKETS; b++) {
			cum += atomic_load(&s->stats[rt].bucket[b]);
			strbuf_printf(sb, "segue_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %lu\n", route_label(rt),
			              BUCKETS[b], cum);
		}
		strbuf_printf(sb, "segue_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %lu\n", route_label(rt),
		              total);
		strbuf_printf(sb, "segue_request_duration_seconds_sum{route=\"%s\"} %.6f\n", route_label(rt),
		              (double)atomic_load(&s->stats[rt].micros) / 1e6);
		strbuf_printf(sb, "segue_request_duration_seconds_count{route=\"%s\"} %lu\n", route_label(rt), total);
	}
	strbuf_printf(sb,
	              "# HELP segue_uptime_seconds Seconds since the server started.\n"
	              "# TYPE segue_uptime_seconds gauge\nsegue_uptime_seconds %.3f\n"
	              "# HELP segue_model_tracks Tracks in the served model.\n"
	              "# TYPE segue_model_tracks gauge\nsegue_model_tracks %zu\n",
	              progress_now() - s->started, engine_rows(s->eng));
	knn_stats ks;
	knn_stats_get(&ks);
	strbuf_printf(sb,
	              "# HELP segue_knn_searches_total Exact nearest-neighbour searches, by method.\n"
	              "# TYPE segue_knn_searches_total counter\n"
	              "segue_knn_searches_total{method=\"clusters\"} %llu\n"
	              "segue_knn_searches_total{method=\"quantised\"} %llu\n"
	              "# HELP segue_knn_rows_scored_total Rows the clustered searches scored (the rest were ruled out).\n"
	              "# TYPE segue_knn_rows_scored_total counter\nsegue_knn_rows_scored_total %llu\n"
	              "# HELP segue_knn_rescans_total Quantised searches that needed a second scan.\n"
	              "# TYPE segue_knn_rescans_total counter\nsegue_knn_rescans_total %llu\n",
	              (unsigned long long)ks.cluster_searches, (unsigned long long)ks.quant_searches,
	              (unsigned long long)ks.cluster_rows, (unsigned long long)ks.quant_rescans);
}

/* ---- dispatch ---- */

static enum MHD_Result dispatch(server *s, struct MHD_Connection *c, req *r, const char *url, const char *method)
{
	int get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	int post = strcmp(method, "POST") == 0;
	/* Exact routes first. */
	for (size_t i = 0; i < serve_nroutes; i++) {
		if (strchr(serve_routes[i].path, '{') || strcmp(serve_routes[i].path, url) != 0)
			continue;
		r->route = (int)i;
		int want_post = strcmp(serve_routes[i].method, "POST") == 0;
		if ((want_post && !post) || (!want_post && !get)) {
			return send_error(c, r, 405, "method_not_allowed", "%s takes %s", serve_routes[i].path,
			                  serve_routes[i].method);
		}
		switch (i) {
		case R_HEALTH: return h_health(s, c, r);
		case R_TRACKS: return h_tracks(s, c, r);
		case R_RECOMMEND: return h_recommend(s, c, r);
		case R_GEMS: return h_gems(s, c, r);
		case R_CLUSTERS: return send_json(c, r, 200, json_pack("{s:o}", "clusters", clusters_array(s)));
		case R_MAP: return h_map(s, c, r);
		case R_EDA:
			return send_bytes(c, r, 200, "application/json", s->summary ? s->summary : "{}",
			                  s->summary ? s->summary_len : 2, 0);
		case R_MODELS: return h_models(s, c, r);
		case R_OPENAPI: {
			const asset *a = asset_find("/openapi.json");
			if (a == NULL)
				return send_error(c, r, 404, "not_found", "this build has no OpenAPI document");
			return send_bytes(c, r, 200, "application/json", a->data, a->len, 0);
		}
		case R_METRICS: {
			strbuf sb = {0};
			metrics_text(s, &sb);
			enum MHD_Result ret = send_bytes(c, r, 200, "text/plain; version=0.0.4", strbuf_cstr(&sb), sb.len, 1);
			strbuf_free(&sb);
			return ret;
		}
		case R_DASHBOARD: {
			const asset *a = asset_find("/index.html");
			if (a == NULL)
				return send_error(c, r, 404, "not_found", "this build has no dashboard");
			return send_bytes(c, r, 200, a->type, a->data, a->len, 0);
		}
		}
	}
	/* Routes with a parameter. */
	static const struct {
		int route;
		const char *prefix;
	} prefixed[] = {{R_TRACK, "/api/tracks/"}, {R_SIMILAR, "/api/similar/"}, {R_CHART, "/api/charts/"}};
	for (size_t i = 0; i < sizeof prefixed / sizeof *prefixed; i++) {
		size_t pl = strlen(prefixed[i].prefix);
		if (strncmp(url, prefixed[i].prefix, pl) != 0 || url[pl] == '\0' || strchr(url + pl, '/'))
			continue;
		r->route = prefixed[i].route;
		if (!get)
			return send_error(c, r, 405, "method_not_allowed", "%s takes GET", serve_routes[r->route].path);
		const char *param = url + pl;
		if (r->route == R_TRACK)
			return h_track(s, c, r, param);
		if (r->route == R_SIMILAR)
			return h_similar(s, c, r, param);
		return h_chart(s, c, r, param);
	}
	/* Dashboard files. */
	const asset *a = asset_find(url);
	if (a != NULL && get) {
		r->route = R_STATIC;
		return send_bytes(c, r, 200, a->type, a->data, a->len, 0);
	}
	r->route = R_NOTFOUND;
	return send_error(c, r, 404, "not_found", "no route %s %.200s; see /openapi.json", method, url);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **ctx)
{
	(void)version;
	server *s = cls;
	req *r = *ctx;
	if (r == NULL) {
		r = calloc(1, sizeof(*r));
		if (r == NULL)
			return MHD_NO;
		r->t0 = progress_now();
		r->route = R_NOTFOUND;
		snprintf(r->method, sizeof r->method, "%s", method);
		snprintf(r->url, sizeof r->url, "%s", url);
		*ctx = r;
		return MHD_YES;
	}
	if (*upload_size > 0) {
		/* Keep reading (and discarding) past the limit so the answer is a 413,
		 * not a reset connection. */
		if (r->body.len + *upload_size > SERVE_MAX_BODY)
			r->too_big = 1;
		else
			strbuf_append(&r->body, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	if (strlen(url) > SERVE_MAX_URL)
		return send_error(c, r, 414, "uri_too_long", "the request target is over %d bytes", SERVE_MAX_URL);
	if (r->too_big)
		return send_error(c, r, 413, "payload_too_large", "the request body is over %d bytes", SERVE_MAX_BODY);
	return dispatch(s, c, r, url, method);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **ctx, enum MHD_RequestTerminationCode toe)
{
	(void)c;
	(void)toe;
	server *s = cls;
	req *r = *ctx;
	if (r == NULL)
		return;
	double secs = progress_now() - r->t0;
	route_stats *st = &s->stats[r->route];
	unsigned cls_ = r->status / 100;
	if (cls_ >= 1 && cls_ <= 5)
		atomic_fetch_add(&st->status[cls_], 1);
	size_t b = 0;
	while (b < NBUCKETS && secs > BUCKETS[b])
		b++;
	atomic_fetch_add(&st->bucket[b], 1);
	atomic_fetch_add(&st->micros, (unsigned long)(secs * 1e6));
	if (s->o->access_log) {
		char stamp[32];
		time_t now = time(NULL);
		struct tm tm;
		strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
		pthread_mutex_lock(&s->lock);
		fprintf(s->o->access_log, "%s %s %s %u %.3fms %zu\n", stamp, r->method, r->url, r->status, secs * 1e3,
		        r->body.len);
		fflush(s->o->access_log);
		pthread_mutex_unlock(&s->lock);
	}
	strbuf_free(&r->body);
	free(r);
	*ctx = NULL;
}

/* Oversized request lines come through here: MHD cannot parse them. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	(void)cls;
	(void)uri;
	(void)c;
	return NULL;
}

/* Maps the names file for the display fields, first writing it when it is
 * missing or older than the catalogue (a workspace ingested before segue
 * wrote one, or changed since); where it cannot be written, the fields come
 * from SQLite, which answers the same, only slower. */
static void open_names(server *s, sqlite3 *db)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s", s->o->workspace, NAMES_FILE_NAME);
	seg_error err = {0};
	names *n = NULL;
	if (names_open(&n, path, &err) == 0 && names_current(n, db, &err) == 1) {
		s->names = n;
		return;
	}
	names_close(n);
	n = NULL;
	double t0 = progress_now();
	if (names_write(db, path, NULL, &err) == 0 && names_open(&n, path, &err) == 0) {
		if (!s->o->quiet)
			fprintf(stderr, "segue: wrote %s for %zu tracks (%.1f s)\n", path, names_count(n), progress_now() - t0);
		s->names = n;
		return;
	}
	if (!s->o->quiet)
		fprintf(stderr, "segue: %s; track names come from SQLite\n", err.msg);
}

void serve_options_default(serve_options *o)
{
	memset(o, 0, sizeof(*o));
	o->bind = "127.0.0.1";
	o->port = 8080;
	o->threads = 2;
	o->access_log = stderr;
}

int serve_run(const serve_options *o, seg_error *err)
{
	/* SQLite's memory statistics take a global mutex on every allocation,
	 * which the worker threads would queue for; nothing here reads them.
	 * (Refused, harmlessly, if SQLite was already initialised.) */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	server *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	s->o = o;
	pthread_mutex_init(&s->lock, NULL);
	s->started = progress_now();
	int rc;
	struct MHD_Daemon *d = NULL;
	snprintf(s->dbpath, sizeof s->dbpath, "%s/%s", o->workspace, CATALOG_DB_NAME);
	if (access(s->dbpath, R_OK) != 0) {
		rc = seg_error_set(err, SEG_ENOTFOUND, "no catalogue at %s; run `segue ingest` first", s->dbpath);
		goto out;
	}
	if ((rc = train_model_path(o->workspace, o->artifact, s->model_path, sizeof s->model_path, err)) < 0 ||
	    (rc = engine_open(&s->eng, s->model_path, err)) < 0)
		goto out;
	/* The version is the model's directory name. */
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof tmp, "%s", s->model_path);
	char *slash = strrchr(tmp, '/');
	if (slash) {
		*slash = '\0';
		slash = strrchr(tmp, '/');
	}
	snprintf(s->version, sizeof s->version, "%s", slash ? slash + 1 : "?");
	/* The EDA summary and charts are computed once (the catalogue is
	 * read-only), or read back from the workspace's cache of them (written
	 * by `segue eda` or by an earlier start) when it matches. */
	sqlite3 *db;
	if ((rc = query_open(s->dbpath, &db, err)) < 0)
		goto out;
	char cache[PATH_MAX];
	snprintf(cache, sizeof cache, "%s/%s", o->workspace, EDA_CACHE_NAME);
	strbuf json = {0};
	if (eda_cache_load(db, NULL, cache, &json, &s->charts) != 0) {
		int64_t key[EDA_CACHE_KEY];
		int keyed = eda_cache_key(db, NULL, key) == 0;
		if ((rc = eda_render_charts(db, NULL, NULL, &json, &s->charts, err)) < 0) {
			strbuf_free(&json);
			query_close(db);
			goto out;
		}
		if (keyed && eda_cache_save(db, NULL, key, cache, &json, &s->charts, NULL) == 0 && !o->quiet)
			fprintf(stderr, "segue: kept the EDA summary and charts in %s for the next start\n", cache);
	}
	s->summary_len = json.len;
	s->summary = strbuf_detach(&json);
	open_names(s, db);
	query_close(db);
	json_t *cl = clusters_array(s);
	s->clusters_json = json_dumps(cl, JSON_COMPACT);
	json_decref(cl);

	struct sockaddr_in addr;
	memset(&addr, 0, sizeof addr);
	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)o->port);
	if (inet_pton(AF_INET, o->bind, &addr.sin_addr) != 1) {
		rc = seg_error_set(err, SEG_EINVAL, "--bind '%s' is not an IPv4 address", o->bind);
		goto out;
	}
	/* Signals go to the thread that waits for them, not to the workers. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG, (uint16_t)o->port,
	                     NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, &addr, MHD_OPTION_THREAD_POOL_SIZE,
	                     (unsigned)(o->threads > 0 ? o->threads : 1), MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
	                     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
	                     (size_t)(SERVE_MAX_URL + 8192), MHD_OPTION_URI_LOG_CALLBACK, on_uri, s, MHD_OPTION_END);
	if (d == NULL) {
		rc = seg_error_set(err, SEG_EIO, "cannot listen on %s:%d (in use, or not allowed)", o->bind, o->port);
		goto out;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	int port = info ? info->port : o->port;
	if (!o->quiet) {
		printf("segue %s serving model %s (%zu tracks) on http://%s:%d/ with %d threads\n", SEGUE_VERSION,
		       s->version, engine_rows(s->eng), o->bind, port, o->threads);
		printf("dashboard http://%s:%d/  API http://%s:%d/openapi.json  metrics http://%s:%d/metrics\n", o->bind,
		       port, o->bind, port, o->bind, port);
	}
	fflush(stdout);
	int sig = 0;
	sigwait(&set, &sig);
	if (!o->quiet)
		fprintf(stderr, "segue: signal %d: shutting down\n", sig);
	rc = 0;
out:
	if (d)
		MHD_stop_daemon(d);
	for (size_t i = 0; i < s->ndbs; i++)
		query_close(s->dbs[i]);
	engine_free(s->eng);
	names_close(s->names);
	eda_charts_free(&s->charts);
	free(s->summary);
	free(s->clusters_json);
	pthread_mutex_destroy(&s->lock);
	free(s);
	return rc;
}
