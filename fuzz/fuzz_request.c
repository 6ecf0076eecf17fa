/* fuzz_request.c: libFuzzer target for the server's request parsing: the
 * POST /api/recommend body parser (user_id and "interleave:A,B" included)
 * and the mood parser behind it. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "models/featvec.h"
#include "serve/serve.h"
#include "catalog/snapshot.h"
#include "engine/recommender.h"
#include "experiment/events.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static feat_spec spec;
	static int ready;
	if (!ready) {
		float raw[2 * SNAP__COLS];
		for (int i = 0; i < 2 * SNAP__COLS; i++)
			raw[i] = (float)(i % 7) / 7.0f;
		const char *genres[1] = {"rock"};
		feat_fit(&spec, raw, 2, genres, 1, NULL, NULL);
		ready = 1;
	}
	static serve_recommend_body body;
	seg_error err;
	if (serve_parse_recommend((const char *)data, size, &body, &err) == 0) {
		/* Invariants of a body that passed. */
		if (body.k < 1 || body.k > 100 || body.nseeds > SERVE_MAX_SEEDS || body.nexclude > SERVE_MAX_EXCLUDE ||
		    !(body.diversity >= 0 && body.diversity <= 1))
			__builtin_trap();
		/* A registered model, given seeds or a mood when it needs them. */
		const recommender *m = recommender_get(body.model);
		if (m == NULL || ((m->flags & REC_NEEDS_QUERY) && body.nseeds == 0 && body.mood[0] == '\0'))
			__builtin_trap();
		/* An interleaving names two registered models, team A's the model. */
		if ((body.interleave[0] < 0) != (body.interleave[1] < 0) ||
		    (body.interleave[0] >= 0 &&
		     (body.interleave[0] != body.model || recommender_get(body.interleave[1]) == NULL)))
			__builtin_trap();
		/* A user id is "" or as events.h allows. */
		if (body.user[0] != '\0' && !ev_id_valid(body.user))
			__builtin_trap();
		for (size_t i = 0; i < body.nseeds; i++)
			if (strlen(body.seeds[i]) != 22)
				__builtin_trap();
		if (body.mood[0]) {
			float target[FEAT_MAX_DIMS];
			uint8_t mask[FEAT_MAX_DIMS];
			feat_mood(&spec, body.mood, target, mask, &err);
		}
	}
	return 0;
}
