/* train_cf.c: benchmark of collaborative filtering (src/models/cf.h) on the real MPD
 * playlist subset: time to build the CSR matrix, the co-occurrence models
 * (cosine and BM25, top-M) and each implicit-ALS iteration, with the training
 * loss per iteration; then a playlist-continuation check on held-out halves of
 * playlists (recall@K of ALS, both co-occurrence models and most-popular), so that speed
 * is never reported without evidence that the model learned something.
 *
 *   train_cf [--data FILE.csv.zst] [--factors F] [--iterations N] [--threads T]
 *            [--topm M] [--alpha A] [--lambda L] [--cg-steps S] [--no-eval]
 *
 * Dimensions: U playlists, I tracks, F factors, M neighbours, K results. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "models/cf.h"
#include "core/error.h"
#include "core/strmap.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* CPU seconds of all the process's threads: with other work on the machine,
 * wall time alone can mislead. */
static double cpu(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_pop_desc(const void *a, const void *b, void *pop)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
	const int32_t *p = pop;
	if (p[x] != p[y])
		return p[x] < p[y] ? 1 : -1;
	return (x > y) - (x < y);
}

static void die(const char *what, int rc, const seg_error *err)
{
	fprintf(stderr, "train_cf: %s: %s\n", what, err && err->msg[0] ? err->msg : seg_strerror(rc));
	exit(1);
}

/* Playlist entries, in file order. */
typedef struct entries {
	int32_t *pid;  /* [n] playlist */
	int32_t *item; /* [n] dense track index */
	size_t n, cap;
	int32_t nusers; /* U = largest pid + 1 */
	int32_t nitems; /* I = distinct track ids */
} entries;

static void read_entries(const char *path, entries *e)
{
	char cmd[2048];
	snprintf(cmd, sizeof cmd, "zstd -dc '%s'", path);
	FILE *p = popen(cmd, "r");
	if (p == NULL)
		die("cannot run zstd", SEG_EIO, NULL);
	strmap *ids = strmap_create();
	char line[4096];
	long lineno = 0;
	memset(e, 0, sizeof *e);
	while (fgets(line, sizeof line, p)) {
		if (lineno++ == 0)
			continue; /* header: pid,pos,track_id,artist_name,track_name */
		/* The first three fields are never quoted. */
		char *c1 = strchr(line, ','), *c2 = c1 ? strchr(c1 + 1, ',') : NULL;
		char *c3 = c2 ? strchr(c2 + 1, ',') : NULL;
		if (c3 == NULL) {
			if (strlen(line) == sizeof line - 1)
				die("line too long", SEG_EFORMAT, NULL);
			continue;
		}
		*c3 = '\0';
		long pid = strtol(line, NULL, 10);
		int64_t idx;
		if (!strmap_get(ids, c2 + 1, &idx)) {
			idx = (int64_t)strmap_count(ids);
			if (strmap_put(ids, c2 + 1, idx) < 0)
				die("out of memory", SEG_ENOMEM, NULL);
		}
		if (e->n == e->cap) {
			e->cap = e->cap ? 2 * e->cap : 1 << 16;
			e->pid = realloc(e->pid, e->cap * sizeof *e->pid);
			e->item = realloc(e->item, e->cap * sizeof *e->item);
			if (!e->pid || !e->item)
				die("out of memory", SEG_ENOMEM, NULL);
		}
		e->pid[e->n] = (int32_t)pid;
		e->item[e->n++] = (int32_t)idx;
		if (pid + 1 > e->nusers)
			e->nusers = (int32_t)pid + 1;
	}
	if (pclose(p) != 0 || e->n == 0)
		die("could not read the playlist entries", SEG_EIO, NULL);
	e->nitems = (int32_t)strmap_count(ids);
	strmap_free(ids);
}

/* Held-out evaluation: every 14th playlist with at least 10 entries keeps its
 * first half (the seeds, also in the training matrix) and hides the rest. */
typedef struct holdout {
	int32_t *users;     /* [nu] test playlists */
	size_t *seed_begin; /* [nu + 1] seeds of users[t] are seeds[seed_begin[t] ..] */
	size_t *hid_begin;  /* [nu + 1] */
	int32_t *seeds;     /* their seed items */
	int32_t *hidden;    /* their hidden items (deduplicated not needed: counted once) */
	size_t nu;
} holdout;

int main(int argc, char **argv)
{
	const char *data = NULL;
	cf_als_opts ao;
	cf_als_opts_default(&ao);
	cf_cooc_opts co;
	cf_cooc_opts_default(&co);
	int eval = 1;
	for (int a = 1; a < argc; a++) {
		const char *k = argv[a], *v = a + 1 < argc ? argv[a + 1] : NULL;
		if (!strcmp(k, "--no-eval")) {
			eval = 0;
			continue;
		}
		if (v == NULL) {
			fprintf(stderr,
			        "usage: %s [--data FILE] [--factors F] [--iterations N] "
			        "[--threads T] [--topm M] [--alpha A] [--lambda L] "
			        "[--cg-steps S] [--no-eval]\n",
			        argv[0]);
			return 2;
		}
		a++;
		if (!strcmp(k, "--data"))
			data = v;
		else if (!strcmp(k, "--factors"))
			ao.factors = atoi(v);
		else if (!strcmp(k, "--iterations"))
			ao.iterations = atoi(v);
		else if (!strcmp(k, "--threads"))
			ao.threads = co.threads = atoi(v);
		else if (!strcmp(k, "--topm"))
			co.topm = atoi(v);
		else if (!strcmp(k, "--alpha"))
			ao.alpha = (float)atof(v);
		else if (!strcmp(k, "--lambda"))
			ao.lambda = (float)atof(v);
		else if (!strcmp(k, "--cg-steps"))
			ao.cg_steps = atoi(v);
		else {
			fprintf(stderr, "train_cf: unknown option %s\n", k);
			return 2;
		}
	}
	char def[1024];
	if (data == NULL) {
		const char *dir = getenv("SEGUE_SHARED_DATA");
		snprintf(def, sizeof def, "%s/mpd_subset_playlist_tracks.csv.zst",
		         dir && *dir ? dir : "../shared/data");
		data = def;
	}
	seg_error err;
	int rc;
	printf("segue CF benchmark: %s\n", data);
	printf("threads %d (0 = all %ld online CPUs)\n", ao.threads, sysconf(_SC_NPROCESSORS_ONLN));

	double t0 = now();
	entries e;
	read_entries(data, &e);
	double t_read = now() - t0;

	/* Hold out halves of some playlists: their second halves leave the matrix. */
	holdout h = {0};
	unsigned char *keep = malloc(e.n);
	size_t *pl_begin = calloc((size_t)e.nusers + 1, sizeof *pl_begin);
	for (size_t q = 0; q < e.n; q++)
		pl_begin[e.pid[q] + 1]++;
	for (int32_t u = 0; u < e.nusers; u++)
		pl_begin[u + 1] += pl_begin[u];
	/* Entries are grouped by playlist in file order; check it. */
	for (size_t q = 1; q < e.n; q++)
		if (e.pid[q] < e.pid[q - 1])
			die("entries are not grouped by playlist", SEG_EFORMAT, NULL);
	memset(keep, 1, e.n);
	h.users = malloc((size_t)e.nusers * sizeof *h.users);
	h.seed_begin = calloc((size_t)e.nusers + 1, sizeof *h.seed_begin);
	h.hid_begin = calloc((size_t)e.nusers + 1, sizeof *h.hid_begin);
	h.seeds = malloc(e.n * sizeof *h.seeds);
	h.hidden = malloc(e.n * sizeof *h.hidden);
	size_t ns = 0, nh = 0;
	for (int32_t u = 0; eval && u < e.nusers; u += 14) {
		size_t b = pl_begin[u], len = pl_begin[u + 1] - b;
		if (len < 10)
			continue;
		h.users[h.nu] = u;
		h.seed_begin[h.nu] = ns;
		h.hid_begin[h.nu] = nh;
		for (size_t q = 0; q < len; q++) {
			if (q < len / 2) {
				h.seeds[ns++] = e.item[b + q];
			} else {
				h.hidden[nh++] = e.item[b + q];
				keep[b + q] = 0;
			}
		}
		h.nu++;
		h.seed_begin[h.nu] = ns;
		h.hid_begin[h.nu] = nh;
	}
	size_t ntrain = 0;
	for (size_t q = 0; q < e.n; q++)
		if (keep[q]) {
			e.pid[ntrain] = e.pid[q];
			e.item[ntrain++] = e.item[q];
		}

	t0 = now();
	cf_csr ui, iu;
	if ((rc = cf_csr_from_pairs(&ui, e.nusers, e.nitems, e.pid, e.item, NULL, ntrain, CF_DUP_ONE, &err)) < 0)
		die("CSR", rc, &err);
	if ((rc = cf_csr_transpose(&ui, &iu, &err)) < 0)
		die("transpose", rc, &err);
	double t_csr = now() - t0;
	printf("data: %zu entries, U %d playlists x I %d tracks, %lld distinct training entries "
	       "(%zu held out from %zu playlists); read+map %.2f s, CSR+transpose %.3f s\n",
	       e.n, e.nusers, e.nitems, (long long)ui.nnz, e.n - ntrain, h.nu, t_read, t_csr);

	/* Co-occurrence. */
	cf_cooc *cos_m, *bm_m;
	co.weighting = CF_WEIGHT_COSINE;
	t0 = now();
	double c0 = cpu();
	if ((rc = cf_cooc_build(&ui, &iu, &co, &cos_m, &err)) < 0)
		die("cosine co-occurrence", rc, &err);
	double t_cos = now() - t0, c_cos = cpu() - c0;
	co.weighting = CF_WEIGHT_BM25;
	t0 = now();
	c0 = cpu();
	if ((rc = cf_cooc_build(&ui, &iu, &co, &bm_m, &err)) < 0)
		die("BM25 co-occurrence", rc, &err);
	double t_bm = now() - t0, c_bm = cpu() - c0;
	printf("co-occurrence build, top-M %d (%lld neighbours kept):\n"
	       "  cosine          %.2f s wall, %.2f s CPU\n"
	       "  BM25 K1 %g B %g  %.2f s wall, %.2f s CPU\n",
	       co.topm, (long long)cos_m->indptr[e.nitems], t_cos, c_cos, co.k1, co.b, t_bm, c_bm);

	/* ALS. */
	cf_als *m;
	t0 = now();
	if ((rc = cf_als_create(&m, ui.nrows, ui.ncols, &ao, &err)) < 0)
		die("ALS create", rc, &err);
	printf("ALS: F %d, alpha %g, lambda %g, CG steps %d, %d iterations\n", ao.factors, ao.alpha, ao.lambda,
	       ao.cg_steps, ao.iterations);
	double t_iter_total = 0.0, t_loss_total = 0.0, c_iter_total = 0.0;
	for (int it = 0; it < ao.iterations; it++) {
		t0 = now();
		double c1 = cpu();
		if ((rc = cf_als_iterate(m, &ui, &iu, NULL, &err)) < 0)
			die("ALS iteration", rc, &err);
		double ti = now() - t0, ci = cpu() - c1;
		c_iter_total += ci;
		t0 = now();
		double loss;
		if ((rc = cf_als_loss(m, &ui, &loss, &err)) < 0)
			die("ALS loss", rc, &err);
		double tl = now() - t0;
		t_iter_total += ti;
		t_loss_total += tl;
		printf("  iteration %2d: %.3f s wall, %.3f s CPU; loss %.6g (computing it: %.3f s)\n", it + 1, ti, ci,
		       loss, tl);
	}
	if (ao.iterations > 0)
		printf("ALS seconds per iteration (F %d): %.3f wall, %.3f CPU (the loss adds %.3f)\n", ao.factors,
		       t_iter_total / ao.iterations, c_iter_total / ao.iterations, t_loss_total / ao.iterations);

	if (eval && h.nu > 0) {
		enum { K = 100 };
		int32_t items[K];
		float scores[K];
		int32_t n;
		/* Most popular in the training matrix, as a baseline: one ranking. */
		int32_t *pop = malloc((size_t)e.nitems * sizeof *pop);
		int32_t *rank = malloc((size_t)e.nitems * sizeof *rank);
		for (int32_t i = 0; i < e.nitems; i++) {
			pop[i] = (int32_t)(iu.indptr[i + 1] - iu.indptr[i]);
			rank[i] = i;
		}
		qsort_r(rank, (size_t)e.nitems, sizeof *rank, cmp_pop_desc, pop);
		double rec[4] = {0}, t_rec[4] = {0};
		unsigned char *mark = calloc((size_t)e.nitems, 1);
		for (size_t t = 0; t < h.nu; t++) {
			const int32_t *sd = h.seeds + h.seed_begin[t];
			size_t nsd = h.seed_begin[t + 1] - h.seed_begin[t];
			const int32_t *hd = h.hidden + h.hid_begin[t];
			size_t nhd = h.hid_begin[t + 1] - h.hid_begin[t];
			/* Distinct hidden tracks not among the seeds are the targets. */
			for (size_t q = 0; q < nsd; q++)
				mark[sd[q]] = 2;
			size_t targets = 0;
			for (size_t q = 0; q < nhd; q++)
				if (mark[hd[q]] == 0) {
					mark[hd[q]] = 1;
					targets++;
				}
			for (int model = 0; model < 4 && targets > 0; model++) {
				double tt = now();
				if (model == 0)
					rc = cf_als_recommend(m, sd, nsd, K, items, scores, &n, NULL, &err);
				else if (model == 1)
					rc = cf_cooc_recommend(bm_m, sd, nsd, K, items, scores, &n, NULL, &err);
				else if (model == 2)
					rc = cf_cooc_recommend(cos_m, sd, nsd, K, items, scores, &n, NULL, &err);
				else { /* the most popular tracks that are not seeds */
					n = 0;
					for (int32_t q = 0; q < e.nitems && n < K; q++)
						if (mark[rank[q]] != 2)
							items[n++] = rank[q];
					rc = 0;
				}
				t_rec[model] += now() - tt;
				if (rc < 0)
					die("recommend", rc, &err);
				size_t hits = 0;
				for (int32_t q = 0; q < n; q++)
					hits += mark[items[q]] == 1;
				rec[model] += (double)hits / (double)targets;
			}
			for (size_t q = 0; q < nsd; q++)
				mark[sd[q]] = 0;
			for (size_t q = 0; q < nhd; q++)
				mark[hd[q]] = 0;
		}
		printf("held-out continuation, %zu playlists (first half given, rest hidden), "
		       "recall@%d:\n",
		       h.nu, K);
		const char *names[4] = {"ALS (fold-in)", "co-occurrence BM25", "co-occurrence cosine", "most popular"};
		for (int model = 0; model < 4; model++)
			printf("  %-20s %.4f   (%.2f ms per playlist)\n", names[model], rec[model] / h.nu,
			       1e3 * t_rec[model] / h.nu);
		free(mark);
		free(pop);
		free(rank);
	}

	cf_als_free(m);
	cf_cooc_free(cos_m);
	cf_cooc_free(bm_m);
	cf_csr_free(&ui);
	cf_csr_free(&iu);
	free(keep);
	free(pl_begin);
	free(h.users);
	free(h.seed_begin);
	free(h.hid_begin);
	free(h.seeds);
	free(h.hidden);
	free(e.pid);
	free(e.item);
	return 0;
}
