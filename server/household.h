/* household.h - the household key: a keyed hash of the normalised identity
 * that links the cases of one household without storing the identity in any
 * index (DESIGN.md section 2, the "numéro unique").
 *
 * Normalisation: the reference person's last name, first name and birth date;
 * names folded to lowercase ASCII (French accented letters lose their accent,
 * œ -> oe, æ -> ae, ß -> ss) and every other character (spaces, hyphens,
 * apostrophes, typographic quotes and dashes) dropped, so "N'Diaye",
 * "N’Diaye" and "NDIAYE" match. Letters of other scripts (Cyrillic, Arabic,
 * ...) are kept as written, case included: such names match only when written
 * the same way. The identity string is "last|first|YYYY-MM-DD".
 */
#ifndef MAILLAGE_HOUSEHOLD_H
#define MAILLAGE_HOUSEHOLD_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "wire.h"

/* Write the normalised identity of p into out (NUL-terminated). Returns 0,
 * or ML_EINVAL if it does not fit or a name normalises to nothing. */
int household_identity(const Maillage__V1__Person *p, char *out, size_t outlen);

/* key = HMAC-SHA-256(secret, identity). 0, ML_EINVAL or ML_ECRYPTO. */
int household_key(const uint8_t *secret, size_t secretlen,
		  const Maillage__V1__Person *p, uint8_t key[CRYPTO_SHA256_LEN]);

#endif
