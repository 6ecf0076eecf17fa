/* metrics.c: offline evaluation metrics (see metrics.h). Pure functions of
 * their arguments apart from the scratch marks in metrics_truth; nothing here
 * reads files or knows about recommenders.
 *
 * Legend: G hidden items, K recommended items, k cut-off, N catalogue items,
 * D feature dimensions.
 *
 * Where the RecSys Challenge 2018 definitions come from:
 *   - The challenge rules, https://recsys-challenge.spotify.com/rules (2018),
 *     section "Evaluation": R-precision = |G ∩ R_{1:|G|}| / |G|; DCG = rel_1 +
 *     Σ_{i=2}^{|R|} rel_i / log2(i); IDCG = 1 + Σ_{i=2}^{|G ∩ R|} 1 / log2(i),
 *     "If the size of the set intersection of G and R is empty, then the IDCG
 *     is equal to 0" and NDCG = DCG / IDCG; clicks = floor((argmin_i {R_i ∈ G}
 *     - 1) / 10), "a value of 51 is picked" when no relevant track is in R.
 *     (The sentence about an empty intersection only makes sense when IDCG is
 *     summed to |G ∩ R|; we take 0/0 there as NDCG 0. The rules typeset the
 *     formulas as images: the formulas above are our transcription, the quoted
 *     sentences their words. An early version of the rules also scored every
 *     metric at the artist level; the artist credit below replaced that.)
 *   - H. Zamani, M. Schedl, P. Lamere, C.-W. Chen, "An Analysis of Approaches
 *     Taken in the ACM RecSys Challenge 2018 for Automatic Music Playlist
 *     Continuation", ACM TIST 10(5), 2019, section 4 (evaluation), which gives
 *     the artist credit used in the final leaderboard:
 *       R-precision = (|S_T ∩ G_T| + 0.25 · |S_A ∩ G_A|) / |G_T|
 *     with G_T/G_A the unique hidden tracks/artists and S_T/S_A the unique
 *     tracks/artists of the top |G_T| recommendations, the artist match being
 *     a partial credit for recommended tracks that are not track matches.
 *   Variant chosen here (metrics.h says it again): the artist term is taken
 *   over the unmatched parts on both sides: G_A = artists of the hidden tracks
 *   that S_T missed, S_A = artists of the top-|G_T| tracks that are not in
 *   G_T. A track match therefore never also earns artist credit, and an
 *   artist whose hidden tracks were all found cannot be credited again, so
 *   the score stays within [0, 1]. NDCG offers both normalisations (the
 *   rules' |G ∩ R| and the usual |G|); they coincide whenever all hidden
 *   tracks are retrieved. */
#include "engine/metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- truth */

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* Item with its first position in the input, to keep the first artist. */
typedef struct truth_entry {
	uint32_t item;
	uint32_t pad;
	size_t pos;
} truth_entry;

static int cmp_entry(const void *a, const void *b)
{
	const truth_entry *x = a, *y = b;
	if (x->item != y->item)
		return (x->item > y->item) - (x->item < y->item);
	return (x->pos > y->pos) - (x->pos < y->pos);
}

int metrics_truth_set(metrics_truth *t, const uint32_t *item, const int64_t *artist, size_t n, seg_error *err)
{
	t->n = 0;
	t->stamp = 0;
	t->has_artist = artist != NULL;
	if (n > t->cap) {
		size_t cap = n < 16 ? 16 : n;
		uint32_t *ni = realloc(t->item, cap * sizeof *ni);
		if (ni)
			t->item = ni;
		int64_t *na = realloc(t->artist, cap * sizeof *na);
		if (na)
			t->artist = na;
		uint32_t *nm = realloc(t->mark, cap * sizeof *nm);
		if (nm)
			t->mark = nm;
		int64_t *ns = realloc(t->scratch, 2 * cap * sizeof *ns);
		if (ns)
			t->scratch = ns;
		if (!ni || !na || !nm || !ns)
			return seg_error_set(err, SEG_ENOMEM, "out of memory for a ground truth of %zu items", n);
		t->cap = cap;
	}
	if (n == 0)
		return 0;
	truth_entry *e = malloc(n * sizeof *e);
	if (e == NULL)
		return seg_error_set(err, SEG_ENOMEM, "out of memory for a ground truth of %zu items", n);
	for (size_t i = 0; i < n; i++)
		e[i] = (truth_entry){.item = item[i], .pos = i};
	qsort(e, n, sizeof *e, cmp_entry);
	size_t g = 0;
	for (size_t i = 0; i < n; i++) {
		if (g > 0 && t->item[g - 1] == e[i].item)
			continue; /* a duplicate: the earliest (first sorted) one was kept */
		t->item[g] = e[i].item;
		t->artist[g] = artist ? artist[e[i].pos] : 0;
		g++;
	}
	free(e);
	t->n = g;
	memset(t->mark, 0, g * sizeof *t->mark);
	return 0;
}

void metrics_truth_free(metrics_truth *t)
{
	if (t == NULL)
		return;
	free(t->item);
	free(t->artist);
	free(t->mark);
	free(t->scratch);
	memset(t, 0, sizeof *t);
}

long metrics_truth_find(const metrics_truth *t, uint32_t item)
{
	size_t lo = 0, hi = t->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->item[mid] < item)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < t->n && t->item[lo] == item ? (long)lo : -1;
}

/* Starts a new call: a fresh stamp value, so that no item is marked. */
static uint32_t truth_begin(metrics_truth *t)
{
	if (++t->stamp == 0) {
		memset(t->mark, 0, t->n * sizeof *t->mark);
		t->stamp = 1;
	}
	return t->stamp;
}

/* If rec_item is hidden and not yet matched in this call, marks it and
 * returns 1; otherwise 0 (not relevant, or a duplicate of a match). */
static int truth_match(metrics_truth *t, uint32_t rec_item)
{
	long g = metrics_truth_find(t, rec_item);
	if (g < 0 || t->mark[g] == t->stamp)
		return 0;
	t->mark[g] = t->stamp;
	return 1;
}

/* ---------------------------------------------------------------- accuracy */

/* Distinct elements common to two ascending int64 arrays (each may repeat). */
static size_t sorted_common(const int64_t *a, size_t na, const int64_t *b, size_t nb)
{
	size_t i = 0, j = 0, c = 0;
	while (i < na && j < nb) {
		if (a[i] < b[j]) {
			i++;
		} else if (b[j] < a[i]) {
			j++;
		} else {
			int64_t v = a[i];
			c++;
			while (i < na && a[i] == v)
				i++;
			while (j < nb && b[j] == v)
				j++;
		}
	}
	return c;
}

double metrics_r_precision(metrics_truth *t, const uint32_t *rec, const int64_t *rec_artist, size_t K)
{
	size_t G = t->n;
	if (G == 0)
		return NAN;
	size_t top = K < G ? K : G; /* R_{1:|G|} */
	truth_begin(t);
	size_t track_hits = 0;
	for (size_t i = 0; i < top; i++)
		track_hits += (size_t)truth_match(t, rec[i]);
	double score = (double)track_hits;

	if (rec_artist != NULL && t->has_artist && track_hits < G) {
		/* G_A: artists of the hidden tracks left unmatched. */
		int64_t *ga = t->scratch;     /* [<= G] */
		int64_t *sa = t->scratch + G; /* [<= G] */
		size_t nga = 0, nsa = 0;
		for (size_t g = 0; g < G; g++)
			if (t->mark[g] != t->stamp)
				ga[nga++] = t->artist[g];
		/* S_A: artists of the top-|G| recommendations that are not hidden tracks. */
		for (size_t i = 0; i < top; i++)
			if (metrics_truth_find(t, rec[i]) < 0)
				sa[nsa++] = rec_artist[i];
		qsort(ga, nga, sizeof *ga, cmp_i64);
		qsort(sa, nsa, sizeof *sa, cmp_i64);
		score += 0.25 * (double)sorted_common(ga, nga, sa, nsa);
	}
	return score / (double)G;
}

/* Challenge discount of position i (1-based): 1 for i = 1, 1/log2(i) after. */
static double challenge_discount(size_t i) { return i <= 1 ? 1.0 : 1.0 / log2((double)i); }

double metrics_ndcg(metrics_truth *t, const uint32_t *rec, size_t K, enum metrics_idcg idcg)
{
	if (t->n == 0)
		return NAN;
	truth_begin(t);
	double dcg = 0.0;
	size_t hits = 0;
	for (size_t i = 0; i < K; i++) {
		if (truth_match(t, rec[i])) {
			dcg += challenge_discount(i + 1);
			hits++;
		}
	}
	if (hits == 0)
		return 0.0;
	size_t m = hits;
	if (idcg == METRICS_IDCG_TRUTH)
		m = t->n < K ? t->n : K;
	double ideal = 0.0;
	for (size_t i = 1; i <= m; i++)
		ideal += challenge_discount(i);
	return dcg / ideal;
}

double metrics_ndcg_organisers(metrics_truth *t, const uint32_t *rec, size_t K, size_t k)
{
	if (t->n == 0)
		return NAN;
	if (k == 0)
		k = K;
	size_t top = K < k ? K : k;
	/* Open-addressing set of the items seen, so a repeat neither scores nor
	 * takes a position. UINT32_MAX is never an item (items are < N). */
	size_t cap = 16;
	while (cap < 2 * top)
		cap <<= 1;
	uint32_t *seen = malloc(sizeof(uint32_t) * cap);
	if (seen == NULL)
		return NAN;
	memset(seen, 0xff, sizeof(uint32_t) * cap);
	truth_begin(t);
	double dcg = 0.0;
	size_t pos = 0; /* 1-based position in the deduplicated list */
	for (size_t i = 0; i < top; i++) {
		size_t h = ((size_t)rec[i] * 2654435761u) & (cap - 1);
		while (seen[h] != UINT32_MAX && seen[h] != rec[i])
			h = (h + 1) & (cap - 1);
		if (seen[h] == rec[i])
			continue;
		seen[h] = rec[i];
		pos++;
		if (truth_match(t, rec[i]))
			dcg += 1.0 / log2((double)pos + 1.0);
	}
	free(seen);
	size_t m = t->n < k ? t->n : k;
	double ideal = 0.0;
	for (size_t i = 1; i <= m; i++)
		ideal += 1.0 / log2((double)i + 1.0);
	return dcg / ideal;
}

double metrics_clicks(metrics_truth *t, const uint32_t *rec, size_t K)
{
	size_t depth = K < METRICS_CLICKS_DEPTH ? K : METRICS_CLICKS_DEPTH;
	for (size_t i = 0; i < depth; i++)
		if (metrics_truth_find(t, rec[i]) >= 0)
			return (double)(i / 10); /* rank i+1: floor((i+1-1)/10) */
	return (double)METRICS_CLICKS_NONE;
}

/* Distinct hits in the first min(k, K) positions; *first = 1-based rank of
 * the first hit, or 0. */
static size_t hits_at(metrics_truth *t, const uint32_t *rec, size_t K, size_t k, size_t *first)
{
	size_t top = k < K ? k : K;
	size_t hits = 0;
	*first = 0;
	truth_begin(t);
	for (size_t i = 0; i < top; i++) {
		if (truth_match(t, rec[i])) {
			if (hits++ == 0)
				*first = i + 1;
		}
	}
	return hits;
}

double metrics_recall_at(metrics_truth *t, const uint32_t *rec, size_t K, size_t k)
{
	size_t first;
	if (t->n == 0)
		return NAN;
	if (k == 0)
		k = K;
	return (double)hits_at(t, rec, K, k, &first) / (double)t->n;
}

double metrics_precision_at(metrics_truth *t, const uint32_t *rec, size_t K, size_t k)
{
	size_t first;
	if (k == 0)
		k = K;
	if (k == 0)
		return NAN;
	return (double)hits_at(t, rec, K, k, &first) / (double)k;
}

double metrics_hit_at(metrics_truth *t, const uint32_t *rec, size_t K, size_t k)
{
	size_t first;
	if (k == 0)
		k = K;
	return hits_at(t, rec, K, k, &first) > 0 ? 1.0 : 0.0;
}

double metrics_rr_at(metrics_truth *t, const uint32_t *rec, size_t K, size_t k)
{
	size_t first;
	if (k == 0)
		k = K;
	hits_at(t, rec, K, k, &first);
	return first ? 1.0 / (double)first : 0.0;
}

/* ---------------------------------------------------------------- beyond accuracy */

int metrics_popularity_init(metrics_popularity *p, const uint32_t *count, size_t N, seg_error *err)
{
	memset(p, 0, sizeof *p);
	if (N == 0 || count == NULL)
		return seg_error_set(err, SEG_EINVAL, "popularity needs a non-empty catalogue");
	double total = 0.0;
	for (size_t i = 0; i < N; i++)
		total += (double)count[i];
	if (total <= 0.0)
		return seg_error_set(err, SEG_EINVAL, "popularity counts are all zero");
	p->count = count;
	p->n = N;
	p->total = total;
	p->mean = total / (double)N;
	return 0;
}

static int check_items(const uint32_t *rec, size_t K, size_t N, seg_error *err)
{
	for (size_t i = 0; i < K; i++)
		if (rec[i] >= N)
			return seg_error_set(
				err, SEG_EINVAL,
				"recommended item %u at position %zu is outside the catalogue of %zu items",
				(unsigned)rec[i], i + 1, N);
	return 0;
}

int metrics_novelty(const metrics_popularity *p, const uint32_t *rec, size_t K, double *out, seg_error *err)
{
	int rc = check_items(rec, K, p->n, err);
	if (rc)
		return rc;
	if (K == 0) {
		*out = NAN;
		return 0;
	}
	double sum = 0.0;
	for (size_t i = 0; i < K; i++) {
		uint32_t c = p->count[rec[i]];
		sum += -log2((double)(c ? c : 1) / p->total);
	}
	*out = sum / (double)K;
	return 0;
}

int metrics_popularity_bias(const metrics_popularity *p, const uint32_t *rec, size_t K, double *out, seg_error *err)
{
	int rc = check_items(rec, K, p->n, err);
	if (rc)
		return rc;
	if (K == 0) {
		*out = NAN;
		return 0;
	}
	double sum = 0.0;
	for (size_t i = 0; i < K; i++)
		sum += (double)p->count[rec[i]];
	*out = (sum / (double)K) / p->mean;
	return 0;
}

/* Cosine distance of two D-vectors with known norms; a zero vector counts as
 * orthogonal to everything. */
static double cosine_distance(const float *a, const float *b, size_t D, double na, double nb)
{
	if (na == 0.0 || nb == 0.0)
		return 1.0;
	double dot = 0.0;
	for (size_t d = 0; d < D; d++)
		dot += (double)a[d] * (double)b[d];
	return 1.0 - dot / (na * nb);
}

static double norm2(const float *a, size_t D)
{
	double s = 0.0;
	for (size_t d = 0; d < D; d++)
		s += (double)a[d] * (double)a[d];
	return sqrt(s);
}

/* Mean pairwise cosine distance of rows row(i) = X + D * (rec ? rec[i] : i).
 * Norms are recomputed per pair rather than cached so that this allocates
 * nothing; lists are short (ILD is usually taken over a top 10-50). */
static double ild_rows(const float *X, size_t D, const uint32_t *rec, size_t K)
{
	if (K < 2)
		return NAN;
	double sum = 0.0;
	for (size_t i = 0; i < K; i++) {
		const float *a = X + D * (rec ? rec[i] : i);
		double na = norm2(a, D);
		for (size_t j = i + 1; j < K; j++) {
			const float *b = X + D * (rec ? rec[j] : j);
			sum += cosine_distance(a, b, D, na, norm2(b, D));
		}
	}
	return sum / ((double)K * (double)(K - 1) / 2.0);
}

double metrics_ild(const float *X, size_t K, size_t D) { return ild_rows(X, D, NULL, K); }

double metrics_ild_rows(const float *X, size_t D, const uint32_t *rec, size_t K) { return ild_rows(X, D, rec, K); }

double metrics_ild_fn(const uint32_t *rec, size_t K, metrics_distance_fn dist, void *ctx)
{
	if (K < 2)
		return NAN;
	double sum = 0.0;
	for (size_t i = 0; i < K; i++)
		for (size_t j = i + 1; j < K; j++)
			sum += dist(rec[i], rec[j], ctx);
	return sum / ((double)K * (double)(K - 1) / 2.0);
}

/* ---------------------------------------------------------------- exposure */

int metrics_exposure_init(metrics_exposure *e, size_t N, seg_error *err)
{
	memset(e, 0, sizeof *e);
	if (N == 0)
		return seg_error_set(err, SEG_EINVAL, "exposure needs a non-empty catalogue");
	e->count = calloc(N, sizeof *e->count);
	if (e->count == NULL)
		return seg_error_set(err, SEG_ENOMEM, "out of memory for exposure counts of %zu items", N);
	e->n = N;
	return 0;
}

int metrics_exposure_add(metrics_exposure *e, const uint32_t *rec, size_t K, seg_error *err)
{
	int rc = check_items(rec, K, e->n, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < K; i++)
		e->count[rec[i]]++;
	e->total += K;
	e->lists++;
	return 0;
}

double metrics_exposure_coverage(const metrics_exposure *e)
{
	if (e->n == 0)
		return NAN;
	size_t seen = 0;
	for (size_t i = 0; i < e->n; i++)
		seen += e->count[i] > 0;
	return (double)seen / (double)e->n;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

int metrics_exposure_gini(const metrics_exposure *e, double *out, seg_error *err)
{
	if (e->n == 0 || e->total == 0) {
		*out = NAN;
		return 0;
	}
	uint64_t *x = malloc(e->n * sizeof *x); /* [N] counts, ascending */
	if (x == NULL)
		return seg_error_set(err, SEG_ENOMEM, "out of memory sorting %zu exposure counts", e->n);
	memcpy(x, e->count, e->n * sizeof *x);
	qsort(x, e->n, sizeof *x, cmp_u64);
	double N = (double)e->n, num = 0.0;
	for (size_t i = 0; i < e->n; i++)
		num += (2.0 * (double)(i + 1) - N - 1.0) * (double)x[i];
	free(x);
	*out = num / (N * (double)e->total);
	return 0;
}

void metrics_exposure_free(metrics_exposure *e)
{
	if (e == NULL)
		return;
	free(e->count);
	memset(e, 0, sizeof *e);
}

/* ---------------------------------------------------------------- accumulator */

void metrics_stat_add(metrics_stat *s, double x)
{
	if (isnan(x)) {
		s->undefined++;
		return;
	}
	s->n++;
	double delta = x - s->mean;
	s->mean += delta / (double)s->n;
	s->m2 += delta * (x - s->mean);
}

void metrics_stat_merge(metrics_stat *a, const metrics_stat *b)
{
	a->undefined += b->undefined;
	if (b->n == 0)
		return;
	if (a->n == 0) {
		a->n = b->n;
		a->mean = b->mean;
		a->m2 = b->m2;
		return;
	}
	double na = (double)a->n, nb = (double)b->n, n = na + nb;
	double delta = b->mean - a->mean;
	a->mean += delta * nb / n;
	a->m2 += b->m2 + delta * delta * na * nb / n;
	a->n += b->n;
}

double metrics_stat_mean(const metrics_stat *s) { return s->n ? s->mean : NAN; }

double metrics_stat_se(const metrics_stat *s)
{
	if (s->n < 2)
		return NAN;
	double var = s->m2 / (double)(s->n - 1);
	return sqrt(var / (double)s->n);
}

/* -------------------------------------------------------------- inference */

/* Continued fraction of the incomplete beta (modified Lentz), valid for
 * x < (a + 1) / (a + b + 2); the caller uses the symmetry otherwise. y is
 * 1 - x: near x = 1 (a t-test with a large df) the first denominator,
 * 1 - (a + b) x / (a + 1), is written with y, as the difference would cancel.
 * The later terms still lose about log10(a y) digits there: hence
 * metrics_t_pvalue's asymptotic form for the largest df. */
static double beta_cf(double a, double b, double x, double y)
{
	const double tiny = 1e-300;
	double c = 1.0, d = x > 0.5 ? (1.0 - b + (a + b) * y) / (a + 1.0) : 1.0 - (a + b) * x / (a + 1.0);
	if (fabs(d) < tiny)
		d = tiny;
	d = 1.0 / d;
	double h = d;
	for (int m = 1; m <= 300; m++) {
		double m2 = 2.0 * m;
		double aa = m * (b - m) * x / ((a + m2 - 1.0) * (a + m2));
		d = 1.0 + aa * d;
		c = 1.0 + aa / c;
		d = 1.0 / (fabs(d) < tiny ? tiny : d);
		c = fabs(c) < tiny ? tiny : c;
		h *= d * c;
		aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1.0));
		d = 1.0 + aa * d;
		c = 1.0 + aa / c;
		d = 1.0 / (fabs(d) < tiny ? tiny : d);
		c = fabs(c) < tiny ? tiny : c;
		double del = d * c;
		h *= del;
		if (fabs(del - 1.0) < 1e-15)
			break;
	}
	return h;
}

/* ln Γ(z) - ((z - 1/2) ln z - z + ln √(2π)), Stirling's series, for z >= 10
 * (the first omitted term is below 1e-15 there). */
static double lgamma_corr(double z)
{
	double r = 1.0 / z, r2 = r * r;
	return r * (1.0 / 12 -
	            r2 * (1.0 / 360 - r2 * (1.0 / 1260 - r2 * (1.0 / 1680 - r2 * (1.0 / 1188 - r2 * 691.0 / 360360)))));
}

/* ln Γ(big + small) - ln Γ(big) for big >= 10. By lgamma it would be the
 * difference of two huge numbers (at df = 1e6 the t p-value lost 9 digits);
 * Stirling's form keeps every term of the size of the result. */
static double lgamma_ratio(double big, double small)
{
	return (big - 0.5) * log1p(small / big) + small * log(big + small) - small + lgamma_corr(big + small) -
	       lgamma_corr(big);
}

/* ln(x^a y^b / B(a, b)) with y = 1 - x given separately, so that neither
 * loses digits near 0 or 1. */
static double beta_log_prefix(double a, double b, double x, double y)
{
	double lx = y < 0.5 ? log1p(-y) : log(x);
	double ly = x < 0.5 ? log1p(-x) : log(y);
	double big = a > b ? a : b, small = a > b ? b : a;
	if (big < 10.0)
		return a * lx + b * ly + lgamma(a + b) - lgamma(a) - lgamma(b);
	return a * lx + b * ly + lgamma_ratio(big, small) - lgamma(small);
}

/* Regularised incomplete beta I_x(a, b), y = 1 - x. */
static double beta_inc(double a, double b, double x, double y)
{
	if (x <= 0.0)
		return 0.0;
	if (y <= 0.0)
		return 1.0;
	double prefix = exp(beta_log_prefix(a, b, x, y));
	if (y > (b + 1.0) / (a + b + 2.0)) /* x < (a + 1) / (a + b + 2) */
		return prefix * beta_cf(a, b, x, y) / a;
	return 1.0 - prefix * beta_cf(b, a, y, x) / b;
}

/* Where metrics_t_pvalue leaves the continued fraction for the large-df
 * expansion (measured against scipy/mpmath in tests/test_stats.c). */
#define T_DF_ASYMPTOTIC 5e5

double metrics_t_pvalue(double t, double df)
{
	if (isnan(t) || !(df > 0))
		return NAN;
	if (isinf(t))
		return 0.0;
	if (isinf(df))
		return erfc(fabs(t) / sqrt(2.0));
	double t2 = t * t, x = df / (df + t2), y = t2 / (df + t2);
	double w = (t2 + 1.0) / df;
	if (df < T_DF_ASYMPTOTIC || 0.03 * w * w > 1e-13)
		return beta_inc(df / 2.0, 0.5, x, y);
	/* The leading term of DiDonato and Morris's expansion of I_x(a, b) for
	 * a large, b small (their BGRAT): with T = a + (b - 1)/2 and u = -T ln x,
	 * I_x(a, b) ~ Γ(a + b) / (Γ(a) T^b) Q(b, u), and Q(1/2, u) = erfc(√u).
	 * Its relative error, about 0.03 ((t² + 1) / df)² (measured), is below
	 * the continued fraction's from T_DF_ASYMPTOTIC on, for moderate t. */
	double a = df / 2.0, T = a - 0.25, u = -T * log1p(-y);
	return exp(lgamma_ratio(a, 0.5) - 0.5 * log(T)) * erfc(sqrt(u));
}

void metrics_paired_ttest(const double *a, const double *b, size_t n, metrics_paired *out)
{
	memset(out, 0, sizeof *out);
	out->n = n;
	metrics_stat s = {0};
	for (size_t i = 0; i < n; i++)
		metrics_stat_add(&s, a[i] - b[i]);
	out->mean = metrics_stat_mean(&s);
	out->se = metrics_stat_se(&s);
	if (n < 2) {
		out->t = out->p = out->lo = out->hi = NAN;
		return;
	}
	if (out->se == 0.0) {
		out->t = out->mean == 0.0 ? 0.0 : copysign(INFINITY, out->mean);
		out->p = out->mean == 0.0 ? 1.0 : 0.0;
	} else {
		out->t = out->mean / out->se;
		out->p = metrics_t_pvalue(out->t, (double)(n - 1));
	}
	out->lo = out->mean - 1.96 * out->se;
	out->hi = out->mean + 1.96 * out->se;
}

typedef struct p_at {
	double p;
	size_t i;
} p_at;
static int cmp_p_at(const void *x, const void *y)
{
	const p_at *a = x, *b = y;
	return a->p < b->p ? -1 : a->p > b->p ? 1 : (a->i > b->i) - (a->i < b->i);
}

int metrics_holm(const double *p, size_t m, double *adj, seg_error *err)
{
	p_at *ord = malloc(sizeof(p_at) * (m ? m : 1));
	if (ord == NULL)
		return seg_error_set(err, SEG_ENOMEM, "out of memory for %zu p-values", m);
	size_t mm = 0;
	for (size_t i = 0; i < m; i++)
		if (!isnan(p[i]))
			ord[mm++] = (p_at){p[i], i};
	qsort(ord, mm, sizeof *ord, cmp_p_at);
	for (size_t i = 0; i < m; i++)
		if (isnan(p[i]))
			adj[i] = NAN;
	double run = 0.0;
	for (size_t j = 0; j < mm; j++) {
		double v = (double)(mm - j) * ord[j].p;
		if (v > 1.0)
			v = 1.0;
		if (v > run)
			run = v;
		adj[ord[j].i] = run;
	}
	free(ord);
	return 0;
}

const char *const metrics_names[METRIC__COUNT] = {
	[METRIC_R_PRECISION] = "r_precision",
	[METRIC_NDCG] = "ndcg",
	[METRIC_CLICKS] = "clicks",
	[METRIC_RECALL] = "recall@k",
	[METRIC_PRECISION] = "precision@k",
	[METRIC_HIT] = "hit_rate@k",
	[METRIC_RR] = "mrr@k",
	[METRIC_NOVELTY] = "novelty",
	[METRIC_ILD] = "diversity",
	[METRIC_POPULARITY_BIAS] = "popularity_bias",
};

int metrics_list_eval(metrics_truth *t, const uint32_t *rec, const int64_t *rec_artist, size_t K,
                      const metrics_list_opts *o, double out[METRIC__COUNT], seg_error *err)
{
	static const metrics_list_opts defaults;
	if (o == NULL)
		o = &defaults;
	size_t k = o->k ? o->k : K;
	size_t top = k < K ? k : K;
	int rc = 0;

	for (int m = 0; m < METRIC__COUNT; m++)
		out[m] = NAN;
	out[METRIC_R_PRECISION] = metrics_r_precision(t, rec, rec_artist, K);
	out[METRIC_NDCG] = metrics_ndcg(t, rec, K, o->idcg);
	out[METRIC_CLICKS] = metrics_clicks(t, rec, K);
	out[METRIC_RECALL] = metrics_recall_at(t, rec, K, k);
	out[METRIC_PRECISION] = metrics_precision_at(t, rec, K, k);
	out[METRIC_HIT] = metrics_hit_at(t, rec, K, k);
	out[METRIC_RR] = metrics_rr_at(t, rec, K, k);
	if (o->pop != NULL) {
		rc = metrics_novelty(o->pop, rec, top, &out[METRIC_NOVELTY], err);
		if (rc == 0)
			rc = metrics_popularity_bias(o->pop, rec, top, &out[METRIC_POPULARITY_BIAS], err);
		if (rc)
			return rc;
	}
	if (o->features != NULL) {
		rc = check_items(rec, top, o->features_n, err);
		if (rc)
			return rc;
		out[METRIC_ILD] = metrics_ild_rows(o->features, o->features_d, rec, top);
	}
	return 0;
}

void metrics_acc_add(metrics_acc *a, const double v[METRIC__COUNT])
{
	for (int m = 0; m < METRIC__COUNT; m++)
		metrics_stat_add(&a->stat[m], v[m]);
}

void metrics_acc_merge(metrics_acc *a, const metrics_acc *b)
{
	for (int m = 0; m < METRIC__COUNT; m++)
		metrics_stat_merge(&a->stat[m], &b->stat[m]);
}

void metrics_acc_format(const metrics_acc *a, strbuf *sb)
{
	for (int m = 0; m < METRIC__COUNT; m++) {
		const metrics_stat *s = &a->stat[m];
		if (s->n == 0)
			continue;
		double se = metrics_stat_se(s);
		strbuf_printf(sb, "%-16s %.4f ± %.4f  (n=%zu", metrics_names[m], metrics_stat_mean(s), 1.96 * se,
		              s->n); /* SE is NaN ("nan") with a single value */
		if (s->undefined)
			strbuf_printf(sb, ", undefined=%zu", s->undefined);
		strbuf_puts(sb, ")\n");
	}
}
