#!/usr/bin/python3
"""Reference values for the EDA findings (tests/test_eda_findings.c), computed
with pandas from a small catalogue file, without any of segue's code.

The catalogue, tests/golden/eda_findings.csv, is segue's synthetic demo
catalogue (`segue generate --tracks 400 --playlists 0 --seed 11`) edited here
so that every finding has something to find, in ways that are easy to check:

  - every third row (0, 3, 6, ...) loses its popularity value;
  - rows 1, 13, 25, ... (i % 12 == 1) get popularity 0: a pile at 0;
  - rows 7, 47, 87, ... (i % 40 == 7) become spoken word: speechiness
    0.70 + k / 100 for the k-th of them, a name "Synthetic Audiobook
    Chapter k", and one narrator (A for k < 6, B for k < 9, C after);
  - the first 5 rows are repeated at the end (the same Spotify ids): ingest
    merges them into the tracks it already has.

Run:
  /usr/bin/python3 tests/golden/eda_findings_golden.py make GENERATED.csv
      writes tests/golden/eda_findings.csv from the generator's file
  /usr/bin/python3 tests/golden/eda_findings_golden.py
      reads tests/golden/eda_findings.csv, writes eda_findings_golden.json

The rules applied here are segue's documented ones (`segue ingest --help`):
tracks are keyed by Spotify id, the first value of a field wins and later
rows only fill empty ones. The statistics are pandas': Series.skew (the
adjusted Fisher-Pearson G1) and DataFrame.corr (pairwise complete Pearson).
The thresholds are the findings' own (src/report/eda_findings.c).
"""
import json
import os
import sys

import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))
CSV = os.path.join(HERE, "eda_findings.csv")
OUT = os.path.join(HERE, "eda_findings_golden.json")

FEATURES = ["danceability", "energy", "valence", "acousticness", "speechiness", "instrumentalness",
            "liveness", "loudness", "tempo", "duration_min", "popularity"]
SPOKEN = 0.66        # Spotify's "probably made entirely of spoken words"
CORR_LARGE = 0.5     # Cohen's large r
CORR_SHOW = 3
MIN_N = 30
SKEW_LIMIT = 1.0
ZERO_PILE_RATIO = 1.5
SPOKEN_EXAMPLES = 3


def make(src):
    df = pd.read_csv(src, dtype=str, keep_default_na=False)
    k = 0
    for i in range(len(df)):
        if i % 3 == 0:
            df.at[i, "popularity"] = ""
        elif i % 12 == 1:
            df.at[i, "popularity"] = "0"
        if i % 40 == 7:
            df.at[i, "speechiness"] = "%.4f" % (0.70 + k / 100)
            df.at[i, "track_name"] = "Synthetic Audiobook Chapter %d" % k
            df.at[i, "artists"] = "Synthetic Narrator " + ("A" if k < 6 else "B" if k < 9 else "C")
            k += 1
    df = pd.concat([df, df.iloc[:5]], ignore_index=True)
    df.to_csv(CSV, index=False, lineterminator="\n")
    print("wrote %s: %d rows, %d spoken-word rows" % (CSV, len(df), k))


def golden():
    raw = pd.read_csv(CSV, dtype=str, keep_default_na=False)
    rows = len(raw)
    df = pd.read_csv(CSV)
    df["order"] = range(len(df))
    # One track per id: the first non-empty value of each field (groupby's
    # first() skips NaN), in the order the ids first appear.
    tracks = df.groupby("track_id", sort=False).first().reset_index()
    tracks["duration_min"] = tracks["duration_ms"] / 60000.0
    tracks["first_artist"] = tracks["artists"].str.split(";").str[0]
    n = len(tracks)
    g = {"rows": rows, "tracks": n, "merged": rows - n}

    pop = tracks["popularity"]
    known = int(pop.notna().sum())
    g["popularity_missing"] = n - known
    g["popularity_known"] = known
    counts = pop.dropna().astype(int).value_counts()
    g["popularity_zero"] = int(counts.get(0, 0))
    others = counts.drop(0, errors="ignore")
    best = others[others == others.max()].index.min()
    g["popularity_next_value"] = int(best)
    g["popularity_next_tracks"] = int(others[best])
    g["popularity_pile"] = g["popularity_zero"] >= ZERO_PILE_RATIO * g["popularity_next_tracks"]

    sk = {}
    for f in FEATURES:
        s = tracks[f].dropna()
        sk[f] = {"skewness": float(s.skew()), "median": float(s.median()), "min": float(s.min()),
                 "max": float(s.max()), "n": int(len(s))}
    g["skewness"] = sk
    g["skewed"] = sorted([f for f in FEATURES if abs(sk[f]["skewness"]) > SKEW_LIMIT],
                         key=lambda f: -abs(sk[f]["skewness"]))

    r = tracks[FEATURES].corr()
    pairs = []
    for i, a in enumerate(FEATURES):
        for b in FEATURES[i + 1:]:
            nn = int((tracks[a].notna() & tracks[b].notna()).sum())
            if nn >= MIN_N:
                pairs.append({"a": a, "b": b, "r": float(r.loc[a, b]), "n": nn})
    pairs.sort(key=lambda p: -abs(p["r"]))
    g["strongest_pairs"] = [p for p in pairs if round(abs(p["r"]), 2) >= CORR_LARGE][:CORR_SHOW]  # as printed
    g["popularity_pair"] = next(p for p in pairs if "popularity" in (p["a"], p["b"]))

    spoken = tracks[tracks["speechiness"] > SPOKEN]
    g["spoken_word"] = int(len(spoken))
    ex = []
    for artist, grp in spoken.groupby("first_artist"):
        top = grp.sort_values(["speechiness", "order"], ascending=[False, True]).iloc[0]
        ex.append({"artist": artist, "tracks": int(len(grp)), "example": top["track_name"]})
    ex.sort(key=lambda e: (-e["tracks"], e["artist"]))
    g["spoken_examples"] = ex[:SPOKEN_EXAMPLES]

    with open(OUT, "w") as f:
        json.dump(g, f, indent=2, sort_keys=True)
        f.write("\n")
    print(json.dumps(g, indent=2, sort_keys=True))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "make":
        make(sys.argv[2])
    elif len(sys.argv) == 1:
        golden()
    else:
        sys.exit(__doc__)
