/* topk.c: the bounded heap and the in-place selection of topk.h. */
#include "core/topk.h"

#include <math.h>
#include <stdlib.h>

void topk_init(topk *t, topk_hit *buf, size_t k)
{
	t->h = buf;
	t->k = k;
	t->len = 0;
	t->thr = -INFINITY;
}

/* Moves h[i] down the heap h[len] (worst at the root) to its place. */
static void heap_sift_down(topk_hit *h, size_t len, size_t i)
{
	topk_hit x = h[i];
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= len)
			break;
		if (c + 1 < len && topk_hit_worse(&h[c + 1], &h[c]))
			c++;
		if (!topk_hit_worse(&h[c], &x))
			break;
		h[i] = h[c];
		i = c;
	}
	h[i] = x;
}

void topk_push(topk *t, size_t row, float score)
{
	topk_hit x = {row, score};
	if (t->len < t->k) {
		size_t i = t->len++;
		while (i > 0) {
			size_t p = (i - 1) / 2;
			if (!topk_hit_worse(&x, &t->h[p]))
				break;
			t->h[i] = t->h[p];
			i = p;
		}
		t->h[i] = x;
		if (t->len == t->k)
			t->thr = t->h[0].score;
	} else if (t->k > 0 && topk_hit_worse(&t->h[0], &x)) {
		t->h[0] = x;
		heap_sift_down(t->h, t->len, 0);
		t->thr = t->h[0].score;
	}
}

size_t topk_finish(topk *t)
{
	/* Popping the worst to the end each time leaves them best first. */
	for (size_t n = t->len; n > 1; n--) {
		topk_hit worst = t->h[0];
		t->h[0] = t->h[n - 1];
		heap_sift_down(t->h, n - 1, 0);
		t->h[n - 1] = worst;
	}
	return t->len;
}

static int cmp_best_first(const void *pa, const void *pb)
{
	const topk_hit *a = pa, *b = pb;
	return topk_hit_worse(b, a) ? -1 : topk_hit_worse(a, b) ? 1 : 0;
}

/* a ranks before b. */
static inline int better(const topk_hit *a, const topk_hit *b) { return topk_hit_worse(b, a); }

size_t topk_select(topk_hit *a, size_t n, size_t k)
{
	size_t m = k < n ? k : n;
	if (m == 0)
		return 0;
	/* Quickselect (Hoare partition around the median of three) until
	 * a[m - 1] is the m-th best and everything before it better. Indexes
	 * are signed: j may step below lo. */
	ptrdiff_t lo = 0, hi = (ptrdiff_t)n - 1, want = (ptrdiff_t)m - 1;
	while (m < n && lo < hi) {
		topk_hit x = a[lo], y = a[lo + (hi - lo) / 2], z = a[hi], pv;
		if (better(&x, &y))
			pv = better(&y, &z) ? y : better(&x, &z) ? z : x;
		else
			pv = better(&x, &z) ? x : better(&y, &z) ? z : y;
		ptrdiff_t i = lo, j = hi;
		while (i <= j) {
			while (better(&a[i], &pv))
				i++;
			while (better(&pv, &a[j]))
				j--;
			if (i <= j) {
				topk_hit t = a[i];
				a[i++] = a[j];
				a[j--] = t;
			}
		}
		/* a[lo..j] rank no worse than the pivot, a[i..hi] no better, and
		 * anything between equals it */
		if (want <= j)
			hi = j;
		else if (want >= i)
			lo = i;
		else
			break;
	}
	qsort(a, m, sizeof *a, cmp_best_first);
	return m;
}
