/* mlclient.c - the client library: a blocking mutual-TLS connection carrying
 * length-prefixed protobuf frames, with poll()-based timeouts.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mlclient.h"

#define MLC_MAX_FRAME (64u << 20)

struct mlc {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	int timeout_ms;
	uint64_t next_id;
	char err[512];
};

static void set_err(struct mlc *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_err(struct mlc *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
}

/* Append OpenSSL's reason for the last failure, if it gave one. */
static void set_ssl_err(struct mlc *c, const char *what)
{
	unsigned long e = ERR_get_error();
	char reason[256] = "";

	if (e)
		ERR_error_string_n(e, reason, sizeof(reason));
	ERR_clear_error();
	set_err(c, "%s%s%s", what, reason[0] ? ": " : "", reason);
}

static int wait_fd(struct mlc *c, short events)
{
	struct pollfd p = { .fd = c->fd, .events = events };
	int rc;

	do {
		rc = poll(&p, 1, c->timeout_ms);
	} while (rc < 0 && errno == EINTR);
	if (rc == 0) {
		set_err(c, "timed out after %d ms", c->timeout_ms);
		return -1;
	}
	if (rc < 0) {
		set_err(c, "poll failed: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* Wait as SSL asks after a WANT_READ/WANT_WRITE; -1 on any other outcome. */
static int ssl_retry(struct mlc *c, int ret, const char *what)
{
	int e = SSL_get_error(c->ssl, ret);

	if (e == SSL_ERROR_WANT_READ)
		return wait_fd(c, POLLIN);
	if (e == SSL_ERROR_WANT_WRITE)
		return wait_fd(c, POLLOUT);
	if (e == SSL_ERROR_ZERO_RETURN) {
		set_err(c, "connection closed by server");
		return -1;
	}
	if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
		set_err(c, "connection closed by server%s%s", errno ? ": " : "",
			errno ? strerror(errno) : "");
		return -1;
	}
	set_ssl_err(c, what);
	return -1;
}

static int tcp_connect(struct mlc *c, const char *host, const char *port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	int rc = getaddrinfo(host, port, &hints, &res);

	if (rc) {
		set_err(c, "cannot resolve '%s': %s", host, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		int soerr = 0;
		socklen_t len = sizeof(soerr);

		c->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (c->fd < 0)
			continue;
		fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
		if (connect(c->fd, ai->ai_addr, ai->ai_addrlen) == 0 ||
		    (errno == EINPROGRESS && wait_fd(c, POLLOUT) == 0 &&
		     getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && !soerr))
			break;
		set_err(c, "cannot connect to '%s:%s': %s", host, port,
			soerr ? strerror(soerr) : errno ? strerror(errno) : c->err);
		close(c->fd);
		c->fd = -1;
	}
	freeaddrinfo(res);
	return c->fd >= 0 ? 0 : -1;
}

static int setup_tls(struct mlc *c, const struct mlc_opts *o, const char *host)
{
	X509_VERIFY_PARAM *param;
	unsigned char ip[16];

	c->ctx = SSL_CTX_new(TLS_client_method());
	if (!c->ctx) {
		set_ssl_err(c, "cannot create a tls context");
		return -1;
	}
	SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
	if (SSL_CTX_load_verify_locations(c->ctx, o->ca, NULL) != 1) {
		set_ssl_err(c, "cannot load CA file");
		return -1;
	}
	if (o->cert && (SSL_CTX_use_certificate_chain_file(c->ctx, o->cert) != 1 ||
			SSL_CTX_use_PrivateKey_file(c->ctx, o->key, SSL_FILETYPE_PEM) != 1)) {
		set_ssl_err(c, "cannot load client certificate or key");
		return -1;
	}
	SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
	c->ssl = SSL_new(c->ctx);
	if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1) {
		set_ssl_err(c, "cannot create a tls session");
		return -1;
	}
	param = SSL_get0_param(c->ssl);
	if (inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1) {
		X509_VERIFY_PARAM_set1_ip_asc(param, host);
	} else {
		X509_VERIFY_PARAM_set1_host(param, host, 0);
		SSL_set_tlsext_host_name(c->ssl, host);
	}
	return 0;
}

static int handshake(struct mlc *c)
{
	int ret;

	while ((ret = SSL_connect(c->ssl)) != 1) {
		if (ssl_retry(c, ret, "tls handshake failed"))
			return -1;
	}
	return 0;
}

/* Split "host:port" (or "[v6]:port"). */
static int split_addr(struct mlc *c, const char *addr, char *host, size_t hostlen,
		      const char **port)
{
	const char *colon = strrchr(addr, ':');
	size_t n;

	if (!colon || !colon[1]) {
		set_err(c, "address '%s' is not HOST:PORT", addr);
		return -1;
	}
	n = (size_t)(colon - addr);
	if (addr[0] == '[' && n >= 2 && addr[n - 1] == ']') {
		addr++;
		n -= 2;
	}
	if (n == 0 || n >= hostlen) {
		set_err(c, "address '%s' is not HOST:PORT", addr);
		return -1;
	}
	memcpy(host, addr, n);
	host[n] = 0;
	*port = colon + 1;
	return 0;
}

struct mlc *mlc_connect(const struct mlc_opts *opts, char *err, size_t errlen)
{
	struct mlc *c = calloc(1, sizeof(*c));
	char host[256];
	const char *port;

	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->fd = -1;
	c->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : 10000;
	if (!opts->addr || !opts->ca) {
		set_err(c, "missing %s (set MAILLAGE_ADDR, MAILLAGE_CERT, MAILLAGE_KEY, "
			"MAILLAGE_CA or the matching options)", !opts->addr ? "address" : "CA file");
		goto err_close;
	}
	if (opts->cert && !opts->key) {
		set_err(c, "a client certificate needs its key");
		goto err_close;
	}
	if (split_addr(c, opts->addr, host, sizeof(host), &port) ||
	    tcp_connect(c, host, port) || setup_tls(c, opts, host) || handshake(c))
		goto err_close;
	return c;

err_close:
	snprintf(err, errlen, "%s", c->err);
	mlc_close(c);
	return NULL;
}

void mlc_close(struct mlc *c)
{
	if (!c)
		return;
	if (c->ssl) {
		SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	SSL_CTX_free(c->ctx);
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}

void mlc_opts_from_env(struct mlc_opts *o)
{
	if (!o->addr)
		o->addr = getenv("MAILLAGE_ADDR");
	if (!o->cert)
		o->cert = getenv("MAILLAGE_CERT");
	if (!o->key)
		o->key = getenv("MAILLAGE_KEY");
	if (!o->ca)
		o->ca = getenv("MAILLAGE_CA");
}

int mlc_send_raw(struct mlc *c, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len > 0) {
		int ret = SSL_write(c->ssl, p, len > INT32_MAX ? INT32_MAX : (int)len);

		if (ret > 0) {
			p += ret;
			len -= (size_t)ret;
		} else if (ssl_retry(c, ret, "cannot send")) {
			return -1;
		}
	}
	return 0;
}

static int read_exact(struct mlc *c, uint8_t *buf, size_t len)
{
	while (len > 0) {
		int ret;

		if (!SSL_pending(c->ssl) && wait_fd(c, POLLIN))
			return -1;
		ret = SSL_read(c->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
		if (ret > 0) {
			buf += ret;
			len -= (size_t)ret;
		} else if (ssl_retry(c, ret, "cannot receive")) {
			return -1;
		}
	}
	return 0;
}

int mlc_send(struct mlc *c, mlc_request *req)
{
	size_t n;
	uint8_t *buf;
	int rc;

	if (req->request_id == 0)
		req->request_id = ++c->next_id | (uint64_t)1 << 62;
	n = maillage__v1__request__get_packed_size(req);
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

mlc_response *mlc_recv(struct mlc *c)
{
	uint8_t hdr[4], *buf;
	mlc_response *resp;
	size_t n;

	if (read_exact(c, hdr, 4))
		return NULL;
	n = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 | hdr[3];
	if (n > MLC_MAX_FRAME) {
		set_err(c, "frame of %zu bytes is too large", n);
		return NULL;
	}
	buf = malloc(n ? n : 1);
	if (!buf) {
		set_err(c, "out of memory");
		return NULL;
	}
	if (read_exact(c, buf, n)) {
		free(buf);
		return NULL;
	}
	resp = maillage__v1__response__unpack(NULL, n, buf);
	free(buf);
	if (!resp)
		set_err(c, "the server sent a frame that is not a maillage.v1.Response");
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
		/* A status with request_id 0 answers a frame the server could not read. */
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

int mlc_fd(const struct mlc *c)
{
	return c->fd;
}
