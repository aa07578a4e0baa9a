/* test_metrics.c - the operator's /metrics endpoint (issue 8, item 4):
 * scraped over plain HTTP after referrals, a refused command and a
 * subscription; its figures checked against what the test did, its format
 * by the Python Prometheus client's parser; other paths and methods
 * refused; no listener at all when metrics_listen is not set; a clean
 * refusal to start when its port is taken.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define ST(x) MAILLAGE__V1__STATUS_CODE__##x
#define RES(x) MAILLAGE__V1__RESPONSE__RESULT_##x
#define REFERRALS 3

/* Debian's python3-prometheus-client, not whatever python3 is on PATH. */
#define PYTHON "/usr/bin/python3"

/* Parse stdin with the Prometheus client's parser, then check what the
 * parser lets through: a TYPE and a HELP for every family, each family once,
 * histograms cumulative and closed by +Inf = _count. No single quotes: the
 * script goes to the shell inside them. */
static const char check_script[] =
	"import sys\n"
	"from prometheus_client.parser import text_string_to_metric_families as parse\n"
	"want = {\"maillage_commands\": \"counter\", \"maillage_commits\": \"counter\",\n"
	"        \"maillage_commit_events\": \"histogram\",\n"
	"        \"maillage_commit_duration_seconds\": \"histogram\",\n"
	"        \"maillage_connections\": \"gauge\", \"maillage_subscribers\": \"gauge\",\n"
	"        \"maillage_subscriber_lag_events\": \"gauge\",\n"
	"        \"maillage_log_position\": \"gauge\",\n"
	"        \"maillage_projection_lag_events\": \"gauge\",\n"
	"        \"maillage_lmdb_map_size_bytes\": \"gauge\",\n"
	"        \"maillage_lmdb_map_used_bytes\": \"gauge\",\n"
	"        \"process_cpu_seconds\": \"counter\",\n"
	"        \"process_resident_memory_bytes\": \"gauge\",\n"
	"        \"process_start_time_seconds\": \"gauge\"}\n"
	"seen = {}\n"
	"for f in parse(sys.stdin.read()):\n"
	"    assert f.name not in seen, \"family twice: \" + f.name\n"
	"    assert f.type != \"unknown\" and f.documentation, \"no TYPE or HELP: \" + f.name\n"
	"    seen[f.name] = f.type\n"
	"    if f.type == \"histogram\":\n"
	"        b = [s for s in f.samples if s.name.endswith(\"_bucket\")]\n"
	"        les = [float(s.labels[\"le\"]) for s in b]\n"
	"        assert les == sorted(les) and les[-1] == float(\"inf\"), f.name\n"
	"        assert [s.value for s in b] == sorted(s.value for s in b), f.name\n"
	"        n = [s.value for s in f.samples if s.name == f.name + \"_count\"]\n"
	"        assert n == [b[-1].value], f.name\n"
	"for name, t in want.items():\n"
	"    assert seen.get(name) == t, name + \": \" + str(seen.get(name))\n"
	"print(\"parsed %d families\" % len(seen))\n";

static int metrics_port;

static int setup(void **state)
{
	char extra[64];

	(void)state;
	metrics_port = h_free_port();
	if (metrics_port < 0)
		return -1;
	snprintf(extra, sizeof(extra), "metrics_listen = 127.0.0.1:%d", metrics_port);
	return h_setup(&H, extra);
}

/* One HTTP/1.0 request over a plain socket to the metrics port; the whole
 * answer (headers and body, NUL-terminated; free it). */
static char *http(const char *method, const char *path)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(metrics_port) };
	size_t len = 0, cap = 1 << 16;
	char req[256], *buf;
	ssize_t n;
	int fd;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	n = snprintf(req, sizeof(req), "%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", method, path);
	assert_int_equal(write(fd, req, (size_t)n), n);
	buf = malloc(cap);
	assert_non_null(buf);
	while ((n = read(fd, buf + len, cap - 1 - len)) > 0) {
		len += (size_t)n;
		if (len == cap - 1) {
			cap *= 2;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
	}
	close(fd);
	buf[len] = '\0';
	return buf;
}

/* The status code of an HTTP answer. */
static int http_status(const char *answer)
{
	int code = -1;

	assert_int_equal(sscanf(answer, "HTTP/1.%*d %d", &code), 1);
	return code;
}

/* The body of an HTTP answer (inside it). */
static const char *http_body(const char *answer)
{
	const char *b = strstr(answer, "\r\n\r\n");

	assert_non_null(b);
	return b + 4;
}

/* The value of the sample named series ("name" or "name{labels}"), or -1
 * when the body has no such sample. */
static double sample(const char *body, const char *series)
{
	size_t n = strlen(series);
	const char *l = body;

	while (l && *l) {
		if (!strncmp(l, series, n) && l[n] == ' ')
			return strtod(l + n + 1, NULL);
		l = strchr(l, '\n');
		if (l)
			l++;
	}
	return -1;
}

/* Feed body to the parser; fail the test unless it accepts it. */
static void check_format(const char *body)
{
	char cmd[sizeof(check_script) + 64];
	FILE *p;

	if (access(PYTHON, X_OK) ||
	    system(PYTHON " -c 'import prometheus_client' 2>/dev/null"))
		fail_msg("no Prometheus parser: install Debian's python3-prometheus-client "
			 "(%s -c 'import prometheus_client' must work)", PYTHON);
	snprintf(cmd, sizeof(cmd), "%s -c '%s'", PYTHON, check_script);
	p = popen(cmd, "w");
	assert_non_null(p);
	fputs(body, p);
	if (pclose(p))
		fail_msg("the Prometheus parser refused the metrics (see above)");
}

/* GET /metrics: the body (free the answer in *answer). */
static const char *scrape(char **answer)
{
	*answer = http("GET", "/metrics");
	assert_int_equal(http_status(*answer), 200);
	return http_body(*answer);
}

/* Scrape until series reads value (2 s at most); the last answer (free it). */
static char *scrape_until(const char *series, double value)
{
	char *answer;

	for (int i = 0;; i++) {
		if (sample(scrape(&answer), series) == value || i == 200)
			return answer;
		free(answer);
		usleep(10000);
	}
}

static void test_scrape(void **state)
{
	mlc_request *sub = h_subscribe(&H, 0, NULL, NULL);
	struct mlc *c;
	mlc_response *r;
	char *answer;
	const char *body;
	double commits, map, used;

	(void)state;
	for (int i = 0; i < REFERRALS; i++) {
		char first[24];

		snprintf(first, sizeof(first), "Mesure%d", i);
		h_expect(&H, "bailleur-est", h_refer(&H, "vaulx-bron", "Compteur", first,
						     "1980-02-02"), ST(OK));
	}
	h_expect(&H, "bailleur-est", h_refer(&H, "vaulx-bron", "Compteur", "Mesure0",
					     "1980-02-02"), ST(ALREADY_EXISTS));
	c = h_connect(&H, "coord-vaulx-bron", NULL, 0);
	assert_non_null(c);
	assert_int_equal(mlc_send(c, sub), 0);
	r = mlc_recv(c);
	assert_non_null(r);
	assert_int_equal(r->result_case, RES(SUBSCRIBED));
	mlc_response_free(r);
	h_request_free(sub);

	answer = scrape_until("maillage_subscriber_max_lag_events", 0);
	body = http_body(answer);
	assert_non_null(strstr(answer, "Content-Type: text/plain; version=0.0.4"));
	assert_true(sample(body, "maillage_commands_total{type=\"refer_household\",status=\"OK\"}")
		    >= REFERRALS);
	assert_true(sample(body, "maillage_commands_total{type=\"refer_household\","
			   "status=\"ALREADY_EXISTS\"}") >= 1);
	commits = sample(body, "maillage_commits_total");
	assert_true(commits >= 1);
	assert_true(sample(body, "maillage_commit_events_count") == commits);
	assert_true(sample(body, "maillage_commit_events_sum") >= REFERRALS);
	assert_true(sample(body, "maillage_commit_duration_seconds_count") == commits);
	assert_true(sample(body, "maillage_commit_duration_seconds_sum") > 0);
	assert_true(sample(body, "maillage_connections{state=\"open\"}") >= 1);
	assert_true(sample(body, "maillage_connections{state=\"handshake\"}") >= 0);
	assert_true(sample(body, "maillage_connections{state=\"closing\"}") >= 0);
	assert_true(sample(body, "maillage_subscribers") == 1);
	assert_true(sample(body, "maillage_subscriber_lag_events") == 0);
	assert_true(sample(body, "maillage_log_position") == (double)h_last_position(&H));
	assert_true(sample(body, "maillage_projection_lag_events") == 0);
	map = sample(body, "maillage_lmdb_map_size_bytes");
	used = sample(body, "maillage_lmdb_map_used_bytes");
	assert_true(map == 1024.0 * 1024 * 1024);      /* map_size_mb's default */
	assert_true(used > 0 && used < map);
	assert_true(sample(body, "maillage_lmdb_last_txn_id") >= commits);
	assert_true(sample(body, "process_cpu_seconds_total") > 0);
	assert_true(sample(body, "process_resident_memory_bytes") > 1 << 20);
	assert_true(sample(body, "process_start_time_seconds") > (double)time(NULL) - 3600);
	assert_true(sample(body, "process_start_time_seconds") <= (double)time(NULL) + 1);
	/* No personal data: the referred name appears nowhere. */
	assert_null(strstr(body, "Compteur"));
	check_format(body);
	free(answer);

	/* The subscriber gone, the gauge follows. */
	mlc_close(c);
	answer = scrape_until("maillage_subscribers", 0);
	assert_true(sample(http_body(answer), "maillage_subscribers") == 0);
	free(answer);
}

static void test_other_paths_and_methods(void **state)
{
	char *answer;

	(void)state;
	answer = http("GET", "/other");
	assert_int_equal(http_status(answer), 404);
	free(answer);
	answer = http("GET", "/");
	assert_int_equal(http_status(answer), 404);
	free(answer);
	answer = http("POST", "/metrics");
	assert_int_equal(http_status(answer), 405);
	assert_non_null(strstr(answer, "Allow: GET\r\n"));
	free(answer);
	answer = http("HEAD", "/metrics");
	assert_int_equal(http_status(answer), 405);
	free(answer);
	/* A query string is not another path. */
	answer = http("GET", "/metrics?x=1");
	assert_int_equal(http_status(answer), 200);
	free(answer);
	assert_false(h_log_contains(&H, "metrics_not_loopback"));
	assert_true(h_log_contains(&H, "event=metrics_listening"));
}

/* Listening TCP sockets of process pid: its socket inodes that are in
 * /proc/net/tcp{,6} in state LISTEN (0A). */
static int listening_sockets(pid_t pid)
{
	static const char *const tables[] = { "/proc/net/tcp", "/proc/net/tcp6" };
	unsigned long inodes[256];
	size_t n = 0;
	char path[64], line[512];
	struct dirent *d;
	DIR *dir;
	int count = 0;

	for (size_t t = 0; t < 2; t++) {
		FILE *f = fopen(tables[t], "r");

		if (!f)
			continue;
		while (fgets(line, sizeof(line), f) && n < 256) {
			unsigned long inode;
			unsigned st;

			if (sscanf(line, " %*s %*s %*s %x %*s %*s %*s %*s %*s %lu", &st, &inode) == 2 &&
			    st == 0x0A)
				inodes[n++] = inode;
		}
		fclose(f);
	}
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	dir = opendir(path);
	assert_non_null(dir);
	while ((d = readdir(dir))) {
		char fd[320], target[64];
		unsigned long inode;
		ssize_t len;

		snprintf(fd, sizeof(fd), "%s/%s", path, d->d_name);
		len = readlink(fd, target, sizeof(target) - 1);
		if (len <= 0)
			continue;
		target[len] = '\0';
		if (sscanf(target, "socket:[%lu]", &inode) != 1)
			continue;
		for (size_t i = 0; i < n; i++)
			count += inodes[i] == inode;
	}
	closedir(dir);
	return count;
}

static void test_off_by_default(void **state)
{
	struct harness off;

	(void)state;
	/* On: the service listener and the metrics one. */
	assert_int_equal(listening_sockets(H.pid), 2);
	/* Off: the service listener only. */
	assert_int_equal(h_setup(&off, NULL), 0);
	assert_int_equal(listening_sockets(off.pid), 1);
	assert_false(h_log_contains(&off, "metrics_listening"));
	assert_int_equal(h_teardown(&off), 0);
}

/* A metrics port already taken: the server does not start, and says why. */
static void test_port_taken(void **state)
{
	struct harness taken;
	char extra[64];

	(void)state;
	snprintf(extra, sizeof(extra), "metrics_listen = 127.0.0.1:%d", metrics_port);
	assert_int_equal(h_setup(&taken, extra), -1);
	assert_true(h_log_contains(&taken, "cannot listen on metrics_listen"));
	assert_false(h_log_contains(&taken, "Sanitizer"));
	assert_int_equal(h_teardown(&taken), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scrape),
		cmocka_unit_test(test_other_paths_and_methods),
		cmocka_unit_test(test_off_by_default),
		cmocka_unit_test(test_port_taken),
	};

	return cmocka_run_group_tests_name("metrics", tests, setup, h_group_teardown);
}
