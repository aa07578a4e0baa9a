/* mlclient.h - the maillage C client library: one mutual-TLS connection to a
 * maillaged server, framed protobuf requests and responses, pipelining.
 *
 * Blocking I/O on one socket; a struct mlc is used by one thread at a time.
 * Requests and responses are the generated maillage.v1 messages.
 */
#ifndef MAILLAGE_MLCLIENT_H
#define MAILLAGE_MLCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "maillage/v1/maillage.pb-c.h"

typedef Maillage__V1__Request mlc_request;
typedef Maillage__V1__Response mlc_response;

struct mlc_opts {
	const char *addr;     /* "host:port", e.g. "127.0.0.1:7400" */
	const char *cert;     /* PEM client certificate (the organisation) */
	const char *key;      /* PEM private key of cert */
	const char *ca;       /* PEM CA that signed the server's certificate */
	int timeout_ms;       /* connect, handshake and each read/write; 0 = 10000 */
};

struct mlc;

/* Connect, complete the TLS handshake (TLS 1.2 minimum), verify the server's
 * certificate against opts->ca and its name against the host of addr.
 * Returns NULL on failure with a lowercase message in err. */
struct mlc *mlc_connect(const struct mlc_opts *opts, char *err, size_t errlen);

/* Check what mlc_connect() can check without a server: the address is
 * HOST:PORT, a certificate comes with its key, the CA, certificate and key
 * files load and match. 0, or -1 with a message in err: no connection with
 * these options can ever succeed. */
int mlc_opts_check(const struct mlc_opts *opts, char *err, size_t errlen);

/* Close the connection (TLS close_notify, then the socket). NULL is a no-op. */
void mlc_close(struct mlc *c);

/* Fill the mlc_opts from the environment: MAILLAGE_ADDR, MAILLAGE_CERT,
 * MAILLAGE_KEY, MAILLAGE_CA; fields already set are kept. */
void mlc_opts_from_env(struct mlc_opts *opts);

/* Send req as one frame. If req->request_id is 0 a fresh id is assigned (and
 * written back into req). Returns 0, or -1 (see mlc_error()). */
int mlc_send(struct mlc *c, mlc_request *req);

/* Send raw bytes as they are (tests: garbage, half frames). 0 or -1. */
int mlc_send_raw(struct mlc *c, const void *buf, size_t len);

/* Read the next frame and decode it as a Response. NULL on end of stream,
 * timeout, a frame over 64 MiB or bytes that do not decode (see mlc_error()).
 * Free with mlc_response_free(). */
mlc_response *mlc_recv(struct mlc *c);

/* mlc_send(), then mlc_recv() until the response with the same request_id
 * arrives (others are dropped: do not mix with pipelining). */
mlc_response *mlc_call(struct mlc *c, mlc_request *req);

void mlc_response_free(mlc_response *resp);

/* 16 random bytes for Request.command_id. 0 or -1. */
int mlc_new_command_id(uint8_t id[16]);

/* The last error on c, lowercase, never NULL. */
const char *mlc_error(const struct mlc *c);

/* True when the last mlc_recv() returned NULL only because nothing arrived in
 * time: the connection is still usable (a frame begun is kept). False after
 * any other failure: closed, reset, TLS error, a frame that does not decode. */
bool mlc_timed_out(const struct mlc *c);

/* Change the timeout of each later send and receive step (0 = 10000 ms). */
void mlc_set_timeout(struct mlc *c, int timeout_ms);

/* The socket, e.g. to poll it. */
int mlc_fd(const struct mlc *c);

#endif
