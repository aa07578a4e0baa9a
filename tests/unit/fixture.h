/* fixture.h - what the unit tests on a data directory share: a temporary
 * directory, its event log with its key-encryption key, a configuration of
 * fixed organisations and platforms, a referral of one person.
 */
#ifndef MAILLAGE_TEST_FIXTURE_H
#define MAILLAGE_TEST_FIXTURE_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "wire.h"

struct evlog;
struct kek;

#define FIXTURE_DIR_LEN 64

/* Make a new directory "/tmp/maillage-NAME-XXXXXX" (mkdtemp) and write its
 * path into dir. 0, or ML_EIO with errno set. */
int fixture_dir_make(char dir[FIXTURE_DIR_LEN], const char *name);

/* Remove dir and everything below it: fs_remove_tree()'s 0 or ML_EIO. */
int fixture_dir_remove(const char *dir);

/* Give cfg its platforms, the first n_platforms (1 or 2) of vaulx-bron
 * ("VNX") and lyon-7-8 ("LYS"), and its organisations, orgs[0..n_orgs):
 * the first n_orgs (1 to 3) of landlord "L", coord "C" and asso "A", each a
 * member of every platform. orgs stays the caller's; the platforms are
 * static. The other fields of cfg are left as they are. */
void fixture_config(struct config *cfg, struct org *orgs, size_t n_orgs,
		    size_t n_platforms);

/* Open dir's event log, writable, with a map of map_size bytes, and attach
 * to it the key-encryption key of epoch (0: none yet, made now) under cfg's
 * master key. On success *log and *kek are the caller's, to close with
 * fixture_log_close(). Returns 0, or the code of evlog_open() or kek_open()
 * with their message on stderr, nothing left open. */
int fixture_log_open(const char *dir, size_t map_size, const struct config *cfg,
		     uint64_t epoch, struct evlog **log, struct kek **kek);

/* evlog_open() of dir without a key: the log, or NULL with the message on
 * stderr. */
struct evlog *fixture_evlog(const char *dir, size_t map_size, bool readonly);

/* Close log, then kek (either may be NULL). */
void fixture_log_close(struct evlog *log, struct kek *kek);

/* Give the households of dir (not open) the keys of schema 5 and before:
 * the household key first, without the anchor; and set its schema version
 * to `schema`. fixture_unanchor_txn(): the keys only, in txn (all its rows
 * copied in memory, households emptied, the rows put back). 0, or an LMDB
 * error code. */
int fixture_unanchor(const char *dir, uint32_t schema);
int fixture_unanchor_txn(MDB_txn *txn);

/* A ReferHousehold request for one person, born 1980-01-01, the one adult
 * of the household. It points into itself: initialise it where it stays. */
struct fixture_refer {
	ml_request req;
	Maillage__V1__ReferHousehold body;
	Maillage__V1__Referral ref;
	Maillage__V1__Household hh;
	Maillage__V1__Person person;
	uint8_t id[16];         /* req's command id: zeros, for the caller to set */
};

/* Fill r: the person last first referred to platform for reason. The strings
 * are not copied and must outlive r. */
void fixture_refer_init(struct fixture_refer *r, const char *platform,
			Maillage__V1__ReferralReason reason, const char *last,
			const char *first);

#endif
