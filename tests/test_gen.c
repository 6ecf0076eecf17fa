/* test_gen.c: the synthetic catalogue generator (src/synth/gen.c). The files are
 * read back with a small RFC 4180 splitter of the test's own, so these tests do
 * not depend on segue's CSV parser. The files are replaced through temporaries
 * of their own: a link planted at a fixed name is not followed, and a failed
 * write leaves the earlier files and no temporary. */
#include "testutil.h"

#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/atomicfile.h"
#include "synth/gen.h"

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

#define MAXF 32

/* Splits the CSV record at *p into at most MAXF fields, unquoted into
 * `scratch` (cap bytes), and advances *p past its line ending. Returns the
 * number of fields, 0 at the end of input, -1 on a malformed record. */
static int csv_split(const char **p, char *scratch, size_t cap, char **f)
{
	const char *s = *p;
	size_t o = 0;
	int nf = 0;
	if (*s == '\0')
		return 0;
	for (;;) {
		if (nf == MAXF || o >= cap)
			return -1;
		f[nf++] = scratch + o;
		if (*s == '"') {
			s++;
			for (;;) {
				if (*s == '\0')
					return -1;
				if (*s == '"' && s[1] == '"') {
					scratch[o++] = '"';
					s += 2;
				} else if (*s == '"') {
					s++;
					break;
				} else {
					scratch[o++] = *s++;
				}
				if (o >= cap)
					return -1;
			}
			if (*s != ',' && *s != '\n' && *s != '\r' && *s != '\0')
				return -1; /* text after a closing quote */
		} else {
			while (*s != ',' && *s != '\n' && *s != '\r' && *s != '\0') {
				if (*s == '"' || o + 1 >= cap)
					return -1; /* bare quote inside an unquoted field */
				scratch[o++] = *s++;
			}
		}
		scratch[o++] = '\0';
		if (*s == ',') {
			s++;
			continue;
		}
		if (*s == '\r')
			s++;
		if (*s == '\n')
			s++;
		*p = s;
		return nf;
	}
}

static char *read_file(const char *dir, const char *name, size_t *len)
{
	char path[1200];
	if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
		return NULL;
	return tu_read(path, len);
}

static int file_exists(const char *dir, const char *name)
{
	char path[1200];
	if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
		return 0;
	return access(path, F_OK) == 0;
}

static int same_file(const char *d1, const char *d2, const char *name)
{
	size_t n1 = 0, n2 = 0;
	char *a = read_file(d1, name, &n1), *b = read_file(d2, name, &n2);
	int same = a != NULL && b != NULL && n1 == n2 && memcmp(a, b, n1) == 0;
	free(a);
	free(b);
	return same;
}

static int gen_into(const char *dir, uint64_t seed, size_t tracks, size_t playlists, gen_result *res)
{
	gen_options o;
	gen_options_init(&o);
	o.seed = seed;
	o.tracks = tracks;
	o.playlists = playlists;
	o.out_dir = dir;
	seg_error err;
	int rc = gen_write(&o, res, &err);
	if (rc != 0)
		fprintf(stderr, "gen_write: %s\n", err.msg);
	return rc;
}

static int is_base62(char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z');
}

static int genre_index(const char *name)
{
	for (size_t g = 0; g < gen_genre_count(); g++)
		if (strcmp(gen_genre_name(g), name) == 0)
			return (int)g;
	return -1;
}

/* A deterministic PRNG for the test's own sampling (splitmix64). */
static uint64_t test_rand(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* ------------------------------------------------------------------------ */
/* The shared 20k-track catalogue, generated and parsed once                */
/* ------------------------------------------------------------------------ */

#define BIG_TRACKS 20000
#define BIG_PLAYLISTS 2000
#define NFEAT 7 /* danceability energy speechiness acousticness instrumentalness liveness valence */

typedef struct ttrack {
	char id[23];
	char name[128];
	char artist0[128]; /* first artist */
	int nartists;
	int g1, g2; /* g2 = -1 when there is one genre */
	double f[NFEAT];
	double loud, tempo;
	int pop, explicit_, year, key, mode, ts;
	long dur_ms;
	int quoted; /* the raw row had a quoted field */
} ttrack;

typedef struct big {
	const char *dir;
	gen_result res;
	ttrack *t;  /* [BIG_TRACKS] in file order */
	int *by_id; /* [BIG_TRACKS] indices into t sorted by id */
} big;

static big B;

static int cmp_by_id(const void *a, const void *b) { return strcmp(B.t[*(const int *)a].id, B.t[*(const int *)b].id); }

static int find_track(const char *id)
{
	size_t lo = 0, hi = BIG_TRACKS;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(B.t[B.by_id[mid]].id, id);
		if (c == 0)
			return B.by_id[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static int setup_big(void **state)
{
	(void)state;
	B.dir = tu_tmpdir();
	if (gen_into(B.dir, 42, BIG_TRACKS, BIG_PLAYLISTS, &B.res) != 0)
		return -1;
	B.t = calloc(BIG_TRACKS, sizeof *B.t);
	B.by_id = malloc(BIG_TRACKS * sizeof *B.by_id);
	return B.t != NULL && B.by_id != NULL ? 0 : -1;
}

static int teardown_big(void **state)
{
	(void)state;
	free(B.t);
	free(B.by_id);
	tu_rmtree(B.dir);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Options and errors                                                       */
/* ------------------------------------------------------------------------ */

static void test_defaults(void **state)
{
	(void)state;
	gen_options o;
	memset(&o, 0x55, sizeof o);
	gen_options_init(&o);
	assert_int_equal(o.seed, 42);
	assert_int_equal(o.tracks, 20000);
	assert_int_equal(o.playlists, 2000);
	assert_null(o.out_dir);
	assert_null(o.progress);
	assert_true(gen_genre_count() >= 12);
	assert_string_equal(gen_genre_name(0), "pop");
	assert_null(gen_genre_name(gen_genre_count()));
}

static void test_bad_options(void **state)
{
	(void)state;
	const char *dir = tu_tmpdir();
	gen_options o;
	gen_result res;
	seg_error err;
	memset(&res, 0x5a, sizeof res);

	gen_options_init(&o);
	assert_int_equal(gen_write(&o, &res, &err), SEG_EINVAL); /* no out_dir */
	assert_int_equal(err.code, SEG_EINVAL);
	assert_non_null(strstr(err.msg, "output directory"));

	o.out_dir = dir;
	o.tracks = 0;
	assert_int_equal(gen_write(&o, &res, &err), SEG_EINVAL);
	assert_non_null(strstr(err.msg, "tracks"));
	o.tracks = (size_t)GEN_MAX_TRACKS + 1;
	assert_int_equal(gen_write(&o, &res, &err), SEG_EINVAL);

	/* out_dir is a regular file, or below one: not creatable even as root. */
	const char *file = tu_write(dir, "plain", "not a directory\n");
	o.tracks = 10;
	o.out_dir = file;
	assert_int_equal(gen_write(&o, &res, &err), SEG_EIO);
	assert_non_null(strstr(err.msg, file));
	char below[1200];
	snprintf(below, sizeof below, "%s/sub/dir", file);
	o.out_dir = below;
	assert_int_equal(gen_write(&o, &res, &err), SEG_EIO);
	assert_non_null(strstr(err.msg, "cannot create output directory"));

	/* res is untouched on error; err may be NULL. */
	assert_int_equal(res.tracks, 0x5a5a5a5a5a5a5a5aull);
	assert_int_equal(gen_write(&o, NULL, NULL), SEG_EIO);
	tu_rmtree(dir);
}

/* ------------------------------------------------------------------------ */
/* Determinism, file set, progress                                          */
/* ------------------------------------------------------------------------ */

static void test_determinism(void **state)
{
	(void)state;
	const char *a = tu_tmpdir(), *b = tu_tmpdir(), *c = tu_tmpdir();
	char nested[1200];
	snprintf(nested, sizeof nested, "%s/x/y", b); /* created with parents */
	gen_result ra, rb, rc;
	assert_int_equal(gen_into(a, 7, 3000, 300, &ra), 0);
	assert_int_equal(gen_into(nested, 7, 3000, 300, &rb), 0);
	assert_int_equal(gen_into(c, 8, 3000, 300, &rc), 0);

	assert_true(same_file(a, nested, GEN_TRACKS_FILE));
	assert_true(same_file(a, nested, GEN_PLAYLISTS_FILE));
	assert_true(same_file(a, nested, GEN_PLAYLIST_TRACKS_FILE));
	assert_int_equal(ra.bytes, rb.bytes);
	assert_int_equal(ra.playlist_tracks, rb.playlist_tracks);
	assert_false(same_file(a, c, GEN_TRACKS_FILE));
	assert_false(same_file(a, c, GEN_PLAYLIST_TRACKS_FILE));

	/* The playlist count does not change the track file; playlists = 0
	 * writes no playlist files and removes stale ones. */
	assert_int_equal(gen_into(nested, 7, 3000, 0, &rb), 0);
	assert_true(same_file(a, nested, GEN_TRACKS_FILE));
	assert_false(file_exists(nested, GEN_PLAYLISTS_FILE));
	assert_false(file_exists(nested, GEN_PLAYLIST_TRACKS_FILE));
	assert_string_equal(rb.playlists_path, "");
	assert_int_equal(rb.playlists, 0);
	assert_int_equal(rb.playlist_tracks, 0);
	assert_non_null(strstr(rb.tracks_path, GEN_TRACKS_FILE));
	assert_false(file_exists(nested, GEN_TRACKS_FILE ".tmp"));
	tu_rmtree(a);
	tu_rmtree(b);
	tu_rmtree(c);
}

/* How many names in `dir` are temporaries (NAME.tmp.XXXXXX) of the files
 * gen writes. */
static int count_temporaries(const char *dir)
{
	static const char *const files[] = {GEN_TRACKS_FILE, GEN_PLAYLISTS_FILE, GEN_PLAYLIST_TRACKS_FILE};
	DIR *d = opendir(dir);
	assert_non_null(d);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		for (int k = 0; k < 3; k++)
			n += atomicfile_is_temp_of(e->d_name, files[k]);
	closedir(d);
	return n;
}

/* Links planted at the fixed temporary names (NAME.tmp, which gen once
 * opened with fopen) are not written through: each file goes to a new
 * temporary of its own, renamed into place as a regular file with the mode
 * fopen gives; and nothing temporary is left. */
static void test_planted_links(void **state)
{
	(void)state;
	const char *dir = tu_tmpdir();
	static const char *const files[] = {GEN_TRACKS_FILE, GEN_PLAYLISTS_FILE, GEN_PLAYLIST_TRACKS_FILE};
	char out[1200], victim[1200], link[1400], path[1400];
	snprintf(out, sizeof out, "%s/out", dir);
	assert_int_equal(mkdir(out, 0777), 0);
	snprintf(victim, sizeof victim, "%s/victim", dir);
	tu_write(dir, "victim", "precious\n");
	for (int k = 0; k < 3; k++) {
		snprintf(link, sizeof link, "%s/%s.tmp", out, files[k]);
		assert_int_equal(symlink(victim, link), 0);
	}
	mode_t was = umask(027);
	gen_result res;
	int rc = gen_into(out, 7, 300, 30, &res);
	umask(was);
	assert_int_equal(rc, 0);
	char *text = tu_read(victim, NULL);
	assert_string_equal(text, "precious\n");
	free(text);
	for (int k = 0; k < 3; k++) {
		struct stat st;
		snprintf(path, sizeof path, "%s/%s", out, files[k]);
		assert_int_equal(lstat(path, &st), 0);
		assert_true(S_ISREG(st.st_mode));
		assert_int_equal(st.st_mode & 0777, 0640);
		snprintf(link, sizeof link, "%s/%s.tmp", out, files[k]);
		assert_int_equal(lstat(link, &st), 0);
		assert_true(S_ISLNK(st.st_mode)); /* not gen's to remove */
	}
	assert_int_equal(count_temporaries(out), 0);
	tu_rmtree(dir);
}

/* A write that fails (the file size limit, EFBIG) fails the call with a
 * message naming the temporary, leaves the files of an earlier run as they
 * were, and no temporary. */
static void test_write_failure(void **state)
{
	(void)state;
	const char *dir = tu_tmpdir();
	gen_result res;
	assert_int_equal(gen_into(dir, 7, 300, 30, &res), 0);
	char *before = NULL, path[1200];
	snprintf(path, sizeof path, "%s/%s", dir, GEN_TRACKS_FILE);
	before = tu_read(path, NULL);
	assert_non_null(before);

	struct rlimit was, small;
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &was), 0);
	small = was;
	small.rlim_cur = 4096;
	void (*sig)(int) = signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	gen_options o;
	gen_options_init(&o);
	o.out_dir = dir;
	o.seed = 8;
	o.tracks = 3000;
	o.playlists = 300;
	seg_error err = {0};
	int rc = gen_write(&o, &res, &err);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &was), 0);
	signal(SIGXFSZ, sig);
	assert_int_equal(rc, SEG_EIO);
	assert_non_null(strstr(err.msg, GEN_TRACKS_FILE ".tmp."));
	char *after = tu_read(path, NULL);
	assert_non_null(after);
	assert_string_equal(after, before);
	free(before);
	free(after);
	assert_int_equal(count_temporaries(dir), 0);
	tu_rmtree(dir);
}

/* Tiny catalogues still work: every playlist is as long as it can be. */
static void test_tiny(void **state)
{
	(void)state;
	const char *dir = tu_tmpdir();
	gen_result res;
	assert_int_equal(gen_into(dir, 1, 1, 3, &res), 0);
	assert_int_equal(res.tracks, 1);
	assert_int_equal(res.artists, 1);
	assert_int_equal(res.playlists, 3);
	assert_int_equal(res.playlist_tracks, 3); /* one track each */
	tu_rmtree(dir);
}

typedef struct progress_log {
	uint64_t calls, last_done, last_total;
	int monotonic;
} progress_log;

static void on_progress(void *ctx, uint64_t done, uint64_t total)
{
	progress_log *p = ctx;
	if (done < p->last_done || done > total)
		p->monotonic = 0;
	p->calls++;
	p->last_done = done;
	p->last_total = total;
}

static void test_progress(void **state)
{
	(void)state;
	const char *dir = tu_tmpdir();
	progress_log log = {0, 0, 0, 1};
	gen_options o;
	gen_options_init(&o);
	o.tracks = 40000;
	o.playlists = 600;
	o.out_dir = dir;
	o.progress = on_progress;
	o.progress_ctx = &log;
	assert_int_equal(gen_write(&o, NULL, NULL), 0);
	assert_true(log.calls >= 3);
	assert_true(log.monotonic);
	assert_int_equal(log.last_total, 40600);
	assert_int_equal(log.last_done, 40600);
	tu_rmtree(dir);
}

/* ------------------------------------------------------------------------ */
/* The track file                                                           */
/* ------------------------------------------------------------------------ */

static const char TRACKS_HEADER[] =
	"track_id,track_name,artists,album_name,release_date,popularity,duration_ms,explicit,"
	"genres,danceability,energy,key,loudness,mode,speechiness,acousticness,instrumentalness,"
	"liveness,valence,tempo,time_signature,synthetic";

/* A number field: parses all of it or fails the test. */
static double num(const char *s)
{
	char *end;
	assert_true(*s != '\0');
	double v = strtod(s, &end);
	if (*end != '\0')
		fail_msg("not a number: '%s'", s);
	return v;
}

static int unit(const char *s)
{
	double v = num(s);
	return v >= 0.0 && v <= 1.0;
}

static int valid_date(const char *s, int *year)
{
	size_t n = strlen(s);
	int y = 0, m = 1, d = 1;
	if (n == 4)
		return sscanf(s, "%4d", year) == 1 && *year >= 1960 && *year <= 2024;
	if (n == 7 && sscanf(s, "%4d-%2d", &y, &m) == 2 && s[4] == '-')
		return (*year = y) >= 1960 && y <= 2024 && m >= 1 && m <= 12;
	if (n == 10 && sscanf(s, "%4d-%2d-%2d", &y, &m, &d) == 3 && s[4] == '-' && s[7] == '-')
		return (*year = y) >= 1960 && y <= 2024 && m >= 1 && m <= 12 && d >= 1 && d <= 31;
	return 0;
}

/* Parses and checks every row of the shared catalogue; fills B.t for the
 * tests after it (cmocka runs a group's tests in order). */
static void test_tracks_file(void **state)
{
	(void)state;
	size_t len;
	char *text = read_file(B.dir, GEN_TRACKS_FILE, &len);
	assert_non_null(text);
	assert_true(len > 0 && len < B.res.bytes); /* res.bytes counts all three files */
	const char *p = text;
	char scratch[4096], *f[MAXF];

	assert_int_equal(csv_split(&p, scratch, sizeof scratch, f), 22);
	assert_memory_equal(text, TRACKS_HEADER, strlen(TRACKS_HEADER));
	assert_int_equal(text[strlen(TRACKS_HEADER)], '\n');

	size_t rows = 0, multi = 0, quoted = 0, two_genres = 0;
	int nf;
	const char *row = p;
	while ((nf = csv_split(&p, scratch, sizeof scratch, f)) != 0) {
		if (nf != 22)
			fail_msg("row %zu has %d fields", rows + 1, nf);
		assert_true(rows < BIG_TRACKS);
		ttrack *t = &B.t[rows];
		t->quoted = memchr(row, '"', (size_t)(p - row)) != NULL;
		quoted += t->quoted;
		row = p;

		/* id: 22 base-62 characters */
		assert_int_equal(strlen(f[0]), 22);
		for (int k = 0; k < 22; k++)
			assert_true(is_base62(f[0][k]));
		memcpy(t->id, f[0], 23);

		/* names are labelled synthetic */
		assert_non_null(strstr(f[1], "Synthetic"));
		assert_true(strlen(f[1]) < sizeof t->name);
		strcpy(t->name, f[1]);
		assert_non_null(strstr(f[3], "Synthetic"));
		t->nartists = 0;
		for (char *a = f[2], *next; a != NULL; a = next) {
			next = strchr(a, ';');
			if (next != NULL)
				*next++ = '\0';
			assert_true(strncmp(a, "Synthetic Artist ", 17) == 0);
			if (t->nartists++ == 0) {
				assert_true(strlen(a) < sizeof t->artist0);
				strcpy(t->artist0, a);
			}
		}
		multi += t->nartists > 1;

		assert_true(valid_date(f[4], &t->year));
		t->pop = (int)num(f[5]);
		assert_true(t->pop >= 0 && t->pop <= 100);
		t->dur_ms = (long)num(f[6]);
		assert_true(t->dur_ms >= 30000 && t->dur_ms <= 1200000);
		assert_true(strcmp(f[7], "0") == 0 || strcmp(f[7], "1") == 0);
		t->explicit_ = f[7][0] == '1';

		char *semi = strchr(f[8], ';');
		if (semi != NULL)
			*semi++ = '\0';
		t->g1 = genre_index(f[8]);
		t->g2 = semi != NULL ? genre_index(semi) : -1;
		assert_true(t->g1 >= 0);
		if (semi != NULL) {
			assert_true(t->g2 >= 0 && t->g2 != t->g1);
			two_genres++;
		}

		static const int FCOL[NFEAT] = {9, 10, 14, 15, 16, 17, 18};
		for (int k = 0; k < NFEAT; k++) {
			assert_true(unit(f[FCOL[k]]));
			t->f[k] = num(f[FCOL[k]]);
		}
		t->key = (int)num(f[11]);
		assert_true(t->key >= 0 && t->key <= 11);
		t->loud = num(f[12]);
		assert_true(t->loud >= -60.0 && t->loud <= 0.0);
		t->mode = (int)num(f[13]);
		assert_true(t->mode == 0 || t->mode == 1);
		t->tempo = num(f[19]);
		assert_true(t->tempo >= 50.0 && t->tempo <= 220.0);
		t->ts = (int)num(f[20]);
		assert_true(t->ts == 3 || t->ts == 4 || t->ts == 5);
		assert_string_equal(f[21], "1");
		rows++;
	}
	assert_int_equal(rows, BIG_TRACKS);
	assert_int_equal(B.res.tracks, BIG_TRACKS);
	free(text);

	/* ids unique */
	for (int i = 0; i < BIG_TRACKS; i++)
		B.by_id[i] = i;
	qsort(B.by_id, BIG_TRACKS, sizeof *B.by_id, cmp_by_id);
	for (int i = 1; i < BIG_TRACKS; i++)
		assert_true(strcmp(B.t[B.by_id[i - 1]].id, B.t[B.by_id[i]].id) < 0);

	/* about 10% with featured artists; some rows quoted; some two genres */
	assert_true(multi > BIG_TRACKS / 20 && multi < BIG_TRACKS * 3 / 20);
	assert_true(quoted > 20);
	assert_true(two_genres > BIG_TRACKS / 20);
	/* all time signatures and the uneven key distribution occur */
	int ts3 = 0, ts5 = 0, key[12] = {0};
	for (int i = 0; i < BIG_TRACKS; i++) {
		ts3 += B.t[i].ts == 3;
		ts5 += B.t[i].ts == 5;
		key[B.t[i].key]++;
	}
	assert_true(ts3 > 100 && ts5 > 20);
	assert_true(key[0] > 2 * key[3]); /* C far more common than D# */
}

/* ------------------------------------------------------------------------ */
/* Statistics                                                               */
/* ------------------------------------------------------------------------ */

enum { F_DANCE, F_ENERGY, F_SPEECH, F_ACOUSTIC, F_INSTR, F_LIVE, F_VALENCE };

/* Mean of feature k (or -1: tempo, -2: explicit) over tracks whose primary genre is `genre`. */
static double genre_mean(const char *genre, int k)
{
	int g = genre_index(genre);
	assert_true(g >= 0);
	double sum = 0;
	long n = 0;
	for (int i = 0; i < BIG_TRACKS; i++) {
		const ttrack *t = &B.t[i];
		if (t->g1 != g)
			continue;
		sum += k >= 0 ? t->f[k] : k == -1 ? t->tempo : t->explicit_;
		n++;
	}
	assert_true(n > 200);
	return sum / (double)n;
}

static double correlation(const double *x, const double *y, size_t n)
{
	double mx = 0, my = 0, sxx = 0, syy = 0, sxy = 0;
	for (size_t i = 0; i < n; i++) {
		mx += x[i];
		my += y[i];
	}
	mx /= (double)n;
	my /= (double)n;
	for (size_t i = 0; i < n; i++) {
		sxx += (x[i] - mx) * (x[i] - mx);
		syy += (y[i] - my) * (y[i] - my);
		sxy += (x[i] - mx) * (y[i] - my);
	}
	return sxy / sqrt(sxx * syy);
}

static void test_genre_statistics(void **state)
{
	(void)state;
	assert_true(genre_mean("classical", F_ACOUSTIC) > 0.7);
	assert_true(genre_mean("edm", F_ACOUSTIC) < 0.2);
	assert_true(genre_mean("ambient", F_INSTR) > 0.3);
	assert_true(genre_mean("pop", F_INSTR) < 0.1);
	assert_true(genre_mean("edm", F_ENERGY) > 0.75);
	assert_true(genre_mean("metal", F_ENERGY) > 0.75);
	assert_true(genre_mean("classical", F_ENERGY) < 0.3);
	assert_true(genre_mean("hip-hop", F_SPEECH) > genre_mean("pop", F_SPEECH) + 0.08);
	assert_true(genre_mean("rap", F_SPEECH) > genre_mean("rock", F_SPEECH) + 0.1);
	assert_true(genre_mean("hip-hop", F_DANCE) > genre_mean("rock", F_DANCE) + 0.1);
	double edm_tempo = genre_mean("edm", -1), hiphop_tempo = genre_mean("hip-hop", -1);
	assert_true(edm_tempo > 120 && edm_tempo < 132);
	assert_true(hiphop_tempo > 88 && hiphop_tempo < 104);
	assert_true(genre_mean("rap", -2) > 0.4);
	assert_true(genre_mean("classical", -2) < 0.05);

	double *x = malloc(BIG_TRACKS * sizeof *x), *y = malloc(BIG_TRACKS * sizeof *y);
	assert_non_null(x);
	assert_non_null(y);
	for (int i = 0; i < BIG_TRACKS; i++) {
		x[i] = B.t[i].f[F_ENERGY];
		y[i] = B.t[i].loud;
	}
	double r_loud = correlation(x, y, BIG_TRACKS);
	/* Popularity: something to learn (danceability, recency), not everything. */
	for (int i = 0; i < BIG_TRACKS; i++) {
		x[i] = B.t[i].f[F_DANCE];
		y[i] = B.t[i].pop;
	}
	double r_dance = correlation(x, y, BIG_TRACKS);
	for (int i = 0; i < BIG_TRACKS; i++)
		x[i] = B.t[i].year;
	double r_year = correlation(x, y, BIG_TRACKS);
	print_message("corr(energy, loudness) = %.3f, corr(danceability, popularity) = %.3f, "
	              "corr(year, popularity) = %.3f\n",
	              r_loud, r_dance, r_year);
	assert_true(r_loud > 0.5);
	assert_true(r_dance > 0.1 && r_dance < 0.8);
	assert_true(r_year > 0.1 && r_year < 0.8);
	free(x);
	free(y);
}

/* ------------------------------------------------------------------------ */
/* The playlist files                                                       */
/* ------------------------------------------------------------------------ */

static double feature_distance(const ttrack *a, const ttrack *b)
{
	double s = 0;
	for (int k = 0; k < NFEAT; k++)
		s += (a->f[k] - b->f[k]) * (a->f[k] - b->f[k]);
	return sqrt(s);
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

static void test_playlists(void **state)
{
	(void)state;
	char scratch[4096], *f[MAXF];
	size_t len;

	/* The playlists file: one row per pid, in order. */
	char *ptext = read_file(B.dir, GEN_PLAYLISTS_FILE, &len);
	assert_non_null(ptext);
	const char *p = ptext;
	assert_int_equal(csv_split(&p, scratch, sizeof scratch, f), 9);
	const char *hdr = "pid,source_slice,name,description,num_followers,num_tracks,num_edits,"
			  "num_artists,duration_ms\n";
	assert_memory_equal(ptext, hdr, strlen(hdr));
	long *want_tracks = calloc(BIG_PLAYLISTS, sizeof *want_tracks);
	long *want_artists = calloc(BIG_PLAYLISTS, sizeof *want_artists);
	long long *want_dur = calloc(BIG_PLAYLISTS, sizeof *want_dur);
	int *lengths = calloc(BIG_PLAYLISTS, sizeof *lengths);
	assert_non_null(want_tracks);
	assert_non_null(want_artists);
	assert_non_null(want_dur);
	assert_non_null(lengths);
	long pid = 0;
	int nf;
	while ((nf = csv_split(&p, scratch, sizeof scratch, f)) != 0) {
		assert_int_equal(nf, 9);
		assert_true(pid < BIG_PLAYLISTS);
		assert_int_equal((long)num(f[0]), pid);
		assert_string_equal(f[1], "synthetic");
		assert_non_null(strstr(f[2], "Synthetic"));
		assert_string_equal(f[3], "synthetic playlist generated by segue");
		assert_true(num(f[4]) >= 1);
		want_tracks[pid] = (long)num(f[5]);
		assert_true(want_tracks[pid] >= 10 && want_tracks[pid] <= 120);
		lengths[pid] = (int)want_tracks[pid];
		assert_true(num(f[6]) >= 1);
		want_artists[pid] = (long)num(f[7]);
		want_dur[pid] = (long long)num(f[8]);
		pid++;
	}
	assert_int_equal(pid, BIG_PLAYLISTS);
	assert_int_equal(B.res.playlists, BIG_PLAYLISTS);
	free(ptext);
	qsort(lengths, BIG_PLAYLISTS, sizeof *lengths, cmp_int);
	int median = lengths[BIG_PLAYLISTS / 2];
	assert_true(median >= 30 && median <= 50);

	/* The playlist-tracks file: rows agree with the playlists and the tracks. */
	char *ttext = read_file(B.dir, GEN_PLAYLIST_TRACKS_FILE, &len);
	assert_non_null(ttext);
	p = ttext;
	assert_int_equal(csv_split(&p, scratch, sizeof scratch, f), 5);
	hdr = "pid,pos,track_id,artist_name,track_name\n";
	assert_memory_equal(ttext, hdr, strlen(hdr));

	int members[120]; /* track indices of the current playlist */
	long cur = -1, n = 0, rows = 0;
	long long dur = 0;
	double within = 0, random_pairs = 0;
	long within_n = 0, random_n = 0;
	uint64_t rng = 12345;
	for (;;) {
		nf = csv_split(&p, scratch, sizeof scratch, f);
		long row_pid = nf == 0 ? BIG_PLAYLISTS : (long)num(f[0]);
		if (row_pid != cur) {
			if (cur >= 0) { /* close the previous playlist */
				assert_int_equal(n, want_tracks[cur]);
				assert_int_equal(dur, want_dur[cur]);
				long distinct = 0;
				for (long i = 0; i < n; i++) {
					long j = 0;
					while (j < i && strcmp(B.t[members[j]].artist0, B.t[members[i]].artist0) != 0)
						j++;
					distinct += j == i;
					for (j = i + 1; j < n; j++) {
						assert_int_not_equal(members[i], members[j]);
						within += feature_distance(&B.t[members[i]], &B.t[members[j]]);
						within_n++;
						int a = (int)(test_rand(&rng) % BIG_TRACKS);
						int b = (int)(test_rand(&rng) % BIG_TRACKS);
						random_pairs += feature_distance(&B.t[a], &B.t[b]);
						random_n++;
					}
				}
				assert_int_equal(distinct, want_artists[cur]);
			}
			if (nf == 0)
				break;
			assert_int_equal(row_pid, cur + 1); /* pids in order, none skipped */
			cur = row_pid;
			n = 0;
			dur = 0;
		}
		assert_int_equal(nf, 5);
		assert_int_equal((long)num(f[1]), n); /* pos is 0-based and dense */
		int t = find_track(f[2]);
		if (t < 0)
			fail_msg("playlist %ld: track %s is not in the track file", cur, f[2]);
		assert_string_equal(f[3], B.t[t].artist0);
		assert_string_equal(f[4], B.t[t].name);
		assert_true(n < 120);
		members[n++] = t;
		dur += B.t[t].dur_ms;
		rows++;
	}
	assert_int_equal(cur, BIG_PLAYLISTS - 1);
	assert_int_equal(rows, (long)B.res.playlist_tracks);
	free(ttext);
	free(want_tracks);
	free(want_artists);
	free(want_dur);
	free(lengths);

	/* Collaborative signal: tracks that share a playlist are closer in
	 * feature space than random pairs, but not copies of each other. */
	within /= (double)within_n;
	random_pairs /= (double)random_n;
	print_message("mean feature distance: within playlists %.3f, random pairs %.3f\n", within, random_pairs);
	assert_true(within < 0.85 * random_pairs);
	assert_true(within > 0.2);
}

static int cmp_id(const void *a, const void *b) { return strcmp(a, b); }

/* Playlist lengths (from the entries file: pid is its first field) and the
 * number of playlists of the most used track. lengths: [P], zeroed here. */
static void entry_shape(const char *dir, size_t P, int *lengths, int *top_use)
{
	size_t n = 0;
	char *text = read_file(dir, GEN_PLAYLIST_TRACKS_FILE, &n);
	assert_non_null(text);
	memset(lengths, 0, P * sizeof *lengths);
	size_t cap = 1 << 16, used = 0;
	char(*ids)[23] = calloc(cap, sizeof *ids);
	assert_non_null(ids);
	for (const char *line = strchr(text, '\n') + 1; line < text + n && *line; line = strchr(line, '\n') + 1) {
		size_t pid = strtoul(line, NULL, 10);
		assert_true(pid < P);
		lengths[pid]++;
		const char *id = strchr(strchr(line, ',') + 1, ',') + 1;
		if (used == cap) {
			cap *= 2;
			ids = realloc(ids, cap * sizeof *ids);
			assert_non_null(ids);
		}
		memcpy(ids[used], id, 22);
		ids[used++][22] = '\0';
	}
	qsort(ids, used, sizeof *ids, cmp_id);
	int best = 0;
	for (size_t i = 0, j; i < used; i = j) {
		for (j = i; j < used && strcmp(ids[i], ids[j]) == 0; j++)
			;
		if ((int)(j - i) > best)
			best = (int)(j - i);
	}
	*top_use = best;
	free(ids);
	free(text);
}

/* mpd_shape: the MPD's length bounds and moments, the same track file, and
 * track use far more concentrated on the most popular tracks. */
static void test_mpd_shape(void **state)
{
	(void)state;
	enum { P = 4000 };
	const char *a = tu_tmpdir(), *b = tu_tmpdir();
	gen_options o;
	gen_options_init(&o);
	o.seed = 11;
	o.tracks = 20000;
	o.playlists = P;
	o.out_dir = a;
	seg_error err;
	gen_result ra, rb;
	assert_int_equal(gen_write(&o, &ra, &err), 0);
	o.out_dir = b;
	o.mpd_shape = 1;
	assert_int_equal(gen_write(&o, &rb, &err), 0);
	assert_true(same_file(a, b, GEN_TRACKS_FILE));

	int *len = calloc(P, sizeof *len);
	assert_non_null(len);
	int top_demo = 0, top_mpd = 0;
	entry_shape(a, P, len, &top_demo);
	entry_shape(b, P, len, &top_mpd);
	long sum = 0;
	int lo = 1000, hi = 0;
	for (int i = 0; i < P; i++) {
		sum += len[i];
		lo = len[i] < lo ? len[i] : lo;
		hi = len[i] > hi ? len[i] : hi;
	}
	assert_int_equal((uint64_t)sum, rb.playlist_tracks);
	double mean = (double)sum / P;
	assert_true(lo >= 5 && lo < 10);    /* shorter than the demo's 10 */
	assert_true(hi <= 250 && hi > 200); /* the long tail */
	assert_true(mean > 63 && mean < 69);
	qsort(len, P, sizeof *len, cmp_int);
	assert_true(len[P / 2] >= 47 && len[P / 2] <= 55);
	/* Zipf-like use: the top track is in many more playlists. */
	printf("mpd shape: mean length %.1f, median %d; top track in %d playlists (demo shape %d)\n", mean, len[P / 2],
	       top_mpd, top_demo);
	assert_true(top_mpd > 3 * top_demo);
	free(len);
	tu_rmtree(a);
	tu_rmtree(b);
}

int main(void)
{
	/* clang-format off */
	const struct CMUnitTest standalone[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_bad_options),
		cmocka_unit_test(test_determinism),
		cmocka_unit_test(test_tiny),
		cmocka_unit_test(test_planted_links),
		cmocka_unit_test(test_write_failure),
		cmocka_unit_test(test_progress),
		cmocka_unit_test(test_mpd_shape),
	};
	/* clang-format on */
	/* In order: test_tracks_file parses the catalogue the others use. */
	const struct CMUnitTest catalogue[] = {
		cmocka_unit_test(test_tracks_file),
		cmocka_unit_test(test_genre_statistics),
		cmocka_unit_test(test_playlists),
	};
	int failed = cmocka_run_group_tests_name("gen", standalone, NULL, NULL);
	failed += cmocka_run_group_tests_name("gen_catalogue", catalogue, setup_big, teardown_big);
	return failed;
}
