"""The peer of bench/events: what a user would write instead of segue's
POST /api/events: FastAPI with a pydantic model of the same event schema
(the same checks: id characters and lengths, the five types, a Spotify id,
position 0..499, client time from 2000 on, unknown fields refused, 1..1000
events), stored by Python's sqlite3 into a SQLite file of the same schema
with the same durability (WAL, synchronous=FULL, one commit per request,
INSERT ... ON CONFLICT(event_id) DO NOTHING), answering {"stored",
"duplicates"}.

    python3 events_fastapi.py DB PORT [WORKERS]
"""
import os
import sqlite3
import sys
from typing import List, Literal, Optional

from fastapi import FastAPI
from pydantic import BaseModel, Extra, conint, conlist, constr

ID = constr(regex=r"^[A-Za-z0-9_.:-]{1,64}$")


class Event(BaseModel, extra=Extra.forbid):
    event_id: ID
    type: Literal["play", "skip", "like", "dislike", "save"]
    user_id: ID
    track: constr(regex=r"^[A-Za-z0-9]{22}$")
    request_id: Optional[ID] = None
    position: Optional[conint(ge=0, le=499)] = None
    client_ms: conint(ge=946684800000)


class Batch(BaseModel, extra=Extra.forbid):
    events: conlist(Event, min_items=1, max_items=1000)


TYPES = {"impression": 0, "play": 1, "skip": 2, "like": 3, "dislike": 4, "save": 5}
SCHEMA = """
CREATE TABLE IF NOT EXISTS events(seq INTEGER PRIMARY KEY AUTOINCREMENT,
 event_id TEXT NOT NULL UNIQUE, type SMALLINT NOT NULL, user_id TEXT NOT NULL,
 request_id TEXT, track TEXT, position INTEGER, client_ms BIGINT NOT NULL,
 server_ms BIGINT NOT NULL, experiment TEXT, variant TEXT, model TEXT, tracks TEXT, teams TEXT);
CREATE INDEX IF NOT EXISTS events_user ON events(user_id, seq);
CREATE INDEX IF NOT EXISTS events_experiment ON events(experiment) WHERE type = 0;
CREATE INDEX IF NOT EXISTS events_request ON events(request_id);
"""


def connect(path):
    db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    return db


app = FastAPI()
db = connect(os.environ["EVENTS_DB"]) if "EVENTS_DB" in os.environ else None


@app.get("/health")
async def health():
    return {"ok": True}


@app.post("/api/events")
async def post_events(batch: Batch):
    import time

    now = int(time.time() * 1000)
    rows = [(e.event_id, TYPES[e.type], e.user_id, e.request_id, e.track, e.position, e.client_ms, now)
            for e in batch.events]
    db.execute("BEGIN IMMEDIATE")
    cur = db.executemany("INSERT INTO events(event_id, type, user_id, request_id, track, position, client_ms,"
                         " server_ms) VALUES(?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(event_id) DO NOTHING", rows)
    db.execute("COMMIT")
    return {"stored": cur.rowcount, "duplicates": len(rows) - cur.rowcount}


if __name__ == "__main__":
    import uvicorn

    path, port = sys.argv[1], int(sys.argv[2])
    workers = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    init = connect(path)
    init.executescript(SCHEMA)
    init.close()
    os.environ["EVENTS_DB"] = path
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    uvicorn.run("events_fastapi:app", host="127.0.0.1", port=port, workers=workers, log_level="warning",
                access_log=False)
