/* vault.c - making, unwrapping and destroying the households' data keys. */
#include <string.h>

#include "err.h"
#include "vault.h"

#define WRAP_LABEL "maillage data key v1"
#define CHECK_LABEL "maillage master key check v1"
#define WRAPPED_LEN (CRYPTO_KEY_LEN + CRYPTO_BOX_OVERHEAD)

void vault_key_wipe(struct vault_key *k)
{
	explicit_bzero(k, sizeof(*k));
}

int vault_check_master(struct evlog_txn *txn, const uint8_t *master)
{
	uint8_t want[CRYPTO_SHA256_LEN], got[CRYPTO_SHA256_LEN];
	size_t len = 0;
	int rc = crypto_hmac_sha256(master, CRYPTO_KEY_LEN, CHECK_LABEL,
				    sizeof(CHECK_LABEL) - 1, want);

	if (!rc)
		rc = evlog_meta_get(txn, "master_key_check", got, sizeof(got), &len);
	if (rc == ML_ENOTFOUND)
		return evlog_meta_put(txn, "master_key_check", want, sizeof(want));
	if (rc)
		return rc;
	return len == sizeof(got) && !memcmp(got, want, len) ? 0 : ML_ECRYPTO;
}

/* What a wrapped key is bound to: the label, the household, the platform and
 * the key's id, so a wrapped key cannot be moved to another entry. */
static size_t wrap_aad(uint8_t *aad, size_t cap, const uint8_t *hk, const char *platform,
		       const uint8_t *id)
{
	size_t n = strlen(platform), len = sizeof(WRAP_LABEL) - 1;

	if (len + CRYPTO_SHA256_LEN + n + VAULT_KEY_ID_LEN > cap)
		return 0;
	memcpy(aad, WRAP_LABEL, len);
	memcpy(aad + len, hk, CRYPTO_SHA256_LEN);
	memcpy(aad + len + CRYPTO_SHA256_LEN, platform, n);
	memcpy(aad + len + CRYPTO_SHA256_LEN + n, id, VAULT_KEY_ID_LEN);
	return len + CRYPTO_SHA256_LEN + n + VAULT_KEY_ID_LEN;
}

static int make_key(struct evlog_txn *txn, const uint8_t *master, const uint8_t *hk,
		    const char *platform, struct vault_key *out)
{
	ml_data_key dk = MAILLAGE__V1__DATA_KEY__INIT;
	uint8_t aad[160], wrapped[WRAPPED_LEN];
	size_t aadlen;
	int rc = crypto_random(out, sizeof(*out));

	aadlen = wrap_aad(aad, sizeof(aad), hk, platform, out->id);
	if (!rc && !aadlen)
		rc = ML_EINVAL;
	if (!rc)
		rc = crypto_seal(master, aad, aadlen, out->key, CRYPTO_KEY_LEN, wrapped);
	if (rc)
		return rc;
	dk.key_id.data = out->id;
	dk.key_id.len = VAULT_KEY_ID_LEN;
	dk.wrapped.data = wrapped;
	dk.wrapped.len = sizeof(wrapped);
	return evlog_datakey_put(txn, hk, platform, &dk);
}

int vault_get(struct evlog_txn *txn, const uint8_t *master, const uint8_t *hk,
	      const char *platform, bool create, struct vault_key *out)
{
	ml_data_key *dk = NULL;
	uint8_t aad[160];
	size_t aadlen;
	int rc = evlog_datakey_get(txn, hk, platform, &dk);

	if (rc == ML_ENOTFOUND && create)
		return make_key(txn, master, hk, platform, out);
	if (rc)
		return rc;
	rc = ML_ECORRUPT;
	if (dk->key_id.len == VAULT_KEY_ID_LEN && dk->wrapped.len == WRAPPED_LEN) {
		memcpy(out->id, dk->key_id.data, VAULT_KEY_ID_LEN);
		aadlen = wrap_aad(aad, sizeof(aad), hk, platform, out->id);
		if (aadlen && !crypto_open(master, aad, aadlen, dk->wrapped.data,
					   dk->wrapped.len, out->key))
			rc = 0;
	}
	wire_free(dk);
	if (rc)
		vault_key_wipe(out);
	return rc;
}

int vault_destroy(struct evlog_txn *txn, const uint8_t *hk, const char *platform)
{
	return evlog_datakey_del(txn, hk, platform);
}
