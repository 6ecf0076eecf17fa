/* schema.c: Kaggle export recognition and row mapping (see schema.h).
 *
 * Each known export is described by its signature (columns that only it has)
 * and by the canonical columns it names differently; every other canonical
 * column is matched by its own name, since the Spotify audio-feature columns
 * are spelled the same in all of them. */
#include "ingest/schema.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* clang-format off */
const char *const schema_col_names[SC__COUNT] = {
	"danceability", "energy", "key", "loudness", "mode", "speechiness",
	"acousticness", "instrumentalness", "liveness", "valence", "tempo",
	"id", "name", "artists", "album", "album_id", "release_date", "year",
	"popularity", "duration_ms", "explicit", "time_signature", "genre",
	"subgenre", "genres", "playlist_id", "playlist_name", "hit", "synthetic",
};
/* clang-format on */

typedef struct col_rename {
	enum schema_col col;
	const char *header;
} col_rename;

typedef struct variant {
	const char *name;
	const char *title;
	const char *signature[4]; /* all must be present */
	const char *absent;       /* must not be present (or NULL) */
	col_rename renames[12];
	enum artist_style artists;
	const char *playlist_source;
} variant;

/* Order matters: a variant whose signature is a superset of another's comes first. */
/* clang-format off */
static const variant VARIANTS[] = {
	{"popularity_2024", "Spotify Music Dataset, high/low popularity (2024)",
	 {"track_href", "analysis_url", "playlist_genre", "track_id"}, NULL,
	 {{SC_ID, "track_id"}, {SC_NAME, "track_name"}, {SC_ARTISTS, "track_artist"},
	  {SC_POPULARITY, "track_popularity"}, {SC_ALBUM, "track_album_name"},
	  {SC_ALBUM_ID, "track_album_id"}, {SC_RELEASE_DATE, "track_album_release_date"},
	  {SC_GENRE, "playlist_genre"}, {SC_SUBGENRE, "playlist_subgenre"}},
	 ARTISTS_COMMA, "popularity_2024"},
	{"spotify_songs", "30000 Spotify Songs (TidyTuesday 2020-01-21)",
	 {"track_artist", "playlist_subgenre", "track_album_release_date", "track_id"}, "track_href",
	 {{SC_ID, "track_id"}, {SC_NAME, "track_name"}, {SC_ARTISTS, "track_artist"},
	  {SC_POPULARITY, "track_popularity"}, {SC_ALBUM, "track_album_name"},
	  {SC_ALBUM_ID, "track_album_id"}, {SC_RELEASE_DATE, "track_album_release_date"},
	  {SC_GENRE, "playlist_genre"}, {SC_SUBGENRE, "playlist_subgenre"}},
	 ARTISTS_ONE, "spotify_songs"},
	{"hit_predictor", "Spotify Hit Predictor Dataset (1960-2019)",
	 {"uri", "target", "chorus_hit", "sections"}, NULL,
	 {{SC_ID, "uri"}, {SC_NAME, "track"}, {SC_ARTISTS, "artist"}, {SC_HIT, "target"}},
	 ARTISTS_ONE, NULL},
	{"spotify_features", "Spotify Tracks DB, SpotifyFeatures.csv",
	 {"genre", "artist_name", "track_name", "track_id"}, NULL,
	 {{SC_ID, "track_id"}, {SC_NAME, "track_name"}, {SC_ARTISTS, "artist_name"}},
	 ARTISTS_ONE, NULL},
	{"tracks_1921_2020", "Spotify Dataset 1921-2020, 600k+ Tracks (tracks.csv)",
	 {"id", "id_artists", "artists", "release_date"}, NULL,
	 {{SC_ID, "id"}},
	 ARTISTS_PYLIST, NULL},
	{"tracks_features", "Spotify 1.2M+ Songs (tracks_features.csv)",
	 {"id", "artist_ids", "track_number", "disc_number"}, NULL,
	 {{SC_ID, "id"}},
	 ARTISTS_PYLIST, NULL},
	{"spotify_tracks_dataset", "Spotify Tracks Dataset (114 genres)",
	 {"track_id", "track_genre", "album_name", "artists"}, NULL,
	 {{SC_GENRE, "track_genre"}, {SC_ALBUM, "album_name"}, {SC_NAME, "track_name"},
	  {SC_ID, "track_id"}},
	 ARTISTS_SEMICOLON, NULL},
	{"segue", "segue track export (also the synthetic demo catalogue)",
	 {"track_id", "genres", "synthetic", "artists"}, NULL,
	 {{SC_ID, "track_id"}, {SC_NAME, "track_name"}, {SC_ALBUM, "album_name"}},
	 ARTISTS_SEMICOLON, NULL},
};
/* clang-format on */
#define NVARIANTS (sizeof VARIANTS / sizeof *VARIANTS)

void schema_list_variants(void *file)
{
	FILE *out = file;
	for (size_t i = 0; i < NVARIANTS; i++)
		fprintf(out, "  %-24s %s\n", VARIANTS[i].name, VARIANTS[i].title);
}

static int header_index(char *const *header, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++) {
		const char *h = header[i];
		while (*h == ' ')
			h++;
		size_t len = strlen(h);
		while (len > 0 && h[len - 1] == ' ')
			len--;
		if (len == strlen(name) && strncasecmp(h, name, len) == 0)
			return (int)i;
	}
	return -1;
}

static int col_by_name(const char *name, size_t len)
{
	for (int c = 0; c < SC__COUNT; c++)
		if (strlen(schema_col_names[c]) == len && strncasecmp(schema_col_names[c], name, len) == 0)
			return c;
	return -1;
}

/* Applies "canonical=column,..." to s. */
static int apply_map(schema *s, char *const *header, size_t n, const char *spec, seg_error *err)
{
	const char *p = spec;
	while (*p) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		const char *eq = memchr(p, '=', len);
		if (eq == NULL || eq == p || eq == p + len - 1)
			return seg_error_set(err, SEG_EINVAL, "--map: '%.*s' is not canonical=column (e.g. id=TrackID)",
			                     (int)len, p);
		int c = col_by_name(p, (size_t)(eq - p));
		if (c < 0) {
			char names[512] = "";
			for (int k = 0; k < SC__COUNT; k++)
				snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", k ? ", " : "",
				         schema_col_names[k]);
			return seg_error_set(err, SEG_EINVAL, "--map: unknown canonical column '%.*s' (known: %s)",
			                     (int)(eq - p), p, names);
		}
		char colname[256];
		size_t cl = (size_t)(p + len - eq - 1);
		if (cl >= sizeof colname)
			cl = sizeof colname - 1;
		memcpy(colname, eq + 1, cl);
		colname[cl] = '\0';
		int idx = header_index(header, n, colname);
		if (idx < 0)
			return seg_error_set(err, SEG_EINVAL, "--map: the file has no column '%s' (for %s)", colname,
			                     schema_col_names[c]);
		s->col[c] = idx;
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}

int schema_detect(schema *s, char *const *header, size_t n, const char *map_spec, seg_error *err)
{
	memset(s, 0, sizeof(*s));
	s->nfields = n;
	for (int c = 0; c < SC__COUNT; c++)
		s->col[c] = -1;
	const variant *v = NULL;
	for (size_t i = 0; i < NVARIANTS && v == NULL; i++) {
		const variant *cand = &VARIANTS[i];
		int ok = 1;
		for (int k = 0; k < 4 && cand->signature[k] && ok; k++)
			ok = header_index(header, n, cand->signature[k]) >= 0;
		if (ok && cand->absent && header_index(header, n, cand->absent) >= 0)
			ok = 0;
		if (ok)
			v = cand;
	}
	if (v == NULL && map_spec == NULL) {
		char cols[400] = "";
		for (size_t i = 0; i < n && strlen(cols) < 300; i++)
			snprintf(cols + strlen(cols), sizeof cols - strlen(cols), "%s%s", i ? "," : "", header[i]);
		return seg_error_set(err, SEG_EFORMAT,
		                     "header not recognised as a known Spotify export (it has: %s%s). "
		                     "Map its columns with --map id=COLUMN,name=COLUMN,artists=COLUMN,... "
		                     "(see `segue ingest --help` for the canonical names)",
		                     cols, strlen(cols) >= 300 ? ",..." : "");
	}
	/* Canonical names match themselves; a variant's renames take precedence. */
	for (int c = 0; c < SC__COUNT; c++)
		s->col[c] = header_index(header, n, schema_col_names[c]);
	if (v != NULL) {
		s->variant = v->name;
		s->title = v->title;
		s->artists = v->artists;
		s->playlist_source = v->playlist_source;
		/* Columns a variant renames must not also match by their generic name:
		 * tracks.csv's "id" is the id, but in other exports "id" may be e.g. the
		 * Spotify id again or a row number. */
		for (size_t k = 0; k < sizeof v->renames / sizeof *v->renames && v->renames[k].header; k++)
			s->col[v->renames[k].col] = header_index(header, n, v->renames[k].header);
	} else {
		s->variant = "custom";
		s->title = "user-mapped CSV";
		s->artists = ARTISTS_ONE;
	}
	if (map_spec != NULL) {
		int rc = apply_map(s, header, n, map_spec, err);
		if (rc < 0)
			return rc;
	}
	for (int c = 0; c < SC__COUNT; c++) {
		const char *h = s->col[c] >= 0 ? header[s->col[c]] : "";
		while (*h == ' ')
			h++;
		s->of_playlist[c] = strncasecmp(h, "playlist_", 9) == 0;
	}
	char missing[300] = "";
	const char *first = NULL;
	if (s->col[SC_ID] < 0) {
		snprintf(missing, sizeof missing, "id");
		first = "id";
	}
	for (int c = 0; c < TF__AUDIO; c++)
		if (s->col[c] < 0) {
			snprintf(missing + strlen(missing), sizeof missing - strlen(missing), "%s%s",
			         missing[0] ? ", " : "", schema_col_names[c]);
			if (first == NULL)
				first = schema_col_names[c];
		}
	if (missing[0])
		return seg_error_set(err, SEG_EFORMAT, "%s: no column for %s; map it with --map %s=COLUMN", s->title,
		                     missing, first);
	return 0;
}

static const char *field(const csv_record *rec, const schema *s, enum schema_col c)
{
	int i = s->col[c];
	return i >= 0 ? rec->fields[i] : NULL;
}

static int blank(const char *v)
{
	if (v == NULL)
		return 1;
	while (*v == ' ' || *v == '\t')
		v++;
	return *v == '\0';
}

static void set_problem(track_problem *p, enum schema_col c, const char *reason, const char *value, const char *detail)
{
	p->column = c == SC__COUNT ? NULL : schema_col_names[c];
	p->reason = reason;
	p->value = value;
	snprintf(p->detail, sizeof p->detail, "%s", detail);
}

static void lower_inplace(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

/* Adds a genre name (trimmed, lower-cased in place) unless already there;
 * from_playlist says whether it labels the row's playlist. A name given both
 * ways is the track's own label. */
static void add_genre(track_rec *t, char *g, int from_playlist)
{
	while (*g == ' ')
		g++;
	size_t n = strlen(g);
	while (n > 0 && g[n - 1] == ' ')
		g[--n] = '\0';
	if (n == 0)
		return;
	lower_inplace(g);
	for (int i = 0; i < t->ngenres; i++)
		if (strcmp(t->genres[i], g) == 0) {
			t->genre_from_playlist[i] &= (unsigned char)(from_playlist != 0);
			return;
		}
	if (t->ngenres < TRACK_MAX_GENRES) {
		t->genre_from_playlist[t->ngenres] = (unsigned char)(from_playlist != 0);
		t->genres[t->ngenres++] = g;
	}
}

int schema_map_row(const schema *s, const csv_record *rec, track_rec *t, track_problem *rowp, track_problem *vp,
                   int maxv, int *nv)
{
	char detail[160];
	*nv = 0;
	track_rec_init(t);
	if (rec->over_limit != CSV_LIMIT_NONE) {
		csv_limit_describe(rec, detail, sizeof detail);
		set_problem(rowp, SC__COUNT, "too_long", NULL, detail);
		return 1;
	}
	if (rec->nfields != s->nfields) {
		snprintf(detail, sizeof detail, "row has %zu fields, the header has %zu", rec->nfields, s->nfields);
		set_problem(rowp, SC__COUNT, "field_count", NULL, detail);
		return 1;
	}
	if (rec->nul_field >= 0) {
		/* Read as C strings, its text would stop at the NUL and might pass. */
		int c = 0;
		while (c < SC__COUNT && s->col[c] != rec->nul_field)
			c++;
		snprintf(detail, sizeof detail, "field %d of %zu%s%s%s holds a NUL byte", rec->nul_field + 1,
		         rec->nfields, c < SC__COUNT ? " (" : "", c < SC__COUNT ? schema_col_names[c] : "",
		         c < SC__COUNT ? ")" : "");
		set_problem(rowp, (enum schema_col)c, "nul_byte", rec->fields[rec->nul_field], detail);
		return 1;
	}
	const char *id = field(rec, s, SC_ID);
	if (blank(id)) {
		set_problem(rowp, SC_ID, "missing", NULL, "the track id is empty");
		return 1;
	}
	if (track_parse_id(id, t->id) < 0) {
		set_problem(rowp, SC_ID, "bad_id", id, "not a Spotify track id (22 base-62 characters)");
		return 1;
	}

	/* Audio features: all or nothing. */
	int nblank = 0, first_blank = -1;
	for (int c = 0; c < TF__AUDIO; c++)
		if (blank(field(rec, s, (enum schema_col)c))) {
			nblank++;
			if (first_blank < 0)
				first_blank = c;
		}
	if (nblank == TF__AUDIO) {
		set_problem(rowp, SC__COUNT, "missing", NULL, "every audio feature is empty");
		return 1;
	}
	if (nblank > 0) {
		snprintf(detail, sizeof detail, "%s is empty (%d of %d audio features are)",
		         schema_col_names[first_blank], nblank, TF__AUDIO);
		set_problem(rowp, (enum schema_col)first_blank, "missing", NULL, detail);
		return 1;
	}
	for (int c = 0; c < TF__AUDIO; c++) {
		const char *v = field(rec, s, (enum schema_col)c);
		int ok, iv = 0;
		if (c == TF_KEY) {
			ok = track_parse_key(v, &iv) == 0;
			t->audio[c] = iv;
		} else if (c == TF_MODE) {
			ok = track_parse_mode(v, &iv) == 0;
			t->audio[c] = iv;
		} else {
			ok = track_parse_double(v, &t->audio[c]) == 0;
		}
		if (!ok) {
			snprintf(detail, sizeof detail, "%s '%.60s' is not a %s", schema_col_names[c], v,
			         c == TF_KEY    ? "pitch class or note name"
			         : c == TF_MODE ? "mode (0/1, Major/Minor)"
			                        : "number");
			set_problem(rowp, (enum schema_col)c, "unparseable", v, detail);
			return 1;
		}
	}
	t->has_audio = 1;

	/* Metadata: a value that does not parse is dropped, the row kept. */
#define VALUE_PROBLEM(col, v, what)                                                                                    \
	do {                                                                                                           \
		if (*nv < maxv) {                                                                                      \
			snprintf(detail, sizeof detail, "%s '%.60s' is not %s; stored as NULL", schema_col_names[col], \
			         v, what);                                                                             \
			set_problem(&vp[(*nv)++], col, "unparseable", v, detail);                                      \
		}                                                                                                      \
	} while (0)
	const char *v;
	long lv;
	int iv;
	if (!blank(v = field(rec, s, SC_POPULARITY))) {
		if (track_parse_long(v, &lv) == 0)
			t->popularity = (int)(lv < -1000 ? -1000 : lv > 1000 ? 1000 : lv);
		else
			VALUE_PROBLEM(SC_POPULARITY, v, "a whole number");
	}
	if (!blank(v = field(rec, s, SC_DURATION_MS))) {
		if (track_parse_long(v, &lv) == 0)
			t->duration_ms = lv == -1 ? 0 : lv;
		else
			VALUE_PROBLEM(SC_DURATION_MS, v, "a whole number of milliseconds");
	}
	if (!blank(v = field(rec, s, SC_TIME_SIGNATURE))) {
		if (track_parse_time_signature(v, &iv) == 0)
			t->time_signature = iv == -1 ? -2 : iv;
		else
			VALUE_PROBLEM(SC_TIME_SIGNATURE, v, "a time signature");
	}
	if (!blank(v = field(rec, s, SC_EXPLICIT))) {
		if (track_parse_bool(v, &iv) == 0)
			t->explicit_ = iv;
		else
			VALUE_PROBLEM(SC_EXPLICIT, v, "a boolean");
	}
	if (!blank(v = field(rec, s, SC_HIT))) {
		if (track_parse_bool(v, &iv) == 0)
			t->hit = iv;
		else
			VALUE_PROBLEM(SC_HIT, v, "0 or 1");
	}
	if (!blank(v = field(rec, s, SC_SYNTHETIC)) && track_parse_bool(v, &iv) == 0)
		t->synthetic = iv;
	if (!blank(v = field(rec, s, SC_RELEASE_DATE))) {
		if (track_parse_date(v, t->release_date, &t->year) < 0)
			VALUE_PROBLEM(SC_RELEASE_DATE, v, "a date (YYYY, YYYY-MM, YYYY-MM-DD, DD-MM-YYYY)");
	}
	int year_from_col = 0; /* the year came from a year column, not a date */
	if (t->year < 0 && !blank(v = field(rec, s, SC_YEAR))) {
		year_from_col = 1;
		if (track_parse_long(v, &lv) == 0)
			t->year = (int)(lv < -1 ? -2 : lv > 99999 ? 99999 : lv);
		else
			VALUE_PROBLEM(SC_YEAR, v, "a year");
	}
#undef VALUE_PROBLEM

	/* Strings. */
	if (!blank(v = field(rec, s, SC_NAME)))
		t->name = v;
	if (!blank(v = field(rec, s, SC_ALBUM)))
		t->album = v;
	if (!blank(v = field(rec, s, SC_ALBUM_ID)))
		t->album_id = v;
	if (!blank(v = field(rec, s, SC_PLAYLIST_ID)))
		t->playlist_id = v;
	if (!blank(v = field(rec, s, SC_PLAYLIST_NAME)))
		t->playlist_name = v;
	if (s->col[SC_ARTISTS] >= 0)
		t->nartists =
			track_split_artists(rec->fields[s->col[SC_ARTISTS]], s->artists, t->artists, TRACK_MAX_ARTISTS);
	if (s->col[SC_GENRE] >= 0)
		add_genre(t, rec->fields[s->col[SC_GENRE]], s->of_playlist[SC_GENRE]);
	if (s->col[SC_SUBGENRE] >= 0)
		add_genre(t, rec->fields[s->col[SC_SUBGENRE]], s->of_playlist[SC_SUBGENRE]);
	if (s->col[SC_GENRES] >= 0) {
		char *g = rec->fields[s->col[SC_GENRES]];
		for (char *semi; (semi = strchr(g, ';')) != NULL; g = semi + 1) {
			*semi = '\0';
			add_genre(t, g, s->of_playlist[SC_GENRES]);
		}
		add_genre(t, g, s->of_playlist[SC_GENRES]);
	}

	/* Ranges. */
	track_problem rp;
	int nval = 0;
	int bad = track_validate(t, &rp, vp + *nv, maxv - *nv, &nval);
	if (bad) {
		int c = col_by_name(rp.column, strlen(rp.column));
		set_problem(rowp, (enum schema_col)c, rp.reason, field(rec, s, (enum schema_col)c), rp.detail);
		return 1;
	}
	for (int k = 0; k < nval; k++) {
		track_problem *p = &vp[*nv + k];
		if (year_from_col && strcmp(p->column, "release_date") == 0)
			p->column = schema_col_names[SC_YEAR];
		int c = col_by_name(p->column, strlen(p->column));
		p->value = c >= 0 ? field(rec, s, (enum schema_col)c) : NULL;
	}
	*nv += nval;
	return 0;
}
