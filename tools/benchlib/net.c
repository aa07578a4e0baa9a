/* net.c - the server's address and the frames of the benchmarks'
 * non-blocking connections: a 4-byte big-endian length, then a packed
 * Request out or a Response in.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/util.h>

#include "benchnet.h"

int bench_parse_addr(const char *addr, struct sockaddr_storage *ss, int *sslen, char *host,
		     size_t hostlen)
{
	const char *colon = strrchr(addr, ':');
	const char *start = addr[0] == '[' ? addr + 1 : addr;
	size_t n;

	*sslen = (int)sizeof(*ss);
	if (!colon || colon <= start ||
	    evutil_parse_sockaddr_port(addr, (struct sockaddr *)ss, sslen))
		goto err_syntax;
	n = (size_t)(colon - start) - (addr[0] == '[');
	if (n == 0 || n >= hostlen)
		goto err_syntax;
	memcpy(host, start, n);
	host[n] = 0;
	return 0;

err_syntax:
	fprintf(stderr, "%s: address '%s' is not a numeric HOST:PORT\n", bench_prog, addr);
	return -1;
}

int bench_frame_send(struct bufferevent *bev, const mlc_request *req)
{
	size_t n = maillage__v1__request__get_packed_size(req);
	struct evbuffer *out = bufferevent_get_output(bev);
	struct evbuffer_iovec v;
	uint8_t *p;

	if (evbuffer_reserve_space(out, (ev_ssize_t)(4 + n), &v, 1) < 1)
		return -1;
	p = v.iov_base;
	p[0] = (uint8_t)(n >> 24);
	p[1] = (uint8_t)(n >> 16);
	p[2] = (uint8_t)(n >> 8);
	p[3] = (uint8_t)n;
	maillage__v1__request__pack(req, p + 4);
	v.iov_len = 4 + n;
	return evbuffer_commit_space(out, &v, 1);
}

mlc_response *bench_frame_next(struct evbuffer *in, bool *bad)
{
	uint8_t hdr[4];
	size_t len;
	unsigned char *p;
	mlc_response *resp;

	if (evbuffer_copyout(in, hdr, 4) < 4)
		return NULL;
	len = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 | hdr[3];
	if (len > BENCH_MAX_FRAME) {
		*bad = true;
		return NULL;
	}
	if (evbuffer_get_length(in) < 4 + len)
		return NULL;
	p = evbuffer_pullup(in, (ev_ssize_t)(4 + len));
	resp = p ? maillage__v1__response__unpack(NULL, len, p + 4) : NULL;
	evbuffer_drain(in, 4 + len);
	if (!resp)
		*bad = true;
	return resp;
}

void bench_nodelay(struct bufferevent *bev)
{
	evutil_socket_t fd = bufferevent_getfd(bev);
	int one = 1;

	if (fd >= 0)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}
