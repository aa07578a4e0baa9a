/* main.c - maillaged: read the configuration, open the data directory, serve
 * until SIGTERM or SIGINT (SIGHUP reloads: server.c).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "err.h"
#include "evlog.h"
#include "kek.h"
#include "log.h"
#include "server.h"
#include "vault.h"

static const char usage[] =
	"usage: maillaged -c FILE [--check-config] [--verbose]\n"
	"\n"
	"The maillage server: partners' systems push commands over mutual TLS;\n"
	"every accepted command is appended to the event log in the data directory.\n"
	"\n"
	"  -c, --config FILE   configuration file (see maillaged.conf.example)\n"
	"      --check-config  check the configuration (and the key files it names)\n"
	"                      and exit: 0 when valid, else 1 with FILE:LINE: problem\n"
	"  -v, --verbose       log every command (level debug, whatever log_level says)\n"
	"  -h, --help          this help\n"
	"\n"
	"Logs go to stderr, one logfmt line per event (ts=... level=... event=...),\n"
	"never with personal data.\n"
	"\n"
	"SIGHUP reads the configuration again and applies log_level, the TLS files\n"
	"(certificate, key, CA, revocation lists) and the organisations' platforms\n"
	"without dropping connections; other changes are logged\n"
	"(reload_needs_restart) and wait for a restart; a file that does not load is\n"
	"refused (config_reload_failed) and the running configuration stays.\n"
	"\n"
	"Stops cleanly on SIGTERM or SIGINT: no new connections, queued commands\n"
	"committed and answered, then exit 0. Exit 1 on a bad configuration or a\n"
	"data directory that cannot be opened.\n"
	"\n"
	"Under systemd (Type=notify, NOTIFY_SOCKET set) it reports READY=1 once it\n"
	"accepts connections, RELOADING=1 then READY=1 around a reload, and\n"
	"STOPPING=1 on SIGTERM.\n";

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL;
	struct config *cfg = NULL;
	struct evlog *log = NULL;
	struct kek *kek = NULL;
	struct server srv;
	bool check_only = false;
	char err[1024];
	int opt, rc;
	bool verbose = false;

	while ((opt = getopt_long(argc, argv, "c:vh", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': path = optarg; break;
		case 'C': check_only = true; break;
		case 'v': log_set_level(LOG_DEBUG); verbose = true; break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (!path || optind != argc) {
		fputs(usage, stderr);
		return 2;
	}
	rc = config_load(path, &cfg, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "maillaged: %s\n", err);
		return 1;
	}
	if (!verbose)
		log_set_level((enum log_level)cfg->log_level);
	if (check_only) {
		printf("%s: ok (%zu platforms, %zu organisations)\n", path, cfg->n_platforms,
		       cfg->n_orgs);
		config_free(cfg);
		return 0;
	}
	rc = evlog_open(cfg->data_dir, cfg->map_size_mb << 20, false, &log, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "maillaged: %s\n", err);
		goto out_free_config;
	}
	rc = vault_open(log, cfg->data_dir, cfg->master_key, cfg->master_key_file, &kek, err,
			sizeof(err));
	if (!rc && (rc = evlog_commands_preload(log)))
		snprintf(err, sizeof(err), "cannot index the command log of '%s': %s",
			 cfg->data_dir, ml_strerror(rc));
	if (!rc && (rc = evlog_households_preload(log)))
		snprintf(err, sizeof(err), "cannot index the households of '%s': %s",
			 cfg->data_dir, ml_strerror(rc));
	if (rc) {
		fprintf(stderr, "maillaged: %s\n", err);
		goto out_close_log;
	}
	rc = server_init(&srv, cfg, log, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "maillaged: %s\n", err);
		goto out_close_log;
	}
	srv.log_level_fixed = verbose;
	log_info("start", "config=%s data_dir=%s", path, cfg->data_dir);
	rc = server_run(&srv);
	server_release(&srv);
	log_info("stopped", NULL);
out_close_log:
	evlog_close(log);
	kek_close(kek);
out_free_config:
	config_free(cfg);
	return rc ? 1 : 0;
}
