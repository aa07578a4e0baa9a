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
	struct config *cfg;          /* changed only by a SIGHUP reload (reload.h:
				      * loop thread; memberships with the writer
				      * paused) */
	struct evlog *log;
	struct tls_ctx *tls;
	struct writer *writer;
	struct counters *counters;   /* Ping {counters}, /metrics */
	struct metrics *metrics;     /* NULL unless cfg->metrics_listen */
	struct evconnlistener *listener;
	struct event *sig_term, *sig_int, *reap_ev, *exit_timer;
	struct event *sig_hup;       /* reload the configuration and the TLS material */
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
	bool log_level_fixed;        /* -v: a reload keeps LOG_DEBUG */
};

/* Set up TLS, the writer thread and the listener on cfg->listen. cfg stays
 * the caller's, to free after server_release(); a SIGHUP changes what it may
 * (log level, TLS files, platform memberships: server_reload(), reload.h). On
 * failure returns an ML_E* code with a message in err; srv is then released. */
int server_init(struct server *srv, struct config *cfg, struct evlog *log,
		char *err, size_t errlen);

/* Run the loop until a clean shutdown: on SIGTERM or SIGINT stop accepting,
 * finish the commands queued and in flight, flush their replies, close.
 * Tells systemd (sd_notify, when NOTIFY_SOCKET is set) READY=1 as it starts,
 * RELOADING=1 then READY=1 around a SIGHUP reload, STOPPING=1 on shutdown. */
int server_run(struct server *srv);

/* Free everything server_init() made (the evlog is the caller's). */
void server_release(struct server *srv);

/* Tell the service manager (systemd, Type=notify) where we are: state is
 * "READY=1", "STOPPING=1"... followed by a STATUS= line made of fmt. A no-op
 * when NOTIFY_SOCKET is not set; a failure is only logged. Loop thread. */
void server_notify(const char *state, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Schedule the reaper that frees closed connections (conn.c). */
void server_schedule_reap(struct server *srv);

#endif
