/* parallel.h: the one way segue runs work on several threads. parallel_run
 * calls fn(ctx, worker, nworkers) once for every worker at the same time,
 * the calling thread being worker 0; parallel_for hands out the chunks of a
 * range [0, n) to such workers through an atomic counter, so that chunks of
 * very different cost balance. It keeps no pool between calls (a call starts
 * and joins nworkers - 1 threads), does not pin threads, and does not touch
 * BLAS's own threads: callers size their BLAS calls so that each runs in the
 * worker that makes it.
 *
 * Thread safety: any number of calls may run at once; fn must be safe to run
 * in nworkers threads at once on the same ctx (each worker writing its own
 * part of it). */
#ifndef SEGUE_PARALLEL_H
#define SEGUE_PARALLEL_H

#include <stdint.h>

/* No call runs more workers than this. */
#define PARALLEL_MAX_WORKERS 64

/* The number of workers for `requested` threads: requested, or the default
 * when requested <= 0 (the number of online CPUs, or what
 * parallel_set_default set), bounded to [1, PARALLEL_MAX_WORKERS]. */
int parallel_workers(int requested);

/* Sets the default of parallel_workers for this process: n >= 1 workers, or
 * n <= 0 for the number of online CPUs again. For a process that shares
 * the machine with others it runs beside (the pipeline's model stages);
 * call it before starting work, not while workers run. */
void parallel_set_default(int n);

/* A worker's body: `worker` in [0, nworkers). */
typedef void (*parallel_fn)(void *ctx, int worker, int nworkers);

/* Calls fn(ctx, w, T) exactly once for every w in [0, T), T = nworkers
 * bounded to [1, PARALLEL_MAX_WORKERS], worker 0 on the calling thread and
 * the others on threads of their own, and returns when all have returned.
 * When a thread cannot be created (pthread_create fails: EAGAIN at a thread
 * limit, ENOMEM), no further one is tried and the workers left without one
 * run on the calling thread after worker 0, one after another: the work is
 * always done in full, only with less parallelism, and the call never fails.
 * Returns the number of threads the workers ran on, 1 to T (less than T
 * only after such a failure). */
int parallel_run(int nworkers, parallel_fn fn, void *ctx);

/* A chunk's body: rows [begin, end) of chunk number `chunk` (begin / chunk
 * size), run by `worker`, which selects the caller's per-worker scratch. */
typedef void (*parallel_chunk_fn)(void *ctx, int worker, int64_t chunk, int64_t begin, int64_t end);

/* Runs fn over [0, n) in chunks of `chunk` rows (the last may be shorter; a
 * chunk below 1 counts as 1) on parallel_run's workers, each worker taking
 * the next chunk not yet taken until none is left. Every chunk is run
 * exactly once, by some worker; a body whose result depends only on its
 * chunk makes the outcome independent of nworkers and of the scheduling.
 * Returns parallel_run's count of threads. */
int parallel_for(int nworkers, int64_t n, int64_t chunk, parallel_chunk_fn fn, void *ctx);

#endif
