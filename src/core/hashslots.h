/* hashslots.h: the slot table under strmap and pairmap, internal to core/:
 * open addressing with linear probing over a power-of-two array of
 * fixed-size slots, each beginning with its 64-bit hash, where 0 marks an
 * empty slot (the maps set every hash's low bit); kept at most 70% full.
 * It does not compare keys: each map probes with its own key test. */
#ifndef SEGUE_HASHSLOTS_H
#define SEGUE_HASHSLOTS_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct hashslots {
	unsigned char *slots; /* [cap * size] */
	size_t cap;           /* power of two */
	size_t count;         /* slots in use */
	size_t size;          /* bytes of a slot; its first 8 are the hash */
} hashslots;

/* An empty table of 1,024 slots of `size` bytes. Returns 0, or -1 when out
 * of memory. */
static inline int hashslots_init(hashslots *t, size_t size)
{
	t->cap = 1024;
	t->count = 0;
	t->size = size;
	t->slots = calloc(t->cap, size);
	return t->slots != NULL ? 0 : -1;
}

static inline void hashslots_free(hashslots *t)
{
	free(t->slots);
	t->slots = NULL;
}

/* Slot i, and its hash. */
static inline void *hashslots_at(const hashslots *t, size_t i) { return t->slots + i * t->size; }

static inline uint64_t hashslots_hash(const hashslots *t, size_t i)
{
	uint64_t h;
	memcpy(&h, hashslots_at(t, i), sizeof h);
	return h;
}

/* Where the probe for hash h starts, and the slot after i. */
static inline size_t hashslots_first(const hashslots *t, uint64_t h) { return (size_t)h & (t->cap - 1); }
static inline size_t hashslots_next(const hashslots *t, size_t i) { return (i + 1) & (t->cap - 1); }

/* Makes room for one more key: doubles the table (placing each slot again
 * by its hash) when one more would fill it past 70%. Slot addresses found
 * before are stale after it. Returns 0, or -1 when out of memory (the table
 * is unchanged then). */
static inline int hashslots_make_room(hashslots *t)
{
	if ((t->count + 1) * 10 <= t->cap * 7)
		return 0;
	hashslots n = {.cap = t->cap * 2, .count = t->count, .size = t->size};
	if ((n.slots = calloc(n.cap, n.size)) == NULL)
		return -1;
	for (size_t i = 0; i < t->cap; i++) {
		uint64_t h = hashslots_hash(t, i);
		if (h == 0)
			continue;
		size_t j = hashslots_first(&n, h);
		while (hashslots_hash(&n, j) != 0)
			j = hashslots_next(&n, j);
		memcpy(hashslots_at(&n, j), hashslots_at(t, i), t->size);
	}
	free(t->slots);
	*t = n;
	return 0;
}

#endif
