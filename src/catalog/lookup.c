/* lookup.c: finding tracks by id or name (see lookup.h). */
#include "catalog/lookup.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <xxhash.h>

#include "core/strbuf.h"
#include "ingest/track.h"

#define HIT_COLUMNS                                                                                         \
	"t.id, t.spotify_id, coalesce(t.name, ''),"                                                         \
	" coalesce((SELECT group_concat(name, ', ') FROM (SELECT a.name FROM track_artists ta"              \
	"   JOIN artists a ON a.id = ta.artist_id WHERE ta.track_id = t.id ORDER BY ta.position)), ''),"    \
	" t.has_features, coalesce(t.popularity, -1),"                                                      \
	" coalesce((SELECT group_concat(name, ', ') FROM (SELECT g.name FROM track_genres tg JOIN genres g" \
	"   ON g.id = tg.genre_id WHERE tg.track_id = t.id ORDER BY tg.genre_id)), '')"

/* Statements are prepared once per connection and kept on it: preparing one
 * (its subqueries, joins and the schema lookups) cost more than running it,
 * 50-90 us against 5-15 on the real catalogue. A statement is found again
 * among the connection's own (sqlite3_next_stmt) by its text, which starts
 * with a distinct comment so that other statements differ in the first few
 * characters. After use it is reset, not finalised; lookup_forget finalises
 * them before the connection is closed. */
static sqlite3_stmt *cached(sqlite3 *db, const char *sql)
{
	for (sqlite3_stmt *p = sqlite3_next_stmt(db, NULL); p; p = sqlite3_next_stmt(db, p))
		if (!sqlite3_stmt_busy(p) && strcmp(sqlite3_sql(p), sql) == 0)
			return p;
	sqlite3_stmt *q;
	if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &q, NULL) != SQLITE_OK)
		return NULL;
	return q;
}

#define CACHE_TAG "/*lookup "

void lookup_forget(sqlite3 *db)
{
	sqlite3_stmt *p = sqlite3_next_stmt(db, NULL);
	while (p) {
		sqlite3_stmt *next = sqlite3_next_stmt(db, p);
		if (strncmp(sqlite3_sql(p), CACHE_TAG, strlen(CACHE_TAG)) == 0)
			sqlite3_finalize(p);
		p = next;
	}
}

static void release(sqlite3_stmt *q)
{
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
}

static void fill(sqlite3_stmt *q, lookup_hit *h)
{
	memset(h, 0, sizeof(*h));
	h->track = sqlite3_column_int64(q, 0);
	snprintf(h->spotify_id, sizeof h->spotify_id, "%s", (const char *)sqlite3_column_text(q, 1));
	snprintf(h->name, sizeof h->name, "%s", (const char *)sqlite3_column_text(q, 2));
	snprintf(h->artists, sizeof h->artists, "%s", (const char *)sqlite3_column_text(q, 3));
	h->has_features = sqlite3_column_int(q, 4);
	h->popularity = sqlite3_column_int(q, 5);
	const char *g = (const char *)sqlite3_column_text(q, 6);
	lookup_genres_fit(h->genres, sizeof h->genres, g ? g : "", g ? (size_t)sqlite3_column_bytes(q, 6) : 0);
}

/* U+2026, in UTF-8 */
#define ELLIPSIS "\xe2\x80\xa6"

void lookup_genres_fit(char *out, size_t cap, const char *list, size_t len)
{
	if (cap == 0)
		return;
	if (len < cap) {
		memcpy(out, list, len);
		out[len] = '\0';
		return;
	}
	size_t total = 1;
	for (size_t i = 0; i + 1 < len; i++)
		if (list[i] == ',' && list[i + 1] == ' ')
			total++;
	/* Whole genres, one at a time, while they fit with the ending. */
	size_t keep = 0, kept = 0;
	char tail[48];
	for (size_t i = 0, k = 0; i + 1 < len; i++) {
		if (list[i] != ',' || list[i + 1] != ' ')
			continue;
		k++;
		int t = snprintf(tail, sizeof tail, ", " ELLIPSIS " +%zu more", total - k);
		if (t < 0 || i + (size_t)t >= cap)
			break;
		keep = i;
		kept = k;
	}
	if (kept == 0) {
		snprintf(out, cap, "%zu genres", total);
		return;
	}
	memcpy(out, list, keep);
	snprintf(out + keep, cap - keep, ", " ELLIPSIS " +%zu more", total - kept);
}

/* ---- song keys ---- */

/* The base letters of U+00C0..U+00FF (UTF-8 0xC3 0x80..0xBF); NULL for the
 * two signs among them (multiplication, division), which break words. */
static const char *const latin1_base[64] = {
	"a", "a", "a", "a", "a", "a", "ae", "c",  "e", "e", "e", "e", "i", "i", "i",  "i",
	"d", "n", "o", "o", "o", "o", "o",  NULL, "o", "u", "u", "u", "u", "y", "th", "ss",
	"a", "a", "a", "a", "a", "a", "ae", "c",  "e", "e", "e", "e", "i", "i", "i",  "i",
	"d", "n", "o", "o", "o", "o", "o",  NULL, "o", "u", "u", "u", "u", "y", "th", "y",
};

/* The length of the UTF-8 sequence a lead byte starts (1 for anything that
 * is not a lead byte, so that bad bytes move on one at a time). */
static size_t utf8_len(unsigned char c) { return c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1; }

/* Folds the next word of s[len] from *pos into w[cap] (cut to fit, NUL
 * terminated) and returns its length, 0 when no word is left: letters
 * lower case, Latin-1 letters as their base letters, other non-ASCII
 * characters as they are, except general punctuation (U+2000..U+206F:
 * dashes, curly quotes), which breaks words like any ASCII character that
 * is not a letter or digit. */
static size_t fold_word(const char *s, size_t len, size_t *pos, char *w, size_t cap)
{
	size_t i = *pos, n = 0;
	int in = 0;
	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		size_t k = utf8_len(c);
		if (i + k > len)
			k = len - i;
		const char *piece = NULL;
		char one[2] = {0, 0};
		if (c < 0x80) {
			if (isalnum(c)) {
				one[0] = (char)tolower(c);
				piece = one;
			}
		} else if (c == 0xC3 && k == 2) {
			piece = latin1_base[(unsigned char)s[i + 1] & 0x3F];
		} else if (!(c == 0xE2 && k == 3 &&
		             ((unsigned char)s[i + 1] == 0x80 || (unsigned char)s[i + 1] == 0x81))) {
			piece = s + i; /* k bytes of another script: part of the word */
		}
		if (piece == NULL) {
			i += k;
			if (in)
				break;
			continue;
		}
		in = 1;
		size_t pl = piece == s + i ? k : strlen(piece);
		if (n + pl < cap) {
			memcpy(w + n, piece, pl);
			n += pl;
		}
		i += k;
	}
	if (cap)
		w[n < cap ? n : cap - 1] = '\0';
	*pos = i;
	return n;
}

static int word_is(const char *w, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(w, *list) == 0)
			return 1;
	return 0;
}

static int is_year(const char *w)
{
	if (strlen(w) != 4 || !isdigit((unsigned char)w[0]) || !isdigit((unsigned char)w[1]) ||
	    !isdigit((unsigned char)w[2]) || !isdigit((unsigned char)w[3]))
		return 0;
	int y = atoi(w);
	return y >= 1900 && y <= 2099;
}

static const char *const version_words[] = {
	"remaster", "remastered",  "mix",     "mixed", "remix",    "version",  "versions", "live",
	"mono",     "stereo",      "edit",    "demo",  "acoustic", "radio",    "extended", "instrumental",
	"karaoke",  "unplugged",   "deluxe",  "bonus", "session",  "sessions", "recorded", "original",
	"single",   "anniversary", "reissue", "sped",  "slowed",   "edition",  "remixed",  NULL};
static const char *const feat_words[] = {"feat", "ft", "featuring", NULL};
static const char *const lead_words[] = {"with", "from", "prod", NULL};

/* 1 when s[len] (a part in brackets, or after a dash) is a version tag
 * (lookup.h's rule). */
static int version_tag(const char *s, size_t len)
{
	char w[64], first[64] = "", last[64] = "";
	size_t pos = 0;
	int words = 0;
	while (fold_word(s, len, &pos, w, sizeof w) > 0) {
		if (word_is(w, feat_words) || strncmp(w, "remaster", 8) == 0 || strncmp(w, "remix", 5) == 0 ||
		    strncmp(w, "rerecord", 8) == 0)
			return 1;
		if (words++ == 0)
			memcpy(first, w, sizeof w);
		memcpy(last, w, sizeof w);
	}
	if (words == 0)
		return 0;
	return word_is(first, lead_words) || word_is(first, version_words) || word_is(last, version_words) ||
	       is_year(first) || is_year(last);
}

/* A fixed output buffer of folded words joined by one space. */
typedef struct wordbuf {
	char *p;
	size_t n, cap;
} wordbuf;

/* Folds the words of s[len] into b; with stop_at_feat, stops at a
 * feat/ft/featuring word. */
static void fold_into(wordbuf *b, const char *s, size_t len, int stop_at_feat)
{
	char w[LOOKUP_SONG_CAP];
	size_t pos = 0, wl;
	while ((wl = fold_word(s, len, &pos, w, sizeof w)) > 0) {
		if (stop_at_feat && word_is(w, feat_words))
			return;
		wl = strlen(w);
		if (b->n + (b->n > 0) + 1 >= b->cap)
			return;
		if (b->n > 0)
			b->p[b->n++] = ' ';
		if (b->n + wl >= b->cap) /* cut to fit (maybe mid-character: a key only compares bytes) */
			wl = b->cap - 1 - b->n;
		memcpy(b->p + b->n, w, wl);
		b->n += wl;
		b->p[b->n] = '\0';
	}
}

/* The length of a dash separator (" - ", " – ", " — ") at t[i], or 0. */
static size_t dash_at(const char *t, size_t len, size_t i)
{
	if (t[i] != ' ')
		return 0;
	if (i + 2 < len && t[i + 1] == '-' && t[i + 2] == ' ')
		return 3;
	if (i + 4 < len && (unsigned char)t[i + 1] == 0xE2 && (unsigned char)t[i + 2] == 0x80 &&
	    ((unsigned char)t[i + 3] == 0x93 || (unsigned char)t[i + 3] == 0x94) && t[i + 4] == ' ')
		return 5;
	return 0;
}

size_t lookup_title_normalise(const char *title, char *out, size_t cap)
{
	if (cap == 0)
		return 0;
	out[0] = '\0';
	if (title == NULL)
		return 0;
	char t[512];
	size_t len = strlen(title);
	len = len < sizeof t - 1 ? len : sizeof t - 1;
	memcpy(t, title, len);
	t[len] = '\0';
	/* Brackets whose content is a version tag become blanks. */
	for (size_t i = 0; i < len; i++) {
		if (t[i] != '(' && t[i] != '[')
			continue;
		size_t j = i + 1;
		int depth = 1;
		for (; j < len && depth > 0; j++)
			depth += (t[j] == '(' || t[j] == '[') - (t[j] == ')' || t[j] == ']');
		size_t inner = depth == 0 ? j - 1 : j; /* an unclosed bracket runs to the end */
		if (version_tag(t + i + 1, inner - i - 1))
			memset(t + i, ' ', j - i);
		else
			continue;
		i = j - 1;
	}
	/* The parts between dashes: the first always, the others unless they
	 * are version tags; each without what follows a feat. */
	wordbuf b = {out, 0, cap};
	size_t start = 0;
	for (int part = 0; start <= len; part++) {
		size_t end = start, dl = 0;
		while (end < len && (dl = dash_at(t, len, end)) == 0)
			end++;
		if (part == 0 || !version_tag(t + start, end - start))
			fold_into(&b, t + start, end - start, 1);
		if (end >= len)
			break;
		start = end + dl;
	}
	if (b.n == 0)
		fold_into(&b, title, strlen(title), 0);
	return b.n;
}

uint64_t lookup_song_key(const char *title, const char *main_artist)
{
	char buf[2 * LOOKUP_SONG_CAP + 1];
	size_t n = lookup_title_normalise(title, buf, LOOKUP_SONG_CAP);
	if (n == 0)
		return 0;
	buf[n++] = '\x1f';
	wordbuf b = {buf + n, 0, LOOKUP_SONG_CAP};
	b.p[0] = '\0';
	if (main_artist)
		fold_into(&b, main_artist, strlen(main_artist), 0);
	uint64_t k = XXH64(buf, n + b.n, 0x5049);
	return k ? k : 1;
}

/* ---- search ---- */

/* Whether a byte may start or be part of something the index has a token
 * for: a letter or digit, or any byte of a multi-byte UTF-8 character. */
static int wordish(unsigned char c) { return isalnum(c) || c >= 0x80; }

/* Turns free text into an FTS5 query that no character can break: the words
 * (split at white space) that have a letter or digit, each as one FTS5
 * string ("..." with a " inside doubled, so that nothing in it is syntax:
 * the index's tokenizer splits it at its punctuation, as it did the names),
 * all required, the last one a prefix (the * outside its quotes). Words of
 * punctuation alone are dropped. Returns the number of words kept. */
static int fts_query(const char *text, strbuf *sb)
{
	int words = 0;
	const unsigned char *p = (const unsigned char *)text;
	while (*p) {
		while (*p && (isspace(*p) || iscntrl(*p)))
			p++;
		if (!*p)
			break;
		const unsigned char *start = p;
		int keep = 0;
		while (*p && !isspace(*p) && !iscntrl(*p))
			keep |= wordish(*p++);
		if (!keep)
			continue;
		strbuf_puts(sb, words ? " \"" : "\"");
		for (const unsigned char *c = start; c < p; c++) {
			if (*c == '"')
				strbuf_putc(sb, '"');
			strbuf_putc(sb, (char)*c);
		}
		strbuf_putc(sb, '"');
		words++;
	}
	if (words)
		strbuf_putc(sb, '*');
	return words;
}

/* Progress handler: interrupts the statement once its budget of steps (in
 * units of the handler's period) is spent. */
#define STEP_PERIOD 10000
static int over_budget(void *ctx)
{
	long *left = ctx;
	return --*left < 0;
}

int lookup_search(sqlite3 *db, const char *text, size_t limit, lookup_hit *out, size_t *n, seg_error *err)
{
	return lookup_search_bounded(db, text, limit, LOOKUP_MAX_STEPS, out, n, err);
}

/* Runs the FTS5 query `fq` and merges the versions of one song (see
 * lookup.h) into out[limit], reading at most `wide` matches. */
static int search_run(sqlite3 *db, const char *fq, size_t limit, size_t wide, lookup_hit *out, size_t *n,
                      uint64_t *keys)
{
	/* Tracks with features first: they are the ones that can seed anything.
	 * The last column is the main artist, for the song key. */
	sqlite3_stmt *q =
		cached(db, CACHE_TAG "search*/ SELECT " HIT_COLUMNS
	                             ", coalesce((SELECT a.name FROM track_artists ta JOIN artists a"
	                             "   ON a.id = ta.artist_id WHERE ta.track_id = t.id AND ta.position = 0), '')"
	                             " FROM track_search s JOIN tracks t ON t.id = s.rowid"
	                             " WHERE track_search MATCH ?1"
	                             " ORDER BY t.has_features DESC, s.rank, coalesce(t.popularity, 0) DESC"
	                             " LIMIT ?2");
	if (q == NULL) /* preparing runs under the budget too: SQLITE_INTERRUPT when it ran out */
		return sqlite3_errcode(db) != SQLITE_OK ? sqlite3_errcode(db) : SQLITE_ERROR;
	sqlite3_bind_text(q, 1, fq, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)wide);
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		uint64_t key = lookup_song_key((const char *)sqlite3_column_text(q, 2),
		                               (const char *)sqlite3_column_text(q, 7));
		size_t j = 0;
		while (j < *n && (key == 0 || keys[j] != key))
			j++;
		if (j < *n) {
			/* Another version of a song already listed: the better known
			 * one stands for it, where the first one was. */
			int has = sqlite3_column_int(q, 4), pop = sqlite3_column_int(q, 5);
			int versions = out[j].versions + 1;
			if (has > out[j].has_features || (has == out[j].has_features && pop > out[j].popularity))
				fill(q, &out[j]);
			out[j].versions = versions;
		} else if (*n < limit) {
			fill(q, &out[*n]);
			out[*n].versions = 1;
			keys[(*n)++] = key;
		}
	}
	release(q);
	return rc;
}

/* The search index's words with the number of tracks each is in, copied
 * once per connection into a temporary table keyed by the word: read
 * through fts5vocab itself, a range of words cost tens of milliseconds
 * (it walks every posting of every word to count them), the copy is a
 * B-tree range of a millisecond or two. The copy is made whole or not at
 * all (one transaction), from the index as it is then: a connection keeps
 * the words it copied (they only suggest corrections; the search itself
 * reads the live index). Connections segue opens read-only also have
 * query_only set (query.c), which refuses even a temporary table: it is
 * lifted for that transaction and put back. */
#define VOCAB_TABLE "temp.segue_search_words"
static int vocab_ready(sqlite3 *db)
{
	sqlite3_stmt *q =
		cached(db, CACHE_TAG "vocab?*/ SELECT 1 FROM temp.sqlite_master WHERE name = 'segue_search_words'");
	if (q == NULL)
		return -1;
	int have = sqlite3_step(q) == SQLITE_ROW;
	release(q);
	if (have)
		return 0;
	int query_only = 0;
	if (sqlite3_prepare_v2(db, "PRAGMA query_only", -1, &q, NULL) == SQLITE_OK) {
		if (sqlite3_step(q) == SQLITE_ROW)
			query_only = sqlite3_column_int(q, 0);
		sqlite3_finalize(q);
	}
	if (query_only)
		sqlite3_exec(db, "PRAGMA query_only=0", NULL, NULL, NULL);
	int rc = sqlite3_exec(db,
	                      "BEGIN;"
	                      "CREATE VIRTUAL TABLE temp.segue_search_vocab USING fts5vocab(main, track_search, row);"
	                      "CREATE TABLE " VOCAB_TABLE "(term TEXT PRIMARY KEY, doc INTEGER) WITHOUT ROWID;"
	                      "INSERT INTO " VOCAB_TABLE " SELECT term, doc FROM temp.segue_search_vocab;"
	                      "DROP TABLE temp.segue_search_vocab;"
	                      "COMMIT;",
	                      NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	if (query_only)
		sqlite3_exec(db, "PRAGMA query_only=1", NULL, NULL, NULL);
	return rc == SQLITE_OK ? 0 : -1;
}

/* Optimal string alignment distance of a[la] and b[lb] (insert, delete,
 * change, swap adjacent), or max + 1 when it is over max. */
static int edit_distance(const char *a, size_t la, const char *b, size_t lb, int max)
{
	enum { CAP = 64 };
	if (la >= CAP || lb >= CAP)
		return max + 1;
	int d[CAP][CAP];
	for (size_t i = 0; i <= la; i++)
		d[i][0] = (int)i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = (int)j;
	for (size_t i = 1; i <= la; i++) {
		int row_min = max + 1;
		for (size_t j = 1; j <= lb; j++) {
			int cost = a[i - 1] != b[j - 1];
			int v = d[i - 1][j] + 1;
			v = d[i][j - 1] + 1 < v ? d[i][j - 1] + 1 : v;
			v = d[i - 1][j - 1] + cost < v ? d[i - 1][j - 1] + cost : v;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
			row_min = v < row_min ? v : row_min;
		}
		if (row_min > max)
			return max + 1;
	}
	return d[la][lb];
}

/* The index's words that could be `w` mistyped, at most FUZZY_ALTS of them */
#define FUZZY_ALTS 4

typedef struct fuzzy_alt {
	char term[64];
	int dist;
	int64_t docs;
} fuzzy_alt;

/* Appends to sb the FTS5 expression for one folded word: the word itself
 * when the index has it (as a prefix when `prefix`); when it has not, or
 * with `all`, also its nearest words (lookup.h's rule), all joined by OR.
 * Sets *changed when near words were added. Returns the number of choices
 * written, 0 when there are none, or -1 when the vocabulary cannot be read. */
static int fuzzy_word(sqlite3 *db, const char *w, int prefix, int all, strbuf *sb, int *changed)
{
	size_t lw = strlen(w);
	char hi[80];
	snprintf(hi, sizeof hi, "%s", w);
	hi[lw - 1] = (char)((unsigned char)hi[lw - 1] + 1);
	sqlite3_stmt *q = cached(db, CACHE_TAG "vocab has*/ SELECT 1 FROM " VOCAB_TABLE
	                                       " WHERE term >= ?1 AND term < ?2 AND (?3 OR term = ?1) LIMIT 1");
	if (q == NULL)
		return -1;
	sqlite3_bind_text(q, 1, w, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, hi, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 3, prefix);
	int rc = sqlite3_step(q);
	release(q);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return -1;
	int has = rc == SQLITE_ROW;
	fuzzy_alt alt[FUZZY_ALTS];
	int nalt = 0, max = lw >= 6 ? 2 : 1;
	if ((!has || all) && lw >= 3) { /* shorter words are too short to guess at */
		char lo1[2] = {w[0], 0}, hi1[2] = {(char)((unsigned char)w[0] + 1), 0};
		q = cached(db, CACHE_TAG "vocab near*/ SELECT term, doc FROM " VOCAB_TABLE
		                         " WHERE term >= ?1 AND term < ?2 AND length(term) BETWEEN ?3 AND ?4");
		if (q == NULL)
			return -1;
		sqlite3_bind_text(q, 1, lo1, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, hi1, -1, SQLITE_STATIC);
		sqlite3_bind_int(q, 3, (int)lw - max);
		sqlite3_bind_int(q, 4, prefix ? 63 : (int)lw + max);
		while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
			const char *t = (const char *)sqlite3_column_text(q, 0);
			size_t lt = (size_t)sqlite3_column_bytes(q, 0);
			if (lt >= sizeof alt[0].term)
				continue;
			int d = edit_distance(w, lw, t, lt, max);
			/* The last word may be the start of one: its distance to the
			 * term's start of about its length. */
			for (size_t L = lw > 1 ? lw - 1 : 1; prefix && L <= lw + 1 && L < lt; L++) {
				int dp = edit_distance(w, lw, t, L, max);
				d = dp < d ? dp : d;
			}
			/* Too far, or the word itself (written below). */
			if (d > max || d == 0)
				continue;
			int64_t docs = sqlite3_column_int64(q, 1);
			/* Keep the closest, then the most used. */
			int at = nalt;
			while (at > 0 && (d < alt[at - 1].dist || (d == alt[at - 1].dist && docs > alt[at - 1].docs)))
				at--;
			if (at >= FUZZY_ALTS)
				continue;
			int last = nalt < FUZZY_ALTS ? nalt : FUZZY_ALTS - 1;
			memmove(&alt[at + 1], &alt[at], sizeof alt[0] * (size_t)(last - at));
			memcpy(alt[at].term, t, lt + 1);
			alt[at].dist = d;
			alt[at].docs = docs;
			nalt = nalt < FUZZY_ALTS ? nalt + 1 : FUZZY_ALTS;
		}
		release(q);
		if (rc != SQLITE_DONE)
			return -1;
	}
	if (!has && nalt == 0)
		return 0;
	*changed |= nalt > 0;
	/* Folded words and vocabulary terms are letters and digits (and other
	 * scripts' characters), never a quote. */
	strbuf_putc(sb, '(');
	if (has)
		strbuf_printf(sb, "\"%s\"%s", w, prefix ? "*" : "");
	for (int i = 0; i < nalt; i++)
		strbuf_printf(sb, "%s\"%s\"%s", has || i ? " OR " : "", alt[i].term, prefix ? "*" : "");
	strbuf_putc(sb, ')');
	return has + nalt;
}

/* The typo-tolerant query of `text` into sb, each word with its near words
 * when the index lacks it, or with `all` in any case: 1 when it was built
 * and differs from the plain search, 0 when a word has no near word in the
 * index or nothing changed (nothing new to search), -1 when the vocabulary
 * cannot be read. */
static int fuzzy_query(sqlite3 *db, const char *text, int all, strbuf *sb)
{
	char w[64];
	size_t pos = 0, len = strlen(text), words = 0;
	int changed = 0;
	while (fold_word(text, len, &pos, w, sizeof w) > 0) {
		size_t next = pos;
		char tmp[64];
		int last = fold_word(text, len, &next, tmp, sizeof tmp) == 0;
		if (words++)
			strbuf_puts(sb, " AND "); /* FTS5 takes no implicit AND before a bracket */
		int rc = fuzzy_word(db, w, last, all, sb, &changed);
		if (rc <= 0)
			return rc;
	}
	return words > 0 && changed;
}

int lookup_search_bounded(sqlite3 *db, const char *text, size_t limit, long max_steps, lookup_hit *out, size_t *n,
                          seg_error *err)
{
	*n = 0;
	if (max_steps < 1)
		return seg_error_set(err, SEG_EINVAL, "a search needs a budget of at least 1 step, not %ld", max_steps);
	strbuf fq = {0};
	int words = fts_query(text, &fq);
	if (words == 0) { /* nothing the index could hold: no hits */
		strbuf_free(&fq);
		return 0;
	}
	if (fq.oom) {
		strbuf_free(&fq);
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	}
	if (words > LOOKUP_MAX_WORDS) {
		strbuf_free(&fq);
		return seg_error_set(err, SEG_EINVAL, "search for at most %d words, not %d", LOOKUP_MAX_WORDS, words);
	}
	uint64_t *keys = malloc(sizeof(uint64_t) * (limit ? limit : 1));
	if (keys == NULL) {
		strbuf_free(&fq);
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	}
	/* Versions of one song are merged among the first `wide` matches. */
	size_t wide = limit * 4 < 40 ? 40 : limit * 4 > 400 ? (limit > 400 ? limit : 400) : limit * 4;
	/* The handler runs every `period` steps of any statement on the
	 * connection (FTS5 runs some of its own); a budget is counted in
	 * periods of a hundredth of it, at most STEP_PERIOD, so that a small
	 * one holds too. It covers the typo-tolerant search too. */
	long period = max_steps / 100 < 1 ? 1 : max_steps / 100 > STEP_PERIOD ? STEP_PERIOD : max_steps / 100;
	long left = max_steps / period;
	sqlite3_progress_handler(db, (int)period, over_budget, &left);
	int rc = search_run(db, strbuf_cstr(&fq), limit, wide, out, n, keys);
	/* Nothing as typed: the words the index lacks with their near words;
	 * then, if that finds nothing either, every word with its near words
	 * (a misspelling may be a word of some other title: "rapsody"). */
	int words_ok = 0; /* the word list is there (vocab_ready) */
	if (rc == SQLITE_DONE && *n == 0 && limit > 0) {
		/* The word list is made once per connection, outside the budget:
		 * its cost is the catalogue's, not the query's. Without it there
		 * are no corrections, and no hits. */
		sqlite3_progress_handler(db, 0, NULL, NULL);
		words_ok = vocab_ready(db) == 0;
		sqlite3_progress_handler(db, (int)period, over_budget, &left);
	}
	for (int all = 0; all < 2 && words_ok && rc == SQLITE_DONE && *n == 0; all++) {
		strbuf fz = {0};
		int built = fuzzy_query(db, text, all, &fz);
		if (built < 0 && sqlite3_errcode(db) == SQLITE_INTERRUPT)
			rc = SQLITE_INTERRUPT;
		else if (built > 0 && !fz.oom)
			rc = search_run(db, strbuf_cstr(&fz), limit, wide, out, n, keys);
		/* a vocabulary that cannot be read leaves the search as it was: no hits */
		strbuf_free(&fz);
	}
	sqlite3_progress_handler(db, 0, NULL, NULL);
	free(keys);
	strbuf_free(&fq);
	if (rc == SQLITE_INTERRUPT) {
		*n = 0;
		return seg_error_set(err, SEG_EINVAL,
		                     "the search for '%.80s' is too broad to answer quickly; add or lengthen words",
		                     text);
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return seg_error_set(err, SEG_EDB, "search failed: %s", sqlite3_errmsg(db));
	return 0;
}

static int by_spotify_id(sqlite3 *db, const char *id, lookup_hit *hit)
{
	sqlite3_stmt *q =
		cached(db, CACHE_TAG "spotify id*/ SELECT " HIT_COLUMNS " FROM tracks t WHERE t.spotify_id = ?1");
	if (q == NULL)
		return -1;
	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	int found = sqlite3_step(q) == SQLITE_ROW;
	if (found)
		fill(q, hit);
	release(q);
	return found;
}

int lookup_spotify_id(sqlite3 *db, const char *spotify_id, int64_t *track, char *name, size_t cap, seg_error *err)
{
	sqlite3_stmt *q =
		cached(db, CACHE_TAG "brief*/ SELECT id, coalesce(name, '') FROM tracks WHERE spotify_id = ?1");
	if (q == NULL)
		return seg_error_set(err, SEG_EDB, "lookup failed: %s", sqlite3_errmsg(db));
	sqlite3_bind_text(q, 1, spotify_id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(q);
	int found = rc == SQLITE_ROW;
	if (found) {
		*track = sqlite3_column_int64(q, 0);
		if (name && cap)
			snprintf(name, cap, "%s", (const char *)sqlite3_column_text(q, 1));
	}
	release(q);
	if (!found && rc != SQLITE_DONE)
		return seg_error_set(err, SEG_EDB, "lookup failed: %s", sqlite3_errmsg(db));
	return found;
}

int lookup_track(sqlite3 *db, int64_t track, lookup_hit *hit, seg_error *err)
{
	sqlite3_stmt *q = cached(db, CACHE_TAG "id*/ SELECT " HIT_COLUMNS " FROM tracks t WHERE t.id = ?1");
	if (q == NULL)
		return seg_error_set(err, SEG_EDB, "lookup failed: %s", sqlite3_errmsg(db));
	sqlite3_bind_int64(q, 1, track);
	int found = sqlite3_step(q) == SQLITE_ROW;
	if (found)
		fill(q, hit);
	release(q);
	return found ? 0 : seg_error_set(err, SEG_ENOTFOUND, "no track with id %lld", (long long)track);
}

int lookup_resolve(sqlite3 *db, const char *text, lookup_hit *hit, lookup_hit *alts, size_t cap, size_t *nalts,
                   seg_error *err)
{
	*nalts = 0;
	char id[TRACK_ID_LEN + 1];
	if (track_parse_id(text, id) == 0) {
		int found = by_spotify_id(db, id, hit);
		if (found < 0)
			return seg_error_set(err, SEG_EDB, "lookup failed: %s", sqlite3_errmsg(db));
		if (found)
			return 0;
		/* A 22-character word may also be a name; fall through to search. */
	}
	lookup_hit found[16];
	size_t n = 0;
	int rc = lookup_search(db, text, 16, found, &n, err);
	if (rc < 0)
		return rc;
	if (n == 0)
		return seg_error_set(err, SEG_ENOTFOUND, "no track matches '%s'", text);
	/* One hit, or exactly one whose title is what was typed, or whose
	 * "title artist" is, compared as song keys compare them (a hit stands
	 * for all the versions of its song, so "Bohemian Rhapsody Queen" is
	 * Queen's whichever version the hit shows). */
	char typed[LOOKUP_SONG_CAP];
	lookup_title_normalise(text, typed, sizeof typed);
	size_t exact = 0, which = 0;
	for (size_t i = 0; i < n; i++) {
		char title[LOOKUP_SONG_CAP], both[2 * LOOKUP_SONG_CAP];
		size_t tl = lookup_title_normalise(found[i].name, title, sizeof title);
		memcpy(both, title, tl + 1);
		wordbuf b = {both + tl + 1, 0, LOOKUP_SONG_CAP};
		b.p[0] = '\0';
		fold_into(&b, found[i].artists, strlen(found[i].artists), 0);
		both[tl] = ' ';
		if (strcmp(title, typed) == 0 || strcmp(both, typed) == 0) {
			exact++;
			which = i;
		}
	}
	if (n == 1 || exact == 1) {
		*hit = found[n == 1 ? 0 : which];
		return 0;
	}
	for (size_t i = 0; i < n && i < cap; i++)
		alts[(*nalts)++] = found[i];
	return seg_error_set(err, SEG_EINVAL, "'%s' matches %zu%s tracks; name one by its id or add the artist", text,
	                     n, n == 16 ? " or more" : "");
}

int lookup_tracks(sqlite3 *db, const int64_t *ids, size_t n, lookup_hit *out, uint8_t *found, seg_error *err)
{
	if (found)
		memset(found, 0, n);
	if (n == 0)
		return 0;
	/* The ids go in as one JSON array, so that one statement serves any n. */
	strbuf ids_json = {0};
	strbuf_putc(&ids_json, '[');
	for (size_t i = 0; i < n; i++)
		strbuf_printf(&ids_json, "%s%lld", i ? "," : "", (long long)ids[i]);
	strbuf_putc(&ids_json, ']');
	sqlite3_stmt *q = cached(db, CACHE_TAG "ids*/ SELECT " HIT_COLUMNS
	                                       " FROM tracks t WHERE t.id IN (SELECT value FROM json_each(?1))");
	if (ids_json.oom || q == NULL) {
		strbuf_free(&ids_json);
		return seg_error_set(err, SEG_EDB, "lookup failed: %s", sqlite3_errmsg(db));
	}
	sqlite3_bind_text(q, 1, strbuf_cstr(&ids_json), (int)ids_json.len, SQLITE_STATIC);
	int rc;
	lookup_hit h;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		fill(q, &h);
		for (size_t i = 0; i < n; i++)
			if (ids[i] == h.track) {
				out[i] = h;
				if (found)
					found[i] = 1;
			}
	}
	release(q);
	strbuf_free(&ids_json);
	return rc == SQLITE_DONE ? 0 : seg_error_set(err, SEG_EDB, "lookup failed: %s", sqlite3_errmsg(db));
}
