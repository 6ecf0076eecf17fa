/* registry.c: not written yet; the team's helper replaces this file. */
#include <math.h>
#include <stddef.h>
#include "pipeline/registry.h"
#pragma GCC diagnostic ignored "-Wunused-parameter"

int registry_register(const char *ws, int model, const char *run_id, const char *data_hash, const char *params_json,
                      const char *metrics_json, int *version, seg_error *err)
{
	return -3;
}

int registry_alias_get(const char *ws, const char *alias, int *version, seg_error *err) { return -3; }

int registry_alias_set(const char *ws, const char *alias, int version, seg_error *err) { return -3; }

int registry_rollback(const char *ws, int *version, seg_error *err) { return -3; }

int registry_list(const char *ws, registry_version **out, size_t *n, seg_error *err) { return -3; }
