/* test_parallel.c: parallel_run calls every worker exactly once, on
 * separate threads, and still does all the work when threads cannot be
 * created; parallel_for runs every chunk exactly once whatever the number
 * of workers. Thread creation failures are simulated by this file's own
 * pthread_create, which the library (linked statically into this test)
 * calls instead of libc's, and which otherwise forwards to it. */
#include "testutil.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/parallel.h"

/* pthread_create fails with EAGAIN once this many more calls succeeded;
 * negative: never. */
static atomic_int creates_left = -1;

int pthread_create(pthread_t *restrict th, const pthread_attr_t *restrict attr, void *(*start)(void *),
                   void *restrict arg)
{
	static int (*real)(pthread_t *restrict, const pthread_attr_t *restrict, void *(*)(void *), void *restrict);
	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "pthread_create");
	if (atomic_load(&creates_left) == 0)
		return EAGAIN;
	if (atomic_load(&creates_left) > 0)
		atomic_fetch_sub(&creates_left, 1);
	return real(th, attr, start, arg);
}

typedef struct run_log {
	atomic_int calls[PARALLEL_MAX_WORKERS]; /* times each worker was called */
	pthread_t self[PARALLEL_MAX_WORKERS];   /* the thread it ran on */
	int nworkers[PARALLEL_MAX_WORKERS];     /* the nworkers it was given */
	atomic_int arrived;                     /* workers that reached the barrier */
	int wait;                               /* workers to wait for at the barrier */
} run_log;

static void log_worker(void *ctx, int worker, int nworkers)
{
	run_log *l = ctx;
	atomic_fetch_add(&l->calls[worker], 1);
	l->self[worker] = pthread_self();
	l->nworkers[worker] = nworkers;
	/* A barrier: with `wait` set, every worker waits until that many have
	 * arrived, which can only happen when they run at the same time. */
	atomic_fetch_add(&l->arrived, 1);
	while (atomic_load(&l->arrived) < l->wait)
		;
}

static void test_every_worker_once_on_its_thread(void **state)
{
	(void)state;
	for (int T = 1; T <= 8; T++) {
		run_log *l = calloc(1, sizeof *l);
		l->wait = T; /* all T must be running at once to get past it */
		assert_int_equal(parallel_run(T, log_worker, l), T);
		for (int w = 0; w < T; w++) {
			assert_int_equal(atomic_load(&l->calls[w]), 1);
			assert_int_equal(l->nworkers[w], T);
			for (int v = 0; v < w; v++)
				assert_false(pthread_equal(l->self[v], l->self[w]));
		}
		assert_true(pthread_equal(l->self[0], pthread_self())); /* worker 0 is the caller */
		for (int w = T; w < PARALLEL_MAX_WORKERS; w++)
			assert_int_equal(atomic_load(&l->calls[w]), 0);
		free(l);
	}
}

static void test_bounds(void **state)
{
	(void)state;
	run_log *l = calloc(1, sizeof *l);
	assert_int_equal(parallel_run(0, log_worker, l), 1);
	assert_int_equal(atomic_load(&l->calls[0]), 1);
	assert_int_equal(l->nworkers[0], 1);
	memset(l, 0, sizeof *l);
	assert_int_equal(parallel_run(1000, log_worker, l), PARALLEL_MAX_WORKERS);
	for (int w = 0; w < PARALLEL_MAX_WORKERS; w++) {
		assert_int_equal(atomic_load(&l->calls[w]), 1);
		assert_int_equal(l->nworkers[w], PARALLEL_MAX_WORKERS);
	}
	free(l);
	assert_int_equal(parallel_workers(3), 3);
	assert_int_equal(parallel_workers(1000), PARALLEL_MAX_WORKERS);
	int n = parallel_workers(0);
	assert_true(n >= 1 && n <= PARALLEL_MAX_WORKERS);
	assert_int_equal(parallel_workers(-5), n);
}

/* Threads that cannot be created: their workers run on the caller, after
 * worker 0, and nothing is lost or run twice. */
static void test_create_failure(void **state)
{
	(void)state;
	for (int ok = 0; ok < 4; ok++) {
		run_log *l = calloc(1, sizeof *l);
		atomic_store(&creates_left, ok);
		int got = parallel_run(6, log_worker, l);
		atomic_store(&creates_left, -1);
		assert_int_equal(got, 1 + ok);
		for (int w = 0; w < 6; w++) {
			assert_int_equal(atomic_load(&l->calls[w]), 1);
			assert_int_equal(l->nworkers[w], 6);
			/* workers past the failed creation ran here */
			assert_int_equal(pthread_equal(l->self[w], pthread_self()) != 0, w == 0 || w > ok);
		}
		free(l);
	}
}

typedef struct chunk_log {
	int64_t n, chunk;
	atomic_int *seen;                    /* [n] times each row was visited */
	atomic_int bad;                      /* a chunk whose bounds were wrong */
	atomic_int by[PARALLEL_MAX_WORKERS]; /* chunks per worker */
} chunk_log;

static void log_chunk(void *ctx, int worker, int64_t chunk, int64_t begin, int64_t end)
{
	chunk_log *l = ctx;
	if (begin != chunk * l->chunk || end <= begin || end > l->n || (end - begin != l->chunk && end != l->n))
		atomic_store(&l->bad, 1);
	for (int64_t i = begin; i < end; i++)
		atomic_fetch_add(&l->seen[i], 1);
	atomic_fetch_add(&l->by[worker], 1);
}

static void test_for_every_chunk_once(void **state)
{
	(void)state;
	const int64_t sizes[] = {0, 1, 7, 64, 1000, 4097};
	const int64_t chunks[] = {0, 1, 3, 64, 5000};
	for (size_t a = 0; a < sizeof sizes / sizeof *sizes; a++)
		for (size_t b = 0; b < sizeof chunks / sizeof *chunks; b++)
			for (int T = 1; T <= 5; T += 2)
				for (int fail = 0; fail < 2; fail++) {
					chunk_log l = {.n = sizes[a], .chunk = chunks[b] > 0 ? chunks[b] : 1};
					l.seen = calloc((size_t)sizes[a] + 1, sizeof *l.seen);
					atomic_store(&creates_left, fail ? 1 : -1);
					parallel_for(T, sizes[a], chunks[b], log_chunk, &l);
					atomic_store(&creates_left, -1);
					assert_int_equal(atomic_load(&l.bad), 0);
					for (int64_t i = 0; i < sizes[a]; i++)
						assert_int_equal(atomic_load(&l.seen[i]), 1);
					int total = 0;
					for (int w = 0; w < PARALLEL_MAX_WORKERS; w++) {
						total += atomic_load(&l.by[w]);
						if (w >= T)
							assert_int_equal(atomic_load(&l.by[w]), 0);
					}
					assert_int_equal(total, (sizes[a] + l.chunk - 1) / l.chunk);
					free(l.seen);
				}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_worker_once_on_its_thread),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_create_failure),
		cmocka_unit_test(test_for_every_chunk_once),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
