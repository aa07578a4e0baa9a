/* grow.c - room for one more item at the end of a growing array. */
#include <stdint.h>
#include <stdlib.h>

#include "grow.h"

void *grow_for_one(void *items, size_t n, size_t *cap, size_t size, size_t first)
{
	size_t room;
	void *more;

	if (n < *cap)
		return items;
	room = *cap ? *cap * 2 : first;
	if (room <= n || !size || room > SIZE_MAX / size)
		return NULL;
	more = realloc(items, room * size);
	if (more)
		*cap = room;
	return more;
}
