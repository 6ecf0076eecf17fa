/* evstore.c: the event store's public functions (see evstore.h): picks the
 * backend from the address, runs the group commit that lets concurrent
 * appends share one transaction and one sync, and turns experiments into
 * the text the backends store. SQL lives in the backends
 * (evstore_sqlite.c, evstore_pg.c). */
#include "experiment/evstore.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "experiment/evstore_internal.h"

/* One logged event: a deep copy, its tracks and teams in the same block. */
typedef struct log_node {
	struct log_node *next;
	ev_event ev;
} log_node;

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
	int fail_writes;     /* test hook: groups still to fail with SEG_EDB */
	size_t inflight;     /* appends between entry and return */
	uint64_t commits;    /* transactions run */
	uint64_t batches;    /* batches appended */

	/* evstore_log's queue and its writer thread. */
	pthread_cond_t log_cv;   /* the writer waits here: for events, a flush, an append, close */
	pthread_cond_t log_done; /* loggers wait here for room, flushers and appenders for the writer */
	log_node *lhead;         /* logged and not yet taken by the writer, oldest first */
	log_node **ltail;        /* where the next one is linked */
	size_t lpending;         /* nodes in that list */
	size_t lqueued;          /* logged and not yet committed: the list and the writer's group */
	size_t lmax;             /* the bound: EVSTORE_LOG_MAX (a test hook lowers it) */
	uint64_t llogged;        /* events logged since open */
	uint64_t ltaken;         /* of those, handed to the group commit (at least once), a prefix */
	uint64_t lcommitted;     /* of those, committed, a prefix */
	int64_t loldest;         /* monotonic ms when the oldest of the list was logged */
	size_t lflushers;        /* evstore_flush calls waiting */
	int lurgent;             /* an append waits for the list to be taken: go now */
	int lstop;               /* close: drain, then stop */
	int lstarted;            /* the writer thread runs */
	int lrc;                 /* the writer's last write error, 0 once a retry succeeded */
	seg_error lerr;          /* its detail */
	pthread_t writer;
	ev_event *lbuf;       /* [EVSTORE_LOG_GROUP] the writer's group as batches */
	evstore_item *litems; /* [EVSTORE_LOG_GROUP / EV_MAX_BATCH] */
};

#define LOG_ITEMS ((EVSTORE_LOG_GROUP + EV_MAX_BATCH - 1) / EV_MAX_BATCH)

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits on cv (a CLOCK_MONOTONIC one) until the monotonic time `until` ms;
 * ETIMEDOUT once it has passed. */
static int wait_until(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t until)
{
	struct timespec ts = {(time_t)(until / 1000), (long)(until % 1000) * 1000000L};
	return pthread_cond_timedwait(cv, mu, &ts);
}

static void cond_init_mono(pthread_cond_t *cv)
{
	pthread_condattr_t a;
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(cv, &a);
	pthread_condattr_destroy(&a);
}

static void log_writer_stop(evstore *s);

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
	cond_init_mono(&s->log_cv);
	cond_init_mono(&s->log_done);
	s->tail = &s->head;
	s->ltail = &s->lhead;
	s->lmax = EVSTORE_LOG_MAX;
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
	log_writer_stop(s);
	s->ops->close(s->impl);
	free(s->lbuf);
	free(s->litems);
	pthread_cond_destroy(&s->log_done);
	pthread_cond_destroy(&s->log_cv);
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
 * batch is still queued when that group is done leads the next one. The
 * callers' threads do the work: the appenders', and the log writer's for
 * the logged events (which it queues as several batches at once). One
 * sync covers as many batches as arrived during the previous one. */

/* Fails every batch of the group (the test hook's injected write error). */
static void group_fail(evstore_item *group)
{
	for (evstore_item *g = group; g != NULL; g = g->next) {
		g->rc = seg_error_set(&g->err, SEG_EDB, "event store: an injected write error (test hook)");
		g->added = 0;
		for (size_t i = 0; i < g->n; i++)
			g->ev[i].seq = 0;
	}
}

/* Links the batches first..last (linked through next, nitems of them) at
 * the queue's tail and returns once they are committed or failed: they
 * are queued together, so one leader takes them all in one group. Called
 * and returns with s->mu held. The items live with their caller: a leader
 * takes them off the queue before that caller returns. */
static void group_run(evstore *s, evstore_item *first, evstore_item *last, size_t nitems)
{
	last->next = NULL;
	*s->tail = first;
	s->tail = &last->next;
	s->queued += nitems;
	s->batches += nitems;
	while (!last->done) {
		if (s->leader || s->hold || s->head == NULL) {
			pthread_cond_wait(&s->cv, &s->mu);
			continue;
		}
		evstore_item *group = s->head;
		s->head = NULL;
		s->tail = &s->head;
		s->queued = 0;
		s->leader = 1;
		int fail = s->fail_writes > 0;
		if (fail)
			s->fail_writes--;
		pthread_mutex_unlock(&s->mu);
		if (fail)
			group_fail(group);
		else
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
	/* Events logged before this append go first (a play posted after its
	 * list was served must come after the list's impression): wait until
	 * the writer has queued them for the group commit, where this batch
	 * follows them, in the same group when they meet. */
	uint64_t logged = s->llogged;
	while (s->ltaken < logged && s->lstarted && s->lrc == 0) {
		s->lurgent = 1;
		pthread_cond_signal(&s->log_cv);
		pthread_cond_wait(&s->log_done, &s->mu);
	}
	group_run(s, &it, &it, 1);
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

/* ---- the log writer ---------------------------------------------------------
 * evstore_log links a copy of the event to the list and wakes the writer
 * when the list was empty (the writer then sleeps until the oldest event is
 * EVSTORE_LOG_INTERVAL_MS old) or holds EV_MAX_BATCH events. The writer
 * takes up to EVSTORE_LOG_GROUP events, copies them into its batches of
 * EV_MAX_BATCH (the events' lists stay in the nodes) and runs them through
 * group_run. Only one group of the writer is in flight at a time, so the
 * events are committed in the order they were logged and `lcommitted`
 * counts a prefix of them. A group that fails is run again, whole, after a
 * backoff: the backends store an event_id once, so what the failed attempt
 * did store is not stored twice. */

static void nodes_free(log_node *n)
{
	while (n != NULL) {
		log_node *next = n->next;
		free(n);
		n = next;
	}
}

/* Whether the writer should take the list now (under s->mu). */
static int log_due(const evstore *s, int64_t now)
{
	return s->lstop || s->lurgent || s->lflushers > 0 || s->lpending >= EV_MAX_BATCH ||
	       now >= s->loldest + EVSTORE_LOG_INTERVAL_MS;
}

/* Takes up to EVSTORE_LOG_GROUP nodes off the list (under s->mu); *k says
 * how many. */
static log_node *log_take(evstore *s, size_t *k)
{
	log_node *first = s->lhead, **cut = &s->lhead;
	size_t n = 0;
	while (*cut != NULL && n < EVSTORE_LOG_GROUP) {
		cut = &(*cut)->next;
		n++;
	}
	s->lhead = *cut;
	*cut = NULL;
	if (s->lhead == NULL)
		s->ltail = &s->lhead;
	s->lpending -= n;
	/* What is left is a backlog: due at once. */
	s->loldest = 0;
	s->lurgent = 0;
	*k = n;
	return first;
}

/* Lays the group's events out as batches of EV_MAX_BATCH, linked; returns
 * the number of batches. */
static size_t log_items(evstore *s, const log_node *group)
{
	size_t n = 0;
	for (const log_node *g = group; g != NULL; g = g->next)
		s->lbuf[n++] = g->ev;
	size_t nitems = 0;
	for (size_t off = 0; off < n; off += EV_MAX_BATCH) {
		evstore_item *it = &s->litems[nitems++];
		memset(it, 0, sizeof *it);
		it->ev = s->lbuf + off;
		it->n = n - off < EV_MAX_BATCH ? n - off : EV_MAX_BATCH;
		if (nitems > 1)
			s->litems[nitems - 2].next = it;
	}
	return nitems;
}

static void *log_writer(void *arg)
{
	evstore *s = arg;
	log_node *group = NULL;
	size_t k = 0, nitems = 0;
	int64_t backoff = 0, give_up = 0;
	pthread_mutex_lock(&s->mu);
	for (;;) {
		if (group == NULL) {
			for (;;) {
				int64_t now = mono_ms();
				if (s->lhead != NULL && log_due(s, now))
					break;
				if (s->lhead == NULL && s->lstop)
					goto out;
				if (s->lhead == NULL)
					pthread_cond_wait(&s->log_cv, &s->mu);
				else
					wait_until(&s->log_cv, &s->mu, s->loldest + EVSTORE_LOG_INTERVAL_MS);
			}
			group = log_take(s, &k);
			pthread_mutex_unlock(&s->mu);
			nitems = log_items(s, group);
			pthread_mutex_lock(&s->mu);
			s->ltaken += k;
			pthread_cond_broadcast(&s->log_done); /* appenders waiting for ltaken */
		} else {
			for (size_t i = 0; i < nitems; i++) {
				evstore_item *it = &s->litems[i];
				it->done = 0;
				it->rc = 0;
				it->added = 0;
				memset(&it->err, 0, sizeof it->err);
				it->next = i + 1 < nitems ? it + 1 : NULL;
			}
		}
		group_run(s, s->litems, &s->litems[nitems - 1], nitems);
		const evstore_item *bad = NULL;
		for (size_t i = 0; i < nitems && bad == NULL; i++)
			if (s->litems[i].rc < 0)
				bad = &s->litems[i];
		if (bad == NULL) {
			s->lcommitted += k;
			s->lqueued -= k;
			if (s->lrc < 0)
				fprintf(stderr, "event store: logged events are stored again\n");
			s->lrc = 0;
			pthread_cond_broadcast(&s->log_done);
			pthread_mutex_unlock(&s->mu);
			nodes_free(group);
			pthread_mutex_lock(&s->mu);
			group = NULL;
			backoff = 0;
			continue;
		}
		/* A write error: the group stays, and is tried again. */
		if (s->lrc == 0)
			fprintf(stderr, "event store: cannot store logged events (kept, tried again): %s\n",
			        bad->err.msg);
		s->lrc = bad->rc;
		s->lerr = bad->err;
		pthread_cond_broadcast(&s->log_done);
		backoff = backoff == 0 ? EVSTORE_LOG_RETRY_MS : backoff * 2 > 1000 ? 1000 : backoff * 2;
		int64_t now = mono_ms();
		if (s->lstop) {
			if (give_up == 0)
				give_up = now + EVSTORE_CLOSE_RETRY_MS;
			if (now >= give_up) {
				fprintf(stderr, "event store: closing: %zu logged events could not be stored: %s\n",
				        s->lqueued, s->lerr.msg);
				nodes_free(group);
				nodes_free(s->lhead);
				s->lhead = NULL;
				s->ltail = &s->lhead;
				s->lpending = 0;
				s->lqueued = 0;
				goto out;
			}
		}
		for (int64_t until = now + backoff; mono_ms() < until;)
			wait_until(&s->log_cv, &s->mu, until);
	}
out:
	pthread_cond_broadcast(&s->log_done);
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* Starts the writer (under s->mu), with every signal blocked in it: the
 * process's signals are for its own threads to take. */
static int log_writer_start(evstore *s, seg_error *err)
{
	if (s->lbuf == NULL)
		s->lbuf = malloc(EVSTORE_LOG_GROUP * sizeof *s->lbuf);
	if (s->litems == NULL)
		s->litems = calloc(LOG_ITEMS, sizeof *s->litems);
	if (s->lbuf == NULL || s->litems == NULL)
		return seg_error_set(err, SEG_ENOMEM, "out of memory for the event store's writer");
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&s->writer, NULL, log_writer, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		return seg_error_set(err, SEG_EIO, "cannot start the event store's writer thread: %s", strerror(rc));
	s->lstarted = 1;
	return 0;
}

/* Drains the list and stops the writer (close). */
static void log_writer_stop(evstore *s)
{
	pthread_mutex_lock(&s->mu);
	s->lstop = 1;
	int started = s->lstarted;
	pthread_cond_signal(&s->log_cv);
	pthread_mutex_unlock(&s->mu);
	if (started)
		pthread_join(s->writer, NULL);
	pthread_mutex_lock(&s->mu);
	s->lstarted = 0;
	pthread_mutex_unlock(&s->mu);
}

int evstore_log(evstore *s, const ev_event *ev, seg_error *err)
{
	if (ev == NULL || ev->ntracks > EV_MAX_LIST || (ev->ntracks > 0 && ev->tracks == NULL))
		return seg_error_set(err, SEG_EINVAL, "an event to log needs at most %d tracks", EV_MAX_LIST);
	size_t nt = ev->ntracks;
	size_t tsize = nt * sizeof *ev->tracks, msize = ev->teams != NULL ? nt : 0;
	log_node *node = malloc(sizeof *node + tsize + msize);
	if (node == NULL)
		return seg_error_set(err, SEG_ENOMEM, "out of memory for a logged event");
	node->next = NULL;
	node->ev = *ev;
	node->ev.tracks = nt > 0 ? (void *)(node + 1) : NULL;
	node->ev.teams = ev->teams != NULL ? (uint8_t *)(node + 1) + tsize : NULL;
	if (nt > 0)
		memcpy(node->ev.tracks, ev->tracks, tsize);
	if (msize > 0)
		memcpy(node->ev.teams, ev->teams, msize);
	node->ev.server_ms = now_ms();
	node->ev.seq = 0;

	int rc = 0;
	pthread_mutex_lock(&s->mu);
	if (s->lstop)
		rc = seg_error_set(err, SEG_EINVAL, "the event store is closing");
	else if (s->lrc < 0)
		rc = seg_error_set(err, s->lrc, "the event store cannot store events now: %s", s->lerr.msg);
	else if (!s->lstarted)
		rc = log_writer_start(s, err);
	int64_t until = mono_ms() + EVSTORE_LOG_WAIT_MS;
	while (rc == 0 && s->lqueued >= s->lmax) {
		if (s->lrc < 0)
			rc = seg_error_set(err, s->lrc, "the event store cannot store events now: %s", s->lerr.msg);
		else if (wait_until(&s->log_done, &s->mu, until) == ETIMEDOUT && s->lqueued >= s->lmax)
			rc = seg_error_set(err, SEG_EIO,
			                   "the event store is falling behind: %zu logged events wait to be stored",
			                   s->lqueued);
	}
	if (rc == 0) {
		*s->ltail = node;
		s->ltail = &node->next;
		s->lpending++;
		s->lqueued++;
		s->llogged++;
		if (s->lpending == 1) {
			s->loldest = mono_ms();
			pthread_cond_signal(&s->log_cv);
		} else if (s->lpending == EV_MAX_BATCH) {
			pthread_cond_signal(&s->log_cv);
		}
	}
	pthread_mutex_unlock(&s->mu);
	if (rc < 0)
		free(node);
	return rc;
}

int evstore_flush(evstore *s, seg_error *err)
{
	int rc = 0;
	pthread_mutex_lock(&s->mu);
	uint64_t target = s->llogged;
	if (s->lcommitted < target) {
		s->lflushers++;
		pthread_cond_signal(&s->log_cv);
		while (s->lcommitted < target && s->lrc == 0 && s->lstarted)
			pthread_cond_wait(&s->log_done, &s->mu);
		s->lflushers--;
		if (s->lcommitted < target)
			rc = s->lrc < 0 ? seg_error_set(err, s->lrc, "the event store cannot store events now: %s",
			                                s->lerr.msg)
			                : seg_error_set(err, SEG_EIO, "the event store's writer has stopped");
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
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

void evstore__fail_writes(evstore *s, int n)
{
	pthread_mutex_lock(&s->mu);
	s->fail_writes = n;
	pthread_mutex_unlock(&s->mu);
}

void evstore__log_max(evstore *s, size_t max)
{
	pthread_mutex_lock(&s->mu);
	s->lmax = max > 0 ? max : EVSTORE_LOG_MAX;
	pthread_cond_broadcast(&s->log_done);
	pthread_mutex_unlock(&s->mu);
}

size_t evstore__log_queued(evstore *s)
{
	pthread_mutex_lock(&s->mu);
	size_t n = s->lqueued;
	pthread_mutex_unlock(&s->mu);
	return n;
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

/* The stored form of an experiment is experiment.h's exp_json object, read
 * back with exp_from_json (which checks it as the API does). */
static char *exp_text(const experiment *e)
{
	strbuf sb = {0};
	exp_json(e, &sb);
	return strbuf_detach(&sb);
}

static int exp_parse(const char *text, experiment *e, seg_error *err)
{
	seg_error why = {0};
	int rc = exp_from_json(text, strlen(text), e, &why);
	if (rc < 0)
		return seg_error_set(err, rc, "a stored experiment does not read back: %s", why.msg);
	return 0;
}

static int exp_put(evstore *s, int create, const experiment *e, seg_error *err)
{
	if (e == NULL || e->name[0] == '\0')
		return seg_error_set(err, SEG_EINVAL, "an experiment needs a name");
	int rc = exp_check(e, err);
	if (rc < 0)
		return rc;
	char *text = exp_text(e);
	if (text == NULL)
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	const char *state = exp_state_name(e->state);
	rc = s->ops->exp_put(s->impl, create, e->name, text, state ? state : "draft", e->created_ms, err);
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
