/* eda_html.h: the HTML of the EDA report: numbers and cells formatted for
 * reading, the <figure> around each chart with its SQL, tables of query rows,
 * and the page (style sheet, heading, navigation, footer) around the
 * sections. It computes no statistics and draws no charts (svg.h does).
 * Everything is appended to a strbuf; out of memory shows as its sticky oom
 * flag. Internal to the report (eda.h is the public API). */
#ifndef SEGUE_EDA_HTML_H
#define SEGUE_EDA_HTML_H

#include <sqlite3.h>
#include <stddef.h>

#include "core/error.h"
#include "core/strbuf.h"

/* Tables show at most this many rows (then a note), and cells at most this
 * many characters (then an ellipsis). */
enum { EDA_TABLE_MAX_ROWS = 50, EDA_CELL_MAX_CHARS = 80 };

/* Formats v with thousands separators ("-1,234,567") into buf[cap], cut
 * short (still NUL-terminated) when cap is too small. */
void eda_html_format_int(char *buf, size_t cap, long long v);

/* Appends v with thousands separators. */
void eda_html_int(strbuf *sb, long long v);

/* Appends v with `sig` significant digits (%g), or a grey dash when it is not
 * finite. */
void eda_html_double(strbuf *sb, double v, int sig);

/* Appends up to max UTF-8 characters of s, escaped, and an ellipsis when s
 * was longer. */
void eda_html_cut(strbuf *sb, const char *s, size_t max);

/* Appends a column name as a table heading, escaped ("rows_read" -> "rows
 * read"); NULL appends nothing. */
void eda_html_heading(strbuf *sb, const char *name);

/* Opens a <figure>, of class cls when it is not NULL. */
void eda_html_figure_open(strbuf *h, const char *cls);

/* Closes a figure with its SQL in a collapsed <details> block. */
void eda_html_figure_close(strbuf *h, const char *sql);

/* Appends the sentence shown instead of an empty figure. */
void eda_html_empty(strbuf *h, const char *text);

/* Appends a <figcaption>. */
void eda_html_caption(strbuf *h, const char *text);

/* Runs sql (called `name` in errors) on db and appends its rows as a table:
 * headings from the column names, numbers right-aligned with separators, NULL
 * as a dash, at most EDA_TABLE_MAX_ROWS rows; with no rows, the `empty`
 * sentence (NULL: "No rows."). *nrows (may be NULL) receives the number of
 * rows. Returns 0, or SEG_EDB with err filled and nothing appended. */
int eda_html_table(strbuf *h, sqlite3 *db, const char *name, const char *sql, const char *empty, long long *nrows,
                   seg_error *err);

/* Appends the page's head, heading (naming source_name, unless NULL or empty),
 * the synthetic-data banner when synthetic > 0 ("(all)" when it equals
 * tracks), and the navigation between the sections. */
void eda_html_page_begin(strbuf *h, const char *source_name, long long tracks, long long synthetic);

/* Appends the footer and closes the page. */
void eda_html_page_end(strbuf *h);

#endif
