#!/usr/bin/python3
"""Writes a track table in the 30000 Spotify Songs layout (spotify_songs.csv:
one row per (playlist, track), the playlist named on every row) for
bench/ingest's sweeps: ROWS rows in playlists of TRACKS_PER_PLAYLIST rows.

Like the real table, a track appears in several playlists (about 15% of the
rows repeat a track already seen, a playlist's rows come together), and a
few rows repeat a track inside the same playlist (which ingest keeps once),
so the merge and the membership check both have work to do. Deterministic
for a given seed.

Usage: /usr/bin/python3 bench/songs_gen.py ROWS TRACKS_PER_PLAYLIST OUT.csv
"""
import random
import sys

HEADER = ("track_id,track_name,track_artist,track_popularity,track_album_id,track_album_name,"
          "track_album_release_date,playlist_name,playlist_id,playlist_genre,playlist_subgenre,"
          "danceability,energy,key,loudness,mode,speechiness,acousticness,instrumentalness,"
          "liveness,valence,tempo,duration_ms\n")
B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
GENRES = [("pop", "dance pop"), ("rock", "hard rock"), ("rap", "trap"), ("latin", "reggaeton"),
          ("r&b", "neo soul"), ("edm", "big room")]


def sid(n, salt):
    """A 22-character base-62 id, distinct for each n."""
    x = n * 2654435761 + salt
    out = []
    for _ in range(22):
        out.append(B62[x % 62])
        x //= 62
    return "".join(out)


def main():
    rows, per, path = int(float(sys.argv[1])), int(sys.argv[2]), sys.argv[3]
    rng = random.Random(13)
    ntracks = max(1, int(rows * 0.85))
    seen = prev = 0
    with open(path, "w", encoding="utf-8") as f:
        f.write(HEADER)
        buf = []
        for r in range(rows):
            p = r // per
            u = rng.random()
            if u < 0.15 and seen > 0:
                t = rng.randrange(seen)  # a track of an earlier row (any playlist)
            elif u < 0.152 and r % per > 0:
                t = prev  # a repeat inside this playlist
            else:
                t = seen % ntracks
                seen += 1
            prev = t
            g, sg = GENRES[p % len(GENRES)]
            buf.append(
                f"{sid(t, 7)},Song {t},Artist {t % 50021},{t % 101},{sid(t // 12, 11)},Album {t // 12},"
                f"{1960 + t % 64}-0{1 + t % 9}-1{t % 10},Playlist {p},{sid(p, 3)},{g},{sg},"
                f"{(t % 997) / 997:.3f},{(t % 991) / 991:.3f},{t % 12},{-(t % 59) - 0.5:.3f},{t % 2},"
                f"{(t % 983) / 983:.4f},{(t % 977) / 977:.4f},{(t % 971) / 971:.4f},{(t % 967) / 967:.4f},"
                f"{(t % 953) / 953:.3f},{60 + t % 180}.{t % 1000:03d},{120000 + t % 180000}\n")
            if len(buf) >= 65536:
                f.write("".join(buf))
                buf.clear()
        f.write("".join(buf))


if __name__ == "__main__":
    main()
