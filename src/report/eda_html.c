/* eda_html.c: the HTML of the EDA report: formatting, figures, tables and the
 * page around them (see eda_html.h). */
#include "report/eda_html.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/eda_sql.h"

/* ------------------------------------------------------------------------ */
/* Numbers, cells, figures                                                   */

void eda_html_format_int(char *buf, size_t cap, long long v)
{
	char digits[32];
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
	int nd = snprintf(digits, sizeof digits, "%llu", u);
	size_t k = 0;
	if (v < 0 && k + 1 < cap)
		buf[k++] = '-';
	for (int i = 0; i < nd && k + 2 < cap; i++) {
		if (i > 0 && (nd - i) % 3 == 0)
			buf[k++] = ',';
		buf[k++] = digits[i];
	}
	buf[k] = '\0';
}

void eda_html_int(strbuf *sb, long long v)
{
	char buf[40];
	eda_html_format_int(buf, sizeof buf, v);
	strbuf_puts(sb, buf);
}

void eda_html_double(strbuf *sb, double v, int sig)
{
	if (!isfinite(v)) {
		strbuf_puts(sb, "<span class=\"na\">&ndash;</span>");
		return;
	}
	char buf[48];
	snprintf(buf, sizeof buf, "%.*g", sig, v);
	strbuf_puts(sb, buf);
}

void eda_html_figure_open(strbuf *h, const char *cls)
{
	strbuf_printf(h, "<figure%s%s%s>", cls ? " class=\"" : "", cls ? cls : "", cls ? "\"" : "");
}

void eda_html_figure_close(strbuf *h, const char *sql)
{
	strbuf_puts(h, "<details><summary>SQL</summary><pre><code>");
	strbuf_xml(h, sql);
	strbuf_puts(h, "</code></pre></details></figure>");
}

void eda_html_empty(strbuf *h, const char *text)
{
	strbuf_puts(h, "<p class=\"empty\">");
	strbuf_xml(h, text);
	strbuf_puts(h, "</p>");
}

void eda_html_caption(strbuf *h, const char *text)
{
	strbuf_puts(h, "<figcaption>");
	strbuf_xml(h, text);
	strbuf_puts(h, "</figcaption>");
}

void eda_html_heading(strbuf *sb, const char *name)
{
	for (const char *p = name ? name : ""; *p; p++) {
		char s[2] = {*p == '_' ? ' ' : *p, '\0'};
		strbuf_xml(sb, s);
	}
}

void eda_html_cut(strbuf *sb, const char *s, size_t max)
{
	size_t n = 0;
	const char *p = s;
	while (*p && n < max) {
		p++;
		while ((*p & 0xC0) == 0x80)
			p++;
		n++;
	}
	if (*p == '\0') {
		strbuf_xml(sb, s);
		return;
	}
	char *tmp = strndup(s, (size_t)(p - s));
	if (tmp == NULL) {
		sb->oom = 1;
		return;
	}
	strbuf_xml(sb, tmp);
	strbuf_puts(sb, "\xE2\x80\xA6");
	free(tmp);
}

int eda_html_table(strbuf *h, sqlite3 *db, const char *name, const char *sql, const char *empty, long long *nrows,
                   seg_error *err)
{
	sqlite3_stmt *st;
	int rc = eda_sql_prepare(db, name, sql, &st, err);
	if (rc < 0)
		return rc;
	strbuf rows = {0};
	int ncol = sqlite3_column_count(st);
	long long n = 0;
	unsigned long long numeric = 0; /* bit i: column i is a number in the first row */
	int src;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		n++;
		for (int i = 0; n == 1 && i < ncol && i < 64; i++) {
			int t = sqlite3_column_type(st, i);
			if (t == SQLITE_INTEGER || t == SQLITE_FLOAT)
				numeric |= 1ULL << i;
		}
		if (n > EDA_TABLE_MAX_ROWS)
			continue;
		strbuf_puts(&rows, "<tr>");
		for (int i = 0; i < ncol; i++) {
			int t = sqlite3_column_type(st, i);
			if (t == SQLITE_NULL) {
				strbuf_puts(&rows, "<td class=\"na\">&ndash;</td>");
			} else if (t == SQLITE_INTEGER) {
				strbuf_puts(&rows, "<td class=\"n\">");
				eda_html_int(&rows, sqlite3_column_int64(st, i));
				strbuf_puts(&rows, "</td>");
			} else if (t == SQLITE_FLOAT) {
				strbuf_puts(&rows, "<td class=\"n\">");
				eda_html_double(&rows, sqlite3_column_double(st, i), 6);
				strbuf_puts(&rows, "</td>");
			} else {
				const char *s = (const char *)sqlite3_column_text(st, i);
				strbuf_puts(&rows, "<td>");
				eda_html_cut(&rows, s ? s : "", EDA_CELL_MAX_CHARS);
				strbuf_puts(&rows, "</td>");
			}
		}
		strbuf_puts(&rows, "</tr>");
	}
	rc = eda_sql_done(db, name, src, err);
	if (rc == 0) {
		if (n == 0) {
			eda_html_empty(h, empty ? empty : "No rows.");
		} else {
			strbuf_puts(h, "<div class=\"tw\"><table><thead><tr>");
			for (int i = 0; i < ncol; i++) {
				strbuf_puts(h, i < 64 && (numeric >> i & 1) ? "<th class=\"n\">" : "<th>");
				eda_html_heading(h, sqlite3_column_name(st, i));
				strbuf_puts(h, "</th>");
			}
			strbuf_puts(h, "</tr></thead><tbody>");
			strbuf_append(h, strbuf_cstr(&rows), rows.len);
			strbuf_puts(h, "</tbody></table></div>");
			if (n > EDA_TABLE_MAX_ROWS) {
				strbuf_puts(h, "<p class=\"note\">Showing ");
				eda_html_int(h, EDA_TABLE_MAX_ROWS);
				strbuf_puts(h, " of ");
				eda_html_int(h, n);
				strbuf_puts(h, " rows; run the SQL for all of them.</p>");
			}
		}
	}
	if (rows.oom)
		h->oom = 1;
	strbuf_free(&rows);
	sqlite3_finalize(st);
	if (nrows)
		*nrows = n;
	return rc;
}

/* ------------------------------------------------------------------------ */
/* The page                                                                  */

/* clang-format off */
static const char CSS[] =
	":root{--fg:#1f2328;--muted:#59636e;--line:#e1e4e8;--bg:#f6f7f9;--card:#fff;"
	"--accent:#3b6fb6}"
	"*{box-sizing:border-box}"
	"body{margin:0;background:var(--bg);color:var(--fg);"
	"font:15px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif}"
	"main{max-width:1160px;margin:0 auto;padding:20px 16px 48px}"
	"header h1{font-size:1.7rem;margin:0}"
	"header p{margin:.2rem 0 0;color:var(--muted)}"
	"nav{margin:14px 0 6px;display:flex;flex-wrap:wrap;gap:6px 8px}"
	"nav a{color:var(--accent);text-decoration:none;font-size:.9rem;padding:2px 10px;"
	"border:1px solid var(--line);border-radius:999px;background:var(--card)}"
	"h2{font-size:1.3rem;margin:2.2rem 0 .4rem;padding-bottom:.3rem;"
	"border-bottom:2px solid var(--line)}"
	"h3{font-size:1rem;margin:1.2rem 0 .5rem}"
	"ul.findings{margin:0;padding-left:1.2rem}"
	"ul.findings li{margin:.35rem 0}"
	"section>p.intro{color:var(--muted);margin:.2rem 0 .8rem}"
	".banner{margin:14px 0;padding:12px 16px;border-radius:8px;background:#fff4e0;"
	"border:1px solid #f0b050;color:#6b4000;font-weight:600}"
	".grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,340px),1fr));"
	"gap:14px;margin:.6rem 0}"
	"figure{margin:0 0 14px;background:var(--card);border:1px solid var(--line);"
	"border-radius:10px;padding:10px 12px;min-width:0}"
	".grid.g2{grid-template-columns:repeat(auto-fill,minmax(min(100%,460px),1fr))}"
	".grid figure{margin:0}"
	".grid>.plain,.grid>h3,.grid>.banner,.grid>.empty{grid-column:1/-1}"
	".grid>h3{margin:.6rem 0 -.4rem}"
	"figure.wide{overflow-x:auto}"
	"figure.wide svg{max-width:860px;min-width:600px}"
	"figure.plain{padding:12px}"
	"figure svg{display:block;width:100%;height:auto}"
	"figcaption{font-size:.8rem;color:var(--muted);margin-top:4px}"
	"details{margin-top:6px;font-size:.85rem}"
	"summary{cursor:pointer;color:var(--muted);user-select:none}"
	"pre{margin:6px 0 0;padding:8px 10px;background:#f3f4f6;border-radius:6px;"
	"overflow-x:auto;font-size:.78rem;line-height:1.4}"
	".cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:10px}"
	".card{border:1px solid var(--line);border-radius:8px;padding:10px 12px;color:var(--muted);"
	"font-size:.85rem;background:#fbfbfc}"
	".card b{display:block;font-size:1.45rem;color:var(--fg);font-variant-numeric:tabular-nums}"
	".tw{overflow-x:auto}"
	"table{border-collapse:collapse;width:100%;font-size:.85rem}"
	"table.narrow{width:auto;min-width:50%}"
	"th,td{padding:5px 10px;border-bottom:1px solid var(--line);text-align:left;"
	"vertical-align:top}"
	"th{font-weight:600;color:var(--muted);white-space:nowrap}"
	"th.n{text-align:right}"
	"td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
	"td.na,.na{color:#9aa0a6}"
	"tr.hl td{background:#fff8e6}"
	".empty{color:var(--muted);font-style:italic;margin:.3rem 0}"
	".note{color:var(--muted);font-size:.8rem}"
	"footer{margin-top:3rem;color:var(--muted);font-size:.85rem}"
	"code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}";
/* clang-format on */

void eda_html_page_begin(strbuf *h, const char *source_name, long long tracks, long long synthetic)
{
	strbuf_puts(h, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	               "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
	               "<title>segue catalogue report</title><style>");
	strbuf_puts(h, CSS);
	strbuf_puts(h, "</style></head><body><main><header><h1>Catalogue report</h1><p>");
	if (source_name && *source_name) {
		strbuf_puts(h, "<code>");
		strbuf_xml(h, source_name);
		strbuf_puts(h, "</code> &middot; ");
	}
	strbuf_puts(h, "exploratory data analysis by segue</p></header>\n");
	if (synthetic > 0) {
		strbuf_puts(h, "<div class=\"banner\" role=\"alert\">SYNTHETIC DATA: ");
		eda_html_int(h, synthetic);
		strbuf_puts(h, synthetic == tracks ? " (all)" : "");
		strbuf_puts(h, " of the tracks in this catalogue were generated by segue as demo data, "
		               "not taken from a real export. Do not draw conclusions about real music "
		               "from them.</div>\n");
	}
	strbuf_puts(h, "<nav>");
	for (int s = 0; s < EDA_NSECTIONS; s++) {
		strbuf_printf(h, "<a href=\"#%s\">", eda_sections[s].id);
		strbuf_xml(h, eda_sections[s].heading);
		strbuf_puts(h, "</a>");
	}
	strbuf_puts(h, "</nav>\n");
}

void eda_html_page_end(strbuf *h)
{
	strbuf_puts(h, "<footer>Each figure shows the SQL it was drawn from; re-run it with "
	               "<code>segue sql \"&hellip;\"</code>. Machine-readable numbers are in "
	               "<code>summary.json</code>.</footer></main></body></html>\n");
}
