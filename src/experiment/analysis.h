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
 * impression of it, the "experiment's lists"):
 *   play_rate       plays / impressed tracks          (ratio, delta method)
 *   like_rate       likes / impressed tracks          (ratio)
 *   skip_rate       skips / impressed tracks          (ratio; a skip is
 *                   a started track left early, which the dashboard and
 *                   the simulator post after the track's play, never for
 *                   a track passed over unplayed; skips are counted as
 *                   posted, not checked against the plays)
 *   save_rate       saves / impressed tracks          (ratio)
 *   discovery_rate  plays of tracks u had never been shown before the list
 *                   the play came from / impressed tracks (ratio)
 *   first_play_position  mean over u's lists with a play of the 1-based
 *                   position of the first play        (ratio: sum / lists)
 * counting only events whose request_id is one of the experiment's
 * impressions of u and whose track is in that list (others are ignored);
 * a (list, track, type) counts once however often it was posted, so each
 * rate is at most 1. "Shown before" looks at every impression of u, of any
 * experiment or none. A track's position is its place in the served list
 * (the server's), not the client's claim.
 *
 * Estimates and comparisons (stats.h; these are what a recomputation from
 * analysis_csv must reproduce):
 *   - every metric is a ratio: in variant v, stats_ratio over the users of
 *     v of (x, y) = (NAME_num, NAME_den), users with den 0 included (n is
 *     the variant's users);
 *   - each treatment t against the control (variant 0): stats_welch of the
 *     two ratio estimates at level alpha;
 *   - CUPED (an_options.cuped) for play_rate, like_rate, skip_rate,
 *     save_rate when at least one user of the pair has NAME_pre_den > 0:
 *     each user's metric is linearised within its variant,
 *       y_u = R_v + (num_u - R_v den_u) / dbar_v,
 *     R_v = sum num / sum den and dbar_v = sum den / n_v over v's users
 *     (so mean y = R_v and var(mean y) is the delta-method variance), the
 *     covariate is x_u = pre_num_u / pre_den_u, or, when pre_den_u = 0, the
 *     pooled pre_num / pre_den of the pair's users; stats_cuped_add(c, 0 for
 *     the control, 1 for t, y_u, x_u), stats_cuped_finish, then stats_welch
 *     on its two estimates. "variance_reduction" is 1 - (the CUPED
 *     difference's variance) / (the unadjusted one's);
 *   - the p-values of every (treatment, metric) with a finite p form one
 *     family, adjusted by stats_holm or stats_bh; significant means
 *     p_adjusted < alpha;
 *   - SRM: stats_srm on users per variant against the weights (none for a
 *     single-variant experiment).
 * The pre-experiment covariate: the same ratio over u's events with
 * server_ms < the experiment's started_ms on u's lists served before then
 * (none when the experiment has not started).
 * A user's variant is the one its first impression of the experiment names;
 * users whose impressions name a variant other than exp_assign's, or several
 * variants, are counted in the report ("assignment"). */
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
	double tau2;    /* the sequential view's mixing variance; 0: the analysis picks it (see analysis_json) */
} an_options;
void an_options_default(an_options *o);

typedef struct analysis analysis;

/* Starts an analysis of e. SEG_ENOMEM; SEG_EINVAL for a bad option. */
int analysis_create(const experiment *e, const an_options *o, analysis **out, seg_error *err);
void analysis_free(analysis *a); /* NULL is a no-op */
/* Feeds one event, in evstore_scan_experiment's order (an evstore_scan_fn
 * with ctx = the analysis). Events of users never exposed, or of other
 * experiments, are ignored. Returns 0, SEG_ENOMEM, or SEG_EINVAL when the
 * order is broken (a user's events not together, or a user's seq not
 * increasing where both are set; the user ids themselves may come in any
 * order, so a store's collation does not matter). An error sticks: later
 * calls and analysis_finish return it. One analysis is used by one thread
 * at a time; separate analyses are independent. */
int analysis_add(void *a, const ev_event *ev);
/* Ends the input: computes every figure. Calling it again does nothing.
 * The outputs below are for a finished analysis. SEG_EINVAL (with the
 * reason in err) after a broken order, SEG_ENOMEM. */
int analysis_finish(analysis *a, seg_error *err);

/* The report as JSON (the API's GET /api/experiments/{name}/report and
 * `segue experiment report --json`); NaN and infinities are null:
 *   {"experiment": {...exp_json...}, "alpha": .05, "correction": "holm"|"bh",
 *    "cuped": bool (the option), "users": exposed users,
 *    "assignment": {"mismatches": users whose variant is not exp_assign's,
 *                   "mixed": users whose impressions name several variants,
 *                   "unknown_variant": impressions naming no variant of e},
 *    "srm": {"chi2":, "p":, "alarm": bool, "observed": [..], "expected": [..]} or null,
 *    "variants": [{"name":, "config":, "users":, "impressions":, "impressed_tracks":,
 *                  "metrics": {"play_rate": {"value":, "se":, "num":, "den":
 *                                            [, "pre_num":, "pre_den":]}, ...}}],
 *    "comparisons": [{"variant": treatment name, "metric":, "primary": bool, "guardrail": bool,
 *                     "control":, "treatment": (the two estimates compared, CUPED-adjusted
 *                     when cuped), "diff":, "diff_lo":, "diff_hi":, "lift":, "lift_lo":,
 *                     "lift_hi":, "p":, "df":, "p_adjusted":, "cuped": bool, "theta":,
 *                     "variance_reduction":, "significant": bool, "harmful": bool}],
 *    "period": "day"|"hour", "tau2":,
 *    "sequential": [{"day": "YYYY-MM-DD" (or "YYYY-MM-DDTHH:00Z" when period is
 *                    "hour"), "period":, "end_ms":, "users": [per variant], "metric": primary,
 *                    "variant":, "diff":, "lo":, "hi":, "p":}],
 *    "interleaving": {"variant":, "users":, "wins_a":, "wins_b":, "ties":, "share_b":,
 *                     "lo":, "hi":, "p":, "method": "wilson", "primary": "credit",
 *                     "credit": {"users":, "plays_a":, "plays_b":, "share_b":, "mean_diff":,
 *                                "lo":, "hi":, "p":, "df":, "method": "t"}} or null,
 *    "verdict": one plain sentence}
 * Comparisons are each treatment variant against variant 0, metrics in
 * enum an_metric order. "harmful": significant in the direction that hurts
 * listeners (a lower play, like, save or discovery rate; a higher skip rate
 * or first-play position).
 *
 * The sequential view: the primary metric's estimate from the events up to
 * the end of each UTC day (each hour when every counted event falls on one
 * UTC date), cumulatively, with stats_msprt's confidence sequence and
 * always-valid p at level alpha on diff = treatment - control, var the sum
 * of the two ratio estimates' variances. Only periods where something
 * changed are listed. tau2 (an_options.tau2, or when 0 the analysis's
 * choice) is (0.05 x the control's final value)^2: effects of about a 5%
 * relative lift are the ones the mixture is tuned to (when the control's
 * value is 0, the final diff variance).
 *
 * Interleaving (a variant whose impressions carry teams; the first such):
 * per user, plays on its interleaved lists credited to the team that
 * contributed the track; a user is a win for the team with more credited
 * plays, a tie when equal and non-zero; users without a credited play do
 * not count. share_b = wins_b / (wins_a + wins_b) with the Wilson score
 * interval at level alpha and the two-sided p of the score test of 1/2
 * (z = (wins_b - m/2) / sqrt(m/4), m = wins_a + wins_b): the sign test.
 * The credit test, the primary one (the verdict's): per user u of the
 * variant, every exposed user with zeros included, d_u = team_b_plays -
 * team_a_plays; "mean_diff" is mean d with the one-sample t interval at
 * level alpha (df = users - 1, stats_t_quantile) and the two-sided p of
 * mean d = 0 (stats_t_cdf); when every d_u is equal the mean is exact (p
 * 1 if it is 0 else 0), with fewer than 2 users all null. Under no
 * preference the team-draft coin makes a contributed track equally likely
 * A's or B's, so E[d] = 0. "plays_a", "plays_b" are the credited plays
 * summed and "share_b" = plays_b / (plays_a + plays_b), for reading. It is
 * primary because it keeps what the sign test throws away, the size of a
 * preference (3-0 counts three times 1-0) and how many plays carry it;
 * on the simulator's ladder (bench/simulate --parts ladder, figures in the
 * README) it detected hybrid over popular at least as often as the sign
 * test at every size, more often at three of five, on the same runs. */
void analysis_json(const analysis *a, strbuf *sb);
/* The same for a terminal: aligned text, the SRM alarm in words. */
void analysis_text(const analysis *a, strbuf *sb);
/* One CSV row per exposed user, in input order, with a header line:
 *   user_id,variant,assigned,impressions, then for each metric NAME_num,NAME_den
 *   (and NAME_pre_num,NAME_pre_den for the four with a CUPED covariate), then
 *   team_a_plays,team_b_plays (credited plays on interleaved lists).
 * variant is the variant's name, assigned exp_assign's. Every value is an
 * integer count, ids need no quoting (EV_ID_MAX and experiment.h's name
 * rules), so the report can be recomputed exactly. */
void analysis_csv(const analysis *a, strbuf *sb);
/* Charts for the Experiments page, drawn with report/svg.h: each metric's
 * relative lift with its interval per treatment (a forest plot; the
 * primary metric first, guardrails marked), and the primary metric's
 * confidence sequence day by day (its interval narrowing around the
 * estimate). A complete <svg> element each. */
void analysis_svg_lift(const analysis *a, strbuf *sb);
void analysis_svg_sequential(const analysis *a, strbuf *sb);

#endif
