#!/usr/bin/python3
"""Independent expectations for tests/test_realdata.c.

Reads the real data sets in ../shared/data with pandas and applies segue's
documented ingest rules (see `segue ingest --help`) in plain Python, without
any of segue's code, to derive the counts a catalogue built from them must
have. Writes tests/golden/realdata_counts.json.

Run: /usr/bin/python3 tests/golden/realdata_counts.py [DATA_DIR]
"""
import io
import json
import math
import os
import re
import subprocess
import sys

import pandas as pd

DATA = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "../../../shared/data")
OUT = os.path.join(os.path.dirname(__file__), "realdata_counts.json")

# Ingest order used by the test (track tables first, then playlists).
TRACK_FILES = [
    ("spotify_songs.csv.zst", "track_id", "playlist_id", "spotify_songs"),
    ("hit_predictor_1960s-2010s.csv.zst", "uri", None, None),
    ("SpotifyFeatures.PARTIAL.csv", "track_id", None, None),
    ("tracks_600k.PARTIAL.csv", "id", None, None),
    ("high_popularity_spotify_data.csv", "track_id", "playlist_id", "popularity_2024"),
    ("low_popularity_spotify_data.csv", "track_id", "playlist_id", "popularity_2024"),
]
FEATURES = ["danceability", "energy", "key", "loudness", "mode", "speechiness",
            "acousticness", "instrumentalness", "liveness", "valence", "tempo"]
UNIT = {"danceability", "energy", "speechiness", "acousticness", "instrumentalness", "liveness", "valence"}
NOTES = {"C": 0, "C#": 1, "Db": 1, "D": 2, "D#": 3, "Eb": 3, "E": 4, "F": 5, "F#": 6, "Gb": 6,
         "G": 7, "G#": 8, "Ab": 8, "A": 9, "A#": 10, "Bb": 10, "B": 11}
ID_RE = re.compile(r"^[0-9A-Za-z]{22}$")


def read(name):
    path = os.path.join(DATA, name)
    if name.endswith(".zst"):  # pandas' zstd support needs a module Debian's pandas lacks
        path = io.BytesIO(subprocess.run(["zstd", "-dc", path], check=True, capture_output=True).stdout)
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def num(s):
    try:
        v = float(s)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def feature(col, s):
    s = s.strip()
    if col == "key" and s in NOTES:
        return NOTES[s]
    if col == "mode" and s.lower() in ("major", "minor"):
        return 1 if s.lower() == "major" else 0
    return num(s)


def row_problem(row, idcol):
    """The reason a row is rejected, or None."""
    rid = row[idcol].strip()
    if rid.startswith("spotify:track:"):
        rid = rid[len("spotify:track:"):]
    if rid == "":
        return "missing", None
    if not ID_RE.match(rid):
        return "bad_id", None
    vals = [row[f].strip() for f in FEATURES]
    if all(v == "" for v in vals):
        return "missing", None
    if any(v == "" for v in vals):
        return "missing", None
    for f, v in zip(FEATURES, vals):
        x = feature(f, v)
        if x is None:
            return "unparseable", None
        if f in UNIT and not 0 <= x <= 1:
            return "out_of_range", None
        if f == "key" and not (-1 <= x <= 11 and x == int(x)):
            return "out_of_range", None
        if f == "mode" and x not in (0, 1):
            return "out_of_range", None
        if f == "loudness" and not -60 <= x <= 5:
            return "out_of_range", None
        if f == "tempo" and not 0 <= x <= 300:
            return "out_of_range", None
    return None, rid


def dropped_values(row):
    """Values the rules store as NULL on a usable row."""
    out = []
    if num(row["tempo"]) == 0:
        out.append("tempo")
    ts = row.get("time_signature", "").strip()
    if ts in ("0", "0/4", "0.0"):
        out.append("time_signature")
    return out


def main():
    seen = set()
    files = {}
    reasons = {}
    dropped = {}
    pl_sets = {}
    for name, idcol, plcol, source in TRACK_FILES:
        df = read(name)
        n = {"rows": len(df), "accepted": 0, "new": 0, "merged": 0, "rejected": 0, "dropped": 0}
        for row in df.to_dict("records"):
            reason, rid = row_problem(row, idcol)
            if reason:
                n["rejected"] += 1
                reasons[reason] = reasons.get(reason, 0) + 1
                continue
            n["accepted"] += 1
            for col in dropped_values(row):
                n["dropped"] += 1
                dropped[col] = dropped.get(col, 0) + 1
            if rid in seen:
                n["merged"] += 1
            else:
                n["new"] += 1
                seen.add(rid)
            if plcol and row[plcol].strip():
                pl_sets.setdefault((source, row[plcol].strip()), set()).add(rid)
        files[name] = n

    playlists = read("mpd_subset_playlists.csv")
    entries = read("mpd_subset_playlist_tracks.csv.zst")
    mpd_ids = set(entries["track_id"])
    files["mpd_subset_playlists.csv"] = {"rows": len(playlists)}
    files["mpd_subset_playlist_tracks.csv.zst"] = {"rows": len(entries)}

    mpd_pids = set(playlists["pid"]) | set(entries["pid"])
    expect = {
        "files": files,
        "tracks_with_features": len(seen),
        "tracks_without_features": len(mpd_ids - seen),
        "merged": sum(f.get("merged", 0) for f in files.values()),
        "rows_rejected_by_reason": reasons,
        "values_dropped_by_column": dropped,
        "playlists": len(mpd_pids) + len(pl_sets),
        "playlist_entries": len(entries) + sum(len(s) for s in pl_sets.values()),
        "mpd_entries": len(entries),
    }
    with open(OUT, "w") as f:
        json.dump(expect, f, indent=2, sort_keys=True)
        f.write("\n")
    print(json.dumps(expect, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
