#!/usr/bin/python3
"""The pandas side of bench/ingest: read_csv plus the range checks segue's
ingest applies, on the same files. Prints one JSON line: rows, rows kept,
seconds (read + checks, after interpreter start and imports) and peak RSS.

With --db PATH it does what segue's full ingest does, the way a pandas user
would: after the checks, the kept rows are deduplicated by track id (first
row wins), written with to_sql into a new SQLite database (tracks, and for
tables that name a playlist on each row, playlists and their entries as sets
in order of first appearance), with a unique index on the track id and an
FTS5 table over track and artist names.

Usage: /usr/bin/python3 bench/pandas_ingest.py [--db PATH] FILE...
"""
import io
import json
import os
import resource
import sqlite3
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


def first(df, names):
    """The first of `names` that df has."""
    return next(c for c in names if c in df)


def store(db, frames):
    """Dedupe + to_sql + indexes + FTS5, into a new database at `db`."""
    if os.path.exists(db):
        os.remove(db)
    con = sqlite3.connect(db)
    df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    tid = first(df, ["track_id", "id"])
    tracks = df.drop_duplicates(tid)
    tracks.to_sql("tracks", con, index=True, index_label="rowid_", chunksize=100000)
    con.execute(f"CREATE UNIQUE INDEX tracks_id ON tracks({tid})")
    if "playlist_id" in df:
        pl = df.drop_duplicates("playlist_id")[["playlist_id", "playlist_name"]]
        pl.to_sql("playlists", con, index=False, chunksize=100000)
        ent = df[["playlist_id", tid]].drop_duplicates()
        ent = ent.assign(pos=ent.groupby("playlist_id").cumcount())
        ent.to_sql("playlist_tracks", con, index=False, chunksize=100000)
        con.execute("CREATE INDEX playlist_tracks_pl ON playlist_tracks(playlist_id, pos)")
        con.execute(f"CREATE INDEX playlist_tracks_track ON playlist_tracks({tid})")
    name = first(tracks, ["track_name", "name"])
    artist = first(tracks, ["track_artist", "artists", "artist_name"])
    con.execute("CREATE VIRTUAL TABLE track_search USING fts5(name, artists, tokenize='unicode61 remove_diacritics 2')")
    con.execute(f"INSERT INTO track_search(rowid, name, artists) SELECT rowid_, {name}, {artist} FROM tracks")
    con.commit()
    con.close()


def main():
    args = sys.argv[1:]
    db = None
    if args[:1] == ["--db"]:
        db, args = args[1], args[2:]
    rows = kept = 0
    frames = []
    t0 = time.perf_counter()
    for path in args:
        df = load(path)
        rows += len(df)
        ok = check(df)
        kept += int(ok.sum())
        if db:
            frames.append(df[ok])
    if db:
        store(db, frames)
    secs = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"rows": rows, "kept": kept, "seconds": secs, "peak_mb": peak_mb}))


if __name__ == "__main__":
    main()
