/* test_attacks.c - greedy and slow clients (issue 7, item 4): handshakes
 * never finished, a byte a second, a silent connection, a million requests
 * pipelined and never read. Each is contained by its limit and closed, the
 * server's memory stays bounded, and a well-behaved client keeps being
 * served: its latency during each attack is printed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

#define ST(x) MAILLAGE__V1__STATUS_CODE__##x

/* The limits under test, small so that the test is quick (the harness sets
 * frame_timeout_s = 2). */
#define HANDSHAKE_TIMEOUT_S 2
#define FRAME_TIMEOUT_S 2
#define IDLE_TIMEOUT_S 4
#define STR(x) #x
#define XSTR(x) STR(x)
#define LIMITS "handshake_timeout_s = " XSTR(HANDSHAKE_TIMEOUT_S) "\n" \
	       "idle_timeout_s = " XSTR(IDLE_TIMEOUT_S) "\n" \
	       "max_inflight = 16\nmax_output_bytes = 65536"
/* For comparison: a server that lets 16 MiB of replies wait. */
#define LARGE_OUTPUT "idle_timeout_s = " XSTR(IDLE_TIMEOUT_S) "\nmax_output_bytes = 16777216"
#define LARGE_OUTPUT_KB (16 * 1024)

/* The well-behaved client: at least MIN_CALLS sequential calls, each
 * answered within MAX_LATENCY_US however slow the machine. */
#define MIN_CALLS 200
#define MAX_CALLS 100000
#define PROBE_PAUSE_US 5000
#define MAX_LATENCY_US 5000000

#define N_SILENT 150            /* connect and send nothing */
#define N_PARTIAL 50            /* send part of a ClientHello, then nothing */
#define N_SLOW_FRAMES 20        /* after the handshake, a frame a byte a second */
#define N_PIPELINED 1000000     /* requests written and never read */
#define CHUNK_FRAMES 256        /* frames per write of the pipelining client */
#define BLOCKED_MS 2000         /* a write stuck this long: the server stopped reading */
#define FLOOD_US 6000000        /* the pipelining client gives up writing after */

/* Under the sanitizers freed memory is held in quarantine: memory figures
 * are printed but only the plain build bounds them. */
#if defined(__SANITIZE_ADDRESS__)
#define CHECK_MEMORY 0
#else
#define CHECK_MEMORY 1
#endif
#define RSS_GROWTH_LIMIT_KB (32 * 1024)

static char *probe_case;        /* a case of bailleur-est's, with personal data */

/* Start a server with config and refer the well-behaved client's case. */
static int start_server(const char *config)
{
	mlc_response *r;

	if (h_setup(&H, config))
		return -1;
	r = h_send_as(&H, "bailleur-est", h_refer(&H, "vaulx-bron", "Sonde", "Lea", "1980-01-01"),
		      ST(OK));
	free(probe_case);
	probe_case = strdup(r->command->case_id);
	mlc_response_free(r);
	return probe_case ? 0 : -1;
}

static int setup(void **state)
{
	(void)state;
	return start_server(LIMITS);
}

static int teardown(void **state)
{
	free(probe_case);
	return h_group_teardown(state);
}

/* ------------------------------------------------------------------------
 * Looking at the server from outside: its memory, its log, raw sockets.
 */

/* A field of /proc/PID/status of the server (VmRSS, RssAnon), in KiB. */
static long server_mem_kb(const char *field)
{
	char path[64], line[256], name[32];
	long kb = -1, v;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)H.pid);
	f = fopen(path, "r");
	assert_non_null(f);
	while (kb < 0 && fgets(line, sizeof(line), f))
		if (sscanf(line, "%31[^:]: %ld kB", name, &v) == 2 && !strcmp(name, field))
			kb = v;
	fclose(f);
	assert_true(kb > 0);
	return kb;
}

/* The server's memory during an attack, in KiB: resident, and anonymous
 * (the resident part less the LMDB map's file pages, which grow with the
 * log: the access records of the reads). */
struct mem {
	long rss_before, rss_peak, anon_before, anon_peak;
};

static void mem_start(struct mem *m)
{
	m->rss_before = m->rss_peak = server_mem_kb("VmRSS");
	m->anon_before = m->anon_peak = server_mem_kb("RssAnon");
}

/* Note the peaks; returns VmRSS now. */
static long mem_sample(struct mem *m)
{
	long rss = server_mem_kb("VmRSS"), anon = server_mem_kb("RssAnon");

	m->rss_peak = rss > m->rss_peak ? rss : m->rss_peak;
	m->anon_peak = anon > m->anon_peak ? anon : m->anon_peak;
	return rss;
}

/* A plain TCP connection to the server: no TLS. */
static int tcp_connect(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)H.port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* True when the server has closed fd: end of stream or reset (bytes it
 * sent before, a TLS alert say, are read and dropped). */
static bool tcp_closed(int fd)
{
	char buf[512];
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		;
	return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

/* req (freed) as one frame: 4-byte big-endian length, then the bytes. */
static size_t encode_frame(mlc_request *req, uint8_t **out)
{
	size_t len = maillage__v1__request__get_packed_size(req);
	uint8_t *buf = malloc(4 + len);

	assert_non_null(buf);
	buf[0] = (uint8_t)(len >> 24);
	buf[1] = (uint8_t)(len >> 16);
	buf[2] = (uint8_t)(len >> 8);
	buf[3] = (uint8_t)len;
	maillage__v1__request__pack(req, buf + 4);
	h_request_free(req);
	*out = buf;
	return 4 + len;
}

/* A Ping without a command_id: the smallest request there is. */
static mlc_request *small_ping(void)
{
	mlc_request *req = h_ping(&H);

	free(req->command_id.data);
	req->command_id.data = NULL;
	req->command_id.len = 0;
	return req;
}

/* A read of a case with personal data: answered only once the writer has
 * recorded it in the access journal, so it holds a place in max_inflight. */
static mlc_request *personal_read(void)
{
	return h_get_case(&H, probe_case);
}

/* ------------------------------------------------------------------------
 * The well-behaved client: sequential calls (Ping and GetCase of its case,
 * in turn) on its own connection, or on a new connection each time, for as
 * long as an attack lasts; then its latency.
 */

struct prober {
	bool reconnect;          /* a new TLS connection for every call */
	pthread_t thread;
	atomic_bool stop;
	int64_t rtt_us[MAX_CALLS];
	int n, failures;
	char error[256];         /* of the last failure */
};

static void *probe(void *arg)
{
	struct prober *p = arg;
	struct mlc *c = NULL;

	while ((!atomic_load(&p->stop) || p->n < MIN_CALLS) && p->n < MAX_CALLS) {
		int64_t t0 = h_now_us();
		mlc_request *req = p->n % 2 ? personal_read() : h_ping(&H);
		mlc_response *r = NULL;

		if (!c)
			c = h_connect(&H, "bailleur-est", p->error, sizeof(p->error));
		if (c)
			r = mlc_call(c, req);
		if (h_code(r) == 0) {
			p->rtt_us[p->n++] = h_now_us() - t0;
		} else {
			p->failures++;
			if (c)
				snprintf(p->error, sizeof(p->error), "%s", r ? r->status->message :
					 mlc_error(c));
		}
		if (!r || p->reconnect) {
			mlc_close(c);
			c = NULL;
		}
		mlc_response_free(r);
		h_request_free(req);
		usleep(PROBE_PAUSE_US);
	}
	mlc_close(c);
	return NULL;
}

static void prober_start(struct prober *p, bool reconnect)
{
	memset(p, 0, sizeof(*p));
	p->reconnect = reconnect;
	assert_int_equal(pthread_create(&p->thread, NULL, probe, p), 0);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Stop the prober, print its latency during attack, and fail unless every
 * call was answered in time. */
static void prober_report(struct prober *p, const char *attack)
{
	atomic_store(&p->stop, true);
	pthread_join(p->thread, NULL);
	qsort(p->rtt_us, (size_t)p->n, sizeof(p->rtt_us[0]), cmp_i64);
	assert_true(p->n >= MIN_CALLS);
	print_message("%s: %d calls of another client%s: p50 %.2f ms, p99 %.2f ms, "
		      "max %.2f ms\n", attack, p->n, p->reconnect ? " (each on a new connection)" :
		      "", p->rtt_us[p->n / 2] / 1000.0, p->rtt_us[p->n * 99 / 100] / 1000.0,
		      p->rtt_us[p->n - 1] / 1000.0);
	if (p->failures)
		fail_msg("%s: %d calls of the other client failed, the last: %s", attack,
			 p->failures, p->error);
	assert_true(p->rtt_us[p->n - 1] < MAX_LATENCY_US);
}

/* ------------------------------------------------------------------------
 * Handshakes never finished.
 */

/* The first bytes of a ClientHello: a handshake record announcing 512 bytes,
 * a ClientHello header announcing 508, the version and a bit of random. */
static const uint8_t hello_start[] = {
	0x16, 0x03, 0x01, 0x02, 0x00,
	0x01, 0x00, 0x01, 0xfc,
	0x03, 0x03, 0x5a, 0x5a, 0x5a, 0x5a,
};

/* N_SILENT connections that send nothing, N_PARTIAL that send part of a
 * ClientHello, and one that sends the rest of it a byte every half second:
 * all closed by handshake_timeout_s, counted from the connection, while
 * new connections keep being accepted and served. */
static void test_unfinished_handshakes(void **state)
{
	enum { N = N_SILENT + N_PARTIAL + 1, SLOW = N - 1 };
	static struct prober p;
	struct pollfd fds[N];
	int64_t t0, closed_us[N], last_byte = 0;
	int before = h_log_count(&H, "reason=\"handshake timeout\""), left = N;

	(void)state;
	prober_start(&p, true);
	t0 = h_now_us();
	for (int i = 0; i < N; i++) {
		fds[i] = (struct pollfd){ .fd = tcp_connect(), .events = POLLIN };
		closed_us[i] = -1;
		if (i >= N_SILENT)
			assert_int_equal(send(fds[i].fd, hello_start, sizeof(hello_start), 0),
					 (ssize_t)sizeof(hello_start));
	}
	while (left && h_now_us() - t0 < (HANDSHAKE_TIMEOUT_S + 6) * 1000000LL) {
		assert_true(poll(fds, N, 100) >= 0);
		for (int i = 0; i < N; i++) {
			if (closed_us[i] >= 0 || !(fds[i].revents & (POLLIN | POLLERR | POLLHUP)))
				continue;
			if (tcp_closed(fds[i].fd)) {
				closed_us[i] = h_now_us() - t0;
				left--;
			}
		}
		if (closed_us[SLOW] < 0 && h_now_us() - last_byte > 500000) {
			send(fds[SLOW].fd, "\x5a", 1, MSG_NOSIGNAL);
			last_byte = h_now_us();
		}
	}
	prober_report(&p, "unfinished handshakes");
	for (int i = 0; i < N; i++) {
		if (closed_us[i] < 0)
			fail_msg("connection %d (%s) still open %d s after connecting", i,
				 i == SLOW ? "a byte every half second" : i >= N_SILENT ?
				 "part of a ClientHello" : "silent", HANDSHAKE_TIMEOUT_S + 6);
		/* libevent's timers may fire a little early; a late one means
		 * the timeout restarted */
		assert_true(closed_us[i] > HANDSHAKE_TIMEOUT_S * 1000000LL - 200000);
		assert_true(closed_us[i] < HANDSHAKE_TIMEOUT_S * 1000000LL + 2000000);
		close(fds[i].fd);
	}
	qsort(closed_us, N, sizeof(closed_us[0]), cmp_i64);
	print_message("%d unfinished handshakes closed after %.2f s to %.2f s "
		      "(handshake_timeout_s = %d)\n", N, closed_us[0] / 1e6, closed_us[N - 1] / 1e6,
		      HANDSHAKE_TIMEOUT_S);
	assert_int_equal(h_log_count(&H, "reason=\"handshake timeout\"") - before, N);
}

/* ------------------------------------------------------------------------
 * A byte a second; a connection that says nothing; one that sends steadily.
 */

/* N_SLOW_FRAMES connections, each past the handshake, send a valid request
 * a byte a second: each is closed frame_timeout_s after its first byte,
 * without an answer; the well-behaved client is served meanwhile. */
static void test_byte_a_second(void **state)
{
	static struct prober p;
	struct mlc *slow[N_SLOW_FRAMES];
	int64_t t0, closed_us[N_SLOW_FRAMES];
	uint8_t *frame;
	size_t len = encode_frame(h_ping(&H), &frame);
	const char *logged = "org=asso-habitat reason=\"incomplete frame timeout\"";
	int before = h_log_count(&H, logged), left;

	(void)state;
	for (int i = 0; i < N_SLOW_FRAMES; i++) {
		slow[i] = h_connect(&H, "asso-habitat", NULL, 0);
		assert_non_null(slow[i]);
		closed_us[i] = -1;
	}
	prober_start(&p, false);
	t0 = h_now_us();
	left = N_SLOW_FRAMES;
	for (size_t b = 0; b < len && left; b++) {
		for (int i = 0; i < N_SLOW_FRAMES; i++)
			if (closed_us[i] < 0)
				mlc_send_raw(slow[i], frame + b, 1);
		/* a second, watching for the server closing them */
		while (left && h_now_us() - t0 < (int64_t)(b + 1) * 1000000) {
			for (int i = 0; i < N_SLOW_FRAMES; i++) {
				struct pollfd pf = { .fd = mlc_fd(slow[i]), .events = POLLIN };

				if (closed_us[i] >= 0 || poll(&pf, 1, 0) != 1)
					continue;
				assert_null(mlc_recv(slow[i]));      /* no answer, closed */
				closed_us[i] = h_now_us() - t0;
				left--;
			}
			usleep(10000);
		}
	}
	prober_report(&p, "a byte a second");
	qsort(closed_us, N_SLOW_FRAMES, sizeof(closed_us[0]), cmp_i64);
	print_message("%d clients sending a %zu-byte frame a byte a second closed after "
		      "%.2f s to %.2f s (frame_timeout_s = %d)\n", N_SLOW_FRAMES, len,
		      closed_us[0] / 1e6, closed_us[N_SLOW_FRAMES - 1] / 1e6, FRAME_TIMEOUT_S);
	assert_int_equal(left, 0);
	assert_true(closed_us[0] > FRAME_TIMEOUT_S * 1000000LL - 200000);
	assert_true(closed_us[N_SLOW_FRAMES - 1] < FRAME_TIMEOUT_S * 1000000LL + 2000000);
	assert_int_equal(h_log_count(&H, logged) - before, N_SLOW_FRAMES);
	for (int i = 0; i < N_SLOW_FRAMES; i++)
		mlc_close(slow[i]);
	free(frame);
}

/* A connection that says nothing after its handshake is closed after
 * idle_timeout_s. */
static void test_idle_connection(void **state)
{
	struct mlc *c = h_connect(&H, "siao-rhone", NULL, 0);
	int64_t t0 = h_now_us(), took;

	(void)state;
	assert_non_null(c);
	mlc_set_timeout(c, (IDLE_TIMEOUT_S + 3) * 1000);
	assert_null(mlc_recv(c));
	took = h_now_us() - t0;
	assert_false(mlc_timed_out(c));
	print_message("a silent connection closed after %.2f s (idle_timeout_s = %d)\n",
		      took / 1e6, IDLE_TIMEOUT_S);
	assert_true(took > IDLE_TIMEOUT_S * 1000000LL - 200000);
	assert_true(h_log_wait(&H, "org=siao-rhone reason=\"idle timeout\"", 1, 1000));
	mlc_close(c);
}

/* A client on a slow link sends a frame every 200 ms, each write ending
 * one frame and starting the next, so that a part of a frame always waits
 * at the server: it is making progress and must not be taken for a slow
 * one. Its connection lasts well past frame_timeout_s. */
static void test_steady_client_is_not_cut_off(void **state)
{
	struct mlc *c = h_connect(&H, "asso-relais", NULL, 0);
	uint8_t *frame, *pair;
	size_t len = encode_frame(h_ping(&H), &frame), half = len / 2;
	int frames = (FRAME_TIMEOUT_S * 2 + 1) * 5;

	(void)state;
	assert_non_null(c);
	pair = malloc(2 * len);
	assert_non_null(pair);
	memcpy(pair, frame + half, len - half);         /* the end of one */
	memcpy(pair + len - half, frame, half);         /* the start of the next */
	assert_int_equal(mlc_send_raw(c, frame, half), 0);
	for (int i = 0; i < frames; i++) {
		mlc_response *r;

		usleep(200000);
		assert_int_equal(mlc_send_raw(c, pair, len), 0);
		r = mlc_recv(c);
		if (!r)
			fail_msg("frame %d of %d, %.1f s in: %s", i + 1, frames, (i + 1) * 0.2,
				 mlc_error(c));
		assert_int_equal(h_code(r), ST(OK));
		mlc_response_free(r);
	}
	mlc_close(c);
	free(pair);
	free(frame);
}

/* ------------------------------------------------------------------------
 * A million requests pipelined and never read.
 */

struct flood {
	struct mlc *c;
	uint8_t *frame;        /* the request pipelined, framed */
	size_t len;
	long sent;             /* requests written */
	bool blocked;          /* a write made no progress for BLOCKED_MS */
	atomic_bool done;
	char error[256];
};

/* Write N_PIPELINED copies of one request, CHUNK_FRAMES at a time, never
 * reading; stop when the server no longer reads them, or after FLOOD_US if
 * it still reads a few now and then. The connection stays open. */
static void *flood(void *arg)
{
	struct flood *f = arg;
	uint8_t *chunk = malloc(f->len * CHUNK_FRAMES);
	int64_t end = h_now_us() + FLOOD_US;

	for (int i = 0; chunk && i < CHUNK_FRAMES; i++)
		memcpy(chunk + i * f->len, f->frame, f->len);
	mlc_set_timeout(f->c, BLOCKED_MS);
	while (chunk && f->sent < N_PIPELINED && h_now_us() < end) {
		if (mlc_send_raw(f->c, chunk, f->len * CHUNK_FRAMES)) {
			f->blocked = true;
			snprintf(f->error, sizeof(f->error), "%s", mlc_error(f->c));
			break;
		}
		f->sent += CHUNK_FRAMES;
	}
	free(chunk);
	atomic_store(&f->done, true);
	return NULL;
}

/* The writer jobs the server has run (commands, access records). */
static uint64_t server_jobs(void)
{
	mlc_request *req = h_ping(&H);
	mlc_response *r;
	uint64_t jobs;

	req->ping->counters = true;
	r = h_send_as(&H, "auditor", req, ST(OK));
	jobs = r->pong->counters->jobs;
	mlc_response_free(r);
	return jobs;
}

struct outcome {
	long sent;             /* requests the client could write */
	long growth_kb;        /* the most the server's anonymous memory grew by */
};

/* org pipelines make() requests without reading a reply, while the server
 * keeps serving the others. With stuck, its replies fill the socket buffers,
 * and the server must close it once they have been left unread for
 * idle_timeout_s; otherwise the client hangs up. */
static struct outcome pipeline_attack(const char *org, mlc_request *(*make)(void),
				      const char *what, bool stuck)
{
	static struct prober p;
	static struct flood f;
	char closed[128], attack[128];
	uint64_t jobs_before = server_jobs();
	long rss_held, rss_after;
	struct mem m;
	int64_t t0;
	pthread_t t;

	snprintf(attack, sizeof(attack), "%s pipelined, never read", what);
	f = (struct flood){ .c = h_connect(&H, org, NULL, 0) };
	assert_non_null(f.c);
	f.len = encode_frame(make(), &f.frame);
	mem_start(&m);
	prober_start(&p, false);
	t0 = h_now_us();
	assert_int_equal(pthread_create(&t, NULL, flood, &f), 0);
	while (!atomic_load(&f.done)) {
		mem_sample(&m);
		usleep(50000);
	}
	pthread_join(t, NULL);
	rss_held = mem_sample(&m);
	prober_report(&p, attack);
	print_message("%s: %ld of %d requests written in %.1f s, then %s\n", attack, f.sent,
		      N_PIPELINED, (h_now_us() - t0) / 1e6, f.blocked ? "a write blocked for "
		      XSTR(BLOCKED_MS) " ms (the server reads no more than it answers)" :
		      f.sent < N_PIPELINED ? "the client gave up" : "all written");
	/* every other call of the prober is a personal read too */
	print_message("%s: %llu of them answered through the writer (access records)\n",
		      attack, (unsigned long long)(server_jobs() - jobs_before - p.n / 2));

	/* the server closes it (or it hangs up): its replies and its unread
	 * requests go */
	if (stuck) {
		snprintf(closed, sizeof(closed), "org=%s reason=\"replies left unread", org);
		assert_true(h_log_wait(&H, closed, 1, (IDLE_TIMEOUT_S + 5) * 1000));
		mem_sample(&m);
	}
	mlc_close(f.c);
	usleep(200000);
	rss_after = server_mem_kb("VmRSS");
	print_message("%s: server VmRSS %ld KiB before, %ld KiB at most (+%ld), %ld KiB once "
		      "the client was blocked, %ld KiB once it was gone; anonymous memory +%ld KiB "
		      "at most\n", attack, m.rss_before, m.rss_peak, m.rss_peak - m.rss_before,
		      rss_held, rss_after, m.anon_peak - m.anon_before);
	free(f.frame);
	return (struct outcome){ .sent = f.sent, .growth_kb = m.anon_peak - m.anon_before };
}

/* The server stopped reading a client (it could not write everything) and
 * its memory stayed bounded. */
static void assert_contained(struct outcome o)
{
	assert_true(o.sent < N_PIPELINED);
	if (CHECK_MEMORY)
		assert_true(o.growth_kb < RSS_GROWTH_LIMIT_KB);
}

/* Pings are answered at once: reading stops on max_output_bytes. */
static void test_pipelined_pings_never_read(void **state)
{
	(void)state;
	assert_contained(pipeline_attack("asso-relais", small_ping, "pings", true));
}

/* Each read waits for its access record: the server holds at most
 * max_inflight of them at the writer and reads no more meanwhile. Their
 * replies may drain into the socket buffers as fast as the writer makes
 * them (under the sanitizers it is slow): the client hangs up itself. */
static void test_pipelined_reads_never_read(void **state)
{
	(void)state;
	assert_contained(pipeline_attack("bailleur-est", personal_read, "personal reads",
					 false));
}

/* The same pings against a server with a larger max_output_bytes: its
 * memory grows by about that much, so it is the key that bounds it. */
static void test_max_output_bytes_is_the_bound(void **state)
{
	struct outcome o;

	(void)state;
	assert_int_equal(h_teardown(&H), 0);
	assert_int_equal(start_server(LARGE_OUTPUT), 0);
	o = pipeline_attack("asso-relais", small_ping, "pings, max_output_bytes 16 MiB", true);
	if (CHECK_MEMORY)
		assert_true(o.growth_kb > LARGE_OUTPUT_KB / 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unfinished_handshakes),
		cmocka_unit_test(test_byte_a_second),
		cmocka_unit_test(test_idle_connection),
		cmocka_unit_test(test_steady_client_is_not_cut_off),
		cmocka_unit_test(test_pipelined_pings_never_read),
		cmocka_unit_test(test_pipelined_reads_never_read),
		cmocka_unit_test(test_max_output_bytes_is_the_bound),
	};

	return cmocka_run_group_tests_name("attacks", tests, setup, teardown);
}
