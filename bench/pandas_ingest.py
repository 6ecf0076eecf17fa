#!/usr/bin/python3
"""The pandas side of bench/ingest: read_csv plus the range checks segue's
ingest applies, on the same files. Prints one JSON line: rows, rows kept,
seconds (read + checks, after interpreter start and imports) and peak RSS.

Usage: /usr/bin/python3 bench/pandas_ingest.py FILE...
"""
import io
import json
import resource
import subprocess
import sys
import time

import numpy as np
import pandas as pd

UNIT = ["danceability", "energy", "speechiness", "acousticness", "instrumentalness", "liveness", "valence"]
NOTES = {"C": 0, "C#": 1, "Db": 1, "D": 2, "D#": 3, "Eb": 3, "E": 4, "F": 5, "F#": 6, "Gb": 6,
         "G": 7, "G#": 8, "Ab": 8, "A": 9, "A#": 10, "Bb": 10, "B": 11}


def load(path):
    if path.endswith(".zst"):  # Debian's pandas has no zstd codec: decompress as a user would
        data = subprocess.run(["zstd", "-dc", path], check=True, capture_output=True).stdout
        return pd.read_csv(io.BytesIO(data), encoding="utf-8-sig")
    return pd.read_csv(path, encoding="utf-8-sig")


def check(df):
    """Boolean mask of usable rows under segue's row rules."""
    ok = np.ones(len(df), dtype=bool)
    for c in UNIT:
        v = pd.to_numeric(df[c], errors="coerce")
        ok &= v.between(0, 1).to_numpy()
    key = df["key"]
    if key.dtype == object:
        key = key.map(NOTES)
    ok &= pd.to_numeric(key, errors="coerce").between(-1, 11).to_numpy()
    mode = df["mode"]
    if mode.dtype == object:
        mode = mode.map({"Major": 1, "Minor": 0})
    ok &= pd.to_numeric(mode, errors="coerce").isin([0, 1]).to_numpy()
    ok &= pd.to_numeric(df["loudness"], errors="coerce").between(-60, 5).to_numpy()
    ok &= pd.to_numeric(df["tempo"], errors="coerce").between(0, 300).to_numpy()
    # Values segue stores as NULL: counted the same way, the row kept.
    for c in ("popularity", "track_popularity"):
        if c in df:
            _ = (~pd.to_numeric(df[c], errors="coerce").between(0, 100)).sum()
    if "duration_ms" in df:
        _ = (pd.to_numeric(df["duration_ms"], errors="coerce") <= 0).sum()
    return ok


def main():
    rows = kept = 0
    t0 = time.perf_counter()
    for path in sys.argv[1:]:
        df = load(path)
        rows += len(df)
        kept += int(check(df).sum())
    secs = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"rows": rows, "kept": kept, "seconds": secs, "peak_mb": peak_mb}))


if __name__ == "__main__":
    main()
