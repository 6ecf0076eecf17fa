/* kmeans_bench.c: segue's side of the k-means benchmark: reads the matrix
 * bench/kmeans_reference.py wrote (uint32 N, uint32 D, float32 rows) and times
 * kmeans_fit with K clusters and n_init restarts over several seeds. Prints one
 * JSON line like the reference does. Built and run by bench/train. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "models/kmeans.h"

static double now(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "bench/out/kmeans_100k.bin";
	int k = argc > 2 ? atoi(argv[2]) : 16, n_init = argc > 3 ? atoi(argv[3]) : 10;
	int repeat = argc > 4 ? atoi(argv[4]) : 5;
	FILE *f = fopen(path, "rb");
	uint32_t hd[2];
	if (f == NULL || fread(hd, 4, 2, f) != 2) {
		fprintf(stderr, "kmeans_bench: cannot read %s\n", path);
		return 1;
	}
	size_t n = hd[0], d = hd[1];
	float *x = malloc(sizeof(float) * n * d), *c = malloc(sizeof(float) * (size_t)k * d);
	int32_t *labels = malloc(sizeof(int32_t) * n);
	if (!x || !c || !labels || fread(x, sizeof(float) * d, n, f) != n) {
		fprintf(stderr, "kmeans_bench: short read\n");
		return 1;
	}
	fclose(f);
	double *wall = malloc(sizeof(double) * (size_t)repeat), *cpu = malloc(sizeof(double) * (size_t)repeat);
	double inertia = 0;
	for (int r = 0; r < repeat; r++) {
		kmeans_params p;
		kmeans_params_default(&p);
		p.k = k;
		p.n_init = n_init;
		p.seed = (uint64_t)r;
		kmeans_info info;
		seg_error err;
		double w0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID);
		if (kmeans_fit(x, n, (int)d, &p, c, labels, &info, &err) < 0) {
			fprintf(stderr, "kmeans_bench: %s\n", err.msg);
			return 1;
		}
		wall[r] = now(CLOCK_MONOTONIC) - w0;
		cpu[r] = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
		inertia += info.inertia / repeat;
	}
	qsort(wall, (size_t)repeat, sizeof(double), cmp);
	qsort(cpu, (size_t)repeat, sizeof(double), cmp);
	printf("{\"n\": %zu, \"d\": %zu, \"k\": %d, \"n_init\": %d, \"median_wall\": %.4f, \"median_cpu\": %.4f,"
	       " \"mean_inertia\": %.2f}\n",
	       n, d, k, n_init, wall[repeat / 2], cpu[repeat / 2], inertia);
	free(x);
	free(c);
	free(labels);
	free(wall);
	free(cpu);
	return 0;
}
