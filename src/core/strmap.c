/* strmap.c: string -> int64 hash map (see strmap.h). Linear probing over a
 * power-of-two table that is kept at most 70% full; keys live in arena blocks. */
#include "core/strmap.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define ARENA_BLOCK (1u << 20)

typedef struct slot {
	const char *key; /* NULL = empty */
	uint64_t hash;
	int64_t val;
} slot;

typedef struct block {
	struct block *next;
	size_t used, cap;
	char data[];
} block;

struct strmap {
	slot *slots; /* [cap] */
	size_t cap;  /* power of two */
	size_t count;
	block *arena; /* newest first */
};

strmap *strmap_create(void)
{
	strmap *m = calloc(1, sizeof(*m));
	if (m == NULL)
		return NULL;
	m->cap = 1024;
	m->slots = calloc(m->cap, sizeof(slot));
	if (m->slots == NULL) {
		free(m);
		return NULL;
	}
	return m;
}

void strmap_free(strmap *m)
{
	if (m == NULL)
		return;
	for (block *b = m->arena, *next; b; b = next) {
		next = b->next;
		free(b);
	}
	free(m->slots);
	free(m);
}

static const char *arena_copy(strmap *m, const char *key, size_t len)
{
	block *b = m->arena;
	if (b == NULL || b->used + len + 1 > b->cap) {
		size_t cap = len + 1 > ARENA_BLOCK ? len + 1 : ARENA_BLOCK;
		b = malloc(sizeof(block) + cap);
		if (b == NULL)
			return NULL;
		b->used = 0;
		b->cap = cap;
		b->next = m->arena;
		m->arena = b;
	}
	char *p = b->data + b->used;
	memcpy(p, key, len + 1);
	b->used += len + 1;
	return p;
}

static slot *find(const strmap *m, const char *key, uint64_t h)
{
	size_t mask = m->cap - 1;
	for (size_t i = h & mask;; i = (i + 1) & mask) {
		slot *s = &m->slots[i];
		if (s->key == NULL || (s->hash == h && strcmp(s->key, key) == 0))
			return s;
	}
}

static int grow(strmap *m)
{
	size_t cap = m->cap * 2;
	slot *ns = calloc(cap, sizeof(slot));
	if (ns == NULL)
		return -1;
	for (size_t i = 0; i < m->cap; i++) {
		slot *s = &m->slots[i];
		if (s->key == NULL)
			continue;
		size_t j = s->hash & (cap - 1);
		while (ns[j].key != NULL)
			j = (j + 1) & (cap - 1);
		ns[j] = *s;
	}
	free(m->slots);
	m->slots = ns;
	m->cap = cap;
	return 0;
}

int strmap_get(const strmap *m, const char *key, int64_t *val)
{
	uint64_t h = XXH3_64bits(key, strlen(key));
	const slot *s = find(m, key, h);
	if (s->key == NULL)
		return 0;
	*val = s->val;
	return 1;
}

int strmap_put(strmap *m, const char *key, int64_t val)
{
	if ((m->count + 1) * 10 > m->cap * 7 && grow(m) < 0)
		return -1;
	size_t len = strlen(key);
	uint64_t h = XXH3_64bits(key, len);
	slot *s = find(m, key, h);
	if (s->key == NULL) {
		const char *k = arena_copy(m, key, len);
		if (k == NULL)
			return -1;
		s->key = k;
		s->hash = h;
		m->count++;
	}
	s->val = val;
	return 0;
}

size_t strmap_count(const strmap *m) { return m->count; }
