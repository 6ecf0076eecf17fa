/* test_evdurable.c: issue 11's acceptance of events: a 2xx of POST
 * /api/events means durable. The real `segue serve` binary ($SEGUE_BIN)
 * runs as a child process on a generated workspace; client threads post
 * batches in a loop, each retried until the server acknowledges it (2xx),
 * and record every acknowledged batch; the server is killed with SIGKILL
 * mid-stream, several times, and restarted on the same store; at the end
 * every acknowledged event is in the store exactly once (counted by
 * event_id with SQL, and in total through evstore_open). Against SQLite
 * (the workspace's events.db) and against a throwaway PostgreSQL
 * (scripts/pg-throwaway; skipped when it cannot start). No module of its
 * own: it tests serve and evstore together, through the binary. */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/strbuf.h"
#include "experiment/evstore.h"

enum {
	CLIENTS = 2, /* posting threads */
	BATCH = 50,  /* events per batch */
	KILLS = 3,   /* SIGKILLs per backend */
	MAX_BATCHES = 100000,
};

static char dir[PATH_MAX];    /* the group's directory */
static char ws[PATH_MAX + 8]; /* the workspace */
static char track[32];        /* a Spotify id of the catalogue */
static char pg_dir[PATH_MAX]; /* the throwaway PostgreSQL's directory */
static char pg_url[PATH_MAX]; /* its URL, "" when it did not start */
static char pg_why[512];      /* why it did not */
static char script[PATH_MAX]; /* scripts/pg-throwaway */

/* The source root's scripts/pg-throwaway: $SEGUE_ROOT, else the root this
 * file was compiled from. */
static const char *script_path(void)
{
	const char *env = getenv("SEGUE_ROOT");
	char here[PATH_MAX];
	snprintf(here, sizeof here, "%s", __FILE__);
	char *cut = strstr(here, "tests/test_evdurable.c");
	if (cut)
		*cut = '\0';
	const char *roots[] = {env && *env ? env : ".", cut && here[0] ? here : ".", ".", ".."};
	for (size_t i = 0; i < sizeof roots / sizeof *roots; i++) {
		snprintf(script, sizeof script, "%s/scripts/pg-throwaway", roots[i]);
		if (access(script, X_OK) == 0)
			return script;
	}
	return NULL;
}

static int group_setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "%s", tu_tmpdir());
	snprintf(ws, sizeof ws, "%s/ws", dir);
	tu_train_sizes sizes = {.clusters = 4, .factors = 8, .als_iterations = 2, .quality_rounds = 5, .cv_folds = 2};
	if (tu_build_workspace(dir, ws, 800, 80, 11, &sizes) < 0)
		return -1;
	snprintf(track, sizeof track, "%s", tu_ws_text(ws, "SELECT spotify_id FROM tracks ORDER BY id LIMIT 1"));
	if (strlen(track) != 22)
		return -1;
	/* PostgreSQL, when it can be started here. */
	snprintf(pg_dir, sizeof pg_dir, "%s/pg", tu_tmpdir());
	if (script_path() == NULL) {
		snprintf(pg_why, sizeof pg_why, "scripts/pg-throwaway not found (set SEGUE_ROOT)");
		return 0;
	}
	char cmd[4 * PATH_MAX], *out = NULL;
	snprintf(cmd, sizeof cmd, "'%s' start '%s' 2>'%s.err'", script, pg_dir, pg_dir);
	int st = tu_run(cmd, &out);
	if (st != 0 || out == NULL || strncmp(out, "postgresql://", 13) != 0)
		snprintf(pg_why, sizeof pg_why,
		         "scripts/pg-throwaway could not start PostgreSQL (exit %d; see %.300s.err)", st, pg_dir);
	else
		snprintf(pg_url, sizeof pg_url, "%.*s", (int)strcspn(out, "\n"), out);
	free(out);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	if (pg_url[0] != '\0') {
		char cmd[4 * PATH_MAX];
		snprintf(cmd, sizeof cmd, "'%s' stop '%s'", script, pg_dir);
		tu_run(cmd, NULL);
	}
	char parent[PATH_MAX];
	snprintf(parent, sizeof parent, "%s", pg_dir);
	*strrchr(parent, '/') = '\0';
	tu_rmtree(parent);
	tu_rmtree(dir);
	return 0;
}

/* ---- the server ---- */

static pid_t server_pid;
static atomic_int server_port; /* 0 while it is down */

/* Starts `segue serve` on the workspace with the store `where`; reads the
 * port from its banner. */
static void start_server(const char *where)
{
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	char log[PATH_MAX + 16];
	snprintf(log, sizeof log, "%s/serve.log", dir);
	server_pid = fork();
	if (server_pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd >= 0)
			dup2(fd, 2);
		const char *bin = getenv("SEGUE_BIN");
		const char *argv[] = {"segue",           "serve",    "--workspace", ws,          "--port", "0",
		                      "--no-access-log", "--events", where,         "--threads", "4",      NULL};
		execv(bin ? bin : "./build-san/segue", (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	FILE *f = fdopen(fds[0], "r");
	char line[512];
	int p = 0;
	while (p == 0 && fgets(line, sizeof line, f)) {
		const char *at = strstr(line, "http://127.0.0.1:");
		if (at)
			p = atoi(at + 17);
	}
	fclose(f);
	if (p <= 0) {
		char *text = tu_read(log, NULL);
		fail_msg("the server did not start: %s", text ? text : "");
	}
	atomic_store(&server_port, p);
}

static void kill_server(int sig)
{
	atomic_store(&server_port, 0);
	kill(server_pid, sig);
	int status;
	waitpid(server_pid, &status, 0);
	if (sig == SIGTERM && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
		fail_msg("the server stopped with status %d", status);
	server_pid = 0;
}

/* ---- the clients ---- */

typedef struct client {
	pthread_t thread;
	int id;
	atomic_int acked;    /* batches acknowledged, 0..acked-1 (each retried until it is) */
	atomic_int failures; /* attempts that got no 2xx (the server was down or dying) */
	atomic_int bad;      /* answers that were neither 2xx nor a dropped connection: the test fails */
	atomic_int dups;     /* events a retry found stored already: its first try was cut after the commit */
	char last[512];      /* the last such answer */
} client;

static atomic_int stop_clients;

/* Batch b of client c: events "c<c>-b<b>-e<i>". */
static char *batch_body(int c, int b)
{
	strbuf sb = {0};
	long long now = (long long)time(NULL) * 1000;
	strbuf_puts(&sb, "{\"events\":[");
	for (int i = 0; i < BATCH; i++)
		strbuf_printf(
			&sb,
			"%s{\"event_id\":\"c%d-b%d-e%d\",\"type\":\"%s\",\"user_id\":\"user-%d\",\"track\":\"%s\","
			"\"position\":%d,\"client_ms\":%lld}",
			i ? "," : "", c, b, i, i % 3 ? "play" : "skip", (b * BATCH + i) % 97, track, i % 10, now);
	strbuf_puts(&sb, "]}");
	return strbuf_detach(&sb);
}

static void *client_main(void *arg)
{
	client *c = arg;
	int b = 0;
	char *body = batch_body(c->id, b);
	while (!atomic_load(&stop_clients) && b < MAX_BATCHES) {
		int p = atomic_load(&server_port);
		if (p == 0) {
			usleep(2000);
			continue;
		}
		char *resp = NULL;
		int st = tu_http(p, "POST", "/api/events", body, strlen(body), &resp, NULL, 0);
		if (st == 200) {
			/* Acknowledged: durable from here on. */
			json_error_t je;
			json_t *j = json_loads(resp ? resp : "", 0, &je);
			atomic_fetch_add(&c->dups, (int)json_integer_value(json_object_get(j, "duplicates")));
			json_decref(j);
			atomic_store(&c->acked, ++b);
			free(body);
			body = batch_body(c->id, b);
		} else {
			atomic_fetch_add(&c->failures, 1);
			/* -1 is a connection refused or cut by the kill; anything
			 * else is an answer that should not be. */
			if (st != -1) {
				atomic_fetch_add(&c->bad, 1);
				snprintf(c->last, sizeof c->last, "%d %s", st, resp ? resp : "");
			}
			usleep(2000);
		}
		free(resp);
	}
	free(body);
	return NULL;
}

static int total_acked(client *cl)
{
	int n = 0;
	for (int i = 0; i < CLIENTS; i++)
		n += atomic_load(&cl[i].acked);
	return n;
}

/* Waits until the clients have `more` more batches acknowledged (30 s at
 * most). */
static void wait_acked(client *cl, int more)
{
	int want = total_acked(cl) + more;
	for (int i = 0; i < 3000 && total_acked(cl) < want; i++)
		usleep(10000);
	if (total_acked(cl) < want)
		fail_msg("the clients got %d of %d batches acknowledged in 30 s", total_acked(cl), want);
}

/* ---- counting ---- */

/* event_id -> how many rows have it, from the store's events table. */
typedef struct counts {
	json_t *by_id;
	long long rows;
} counts;

static void count_sqlite(const char *path, counts *out)
{
	sqlite3 *db = tu_open_ro(path);
	sqlite3_stmt *q;
	assert_int_equal(
		sqlite3_prepare_v2(db, "SELECT event_id, count(*) FROM events GROUP BY event_id", -1, &q, NULL),
		SQLITE_OK);
	while (sqlite3_step(q) == SQLITE_ROW) {
		json_object_set_new(out->by_id, (const char *)sqlite3_column_text(q, 0),
		                    json_integer(sqlite3_column_int64(q, 1)));
		out->rows += sqlite3_column_int64(q, 1);
	}
	sqlite3_finalize(q);
	sqlite3_close(db);
}

static void count_pg(const char *url, counts *out)
{
	PGconn *c = PQconnectdb(url);
	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("cannot connect to %s: %s", url, PQerrorMessage(c));
	PGresult *r = PQexec(c, "SELECT event_id, count(*) FROM events GROUP BY event_id");
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("count: %s", PQerrorMessage(c));
	for (int i = 0; i < PQntuples(r); i++) {
		long long n = atoll(PQgetvalue(r, i, 1));
		json_object_set_new(out->by_id, PQgetvalue(r, i, 0), json_integer(n));
		out->rows += n;
	}
	PQclear(r);
	PQfinish(c);
}

/* ---- the test ---- */

/* Posts, kills the server with SIGKILL KILLS times mid-stream (each time
 * restarting it on the same store), then checks that every acknowledged
 * event is stored exactly once and nothing else is. */
static void run_durability(const char *where, int is_pg)
{
	client cl[CLIENTS];
	memset(cl, 0, sizeof cl);
	atomic_store(&stop_clients, 0);
	start_server(where);
	for (int i = 0; i < CLIENTS; i++) {
		cl[i].id = i;
		assert_int_equal(pthread_create(&cl[i].thread, NULL, client_main, &cl[i]), 0);
	}
	int kills = 0;
	for (int k = 0; k < KILLS; k++) {
		wait_acked(cl, 20);
		/* Mid-stream: the clients are posting now. */
		kill_server(SIGKILL);
		kills++;
		start_server(where);
	}
	wait_acked(cl, 20);
	atomic_store(&stop_clients, 1);
	for (int i = 0; i < CLIENTS; i++)
		pthread_join(cl[i].thread, NULL);
	kill_server(SIGTERM);
	int failures = 0, dups = 0;
	for (int i = 0; i < CLIENTS; i++) {
		dups += atomic_load(&cl[i].dups);
		if (atomic_load(&cl[i].bad) > 0)
			fail_msg("client %d got %d answers that were neither 2xx nor a cut connection; last: %s", i,
			         atomic_load(&cl[i].bad), cl[i].last);
		failures += atomic_load(&cl[i].failures);
	}
	/* Every acknowledged event once, and no other (a batch is retried
	 * until acknowledged, so none is left half-known). */
	counts c = {json_object(), 0};
	if (is_pg)
		count_pg(where, &c);
	else
		count_sqlite(where, &c);
	long long want = 0;
	char id[64];
	for (int i = 0; i < CLIENTS; i++)
		for (int b = 0; b < atomic_load(&cl[i].acked); b++)
			for (int e = 0; e < BATCH; e++) {
				snprintf(id, sizeof id, "c%d-b%d-e%d", i, b, e);
				json_int_t n = json_integer_value(json_object_get(c.by_id, id));
				if (n != 1)
					fail_msg("acknowledged event %s is stored %lld times", id, (long long)n);
				want++;
			}
	if (c.rows != want)
		fail_msg("%lld events stored, %lld acknowledged", c.rows, want);
	json_decref(c.by_id);
	/* And through the store's own API. */
	evstore *st = NULL;
	seg_error err = {0};
	if (evstore_open(where, &st, &err) < 0)
		fail_msg("evstore_open: %s", err.msg);
	int64_t n = -1;
	assert_int_equal(evstore_count(st, &n, &err), 0);
	evstore_close(st);
	assert_int_equal(n, want);
	print_message("%s: %lld events in %d acknowledged batches across %d SIGKILLs (%d posts refused or cut while "
	              "the server was down; %d events of them found stored already by the retry), each stored once\n",
	              is_pg ? "postgresql" : "sqlite", want, (int)(want / BATCH), kills, failures, dups);
}

static void test_sigkill_sqlite(void **state)
{
	(void)state;
	char where[PATH_MAX + 32];
	snprintf(where, sizeof where, "%s/%s", ws, EVSTORE_FILE);
	run_durability(where, 0);
}

static void test_sigkill_postgresql(void **state)
{
	(void)state;
	if (pg_url[0] == '\0') {
		print_message("skipped: %s\n", pg_why);
		skip();
	}
	run_durability(pg_url, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sigkill_sqlite),
		cmocka_unit_test(test_sigkill_postgresql),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
