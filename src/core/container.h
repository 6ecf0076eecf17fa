/* container.h: segue's versioned file container: one file of named sections
 * (float matrices, id arrays, JSON metadata, opaque blobs such as an XGBoost
 * model), with a magic number, a format version and an XXH64 checksum. Every
 * binary file segue writes is one (models, the feature snapshot, the names
 * file, the EDA cache). It is mapped into memory read-only, so several server
 * processes share one copy. It also replaces any file atomically
 * (container_write_atomic). It knows nothing of what the sections mean, nor
 * where files live (that is workspace.h's). */
#ifndef SEGUE_CONTAINER_H
#define SEGUE_CONTAINER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/error.h"

#define CONTAINER_MAGIC "SEGMODEL"
#define CONTAINER_VERSION 1
#define CONTAINER_NAME_MAX 32 /* section name bytes, NUL included */
#define CONTAINER_ALIGN 64    /* every section starts on this boundary */

/* ---- writing ---- */

typedef struct container_writer container_writer;

container_writer *container_writer_create(void);
/* Adds a section; the bytes are copied. Names are unique, < CONTAINER_NAME_MAX. */
int container_writer_add(container_writer *w, const char *name, const void *data, size_t size, seg_error *err);
/* The same without the copy: `data` must stay valid and unchanged until
 * container_writer_save has returned (or the writer is freed). For large
 * sections that live on anyway: a model's arrays are not held twice. */
int container_writer_borrow(container_writer *w, const char *name, const void *data, size_t size, seg_error *err);
/* Writes the file through container_write_atomic, and fails as it does:
 * `path` is untouched unless only the final directory fsync failed. */
int container_writer_save(container_writer *w, const char *path, seg_error *err);
void container_writer_free(container_writer *w);

/* ---- replacing any file atomically ---- */

/* Replaces `path` through atomicfile.h: a temporary file of its own beside
 * it ("PATH.tmp.XXXXXX", created new, never through an existing name or
 * link), which `fill` writes through `f` (returning 0, or -1 with errno
 * set); then the file is fsynced, renamed over `path` and the directory
 * fsynced. A reader sees the old file or the new one, whole; a crash leaves
 * at worst the temporary beside it (the workspace removes those under its
 * lock). The file's mode is what fopen would give (0666 less the umask,
 * applied by the kernel; the process umask is never changed). Returns 0, or
 * a negative code with err saying what failed:
 *   - SEG_EINVAL / SEG_ENOMEM / SEG_EIO before the rename (the temporary
 *     cannot be made, `fill` or a write or the file's fsync failed, or the
 *     rename itself): the temporary is removed and `path` is untouched;
 *   - SEG_EIO when only the directory's fsync after the rename failed:
 *     `path` IS the new file, but the rename may be lost in a crash. */
int container_write_atomic(const char *path, int (*fill)(FILE *f, void *arg), void *arg, seg_error *err);

/* ---- reading ---- */

typedef struct container_file container_file;

/* Maps `path` and checks magic, version, layout and checksum; a file that
 * fails any is refused with a message naming what is wrong. */
int container_file_open(container_file **out, const char *path, seg_error *err);
void container_file_close(container_file *m);

/* Finds a section: returns its bytes (64-byte aligned, read-only) and size,
 * or NULL when absent. */
const void *container_file_section(const container_file *m, const char *name, size_t *size);
/* Like container_file_section, but absent or of the wrong size is an error. */
int container_file_require(const container_file *m, const char *name, size_t size, const void **data, seg_error *err);
size_t container_file_count(const container_file *m);
const char *container_file_name_at(const container_file *m, size_t i);

#endif
