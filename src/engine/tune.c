/* tune.c: `segue tune` (see tune.h): coordinate descent on the validation
 * split over the grid below, the diversity trade-off curve, tuning.json.
 *
 * Legend: n validation playlists, C seed cases scored (first-5, first-10). */
#include "engine/tune.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "catalog/workspace.h"
#include "core/container.h"
#include "core/progress.h"
#include "core/strbuf.h"
#include "engine/dataset.h"
#include "engine/metrics.h"
#include "engine/recommender.h"
#include "report/svg.h"

/* What one point of the search sets: training options and re-ranking. */
typedef struct tune_config {
	train_options t;
	eval_rerank rr;
} tune_config;

/* One row of the grid: a parameter, the model whose score decides it, and
 * the values tried. Adding a model's grid is adding its rows. */
typedef struct tune_param {
	const char *model; /* the variant scored: a registry name, or "<default>+rerank" */
	const char *name;  /* key in tuning.json's "chosen" */
	int is_int;        /* the field is an int (else a float) */
	size_t offset;     /* of the field in tune_config */
	int retrain;       /* the value changes the artifact: train a model per value */
	/* A discovery knob of re-ranking: its values are listed from the least
	 * to the most discovery-leaning, and the row takes the last value whose
	 * objective is within TUNE_KNOB_BUDGET of the row's best, instead of the
	 * best: accuracy alone would always turn discovery off. */
	int discovery;
	size_t n; /* values tried */
	double values[6];
} tune_param;

#define AT(field) offsetof(tune_config, field)
#define RERANKED "hybrid+rerank"
/* clang-format off */
static const tune_param GRID[] = {
	{"als",     "als.factors",           1, AT(t.factors),         1, 0, 2, {64, 128}},
	{"als",     "als.lambda",            0, AT(t.als_lambda),      1, 0, 2, {0.1, 1}},
	{"als",     "als.alpha",             0, AT(t.als_alpha),       1, 0, 3, {10, 40, 100}},
	{"cooc",    "cooc.neighbours",       1, AT(t.cooc_neighbours), 1, 0, 3, {50, 100, 200}},
	{"rp3beta", "rp3.alpha",             0, AT(t.rp3_alpha),       1, 0, 2, {0.5, 0.7}},
	{"rp3beta", "rp3.beta",              0, AT(t.rp3_beta),        1, 0, 2, {0, 0.1}},
	{"rp3beta", "rp3.neighbours",        1, AT(t.rp3_neighbours),  1, 0, 2, {200, 500}},
	{"ease",    "ease.lambda",           0, AT(t.ease_lambda),     1, 0, 3, {500, 1500, 3000}},
	{"hybrid",  "hybrid.content",        0, AT(t.hybrid.content),  0, 0, 4, {0.05, 0.1, 0.15, 0.3}},
	{"hybrid",  "hybrid.als",            0, AT(t.hybrid.als),      0, 0, 4, {0.3, 0.45, 0.6, 0.8}},
	{"hybrid",  "hybrid.rp3",            0, AT(t.hybrid.rp3),      0, 0, 4, {0.2, 0.35, 0.45, 0.6}},
	{"hybrid",  "hybrid.ease",           0, AT(t.hybrid.ease),     0, 0, 2, {0, 0.1}},
	{"hybrid",  "hybrid.cooc",           0, AT(t.hybrid.cooc),     0, 0, 2, {0, 0.1}},
	{RERANKED,  "rerank.novelty",        0, AT(rr.novelty),        0, 1, 4, {0, 0.05, 0.1, 0.2}},
	{RERANKED,  "rerank.max_per_artist", 1, AT(rr.max_per_artist), 0, 1, 4, {0, 3, 2, 1}},
};
/* clang-format on */
#define NGRID (sizeof GRID / sizeof *GRID)

/* The diversity λ of the trade-off curve. */
static const double LAMBDAS[] = {0, 0.1, 0.2, 0.3, 0.4, 0.5};
#define NLAMBDA (sizeof LAMBDAS / sizeof *LAMBDAS)

/* The seed cases the objective averages. */
static const eval_case OBJ_CASES[] = {{EVAL_FIRST, 5}, {EVAL_FIRST, 10}};
#define NOBJ (sizeof OBJ_CASES / sizeof *OBJ_CASES)

static const char OBJECTIVE[] = "mean over validation playlists and the first-5 and first-10 seed cases of "
				"(R-precision + organisers' NDCG) / 2, of the model the parameter belongs to";

void tune_options_default(tune_options *o)
{
	memset(o, 0, sizeof *o);
	o->max_playlists = 400;
	o->k = 500;
	o->verbose = 1;
	o->out = stdout;
}

static double param_get(const tune_config *c, const tune_param *p)
{
	const char *base = (const char *)c + p->offset;
	if (p->is_int) {
		int v;
		memcpy(&v, base, sizeof v);
		return v;
	}
	float f;
	memcpy(&f, base, sizeof f);
	return f;
}

static void param_set(tune_config *c, const tune_param *p, double v)
{
	char *base = (char *)c + p->offset;
	if (p->is_int) {
		int iv = (int)lround(v);
		memcpy(base, &iv, sizeof iv);
	} else {
		float f = (float)v;
		memcpy(base, &f, sizeof f);
	}
}

/* The scores of one point. */
typedef struct point_score {
	double objective, rprec, ndcg, novelty, ild;
} point_score;

/* Scores variant `name` of config `cfg` (with diversity λ) on the set. */
static int score_point(const engine *e, const dataset *ds, eval_set *set, const tune_config *cfg, const char *name,
                       double lambda, size_t k, double *vals, point_score *out, seg_error *err)
{
	eval_variant v;
	memset(&v, 0, sizeof v);
	snprintf(v.name, sizeof v.name, "%s", name);
	const char *plus = strchr(name, '+');
	char model[64];
	snprintf(model, sizeof model, "%.*s", (int)(plus ? (size_t)(plus - name) : strlen(name)), name);
	v.model = recommender_find(model);
	if (v.model < 0)
		return seg_error_set(err, SEG_EINVAL, "tune: no model '%s' is registered", model);
	v.rerank = plus != NULL;
	v.diversity = (float)lambda;
	v.novelty = cfg->rr.novelty;
	v.max_per_artist = cfg->rr.max_per_artist;
	v.hybrid = &cfg->t.hybrid;
	int rc = eval_score(e, ds, set, OBJ_CASES, NOBJ, &v, 1, k, vals, NULL, err);
	if (rc < 0)
		return rc;
	metrics_stat s[EM__COUNT];
	memset(s, 0, sizeof s);
	for (size_t q = 0; q < NOBJ * set->n; q++)
		for (int m = 0; m < EM__COUNT; m++)
			metrics_stat_add(&s[m], vals[q * EM__COUNT + (size_t)m]);
	out->rprec = metrics_stat_mean(&s[EM_RPREC]);
	out->ndcg = metrics_stat_mean(&s[EM_NDCG]);
	out->novelty = metrics_stat_mean(&s[EM_NOVELTY]);
	out->ild = metrics_stat_mean(&s[EM_ILD]);
	out->objective = (out->rprec + out->ndcg) / 2;
	return 0;
}

static int write_json(FILE *f, void *root) { return json_dumpf(root, f, JSON_INDENT(2)) == 0 ? 0 : -1; }

static int write_text(FILE *f, void *text) { return fputs(text, f) < 0 ? -1 : 0; }

/* Draws the λ curve, each series relative to its value at λ = 0. */
static int write_curve_svg(const char *ws, const point_score *curve, seg_error *err)
{
	double acc[NLAMBDA], nov[NLAMBDA], ild[NLAMBDA];
	const char *cats[NLAMBDA];
	char labels[NLAMBDA][16];
	for (size_t i = 0; i < NLAMBDA; i++) {
		acc[i] = curve[0].objective > 0 ? curve[i].objective / curve[0].objective : NAN;
		nov[i] = curve[0].novelty > 0 ? curve[i].novelty / curve[0].novelty : NAN;
		ild[i] = curve[0].ild > 0 ? curve[i].ild / curve[0].ild : NAN;
		snprintf(labels[i], sizeof labels[i], "%.1f", LAMBDAS[i]);
		cats[i] = labels[i];
	}
	svg_series series[3] = {{"accuracy (objective)", acc}, {"novelty", nov}, {"ILD@10", ild}};
	svg_opts so = {.title = "Re-ranking trade-off on validation (relative to diversity 0)",
	               .x_label = "diversity λ",
	               .y_label = "relative to λ = 0"};
	strbuf sb = {0};
	int rc = svg_lines(&sb, &so, cats, NLAMBDA, series, 3);
	if (rc == 0) {
		char path[PATH_MAX];
		snprintf(path, sizeof path, "%s/tuning-lambda.svg", ws);
		rc = container_write_atomic(path, write_text, (void *)strbuf_cstr(&sb), err);
	} else {
		rc = seg_error_set(err, rc, "cannot draw the trade-off curve");
	}
	strbuf_free(&sb);
	return rc;
}

int tune_run(const tune_options *o, seg_error *err)
{
	double t0 = progress_now();
	dataset *ds = NULL;
	engine *e = NULL;
	eval_set set;
	memset(&set, 0, sizeof set);
	double *vals = NULL;
	json_t *root = NULL, *points = json_array();
	char cur[PATH_MAX + 32] = "", cand[PATH_MAX + 32] = "";
	workspace_scratch scratch = {"", -1};
	int rc = dataset_load(&ds, o->workspace, err);
	if (rc < 0)
		goto out;
	if ((rc = eval_set_pick(ds, CATALOG_SPLIT_VALID, 25, o->max_playlists, &set, err)) < 0)
		goto out;
	if (set.n == 0) {
		rc = seg_error_set(err, SEG_EINVAL,
		                   "no validation playlist has more than 25 distinct tracks to tune on");
		goto out;
	}
	vals = malloc(sizeof(double) * NOBJ * set.n * EM__COUNT);
	if (vals == NULL) {
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = workspace_scratch_open(o->workspace, "tune", &scratch, err)) < 0)
		goto out;
	const char *tmpdir = scratch.dir;
	tune_config cfg;
	if (o->base)
		cfg.t = *o->base;
	else
		train_options_default(&cfg.t);
	cfg.t.verbose = 0;
	cfg.t.skip_quality_cv = 1; /* the CV only reports; it does not change the model */
	rec_request def;
	rec_request_default(&def);
	cfg.rr = (eval_rerank){def.diversity, def.novelty, def.max_per_artist};
	if (o->verbose)
		fprintf(o->out, "tuning on %zu validation playlists (of %zu eligible; more than 25 distinct tracks)\n",
		        set.n, set.eligible);
	/* The starting model. */
	snprintf(cur, sizeof cur, "%s/current.seg", tmpdir);
	snprintf(cand, sizeof cand, "%s/candidate.seg", tmpdir);
	if ((rc = train_to_path(ds, &cfg.t, cur, err)) < 0 || (rc = engine_open(&e, cur, err)) < 0)
		goto out;
	for (size_t g = 0; g < NGRID; g++) {
		const tune_param *p = &GRID[g];
		const char *model = strcmp(p->model, RERANKED) == 0 ? RERANKED : p->model;
		char mname[64];
		snprintf(mname, sizeof mname, "%s", model);
		if (strchr(mname, '+') == NULL && recommender_find(mname) < 0)
			continue; /* a model this build does not have */
		double keep = param_get(&cfg, p), best_v = keep;
		point_score best;
		memset(&best, 0, sizeof best);
		best.objective = -INFINITY;
		int best_is_cand = 0;
		double row_obj[sizeof p->values / sizeof *p->values];
		for (size_t i = 0; i < p->n; i++) {
			double pt0 = progress_now();
			tune_config c = cfg;
			param_set(&c, p, p->values[i]);
			int same = param_get(&c, p) == keep;
			engine *pe = e;
			if (p->retrain && !same) {
				/* A model for this value; kept only while it is the best. */
				char path[PATH_MAX + 48];
				snprintf(path, sizeof path, "%s/point.seg", tmpdir);
				if ((rc = train_to_path(ds, &c.t, path, err)) < 0 ||
				    (rc = engine_open(&pe, path, err)) < 0)
					goto out;
			}
			point_score s;
			rc = score_point(pe, ds, &set, &c, mname, c.rr.diversity, o->k, vals, &s, err);
			if (pe != e)
				engine_free(pe);
			if (rc < 0)
				goto out;
			row_obj[i] = s.objective;
			/* A value replaces the incumbent only when strictly better; the
			 * current value wins ties, so a flat parameter stays put. */
			int better = same ? s.objective >= best.objective : s.objective > best.objective;
			if (better) {
				best = s;
				best_v = param_get(&c, p);
				if (p->retrain && !same) {
					char path[PATH_MAX + 48];
					snprintf(path, sizeof path, "%s/point.seg", tmpdir);
					if (rename(path, cand) != 0) {
						rc = seg_error_set(err, SEG_EIO, "cannot keep %s: %s", path,
						                   strerror(errno));
						goto out;
					}
					best_is_cand = 1;
				} else {
					best_is_cand = 0;
				}
			}
			double secs = progress_now() - pt0;
			json_array_append_new(points,
			                      json_pack("{s:s,s:s,s:f,s:f,s:f,s:f,s:f}", "param", p->name, "model",
			                                mname, "value", param_get(&c, p), "objective", s.objective,
			                                "r_precision", s.rprec, "ndcg", s.ndcg, "seconds", secs));
			if (o->verbose)
				fprintf(o->out, "  %-22s = %-7g %-14s objective %.5f (R-prec %.4f, NDCG %.4f) %.1f s\n",
				        p->name, param_get(&c, p), mname, s.objective, s.rprec, s.ndcg, secs);
			if (o->verbose)
				fflush(o->out);
		}
		if (p->discovery) {
			/* Never retrained (re-ranking only): no model to keep. */
			for (size_t i = 0; i < p->n; i++)
				if (row_obj[i] >= (1 - TUNE_KNOB_BUDGET) * best.objective)
					best_v = p->values[i];
		}
		param_set(&cfg, p, best_v);
		if (best_is_cand) {
			/* The current model becomes the best value's. */
			engine_free(e);
			e = NULL;
			if (rename(cand, cur) != 0) {
				rc = seg_error_set(err, SEG_EIO, "cannot keep %s: %s", cand, strerror(errno));
				goto out;
			}
			if ((rc = engine_open(&e, cur, err)) < 0)
				goto out;
		}
		if (o->verbose)
			fprintf(o->out, "  -> %s = %g\n", p->name, best_v);
	}

	/* The trade-off curve of the diversity λ, with everything else chosen. */
	point_score curve[NLAMBDA];
	size_t chosen_l = 0;
	json_t *jcurve = json_array();
	for (size_t i = 0; i < NLAMBDA; i++) {
		if ((rc = score_point(e, ds, &set, &cfg, RERANKED, LAMBDAS[i], o->k, vals, &curve[i], err)) < 0) {
			json_decref(jcurve);
			goto out;
		}
		if (curve[i].objective >= (1 - TUNE_LAMBDA_BUDGET) * curve[0].objective)
			chosen_l = i;
		json_array_append_new(jcurve,
		                      json_pack("{s:f,s:f,s:f,s:f,s:f,s:o}", "lambda", LAMBDAS[i], "objective",
		                                curve[i].objective, "r_precision", curve[i].rprec, "ndcg",
		                                curve[i].ndcg, "novelty", curve[i].novelty, "ild@10",
		                                isfinite(curve[i].ild) ? json_real(curve[i].ild) : json_null()));
		if (o->verbose)
			fprintf(o->out, "  diversity λ %.1f: objective %.5f, novelty %.2f, ILD@10 %.3f\n", LAMBDAS[i],
			        curve[i].objective, curve[i].novelty, curve[i].ild);
	}
	cfg.rr.diversity = (float)LAMBDAS[chosen_l];
	if (o->verbose)
		fprintf(o->out, "  -> rerank.diversity = %.1f (the largest λ within %.0f%% of λ = 0's objective)\n",
		        LAMBDAS[chosen_l], 100 * TUNE_LAMBDA_BUDGET);

	/* tuning.json */
	root = json_object();
	int64_t stamp[CATALOG_STAMP];
	if ((rc = workspace_catalog_stamp(o->workspace, stamp, err)) < 0)
		goto out;
	json_t *js = json_array();
	for (int i = 0; i < CATALOG_STAMP; i++)
		json_array_append_new(js, json_integer((json_int_t)stamp[i]));
	json_object_set_new(root, "catalog_stamp", js);
	time_t now = time(NULL);
	char when[32];
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	json_object_set_new(root, "created_at", json_string(when));
	json_object_set_new(root, "split", json_string("validation"));
	json_object_set_new(root, "playlists", json_integer((json_int_t)set.n));
	json_object_set_new(root, "eligible", json_integer((json_int_t)set.eligible));
	json_object_set_new(root, "thinned", json_boolean(set.n < set.eligible));
	json_object_set_new(root, "playlists_read",
	                    json_pack("{s:I,s:I,s:I}", "train", (json_int_t)set.scored_by_split[CATALOG_SPLIT_TRAIN],
	                              "validation", (json_int_t)set.scored_by_split[CATALOG_SPLIT_VALID], "test",
	                              (json_int_t)set.scored_by_split[CATALOG_SPLIT_TEST]));
	json_object_set_new(root, "k", json_integer((json_int_t)o->k));
	json_object_set_new(root, "objective", json_string(OBJECTIVE));
	json_object_set_new(root, "search",
	                    json_string("coordinate descent, one pass over the grid in its order: each value is "
	                                "tried with the other parameters at their best so far, and replaces the "
	                                "current value only when its objective is strictly higher, except the "
	                                "re-ranking knobs novelty and max_per_artist, whose values are listed "
	                                "from the least to the most discovery-leaning and which take the last "
	                                "within 2% of their row's best objective; models are "
	                                "trained on the train split (quality CV skipped), scored on validation"));
	json_t *grid = json_array();
	for (size_t g = 0; g < NGRID; g++) {
		json_t *vv = json_array();
		for (size_t i = 0; i < GRID[g].n; i++)
			json_array_append_new(vv, json_real(GRID[g].values[i]));
		json_array_append_new(
			grid, json_pack("{s:s,s:s,s:o}", "model", GRID[g].model, "param", GRID[g].name, "values", vv));
	}
	json_object_set_new(root, "grid", grid);
	json_object_set_new(root, "points", points);
	points = NULL;
	json_t *chosen = json_object();
	for (size_t g = 0; g < NGRID; g++)
		json_object_set_new(chosen, GRID[g].name, json_real(param_get(&cfg, &GRID[g])));
	json_object_set_new(chosen, "rerank.diversity", json_real(cfg.rr.diversity));
	json_object_set_new(root, "chosen", chosen);
	json_object_set_new(root, "lambda_curve",
	                    json_pack("{s:s,s:f,s:o,s:f}", "rule",
	                              "the largest diversity λ whose objective is at least (1 - budget) times "
	                              "the objective at λ = 0",
	                              "budget", TUNE_LAMBDA_BUDGET, "points", jcurve, "chosen", LAMBDAS[chosen_l]));
	json_object_set_new(root, "seconds", json_real(progress_now() - t0));
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s", o->workspace, WORKSPACE_TUNING_FILE);
	if ((rc = workspace_lock(o->workspace, WORKSPACE_LOCK_WAIT, err)) < 0)
		goto out;
	rc = container_write_atomic(path, write_json, root, err);
	if (rc == 0)
		rc = write_curve_svg(o->workspace, curve, err);
	workspace_unlock(o->workspace);
	if (rc < 0)
		goto out;
	if (o->verbose)
		fprintf(o->out, "wrote %s and tuning-lambda.svg in %.1f s\n", path, progress_now() - t0);
out:
	engine_free(e);
	workspace_scratch_close(&scratch);
	json_decref(points);
	json_decref(root);
	free(vals);
	eval_set_free(&set);
	dataset_free(ds);
	return rc;
}

int tune_apply(const char *workspace, train_options *t, eval_rerank *rr, int *applied, char *note, size_t cap,
               seg_error *err)
{
	*applied = 0;
	if (note && cap)
		note[0] = '\0';
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s", workspace, WORKSPACE_TUNING_FILE);
	if (access(path, F_OK) != 0)
		return 0;
	json_error_t je;
	json_t *root = json_load_file(path, 0, &je);
	if (root == NULL)
		return seg_error_set(err, SEG_EFORMAT, "%s: %s; run `segue tune` again", path, je.text);
	json_t *chosen = json_object_get(root, "chosen"), *js = json_object_get(root, "catalog_stamp");
	int rc = 0;
	if (!json_is_object(chosen) || !json_is_array(js) || json_array_size(js) != CATALOG_STAMP) {
		rc = seg_error_set(err, SEG_EFORMAT, "%s has no chosen values or stamp; run `segue tune` again", path);
		goto out;
	}
	int64_t stamp[CATALOG_STAMP];
	if ((rc = workspace_catalog_stamp(workspace, stamp, err)) < 0)
		goto out;
	for (int i = 0; i < CATALOG_STAMP; i++)
		if (json_integer_value(json_array_get(js, (size_t)i)) != stamp[i]) {
			if (note && cap)
				snprintf(note, cap,
				         "%s was tuned on another state of the catalogue: not used (run `segue tune`)",
				         path);
			goto out;
		}
	tune_config c;
	c.t = *t;
	rec_request def;
	rec_request_default(&def);
	c.rr = rr ? *rr : (eval_rerank){def.diversity, def.novelty, def.max_per_artist};
	for (size_t g = 0; g < NGRID; g++) {
		json_t *v = json_object_get(chosen, GRID[g].name);
		if (json_is_number(v))
			param_set(&c, &GRID[g], json_number_value(v));
	}
	json_t *d = json_object_get(chosen, "rerank.diversity");
	if (json_is_number(d))
		c.rr.diversity = (float)json_number_value(d);
	*t = c.t;
	if (rr)
		*rr = c.rr;
	*applied = 1;
	if (note && cap)
		snprintf(note, cap, "using the values `segue tune` chose (%s)", path);
out:
	json_decref(root);
	return rc;
}

int tune_use_rerank_defaults(const char *workspace, int *applied, char *note, size_t cap, seg_error *err)
{
	train_options t;
	train_options_default(&t);
	rec_request def;
	rec_request_default(&def);
	eval_rerank rr = {def.diversity, def.novelty, def.max_per_artist};
	int rc = tune_apply(workspace, &t, &rr, applied, note, cap, err);
	if (rc == 0 && *applied)
		rec_request_set_rerank_defaults(rr.diversity, rr.novelty, rr.max_per_artist);
	return rc;
}

int tune_markdown(const char *file, FILE *out, seg_error *err)
{
	json_error_t je;
	json_t *root = json_load_file(file, 0, &je);
	if (root == NULL)
		return seg_error_set(err, SEG_EFORMAT, "%s: %s (line %d)", file, je.text, je.line);
	json_t *chosen = json_object_get(root, "chosen"), *curve = json_object_get(root, "lambda_curve");
	if (!json_is_object(chosen)) {
		json_decref(root);
		return seg_error_set(err, SEG_EFORMAT, "%s is not a tuning.json (no chosen values)", file);
	}
	fprintf(out, "Tuned on %lld validation playlists (%s), %zu points in %.0f s. Objective: %s.\n\n",
	        (long long)json_integer_value(json_object_get(root, "playlists")),
	        json_is_true(json_object_get(root, "thinned")) ? "thinned" : "all eligible",
	        json_array_size(json_object_get(root, "points")), json_number_value(json_object_get(root, "seconds")),
	        json_string_value(json_object_get(root, "objective")));
	fprintf(out, "| parameter | chosen |\n|---|---|\n");
	const char *key;
	json_t *v;
	json_object_foreach(chosen, key, v) fprintf(out, "| %s | %g |\n", key, json_number_value(v));
	fprintf(out,
	        "\n| diversity λ | objective | R-precision | NDCG | novelty | ILD@10 |\n|---|---|---|---|---|---|\n");
	size_t i;
	json_t *pt;
	json_array_foreach(json_object_get(curve, "points"), i, pt)
	{
		fprintf(out, "| %.1f | %.4f | %.4f | %.4f | %.2f | %.3f |\n",
		        json_number_value(json_object_get(pt, "lambda")),
		        json_number_value(json_object_get(pt, "objective")),
		        json_number_value(json_object_get(pt, "r_precision")),
		        json_number_value(json_object_get(pt, "ndcg")),
		        json_number_value(json_object_get(pt, "novelty")),
		        json_number_value(json_object_get(pt, "ild@10")));
	}
	fprintf(out, "\nChosen λ = %g: %s (budget %.0f%%).\n", json_number_value(json_object_get(curve, "chosen")),
	        json_string_value(json_object_get(curve, "rule")),
	        100 * json_number_value(json_object_get(curve, "budget")));
	json_decref(root);
	return 0;
}
