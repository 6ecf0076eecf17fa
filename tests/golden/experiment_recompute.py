#!/usr/bin/python3
"""Recomputes every comparison of an experiment's report from its per-user
export, independently of segue's C code (python3 + numpy + scipy only), and
fails when any figure differs.

Usage: /usr/bin/python3 tests/golden/experiment_recompute.py EXPORT.csv REPORT.json

EXPORT.csv is analysis_csv's output (header line; columns user_id, variant,
assigned, impressions, NAME_num, NAME_den for each metric, NAME_pre_num,
NAME_pre_den for the metrics with a CUPED covariate, team_a_plays,
team_b_plays; user_id, assigned and impressions are not read). REPORT.json is
analysis_json's output; its "variants" array gives the variants' order
(variant 0 is the control), "alpha", "correction" ("holm" or "bh") and
"comparisons" and "interleaving" are read.

The formulas (src/experiment/analysis.h and stats.h state the same):
  ratio of variant v, users u of v (users with den 0 included, n = users):
      R = sum num / sum den, dbar = sum den / n,
      var(R) = sum_u (num_u - R den_u)^2 / ((n - 1) n dbar^2)
    (the delta method with n - 1 sample (co)variances:
     (s_x^2 - 2 R s_xy + R^2 s_y^2) / (n dbar^2)).
  Welch, control a, treatment b, estimates (n, value, var):
      diff = b - a, se = sqrt(var_a + var_b),
      df = se^4 / (var_a^2 / (n_a - 1) + var_b^2 / (n_b - 1)),
      q = Student t quantile 1 - alpha/2 at that df (fractional),
      diff CI = diff -+ q se, p = 2 P(T_df > |diff| / se);
      when var_a = var_b = 0: df = n_a + n_b - 2, p = 1 if diff = 0 else 0.
  lift = diff / a, its CI lift -+ q sqrt(var_b + (b/a)^2 var_a) / |a| (the
      delta method on the ratio of two independent estimates, the SAME q as
      the diff's CI); null when a = 0.
  CUPED (a comparison whose "cuped" is true), over the control's and the
  treatment's users only:
      y_u = R_v + (num_u - R_v den_u) / dbar_v   (linearised within u's variant v),
      x_u = pre_num_u / pre_den_u, or when pre_den_u = 0 the pooled
            sum pre_num / sum pre_den over both variants' users,
      theta = (Sxy_a + Sxy_b) / (Sxx_a + Sxx_b), S the centred sums of
            products within each variant (0 when Sxx_a + Sxx_b = 0),
      xbar = mean of x over both variants' users,
      value_v = mean_v y - theta (mean_v x - xbar),
      var_v = sample variance (n_v - 1) of y - theta x over v / n_v,
      then Welch and the lift as above on (n_v, value_v, var_v);
      variance_reduction = 1 - (var_a' + var_b') / (var(R_a) + var(R_b)).
  p_adjusted: the comparisons with a finite p form one family, adjusted by
      Holm (step-down, m - j + 1 times the j-th smallest, running max, cap 1)
      or Benjamini-Hochberg (step-up, m p_(j) / j, running min from the top,
      cap 1), as "correction" says.

  interleaving (when the report's "interleaving" is an object), over the
  users of its variant: d_u = team_b_plays - team_a_plays (zeros included),
      credit.mean_diff = mean d, df = n - 1, se = sd(d, ddof 1) / sqrt(n),
      lo, hi = mean -+ t_{1 - alpha/2, df} se, p = scipy's ttest_1samp(d, 0)
      (when se = 0: [mean, mean], p = 1 if mean = 0 else 0), plays_a,
      plays_b the sums, share_b = plays_b / (plays_a + plays_b); and the
      sign test: wins_b, wins_a, share_b = wins_b / (wins_a + wins_b), its
      Wilson interval and score-test p.

Checked per comparison: control and treatment (the compared estimates'
values: numbers or objects with "value"), diff, diff_lo, diff_hi, lift,
lift_lo, lift_hi, p, df, p_adjusted, and when cuped theta and
variance_reduction; a null in the report must be a NaN here. Tolerance:
|report - here| <= 1e-9 max(1, |here|). Exits 1 printing the worst
discrepancy, else prints the largest difference and exits 0; 2 on unusable
input.
"""
import csv
import json
import math
import sys

import numpy as np
from scipy import stats

TOL = 1e-9


def t_quantile(p, df):
    if math.isinf(df):
        return stats.norm.ppf(p)
    # scipy's t.ppf is good to only ~1e-10 at a fractional df; Newton steps on
    # the cdf (good to ~1e-15) take it to full precision.
    q = stats.t.ppf(p, df)
    for _ in range(3):
        pdf = stats.t.pdf(q, df)
        if not pdf > 0:
            break
        q += (stats.t.sf(q, df) - (1 - p)) / pdf
    return q


def ratio_est(num, den):
    n = len(num)
    if n < 2 or den.sum() == 0:
        return (n, math.nan, math.nan)
    r = num.sum() / den.sum()
    dbar = den.sum() / n
    return (n, r, ((num - r * den) ** 2).sum() / ((n - 1) * n * dbar * dbar))


def welch(a, b, alpha):
    (na, va, wa), (nb, vb, wb) = a, b
    out = dict.fromkeys(["diff", "diff_lo", "diff_hi", "lift", "lift_lo", "lift_hi", "p", "df"], math.nan)
    if na < 2 or nb < 2 or math.isnan(va) or math.isnan(vb):
        return out
    d = vb - va
    den = wa * wa / (na - 1) + wb * wb / (nb - 1)
    df = (wa + wb) ** 2 / den if den > 0 else na + nb - 2.0
    q = t_quantile(1 - alpha / 2, df)
    se = math.sqrt(wa + wb)
    p = 2 * stats.t.sf(abs(d) / se, df) if se > 0 else (1.0 if d == 0 else 0.0)
    out.update(diff=d, diff_lo=d - q * se, diff_hi=d + q * se, p=p, df=df)
    if va != 0:
        lse = math.sqrt(wb + (vb / va) ** 2 * wa) / abs(va)
        lift = d / va
        out.update(lift=lift, lift_lo=lift - q * lse, lift_hi=lift + q * lse)
    return out


def cuped(num, den, pre_num, pre_den):
    """num... are [control array, treatment array]; returns (estimates, theta)."""
    pooled_den = sum(p.sum() for p in pre_den)
    pooled = sum(p.sum() for p in pre_num) / pooled_den if pooled_den > 0 else 0.0
    ys, xs = [], []
    for v in range(2):
        n = len(num[v])
        r = num[v].sum() / den[v].sum()
        dbar = den[v].sum() / n
        ys.append(r + (num[v] - r * den[v]) / dbar)
        with np.errstate(divide="ignore", invalid="ignore"):
            xs.append(np.where(pre_den[v] > 0, pre_num[v] / np.where(pre_den[v] > 0, pre_den[v], 1), pooled))
    sxy = sum(((x - x.mean()) * (y - y.mean())).sum() for x, y in zip(xs, ys))
    sxx = sum(((x - x.mean()) ** 2).sum() for x in xs)
    theta = sxy / sxx if sxx > 0 else 0.0
    xbar = np.concatenate(xs).mean()
    est = []
    for x, y in zip(xs, ys):
        n = len(y)
        est.append((n, y.mean() - theta * (x.mean() - xbar), np.var(y - theta * x, ddof=1) / n))
    return est, theta


def holm(p):
    m = len(p)
    order = sorted(range(m), key=lambda i: (p[i], i))
    adj, run = [0.0] * m, 0.0
    for j, i in enumerate(order):
        run = max(run, min(1.0, (m - j) * p[i]))
        adj[i] = run
    return adj


def bh(p):
    m = len(p)
    order = sorted(range(m), key=lambda i: (p[i], i))
    adj, run = [0.0] * m, 1.0
    for j in range(m - 1, -1, -1):
        i = order[j]
        run = min(run, m * p[i] / (j + 1))
        adj[i] = run
    return adj


def interleaving(rows, alpha):
    a = np.array([float(r["team_a_plays"]) for r in rows])
    b = np.array([float(r["team_b_plays"]) for r in rows])
    d, n = b - a, len(rows)
    out = dict.fromkeys(["credit.mean_diff", "credit.lo", "credit.hi", "credit.p", "credit.df",
                         "credit.share_b", "share_b", "lo", "hi", "p"], math.nan)
    out.update({"credit.users": float(n), "credit.plays_a": a.sum(), "credit.plays_b": b.sum(),
                "wins_a": float((a > b).sum()), "wins_b": float((b > a).sum())})
    if a.sum() + b.sum() > 0:
        out["credit.share_b"] = b.sum() / (a.sum() + b.sum())
    if n >= 2:
        mean, se = d.mean(), d.std(ddof=1) / math.sqrt(n)
        out.update({"credit.mean_diff": mean, "credit.df": n - 1.0})
        if se > 0:
            q = t_quantile(1 - alpha / 2, n - 1)
            out.update({"credit.lo": mean - q * se, "credit.hi": mean + q * se,
                        "credit.p": stats.ttest_1samp(d, 0).pvalue})
        else:
            out.update({"credit.lo": mean, "credit.hi": mean, "credit.p": 1.0 if mean == 0 else 0.0})
    m = out["wins_a"] + out["wins_b"]
    if m > 0:
        s, z = out["wins_b"] / m, stats.norm.ppf(1 - alpha / 2)
        centre = (s + z * z / (2 * m)) / (1 + z * z / m)
        half = z / (1 + z * z / m) * math.sqrt(s * (1 - s) / m + z * z / (4 * m * m))
        out.update(share_b=s, lo=centre - half, hi=centre + half,
                   p=2 * stats.norm.sf(abs(out["wins_b"] - m / 2) / math.sqrt(m / 4)))
    return out


def as_value(v):
    if isinstance(v, dict):
        v = v.get("value")
    return math.nan if v is None else float(v)


def main(argv):
    if len(argv) != 3:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    with open(argv[1], newline="") as f:
        rows = list(csv.DictReader(f))
    with open(argv[2]) as f:
        report = json.load(f)
    names = [v["name"] for v in report["variants"]]
    alpha = float(report["alpha"])
    by_variant = {name: [r for r in rows if r["variant"] == name] for name in names}

    def column(name, col):
        return np.array([float(r[col]) for r in by_variant[name]], dtype=float)

    mine = []
    for c in report["comparisons"]:
        m, a, b = c["metric"], names[0], c["variant"]
        if c.get("cuped"):
            est, theta = cuped([column(v, m + "_num") for v in (a, b)], [column(v, m + "_den") for v in (a, b)],
                               [column(v, m + "_pre_num") for v in (a, b)], [column(v, m + "_pre_den") for v in (a, b)])
            w = welch(est[0], est[1], alpha)
            plain = [ratio_est(column(v, m + "_num"), column(v, m + "_den")) for v in (a, b)]
            w["theta"] = theta
            w["variance_reduction"] = 1 - (est[0][2] + est[1][2]) / (plain[0][2] + plain[1][2])
        else:
            est = [ratio_est(column(v, m + "_num"), column(v, m + "_den")) for v in (a, b)]
            w = welch(est[0], est[1], alpha)
        w["control"], w["treatment"] = est[0][1], est[1][1]
        mine.append(w)

    family = [i for i, w in enumerate(mine) if math.isfinite(w["p"])]
    adjust = bh if report.get("correction") == "bh" else holm
    adj = adjust([mine[i]["p"] for i in family])
    for w in mine:
        w["p_adjusted"] = math.nan
    for i, v in zip(family, adj):
        mine[i]["p_adjusted"] = v

    worst, where, problems = 0.0, "", []
    for c, w in zip(report["comparisons"], mine):
        for key, here in w.items():
            if key not in c:
                if key in ("theta", "variance_reduction", "control", "treatment"):
                    continue
                problems.append(f"{c['variant']}/{c['metric']}: report has no {key}")
                continue
            got = as_value(c[key])
            if math.isnan(here) or math.isnan(got):
                if math.isnan(here) != math.isnan(got):
                    problems.append(f"{c['variant']}/{c['metric']}.{key}: report {got!r}, recomputed {here!r}")
                continue
            diff = abs(got - here) / max(1.0, abs(here))
            if diff > worst:
                worst, where = diff, f"{c['variant']}/{c['metric']}.{key}: report {got!r}, recomputed {here!r}"
    il = report.get("interleaving")
    checked_il = 0
    if isinstance(il, dict):
        for key, here in interleaving(by_variant.get(il["variant"], []), alpha).items():
            got = il["credit"].get(key[7:]) if key.startswith("credit.") else il.get(key)
            got = math.nan if got is None else float(got)
            if math.isnan(here) or math.isnan(got):
                if math.isnan(here) != math.isnan(got):
                    problems.append(f"interleaving.{key}: report {got!r}, recomputed {here!r}")
                continue
            checked_il += 1
            diff = abs(got - here) / max(1.0, abs(here))
            if diff > worst:
                worst, where = diff, f"interleaving.{key}: report {got!r}, recomputed {here!r}"
    for p in problems:
        print("MISMATCH " + p)
    if problems or worst > TOL:
        print(f"FAIL: worst difference {worst:.3g} (tolerance {TOL:g}) at {where}")
        return 1
    print(f"ok: {len(mine)} comparisons and {checked_il} interleaving figures recomputed, largest difference {worst:.3g} (tolerance {TOL:g})"
          + (f" at {where}" if where else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
