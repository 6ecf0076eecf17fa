/* gen.c: the synthetic demo catalogue and playlists (see gen.h). It models
 * what segue needs to exercise (per-genre feature clusters, learnable but noisy
 * popularity, playlists with collaborative signal); it does not try to be a
 * faithful model of any real Spotify export.
 *
 * Legend: N tracks, A artists, G genres, P playlists, L tracks in a playlist.
 *
 * The model, in short. Each genre has its own parameters (GENRES below): beta
 * means for the 0..1 features, loudness tied to energy, a normal tempo, a
 * log-normal duration, major-key, waltz and explicit shares, an age profile
 * and a popularity effect. Artists belong to a genre, get Zipf-like track
 * counts, a small shift of the genre's feature means, a popularity effect, a
 * career year and a hidden "scene". A playlist has a taste (one or two genres,
 * a mood point in energy/valence space, a scene) and picks popular tracks
 * near its mood, more by artists it already has, and a few at random. The
 * scene is not visible in any feature, so collaborative filtering can learn
 * something from the playlists that content similarity cannot.
 *
 * Determinism: every random number comes from xoshiro256** streams (core/rng)
 * seeded through splitmix64 from (seed, purpose, index), so a track's values depend
 * only on the seed, its index and the artist table, and a playlist's only on
 * the seed, its pid and the track table. Numbers are printed by the fixed-point
 * formatter below rather than printf, which is both faster and immune to the
 * locale's decimal separator. */
#include "synth/gen.h"

#include "core/array.h"
#include "core/atomicfile.h"
#include "core/rng.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* PRNG and samplers                                                        */
/* ------------------------------------------------------------------------ */

/* Purposes, mixed into the seed so that each gets an independent stream. */
enum {
	TAG_ARTISTS = 1,
	TAG_SHUFFLE,
	TAG_TRACK,
	TAG_ID_LO,
	TAG_ID_HI,
	TAG_NAME,
	TAG_ALBUM,
	TAG_PLAYLIST,
};

/* A well-mixed hash of two words, used to derive stream seeds and names. */
static uint64_t hash2(uint64_t a, uint64_t b) { return rng_mix64(a ^ rng_mix64(b + RNG_GOLDEN)); }

/* rng_below as the 32-bit index every caller here wants (n < 2^32). */
static uint32_t draw_below(rng *r, uint64_t n) { return (uint32_t)rng_below(r, n); }

/* Gamma(shape, 1) by Marsaglia and Tsang (2000); shape < 1 by boosting. */
static double draw_gamma(rng *r, double shape)
{
	if (shape < 1.0)
		return draw_gamma(r, shape + 1.0) * pow(rng_open01(r), 1.0 / shape);
	double d = shape - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
	for (;;) {
		double x = rng_normal(r), v = 1.0 + c * x;
		if (v <= 0.0)
			continue;
		v = v * v * v;
		double u = rng_open01(r);
		if (u < 1.0 - 0.0331 * (x * x) * (x * x))
			return d * v;
		if (log(u) < 0.5 * x * x + d * (1.0 - v + log(v)))
			return d * v;
	}
}

/* Beta with mean mu and concentration kappa (a = mu kappa, b = (1 - mu) kappa),
 * as X / (X + Y) of two gammas. mu is clamped into (0, 1) first. */
static double draw_beta(rng *r, double mu, double kappa)
{
	if (mu < 0.01)
		mu = 0.01;
	if (mu > 0.99)
		mu = 0.99;
	double a = mu * kappa, b = (1.0 - mu) * kappa;
	double x = draw_gamma(r, a), y = draw_gamma(r, b);
	return x + y > 0.0 ? x / (x + y) : mu;
}

static double clampd(double x, double lo, double hi) { return x < lo ? lo : x > hi ? hi : x; }

/* ------------------------------------------------------------------------ */
/* Genres                                                                   */
/* ------------------------------------------------------------------------ */

/* clang-format off */
enum {
	G_POP, G_ROCK, G_HIPHOP, G_RAP, G_EDM, G_LATIN, G_RNB, G_COUNTRY,
	G_JAZZ, G_CLASSICAL, G_METAL, G_FOLK, G_INDIE, G_AMBIENT, G_REGGAE,
	G_COUNT
};
/* clang-format on */
#define NO_GENRE 255

/* One genre's generative parameters. The 0..1 features are beta-distributed
 * around these means; an artist shifts them a little, a track's "intensity"
 * moves energy up and acousticness down together. */
typedef struct gen__genre {
	const char *name;
	int weight;                                     /* share of the catalogue (relative) */
	int related;                                    /* genre it most often crosses over with */
	float dance, energy, speech, acoustic, valence; /* feature means */
	float kappa;                                    /* beta concentration: higher = tighter cluster */
	float instr_acts;                               /* share of its artists that are instrumental acts */
	float loud;                                     /* loudness in dB at the genre's mean energy */
	float tempo, tempo_sd;                          /* BPM, normal */
	float dur_s, dur_sigma;                         /* duration: log-normal median (s) and log-sd */
	float major;                                    /* share in a major key */
	float explicit_p;                               /* base probability of explicit lyrics */
	float age;                                      /* mean years before 2024 of an artist's career */
	float waltz;                                    /* share in 3/4 time */
	float pop;                                      /* popularity effect, latent units (about +-0.7) */
} gen__genre;

/* clang-format off */
static const gen__genre GENRES[G_COUNT] = {
	/* name      w  related     dance energy speech acou  val   kap  instr  loud   tempo sd  dur  sig  major expl  age  waltz pop */
	{"pop",     12, G_EDM,      .66f, .68f, .07f, .18f, .55f, 12, .02f,  -6.0f, 120, 22, 205, .22f, .62f, .15f,  8, .03f,  .35f},
	{"rock",    10, G_METAL,    .50f, .75f, .05f, .12f, .50f, 12, .05f,  -7.0f, 126, 25, 235, .25f, .70f, .05f, 28, .03f,  .00f},
	{"hip-hop",  9, G_RAP,      .75f, .64f, .22f, .15f, .50f, 14, .02f,  -6.5f,  96, 20, 210, .22f, .52f, .60f, 10, .01f,  .30f},
	{"rap",      6, G_HIPHOP,   .73f, .66f, .28f, .13f, .45f, 14, .02f,  -6.3f, 100, 24, 195, .22f, .50f, .72f,  8, .01f,  .20f},
	{"edm",      8, G_POP,      .68f, .85f, .07f, .04f, .42f, 14, .35f,  -5.0f, 126,  6, 230, .25f, .52f, .06f,  7, .005f, .10f},
	{"latin",    6, G_REGGAE,   .72f, .72f, .09f, .22f, .65f, 12, .02f,  -5.8f, 110, 25, 210, .22f, .55f, .15f,  9, .02f,  .20f},
	{"r&b",      6, G_POP,      .66f, .55f, .10f, .28f, .50f, 12, .03f,  -7.5f, 105, 25, 230, .22f, .48f, .25f, 14, .05f,  .10f},
	{"country",  6, G_FOLK,     .60f, .65f, .04f, .25f, .58f, 12, .01f,  -6.5f, 118, 28, 205, .20f, .86f, .03f, 14, .10f,  .00f},
	{"jazz",     6, G_CLASSICAL,.55f, .35f, .05f, .75f, .50f, 10, .45f, -12.5f, 112, 30, 300, .35f, .60f, .01f, 40, .10f, -.40f},
	{"classical",6, G_AMBIENT,  .30f, .15f, .04f, .92f, .25f, 10, .85f, -22.0f, 100, 30, 330, .50f, .68f, .00f, 30, .15f, -.50f},
	{"metal",    5, G_ROCK,     .42f, .90f, .08f, .02f, .30f, 14, .15f,  -4.8f, 128, 30, 265, .25f, .45f, .18f, 20, .04f, -.20f},
	{"folk",     5, G_COUNTRY,  .52f, .35f, .04f, .78f, .45f, 10, .08f, -11.0f, 112, 25, 220, .25f, .72f, .01f, 22, .12f, -.30f},
	{"indie",    6, G_FOLK,     .56f, .58f, .05f, .30f, .42f, 10, .10f,  -8.0f, 118, 25, 225, .25f, .62f, .08f,  8, .04f, -.10f},
	{"ambient",  4, G_CLASSICAL,.28f, .15f, .04f, .85f, .20f, 10, .80f, -20.0f,  90, 25, 300, .40f, .55f, .00f, 12, .05f, -.60f},
	{"reggae",   4, G_LATIN,    .74f, .58f, .12f, .20f, .70f, 12, .05f,  -7.0f,  92, 20, 230, .22f, .60f, .05f, 25, .02f, -.20f},
};
/* clang-format on */

size_t gen_genre_count(void) { return G_COUNT; }

const char *gen_genre_name(size_t i) { return i < G_COUNT ? GENRES[i].name : NULL; }

/* Share (per mille) of each pitch class C..B, uneven like real catalogues:
 * C, C#, D, G and A common, D# rare. */
static const int KEY_PERMILLE[12] = {120, 105, 105, 30, 75, 85, 70, 115, 65, 100, 65, 65};

/* clang-format off */
static const char *const ADJECTIVES[32] = {
	"Velvet", "Electric", "Midnight", "Golden", "Silent", "Neon", "Broken", "Crystal",
	"Wild", "Hollow", "Paper", "Burning", "Frozen", "Lonely", "Secret", "Distant",
	"Silver", "Restless", "Gentle", "Crimson", "Empty", "Endless", "Faded", "Bright",
	"Quiet", "Summer", "Northern", "Sweet", "Little", "Open", "Last", "Blue",
};
/* clang-format on */
/* clang-format off */
static const char *const NOUNS[32] = {
	"Harbour", "River", "Lights", "Heart", "Highway", "Garden", "Signal", "Ocean",
	"Mirror", "Dream", "Fire", "Rain", "Window", "Machine", "Shadow", "City",
	"Echo", "Morning", "Letter", "Horizon", "Storm", "Island", "Feather", "Engine",
	"Valley", "Season", "Canyon", "Avenue", "Kingdom", "Satellite", "Thunder", "Stranger",
};
/* clang-format on */

/* Playlist mood words by quadrant of (energy, valence):
 * [high energy][high valence]. */
static const char *const MOODS[2][2][4] = {
	{{"late-night", "rainy-day", "melancholy", "moody"}, {"sunny", "chill", "easy", "sunday"}},
	{{"intense", "angry", "gym", "dark"}, {"party", "feel-good", "summer", "workout"}},
};

/* ------------------------------------------------------------------------ */
/* Buffered CSV output                                                      */
/* ------------------------------------------------------------------------ */

/* Text building without printf (it is on the hot path): each helper writes
 * at `p` and returns the new end. */
static char *put_s(char *p, const char *s)
{
	size_t n = strlen(s);
	memcpy(p, s, n);
	return p + n;
}

/* Decimal, left-padded with zeros to at least `width` digits. */
static char *put_u(char *p, uint64_t v, int width)
{
	char t[24];
	int n = 0;
	do {
		t[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n < width)
		t[n++] = '0';
	while (n > 0)
		*p++ = t[--n];
	return p;
}

#define OUT_CAP (1u << 20) /* bytes per output buffer */
#define ROW_MAX 4096       /* no row we write is longer than this */

/* One output file, written to a temporary of its own (atomicfile.h) and
 * renamed to `path` on commit. */
typedef struct gen__out {
	atomicfile *af;  /* the temporary, or NULL (none yet, or committed) */
	char *buf;       /* [OUT_CAP] pending bytes */
	size_t len;      /* bytes pending in buf */
	uint64_t bytes;  /* bytes handed to the file so far */
	int failed;      /* errno of the first failed write, or 0 */
	char path[4096]; /* final name */
} gen__out;

static int out_open(gen__out *w, const char *dir, const char *name, seg_error *err)
{
	size_t dl = strlen(dir);
	const char *sep = dl > 0 && dir[dl - 1] == '/' ? "" : "/";
	if ((size_t)snprintf(w->path, sizeof w->path, "%s%s%s", dir, sep, name) >= sizeof w->path)
		return seg_error_set(err, SEG_EINVAL, "output directory path is too long: %s", dir);
	w->buf = malloc(OUT_CAP);
	if (w->buf == NULL)
		return seg_error_set(err, SEG_ENOMEM, "out of memory for the output buffer of %s", w->path);
	return atomicfile_open(&w->af, w->path, err);
}

static void out_flush(gen__out *w)
{
	if (w->len > 0 && !w->failed && fwrite(w->buf, 1, w->len, atomicfile_stream(w->af)) != w->len)
		w->failed = errno ? errno : EIO;
	w->bytes += w->len;
	w->len = 0;
}

/* Makes room for one more row. */
static inline void out_row_begin(gen__out *w)
{
	if (OUT_CAP - w->len < ROW_MAX)
		out_flush(w);
}

static inline void out_c(gen__out *w, char c) { w->buf[w->len++] = c; }

static inline void out_s(gen__out *w, const char *s, size_t n)
{
	memcpy(w->buf + w->len, s, n);
	w->len += n;
}

static inline void out_str(gen__out *w, const char *s) { out_s(w, s, strlen(s)); }

static inline void out_u64w(gen__out *w, uint64_t v, int width)
{
	w->len = (size_t)(put_u(w->buf + w->len, v, width) - w->buf);
}

static inline void out_u64(gen__out *w, uint64_t v) { out_u64w(w, v, 1); }

/* x with exactly `dec` decimals (dec <= 6), rounded half away from zero. */
static void out_fixed(gen__out *w, double x, int dec)
{
	static const int64_t P10[7] = {1, 10, 100, 1000, 10000, 100000, 1000000};
	assert(dec >= 0 && dec <= 6);
	int64_t v = llround(x * (double)P10[dec]);
	if (v < 0) {
		out_c(w, '-');
		v = -v;
	}
	out_u64(w, (uint64_t)(v / P10[dec]));
	if (dec > 0) {
		out_c(w, '.');
		/* cppcheck-suppress arrayIndexOutOfBoundsCond ; dec <= 6 is asserted above */
		out_u64w(w, (uint64_t)(v % P10[dec]), dec);
	}
}

/* A text field, quoted per RFC 4180 when it holds a comma, quote or newline. */
static void out_field(gen__out *w, const char *s)
{
	size_t n = strcspn(s, ",\"\r\n");
	if (s[n] == '\0') {
		out_s(w, s, n);
		return;
	}
	out_c(w, '"');
	for (; *s; s++) {
		if (*s == '"')
			out_c(w, '"');
		out_c(w, *s);
	}
	out_c(w, '"');
}

/* Writes out the temporary file, fsyncs and closes it, still unpublished;
 * the first error wins. */
static int out_finish(gen__out *w, seg_error *err)
{
	out_flush(w);
	if (w->failed)
		return seg_error_set(err, SEG_EIO, "cannot write %s: %s", atomicfile_temp_path(w->af),
		                     strerror(w->failed));
	return atomicfile_sync(w->af, err);
}

/* Removes the temporary file (if any is left), and frees the buffer. */
static void out_discard(gen__out *w)
{
	atomicfile_abort(w->af);
	w->af = NULL;
	free(w->buf);
	w->buf = NULL;
}

/* ------------------------------------------------------------------------ */
/* The catalogue model                                                      */
/* ------------------------------------------------------------------------ */

#define N_SCENES 6 /* taste communities per genre, visible only to playlists */
#define MAX_ARTIST_TRACKS 300

typedef struct gen__artist {
	float dz[5];          /* shift of the genre mean: dance, energy, valence, acoustic, speech */
	float effect;         /* popularity effect, latent units */
	uint32_t count;       /* tracks by this artist as main artist */
	uint16_t year;        /* centre of the career */
	uint8_t genre;        /* primary genre */
	uint8_t genre2;       /* crossover genre, or NO_GENRE */
	uint8_t scene;        /* taste community 0..N_SCENES-1 */
	uint8_t instrumental; /* 1 for an instrumental act */
	uint8_t name_style;   /* 0 plain, 1 with a comma, 2 with quotes */
} gen__artist;

/* What playlists need to know about a track, in file order. */
typedef struct gen__track {
	float energy, valence; /* as written */
	uint32_t artist;       /* main artist */
	uint32_t dur_ms;
	uint8_t g1, g2; /* genres; g2 may be NO_GENRE */
	uint8_t pop;    /* popularity 0..100 */
} gen__track;

/* One entry of a genre's candidate list for playlists. What a playlist's
 * choice looks at is kept inline, because chasing indices into the track and
 * artist tables at random was where generation spent its time. Each entry is
 * also a slot of the genre's alias table (Walker/Vose), which draws tracks in
 * proportion to ((popularity + 5) / 105)^2 in O(1). */
typedef struct gen__cand {
	uint32_t track;        /* index in file order */
	uint32_t alias;        /* other slot of this genre's list */
	float prob;            /* keep this slot with this probability, else take alias */
	float energy, valence; /* as written */
	uint32_t scene;        /* the main artist's scene */
} gen__cand;

typedef struct gen__cat {
	uint64_t seed;
	int mpd; /* gen_options.mpd_shape */
	size_t N, A;
	gen__artist *art;             /* [A] */
	gen__track *trk;              /* [N] */
	uint32_t *grouped;            /* [N] main artist per slot, grouped by genre */
	uint32_t gstart[G_COUNT + 1]; /* genre g owns grouped[gstart[g] .. gstart[g+1]) */
	uint32_t *by_artist;          /* [N] track indices, grouped by artist */
	uint32_t *aoff;               /* [A+1] artist a owns by_artist[aoff[a] .. aoff[a+1]) */
	gen__cand *cand;              /* [N + two-genre tracks] candidates listed under each genre */
	uint32_t goff[G_COUNT + 1];   /* genre g owns cand[goff[g] .. goff[g+1]) */
} gen__cat;

static void cat_free(gen__cat *c)
{
	free(c->art);
	free(c->trk);
	free(c->grouped);
	free(c->by_artist);
	free(c->aoff);
	free(c->cand);
	memset(c, 0, sizeof *c);
}

static void artist_init(gen__artist *a, rng *r, int g, uint32_t count)
{
	const gen__genre *G = &GENRES[g];
	for (int k = 0; k < 5; k++)
		a->dz[k] = (float)(0.06 * rng_normal(r));
	a->effect = (float)(0.55 * rng_normal(r));
	a->count = count;
	double age = draw_gamma(r, 2.0) * G->age / 2.0;
	a->year = (uint16_t)clampd(2024.0 - floor(age), 1960.0, 2024.0);
	a->genre = (uint8_t)g;
	double u = rng_u01(r);
	a->genre2 = u < 0.30 ? (uint8_t)G->related : NO_GENRE;
	if (u >= 0.30 && u < 0.36) {
		uint32_t h = draw_below(r, G_COUNT - 1);
		a->genre2 = (uint8_t)(h >= (uint32_t)g ? h + 1 : h);
	}
	a->scene = (uint8_t)draw_below(r, N_SCENES);
	a->instrumental = rng_u01(r) < G->instr_acts;
	u = rng_u01(r);
	a->name_style = u < 0.010 ? 1 : u < 0.015 ? 2 : 0;
}

/* Builds the artist table and assigns every track slot a main artist.
 * Each genre gets its share of the N tracks; its artists get Zipf-like track
 * counts (P(count >= k) = k^-1.2, capped), so a few are prolific and most
 * have one to three tracks. The slots are then shuffled into file order. */
static int cat_build(gen__cat *c, uint64_t seed, size_t N, seg_error *err)
{
	rng r;
	rng_seed(&r, hash2(seed, TAG_ARTISTS));
	c->seed = seed;
	c->N = N;
	c->grouped = malloc(N * sizeof *c->grouped);
	c->trk = calloc(N, sizeof *c->trk);
	size_t acap = N / 3 + 64;
	c->art = malloc(acap * sizeof *c->art);
	if (c->grouped == NULL || c->trk == NULL || c->art == NULL)
		return seg_error_set(err, SEG_ENOMEM, "out of memory for %zu synthetic tracks", N);

	uint64_t wsum = 0, cum = 0;
	for (int g = 0; g < G_COUNT; g++)
		wsum += (uint64_t)GENRES[g].weight;
	for (int g = 0; g < G_COUNT; g++) {
		c->gstart[g] = (uint32_t)((uint64_t)N * cum / wsum);
		cum += (uint64_t)GENRES[g].weight;
	}
	c->gstart[G_COUNT] = (uint32_t)N;

	for (int g = 0; g < G_COUNT; g++) {
		uint32_t s = c->gstart[g], end = c->gstart[g + 1];
		while (s < end) {
			double k = floor(pow(rng_open01(&r), -1.0 / 1.2));
			uint32_t count = k > MAX_ARTIST_TRACKS ? MAX_ARTIST_TRACKS : (uint32_t)k;
			if (count > end - s)
				count = end - s;
			gen__artist *na = array_grow(c->art, &acap, c->A + 1, sizeof *na, 1);
			if (na == NULL)
				return seg_error_set(err, SEG_ENOMEM, "out of memory for synthetic artists");
			c->art = na;
			artist_init(&c->art[c->A], &r, g, count);
			for (uint32_t j = 0; j < count; j++)
				c->grouped[s++] = (uint32_t)c->A;
			c->A++;
		}
	}

	/* Fisher-Yates into file order, so genres and artists are interleaved. */
	rng_seed(&r, hash2(seed, TAG_SHUFFLE));
	for (size_t i = 0; i < N; i++)
		c->trk[i].artist = c->grouped[i];
	for (size_t i = N - 1; i > 0; i--) {
		uint32_t j = draw_below(&r, i + 1);
		uint32_t t = c->trk[i].artist;
		c->trk[i].artist = c->trk[j].artist;
		c->trk[j].artist = t;
	}
	return 0;
}

/* Order of candidates for the Zipf ranks: most popular first, ties by a
 * hash of the track so that equal popularities do not rank by file order. */
typedef struct gen__rank {
	uint64_t key; /* (100 - popularity) << 56 | hash bits */
	uint32_t slot;
} gen__rank;

static int cmp_rank(const void *a, const void *b)
{
	const gen__rank *x = a, *y = b;
	return (x->key > y->key) - (x->key < y->key);
}

/* Draw weights of the n candidates in `e` into scaled[n]: the demo's
 * ((popularity + 5) / 105)^2, or with c->mpd 1 / rank^GEN_MPD_ZIPF, the rank
 * by popularity within the list (1 = most popular). Returns the sum, or a
 * negative value when out of memory. */
static double alias_weights(const gen__cat *c, const gen__cand *e, uint32_t n, double *scaled)
{
	double sum = 0;
	if (!c->mpd) {
		for (uint32_t k = 0; k < n; k++) {
			double p = (c->trk[e[k].track].pop + 5) / 105.0;
			scaled[k] = p * p;
			sum += scaled[k];
		}
		return sum;
	}
	gen__rank *r = malloc(((size_t)n + 1) * sizeof *r);
	if (r == NULL)
		return -1.0;
	for (uint32_t k = 0; k < n; k++) {
		uint64_t pop = c->trk[e[k].track].pop;
		r[k].key = (100 - pop) << 56 | (hash2(c->seed, e[k].track) >> 8);
		r[k].slot = k;
	}
	qsort(r, n, sizeof *r, cmp_rank);
	for (uint32_t k = 0; k < n; k++) {
		scaled[r[k].slot] = pow((double)k + 1.0, -GEN_MPD_ZIPF);
		sum += scaled[r[k].slot];
	}
	free(r);
	return sum;
}

/* Fills the alias table of the n candidates in `e` (Vose's method), with
 * weights from alias_weights. scaled and stack are scratch of n entries
 * each. Returns 0 or SEG_ENOMEM. */
static int alias_build(const gen__cat *c, gen__cand *e, uint32_t n, double *scaled, uint32_t *stack)
{
	double sum = alias_weights(c, e, n, scaled);
	if (sum < 0)
		return SEG_ENOMEM;
	/* Small slots fill the stack from the bottom, large from the top. */
	uint32_t ns = 0, nl = 0;
	for (uint32_t k = 0; k < n; k++) {
		scaled[k] *= (double)n / sum;
		if (scaled[k] < 1.0)
			stack[ns++] = k;
		else
			stack[n - 1 - nl++] = k;
	}
	while (ns > 0 && nl > 0) {
		uint32_t sm = stack[--ns], lg = stack[n - nl];
		e[sm].prob = (float)scaled[sm];
		e[sm].alias = lg;
		scaled[lg] = (scaled[lg] + scaled[sm]) - 1.0;
		if (scaled[lg] < 1.0) {
			nl--;
			stack[ns++] = lg;
		}
	}
	while (nl > 0) { /* what is left has probability 1, up to rounding */
		uint32_t k = stack[n - nl--];
		e[k].prob = 1.0f;
		e[k].alias = k;
	}
	while (ns > 0) {
		uint32_t k = stack[--ns];
		e[k].prob = 1.0f;
		e[k].alias = k;
	}
	return 0;
}

/* Indexes tracks by artist and lists them under each of their genres (with
 * alias tables), by counting sort, for the playlist generator. */
static int cat_index(gen__cat *c, seg_error *err)
{
	size_t N = c->N, A = c->A, two = 0;
	int rc = 0;
	for (size_t i = 0; i < N; i++)
		two += c->trk[i].g2 != NO_GENRE;
	c->by_artist = malloc(N * sizeof *c->by_artist);
	c->aoff = calloc(A + 1, sizeof *c->aoff);
	c->cand = malloc((N + two) * sizeof *c->cand);
	uint32_t *acur = malloc(A * sizeof *acur);
	uint32_t *stack = malloc(N * sizeof *stack);
	double *scaled = malloc(N * sizeof *scaled);
	if (c->by_artist == NULL || c->aoff == NULL || c->cand == NULL || acur == NULL || stack == NULL ||
	    scaled == NULL) {
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory for the playlist indexes");
		goto out;
	}

	for (size_t a = 0; a < A; a++)
		c->aoff[a + 1] = c->aoff[a] + c->art[a].count;
	uint32_t gcount[G_COUNT] = {0};
	for (size_t i = 0; i < N; i++) {
		gcount[c->trk[i].g1]++;
		if (c->trk[i].g2 != NO_GENRE)
			gcount[c->trk[i].g2]++;
	}
	c->goff[0] = 0;
	for (int g = 0; g < G_COUNT; g++)
		c->goff[g + 1] = c->goff[g] + gcount[g];

	/* Second pass: fill, with copies of the offsets as cursors. */
	memcpy(acur, c->aoff, A * sizeof *acur);
	uint32_t gcur[G_COUNT];
	memcpy(gcur, c->goff, sizeof gcur);
	for (size_t i = 0; i < N; i++) {
		const gen__track *t = &c->trk[i];
		gen__cand e = {(uint32_t)i, 0, 1.0f, t->energy, t->valence, c->art[t->artist].scene};
		c->by_artist[acur[t->artist]++] = (uint32_t)i;
		c->cand[gcur[t->g1]++] = e;
		if (t->g2 != NO_GENRE)
			c->cand[gcur[t->g2]++] = e;
	}
	for (int g = 0; g < G_COUNT && rc == 0; g++)
		if (alias_build(c, c->cand + c->goff[g], gcount[g], scaled, stack) < 0)
			rc = seg_error_set(err, SEG_ENOMEM, "out of memory for the playlist indexes");
out:
	free(acur);
	free(stack);
	free(scaled);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Names and ids                                                            */
/* ------------------------------------------------------------------------ */

/* 22 base-62 characters. The low 64 bits are a bijection of the index (for a
 * given seed), so ids are unique by construction; the high 64 bits are a hash.
 * Encoding 128 bits in base 62 gives a first character 0..7, as Spotify's do. */
static void track_id(uint64_t seed, uint64_t i, char out[22])
{
	static const char ALPHA[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	uint64_t lo = rng_mix64(i + hash2(seed, TAG_ID_LO));
	uint64_t hi = hash2(hash2(seed, TAG_ID_HI), i);
	uint32_t limb[4] = {(uint32_t)(hi >> 32), (uint32_t)hi, (uint32_t)(lo >> 32), (uint32_t)lo};
	/* Long division by 62^5, five digits at a time, instead of by 62. */
	int k = 21;
	while (k >= 0) {
		uint64_t rem = 0;
		for (int j = 0; j < 4; j++) {
			uint64_t cur = (rem << 32) | limb[j];
			limb[j] = (uint32_t)(cur / 916132832u);
			rem = cur % 916132832u;
		}
		for (int d = 0; d < 5 && k >= 0; d++) {
			out[k--] = ALPHA[rem % 62];
			rem /= 62;
		}
	}
}

/* Callers of track_name and artist_name pass buffers of NAME_CAP bytes,
 * more than any name needs. */
#define NAME_CAP 128

/* "Synthetic Song 000123 (Velvet Harbour)"; about 1% carry a comma and 0.4%
 * quotes, so that readers' RFC 4180 handling gets exercised. */
static void track_name(uint64_t seed, uint64_t i, char buf[NAME_CAP])
{
	uint64_t h = hash2(hash2(seed, TAG_NAME), i);
	unsigned style = (unsigned)((h >> 10) % 1000);
	char *p = put_u(put_s(buf, "Synthetic Song "), i, 6);
	p = put_s(put_s(p, " ("), ADJECTIVES[h & 31]);
	p = put_s(p, style < 10 ? ", " : style < 14 ? " \"" : " ");
	p = put_s(p, NOUNS[(h >> 5) & 31]);
	p = put_s(p, style >= 10 && style < 14 ? "\")" : ")");
	*p = '\0';
}

/* "Synthetic Artist 0042", a few with a comma or quotes. Returns the end. */
static char *artist_name(const gen__cat *c, uint32_t a, char *buf)
{
	static const char *const SUFFIX[3] = {"", ", Jr.", " \"The Kid\""};
	char *p = put_u(put_s(buf, "Synthetic Artist "), (uint64_t)a + 1, 4);
	p = put_s(p, SUFFIX[c->art[a].name_style]);
	*p = '\0';
	return p;
}

/* ------------------------------------------------------------------------ */
/* Tracks                                                                   */
/* ------------------------------------------------------------------------ */

/* One generated track, before formatting. */
typedef struct gen__row {
	uint32_t artist, feat[2]; /* main and featured artists */
	int nfeat;
	int g1, g2; /* g2 may be NO_GENRE */
	int year;
	uint64_t album; /* album key: artist and year */
	int pop, explicit_, key, mode, ts;
	uint32_t dur_ms;
	double dance, energy, loud, speech, acoustic, instr, live, valence, tempo;
} gen__row;

/* Weighted mean of two genres' parameters (the primary weighs 70%). */
#define MIXF(field) (g2 == NO_GENRE ? (double)G1->field : 0.7 * G1->field + 0.3 * GENRES[g2].field)

static void track_make(const gen__cat *c, size_t i, gen__row *t)
{
	rng r;
	rng_seed(&r, hash2(hash2(c->seed, TAG_TRACK), i));
	uint32_t a = c->trk[i].artist;
	const gen__artist *A = &c->art[a];
	int g1 = A->genre, g2 = NO_GENRE;
	if (A->genre2 != NO_GENRE && rng_u01(&r) < 0.6)
		g2 = A->genre2;
	const gen__genre *G1 = &GENRES[g1];
	t->artist = a;
	t->g1 = g1;
	t->g2 = g2;

	/* Featured artists, drawn from the same genre in proportion to output,
	 * so prolific artists feature more often. */
	double u = rng_u01(&r);
	int want = u < 0.085 ? 1 : u < 0.10 ? 2 : 0;
	uint32_t gs = c->gstart[g1], gn = c->gstart[g1 + 1] - gs;
	t->nfeat = 0;
	for (int tries = 0; t->nfeat < want && tries < 8; tries++) {
		uint32_t f = c->grouped[gs + draw_below(&r, gn)];
		if (f != a && (t->nfeat == 0 || f != t->feat[0]))
			t->feat[t->nfeat++] = f;
	}

	/* Key and mode first: minor keys pull valence down a little. */
	int k = 0, x = (int)draw_below(&r, 1000);
	while (x >= KEY_PERMILLE[k]) {
		x -= KEY_PERMILLE[k];
		k++;
	}
	t->key = k;
	t->mode = rng_u01(&r) < MIXF(major);
	u = rng_u01(&r);
	double waltz = MIXF(waltz);
	t->ts = u < waltz ? 3 : u < waltz + 0.012 ? 5 : 4;

	/* The 0..1 features. z is the track's intensity: energy up, acoustic down. */
	double kappa = MIXF(kappa), z = rng_normal(&r);
	double mean_e = MIXF(energy);
	t->dance = draw_beta(&r, MIXF(dance) + A->dz[0], kappa);
	t->energy = draw_beta(&r, mean_e + A->dz[1] + 0.07 * z, kappa);
	t->valence = draw_beta(&r, MIXF(valence) + A->dz[2] + (t->mode ? 0.04 : -0.04), kappa);
	t->acoustic = draw_beta(&r, MIXF(acoustic) + A->dz[3] - 0.07 * z, 0.6 * kappa);
	t->speech = draw_beta(&r, MIXF(speech) + 0.5 * A->dz[4], 18.0);
	if (A->instrumental ? rng_u01(&r) < 0.85 : rng_u01(&r) < 0.02)
		t->instr = draw_beta(&r, 0.80, 8.0);
	else
		t->instr = draw_beta(&r, 0.015, 4.0);
	t->live = rng_u01(&r) < 0.08 ? draw_beta(&r, 0.70, 8.0) : draw_beta(&r, 0.16, 9.0);

	t->loud = clampd(MIXF(loud) + 14.0 * (t->energy - mean_e) + 1.8 * rng_normal(&r), -60.0, 0.0);
	t->tempo = clampd(MIXF(tempo) + MIXF(tempo_sd) * rng_normal(&r) + 12.0 * (t->energy - mean_e), 50.0, 220.0);
	double dur_s = MIXF(dur_s) * exp(MIXF(dur_sigma) * rng_normal(&r));
	t->dur_ms = (uint32_t)llround(clampd(dur_s, 30.0, 1200.0) * 1000.0);

	/* Release year around the artist's career centre, reflected at 2024. */
	int y = (int)A->year + (int)lround(3.5 * rng_normal(&r));
	if (y > 2024)
		y = 2024 - (y - 2024);
	t->year = y < 1960 ? 1960 : y;
	t->album = (uint64_t)a * 65 + (uint64_t)(t->year - 1960);

	double p_explicit = MIXF(explicit_p) * (0.5 + 2.5 * t->speech);
	t->explicit_ = rng_u01(&r) < (p_explicit > 0.97 ? 0.97 : p_explicit);

	/* Popularity: learnable from features, genre and recency; the artist
	 * effect and noise keep a content-only model well short of perfect. */
	double lat = MIXF(pop) + A->effect + 1.1 * (t->dance - 0.6) + 0.5 * (t->energy - 0.6) +
	             0.3 * (t->valence - 0.5) - 0.35 * (t->instr > 0.5) + 1.2 * ((t->year - 1960) / 64.0 - 0.75) +
	             0.45 * rng_normal(&r);
	t->pop = (int)clampd((double)lround(45.0 + 20.0 * lat), 0.0, 100.0);
	if (rng_u01(&r) < 0.02)
		t->pop = 0; /* never found an audience, as in the real exports */
}

#undef MIXF

static int days_in_month(int m) { return m == 2 ? 28 : (m == 4 || m == 6 || m == 9 || m == 11) ? 30 : 31; }

/* Album name and release date follow from the album key, so all of an
 * album's tracks agree on both. Most dates are full, some only a year, a few
 * year and month. */
static void out_album_and_date(gen__out *w, const gen__cat *c, const gen__row *t)
{
	uint64_t h = hash2(hash2(c->seed, TAG_ALBUM), t->album);
	char name[NAME_CAP];
	char *p = put_u(put_s(name, "Synthetic Album "), (uint64_t)t->artist + 1, 4);
	p = put_u(put_s(p, "-"), (uint64_t)t->year, 4);
	p = put_s(put_s(p, " ("), ADJECTIVES[h & 31]);
	p = put_s(put_s(p, " "), NOUNS[(h >> 5) & 31]);
	p = put_s(p, ")");
	*p = '\0';
	out_field(w, name);
	out_c(w, ',');
	unsigned prec = (unsigned)((h >> 10) % 100);
	int month = 1 + (int)((h >> 20) % 12);
	int day = 1 + (int)((h >> 30) % (uint64_t)days_in_month(month));
	out_u64(w, (uint64_t)t->year);
	if (prec < 98) {
		if (prec < 88) {
			out_c(w, '-');
			out_u64w(w, (uint64_t)month, 2);
			out_c(w, '-');
			out_u64w(w, (uint64_t)day, 2);
		}
	} else {
		out_c(w, '-');
		out_u64w(w, (uint64_t)month, 2);
	}
}

static void out_track_row(gen__out *w, const gen__cat *c, size_t i, const gen__row *t)
{
	char id[22], buf[NAME_CAP], artists[3 * NAME_CAP];
	out_row_begin(w);
	track_id(c->seed, i, id);
	out_s(w, id, 22);
	out_c(w, ',');
	track_name(c->seed, i, buf);
	out_field(w, buf);
	out_c(w, ',');
	char *p = artist_name(c, t->artist, artists);
	for (int k = 0; k < t->nfeat; k++) {
		*p++ = ';';
		p = artist_name(c, t->feat[k], p);
	}
	out_field(w, artists);
	out_c(w, ',');
	out_album_and_date(w, c, t);
	out_c(w, ',');
	out_u64(w, (uint64_t)t->pop);
	out_c(w, ',');
	out_u64(w, t->dur_ms);
	out_c(w, ',');
	out_c(w, t->explicit_ ? '1' : '0');
	out_c(w, ',');
	out_str(w, GENRES[t->g1].name); /* no genre name needs quoting */
	if (t->g2 != NO_GENRE) {
		out_c(w, ';');
		out_str(w, GENRES[t->g2].name);
	}
	out_c(w, ',');
	out_fixed(w, t->dance, 4);
	out_c(w, ',');
	out_fixed(w, t->energy, 4);
	out_c(w, ',');
	out_u64(w, (uint64_t)t->key);
	out_c(w, ',');
	out_fixed(w, t->loud, 3);
	out_c(w, ',');
	out_c(w, t->mode ? '1' : '0');
	out_c(w, ',');
	out_fixed(w, t->speech, 4);
	out_c(w, ',');
	out_fixed(w, t->acoustic, 4);
	out_c(w, ',');
	out_fixed(w, t->instr, 4);
	out_c(w, ',');
	out_fixed(w, t->live, 4);
	out_c(w, ',');
	out_fixed(w, t->valence, 4);
	out_c(w, ',');
	out_fixed(w, t->tempo, 3);
	out_c(w, ',');
	out_u64(w, (uint64_t)t->ts);
	out_s(w, ",1\n", 3);
	assert(w->len <= OUT_CAP);
}

static const char TRACKS_HEADER[] =
	"track_id,track_name,artists,album_name,release_date,popularity,duration_ms,explicit,"
	"genres,danceability,energy,key,loudness,mode,speechiness,acousticness,instrumentalness,"
	"liveness,valence,tempo,time_signature,synthetic\n";

static void write_tracks(gen__cat *c, gen__out *w, const gen_options *o, uint64_t total)
{
	out_str(w, TRACKS_HEADER);
	for (size_t i = 0; i < c->N; i++) {
		gen__row t;
		track_make(c, i, &t);
		out_track_row(w, c, i, &t);
		/* Keep what the playlists need, with the values as written. */
		gen__track *k = &c->trk[i];
		k->energy = (float)(llround(t.energy * 1e4) / 1e4);
		k->valence = (float)(llround(t.valence * 1e4) / 1e4);
		k->dur_ms = t.dur_ms;
		k->g1 = (uint8_t)t.g1;
		k->g2 = (uint8_t)t.g2;
		k->pop = (uint8_t)t.pop;
		if (o->progress && (i + 1) % 16384 == 0)
			o->progress(o->progress_ctx, i + 1, total);
	}
}

/* ------------------------------------------------------------------------ */
/* Playlists                                                                */
/* ------------------------------------------------------------------------ */

#define PL_MIN 10
#define PL_MAX 120
/* mpd_shape's lengths: 5 + Gamma(1.1, 60), redrawn above 250 (the MPD's
 * own bounds 5..250), which gives a mean near 66 and a median near 51 (the
 * MPD's: 66.3 and 49). A log-normal cannot reach that mean to median ratio
 * within the bounds; this right-skewed gamma can. */
#define MPD_MIN 5
#define MPD_MAX 250
#define MPD_SHAPE 1.1
#define MPD_SCALE 60.0
#define PL_CAP MPD_MAX /* no playlist is longer */

/* A set of track (or artist) indices of one playlist, by open addressing:
 * "already in this playlist?" in O(1), so a playlist costs O(L), not the
 * O(L^2) of a scan (at MPD lengths, a scan was most of generation's time).
 * The slots of the last playlist are forgotten by bumping the generation. */
#define SET_SLOTS 1024u /* a power of two, over 2 * PL_CAP */
typedef struct gen__set {
	uint32_t key[SET_SLOTS];
	uint32_t gen[SET_SLOTS]; /* the generation that wrote key, 0 = never */
	uint32_t cur;            /* the current generation */
} gen__set;

static void set_clear(gen__set *s) { s->cur++; }

/* Adds k; returns 1 when it was new, 0 when it was there already. */
static int set_add(gen__set *s, uint32_t k)
{
	uint32_t h = (uint32_t)(rng_mix64(k) & (SET_SLOTS - 1));
	while (s->gen[h] == s->cur) {
		if (s->key[h] == k)
			return 0;
		h = (h + 1) & (SET_SLOTS - 1);
	}
	s->gen[h] = s->cur;
	s->key[h] = k;
	return 1;
}

/* A playlist length: the demo's, or the MPD's (see above). */
static long draw_length(const gen__cat *c, rng *r)
{
	if (!c->mpd) {
		/* Log-normal with median 40, clamped to 10..120. */
		long want = lround(40.0 * exp(0.55 * rng_normal(r)));
		return want < PL_MIN ? PL_MIN : want > PL_MAX ? PL_MAX : want;
	}
	for (;;) {
		long want = MPD_MIN + lround(MPD_SCALE * draw_gamma(r, MPD_SHAPE));
		if (want <= MPD_MAX)
			return want;
	}
}

/* A candidate of genre g, drawn in proportion to ((pop + 5) / 105)^2. */
static const gen__cand *draw_popular(const gen__cat *c, rng *r, int g)
{
	const gen__cand *list = c->cand + c->goff[g];
	const gen__cand *e = &list[draw_below(r, c->goff[g + 1] - c->goff[g])];
	return rng_u01(r) < e->prob ? e : &list[e->alias];
}

/* The playlist's taste: genres, a mood point in (energy, valence) and a
 * scene (a community of artists that features cannot reveal). */
typedef struct gen__taste {
	int g1, g2;
	double energy, valence;
	int scene;
} gen__taste;

/* Best of six popular candidates: closest to the mood, scene members preferred. */
static uint32_t draw_for_taste(const gen__cat *c, rng *r, const gen__taste *ts)
{
	int g = ts->g2 != NO_GENRE && rng_u01(r) < 0.35 ? ts->g2 : ts->g1;
	uint32_t best = 0;
	double best_s = INFINITY;
	for (int k = 0; k < 6; k++) {
		const gen__cand *e = draw_popular(c, r, g);
		double de = e->energy - ts->energy, dv = e->valence - ts->valence;
		double s = de * de + dv * dv - (e->scene == (uint32_t)ts->scene ? 0.03 : 0.0);
		if (s < best_s) {
			best_s = s;
			best = e->track;
		}
	}
	return best;
}

static const char PLAYLISTS_HEADER[] =
	"pid,source_slice,name,description,num_followers,num_tracks,num_edits,num_artists,duration_ms\n";
static const char PLAYLIST_TRACKS_HEADER[] = "pid,pos,track_id,artist_name,track_name\n";

/* Returns 0, or SEG_ENOMEM before anything is written. */
static int write_playlists(const gen__cat *c, gen__out *wp, gen__out *wt, const gen_options *o, uint64_t total,
                           uint64_t *entries)
{
	uint32_t picks[PL_CAP];
	gen__set *seen = calloc(2, sizeof *seen); /* [0] tracks, [1] artists */
	if (seen == NULL)
		return SEG_ENOMEM;
	out_str(wp, PLAYLISTS_HEADER);
	out_str(wt, PLAYLIST_TRACKS_HEADER);
	*entries = 0;
	for (size_t pid = 0; pid < o->playlists; pid++) {
		rng r;
		rng_seed(&r, hash2(hash2(c->seed, TAG_PLAYLIST), pid));

		/* Taste: the main genre in proportion to its catalogue share. */
		gen__taste ts;
		ts.g1 = c->trk[draw_below(&r, c->N)].g1;
		ts.g2 = NO_GENRE;
		if (rng_u01(&r) < 0.35) {
			int g2 = rng_u01(&r) < 0.6 ? GENRES[ts.g1].related : (int)draw_below(&r, G_COUNT);
			if (g2 != ts.g1 && c->goff[g2 + 1] > c->goff[g2])
				ts.g2 = g2;
		}
		ts.energy = clampd(GENRES[ts.g1].energy + 0.15 * rng_normal(&r), 0.05, 0.95);
		ts.valence = clampd(GENRES[ts.g1].valence + 0.15 * rng_normal(&r), 0.05, 0.95);
		ts.scene = (int)draw_below(&r, N_SCENES);

		long want = draw_length(c, &r);
		if ((size_t)want > c->N)
			want = (long)c->N;

		/* Picks: mostly taste, some more by an artist already in the list,
		 * a few uniformly random; no track twice. */
		long n = 0, attempts = 0;
		set_clear(&seen[0]);
		while (n < want && attempts++ < 30 * want + 100) {
			double u = rng_u01(&r);
			uint32_t t;
			if (u < 0.05) {
				t = draw_below(&r, c->N);
			} else if (u < 0.17 && n > 0) {
				uint32_t a = c->trk[picks[draw_below(&r, (uint64_t)n)]].artist;
				t = c->by_artist[c->aoff[a] + draw_below(&r, c->aoff[a + 1] - c->aoff[a])];
			} else {
				t = draw_for_taste(c, &r, &ts);
			}
			if (set_add(&seen[0], t))
				picks[n++] = t;
		}

		uint64_t dur = 0;
		long nart = 0;
		set_clear(&seen[1]);
		for (long j = 0; j < n; j++) {
			nart += set_add(&seen[1], c->trk[picks[j]].artist);
			dur += c->trk[picks[j]].dur_ms;
		}
		/* Followers: Pareto tail, P(F >= x) = x^-0.9, at least 1. */
		double fol = floor(pow(rng_open01(&r), -1.0 / 0.9));
		uint64_t followers = fol > 5e6 ? 5000000 : (uint64_t)fol;
		uint64_t edits = 1 + (uint64_t)floor(draw_gamma(&r, 1.5) * (double)n / 10.0);

		int hi_e = ts.energy >= 0.5, hi_v = ts.valence >= 0.5;
		uint64_t h = rng_next(&r);
		char name[160];
		if (h % 100 < 2) /* a comma now and then, for the CSV readers */
			snprintf(name, sizeof name, "Synthetic: %s, %s %s %zu", MOODS[hi_e][hi_v][(h >> 8) & 3],
			         MOODS[hi_e][hi_v][((h >> 8) + 1) & 3], GENRES[ts.g1].name, pid);
		else
			snprintf(name, sizeof name, "Synthetic: %s %s %zu", MOODS[hi_e][hi_v][(h >> 8) & 3],
			         GENRES[ts.g1].name, pid);

		out_row_begin(wp);
		out_u64(wp, pid);
		out_str(wp, ",synthetic,");
		out_field(wp, name);
		out_str(wp, ",synthetic playlist generated by segue,");
		out_u64(wp, followers);
		out_c(wp, ',');
		out_u64(wp, (uint64_t)n);
		out_c(wp, ',');
		out_u64(wp, edits);
		out_c(wp, ',');
		out_u64(wp, (uint64_t)nart);
		out_c(wp, ',');
		out_u64(wp, dur);
		out_c(wp, '\n');

		for (long j = 0; j < n; j++) {
			char id[22], buf[NAME_CAP];
			out_row_begin(wt);
			out_u64(wt, pid);
			out_c(wt, ',');
			out_u64(wt, (uint64_t)j);
			out_c(wt, ',');
			track_id(c->seed, picks[j], id);
			out_s(wt, id, 22);
			out_c(wt, ',');
			artist_name(c, c->trk[picks[j]].artist, buf);
			out_field(wt, buf);
			out_c(wt, ',');
			track_name(c->seed, picks[j], buf);
			out_field(wt, buf);
			out_c(wt, '\n');
		}
		*entries += (uint64_t)n;
		if (o->progress && (pid + 1) % 256 == 0)
			o->progress(o->progress_ctx, c->N + pid + 1, total);
	}
	free(seen);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* gen_write                                                                */
/* ------------------------------------------------------------------------ */

void gen_options_init(gen_options *o)
{
	memset(o, 0, sizeof *o);
	o->seed = 42;
	o->tracks = 20000;
	o->playlists = 2000;
}

/* mkdir -p: creates `path` and any missing parents. */
static int make_dirs(const char *path, seg_error *err)
{
	char tmp[4096];
	if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp)
		return seg_error_set(err, SEG_EINVAL, "output directory path is too long: %s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0777) != 0 && errno != EEXIST)
			return seg_error_set(err, SEG_EIO, "cannot create output directory %s: %s", tmp,
			                     strerror(errno));
		*p = '/';
	}
	if (mkdir(tmp, 0777) != 0 && errno != EEXIST)
		return seg_error_set(err, SEG_EIO, "cannot create output directory %s: %s", path, strerror(errno));
	struct stat st;
	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
		return seg_error_set(err, SEG_EIO, "output path %s exists and is not a directory", path);
	if (access(path, W_OK | X_OK) != 0)
		return seg_error_set(err, SEG_EIO, "output directory %s is not writable: %s", path, strerror(errno));
	return 0;
}

int gen_write(const gen_options *o, gen_result *res, seg_error *err)
{
	if (o == NULL || o->out_dir == NULL || o->out_dir[0] == '\0')
		return seg_error_set(err, SEG_EINVAL, "synthetic catalogue: no output directory given");
	if (o->tracks == 0)
		return seg_error_set(err, SEG_EINVAL, "synthetic catalogue: the number of tracks must be at least 1");
	if (o->tracks > GEN_MAX_TRACKS)
		return seg_error_set(err, SEG_EINVAL, "synthetic catalogue: %zu tracks requested, at most %u supported",
		                     o->tracks, GEN_MAX_TRACKS);
	if (o->playlists > GEN_MAX_PLAYLISTS)
		return seg_error_set(err, SEG_EINVAL,
		                     "synthetic catalogue: %zu playlists requested, at most %u supported", o->playlists,
		                     GEN_MAX_PLAYLISTS);
	int rc = make_dirs(o->out_dir, err);
	if (rc != 0)
		return rc;

	gen__cat c = {0};
	gen__out wt = {0}, wp = {0}, wpt = {0};
	uint64_t total = (uint64_t)o->tracks + o->playlists, entries = 0;

	c.mpd = o->mpd_shape != 0;
	rc = cat_build(&c, o->seed, o->tracks, err);
	if (rc != 0)
		goto out;
	rc = out_open(&wt, o->out_dir, GEN_TRACKS_FILE, err);
	if (rc != 0)
		goto out;
	write_tracks(&c, &wt, o, total);
	rc = out_finish(&wt, err);
	if (rc != 0)
		goto out;

	if (o->playlists > 0) {
		rc = cat_index(&c, err);
		if (rc == 0)
			rc = out_open(&wp, o->out_dir, GEN_PLAYLISTS_FILE, err);
		if (rc == 0)
			rc = out_open(&wpt, o->out_dir, GEN_PLAYLIST_TRACKS_FILE, err);
		if (rc != 0)
			goto out;
		if (write_playlists(&c, &wp, &wpt, o, total, &entries) < 0) {
			rc = seg_error_set(err, SEG_ENOMEM, "out of memory for the playlists");
			goto out;
		}
		rc = out_finish(&wp, err);
		if (rc == 0)
			rc = out_finish(&wpt, err);
		if (rc != 0)
			goto out;
	}

	/* Everything is on disk: move it into place. */
	gen__out *all[3] = {&wt, &wp, &wpt};
	for (int k = 0; k < (o->playlists > 0 ? 3 : 1); k++) {
		rc = atomicfile_commit(all[k]->af, err);
		all[k]->af = NULL; /* consumed: nothing left to discard */
		if (rc != 0)
			goto out;
	}
	if (o->playlists == 0) {
		const char *stale[2] = {GEN_PLAYLISTS_FILE, GEN_PLAYLIST_TRACKS_FILE};
		for (int k = 0; k < 2; k++) {
			char p[4200];
			snprintf(p, sizeof p, "%s/%s", o->out_dir, stale[k]);
			if (unlink(p) != 0 && errno != ENOENT) {
				rc = seg_error_set(err, SEG_EIO, "cannot remove stale %s: %s", p, strerror(errno));
				goto out;
			}
		}
	}
	if (o->progress)
		o->progress(o->progress_ctx, total, total);
	if (res != NULL) {
		memset(res, 0, sizeof *res);
		snprintf(res->tracks_path, sizeof res->tracks_path, "%s", wt.path);
		if (o->playlists > 0) {
			snprintf(res->playlists_path, sizeof res->playlists_path, "%s", wp.path);
			snprintf(res->playlist_tracks_path, sizeof res->playlist_tracks_path, "%s", wpt.path);
		}
		res->tracks = c.N;
		res->artists = c.A;
		res->playlists = o->playlists;
		res->playlist_tracks = entries;
		res->bytes = wt.bytes + wp.bytes + wpt.bytes;
	}
out:
	out_discard(&wt);
	out_discard(&wp);
	out_discard(&wpt);
	cat_free(&c);
	return rc;
}
