#!/usr/bin/python3
"""Reference values for tests/test_kmeans.c and tests/test_pca.c, from scikit-learn.

Builds small deterministic data sets (numpy's PCG64 with fixed seeds), writes
them as float32 matrices, and fits scikit-learn's KMeans and PCA on exactly
those float32 values (widened to float64, so that the reference is computed in
double precision). Outputs, all in tests/golden/:

  kmeans_blobs.bin      3000 x 12 Gaussian blobs of unequal size and spread,
                        standardised (z-scores)
  kmeans_features.bin   1000 x 9 audio-feature-like rows (four "genres" with
                        danceability, energy, loudness, ... drawn from the
                        distributions Spotify features roughly follow),
                        standardised
  kmeans_golden.txt     KMeans(n_clusters=8, n_init=10, init="k-means++",
                        random_state=0) inertia on both sets
  pca_golden.txt        PCA(n_components=2, svd_solver="full") on both sets
                        and on two small edge cases whose data is inlined:
                        N < D (6 x 12) and constant columns (40 x 6)

A .bin file is: uint32 N, uint32 D (little-endian), then N*D float32 values,
row-major. The .txt files are "key value value ..." lines; '#' starts a comment.

Run: /usr/bin/python3 tests/golden/kmeans_pca_golden.py
"""
import os
import sys

import numpy as np
import sklearn
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA

HERE = os.path.dirname(os.path.abspath(__file__))
N_TRANSFORMED = 20  # rows of transformed coordinates kept for the tests


def standardise(x):
    sd = x.std(axis=0)
    sd[sd == 0] = 1.0
    return (x - x.mean(axis=0)) / sd


def make_blobs():
    rng = np.random.default_rng(20240611)
    n, d = 3000, 12
    weights = np.array([0.26, 0.20, 0.15, 0.12, 0.10, 0.08, 0.05, 0.04])
    sizes = np.floor(weights * n).astype(int)
    sizes[0] += n - sizes.sum()
    centres = rng.normal(0.0, 2.0, size=(len(sizes), d))
    spreads = np.linspace(0.5, 1.4, len(sizes))
    parts = []
    for c, s, m in zip(centres, spreads, sizes):
        # Mildly anisotropic: each blob stretched along its own random axes.
        scale = s * rng.uniform(0.6, 1.4, size=d)
        parts.append(c + rng.normal(size=(m, d)) * scale)
    x = np.vstack(parts)
    x = x[rng.permutation(n)]
    return standardise(x).astype(np.float32)


def make_features():
    rng = np.random.default_rng(7)
    n = 1000
    # genre: (share, danceability a,b, energy a,b, acoustic a,b, instrumental share, tempo mean)
    genres = [
        (0.40, (6, 3), (6, 2), (0.5, 6), 0.05, 124),  # pop/rock
        (0.25, (8, 3), (7, 2), (0.4, 8), 0.55, 128),  # electronic
        (0.20, (3, 4), (2, 5), (5, 1.2), 0.25, 98),   # acoustic/folk
        (0.15, (9, 3), (5, 3), (1, 5), 0.02, 92),     # hip-hop
    ]
    rows = []
    for share, da, en, ac, inst, tempo in genres:
        m = int(round(share * n))
        dance = rng.beta(*da, size=m)
        energy = rng.beta(*en, size=m)
        loud = np.minimum(-2.0, -14.0 + 10.0 * energy + rng.normal(0, 1.5, m))
        speech = np.minimum(1.0, rng.exponential(0.05 if tempo > 95 else 0.18, m))
        acoustic = rng.beta(*ac, size=m)
        instr = np.where(rng.uniform(size=m) < inst, rng.beta(4, 2, m), rng.uniform(0, 0.01, m))
        live = rng.beta(2, 9, size=m)
        valence = np.clip(0.2 + 0.5 * dance * energy + rng.normal(0, 0.15, m), 0, 1)
        bpm = rng.normal(tempo, 14, m)
        rows.append(np.column_stack([dance, energy, loud, speech, acoustic, instr, live,
                                     valence, bpm]))
    x = np.vstack(rows)[:n]
    x = x[rng.permutation(x.shape[0])]
    return standardise(x).astype(np.float32)


def write_bin(name, x):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(np.array(x.shape, dtype="<u4").tobytes())
        f.write(np.ascontiguousarray(x, dtype="<f4").tobytes())


def fmt(values, spec):
    return " ".join(format(float(v), spec) for v in np.ravel(values))


def kmeans_lines(name, x32):
    x = x32.astype(np.float64)
    km = KMeans(n_clusters=8, n_init=10, init="k-means++", random_state=0).fit(x)
    exact = float(((x - km.cluster_centers_[km.labels_]) ** 2).sum())
    sizes = np.bincount(km.labels_, minlength=8)
    print(f"{name}: sklearn inertia {km.inertia_:.6f} ({km.n_iter_} iterations), "
          f"cluster sizes {sorted(sizes.tolist())}", file=sys.stderr)
    return [
        f"{name}.n {x.shape[0]}",
        f"{name}.d {x.shape[1]}",
        f"{name}.k 8",
        f"{name}.inertia {exact:.17g}",
    ]


def pca_lines(name, x32, inline=False):
    x = x32.astype(np.float64)
    pca = PCA(n_components=2, svd_solver="full").fit(x)
    y = pca.transform(x)
    lines = [f"{name}.n {x.shape[0]}", f"{name}.d {x.shape[1]}"]
    if inline:
        lines.append(f"{name}.x {fmt(x32, '.9g')}")
    lines += [
        f"{name}.mean {fmt(pca.mean_, '.17g')}",
        f"{name}.components {fmt(pca.components_, '.17g')}",
        f"{name}.explained_variance {fmt(pca.explained_variance_, '.17g')}",
        f"{name}.explained_variance_ratio {fmt(pca.explained_variance_ratio_, '.17g')}",
        f"{name}.transformed_rows {min(N_TRANSFORMED, x.shape[0])}",
        f"{name}.transformed {fmt(y[:N_TRANSFORMED], '.17g')}",
    ]
    ev = np.linalg.eigvalsh(np.cov(x, rowvar=False))[::-1]
    print(f"{name}: PCA ratio {pca.explained_variance_ratio_}, top eigenvalues {ev[:4]}",
          file=sys.stderr)
    return lines


def main():
    header = [
        "# Generated by tests/golden/kmeans_pca_golden.py; do not edit.",
        f"# scikit-learn {sklearn.__version__}, numpy {np.__version__}",
    ]
    blobs = make_blobs()
    feats = make_features()
    write_bin("kmeans_blobs.bin", blobs)
    write_bin("kmeans_features.bin", feats)

    small_n = np.random.default_rng(11).normal(size=(6, 12)).astype(np.float32)
    rng = np.random.default_rng(12)
    const = rng.normal(size=(40, 6)) * np.array([1.0, 2.0, 0.0, 0.5, 3.0, 0.0])
    const[:, 2] = 4.25  # constant, non-zero columns
    const[:, 5] = -1.5
    const[:, 1] += 0.8 * const[:, 0]
    const = const.astype(np.float32)

    km = header + kmeans_lines("blobs", blobs) + kmeans_lines("features", feats)
    pc = (header + pca_lines("blobs", blobs) + pca_lines("features", feats)
          + pca_lines("small_n", small_n, inline=True) + pca_lines("const", const, inline=True))
    for fname, lines in (("kmeans_golden.txt", km), ("pca_golden.txt", pc)):
        with open(os.path.join(HERE, fname), "w") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
