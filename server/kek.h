/* kek.h - the data directory's key-encryption key (KEK): what makes an
 * erasure final (DESIGN.md section 5).
 *
 * Every household's data key is stored in LMDB wrapped by the KEK of an
 * epoch. LMDB cannot forget bytes for sure: it writes pages copy-on-write,
 * leaves deleted bytes in the unused part of live pages and may write stale
 * buffer contents into new pages. So the KEK itself lives outside LMDB, in
 * the file DIR/kek, wrapped by the master key, where it is overwritten in
 * place. An erasure rotates it: a new KEK is written beside the current one
 * (synced), every remaining data key is re-wrapped under it in the same LMDB
 * transaction that destroys the erased one and records the new epoch in
 * meta ("kek_epoch"), and once that commits the old KEK is overwritten and
 * synced. Whatever copy of an erased data key LMDB left anywhere in the data
 * directory is wrapped by a KEK that no longer exists.
 *
 * File: "MLKEK001", then two slots of { epoch (u64 BE, 0 = empty), the KEK
 * sealed with the master key (nonce | AES-256-GCM | tag), bound to the epoch }.
 * Crash safety: at open, the slot of meta's epoch is the KEK; the other slot
 * (a rotation that did not commit, or an old KEK not yet overwritten) is
 * wiped.
 *
 * Threads: kek_wrap() and kek_unwrap() may be called from any thread; the
 * rotation functions from the writer thread only.
 */
#ifndef MAILLAGE_KEK_H
#define MAILLAGE_KEK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"

#define KEK_WRAPPED_LEN (CRYPTO_KEY_LEN + CRYPTO_BOX_OVERHEAD)

/* The key file's size (what a backup copies). */
#define KEK_FILE_LEN (8 + 2 * (8 + KEK_WRAPPED_LEN))

struct kek;

/* Read the key file at path (until two reads in a row agree, so never half
 * of a rotation's rewrite) and write into out a key file holding only its
 * slot of epoch (a backup's: the KEK of its copy, not the previous one).
 * ML_ENOTFOUND when no slot holds epoch (a rotation passed), ML_ECORRUPT when
 * path is not a key file, ML_EIO with errno (EAGAIN: it kept changing). No
 * master key needed: the slot stays sealed. */
int kek_extract(const char *path, uint64_t epoch, uint8_t out[KEK_FILE_LEN]);

/* Open DIR/kek with the master key; epoch is the one meta records (0: none
 * yet, a new data directory: a first KEK of epoch 1 is made and synced, and
 * the caller records 1). Refuses (ML_ECRYPTO, ML_EIO, ML_ECORRUPT, with a
 * message naming the file) a missing or unreadable file when epoch is set,
 * a file without that epoch, or one the master key does not open. */
int kek_open(const char *dir, const uint8_t *master, uint64_t epoch, struct kek **out,
	     char *err, size_t errlen);
void kek_close(struct kek *k);

/* The current epoch. */
uint64_t kek_epoch(struct kek *k);

/* Seal a 32-byte data key under the current KEK (*epoch gets its epoch), or
 * open one sealed under the KEK of epoch (ML_ENOTFOUND: that KEK is gone;
 * ML_ECRYPTO: it does not open). aad binds the key to its place. */
int kek_wrap(struct kek *k, const void *aad, size_t aadlen, const uint8_t *key,
	     uint8_t wrapped[KEK_WRAPPED_LEN], uint64_t *epoch);
int kek_unwrap(struct kek *k, uint64_t epoch, const void *aad, size_t aadlen,
	       const uint8_t *wrapped, size_t len, uint8_t key[CRYPTO_KEY_LEN]);

/* Rotation (writer thread): kek_rotate_begin() makes the next KEK, writes it
 * beside the current one and syncs; from then on kek_wrap() uses it. After
 * the LMDB transaction that re-wrapped every data key and recorded the new
 * epoch, kek_rotate_end(committed): true overwrites the old KEK in the file
 * (and in memory); false forgets the new one. */
int kek_rotate_begin(struct kek *k, uint64_t *next);
int kek_rotate_end(struct kek *k, bool committed);

/* Forget the previous KEK in memory too, once no reader can be on a snapshot
 * from before the rotation (the writer knows it from its scrub). */
void kek_forget_old(struct kek *k);

#endif
