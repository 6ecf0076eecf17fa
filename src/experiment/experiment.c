/* experiment.c: not written yet; the team's helper replaces this file. */
#include <math.h>
#include <stddef.h>
#include "experiment/experiment.h"
#pragma GCC diagnostic ignored "-Wunused-parameter"

const char *exp_state_name(int state) { return NULL; }

int exp_metric_valid(const char *name) { return -3; }

int exp_variant_parse(const char *text, exp_variant *v, seg_error *err) { return -3; }

int exp_config_check(const char *config, seg_error *err) { return -3; }

int exp_config_parse(const char *config, exp_config *out, seg_error *err) { return -3; }

void exp_config_apply(const exp_config *c, rec_request *r, hybrid_weights *hw, const hybrid_weights *base) {}

int exp_check(const experiment *e, seg_error *err) { return -3; }

unsigned exp_bucket(const char *salt, const char *user) { return 0; }

size_t exp_assign(const experiment *e, const char *user) { return 0; }

void exp_json(const experiment *e, strbuf *sb) {}

int exp_from_json(const char *text, size_t len, experiment *e, seg_error *err) { return -3; }

size_t exp_interleave(const int64_t *a, size_t na, const int64_t *b, size_t nb, size_t k, uint64_t seed, int64_t *out,
                      uint8_t *team)
{
	return 0;
}
