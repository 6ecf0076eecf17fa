/* svg.h: charts drawn as self-contained inline SVG appended to a strbuf, for the
 * static EDA report and the web dashboard. It draws only: it does not query,
 * aggregate or bin data beyond what a chart needs to stay small (scatter density).
 *
 * Every chart is one <svg> element with a <title>, a viewBox and width="100%",
 * so it scales to its container; it uses no external fonts, CSS, scripts or ids,
 * so any number of charts can sit in one HTML page. Output is a pure function of
 * the input (same input, same bytes). Coordinates are printed with one decimal,
 * without the locale; tick and value labels use printf, so the caller must keep
 * LC_NUMERIC at "C" (segue never changes it).
 *
 * Common behaviour of the svg_* drawing functions:
 *   - they return 0, SEG_EINVAL for bad arguments (sb NULL, or n > 0 with a NULL
 *     array), or SEG_ENOMEM when sb ran out of memory (sb->oom). On SEG_EINVAL
 *     nothing is appended; on SEG_ENOMEM sb holds whatever strbuf kept.
 *   - opts may be NULL (defaults); zero fields take defaults.
 *   - NaN and infinite values are skipped; a chart with nothing to draw shows
 *     its frame and the words "No data".
 *   - labels are UTF-8; NULL means ""; control characters are dropped, and labels
 *     longer than the chart allows are cut with an ellipsis (the full text stays
 *     available as a tooltip).
 */
#ifndef SEGUE_SVG_H
#define SEGUE_SVG_H

#include <stddef.h>

#include "core/strbuf.h"

/* Margins of the plot area inside the viewBox for the axis charts (histogram,
 * columns, lines, scatter), in user units. The top margin holds the title and the
 * legend; the bottom one the x tick labels and the x axis label. They grow when a
 * chart has a legend or rotated category labels, and shrink when title or axis
 * labels are absent (SVG_MARGIN_TOP_BARE, SVG_MARGIN_BOTTOM_BARE, ...). */
/* clang-format off */
enum {
	SVG_MARGIN_LEFT = 64,        /* y tick labels and the rotated y axis label */
	SVG_MARGIN_LEFT_BARE = 48,   /* ... without a y axis label */
	SVG_MARGIN_RIGHT = 16,
	SVG_MARGIN_TOP = 36,         /* with a title */
	SVG_MARGIN_TOP_BARE = 12,    /* without a title */
	SVG_MARGIN_BOTTOM = 48,      /* x tick labels and the x axis label */
	SVG_MARGIN_BOTTOM_BARE = 28, /* ... without an x axis label */
	SVG_LEGEND_ROW = 18,         /* added to the top margin per legend row */
};
/* clang-format on */

/* Defaults for svg_opts.width and svg_opts.height, in user units. */
enum { SVG_DEFAULT_WIDTH = 640, SVG_DEFAULT_HEIGHT = 360 };

/* Scatter plots with more points than this are drawn as a density grid. */
enum { SVG_SCATTER_MAX_POINTS = 600 };

/* Options shared by all charts. Plain data; zero-initialise and set what you need. */
typedef struct svg_opts {
	const char *title;   /* drawn at the top and used as the <title>; NULL: "Chart" */
	const char *x_label; /* x axis label, or NULL */
	const char *y_label; /* y axis label, or NULL */
	int width;           /* viewBox width; 0: SVG_DEFAULT_WIDTH */
	int height;          /* viewBox height; 0: SVG_DEFAULT_HEIGHT, or automatic for
	                      * svg_bars and svg_heatmap (grows with the rows) */
	int value_labels;    /* 1: print values at bars, columns and heatmap cells */
	int decimals;        /* decimals of printed values; 0: automatic. Use -1 for none */
	int x_fixed;         /* 1: use x_min..x_max as the x domain instead of the data's */
	double x_min, x_max;
	int y_fixed; /* 1: use y_min..y_max as the y (value) domain */
	double y_min, y_max;
} svg_opts;

/* One named series of values, one value per category (svg_columns, svg_lines). */
typedef struct svg_series {
	const char *name;     /* legend text */
	const double *values; /* [ncat]; NaN = missing */
} svg_series;

/* A labelled matrix for svg_heatmap. */
typedef struct svg_matrix {
	const char *const *row_labels; /* [rows] */
	const char *const *col_labels; /* [cols]; NULL: same as row_labels (square) */
	size_t rows, cols;
	const double *values; /* [rows * cols], row-major; NaN = missing */
	double vmin, vmax;    /* colour scale domain; vmin < 0 < vmax gives a diverging
	                       * scale centred on 0, otherwise a sequential one.
	                       * vmin == vmax: taken from the data */
} svg_matrix;

/* Axis ticks from the "nice numbers" algorithm: ticks lo, lo+step, ..., hi. */
typedef struct svg_ticks {
	double lo, hi; /* first and last tick; lo <= data min, hi >= data max */
	double step;   /* 1, 2 or 5 times a power of ten */
	int n;         /* number of ticks, (hi - lo) / step + 1 */
	int decimals;  /* decimals needed to print the ticks distinctly */
} svg_ticks;

/* Chooses about `target` (at least 2) nice ticks covering min..max: the step is
 * the 1-2-5 number closest to (max - min) / (target - 1), and lo/hi are the
 * multiples of it around the data. A zero range is widened around the value
 * (0 becomes 0..1); non-finite input gives 0..1. */
void svg_nice_ticks(double min, double max, int target, svg_ticks *t);

/* Histogram of `nbins` bins: bin i covers edges[i]..edges[i+1] (edges[nbins+1],
 * increasing) and has height counts[i] (NaN counts as 0). The x domain is
 * edges[0]..edges[nbins]; the y domain 0..the nice tick above the largest count. */
int svg_histogram(strbuf *sb, const svg_opts *opts, const double *edges, const double *counts, size_t nbins);

/* Horizontal bars, one per labelled value, in the given order (top to bottom),
 * e.g. the top artists. Negative values extend left of the zero line. */
int svg_bars(strbuf *sb, const svg_opts *opts, const char *const *labels, const double *values, size_t n);

/* One row of svg_intervals: an estimate with its interval. */
typedef struct svg_interval {
	const char *label; /* the row's name */
	double value;      /* the estimate, a dot; NaN: the row shows "n/a" */
	double lo, hi;     /* its interval, a line with end ticks; NaN: none */
	int colour;        /* svg_palette index of the row */
} svg_interval;

/* A forest plot: one row per estimate with its interval, in the given order
 * (top to bottom), e.g. each metric's lift with its confidence interval,
 * and a dashed vertical reference line at `ref` (e.g. 0, no effect). The x
 * domain covers every finite value, lo, hi and ref (opts' x_min..x_max with
 * x_fixed; what falls outside is clipped to it). */
int svg_intervals(strbuf *sb, const svg_opts *opts, const svg_interval *rows, size_t n, double ref);

/* Vertical bars over `ncat` categories, grouped side by side when there are
 * several series (a legend is drawn then), e.g. keys split by mode. */
int svg_columns(strbuf *sb, const svg_opts *opts, const char *const *categories, size_t ncat, const svg_series *series,
                size_t nseries);

/* One line with markers per series over `ncat` categories, e.g. the mean of each
 * feature per genre; a missing value breaks the line. */
int svg_lines(strbuf *sb, const svg_opts *opts, const char *const *categories, size_t ncat, const svg_series *series,
              size_t nseries);

/* Labelled matrix of coloured cells, e.g. correlations (-1..1). Rows run top to
 * bottom, columns left to right; a colour key is drawn on the right. */
int svg_heatmap(strbuf *sb, const svg_opts *opts, const svg_matrix *m);

/* Points or a line in the plane: (x[i], y[i]) for i < n. */
typedef struct svg_xy {
	const char *name; /* legend text, or NULL */
	const double *x;  /* [n] */
	const double *y;  /* [n] */
	size_t n;
} svg_xy;

/* Scatter plot of `points`. Up to SVG_SCATTER_MAX_POINTS finite points are drawn
 * as dots, more as a grid of rectangles shaded by how many points fall in each
 * (so the output stays small). `overlay` (may be NULL) is a line drawn on top,
 * e.g. the binned mean of y; it appears in a legend when it has a name. */
int svg_scatter(strbuf *sb, const svg_opts *opts, const svg_xy *points, const svg_xy *overlay);

/* The i-th colour of the chart palette as "#rrggbb" (i wraps around). */
const char *svg_palette(size_t i);

#endif
