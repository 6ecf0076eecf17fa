/* pairmap.c: (int64, int64) -> int64 hash map (see pairmap.h), over the
 * slot table of hashslots.h. */
#include "core/pairmap.h"

#include <stdlib.h>
#include <xxhash.h>

#include "core/hashslots.h"

typedef struct slot {
	uint64_t hash; /* 0 = empty; hashslots reads it here */
	int64_t a, b;
	int64_t val;
} slot;

struct pairmap {
	hashslots t;
};

pairmap *pairmap_create(void)
{
	pairmap *m = calloc(1, sizeof(*m));
	if (m == NULL || hashslots_init(&m->t, sizeof(slot)) < 0) {
		free(m);
		return NULL;
	}
	return m;
}

void pairmap_free(pairmap *m)
{
	if (m == NULL)
		return;
	hashslots_free(&m->t);
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
	for (size_t i = hashslots_first(&m->t, h);; i = hashslots_next(&m->t, i)) {
		slot *s = hashslots_at(&m->t, i);
		if (s->hash == 0 || (s->hash == h && s->a == a && s->b == b))
			return s;
	}
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
	size_t cap = m->t.cap;
	if (hashslots_make_room(&m->t) < 0)
		return -1;
	if (m->t.cap != cap)
		s = find(m, a, b, h);
	*s = (slot){.hash = h, .a = a, .b = b, .val = val};
	m->t.count++;
	return 1;
}

int pairmap_put(pairmap *m, int64_t a, int64_t b, int64_t val) { return put(m, a, b, val, 1) < 0 ? -1 : 0; }

int pairmap_add(pairmap *m, int64_t a, int64_t b, int64_t val) { return put(m, a, b, val, 0); }

size_t pairmap_count(const pairmap *m) { return m->t.count; }
