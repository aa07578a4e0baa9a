/* models.c - the stored models, as a function of the events. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "grow.h"
#include "log.h"
#include "models.h"
#include "project.h"

static bool is_pending(int state)
{
	return state == MAILLAGE__V1__CASE_STATE__REFERRED ||
	       state == MAILLAGE__V1__CASE_STATE__ACKNOWLEDGED;
}

/* Remember a new case under its household key; a new household is
 * anchored at `at`, the position of the case's first event. */
static int index_household(struct evlog_txn *txn, const ml_case *c, uint64_t at)
{
	ml_household_cases empty = MAILLAGE__V1__HOUSEHOLD_CASES__INIT, next = empty;
	ml_household_cases *hc = NULL;
	int rc;

	if (c->household_key.len != WIRE_HASH_LEN)
		return ML_ECORRUPT;
	rc = evlog_household_get(txn, c->household_key.data, &hc);
	if (rc && rc != ML_ENOTFOUND)
		return rc;
	if (!hc)
		hc = &empty;
	next.case_ids = malloc((hc->n_case_ids + 1) * sizeof(*next.case_ids));
	if (!next.case_ids) {
		rc = ML_ENOMEM;
		goto out_free;
	}
	if (hc->n_case_ids)
		memcpy(next.case_ids, hc->case_ids, hc->n_case_ids * sizeof(*next.case_ids));
	next.case_ids[hc->n_case_ids] = c->case_id;
	next.n_case_ids = hc->n_case_ids + 1;
	rc = evlog_household_put(txn, c->household_key.data, at, &next);
	free(next.case_ids);
out_free:
	if (hc != &empty)
		wire_free(hc);
	return rc;
}

/* A new case (made by the event at position at) joins its platform's
 * caseload, the pending referrals and its household; a decided one leaves
 * the pending referrals. */
static int index_case(struct evlog_txn *txn, int before, const ml_case *c, uint64_t at)
{
	int rc;

	if (!before) {
		rc = evlog_caseload_put(txn, c->platform, c->case_id);
		if (!rc)
			rc = evlog_pending_put(txn, c->referred_at, c->case_id);
		return rc ? rc : index_household(txn, c, at);
	}
	if (is_pending(before) && !is_pending(c->state))
		return evlog_pending_del(txn, c->referred_at, c->case_id);
	return 0;
}

int models_apply(struct evlog_txn *txn, ml_case **c, const ml_event *ev)
{
	int before = *c ? (*c)->state : 0;
	int rc = project_case_apply(c, ev);

	if (!rc)
		rc = evlog_case_put(txn, *c);
	return rc ? rc : index_case(txn, before, *c, ev->position);
}

/* A rebuild folds each case in memory and keeps, for each case, what the
 * models need of it: its summary (packed when the case leaves the cache),
 * its platform, household key, referral date and whether models_apply()
 * would have left it in the pending referrals. At the end it stores each
 * model in key order (evlog_*_append()): full pages, written once, where
 * models_apply() event by event would split pages and, for a pending
 * referral put and deleted in the same transaction, leave a dirty page per
 * case behind. The stored bytes are the same: the summary is the fold of all
 * the case's events either way, and each index holds what index_case()
 * would leave in it.
 *
 * The cases being folded stay unpacked in a direct-mapped cache: a case
 * lives for months, so its events are close together in the log and a cache
 * of this many slots keeps it. */
#define REPLAY_SLOTS 65536

struct rb_case {
	char *case_id;
	char *platform;
	uint8_t household[WIRE_HASH_LEN];
	uint64_t first;         /* the position of its first event */
	uint64_t anchor;        /* its household's: the first of its first case */
	int64_t referred_at;
	bool pending;           /* in proj_pending, as index_case() keeps it */
	uint8_t *summary;       /* packed, once out of the cache; else NULL */
	size_t len;
};

struct rb_slot {
	ml_case *c;             /* NULL: empty */
	size_t at;              /* c's entry in cases */
};

struct replay {
	struct rb_slot *slots;
	struct rb_case *cases;  /* in the order of their first event */
	size_t n, cap;
	size_t *index;          /* open addressing: 1 + position in cases, 0 empty */
	size_t index_cap;       /* a power of two, at least twice n */
};

static size_t hash_id(const char *case_id)
{
	size_t h = 5381;

	while (*case_id)
		h = h * 33 + (unsigned char)*case_id++;
	return h;
}

/* The index slot of case_id: its entry, or the empty slot where it goes. */
static size_t *index_find(struct replay *r, const char *case_id, size_t h)
{
	size_t mask = r->index_cap - 1;

	for (size_t i = h & mask;; i = (i + 1) & mask) {
		size_t *e = &r->index[i];

		if (!*e || !strcmp(r->cases[*e - 1].case_id, case_id))
			return e;
	}
}

static int index_grow(struct replay *r)
{
	size_t cap = r->index_cap ? r->index_cap * 2 : 1 << 16;
	size_t *old = r->index, old_cap = r->index_cap;

	r->index = calloc(cap, sizeof(*r->index));
	if (!r->index) {
		r->index = old;
		return ML_ENOMEM;
	}
	r->index_cap = cap;
	for (size_t i = 0; i < old_cap; i++) {
		if (old[i])
			*index_find(r, r->cases[old[i] - 1].case_id,
				    hash_id(r->cases[old[i] - 1].case_id)) = old[i];
	}
	free(old);
	return 0;
}

/* A new entry for the case c creates with its first event, at position
 * first, at *e (an empty index slot). */
static int case_add(struct replay *r, size_t *e, const ml_case *c, uint64_t first)
{
	struct rb_case *cs;

	if (c->household_key.len != WIRE_HASH_LEN)
		return ML_ECORRUPT;
	cs = grow_for_one(r->cases, r->n, &r->cap, sizeof(*cs), 1 << 14);
	if (!cs)
		return ML_ENOMEM;
	r->cases = cs;
	cs += r->n;
	memset(cs, 0, sizeof(*cs));
	cs->case_id = strdup(c->case_id);
	cs->platform = strdup(c->platform);
	if (!cs->case_id || !cs->platform) {
		free(cs->case_id);
		free(cs->platform);
		return ML_ENOMEM;
	}
	memcpy(cs->household, c->household_key.data, WIRE_HASH_LEN);
	cs->first = first;
	cs->referred_at = c->referred_at;
	cs->pending = true;
	*e = ++r->n;
	return 2 * r->n > r->index_cap ? index_grow(r) : 0;
}

/* Pack the case of slot s into its entry and empty the slot. */
static int flush(struct replay *r, struct rb_slot *s)
{
	struct rb_case *cs = &r->cases[s->at];
	size_t len = wire_packed_size(s->c);
	uint8_t *p = len > cs->len || !cs->summary ? realloc(cs->summary, len ? len : 1) :
						     cs->summary;

	if (!p)
		return ML_ENOMEM;
	cs->summary = p;
	cs->len = wire_pack_to(s->c, p);
	wire_free(s->c);
	s->c = NULL;
	return 0;
}

static int replay_event(void *arg, const ml_event *ev, const uint8_t *raw, size_t len)
{
	struct replay *r = arg;
	size_t h = hash_id(ev->case_id), *e = NULL;
	struct rb_slot *s = &r->slots[h % REPLAY_SLOTS];
	int rc = 0, before;

	(void)raw;
	(void)len;
	if (s->c && strcmp(s->c->case_id, ev->case_id) && (rc = flush(r, s)))
		return rc;
	if (!s->c) {
		/* Not in the cache: a case met before, or a new one. */
		e = index_find(r, ev->case_id, h);
		if (*e) {
			struct rb_case *known = &r->cases[*e - 1];

			s->c = wire_case_unpack(known->summary, known->len);
			if (!s->c)
				return ML_ECORRUPT;
			s->at = *e - 1;
		}
	}
	before = s->c ? s->c->state : 0;
	rc = project_case_apply(&s->c, ev);
	if (rc)
		return rc;
	if (!before) {
		/* Created: e is the empty index slot found above. */
		assert(e && !*e);
		s->at = r->n;
		return case_add(r, e, s->c, ev->position);
	}
	if (is_pending(before) && !is_pending(s->c->state))
		r->cases[s->at].pending = false;
	return 0;
}

/* Key orders of evlog.h, as bytes. */
static int by_case_id(const void *a, const void *b)
{
	const struct rb_case *x = *(const struct rb_case *const *)a;
	const struct rb_case *y = *(const struct rb_case *const *)b;

	return strcmp(x->case_id, y->case_id);
}

static int by_platform(const void *a, const void *b)
{
	const struct rb_case *x = *(const struct rb_case *const *)a;
	const struct rb_case *y = *(const struct rb_case *const *)b;
	int d = strcmp(x->platform, y->platform);

	return d ? d : strcmp(x->case_id, y->case_id);
}

static int by_referral(const void *a, const void *b)
{
	const struct rb_case *x = *(const struct rb_case *const *)a;
	const struct rb_case *y = *(const struct rb_case *const *)b;
	uint64_t p = (uint64_t)x->referred_at, q = (uint64_t)y->referred_at;

	return p != q ? (p < q ? -1 : 1) : strcmp(x->case_id, y->case_id);
}

/* By household, then in the order of creation (cases is in that order). */
static int by_household(const void *a, const void *b)
{
	const struct rb_case *x = *(const struct rb_case *const *)a;
	const struct rb_case *y = *(const struct rb_case *const *)b;
	int d = memcmp(x->household, y->household, WIRE_HASH_LEN);

	return d ? d : (x > y) - (x < y);
}

/* By the household's anchor (its rows' order in households), then in the
 * order of creation. */
static int by_anchor(const void *a, const void *b)
{
	const struct rb_case *x = *(const struct rb_case *const *)a;
	const struct rb_case *y = *(const struct rb_case *const *)b;

	if (x->anchor != y->anchor)
		return x->anchor < y->anchor ? -1 : 1;
	return (x > y) - (x < y);
}

/* Store the households of the cases v[0..n): each household is anchored at
 * its first case's first event, and stored in the order of the anchors. */
static int store_households(struct evlog_txn *dst, struct rb_case **v, size_t n)
{
	ml_household_cases hc = MAILLAGE__V1__HOUSEHOLD_CASES__INIT;
	char **ids = malloc((n ? n : 1) * sizeof(*ids));
	int rc = ids ? 0 : ML_ENOMEM;

	qsort(v, n, sizeof(*v), by_household);
	for (size_t i = 0, j; i < n; i = j)
		for (j = i; j < n && !memcmp(v[j]->household, v[i]->household, WIRE_HASH_LEN); j++)
			v[j]->anchor = v[i]->first;
	qsort(v, n, sizeof(*v), by_anchor);
	for (size_t i = 0, j; !rc && i < n; i = j) {
		for (j = i; j < n && v[j]->anchor == v[i]->anchor; j++)
			ids[j - i] = v[j]->case_id;
		hc.case_ids = ids;
		hc.n_case_ids = j - i;
		rc = evlog_household_append(dst, v[i]->household, v[i]->anchor, &hc);
	}
	free(ids);
	return rc;
}

/* Store every model of the cases in dst, each in key order. */
static int store(struct replay *r, struct evlog_txn *dst)
{
	struct rb_case **v = malloc((r->n ? r->n : 1) * sizeof(*v));
	size_t pending = 0;
	int rc = v ? 0 : ML_ENOMEM;

	for (size_t i = 0; !rc && i < r->n; i++)
		v[i] = &r->cases[i];
	if (!rc)
		qsort(v, r->n, sizeof(*v), by_case_id);
	for (size_t i = 0; !rc && i < r->n; i++)
		rc = evlog_case_append(dst, v[i]->case_id, v[i]->summary, v[i]->len);
	if (!rc)
		qsort(v, r->n, sizeof(*v), by_platform);
	for (size_t i = 0; !rc && i < r->n; i++)
		rc = evlog_caseload_append(dst, v[i]->platform, v[i]->case_id);
	for (size_t i = 0; !rc && i < r->n; i++) {
		if (r->cases[i].pending)
			v[pending++] = &r->cases[i];
	}
	if (!rc)
		qsort(v, pending, sizeof(*v), by_referral);
	for (size_t i = 0; !rc && i < pending; i++)
		rc = evlog_pending_append(dst, v[i]->referred_at, v[i]->case_id);
	for (size_t i = 0; !rc && i < r->n; i++)
		v[i] = &r->cases[i];
	if (!rc)
		rc = store_households(dst, v, r->n);
	free(v);
	return rc;
}

/* After a rebuild beside the data keys (in place): each still follows its
 * household's record. A record the log now gives another anchor than its
 * data keys' would leave them unfound, and an erasure unable to destroy
 * them: refused (ML_ECORRUPT, logged), nothing committed. */
static int keys_still_found(struct evlog_txn *dst)
{
	char fault[256];
	int rc = evlog_datakeys_check(dst, fault, sizeof(fault));

	if (rc == ML_ECORRUPT)
		log_error("data_keys_orphaned", "fault=\"%s\" detail=\"the rebuild is refused, "
			  "nothing committed\"", fault);
	return rc;
}

int models_rebuild(struct evlog_txn *src, struct evlog_txn *dst)
{
	struct replay r = { .slots = calloc(REPLAY_SLOTS, sizeof(*r.slots)) };
	uint64_t keys = 0;
	int rc = r.slots ? index_grow(&r) : ML_ENOMEM;

	if (!rc)
		rc = evlog_scan(src, 1, replay_event, &r);
	for (size_t i = 0; r.slots && i < REPLAY_SLOTS; i++) {
		if (!rc && r.slots[i].c)
			rc = flush(&r, &r.slots[i]);
		else
			wire_free(r.slots[i].c);
	}
	/* The data keys in dst's households stay as they were: counted before
	 * and after, as evlog_models_clear() does before and after clearing. */
	if (!rc)
		rc = evlog_datakey_count(dst, &keys);
	if (!rc)
		rc = store(&r, dst);
	if (!rc)
		rc = evlog_datakeys_unchanged(dst, keys, "rebuild models");
	if (!rc && keys)
		rc = keys_still_found(dst);
	for (size_t i = 0; i < r.n; i++) {
		free(r.cases[i].case_id);
		free(r.cases[i].platform);
		free(r.cases[i].summary);
	}
	free(r.cases);
	free(r.index);
	free(r.slots);
	return rc;
}
