/* book.c - the cases maillage-bench made, by number, and the work waiting on
 * them: cases in support shared by the mix (in turn, and per lead partner),
 * proposals to answer, referrals to acknowledge, cases set aside to close.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

int ring_push(struct ring *r, uint32_t x)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 1024;
		uint32_t *v = malloc(cap * sizeof(*v));

		if (!v)
			return -1;
		for (size_t i = 0; i < r->n; i++)
			v[i] = r->v[(r->head + i) % r->cap];
		free(r->v);
		r->v = v;
		r->head = 0;
		r->cap = cap;
	}
	r->v[(r->head + r->n++) % r->cap] = x;
	return 0;
}

bool ring_pop(struct ring *r, uint32_t *x)
{
	if (r->n == 0)
		return false;
	*x = r->v[r->head];
	r->head = (r->head + 1) % r->cap;
	r->n--;
	return true;
}

void ring_release(struct ring *r)
{
	free(r->v);
	*r = (struct ring){ 0 };
}

/* Room for one more in the array *v of *cap entries of size bytes. */
static int grow(void **v, size_t n, size_t *cap, size_t size)
{
	size_t want = *cap ? 2 * *cap : 1024;
	void *more;

	if (n < *cap)
		return 0;
	more = realloc(*v, want * size);
	if (!more)
		return -1;
	*v = more;
	*cap = want;
	return 0;
}

int book_add(struct book *b, uint32_t *num)
{
	if (b->n >= UINT32_MAX || grow((void **)&b->cases, b->n, &b->cap, sizeof(*b->cases)))
		return -1;
	memset(&b->cases[b->n], 0, sizeof(b->cases[0]));
	*num = (uint32_t)b->n++;
	return 0;
}

int book_set_id(struct book *b, uint32_t num, const char *id)
{
	if (num >= b->n || strlen(id) >= sizeof(b->cases[num].id))
		return -1;
	snprintf(b->cases[num].id, sizeof(b->cases[num].id), "%s", id);
	return 0;
}

int book_share(struct book *b, uint32_t num, unsigned lead)
{
	if (lead >= BENCH_MAX_PARTNERS ||
	    grow((void **)&b->shared, b->n_shared, &b->cap_shared, sizeof(uint32_t)) ||
	    grow((void **)&b->by_lead[lead], b->n_by_lead[lead], &b->cap_by_lead[lead],
		 sizeof(uint32_t)))
		return -1;
	b->cases[num].lead = (uint16_t)lead;
	b->shared[b->n_shared++] = num;
	b->by_lead[lead][b->n_by_lead[lead]++] = num;
	return 0;
}

void book_release(struct book *b)
{
	free(b->cases);
	free(b->shared);
	for (size_t i = 0; i < BENCH_MAX_PARTNERS; i++) {
		free(b->by_lead[i]);
		ring_release(&b->to_answer[i]);
		ring_release(&b->to_close[i]);
	}
	ring_release(&b->to_ack);
	*b = (struct book){ 0 };
}
