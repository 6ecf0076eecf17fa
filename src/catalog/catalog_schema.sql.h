/* catalog_schema.sql.h: the catalogue's SQLite schema, version 2, as one SQL
 * string included by catalog.c. Kept apart so that the schema reads as SQL.
 * Version 2 added track_genres.heldout_only; a version 1 catalogue cannot be
 * brought up to it (which playlist gave each label was not kept), so it is
 * refused with a message saying to ingest again (catalog_open). */
#define CATALOG_SCHEMA_VERSION 2
/* The SQL is laid out as SQL, one line of it a line of C. */
/* clang-format off */
static const char CATALOG_SCHEMA_SQL[] =
"CREATE TABLE IF NOT EXISTS meta(\n"
"  key   TEXT PRIMARY KEY,\n"
"  value TEXT);\n"
/* One row per ingested file. */
"CREATE TABLE IF NOT EXISTS ingests(\n"
"  id             INTEGER PRIMARY KEY,\n"
"  file           TEXT NOT NULL,\n"
"  variant        TEXT NOT NULL,\n"    /* detected export, e.g. 'spotify_songs' */
"  started_at     TEXT NOT NULL,\n"    /* UTC, ISO 8601 */
"  seconds        REAL,\n"
"  rows_read      INTEGER,\n"
"  rows_accepted  INTEGER,\n"
"  new_tracks     INTEGER,\n"
"  merged         INTEGER,\n"          /* accepted rows whose track id was already catalogued */
"  rows_rejected  INTEGER,\n"
"  values_dropped INTEGER,\n"
"  playlists      INTEGER,\n"
"  playlist_entries INTEGER,\n"
"  synthetic      INTEGER NOT NULL DEFAULT 0);\n"
"CREATE TABLE IF NOT EXISTS tracks(\n"
"  id               INTEGER PRIMARY KEY,\n"
"  spotify_id       TEXT NOT NULL UNIQUE,\n"  /* 22-character base-62 Spotify id */
"  name             TEXT,\n"
"  album            TEXT,\n"
"  album_id         TEXT,\n"
"  release_date     TEXT,\n"   /* as precise as known: YYYY, YYYY-MM or YYYY-MM-DD */
"  year             INTEGER,\n"
"  popularity       INTEGER,\n"  /* 0..100 */
"  duration_ms      INTEGER,\n"
"  explicit         INTEGER,\n"  /* 0/1 */
"  danceability     REAL,\n"
"  energy           REAL,\n"
"  key              INTEGER,\n"  /* pitch class 0..11, -1 = not detected */
"  loudness         REAL,\n"     /* dB */
"  mode             INTEGER,\n"  /* 1 major, 0 minor */
"  speechiness      REAL,\n"
"  acousticness     REAL,\n"
"  instrumentalness REAL,\n"
"  liveness         REAL,\n"
"  valence          REAL,\n"
"  tempo            REAL,\n"     /* BPM; NULL where the export said 0 (not detected) */
"  time_signature   INTEGER,\n"  /* beats per bar; NULL where the export said 0 */
"  hit              INTEGER,\n"  /* Hit Predictor's target (1 = was a hit) */
"  has_features     INTEGER NOT NULL DEFAULT 0,\n" /* 1 when the audio features are known */
"  synthetic        INTEGER NOT NULL DEFAULT 0,\n" /* 1 for generated demo data */
"  ingest_id        INTEGER REFERENCES ingests(id));\n"  /* the ingest that first catalogued it */
"CREATE TABLE IF NOT EXISTS artists(\n"
"  id   INTEGER PRIMARY KEY,\n"
"  name TEXT NOT NULL UNIQUE);\n"
"CREATE TABLE IF NOT EXISTS track_artists(\n"
"  track_id  INTEGER NOT NULL REFERENCES tracks(id),\n"
"  artist_id INTEGER NOT NULL REFERENCES artists(id),\n"
"  position  INTEGER NOT NULL,\n"   /* 0 = main artist */
"  PRIMARY KEY(track_id, artist_id)) WITHOUT ROWID;\n"
"CREATE INDEX IF NOT EXISTS track_artists_artist ON track_artists(artist_id);\n"
"CREATE TABLE IF NOT EXISTS genres(\n"
"  id   INTEGER PRIMARY KEY,\n"
"  name TEXT NOT NULL UNIQUE);\n"   /* lower case */
/* Every genre label of a track, as the listener sees them (names, search,
 * track pages, the EDA report). heldout_only = 1 marks a label that only
 * held-out playlists gave (a playlist_genre of a validation or test
 * playlist): it is shown but kept out of everything trained (the content
 * vectors, the quality prior), which read only heldout_only = 0. */
"CREATE TABLE IF NOT EXISTS track_genres(\n"
"  track_id INTEGER NOT NULL REFERENCES tracks(id),\n"
"  genre_id INTEGER NOT NULL REFERENCES genres(id),\n"
"  heldout_only INTEGER NOT NULL DEFAULT 0,\n"  /* 1: every row giving it was of a held-out playlist */
"  PRIMARY KEY(track_id, genre_id)) WITHOUT ROWID;\n"
"CREATE INDEX IF NOT EXISTS track_genres_genre ON track_genres(genre_id);\n"
"CREATE TABLE IF NOT EXISTS playlists(\n"
"  id            INTEGER PRIMARY KEY,\n"
"  source        TEXT NOT NULL,\n"     /* 'mpd', 'spotify_songs', 'popularity_2024', 'synthetic' */
"  external_id   TEXT NOT NULL,\n"     /* the source's playlist id (MPD pid, Spotify id) */
"  name          TEXT,\n"
"  description   TEXT,\n"
"  num_followers INTEGER,\n"
"  synthetic     INTEGER NOT NULL DEFAULT 0,\n"
"  UNIQUE(source, external_id));\n"
"CREATE TABLE IF NOT EXISTS playlist_tracks(\n"
"  playlist_id INTEGER NOT NULL REFERENCES playlists(id),\n"
"  pos         INTEGER NOT NULL,\n"    /* 0-based position in the playlist */
"  track_id    INTEGER NOT NULL REFERENCES tracks(id),\n"
"  PRIMARY KEY(playlist_id, pos)) WITHOUT ROWID;\n"
"CREATE INDEX IF NOT EXISTS playlist_tracks_track ON playlist_tracks(track_id);\n"
/* Everything ingest could not use. action 'row': the row was dropped;
 * action 'value': the value was stored as NULL and the row kept. */
"CREATE TABLE IF NOT EXISTS rejects(\n"
"  id          INTEGER PRIMARY KEY,\n"
"  ingest_id   INTEGER NOT NULL REFERENCES ingests(id),\n"
"  file        TEXT NOT NULL,\n"
"  line        INTEGER NOT NULL,\n"    /* 1-based physical line where the record starts */
"  column_name TEXT,\n"                /* NULL when the whole row is at fault */
"  value       TEXT,\n"
"  reason      TEXT NOT NULL,\n"       /* field_count | missing | unparseable | out_of_range | bad_id | too_long | nul_byte */
"  detail      TEXT NOT NULL,\n"
"  action      TEXT NOT NULL CHECK(action IN ('row','value')));\n"
"CREATE INDEX IF NOT EXISTS rejects_reason ON rejects(reason);\n"
/* Full-text search over track and artist names; rowid = tracks.id. */
"CREATE VIRTUAL TABLE IF NOT EXISTS track_search USING fts5(\n"
"  name, artists, tokenize = 'unicode61 remove_diacritics 2');\n";
/* clang-format on */
