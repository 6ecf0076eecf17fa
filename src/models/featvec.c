/* featvec.c: the content-feature pipeline (see featvec.h).
 *
 * Key is placed on the circle of fifths, so that C and G (a fifth apart,
 * harmonically close) are neighbours while C and C# are far apart: pitch
 * class k goes to angle 2π·(7k mod 12)/12. Mode is standardised like the
 * rest. Genres are a multi-hot block scaled to unit length, so a track with
 * two genres is not twice as "genre" as one with one. */
#include "models/featvec.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/snapshot.h"

/* clang-format off */
const char *const feat_dim_names[FD_GENRE0] = {
	"danceability", "energy", "speechiness", "acousticness", "instrumentalness", "liveness",
	"valence", "loudness", "tempo", "key (fifths x)", "key (fifths y)", "mode", "duration",
};
/* clang-format on */

/* Snapshot column behind each standardised dimension (-1: derived). */
/* clang-format off */
static const int SOURCE[FD_GENRE0] = {
	SNAP_DANCEABILITY, SNAP_ENERGY, SNAP_SPEECHINESS, SNAP_ACOUSTICNESS, SNAP_INSTRUMENTALNESS,
	SNAP_LIVENESS, SNAP_VALENCE, SNAP_LOUDNESS, SNAP_TEMPO, -1, -1, SNAP_MODE, SNAP_DURATION_MS,
};
/* clang-format on */

void feat_weights_default(feat_weights *w)
{
	for (int i = 0; i < FD_KEY_X; i++)
		w->audio[i] = 1.0f;
	w->key = 0.5f;
	w->mode = 0.5f;
	w->duration = 0.3f;
	w->genre = 2.0f;
}

int feat_fit(feat_spec *s, const float *raw, size_t N, const char *const *genres, size_t ngenres, const feat_weights *w,
             seg_error *err)
{
	memset(s, 0, sizeof(*s));
	s->version = FEAT_SPEC_VERSION;
	if (N == 0)
		return seg_error_set(err, SEG_EINVAL, "no tracks with audio features to fit the feature pipeline on");
	if (ngenres > FEAT_MAX_GENRES)
		ngenres = FEAT_MAX_GENRES;
	s->ngenres = (uint32_t)ngenres;
	s->dim = FD_GENRE0 + s->ngenres;
	for (size_t g = 0; g < ngenres; g++)
		snprintf(s->genres[g], FEAT_GENRE_NAME, "%s", genres[g]);
	if (w)
		s->w = *w;
	else
		feat_weights_default(&s->w);
	for (int d = 0; d < FD_GENRE0; d++) {
		s->mean[d] = 0;
		s->sd[d] = 1;
		if (SOURCE[d] < 0)
			continue;
		double sum = 0, sum2 = 0;
		size_t n = 0;
		for (size_t i = 0; i < N; i++) {
			float v = raw[i * SNAP__COLS + (size_t)SOURCE[d]];
			if (isnan(v))
				continue;
			sum += v;
			sum2 += (double)v * v;
			n++;
		}
		if (n == 0)
			continue;
		double mean = sum / (double)n, var = sum2 / (double)n - mean * mean;
		s->mean[d] = (float)mean;
		s->sd[d] = var > 1e-12 ? (float)sqrt(var) : 1.0f;
	}
	return 0;
}

static float weight_of(const feat_spec *s, int d)
{
	if (d < FD_KEY_X)
		return s->w.audio[d];
	if (d == FD_MODE)
		return s->w.mode;
	if (d == FD_DURATION)
		return s->w.duration;
	return s->w.key;
}

void feat_transform(const feat_spec *s, const float *raw, const int *genre_idx, int ng, float *out)
{
	for (int d = 0; d < FD_GENRE0; d++) {
		if (SOURCE[d] < 0)
			continue;
		float v = raw[SOURCE[d]];
		out[d] = isnan(v) ? 0.0f : weight_of(s, d) * (v - s->mean[d]) / s->sd[d];
	}
	float key = raw[SNAP_KEY];
	if (isnan(key) || key < 0) {
		out[FD_KEY_X] = out[FD_KEY_Y] = 0;
	} else {
		int k = (int)key % 12;
		double a = 2.0 * M_PI * (double)((7 * k) % 12) / 12.0;
		out[FD_KEY_X] = s->w.key * (float)cos(a);
		out[FD_KEY_Y] = s->w.key * (float)sin(a);
	}
	for (uint32_t g = 0; g < s->ngenres; g++)
		out[FD_GENRE0 + g] = 0;
	int hits = 0;
	for (int i = 0; i < ng; i++)
		if (genre_idx[i] >= 0 && (uint32_t)genre_idx[i] < s->ngenres && out[FD_GENRE0 + genre_idx[i]] == 0) {
			out[FD_GENRE0 + genre_idx[i]] = 1;
			hits++;
		}
	if (hits > 0) {
		float scale = s->w.genre / sqrtf((float)hits);
		for (uint32_t g = 0; g < s->ngenres; g++)
			out[FD_GENRE0 + g] *= scale;
	}
}

/* The range a mood may ask of each dimension, in the feature's own unit;
 * lo > hi marks a dimension a mood cannot name (the key's two coordinates). */
static const struct mood_range {
	double lo, hi;
	const char *unit;
} MOOD_RANGE[FD_GENRE0] = {
	[FD_DANCEABILITY] = {0, 1, ""},
	[FD_ENERGY] = {0, 1, ""},
	[FD_SPEECHINESS] = {0, 1, ""},
	[FD_ACOUSTICNESS] = {0, 1, ""},
	[FD_INSTRUMENTALNESS] = {0, 1, ""},
	[FD_LIVENESS] = {0, 1, ""},
	[FD_VALENCE] = {0, 1, ""},
	[FD_LOUDNESS] = {-60, 5, " dB"},
	[FD_TEMPO] = {0, 300, " BPM"},
	[FD_KEY_X] = {1, 0, ""},
	[FD_KEY_Y] = {1, 0, ""},
	[FD_MODE] = {0, 1, " (0 minor, 1 major)"},
	[FD_DURATION] = {0, 120, " minutes"},
};

/* The dimension a mood names, or -1. */
static int mood_dim(const char *name, size_t len)
{
	for (int d = 0; d < FD_GENRE0; d++)
		if (MOOD_RANGE[d].lo <= MOOD_RANGE[d].hi && strlen(feat_dim_names[d]) == len &&
		    strncmp(feat_dim_names[d], name, len) == 0)
			return d;
	return -1;
}

int feat_mood_check(const char *name, size_t len, double v, seg_error *err)
{
	int d = mood_dim(name, len);
	if (d < 0) {
		/* Names come from requests: at most 40 bytes of one are quoted,
		 * and the caller is the one to make them valid UTF-8. */
		return seg_error_set(
			err, SEG_EINVAL,
			"unknown mood feature '%.*s' (use danceability, energy, speechiness, acousticness, "
			"instrumentalness, liveness, valence, loudness, tempo, mode, duration)",
			(int)(len < 40 ? len : 40), name);
	}
	const struct mood_range *r = &MOOD_RANGE[d];
	if (!(v >= r->lo && v <= r->hi)) /* NaN fails too */
		return seg_error_set(err, SEG_EINVAL, "mood %s must be from %g to %g%s, not %g", feat_dim_names[d],
		                     r->lo, r->hi, r->unit, v);
	return 0;
}

int feat_mood(const feat_spec *s, const char *mood, float *target, uint8_t *mask, seg_error *err)
{
	memset(target, 0, sizeof(float) * s->dim);
	memset(mask, 0, s->dim);
	const char *p = mood;
	int any = 0;
	while (*p) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		const char *eq = memchr(p, '=', len);
		if (eq == NULL)
			return seg_error_set(err, SEG_EINVAL, "mood '%.*s' is not name=value (e.g. energy=0.8)",
			                     (int)len, p);
		size_t nl = (size_t)(eq - p);
		char *end;
		double v = strtod(eq + 1, &end);
		if (end != p + len)
			return seg_error_set(err, SEG_EINVAL, "mood value in '%.*s' is not a number", (int)len, p);
		int rc = feat_mood_check(p, nl, v, err);
		if (rc < 0)
			return rc;
		int found = mood_dim(p, nl);
		if (found == FD_DURATION)
			v *= 60000.0; /* minutes, as a person would say it */
		target[found] = weight_of(s, found) * ((float)v - s->mean[found]) / s->sd[found];
		mask[found] = 1;
		any = 1;
		p += len;
		if (*p == ',')
			p++;
	}
	if (!any)
		return seg_error_set(err, SEG_EINVAL, "empty mood");
	return 0;
}

const char *feat_dim_name(const feat_spec *s, uint32_t d, char *buf, size_t cap)
{
	if (d < FD_GENRE0)
		snprintf(buf, cap, "%s", feat_dim_names[d]);
	else if (d < s->dim)
		snprintf(buf, cap, "genre: %s", s->genres[d - FD_GENRE0]);
	else
		snprintf(buf, cap, "?");
	return buf;
}
