/* feed.c - a subscriber's filters and the per-event read rule, with a small
 * cache of the cases it follows folded up to the last event seen.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "err.h"
#include "feed.h"
#include "project.h"

/* Case summaries kept per feed (direct-mapped by case id); a miss refolds the
 * case from its stream. */
#define FEED_CACHE 64
#define FEED_INVOLVED (AUTH_REL_REFERRER | AUTH_REL_LEAD | AUTH_REL_CO_REFERENT)

/* Event types are kept as bits of a uint64_t, numbered as Event.body. */
_Static_assert(MAILLAGE__V1__EVENT__BODY_HOUSEHOLD_DATA_ERASED < 64,
	       "event body numbers must stay under 64 for feed.types");

struct feed {
	const struct config *cfg;
	const struct org *org;
	char *platform;              /* "" = every platform of org */
	char *case_id;               /* "" = every case */
	uint64_t types;              /* bit n: Event body member n; 0 = every type */
	bool involved_only;
	bool oversees;               /* coordination or auditor: sees whole platforms */
	ml_case *cache[FEED_CACHE];
};

static uint32_t slot_of(const char *case_id)
{
	uint32_t h = 2166136261u;     /* FNV-1a */

	for (const unsigned char *p = (const unsigned char *)case_id; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h % FEED_CACHE;
}

static char *dup_or_empty(const char *s)
{
	return strdup(s ? s : "");
}

static int check_case(struct evlog_txn *txn, const struct feed *f, const ml_request *req,
		      struct status *st)
{
	ml_case *c = NULL;
	int role;
	int rc = evlog_case_get(txn, f->case_id, &c);

	if (rc && rc != ML_ENOTFOUND)
		return status_fail(st, rc, NULL, "cannot read case '%s': %s", f->case_id,
				   ml_strerror(rc));
	rc = auth_case_access(f->cfg, f->org, req, f->case_id, c, &role, st);
	if (!rc && f->platform[0] && strcmp(c->platform, f->platform))
		rc = status_fail(st, ML_EINVAL, "subscribe.platform",
				 "case '%s' is not on platform '%s'", f->case_id, f->platform);
	wire_free(c);
	return rc;
}

int feed_new(struct evlog_txn *txn, const struct config *cfg, const struct org *org,
	     const ml_request *req, struct feed **out, struct status *st)
{
	const Maillage__V1__Subscribe *s = req->subscribe;
	struct feed *f = calloc(1, sizeof(*f));
	int rc;

	if (!f)
		return status_fail(st, ML_ENOMEM, NULL, "out of memory");
	f->cfg = cfg;
	f->org = org;
	f->platform = dup_or_empty(s->platform);
	f->case_id = dup_or_empty(s->case_id);
	f->involved_only = s->involved_only;
	f->oversees = org->kind == MAILLAGE__V1__ORG_KIND__COORDINATION ||
		      org->kind == MAILLAGE__V1__ORG_KIND__AUDITOR;
	for (size_t i = 0; i < s->n_event_types; i++)
		f->types |= UINT64_C(1) << s->event_types[i];   /* known values: validate.c */
	if (!f->platform || !f->case_id) {
		rc = status_fail(st, ML_ENOMEM, NULL, "out of memory");
		goto err_free;
	}
	if (f->platform[0] &&
	    (rc = auth_platform_member(cfg, org, f->platform, "subscribe.platform", st)))
		goto err_free;
	if (f->case_id[0] && (rc = check_case(txn, f, req, st)))
		goto err_free;
	*out = f;
	return 0;

err_free:
	feed_free(f);
	return rc;
}

void feed_free(struct feed *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < FEED_CACHE; i++)
		wire_free(f->cache[i]);
	free(f->platform);
	free(f->case_id);
	free(f);
}

struct refold {
	ml_case *c;
	uint32_t before;      /* stop at this version */
	unsigned read;        /* events folded */
};

static int refold_one(void *arg, const ml_event *ev, const uint8_t *raw, size_t rawlen)
{
	struct refold *r = arg;

	(void)raw;
	(void)rawlen;
	if (ev->case_version >= r->before)
		return 1;
	r->read++;
	return project_case_apply(&r->c, ev);
}

/* The case of ev as it stood just before ev, in its cache slot (NULL before
 * the referral); *slot is where to keep it; *cost grows by the events read. */
static int case_before(struct feed *f, struct evlog_txn *txn, const ml_event *ev,
		       ml_case ***slot, unsigned *cost)
{
	struct refold r = { .c = NULL, .before = ev->case_version };
	ml_case **s = &f->cache[slot_of(ev->case_id)];
	int rc;

	*slot = s;
	if (*s && !strcmp((*s)->case_id, ev->case_id) && (*s)->version + 1 == ev->case_version)
		return 0;
	wire_free(*s);
	*s = NULL;
	if (ev->case_version <= 1)
		return 0;
	rc = evlog_stream_scan(txn, ev->case_id, 1, refold_one, &r);
	*cost += r.read;
	if (!rc && (!r.c || r.c->version + 1 != ev->case_version))
		rc = ML_ECORRUPT;
	if (rc) {
		wire_free(r.c);
		return rc;
	}
	*s = r.c;
	return 0;
}

/* The relations of the feed's organisation to ev's case just before and
 * just after ev, folding ev into the cache. */
static int relations(struct feed *f, struct evlog_txn *txn, const ml_event *ev,
		     unsigned *rel, unsigned *cost)
{
	ml_case **slot;
	int rc = case_before(f, txn, ev, &slot, cost);

	if (rc)
		return rc;
	*rel = *slot ? auth_relations(f->org, *slot) : 0;
	rc = project_case_apply(slot, ev);
	if (rc) {
		wire_free(*slot);
		*slot = NULL;
		return rc;
	}
	*rel |= auth_relations(f->org, *slot);
	return 0;
}

int feed_match(struct feed *f, struct evlog_txn *txn, const ml_event *ev, bool *match,
	       unsigned *cost)
{
	unsigned rel = 0;
	int rc;

	*match = false;
	*cost = 1;
	if (!org_is_member(f->org, ev->platform) ||
	    (f->platform[0] && strcmp(f->platform, ev->platform)) ||
	    (f->case_id[0] && strcmp(f->case_id, ev->case_id)))
		return 0;
	if (f->involved_only || !f->oversees) {
		rc = relations(f, txn, ev, &rel, cost);
		if (rc)
			return rc;
		if (!(rel & FEED_INVOLVED))
			return 0;
	}
	*match = !f->types || ((unsigned)ev->body_case < 64 &&
				(f->types & (UINT64_C(1) << ev->body_case)));
	return 0;
}
