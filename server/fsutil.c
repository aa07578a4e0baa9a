/* fsutil.c - file and directory utilities (see fsutil.h): whole writes,
 * synced new files and copies, hashes, paths, temporary directories.
 */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "fsutil.h"

int fs_err(int errnum)
{
	return errnum == ENOSPC || errnum == EDQUOT ? ML_ENOSPACE : ML_EIO;
}

/* The ML_E* code of the errno a system call just set. */
static int sys_err(void)
{
	return fs_err(errno);
}

/* close(2) that leaves errno as it was (for the clean-up after a failure). */
static void close_keep_errno(int fd)
{
	int saved = errno;

	close(fd);
	errno = saved;
}

/* The loop of fs_write_all and fs_pwrite_all: off < 0 writes at the file
 * offset. */
static int write_loop(int fd, const void *buf, size_t len, off_t off)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = off < 0 ? write(fd, p, len) : pwrite(fd, p, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return sys_err();
		if (n == 0) {           /* not for regular files; never loop on it */
			errno = EIO;
			return ML_EIO;
		}
		p += n;
		len -= (size_t)n;
		if (off >= 0)
			off += n;
	}
	return 0;
}

int fs_write_all(int fd, const void *buf, size_t len)
{
	return write_loop(fd, buf, len, -1);
}

int fs_pwrite_all(int fd, const void *buf, size_t len, off_t off)
{
	assert(off >= 0);
	return write_loop(fd, buf, len, off);
}

/* A new file for writing: O_EXCL, mode 0600. */
static int create_new(const char *path)
{
	return open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
}

int fs_write_new_file(const char *path, const void *buf, size_t len)
{
	int fd = create_new(path);
	int rc;

	if (fd < 0)
		return sys_err();
	rc = fs_write_all(fd, buf, len);
	if (!rc && fsync(fd))
		rc = sys_err();
	close_keep_errno(fd);
	return rc;
}

int fs_copy_file(const char *src, const char *dst)
{
	uint8_t buf[1 << 16];
	int in = open(src, O_RDONLY | O_CLOEXEC), out;
	ssize_t n;
	int rc = 0;

	if (in < 0)
		return ML_EIO;
	out = create_new(dst);
	if (out < 0) {
		rc = sys_err();
		close_keep_errno(in);
		return rc;
	}
	while (!rc && (n = read(in, buf, sizeof(buf))) != 0) {
		if (n < 0)
			rc = errno == EINTR ? 0 : ML_EIO;
		else
			rc = fs_write_all(out, buf, (size_t)n);
	}
	if (!rc && fsync(out))
		rc = sys_err();
	close_keep_errno(out);
	close_keep_errno(in);
	return rc;
}

int fs_hash_file(const char *path, uint64_t *size, uint8_t sha[CRYPTO_SHA256_LEN])
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
	close_keep_errno(fd);
	return rc;
}

int fs_sync_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0)
		return ML_EIO;
	if (fsync(fd))
		rc = sys_err();
	close_keep_errno(fd);
	return rc;
}

int fs_split_path(const char *path, char parent[FS_PATH_LEN], char base[FS_PATH_LEN])
{
	char buf[FS_PATH_LEN];
	size_t n = strlen(path);
	char *slash;

	if (n == 0 || n >= sizeof(buf))
		return ML_EINVAL;
	memcpy(buf, path, n + 1);
	while (n > 1 && buf[n - 1] == '/')
		buf[--n] = 0;
	slash = strrchr(buf, '/');
	if (!slash) {
		snprintf(parent, FS_PATH_LEN, ".");
		snprintf(base, FS_PATH_LEN, "%s", buf);
	} else {
		*slash = 0;
		snprintf(parent, FS_PATH_LEN, "%s", slash == buf ? "/" : buf);
		snprintf(base, FS_PATH_LEN, "%s", slash + 1);
	}
	return base[0] && strcmp(base, ".") && strcmp(base, "..") ? 0 : ML_EINVAL;
}

void fs_path_join(char out[FS_PATH_LEN], const char *dir, const char *name)
{
	int n = snprintf(out, FS_PATH_LEN, "%s/%s", dir, name);

	assert(n > 0 && n < FS_PATH_LEN);
	(void)n;
}

int fs_make_temp_beside(const char *path, const char *what, char tmp[FS_PATH_LEN])
{
	char parent[FS_PATH_LEN], base[FS_PATH_LEN];

	if (fs_split_path(path, parent, base))
		return ML_EINVAL;
	if ((size_t)snprintf(tmp, FS_PATH_LEN, "%s/.%s.%s-XXXXXX", parent, base, what) >=
	    FS_PATH_LEN)
		return ML_EINVAL;
	return mkdtemp(tmp) ? 0 : sys_err();
}

/* Remove every entry of the open directory fd (taken: closed here), depth
 * first. *first_errno gets the errno of the first failure. */
static int remove_entries(int fd, int *first_errno)
{
	DIR *d = fdopendir(fd);
	struct dirent *e;
	int rc = 0;

	if (!d) {
		*first_errno = errno;
		close(fd);
		return ML_EIO;
	}
	while ((e = readdir(d))) {
		int sub;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (!unlinkat(dirfd(d), e->d_name, 0) || errno == ENOENT)
			continue;
		/* A directory: Linux says EISDIR, POSIX EPERM. */
		if (errno == EISDIR || errno == EPERM) {
			sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
				     O_CLOEXEC);
			if (sub >= 0 && !remove_entries(sub, first_errno) &&
			    !unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR))
				continue;
		}
		if (!rc && !*first_errno)
			*first_errno = errno;
		rc = ML_EIO;
	}
	closedir(d);
	return rc;
}

int fs_remove_tree(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int first_errno = 0, rc;

	if (fd < 0)
		return errno == ENOENT ? 0 : ML_EIO;
	rc = remove_entries(fd, &first_errno);
	if (rmdir(path) && !rc) {
		first_errno = errno;
		rc = ML_EIO;
	}
	if (rc)
		errno = first_errno ? first_errno : EIO;
	return rc;
}
