#!/usr/bin/python3
"""The realistic set of bench/knn: real content vectors resampled with noise.

  knn_realistic.py gen DIR NMAX NQ [DATA_DIR]

writes DIR/knn_real_x.f32 [NMAX][D] and DIR/knn_real_q.f32 [NQ][D] (raw
float32, little-endian, unit rows) and DIR/knn_real.json (where the vectors
came from, D, the noise), unless the three exist and the json matches.

The vectors are segue's content vectors (src/models/featvec.c, rewritten here
in numpy with its default weights): the 9 standardised audio features
(danceability ... tempo) at weight 1, the key as a circle-of-fifths pair at
0.5, the standardised mode at 0.5 and duration at 0.3, and a genre block of
weight 2 split over the track's genres (one-hot / sqrt(count)) over the 24
most frequent genre names. The tracks are the real catalogue's: the 30000
Spotify Songs table (DATA_DIR/spotify_songs.csv.zst, 28,356 unique tracks,
each with the playlist genre and subgenre of every playlist it is in), so
D = 13 + 24 = 37.

Real catalogues at 1M-5M tracks do not exist here, so each row is a real
track's vector (chosen uniformly) plus Gaussian noise of NOISE times the
vector's per-dimension RMS, then scaled to unit length: the shape of the real
distribution (its correlations, the genre block's discreteness, the audio
features' skew), without the generator's well separated clusters. Queries
are other draws of the same kind (seeds from the catalogue, as the server's
requests are).

Without the data directory, or without that file, it falls back to a
synthetic feature table drawn to look like audio features (beta-distributed
0..1 features, a normal loudness and tempo, 1-3 genres of 24 per track by a
skewed popularity) and says so on stderr and in the json ("source").
"""
import io
import json
import os
import sys

import numpy as np

NOISE = 0.25
SEED = 20261205
UNIT = ["danceability", "energy", "speechiness", "acousticness", "instrumentalness", "liveness", "valence"]
NGENRES = 24


def featvec(tab, genres):
    """tab: dict of numeric columns [T]; genres: list of sets of names. -> [T][37] float64."""
    T = len(genres)
    cols = []

    def std(v):
        v = np.asarray(v, dtype=np.float64)
        sd = v.std()
        return (v - v.mean()) / (sd if sd > 0 else 1)
    for name in UNIT + ["loudness", "tempo"]:
        cols.append(std(tab[name]))
    a = 2 * np.pi * ((7 * np.asarray(tab["key"], dtype=np.int64)) % 12) / 12
    cols.append(0.5 * np.cos(a))
    cols.append(0.5 * np.sin(a))
    cols.append(0.5 * std(tab["mode"]))
    cols.append(0.3 * std(np.asarray(tab["duration_ms"], dtype=np.float64) / 60000))
    counts = {}
    for g in genres:
        for name in g:
            counts[name] = counts.get(name, 0) + 1
    vocab = sorted(counts, key=lambda n: (-counts[n], n))[:NGENRES]
    gi = {n: i for i, n in enumerate(vocab)}
    G = np.zeros((T, NGENRES))
    for t, g in enumerate(genres):
        hits = [gi[n] for n in g if n in gi]
        if hits:
            G[t, hits] = 2.0 / np.sqrt(len(hits))
    return np.hstack([np.stack(cols, axis=1), G])


def real_tracks(data_dir):
    import subprocess

    import pandas as pd
    path = os.path.join(data_dir, "spotify_songs.csv.zst")
    if not os.path.exists(path):
        raise FileNotFoundError(path)
    # read in place through the zstd tool (python3-zstandard may be missing)
    raw = subprocess.run(["zstd", "-dc", path], check=True, capture_output=True).stdout
    df = pd.read_csv(io.BytesIO(raw))
    df = df.dropna(subset=UNIT + ["loudness", "tempo", "key", "mode", "duration_ms"])
    genres = df.groupby("track_id").apply(
        lambda g: set(g["playlist_genre"].astype(str).str.lower()) | set(g["playlist_subgenre"].astype(str).str.lower()))
    first = df.drop_duplicates("track_id").set_index("track_id").loc[genres.index]
    tab = {c: first[c].to_numpy() for c in UNIT + ["loudness", "tempo", "key", "mode", "duration_ms"]}
    return tab, list(genres.values), "real: %s (%d unique tracks)" % (path, len(genres))


def synthetic_tracks(T=30000):
    rng = np.random.default_rng(SEED)
    tab = {c: rng.beta(2, 3, T) for c in UNIT}
    tab["loudness"] = rng.normal(-8, 3, T)
    tab["tempo"] = rng.normal(120, 28, T)
    tab["key"] = rng.integers(0, 12, T)
    tab["mode"] = rng.integers(0, 2, T)
    tab["duration_ms"] = rng.normal(225000, 60000, T)
    pop = 1 / np.arange(1, NGENRES + 1)
    pop /= pop.sum()
    genres = [set("g%d" % g for g in rng.choice(NGENRES, size=rng.integers(1, 4), p=pop)) for _ in range(T)]
    return tab, genres, "synthetic (no real track table found): %d tracks" % T


def resample(V, rows, rng):
    rms = np.sqrt((V ** 2).mean(axis=0))
    pick = rng.integers(0, V.shape[0], rows)
    X = V[pick] + NOISE * rms * rng.standard_normal((rows, V.shape[1]))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return X.astype("<f4")


def gen(d, nmax, nq, data_dir):
    meta_path = os.path.join(d, "knn_real.json")
    xp, qp = os.path.join(d, "knn_real_x.f32"), os.path.join(d, "knn_real_q.f32")
    try:
        tab, genres, source = real_tracks(data_dir)
    except Exception as e:  # no data directory, or no file in it
        tab, genres, source = synthetic_tracks()
        print("knn_realistic: %s not usable (%s); falling back to a synthetic feature table" % (data_dir, e),
              file=sys.stderr)
    V = featvec(tab, genres)
    meta = {"source": source, "d": V.shape[1], "nmax": nmax, "nq": nq, "noise": NOISE, "seed": SEED}
    if os.path.exists(meta_path) and os.path.exists(xp) and os.path.exists(qp):
        old = json.load(open(meta_path))
        if old == meta and os.path.getsize(xp) == nmax * V.shape[1] * 4:
            print(json.dumps(meta))
            return
    rng = np.random.default_rng(SEED)
    with open(xp, "wb") as f:
        for i0 in range(0, nmax, 500000):
            f.write(resample(V, min(500000, nmax - i0), rng).tobytes())
    with open(qp, "wb") as f:
        f.write(resample(V, nq, np.random.default_rng(SEED + 1)).tobytes())
    json.dump(meta, open(meta_path, "w"))
    print(json.dumps(meta))


if __name__ == "__main__":
    if len(sys.argv) in (5, 6) and sys.argv[1] == "gen":
        a = sys.argv
        gen(a[2], int(a[3]), int(a[4]), a[5] if len(a) == 6 else "/nonexistent")
    else:
        sys.exit(__doc__)
