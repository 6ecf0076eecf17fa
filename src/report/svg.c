/* svg.c: charts as inline SVG (see svg.h). Layout is computed in user units of
 * the viewBox; text widths are estimated from the number of characters, since no
 * font metrics are available, and labels are cut to fit those estimates. */
#include "report/svg.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/utf8.h"

/* ------------------------------------------------------------------------ */
/* Style                                                                     */

/* Ten colours that stay distinct from each other and readable on white. */
/* clang-format off */
static const char *const PALETTE[] = {
	"#3b6fb6", "#e07b28", "#2e9e6a", "#c8414b", "#7b5bb5",
	"#8c6a3f", "#d16ba5", "#5f6b7a", "#9a9a1f", "#2aa3b8",
};
/* clang-format on */
#define NPALETTE (sizeof(PALETTE) / sizeof(PALETTE[0]))

#define FONT_FAMILY "system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif"
#define C_TEXT "#222"
#define C_MUTED "#555"
#define C_GRID "#e6e6e6"
#define C_AXIS "#8a8a8a"

enum { FS_BASE = 12, FS_TICK = 11, FS_TITLE = 14, FS_SMALL = 10 };

/* Average advance of a character as a fraction of the font size (sans-serif). */
#define CHAR_W 0.58

const char *svg_palette(size_t i) { return PALETTE[i % NPALETTE]; }

/* ------------------------------------------------------------------------ */
/* Numbers                                                                   */

/* Appends v rounded to one decimal, without locale and without trailing ".0". */
static void put_num(strbuf *sb, double v)
{
	if (!isfinite(v))
		v = 0;
	if (v > 1e9)
		v = 1e9;
	if (v < -1e9)
		v = -1e9;
	long long t = llround(v * 10.0);
	if (t < 0) {
		strbuf_putc(sb, '-');
		t = -t;
	}
	strbuf_printf(sb, "%lld", t / 10);
	if (t % 10)
		strbuf_printf(sb, ".%lld", t % 10);
}

/* Appends ` name="v"`. */
static void attr(strbuf *sb, const char *name, double v)
{
	strbuf_printf(sb, " %s=\"", name);
	put_num(sb, v);
	strbuf_putc(sb, '"');
}

/* Removes trailing zeros (and a trailing point) from a printed decimal. */
static void trim_zeros(char *buf)
{
	if (strchr(buf, '.') == NULL)
		return;
	size_t n = strlen(buf);
	while (n > 0 && buf[n - 1] == '0')
		buf[--n] = '\0';
	if (n > 0 && buf[n - 1] == '.')
		buf[--n] = '\0';
}

/* Formats v with `dec` decimals; whole numbers of 1000 and more get thousands
 * separators ("12,345"). */
static void fmt_value(char *buf, size_t cap, double v, int dec)
{
	if (!isfinite(v)) {
		snprintf(buf, cap, "n/a");
		return;
	}
	if (dec <= 0 && fabs(v) >= 1000 && fabs(v) < 1e15) {
		long long t = llround(fabs(v));
		char digits[32], out[48];
		int nd = snprintf(digits, sizeof digits, "%lld", t);
		size_t k = 0;
		if (v < 0)
			out[k++] = '-';
		for (int i = 0; i < nd; i++) {
			if (i > 0 && (nd - i) % 3 == 0)
				out[k++] = ',';
			out[k++] = digits[i];
		}
		out[k] = '\0';
		snprintf(buf, cap, "%s", out);
		return;
	}
	snprintf(buf, cap, "%.*f", dec > 0 ? dec : 0, v);
	if (strcmp(buf, "-0") == 0 || (buf[0] == '-' && strspn(buf + 1, "0.") == strlen(buf + 1)))
		memmove(buf, buf + 1, strlen(buf)); /* no "-0.00" */
}

/* Formats a tick value with `dec` decimals, or compactly ("15k", "2.5M") when
 * `compact` (an axis reaching 10,000), so that one axis uses one style. */
static void fmt_tick(char *buf, size_t cap, double v, int dec, int compact)
{
	double a = fabs(v);
	if (compact && dec == 0 && a > 0) {
		double div = a >= 1e6 ? 1e6 : 1e3;
		snprintf(buf, cap, "%.3f", v / div);
		trim_zeros(buf);
		size_t n = strlen(buf);
		if (n + 2 <= cap) {
			buf[n] = div == 1e6 ? 'M' : 'k';
			buf[n + 1] = '\0';
		}
		return;
	}
	if (dec == 0 && a >= 1000 && a < 1e15)
		snprintf(buf, cap, "%.0f", v); /* no separators on an axis */
	else
		fmt_value(buf, cap, v, dec);
}

/* Whether an axis with ticks t should print them compactly. */
static int ticks_compact(const svg_ticks *t) { return t->decimals == 0 && (fabs(t->lo) >= 1e4 || fabs(t->hi) >= 1e4); }

/* Decimals for value labels: opts->decimals if set, otherwise enough for the
 * values' magnitude (none when all are whole numbers). */
static int value_decimals(const svg_opts *o, const double *v, size_t n)
{
	if (o->decimals > 0)
		return o->decimals;
	if (o->decimals < 0)
		return 0;
	int whole = 1;
	double amax = 0;
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(v[i]))
			continue;
		if (v[i] != floor(v[i]))
			whole = 0;
		if (fabs(v[i]) > amax)
			amax = fabs(v[i]);
	}
	if (whole)
		return 0;
	return amax < 10 ? 2 : amax < 100 ? 1 : 0;
}

/* ------------------------------------------------------------------------ */
/* Nice ticks                                                                */

/* The "nice" number (1, 2, 5 or 10 times a power of ten) closest to x > 0. */
static double nice_num(double x)
{
	double e = floor(log10(x));
	double p = pow(10.0, e);
	double f = x / p;
	double nf = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
	return nf * p;
}

void svg_nice_ticks(double min, double max, int target, svg_ticks *t)
{
	if (!isfinite(min) || !isfinite(max)) {
		min = 0;
		max = 1;
	}
	if (min > max) {
		double tmp = min;
		min = max;
		max = tmp;
	}
	if (target < 2)
		target = 2;
	if (max == min) {
		double d = fabs(min) * 0.1;
		if (d == 0) {
			min = 0;
			max = 1;
		} else {
			min -= d;
			max += d;
		}
	}
	/* Heckbert's algorithm first rounds the range up to a nice number, which can
	 * leave the top tick far above the data (2600 -> 0..4000); rounding the step
	 * alone keeps the axis tight (0..3000) at the cost of a tick or two more. */
	double step = nice_num((max - min) / (target - 1));
	/* A small tolerance keeps 0.3 / 0.1 = 2.9999999999999996 from adding a tick. */
	double klo = floor(min / step + 1e-9);
	double khi = ceil(max / step - 1e-9);
	if (khi <= klo)
		khi = klo + 1;
	t->step = step;
	t->lo = klo * step;
	t->hi = khi * step;
	t->n = (int)(khi - klo) + 1;
	int dec = (int)-floor(log10(step) + 1e-9);
	t->decimals = dec > 0 ? dec : 0;
}

/* The i-th tick value, computed from integers so that errors do not accumulate. */
static double tick_at(const svg_ticks *t, int i)
{
	double v = (floor(t->lo / t->step + 0.5) + i) * t->step;
	if (fabs(v) < t->step * 1e-9)
		v = 0;
	return v;
}

/* ------------------------------------------------------------------------ */
/* Text                                                                      */

/* Number of characters `put_text` would print for s without a limit. */
static size_t text_len(const char *s)
{
	size_t n = 0;
	if (s == NULL)
		return 0;
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		size_t k = utf8_seq(p);
		if (k == 0) {
			n++;
			p++;
			continue;
		}
		if (!(k == 1 && (*p < 0x20 || *p == 0x7F)) || *p == '\t' || *p == '\n' || *p == '\r')
			n++;
		p += k;
	}
	return n;
}

/* Appends at most `max` characters of s (max 0: no limit), escaped for XML, with
 * control characters dropped (tab and newline become spaces) and invalid UTF-8
 * replaced by U+FFFD. A cut string ends in an ellipsis within the limit. */
static void put_text(strbuf *sb, const char *s, size_t max)
{
	if (s == NULL)
		return;
	size_t total = text_len(s);
	size_t keep = (max > 0 && total > max) ? (max > 1 ? max - 1 : 0) : total;
	size_t n = 0;
	char tmp[8];
	for (const unsigned char *p = (const unsigned char *)s; *p && n < keep;) {
		size_t k = utf8_seq(p);
		if (k == 0) {
			strbuf_puts(sb, "\xEF\xBF\xBD");
			n++;
			p++;
			continue;
		}
		if (k == 1) {
			if (*p == '\t' || *p == '\n' || *p == '\r') {
				strbuf_putc(sb, ' ');
				n++;
			} else if (*p >= 0x20 && *p != 0x7F) {
				tmp[0] = (char)*p;
				tmp[1] = '\0';
				strbuf_xml(sb, tmp);
				n++;
			}
		} else {
			strbuf_append(sb, (const char *)p, k);
			n++;
		}
		p += k;
	}
	if (keep < total)
		strbuf_puts(sb, "\xE2\x80\xA6"); /* … */
}

/* Appends a label's content: the text cut to `max` characters and, when it was
 * cut, a <title> child holding the whole text as a tooltip. */
static void put_label(strbuf *sb, const char *s, size_t max)
{
	if (s != NULL && max > 0 && text_len(s) > max) {
		strbuf_puts(sb, "<title>");
		put_text(sb, s, 0);
		strbuf_puts(sb, "</title>");
	}
	put_text(sb, s, max);
}

/* Estimated width of s (cut to max characters) at font size fs. */
static double text_w(const char *s, size_t max, double fs)
{
	size_t n = text_len(s);
	if (max > 0 && n > max)
		n = max;
	return (double)n * fs * CHAR_W;
}

/* Number of characters that fit in width w at font size fs (at least 4). */
static size_t fit_chars(double w, double fs)
{
	double n = floor(w / (fs * CHAR_W) + 1e-6);
	return n < 4 ? 4 : (size_t)n;
}

/* Opens a <text> element at (x, y) with the given anchor ("start", "middle",
 * "end"), size and colour; `extra` is appended to the tag (may be ""). */
static void text_open(strbuf *sb, double x, double y, const char *anchor, int fs, const char *fill, const char *extra)
{
	strbuf_puts(sb, "<text");
	attr(sb, "x", x);
	attr(sb, "y", y);
	if (anchor && strcmp(anchor, "start") != 0)
		strbuf_printf(sb, " text-anchor=\"%s\"", anchor);
	if (fs != FS_BASE)
		strbuf_printf(sb, " font-size=\"%d\"", fs);
	if (fill)
		strbuf_printf(sb, " fill=\"%s\"", fill);
	strbuf_printf(sb, "%s>", extra ? extra : "");
}

/* A whole <text> element holding a label. */
static void text_label(strbuf *sb, double x, double y, const char *anchor, int fs, const char *fill, const char *s,
                       size_t max)
{
	text_open(sb, x, y, anchor, fs, fill, "");
	put_label(sb, s, max);
	strbuf_puts(sb, "</text>");
}

/* ------------------------------------------------------------------------ */
/* Colours                                                                   */

typedef struct rgb {
	double r, g, b; /* 0..255 */
} rgb;

static rgb mix(rgb a, rgb b, double t)
{
	if (!(t >= 0))
		t = 0;
	if (t > 1)
		t = 1;
	rgb c = {a.r + (b.r - a.r) * t, a.g + (b.g - a.g) * t, a.b + (b.b - a.b) * t};
	return c;
}

static void put_rgb(strbuf *sb, rgb c)
{
	strbuf_printf(sb, "#%02x%02x%02x", (int)lround(c.r), (int)lround(c.g), (int)lround(c.b));
}

/* Perceived lightness 0..1, to choose black or white text on a cell. */
static double lightness(rgb c) { return (0.299 * c.r + 0.587 * c.g + 0.114 * c.b) / 255.0; }

static const rgb C_NEG = {33, 102, 172};  /* strong blue for -1 */
static const rgb C_MID = {247, 247, 247}; /* near white for 0 */
static const rgb C_POS = {178, 24, 43};   /* strong red for +1 */
static const rgb C_SEQ0 = {238, 243, 250};
static const rgb C_SEQ1 = {31, 78, 140};
static const rgb C_NAN = {238, 238, 238}; /* a missing heatmap cell */

/* Colour of v on a diverging (vmin < 0 < vmax) or sequential scale. */
static rgb scale_colour(double v, double vmin, double vmax)
{
	if (vmin < 0 && vmax > 0) {
		if (v < 0)
			return mix(C_MID, C_NEG, v / vmin);
		return mix(C_MID, C_POS, v / vmax);
	}
	double t = vmax > vmin ? (v - vmin) / (vmax - vmin) : 0.5;
	return mix(C_SEQ0, C_SEQ1, t);
}

/* ------------------------------------------------------------------------ */
/* Frame: the <svg> element, title, legend and plot area                     */

typedef struct legend_item {
	const char *name;
	const char *colour;
	int line; /* 1: drawn as a line sample, 0: as a square */
} legend_item;

enum { LEGEND_MAX_CHARS = 24 };

typedef struct chart {
	strbuf *sb;
	svg_opts o;            /* options with defaults applied */
	double W, H;           /* viewBox size */
	double x0, x1, y0, y1; /* plot area: left, right, top, bottom */
	double title_h;        /* height of the title band */
	int legend_rows;
} chart;

static void opts_defaults(svg_opts *o, const svg_opts *in)
{
	if (in)
		*o = *in;
	else
		memset(o, 0, sizeof(*o));
	if (o->width <= 0)
		o->width = SVG_DEFAULT_WIDTH;
	if (o->width < 120)
		o->width = 120;
}

static double legend_item_w(const legend_item *it) { return 14 + text_w(it->name, LEGEND_MAX_CHARS, FS_TICK) + 14; }

/* Rows the legend needs across the width W (0 without items). */
static int legend_layout_rows(const legend_item *items, size_t n, double W)
{
	if (n == 0)
		return 0;
	int rows = 1;
	double x = 8;
	for (size_t i = 0; i < n; i++) {
		double w = legend_item_w(&items[i]);
		if (x > 8 && x + w > W - 8) {
			rows++;
			x = 8;
		}
		x += w;
	}
	return rows;
}

static void legend_draw(const chart *c, const legend_item *items, size_t n)
{
	strbuf *sb = c->sb;
	double x = 8, y = c->title_h;
	for (size_t i = 0; i < n; i++) {
		double w = legend_item_w(&items[i]);
		if (x > 8 && x + w > c->W - 8) {
			y += SVG_LEGEND_ROW;
			x = 8;
		}
		if (items[i].line) {
			strbuf_puts(sb, "<line");
			attr(sb, "x1", x);
			attr(sb, "y1", y + 9);
			attr(sb, "x2", x + 12);
			attr(sb, "y2", y + 9);
			strbuf_printf(sb, " stroke=\"%s\" stroke-width=\"2.5\"/>", items[i].colour);
		} else {
			strbuf_puts(sb, "<rect");
			attr(sb, "x", x + 1);
			attr(sb, "y", y + 4);
			strbuf_printf(sb, " width=\"10\" height=\"10\" rx=\"2\" fill=\"%s\"/>", items[i].colour);
		}
		text_label(sb, x + 16, y + 13, "start", FS_TICK, C_TEXT, items[i].name, LEGEND_MAX_CHARS);
		x += w;
	}
}

/* Starts the chart: computes the top band (title, legend) and default margins,
 * and opens the <svg> element. The caller may adjust x0/x1/y1 before drawing;
 * `height` is the viewBox height to use (already defaulted by the caller). */
static void chart_begin(chart *c, strbuf *sb, const svg_opts *o, double height, const legend_item *legend,
                        size_t nlegend)
{
	memset(c, 0, sizeof(*c));
	c->sb = sb;
	opts_defaults(&c->o, o);
	c->W = c->o.width;
	c->H = height;
	c->title_h = c->o.title && *c->o.title ? 28 : 4;
	c->legend_rows = legend_layout_rows(legend, nlegend, c->W);
	c->x0 = c->o.y_label && *c->o.y_label ? SVG_MARGIN_LEFT : SVG_MARGIN_LEFT_BARE;
	c->x1 = c->W - SVG_MARGIN_RIGHT;
	c->y0 = c->title_h + c->legend_rows * SVG_LEGEND_ROW + 8;
	c->y1 = c->H - (c->o.x_label && *c->o.x_label ? SVG_MARGIN_BOTTOM : SVG_MARGIN_BOTTOM_BARE);
}

/* Writes the <svg> opening, <title>, visible title and legend. Call once the
 * final height is known. */
static void chart_open(chart *c, const legend_item *legend, size_t nlegend)
{
	strbuf *sb = c->sb;
	const char *title = c->o.title && *c->o.title ? c->o.title : "Chart";
	strbuf_printf(sb,
	              "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" width=\"100%%\""
	              " role=\"img\" font-family=\"%s\" font-size=\"%d\">",
	              (int)lround(c->W), (int)lround(c->H), FONT_FAMILY, FS_BASE);
	strbuf_puts(sb, "<title>");
	put_text(sb, title, 0);
	strbuf_puts(sb, "</title>");
	if (c->o.title && *c->o.title)
		text_label(sb, 8, 19, "start", FS_TITLE, C_TEXT, c->o.title, fit_chars(c->W - 16, FS_TITLE) + 0);
	if (nlegend)
		legend_draw(c, legend, nlegend);
}

static void chart_close(chart *c) { strbuf_puts(c->sb, "</svg>"); }

/* Axis labels: x centred under the plot, y rotated along its left side. */
static void axis_labels(const chart *c)
{
	strbuf *sb = c->sb;
	if (c->o.x_label && *c->o.x_label)
		text_label(sb, (c->x0 + c->x1) / 2, c->H - 10, "middle", FS_BASE, C_MUTED, c->o.x_label,
		           fit_chars(c->x1 - c->x0, FS_BASE));
	if (c->o.y_label && *c->o.y_label) {
		double cy = (c->y0 + c->y1) / 2;
		strbuf_puts(sb, "<text");
		attr(sb, "x", 14);
		attr(sb, "y", cy);
		strbuf_puts(sb, " text-anchor=\"middle\" fill=\"" C_MUTED "\" transform=\"rotate(-90 14 ");
		put_num(sb, cy);
		strbuf_puts(sb, ")\">");
		put_label(sb, c->o.y_label, fit_chars(c->y1 - c->y0, FS_BASE));
		strbuf_puts(sb, "</text>");
	}
}

static void no_data(const chart *c)
{
	text_open(c->sb, (c->x0 + c->x1) / 2, (c->y0 + c->y1) / 2 + 4, "middle", 13, "#888", "");
	strbuf_puts(c->sb, "No data</text>");
}

/* Maps a value to a pixel along [p0, p1] for the domain [d0, d1]. */
static double scale(double v, double d0, double d1, double p0, double p1)
{
	if (d1 == d0)
		return (p0 + p1) / 2;
	return p0 + (v - d0) / (d1 - d0) * (p1 - p0);
}

static double clampd(double v, double lo, double hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Horizontal grid lines and y tick labels for the domain [t->lo, t->hi]
 * (or the fixed domain d0..d1: ticks outside it are not drawn). */
static void y_axis(const chart *c, const svg_ticks *t, double d0, double d1)
{
	strbuf *sb = c->sb;
	char buf[48];
	strbuf_puts(sb, "<g stroke=\"" C_GRID "\">");
	for (int i = 0; i < t->n; i++) {
		double v = tick_at(t, i);
		if (v < d0 - 1e-9 * t->step || v > d1 + 1e-9 * t->step)
			continue;
		double y = scale(v, d0, d1, c->y1, c->y0);
		strbuf_puts(sb, "<line");
		attr(sb, "x1", c->x0);
		attr(sb, "y1", y);
		attr(sb, "x2", c->x1);
		attr(sb, "y2", y);
		strbuf_puts(sb, "/>");
	}
	strbuf_puts(sb, "</g><g text-anchor=\"end\" font-size=\"11\" fill=\"" C_MUTED "\">");
	for (int i = 0; i < t->n; i++) {
		double v = tick_at(t, i);
		if (v < d0 - 1e-9 * t->step || v > d1 + 1e-9 * t->step)
			continue;
		double y = scale(v, d0, d1, c->y1, c->y0);
		fmt_tick(buf, sizeof buf, v, t->decimals, ticks_compact(t));
		strbuf_puts(sb, "<text");
		attr(sb, "x", c->x0 - 6);
		attr(sb, "y", y + 4);
		strbuf_printf(sb, ">%s</text>", buf);
	}
	strbuf_puts(sb, "</g>");
}

/* Vertical grid lines and x tick labels for a numeric x axis. */
static void x_axis(const chart *c, const svg_ticks *t, double d0, double d1, int grid)
{
	strbuf *sb = c->sb;
	char buf[48];
	if (grid) {
		strbuf_puts(sb, "<g stroke=\"" C_GRID "\">");
		for (int i = 0; i < t->n; i++) {
			double v = tick_at(t, i);
			if (v < d0 - 1e-9 * t->step || v > d1 + 1e-9 * t->step)
				continue;
			double x = scale(v, d0, d1, c->x0, c->x1);
			strbuf_puts(sb, "<line");
			attr(sb, "x1", x);
			attr(sb, "y1", c->y0);
			attr(sb, "x2", x);
			attr(sb, "y2", c->y1);
			strbuf_puts(sb, "/>");
		}
		strbuf_puts(sb, "</g>");
	}
	strbuf_puts(sb, "<g text-anchor=\"middle\" font-size=\"11\" fill=\"" C_MUTED "\">");
	for (int i = 0; i < t->n; i++) {
		double v = tick_at(t, i);
		if (v < d0 - 1e-9 * t->step || v > d1 + 1e-9 * t->step)
			continue;
		double x = scale(v, d0, d1, c->x0, c->x1);
		fmt_tick(buf, sizeof buf, v, t->decimals, ticks_compact(t));
		strbuf_puts(sb, "<text");
		attr(sb, "x", x);
		attr(sb, "y", c->y1 + 16);
		strbuf_printf(sb, ">%s</text>", buf);
	}
	strbuf_puts(sb, "</g>");
}

/* A solid axis line from (xa, ya) to (xb, yb). */
static void axis_line(const chart *c, double xa, double ya, double xb, double yb)
{
	strbuf_puts(c->sb, "<line");
	attr(c->sb, "x1", xa);
	attr(c->sb, "y1", ya);
	attr(c->sb, "x2", xb);
	attr(c->sb, "y2", yb);
	strbuf_puts(c->sb, " stroke=\"" C_AXIS "\"/>");
}

static void rect(strbuf *sb, double x, double y, double w, double h)
{
	strbuf_puts(sb, "<rect");
	attr(sb, "x", x);
	attr(sb, "y", y);
	attr(sb, "width", w);
	attr(sb, "height", h);
}

static int finish(strbuf *sb) { return sb->oom ? SEG_ENOMEM : 0; }

/* Number of ticks to aim for along a length in user units. */
static int tick_target(double len, double per)
{
	int n = (int)(len / per);
	return n < 3 ? 3 : n > 10 ? 10 : n;
}

/* ------------------------------------------------------------------------ */
/* Categorical x axis (columns, lines)                                       */

enum { CAT_MAX_CHARS = 18 };

/* Decides whether category labels must be rotated to fit bands of width bw and
 * returns the extra bottom margin that rotation needs (0 when not rotated). */
static double cat_rotation(const char *const *cats, size_t ncat, double bw, int *rotate)
{
	double wmax = 0;
	for (size_t i = 0; i < ncat; i++) {
		double w = text_w(cats ? cats[i] : NULL, CAT_MAX_CHARS, FS_TICK);
		if (w > wmax)
			wmax = w;
	}
	*rotate = wmax > bw - 4;
	if (!*rotate)
		return 0;
	double extra = wmax * 0.64 + 6 - 14; /* sin(40°); the unrotated row is 14 high */
	return clampd(extra, 0, 110);
}

static void cat_labels(const chart *c, const char *const *cats, size_t ncat, int rotate)
{
	strbuf *sb = c->sb;
	double bw = (c->x1 - c->x0) / (double)ncat;
	size_t max = rotate ? CAT_MAX_CHARS : fit_chars(bw, FS_TICK);
	strbuf_printf(sb, "<g text-anchor=\"%s\" font-size=\"11\" fill=\"" C_MUTED "\">", rotate ? "end" : "middle");
	for (size_t i = 0; i < ncat; i++) {
		double x = c->x0 + bw * ((double)i + 0.5);
		double y = c->y1 + (rotate ? 12 : 16);
		strbuf_puts(sb, "<text");
		attr(sb, "x", x);
		attr(sb, "y", y);
		if (rotate) {
			strbuf_puts(sb, " transform=\"rotate(-40 ");
			put_num(sb, x);
			strbuf_putc(sb, ' ');
			put_num(sb, y);
			strbuf_puts(sb, ")\"");
		}
		strbuf_putc(sb, '>');
		put_label(sb, cats ? cats[i] : NULL, max);
		strbuf_puts(sb, "</text>");
	}
	strbuf_puts(sb, "</g>");
}

/* Value domain over all series; include_zero for bars. Returns 0 without values. */
static int series_range(const svg_series *s, size_t ns, size_t ncat, double *lo, double *hi)
{
	int any = 0;
	for (size_t k = 0; k < ns; k++)
		for (size_t i = 0; i < ncat; i++) {
			double v = s[k].values[i];
			if (!isfinite(v))
				continue;
			if (!any || v < *lo)
				*lo = v;
			if (!any || v > *hi)
				*hi = v;
			any = 1;
		}
	return any;
}

/* ------------------------------------------------------------------------ */
/* Histogram                                                                 */

/* Ends a chart that has nothing to draw: its axis line (the left one when
 * `left`, else the bottom one), "No data", the axis labels. */
static int chart_no_data(chart *c, strbuf *sb, int left)
{
	if (left)
		axis_line(c, c->x0, c->y0, c->x0, c->y1);
	else
		axis_line(c, c->x0, c->y1, c->x1, c->y1);
	no_data(c);
	axis_labels(c);
	chart_close(c);
	return finish(sb);
}

/* The horizontal value axis of a chart of bars or intervals over values in
 * lo..hi: the options' fixed range when set, else nice ticks around the
 * values; its domain into *d0, *d1. */
static void value_x_axis(const chart *c, double lo, double hi, double *d0, double *d1)
{
	svg_ticks xt;
	if (c->o.x_fixed && c->o.x_max > c->o.x_min) {
		*d0 = c->o.x_min;
		*d1 = c->o.x_max;
		svg_nice_ticks(*d0, *d1, tick_target(c->x1 - c->x0, 80), &xt);
	} else {
		svg_nice_ticks(lo, hi > lo ? hi : lo + 1, tick_target(c->x1 - c->x0, 80), &xt);
		*d0 = xt.lo;
		*d1 = xt.hi;
	}
	x_axis(c, &xt, *d0, *d1, 1);
}

int svg_histogram(strbuf *sb, const svg_opts *opts, const double *edges, const double *counts, size_t nbins)
{
	if (sb == NULL || (nbins > 0 && (edges == NULL || counts == NULL)))
		return SEG_EINVAL;
	for (size_t i = 0; i < nbins; i++)
		if (!isfinite(edges[i]) || !isfinite(edges[i + 1]) || !(edges[i] < edges[i + 1]))
			return SEG_EINVAL;
	chart c;
	int h = opts && opts->height > 0 ? opts->height : SVG_DEFAULT_HEIGHT;
	chart_begin(&c, sb, opts, h, NULL, 0);
	chart_open(&c, NULL, 0);

	double cmax = 0;
	for (size_t i = 0; i < nbins; i++)
		if (isfinite(counts[i]) && counts[i] > cmax)
			cmax = counts[i];
	if (nbins == 0)
		return chart_no_data(&c, sb, 0);
	svg_ticks yt;
	double d0 = 0, d1;
	if (c.o.y_fixed && c.o.y_max > c.o.y_min) {
		svg_nice_ticks(c.o.y_min, c.o.y_max, tick_target(c.y1 - c.y0, 36), &yt);
		d0 = c.o.y_min;
		d1 = c.o.y_max;
	} else {
		svg_nice_ticks(0, cmax > 0 ? cmax : 1, tick_target(c.y1 - c.y0, 36), &yt);
		d1 = yt.hi;
	}
	double e0 = edges[0], e1 = edges[nbins];
	svg_ticks xt;
	svg_nice_ticks(e0, e1, tick_target(c.x1 - c.x0, 70), &xt);
	y_axis(&c, &yt, d0, d1);

	strbuf_printf(sb, "<g fill=\"%s\" stroke=\"#fff\" stroke-width=\"0.5\">", PALETTE[0]);
	int dec = 0;
	for (size_t i = 0; i <= nbins; i++) {
		double w = i < nbins ? edges[i + 1] - edges[i] : 1;
		int d = w >= 1 ? 0 : (int)ceil(-log10(w) - 1e-9);
		if (d > dec)
			dec = d;
	}
	if (dec > 6)
		dec = 6;
	char a[48], b[48], v[48];
	for (size_t i = 0; i < nbins; i++) {
		double n = isfinite(counts[i]) ? counts[i] : 0;
		if (n <= d0)
			continue;
		double xa = scale(edges[i], e0, e1, c.x0, c.x1);
		double xb = scale(edges[i + 1], e0, e1, c.x0, c.x1);
		double ytop = clampd(scale(n, d0, d1, c.y1, c.y0), c.y0, c.y1);
		rect(sb, xa, ytop, xb - xa, c.y1 - ytop);
		fmt_value(a, sizeof a, edges[i], dec);
		fmt_value(b, sizeof b, edges[i + 1], dec);
		fmt_value(v, sizeof v, n, n == floor(n) ? 0 : 2);
		strbuf_printf(sb, "><title>%s to %s: %s</title></rect>", a, b, v);
	}
	strbuf_puts(sb, "</g>");
	axis_line(&c, c.x0, c.y1, c.x1, c.y1);
	x_axis(&c, &xt, e0, e1, 0);
	axis_labels(&c);
	chart_close(&c);
	return finish(sb);
}

/* ------------------------------------------------------------------------ */
/* Horizontal bars                                                           */

enum { BAR_MAX_CHARS = 32, BAR_ROW = 22 };

int svg_bars(strbuf *sb, const svg_opts *opts, const char *const *labels, const double *values, size_t n)
{
	if (sb == NULL || (n > 0 && values == NULL))
		return SEG_EINVAL;
	svg_opts o;
	opts_defaults(&o, opts);
	int dec = value_decimals(&o, values, n);

	/* Left margin: the longest label, within 40% of the width. */
	double lw = 0, vw = 0;
	char buf[64];
	for (size_t i = 0; i < n; i++) {
		double w = text_w(labels ? labels[i] : NULL, BAR_MAX_CHARS, FS_TICK);
		if (w > lw)
			lw = w;
		if (o.value_labels && isfinite(values[i])) {
			fmt_value(buf, sizeof buf, values[i], dec);
			w = text_w(buf, 0, FS_SMALL);
			if (w > vw)
				vw = w;
		}
	}
	lw = clampd(lw, 24, o.width * 0.4);
	size_t lmax = fit_chars(lw, FS_TICK);

	int rows = n > 0 ? (int)n : 1;
	double top = (o.title && *o.title ? 28 : 4) + 8;
	double bottom = o.x_label && *o.x_label ? SVG_MARGIN_BOTTOM : SVG_MARGIN_BOTTOM_BARE;
	double h = o.height > 0 ? o.height : top + rows * BAR_ROW + bottom;

	chart c;
	chart_begin(&c, sb, &o, h, NULL, 0);
	c.x0 = lw + 14;
	c.x1 = c.W - SVG_MARGIN_RIGHT - (o.value_labels ? vw + 6 : 0);
	if (c.x1 < c.x0 + 40)
		c.x1 = c.x0 + 40;
	chart_open(&c, NULL, 0);
	/* y label is not used: the labels name the rows. */
	c.o.y_label = NULL;

	double lo = 0, hi = 0;
	int any = 0;
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(values[i]))
			continue;
		lo = values[i] < lo ? values[i] : lo;
		hi = values[i] > hi ? values[i] : hi;
		any = 1;
	}
	if (!any)
		return chart_no_data(&c, sb, 1);
	double d0, d1;
	value_x_axis(&c, lo, hi, &d0, &d1);

	double band = (c.y1 - c.y0) / (double)n;
	double thick = band * 0.72;
	double xz = clampd(scale(0, d0, d1, c.x0, c.x1), c.x0, c.x1);
	strbuf_printf(sb, "<g fill=\"%s\">", PALETTE[0]);
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(values[i]))
			continue;
		double xv = clampd(scale(values[i], d0, d1, c.x0, c.x1), c.x0, c.x1);
		double xa = xv < xz ? xv : xz;
		rect(sb, xa, c.y0 + band * (double)i + (band - thick) / 2, fabs(xv - xz), thick);
		strbuf_puts(sb, "><title>");
		put_text(sb, labels ? labels[i] : NULL, 0);
		fmt_value(buf, sizeof buf, values[i], dec);
		strbuf_printf(sb, ": %s</title></rect>", buf);
	}
	strbuf_puts(sb, "</g>");

	strbuf_puts(sb, "<g text-anchor=\"end\" font-size=\"11\" fill=\"" C_TEXT "\">");
	for (size_t i = 0; i < n; i++) {
		strbuf_puts(sb, "<text");
		attr(sb, "x", c.x0 - 6);
		attr(sb, "y", c.y0 + band * ((double)i + 0.5) + 4);
		strbuf_putc(sb, '>');
		put_label(sb, labels ? labels[i] : NULL, lmax);
		strbuf_puts(sb, "</text>");
	}
	strbuf_puts(sb, "</g>");
	if (o.value_labels) {
		strbuf_puts(sb, "<g font-size=\"10\" fill=\"" C_MUTED "\">");
		for (size_t i = 0; i < n; i++) {
			if (!isfinite(values[i]))
				continue;
			double xv = clampd(scale(values[i], d0, d1, c.x0, c.x1), c.x0, c.x1);
			fmt_value(buf, sizeof buf, values[i], dec);
			int neg = values[i] < 0;
			strbuf_puts(sb, "<text");
			attr(sb, "x", neg ? xz + 4 : xv + 4);
			attr(sb, "y", c.y0 + band * ((double)i + 0.5) + 3.5);
			strbuf_printf(sb, ">%s</text>", buf);
		}
		strbuf_puts(sb, "</g>");
	}
	axis_line(&c, xz, c.y0, xz, c.y1);
	axis_labels(&c);
	chart_close(&c);
	return finish(sb);
}

/* ------------------------------------------------------------------------ */
/* Intervals (forest plot)                                                   */

int svg_intervals(strbuf *sb, const svg_opts *opts, const svg_interval *rows, size_t n, double ref)
{
	if (sb == NULL || (n > 0 && rows == NULL))
		return SEG_EINVAL;
	svg_opts o;
	opts_defaults(&o, opts);
	int dec = o.decimals != 0 ? o.decimals : 1;

	/* Left margin: the longest label, within 40% of the width. */
	double lw = 0;
	for (size_t i = 0; i < n; i++) {
		double w = text_w(rows[i].label, BAR_MAX_CHARS, FS_TICK);
		lw = w > lw ? w : lw;
	}
	lw = clampd(lw, 24, o.width * 0.4);
	size_t lmax = fit_chars(lw, FS_TICK);

	int nrows = n > 0 ? (int)n : 1;
	double top = (o.title && *o.title ? 28 : 4) + 8;
	double bottom = o.x_label && *o.x_label ? SVG_MARGIN_BOTTOM : SVG_MARGIN_BOTTOM_BARE;
	double h = o.height > 0 ? o.height : top + nrows * BAR_ROW + bottom;

	chart c;
	chart_begin(&c, sb, &o, h, NULL, 0);
	c.x0 = lw + 14;
	if (c.x1 < c.x0 + 40)
		c.x1 = c.x0 + 40;
	chart_open(&c, NULL, 0);
	c.o.y_label = NULL; /* the labels name the rows */

	double lo = isfinite(ref) ? ref : INFINITY, hi = isfinite(ref) ? ref : -INFINITY;
	int any = 0;
	for (size_t i = 0; i < n; i++) {
		const double v[3] = {rows[i].value, rows[i].lo, rows[i].hi};
		for (int k = 0; k < 3; k++)
			if (isfinite(v[k])) {
				lo = v[k] < lo ? v[k] : lo;
				hi = v[k] > hi ? v[k] : hi;
				any |= k == 0;
			}
	}
	if (!any)
		return chart_no_data(&c, sb, 1);
	double d0, d1;
	value_x_axis(&c, lo, hi, &d0, &d1);
	if (isfinite(ref) && ref >= d0 && ref <= d1) {
		double xr = scale(ref, d0, d1, c.x0, c.x1);
		strbuf_puts(sb, "<line");
		attr(sb, "x1", xr);
		attr(sb, "y1", c.y0);
		attr(sb, "x2", xr);
		attr(sb, "y2", c.y1);
		strbuf_puts(sb, " stroke=\"" C_AXIS "\" stroke-dasharray=\"4 3\"/>");
	}

	double band = (c.y1 - c.y0) / (double)n;
	char b0[48], b1[48], b2[48];
	for (size_t i = 0; i < n; i++) {
		const svg_interval *r = &rows[i];
		double y = c.y0 + band * ((double)i + 0.5);
		const char *col = PALETTE[(size_t)(r->colour < 0 ? 0 : r->colour) % NPALETTE];
		strbuf_printf(sb, "<g stroke=\"%s\" fill=\"%s\"><title>", col, col);
		put_text(sb, r->label, 0);
		fmt_value(b0, sizeof b0, r->value, dec);
		strbuf_printf(sb, ": %s", b0);
		if (isfinite(r->lo) && isfinite(r->hi)) {
			fmt_value(b1, sizeof b1, r->lo, dec);
			fmt_value(b2, sizeof b2, r->hi, dec);
			strbuf_printf(sb, " (%s to %s)", b1, b2);
		}
		strbuf_puts(sb, "</title>");
		if (isfinite(r->lo) && isfinite(r->hi)) {
			double xa = clampd(scale(r->lo, d0, d1, c.x0, c.x1), c.x0, c.x1);
			double xb = clampd(scale(r->hi, d0, d1, c.x0, c.x1), c.x0, c.x1);
			strbuf_puts(sb, "<path d=\"M");
			put_num(sb, xa);
			strbuf_putc(sb, ' ');
			put_num(sb, y);
			strbuf_puts(sb, "H");
			put_num(sb, xb);
			strbuf_puts(sb, "M");
			put_num(sb, xa);
			strbuf_putc(sb, ' ');
			put_num(sb, y - 5);
			strbuf_puts(sb, "v10M");
			put_num(sb, xb);
			strbuf_putc(sb, ' ');
			put_num(sb, y - 5);
			strbuf_puts(sb, "v10\" stroke-width=\"2\" fill=\"none\"/>");
		}
		if (isfinite(r->value)) {
			strbuf_puts(sb, "<circle");
			attr(sb, "cx", clampd(scale(r->value, d0, d1, c.x0, c.x1), c.x0, c.x1));
			attr(sb, "cy", y);
			strbuf_puts(sb, " r=\"4\"/>");
			strbuf_puts(sb, "</g>");
		} else {
			strbuf_puts(sb, "</g>");
			text_open(sb, c.x0 + 4, y + 4, "start", FS_SMALL, C_MUTED, "");
			strbuf_puts(sb, "n/a</text>");
		}
	}
	strbuf_puts(sb, "<g text-anchor=\"end\" font-size=\"11\" fill=\"" C_TEXT "\">");
	for (size_t i = 0; i < n; i++) {
		strbuf_puts(sb, "<text");
		attr(sb, "x", c.x0 - 6);
		attr(sb, "y", c.y0 + band * ((double)i + 0.5) + 4);
		strbuf_putc(sb, '>');
		put_label(sb, rows[i].label, lmax);
		strbuf_puts(sb, "</text>");
	}
	strbuf_puts(sb, "</g>");
	axis_line(&c, c.x0, c.y1, c.x1, c.y1);
	axis_labels(&c);
	chart_close(&c);
	return finish(sb);
}

/* ------------------------------------------------------------------------ */
/* Columns                                                                   */

/* Checks the arguments shared by svg_columns and svg_lines. */
static int check_series(size_t ncat, const svg_series *s, size_t ns)
{
	if (ns > 0 && s == NULL)
		return SEG_EINVAL;
	for (size_t k = 0; k < ns; k++)
		if (ncat > 0 && s[k].values == NULL)
			return SEG_EINVAL;
	return 0;
}

/* Legend items for series (palette colours), at most `cap`. */
static size_t series_legend(const svg_series *s, size_t ns, legend_item *items, size_t cap, int line)
{
	size_t n = ns < cap ? ns : cap;
	for (size_t k = 0; k < n; k++) {
		items[k].name = s[k].name ? s[k].name : "";
		items[k].colour = PALETTE[k % NPALETTE];
		items[k].line = line;
	}
	return n;
}

enum { LEGEND_CAP = 32 };

/* The start that charts over categories (columns, lines) share: the frame,
 * with room below for the category labels (rotated where they do not fit:
 * *rotate), and the y axis over the fixed range or the series' one (*d0,
 * *d1; widened to take 0 when zero_based, for bars that grow from it).
 * Returns 0 when no value is finite: the chart is then complete, saying so. */
static int category_chart(chart *c, strbuf *sb, const svg_opts *opts, const legend_item *leg, size_t nleg,
                          const char *const *categories, size_t ncat, const svg_series *series, size_t nseries,
                          int zero_based, int *rotate, double *d0, double *d1)
{
	int h = opts && opts->height > 0 ? opts->height : SVG_DEFAULT_HEIGHT;
	chart_begin(c, sb, opts, h, leg, nleg);
	*rotate = 0;
	double lo = 0, hi = 0;
	int any = ncat > 0 && nseries > 0 && series_range(series, nseries, ncat, &lo, &hi);
	if (ncat > 0) {
		c->y1 -= cat_rotation(categories, ncat, (c->x1 - c->x0) / (double)ncat, rotate);
		if (c->y1 < c->y0 + 40) {
			c->H += c->y0 + 40 - c->y1;
			c->y1 = c->y0 + 40;
		}
	}
	chart_open(c, leg, nleg);
	if (!any) {
		axis_line(c, c->x0, c->y1, c->x1, c->y1);
		no_data(c);
		axis_labels(c);
		chart_close(c);
		return 0;
	}
	if (zero_based) {
		lo = lo > 0 ? 0 : lo;
		hi = hi < 0 ? 0 : hi;
		hi = hi > lo ? hi : lo + 1;
	}
	svg_ticks yt;
	if (c->o.y_fixed && c->o.y_max > c->o.y_min) {
		*d0 = c->o.y_min;
		*d1 = c->o.y_max;
		svg_nice_ticks(*d0, *d1, tick_target(c->y1 - c->y0, 36), &yt);
	} else {
		svg_nice_ticks(lo, hi, tick_target(c->y1 - c->y0, 36), &yt);
		*d0 = yt.lo;
		*d1 = yt.hi;
	}
	y_axis(c, &yt, *d0, *d1);
	return 1;
}

int svg_columns(strbuf *sb, const svg_opts *opts, const char *const *categories, size_t ncat, const svg_series *series,
                size_t nseries)
{
	if (sb == NULL || check_series(ncat, series, nseries) < 0)
		return SEG_EINVAL;
	legend_item leg[LEGEND_CAP];
	memset(leg, 0, sizeof(leg));
	size_t nleg = nseries > 1 ? series_legend(series, nseries, leg, LEGEND_CAP, 0) : 0;
	chart c;
	int rotate;
	double d0, d1;
	if (!category_chart(&c, sb, opts, leg, nleg, categories, ncat, series, nseries, 1, &rotate, &d0, &d1))
		return finish(sb);

	double bw = (c.x1 - c.x0) / (double)ncat;
	double gw = bw * 0.8;
	double sw = gw / (double)nseries;
	double yz = clampd(scale(0, d0, d1, c.y1, c.y0), c.y0, c.y1);
	char buf[64];
	for (size_t k = 0; k < nseries; k++) {
		int dec = value_decimals(&c.o, series[k].values, ncat);
		strbuf_printf(sb, "<g fill=\"%s\">", PALETTE[k % NPALETTE]);
		for (size_t i = 0; i < ncat; i++) {
			double v = series[k].values[i];
			if (!isfinite(v))
				continue;
			double yv = clampd(scale(v, d0, d1, c.y1, c.y0), c.y0, c.y1);
			double x = c.x0 + bw * (double)i + (bw - gw) / 2 + sw * (double)k;
			rect(sb, x, yv < yz ? yv : yz, sw, fabs(yz - yv));
			strbuf_puts(sb, "><title>");
			put_text(sb, categories ? categories[i] : NULL, 0);
			if (nseries > 1 && series[k].name) {
				strbuf_puts(sb, ", ");
				put_text(sb, series[k].name, 0);
			}
			fmt_value(buf, sizeof buf, v, dec);
			strbuf_printf(sb, ": %s</title></rect>", buf);
		}
		strbuf_puts(sb, "</g>");
	}
	if (c.o.value_labels) {
		strbuf_puts(sb, "<g text-anchor=\"middle\" font-size=\"10\" fill=\"" C_MUTED "\">");
		for (size_t k = 0; k < nseries; k++) {
			int dec = value_decimals(&c.o, series[k].values, ncat);
			for (size_t i = 0; i < ncat; i++) {
				double v = series[k].values[i];
				if (!isfinite(v))
					continue;
				double yv = clampd(scale(v, d0, d1, c.y1, c.y0), c.y0, c.y1);
				double x = c.x0 + bw * (double)i + (bw - gw) / 2 + sw * ((double)k + 0.5);
				fmt_value(buf, sizeof buf, v, dec);
				strbuf_puts(sb, "<text");
				attr(sb, "x", x);
				attr(sb, "y", v < 0 ? yv + 11 : yv - 3);
				strbuf_printf(sb, ">%s</text>", buf);
			}
		}
		strbuf_puts(sb, "</g>");
	}
	axis_line(&c, c.x0, yz, c.x1, yz);
	cat_labels(&c, categories, ncat, rotate);
	axis_labels(&c);
	chart_close(&c);
	return finish(sb);
}

/* ------------------------------------------------------------------------ */
/* Lines                                                                     */

int svg_lines(strbuf *sb, const svg_opts *opts, const char *const *categories, size_t ncat, const svg_series *series,
              size_t nseries)
{
	if (sb == NULL || check_series(ncat, series, nseries) < 0)
		return SEG_EINVAL;
	legend_item leg[LEGEND_CAP];
	memset(leg, 0, sizeof(leg));
	int named = 0;
	for (size_t k = 0; k < nseries; k++)
		named |= series[k].name != NULL && series[k].name[0] != '\0';
	size_t nleg = named ? series_legend(series, nseries, leg, LEGEND_CAP, 1) : 0;
	chart c;
	int rotate;
	double d0, d1;
	if (!category_chart(&c, sb, opts, leg, nleg, categories, ncat, series, nseries, 0, &rotate, &d0, &d1))
		return finish(sb);
	double bw = (c.x1 - c.x0) / (double)ncat;
	char buf[64];
	for (size_t k = 0; k < nseries; k++) {
		const double *v = series[k].values;
		const char *col = PALETTE[k % NPALETTE];
		int dec = value_decimals(&c.o, v, ncat);
		strbuf_printf(sb, "<g stroke=\"%s\" fill=\"%s\">", col, col);
		/* One polyline per run of present values. */
		size_t i = 0;
		while (i < ncat) {
			while (i < ncat && !isfinite(v[i]))
				i++;
			size_t j = i;
			while (j < ncat && isfinite(v[j]))
				j++;
			if (j - i >= 2) {
				strbuf_puts(sb, "<polyline fill=\"none\" stroke-width=\"2\" stroke-linejoin=\"round\" "
				                "points=\"");
				for (size_t p = i; p < j; p++) {
					if (p > i)
						strbuf_putc(sb, ' ');
					put_num(sb, c.x0 + bw * ((double)p + 0.5));
					strbuf_putc(sb, ',');
					put_num(sb, clampd(scale(v[p], d0, d1, c.y1, c.y0), c.y0, c.y1));
				}
				strbuf_puts(sb, "\"/>");
			}
			i = j;
		}
		for (size_t p = 0; p < ncat; p++) {
			if (!isfinite(v[p]))
				continue;
			strbuf_puts(sb, "<circle");
			attr(sb, "cx", c.x0 + bw * ((double)p + 0.5));
			attr(sb, "cy", clampd(scale(v[p], d0, d1, c.y1, c.y0), c.y0, c.y1));
			strbuf_puts(sb, " r=\"3\" stroke=\"none\"><title>");
			if (series[k].name && *series[k].name) {
				put_text(sb, series[k].name, 0);
				strbuf_puts(sb, ", ");
			}
			put_text(sb, categories ? categories[p] : NULL, 0);
			fmt_value(buf, sizeof buf, v[p], dec);
			strbuf_printf(sb, ": %s</title></circle>", buf);
		}
		strbuf_puts(sb, "</g>");
	}
	axis_line(&c, c.x0, c.y1, c.x1, c.y1);
	cat_labels(&c, categories, ncat, rotate);
	axis_labels(&c);
	chart_close(&c);
	return finish(sb);
}

/* ------------------------------------------------------------------------ */
/* Heatmap                                                                   */

enum { HEAT_MAX_CHARS = 22, HEAT_KEY_W = 64, HEAT_MAX_CELL = 48, HEAT_KEY_STEPS = 10 };

int svg_heatmap(strbuf *sb, const svg_opts *opts, const svg_matrix *m)
{
	if (sb == NULL || m == NULL || (m->rows > 0 && m->cols > 0 && m->values == NULL))
		return SEG_EINVAL;
	svg_opts o;
	opts_defaults(&o, opts);
	size_t R = m->rows, C = m->cols;
	const char *const *rl = m->row_labels;
	const char *const *cl = m->col_labels ? m->col_labels : m->row_labels;

	/* Colour domain. */
	double vmin = m->vmin, vmax = m->vmax;
	if (!(vmin < vmax)) {
		int any = 0;
		for (size_t i = 0; i < R * C; i++) {
			double v = m->values[i];
			if (!isfinite(v))
				continue;
			if (!any || v < vmin)
				vmin = v;
			if (!any || v > vmax)
				vmax = v;
			any = 1;
		}
		if (!any) {
			vmin = 0;
			vmax = 1;
		}
	}

	double lw = 0, cw = 0;
	for (size_t i = 0; i < R; i++) {
		double w = text_w(rl ? rl[i] : NULL, HEAT_MAX_CHARS, FS_TICK);
		lw = w > lw ? w : lw;
	}
	for (size_t j = 0; j < C; j++) {
		double w = text_w(cl ? cl[j] : NULL, HEAT_MAX_CHARS, FS_TICK);
		cw = w > cw ? w : cw;
	}
	lw = clampd(lw, 16, o.width * 0.35);
	double top = (o.title && *o.title ? 28 : 4) + 8;
	double x0 = lw + 12;
	double avail_w = o.width - x0 - HEAT_KEY_W - SVG_MARGIN_RIGHT;
	double cell = C > 0 ? avail_w / (double)C : HEAT_MAX_CELL;
	if (cell > HEAT_MAX_CELL)
		cell = HEAT_MAX_CELL;
	if (cell < 4)
		cell = 4;
	int rotate = C > 0 && cw > cell - 4;
	double bottom = (rotate ? clampd(cw * 0.64 + 14, 24, 120) : 24) + (o.x_label && *o.x_label ? 20 : 0);
	double h;
	if (o.height > 0) {
		h = o.height;
		double ch = R > 0 ? (h - top - bottom) / (double)R : cell;
		if (ch < cell)
			cell = ch < 4 ? 4 : ch;
	} else {
		h = top + (double)(R > 0 ? R : 4) * cell + bottom;
		if (h < top + bottom + 60)
			h = top + bottom + 60;
	}

	chart c;
	chart_begin(&c, sb, &o, h, NULL, 0);
	c.x0 = x0;
	c.x1 = x0 + cell * (double)C;
	c.y0 = top;
	c.y1 = top + cell * (double)R;
	c.o.y_label = NULL;
	chart_open(&c, NULL, 0);
	if (R == 0 || C == 0) {
		c.x1 = c.W - SVG_MARGIN_RIGHT;
		c.y1 = c.H - bottom;
		no_data(&c);
		chart_close(&c);
		return finish(sb);
	}
	int dec = o.decimals > 0 ? o.decimals : o.decimals < 0 ? 0 : 2;
	int show = o.value_labels && cell >= 22;
	int fs = cell >= 36 ? 11 : 10;
	char buf[64];
	for (size_t i = 0; i < R; i++) {
		for (size_t j = 0; j < C; j++) {
			double v = m->values[i * C + j];
			double x = c.x0 + cell * (double)j, y = c.y0 + cell * (double)i;
			rect(sb, x, y, cell, cell);
			rgb col = isfinite(v) ? scale_colour(v, vmin, vmax) : C_NAN;
			strbuf_puts(sb, " fill=\"");
			put_rgb(sb, col);
			strbuf_puts(sb, "\" stroke=\"#fff\"><title>");
			put_text(sb, rl ? rl[i] : NULL, 0);
			strbuf_puts(sb, " \xC3\x97 "); /* × */
			put_text(sb, cl ? cl[j] : NULL, 0);
			fmt_value(buf, sizeof buf, v, dec);
			strbuf_printf(sb, ": %s</title></rect>", buf);
			if (show && isfinite(v)) {
				text_open(sb, x + cell / 2, y + cell / 2 + fs * 0.35, "middle", fs,
				          lightness(col) < 0.55 ? "#fff" : C_TEXT, "");
				strbuf_printf(sb, "%s</text>", buf);
			}
		}
	}
	/* Row labels on the left, column labels underneath. */
	strbuf_puts(sb, "<g text-anchor=\"end\" font-size=\"11\" fill=\"" C_TEXT "\">");
	size_t rmax = fit_chars(lw, FS_TICK);
	for (size_t i = 0; i < R; i++) {
		strbuf_puts(sb, "<text");
		attr(sb, "x", c.x0 - 6);
		attr(sb, "y", c.y0 + cell * ((double)i + 0.5) + 4);
		strbuf_putc(sb, '>');
		put_label(sb, rl ? rl[i] : NULL, rmax > HEAT_MAX_CHARS ? HEAT_MAX_CHARS : rmax);
		strbuf_puts(sb, "</text>");
	}
	strbuf_puts(sb, "</g>");
	strbuf_printf(sb, "<g text-anchor=\"%s\" font-size=\"11\" fill=\"" C_TEXT "\">", rotate ? "end" : "middle");
	for (size_t j = 0; j < C; j++) {
		double x = c.x0 + cell * ((double)j + 0.5), y = c.y1 + (rotate ? 10 : 16);
		strbuf_puts(sb, "<text");
		attr(sb, "x", rotate ? x + 3 : x);
		attr(sb, "y", y);
		if (rotate) {
			strbuf_puts(sb, " transform=\"rotate(-40 ");
			put_num(sb, x + 3);
			strbuf_putc(sb, ' ');
			put_num(sb, y);
			strbuf_puts(sb, ")\"");
		}
		strbuf_putc(sb, '>');
		put_label(sb, cl ? cl[j] : NULL, HEAT_MAX_CHARS);
		strbuf_puts(sb, "</text>");
	}
	strbuf_puts(sb, "</g>");

	/* Colour key: HEAT_KEY_STEPS swatches from vmax (top) to vmin (bottom). */
	double kx = c.x1 + 14, kh = clampd(c.y1 - c.y0, 60, 180);
	double sh = kh / HEAT_KEY_STEPS;
	for (int s = 0; s < HEAT_KEY_STEPS; s++) {
		double t = 1 - ((double)s + 0.5) / HEAT_KEY_STEPS;
		rect(sb, kx, c.y0 + sh * s, 12, sh + 0.2);
		strbuf_puts(sb, " fill=\"");
		put_rgb(sb, scale_colour(vmin + (vmax - vmin) * t, vmin, vmax));
		strbuf_puts(sb, "\"/>");
	}
	int kdec = dec;
	strbuf_puts(sb, "<g font-size=\"10\" fill=\"" C_MUTED "\">");
	double kv[3] = {vmax, vmin < 0 && vmax > 0 ? 0 : (vmin + vmax) / 2, vmin};
	for (int s = 0; s < 3; s++) {
		fmt_value(buf, sizeof buf, kv[s], kdec);
		strbuf_puts(sb, "<text");
		attr(sb, "x", kx + 16);
		attr(sb, "y", c.y0 + kh * s / 2 + (s == 0 ? 8 : s == 2 ? 0 : 4));
		strbuf_printf(sb, ">%s</text>", buf);
	}
	strbuf_puts(sb, "</g>");
	if (o.x_label && *o.x_label)
		text_label(sb, (c.x0 + c.x1) / 2, c.H - 8, "middle", FS_BASE, C_MUTED, o.x_label,
		           fit_chars(c.W - 16, FS_BASE));
	chart_close(&c);
	return finish(sb);
}

/* ------------------------------------------------------------------------ */
/* Scatter                                                                   */

enum { DENSITY_CELL = 10, DENSITY_MAX_X = 64, DENSITY_MAX_Y = 48 };

static const rgb C_DENS0 = {214, 227, 243}; /* one point */
static const rgb C_DENS1 = {24, 58, 110};   /* the densest cell */

int svg_scatter(strbuf *sb, const svg_opts *opts, const svg_xy *points, const svg_xy *overlay)
{
	if (sb == NULL || (points && points->n > 0 && (points->x == NULL || points->y == NULL)) ||
	    (overlay && overlay->n > 0 && (overlay->x == NULL || overlay->y == NULL)))
		return SEG_EINVAL;
	size_t n = points ? points->n : 0;
	legend_item leg[2];
	memset(leg, 0, sizeof(leg));
	size_t nleg = 0;
	if (overlay && overlay->name && *overlay->name && overlay->n > 0) {
		leg[nleg].name = points && points->name && *points->name ? points->name : "points";
		leg[nleg].colour = PALETTE[0];
		leg[nleg++].line = 0;
		leg[nleg].name = overlay->name;
		leg[nleg].colour = PALETTE[1];
		leg[nleg++].line = 1;
	}
	chart c;
	int h = opts && opts->height > 0 ? opts->height : SVG_DEFAULT_HEIGHT;
	chart_begin(&c, sb, opts, h, leg, nleg);

	/* Domains from the finite points (and the overlay), unless fixed. */
	double xl = 0, xh = 0, yl = 0, yh = 0;
	size_t nfin = 0;
	for (size_t i = 0; i < n; i++) {
		double x = points->x[i], y = points->y[i];
		if (!isfinite(x) || !isfinite(y))
			continue;
		if (nfin == 0 || x < xl)
			xl = x;
		if (nfin == 0 || x > xh)
			xh = x;
		if (nfin == 0 || y < yl)
			yl = y;
		if (nfin == 0 || y > yh)
			yh = y;
		nfin++;
	}
	chart_open(&c, leg, nleg);
	if (nfin == 0)
		return chart_no_data(&c, sb, 0);
	svg_ticks xt, yt;
	double dx0, dx1, dy0, dy1;
	if (c.o.x_fixed && c.o.x_max > c.o.x_min) {
		dx0 = c.o.x_min;
		dx1 = c.o.x_max;
		svg_nice_ticks(dx0, dx1, tick_target(c.x1 - c.x0, 70), &xt);
	} else {
		svg_nice_ticks(xl, xh, tick_target(c.x1 - c.x0, 70), &xt);
		dx0 = xt.lo;
		dx1 = xt.hi;
	}
	if (c.o.y_fixed && c.o.y_max > c.o.y_min) {
		dy0 = c.o.y_min;
		dy1 = c.o.y_max;
		svg_nice_ticks(dy0, dy1, tick_target(c.y1 - c.y0, 36), &yt);
	} else {
		svg_nice_ticks(yl, yh, tick_target(c.y1 - c.y0, 36), &yt);
		dy0 = yt.lo;
		dy1 = yt.hi;
	}
	y_axis(&c, &yt, dy0, dy1);
	x_axis(&c, &xt, dx0, dx1, 1);

	char buf[64];
	if (nfin <= SVG_SCATTER_MAX_POINTS) {
		strbuf_printf(sb, "<g fill=\"%s\" fill-opacity=\"0.55\">", PALETTE[0]);
		for (size_t i = 0; i < n; i++) {
			double x = points->x[i], y = points->y[i];
			if (!isfinite(x) || !isfinite(y) || x < dx0 || x > dx1 || y < dy0 || y > dy1)
				continue;
			strbuf_puts(sb, "<circle");
			attr(sb, "cx", scale(x, dx0, dx1, c.x0, c.x1));
			attr(sb, "cy", scale(y, dy0, dy1, c.y1, c.y0));
			strbuf_puts(sb, " r=\"2.5\"/>");
		}
		strbuf_puts(sb, "</g>");
	} else {
		/* Density grid: cells of about DENSITY_CELL units, shaded on a log scale
		 * so that sparse regions stay visible next to dense ones. */
		int nx = (int)((c.x1 - c.x0) / DENSITY_CELL), ny = (int)((c.y1 - c.y0) / DENSITY_CELL);
		nx = nx < 4 ? 4 : nx > DENSITY_MAX_X ? DENSITY_MAX_X : nx;
		ny = ny < 4 ? 4 : ny > DENSITY_MAX_Y ? DENSITY_MAX_Y : ny;
		size_t *cnt = calloc((size_t)nx * (size_t)ny, sizeof(*cnt)); /* [ny][nx] */
		if (cnt == NULL) {
			sb->oom = 1;
			return SEG_ENOMEM;
		}
		size_t cmax = 0;
		for (size_t i = 0; i < n; i++) {
			double x = points->x[i], y = points->y[i];
			if (!isfinite(x) || !isfinite(y) || x < dx0 || x > dx1 || y < dy0 || y > dy1)
				continue;
			int bx = (int)((x - dx0) / (dx1 - dx0) * nx);
			int by = (int)((y - dy0) / (dy1 - dy0) * ny);
			bx = bx >= nx ? nx - 1 : bx;
			by = by >= ny ? ny - 1 : by;
			size_t k = ++cnt[(size_t)by * (size_t)nx + (size_t)bx];
			cmax = k > cmax ? k : cmax;
		}
		double cw = (c.x1 - c.x0) / nx, ch = (c.y1 - c.y0) / ny;
		double lmax = log1p((double)cmax);
		strbuf_puts(sb, "<g>");
		for (int by = 0; by < ny; by++)
			for (int bx = 0; bx < nx; bx++) {
				size_t k = cnt[(size_t)by * (size_t)nx + (size_t)bx];
				if (k == 0)
					continue;
				double t = lmax > log1p(1) ? (log1p((double)k) - log1p(1)) / (lmax - log1p(1)) : 1;
				/* Slight overlap hides hairline gaps from rounding. */
				rect(sb, c.x0 + cw * bx, c.y1 - ch * (by + 1), cw + 0.2, ch + 0.2);
				strbuf_puts(sb, " fill=\"");
				put_rgb(sb, mix(C_DENS0, C_DENS1, t));
				strbuf_puts(sb, "\"/>");
			}
		strbuf_puts(sb, "</g>");
		free(cnt);
		fmt_value(buf, sizeof buf, (double)nfin, 0);
		text_open(sb, c.x1, c.y0 - 5, "end", FS_SMALL, C_MUTED, "");
		strbuf_printf(sb, "n = %s</text>", buf);
	}
	if (overlay && overlay->n > 0) {
		strbuf_printf(sb, "<g stroke=\"%s\" fill=\"%s\">", PALETTE[1], PALETTE[1]);
		size_t i = 0, m = overlay->n;
		const double *ox = overlay->x, *oy = overlay->y;
		while (i < m) {
			while (i < m && !(isfinite(ox[i]) && isfinite(oy[i])))
				i++;
			size_t j = i;
			while (j < m && isfinite(ox[j]) && isfinite(oy[j]))
				j++;
			if (j - i >= 2) {
				strbuf_puts(sb, "<polyline fill=\"none\" stroke-width=\"2.5\" "
				                "stroke-linejoin=\"round\" points=\"");
				for (size_t p = i; p < j; p++) {
					if (p > i)
						strbuf_putc(sb, ' ');
					put_num(sb, clampd(scale(ox[p], dx0, dx1, c.x0, c.x1), c.x0, c.x1));
					strbuf_putc(sb, ',');
					put_num(sb, clampd(scale(oy[p], dy0, dy1, c.y1, c.y0), c.y0, c.y1));
				}
				strbuf_puts(sb, "\"/>");
			}
			i = j;
		}
		for (size_t p = 0; p < m; p++) {
			if (!isfinite(ox[p]) || !isfinite(oy[p]))
				continue;
			strbuf_puts(sb, "<circle");
			attr(sb, "cx", clampd(scale(ox[p], dx0, dx1, c.x0, c.x1), c.x0, c.x1));
			attr(sb, "cy", clampd(scale(oy[p], dy0, dy1, c.y1, c.y0), c.y0, c.y1));
			strbuf_puts(sb, " r=\"3\" stroke=\"#fff\" stroke-width=\"1\"/>");
		}
		strbuf_puts(sb, "</g>");
	}
	axis_line(&c, c.x0, c.y1, c.x1, c.y1);
	axis_line(&c, c.x0, c.y0, c.x0, c.y1);
	axis_labels(&c);
	chart_close(&c);
	return finish(sb);
}
