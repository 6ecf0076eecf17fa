#!/usr/bin/python3
"""The reference service for bench/serve: FastAPI + uvicorn + scikit-learn doing
the same exact cosine top-k as `segue serve` (model "content", no re-ranking)
over the same unit-length content vectors, read straight from segue's model
artifact (WORKSPACE/models/<latest>/model.seg) with numpy.memmap.

  serve_fastapi.py serve WORKSPACE PORT [--engine sklearn|numpy] [--workers 2]
  serve_fastapi.py rows WORKSPACE < track_ids    prints the content row of each
                                                 catalogue track id (-1: none)
  serve_fastapi.py info WORKSPACE                prints "N D" of the content vectors

POST /recommend {"seed_rows": [row, ...], "k": 10}
  -> {"ids": [spotify id, ...], "rows": [...], "scores": [cosine, ...]}
The query is the normalised sum of the seeds' vectors (as in segue); seeds are
never returned. GET /health answers {"status": "ok", ...} once loaded.

Engines:
  sklearn  NearestNeighbors(metric="cosine", algorithm="brute").fit(X), then
           kneighbors(q); the score is 1 - cosine distance. (sklearn 1.2
           re-normalises X inside every kneighbors call.)
  numpy    X @ q, np.argpartition, then a sort of the few best: the same
           exact answer without sklearn's per-call work; a stronger baseline.
The handler is `async def`: the work is CPU-bound and each worker owns one
core, so running it on the event loop avoids a thread hop per request.
"""
import os
import sqlite3
import struct
import sys

import numpy as np

HEADER = struct.Struct("<8sIIQQ32x")   # magic, version, nsections, file_size, checksum
ENTRY = struct.Struct("<32sQQ16x")     # name, offset, size


def model_path(ws):
    with open(os.path.join(ws, "models", "latest")) as f:
        version = f.read().strip()
    return os.path.join(ws, "models", version, "model.seg")


def read_sections(path):
    with open(path, "rb") as f:
        magic, version, nsec, file_size, _ = HEADER.unpack(f.read(HEADER.size))
        if magic != b"SEGMODEL" or version != 1:
            sys.exit(f"{path}: not a segue model file (version 1)")
        table = f.read(ENTRY.size * nsec)
    secs = {}
    for i in range(nsec):
        name, off, size = ENTRY.unpack_from(table, i * ENTRY.size)
        secs[name.split(b"\0", 1)[0].decode()] = (off, size)
    if os.path.getsize(path) != file_size:
        sys.exit(f"{path}: truncated")
    return secs


def load_vectors(ws):
    """Returns (track ids [N] int64, unit vectors [N][D] float32), both memmapped."""
    path = model_path(ws)
    secs = read_sections(path)
    toff, tsize = secs["content_track"]
    voff, vsize = secs["content_vec"]
    n = tsize // 8
    d = vsize // 4 // n if n else 0
    if "feat_spec" in secs:  # feat_spec starts {version u32, dim u32, ...}
        with open(path, "rb") as f:
            f.seek(secs["feat_spec"][0])
            _, dim = struct.unpack("<II", f.read(8))
        if dim != d:
            sys.exit(f"{path}: feat_spec says {dim} dimensions, content_vec holds {d}")
    tracks = np.memmap(path, dtype="<i8", mode="r", offset=toff, shape=(n,))
    vec = np.memmap(path, dtype="<f4", mode="r", offset=voff, shape=(n, d))
    return tracks, vec


def spotify_ids(ws, tracks):
    """Spotify id of each content row, as an [N] array of 22-byte strings."""
    db = sqlite3.connect(f"file:{os.path.join(ws, 'catalog.db')}?mode=ro", uri=True)
    ids, sids = [], []
    cur = db.execute("SELECT id, spotify_id FROM tracks ORDER BY id")
    while True:
        rows = cur.fetchmany(100000)
        if not rows:
            break
        ids.append(np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows)))
        sids.append(np.array([r[1] for r in rows], dtype="S22"))
    db.close()
    ids = np.concatenate(ids)
    sids = np.concatenate(sids)
    pos = np.searchsorted(ids, tracks)
    pos[pos >= len(ids)] = 0
    if not np.array_equal(ids[pos], tracks):
        sys.exit("catalogue and model disagree on track ids")
    return sids[pos]


def make_app():
    from fastapi import FastAPI, HTTPException
    from pydantic import BaseModel

    ws = os.environ["SEGUE_BENCH_WORKSPACE"]
    engine = os.environ.get("SEGUE_BENCH_ENGINE", "sklearn")
    tracks, X = load_vectors(ws)
    sid = spotify_ids(ws, tracks)
    N = X.shape[0]
    if engine == "sklearn":
        from sklearn.neighbors import NearestNeighbors
        nn = NearestNeighbors(metric="cosine", algorithm="brute").fit(X)

        def topk(q, m):
            dist, idx = nn.kneighbors(q[None, :], n_neighbors=m)
            return idx[0], 1.0 - dist[0]
    elif engine == "numpy":
        def topk(q, m):
            s = X @ q
            part = np.argpartition(-s, m - 1)[:m]
            order = np.lexsort((part, -s[part]))  # by score, then row
            idx = part[order]
            return idx, s[idx]
    else:
        sys.exit(f"unknown engine {engine}")

    class Req(BaseModel):
        seed_rows: list[int]
        k: int = 10

    app = FastAPI(title="segue bench reference")

    @app.get("/health")
    async def health():
        return {"status": "ok", "engine": engine, "tracks": int(N), "dims": int(X.shape[1])}

    @app.post("/recommend")
    async def recommend(r: Req):
        if not 1 <= r.k <= 100 or not r.seed_rows or len(r.seed_rows) > 100:
            raise HTTPException(400, "k must be 1..100 and seed_rows 1..100 rows")
        if any(not 0 <= x < N for x in r.seed_rows):
            raise HTTPException(400, "seed row out of range")
        q = X[r.seed_rows].sum(axis=0, dtype=np.float32)
        norm = float(np.linalg.norm(q))
        if norm == 0:
            return {"ids": [], "rows": [], "scores": []}
        q /= norm
        seeds = set(r.seed_rows)
        idx, score = topk(q, min(N, r.k + len(seeds)))
        keep = [j for j, row in enumerate(idx.tolist()) if row not in seeds][: r.k]
        return {
            "ids": [sid[idx[j]].decode() for j in keep],
            "rows": [int(idx[j]) for j in keep],
            "scores": [float(score[j]) for j in keep],
        }

    ready = os.environ.get("SEGUE_BENCH_READY")
    if ready:  # tells bench/serve this worker has loaded
        open(os.path.join(ready, str(os.getpid())), "w").close()
    return app


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "rows":
        tracks, _ = load_vectors(sys.argv[2])
        order = np.argsort(tracks)
        want = np.array([int(x) for x in sys.stdin.read().split()], dtype=np.int64)
        pos = np.searchsorted(tracks[order], want)
        pos[pos >= len(order)] = 0
        rows = np.where(tracks[order][pos] == want, order[pos], -1)
        sys.stdout.write("".join(f"{r}\n" for r in rows.tolist()))
    elif len(sys.argv) == 3 and sys.argv[1] == "info":
        tracks, X = load_vectors(sys.argv[2])
        print(X.shape[0], X.shape[1])
    elif len(sys.argv) >= 4 and sys.argv[1] == "serve":
        import argparse
        ap = argparse.ArgumentParser(prog="serve_fastapi.py serve")
        ap.add_argument("workspace")
        ap.add_argument("port", type=int)
        ap.add_argument("--engine", default="sklearn", choices=["sklearn", "numpy"])
        ap.add_argument("--workers", type=int, default=2)
        a = ap.parse_args(sys.argv[2:])
        os.environ["SEGUE_BENCH_WORKSPACE"] = os.path.abspath(a.workspace)
        os.environ["SEGUE_BENCH_ENGINE"] = a.engine
        import uvicorn
        uvicorn.run("serve_fastapi:app", host="127.0.0.1", port=a.port, workers=a.workers,
                    log_level="warning", access_log=False,
                    app_dir=os.path.dirname(os.path.abspath(__file__)))
    else:
        sys.exit(__doc__)
elif __name__ == "serve_fastapi" and "SEGUE_BENCH_WORKSPACE" in os.environ:
    app = make_app()  # imported by a uvicorn worker (not when spawn re-runs this file as __mp_main__)
