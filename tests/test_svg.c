/* test_svg.c: the SVG chart module: well-formed output, escaping, geometry of
 * hand-computed cases, nice ticks, edge cases and determinism. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/strbuf.h"
#include "report/svg.h"

/* The chart is one well-formed <svg> element tree (see tu_xml_check). */
static void assert_wellformed(const strbuf *sb)
{
	char why[256];
	if (tu_xml_check(strbuf_cstr(sb), why, sizeof why) != 0)
		fail_msg("malformed SVG: %s\n%s", why, strbuf_cstr(sb));
	/* Every chart carries an accessible title and scales with its container. */
	assert_non_null(strstr(strbuf_cstr(sb), "<title>"));
	assert_non_null(strstr(strbuf_cstr(sb), "viewBox=\""));
	assert_non_null(strstr(strbuf_cstr(sb), "width=\"100%\""));
}

/* The chart is the empty frame (well-formed, saying "No data"); empties sb
 * for the next chart. */
static void expect_no_data(strbuf *sb)
{
	assert_wellformed(sb);
	assert_non_null(strstr(strbuf_cstr(sb), "No data"));
	strbuf_reset(sb);
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* Geometry of the i-th <rect> in s; returns 0 when there is none. */
typedef struct box {
	double x, y, w, h;
} box;

static double attr_num(const char *tag, const char *name)
{
	char key[32];
	snprintf(key, sizeof key, " %s=\"", name);
	const char *p = strstr(tag, key);
	assert_non_null(p);
	return strtod(p + strlen(key), NULL);
}

static int nth_rect(const char *s, size_t i, box *b)
{
	const char *p = s;
	for (size_t k = 0;; k++) {
		p = strstr(p, "<rect");
		if (p == NULL)
			return 0;
		if (k == i)
			break;
		p++;
	}
	const char *end = strchr(p, '>');
	char tag[512];
	size_t n = (size_t)(end - p) < sizeof tag - 1 ? (size_t)(end - p) : sizeof tag - 1;
	memcpy(tag, p, n);
	tag[n] = '\0';
	b->x = attr_num(tag, "x");
	b->y = attr_num(tag, "y");
	b->w = attr_num(tag, "width");
	b->h = attr_num(tag, "height");
	return 1;
}

static void assert_box(const box *b, double x, double y, double w, double h)
{
	if (fabs(b->x - x) > 0.051 || fabs(b->y - y) > 0.051 || fabs(b->w - w) > 0.051 || fabs(b->h - h) > 0.051)
		fail_msg("rect (%g, %g, %g, %g), expected (%g, %g, %g, %g)", b->x, b->y, b->w, b->h, x, y, w, h);
}

/* The opts of the hand-computed cases: with title and both axis labels, the
 * plot area is x 64..384 (320 wide) and y 36..252 (216 high). */
static svg_opts hand_opts(void)
{
	svg_opts o = {0};
	o.title = "T";
	o.x_label = "x";
	o.y_label = "y";
	o.width = 400;
	o.height = 300;
	return o;
}

/* ------------------------------------------------------------------------ */
/* Nice ticks                                                                */

static void expect_ticks(double lo, double hi, int target, double elo, double ehi, double estep, int en, int edec)
{
	svg_ticks t;
	svg_nice_ticks(lo, hi, target, &t);
	if (fabs(t.lo - elo) > 1e-12 || fabs(t.hi - ehi) > 1e-12 || fabs(t.step - estep) > 1e-12 || t.n != en ||
	    t.decimals != edec)
		fail_msg("ticks(%g, %g, %d) = %g..%g step %g n %d dec %d; expected %g..%g step %g n %d dec %d", lo, hi,
		         target, t.lo, t.hi, t.step, t.n, t.decimals, elo, ehi, estep, en, edec);
}

static void test_nice_ticks(void **state)
{
	(void)state;
	/* Worked by hand: step = the nice number (1, 2, 5 x 10^k) closest to
	 * (max - min) / (target - 1); bounds = the multiples of step around the data. */
	expect_ticks(0, 4, 5, 0, 4, 1, 5, 0);            /* 4/4 = 1 */
	expect_ticks(0, 1, 5, 0, 1, 0.2, 6, 1);          /* 0.25 -> 0.2 */
	expect_ticks(-0.93, 0.71, 5, -1, 1, 0.5, 5, 1);  /* 0.41 -> 0.5 */
	expect_ticks(3, 97, 5, 0, 100, 20, 6, 0);        /* 23.5 -> 20 */
	expect_ticks(0, 12345, 5, 0, 15000, 5000, 4, 0); /* 3086 -> 5000 */
	expect_ticks(0, 2600, 4, 0, 3000, 1000, 4, 0);   /* 867 -> 1000, not 0..4000 */
	expect_ticks(-60, -1.5, 5, -60, 0, 10, 7, 0);    /* 14.6 -> 10 */
	expect_ticks(0.3, 0.7, 5, 0.3, 0.7, 0.1, 5, 1);  /* 0.3/0.1 must not floor to 2 */
	expect_ticks(0, 0, 5, 0, 1, 0.2, 6, 1);          /* zero range at 0 */
	expect_ticks(NAN, 3, 5, 0, 1, 0.2, 6, 1);        /* non-finite */
	expect_ticks(1, 0, 5, 0, 1, 0.2, 6, 1);          /* swapped */
	/* Zero range elsewhere widens around the value. */
	svg_ticks t;
	svg_nice_ticks(5, 5, 5, &t);
	assert_true(t.lo < 5 && t.hi > 5 && t.n >= 2);
}

/* ------------------------------------------------------------------------ */
/* Geometry                                                                  */

static void test_histogram_geometry(void **state)
{
	(void)state;
	strbuf sb = {0};
	svg_opts o = hand_opts();
	double edges[] = {0, 1, 2, 3, 4};
	double counts[] = {1, 2, 4, 0};
	assert_int_equal(svg_histogram(&sb, &o, edges, counts, 4), 0);
	assert_wellformed(&sb);
	/* y domain 0..4 over 216 units: 54 per count; x 80 units per bin. The empty
	 * bin draws nothing. */
	box b;
	assert_true(nth_rect(sb.data, 0, &b));
	assert_box(&b, 64, 198, 80, 54);
	assert_true(nth_rect(sb.data, 1, &b));
	assert_box(&b, 144, 144, 80, 108);
	assert_true(nth_rect(sb.data, 2, &b));
	assert_box(&b, 224, 36, 80, 216);
	assert_false(nth_rect(sb.data, 3, &b));
	assert_non_null(strstr(sb.data, "viewBox=\"0 0 400 300\""));
	/* Tooltips tell the bin and its count. */
	assert_non_null(strstr(sb.data, "<title>2 to 3: 4</title>"));
	strbuf_free(&sb);
}

static void test_columns_geometry(void **state)
{
	(void)state;
	strbuf sb = {0};
	svg_opts o = hand_opts();
	const char *cats[] = {"C", "D", "E", "F"};
	double v[] = {1, 2, 3, 4};
	svg_series s = {"tracks", v};
	assert_int_equal(svg_columns(&sb, &o, cats, 4, &s, 1), 0);
	assert_wellformed(&sb);
	/* Bands of 80, columns 80% of a band (64), centred; y 0..4 -> 54 per unit. */
	box b;
	double h[] = {54, 108, 162, 216};
	for (size_t i = 0; i < 4; i++) {
		assert_true(nth_rect(sb.data, i, &b));
		assert_box(&b, 72 + 80.0 * (double)i, 252 - h[i], 64, h[i]);
	}
	strbuf_free(&sb);

	/* Two series: a legend row moves the plot top to 54 (216 - 18 = 198 high),
	 * and each column takes half of the 64 group. */
	double w[] = {2, 0, 1, 4};
	svg_series two[] = {{"major", v}, {"minor", w}};
	assert_int_equal(svg_columns(&sb, &o, cats, 4, two, 2), 0);
	assert_wellformed(&sb);
	assert_non_null(strstr(sb.data, ">major</text>"));
	assert_non_null(strstr(sb.data, ">minor</text>"));
	/* rects 0, 1 are legend swatches, then series 0 (4 rects), then series 1. */
	assert_true(nth_rect(sb.data, 2, &b));
	assert_box(&b, 72, 252 - 198.0 / 4, 32, 198.0 / 4);
	assert_true(nth_rect(sb.data, 6, &b));
	assert_box(&b, 104, 252 - 198.0 / 2, 32, 198.0 / 2);
	strbuf_free(&sb);
}

static void test_bars_proportional(void **state)
{
	(void)state;
	strbuf sb = {0};
	const char *labels[] = {"first", "second", "third"};
	double v[] = {10, 5, 2.5};
	svg_opts o = {0};
	o.title = "Top";
	o.value_labels = 1;
	assert_int_equal(svg_bars(&sb, &o, labels, v, 3), 0);
	assert_wellformed(&sb);
	box a, b, c;
	assert_true(nth_rect(sb.data, 0, &a));
	assert_true(nth_rect(sb.data, 1, &b));
	assert_true(nth_rect(sb.data, 2, &c));
	/* Same left edge (the zero line), widths in proportion, rows top to bottom. */
	assert_true(fabs(a.x - b.x) < 0.01 && fabs(b.x - c.x) < 0.01);
	assert_true(fabs(a.w / b.w - 2) < 0.01 && fabs(b.w / c.w - 2) < 0.02);
	assert_true(a.y < b.y && b.y < c.y);
	assert_non_null(strstr(sb.data, ">2.5</text>")); /* 1 decimal below 100 */
	/* Automatic height: 3 rows of 22 plus margins. */
	assert_non_null(strstr(sb.data, "viewBox=\"0 0 640 "));
	strbuf_free(&sb);
}

/* A forest plot: one dot per row at its value, its interval's line from lo
 * to hi on the same scale, the reference line dashed, a missing value "n/a". */
static void test_intervals(void **state)
{
	(void)state;
	strbuf sb = {0};
	const svg_interval rows[] = {
		{"play_rate (primary)", 4, 2, 6, 0},
		{"skip_rate (guardrail)", -1, -3, 1, 3},
		{"save_rate", NAN, NAN, NAN, 7},
	};
	svg_opts o = {0};
	o.title = "Lift";
	o.x_label = "lift (%)";
	assert_int_equal(svg_intervals(&sb, &o, rows, 3, 0), 0);
	assert_wellformed(&sb);
	/* Dots: row 0 right of row 1, rows top to bottom; no dot for the NaN row. */
	double cx[3], cy[3];
	const char *p = sb.data;
	int n = 0;
	while ((p = strstr(p, "<circle cx=\"")) != NULL && n < 3) {
		assert_int_equal(sscanf(p, "<circle cx=\"%lf\" cy=\"%lf\"", &cx[n], &cy[n]), 2);
		n++;
		p++;
	}
	assert_int_equal(n, 2);
	assert_true(cx[0] > cx[1] && cy[0] < cy[1]);
	/* Row 0's interval: lo and hi at equal distances either side of its dot,
	 * twice the distance of value 4 from value 2 ... 6 being symmetric. */
	double xa, ya, xb;
	p = strstr(sb.data, "<path d=\"M");
	assert_non_null(p);
	assert_int_equal(sscanf(p, "<path d=\"M%lf %lfH%lf", &xa, &ya, &xb), 3);
	assert_true(fabs((cx[0] - xa) - (xb - cx[0])) < 0.2);
	assert_true(fabs(ya - cy[0]) < 0.01);
	/* The scale is linear: row 1's dot (-1) sits where lo (2) minus 3 units is. */
	double unit = (xb - xa) / 4;
	assert_true(fabs((xa - 3 * unit) - cx[1]) < 0.3);
	assert_non_null(strstr(sb.data, "stroke-dasharray"));
	assert_non_null(strstr(sb.data, ">n/a</text>"));
	assert_non_null(strstr(sb.data, "skip_rate (guardrail): -1.0 (-3.0 to 1.0)"));
	assert_non_null(strstr(sb.data, svg_palette(3)));
	strbuf_reset(&sb);
	/* Nothing to draw; bad arguments. */
	assert_int_equal(svg_intervals(&sb, &o, NULL, 0, 0), 0);
	assert_non_null(strstr(sb.data, "No data"));
	assert_int_equal(svg_intervals(&sb, &o, NULL, 2, 0), SEG_EINVAL);
	assert_int_equal(svg_intervals(NULL, &o, rows, 3, 0), SEG_EINVAL);
	strbuf_free(&sb);
}

/* ------------------------------------------------------------------------ */
/* Text                                                                      */

static void test_escaping(void **state)
{
	(void)state;
	strbuf sb = {0};
	const char *labels[] = {"a<b & \"c\"", "x>y 'q'"};
	double v[] = {1, 2};
	svg_opts o = {0};
	o.title = "<script>&\"";
	o.x_label = "tracks & <things>";
	assert_int_equal(svg_bars(&sb, &o, labels, v, 2), 0);
	assert_wellformed(&sb);
	assert_non_null(strstr(sb.data, "a&lt;b &amp; &quot;c&quot;"));
	assert_non_null(strstr(sb.data, "x&gt;y &#39;q&#39;"));
	assert_non_null(strstr(sb.data, "<title>&lt;script&gt;&amp;&quot;</title>"));
	assert_null(strstr(sb.data, "<script"));
	assert_null(strstr(sb.data, "a<b"));
	strbuf_free(&sb);

	/* The same through every chart type. */
	const char *cats[] = {"<&\"", "ok"};
	svg_series s = {"s<1>", v};
	assert_int_equal(svg_columns(&sb, &o, cats, 2, &s, 1), 0);
	assert_int_equal(svg_lines(&sb, &o, cats, 2, &s, 1), 0);
	double m[] = {1, 0.5, 0.5, 1};
	svg_matrix mx = {cats, NULL, 2, 2, m, -1, 1};
	assert_int_equal(svg_heatmap(&sb, &o, &mx), 0);
	assert_null(strstr(sb.data, "<&"));
	assert_non_null(strstr(sb.data, "&lt;&amp;&quot;"));
	strbuf_free(&sb);
}

static void test_long_and_odd_labels(void **state)
{
	(void)state;
	strbuf sb = {0};
	/* clang-format off */
	const char *labels[] = {
		"An extremely long artist name that goes on and on and on well beyond any sensible width",
		"", NULL, "tab\there\x01 and \xff bad byte", "Beyoncé — Déjà Vu",
	};
	/* clang-format on */
	double v[] = {3, 2, 1, 1, 1};
	svg_opts o = {0};
	assert_int_equal(svg_bars(&sb, &o, labels, v, 5), 0);
	assert_wellformed(&sb);
	/* Cut with an ellipsis; the whole text survives as a tooltip. */
	assert_non_null(strstr(sb.data, "\xE2\x80\xA6</text>"));
	assert_non_null(strstr(sb.data, "<title>An extremely long artist name that goes on and on and on well beyond "
	                                "any sensible width</title>"));
	/* Control characters dropped, invalid bytes replaced, UTF-8 kept. */
	assert_null(strchr(sb.data, '\x01'));
	assert_null(strchr(sb.data, '\t'));
	assert_non_null(strstr(sb.data, "tab here and \xEF\xBF\xBD bad byte"));
	assert_non_null(strstr(sb.data, "Beyonc\xC3\xA9 \xE2\x80\x94 D\xC3\xA9j\xC3\xA0 Vu"));
	strbuf_free(&sb);

	/* Long rotated category labels and a long title stay well-formed. */
	const char *cats[] = {"instrumentalness-and-more-words", "speechiness-and-more-words", "x"};
	svg_series s = {"one", v};
	o.title = "A title that is far too long for a small chart and must be cut somewhere sensible";
	o.width = 200;
	assert_int_equal(svg_columns(&sb, &o, cats, 3, &s, 1), 0);
	assert_wellformed(&sb);
	assert_non_null(strstr(sb.data, "rotate(-40"));
	strbuf_free(&sb);
}

/* ------------------------------------------------------------------------ */
/* Edge cases                                                                */

static void test_empty(void **state)
{
	(void)state;
	strbuf sb = {0};
	svg_opts o = {0};
	o.title = "Empty";
	assert_int_equal(svg_histogram(&sb, &o, NULL, NULL, 0), 0);
	expect_no_data(&sb);
	assert_int_equal(svg_bars(&sb, &o, NULL, NULL, 0), 0);
	expect_no_data(&sb);
	assert_int_equal(svg_columns(&sb, &o, NULL, 0, NULL, 0), 0);
	expect_no_data(&sb);
	assert_int_equal(svg_lines(&sb, NULL, NULL, 0, NULL, 0), 0);
	expect_no_data(&sb);
	svg_matrix m = {0};
	assert_int_equal(svg_heatmap(&sb, &o, &m), 0);
	expect_no_data(&sb);
	assert_int_equal(svg_scatter(&sb, &o, NULL, NULL), 0);
	expect_no_data(&sb);
	strbuf_free(&sb);
}

static void test_nan_and_zero_range(void **state)
{
	(void)state;
	strbuf sb = {0};
	svg_opts o = hand_opts();

	/* All NaN: nothing to draw. */
	double nan3[] = {NAN, NAN, NAN};
	const char *cats[] = {"a", "b", "c"};
	assert_int_equal(svg_bars(&sb, &o, cats, nan3, 3), 0);
	expect_no_data(&sb);

	/* A NaN among values is skipped: two bars of three. */
	double some[] = {1, NAN, 2};
	svg_series s = {"s", some};
	assert_int_equal(svg_columns(&sb, &o, cats, 3, &s, 1), 0);
	assert_wellformed(&sb);
	assert_int_equal(count(sb.data, "<rect"), 2);
	strbuf_reset(&sb);

	/* A NaN breaks a line into runs; a lone point keeps its marker. */
	double line[] = {1, 2, NAN, 3, NAN, 4, 5};
	const char *c7[] = {"1", "2", "3", "4", "5", "6", "7"};
	svg_series ls = {"l", line};
	assert_int_equal(svg_lines(&sb, &o, c7, 7, &ls, 1), 0);
	assert_wellformed(&sb);
	assert_int_equal(count(sb.data, "<polyline"), 2);
	assert_int_equal(count(sb.data, "<circle"), 5);
	strbuf_reset(&sb);

	/* All equal values and zero-range lines. */
	double same[] = {7, 7, 7};
	svg_series ss = {"same", same};
	assert_int_equal(svg_lines(&sb, &o, cats, 3, &ss, 1), 0);
	assert_wellformed(&sb);
	assert_null(strstr(sb.data, "nan"));
	assert_null(strstr(sb.data, "inf"));
	strbuf_reset(&sb);
	double zeros[] = {0, 0, 0};
	assert_int_equal(svg_bars(&sb, &o, cats, zeros, 3), 0);
	assert_wellformed(&sb);
	assert_null(strstr(sb.data, "nan"));
	strbuf_reset(&sb);

	/* Histogram with NaN and all-zero counts. */
	double edges[] = {0, 0.5, 1};
	double hc[] = {NAN, 0};
	assert_int_equal(svg_histogram(&sb, &o, edges, hc, 2), 0);
	assert_wellformed(&sb);
	assert_int_equal(count(sb.data, "<rect"), 0);
	strbuf_reset(&sb);

	/* Scatter: NaN points skipped, all points equal. */
	double x[] = {1, NAN, 1, 1}, y[] = {2, 2, INFINITY, 2};
	svg_xy pts = {NULL, x, y, 4};
	assert_int_equal(svg_scatter(&sb, &o, &pts, NULL), 0);
	assert_wellformed(&sb);
	assert_int_equal(count(sb.data, "<circle"), 2);
	assert_null(strstr(sb.data, "nan"));
	strbuf_reset(&sb);

	/* Heatmap: a NaN cell is drawn blank, the others with their values. */
	double m[] = {1, NAN, -0.5, 1};
	const char *rl[] = {"energy", "loudness"};
	svg_matrix mx = {rl, NULL, 2, 2, m, -1, 1};
	o.value_labels = 1;
	assert_int_equal(svg_heatmap(&sb, &o, &mx), 0);
	assert_wellformed(&sb);
	assert_non_null(strstr(sb.data, ">-0.50</text>"));
	assert_non_null(strstr(sb.data, ": n/a</title>"));
	strbuf_free(&sb);
}

static void test_scatter_density(void **state)
{
	(void)state;
	enum { N = 20000 };
	double *x = malloc(N * sizeof(double)), *y = malloc(N * sizeof(double));
	assert_non_null(x);
	assert_non_null(y);
	for (int i = 0; i < N; i++) {
		x[i] = (double)(i % 1000) / 1000.0;
		y[i] = 100.0 * x[i] * x[i] + (double)(i % 7);
	}
	double ox[] = {0.05, 0.5, 0.95}, oy[] = {1, 30, 90};
	svg_xy pts = {"tracks", x, y, N}, ov = {"mean", ox, oy, 3};
	svg_opts o = hand_opts();
	o.x_fixed = 1;
	o.x_max = 1;
	strbuf sb = {0};
	assert_int_equal(svg_scatter(&sb, &o, &pts, &ov), 0);
	assert_wellformed(&sb);
	/* Density cells instead of 20,000 dots: only the overlay has circles. */
	assert_int_equal(count(sb.data, "<circle"), 3);
	assert_int_equal(count(sb.data, "<polyline"), 1);
	assert_true(count(sb.data, "<rect") <= 64 * 48 + 2);
	assert_true(sb.len < 120000);
	assert_non_null(strstr(sb.data, ">n = 20,000</text>"));
	assert_non_null(strstr(sb.data, ">mean</text>"));
	strbuf_free(&sb);

	/* Few points: one dot each. */
	pts.n = 50;
	assert_int_equal(svg_scatter(&sb, &o, &pts, NULL), 0);
	assert_wellformed(&sb);
	assert_int_equal(count(sb.data, "<circle"), 50);
	strbuf_free(&sb);
	free(x);
	free(y);
}

static void test_errors(void **state)
{
	(void)state;
	strbuf sb = {0};
	double v[] = {1, 2};
	double bad_edges[] = {0, 1, 1};
	assert_int_equal(svg_histogram(NULL, NULL, v, v, 1), SEG_EINVAL);
	assert_int_equal(svg_histogram(&sb, NULL, NULL, v, 1), SEG_EINVAL);
	assert_int_equal(svg_histogram(&sb, NULL, bad_edges, v, 2), SEG_EINVAL);
	assert_int_equal(svg_bars(&sb, NULL, NULL, NULL, 2), SEG_EINVAL);
	assert_int_equal(svg_columns(&sb, NULL, NULL, 2, NULL, 1), SEG_EINVAL);
	svg_series s = {"s", NULL};
	assert_int_equal(svg_lines(&sb, NULL, NULL, 2, &s, 1), SEG_EINVAL);
	assert_int_equal(svg_heatmap(&sb, NULL, NULL), SEG_EINVAL);
	svg_xy p = {NULL, v, NULL, 2};
	assert_int_equal(svg_scatter(&sb, NULL, &p, NULL), SEG_EINVAL);
	assert_int_equal(sb.len, 0); /* nothing appended on SEG_EINVAL */

	/* A buffer that already ran out of memory reports it. */
	sb.oom = 1;
	assert_int_equal(svg_bars(&sb, NULL, NULL, v, 2), SEG_ENOMEM);
	strbuf_free(&sb);
}

static void render_all(strbuf *sb)
{
	const char *cats[] = {"C", "C#", "D", "D#", "E"};
	double a[] = {5, 3, 8, NAN, 1}, b[] = {2, 6, 1, 4, 3};
	svg_series s[] = {{"major", a}, {"minor", b}};
	svg_opts o = {0};
	o.title = "Determinism";
	o.value_labels = 1;
	double edges[] = {0, 0.25, 0.5, 0.75, 1};
	assert_int_equal(svg_histogram(sb, &o, edges, b, 4), 0);
	assert_int_equal(svg_bars(sb, &o, cats, a, 5), 0);
	assert_int_equal(svg_columns(sb, &o, cats, 5, s, 2), 0);
	assert_int_equal(svg_lines(sb, &o, cats, 5, s, 2), 0);
	double m[9] = {1, 0.3, -0.2, 0.3, 1, 0.9, -0.2, 0.9, 1};
	svg_matrix mx = {cats, NULL, 3, 3, m, -1, 1};
	assert_int_equal(svg_heatmap(sb, &o, &mx), 0);
	double x[1000], y[1000];
	for (int i = 0; i < 1000; i++) {
		x[i] = sin(i * 0.37);
		y[i] = cos(i * 0.11) * 40 + 50;
	}
	svg_xy p = {NULL, x, y, 1000};
	assert_int_equal(svg_scatter(sb, &o, &p, NULL), 0);
}

static void test_deterministic(void **state)
{
	(void)state;
	strbuf a = {0}, b = {0};
	render_all(&a);
	render_all(&b);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.data, b.data, a.len);
	/* Numbers are printed with at most one decimal. */
	assert_null(strstr(a.data, ".00\""));
	strbuf_free(&a);
	strbuf_free(&b);
}

static void test_palette(void **state)
{
	(void)state;
	assert_string_equal(svg_palette(0), svg_palette(10));
	assert_string_not_equal(svg_palette(0), svg_palette(1));
	assert_int_equal(strlen(svg_palette(3)), 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nice_ticks),
		cmocka_unit_test(test_histogram_geometry),
		cmocka_unit_test(test_columns_geometry),
		cmocka_unit_test(test_bars_proportional),
		cmocka_unit_test(test_intervals),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_long_and_odd_labels),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_nan_and_zero_range),
		cmocka_unit_test(test_scatter_density),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_palette),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
