/* eda_findings.c: the findings of the EDA report (see eda_findings.h). Each
 * finding's sentence is printed from the very numbers stored beside it in its
 * record, so the page, summary.json and the dashboard cannot disagree. */
#include "report/eda_findings.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"
#include "report/eda_html.h"

/* ------------------------------------------------------------------------ */
/* Thresholds                                                                */

/* Cohen's (1988) conventions for r, the ones most readers know: from 0.5 a
 * correlation is large, from 0.3 medium, below that small. Only large ones
 * are listed as "the strongest correlations". */
#define CORR_LARGE 0.5
#define CORR_MEDIUM 0.3
/* Pairs listed at most: the finding points at the heatmap, it does not copy
 * it. */
#define CORR_SHOW 3
/* Fewer values (or pairs) than this and a skewness (or r) is too noisy to be
 * worth a sentence: with 30 pairs, r's standard error is still about 0.18. */
#define MIN_N 30
/* Beyond +-1 a distribution is "highly skewed" by Bulmer's (1979) rule of
 * thumb; there the mean and the standard deviation describe it badly. */
#define SKEW_LIMIT 1.0
/* Popularity 0 is a pile when it is the most common value and at least this
 * many times as common as the runner-up: a mode that leads by a few percent
 * is noise, one that leads by half again is not. */
#define ZERO_PILE_RATIO 1.5
/* Artists named as examples of spoken-word tracks. */
#define SPOKEN_EXAMPLES 3
/* Characters of an artist or track name quoted in a sentence. */
#define NAME_MAX_CHARS 60

/* ------------------------------------------------------------------------ */
/* Building records                                                          */

typedef struct fctx {
	sqlite3 *db;
	const eda_facts *f;
	json_t *arr;     /* the findings */
	json_t *queries; /* name -> SQL, or NULL */
	seg_error *err;
	int oom;
} fctx;

static void put(fctx *c, json_t *obj, const char *key, json_t *v)
{
	if (v == NULL || obj == NULL || json_object_set_new(obj, key, v) < 0)
		c->oom = 1;
}

static void push(fctx *c, json_t *arr, json_t *v)
{
	if (v == NULL || arr == NULL || json_array_append_new(arr, v) < 0)
		c->oom = 1;
}

/* A JSON string of s (NULL: ""), made valid UTF-8 first. */
static json_t *jstr(const char *s)
{
	strbuf tmp = {0};
	json_t *j = json_string(utf8_clean(s ? s : "", &tmp));
	strbuf_free(&tmp);
	return j;
}

/* A JSON number, or null for NaN. */
static json_t *jnum(double v) { return isfinite(v) ? json_real(v) : json_null(); }

/* Appends the finding {kind, sentence, numbers}; takes `numbers`. */
static void add(fctx *c, const char *kind, const strbuf *sentence, json_t *numbers)
{
	if (sentence->oom)
		c->oom = 1;
	json_t *o = json_object();
	put(c, o, "kind", json_string(kind));
	put(c, o, "sentence", jstr(strbuf_cstr(sentence)));
	put(c, o, "numbers", numbers);
	push(c, c->arr, o);
}

/* ------------------------------------------------------------------------ */
/* Words                                                                     */

/* Appends v with thousands separators. */
static void put_int(strbuf *s, long long v)
{
	char b[32];
	eda_html_format_int(b, sizeof b, v);
	strbuf_puts(s, b);
}

/* Appends 100 * part / whole as "37.9%" ("<0.1%" for a small non-zero share). */
static void put_share(strbuf *s, long long part, long long whole)
{
	double p = whole > 0 ? 100.0 * (double)part / (double)whole : 0;
	if (part > 0 && p < 0.05)
		strbuf_puts(s, "<0.1%");
	else
		strbuf_printf(s, "%.1f%%", p);
}

static double share(long long part, long long whole) { return whole > 0 ? (double)part / (double)whole : NAN; }

/* Appends a value of feature f with three significant digits, in plain
 * decimals (0.0000588 rather than 5.88e-05: readers of the report are not all
 * programmers), and its units. */
static void put_value(strbuf *s, const eda_feature *f, double v)
{
	double a = fabs(v);
	if (a == 0 || !isfinite(v))
		strbuf_printf(s, "%g", v);
	else if (a < 1e-3)
		strbuf_printf(s, "%.*f", 2 - (int)floor(log10(a)), v);
	else
		strbuf_printf(s, "%.3g", v);
	strbuf_puts(s, f->units ? f->units : "");
}

/* Appends at most NAME_MAX_CHARS characters of a name, quoted, with an
 * ellipsis when it was longer. */
static void put_name(strbuf *s, const char *name, int quoted)
{
	if (name == NULL || *name == '\0')
		name = "(no name)";
	size_t i = 0, chars = 0;
	while (name[i] && chars < NAME_MAX_CHARS) {
		i++;
		while ((name[i] & 0xC0) == 0x80)
			i++;
		chars++;
	}
	if (quoted)
		strbuf_putc(s, '"');
	strbuf_append(s, name, i);
	if (name[i])
		strbuf_puts(s, "...");
	if (quoted)
		strbuf_putc(s, '"');
}

/* ------------------------------------------------------------------------ */
/* Correlations                                                              */

typedef struct pair {
	int a, b; /* feature indices, a < b */
	double r;
	long long n;
} pair;

/* |r| as the sentences print it, to two decimals: a pair is called large
 * exactly when it reads 0.50 or more, never "a medium one (r = 0.50)". */
static double abs_r2(double r) { return round(fabs(r) * 100) / 100; }

/* By |r| descending; ties keep the matrix order, so runs are reproducible. */
static int cmp_pair(const void *x, const void *y)
{
	const pair *p = x, *q = y;
	double u = fabs(p->r), v = fabs(q->r);
	if (u != v)
		return u < v ? 1 : -1;
	if (p->a != q->a)
		return p->a - q->a;
	return p->b - q->b;
}

static json_t *pair_json(fctx *c, const pair *p)
{
	json_t *o = json_object();
	put(c, o, "a", json_string(eda_features[p->a].name));
	put(c, o, "b", json_string(eda_features[p->b].name));
	put(c, o, "r", jnum(p->r));
	put(c, o, "n", json_integer(p->n));
	return o;
}

/* "energy and loudness rise together (r = 0.78, n = 95,529)" */
static void put_pair(strbuf *s, const pair *p)
{
	strbuf_printf(s, "%s and %s %s (r = %.2f, n = ", eda_features[p->a].word, eda_features[p->b].word,
	              p->r > 0 ? "rise together" : "move in opposite directions", p->r);
	put_int(s, p->n);
	strbuf_putc(s, ')');
}

static void find_correlations(fctx *c)
{
	enum { D = EDA_NFEAT };
	const eda_facts *f = c->f;
	if (f->corr_r == NULL || f->corr_n == NULL)
		return;
	pair all[D * (D - 1) / 2];
	size_t np = 0;
	for (int i = 0; i < D; i++)
		for (int j = i + 1; j < D; j++) {
			double r = f->corr_r[i * D + j];
			long long n = f->corr_n[i * D + j];
			if (isfinite(r) && n >= MIN_N)
				all[np++] = (pair){i, j, r, n};
		}
	if (np == 0)
		return;
	qsort(all, np, sizeof all[0], cmp_pair);

	size_t shown = 0;
	while (shown < np && shown < CORR_SHOW && abs_r2(all[shown].r) >= CORR_LARGE)
		shown++;
	strbuf s = {0};
	json_t *num = json_object(), *pairs = json_array();
	put(c, num, "min_abs_r", json_real(CORR_LARGE));
	if (shown > 0) {
		strbuf_printf(&s,
		              "The strongest correlations (Pearson, |r| >= %.1f, over the tracks where "
		              "both are known): ",
		              CORR_LARGE);
		for (size_t k = 0; k < shown; k++) {
			if (k > 0)
				strbuf_puts(&s, "; ");
			put_pair(&s, &all[k]);
			push(c, pairs, pair_json(c, &all[k]));
		}
		strbuf_puts(&s, ".");
	} else {
		strbuf_printf(&s, "No two features are strongly correlated (every |r| < %.1f); the strongest pair: ",
		              CORR_LARGE);
		put_pair(&s, &all[0]);
		strbuf_puts(&s, ".");
		push(c, pairs, pair_json(c, &all[0]));
	}
	put(c, num, "pairs", pairs);
	add(c, "correlation", &s, num);
	strbuf_free(&s);

	/* Popularity's strongest pair, unless it was just listed. */
	const pair *pop = NULL;
	for (size_t k = 0; k < np && pop == NULL; k++)
		if (all[k].b == EDA_FEAT_POPULARITY || all[k].a == EDA_FEAT_POPULARITY)
			pop = &all[k];
	if (pop == NULL || (size_t)(pop - all) < (shown > 0 ? shown : 1))
		return;
	int other = pop->a == EDA_FEAT_POPULARITY ? pop->b : pop->a;
	double ar = abs_r2(pop->r);
	strbuf_reset(&s);
	strbuf_printf(&s, "Popularity's strongest correlation with another feature is %s, with %s (r = %.2f, n = ",
	              ar < CORR_MEDIUM  ? "only a small one"
	              : ar < CORR_LARGE ? "a medium one"
	                                : "a large one",
	              eda_features[other].word, pop->r);
	put_int(&s, pop->n);
	strbuf_puts(&s, ar < CORR_LARGE ? "): no single feature predicts it well." : ").");
	num = json_object();
	put(c, num, "feature", json_string(eda_features[other].name));
	put(c, num, "r", jnum(pop->r));
	put(c, num, "n", json_integer(pop->n));
	add(c, "popularity_correlation", &s, num);
	strbuf_free(&s);
}

/* ------------------------------------------------------------------------ */
/* Popularity                                                                */

static void find_popularity_missing(fctx *c)
{
	const eda_facts *f = c->f;
	if (f->stats == NULL || f->with_features <= 0)
		return;
	long long known = (long long)f->stats[EDA_FEAT_POPULARITY].count;
	long long missing = f->with_features - known;
	if (missing <= 0)
		return;
	strbuf s = {0};
	if (known == 0) {
		strbuf_puts(&s, "None of the ");
		put_int(&s, f->with_features);
		strbuf_puts(&s, " tracks with audio features has a popularity value, so nothing here is said about "
		                "popularity.");
	} else {
		put_int(&s, missing);
		strbuf_puts(&s, " of the ");
		put_int(&s, f->with_features);
		strbuf_puts(&s, " tracks with audio features (");
		put_share(&s, missing, f->with_features);
		strbuf_printf(&s, ") %s no popularity value; every popularity figure rests on the other ",
		              missing == 1 ? "has" : "have");
		put_int(&s, known);
		strbuf_puts(&s, ".");
	}
	json_t *num = json_object();
	put(c, num, "missing", json_integer(missing));
	put(c, num, "tracks", json_integer(f->with_features));
	put(c, num, "share", jnum(share(missing, f->with_features)));
	add(c, "popularity_missing", &s, num);
	strbuf_free(&s);
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return (x > y) - (x < y);
}

/* eda_sql_popularity_values's figures from the column the report read:
 * the known values, how many are 0, and the most frequent other value
 * (ties to the lower, as the query's ORDER BY tracks DESC, value). */
static int popularity_values_mem(fctx *c, long long *zero, long long *known, long long *next_value,
                                 long long *next_tracks)
{
	const eda_facts *f = c->f;
	long long *v = malloc((f->n ? f->n : 1) * sizeof(*v));
	if (v == NULL)
		return seg_error_set(c->err, SEG_ENOMEM, "out of memory");
	size_t nv = 0;
	for (size_t i = 0; i < f->n; i++)
		if (!isnan(f->popularity[i]))
			v[nv++] = (long long)f->popularity[i];
	qsort(v, nv, sizeof(*v), cmp_ll);
	*known = (long long)nv;
	for (size_t r = 0, r2; r < nv; r = r2) {
		for (r2 = r; r2 < nv && v[r2] == v[r]; r2++)
			;
		long long n = (long long)(r2 - r);
		if (v[r] == 0)
			*zero = n;
		else if (n > *next_tracks) /* ascending values: the first of a tie stays */
			*next_value = v[r], *next_tracks = n;
	}
	free(v);
	return 0;
}

static int find_popularity_zero(fctx *c)
{
	long long zero = 0, known = 0, next_value = -1, next_tracks = 0;
	int rc;
	if (c->f->popularity != NULL) {
		if ((rc = popularity_values_mem(c, &zero, &known, &next_value, &next_tracks)) < 0)
			return rc;
		goto judged;
	}
	sqlite3_stmt *st;
	rc = eda_sql_prepare(c->db, "findings.popularity_values", eda_sql_popularity_values, &st, c->err);
	if (rc < 0)
		return rc;
	int src;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		long long v = sqlite3_column_int64(st, 0), n = sqlite3_column_int64(st, 1);
		known += n;
		if (v == 0)
			zero = n;
		else if (next_value < 0) /* rows come most frequent first */
			next_value = v, next_tracks = n;
	}
	rc = eda_sql_done(c->db, "findings.popularity_values", src, c->err);
	sqlite3_finalize(st);
	if (rc < 0)
		return rc;
judged:
	if (c->queries &&
	    json_object_set_new(c->queries, "findings.popularity_values", jstr(eda_sql_popularity_values)) < 0)
		c->oom = 1;
	if (known < MIN_N || zero == 0 || (double)zero < ZERO_PILE_RATIO * (double)next_tracks)
		return 0;

	strbuf s = {0};
	put_int(&s, zero);
	strbuf_puts(&s, " of the ");
	put_int(&s, known);
	strbuf_puts(&s, " tracks with a popularity value (");
	put_share(&s, zero, known);
	strbuf_printf(&s, ") %s popularity exactly 0", zero == 1 ? "has" : "have");
	if (next_tracks > 0) {
		strbuf_printf(&s, ", %.1f times as many as the most common other value (%lld: ",
		              (double)zero / (double)next_tracks, next_value);
		put_int(&s, next_tracks);
		strbuf_puts(&s, next_tracks == 1 ? " track)" : " tracks)");
	}
	strbuf_puts(&s, ": a pile at 0 that weighs on popularity's mean and its correlations.");
	json_t *num = json_object();
	put(c, num, "zero", json_integer(zero));
	put(c, num, "with_popularity", json_integer(known));
	put(c, num, "share", jnum(share(zero, known)));
	put(c, num, "next_value", next_tracks > 0 ? json_integer(next_value) : json_null());
	put(c, num, "next_tracks", json_integer(next_tracks));
	put(c, num, "ratio", next_tracks > 0 ? jnum((double)zero / (double)next_tracks) : json_null());
	add(c, "popularity_zero", &s, num);
	strbuf_free(&s);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Skewed features                                                           */

static int cmp_skew(const void *x, const void *y, const eda_summary *st)
{
	int a = *(const int *)x, b = *(const int *)y;
	double u = fabs(st[a].skew), v = fabs(st[b].skew);
	if (u != v)
		return u < v ? 1 : -1;
	return a - b;
}

static void find_skewed(fctx *c)
{
	const eda_summary *st = c->f->stats;
	if (st == NULL)
		return;
	int idx[EDA_NFEAT];
	size_t n = 0;
	for (int i = 0; i < EDA_NFEAT; i++)
		if (st[i].count >= MIN_N && isfinite(st[i].skew) && fabs(st[i].skew) > SKEW_LIMIT)
			idx[n++] = i;
	if (n == 0)
		return;
	/* Most skewed first; an insertion sort, as there are at most EDA_NFEAT. */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && cmp_skew(&idx[j - 1], &idx[j], st) > 0; j--) {
			int t = idx[j];
			idx[j] = idx[j - 1];
			idx[j - 1] = t;
		}
	strbuf s = {0};
	json_t *num = json_object(), *feats = json_array();
	put(c, num, "threshold", json_real(SKEW_LIMIT));
	strbuf_printf(&s,
	              "Skewed features (sample skewness beyond +-%.0f, where a mean describes the typical track "
	              "badly): ",
	              SKEW_LIMIT);
	for (size_t k = 0; k < n; k++) {
		const eda_feature *fe = &eda_features[idx[k]];
		const eda_summary *x = &st[idx[k]];
		int right = x->skew > 0;
		if (k > 0)
			strbuf_puts(&s, "; ");
		/* With half the values or more at the extreme itself (instrumentalness
		 * 0), "at or below 0" would read oddly. */
		if (x->median == (right ? x->min : x->max))
			strbuf_printf(&s, "%s (%.2f): half the tracks or more are at ", fe->word, x->skew);
		else
			strbuf_printf(&s, "%s (%.2f): half the tracks are at or %s ", fe->word, x->skew,
			              right ? "below" : "above");
		put_value(&s, fe, x->median);
		strbuf_printf(&s, ", with a long tail of %s %s ", right ? fe->high : fe->low,
		              right ? "up to" : "down to");
		put_value(&s, fe, right ? x->max : x->min);
		json_t *o = json_object();
		put(c, o, "name", json_string(fe->name));
		put(c, o, "skewness", jnum(x->skew));
		put(c, o, "median", jnum(x->median));
		put(c, o, "min", jnum(x->min));
		put(c, o, "max", jnum(x->max));
		put(c, o, "n", json_integer((json_int_t)x->count));
		push(c, feats, o);
	}
	strbuf_puts(&s, ".");
	put(c, num, "features", feats);
	add(c, "skewed", &s, num);
	strbuf_free(&s);
}

/* ------------------------------------------------------------------------ */
/* Spoken word                                                               */

static int find_spoken(fctx *c)
{
	sqlite3_stmt *st = NULL;
	strbuf sql = {0}, s = {0};
	json_t *examples = NULL;
	long long total = 0;
	int rc = 0, src;
	if (c->f->speechiness != NULL) {
		/* The count of eda_sql_spoken_total, from the column the report read
		 * (a NULL speechiness is NAN, which compares false as NULL does). */
		for (size_t i = 0; i < c->f->n; i++)
			total += c->f->speechiness[i] > EDA_SPOKEN_SPEECHINESS;
	} else {
		rc = eda_sql_prepare(c->db, "findings.spoken_word", eda_sql_spoken_total, &st, c->err);
		if (rc < 0)
			goto out;
		src = sqlite3_step(st);
		if (src == SQLITE_ROW) {
			total = sqlite3_column_int64(st, 0);
			src = sqlite3_step(st);
		}
		rc = eda_sql_done(c->db, "findings.spoken_word", src, c->err);
		sqlite3_finalize(st);
		st = NULL;
		if (rc < 0)
			goto out;
	}
	if (c->queries && json_object_set_new(c->queries, "findings.spoken_word", jstr(eda_sql_spoken_total)) < 0)
		c->oom = 1;
	if (total == 0 || c->f->with_features <= 0)
		goto out;

	eda_sql_expand(&sql, eda_sql_spoken_examples, NULL, SPOKEN_EXAMPLES);
	if (sql.oom) {
		rc = seg_error_set(c->err, SEG_ENOMEM, "out of memory");
		goto out;
	}
	rc = eda_sql_prepare(c->db, "findings.spoken_word_examples", sql.data, &st, c->err);
	if (rc < 0)
		goto out;
	put_int(&s, total);
	strbuf_printf(&s, " %s (", total == 1 ? "track" : "tracks");
	put_share(&s, total, c->f->with_features);
	strbuf_printf(&s,
	              " of those with audio features) %s speechiness above %s, which Spotify documents as probably "
	              "made entirely of spoken words: probably not music (audiobooks, podcasts, comedy)",
	              total == 1 ? "has" : "have", EDA_STR(EDA_SPOKEN_SPEECHINESS));
	examples = json_array();
	size_t k = 0;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		const char *artist = (const char *)sqlite3_column_text(st, 0);
		long long n = sqlite3_column_int64(st, 1);
		const char *example = (const char *)sqlite3_column_text(st, 2);
		strbuf_puts(&s, k == 0 ? ". The artists with the most: " : ", ");
		put_name(&s, artist, 0);
		strbuf_printf(&s, " (%lld%s, e.g. ", n, k == 0 ? (n == 1 ? " track" : " tracks") : "");
		put_name(&s, example, 1);
		strbuf_putc(&s, ')');
		json_t *o = json_object();
		put(c, o, "artist", jstr(artist));
		put(c, o, "tracks", json_integer(n));
		put(c, o, "example", jstr(example));
		push(c, examples, o);
		k++;
	}
	rc = eda_sql_done(c->db, "findings.spoken_word_examples", src, c->err);
	if (rc < 0)
		goto out;
	if (c->queries && json_object_set_new(c->queries, "findings.spoken_word_examples", jstr(strbuf_cstr(&sql))) < 0)
		c->oom = 1;
	strbuf_puts(&s, ".");
	json_t *num = json_object();
	put(c, num, "tracks", json_integer(total));
	put(c, num, "with_features", json_integer(c->f->with_features));
	put(c, num, "share", jnum(share(total, c->f->with_features)));
	put(c, num, "threshold", json_real(EDA_SPOKEN_SPEECHINESS));
	put(c, num, "examples", examples);
	examples = NULL;
	add(c, "spoken_word", &s, num);
out:
	sqlite3_finalize(st);
	json_decref(examples);
	strbuf_free(&sql);
	strbuf_free(&s);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* The catalogue's make-up                                                   */

static void find_without_features(fctx *c)
{
	const eda_facts *f = c->f;
	long long without = f->tracks - f->with_features;
	if (f->tracks <= 0 || without <= 0)
		return;
	strbuf s = {0};
	put_int(&s, without);
	strbuf_puts(&s, " of the ");
	put_int(&s, f->tracks);
	strbuf_puts(&s, " tracks (");
	put_share(&s, without, f->tracks);
	strbuf_printf(&s,
	              ") %s no audio features: known only from playlists, content-based models cannot recommend "
	              "them (collaborative filtering can).",
	              without == 1 ? "has" : "have");
	json_t *num = json_object();
	put(c, num, "without_features", json_integer(without));
	put(c, num, "tracks", json_integer(f->tracks));
	put(c, num, "share", jnum(share(without, f->tracks)));
	add(c, "without_features", &s, num);
	strbuf_free(&s);
}

static int find_merged(fctx *c)
{
	sqlite3_stmt *st;
	int rc = eda_sql_prepare(c->db, "findings.ingest_totals", eda_sql_ingest_totals, &st, c->err);
	if (rc < 0)
		return rc;
	long long rows = 0, merged = 0;
	int src = sqlite3_step(st);
	if (src == SQLITE_ROW) {
		rows = sqlite3_column_int64(st, 0);
		merged = sqlite3_column_int64(st, 1);
		src = sqlite3_step(st);
	}
	rc = eda_sql_done(c->db, "findings.ingest_totals", src, c->err);
	sqlite3_finalize(st);
	if (rc < 0)
		return rc;
	if (c->queries && json_object_set_new(c->queries, "findings.ingest_totals", jstr(eda_sql_ingest_totals)) < 0)
		c->oom = 1;
	if (merged <= 0 || rows <= 0)
		return 0;
	strbuf s = {0};
	put_int(&s, merged);
	strbuf_puts(&s, " of the ");
	put_int(&s, rows);
	strbuf_puts(&s, " track rows ingest accepted (");
	put_share(&s, merged, rows);
	strbuf_printf(&s,
	              ") repeated a Spotify id already in the catalogue and %s merged into that track: the first "
	              "value of each field wins.",
	              merged == 1 ? "was" : "were");
	json_t *num = json_object();
	put(c, num, "merged", json_integer(merged));
	put(c, num, "track_rows", json_integer(rows));
	put(c, num, "share", jnum(share(merged, rows)));
	add(c, "merged_duplicates", &s, num);
	strbuf_free(&s);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Public                                                                    */

int eda_findings_build(sqlite3 *db, const eda_facts *facts, json_t **out, json_t *queries, seg_error *err)
{
	*out = NULL;
	fctx c = {.db = db, .f = facts, .arr = json_array(), .queries = queries, .err = err};
	int rc = 0;
	find_correlations(&c);
	find_popularity_missing(&c);
	rc = find_popularity_zero(&c);
	if (rc == 0)
		find_skewed(&c);
	if (rc == 0)
		rc = find_spoken(&c);
	if (rc == 0)
		find_without_features(&c);
	if (rc == 0)
		rc = find_merged(&c);
	if (rc == 0 && c.oom)
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory while writing the findings");
	if (rc < 0) {
		json_decref(c.arr);
		return rc;
	}
	*out = c.arr;
	return 0;
}

void eda_findings_html(strbuf *h, const json_t *findings)
{
	strbuf sql = {0};
	strbuf_puts(&sql, eda_sql_popularity_values);
	strbuf_puts(&sql, ";\n");
	strbuf_puts(&sql, eda_sql_spoken_total);
	strbuf_puts(&sql, ";\n");
	strbuf tmp = {0};
	eda_sql_expand(&tmp, eda_sql_spoken_examples, NULL, SPOKEN_EXAMPLES);
	strbuf_puts(&sql, strbuf_cstr(&tmp));
	strbuf_puts(&sql, ";\n");
	strbuf_puts(&sql, eda_sql_ingest_totals);
	strbuf_puts(&sql, ";\n-- and the figures of the sections below");
	strbuf_free(&tmp);

	eda_html_figure_open(h, "plain");
	size_t n = json_array_size(findings);
	if (n == 0) {
		eda_html_empty(h, "Nothing stands out: no figure of this catalogue passes a finding's threshold "
		                  "(it may have too few tracks with audio features to say anything).");
	} else {
		strbuf_puts(h, "<ul class=\"findings\">");
		for (size_t i = 0; i < n; i++) {
			const json_t *o = json_array_get(findings, i);
			const char *kind = json_string_value(json_object_get(o, "kind"));
			strbuf_puts(h, "<li data-kind=\"");
			strbuf_xml(h, kind ? kind : "");
			strbuf_puts(h, "\">");
			const char *sentence = json_string_value(json_object_get(o, "sentence"));
			strbuf_xml(h, sentence ? sentence : "");
			strbuf_puts(h, "</li>");
		}
		strbuf_puts(h, "</ul>");
	}
	eda_html_figure_close(h, strbuf_cstr(&sql));
	if (sql.oom)
		h->oom = 1;
	strbuf_free(&sql);
}
