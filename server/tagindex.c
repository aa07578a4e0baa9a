/* tagindex.c - the open-addressing table of tagindex.h: linear probing from
 * the tag's low bits, doubling when half full. */
#include <assert.h>
#include <stdlib.h>

#include "err.h"
#include "tagindex.h"

#define TAGINDEX_MIN_SLOTS 1024

static void place(struct tagindex_slot *slots, size_t cap, uint64_t tag, uint64_t value)
{
	size_t i = tag & (cap - 1);

	while (slots[i].value)
		i = (i + 1) & (cap - 1);
	slots[i] = (struct tagindex_slot){ .tag = tag, .value = value };
}

static int grow(struct tagindex *ix)
{
	size_t cap = ix->cap ? ix->cap * 2 : TAGINDEX_MIN_SLOTS;
	struct tagindex_slot *slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return ML_ENOMEM;
	for (size_t i = 0; i < ix->cap; i++)
		if (ix->slots[i].value)
			place(slots, cap, ix->slots[i].tag, ix->slots[i].value);
	free(ix->slots);
	ix->slots = slots;
	ix->cap = cap;
	return 0;
}

int tagindex_add(struct tagindex *ix, uint64_t tag, uint64_t value)
{
	int rc;

	assert(value);           /* 0 marks an empty slot */
	rc = (ix->used + 1) * 2 > ix->cap ? grow(ix) : 0;
	if (rc)
		return rc;
	place(ix->slots, ix->cap, tag, value);
	ix->used++;
	return 0;
}

/* The first slot from i on (in probe order) holding tag, or TAGINDEX_END at
 * the first empty slot. */
static size_t scan(const struct tagindex *ix, size_t i, uint64_t tag)
{
	for (; ix->slots[i].value; i = (i + 1) & (ix->cap - 1))
		if (ix->slots[i].tag == tag)
			return i;
	return TAGINDEX_END;
}

size_t tagindex_first(const struct tagindex *ix, uint64_t tag)
{
	return ix->cap ? scan(ix, tag & (ix->cap - 1), tag) : TAGINDEX_END;
}

size_t tagindex_next(const struct tagindex *ix, size_t i, uint64_t tag)
{
	return scan(ix, (i + 1) & (ix->cap - 1), tag);
}

void tagindex_free(struct tagindex *ix)
{
	free(ix->slots);
	*ix = (struct tagindex){ .slots = NULL };
}
