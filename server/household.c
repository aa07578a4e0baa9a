/* household.c - normalising a household's identity and keying it with the
 * server's secret (see household.h for the rules).
 */
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "household.h"
#include "validate.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Latin letters of French names (UTF-8, two bytes) and what they fold to. */
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

/* Characters of other scripts are kept as written, but these punctuation
 * marks separate words like ASCII punctuation does. */
static const char *const separators[] = {
	"\u00a0", "\u00ab", "\u00bb", "\u00b7", "\u2010", "\u2011", "\u2012",
	"\u2013", "\u2014", "\u2015", "\u2018", "\u2019", "\u201c", "\u201d",
	"\u2032", "\u202f",
};

/* What the character at p (len bytes) becomes: *out and the returned length;
 * 0 when it is dropped. one holds the result for ASCII letters and digits. */
static size_t fold_char(const char *p, size_t len, const char **out, char one[2])
{
	unsigned char c = (unsigned char)*p;

	if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z')) {
		one[0] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
		*out = one;
		return 1;
	}
	if (c < 0x80)
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(folds); i++)
		if (!strncmp(p, folds[i].utf8, strlen(folds[i].utf8))) {
			*out = folds[i].ascii;
			return strlen(*out);
		}
	for (size_t i = 0; i < ARRAY_SIZE(separators); i++)
		if (!strncmp(p, separators[i], strlen(separators[i])))
			return 0;
	*out = p;      /* another script's letter: kept as written */
	return len;
}

/* Append s (len bytes) to out at *n, leaving room for the NUL; ML_EINVAL when
 * it does not fit. */
static int append(char *out, size_t outlen, size_t *n, const char *s, size_t len)
{
	if (*n + len >= outlen)
		return ML_EINVAL;
	memcpy(out + *n, s, len);
	*n += len;
	out[*n] = 0;
	return 0;
}

/* Append the normalised form of name to out at *n. ML_EINVAL if it does not
 * fit or keeps no character at all. */
static int normalise(const char *name, char *out, size_t outlen, size_t *n)
{
	size_t start = *n, len;

	for (const char *p = name; *p; p += len) {
		char one[2] = { 0, 0 };
		const char *kept = NULL;
		size_t keep;

		len = strnlen(p, seq_len((unsigned char)*p));
		keep = fold_char(p, len, &kept, one);
		if (keep && append(out, outlen, n, kept, keep))
			return ML_EINVAL;
	}
	return *n > start ? 0 : ML_EINVAL;
}

int household_identity(const Maillage__V1__Person *p, char *out, size_t outlen)
{
	size_t n = 0;
	int64_t us;

	if (!p || !outlen || validate_parse_date(p->birth_date, &us))
		return ML_EINVAL;
	out[0] = 0;
	if (normalise(p->last_name, out, outlen, &n) || append(out, outlen, &n, "|", 1) ||
	    normalise(p->first_name, out, outlen, &n) || append(out, outlen, &n, "|", 1) ||
	    append(out, outlen, &n, p->birth_date, strlen(p->birth_date)))
		return ML_EINVAL;
	return 0;
}

int household_key(const uint8_t *secret, size_t secretlen,
		  const Maillage__V1__Person *p, uint8_t key[CRYPTO_SHA256_LEN])
{
	/* Two names of VALIDATE_MAX_NAME bytes never grow when folded. */
	char identity[2 * VALIDATE_MAX_NAME + 16];
	int rc = household_identity(p, identity, sizeof(identity));

	if (!rc)
		rc = crypto_hmac_sha256(secret, secretlen, identity, strlen(identity), key);
	explicit_bzero(identity, sizeof(identity));     /* personal data */
	return rc;
}
