/* catalog.c: the SQLite catalogue and its write session (see catalog.h).
 *
 * During a write session the Spotify-id, artist, genre and playlist keys live
 * in hash maps, so that merging a row costs one statement per table rather
 * than a lookup and an insert each, and so does the membership of the
 * playlists that track tables fill as sets (catalog_add_playlist_track): the
 * (playlist_id, pos) key cannot answer "is this track already in it", and a
 * scan per entry made ingest quadratic in playlist length. The full-text
 * index is not written row by row: FTS5 flushes its pending terms at every
 * statement savepoint, which made each later write in the transaction pay
 * for it; it is built for the session's new and merged tracks at commit,
 * or, for a new catalogue, beside the load (see "the search index of a
 * new catalogue").
 * Link rows (a track's artists and genres, playlist entries) are queued and
 * written many to a statement (see "rows written in batches"). */
#include "catalog/catalog.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "catalog/catalog_schema.sql.h"
#include "catalog/search_load.h"
#include "core/array.h"
#include "core/atomicfile.h"
#include "core/rng.h"
#include "core/pairmap.h"
#include "core/strbuf.h"
#include "core/strmap.h"

/* Track-map values: the rowid (below 2^48), HAS_FEATURES_BIT when the track
 * has audio features and, for a track this session inserted, TRACK_KNOWN_BIT
 * with which of the fields that a merge can fill are stored non-NULL
 * (TRACK_F_*, track_fields), so that a row that could fill none of them (a
 * track listed again in another playlist) costs no UPDATE. A track read from
 * the catalogue, or only referenced by a playlist, has no TRACK_KNOWN_BIT:
 * its rows are always merged in SQL. */
#define HAS_FEATURES_BIT ((int64_t)1 << 62)
#define TRACK_KNOWN_BIT ((int64_t)1 << 61)
#define TRACK_ROWID (((int64_t)1 << 48) - 1)
enum {
	TRACK_F_NAME = 48,
	TRACK_F_ALBUM,
	TRACK_F_ALBUM_ID,
	TRACK_F_RELEASE_DATE,
	TRACK_F_YEAR,
	TRACK_F_POPULARITY,
	TRACK_F_DURATION,
	TRACK_F_EXPLICIT,
	TRACK_F_TIME_SIGNATURE,
	TRACK_F_HIT,
	TRACK_F_SYNTHETIC, /* 58: below TRACK_KNOWN_BIT */
};

enum stmt_id {
	ST_TRACK_INSERT,
	ST_TRACK_UPDATE,
	ST_TRACK_REF,
	ST_ARTIST_INSERT,
	ST_TRACK_ARTIST,
	ST_GENRE_INSERT,
	ST_TRACK_GENRE,
	ST_REJECT,
	ST_PLAYLIST_FIND,
	ST_PLAYLIST_INSERT,
	ST_PLAYLIST_UPDATE,
	ST_PLAYLIST_TRACK,
	ST_PLAYLIST_ADD,
	ST_PLAYLIST_APPEND,
	ST_PLAYLIST_MEMBERS,
	ST_SEARCH_DELETE,
	ST_SEARCH_REINDEX,
	ST_SEARCH_NEW,
	ST__COUNT
};

/* clang-format off */
static const char *const STMT_SQL[ST__COUNT] = {
	[ST_TRACK_INSERT] =
		"INSERT INTO tracks(spotify_id,name,album,album_id,release_date,year,popularity,"
		"duration_ms,explicit,danceability,energy,key,loudness,mode,speechiness,acousticness,"
		"instrumentalness,liveness,valence,tempo,time_signature,hit,has_features,synthetic,ingest_id)"
		" VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22,?23,?24,?25)",
	/* ?26 = rowid. Features move as a block, only into a track without them. */
	[ST_TRACK_UPDATE] =
		"UPDATE tracks SET name=coalesce(name,?2), album=coalesce(album,?3),"
		" album_id=coalesce(album_id,?4), release_date=coalesce(release_date,?5),"
		" year=coalesce(year,?6), popularity=coalesce(popularity,?7),"
		" duration_ms=coalesce(duration_ms,?8), explicit=coalesce(explicit,?9),"
		" danceability=iif(has_features,danceability,?10), energy=iif(has_features,energy,?11),"
		" key=iif(has_features,key,?12), loudness=iif(has_features,loudness,?13),"
		" mode=iif(has_features,mode,?14), speechiness=iif(has_features,speechiness,?15),"
		" acousticness=iif(has_features,acousticness,?16),"
		" instrumentalness=iif(has_features,instrumentalness,?17),"
		" liveness=iif(has_features,liveness,?18), valence=iif(has_features,valence,?19),"
		" tempo=iif(has_features,tempo,?20),"
		" time_signature=coalesce(time_signature,?21), hit=coalesce(hit,?22),"
		" has_features=max(has_features,?23), synthetic=max(synthetic,?24)"
		" WHERE id=?26",
	[ST_TRACK_REF] = "INSERT INTO tracks(spotify_id,name,ingest_id) VALUES(?1,?2,?3)",
	[ST_ARTIST_INSERT] = "INSERT INTO artists(name) VALUES(?1)",
	[ST_TRACK_ARTIST] = "INSERT OR IGNORE INTO track_artists(track_id,artist_id,position) VALUES(?1,?2,?3)",
	[ST_GENRE_INSERT] = "INSERT INTO genres(name) VALUES(?1)",
	/* A label is held out only while every row that gave it came from a
	 * held-out playlist: min() over its evidence, in any order of arrival. */
	[ST_TRACK_GENRE] = "INSERT INTO track_genres(track_id,genre_id,heldout_only) VALUES(?1,?2,?3)"
	                   " ON CONFLICT(track_id,genre_id) DO UPDATE"
	                   " SET heldout_only = min(heldout_only, excluded.heldout_only)",
	[ST_REJECT] = "INSERT INTO rejects(ingest_id,file,line,column_name,value,reason,detail,action)"
	              " VALUES(?1,?2,?3,?4,?5,?6,?7,?8)",
	/* With which fields are known, so that a later row that would only
	 * fill them again costs no statement (see playlist_bits). */
	[ST_PLAYLIST_FIND] = "SELECT id, name IS NOT NULL, description IS NOT NULL, num_followers IS NOT NULL,"
	                     " synthetic FROM playlists WHERE source=?1 AND external_id=?2",
	[ST_PLAYLIST_INSERT] = "INSERT INTO playlists(source,external_id,name,description,num_followers,synthetic)"
	                       " VALUES(?1,?2,?3,?4,?5,?6)",
	[ST_PLAYLIST_UPDATE] = "UPDATE playlists SET name=coalesce(name,?2), description=coalesce(description,?3),"
	                       " num_followers=coalesce(num_followers,?4), synthetic=max(synthetic,?5) WHERE id=?1",
	[ST_PLAYLIST_TRACK] = "INSERT OR REPLACE INTO playlist_tracks(playlist_id,pos,track_id) VALUES(?1,?2,?3)",
	[ST_PLAYLIST_ADD] =
		"INSERT INTO playlist_tracks(playlist_id,pos,track_id)"
		" SELECT ?1, coalesce(max(pos)+1,0), ?2 FROM playlist_tracks WHERE playlist_id=?1"
		" HAVING NOT EXISTS(SELECT 1 FROM playlist_tracks WHERE playlist_id=?1 AND track_id=?2)",
	[ST_PLAYLIST_APPEND] = "INSERT INTO playlist_tracks(playlist_id,pos,track_id) VALUES(?1,?2,?3)",
	[ST_PLAYLIST_MEMBERS] = "SELECT pos, track_id FROM playlist_tracks WHERE playlist_id=?1",
	[ST_SEARCH_DELETE] = "DELETE FROM track_search WHERE rowid=?1",
	/* The artists in credit order: group_concat takes the rows in the
	 * order of the subquery (SQLite 3.40 has no ORDER BY inside it). */
	[ST_SEARCH_REINDEX] =
		"INSERT INTO track_search(rowid, name, artists)"
		" SELECT t.id, t.name, (SELECT group_concat(n, ', ') FROM (SELECT a.name AS n FROM track_artists ta"
		"   JOIN artists a ON a.id = ta.artist_id WHERE ta.track_id = t.id ORDER BY ta.position))"
		" FROM tracks t WHERE t.id = ?1",
	/* Every track catalogued in this session (ids from ?1 on) in one statement. */
	[ST_SEARCH_NEW] =
		"INSERT INTO track_search(rowid, name, artists)"
		" SELECT t.id, t.name, (SELECT group_concat(n, ', ') FROM (SELECT a.name AS n FROM track_artists ta"
		"   JOIN artists a ON a.id = ta.artist_id WHERE ta.track_id = t.id ORDER BY ta.position))"
		" FROM tracks t WHERE t.id >= ?1 ORDER BY t.id",
};
/* clang-format on */

/* ---- rows written in batches ----
 * A link row is three integers. Queued rows of a kind are written
 * BATCH_ROWS at a time by one multi-row INSERT with the same conflict rule
 * as the single-row statement (SQLite applies the rows of one statement in
 * order, so duplicates within a batch resolve as they would one by one);
 * a shorter rest goes through the single-row statement. Nothing reads
 * these tables during a session without batch_flush_all first (or, for
 * playlist_tracks, entries_flush). Playlist entries come two ways, appended
 * to a set (BT_ENTRY) or put at a position (BT_ENTRY_AT, replacing what is
 * there): a row of one kind is queued only once the other kind's queue is
 * written, so that the rows reach the table in the order they came. */
enum batch_id { BT_ARTIST, BT_GENRE, BT_ENTRY, BT_ENTRY_AT, BT__COUNT };
#define BATCH_ROWS 128

static const struct {
	const char *head, *tail; /* the multi-row INSERT is head (?,?,?),... tail */
	enum stmt_id one;        /* the single-row form */
} BATCH_SQL[BT__COUNT] = {
	[BT_ARTIST] = {"INSERT OR IGNORE INTO track_artists(track_id,artist_id,position) VALUES", "", ST_TRACK_ARTIST},
	[BT_GENRE] = {"INSERT INTO track_genres(track_id,genre_id,heldout_only) VALUES",
                      " ON CONFLICT(track_id,genre_id) DO UPDATE SET heldout_only = min(heldout_only, "
                      "excluded.heldout_only)",
                      ST_TRACK_GENRE},
	[BT_ENTRY] = {"INSERT INTO playlist_tracks(playlist_id,pos,track_id) VALUES", "", ST_PLAYLIST_APPEND},
	[BT_ENTRY_AT] = {"INSERT OR REPLACE INTO playlist_tracks(playlist_id,pos,track_id) VALUES", "",
                         ST_PLAYLIST_TRACK},
};

struct catalog {
	sqlite3 *db;
	int writable;
	int in_session;
	sqlite3_stmt *st[ST__COUNT];              /* prepared on first use */
	strmap *tracks;                           /* spotify_id -> a track-map value (HAS_FEATURES_BIT) */
	strmap *artists;                          /* name -> rowid */
	strmap *genres;                           /* name -> rowid */
	strmap *playlists;                        /* source US external_id -> rowid | PL_* bits (playlist_key) */
	pairmap *members;                         /* playlists filled as sets: (playlist, -1) -> next pos, or -1 when
	                                the playlist must be asked in SQL; (playlist, track) -> 1 for each member */
	int64_t first_new;                        /* tracks with id >= first_new were catalogued in this session */
	int64_t *dirty;                           /* older tracks whose search entry must be rebuilt at commit */
	int64_t queued[BT__COUNT][BATCH_ROWS][3]; /* link rows not yet written */
	int nqueued[BT__COUNT];
	sqlite3_stmt *batch_st[BT__COUNT]; /* the BATCH_ROWS-row INSERTs, prepared on first use */
	size_t ndirty, cap_dirty;
	int load;          /* 1 while a new catalogue is built in tmp (CATALOG_OPEN_LOAD) */
	int sid_deferred;  /* 1 while tracks is loaded without its UNIQUE(spotify_id), 2 once indexed (sid_*) */
	search_load *sl;   /* a new catalogue's search index, built beside the load (see "the search index") */
	int64_t sl_links;  /* track_artists rows of the tracks handed to sl: the table has no more while no
	                       later row gave a track an artist */
	int sl_stale;      /* 1 once a row merged into a handed track may have changed its name */
	strbuf sl_artists; /* search_load_track's joined artists, reused from track to track */
	/* The playlist of the last catalog_put_playlist (track tables name it
	 * on each of its rows, which come together): its map value, valid
	 * while last_pl_ok. */
	int last_pl_ok;
	int64_t last_pl;
	char last_pl_source[64], last_pl_external[192];
	char tmp[PATH_MAX]; /* that temporary, renamed to path by catalog_commit */
	char dir[PATH_MAX];
	char path[PATH_MAX];
};

const char *catalog_workspace(const char *dir, char *buf, size_t cap)
{
	const char *env = getenv("SEGUE_HOME");
	snprintf(buf, cap, "%s", dir && *dir ? dir : env && *env ? env : "./segue-data");
	return buf;
}

static int db_error(catalog *c, seg_error *err, const char *what)
{
	return seg_error_set(err, SEG_EDB, "%s: %s", what, sqlite3_errmsg(c->db));
}

/* The page cache of a write session (256 MiB), and the one an index is
 * built under. CREATE INDEX sorts its keys in runs as large as the cache,
 * written to temporary files (temp_store FILE) and merged: runs of a few
 * MiB stay in the CPU's caches and sort several times faster than runs of
 * the session's size, or than temp_store MEMORY's one run of everything
 * (the README's "Ingest speed" has the figures). */
#define SESSION_CACHE "PRAGMA cache_size=-262144;"
#define SORT_CACHE "PRAGMA cache_size=-8192;"

/* Runs `sql` (statements that build indexes) under SORT_CACHE, then goes
 * back to SESSION_CACHE. Returns sqlite3_exec's code, with its message in
 * *msg (sqlite3_errmsg no longer has it). */
static int index_exec(catalog *c, const char *sql, char **msg)
{
	sqlite3_exec(c->db, SORT_CACHE, NULL, NULL, NULL);
	int rc = sqlite3_exec(c->db, sql, NULL, NULL, msg);
	sqlite3_exec(c->db, SESSION_CACHE, NULL, NULL, NULL);
	return rc;
}

/* Creates the empty temporary c->tmp that a new catalogue is built in, one
 * of atomicfile's (catalog.db.tmp.XXXXXX), so that the workspace's leftover
 * cleaning knows it. */
static int temp_create(catalog *c, seg_error *err)
{
	if ((size_t)snprintf(c->tmp, sizeof c->tmp, "%s%s%.*s", c->path, ATOMICFILE_TAG, ATOMICFILE_RANDOM,
	                     "XXXXXXXXXXXXXXXX") >= sizeof c->tmp)
		return seg_error_set(err, SEG_EINVAL, "workspace path too long: %s", c->dir);
	int rc = atomicfile_make_file(c->tmp, err);
	if (rc == 0)
		c->load = 1;
	return rc;
}

/* ---- a new catalogue's UNIQUE(spotify_id) ----
 * While a new catalogue fills, the tracks map already keeps every Spotify
 * id once, so the unique index on tracks.spotify_id only costs: kept up to
 * date row by row it took most of the time spent storing tracks (an insert
 * at a random place of a b-tree of 22-byte keys per track). Such a
 * catalogue's tracks table is created without the constraint, and the
 * index is built once, by sorting, at commit and made the constraint's
 * own: the same index b-tree a UNIQUE column has (key spotify_id, rowid),
 * named as SQLite names it, and the table's SQL as the schema writes it,
 * so that the catalogue is the one the schema would have made. */

/* The place in the SQL of a tracks table (tbl: its opening, up to the
 * parenthesis) just after "spotify_id ... NOT NULL", where the schema has
 * " UNIQUE"; NULL when the SQL is not laid out so. */
static const char *sid_constraint(const char *sql, const char *tbl)
{
	const char *t = strstr(sql, tbl);
	const char *s = t ? strstr(t, "spotify_id ") : NULL;
	const char *n = s ? strstr(s, "NOT NULL") : NULL;
	const char *eol = s ? strchr(s, '\n') : NULL;
	return n != NULL && (eol == NULL || n < eol) ? n + strlen("NOT NULL") : NULL;
}

/* Applies the schema; for a new catalogue in its temporary, with tracks
 * loaded without UNIQUE(spotify_id) when the schema and the connection
 * allow it (sid_deferred). */
static int schema_apply(catalog *c, char **msg)
{
	static const char TBL[] = "TABLE IF NOT EXISTS tracks(";
	const char *at = c->load ? sid_constraint(CATALOG_SCHEMA_SQL, TBL) : NULL;
	int defensive = 1;
	/* Only a connection that is not defensive may write sqlite_schema. */
	if (at == NULL || strncmp(at, " UNIQUE", 7) != 0 ||
	    sqlite3_db_config(c->db, SQLITE_DBCONFIG_DEFENSIVE, 0, &defensive) != SQLITE_OK || defensive)
		return sqlite3_exec(c->db, CATALOG_SCHEMA_SQL, NULL, NULL, msg);
	size_t head = (size_t)(at - CATALOG_SCHEMA_SQL);
	char *sql = malloc(sizeof CATALOG_SCHEMA_SQL);
	if (sql == NULL)
		return SQLITE_NOMEM;
	memcpy(sql, CATALOG_SCHEMA_SQL, head);
	memcpy(sql + head, at + 7, sizeof CATALOG_SCHEMA_SQL - head - 7);
	int rc = sqlite3_exec(c->db, sql, NULL, NULL, msg);
	free(sql);
	c->sid_deferred = rc == SQLITE_OK;
	return rc;
}

/* Builds the unique index on tracks.spotify_id, under a name of its own,
 * in the session's transaction (sid_deferred 1 -> 2). */
static int sid_index_build(catalog *c, seg_error *err)
{
	char *msg = NULL;
	if (index_exec(c, "CREATE UNIQUE INDEX tracks__spotify_id_load ON tracks(spotify_id)", &msg) != SQLITE_OK) {
		int rc = seg_error_set(err, SEG_EDB, "cannot index the tracks' Spotify ids: %s", msg ? msg : "?");
		sqlite3_free(msg);
		return rc;
	}
	c->sid_deferred = 2;
	return 0;
}

/* Makes the index of sid_index_build the UNIQUE constraint of the tracks
 * table, in a transaction of its own (sid_deferred 2 -> 0): its name and
 * the table's SQL as the schema has them are written in sqlite_schema
 * (and the index's statistics, if any, renamed with it), the schema's
 * version is moved on and the schema read again (writable_schema=RESET).
 * This comes last, once the statistics are gathered: a schema read again
 * forgets which tables the session's statements used, and so what
 * PRAGMA optimize analyzes. */
static int sid_constraint_make(catalog *c, seg_error *err)
{
	static const char TBL[] = "CREATE TABLE tracks(";
	char *sql = NULL;
	sqlite3_stmt *q = NULL;
	int rc = 0, version = -1, stat1 = 0;
	if (sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return db_error(c, err, "cannot start a transaction");
	if (sqlite3_prepare_v2(c->db,
	                       "SELECT sql, (SELECT schema_version FROM pragma_schema_version),"
	                       " EXISTS(SELECT 1 FROM sqlite_schema WHERE name = 'sqlite_stat1')"
	                       " FROM sqlite_schema WHERE type = 'table' AND name = 'tracks'",
	                       -1, &q, NULL) != SQLITE_OK ||
	    sqlite3_step(q) != SQLITE_ROW) {
		rc = db_error(c, err, "cannot read the catalogue's schema");
		goto out;
	}
	const char *now = (const char *)sqlite3_column_text(q, 0);
	const char *at = now ? sid_constraint(now, TBL) : NULL;
	version = sqlite3_column_int(q, 1);
	stat1 = sqlite3_column_int(q, 2);
	if (at == NULL) {
		rc = seg_error_set(err, SEG_EDB, "the tracks table of %s is not the schema's", c->tmp);
		goto out;
	}
	size_t head = (size_t)(at - now), len = strlen(now);
	if ((sql = malloc(len + 8)) == NULL) {
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
		goto out;
	}
	memcpy(sql, now, head);
	memcpy(sql + head, " UNIQUE", 7);
	memcpy(sql + head + 7, at, len - head + 1);
	sqlite3_finalize(q);
	q = NULL;
	char bump[64];
	snprintf(bump, sizeof bump, "PRAGMA schema_version=%d", version + 1);
	if (sqlite3_exec(c->db, "PRAGMA writable_schema=ON", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(c->db, "UPDATE sqlite_schema SET sql = ?1 WHERE type = 'table' AND name = 'tracks'", -1,
	                       &q, NULL) != SQLITE_OK) {
		rc = db_error(c, err, "cannot write the catalogue's schema");
		goto reset;
	}
	sqlite3_bind_text(q, 1, sql, -1, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_DONE ||
	    sqlite3_exec(c->db,
	                 "UPDATE sqlite_schema SET name = 'sqlite_autoindex_tracks_1', sql = NULL"
	                 " WHERE type = 'index' AND name = 'tracks__spotify_id_load'",
	                 NULL, NULL, NULL) != SQLITE_OK ||
	    (stat1 && sqlite3_exec(c->db,
	                           "UPDATE sqlite_stat1 SET idx = 'sqlite_autoindex_tracks_1'"
	                           " WHERE tbl = 'tracks' AND idx = 'tracks__spotify_id_load'",
	                           NULL, NULL, NULL) != SQLITE_OK) ||
	    sqlite3_exec(c->db, bump, NULL, NULL, NULL) != SQLITE_OK)
		rc = db_error(c, err, "cannot write the catalogue's schema");
reset:
	sqlite3_finalize(q);
	q = NULL;
	if (sqlite3_exec(c->db, "PRAGMA writable_schema=RESET", NULL, NULL, NULL) != SQLITE_OK && rc == 0)
		rc = db_error(c, err, "cannot read the catalogue's schema");
out:
	sqlite3_finalize(q);
	free(sql);
	if (rc == 0 && sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		rc = db_error(c, err, "cannot commit");
	if (rc < 0)
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	else
		c->sid_deferred = 0;
	return rc;
}

int catalog_open(catalog **out, const char *workspace, int writable, seg_error *err)
{
	*out = NULL;
	catalog *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	int rc;
	c->writable = writable;
	snprintf(c->dir, sizeof c->dir, "%s", workspace);
	snprintf(c->path, sizeof c->path, "%s/%s", workspace, CATALOG_DB_NAME);
	if (writable) {
		if (mkdir(workspace, 0777) < 0 && errno != EEXIST) {
			rc = seg_error_set(err, SEG_EIO, "cannot create workspace %s: %s", workspace, strerror(errno));
			goto fail;
		}
		if (writable == CATALOG_OPEN_LOAD && access(c->path, F_OK) < 0 && errno == ENOENT &&
		    (rc = temp_create(c, err)) < 0)
			goto fail;
	} else if (access(c->path, R_OK) < 0) {
		rc = seg_error_set(err, SEG_ENOTFOUND, "no catalogue at %s; run `segue ingest` first", c->path);
		goto fail;
	}
	/* One connection per thread: SQLite's own locking is not needed. */
	int flags =
		(writable ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY) | SQLITE_OPEN_NOMUTEX;
	if (sqlite3_open_v2(c->load ? c->tmp : c->path, &c->db, flags, NULL) != SQLITE_OK) {
		rc = seg_error_set(err, SEG_EDB, "cannot open %s: %s", c->path,
		                   c->db ? sqlite3_errmsg(c->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(c->db, 5000);
	/* The version of an existing catalogue is checked before anything is
	 * written to it, so that an old or newer one is left as it was. */
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(c->db, "SELECT value FROM meta WHERE key='schema_version'", -1, &q, NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW) {
		int v = sqlite3_column_int(q, 0);
		sqlite3_finalize(q);
		if (v < CATALOG_SCHEMA_VERSION) {
			rc = seg_error_set(
				err, SEG_EVERSION,
				"%s was made by an older segue (catalogue schema version %d; this segue reads %d): "
				"its genre labels do not record which playlists gave them, so labels of "
				"held-out playlists could not be kept out of the features. Ingest the files "
				"again into a new workspace (or remove %s first)",
				c->path, v, CATALOG_SCHEMA_VERSION, c->dir);
			goto fail;
		}
		if (v > CATALOG_SCHEMA_VERSION) {
			rc = seg_error_set(
				err, SEG_EVERSION,
				"%s has catalogue schema version %d, made by a newer segue; this segue reads %d",
				c->path, v, CATALOG_SCHEMA_VERSION);
			goto fail;
		}
	} else {
		sqlite3_finalize(q);
		if (!writable) {
			rc = seg_error_set(err, SEG_EFORMAT, "%s is not a segue catalogue", c->path);
			goto fail;
		}
	}
	if (writable) {
		char *msg = NULL;
		/* A catalogue built in its temporary needs no journal nor syncs
		 * while it fills: if anything fails it is removed whole, and
		 * catalog_commit syncs it once before renaming it into place. Its
		 * pages are 16 KiB (fixed when the file is made): at 1M rows the
		 * load took 10% less CPU than with 4 KiB (fewer, fuller b-tree
		 * pages to split and write); 32 and 64 KiB gained no more. */
		if (sqlite3_exec(c->db,
		                 c->load ? "PRAGMA page_size=16384; PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
		                         : "PRAGMA journal_mode=DELETE; PRAGMA synchronous=NORMAL;",
		                 NULL, NULL, &msg) != SQLITE_OK ||
		    sqlite3_exec(c->db, SESSION_CACHE " PRAGMA temp_store=FILE; PRAGMA foreign_keys=OFF;", NULL, NULL,
		                 &msg) != SQLITE_OK ||
		    schema_apply(c, &msg) != SQLITE_OK) {
			rc = seg_error_set(err, SEG_EDB, "cannot set up %s: %s", c->path, msg ? msg : "?");
			sqlite3_free(msg);
			goto fail;
		}
		char sql[128];
		snprintf(sql, sizeof sql, "INSERT OR IGNORE INTO meta VALUES('schema_version','%d')",
		         CATALOG_SCHEMA_VERSION);
		sqlite3_exec(c->db, sql, NULL, NULL, NULL);
		/* A new catalogue's id (see catalog_stamp): 63 random bits. */
		uint64_t id = rng_entropy64();
		snprintf(sql, sizeof sql, "INSERT OR IGNORE INTO meta VALUES('catalogue_id','%lld')",
		         (long long)(id >> 1));
		sqlite3_exec(c->db, sql, NULL, NULL, NULL);
	}
	*out = c;
	return 0;
fail:
	catalog_close(c);
	return rc;
}

void catalog_close(catalog *c)
{
	if (c == NULL)
		return;
	if (c->in_session)
		catalog_rollback(c);
	for (int i = 0; i < ST__COUNT; i++)
		sqlite3_finalize(c->st[i]);
	for (int i = 0; i < BT__COUNT; i++)
		sqlite3_finalize(c->batch_st[i]);
	strmap_free(c->tracks);
	strmap_free(c->artists);
	strmap_free(c->genres);
	strmap_free(c->playlists);
	pairmap_free(c->members);
	free(c->dirty);
	search_load_free(c->sl);
	strbuf_free(&c->sl_artists);
	sqlite3_close(c->db);
	if (c->load)
		unlink(c->tmp); /* never committed: no catalogue */
	free(c);
}

int catalog_stamp(sqlite3 *db, int64_t stamp[CATALOG_STAMP], seg_error *err)
{
	static const char *const sql[CATALOG_STAMP] = {
		"SELECT coalesce((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'catalogue_id'), 0)",
		"SELECT coalesce(max(id), 0) FROM ingests", "SELECT count(*) FROM tracks",
		"SELECT coalesce(max(id), 0) FROM tracks"};
	for (int i = 0; i < CATALOG_STAMP; i++) {
		sqlite3_stmt *q = NULL;
		int ok = sqlite3_prepare_v2(db, sql[i], -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW;
		stamp[i] = ok ? sqlite3_column_int64(q, 0) : 0;
		sqlite3_finalize(q);
		if (!ok)
			return seg_error_set(err, SEG_EDB, "cannot read the catalogue: %s", sqlite3_errmsg(db));
	}
	return 0;
}

_Static_assert(sizeof(catalog_origin) == 64, "catalog_origin is 64 bytes");

int catalog_origin_now(sqlite3 *db, catalog_origin *o, seg_error *err)
{
	memset(o, 0, sizeof(*o));
	snprintf(o->code, sizeof o->code, "%s", SEGUE_VERSION);
	return catalog_stamp(db, o->stamp, err);
}

int catalog_origin_same(const catalog_origin *a, const catalog_origin *b)
{
	return memcmp(a->stamp, b->stamp, sizeof a->stamp) == 0;
}

sqlite3 *catalog_db(const catalog *c) { return c->db; }
const char *catalog_db_path(const catalog *c) { return c->path; }
const char *catalog_dir(const catalog *c) { return c->dir; }

static sqlite3_stmt *stmt(catalog *c, enum stmt_id id, seg_error *err)
{
	if (c->st[id] == NULL &&
	    sqlite3_prepare_v3(c->db, STMT_SQL[id], -1, SQLITE_PREPARE_PERSISTENT, &c->st[id], NULL) != SQLITE_OK) {
		db_error(c, err, "cannot prepare statement");
		return NULL;
	}
	sqlite3_reset(c->st[id]);
	sqlite3_clear_bindings(c->st[id]);
	return c->st[id];
}

/* Runs a prepared statement that returns no rows. */
static int run(catalog *c, sqlite3_stmt *s, seg_error *err, const char *what)
{
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return db_error(c, err, what);
	return 0;
}

/* Writes the queued rows of kind b. */
static int batch_flush(catalog *c, enum batch_id b, seg_error *err)
{
	int n = c->nqueued[b], rc;
	c->nqueued[b] = 0;
	if (n == BATCH_ROWS) {
		if (c->batch_st[b] == NULL) {
			char sql[BATCH_ROWS * 8 + 256];
			size_t len = (size_t)snprintf(sql, sizeof sql, "%s", BATCH_SQL[b].head);
			for (int i = 0; i < BATCH_ROWS; i++)
				len += (size_t)snprintf(sql + len, sizeof sql - len, "%s(?,?,?)", i ? "," : "");
			snprintf(sql + len, sizeof sql - len, "%s", BATCH_SQL[b].tail);
			if (sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &c->batch_st[b], NULL) !=
			    SQLITE_OK)
				return db_error(c, err, "cannot prepare statement");
		}
		sqlite3_stmt *s = c->batch_st[b];
		for (int i = 0; i < n; i++)
			for (int k = 0; k < 3; k++)
				sqlite3_bind_int64(s, 3 * i + k + 1, c->queued[b][i][k]);
		return run(c, s, err, "cannot store rows");
	}
	for (int i = 0; i < n; i++) {
		sqlite3_stmt *s = stmt(c, BATCH_SQL[b].one, err);
		if (s == NULL)
			return SEG_EDB;
		for (int k = 0; k < 3; k++)
			sqlite3_bind_int64(s, k + 1, c->queued[b][i][k]);
		if ((rc = run(c, s, err, "cannot store rows")) < 0)
			return rc;
	}
	return 0;
}

static int batch_flush_all(catalog *c, seg_error *err)
{
	int rc;
	for (int b = 0; b < BT__COUNT; b++)
		if (c->nqueued[b] > 0 && (rc = batch_flush(c, (enum batch_id)b, err)) < 0)
			return rc;
	return 0;
}

/* Queues the link row (x, y, z) of kind b. */
static int batch_put(catalog *c, enum batch_id b, int64_t x, int64_t y, int64_t z, seg_error *err)
{
	int64_t *row = c->queued[b][c->nqueued[b]++];
	row[0] = x;
	row[1] = y;
	row[2] = z;
	return c->nqueued[b] == BATCH_ROWS ? batch_flush(c, b, err) : 0;
}

/* Queues playlist entry (playlist, pos, track) of kind b (BT_ENTRY or
 * BT_ENTRY_AT), once the other kind's queue is written. */
static int entry_put(catalog *c, enum batch_id b, int64_t playlist, int64_t pos, int64_t track, seg_error *err)
{
	enum batch_id other = b == BT_ENTRY ? BT_ENTRY_AT : BT_ENTRY;
	int rc = c->nqueued[other] > 0 ? batch_flush(c, other, err) : 0;
	return rc < 0 ? rc : batch_put(c, b, playlist, pos, track, err);
}

/* Writes the queued playlist entries of both kinds (one of them is empty). */
static int entries_flush(catalog *c, seg_error *err)
{
	int rc = 0;
	if (c->nqueued[BT_ENTRY] > 0)
		rc = batch_flush(c, BT_ENTRY, err);
	if (rc == 0 && c->nqueued[BT_ENTRY_AT] > 0)
		rc = batch_flush(c, BT_ENTRY_AT, err);
	return rc;
}

static int load_map(catalog *c, strmap *m, const char *sql, seg_error *err)
{
	sqlite3_stmt *q;
	if (sqlite3_prepare_v2(c->db, sql, -1, &q, NULL) != SQLITE_OK)
		return db_error(c, err, "cannot read catalogue");
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		int64_t v = sqlite3_column_int64(q, 1);
		if (sqlite3_column_count(q) > 2) { /* the tracks' map */
			if (v < 0 || v > TRACK_ROWID) {
				sqlite3_finalize(q);
				return seg_error_set(err, SEG_EDB, "track id %lld out of range", (long long)v);
			}
			if (sqlite3_column_int(q, 2))
				v |= HAS_FEATURES_BIT;
		}
		if (strmap_put(m, (const char *)sqlite3_column_text(q, 0), v) < 0) {
			sqlite3_finalize(q);
			return seg_error_set(err, SEG_ENOMEM, "out of memory");
		}
	}
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? 0 : db_error(c, err, "cannot read catalogue");
}

/* ---- the search index of a new catalogue ----
 * Built at commit by one INSERT ... SELECT, it was the last and longest
 * part of a new catalogue's commit, on one core, while the second core
 * mostly waits during the load (the parser keeps ahead of the writer).
 * So a new catalogue's tracks are handed to a search_load as they are
 * inserted, with the name and artists that the statement at commit would
 * read, and its thread indexes them during the load. That holds while no
 * later row changes a handed track's search row: a merge that may fill
 * its name marks the index stale, and so does any track_artists row
 * beyond those the handed tracks came with (counted at commit). A stale
 * index is dropped and the search index built as before, so that the
 * catalogue is the same either way. */

/* Starts c->sl for the session's new catalogue; without one (no thread),
 * the index is built at commit. */
static void search_load_begin(catalog *c)
{
	sqlite3_stmt *q = NULL;
	seg_error ignored = {0};
	if (sqlite3_prepare_v2(c->db, "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'track_search'",
	                       -1, &q, NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0) != NULL &&
	    search_load_start(&c->sl, (const char *)sqlite3_column_text(q, 0), &ignored) == 0) {
		c->sl_links = 0;
		c->sl_stale = 0;
	}
	sqlite3_finalize(q);
}

/* Hands new track `id` to c->sl: its name (NULL or empty: NULL) and its
 * artists, joined as the search index joins them (", ", in credit order,
 * each artist once, as track_artists keeps them; NULL when none). */
static int search_load_track(catalog *c, int64_t id, const char *name, const char *const *artists, int nartists,
                             seg_error *err)
{
	strbuf *buf = &c->sl_artists;
	strbuf_reset(buf);
	int links = 0;
	for (int i = 0; i < nartists; i++) {
		int seen = 0;
		for (int k = 0; k < i && !seen; k++)
			seen = strcmp(artists[k], artists[i]) == 0;
		if (seen)
			continue;
		if (links++ > 0)
			strbuf_append(buf, ", ", 2);
		strbuf_puts(buf, artists[i]);
	}
	if (buf->oom)
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	c->sl_links += links;
	return search_load_put(c->sl, id, name != NULL && *name ? name : NULL, links ? strbuf_cstr(buf) : NULL, err);
}

/* Whether c->sl holds the search rows the catalogue has now: nothing
 * marked it stale and track_artists has only the handed tracks' rows. */
static int search_load_current(catalog *c)
{
	sqlite3_stmt *q = NULL;
	int current = 0;
	if (c->sl != NULL && !c->sl_stale &&
	    sqlite3_prepare_v2(c->db, "SELECT count(*) FROM track_artists", -1, &q, NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW)
		current = sqlite3_column_int64(q, 0) == c->sl_links;
	sqlite3_finalize(q);
	return current;
}

int catalog_begin(catalog *c, seg_error *err)
{
	if (!c->writable)
		return seg_error_set(err, SEG_EREADONLY, "catalogue opened read-only");
	if (sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return db_error(c, err, "cannot start a transaction");
	c->in_session = 1;
	/* Loading into an empty catalogue: secondary indexes are cheaper built
	 * once, by sorting, at commit than kept up to date row by row. */
	sqlite3_stmt *q;
	int empty = 0;
	if (sqlite3_prepare_v2(c->db, "SELECT NOT EXISTS(SELECT 1 FROM tracks)", -1, &q, NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW)
		empty = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	if (empty && sqlite3_exec(c->db,
	                          "DROP INDEX IF EXISTS track_artists_artist; DROP INDEX IF EXISTS track_genres_genre;"
	                          "DROP INDEX IF EXISTS playlist_tracks_track; DROP INDEX IF EXISTS rejects_reason;",
	                          NULL, NULL, NULL) != SQLITE_OK)
		return db_error(c, err, "cannot prepare the catalogue for loading");
	c->first_new = INT64_MAX;
	if (sqlite3_prepare_v2(c->db, "SELECT coalesce(max(id), 0) + 1 FROM tracks", -1, &q, NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW)
		c->first_new = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	if (c->first_new == INT64_MAX)
		return db_error(c, err, "cannot read the catalogue");
	if (empty && c->load && c->sl == NULL)
		search_load_begin(c);
	if (c->tracks == NULL) {
		c->tracks = strmap_create();
		c->artists = strmap_create();
		c->genres = strmap_create();
		c->playlists = strmap_create();
		c->members = pairmap_create();
		if (!c->tracks || !c->artists || !c->genres || !c->playlists || !c->members)
			return seg_error_set(err, SEG_ENOMEM, "out of memory");
		int rc;
		if ((rc = load_map(c, c->tracks, "SELECT spotify_id, id, has_features FROM tracks", err)) < 0 ||
		    (rc = load_map(c, c->artists, "SELECT name, id FROM artists", err)) < 0 ||
		    (rc = load_map(c, c->genres, "SELECT name, id FROM genres", err)) < 0)
			return rc;
	}
	return 0;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static int search_reindex(catalog *c, int64_t id, seg_error *err);

/* The session's new tracks are indexed in one statement, older ones that
 * it merged rows into are indexed again, now that all their artists are
 * known (the link rows are written). */
static int search_build(catalog *c, seg_error *err)
{
	int rc;
	sqlite3_stmt *s = stmt(c, ST_SEARCH_NEW, err);
	if (s == NULL)
		return SEG_EDB;
	sqlite3_bind_int64(s, 1, c->first_new);
	if ((rc = run(c, s, err, "cannot index tracks")) < 0)
		return rc;
	if (c->ndirty > 1)
		qsort(c->dirty, c->ndirty, sizeof(int64_t), cmp_i64);
	for (size_t i = 0; i < c->ndirty; i++) {
		if (i > 0 && c->dirty[i] == c->dirty[i - 1])
			continue;
		if ((rc = search_reindex(c, c->dirty[i], err)) < 0)
			return rc;
	}
	c->ndirty = 0;
	return 0;
}

/* Recreates any index that begin dropped. */
static int indexes_build(catalog *c, seg_error *err)
{
	char *msg = NULL;
	if (index_exec(c, CATALOG_SCHEMA_SQL, &msg) != SQLITE_OK) {
		int rc = seg_error_set(err, SEG_EDB, "cannot index the catalogue: %s", msg ? msg : "?");
		sqlite3_free(msg);
		return rc;
	}
	return 0;
}

int catalog_commit(catalog *c, seg_error *err) { return catalog_commit_then(c, NULL, NULL, NULL, err); }

/* The derived files' thread of catalog_commit_then: a read-only connection
 * of its own to the committed temporary. */
typedef struct after_job {
	const char *path;
	catalog_after_fn fn;
	void *arg;
	int rc;
	seg_error err;
} after_job;

static void *after_main(void *p)
{
	after_job *j = p;
	sqlite3 *db = NULL;
	if (sqlite3_open_v2(j->path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		j->rc = seg_error_set(&j->err, SEG_EDB, "cannot open %s: %s", j->path,
		                      db ? sqlite3_errmsg(db) : "out of memory");
	} else {
		/* The index and search index commits hold the file a moment. */
		sqlite3_busy_timeout(db, 600000);
		j->rc = j->fn(db, j->arg, &j->err);
	}
	sqlite3_close(db);
	return NULL;
}

/* Makes the committed temporary the catalogue: fsync, rename, fsync of the
 * directory. */
static int temp_publish(catalog *c, seg_error *err)
{
	int fd = open(c->tmp, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return seg_error_set(err, SEG_EIO, "cannot sync %s: %s", c->tmp, strerror(e));
	}
	close(fd);
	if (rename(c->tmp, c->path) < 0)
		return seg_error_set(err, SEG_EIO, "cannot rename %s to %s: %s", c->tmp, c->path, strerror(errno));
	c->load = 0;
	return atomicfile_sync_dir(c->path, err);
}

int catalog_commit_then(catalog *c, catalog_after_fn after, void *arg, int *committed, seg_error *err)
{
	if (committed)
		*committed = 0;
	int rc = batch_flush_all(c, err);
	if (rc < 0)
		return rc;
	if (!c->load) {
		if ((rc = search_build(c, err)) < 0 || (rc = indexes_build(c, err)) < 0)
			return rc;
		sqlite3_exec(c->db, "PRAGMA optimize", NULL, NULL, NULL);
		if (sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
			return db_error(c, err, "cannot commit");
		c->in_session = 0;
		if (committed)
			*committed = 1;
		return after ? after(c->db, arg, err) : 0;
	}
	/* A new catalogue: the tables are committed to the temporary, then the
	 * derived files are read from them on a thread of their own while this
	 * one builds the indexes and stores the search index (built beside the
	 * load, or now when that one is stale), in transactions that `after`
	 * never sees half-done: nothing it reads changes there, and it needs
	 * none of the indexes. The loader's thread commits its index
	 * meanwhile. The tracks' UNIQUE constraint is written in the schema
	 * last (sid_constraint_make). */
	int loaded = search_load_current(c);
	if (loaded && (rc = search_load_end(c->sl, err)) < 0)
		return rc;
	if (sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		return db_error(c, err, "cannot commit");
	c->in_session = 0;
	if (!loaded) { /* stale: its thread need not go on */
		search_load_free(c->sl);
		c->sl = NULL;
	}
	after_job job = {.path = c->tmp, .fn = after, .arg = arg};
	pthread_t th;
	int threaded = after != NULL && pthread_create(&th, NULL, after_main, &job) == 0;
	/* A writer needs the file to itself to write pages, and waits, on the
	 * busy handler, for the reader's read transaction to end; a reader
	 * never sees a page change under it, and its next read waits for the
	 * writer's commit. The index pages are kept in memory until the commit
	 * (cache_spill off): spilled when they outgrow the cache, the build
	 * waited for the reader at its first spill, which at Million Playlist
	 * Dataset size cost more time than the memory it saved was worth (the
	 * README's "whole path at MPD size" has both). */
	sqlite3_busy_timeout(c->db, 600000);
	if (sqlite3_exec(c->db, "PRAGMA cache_spill=OFF; BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		rc = db_error(c, err, "cannot start a transaction");
	else {
		c->in_session = 1;
		if ((!c->sid_deferred || (rc = sid_index_build(c, err)) == 0) && (rc = indexes_build(c, err)) == 0) {
			if (sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
				rc = db_error(c, err, "cannot commit");
			else
				c->in_session = 0;
		}
	}
	/* The index built beside the load is copied in on its connection, in
	 * a transaction of its own (the file has one writer at a time). */
	char analyze[512] = "";
	if (rc == 0 && loaded && (rc = search_load_finish(c->sl, c->tmp, err)) == 0)
		snprintf(analyze, sizeof analyze, "%s", search_load_analyze_sql(c->sl));
	search_load_free(c->sl);
	c->sl = NULL;
	if (rc < 0) {
		/* the catalogue is not published */
	} else if (sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		rc = db_error(c, err, "cannot start a transaction");
	} else {
		c->in_session = 1;
		/* PRAGMA optimize analyzes the tables that this connection's
		 * statements used: the build at commit prepared this one, so it is
		 * prepared (not run) for the catalogue to keep the same statistics,
		 * and the FTS5 tables are analyzed as FTS5's own statements would
		 * have had them analyzed (search_load_analyze_sql). */
		if (loaded && stmt(c, ST_SEARCH_NEW, err) == NULL)
			rc = SEG_EDB;
		else if (loaded && sqlite3_exec(c->db, analyze, NULL, NULL, NULL) != SQLITE_OK)
			rc = db_error(c, err, "cannot analyze the search index");
		else if (!loaded)
			rc = search_build(c, err);
		if (rc == 0) {
			sqlite3_exec(c->db, "PRAGMA optimize", NULL, NULL, NULL);
			if (sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
				rc = db_error(c, err, "cannot commit");
			else
				c->in_session = 0;
		}
	}
	/* A failed write gives up its locks first: one left waiting for its
	 * lock would keep the reader's next read waiting too. */
	if (rc < 0)
		catalog_rollback(c);
	if (threaded)
		pthread_join(th, NULL);
	else if (after != NULL && rc == 0)
		after_main(&job);
	sqlite3_busy_timeout(c->db, 5000);
	sqlite3_exec(c->db, "PRAGMA cache_spill=ON", NULL, NULL, NULL);
	if (rc == 0 && c->sid_deferred)
		rc = sid_constraint_make(c, err);
	if (rc < 0 || (rc = temp_publish(c, err)) < 0)
		return rc;
	if (committed)
		*committed = 1;
	if (job.rc < 0 && err != NULL)
		*err = job.err;
	return job.rc;
}

void catalog_rollback(catalog *c)
{
	if (!c->in_session)
		return;
	sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	c->in_session = 0;
	c->ndirty = 0;
	memset(c->nqueued, 0, sizeof c->nqueued);
	search_load_free(c->sl);
	c->sl = NULL;
	c->last_pl_ok = 0;
	/* The maps may now name rows that no longer exist. */
	strmap_free(c->tracks);
	strmap_free(c->artists);
	strmap_free(c->genres);
	strmap_free(c->playlists);
	pairmap_free(c->members);
	c->tracks = c->artists = c->genres = c->playlists = NULL;
	c->members = NULL;
}

int catalog_ingest_start(catalog *c, const char *file, const char *variant, int synthetic, int64_t *ingest_id,
                         seg_error *err)
{
	sqlite3_stmt *q;
	if (sqlite3_prepare_v2(c->db,
	                       "INSERT INTO ingests(file,variant,started_at,synthetic)"
	                       " VALUES(?1,?2,strftime('%Y-%m-%dT%H:%M:%SZ','now'),?3)",
	                       -1, &q, NULL) != SQLITE_OK)
		return db_error(c, err, "cannot record the ingest");
	sqlite3_bind_text(q, 1, file, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(q, 2, variant, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(q, 3, synthetic);
	int rc = sqlite3_step(q);
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE)
		return db_error(c, err, "cannot record the ingest");
	*ingest_id = sqlite3_last_insert_rowid(c->db);
	return 0;
}

int catalog_ingest_finish(catalog *c, int64_t ingest_id, const catalog_counts *n, double seconds, seg_error *err)
{
	sqlite3_stmt *q;
	if (sqlite3_prepare_v2(c->db,
	                       "UPDATE ingests SET seconds=?2, rows_read=?3, rows_accepted=?4, new_tracks=?5,"
	                       " merged=?6, rows_rejected=?7, values_dropped=?8, playlists=?9,"
	                       " playlist_entries=?10, synthetic=?11 WHERE id=?1",
	                       -1, &q, NULL) != SQLITE_OK)
		return db_error(c, err, "cannot record the ingest");
	sqlite3_bind_int64(q, 1, ingest_id);
	sqlite3_bind_double(q, 2, seconds);
	sqlite3_bind_int64(q, 3, n->rows_read);
	sqlite3_bind_int64(q, 4, n->rows_accepted);
	sqlite3_bind_int64(q, 5, n->new_tracks);
	sqlite3_bind_int64(q, 6, n->merged);
	sqlite3_bind_int64(q, 7, n->rows_rejected);
	sqlite3_bind_int64(q, 8, n->values_dropped);
	sqlite3_bind_int64(q, 9, n->playlists);
	sqlite3_bind_int64(q, 10, n->playlist_entries);
	sqlite3_bind_int(q, 11, n->synthetic_rows > 0);
	int rc = sqlite3_step(q);
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? 0 : db_error(c, err, "cannot record the ingest");
}

static void bind_text_or_null(sqlite3_stmt *s, int i, const char *v)
{
	if (v != NULL && *v)
		sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, i);
}

static void bind_int_or_null(sqlite3_stmt *s, int i, long v)
{
	if (v >= 0)
		sqlite3_bind_int64(s, i, v);
	else
		sqlite3_bind_null(s, i);
}

static void bind_double_or_null(sqlite3_stmt *s, int i, double v)
{
	if (isnan(v))
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_double(s, i, v);
}

/* Finds or creates the row for `name` in an artists/genres-like table. */
static int intern(catalog *c, strmap *m, enum stmt_id ins, const char *name, int64_t *id, seg_error *err)
{
	if (strmap_get(m, name, id))
		return 0;
	sqlite3_stmt *s = stmt(c, ins, err);
	if (s == NULL)
		return SEG_EDB;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	int rc = run(c, s, err, "cannot insert");
	if (rc < 0)
		return rc;
	*id = sqlite3_last_insert_rowid(c->db);
	if (strmap_put(m, name, *id) < 0)
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	return 0;
}

static int search_reindex(catalog *c, int64_t id, seg_error *err)
{
	sqlite3_stmt *s = stmt(c, ST_SEARCH_DELETE, err);
	if (s == NULL)
		return SEG_EDB;
	sqlite3_bind_int64(s, 1, id);
	int rc = run(c, s, err, "cannot index track");
	if (rc < 0 || (s = stmt(c, ST_SEARCH_REINDEX, err)) == NULL)
		return rc < 0 ? rc : SEG_EDB;
	sqlite3_bind_int64(s, 1, id);
	return run(c, s, err, "cannot index track");
}

static int mark_dirty(catalog *c, int64_t id, seg_error *err)
{
	if (id >= c->first_new)
		return 0; /* indexed at commit with every new track */
	int64_t *d = array_grow(c->dirty, &c->cap_dirty, c->ndirty + 1, sizeof(int64_t), 1024);
	if (d == NULL)
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	c->dirty = d;
	c->dirty[c->ndirty++] = id;
	return 0;
}

/* The rest of catalog_put_track for track `id`: its artists and genres (the
 * link rows queued), and its search entry marked for rebuilding when the
 * track is older than the session. */
static int put_links(catalog *c, const track_rec *t, int64_t id, int64_t *rowid, seg_error *err)
{
	int rc;
	for (int i = 0; i < t->nartists; i++) {
		int64_t aid;
		if ((rc = intern(c, c->artists, ST_ARTIST_INSERT, t->artists[i], &aid, err)) < 0)
			return rc;
		if ((rc = batch_put(c, BT_ARTIST, id, aid, i, err)) < 0)
			return rc;
	}
	for (int i = 0; i < t->ngenres; i++) {
		int64_t gid;
		if ((rc = intern(c, c->genres, ST_GENRE_INSERT, t->genres[i], &gid, err)) < 0)
			return rc;
		if ((rc = batch_put(c, BT_GENRE, id, gid, t->genre_heldout[i] != 0, err)) < 0)
			return rc;
	}
	if ((rc = mark_dirty(c, id, err)) < 0)
		return rc;
	*rowid = id;
	return 0;
}

/* The TRACK_F_* bits of the fields that row t would store non-NULL (as the
 * bind_*_or_null calls of catalog_put_track decide). */
static int64_t track_fields(const track_rec *t)
{
	return (int64_t)(t->name != NULL && *t->name) << TRACK_F_NAME |
	       (int64_t)(t->album != NULL && *t->album) << TRACK_F_ALBUM |
	       (int64_t)(t->album_id != NULL && *t->album_id) << TRACK_F_ALBUM_ID |
	       (int64_t)(t->release_date[0] != '\0') << TRACK_F_RELEASE_DATE | (int64_t)(t->year >= 0) << TRACK_F_YEAR |
	       (int64_t)(t->popularity >= 0) << TRACK_F_POPULARITY |
	       (int64_t)(t->duration_ms >= 0) << TRACK_F_DURATION | (int64_t)(t->explicit_ >= 0) << TRACK_F_EXPLICIT |
	       (int64_t)(t->time_signature >= 0) << TRACK_F_TIME_SIGNATURE | (int64_t)(t->hit >= 0) << TRACK_F_HIT |
	       (int64_t)(t->synthetic != 0) << TRACK_F_SYNTHETIC;
}

int catalog_put_track(catalog *c, const track_rec *t, int64_t ingest_id, int *merged, int64_t *rowid, seg_error *err)
{
	int64_t v = 0;
	int exists = strmap_get(c->tracks, t->id, &v);
	*merged = exists && (v & HAS_FEATURES_BIT);
	int64_t fields = track_fields(t);
	/* ST_TRACK_UPDATE keeps the features of a track that has them and
	 * fills only NULLs (synthetic only goes up): with every field this row
	 * has already stored, it would write the row as it is. Its artists and
	 * genres are still merged (put_links). */
	if (exists && (v & TRACK_KNOWN_BIT) && (v & HAS_FEATURES_BIT) && (fields & ~v) == 0)
		return put_links(c, t, v & TRACK_ROWID, rowid, err);
	sqlite3_stmt *s = stmt(c, exists ? ST_TRACK_UPDATE : ST_TRACK_INSERT, err);
	if (s == NULL)
		return SEG_EDB;
	sqlite3_bind_text(s, 1, t->id, -1, SQLITE_STATIC);
	bind_text_or_null(s, 2, t->name);
	bind_text_or_null(s, 3, t->album);
	bind_text_or_null(s, 4, t->album_id);
	bind_text_or_null(s, 5, t->release_date);
	bind_int_or_null(s, 6, t->year);
	bind_int_or_null(s, 7, t->popularity);
	bind_int_or_null(s, 8, t->duration_ms);
	bind_int_or_null(s, 9, t->explicit_);
	for (int f = 0; f < TF__AUDIO; f++) {
		if (f == TF_KEY || f == TF_MODE) {
			if (isnan(t->audio[f]))
				sqlite3_bind_null(s, 10 + f);
			else
				sqlite3_bind_int(s, 10 + f, (int)t->audio[f]);
		} else {
			bind_double_or_null(s, 10 + f, t->audio[f]);
		}
	}
	bind_int_or_null(s, 21, t->time_signature);
	bind_int_or_null(s, 22, t->hit);
	sqlite3_bind_int(s, 23, t->has_audio);
	sqlite3_bind_int(s, 24, t->synthetic);
	if (exists)
		sqlite3_bind_int64(s, 26, v & TRACK_ROWID);
	else
		sqlite3_bind_int64(s, 25, ingest_id);
	int rc = run(c, s, err, "cannot store track");
	if (rc < 0)
		return rc;
	int64_t id = exists ? (v & TRACK_ROWID) : sqlite3_last_insert_rowid(c->db);
	if (id < 0 || id > TRACK_ROWID)
		return seg_error_set(err, SEG_EDB, "track id %lld out of range", (long long)id);
	if (c->sl != NULL) {
		/* A name is filled only where none is stored: known for a track
		 * this session inserted (TRACK_F_NAME), not for one it referenced. */
		if (!exists)
			rc = search_load_track(c, id, t->name, t->artists, t->nartists, err);
		else if ((fields >> TRACK_F_NAME & 1) && !((v & TRACK_KNOWN_BIT) && (v >> TRACK_F_NAME & 1)))
			c->sl_stale = 1;
		if (rc < 0)
			return rc;
	}
	/* What is stored now: the fields a known track had and this row's. */
	int64_t nv = exists ? v : id | TRACK_KNOWN_BIT;
	if (nv & TRACK_KNOWN_BIT)
		nv |= fields;
	if (t->has_audio)
		nv |= HAS_FEATURES_BIT;
	if (nv != v && strmap_put(c->tracks, t->id, nv) < 0)
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	return put_links(c, t, id, rowid, err);
}

int catalog_ref_track(catalog *c, const char *spotify_id, const char *name, const char *artist, int64_t ingest_id,
                      int64_t *rowid, seg_error *err)
{
	int64_t v;
	if (strmap_get(c->tracks, spotify_id, &v)) {
		*rowid = v & TRACK_ROWID;
		return 0;
	}
	sqlite3_stmt *s = stmt(c, ST_TRACK_REF, err);
	if (s == NULL)
		return SEG_EDB;
	sqlite3_bind_text(s, 1, spotify_id, -1, SQLITE_STATIC);
	bind_text_or_null(s, 2, name);
	sqlite3_bind_int64(s, 3, ingest_id);
	int rc = run(c, s, err, "cannot store track");
	if (rc < 0)
		return rc;
	int64_t id = sqlite3_last_insert_rowid(c->db);
	if (strmap_put(c->tracks, spotify_id, id) < 0)
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	if (c->sl != NULL && (rc = search_load_track(c, id, name, &artist, artist != NULL && *artist, err)) < 0)
		return rc;
	if (artist != NULL && *artist) {
		int64_t aid;
		if ((rc = intern(c, c->artists, ST_ARTIST_INSERT, artist, &aid, err)) < 0)
			return rc;
		if ((rc = batch_put(c, BT_ARTIST, id, aid, 0, err)) < 0)
			return rc;
	}
	*rowid = id;
	return 0;
}

int catalog_put_reject(catalog *c, int64_t ingest_id, const char *file, long line, const track_problem *p,
                       const char *action, seg_error *err)
{
	sqlite3_stmt *s = stmt(c, ST_REJECT, err);
	if (s == NULL)
		return SEG_EDB;
	sqlite3_bind_int64(s, 1, ingest_id);
	sqlite3_bind_text(s, 2, file, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, line);
	bind_text_or_null(s, 4, p->column);
	if (p->value != NULL)
		sqlite3_bind_text(s, 5, p->value, (int)strnlen(p->value, 200), SQLITE_STATIC);
	sqlite3_bind_text(s, 6, p->reason, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 7, p->detail, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 8, action, -1, SQLITE_STATIC);
	return run(c, s, err, "cannot store reject");
}

/* Playlist-map values: the rowid, and which fields are stored non-NULL, so
 * that a row that can fill nothing (track tables name the playlist on every
 * row) costs no UPDATE. */
#define PL_NAME ((int64_t)1 << 62)
#define PL_DESC ((int64_t)1 << 61)
#define PL_FOLLOWERS ((int64_t)1 << 60)
#define PL_SYNTH ((int64_t)1 << 59)
#define PL_ID (PL_SYNTH - 1)

/* The playlist map's key "source US external_id" into buf[cap]; 0 when it
 * does not fit or would be ambiguous (then the playlist is looked up in SQL). */
static int playlist_key(char *buf, size_t cap, const char *source, const char *external_id)
{
	if (strchr(source, '\x1f') != NULL)
		return 0;
	int n = snprintf(buf, cap, "%s\x1f%s", source, external_id);
	return n > 0 && (size_t)n < cap;
}

int catalog_put_playlist(catalog *c, const char *source, const char *external_id, const char *name,
                         const char *description, long followers, int synthetic, int64_t *rowid, int *created,
                         seg_error *err)
{
	int64_t want = (name && *name ? PL_NAME : 0) | (description && *description ? PL_DESC : 0) |
	               (followers >= 0 ? PL_FOLLOWERS : 0) | (synthetic ? PL_SYNTH : 0);
	/* The playlist of the row before, with nothing to fill: no lookup. */
	if (c->last_pl_ok && (want & ~c->last_pl) == 0 && strcmp(c->last_pl_external, external_id) == 0 &&
	    strcmp(c->last_pl_source, source) == 0) {
		if (created)
			*created = 0;
		*rowid = c->last_pl & PL_ID;
		return 0;
	}
	c->last_pl_ok = 0;
	char key[512];
	int cached = playlist_key(key, sizeof key, source, external_id);
	int64_t v = 0, id;
	int rc, found;
	if (cached && strmap_get(c->playlists, key, &v)) {
		found = 1;
	} else {
		sqlite3_stmt *s = stmt(c, ST_PLAYLIST_FIND, err);
		if (s == NULL)
			return SEG_EDB;
		sqlite3_bind_text(s, 1, source, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, external_id, -1, SQLITE_STATIC);
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW)
			v = sqlite3_column_int64(s, 0) | (sqlite3_column_int(s, 1) ? PL_NAME : 0) |
			    (sqlite3_column_int(s, 2) ? PL_DESC : 0) | (sqlite3_column_int(s, 3) ? PL_FOLLOWERS : 0) |
			    (sqlite3_column_int(s, 4) ? PL_SYNTH : 0);
		sqlite3_reset(s);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			return db_error(c, err, "cannot look up playlist");
		found = rc == SQLITE_ROW;
	}
	if (created)
		*created = !found;
	if (found) {
		id = v & PL_ID;
		/* coalesce() fills only what is NULL: nothing to do when every
		 * field given is stored already. */
		if ((want & ~v) != 0) {
			sqlite3_stmt *s = stmt(c, ST_PLAYLIST_UPDATE, err);
			if (s == NULL)
				return SEG_EDB;
			sqlite3_bind_int64(s, 1, id);
			bind_text_or_null(s, 2, name);
			bind_text_or_null(s, 3, description);
			bind_int_or_null(s, 4, followers);
			sqlite3_bind_int(s, 5, synthetic);
			if ((rc = run(c, s, err, "cannot store playlist")) < 0)
				return rc;
			v |= want;
		}
	} else {
		sqlite3_stmt *s = stmt(c, ST_PLAYLIST_INSERT, err);
		if (s == NULL)
			return SEG_EDB;
		sqlite3_bind_text(s, 1, source, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, external_id, -1, SQLITE_STATIC);
		bind_text_or_null(s, 3, name);
		bind_text_or_null(s, 4, description);
		bind_int_or_null(s, 5, followers);
		sqlite3_bind_int(s, 6, synthetic);
		if ((rc = run(c, s, err, "cannot store playlist")) < 0)
			return rc;
		id = sqlite3_last_insert_rowid(c->db);
		v = id | want;
	}
	if (cached && strmap_put(c->playlists, key, v) < 0)
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	size_t ls = strlen(source), le = strlen(external_id);
	if (ls < sizeof c->last_pl_source && le < sizeof c->last_pl_external) {
		memcpy(c->last_pl_source, source, ls + 1);
		memcpy(c->last_pl_external, external_id, le + 1);
		c->last_pl = v;
		c->last_pl_ok = 1;
	}
	*rowid = id;
	return 0;
}

int catalog_put_playlist_track(catalog *c, int64_t playlist, long pos, int64_t track, seg_error *err)
{
	int rc = entry_put(c, BT_ENTRY_AT, playlist, pos, track, err);
	if (rc < 0)
		return rc;
	/* An entry put by position may replace a member the map holds: such a
	 * playlist is asked in SQL from now on (no export fills one playlist
	 * both ways; this keeps the answer right if one does). */
	int64_t next;
	if (c->members != NULL && pairmap_get(c->members, playlist, -1, &next) && next >= 0 &&
	    pairmap_put(c->members, playlist, -1, -1) < 0)
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	return 0;
}

/* Puts the stored members of `playlist` into the map and its next position
 * (after the largest stored one) into *next. */
static int members_load(catalog *c, int64_t playlist, int64_t *next, seg_error *err)
{
	int rc = entries_flush(c, err);
	if (rc < 0)
		return rc;
	sqlite3_stmt *s = stmt(c, ST_PLAYLIST_MEMBERS, err);
	if (s == NULL)
		return SEG_EDB;
	sqlite3_bind_int64(s, 1, playlist);
	*next = 0;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t pos = sqlite3_column_int64(s, 0);
		if (pos + 1 > *next)
			*next = pos + 1;
		if (pairmap_put(c->members, playlist, sqlite3_column_int64(s, 1), 1) < 0) {
			sqlite3_reset(s);
			return seg_error_set(err, SEG_ENOMEM, "out of memory");
		}
	}
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : db_error(c, err, "cannot read playlist entries");
}

int catalog_add_playlist_track(catalog *c, int64_t playlist, int64_t track, int *added, seg_error *err)
{
	int64_t next;
	int rc;
	*added = 0;
	if (c->members == NULL)
		return seg_error_set(err, SEG_EINVAL, "no write session");
	if (!pairmap_get(c->members, playlist, -1, &next)) {
		if ((rc = members_load(c, playlist, &next, err)) < 0)
			return rc;
		if (pairmap_put(c->members, playlist, -1, next) < 0)
			return seg_error_set(err, SEG_ENOMEM, "out of memory");
	}
	sqlite3_stmt *s;
	if (next < 0) { /* see catalog_put_playlist_track */
		if ((rc = entries_flush(c, err)) < 0)
			return rc;
		if ((s = stmt(c, ST_PLAYLIST_ADD, err)) == NULL)
			return SEG_EDB;
		sqlite3_bind_int64(s, 1, playlist);
		sqlite3_bind_int64(s, 2, track);
		rc = run(c, s, err, "cannot store playlist entry");
		*added = rc == 0 && sqlite3_changes(c->db) > 0;
		return rc;
	}
	/* A set: a track already in it is not added again. (Should queuing
	 * the entry fail, the map names a member that was not written; the
	 * error ends the session, and a rollback drops the map.) */
	if ((rc = pairmap_add(c->members, playlist, track, 1)) <= 0)
		return rc == 0 ? 0 : seg_error_set(err, SEG_ENOMEM, "out of memory");
	if ((rc = entry_put(c, BT_ENTRY, playlist, next, track, err)) < 0)
		return rc;
	if (pairmap_put(c->members, playlist, -1, next + 1) < 0)
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	*added = 1;
	return 0;
}

/* ---- the evaluation split ---- */

enum catalog_split catalog_playlist_split(const char *source, const char *external_id)
{
	char key[256];
	int n = snprintf(key, sizeof key, "%s:%s", source, external_id);
	size_t len = (size_t)(n < 0 ? 0 : n) < sizeof key ? (size_t)(n < 0 ? 0 : n) : sizeof key - 1;
	switch (XXH64(key, len, 0x5e9e) % CATALOG_SPLIT_MODULUS) {
	case 0: return CATALOG_SPLIT_TEST;
	case 1: return CATALOG_SPLIT_VALID;
	default: return CATALOG_SPLIT_TRAIN;
	}
}
