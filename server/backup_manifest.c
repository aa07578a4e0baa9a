/* backup_manifest.c - a backup's manifest file (see backup.h): key=value
 * lines written and parsed, the hashes in lowercase hex.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup.h"
#include "err.h"
#include "fsutil.h"

#define MANIFEST_FORMAT 1

/* The n bytes of p as 2n lowercase hex digits in out (2n + 1 bytes). */
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

int backup_manifest_write(const char *dir, const struct backup_manifest *m)
{
	char path[FS_PATH_LEN], text[1024], dsha[2 * CRYPTO_SHA256_LEN + 1],
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
	fs_path_join(path, dir, "manifest");
	return fs_write_new_file(path, text, (size_t)n);
}

#define MANIFEST_KEYS 0x7fu   /* one bit per key below */

/* Parse one "key=value" line into m; *seen gets the bit of its key. Keys it
 * does not know are skipped (a later minor version's). */
static bool manifest_line(char *line, struct backup_manifest *m, unsigned *seen)
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

int backup_manifest_read(const char *dir, struct backup_manifest *m, char *err, size_t errlen)
{
	char path[FS_PATH_LEN], line[512];
	unsigned seen = 0, lineno = 0;
	FILE *f;
	int rc = 0;

	memset(m, 0, sizeof(*m));
	fs_path_join(path, dir, "manifest");
	f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "'%s' is not a maillage backup: cannot read '%s': %s", dir,
			 path, strerror(errno));
		return ML_EIO;
	}
	while (!rc && fgets(line, sizeof(line), f)) {
		lineno++;
		line[strcspn(line, "\n")] = 0;
		if (!manifest_line(line, m, &seen)) {
			snprintf(err, errlen, "%s:%u: bad line", path, lineno);
			rc = ML_ECORRUPT;
		}
	}
	fclose(f);
	if (!rc && seen != MANIFEST_KEYS) {
		snprintf(err, errlen, "'%s' is incomplete", path);
		rc = ML_ECORRUPT;
	}
	return rc;
}
