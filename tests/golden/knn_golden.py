#!/usr/bin/python3
"""Golden values for tests/test_knn.c: exact cosine neighbours from
scikit-learn's NearestNeighbors(metric="cosine", algorithm="brute").

Generates a deterministic data set with clustered structure (N = 2000 tracks,
D = 24 features, 20 clusters of different spreads and sizes, some exact
duplicate rows so that ties occur, raw scale, not normalised) and 50 queries
(perturbed cluster centres, data rows themselves, a few uniform points), and
writes:

  tests/golden/knn_data.bin      little-endian: magic "SEGKNNG1", uint32 N, D, Q,
                                 K, then float32 X[N][D], float32 Q[Q][D]
  tests/golden/knn_expected.txt  one line per query: K pairs "row distance",
                                 nearest first, distance = 1 - cosine

The reference runs in float64 on exactly the float32 values stored.

Run: /usr/bin/python3 tests/golden/knn_golden.py
"""
import os
import struct

import numpy as np
from sklearn.neighbors import NearestNeighbors

N, D, NQ, K = 2000, 24, 50, 10
HERE = os.path.dirname(os.path.abspath(__file__))


def make_data(rng):
    centres = rng.normal(0.0, 1.0, (20, D))
    sizes = rng.multinomial(N - 40, rng.dirichlet(np.full(20, 2.0)))
    spreads = rng.uniform(0.05, 0.6, 20)
    rows = [c + s * rng.normal(0.0, 1.0, (n, D)) for c, s, n in zip(centres, spreads, sizes)]
    X = np.concatenate(rows)
    X = X * rng.uniform(0.5, 3.0, (X.shape[0], 1))  # lengths vary: cosine must ignore them
    # 40 exact duplicates (some scaled by 2, still the same direction, but
    # only the unscaled ones tie bit for bit after normalisation).
    dup = rng.choice(X.shape[0], 40, replace=False)
    X = np.concatenate([X, X[dup[:20]], 2.0 * X[dup[20:]]])
    X = X[rng.permutation(N)].astype(np.float32)
    Q = np.concatenate([
        centres[rng.integers(0, 20, 30)] + 0.1 * rng.normal(0.0, 1.0, (30, D)),
        X[rng.choice(N, 15, replace=False)],
        rng.uniform(-1.0, 1.0, (5, D)),
    ]).astype(np.float32)
    return X, Q, centres


def main():
    rng = np.random.default_rng(20240611)
    X, Q, _ = make_data(rng)
    assert X.shape == (N, D) and Q.shape == (NQ, D)
    nn = NearestNeighbors(n_neighbors=K, metric="cosine", algorithm="brute")
    nn.fit(X.astype(np.float64))
    dist, ind = nn.kneighbors(Q.astype(np.float64))

    with open(os.path.join(HERE, "knn_data.bin"), "wb") as f:
        f.write(b"SEGKNNG1")
        f.write(struct.pack("<4I", N, D, NQ, K))
        f.write(X.astype("<f4").tobytes())
        f.write(Q.astype("<f4").tobytes())
    with open(os.path.join(HERE, "knn_expected.txt"), "w") as f:
        f.write("# sklearn NearestNeighbors(metric='cosine', algorithm='brute'), k=%d\n" % K)
        f.write("# one line per query: row distance (1 - cosine), nearest first\n")
        for q in range(NQ):
            f.write(" ".join("%d %.9f" % (i, d) for i, d in zip(ind[q], dist[q])) + "\n")


if __name__ == "__main__":
    main()
