/* test_evstore.c: the event store's guarantees, each checked on SQLite and,
 * when scripts/pg-throwaway can start a throwaway server, on PostgreSQL
 * (otherwise those tests are reported skipped): a retried batch is stored
 * once, a batch is all or nothing (also inside a group commit of several
 * batches), concurrent appends are all stored exactly once with distinct
 * seq, the group commit really shares transactions, the experiment scan
 * order and filter, experiments CRUD, the schema version check, and no
 * acknowledged event lost when the appending process is killed with
 * SIGKILL; and evstore_log's writer: logged events stored once flushed,
 * once each and in order (also from several threads), the bound, close
 * draining, a write error retried. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "experiment/evstore.h"
#include "experiment/evstore_internal.h"
#include "testutil.h"

#define TRACK "4uLU6hMCjMI75M1A2tKUQC"
#define T0 1764892800000LL

/* One backend under test. */
typedef struct backend {
	const char *kind; /* "sqlite" or "postgresql" */
	char dir[PATH_MAX];
	char host[PATH_MAX]; /* postgresql: the socket directory */
	char url[PATH_MAX];  /* postgresql: the maintenance database's URL */
	int up;              /* postgresql: the server started */
	char why[512];       /* why it did not */
	int next;            /* fresh stores made */
} backend;

static backend sq = {.kind = "sqlite"};
static backend pg = {.kind = "postgresql"};

/* The source root, where scripts/ is: $SEGUE_ROOT, else the root this file
 * was compiled from (meson passes "../tests/test_evstore.c"). */
static const char *script_path(char *buf, size_t cap)
{
	const char *env = getenv("SEGUE_ROOT");
	char here[PATH_MAX];
	snprintf(here, sizeof here, "%s", __FILE__);
	char *cut = strstr(here, "tests/test_evstore.c");
	if (cut)
		*cut = '\0';
	const char *roots[] = {env && *env ? env : ".", cut && here[0] ? here : ".", ".", ".."};
	for (size_t i = 0; i < sizeof roots / sizeof *roots; i++) {
		snprintf(buf, cap, "%s/scripts/pg-throwaway", roots[i]);
		if (access(buf, X_OK) == 0)
			return buf;
	}
	return NULL;
}

static int group_setup(void **state)
{
	(void)state;
	snprintf(sq.dir, sizeof sq.dir, "%s", tu_tmpdir());
	snprintf(pg.dir, sizeof pg.dir, "%s/pg", tu_tmpdir());
	char script[PATH_MAX];
	if (script_path(script, sizeof script) == NULL) {
		snprintf(pg.why, sizeof pg.why, "scripts/pg-throwaway not found (set SEGUE_ROOT)");
		return 0;
	}
	char cmd[4 * PATH_MAX], *out = NULL;
	snprintf(cmd, sizeof cmd, "'%s' start '%s' 2>'%s.err'", script, pg.dir, pg.dir);
	int status = tu_run(cmd, &out);
	if (status != 0 || out == NULL || strncmp(out, "postgresql://", 13) != 0) {
		snprintf(pg.why, sizeof pg.why,
		         "scripts/pg-throwaway could not start PostgreSQL (exit %d; see %.300s.err)", status, pg.dir);
		free(out);
		return 0;
	}
	out[strcspn(out, "\n")] = '\0';
	snprintf(pg.url, sizeof pg.url, "%s", out);
	const char *h = strstr(out, "host=");
	snprintf(pg.host, sizeof pg.host, "%.*s", h ? (int)strcspn(h + 5, "&") : 0, h ? h + 5 : "");
	free(out);
	pg.up = 1;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	char script[PATH_MAX], cmd[4 * PATH_MAX];
	if (pg.up && script_path(script, sizeof script)) {
		snprintf(cmd, sizeof cmd, "'%s' stop '%s'", script, pg.dir);
		tu_run(cmd, NULL);
	}
	/* pg.dir lives inside a tu_tmpdir of its own. */
	char parent[PATH_MAX];
	snprintf(parent, sizeof parent, "%s", pg.dir);
	*strrchr(parent, '/') = '\0';
	tu_rmtree(parent);
	tu_rmtree(sq.dir);
	return 0;
}

/* Runs one SQL statement on a PostgreSQL database; fails the test on error. */
static void pg_exec(const char *url, const char *sql)
{
	PGconn *c = PQconnectdb(url);
	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("cannot connect to %s: %s", url, PQerrorMessage(c));
	PGresult *r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
}

/* The address of a new, empty store of backend b; skips the test when b is
 * a PostgreSQL that did not start. */
static const char *fresh(backend *b, char *where, size_t cap)
{
	int n = ++b->next;
	if (b == &sq) {
		snprintf(where, cap, "%s/events-%d.db", b->dir, n);
		return where;
	}
	if (!b->up) {
		print_message("skipped: %s\n", b->why);
		skip();
	}
	char sql[64];
	snprintf(sql, sizeof sql, "CREATE DATABASE t%d", n);
	pg_exec(b->url, sql);
	snprintf(where, cap, "postgresql:///t%d?host=%s&user=postgres", n, b->host);
	return where;
}

static evstore *open_ok(const char *where)
{
	evstore *s = NULL;
	seg_error err = {0};
	int rc = evstore_open(where, &s, &err);
	if (rc != 0)
		fail_msg("evstore_open(%s): %d %s", where, rc, err.msg);
	return s;
}

/* Fills ev[n] with plays "<prefix>-<i>" by users "u<i % users>". */
static void make_plays(ev_event *ev, size_t n, const char *prefix, int users)
{
	memset(ev, 0, n * sizeof *ev);
	for (size_t i = 0; i < n; i++) {
		ev[i].type = EV_PLAY;
		snprintf(ev[i].event_id, sizeof ev[i].event_id, "%s-%zu", prefix, i);
		snprintf(ev[i].user, sizeof ev[i].user, "u%zu", i % (size_t)users);
		snprintf(ev[i].request, sizeof ev[i].request, "r%zu", i / 10);
		strcpy(ev[i].track, TRACK);
		ev[i].position = (int32_t)(i % 10);
		ev[i].client_ms = T0 + (int64_t)i;
	}
}

static void append_ok(evstore *s, ev_event *ev, size_t n, size_t want_added)
{
	size_t added = 99999;
	seg_error err = {0};
	int rc = evstore_append(s, ev, n, &added, &err);
	if (rc != 0)
		fail_msg("evstore_append: %d %s", rc, err.msg);
	assert_int_equal(added, want_added);
}

static int64_t count_of(evstore *s)
{
	int64_t n = -1;
	seg_error err;
	assert_int_equal(evstore_count(s, &n, &err), 0);
	return n;
}

/* ---- idempotence --------------------------------------------------------- */

static void test_retry_stored_once(void **state)
{
	backend *b = *state;
	char where[PATH_MAX];
	evstore *s = open_ok(fresh(b, where, sizeof where));
	assert_string_equal(evstore_kind(s), b->kind);
	ev_event ev[100], again[100];
	make_plays(ev, 100, "a", 7);
	append_ok(s, ev, 100, 100);
	for (size_t i = 1; i < 100; i++)
		assert_true(ev[i].seq > ev[i - 1].seq);
	assert_true(ev[0].server_ms >= T0);
	/* The same batch again: nothing new, and each event reports the
	 * stored one's seq. */
	make_plays(again, 100, "a", 7);
	append_ok(s, again, 100, 0);
	for (size_t i = 0; i < 100; i++) {
		assert_int_equal(again[i].seq, ev[i].seq);
		assert_int_equal(again[i].server_ms, ev[i].server_ms);
	}
	assert_int_equal(count_of(s), 100);
	/* Half old, half new. */
	make_plays(again, 100, "a", 7);
	for (size_t i = 50; i < 100; i++)
		snprintf(again[i].event_id, sizeof again[i].event_id, "b-%zu", i);
	append_ok(s, again, 100, 50);
	assert_int_equal(count_of(s), 150);
	/* Still there after reopening. */
	evstore_close(s);
	s = open_ok(where);
	assert_int_equal(count_of(s), 150);
	append_ok(s, ev, 100, 0);
	/* Batch sizes out of range. */
	seg_error err;
	size_t added;
	assert_int_equal(evstore_append(s, ev, 0, &added, &err), SEG_EINVAL);
	ev_event *big = calloc(EV_MAX_BATCH + 1, sizeof *big);
	assert_int_equal(evstore_append(s, big, EV_MAX_BATCH + 1, &added, &err), SEG_EINVAL);
	free(big);
	evstore_close(s);
	evstore_close(NULL);
}

/* ---- all or nothing ---------------------------------------------------- */

static void test_batch_all_or_nothing(void **state)
{
	backend *b = *state;
	char where[PATH_MAX];
	evstore *s = open_ok(fresh(b, where, sizeof where));
	ev_event ev[100];
	make_plays(ev, 100, "x", 5);
	/* The store's schema refuses a type out of range: event 57 sinks the
	 * batch, and none of the 99 good ones is stored. */
	ev[57].type = 42;
	seg_error err = {0};
	size_t added = 7;
	assert_int_equal(evstore_append(s, ev, 100, &added, &err), SEG_EDB);
	assert_int_equal(added, 0);
	assert_non_null(strstr(err.msg, "x-57"));
	assert_int_equal(count_of(s), 0);
	for (size_t i = 0; i < 100; i++)
		assert_int_equal(ev[i].seq, 0);
	/* Fixed and posted again, all of it is new. */
	ev[57].type = EV_SKIP;
	append_ok(s, ev, 100, 100);
	assert_int_equal(count_of(s), 100);
	evstore_close(s);
}

/* A thread appending one batch. */
typedef struct appender {
	evstore *s;
	ev_event *ev;
	size_t n;
	size_t added;
	int rc;
	pthread_t th;
} appender;

static void *append_thread(void *arg)
{
	appender *a = arg;
	seg_error err;
	a->rc = evstore_append(a->s, a->ev, a->n, &a->added, &err);
	return NULL;
}

static void wait_queued(evstore *s, size_t n)
{
	for (int i = 0; i < 20000 && evstore__queued(s) < n; i++)
		usleep(500);
	assert_int_equal(evstore__queued(s), n);
}

/* Four batches held back and then committed as one group: one commit; the
 * bad batch fails alone; the same batch twice in a group is stored once. */
static void test_group_isolates_batches(void **state)
{
	backend *b = *state;
	char where[PATH_MAX];
	evstore *s = open_ok(fresh(b, where, sizeof where));
	static ev_event good[50], bad[50], twin1[30], twin2[30];
	make_plays(good, 50, "good", 3);
	make_plays(bad, 50, "bad", 3);
	bad[49].type = -1;
	make_plays(twin1, 30, "twin", 3);
	make_plays(twin2, 30, "twin", 3);
	uint64_t c0, b0, c1, b1;
	evstore__stats(s, &c0, &b0);
	evstore__hold(s, 1);
	appender a[4] = {
		{s, good, 50, 0, 0, 0}, {s, bad, 50, 0, 0, 0}, {s, twin1, 30, 0, 0, 0}, {s, twin2, 30, 0, 0, 0}};
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_create(&a[i].th, NULL, append_thread, &a[i]), 0);
		wait_queued(s, (size_t)i + 1);
	}
	evstore__hold(s, 0);
	for (int i = 0; i < 4; i++)
		pthread_join(a[i].th, NULL);
	evstore__stats(s, &c1, &b1);
	assert_int_equal(c1 - c0, 1); /* one transaction for the four */
	assert_int_equal(b1 - b0, 4);
	assert_int_equal(a[0].rc, 0);
	assert_int_equal(a[0].added, 50);
	assert_int_equal(a[1].rc, SEG_EDB);
	assert_int_equal(a[1].added, 0);
	assert_int_equal(a[2].rc, 0);
	assert_int_equal(a[3].rc, 0);
	assert_int_equal(a[2].added + a[3].added, 30);
	assert_int_equal(twin1[7].seq, twin2[7].seq);
	assert_int_equal(count_of(s), 80);
	evstore_close(s);
}

/* evstore_close waits for an append in flight, which then succeeds. */
static void test_close_waits(void **state)
{
	backend *b = *state;
	char where[PATH_MAX];
	evstore *s = open_ok(fresh(b, where, sizeof where));
	static ev_event ev[40];
	make_plays(ev, 40, "late", 3);
	evstore__hold(s, 1);
	appender a = {s, ev, 40, 0, -99, 0};
	assert_int_equal(pthread_create(&a.th, NULL, append_thread, &a), 0);
	wait_queued(s, 1);
	evstore_close(s);
	pthread_join(a.th, NULL);
	assert_int_equal(a.rc, 0);
	assert_int_equal(a.added, 40);
	s = open_ok(where);
	assert_int_equal(count_of(s), 40);
	evstore_close(s);
}

/* ---- concurrency ------------------------------------------------------- */

#define CT 6  /* threads */
#define CB 40 /* batches per thread */
#define CN 25 /* events per batch */

typedef struct worker {
	evstore *s;
	int id;
	int64_t seqs[CB * CN];
	int failures;
	pthread_t th;
} worker;

static void *work_thread(void *arg)
{
	worker *w = arg;
	ev_event ev[CN];
	for (int bn = 0; bn < CB; bn++) {
		char prefix[32];
		snprintf(prefix, sizeof prefix, "w%d-b%d", w->id, bn);
		make_plays(ev, CN, prefix, 11);
		size_t added = 0;
		seg_error err;
		if (evstore_append(w->s, ev, CN, &added, &err) != 0 || added != CN)
			w->failures++;
		/* Every fourth batch is retried at once, as a client that did
		 * not hear the answer would. */
		if (bn % 4 == 0 && (evstore_append(w->s, ev, CN, &added, &err) != 0 || added != 0))
			w->failures++;
		for (int i = 0; i < CN; i++)
			w->seqs[bn * CN + i] = ev[i].seq;
	}
	return NULL;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static void test_concurrent_appends(void **state)
{
	backend *b = *state;
	char where[PATH_MAX];
	evstore *s = open_ok(fresh(b, where, sizeof where));
	static worker w[CT];
	for (int i = 0; i < CT; i++) {
		w[i] = (worker){.s = s, .id = i};
		assert_int_equal(pthread_create(&w[i].th, NULL, work_thread, &w[i]), 0);
	}
	for (int i = 0; i < CT; i++)
		pthread_join(w[i].th, NULL);
	static int64_t all[CT * CB * CN];
	size_t k = 0;
	for (int i = 0; i < CT; i++) {
		assert_int_equal(w[i].failures, 0);
		for (int j = 0; j < CB * CN; j++)
			all[k++] = w[i].seqs[j];
	}
	qsort(all, k, sizeof *all, cmp_i64);
	assert_true(all[0] > 0);
	for (size_t i = 1; i < k; i++)
		if (all[i] == all[i - 1])
			fail_msg("seq %lld given twice", (long long)all[i]);
	assert_int_equal(count_of(s), CT * CB * CN);
	uint64_t commits, batches;
	evstore__stats(s, &commits, &batches);
	print_message("%s: %llu batches in %llu commits\n", b->kind, (unsigned long long)batches,
	              (unsigned long long)commits);
	assert_int_equal(batches, CT * CB + CT * (CB / 4));
	/* Six threads appending at once must have shared commits. */
	assert_true(commits < batches);
	evstore_close(s);
}

/* ---- the experiment scan ----------------------------------------------- */

static void impression(ev_event *e, const char *id, const char *user, const char *exp, const char *variant)
{
	static char tracks[3][EV_TRACK_LEN + 1] = {TRACK, "40riOy7x9W7GXjyGp4pjAv", "0000000000000000000000"};
	static uint8_t teams[3] = {1, 0, 1};
	memset(e, 0, sizeof *e);
	e->type = EV_IMPRESSION;
	snprintf(e->event_id, sizeof e->event_id, "%s", id);
	snprintf(e->request, sizeof e->request, "%s", id);
	snprintf(e->user, sizeof e->user, "%s", user);
	snprintf(e->experiment, sizeof e->experiment, "%s", exp);
	snprintf(e->variant, sizeof e->variant, "%s", variant);
	strcpy(e->model, "interleave:als,popular");
	e->position = -1;
	e->client_ms = T0;
	e->ntracks = 3;
	e->tracks = tracks;
	e->teams = strcmp(variant, "inter") == 0 ? teams : NULL;
}

static void play(ev_event *e, const char *id, const char *user)
{
	make_plays(e, 1, "p", 1);
	snprintf(e->event_id, sizeof e->event_id, "%s", id);
	snprintf(e->user, sizeof e->user, "%s", user);
}

typedef struct seen {
	char ids[64][EV_ID_MAX + 1];
	char users[64][EV_ID_MAX + 1];
	int64_t seq[64];
	size_t n;
	size_t stop_at; /* return 7 at this call (0 never) */
	int teams_ok;
} seen;

static int collect(void *ctx, const ev_event *ev)
{
	seen *c = ctx;
	if (c->n >= 64)
		return -1;
	strcpy(c->ids[c->n], ev->event_id);
	strcpy(c->users[c->n], ev->user);
	c->seq[c->n] = ev->seq;
	if (strcmp(ev->event_id, "imp-u1") == 0)
		c->teams_ok = ev->ntracks == 3 && strcmp(ev->tracks[1], "40riOy7x9W7GXjyGp4pjAv") == 0 &&
		              ev->teams != NULL && ev->teams[0] == 1 && ev->teams[1] == 0 &&
		              strcmp(ev->model, "interleave:als,popular") == 0 && strcmp(ev->variant, "inter") == 0 &&
		              ev->position == -1 && ev->track[0] == '\0';
	c->n++;
	return c->stop_at && c->n == c->stop_at ? 7 : 0;
}

static void test_scan_experiment(void **state)
{
	backend *b = *state;
	char where[PATH_MAX];
	evstore *s = open_ok(fresh(b, where, sizeof where));
	ev_event ev[10];
	/* u1's play before its impression (the CUPED covariate's), then the
	 * experiment's traffic; u2 is in another experiment; u4 in none. */
	play(&ev[0], "pre-u1", "u1");
	impression(&ev[1], "imp-u3", "u3", "exp1", "control");
	impression(&ev[2], "imp-u1", "u1", "exp1", "inter");
	impression(&ev[3], "imp-u2", "u2", "exp2", "control");
	play(&ev[4], "play-u2", "u2");
	play(&ev[5], "play-u4", "u4");
	append_ok(s, ev, 6, 6);
	play(&ev[0], "play-u3", "u3");
	play(&ev[1], "play-u1", "u1");
	ev[1].type = EV_LIKE;
	append_ok(s, ev, 2, 2);

	seen c = {0};
	seg_error err;
	assert_int_equal(evstore_scan_experiment(s, "exp1", collect, &c, &err), 0);
	static const char *const want[] = {"pre-u1", "imp-u1", "play-u1", "imp-u3", "play-u3"};
	assert_int_equal(c.n, 5);
	for (size_t i = 0; i < 5; i++)
		assert_string_equal(c.ids[i], want[i]);
	assert_true(c.seq[0] < c.seq[1] && c.seq[1] < c.seq[2] && c.seq[3] < c.seq[4]);
	assert_true(c.teams_ok);

	/* A nonzero return stops the scan and is returned. */
	seen stop = {.stop_at = 2};
	assert_int_equal(evstore_scan_experiment(s, "exp1", collect, &stop, &err), 7);
	assert_int_equal(stop.n, 2);

	seen none = {0};
	assert_int_equal(evstore_scan_experiment(s, "nope", collect, &none, &err), 0);
	assert_int_equal(none.n, 0);
	seen two = {0};
	assert_int_equal(evstore_scan_experiment(s, "exp2", collect, &two, &err), 0);
	assert_int_equal(two.n, 2);
	assert_string_equal(two.ids[0], "imp-u2");
	assert_string_equal(two.ids[1], "play-u2");
	evstore_close(s);
}

/* ---- experiments ------------------------------------------------------- */

static experiment sample_experiment(const char *name, int64_t created)
{
	experiment e = {0};
	snprintf(e.name, sizeof e.name, "%s", name);
	strcpy(e.salt, "s4lt");
	e.nvariants = 2;
	strcpy(e.variant[0].name, "control");
	e.variant[0].weight = 50;
	strcpy(e.variant[0].config, "model=hybrid");
	strcpy(e.variant[1].name, "treatment");
	e.variant[1].weight = 50;
	strcpy(e.variant[1].config, "model=hybrid,diversity=0.6");
	strcpy(e.metric, "play_rate");
	e.nguardrails = 1;
	strcpy(e.guardrail[0], "skip_rate");
	e.state = EXP_DRAFT;
	e.created_ms = created;
	return e;
}

static void test_experiments_crud(void **state)
{
	backend *b = *state;
	char where[PATH_MAX];
	evstore *s = open_ok(fresh(b, where, sizeof where));
	seg_error err;
	experiment got, *list = NULL;
	size_t n = 9;
	assert_int_equal(evstore_experiment_list(s, &list, &n, &err), 0);
	assert_int_equal(n, 0);
	free(list);
	experiment e2 = sample_experiment("second", T0 + 10), e1 = sample_experiment("first", T0);
	assert_int_equal(evstore_experiment_create(s, &e2, &err), 0);
	assert_int_equal(evstore_experiment_create(s, &e1, &err), 0);
	assert_int_equal(evstore_experiment_create(s, &e1, &err), SEG_EINVAL);
	assert_non_null(strstr(err.msg, "already exists"));
	assert_int_equal(evstore_experiment_get(s, "first", &got, &err), 0);
	assert_memory_equal(&got, &e1, sizeof got);
	assert_int_equal(evstore_experiment_get(s, "third", &got, &err), SEG_ENOTFOUND);

	e1.state = EXP_RUNNING;
	e1.started_ms = T0 + 99;
	e1.variant[1].weight = 30;
	assert_int_equal(evstore_experiment_update(s, &e1, &err), 0);
	assert_int_equal(evstore_experiment_get(s, "first", &got, &err), 0);
	assert_int_equal(got.state, EXP_RUNNING);
	assert_int_equal(got.started_ms, T0 + 99);
	assert_int_equal(got.variant[1].weight, 30);
	/* What exp_check refuses is not stored. */
	experiment bad = sample_experiment("bad", T0);
	strcpy(bad.variant[1].config, "model=no_such_model");
	assert_int_equal(evstore_experiment_create(s, &bad, &err), SEG_EINVAL);
	assert_int_equal(evstore_experiment_get(s, "bad", &got, &err), SEG_ENOTFOUND);
	experiment ghost = sample_experiment("ghost", T0);
	assert_int_equal(evstore_experiment_update(s, &ghost, &err), SEG_ENOTFOUND);

	/* Oldest first, whatever the order of creation. */
	assert_int_equal(evstore_experiment_list(s, &list, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].name, "first");
	assert_string_equal(list[1].name, "second");
	assert_int_equal(list[0].state, EXP_RUNNING);
	assert_string_equal(list[1].guardrail[0], "skip_rate");
	free(list);
	evstore_close(s);
}

/* ---- schema version ----------------------------------------------------- */

static void test_schema_version(void **state)
{
	backend *b = *state;
	char where[PATH_MAX];
	evstore *s = open_ok(fresh(b, where, sizeof where));
	evstore_close(s);
	if (b == &sq) {
		sqlite3 *db;
		assert_int_equal(sqlite3_open(where, &db), SQLITE_OK);
		tu_sql_exec(db, "UPDATE meta SET value = '2' WHERE key = 'schema_version'");
		sqlite3_close(db);
	} else {
		pg_exec(where, "UPDATE meta SET value = '2' WHERE key = 'schema_version'");
	}
	seg_error err = {0};
	s = (evstore *)&err; /* must come back NULL */
	assert_int_equal(evstore_open(where, &s, &err), SEG_EVERSION);
	assert_null(s);
	assert_non_null(strstr(err.msg, "version 2"));
}

/* A store that cannot be opened says so. */
static void test_open_errors(void **state)
{
	backend *b = *state;
	evstore *s = NULL;
	seg_error err = {0};
	if (b == &sq) {
		char where[PATH_MAX + 32];
		snprintf(where, sizeof where, "%s/no/such/dir/events.db", sq.dir);
		assert_int_equal(evstore_open(where, &s, &err), SEG_EDB);
		/* Not a database at all. */
		const char *junk = tu_write(sq.dir, "junk.db", "this is not a SQLite file, not at all, no..........");
		assert_int_equal(evstore_open(junk, &s, &err), SEG_EDB);
	} else {
		char where[PATH_MAX * 2];
		if (!pg.up) {
			print_message("skipped: %s\n", pg.why);
			skip();
		}
		snprintf(where, sizeof where, "postgresql:///nosuchdb?host=%s&user=postgres", pg.host);
		assert_int_equal(evstore_open(where, &s, &err), SEG_EDB);
		assert_non_null(strstr(err.msg, "nosuchdb"));
	}
	assert_null(s);
	assert_int_equal(evstore_open("", &s, &err), SEG_EINVAL);
}

/* ---- durability ------------------------------------------------------- */

#define KILL_BATCH 20
#define KILL_AFTER 40 /* acknowledged batches before the kill */

/* The child: appends batches of impressions of experiment "kill" until it
 * is killed, writing each acknowledged batch's number to fd. */
static void kill_child(const char *where, int fd)
{
	evstore *s = NULL;
	seg_error err;
	if (evstore_open(where, &s, &err) != 0)
		_exit(3);
	ev_event ev[KILL_BATCH];
	for (int bn = 0;; bn++) {
		for (int i = 0; i < KILL_BATCH; i++) {
			char id[32], user[16];
			snprintf(id, sizeof id, "k%d-%d", bn, i);
			snprintf(user, sizeof user, "ku%d", i % 4);
			impression(&ev[i], id, user, "kill", "control");
		}
		if (evstore_append(s, ev, KILL_BATCH, NULL, &err) != 0)
			_exit(4);
		if (write(fd, &bn, sizeof bn) != sizeof bn)
			_exit(5);
	}
}

typedef struct tally {
	int *count; /* [batches * KILL_BATCH] times each id was seen */
	int batches;
	long other;
} tally;

static int count_ids(void *ctx, const ev_event *ev)
{
	tally *t = ctx;
	int bn, i;
	if (sscanf(ev->event_id, "k%d-%d", &bn, &i) == 2 && bn >= 0 && bn < t->batches && i >= 0 && i < KILL_BATCH)
		t->count[bn * KILL_BATCH + i]++;
	else
		t->other++;
	return 0;
}

static void test_sigkill_loses_nothing(void **state)
{
	backend *b = *state;
	char where[PATH_MAX];
	fresh(b, where, sizeof where);
	evstore_close(open_ok(where)); /* the schema exists before the child starts */
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		kill_child(where, fds[1]);
	}
	close(fds[1]);
	int acked = -1, bn, got = 0;
	while (got < KILL_AFTER && read(fds[0], &bn, sizeof bn) == sizeof bn) {
		acked = bn;
		got++;
	}
	kill(pid, SIGKILL);
	int status;
	waitpid(pid, &status, 0);
	assert_true(WIFSIGNALED(status));
	/* What the child acknowledged before it died is still in the pipe. */
	while (read(fds[0], &bn, sizeof bn) == sizeof bn)
		acked = bn;
	close(fds[0]);
	assert_true(acked >= KILL_AFTER - 1);

	evstore *s = open_ok(where);
	tally t = {.batches = acked + 2};
	t.count = calloc((size_t)t.batches * KILL_BATCH, sizeof *t.count);
	seg_error err;
	assert_int_equal(evstore_scan_experiment(s, "kill", count_ids, &t, &err), 0);
	for (int i = 0; i < (acked + 1) * KILL_BATCH; i++)
		if (t.count[i] != 1)
			fail_msg("event k%d-%d acknowledged, found %d times", i / KILL_BATCH, i % KILL_BATCH,
			         t.count[i]);
	/* The batch in flight at the kill is there whole or not at all. */
	int partial = 0;
	for (int i = 0; i < KILL_BATCH; i++)
		partial += t.count[(acked + 1) * KILL_BATCH + i];
	assert_true(partial == 0 || partial == KILL_BATCH);
	assert_int_equal(t.other, 0);
	print_message("%s: %d batches acknowledged before SIGKILL, all there; the one in flight %s\n", b->kind,
	              acked + 1, partial ? "committed" : "not");
	free(t.count);
	/* The store takes appends again. */
	ev_event ev[3];
	make_plays(ev, 3, "after", 2);
	append_ok(s, ev, 3, 3);
	evstore_close(s);
}

/* ---- evstore_log: the writer thread ------------------------------------- */

/* The events of experiment "log" in seq order, user by user. */
typedef struct logged {
	size_t n, cap;
	ev_event *ev;  /* copies without their lists */
	char **tracks; /* each event's tracks joined by ',' (malloc'd) */
	char **teams;  /* 'A'/'B' letters, "" when none */
} logged;

static int collect_logged(void *ctx, const ev_event *ev)
{
	logged *l = ctx;
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 1024;
		l->ev = realloc(l->ev, l->cap * sizeof *l->ev);
		l->tracks = realloc(l->tracks, l->cap * sizeof *l->tracks);
		l->teams = realloc(l->teams, l->cap * sizeof *l->teams);
		assert_non_null(l->ev);
	}
	l->ev[l->n] = *ev;
	l->ev[l->n].tracks = NULL;
	l->ev[l->n].teams = NULL;
	strbuf a = {0}, b = {0};
	evstore__tracks_text(ev, &a, &b);
	l->tracks[l->n] = strdup(strbuf_cstr(&a));
	l->teams[l->n] = strdup(strbuf_cstr(&b));
	strbuf_free(&a);
	strbuf_free(&b);
	l->n++;
	return 0;
}

static void logged_scan(evstore *s, logged *l)
{
	seg_error err = {0};
	memset(l, 0, sizeof *l);
	if (evstore_scan_experiment(s, "log", collect_logged, l, &err) < 0)
		fail_msg("scan: %s", err.msg);
}

static void logged_free(logged *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->tracks[i]);
		free(l->teams[i]);
	}
	free(l->ev);
	free(l->tracks);
	free(l->teams);
}

/* An impression "<prefix>-<i>" of experiment "log" for `user`, with i % 7
 * tracks (teams on the odd ones) in the caller's room tr/tm. */
static void make_impression(ev_event *ev, char (*tr)[EV_TRACK_LEN + 1], uint8_t *tm, const char *prefix, size_t i,
                            const char *user)
{
	memset(ev, 0, sizeof *ev);
	ev->type = EV_IMPRESSION;
	snprintf(ev->event_id, sizeof ev->event_id, "%s-%zu", prefix, i);
	snprintf(ev->request, sizeof ev->request, "%s-%zu", prefix, i);
	snprintf(ev->user, sizeof ev->user, "%s", user);
	strcpy(ev->experiment, "log");
	strcpy(ev->variant, "v");
	strcpy(ev->model, "hybrid");
	ev->position = -1;
	ev->client_ms = T0 + (int64_t)i;
	ev->ntracks = i % 7;
	for (size_t k = 0; k < ev->ntracks; k++) {
		snprintf(tr[k], EV_TRACK_LEN + 1, "%.*s%06zu", EV_TRACK_LEN - 6, TRACK, (i * 7 + k) % 1000000);
		tm[k] = (uint8_t)(k & 1);
	}
	ev->tracks = tr;
	ev->teams = i % 2 ? tm : NULL;
}

static void log_ok(evstore *s, const ev_event *ev)
{
	seg_error err = {0};
	int rc = evstore_log(s, ev, &err);
	if (rc != 0)
		fail_msg("evstore_log: %d %s", rc, err.msg);
}

static void flush_ok(evstore *s)
{
	seg_error err = {0};
	int rc = evstore_flush(s, &err);
	if (rc != 0)
		fail_msg("evstore_flush: %d %s", rc, err.msg);
}

/* Logged events are all stored once flushed, exactly once, in the order
 * logged, with their lists (a deep copy: the caller's room is reused at
 * once); logging them again stores nothing new; a play appended right after
 * an impression was logged comes after it; the writer shares transactions. */
static void test_log_flush_order(void **state)
{
	backend *b = *state;
	char where[PATH_MAX];
	evstore *s = open_ok(fresh(b, where, sizeof where));
	seg_error err = {0};
	assert_int_equal(evstore_flush(s, &err), 0); /* nothing logged: at once */
	enum { N = 3000 };
	ev_event ev;
	char tr[8][EV_TRACK_LEN + 1];
	uint8_t tm[8];
	for (size_t i = 0; i < N; i++) {
		make_impression(&ev, tr, tm, "imp", i, "solo");
		log_ok(s, &ev);
		memset(tr, 'x', sizeof tr); /* the store kept its own copy */
	}
	flush_ok(s);
	assert_int_equal(count_of(s), N);
	logged l;
	logged_scan(s, &l);
	assert_int_equal(l.n, N);
	for (size_t i = 0; i < N; i++) {
		char id[32];
		snprintf(id, sizeof id, "imp-%zu", i);
		assert_string_equal(l.ev[i].event_id, id); /* in the order logged */
		assert_true(i == 0 || l.ev[i].seq > l.ev[i - 1].seq);
		assert_true(l.ev[i].server_ms >= T0);
		make_impression(&ev, tr, tm, "imp", i, "solo");
		strbuf a = {0}, c = {0};
		evstore__tracks_text(&ev, &a, &c);
		assert_string_equal(l.tracks[i], strbuf_cstr(&a));
		assert_string_equal(l.teams[i], strbuf_cstr(&c));
		strbuf_free(&a);
		strbuf_free(&c);
	}
	logged_free(&l);
	uint64_t commits, batches;
	evstore__stats(s, &commits, &batches);
	print_message("%s: %d logged events in %llu commits\n", b->kind, N, (unsigned long long)commits);
	assert_true(commits < N / 10);
	/* Again: idempotent by event_id. */
	for (size_t i = 0; i < 100; i++) {
		make_impression(&ev, tr, tm, "imp", i, "solo");
		log_ok(s, &ev);
	}
	flush_ok(s);
	assert_int_equal(count_of(s), N);
	/* An append after a log: its events come after the logged one. */
	for (size_t i = 0; i < 20; i++) {
		make_impression(&ev, tr, tm, "next", i, "solo");
		log_ok(s, &ev);
		ev_event play[1];
		make_plays(play, 1, ev.event_id, 1);
		strcpy(play[0].user, "solo");
		append_ok(s, play, 1, 1);
	}
	flush_ok(s);
	logged_scan(s, &l);
	assert_int_equal(l.n, N + 40);
	for (size_t i = 0; i < 20; i++) {
		size_t k = N + 2 * i;
		char id[32];
		snprintf(id, sizeof id, "next-%zu", i);
		assert_string_equal(l.ev[k].event_id, id);
		assert_int_equal(l.ev[k + 1].type, EV_PLAY);
		snprintf(id, sizeof id, "next-%zu-0", i);
		assert_string_equal(l.ev[k + 1].event_id, id);
	}
	logged_free(&l);
	/* A list longer than an impression holds is refused. */
	ev.ntracks = EV_MAX_LIST + 1;
	assert_int_equal(evstore_log(s, &ev, &err), SEG_EINVAL);
	assert_int_equal(evstore_log(s, NULL, &err), SEG_EINVAL);
	evstore_close(s);
}

/* Several threads logging at once: every event stored exactly once, each
 * thread's in its order. */
typedef struct log_thread {
	evstore *s;
	int id;
	int rc;
	pthread_t th;
} log_thread;

enum { LOG_THREADS = 4, LOG_PER_THREAD = 1500 };

static void *log_thread_main(void *arg)
{
	log_thread *t = arg;
	ev_event ev;
	char tr[8][EV_TRACK_LEN + 1];
	uint8_t tm[8];
	char user[16], prefix[16];
	snprintf(user, sizeof user, "t%d", t->id);
	snprintf(prefix, sizeof prefix, "t%d", t->id);
	for (size_t i = 0; i < LOG_PER_THREAD && t->rc == 0; i++) {
		make_impression(&ev, tr, tm, prefix, i, user);
		seg_error err;
		t->rc = evstore_log(t->s, &ev, &err);
	}
	return NULL;
}

static void test_log_concurrent(void **state)
{
	backend *b = *state;
	char where[PATH_MAX];
	evstore *s = open_ok(fresh(b, where, sizeof where));
	log_thread th[LOG_THREADS];
	for (int i = 0; i < LOG_THREADS; i++) {
		th[i] = (log_thread){.s = s, .id = i};
		assert_int_equal(pthread_create(&th[i].th, NULL, log_thread_main, &th[i]), 0);
	}
	for (int i = 0; i < LOG_THREADS; i++) {
		pthread_join(th[i].th, NULL);
		assert_int_equal(th[i].rc, 0);
	}
	flush_ok(s);
	assert_int_equal(count_of(s), LOG_THREADS * LOG_PER_THREAD);
	logged l;
	logged_scan(s, &l);
	assert_int_equal(l.n, LOG_THREADS * LOG_PER_THREAD);
	/* Scanned user by user (t0, t1, ...), each user's by seq: a thread's
	 * events come back 0, 1, 2, ... */
	size_t next[LOG_THREADS] = {0};
	for (size_t i = 0; i < l.n; i++) {
		int tid;
		size_t k;
		assert_int_equal(sscanf(l.ev[i].event_id, "t%d-%zu", &tid, &k), 2);
		assert_true(tid >= 0 && tid < LOG_THREADS);
		assert_int_equal(k, next[tid]);
		next[tid]++;
	}
	for (int i = 0; i < LOG_THREADS; i++)
		assert_int_equal(next[i], LOG_PER_THREAD);
	logged_free(&l);
	evstore_close(s);
}

typedef struct blocked_log {
	evstore *s;
	ev_event ev;
	int rc;
	pthread_t th;
} blocked_log;

static void *blocked_log_main(void *arg)
{
	blocked_log *bl = arg;
	seg_error err;
	bl->rc = evstore_log(bl->s, &bl->ev, &err);
	return NULL;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The bound: with the writer held back, a full queue makes evstore_log
 * wait for room, then fail with SEG_EIO; once the writer goes on, a
 * waiting log gets its room, and everything queued is stored. */
static void test_log_bound(void **state)
{
	backend *b = *state;
	char where[PATH_MAX];
	evstore *s = open_ok(fresh(b, where, sizeof where));
	ev_event ev;
	char tr[8][EV_TRACK_LEN + 1];
	uint8_t tm[8];
	evstore__log_max(s, 4);
	evstore__hold(s, 1);
	for (size_t i = 0; i < 4; i++) {
		make_impression(&ev, tr, tm, "bound", i, "u");
		log_ok(s, &ev);
	}
	assert_int_equal(evstore__log_queued(s), 4);
	make_impression(&ev, tr, tm, "bound", 4, "u");
	seg_error err = {0};
	double t0 = now_s();
	assert_int_equal(evstore_log(s, &ev, &err), SEG_EIO);
	double waited = now_s() - t0;
	print_message("%s: a full queue failed after %.3f s: %s\n", b->kind, waited, err.msg);
	assert_true(waited >= 0.9 * EVSTORE_LOG_WAIT_MS / 1000.0);
	assert_non_null(strstr(err.msg, "falling behind"));
	assert_int_equal(evstore__log_queued(s), 4); /* the refused one is not queued */
	/* A log waiting for room gets it when the writer goes on. */
	blocked_log bl = {.s = s};
	make_impression(&bl.ev, tr, tm, "bound", 5, "u");
	bl.ev.ntracks = 0;
	bl.ev.teams = NULL;
	bl.rc = 1;
	assert_int_equal(pthread_create(&bl.th, NULL, blocked_log_main, &bl), 0);
	usleep(100000);
	evstore__hold(s, 0);
	pthread_join(bl.th, NULL);
	assert_int_equal(bl.rc, 0);
	flush_ok(s);
	assert_int_equal(evstore__log_queued(s), 0);
	assert_int_equal(count_of(s), 5);
	logged l;
	logged_scan(s, &l);
	assert_int_equal(l.n, 5);
	assert_string_equal(l.ev[4].event_id, "bound-5");
	logged_free(&l);
	/* Room again: the refused one goes in now. */
	log_ok(s, &ev);
	flush_ok(s);
	assert_int_equal(count_of(s), 6);
	evstore_close(s);
}

/* close drains: every logged event is stored, with no flush. */
static void test_log_close_drains(void **state)
{
	backend *b = *state;
	char where[PATH_MAX];
	evstore *s = open_ok(fresh(b, where, sizeof where));
	ev_event ev;
	char tr[8][EV_TRACK_LEN + 1];
	uint8_t tm[8];
	for (size_t i = 0; i < 2500; i++) {
		make_impression(&ev, tr, tm, "close", i, "u");
		log_ok(s, &ev);
	}
	evstore_close(s);
	s = open_ok(where);
	assert_int_equal(count_of(s), 2500);
	evstore_close(s);
}

/* A write error of the writer: the events stay queued and are tried again
 * after a backoff; the error surfaces through evstore_flush (and
 * evstore_log) while it lasts; once a retry succeeds all are stored, once. */
static void test_log_write_error_retried(void **state)
{
	backend *b = *state;
	char where[PATH_MAX];
	evstore *s = open_ok(fresh(b, where, sizeof where));
	ev_event ev;
	char tr[8][EV_TRACK_LEN + 1];
	uint8_t tm[8];
	for (size_t i = 0; i < 10; i++) {
		make_impression(&ev, tr, tm, "werr", i, "u");
		log_ok(s, &ev);
	}
	flush_ok(s); /* a first group stored... */
	evstore__fail_writes(s, 3);
	for (size_t i = 10; i < 20; i++) {
		make_impression(&ev, tr, tm, "werr", i, "u");
		log_ok(s, &ev);
	}
	seg_error err = {0};
	assert_int_equal(evstore_flush(s, &err), SEG_EDB); /* ...the next one fails */
	assert_non_null(strstr(err.msg, "injected"));
	assert_int_equal(evstore__log_queued(s), 10); /* kept */
	int rc = SEG_EDB, tries = 0;
	for (; rc != 0 && tries < 500; tries++) {
		usleep(10000);
		rc = evstore_flush(s, &err);
	}
	assert_int_equal(rc, 0);
	assert_int_equal(evstore__log_queued(s), 0);
	assert_int_equal(count_of(s), 20);
	logged l;
	logged_scan(s, &l);
	assert_int_equal(l.n, 20);
	for (size_t i = 0; i < 20; i++) {
		char id[32];
		snprintf(id, sizeof id, "werr-%zu", i);
		assert_string_equal(l.ev[i].event_id, id);
	}
	logged_free(&l);
	/* While the writer fails, evstore_log says so and queues nothing. */
	evstore__fail_writes(s, 1000000);
	make_impression(&ev, tr, tm, "werr", 20, "u");
	log_ok(s, &ev);
	assert_int_equal(evstore_flush(s, &err), SEG_EDB);
	make_impression(&ev, tr, tm, "werr", 21, "u");
	assert_int_equal(evstore_log(s, &ev, &err), SEG_EDB);
	evstore__fail_writes(s, 0);
	for (rc = SEG_EDB, tries = 0; rc != 0 && tries < 500; tries++) {
		usleep(10000);
		rc = evstore_flush(s, &err);
	}
	assert_int_equal(rc, 0);
	assert_int_equal(count_of(s), 21);
	evstore_close(s);
}

#define BOTH(f) \
	{"sqlite_" #f, f, NULL, NULL, &sq}, { "postgresql_" #f, f, NULL, NULL, &pg }

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		BOTH(test_retry_stored_once),
		BOTH(test_batch_all_or_nothing),
		BOTH(test_group_isolates_batches),
		BOTH(test_close_waits),
		BOTH(test_concurrent_appends),
		BOTH(test_scan_experiment),
		BOTH(test_experiments_crud),
		BOTH(test_schema_version),
		BOTH(test_open_errors),
		BOTH(test_sigkill_loses_nothing),
		BOTH(test_log_flush_order),
		BOTH(test_log_concurrent),
		BOTH(test_log_bound),
		BOTH(test_log_close_drains),
		BOTH(test_log_write_error_retried),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
