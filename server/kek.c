/* kek.c - the key-encryption key file and its rotation (see kek.h). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "fsutil.h"
#include "kek.h"
#include "wire.h"

#define MAGIC "MLKEK001"
#define MAGIC_LEN 8
#define SLOT_LEN (8 + KEK_WRAPPED_LEN)
#define FILE_LEN KEK_FILE_LEN
_Static_assert(FILE_LEN == MAGIC_LEN + 2 * SLOT_LEN, "kek.h's KEK_FILE_LEN is this layout");
#define LABEL "maillage kek v1"

struct slot {
	uint64_t epoch;                /* 0: empty */
	uint8_t key[CRYPTO_KEY_LEN];
};

struct kek {
	pthread_mutex_t lock;
	int fd;
	char path[4200];
	uint8_t master[CRYPTO_KEY_LEN];
	struct slot cur;               /* wraps new data keys */
	struct slot next;              /* during a rotation */
	struct slot old;               /* the previous one, for readers of older snapshots
					* until kek_forget_old(); never on disk again */
};

static void slot_wipe(struct slot *s)
{
	explicit_bzero(s, sizeof(*s));
}

static void put_be64(uint8_t *p, uint64_t v)
{
	wire_put_be32(p, (uint32_t)(v >> 32));
	wire_put_be32(p + 4, (uint32_t)v);
}

static uint64_t get_be64(const uint8_t *p)
{
	return (uint64_t)wire_get_be32(p) << 32 | wire_get_be32(p + 4);
}

/* What a sealed KEK is bound to: the label and its epoch. */
static size_t slot_aad(uint8_t aad[sizeof(LABEL) + 8], uint64_t epoch)
{
	memcpy(aad, LABEL, sizeof(LABEL) - 1);
	put_be64(aad + sizeof(LABEL) - 1, epoch);
	return sizeof(LABEL) - 1 + 8;
}

/* Write the file: the two slots a and b (NULL or epoch 0: empty), synced. */
static int write_file(struct kek *k, const struct slot *a, const struct slot *b)
{
	uint8_t buf[FILE_LEN], aad[sizeof(LABEL) + 8];
	const struct slot *slots[2] = { a, b };
	int rc = 0;

	memset(buf, 0, sizeof(buf));
	memcpy(buf, MAGIC, MAGIC_LEN);
	for (int i = 0; !rc && i < 2; i++) {
		uint8_t *p = buf + MAGIC_LEN + i * SLOT_LEN;

		if (!slots[i] || !slots[i]->epoch)
			continue;
		put_be64(p, slots[i]->epoch);
		rc = crypto_seal(k->master, aad, slot_aad(aad, slots[i]->epoch), slots[i]->key,
				 CRYPTO_KEY_LEN, p + 8);
	}
	if (!rc)
		rc = fs_pwrite_all(k->fd, buf, sizeof(buf), 0);
	if (!rc && fdatasync(k->fd))
		rc = ML_EIO;
	explicit_bzero(buf, sizeof(buf));
	return rc;
}

/* Find the slot of epoch in the file and open it into k->cur. */
static int read_file(struct kek *k, uint64_t epoch, bool *other, char *err, size_t errlen)
{
	uint8_t buf[FILE_LEN], aad[sizeof(LABEL) + 8];
	ssize_t n = pread(k->fd, buf, sizeof(buf), 0);
	int rc = ML_ENOTFOUND;

	*other = false;
	if (n != (ssize_t)sizeof(buf) || memcmp(buf, MAGIC, MAGIC_LEN)) {
		snprintf(err, errlen, "'%s' is not a maillage key file", k->path);
		return ML_ECORRUPT;
	}
	for (int i = 0; i < 2; i++) {
		const uint8_t *p = buf + MAGIC_LEN + i * SLOT_LEN;
		uint64_t e = get_be64(p);

		if (e && e != epoch)
			*other = true;
		if (e != epoch || rc != ML_ENOTFOUND)
			continue;
		rc = crypto_open(k->master, aad, slot_aad(aad, e), p + 8, KEK_WRAPPED_LEN,
				 k->cur.key);
		if (!rc)
			k->cur.epoch = e;
	}
	explicit_bzero(buf, sizeof(buf));
	if (rc == ML_ENOTFOUND)
		snprintf(err, errlen, "'%s' holds no key of epoch %llu, the one the data "
			 "directory's keys are wrapped with", k->path, (unsigned long long)epoch);
	else if (rc)
		snprintf(err, errlen, "'%s' does not open with the master key", k->path);
	return rc ? ML_ECRYPTO : 0;
}

/* A new data directory: a first KEK, epoch 1. */
static int create_file(struct kek *k, char *err, size_t errlen)
{
	int rc;

	k->fd = open(k->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (k->fd < 0) {
		snprintf(err, errlen, "cannot create '%s': %s", k->path, strerror(errno));
		return ML_EIO;
	}
	k->cur.epoch = 1;
	rc = crypto_random(k->cur.key, CRYPTO_KEY_LEN);
	if (!rc)
		rc = write_file(k, &k->cur, NULL);
	if (rc)
		snprintf(err, errlen, "cannot write '%s': %s", k->path, ml_strerror(rc));
	return rc;
}

int kek_open(const char *dir, const uint8_t *master, uint64_t epoch, struct kek **out,
	     char *err, size_t errlen)
{
	struct kek *k = calloc(1, sizeof(*k));
	bool other = false;
	int rc;

	if (!k) {
		snprintf(err, errlen, "out of memory");
		return ML_ENOMEM;
	}
	pthread_mutex_init(&k->lock, NULL);
	k->fd = -1;
	memcpy(k->master, master, CRYPTO_KEY_LEN);
	snprintf(k->path, sizeof(k->path), "%s/kek", dir);
	if (!epoch) {
		rc = create_file(k, err, errlen);
	} else if ((k->fd = open(k->path, O_RDWR | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "cannot open '%s': %s (the data directory's keys are "
			 "wrapped with the key it holds: restore it with the directory)",
			 k->path, strerror(errno));
		rc = ML_EIO;
	} else {
		rc = read_file(k, epoch, &other, err, errlen);
		/* A rotation that did not commit, or an old KEK not yet wiped. */
		if (!rc && other && (rc = write_file(k, &k->cur, NULL)))
			snprintf(err, errlen, "cannot rewrite '%s': %s", k->path, ml_strerror(rc));
	}
	if (rc) {
		kek_close(k);
		return rc;
	}
	*out = k;
	return 0;
}

void kek_close(struct kek *k)
{
	if (!k)
		return;
	if (k->fd >= 0)
		close(k->fd);
	pthread_mutex_destroy(&k->lock);
	explicit_bzero(k, sizeof(*k));
	free(k);
}

uint64_t kek_epoch(struct kek *k)
{
	uint64_t e;

	pthread_mutex_lock(&k->lock);
	e = k->cur.epoch;
	pthread_mutex_unlock(&k->lock);
	return e;
}

int kek_wrap(struct kek *k, const void *aad, size_t aadlen, const uint8_t *key,
	     uint8_t wrapped[KEK_WRAPPED_LEN], uint64_t *epoch)
{
	const struct slot *s;
	int rc;

	pthread_mutex_lock(&k->lock);
	s = k->next.epoch ? &k->next : &k->cur;
	*epoch = s->epoch;
	rc = crypto_seal(s->key, aad, aadlen, key, CRYPTO_KEY_LEN, wrapped);
	pthread_mutex_unlock(&k->lock);
	return rc;
}

int kek_unwrap(struct kek *k, uint64_t epoch, const void *aad, size_t aadlen,
	       const uint8_t *wrapped, size_t len, uint8_t key[CRYPTO_KEY_LEN])
{
	const struct slot *slots[3] = { &k->cur, &k->next, &k->old };
	int rc = ML_ENOTFOUND;

	pthread_mutex_lock(&k->lock);
	for (int i = 0; i < 3 && rc == ML_ENOTFOUND; i++)
		if (epoch && slots[i]->epoch == epoch)
			rc = crypto_open(slots[i]->key, aad, aadlen, wrapped, len, key);
	pthread_mutex_unlock(&k->lock);
	return rc;
}

int kek_rotate_begin(struct kek *k, uint64_t *next)
{
	struct slot s = { .epoch = k->cur.epoch + 1 };
	int rc = crypto_random(s.key, CRYPTO_KEY_LEN);

	if (!rc)
		rc = write_file(k, &k->cur, &s);     /* both, until the commit says which */
	if (!rc) {
		pthread_mutex_lock(&k->lock);
		k->next = s;
		pthread_mutex_unlock(&k->lock);
		*next = s.epoch;
	}
	slot_wipe(&s);
	return rc;
}

int kek_rotate_end(struct kek *k, bool committed)
{
	int rc;

	pthread_mutex_lock(&k->lock);
	if (committed) {
		slot_wipe(&k->old);
		k->old = k->cur;
		k->cur = k->next;
	}
	slot_wipe(&k->next);
	pthread_mutex_unlock(&k->lock);
	/* The file keeps only the current KEK: the old one is overwritten. */
	rc = write_file(k, &k->cur, NULL);
	return rc;
}

void kek_forget_old(struct kek *k)
{
	pthread_mutex_lock(&k->lock);
	slot_wipe(&k->old);
	pthread_mutex_unlock(&k->lock);
}

/* path's bytes (FILE_LEN + 1 at most, so a longer file shows) once two
 * reads in a row agree; *len gets their length. */
static int read_stable(const char *path, uint8_t *buf, size_t *len)
{
	uint8_t again[FILE_LEN + 1];
	int rc = ML_EIO;

	for (int i = 0; i < 10 && rc; i++) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t a, b;

		if (fd < 0)
			return ML_EIO;
		a = pread(fd, buf, sizeof(again), 0);
		b = pread(fd, again, sizeof(again), 0);
		close(fd);
		if (a < 0 || b < 0)
			return ML_EIO;
		if (a == b && !memcmp(buf, again, (size_t)a)) {
			*len = (size_t)a;
			rc = 0;
		}
	}
	explicit_bzero(again, sizeof(again));
	if (rc)
		errno = EAGAIN;
	return rc;
}

int kek_extract(const char *path, uint64_t epoch, uint8_t out[KEK_FILE_LEN])
{
	uint8_t buf[FILE_LEN + 1];
	size_t len = 0;
	int rc = read_stable(path, buf, &len);

	if (!rc && (len != FILE_LEN || memcmp(buf, MAGIC, MAGIC_LEN)))
		rc = ML_ECORRUPT;
	for (int i = 0; !rc && i < 2; i++) {
		const uint8_t *p = buf + MAGIC_LEN + i * SLOT_LEN;

		if (!epoch || get_be64(p) != epoch)
			continue;
		memset(out, 0, FILE_LEN);
		memcpy(out, MAGIC, MAGIC_LEN);
		memcpy(out + MAGIC_LEN, p, SLOT_LEN);
		explicit_bzero(buf, sizeof(buf));
		return 0;
	}
	explicit_bzero(buf, sizeof(buf));
	return rc ? rc : ML_ENOTFOUND;
}
