/* eda_cache.c: the EDA summary and charts kept between runs in segue's model
 * container (the eda_cache_* functions of eda.h). It renders nothing: callers
 * render with eda_render_charts and hand the result over.
 *
 * Sections: "key" int64_t[EDA_CACHE_KEY], "summary" (the JSON text),
 * "charts" (name, title, SQL and SVG of each chart, each NUL-terminated, in
 * page order). The key: CACHE_VERSION, catalog_stamp, the binary's size and
 * modification time, the three options. */
#include "report/eda.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "catalog/catalog.h"
#include "core/container.h"

#define CACHE_VERSION 2
_Static_assert(EDA_CACHE_KEY == 1 + CATALOG_STAMP + 2 + 3, "the cache key's parts");

int eda_cache_key(sqlite3 *db, const eda_opts *opts, int64_t key[EDA_CACHE_KEY])
{
	struct stat st;
	int rc = catalog_stamp(db, key + 1, NULL);
	if (rc < 0)
		return rc;
	if (stat("/proc/self/exe", &st) < 0)
		return SEG_EIO;
	int64_t *k = key + 1 + CATALOG_STAMP;
	key[0] = CACHE_VERSION;
	k[0] = (int64_t)st.st_size;
	k[1] = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	k[2] = opts ? opts->top_n : 0;
	k[3] = opts ? opts->profile_genres : 0;
	k[4] = opts ? opts->reject_examples : 0;
	return 0;
}

int eda_cache_save(sqlite3 *db, const eda_opts *opts, const int64_t before[EDA_CACHE_KEY], const char *path,
                   const strbuf *json, const eda_charts *charts, seg_error *err)
{
	int64_t key[EDA_CACHE_KEY];
	int rc = eda_cache_key(db, opts, key);
	if (rc < 0)
		return seg_error_set(err, rc, "eda: cannot read the catalogue's state for %s", path);
	if (memcmp(key, before, sizeof key) != 0)
		return EDA_CACHE_STALE;
	strbuf text = {0};
	for (size_t i = 0; charts && i < charts->n; i++) {
		const eda_chart *c = &charts->v[i];
		const char *f[4] = {c->name, c->title, c->sql ? c->sql : "", c->svg ? c->svg : ""};
		for (int j = 0; j < 4; j++) {
			strbuf_puts(&text, f[j]);
			strbuf_putc(&text, '\0');
		}
	}
	container_writer *w = container_writer_create();
	if (w == NULL || text.oom)
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
	else if ((rc = container_writer_add(w, "key", key, sizeof key, err)) == 0 &&
	         (rc = container_writer_add(w, "summary", json->data, json->len, err)) == 0 &&
	         (rc = container_writer_add(w, "charts", text.data, text.len, err)) == 0)
		rc = container_writer_save(w, path, err);
	container_writer_free(w);
	strbuf_free(&text);
	return rc;
}

int eda_cache_load(sqlite3 *db, const eda_opts *opts, const char *path, strbuf *json, eda_charts *charts)
{
	int64_t key[EDA_CACHE_KEY];
	int rc = eda_cache_key(db, opts, key);
	if (rc < 0)
		return rc;
	container_file *m = NULL;
	if (container_file_open(&m, path, NULL) < 0)
		return EDA_CACHE_STALE;
	size_t ksize = 0, jsize = 0, csize = 0;
	const int64_t *k = container_file_section(m, "key", &ksize);
	const char *sum = container_file_section(m, "summary", &jsize);
	const char *text = container_file_section(m, "charts", &csize);
	eda_charts ch = {0};
	rc = EDA_CACHE_STALE;
	if (k == NULL || ksize != sizeof key || memcmp(k, key, sizeof key) != 0 || sum == NULL || text == NULL ||
	    (csize > 0 && text[csize - 1] != '\0'))
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
