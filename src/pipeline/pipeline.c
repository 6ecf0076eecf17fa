/* pipeline.c: the stage runner of pipeline.h: configuration, cache keys,
 * state.json, the lock, each stage in a forked child with retries and a
 * timeout, the validation and evaluation gates. */
#include "pipeline/pipeline.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <cblas.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
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
#include "core/parallel.h"
#include "core/container.h"
#include "core/progress.h"
#include "engine/evaluate.h"
#include "engine/train.h"
#include "ingest/ingest.h"
#include "pipeline/registry.h"
#include "pipeline/runs.h"
#include "report/eda.h"

const char *const pipeline_stage_names[PS__COUNT] = {"ingest",  "validate", "eda",      "features", "map",
                                                     "quality", "cf",       "ease",     "rp3",      "title",
                                                     "train",   "evaluate", "register", "promote"};
const char *const pipeline_status_names[4] = {"not run", "cached", "ran", "failed"};

/* Each stage's code version: raise one when what the stage computes changes,
 * so that its cached record no longer counts. */
static const int STAGE_CODE[PS__COUNT] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1};

/* The stages each stage depends on (bits 1 << stage); enum order is a
 * topological order of this graph. */
#define B(s) (1u << (s))
static const unsigned DEPS[PS__COUNT] = {
	[PS_INGEST] = 0,
	[PS_VALIDATE] = B(PS_INGEST),
	[PS_EDA] = B(PS_VALIDATE),
	[PS_FEATURES] = B(PS_VALIDATE),
	[PS_MAP] = B(PS_FEATURES),
	[PS_QUALITY] = B(PS_FEATURES),
	[PS_CF] = B(PS_FEATURES),
	[PS_EASE] = B(PS_FEATURES),
	[PS_RP3] = B(PS_FEATURES),
	[PS_TITLE] = B(PS_FEATURES),
	[PS_TRAIN] = B(PS_FEATURES) | B(PS_MAP) | B(PS_QUALITY) | B(PS_CF) | B(PS_EASE) | B(PS_RP3) | B(PS_TITLE),
	[PS_EVALUATE] = B(PS_TRAIN),
	[PS_REGISTER] = B(PS_EVALUATE),
	[PS_PROMOTE] = B(PS_REGISTER),
};
#undef B

/* The training part (train.h) a stage makes, or -1. */
static int part_of(int s)
{
	return s == PS_FEATURES ? TP_FEATURES : s >= PS_MAP && s <= PS_TITLE ? TP_MAP + (s - PS_MAP) : -1;
}

/* Bits of every stage that depends on s, directly or not. */
static unsigned descendants(int s)
{
	unsigned d = 1u << s;
	for (int t = s + 1; t < PS__COUNT; t++)
		if (DEPS[t] & d)
			d |= 1u << t;
	return d & ~(1u << s);
}

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
	c->parallel = 2;
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
	INT_KEY(PS_TRAIN, "parallel", parallel, 1, 16)
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
				char names[256] = "";
				for (int t = 0; t < PS__COUNT; t++)
					snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
					         t ? ", " : "", pipeline_stage_names[t]);
				rc = seg_error_set(err, SEG_EINVAL, "%s:%d: unknown section '%s' (the stages: %s)",
				                   path, lineno, s, names);
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

/* The parameters of configuration section s as text, "key=value ...". */
static void section_params(const pipeline_config *c, int s, char *buf, size_t cap)
{
	int n = 0;
	buf[0] = '\0';
	switch (s) {
	case PS_INGEST: n = snprintf(buf, cap, "large_file_mb=%g", c->large_file_mb); break;
	case PS_VALIDATE:
		n = snprintf(buf, cap, "max_rejected_share=%g min_playlists=%ld psi_limit=%g", c->max_rejected_share,
		             c->min_playlists, c->psi_limit);
		break;
	case PS_EDA: n = snprintf(buf, cap, "top_n=%d", c->eda_top_n); break;
	case PS_TRAIN:
		n = snprintf(buf, cap,
		             "clusters=%d factors=%d iterations=%d rounds=%d cv_folds=%d seed=%lu parallel=%d",
		             c->clusters, c->factors, c->als_iterations, c->quality_rounds, c->cv_folds, c->seed,
		             c->parallel);
		break;
	case PS_EVALUATE: n = snprintf(buf, cap, "max_playlists=%ld", c->eval_max_playlists); break;
	case PS_REGISTER: n = snprintf(buf, cap, "margin=%g", c->margin); break;
	case PS_PROMOTE: n = snprintf(buf, cap, "auto=%d", c->promote_auto); break;
	default: break;
	}
	(void)n;
}

/* The parameters stage s reads (its part of the cache key): the [train]
 * keys belong to the model stages that use them; parallel changes no
 * result and is in no key. */
static void stage_params(const pipeline_config *c, int s, char *buf, size_t cap)
{
	buf[0] = '\0';
	switch (s) {
	case PS_MAP: snprintf(buf, cap, "clusters=%d seed=%lu", c->clusters, c->seed); break;
	case PS_QUALITY: snprintf(buf, cap, "rounds=%d cv_folds=%d", c->quality_rounds, c->cv_folds); break;
	case PS_CF:
		snprintf(buf, cap, "factors=%d iterations=%d seed=%lu", c->factors, c->als_iterations, c->seed);
		break;
	case PS_FEATURES:
	case PS_EASE:
	case PS_RP3:
	case PS_TITLE:
	case PS_TRAIN: break;
	default: section_params(c, s, buf, cap); break;
	}
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
		section_params(c, s, p, sizeof p);
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
	int stage;     /* in a stage's child: the stage it runs */
	int attempt;   /* in a stage's child: 0-based, of the attempt it is */
	char run_id[40];
} ctx;

static json_t *record_of(const ctx *x, int s)
{
	return json_object_get(json_object_get(x->state, "stages"), pipeline_stage_names[s]);
}

/* The hashes the stages s depends on recorded, "a|b|..." into buf; -1 and
 * the first one without a record in *missing when one has none. */
static int upstream_hash(const ctx *x, int s, char *buf, size_t cap, int *missing)
{
	size_t len = 0;
	buf[0] = '\0';
	for (int d = 0; d < PS__COUNT; d++) {
		if (!(DEPS[s] & (1u << d)))
			continue;
		const char *h = json_string_value(json_object_get(record_of(x, d), "hash"));
		if (h == NULL) {
			if (missing)
				*missing = d;
			return -1;
		}
		len += (size_t)snprintf(buf + len, len < cap ? cap - len : 0, "%s|", h);
	}
	return len < cap ? 0 : -1;
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
		char up[PS__COUNT * 600];
		int missing = -1;
		if (upstream_hash(x, s, up, sizeof up, &missing) < 0)
			rc = seg_error_set(
				err, SEG_ENOTFOUND, "stage %s has no finished %s before it: run the whole pipeline",
				pipeline_stage_names[s], missing >= 0 ? pipeline_stage_names[missing] : "stage");
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
	default:
		if (part_of(s) >= 0) {
			struct stat st;
			snprintf(path, sizeof path, "%s", json_string_value(json_object_get(info, "part")) ?: "");
			return stat(path, &st) == 0 &&
			       (json_int_t)st.st_size == json_integer_value(json_object_get(info, "bytes"));
		}
		return 1;
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
		snprintf(hash, cap, "%s", json_string_value(json_object_get(record_of(x, PS_INGEST), "hash")) ?: "");
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
		char up[600];
		upstream_hash(x, PS_EDA, up, sizeof up, NULL);
		snprintf(hash, cap, "eda:%s", up);
	}
	return rc;
}

/* The training options of the configuration. */
static void train_opts(const ctx *x, train_options *t)
{
	train_options_default(t);
	t->workspace = x->ws;
	t->clusters = x->c->clusters;
	t->factors = x->c->factors;
	t->als_iterations = x->c->als_iterations;
	t->quality_rounds = x->c->quality_rounds;
	t->cv_folds = x->c->cv_folds;
	t->seed = x->c->seed;
	t->verbose = 0;
}

/* The file of training part p: WORKSPACE/pipeline/parts/NAME.seg. */
static int part_path(const char *ws, int p, char *buf, size_t cap, seg_error *err)
{
	char dir[PATH_MAX];
	ppath(ws, "parts", dir, sizeof dir);
	if (mkdir(dir, 0777) != 0 && errno != EEXIST)
		return seg_error_set(err, SEG_EIO, "cannot create %s: %s", dir, strerror(errno));
	snprintf(buf, cap, "%s/%s.seg", dir, train_part_names[p]);
	return 0;
}

/* A model stage, or features: one training part (train.h) into its file.
 * Its hash is its file's bytes' (XXH3-64), so that a part made again the
 * same changes nothing downstream. */
static int st_part(ctx *x, json_t *info, char *hash, size_t cap, seg_error *err)
{
	int p = part_of(x->stage);
	char path[PATH_MAX + 64], features[PATH_MAX + 64];
	train_options t;
	train_opts(x, &t);
	int rc;
	if ((rc = part_path(x->ws, p, path, sizeof path, err)) < 0 ||
	    (rc = part_path(x->ws, TP_FEATURES, features, sizeof features, err)) < 0)
		return rc;
	if (p == TP_FEATURES) {
		/* As `segue train`: the feature snapshot made from the catalogue
		 * as it is, read under the workspace's lock. */
		catalog *cat = NULL;
		if ((rc = catalog_open(&cat, x->ws, 0, err)) == 0 &&
		    (rc = workspace_lock(x->ws, WORKSPACE_LOCK_WAIT, err)) == 0) {
			rc = workspace_derived_refresh(x->ws, catalog_db(cat), 0, NULL, err);
			if (rc >= 0)
				rc = train_part_run(&t, p, NULL, path, err);
			workspace_unlock(x->ws);
		}
		catalog_close(cat);
	} else {
		rc = train_part_run(&t, p, features, path, err);
	}
	if (rc < 0)
		return rc;
	/* The hash of what the part holds: every section but its figures
	 * (which hold the seconds it took). */
	container_file *f = NULL;
	if ((rc = container_file_open(&f, path, err)) < 0)
		return rc;
	XXH3_state_t *h = XXH3_createState();
	if (h == NULL) {
		container_file_close(f);
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	}
	XXH3_64bits_reset(h);
	for (size_t i = 0; i < container_file_count(f); i++) {
		const char *name = container_file_name_at(f, i);
		size_t n = 0;
		const void *data = name ? container_file_section(f, name, &n) : NULL;
		if (data == NULL || strcmp(name, TRAIN_PART_META) == 0)
			continue;
		XXH3_64bits_update(h, name, strlen(name) + 1);
		XXH3_64bits_update(h, data, n);
	}
	unsigned long long d = XXH3_64bits_digest(h);
	XXH3_freeState(h);
	container_file_close(f);
	struct stat st;
	if (stat(path, &st) != 0)
		return seg_error_set(err, SEG_EIO, "cannot read %s: %s", path, strerror(errno));
	json_object_set_new(info, "part", json_string(path));
	json_object_set_new(info, "bytes", json_integer((json_int_t)st.st_size));
	snprintf(hash, cap, "%s:%016llx", train_part_names[p], d);
	return 0;
}

/* train: publishes models/vN assembled from the parts. */
static int st_train(ctx *x, json_t *info, char *hash, size_t cap, seg_error *err)
{
	train_options t;
	train_opts(x, &t);
	char paths[TP__COUNT][PATH_MAX + 64];
	const char *pp[TP__COUNT];
	int rc = 0;
	for (int p = 0; p < TP__COUNT && rc == 0; p++) {
		rc = part_path(x->ws, p, paths[p], sizeof paths[p], err);
		pp[p] = paths[p];
	}
	if (rc == 0)
		rc = workspace_lock(x->ws, WORKSPACE_LOCK_WAIT, err);
	if (rc < 0)
		return rc;
	char version[32] = "";
	rc = train_parts_publish(&t, pp, version, sizeof version, err);
	workspace_unlock(x->ws);
	if (rc < 0)
		return rc;
	int m = workspace_version_parse(version);
	json_object_set_new(info, "model", json_integer(m));
	char up[PS__COUNT * 600];
	upstream_hash(x, PS_TRAIN, up, sizeof up, NULL);
	XXH64_hash_t uh = XXH3_64bits(up, strlen(up));
	snprintf(hash, cap, "%s:%016llx", version, (unsigned long long)uh);
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
	char up[600];
	upstream_hash(x, PS_REGISTER, up, sizeof up, NULL);
	snprintf(hash, cap, "r%d:%s", version, up);
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
static const stage_fn STAGES[PS__COUNT] = {st_ingest, st_validate, st_eda,      st_part,   st_part,
                                           st_part,   st_part,     st_part,     st_part,   st_part,
                                           st_train,  st_evaluate, st_register, st_promote};

/* ---- running a stage in a child ---- */

/* In the child: runs stage x->stage (attempt x->attempt) with `threads`
 * threads (0: all), writes {"rc","msg","hash","info"} to fd and exits.
 * Never returns. */
static void child_run(ctx *x, int fd, int lockfd, int threads)
{
	int s = x->stage;
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
	if (threads > 0) {
		parallel_set_default(threads);
		openblas_set_num_threads(threads);
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

/* One attempt of a stage running in a child. */
typedef struct child {
	int stage;
	pid_t pid;
	int fd;    /* the read end of its report pipe */
	double t0; /* when the attempt started */
	char *buf; /* its report so far */
	size_t len, cap;
	int timed_out; /* killed for its timeout */
	int stopped;   /* killed because the runner was asked to stop */
	int status;    /* waitpid's, once reaped */
} child;

/* Forks the attempt x->attempt of stage s into *c. 0, or CHILD_FAIL with err. */
static int child_start(ctx *x, int s, int lockfd, int threads, child *c, seg_error *err)
{
	memset(c, 0, sizeof *c);
	c->stage = s;
	int p[2];
	if (pipe(p) != 0)
		return seg_error_set(err, SEG_EIO, "pipe: %s", strerror(errno)), CHILD_FAIL;
	fflush(NULL);
	x->stage = s;
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return seg_error_set(err, SEG_EIO, "fork: %s", strerror(errno)), CHILD_FAIL;
	}
	if (pid == 0) {
		close(p[0]);
		child_run(x, p[1], lockfd, threads);
	}
	close(p[1]);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	fcntl(p[0], F_SETFD, FD_CLOEXEC);
	c->pid = pid;
	c->fd = p[0];
	c->t0 = progress_now();
	return 0;
}

/* Reads what the child wrote so far. */
static void child_drain(child *c)
{
	char chunk[4096];
	ssize_t n;
	while ((n = read(c->fd, chunk, sizeof chunk)) > 0) {
		if (c->len + (size_t)n + 1 > c->cap) {
			size_t cap = (c->len + (size_t)n + 1) * 2;
			char *nb = realloc(c->buf, cap);
			if (nb == NULL)
				return;
			c->buf = nb;
			c->cap = cap;
		}
		memcpy(c->buf + c->len, chunk, (size_t)n);
		c->len += (size_t)n;
	}
}

/* Polls c: reads its report, kills it past its timeout or when asked to
 * stop. 1 when it has ended (reaped), else 0. */
static int child_poll(const ctx *x, child *c)
{
	child_drain(c);
	if (waitpid(c->pid, &c->status, WNOHANG) == c->pid) {
		child_drain(c);
		return 1;
	}
	double timeout = x->c->stage[c->stage].timeout;
	if (timeout > 0 && progress_now() - c->t0 > timeout && !c->timed_out && !c->stopped) {
		kill(c->pid, SIGKILL); /* the stage is failed; reaped on a later poll */
		c->timed_out = 1;
	}
	if (stop_signal && !c->stopped && !c->timed_out) {
		kill(c->pid, SIGKILL); /* asked to stop: the stage leaves no record */
		c->stopped = 1;
	}
	return 0;
}

/* The outcome of an ended child: CHILD_* with *res its report (or NULL)
 * and err saying why when it did not succeed. Releases c's resources. */
static int child_end(const ctx *x, child *c, json_t **res, seg_error *err)
{
	int s = c->stage;
	close(c->fd);
	if (c->buf)
		c->buf[c->len] = '\0';
	json_error_t je;
	*res = c->buf ? json_loads(c->buf, 0, &je) : NULL;
	free(c->buf);
	c->buf = NULL;
	if (c->stopped) {
		seg_error_set(err, SEG_EINVAL, "stopped by signal %d: stage %s killed before it finished",
		              (int)stop_signal, pipeline_stage_names[s]);
		return CHILD_STOPPED;
	}
	if (c->timed_out) {
		seg_error_set(err, SEG_EINVAL, "stage %s timed out after %g s (killed)", pipeline_stage_names[s],
		              x->c->stage[s].timeout);
		return CHILD_FAIL;
	}
	if (WIFSIGNALED(c->status)) {
		seg_error_set(err, SEG_EINVAL, "stage %s died of signal %d", pipeline_stage_names[s],
		              WTERMSIG(c->status));
		return CHILD_FAIL;
	}
	int code = WIFEXITED(c->status) ? WEXITSTATUS(c->status) : CHILD_FAIL;
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

/* Where each stage is in a run. */
enum { W_PENDING, W_READY, W_RUNNING, W_RETRY, W_DONE, W_FAILED, W_BLOCKED };

/* Prints one line of the run (after clearing the progress line). */
static void say_line(const ctx *x, progress *bar, int *bar_on, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void say_line(const ctx *x, progress *bar, int *bar_on, const char *fmt, ...)
{
	if (*bar_on) {
		progress_finish(bar);
		*bar_on = 0;
	}
	if (x->o->out == NULL)
		return;
	va_list ap;
	va_start(ap, fmt);
	vfprintf(x->o->out, fmt, ap);
	va_end(ap);
}

/* The seconds stage s took when it last ran (its record), 0 when unknown:
 * what orders the ready stages, longest first. */
static double last_seconds(const ctx *x, int s)
{
	return json_number_value(json_object_get(record_of(x, s), "seconds"));
}

/* Runs the stages as their dependencies allow, at most [train] parallel at
 * once; fills r and `last` (state.json's last_run) and writes each record
 * as its stage finishes. 0, or the first failure's code with err. */
static int sched_run(ctx *x, pipeline_result *r, json_t *last, int lockfd, seg_error *err)
{
	const pipeline_options *o = x->o;
	int par = x->c->parallel > 0 ? x->c->parallel : 1;
	if (par > 2 * PS__COUNT)
		par = 2 * PS__COUNT;
	int w[PS__COUNT], ncpu = parallel_workers(0);
	double retry_at[PS__COUNT] = {0}, started[PS__COUNT] = {0};
	char keys[PS__COUNT][17];
	unsigned forced = 0;
	if (o->from >= 0)
		forced |= (1u << o->from) | descendants(o->from);
	if (o->force >= 0)
		forced |= 1u << o->force;
	if (o->only >= 0)
		forced |= 1u << o->only;
	child run[PS__COUNT];
	int nrun = 0, rc = 0, bar_on = 0;
	progress bar;
	json_t *stages = json_object_get(last, "stages");
	for (int s = 0; s < PS__COUNT; s++) {
		w[s] = W_PENDING;
		json_object_set_new(stages, pipeline_stage_names[s], json_pack("{s:s}", "status", "not run"));
	}
	for (;;) {
		json_t *ls;
		/* Decide every pending stage whose dependencies are decided. */
		for (int s = 0; s < PS__COUNT && rc == 0 && !stop_signal; s++) {
			if (w[s] != W_PENDING)
				continue;
			int wait = 0, blocked = 0;
			for (int d = 0; d < PS__COUNT; d++)
				if (DEPS[s] & (1u << d)) {
					wait |= w[d] != W_DONE && w[d] != W_FAILED && w[d] != W_BLOCKED;
					blocked |= w[d] == W_FAILED || w[d] == W_BLOCKED;
				}
			if (blocked) {
				w[s] = W_BLOCKED;
				continue;
			}
			if (wait)
				continue;
			ls = json_object_get(stages, pipeline_stage_names[s]);
			if (o->only >= 0 && s != o->only) {
				w[s] = W_DONE; /* stands on its record */
				continue;
			}
			if ((rc = stage_key(x, s, keys[s], err)) < 0) {
				w[s] = W_FAILED;
				r->status[s] = PSS_FAILED;
				json_object_set_new(ls, "status", json_string("failed"));
				json_object_set_new(ls, "message", json_string(err->msg));
				break;
			}
			json_t *rec = record_of(x, s);
			const char *old = json_string_value(json_object_get(rec, "key"));
			if (!(forced & (1u << s)) && old && strcmp(old, keys[s]) == 0 && still_valid(x, s, rec)) {
				w[s] = W_DONE;
				r->status[s] = PSS_CACHED;
				json_object_set_new(ls, "status", json_string("cached"));
				say_line(x, &bar, &bar_on, "  %-9s cached\n", pipeline_stage_names[s]);
				continue;
			}
			w[s] = W_READY; /* stage order is topological: one pass decides what can be */
		}
		/* Start ready stages in free slots, the longest first. */
		double now = progress_now();
		while (nrun < par && rc == 0 && !stop_signal) {
			int pick = -1, others = 0;
			for (int s = 0; s < PS__COUNT; s++) {
				int ready = w[s] == W_READY || (w[s] == W_RETRY && retry_at[s] <= now);
				if (!ready)
					continue;
				others++;
				if (pick < 0 || (par > 1 && last_seconds(x, s) > last_seconds(x, pick)))
					pick = s;
			}
			if (pick < 0)
				break;
			/* Sharing the CPUs with another stage: its share of them. */
			int threads = nrun + others > 1 && par > 1 ? (ncpu / par > 0 ? ncpu / par : 1) : 0;
			if (w[pick] == W_READY) {
				started[pick] = now;
				r->attempts[pick] = 0;
			}
			x->attempt = r->attempts[pick];
			r->attempts[pick]++;
			if (child_start(x, pick, lockfd, threads, &run[nrun], err) != 0) {
				rc = err->code < 0 ? err->code : SEG_EIO;
				w[pick] = W_FAILED;
				r->status[pick] = PSS_FAILED;
				break;
			}
			w[pick] = W_RUNNING;
			nrun++;
			if (!bar_on && o->out) {
				progress_start(&bar, "pipeline", 0);
				bar_on = 1;
			}
		}
		if (rc == 0 && stop_signal && nrun == 0) {
			int next = -1;
			for (int s = PS__COUNT - 1; s >= 0; s--)
				if (w[s] == W_PENDING || w[s] == W_READY || w[s] == W_RETRY)
					next = s;
			if (next >= 0)
				rc = seg_error_set(err, SEG_EINVAL, "stopped by signal %d before stage %s",
				                   (int)stop_signal, pipeline_stage_names[next]);
		}
		/* Work left to start: none once a stage failed or a stop was asked. */
		int waiting = 0;
		for (int s = 0; s < PS__COUNT; s++)
			waiting |= (w[s] == W_RETRY || w[s] == W_READY) && rc == 0 && !stop_signal;
		if (nrun == 0 && !waiting)
			break;
		/* Poll the running stages; each that ended is recorded at once. */
		for (int i = 0; i < nrun; i++) {
			child *c = &run[i];
			if (!child_poll(x, c))
				continue;
			int s = c->stage;
			json_t *out = NULL;
			int code = child_end(x, c, &out, err);
			run[i--] = run[--nrun];
			ls = json_object_get(stages, pipeline_stage_names[s]);
			if (code == CHILD_TRANSIENT && r->attempts[s] <= x->c->stage[s].retries && !stop_signal) {
				double wait_s = x->c->stage[s].backoff * pow(2, r->attempts[s] - 1);
				say_line(x, &bar, &bar_on, "  %-9s transient failure (%s); retry %d of %d in %.2f s\n",
				         pipeline_stage_names[s], err->msg, r->attempts[s], x->c->stage[s].retries,
				         wait_s);
				w[s] = W_RETRY;
				retry_at[s] = progress_now() + wait_s;
				json_decref(out);
				continue;
			}
			r->seconds[s] = progress_now() - started[s];
			json_object_set_new(ls, "seconds", json_real(r->seconds[s]));
			json_object_set_new(ls, "attempts", json_integer(r->attempts[s]));
			if (code != CHILD_OK) {
				w[s] = W_FAILED;
				r->status[s] = PSS_FAILED;
				if (rc == 0)
					rc = err->code < 0 ? err->code : SEG_EINVAL;
				json_object_set_new(ls, "status", json_string("failed"));
				json_object_set_new(ls, "message", json_string(err->msg));
				json_object_set_new(ls, "info", json_incref(json_object_get(out, "info")));
				say_line(x, &bar, &bar_on, "  %-9s FAILED after %.2f s: %s\n", pipeline_stage_names[s],
				         r->seconds[s], err->msg);
			} else {
				w[s] = W_DONE;
				r->status[s] = PSS_RAN;
				json_t *nrec =
					json_pack("{s:s,s:O,s:O,s:I,s:f}", "key", keys[s], "hash",
				                  json_object_get(out, "hash"), "info", json_object_get(out, "info"),
				                  "finished_ms", (json_int_t)now_ms(), "seconds", r->seconds[s]);
				json_object_set_new(json_object_get(x->state, "stages"), pipeline_stage_names[s], nrec);
				json_object_set_new(ls, "status", json_string("ran"));
				say_line(x, &bar, &bar_on, "  %-9s ran in %.2f s%s\n", pipeline_stage_names[s],
				         r->seconds[s], r->attempts[s] > 1 ? " (after a retry)" : "");
			}
			json_decref(out);
			seg_error se = {0};
			int src = state_save(x, &se);
			if (src < 0 && rc == 0)
				rc = src, *err = se;
		}
		if (nrun > 0 && bar_on) {
			char note[160];
			size_t len = (size_t)snprintf(note, sizeof note, "pipeline:");
			for (int i = 0; i < nrun && len < sizeof note; i++)
				len += (size_t)snprintf(note + len, sizeof note - len, " %s %.1f s%s",
				                        pipeline_stage_names[run[i].stage],
				                        progress_now() - started[run[i].stage],
				                        r->attempts[run[i].stage] > 1 ? " (retry)" : "");
			progress_note(&bar, note);
		}
		struct timespec ts = {0, 20 * 1000000L};
		nanosleep(&ts, NULL);
	}
	if (bar_on)
		progress_finish(&bar);
	return rc;
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
	int rc = sched_run(&x, r, last, lockfd, err);
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
