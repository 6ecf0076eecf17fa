/* container.c: the sectioned, checksummed file container (see container.h).
 *
 * Layout (little-endian):
 *   header   magic[8] version:u32 nsections:u32 file_size:u64 checksum:u64 pad[32]
 *   table    nsections × { name[32] offset:u64 size:u64 pad[16] }   (64 bytes each)
 *   sections each at a CONTAINER_ALIGN boundary
 * checksum = XXH64 of every byte after the header. */
#include "core/container.h"

#include "core/array.h"
#include "core/atomicfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

typedef struct model_header {
	char magic[8];
	uint32_t version;
	uint32_t nsections;
	uint64_t file_size;
	uint64_t checksum;
	uint8_t pad[32];
} model_header;

typedef struct model_entry {
	char name[CONTAINER_NAME_MAX];
	uint64_t offset;
	uint64_t size;
	uint8_t pad[16];
} model_entry;

_Static_assert(sizeof(model_header) == 64, "model header is 64 bytes");
_Static_assert(sizeof(model_entry) == 64, "model table entry is 64 bytes");

typedef struct section {
	char name[CONTAINER_NAME_MAX];
	void *data;
	size_t size;
	int owned; /* data is the writer's copy (container_writer_add), freed with it */
} section;

struct container_writer {
	section *s; /* [n] */
	size_t n, cap;
};

static size_t align_up(size_t x) { return (x + CONTAINER_ALIGN - 1) & ~(size_t)(CONTAINER_ALIGN - 1); }

container_writer *container_writer_create(void) { return calloc(1, sizeof(container_writer)); }

void container_writer_free(container_writer *w)
{
	if (w == NULL)
		return;
	for (size_t i = 0; i < w->n; i++)
		if (w->s[i].owned)
			free(w->s[i].data);
	free(w->s);
	free(w);
}

/* Adds a section of `size` bytes at `data`, copied (copy) or borrowed. */
static int add_section(container_writer *w, const char *name, const void *data, size_t size, int copy, seg_error *err)
{
	if (strlen(name) >= CONTAINER_NAME_MAX)
		return seg_error_set(err, SEG_EINVAL, "section name '%s' is too long", name);
	for (size_t i = 0; i < w->n; i++)
		if (strcmp(w->s[i].name, name) == 0)
			return seg_error_set(err, SEG_EINVAL, "section '%s' added twice", name);
	section *ns = array_grow(w->s, &w->cap, w->n + 1, sizeof(section), 16);
	if (ns == NULL)
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	w->s = ns;
	section *s = &w->s[w->n];
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof s->name, "%s", name);
	if (copy) {
		s->data = malloc(size ? size : 1);
		if (s->data == NULL)
			return seg_error_set(err, SEG_ENOMEM, "out of memory for section '%s' (%zu bytes)", name, size);
		if (size)
			memcpy(s->data, data, size);
		s->owned = 1;
	} else {
		s->data = (void *)(uintptr_t)data; /* only read, by container_writer_save */
	}
	s->size = size;
	w->n++;
	return 0;
}

int container_writer_add(container_writer *w, const char *name, const void *data, size_t size, seg_error *err)
{
	return add_section(w, name, data, size, 1, err);
}

int container_writer_borrow(container_writer *w, const char *name, const void *data, size_t size, seg_error *err)
{
	return add_section(w, name, data, size, 0, err);
}

int container_write_atomic(const char *path, int (*fill)(FILE *f, void *arg), void *arg, seg_error *err)
{
	atomicfile *a;
	int rc = atomicfile_open(&a, path, err);
	if (rc < 0)
		return rc;
	errno = 0;
	if (fill(atomicfile_stream(a), arg) != 0) {
		rc = seg_error_set(err, SEG_EIO, "cannot write %s: %s", atomicfile_temp_path(a),
		                   strerror(errno ? errno : EIO));
		atomicfile_abort(a);
		return rc;
	}
	return atomicfile_commit(a, err);
}

/* What container_writer_save hands container_write_atomic: the laid-out file. */
typedef struct save_plan {
	const container_writer *w;
	const model_header *h;
	const model_entry *entries; /* [w->n] */
	size_t table;               /* bytes of header and table */
} save_plan;

static int save_fill(FILE *f, void *arg)
{
	static const uint8_t zeros[CONTAINER_ALIGN];
	const save_plan *p = arg;
	const container_writer *w = p->w;
	int ok = fwrite(p->h, sizeof *p->h, 1, f) == 1 && fwrite(p->entries, sizeof(model_entry), w->n, f) == w->n;
	size_t pos = p->table;
	for (size_t i = 0; ok && i < w->n; i++) {
		ok = fwrite(zeros, 1, p->entries[i].offset - pos, f) == p->entries[i].offset - pos &&
		     fwrite(w->s[i].data, 1, w->s[i].size, f) == w->s[i].size;
		pos = p->entries[i].offset + w->s[i].size;
	}
	ok = ok && fwrite(zeros, 1, p->h->file_size - pos, f) == p->h->file_size - pos;
	return ok ? 0 : -1;
}

int container_writer_save(container_writer *w, const char *path, seg_error *err)
{
	static const uint8_t zeros[CONTAINER_ALIGN];
	size_t table = sizeof(model_header) + w->n * sizeof(model_entry);
	model_entry *entries = calloc(w->n ? w->n : 1, sizeof(model_entry));
	if (entries == NULL)
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	size_t off = align_up(table);
	for (size_t i = 0; i < w->n; i++) {
		memcpy(entries[i].name, w->s[i].name, CONTAINER_NAME_MAX);
		entries[i].offset = off;
		entries[i].size = w->s[i].size;
		off = align_up(off + w->s[i].size);
	}
	model_header h;
	memset(&h, 0, sizeof h);
	memcpy(h.magic, CONTAINER_MAGIC, 8);
	h.version = CONTAINER_VERSION;
	h.nsections = (uint32_t)w->n;
	h.file_size = off;
	/* The checksum covers the table, padding and sections, in file order. */
	XXH64_state_t *st = XXH64_createState();
	if (st == NULL) {
		free(entries);
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	}
	XXH64_reset(st, 0);
	XXH64_update(st, entries, w->n * sizeof(model_entry));
	size_t pos = table;
	for (size_t i = 0; i < w->n; i++) {
		XXH64_update(st, zeros, entries[i].offset - pos);
		XXH64_update(st, w->s[i].data, w->s[i].size);
		pos = entries[i].offset + w->s[i].size;
	}
	XXH64_update(st, zeros, off - pos);
	h.checksum = XXH64_digest(st);
	XXH64_freeState(st);
	save_plan plan = {.w = w, .h = &h, .entries = entries, .table = table};
	int rc = container_write_atomic(path, save_fill, &plan, err);
	free(entries);
	return rc;
}

struct container_file {
	void *map;
	size_t size;
	const model_header *h;
	const model_entry *e; /* [nsections] */
};

int container_file_open(container_file **out, const char *path, seg_error *err)
{
	*out = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return seg_error_set(err, errno == ENOENT ? SEG_ENOTFOUND : SEG_EIO, "cannot open %s: %s", path,
		                     strerror(errno));
	struct stat st;
	if (fstat(fd, &st) < 0 || st.st_size < (off_t)sizeof(model_header)) {
		close(fd);
		return seg_error_set(err, SEG_EFORMAT, "%s is too short to be a segue container file", path);
	}
	size_t size = (size_t)st.st_size;
	void *map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return seg_error_set(err, SEG_EIO, "cannot map %s: %s", path, strerror(errno));
	const model_header *h = map;
	int rc = 0;
	if (memcmp(h->magic, CONTAINER_MAGIC, 8) != 0)
		rc = seg_error_set(err, SEG_EFORMAT, "%s is not a segue container file (bad magic)", path);
	else if (h->version != CONTAINER_VERSION)
		rc = seg_error_set(err, SEG_EVERSION, "%s has container format version %u; this segue reads version %d",
		                   path, h->version, CONTAINER_VERSION);
	else if (h->file_size != size || sizeof(model_header) + (size_t)h->nsections * sizeof(model_entry) > size)
		rc = seg_error_set(err, SEG_EFORMAT, "%s is truncated (%zu bytes, header says %llu)", path, size,
		                   (unsigned long long)h->file_size);
	else if (XXH64((const char *)map + sizeof(model_header), size - sizeof(model_header), 0) != h->checksum)
		rc = seg_error_set(err, SEG_ECHECKSUM, "%s is corrupt: checksum mismatch", path);
	const model_entry *e = (const model_entry *)((const char *)map + sizeof(model_header));
	for (uint32_t i = 0; rc == 0 && i < h->nsections; i++)
		if (e[i].offset > size || e[i].size > size - e[i].offset || e[i].offset % CONTAINER_ALIGN != 0 ||
		    e[i].name[CONTAINER_NAME_MAX - 1] != '\0')
			rc = seg_error_set(err, SEG_EFORMAT, "%s: section %u lies outside the file", path, i);
	if (rc < 0) {
		munmap(map, size);
		return rc;
	}
	container_file *m = calloc(1, sizeof(*m));
	if (m == NULL) {
		munmap(map, size);
		return seg_error_set(err, SEG_ENOMEM, "out of memory");
	}
	m->map = map;
	m->size = size;
	m->h = h;
	m->e = e;
	*out = m;
	return 0;
}

void container_file_close(container_file *m)
{
	if (m == NULL)
		return;
	munmap(m->map, m->size);
	free(m);
}

const void *container_file_section(const container_file *m, const char *name, size_t *size)
{
	for (uint32_t i = 0; i < m->h->nsections; i++)
		if (strcmp(m->e[i].name, name) == 0) {
			if (size)
				*size = (size_t)m->e[i].size;
			return (const char *)m->map + m->e[i].offset;
		}
	return NULL;
}

int container_file_require(const container_file *m, const char *name, size_t size, const void **data, seg_error *err)
{
	size_t got;
	const void *p = container_file_section(m, name, &got);
	if (p == NULL)
		return seg_error_set(err, SEG_EFORMAT, "the file has no '%s' section", name);
	if (got != size)
		return seg_error_set(err, SEG_EFORMAT, "section '%s' has %zu bytes, expected %zu", name, got, size);
	*data = p;
	return 0;
}

size_t container_file_count(const container_file *m) { return m->h->nsections; }
const char *container_file_name_at(const container_file *m, size_t i) { return m->e[i].name; }
