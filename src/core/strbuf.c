/* strbuf.c: growable byte string (see strbuf.h). */
#include "core/strbuf.h"
#include "core/utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int grow(strbuf *sb, size_t extra)
{
	if (sb->oom)
		return -1;
	if (sb->len + extra + 1 <= sb->cap)
		return 0;
	size_t cap = sb->cap ? sb->cap : 256;
	while (cap < sb->len + extra + 1)
		cap *= 2;
	char *p = realloc(sb->data, cap);
	if (p == NULL) {
		sb->oom = 1;
		return -1;
	}
	sb->data = p;
	sb->cap = cap;
	return 0;
}

void strbuf_free(strbuf *sb)
{
	free(sb->data);
	memset(sb, 0, sizeof(*sb));
}

void strbuf_reset(strbuf *sb)
{
	sb->len = 0;
	if (sb->data)
		sb->data[0] = '\0';
}

void strbuf_append(strbuf *sb, const char *s, size_t n)
{
	if (grow(sb, n) < 0)
		return;
	memcpy(sb->data + sb->len, s, n);
	sb->len += n;
	sb->data[sb->len] = '\0';
}

void strbuf_puts(strbuf *sb, const char *s) { strbuf_append(sb, s, strlen(s)); }

void strbuf_putc(strbuf *sb, char c) { strbuf_append(sb, &c, 1); }

void strbuf_vprintf(strbuf *sb, const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0 || grow(sb, (size_t)n) < 0)
		return;
	vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap);
	sb->len += (size_t)n;
}

void strbuf_printf(strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	strbuf_vprintf(sb, fmt, ap);
	va_end(ap);
}

void strbuf_xml(strbuf *sb, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': strbuf_puts(sb, "&amp;"); break;
		case '<': strbuf_puts(sb, "&lt;"); break;
		case '>': strbuf_puts(sb, "&gt;"); break;
		case '"': strbuf_puts(sb, "&quot;"); break;
		case '\'': strbuf_puts(sb, "&#39;"); break;
		default: strbuf_putc(sb, *s);
		}
	}
}

void strbuf_json(strbuf *sb, const char *s)
{
	strbuf_putc(sb, '"');
	const unsigned char *p = (const unsigned char *)s, *run = p; /* run: bytes that go out as they are */
	while (*p) {
		unsigned c = *p;
		char esc[8];
		if (c >= 0x80) {
			size_t n = utf8_seq(p);
			if (n) {
				p += n;
				continue;
			}
			memcpy(esc, "\xef\xbf\xbd", 4); /* U+FFFD for a byte that is not UTF-8 */
		} else if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			esc[2] = '\0';
		} else if (c < 0x20) {
			if (c == '\n' || c == '\r' || c == '\t') {
				esc[0] = '\\';
				esc[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
				esc[2] = '\0';
			} else
				snprintf(esc, sizeof esc, "\\u%04x", c);
		} else {
			p++;
			continue;
		}
		strbuf_append(sb, (const char *)run, (size_t)(p - run));
		strbuf_puts(sb, esc);
		run = ++p;
	}
	strbuf_append(sb, (const char *)run, (size_t)(p - run));
	strbuf_putc(sb, '"');
}

const char *strbuf_cstr(const strbuf *sb) { return sb->data && !sb->oom ? sb->data : ""; }

char *strbuf_detach(strbuf *sb)
{
	char *p = sb->oom ? NULL : sb->data;
	if (sb->oom)
		free(sb->data);
	if (p == NULL && !sb->oom)
		p = calloc(1, 1);
	memset(sb, 0, sizeof(*sb));
	return p;
}
