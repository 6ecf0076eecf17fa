/* strmap.c: string -> int64 hash map (see strmap.h). Linear probing over a
 * power-of-two table kept at most 70% full (hashslots.h); keys live in
 * arena blocks. */
#include "core/strmap.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "core/hashslots.h"

#define ARENA_BLOCK (1u << 20)

typedef struct slot {
	uint64_t hash;   /* 0 = empty (the low bit of a key's is set); hashslots reads it here */
	const char *key; /* in the arena */
	int64_t val;
} slot;

typedef struct block {
	struct block *next;
	size_t used, cap;
	char data[];
} block;

struct strmap {
	hashslots t;
	block *arena; /* newest first */
};

strmap *strmap_create(void)
{
	strmap *m = calloc(1, sizeof(*m));
	if (m == NULL || hashslots_init(&m->t, sizeof(slot)) < 0) {
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
	hashslots_free(&m->t);
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

static uint64_t hash_of(const char *key, size_t len) { return XXH3_64bits(key, len) | 1; }

static slot *find(const strmap *m, const char *key, uint64_t h)
{
	for (size_t i = hashslots_first(&m->t, h);; i = hashslots_next(&m->t, i)) {
		slot *s = hashslots_at(&m->t, i);
		if (s->hash == 0 || (s->hash == h && strcmp(s->key, key) == 0))
			return s;
	}
}

int strmap_get(const strmap *m, const char *key, int64_t *val)
{
	const slot *s = find(m, key, hash_of(key, strlen(key)));
	if (s->hash == 0)
		return 0;
	*val = s->val;
	return 1;
}

int strmap_put(strmap *m, const char *key, int64_t val)
{
	if (hashslots_make_room(&m->t) < 0)
		return -1;
	size_t len = strlen(key);
	uint64_t h = hash_of(key, len);
	slot *s = find(m, key, h);
	if (s->hash == 0) {
		const char *k = arena_copy(m, key, len);
		if (k == NULL)
			return -1;
		s->key = k;
		s->hash = h;
		m->t.count++;
	}
	s->val = val;
	return 0;
}

size_t strmap_count(const strmap *m) { return m->t.count; }
