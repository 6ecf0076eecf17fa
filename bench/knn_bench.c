/* knn_bench.c: the segue side of bench/knn. Generates the benchmark's
 * clustered track vectors and queries, and times knn_search (one query at a
 * time) and knn_search_batch on a prefix of them. Not part of the library or
 * the tests; bench/knn builds and runs it.
 *
 *   knn_bench gen DIR NMAX D NQ
 *       writes DIR/knn_x.f32 [NMAX][D] and DIR/knn_q.f32 [NQ][D] (raw float32,
 *       little-endian, not normalised) unless they exist with the right size
 *   knn_bench run DIR SET N D K B SECONDS
 *       indexes the first N rows of DIR/SET_x.f32 (SET: knn for the
 *       generator's vectors, knn_real for bench/knn_realistic.py's), queries
 *       DIR/SET_q.f32, prints one JSON line of timings, and writes the
 *       batch's exact result rows to DIR/SET_ids_segue_N.i64 [B][K] (int64);
 *       PROBES ("8,16,32"): budgets of clusters at which to time the
 *       approximate mode (knn_search_probe) and measure its recall@K, one
 *       JSON line each
 *
 * Legend: N rows, D features, K results, B queries, C clusters. */
#include <cblas.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "models/knn.h"

#define C_CLUSTERS 2000
#define SEED 0x5e90e5ull

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* CPU time of this thread: single queries are timed by it, so that on a
 * machine shared with other work the q/s count the time the search ran,
 * not the time it waited for a core (knn_hnsw.py does the same). */
static double cpu_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* ---- deterministic generation: every row from its own seed, so that the
 * first N rows are the same whatever NMAX is ---- */

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double uniform01(uint64_t *s) { return ((double)(splitmix(s) >> 11) + 0.5) / 9007199254740992.0; }

static double gauss(uint64_t *s) { return sqrt(-2.0 * log(uniform01(s))) * cos(6.283185307179586 * uniform01(s)); }

/* Cluster centres [C][D] ~ N(0, 1) and spreads [C] in [0.15, 0.75]. */
static void make_clusters(size_t D, float *centre, float *spread)
{
	uint64_t s = SEED;
	for (size_t c = 0; c < C_CLUSTERS; c++) {
		for (size_t j = 0; j < D; j++)
			centre[c * D + j] = (float)gauss(&s);
		spread[c] = (float)(0.15 + 0.6 * uniform01(&s));
	}
}

/* Row `i` of a stream (`salt` tells rows and queries apart): a centre plus
 * Gaussian noise of `scale` times the cluster's spread; cluster sizes are
 * skewed (a popular genre is bigger). */
static void make_row(uint64_t salt, size_t i, size_t D, const float *centre, const float *spread, double scale,
                     float *out)
{
	uint64_t s = SEED ^ salt ^ ((uint64_t)i * 0xd1342543de82ef95ull);
	double u = uniform01(&s);
	size_t c = (size_t)(u * u * C_CLUSTERS); /* skewed towards low cluster numbers */
	for (size_t j = 0; j < D; j++)
		out[j] = (float)(centre[c * D + j] + scale * spread[c] * gauss(&s));
}

static int file_has_size(const char *path, off_t size)
{
	struct stat st;
	return stat(path, &st) == 0 && st.st_size == size;
}

static int write_stream(const char *path, uint64_t salt, size_t rows, size_t D, double scale, const float *centre,
                        const float *spread)
{
	if (file_has_size(path, (off_t)(rows * D * sizeof(float))))
		return 0;
	FILE *f = fopen(path, "wb");
	if (f == NULL) {
		fprintf(stderr, "knn_bench: %s: %s\n", path, strerror(errno));
		return 1;
	}
	float *buf = malloc(4096 * D * sizeof(float)); /* [4096][D] */
	for (size_t i0 = 0; i0 < rows; i0 += 4096) {
		size_t n = rows - i0 < 4096 ? rows - i0 : 4096;
		for (size_t i = 0; i < n; i++)
			make_row(salt, i0 + i, D, centre, spread, scale, buf + i * D);
		if (fwrite(buf, sizeof(float) * D, n, f) != n) {
			fprintf(stderr, "knn_bench: %s: write failed\n", path);
			fclose(f);
			free(buf);
			return 1;
		}
	}
	free(buf);
	return fclose(f) != 0;
}

static int cmd_gen(const char *dir, size_t nmax, size_t D, size_t nq)
{
	float *centre = malloc(C_CLUSTERS * D * sizeof(float)); /* [C][D] */
	float *spread = malloc(C_CLUSTERS * sizeof(float));     /* [C] */
	make_clusters(D, centre, spread);
	char path[4096];
	snprintf(path, sizeof path, "%s/knn_x.f32", dir);
	int rc = write_stream(path, 1, nmax, D, 1.0, centre, spread);
	snprintf(path, sizeof path, "%s/knn_q.f32", dir);
	if (rc == 0)
		rc = write_stream(path, 2, nq, D, 0.5, centre, spread);
	free(centre);
	free(spread);
	return rc;
}

/* ---- timing ---- */

static const float *map_prefix(const char *path, size_t bytes)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0 || (size_t)st.st_size < bytes) {
		fprintf(stderr, "knn_bench: %s is missing or too short (run gen first)\n", path);
		exit(1);
	}
	void *p = mmap(NULL, bytes, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	return p;
}

/* Best time of `reps` batch runs of B queries, at least 2 and until `secs` is spent. */
static double time_batch(const knn_index *idx, const float *Q, size_t B, size_t K, knn_hit *out, size_t *nout,
                         double secs)
{
	double best = INFINITY, start = now();
	for (int rep = 0; rep < 2 || (now() - start < secs && rep < 10); rep++) {
		seg_error err;
		double t0 = now();
		if (knn_search_batch(idx, Q, B, K, NULL, out, nout, &err) != 0) {
			fprintf(stderr, "knn_bench: %s\n", err.msg);
			exit(1);
		}
		double t = now() - t0;
		best = t < best ? t : best;
	}
	return best;
}

/* Single queries, one after another in this thread, until `secs` of its
 * CPU time; returns the CPU time taken, *n the queries answered, *wall
 * the wall time (which faiss's and sklearn's single figures are). */
static double time_single(const knn_index *idx, const float *Q, size_t B, size_t D, size_t K, knn_hit *out, double secs,
                          size_t *n, double *wall)
{
	size_t nout;
	knn_search(idx, Q, K, NULL, out, &nout); /* warm-up */
	double t0 = cpu_now(), w0 = now(), t;
	*n = 0;
	do {
		knn_search(idx, Q + (*n % B) * D, K, NULL, out, &nout);
		(*n)++;
	} while ((t = cpu_now() - t0) < secs || *n < 5);
	*wall = now() - w0;
	return t;
}

static int cmd_run(const char *dir, const char *set, size_t N, size_t D, size_t K, size_t B, double secs,
                   const char *probes)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s_x.f32", dir, set);
	const float *X = map_prefix(path, N * D * sizeof(float)); /* [N][D] raw */
	snprintf(path, sizeof path, "%s/%s_q.f32", dir, set);
	const float *Qraw = map_prefix(path, B * D * sizeof(float)); /* [B][D] */
	float *Q = malloc(B * D * sizeof(float));                    /* [B][D] unit */
	memcpy(Q, Qraw, B * D * sizeof(float));
	for (size_t b = 0; b < B; b++)
		knn_vec_normalize(Q + b * D, D);

	/* Build: copy and normalise (the file's pages are read in here first). */
	knn_index *idx;
	seg_error err;
	double t0 = now();
	if (knn_index_create(&idx, X, N, D, 0, &err) != 0) {
		fprintf(stderr, "knn_bench: %s\n", err.msg);
		return 1;
	}
	double build = now() - t0;

	knn_hit *out = malloc(B * K * sizeof(knn_hit)); /* [B][K] */
	size_t *nout = malloc(B * sizeof(size_t));      /* [B] */

	/* Single queries: the default index (the quantised scan where the CPU
	 * has AVX-512 VNNI), then one that scans the float rows. */
	size_t nsingle = 0, nfloat = 0;
	double wall, single = time_single(idx, Q, B, D, K, out, secs, &nsingle, &wall);
	knn_index *fidx;
	if (knn_index_create(&fidx, X, N, D, KNN_FLOAT, &err) != 0) {
		fprintf(stderr, "knn_bench: %s\n", err.msg);
		return 1;
	}
	double wall_float, single_float = time_single(fidx, Q, B, D, K, out, secs, &nfloat, &wall_float);
	knn_index_free(fidx);
	knn_stats st;
	knn_stats_get(&st);

	/* Batches: with OpenBLAS's default thread count, then with one thread
	 * (the second leaves `out` holding the same rows, up to rounding). */
	int threads = openblas_get_num_threads();
	double batch1t = 0, batch = time_batch(idx, Q, B, K, out, nout, secs);
	if (threads > 1) {
		openblas_set_num_threads(1);
		batch1t = time_batch(idx, Q, B, K, out, nout, secs);
		openblas_set_num_threads(threads);
	}

	/* The single-query search (clustered) against the batch's exact sgemm
	 * results: the same rows, as sets (equal scores may swap at the k-th). */
	size_t same = 0, total = 0;
	knn_hit *one = malloc(K * sizeof(knn_hit));
	for (size_t b = 0; b < B; b++) {
		size_t n1;
		knn_search(idx, Q + b * D, K, NULL, one, &n1);
		for (size_t j = 0; j < nout[b]; j++) {
			total++;
			for (size_t i = 0; i < n1; i++)
				if (one[i].row == out[b * K + j].row) {
					same++;
					break;
				}
		}
	}
	free(one);

	/* The approximate mode (knn_search_probe) at each budget of `probes`:
	 * recall@K against the batch's exact top K (as sets), the share of
	 * answers proven exact, and single-query q/s. Printed after the exact
	 * line, one JSON line a budget. */
	char probe_lines[4096] = "";
	size_t plen = 0;
	knn_stats_get(&st);
	double visits = st.cluster_searches ? (double)st.cluster_visits / (double)st.cluster_searches : 0.0;
	for (const char *p = probes; p && *p;) {
		size_t P = strtoul(p, NULL, 10);
		size_t hit = 0, want = 0, proven = 0;
		knn_hit *one = malloc(K * sizeof(knn_hit));
		for (size_t b = 0; b < B; b++) {
			size_t n1;
			int exact;
			knn_search_probe(idx, Q + b * D, K, NULL, P, one, &n1, &exact);
			proven += (size_t)exact;
			for (size_t j = 0; j < nout[b]; j++) {
				want++;
				for (size_t i = 0; i < n1; i++)
					if (one[i].row == out[b * K + j].row) {
						hit++;
						break;
					}
			}
		}
		size_t nq = 0, n1;
		int exact;
		double t0p = cpu_now(), tp;
		do {
			knn_search_probe(idx, Q + (nq % B) * D, K, NULL, P, one, &n1, &exact);
			nq++;
		} while ((tp = cpu_now() - t0p) < secs || nq < 5);
		free(one);
		plen += (size_t)snprintf(probe_lines + plen, sizeof probe_lines - plen,
		                         "{\"side\": \"segue-probe\", \"set\": \"%s\", \"n\": %zu, \"d\": %zu, "
		                         "\"k\": %zu, \"probe\": %zu, \"single_qps\": %.2f, \"single_queries\": %zu, "
		                         "\"single_threads\": 1, \"recall\": %.4f, \"proven_exact\": %.4f}\n",
		                         set, N, D, K, P, (double)nq / tp, nq, want ? (double)hit / (double)want : 1.0,
		                         (double)proven / (double)B);
		if (plen >= sizeof probe_lines)
			plen = sizeof probe_lines - 1;
		p = strchr(p, ',');
		p = p ? p + 1 : NULL;
	}

	snprintf(path, sizeof path, "%s/%s_ids_segue_%zu.i64", dir, set, N);
	FILE *f = fopen(path, "wb");
	for (size_t b = 0; f && b < B; b++)
		for (size_t j = 0; j < K; j++) {
			int64_t r = j < nout[b] ? (int64_t)out[b * K + j].row : -1;
			fwrite(&r, sizeof r, 1, f);
		}
	if (f == NULL || fclose(f) != 0) {
		fprintf(stderr, "knn_bench: cannot write %s\n", path);
		return 1;
	}

	printf("{\"side\": \"segue\", \"set\": \"%s\", \"n\": %zu, \"d\": %zu, \"k\": %zu, \"build_s\": %.4f, "
	       "\"single_qps\": %.2f, \"single_wall_qps\": %.2f, \"single_queries\": %zu, \"single_threads\": 1, "
	       "\"single_float_qps\": %.2f, \"single_float_wall_qps\": %.2f, \"quant_searches\": %llu, "
	       "\"quant_rescans\": %llu, "
	       "\"cluster_searches\": %llu, \"clusters\": %zu, \"cluster_visits_per_search\": %.1f, "
	       "\"cluster_rows_per_search\": %.0f, \"single_agreement\": %.4f, "
	       "\"batch_qps\": %.2f, \"batch_queries\": %zu, \"batch_threads\": %d, "
	       "\"batch_1thread_qps\": %.2f, \"blas\": \"%s\"}\n",
	       set, N, D, K, build, (double)nsingle / single, (double)nsingle / wall, nsingle,
	       (double)nfloat / single_float, (double)nfloat / wall_float, (unsigned long long)st.quant_searches,
	       (unsigned long long)st.quant_rescans, (unsigned long long)st.cluster_searches, knn_index_clusters(idx),
	       visits, st.cluster_searches ? (double)st.cluster_rows / (double)st.cluster_searches : 0.0,
	       total ? (double)same / (double)total : 1.0, (double)B / batch, B, threads,
	       batch1t > 0 ? (double)B / batch1t : (double)B / batch, openblas_get_corename());
	fputs(probe_lines, stdout);
	knn_index_free(idx);
	free(out);
	free(nout);
	free(Q);
	munmap((void *)X, N * D * sizeof(float));
	munmap((void *)Qraw, B * D * sizeof(float));
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 6 && strcmp(argv[1], "gen") == 0)
		return cmd_gen(argv[2], strtoul(argv[3], NULL, 10), strtoul(argv[4], NULL, 10),
		               strtoul(argv[5], NULL, 10));
	if ((argc == 9 || argc == 10) && strcmp(argv[1], "run") == 0)
		return cmd_run(argv[2], argv[3], strtoul(argv[4], NULL, 10), strtoul(argv[5], NULL, 10),
		               strtoul(argv[6], NULL, 10), strtoul(argv[7], NULL, 10), atof(argv[8]),
		               argc == 10 ? argv[9] : NULL);
	fprintf(stderr, "usage: knn_bench gen DIR NMAX D NQ\n"
	                "       knn_bench run DIR SET N D K B SECONDS [PROBES]\n");
	return 2;
}
