/* utf8.h: the one UTF-8 check of segue (RFC 3629: no overlong forms, no
 * surrogates, nothing past U+10FFFF), and the repair that turns any byte
 * that is not part of a well-formed character into U+FFFD. It does not
 * normalise, fold case or count display width. Every function is pure and
 * thread-safe. */
#ifndef SEGUE_UTF8_H
#define SEGUE_UTF8_H

#include <stddef.h>

#include "core/strbuf.h"

/* Length (1 to 4) of the well-formed character that starts at p, or 0 when
 * the bytes at p do not start one. An ASCII byte, NUL included, is 1. Reads
 * no further than the first byte that breaks the sequence, so a string that
 * ends (NUL) inside a sequence is read safely. */
size_t utf8_seq(const unsigned char *p);

/* 1 when the n bytes at s are well-formed UTF-8 with no NUL among them, else
 * 0; *bad (may be NULL) receives the offset of the first offending byte. */
int utf8_valid(const char *s, size_t n, size_t *bad);

/* Returns s when the NUL-terminated s is well-formed (NULL gives ""), else
 * a copy in tmp (reset first) with every byte that breaks a sequence
 * replaced by U+FFFD. The result lives as long as s or tmp. */
const char *utf8_clean(const char *s, strbuf *tmp);

#endif
