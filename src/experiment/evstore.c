/* evstore.c: the event store's public functions (see evstore.h): picks the
 * backend from the address, runs the group commit that lets concurrent
 * appends share one transaction and one sync, and turns experiments into
 * the text the backends store. SQL lives in the backends
 * (evstore_sqlite.c, evstore_pg.c). */
#include "experiment/evstore.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "experiment/evstore_internal.h"

struct evstore {
	const evstore_ops *ops;
	void *impl;          /* the backend's connection state */
	pthread_mutex_t mu;  /* guards everything below */
	pthread_cond_t cv;   /* signalled when a group is done, on release of hold and when the last append leaves */
	evstore_item *head;  /* batches waiting for a leader, oldest first */
	evstore_item **tail; /* where the next one is linked */
	size_t queued;       /* batches in the queue */
	int leader;          /* 1 while a thread is committing a group */
	int hold;            /* test hook: nobody may lead while set */
	size_t inflight;     /* appends between entry and return */
	uint64_t commits;    /* transactions run */
	uint64_t batches;    /* batches appended */
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int evstore_open(const char *where, evstore **out, seg_error *err)
{
	*out = NULL;
	if (where == NULL || where[0] == '\0')
		return seg_error_set(err, SEG_EINVAL, "no event store given");
	evstore *s = calloc(1, sizeof *s);
	if (s == NULL)
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	int pg = strncmp(where, "postgresql://", 13) == 0 || strncmp(where, "postgres://", 11) == 0;
	s->ops = pg ? &evstore__pg_ops : &evstore__sqlite_ops;
	int rc = pg ? evstore__pg_open(where, &s->impl, err) : evstore__sqlite_open(where, &s->impl, err);
	if (rc < 0) {
		free(s);
		return rc;
	}
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	s->tail = &s->head;
	*out = s;
	return 0;
}

void evstore_close(evstore *s)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	s->hold = 0;
	pthread_cond_broadcast(&s->cv);
	while (s->inflight > 0)
		pthread_cond_wait(&s->cv, &s->mu);
	pthread_mutex_unlock(&s->mu);
	s->ops->close(s->impl);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

const char *evstore_kind(const evstore *s) { return s ? s->ops->kind : NULL; }

/* ---- group commit ---------------------------------------------------------
 * A caller queues its batch and waits. Whoever finds no leader at work
 * becomes the leader: it takes the whole queue (its own batch and every
 * batch that arrived while the previous group was syncing), commits it as
 * one transaction and wakes everyone whose batch was in it. A waiter whose
 * batch is still queued when that group is done leads the next one. No
 * thread of our own: the callers' threads do the work, and one sync covers
 * as many batches as arrived during the previous one. */

/* Links it at the queue's tail (under s->mu). The item lives on its
 * caller's stack: a leader takes it off the queue before that caller
 * returns. */
static void queue_push(evstore *s, evstore_item *it)
{
	*s->tail = it;
	s->tail = &it->next;
	s->queued++;
}

int evstore_append(evstore *s, ev_event *ev, size_t n, size_t *added, seg_error *err)
{
	if (added)
		*added = 0;
	if (ev == NULL || n == 0 || n > EV_MAX_BATCH)
		return seg_error_set(err, SEG_EINVAL, "a batch holds 1 to %d events, not %zu", EV_MAX_BATCH, n);
	int64_t t = now_ms();
	for (size_t i = 0; i < n; i++) {
		ev[i].server_ms = t;
		ev[i].seq = 0;
	}
	evstore_item it = {.ev = ev, .n = n};
	pthread_mutex_lock(&s->mu);
	s->inflight++;
	s->batches++;
	queue_push(s, &it);
	while (!it.done) {
		if (s->leader || s->hold || s->head == NULL) {
			pthread_cond_wait(&s->cv, &s->mu);
			continue;
		}
		evstore_item *group = s->head;
		s->head = NULL;
		s->tail = &s->head;
		s->queued = 0;
		s->leader = 1;
		pthread_mutex_unlock(&s->mu);
		s->ops->commit(s->impl, group);
		pthread_mutex_lock(&s->mu);
		s->commits++;
		/* `next` is read before done is set: a finished waiter's item
		 * leaves with its stack frame. */
		for (evstore_item *g = group, *next; g != NULL; g = next) {
			next = g->next;
			g->done = 1;
		}
		s->leader = 0;
		pthread_cond_broadcast(&s->cv);
	}
	s->inflight--;
	if (s->inflight == 0)
		pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	if (it.rc < 0) {
		if (err)
			*err = it.err;
		return it.rc;
	}
	if (added)
		*added = it.added;
	return 0;
}

void evstore__stats(evstore *s, uint64_t *commits, uint64_t *batches)
{
	pthread_mutex_lock(&s->mu);
	*commits = s->commits;
	*batches = s->batches;
	pthread_mutex_unlock(&s->mu);
}

void evstore__hold(evstore *s, int on)
{
	pthread_mutex_lock(&s->mu);
	s->hold = on;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

size_t evstore__queued(evstore *s)
{
	pthread_mutex_lock(&s->mu);
	size_t n = s->queued;
	pthread_mutex_unlock(&s->mu);
	return n;
}

int evstore_count(evstore *s, int64_t *n, seg_error *err)
{
	*n = 0;
	return s->ops->count(s->impl, n, err);
}

int evstore_scan_experiment(evstore *s, const char *name, evstore_scan_fn fn, void *ctx, seg_error *err)
{
	if (name == NULL || name[0] == '\0')
		return seg_error_set(err, SEG_EINVAL, "no experiment named");
	return s->ops->scan(s->impl, name, fn, ctx, err);
}

/* ---- helpers for the backends ---------------------------------------------- */

void evstore__tracks_text(const ev_event *e, strbuf *tracks, strbuf *teams)
{
	strbuf_reset(tracks);
	strbuf_reset(teams);
	for (size_t i = 0; i < e->ntracks; i++) {
		if (i)
			strbuf_putc(tracks, ',');
		strbuf_puts(tracks, e->tracks[i]);
		if (e->teams)
			strbuf_putc(teams, e->teams[i] ? 'B' : 'A');
	}
}

int evstore__row_init(evstore_row *r)
{
	memset(r, 0, sizeof *r);
	r->tracks = calloc(EV_MAX_LIST, sizeof *r->tracks);
	r->teams = calloc(EV_MAX_LIST, 1);
	if (r->tracks == NULL || r->teams == NULL) {
		evstore__row_free(r);
		return SEG_ENOMEM;
	}
	return 0;
}

void evstore__row_free(evstore_row *r)
{
	free(r->tracks);
	free(r->teams);
	memset(r, 0, sizeof *r);
}

static void copy_text(char *dst, size_t cap, const char *src) { snprintf(dst, cap, "%s", src ? src : ""); }

void evstore__row_fill(evstore_row *r, int64_t seq, const char *event_id, int type, const char *user,
                       const char *request, const char *track, int has_position, int64_t position, int64_t client_ms,
                       int64_t server_ms, const char *exp_name, const char *variant, const char *model,
                       const char *tracks, const char *teams)
{
	ev_event *e = &r->ev;
	e->seq = seq;
	e->type = type;
	copy_text(e->event_id, sizeof e->event_id, event_id);
	copy_text(e->user, sizeof e->user, user);
	copy_text(e->request, sizeof e->request, request);
	copy_text(e->track, sizeof e->track, track);
	e->position = has_position ? (int32_t)position : -1;
	e->client_ms = client_ms;
	e->server_ms = server_ms;
	copy_text(e->experiment, sizeof e->experiment, exp_name);
	copy_text(e->variant, sizeof e->variant, variant);
	copy_text(e->model, sizeof e->model, model);
	e->ntracks = 0;
	e->tracks = r->tracks;
	e->teams = NULL;
	for (const char *p = tracks; p != NULL && *p != '\0' && e->ntracks < EV_MAX_LIST;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		if (len > EV_TRACK_LEN)
			len = EV_TRACK_LEN;
		memcpy(r->tracks[e->ntracks], p, len);
		r->tracks[e->ntracks][len] = '\0';
		e->ntracks++;
		p = comma ? comma + 1 : NULL;
	}
	if (teams != NULL && teams[0] != '\0') {
		for (size_t i = 0; i < e->ntracks; i++)
			r->teams[i] = teams[i] == 'B';
		e->teams = r->teams;
	}
}

/* ---- experiments ----------------------------------------------------------- */

/* The stored form of an experiment: experiment.h's exp_json object. Until
 * that writer lands this file writes the same fields itself. */
static char *exp_text(const experiment *e)
{
	json_t *o = json_object();
	json_t *vars = json_array();
	json_t *guards = json_array();
	for (size_t i = 0; i < e->nvariants && i < EXP_MAX_VARIANTS; i++)
		json_array_append_new(vars,
		                      json_pack("{s:s, s:I, s:s}", "name", e->variant[i].name, "weight",
		                                (json_int_t)e->variant[i].weight, "config", e->variant[i].config));
	for (size_t i = 0; i < e->nguardrails && i < EXP_MAX_GUARDRAILS; i++)
		json_array_append_new(guards, json_string(e->guardrail[i]));
	static const char *const states[] = {"draft", "running", "stopped"};
	const char *state = e->state >= 0 && e->state <= EXP_STOPPED ? states[e->state] : "draft";
	json_object_set_new(o, "name", json_string(e->name));
	json_object_set_new(o, "salt", json_string(e->salt));
	json_object_set_new(o, "variants", vars);
	json_object_set_new(o, "metric", json_string(e->metric));
	json_object_set_new(o, "guardrails", guards);
	json_object_set_new(o, "state", json_string(state));
	json_object_set_new(o, "created_ms", json_integer(e->created_ms));
	json_object_set_new(o, "started_ms", json_integer(e->started_ms));
	json_object_set_new(o, "stopped_ms", json_integer(e->stopped_ms));
	char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return text;
}

static void take_string(json_t *o, const char *key, char *dst, size_t cap)
{
	const char *v = json_string_value(json_object_get(o, key));
	snprintf(dst, cap, "%s", v ? v : "");
}

static int exp_parse(const char *text, experiment *e, seg_error *err)
{
	memset(e, 0, sizeof *e);
	json_error_t je;
	json_t *o = json_loads(text, 0, &je);
	if (!json_is_object(o)) {
		json_decref(o);
		return seg_error_set(err, SEG_EFORMAT, "a stored experiment is not a JSON object: %s", je.text);
	}
	take_string(o, "name", e->name, sizeof e->name);
	take_string(o, "salt", e->salt, sizeof e->salt);
	take_string(o, "metric", e->metric, sizeof e->metric);
	json_t *vars = json_object_get(o, "variants");
	for (size_t i = 0; i < json_array_size(vars) && i < EXP_MAX_VARIANTS; i++) {
		json_t *v = json_array_get(vars, i);
		take_string(v, "name", e->variant[i].name, sizeof e->variant[i].name);
		take_string(v, "config", e->variant[i].config, sizeof e->variant[i].config);
		e->variant[i].weight = (unsigned)json_integer_value(json_object_get(v, "weight"));
		e->nvariants = i + 1;
	}
	json_t *guards = json_object_get(o, "guardrails");
	for (size_t i = 0; i < json_array_size(guards) && i < EXP_MAX_GUARDRAILS; i++) {
		const char *g = json_string_value(json_array_get(guards, i));
		snprintf(e->guardrail[i], sizeof e->guardrail[i], "%s", g ? g : "");
		e->nguardrails = i + 1;
	}
	const char *state = json_string_value(json_object_get(o, "state"));
	e->state = state && strcmp(state, "running") == 0   ? EXP_RUNNING
	           : state && strcmp(state, "stopped") == 0 ? EXP_STOPPED
	                                                    : EXP_DRAFT;
	e->created_ms = json_integer_value(json_object_get(o, "created_ms"));
	e->started_ms = json_integer_value(json_object_get(o, "started_ms"));
	e->stopped_ms = json_integer_value(json_object_get(o, "stopped_ms"));
	json_decref(o);
	return 0;
}

static int exp_put(evstore *s, int create, const experiment *e, seg_error *err)
{
	if (e == NULL || e->name[0] == '\0')
		return seg_error_set(err, SEG_EINVAL, "an experiment needs a name");
	char *text = exp_text(e);
	if (text == NULL)
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	static const char *const states[] = {"draft", "running", "stopped"};
	const char *state = e->state >= 0 && e->state <= EXP_STOPPED ? states[e->state] : "draft";
	int rc = s->ops->exp_put(s->impl, create, e->name, text, state, e->created_ms, err);
	free(text);
	return rc;
}

int evstore_experiment_create(evstore *s, const experiment *e, seg_error *err) { return exp_put(s, 1, e, err); }

int evstore_experiment_update(evstore *s, const experiment *e, seg_error *err) { return exp_put(s, 0, e, err); }

int evstore_experiment_get(evstore *s, const char *name, experiment *e, seg_error *err)
{
	char *text = NULL;
	int rc = s->ops->exp_get(s->impl, name, &text, err);
	if (rc == 0)
		rc = exp_parse(text, e, err);
	free(text);
	return rc;
}

int evstore_experiment_list(evstore *s, experiment **out, size_t *n, seg_error *err)
{
	*out = NULL;
	*n = 0;
	char **texts = NULL;
	size_t count = 0;
	int rc = s->ops->exp_list(s->impl, &texts, &count, err);
	if (rc < 0)
		return rc;
	experiment *list = NULL;
	if (count > 0 && (list = calloc(count, sizeof *list)) == NULL)
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory for %zu experiments", count);
	for (size_t i = 0; i < count; i++) {
		if (rc == 0)
			rc = exp_parse(texts[i], &list[i], err);
		free(texts[i]);
	}
	free(texts);
	if (rc < 0) {
		free(list);
		return rc;
	}
	*out = list;
	*n = count;
	return 0;
}
