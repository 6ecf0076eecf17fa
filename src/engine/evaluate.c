/* evaluate.c: offline evaluation (see evaluate.h).
 *
 * Legend: P held-out playlists, S seed counts, M recommenders, K list length. */
#include "engine/evaluate.h"

#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"
#include "catalog/workspace.h"
#include "core/container.h"
#include "engine/dataset.h"
#include "engine/metrics.h"
#include "core/progress.h"
#include "engine/recommend.h"
#include "engine/recommender.h"
#include "engine/train.h"

static const size_t SEED_COUNTS[] = {1, 5, 10, 25};
#define S (sizeof SEED_COUNTS / sizeof *SEED_COUNTS)
#define TOP 10 /* beyond-accuracy metrics look at what a listener sees */

/* The recommenders compared: a model, with or without re-ranking. */
typedef struct variant {
	char name[80];
	int model; /* registry id */
	int rerank;
} variant;

/* Every registered model as it ranks, in registry order, then the default
 * model (the hybrid) re-ranked, as "hybrid+rerank". Returns the count M. */
static size_t variants_list(variant v[RECOMMENDER_MAX + 1])
{
	size_t m = 0;
	for (size_t i = 0; i < recommender_count(); i++, m++) {
		snprintf(v[m].name, sizeof v[m].name, "%s", recommender_name((int)i));
		v[m].model = (int)i;
		v[m].rerank = 0;
	}
	rec_request def;
	rec_request_default(&def);
	snprintf(v[m].name, sizeof v[m].name, "%s+rerank", recommender_name(def.model));
	v[m].model = def.model;
	v[m].rerank = 1;
	return m + 1;
}

/* What is reported per (variant, n). */
enum { E_RPREC, E_NDCG, E_CLICKS, E_RECALL50, E_RECALL500, E_NOVELTY, E_ILD, E_POPBIAS, E__COUNT };
static const char *const E_NAMES[E__COUNT] = {"r_precision", "ndcg",    "clicks", "recall@50",
                                              "recall@500",  "novelty", "ild@10", "popularity_bias"};

void eval_options_default(eval_options *o)
{
	memset(o, 0, sizeof(*o));
	o->k = 500;
	o->out = stdout;
}

typedef struct cell {
	metrics_stat st[E__COUNT];
	metrics_exposure exp; /* top-10 exposure over track ids */
	size_t lists;
} cell;

/* Writes the table's JSON through `f` (container_write_atomic's fill). */
static int write_table(FILE *f, void *root) { return json_dumpf(root, f, JSON_INDENT(2)) == 0 ? 0 : -1; }

int evaluate_run(const eval_options *o, seg_error *err)
{
	char path[PATH_MAX];
	int rc = train_model_path(o->workspace, o->artifact, path, sizeof path, err);
	if (rc < 0)
		return rc;
	engine *e = NULL;
	dataset *ds = NULL;
	cell *cells = NULL;
	rec_item *items = NULL;
	uint32_t *rec = NULL, *truth = NULL;
	int64_t *rec_artist = NULL, *truth_artist = NULL, *seeds = NULL;
	float *gather = NULL;
	uint32_t *counts = NULL; /* [T] training-playlist counts, for novelty */
	metrics_truth mt;
	memset(&mt, 0, sizeof mt);
	metrics_popularity pop;
	json_t *root = NULL;
	variant VARIANTS[RECOMMENDER_MAX + 1];
	size_t M = variants_list(VARIANTS);
	if ((rc = engine_open(&e, path, err)) < 0 || (rc = dataset_load(&ds, o->workspace, err)) < 0)
		goto out;
	if (engine_track_limit(e) != ds->T) {
		rc = seg_error_set(err, SEG_ESTALE,
		                   "the catalogue changed since this model was trained; run `segue train` again");
		goto out;
	}
	size_t K = o->k, T = (size_t)ds->T, D = engine_spec(e)->dim;
	cells = calloc(M * S, sizeof(cell));
	items = malloc(sizeof(rec_item) * K);
	rec = malloc(sizeof(uint32_t) * K);
	rec_artist = malloc(sizeof(int64_t) * K);
	gather = malloc(sizeof(float) * TOP * D);
	uint32_t maxlen = 0;
	for (size_t p = 0; p < ds->P; p++)
		if (ds->pl_ptr[p + 1] - ds->pl_ptr[p] > maxlen)
			maxlen = ds->pl_ptr[p + 1] - ds->pl_ptr[p];
	truth = malloc(sizeof(uint32_t) * (maxlen + 1));
	truth_artist = malloc(sizeof(int64_t) * (maxlen + 1));
	seeds = malloc(sizeof(int64_t) * (maxlen + 1));
	if (!cells || !items || !rec || !rec_artist || !gather || !truth || !truth_artist || !seeds) {
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t c = 0; c < M * S; c++)
		if ((rc = metrics_exposure_init(&cells[c].exp, T, err)) < 0)
			goto out;
	/* Popularity for novelty: training-playlist counts per track id. */
	counts = malloc(sizeof(uint32_t) * T);
	if (counts == NULL) {
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t t = 0; t < T; t++)
		counts[t] = engine_playlist_count(e, (int64_t)t);
	if ((rc = metrics_popularity_init(&pop, counts, T, err)) < 0)
		goto out;

	/* Which held-out playlists, deterministically thinned when asked. */
	size_t total = 0;
	for (size_t p = 0; p < ds->P; p++)
		total += ds->pl_split[p] == CATALOG_SPLIT_TEST && ds->pl_ptr[p + 1] - ds->pl_ptr[p] >= 2;
	size_t step =
		o->max_playlists && total > o->max_playlists ? (total + o->max_playlists - 1) / o->max_playlists : 1;
	progress prog;
	progress_start(&prog, "evaluating", total / step + 1);
	double t0 = progress_now();
	size_t seen = 0, used = 0;
	for (size_t p = 0; p < ds->P; p++) {
		size_t len = ds->pl_ptr[p + 1] - ds->pl_ptr[p];
		if (ds->pl_split[p] != CATALOG_SPLIT_TEST || len < 2)
			continue;
		if (seen++ % step != 0)
			continue;
		used++;
		progress_update(&prog, used);
		const int64_t *tracks = ds->pl_tracks + ds->pl_ptr[p];
		for (size_t si = 0; si < S; si++) {
			size_t n = SEED_COUNTS[si];
			if (len <= n)
				continue;
			/* Hidden: the tracks after the seeds that are not seeds themselves. */
			size_t nt = 0;
			for (size_t j = n; j < len; j++) {
				int dup = 0;
				for (size_t q = 0; q < n && !dup; q++)
					dup = tracks[q] == tracks[j];
				if (!dup) {
					truth[nt] = (uint32_t)tracks[j];
					truth_artist[nt++] = ds->track_artist[tracks[j]];
				}
			}
			if (nt == 0)
				continue;
			if ((rc = metrics_truth_set(&mt, truth, truth_artist, nt, err)) < 0)
				goto out;
			memcpy(seeds, tracks, sizeof(int64_t) * n);
			for (size_t v = 0; v < M; v++) {
				rec_request r;
				rec_request_default(&r);
				r.model = VARIANTS[v].model;
				r.rerank = VARIANTS[v].rerank;
				r.k = K;
				r.pool = K + K / 5;
				r.seeds = seeds;
				r.nseeds = n;
				r.seed = (uint64_t)p * 31 + n;
				size_t got = 0;
				if ((rc = engine_recommend(e, &r, items, &got, NULL, err)) < 0)
					goto out;
				for (size_t j = 0; j < got; j++) {
					rec[j] = (uint32_t)items[j].track;
					rec_artist[j] = ds->track_artist[items[j].track];
				}
				double m[METRIC__COUNT];
				metrics_list_opts lo = {.k = TOP, .idcg = METRICS_IDCG_CHALLENGE, .pop = &pop};
				if ((rc = metrics_list_eval(&mt, rec, rec_artist, got, &lo, m, err)) < 0)
					goto out;
				cell *c = &cells[v * S + si];
				/* clang-format off */
				double vals[E__COUNT] = {
					m[METRIC_R_PRECISION], m[METRIC_NDCG], m[METRIC_CLICKS],
					metrics_recall_at(&mt, rec, got, 50), metrics_recall_at(&mt, rec, got, K),
					m[METRIC_NOVELTY], NAN, m[METRIC_POPULARITY_BIAS],
				};
				/* clang-format on */
				/* Diversity over the top 10 that have audio features. */
				size_t ng = 0;
				for (size_t j = 0; j < got && j < TOP; j++) {
					int32_t row = engine_row_of(e, items[j].track);
					if (row >= 0)
						memcpy(gather + D * ng++, engine_vector(e, (size_t)row),
						       sizeof(float) * D);
				}
				if (ng >= 2)
					vals[E_ILD] = metrics_ild(gather, ng, D);
				for (int q = 0; q < E__COUNT; q++)
					if (!isnan(vals[q]))
						metrics_stat_add(&c->st[q], vals[q]);
				metrics_exposure_add(&c->exp, rec, got < TOP ? got : TOP, NULL);
				c->lists++;
			}
		}
	}
	progress_finish(&prog);
	double secs = progress_now() - t0;

	/* Report. */
	root = json_object();
	json_object_set_new(root, "model", json_string(path));
	json_object_set_new(root, "playlists", json_integer((json_int_t)used));
	json_object_set_new(root, "k", json_integer((json_int_t)K));
	json_object_set_new(root, "seconds", json_real(secs));
	json_t *rows = json_array();
	if (!o->json)
		fprintf(o->out,
		        "playlist continuation on %zu held-out playlists (list length %zu; beyond-accuracy on the top "
		        "%d),"
		        " %.1f s\n",
		        used, K, TOP, secs);
	for (size_t si = 0; si < S; si++) {
		if (!o->json)
			fprintf(o->out, "\nseeds = %zu\n  %-14s %8s %8s %8s %9s %10s %8s %7s %8s %8s %6s\n",
			        SEED_COUNTS[si], "model", "R-prec", "NDCG", "clicks", "recall@50", "recall@500",
			        "novelty", "ILD@10", "tracks@10", "Gini", "lists");
		for (size_t v = 0; v < M; v++) {
			cell *c = &cells[v * S + si];
			double cov = metrics_exposure_coverage(&c->exp), gini = NAN;
			metrics_exposure_gini(&c->exp, &gini, NULL);
			json_t *row = json_pack("{s:s,s:I,s:I}", "model", VARIANTS[v].name, "seeds",
			                        (json_int_t)SEED_COUNTS[si], "lists", (json_int_t)c->lists);
			for (int q = 0; q < E__COUNT; q++) {
				json_object_set_new(row, E_NAMES[q], json_real(metrics_stat_mean(&c->st[q])));
				char se[64];
				snprintf(se, sizeof se, "%s_se", E_NAMES[q]);
				json_object_set_new(row, se, json_real(metrics_stat_se(&c->st[q])));
			}
			json_object_set_new(row, "coverage@10", json_real(cov));
			json_object_set_new(row, "gini@10", json_real(gini));
			json_array_append_new(rows, row);
			if (!o->json)
				fprintf(o->out, "  %-14s %8.4f %8.4f %8.2f %9.4f %10.4f %8.2f %7.3f %8.0f %8.3f %6zu\n",
				        VARIANTS[v].name, metrics_stat_mean(&c->st[E_RPREC]),
				        metrics_stat_mean(&c->st[E_NDCG]), metrics_stat_mean(&c->st[E_CLICKS]),
				        metrics_stat_mean(&c->st[E_RECALL50]), metrics_stat_mean(&c->st[E_RECALL500]),
				        metrics_stat_mean(&c->st[E_NOVELTY]), metrics_stat_mean(&c->st[E_ILD]),
				        cov * (double)T, gini, c->lists);
		}
	}
	json_object_set_new(root, "results", rows);
	if (!o->json)
		fprintf(o->out,
		        "\nR-precision and NDCG as the RecSys Challenge 2018 defines them (higher is better); clicks: "
		        "pages of\n"
		        "10 before the first hit (lower is better, 51 = none in 500). Tracks without audio features "
		        "can only\n"
		        "come from popular, cooc, als and hybrid; content recommends tracks with features only.\n"
		        "novelty: mean self-information (bits) of the top 10; ILD@10: mean pairwise cosine distance of "
		        "its\n"
		        "tracks with features; tracks@10: distinct tracks over all top-10 lists; Gini of their "
		        "exposure.\n");
	/* Keep the table with the model. */
	char jpath[PATH_MAX + 32];
	snprintf(jpath, sizeof jpath, "%s", path);
	char *slash = strrchr(jpath, '/');
	if (slash)
		snprintf(slash + 1, sizeof jpath - (size_t)(slash + 1 - jpath), WORKSPACE_EVALUATION_FILE);
	/* Replaced whole, under the workspace's lock: a reader never sees half
	 * a table, and two evaluations never write through one temporary. */
	if ((rc = workspace_lock(o->workspace, WORKSPACE_LOCK_WAIT, err)) < 0)
		goto out;
	rc = container_write_atomic(jpath, write_table, root, err);
	workspace_unlock(o->workspace);
	if (rc < 0)
		goto out;
	if (o->json) {
		char *text = json_dumps(root, JSON_INDENT(2));
		fprintf(o->out, "%s\n", text ? text : "{}");
		free(text);
	} else {
		fprintf(o->out, "kept in %s\n", jpath);
	}
	rc = 0;
out:
	json_decref(root);
	if (cells)
		for (size_t c = 0; c < M * S; c++)
			metrics_exposure_free(&cells[c].exp);
	free(cells);
	free(items);
	free(rec);
	free(rec_artist);
	free(truth);
	free(truth_artist);
	free(seeds);
	free(gather);
	free(counts);
	metrics_truth_free(&mt);
	engine_free(e);
	dataset_free(ds);
	return rc;
}
