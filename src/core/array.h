/* array.h: the one growable array of segue: room for more elements in a
 * malloc'd array, by doubling, with the size arithmetic checked. It keeps no
 * state of its own: the caller keeps the pointer, the count and the
 * capacity, in whatever struct they belong to. */
#ifndef SEGUE_ARRAY_H
#define SEGUE_ARRAY_H

#include <stddef.h>

/* Returns an array with room for at least `need` elements of `size` bytes:
 * `items` itself when *cap >= need, else a reallocation of it to the larger
 * of `need` and twice *cap (at least `first`), with *cap updated. The
 * elements already there are kept; the new room is uninitialised. On
 * failure (out of memory, or a size past SIZE_MAX) NULL is returned, and
 * `items` and *cap are left as they were: the caller still owns `items`. */
void *array_grow(void *items, size_t *cap, size_t need, size_t size, size_t first);

#endif
