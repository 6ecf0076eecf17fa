/* testutil.c: helpers for the test files (see testutil.h). */
#include "testutil.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zstd.h>

#include "catalog/catalog.h"
#include "catalog/workspace.h"
#include "catalog/catalog_schema.sql.h"
#include "core/error.h"
#include "engine/recommender.h"
#include "engine/train.h"
#include "models/cf.h"
#include "ingest/ingest.h"
#include "synth/gen.h"

static char slots[8][1024];
static int slot_next;

static char *slot(void)
{
	char *s = slots[slot_next];
	slot_next = (slot_next + 1) % 8;
	return s;
}

const char *tu_tmpdir(void)
{
	char *s = slot();
	const char *base = getenv("TMPDIR");
	snprintf(s, 1024, "%s/segue-test-XXXXXX", base && *base ? base : "/tmp");
	if (mkdtemp(s) == NULL) {
		perror("mkdtemp");
		abort();
	}
	return s;
}

void tu_rmtree(const char *path)
{
	char cmd[1200];
	if (path == NULL || strncmp(path, "/", 1) != 0 || strstr(path, "segue-test-") == NULL)
		return; /* refuse anything that is not one of ours */
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
	if (system(cmd) != 0)
		fprintf(stderr, "warning: could not remove %s\n", path);
}

const char *tu_write(const char *dir, const char *name, const char *text)
{
	char *s = slot();
	snprintf(s, 1024, "%s/%s", dir, name);
	FILE *f = fopen(s, "wb");
	if (f == NULL) {
		perror(s);
		abort();
	}
	fputs(text, f);
	fclose(f);
	return s;
}

char *tu_read(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	if (buf) {
		buf[n] = '\0';
		if (len)
			*len = (size_t)n;
	}
	return buf;
}

const char *tu_shared_data(void)
{
	static char path[1024];
	const char *env = getenv("SEGUE_SHARED_DATA");
	snprintf(path, sizeof path, "%s", env && *env ? env : "../shared/data");
	char probe[1100];
	snprintf(probe, sizeof probe, "%s/SOURCES.md", path);
	return access(probe, R_OK) == 0 ? path : NULL;
}

int tu_run(const char *cmd, char **out)
{
	FILE *p = popen(cmd, "r");
	if (p == NULL)
		return -1;
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	size_t n;
	while (buf && (n = fread(buf + len, 1, cap - len - 1, p)) > 0) {
		len += n;
		if (cap - len < 2) {
			char *nb = realloc(buf, cap * 2);
			if (nb == NULL) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
	}
	if (buf)
		buf[len] = '\0';
	int st = pclose(p);
	if (out)
		*out = buf;
	else
		free(buf);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

void tu_put_byte(const char *path, long off, unsigned char byte)
{
	FILE *f = fopen(path, "r+b");
	if (f == NULL)
		fail_msg("cannot open %s to change a byte", path);
	assert_int_equal(fseek(f, off, off < 0 ? SEEK_END : SEEK_SET), 0);
	assert_int_equal(fputc(byte, f), byte);
	fclose(f);
}

void tu_near_(double got, double want, double tol, const char *expr, const char *file, int line)
{
	if (!(fabs(got - want) <= tol)) {
		print_error("%s = %.17g, want %.17g (|diff| %.3g > %.3g)\n", expr, got, want, fabs(got - want), tol);
		_fail(file, line);
	}
}

/* ---- golden files -------------------------------------------------------- */

const char *tu_golden_path(const char *name, char *buf, size_t cap)
{
	/* meson passes __FILE__ relative to the build directory, where the tests
	 * run: "../tests/testutil.c" gives the source root "../". */
	char here[PATH_MAX];
	snprintf(here, sizeof here, "%s", __FILE__);
	char *cut = strstr(here, "tests/testutil.c");
	if (cut)
		*cut = '\0';
	if (here[0] == '\0' || cut == NULL)
		snprintf(here, sizeof here, ".");
	const char *env = getenv("SEGUE_ROOT");
	const char *roots[] = {env && *env ? env : ".", here, ".", ".."};
	for (size_t i = 0; i < sizeof roots / sizeof roots[0]; i++) {
		snprintf(buf, cap, "%s/tests/golden/%s", roots[i], name);
		if (access(buf, R_OK) == 0)
			return buf;
	}
	return NULL;
}

FILE *tu_golden_open(const char *name, const char *mode)
{
	char path[PATH_MAX];
	FILE *f = tu_golden_path(name, path, sizeof path) ? fopen(path, mode) : NULL;
	if (f == NULL)
		fail_msg("golden file tests/golden/%s not found (set SEGUE_ROOT to the source root)", name);
	return f;
}

char *tu_golden_read(const char *name, size_t *len)
{
	char path[PATH_MAX];
	char *text = tu_golden_path(name, path, sizeof path) ? tu_read(path, len) : NULL;
	if (text == NULL)
		fail_msg("cannot read tests/golden/%s (set SEGUE_ROOT to the source root)", name);
	return text;
}

double *tu_golden_block(const char *file, const char *name, int *rows, int *cols)
{
	char *text = tu_golden_read(file, NULL);
	char head[256];
	snprintf(head, sizeof head, "block %s ", name);
	char *at = strstr(text, head);
	if (at == NULL)
		fail_msg("no block %s in %s", name, file);
	at += strlen(head);
	*rows = (int)strtol(at, &at, 10);
	*cols = (int)strtol(at, &at, 10);
	double *v = malloc((size_t)*rows * (size_t)*cols * sizeof *v);
	assert_non_null(v);
	for (int q = 0; q < *rows * *cols; q++) {
		char *end;
		v[q] = strtod(at, &end);
		assert_true(end != at);
		at = end;
	}
	free(text);
	return v;
}

void tu_golden_csr(const char *file, const char *name, struct cf_csr *ui, struct cf_csr *iu)
{
	int U, I;
	double *X = tu_golden_block(file, name, &U, &I);
	size_t cap = (size_t)U * (size_t)I, n = 0;
	int32_t *r = malloc((cap ? cap : 1) * sizeof *r), *c = malloc((cap ? cap : 1) * sizeof *c);
	assert_true(r != NULL && c != NULL);
	for (int u = 0; u < U; u++)
		for (int i = 0; i < I; i++)
			if (X[u * I + i] > 0) {
				r[n] = u;
				c[n++] = i;
			}
	free(X);
	seg_error err = {0};
	assert_int_equal(cf_csr_from_pairs(ui, U, I, r, c, NULL, n, CF_DUP_ONE, &err), 0);
	assert_int_equal(cf_csr_transpose(ui, iu, &err), 0);
	free(r);
	free(c);
}

float *tu_golden_matrix(const char *name, size_t *n, int *d)
{
	FILE *f = tu_golden_open(name, "rb");
	uint32_t hdr[2];
	assert_int_equal(fread(hdr, sizeof hdr, 1, f), 1);
	size_t count = (size_t)hdr[0] * hdr[1];
	float *x = malloc(sizeof(float) * count); /* [N][D] */
	assert_non_null(x);
	assert_int_equal(fread(x, sizeof(float), count, f), count);
	fclose(f);
	*n = hdr[0];
	*d = (int)hdr[1];
	return x;
}

double *tu_golden_values(const char *name, const char *key, size_t *count)
{
	FILE *f = tu_golden_open(name, "r");
	char *line = NULL;
	size_t cap = 0, klen = strlen(key);
	double *out = NULL;
	*count = 0;
	while (getline(&line, &cap, f) > 0) {
		if (strncmp(line, key, klen) != 0 || line[klen] != ' ')
			continue;
		size_t max = 16;
		out = malloc(sizeof(double) * max);
		assert_non_null(out);
		char *p = line + klen, *end;
		for (;;) {
			double v = strtod(p, &end);
			if (end == p)
				break;
			if (*count == max) {
				max *= 2;
				out = realloc(out, sizeof(double) * max);
				assert_non_null(out);
			}
			out[(*count)++] = v;
			p = end;
		}
		break;
	}
	free(line);
	fclose(f);
	if (out == NULL)
		fail_msg("key %s not in %s", key, name);
	return out;
}

double tu_golden_value(const char *name, const char *key)
{
	size_t n;
	double *v = tu_golden_values(name, key, &n);
	double r = n == 1 ? v[0] : NAN;
	free(v);
	assert_int_equal(n, 1);
	return r;
}

/* ---- SQL ------------------------------------------------------------------ */

void tu_sql_exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		char why[512];
		snprintf(why, sizeof why, "%s", msg ? msg : "?");
		sqlite3_free(msg);
		fail_msg("SQL failed: %s\n%s", why, sql);
	}
}

/* Prepares sql and steps to its first row; fails the test otherwise. */
static sqlite3_stmt *first_row(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *q;
	if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK)
		fail_msg("bad SQL %s: %s", sql, sqlite3_errmsg(db));
	if (sqlite3_step(q) != SQLITE_ROW) {
		sqlite3_finalize(q);
		fail_msg("no row from %s", sql);
	}
	return q;
}

long tu_sql_long(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *q = first_row(db, sql);
	long v = (long)sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return v;
}

const char *tu_sql_text(sqlite3 *db, const char *sql, char *buf, size_t cap)
{
	sqlite3_stmt *q = first_row(db, sql);
	const unsigned char *t = sqlite3_column_text(q, 0);
	snprintf(buf, cap, "%s", t ? (const char *)t : "");
	sqlite3_finalize(q);
	return buf;
}

static catalog *open_ws(const char *ws)
{
	catalog *c;
	seg_error err;
	if (catalog_open(&c, ws, 0, &err) != 0)
		fail_msg("cannot open the catalogue of %s: %s", ws, err.msg);
	return c;
}

long tu_ws_long(const char *ws, const char *sql)
{
	catalog *c = open_ws(ws);
	long v = tu_sql_long(catalog_db(c), sql);
	catalog_close(c);
	return v;
}

void tu_make_version(const char *ws, int64_t t, int64_t of, const char *suffix, int same_sound)
{
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/catalog.db", ws);
	sqlite3 *db = NULL;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
		fail_msg("cannot open %s", path);
	long long lt = (long long)t, lo = (long long)of;
	char *sql = sqlite3_mprintf(
		"UPDATE tracks SET name = (SELECT name FROM tracks WHERE id = %lld) || %Q WHERE id = %lld;"
		"DELETE FROM track_artists WHERE track_id = %lld;"
		"INSERT INTO track_artists SELECT %lld, artist_id, 0 FROM track_artists"
		" WHERE track_id = %lld AND position = 0;",
		lo, suffix, lt, lt, lt, lo);
	tu_sql_exec(db, sql);
	sqlite3_free(sql);
	if (same_sound) {
		static const char *const cols[] = {"danceability", "energy",      "key",          "loudness",
		                                   "mode",         "speechiness", "acousticness", "instrumentalness",
		                                   "liveness",     "valence",     "tempo",        "time_signature",
		                                   "duration_ms",  "has_features"};
		for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++) {
			sql = sqlite3_mprintf(
				"UPDATE tracks SET %s = (SELECT %s FROM tracks WHERE id = %lld) WHERE id = %lld",
				cols[i], cols[i], lo, lt);
			tu_sql_exec(db, sql);
			sqlite3_free(sql);
		}
		sql = sqlite3_mprintf("DELETE FROM track_genres WHERE track_id = %lld;"
		                      "INSERT INTO track_genres SELECT %lld, genre_id, heldout_only FROM track_genres "
		                      "WHERE track_id = %lld;",
		                      lt, lt, lo);
		tu_sql_exec(db, sql);
		sqlite3_free(sql);
	}
	sql = sqlite3_mprintf("UPDATE track_search SET name = (SELECT name FROM tracks WHERE id = %lld),"
	                      " artists = (SELECT artists FROM track_search WHERE rowid = %lld) WHERE rowid = %lld",
	                      lt, lo, lt);
	tu_sql_exec(db, sql);
	sqlite3_free(sql);
	seg_error err = {0};
	if (workspace_derived_refresh(ws, db, 1, NULL, &err) < 0)
		fail_msg("cannot refresh %s: %s", ws, err.msg);
	sqlite3_close(db);
}

const char *tu_ws_text(const char *ws, const char *sql)
{
	static char buf[512];
	catalog *c = open_ws(ws);
	tu_sql_text(catalog_db(c), sql, buf, sizeof buf);
	catalog_close(c);
	return buf;
}

void tu_ingest(const char *ws, char **paths, size_t n, ingest_summary *sum)
{
	ingest_options o = {.workspace = ws};
	seg_error err = {0};
	int rc = ingest_run(&o, paths, n, sum, &err);
	if (rc != 0)
		fail_msg("ingest failed (%d): %s:%ld: %s", rc, err.file, err.line, err.msg);
}

const char *tu_catalog_file(const char *dir, const char *rows)
{
	char *s = slot();
	snprintf(s, 1024, "%s/catalog.db", dir);
	sqlite3_close(tu_catalog_db(s, rows));
	return s;
}

sqlite3 *tu_open_ro(const char *path)
{
	sqlite3 *db;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		fail_msg("cannot open %s read-only: %s", path, sqlite3_errmsg(db));
	return db;
}

static int gen_into(const char *out, size_t tracks, size_t playlists, uint64_t seed, seg_error *err)
{
	gen_options g;
	gen_options_init(&g);
	g.tracks = tracks;
	g.playlists = playlists;
	g.seed = seed;
	g.out_dir = out;
	gen_result gr;
	return gen_write(&g, &gr, err);
}

void tu_gen(const char *out, size_t tracks, size_t playlists, uint64_t seed)
{
	seg_error err = {0};
	if (gen_into(out, tracks, playlists, seed, &err) < 0)
		fail_msg("gen: %s", err.msg);
}

int tu_build_workspace(const char *dir, const char *ws, size_t tracks, size_t playlists, uint64_t seed,
                       const tu_train_sizes *train)
{
	char syn[PATH_MAX];
	snprintf(syn, sizeof syn, "%s/syn", dir);
	seg_error err = {0};
	if (gen_into(syn, tracks, playlists, seed, &err) < 0) {
		fprintf(stderr, "gen: %s\n", err.msg);
		return -1;
	}
	char *paths[1] = {syn};
	ingest_options io = {.workspace = ws};
	ingest_summary sum;
	if (ingest_run(&io, paths, 1, &sum, &err) < 0) {
		fprintf(stderr, "ingest: %s\n", err.msg);
		return -1;
	}
	ingest_summary_free(&sum);
	return train ? tu_train(ws, train) : 0;
}

int tu_train(const char *ws, const tu_train_sizes *train)
{
	seg_error err = {0};
	train_options to;
	train_options_default(&to);
	to.workspace = ws;
	to.verbose = 0;
	to.clusters = train->clusters;
	to.factors = train->factors;
	to.als_iterations = train->als_iterations;
	to.quality_rounds = train->quality_rounds;
	to.cv_folds = train->cv_folds;
	char version[32];
	if (train_run(&to, version, sizeof version, &err) < 0) {
		fprintf(stderr, "train: %s\n", err.msg);
		return -1;
	}
	if (strcmp(version, "v1") != 0) {
		fprintf(stderr, "train: the first model is %s, not v1\n", version);
		return -1;
	}
	return 0;
}

static int constant_propose(const rec_query *q, const void *state, size_t want, rec_pool *pool, seg_error *err)
{
	(void)state;
	size_t added = 0;
	for (int64_t t = 1; t < q->a->T && added < want; t++) {
		if (q->blocked[t] || (q->a->track_row[t] < 0 && q->a->track_item[t] < 0))
			continue;
		rec_cand *c = rec_pool_add(pool, t);
		if (c == NULL)
			return seg_error_set(err, SEG_ENOMEM, "out of memory");
		c->score = 1.0f / (float)t;
		added++;
	}
	return 0;
}

static uint32_t constant_explain(const rec_query *q, const void *state, const rec_item *it)
{
	(void)q, (void)state, (void)it;
	return REASON_POPULAR;
}

const recommender tu_constant_model = {
	.name = "constant",
	.description = "the known tracks in id order (a test model)",
	.propose = constant_propose,
	.explain = constant_explain,
};

int tu_register_constant(void)
{
	int id = recommender_find(tu_constant_model.name);
	if (id >= 0)
		return id;
	seg_error err = {0};
	id = recommender_register(&tu_constant_model, &err);
	if (id < 0)
		fail_msg("registering %s: %s", tu_constant_model.name, err.msg);
	return id;
}

char tu_group_dir[1024];

int tu_group_tmpdir(void **state)
{
	(void)state;
	snprintf(tu_group_dir, sizeof tu_group_dir, "%s", tu_tmpdir());
	return 0;
}

int tu_group_rmtree(void **state)
{
	(void)state;
	tu_rmtree(tu_group_dir);
	return 0;
}

char *tu_zcompress(const void *buf, size_t len, int level, size_t *zlen)
{
	size_t cap = ZSTD_compressBound(len);
	char *z = malloc(cap);
	assert_non_null(z);
	size_t n = ZSTD_compress(z, cap, buf, len, level);
	if (ZSTD_isError(n))
		fail_msg("zstd: %s", ZSTD_getErrorName(n));
	*zlen = n;
	return z;
}

const char *tu_write_bytes(const char *dir, const char *name, const void *buf, size_t len)
{
	char *s = slot();
	snprintf(s, 1024, "%s/%s", dir, name);
	FILE *f = fopen(s, "wb");
	if (f == NULL)
		fail_msg("cannot write %s", s);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	return s;
}

sqlite3 *tu_catalog_db(const char *path, const char *rows)
{
	sqlite3 *db;
	if (sqlite3_open(path, &db) != SQLITE_OK)
		fail_msg("cannot create %s: %s", path, sqlite3_errmsg(db));
	tu_sql_exec(db, CATALOG_SCHEMA_SQL);
	if (rows)
		tu_sql_exec(db, rows);
	return db;
}

/* ---- SVG ------------------------------------------------------------------ */

/* Writes a printf-style message into why[cap] and returns -1. */
__attribute__((format(printf, 3, 4))) static int problem(char *why, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, cap, fmt, ap);
	va_end(ap);
	return -1;
}

int tu_xml_check(const char *s, char *why, size_t cap)
{
	char stack[64][32];
	int depth = 0, roots = 0;
	const char *p = s;
	while (*p) {
		if (*p == '&') {
			static const char *const ents[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&#39;"};
			int ok = 0;
			for (size_t i = 0; i < sizeof ents / sizeof ents[0]; i++)
				ok |= strncmp(p, ents[i], strlen(ents[i])) == 0;
			if (!ok)
				return problem(why, cap, "bare & at offset %ld", (long)(p - s));
			p++;
			continue;
		}
		if (*p == '>')
			return problem(why, cap, "bare > at offset %ld", (long)(p - s));
		if (*p != '<') {
			if (depth == 0)
				return problem(why, cap, "text outside the root at offset %ld", (long)(p - s));
			p++;
			continue;
		}
		int closing = p[1] == '/';
		const char *q = p + 1 + closing;
		char name[32];
		size_t n = 0;
		while (*q && (q[0] == '-' || q[0] == ':' || (q[0] >= 'a' && q[0] <= 'z') ||
		              (q[0] >= 'A' && q[0] <= 'Z') || (q[0] >= '0' && q[0] <= '9'))) {
			if (n + 1 < sizeof name)
				name[n++] = *q;
			q++;
		}
		name[n] = '\0';
		if (n == 0)
			return problem(why, cap, "empty tag name at offset %ld", (long)(p - s));
		/* Attributes: name="value" pairs; values hold no < and no raw ". */
		int self = 0;
		for (;;) {
			while (*q == ' ')
				q++;
			if (*q == '>') {
				q++;
				break;
			}
			if (q[0] == '/' && q[1] == '>') {
				self = 1;
				q += 2;
				break;
			}
			if (closing || *q == '\0')
				return problem(why, cap, "bad tag <%s at offset %ld", name, (long)(p - s));
			while (*q && *q != '=' && *q != ' ' && *q != '>')
				q++;
			if (q[0] != '=' || q[1] != '"')
				return problem(why, cap, "unquoted attribute in <%s", name);
			q += 2;
			while (*q && *q != '"') {
				if (*q == '<')
					return problem(why, cap, "< inside an attribute of <%s", name);
				q++;
			}
			if (*q != '"')
				return problem(why, cap, "unterminated attribute in <%s", name);
			q++;
		}
		if (closing) {
			if (depth == 0 || strcmp(stack[depth - 1], name) != 0)
				return problem(why, cap, "</%s> does not close <%s>", name,
				               depth ? stack[depth - 1] : "(nothing)");
			depth--;
		} else {
			if (depth == 0) {
				roots++;
				if (strcmp(name, "svg") != 0)
					return problem(why, cap, "root is not <svg>");
			}
			if (!self) {
				if (depth == 64)
					return problem(why, cap, "too deep");
				snprintf(stack[depth++], sizeof stack[0], "%s", name);
			}
		}
		p = q;
	}
	if (depth != 0)
		return problem(why, cap, "<%s> left open", stack[depth - 1]);
	if (roots != 1)
		return problem(why, cap, "not exactly one root element");
	return 0;
}

#include <arpa/inet.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/socket.h>

int tu_http(int port, const char *method, const char *target, const char *body, size_t body_len, char **resp,
            char *ctype, size_t ctype_cap)
{
	*resp = NULL;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in a;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	struct timeval tv = {30, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
		close(fd);
		return -1;
	}
	size_t tlen = strlen(target);
	char *head = malloc(tlen + 256);
	int hn = sprintf(head, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n", method, target);
	if (body)
		hn += sprintf(head + hn, "Content-Type: application/json\r\nContent-Length: %zu\r\n", body_len);
	hn += sprintf(head + hn, "\r\n");
	ssize_t w = send(fd, head, (size_t)hn, MSG_NOSIGNAL);
	free(head);
	for (size_t off = 0; w >= 0 && body && off < body_len; off += (size_t)w)
		w = send(fd, body + off, body_len - off, MSG_NOSIGNAL);
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap);
	ssize_t n;
	while (buf && (n = recv(fd, buf + len, cap - len - 1, 0)) > 0) {
		len += (size_t)n;
		if (cap - len < 2) {
			char *nb = realloc(buf, cap *= 2);
			if (nb == NULL)
				break;
			buf = nb;
		}
	}
	close(fd);
	if (buf == NULL || len == 0) {
		free(buf);
		return -1;
	}
	buf[len] = '\0';
	int status = -1;
	sscanf(buf, "HTTP/1.%*d %d", &status);
	char *sep = strstr(buf, "\r\n\r\n");
	if (ctype && ctype_cap) {
		ctype[0] = '\0';
		char *ct = strcasestr(buf, "\r\nContent-Type: ");
		if (ct && (!sep || ct < sep)) {
			ct += 16;
			size_t l = strcspn(ct, "\r\n");
			snprintf(ctype, ctype_cap, "%.*s", (int)l, ct);
		}
	}
	const char *b = sep ? sep + 4 : "";
	*resp = strdup(b);
	free(buf);
	return status;
}

/* ---- the command line, in-process ---- */

#include <stdarg.h>

#include "cli/commands.h"

/* Collects `segue` and the NULL-terminated arguments in ap into argv[32]. */
static int cli_args(char **argv, va_list ap)
{
	int argc = 0;
	argv[argc++] = "segue";
	for (char *a = va_arg(ap, char *); a != NULL && argc < 31; a = va_arg(ap, char *))
		argv[argc++] = a;
	argv[argc] = NULL;
	return argc;
}

/* Runs argv through cli_run with standard output and error captured. */
static int cli_captured(int argc, char **argv, char **out)
{
	fflush(stdout);
	fflush(stderr);
	FILE *cap = tmpfile();
	assert_non_null(cap);
	int saved_out = dup(1), saved_err = dup(2);
	dup2(fileno(cap), 1);
	dup2(fileno(cap), 2);
	int rc = cli_run(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(saved_out, 1);
	dup2(saved_err, 2);
	close(saved_out);
	close(saved_err);
	long len = ftell(cap);
	rewind(cap);
	*out = calloc((size_t)(len > 0 ? len : 0) + 1, 1);
	assert_non_null(*out);
	if (len > 0)
		assert_int_equal(fread(*out, 1, (size_t)len, cap), (size_t)len);
	fclose(cap);
	return rc;
}

int tu_cli(char **out, ...)
{
	char *argv[32];
	va_list ap;
	va_start(ap, out);
	int argc = cli_args(argv, ap);
	va_end(ap);
	return cli_captured(argc, argv, out);
}

char *tu_cli_expect(int want, ...)
{
	char *argv[32], *out;
	va_list ap;
	va_start(ap, want);
	int argc = cli_args(argv, ap);
	va_end(ap);
	int rc = cli_captured(argc, argv, &out);
	if (rc != want)
		fail_msg("segue %s %s %s: exit %d, wanted %d; it said:\n%s", argc > 1 ? argv[1] : "",
		         argc > 2 ? argv[2] : "", argc > 3 ? argv[3] : "", rc, want, out);
	return out;
}
