/* admin.c - maillage-admin: operator tools that work on a data directory
 * beside a running server (read transactions only).
 */
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "evlog.h"
#include "verify.h"

static const char usage[] =
	"usage: maillage-admin COMMAND DATA_DIR\n"
	"\n"
	"commands:\n"
	"  verify DATA_DIR   walk the whole event log: dense positions, hash chain,\n"
	"                    streams and commands indexes; report the first fault\n"
	"\n"
	"Exit status: 0 verified, 1 a fault was found, 2 usage or unreadable directory.\n";

/* Large enough for any data directory; a read-only map does not grow files. */
#define ADMIN_MAP_SIZE ((size_t)1 << 40)

static int verify(const char *dir)
{
	struct verify_report rep;
	struct evlog *log;
	char err[512];
	int rc = evlog_open(dir, ADMIN_MAP_SIZE, true, &log, err, sizeof(err));

	if (rc) {
		fprintf(stderr, "maillage-admin: %s\n", err);
		return 2;
	}
	rc = verify_log(log, &rep);
	evlog_close(log);
	if (rc == ML_ECORRUPT) {
		printf("FAULT in '%s': %s\n", dir, rep.fault);
		return 1;
	}
	if (rc) {
		fprintf(stderr, "maillage-admin: cannot verify '%s': %s\n", dir, ml_strerror(rc));
		return 2;
	}
	printf("verified '%s': %llu events, %llu cases, hash chain intact\n", dir,
	       (unsigned long long)rep.events, (unsigned long long)rep.cases);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(usage, stdout);
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "verify"))
		return verify(argv[2]);
	fputs(usage, stderr);
	return 2;
}
