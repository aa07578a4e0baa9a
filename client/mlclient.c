/* mlclient.c - the client library: one blocking mutual-TLS connection carrying
 * length-prefixed protobuf frames, with poll()-based timeouts.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "mlclient.h"

/*
 * Timeouts: mlc_connect() has opts->timeout_ms for the TCP connection and the
 * TLS handshake together; a send or a receive may wait timeout_ms for each
 * step of progress (an idle timeout, so a large frame on a slow link is fine).
 *
 * A frame interrupted by a receive timeout is kept: the next mlc_recv()
 * continues it. Any other failure in the middle of the stream (a TLS error,
 * a reset, a send cut short, an oversized length) leaves the connection
 * broken: later calls fail at once with the same message.
 */

#define MLC_MAX_FRAME (64u << 20)
#define MLC_DEFAULT_TIMEOUT_MS 10000

struct mlc {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	int timeout_ms;
	bool broken;            /* no more I/O, no close_notify */
	bool timed_out;         /* the last send or receive only timed out */
	uint64_t last_id;       /* highest request_id sent */
	/* the frame being received */
	uint8_t rx_hdr[4];
	size_t rx_have;         /* bytes of header, then body, read so far */
	size_t rx_len;          /* body length, valid once the header is in */
	uint8_t *rx_buf;
	char err[512];
};

/* SIGPIPE from a write to a socket the server closed: blocked while we do I/O
 * and discarded if we raised it, so the caller needs no signal setup. */
struct sigpipe_guard {
	sigset_t old;
	bool was_pending;
};

static void sigpipe_block(struct sigpipe_guard *g)
{
	sigset_t pipe, pending;

	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe, &g->old);
	g->was_pending = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
}

static void sigpipe_restore(struct sigpipe_guard *g)
{
	static const struct timespec zero = { 0, 0 };
	sigset_t pipe, pending;

	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	if (!g->was_pending && sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1) {
		while (sigtimedwait(&pipe, NULL, &zero) < 0 && errno == EINTR)
			;
	}
	pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

static void set_err(struct mlc *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_err(struct mlc *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
}

/* A system message with a lowercase first letter ("connection refused"). */
static const char *lower_first(const char *msg)
{
	static _Thread_local char buf[256];

	snprintf(buf, sizeof(buf), "%s", msg);
	buf[0] = (char)tolower((unsigned char)buf[0]);
	return buf;
}

static const char *sys_err(int e)
{
	return lower_first(strerror(e));
}

/* "what: reason" with OpenSSL's first queued reason (or why verification
 * failed); empties the error queue. */
static void set_tls_err(struct mlc *c, const char *what)
{
	unsigned long e = ERR_peek_error();
	const char *reason = e ? ERR_reason_error_string(e) : NULL;
	char buf[256] = "";
	long vr = c->ssl ? SSL_get_verify_result(c->ssl) : X509_V_OK;

	if (e && ERR_GET_LIB(e) == ERR_LIB_SSL &&
	    ERR_GET_REASON(e) == SSL_R_CERTIFICATE_VERIFY_FAILED && vr != X509_V_OK) {
		set_err(c, "%s: server certificate verify failed: %s", what,
			X509_verify_cert_error_string(vr));
	} else if (e && ERR_SYSTEM_ERROR(e)) {
		set_err(c, "%s: %s", what, sys_err(ERR_GET_REASON(e)));
	} else {
		if (reason)
			snprintf(buf, sizeof(buf), "%s", reason);
		else if (e)
			ERR_error_string_n(e, buf, sizeof(buf));
		set_err(c, "%s%s%s", what, buf[0] ? ": " : "", buf[0] ? buf : "");
	}
	ERR_clear_error();
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until the socket is ready for events or the deadline passes; what
 * prefixes the timeout message. */
static int wait_fd(struct mlc *c, short events, int64_t deadline, const char *what)
{
	struct pollfd p = { .fd = c->fd, .events = events };
	int rc;

	for (;;) {
		int64_t left = deadline - now_ms();

		if (left <= 0) {
			c->timed_out = true;
			set_err(c, "%s: timed out after %d ms", what, c->timeout_ms);
			return -1;
		}
		rc = poll(&p, 1, left > 1000000000 ? 1000000000 : (int)left);
		if (rc > 0)
			return 0;   /* ready, or POLLERR/POLLHUP: the next call says */
		if (rc < 0 && errno != EINTR) {
			set_err(c, "poll failed: %s", sys_err(errno));
			return -1;
		}
	}
}

/*
 * After an SSL call returned ret <= 0: wait as OpenSSL asks and return 0 to
 * retry, or set the error and return -1. what prefixes the message; clean_eof
 * says the stream may end here (between frames), so an end of stream, even
 * without close_notify, is "connection closed by server".
 */
static int ssl_wait(struct mlc *c, int ret, const char *what, bool clean_eof,
		    int64_t deadline)
{
	int e = SSL_get_error(c->ssl, ret);
	unsigned long q;

	switch (e) {
	case SSL_ERROR_WANT_READ:
		return wait_fd(c, POLLIN, deadline, what);
	case SSL_ERROR_WANT_WRITE:
		return wait_fd(c, POLLOUT, deadline, what);
	case SSL_ERROR_ZERO_RETURN:
		break;
	case SSL_ERROR_SYSCALL:
		if (ERR_peek_error())
			goto tls_error;
		if (ret == 0 || errno == 0 || (errno == ECONNRESET && clean_eof))
			break;   /* end of stream (or a reset after the last frame) */
		c->broken = true;
		set_err(c, "%s: %s", what, sys_err(errno));
		return -1;
	case SSL_ERROR_SSL:
		q = ERR_peek_error();
		if (ERR_GET_LIB(q) == ERR_LIB_SSL &&
		    ERR_GET_REASON(q) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
			ERR_clear_error();
			break;
		}
		goto tls_error;
	default:
		goto tls_error;
	}
	/* end of stream */
	c->broken = true;
	if (clean_eof)
		set_err(c, "connection closed by server");
	else
		set_err(c, "%s: connection closed by server", what);
	return -1;

tls_error:
	c->broken = true;
	set_tls_err(c, what);
	return -1;
}

/* TCP connection to host:port, non-blocking, before deadline. */
static int tcp_connect(struct mlc *c, const char *addr, const char *host, const char *port,
		       int64_t deadline)
{
	char what[300];

	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res, *ai;
	int rc, one = 1;

	rc = getaddrinfo(host, port, &hints, &res);
	if (rc) {
		set_err(c, "cannot resolve '%s': %s", host,
			rc == EAI_SYSTEM ? sys_err(errno) : lower_first(gai_strerror(rc)));
		return -1;
	}
	snprintf(what, sizeof(what), "cannot connect to '%s'", addr);
	set_err(c, "%s: no address", what);
	for (ai = res; ai; ai = ai->ai_next) {
		int soerr = 0;
		socklen_t len = sizeof(soerr);

		c->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
			       ai->ai_protocol);
		if (c->fd < 0) {
			set_err(c, "cannot create a socket: %s", sys_err(errno));
			continue;
		}
		if (connect(c->fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno == EINPROGRESS) {
			if (wait_fd(c, POLLOUT, deadline, what)) {
				close(c->fd);
				c->fd = -1;
				break;   /* the time is spent: no other address */
			}
			if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && !soerr)
				break;
			errno = soerr ? soerr : errno;
		}
		set_err(c, "%s: %s", what, sys_err(errno));
		close(c->fd);
		c->fd = -1;
	}
	freeaddrinfo(res);
	if (c->fd < 0)
		return -1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return 0;
}

static bool is_ip_literal(const char *host)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

/* The context (CA, our certificate) and the session with its name check. */
/* The TLS context: TLS 1.2 minimum, the CA, the client certificate and key. */
static int load_ctx(struct mlc *c, const struct mlc_opts *o)
{
	c->ctx = SSL_CTX_new(TLS_client_method());
	if (!c->ctx) {
		set_tls_err(c, "cannot create a tls context");
		return -1;
	}
	if (SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION) != 1) {
		set_tls_err(c, "cannot require tls 1.2");
		return -1;
	}
	if (o->ca) {
		if (SSL_CTX_load_verify_locations(c->ctx, o->ca, NULL) != 1) {
			char what[300];

			snprintf(what, sizeof(what), "cannot load CA file '%s'", o->ca);
			set_tls_err(c, what);
			return -1;
		}
	} else if (SSL_CTX_set_default_verify_paths(c->ctx) != 1) {
		set_tls_err(c, "cannot load the system's CA certificates");
		return -1;
	}
	if (o->cert) {
		char what[300];

		snprintf(what, sizeof(what), "cannot load client certificate '%s'", o->cert);
		if (SSL_CTX_use_certificate_chain_file(c->ctx, o->cert) != 1) {
			set_tls_err(c, what);
			return -1;
		}
		snprintf(what, sizeof(what), "cannot load private key '%s'", o->key);
		if (SSL_CTX_use_PrivateKey_file(c->ctx, o->key, SSL_FILETYPE_PEM) != 1 ||
		    SSL_CTX_check_private_key(c->ctx) != 1) {
			if (ERR_GET_REASON(ERR_peek_error()) == X509_R_KEY_VALUES_MISMATCH) {
				ERR_clear_error();
				set_err(c, "private key '%s' does not match certificate '%s'",
					o->key, o->cert);
			} else {
				set_tls_err(c, what);
			}
			return -1;
		}
	}
	SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
	return 0;
}

/* The TLS session on the connected socket, checking the server's name. */
static int setup_tls(struct mlc *c, const char *host)
{
	X509_VERIFY_PARAM *param;

	c->ssl = SSL_new(c->ctx);
	if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1) {
		set_tls_err(c, "cannot create a tls session");
		return -1;
	}
	param = SSL_get0_param(c->ssl);
	if (is_ip_literal(host)) {
		if (X509_VERIFY_PARAM_set1_ip_asc(param, host) != 1) {
			set_err(c, "cannot check the server's address '%s'", host);
			return -1;
		}
	} else {
		X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (X509_VERIFY_PARAM_set1_host(param, host, 0) != 1 ||
		    SSL_set_tlsext_host_name(c->ssl, host) != 1) {
			set_err(c, "cannot check the server's name '%s'", host);
			return -1;
		}
	}
	return 0;
}

static int handshake(struct mlc *c, const char *addr, int64_t deadline)
{
	char what[300];
	int ret;

	snprintf(what, sizeof(what), "tls handshake with '%s' failed", addr);
	for (;;) {
		ERR_clear_error();
		ret = SSL_connect(c->ssl);
		if (ret == 1)
			return 0;
		if (ssl_wait(c, ret, what, false, deadline))
			return -1;
	}
}

/* Split "host:port" or "[v6]:port" into host (a copy) and port. */
static int split_addr(struct mlc *c, const char *addr, char *host, size_t hostlen,
		      const char **port)
{
	const char *colon = strrchr(addr, ':');
	const char *h = addr;
	size_t n;

	if (!colon || !colon[1])
		goto err_syntax;
	n = (size_t)(colon - addr);
	if (addr[0] == '[') {
		if (n < 2 || addr[n - 1] != ']')
			goto err_syntax;
		h++;
		n -= 2;
	} else if (memchr(addr, ':', n)) {
		goto err_syntax;   /* a bare IPv6 address needs brackets */
	}
	if (n == 0 || n >= hostlen)
		goto err_syntax;
	memcpy(host, h, n);
	host[n] = 0;
	*port = colon + 1;
	return 0;

err_syntax:
	set_err(c, "address '%s' is not HOST:PORT", addr);
	return -1;
}

/* What can be checked before connecting: the address, the certificate with
 * its key, the files. */
static int check_opts(struct mlc *c, const struct mlc_opts *opts, char *host, size_t hostlen,
		      const char **port)
{
	if (!opts->addr || !opts->addr[0]) {
		set_err(c, "no server address (set MAILLAGE_ADDR or --addr)");
		return -1;
	}
	if (opts->cert && !opts->key) {
		set_err(c, "client certificate '%s' needs its key", opts->cert);
		return -1;
	}
	if (split_addr(c, opts->addr, host, hostlen, port))
		return -1;
	return load_ctx(c, opts);
}

/* A connection with no socket yet; NULL with err set when out of memory. */
static struct mlc *mlc_new(char *err, size_t errlen)
{
	struct mlc *c = calloc(1, sizeof(*c));

	if (!c)
		snprintf(err, errlen, "out of memory");
	else
		c->fd = -1;
	return c;
}

int mlc_opts_check(const struct mlc_opts *opts, char *err, size_t errlen)
{
	struct mlc *c = mlc_new(err, errlen);
	char host[256];
	const char *port;
	int rc;

	if (!c)
		return -1;
	c->broken = true;
	rc = check_opts(c, opts, host, sizeof(host), &port);
	if (rc)
		snprintf(err, errlen, "%s", c->err);
	mlc_close(c);
	return rc;
}

struct mlc *mlc_connect(const struct mlc_opts *opts, char *err, size_t errlen)
{
	struct sigpipe_guard guard;
	struct mlc *c = mlc_new(err, errlen);
	char host[256];
	const char *port;
	int64_t deadline;

	if (!c)
		return NULL;
	c->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : MLC_DEFAULT_TIMEOUT_MS;
	deadline = now_ms() + c->timeout_ms;
	sigpipe_block(&guard);
	if (check_opts(c, opts, host, sizeof(host), &port))
		goto err_close;
	if (tcp_connect(c, opts->addr, host, port, deadline))
		goto err_close;
	if (setup_tls(c, host) || handshake(c, opts->addr, deadline)) {
		c->broken = true;   /* no close_notify on a failed handshake */
		goto err_close;
	}
	sigpipe_restore(&guard);
	return c;

err_close:
	snprintf(err, errlen, "%s", c->err);
	mlc_close(c);
	sigpipe_restore(&guard);
	return NULL;
}

void mlc_close(struct mlc *c)
{
	struct sigpipe_guard guard;

	if (!c)
		return;
	sigpipe_block(&guard);
	if (c->ssl) {
		if (!c->broken) {
			ERR_clear_error();
			SSL_shutdown(c->ssl);   /* best effort: no waiting */
		}
		SSL_free(c->ssl);
	}
	SSL_CTX_free(c->ctx);
	ERR_clear_error();
	if (c->fd >= 0)
		close(c->fd);
	sigpipe_restore(&guard);
	free(c->rx_buf);
	free(c);
}

static const char *env_or(const char *kept, const char *name)
{
	const char *v;

	if (kept)
		return kept;
	v = getenv(name);
	return v && v[0] ? v : NULL;
}

void mlc_opts_from_env(struct mlc_opts *o)
{
	o->addr = env_or(o->addr, "MAILLAGE_ADDR");
	o->cert = env_or(o->cert, "MAILLAGE_CERT");
	o->key = env_or(o->key, "MAILLAGE_KEY");
	o->ca = env_or(o->ca, "MAILLAGE_CA");
}

/*
 * Before a write: if the server has already sent something (an alert after
 * it refused our certificate, a close), let OpenSSL read it now, so the send
 * reports the server's reason rather than a broken pipe. Data is left queued.
 */
static int check_peer(struct mlc *c)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN };
	uint8_t byte;
	int ret;

	if (SSL_pending(c->ssl) || poll(&p, 1, 0) != 1)
		return 0;
	ERR_clear_error();
	ret = SSL_peek(c->ssl, &byte, 1);
	if (ret > 0)
		return 0;
	switch (SSL_get_error(c->ssl, ret)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		return 0;
	default:
		return ssl_wait(c, ret, "the server ended the connection", true, 0);
	}
}

int mlc_send_raw(struct mlc *c, const void *buf, size_t len)
{
	struct sigpipe_guard guard;
	const uint8_t *p = buf;
	int64_t deadline = now_ms() + c->timeout_ms;
	int rc = -1;

	if (c->broken)
		return -1;  /* the earlier error stays in c->err */
	sigpipe_block(&guard);
	if (check_peer(c))
		goto out;
	while (len > 0) {
		int n = len > INT32_MAX ? INT32_MAX : (int)len;
		int ret;

		ERR_clear_error();
		ret = SSL_write(c->ssl, p, n);
		if (ret > 0) {
			p += ret;
			len -= (size_t)ret;
			deadline = now_ms() + c->timeout_ms;
		} else if (ssl_wait(c, ret, "cannot send", false, deadline)) {
			c->broken = true;   /* part of a frame may be out */
			goto out;
		}
	}
	rc = 0;
out:
	sigpipe_restore(&guard);
	return rc;
}

int mlc_send(struct mlc *c, mlc_request *req)
{
	uint8_t *buf;
	size_t n;
	int rc;

	if (c->broken)
		return -1;
	if (req->request_id == 0)
		req->request_id = c->last_id + 1;
	if (req->request_id > c->last_id)
		c->last_id = req->request_id;
	n = maillage__v1__request__get_packed_size(req);
	if (n > MLC_MAX_FRAME) {
		set_err(c, "request of %zu bytes exceeds the frame limit of %u", n,
			MLC_MAX_FRAME);
		return -1;
	}
	buf = malloc(4 + n);
	if (!buf) {
		set_err(c, "out of memory");
		return -1;
	}
	buf[0] = (uint8_t)(n >> 24);
	buf[1] = (uint8_t)(n >> 16);
	buf[2] = (uint8_t)(n >> 8);
	buf[3] = (uint8_t)n;
	maillage__v1__request__pack(req, buf + 4);
	rc = mlc_send_raw(c, buf, 4 + n);
	free(buf);
	return rc;
}

/* Read into dst until c->rx_have reaches upto; dst holds bytes [base, upto). */
static int read_until(struct mlc *c, uint8_t *dst, size_t base, size_t upto)
{
	int64_t deadline = now_ms() + c->timeout_ms;

	while (c->rx_have < upto) {
		size_t want = upto - c->rx_have;
		int ret;

		const char *what = c->rx_have ? "incomplete frame" : "cannot receive";

		if (!SSL_pending(c->ssl) && wait_fd(c, POLLIN, deadline, what))
			return -1;
		ERR_clear_error();
		ret = SSL_read(c->ssl, dst + (c->rx_have - base),
			       want > INT32_MAX ? INT32_MAX : (int)want);
		if (ret > 0) {
			c->rx_have += (size_t)ret;
			deadline = now_ms() + c->timeout_ms;
		} else if (ssl_wait(c, ret, what, c->rx_have == 0, deadline)) {
			return -1;
		}
	}
	return 0;
}

static void rx_reset(struct mlc *c)
{
	free(c->rx_buf);
	c->rx_buf = NULL;
	c->rx_have = 0;
	c->rx_len = 0;
}

mlc_response *mlc_recv(struct mlc *c)
{
	struct sigpipe_guard guard;
	mlc_response *resp = NULL;

	if (c->broken)
		return NULL;
	c->timed_out = false;
	sigpipe_block(&guard);
	if (read_until(c, c->rx_hdr, 0, 4))
		goto out;
	if (!c->rx_buf) {
		c->rx_len = (size_t)c->rx_hdr[0] << 24 | (size_t)c->rx_hdr[1] << 16 |
			    (size_t)c->rx_hdr[2] << 8 | c->rx_hdr[3];
		if (c->rx_len > MLC_MAX_FRAME) {
			set_err(c, "frame of %zu bytes from the server exceeds the limit of %u",
				c->rx_len, MLC_MAX_FRAME);
			c->broken = true;
			goto out;
		}
		c->rx_buf = malloc(c->rx_len ? c->rx_len : 1);
		if (!c->rx_buf) {
			set_err(c, "out of memory for a frame of %zu bytes", c->rx_len);
			c->broken = true;
			goto out;
		}
	}
	if (read_until(c, c->rx_buf, 4, 4 + c->rx_len))
		goto out;   /* a timeout keeps the partial frame for the next call */
	resp = maillage__v1__response__unpack(NULL, c->rx_len, c->rx_buf);
	if (!resp)
		set_err(c, "the server sent a frame of %zu bytes that is not a "
			"maillage.v1.Response", c->rx_len);
	rx_reset(c);
out:
	sigpipe_restore(&guard);
	return resp;
}

mlc_response *mlc_call(struct mlc *c, mlc_request *req)
{
	mlc_response *resp;

	if (mlc_send(c, req))
		return NULL;
	while ((resp = mlc_recv(c))) {
		if (resp->request_id == req->request_id)
			return resp;
		/* request_id 0 answers a frame the server could not read */
		if (resp->request_id == 0)
			return resp;
		mlc_response_free(resp);
	}
	return NULL;
}

void mlc_response_free(mlc_response *resp)
{
	if (resp)
		maillage__v1__response__free_unpacked(resp, NULL);
}

int mlc_new_command_id(uint8_t id[16])
{
	return RAND_bytes(id, 16) == 1 ? 0 : -1;
}

const char *mlc_error(const struct mlc *c)
{
	return c ? c->err : "no connection";
}

bool mlc_timed_out(const struct mlc *c)
{
	return c && !c->broken && c->timed_out;
}

void mlc_set_timeout(struct mlc *c, int timeout_ms)
{
	c->timeout_ms = timeout_ms > 0 ? timeout_ms : MLC_DEFAULT_TIMEOUT_MS;
}

int mlc_fd(const struct mlc *c)
{
	return c ? c->fd : -1;
}
