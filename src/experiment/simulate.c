/* simulate.c: the listener simulator (see simulate.h): the click model,
 * the listeners, the HTTP client, one simulation, and the study. */
#include "experiment/simulate.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "catalog/catalog.h"
#include "catalog/workspace.h"
#include "core/parallel.h"
#include "engine/dataset.h"
#include "experiment/stats.h"

/* ---- the click model ---- */

void sim_behaviour_default(sim_behaviour *b)
{
	*b = (sim_behaviour){.eta = 0.8,
	                     .play_liked = 0.5,
	                     .skip_liked = 0.1,
	                     .play_other = 0.15,
	                     .skip_other = 0.7,
	                     .like = 0.3,
	                     .save = 0.15,
	                     .dislike = 0.2,
	                     .come_back = 0.5,
	                     .max_sessions = 3,
	                     .k = 10,
	                     .nseeds = 5};
}

int sim_behaviour_check(const sim_behaviour *b, seg_error *err)
{
	const struct {
		const char *name;
		double v;
	} p[] = {{"play_liked", b->play_liked},
	         {"skip_liked", b->skip_liked},
	         {"play_other", b->play_other},
	         {"skip_other", b->skip_other},
	         {"like", b->like},
	         {"save", b->save},
	         {"dislike", b->dislike},
	         {"come_back", b->come_back}};
	for (size_t i = 0; i < sizeof p / sizeof *p; i++)
		if (!(p[i].v >= 0 && p[i].v <= 1))
			return seg_error_set(err, SEG_EINVAL, "%s must be a probability in [0, 1]", p[i].name);
	if (!(b->eta >= 0 && b->eta <= 10))
		return seg_error_set(err, SEG_EINVAL, "eta must be in [0, 10]");
	if (b->max_sessions < 1 || b->max_sessions > 16)
		return seg_error_set(err, SEG_EINVAL, "max_sessions must be 1..16");
	if (b->k < 1 || b->k > 100)
		return seg_error_set(err, SEG_EINVAL, "k must be 1..100");
	if (b->nseeds < 1 || b->nseeds > 25)
		return seg_error_set(err, SEG_EINVAL, "nseeds must be 1..25");
	return 0;
}

double sim_examine_prob(const sim_behaviour *b, size_t rank) { return pow(1.0 + (double)rank, -b->eta); }

void sim_click(const sim_behaviour *b, double boost, const uint8_t *liked, size_t n, rng *r, uint8_t *act)
{
	double play_liked = fmin(1.0, b->play_liked * boost);
	for (size_t i = 0; i < n; i++) {
		uint8_t a = 0;
		/* Every draw is made whatever the earlier ones gave, so that the
		 * stream stays aligned across ranks: two listeners who differ
		 * only by a boost make the same examination draws. */
		double u_exam = rng_u01(r), u_play = rng_u01(r), u_skip = rng_u01(r), u_a = rng_u01(r),
		       u_b = rng_u01(r);
		if (u_exam < sim_examine_prob(b, i)) {
			a |= SIM_EXAMINED;
			if (liked[i]) {
				if (u_play < play_liked) {
					a |= SIM_PLAY;
					if (u_skip < b->skip_liked)
						a |= SIM_SKIP;
					if (u_a < b->like)
						a |= SIM_LIKE;
					if (u_b < b->save)
						a |= SIM_SAVE;
				}
			} else if (u_play < b->play_other) {
				a |= SIM_PLAY;
				if (u_skip < b->skip_other)
					a |= SIM_SKIP;
				if (u_a < b->dislike)
					a |= SIM_DISLIKE;
			}
			/* A track examined and not started is passed over: no
			 * event, not a skip (a skip is a started track left). */
		}
		act[i] = a;
	}
}

void sim_user_id(char out[EV_ID_MAX + 1], uint64_t seed, int64_t playlist)
{
	snprintf(out, EV_ID_MAX + 1, "sim-%" PRIu64 "-%" PRId64, seed, playlist);
}

void sim_event_id(char out[EV_ID_MAX + 1], uint64_t seed, int64_t playlist, int session, int position, int type)
{
	char t = type == EV_PLAY      ? 'p'
	         : type == EV_SKIP    ? 's'
	         : type == EV_LIKE    ? 'l'
	         : type == EV_DISLIKE ? 'd'
	         : type == EV_SAVE    ? 'v'
	                              : 'x';
	snprintf(out, EV_ID_MAX + 1, "sim-%" PRIu64 "-%" PRId64 ".%d.%d.%c", seed, playlist, session, position, t);
}

/* ---- listeners ---- */

typedef char sim_tid[EV_TRACK_LEN + 1];

typedef struct listeners_mem {
	sim_tid *ids; /* every listener's seeds then hidden tracks, one after another */
} listeners_mem;

static int cmp_tid(const void *a, const void *b) { return strcmp((const char *)a, (const char *)b); }

/* Reads the Spotify id of every track id of the catalogue into ids[T]
 * ("" for an id without a track). */
static int read_spotify_ids(const char *ws, int64_t T, sim_tid *ids, seg_error *err)
{
	char path[4096];
	int rc = workspace_path(ws, WS_CATALOG, path, sizeof path, err);
	if (rc < 0)
		return rc;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT id, spotify_id FROM tracks", -1, &st, NULL) != SQLITE_OK) {
		rc = seg_error_set(err, SEG_EDB, "%s: %s", path, db ? sqlite3_errmsg(db) : "cannot open");
		goto out;
	}
	int s;
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		const char *sid = (const char *)sqlite3_column_text(st, 1);
		if (id > 0 && id < T && sid != NULL && strlen(sid) == EV_TRACK_LEN)
			memcpy(ids[id], sid, EV_TRACK_LEN + 1);
	}
	if (s != SQLITE_DONE)
		rc = seg_error_set(err, SEG_EDB, "%s: %s", path, sqlite3_errmsg(db));
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc;
}

int sim_listeners_load(const char *ws, int nseeds, sim_listeners *out, seg_error *err)
{
	*out = (sim_listeners){0};
	dataset *d = NULL;
	sim_tid *spot = NULL;
	listeners_mem *mem = NULL;
	if (nseeds < 1 || nseeds > 25)
		return seg_error_set(err, SEG_EINVAL, "nseeds must be 1..25");
	int rc = dataset_load(&d, ws, err);
	if (rc < 0)
		return rc;
	spot = calloc((size_t)d->T, sizeof *spot);
	mem = calloc(1, sizeof *mem);
	size_t total = d->pl_ptr[d->P];
	if (spot == NULL || mem == NULL || (out->l = calloc(d->P_valid + d->P_test + 1, sizeof *out->l)) == NULL ||
	    (mem->ids = calloc(total + 1, sizeof *mem->ids)) == NULL) {
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory loading the listeners");
		goto out;
	}
	if ((rc = read_spotify_ids(ws, d->T, spot, err)) < 0)
		goto out;
	/* First the offsets are taken, then the pointers set once mem->ids no
	 * longer moves. */
	size_t used = 0;
	for (size_t p = 0; p < d->P; p++) {
		if (d->pl_split[p] != CATALOG_SPLIT_VALID && d->pl_split[p] != CATALOG_SPLIT_TEST)
			continue;
		size_t start = used, ns = 0;
		for (uint32_t j = d->pl_ptr[p]; j < d->pl_ptr[p + 1]; j++) {
			int64_t t = d->pl_tracks[j];
			if (t <= 0 || t >= d->T || spot[t][0] == '\0')
				continue;
			int dup = 0;
			for (size_t q = start; q < used && !dup; q++)
				dup = strcmp(mem->ids[q], spot[t]) == 0;
			if (dup)
				continue;
			memcpy(mem->ids[used++], spot[t], sizeof *spot);
			ns++;
		}
		if (ns <= (size_t)nseeds) {
			used = start;
			continue;
		}
		sim_listener *l = &out->l[out->n++];
		l->playlist = d->pl_id[p];
		l->split = d->pl_split[p];
		l->nseeds = (size_t)nseeds;
		l->nhidden = ns - (size_t)nseeds;
		qsort(mem->ids[start + (size_t)nseeds], l->nhidden, sizeof *mem->ids, cmp_tid);
		l->seeds = (const sim_tid *)(uintptr_t)start; /* an offset until the loop ends */
	}
	for (size_t i = 0; i < out->n; i++) {
		size_t start = (size_t)(uintptr_t)out->l[i].seeds;
		out->l[i].seeds = (const sim_tid *)mem->ids + start;
		out->l[i].hidden = (const sim_tid *)mem->ids + start + out->l[i].nseeds;
	}
	out->mem = mem;
	mem = NULL;
	if (out->n == 0)
		rc = seg_error_set(err, SEG_ENOTFOUND,
		                   "the workspace has no validation or test playlist with more than %d tracks", nseeds);
out:
	free(spot);
	dataset_free(d);
	if (mem != NULL)
		free(mem->ids);
	free(mem);
	if (rc < 0)
		sim_listeners_free(out);
	return rc;
}

void sim_listeners_free(sim_listeners *L)
{
	if (L == NULL)
		return;
	listeners_mem *mem = L->mem;
	if (mem != NULL)
		free(mem->ids);
	free(mem);
	free(L->l);
	*L = (sim_listeners){0};
}

int sim_listener_likes(const sim_listener *l, const char *id)
{
	return bsearch(id, l->hidden, l->nhidden, sizeof *l->hidden, cmp_tid) != NULL;
}

int sim_listeners_pick(const sim_listeners *L, uint64_t seed, size_t n, size_t *idx, seg_error *err)
{
	if (n > L->n)
		return seg_error_set(
			err, SEG_EINVAL,
			"%zu listeners asked, but the workspace has only %zu held-out playlists to play them", n, L->n);
	/* A partial Fisher-Yates shuffle: the first n of a permutation. */
	size_t *perm = malloc((L->n + 1) * sizeof *perm);
	if (perm == NULL)
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	for (size_t i = 0; i < L->n; i++)
		perm[i] = i;
	rng r;
	rng_seed(&r, seed ^ 0x5eed11u);
	for (size_t i = 0; i < n; i++) {
		size_t j = i + (size_t)rng_below(&r, L->n - i);
		size_t t = perm[i];
		perm[i] = perm[j];
		perm[j] = t;
		idx[i] = perm[i];
	}
	free(perm);
	return 0;
}

/* ---- HTTP ---- */

struct sim_http {
	char host[256];
	char port[8];
	char token[256];
	int timeout_ms;
	int fd;          /* -1 when not connected */
	size_t served;   /* answers read on this connection */
	size_t requests; /* in all */
	size_t connects;
};

int sim_http_open(const char *url, const char *token, int timeout_ms, sim_http **out, seg_error *err)
{
	*out = NULL;
	if (url == NULL || strncmp(url, "http://", 7) != 0)
		return seg_error_set(err, SEG_EINVAL, "the server URL must start with http://");
	const char *h = url + 7, *end = h + strcspn(h, ":/");
	if (end == h || (size_t)(end - h) >= 256)
		return seg_error_set(err, SEG_EINVAL, "the server URL has no host");
	int port = 80;
	const char *rest = end;
	if (*rest == ':') {
		char *e;
		long p = strtol(rest + 1, &e, 10);
		if (e == rest + 1 || p < 1 || p > 65535)
			return seg_error_set(err, SEG_EINVAL, "the server URL's port is not 1..65535");
		port = (int)p;
		rest = e;
	}
	if (*rest == '/')
		rest++;
	if (*rest != '\0')
		return seg_error_set(err, SEG_EINVAL, "the server URL must be http://HOST[:PORT], without a path");
	if (token != NULL && strlen(token) >= 256)
		return seg_error_set(err, SEG_EINVAL, "the token is longer than 255 bytes");
	sim_http *c = calloc(1, sizeof *c);
	if (c == NULL)
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	memcpy(c->host, h, (size_t)(end - h));
	snprintf(c->port, sizeof c->port, "%d", port);
	if (token != NULL)
		snprintf(c->token, sizeof c->token, "%s", token);
	c->timeout_ms = timeout_ms > 0 ? timeout_ms : 10000;
	c->fd = -1;
	*out = c;
	return 0;
}

static void http_disconnect(sim_http *h)
{
	if (h->fd >= 0)
		close(h->fd);
	h->fd = -1;
	h->served = 0;
}

void sim_http_close(sim_http *h)
{
	if (h == NULL)
		return;
	http_disconnect(h);
	free(h);
}

void sim_http_counts(const sim_http *h, size_t *requests, size_t *connects)
{
	*requests = h->requests;
	*connects = h->connects;
}

/* Connects with a timeout: a non-blocking connect waited for with poll,
 * then blocking reads and writes bounded by SO_RCVTIMEO / SO_SNDTIMEO. */
static int http_connect(sim_http *h, seg_error *err)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
	int g = getaddrinfo(h->host, h->port, &hints, &res);
	if (g != 0)
		return seg_error_set(err, SEG_EIO, "%s: %s", h->host, gai_strerror(g));
	int rc = SEG_EIO, fd = -1, why = ECONNREFUSED;
	for (struct addrinfo *a = res; a != NULL && rc < 0; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0) {
			why = errno;
			continue;
		}
		int fl = fcntl(fd, F_GETFL);
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
		int c = connect(fd, a->ai_addr, a->ai_addrlen);
		if (c < 0 && errno == EINPROGRESS) {
			struct pollfd p = {.fd = fd, .events = POLLOUT};
			int n = poll(&p, 1, h->timeout_ms);
			int so = ETIMEDOUT;
			socklen_t sl = sizeof so;
			if (n == 1)
				getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &sl);
			c = so == 0 ? 0 : -1;
			errno = so;
		}
		if (c < 0) {
			why = errno;
			close(fd);
			fd = -1;
			continue;
		}
		fcntl(fd, F_SETFL, fl);
		struct timeval tv = {.tv_sec = h->timeout_ms / 1000, .tv_usec = (h->timeout_ms % 1000) * 1000};
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		rc = 0;
	}
	freeaddrinfo(res);
	if (rc < 0)
		return seg_error_set(err, SEG_EIO, "cannot connect to %s:%s: %s", h->host, h->port, strerror(why));
	h->fd = fd;
	h->served = 0;
	h->connects++;
	return 0;
}

static int send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The answer being read: bytes received (head and body) in buf. */
typedef struct http_in {
	strbuf buf;
	size_t pos; /* bytes of buf consumed */
} http_in;

/* Receives more bytes into in; 0, or -1 on EOF, error or timeout (errno
 * then 0 for EOF). */
static int recv_more(int fd, http_in *in)
{
	char tmp[16384];
	for (;;) {
		ssize_t r = recv(fd, tmp, sizeof tmp, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0)
			errno = 0;
		if (r <= 0)
			return -1;
		strbuf_append(&in->buf, tmp, (size_t)r);
		return in->buf.oom ? -1 : 0;
	}
}

/* Case-insensitive search of header `name` in the head [p, e); copies its
 * value (trimmed) into v[cap]. */
static int header_get(const char *p, const char *e, const char *name, char *v, size_t cap)
{
	size_t nl = strlen(name);
	while (p < e) {
		const char *eol = memchr(p, '\n', (size_t)(e - p));
		if (eol == NULL)
			eol = e;
		if ((size_t)(eol - p) > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *s = p + nl + 1;
			while (s < eol && (*s == ' ' || *s == '\t'))
				s++;
			const char *t = eol;
			while (t > s && (t[-1] == '\r' || t[-1] == ' '))
				t--;
			size_t n = (size_t)(t - s) < cap - 1 ? (size_t)(t - s) : cap - 1;
			memcpy(v, s, n);
			v[n] = '\0';
			return 1;
		}
		p = eol + 1;
	}
	return 0;
}

/* Reads one answer from h's connection. *fresh_eof is set when the
 * connection was closed before a single byte came (a kept-alive connection
 * the server had dropped). */
static int http_read(sim_http *h, int head_only, int *status, strbuf *resp, int *fresh_eof, seg_error *err)
{
	http_in in = {0};
	int rc = 0, keep = 1;
	char *hend;
	*fresh_eof = 0;
	while ((hend = in.buf.len ? strstr(in.buf.data, "\r\n\r\n") : NULL) == NULL) {
		if (in.buf.len > SIM_HTTP_MAX_HEAD) {
			rc = seg_error_set(err, SEG_EFORMAT, "the answer's head is longer than %d bytes",
			                   SIM_HTTP_MAX_HEAD);
			goto out;
		}
		if (recv_more(h->fd, &in) < 0) {
			*fresh_eof = in.buf.len == 0 && errno == 0;
			rc = seg_error_set(err, SEG_EIO, "reading the answer from %s:%s: %s", h->host, h->port,
			                   errno == 0                                ? "connection closed"
			                   : errno == EAGAIN || errno == EWOULDBLOCK ? "timed out"
			                                                             : strerror(errno));
			goto out;
		}
	}
	const char *head = in.buf.data, *he = hend + 2;
	int major, minor, code;
	if (sscanf(head, "HTTP/%d.%d %d", &major, &minor, &code) != 3 || code < 100 || code > 999) {
		rc = seg_error_set(err, SEG_EFORMAT, "%s:%s did not answer in HTTP", h->host, h->port);
		goto out;
	}
	*status = code;
	char v[64];
	if (header_get(head, he, "Connection", v, sizeof v) && strcasecmp(v, "close") == 0)
		keep = 0;
	if (minor == 0 && major == 1)
		keep = keep && header_get(head, he, "Connection", v, sizeof v) && strcasecmp(v, "keep-alive") == 0;
	in.pos = (size_t)(hend + 4 - in.buf.data);
	strbuf_reset(resp);
	int chunked = header_get(head, he, "Transfer-Encoding", v, sizeof v) && strcasecmp(v, "chunked") == 0;
	long long clen = -1;
	if (!chunked && header_get(head, he, "Content-Length", v, sizeof v)) {
		char *e;
		clen = strtoll(v, &e, 10);
		if (e == v || *e != '\0' || clen < 0) {
			rc = seg_error_set(err, SEG_EFORMAT, "a bad Content-Length: %s", v);
			goto out;
		}
	}
	if (head_only || code == 204 || code == 304 || code < 200)
		clen = 0;
	if (clen > SIM_HTTP_MAX_BODY) {
		rc = seg_error_set(err, SEG_EINVAL, "the answer (%lld bytes) is larger than %d bytes", clen,
		                   SIM_HTTP_MAX_BODY);
		goto out;
	}
	if (clen >= 0) {
		while (in.buf.len - in.pos < (size_t)clen)
			if (recv_more(h->fd, &in) < 0) {
				rc = seg_error_set(err, SEG_EIO, "the answer's body was cut short");
				goto out;
			}
		strbuf_append(resp, in.buf.data + in.pos, (size_t)clen);
	} else if (chunked) {
		for (;;) {
			char *eol;
			while ((eol = memchr(in.buf.data + in.pos, '\n', in.buf.len - in.pos)) == NULL)
				if (in.buf.len - in.pos > 64 || recv_more(h->fd, &in) < 0) {
					rc = seg_error_set(err, SEG_EIO,
					                   "a chunk's size line was cut short or too long");
					goto out;
				}
			char *e;
			unsigned long long n = strtoull(in.buf.data + in.pos, &e, 16);
			if (e == in.buf.data + in.pos || resp->len + n > SIM_HTTP_MAX_BODY) {
				rc = seg_error_set(err, SEG_EFORMAT, "a bad or too large chunk");
				goto out;
			}
			in.pos = (size_t)(eol + 1 - in.buf.data);
			while (in.buf.len - in.pos < n + 2)
				if (recv_more(h->fd, &in) < 0) {
					rc = seg_error_set(err, SEG_EIO, "a chunk was cut short");
					goto out;
				}
			strbuf_append(resp, in.buf.data + in.pos, (size_t)n);
			in.pos += (size_t)n + 2; /* the chunk and its CRLF; trailers after the last are not read */
			if (n == 0)
				break;
		}
	} else {
		/* Neither: the body runs to the end of the connection. */
		keep = 0;
		while (recv_more(h->fd, &in) == 0)
			if (in.buf.len - in.pos > SIM_HTTP_MAX_BODY) {
				rc = seg_error_set(err, SEG_EINVAL, "the answer is larger than %d bytes",
				                   SIM_HTTP_MAX_BODY);
				goto out;
			}
		strbuf_append(resp, in.buf.data + in.pos, in.buf.len - in.pos);
	}
	if (resp->oom)
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory reading an answer");
out:
	strbuf_free(&in.buf);
	if (rc < 0 || !keep)
		http_disconnect(h);
	else
		h->served++;
	return rc;
}

int sim_http_request(sim_http *h, const char *method, const char *target, const char *body, size_t len, int *status,
                     strbuf *resp, seg_error *err)
{
	*status = 0;
	strbuf head = {0};
	int rc = 0;
	strbuf_printf(&head, "%s %s HTTP/1.1\r\nHost: %s:%s\r\nAccept: */*\r\n", method, target, h->host, h->port);
	if (body != NULL)
		strbuf_printf(&head, "Content-Type: application/json\r\nContent-Length: %zu\r\n", len);
	else if (strcmp(method, "POST") == 0)
		strbuf_puts(&head, "Content-Length: 0\r\n");
	if (h->token[0] != '\0')
		strbuf_printf(&head, "Authorization: Bearer %s\r\n", h->token);
	strbuf_puts(&head, "\r\n");
	if (head.oom) {
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
		goto out;
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		int reused = h->fd >= 0 && h->served > 0;
		if (h->fd < 0 && (rc = http_connect(h, err)) < 0)
			goto out;
		int fresh_eof = 0;
		if (send_all(h->fd, head.data, head.len) < 0 || (body != NULL && send_all(h->fd, body, len) < 0)) {
			int e = errno;
			http_disconnect(h);
			rc = seg_error_set(err, SEG_EIO, "sending to %s:%s: %s", h->host, h->port, strerror(e));
			if (reused)
				continue; /* the server had closed the idle connection */
			goto out;
		}
		rc = http_read(h, strcmp(method, "HEAD") == 0, status, resp, &fresh_eof, err);
		if (rc < 0 && reused && fresh_eof)
			continue;
		break;
	}
	if (rc == 0)
		h->requests++;
out:
	strbuf_free(&head);
	return rc;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int sim_http_call(sim_http *h, const char *method, const char *target, const char *body, size_t len, int retries,
                  int *status, strbuf *resp, size_t *nretries, seg_error *err)
{
	long wait = 25;
	for (int attempt = 0;; attempt++) {
		int rc = sim_http_request(h, method, target, body, len, status, resp, err);
		int again = rc == SEG_EIO || (rc == 0 && *status >= 500);
		if (!again || attempt >= retries)
			return rc;
		if (nretries != NULL)
			(*nretries)++;
		http_disconnect(h); /* a fresh connection: the old one may be half dead */
		sleep_ms(wait);
		wait = wait * 2 > 2000 ? 2000 : wait * 2;
	}
}

/* ---- one simulation ---- */

void sim_options_default(sim_options *o)
{
	*o = (sim_options){.server = "http://127.0.0.1:8080",
	                   .seed = 1,
	                   .users = 100,
	                   .threads = 4,
	                   .retries = 6,
	                   .timeout_ms = 10000};
	sim_behaviour_default(&o->b);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The count of variant `name` in res, added when new (the last slot
 * collects names past EXP_MAX_VARIANTS + 1). */
static sim_variant_count *variant_slot(sim_result *res, const char *name)
{
	for (size_t i = 0; i < res->nv; i++)
		if (strcmp(res->v[i].name, name) == 0)
			return &res->v[i];
	if (res->nv == sizeof res->v / sizeof *res->v)
		return &res->v[res->nv - 1];
	sim_variant_count *v = &res->v[res->nv++];
	memset(v, 0, sizeof *v);
	snprintf(v->name, sizeof v->name, "%s", name);
	return v;
}

typedef struct run_ctx {
	const sim_listeners *L;
	const sim_options *o;
	const size_t *idx;
	atomic_size_t next;
	sim_result part[PARALLEL_MAX_WORKERS];
	pthread_mutex_t lock; /* guards first_error */
	char first_error[256];
	int failed;
} run_ctx;

static void note_error(run_ctx *c, sim_result *r, const char *what)
{
	r->failed++;
	pthread_mutex_lock(&c->lock);
	if (c->first_error[0] == '\0')
		snprintf(c->first_error, sizeof c->first_error, "%.255s", what);
	pthread_mutex_unlock(&c->lock);
}

/* Appends one event to the batch in sb. */
static void event_json(strbuf *sb, int first, const char *eid, int type, const char *user, const char *track,
                       const char *request, int position, int64_t ms)
{
	strbuf_puts(sb, first ? "{\"event_id\":" : ",{\"event_id\":");
	strbuf_json(sb, eid);
	strbuf_printf(sb, ",\"type\":\"%s\",\"user_id\":", ev_type_name(type));
	strbuf_json(sb, user);
	strbuf_puts(sb, ",\"track\":");
	strbuf_json(sb, track);
	if (request[0] != '\0') {
		strbuf_puts(sb, ",\"request_id\":");
		strbuf_json(sb, request);
	}
	strbuf_printf(sb, ",\"position\":%d,\"client_ms\":%" PRId64 "}", position, ms);
}

/* One listener's sessions. 0, or -1 after noting why. */
static int run_listener(run_ctx *c, sim_http *h, sim_result *res, const sim_listener *l, strbuf *body, strbuf *resp)
{
	const sim_options *o = c->o;
	const sim_behaviour *b = &o->b;
	char user[EV_ID_MAX + 1], msg[256];
	sim_user_id(user, o->seed, l->playlist);
	rng r;
	rng_seed(&r, rng_mix64(o->seed) ^ (uint64_t)l->playlist);
	sim_tid *shown = calloc((size_t)b->max_sessions * (size_t)b->k + 1, sizeof *shown);
	size_t nshown = 0;
	int ret = -1;
	json_t *ans = NULL;
	seg_error err = {0};
	if (shown == NULL) {
		note_error(c, res, "out of memory");
		return -1;
	}
	res->users++;
	for (int s = 0; s < b->max_sessions; s++) {
		/* Ask for a list. */
		strbuf_reset(body);
		strbuf_puts(body, "{\"user_id\":");
		strbuf_json(body, user);
		strbuf_printf(body, ",\"k\":%d,\"seeds\":[", b->k);
		for (size_t i = 0; i < l->nseeds; i++) {
			strbuf_puts(body, i ? ",\"" : "\"");
			strbuf_puts(body, l->seeds[i]);
			strbuf_putc(body, '"');
		}
		strbuf_puts(body, "]");
		if (nshown > 0) {
			strbuf_puts(body, ",\"exclude\":[");
			for (size_t i = 0; i < nshown; i++) {
				strbuf_puts(body, i ? ",\"" : "\"");
				strbuf_puts(body, shown[i]);
				strbuf_putc(body, '"');
			}
			strbuf_puts(body, "]");
		}
		strbuf_puts(body, "}");
		int st = 0;
		if (sim_http_call(h, "POST", "/api/recommend", body->data, body->len, o->retries, &st, resp,
		                  &res->retries, &err) < 0) {
			note_error(c, res, err.msg);
			goto out;
		}
		if (st != 200) {
			snprintf(msg, sizeof msg, "POST /api/recommend answered %d: %.200s", st, strbuf_cstr(resp));
			note_error(c, res, msg);
			goto out;
		}
		json_decref(ans);
		ans = json_loadb(resp->data, resp->len, 0, NULL);
		json_t *tracks = json_object_get(ans, "tracks");
		if (!json_is_array(tracks)) {
			note_error(c, res, "POST /api/recommend answered without a tracks array");
			goto out;
		}
		const char *rid = json_string_value(json_object_get(ans, "request_id"));
		json_t *ex = json_object_get(ans, "experiment");
		const char *exname = json_string_value(json_object_get(ex, "name"));
		const char *var = json_string_value(json_object_get(ex, "variant"));
		if (exname != NULL && res->experiment[0] == '\0')
			snprintf(res->experiment, sizeof res->experiment, "%s", exname);
		sim_variant_count *vc = variant_slot(res, var ? var : "");
		if (s == 0)
			vc->users++;
		vc->lists++;
		res->sessions++;
		/* What the listener does with it. */
		size_t n = json_array_size(tracks);
		if (n > (size_t)b->k)
			n = (size_t)b->k;
		uint8_t liked[100], act[100];
		const char *ids[100];
		for (size_t i = 0; i < n; i++) {
			ids[i] = json_string_value(json_object_get(json_array_get(tracks, i), "id"));
			if (ids[i] == NULL || strlen(ids[i]) != EV_TRACK_LEN) {
				note_error(c, res, "POST /api/recommend answered a track without a Spotify id");
				goto out;
			}
			liked[i] = (uint8_t)sim_listener_likes(l, ids[i]);
			vc->shown++;
			vc->liked_shown += liked[i];
			memcpy(shown[nshown++], ids[i], EV_TRACK_LEN + 1);
		}
		double boost = 1.0;
		if (o->effect_variant != NULL && var != NULL && strcmp(var, o->effect_variant) == 0)
			boost = 1.0 + o->effect;
		sim_click(b, boost, liked, n, &r, act);
		/* Tell the server. */
		strbuf_reset(body);
		strbuf_puts(body, "{\"events\":[");
		size_t nev = 0;
		int64_t ms = now_ms();
		static const struct {
			int bit, type;
		} kinds[] = {{SIM_PLAY, EV_PLAY},
		             {SIM_SKIP, EV_SKIP},
		             {SIM_LIKE, EV_LIKE},
		             {SIM_SAVE, EV_SAVE},
		             {SIM_DISLIKE, EV_DISLIKE}};
		for (size_t i = 0; i < n; i++) {
			for (size_t kk = 0; kk < sizeof kinds / sizeof *kinds; kk++) {
				if (!(act[i] & kinds[kk].bit))
					continue;
				char eid[EV_ID_MAX + 1];
				sim_event_id(eid, o->seed, l->playlist, s, (int)i, kinds[kk].type);
				event_json(body, nev == 0, eid, kinds[kk].type, user, ids[i], rid ? rid : "", (int)i,
				           ms);
				nev++;
			}
			vc->plays += (act[i] & SIM_PLAY) != 0;
			vc->liked_plays += (act[i] & SIM_PLAY) && liked[i];
			vc->skips += (act[i] & SIM_SKIP) != 0;
			vc->likes += (act[i] & SIM_LIKE) != 0;
			vc->saves += (act[i] & SIM_SAVE) != 0;
			vc->dislikes += (act[i] & SIM_DISLIKE) != 0;
		}
		strbuf_puts(body, "]}");
		if (body->oom) {
			note_error(c, res, "out of memory");
			goto out;
		}
		if (nev > 0) {
			if (sim_http_call(h, "POST", "/api/events", body->data, body->len, o->retries, &st, resp,
			                  &res->retries, &err) < 0) {
				note_error(c, res, err.msg);
				goto out;
			}
			if (st != 200) {
				snprintf(msg, sizeof msg, "POST /api/events answered %d: %.200s", st,
				         strbuf_cstr(resp));
				note_error(c, res, msg);
				goto out;
			}
			json_t *a = json_loadb(resp->data, resp->len, 0, NULL);
			res->events += nev;
			res->stored += (size_t)json_integer_value(json_object_get(a, "stored"));
			res->duplicates += (size_t)json_integer_value(json_object_get(a, "duplicates"));
			json_decref(a);
		}
		if (s + 1 < b->max_sessions && !(rng_u01(&r) < b->come_back))
			break;
	}
	ret = 0;
out:
	json_decref(ans);
	free(shown);
	return ret;
}

static void run_worker(void *arg, int worker, int nworkers)
{
	(void)nworkers;
	run_ctx *c = arg;
	sim_result *res = &c->part[worker];
	sim_http *h = NULL;
	seg_error err = {0};
	strbuf body = {0}, resp = {0};
	if (sim_http_open(c->o->server, c->o->token, c->o->timeout_ms, &h, &err) < 0) {
		note_error(c, res, err.msg);
		return;
	}
	for (;;) {
		size_t i = atomic_fetch_add(&c->next, 1);
		if (i >= c->o->users)
			break;
		run_listener(c, h, res, &c->L->l[c->idx[i]], &body, &resp);
	}
	strbuf_free(&body);
	strbuf_free(&resp);
	sim_http_close(h);
}

int sim_run(const sim_listeners *L, const sim_options *o, sim_result *res, seg_error *err)
{
	memset(res, 0, sizeof *res);
	int rc = sim_behaviour_check(&o->b, err);
	if (rc < 0)
		return rc;
	if (o->users == 0)
		return seg_error_set(err, SEG_EINVAL, "no listeners asked for");
	size_t *idx = malloc(o->users * sizeof *idx);
	run_ctx *c = calloc(1, sizeof *c);
	if (idx == NULL || c == NULL) {
		rc = seg_error_set(err, SEG_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = sim_listeners_pick(L, o->seed, o->users, idx, err)) < 0)
		goto out;
	c->L = L;
	c->o = o;
	c->idx = idx;
	atomic_init(&c->next, 0);
	pthread_mutex_init(&c->lock, NULL);
	double t0 = mono_s();
	int T = parallel_workers(o->threads);
	parallel_run(T, run_worker, c);
	res->seconds = mono_s() - t0;
	pthread_mutex_destroy(&c->lock);
	for (int w = 0; w < T; w++) {
		const sim_result *p = &c->part[w];
		res->users += p->users;
		res->sessions += p->sessions;
		res->events += p->events;
		res->stored += p->stored;
		res->duplicates += p->duplicates;
		res->retries += p->retries;
		res->failed += p->failed;
		if (res->experiment[0] == '\0')
			memcpy(res->experiment, p->experiment, sizeof res->experiment);
		for (size_t i = 0; i < p->nv; i++) {
			const sim_variant_count *a = &p->v[i];
			sim_variant_count *v = variant_slot(res, a->name);
			v->users += a->users;
			v->lists += a->lists;
			v->shown += a->shown;
			v->liked_shown += a->liked_shown;
			v->plays += a->plays;
			v->liked_plays += a->liked_plays;
			v->skips += a->skips;
			v->likes += a->likes;
			v->saves += a->saves;
			v->dislikes += a->dislikes;
		}
	}
	snprintf(res->first_error, sizeof res->first_error, "%s", c->first_error);
	if (res->failed > 0)
		rc = seg_error_set(err, SEG_EIO, "%zu of %zu listeners failed; the first: %s", res->failed, o->users,
		                   c->first_error);
out:
	free(idx);
	free(c);
	return rc;
}

void sim_result_print(const sim_result *res, FILE *out)
{
	fprintf(out,
	        "%zu listeners, %zu sessions, %zu events posted (%zu stored, %zu duplicates), %zu retries, %zu failed, "
	        "%.2f s\n",
	        res->users, res->sessions, res->events, res->stored, res->duplicates, res->retries, res->failed,
	        res->seconds);
	for (size_t i = 0; i < res->nv; i++) {
		const sim_variant_count *v = &res->v[i];
		fprintf(out,
		        "  %-12s users %5zu  lists %6zu  shown %7zu (liked %6zu)  plays %6zu (%.4f)  skips %6zu (%.4f) "
		        " "
		        "likes %5zu  saves %5zu\n",
		        v->name[0] ? v->name : "(none)", v->users, v->lists, v->shown, v->liked_shown, v->plays,
		        v->shown ? (double)v->plays / (double)v->shown : 0.0, v->skips,
		        v->shown ? (double)v->skips / (double)v->shown : 0.0, v->likes, v->saves);
	}
}

/* ---- experiments over the API ---- */

/* The server's answer in a sentence for err. */
static int answer_error(seg_error *err, const char *what, int st, const strbuf *resp)
{
	return seg_error_set(err, st == 404 ? SEG_ENOTFOUND : SEG_EINVAL, "%s answered %d: %.300s", what, st,
	                     strbuf_cstr(resp));
}

int sim_experiment_begin(sim_http *h, const char *name, size_t nvariants, const char *const *names,
                         const char *const *configs, const char *metric, seg_error *err)
{
	strbuf body = {0}, resp = {0}, target = {0};
	int st = 0, rc;
	strbuf_puts(&body, "{\"name\":");
	strbuf_json(&body, name);
	strbuf_puts(&body, ",\"variants\":[");
	for (size_t i = 0; i < nvariants; i++) {
		strbuf_puts(&body, i ? ",{\"name\":" : "{\"name\":");
		strbuf_json(&body, names[i]);
		strbuf_puts(&body, ",\"weight\":1,\"config\":");
		strbuf_json(&body, configs[i]);
		strbuf_puts(&body, "}");
	}
	strbuf_puts(&body, "]");
	if (metric != NULL) {
		strbuf_puts(&body, ",\"metric\":");
		strbuf_json(&body, metric);
	}
	strbuf_puts(&body, "}");
	rc = sim_http_call(h, "POST", "/api/experiments", body.data, body.len, 3, &st, &resp, NULL, err);
	if (rc == 0 && st != 201 && st != 200)
		rc = answer_error(err, "POST /api/experiments", st, &resp);
	if (rc < 0)
		goto out;
	strbuf_printf(&target, "/api/experiments/%s/start", name);
	rc = sim_http_call(h, "POST", target.data, NULL, 0, 3, &st, &resp, NULL, err);
	if (rc == 0 && st != 200)
		rc = answer_error(err, target.data, st, &resp);
out:
	strbuf_free(&body);
	strbuf_free(&resp);
	strbuf_free(&target);
	return rc;
}

int sim_experiment_end(sim_http *h, const char *name, strbuf *report, seg_error *err)
{
	strbuf target = {0};
	int st = 0;
	strbuf_printf(&target, "/api/experiments/%s/stop", name);
	int rc = sim_http_call(h, "POST", target.data, NULL, 0, 3, &st, report, NULL, err);
	if (rc == 0 && st != 200)
		rc = answer_error(err, target.data, st, report);
	if (rc == 0) {
		strbuf_reset(&target);
		strbuf_printf(&target, "/api/experiments/%s/report", name);
		rc = sim_http_call(h, "GET", target.data, NULL, 0, 3, &st, report, NULL, err);
		if (rc == 0 && st != 200)
			rc = answer_error(err, target.data, st, report);
	}
	strbuf_free(&target);
	return rc;
}

static double num(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_number(v) ? json_number_value(v) : NAN;
}

int sim_report_parse(const char *json, size_t len, sim_report *r, seg_error *err)
{
	memset(r, 0, sizeof *r);
	r->diff = r->lo = r->hi = r->p = r->share_b = r->ilo = r->ihi = r->ip = NAN;
	r->cmean = r->clo = r->chi = r->cp = NAN;
	r->value[0] = r->value[1] = NAN;
	json_t *root = json_loadb(json, len, 0, NULL);
	json_t *variants = json_object_get(root, "variants"), *cmp = json_object_get(root, "comparisons");
	const char *metric = json_string_value(json_object_get(json_object_get(root, "experiment"), "metric"));
	int rc = 0;
	if (!json_is_array(variants) || !json_is_array(cmp)) {
		rc = seg_error_set(err, SEG_EFORMAT, "the report has no variants or comparisons array");
		goto out;
	}
	for (size_t i = 0; i < 2 && i < json_array_size(variants); i++) {
		json_t *v = json_array_get(variants, i);
		r->users[i] = (size_t)num(v, "users");
		if (metric != NULL)
			r->value[i] = num(json_object_get(json_object_get(v, "metrics"), metric), "value");
	}
	for (size_t i = 0; i < json_array_size(cmp); i++) {
		json_t *c = json_array_get(cmp, i);
		if (!json_is_true(json_object_get(c, "primary")))
			continue;
		r->diff = num(c, "diff");
		r->lo = num(c, "diff_lo");
		r->hi = num(c, "diff_hi");
		r->p = num(c, "p");
		break;
	}
	json_t *il = json_object_get(root, "interleaving");
	if (json_is_object(il)) {
		r->has_interleaving = 1;
		r->share_b = num(il, "share_b");
		r->ilo = num(il, "lo");
		r->ihi = num(il, "hi");
		r->ip = num(il, "p");
		json_t *cr = json_object_get(il, "credit");
		r->cmean = num(cr, "mean_diff");
		r->clo = num(cr, "lo");
		r->chi = num(cr, "hi");
		r->cp = num(cr, "p");
	}
	r->srm_alarm = json_is_true(json_object_get(json_object_get(root, "srm"), "alarm"));
out:
	json_decref(root);
	return rc;
}

/* ---- the study ---- */

void sim_study_options_default(sim_study_options *o)
{
	*o = (sim_study_options){.metric = "play_rate",
	                         .aa_runs = 200,
	                         .aa_users = 200,
	                         .hp_users = 1000,
	                         .effect_runs = 100,
	                         .effect_users = 300,
	                         .effect = 0.5,
	                         .ladder_runs = 20,
	                         .ladder = {300, 150, 75, 40, 20, 10},
	                         .model_a = "popular",
	                         .model_b = "hybrid",
	                         .aa_model = "hybrid"};
	sim_options_default(&o->sim);
}

void sim_wilson(size_t k, size_t n, double *lo, double *hi)
{
	if (n == 0) {
		*lo = 0;
		*hi = 1;
		return;
	}
	double z = 1.959963984540054, p = (double)k / (double)n, nn = (double)n;
	double den = 1 + z * z / nn, mid = (p + z * z / (2 * nn)) / den;
	double half = z * sqrt(p * (1 - p) / nn + z * z / (4 * nn * nn)) / den;
	*lo = fmax(0, mid - half);
	*hi = fmin(1, mid + half);
}

/* One experiment of the study: create, start, simulate, stop, report. */
typedef struct study {
	const sim_listeners *L;
	const sim_study_options *o;
	sim_http *h;
	uint64_t next_seed;
	FILE *out;
} study;

static int study_one(study *S, const char *name, size_t nvar, const char *const *configs, size_t users,
                     const char *effect_variant, double effect, sim_result *res, sim_report *rep, seg_error *err)
{
	static const char *const names[2] = {"control", "treatment"};
	strbuf report = {0};
	int rc = sim_experiment_begin(S->h, name, nvar, names, configs, S->o->metric, err);
	if (rc < 0)
		return rc;
	sim_options so = S->o->sim;
	so.seed = S->next_seed++;
	so.users = users;
	so.effect_variant = effect_variant;
	so.effect = effect;
	rc = sim_run(S->L, &so, res, err);
	seg_error e2 = {0};
	int rc2 = sim_experiment_end(S->h, name, &report, rc < 0 ? &e2 : err); /* stop it whatever happened */
	if (rc == 0 && rc2 < 0)
		rc = rc2;
	if (rc == 0 && res->experiment[0] != '\0' && strcmp(res->experiment, name) != 0)
		rc = seg_error_set(err, SEG_EINVAL,
		                   "the server served the listeners of %s from experiment %s: stop the other running "
		                   "experiments first (the oldest running one decides)",
		                   name, res->experiment);
	if (rc == 0)
		rc = sim_report_parse(report.data, report.len, rep, err);
	strbuf_free(&report);
	return rc;
}

static void progress(const study *S, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void progress(const study *S, const char *fmt, ...)
{
	if (S->o->quiet)
		return;
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

static int study_aa(study *S, seg_error *err)
{
	const sim_study_options *o = S->o;
	char cfg[EXP_CONFIG_MAX + 1], name[EXP_NAME_MAX + 1];
	snprintf(cfg, sizeof cfg, "model=%s", o->aa_model);
	const char *configs[2] = {cfg, cfg};
	size_t reject = 0, srm = 0, done = 0;
	double t0 = mono_s();
	for (int r = 0; r < o->aa_runs; r++) {
		sim_result res;
		sim_report rep;
		snprintf(name, sizeof name, "%s-aa-%d", o->prefix, r);
		int rc = study_one(S, name, 2, configs, o->aa_users, NULL, 0, &res, &rep, err);
		if (rc < 0)
			return rc;
		done++;
		reject += rep.p < 0.05;
		srm += rep.srm_alarm != 0;
		progress(S, "\r  A/A %d/%d: p = %.3f, rejected so far %zu", r + 1, o->aa_runs, rep.p, reject);
	}
	progress(S, "\n");
	double lo, hi;
	sim_wilson(reject, done, &lo, &hi);
	fprintf(S->out,
	        "A/A (%s both sides, %zu listeners per run, %zu runs, a new salt each):\n"
	        "  rejected at p < 0.05 in %zu of %zu runs = %.1f%% (95%% Wilson CI %.1f%% to %.1f%%; the goal 5%% +- "
	        "2%%)"
	        "\n  SRM alarms: %zu; wall time %.1f s\n",
	        o->aa_model, o->aa_users, done, reject, done, 100.0 * (double)reject / (double)done, 100 * lo, 100 * hi,
	        srm, mono_s() - t0);
	fflush(S->out);
	return 0;
}

static int study_hp(study *S, seg_error *err)
{
	const sim_study_options *o = S->o;
	char a[EXP_CONFIG_MAX + 1], b[EXP_CONFIG_MAX + 1], name[EXP_NAME_MAX + 1];
	snprintf(a, sizeof a, "model=%s", o->model_a);
	snprintf(b, sizeof b, "model=%s", o->model_b);
	const char *configs[2] = {a, b};
	snprintf(name, sizeof name, "%s-hp", o->prefix);
	sim_result res;
	sim_report rep;
	double t0 = mono_s();
	int rc = study_one(S, name, 2, configs, o->hp_users, NULL, 0, &res, &rep, err);
	if (rc < 0)
		return rc;
	fprintf(S->out,
	        "%s (control) against %s (treatment), %zu listeners:\n"
	        "  users %zu / %zu, %s %.4f / %.4f, difference %+.4f (95%% CI %+.4f to %+.4f), relative %+.1f%%, p = "
	        "%.3g: %s\n"
	        "  wall time %.1f s\n",
	        o->model_a, o->model_b, o->hp_users, rep.users[0], rep.users[1], o->metric, rep.value[0], rep.value[1],
	        rep.diff, rep.lo, rep.hi, 100 * rep.diff / rep.value[0], rep.p,
	        rep.p < 0.05 ? (rep.diff > 0 ? "significant, treatment better" : "significant, treatment worse")
	                     : "not significant",
	        mono_s() - t0);
	/* The rates as the simulator drew them (the server's play_rate and
	 * skip_rate are the same pooled ratios when every event was stored):
	 * skips per shown track and per play, the latter estimating the
	 * click model's P(skip | played) mix of the variant's lists. */
	for (size_t i = 0; i < res.nv; i++) {
		const sim_variant_count *v = &res.v[i];
		double sh = v->shown ? (double)v->shown : NAN, pl = v->plays ? (double)v->plays : NAN;
		fprintf(S->out,
		        "  %-9s (%s) plays/shown %.4f, skips/shown %.4f, skips/plays %.3f, liked among shown %.4f\n",
		        v->name[0] ? v->name : "(none)",
		        strcmp(v->name, "control") == 0     ? o->model_a
		        : strcmp(v->name, "treatment") == 0 ? o->model_b
		                                            : "?",
		        (double)v->plays / sh, (double)v->skips / sh, (double)v->skips / pl,
		        (double)v->liked_shown / sh);
	}
	fflush(S->out);
	return 0;
}

/* The power stats_power_proportion promises for n per variant: the power
 * at which it asks for n, by bisection (its n grows with the power). */
static double promised_power(double p0, double mde, double n)
{
	double lo = 0.0005, hi = 0.9995, need;
	seg_error err;
	if (stats_power_proportion(p0, mde, 0.05, lo, &need, &err) < 0)
		return NAN;
	if (need >= n)
		return lo;
	if (stats_power_proportion(p0, mde, 0.05, hi, &need, &err) == 0 && need <= n)
		return hi;
	for (int i = 0; i < 60; i++) {
		double mid = 0.5 * (lo + hi);
		if (stats_power_proportion(p0, mde, 0.05, mid, &need, &err) < 0)
			return NAN;
		if (need <= n)
			lo = mid;
		else
			hi = mid;
	}
	return 0.5 * (lo + hi);
}

static int study_effect(study *S, seg_error *err)
{
	const sim_study_options *o = S->o;
	char cfg[EXP_CONFIG_MAX + 1], name[EXP_NAME_MAX + 1];
	snprintf(cfg, sizeof cfg, "model=%s", o->aa_model);
	const char *configs[2] = {cfg, cfg};
	size_t detect = 0, done = 0;
	double shown[2] = {0}, plays[2] = {0}, liked_plays0 = 0, se2_obs = 0, users = 0;
	double z = stats_norm_quantile(0.975), t0 = mono_s();
	for (int r = 0; r < o->effect_runs; r++) {
		sim_result res;
		sim_report rep;
		snprintf(name, sizeof name, "%s-fx-%d", o->prefix, r);
		int rc = study_one(S, name, 2, configs, o->effect_users, "treatment", o->effect, &res, &rep, err);
		if (rc < 0)
			return rc;
		done++;
		detect += rep.p < 0.05 && rep.diff > 0;
		se2_obs += pow((rep.hi - rep.lo) / (2 * z), 2);
		for (size_t i = 0; i < res.nv; i++) {
			int t = strcmp(res.v[i].name, "treatment") == 0 ? 1
			        : strcmp(res.v[i].name, "control") == 0 ? 0
			                                                : -1;
			if (t < 0)
				continue;
			shown[t] += (double)res.v[i].shown;
			plays[t] += (double)res.v[i].plays;
			users += (double)res.v[i].users;
			if (t == 0)
				liked_plays0 += (double)res.v[i].liked_plays;
		}
		progress(S, "\r  effect %d/%d: p = %.3f, detected so far %zu", r + 1, o->effect_runs, rep.p, detect);
	}
	progress(S, "\n");
	/* The true effect on the play rate: only plays of liked tracks are
	 * boosted, so the difference in expectation is delta times the
	 * control's rate of liked plays per shown track. A play here is a
	 * started track, skipped later or not, as the server's play_rate
	 * counts it (a skip adds an event, it takes no play away), so the
	 * baseline p0 is the control's plays, skipped ones included, per
	 * shown track. */
	double p0 = plays[0] / shown[0], mde = o->effect * liked_plays0 / shown[0];
	double n_tracks = 0.5 * (shown[0] + shown[1]) / (double)done; /* shown tracks per variant and run */
	double p1 = p0 + mde;
	double se2_bin = p0 * (1 - p0) / n_tracks + p1 * (1 - p1) / n_tracks;
	double deff = (se2_obs / (double)done) / se2_bin;
	double naive = promised_power(p0, mde, n_tracks), adj = promised_power(p0, mde, n_tracks / deff);
	double lo, hi;
	sim_wilson(detect, done, &lo, &hi);
	double se_pow = sqrt(adj * (1 - adj) / (double)done);
	fprintf(S->out,
	        "Injected effect (%s both sides; the treatment's listeners play liked tracks with probability x %.2f), "
	        "%zu listeners per run, %zu runs:\n"
	        "  baseline play rate %.4f, true difference %+.4f (%+.1f%%), observed %+.4f\n"
	        "  detected (p < 0.05, right direction) in %zu of %zu runs = %.1f%% (95%% Wilson CI %.1f%% to %.1f%%)\n"
	        "  stats_power_proportion's promise: %.1f%% with the %.0f shown tracks per variant as independent "
	        "trials;\n"
	        "  %.1f%% once the trials are discounted by the design effect %.2f the reports' own standard errors "
	        "show\n"
	        "  (tracks of one listener are not independent): expected %.1f%% +- %.1f%% (2 s.e. of %zu runs)\n"
	        "  %.1f listeners per variant per run; wall time %.1f s\n",
	        o->aa_model, 1 + o->effect, o->effect_users, done, p0, mde, 100 * mde / p0, plays[1] / shown[1] - p0,
	        detect, done, 100.0 * (double)detect / (double)done, 100 * lo, 100 * hi, 100 * naive, n_tracks,
	        100 * adj, deff, 100 * adj, 200 * se_pow, done, users / (2.0 * (double)done), mono_s() - t0);
	fflush(S->out);
	return 0;
}

static int study_ladder(study *S, seg_error *err)
{
	const sim_study_options *o = S->o;
	char a[EXP_CONFIG_MAX + 1], b[EXP_CONFIG_MAX + 1], il[EXP_CONFIG_MAX + 1], name[EXP_NAME_MAX + 1];
	snprintf(a, sizeof a, "model=%s", o->model_a);
	snprintf(b, sizeof b, "model=%s", o->model_b);
	snprintf(il, sizeof il, "model=interleave:%s+%s", o->model_a, o->model_b);
	const char *ab_configs[2] = {a, b}, *il_configs[1] = {il};
	size_t nl = 0;
	while (nl < sizeof o->ladder / sizeof *o->ladder && o->ladder[nl] > 0)
		nl++;
	/* Columns: A/B, interleaving's credit test (its primary), its sign test. */
	size_t smallest[3] = {0, 0, 0};
	double t0 = mono_s();
	fprintf(S->out,
	        "Interleaving against an A/B split: %s (A, control) against %s (B, treatment), %d runs per size;\n"
	        "  detected = p < 0.05 in the right direction (A/B: %s; interleaving: the credit test on B - A\n"
	        "  credited plays per listener, the primary one, and the sign test on the preference share)\n"
	        "  %8s  %14s  %14s  %14s\n",
	        o->model_a, o->model_b, o->ladder_runs, o->metric, "users", "A/B detected", "il. credit", "il. sign");
	for (size_t li = 0; li < nl; li++) {
		size_t n = o->ladder[li], hits[3] = {0, 0, 0};
		for (int r = 0; r < o->ladder_runs; r++) {
			sim_result res;
			sim_report rep;
			snprintf(name, sizeof name, "%s-ab-%zu-%d", o->prefix, n, r);
			int rc = study_one(S, name, 2, ab_configs, n, NULL, 0, &res, &rep, err);
			if (rc < 0)
				return rc;
			hits[0] += rep.p < 0.05 && rep.diff > 0;
			snprintf(name, sizeof name, "%s-il-%zu-%d", o->prefix, n, r);
			if ((rc = study_one(S, name, 1, il_configs, n, NULL, 0, &res, &rep, err)) < 0)
				return rc;
			if (!rep.has_interleaving)
				return seg_error_set(err, SEG_EFORMAT, "the report of %s has no interleaving figures",
				                     name);
			hits[1] += rep.cp < 0.05 && rep.cmean > 0;
			hits[2] += rep.ip < 0.05 && rep.share_b > 0.5;
			progress(S, "\r  %zu users: run %d/%d", n, r + 1, o->ladder_runs);
		}
		progress(S, "\n");
		for (int m = 0; m < 3; m++)
			if (5 * hits[m] >= 4 * (size_t)o->ladder_runs)
				smallest[m] = n;
		fprintf(S->out, "  %8zu  %9zu/%-4d  %9zu/%-4d  %9zu/%-4d\n", n, hits[0], o->ladder_runs, hits[1],
		        o->ladder_runs, hits[2], o->ladder_runs);
	}
	fprintf(S->out,
	        "  smallest size detected in >= 80%% of runs: A/B %s%zu, interleaving (credit) %s%zu, "
	        "interleaving (sign) %s%zu",
	        smallest[0] ? "" : "none of the sizes; above ", smallest[0] ? smallest[0] : o->ladder[0],
	        smallest[1] ? "" : "none of the sizes; above ", smallest[1] ? smallest[1] : o->ladder[0],
	        smallest[2] ? "" : "none of the sizes; above ", smallest[2] ? smallest[2] : o->ladder[0]);
	if (smallest[0] && smallest[1] && smallest[0] >= smallest[1])
		fprintf(S->out, ": interleaving (credit) needs %.1fx fewer listeners",
		        (double)smallest[0] / (double)smallest[1]);
	else if (smallest[0] && smallest[1])
		fprintf(S->out, ": interleaving (credit) needs %.1fx more listeners",
		        (double)smallest[1] / (double)smallest[0]);
	fprintf(S->out, "\n  wall time %.1f s\n", mono_s() - t0);
	fflush(S->out);
	return 0;
}

int sim_study_run(const sim_listeners *L, const sim_study_options *o, FILE *out, seg_error *err)
{
	study S = {.L = L, .o = o, .next_seed = o->sim.seed, .out = out};
	int rc = sim_http_open(o->sim.server, o->sim.token, o->sim.timeout_ms, &S.h, err);
	if (rc < 0)
		return rc;
	double t0 = mono_s();
	fprintf(out,
	        "segue simulate --study against %s, seed %" PRIu64 ", %d listener threads; click model: "
	        "e(r) = 1/(1+r)^%.2f, play liked %.2f (then skip %.2f), play other %.2f (then skip %.2f), like %.2f, "
	        "save %.2f, dislike %.2f, come back %.2f (up to %d sessions), k = %d, %d seeds\n",
	        o->sim.server, o->sim.seed, o->sim.threads, o->sim.b.eta, o->sim.b.play_liked, o->sim.b.skip_liked,
	        o->sim.b.play_other, o->sim.b.skip_other, o->sim.b.like, o->sim.b.save, o->sim.b.dislike,
	        o->sim.b.come_back, o->sim.b.max_sessions, o->sim.b.k, o->sim.b.nseeds);
	if (rc == 0 && o->aa_runs > 0)
		rc = study_aa(&S, err);
	if (rc == 0 && o->hp_users > 0)
		rc = study_hp(&S, err);
	if (rc == 0 && o->effect_runs > 0)
		rc = study_effect(&S, err);
	if (rc == 0 && o->ladder_runs > 0)
		rc = study_ladder(&S, err);
	if (rc == 0)
		fprintf(out, "study wall time %.1f s\n", mono_s() - t0);
	sim_http_close(S.h);
	return rc;
}
