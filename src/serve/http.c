/* http.c: the server's HTTP plumbing (see internal.h): the daemon and its
 * limits on clients, the checks every request passes before its route
 * (request target length, Host, body size and type, UTF-8), the responses
 * with their security headers, and the access log. It knows no route. */
#include "serve/internal.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/progress.h"
#include "core/utf8.h"

/* ---- responses ---- */

/* The dashboard loads its script, style sheet and data from this server
 * only, writes no inline script or style attribute (styles go through the
 * CSSOM), shows charts as inline SVG or blob: images, links to Spotify, and
 * frames Spotify's embed player (open.spotify.com/embed/ only) when the
 * listener presses play. The same policy goes on every answer: on JSON it
 * forbids everything that could matter. */
static const char CSP[] = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
			  "connect-src 'self'; frame-src https://open.spotify.com/embed/; "
			  "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

static const char OOM_BODY[] = "{\"error\":\"internal\",\"detail\":\"out of memory\"}";

/* etag: NULL for an answer never to be stored (the default); else the
 * answer may be stored and is revalidated with this ETag (no-cache). */
static enum MHD_Result queue_full(struct MHD_Connection *c, req *r, unsigned status, const char *type, const void *data,
                                  size_t len, int copy, const char *allow, const char *etag, const char *www_auth)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(
		len, (void *)data, copy ? MHD_RESPMEM_MUST_COPY : MHD_RESPMEM_PERSISTENT);
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", type);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Cache-Control", etag ? "no-cache" : "no-store");
	if (etag != NULL)
		MHD_add_response_header(resp, "ETag", etag);
	MHD_add_response_header(resp, "Content-Security-Policy", CSP);
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	if (allow != NULL)
		MHD_add_response_header(resp, "Allow", allow);
	if (www_auth != NULL)
		MHD_add_response_header(resp, "WWW-Authenticate", www_auth);
	r->status = status;
	enum MHD_Result ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result queue_etag(struct MHD_Connection *c, req *r, unsigned status, const char *type, const void *data,
                                  size_t len, int copy, const char *allow, const char *etag)
{
	return queue_full(c, r, status, type, data, len, copy, allow, etag, NULL);
}

static enum MHD_Result queue(struct MHD_Connection *c, req *r, unsigned status, const char *type, const void *data,
                             size_t len, int copy, const char *allow)
{
	return queue_etag(c, r, status, type, data, len, copy, allow, NULL);
}

enum MHD_Result serve__send_etag(struct MHD_Connection *c, req *r, unsigned status, const char *type, const void *data,
                                 size_t len, int copy, const char *etag)
{
	return queue_etag(c, r, status, type, data, len, copy, NULL, etag);
}

enum MHD_Result serve__send_bytes(struct MHD_Connection *c, req *r, unsigned status, const char *type, const void *data,
                                  size_t len, int copy)
{
	return queue(c, r, status, type, data, len, copy, NULL);
}

enum MHD_Result serve__send_strbuf(struct MHD_Connection *c, req *r, unsigned status, strbuf *sb)
{
	if (sb->oom) {
		strbuf_free(sb);
		return queue(c, r, 500, "application/json", OOM_BODY, sizeof OOM_BODY - 1, 0, NULL);
	}
	enum MHD_Result ret = queue(c, r, status, "application/json", strbuf_cstr(sb), sb->len, 1, NULL);
	strbuf_free(sb);
	return ret;
}

/* j (consumed, may be NULL when building it failed) as the answer. */
static enum MHD_Result send_json_allow(struct MHD_Connection *c, req *r, unsigned status, json_t *j, const char *allow)
{
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (text == NULL)
		return queue(c, r, 500, "application/json", OOM_BODY, sizeof OOM_BODY - 1, 0, NULL);
	enum MHD_Result ret = queue(c, r, status, "application/json", text, strlen(text), 1, allow);
	free(text);
	return ret;
}

enum MHD_Result serve__send_json(struct MHD_Connection *c, req *r, unsigned status, json_t *j)
{
	return send_json_allow(c, r, status, j, NULL);
}

/* {"error", "detail"}; the detail may quote what the client sent, so bytes
 * that are not UTF-8 become U+FFFD (jansson refuses them). */
static enum MHD_Result send_error_v(struct MHD_Connection *c, req *r, unsigned status, const char *error,
                                    const char *allow, const char *fmt, va_list ap)
{
	char detail[512];
	vsnprintf(detail, sizeof detail, fmt, ap);
	strbuf tmp = {0};
	json_t *j = json_pack("{s:s,s:s}", "error", error, "detail", utf8_clean(detail, &tmp));
	strbuf_free(&tmp);
	return send_json_allow(c, r, status, j, allow);
}

enum MHD_Result serve__send_error(struct MHD_Connection *c, req *r, unsigned status, const char *error, const char *fmt,
                                  ...)
{
	va_list ap;
	va_start(ap, fmt);
	enum MHD_Result ret = send_error_v(c, r, status, error, NULL, fmt, ap);
	va_end(ap);
	return ret;
}

static enum MHD_Result send_error_allow(struct MHD_Connection *c, req *r, unsigned status, const char *error,
                                        const char *allow, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static enum MHD_Result send_error_allow(struct MHD_Connection *c, req *r, unsigned status, const char *error,
                                        const char *allow, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	enum MHD_Result ret = send_error_v(c, r, status, error, allow, fmt, ap);
	va_end(ap);
	return ret;
}

enum MHD_Result serve__send_401(struct MHD_Connection *c, req *r, const char *detail)
{
	json_t *j = json_pack("{s:s,s:s}", "error", "unauthorized", "detail", detail);
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (text == NULL)
		return queue(c, r, 500, "application/json", OOM_BODY, sizeof OOM_BODY - 1, 0, NULL);
	enum MHD_Result ret =
		queue_full(c, r, 401, "application/json", text, strlen(text), 1, NULL, NULL, "Bearer realm=\"segue\"");
	free(text);
	return ret;
}

enum MHD_Result serve__send_405(struct MHD_Connection *c, req *r, const char *path, const char *allow)
{
	return send_error_allow(c, r, 405, "method_not_allowed", allow, "%s takes %s", path, allow);
}

enum MHD_Result serve__send_seg_error(struct MHD_Connection *c, req *r, const seg_error *err)
{
	unsigned status = 500;
	const char *kind = "internal";
	switch (err->code) {
	case SEG_EINVAL:
		status = 400;
		kind = "bad_request";
		break;
	case SEG_EFORMAT:
		status = 400;
		kind = "bad_json";
		break;
	case SEG_ENOTFOUND:
		status = 404;
		kind = "not_found";
		break;
	case SEG_ENOMEM:
	case SEG_EDB:
		status = 503;
		kind = "unavailable";
		break;
	default: break;
	}
	return serve__send_error(c, r, status, kind, "%s", err->msg[0] ? err->msg : seg_strerror(err->code));
}

/* ---- checks before any route ---- */

/* Whether `name` (a Host without its port) is an IP address: an IPv4
 * dotted quad or a bracketed IPv6 address. */
static int is_ip_literal(const char *name, size_t len)
{
	char buf[64];
	unsigned char addr[16];
	if (len >= 2 && name[0] == '[' && name[len - 1] == ']' && len - 2 < sizeof buf) {
		memcpy(buf, name + 1, len - 2);
		buf[len - 2] = '\0';
		return inet_pton(AF_INET6, buf, addr) == 1;
	}
	if (len >= sizeof buf)
		return 0;
	memcpy(buf, name, len);
	buf[len] = '\0';
	return inet_pton(AF_INET, buf, addr) == 1;
}

static int name_is(const char *name, size_t len, const char *want)
{
	return strlen(want) == len && strncasecmp(name, want, len) == 0;
}

/* Whether a Host header names this server, against DNS rebinding: a page
 * elsewhere that had its own name resolve to this server's address must
 * not read the API, so a name is answered only when it is one of ours:
 * localhost, 127.0.0.1, [::1], the bound address or a name of
 * o->allow_hosts, with any port; and, bound to an address that is not
 * loopback (0.0.0.0 included, which answers on 127.0.0.1 too), also an IP
 * address (no name, so nothing to rebind) and this machine's hostname. */
static int host_allowed(const server *s, const char *host)
{
	if (host == NULL)
		return 1; /* HTTP/1.0 has no Host; without one, no name was rebound */
	static const char *const local[] = {"localhost", "127.0.0.1", "[::1]"};
	size_t len = strlen(host);
	const char *colon = strrchr(host, ':');
	if (colon != NULL && strchr(colon, ']') == NULL) {
		if (colon[1] == '\0' || strspn(colon + 1, "0123456789") != strlen(colon + 1))
			return 0;
		len = (size_t)(colon - host);
	}
	for (size_t i = 0; i < sizeof local / sizeof *local; i++)
		if (name_is(host, len, local[i]))
			return 1;
	if (name_is(host, len, s->o->bind))
		return 1;
	for (size_t i = 0; i < s->o->nallow_hosts; i++)
		if (name_is(host, len, s->o->allow_hosts[i]))
			return 1;
	if (s->loopback)
		return 0;
	return is_ip_literal(host, len) || (s->hostname[0] != '\0' && name_is(host, len, s->hostname));
}

/* Whether a Content-Type is JSON: application/json, parameters allowed. */
static int is_json_type(const char *type)
{
	if (type == NULL)
		return 0;
	size_t n = strlen("application/json");
	return strncasecmp(type, "application/json", n) == 0 && (type[n] == '\0' || type[n] == ';' || type[n] == ' ');
}

/* The first query argument (name or value) that is not UTF-8. */
typedef struct bad_arg {
	char name[64];
	int in_value;
	int found;
} bad_arg;

static enum MHD_Result check_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	(void)kind;
	bad_arg *b = cls;
	int key_ok = key == NULL || utf8_valid(key, strlen(key), NULL);
	if (key_ok && (value == NULL || utf8_valid(value, strlen(value), NULL)))
		return MHD_YES;
	strbuf tmp = {0};
	snprintf(b->name, sizeof b->name, "%s", utf8_clean(key ? key : "", &tmp));
	strbuf_free(&tmp);
	b->in_value = key_ok;
	b->found = 1;
	return MHD_NO;
}

/* ---- the request deadline ----
 *
 * libmicrohttpd's own timeout closes a connection only once it has been
 * silent for SERVE_CONN_TIMEOUT seconds: a client sending one header line
 * every few seconds would hold its connection forever. So every connection
 * is noted when it starts (on_connection), is "waiting" until its request
 * has arrived whole (on_request's last call) and again once its answer is
 * done (on_completed), and a watchdog thread shuts down the socket of any
 * connection that has been waiting for longer than the deadline;
 * libmicrohttpd then sees the connection end and closes it. The closed
 * notice takes the connection off the list under the same lock, before
 * libmicrohttpd closes the socket, so the watchdog never shuts down a
 * number that another connection has been given since. */

/* The connection's entry, or NULL (one that could not be noted is shut
 * down at once). */
static conn_watch *watch_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci = c ? MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT) : NULL;
	return ci ? ci->socket_context : NULL;
}

/* Starts (waiting = 1) or stops (0) the deadline of w's connection. */
static void watch_set(server *s, conn_watch *w, int waiting)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&s->watch_lock);
	w->waiting = waiting;
	if (waiting) {
		w->since = progress_now();
		/* A watchdog with nothing to wait for sleeps until woken. */
		if (s->watch_idle)
			pthread_cond_signal(&s->watch_wake);
	}
	pthread_mutex_unlock(&s->watch_lock);
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_ctx,
                          enum MHD_ConnectionNotificationCode toe)
{
	server *s = cls;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		conn_watch *w = calloc(1, sizeof(*w));
		if (w == NULL || ci == NULL) {
			/* Not held to the deadline, so not served at all. */
			if (ci != NULL)
				shutdown(ci->connect_fd, SHUT_RDWR);
			free(w);
			*socket_ctx = NULL;
			return;
		}
		w->fd = ci->connect_fd;
		*socket_ctx = w;
		pthread_mutex_lock(&s->watch_lock);
		w->next = s->watched;
		if (w->next != NULL)
			w->next->prev = w;
		s->watched = w;
		pthread_mutex_unlock(&s->watch_lock);
		watch_set(s, w, 1); /* the deadline runs from now */
		return;
	}
	conn_watch *w = *socket_ctx;
	if (w == NULL)
		return;
	pthread_mutex_lock(&s->watch_lock);
	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		s->watched = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	pthread_mutex_unlock(&s->watch_lock);
	free(w);
	*socket_ctx = NULL;
}

/* The watchdog: sleeps until the earliest deadline of a waiting
 * connection (or until a connection starts waiting, when none is), and
 * shuts down every connection past its deadline. */
static void *watchdog_main(void *arg)
{
	server *s = arg;
	pthread_mutex_lock(&s->watch_lock);
	while (!s->watch_stop) {
		double now = progress_now(), next = 0;
		for (conn_watch *w = s->watched; w != NULL; w = w->next) {
			if (!w->waiting)
				continue;
			double due = w->since + s->deadline;
			if (due <= now) {
				shutdown(w->fd, SHUT_RDWR);
				w->waiting = 0; /* once; the closed notice follows */
			} else if (next == 0 || due < next) {
				next = due;
			}
		}
		s->watch_idle = next == 0;
		if (s->watch_idle) {
			pthread_cond_wait(&s->watch_wake, &s->watch_lock);
		} else {
			/* watch_wake waits on CLOCK_MONOTONIC, progress_now's clock. */
			struct timespec ts;
			ts.tv_sec = (time_t)next;
			ts.tv_nsec = (long)((next - (double)ts.tv_sec) * 1e9);
			if (ts.tv_nsec > 999999999)
				ts.tv_nsec = 999999999;
			pthread_cond_timedwait(&s->watch_wake, &s->watch_lock, &ts);
		}
	}
	pthread_mutex_unlock(&s->watch_lock);
	return NULL;
}

/* Starts the watchdog (and makes its lock and condition), 0 or SEG_ENOMEM. */
static int watchdog_start(server *s, seg_error *err)
{
	pthread_condattr_t ca;
	s->deadline = s->o->request_deadline > 0 ? s->o->request_deadline : SERVE_REQUEST_DEADLINE;
	if (pthread_condattr_init(&ca) != 0)
		return seg_error_set(err, SEG_ENOMEM, "cannot start the request deadline's watchdog");
	int rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (rc == 0 && (rc = pthread_cond_init(&s->watch_wake, &ca)) == 0) {
		pthread_mutex_init(&s->watch_lock, NULL);
		if ((rc = pthread_create(&s->watchdog, NULL, watchdog_main, s)) == 0)
			s->watch_running = 1;
		else {
			pthread_mutex_destroy(&s->watch_lock);
			pthread_cond_destroy(&s->watch_wake);
		}
	}
	pthread_condattr_destroy(&ca);
	if (rc != 0)
		return seg_error_set(err, SEG_ENOMEM, "cannot start the request deadline's watchdog: %s", strerror(rc));
	return 0;
}

/* ---- the request cycle ---- */

/* Whether the well-formed n-byte character at p, n > 1, would act on a
 * terminal or a log viewer rather than show: a C1 control (U+0080-U+009F:
 * NEL, CSI...), the line and paragraph separators U+2028 and U+2029, or a
 * bidirectional control (U+061C, U+200E, U+200F, U+202A-U+202E,
 * U+2066-U+2069) that would reorder what the rest of the line shows. The
 * bytes are compared as they are encoded. */
static int log_unsafe(const unsigned char *p, size_t n)
{
	if (n == 2)
		return (p[0] == 0xC2 && p[1] <= 0x9F) || (p[0] == 0xD8 && p[1] == 0x9C);
	if (n != 3 || p[0] != 0xE2)
		return 0;
	if (p[1] == 0x80)
		return p[2] == 0x8E || p[2] == 0x8F || (p[2] >= 0xA8 && p[2] <= 0xAE);
	return p[1] == 0x81 && p[2] >= 0xA6 && p[2] <= 0xA9;
}

void serve__log_escape(strbuf *sb, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		size_t n = utf8_seq(p);
		if (n == 1 && *p >= 0x20 && *p < 0x7f && *p != '\\') {
			strbuf_putc(sb, (char)*p);
		} else if (n > 1 && log_unsafe(p, n)) {
			for (size_t i = 0; i < n; i++)
				strbuf_printf(sb, "\\x%02X", p[i]);
		} else if (n > 1) {
			strbuf_append(sb, (const char *)p, n);
		} else {
			strbuf_printf(sb, "\\x%02X", *p);
			n = 1;
		}
		p += n;
	}
}

/* s escaped into out[cap], cut at a character boundary. */
static void log_field(char *out, size_t cap, const char *s)
{
	strbuf esc = {0};
	serve__log_escape(&esc, s);
	size_t cut = esc.len < cap ? esc.len : cap - 1;
	while (cut > 0 && cut < esc.len && ((unsigned char)esc.data[cut] & 0xC0) == 0x80)
		cut--;
	memcpy(out, esc.oom ? "?" : strbuf_cstr(&esc), esc.oom ? 1 : cut);
	out[esc.oom ? 1 : cut] = '\0';
	strbuf_free(&esc);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **ctx)
{
	(void)version;
	server *s = cls;
	req *r = *ctx;
	if (r == NULL) {
		r = calloc(1, sizeof(*r));
		if (r == NULL)
			return MHD_NO;
		r->t0 = progress_now();
		r->route = R_NOTFOUND;
		/* Only a batch of events may be larger than the common limit. */
		r->max_body = strcmp(url, "/api/events") == 0 && strcmp(method, "POST") == 0 ? SERVE_MAX_EVENTS_BODY
		                                                                             : SERVE_MAX_BODY;
		log_field(r->method, sizeof r->method, method);
		log_field(r->url, sizeof r->url, url);
		*ctx = r;
		return MHD_YES;
	}
	if (*upload_size > 0) {
		/* Keep reading (and discarding) past the limit so the answer is a 413,
		 * not a reset connection. */
		if (r->body.len + *upload_size > r->max_body)
			r->too_big = 1;
		else
			strbuf_append(&r->body, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	/* The request has arrived whole: its deadline is met. */
	watch_set(s, watch_of(c), 0);
	if (strlen(url) > SERVE_MAX_URL)
		return serve__send_error(c, r, 414, "uri_too_long", "the request target is over %d bytes",
		                         SERVE_MAX_URL);
	const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
	if (!host_allowed(s, host))
		return serve__send_error(c, r, 421, "misdirected_request",
		                         "this server answers to localhost, 127.0.0.1, [::1], %s%s or a name given "
		                         "with --allow-host, not '%.80s'",
		                         s->o->bind, s->loopback ? "" : ", an IP address, this machine's hostname",
		                         host);
	if (r->too_big)
		return serve__send_error(c, r, 413, "payload_too_large", "the request body is over %zu bytes",
		                         r->max_body);
	/* A form on another site can post text/plain without asking first; a
	 * JSON body cannot be sent from there without the browser asking us. */
	if (r->body.len > 0 &&
	    !is_json_type(MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE)))
		return serve__send_error(c, r, 415, "unsupported_media_type",
		                         "a request body must be JSON, sent as Content-Type: application/json");
	size_t bad;
	if (!utf8_valid(url, strlen(url), &bad))
		return serve__send_error(c, r, 400, "bad_request",
		                         "the request path is not valid UTF-8 (byte %zu of the decoded path)", bad + 1);
	bad_arg b = {0};
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, check_arg, &b);
	if (b.found)
		return serve__send_error(c, r, 400, "bad_request", "the %s of query argument '%s' is not valid UTF-8",
		                         b.in_value ? "value" : "name", b.name);
	return serve__dispatch(s, c, r, url, method);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **ctx, enum MHD_RequestTerminationCode toe)
{
	server *s = cls;
	/* A kept-alive connection has the deadline again for its next request. */
	if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
		watch_set(s, watch_of(c), 1);
	req *r = *ctx;
	if (r == NULL)
		return;
	double secs = progress_now() - r->t0;
	serve__metrics_record(s, r, secs);
	if (s->o->access_log) {
		char stamp[32];
		time_t now = time(NULL);
		struct tm tm;
		strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
		pthread_mutex_lock(&s->lock);
		fprintf(s->o->access_log, "%s %s %s %u %.3fms %zu\n", stamp, r->method, r->url, r->status, secs * 1e3,
		        r->body.len);
		fflush(s->o->access_log);
		pthread_mutex_unlock(&s->lock);
	}
	strbuf_free(&r->body);
	free(r);
	*ctx = NULL;
}

/* Oversized request lines come through here: MHD cannot parse them. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	(void)cls;
	(void)uri;
	(void)c;
	return NULL;
}

int serve__daemon_start(server *s, struct MHD_Daemon **dp, int *port, seg_error *err)
{
	*dp = NULL;
	const serve_options *o = s->o;
	struct sockaddr_in addr;
	memset(&addr, 0, sizeof addr);
	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)o->port);
	if (inet_pton(AF_INET, o->bind, &addr.sin_addr) != 1)
		return seg_error_set(err, SEG_EINVAL, "--bind '%s' is not an IPv4 address", o->bind);
	s->loopback = (ntohl(addr.sin_addr.s_addr) >> 24) == 127;
	if (gethostname(s->hostname, sizeof s->hostname) != 0)
		s->hostname[0] = '\0';
	s->hostname[sizeof s->hostname - 1] = '\0';
	/* Limits, so that no client can starve the others (serve.h): the
	 * request deadline (the watchdog), SERVE_CONN_TIMEOUT seconds without a
	 * byte, SERVE_MAX_CONNS connections, and SERVE_MAX_PER_IP from one
	 * address where addresses tell clients apart (not on loopback). */
	int rc = watchdog_start(s, err);
	if (rc < 0)
		return rc;
	unsigned per_ip = s->loopback ? SERVE_MAX_CONNS : SERVE_MAX_PER_IP;
	struct MHD_Daemon *d = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG, (uint16_t)o->port, NULL, NULL,
		on_request, s, MHD_OPTION_SOCK_ADDR, &addr, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)o->threads,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)SERVE_CONN_TIMEOUT, MHD_OPTION_CONNECTION_LIMIT,
		(unsigned)SERVE_MAX_CONNS, MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(SERVE_MAX_URL + 8192), MHD_OPTION_URI_LOG_CALLBACK, on_uri,
		s, MHD_OPTION_END);
	if (d == NULL)
		return seg_error_set(err, SEG_EIO, "cannot listen on %s:%d (in use, or not allowed)", o->bind, o->port);
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	*port = info ? info->port : o->port;
	*dp = d;
	return 0;
}

void serve__daemon_stop(server *s, struct MHD_Daemon *d)
{
	/* Every connection's closed notice comes before MHD_stop_daemon
	 * returns, so the watchdog's list is empty after it. */
	if (d != NULL)
		MHD_stop_daemon(d);
	if (!s->watch_running)
		return;
	pthread_mutex_lock(&s->watch_lock);
	s->watch_stop = 1;
	pthread_cond_signal(&s->watch_wake);
	pthread_mutex_unlock(&s->watch_lock);
	pthread_join(s->watchdog, NULL);
	s->watch_running = 0;
	pthread_mutex_destroy(&s->watch_lock);
	pthread_cond_destroy(&s->watch_wake);
}
