/* pairmap.h: an open-addressing hash map from pairs of 64-bit integers to
 * 64-bit integers (a playlist and a track -> "is a member"). The integer
 * twin of strmap: no key is formatted, copied or compared as a string.
 * Nothing is ever removed. Not thread-safe. */
#ifndef SEGUE_PAIRMAP_H
#define SEGUE_PAIRMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct pairmap pairmap;

/* Returns a new empty map, or NULL when out of memory. */
pairmap *pairmap_create(void);
/* Frees the map; NULL is a no-op. */
void pairmap_free(pairmap *m);
/* Looks (a, b) up: returns 1 and sets *val when present, 0 when absent
 * (*val untouched). */
int pairmap_get(const pairmap *m, int64_t a, int64_t b, int64_t *val);
/* Inserts or replaces (a, b) -> val. Returns 0, or -1 when out of memory
 * (the map is unchanged then). */
int pairmap_put(pairmap *m, int64_t a, int64_t b, int64_t val);
/* Inserts (a, b) -> val when (a, b) is absent, in one probe: returns 1 when
 * it was inserted, 0 when it was present (its value is left as it was), or
 * -1 when out of memory (the map is unchanged then). */
int pairmap_add(pairmap *m, int64_t a, int64_t b, int64_t val);
/* Number of keys. */
size_t pairmap_count(const pairmap *m);

#endif
