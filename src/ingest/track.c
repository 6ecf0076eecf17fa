/* track.c: canonical track record, value parsers and validation (see track.h). */
#include "ingest/track.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* clang-format off */
const char *const track_feature_names[TF__AUDIO] = {
	"danceability", "energy", "key", "loudness", "mode", "speechiness",
	"acousticness", "instrumentalness", "liveness", "valence", "tempo",
};
/* clang-format on */

void track_rec_init(track_rec *t)
{
	memset(t, 0, sizeof(*t));
	t->year = -1;
	t->popularity = -1;
	t->duration_ms = -1;
	t->explicit_ = -1;
	t->time_signature = -1;
	t->hit = -1;
	for (int i = 0; i < TF__AUDIO; i++)
		t->audio[i] = NAN;
}

/* Skips leading blanks and returns the length without trailing blanks. */
static const char *trim(const char *s, size_t *len)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	*len = n;
	return s;
}

/* Exact powers of ten that a double holds without rounding. */
static const double POW10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* Parses the decimal forms the exports use ("0.123", "-7.5", "4.79E-06",
 * "120") without strtod when the result is exactly the one strtod gives:
 * a mantissa below 2^53 scaled by an exact power of ten is one correctly
 * rounded IEEE operation (Clinger's fast path). Returns 1 when it decided,
 * 0 when strtod must. */
static int parse_fast(const char *s, size_t n, double *out)
{
	const char *p = s, *end = s + n;
	int neg = 0;
	if (p < end && (*p == '-' || *p == '+'))
		neg = *p++ == '-';
	uint64_t m = 0;
	int digits = 0, frac = 0, any = 0;
	while (p < end && *p >= '0' && *p <= '9') {
		if (digits < 19) {
			m = m * 10 + (uint64_t)(*p - '0');
			digits += m != 0;
		} else {
			return 0;
		}
		p++;
		any = 1;
	}
	if (p < end && *p == '.') {
		p++;
		while (p < end && *p >= '0' && *p <= '9') {
			if (digits >= 19)
				return 0;
			m = m * 10 + (uint64_t)(*p - '0');
			digits += m != 0;
			frac++;
			p++;
			any = 1;
		}
	}
	if (!any)
		return 0;
	int e = 0;
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		int eneg = 0;
		if (p < end && (*p == '-' || *p == '+'))
			eneg = *p++ == '-';
		if (p == end)
			return 0;
		while (p < end && *p >= '0' && *p <= '9' && e < 1000)
			e = e * 10 + (*p++ - '0');
		if (eneg)
			e = -e;
	}
	if (p != end)
		return 0;
	int e10 = e - frac;
	if (m > ((uint64_t)1 << 53) || e10 < -22 || e10 > 22)
		return 0;
	double v = (double)m;
	v = e10 < 0 ? v / POW10[-e10] : v * POW10[e10];
	*out = neg ? -v : v;
	return 1;
}

int track_parse_double(const char *s, double *out)
{
	size_t n;
	s = trim(s, &n);
	if (n == 0 || n > 63)
		return -1;
	if (parse_fast(s, n, out))
		return 0;
	char buf[64];
	memcpy(buf, s, n);
	buf[n] = '\0';
	char *end;
	errno = 0;
	double v = strtod(buf, &end);
	if (*end != '\0' || errno == ERANGE || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

int track_parse_long(const char *s, long *out)
{
	double v;
	if (track_parse_double(s, &v) < 0 || v != floor(v) || fabs(v) > 9e15)
		return -1;
	*out = (long)v;
	return 0;
}

int track_parse_key(const char *s, int *out)
{
	long v;
	if (track_parse_long(s, &v) == 0) {
		*out = (int)(v < -100 ? -100 : v > 100 ? 100 : v); /* range is checked later */
		return 0;
	}
	size_t n;
	s = trim(s, &n);
	if (n < 1 || n > 2)
		return -1;
	static const int base[7] = {9, 11, 0, 2, 4, 5, 7}; /* A B C D E F G */
	int c = toupper((unsigned char)s[0]);
	if (c < 'A' || c > 'G')
		return -1;
	int k = base[c - 'A'];
	if (n == 2) {
		if (s[1] == '#')
			k += 1;
		else if (s[1] == 'b')
			k += 11;
		else
			return -1;
	}
	*out = k % 12;
	return 0;
}

int track_parse_mode(const char *s, int *out)
{
	size_t n;
	s = trim(s, &n);
	if (n == 5 && strncasecmp(s, "major", 5) == 0) {
		*out = 1;
		return 0;
	}
	if (n == 5 && strncasecmp(s, "minor", 5) == 0) {
		*out = 0;
		return 0;
	}
	long v;
	if (track_parse_long(s, &v) < 0)
		return -1;
	*out = (int)(v < -100 ? -100 : v > 100 ? 100 : v);
	return 0;
}

int track_parse_bool(const char *s, int *out)
{
	size_t n;
	s = trim(s, &n);
	if ((n == 4 && strncasecmp(s, "true", 4) == 0) || (n == 1 && s[0] == '1')) {
		*out = 1;
		return 0;
	}
	if ((n == 5 && strncasecmp(s, "false", 5) == 0) || (n == 1 && s[0] == '0')) {
		*out = 0;
		return 0;
	}
	return -1;
}

int track_parse_time_signature(const char *s, int *out)
{
	static const char *const months[12] = {"jan", "feb", "mar", "apr", "may", "jun",
	                                       "jul", "aug", "sep", "oct", "nov", "dec"};
	size_t n;
	s = trim(s, &n);
	char buf[16];
	if (n == 0 || n >= sizeof buf)
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	long v;
	if (track_parse_long(buf, &v) == 0) {
		*out = (int)(v < -100 ? -100 : v > 100 ? 100 : v);
		return 0;
	}
	/* "N/4": beats over the quarter-note unit Spotify always reports. */
	char *slash = strchr(buf, '/');
	if (slash != NULL && strcmp(slash, "/4") == 0) {
		*slash = '\0';
		if (track_parse_long(buf, &v) == 0 && v >= 0 && v <= 16) {
			*out = (int)v;
			return 0;
		}
		return -1;
	}
	/* A spreadsheet read "3/4" as a date, 4 March, and wrote "4-Mar" (or
	 * "04-Mar"): the month number is the beats per bar. */
	char *dash = strchr(buf, '-');
	if (dash != NULL && strlen(dash + 1) == 3) {
		*dash = '\0';
		if (track_parse_long(buf, &v) < 0 || v != 4)
			return -1;
		for (int m = 0; m < 12; m++)
			if (strcasecmp(dash + 1, months[m]) == 0) {
				*out = m + 1;
				return 0;
			}
	}
	return -1;
}

/* The value of n decimal digits at s (already checked to be digits). */
static int digits_value(const char *s, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

static int all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

/* Writes n digits of v into p. */
static void put_digits(char *p, unsigned v, int n)
{
	for (int i = n - 1; i >= 0; i--, v /= 10)
		p[i] = (char)('0' + v % 10);
}

/* Formats "YYYY", "YYYY-MM" or "YYYY-MM-DD" (m or d 0 = absent) into out[11]. */
static void format_date(char out[11], int y, int m, int d)
{
	put_digits(out, (unsigned)y % 10000u, 4);
	size_t n = 4;
	if (m > 0) {
		out[4] = '-';
		put_digits(out + 5, (unsigned)m, 2);
		n = 7;
	}
	if (d > 0) {
		out[7] = '-';
		put_digits(out + 8, (unsigned)d, 2);
		n = 10;
	}
	out[n] = '\0';
}

static int valid_ymd(int y, int m, int d)
{
	static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (y < 0 || y > 9999 || m < 1 || m > 12 || d < 1)
		return 0;
	return d <= mdays[m - 1] + (m == 2 && leap);
}

int track_parse_date(const char *s, char out[11], int *year)
{
	size_t n;
	s = trim(s, &n);
	int y, m, d;
	if (n == 4 && all_digits(s, 4)) {
		y = digits_value(s, 4);
		format_date(out, y, 0, 0);
		*year = y;
		return 0;
	}
	if (n == 7 && s[4] == '-' && all_digits(s, 4) && all_digits(s + 5, 2)) {
		y = digits_value(s, 4);
		m = digits_value(s + 5, 2);
		if (!valid_ymd(y, m, 1))
			return -1;
		format_date(out, y, m, 0);
		*year = y;
		return 0;
	}
	if (n == 10 && s[4] == '-' && s[7] == '-' && all_digits(s, 4) && all_digits(s + 5, 2) && all_digits(s + 8, 2)) {
		y = digits_value(s, 4);
		m = digits_value(s + 5, 2);
		d = digits_value(s + 8, 2);
	} else if (n == 10 && (s[2] == '-' || s[2] == '/') && s[5] == s[2] && all_digits(s, 2) &&
	           all_digits(s + 3, 2) && all_digits(s + 6, 4)) {
		/* A spreadsheet's day-first rendering of an ISO date. */
		d = digits_value(s, 2);
		m = digits_value(s + 3, 2);
		y = digits_value(s + 6, 4);
	} else {
		return -1;
	}
	if (!valid_ymd(y, m, d))
		return -1;
	format_date(out, y, m, d);
	*year = y;
	return 0;
}

static int is_base62(int c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

int track_parse_id(const char *s, char out[TRACK_ID_LEN + 1])
{
	size_t n;
	s = trim(s, &n);
	static const char *const prefixes[] = {"spotify:track:", "https://open.spotify.com/track/",
	                                       "http://open.spotify.com/track/"};
	for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++) {
		size_t pl = strlen(prefixes[i]);
		if (n >= pl && strncmp(s, prefixes[i], pl) == 0) {
			s += pl;
			n -= pl;
			break;
		}
	}
	/* An open.spotify.com link may carry "?si=..." after the id. */
	if (n > TRACK_ID_LEN && s[TRACK_ID_LEN] == '?')
		n = TRACK_ID_LEN;
	if (n != TRACK_ID_LEN)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!is_base62((unsigned char)s[i]))
			return -1;
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

/* Trims s in place and returns it, or NULL when empty. */
static const char *trim_inplace(char *s, char *end)
{
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*end = '\0';
	return s < end ? s : NULL;
}

/* Parses a Python list literal of strings, as str(list) prints it: items are
 * quoted with ' unless they contain a ', then with ". Backslash escapes are
 * undone. */
static int split_pylist(char *p, const char **names, int max)
{
	int n = 0;
	while (*p == ' ')
		p++;
	if (*p != '[')
		return -1;
	p++;
	for (;;) {
		while (*p == ' ' || *p == ',')
			p++;
		if (*p == ']' || *p == '\0')
			break;
		char q = *p;
		if (q != '\'' && q != '"')
			return -1;
		p++;
		char *w = p, *start = p;
		while (*p && *p != q) {
			if (*p == '\\' && p[1])
				p++;
			*w++ = *p++;
		}
		if (*p != q)
			return -1;
		p++;
		const char *name = trim_inplace(start, w);
		if (name != NULL && n < max)
			names[n++] = name;
	}
	return n;
}

int track_split_artists(char *field, enum artist_style style, const char **names, int max)
{
	int n = 0;
	if (style == ARTISTS_PYLIST) {
		/* split_pylist writes as it goes: keep the text to fall back on. */
		char save[1024];
		size_t len = strlen(field);
		if (len < sizeof save) {
			memcpy(save, field, len + 1);
			int k = split_pylist(field, names, max);
			if (k >= 0)
				return k;
			memcpy(field, save, len + 1);
		}
		style = ARTISTS_ONE; /* not a list after all: take the text as one name */
	}
	if (style == ARTISTS_ONE) {
		const char *name = trim_inplace(field, field + strlen(field));
		if (name != NULL && max > 0)
			names[n++] = name;
		return n;
	}
	const char *sep = style == ARTISTS_SEMICOLON ? ";" : ", ";
	size_t seplen = strlen(sep);
	char *p = field;
	for (;;) {
		char *e = strstr(p, sep);
		char *end = e ? e : p + strlen(p);
		const char *name = trim_inplace(p, end);
		if (name != NULL && n < max)
			names[n++] = name;
		if (e == NULL)
			break;
		p = e + seplen;
	}
	return n;
}

/* ---- validation ---- */

static void problem(track_problem *p, const char *column, const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void problem(track_problem *p, const char *column, const char *reason, const char *fmt, ...)
{
	p->column = column;
	p->reason = reason;
	p->value = NULL;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->detail, sizeof p->detail, fmt, ap);
	va_end(ap);
}

/* Loudness of real masters runs from about -60 dB (near silence) to a few dB
 * above full scale (clipped masters); outside that the value is an error. */
#define LOUDNESS_MIN (-60.0)
#define LOUDNESS_MAX 5.0
#define YEAR_MIN 1900
#define YEAR_MAX 2030

int track_validate(track_rec *t, track_problem *rp, track_problem *vp, int max, int *nvalue)
{
	*nvalue = 0;
	for (int i = 0; i < TF__AUDIO; i++) {
		double v = t->audio[i];
		const char *name = track_feature_names[i];
		if (isnan(v))
			continue; /* presence is checked by the mapper, which knows the columns */
		switch (i) {
		case TF_KEY:
			if (v < -1 || v > 11) {
				problem(rp, name, "out_of_range", "key %g is not a pitch class (-1..11)", v);
				return 1;
			}
			break;
		case TF_MODE:
			if (v != 0 && v != 1) {
				problem(rp, name, "out_of_range", "mode %g is neither 0 (minor) nor 1 (major)", v);
				return 1;
			}
			break;
		case TF_LOUDNESS:
			if (v < LOUDNESS_MIN || v > LOUDNESS_MAX) {
				problem(rp, name, "out_of_range", "loudness %g dB is outside %g..%g dB", v,
				        LOUDNESS_MIN, LOUDNESS_MAX);
				return 1;
			}
			break;
		case TF_TEMPO:
			if (v < 0 || v > 300) {
				problem(rp, name, "out_of_range", "tempo %g BPM is outside 0..300", v);
				return 1;
			}
			break;
		default:
			if (v < 0 || v > 1) {
				problem(rp, name, "out_of_range", "%s %g is outside 0..1", name, v);
				return 1;
			}
		}
	}
	/* From here on, values that are wrong are dropped and the row kept. */
#define DROP(col, ...)                                                               \
	do {                                                                         \
		if (*nvalue < max)                                                   \
			problem(&vp[(*nvalue)++], col, "out_of_range", __VA_ARGS__); \
	} while (0)
	if (t->audio[TF_TEMPO] == 0) {
		DROP("tempo", "tempo 0 means the tempo was not detected; stored as NULL");
		t->audio[TF_TEMPO] = NAN;
	}
	if (t->time_signature == 0) {
		DROP("time_signature", "time signature 0 means it was not detected; stored as NULL");
		t->time_signature = -1;
	} else if (t->time_signature != -1 && (t->time_signature < 1 || t->time_signature > 16)) {
		DROP("time_signature", "time signature %d is outside 1..16; stored as NULL", t->time_signature);
		t->time_signature = -1;
	}
	if (t->popularity != -1 && (t->popularity < 0 || t->popularity > 100)) {
		DROP("popularity", "popularity %d is outside 0..100; stored as NULL", t->popularity);
		t->popularity = -1;
	}
	if (t->duration_ms != -1 && t->duration_ms <= 0) {
		DROP("duration_ms", "duration %ld ms is not positive; stored as NULL", t->duration_ms);
		t->duration_ms = -1;
	}
	if (t->year != -1 && (t->year < YEAR_MIN || t->year > YEAR_MAX)) {
		DROP("release_date", "release year %d is outside %d..%d; stored as NULL", t->year, YEAR_MIN, YEAR_MAX);
		t->year = -1;
		t->release_date[0] = '\0';
	}
#undef DROP
	return 0;
}
