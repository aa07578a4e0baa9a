/* vault.c - making, unwrapping, re-wrapping and destroying the households'
 * data keys. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "grow.h"
#include "kek.h"
#include "vault.h"

#define WRAP_LABEL "maillage data key v1"
#define CHECK_LABEL "maillage master key check v1"

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

int vault_epoch(struct evlog_txn *txn, uint64_t *epoch)
{
	uint8_t v[8];
	size_t len = 0;
	int rc = evlog_meta_get(txn, "kek_epoch", v, sizeof(v), &len);

	*epoch = 0;
	if (rc == ML_ENOTFOUND)
		return 0;
	if (rc || len != sizeof(v))
		return rc ? rc : ML_ECORRUPT;
	*epoch = (uint64_t)wire_get_be32(v) << 32 | wire_get_be32(v + 4);
	return 0;
}

int vault_set_epoch(struct evlog_txn *txn, uint64_t epoch)
{
	uint8_t v[8];

	wire_put_be32(v, (uint32_t)(epoch >> 32));
	wire_put_be32(v + 4, (uint32_t)epoch);
	return evlog_meta_put(txn, "kek_epoch", v, sizeof(v));
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

/* Wrap k for hk on platform under the current key-encryption key into *dk,
 * whose wrapped bytes are in wrapped (KEK_WRAPPED_LEN) and whose key id
 * points into k: store dk before k is wiped. */
static int wrap(struct evlog_txn *txn, const uint8_t *hk, const char *platform,
		const struct vault_key *k, ml_data_key *dk, uint8_t *wrapped)
{
	uint8_t aad[160];
	size_t aadlen = wrap_aad(aad, sizeof(aad), hk, platform, k->id);
	int rc;

	if (!aadlen || !evlog_txn_kek(txn))
		return ML_EINTERNAL;
	rc = kek_wrap(evlog_txn_kek(txn), aad, aadlen, k->key, wrapped, &dk->kek_epoch);
	if (rc)
		return rc;
	dk->key_id.data = (uint8_t *)k->id;
	dk->key_id.len = VAULT_KEY_ID_LEN;
	dk->wrapped.data = wrapped;
	dk->wrapped.len = KEK_WRAPPED_LEN;
	return 0;
}

/* Unwrap dk, hk's data key on platform, into out (wiped on failure). */
static int unwrap(struct evlog_txn *txn, const ml_data_key *dk, const uint8_t *hk,
		  const char *platform, struct vault_key *out)
{
	uint8_t aad[160];
	size_t aadlen;
	int rc = ML_ECORRUPT;

	if (dk->key_id.len == VAULT_KEY_ID_LEN && evlog_txn_kek(txn)) {
		memcpy(out->id, dk->key_id.data, VAULT_KEY_ID_LEN);
		aadlen = wrap_aad(aad, sizeof(aad), hk, platform, out->id);
		if (aadlen && !kek_unwrap(evlog_txn_kek(txn), dk->kek_epoch, aad, aadlen,
					  dk->wrapped.data, dk->wrapped.len, out->key))
			rc = 0;
	}
	if (rc)
		vault_key_wipe(out);
	return rc;
}

int vault_get(struct evlog_txn *txn, const uint8_t *hk, const char *platform,
	      uint64_t create_at, struct vault_key *out)
{
	ml_data_key *dk = NULL, made = MAILLAGE__V1__DATA_KEY__INIT;
	uint8_t wrapped[KEK_WRAPPED_LEN];
	int rc = evlog_datakey_get(txn, hk, platform, &dk);

	if (rc == ML_ENOTFOUND && create_at) {
		rc = crypto_random_pooled(out, sizeof(*out));
		if (!rc)
			rc = wrap(txn, hk, platform, out, &made, wrapped);
		if (!rc)
			rc = evlog_datakey_put(txn, hk, platform, create_at, &made, false);
		if (rc)
			vault_key_wipe(out);
		return rc;
	}
	if (!rc)
		rc = unwrap(txn, dk, hk, platform, out);
	wire_free(dk);
	return rc;
}

int vault_destroy(struct evlog_txn *txn, const uint8_t *hk, const char *platform)
{
	return evlog_datakey_del(txn, hk, platform);
}

/* The entries to re-wrap, found by a scan (the scan must not change them). */
struct entries {
	struct entry {
		uint8_t hk[CRYPTO_SHA256_LEN];
		char platform[66];
		uint64_t at;
	} *list;
	size_t n, cap;
};

static int collect(void *arg, const uint8_t *hk, const char *platform, uint64_t at)
{
	struct entries *e = arg;

	struct entry *more = grow_for_one(e->list, e->n, &e->cap, sizeof(*more), 256);

	if (!more)
		return ML_ENOMEM;
	e->list = more;
	memcpy(e->list[e->n].hk, hk, CRYPTO_SHA256_LEN);
	strncpy(e->list[e->n].platform, platform, sizeof(e->list[0].platform) - 1);
	e->list[e->n].platform[sizeof(e->list[0].platform) - 1] = 0;
	e->list[e->n].at = at;
	e->n++;
	return 0;
}

int vault_get_at(struct evlog_txn *txn, uint64_t at, const uint8_t *hk, const char *platform,
		 struct vault_key *out)
{
	ml_data_key *dk = NULL;
	int rc = evlog_datakey_get_at(txn, at, hk, platform, &dk);

	if (!rc)
		rc = unwrap(txn, dk, hk, platform, out);
	wire_free(dk);
	return rc;
}

/* Re-wrap the data key of entry x where it is (its anchor: even a key away
 * from its household's record is re-wrapped, not lost with the old KEK). */
static int rewrap(struct evlog_txn *txn, const struct entry *x)
{
	ml_data_key next = MAILLAGE__V1__DATA_KEY__INIT;
	uint8_t wrapped[KEK_WRAPPED_LEN];
	struct vault_key k;
	int rc = vault_get_at(txn, x->at, x->hk, x->platform, &k);

	if (rc)
		return rc;
	rc = wrap(txn, x->hk, x->platform, &k, &next, wrapped);
	if (!rc)         /* before the wipe: next's key id points into k */
		rc = evlog_datakey_replace_at(txn, x->at, x->hk, x->platform, &next);
	vault_key_wipe(&k);
	return rc;
}

int vault_rewrap_all(struct evlog_txn *txn, uint64_t epoch)
{
	struct entries e = { 0 };
	int rc = evlog_datakey_scan(txn, collect, &e);

	for (size_t i = 0; !rc && i < e.n; i++)
		rc = rewrap(txn, &e.list[i]);
	free(e.list);
	return rc ? rc : vault_set_epoch(txn, epoch);
}

int vault_open(struct evlog *log, const char *dir, const uint8_t *master,
	       const char *master_file, struct kek **kek, char *err, size_t errlen)
{
	struct evlog_txn *txn = NULL;
	uint64_t epoch = 0;
	int rc = evlog_txn_begin(log, true, &txn);

	err[0] = 0;
	*kek = NULL;
	if (!rc && (rc = vault_check_master(txn, master)) == ML_ECRYPTO)
		snprintf(err, errlen, "%s: this is not the master key the data directory's "
			 "keys are wrapped with (restore the right key file)", master_file);
	if (!rc)
		rc = vault_epoch(txn, &epoch);
	if (!rc)
		rc = kek_open(dir, master, epoch, kek, err, errlen);
	if (!rc && !epoch)
		rc = vault_set_epoch(txn, kek_epoch(*kek));
	if (!rc)
		rc = evlog_txn_commit(txn);
	else if (txn)
		evlog_txn_abort(txn);
	if (rc) {
		if (!err[0])
			snprintf(err, errlen, "%s", ml_strerror(rc));
		kek_close(*kek);
		*kek = NULL;
		return rc;
	}
	evlog_attach_kek(log, *kek);
	return 0;
}
