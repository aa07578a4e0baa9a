/* personal.c - sealing and opening the personal fields of events. */
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "personal.h"

#define D(m) &maillage__v1__##m##__descriptor
#define SEAL_LABEL "maillage personal v1"

/* The personal fields, by message and field number: fields of the messages
 * of an event's body, never of the Event itself (collect() walks the body
 * only). Stored format: append only, never reorder or remove (see
 * personal.h). */
static const struct field {
	const ProtobufCMessageDescriptor *msg;
	unsigned number;
} fields[] = {
	{ D(person), 1 },                  /* last_name */
	{ D(person), 2 },                  /* first_name */
	{ D(person), 3 },                  /* birth_date */
	{ D(household), 4 },               /* address */
	{ D(household), 7 },               /* phone */
	{ D(household), 8 },               /* email */
	{ D(household), 11 },              /* notes */
	{ D(household), 12 },              /* tenant_reference */
	{ D(referral), 3 },                /* reason_details */
	{ D(acceptance), 4 },              /* notes */
	{ D(decline), 2 },                 /* text */
	{ D(visit), 6 },                   /* notes */
	{ D(proposal), 1 },                /* dwelling_ref */
	{ D(closure), 4 },                 /* notes */
	{ D(procedure_step), 5 },          /* notes */
	{ D(proposal_answer), 4 },         /* text */
	{ D(referral_acknowledged), 1 },   /* note */
	{ D(referral_withdrawn), 1 },      /* reason_text */
	{ D(assignment_released), 2 },     /* reason_text */
	{ D(support_suspended), 1 },       /* reason_text */
	{ D(support_resumed), 1 },         /* note */
	{ D(decline), 3 },                 /* redirect_to: free text, may name a care service */
	{ D(closure), 3 },                 /* handed_over_to: likewise */
};

#define N_FIELDS (sizeof(fields) / sizeof(fields[0]))
_Static_assert(N_FIELDS <= PERSONAL_MAX, "present is a 64-bit mask");

static char empty[] = "";
static char erased[] = PERSONAL_ERASED;

/* The entry of a field, or -1 when it is not personal. */
static int entry(const ProtobufCMessageDescriptor *md, unsigned number)
{
	for (size_t i = 0; i < N_FIELDS; i++)
		if (fields[i].msg == md && fields[i].number == number)
			return (int)i;
	return -1;
}

/* The personal fields of one event, by entry. */
struct slots {
	char **slot[N_FIELDS];
	int rc;
};

static int find_slot(void *arg, const ProtobufCMessageDescriptor *md, unsigned number,
		     char **slot)
{
	struct slots *s = arg;
	int i = entry(md, number);

	if (i < 0)
		return 0;
	if (s->slot[i])
		return ML_EINTERNAL;    /* one entry twice in an event: not sealable */
	s->slot[i] = slot;
	return 0;
}

/* Every personal field is in the event's body (none is the Event's own):
 * only the body is walked. */
static int collect(ml_event *ev, struct slots *s)
{
	ProtobufCMessage *body = wire_event_body(ev);

	memset(s, 0, sizeof(*s));
	return body ? wire_walk_strings(body, find_slot, s) : 0;
}

/* What a box is bound to: the label, the event's case, version and kind,
 * the key's id and which fields it holds. */
static size_t seal_aad(uint8_t *aad, size_t cap, const ml_event *ev, const uint8_t *key_id,
		       uint64_t present)
{
	size_t n = strlen(ev->case_id), len = sizeof(SEAL_LABEL) - 1;

	if (len + n + 17 + VAULT_KEY_ID_LEN > cap)
		return 0;
	memcpy(aad, SEAL_LABEL, len);
	memcpy(aad + len, ev->case_id, n + 1);
	len += n + 1;
	wire_put_be32(aad + len, ev->case_version);
	wire_put_be32(aad + len + 4, (uint32_t)ev->body_case);
	wire_put_be32(aad + len + 8, (uint32_t)(present >> 32));
	wire_put_be32(aad + len + 12, (uint32_t)present);
	memcpy(aad + len + 16, key_id, VAULT_KEY_ID_LEN);
	return len + 16 + VAULT_KEY_ID_LEN;
}

/* Seal the values taken into t->box and point ev->sealed at it. */
static int seal_values(ml_event *ev, const struct vault_key *k, struct personal_taken *t,
		       uint64_t present)
{
	Maillage__V1__PersonalValues pv = MAILLAGE__V1__PERSONAL_VALUES__INIT;
	uint8_t aad[300], *plain = NULL;
	size_t len = 0, aadlen = seal_aad(aad, sizeof(aad), ev, k->id, present);
	int rc;

	pv.values = t->values;
	pv.n_values = t->n;
	if (!aadlen)
		return ML_EINTERNAL;
	rc = wire_pack(&pv, &plain, &len);
	if (rc)
		return rc;
	t->box = malloc(len + CRYPTO_BOX_OVERHEAD);
	rc = t->box ? crypto_seal(k->key, aad, aadlen, plain, len, t->box) : ML_ENOMEM;
	explicit_bzero(plain, len);
	free(plain);
	if (rc)
		return rc;
	maillage__v1__sealed_personal_data__init(&t->sealed);
	t->sealed.key_id.data = (uint8_t *)k->id;
	t->sealed.key_id.len = VAULT_KEY_ID_LEN;
	t->sealed.box.data = t->box;
	t->sealed.box.len = len + CRYPTO_BOX_OVERHEAD;
	t->sealed.present = present;
	ev->sealed = &t->sealed;
	return 0;
}

bool personal_present(ml_event *ev)
{
	struct slots s;

	if (collect(ev, &s))
		return true;    /* personal_seal() will say what is wrong */
	for (size_t i = 0; i < N_FIELDS; i++)
		if (s.slot[i] && *s.slot[i] && **s.slot[i])
			return true;
	return false;
}

int personal_seal(ml_event *ev, const struct vault_key *k, struct personal_taken *t)
{
	struct slots s;
	uint64_t present = 0;
	int rc = collect(ev, &s);

	memset(t, 0, sizeof(*t));
	if (rc)
		return rc;
	for (size_t i = 0; i < N_FIELDS; i++) {
		if (!s.slot[i] || !*s.slot[i] || !**s.slot[i])
			continue;
		t->slots[t->n] = s.slot[i];
		t->values[t->n++] = *s.slot[i];
		*s.slot[i] = empty;
		present |= 1ull << i;
	}
	return t->n ? seal_values(ev, k, t, present) : 0;
}

void personal_restore(ml_event *ev, struct personal_taken *t)
{
	for (size_t i = 0; i < t->n; i++)
		*t->slots[i] = t->values[i];
	if (ev->sealed == &t->sealed)
		ev->sealed = NULL;
	free(t->box);
	memset(t, 0, sizeof(*t));
}

/* The values of ev's box in *pv, unpacked into a (malloc'ed when a is
 * NULL); NULL when k is not its key (none: the household's data key was
 * destroyed). ML_ECORRUPT when the key is the right one but the box does not
 * open (altered), ML_ENOMEM. */
static int open_box(const ml_event *ev, const struct vault_key *k, struct wire_arena *a,
		    Maillage__V1__PersonalValues **pv)
{
	const Maillage__V1__SealedPersonalData *sp = ev->sealed;
	uint8_t aad[300], *plain;
	size_t aadlen, len;
	int rc;

	*pv = NULL;
	if (!k || sp->key_id.len != VAULT_KEY_ID_LEN ||
	    memcmp(sp->key_id.data, k->id, VAULT_KEY_ID_LEN))
		return 0;
	aadlen = seal_aad(aad, sizeof(aad), ev, k->id, sp->present);
	if (!aadlen || sp->box.len < CRYPTO_BOX_OVERHEAD)
		return ML_ECORRUPT;
	len = sp->box.len - CRYPTO_BOX_OVERHEAD;
	plain = a ? wire_arena_alloc(a, len ? len : 1) : malloc(len ? len : 1);
	if (!plain)
		return ML_ENOMEM;
	rc = crypto_open(k->key, aad, aadlen, sp->box.data, sp->box.len, plain) ? ML_ECORRUPT : 0;
	if (!rc && !(*pv = a ? wire_personal_values_unpack_in(a, plain, len) :
			       wire_personal_values_unpack(plain, len)))
		rc = ML_ECORRUPT;
	explicit_bzero(plain, len);
	if (!a)
		free(plain);
	return rc;
}

/* personal_open() and personal_open_in(): a is the arena ev lives in, or
 * NULL when wire_free() owns it. */
static int open_fields(ml_event *ev, const struct vault_key *k, struct wire_arena *a)
{
	Maillage__V1__PersonalValues *pv;
	struct slots s;
	size_t j = 0;
	int rc;

	if (!ev->sealed)
		return 0;
	rc = collect(ev, &s);
	if (rc)
		return rc == ML_EINTERNAL ? ML_ECORRUPT : rc;
	rc = open_box(ev, k, a, &pv);
	if (rc)
		return rc;
	ev->personal_data = pv ? MAILLAGE__V1__PERSONAL_DATA_STATE__PERSONAL_DATA_CLEAR :
				 MAILLAGE__V1__PERSONAL_DATA_STATE__PERSONAL_DATA_ERASED;
	for (size_t i = 0; !rc && i < N_FIELDS; i++) {
		if (!(ev->sealed->present & (1ull << i)))
			continue;
		if (!s.slot[i] || (pv && j >= pv->n_values))
			rc = ML_ECORRUPT;
		else if (a)
			*s.slot[i] = pv ? pv->values[j++] : erased;  /* all in a */
		else
			rc = wire_set_string(s.slot[i], pv ? pv->values[j++] : PERSONAL_ERASED);
	}
	if (!a) {
		if (pv)
			for (size_t i = 0; i < pv->n_values; i++)
				explicit_bzero(pv->values[i], strlen(pv->values[i]));
		wire_free(pv);
		wire_free(ev->sealed);
	}
	ev->sealed = NULL;
	return rc;
}

int personal_open(ml_event *ev, const struct vault_key *k)
{
	return open_fields(ev, k, NULL);
}

int personal_open_in(ml_event *ev, const struct vault_key *k, struct wire_arena *a)
{
	/* The plaintext goes into a: it must be wiped with it. */
	return a->wipe ? open_fields(ev, k, a) : ML_EINTERNAL;
}

void personal_withhold(const ml_event *ev, struct personal_withheld *out)
{
	out->ev = *ev;
	if (ev->sealed) {
		out->ev.sealed = NULL;
		out->ev.personal_data = MAILLAGE__V1__PERSONAL_DATA_STATE__PERSONAL_DATA_WITHHELD;
	}
	if (ev->body_case == MAILLAGE__V1__EVENT__BODY_HOUSEHOLD_REFERRED) {
		out->referred = *ev->household_referred;
		out->referred.household_key.data = NULL;
		out->referred.household_key.len = 0;
		out->ev.household_referred = &out->referred;
	}
}
