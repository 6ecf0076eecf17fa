#!/usr/bin/python3
"""The hnswlib side of bench/knn: approximate top-k cosine neighbours with
hnswlib (Debian's python3-hnswlib), space "cosine", M = 16,
ef_construction = 100, on the same vectors and queries as knn_bench.

  knn_hnsw.py run DIR SET N D K B SECONDS EFS
      SET is the file prefix (knn for the generator's knn_x.f32, knn_real for
      the realistic set). Builds the index on the first N rows, or loads it
      from DIR/hnsw_SET_N_M16_efc100.bin when an earlier run saved it (the
      build time printed is then the one measured when it was built, and
      "cached" says so). For each ef of EFS ("20,40,80,100,120,160"), times single
      queries (one knn_query call of one vector, in one thread, until SECONDS)
      and prints one JSON line: q/s and recall@K against segue's exact top K
      (DIR/SET_ids_segue_N.i64, the batch's exact rows, written by
      knn_bench run).
  knn_hnsw.py table RESULTS.jsonl
      prints segue's exact search, its approximate mode (knn_search_probe)
      and hnswlib side by side, per set and size, and the ratio of segue's
      exact q/s to hnswlib's fastest setting at recall@10 >= 0.999 (and
      >= 0.99). Rounds alternate between the tools; the table keeps each
      figure's best round.

The build uses one thread unless KNN_HNSW_BUILD_THREADS says more: with one
thread and a fixed seed the graph is the same on every build, so the ratio
at a given recall repeats (a multi-threaded build inserts in a racy order,
and two builds of the same data here needed ef 80 and ef 160 for recall
0.999). Searches use one thread (set_num_threads(1)). Single-query q/s include the Python call (one
numpy slice and one knn_query per query), as any Python caller pays, and are
counted on the thread's CPU time (time.thread_time), as knn_bench counts
segue's: the machine may be shared.
"""
import json
import os
import sys
import time

import numpy as np

M, EFC = 16, 100


def build_threads():
    return int(os.environ.get("KNN_HNSW_BUILD_THREADS", "1"))


def index_for(d, prefix, n, dim):
    import hnswlib
    path = os.path.join(d, "hnsw_%s_%d_M%d_efc%d.bin" % (prefix, n, M, EFC))
    meta = path + ".json"
    p = hnswlib.Index(space="cosine", dim=dim)
    xpath = os.path.join(d, prefix + "_x.f32")
    # the cached index is for these vectors only: the data file as it was
    # (a regenerated set, real or its fallback, has another mtime)
    st = os.stat(xpath)
    stamp = "%d:%d" % (st.st_size, st.st_mtime_ns)
    if os.path.exists(path) and os.path.exists(meta):
        info = json.load(open(meta))
        if info.get("data") == stamp and info.get("build_threads") == build_threads():
            p.load_index(path, max_elements=n)
            return p, info["build_s"], info["build_threads"], True
    X = np.fromfile(xpath, dtype="<f4", count=n * dim).reshape(n, dim)
    threads = build_threads()
    t0 = time.perf_counter()
    p.init_index(max_elements=n, ef_construction=EFC, M=M, random_seed=100)
    p.set_num_threads(threads)
    p.add_items(X, np.arange(n))
    build = time.perf_counter() - t0
    p.save_index(path)
    json.dump({"build_s": build, "build_threads": threads, "data": stamp}, open(meta, "w"))
    return p, build, threads, False


def run(d, prefix, n, dim, k, b, secs, efs):
    import hnswlib  # noqa: F401
    Q = np.fromfile(os.path.join(d, prefix + "_q.f32"), dtype="<f4").reshape(-1, dim)[:b].copy()
    Q /= np.linalg.norm(Q, axis=1, keepdims=True)
    truth_path = os.path.join(d, "%s_ids_segue_%d.i64" % (prefix, n))
    truth = np.fromfile(truth_path, dtype="<i8").reshape(-1, k)[:b]
    p, build, bthreads, cached = index_for(d, prefix, n, dim)
    p.set_num_threads(1)
    for ef in efs:
        p.set_ef(max(ef, k))
        ids = np.stack([p.knn_query(Q[i:i + 1], k=k)[0][0] for i in range(b)])
        recall = float(np.mean([len(set(a) & set(t[t >= 0])) / max(1, (t >= 0).sum()) for a, t in zip(ids, truth)]))
        p.knn_query(Q[0:1], k=k)  # warm-up
        nq, t0 = 0, time.thread_time()  # CPU time of this thread, as knn_bench's
        while True:
            i = nq % b
            p.knn_query(Q[i:i + 1], k=k)
            nq += 1
            t = time.thread_time() - t0
            if t >= secs and nq >= 3:
                break
        print(json.dumps({"side": "hnswlib", "set": prefix, "n": n, "d": dim, "k": k, "ef": ef, "M": M,
                          "ef_construction": EFC, "build_s": round(build, 2), "build_threads": bthreads,
                          "cached": cached, "single_qps": nq / t, "single_queries": nq, "single_threads": 1,
                          "recall": recall}), flush=True)


SETS = {"knn": "generator (bench/knn_bench.c)", "knn_real": "realistic (bench/knn_realistic.py)"}


def table(path):
    rows = [json.loads(line) for line in open(path) if line.startswith("{")]
    best = {}
    for r in rows:
        if r["side"] not in ("segue", "segue-probe", "hnswlib"):
            continue
        key = (r.get("set", "knn"), r["n"], r["side"], r.get("probe"), r.get("ef"))
        if key not in best or r["single_qps"] > best[key]["single_qps"]:
            best[key] = r
    print("single queries, one thread, k = 10; q/s on the searching thread's CPU time (best round)")
    print("%-38s %10s %-26s %11s %9s %9s" % ("set", "tracks", "tool", "single q/s", "recall@10", "build s"))
    for st, n in sorted({(k[0], k[1]) for k in best}):
        ks = sorted((k for k in best if k[0] == st and k[1] == n),
                    key=lambda k: ({"segue": 0, "segue-probe": 1, "hnswlib": 2}[k[2]], k[3] or 0, k[4] or 0))
        first = True
        for k in ks:
            r = best[k]
            tool = {"segue": "segue exact (clusters)", "segue-probe": "segue probe %s of %s" % (k[3], ""),
                    "hnswlib": "hnswlib ef=%s" % k[4]}[k[2]]
            if k[2] == "segue-probe":
                ex = best.get((st, n, "segue", None, None))
                tool = "segue probe %d/%d cl." % (k[3], ex["clusters"] if ex else 0)
            rec = 1.0 if k[2] == "segue" else r["recall"]
            build = r.get("build_s")
            extra = ""
            if k[2] == "segue-probe":
                extra = "  %.0f%% proven exact" % (100 * r["proven_exact"])
            if k[2] == "hnswlib" and r.get("cached"):
                extra = "  (index cached; build time from its run)"
            print("%-38s %10s %-26s %11.0f %9.4f %9s%s" % (
                SETS.get(st, st) if first else "", "{:,}".format(n) if first else "", tool, r["single_qps"], rec,
                "%.1f" % build if build is not None and k[2] != "segue-probe" else "", extra))
            first = False
    print()
    print("segue exact q/s / hnswlib q/s at its fastest ef reaching the recall (> 1: segue faster)")
    for st, n in sorted({(k[0], k[1]) for k in best}):
        ex = best.get((st, n, "segue", None, None))
        hn = [best[k] for k in best if k[0] == st and k[1] == n and k[2] == "hnswlib"]
        pr = [best[k] for k in best if k[0] == st and k[1] == n and k[2] == "segue-probe"]
        if not ex or not hn:
            continue
        out = []
        for target in (0.999, 0.99):
            ok = [r for r in hn if r["recall"] >= target]
            okp = [r for r in pr if r["recall"] >= target]
            if ok:
                h = max(ok, key=lambda r: r["single_qps"])
                s = "recall >= %s: exact %.2f (hnswlib ef=%d)" % (target, ex["single_qps"] / h["single_qps"], h["ef"])
                if okp:
                    p = max(okp, key=lambda r: r["single_qps"])
                    s += ", probe %d %.2f" % (p["probe"], p["single_qps"] / h["single_qps"])
                out.append(s)
            else:
                out.append("recall >= %s: no hnswlib ef reached it" % target)
        print("%-38s %10s  %s" % (SETS.get(st, st), "{:,}".format(n), "; ".join(out)))


if __name__ == "__main__":
    a = sys.argv
    if len(a) == 10 and a[1] == "run":
        run(a[2], a[3], int(a[4]), int(a[5]), int(a[6]), int(a[7]), float(a[8]), [int(x) for x in a[9].split(",")])
    elif len(a) == 3 and a[1] == "table":
        table(a[2])
    else:
        sys.exit(__doc__)
