/* test_featvec.c: the content-feature pipeline: standardisation against
 * hand-computed means and deviations, key on the circle of fifths, the genre
 * block, missing values, and mood parsing. */
#include "testutil.h"

#include <math.h>
#include <string.h>

#include "models/featvec.h"
#include "catalog/snapshot.h"

static void row(float *r, float dance, float energy, float key, float mode, float tempo)
{
	for (int c = 0; c < SNAP__COLS; c++)
		r[c] = 0.5f;
	r[SNAP_DANCEABILITY] = dance;
	r[SNAP_ENERGY] = energy;
	r[SNAP_KEY] = key;
	r[SNAP_MODE] = mode;
	r[SNAP_TEMPO] = tempo;
	r[SNAP_LOUDNESS] = -8;
	r[SNAP_DURATION_MS] = 200000;
}

static void test_standardise_and_key(void **state)
{
	(void)state;
	float raw[3 * SNAP__COLS];
	row(raw, 0.2f, 0.5f, 0, 1, 100);
	row(raw + SNAP__COLS, 0.4f, 0.5f, 7, 0, NAN); /* G: a fifth above C */
	row(raw + 2 * SNAP__COLS, 0.6f, 0.5f, 1, 1, 140);
	const char *genres[2] = {"rock", "jazz"};
	feat_spec s;
	seg_error err;
	assert_int_equal(feat_fit(&s, raw, 3, genres, 2, NULL, &err), 0);
	assert_int_equal(s.dim, FD_GENRE0 + 2);
	/* danceability: mean 0.4, population sd sqrt(0.08/3). */
	assert_float_equal(s.mean[FD_DANCEABILITY], 0.4f, 1e-6);
	assert_float_equal(s.sd[FD_DANCEABILITY], sqrtf(0.08f / 3), 1e-6);
	/* tempo ignores the NaN: mean 120, sd 20. */
	assert_float_equal(s.mean[FD_TEMPO], 120.0f, 1e-4);
	assert_float_equal(s.sd[FD_TEMPO], 20.0f, 1e-4);
	/* A constant column keeps sd 1 rather than dividing by zero. */
	assert_float_equal(s.sd[FD_ENERGY], 1.0f, 0);

	float v[3][FD_GENRE0 + 2];
	int rock = 0, both[2] = {0, 1};
	feat_transform(&s, raw, &rock, 1, v[0]);
	feat_transform(&s, raw + SNAP__COLS, NULL, 0, v[1]);
	feat_transform(&s, raw + 2 * SNAP__COLS, both, 2, v[2]);
	assert_float_equal(v[0][FD_DANCEABILITY], (0.2f - 0.4f) / sqrtf(0.08f / 3), 1e-5);
	assert_float_equal(v[1][FD_TEMPO], 0.0f, 0); /* missing -> the mean */
	assert_float_equal(v[2][FD_TEMPO], 1.0f, 1e-5);
	/* Circle of fifths: C at angle 0, G one step (30 degrees) away, C# seven steps. */
	float w = s.w.key;
	assert_float_equal(v[0][FD_KEY_X], w, 1e-6);
	assert_float_equal(v[0][FD_KEY_Y], 0, 1e-6);
	assert_float_equal(v[1][FD_KEY_X], w * cosf((float)M_PI / 6), 1e-5);
	assert_float_equal(v[1][FD_KEY_Y], w * sinf((float)M_PI / 6), 1e-5);
	assert_float_equal(v[2][FD_KEY_X], w * cosf(7 * (float)M_PI / 6), 1e-5);
	float dCG = hypotf(v[0][FD_KEY_X] - v[1][FD_KEY_X], v[0][FD_KEY_Y] - v[1][FD_KEY_Y]);
	float dCCs = hypotf(v[0][FD_KEY_X] - v[2][FD_KEY_X], v[0][FD_KEY_Y] - v[2][FD_KEY_Y]);
	assert_true(dCG < dCCs); /* C is closer to G than to C# */
	/* Genre block: unit weight split over the genres a track has. */
	assert_float_equal(v[0][FD_GENRE0], s.w.genre, 1e-6);
	assert_float_equal(v[0][FD_GENRE0 + 1], 0, 0);
	assert_float_equal(v[1][FD_GENRE0] + v[1][FD_GENRE0 + 1], 0, 0);
	assert_float_equal(v[2][FD_GENRE0], s.w.genre / sqrtf(2), 1e-6);
	/* Key -1 (not detected) sits at the centre. */
	raw[SNAP_KEY] = -1;
	feat_transform(&s, raw, NULL, 0, v[0]);
	assert_float_equal(v[0][FD_KEY_X], 0, 0);
	char name[64];
	assert_string_equal(feat_dim_name(&s, FD_GENRE0 + 1, name, sizeof name), "genre: jazz");
}

static void test_mood(void **state)
{
	(void)state;
	float raw[2 * SNAP__COLS];
	row(raw, 0.2f, 0.2f, 0, 1, 100);
	row(raw + SNAP__COLS, 0.6f, 0.6f, 0, 1, 140);
	feat_spec s;
	seg_error err;
	assert_int_equal(feat_fit(&s, raw, 2, NULL, 0, NULL, &err), 0);
	float t[FD_GENRE0];
	uint8_t mask[FD_GENRE0];
	assert_int_equal(feat_mood(&s, "energy=0.6,tempo=120", t, mask, &err), 0);
	assert_int_equal(mask[FD_ENERGY] + mask[FD_TEMPO], 2);
	assert_int_equal(mask[FD_VALENCE], 0);
	assert_float_equal(t[FD_ENERGY], 1.0f, 1e-5); /* (0.6 - 0.4) / 0.2 */
	assert_float_equal(t[FD_TEMPO], 0.0f, 1e-5);
	assert_int_equal(feat_mood(&s, "energy=1.5", t, mask, &err), SEG_EINVAL);
	assert_int_equal(feat_mood(&s, "vibes=0.5", t, mask, &err), SEG_EINVAL);
	assert_non_null(strstr(err.msg, "vibes"));
	assert_int_equal(feat_mood(&s, "energy", t, mask, &err), SEG_EINVAL);
	assert_int_equal(feat_mood(&s, "energy=high", t, mask, &err), SEG_EINVAL);
	assert_int_equal(feat_mood(&s, "", t, mask, &err), SEG_EINVAL);
	/* Values outside any real range are refused with the range, whatever
	 * the unit; the ends of each range are accepted. */
	static const char *const bad[] = {"tempo=1e308", "tempo=nan",    "tempo=inf", "loudness=-1e308", "loudness=6",
	                                  "duration=-1", "duration=121", "mode=2",    "valence=-0.01"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		if (feat_mood(&s, bad[i], t, mask, &err) != SEG_EINVAL)
			fail_msg("mood '%s' was accepted", bad[i]);
		assert_non_null(strstr(err.msg, "must be from"));
	}
	assert_non_null(strstr((feat_mood(&s, "tempo=301", t, mask, &err), err.msg), "0 to 300 BPM"));
	assert_int_equal(feat_mood(&s, "tempo=0,tempo=300,loudness=-60,loudness=5,duration=120,mode=1", t, mask, &err),
	                 0);
	assert_int_equal(feat_mood_check("key (fifths x)", 14, 0.5, &err), SEG_EINVAL); /* derived, not askable */
	assert_int_equal(feat_mood_check("tempoX", 5, 100, &err), 0);                   /* len counts */
	assert_int_equal(feat_fit(&s, raw, 0, NULL, 0, NULL, &err), SEG_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_standardise_and_key),
		cmocka_unit_test(test_mood),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
