/* eda.c: the exploratory report (see eda.h). Every figure is driven by one SQL
 * query from the table in eda_sql.c, and the page shows that SQL under the
 * figure so that an analyst can re-run it with `segue sql`. Binning, grouping
 * and averaging happen in SQL where SQL says it clearly; C computes what SQL
 * says badly (quartiles, Pearson correlations, equal-count bins). Where C needs
 * rows in order it sorts them itself: qsort of doubles is several times faster
 * than SQLite's general-purpose sorter on a million rows. */
#include "report/eda.h"

#include <assert.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog/workspace.h"
#include "core/array.h"
#include "core/container.h"
#include "core/progress.h"
#include "core/utf8.h"
#include "report/eda_findings.h"
#include "report/eda_html.h"
#include "report/eda_sql.h"
#include "report/eda_stats.h"
#include "report/svg.h"

/* ------------------------------------------------------------------------ */
/* Context                                                                   */

/* Summary statistics of one feature over the tracks with features where it
 * is known, and how many of those tracks lack it. */
typedef struct feat_stats {
	eda_summary s;
	long long missing;
} feat_stats;

/* The numeric columns of the tracks with audio features, read by one scan of
 * the tracks table (cols_load) the first time a section needs them, and then
 * shared by the summary statistics, histograms, correlations, popularity
 * scatters, keys and time signatures. Each of those used to scan the table
 * itself, once per feature: about 40 scans of a million rows. The values are
 * SQLite's doubles, in rowid order (the order the per-section queries read
 * them in), so every figure is bit-for-bit what the SQL shown under it gives;
 * the float32 feature snapshot would not be. NULL is NAN (SQLite never
 * stores a NaN). Columns 0..EDA_NFEAT-1 are eda_features[].expr. */
enum { COL_KEY = EDA_NFEAT, COL_MODE, COL_TIMESIG, COL_DURATION_MS, NCOLS };
typedef struct eda_cols {
	size_t n;         /* tracks with features */
	double *v[NCOLS]; /* [NCOLS][n] */
	int loaded;
} eda_cols;

typedef struct eda_ctx {
	sqlite3 *db;
	eda_opts o;
	strbuf *html;        /* the sections of the page being written */
	json_t *summary;     /* summary.json */
	json_t *queries;     /* summary["queries"]: name -> SQL */
	json_t *charts_json; /* summary["charts"]: [{name, title, sql}] in page order */
	eda_charts charts;   /* copies of the charts with their SVG, when the caller
	                    * asked for them (want_charts) */
	size_t charts_cap;   /* slots allocated in charts.v */
	int want_charts;
	seg_error *err;
	int oom;             /* a jansson allocation failed */
	long long counts[8]; /* the overview counts, in the order of the "counts" query */
	feat_stats stats[EDA_NFEAT];
	int have_stats;
	double corr_r[EDA_NFEAT * EDA_NFEAT];    /* [D][D] the correlation matrix, for the findings */
	long long corr_n[EDA_NFEAT * EDA_NFEAT]; /* [D][D] pairs behind each r */
	int have_corr;
	eda_cols cols; /* see eda_cols */
} eda_ctx;

enum { C_TRACKS, C_WITH_FEATURES, C_ARTISTS, C_GENRES, C_PLAYLISTS, C_ENTRIES, C_INGESTS, C_SYNTHETIC };

static void jset(eda_ctx *c, json_t *obj, const char *key, json_t *v)
{
	if (v == NULL || obj == NULL || json_object_set_new(obj, key, v) < 0)
		c->oom = 1;
}

static void jappend(eda_ctx *c, json_t *arr, json_t *v)
{
	if (v == NULL || arr == NULL || json_array_append_new(arr, v) < 0)
		c->oom = 1;
}

/* A JSON string of s, made valid UTF-8 first. */
static json_t *jstr(const char *s)
{
	strbuf tmp = {0};
	json_t *j = json_string(utf8_clean(s, &tmp));
	strbuf_free(&tmp);
	return j;
}

/* A JSON number, or null for NaN and infinities (JSON has no such numbers). */
static json_t *jnum(double v) { return isfinite(v) ? json_real(v) : json_null(); }

/* The query helpers of eda_sql.h on the context's catalogue and error. */
static int prepare(eda_ctx *c, const char *name, const char *sql, sqlite3_stmt **st)
{
	return eda_sql_prepare(c->db, name, sql, st, c->err);
}

static int step_done(eda_ctx *c, const char *name, int rc) { return eda_sql_done(c->db, name, rc, c->err); }

/* Records the SQL of a figure in summary["queries"]. */
static void note_query(eda_ctx *c, const char *key, const char *sql) { jset(c, c->queries, key, jstr(sql)); }

/* Appends a chart; svg_* errors other than out-of-memory are bugs in the caller. */
static int chart_rc(eda_ctx *c, int rc)
{
	if (rc == SEG_ENOMEM)
		return seg_error_set(c->err, SEG_ENOMEM, "out of memory while drawing the report");
	if (rc < 0)
		return seg_error_set(c->err, rc, "internal error drawing a chart: %s", seg_strerror(rc));
	return 0;
}

/* Writes the name of a chart, prefix and suffix (may be NULL) joined by '-',
 * with the '_' of feature names turned into '-' as well, so that names read
 * alike in URLs ("hist-duration-min"). */
static void chart_name(char *out, size_t cap, const char *prefix, const char *suffix)
{
	snprintf(out, cap, "%s%s%s", prefix, suffix ? "-" : "", suffix ? suffix : "");
	for (char *p = out; *p; p++)
		if (*p == '_')
			*p = '-';
}

/* Records the chart that was just drawn into c->html from offset `start` on:
 * its entry in summary["charts"] and, when the caller wants them, a copy with
 * its SVG in c->charts. Returns 0 or SEG_ENOMEM; a name that is not URL-safe
 * or not unique is a bug here, reported as SEG_EINVAL. */
static int keep_chart(eda_ctx *c, const char *name, const char *title, const char *sql, size_t start)
{
	eda_chart ch;
	memset(&ch, 0, sizeof(ch));
	size_t nlen = strlen(name);
	if (nlen == 0 || nlen >= sizeof ch.name || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-") != nlen)
		return seg_error_set(c->err, SEG_EINVAL, "internal error: bad chart name %s", name);
	for (size_t i = 0; i < json_array_size(c->charts_json); i++) {
		const char *other = json_string_value(json_object_get(json_array_get(c->charts_json, i), "name"));
		if (other && strcmp(other, name) == 0)
			return seg_error_set(c->err, SEG_EINVAL, "internal error: two charts named %s", name);
	}
	snprintf(ch.name, sizeof ch.name, "%s", name);
	snprintf(ch.title, sizeof ch.title, "%s", title ? title : "");
	json_t *o = json_object();
	jset(c, o, "name", json_string(ch.name));
	jset(c, o, "title", jstr(ch.title));
	jset(c, o, "sql", jstr(sql));
	jappend(c, c->charts_json, o);
	if (!c->want_charts)
		return 0;

	assert(start <= c->html->len);
	eda_chart *v = array_grow(c->charts.v, &c->charts_cap, c->charts.n + 1, sizeof(*v), 32);
	if (v == NULL)
		return seg_error_set(c->err, SEG_ENOMEM, "out of memory");
	c->charts.v = v;
	ch.sql = strdup(sql ? sql : "");
	ch.svg = strndup(strbuf_cstr(c->html) + start, c->html->len - start);
	if (ch.sql == NULL || ch.svg == NULL) {
		free(ch.sql);
		free(ch.svg);
		return seg_error_set(c->err, SEG_ENOMEM, "out of memory");
	}
	c->charts.v[c->charts.n++] = ch;
	return 0;
}

/* A growable array of doubles. */
typedef struct dvec {
	double *v;
	size_t n, cap;
} dvec;

static int dvec_push(dvec *a, double x)
{
	double *p = array_grow(a->v, &a->cap, a->n + 1, sizeof(*p), 1024);
	if (p == NULL)
		return SEG_ENOMEM;
	a->v = p;
	a->v[a->n++] = x;
	return 0;
}

static void dvec_free(dvec *a)
{
	free(a->v);
	memset(a, 0, sizeof(*a));
}

static void cols_free(eda_cols *t)
{
	for (int k = 0; k < NCOLS; k++)
		free(t->v[k]);
	memset(t, 0, sizeof(*t));
}

/* Reads the columns once (see eda_cols); later calls return at once. */
static int cols_load(eda_ctx *c)
{
	eda_cols *t = &c->cols;
	if (t->loaded)
		return 0;
	strbuf sql = {0};
	strbuf_puts(&sql, "SELECT ");
	for (int f = 0; f < EDA_NFEAT; f++)
		strbuf_printf(&sql, "%s, ", eda_features[f].expr);
	strbuf_puts(&sql, "key, mode, time_signature, duration_ms FROM tracks WHERE has_features = 1");
	if (sql.oom)
		return seg_error_set(c->err, SEG_ENOMEM, "out of memory");
	sqlite3_stmt *st;
	int rc = prepare(c, "track_columns", sql.data, &st);
	strbuf_free(&sql);
	if (rc < 0)
		return rc;
	size_t cap = c->counts[C_WITH_FEATURES] > 0 ? (size_t)c->counts[C_WITH_FEATURES] : 1024;
	for (int k = 0; k < NCOLS && rc == 0; k++)
		if ((t->v[k] = malloc(cap * sizeof(double))) == NULL)
			rc = SEG_ENOMEM;
	int src = SQLITE_OK;
	while (rc == 0 && (src = sqlite3_step(st)) == SQLITE_ROW) {
		if (t->n == cap) { /* an ingest since the counts were read */
			cap *= 2;
			for (int k = 0; k < NCOLS && rc == 0; k++) {
				double *p = realloc(t->v[k], cap * sizeof(double));
				if (p == NULL)
					rc = SEG_ENOMEM;
				else
					t->v[k] = p;
			}
			if (rc < 0)
				break;
		}
		for (int k = 0; k < NCOLS; k++)
			t->v[k][t->n] = eda_sql_double(st, k);
		t->n++;
	}
	if (rc == SEG_ENOMEM)
		rc = seg_error_set(c->err, SEG_ENOMEM, "out of memory reading the tracks' features");
	else
		rc = step_done(c, "track_columns", src);
	sqlite3_finalize(st);
	if (rc < 0) {
		cols_free(t);
		return rc;
	}
	t->loaded = 1;
	return 0;
}

/* The histogram bin of row i of feature fe (its column col): fe->bin in C. Each must
 * give what its SQL gives (SQLite's CAST(x AS INT) truncates toward zero, as
 * a C cast does; duration_ms and popularity are INTEGER columns, whose
 * integer division truncates as the double division then the cast do for
 * any value below 2^53). test_eda's test_hist_is_the_sql runs each
 * histogram's SQL and compares. */
static long long feat_bin(const eda_cols *t, const eda_feature *fe, const double *col, size_t i)
{
	double x = col[i];
	long long b;
	if (fe->unit) {
		b = (long long)(x * 20);
		return b < 19 ? b : 19;
	}
	if (strcmp(fe->name, "loudness") == 0)
		return (long long)(((x > -60 ? x : -60) + 60) / 2);
	if (strcmp(fe->name, "tempo") == 0) {
		b = (long long)(x / 5);
		return b < 59 ? b : 59;
	}
	if (strcmp(fe->name, "duration_min") == 0) {
		b = (long long)(t->v[COL_DURATION_MS][i] / 30000);
		return b < 23 ? b : 23;
	}
	b = (long long)(x / 5); /* popularity */
	return b < 19 ? b : 19;
}

static int cmp_ll(const void *a, const void *b);

/* Sorts v[n] ascending: by counting when its values span a few thousand
 * (every histogram's bins do), else by qsort. */
static void sort_small_range(long long *v, size_t n)
{
	enum { SPAN = 4096 };
	if (n == 0)
		return;
	long long lo = v[0], hi = v[0];
	for (size_t i = 1; i < n; i++) {
		lo = v[i] < lo ? v[i] : lo;
		hi = v[i] > hi ? v[i] : hi;
	}
	if (hi - lo >= SPAN || hi - lo < 0) {
		qsort(v, n, sizeof(*v), cmp_ll);
		return;
	}
	size_t cnt[SPAN] = {0};
	for (size_t i = 0; i < n; i++)
		cnt[v[i] - lo]++;
	size_t k = 0;
	for (long long b = 0; b <= hi - lo; b++)
		for (size_t j = 0; j < cnt[b]; j++)
			v[k++] = lo + b;
}

/* The column of the feature called `name`, or NULL. */
static const double *cols_feature(const eda_cols *t, const char *name)
{
	for (int f = 0; f < EDA_NFEAT; f++)
		if (strcmp(eda_features[f].name, name) == 0)
			return t->v[f];
	return NULL;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return (x > y) - (x < y);
}

/* ------------------------------------------------------------------------ */
/* Overview                                                                  */

/* clang-format off */
static const char *const COUNT_LABELS[8] = {
	"tracks", "tracks with audio features", "artists", "genres",
	"playlists", "playlist entries", "ingested files", "synthetic tracks",
};
/* clang-format on */

static int sec_counts(eda_ctx *c, const eda_query *q)
{
	sqlite3_stmt *st;
	int rc = prepare(c, q->name, q->sql, &st);
	if (rc < 0)
		return rc;
	int src = sqlite3_step(st);
	if (src == SQLITE_ROW) {
		for (int i = 0; i < 8; i++)
			c->counts[i] = sqlite3_column_int64(st, i);
		src = sqlite3_step(st);
	}
	rc = step_done(c, q->name, src);
	json_t *counts = json_object();
	for (int i = 0; i < 8; i++)
		jset(c, counts, sqlite3_column_name(st, i), json_integer(c->counts[i]));
	jset(c, c->summary, "counts", counts);
	jset(c, c->summary, "synthetic", json_boolean(c->counts[C_SYNTHETIC] > 0));
	sqlite3_finalize(st);
	if (rc < 0)
		return rc;
	note_query(c, q->name, q->sql);

	strbuf *h = c->html;
	eda_html_figure_open(c->html, "plain");
	strbuf_puts(h, "<div class=\"cards\">");
	for (int i = 0; i < 8; i++) {
		if (i == C_SYNTHETIC && c->counts[i] == 0)
			continue;
		strbuf_puts(h, "<div class=\"card\"><b>");
		eda_html_int(h, c->counts[i]);
		strbuf_printf(h, "</b>%s</div>", COUNT_LABELS[i]);
	}
	strbuf_puts(h, "</div>");
	if (c->counts[C_TRACKS] == 0)
		eda_html_empty(c->html, "The catalogue has no tracks yet; run `segue ingest` to add some.");
	eda_html_figure_close(c->html, q->sql);
	return 0;
}

static int sec_table(eda_ctx *c, const eda_query *q)
{
	strbuf sql = {0};
	eda_sql_expand(&sql, q->sql, NULL, c->o.reject_examples);
	if (sql.oom)
		return seg_error_set(c->err, SEG_ENOMEM, "out of memory");
	strbuf_puts(c->html, "<h3>");
	strbuf_xml(c->html, q->title);
	strbuf_puts(c->html, "</h3>");
	eda_html_figure_open(c->html, "plain");
	long long n = 0;
	int rc = eda_html_table(c->html, c->db, q->name, sql.data, q->empty, &n, c->err);
	if (rc == 0) {
		eda_html_figure_close(c->html, sql.data);
		note_query(c, q->name, sql.data);
	}
	strbuf_free(&sql);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Feature statistics and histograms                                         */

static int sec_stats(eda_ctx *c, const eda_query *q)
{
	strbuf sql = {0}, all = {0};
	dvec x = {0};
	int rc = 0;
	json_t *features = json_object();
	for (size_t f = 0; f < EDA_NFEAT && rc == 0; f++) {
		const eda_feature *fe = &eda_features[f];
		eda_sql_expand(&sql, q->sql, fe, 0);
		if (sql.oom) {
			rc = seg_error_set(c->err, SEG_ENOMEM, "out of memory");
			break;
		}
		/* The rows of the SQL above, from the columns read once. */
		if ((rc = cols_load(c)) < 0)
			break;
		x.n = 0;
		for (size_t i = 0; i < c->cols.n && rc == 0; i++)
			if (!isnan(c->cols.v[f][i]) && dvec_push(&x, c->cols.v[f][i]) < 0)
				rc = seg_error_set(c->err, SEG_ENOMEM, "out of memory reading %s", fe->name);
		if (rc < 0)
			break;

		feat_stats *fs = &c->stats[f];
		const eda_summary *s = &fs->s;
		eda_stats_summarize(x.v, x.n, &fs->s);
		fs->missing = c->counts[C_WITH_FEATURES] - (long long)s->count;

		json_t *o = json_object();
		jset(c, o, "count", json_integer((json_int_t)s->count));
		jset(c, o, "missing", json_integer(fs->missing));
		jset(c, o, "mean", jnum(s->mean));
		jset(c, o, "std", jnum(s->std));
		jset(c, o, "min", jnum(s->min));
		jset(c, o, "p25", jnum(s->p25));
		jset(c, o, "median", jnum(s->median));
		jset(c, o, "p75", jnum(s->p75));
		jset(c, o, "max", jnum(s->max));
		jset(c, o, "skewness", jnum(s->skew));
		jset(c, features, fe->name, o);

		char key[64];
		snprintf(key, sizeof key, "%s.%s", q->name, fe->name);
		note_query(c, key, sql.data);
		strbuf_puts(&all, sql.data);
		strbuf_puts(&all, ";\n");
	}
	jset(c, c->summary, "features", features);
	if (rc == 0) {
		c->have_stats = 1;
		strbuf *h = c->html;
		strbuf_puts(h, "<h3>");
		strbuf_xml(h, q->title);
		strbuf_puts(h, "</h3>");
		eda_html_figure_open(c->html, "plain");
		if (c->counts[C_WITH_FEATURES] == 0) {
			eda_html_empty(c->html, "No tracks with audio features yet.");
		} else {
			strbuf_puts(h, "<div class=\"tw\"><table class=\"stats\"><thead><tr><th>feature</th>"
			               "<th>count</th><th>missing</th><th>mean</th><th>std</th><th>min</th>"
			               "<th>25%</th><th>median</th><th>75%</th><th>max</th></tr></thead><tbody>");
			for (size_t f = 0; f < EDA_NFEAT; f++) {
				const eda_summary *s = &c->stats[f].s;
				strbuf_puts(h, "<tr><td>");
				strbuf_xml(h, eda_features[f].name);
				strbuf_puts(h, "</td><td class=\"n\">");
				eda_html_int(h, (long long)s->count);
				strbuf_puts(h, "</td><td class=\"n\">");
				eda_html_int(h, c->stats[f].missing);
				const double v[7] = {s->mean, s->std, s->min, s->p25, s->median, s->p75, s->max};
				for (int i = 0; i < 7; i++) {
					strbuf_puts(h, "</td><td class=\"n\">");
					eda_html_double(h, v[i], 4);
				}
				strbuf_puts(h, "</td></tr>");
			}
			strbuf_puts(h, "</tbody></table></div>");
		}
		eda_html_figure_close(c->html, strbuf_cstr(&all));
	}
	strbuf_free(&sql);
	strbuf_free(&all);
	dvec_free(&x);
	return rc;
}

enum { HIST_MAX_BINS = 400 };

/* One histogram of feature f from query q. */
static int hist_one(eda_ctx *c, const eda_query *q, const eda_feature *fe, strbuf *sql)
{
	eda_sql_expand(sql, q->sql, fe, 0);
	if (sql->oom)
		return seg_error_set(c->err, SEG_ENOMEM, "out of memory");
	/* The SQL's rows, (bin, tracks) in bin order, from the columns read once:
	 * the bins of the known values, sorted and counted by run. */
	int rc = cols_load(c);
	if (rc < 0)
		return rc;
	const eda_cols *t = &c->cols;
	int f = (int)(fe - eda_features);
	long long *bins = malloc((t->n ? t->n : 1) * sizeof(*bins));
	if (bins == NULL)
		return seg_error_set(c->err, SEG_ENOMEM, "out of memory");
	size_t nv = 0;
	const double *col = t->v[f];
	for (size_t i = 0; i < t->n; i++)
		if (!isnan(col[i]))
			bins[nv++] = feat_bin(t, fe, col, i);
	sort_small_range(bins, nv);
	long long first = 0;
	size_t nb = 0;
	double counts[HIST_MAX_BINS];
	if (fe->fixed_bins > 0) {
		nb = (size_t)fe->fixed_bins;
		for (size_t i = 0; i < nb; i++)
			counts[i] = 0;
	}
	for (size_t r = 0, r2; r < nv; r = r2) {
		for (r2 = r; r2 < nv && bins[r2] == bins[r]; r2++)
			;
		long long b = bins[r];
		double n = (double)(r2 - r);
		if (nb == 0) {
			first = b;
			nb = 1;
			counts[0] = 0;
		}
		long long k = b - first;
		if (k >= HIST_MAX_BINS)
			k = HIST_MAX_BINS - 1; /* absurd values pile up in the end bins */
		if (k < 0)
			k = 0;
		while (nb <= (size_t)k)
			counts[nb++] = 0;
		counts[k] += n;
	}
	free(bins);
	double edges[HIST_MAX_BINS + 1];
	for (size_t i = 0; i <= nb; i++)
		edges[i] = fe->origin + fe->width * (double)(first + (long long)i);

	strbuf title = {0};
	eda_sql_expand(&title, q->title, fe, 0);
	svg_opts o = {0};
	o.title = strbuf_cstr(&title);
	o.x_label = fe->label;
	o.y_label = "tracks";
	o.width = eda_sections[q->section].chart_w;
	o.height = o.width * 25 / 36;
	eda_html_figure_open(c->html, NULL);
	size_t start = c->html->len;
	rc = chart_rc(c, svg_histogram(c->html, &o, edges, counts, nb));
	if (rc == 0) {
		char name[64];
		chart_name(name, sizeof name, "hist", fe->name);
		rc = keep_chart(c, name, o.title, sql->data, start);
	}
	strbuf_free(&title);
	if (rc < 0)
		return rc;
	if (fe->note && nb > 0 && first + (long long)nb - 1 >= fe->last_bin)
		eda_html_caption(c->html, fe->note);
	eda_html_figure_close(c->html, sql->data);
	char key[64];
	snprintf(key, sizeof key, "%s.%s", "histogram", fe->name);
	note_query(c, key, sql->data);
	return 0;
}

static int sec_hist(eda_ctx *c, const eda_query *q)
{
	strbuf sql = {0};
	int rc = 0;
	if (c->counts[C_WITH_FEATURES] == 0) {
		if (q->section == EDA_SEC_FEATURES)
			eda_html_empty(c->html, "No tracks with audio features yet, so there is nothing to plot.");
		return 0;
	}
	int own_grid = eda_sections[q->section].grid == NULL;
	if (own_grid)
		strbuf_puts(c->html, "<div class=\"grid\">");
	for (size_t f = 0; f < EDA_NFEAT && rc == 0; f++)
		if (eda_features[f].hist_section == q->section)
			rc = hist_one(c, q, &eda_features[f], &sql);
	if (own_grid)
		strbuf_puts(c->html, "</div>");
	strbuf_free(&sql);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Correlations                                                              */

static int sec_corr(eda_ctx *c, const eda_query *q)
{
	enum { D = EDA_NFEAT };
	/* Pairwise-complete: each pair of features over the rows where both are known. */
	eda_pearson acc[EDA_NFEAT][EDA_NFEAT]; /* [D][D], upper triangle used */
	memset(acc, 0, sizeof(acc));
	/* The SQL's rows in its order, from the columns read once. */
	int rc = cols_load(c);
	if (rc < 0)
		return rc;
	for (size_t row = 0; row < c->cols.n; row++) {
		double v[D];
		for (int i = 0; i < D; i++)
			v[i] = c->cols.v[i][row];
		for (int i = 0; i < D; i++) {
			if (isnan(v[i]))
				continue;
			for (int j = i + 1; j < D; j++) {
				if (isnan(v[j]))
					continue;
				eda_stats_pearson_add(&acc[i][j], v[i], v[j]);
			}
		}
	}
	note_query(c, q->name, q->sql);

	double r[D * D]; /* [D][D] */
	int any = 0;
	for (int i = 0; i < D; i++) {
		r[i * D + i] = NAN;
		for (int j = i + 1; j < D; j++) {
			double v = eda_stats_pearson(&acc[i][j]);
			any |= !isnan(v);
			r[i * D + j] = r[j * D + i] = v;
		}
	}
	/* The diagonal is 1 where the feature varies at all. */
	for (int i = 0; i < D; i++)
		for (int j = 0; j < D; j++)
			if (j != i && isfinite(r[i * D + j]))
				r[i * D + i] = 1;
	memcpy(c->corr_r, r, sizeof r);
	for (int i = 0; i < D; i++)
		for (int j = 0; j < D; j++)
			c->corr_n[i * D + j] = (long long)(i < j ? acc[i][j].n : j < i ? acc[j][i].n : 0);
	c->have_corr = 1;

	json_t *corr = json_object(), *names = json_array(), *matrix = json_array();
	const char *labels[D];
	for (int i = 0; i < D; i++) {
		labels[i] = eda_features[i].name;
		jappend(c, names, json_string(eda_features[i].name));
		json_t *row = json_array();
		for (int j = 0; j < D; j++)
			jappend(c, row, jnum(r[i * D + j]));
		jappend(c, matrix, row);
	}
	jset(c, corr, "features", names);
	jset(c, corr, "matrix", matrix);
	jset(c, c->summary, "correlations", corr);

	eda_html_figure_open(c->html, "wide");
	if (!any) {
		eda_html_empty(c->html, "Not enough tracks with audio features to correlate.");
	} else {
		svg_matrix m = {labels, NULL, D, D, r, -1, 1};
		svg_opts o = {0};
		o.title = q->title;
		o.width = 720;
		o.value_labels = 1;
		size_t start = c->html->len;
		rc = chart_rc(c, svg_heatmap(c->html, &o, &m));
		if (rc == 0)
			rc = keep_chart(c, "corr-heatmap", o.title, q->sql, start);
		if (rc < 0)
			return rc;
	}
	eda_html_figure_close(c->html, q->sql);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Genre profiles                                                            */

enum { PROFILE_MAX = 32 };

static int sec_profile(eda_ctx *c, const eda_query *q)
{
	strbuf sql = {0};
	int limit = c->o.profile_genres > PROFILE_MAX ? PROFILE_MAX : c->o.profile_genres;
	eda_sql_expand(&sql, q->sql, NULL, limit);
	if (sql.oom)
		return seg_error_set(c->err, SEG_ENOMEM, "out of memory");
	sqlite3_stmt *st;
	int rc = prepare(c, q->name, sql.data, &st);
	if (rc < 0) {
		strbuf_free(&sql);
		return rc;
	}
	char *names[PROFILE_MAX];
	double vals[PROFILE_MAX][EDA_NUNIT]; /* [genres][unit features] */
	size_t ng = 0;
	json_t *arr = json_array();
	int src;
	while ((src = sqlite3_step(st)) == SQLITE_ROW && ng < PROFILE_MAX) {
		const char *g = (const char *)sqlite3_column_text(st, 0);
		names[ng] = strdup(g ? g : "");
		if (names[ng] == NULL) {
			src = SQLITE_NOMEM;
			break;
		}
		json_t *o = json_object();
		jset(c, o, "genre", jstr(names[ng]));
		jset(c, o, "tracks", json_integer(sqlite3_column_int64(st, 1)));
		for (int k = 0; k < EDA_NUNIT; k++) {
			vals[ng][k] = eda_sql_double(st, 2 + k);
			jset(c, o, eda_features[k].name, jnum(vals[ng][k]));
		}
		jappend(c, arr, o);
		ng++;
	}
	if (src == SQLITE_ROW)
		src = SQLITE_DONE; /* more rows than PROFILE_MAX cannot happen with the LIMIT */
	rc = src == SQLITE_NOMEM ? seg_error_set(c->err, SEG_ENOMEM, "out of memory") : step_done(c, q->name, src);
	sqlite3_finalize(st);
	jset(c, c->summary, "genre_profiles", arr);
	if (rc == 0) {
		note_query(c, q->name, sql.data);
		eda_html_figure_open(c->html, "wide");
		if (ng == 0) {
			eda_html_empty(c->html, "No genres with tracks that have audio features.");
		} else {
			/* Series are genres, categories the features: [genres][features] is
			 * already one row of values per series. */
			const char *cats[EDA_NUNIT];
			svg_series series[PROFILE_MAX];
			for (int k = 0; k < EDA_NUNIT; k++)
				cats[k] = eda_features[k].name;
			for (size_t g = 0; g < ng; g++) {
				series[g].name = names[g];
				series[g].values = vals[g];
			}
			svg_opts o = {0};
			o.title = q->title;
			o.y_label = "mean (0-1)";
			o.width = 720;
			o.height = 400;
			o.y_fixed = 1;
			o.y_min = 0;
			o.y_max = 1;
			size_t start = c->html->len;
			rc = chart_rc(c, svg_lines(c->html, &o, cats, EDA_NUNIT, series, ng));
			if (rc == 0)
				rc = keep_chart(c, "profile-genres", o.title, sql.data, start);
			/* The same numbers as a table of colours, easier to read exactly. */
			svg_matrix m = {(const char *const *)names, cats, ng, EDA_NUNIT, &vals[0][0], 0, 1};
			svg_opts ho = {0};
			ho.title = "The same means, genre by feature";
			ho.width = 720;
			ho.value_labels = 1;
			start = c->html->len;
			if (rc == 0)
				rc = chart_rc(c, svg_heatmap(c->html, &ho, &m));
			if (rc == 0)
				rc = keep_chart(c, "profile-genres-heatmap", ho.title, sql.data, start);
		}
		if (rc == 0)
			eda_html_figure_close(c->html, sql.data);
	}
	for (size_t g = 0; g < ng; g++)
		free(names[g]);
	strbuf_free(&sql);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Popularity against features                                               */

enum { NDECILES = 10 };

static int scatter_one(eda_ctx *c, const eda_query *q, size_t f, strbuf *sql, json_t *out)
{
	const eda_feature *fe = &eda_features[f];
	eda_sql_expand(sql, q->sql, fe, 0);
	if (sql->oom)
		return seg_error_set(c->err, SEG_ENOMEM, "out of memory");
	/* The SQL's rows, from the columns read once. */
	int rc = cols_load(c);
	if (rc < 0)
		return rc;
	dvec x = {0}, y = {0}; /* [n] each; sorted by (x, y) below */
	const double *cx = c->cols.v[f], *cy = c->cols.v[EDA_FEAT_POPULARITY];
	for (size_t i = 0; i < c->cols.n && rc == 0; i++)
		if (!isnan(cx[i]) && !isnan(cy[i]) && (dvec_push(&x, cx[i]) < 0 || dvec_push(&y, cy[i]) < 0))
			rc = seg_error_set(c->err, SEG_ENOMEM, "out of memory");
	if (rc < 0)
		goto out;
	if (eda_stats_sort_pairs(x.v, y.v, x.n) < 0) {
		rc = seg_error_set(c->err, SEG_ENOMEM, "out of memory");
		goto out;
	}

	/* Ten bins of about equal count; equal x values stay in one bin, so heavy
	 * ties (instrumentalness 0) give fewer, larger bins instead of arbitrary
	 * splits. */
	eda_bin bin[NDECILES];
	double mx[NDECILES], my[NDECILES];
	size_t n = x.n;
	size_t nbin = eda_stats_equal_bins(x.v, y.v, n, NDECILES, bin);
	json_t *bins = json_array();
	for (size_t b = 0; b < nbin; b++) {
		mx[b] = bin[b].x_mean;
		my[b] = bin[b].y_mean;
		json_t *o = json_object();
		jset(c, o, "tracks", json_integer((json_int_t)(bin[b].end - bin[b].start)));
		jset(c, o, "x_min", jnum(x.v[bin[b].start]));
		jset(c, o, "x_max", jnum(x.v[bin[b].end - 1]));
		jset(c, o, "x_mean", jnum(mx[b]));
		jset(c, o, "popularity_mean", jnum(my[b]));
		jappend(c, bins, o);
	}
	jset(c, out, fe->name, bins);

	strbuf title = {0};
	eda_sql_expand(&title, q->title, fe, 0);
	svg_opts o = {0};
	o.title = strbuf_cstr(&title);
	o.x_label = fe->label;
	o.y_label = "popularity";
	o.width = eda_sections[q->section].chart_w;
	o.height = o.width * 3 / 4;
	o.y_fixed = 1;
	o.y_min = 0;
	o.y_max = 100;
	const eda_summary *s = &c->stats[f].s;
	if (fe->unit) {
		o.x_fixed = 1;
		o.x_min = 0;
		o.x_max = 1;
	} else if (c->have_stats && s->count > 0 && s->p99 > s->p01) {
		/* Outliers (a 90-minute track) would squash the rest: show 1%..99%. */
		svg_ticks t;
		svg_nice_ticks(s->p01, s->p99, 5, &t);
		o.x_fixed = 1;
		o.x_min = t.lo;
		o.x_max = t.hi;
	}
	svg_xy pts = {"tracks", x.v, y.v, n};
	svg_xy line = {"mean popularity", mx, my, nbin};
	eda_html_figure_open(c->html, NULL);
	size_t start = c->html->len;
	rc = chart_rc(c, svg_scatter(c->html, &o, &pts, &line));
	if (rc == 0) {
		char name[64];
		chart_name(name, sizeof name, "popularity-vs", fe->name);
		rc = keep_chart(c, name, o.title, sql->data, start);
	}
	strbuf_free(&title);
	if (rc < 0)
		goto out;
	if (!fe->unit && n > 0)
		eda_html_caption(c->html, "The x axis spans the 1st to 99th percentile.");
	eda_html_figure_close(c->html, sql->data);
	char key[64];
	snprintf(key, sizeof key, "%s.%s", q->name, fe->name);
	note_query(c, key, sql->data);
out:
	dvec_free(&x);
	dvec_free(&y);
	return rc;
}

static int sec_scatter(eda_ctx *c, const eda_query *q)
{
	if (c->counts[C_WITH_FEATURES] == 0) {
		eda_html_empty(c->html, "No tracks with audio features yet.");
		return 0;
	}
	if (c->have_stats && c->stats[EDA_FEAT_POPULARITY].s.count == 0) {
		eda_html_empty(c->html, "No track with audio features has a popularity value in this catalogue.");
		return 0;
	}
	strbuf sql = {0};
	json_t *out = json_object();
	int rc = 0;
	strbuf_puts(c->html, "<div class=\"grid\">");
	for (size_t f = 0; f < EDA_NFEAT && rc == 0; f++)
		if (f != EDA_FEAT_POPULARITY)
			rc = scatter_one(c, q, f, &sql, out);
	strbuf_puts(c->html, "</div>");
	jset(c, c->summary, "popularity_by_feature", out);
	strbuf_free(&sql);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Key, mode, time signature                                                 */

static int sec_keymode(eda_ctx *c, const eda_query *q)
{
	/* The SQL's groups, counted from the columns read once. */
	int rc = cols_load(c);
	if (rc < 0)
		return rc;
	/* Columns 0..11 are the keys, 12 is "not detected" (key -1 or out of range);
	 * series are major, minor, and unknown mode. */
	double v[3][13];
	for (int s = 0; s < 3; s++)
		for (int k = 0; k < 13; k++)
			v[s][k] = 0;
	long long total = 0;
	const eda_cols *t = &c->cols;
	for (size_t i = 0; i < t->n; i++) {
		if (isnan(t->v[COL_KEY][i]))
			continue;
		long long key = (long long)t->v[COL_KEY][i];
		int k = key >= 0 && key < 12 ? (int)key : 12;
		double m = t->v[COL_MODE][i];
		int s = isnan(m) ? 2 : (long long)m == 1 ? 0 : 1;
		v[s][k] += 1;
		total++;
	}
	note_query(c, q->name, q->sql);

	int has_none = v[0][12] + v[1][12] + v[2][12] > 0;
	int has_unknown = 0;
	for (int k = 0; k < 13; k++)
		has_unknown |= v[2][k] > 0;
	size_t ncat = has_none ? 13 : 12;
	const char *cats[13];
	for (int k = 0; k < 12; k++)
		cats[k] = eda_key_names[k];
	cats[12] = "none";

	json_t *arr = json_array();
	for (size_t k = 0; k < ncat; k++) {
		json_t *o = json_object();
		jset(c, o, "key", json_string(cats[k]));
		jset(c, o, "major", json_integer((json_int_t)v[0][k]));
		jset(c, o, "minor", json_integer((json_int_t)v[1][k]));
		if (has_unknown)
			jset(c, o, "unknown_mode", json_integer((json_int_t)v[2][k]));
		jappend(c, arr, o);
	}
	jset(c, c->summary, "keys", arr);

	eda_html_figure_open(c->html, NULL);
	if (total == 0) {
		eda_html_empty(c->html, "No tracks with a known key.");
	} else {
		svg_series series[3] = {{"major", v[0]}, {"minor", v[1]}, {"mode unknown", v[2]}};
		svg_opts o = {0};
		o.title = q->title;
		o.y_label = "tracks";
		o.width = eda_sections[q->section].chart_w;
		o.height = o.width * 25 / 36;
		size_t start = c->html->len;
		rc = chart_rc(c, svg_columns(c->html, &o, cats, ncat, series, has_unknown ? 3 : 2));
		if (rc == 0)
			rc = keep_chart(c, "key-mode", o.title, q->sql, start);
		if (rc < 0)
			return rc;
	}
	eda_html_figure_close(c->html, q->sql);
	return 0;
}

enum { TIMESIG_MAX = 16 };

static int sec_timesig(eda_ctx *c, const eda_query *q)
{
	/* The SQL's groups in its order: the known values sorted, counted by run. */
	int rc = cols_load(c);
	if (rc < 0)
		return rc;
	const eda_cols *t = &c->cols;
	long long *vals = malloc((t->n ? t->n : 1) * sizeof(*vals));
	if (vals == NULL)
		return seg_error_set(c->err, SEG_ENOMEM, "out of memory");
	size_t nv = 0;
	for (size_t i = 0; i < t->n; i++)
		if (!isnan(t->v[COL_TIMESIG][i]))
			vals[nv++] = (long long)t->v[COL_TIMESIG][i];
	sort_small_range(vals, nv);
	char labels[TIMESIG_MAX][24];
	const char *cats[TIMESIG_MAX];
	double v[TIMESIG_MAX];
	size_t n = 0;
	json_t *obj = json_object();
	for (size_t r = 0, r2; r < nv; r = r2) {
		for (r2 = r; r2 < nv && vals[r2] == vals[r]; r2++)
			;
		long long ts = vals[r];
		long long cnt = (long long)(r2 - r);
		char key[24];
		snprintf(key, sizeof key, "%lld", ts);
		jset(c, obj, key, json_integer(cnt));
		if (n < TIMESIG_MAX) {
			snprintf(labels[n], sizeof labels[n], "%lld/4", ts);
			cats[n] = labels[n];
			v[n] = (double)cnt;
			n++;
		}
	}
	free(vals);
	jset(c, c->summary, "time_signatures", obj);
	note_query(c, q->name, q->sql);
	eda_html_figure_open(c->html, NULL);
	if (n == 0) {
		eda_html_empty(c->html, "No tracks with a known time signature.");
	} else {
		svg_series s = {"tracks", v};
		svg_opts o = {0};
		o.title = q->title;
		o.y_label = "tracks";
		o.width = eda_sections[q->section].chart_w;
		o.height = o.width * 25 / 36;
		o.value_labels = 1;
		size_t start = c->html->len;
		rc = chart_rc(c, svg_columns(c->html, &o, cats, n, &s, 1));
		if (rc == 0)
			rc = keep_chart(c, "time-signatures", o.title, q->sql, start);
		if (rc < 0)
			return rc;
	}
	eda_html_figure_close(c->html, q->sql);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Bars: top artists, genres, rejects                                        */

enum { BARS_MAX = 100 };

/* Runs a (label, value) query; draws the first `shown` rows as bars (the chart
 * called chart) and stores every row in summary[json_key] as a list of
 * {label_key: ..., value_key: ...}. */
static int bars_query(eda_ctx *c, const eda_query *q, const char *sql, size_t shown, const char *json_key,
                      const char *chart, const char *x_label, const char *empty)
{
	sqlite3_stmt *st;
	int rc = prepare(c, q->name, sql, &st);
	if (rc < 0)
		return rc;
	char *labels[BARS_MAX];
	double v[BARS_MAX];
	size_t n = 0;
	if (shown > BARS_MAX)
		shown = BARS_MAX;
	json_t *arr = json_array();
	const char *lk = sqlite3_column_name(st, 0), *vk = sqlite3_column_name(st, 1);
	int src;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		const char *l = (const char *)sqlite3_column_text(st, 0);
		long long val = sqlite3_column_int64(st, 1);
		json_t *o = json_object();
		jset(c, o, lk, jstr(l));
		jset(c, o, vk, json_integer(val));
		jappend(c, arr, o);
		if (n < shown) {
			labels[n] = strdup(l ? l : "");
			if (labels[n] == NULL) {
				src = SQLITE_NOMEM;
				break;
			}
			v[n++] = (double)val;
		}
	}
	rc = src == SQLITE_NOMEM ? seg_error_set(c->err, SEG_ENOMEM, "out of memory") : step_done(c, q->name, src);
	sqlite3_finalize(st);
	jset(c, c->summary, json_key, arr);
	if (rc == 0) {
		note_query(c, q->name, sql);
		eda_html_figure_open(c->html, NULL);
		if (n == 0) {
			eda_html_empty(c->html, empty);
		} else {
			svg_opts o = {0};
			o.title = q->title;
			o.x_label = x_label;
			o.width = eda_sections[q->section].chart_w;
			o.value_labels = 1;
			size_t start = c->html->len;
			rc = chart_rc(c, svg_bars(c->html, &o, (const char *const *)labels, v, n));
			if (rc == 0)
				rc = keep_chart(c, chart, o.title, sql, start);
		}
		if (rc == 0)
			eda_html_figure_close(c->html, sql);
	}
	for (size_t i = 0; i < n; i++)
		free(labels[i]);
	return rc;
}

static int sec_bars(eda_ctx *c, const eda_query *q)
{
	strbuf sql = {0};
	eda_sql_expand(&sql, q->sql, NULL, c->o.top_n);
	if (sql.oom)
		return seg_error_set(c->err, SEG_ENOMEM, "out of memory");
	int rc = bars_query(c, q, sql.data, (size_t)c->o.top_n, q->name, "top-artists", "tracks",
	                    "No artists in the catalogue.");
	strbuf_free(&sql);
	return rc;
}

static int sec_genres(eda_ctx *c, const eda_query *q)
{
	return bars_query(c, q, q->sql, (size_t)c->o.top_n, "genres", "top-genres", "tracks",
	                  "No genres in the catalogue.");
}

static int sec_rejects(eda_ctx *c, const eda_query *q)
{
	sqlite3_stmt *st;
	int rc = prepare(c, q->name, q->sql, &st);
	if (rc < 0)
		return rc;
	char *labels[BARS_MAX];
	double v[BARS_MAX];
	size_t n = 0;
	long long total = 0, rows = 0, values = 0;
	json_t *by = json_object();
	strbuf keybuf = {0};
	int src;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		const char *reason = (const char *)sqlite3_column_text(st, 0);
		const char *action = (const char *)sqlite3_column_text(st, 1);
		long long cnt = sqlite3_column_int64(st, 2);
		reason = reason ? reason : "";
		int is_row = action && strcmp(action, "row") == 0;
		total += cnt;
		if (is_row)
			rows += cnt;
		else
			values += cnt;
		/* The same reason comes once per action; the summary adds them up. */
		const char *key = utf8_clean(reason, &keybuf);
		json_t *prev = json_object_get(by, key);
		jset(c, by, key, json_integer(cnt + (prev ? json_integer_value(prev) : 0)));
		if (n < BARS_MAX) {
			size_t len = strlen(reason) + 24;
			labels[n] = malloc(len);
			if (labels[n] == NULL) {
				src = SQLITE_NOMEM;
				break;
			}
			snprintf(labels[n], len, "%s (%s)", reason, is_row ? "row dropped" : "value cleared");
			v[n++] = (double)cnt;
		}
	}
	rc = src == SQLITE_NOMEM ? seg_error_set(c->err, SEG_ENOMEM, "out of memory") : step_done(c, q->name, src);
	sqlite3_finalize(st);
	strbuf_free(&keybuf);
	json_t *dq = json_object_get(c->summary, "data_quality");
	jset(c, dq, "rejects", json_integer(total));
	jset(c, dq, "rejected_rows", json_integer(rows));
	jset(c, dq, "cleared_values", json_integer(values));
	jset(c, dq, "rejects_by_reason", by);
	if (rc == 0) {
		note_query(c, q->name, q->sql);
		eda_html_figure_open(c->html, NULL);
		if (n == 0) {
			eda_html_empty(c->html, "No rejects: ingest used every row and value it read.");
		} else {
			svg_opts o = {0};
			o.title = q->title;
			o.x_label = "rejects";
			o.width = eda_sections[q->section].chart_w;
			o.value_labels = 1;
			size_t start = c->html->len;
			rc = chart_rc(c, svg_bars(c->html, &o, (const char *const *)labels, v, n));
			if (rc == 0)
				rc = keep_chart(c, "rejects-by-reason", o.title, q->sql, start);
		}
		if (rc == 0)
			eda_html_figure_close(c->html, q->sql);
	}
	for (size_t i = 0; i < n; i++)
		free(labels[i]);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Data quality tables                                                       */

static int sec_missing(eda_ctx *c, const eda_query *q)
{
	sqlite3_stmt *st;
	int has;
	int rc = eda_sql_one_row(c->db, q, &st, &has, c->err);
	if (rc < 0)
		return rc;
	json_t *dq = json_object_get(c->summary, "data_quality");
	json_t *miss = json_object();
	strbuf *h = c->html;
	strbuf_puts(h, "<h3>");
	strbuf_xml(h, q->title);
	strbuf_puts(h, "</h3>");
	eda_html_figure_open(c->html, "plain");
	long long tracks = has ? sqlite3_column_int64(st, 0) : 0;
	if (tracks == 0) {
		eda_html_empty(c->html, "No tracks with audio features yet.");
	} else {
		strbuf_puts(h, "<div class=\"tw\"><table class=\"narrow\"><thead><tr><th>column</th>"
		               "<th>missing</th><th>share</th></tr></thead><tbody>");
		int ncol = sqlite3_column_count(st);
		for (int i = 1; i < ncol; i++) {
			long long m = sqlite3_column_int64(st, i);
			const char *name = sqlite3_column_name(st, i);
			jset(c, miss, name, json_integer(m));
			strbuf_printf(h, "<tr%s><td>", m > 0 ? " class=\"hl\"" : "");
			strbuf_xml(h, name);
			strbuf_puts(h, "</td><td class=\"n\">");
			eda_html_int(h, m);
			double share = 100.0 * (double)m / (double)tracks;
			if (m > 0 && share < 0.05)
				strbuf_puts(h, "</td><td class=\"n\">&lt;0.1%</td></tr>");
			else
				strbuf_printf(h, "</td><td class=\"n\">%.1f%%</td></tr>", share);
		}
		strbuf_puts(h, "</tbody></table></div>");
	}
	jset(c, dq, "missing", miss);
	sqlite3_finalize(st);
	note_query(c, q->name, q->sql);
	eda_html_figure_close(c->html, q->sql);
	return 0;
}

static int sec_nofeat(eda_ctx *c, const eda_query *q)
{
	sqlite3_stmt *st;
	int has;
	int rc = eda_sql_one_row(c->db, q, &st, &has, c->err);
	if (rc < 0)
		return rc;
	long long v[3] = {0, 0, 0};
	for (int i = 0; has && i < 3; i++)
		v[i] = sqlite3_column_int64(st, i);
	sqlite3_finalize(st);
	json_t *dq = json_object_get(c->summary, "data_quality");
	jset(c, dq, "tracks_without_features", json_integer(v[0]));
	jset(c, dq, "tracks_without_features_in_playlists", json_integer(v[1]));
	jset(c, dq, "playlist_entries_without_features", json_integer(v[2]));
	note_query(c, q->name, q->sql);

	strbuf *h = c->html;
	strbuf_puts(h, "<h3>");
	strbuf_xml(h, q->title);
	strbuf_puts(h, "</h3>");
	eda_html_figure_open(c->html, "plain");
	if (v[0] == 0) {
		eda_html_empty(c->html, c->counts[C_TRACKS] ? "Every track has audio features." : "No tracks.");
	} else {
		strbuf_puts(h, "<p>");
		eda_html_int(h, v[0]);
		strbuf_puts(h, " tracks have no audio features (they came from playlists only); ");
		eda_html_int(h, v[1]);
		strbuf_puts(h, " of them appear in playlists, in ");
		eda_html_int(h, v[2]);
		strbuf_puts(h, " playlist entries. Content-based models cannot recommend them; "
		               "collaborative filtering can.</p>");
	}
	eda_html_figure_close(c->html, q->sql);
	return 0;
}

/* Totals of merged duplicates, then the per-file table. */
static int sec_merged(eda_ctx *c, const eda_query *q)
{
	sqlite3_stmt *st;
	int rc = prepare(c, q->name, eda_sql_merged_total, &st);
	if (rc < 0)
		return rc;
	long long merged = 0;
	int src = sqlite3_step(st);
	if (src == SQLITE_ROW) {
		merged = sqlite3_column_int64(st, 0);
		src = sqlite3_step(st);
	}
	rc = step_done(c, q->name, src);
	sqlite3_finalize(st);
	if (rc < 0)
		return rc;
	jset(c, json_object_get(c->summary, "data_quality"), "merged_duplicates", json_integer(merged));
	return sec_table(c, q);
}

static int run_query(eda_ctx *c, const eda_query *q)
{
	switch (q->kind) {
	case EDA_K_COUNTS: return sec_counts(c, q);
	case EDA_K_TABLE: return sec_table(c, q);
	case EDA_K_MERGED: return sec_merged(c, q);
	case EDA_K_STATS: return sec_stats(c, q);
	case EDA_K_HIST: return sec_hist(c, q);
	case EDA_K_CORR: return sec_corr(c, q);
	case EDA_K_PROFILE: return sec_profile(c, q);
	case EDA_K_SCATTER: return sec_scatter(c, q);
	case EDA_K_KEYMODE: return sec_keymode(c, q);
	case EDA_K_TIMESIG: return sec_timesig(c, q);
	case EDA_K_BARS: return sec_bars(c, q);
	case EDA_K_GENRES: return sec_genres(c, q);
	case EDA_K_REJECTS: return sec_rejects(c, q);
	case EDA_K_MISSING: return sec_missing(c, q);
	case EDA_K_NOFEAT: return sec_nofeat(c, q);
	}
	return SEG_EINVAL;
}

int eda_render_charts(sqlite3 *db, const eda_opts *opts, strbuf *html, strbuf *json, eda_charts *charts, seg_error *err)
{
	if (charts)
		memset(charts, 0, sizeof(*charts));
	if (db == NULL)
		return seg_error_set(err, SEG_EINVAL, "eda_render: no database");
	int rc = eda_sql_check_schema(db, err);
	if (rc < 0)
		return rc;
	eda_ctx c;
	memset(&c, 0, sizeof(c));
	c.db = db;
	c.err = err;
	c.want_charts = charts != NULL;
	if (opts)
		c.o = *opts;
	if (c.o.top_n <= 0)
		c.o.top_n = 20;
	if (c.o.top_n > BARS_MAX)
		c.o.top_n = BARS_MAX;
	if (c.o.profile_genres <= 0)
		c.o.profile_genres = 8;
	if (c.o.reject_examples <= 0)
		c.o.reject_examples = 3;
	/* Sections go into `body` first: the banner at the top of the page depends
	 * on the counts that the first section reads. */
	strbuf body = {0};
	c.html = &body;
	c.summary = json_object();
	c.queries = json_object();
	c.charts_json = json_array();
	jset(&c, c.summary, "format", json_string("segue-eda-summary"));
	jset(&c, c.summary, "version", json_integer(1));
	jset(&c, c.summary, "data_quality", json_object());

	size_t findings_at = 0; /* where the findings go in body */
	/* SEGUE_EDA_TIMES=1: each query's seconds on stderr (bench/eda). */
	const char *times_env = getenv("SEGUE_EDA_TIMES");
	int times = times_env != NULL && times_env[0] == '1';
	for (int s = 0; s < EDA_NSECTIONS && rc == 0; s++) {
		if (s == EDA_SEC_FINDINGS) {
			findings_at = body.len;
			continue;
		}
		strbuf_printf(c.html, "<section id=\"%s\"><h2>", eda_sections[s].id);
		strbuf_xml(c.html, eda_sections[s].heading);
		strbuf_puts(c.html, "</h2>");
		if (eda_sections[s].intro) {
			strbuf_puts(c.html, "<p class=\"intro\">");
			strbuf_xml(c.html, eda_sections[s].intro);
			strbuf_puts(c.html, "</p>");
		}
		if (eda_sections[s].grid)
			strbuf_printf(c.html, "<div class=\"%s\">", eda_sections[s].grid);
		for (size_t i = 0; i < eda_nqueries && rc == 0; i++) {
			if (eda_queries[i].section != s)
				continue;
			double t0 = times ? progress_now() : 0;
			rc = run_query(&c, &eda_queries[i]);
			if (times)
				fprintf(stderr, "eda: %-24s %8.3f s\n", eda_queries[i].name, progress_now() - t0);
		}
		if (eda_sections[s].grid)
			strbuf_puts(c.html, "</div>");
		strbuf_puts(c.html, "</section>\n");
	}
	/* The findings read every figure above, so they come last, and are
	 * shown second, under the overview. */
	json_t *findings = NULL;
	if (rc == 0) {
		eda_facts facts = {
			.tracks = c.counts[C_TRACKS],
			.with_features = c.counts[C_WITH_FEATURES],
			.corr_r = c.have_corr ? c.corr_r : NULL,
			.corr_n = c.have_corr ? c.corr_n : NULL,
			.popularity = c.cols.loaded ? c.cols.v[EDA_FEAT_POPULARITY] : NULL,
			.speechiness = c.cols.loaded ? cols_feature(&c.cols, "speechiness") : NULL,
			.n = c.cols.n,
		};
		eda_summary stats[EDA_NFEAT];
		if (c.have_stats) {
			for (int f = 0; f < EDA_NFEAT; f++)
				stats[f] = c.stats[f].s;
			facts.stats = stats;
		}
		double t0 = times ? progress_now() : 0;
		rc = eda_findings_build(db, &facts, &findings, c.queries, err);
		if (times)
			fprintf(stderr, "eda: %-24s %8.3f s\n", "findings", progress_now() - t0);
	}
	jset(&c, c.summary, "findings", findings ? json_incref(findings) : json_array());
	jset(&c, c.summary, "queries", c.queries);
	jset(&c, c.summary, "charts", c.charts_json);
	if (rc == 0 && html) {
		const eda_section *fs = &eda_sections[EDA_SEC_FINDINGS];
		eda_html_page_begin(html, c.o.source_name, c.counts[C_TRACKS], c.counts[C_SYNTHETIC]);
		strbuf_append(html, strbuf_cstr(&body), findings_at);
		strbuf_printf(html, "<section id=\"%s\"><h2>", fs->id);
		strbuf_xml(html, fs->heading);
		strbuf_puts(html, "</h2><p class=\"intro\">");
		strbuf_xml(html, fs->intro);
		strbuf_puts(html, "</p>");
		eda_findings_html(html, findings);
		strbuf_puts(html, "</section>\n");
		strbuf_append(html, strbuf_cstr(&body) + findings_at, body.len - findings_at);
		eda_html_page_end(html);
	}
	json_decref(findings);

	if (rc == 0 && (c.oom || body.oom || (html && html->oom)))
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory while building the report");
	if (rc == 0 && json) {
		char *text = json_dumps(c.summary, JSON_INDENT(2) | JSON_REAL_PRECISION(12));
		if (text == NULL) {
			rc = seg_error_set(err, SEG_ENOMEM, "out of memory while writing the summary");
		} else {
			strbuf_puts(json, text);
			strbuf_putc(json, '\n');
			free(text);
			if (json->oom)
				rc = seg_error_set(err, SEG_ENOMEM, "out of memory while writing the summary");
		}
	}
	json_decref(c.summary);
	strbuf_free(&body);
	cols_free(&c.cols);
	if (rc == 0 && charts)
		*charts = c.charts;
	else
		eda_charts_free(&c.charts);
	return rc;
}

int eda_render(sqlite3 *db, const eda_opts *opts, strbuf *html, strbuf *json, seg_error *err)
{
	return eda_render_charts(db, opts, html, json, NULL, err);
}

const eda_chart *eda_charts_find(const eda_charts *c, const char *name)
{
	if (c == NULL || name == NULL)
		return NULL;
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->v[i].name, name) == 0)
			return &c->v[i];
	return NULL;
}

void eda_charts_free(eda_charts *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].sql);
		free(c->v[i].svg);
	}
	free(c->v);
	memset(c, 0, sizeof(*c));
}

/* ------------------------------------------------------------------------ */
/* Files                                                                     */

/* container_write_atomic's fill: the bytes of a strbuf. */
static int put_bytes(FILE *f, void *arg)
{
	const strbuf *data = arg;
	return fwrite(strbuf_cstr(data), 1, data->len, f) == data->len ? 0 : -1;
}

/* Replaces dir/name with data, whole (container_write_atomic). */
static int write_file(const char *dir, const char *name, const strbuf *data, seg_error *err)
{
	char path[4096];
	if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path)
		return seg_error_set(err, SEG_EINVAL, "output path too long: %s/%s", dir, name);
	return container_write_atomic(path, put_bytes, (void *)data, err);
}

int eda_report_opts(const char *catalog_db_path, const char *out_dir, const eda_opts *opts, seg_error *err)
{
	if (catalog_db_path == NULL || out_dir == NULL || *catalog_db_path == '\0' || *out_dir == '\0')
		return seg_error_set(err, SEG_EINVAL, "eda: catalogue path and output directory are required");
	struct stat sst;
	if (stat(catalog_db_path, &sst) != 0 || !S_ISREG(sst.st_mode))
		return seg_error_set(err, SEG_ENOTFOUND, "no catalogue at %s; run `segue ingest` first",
		                     catalog_db_path);
	if (mkdir(out_dir, 0777) != 0 && errno != EEXIST)
		return seg_error_set(err, SEG_EIO, "cannot create %s: %s", out_dir, strerror(errno));
	if (stat(out_dir, &sst) != 0 || !S_ISDIR(sst.st_mode))
		return seg_error_set(err, SEG_EIO, "%s is not a directory", out_dir);

	sqlite3 *db = NULL;
	strbuf html = {0}, json = {0};
	int rc = 0;
	if (sqlite3_open_v2(catalog_db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		rc = seg_error_set(err, SEG_EDB, "cannot open catalogue %s: %s", catalog_db_path,
		                   db ? sqlite3_errmsg(db) : "out of memory");
		goto out;
	}
	sqlite3_busy_timeout(db, 5000);
	eda_opts o = {0};
	if (opts)
		o = *opts;
	if (o.source_name == NULL) {
		const char *slash = strrchr(catalog_db_path, '/');
		o.source_name = slash ? slash + 1 : catalog_db_path;
	}
	eda_charts charts = {0};
	int64_t key[EDA_CACHE_KEY];
	int keyed = eda_cache_key(db, &o, key) == 0;
	rc = eda_render_charts(db, &o, &html, &json, &charts, err);
	if (rc == SEG_EFORMAT && err) {
		char why[sizeof err->msg];
		snprintf(why, sizeof why, "%s", err->msg);
		seg_error_set(err, SEG_EFORMAT, "%s is %s", catalog_db_path, why);
	}
	if (rc < 0)
		goto out;
	rc = write_file(out_dir, WORKSPACE_EDA_REPORT_FILE, &html, err);
	if (rc == 0)
		rc = write_file(out_dir, WORKSPACE_EDA_SUMMARY_FILE, &json, err);
	if (rc == 0) {
		/* and for the server, in the catalogue's workspace; the report
		 * stands without it */
		char ws[4096], cache[4200];
		const char *slash = strrchr(catalog_db_path, '/');
		if (slash == NULL)
			snprintf(ws, sizeof ws, ".");
		else if (slash == catalog_db_path)
			snprintf(ws, sizeof ws, "/");
		else
			snprintf(ws, sizeof ws, "%.*s", (int)(slash - catalog_db_path), catalog_db_path);
		if (keyed && workspace_path(ws, WS_EDA_CACHE, cache, sizeof cache, NULL) == 0)
			eda_cache_save(db, &o, key, cache, &json, &charts, NULL);
	}
	eda_charts_free(&charts);
out:
	sqlite3_close(db);
	strbuf_free(&html);
	strbuf_free(&json);
	return rc;
}

int eda_report(const char *catalog_db_path, const char *out_dir, seg_error *err)
{
	return eda_report_opts(catalog_db_path, out_dir, NULL, err);
}
