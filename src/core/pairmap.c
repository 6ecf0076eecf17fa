/* pairmap.c: (int64, int64) -> int64 hash map (see pairmap.h). Linear
 * probing over a power-of-two table kept at most 70% full; a slot's hash is
 * never 0 (its low bit is set), so 0 marks an empty slot. */
#include "core/pairmap.h"

#include <stdlib.h>
#include <xxhash.h>

typedef struct slot {
	uint64_t hash; /* 0 = empty */
	int64_t a, b;
	int64_t val;
} slot;

struct pairmap {
	slot *slots; /* [cap] */
	size_t cap;  /* power of two */
	size_t count;
};

pairmap *pairmap_create(void)
{
	pairmap *m = calloc(1, sizeof(*m));
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

void pairmap_free(pairmap *m)
{
	if (m == NULL)
		return;
	free(m->slots);
	free(m);
}

static uint64_t hash_of(int64_t a, int64_t b)
{
	int64_t key[2] = {a, b};
	return XXH3_64bits(key, sizeof key) | 1;
}

/* The slot holding (a, b), or the empty slot where it would go. */
static slot *find(const pairmap *m, int64_t a, int64_t b, uint64_t h)
{
	size_t mask = m->cap - 1;
	for (size_t i = h & mask;; i = (i + 1) & mask) {
		slot *s = &m->slots[i];
		if (s->hash == 0 || (s->hash == h && s->a == a && s->b == b))
			return s;
	}
}

static int grow(pairmap *m)
{
	size_t cap = m->cap * 2;
	slot *ns = calloc(cap, sizeof(slot));
	if (ns == NULL)
		return -1;
	for (size_t i = 0; i < m->cap; i++) {
		const slot *s = &m->slots[i];
		if (s->hash == 0)
			continue;
		size_t j = s->hash & (cap - 1);
		while (ns[j].hash != 0)
			j = (j + 1) & (cap - 1);
		ns[j] = *s;
	}
	free(m->slots);
	m->slots = ns;
	m->cap = cap;
	return 0;
}

int pairmap_get(const pairmap *m, int64_t a, int64_t b, int64_t *val)
{
	const slot *s = find(m, a, b, hash_of(a, b));
	if (s->hash == 0)
		return 0;
	*val = s->val;
	return 1;
}

/* Puts (a, b) -> val; with `replace` 0 an existing value is kept. Returns 1
 * when inserted, 0 when it was present, -1 when out of memory. */
static int put(pairmap *m, int64_t a, int64_t b, int64_t val, int replace)
{
	uint64_t h = hash_of(a, b);
	slot *s = find(m, a, b, h);
	if (s->hash != 0) {
		if (replace)
			s->val = val;
		return 0;
	}
	if ((m->count + 1) * 10 > m->cap * 7) {
		if (grow(m) < 0)
			return -1;
		s = find(m, a, b, h);
	}
	*s = (slot){.hash = h, .a = a, .b = b, .val = val};
	m->count++;
	return 1;
}

int pairmap_put(pairmap *m, int64_t a, int64_t b, int64_t val) { return put(m, a, b, val, 1) < 0 ? -1 : 0; }

int pairmap_add(pairmap *m, int64_t a, int64_t b, int64_t val) { return put(m, a, b, val, 0); }

size_t pairmap_count(const pairmap *m) { return m->count; }
