/* array.c: growing malloc'd arrays (see array.h). */
#include "core/array.h"

#include <stdint.h>
#include <stdlib.h>

void *array_grow(void *items, size_t *cap, size_t need, size_t size, size_t first)
{
	if (need <= *cap && items != NULL)
		return items;
	size_t n = *cap > SIZE_MAX / 2 ? SIZE_MAX : *cap * 2;
	if (n < first)
		n = first;
	if (n < need)
		n = need;
	if (size == 0 || n > SIZE_MAX / size)
		return NULL;
	void *p = realloc(items, n * size);
	if (p == NULL)
		return NULL;
	*cap = n;
	return p;
}
