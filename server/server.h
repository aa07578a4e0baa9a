/* server.h - the daemon: one event loop owning the listener, the connections,
 * the signals and the hand-off from the writer thread.
 */
#ifndef MAILLAGE_SERVER_H
#define MAILLAGE_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "evlog.h"

struct conn;

struct server {
	struct event_base *base;
	const struct config *cfg;
	struct evlog *log;
	struct tls_ctx *tls;
	struct writer *writer;
	struct counters *counters;   /* Ping {counters}, /metrics */
	struct metrics *metrics;     /* NULL unless cfg->metrics_listen */
	struct evconnlistener *listener;
	struct event *sig_term, *sig_int, *reap_ev, *exit_timer;
	struct event *sig_hup;       /* reload the TLS material (CRL, certificates) */
	struct event *expiry_timer;  /* every expiry_check_s: expire due referrals */
	bool expiry_queued;          /* an expiry job is at the writer */
	struct event *retention_timer; /* every retention_check_s: erasure, journal */
	bool retention_queued;       /* a retention job is at the writer */
	struct event *wake_ev;       /* after a commit: subscribers read on */
	struct conn *conns;          /* open connections (list) */
	size_t n_conns;
	unsigned *org_conns;         /* open connections per organisation, by its
				      * index in cfg->orgs */
	uint64_t next_conn_id;
	bool stopping;               /* SIGTERM/SIGINT seen */
};

/* Set up TLS, the writer thread and the listener on cfg->listen. On failure
 * returns an ML_E* code with a message in err; srv is then released. */
int server_init(struct server *srv, const struct config *cfg, struct evlog *log,
		char *err, size_t errlen);

/* Run the loop until a clean shutdown: on SIGTERM or SIGINT stop accepting,
 * finish the commands queued and in flight, flush their replies, close. */
int server_run(struct server *srv);

/* Free everything server_init() made (the evlog is the caller's). */
void server_release(struct server *srv);

/* Schedule the reaper that frees closed connections (conn.c). */
void server_schedule_reap(struct server *srv);

#endif
