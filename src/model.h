/* model.h: segue's versioned model artifact: one file of named sections
 * (float matrices, id arrays, JSON metadata, opaque blobs such as an XGBoost
 * model), with a magic number, a format version and an XXH64 checksum. It is
 * mapped into memory read-only, so several server processes share one copy.
 * It knows nothing of what the sections mean. */
#ifndef SEGUE_MODEL_H
#define SEGUE_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define MODEL_MAGIC "SEGMODEL"
#define MODEL_VERSION 1
#define MODEL_NAME_MAX 32   /* section name bytes, NUL included */
#define MODEL_ALIGN 64      /* every section starts on this boundary */

/* ---- writing ---- */

typedef struct model_writer model_writer;

model_writer *model_writer_create(void);
/* Adds a section; the bytes are copied. Names are unique, < MODEL_NAME_MAX. */
int model_writer_add(model_writer *w, const char *name, const void *data, size_t size, seg_error *err);
/* Writes the file atomically (temporary file, fsync, rename). */
int model_writer_save(model_writer *w, const char *path, seg_error *err);
void model_writer_free(model_writer *w);

/* ---- reading ---- */

typedef struct model_file model_file;

/* Maps `path` and checks magic, version, layout and checksum; a file that
 * fails any is refused with a message naming what is wrong. */
int model_file_open(model_file **out, const char *path, seg_error *err);
void model_file_close(model_file *m);

/* Finds a section: returns its bytes (64-byte aligned, read-only) and size,
 * or NULL when absent. */
const void *model_file_section(const model_file *m, const char *name, size_t *size);
/* Like model_file_section, but absent or of the wrong size is an error. */
int model_file_require(const model_file *m, const char *name, size_t size, const void **data, seg_error *err);
size_t model_file_count(const model_file *m);
const char *model_file_name_at(const model_file *m, size_t i);

#endif
