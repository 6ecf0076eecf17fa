#!/usr/bin/python3
"""The scikit-learn side of the k-means benchmark: writes a deterministic
random-blob matrix (default 100,000 x 24, 16 blobs of unequal size and spread,
standardised) as a .bin file (uint32 N, uint32 D, float32 rows, little-endian)
for segue's side to read, then times KMeans(n_clusters=K, n_init=10,
init="k-means++") on the same float32 values, once per random_state 0 ..
--repeat - 1. Prints one JSON line: n, d, k, n_init, BLAS threads, the median
fit time (fit only, after imports and data generation; wall clock, and CPU
time of all threads per run), the mean inertia
(recomputed in float64 from labels and centres), and each run.

Usage: /usr/bin/python3 bench/kmeans_reference.py [--out bench/out/kmeans_100k.bin]
       [--n 100000] [--d 24] [--k 16] [--n-init 10] [--repeat 5]
"""
import argparse
import json
import os
import time

import numpy as np
from sklearn.cluster import KMeans
from threadpoolctl import threadpool_info


def make_blobs(n, d, blobs, seed=2024):
    rng = np.random.default_rng(seed)
    weights = rng.uniform(0.5, 2.0, blobs)
    sizes = np.floor(weights / weights.sum() * n).astype(int)
    sizes[0] += n - sizes.sum()
    centres = rng.normal(0.0, 2.0, size=(blobs, d))
    parts = [c + rng.normal(size=(m, d)) * rng.uniform(0.5, 1.5) for c, m in zip(centres, sizes)]
    x = np.vstack(parts)[rng.permutation(n)]
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    return x.astype(np.float32)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "out", "kmeans_100k.bin"))
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--d", type=int, default=24)
    ap.add_argument("--k", type=int, default=16)
    ap.add_argument("--n-init", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()

    x = make_blobs(a.n, a.d, a.k)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "wb") as f:
        f.write(np.array(x.shape, dtype="<u4").tobytes())
        f.write(x.astype("<f4").tobytes())

    x64 = x.astype(np.float64)
    runs = []
    for seed in range(a.repeat):
        km = KMeans(n_clusters=a.k, n_init=a.n_init, init="k-means++", random_state=seed)
        t0, c0 = time.perf_counter(), time.process_time()
        km.fit(x)
        secs, cpu = time.perf_counter() - t0, time.process_time() - c0
        centres = km.cluster_centers_.astype(np.float64)
        inertia = float(((x64 - centres[km.labels_]) ** 2).sum())
        runs.append({"seed": seed, "seconds": round(secs, 4), "cpu_seconds": round(cpu, 4),
                     "inertia": round(inertia, 4), "n_iter": int(km.n_iter_)})
    threads = max((i.get("num_threads", 1) for i in threadpool_info()), default=1)
    print(json.dumps({"tool": "scikit-learn", "n": a.n, "d": a.d, "k": a.k, "n_init": a.n_init,
                      "median_seconds": round(float(np.median([r["seconds"] for r in runs])), 4),
                      "mean_inertia": round(float(np.mean([r["inertia"] for r in runs])), 4),
                      "threads": threads, "data": a.out, "runs": runs}))


if __name__ == "__main__":
    main()
