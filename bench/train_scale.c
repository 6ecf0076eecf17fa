/* train_scale.c: training's model stages at Million Playlist Dataset scale,
 * straight from the CSV files `segue generate --mpd` writes (no catalogue):
 * wall time, CPU time and peak resident memory of each stage, one line of
 * JSON per stage, then a summary line. It stands in for `segue train` at a
 * size today's ingest cannot load in the time at hand; bench/train_stages.py
 * measures the real `segue train` (catalogue, dataset load, title index,
 * writing) at the sizes that were ingested.
 *
 *   train_scale DIR [--iterations N] [--skip-content] [--skip-quality]
 *               [--skip-ease] [--skip-rp3] [--max-playlists P] [--out FILE]
 *
 * The stages, as train.c runs them (same modules, same defaults):
 *   read      the two CSV files into a raw snapshot-layout matrix and (playlist,
 *             track) pairs (what ingest + dataset_load do through SQLite)
 *   content   feat_fit + feat_transform (train.c build_content)
 *   kmeans    K=12, n_init 4; pca: 2 components (build_map)
 *   quality   XGBoost, 120 rounds, without the cross-validation (build_quality
 *             with --skip-quality-cv)
 *   csr       the playlist x track matrix and its transpose (build_cf)
 *   cooc      cosine co-occurrence, top-100 neighbours
 *   als       implicit ALS, 64 factors, N iterations (seconds per iteration)
 *   ease      EASE on the frequent tracks (ease_opts_default)
 *   rp3       RP3beta, top-500 neighbours (rp3_opts_default)
 *   write     every array above into one container file
 * Every playlist is used for training (train.c holds 1 in 10 out; this
 * makes the figures a little pessimistic). Peak memory per stage is VmHWM
 * after the stage, reset before it (/proc/self/clear_refs), so it includes
 * what earlier stages still hold.
 *
 * Legend: N tracks, U playlists, I tracks in playlists, D content dims. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog/snapshot.h"
#include "core/container.h"
#include "core/error.h"
#include "core/strmap.h"
#include "models/cf.h"
#include "models/ease.h"
#include "models/featvec.h"
#include "models/kmeans.h"
#include "models/pca.h"
#include "models/quality.h"
#include "models/rp3.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double cpu(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void die(const char *what, int rc, const seg_error *err)
{
	fprintf(stderr, "train_scale: %s: %s\n", what, err && err->msg[0] ? err->msg : seg_strerror(rc));
	exit(1);
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (p == NULL)
		die("out of memory", SEG_ENOMEM, NULL);
	return p;
}

/* Peak resident set (VmHWM) in MB, and its reset. */
static double peak_mb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	double kb = 0;
	while (f && fgets(line, sizeof line, f))
		if (strncmp(line, "VmHWM:", 6) == 0)
			kb = atof(line + 6);
	if (f)
		fclose(f);
	return kb / 1024.0;
}

static void peak_reset(void)
{
	FILE *f = fopen("/proc/self/clear_refs", "w");
	if (f) {
		fputs("5", f);
		fclose(f);
	}
}

static double t_wall, t_cpu;
static const char *stage_name;

static void stage_begin(const char *name)
{
	stage_name = name;
	peak_reset();
	t_wall = now();
	t_cpu = cpu();
}

/* Prints the stage's line; `extra` is more JSON members or "". */
static double stage_end(const char *extra)
{
	double w = now() - t_wall;
	printf("{\"stage\":\"%s\",\"seconds\":%.3f,\"cpu_seconds\":%.3f,\"peak_mb\":%.0f%s}\n", stage_name, w,
	       cpu() - t_cpu, peak_mb(), extra);
	fflush(stdout);
	return w;
}

/* ---- CSV reading ---- */

/* Splits one CSV line (RFC 4180 quotes, no newline inside fields here) into
 * at most `max` fields, in place; returns the count. */
static int csv_split(char *s, char **f, int max)
{
	int n = 0;
	while (n < max) {
		if (*s == '"') {
			char *w = ++s;
			f[n++] = w;
			for (;;) {
				if (*s == '"' && s[1] == '"') {
					*w++ = '"';
					s += 2;
				} else if (*s == '"') {
					s++;
					break;
				} else if (*s == '\0') {
					break;
				} else {
					*w++ = *s++;
				}
			}
			*w = '\0';
			if (*s == ',')
				s++;
			else
				return n;
		} else {
			f[n++] = s;
			char *c = strchr(s, ',');
			if (c == NULL)
				return n;
			*c = '\0';
			s = c + 1;
		}
	}
	return n;
}

typedef struct tracks {
	size_t N;
	float *raw;      /* [N][SNAP__COLS] */
	int *genre;      /* [N][2] vocabulary indices, -1 for none */
	char *names[32]; /* genre vocabulary, in order of first sight */
	size_t G;
	strmap *by_id; /* track id -> row */
} tracks;

static int genre_index(tracks *t, const char *name)
{
	for (size_t g = 0; g < t->G; g++)
		if (strcmp(t->names[g], name) == 0)
			return (int)g;
	if (t->G == 32)
		return -1;
	t->names[t->G] = strdup(name);
	return (int)t->G++;
}

static void read_tracks(const char *path, tracks *t)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		die(path, SEG_EIO, NULL);
	size_t cap = 1 << 16;
	t->raw = xmalloc(cap * SNAP__COLS * sizeof *t->raw);
	t->genre = xmalloc(cap * 2 * sizeof *t->genre);
	t->by_id = strmap_create();
	char line[8192], *fld[24];
	if (fgets(line, sizeof line, f) == NULL)
		die("empty track file", SEG_EIO, NULL);
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (csv_split(line, fld, 24) < 22)
			continue;
		if (t->N == cap) {
			cap *= 2;
			t->raw = realloc(t->raw, cap * SNAP__COLS * sizeof *t->raw);
			t->genre = realloc(t->genre, cap * 2 * sizeof *t->genre);
			if (!t->raw || !t->genre)
				die("out of memory", SEG_ENOMEM, NULL);
		}
		float *r = t->raw + t->N * SNAP__COLS;
		static const int col[12] = {
			SNAP_DANCEABILITY, SNAP_ENERGY,      SNAP_KEY,          SNAP_LOUDNESS,
			SNAP_MODE,         SNAP_SPEECHINESS, SNAP_ACOUSTICNESS, SNAP_INSTRUMENTALNESS,
			SNAP_LIVENESS,     SNAP_VALENCE,     SNAP_TEMPO,        SNAP_TIME_SIGNATURE};
		for (int k = 0; k < 12; k++)
			r[col[k]] = strtof(fld[9 + k], NULL);
		r[SNAP_DURATION_MS] = strtof(fld[6], NULL);
		r[SNAP_POPULARITY] = strtof(fld[5], NULL);
		r[SNAP_YEAR] = (float)atoi(fld[4]);
		int *g = t->genre + t->N * 2;
		g[0] = g[1] = -1;
		char *semi = strchr(fld[8], ';');
		if (semi)
			*semi = '\0';
		g[0] = genre_index(t, fld[8]);
		if (semi)
			g[1] = genre_index(t, semi + 1);
		if (strmap_put(t->by_id, fld[0], (int64_t)t->N) < 0)
			die("out of memory", SEG_ENOMEM, NULL);
		t->N++;
	}
	fclose(f);
}

typedef struct pairs {
	int32_t *u, *i; /* [n] playlist, track row */
	size_t n, cap;
	int32_t U;
} pairs;

static void read_entries(const char *path, const tracks *t, size_t max_playlists, pairs *p)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		die(path, SEG_EIO, NULL);
	p->cap = 1 << 20;
	p->u = xmalloc(p->cap * sizeof *p->u);
	p->i = xmalloc(p->cap * sizeof *p->i);
	char line[8192];
	if (fgets(line, sizeof line, f) == NULL)
		die("empty playlist file", SEG_EIO, NULL);
	while (fgets(line, sizeof line, f)) {
		/* pid,pos,track_id,... : the id is 22 characters, never quoted */
		char *c1 = strchr(line, ','), *c2 = c1 ? strchr(c1 + 1, ',') : NULL;
		if (c2 == NULL || strlen(c2 + 1) < 22)
			continue;
		long pid = strtol(line, NULL, 10);
		if ((size_t)pid >= max_playlists)
			break;
		c2[23] = '\0';
		int64_t row;
		if (strmap_get(t->by_id, c2 + 1, &row) != 1)
			continue;
		if (p->n == p->cap) {
			p->cap *= 2;
			p->u = realloc(p->u, p->cap * sizeof *p->u);
			p->i = realloc(p->i, p->cap * sizeof *p->i);
			if (!p->u || !p->i)
				die("out of memory", SEG_ENOMEM, NULL);
		}
		p->u[p->n] = (int32_t)pid;
		p->i[p->n++] = (int32_t)row;
		if ((int32_t)pid + 1 > p->U)
			p->U = (int32_t)pid + 1;
	}
	fclose(f);
}

int main(int argc, char **argv)
{
	const char *dir = NULL, *out = "/tmp/train_scale.model";
	int iterations = 3, skip_content = 0, skip_quality = 0, skip_ease = 0, skip_rp3 = 0;
	size_t max_playlists = (size_t)-1;
	for (int a = 1; a < argc; a++) {
		if (strcmp(argv[a], "--iterations") == 0 && a + 1 < argc)
			iterations = atoi(argv[++a]);
		else if (strcmp(argv[a], "--max-playlists") == 0 && a + 1 < argc)
			max_playlists = (size_t)atol(argv[++a]);
		else if (strcmp(argv[a], "--out") == 0 && a + 1 < argc)
			out = argv[++a];
		else if (strcmp(argv[a], "--skip-content") == 0)
			skip_content = 1;
		else if (strcmp(argv[a], "--skip-quality") == 0)
			skip_quality = 1;
		else if (strcmp(argv[a], "--skip-ease") == 0)
			skip_ease = 1;
		else if (strcmp(argv[a], "--skip-rp3") == 0)
			skip_rp3 = 1;
		else if (argv[a][0] != '-')
			dir = argv[a];
		else {
			fprintf(stderr, "usage: train_scale DIR [--iterations N] [--max-playlists P] [--skip-content]"
			                " [--skip-quality] [--skip-ease] [--skip-rp3] [--out FILE]\n");
			return 2;
		}
	}
	if (dir == NULL || iterations < 1)
		return fprintf(stderr, "train_scale: no directory given\n"), 2;
	char path[4096];
	seg_error err = {0};
	int rc;
	double total = 0;
	char extra[512];
	container_writer *w = container_writer_create();

	stage_begin("read");
	tracks t = {0};
	pairs p = {0};
	snprintf(path, sizeof path, "%s/synthetic_tracks.csv", dir);
	read_tracks(path, &t);
	snprintf(path, sizeof path, "%s/synthetic_playlist_tracks.csv", dir);
	read_entries(path, &t, max_playlists, &p);
	snprintf(extra, sizeof extra, ",\"tracks\":%zu,\"playlists\":%d,\"entries\":%zu", t.N, (int)p.U, p.n);
	total += stage_end(extra);

	size_t N = t.N;
	if (!skip_content) {
		stage_begin("content");
		feat_spec spec;
		if ((rc = feat_fit(&spec, t.raw, N, (const char *const *)t.names, t.G, NULL, &err)) < 0)
			die("feat_fit", rc, &err);
		size_t D = spec.dim;
		float *vec = xmalloc(sizeof(float) * N * D);
		for (size_t i = 0; i < N; i++) {
			int ng = t.genre[2 * i + 1] >= 0 ? 2 : 1;
			feat_transform(&spec, t.raw + i * SNAP__COLS, t.genre + 2 * i, ng, vec + i * D);
		}
		snprintf(extra, sizeof extra, ",\"dims\":%zu", D);
		total += stage_end(extra);

		stage_begin("kmeans");
		kmeans_params kp;
		kmeans_params_default(&kp);
		kp.k = 12;
		kp.n_init = 4;
		kp.seed = 42;
		float *cent = xmalloc(sizeof(float) * 12 * D);
		int32_t *labels = xmalloc(sizeof(int32_t) * N);
		kmeans_info ki;
		if ((rc = kmeans_fit(vec, N, (int)D, &kp, cent, labels, &ki, &err)) < 0)
			die("kmeans", rc, &err);
		snprintf(extra, sizeof extra, ",\"iterations\":%d", ki.iterations);
		total += stage_end(extra);

		stage_begin("pca");
		pca_model pm;
		float *xy = xmalloc(sizeof(float) * N * 2);
		if ((rc = pca_fit(vec, N, (int)D, 2, &pm, &err)) < 0 || (rc = pca_transform(&pm, vec, N, xy, &err)) < 0)
			die("pca", rc, &err);
		pca_model_free(&pm);
		total += stage_end("");
		container_writer_add(w, "vectors", vec, sizeof(float) * N * D, &err);
		container_writer_add(w, "labels", labels, sizeof(int32_t) * N, &err);
		container_writer_add(w, "xy", xy, sizeof(float) * N * 2, &err);

		if (!skip_quality) {
			stage_begin("quality");
			static const int qc[] = {
				SNAP_DANCEABILITY, SNAP_ENERGY,      SNAP_KEY,          SNAP_LOUDNESS,
				SNAP_MODE,         SNAP_SPEECHINESS, SNAP_ACOUSTICNESS, SNAP_INSTRUMENTALNESS,
				SNAP_LIVENESS,     SNAP_VALENCE,     SNAP_TEMPO,        SNAP_TIME_SIGNATURE,
				SNAP_DURATION_MS,  SNAP_YEAR};
			size_t nq = sizeof qc / sizeof *qc, Q = nq + t.G;
			float *X = xmalloc(sizeof(float) * N * Q), *y = xmalloc(sizeof(float) * N);
			for (size_t i = 0; i < N; i++) {
				float *x = X + i * Q;
				for (size_t c = 0; c < nq; c++)
					x[c] = t.raw[i * SNAP__COLS + (size_t)qc[c]];
				for (size_t g = 0; g < t.G; g++)
					x[nq + g] = 0;
				for (int k = 0; k < 2; k++)
					if (t.genre[2 * i + k] >= 0)
						x[nq + (size_t)t.genre[2 * i + k]] = 1;
				y[i] = t.raw[i * SNAP__COLS + SNAP_POPULARITY];
			}
			quality_params qp;
			quality_params_default(&qp);
			qp.rounds = 120;
			quality_model *qm = NULL;
			float *pred = xmalloc(sizeof(float) * N);
			if ((rc = quality_model_train(&qm, X, y, N, Q, &qp, &err)) < 0 ||
			    (rc = quality_model_predict(qm, X, N, Q, pred, &err)) < 0)
				die("quality", rc, &err);
			quality_model_free(qm);
			free(X);
			free(y);
			total += stage_end("");
			container_writer_add(w, "quality", pred, sizeof(float) * N, &err);
		}
	}

	stage_begin("csr");
	cf_csr ui = {0}, iu = {0};
	if ((rc = cf_csr_from_pairs(&ui, p.U, (int32_t)N, p.u, p.i, NULL, p.n, CF_DUP_ONE, &err)) < 0 ||
	    (rc = cf_csr_transpose(&ui, &iu, &err)) < 0)
		die("csr", rc, &err);
	free(p.u);
	free(p.i);
	/* The shape of track use: how many tracks are used, by one playlist
	 * only, and by the most used track. */
	long long used = 0, once = 0, top = 0;
	for (int32_t i = 0; i < iu.nrows; i++) {
		long long d = iu.indptr[i + 1] - iu.indptr[i];
		used += d > 0;
		once += d == 1;
		top = d > top ? d : top;
	}
	snprintf(extra, sizeof extra,
	         ",\"nnz\":%lld,\"tracks_used\":%lld,\"tracks_in_one_playlist\":%lld,\"top_track_playlists\":%lld",
	         (long long)ui.nnz, used, once, top);
	total += stage_end(extra);

	stage_begin("cooc");
	cf_cooc_opts co;
	cf_cooc_opts_default(&co);
	co.topm = 100;
	cf_cooc *cooc = NULL;
	if ((rc = cf_cooc_build(&ui, &iu, &co, &cooc, &err)) < 0)
		die("cooc", rc, &err);
	snprintf(extra, sizeof extra, ",\"neighbours\":%lld", (long long)cooc->indptr[cooc->nitems]);
	total += stage_end(extra);

	stage_begin("als");
	cf_als_opts ao;
	cf_als_opts_default(&ao);
	ao.factors = 64;
	ao.iterations = iterations;
	ao.alpha = 40.0f;
	ao.lambda = 0.1f;
	ao.seed = 42;
	cf_als *als = NULL;
	double *losses = calloc((size_t)iterations, sizeof *losses);
	if ((rc = cf_als_fit(&ui, &iu, &ao, &als, losses, &err)) < 0)
		die("als", rc, &err);
	double als_s = now() - t_wall;
	snprintf(extra, sizeof extra,
	         ",\"iterations\":%d,\"seconds_per_iteration\":%.3f,\"loss_first\":%.6g,\"loss_last\":%.6g", iterations,
	         als_s / iterations, losses[0], losses[iterations - 1]);
	total += stage_end(extra);

	cf_cooc *ease = NULL, *rp3 = NULL;
	if (!skip_ease) {
		stage_begin("ease");
		ease_opts eo;
		ease_opts_default(&eo);
		ease_info ei;
		if ((rc = ease_fit(&ui, &iu, &eo, &ease, &ei, &err)) < 0)
			die("ease", rc, &err);
		snprintf(extra, sizeof extra, ",\"items\":%d", ei.solved);
		total += stage_end(extra);
	}
	if (!skip_rp3) {
		stage_begin("rp3");
		rp3_opts ro;
		rp3_opts_default(&ro);
		if ((rc = rp3_fit(&ui, &iu, &ro, &rp3, &err)) < 0)
			die("rp3", rc, &err);
		snprintf(extra, sizeof extra, ",\"weights\":%lld", (long long)rp3->indptr[rp3->nitems]);
		total += stage_end(extra);
	}

	stage_begin("write");
	size_t I = (size_t)ui.ncols;
	cf_cooc *parts[3] = {cooc, ease, rp3};
	static const char *const names[3][3] = {{"cooc.ptr", "cooc.nbr", "cooc.sim"},
	                                        {"ease.ptr", "ease.nbr", "ease.w"},
	                                        {"rp3.ptr", "rp3.nbr", "rp3.w"}};
	for (int k = 0; k < 3; k++) {
		if (parts[k] == NULL)
			continue;
		size_t nnz = (size_t)parts[k]->indptr[I];
		container_writer_add(w, names[k][0], parts[k]->indptr, sizeof(int64_t) * (I + 1), &err);
		container_writer_add(w, names[k][1], parts[k]->nbr, sizeof(int32_t) * nnz, &err);
		container_writer_add(w, names[k][2], parts[k]->sim, sizeof(float) * nnz, &err);
	}
	container_writer_add(w, "als.items", als->item_factors, sizeof(float) * I * 64, &err);
	if ((rc = container_writer_save(w, out, &err)) < 0)
		die("write", rc, &err);
	total += stage_end("");
	printf("{\"stage\":\"total\",\"seconds\":%.3f,\"tracks\":%zu,\"playlists\":%d,\"entries\":%lld}\n", total, N,
	       (int)ui.nrows, (long long)ui.nnz);
	container_writer_free(w);
	cf_cooc_free(cooc);
	cf_cooc_free(ease);
	cf_cooc_free(rp3);
	cf_als_free(als);
	cf_csr_free(&ui);
	cf_csr_free(&iu);
	free(losses);
	return 0;
}
