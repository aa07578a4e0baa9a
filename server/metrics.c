/* metrics.c - GET /metrics (see metrics.h): the writer's counters, the
 * connections and subscribers, the log and LMDB figures and the process's,
 * in the Prometheus text exposition format 0.0.4. Every figure is read when
 * scraped; nothing here keeps state between scrapes.
 *
 * Threads: requests are served on the loop thread (evhttp on srv->base), so
 * the connection list and the subscriptions are read where they live. What
 * the writer thread counts comes through counters_snapshot() (under the
 * counters' lock, one consistent copy); the log head through a read
 * transaction of our own; the LMDB figures through evlog_stat_read(), which
 * needs no transaction. Nothing here touches the writer's state.
 */
#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "conn.h"
#include "counters.h"
#include "err.h"
#include "evlog.h"
#include "log.h"
#include "metrics.h"
#include "server.h"
#include "sub.h"
#include "wire.h"

/* Limits of the HTTP side: a scrape is one small GET. */
#define METRICS_BACKLOG 16
#define METRICS_TIMEOUT_S 10
#define METRICS_MAX_HEADERS 8192
#define METRICS_MAX_BODY 1024

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct metrics {
	struct server *srv;
	struct evhttp *http;       /* owns its listener */
};

/* The connection states shown (CLOSED ones have no socket left). */
static const char *const state_labels[] = {
	[CONN_HANDSHAKE] = "handshake",
	[CONN_OPEN] = "open",
	[CONN_CLOSING] = "closing",
};

/* Everything one scrape shows, read at once. */
struct scrape {
	struct counters_snapshot counters;
	struct evlog_stat lmdb;
	uint64_t head;                       /* last position in the log */
	uint64_t conns[CONN_CLOSED];         /* by state */
	uint64_t subscribers, lag_sum, lag_max;
};

static void family(struct evbuffer *b, const char *name, const char *type,
		   const char *help)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A value counted in microseconds, written in seconds without rounding. */
static void put_seconds(struct evbuffer *b, uint64_t us)
{
	evbuffer_add_printf(b, "%" PRIu64 ".%06" PRIu64 "\n", us / 1000000, us % 1000000);
}

/* A family of one sample without labels. */
static void put_one(struct evbuffer *b, const char *name, const char *type,
		    const char *help, uint64_t v)
{
	family(b, name, type, help);
	evbuffer_add_printf(b, "%s %" PRIu64 "\n", name, v);
}

/* A histogram; in_seconds: its values are microseconds, shown in seconds. */
static void put_hist(struct evbuffer *b, const char *name, const char *help,
		     const struct counters_hist *h, bool in_seconds)
{
	uint64_t cumulative = 0;

	family(b, name, "histogram", help);
	for (size_t i = 0; i < h->n; i++) {
		cumulative += h->counts[i];
		if (in_seconds)
			evbuffer_add_printf(b, "%s_bucket{le=\"%g\"} %" PRIu64 "\n", name,
					    (double)h->bounds[i] / 1e6, cumulative);
		else
			evbuffer_add_printf(b, "%s_bucket{le=\"%" PRIu64 "\"} %" PRIu64 "\n",
					    name, h->bounds[i], cumulative);
	}
	evbuffer_add_printf(b, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", name, h->count);
	evbuffer_add_printf(b, "%s_sum ", name);
	if (in_seconds)
		put_seconds(b, h->sum);
	else
		evbuffer_add_printf(b, "%" PRIu64 "\n", h->sum);
	evbuffer_add_printf(b, "%s_count %" PRIu64 "\n", name, h->count);
}

/* Label values are proto field and enum names: nothing to escape. */
static void put_commands(struct evbuffer *b, const struct counters_snapshot *s)
{
	family(b, "maillage_commands_total", "counter",
	       "Commands run by the writer, by type (the Request field) and status code.");
	for (int body = 0; body < COUNTERS_BODIES; body++)
		for (int code = 0; code < COUNTERS_CODES; code++)
			if (s->commands[body][code])
				evbuffer_add_printf(b, "maillage_commands_total{type=\"%s\","
						    "status=\"%s\"} %" PRIu64 "\n",
						    wire_body_case_name(body),
						    wire_status_code_name(code),
						    s->commands[body][code]);
}

static void put_connections(struct evbuffer *b, const struct scrape *sc)
{
	family(b, "maillage_connections", "gauge",
	       "Client connections by state: TLS handshake, open, closing (flushing "
	       "their last replies).");
	for (size_t st = 0; st < CONN_CLOSED; st++)
		evbuffer_add_printf(b, "maillage_connections{state=\"%s\"} %" PRIu64 "\n",
				    state_labels[st], sc->conns[st]);
	put_one(b, "maillage_subscribers", "gauge",
		"Connections with a live subscription.", sc->subscribers);
	put_one(b, "maillage_subscriber_lag_events", "gauge",
		"Events committed that subscribers have not read yet, summed over every "
		"subscriber (a subscriber reads at its own pace).", sc->lag_sum);
	put_one(b, "maillage_subscriber_max_lag_events", "gauge",
		"Events committed that the slowest subscriber has not read yet.", sc->lag_max);
}

static void put_storage(struct evbuffer *b, const struct scrape *sc)
{
	put_one(b, "maillage_log_position", "gauge",
		"Position of the last event committed to the log (positions are dense "
		"from 1).", sc->head);
	put_one(b, "maillage_projection_lag_events", "gauge",
		"Events the read models are behind the log: always 0, since projections "
		"are written in the same LMDB transaction as the events they derive from.", 0);
	put_one(b, "maillage_lmdb_map_size_bytes", "gauge",
		"LMDB map size (map_size_mb): the most the data file can hold.",
		sc->lmdb.map_bytes);
	put_one(b, "maillage_lmdb_map_used_bytes", "gauge",
		"LMDB pages up to the highest in use, in bytes (mdb_stat -e: pages used). "
		"Freed pages below it are reused first; once it reaches the map size with "
		"none free, commands fail with RESOURCE_EXHAUSTED.", sc->lmdb.used_bytes);
	put_one(b, "maillage_lmdb_last_txn_id", "gauge",
		"Id of the last committed LMDB write transaction.", sc->lmdb.last_txn_id);
}

static void put_process(struct evbuffer *b, const struct counters_snapshot *s)
{
	family(b, "process_cpu_seconds_total", "counter",
	       "User and system CPU time spent by the server, in seconds.");
	evbuffer_add_printf(b, "process_cpu_seconds_total ");
	put_seconds(b, s->cpu_us);
	put_one(b, "process_resident_memory_bytes", "gauge",
		"Resident memory size of the server, in bytes.", s->rss_bytes);
	family(b, "process_start_time_seconds", "gauge",
	       "Start time of the server since the Unix epoch, in seconds.");
	evbuffer_add_printf(b, "process_start_time_seconds ");
	put_seconds(b, (uint64_t)s->started_us);
}

static void render(struct evbuffer *b, const struct scrape *sc)
{
	const struct counters_snapshot *s = &sc->counters;

	put_commands(b, s);
	put_one(b, "maillage_commits_total", "counter",
		"Write transactions committed by the writer (one per batch of commands).",
		s->commits);
	put_hist(b, "maillage_commit_events",
		 "Events appended per commit.", &s->commit_events, false);
	put_hist(b, "maillage_commit_duration_seconds",
		 "Time from the start of a batch's write transaction to its durable commit "
		 "(fsync done), in seconds.", &s->commit_us, true);
	put_connections(b, sc);
	put_storage(b, sc);
	put_process(b, s);
}

/* The connections by state, and how far behind the log head each live
 * subscription is. */
static void count_conns(struct server *srv, struct scrape *sc)
{
	for (struct conn *c = srv->conns; c; c = conn_next(c)) {
		enum conn_state st = conn_get_state(c);
		const struct sub *s;
		uint64_t pos, lag;

		if (st == CONN_CLOSED)
			continue;
		sc->conns[st]++;
		s = conn_get_sub(c);
		if (!s || sub_ended(s))
			continue;
		pos = sub_position(s);
		lag = pos < sc->head ? sc->head - pos : 0;
		sc->subscribers++;
		sc->lag_sum += lag;
		if (lag > sc->lag_max)
			sc->lag_max = lag;
	}
}

/* Everything a scrape shows, read now. 0, or an ML_E* code with a message
 * in err (the log cannot be read). */
static int scrape(struct server *srv, struct scrape *sc, char *err, size_t errlen)
{
	struct evlog_txn *txn;
	int rc;

	memset(sc, 0, sizeof(*sc));
	rc = evlog_txn_begin(srv->log, false, &txn);
	if (rc) {
		snprintf(err, errlen, "cannot read the log: %s", ml_strerror(rc));
		return rc;
	}
	sc->head = evlog_last_position(txn);
	evlog_txn_abort(txn);
	rc = evlog_stat_read(srv->log, &sc->lmdb);
	if (rc) {
		snprintf(err, errlen, "cannot read the LMDB figures: %s", ml_strerror(rc));
		return rc;
	}
	counters_snapshot(srv->counters, &sc->counters);
	count_conns(srv, sc);
	return 0;
}

/* Answer req with status code (reason) and a one-line text body. */
static void reply_text(struct evhttp_request *req, int code, const char *reason,
		       const char *text)
{
	struct evbuffer *b = evbuffer_new();

	if (!b) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	evbuffer_add_printf(b, "%s\n", text);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "text/plain; charset=utf-8");
	evhttp_send_reply(req, code, reason, b);
	evbuffer_free(b);
}

static void on_request(struct evhttp_request *req, void *arg)
{
	struct metrics *m = arg;
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	enum evhttp_cmd_type method = evhttp_request_get_command(req);
	struct scrape *sc;
	struct evbuffer *b;
	char err[160];

	if (!path || strcmp(path, "/metrics")) {
		reply_text(req, HTTP_NOTFOUND, "Not Found", "not found: the metrics are at /metrics");
		return;
	}
	if (method != EVHTTP_REQ_GET) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET");
		reply_text(req, HTTP_BADMETHOD, "Method Not Allowed", "only GET");
		return;
	}
	sc = malloc(sizeof(*sc));
	b = evbuffer_new();
	if (!sc || !b) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		goto free_scrape;
	}
	if (scrape(m->srv, sc, err, sizeof(err))) {
		log_error("metrics_failed", "error=\"%s\"", err);
		reply_text(req, HTTP_SERVUNAVAIL, "Service Unavailable", err);
		goto free_scrape;
	}
	render(b, sc);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", CONTENT_TYPE);
	evhttp_send_reply(req, HTTP_OK, "OK", b);
free_scrape:
	if (b)
		evbuffer_free(b);
	free(sc);
}

/* True for 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104. */
static bool is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24 == 127;
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
	}
	return false;
}

int metrics_start(struct server *srv, struct metrics **out, char *err, size_t errlen)
{
	const char *addr = srv->cfg->metrics_listen;
	struct sockaddr_storage ss;
	int sslen = sizeof(ss), rc;
	struct evconnlistener *l;
	struct metrics *m;

	*out = NULL;
	if (evutil_parse_sockaddr_port(addr, (struct sockaddr *)&ss, &sslen)) {
		snprintf(err, errlen, "cannot parse metrics_listen address '%s'", addr);
		return ML_ECONFIG;
	}
	m = calloc(1, sizeof(*m));
	if (!m || !(m->http = evhttp_new(srv->base))) {
		snprintf(err, errlen, "cannot set up the metrics listener: out of memory");
		rc = ML_ENOMEM;
		goto err_free;
	}
	m->srv = srv;
	/* Disabled until evhttp_bind_listener() sets its callback. */
	l = evconnlistener_new_bind(srv->base, NULL, NULL, LEV_OPT_CLOSE_ON_FREE |
				    LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, METRICS_BACKLOG,
				    (struct sockaddr *)&ss, sslen);
	if (!l) {
		snprintf(err, errlen, "cannot listen on metrics_listen '%s': %s", addr,
			 evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		rc = ML_EIO;
		goto err_free;
	}
	if (!evhttp_bind_listener(m->http, l)) {
		evconnlistener_free(l);
		snprintf(err, errlen, "cannot set up the metrics listener: out of memory");
		rc = ML_ENOMEM;
		goto err_free;
	}
	/* Every method reaches on_request, which answers 405 to all but GET
	 * (evhttp would answer 501 to the ones it does not allow). */
	evhttp_set_allowed_methods(m->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
				   EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
				   EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	evhttp_set_timeout(m->http, METRICS_TIMEOUT_S);
	evhttp_set_max_headers_size(m->http, METRICS_MAX_HEADERS);
	evhttp_set_max_body_size(m->http, METRICS_MAX_BODY);
	evhttp_set_gencb(m->http, on_request, m);
	log_info("metrics_listening", "addr=%s path=/metrics", addr);
	if (!is_loopback((struct sockaddr *)&ss))
		log_warn("metrics_not_loopback", "addr=%s detail=\"the metrics endpoint has no "
			 "authentication: let only the Prometheus server reach it\"", addr);
	*out = m;
	return 0;

err_free:
	metrics_free(m);
	return rc;
}

void metrics_free(struct metrics *m)
{
	if (!m)
		return;
	if (m->http)
		evhttp_free(m->http);
	free(m);
}
