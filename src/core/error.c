/* error.c: error codes and messages (see error.h). */
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *seg_strerror(int code)
{
	switch (code) {
	case SEG_OK: return "success";
	case SEG_ENOMEM: return "out of memory";
	case SEG_EIO: return "input/output error";
	case SEG_EINVAL: return "invalid argument";
	case SEG_EFORMAT: return "bad format";
	case SEG_ENOTFOUND: return "not found";
	case SEG_EDB: return "database error";
	case SEG_EVERSION: return "unsupported format version";
	case SEG_ECHECKSUM: return "checksum mismatch";
	case SEG_EREADONLY: return "read-only";
	case SEG_ESTALE: return "out of date";
	default: return "unknown error";
	}
}

int seg_error_set(seg_error *err, int code, const char *fmt, ...)
{
	if (err == NULL)
		return code;
	memset(err, 0, sizeof(*err));
	err->code = code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

void seg_error_at(seg_error *err, const char *file, long line, int column)
{
	if (err == NULL)
		return;
	snprintf(err->file, sizeof(err->file), "%s", file ? file : "");
	err->line = line;
	err->column = column;
}

void seg_error_clear(seg_error *err)
{
	if (err != NULL)
		memset(err, 0, sizeof(*err));
}

void seg_error_format(const seg_error *err, char *buf, size_t cap)
{
	size_t n = 0;
	if (cap == 0)
		return;
	buf[0] = '\0';
	if (err->file[0])
		n += snprintf(buf + n, cap - n, "%s:", err->file);
	if (n < cap && err->line > 0)
		n += snprintf(buf + n, cap - n, "%ld:", err->line);
	if (n < cap && err->column > 0)
		n += snprintf(buf + n, cap - n, "%d:", err->column);
	if (n < cap)
		snprintf(buf + n, cap - n, "%s%s", n ? " " : "", err->msg[0] ? err->msg : seg_strerror(err->code));
}
