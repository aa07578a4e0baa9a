/* tagindex.h - an open-addressing table of (tag, value) pairs, both 64-bit:
 * the in-memory indexes of evlog (command ids to command-log sequences,
 * household keys to their anchors). A tag may be in the table more than
 * once; the table only says where to look, the caller confirms each value
 * against LMDB. Values are never 0 (0 marks an empty slot).
 *
 * Memory: 16 bytes a slot, at most half the slots in use. Not thread-safe:
 * callers serialise.
 */
#ifndef MAILLAGE_TAGINDEX_H
#define MAILLAGE_TAGINDEX_H

#include <stddef.h>
#include <stdint.h>

struct tagindex_slot {
	uint64_t tag;
	uint64_t value;          /* 0: empty */
};

struct tagindex {
	struct tagindex_slot *slots;
	size_t cap;              /* 0, or a power of two */
	size_t used;
};

/* Add (tag, value), value != 0; the table grows first when it would be more
 * than half full. 0 or ML_ENOMEM (nothing added). */
int tagindex_add(struct tagindex *ix, uint64_t tag, uint64_t value);

/* The values stored under tag, in probe order:
 *     for (size_t i = tagindex_first(ix, tag); i != TAGINDEX_END;
 *          i = tagindex_next(ix, i, tag))
 *             use ix->slots[i].value;
 * Valid while nothing is added. */
#define TAGINDEX_END ((size_t)-1)
size_t tagindex_first(const struct tagindex *ix, uint64_t tag);
size_t tagindex_next(const struct tagindex *ix, size_t i, uint64_t tag);

void tagindex_free(struct tagindex *ix);

#endif
