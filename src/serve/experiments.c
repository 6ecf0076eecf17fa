/* experiments.c: the server's side of the event store (see internal.h):
 * opening it, the request ids, the cache of running experiments that the
 * recommend route assigns listeners from, POST /api/events, the experiment
 * routes with the token that guards the state-changing ones, and GET
 * /api/power. It does not parse events (events.h), assign variants or
 * interleave (experiment.h), store (evstore.h) nor analyse (analysis.h).
 *
 * The recommend route reads no store: it reads the cache, which is read
 * again from the store at most once a second by one request thread (the
 * others go on with the cache meanwhile), and at once after this server
 * starts or stops an experiment, so that a change made here shows in the
 * next answer and one made by another replica within a second. */
#include "serve/internal.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "catalog/workspace.h"
#include "core/container.h"
#include "core/progress.h"
#include "core/rng.h"
#include "core/utf8.h"
#include "engine/recommender.h"
#include "engine/train.h"
#include "experiment/analysis.h"
#include "experiment/stats.h"

/* ---- clock, ids ---- */

int64_t serve__now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void serve__request_id(server *s, char *out)
{
	/* A random prefix per process and a counter: unique across replicas
	 * and restarts without any coordination, 16 + 1 + up to 16 bytes of
	 * [0-9a-f-] (EV_ID_MAX holds it). */
	unsigned long n = atomic_fetch_add(&s->rid_counter, 1);
	snprintf(out, EV_ID_MAX + 1, "%016" PRIx64 "-%lx", s->rid_prefix, n);
}

/* `where` as it may be shown: a URL's password (postgresql://user:PASSWORD@host)
 * replaced by "***". */
static void where_shown(const char *where, char *out, size_t cap)
{
	const char *scheme = strstr(where, "://");
	const char *at = scheme ? strchr(scheme + 3, '@') : NULL;
	const char *colon = scheme ? strchr(scheme + 3, ':') : NULL;
	if (at != NULL && colon != NULL && colon < at)
		snprintf(out, cap, "%.*s:***%s", (int)(colon - where), where, at);
	else
		snprintf(out, cap, "%s", where);
}

/* ---- the running experiments ---- */

/* Reads the running experiments from the store into the cache: oldest
 * started first (created, then name, break ties), each variant's
 * configuration parsed. An experiment whose configuration this server
 * cannot parse (a model it does not have) is not served by it. On error
 * the cache stays as it was. */
static int cache_reload(server *s, seg_error *err)
{
	experiment *all = NULL;
	size_t n = 0;
	int rc = evstore_experiment_list(s->store, &all, &n, err);
	if (rc < 0)
		return rc;
	exp_config(*cfg)[EXP_MAX_VARIANTS] = calloc(n ? n : 1, sizeof *cfg);
	if (cfg == NULL) {
		free(all);
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	}
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		if (all[i].state != EXP_RUNNING || all[i].nvariants == 0 || all[i].nvariants > EXP_MAX_VARIANTS)
			continue;
		exp_config c[EXP_MAX_VARIANTS];
		memset(c, 0, sizeof c); /* the variants past nvariants are copied too */
		int ok = 1;
		for (size_t v = 0; v < all[i].nvariants && ok; v++)
			ok = exp_config_parse(all[i].variant[v].config, &c[v], NULL) == 0;
		if (!ok)
			continue;
		/* Insertion sort by start: a handful of experiments. */
		size_t j = m++;
		experiment e = all[i];
		while (j > 0 && (all[j - 1].started_ms > e.started_ms ||
		                 (all[j - 1].started_ms == e.started_ms &&
		                  (all[j - 1].created_ms > e.created_ms ||
		                   (all[j - 1].created_ms == e.created_ms && strcmp(all[j - 1].name, e.name) > 0))))) {
			all[j] = all[j - 1];
			memcpy(cfg[j], cfg[j - 1], sizeof cfg[j]);
			j--;
		}
		all[j] = e;
		memcpy(cfg[j], c, sizeof c);
	}
	pthread_mutex_lock(&s->exp_lock);
	experiment *old = s->running;
	exp_config(*old_cfg)[EXP_MAX_VARIANTS] = s->running_cfg;
	s->running = all;
	s->running_cfg = cfg;
	s->nrunning = m;
	s->exp_loaded = progress_now();
	pthread_mutex_unlock(&s->exp_lock);
	free(old);
	free(old_cfg);
	return 0;
}

int serve__assign(server *s, const char *user, char *name, char *variant, exp_config *cfg)
{
	double now = progress_now();
	pthread_mutex_lock(&s->exp_lock);
	int due = now - s->exp_loaded >= 1.0;
	pthread_mutex_unlock(&s->exp_lock);
	/* One thread reads the store again; the others serve from the cache
	 * meanwhile. A failed read is tried again a second later, the cache
	 * as it was until then. */
	if (due && pthread_mutex_trylock(&s->exp_reload) == 0) {
		if (cache_reload(s, NULL) < 0) {
			pthread_mutex_lock(&s->exp_lock);
			s->exp_loaded = now;
			pthread_mutex_unlock(&s->exp_lock);
		}
		pthread_mutex_unlock(&s->exp_reload);
	}
	pthread_mutex_lock(&s->exp_lock);
	int found = s->nrunning > 0;
	if (found) {
		/* A listener is in every running experiment; the oldest decides. */
		const experiment *e = &s->running[0];
		size_t v = exp_assign(e, user);
		snprintf(name, EXP_NAME_MAX + 1, "%s", e->name);
		snprintf(variant, EXP_NAME_MAX + 1, "%s", e->variant[v].name);
		*cfg = s->running_cfg[0][v];
	}
	pthread_mutex_unlock(&s->exp_lock);
	return found;
}

/* After this server changed an experiment: the cache at once. */
static void cache_refresh_now(server *s)
{
	pthread_mutex_lock(&s->exp_reload);
	if (cache_reload(s, NULL) < 0) {
		pthread_mutex_lock(&s->exp_lock);
		s->exp_loaded = 0; /* the next request tries again */
		pthread_mutex_unlock(&s->exp_lock);
	}
	pthread_mutex_unlock(&s->exp_reload);
}

/* ---- opening and closing ---- */

int serve__store_open(server *s, seg_error *err)
{
	char path[PATH_MAX], shown[PATH_MAX + 16];
	const char *where = s->o->events;
	int rc;
	if (where == NULL) {
		if ((rc = workspace_path(s->o->workspace, WS_EVENTS, path, sizeof path, err)) < 0)
			return rc;
		where = path;
	}
	where_shown(where, shown, sizeof shown);
	s->rid_prefix = rng_entropy64();
	seg_error why = {0};
	if ((rc = evstore_open(where, &s->store, &why)) < 0)
		return seg_error_set(err, rc, "cannot open the event store %s: %s", shown,
		                     why.msg[0] ? why.msg : seg_strerror(rc));
	if ((rc = cache_reload(s, &why)) < 0)
		return seg_error_set(err, rc, "cannot read the experiments of the event store %s: %s", shown, why.msg);
	if (!s->o->quiet)
		fprintf(stderr, "segue: events go to %s (%s), %zu experiment%s running\n", shown,
		        evstore_kind(s->store), s->nrunning, s->nrunning == 1 ? "" : "s");
	return 0;
}

void serve__store_close(server *s)
{
	evstore_close(s->store);
	s->store = NULL;
	free(s->running);
	free(s->running_cfg);
	s->running = NULL;
	s->running_cfg = NULL;
	s->nrunning = 0;
}

/* ---- POST /api/events ---- */

/* {"error": "bad_event" (or "bad_json"), "detail", "index", "field"}. */
static enum MHD_Result send_bad_event(struct MHD_Connection *c, req *r, int code, const seg_error *err,
                                      const ev_fault *f)
{
	strbuf a = {0}, b = {0};
	json_t *j = json_pack("{s:s,s:s,s:I,s:s}", "error", code == SEG_EFORMAT ? "bad_json" : "bad_event", "detail",
	                      utf8_clean(err->msg[0] ? err->msg : seg_strerror(code), &a), "index",
	                      (json_int_t)f->index, "field", utf8_clean(f->field, &b));
	strbuf_free(&a);
	strbuf_free(&b);
	return serve__send_json(c, r, 400, j);
}

static enum MHD_Result h_events(server *s, struct MHD_Connection *c, req *r)
{
	ev_batch b = {0};
	ev_fault f = {-1, ""};
	seg_error err = {0};
	int rc = ev_batch_parse(r->body.data ? r->body.data : "", r->body.len, serve__now_ms(), &b, &f, &err);
	if (rc == SEG_ENOMEM)
		return serve__send_error(c, r, 503, "unavailable", "out of memory");
	if (rc < 0) {
		f.field[sizeof f.field - 1] = '\0';
		return send_bad_event(c, r, rc, &err, &f);
	}
	size_t added = 0;
	rc = evstore_append(s->store, b.ev, b.n, &added, &err);
	size_t n = b.n;
	ev_batch_free(&b);
	if (rc < 0)
		return serve__send_error(c, r, 503, "unavailable", "the event store did not store the batch: %s",
		                         err.msg);
	return serve__send_json(
		c, r, 200, json_pack("{s:I,s:I}", "stored", (json_int_t)added, "duplicates", (json_int_t)(n - added)));
}

/* ---- the token ---- */

/* Whether `got` is `want`, in a time that depends on want's length only
 * (not on where they first differ). */
static int token_equal(const char *want, const char *got)
{
	size_t wl = strlen(want), gl = strlen(got);
	unsigned char diff = wl != gl;
	for (size_t i = 0; i < wl; i++)
		diff |= (unsigned char)want[i] ^ (unsigned char)(i < gl ? got[i] : 0);
	return diff == 0;
}

/* Whether a state-changing route may run; when not, the answer is sent
 * into *ret. Bound to loopback only this machine reaches the server: no
 * token. Elsewhere: Authorization: Bearer TOKEN, and without a token
 * configured, never. */
static int authorized(server *s, struct MHD_Connection *c, req *r, enum MHD_Result *ret)
{
	if (s->loopback)
		return 1;
	if (s->o->token == NULL || s->o->token[0] == '\0') {
		*ret = serve__send_error(
			c, r, 403, "forbidden",
			"this server is bound to %s, not loopback: changing experiments needs a token, "
			"and none is set (start it with --token or $SEGUE_TOKEN)",
			s->o->bind);
		return 0;
	}
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0) {
		*ret = serve__send_401(c, r, "changing experiments needs the header Authorization: Bearer TOKEN");
		return 0;
	}
	h += 7;
	while (*h == ' ')
		h++;
	if (!token_equal(s->o->token, h)) {
		*ret = serve__send_401(c, r, "the token is not this server's");
		return 0;
	}
	return 1;
}

/* ---- experiments ---- */

static enum MHD_Result send_experiment(struct MHD_Connection *c, req *r, unsigned status, const experiment *e)
{
	strbuf sb = {0};
	exp_json(e, &sb);
	return serve__send_strbuf(c, r, status, &sb);
}

/* Whether name could be an experiment's (1..EXP_NAME_MAX of [A-Za-z0-9_.-]):
 * other names are 404 without asking the store. */
static int name_plausible(const char *name)
{
	size_t len = strlen(name);
	return len >= 1 && len <= EXP_NAME_MAX &&
	       strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == len;
}

static enum MHD_Result h_list(server *s, struct MHD_Connection *c, req *r)
{
	experiment *all = NULL;
	size_t n = 0;
	seg_error err = {0};
	if (evstore_experiment_list(s->store, &all, &n, &err) < 0)
		return serve__send_error(c, r, 503, "unavailable", "the event store cannot list experiments: %s",
		                         err.msg);
	strbuf sb = {0};
	strbuf_puts(&sb, "{\"experiments\":[");
	for (size_t i = 0; i < n; i++) {
		if (i)
			strbuf_putc(&sb, ',');
		exp_json(&all[i], &sb);
	}
	strbuf_puts(&sb, "]}");
	free(all);
	return serve__send_strbuf(c, r, 200, &sb);
}

/* Reads experiment `name` into *e; on failure sends the answer (404, 503)
 * into *ret and returns -1. */
static int get_experiment(server *s, struct MHD_Connection *c, req *r, const char *name, experiment *e,
                          enum MHD_Result *ret)
{
	seg_error err = {0};
	int rc = name_plausible(name) ? evstore_experiment_get(s->store, name, e, &err) : SEG_ENOTFOUND;
	if (rc == SEG_ENOTFOUND)
		*ret = serve__send_error(c, r, 404, "not_found", "no experiment named '%.80s'", name);
	else if (rc < 0)
		*ret = serve__send_error(c, r, 503, "unavailable", "the event store cannot read experiments: %s",
		                         err.msg);
	return rc < 0 ? -1 : 0;
}

/* POST /api/experiments' body into *e: exp_from_json's form with its
 * defaults (a fresh salt, weights 1, play_rate), as a new draft: a body
 * that sets a state or a time is refused. */
static int parse_create(const char *text, size_t len, experiment *e, seg_error *err)
{
	int rc = exp_from_json(text ? text : "", len, e, err);
	if (rc < 0)
		return rc;
	if (e->state != EXP_DRAFT || e->created_ms != 0 || e->started_ms != 0 || e->stopped_ms != 0)
		return seg_error_set(err, SEG_EINVAL,
		                     "a new experiment is a draft: leave out state, created_ms, started_ms and "
		                     "stopped_ms (start it with POST /api/experiments/%s/start)",
		                     e->name);
	e->created_ms = serve__now_ms();
	return 0;
}

static enum MHD_Result h_create(server *s, struct MHD_Connection *c, req *r)
{
	enum MHD_Result ret;
	if (!authorized(s, c, r, &ret))
		return ret;
	experiment e, old;
	seg_error err = {0};
	int rc = parse_create(r->body.data, r->body.len, &e, &err);
	if (rc < 0)
		return serve__send_seg_error(c, r, &err);
	/* A variant whose version this server does not hold would be answered
	 * by the champion: the experiment would compare the champion with
	 * itself. */
	for (size_t i = 0; i < e.nvariants; i++) {
		exp_config cfg;
		if (exp_config_parse(e.variant[i].config, &cfg, NULL) == 0 && !serve__version_held(s, cfg.version))
			return serve__send_error(c, r, 400, "bad_request",
			                         "variant %s names a model version this server does not hold (%s): it "
			                         "serves the registry's champion and challenger only (segue models "
			                         "promote VERSION --alias challenger)",
			                         e.variant[i].name, e.variant[i].config);
	}
	rc = evstore_experiment_get(s->store, e.name, &old, &err);
	if (rc == 0)
		return serve__send_error(c, r, 409, "conflict", "an experiment named '%s' exists already (%s)", e.name,
		                         exp_state_name(old.state));
	if (rc != SEG_ENOTFOUND)
		return serve__send_error(c, r, 503, "unavailable", "the event store cannot read experiments: %s",
		                         err.msg);
	/* The body was checked whole above: a refusal now is a name taken by
	 * another server in between. */
	rc = evstore_experiment_create(s->store, &e, &err);
	if (rc == SEG_EINVAL)
		return serve__send_error(c, r, 409, "conflict", "%s", err.msg);
	if (rc < 0)
		return serve__send_error(c, r, 503, "unavailable", "the event store did not store the experiment: %s",
		                         err.msg);
	return send_experiment(c, r, 201, &e);
}

/* Waits until every impression logged before it is committed (they are
 * logged without waiting for the disk: evstore_log), so that a route that
 * reads the store sees every list served before the request; on failure
 * sends a 503 into *ret. */
static int flush_logged(server *s, struct MHD_Connection *c, req *r, enum MHD_Result *ret)
{
	seg_error err = {0};
	if (evstore_flush(s->store, &err) == 0)
		return 0;
	*ret = serve__send_error(c, r, 503, "unavailable", "the event store has not stored the lists served: %s",
	                         err.msg);
	return -1;
}

/* POST .../start (to = running, from a draft) or .../stop (to = stopped,
 * from running). A user sees one variant for the life of an experiment,
 * so a stopped one does not start again: a new one (a new name) does. */
static enum MHD_Result h_transition(server *s, struct MHD_Connection *c, req *r, const char *name, int to)
{
	enum MHD_Result ret;
	experiment e;
	if (!authorized(s, c, r, &ret) || get_experiment(s, c, r, name, &e, &ret) < 0)
		return ret;
	/* The lists served while it ran are in the store before it stops. */
	if (flush_logged(s, c, r, &ret) < 0)
		return ret;
	int from = to == EXP_RUNNING ? EXP_DRAFT : EXP_RUNNING;
	if (e.state != from)
		return serve__send_error(c, r, 409, "conflict", "experiment '%s' is %s: only a %s one can be %s",
		                         e.name, exp_state_name(e.state), exp_state_name(from),
		                         to == EXP_RUNNING ? "started" : "stopped");
	e.state = to;
	if (to == EXP_RUNNING)
		e.started_ms = serve__now_ms();
	else
		e.stopped_ms = serve__now_ms();
	seg_error err = {0};
	if (evstore_experiment_update(s->store, &e, &err) < 0)
		return serve__send_error(c, r, 503, "unavailable", "the event store did not store the change: %s",
		                         err.msg);
	cache_refresh_now(s);
	return send_experiment(c, r, 200, &e);
}

/* The analysis of experiment `name` from every event of its users; on
 * failure sends the answer into *ret and returns NULL. */
static analysis *analyse(server *s, struct MHD_Connection *c, req *r, const char *name, enum MHD_Result *ret)
{
	experiment e;
	if (get_experiment(s, c, r, name, &e, ret) < 0 || flush_logged(s, c, r, ret) < 0)
		return NULL;
	an_options o;
	an_options_default(&o);
	analysis *a = NULL;
	seg_error err = {0};
	int rc = analysis_create(&e, &o, &a, &err);
	if (rc == 0) {
		rc = evstore_scan_experiment(s->store, e.name, analysis_add, a, &err);
		if (rc < 0 && err.code == 0)
			seg_error_set(&err, rc, "the store's events came out of order");
		if (rc == 0)
			rc = analysis_finish(a, &err);
	}
	if (rc < 0) {
		analysis_free(a);
		if (rc == SEG_EINVAL)
			*ret = serve__send_error(c, r, 409, "not_ready", "experiment '%s' cannot be analysed yet: %s",
			                         e.name, err.msg);
		else
			*ret = serve__send_error(c, r, 503, "unavailable", "the analysis failed: %s", err.msg);
		return NULL;
	}
	return a;
}

static enum MHD_Result h_analysis(server *s, struct MHD_Connection *c, req *r, const char *name)
{
	enum MHD_Result ret;
	analysis *a = analyse(s, c, r, name, &ret);
	if (a == NULL)
		return ret;
	strbuf sb = {0};
	const char *type = "application/json";
	switch (r->route) {
	case R_EXP_REPORT: analysis_json(a, &sb); break;
	case R_EXP_EXPORT:
		analysis_csv(a, &sb);
		type = "text/csv; charset=utf-8";
		break;
	case R_EXP_LIFT:
		analysis_svg_lift(a, &sb);
		type = "image/svg+xml";
		break;
	default:
		analysis_svg_sequential(a, &sb);
		type = "image/svg+xml";
		break;
	}
	analysis_free(a);
	if (sb.oom) {
		strbuf_free(&sb);
		return serve__send_error(c, r, 503, "unavailable", "out of memory");
	}
	ret = serve__send_bytes(c, r, 200, type, strbuf_cstr(&sb), sb.len, 1);
	strbuf_free(&sb);
	return ret;
}

/* ---- GET /api/power ---- */

/* A number argument in (lo, hi) (open); absent gives def (NAN: required). */
static int num_arg(struct MHD_Connection *c, const char *name, double lo, double hi, double def, double *out,
                   seg_error *err)
{
	const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
	if (v == NULL && !isnan(def)) {
		*out = def;
		return 0;
	}
	char *end = NULL;
	double x = v ? strtod(v, &end) : NAN;
	if (v == NULL || *v == '\0' || *end != '\0' || !(x > lo && x < hi))
		return seg_error_set(err, SEG_EINVAL, "%s must be a number between %g and %g (exclusive)%s%.40s%s",
		                     name, lo, hi, v ? ", not '" : ": it is required", v ? v : "", v ? "'" : "");
	*out = x;
	return 0;
}

static enum MHD_Result h_power(struct MHD_Connection *c, req *r)
{
	double p0, mde, alpha, power, n;
	seg_error err = {0};
	if (num_arg(c, "baseline", 0, 1, NAN, &p0, &err) < 0 || num_arg(c, "mde", -1, 1, NAN, &mde, &err) < 0 ||
	    num_arg(c, "alpha", 0, 1, 0.05, &alpha, &err) < 0 || num_arg(c, "power", 0, 1, 0.8, &power, &err) < 0 ||
	    stats_power_proportion(p0, mde, alpha, power, &n, &err) < 0) {
		if (err.code == 0)
			seg_error_set(&err, SEG_EINVAL, "no sample size for these inputs");
		return serve__send_seg_error(c, r, &err);
	}
	return serve__send_json(c, r, 200,
	                        json_pack("{s:I,s:I,s:f,s:f,s:f,s:f}", "users_per_variant", (json_int_t)n,
	                                  "users_total", (json_int_t)(2 * n), "baseline", p0, "mde", mde, "alpha",
	                                  alpha, "power", power));
}

/* ---- dispatch ---- */

enum MHD_Result serve__experiment_route(server *s, struct MHD_Connection *c, req *r, const char *name)
{
	enum MHD_Result ret;
	experiment e;
	switch (r->route) {
	case R_EVENTS: return h_events(s, c, r);
	case R_EXPERIMENTS: return h_list(s, c, r);
	case R_EXP_CREATE: return h_create(s, c, r);
	case R_EXPERIMENT:
		if (get_experiment(s, c, r, name, &e, &ret) < 0)
			return ret;
		return send_experiment(c, r, 200, &e);
	case R_EXP_START: return h_transition(s, c, r, name, EXP_RUNNING);
	case R_EXP_STOP: return h_transition(s, c, r, name, EXP_STOPPED);
	case R_EXP_REPORT:
	case R_EXP_EXPORT:
	case R_EXP_LIFT:
	case R_EXP_SEQUENTIAL: return h_analysis(s, c, r, name);
	case R_POWER: return h_power(c, r);
	default: return serve__send_error(c, r, 404, "not_found", "no such route");
	}
}
