/* test_workspace.c: the workspace module: model versions parse strictly and
 * list only what is published; leftovers of killed writers are cleaned
 * under the lock, and a user's files whose names merely look temporary are
 * not (nor the event store, events.db, and its WAL files); a version is
 * published with the modes mkdir and fopen give, without
 * the process umask being touched; models/latest is replaced, never
 * rewritten in place; two writers serialize on the lock; a derived file
 * made from another state of the catalogue is found stale, refused
 * (SEG_ESTALE) with the command that fixes it, and rebuilt; and, through
 * the segue binary, `segue train` never trains on a stale snapshot and
 * `segue ingest` says truthfully what a failure after its commit left
 * written. */
#include "testutil.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "catalog/names.h"
#include "catalog/snapshot.h"
#include "catalog/workspace.h"
#include "core/container.h"
#include "engine/train.h"
#include "experiment/evstore.h"
#include "pipeline/registry.h"
#include "ingest/ingest.h"

static int exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

static void touch(const char *dir, const char *name)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("x", f);
	fclose(f);
}

/* Every umask() call of the library lands here (the test's definition wins
 * over the C library's when the static library is linked). The test sets
 * the mask through the system call itself. */
static int umask_calls;

mode_t umask(mode_t mask)
{
	umask_calls++;
	return (mode_t)syscall(SYS_umask, mask);
}

static void make_dir(const char *path) { assert_true(mkdir(path, 0777) == 0 || errno == EEXIST); }

/* ---- model versions ---- */

static void test_version_parse(void **state)
{
	(void)state;
	assert_int_equal(workspace_version_parse("v1"), 1);
	assert_int_equal(workspace_version_parse("v42"), 42);
	assert_int_equal(workspace_version_parse("v999999999"), WORKSPACE_VERSION_MAX);
	/* sscanf("v%d") took these for versions (the first overflows an int) */
	assert_int_equal(workspace_version_parse("v99999999999"), 0);
	assert_int_equal(workspace_version_parse("v2147483648"), 0);
	assert_int_equal(workspace_version_parse("v3.tmp.Ab12Cd"), 0);
	assert_int_equal(workspace_version_parse("v3x"), 0);
	assert_int_equal(workspace_version_parse("v-1"), 0);
	assert_int_equal(workspace_version_parse("v 1"), 0);
	assert_int_equal(workspace_version_parse("v01"), 0);
	assert_int_equal(workspace_version_parse("v0"), 0);
	assert_int_equal(workspace_version_parse("v"), 0);
	assert_int_equal(workspace_version_parse("latest"), 0);
}

/* Files a user keeps in a workspace (relative to it) whose names look
 * temporary but are not any that segue writes: the cleaning leaves them. */
static const char *const USER_FILES[] = {
	"draft.tmp",
	"my.tmp.notes",
	"models/v1/notes.tmp.txt",
	"notes.tmp.Ab12Cd",
	"features.snap.tmp.toolong",
	"features.snap.tmp.Ab-2Cd",
	"catalog.db.tmp.Ab12Cd.x",
	"catalog.db-journal",
	"eda/draft.tmp",
	"eda/report.html.tmp.Ab12C",
	"eda/chart.svg.tmp.Ab12Cd",
	"models/v1/model.seg.tmp.Ab12Cd.x",
	"models/v1/scores.csv.tmp.Ab12Cd",
	"models/notes.tmp",
	"models/v3.tmp.txt",
};

/* A workspace's models/ as killed writers and odd names leave it. */
static void litter(const char *ws)
{
	char models[PATH_MAX], d[PATH_MAX + 64];
	snprintf(models, sizeof models, "%s/models", ws);
	make_dir(ws);
	make_dir(models);
	snprintf(d, sizeof d, "%s/v1", models);
	make_dir(d);
	touch(d, "model.seg");
	/* a train of segue 0.1.0 killed while writing */
	snprintf(d, sizeof d, "%s/v2", models);
	make_dir(d);
	touch(d, "model.seg.tmp.Ab12Cd");
	/* a train killed before its version directory was renamed into place */
	snprintf(d, sizeof d, "%s/v3.tmp.XyZ987", models);
	make_dir(d);
	touch(d, "model.seg");
	/* a name sscanf took for a version */
	snprintf(d, sizeof d, "%s/v99999999999", models);
	make_dir(d);
	touch(d, "model.seg");
	touch(models, "latest.tmp.Qw3rTy");
	touch(ws, "features.snap.tmp.Zx9vBn");
	touch(ws, "features.snap.tmp"); /* the fixed name segue 0.1.0 used */
	/* an ingest killed while building a new catalogue (CATALOG_OPEN_LOAD) */
	touch(ws, "catalog.db.tmp.Cg7Lo2");
	/* a `segue models promote` killed while replacing the registry */
	touch(ws, "registry.json");
	touch(ws, "registry.json.tmp.Rg45Yu");
	/* a `segue eda` killed while writing its report */
	snprintf(d, sizeof d, "%s/eda", ws);
	make_dir(d);
	touch(d, "report.html");
	touch(d, "report.html.tmp.Ab12Cd");
	touch(d, "summary.json.tmp"); /* the fixed name segue 0.1.0 used */
	/* an evaluation killed while writing its table */
	snprintf(d, sizeof d, "%s/v1", models);
	touch(d, "evaluation.json.tmp.Ab12Cd");
	/* the user's own files, whose names merely look temporary */
	for (size_t i = 0; i < sizeof USER_FILES / sizeof *USER_FILES; i++)
		touch(ws, USER_FILES[i]);
	snprintf(d, sizeof d, "%s/mine.tmp.Ab12Cd", models);
	make_dir(d);
	touch(d, "model.seg");
}

/* The event store's file is named by the workspace, with the name evstore.h
 * gives it, and the cleaning never takes it (nor SQLite's WAL files beside
 * it, whose names are not a temporary's): listeners' events are no
 * leftover. */
static void test_events_file(void **state)
{
	(void)state;
	const char *dir = tu_tmpdir();
	char ws[PATH_MAX], path[PATH_MAX + 64], want[PATH_MAX + 64];
	seg_error err = {0};
	snprintf(ws, sizeof ws, "%s/ws", dir);
	assert_string_equal(workspace_file_name(WS_EVENTS), EVSTORE_FILE);
	assert_int_equal(workspace_path(ws, WS_EVENTS, path, sizeof path, &err), 0);
	snprintf(want, sizeof want, "%s/events.db", ws);
	assert_string_equal(path, want);
	char tiny[8];
	assert_int_equal(workspace_path(ws, WS_EVENTS, tiny, sizeof tiny, &err), SEG_EINVAL);
	make_dir(ws);
	const char *store[] = {"events.db", "events.db-wal", "events.db-shm", "events.db-journal"};
	for (size_t i = 0; i < sizeof store / sizeof *store; i++)
		touch(ws, store[i]);
	assert_int_equal(workspace_lock(ws, WORKSPACE_LOCK_TRY, &err), 0);
	workspace_unlock(ws);
	for (size_t i = 0; i < sizeof store / sizeof *store; i++) {
		snprintf(path, sizeof path, "%s/%s", ws, store[i]);
		if (!exists(path))
			fail_msg("the event store's %s was removed", store[i]);
	}
	tu_rmtree(dir);
}

static void test_list_and_clean(void **state)
{
	(void)state;
	const char *dir = tu_tmpdir();
	char ws[PATH_MAX], path[PATH_MAX + 64];
	snprintf(ws, sizeof ws, "%s/ws", dir);
	litter(ws);
	int *v = NULL;
	size_t n = 9;
	seg_error err = {0};
	assert_int_equal(workspace_models_list(ws, &v, &n, &err), 0);
	assert_int_equal(n, 1); /* neither the phantom v2, nor v3.tmp.*, nor v99999999999 */
	assert_int_equal(v[0], 1);
	free(v);
	/* Taking the lock cleans what killed writers left. */
	assert_int_equal(workspace_lock(ws, WORKSPACE_LOCK_TRY, &err), 0);
	const char *gone[] = {"models/v2",
	                      "models/v3.tmp.XyZ987",
	                      "models/latest.tmp.Qw3rTy",
	                      "models/v1/evaluation.json.tmp.Ab12Cd",
	                      "features.snap.tmp.Zx9vBn",
	                      "features.snap.tmp",
	                      "catalog.db.tmp.Cg7Lo2",
	                      "registry.json.tmp.Rg45Yu",
	                      "eda/report.html.tmp.Ab12Cd",
	                      "eda/summary.json.tmp"};
	for (size_t i = 0; i < sizeof gone / sizeof *gone; i++) {
		snprintf(path, sizeof path, "%s/%s", ws, gone[i]);
		if (exists(path))
			fail_msg("%s was not cleaned", gone[i]);
	}
	snprintf(path, sizeof path, "%s/models/v1/model.seg", ws);
	assert_true(exists(path));
	snprintf(path, sizeof path, "%s/eda/report.html", ws);
	assert_true(exists(path));
	assert_int_equal(workspace_path(ws, WS_REGISTRY, path, sizeof path, &err), 0);
	assert_string_equal(workspace_file_name(WS_REGISTRY), REGISTRY_FILE);
	assert_true(exists(path)); /* the registry itself stays */
	snprintf(path, sizeof path, "%s/models/v99999999999/model.seg", ws);
	assert_true(exists(path)); /* not ours to remove: ignored */
	for (size_t i = 0; i < sizeof USER_FILES / sizeof *USER_FILES; i++) {
		snprintf(path, sizeof path, "%s/%s", ws, USER_FILES[i]);
		if (!exists(path))
			fail_msg("the user's %s was removed", USER_FILES[i]);
	}
	snprintf(path, sizeof path, "%s/models/mine.tmp.Ab12Cd/model.seg", ws);
	assert_true(exists(path)); /* not a version's name */
	workspace_unlock(ws);
	/* No models/ at all: an empty list. */
	snprintf(path, sizeof path, "%s/empty", dir);
	assert_int_equal(workspace_models_list(path, &v, &n, &err), 0);
	assert_int_equal(n, 0);
	assert_null(v);
	tu_rmtree(dir);
}

static int fill_ok(container_writer *w, const char *version, void *arg, seg_error *err)
{
	(void)arg;
	return container_writer_add(w, "meta", version, strlen(version) + 1, err);
}

static int fill_fails(container_writer *w, const char *version, void *arg, seg_error *err)
{
	(void)w;
	(void)version;
	(void)arg;
	return seg_error_set(err, SEG_ENOMEM, "out of memory (on purpose)");
}

static void read_latest(const char *ws, char *buf, size_t cap)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/models/latest", ws);
	char *text = tu_read(path, NULL);
	assert_non_null(text);
	snprintf(buf, cap, "%s", text);
	free(text);
}

/* 1 when directory `dir` (models/) holds a temporary segue writes there. */
static int has_temporary(const char *dir)
{
	char cmd[PATH_MAX + 128], *out = NULL;
	snprintf(cmd, sizeof cmd, "ls -a '%s' | grep -c '^\\(latest\\|v[1-9][0-9]*\\)\\.tmp\\.[A-Za-z0-9]\\{6\\}$'",
	         dir);
	tu_run(cmd, &out);
	int yes = out != NULL && atoi(out) > 0;
	free(out);
	return yes;
}

/* A scratch directory lives as long as its owner: the cleaning under the
 * lock leaves one whose .busy is held (another evaluate still running),
 * removes one whose owner is gone (its .busy free) with its files, and
 * leaves a directory of that shape without .busy. */
static void test_scratch(void **state)
{
	(void)state;
	char ws[PATH_MAX];
	snprintf(ws, sizeof ws, "%s/scratch", tu_tmpdir());
	assert_int_equal(mkdir(ws, 0700), 0);
	seg_error err;
	workspace_scratch live, dead;
	assert_int_equal(workspace_scratch_open(ws, "nope", &live, &err), SEG_EINVAL);
	assert_int_equal(workspace_scratch_open(ws, "eval", &live, &err), 0);
	assert_int_equal(workspace_scratch_open(ws, "tune", &dead, &err), 0);
	touch(live.dir, "model.seg");
	touch(dead.dir, "current.seg");
	touch(dead.dir, "point.seg.tmp.AbC123");
	/* The second owner is killed: its lock goes, its files stay. */
	close(dead.fd);
	char other[PATH_MAX + 32];
	snprintf(other, sizeof other, "%s/eval.tmp.Zz9Zz9", ws);
	assert_int_equal(mkdir(other, 0700), 0);
	assert_int_equal(workspace_lock(ws, WORKSPACE_LOCK_WAIT, &err), 0);
	workspace_unlock(ws);
	assert_true(exists(live.dir));
	char f[PATH_MAX + 32];
	snprintf(f, sizeof f, "%s/model.seg", live.dir);
	assert_true(exists(f));
	assert_false(exists(dead.dir));
	assert_true(exists(other));
	char keep[PATH_MAX];
	snprintf(keep, sizeof keep, "%s", live.dir);
	workspace_scratch_close(&live);
	assert_false(exists(keep));
	assert_int_equal(live.fd, -1);
	workspace_scratch_close(&live); /* closed: a no-op */
	rmdir(other);
}

static void test_publish(void **state)
{
	(void)state;
	const char *dir = tu_tmpdir();
	char ws[PATH_MAX], path[PATH_MAX + 64], models[PATH_MAX + 16], version[16], text[64];
	snprintf(ws, sizeof ws, "%s/ws", dir);
	snprintf(models, sizeof models, "%s/models", ws);
	litter(ws);
	catalog_origin origin = {{11, 2, 30, 40}, "test"};
	seg_error err = {0};
	mode_t was = (mode_t)syscall(SYS_umask, 027);
	umask_calls = 0;
	assert_int_equal(
		workspace_model_publish(ws, &origin, fill_ok, NULL, version, sizeof version, path, sizeof path, &err),
		0);
	syscall(SYS_umask, was);
	/* the version directory and its files have the modes mkdir and fopen
	 * give, with the umask never called (it is every thread's) */
	assert_int_equal(umask_calls, 0);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	snprintf(text, sizeof text, "%s", strrchr(path, '/'));
	*strrchr(path, '/') = '\0';
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0750);
	strncat(path, text, sizeof path - strlen(path) - 1);
	/* after v1: the phantom v2 and v99999999999 do not count */
	assert_string_equal(version, "v2");
	read_latest(ws, text, sizeof text);
	assert_string_equal(text, "v2\n");
	assert_int_equal(workspace_models_latest(ws, &err), 2);
	container_file *m = NULL;
	assert_int_equal(container_file_open(&m, path, &err), 0);
	assert_string_equal((const char *)container_file_section(m, "meta", NULL), "v2");
	const void *p;
	assert_int_equal(container_file_require(m, CATALOG_ORIGIN_SECTION, sizeof origin, &p, &err), 0);
	assert_memory_equal(p, &origin, sizeof origin);
	container_file_close(m);
	/* latest is replaced by a rename (a new inode), not rewritten in place */
	char latest[PATH_MAX + 32];
	snprintf(latest, sizeof latest, "%s/latest", models);
	struct stat before, after;
	assert_int_equal(stat(latest, &before), 0);
	assert_int_equal(workspace_model_publish(ws, &origin, fill_ok, NULL, version, sizeof version, NULL, 0, &err),
	                 0);
	assert_string_equal(version, "v3");
	assert_int_equal(stat(latest, &after), 0);
	assert_true(before.st_ino != after.st_ino);
	read_latest(ws, text, sizeof text);
	assert_string_equal(text, "v3\n");
	assert_false(has_temporary(models));
	/* A failing fill publishes nothing and leaves nothing. */
	assert_int_equal(workspace_model_publish(ws, &origin, fill_fails, NULL, version, sizeof version, NULL, 0, &err),
	                 SEG_ENOMEM);
	int *v = NULL;
	size_t n = 0;
	assert_int_equal(workspace_models_list(ws, &v, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_int_equal(v[2], 3);
	free(v);
	read_latest(ws, text, sizeof text);
	assert_string_equal(text, "v3\n");
	assert_false(has_temporary(models));
	/* The largest version there can be: refused, not wrapped around. */
	snprintf(path, sizeof path, "%s/v%d", models, WORKSPACE_VERSION_MAX);
	make_dir(path);
	touch(path, "model.seg");
	assert_int_equal(workspace_model_publish(ws, &origin, fill_ok, NULL, version, sizeof version, NULL, 0, &err),
	                 SEG_EINVAL);
	assert_non_null(strstr(err.msg, "largest"));
	/* latest naming nothing published */
	FILE *f = fopen(latest, "w");
	fputs("v99999999999\n", f);
	fclose(f);
	assert_int_equal(workspace_models_latest(ws, &err), SEG_EFORMAT);
	assert_non_null(strstr(err.msg, "segue train"));
	tu_rmtree(dir);
}

/* ---- the lock ---- */

static void *try_lock_thread(void *arg)
{
	seg_error err;
	int rc = workspace_lock(arg, WORKSPACE_LOCK_TRY, &err);
	if (rc == 0)
		workspace_unlock(arg);
	return (void *)(intptr_t)rc;
}

static void test_lock_serializes(void **state)
{
	(void)state;
	const char *dir = tu_tmpdir();
	char ws[PATH_MAX], done[PATH_MAX + 16];
	snprintf(ws, sizeof ws, "%s/ws", dir);
	snprintf(done, sizeof done, "%s/done", ws);
	seg_error err = {0};
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* the first writer: holds the lock, then finishes its file */
		close(fds[0]);
		if (workspace_lock(ws, WORKSPACE_LOCK_WAIT, NULL) != 0)
			_exit(1);
		if (write(fds[1], "L", 1) != 1)
			_exit(1);
		usleep(400 * 1000);
		FILE *f = fopen(done, "w");
		fclose(f);
		workspace_unlock(ws);
		_exit(0);
	}
	close(fds[1]);
	char c;
	assert_int_equal(read(fds[0], &c, 1), 1);
	close(fds[0]);
	/* the second writer: refused at once when it only tries, */
	assert_int_equal(workspace_lock(ws, WORKSPACE_LOCK_TRY, &err), 1);
	/* and let in only after the first one has finished */
	assert_int_equal(workspace_lock(ws, WORKSPACE_LOCK_WAIT, &err), 0);
	assert_true(exists(done));
	/* reentrant in this thread, exclusive against another */
	assert_int_equal(workspace_lock(ws, WORKSPACE_LOCK_TRY, &err), 0);
	workspace_unlock(ws);
	pthread_t t;
	void *res;
	assert_int_equal(pthread_create(&t, NULL, try_lock_thread, ws), 0);
	pthread_join(t, &res);
	assert_int_equal((int)(intptr_t)res, 1);
	workspace_unlock(ws);
	assert_int_equal(pthread_create(&t, NULL, try_lock_thread, ws), 0);
	pthread_join(t, &res);
	assert_int_equal((int)(intptr_t)res, 0);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	workspace_unlock(ws); /* not held: a no-op */
	tu_rmtree(dir);
}

/* ---- derived files ---- */

#define TRACK_ROW(id, sid) "(" #id ",'" sid "',0.5,0.25,3,-6.5,1,0.1,0.2,0.3,0.4,0.6,120,4,200000,55,1999,1," #id ")"
#define TRACK_COLS                                                                                         \
	"INSERT INTO tracks(id,spotify_id,danceability,energy,key,loudness,mode,speechiness,acousticness," \
	"instrumentalness,liveness,valence,tempo,time_signature,duration_ms,popularity,year,has_features," \
	"ingest_id) VALUES"
#define INGEST(id) "INSERT INTO ingests(id,file,variant,started_at) VALUES(" #id ",'f.csv','x','now');"

static void test_stale_features(void **state)
{
	(void)state;
	const char *dir = tu_tmpdir();
	char ws[PATH_MAX], db_path[PATH_MAX + 32], snap_path[PATH_MAX + 32];
	snprintf(ws, sizeof ws, "%s/ws", dir);
	make_dir(ws);
	snprintf(db_path, sizeof db_path, "%s/catalog.db", ws);
	snprintf(snap_path, sizeof snap_path, "%s/features.snap", ws);
	sqlite3 *db = tu_catalog_db(db_path, "INSERT INTO meta VALUES('catalogue_id','77');" INGEST(1)
	                                             TRACK_COLS TRACK_ROW(1, "AAAAAAAAAAAAAAAAAAAAAA") "," TRACK_ROW(
							     2, "BBBBBBBBBBBBBBBBBBBBBB") ";");
	seg_error err = {0};
	assert_int_equal(workspace_features_state(ws, db, &err), WS_MISSING);
	assert_non_null(strstr(err.msg, "segue ingest --refresh"));
	snapshot *s = NULL;
	assert_int_equal(workspace_features_open(ws, db, &s, &err), SEG_ENOTFOUND);
	assert_null(s);
	assert_int_equal(workspace_names_state(ws, db, &err), WS_MISSING);
	uint64_t rows = 0;
	assert_int_equal(workspace_features_write(ws, db, &rows, &err), 0);
	assert_int_equal(rows, 2);
	assert_int_equal(workspace_names_write(ws, db, NULL, &err), 0);
	assert_int_equal(workspace_features_state(ws, db, &err), WS_CURRENT);
	assert_int_equal(workspace_names_state(ws, db, &err), WS_CURRENT);
	/* the snapshot records where it came from */
	assert_int_equal(snapshot_open(&s, snap_path, &err), 0);
	assert_int_equal(snapshot_origin(s)->stamp[0], 77);
	assert_int_equal(snapshot_origin(s)->stamp[1], 1);
	assert_string_equal(snapshot_origin(s)->code, SEGUE_VERSION);
	snapshot_close(s);
	/* An ingest commits, and is killed before it writes the snapshot. */
	tu_sql_exec(db, INGEST(2) TRACK_COLS TRACK_ROW(3, "CCCCCCCCCCCCCCCCCCCCCC") ";");
	assert_int_equal(workspace_features_state(ws, db, &err), WS_STALE);
	assert_int_equal(err.code, SEG_ESTALE);
	assert_non_null(strstr(err.msg, "features.snap is older than the catalogue"));
	assert_non_null(strstr(err.msg, "segue ingest --refresh"));
	/* and a reader is refused it, with the same words */
	s = (snapshot *)&err; /* overwritten with NULL */
	assert_int_equal(workspace_features_open(ws, db, &s, &err), SEG_ESTALE);
	assert_null(s);
	assert_non_null(strstr(err.msg, "segue ingest --refresh"));
	assert_int_equal(workspace_names_state(ws, db, &err), WS_STALE);
	assert_int_equal(err.code, SEG_ESTALE);
	int rebuilt = 0;
	assert_int_equal(workspace_derived_refresh(ws, db, 0, &rebuilt, &err), 0);
	assert_int_equal(rebuilt, (1 << WS_FEATURES) | (1 << WS_NAMES));
	assert_int_equal(workspace_features_state(ws, db, &err), WS_CURRENT);
	assert_int_equal(workspace_names_state(ws, db, &err), WS_CURRENT);
	assert_int_equal(workspace_features_open(ws, db, &s, &err), 0);
	assert_int_equal(snapshot_rows(s), 3);
	snapshot_close(s);
	/* current files are left alone */
	assert_int_equal(workspace_derived_refresh(ws, db, 0, &rebuilt, &err), 0);
	assert_int_equal(rebuilt, 0);
	/* a catalogue made again from scratch is another one */
	tu_sql_exec(db, "UPDATE meta SET value='78' WHERE key='catalogue_id'");
	assert_int_equal(workspace_features_state(ws, db, &err), WS_STALE);
	assert_non_null(strstr(err.msg, "another catalogue"));
	/* damaged */
	assert_int_equal(workspace_features_write(ws, db, NULL, &err), 0);
	tu_put_byte(snap_path, -5, 0x33);
	assert_int_equal(workspace_features_state(ws, db, &err), WS_DAMAGED);
	assert_non_null(strstr(err.msg, "checksum"));
	assert_non_null(strstr(err.msg, "segue ingest --refresh"));
	assert_int_equal(workspace_features_open(ws, db, &s, &err), SEG_ECHECKSUM);
	assert_null(s);
	/* the format segue 0.1.0 wrote */
	FILE *f = fopen(snap_path, "wb");
	char old[128] = "SEGSNAP";
	fwrite(old, 1, sizeof old, f);
	fclose(f);
	assert_int_equal(workspace_features_state(ws, db, &err), WS_DAMAGED);
	assert_non_null(strstr(err.msg, "version 1"));
	sqlite3_close(db);
	tu_rmtree(dir);
}

/* ---- through the binary ---- */

static const char *bin(void)
{
	const char *b = getenv("SEGUE_BIN");
	return b && *b ? b : NULL;
}

static void copy_file(const char *from, const char *to)
{
	size_t len;
	char *bytes = tu_read(from, &len);
	assert_non_null(bytes);
	FILE *f = fopen(to, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(bytes, 1, len, f), len);
	fclose(f);
	free(bytes);
}

static void test_train_refuses_stale_snapshot(void **state)
{
	(void)state;
	if (bin() == NULL)
		skip();
	const char *dir = tu_tmpdir();
	char ws[PATH_MAX], syn[PATH_MAX + 8], syn2[PATH_MAX + 8], snap[PATH_MAX + 32], saved[PATH_MAX + 32];
	snprintf(ws, sizeof ws, "%s/ws", dir);
	snprintf(syn, sizeof syn, "%s/syn", dir);
	snprintf(syn2, sizeof syn2, "%s/syn2", dir);
	snprintf(snap, sizeof snap, "%s/features.snap", ws);
	snprintf(saved, sizeof saved, "%s/old.snap", dir);
	tu_gen(syn, 1500, 200, 3);
	tu_gen(syn2, 400, 0, 5);
	char *paths[1] = {syn};
	ingest_summary sum;
	tu_ingest(ws, paths, 1, &sum);
	ingest_summary_free(&sum);
	copy_file(snap, saved);
	paths[0] = syn2;
	tu_ingest(ws, paths, 1, &sum);
	ingest_summary_free(&sum);
	long with_features = tu_ws_long(ws, "SELECT count(*) FROM tracks WHERE has_features");
	/* An ingest killed between its commit and its snapshot leaves the old one. */
	copy_file(saved, snap);
	char cmd[4 * PATH_MAX], *out = NULL;
	snprintf(cmd, sizeof cmd, "'%s' train -w '%s' -k 4 -f 8 -i 2 -r 5 2>&1", bin(), ws);
	int st = tu_run(cmd, &out);
	if (st != 0)
		fail_msg("segue train failed (%d): %s", st, out ? out : "");
	assert_non_null(strstr(out, "features.snap is older than the catalogue"));
	free(out);
	/* the model holds every track the catalogue has features for, and says
	 * which state of the catalogue it was trained on */
	char model[PATH_MAX + 64];
	seg_error err = {0};
	assert_int_equal(workspace_models_latest(ws, &err), 1);
	assert_int_equal(workspace_model_file(ws, 1, model, sizeof model, &err), 0);
	container_file *m = NULL;
	assert_int_equal(container_file_open(&m, model, &err), 0);
	size_t size = 0;
	assert_non_null(container_file_section(m, MS_TRACK_ID, &size));
	assert_int_equal(size / sizeof(int64_t), (size_t)with_features);
	const catalog_origin *o = container_file_section(m, CATALOG_ORIGIN_SECTION, &size);
	assert_non_null(o);
	assert_int_equal(size, sizeof *o);
	int64_t stamp[CATALOG_STAMP];
	assert_int_equal(workspace_catalog_stamp(ws, stamp, &err), 0);
	assert_memory_equal(o->stamp, stamp, sizeof stamp);
	container_file_close(m);
	tu_rmtree(dir);
}

static void test_ingest_failure_after_commit(void **state)
{
	(void)state;
	if (bin() == NULL)
		skip();
	const char *dir = tu_tmpdir();
	char ws[PATH_MAX], syn[PATH_MAX + 8], snap[PATH_MAX + 32];
	snprintf(ws, sizeof ws, "%s/ws", dir);
	snprintf(syn, sizeof syn, "%s/syn", dir);
	snprintf(snap, sizeof snap, "%s/features.snap", ws);
	tu_gen(syn, 300, 0, 9);
	/* the snapshot's path cannot be written: a directory is in the way */
	make_dir(ws);
	make_dir(snap);
	char cmd[4 * PATH_MAX], *out = NULL;
	snprintf(cmd, sizeof cmd, "'%s' ingest -q -w '%s' '%s' 2>&1", bin(), ws, syn);
	int st = tu_run(cmd, &out);
	assert_int_not_equal(st, 0);
	assert_non_null(out);
	if (strstr(out, "the catalogue was written; the feature snapshot could not be") == NULL ||
	    strstr(out, "segue ingest --refresh") == NULL || strstr(out, "nothing was written") != NULL)
		fail_msg("untruthful message: %s", out);
	free(out);
	assert_int_equal(tu_ws_long(ws, "SELECT count(*) FROM tracks"), 300);
	/* once fixed, --refresh writes what was missing */
	assert_int_equal(rmdir(snap), 0);
	snprintf(cmd, sizeof cmd, "'%s' ingest -w '%s' --refresh 2>&1", bin(), ws);
	st = tu_run(cmd, &out);
	if (st != 0)
		fail_msg("segue ingest --refresh failed: %s", out ? out : "");
	free(out);
	snapshot *s = NULL;
	seg_error err = {0};
	assert_int_equal(snapshot_open(&s, snap, &err), 0);
	assert_int_equal(snapshot_rows(s), 300);
	snapshot_close(s);
	/* a failure before the commit still says that nothing was written */
	snprintf(cmd, sizeof cmd, "'%s' ingest -q -w '%s' '%s/nope.csv' 2>&1", bin(), ws, dir);
	st = tu_run(cmd, &out);
	assert_int_not_equal(st, 0);
	assert_non_null(strstr(out, "nothing was written to the catalogue"));
	free(out);
	tu_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version_parse),
		cmocka_unit_test(test_list_and_clean),
		cmocka_unit_test(test_scratch),
		cmocka_unit_test(test_events_file),
		cmocka_unit_test(test_publish),
		cmocka_unit_test(test_lock_serializes),
		cmocka_unit_test(test_stale_features),
		cmocka_unit_test(test_train_refuses_stale_snapshot),
		cmocka_unit_test(test_ingest_failure_after_commit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
