#!/usr/bin/python3
"""Independent expectations for the EDA findings on the real data
(test_realdata_findings in tests/test_eda_findings.c): the popularity a
catalogue built from ../shared/data must have, and its spoken-word tracks.

Reads the track tables with pandas, in the order the tests ingest them, and
applies segue's documented rules (`segue ingest --help`) with the row checks
of realdata_counts.py: a row is kept when its id and audio features are
usable; tracks are keyed by Spotify id; the audio features come from the
first kept row; popularity is the first whole number in 0..100 among the
kept rows of a track (later rows fill it only while it is empty).
Writes tests/golden/eda_realdata_findings.json.

Run: /usr/bin/python3 tests/golden/eda_realdata_findings.py [DATA_DIR]
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import realdata_counts as rc  # noqa: E402  (its readers and row checks)

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "eda_realdata_findings.json")
SPOKEN = 0.66  # Spotify's "probably made entirely of spoken words"
# The popularity column of each track table (hit_predictor has none).
POPULARITY = {
    "spotify_songs.csv.zst": "track_popularity",
    "hit_predictor_1960s-2010s.csv.zst": None,
    "SpotifyFeatures.PARTIAL.csv": "popularity",
    "tracks_600k.PARTIAL.csv": "popularity",
    "high_popularity_spotify_data.csv": "track_popularity",
    "low_popularity_spotify_data.csv": "track_popularity",
}


def popularity(s):
    v = rc.num(s.strip()) if s is not None else None
    if v is None or v != int(v) or not 0 <= v <= 100:
        return None
    return int(v)


def main():
    if len(sys.argv) > 1:
        rc.DATA = sys.argv[1]
    pop = {}      # id -> popularity or None
    speech = {}   # id -> speechiness of its first kept row
    for name, idcol, _, _ in rc.TRACK_FILES:
        col = POPULARITY[name]
        for row in rc.read(name).to_dict("records"):
            reason, rid = rc.row_problem(row, idcol)
            if reason:
                continue
            if rid not in speech:
                speech[rid] = float(row["speechiness"])
                pop[rid] = None
            if pop[rid] is None and col:
                pop[rid] = popularity(row[col])
    known = [p for p in pop.values() if p is not None]
    expect = {
        "tracks_with_features": len(speech),
        "popularity_missing": len(speech) - len(known),
        "popularity_known": len(known),
        "popularity_zero": sum(1 for p in known if p == 0),
        "spoken_word": sum(1 for s in speech.values() if s > SPOKEN),
    }
    expect["popularity_missing_share"] = expect["popularity_missing"] / expect["tracks_with_features"]
    with open(OUT, "w") as f:
        json.dump(expect, f, indent=2, sort_keys=True)
        f.write("\n")
    print(json.dumps(expect, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
