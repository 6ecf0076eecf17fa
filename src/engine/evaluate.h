/* evaluate.h: `segue evaluate`: offline evaluation by playlist continuation.
 * For every held-out playlist (dataset.h's split, never seen by training) and
 * n in {1, 5, 10, 25}, the first n tracks are the seeds and the rest is hidden;
 * each recommender returns 500 tracks, scored with the RecSys Challenge 2018
 * metrics (R-precision with artist credit, NDCG, recommended-songs clicks) and
 * recall, and its top 10 with beyond-accuracy metrics (novelty, intra-list
 * diversity, catalogue coverage, Gini, popularity bias). The table is printed
 * and kept beside the model as evaluation.json. */
#ifndef SEGUE_EVALUATE_H
#define SEGUE_EVALUATE_H

#include <stdio.h>

#include "core/error.h"

typedef struct eval_options {
	const char *workspace;
	const char *artifact; /* model version or NULL for the latest */
	size_t k;             /* list length scored (500, as the challenge) */
	size_t max_playlists; /* 0 = every held-out playlist */
	int json;             /* print JSON instead of the table */
	FILE *out;
} eval_options;

void eval_options_default(eval_options *o);

int evaluate_run(const eval_options *o, seg_error *err);

#endif
