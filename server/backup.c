/* backup.c - consistent hot copies of a data directory and their restore
 * (see backup.h): LMDB's compacting copy, the key file of the copy's epoch,
 * a manifest, a full check, then an atomic rename into place. The file
 * utilities are fsutil.c's, the manifest's format backup_manifest.c's.
 *
 * Why the copy's key file is right (the KEK rotates on erasure, kek.h):
 * mdb_env_copyfd2() takes its own read snapshot, so the epoch is not read
 * from the live environment but from the finished copy. Then the live key
 * file is read. A rotation writes the new epoch into the key file (synced)
 * *before* the LMDB commit that records it, and removes the old epoch from
 * the file only *after* a later commit has recorded a newer one. So the slot
 * of the copy's epoch e was in the file when the snapshot was taken, and it
 * is still there when the file is read afterwards unless a later rotation
 * committed in between; an epoch number, once committed, never names
 * another key (a rotation always makes current + 1). Found: it is the
 * copy's KEK. Not found: a rotation passed; the whole copy is made again
 * (BACKUP_ATTEMPTS at most; erasures are rare). The file is read twice and
 * the two reads must agree, so a read racing the rotation's rewrite is not
 * taken; with the master key the check then opens the slot (AES-GCM: a torn
 * slot would not) and unwraps every data key of the copy with it. Only that
 * one slot goes into the backup: a copy taken just after an erasure must not
 * carry the previous KEK, which wraps the erased data key, and LMDB's copy
 * writes whole pages, where stale bytes of that wrapped key may linger.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backup.h"
#include "err.h"
#include "evlog.h"
#include "fsutil.h"
#include "kek.h"
#include "vault.h"
#include "verify.h"

#define BACKUP_ATTEMPTS 10

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Write the message into err and return rc. */
static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return rc;
}

/* Room for "/.BASE.restore-XXXXXX/lock.mdb" and the like after each path. */
static int paths_ok(const char *a, const char *b, char *err, size_t errlen)
{
	const char *bad = strlen(a) >= FS_PATH_LEN / 2 - 64 ? a :
			  strlen(b) >= FS_PATH_LEN / 2 - 64 ? b : NULL;

	return bad ? fail(err, errlen, ML_EINVAL, "path too long: '%.64s...'", bad) : 0;
}

/* 0 when dest does not exist or is an empty directory (rename(2) may then
 * replace it); ML_EEXIST otherwise. */
static int check_dest(const char *dest, char *err, size_t errlen)
{
	DIR *d = opendir(dest);
	struct dirent *e;
	bool empty = true;

	if (!d && errno == ENOENT)
		return 0;
	if (!d)
		return fail(err, errlen, ML_EEXIST, "refusing to write '%s': %s", dest,
			    errno == ENOTDIR ? "it is a file" : strerror(errno));
	while (empty && (e = readdir(d)))
		empty = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
	closedir(d);
	return empty ? 0 : fail(err, errlen, ML_EEXIST, "refusing to write '%s': it is not "
				"empty", dest);
}

/* A new directory beside dest for the copy: PARENT/.BASE.what-XXXXXX. */
static int make_temp(const char *dest, const char *what, char *tmp, char *err, size_t errlen)
{
	int rc = fs_make_temp_beside(dest, what, tmp);

	if (rc == ML_EINVAL)
		return fail(err, errlen, rc, "'%s' is not a usable destination", dest);
	if (rc)
		return fail(err, errlen, rc, "cannot create a directory beside '%s': %s", dest,
			    strerror(errno));
	return 0;
}

/* Make tmp the directory dest: drop LMDB's lock file (the check made it),
 * sync tmp, rename, sync the parent. A failure before the rename leaves
 * dest as it was; a failure to sync the parent after it leaves dest
 * complete and verified, its entry maybe not durable yet (backup.h). */
static int put_in_place(const char *tmp, const char *dest, char *err, size_t errlen)
{
	char path[FS_PATH_LEN], parent[FS_PATH_LEN], base[FS_PATH_LEN];
	int rc;

	fs_path_join(path, tmp, "lock.mdb");
	if (unlink(path) && errno != ENOENT)
		return fail(err, errlen, ML_EIO, "cannot remove '%s': %s", path, strerror(errno));
	if ((rc = fs_sync_path(tmp)))
		return fail(err, errlen, rc, "cannot sync '%s': %s", tmp, strerror(errno));
	if (rename(tmp, dest))
		return fail(err, errlen, errno == ENOTEMPTY || errno == EEXIST ? ML_EEXIST : ML_EIO,
			    "cannot rename '%s' to '%s': %s", tmp, dest, strerror(errno));
	fs_split_path(dest, parent, base);
	if ((rc = fs_sync_path(parent)))
		return fail(err, errlen, rc, "'%s' is in place but syncing '%s' failed: %s "
			    "(its name may not survive a crash)", dest, parent, strerror(errno));
	return 0;
}

/* Write tmp/kek holding only the slot of epoch from the live key file of
 * src. ML_ENOTFOUND when the file no longer holds that epoch. */
static int copy_kek(const char *src, const char *tmp, uint64_t epoch, char *err,
		    size_t errlen)
{
	uint8_t out[KEK_FILE_LEN];
	char path[FS_PATH_LEN];
	int rc;

	fs_path_join(path, src, "kek");
	rc = kek_extract(path, epoch, out);
	if (rc == ML_EIO)
		return fail(err, errlen, rc, "cannot read '%s': %s", path, strerror(errno));
	if (rc == ML_ECORRUPT)
		fail(err, errlen, rc, "'%s' is not a maillage key file", path);
	if (!rc) {
		fs_path_join(path, tmp, "kek");
		rc = fs_write_new_file(path, out, sizeof(out));
		if (rc)
			fail(err, errlen, rc, "cannot write '%s': %s", path, strerror(errno));
	}
	explicit_bzero(out, sizeof(out));
	return rc;
}

/* The last position and the KEK epoch of the environment log. */
static int read_state(struct evlog *log, uint64_t *position, uint64_t *epoch)
{
	struct evlog_txn *txn;
	int rc = evlog_txn_begin(log, false, &txn);

	if (rc)
		return rc;
	*position = evlog_last_position(txn);
	rc = vault_epoch(txn, epoch);
	evlog_txn_abort(txn);
	return rc;
}

/* Compare the files of dir with the manifest m: data.mdb's size and hash,
 * and the key file's hash and its slot of m's epoch (a key file is
 * required when the epoch is set). */
static int check_files(const char *dir, const struct backup_manifest *m, char *err, size_t errlen)
{
	uint8_t sha[CRYPTO_SHA256_LEN], file[KEK_FILE_LEN];
	char path[FS_PATH_LEN];
	uint64_t size = 0;
	int rc;

	fs_path_join(path, dir, "data.mdb");
	if (fs_hash_file(path, &size, sha))
		return fail(err, errlen, ML_EIO, "cannot read '%s': %s", path, strerror(errno));
	if (size != m->data_bytes)
		return fail(err, errlen, ML_ECORRUPT, "'%s' is %" PRIu64 " bytes, the manifest "
			    "says %" PRIu64 " (truncated or altered)", path, size, m->data_bytes);
	if (memcmp(sha, m->data_sha, sizeof(sha)))
		return fail(err, errlen, ML_ECORRUPT, "'%s' does not match the manifest's "
			    "SHA-256 (altered)", path);
	if (!m->kek_epoch)
		return 0;
	fs_path_join(path, dir, "kek");
	if (fs_hash_file(path, &size, sha))
		return fail(err, errlen, ML_ECORRUPT, "cannot read '%s': %s (the backup's "
			    "data keys are wrapped with the key it holds)", path, strerror(errno));
	if (memcmp(sha, m->kek_sha, sizeof(sha)))
		return fail(err, errlen, ML_ECORRUPT, "'%s' does not match the manifest's "
			    "SHA-256 (altered or truncated)", path);
	rc = kek_extract(path, m->kek_epoch, file);
	explicit_bzero(file, sizeof(file));
	if (rc)
		return fail(err, errlen, ML_ECORRUPT, "'%s' holds no key of epoch %" PRIu64, path,
			    m->kek_epoch);
	return 0;
}

/* With the master key: the key file opens, the master key is the one the
 * directory was started with, and every data key unwraps. */
struct keys_walk {
	struct evlog_txn *txn;
	uint64_t n;
};

static int unwrap_one(void *arg, const uint8_t *hk, const char *platform, uint64_t at)
{
	struct keys_walk *w = arg;
	struct vault_key k;
	int rc = vault_get_at(w->txn, at, hk, platform, &k);

	vault_key_wipe(&k);
	w->n += !rc;
	return rc == ML_ECORRUPT ? ML_ECRYPTO : rc;
}

static int check_keys(struct evlog *log, const char *dir, const uint8_t *master,
		      uint64_t epoch, uint64_t *n, char *err, size_t errlen)
{
	struct keys_walk w = { 0 };
	struct kek *k = NULL;
	int rc = kek_open(dir, master, epoch, &k, err, errlen);

	if (rc)
		return rc;
	evlog_attach_kek(log, k);
	rc = evlog_txn_begin(log, false, &w.txn);
	if (!rc && (rc = vault_check_master(w.txn, master)) == ML_ECRYPTO)
		fail(err, errlen, rc, "'%s' was not made with this master key", dir);
	if (!rc && (rc = evlog_datakey_scan(w.txn, unwrap_one, &w)) == ML_ECRYPTO)
		fail(err, errlen, rc, "a data key of '%s' does not unwrap with its key file",
		     dir);
	else if (rc && !err[0])
		fail(err, errlen, rc, "cannot read the data keys of '%s': %s", dir,
		     ml_strerror(rc));
	evlog_txn_abort(w.txn);
	evlog_attach_kek(log, NULL);
	kek_close(k);
	*n = w.n;
	return rc;
}

/* The log, its indexes and the models against a rebuild. */
static int check_log(struct evlog *log, const char *dir, const char *tmpdir,
		     struct backup_info *info, char *err, size_t errlen)
{
	struct verify_report rep;
	int rc = verify_log(log, &rep);

	info->events = rep.events;
	info->cases = rep.cases;
	if (!rc)
		rc = verify_models(log, tmpdir ? tmpdir : "/tmp", &rep);
	if (rc == ML_ECORRUPT)
		return fail(err, errlen, rc, "'%s': %s", dir, rep.fault);
	if (rc)
		return fail(err, errlen, rc, "cannot verify '%s': %s", dir, ml_strerror(rc));
	return 0;
}

/* Check the copy in dir against the manifest m (written or read): files,
 * position and epoch, log and models, and the keys with a master key. */
static int check_copy(const char *dir, const struct backup_manifest *m,
		      const struct backup_opts *opts, struct backup_info *info,
		      char *err, size_t errlen)
{
	struct evlog *log = NULL;
	uint64_t pos = 0, epoch = 0;
	int rc = check_files(dir, m, err, errlen);

	if (rc)
		return rc;
	err[0] = 0;
	rc = evlog_open(dir, 0, true, &log, err, errlen);
	if (rc)
		return rc == ML_ESCHEMA ? ML_ECORRUPT : rc;
	rc = read_state(log, &pos, &epoch);
	if (rc)
		fail(err, errlen, rc, "cannot read '%s': %s", dir, ml_strerror(rc));
	else if (pos != m->position || epoch != m->kek_epoch)
		rc = fail(err, errlen, ML_ECORRUPT, "'%s' is at position %" PRIu64 ", epoch %"
			  PRIu64 "; the manifest says %" PRIu64 ", %" PRIu64, dir, pos, epoch,
			  m->position, m->kek_epoch);
	if (!rc)
		rc = check_log(log, dir, opts->tmpdir, info, err, errlen);
	if (!rc && opts->master && epoch)
		rc = check_keys(log, dir, opts->master, epoch, &info->data_keys, err, errlen);
	evlog_close(log);
	return rc;
}

static void utc_now(char *out, size_t len)
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* LMDB's compacting copy of src's environment into tmp/data.mdb, synced. */
static int copy_env(struct evlog *src, const char *tmp, char *err, size_t errlen)
{
	char path[FS_PATH_LEN];
	int fd, rc;

	fs_path_join(path, tmp, "data.mdb");
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return fail(err, errlen, fs_err(errno), "cannot create '%s': %s", path,
			    strerror(errno));
	rc = evlog_copy(src, fd);
	if (rc)
		rc = fail(err, errlen, rc, "cannot copy '%s': %s", evlog_dir(src), ml_strerror(rc));
	else if (fsync(fd))
		rc = fail(err, errlen, fs_err(errno), "cannot sync '%s': %s", path,
			  strerror(errno));
	close(fd);
	return rc;
}

/* One attempt: copy the environment, then the key file of the copy's epoch,
 * hash both and write the manifest. ML_ENOTFOUND: a rotation passed between
 * the snapshot and the read of the key file; try again. */
static int copy_once(struct evlog *src, const char *tmp, struct backup_manifest *m,
		     char *err, size_t errlen)
{
	char path[FS_PATH_LEN];
	struct evlog *copy;
	uint64_t size;
	int rc;

	memset(m, 0, sizeof(*m));
	utc_now(m->created, sizeof(m->created));
	rc = copy_env(src, tmp, err, errlen);
	if (rc)
		return rc;
	rc = evlog_open(tmp, 0, true, &copy, err, errlen);
	if (rc)
		return rc;
	rc = read_state(copy, &m->position, &m->kek_epoch);
	evlog_close(copy);
	if (rc)
		return fail(err, errlen, rc, "cannot read the copy in '%s': %s", tmp,
			    ml_strerror(rc));
	/* Only now, after the snapshot: see the head comment. */
	if (m->kek_epoch && (rc = copy_kek(evlog_dir(src), tmp, m->kek_epoch, err, errlen)))
		return rc;
	fs_path_join(path, tmp, "data.mdb");
	if (fs_hash_file(path, &m->data_bytes, m->data_sha))
		return fail(err, errlen, ML_EIO, "cannot read '%s'", path);
	fs_path_join(path, tmp, "kek");
	if (m->kek_epoch && fs_hash_file(path, &size, m->kek_sha))
		return fail(err, errlen, ML_EIO, "cannot read '%s'", path);
	if ((rc = backup_manifest_write(tmp, m)))
		return fail(err, errlen, rc, "cannot write the manifest in '%s': %s", tmp,
			    strerror(errno));
	return 0;
}

/* What backup_create() and backup_restore() do first: info and err
 * cleared, room in both paths for the names added to them, dest free. */
static int begin(const char *from, const char *dest, struct backup_info *info, char *err,
		 size_t errlen)
{
	int rc;

	memset(info, 0, sizeof(*info));
	err[0] = 0;
	rc = paths_ok(from, dest, err, errlen);
	return rc ? rc : check_dest(dest, err, errlen);
}

/* What backup_create() and backup_restore() do last: check the copy in tmp
 * against m, then rename it to dest. On failure tmp is removed. */
static int check_and_place(const char *tmp, const char *dest, const struct backup_manifest *m,
			   const struct backup_opts *opts, struct backup_info *info, char *err,
			   size_t errlen)
{
	int rc = check_copy(tmp, m, opts, info, err, errlen);

	if (!rc)
		rc = put_in_place(tmp, dest, err, errlen);
	if (rc)
		fs_remove_tree(tmp);
	return rc;
}

static void fill_info(struct backup_info *info, const struct backup_manifest *m)
{
	info->position = m->position;
	info->kek_epoch = m->kek_epoch;
	info->data_bytes = m->data_bytes;
	snprintf(info->created, sizeof(info->created), "%s", m->created);
}

/* Copy until a copy's epoch is found in the key file; tmp gets the
 * directory of the good one (the others are removed). */
static int copy_consistent(struct evlog *src, const char *dest, char *tmp,
			   struct backup_manifest *m, struct backup_info *info, char *err,
			   size_t errlen)
{
	int rc = ML_ENOTFOUND;

	while (rc == ML_ENOTFOUND && info->attempts < BACKUP_ATTEMPTS) {
		info->attempts++;
		rc = make_temp(dest, "backup", tmp, err, errlen);
		if (rc)
			return rc;
		rc = copy_once(src, tmp, m, err, errlen);
		if (rc)
			fs_remove_tree(tmp);
	}
	if (rc == ML_ENOTFOUND)
		fail(err, errlen, ML_EUNAVAIL, "the key-encryption key of '%s' rotated during "
		     "each of %d copies (erasures in progress): try again later", evlog_dir(src),
		     BACKUP_ATTEMPTS);
	return rc == ML_ENOTFOUND ? ML_EUNAVAIL : rc;
}

int backup_create(const char *src, const char *dest, const struct backup_opts *opts,
		  struct backup_info *info, char *err, size_t errlen)
{
	char tmp[FS_PATH_LEN], path[FS_PATH_LEN];
	struct evlog *log = NULL;
	struct backup_manifest m;
	struct stat st;
	int rc;

	rc = begin(src, dest, info, err, errlen);
	if (rc)
		return rc;
	rc = evlog_open(src, 0, true, &log, err, errlen);
	if (rc)
		return rc;
	fs_path_join(path, src, "data.mdb");
	if (!stat(path, &st))
		info->source_bytes = (uint64_t)st.st_size;
	rc = copy_consistent(log, dest, tmp, &m, info, err, errlen);
	evlog_close(log);
	if (rc)
		return rc;
	fill_info(info, &m);
	return check_and_place(tmp, dest, &m, opts, info, err, errlen);
}

int backup_restore(const char *backup, const char *dest, const struct backup_opts *opts,
		   struct backup_info *info, char *err, size_t errlen)
{
	char tmp[FS_PATH_LEN], from[FS_PATH_LEN], to[FS_PATH_LEN];
	static const char *const files[] = { "data.mdb", "kek" };
	struct backup_manifest m;
	int rc;

	rc = begin(backup, dest, info, err, errlen);
	if (!rc)
		rc = backup_manifest_read(backup, &m, err, errlen);
	if (rc)
		return rc;
	fill_info(info, &m);
	/* The backup itself first, so that a fault names its files; the copy
	 * is checked again below. */
	rc = check_files(backup, &m, err, errlen);
	if (rc)
		return rc;
	rc = make_temp(dest, "restore", tmp, err, errlen);
	if (rc)
		return rc;
	for (size_t i = 0; !rc && i < (m.kek_epoch ? 2 : 1); i++) {
		fs_path_join(from, backup, files[i]);
		fs_path_join(to, tmp, files[i]);
		if ((rc = fs_copy_file(from, to)))
			fail(err, errlen, rc, "cannot copy '%s' to '%s': %s", from, to,
			     strerror(errno));
	}
	if (rc) {
		fs_remove_tree(tmp);
		return rc;
	}
	return check_and_place(tmp, dest, &m, opts, info, err, errlen);
}
