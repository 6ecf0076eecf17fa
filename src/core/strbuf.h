/* strbuf.h: a growable byte string for building output (HTML, SVG, JSON, SQL).
 * It does not do formatting of its own beyond printf and escaping helpers. */
#ifndef SEGUE_STRBUF_H
#define SEGUE_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

/* Plain struct; zero-initialise (`strbuf sb = {0};`) and release with strbuf_free.
 * After an allocation failure `oom` is set and further appends are no-ops, so a
 * builder can check once at the end. `data` is always NUL-terminated when len > 0. */
typedef struct strbuf {
	char *data; /* bytes, NUL-terminated, or NULL while empty */
	size_t len; /* bytes used, excluding the NUL */
	size_t cap; /* bytes allocated */
	int oom;    /* 1 after any failed allocation */
} strbuf;

void strbuf_free(strbuf *sb);  /* releases memory; sb becomes empty */
void strbuf_reset(strbuf *sb); /* len = 0, keeps memory */
void strbuf_append(strbuf *sb, const char *s, size_t n);
void strbuf_puts(strbuf *sb, const char *s);
void strbuf_putc(strbuf *sb, char c);
void strbuf_printf(strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void strbuf_vprintf(strbuf *sb, const char *fmt, va_list ap);
/* Appends `s` escaped for HTML/XML text and attribute values (& < > " '). */
void strbuf_xml(strbuf *sb, const char *s);
/* Appends `s` as a JSON string literal, quotes included; a byte that is not
 * part of well-formed UTF-8 becomes U+FFFD, so the output is always valid. */
void strbuf_json(strbuf *sb, const char *s);
/* Returns the string (never NULL: "" when empty). */
const char *strbuf_cstr(const strbuf *sb);
/* Hands the buffer to the caller (who frees it) and leaves sb empty; NULL on oom. */
char *strbuf_detach(strbuf *sb);

#endif
