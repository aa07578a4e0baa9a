/* admin_backup.c - maillage-admin backup and restore: the command lines and
 * what they print; the work is in server/backup.c.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_backup.h"
#include "backup.h"
#include "config.h"
#include "err.h"

/* The two positional arguments, and the master key of -c CONFIG when given
 * (written to master, *have set). 2 on a usage error or a configuration that
 * does not load, else 0. */
static int parse_args(int argc, char **argv, const char *cmd, uint8_t *master, bool *have)
{
	struct config *cfg = NULL;
	char err[1024];

	*have = false;
	if (argc == 2)
		return 0;
	if (argc != 4 || (strcmp(argv[2], "-c") && strcmp(argv[2], "--config"))) {
		fprintf(stderr, "usage: maillage-admin %s %s [-c CONFIG]\n", cmd,
			!strcmp(cmd, "backup") ? "DATA_DIR DEST" : "BACKUP DATA_DIR");
		return 2;
	}
	if (config_load(argv[3], &cfg, err, sizeof(err))) {
		fprintf(stderr, "maillage-admin: %s\n", err);
		return 2;
	}
	memcpy(master, cfg->master_key, CONFIG_SECRET_LEN);
	config_free(cfg);
	*have = true;
	return 0;
}

/* 1 for a fault found in what was read, 2 for everything else. */
static int exit_status(int rc)
{
	return rc == ML_ECORRUPT || rc == ML_ECRYPTO ? 1 : 2;
}

static void print_checked(const struct backup_info *info, bool keys)
{
	printf("verified: %" PRIu64 " events, %" PRIu64 " cases, hash chain intact, models "
	       "equal to a rebuild, ", info->events, info->cases);
	if (!info->kek_epoch)
		printf("no data keys (no key-encryption key yet)\n");
	else if (keys)
		printf("key file of epoch %" PRIu64 " opens with the master key, %" PRIu64
		       " data keys unwrap\n", info->kek_epoch, info->data_keys);
	else
		printf("key file holds epoch %" PRIu64 " (not opened: -c CONFIG checks it "
		       "with the master key)\n", info->kek_epoch);
}

/* Run fn (backup_create or backup_restore) with the arguments of cmd; on
 * success print what was done (done) and what was checked. */
typedef int (*backup_fn)(const char *from, const char *to, const struct backup_opts *opts,
			 struct backup_info *info, char *err, size_t errlen);
typedef void (*done_fn)(char **argv, const struct backup_info *info);

static int run(int argc, char **argv, const char *cmd, backup_fn fn, done_fn done)
{
	const char *tmp = getenv("TMPDIR");
	uint8_t master[CONFIG_SECRET_LEN];
	struct backup_opts opts = { .tmpdir = tmp && tmp[0] ? tmp : "/tmp" };
	struct backup_info info;
	char err[1024];
	bool have = false;
	int rc = parse_args(argc, argv, cmd, master, &have);

	if (rc)
		return rc;
	opts.master = have ? master : NULL;
	rc = fn(argv[0], argv[1], &opts, &info, err, sizeof(err));
	explicit_bzero(master, sizeof(master));
	if (rc) {
		fprintf(stderr, "maillage-admin: %s failed: %s\n", cmd,
			err[0] ? err : ml_strerror(rc));
		return exit_status(rc);
	}
	done(argv, &info);
	print_checked(&info, have);
	return 0;
}

static void backup_done(char **argv, const struct backup_info *info)
{
	printf("backed up '%s' to '%s': position %" PRIu64 ", kek epoch %" PRIu64 ", taken %s, "
	       "data.mdb %" PRIu64 " bytes (source %" PRIu64 "), %u attempt%s\n", argv[0],
	       argv[1], info->position, info->kek_epoch, info->created, info->data_bytes,
	       info->source_bytes, info->attempts, info->attempts == 1 ? "" : "s");
}

static void restore_done(char **argv, const struct backup_info *info)
{
	printf("restored '%s' into '%s': position %" PRIu64 ", kek epoch %" PRIu64 ", backup "
	       "taken %s\n", argv[0], argv[1], info->position, info->kek_epoch, info->created);
}

int admin_backup(int argc, char **argv)
{
	return run(argc, argv, "backup", backup_create, backup_done);
}

int admin_restore(int argc, char **argv)
{
	return run(argc, argv, "restore", backup_restore, restore_done);
}
