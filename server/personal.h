/* personal.h - an event's personal fields (DESIGN.md section 5): which they
 * are, sealing them into the event's `sealed` box before it is stored, and
 * opening, erasing or withholding them when it is read.
 *
 * Personal fields: the reference person's identity, the household's address,
 * phone, email and tenancy reference, the dwelling reference of a proposal,
 * and every free text (notes, reasons, answers, the service a household is
 * redirected or handed over to). The table in personal.c
 * lists them; its order is part of the stored format (bit i of
 * SealedPersonalData.present is its entry i): only ever append to it.
 */
#ifndef MAILLAGE_PERSONAL_H
#define MAILLAGE_PERSONAL_H

#include <stdbool.h>
#include <stddef.h>

#include "vault.h"
#include "wire.h"

#define PERSONAL_MAX 64

/* The marker every set personal field reads after erasure. */
#define PERSONAL_ERASED "erased"

/* What personal_seal() took out of an event, for personal_restore(). */
struct personal_taken {
	char **slots[PERSONAL_MAX];
	char *values[PERSONAL_MAX];
	size_t n;
	Maillage__V1__SealedPersonalData sealed;
	uint8_t *box;
};

/* True when some personal field of ev is set (it needs a data key). */
bool personal_present(ml_event *ev);

/* Move every set personal field of ev (an event being built, whose strings
 * belong to someone else) into ev->sealed, sealed with k and bound to ev's
 * case id and version. The fields read "" until personal_restore(), which
 * must be called whatever the result. An event without any personal field
 * set gets no box. 0, ML_ENOMEM, ML_ECRYPTO or ML_EINTERNAL. */
int personal_seal(ml_event *ev, const struct vault_key *k, struct personal_taken *t);
void personal_restore(ml_event *ev, struct personal_taken *t);

/* On an unpacked event (wire_free() owns its strings): open ev->sealed with
 * k and put the fields back (personal_data CLEAR), or, with k NULL or
 * another key than the box's (the household's data key was destroyed),
 * write PERSONAL_ERASED in every field that was set (personal_data ERASED)
 * and drop ev->sealed. ML_ECORRUPT when the right key does not open the box
 * (it was altered), ML_ENOMEM. */
int personal_open(ml_event *ev, const struct vault_key *k);

/* The same for an event unpacked or copied into arena a (wire.h), which
 * must wipe (made with wipe true; else ML_EINTERNAL, nothing opened): the
 * fields point into a afterwards (the opened values are unpacked there, and
 * wiped with it by wire_arena_release()). */
int personal_open_in(ml_event *ev, const struct vault_key *k, struct wire_arena *a);

/* A shallow copy of ev for a notification: no sealed box (personal_data
 * becomes WITHHELD when it had one) and no household key. Valid while ev is. */
struct personal_withheld {
	ml_event ev;
	Maillage__V1__HouseholdReferred referred;
};
void personal_withhold(const ml_event *ev, struct personal_withheld *out);

#endif
