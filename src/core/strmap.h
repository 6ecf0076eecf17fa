/* strmap.h: an open-addressing hash map from strings to 64-bit integers
 * (Spotify id -> track row, artist name -> artist row). Keys are copied into
 * an internal arena; nothing is ever removed. */
#ifndef SEGUE_STRMAP_H
#define SEGUE_STRMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct strmap strmap;

/* Returns a new empty map, or NULL when out of memory. */
strmap *strmap_create(void);
/* Frees the map and its keys; NULL is a no-op. */
void strmap_free(strmap *m);
/* Looks `key` up: returns 1 and sets *val when present, 0 when absent. */
int strmap_get(const strmap *m, const char *key, int64_t *val);
/* Inserts or replaces key -> val. Returns 0, or -1 when out of memory (the map
 * is unchanged then). */
int strmap_put(strmap *m, const char *key, int64_t val);
/* Number of keys. */
size_t strmap_count(const strmap *m);

#endif
