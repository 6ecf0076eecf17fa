/* playlist.c: MPD JSON slices and playlist CSVs (see playlist.h). */
#include "ingest/playlist.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/bytesrc.h"
#include "ingest/track.h"

const char *const reject_reason_names[RR__COUNT] = {
	"field_count", "missing", "unparseable", "out_of_range", "bad_id", "too_long", "nul_byte",
};

int reject_reason_index(const char *name)
{
	for (int i = 0; i < RR__COUNT; i++)
		if (strcmp(reject_reason_names[i], name) == 0)
			return i;
	return RR_UNPARSEABLE;
}

static int col(char *const *header, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(header[i], name) == 0)
			return (int)i;
	return -1;
}

enum playlist_csv_kind playlist_csv_detect(playlist_csv *pc, char *const *header, size_t n)
{
	memset(pc, 0, sizeof(*pc));
	pc->nfields = n;
	pc->pid = col(header, n, "pid");
	pc->name = col(header, n, "name");
	pc->description = col(header, n, "description");
	pc->followers = col(header, n, "num_followers");
	pc->source_slice = col(header, n, "source_slice");
	pc->pos = col(header, n, "pos");
	pc->track_id = col(header, n, "track_id");
	if (pc->track_id < 0)
		pc->track_id = col(header, n, "track_uri");
	pc->artist_name = col(header, n, "artist_name");
	pc->track_name = col(header, n, "track_name");
	if (pc->pid >= 0 && pc->pos >= 0 && pc->track_id >= 0)
		pc->kind = PLAYLIST_CSV_ENTRIES;
	else if (pc->pid >= 0 && pc->name >= 0 && pc->followers >= 0)
		pc->kind = PLAYLIST_CSV_PLAYLISTS;
	else
		pc->kind = PLAYLIST_CSV_NONE;
	return pc->kind;
}

static int reject(catalog *c, int64_t ingest_id, const char *file, long line, const char *column, const char *value,
                  enum reject_reason r, const char *detail, catalog_counts *n, long reasons[], seg_error *err)
{
	n->rows_rejected++;
	reasons[r]++;
	if (c == NULL)
		return 0;
	track_problem p = {.column = column, .reason = reject_reason_names[r], .value = value};
	snprintf(p.detail, sizeof p.detail, "%s", detail);
	return catalog_put_reject(c, ingest_id, file, line, &p, "row", err);
}

int playlist_csv_row(catalog *c, const playlist_csv *pc, const csv_record *rec, const char *file, int64_t ingest_id,
                     catalog_counts *n, long reasons[], seg_error *err)
{
	char detail[160];
	n->rows_read++;
	if (rec->over_limit != CSV_LIMIT_NONE) {
		csv_limit_describe(rec, detail, sizeof detail);
		return reject(c, ingest_id, file, rec->line, NULL, NULL, RR_TOO_LONG, detail, n, reasons, err);
	}
	if (rec->nfields != pc->nfields) {
		snprintf(detail, sizeof detail, "row has %zu fields, the header has %zu", rec->nfields, pc->nfields);
		return reject(c, ingest_id, file, rec->line, NULL, NULL, RR_FIELD_COUNT, detail, n, reasons, err);
	}
	if (rec->nul_field >= 0) {
		const char *names[] = {"pid", "name",     "description", "num_followers", "source_slice",
		                       "pos", "track_id", "artist_name", "track_name"};
		const int cols[] = {pc->pid, pc->name,     pc->description, pc->followers, pc->source_slice,
		                    pc->pos, pc->track_id, pc->artist_name, pc->track_name};
		const char *column = NULL;
		for (size_t i = 0; i < sizeof cols / sizeof *cols && column == NULL; i++)
			if (cols[i] == rec->nul_field)
				column = names[i];
		snprintf(detail, sizeof detail, "field %d of %zu%s%s%s holds a NUL byte", rec->nul_field + 1,
		         rec->nfields, column ? " (" : "", column ? column : "", column ? ")" : "");
		return reject(c, ingest_id, file, rec->line, column, rec->fields[rec->nul_field], RR_NUL_BYTE, detail,
		              n, reasons, err);
	}
	const char *pid = rec->fields[pc->pid];
	if (*pid == '\0')
		return reject(c, ingest_id, file, rec->line, "pid", NULL, RR_MISSING, "the playlist id is empty", n,
		              reasons, err);
	const char *source = pc->synthetic ? "synthetic" : "mpd";
	int64_t plid = 0;
	int rc, created = 0;
	if (pc->kind == PLAYLIST_CSV_PLAYLISTS) {
		long followers = -1;
		if (pc->followers >= 0 && track_parse_long(rec->fields[pc->followers], &followers) < 0)
			followers = -1;
		int synthetic = pc->source_slice >= 0 && strcmp(rec->fields[pc->source_slice], "synthetic") == 0;
		source = synthetic ? "synthetic" : "mpd";
		const char *desc = pc->description >= 0 ? rec->fields[pc->description] : NULL;
		if (c != NULL && (rc = catalog_put_playlist(c, source, pid, rec->fields[pc->name], desc, followers,
		                                            synthetic, &plid, &created, err)) < 0)
			return rc;
		n->rows_accepted++;
		n->playlists += c == NULL || created;
		return 0;
	}
	/* An entry. */
	long pos;
	if (track_parse_long(rec->fields[pc->pos], &pos) < 0 || pos < 0) {
		snprintf(detail, sizeof detail, "position '%.40s' is not a whole number >= 0", rec->fields[pc->pos]);
		return reject(c, ingest_id, file, rec->line, "pos", rec->fields[pc->pos], RR_UNPARSEABLE, detail, n,
		              reasons, err);
	}
	char id[TRACK_ID_LEN + 1];
	if (track_parse_id(rec->fields[pc->track_id], id) < 0)
		return reject(c, ingest_id, file, rec->line, "track_id", rec->fields[pc->track_id], RR_BAD_ID,
		              "not a Spotify track id (22 base-62 characters)", n, reasons, err);
	n->rows_accepted++;
	n->playlist_entries++;
	if (c == NULL)
		return 0;
	int64_t tid;
	const char *tname = pc->track_name >= 0 ? rec->fields[pc->track_name] : NULL;
	const char *aname = pc->artist_name >= 0 ? rec->fields[pc->artist_name] : NULL;
	if ((rc = catalog_ref_track(c, id, tname, aname, ingest_id, &tid, err)) < 0)
		return rc;
	/* Entries may arrive before (or without) their playlists file. */
	if ((rc = catalog_put_playlist(c, source, pid, NULL, NULL, -1, pc->synthetic, &plid, &created, err)) < 0)
		return rc;
	n->playlists += created;
	return catalog_put_playlist_track(c, plid, pos, tid, err);
}

/* Feeds jansson from a bytesrc, so .json.zst works too. */
typedef struct json_feed {
	bytesrc *src;
	progress *prog;
	seg_error *err;
	int failed;
} json_feed;

static size_t json_read(void *buf, size_t cap, void *data)
{
	json_feed *f = data;
	ssize_t n = bytesrc_read(f->src, buf, cap, f->err);
	if (n < 0) {
		f->failed = 1;
		return (size_t)-1;
	}
	if (f->prog)
		progress_update(f->prog, bytesrc_consumed(f->src));
	return (size_t)n;
}

static const char *jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s && *s ? s : NULL;
}

int playlist_ingest_json(catalog *c, const char *path, int64_t ingest_id, catalog_counts *n, long reasons[],
                         progress *prog, seg_error *err)
{
	json_feed feed = {.prog = prog, .err = err};
	int rc = bytesrc_open(&feed.src, path, err);
	if (rc < 0)
		return rc;
	if (prog)
		prog->total = bytesrc_size(feed.src);
	json_error_t jerr;
	json_t *root = json_load_callback(json_read, &feed, 0, &jerr);
	bytesrc_close(feed.src);
	if (root == NULL) {
		if (feed.failed)
			return err ? err->code : SEG_EIO;
		seg_error_set(err, SEG_EFORMAT, "not valid JSON: %s", jerr.text);
		seg_error_at(err, path, jerr.line, jerr.column);
		return SEG_EFORMAT;
	}
	json_t *pls = json_object_get(root, "playlists");
	if (!json_is_array(pls)) {
		json_decref(root);
		return seg_error_set(err, SEG_EFORMAT,
		                     "%s: no \"playlists\" array: not a Million Playlist Dataset slice", path);
	}
	size_t i;
	json_t *pl;
	json_array_foreach(pls, i, pl)
	{
		n->rows_read++;
		json_t *jpid = json_object_get(pl, "pid");
		json_t *tracks = json_object_get(pl, "tracks");
		if (!json_is_integer(jpid) || !json_is_array(tracks)) {
			char detail[160];
			snprintf(detail, sizeof detail, "playlist #%zu has no integer \"pid\" or no \"tracks\" array",
			         i);
			if ((rc = reject(c, ingest_id, path, 0, "pid", NULL, RR_MISSING, detail, n, reasons, err)) < 0)
				goto out;
			continue;
		}
		char pid[32];
		snprintf(pid, sizeof pid, "%lld", (long long)json_integer_value(jpid));
		json_t *jf = json_object_get(pl, "num_followers");
		long followers = json_is_integer(jf) ? (long)json_integer_value(jf) : -1;
		int64_t plid = 0;
		int created = 1;
		if (c != NULL && (rc = catalog_put_playlist(c, "mpd", pid, jstr(pl, "name"), jstr(pl, "description"),
		                                            followers, 0, &plid, &created, err)) < 0)
			goto out;
		n->rows_accepted++;
		n->playlists += created;
		size_t k;
		json_t *tr;
		json_array_foreach(tracks, k, tr)
		{
			char id[TRACK_ID_LEN + 1];
			const char *uri = jstr(tr, "track_uri");
			json_t *jpos = json_object_get(tr, "pos");
			long pos = json_is_integer(jpos) ? (long)json_integer_value(jpos) : (long)k;
			if (uri == NULL || track_parse_id(uri, id) < 0) {
				if ((rc = reject(c, ingest_id, path, 0, "track_uri", uri, RR_BAD_ID,
				                 "not a Spotify track URI", n, reasons, err)) < 0)
					goto out;
				continue;
			}
			n->playlist_entries++;
			if (c == NULL)
				continue;
			int64_t tid;
			if ((rc = catalog_ref_track(c, id, jstr(tr, "track_name"), jstr(tr, "artist_name"), ingest_id,
			                            &tid, err)) < 0 ||
			    (rc = catalog_put_playlist_track(c, plid, pos, tid, err)) < 0)
				goto out;
		}
	}
	rc = 0;
out:
	json_decref(root);
	return rc;
}
