/* fsutil.h - file and directory utilities: whole writes that survive EINTR
 * and short writes, new files written and synced, copies, hashes, paths,
 * temporary directories and their removal without a shell.
 *
 * Every function that acts returns 0 or a negative ML_E* code (err.h). No
 * room on the file system (ENOSPC, EDQUOT) is ML_ENOSPACE; any other failure
 * of the system is ML_EIO, and errno then holds the error of the first call
 * that failed (for the caller's message), even after the clean-up.
 *
 * Threads: no state of its own; safe from any thread.
 */
#ifndef MAILLAGE_FSUTIL_H
#define MAILLAGE_FSUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "crypto.h"

/* The size of the path buffers these functions fill (PATH_MAX on Linux). */
#define FS_PATH_LEN 4096

/* The ML_E* code of a system call's failure with errno errnum: ML_ENOSPACE
 * for ENOSPC and EDQUOT, ML_EIO for the rest. */
int fs_err(int errnum);

/* Write len bytes of buf to fd at its file offset, whole: retries on EINTR
 * and after short writes. 0, ML_ENOSPACE or ML_EIO (errno set). On failure
 * part of buf may have been written. */
int fs_write_all(int fd, const void *buf, size_t len);

/* The same at offset off with pwrite(2); fd's file offset is not used nor
 * moved. */
int fs_pwrite_all(int fd, const void *buf, size_t len, off_t off);

/* Create the file path (mode 0600; it must not exist: ML_EIO with errno
 * EEXIST), write buf to it and fsync it. 0, ML_ENOSPACE or ML_EIO (errno
 * set). On failure a partial file may be left at path: the caller removes
 * it (or its directory). */
int fs_write_new_file(const char *path, const void *buf, size_t len);

/* Copy the file src into the new file dst (mode 0600; as for
 * fs_write_new_file), synced. 0, ML_ENOSPACE or ML_EIO (errno set); on
 * failure a partial dst may be left. */
int fs_copy_file(const char *src, const char *dst);

/* The size (*size) and SHA-256 (sha) of the file at path, read through a
 * private read-only mapping. 0 or ML_EIO (errno set). */
int fs_hash_file(const char *path, uint64_t *size, uint8_t sha[CRYPTO_SHA256_LEN]);

/* fsync the file or directory at path: after a rename or a new file in a
 * directory, syncing the directory makes the entry durable. 0, ML_ENOSPACE
 * or ML_EIO (errno set). */
int fs_sync_path(const char *path);

/* Split path (trailing slashes ignored) into its parent directory ("." when
 * it has no slash, "/" at the root) and its last component, in buffers of
 * FS_PATH_LEN bytes. 0, or ML_EINVAL for "", "/", a last component of "."
 * or "..", or a path of FS_PATH_LEN bytes or more. */
int fs_split_path(const char *path, char parent[FS_PATH_LEN], char base[FS_PATH_LEN]);

/* out = dir "/" name, in a buffer of FS_PATH_LEN bytes. The caller makes
 * sure it fits (an assertion otherwise): check the length of dir once,
 * before adding names of its own. */
void fs_path_join(char out[FS_PATH_LEN], const char *dir, const char *name);

/* Make a new directory beside path, on the same file system so that it can
 * be renamed onto path: PARENT/.BASE.what-XXXXXX, mode 0700; its name in tmp
 * (FS_PATH_LEN bytes). 0; ML_EINVAL when path has no usable last component
 * or the name would not fit (errno not set); ML_ENOSPACE or ML_EIO (errno
 * set) when mkdtemp(3) fails. */
int fs_make_temp_beside(const char *path, const char *what, char tmp[FS_PATH_LEN]);

/* Remove the directory path and everything under it, like `rm -rf` but
 * without a shell: unlinkat(2) and rmdir, symbolic links removed, never
 * followed. 0 also when path does not exist. ML_EIO (errno set) when path
 * is not a directory or an entry cannot be removed; everything that can be
 * removed is, all the same. */
int fs_remove_tree(const char *path);

#endif
