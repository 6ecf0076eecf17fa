/* csv.c: streaming RFC 4180 reader (see csv.h).
 *
 * The reader keeps one input chunk and one record buffer. Field bytes are
 * copied span by span into the record buffer, each field NUL-terminated;
 * field starts are kept as offsets while the record grows (the buffer may
 * move) and turned into pointers when the record is complete.
 *
 * Limits: `room` is how far rec_len may grow before the next append must take
 * the slow path, the lower of the buffer's capacity and the current field's
 * and record's limits. An append past a limit does not grow anything: it puts
 * the reader in discard mode (`over` set), where appends and field starts do
 * nothing and the state machine only looks for the end of the record. */
#include "ingest/csv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK (1u << 20)

enum state {
	ST_FIELD_START, /* at the first byte of a field */
	ST_UNQUOTED,    /* inside an unquoted field */
	ST_QUOTED,      /* inside a quoted field */
	ST_QUOTE,       /* just read a quote inside a quoted field */
	ST_CR,          /* just read a CR that ended a record (skip a following LF) */
};

struct csv_reader {
	bytesrc *src;       /* input */
	char *chunk;        /* [CHUNK] input bytes */
	size_t chunk_len;   /* valid bytes in chunk */
	size_t chunk_pos;   /* next byte to read */
	int at_eof;         /* no more input after chunk */
	int started;        /* first chunk seen (BOM check done) */
	long line;          /* current physical line, 1-based */
	int chunk_nul;      /* the chunk holds a NUL byte (then appends look for it) */
	uint64_t base;      /* input offset of chunk[0] (after decompression) */
	uint64_t rec_start; /* input offset where the current record started */
	char *rec;          /* record bytes, fields NUL-terminated */
	size_t rec_len, rec_cap;
	size_t room;   /* rec_len may reach this without the slow path (see top) */
	int over;      /* enum csv_limit broken by the current record: discard mode */
	int nul_field; /* first field of the current record with a NUL, or -1 */
	size_t *offs;  /* [cap_fields] field start offsets in rec */
	size_t *lens;  /* [cap_fields] field lengths */
	char **ptrs;   /* [cap_fields] field pointers handed out */
	size_t nfields, cap_fields;
	char name[256]; /* for messages */
};

/* Byte classes for the unquoted and quoted scans: 1 = stop here. */
static unsigned char stop_unquoted[256];
static unsigned char stop_quoted[256];

static void init_tables(void)
{
	if (stop_unquoted[','])
		return;
	stop_unquoted[','] = stop_unquoted['\n'] = stop_unquoted['\r'] = stop_unquoted['"'] = 1;
	stop_quoted['"'] = stop_quoted['\n'] = 1;
}

static int reader_new(csv_reader **out, const char *name, seg_error *err)
{
	init_tables();
	csv_reader *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	r->chunk = malloc(CHUNK);
	r->rec_cap = 4096;
	r->rec = malloc(r->rec_cap);
	r->cap_fields = 64;
	r->offs = malloc(r->cap_fields * sizeof(size_t));
	r->lens = malloc(r->cap_fields * sizeof(size_t));
	r->ptrs = malloc(r->cap_fields * sizeof(char *));
	r->line = 1;
	snprintf(r->name, sizeof(r->name), "%s", name);
	if (!r->chunk || !r->rec || !r->offs || !r->lens || !r->ptrs) {
		csv_close(r);
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	}
	*out = r;
	return 0;
}

int csv_open(csv_reader **out, const char *path, seg_error *err)
{
	*out = NULL;
	csv_reader *r;
	int rc = reader_new(&r, path, err);
	if (rc < 0)
		return rc;
	if ((rc = bytesrc_open(&r->src, path, err)) < 0) {
		csv_close(r);
		return rc;
	}
	*out = r;
	return 0;
}

int csv_open_mem(csv_reader **out, const void *buf, size_t len, seg_error *err)
{
	*out = NULL;
	csv_reader *r;
	int rc = reader_new(&r, "(memory)", err);
	if (rc < 0)
		return rc;
	if ((rc = bytesrc_open_mem(&r->src, buf, len, err)) < 0) {
		csv_close(r);
		return rc;
	}
	*out = r;
	return 0;
}

void csv_close(csv_reader *r)
{
	if (r == NULL)
		return;
	bytesrc_close(r->src);
	free(r->chunk);
	free(r->rec);
	free(r->offs);
	free(r->lens);
	free(r->ptrs);
	free(r);
}

uint64_t csv_consumed(const csv_reader *r) { return bytesrc_consumed(r->src); }
uint64_t csv_size(const csv_reader *r) { return bytesrc_size(r->src); }

/* Refills the chunk. Returns 1 with bytes, 0 at end, negative on error. */
static int refill(csv_reader *r, seg_error *err)
{
	if (r->at_eof)
		return 0;
	r->base += r->chunk_len;
	r->chunk_len = r->chunk_pos = 0;
	ssize_t n = bytesrc_read(r->src, r->chunk, CHUNK, err);
	if (n < 0)
		return (int)n;
	if (n == 0) {
		r->at_eof = 1;
		return 0;
	}
	r->chunk_len = (size_t)n;
	r->chunk_pos = 0;
	r->chunk_nul = memchr(r->chunk, '\0', r->chunk_len) != NULL;
	if (!r->started) {
		r->started = 1;
		/* A UTF-8 BOM is only meaningful at the very start of the input. A
		 * source that delivers fewer than 3 bytes first is not worth handling. */
		if (r->chunk_len >= 3 && memcmp(r->chunk, "\xEF\xBB\xBF", 3) == 0)
			r->chunk_pos = 3;
	}
	return 1;
}

/* Sets `room` for the current field (see the top of the file). */
static void set_room(csv_reader *r)
{
	size_t lim = r->offs[r->nfields - 1] + CSV_MAX_FIELD;
	if (lim > CSV_MAX_RECORD - 1)
		lim = CSV_MAX_RECORD - 1; /* leave the field's terminator within the record limit */
	r->room = r->rec_cap - 1 < lim ? r->rec_cap - 1 : lim;
}

/* Grows the record buffer to hold `need` bytes (need <= CSV_MAX_RECORD). */
static int rec_reserve(csv_reader *r, size_t need)
{
	if (need <= r->rec_cap)
		return 0;
	size_t cap = r->rec_cap;
	while (cap < need)
		cap *= 2;
	if (cap > CSV_MAX_RECORD)
		cap = CSV_MAX_RECORD;
	char *nr = realloc(r->rec, cap);
	if (nr == NULL)
		return -1;
	r->rec = nr;
	r->rec_cap = cap;
	return 0;
}

/* Enters discard mode for the current record. */
static void over_limit(csv_reader *r, enum csv_limit which)
{
	r->over = which;
	r->room = 0;
}

/* Notes the current field when the n bytes just appended at p hold a NUL. */
static inline void note_nul(csv_reader *r, const char *p, size_t n)
{
	if (__builtin_expect(r->chunk_nul, 0) && r->nul_field < 0 && memchr(p, '\0', n) != NULL)
		r->nul_field = (int)r->nfields - 1;
}

/* The cold half of rec_append: discard mode, a limit, or growing the buffer. */
static __attribute__((noinline)) int rec_append_slow(csv_reader *r, const char *p, size_t n)
{
	if (r->over || n == 0)
		return 0;
	size_t off = r->offs[r->nfields - 1];
	if (r->rec_len + n - off > CSV_MAX_FIELD || r->rec_len + n > CSV_MAX_RECORD - 1) {
		/* Whichever limit lies nearer to the field's start was crossed first. */
		over_limit(r, off + CSV_MAX_FIELD <= CSV_MAX_RECORD - 1 ? CSV_LIMIT_FIELD : CSV_LIMIT_RECORD);
		return 0;
	}
	if (rec_reserve(r, r->rec_len + n + 1) < 0)
		return -1;
	set_room(r);
	memcpy(r->rec + r->rec_len, p, n);
	r->rec_len += n;
	note_nul(r, p, n);
	return 0;
}

/* Appends n bytes to the current field. Returns -1 when out of memory. */
static inline __attribute__((always_inline)) int rec_append(csv_reader *r, const char *p, size_t n)
{
	if (r->rec_len + n > r->room)
		return rec_append_slow(r, p, n);
	memcpy(r->rec + r->rec_len, p, n);
	r->rec_len += n;
	note_nul(r, p, n);
	return 0;
}

/* Doubles the field arrays; the cold half of field_begin. */
static __attribute__((noinline)) int fields_grow(csv_reader *r)
{
	size_t cap = r->cap_fields * 2;
	if (cap > CSV_MAX_FIELDS)
		cap = CSV_MAX_FIELDS;
	size_t *no = realloc(r->offs, cap * sizeof(size_t));
	if (no)
		r->offs = no;
	size_t *nl = realloc(r->lens, cap * sizeof(size_t));
	if (nl)
		r->lens = nl;
	char **np = realloc(r->ptrs, cap * sizeof(char *));
	if (np)
		r->ptrs = np;
	if (!no || !nl || !np)
		return -1;
	r->cap_fields = cap;
	return 0;
}

/* Starts a field. Returns -1 when out of memory. */
static inline __attribute__((always_inline)) int field_begin(csv_reader *r)
{
	if (r->over)
		return 0;
	if (r->nfields == CSV_MAX_FIELDS) {
		over_limit(r, CSV_LIMIT_FIELDS);
		return 0;
	}
	if (r->rec_len + 1 > CSV_MAX_RECORD) {
		over_limit(r, CSV_LIMIT_RECORD); /* no room left even for its terminator */
		return 0;
	}
	if (r->nfields == r->cap_fields && fields_grow(r) < 0)
		return -1;
	if (rec_reserve(r, r->rec_len + 1) < 0) /* the terminator */
		return -1;
	r->offs[r->nfields++] = r->rec_len;
	set_room(r);
	return 0;
}

/* Ends the current field with its terminator, which always fits: field_begin
 * reserved a byte, and content appends stop at room <= rec_cap - 1. */
static inline __attribute__((always_inline)) int field_end(csv_reader *r)
{
	if (r->over)
		return 0;
	size_t i = r->nfields - 1;
	r->lens[i] = r->rec_len - r->offs[i];
	r->rec[r->rec_len++] = '\0';
	return 0;
}

/* Ends the current field at a delimiter c (',', '\n' or '\r'), outside
 * quotes. Returns 1 when the record is complete, 0 to go on in *st, or -1
 * when out of memory. */
static inline int end_field_at(csv_reader *r, char c, enum state *st)
{
	if (c != ',')
		r->line++;
	if (field_end(r) < 0)
		return -1;
	if (c == '\n')
		return 1;
	/* After a comma, FIELD_START also covers a trailing empty field. */
	*st = c == ',' ? ST_FIELD_START : ST_CR;
	return 0;
}

int csv_next(csv_reader *r, csv_record *rec, seg_error *err)
{
	enum state st = ST_FIELD_START;
	int bad_quote = 0;
	int first_quoted = 0; /* the first field was quoted (so "" is not a blank line) */
	long start_line;
	int rc;

again:
	r->rec_len = 0;
	r->nfields = 0;
	r->room = 0;
	r->over = CSV_LIMIT_NONE;
	r->nul_field = -1;
	r->rec_start = r->base + r->chunk_pos;
	st = ST_FIELD_START;
	bad_quote = 0;
	first_quoted = 0;
	start_line = r->line;
	int any = 0; /* bytes seen for this record */

	for (;;) {
		if (r->chunk_pos == r->chunk_len) {
			if (r->over && st != ST_CR && r->base + r->chunk_len - r->rec_start > CSV_MAX_SKIP) {
				/* Stay at the end: whatever follows is not worth reading. */
				r->at_eof = 1;
				seg_error_set(err, SEG_EFORMAT,
				              "the record starting on line %ld is longer than the limits and has not "
				              "ended after %u MiB: is this a CSV file?",
				              start_line, CSV_MAX_SKIP >> 20);
				seg_error_at(err, r->name, start_line, 0);
				return SEG_EFORMAT;
			}
			rc = refill(r, err);
			if (rc < 0)
				return rc;
			if (rc == 0)
				break;
		}
		const char *p = r->chunk + r->chunk_pos;
		const char *end = r->chunk + r->chunk_len;
		if (st == ST_CR) {
			/* The line was counted at the CR; a following LF is its partner. */
			if (*p == '\n')
				r->chunk_pos++;
			goto record_done;
		}
		any = 1;
		if (st == ST_FIELD_START) {
			if (field_begin(r) < 0)
				goto oom;
			if (*p == '"') {
				st = ST_QUOTED;
				first_quoted |= r->nfields == 1;
				p++;
			} else {
				st = ST_UNQUOTED;
			}
		}
		if (st == ST_UNQUOTED) {
			const char *q = p;
			while (q < end && !stop_unquoted[(unsigned char)*q])
				q++;
			if (rec_append(r, p, (size_t)(q - p)) < 0)
				goto oom;
			r->chunk_pos = (size_t)(q - r->chunk);
			if (q == end)
				continue;
			r->chunk_pos++;
			if (*q == '"') {
				/* RFC 4180 forbids a quote in an unquoted field; keep it. */
				bad_quote = 1;
				if (rec_append(r, "\"", 1) < 0)
					goto oom;
				continue;
			}
			switch (end_field_at(r, *q, &st)) {
			case -1: goto oom;
			case 1: goto record_done;
			default: continue;
			}
		}
		if (st == ST_QUOTED) {
			const char *q = p;
			while (q < end && !stop_quoted[(unsigned char)*q])
				q++;
			if (rec_append(r, p, (size_t)(q - p)) < 0)
				goto oom;
			r->chunk_pos = (size_t)(q - r->chunk);
			if (q == end)
				continue;
			r->chunk_pos++;
			if (*q == '\n') {
				r->line++;
				if (rec_append(r, "\n", 1) < 0)
					goto oom;
				continue;
			}
			st = ST_QUOTE;
			continue;
		}
		if (st == ST_QUOTE) {
			char c = *p;
			r->chunk_pos++;
			switch (c) {
			case '"':
				if (rec_append(r, "\"", 1) < 0)
					goto oom;
				st = ST_QUOTED;
				continue;
			case ',':
			case '\n':
			case '\r':
				switch (end_field_at(r, c, &st)) {
				case -1: goto oom;
				case 1: goto record_done;
				default: continue;
				}
			default:
				/* Text after a closing quote: keep it, flag the record. */
				bad_quote = 1;
				if (rec_append(r, &c, 1) < 0)
					goto oom;
				st = ST_UNQUOTED;
				continue;
			}
		}
	}

	/* End of input. */
	if (!any && r->nfields == 0)
		return 0;
	if (st == ST_QUOTED) {
		seg_error_set(err, SEG_EFORMAT, "quoted field opened on line %ld is never closed", start_line);
		seg_error_at(err, r->name, start_line, (int)r->nfields);
		return SEG_EFORMAT;
	}
	if (st == ST_FIELD_START) {
		/* Input ended right after a comma: one more empty field. */
		if (field_begin(r) < 0)
			goto oom;
	}
	if (st != ST_CR && field_end(r) < 0)
		goto oom;

record_done:
	if (r->over) {
		rec->nfields = 0;
		rec->fields = r->ptrs;
		rec->lens = r->lens;
		rec->line = start_line;
		rec->bad_quote = bad_quote;
		rec->over_limit = r->over;
		rec->nul_field = -1;
		return 1;
	}
	/* A blank line is one empty unquoted field: skip it. */
	if (r->nfields == 1 && r->lens[0] == 0 && !first_quoted)
		goto again;
	for (size_t i = 0; i < r->nfields; i++)
		r->ptrs[i] = r->rec + r->offs[i];
	rec->nfields = r->nfields;
	rec->fields = r->ptrs;
	rec->lens = r->lens;
	rec->line = start_line;
	rec->bad_quote = bad_quote;
	rec->over_limit = CSV_LIMIT_NONE;
	rec->nul_field = r->nul_field;
	return 1;

oom:
	return seg_error_set(err, SEG_ENOMEM, "out of memory reading %s", r->name);
}

void csv_limit_describe(const csv_record *rec, char *buf, size_t cap)
{
	switch (rec->over_limit) {
	case CSV_LIMIT_RECORD:
		snprintf(buf, cap, "the record is longer than %u bytes, the limit for a record", CSV_MAX_RECORD);
		break;
	case CSV_LIMIT_FIELD:
		snprintf(buf, cap, "a field is longer than %u bytes, the limit for a field", CSV_MAX_FIELD);
		break;
	case CSV_LIMIT_FIELDS:
		snprintf(buf, cap, "the record has more than %u fields, the limit", CSV_MAX_FIELDS);
		break;
	default: snprintf(buf, cap, "%s", "");
	}
}

size_t csv_memory(const csv_reader *r)
{
	return sizeof(*r) + CHUNK + r->rec_cap + r->cap_fields * (2 * sizeof(size_t) + sizeof(char *));
}
