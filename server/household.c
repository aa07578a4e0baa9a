/* household.c - normalising a household's identity and keying it with the
 * server's secret (see household.h for the rules).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "household.h"
#include "validate.h"

/* Latin letters with accents (UTF-8, two bytes) and what they fold to. */
static const struct fold {
	const char *utf8;
	const char *ascii;
} folds[] = {
	{ "à", "a" }, { "â", "a" }, { "ä", "a" }, { "á", "a" }, { "ã", "a" }, { "å", "a" },
	{ "À", "a" }, { "Â", "a" }, { "Ä", "a" }, { "Á", "a" }, { "Ã", "a" }, { "Å", "a" },
	{ "ç", "c" }, { "Ç", "c" },
	{ "é", "e" }, { "è", "e" }, { "ê", "e" }, { "ë", "e" },
	{ "É", "e" }, { "È", "e" }, { "Ê", "e" }, { "Ë", "e" },
	{ "í", "i" }, { "ì", "i" }, { "î", "i" }, { "ï", "i" },
	{ "Í", "i" }, { "Ì", "i" }, { "Î", "i" }, { "Ï", "i" },
	{ "ñ", "n" }, { "Ñ", "n" },
	{ "ó", "o" }, { "ò", "o" }, { "ô", "o" }, { "ö", "o" }, { "õ", "o" },
	{ "Ó", "o" }, { "Ò", "o" }, { "Ô", "o" }, { "Ö", "o" }, { "Õ", "o" },
	{ "ú", "u" }, { "ù", "u" }, { "û", "u" }, { "ü", "u" },
	{ "Ú", "u" }, { "Ù", "u" }, { "Û", "u" }, { "Ü", "u" },
	{ "ý", "y" }, { "ÿ", "y" }, { "Ý", "y" }, { "Ÿ", "y" },
	{ "œ", "oe" }, { "Œ", "oe" }, { "æ", "ae" }, { "Æ", "ae" }, { "ß", "ss" },
};

/* Length of the UTF-8 sequence starting with byte c (1 for invalid bytes). */
static size_t seq_len(unsigned char c)
{
	if (c >= 0xf0)
		return 4;
	if (c >= 0xe0)
		return 3;
	if (c >= 0xc0)
		return 2;
	return 1;
}

/* Append the normalised form of name to out at *n: letters and digits only,
 * folded to lowercase ASCII. ML_EINVAL if it does not fit or holds none. */
static int normalise(const char *name, char *out, size_t outlen, size_t *n)
{
	size_t start = *n;

	for (const char *p = name; *p; p += strnlen(p, seq_len((unsigned char)*p))) {
		const char *ascii = NULL;
		char one[2] = { 0, 0 };

		if (isascii(*p) && isalnum((unsigned char)*p)) {
			one[0] = (char)tolower((unsigned char)*p);
			ascii = one;
		}
		for (size_t i = 0; !ascii && i < sizeof(folds) / sizeof(folds[0]); i++)
			if (!strncmp(p, folds[i].utf8, strlen(folds[i].utf8)))
				ascii = folds[i].ascii;
		if (!ascii)
			continue;
		if (*n + strlen(ascii) >= outlen)
			return ML_EINVAL;
		memcpy(out + *n, ascii, strlen(ascii));
		*n += strlen(ascii);
	}
	out[*n] = 0;
	return *n > start ? 0 : ML_EINVAL;
}

int household_identity(const Maillage__V1__Person *p, char *out, size_t outlen)
{
	size_t n = 0;
	int64_t us;

	if (!p || outlen < 16 || validate_parse_date(p->birth_date, &us))
		return ML_EINVAL;
	if (normalise(p->last_name, out, outlen, &n) || n + 2 >= outlen)
		return ML_EINVAL;
	out[n++] = '|';
	if (normalise(p->first_name, out, outlen, &n) || n + 12 >= outlen)
		return ML_EINVAL;
	n += (size_t)snprintf(out + n, outlen - n, "|%s", p->birth_date);
	return 0;
}

int household_key(const uint8_t *secret, size_t secretlen,
		  const Maillage__V1__Person *p, uint8_t key[CRYPTO_SHA256_LEN])
{
	char identity[512];
	int rc = household_identity(p, identity, sizeof(identity));

	if (rc)
		return rc;
	return crypto_hmac_sha256(secret, secretlen, identity, strlen(identity), key);
}
