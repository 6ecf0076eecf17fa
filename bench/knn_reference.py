#!/usr/bin/python3
"""The reference side of bench/knn: exact top-k cosine neighbours with faiss
IndexFlatIP (on L2-normalised vectors) and scikit-learn
NearestNeighbors(metric="cosine", algorithm="brute"), on the same vectors and
queries as segue's knn_bench (bench/out/knn_x.f32, knn_q.f32), and the table
that puts both sides together.

  knn_reference.py run DIR N D K B B_SKLEARN SECONDS
      prints one JSON line per tool (timings exclude imports and loading;
      "build" is faiss's normalise + add) and the agreement of each tool's
      batch results with segue's (DIR/knn_ids_segue_N.i64)
  knn_reference.py table RESULTS.jsonl
      prints the side-by-side table and the ratios
"""
import json
import os
import sys
import time

import numpy as np


def thread_report():
    try:
        from threadpoolctl import threadpool_info
        return ", ".join("%s %s=%d" % (i.get("internal_api"), os.path.basename(i.get("filepath", "")), i.get("num_threads"))
                         for i in threadpool_info())
    except Exception as e:  # threadpoolctl is optional
        return "unknown (%s)" % e


def load(d, n, dim, b):
    X = np.memmap(os.path.join(d, "knn_x.f32"), dtype="<f4", mode="r", shape=(n, dim))
    Q = np.fromfile(os.path.join(d, "knn_q.f32"), dtype="<f4").reshape(-1, dim)[:b].copy()
    return X, Q


def agreement(d, n, ids, k):
    """Mean fraction of segue's batch rows that this tool also returned."""
    path = os.path.join(d, "knn_ids_segue_%d.i64" % n)
    if not os.path.exists(path):
        return None
    seg = np.fromfile(path, dtype="<i8").reshape(-1, k)[: ids.shape[0]]
    return float(np.mean([len(set(a) & set(b)) / k for a, b in zip(seg, ids)]))


def time_single(search, Q, secs):
    search(Q[0:1])  # warm-up
    n, t0 = 0, time.perf_counter()
    while True:
        i = n % Q.shape[0]
        search(Q[i:i + 1])
        n += 1
        t = time.perf_counter() - t0
        if (t >= secs and n >= 3) or n >= 100000:
            return n / t, n


def time_batch(search, Q, secs, min_reps=2):
    """Best of at least min_reps runs (1 when a run takes over 5 s), until secs."""
    best, start, reps, res = float("inf"), time.perf_counter(), 0, None
    while (reps < min_reps and best < 5) or reps == 0 or (time.perf_counter() - start < secs and reps < 10):
        t0 = time.perf_counter()
        res = search(Q)
        best = min(best, time.perf_counter() - t0)
        reps += 1
    return Q.shape[0] / best, res


def run(d, n, dim, k, b, b_sk, secs):
    import faiss
    from sklearn.neighbors import NearestNeighbors

    X, Q = load(d, n, dim, b)
    Qn = Q.copy()
    faiss.normalize_L2(Qn)

    # faiss: normalise a copy of X and add it to a flat inner-product index.
    t0 = time.perf_counter()
    Xn = np.array(X, dtype=np.float32)
    faiss.normalize_L2(Xn)
    index = faiss.IndexFlatIP(dim)
    index.add(Xn)
    build = time.perf_counter() - t0
    del Xn
    omp_default = faiss.omp_get_max_threads()
    for omp in sorted({omp_default, 1}, reverse=True):
        faiss.omp_set_num_threads(omp)
        single, nsingle = time_single(lambda q: index.search(q, k), Qn, secs)
        # faiss's default OpenMP setting is slow enough in batch (OpenMP and
        # OpenBLAS threads compete) that at 5M it gets fewer queries.
        bq = b if omp == 1 or n < 5000000 else min(b, 200)
        batch, (_, ids) = time_batch(lambda q: index.search(q, k), Qn[:bq], secs)
        print(json.dumps({
            "side": "faiss" if omp == omp_default else "faiss-omp1", "n": n, "d": dim, "k": k,
            "build_s": round(build, 4), "single_qps": single, "single_queries": nsingle,
            "single_threads": 1,  # faiss scans one query in one thread
            "batch_qps": batch, "batch_queries": bq, "batch_threads": "OpenMP %d + BLAS" % omp,
            "agreement": agreement(d, n, ids, k), "threads": thread_report(),
            "version": faiss.__version__}), flush=True)
    faiss.omp_set_num_threads(omp_default)
    del index

    # scikit-learn: fit keeps the raw vectors; each kneighbors call normalises
    # them again (that is how metric="cosine" works), in chunks of queries.
    import sklearn
    Xm = np.array(X, dtype=np.float32)
    nn = NearestNeighbors(n_neighbors=k, metric="cosine", algorithm="brute").fit(Xm)
    single, nsingle = time_single(lambda q: nn.kneighbors(q), Q, secs)
    batch, (_, ids) = time_batch(lambda q: nn.kneighbors(q), Q[:b_sk], secs, min_reps=1)
    print(json.dumps({
        "side": "sklearn", "n": n, "d": dim, "k": k, "build_s": None,
        "single_qps": single, "single_queries": nsingle, "single_threads": "BLAS",
        "batch_qps": batch, "batch_queries": b_sk, "batch_threads": "BLAS",
        "agreement": agreement(d, n, ids, k), "threads": thread_report(),
        "version": sklearn.__version__}), flush=True)


def table(path):
    rows = [json.loads(line) for line in open(path) if line.startswith("{")]
    # the exact peers on the generator's set (knn_hnsw.py tables the rest)
    rows = [r for r in rows if r.get("set", "knn") == "knn" and r["side"] not in ("segue-probe", "hnswlib")]
    # faiss and sklearn are timed on wall time: so is segue here
    for r in rows:
        if r["side"] == "segue" and "single_wall_qps" in r:
            r["single_qps"], r["single_float_qps"] = r["single_wall_qps"], r["single_float_wall_qps"]
    sizes = sorted({r["n"] for r in rows})
    # Several rounds: keep the best of each figure (the machine may be shared).
    by = {}
    for r in rows:
        old = by.setdefault((r["side"], r["n"]), r)
        for key in ("single_qps", "batch_qps", "batch_1thread_qps", "single_float_qps"):
            if key in r and r[key] is not None and r[key] > (old.get(key) or 0):
                old[key] = r[key]

    def fmt(x):
        return "-" if x is None else ("%.0f" % x if x >= 100 else "%.1f" % x if x >= 10 else "%.2f" % x)

    print("%-10s %-11s %12s %12s %9s %9s  %s" % ("tracks", "tool", "single q/s", "batch q/s", "batch B", "build s", "agrees with segue (batch)"))
    for n in sizes:
        for side in ("segue", "segue-1t", "segue-flt", "faiss", "faiss-omp1", "sklearn"):
            r = by.get((side if side not in ("segue-1t", "segue-flt") else "segue", n))
            if r is None:
                continue
            if side == "segue-1t":
                print("%-10s %-11s %12s %12s %9d %9s" % ("", "  (1 thread)", "", fmt(r["batch_1thread_qps"]), r["batch_queries"], ""))
                continue
            if side == "segue-flt":
                if r.get("single_float_qps") is not None:
                    print("%-10s %-11s %12s %12s %9s %9s  single: %s of the clustered search's top %d in the batch's" % (
                        "", "  (scan)", fmt(r["single_float_qps"]), "", "", "", "%.4f" % r["single_agreement"], r["k"]))
                continue
            agree = "" if side == "segue" else ("%.4f" % r["agreement"] if r.get("agreement") is not None else "?")
            print("%-10s %-11s %12s %12s %9d %9s  %s" % (
                "{:,}".format(n) if side == "segue" else "", side, fmt(r["single_qps"]), fmt(r["batch_qps"]),
                r["batch_queries"], fmt(r["build_s"]), agree))
    print()
    print("ratios (segue q/s / other q/s; > 1 means segue is faster):")
    print("%-10s %16s %16s %16s %16s %16s %16s" % ("tracks", "single/faiss", "batch/faiss", "batch/faiss-omp1", "single/sklearn", "batch/sklearn", "batch 1t/faiss*"))
    for n in sizes:
        s = by.get(("segue", n))
        f, f1, k = by.get(("faiss", n)), by.get(("faiss-omp1", n)), by.get(("sklearn", n))
        if s is None:
            continue

        def ratio(a, other, key):
            return "%.2f" % (a / other[key]) if other and other.get(key) else "-"
        best_faiss = max([x for x in (f, f1) if x], key=lambda r: r["batch_qps"], default=None)
        print("%-10s %16s %16s %16s %16s %16s %16s" % (
            "{:,}".format(n), ratio(s["single_qps"], f, "single_qps"), ratio(s["batch_qps"], f, "batch_qps"),
            ratio(s["batch_qps"], f1, "batch_qps"), ratio(s["single_qps"], k, "single_qps"),
            ratio(s["batch_qps"], k, "batch_qps"), ratio(s["batch_1thread_qps"], best_faiss, "batch_qps")))
    print("  * segue's batch on one thread against faiss's faster batch configuration (either OpenMP setting)")


if __name__ == "__main__":
    if len(sys.argv) == 9 and sys.argv[1] == "run":
        a = sys.argv
        run(a[2], int(a[3]), int(a[4]), int(a[5]), int(a[6]), int(a[7]), float(a[8]))
    elif len(sys.argv) == 3 and sys.argv[1] == "table":
        table(sys.argv[2])
    else:
        sys.exit(__doc__)
