/* admin.c - maillage-admin: operator tools that work on a data directory
 * beside a running server (read transactions only).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_backup.h"
#include "err.h"
#include "cli_json.h"
#include "evlog.h"
#include "models.h"
#include "verify.h"

static const char usage[] =
	"usage: maillage-admin COMMAND DATA_DIR\n"
	"\n"
	"commands:\n"
	"  verify DATA_DIR   walk the whole event log: dense positions, hash chain,\n"
	"                    streams and commands indexes; then rebuild every model\n"
	"                    from the log in a scratch directory (under $TMPDIR) and\n"
	"                    compare it byte for byte with the live one; report the\n"
	"                    first fault. Read-only: runs beside a live server.\n"
	"  export DATA_DIR [--case ID | --platform ID]\n"
	"                    write events as JSON Lines on stdout, one event a line\n"
	"                    with every envelope field (bytes in hex): one case, one\n"
	"                    platform, or the whole log. Read-only.\n"
	"  rebuild DATA_DIR  drop every model (case summaries, caseload, pending\n"
	"                    referrals, households' cases) and rebuild it from the\n"
	"                    log; the data keys beside the households stay.\n"
	"                    Writes: stop the server first, or work on a copy.\n"
	"  backup DATA_DIR DEST [-c CONFIG]\n"
	"                    consistent hot copy beside a running server: LMDB's\n"
	"                    compacting copy of data.mdb, the key file of the\n"
	"                    copy's key-encryption key epoch, and a manifest\n"
	"                    (position, time, sizes, SHA-256), built beside DEST,\n"
	"                    verified as verify does, then renamed to DEST (which\n"
	"                    must not exist, or be empty). Prints the position.\n"
	"  restore BACKUP DATA_DIR [-c CONFIG]\n"
	"                    check BACKUP against its manifest, copy it beside\n"
	"                    DATA_DIR (which must not exist, or be empty), verify\n"
	"                    the copy as verify does, then rename it to DATA_DIR.\n"
	"                    Without -c, the key file is checked for its epoch and\n"
	"                    checksum only; with the configuration's master key,\n"
	"                    also that it opens and every data key unwraps. The\n"
	"                    master key is never in a backup: keep it apart.\n"
	"\n"
	"Exit status: 0 done, 1 a fault was found, 2 usage or unreadable directory.\n";

/* The map size the server last used with the directory. */
#define ADMIN_MAP_SIZE 0

/* Open dir, or say why not on stderr and return NULL. */
static struct evlog *open_dir(const char *dir, bool readonly)
{
	struct evlog *log;
	char err[512];

	if (evlog_open(dir, ADMIN_MAP_SIZE, readonly, &log, err, sizeof(err))) {
		fprintf(stderr, "maillage-admin: %s\n", err);
		return NULL;
	}
	return log;
}

static int verify(const char *dir)
{
	struct evlog *log = open_dir(dir, true);
	struct verify_report rep;
	int rc;

	if (!log)
		return 2;
	rc = verify_log(log, &rep);
	if (!rc) {
		uint64_t events = rep.events, cases = rep.cases;
		const char *tmp = getenv("TMPDIR");

		rc = verify_models(log, tmp && tmp[0] ? tmp : "/tmp", &rep);
		rep.events = events;
		rep.cases = cases;
	}
	evlog_close(log);
	if (rc == ML_ECORRUPT) {
		printf("FAULT in '%s': %s\n", dir, rep.fault);
		return 1;
	}
	if (rc) {
		fprintf(stderr, "maillage-admin: cannot verify '%s': %s\n", dir, ml_strerror(rc));
		return 2;
	}
	printf("verified '%s': %llu events, %llu cases, hash chain intact, models equal to a rebuild\n", dir,
	       (unsigned long long)rep.events, (unsigned long long)rep.cases);
	return 0;
}

struct export {
	const char *platform;     /* NULL: every platform */
	unsigned long n;
};

static int export_event(void *arg, const ml_event *ev, const uint8_t *raw, size_t len)
{
	struct export *x = arg;

	(void)raw;
	(void)len;
	if (x->platform && strcmp(ev->platform, x->platform))
		return 0;
	x->n++;
	return cli_json_print(stdout, &ev->base) ? ML_EIO : 0;
}

static int export(const char *dir, const char *what, const char *id)
{
	bool one_case = what && !strcmp(what, "--case");
	struct evlog *log = open_dir(dir, true);
	struct export x = { .platform = what && !one_case ? id : NULL };
	struct evlog_txn *txn;
	int rc;

	if (!log)
		return 2;
	rc = evlog_txn_begin(log, false, &txn);
	if (!rc) {
		rc = one_case ? evlog_stream_scan(txn, id, 1, export_event, &x) :
				evlog_scan(txn, 1, export_event, &x);
		evlog_txn_abort(txn);
	}
	if (!rc && one_case && !x.n)
		rc = ML_ENOTFOUND;
	evlog_close(log);
	if (fflush(stdout) && !rc)
		rc = ML_EIO;
	if (rc) {
		fprintf(stderr, "maillage-admin: cannot export from '%s': %s\n", dir,
			rc == ML_ENOTFOUND ? "no such case" : ml_strerror(rc));
		return rc == ML_ECORRUPT ? 1 : 2;
	}
	fprintf(stderr, "exported %lu events\n", x.n);
	return 0;
}

static int rebuild(const char *dir)
{
	struct evlog *log = open_dir(dir, false);
	struct evlog_txn *txn;
	int rc;

	if (!log)
		return 2;
	rc = evlog_txn_begin(log, true, &txn);
	if (rc)
		goto out_close;
	rc = evlog_models_clear(txn);
	if (!rc)
		rc = models_rebuild(txn, txn);
	if (rc)
		evlog_txn_abort(txn);
	else
		rc = evlog_txn_commit(txn);
out_close:
	evlog_close(log);
	if (rc) {
		fprintf(stderr, "maillage-admin: cannot rebuild '%s': %s\n", dir, ml_strerror(rc));
		return rc == ML_ECORRUPT ? 1 : 2;
	}
	printf("rebuilt the models of '%s' from its log\n", dir);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !evlog_exists(argv[2])) {
		fprintf(stderr, "maillage-admin: '%s' is not a maillage data directory "
			"(no data.mdb in it)\n", argv[2]);
		return 2;
	}
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(usage, stdout);
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "verify"))
		return verify(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "rebuild"))
		return rebuild(argv[2]);
	if (argc >= 4 && !strcmp(argv[1], "backup"))
		return admin_backup(argc - 2, argv + 2);
	if (argc >= 4 && !strcmp(argv[1], "restore"))
		return admin_restore(argc - 2, argv + 2);
	if (!strcmp(argc >= 3 ? argv[1] : "", "export") &&
	    (argc == 3 || (argc == 5 && (!strcmp(argv[3], "--case") || !strcmp(argv[3], "--platform")))))
		return export(argv[2], argc == 5 ? argv[3] : NULL, argc == 5 ? argv[4] : NULL);
	fputs(usage, stderr);
	return 2;
}
