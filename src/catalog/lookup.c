/* lookup.c: finding tracks by id or name (see lookup.h). */
#include "catalog/lookup.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

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
	/* Tracks with features first: they are the ones that can seed anything. */
	sqlite3_stmt *q = cached(db, CACHE_TAG
	                         "search*/ SELECT " HIT_COLUMNS " FROM track_search s JOIN tracks t ON t.id = s.rowid"
	                         " WHERE track_search MATCH ?1"
	                         " ORDER BY t.has_features DESC, s.rank, coalesce(t.popularity, 0) DESC LIMIT ?2");
	int rc;
	if (q == NULL) {
		strbuf_free(&fq);
		return seg_error_set(err, SEG_EDB, "search failed: %s", sqlite3_errmsg(db));
	}
	sqlite3_bind_text(q, 1, strbuf_cstr(&fq), -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)limit);
	/* The handler runs every `period` steps of any statement on the
	 * connection (FTS5 runs some of its own); a budget is counted in
	 * periods of a hundredth of it, at most STEP_PERIOD, so that a small
	 * one holds too. */
	long period = max_steps / 100 < 1 ? 1 : max_steps / 100 > STEP_PERIOD ? STEP_PERIOD : max_steps / 100;
	long left = max_steps / period;
	sqlite3_progress_handler(db, (int)period, over_budget, &left);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW && *n < limit)
		fill(q, &out[(*n)++]);
	sqlite3_progress_handler(db, 0, NULL, NULL);
	release(q);
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
	 * "title artist" is. */
	size_t exact = 0, which = 0;
	for (size_t i = 0; i < n; i++) {
		char both[400];
		snprintf(both, sizeof both, "%s %s", found[i].name, found[i].artists);
		if (strcasecmp(found[i].name, text) == 0 || strcasecmp(both, text) == 0) {
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
