/* events_store.c: the event store's own rate, without HTTP: THREADS threads
 * each append batches of BATCH plays (unique event ids) through
 * evstore_append until EVENTS events are stored, every append durable
 * before it returns. Prints events/s, batches per commit (the group
 * commit's sharing) and the latency of one append.
 *
 *   events_store WHERE [EVENTS=200000] [THREADS=4] [BATCH=100]
 *
 * WHERE is an event store address (a SQLite path or a postgresql:// URL);
 * it should be new: the ids start at 0 each run. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "experiment/evstore.h"
#include "experiment/evstore_internal.h"

static evstore *store;
static long per_thread; /* batches each thread appends */
static int batch;
static double *lat_ms; /* [threads * per_thread] */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void *run(void *arg)
{
	long id = (long)(intptr_t)arg;
	ev_event *ev = calloc((size_t)batch, sizeof *ev);
	for (long b = 0; b < per_thread; b++) {
		for (int i = 0; i < batch; i++) {
			ev_event *e = &ev[i];
			memset(e, 0, sizeof *e);
			e->type = 1 + (int)((b + i) % 5);
			snprintf(e->event_id, sizeof e->event_id, "t%ld-b%ld-%d", id, b, i);
			snprintf(e->user, sizeof e->user, "user-%ld", (id * 7919 + b * 31 + i) % 100000);
			snprintf(e->request, sizeof e->request, "req-%ld-%ld", id, b);
			strcpy(e->track, "4uLU6hMCjMI75M1A2tKUQC");
			e->position = i % 10;
			e->client_ms = 1764892800000LL + b;
		}
		seg_error err;
		size_t added;
		double t0 = now_s();
		if (evstore_append(store, ev, (size_t)batch, &added, &err) != 0 || added != (size_t)batch) {
			fprintf(stderr, "events_store: append failed: %s\n", err.msg);
			exit(1);
		}
		lat_ms[id * per_thread + b] = 1e3 * (now_s() - t0);
	}
	free(ev);
	return NULL;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: events_store WHERE [EVENTS] [THREADS] [BATCH]\n");
		return 2;
	}
	long events = argc > 2 ? atol(argv[2]) : 200000;
	int threads = argc > 3 ? atoi(argv[3]) : 4;
	batch = argc > 4 ? atoi(argv[4]) : 100;
	if (events < 1 || threads < 1 || threads > 256 || batch < 1 || batch > EV_MAX_BATCH)
		return 2;
	per_thread = (events + (long)threads * batch - 1) / ((long)threads * batch);
	lat_ms = calloc((size_t)(threads * per_thread), sizeof *lat_ms);
	seg_error err;
	if (evstore_open(argv[1], &store, &err) != 0) {
		fprintf(stderr, "events_store: %s\n", err.msg);
		return 1;
	}
	pthread_t th[256];
	double t0 = now_s();
	for (long i = 0; i < threads; i++)
		pthread_create(&th[i], NULL, run, (void *)(intptr_t)i);
	for (int i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	double secs = now_s() - t0;
	uint64_t commits, batches;
	evstore__stats(store, &commits, &batches);
	int64_t stored = 0;
	evstore_count(store, &stored, &err);
	long n = threads * per_thread;
	qsort(lat_ms, (size_t)n, sizeof *lat_ms, cmp_d);
	printf("%s: %lld events in %.2f s = %.0f events/s; %d threads x batches of %d; %.2f batches per commit "
	       "(%llu commits); append p50 %.2f ms, p99 %.2f ms\n",
	       evstore_kind(store), (long long)stored, secs, (double)(n * batch) / secs, threads, batch,
	       (double)batches / (double)(commits ? commits : 1), (unsigned long long)commits, lat_ms[n / 2],
	       lat_ms[(long)(0.99 * (double)(n - 1))]);
	evstore_close(store);
	free(lat_ms);
	return stored == (int64_t)n * batch ? 0 : 1;
}
