/* bytesrc.c: plain, zstd and memory byte sources (see bytesrc.h). */
#include "core/bytesrc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#define RAW_CAP (1u << 20) /* compressed bytes read from the file at a time */

struct bytesrc {
	int fd;             /* file descriptor, or -1 for memory */
	int owns_fd;        /* close fd on close (not for stdin) */
	const uint8_t *mem; /* memory input, or NULL */
	size_t mem_len;     /* bytes at mem */
	uint64_t consumed;  /* input bytes consumed (compressed for zstd) */
	uint64_t size;      /* input size, 0 when unknown */
	ZSTD_DCtx *zd;      /* decompression context when zstd, else NULL */
	uint8_t *raw;       /* compressed staging buffer [RAW_CAP] (file input) */
	ZSTD_inBuffer in;   /* unread compressed bytes */
	int eof;            /* underlying input exhausted */
	size_t zhint;       /* last ZSTD_decompressStream result: 0 = a frame just ended */
	char name[256];     /* for messages */
};

static const uint8_t ZSTD_MAGIC_BYTES[4] = {0x28, 0xB5, 0x2F, 0xFD};

/* Reads raw bytes from the underlying file or memory. */
static ssize_t raw_read(bytesrc *s, void *buf, size_t cap, seg_error *err)
{
	if (s->mem != NULL) {
		size_t n = s->mem_len - s->consumed;
		if (n > cap)
			n = cap;
		memcpy(buf, s->mem + s->consumed, n);
		s->consumed += n;
		return (ssize_t)n;
	}
	for (;;) {
		ssize_t n = read(s->fd, buf, cap);
		if (n >= 0) {
			s->consumed += (uint64_t)n;
			return n;
		}
		if (errno != EINTR)
			return seg_error_set(err, SEG_EIO, "cannot read %s: %s", s->name, strerror(errno));
	}
}

/* Looks at the first bytes to decide whether the input is zstd; for files the
 * peeked bytes stay in the staging buffer, so nothing is read twice. */
static int sniff(bytesrc *s, seg_error *err)
{
	if (s->mem != NULL) {
		if (s->mem_len >= 4 && memcmp(s->mem, ZSTD_MAGIC_BYTES, 4) == 0) {
			s->zd = ZSTD_createDCtx();
			if (s->zd == NULL)
				return seg_error_set(err, SEG_ENOMEM, "out of memory");
			s->in.src = s->mem;
			s->in.size = s->mem_len;
			s->in.pos = 0;
			s->consumed = s->mem_len;
		}
		return 0;
	}
	s->raw = malloc(RAW_CAP);
	if (s->raw == NULL)
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	size_t have = 0;
	while (have < 4) {
		ssize_t n = raw_read(s, s->raw + have, RAW_CAP - have, err);
		if (n < 0)
			return (int)n;
		if (n == 0) {
			s->eof = 1;
			break;
		}
		have += (size_t)n;
	}
	s->in.src = s->raw;
	s->in.size = have;
	s->in.pos = 0;
	if (have >= 4 && memcmp(s->raw, ZSTD_MAGIC_BYTES, 4) == 0) {
		s->zd = ZSTD_createDCtx();
		if (s->zd == NULL)
			return seg_error_set(err, SEG_ENOMEM, "out of memory");
	}
	return 0;
}

static bytesrc *alloc_src(const char *name)
{
	bytesrc *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->fd = -1;
	snprintf(s->name, sizeof(s->name), "%s", name);
	return s;
}

int bytesrc_open(bytesrc **out, const char *path, seg_error *err)
{
	*out = NULL;
	bytesrc *s = alloc_src(path);
	if (s == NULL)
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	int rc;
	if (strcmp(path, "-") == 0) {
		s->fd = 0;
	} else {
		s->fd = open(path, O_RDONLY | O_CLOEXEC);
		if (s->fd < 0) {
			rc = seg_error_set(err, errno == ENOENT ? SEG_ENOTFOUND : SEG_EIO, "cannot open %s: %s", path,
			                   strerror(errno));
			goto fail;
		}
		s->owns_fd = 1;
		struct stat st;
		if (fstat(s->fd, &st) == 0 && S_ISREG(st.st_mode))
			s->size = (uint64_t)st.st_size;
		else if (fstat(s->fd, &st) == 0 && S_ISDIR(st.st_mode)) {
			rc = seg_error_set(err, SEG_EINVAL, "%s is a directory, not a file", path);
			goto fail;
		}
		posix_fadvise(s->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	}
	if ((rc = sniff(s, err)) < 0)
		goto fail;
	*out = s;
	return 0;
fail:
	bytesrc_close(s);
	return rc;
}

int bytesrc_open_mem(bytesrc **out, const void *buf, size_t len, seg_error *err)
{
	*out = NULL;
	bytesrc *s = alloc_src("(memory)");
	if (s == NULL)
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	s->mem = buf ? buf : (const void *)"";
	s->mem_len = buf ? len : 0;
	s->size = s->mem_len;
	int rc = sniff(s, err);
	if (rc < 0) {
		bytesrc_close(s);
		return rc;
	}
	*out = s;
	return 0;
}

ssize_t bytesrc_read(bytesrc *s, void *buf, size_t cap, seg_error *err)
{
	if (cap == 0)
		return 0; /* zstd would make no output and take that for a cut frame */
	if (s->zd == NULL) {
		/* Plain: first hand out whatever sniff() staged. */
		if (s->in.pos < s->in.size) {
			size_t n = s->in.size - s->in.pos;
			if (n > cap)
				n = cap;
			memcpy(buf, (const uint8_t *)s->in.src + s->in.pos, n);
			s->in.pos += n;
			return (ssize_t)n;
		}
		if (s->eof)
			return 0;
		return raw_read(s, buf, cap, err);
	}
	ZSTD_outBuffer outb = {buf, cap, 0};
	while (outb.pos == 0) {
		if (s->in.pos == s->in.size && s->mem == NULL && !s->eof) {
			ssize_t n = raw_read(s, s->raw, RAW_CAP, err);
			if (n < 0)
				return n;
			if (n == 0) {
				s->eof = 1;
			} else {
				s->in.src = s->raw;
				s->in.size = (size_t)n;
				s->in.pos = 0;
			}
		}
		int drained = s->in.pos == s->in.size; /* and no more input will come */
		if (drained && s->zhint == 0)
			return 0; /* every frame decoded and flushed */
		size_t r = ZSTD_decompressStream(s->zd, &outb, &s->in);
		if (ZSTD_isError(r))
			return seg_error_set(err, SEG_EFORMAT, "%s: corrupt zstd data: %s", s->name,
			                     ZSTD_getErrorName(r));
		s->zhint = r;
		/* Input ended inside a frame: the file was cut short. */
		if (drained && outb.pos == 0)
			return seg_error_set(err, SEG_EFORMAT, "%s: zstd data is truncated", s->name);
	}
	return (ssize_t)outb.pos;
}

uint64_t bytesrc_consumed(const bytesrc *s)
{
	/* Bytes staged in `in` have been read from the input but not yet used. */
	return s->consumed - (s->in.size - s->in.pos);
}

uint64_t bytesrc_size(const bytesrc *s) { return s->size; }

int bytesrc_is_zstd(const bytesrc *s) { return s->zd != NULL; }

void bytesrc_close(bytesrc *s)
{
	if (s == NULL)
		return;
	if (s->owns_fd && s->fd >= 0)
		close(s->fd);
	ZSTD_freeDCtx(s->zd);
	free(s->raw);
	free(s);
}
