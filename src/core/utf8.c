/* utf8.c: well-formed UTF-8 (see utf8.h). */
#include "core/utf8.h"

#include <string.h>

size_t utf8_seq(const unsigned char *p)
{
	unsigned c = p[0];
	unsigned lo = 0x80, hi = 0xbf; /* the range allowed for the second byte */
	size_t n;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		lo = c == 0xe0 ? 0xa0 : 0x80; /* no overlong three-byte form */
		hi = c == 0xed ? 0x9f : 0xbf; /* no surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		lo = c == 0xf0 ? 0x90 : 0x80; /* no overlong four-byte form */
		hi = c == 0xf4 ? 0x8f : 0xbf; /* nothing past U+10FFFF */
	} else
		return 0; /* a continuation byte, C0/C1 (always overlong) or F5..FF */
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

int utf8_valid(const char *s, size_t n, size_t *bad)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	while (i < n) {
		/* Near the end the bytes are copied after NUL padding, so that a
		 * sequence the buffer cuts short reads as broken, and nothing past
		 * s + n is read. */
		unsigned char tail[4] = {0};
		const unsigned char *at = p + i;
		if (n - i < sizeof tail) {
			memcpy(tail, at, n - i);
			at = tail;
		}
		size_t k = at[0] == 0 ? 0 : utf8_seq(at);
		if (k == 0) {
			if (bad)
				*bad = i;
			return 0;
		}
		i += k;
	}
	return 1;
}

const char *utf8_clean(const char *s, strbuf *tmp)
{
	if (s == NULL)
		return "";
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		size_t k = utf8_seq(p);
		if (k == 0)
			break;
		p += k;
	}
	if (*p == '\0')
		return s;
	strbuf_reset(tmp);
	for (p = (const unsigned char *)s; *p;) {
		size_t k = utf8_seq(p);
		if (k == 0) {
			strbuf_puts(tmp, "\xEF\xBF\xBD");
			p++;
		} else {
			strbuf_append(tmp, (const char *)p, k);
			p += k;
		}
	}
	return strbuf_cstr(tmp);
}
