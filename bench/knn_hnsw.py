#!/usr/bin/python3
"""The hnswlib side of bench/knn: approximate top-k cosine neighbours with
hnswlib (Debian's python3-hnswlib), space "cosine", M = 16,
ef_construction = 100, on the same vectors and queries as knn_bench.

  knn_hnsw.py run DIR SET N D K B SECONDS EFS
      SET is the file prefix (knn for the generator's knn_x.f32, knn_real for
      the realistic set). Builds the index on the first N rows, or loads it
      from DIR/hnsw_SET_N_M16_efc100.bin when an earlier run saved it (the
      build time printed is then the one measured when it was built, and
      "cached" says so). For each ef of EFS ("20,40,80,160"), times single
      queries (one knn_query call of one vector, in one thread, until SECONDS)
      and prints one JSON line: q/s and recall@K against segue's exact top K
      (DIR/SET_ids_segue_N.i64, the batch's exact rows, written by
      knn_bench run).

The build uses every core (hnswlib's default, 2 here); searches use one
thread (set_num_threads(1)). Single-query q/s include the Python call (one
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


def index_for(d, prefix, n, dim):
    import hnswlib
    path = os.path.join(d, "hnsw_%s_%d_M%d_efc%d.bin" % (prefix, n, M, EFC))
    meta = path + ".json"
    p = hnswlib.Index(space="cosine", dim=dim)
    if os.path.exists(path) and os.path.exists(meta):
        p.load_index(path, max_elements=n)
        info = json.load(open(meta))
        return p, info["build_s"], info["build_threads"], True
    X = np.fromfile(os.path.join(d, prefix + "_x.f32"), dtype="<f4", count=n * dim).reshape(n, dim)
    threads = os.cpu_count()
    t0 = time.perf_counter()
    p.init_index(max_elements=n, ef_construction=EFC, M=M, random_seed=100)
    p.set_num_threads(threads)
    p.add_items(X, np.arange(n))
    build = time.perf_counter() - t0
    p.save_index(path)
    json.dump({"build_s": build, "build_threads": threads}, open(meta, "w"))
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


if __name__ == "__main__":
    a = sys.argv
    if len(a) == 10 and a[1] == "run":
        run(a[2], a[3], int(a[4]), int(a[5]), int(a[6]), int(a[7]), float(a[8]), [int(x) for x in a[9].split(",")])
    else:
        sys.exit(__doc__)
