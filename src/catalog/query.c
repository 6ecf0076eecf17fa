/* query.c: read-only SQL and result formatting (see query.h). */
#include "catalog/query.h"

#include <stdlib.h>
#include <string.h>

#include "catalog/lookup.h"
#include "core/strbuf.h"

int query_format_parse(const char *s)
{
	if (strcmp(s, "table") == 0)
		return QUERY_TABLE;
	if (strcmp(s, "csv") == 0)
		return QUERY_CSV;
	if (strcmp(s, "json") == 0)
		return QUERY_JSON;
	return -1;
}

int query_open(const char *path, sqlite3 **db, seg_error *err)
{
	*db = NULL;
	if (sqlite3_open_v2(path, db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		int rc = seg_error_set(err, SEG_ENOTFOUND, "cannot open %s: %s", path, *db ? sqlite3_errmsg(*db) : "?");
		sqlite3_close(*db);
		*db = NULL;
		return rc;
	}
	sqlite3_busy_timeout(*db, 5000);
	sqlite3_exec(*db, "PRAGMA query_only=1; PRAGMA mmap_size=4294967296", NULL, NULL, NULL);
	return 0;
}

void query_close(sqlite3 *db)
{
	if (db == NULL)
		return;
	lookup_forget(db);
	sqlite3_close(db);
}

static void csv_field(FILE *out, const char *s)
{
	if (strpbrk(s, ",\"\r\n") == NULL) {
		fputs(s, out);
		return;
	}
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', out);
		fputc(*s, out);
	}
	fputc('"', out);
}

/* Width of a UTF-8 string in characters (continuation bytes do not count). */
static size_t u8len(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

#define TABLE_MAX_WIDTH 48
#define TABLE_MAX_ROWS_BUFFERED 100000

/* Prints a table: buffers the rows to size the columns. */
static int print_table(sqlite3_stmt *st, FILE *out, long *rows, seg_error *err)
{
	int ncol = sqlite3_column_count(st);
	size_t *w = calloc((size_t)ncol, sizeof(size_t));
	strbuf cells = {0}; /* all cell texts, NUL-separated */
	size_t nrows = 0;
	int rc;
	if (w == NULL)
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	for (int i = 0; i < ncol; i++)
		w[i] = u8len(sqlite3_column_name(st, i));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && nrows < TABLE_MAX_ROWS_BUFFERED) {
		for (int i = 0; i < ncol; i++) {
			const char *v = sqlite3_column_type(st, i) == SQLITE_NULL
			                        ? "NULL"
			                        : (const char *)sqlite3_column_text(st, i);
			size_t l = u8len(v ? v : "");
			if (l > w[i])
				w[i] = l > TABLE_MAX_WIDTH ? TABLE_MAX_WIDTH : l;
			strbuf_puts(&cells, v ? v : "");
			strbuf_putc(&cells, '\0');
		}
		nrows++;
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		free(w);
		strbuf_free(&cells);
		return seg_error_set(err, SEG_EINVAL, "%s", sqlite3_errmsg(sqlite3_db_handle(st)));
	}
	for (int i = 0; i < ncol; i++)
		fprintf(out, "%s%-*s", i ? " | " : "", (int)w[i], sqlite3_column_name(st, i));
	fputc('\n', out);
	for (int i = 0; i < ncol; i++) {
		fputs(i ? "-+-" : "", out);
		for (size_t k = 0; k < w[i]; k++)
			fputc('-', out);
	}
	fputc('\n', out);
	const char *p = cells.data;
	for (size_t r = 0; r < nrows; r++) {
		for (int i = 0; i < ncol; i++) {
			size_t l = u8len(p), bytes = strlen(p);
			fputs(i ? " | " : "", out);
			if (l > w[i]) {
				/* Cut at a character boundary and mark the cut. */
				size_t chars = 0, b = 0;
				while (b < bytes && chars < w[i] - 1) {
					b++;
					while (b < bytes && ((unsigned char)p[b] & 0xC0) == 0x80)
						b++;
					chars++;
				}
				fwrite(p, 1, b, out);
				fputs("…", out);
			} else {
				fputs(p, out);
				for (size_t k = l; k < w[i]; k++)
					fputc(' ', out);
			}
			p += bytes + 1;
		}
		fputc('\n', out);
	}
	if (rc == SQLITE_ROW)
		fprintf(out, "(first %d rows shown; use --format csv for all)\n", TABLE_MAX_ROWS_BUFFERED);
	else
		fprintf(out, "(%zu row%s)\n", nrows, nrows == 1 ? "" : "s");
	*rows += (long)nrows;
	free(w);
	strbuf_free(&cells);
	return 0;
}

static int print_stream(sqlite3_stmt *st, enum query_format fmt, FILE *out, long *rows, int *first_json, seg_error *err)
{
	int ncol = sqlite3_column_count(st);
	int rc;
	if (fmt == QUERY_CSV) {
		for (int i = 0; i < ncol; i++) {
			if (i)
				fputc(',', out);
			csv_field(out, sqlite3_column_name(st, i));
		}
		fputc('\n', out);
	}
	strbuf sb = {0};
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		(*rows)++;
		if (fmt == QUERY_CSV) {
			for (int i = 0; i < ncol; i++) {
				if (i)
					fputc(',', out);
				if (sqlite3_column_type(st, i) != SQLITE_NULL)
					csv_field(out, (const char *)sqlite3_column_text(st, i));
			}
			fputc('\n', out);
			continue;
		}
		strbuf_reset(&sb);
		strbuf_puts(&sb, *first_json ? "\n  {" : ",\n  {");
		*first_json = 0;
		for (int i = 0; i < ncol; i++) {
			if (i)
				strbuf_puts(&sb, ", ");
			strbuf_json(&sb, sqlite3_column_name(st, i));
			strbuf_puts(&sb, ": ");
			switch (sqlite3_column_type(st, i)) {
			case SQLITE_NULL: strbuf_puts(&sb, "null"); break;
			case SQLITE_INTEGER: strbuf_printf(&sb, "%lld", (long long)sqlite3_column_int64(st, i)); break;
			case SQLITE_FLOAT: strbuf_printf(&sb, "%.17g", sqlite3_column_double(st, i)); break;
			default: strbuf_json(&sb, (const char *)sqlite3_column_text(st, i));
			}
		}
		strbuf_putc(&sb, '}');
		fputs(strbuf_cstr(&sb), out);
	}
	strbuf_free(&sb);
	if (rc != SQLITE_DONE)
		return seg_error_set(err, SEG_EINVAL, "%s", sqlite3_errmsg(sqlite3_db_handle(st)));
	return 0;
}

int query_run(sqlite3 *db, const char *sql, enum query_format fmt, FILE *out, long *rows, seg_error *err)
{
	long nrows = 0;
	int rc = 0, first_json = 1, nstmt = 0;
	const char *tail = sql;
	if (fmt == QUERY_JSON)
		fputc('[', out);
	while (tail && *tail) {
		sqlite3_stmt *st = NULL;
		if (sqlite3_prepare_v2(db, tail, -1, &st, &tail) != SQLITE_OK) {
			const char *msg = sqlite3_errmsg(db);
			rc = seg_error_set(err, strstr(msg, "readonly") ? SEG_EREADONLY : SEG_EINVAL, "SQL error: %s",
			                   msg);
			break;
		}
		if (st == NULL) /* whitespace or a comment */
			continue;
		nstmt++;
		if (!sqlite3_stmt_readonly(st)) {
			rc = seg_error_set(
				err, SEG_EREADONLY,
				"`segue sql` is read-only, and this statement would change the catalogue: %.80s",
				sqlite3_sql(st));
			sqlite3_finalize(st);
			break;
		}
		if (fmt == QUERY_TABLE) {
			if (nstmt > 1)
				fputc('\n', out);
			rc = print_table(st, out, &nrows, err);
		} else {
			rc = print_stream(st, fmt, out, &nrows, &first_json, err);
		}
		sqlite3_finalize(st);
		if (rc < 0)
			break;
	}
	if (fmt == QUERY_JSON)
		fputs(first_json ? "]\n" : "\n]\n", out);
	if (rc == 0 && nstmt == 0)
		rc = seg_error_set(err, SEG_EINVAL, "no SQL statement given");
	if (rows)
		*rows = nrows;
	return rc;
}
