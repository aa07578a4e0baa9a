/* backup.h - consistent hot copies of a data directory, and putting one back
 * in place (maillage-admin backup and restore).
 *
 * A backup is a directory holding three files:
 *   data.mdb   LMDB's compacting copy of the environment (one read snapshot:
 *              free pages left out), taken beside a live server
 *   kek        the key file, holding only the key-encryption key of the
 *              epoch the copy's meta "kek_epoch" names (kek.h)
 *   manifest   key=value lines: format, position (the copy's last event),
 *              kek_epoch, created (UTC, when the copy's snapshot was taken),
 *              data_bytes, data_sha256, kek_sha256
 * It is built in a temporary directory beside its destination (same file
 * system), every file and the directory fsync'd, verified, and only then
 * renamed into place: a directory at the destination is always a complete,
 * verified backup. Restore works the same way in the other direction.
 *
 * The master key is never in a backup: it is kept apart, as for the data
 * directory.
 *
 * Errors: ML_EEXIST (the destination exists and is not an empty directory),
 * ML_EINVAL (a path too long, or a destination without a usable last
 * component), ML_ECORRUPT (a fault: a file that does not match the
 * manifest, a log that does not verify, a key file without the epoch;
 * described in err), ML_ECRYPTO (the key file or a data key does not open
 * with the master key), ML_EUNAVAIL (backup: the key rotated during every
 * attempt), ML_ENOSPACE (the destination's or tmpdir's file system is
 * full), ML_EIO, ML_EDB, ML_ENOMEM. Every failure removes the temporary
 * directory and leaves the destination as it was, but one: when the
 * directory has been renamed into place and syncing its parent directory
 * fails, ML_EIO (or ML_ENOSPACE) is returned with err saying "is in place":
 * the destination then holds the complete, verified copy, but its name may
 * not survive a crash (sync the parent, or run the command again after
 * removing it).
 *
 * Threads: none of its own beyond LMDB's copy thread; not for the server.
 */
#ifndef MAILLAGE_BACKUP_H
#define MAILLAGE_BACKUP_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"

struct backup_opts {
	const uint8_t *master;  /* the master key (CRYPTO_KEY_LEN bytes), or NULL:
				 * the key file's structure and checksum are checked,
				 * not that it opens */
	const char *tmpdir;     /* scratch space for the model rebuild of the check */
};

struct backup_info {
	uint64_t position;      /* last event of the copy */
	uint64_t kek_epoch;     /* epoch of its key-encryption key (0: none) */
	uint64_t data_bytes;    /* size of the copy's data.mdb */
	uint64_t source_bytes;  /* size of the source's data.mdb (backup only) */
	char created[32];       /* "YYYY-MM-DDTHH:MM:SSZ" */
	unsigned attempts;      /* copies made: > 1 when a key rotation raced one */
	/* What the check found: */
	uint64_t events, cases; /* verified events and cases */
	uint64_t data_keys;     /* data keys unwrapped (with a master key) */
};

/* Copy the data directory src, which a server may be writing, into dest (a
 * path that must not exist, or an empty directory; its parent must exist),
 * check the copy (manifest, log, indexes, models against a rebuild, the key
 * file, and with opts->master that it opens and every data key unwraps)
 * and rename it into place. info is filled in. On failure err says why. */
int backup_create(const char *src, const char *dest, const struct backup_opts *opts,
		  struct backup_info *info, char *err, size_t errlen);

/* Copy the backup directory backup into a new data directory dest (same
 * rule as above), check the copy as backup_create() does, and rename it
 * into place. The backup is only read. */
int backup_restore(const char *backup, const char *dest, const struct backup_opts *opts,
		   struct backup_info *info, char *err, size_t errlen);

/* The manifest of a backup (backup_manifest.c), used by backup.c. */
struct backup_manifest {
	uint64_t position;      /* last event of the copy */
	uint64_t kek_epoch;     /* epoch of the key file's slot (0: no key file) */
	uint64_t data_bytes;    /* size of data.mdb */
	char created[32];       /* "YYYY-MM-DDTHH:MM:SSZ" */
	uint8_t data_sha[CRYPTO_SHA256_LEN];    /* SHA-256 of data.mdb */
	uint8_t kek_sha[CRYPTO_SHA256_LEN];     /* of the key file (with kek_epoch) */
};

/* Write m as the new file DIR/manifest (it must not exist), synced. 0,
 * ML_ENOSPACE or ML_EIO with errno set (a partial file may be left). */
int backup_manifest_write(const char *dir, const struct backup_manifest *m);

/* Read DIR/manifest into m. 0; ML_EIO when it cannot be read, ML_ECORRUPT
 * when it is not a complete manifest of this format (a bad line, a key
 * missing); err says which file and line. Keys it does not know are
 * skipped (a later minor version's). */
int backup_manifest_read(const char *dir, struct backup_manifest *m, char *err,
			 size_t errlen);

#endif
