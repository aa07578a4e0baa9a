/* config.h - the server's configuration: listener, TLS, storage, limits,
 * platforms and member organisations.
 *
 * File format: `key = value` lines, `#` comments, and sections
 * `[platform ID]` and `[org ID]`; see deploy/maillaged.conf.example.
 * A config is immutable once loaded and may be read from any thread; the
 * only exception is config_adopt(), for a SIGHUP reload (reload.c), under
 * the thread rules given at its prototype.
 */
#ifndef MAILLAGE_CONFIG_H
#define MAILLAGE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_SECRET_LEN 32
#define CONFIG_ID_MAX 64        /* platform and org ids: 1 to 64 of [a-z0-9-] */

struct platform {
	char *id;       /* "vaulx-bron" */
	char *code;     /* "VNX": prefix of case ids, 2 to 6 capitals */
	char *name;     /* display name */
};

struct org {
	char *id;               /* certificate subject CN, e.g. "emh" */
	char *name;             /* display name */
	int kind;               /* maillage.v1.OrgKind */
	char **platforms;       /* platform ids it belongs to */
	size_t n_platforms;
	bool data_protection;   /* may erase a household's data; COORDINATION only,
				 * default false */
};

struct config {
	char *path;                 /* the file it was read from */
	char *listen;               /* "127.0.0.1:7400" */
	char *data_dir;
	char *tls_cert, *tls_key, *tls_ca;
	char *tls_crl;              /* NULL: no revocation list */
	char *household_secret_file;
	uint8_t household_secret[CONFIG_SECRET_LEN];
	char *master_key_file;
	uint8_t master_key[CONFIG_SECRET_LEN];  /* wraps every household's data key;
						 * differs from household_secret */
	size_t max_frame_bytes;     /* default 1 MiB */
	size_t map_size_mb;         /* LMDB map size, default 1024 */
	unsigned handshake_timeout_s;   /* default 10 */
	unsigned frame_timeout_s;   /* a started frame must complete within, default 30 */
	unsigned idle_timeout_s;    /* no request at all for, default 600 */
	unsigned max_inflight;      /* requests in flight per connection, default 256 */
	size_t max_output_bytes;    /* replies buffered per connection before its reads
				     * pause, default 4 MiB */
	char *metrics_listen;       /* HTTP /metrics listener; NULL (default): off */
	int log_level;              /* enum log_level: 0 debug .. 3 error, default 1 info */
	unsigned max_connections;   /* open at once (handshakes included), default 20000 */
	unsigned max_connections_per_org; /* open at once per organisation, default 1000 */
	unsigned max_batch;         /* commands per write transaction, default 512 */
	unsigned referral_expiry_s; /* undecided referrals expire after, default 30 days */
	unsigned expiry_check_s;    /* how often the server looks for them, default 60 */
	unsigned heartbeat_s;       /* a subscriber idle this long gets a heartbeat, default 15 */
	unsigned subscriber_stall_s; /* a subscriber not reading for this long is
				      * disconnected, default 60 */
	unsigned retention_s;       /* a household's personal data on a platform is
				     * erased this long after the last event of its
				     * cases there, all closed; default 730 days */
	unsigned retention_check_s; /* how often the server applies retention_s and
				     * prunes the access journal, default 3600 */
	unsigned journal_retention_s; /* access journal records are kept for,
				       * default 365 days */
	struct platform *platforms;
	size_t n_platforms;
	struct org *orgs;
	size_t n_orgs;
};

/* Read and check the file at path. On failure returns ML_ECONFIG (or
 * ML_ENOMEM, ML_EIO) and writes "FILE:LINE: problem" into err. The household
 * secret file and the master key file it names are read too (they must hold
 * different keys). Free with config_free(), which wipes both keys. */
int config_load(const char *path, struct config **out, char *err, size_t errlen);
void config_free(struct config *cfg);

/* A difference between two loads of the configuration: section is NULL for
 * a global key, else "platform ID" or "org ID"; key is the key's name, or
 * NULL when the section is declared in only one of the two. */
typedef void (*config_change_fn)(void *arg, const char *section, const char *key);

/* Call fn once for every difference between cfg and next: each global key
 * whose value differs (the household secret and master key files compare by
 * path and by the key they hold), each key of a section declared in both
 * whose value differs, each section declared in only one. Returns how many. */
size_t config_diff(const struct config *cfg, const struct config *next,
		   config_change_fn fn, void *arg);

/* Take next's value of key (of section, as in config_diff) into cfg, and
 * leave cfg's former value in next, to be freed with it. Returns 0, or
 * ML_EINVAL for an unknown key, a section missing from either, or a key file
 * (the keys themselves are never swapped: command_prepare() relies on the
 * household secret staying the one the server started with).
 * Thread rules: on the loop thread, the only one besides the writer that
 * reads cfg. Fields the writer thread does not read (the TLS paths,
 * log_level) may be adopted at any time; an org's platforms only while the
 * writer is paused (writer_pause(), writer.h). Other fields: not while the
 * server runs. */
int config_adopt(struct config *cfg, struct config *next, const char *section,
		 const char *key);

const struct org *config_find_org(const struct config *cfg, const char *id);
const struct platform *config_find_platform(const struct config *cfg, const char *id);
const struct platform *config_platform_by_code(const struct config *cfg,
					       const char *code, size_t len);

/* True when org is a member of platform id. */
bool org_is_member(const struct org *org, const char *platform);

#endif
