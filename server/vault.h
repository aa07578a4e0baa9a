/* vault.h - the households' data keys (DESIGN.md section 5).
 *
 * One random 256-bit key per household and platform, made with the
 * household's first referral on that platform and stored in the
 * "households" database, beside the household's cases (evlog_keys.c),
 * wrapped (AES-256-GCM) by the data directory's key-encryption key (kek.h,
 * attached to the evlog), itself wrapped by the master key read from the
 * file the configuration names. Personal data is sealed with it
 * (personal.h). Destroying it, then rotating the key-encryption key
 * (vault_rewrap_all), erases the household's personal data on that platform
 * for good: the events stay, their sealed fields can never be opened again.
 *
 * Key material lives in struct vault_key on the stack of its user, who wipes
 * it with vault_key_wipe() when done. A new key's bytes come from the
 * thread's pool of random bytes (crypto_random_pooled()): until drawn, the
 * next keys are there, wiped when handed out, at a fork (in the child) and
 * when the writer thread ends (crypto_pool_wipe()).
 */
#ifndef MAILLAGE_VAULT_H
#define MAILLAGE_VAULT_H

#include <stdbool.h>
#include <stdint.h>

#include "crypto.h"
#include "evlog.h"

#define VAULT_KEY_ID_LEN 8

struct vault_key {
	uint8_t id[VAULT_KEY_ID_LEN];   /* random; copied into what it seals */
	uint8_t key[CRYPTO_KEY_LEN];
};

/* Check that master is the key the data directory's data keys are wrapped
 * with: meta "master_key_check" holds HMAC-SHA-256(master, a constant). A
 * directory without it gets it (txn must then be a write transaction).
 * ML_ECRYPTO when it is another key. */
int vault_check_master(struct evlog_txn *txn, const uint8_t *master);

/* The data key of household hk (32 bytes) on platform. ML_ENOTFOUND when
 * there is none (never made, or erased) unless create_at is set (write
 * transaction): then one is made and stored, under anchor create_at when the
 * household is new (the position of the referral about to be appended:
 * evlog_datakey_put()). ML_ECORRUPT when the stored key does not unwrap. */
int vault_get(struct evlog_txn *txn, const uint8_t *hk, const char *platform,
	      uint64_t create_at, struct vault_key *out);

/* The data key a scan found at anchor `at` (evlog_datakey_scan(); 0: where
 * hk's record is), unwrapped: read where it is, even away from its
 * household's record. ML_ENOTFOUND, ML_ECORRUPT as vault_get(). */
int vault_get_at(struct evlog_txn *txn, uint64_t at, const uint8_t *hk, const char *platform,
		 struct vault_key *out);

/* Re-wrap every data key under the key-encryption key being rotated in
 * (writer thread, inside the transaction that destroyed keys) and record
 * its epoch in meta "kek_epoch". */
int vault_rewrap_all(struct evlog_txn *txn, uint64_t epoch);

/* Open the data directory's keys for log (whose directory is dir): refuse
 * a master key other than the one its data keys are wrapped with (recorded
 * at the first start), open the key-encryption key (made at the first
 * start, its epoch recorded) and attach it to log. master_file names the
 * master key in messages. On failure an ML_E* code and a message in err,
 * nothing attached. Close *kek with kek_close() after evlog_close(). */
int vault_open(struct evlog *log, const char *dir, const uint8_t *master,
	       const char *master_file, struct kek **kek, char *err, size_t errlen);

/* The epoch meta records (0: none yet). */
int vault_epoch(struct evlog_txn *txn, uint64_t *epoch);
int vault_set_epoch(struct evlog_txn *txn, uint64_t epoch);

/* Destroy the data key of household hk on platform (ML_ENOTFOUND: none). */
int vault_destroy(struct evlog_txn *txn, const uint8_t *hk, const char *platform);

void vault_key_wipe(struct vault_key *k);

#endif
