/* featvec.h: the content-feature pipeline: turns a track's raw audio features
 * (snapshot columns) and genres into the vector that content similarity,
 * clustering and the map work on. The fitted parameters (means, deviations,
 * weights, genre vocabulary) are one plain struct stored inside the model, so
 * serving computes exactly the vectors training did. It does not search. */
#ifndef SEGUE_FEATVEC_H
#define SEGUE_FEATVEC_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define FEAT_MAX_GENRES 24
#define FEAT_GENRE_NAME 32
#define FEAT_AUDIO_DIMS 13 /* 7 unit features, loudness, tempo, key (2), mode, duration */
#define FEAT_MAX_DIMS (FEAT_AUDIO_DIMS + FEAT_MAX_GENRES)
#define FEAT_SPEC_VERSION 1

/* Output dimensions, in order. */
/* clang-format off */
enum feat_dim {
	FD_DANCEABILITY, FD_ENERGY, FD_SPEECHINESS, FD_ACOUSTICNESS, FD_INSTRUMENTALNESS,
	FD_LIVENESS, FD_VALENCE, FD_LOUDNESS, FD_TEMPO, FD_KEY_X, FD_KEY_Y, FD_MODE, FD_DURATION,
	FD_GENRE0 /* first genre dimension */
};
/* clang-format on */

/* Per-block weights: how much each part counts in the similarity. */
typedef struct feat_weights {
	float audio[FD_KEY_X]; /* the 9 standardised audio features, FD_DANCEABILITY..FD_TEMPO */
	float key;             /* the circle-of-fifths pair */
	float mode;
	float duration;
	float genre; /* the whole genre block */
} feat_weights;

/* The fitted pipeline. Plain data, stored verbatim in the model file. */
typedef struct feat_spec {
	uint32_t version; /* FEAT_SPEC_VERSION */
	uint32_t dim;     /* FD_GENRE0 + ngenres */
	uint32_t ngenres;
	uint32_t reserved;
	float mean[FD_GENRE0]; /* of each raw input before scaling (key dims unused) */
	float sd[FD_GENRE0];   /* standard deviation, 1 where it is 0 */
	feat_weights w;
	char genres[FEAT_MAX_GENRES][FEAT_GENRE_NAME]; /* the genre vocabulary, lower case */
} feat_spec;

extern const char *const feat_dim_names[FD_GENRE0];

/* Default weights: audio 1, key 0.5, mode 0.5, duration 0.3, genre block 2. */
void feat_weights_default(feat_weights *w);

/* Fits means and deviations over raw[N][SNAP__COLS] (snapshot rows; NaN
 * ignored) and stores the weights and at most FEAT_MAX_GENRES genre names. */
int feat_fit(feat_spec *s, const float *raw, size_t N, const char *const *genres, size_t ngenres, const feat_weights *w,
             seg_error *err);

/* Computes one vector. raw: one snapshot row [SNAP__COLS]; genre_idx: the
 * track's genres as vocabulary indices (others are ignored); out: [s->dim].
 * Missing values become the mean (0 after standardising). */
void feat_transform(const feat_spec *s, const float *raw, const int *genre_idx, int ng, float *out);

/* Checks one mood value: `name` (len bytes, not NUL-terminated) must be a
 * feature a mood can ask for and v within its real range: 0..1 for
 * danceability, energy, speechiness, acousticness, instrumentalness,
 * liveness, valence and mode, -60..5 dB for loudness, 0..300 BPM for tempo,
 * 0..120 minutes for duration; NaN and infinities are refused. Returns 0 or
 * SEG_EINVAL with a sentence in *err. The one place these ranges live. */
int feat_mood_check(const char *name, size_t len, double v, seg_error *err);

/* Parses a mood ("energy=0.8,valence=0.7,tempo=120,acousticness=0.2") into a
 * target in model space: target[dim] and mask[dim] (1 where the mood speaks).
 * Values are in the features' own units (0..1, BPM, dB, minutes) and
 * checked by feat_mood_check. */
int feat_mood(const feat_spec *s, const char *mood, float *target, uint8_t *mask, seg_error *err);

/* Names dimension d ("energy", "key (circle of fifths)", "genre: rock"). */
const char *feat_dim_name(const feat_spec *s, uint32_t d, char *buf, size_t cap);

#endif
