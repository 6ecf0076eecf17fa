/* pipeline.c: the stage runner of pipeline.h: configuration, cache keys,
 * state.json, the lock, each stage in a forked child with retries and a
 * timeout, the validation and evaluation gates. */
#include "pipeline/pipeline.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "catalog/catalog.h"
#include "catalog/workspace.h"
#include "core/atomicfile.h"
#include "core/container.h"
#include "core/progress.h"
#include "engine/evaluate.h"
#include "engine/train.h"
#include "ingest/ingest.h"
#include "pipeline/registry.h"
#include "pipeline/runs.h"
#include "report/eda.h"

const char *const pipeline_stage_names[PS__COUNT] = {"ingest",   "validate", "eda",    "train",
                                                     "evaluate", "register", "promote"};
const char *const pipeline_status_names[4] = {"not run", "cached", "ran", "failed"};

/* Each stage's code version: raise one when what the stage computes changes,
 * so that its cached record no longer counts. */
static const int STAGE_CODE[PS__COUNT] = {1, 1, 1, 1, 1, 1, 1};

/* The child's exit codes (CHILD_STOPPED: the runner killed it on SIGINT or
 * SIGTERM; never an exit code). */
enum { CHILD_OK = 0, CHILD_FAIL = 1, CHILD_TRANSIENT = 75, CHILD_STOPPED = 256 };

/* The signal (SIGINT, SIGTERM) that asked the runner to stop, or 0. */
static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig) { stop_signal = sig; }

/* The audio features whose distributions validate compares. */
static const char *const PSI_FEATURES[] = {"danceability",     "energy",   "loudness", "speechiness", "acousticness",
                                           "instrumentalness", "liveness", "valence",  "tempo"};
#define NPSI (sizeof PSI_FEATURES / sizeof PSI_FEATURES[0])
#define DECILES 10
/* Each evaluated model's validation R-precision, {"vN": x}: the gate's
 * figure for a champion even after a `segue evaluate` replaced the table
 * beside its model with one of the test split. */
#define SCORES_FILE "scores.json"

int pipeline_stage_parse(const char *name)
{
	for (int s = 0; s < PS__COUNT; s++)
		if (name && strcmp(name, pipeline_stage_names[s]) == 0)
			return s;
	return -1;
}

/* ---- configuration ---- */

void pipeline_config_default(pipeline_config *c)
{
	memset(c, 0, sizeof *c);
	c->large_file_mb = 64;
	c->max_rejected_share = 0.05;
	c->min_playlists = 100;
	c->psi_limit = 0.2;
	c->eda_top_n = 20;
	c->clusters = 12;
	c->factors = 64;
	c->als_iterations = 15;
	c->quality_rounds = 120;
	c->cv_folds = 5;
	c->seed = 42;
	c->eval_max_playlists = 2000;
	c->margin = 0.01;
	c->promote_auto = 1;
	for (int s = 0; s < PS__COUNT; s++)
		c->stage[s] = (pipeline_stage_conf){.retries = 2, .backoff = 1.0, .timeout = 0};
}

void pipeline_config_free(pipeline_config *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->nfiles; i++)
		free(c->files[i]);
	c->nfiles = 0;
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
		s[--n] = '\0';
	return s;
}

static int num(const char *v, double lo, double hi, double *out)
{
	char *end;
	errno = 0;
	double d = strtod(v, &end);
	if (end == v || *end != '\0' || errno || !(d >= lo && d <= hi))
		return -1;
	*out = d;
	return 0;
}

/* One key of a section; 0, 1 unknown key, -1 bad value. */
static int config_key(pipeline_config *c, int sec, const char *key, char *val, const char *dir)
{
	double d;
	pipeline_stage_conf *sc = &c->stage[sec];
	if (strcmp(key, "retries") == 0)
		return num(val, 0, 20, &d) < 0 || d != floor(d) ? -1 : (sc->retries = (int)d, 0);
	if (strcmp(key, "backoff") == 0)
		return num(val, 0, 3600, &d) < 0 ? -1 : (sc->backoff = d, 0);
	if (strcmp(key, "timeout") == 0)
		return num(val, 0, 1e6, &d) < 0 ? -1 : (sc->timeout = d, 0);
#define INT_KEY(sect, name, field, lo, hi)           \
	if (sec == (sect) && strcmp(key, name) == 0) \
		return num(val, lo, hi, &d) < 0 || d != floor(d) ? -1 : (c->field = (__typeof__(c->field))d, 0);
#define REAL_KEY(sect, name, field, lo, hi)          \
	if (sec == (sect) && strcmp(key, name) == 0) \
		return num(val, lo, hi, &d) < 0 ? -1 : (c->field = d, 0);
	REAL_KEY(PS_INGEST, "large_file_mb", large_file_mb, 0, 1e9)
	REAL_KEY(PS_VALIDATE, "max_rejected_share", max_rejected_share, 0, 1)
	INT_KEY(PS_VALIDATE, "min_playlists", min_playlists, 0, 1e12)
	REAL_KEY(PS_VALIDATE, "psi_limit", psi_limit, 0, 1e6)
	INT_KEY(PS_EDA, "top_n", eda_top_n, 1, 1000)
	INT_KEY(PS_TRAIN, "clusters", clusters, 1, 10000)
	INT_KEY(PS_TRAIN, "factors", factors, 1, 4096)
	INT_KEY(PS_TRAIN, "iterations", als_iterations, 1, 1000)
	INT_KEY(PS_TRAIN, "rounds", quality_rounds, 1, 100000)
	INT_KEY(PS_TRAIN, "cv_folds", cv_folds, 2, 100)
	INT_KEY(PS_TRAIN, "seed", seed, 0, 4e9)
	INT_KEY(PS_EVALUATE, "max_playlists", eval_max_playlists, 0, 1e12)
	REAL_KEY(PS_REGISTER, "margin", margin, -1, 1)
	INT_KEY(PS_PROMOTE, "auto", promote_auto, 0, 1)
#undef INT_KEY
#undef REAL_KEY
	if (sec == PS_INGEST && strcmp(key, "files") == 0) {
		for (char *save = NULL, *t = strtok_r(val, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
			if (c->nfiles == PIPELINE_MAX_FILES)
				return -1;
			char buf[PATH_MAX * 2];
			if (t[0] == '/' || dir == NULL)
				snprintf(buf, sizeof buf, "%s", t);
			else
				snprintf(buf, sizeof buf, "%s/%s", dir, t);
			if ((c->files[c->nfiles] = strdup(buf)) == NULL)
				return -1;
			c->nfiles++;
		}
		return 0;
	}
	return 1;
}

int pipeline_config_load(const char *path, pipeline_config *c, seg_error *err)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return seg_error_set(err, SEG_EIO, "cannot read the pipeline configuration %s: %s", path,
		                     strerror(errno));
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	else
		snprintf(dir, sizeof dir, ".");
	char line[8192];
	int sec = -1, lineno = 0, rc = 0;
	while (fgets(line, sizeof line, f)) {
		lineno++;
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		char *s = trim(line);
		if (*s == '\0')
			continue;
		if (*s == '[') {
			char *e = strchr(s, ']');
			if (e)
				*e = '\0';
			if (e == NULL || (sec = pipeline_stage_parse(trim(s + 1))) < 0) {
				rc = seg_error_set(err, SEG_EINVAL,
				                   "%s:%d: unknown section '%s' (the stages: ingest, validate, "
				                   "eda, train, evaluate, register, promote)",
				                   path, lineno, s);
				break;
			}
			continue;
		}
		char *eq = strchr(s, '=');
		if (eq == NULL || sec < 0) {
			rc = seg_error_set(err, SEG_EINVAL, "%s:%d: expected 'key = value' inside a [stage] section",
			                   path, lineno);
			break;
		}
		*eq = '\0';
		char *key = trim(s), *val = trim(eq + 1);
		int k = config_key(c, sec, key, val, dir);
		if (k != 0) {
			rc = seg_error_set(err, SEG_EINVAL, "%s:%d: %s '%s' in [%s]", path, lineno,
			                   k > 0 ? "unknown key" : "bad value for", key, pipeline_stage_names[sec]);
			break;
		}
	}
	fclose(f);
	return rc;
}

/* The parameters of one stage as text (its part of the cache key). */
static void stage_params(const pipeline_config *c, int s, char *buf, size_t cap)
{
	int n = 0;
	switch (s) {
	case PS_INGEST: n = snprintf(buf, cap, "large_file_mb=%g", c->large_file_mb); break;
	case PS_VALIDATE:
		n = snprintf(buf, cap, "max_rejected_share=%g min_playlists=%ld psi_limit=%g", c->max_rejected_share,
		             c->min_playlists, c->psi_limit);
		break;
	case PS_EDA: n = snprintf(buf, cap, "top_n=%d", c->eda_top_n); break;
	case PS_TRAIN:
		n = snprintf(buf, cap, "clusters=%d factors=%d iterations=%d rounds=%d cv_folds=%d seed=%lu",
		             c->clusters, c->factors, c->als_iterations, c->quality_rounds, c->cv_folds, c->seed);
		break;
	case PS_EVALUATE: n = snprintf(buf, cap, "max_playlists=%ld", c->eval_max_playlists); break;
	case PS_REGISTER: n = snprintf(buf, cap, "margin=%g", c->margin); break;
	case PS_PROMOTE: n = snprintf(buf, cap, "auto=%d", c->promote_auto); break;
	default: break;
	}
	(void)n;
}

char *pipeline_config_text(const pipeline_config *c)
{
	size_t cap = 4096 + c->nfiles * (PATH_MAX + 8), len = 0;
	char *out = malloc(cap);
	if (out == NULL)
		return NULL;
	out[0] = '\0';
	for (size_t i = 0; i < c->nfiles; i++)
		len += (size_t)snprintf(out + len, cap - len, "ingest.file=%s\n", c->files[i]);
	for (int s = 0; s < PS__COUNT; s++) {
		char p[512];
		stage_params(c, s, p, sizeof p);
		for (char *save = NULL, *t = strtok_r(p, " ", &save); t; t = strtok_r(NULL, " ", &save))
			len += (size_t)snprintf(out + len, cap - len, "%s.%s\n", pipeline_stage_names[s], t);
	}
	return out;
}

/* ---- paths, state ---- */

static void ppath(const char *ws, const char *name, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s/%s/%s", ws, PIPELINE_DIR, name);
}

static int pdir_make(const char *ws, seg_error *err)
{
	char d[PATH_MAX];
	if (mkdir(ws, 0777) != 0 && errno != EEXIST)
		return seg_error_set(err, SEG_EIO, "cannot create the workspace %s: %s", ws, strerror(errno));
	snprintf(d, sizeof d, "%s/%s", ws, PIPELINE_DIR);
	if (mkdir(d, 0777) != 0 && errno != EEXIST)
		return seg_error_set(err, SEG_EIO, "cannot create %s: %s", d, strerror(errno));
	return 0;
}

static json_t *json_load_path(const char *path)
{
	json_error_t je;
	return json_load_file(path, 0, &je);
}

static int json_save_atomic(const char *path, const json_t *j, seg_error *err)
{
	atomicfile *a = NULL;
	int rc = atomicfile_open(&a, path, err);
	if (rc < 0)
		return rc;
	if (json_dumpf(j, atomicfile_stream(a), JSON_INDENT(1) | JSON_SORT_KEYS) != 0) {
		atomicfile_abort(a);
		return seg_error_set(err, SEG_EIO, "cannot write %s", path);
	}
	fputc('\n', atomicfile_stream(a));
	return atomicfile_commit(a, err);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- lock ---- */

int pipeline_lock(const char *ws, seg_error *err)
{
	int rc = pdir_make(ws, err);
	if (rc < 0)
		return rc;
	char path[PATH_MAX];
	ppath(ws, PIPELINE_LOCK_FILE, path, sizeof path);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
	if (fd < 0)
		return seg_error_set(err, SEG_EIO, "cannot open %s: %s", path, strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		char who[256] = "";
		ssize_t n = pread(fd, who, sizeof who - 1, 0);
		who[n > 0 ? n : 0] = '\0';
		char *nl = strchr(who, '\n');
		if (nl)
			*nl = '\0';
		close(fd);
		return seg_error_set(err, SEG_EINVAL, "another pipeline is running on %s (%s); wait for it to end", ws,
		                     who[0] ? who : "its pid is not recorded yet");
	}
	char who[200];
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	char when[40];
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
	int len = snprintf(who, sizeof who, "pid %ld, started %s\n", (long)getpid(), when);
	if (ftruncate(fd, 0) != 0 || pwrite(fd, who, (size_t)len, 0) != len) {
		close(fd);
		return seg_error_set(err, SEG_EIO, "cannot write %s: %s", path, strerror(errno));
	}
	return fd;
}

void pipeline_unlock(int fd)
{
	if (fd >= 0)
		close(fd); /* releases the flock */
}

/* ---- hashing ---- */

static int hash_file(XXH3_state_t *h, const char *path, double large_mb, seg_error *err)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return seg_error_set(err, SEG_EIO, "cannot read the input %s: %s", path, strerror(errno));
	XXH3_64bits_update(h, path, strlen(path) + 1);
	if (S_ISDIR(st.st_mode)) {
		struct dirent **ents = NULL;
		int n = scandir(path, &ents, NULL, alphasort), rc = 0;
		if (n < 0)
			return seg_error_set(err, SEG_EIO, "cannot list %s: %s", path, strerror(errno));
		for (int i = 0; i < n; i++) {
			const char *nm = ents[i]->d_name;
			size_t l = strlen(nm);
			int take = nm[0] != '.' &&
			           ((l > 4 && (strcmp(nm + l - 4, ".csv") == 0 || strcmp(nm + l - 4, ".zst") == 0)) ||
			            (l > 5 && strcmp(nm + l - 5, ".json") == 0));
			if (take && rc == 0) {
				char sub[PATH_MAX * 2];
				snprintf(sub, sizeof sub, "%s/%s", path, nm);
				rc = hash_file(h, sub, large_mb, err);
			}
			free(ents[i]);
		}
		free(ents);
		return rc;
	}
	if ((double)st.st_size > large_mb * 1048576.0) {
		/* The stated shortcut for large files: their identity, not bytes. */
		int64_t id[5] = {(int64_t)st.st_size, (int64_t)st.st_mtim.tv_sec, (int64_t)st.st_mtim.tv_nsec,
		                 (int64_t)st.st_ino, (int64_t)st.st_dev};
		XXH3_64bits_update(h, id, sizeof id);
		return 0;
	}
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return seg_error_set(err, SEG_EIO, "cannot read the input %s: %s", path, strerror(errno));
	char buf[1 << 16];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		XXH3_64bits_update(h, buf, n);
	int bad = ferror(f);
	fclose(f);
	return bad ? seg_error_set(err, SEG_EIO, "cannot read the input %s", path) : 0;
}

/* ---- the runner's context ---- */

typedef struct ctx {
	const pipeline_options *o;
	const pipeline_config *c;
	const char *ws;
	json_t *state; /* {"stages": {name: record}, "last_run": {...}} */
	int attempt;   /* 0-based, of the stage being run */
	char run_id[40];
} ctx;

static json_t *record_of(const ctx *x, int s)
{
	return json_object_get(json_object_get(x->state, "stages"), pipeline_stage_names[s]);
}

static const char *upstream_hash(const ctx *x, int s)
{
	static const int UP[PS__COUNT] = {-1, PS_INGEST, PS_VALIDATE, PS_VALIDATE, PS_TRAIN, PS_EVALUATE, PS_REGISTER};
	if (UP[s] < 0)
		return "";
	return json_string_value(json_object_get(record_of(x, UP[s]), "hash"));
}

static int stage_key(const ctx *x, int s, char out[17], seg_error *err)
{
	XXH3_state_t *h = XXH3_createState();
	if (h == NULL)
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	XXH3_64bits_reset(h);
	char p[512];
	stage_params(x->c, s, p, sizeof p);
	char head[700];
	int n = snprintf(head, sizeof head, "%s|%d|%s|%s|", pipeline_stage_names[s], STAGE_CODE[s], SEGUE_VERSION, p);
	XXH3_64bits_update(h, head, (size_t)n);
	int rc = 0;
	if (s == PS_INGEST) {
		for (size_t i = 0; i < x->c->nfiles && rc == 0; i++)
			rc = hash_file(h, x->c->files[i], x->c->large_file_mb, err);
	} else {
		const char *up = upstream_hash(x, s);
		if (up == NULL)
			rc = seg_error_set(err, SEG_ENOTFOUND,
			                   "stage %s has no finished %s before it: run the whole pipeline",
			                   pipeline_stage_names[s], s == PS_VALIDATE ? "ingest" : "stage");
		else
			XXH3_64bits_update(h, up, strlen(up));
	}
	if (rc == 0)
		snprintf(out, 17, "%016llx", (unsigned long long)XXH3_64bits_digest(h));
	XXH3_freeState(h);
	return rc;
}

static int stamp_hex(const char *ws, char *out, size_t cap, seg_error *err)
{
	int64_t st[CATALOG_STAMP];
	int rc = workspace_catalog_stamp(ws, st, err);
	if (rc < 0)
		return rc;
	size_t len = 0;
	for (int i = 0; i < CATALOG_STAMP && len + 18 < cap; i++)
		len += (size_t)snprintf(out + len, cap - len, "%s%llx", i ? "-" : "", (unsigned long long)st[i]);
	return 0;
}

/* Is the output of a cached stage still there as recorded? */
static int still_valid(const ctx *x, int s, json_t *rec)
{
	char path[PATH_MAX + 64];
	json_t *info = json_object_get(rec, "info");
	switch (s) {
	case PS_INGEST: {
		char st[256];
		seg_error e = {0};
		return stamp_hex(x->ws, st, sizeof st, &e) == 0 &&
		       strcmp(st, json_string_value(json_object_get(rec, "hash")) ?: "") == 0;
	}
	case PS_EDA:
		snprintf(path, sizeof path, "%s", json_string_value(json_object_get(info, "report")) ?: "");
		return access(path, F_OK) == 0;
	case PS_TRAIN: {
		seg_error e = {0};
		int m = (int)json_integer_value(json_object_get(info, "model"));
		return m > 0 && workspace_model_file(x->ws, m, path, sizeof path, &e) == 0 && access(path, F_OK) == 0;
	}
	default: return 1;
	}
}

/* ---- the stages (each in the child) ---- */

static int st_ingest(ctx *x, json_t *info, char *hash, size_t cap, seg_error *err)
{
	if (x->c->nfiles == 0)
		return seg_error_set(err, SEG_EINVAL, "no files to ingest: set [ingest] files in the configuration");
	ingest_options io = {.workspace = x->ws};
	ingest_summary sum;
	int rc = workspace_lock(x->ws, WORKSPACE_LOCK_WAIT, err);
	if (rc < 0)
		return rc;
	rc = ingest_run(&io, x->c->files, x->c->nfiles, &sum, err);
	workspace_unlock(x->ws);
	if (rc == 0) {
		json_object_set_new(info, "rows_read", json_integer(sum.total.rows_read));
		json_object_set_new(info, "rows_rejected", json_integer(sum.total.rows_rejected));
		json_object_set_new(info, "playlists", json_integer(sum.playlists));
		json_object_set_new(info, "tracks",
		                    json_integer(sum.tracks_with_features + sum.tracks_without_features));
		rc = stamp_hex(x->ws, hash, cap, err);
	}
	ingest_summary_free(&sum);
	return rc;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* One feature's non-NULL values, sorted (malloc'd). */
static int feature_values(sqlite3 *db, const char *f, double **out, size_t *n, seg_error *err)
{
	char sql[200];
	snprintf(sql, sizeof sql, "SELECT %s FROM tracks WHERE %s IS NOT NULL", f, f);
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return seg_error_set(err, SEG_EDB, "%s", sqlite3_errmsg(db));
	size_t cap = 1024, len = 0;
	double *v = malloc(cap * sizeof *v);
	int rc = 0, oom = v == NULL;
	while (!oom && sqlite3_step(st) == SQLITE_ROW) {
		if (len == cap) {
			double *nv = realloc(v, (cap *= 2) * sizeof *nv);
			if (nv == NULL) {
				oom = 1;
				break;
			}
			v = nv;
		}
		v[len++] = sqlite3_column_double(st, 0);
	}
	sqlite3_finalize(st);
	if (oom) {
		free(v);
		v = NULL;
		len = 0;
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
	} else {
		qsort(v, len, sizeof *v, cmp_double);
	}
	*out = v;
	*n = len;
	return rc;
}

/* Shares of sorted v[n] in the bins cut by edges[DECILES-1] (a value equal
 * to an edge goes to the lower bin). */
static void bin_shares(const double *v, size_t n, const double *edges, double *share)
{
	size_t i = 0;
	for (int b = 0; b < DECILES; b++) {
		size_t start = i;
		while (i < n && (b == DECILES - 1 || v[i] <= edges[b]))
			i++;
		share[b] = n ? (double)(i - start) / (double)n : 0;
	}
}

/* PSI = sum (a - e) ln(a / e), shares floored at 1e-4 so an empty bin is
 * a large finite term. */
static double psi(const double *e, const double *a)
{
	double s = 0;
	for (int b = 0; b < DECILES; b++) {
		double ee = fmax(e[b], 1e-4), aa = fmax(a[b], 1e-4);
		s += (aa - ee) * log(aa / ee);
	}
	return s;
}

static int st_validate(ctx *x, json_t *info, char *hash, size_t cap, seg_error *err)
{
	json_t *in = json_object_get(record_of(x, PS_INGEST), "info");
	double read = (double)json_integer_value(json_object_get(in, "rows_read"));
	double rej = (double)json_integer_value(json_object_get(in, "rows_rejected"));
	double share = read > 0 ? rej / read : 0;
	char dbpath[PATH_MAX + 32], bpath[PATH_MAX];
	int rc = workspace_path(x->ws, WS_CATALOG, dbpath, sizeof dbpath, err);
	if (rc < 0)
		return rc;
	sqlite3 *db = NULL;
	if (sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		rc = seg_error_set(err, SEG_EDB, "cannot open %s: %s", dbpath, db ? sqlite3_errmsg(db) : "?");
		sqlite3_close(db);
		return rc;
	}
	sqlite3_busy_timeout(db, 5000);
	long playlists = -1;
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM playlists", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		playlists = (long)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (playlists < 0) {
		rc = seg_error_set(err, SEG_EDB, "cannot count the playlists: %s", sqlite3_errmsg(db));
		sqlite3_close(db);
		return rc;
	}
	ppath(x->ws, PIPELINE_BASELINE_FILE, bpath, sizeof bpath);
	json_t *base = json_load_path(bpath), *nbase = json_object(), *psis = json_object();
	char report[4096];
	size_t rlen = 0;
	report[0] = '\0';
	double worst = 0;
	const char *worst_f = "";
	for (size_t f = 0; f < NPSI && rc == 0; f++) {
		double *v = NULL;
		size_t n = 0;
		if ((rc = feature_values(db, PSI_FEATURES[f], &v, &n, err)) < 0)
			break;
		if (n >= DECILES) {
			/* The new baseline: decile edges of the data as it is now. */
			double edges[DECILES - 1], dshare[DECILES];
			for (int b = 0; b < DECILES - 1; b++)
				edges[b] =
					v[(size_t)((double)(b + 1) * (double)n / DECILES) - (n % DECILES == 0 ? 1 : 0)];
			bin_shares(v, n, edges, dshare);
			json_t *je = json_array(), *js = json_array();
			for (int b = 0; b < DECILES - 1; b++)
				json_array_append_new(je, json_real(edges[b]));
			for (int b = 0; b < DECILES; b++)
				json_array_append_new(js, json_real(dshare[b]));
			json_object_set_new(nbase, PSI_FEATURES[f], json_pack("{s:o,s:o}", "edges", je, "shares", js));
			/* Against the last good baseline, binned by its edges. */
			json_t *bf = json_object_get(base, PSI_FEATURES[f]);
			json_t *be = json_object_get(bf, "edges"), *bs = json_object_get(bf, "shares");
			if (json_array_size(be) == DECILES - 1 && json_array_size(bs) == DECILES) {
				double oe[DECILES - 1], os[DECILES], cur[DECILES];
				for (int b = 0; b < DECILES - 1; b++)
					oe[b] = json_number_value(json_array_get(be, (size_t)b));
				for (int b = 0; b < DECILES; b++)
					os[b] = json_number_value(json_array_get(bs, (size_t)b));
				bin_shares(v, n, oe, cur);
				double p = psi(os, cur);
				json_object_set_new(psis, PSI_FEATURES[f], json_real(p));
				if (p > worst)
					worst = p, worst_f = PSI_FEATURES[f];
				if (p > x->c->psi_limit && rlen < sizeof report - 200)
					rlen += (size_t)snprintf(
						report + rlen, sizeof report - rlen,
						"\n  %s shifted: PSI %.3f against the last good ingest > limit %g",
						PSI_FEATURES[f], p, x->c->psi_limit);
			}
		}
		free(v);
	}
	sqlite3_close(db);
	if (rc == 0) {
		if (share > x->c->max_rejected_share)
			rlen += (size_t)snprintf(report + rlen, sizeof report - rlen,
			                         "\n  rejected share %.4f (%.0f of %.0f rows) > limit %g", share, rej,
			                         read, x->c->max_rejected_share);
		if (playlists < x->c->min_playlists)
			rlen += (size_t)snprintf(report + rlen, sizeof report - rlen, "\n  %ld playlists < minimum %ld",
			                         playlists, x->c->min_playlists);
		json_object_set_new(info, "rejected_share", json_real(share));
		json_object_set_new(info, "playlists", json_integer(playlists));
		json_object_set_new(info, "psi", psis);
		psis = NULL;
		json_object_set_new(info, "psi_max", json_real(worst));
		json_object_set_new(info, "psi_max_feature", json_string(worst_f));
		if (rlen > 0)
			rc = seg_error_set(err, SEG_EINVAL, "validation failed:%s", report);
		else
			rc = json_save_atomic(bpath, nbase, err); /* the last good baseline */
	}
	json_decref(psis);
	json_decref(base);
	json_decref(nbase);
	if (rc == 0)
		snprintf(hash, cap, "%s", upstream_hash(x, PS_VALIDATE));
	return rc;
}

static int st_eda(ctx *x, json_t *info, char *hash, size_t cap, seg_error *err)
{
	char db[PATH_MAX + 32], out[PATH_MAX + 32];
	int rc = workspace_path(x->ws, WS_CATALOG, db, sizeof db, err);
	if (rc == 0)
		rc = workspace_path(x->ws, WS_EDA_DIR, out, sizeof out, err);
	if (rc == 0)
		rc = workspace_lock(x->ws, WORKSPACE_LOCK_WAIT, err);
	if (rc < 0)
		return rc;
	eda_opts eo = {.top_n = x->c->eda_top_n};
	rc = eda_report_opts(db, out, &eo, err);
	workspace_unlock(x->ws);
	if (rc == 0) {
		char rep[PATH_MAX + 64];
		snprintf(rep, sizeof rep, "%s/%s", out, WORKSPACE_EDA_REPORT_FILE);
		json_object_set_new(info, "report", json_string(rep));
		snprintf(hash, cap, "eda:%s", upstream_hash(x, PS_EDA));
	}
	return rc;
}

static int st_train(ctx *x, json_t *info, char *hash, size_t cap, seg_error *err)
{
	train_options t;
	train_options_default(&t);
	t.workspace = x->ws;
	t.clusters = x->c->clusters;
	t.factors = x->c->factors;
	t.als_iterations = x->c->als_iterations;
	t.quality_rounds = x->c->quality_rounds;
	t.cv_folds = x->c->cv_folds;
	t.seed = x->c->seed;
	t.verbose = 0;
	catalog *cat = NULL;
	int rc = catalog_open(&cat, x->ws, 0, err);
	if (rc == 0)
		rc = workspace_lock(x->ws, WORKSPACE_LOCK_WAIT, err);
	if (rc < 0) {
		catalog_close(cat);
		return rc;
	}
	/* As `segue train`: the feature snapshot made from the catalogue as it is. */
	rc = workspace_derived_refresh(x->ws, catalog_db(cat), 0, NULL, err);
	catalog_close(cat);
	char version[32] = "";
	if (rc >= 0)
		rc = train_run(&t, version, sizeof version, err);
	workspace_unlock(x->ws);
	if (rc < 0)
		return rc;
	int m = workspace_version_parse(version);
	json_object_set_new(info, "model", json_integer(m));
	snprintf(hash, cap, "%s:%s", version, upstream_hash(x, PS_TRAIN));
	return 0;
}

/* The hybrid's mean validation R-precision over the seed cases (source
 * "all") in model m's evaluation.json; NAN when absent. */
static double model_rprec(const char *ws, int m)
{
	char path[PATH_MAX + 64];
	seg_error e = {0};
	if (workspace_model_file(ws, m, path, sizeof path, &e) < 0)
		return NAN;
	char *slash = strrchr(path, '/');
	if (slash == NULL)
		return NAN;
	snprintf(slash + 1, sizeof path - (size_t)(slash + 1 - path), "%s", WORKSPACE_EVALUATION_FILE);
	json_t *j = json_load_path(path), *cell;
	size_t i;
	double sum = 0;
	int n = 0;
	const char *split = json_string_value(json_object_get(json_object_get(j, "protocol"), "split"));
	if (split == NULL || strcmp(split, "validation") != 0) {
		json_decref(j); /* a table of the test split (`segue evaluate`) is no validation figure */
		return NAN;
	}
	json_array_foreach(json_object_get(j, "cells"), i, cell)
	{
		const char *model = json_string_value(json_object_get(cell, "model"));
		const char *src = json_string_value(json_object_get(cell, "source"));
		const char *cs = json_string_value(json_object_get(cell, "case"));
		json_t *mean = json_object_get(
			json_object_get(json_object_get(cell, "metrics"), eval_metric_names[EM_RPREC]), "mean");
		if (model && src && cs && strcmp(model, "hybrid") == 0 && strcmp(src, "all") == 0 &&
		    strcmp(cs, "title") != 0 && json_is_number(mean))
			sum += json_number_value(mean), n++;
	}
	json_decref(j);
	return n ? sum / n : NAN;
}

static int st_evaluate(ctx *x, json_t *info, char *hash, size_t cap, seg_error *err)
{
	int m = (int)json_integer_value(json_object_get(json_object_get(record_of(x, PS_TRAIN), "info"), "model"));
	char art[32];
	snprintf(art, sizeof art, "v%d", m);
	FILE *devnull = fopen("/dev/null", "w");
	eval_options e;
	eval_options_default(&e);
	e.workspace = x->ws;
	e.artifact = art;
	e.split = CATALOG_SPLIT_VALID;
	e.max_playlists = (size_t)x->c->eval_max_playlists;
	e.json = 1;
	e.out = devnull ? devnull : stdout;
	int rc = evaluate_run(&e, err);
	if (devnull)
		fclose(devnull);
	if (rc < 0)
		return rc;
	double r = model_rprec(x->ws, m);
	if (isnan(r))
		return seg_error_set(err, SEG_EFORMAT, "the evaluation of v%d has no R-precision of the hybrid", m);
	char spath[PATH_MAX];
	ppath(x->ws, SCORES_FILE, spath, sizeof spath);
	json_t *scores = json_load_path(spath);
	if (!json_is_object(scores)) {
		json_decref(scores);
		scores = json_object();
	}
	json_object_set_new(scores, art, json_real(r));
	rc = json_save_atomic(spath, scores, err);
	json_decref(scores);
	if (rc < 0)
		return rc;
	json_object_set_new(info, "model", json_integer(m));
	json_object_set_new(info, "rprec", json_real(r));
	snprintf(hash, cap, "v%d:%.6f", m, r);
	return 0;
}

static int st_register(ctx *x, json_t *info, char *hash, size_t cap, seg_error *err)
{
	json_t *ev = json_object_get(record_of(x, PS_EVALUATE), "info");
	int m = (int)json_integer_value(json_object_get(ev, "model"));
	double r = json_number_value(json_object_get(ev, "rprec"));
	registry_version *vs = NULL;
	size_t n = 0;
	int champ = 0, rc = registry_list(x->ws, &vs, &n, err);
	if (rc < 0)
		return rc;
	/* A run killed after registering and before its record: the model is
	 * registered already, and is not registered twice. */
	int version = 0, cm = 0;
	for (size_t i = 0; i < n; i++)
		if (vs[i].model == m)
			version = vs[i].version;
	rc = registry_alias_get(x->ws, "champion", &champ, err);
	for (size_t i = 0; rc == 0 && i < n; i++)
		if (vs[i].version == champ)
			cm = vs[i].model;
	free(vs);
	if (rc < 0 && rc != SEG_ENOTFOUND)
		return rc;
	if (rc == 0 && cm != m) {
		char spath[PATH_MAX], v[32];
		ppath(x->ws, SCORES_FILE, spath, sizeof spath);
		snprintf(v, sizeof v, "v%d", cm);
		json_t *scores = json_load_path(spath);
		json_t *known = json_object_get(scores, v);
		double cr = json_is_number(known) ? json_number_value(known) : cm > 0 ? model_rprec(x->ws, cm) : NAN;
		json_decref(scores);
		if (isnan(cr)) /* no validation figure of the champion: nothing to compare with, said */
			json_object_set_new(info, "gate",
			                    json_string("the champion has no validation R-precision: not compared"));
		json_object_set_new(info, "champion", json_integer(champ));
		json_object_set_new(info, "champion_rprec", isnan(cr) ? json_null() : json_real(cr));
		if (!isnan(cr) && r < cr - x->c->margin)
			return seg_error_set(
				err, SEG_EINVAL,
				"evaluation gate: not registering models/v%d: its validation R-precision %.4f is "
				"below the champion's (version %d, models/v%d: %.4f) by more than the margin %g",
				m, r, champ, cm, cr, x->c->margin);
	}
	char data[256] = "", params[512], metrics[64];
	json_t *in = record_of(x, PS_INGEST);
	snprintf(data, sizeof data, "%s", json_string_value(json_object_get(in, "hash")) ?: "");
	snprintf(params, sizeof params,
	         "{\"clusters\":%d,\"factors\":%d,\"iterations\":%d,\"rounds\":%d,\"cv_folds\":%d,\"seed\":%lu}",
	         x->c->clusters, x->c->factors, x->c->als_iterations, x->c->quality_rounds, x->c->cv_folds, x->c->seed);
	snprintf(metrics, sizeof metrics, "{\"rprec_validation\":%.6f}", r);
	if (version == 0 && (rc = registry_register(x->ws, m, x->run_id, data, params, metrics, &version, err)) < 0)
		return rc;
	if ((rc = registry_alias_set(x->ws, "challenger", version, err)) < 0)
		return rc;
	json_object_set_new(info, "version", json_integer(version));
	json_object_set_new(info, "model", json_integer(m));
	snprintf(hash, cap, "r%d:%s", version, upstream_hash(x, PS_REGISTER));
	return 0;
}

static int st_promote(ctx *x, json_t *info, char *hash, size_t cap, seg_error *err)
{
	int v = (int)json_integer_value(json_object_get(json_object_get(record_of(x, PS_REGISTER), "info"), "version"));
	if (x->c->promote_auto) {
		int rc = registry_alias_set(x->ws, "champion", v, err);
		if (rc < 0)
			return rc;
	}
	json_object_set_new(info, "champion", x->c->promote_auto ? json_integer(v) : json_null());
	snprintf(hash, cap, "%s:%d", x->c->promote_auto ? "champion" : "challenger", v);
	return 0;
}

typedef int (*stage_fn)(ctx *, json_t *, char *, size_t, seg_error *);
static const stage_fn STAGES[PS__COUNT] = {st_ingest,   st_validate, st_eda,    st_train,
                                           st_evaluate, st_register, st_promote};

/* ---- running a stage in a child ---- */

/* In the child: runs stage s, writes {"rc","msg","hash","info"} to fd and
 * exits. Never returns. */
static void child_run(ctx *x, int s, int fd, int lockfd)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	if (getppid() == 1)
		_exit(CHILD_FAIL);
	close(lockfd);
	if (x->o->test_kill_in == s) {
		kill(getppid(), SIGKILL);
		raise(SIGKILL);
	}
	seg_error err = {0};
	json_t *info = json_object();
	char hash[512] = "";
	int rc;
	if (x->o->test_transient_in == s && x->attempt < x->o->test_transient_count)
		rc = seg_error_set(&err, SEG_EIO, "injected transient failure (attempt %d)", x->attempt + 1);
	else
		rc = STAGES[s](x, info, hash, sizeof hash, &err);
	json_t *res =
		json_pack("{s:i,s:s,s:s,s:o}", "rc", rc, "msg", rc < 0 ? err.msg : "", "hash", hash, "info", info);
	char *text = res ? json_dumps(res, JSON_COMPACT) : NULL;
	size_t len = text ? strlen(text) : 0, off = 0;
	while (off < len) {
		ssize_t w = write(fd, text + off, len - off);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	close(fd);
	_exit(rc == 0 ? CHILD_OK : (rc == SEG_EIO || rc == SEG_EDB) ? CHILD_TRANSIENT : CHILD_FAIL);
}

/* Runs one attempt of stage s; fills *res (the child's JSON) and returns
 * CHILD_* (or CHILD_FAIL with err on a timeout or a crash). */
static int attempt_run(ctx *x, int s, int lockfd, json_t **res, seg_error *err)
{
	*res = NULL;
	int p[2];
	if (pipe(p) != 0)
		return seg_error_set(err, SEG_EIO, "pipe: %s", strerror(errno)), CHILD_FAIL;
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return seg_error_set(err, SEG_EIO, "fork: %s", strerror(errno)), CHILD_FAIL;
	}
	if (pid == 0) {
		close(p[0]);
		child_run(x, s, p[1], lockfd);
	}
	close(p[1]);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	char *buf = NULL;
	size_t len = 0, cap = 0;
	double t0 = progress_now(), timeout = x->c->stage[s].timeout;
	progress bar;
	char label[64];
	snprintf(label, sizeof label, "%s", pipeline_stage_names[s]);
	progress_start(&bar, label, 0);
	int status = 0, done = 0, timed_out = 0, stopped = 0;
	while (!done) {
		char chunk[4096];
		ssize_t n;
		while ((n = read(p[0], chunk, sizeof chunk)) > 0) {
			if (len + (size_t)n + 1 > cap) {
				char *nb = realloc(buf, cap = (len + (size_t)n + 1) * 2);
				if (nb == NULL)
					break;
				buf = nb;
			}
			memcpy(buf + len, chunk, (size_t)n);
			len += (size_t)n;
		}
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid) {
			done = 1;
			continue;
		}
		double el = progress_now() - t0;
		if (timeout > 0 && el > timeout && !timed_out) {
			kill(pid, SIGKILL); /* the stage is failed; reaped on the next turn */
			timed_out = 1;
		}
		if (stop_signal && !stopped && !timed_out) {
			kill(pid, SIGKILL); /* asked to stop: the stage leaves no record */
			stopped = 1;
		}
		char note[96];
		snprintf(note, sizeof note, "pipeline: %s  %.1f s%s", pipeline_stage_names[s], el,
		         x->attempt ? "  (retry)" : "");
		progress_note(&bar, note);
		struct timespec ts = {0, 20 * 1000000L};
		nanosleep(&ts, NULL);
	}
	progress_finish(&bar);
	ssize_t n;
	char chunk[4096];
	while ((n = read(p[0], chunk, sizeof chunk)) > 0) {
		char *nb = len + (size_t)n + 1 > cap ? realloc(buf, cap = (len + (size_t)n + 1) * 2) : buf;
		if (nb == NULL)
			break;
		buf = nb;
		memcpy(buf + len, chunk, (size_t)n);
		len += (size_t)n;
	}
	close(p[0]);
	if (buf)
		buf[len] = '\0';
	json_error_t je;
	*res = buf ? json_loads(buf, 0, &je) : NULL;
	free(buf);
	if (stopped) {
		seg_error_set(err, SEG_EINVAL, "stopped by signal %d: stage %s killed before it finished",
		              (int)stop_signal, pipeline_stage_names[s]);
		return CHILD_STOPPED;
	}
	if (timed_out) {
		seg_error_set(err, SEG_EINVAL, "stage %s timed out after %g s (killed)", pipeline_stage_names[s],
		              timeout);
		return CHILD_FAIL;
	}
	if (WIFSIGNALED(status)) {
		seg_error_set(err, SEG_EINVAL, "stage %s died of signal %d", pipeline_stage_names[s], WTERMSIG(status));
		return CHILD_FAIL;
	}
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : CHILD_FAIL;
	if (code != CHILD_OK) {
		const char *msg = json_string_value(json_object_get(*res, "msg"));
		seg_error_set(err, (int)json_integer_value(json_object_get(*res, "rc")) ?: SEG_EINVAL, "stage %s: %s",
		              pipeline_stage_names[s], msg && msg[0] ? msg : "failed without a message");
	} else if (*res == NULL) {
		seg_error_set(err, SEG_EFORMAT, "stage %s reported nothing readable", pipeline_stage_names[s]);
		return CHILD_FAIL;
	}
	return code == CHILD_OK || code == CHILD_TRANSIENT ? code : CHILD_FAIL;
}

/* ---- the runner ---- */

void pipeline_options_default(pipeline_options *o)
{
	memset(o, 0, sizeof *o);
	o->from = o->only = o->force = -1;
	o->out = stderr;
	o->test_kill_in = o->test_transient_in = -1;
}

static json_t *state_load(const char *ws)
{
	char path[PATH_MAX];
	ppath(ws, PIPELINE_STATE_FILE, path, sizeof path);
	json_t *j = json_load_path(path);
	if (!json_is_object(j)) {
		json_decref(j);
		j = json_object();
	}
	if (!json_is_object(json_object_get(j, "stages")))
		json_object_set_new(j, "stages", json_object());
	return j;
}

static int state_save(const ctx *x, seg_error *err)
{
	char path[PATH_MAX];
	ppath(x->ws, PIPELINE_STATE_FILE, path, sizeof path);
	return json_save_atomic(path, x->state, err);
}

/* The path of file `name` beside model m's model.seg into buf; 0 or -1. */
static int model_side_file(const char *ws, int m, const char *name, char *buf, size_t cap)
{
	seg_error e = {0};
	if (m <= 0 || workspace_model_file(ws, m, buf, cap, &e) < 0)
		return -1;
	char *slash = strrchr(buf, '/');
	if (name && slash)
		snprintf(slash + 1, cap - (size_t)(slash + 1 - buf), "%s", name);
	return 0;
}

/* Says the first tracking failure of a run. */
static void tracking_note(const ctx *x, int rc, const seg_error *e, int *reported)
{
	if (rc < 0 && !*reported && x->o->out)
		fprintf(x->o->out, "pipeline: tracking: %s\n", e->msg);
	if (rc < 0)
		*reported = 1;
}

/* What the MLflow run of this pipeline run records (best effort: a
 * tracking failure never fails the pipeline; the first one is reported).
 * Every run: each stage's status as a tag, the data and model it stands
 * for, the validation R-precision. The stages that ran: their seconds, and
 * their products as artifacts (model.seg as a hard link, evaluation.json,
 * the EDA report) with the model's figures as metrics (ALS loss per
 * iteration, k-means inertia: its meta section through mlrun_metrics_json). */
static void track(mlrun *run, const ctx *x, const pipeline_result *r)
{
	if (run == NULL)
		return;
	seg_error e = {0};
	int bad = 0;
#define T(call) tracking_note(x, (call), &e, &bad)
	for (int s = 0; s < PS__COUNT; s++) {
		char key[64];
		snprintf(key, sizeof key, "stage.%s", pipeline_stage_names[s]);
		T(mlrun_tag(run, key, pipeline_status_names[r->status[s]], &e));
		if (r->status[s] == PSS_RAN) {
			snprintf(key, sizeof key, "seconds.%s", pipeline_stage_names[s]);
			T(mlrun_metric(run, key, r->seconds[s], 0, 0, &e));
		}
	}
	const char *data = json_string_value(json_object_get(record_of(x, PS_INGEST), "hash"));
	if (data)
		T(mlrun_tag(run, "data.catalog_stamp", data, &e));
	json_t *ev = json_object_get(record_of(x, PS_EVALUATE), "info");
	int m = (int)json_integer_value(json_object_get(json_object_get(record_of(x, PS_TRAIN), "info"), "model"));
	char path[PATH_MAX + 64];
	if (m > 0) {
		char v[32];
		snprintf(v, sizeof v, "v%d", m);
		T(mlrun_tag(run, "model.version", v, &e));
	}
	if (json_is_number(json_object_get(ev, "rprec")))
		T(mlrun_metric(run, "rprec_validation", json_number_value(json_object_get(ev, "rprec")), 0, 0, &e));
	if (r->status[PS_TRAIN] == PSS_RAN && model_side_file(x->ws, m, NULL, path, sizeof path) == 0) {
		T(mlrun_artifact(run, path, "model.seg", &e));
		container_file *cf = NULL;
		if (container_file_open(&cf, path, &e) == 0) {
			size_t sz = 0;
			const char *meta = container_file_section(cf, MS_META, &sz);
			/* The section is NUL-terminated JSON (train.c). */
			if (meta && sz > 0 && meta[sz - 1] == '\0')
				T(mlrun_metrics_json(run, "model.", meta, 0, &e));
			container_file_close(cf);
		}
	}
	if (r->status[PS_EVALUATE] == PSS_RAN &&
	    model_side_file(x->ws, m, WORKSPACE_EVALUATION_FILE, path, sizeof path) == 0)
		T(mlrun_artifact(run, path, WORKSPACE_EVALUATION_FILE, &e));
	if (r->status[PS_EDA] == PSS_RAN) {
		const char *rep =
			json_string_value(json_object_get(json_object_get(record_of(x, PS_EDA), "info"), "report"));
		if (rep)
			T(mlrun_artifact(run, rep, "eda/" WORKSPACE_EDA_REPORT_FILE, &e));
	}
	T(mlrun_metric(run, "seconds.total", r->total_seconds, 0, 0, &e));
#undef T
}

int pipeline_run(const pipeline_options *o, pipeline_result *res, seg_error *err)
{
	pipeline_result local = {0};
	pipeline_result *r = res ? res : &local;
	memset(r, 0, sizeof *r);
	double t0 = progress_now();
	ctx x = {.o = o, .c = o->conf, .ws = o->workspace};
	int lockfd = pipeline_lock(o->workspace, err);
	if (lockfd < 0)
		return lockfd;
	x.state = state_load(o->workspace);
	/* SIGINT and SIGTERM stop the run between polls: the running stage is
	 * killed, the state and the MLflow run (KILLED) are written, the lock
	 * released. */
	struct sigaction sa = {.sa_handler = on_stop_signal}, old_int, old_term;
	sigemptyset(&sa.sa_mask);
	stop_signal = 0;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	mlrun *run = NULL;
	char mlruns[PATH_MAX + 16], name[64];
	snprintf(mlruns, sizeof mlruns, "%s/mlruns", o->workspace);
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(name, sizeof name, "pipeline-%Y%m%dT%H%M%SZ", &tm);
	seg_error te = {0};
	if (mlrun_start(mlruns, "pipeline", name, &run, &te) == 0) {
		snprintf(x.run_id, sizeof x.run_id, "%s", mlrun_id(run));
		snprintf(r->run_id, sizeof r->run_id, "%s", x.run_id);
		char *params = pipeline_config_text(o->conf);
		for (char *save = NULL, *l = params ? strtok_r(params, "\n", &save) : NULL; l;
		     l = strtok_r(NULL, "\n", &save)) {
			char *eq = strchr(l, '=');
			if (eq && strncmp(l, "ingest.file=", 12) != 0) {
				*eq = '\0';
				mlrun_param(run, l, eq + 1, &te);
			}
		}
		free(params);
		mlrun_tag(run, "segue.version", SEGUE_VERSION, &te);
	} else if (o->out) {
		fprintf(o->out, "pipeline: not tracked (%s)\n", te.msg);
	}
	json_t *last = json_pack("{s:s,s:I,s:s,s:{}}", "run_id", x.run_id, "started_ms", (json_int_t)now_ms(), "status",
	                         "running", "stages");
	json_object_set_new(x.state, "last_run", last);
	int rc = 0;
	for (int s = 0; s < PS__COUNT && rc == 0; s++) {
		if (stop_signal) {
			rc = seg_error_set(err, SEG_EINVAL, "stopped by signal %d before stage %s", (int)stop_signal,
			                   pipeline_stage_names[s]);
			break;
		}
		json_t *ls = json_object();
		json_object_set_new(json_object_get(last, "stages"), pipeline_stage_names[s], ls);
		if (o->only >= 0 && s != o->only) {
			json_object_set_new(ls, "status", json_string("not run"));
			continue;
		}
		char key[17];
		if ((rc = stage_key(&x, s, key, err)) < 0) {
			r->status[s] = PSS_FAILED;
			json_object_set_new(ls, "status", json_string("failed"));
			json_object_set_new(ls, "message", json_string(err->msg));
			break;
		}
		int forced = o->force == s || o->only == s || (o->from >= 0 && s >= o->from);
		json_t *rec = record_of(&x, s);
		const char *old = json_string_value(json_object_get(rec, "key"));
		if (!forced && old && strcmp(old, key) == 0 && still_valid(&x, s, rec)) {
			r->status[s] = PSS_CACHED;
			json_object_set_new(ls, "status", json_string("cached"));
			if (o->out)
				fprintf(o->out, "  %-9s cached\n", pipeline_stage_names[s]);
			continue;
		}
		double ts = progress_now();
		json_t *out = NULL;
		int code = CHILD_FAIL;
		for (x.attempt = 0;; x.attempt++) {
			json_decref(out);
			code = attempt_run(&x, s, lockfd, &out, err);
			r->attempts[s] = x.attempt + 1;
			if (code != CHILD_TRANSIENT || x.attempt >= o->conf->stage[s].retries || stop_signal)
				break;
			double wait = o->conf->stage[s].backoff * pow(2, x.attempt);
			if (o->out)
				fprintf(o->out, "  %-9s transient failure (%s); retry %d of %d in %.2f s\n",
				        pipeline_stage_names[s], err->msg, x.attempt + 1, o->conf->stage[s].retries,
				        wait);
			struct timespec w = {(time_t)wait, (long)((wait - floor(wait)) * 1e9)};
			nanosleep(&w, NULL);
		}
		r->seconds[s] = progress_now() - ts;
		json_object_set_new(ls, "seconds", json_real(r->seconds[s]));
		json_object_set_new(ls, "attempts", json_integer(r->attempts[s]));
		if (code != CHILD_OK) {
			r->status[s] = PSS_FAILED;
			rc = err->code < 0 ? err->code : SEG_EINVAL;
			json_object_set_new(ls, "status", json_string("failed"));
			json_object_set_new(ls, "message", json_string(err->msg));
			json_object_set_new(ls, "info", json_incref(json_object_get(out, "info")));
			if (o->out)
				fprintf(o->out, "  %-9s FAILED after %.2f s: %s\n", pipeline_stage_names[s],
				        r->seconds[s], err->msg);
		} else {
			r->status[s] = PSS_RAN;
			json_t *nrec = json_pack("{s:s,s:O,s:O,s:I,s:f}", "key", key, "hash",
			                         json_object_get(out, "hash"), "info", json_object_get(out, "info"),
			                         "finished_ms", (json_int_t)now_ms(), "seconds", r->seconds[s]);
			json_object_set_new(json_object_get(x.state, "stages"), pipeline_stage_names[s], nrec);
			json_object_set_new(ls, "status", json_string("ran"));
			if (o->out)
				fprintf(o->out, "  %-9s ran in %.2f s%s\n", pipeline_stage_names[s], r->seconds[s],
				        r->attempts[s] > 1 ? " (after a retry)" : "");
		}
		json_decref(out);
		/* The stage's record, as soon as it has finished. */
		seg_error se = {0};
		int src = state_save(&x, &se);
		if (src < 0 && rc == 0)
			rc = src, *err = se;
	}
	r->total_seconds = progress_now() - t0;
	int stopped = rc < 0 && stop_signal != 0;
	json_object_set_new(last, "status", json_string(rc == 0 ? "finished" : stopped ? "stopped" : "failed"));
	json_object_set_new(last, "finished_ms", json_integer(now_ms()));
	json_object_set_new(last, "seconds", json_real(r->total_seconds));
	if (rc < 0)
		json_object_set_new(last, "message", json_string(err->msg));
	seg_error se = {0};
	int src = state_save(&x, &se);
	if (src < 0 && rc == 0)
		rc = src, *err = se;
	track(run, &x, r);
	mlrun_end(run, rc == 0 ? "FINISHED" : stopped ? "KILLED" : "FAILED", &te);
	json_decref(x.state);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	pipeline_unlock(lockfd);
	return rc;
}

int pipeline_show(const char *ws, FILE *out, seg_error *err)
{
	char path[PATH_MAX];
	ppath(ws, PIPELINE_STATE_FILE, path, sizeof path);
	json_t *j = json_load_path(path);
	json_t *last = json_object_get(j, "last_run");
	if (last == NULL) {
		json_decref(j);
		return seg_error_set(err, SEG_ENOTFOUND, "the pipeline never ran in %s (no %s)", ws, path);
	}
	fprintf(out, "last run %s: %s in %.2f s\n", json_string_value(json_object_get(last, "run_id")) ?: "",
	        json_string_value(json_object_get(last, "status")) ?: "?",
	        json_number_value(json_object_get(last, "seconds")));
	for (int s = 0; s < PS__COUNT; s++) {
		json_t *ls = json_object_get(json_object_get(last, "stages"), pipeline_stage_names[s]);
		const char *st = json_string_value(json_object_get(ls, "status"));
		fprintf(out, "  %-9s %-8s", pipeline_stage_names[s], st ? st : "-");
		if (json_is_number(json_object_get(ls, "seconds")))
			fprintf(out, " %7.2f s, %d attempt(s)", json_number_value(json_object_get(ls, "seconds")),
			        (int)json_integer_value(json_object_get(ls, "attempts")));
		const char *msg = json_string_value(json_object_get(ls, "message"));
		if (msg)
			fprintf(out, "\n            %s", msg);
		fputc('\n', out);
	}
	const char *msg = json_string_value(json_object_get(last, "message"));
	if (msg && strcmp(json_string_value(json_object_get(last, "status")) ?: "", "finished") != 0)
		fprintf(out, "%s: %s\n", json_string_value(json_object_get(last, "status")), msg);
	json_decref(j);
	return 0;
}
