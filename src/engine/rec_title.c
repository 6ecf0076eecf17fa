/* rec_title.c: the title model, for a playlist that has a name and no tracks
 * yet (the RecSys Challenge 2018's "title only" case). It does not read
 * seeds or a mood.
 *
 * The rule. The title is cut into words (rec_title_words, recommender.h).
 * Each word w known from the titles of the L training playlists weighs
 * idf(w) = ln(1 + L / df(w)), df(w) the training playlists whose titles have
 * it; a training playlist p weighs s(p), the sum of idf(w) over the request's
 * words in p's title; a track scores the sum of s(p) over the training
 * playlists that hold it. The best-scoring tracks come first; when fewer than
 * were asked for score above 0, the tracks in the most training playlists
 * fill the list, below them (a title of unknown words gets those alone).
 *
 * Legend: V title words, L training playlists with a titled word, T track
 * ids. Training (train.c, build_title) writes the word -> playlists index and
 * each playlist's tracks; only training playlists are in it, so no title or
 * track of a validation or test playlist reaches the model. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/topk.h"
#include "engine/recommender.h"
#include "engine/train.h"

/* ---- words ---- */

size_t rec_title_words(const char *title, char (*words)[REC_TITLE_WORD_MAX], size_t max)
{
	size_t n = 0;
	char w[REC_TITLE_WORD_MAX];
	size_t len = 0;
	int toolong = 0;
	const unsigned char *p = (const unsigned char *)(title ? title : "");
	for (;;) {
		unsigned char ch = *p;
		size_t take = 0; /* bytes of a letter to append */
		int skip = 0;    /* bytes dropped without ending the word */
		if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'))
			take = 1;
		else if (ch >= 'A' && ch <= 'Z')
			take = 1;
		else if (ch == '\'')
			skip = 1;
		else if (ch == 0xE2 && p[1] == 0x80 && p[2] == 0x99) /* U+2019 right single quotation mark */
			skip = 3;
		else if (ch >= 0xC3 && ch <= 0xDF && (p[1] & 0xC0) == 0x80)
			take = 2;
		if (take > 0) {
			if (len + take < sizeof w) {
				for (size_t i = 0; i < take; i++)
					w[len++] = (char)(p[i] >= 'A' && p[i] <= 'Z' ? p[i] - 'A' + 'a' : p[i]);
			} else {
				toolong = 1;
			}
			p += take;
			continue;
		}
		if (skip > 0 && len > 0) {
			p += skip;
			continue;
		}
		/* The end of a word. */
		if (len >= 2 && !toolong && n < max) {
			if (len >= 4 && w[len - 1] == 's' && w[len - 2] != 's')
				len--;
			w[len] = '\0';
			int seen = 0;
			for (size_t i = 0; i < n && !seen; i++)
				seen = strcmp(words[i], w) == 0;
			if (!seen)
				memcpy(words[n++], w, len + 1);
		}
		len = 0;
		toolong = 0;
		if (ch == '\0')
			break;
		p++; /* bytes of a character that ends a word are each a separator */
	}
	return n;
}

/* ---- the model ---- */

typedef struct title_model {
	size_t V, L;
	const char *vocab;        /* the words, back to back */
	const uint32_t *word_off; /* [V] */
	const float *idf;         /* [V] */
	const uint32_t *word_ptr; /* [V+1] */
	const uint32_t *word_pl;  /* [word_ptr[V]] */
	const uint32_t *pl_ptr;   /* [L+1] */
	const int32_t *pl_track;  /* [pl_ptr[L]] ascending per playlist */
	int64_t *popular;         /* [npopular] track ids by training playlists, most first */
	size_t npopular;
	const uint32_t *track_pop; /* [T] */
} title_model;

static int cmp_pop_desc(const void *a, const void *b, void *ctx)
{
	const uint32_t *count = ctx;
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	if (count[x] != count[y])
		return count[x] > count[y] ? -1 : 1;
	return (x > y) - (x < y);
}

static int title_open(const rec_artifact *a, const container_file *f, void **state, seg_error *err)
{
	size_t sz_off, sz_ptr, sz_plptr;
	if (container_file_section(f, MS_TITLE_WORD_OFF, &sz_off) == NULL)
		return 0; /* not trained into this artifact */
	if (container_file_section(f, MS_TITLE_WORD_PTR, &sz_ptr) == NULL ||
	    container_file_section(f, MS_TITLE_PL_PTR, &sz_plptr) == NULL || sz_off % 4 || sz_ptr != sz_off + 4 ||
	    sz_plptr < 4 || sz_plptr % 4)
		return seg_error_set(err, SEG_EFORMAT, "the title model's sections are damaged");
	title_model *m = calloc(1, sizeof(*m));
	if (m == NULL)
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	m->V = sz_off / 4;
	m->L = sz_plptr / 4 - 1;
	size_t vocab_len = 0;
	const void *p;
	int rc;
	if (container_file_section(f, MS_TITLE_VOCAB, &vocab_len) == NULL) {
		rc = seg_error_set(err, SEG_EFORMAT, "the title model has no vocabulary");
		goto fail;
	}
	if ((rc = container_file_require(f, MS_TITLE_VOCAB, vocab_len, &p, err)) < 0)
		goto fail;
	m->vocab = p;
	if ((rc = container_file_require(f, MS_TITLE_WORD_OFF, sizeof(uint32_t) * m->V, &p, err)) < 0)
		goto fail;
	m->word_off = p;
	if ((rc = container_file_require(f, MS_TITLE_WORD_IDF, sizeof(float) * m->V, &p, err)) < 0)
		goto fail;
	m->idf = p;
	if ((rc = container_file_require(f, MS_TITLE_WORD_PTR, sizeof(uint32_t) * (m->V + 1), &p, err)) < 0)
		goto fail;
	m->word_ptr = p;
	if ((rc = container_file_require(f, MS_TITLE_WORD_PL, sizeof(uint32_t) * m->word_ptr[m->V], &p, err)) < 0)
		goto fail;
	m->word_pl = p;
	if ((rc = container_file_require(f, MS_TITLE_PL_PTR, sizeof(uint32_t) * (m->L + 1), &p, err)) < 0)
		goto fail;
	m->pl_ptr = p;
	if ((rc = container_file_require(f, MS_TITLE_PL_TRACK, sizeof(int32_t) * m->pl_ptr[m->L], &p, err)) < 0)
		goto fail;
	m->pl_track = p;
	/* Every index is checked once here, so that requests need not. */
	for (size_t v = 0; v < m->V; v++)
		if (m->word_off[v] >= vocab_len ||
		    memchr(m->vocab + m->word_off[v], '\0', vocab_len - m->word_off[v]) == NULL ||
		    m->word_ptr[v] > m->word_ptr[v + 1] || !(m->idf[v] >= 0)) {
			rc = seg_error_set(err, SEG_EFORMAT, "the title model's word %zu is damaged", v);
			goto fail;
		}
	for (size_t i = 0; i < m->word_ptr[m->V]; i++)
		if (m->word_pl[i] >= m->L) {
			rc = seg_error_set(err, SEG_EFORMAT, "the title model names a playlist it does not have");
			goto fail;
		}
	for (size_t l = 0; l < m->L; l++)
		if (m->pl_ptr[l] > m->pl_ptr[l + 1]) {
			rc = seg_error_set(err, SEG_EFORMAT, "the title model's playlist %zu is damaged", l);
			goto fail;
		}
	for (size_t i = 0; i < m->pl_ptr[m->L]; i++)
		if (m->pl_track[i] <= 0 || m->pl_track[i] >= a->T) {
			rc = seg_error_set(err, SEG_EFORMAT,
			                   "the title model names a track the catalogue does not have");
			goto fail;
		}
	/* The fill: as the popular baseline orders them. */
	m->track_pop = a->track_pop;
	if ((m->popular = malloc(sizeof(int64_t) * (size_t)(a->T ? a->T : 1))) == NULL) {
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
		goto fail;
	}
	for (int64_t t = 1; t < a->T; t++)
		if (a->track_pop[t] > 0)
			m->popular[m->npopular++] = t;
	qsort_r(m->popular, m->npopular, sizeof(int64_t), cmp_pop_desc, (void *)a->track_pop);
	*state = m;
	return 0;
fail:
	free(m);
	return rc;
}

static void title_close(void *state)
{
	title_model *m = state;
	if (m == NULL)
		return;
	free(m->popular);
	free(m);
}

/* The vocabulary index of `w`, or -1. */
static long word_find(const title_model *m, const char *w)
{
	size_t lo = 0, hi = m->V;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(m->vocab + m->word_off[mid], w);
		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* The request's known words as vocabulary indices into v[REC_TITLE_WORDS_MAX]. */
static size_t request_words(const title_model *m, const char *title, long *v)
{
	char words[REC_TITLE_WORDS_MAX][REC_TITLE_WORD_MAX];
	size_t nw = rec_title_words(title, words, REC_TITLE_WORDS_MAX), n = 0;
	for (size_t i = 0; i < nw; i++)
		if ((v[n] = word_find(m, words[i])) >= 0)
			n++;
	return n;
}

static int title_propose(const rec_query *q, const void *state, size_t want, rec_pool *pool, seg_error *err)
{
	const title_model *m = state;
	if (m == NULL || want == 0)
		return 0;
	long v[REC_TITLE_WORDS_MAX];
	size_t nv = request_words(m, q->r->title, v);
	size_t T = (size_t)q->a->T, added = 0, ntouched = 0;
	float *score = NULL, *plw = NULL;
	int64_t *touched = NULL;
	topk_hit *best = NULL;
	int rc = 0;
	if (nv > 0) {
		/* s(p) per playlist, then the tracks' sums; scratch for this request. */
		score = calloc(T, sizeof(float));
		plw = calloc(m->L ? m->L : 1, sizeof(float));
		touched = malloc(sizeof(int64_t) * T);
		best = malloc(sizeof(topk_hit) * want);
		if (!score || !plw || !touched || !best) {
			rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < nv; i++)
			for (uint32_t k = m->word_ptr[v[i]]; k < m->word_ptr[v[i] + 1]; k++)
				plw[m->word_pl[k]] += m->idf[v[i]];
		for (size_t i = 0; i < nv; i++)
			for (uint32_t k = m->word_ptr[v[i]]; k < m->word_ptr[v[i] + 1]; k++) {
				uint32_t l = m->word_pl[k];
				float s = plw[l];
				if (s == 0)
					continue; /* already added (a playlist with several of the words) */
				plw[l] = 0;
				for (uint32_t e = m->pl_ptr[l]; e < m->pl_ptr[l + 1]; e++) {
					int32_t t = m->pl_track[e];
					if (q->blocked[t])
						continue;
					if (score[t] == 0)
						touched[ntouched++] = t;
					score[t] += s;
				}
			}
		topk tk;
		topk_init(&tk, best, want);
		for (size_t i = 0; i < ntouched; i++)
			if (topk_admits(&tk, (size_t)touched[i], score[touched[i]]))
				topk_push(&tk, (size_t)touched[i], score[touched[i]]);
		size_t nb = topk_finish(&tk);
		float top = nb ? best[0].score : 1;
		for (size_t i = 0; i < nb; i++) {
			rec_cand *c = rec_pool_add(pool, (int64_t)best[i].row);
			if (c == NULL) {
				rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
				goto out;
			}
			c->score = 1.0f + best[i].score / top; /* (1, 2]: above every fill */
			added++;
		}
	}
	/* The fill, in [0, 1). */
	uint32_t most = m->npopular ? m->track_pop[m->popular[0]] : 0;
	for (size_t i = 0; i < m->npopular && added < want; i++) {
		int64_t t = m->popular[i];
		if (q->blocked[t] || rec_pool_has(pool, t))
			continue;
		rec_cand *c = rec_pool_add(pool, t);
		if (c == NULL) {
			rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
			goto out;
		}
		c->score = (float)m->track_pop[t] / (float)(most + 1);
		added++;
	}
out:
	free(score);
	free(plw);
	free(touched);
	free(best);
	return rc;
}

/* 1 when track t is in playlist l (its tracks are ascending). */
static int playlist_has(const title_model *m, uint32_t l, int32_t t)
{
	uint32_t lo = m->pl_ptr[l], hi = m->pl_ptr[l + 1];
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (m->pl_track[mid] == t)
			return 1;
		if (m->pl_track[mid] < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* A pick from a playlist titled like the request's, or one of the fill. */
static uint32_t title_explain(const rec_query *q, const void *state, const rec_item *it)
{
	const title_model *m = state;
	if (m == NULL || it->track <= 0 || it->track > INT32_MAX)
		return REASON_POPULAR;
	long v[REC_TITLE_WORDS_MAX];
	size_t nv = request_words(m, q->r->title, v);
	for (size_t i = 0; i < nv; i++)
		for (uint32_t k = m->word_ptr[v[i]]; k < m->word_ptr[v[i] + 1]; k++)
			if (playlist_has(m, m->word_pl[k], (int32_t)it->track))
				return REASON_TITLE;
	return REASON_POPULAR;
}

const recommender rec_title = {
	.name = "title",
	.description = "tracks of the training playlists whose titles share the title's words (rarer words count "
		       "more), then the most popular",
	.flags = REC_NEEDS_QUERY | REC_USES_TITLE,
	.open = title_open,
	.close = title_close,
	.propose = title_propose,
	.explain = title_explain,
};
