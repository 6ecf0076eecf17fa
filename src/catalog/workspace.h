/* workspace.h: the workspace directory and every file in it. It names every
 * path (the catalogue, the feature snapshot, the names file, the EDA cache
 * and report, the model versions and the `latest` pointer, the lock); it
 * writes every file derived from the catalogue, stamped with the catalogue
 * state it was made from (catalog_origin), through a temporary file of its
 * own, fsync and rename (container_write_atomic), under the workspace lock;
 * it says whether a derived file is current, and names the command that
 * makes it so when it is not; and it lists and publishes model versions.
 * It does not read input files (ingest.h) nor fit models (train.h).
 *
 * Layout of WORKSPACE:
 *   catalog.db          the catalogue (SQLite), the source of truth
 *   features.snap       the feature snapshot (snapshot.h), derived
 *   names.seg           the display fields (names.h), derived
 *   eda.seg, eda/       the EDA cache and report (eda.h), derived
 *   models/vN/model.seg model version N (N = 1..WORKSPACE_VERSION_MAX)
 *   models/latest       "vN\n": the newest version
 *   .lock               flock()ed by every writer
 *   events.db           the event store (experiment/evstore.h), SQLite in WAL
 *                       mode with its events.db-wal and events.db-shm beside
 *                       it: listeners' events, not derived from anything, so
 *                       never cleaned
 *   registry.json       the model registry (pipeline/registry.h): versions,
 *                       their lineage and the aliases; not derived
 *
 * Temporaries. features.snap, names.seg, eda.seg, the report's files in
 * eda/, models/latest and a version's evaluation.json are each replaced
 * through a temporary of its own beside it, F.tmp.XXXXXX (atomicfile.h:
 * XXXXXX is six characters of [A-Za-z0-9]); a model version is written into
 * the directory models/vN.tmp.XXXXXX, renamed to models/vN once whole. When
 * the lock is first taken, what killed writers left is removed, and only
 * these regular files and directories:
 *   WORKSPACE/  F.tmp.XXXXXX and F.tmp, F one of features.snap, names.seg,
 *               eda.seg, tuning.json, registry.json (F.tmp: the fixed name
 *               segue 0.1.0 used), catalog.db (a new catalogue that a
 *               killed ingest was building, catalog.h's CATALOG_OPEN_LOAD)
 *   eda/        F.tmp.XXXXXX and F.tmp, F one of report.html, summary.json
 *   models/     latest.tmp.XXXXXX and latest.tmp; vN.tmp.XXXXXX/ (vN as
 *               workspace_version_parse takes it) with its model.seg and
 *               model.seg.tmp.XXXXXX (the directory stays if anything else
 *               is in it)
 *   models/vN/  F.tmp.XXXXXX and F.tmp, F one of model.seg, evaluation.json;
 *               then vN itself when it holds nothing else (no model.seg)
 *   WORKSPACE/  P.tmp.XXXXXX/, P one of eval, tune: a scratch directory
 *               (workspace_scratch_open) whose owner is gone, with every
 *               regular file in it
 * Any other name is left alone: "draft.tmp", "my.tmp.notes",
 * "notes.tmp.txt", "report.html.tmp.toolong" are not segue's.
 *
 * Thread-safety: all functions may be called from any thread; the lock is
 * held by one thread of one process at a time. */
#ifndef SEGUE_WORKSPACE_H
#define SEGUE_WORKSPACE_H

#include <limits.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "catalog/catalog.h"
#include "catalog/snapshot.h"
#include "core/container.h"
#include "core/error.h"

/* ---- paths ---- */

enum workspace_file {
	WS_CATALOG,   /* catalog.db */
	WS_FEATURES,  /* features.snap */
	WS_NAMES,     /* names.seg */
	WS_EDA_CACHE, /* eda.seg */
	WS_EDA_DIR,   /* eda/ */
	WS_MODELS,    /* models/ */
	WS_LATEST,    /* models/latest */
	WS_LOCK,      /* .lock */
	WS_EVENTS,    /* events.db: the event store's default (evstore.h's EVSTORE_FILE) */
	WS_REGISTRY,  /* registry.json: the model registry (registry.h's REGISTRY_FILE) */
	WS__FILES
};

/* The largest model version number; "v" and up to 9 digits. */
#define WORKSPACE_VERSION_MAX 999999999

/* Files that their writers place themselves (the report in its output
 * folder, the evaluation beside its model), named here once so that the
 * leftover cleaning knows their temporaries. */
#define WORKSPACE_EDA_REPORT_FILE "report.html"
#define WORKSPACE_EDA_SUMMARY_FILE "summary.json"
#define WORKSPACE_EVALUATION_FILE "evaluation.json"
#define WORKSPACE_TUNING_FILE "tuning.json" /* `segue tune`, at the workspace's root */

/* The file's name relative to the workspace ("models/latest"). */
const char *workspace_file_name(enum workspace_file f);

/* Writes WORKSPACE/<file> into buf[cap]. Returns 0, or SEG_EINVAL when it
 * does not fit. */
int workspace_path(const char *ws, enum workspace_file f, char *buf, size_t cap, seg_error *err);

/* Writes WORKSPACE/models/vN/model.seg into buf[cap]. */
int workspace_model_file(const char *ws, int version, char *buf, size_t cap, seg_error *err);

/* ---- the lock ---- */

enum { WORKSPACE_LOCK_TRY = 0, WORKSPACE_LOCK_WAIT = 1 };

/* Takes the workspace's writer lock: an exclusive flock on WORKSPACE/.lock
 * (created, with the workspace directory, when missing). With
 * WORKSPACE_LOCK_TRY it returns 1 at once when another process or thread
 * holds it; with WORKSPACE_LOCK_WAIT it waits. Returns 0 once held, or a
 * negative code. The lock is reentrant in its thread: every successful call
 * is matched by one workspace_unlock, and the functions below that write
 * take it themselves, so a caller that holds it across several steps makes
 * them one. When the lock is first taken, the temporaries that killed
 * writers left are removed: exactly the names listed at the top of this
 * file, nothing else. */
int workspace_lock(const char *ws, int mode, seg_error *err);
/* Releases one hold of the lock; a thread that does not hold it is a no-op. */
void workspace_unlock(const char *ws);

/* ---- scratch directories ---- */

/* A directory for work that is never published (the models of `segue
 * evaluate --runs`, the candidates of `segue tune`): WORKSPACE/P.tmp.XXXXXX,
 * P the purpose. Its owner holds an flock on the file `.busy` in it for its
 * whole life, so that the cleaning of leftovers (workspace_lock) removes it
 * only when the owner is gone, never while another process still writes
 * there; it needs no workspace lock. */
typedef struct workspace_scratch {
	char dir[PATH_MAX]; /* the directory; "" when not open */
	int fd;             /* its .busy file, flocked; -1 when not open */
} workspace_scratch;

/* Creates a scratch directory for `purpose` ("eval" or "tune"; SEG_EINVAL
 * for another). SEG_EIO when it cannot be made; s is then closed (dir ""). */
int workspace_scratch_open(const char *ws, const char *purpose, workspace_scratch *s, seg_error *err);
/* Removes the directory with every regular file in it. A closed or zeroed
 * (fd -1, dir "") s is a no-op. */
void workspace_scratch_close(workspace_scratch *s);

/* ---- derived files ---- */

/* What a derived file is, against the catalogue as it is now. */
enum workspace_state {
	WS_CURRENT = 0, /* made from the catalogue as it is */
	WS_MISSING,     /* no file */
	WS_STALE,       /* made from another state of the catalogue */
	WS_DAMAGED,     /* not readable: corrupt, truncated, an older format */
};

/* Checks features.snap against the catalogue `db`: returns a
 * workspace_state, and for anything but WS_CURRENT a message in err that
 * says what is wrong and which command fixes it (err->code: SEG_ESTALE,
 * SEG_ENOTFOUND, or why it could not be read); a negative code when the
 * catalogue cannot be read. */
int workspace_features_state(const char *ws, sqlite3 *db, seg_error *err);
/* Opens features.snap for a reader, only when it is WS_CURRENT against
 * `db`: returns 0 with the snapshot in *out (snapshot_close it), or a
 * negative code with *out NULL and err as workspace_features_state fills
 * it: SEG_ESTALE (made from another state of the catalogue), SEG_ENOTFOUND
 * (missing), the code snapshot_open returned (damaged), or the catalogue's
 * error. The state is checked on the file that is returned, so a writer
 * replacing it meanwhile cannot slip a stale one in. */
int workspace_features_open(const char *ws, sqlite3 *db, snapshot **out, seg_error *err);
/* The same for names.seg. */
int workspace_names_state(const char *ws, sqlite3 *db, seg_error *err);

/* Writes features.snap from `db`, under the lock; *rows (may be NULL)
 * receives its rows. */
int workspace_features_write(const char *ws, sqlite3 *db, uint64_t *rows, seg_error *err);
/* Writes names.seg from `db`, under the lock; *tracks (may be NULL) receives
 * how many tracks it holds. */
int workspace_names_write(const char *ws, sqlite3 *db, uint64_t *tracks, seg_error *err);

/* Makes features.snap and names.seg current: under the lock, rewrites each
 * that is not (or both, with `force`). *rebuilt (may be NULL) receives a
 * bit mask of what was rewritten: 1 << WS_FEATURES, 1 << WS_NAMES. On error
 * err names the file that could not be written. */
int workspace_derived_refresh(const char *ws, sqlite3 *db, int force, int *rebuilt, seg_error *err);

/* The catalogue's stamp (catalog_stamp) of workspace `ws`, opened read-only
 * for the call; SEG_ENOTFOUND when it has no catalogue. */
int workspace_catalog_stamp(const char *ws, int64_t stamp[CATALOG_STAMP], seg_error *err);

/* ---- model versions ---- */

/* Parses a version directory's name, strictly: "v", then 1 to 9 digits
 * without a leading zero. Returns N (1..WORKSPACE_VERSION_MAX), or 0 for
 * any other name ("v0", "v01", "v99999999999", "v3.tmp.Ab12Cd", "latest"). */
int workspace_version_parse(const char *name);

/* The published versions, ascending, into a malloc'd array *out[*n] (NULL
 * when none; free() it): directories of models/ whose name parses and
 * which hold a model.seg file. Temporary and incomplete ones are not
 * listed. Returns 0 (also when there is no models/), or SEG_EIO. */
int workspace_models_list(const char *ws, int **out, size_t *n, seg_error *err);

/* The version models/latest names, when it names a published one: returns
 * N, or SEG_ENOTFOUND (no model trained) / SEG_EFORMAT (latest is damaged),
 * with a message naming `segue train`. */
int workspace_models_latest(const char *ws, seg_error *err);

/* Fills a new model version's container: `version` is its name ("v4"). */
typedef int (*workspace_model_fill)(container_writer *w, const char *version, void *arg, seg_error *err);

/* Publishes a new model version, under the lock: takes the next number
 * after the largest published one, has `fill` add the sections, adds the
 * origin section (`origin`: the catalogue state the model was trained on),
 * writes models/vN.tmp.XXXXXX/model.seg, renames the directory to models/vN,
 * then replaces models/latest atomically; every step is fsynced. The name
 * ("v4") is copied to version[cap] and the model file's path to path[pcap]
 * (either may be NULL). On failure nothing is left behind and nothing is
 * published, except after the rename of vN: when models/ could not be
 * synced or models/latest not replaced, vN is listed, latest still names
 * the version before, and err says so; when only the directory sync after
 * latest's rename failed, latest names vN (container_write_atomic). */
int workspace_model_publish(const char *ws, const catalog_origin *origin, workspace_model_fill fill, void *arg,
                            char *version, size_t cap, char *path, size_t pcap, seg_error *err);

#endif
