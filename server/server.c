/* server.c - the event loop: listener, signals, clean shutdown, and freeing
 * closed connections at a safe point (never inside their own callbacks).
 * A SIGHUP's reload is reload.c's.
 */
#include <arpa/inet.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>

#include "conn.h"
#include "err.h"
#include "log.h"
#include "metrics.h"
#include "counters.h"
#include "reload.h"
#include "server.h"
#include "tls.h"
#include "writer.h"

/* How long a shutdown waits for replies to flush before closing anyway
 * (deploy/maillaged.service's TimeoutStopSec covers it). */
#define SERVER_DRAIN_SECONDS 5

void server_notify(const char *state, const char *fmt, ...)
{
	char status[256];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(status, sizeof(status), fmt, ap);
	va_end(ap);
	rc = sd_notifyf(0, "%s\nSTATUS=%s", state, status);
	if (rc < 0)
		log_warn("notify_failed", "state=%s error=\"%s\"", state, strerror(-rc));
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd,
		      struct sockaddr *sa, int salen, void *arg)
{
	struct server *srv = arg;
	char host[INET6_ADDRSTRLEN] = "?", peer[64];
	int port = 0;

	(void)l;
	(void)salen;
	if (sa->sa_family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
	}
	snprintf(peer, sizeof(peer), "%s:%d", host, port);
	if (srv->n_conns >= srv->cfg->max_connections) {
		log_warn("connection_refused", "peer=%s reason=\"max_connections (%u) reached\"",
			 peer, srv->cfg->max_connections);
		evutil_closesocket(fd);
		return;
	}
	conn_accept(srv, fd, peer);
}

static void on_accept_error(struct evconnlistener *l, void *arg)
{
	(void)l;
	(void)arg;
	log_warn("accept_failed", "error=\"%s\"",
		 evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}

static void reap(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;
	struct conn **link = &srv->conns;

	(void)fd;
	(void)what;
	while (*link) {
		struct conn *c = *link;

		if (conn_reapable(c)) {
			*link = conn_next(c);
			conn_free(c);
			srv->n_conns--;
		} else {
			link = conn_next_ref(c);
		}
	}
	if (srv->stopping && !srv->n_conns)
		event_base_loopexit(srv->base, NULL);
}

void server_schedule_reap(struct server *srv)
{
	event_active(srv->reap_ev, EV_TIMEOUT, 0);
}

/* Wake every subscriber after a commit, with one read transaction. */
static void wake_subscribers(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;
	struct evlog_txn *txn;
	int rc;

	(void)fd;
	(void)what;
	rc = evlog_txn_begin(srv->log, false, &txn);
	if (rc) {
		log_error("wake_failed", "error=\"%s\"", ml_strerror(rc));
		return;
	}
	for (struct conn *c = srv->conns; c; c = conn_next(c))
		conn_wake(c, txn);
	evlog_txn_abort(txn);
}

/* A finished writer job: a command goes back to its connection; the expiry
 * job lets the next one be scheduled. Either may have committed events. */
static void on_job_done(void *arg, struct writer_job *job)
{
	struct server *srv = arg;

	event_active(srv->wake_ev, EV_TIMEOUT, 0);
	if (job->owner) {
		conn_command_done(srv, job);
		return;
	}
	if (job->kind == WRITER_RETENTION)
		srv->retention_queued = false;
	else
		srv->expiry_queued = false;
	writer_job_free(job);
}

static void on_expiry_timer(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;

	(void)fd;
	(void)what;
	if (srv->writer && !srv->expiry_queued && !writer_submit_timer(srv->writer, WRITER_EXPIRY))
		srv->expiry_queued = true;
}

static void on_retention_timer(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;

	(void)fd;
	(void)what;
	if (srv->writer && !srv->retention_queued &&
	    !writer_submit_timer(srv->writer, WRITER_RETENTION))
		srv->retention_queued = true;
}

static void on_drain_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;

	(void)fd;
	(void)what;
	log_warn("shutdown_forced", "connections=%zu", srv->n_conns);
	event_base_loopexit(srv->base, NULL);
}

/* Stop accepting, finish the commands queued and in flight, flush their
 * replies (SERVER_DRAIN_SECONDS at most), then leave the loop. why: the
 * signal's name, or what failed. */
static void begin_shutdown(struct server *srv, const char *why)
{
	struct timeval tv = { .tv_sec = SERVER_DRAIN_SECONDS };

	if (srv->stopping)
		return;
	srv->stopping = true;
	log_info("shutdown", "cause=%s connections=%zu", why, srv->n_conns);
	server_notify("STOPPING=1", "stopping: finishing queued commands, closing %zu "
		      "connections", srv->n_conns);
	evconnlistener_disable(srv->listener);
	event_del(srv->expiry_timer);
	event_del(srv->retention_timer);
	for (struct conn *c = srv->conns; c; c = conn_next(c))
		conn_drain(c);
	/* Runs what is queued, commits, and delivers the last replies. */
	writer_stop(srv->writer);
	srv->writer = NULL;
	for (struct conn *c = srv->conns; c; c = conn_next(c))
		conn_drain(c);
	event_add(srv->exit_timer, &tv);
	server_schedule_reap(srv);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	begin_shutdown(arg, sig == SIGTERM ? "TERM" : "INT");
}

/* SIGHUP: reload.h. */
static void on_reload(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	server_reload(arg);      /* its outcome is logged */
}

static int listen_on(struct server *srv, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	int sslen = sizeof(ss);

	if (evutil_parse_sockaddr_port(srv->cfg->listen, (struct sockaddr *)&ss, &sslen)) {
		snprintf(err, errlen, "cannot parse listen address '%s'", srv->cfg->listen);
		return ML_ECONFIG;
	}
	srv->listener = evconnlistener_new_bind(srv->base, on_accept, srv,
						LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
						LEV_OPT_CLOSE_ON_EXEC, 512,
						(struct sockaddr *)&ss, sslen);
	if (!srv->listener) {
		snprintf(err, errlen, "cannot listen on '%s': %s", srv->cfg->listen,
			 evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		return ML_EIO;
	}
	evconnlistener_set_error_cb(srv->listener, on_accept_error);
	return 0;
}

int server_init(struct server *srv, struct config *cfg, struct evlog *log,
		char *err, size_t errlen)
{
	int rc;

	memset(srv, 0, sizeof(*srv));
	srv->cfg = cfg;
	srv->log = log;
	signal(SIGPIPE, SIG_IGN);
	if (evthread_use_pthreads() || !(srv->base = event_base_new())) {
		snprintf(err, errlen, "cannot create the event loop");
		return ML_ENOMEM;
	}
	rc = tls_ctx_new(cfg, &srv->tls, err, errlen);
	if (rc)
		goto err_release;
	srv->sig_term = evsignal_new(srv->base, SIGTERM, on_signal, srv);
	srv->sig_int = evsignal_new(srv->base, SIGINT, on_signal, srv);
	srv->sig_hup = evsignal_new(srv->base, SIGHUP, on_reload, srv);
	srv->reap_ev = event_new(srv->base, -1, 0, reap, srv);
	srv->exit_timer = evtimer_new(srv->base, on_drain_timeout, srv);
	srv->expiry_timer = event_new(srv->base, -1, EV_PERSIST, on_expiry_timer, srv);
	srv->retention_timer = event_new(srv->base, -1, EV_PERSIST, on_retention_timer, srv);
	srv->wake_ev = event_new(srv->base, -1, 0, wake_subscribers, srv);
	if (!srv->sig_term || !srv->sig_int || !srv->sig_hup || !srv->reap_ev || !srv->exit_timer ||
	    !srv->expiry_timer || !srv->retention_timer || !srv->wake_ev ||
	    event_add(srv->sig_term, NULL) ||
	    event_add(srv->sig_int, NULL) || event_add(srv->sig_hup, NULL) ||
	    event_add(srv->expiry_timer, &(struct timeval){ .tv_sec = cfg->expiry_check_s }) ||
	    event_add(srv->retention_timer, &(struct timeval){ .tv_sec = cfg->retention_check_s })) {
		snprintf(err, errlen, "cannot set up the loop's signals and timers");
		rc = ML_ENOMEM;
		goto err_release;
	}
	srv->counters = counters_new();
	srv->org_conns = calloc(cfg->n_orgs ? cfg->n_orgs : 1, sizeof(*srv->org_conns));
	rc = srv->counters && srv->org_conns ? writer_start(srv->base, log, cfg, srv->counters, on_job_done, srv,
					  &srv->writer) : ML_ENOMEM;
	if (rc) {
		snprintf(err, errlen, "cannot start the writer thread");
		goto err_release;
	}
	rc = listen_on(srv, err, errlen);
	if (!rc && cfg->metrics_listen)
		rc = metrics_start(srv, &srv->metrics, err, errlen);
	if (rc)
		goto err_release;
	return 0;

err_release:
	server_release(srv);
	return rc;
}

int server_run(struct server *srv)
{
	log_info("listening", "addr=%s platforms=%zu organisations=%zu max_frame_bytes=%zu",
		 srv->cfg->listen, srv->cfg->n_platforms, srv->cfg->n_orgs,
		 srv->cfg->max_frame_bytes);
	/* The listener is bound and listening: connections queue from now on. */
	server_notify("READY=1", "listening on %s", srv->cfg->listen);
	if (event_base_dispatch(srv->base) < 0)
		return ML_EINTERNAL;
	return 0;
}

static void free_event(struct event *ev)
{
	if (ev)
		event_free(ev);
}

void server_release(struct server *srv)
{
	struct conn *c, *next;

	if (srv->listener)
		evconnlistener_free(srv->listener);
	metrics_free(srv->metrics);
	writer_stop(srv->writer);
	for (c = srv->conns; c; c = next) {
		next = conn_next(c);
		conn_free(c);
	}
	free_event(srv->sig_term);
	free_event(srv->sig_int);
	free_event(srv->sig_hup);
	free_event(srv->reap_ev);
	free_event(srv->exit_timer);
	free_event(srv->expiry_timer);
	free_event(srv->retention_timer);
	counters_free(srv->counters);
	srv->counters = NULL;
	free(srv->org_conns);
	free_event(srv->wake_ev);
	tls_ctx_free(srv->tls);
	if (srv->base)
		event_base_free(srv->base);
	memset(srv, 0, sizeof(*srv));
}
