/* eda_cache.c: the EDA summary and charts kept between runs in segue's model
 * container (the eda_cache_* functions of eda.h). It renders nothing: callers
 * render with eda_render_charts and hand the result over.
 *
 * Sections: "key" int64_t[EDA_FILE_KEY] (CACHE_VERSION and the three
 * options), CATALOG_ORIGIN_SECTION (the catalogue's state the figures were
 * rendered from, and the segue that rendered them: the charts depend on the
 * code as much as on the data), "summary" (the JSON text), "charts" (name,
 * title, SQL and SVG of each chart, each NUL-terminated, in page order). */
#include "report/eda.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"
#include "catalog/workspace.h"
#include "core/container.h"

#define CACHE_VERSION 4
/* The in-memory key: CACHE_VERSION, catalog_stamp, the three options. */
_Static_assert(EDA_CACHE_KEY == 1 + CATALOG_STAMP + 3, "the cache key's parts");
/* The file's "key" section: the key without the stamp, which the origin
 * section holds. */
#define EDA_FILE_KEY (1 + 3)
#define KEY_OPTIONS (1 + CATALOG_STAMP)

int eda_cache_key(sqlite3 *db, const eda_opts *opts, int64_t key[EDA_CACHE_KEY])
{
	int rc = catalog_stamp(db, key + 1, NULL);
	if (rc < 0)
		return rc;
	int64_t *k = key + KEY_OPTIONS;
	key[0] = CACHE_VERSION;
	k[0] = opts ? opts->top_n : 0;
	k[1] = opts ? opts->profile_genres : 0;
	k[2] = opts ? opts->reject_examples : 0;
	return 0;
}

/* The file's key section of an in-memory key. */
static void file_key(const int64_t key[EDA_CACHE_KEY], int64_t fk[EDA_FILE_KEY])
{
	fk[0] = key[0];
	memcpy(fk + 1, key + KEY_OPTIONS, sizeof(int64_t) * 3);
}

/* The workspace that holds the cache file `path`: its directory. */
static void cache_workspace(const char *path, char *ws, size_t cap)
{
	const char *slash = strrchr(path, '/');
	if (slash == NULL)
		snprintf(ws, cap, ".");
	else if (slash == path)
		snprintf(ws, cap, "/");
	else
		snprintf(ws, cap, "%.*s", (int)(slash - path), path);
}

int eda_cache_save(sqlite3 *db, const eda_opts *opts, const int64_t before[EDA_CACHE_KEY], const char *path,
                   const strbuf *json, const eda_charts *charts, seg_error *err)
{
	int64_t key[EDA_CACHE_KEY], fk[EDA_FILE_KEY];
	catalog_origin origin;
	strbuf text = {0};
	container_writer *w = NULL;
	/* One writer at a time in the workspace; when another holds it (an
	 * ingest, or a `segue eda` about to write this very file) the figures
	 * are not kept: they are about to be stale, or written by it. */
	char ws[PATH_MAX];
	cache_workspace(path, ws, sizeof ws);
	int rc = workspace_lock(ws, WORKSPACE_LOCK_TRY, err);
	if (rc != 0)
		return rc == 1 ? EDA_CACHE_STALE : rc;
	if ((rc = eda_cache_key(db, opts, key)) < 0) {
		rc = seg_error_set(err, rc, "eda: cannot read the catalogue's state for %s", path);
		goto out;
	}
	if (memcmp(key, before, sizeof key) != 0) {
		rc = EDA_CACHE_STALE;
		goto out;
	}
	if ((rc = catalog_origin_now(db, &origin, err)) < 0)
		goto out;
	file_key(key, fk);
	for (size_t i = 0; charts && i < charts->n; i++) {
		const eda_chart *c = &charts->v[i];
		const char *f[4] = {c->name, c->title, c->sql ? c->sql : "", c->svg ? c->svg : ""};
		for (int j = 0; j < 4; j++) {
			strbuf_puts(&text, f[j]);
			strbuf_putc(&text, '\0');
		}
	}
	if ((w = container_writer_create()) == NULL || text.oom) {
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = container_writer_add(w, "key", fk, sizeof fk, err)) == 0 &&
	    (rc = container_writer_add(w, CATALOG_ORIGIN_SECTION, &origin, sizeof origin, err)) == 0 &&
	    (rc = container_writer_add(w, "summary", json->data, json->len, err)) == 0 &&
	    (rc = container_writer_add(w, "charts", text.data, text.len, err)) == 0)
		rc = container_writer_save(w, path, err);
out:
	workspace_unlock(ws);
	container_writer_free(w);
	strbuf_free(&text);
	return rc;
}

/* 1 when the origin section `o` (size bytes) is the catalogue's state of
 * now and was written by this version of segue. */
static int origin_current(const catalog_origin *o, size_t size, const catalog_origin *now)
{
	return o != NULL && size == sizeof *o && catalog_origin_same(o, now) &&
	       strncmp(o->code, now->code, sizeof o->code) == 0;
}

int eda_cache_load(sqlite3 *db, const eda_opts *opts, const char *path, strbuf *json, eda_charts *charts)
{
	int64_t key[EDA_CACHE_KEY], fk[EDA_FILE_KEY];
	int rc = eda_cache_key(db, opts, key);
	if (rc < 0)
		return rc;
	catalog_origin now;
	if ((rc = catalog_origin_now(db, &now, NULL)) < 0)
		return rc;
	file_key(key, fk);
	container_file *m = NULL;
	if (container_file_open(&m, path, NULL) < 0)
		return EDA_CACHE_STALE;
	size_t ksize = 0, osize = 0, jsize = 0, csize = 0;
	const int64_t *k = container_file_section(m, "key", &ksize);
	const catalog_origin *origin = container_file_section(m, CATALOG_ORIGIN_SECTION, &osize);
	const char *sum = container_file_section(m, "summary", &jsize);
	const char *text = container_file_section(m, "charts", &csize);
	eda_charts ch = {0};
	rc = EDA_CACHE_STALE;
	if (k == NULL || ksize != sizeof fk || memcmp(k, fk, sizeof fk) != 0 || !origin_current(origin, osize, &now) ||
	    sum == NULL || text == NULL || (csize > 0 && text[csize - 1] != '\0'))
		goto out;
	size_t nul = 0;
	for (size_t i = 0; i < csize; i++)
		nul += text[i] == '\0';
	if (nul % 4 != 0)
		goto out;
	rc = SEG_ENOMEM;
	if (nul > 0 && (ch.v = calloc(nul / 4, sizeof(eda_chart))) == NULL)
		goto out;
	const char *p = text;
	for (; ch.n < nul / 4; ch.n++) {
		eda_chart *c = &ch.v[ch.n];
		const char *f[4];
		for (int j = 0; j < 4; j++) {
			f[j] = p;
			p += strlen(p) + 1;
		}
		snprintf(c->name, sizeof c->name, "%s", f[0]);
		snprintf(c->title, sizeof c->title, "%s", f[1]);
		c->sql = strdup(f[2]);
		c->svg = strdup(f[3]);
		if (c->sql == NULL || c->svg == NULL) {
			ch.n++; /* so that eda_charts_free releases it too */
			goto out;
		}
	}
	size_t len0 = json->len;
	strbuf_append(json, sum, jsize);
	if (json->oom) {
		json->len = len0;
		goto out;
	}
	*charts = ch;
	ch = (eda_charts){0};
	rc = 0;
out:
	eda_charts_free(&ch);
	container_file_close(m);
	return rc;
}
