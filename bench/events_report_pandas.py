"""What `segue experiment report` computes, done the way a data scientist
would with pandas and scipy: read the events exported as CSV, per user and
variant the metrics' numerators and denominators, then per variant the
ratio estimates (delta method), Welch's t against the control, CUPED on the
rates with a pre-experiment covariate, and Holm across the family. It is
bench/events' peer, timed inside its process (imports excluded).

    events_report_pandas.py EVENTS.csv EXPERIMENT STARTED_MS CONTROL

Prints the seconds it took and, per treatment and metric, the difference
with its 95% CI, so that the two reports can be set side by side."""
import sys
import time

import numpy as np
import pandas as pd
from scipy import stats

t0 = time.perf_counter()
path, name, started, control = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
ev = pd.read_csv(path, usecols=["seq", "type", "user_id", "request_id", "track", "server_ms",
                                "experiment", "variant", "tracks"],
                 dtype={"type": "int8", "user_id": "string", "request_id": "string", "track": "string",
                        "experiment": "string", "variant": "string", "tracks": "string"})
imp = ev[ev["type"] == 0]
exp = imp[imp["experiment"] == name]
users = exp.sort_values("seq").groupby("user_id")["variant"].first()
imp = imp[imp["user_id"].isin(users.index)]
# Every list shown to an exposed user, one row per (list, position).
shown = imp[["seq", "user_id", "request_id", "server_ms", "tracks"]].copy()
shown["track"] = shown["tracks"].str.split(",")
shown = shown.drop(columns="tracks").explode("track")
shown["position"] = shown.groupby("seq").cumcount()
first_shown = shown.groupby(["user_id", "track"])["seq"].min().rename("first_seq")
shown = shown.join(first_shown, on=["user_id", "track"])
shown["in_exp"] = shown["request_id"].isin(exp["request_id"])
shown["pre"] = (~shown["in_exp"]) & (shown["server_ms"] < started)

fb = ev[ev["type"] > 0][["type", "user_id", "request_id", "track", "server_ms"]]
fb = fb.drop_duplicates(["request_id", "track", "type"])
fb = fb.merge(shown[["user_id", "request_id", "track", "seq", "position", "first_seq", "in_exp", "pre"]],
              on=["user_id", "request_id", "track"], how="inner")
fb = fb[fb["in_exp"] | (fb["pre"] & (fb["server_ms"] < started))]

def per_user(rows_shown, rows_fb):
    den = rows_shown.groupby("user_id").size()
    out = pd.DataFrame({"den": den})
    for t, m in [(1, "play_rate"), (3, "like_rate"), (2, "skip_rate"), (5, "save_rate")]:
        out[m] = rows_fb[rows_fb["type"] == t].groupby("user_id").size()
    plays = rows_fb[rows_fb["type"] == 1]
    out["discovery_rate"] = plays[plays["first_seq"] == plays["seq"]].groupby("user_id").size()
    firsts = plays.groupby(["user_id", "seq"])["position"].min() + 1
    out["fpp_num"] = firsts.groupby("user_id").sum()
    out["fpp_den"] = firsts.groupby("user_id").size()
    return out.fillna(0)

cur = per_user(shown[shown["in_exp"]], fb[fb["in_exp"]]).reindex(users.index, fill_value=0)
pre = per_user(shown[shown["pre"]], fb[fb["pre"]]).reindex(users.index, fill_value=0)
cur["variant"] = users

def ratio(num, den):
    n = len(num)
    r = num.sum() / den.sum()
    dbar = den.mean()
    var = (num.var(ddof=1) - 2 * r * np.cov(num, den, ddof=1)[0, 1] + r * r * den.var(ddof=1)) / (n * dbar * dbar)
    return r, var, n

def welch(a, b):
    (ra, va, na), (rb, vb, nb) = a, b
    diff, se = rb - ra, np.sqrt(va + vb)
    df = (va + vb) ** 2 / (va * va / (na - 1) + vb * vb / (nb - 1))
    q = stats.t.ppf(0.975, df)
    return diff, diff - q * se, diff + q * se, 2 * stats.t.sf(abs(diff / se), df)

variants = [v for v in dict.fromkeys(exp["variant"].dropna()) if v != control]
rows = []
for v in variants:
    for m in ["play_rate", "like_rate", "skip_rate", "save_rate", "discovery_rate", "first_play_position"]:
        pair = cur[cur["variant"].isin([control, v])]
        num = (lambda d: d["fpp_num"]) if m == "first_play_position" else (lambda d: d[m])
        den = (lambda d: d["fpp_den"]) if m == "first_play_position" else (lambda d: d["den"])
        a = pair[pair["variant"] == control]
        b = pair[pair["variant"] == v]
        if m in ("play_rate", "like_rate", "skip_rate", "save_rate") and pre.loc[pair.index, "den"].sum() > 0:
            # CUPED on the linearised per-user metric.
            p = pre.loc[pair.index]
            pooled = p[m].sum() / p["den"].sum()
            x = np.where(p["den"] > 0, p[m] / p["den"].where(p["den"] > 0, 1), pooled)
            x = pd.Series(x, index=pair.index)
            ys = []
            for d in (a, b):
                R, dbar = num(d).sum() / den(d).sum(), den(d).mean()
                ys.append(R + (num(d) - R * den(d)) / dbar)
            y = pd.concat(ys)
            xc = x - x.mean()
            theta = ((y - y.groupby(pair["variant"]).transform("mean")) * (x - x.groupby(pair["variant"]).transform("mean"))).sum() / ((x - x.groupby(pair["variant"]).transform("mean")) ** 2).sum()
            adj = [(ys[i] - theta * (x[d.index] - x.mean())) for i, d in enumerate((a, b))]
            est = [(z.mean(), z.var(ddof=1) / len(z), len(z)) for z in adj]
            rows.append((v, m) + welch(est[0], est[1]))
        else:
            rows.append((v, m) + welch(ratio(num(a), den(a)), ratio(num(b), den(b))))
ps = np.array([r[5] for r in rows])
order = np.argsort(ps)
adj = np.empty_like(ps)
run = 0.0
for k, i in enumerate(order):
    run = max(run, min(1.0, (len(ps) - k) * ps[i]))
    adj[i] = run
secs = time.perf_counter() - t0
print(f"pandas {secs:.2f} s, {len(ev)} events, {len(users)} users")
for r, pa in zip(rows, adj):
    print(f"{r[0]:<10} {r[1]:<20} diff {r[2]:+.6f} [{r[3]:+.6f}, {r[4]:+.6f}] p {r[5]:.3g} holm {pa:.3g}")
