/* backup.c - consistent hot copies of a data directory and their restore
 * (see backup.h): LMDB's compacting copy, the key file of the copy's epoch,
 * a manifest, a full check, then an atomic rename into place.
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
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backup.h"
#include "err.h"
#include "evlog.h"
#include "kek.h"
#include "vault.h"
#include "verify.h"

#define BACKUP_ATTEMPTS 10
#define MANIFEST_FORMAT 1

#define PATH_LEN 4096

/* What a manifest records. */
struct manifest {
	uint64_t position, kek_epoch, data_bytes;
	char created[32];
	uint8_t data_sha[CRYPTO_SHA256_LEN];
	uint8_t kek_sha[CRYPTO_SHA256_LEN];
};

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

/* out = dir/name. The directories given to this file are checked to leave
 * room for the names it adds (path_ok), so this never truncates. */
static void path_join(char *out, const char *dir, const char *name)
{
	int n = snprintf(out, PATH_LEN, "%s/%s", dir, name);

	assert(n > 0 && n < PATH_LEN);
}

/* Room for "/.BASE.restore-XXXXXX/lock.mdb" and the like after each path. */
static int paths_ok(const char *a, const char *b, char *err, size_t errlen)
{
	const char *bad = strlen(a) >= PATH_LEN / 2 - 64 ? a :
			  strlen(b) >= PATH_LEN / 2 - 64 ? b : NULL;

	return bad ? fail(err, errlen, ML_EINVAL, "path too long: '%.64s...'", bad) : 0;
}

/* fsync a file or a directory by path. */
static int sync_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0)
		return ML_EIO;
	if (fsync(fd))
		rc = ML_EIO;
	close(fd);
	return rc;
}

/* Split path (trailing slashes ignored) into its parent directory and its
 * last component. ML_EINVAL for "" or "/". */
static int split_path(const char *path, char *parent, char *base)
{
	char buf[PATH_LEN];
	size_t n = strlen(path);
	char *slash;

	if (n == 0 || n >= sizeof(buf))
		return ML_EINVAL;
	memcpy(buf, path, n + 1);
	while (n > 1 && buf[n - 1] == '/')
		buf[--n] = 0;
	slash = strrchr(buf, '/');
	if (!slash) {
		snprintf(parent, PATH_LEN, ".");
		snprintf(base, PATH_LEN, "%s", buf);
	} else {
		*slash = 0;
		snprintf(parent, PATH_LEN, "%s", slash == buf ? "/" : buf);
		snprintf(base, PATH_LEN, "%s", slash + 1);
	}
	return base[0] && strcmp(base, ".") && strcmp(base, "..") ? 0 : ML_EINVAL;
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

/* A new directory beside dest: PARENT/.BASE.what-XXXXXX (mode 0700). */
static int make_temp(const char *dest, const char *what, char *tmp, char *err, size_t errlen)
{
	char parent[PATH_LEN], base[PATH_LEN];

	if (split_path(dest, parent, base))
		return fail(err, errlen, ML_EINVAL, "'%s' is not a usable destination", dest);
	if ((size_t)snprintf(tmp, PATH_LEN, "%s/.%s.%s-XXXXXX", parent, base, what) >= PATH_LEN)
		return fail(err, errlen, ML_EINVAL, "'%s': path too long", dest);
	if (!mkdtemp(tmp))
		return fail(err, errlen, ML_EIO, "cannot create a directory in '%s': %s", parent,
			    strerror(errno));
	return 0;
}

/* Remove the temporary directory tmp and the files in it (it has no
 * subdirectories). */
static void remove_temp(const char *tmp)
{
	char path[PATH_LEN];
	DIR *d = opendir(tmp);
	struct dirent *e;

	while (d && (e = readdir(d))) {
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			path_join(path, tmp, e->d_name);
			unlink(path);
		}
	}
	if (d)
		closedir(d);
	rmdir(tmp);
}

/* Make tmp the directory dest: drop LMDB's lock file (the check made it),
 * sync tmp, rename, sync the parent. */
static int put_in_place(const char *tmp, const char *dest, char *err, size_t errlen)
{
	char path[PATH_LEN], parent[PATH_LEN], base[PATH_LEN];

	path_join(path, tmp, "lock.mdb");
	if (unlink(path) && errno != ENOENT)
		return fail(err, errlen, ML_EIO, "cannot remove '%s': %s", path, strerror(errno));
	if (sync_path(tmp))
		return fail(err, errlen, ML_EIO, "cannot sync '%s': %s", tmp, strerror(errno));
	if (rename(tmp, dest))
		return fail(err, errlen, errno == ENOTEMPTY || errno == EEXIST ? ML_EEXIST : ML_EIO,
			    "cannot rename '%s' to '%s': %s", tmp, dest, strerror(errno));
	split_path(dest, parent, base);
	if (sync_path(parent))
		return fail(err, errlen, ML_EIO, "cannot sync '%s': %s", parent, strerror(errno));
	return 0;
}

/* Write len bytes of buf to fd, whole. */
static int write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return errno == ENOSPC ? ML_EFULL : ML_EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Create path (it must not exist) with buf, synced. */
static int write_new_file(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	int rc;

	if (fd < 0)
		return ML_EIO;
	rc = write_all(fd, buf, len);
	if (!rc && fsync(fd))
		rc = ML_EIO;
	close(fd);
	return rc;
}

/* Copy the file src to the new file dst, synced. */
static int copy_file(const char *src, const char *dst)
{
	uint8_t buf[1 << 16];
	int in = open(src, O_RDONLY | O_CLOEXEC), out = -1;
	ssize_t n;
	int rc = 0;

	if (in < 0)
		return ML_EIO;
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0) {
		close(in);
		return ML_EIO;
	}
	while (!rc && (n = read(in, buf, sizeof(buf))) != 0) {
		if (n < 0)
			rc = errno == EINTR ? 0 : ML_EIO;
		else
			rc = write_all(out, buf, (size_t)n);
	}
	if (!rc && fsync(out))
		rc = ML_EIO;
	close(out);
	close(in);
	return rc;
}

/* The size and SHA-256 of the file at path. */
static int hash_file(const char *path, uint64_t *size, uint8_t sha[CRYPTO_SHA256_LEN])
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	void *map;
	int rc = ML_EIO;

	if (fd < 0)
		return ML_EIO;
	if (fstat(fd, &st))
		goto out_close;
	*size = (uint64_t)st.st_size;
	if (!st.st_size) {
		crypto_sha256("", 0, sha);
		rc = 0;
		goto out_close;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED)
		goto out_close;
	crypto_sha256(map, (size_t)st.st_size, sha);
	munmap(map, (size_t)st.st_size);
	rc = 0;
out_close:
	close(fd);
	return rc;
}

static void hex(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
}

static int nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* n bytes from 2n lowercase hex digits (and nothing more). */
static bool unhex(const char *s, uint8_t *out, size_t n)
{
	if (strlen(s) != 2 * n)
		return false;
	for (size_t i = 0; i < n; i++) {
		int hi = nibble(s[2 * i]), lo = nibble(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

/* The manifest as text. */
static int manifest_write(const char *dir, const struct manifest *m)
{
	char path[PATH_LEN], text[1024], dsha[2 * CRYPTO_SHA256_LEN + 1],
	     ksha[2 * CRYPTO_SHA256_LEN + 1];
	int n;

	hex(m->data_sha, CRYPTO_SHA256_LEN, dsha);
	hex(m->kek_sha, CRYPTO_SHA256_LEN, ksha);
	n = snprintf(text, sizeof(text),
		     "# maillage backup (maillage-admin restore BACKUP DATA_DIR)\n"
		     "format=%d\nposition=%" PRIu64 "\nkek_epoch=%" PRIu64 "\ncreated=%s\n"
		     "data_bytes=%" PRIu64 "\ndata_sha256=%s\nkek_sha256=%s\n",
		     MANIFEST_FORMAT, m->position, m->kek_epoch, m->created, m->data_bytes,
		     dsha, m->kek_epoch ? ksha : "");
	path_join(path, dir, "manifest");
	return write_new_file(path, text, (size_t)n);
}

#define MANIFEST_KEYS 0x7fu   /* one bit per key below */

/* Parse one "key=value" line into m; *seen gets the bit of its key. Keys it
 * does not know are skipped (a later minor version's). */
static bool manifest_line(char *line, struct manifest *m, unsigned *seen)
{
	uint64_t *const nums[] = { &m->position, &m->kek_epoch, &m->data_bytes };
	static const char *const num_keys[] = { "position", "kek_epoch", "data_bytes" };
	char *eq = strchr(line, '='), *end;
	const char *v;

	if (line[0] == '#' || line[0] == 0)
		return true;
	if (!eq)
		return false;
	*eq = 0;
	v = eq + 1;
	for (unsigned i = 0; i < 3; i++) {
		if (strcmp(line, num_keys[i]))
			continue;
		*seen |= 1u << i;
		errno = 0;
		*nums[i] = strtoull(v, &end, 10);
		return !errno && end != v && !*end && v[0] != '-';
	}
	if (!strcmp(line, "format")) {
		*seen |= 0x08;
		return atoi(v) == MANIFEST_FORMAT;
	}
	if (!strcmp(line, "created")) {
		*seen |= 0x10;
		return snprintf(m->created, sizeof(m->created), "%s", v) < (int)sizeof(m->created);
	}
	if (!strcmp(line, "data_sha256")) {
		*seen |= 0x20;
		return unhex(v, m->data_sha, CRYPTO_SHA256_LEN);
	}
	if (!strcmp(line, "kek_sha256")) {
		*seen |= 0x40;
		return !v[0] || unhex(v, m->kek_sha, CRYPTO_SHA256_LEN);
	}
	return true;
}

/* Read DIR/manifest. ML_EIO when it cannot be read, ML_ECORRUPT when it is
 * not a complete manifest of this format. */
static int manifest_read(const char *dir, struct manifest *m, char *err, size_t errlen)
{
	char path[PATH_LEN], line[512];
	unsigned seen = 0, lineno = 0;
	FILE *f;
	int rc = 0;

	memset(m, 0, sizeof(*m));
	path_join(path, dir, "manifest");
	f = fopen(path, "r");
	if (!f)
		return fail(err, errlen, ML_EIO, "'%s' is not a maillage backup: cannot read "
			    "'%s': %s", dir, path, strerror(errno));
	while (!rc && fgets(line, sizeof(line), f)) {
		lineno++;
		line[strcspn(line, "\n")] = 0;
		if (!manifest_line(line, m, &seen))
			rc = fail(err, errlen, ML_ECORRUPT, "%s:%u: bad line", path, lineno);
	}
	fclose(f);
	if (!rc && seen != MANIFEST_KEYS)
		rc = fail(err, errlen, ML_ECORRUPT, "'%s' is incomplete", path);
	return rc;
}

/* Write tmp/kek holding only the slot of epoch from the live key file of
 * src. ML_ENOTFOUND when the file no longer holds that epoch. */
static int copy_kek(const char *src, const char *tmp, uint64_t epoch, char *err,
		    size_t errlen)
{
	uint8_t out[KEK_FILE_LEN];
	char path[PATH_LEN];
	int rc;

	path_join(path, src, "kek");
	rc = kek_extract(path, epoch, out);
	if (rc == ML_EIO)
		return fail(err, errlen, rc, "cannot read '%s': %s", path, strerror(errno));
	if (rc == ML_ECORRUPT)
		fail(err, errlen, rc, "'%s' is not a maillage key file", path);
	if (!rc) {
		path_join(path, tmp, "kek");
		rc = write_new_file(path, out, sizeof(out));
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
static int check_files(const char *dir, const struct manifest *m, char *err, size_t errlen)
{
	uint8_t sha[CRYPTO_SHA256_LEN], file[KEK_FILE_LEN];
	char path[PATH_LEN];
	uint64_t size = 0;
	int rc;

	path_join(path, dir, "data.mdb");
	if (hash_file(path, &size, sha))
		return fail(err, errlen, ML_EIO, "cannot read '%s': %s", path, strerror(errno));
	if (size != m->data_bytes)
		return fail(err, errlen, ML_ECORRUPT, "'%s' is %" PRIu64 " bytes, the manifest "
			    "says %" PRIu64 " (truncated or altered)", path, size, m->data_bytes);
	if (memcmp(sha, m->data_sha, sizeof(sha)))
		return fail(err, errlen, ML_ECORRUPT, "'%s' does not match the manifest's "
			    "SHA-256 (altered)", path);
	if (!m->kek_epoch)
		return 0;
	path_join(path, dir, "kek");
	if (hash_file(path, &size, sha))
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

static int unwrap_one(void *arg, const uint8_t *hk, const char *platform)
{
	struct keys_walk *w = arg;
	struct vault_key k;
	int rc = vault_get(w->txn, hk, platform, false, &k);

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
static int check_copy(const char *dir, const struct manifest *m,
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
	char path[PATH_LEN];
	int fd, rc;

	path_join(path, tmp, "data.mdb");
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return fail(err, errlen, ML_EIO, "cannot create '%s': %s", path, strerror(errno));
	rc = evlog_copy(src, fd);
	if (rc)
		rc = fail(err, errlen, rc, "cannot copy '%s': %s", evlog_dir(src), ml_strerror(rc));
	else if (fsync(fd))
		rc = fail(err, errlen, ML_EIO, "cannot sync '%s': %s", path, strerror(errno));
	close(fd);
	return rc;
}

/* One attempt: copy the environment, then the key file of the copy's epoch,
 * hash both and write the manifest. ML_ENOTFOUND: a rotation passed between
 * the snapshot and the read of the key file; try again. */
static int copy_once(struct evlog *src, const char *tmp, struct manifest *m,
		     char *err, size_t errlen)
{
	char path[PATH_LEN];
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
	path_join(path, tmp, "data.mdb");
	if (hash_file(path, &m->data_bytes, m->data_sha))
		return fail(err, errlen, ML_EIO, "cannot read '%s'", path);
	path_join(path, tmp, "kek");
	if (m->kek_epoch && hash_file(path, &size, m->kek_sha))
		return fail(err, errlen, ML_EIO, "cannot read '%s'", path);
	if (manifest_write(tmp, m))
		return fail(err, errlen, ML_EIO, "cannot write the manifest in '%s'", tmp);
	return 0;
}

static void fill_info(struct backup_info *info, const struct manifest *m)
{
	info->position = m->position;
	info->kek_epoch = m->kek_epoch;
	info->data_bytes = m->data_bytes;
	snprintf(info->created, sizeof(info->created), "%s", m->created);
}

/* Copy until a copy's epoch is found in the key file; tmp gets the
 * directory of the good one (the others are removed). */
static int copy_consistent(struct evlog *src, const char *dest, char *tmp,
			   struct manifest *m, struct backup_info *info, char *err,
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
			remove_temp(tmp);
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
	char tmp[PATH_LEN], path[PATH_LEN];
	struct evlog *log = NULL;
	struct manifest m;
	struct stat st;
	int rc;

	memset(info, 0, sizeof(*info));
	err[0] = 0;
	rc = paths_ok(src, dest, err, errlen);
	if (!rc)
		rc = check_dest(dest, err, errlen);
	if (rc)
		return rc;
	rc = evlog_open(src, 0, true, &log, err, errlen);
	if (rc)
		return rc;
	path_join(path, src, "data.mdb");
	if (!stat(path, &st))
		info->source_bytes = (uint64_t)st.st_size;
	rc = copy_consistent(log, dest, tmp, &m, info, err, errlen);
	evlog_close(log);
	if (rc)
		return rc;
	fill_info(info, &m);
	rc = check_copy(tmp, &m, opts, info, err, errlen);
	if (!rc)
		rc = put_in_place(tmp, dest, err, errlen);
	if (rc)
		remove_temp(tmp);
	return rc;
}

int backup_restore(const char *backup, const char *dest, const struct backup_opts *opts,
		   struct backup_info *info, char *err, size_t errlen)
{
	char tmp[PATH_LEN], from[PATH_LEN], to[PATH_LEN];
	static const char *const files[] = { "data.mdb", "kek" };
	struct manifest m;
	int rc;

	memset(info, 0, sizeof(*info));
	err[0] = 0;
	rc = paths_ok(backup, dest, err, errlen);
	if (!rc)
		rc = check_dest(dest, err, errlen);
	if (!rc)
		rc = manifest_read(backup, &m, err, errlen);
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
		path_join(from, backup, files[i]);
		path_join(to, tmp, files[i]);
		if (copy_file(from, to))
			rc = fail(err, errlen, ML_EIO, "cannot copy '%s' to '%s': %s", from, to,
				  strerror(errno));
	}
	if (!rc)
		rc = check_copy(tmp, &m, opts, info, err, errlen);
	if (!rc)
		rc = put_in_place(tmp, dest, err, errlen);
	if (rc)
		remove_temp(tmp);
	return rc;
}
