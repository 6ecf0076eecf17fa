/* registry.h: the model registry of a workspace: registered models with
 * versions (each a published model version of the workspace, models/vN,
 * with its lineage: run id, data hash, parameters, metrics) and the aliases
 * `champion` and `challenger`. `segue serve` serves the champion;
 * `segue models list|show|promote|rollback` drive it. Kept in
 * WORKSPACE/registry.json, replaced atomically under the workspace lock. It
 * does not train or evaluate.
 *
 * The file (readers see the old one or the new one, whole, without taking
 * the lock; every change reads, edits and replaces it under the lock, so
 * two writers in two processes serialize and neither's change is lost):
 *   {"format": "segue-registry/1",
 *    "versions": [{"version": 1, "model": 3, "run_id": "", "data_hash": "",
 *                  "params": {...}, "metrics": {...}, "created_ms": ...}],
 *    "aliases": {"champion": 2, "challenger": 3},   (absent: none)
 *    "champion_stack": [1, ...],  the champions before the current one,
 *                                  oldest first: what rollback goes back to
 *    "history": [{"at_ms":, "action": "register"|"promote"|"rollback",
 *                 "alias":, "version":, "previous": (0: none)}]}
 * Any other "format" is refused (SEG_EVERSION) and the file left alone; a
 * missing file is an empty registry.
 *
 * Thread-safety: any function from any thread (the lock serializes the
 * writers). */
#ifndef SEGUE_REGISTRY_H
#define SEGUE_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/strbuf.h"

#define REGISTRY_FILE "registry.json"
#define REGISTRY_FORMAT "segue-registry/1"

/* One registered version. Plain data. */
typedef struct registry_version {
	int version;        /* 1, 2, ... in order of registration */
	int model;          /* the workspace's model version (models/vN) */
	char run_id[40];    /* the MLflow run that made it, or "" */
	char data_hash[72]; /* what it was trained on (the catalogue's stamp as text), or "" */
	int64_t created_ms;
} registry_version;

/* Registers workspace model version `model` as a new version of the
 * workspace's registered model, with its lineage: params_json and
 * metrics_json are JSON objects (may be NULL). Its number into *version.
 * SEG_ENOTFOUND when models/vN does not exist. */
int registry_register(const char *ws, int model, const char *run_id, const char *data_hash, const char *params_json,
                      const char *metrics_json, int *version, seg_error *err);
/* The version an alias ("champion", "challenger") names into *version, or
 * SEG_ENOTFOUND when it names none. */
int registry_alias_get(const char *ws, const char *alias, int *version, seg_error *err);
/* Points `alias` at `version` (SEG_ENOTFOUND for an unknown version); for
 * "champion" the previous champion is remembered for registry_rollback. */
int registry_alias_set(const char *ws, const char *alias, int version, seg_error *err);
/* Points champion back at the one before the last promotion. SEG_ENOTFOUND
 * when there is none. */
int registry_rollback(const char *ws, int *version, seg_error *err);
/* Every registered version, oldest first, into a malloc'd array (NULL when
 * none; free() it). */
int registry_list(const char *ws, registry_version **out, size_t *n, seg_error *err);
/* Appends to sb one version as JSON: its entry in the file (with params and
 * metrics) and "aliases": the aliases naming it. SEG_ENOTFOUND for an
 * unknown version. */
int registry_show(const char *ws, int version, strbuf *sb, seg_error *err);
/* Appends to sb the whole registry as JSON (the file's content; an empty
 * registry when there is none). */
int registry_json(const char *ws, strbuf *sb, seg_error *err);
/* The workspace model version (models/vN) the champion names into *model,
 * and its registry version into *version (may be NULL); SEG_ENOTFOUND when
 * there is no champion. What `segue serve` serves. */
int registry_champion_model(const char *ws, int *model, int *version, seg_error *err);
/* The same for any alias ("challenger": what `segue serve` holds beside the
 * champion for the experiments' variants that name it). */
int registry_alias_model(const char *ws, const char *alias, int *model, int *version, seg_error *err);

#endif
