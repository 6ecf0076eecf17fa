/* analysis.h: an experiment's result from its events: per variant, users,
 * impressions and per-user metrics, each compared with the control (Welch's
 * t on per-user means, the delta method for ratio metrics), with CUPED where
 * a pre-experiment covariate exists, Holm (or Benjamini-Hochberg) across
 * metrics, the sample-ratio-mismatch test, the always-valid sequential view
 * day by day, and, for interleaved variants, the preference share. Also the
 * per-user export anyone can recompute it from. It reads events through a
 * callback (evstore_scan_experiment's order: by user, then by seq); it
 * keeps one user's events at a time and a row of sums per user, so memory
 * grows with the users, not with the events.
 *
 * The metrics, per user u exposed to the experiment (at least one
 * impression of it):
 *   play_rate       plays / impressed tracks          (ratio, delta method)
 *   like_rate       likes / impressed tracks          (ratio)
 *   skip_rate       skips / impressed tracks          (ratio)
 *   save_rate       saves / impressed tracks          (ratio)
 *   discovery_rate  plays of tracks u had never been shown before the list
 *                   the play came from / impressed tracks (ratio)
 *   first_play_position  mean over u's lists with a play of the 1-based
 *                   position of the first play        (ratio: sum / lists)
 * counting only events whose request_id is one of the experiment's
 * impressions of u. The CUPED covariate of play_rate, like_rate, skip_rate,
 * save_rate is the same ratio over u's events before the experiment
 * started (0/0 users get the pooled mean); other metrics have none. */
#ifndef SEGUE_ANALYSIS_H
#define SEGUE_ANALYSIS_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/strbuf.h"
#include "experiment/events.h"
#include "experiment/experiment.h"
#include "experiment/stats.h"

enum an_metric {
	AN_PLAY_RATE,
	AN_LIKE_RATE,
	AN_SKIP_RATE,
	AN_SAVE_RATE,
	AN_DISCOVERY_RATE,
	AN_FIRST_PLAY_POSITION,
	AN__COUNT
};
const char *an_metric_name(int m);    /* "play_rate", ... */
int an_metric_find(const char *name); /* -1 when unknown */

typedef struct an_options {
	double alpha;   /* 0.05 */
	int correction; /* 0 Holm, 1 Benjamini-Hochberg */
	int cuped;      /* 1: adjust with the pre-experiment covariate where there is one */
	double tau2;    /* the sequential view's mixing variance; 0: the analysis picks it (documented in analysis.c) */
} an_options;
void an_options_default(an_options *o);

typedef struct analysis analysis;

/* Starts an analysis of e. SEG_ENOMEM; SEG_EINVAL for a bad option. */
int analysis_create(const experiment *e, const an_options *o, analysis **out, seg_error *err);
void analysis_free(analysis *a); /* NULL is a no-op */
/* Feeds one event, in evstore_scan_experiment's order (an evstore_scan_fn
 * with ctx = the analysis). Events of users never exposed, or of other
 * experiments, are ignored. Returns 0 or SEG_EINVAL when the order is
 * broken (a user's events not together). */
int analysis_add(void *a, const ev_event *ev);
/* Ends the input: computes every figure. */
int analysis_finish(analysis *a, seg_error *err);

/* The report as JSON (the API's GET /api/experiments/{name}/report and
 * `segue experiment report --json`):
 *   {"experiment": {...exp_json...}, "alpha": .05, "correction": "holm",
 *    "srm": {"chi2":, "p":, "alarm": bool, "observed": [..], "expected": [..]},
 *    "variants": [{"name":, "config":, "users":, "impressions":, "impressed_tracks":,
 *                  "metrics": {"play_rate": {"value":, "se":, "num":, "den":}, ...}}],
 *    "comparisons": [{"variant": treatment name, "metric":, "primary": bool, "guardrail": bool,
 *                     "diff":, "diff_lo":, "diff_hi":, "lift":, "lift_lo":, "lift_hi":,
 *                     "p":, "p_adjusted":, "cuped": bool, "theta":, "variance_reduction":,
 *                     "significant": bool}],
 *    "sequential": [{"day": "YYYY-MM-DD", "users": [per variant], "metric": primary,
 *                    "variant":, "diff":, "lo":, "hi":, "p":}],
 *    "interleaving": {"wins_a":, "wins_b":, "ties":, "share_b":, "lo":, "hi":, "p":} or null,
 *    "verdict": one plain sentence}
 * Comparisons are each treatment variant against variant 0. */
void analysis_json(const analysis *a, strbuf *sb);
/* The same for a terminal: aligned text, the SRM alarm in words. */
void analysis_text(const analysis *a, strbuf *sb);
/* One CSV row per exposed user: user_id, variant, and for each metric
 * NAME_num and NAME_den (and NAME_pre_num, NAME_pre_den for the CUPED
 * covariates), with a header line. From these the report can be
 * recomputed exactly. */
void analysis_csv(const analysis *a, strbuf *sb);
/* Charts for the Experiments page, drawn with report/svg.h: each metric's
 * relative lift with its interval per treatment (a forest plot; the
 * primary metric first, guardrails marked), and the primary metric's
 * confidence sequence day by day (its interval narrowing around the
 * estimate). A complete <svg> element each. */
void analysis_svg_lift(const analysis *a, strbuf *sb);
void analysis_svg_sequential(const analysis *a, strbuf *sb);

#endif
