/* grow.h - room for one more item at the end of a growing array. */
#ifndef MAILLAGE_GROW_H
#define MAILLAGE_GROW_H

#include <stddef.h>

/* items holds n items of size bytes in room for *cap. Returns an array with
 * room for n + 1: items itself when it has it, else a larger copy (room
 * doubled, or `first` items for an empty array; *cap updated, items freed).
 * NULL when out of memory or the size would overflow: items and *cap are
 * then left as they were. */
void *grow_for_one(void *items, size_t n, size_t *cap, size_t size, size_t first);

#endif
