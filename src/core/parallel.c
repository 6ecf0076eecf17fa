/* parallel.c: fork-join of worker threads and the chunked loop on top of it
 * (see parallel.h). */
#include "core/parallel.h"

#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

/* parallel_set_default's value; 0: the online CPUs. Set before any worker
 * starts, read after: no data race. */
static int default_workers;

void parallel_set_default(int n) { default_workers = n > 0 ? n : 0; }

int parallel_workers(int requested)
{
	if (requested <= 0)
		requested = default_workers;
	if (requested <= 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		requested = n > 0 && n < PARALLEL_MAX_WORKERS ? (int)n : n > 0 ? PARALLEL_MAX_WORKERS : 1;
	}
	return requested > PARALLEL_MAX_WORKERS ? PARALLEL_MAX_WORKERS : requested;
}

/* One started thread's arguments. */
typedef struct par_thread {
	parallel_fn fn;
	void *ctx;
	int worker, nworkers;
} par_thread;

static void *par_thread_main(void *arg)
{
	const par_thread *t = arg;
	t->fn(t->ctx, t->worker, t->nworkers);
	return NULL;
}

int parallel_run(int nworkers, parallel_fn fn, void *ctx)
{
	const int T = nworkers < 1 ? 1 : nworkers > PARALLEL_MAX_WORKERS ? PARALLEL_MAX_WORKERS : nworkers;
	pthread_t tid[PARALLEL_MAX_WORKERS];
	par_thread arg[PARALLEL_MAX_WORKERS];
	int started = 1; /* workers 0 .. started-1 have a thread (0: this one) */
	for (; started < T; started++) {
		arg[started] = (par_thread){fn, ctx, started, T};
		if (pthread_create(&tid[started], NULL, par_thread_main, &arg[started]) != 0)
			break;
	}
	fn(ctx, 0, T);
	for (int w = started; w < T; w++) /* those no thread could be created for */
		fn(ctx, w, T);
	for (int w = 1; w < started; w++)
		pthread_join(tid[w], NULL);
	return started;
}

/* The state of one parallel_for. */
typedef struct par_loop {
	parallel_chunk_fn fn;
	void *ctx;
	int64_t n;         /* rows */
	int64_t chunk;     /* rows per chunk, >= 1 */
	atomic_llong next; /* first row of the next chunk not yet taken */
} par_loop;

static void par_loop_worker(void *arg, int worker, int nworkers)
{
	(void)nworkers;
	par_loop *l = arg;
	for (;;) {
		int64_t b = atomic_fetch_add(&l->next, l->chunk);
		if (b >= l->n)
			return;
		int64_t e = l->n - b > l->chunk ? b + l->chunk : l->n;
		l->fn(l->ctx, worker, b / l->chunk, b, e);
	}
}

int parallel_for(int nworkers, int64_t n, int64_t chunk, parallel_chunk_fn fn, void *ctx)
{
	par_loop l = {.fn = fn, .ctx = ctx, .n = n, .chunk = chunk > 0 ? chunk : 1};
	atomic_init(&l.next, 0);
	return parallel_run(nworkers, par_loop_worker, &l);
}
