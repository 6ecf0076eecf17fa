/* topk.h: the one top-k selection of segue: the k best (row, score) pairs,
 * best first, where better is a higher score and, between equal scores, a
 * lower row, so that the order is total and every result is deterministic.
 * Two forms: a bounded heap for pairs that arrive one at a time (a scan),
 * kept in the caller's buffer of k, and a selection in place over an array
 * that holds them all. It does not filter (callers test their own
 * conditions before pushing) and does not allocate. A NaN score must not
 * be pushed or selected: it has no place in the order. */
#ifndef SEGUE_TOPK_H
#define SEGUE_TOPK_H

#include <stddef.h>

/* One result. Plain data. */
typedef struct topk_hit {
	size_t row;  /* the caller's index of the thing scored */
	float score; /* larger is better */
} topk_hit;

/* Whether a ranks below b: a lower score, or the same score and a higher row. */
static inline int topk_hit_worse(const topk_hit *a, const topk_hit *b)
{
	return a->score < b->score || (a->score == b->score && a->row > b->row);
}

/* The k best pairs pushed so far, as a heap in the caller's buffer whose
 * root h[0] is the worst of them, so that a newcomer is compared with one
 * pair and replaces the root in O(log k). Plain data, set by topk_init;
 * callers read `thr` and `len` directly. */
typedef struct topk {
	topk_hit *h; /* [K] the heap: the caller's buffer */
	size_t k;    /* K; 0 keeps nothing */
	size_t len;  /* pairs held, <= K */
	float thr;   /* the root's score once full, -INFINITY before: a pair
	              * scoring below it cannot enter, one scoring above it
	              * does, one equal to it does when its row is lower */
} topk;

/* Starts an empty selection of the k best into buf[k] (which it owns until
 * topk_finish; NULL when k is 0). */
void topk_init(topk *t, topk_hit *buf, size_t k);

/* Whether (row, score) would enter the selection now. */
static inline int topk_admits(const topk *t, size_t row, float score)
{
	if (t->len < t->k)
		return 1;
	topk_hit x = {row, score};
	return t->k > 0 && topk_hit_worse(&t->h[0], &x);
}

/* Keeps (row, score) if it ranks among the best k pushed so far (the same
 * row pushed twice is kept twice: rows are the caller's to keep distinct). */
void topk_push(topk *t, size_t row, float score);

/* Sorts the buffer best first and returns how many pairs it holds (min(k,
 * pairs pushed)); the selection is then done and t must be started again
 * with topk_init before another push. */
size_t topk_finish(topk *t);

/* Rearranges a[n] so that a[0..m) are its m best, best first, m = min(k,
 * n), and returns m; the rest of a is left in no order. Expected time
 * O(n + m log m) (quickselect, which unlike a heap does not slow down on
 * long runs of equal scores). */
size_t topk_select(topk_hit *a, size_t n, size_t k);

#endif
