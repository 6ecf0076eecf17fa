/* test_schema.c: header recognition and row mapping (schema.h) for every
 * Kaggle export segue knows, the --map override, and row and value problems.
 * Headers are those of the real exports (see shared/data/SOURCES.md); the
 * rows are made up for these tests. */
#include "testutil.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/csv.h"
#include "core/error.h"
#include "ingest/schema.h"
#include "ingest/track.h"

/* ------------------------------------------------------------------------ */
/* Real headers                                                             */

static const char H_SPOTIFY_SONGS[] =
	"track_id,track_name,track_artist,track_popularity,track_album_id,track_album_name,"
	"track_album_release_date,playlist_name,playlist_id,playlist_genre,playlist_subgenre,"
	"danceability,energy,key,loudness,mode,speechiness,acousticness,instrumentalness,liveness,"
	"valence,tempo,duration_ms";
static const char H_HIT_PREDICTOR[] =
	"track,artist,uri,danceability,energy,key,loudness,mode,speechiness,acousticness,"
	"instrumentalness,liveness,valence,tempo,duration_ms,time_signature,chorus_hit,sections,target,"
	"decade";
static const char H_SPOTIFY_FEATURES[] =
	"\xEF\xBB\xBFgenre,artist_name,track_name,track_id,popularity,acousticness,danceability,"
	"duration_ms,energy,instrumentalness,key,liveness,loudness,mode,speechiness,tempo,"
	"time_signature,valence";
static const char H_TRACKS_1921_2020[] =
	"id,name,popularity,duration_ms,explicit,artists,id_artists,release_date,danceability,energy,"
	"key,loudness,mode,speechiness,acousticness,instrumentalness,liveness,valence,tempo,"
	"time_signature";
static const char H_POPULARITY_HIGH[] =
	"energy,tempo,danceability,playlist_genre,loudness,liveness,valence,track_artist,"
	"time_signature,speechiness,track_popularity,track_href,uri,track_album_name,playlist_name,"
	"analysis_url,track_id,track_name,track_album_release_date,instrumentalness,track_album_id,"
	"mode,key,duration_ms,acousticness,id,playlist_subgenre,type,playlist_id";
static const char H_POPULARITY_LOW[] =
	"time_signature,track_popularity,speechiness,danceability,playlist_name,track_artist,"
	"duration_ms,energy,playlist_genre,playlist_subgenre,track_href,track_name,mode,uri,type,"
	"track_album_release_date,analysis_url,id,instrumentalness,track_album_id,playlist_id,"
	"track_id,valence,key,tempo,loudness,acousticness,liveness,track_album_name";
static const char H_TRACKS_DATASET[] =
	",track_id,artists,album_name,track_name,popularity,duration_ms,explicit,danceability,energy,"
	"key,loudness,mode,speechiness,acousticness,instrumentalness,liveness,valence,tempo,"
	"time_signature,track_genre";
static const char H_TRACKS_FEATURES[] =
	"id,name,album,album_id,artists,artist_ids,track_number,disc_number,explicit,danceability,"
	"energy,key,loudness,mode,speechiness,acousticness,instrumentalness,liveness,valence,tempo,"
	"duration_ms,time_signature,year,release_date";
static const char H_SEGUE[] =
	"track_id,track_name,artists,album_name,release_date,popularity,duration_ms,explicit,genres,"
	"danceability,energy,key,loudness,mode,speechiness,acousticness,instrumentalness,liveness,"
	"valence,tempo,time_signature,synthetic";

/* ------------------------------------------------------------------------ */
/* Fixture: a CSV text in memory, its detected schema, and one mapped row.   */

typedef struct fx {
	char *text; /* the CSV (owned) */
	csv_reader *r;
	schema s;
	csv_record rec;      /* current row */
	track_rec t;         /* current row, mapped */
	track_problem rp;    /* row problem when the row is refused */
	track_problem vp[8]; /* value problems */
	int nv;
	seg_error err;
} fx;

/* Builds the CSV text from a header and rows (NULL-ended), joined by `eol`. */
static char *join_lines(const char *eol, const char *header, va_list ap)
{
	size_t cap = strlen(header) + strlen(eol) + 1, len = 0;
	char *out = malloc(cap);
	assert_non_null(out);
	for (const char *line = header; line != NULL; line = va_arg(ap, const char *)) {
		size_t need = len + strlen(line) + strlen(eol) + 1;
		if (need > cap) {
			cap = need * 2;
			out = realloc(out, cap);
			assert_non_null(out);
		}
		len += (size_t)sprintf(out + len, "%s%s", line, eol);
	}
	return out;
}

/* Opens the text and detects its header with `map` (may be NULL); returns
 * schema_detect's result. */
static void fx_close(fx *f);

static int fx_open_text(fx *f, const char *map, char *text)
{
	fx_close(f);
	f->text = text;
	assert_int_equal(csv_open_mem(&f->r, f->text, strlen(f->text), &f->err), 0);
	assert_int_equal(csv_next(f->r, &f->rec, &f->err), 1);
	return schema_detect(&f->s, f->rec.fields, f->rec.nfields, map, &f->err);
}

static int fx_open(fx *f, const char *map, const char *eol, const char *header, ...)
{
	va_list ap;
	va_start(ap, header);
	char *text = join_lines(eol, header, ap);
	va_end(ap);
	return fx_open_text(f, map, text);
}

/* Releases the fixture; a zeroed fixture is fine. */
static void fx_close(fx *f)
{
	csv_close(f->r);
	free(f->text);
	memset(f, 0, sizeof *f);
}

/* Reads and maps the next row; returns schema_map_row's result. */
static int fx_row(fx *f)
{
	assert_int_equal(csv_next(f->r, &f->rec, &f->err), 1);
	memset(f->vp, 0, sizeof f->vp);
	return schema_map_row(&f->s, &f->rec, &f->t, &f->rp, f->vp, 8, &f->nv);
}

/* Reads the next row and expects it usable with no value problems. */
static const track_rec *fx_good_row(fx *f)
{
	int rc = fx_row(f);
	if (rc != 0)
		fail_msg("row at line %ld refused: %s (%s)", f->rec.line, f->rp.detail, f->rp.reason);
	if (f->nv != 0)
		fail_msg("row at line %ld has %d value problems, first: %s", f->rec.line, f->nv, f->vp[0].detail);
	assert_int_equal(f->t.has_audio, 1);
	return &f->t;
}

static void fx_end(fx *f) { assert_int_equal(csv_next(f->r, &f->rec, &f->err), 0); }

/* Compares a NULL-ended list of names. */
static void expect_list(const char *what, const char *const *got, int n, const char *const *want)
{
	int nw = 0;
	while (want[nw] != NULL)
		nw++;
	if (n != nw)
		fail_msg("%s: %d entries, expected %d (first '%s')", what, n, nw, n > 0 ? got[0] : "");
	for (int i = 0; i < n; i++)
		if (strcmp(got[i], want[i]) != 0)
			fail_msg("%s[%d] is '%s', expected '%s'", what, i, got[i], want[i]);
}

#define LIST(...) ((const char *const[]){__VA_ARGS__, NULL})
#define EMPTY ((const char *const[]){NULL})

static void expect_audio(const track_rec *t, double dance, double key, double loud, double mode, double tempo)
{
	assert_true(fabs(t->audio[TF_DANCEABILITY] - dance) < 1e-12);
	assert_true(t->audio[TF_KEY] == key);
	assert_true(fabs(t->audio[TF_LOUDNESS] - loud) < 1e-12);
	assert_true(t->audio[TF_MODE] == mode);
	assert_true(fabs(t->audio[TF_TEMPO] - tempo) < 1e-12);
}

/* The fixture every test uses; closed after each test even when it fails. */
static fx G;

static int teardown(void **state)
{
	(void)state;
	fx_close(&G);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* One test per export                                                      */

static void test_spotify_songs(void **state)
{
	(void)state;
	int rc = fx_open(&G, NULL, "\n", H_SPOTIFY_SONGS,
	                 "1Mira0Vale0Neon0Harbrx,Neon Harbour,Mira Vale,71,cAlbum0Id0For0Songs001,Harbour Lights,"
	                 "2017-03,Late Night Pop,37i9dQZF1DXfixture0001,Pop,Dance Pop,0.712,0.655,9,-5.21,1,0.041,"
	                 "0.12,1.23E-05,0.11,0.63,118.004,201000",
	                 "2Kite0Paper0Glass0Tide,\"Glass, Tide\",Paper Kite,0,cAlbum0Id0For0Songs001,"
	                 "\"The \"\"Tide\"\" EP\",1999,Rock Anthems,37i9dQZF1DXfixture0002,ROCK,rock,0.3,0.9,0,-60,0,"
	                 "0.5,0.001,0.9,0.35,0.2,141.5,180000",
	                 "3Tyler0Creator0Fixture,Sky Song,\"Tyler, The Creator\",55,cAlbum0Id0For0Songs001,Skies,"
	                 "2019-07-05,Soul Mix,37i9dQZF1DXfixture0003,R&B,Neo Soul,0.5,0.5,11,-8,1,0.1,0.2,0,0.3,"
	                 "0.4,95,240000",
	                 NULL);
	assert_int_equal(rc, 0);
	assert_string_equal(G.s.variant, "spotify_songs");
	assert_string_equal(G.s.playlist_source, "spotify_songs");
	assert_int_equal(G.s.nfields, 23);

	const track_rec *t = fx_good_row(&G);
	assert_string_equal(t->id, "1Mira0Vale0Neon0Harbrx");
	assert_string_equal(t->name, "Neon Harbour");
	assert_string_equal(t->album, "Harbour Lights");
	assert_string_equal(t->album_id, "cAlbum0Id0For0Songs001");
	expect_list("artists", t->artists, t->nartists, LIST("Mira Vale"));
	expect_list("genres", t->genres, t->ngenres, LIST("pop", "dance pop"));
	assert_string_equal(t->release_date, "2017-03");
	assert_int_equal(t->year, 2017);
	assert_int_equal(t->popularity, 71);
	assert_int_equal(t->duration_ms, 201000);
	assert_int_equal(t->explicit_, -1);
	assert_int_equal(t->time_signature, -1);
	assert_int_equal(t->hit, -1);
	assert_int_equal(t->synthetic, 0);
	assert_string_equal(t->playlist_id, "37i9dQZF1DXfixture0001");
	assert_string_equal(t->playlist_name, "Late Night Pop");
	expect_audio(t, 0.712, 9, -5.21, 1, 118.004);
	assert_true(fabs(t->audio[TF_INSTRUMENTALNESS] - 1.23e-05) < 1e-15);

	t = fx_good_row(&G);
	assert_string_equal(t->id, "2Kite0Paper0Glass0Tide");
	assert_string_equal(t->name, "Glass, Tide");
	assert_string_equal(t->album, "The \"Tide\" EP");
	expect_list("genres", t->genres, t->ngenres, LIST("rock")); /* genre = subgenre once */
	assert_string_equal(t->release_date, "1999");
	assert_int_equal(t->year, 1999);
	assert_int_equal(t->popularity, 0);
	expect_audio(t, 0.3, 0, -60, 0, 141.5);

	t = fx_good_row(&G);
	expect_list("artists", t->artists, t->nartists, LIST("Tyler, The Creator"));
	expect_list("genres", t->genres, t->ngenres, LIST("r&b", "neo soul"));
	assert_string_equal(t->release_date, "2019-07-05");
	fx_end(&G);
	fx_close(&G);
}

static void test_hit_predictor(void **state)
{
	(void)state;
	int rc = fx_open(&G, NULL, "\n", H_HIT_PREDICTOR,
	                 "Velvet Morning,Garnet Row,spotify:track:4Garnet0Row0Hit0Fixtre,0.417,0.62,3,-7.727,1,"
	                 "0.0403,0.49,4.79E-06,0.0779,0.845,185.655,173533,3,32.94975,9,1,1960",
	                 "\"Quiet Days, Loud Nights\",Someone & Co,spotify:track:5Quiet0Days0Hit0Fixtre,0.5,0.4,10,"
	                 "-11.2,0,0.03,0.7,0,0.1,0.3,99.9,201111,4,40.1,11,0,2010",
	                 NULL);
	assert_int_equal(rc, 0);
	assert_string_equal(G.s.variant, "hit_predictor");
	assert_null(G.s.playlist_source);

	const track_rec *t = fx_good_row(&G);
	assert_string_equal(t->id, "4Garnet0Row0Hit0Fixtre"); /* uri prefix stripped */
	assert_string_equal(t->name, "Velvet Morning");
	expect_list("artists", t->artists, t->nartists, LIST("Garnet Row"));
	expect_list("genres", t->genres, t->ngenres, EMPTY);
	assert_int_equal(t->hit, 1);
	assert_int_equal(t->time_signature, 3);
	assert_int_equal(t->duration_ms, 173533);
	assert_int_equal(t->year, -1);
	assert_string_equal(t->release_date, "");
	assert_int_equal(t->popularity, -1);
	assert_null(t->album);
	expect_audio(t, 0.417, 3, -7.727, 1, 185.655);
	assert_true(fabs(t->audio[TF_INSTRUMENTALNESS] - 4.79e-06) < 1e-18);

	t = fx_good_row(&G);
	assert_string_equal(t->id, "5Quiet0Days0Hit0Fixtre");
	assert_string_equal(t->name, "Quiet Days, Loud Nights");
	expect_list("artists", t->artists, t->nartists, LIST("Someone & Co"));
	assert_int_equal(t->hit, 0);
	assert_int_equal(t->time_signature, 4);
	fx_end(&G);
	fx_close(&G);
}

static void test_spotify_features(void **state)
{
	(void)state;
	/* The real file starts with a BOM and ends lines with CRLF. */
	int rc = fx_open(&G, NULL, "\r\n", H_SPOTIFY_FEATURES,
	                 "Movie,Henri Lafleur,C'est la f\xC3\xAAte,5Henri0Movie0Chanson00,0,0.611,0.389,99373,0.91,0,"
	                 "C#,0.346,-1.828,Major,0.0525,166.969,4-Apr,0.814",
	                 "R&B,Kay Lane,Slow Burn,6Kay0Lane0Slow0Burn001,44,0.2,0.7,210000,0.5,0.01,F#,0.1,-6.5,Minor,"
	                 "0.04,70.1,4-Mar,0.4",
	                 "A Capella,Choir Nine,Hymn,7Choir0Nine0Hymn000001,12,0.99,0.2,150000,0.1,0,A#,0.2,-20,Minor,"
	                 "0.05,60,4-May,0.1",
	                 "Dance,DJ One,Solo,8DJ0One0Solo0Fixture00,30,0.1,0.8,180000,0.9,0.5,C,0.2,-4,Major,0.06,"
	                 "128,4-Jan,0.7",
	                 NULL);
	assert_int_equal(rc, 0);
	assert_string_equal(G.s.variant, "spotify_features");

	const track_rec *t = fx_good_row(&G);
	assert_string_equal(t->id, "5Henri0Movie0Chanson00");
	assert_string_equal(t->name, "C'est la f\xC3\xAAte");
	expect_list("artists", t->artists, t->nartists, LIST("Henri Lafleur"));
	expect_list("genres", t->genres, t->ngenres, LIST("movie"));
	assert_int_equal(t->popularity, 0);
	assert_int_equal(t->duration_ms, 99373);
	assert_int_equal(t->time_signature, 4);        /* 4-Apr */
	expect_audio(t, 0.389, 1, -1.828, 1, 166.969); /* C# = 1, Major = 1 */

	t = fx_good_row(&G);
	expect_list("genres", t->genres, t->ngenres, LIST("r&b"));
	assert_int_equal(t->time_signature, 3); /* 4-Mar */
	expect_audio(t, 0.7, 6, -6.5, 0, 70.1); /* F# = 6, Minor = 0 */

	t = fx_good_row(&G);
	expect_list("genres", t->genres, t->ngenres, LIST("a capella"));
	assert_int_equal(t->time_signature, 5); /* 4-May */
	assert_true(t->audio[TF_KEY] == 10);    /* A# */

	t = fx_good_row(&G);
	assert_int_equal(t->time_signature, 1); /* 4-Jan */
	assert_true(t->audio[TF_KEY] == 0);     /* C */
	fx_end(&G);
	fx_close(&G);
}

static void test_tracks_1921_2020(void **state)
{
	(void)state;
	int rc = fx_open(
		&G, NULL, "\r\n", H_TRACKS_1921_2020,
		"6Ana0Lua0Beto0Vaz00001,Carta,6,126903,0,\"['Ana Lua', 'Beto Vaz']\","
		"\"['1aaaaaaaaaaaaaaaaaaaaa', '2bbbbbbbbbbbbbbbbbbbbb']\",22-02-1922,0.645,0.445,0,-13.338,1,"
		"0.451,0.674,0.744,0.151,0.127,104.851,3",
		"7JoOHara0Old0Record001,Old Record,0,180000,1,\"[\"\"Jo O'Hara\"\"]\",['3ccccccccccccccccccccc'],"
		"1931,0.5,0.3,2,-15,0,0.05,0.9,0.1,0.2,0.6,90.5,4",
		NULL);
	assert_int_equal(rc, 0);
	assert_string_equal(G.s.variant, "tracks_1921_2020");

	const track_rec *t = fx_good_row(&G);
	assert_string_equal(t->id, "6Ana0Lua0Beto0Vaz00001");
	assert_string_equal(t->name, "Carta");
	expect_list("artists", t->artists, t->nartists, LIST("Ana Lua", "Beto Vaz"));
	assert_string_equal(t->release_date, "1922-02-22"); /* DD-MM-YYYY */
	assert_int_equal(t->year, 1922);
	assert_int_equal(t->popularity, 6);
	assert_int_equal(t->explicit_, 0);
	assert_int_equal(t->time_signature, 3);
	expect_audio(t, 0.645, 0, -13.338, 1, 104.851);

	t = fx_good_row(&G);
	expect_list("artists", t->artists, t->nartists, LIST("Jo O'Hara"));
	assert_string_equal(t->release_date, "1931");
	assert_int_equal(t->year, 1931);
	assert_int_equal(t->explicit_, 1);
	fx_end(&G);
	fx_close(&G);
}

/* Renders one popularity_2024 row in the column order of `header`. */
static char *pop2024_row(const char *header, const char *const kv[][2], size_t nkv)
{
	char *out = calloc(1, 4096);
	char *h = strdup(header);
	assert_non_null(out);
	assert_non_null(h);
	int first = 1;
	for (char *save, *col = strtok_r(h, ",", &save); col; col = strtok_r(NULL, ",", &save)) {
		const char *v = NULL;
		for (size_t i = 0; i < nkv; i++)
			if (strcmp(kv[i][0], col) == 0)
				v = kv[i][1];
		if (v == NULL)
			fail_msg("no value for column %s", col);
		int quote = strpbrk(v, ",\"") != NULL;
		strcat(out, first ? "" : ",");
		strcat(out, quote ? "\"" : "");
		strcat(out, v);
		strcat(out, quote ? "\"" : "");
		first = 0;
	}
	free(h);
	return out;
}

#define POP_ID "8Lady0X0Bruno0Y0Smile0"
/* clang-format off */
static const char *const POP_ROW[][2] = {
	{"energy", "0.592"}, {"tempo", "157.969"}, {"danceability", "0.521"}, {"playlist_genre", "Pop"},
	{"loudness", "-7.777"}, {"liveness", "0.122"}, {"valence", "0.535"},
	{"track_artist", "Lady X, Bruno Y"}, {"time_signature", "3"}, {"speechiness", "0.0304"},
	{"track_popularity", "100"}, {"track_href", "https://api.spotify.com/v1/tracks/" POP_ID},
	{"uri", "spotify:track:" POP_ID}, {"track_album_name", "Smile Forever"},
	{"playlist_name", "Today's Fixture Hits"},
	{"analysis_url", "https://api.spotify.com/v1/audio-analysis/" POP_ID}, {"track_id", POP_ID},
	{"track_name", "Smile, Forever"}, {"track_album_release_date", "2024-08-16"},
	{"instrumentalness", "0"}, {"track_album_id", "9Album0Smile0Forever00"}, {"mode", "0"},
	{"key", "6"}, {"duration_ms", "251668"}, {"acousticness", "0.308"}, {"id", POP_ID},
	{"playlist_subgenre", "Mainstream"}, {"type", "audio_features"},
	{"playlist_id", "37i9dQZF1DXfixture0009"},
};
/* clang-format on */
/* The same track with every audio feature empty (the low file has one). */
/* clang-format off */
static const char *const POP_EMPTY_ROW[][2] = {
	{"energy", ""}, {"tempo", ""}, {"danceability", ""}, {"playlist_genre", "rock"},
	{"loudness", ""}, {"liveness", ""}, {"valence", ""}, {"track_artist", "Nobody"},
	{"time_signature", ""}, {"speechiness", ""}, {"track_popularity", "12"},
	{"track_href", ""}, {"uri", ""}, {"track_album_name", "Empty"}, {"playlist_name", "Rock"},
	{"analysis_url", ""}, {"track_id", "1Make0It0Empty0Feature"}, {"track_name", "Make It"},
	{"track_album_release_date", "2001"}, {"instrumentalness", ""}, {"track_album_id", ""},
	{"mode", ""}, {"key", ""}, {"duration_ms", ""}, {"acousticness", ""}, {"id", ""},
	{"playlist_subgenre", "classic"}, {"type", ""}, {"playlist_id", "37i9dQZF1DXfixture0010"},
};
/* clang-format on */

static void check_popularity_2024(const char *header)
{
	char *row = pop2024_row(header, POP_ROW, sizeof POP_ROW / sizeof *POP_ROW);
	char *empty = pop2024_row(header, POP_EMPTY_ROW, sizeof POP_EMPTY_ROW / sizeof *POP_EMPTY_ROW);
	int rc = fx_open(&G, NULL, "\r\n", header, row, empty, NULL);
	free(row);
	free(empty);
	assert_int_equal(rc, 0);
	assert_string_equal(G.s.variant, "popularity_2024");
	assert_string_equal(G.s.playlist_source, "popularity_2024");

	const track_rec *t = fx_good_row(&G);
	assert_string_equal(t->id, POP_ID);
	assert_string_equal(t->name, "Smile, Forever");
	assert_string_equal(t->album, "Smile Forever");
	assert_string_equal(t->album_id, "9Album0Smile0Forever00");
	expect_list("artists", t->artists, t->nartists, LIST("Lady X", "Bruno Y"));
	expect_list("genres", t->genres, t->ngenres, LIST("pop", "mainstream"));
	assert_string_equal(t->release_date, "2024-08-16");
	assert_int_equal(t->year, 2024);
	assert_int_equal(t->popularity, 100);
	assert_int_equal(t->duration_ms, 251668);
	assert_int_equal(t->time_signature, 3);
	assert_string_equal(t->playlist_id, "37i9dQZF1DXfixture0009");
	assert_string_equal(t->playlist_name, "Today's Fixture Hits");
	expect_audio(t, 0.521, 6, -7.777, 0, 157.969);
	assert_true(fabs(t->audio[TF_ENERGY] - 0.592) < 1e-12);
	assert_true(fabs(t->audio[TF_VALENCE] - 0.535) < 1e-12);

	assert_int_equal(fx_row(&G), 1);
	assert_null(G.rp.column);
	assert_string_equal(G.rp.reason, "missing");
	fx_end(&G);
	fx_close(&G);
}

static void test_popularity_2024_high_order(void **state)
{
	(void)state;
	check_popularity_2024(H_POPULARITY_HIGH);
}

static void test_popularity_2024_low_order(void **state)
{
	(void)state;
	check_popularity_2024(H_POPULARITY_LOW);
}

static void test_spotify_tracks_dataset(void **state)
{
	(void)state;
	int rc = fx_open(&G, NULL, "\n", H_TRACKS_DATASET,
	                 "0,9Gen0X0Ray0Y0Acoustic0,Gen X;Ray Y,Quiet Rooms,Paper Boats,73,230666,False,0.676,0.461,1,"
	                 "-6.746,0,0.143,0.0322,1.01e-06,0.358,0.715,87.917,4,acoustic",
	                 "1,0Solo0Act0Loud0Shout00,Solo Act;,\"Loud, Louder\",Shout,20,100000,True,0.4,0.95,7,-3.1,1,"
	                 "0.2,0.001,0.02,0.4,0.3,170.2,5,hard-rock",
	                 NULL);
	assert_int_equal(rc, 0);
	assert_string_equal(G.s.variant, "spotify_tracks_dataset");
	assert_int_equal(G.s.nfields, 21);

	const track_rec *t = fx_good_row(&G);
	assert_string_equal(t->id, "9Gen0X0Ray0Y0Acoustic0");
	assert_string_equal(t->name, "Paper Boats");
	assert_string_equal(t->album, "Quiet Rooms");
	expect_list("artists", t->artists, t->nartists, LIST("Gen X", "Ray Y"));
	expect_list("genres", t->genres, t->ngenres, LIST("acoustic"));
	assert_int_equal(t->popularity, 73);
	assert_int_equal(t->duration_ms, 230666);
	assert_int_equal(t->explicit_, 0);
	assert_int_equal(t->time_signature, 4);
	assert_int_equal(t->year, -1);
	expect_audio(t, 0.676, 1, -6.746, 0, 87.917);

	t = fx_good_row(&G);
	assert_string_equal(t->album, "Loud, Louder");
	expect_list("artists", t->artists, t->nartists, LIST("Solo Act"));
	expect_list("genres", t->genres, t->ngenres, LIST("hard-rock"));
	assert_int_equal(t->explicit_, 1);
	assert_int_equal(t->time_signature, 5);
	fx_end(&G);
	fx_close(&G);
}

static void test_tracks_features(void **state)
{
	(void)state;
	int rc =
		fx_open(&G, NULL, "\n", H_TRACKS_FEATURES,
	                "0Rage0Against0Fixture0,Testimony,The Battle Of Somewhere,1Album0Battle0Fixture0,"
	                "\"['Rage Fixture']\",\"['2d0hyoQ5ynDBnkvAbJKORj']\",1,1,False,0.47,0.978,7,-5.399,1,0.14,"
	                "0.0261,1.09e-05,0.356,0.503,117.906,210133,4.0,1999,1999-11-02",
	                "1Second0Row0Features00,Two,Album Two,2Album0Two0Fixture0000,\"['A', 'B']\",\"['x', 'y']\",2,1,"
	                "True,0.6,0.5,0,-9,0,0.05,0.3,0,0.1,0.5,100,200000,3.0,2001,2001",
	                "2Third0Row0Features000,Three,Album Three,3Album0Three0Fixture00,['C'],['z'],3,1,False,0.6,"
	                "0.5,0,-9,0,0.05,0.3,0,0.1,0.5,100,200000,4.0,1987,",
	                NULL);
	assert_int_equal(rc, 0);
	assert_string_equal(G.s.variant, "tracks_features");

	const track_rec *t = fx_good_row(&G);
	assert_string_equal(t->id, "0Rage0Against0Fixture0");
	assert_string_equal(t->name, "Testimony");
	assert_string_equal(t->album, "The Battle Of Somewhere");
	assert_string_equal(t->album_id, "1Album0Battle0Fixture0");
	expect_list("artists", t->artists, t->nartists, LIST("Rage Fixture"));
	assert_int_equal(t->explicit_, 0);
	assert_int_equal(t->time_signature, 4);
	assert_int_equal(t->duration_ms, 210133);
	assert_string_equal(t->release_date, "1999-11-02");
	assert_int_equal(t->year, 1999);
	expect_audio(t, 0.47, 7, -5.399, 1, 117.906);

	t = fx_good_row(&G);
	expect_list("artists", t->artists, t->nartists, LIST("A", "B"));
	assert_int_equal(t->explicit_, 1);
	assert_int_equal(t->time_signature, 3);
	assert_string_equal(t->release_date, "2001");
	assert_int_equal(t->year, 2001);

	/* No release date: the year column gives the year. */
	t = fx_good_row(&G);
	assert_string_equal(t->release_date, "");
	assert_int_equal(t->year, 1987);
	fx_end(&G);
	fx_close(&G);
}

static void test_segue_native(void **state)
{
	(void)state;
	int rc = fx_open(&G, NULL, "\n", H_SEGUE,
	                 "aSegue0Native0Synth001,Synthetic Song,Artist A;Artist B,Album Z,2021-05-01,50,200000,0,"
	                 "Pop;Indie Pop; pop ,0.5,0.6,5,-7,1,0.05,0.2,0,0.1,0.4,120,4,1",
	                 "bSegue0Native0Real0002,Real Song,Solo,Album Y,2020,80,150000,true,,0.1,0.2,-1,-30,0,0.3,"
	                 "0.4,0.5,0.6,0.7,80,3,0",
	                 NULL);
	assert_int_equal(rc, 0);
	assert_string_equal(G.s.variant, "segue");

	const track_rec *t = fx_good_row(&G);
	assert_string_equal(t->id, "aSegue0Native0Synth001");
	assert_string_equal(t->name, "Synthetic Song");
	assert_string_equal(t->album, "Album Z");
	expect_list("artists", t->artists, t->nartists, LIST("Artist A", "Artist B"));
	expect_list("genres", t->genres, t->ngenres, LIST("pop", "indie pop"));
	assert_string_equal(t->release_date, "2021-05-01");
	assert_int_equal(t->popularity, 50);
	assert_int_equal(t->explicit_, 0);
	assert_int_equal(t->synthetic, 1);
	assert_int_equal(t->time_signature, 4);
	expect_audio(t, 0.5, 5, -7, 1, 120);

	t = fx_good_row(&G);
	expect_list("genres", t->genres, t->ngenres, EMPTY);
	assert_int_equal(t->synthetic, 0);
	assert_int_equal(t->explicit_, 1);
	assert_true(t->audio[TF_KEY] == -1);
	fx_end(&G);
	fx_close(&G);
}

/* ------------------------------------------------------------------------ */
/* Unknown headers and --map                                                 */

static const char H_CUSTOM[] = "TrackID,Title,Singer,danceability,energy,key,loudness,mode,speechiness,acousticness,"
			       "instrumentalness,liveness,valence,tempo";
static const char R_CUSTOM[] =
	"bCustom0Mapped0Track01,Mapped Song,\"Someone, Else\",0.5,0.5,2,-6,1,0.1,0.2,0.3,0.4,0.5,110";

static void test_unknown_header_mentions_map(void **state)
{
	(void)state;
	int rc = fx_open(&G, NULL, "\n", H_CUSTOM, R_CUSTOM, NULL);
	assert_int_equal(rc, SEG_EFORMAT);
	assert_int_equal(G.err.code, SEG_EFORMAT);
	assert_non_null(strstr(G.err.msg, "--map"));
	assert_non_null(strstr(G.err.msg, "TrackID")); /* says what it saw */
	fx_close(&G);

	/* A very wide unknown header is summarised, not overflowed. */
	char *wide = malloc(20000);
	assert_non_null(wide);
	wide[0] = '\0';
	for (int i = 0; i < 1000; i++)
		sprintf(wide + strlen(wide), "%scolumn_%d", i ? "," : "", i);
	rc = fx_open(&G, NULL, "\n", wide, NULL);
	free(wide);
	assert_int_equal(rc, SEG_EFORMAT);
	assert_non_null(strstr(G.err.msg, "--map"));
	fx_close(&G);
}

static void test_map_makes_unknown_header_work(void **state)
{
	(void)state;
	int rc = fx_open(&G, "id=TrackID,name=Title,artists=Singer", "\n", H_CUSTOM, R_CUSTOM, NULL);
	if (rc != 0)
		fail_msg("schema_detect: %s", G.err.msg);
	assert_string_equal(G.s.variant, "custom");
	const track_rec *t = fx_good_row(&G);
	assert_string_equal(t->id, "bCustom0Mapped0Track01");
	assert_string_equal(t->name, "Mapped Song");
	expect_list("artists", t->artists, t->nartists, LIST("Someone, Else"));
	expect_audio(t, 0.5, 2, -6, 1, 110);
	fx_end(&G);
	fx_close(&G);

	/* Canonical names are case-insensitive, and so are column names. */
	rc = fx_open(&G, "ID=trackid,Name=TITLE", "\n", H_CUSTOM, R_CUSTOM, NULL);
	assert_int_equal(rc, 0);
	t = fx_good_row(&G);
	assert_string_equal(t->name, "Mapped Song");
	fx_close(&G);
}

static void test_map_on_top_of_a_variant(void **state)
{
	(void)state;
	int rc = fx_open(&G, "name=track_album_name", "\n", H_SPOTIFY_SONGS,
	                 "1Mira0Vale0Neon0Harbrx,Neon Harbour,Mira Vale,71,cAlbum0Id0For0Songs001,Harbour Lights,"
	                 "2017-03,Late Night Pop,37i9dQZF1DXfixture0001,Pop,Dance Pop,0.712,0.655,9,-5.21,1,0.041,"
	                 "0.12,0,0.11,0.63,118.004,201000",
	                 NULL);
	assert_int_equal(rc, 0);
	assert_string_equal(G.s.variant, "spotify_songs");
	const track_rec *t = fx_good_row(&G);
	assert_string_equal(t->name, "Harbour Lights");
	fx_close(&G);
}

static void expect_bad_map(const char *spec, const char *needle)
{
	int rc = fx_open(&G, spec, "\n", H_CUSTOM, R_CUSTOM, NULL);
	if (rc != SEG_EINVAL)
		fail_msg("--map '%s': schema_detect returned %d (%s), expected SEG_EINVAL", spec, rc, G.err.msg);
	assert_int_equal(G.err.code, SEG_EINVAL);
	if (strstr(G.err.msg, needle) == NULL)
		fail_msg("--map '%s': message '%s' does not mention '%s'", spec, G.err.msg, needle);
	fx_close(&G);
}

static void test_bad_map_specs(void **state)
{
	(void)state;
	expect_bad_map("id", "canonical=column"); /* no '=' */
	expect_bad_map("id=TrackID,name", "canonical=column");
	expect_bad_map("=TrackID", "canonical=column");
	expect_bad_map("id=", "canonical=column");
	expect_bad_map(",id=TrackID", "canonical=column");
	expect_bad_map("bogus=TrackID", "bogus"); /* unknown canonical column */
	expect_bad_map("id=TrackID,colour=Title", "colour");
	expect_bad_map("id=NoSuchColumn", "NoSuchColumn"); /* unknown file column */
}

static void test_missing_columns_are_named(void **state)
{
	(void)state;
	/* spotify_songs without valence. */
	char header[sizeof H_SPOTIFY_SONGS];
	strcpy(header, H_SPOTIFY_SONGS);
	char *v = strstr(header, "valence,");
	memmove(v, v + strlen("valence,"), strlen(v + strlen("valence,")) + 1);
	int rc = fx_open(&G, NULL, "\n", header, NULL);
	assert_int_equal(rc, SEG_EFORMAT);
	assert_non_null(strstr(G.err.msg, "valence"));
	assert_null(strstr(G.err.msg, "danceability,")); /* only what is missing */
	fx_close(&G);

	/* A map without id: id is named. */
	rc = fx_open(&G, "name=Title", "\n", H_CUSTOM, NULL);
	assert_int_equal(rc, SEG_EFORMAT);
	assert_non_null(strstr(G.err.msg, "id"));
	assert_non_null(strstr(G.err.msg, "--map"));
	fx_close(&G);

	/* A mapped header with no audio features at all names them. */
	rc = fx_open(&G, "id=TrackID", "\n", "TrackID,Title", NULL);
	assert_int_equal(rc, SEG_EFORMAT);
	assert_non_null(strstr(G.err.msg, "danceability"));
	assert_non_null(strstr(G.err.msg, "tempo"));
	fx_close(&G);
}

/* The --map hint in that message names the column that is missing, not
 * always danceability. */
static void test_missing_column_hint_names_it(void **state)
{
	(void)state;
	char header[sizeof H_SPOTIFY_SONGS];
	strcpy(header, H_SPOTIFY_SONGS);
	char *v = strstr(header, "valence,");
	memmove(v, v + strlen("valence,"), strlen(v + strlen("valence,")) + 1);
	int rc = fx_open(&G, NULL, "\n", header, NULL);
	assert_int_equal(rc, SEG_EFORMAT);
	if (strstr(G.err.msg, "--map valence=") == NULL)
		fail_msg("hint does not name the missing column: %s", G.err.msg);
}

/* ------------------------------------------------------------------------ */
/* Row-level and value-level problems (segue native header)                  */

/* The default values of a segue native row, by column. */
/* clang-format off */
static const char *const SEGUE_COLS[] = {
	"track_id", "track_name", "artists", "album_name", "release_date", "popularity",
	"duration_ms", "explicit", "genres", "danceability", "energy", "key", "loudness", "mode",
	"speechiness", "acousticness", "instrumentalness", "liveness", "valence", "tempo",
	"time_signature", "synthetic",
};
/* clang-format on */
/* clang-format off */
static const char *const SEGUE_DEFAULTS[] = {
	"cSegue0Problem0Row0001", "Row", "Someone", "Album", "2015-05-05", "40", "200000", "0", "pop",
	"0.5", "0.5", "5", "-8", "1", "0.05", "0.2", "0", "0.1", "0.5", "120", "4", "0",
};
/* clang-format on */
#define NSEGUE (sizeof SEGUE_COLS / sizeof *SEGUE_COLS)

/* Opens a segue native file with one row: the defaults with `col` set to
 * `val` (col NULL = no change; up to two changes). */
static void open_segue_row(fx *f, const char *col, const char *val, const char *col2, const char *val2)
{
	char row[1024] = "";
	for (size_t i = 0; i < NSEGUE; i++) {
		const char *v = SEGUE_DEFAULTS[i];
		if (col && strcmp(col, SEGUE_COLS[i]) == 0)
			v = val;
		if (col2 && strcmp(col2, SEGUE_COLS[i]) == 0)
			v = val2;
		snprintf(row + strlen(row), sizeof row - strlen(row), "%s%s", i ? "," : "", v);
	}
	assert_int_equal(fx_open(f, NULL, "\n", H_SEGUE, row, NULL), 0);
}

static void expect_refused(const char *col, const char *val, const char *want_col, const char *want_reason,
                           const char *want_value)
{
	open_segue_row(&G, col, val, NULL, NULL);
	int rc = fx_row(&G);
	if (rc != 1)
		fail_msg("%s='%s': row accepted, expected refusal", col, val);
	if (want_col == NULL)
		assert_null(G.rp.column);
	else if (G.rp.column == NULL || strcmp(G.rp.column, want_col) != 0)
		fail_msg("%s='%s': problem column '%s', expected '%s'", col, val, G.rp.column ? G.rp.column : "(null)",
		         want_col);
	assert_string_equal(G.rp.reason, want_reason);
	if (want_value == NULL)
		assert_null(G.rp.value);
	else
		assert_string_equal(G.rp.value, want_value);
	assert_true(G.rp.detail[0] != '\0');
	fx_close(&G);
}

static void test_row_field_count(void **state)
{
	(void)state;
	int rc = fx_open(&G, NULL, "\n", H_SEGUE, "cSegue0Problem0Row0001,Too,Short", NULL);
	assert_int_equal(rc, 0);
	assert_int_equal(fx_row(&G), 1);
	assert_null(G.rp.column);
	assert_string_equal(G.rp.reason, "field_count");
	assert_non_null(strstr(G.rp.detail, "3"));
	assert_non_null(strstr(G.rp.detail, "22"));
	fx_close(&G);
}

/* Opens `len` bytes (NULs allowed) as the fixture's text; returns
 * schema_detect's result for its header. */
static int fx_open_bytes(fx *f, const char *buf, size_t len)
{
	fx_close(f);
	f->text = malloc(len + 1);
	assert_non_null(f->text);
	memcpy(f->text, buf, len);
	f->text[len] = '\0';
	assert_int_equal(csv_open_mem(&f->r, f->text, len, &f->err), 0);
	assert_int_equal(csv_next(f->r, &f->rec, &f->err), 1);
	return schema_detect(&f->s, f->rec.fields, f->rec.nfields, NULL, &f->err);
}

/* A segue native file whose one row has field `col` (0-based) replaced by
 * `val` of `vlen` bytes; refused with reason "nul_byte" at column want_col. */
static void expect_nul_refused(size_t col, const char *val, size_t vlen, const char *want_col, const char *detail)
{
	char buf[2048];
	size_t n = (size_t)snprintf(buf, sizeof buf, "%s\n", H_SEGUE);
	for (size_t i = 0; i < NSEGUE; i++) {
		if (i)
			buf[n++] = ',';
		const char *v = i == col ? val : SEGUE_DEFAULTS[i];
		size_t l = i == col ? vlen : strlen(v);
		memcpy(buf + n, v, l);
		n += l;
	}
	buf[n++] = '\n';
	assert_int_equal(fx_open_bytes(&G, buf, n), 0);
	assert_int_equal(fx_row(&G), 1);
	assert_string_equal(G.rp.reason, "nul_byte");
	assert_non_null(G.rp.column);
	assert_string_equal(G.rp.column, want_col);
	assert_non_null(G.rp.value);
	if (strstr(G.rp.detail, detail) == NULL)
		fail_msg("detail '%s' lacks '%s'", G.rp.detail, detail);
	fx_close(&G);
}

static void test_row_nul_byte(void **state)
{
	(void)state;
	/* A valid id, a NUL, junk: as a C string the id would pass. */
	expect_nul_refused(0, "cSegue0Problem0Row0001\0junk", 27, "id", "field 1 of 22 (id) holds a NUL byte");
	expect_nul_refused(19, "120\0", 4, "tempo", "field 20 of 22 (tempo)");
	expect_nul_refused(1, "\0", 1, "name", "field 2 of 22 (name)");
	/* In a column segue does not read (id_artists): refused all the same. */
	static const char t[] = "id,name,popularity,duration_ms,explicit,artists,id_artists,release_date,"
				"danceability,energy,key,loudness,mode,speechiness,acousticness,instrumentalness,"
				"liveness,valence,tempo,time_signature\n"
				"HHHHHHHHHHHHHHHHHHHHHH,Carve,6,126903,0,['Uli'],['x\0'],1922,"
				"0.645,0.445,0,-13.338,1,0.451,0.674,0.744,0.151,0.127,104.851,3\n";
	assert_int_equal(fx_open_bytes(&G, t, sizeof t - 1), 0);
	assert_int_equal(fx_row(&G), 1);
	assert_string_equal(G.rp.reason, "nul_byte");
	assert_null(G.rp.column);
	assert_non_null(strstr(G.rp.detail, "field 7 of 20 holds a NUL byte"));
	fx_close(&G);
}

static void test_row_over_csv_limit(void **state)
{
	(void)state;
	/* A row with a track name longer than CSV_MAX_FIELD: refused as too_long
	 * with the limit in its detail; the next row maps as usual. */
	size_t big = CSV_MAX_FIELD + 10;
	size_t cap = 4096 + big;
	char *buf = malloc(cap);
	assert_non_null(buf);
	size_t n = (size_t)snprintf(buf, cap, "%s\n%s,", H_SEGUE, SEGUE_DEFAULTS[0]);
	memset(buf + n, 'n', big);
	n += big;
	for (size_t i = 2; i < NSEGUE; i++)
		n += (size_t)snprintf(buf + n, cap - n, ",%s", SEGUE_DEFAULTS[i]);
	buf[n++] = '\n';
	for (size_t i = 0; i < NSEGUE; i++)
		n += (size_t)snprintf(buf + n, cap - n, "%s%s", i ? "," : "", SEGUE_DEFAULTS[i]);
	buf[n++] = '\n';
	assert_int_equal(fx_open_bytes(&G, buf, n), 0);
	free(buf);
	assert_int_equal(fx_row(&G), 1);
	assert_string_equal(G.rp.reason, "too_long");
	assert_null(G.rp.column);
	assert_null(G.rp.value);
	char want[32];
	snprintf(want, sizeof want, "%u bytes", CSV_MAX_FIELD);
	assert_non_null(strstr(G.rp.detail, want));
	assert_int_equal(G.rec.line, 2);
	fx_good_row(&G);
	assert_int_equal(G.rec.line, 3);
	fx_end(&G);
	fx_close(&G);
}

static void test_row_rejects(void **state)
{
	(void)state;
	expect_refused("track_id", "", "id", "missing", NULL);
	expect_refused("track_id", "  ", "id", "missing", NULL);
	expect_refused("track_id", "not-a-spotify-id", "id", "bad_id", "not-a-spotify-id");
	expect_refused("track_id", "cSegue0Problem0Row000", "id", "bad_id", "cSegue0Problem0Row000");
	expect_refused("energy", "", "energy", "missing", NULL);
	expect_refused("tempo", " ", "tempo", "missing", NULL);
	expect_refused("danceability", "abc", "danceability", "unparseable", "abc");
	expect_refused("key", "H", "key", "unparseable", "H");
	expect_refused("mode", "Dorian", "mode", "unparseable", "Dorian");
	expect_refused("valence", "nan", "valence", "unparseable", "nan");
	expect_refused("loudness", "-61", "loudness", "out_of_range", "-61");
	expect_refused("loudness", "5.1", "loudness", "out_of_range", "5.1");
	expect_refused("danceability", "1.5", "danceability", "out_of_range", "1.5");
	expect_refused("key", "12", "key", "out_of_range", "12");
	expect_refused("mode", "2", "mode", "out_of_range", "2");
	expect_refused("tempo", "301", "tempo", "out_of_range", "301");
}

static void test_row_all_features_empty(void **state)
{
	(void)state;
	char row[512] = "cSegue0Problem0Row0001,Row,Someone,Album,2015,40,200000,0,pop";
	for (int i = 0; i < TF__AUDIO; i++)
		strcat(row, ",");
	strcat(row, ",4,0");
	assert_int_equal(fx_open(&G, NULL, "\n", H_SEGUE, row, NULL), 0);
	assert_int_equal(fx_row(&G), 1);
	assert_null(G.rp.column);
	assert_string_equal(G.rp.reason, "missing");
	assert_null(G.rp.value);
	fx_close(&G);
}

static void test_loudness_above_zero_accepted(void **state)
{
	(void)state;
	open_segue_row(&G, "loudness", "3.7", NULL, NULL);
	const track_rec *t = fx_good_row(&G);
	assert_true(t->audio[TF_LOUDNESS] == 3.7);
	fx_close(&G);
}

/* Expects the row kept, with one value problem on `want_col` carrying `val`. */
static track_rec expect_value_problem(const char *col, const char *val, const char *want_col, const char *want_reason)
{
	open_segue_row(&G, col, val, NULL, NULL);
	int rc = fx_row(&G);
	if (rc != 0)
		fail_msg("%s='%s': row refused (%s), expected it kept", col, val, G.rp.detail);
	if (G.nv != 1)
		fail_msg("%s='%s': %d value problems, expected 1", col, val, G.nv);
	assert_string_equal(G.vp[0].column, want_col);
	assert_string_equal(G.vp[0].reason, want_reason);
	if (G.vp[0].value == NULL || strcmp(G.vp[0].value, val) != 0)
		fail_msg("%s='%s': problem value is '%s'", col, val, G.vp[0].value ? G.vp[0].value : "(null)");
	assert_true(G.vp[0].detail[0] != '\0');
	track_rec t = G.t;
	fx_close(&G);
	return t;
}

static void test_value_problems(void **state)
{
	(void)state;
	track_rec t;
	t = expect_value_problem("popularity", "abc", "popularity", "unparseable");
	assert_int_equal(t.popularity, -1);
	t = expect_value_problem("popularity", "101", "popularity", "out_of_range");
	assert_int_equal(t.popularity, -1);
	t = expect_value_problem("duration_ms", "0", "duration_ms", "out_of_range");
	assert_int_equal(t.duration_ms, -1);
	t = expect_value_problem("duration_ms", "12.5", "duration_ms", "unparseable");
	assert_int_equal(t.duration_ms, -1);
	t = expect_value_problem("time_signature", "0", "time_signature", "out_of_range");
	assert_int_equal(t.time_signature, -1);
	t = expect_value_problem("time_signature", "0/4", "time_signature", "out_of_range");
	assert_int_equal(t.time_signature, -1);
	t = expect_value_problem("time_signature", "-1", "time_signature", "out_of_range");
	assert_int_equal(t.time_signature, -1);
	t = expect_value_problem("time_signature", "7/8", "time_signature", "unparseable");
	assert_int_equal(t.time_signature, -1);
	t = expect_value_problem("tempo", "0", "tempo", "out_of_range");
	assert_true(isnan(t.audio[TF_TEMPO]));
	t = expect_value_problem("release_date", "2019-13-01", "release_date", "unparseable");
	assert_string_equal(t.release_date, "");
	assert_int_equal(t.year, -1);
	t = expect_value_problem("release_date", "1850-01-01", "release_date", "out_of_range");
	assert_string_equal(t.release_date, "");
	assert_int_equal(t.year, -1);
	t = expect_value_problem("explicit", "maybe", "explicit", "unparseable");
	assert_int_equal(t.explicit_, -1);
}

static void test_value_problems_several_and_capped(void **state)
{
	(void)state;
	open_segue_row(&G, "popularity", "x", "tempo", "0");
	assert_int_equal(fx_row(&G), 0);
	assert_int_equal(G.nv, 2);
	assert_string_equal(G.vp[0].column, "popularity");
	assert_string_equal(G.vp[0].value, "x");
	assert_string_equal(G.vp[1].column, "tempo");
	assert_string_equal(G.vp[1].value, "0");
	fx_close(&G);

	/* Room for one problem: one is listed, both values are dropped. */
	open_segue_row(&G, "popularity", "x", "tempo", "0");
	assert_int_equal(csv_next(G.r, &G.rec, &G.err), 1);
	track_problem vp[1];
	assert_int_equal(schema_map_row(&G.s, &G.rec, &G.t, &G.rp, vp, 1, &G.nv), 0);
	assert_int_equal(G.nv, 1);
	assert_string_equal(vp[0].column, "popularity");
	assert_int_equal(G.t.popularity, -1);
	assert_true(isnan(G.t.audio[TF_TEMPO]));
	fx_close(&G);
}

/* When the year comes from a `year` column (no release date), a year out of
 * range is reported with that column's text. */
static void test_year_column_problem_carries_its_text(void **state)
{
	(void)state;
	int rc = fx_open(&G, NULL, "\n", H_TRACKS_FEATURES,
	                 "2Third0Row0Features000,Three,Album Three,3Album0Three0Fixture00,['C'],['z'],3,1,False,0.6,"
	                 "0.5,0,-9,0,0.05,0.3,0,0.1,0.5,100,200000,4.0,1850,",
	                 NULL);
	assert_int_equal(rc, 0);
	assert_int_equal(fx_row(&G), 0);
	assert_int_equal(G.nv, 1);
	assert_int_equal(G.t.year, -1);
	assert_non_null(G.vp[0].value);
	if (strcmp(G.vp[0].value, "1850") != 0)
		fail_msg("year 1850 reported as column '%s' with value '%s'", G.vp[0].column, G.vp[0].value);
	fx_close(&G);
}

static void test_list_variants(void **state)
{
	(void)state;
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	assert_non_null(out);
	schema_list_variants(out);
	fclose(out);
	const char *names[] = {"spotify_songs",   "hit_predictor",          "spotify_features", "tracks_1921_2020",
	                       "popularity_2024", "spotify_tracks_dataset", "tracks_features",  "segue"};
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		assert_non_null(strstr(buf, names[i]));
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_spotify_songs, teardown),
		cmocka_unit_test_teardown(test_hit_predictor, teardown),
		cmocka_unit_test_teardown(test_spotify_features, teardown),
		cmocka_unit_test_teardown(test_tracks_1921_2020, teardown),
		cmocka_unit_test_teardown(test_popularity_2024_high_order, teardown),
		cmocka_unit_test_teardown(test_popularity_2024_low_order, teardown),
		cmocka_unit_test_teardown(test_spotify_tracks_dataset, teardown),
		cmocka_unit_test_teardown(test_tracks_features, teardown),
		cmocka_unit_test_teardown(test_segue_native, teardown),
		cmocka_unit_test_teardown(test_unknown_header_mentions_map, teardown),
		cmocka_unit_test_teardown(test_map_makes_unknown_header_work, teardown),
		cmocka_unit_test_teardown(test_map_on_top_of_a_variant, teardown),
		cmocka_unit_test_teardown(test_bad_map_specs, teardown),
		cmocka_unit_test_teardown(test_missing_columns_are_named, teardown),
		cmocka_unit_test_teardown(test_missing_column_hint_names_it, teardown),
		cmocka_unit_test_teardown(test_row_field_count, teardown),
		cmocka_unit_test_teardown(test_row_nul_byte, teardown),
		cmocka_unit_test_teardown(test_row_over_csv_limit, teardown),
		cmocka_unit_test_teardown(test_row_rejects, teardown),
		cmocka_unit_test_teardown(test_row_all_features_empty, teardown),
		cmocka_unit_test_teardown(test_loudness_above_zero_accepted, teardown),
		cmocka_unit_test_teardown(test_value_problems, teardown),
		cmocka_unit_test_teardown(test_value_problems_several_and_capped, teardown),
		cmocka_unit_test_teardown(test_year_column_problem_carries_its_text, teardown),
		cmocka_unit_test_teardown(test_list_variants, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
