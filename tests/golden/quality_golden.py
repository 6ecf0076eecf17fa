#!/usr/bin/python3
"""Reference values for tests/test_quality.c, from the Python packages a data
scientist would use instead of segue's C path: xgboost (python3-xgboost 1.7.4,
the same libxgboost that segue links) and scikit-learn's Ridge.

The data set is generated here and in test_quality.c by the same integer
generator (splitmix64) and the same double-precision arithmetic, so both sides
see bit-identical float32 inputs without a data file; the output starts with
checksums of X and y that the C test verifies first.

Writes tests/golden/quality_golden.txt: '#' comments, then lines
"key v1 v2 ...", numbers printed with repr (round-trip exact).

Run: /usr/bin/python3 tests/golden/quality_golden.py
"""
import os
import sys

import numpy as np
import sklearn
import xgboost as xgb
from sklearn.impute import SimpleImputer
from sklearn.linear_model import Ridge
from sklearn.metrics import mean_absolute_error, r2_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "quality_golden.txt")

N, D = 1500, 8
N_TRAIN = 1200            # the single split: rows [0, 1200) train, [1200, 1500) test
DATA_SEED = 20240601
MISSING = 0.06            # probability that a feature value is NaN
SCALE = [1.0, 4.0, 2.0, 8.0, 1.0, 16.0, 0.5, 32.0]
OFFSET = [0.0, -2.0, 0.0, 10.0, 0.0, -8.0, 0.0, 100.0]

# XGBoost parameters of the comparison (quality_params in C).
ROUNDS = 200
PARAMS = {
    "max_depth": 5,
    "eta": 0.1,
    "subsample": 0.8,
    "colsample_bytree": 0.8,
    "min_child_weight": 2.0,
    "seed": 7,
    "nthread": 1,
}
RIDGE_ALPHA = 1.0
CV_K, CV_SEED = 5, 99

M64 = (1 << 64) - 1


class SplitMix64:
    def __init__(self, seed):
        self.state = seed & M64

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & M64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        return z ^ (z >> 31)

    def uniform(self):
        # 24 random bits: exact in float32 and double.
        return (self.next() >> 40) / 16777216.0


def make_data():
    """X[N][D] float32 with NaNs, y[N] float32; mirrors make_data() in test_quality.c."""
    rng = SplitMix64(DATA_SEED)
    X = np.empty((N, D), dtype=np.float32)
    y = np.empty(N, dtype=np.float32)
    for i in range(N):
        u = [rng.uniform() for _ in range(D)]
        e = [rng.uniform() for _ in range(4)]
        miss = [rng.uniform() for _ in range(D)]
        for j in range(D):
            X[i, j] = np.nan if miss[j] < MISSING else np.float32(u[j] * SCALE[j] + OFFSET[j])
        v = (35.0 + 30.0 * u[0] * u[1] + (12.0 if u[2] > 0.6 else 0.0)
             - 80.0 * (u[3] - 0.5) * (u[3] - 0.5) + 10.0 * u[4]
             + (6.0 if (u[5] < 0.3 and u[0] > 0.5) else 0.0)
             + 6.0 * (e[0] + e[1] + e[2] + e[3] - 2.0))
        y[i] = np.float32(min(max(v, 0.0), 100.0))
    return X, y


def cv_folds(n, k, seed):
    """Fisher-Yates by splitmix64, fold = shuffled position mod k (quality_cv_folds)."""
    rng = SplitMix64(seed)
    perm = list(range(n))
    for i in range(n - 1, 0, -1):
        j = rng.next() % (i + 1)
        perm[i], perm[j] = perm[j], perm[i]
    fold = [0] * n
    for i, row in enumerate(perm):
        fold[row] = i % k
    return np.array(fold)


def base_score(y):
    """The C default: mean of the targets summed in order in double, rounded to float32."""
    s = 0.0
    for v in y:
        s += float(v)
    return float(np.float32(s / len(y)))


def fmt(v):
    # The exact strings segue's C code passes to XGBoosterSetParam ("%.17g").
    return "%.17g" % v if isinstance(v, float) else str(v)


def train_predict(Xtr, ytr, Xte):
    params = {"objective": "reg:squarederror", "tree_method": "hist"}
    params.update({k: fmt(v) for k, v in PARAMS.items()})
    params["base_score"] = "%.9g" % base_score(ytr)
    dtrain = xgb.DMatrix(Xtr, label=ytr, missing=np.nan)
    bst = xgb.train(params, dtrain, num_boost_round=ROUNDS)
    return bst.predict(xgb.DMatrix(Xte, missing=np.nan)), params["base_score"]


def ridge():
    return make_pipeline(SimpleImputer(strategy="mean"), StandardScaler(), Ridge(alpha=RIDGE_ALPHA))


def main():
    X, y = make_data()
    lines = []
    put = lambda key, *vals: lines.append(" ".join([key] + [repr(float(v)) for v in vals]))

    # Checksums of the generated data, summed in row order in double.
    xs = 0.0
    for v in X.ravel():
        if not np.isnan(v):
            xs += float(v)
    ys = 0.0
    for v in y:
        ys += float(v)
    put("data_x_sum", xs)
    put("data_nan_count", int(np.isnan(X).sum()))
    put("data_y_sum", ys)
    put("data_x_row0", *X[0])

    # Single split: boosted trees.
    pred, bs = train_predict(X[:N_TRAIN], y[:N_TRAIN], X)
    put("xgb_base_score", float(bs))
    # float32 predictions: 9 significant digits round-trip exactly.
    lines.append(" ".join(["xgb_pred"] + ["%.9g" % float(v) for v in pred]))
    put("xgb_r2_test", r2_score(y[N_TRAIN:].astype(np.float64), pred[N_TRAIN:].astype(np.float64)))

    # Single split: ridge in double precision.
    X64, y64 = X.astype(np.float64), y.astype(np.float64)
    model = ridge().fit(X64[:N_TRAIN], y64[:N_TRAIN])
    rp = model.predict(X64)
    put("ridge_r2_test", r2_score(y64[N_TRAIN:], rp[N_TRAIN:]))
    put("ridge_r2_train", r2_score(y64[:N_TRAIN], rp[:N_TRAIN]))
    put("ridge_mae_test", mean_absolute_error(y64[N_TRAIN:], rp[N_TRAIN:]))
    put("ridge_intercept", model[-1].intercept_)
    put("ridge_coef", *model[-1].coef_)
    put("ridge_pred_head", *rp[:10])

    # Cross-validation on all rows.
    fold = cv_folds(N, CV_K, CV_SEED)
    put("cv_fold_head", *fold[:40])
    put("cv_fold_sizes", *[int((fold == f).sum()) for f in range(CV_K)])
    scores = {m: ([], []) for m in ("xgboost", "mean", "ridge")}
    for f in range(CV_K):
        tr, te = fold != f, fold == f
        yte64 = y64[te]
        p, _ = train_predict(X[tr], y[tr], X[te])
        p = p.astype(np.float64)
        scores["xgboost"][0].append(r2_score(yte64, p))
        scores["xgboost"][1].append(mean_absolute_error(yte64, p))
        s = 0.0
        for v in y[tr]:
            s += float(v)
        p = np.full(te.sum(), s / tr.sum())
        scores["mean"][0].append(r2_score(yte64, p))
        scores["mean"][1].append(mean_absolute_error(yte64, p))
        p = ridge().fit(X64[tr], y64[tr]).predict(X64[te])
        scores["ridge"][0].append(r2_score(yte64, p))
        scores["ridge"][1].append(mean_absolute_error(yte64, p))
    for m, (r2, mae) in scores.items():
        put("cv_%s_r2" % m, *r2)
        put("cv_%s_mae" % m, *mae)
        put("cv_%s_summary" % m, np.mean(r2), np.std(r2), np.mean(mae), np.std(mae))

    header = [
        "# quality_golden.txt: reference values for tests/test_quality.c.",
        "# Generated by tests/golden/quality_golden.py; do not edit by hand.",
        "# xgboost %s, scikit-learn %s, numpy %s, python %s" % (
            xgb.__version__, sklearn.__version__, np.__version__, sys.version.split()[0]),
        "# N=%d D=%d data_seed=%d missing=%g train_rows=%d rounds=%d params=%s" % (
            N, D, DATA_SEED, MISSING, N_TRAIN, ROUNDS,
            ",".join("%s:%s" % (k, v) for k, v in PARAMS.items())),
        "# ridge_alpha=%g cv_k=%d cv_seed=%d" % (RIDGE_ALPHA, CV_K, CV_SEED),
    ]
    with open(OUT, "w") as f:
        f.write("\n".join(header + lines) + "\n")
    print("wrote %s (%d bytes)" % (OUT, os.path.getsize(OUT)))
    for m, (r2, mae) in scores.items():
        print("cv %-8s R2 %.4f ± %.4f  MAE %.3f ± %.3f" % (m, np.mean(r2), np.std(r2), np.mean(mae), np.std(mae)))


if __name__ == "__main__":
    main()
