/* bytesrc.h: a byte stream over a plain file, a zstd-compressed file (detected
 * by its magic number, whatever its name) or a memory buffer. It does no
 * parsing; csv.c and playlist.c read through it. */
#ifndef SEGUE_BYTESRC_H
#define SEGUE_BYTESRC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/error.h"

typedef struct bytesrc bytesrc;

/* Opens `path` ("-" is standard input). On error returns a negative code,
 * fills err and sets *out to NULL. */
int bytesrc_open(bytesrc **out, const char *path, seg_error *err);

/* Reads from `len` bytes at `buf`, which must outlive the source (not copied).
 * zstd frames in memory are decompressed too. */
int bytesrc_open_mem(bytesrc **out, const void *buf, size_t len, seg_error *err);

/* Reads up to `cap` bytes into buf. Returns the number read (fewer than cap
 * does not mean the end), 0 at the end (and for cap 0, which reads nothing),
 * or a negative code with err filled: SEG_EIO for a read error, SEG_EFORMAT
 * for zstd data that is damaged, cut short or followed by other bytes. */
ssize_t bytesrc_read(bytesrc *s, void *buf, size_t cap, seg_error *err);

/* Bytes of the underlying (possibly compressed) input consumed so far, and its
 * total size (0 when unknown, e.g. a pipe): together they drive progress bars. */
uint64_t bytesrc_consumed(const bytesrc *s);
uint64_t bytesrc_size(const bytesrc *s);

/* 1 when the input is zstd-compressed. */
int bytesrc_is_zstd(const bytesrc *s);

/* Closes the file and frees everything; NULL is a no-op. */
void bytesrc_close(bytesrc *s);

#endif
