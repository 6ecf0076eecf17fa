/* workspace.c: the workspace's paths, lock, derived files and model versions
 * (see workspace.h).
 *
 * The lock is an flock() on WORKSPACE/.lock. flock conflicts between open
 * file descriptions even within one process, so a process keeps one
 * description per workspace it holds, in a small registry keyed by the lock
 * file's device and inode, with the thread that holds it and how many times:
 * that is what makes the lock reentrant in a thread and exclusive between
 * threads as between processes. */
#include "catalog/workspace.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/array.h"
#include "core/atomicfile.h"
#include "catalog/names.h"
#include "catalog/snapshot.h"

/* File names inside the workspace (the report's and the evaluation's are
 * in workspace.h, for their writers). */
#define EDA_CACHE_FILE "eda.seg"
#define LATEST_FILE "latest"
#define MODEL_FILE "model.seg"
#define EVALUATION_FILE WORKSPACE_EVALUATION_FILE
#define EDA_REPORT_FILE WORKSPACE_EDA_REPORT_FILE
#define EDA_SUMMARY_FILE WORKSPACE_EDA_SUMMARY_FILE

/* clang-format off */
static const char *const FILE_NAMES[WS__FILES] = {
	[WS_CATALOG] = CATALOG_DB_NAME,   [WS_FEATURES] = CATALOG_SNAPSHOT_NAME, [WS_NAMES] = NAMES_FILE_NAME,
	[WS_EDA_CACHE] = EDA_CACHE_FILE,  [WS_EDA_DIR] = "eda",                  [WS_MODELS] = "models",
	[WS_LATEST] = "models/" LATEST_FILE, [WS_LOCK] = ".lock",
	/* The same name as evstore.h's EVSTORE_FILE (a layer above this one,
	 * so not included here; tests/test_workspace.c checks they agree). */
	[WS_EVENTS] = "events.db",
	/* registry.h's REGISTRY_FILE, likewise a layer above. */
	[WS_REGISTRY] = "registry.json",
};
/* clang-format on */

const char *workspace_file_name(enum workspace_file f) { return FILE_NAMES[f]; }

int workspace_path(const char *ws, enum workspace_file f, char *buf, size_t cap, seg_error *err)
{
	if ((size_t)snprintf(buf, cap, "%s/%s", ws, FILE_NAMES[f]) >= cap)
		return seg_error_set(err, SEG_EINVAL, "workspace path too long: %s/%s", ws, FILE_NAMES[f]);
	return 0;
}

int workspace_model_file(const char *ws, int version, char *buf, size_t cap, seg_error *err)
{
	if ((size_t)snprintf(buf, cap, "%s/%s/v%d/%s", ws, FILE_NAMES[WS_MODELS], version, MODEL_FILE) >= cap)
		return seg_error_set(err, SEG_EINVAL, "workspace path too long: %s", ws);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* The lock                                                                  */

typedef struct held {
	dev_t dev; /* the lock file's identity */
	ino_t ino;
	int fd;          /* the flock()ed description; -1 while being taken */
	int depth;       /* workspace_lock calls not yet matched by an unlock */
	pthread_t owner; /* the thread that holds (or is taking) it */
	struct held *next;
} held;

static pthread_mutex_t held_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t held_cv = PTHREAD_COND_INITIALIZER; /* signalled when an entry goes */
static held *held_list;

/* The entry of lock file (dev, ino), or NULL; held_mu is held. */
static held *held_find(dev_t dev, ino_t ino)
{
	for (held *h = held_list; h != NULL; h = h->next)
		if (h->dev == dev && h->ino == ino)
			return h;
	return NULL;
}

/* Removes and frees `h`; held_mu is held. */
static void held_remove(held *h)
{
	for (held **p = &held_list; *p != NULL; p = &(*p)->next)
		if (*p == h) {
			*p = h->next;
			break;
		}
	free(h);
	pthread_cond_broadcast(&held_cv);
}

/* ------------------------------------------------------------------------ */
/* Leftovers of killed writers                                               */

/* The files segue replaces in each directory of the workspace, whose
 * temporaries a killed writer can leave (workspace.h lists the patterns).
 * Nothing else is ever removed: a user's own "draft.tmp" or "a.tmp.notes"
 * is not segue's. */
/* catalog.db's temporary is a new catalogue that ingest was building
 * (catalog.h, CATALOG_OPEN_LOAD). */
static const char *const ROOT_FILES[] = {CATALOG_SNAPSHOT_NAME,
                                         NAMES_FILE_NAME,
                                         EDA_CACHE_FILE,
                                         WORKSPACE_TUNING_FILE,
                                         "registry.json",
                                         CATALOG_DB_NAME,
                                         NULL};
static const char *const EDA_FILES[] = {EDA_REPORT_FILE, EDA_SUMMARY_FILE, NULL};
static const char *const MODELS_FILES[] = {LATEST_FILE, NULL};
static const char *const VERSION_FILES[] = {MODEL_FILE, EVALUATION_FILE, NULL};

/* 1 when `name` is a temporary of one of `files`: "NAME.tmp.XXXXXX" (an
 * atomicfile's), or "NAME.tmp" (the fixed name segue 0.1.0 used). */
static int is_temporary(const char *name, const char *const *files)
{
	for (; *files != NULL; files++) {
		size_t n = strlen(*files);
		if (atomicfile_is_temp_of(name, *files) ||
		    (strncmp(name, *files, n) == 0 && strcmp(name + n, ".tmp") == 0))
			return 1;
	}
	return 0;
}

/* 1 when `name` is a model version being written: "vN.tmp.XXXXXX", with vN
 * a version name workspace_version_parse takes. */
static int is_version_temporary(const char *name)
{
	char v[16];
	size_t n = strcspn(name, ".");
	if (n >= sizeof v)
		return 0;
	memcpy(v, name, n);
	v[n] = '\0';
	return workspace_version_parse(v) > 0 && atomicfile_is_temp_of(name, v);
}

/* Removes the regular files in directory `dir` that are temporaries of
 * `files`. */
static void clean_dir(const char *dir, const char *const *files)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (!is_temporary(e->d_name, files))
			continue;
		char path[PATH_MAX];
		struct stat st;
		if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, e->d_name) < sizeof path &&
		    lstat(path, &st) == 0 && S_ISREG(st.st_mode))
			unlink(path);
	}
	closedir(d);
}

/* Removes a version directory being written (models/vN.tmp.XXXXXX): its
 * model.seg and that file's temporaries, then the directory, which stays
 * when anything else is in it. */
static void clean_version_temporary(const char *dir)
{
	char file[PATH_MAX + 64];
	struct stat st;
	clean_dir(dir, VERSION_FILES);
	if ((size_t)snprintf(file, sizeof file, "%s/%s", dir, MODEL_FILE) < sizeof file && lstat(file, &st) == 0 &&
	    S_ISREG(st.st_mode))
		unlink(file);
	rmdir(dir);
}

/* ------------------------------------------------------------------------ */
/* Scratch directories                                                       */

static const char *const SCRATCH_PURPOSES[] = {"eval", "tune", NULL};
#define SCRATCH_BUSY ".busy"

/* Removes every regular file in dir, then dir (which stays when anything
 * else is in it). */
static void scratch_remove(const char *dir)
{
	DIR *d = opendir(dir);
	if (d != NULL) {
		struct dirent *e;
		while ((e = readdir(d)) != NULL) {
			char path[PATH_MAX + 256];
			struct stat st;
			if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, e->d_name) < sizeof path &&
			    lstat(path, &st) == 0 && S_ISREG(st.st_mode))
				unlink(path);
		}
		closedir(d);
	}
	rmdir(dir);
}

int workspace_scratch_open(const char *ws, const char *purpose, workspace_scratch *s, seg_error *err)
{
	s->dir[0] = '\0';
	s->fd = -1;
	int known = 0;
	for (const char *const *p = SCRATCH_PURPOSES; *p != NULL; p++)
		known |= strcmp(purpose, *p) == 0;
	if (!known)
		return seg_error_set(err, SEG_EINVAL, "no scratch directory is named for '%s'", purpose);
	char dir[PATH_MAX], busy[PATH_MAX + 16];
	if ((size_t)snprintf(dir, sizeof dir, "%s/%s.tmp.XXXXXX", ws, purpose) >= sizeof dir)
		return seg_error_set(err, SEG_EINVAL, "the workspace path is too long");
	if (mkdtemp(dir) == NULL)
		return seg_error_set(err, SEG_EIO, "cannot create %s: %s", dir, strerror(errno));
	snprintf(busy, sizeof busy, "%s/" SCRATCH_BUSY, dir);
	/* Nobody else knows the directory yet, so the lock is taken at once;
	 * until .busy exists the cleaner leaves the directory alone. */
	int fd = open(busy, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int rc = seg_error_set(err, SEG_EIO, "cannot lock %s: %s", busy, strerror(errno));
		if (fd >= 0)
			close(fd);
		scratch_remove(dir);
		return rc;
	}
	memcpy(s->dir, dir, sizeof dir);
	s->fd = fd;
	return 0;
}

void workspace_scratch_close(workspace_scratch *s)
{
	if (s->dir[0] != '\0')
		scratch_remove(s->dir); /* .busy too: it is a regular file */
	if (s->fd >= 0)
		close(s->fd);
	s->dir[0] = '\0';
	s->fd = -1;
}

/* Removes the scratch directories in ws whose owner is gone: those whose
 * .busy file can be locked. One without .busy (its owner between mkdtemp
 * and open) is left alone. */
static void clean_scratch(const char *ws)
{
	DIR *d = opendir(ws);
	if (d == NULL)
		return;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		int ours = 0;
		for (const char *const *p = SCRATCH_PURPOSES; *p != NULL; p++)
			ours |= atomicfile_is_temp_of(e->d_name, *p);
		char dir[PATH_MAX + 256], busy[PATH_MAX + 272];
		struct stat st;
		if (!ours || (size_t)snprintf(dir, sizeof dir, "%s/%s", ws, e->d_name) >= sizeof dir ||
		    lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		snprintf(busy, sizeof busy, "%s/" SCRATCH_BUSY, dir);
		int fd = open(busy, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			continue;
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			scratch_remove(dir);
		close(fd);
	}
	closedir(d);
}

/* What killed writers left: temporaries in the workspace, in eda/ (the
 * report), in models/ (latest, and versions being written) and in each
 * version directory (evaluation.json); a version directory left without a
 * model.seg (a train of segue 0.1.0 killed while writing) goes too when
 * nothing else is in it. The lock is held. */
static void clean_leftovers(const char *ws)
{
	char models[PATH_MAX], eda[PATH_MAX];
	clean_dir(ws, ROOT_FILES);
	clean_scratch(ws);
	if (workspace_path(ws, WS_EDA_DIR, eda, sizeof eda, NULL) == 0)
		clean_dir(eda, EDA_FILES);
	if (workspace_path(ws, WS_MODELS, models, sizeof models, NULL) < 0)
		return;
	clean_dir(models, MODELS_FILES);
	DIR *d = opendir(models);
	if (d == NULL)
		return;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		int published = workspace_version_parse(e->d_name) > 0;
		if (!published && !is_version_temporary(e->d_name))
			continue;
		char dir[PATH_MAX + 256], file[PATH_MAX + 512];
		struct stat st;
		snprintf(dir, sizeof dir, "%s/%s", models, e->d_name);
		if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		if (!published) {
			clean_version_temporary(dir);
			continue;
		}
		clean_dir(dir, VERSION_FILES);
		snprintf(file, sizeof file, "%s/%s", dir, MODEL_FILE);
		if (access(file, F_OK) < 0)
			rmdir(dir); /* fails, and keeps it, unless empty */
	}
	closedir(d);
}

int workspace_lock(const char *ws, int mode, seg_error *err)
{
	char path[PATH_MAX];
	int rc = workspace_path(ws, WS_LOCK, path, sizeof path, err);
	if (rc < 0)
		return rc;
	if (mkdir(ws, 0777) < 0 && errno != EEXIST)
		return seg_error_set(err, SEG_EIO, "cannot create workspace %s: %s", ws, strerror(errno));
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
	if (fd < 0 && (errno == EROFS || errno == EACCES))
		fd = open(path, O_RDONLY | O_CLOEXEC); /* flock needs no write access */
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		rc = seg_error_set(err, SEG_EIO, "cannot open the workspace lock %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	pthread_t self = pthread_self();
	pthread_mutex_lock(&held_mu);
	held *h;
	while ((h = held_find(st.st_dev, st.st_ino)) != NULL) {
		if (pthread_equal(h->owner, self)) {
			h->depth++;
			pthread_mutex_unlock(&held_mu);
			close(fd);
			return 0;
		}
		if (mode == WORKSPACE_LOCK_TRY) {
			pthread_mutex_unlock(&held_mu);
			close(fd);
			return 1;
		}
		pthread_cond_wait(&held_cv, &held_mu);
	}
	h = calloc(1, sizeof(*h));
	if (h == NULL) {
		pthread_mutex_unlock(&held_mu);
		close(fd);
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	}
	h->dev = st.st_dev;
	h->ino = st.st_ino;
	h->fd = -1;
	h->owner = self;
	h->next = held_list;
	held_list = h;
	pthread_mutex_unlock(&held_mu);

	int got = flock(fd, LOCK_EX | LOCK_NB);
	if (got < 0 && errno == EWOULDBLOCK && mode == WORKSPACE_LOCK_WAIT)
		while ((got = flock(fd, LOCK_EX)) < 0 && errno == EINTR)
			;
	if (got < 0) {
		int e = errno;
		close(fd);
		pthread_mutex_lock(&held_mu);
		held_remove(h);
		pthread_mutex_unlock(&held_mu);
		if (e == EWOULDBLOCK)
			return 1;
		return seg_error_set(err, SEG_EIO, "cannot lock %s: %s", path, strerror(e));
	}
	pthread_mutex_lock(&held_mu);
	h->fd = fd;
	h->depth = 1;
	pthread_mutex_unlock(&held_mu);
	clean_leftovers(ws);
	return 0;
}

void workspace_unlock(const char *ws)
{
	char path[PATH_MAX];
	struct stat st;
	if (workspace_path(ws, WS_LOCK, path, sizeof path, NULL) < 0 || stat(path, &st) < 0)
		return;
	pthread_mutex_lock(&held_mu);
	held *h = held_find(st.st_dev, st.st_ino);
	if (h != NULL && h->fd >= 0 && pthread_equal(h->owner, pthread_self()) && --h->depth == 0) {
		flock(h->fd, LOCK_UN);
		close(h->fd);
		held_remove(h);
	}
	pthread_mutex_unlock(&held_mu);
}

/* ------------------------------------------------------------------------ */
/* Derived files                                                             */

/* Compares a derived file's origin with the catalogue's now; fills err for
 * a stale file. */
static int origin_state(const char *path, const catalog_origin *origin, sqlite3 *db, const char *fix, seg_error *err)
{
	catalog_origin now;
	int rc = catalog_origin_now(db, &now, err);
	if (rc < 0)
		return rc;
	if (catalog_origin_same(origin, &now))
		return WS_CURRENT;
	if (origin->stamp[0] != now.stamp[0])
		seg_error_set(err, SEG_ESTALE, "%s was made from another catalogue than this one: %s", path, fix);
	else
		seg_error_set(err, SEG_ESTALE,
		              "%s is older than the catalogue (made at its ingest %lld with %lld tracks, the catalogue "
		              "is at ingest %lld with %lld tracks): %s",
		              path, (long long)origin->stamp[1], (long long)origin->stamp[2], (long long)now.stamp[1],
		              (long long)now.stamp[2], fix);
	return WS_STALE;
}

/* The state a failed open means, with err saying so and how to fix it. */
static int open_failure_state(int rc, const char *path, const char *fix, seg_error *err)
{
	if (rc == SEG_ENOTFOUND) {
		seg_error_set(err, SEG_ENOTFOUND, "there is no %s: %s", path, fix);
		return WS_MISSING;
	}
	if (rc == SEG_ENOMEM)
		return rc;
	char why[sizeof err->msg];
	snprintf(why, sizeof why, "%s", err ? err->msg : "unreadable");
	seg_error_set(err, rc, "%s; %s", why, fix);
	return WS_DAMAGED;
}

#define FIX_DERIVED "run `segue ingest --refresh` (or `segue train`, which rebuilds it)"

/* Opens features.snap and compares it with `db`: returns its state (as
 * workspace_features_state), handing the open snapshot to *out when it is
 * WS_CURRENT; *code receives the error code that state means. */
static int features_check(const char *ws, sqlite3 *db, snapshot **out, int *code, seg_error *err)
{
	*out = NULL;
	*code = SEG_ESTALE;
	char path[PATH_MAX];
	int rc = workspace_path(ws, WS_FEATURES, path, sizeof path, err);
	if (rc < 0)
		return rc;
	snapshot *s = NULL;
	if ((rc = snapshot_open(&s, path, err)) < 0) {
		*code = rc;
		return open_failure_state(rc, path, FIX_DERIVED, err);
	}
	rc = origin_state(path, snapshot_origin(s), db, FIX_DERIVED, err);
	if (rc == WS_CURRENT)
		*out = s;
	else
		snapshot_close(s);
	return rc;
}

int workspace_features_state(const char *ws, sqlite3 *db, seg_error *err)
{
	snapshot *s = NULL;
	int code;
	int rc = features_check(ws, db, &s, &code, err);
	snapshot_close(s);
	return rc;
}

int workspace_features_open(const char *ws, sqlite3 *db, snapshot **out, seg_error *err)
{
	int code;
	int rc = features_check(ws, db, out, &code, err);
	/* err says what is wrong and names the command that fixes it */
	return rc == WS_CURRENT || rc < 0 ? rc : code;
}

int workspace_names_state(const char *ws, sqlite3 *db, seg_error *err)
{
	char path[PATH_MAX];
	int rc = workspace_path(ws, WS_NAMES, path, sizeof path, err);
	if (rc < 0)
		return rc;
	names *n = NULL;
	if ((rc = names_open(&n, path, err)) < 0)
		return open_failure_state(rc, path, FIX_DERIVED, err);
	rc = names_current(n, db, err);
	if (rc == 1) {
		rc = WS_CURRENT;
	} else if (rc == 0 && names_origin(n) != NULL) {
		rc = origin_state(path, names_origin(n), db, FIX_DERIVED, err);
	} else if (rc == 0) {
		seg_error_set(err, SEG_ESTALE, "%s is older than the catalogue: %s", path, FIX_DERIVED);
		rc = WS_STALE;
	}
	names_close(n);
	return rc;
}

int workspace_features_write(const char *ws, sqlite3 *db, uint64_t *rows, seg_error *err)
{
	char path[PATH_MAX];
	int rc = workspace_path(ws, WS_FEATURES, path, sizeof path, err);
	if (rc < 0 || (rc = workspace_lock(ws, WORKSPACE_LOCK_WAIT, err)) < 0)
		return rc;
	rc = snapshot_write(db, path, rows, err);
	workspace_unlock(ws);
	return rc;
}

int workspace_names_write(const char *ws, sqlite3 *db, uint64_t *tracks, seg_error *err)
{
	char path[PATH_MAX];
	int rc = workspace_path(ws, WS_NAMES, path, sizeof path, err);
	if (rc < 0 || (rc = workspace_lock(ws, WORKSPACE_LOCK_WAIT, err)) < 0)
		return rc;
	rc = names_write(db, path, tracks, err);
	workspace_unlock(ws);
	return rc;
}

int workspace_derived_refresh(const char *ws, sqlite3 *db, int force, int *rebuilt, seg_error *err)
{
	if (rebuilt)
		*rebuilt = 0;
	int rc = workspace_lock(ws, WORKSPACE_LOCK_WAIT, err);
	if (rc < 0)
		return rc;
	/* checked under the lock: no writer can change them in between */
	if (force || (rc = workspace_features_state(ws, db, err)) != WS_CURRENT) {
		if (rc < 0)
			goto out;
		if ((rc = workspace_features_write(ws, db, NULL, err)) < 0)
			goto out;
		if (rebuilt)
			*rebuilt |= 1 << WS_FEATURES;
	}
	if (force || (rc = workspace_names_state(ws, db, err)) != WS_CURRENT) {
		if (rc < 0)
			goto out;
		if ((rc = workspace_names_write(ws, db, NULL, err)) < 0)
			goto out;
		if (rebuilt)
			*rebuilt |= 1 << WS_NAMES;
	}
	rc = 0;
out:
	workspace_unlock(ws);
	return rc;
}

int workspace_catalog_stamp(const char *ws, int64_t stamp[CATALOG_STAMP], seg_error *err)
{
	char path[PATH_MAX];
	int rc = workspace_path(ws, WS_CATALOG, path, sizeof path, err);
	if (rc < 0)
		return rc;
	if (access(path, F_OK) < 0)
		return seg_error_set(err, SEG_ENOTFOUND, "no catalogue at %s", path);
	sqlite3 *db = NULL;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		rc = seg_error_set(err, SEG_EDB, "cannot open %s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return rc;
	}
	sqlite3_busy_timeout(db, 5000);
	rc = catalog_stamp(db, stamp, err);
	sqlite3_close(db);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Model versions                                                            */

int workspace_version_parse(const char *name)
{
	if (name[0] != 'v' || name[1] < '1' || name[1] > '9')
		return 0;
	long v = 0;
	size_t i = 1;
	for (; name[i] >= '0' && name[i] <= '9'; i++) {
		if (i > 9)
			return 0; /* ten digits or more: above WORKSPACE_VERSION_MAX */
		v = v * 10 + (name[i] - '0');
	}
	return name[i] == '\0' ? (int)v : 0;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

int workspace_models_list(const char *ws, int **out, size_t *n, seg_error *err)
{
	*out = NULL;
	*n = 0;
	char models[PATH_MAX];
	int rc = workspace_path(ws, WS_MODELS, models, sizeof models, err);
	if (rc < 0)
		return rc;
	DIR *d = opendir(models);
	if (d == NULL)
		return errno == ENOENT ? 0 : seg_error_set(err, SEG_EIO, "cannot read %s: %s", models, strerror(errno));
	int *v = NULL;
	size_t len = 0, cap = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		int version = workspace_version_parse(e->d_name);
		char file[PATH_MAX + 64];
		struct stat st;
		if (version == 0 ||
		    (size_t)snprintf(file, sizeof file, "%s/%s/%s", models, e->d_name, MODEL_FILE) >= sizeof file ||
		    stat(file, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		int *nv = array_grow(v, &cap, len + 1, sizeof(int), 16);
		if (nv == NULL) {
			closedir(d);
			free(v);
			return seg_error_set(err, SEG_ENOMEM, "out of memory");
		}
		v = nv;
		v[len++] = version;
	}
	closedir(d);
	if (len > 1)
		qsort(v, len, sizeof(int), cmp_int);
	*out = v;
	*n = len;
	return 0;
}

int workspace_models_latest(const char *ws, seg_error *err)
{
	char path[PATH_MAX], line[64] = "";
	int rc = workspace_path(ws, WS_LATEST, path, sizeof path, err);
	if (rc < 0)
		return rc;
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return seg_error_set(err, SEG_ENOTFOUND, "no trained model in %s/models; run `segue train` first", ws);
	if (fgets(line, sizeof line, f) == NULL)
		line[0] = '\0';
	fclose(f);
	line[strcspn(line, "\n")] = '\0';
	int v = workspace_version_parse(line);
	char file[PATH_MAX];
	if (v == 0)
		return seg_error_set(err, SEG_EFORMAT, "%s does not name a model version; run `segue train`", path);
	if ((rc = workspace_model_file(ws, v, file, sizeof file, err)) < 0)
		return rc;
	if (access(file, F_OK) < 0)
		return seg_error_set(err, SEG_ENOTFOUND, "%s names v%d, which has no %s; run `segue train`", path, v,
		                     MODEL_FILE);
	return v;
}

typedef struct fill_latest {
	int version;
} fill_latest;

static int write_latest(FILE *f, void *arg)
{
	return fprintf(f, "v%d\n", ((const fill_latest *)arg)->version) < 0 ? -1 : 0;
}

int workspace_model_publish(const char *ws, const catalog_origin *origin, workspace_model_fill fill, void *arg,
                            char *version, size_t cap, char *path, size_t pcap, seg_error *err)
{
	char models[PATH_MAX], tmpdir[PATH_MAX + 32], tmpfile[PATH_MAX + 64], final[PATH_MAX + 32], latest[PATH_MAX];
	char name[16];
	tmpfile[0] = '\0';
	int *list = NULL;
	size_t n = 0;
	container_writer *w = NULL;
	int rc, have_tmpdir = 0;
	if ((rc = workspace_path(ws, WS_MODELS, models, sizeof models, err)) < 0 ||
	    (rc = workspace_path(ws, WS_LATEST, latest, sizeof latest, err)) < 0)
		return rc;
	if ((rc = workspace_lock(ws, WORKSPACE_LOCK_WAIT, err)) < 0)
		return rc;
	if (mkdir(models, 0777) < 0 && errno != EEXIST) {
		rc = seg_error_set(err, SEG_EIO, "cannot create %s: %s", models, strerror(errno));
		goto out;
	}
	if ((rc = workspace_models_list(ws, &list, &n, err)) < 0)
		goto out;
	int v = n > 0 ? list[n - 1] + 1 : 1;
	if (v > WORKSPACE_VERSION_MAX) {
		rc = seg_error_set(err, SEG_EINVAL, "%s already holds version v%d, the largest there can be", models,
		                   v - 1);
		goto out;
	}
	snprintf(name, sizeof name, "v%d", v);
	/* A version directory of its own, renamed into place once whole: no
	 * reader ever lists a version whose model is still being written. */
	snprintf(tmpdir, sizeof tmpdir, "%s/%s.tmp.XXXXXX", models, name);
	if ((rc = atomicfile_make_dir(tmpdir, err)) < 0)
		goto out;
	have_tmpdir = 1;
	snprintf(tmpfile, sizeof tmpfile, "%s/%s", tmpdir, MODEL_FILE);
	w = container_writer_create();
	if (w == NULL) {
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = fill(w, name, arg, err)) < 0 ||
	    (rc = container_writer_add(w, CATALOG_ORIGIN_SECTION, origin, sizeof *origin, err)) < 0 ||
	    (rc = container_writer_save(w, tmpfile, err)) < 0)
		goto out;
	snprintf(final, sizeof final, "%s/%s", models, name);
	if (rename(tmpdir, final) < 0) {
		rc = seg_error_set(err, SEG_EIO, "cannot rename %s to %s: %s", tmpdir, final, strerror(errno));
		goto out;
	}
	have_tmpdir = 0;
	if ((rc = atomicfile_sync_dir(final, err)) < 0)
		goto out;
	fill_latest fl = {v};
	if ((rc = container_write_atomic(latest, write_latest, &fl, err)) < 0)
		goto out;
	if (version)
		snprintf(version, cap, "%s", name);
	if (path)
		snprintf(path, pcap, "%s/%s", final, MODEL_FILE);
out:
	if (have_tmpdir) {
		if (tmpfile[0] != '\0')
			unlink(tmpfile);
		rmdir(tmpdir);
	}
	container_writer_free(w);
	free(list);
	workspace_unlock(ws);
	return rc;
}
