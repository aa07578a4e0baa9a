/* main.c - maillage-bench, the command benchmark: reads the command line,
 * then either prepares cases and runs the timed mix (commands/s, latency,
 * refusals, what the server counted), or holds idle connections (--idle).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <event2/event.h>

#include "bench.h"

const char bench_prog[] = PROG;

static const char usage_text[] =
	"usage: " PROG " --addr HOST:PORT --dev DIR [OPTIONS]\n"
	"\n"
	"Benchmarks the durable commands of a running maillaged over mutual TLS.\n"
	"Opens CONNECTIONS connections on one event loop, each as one organisation\n"
	"of the platform (the landlord, coordination, the partners: by their share\n"
	"of the mix), prepares cases (referred, acknowledged, accepted with a lead\n"
	"partner; pipelined, not timed), then for SECONDS sends the mix, pipelined\n"
	"(INFLIGHT per connection), as fast as possible or at RATE commands/s.\n"
	"Every command is legal where it is sent: a refusal is a finding. Prints\n"
	"commands/s overall and by type, latency from send to reply (p50, p90,\n"
	"p99, p99.9, max), refusals by status code, and what the server counted\n"
	"(Ping counters: batch sizes, commit time, cpu, memory). The last line is\n"
	"\"maillage commands/s: N\" (commands answered OK per second).\n"
	"\n"
	"options:\n"
	"  --addr HOST:PORT       server address (numeric)\n"
	"  --dev DIR              certificates: DIR/ca.crt, DIR/ORG.crt, DIR/ORG.key\n"
	"                         (tools/devsetup.sh)\n"
	"  --platform ID          the platform (vaulx-bron)\n"
	"  --landlord ID          refers, records procedure steps, proposes (bailleur-est)\n"
	"  --coordination ID      acknowledges, accepts (coord-vaulx-bron)\n"
	"  --partner ID           a lead partner: visits, answers proposals, closes;\n"
	"                         repeat for each (asso-habitat, asso-relais, ccas-vaulx)\n"
	"  --connections N        connections in all (64)\n"
	"  --seconds N            how long the mix is sent (20)\n"
	"  --rate N               commands/s in all, spread evenly (0: as fast as possible)\n"
	"  --inflight N           commands in flight per connection at most (32)\n"
	"  --cases N              cases in support the mix works on (2000)\n"
	"  --close-cases N        cases set aside for close_support (0: enough for the\n"
	"                         rate, or twice the preparation's referral rate)\n"
	"  --mix LIST             parts of each kind (visit=30,step=20,refer=25,propose=10,\n"
	"                         answer=5,ack=5,close=5)\n"
	"  --drain N              seconds allowed for the last replies (30)\n"
	"  --server-pid PID       also read the server's cpu and memory from /proc\n"
	"  --idle N               instead of the mix: N connections that say hello and\n"
	"                         stay idle; prints the server's memory with them open;\n"
	"                         the last line is then \"maillage idle connections: N,\n"
	"                         server rss: M MiB\"\n"
	"  --hold N               --idle: seconds the connections are held (5)\n"
	"  -h, --help             show this help\n"
	"\n"
	"Exit status: 0 done, 1 failed (a command refused or lost, a connection that\n"
	"did not open), 2 usage.\n";

enum opt_id {
	OPT_ADDR = 1000, OPT_DEV, OPT_PLATFORM, OPT_LANDLORD, OPT_COORDINATION, OPT_PARTNER,
	OPT_MIX, OPT_SERVER_PID, OPT_CONNECTIONS, OPT_SECONDS, OPT_RATE, OPT_INFLIGHT, OPT_CASES,
	OPT_CLOSE_CASES, OPT_DRAIN, OPT_IDLE, OPT_HOLD,
};

static const struct option long_options[] = {
	{ "addr", required_argument, NULL, OPT_ADDR },
	{ "dev", required_argument, NULL, OPT_DEV },
	{ "platform", required_argument, NULL, OPT_PLATFORM },
	{ "landlord", required_argument, NULL, OPT_LANDLORD },
	{ "coordination", required_argument, NULL, OPT_COORDINATION },
	{ "partner", required_argument, NULL, OPT_PARTNER },
	{ "mix", required_argument, NULL, OPT_MIX },
	{ "server-pid", required_argument, NULL, OPT_SERVER_PID },
	{ "connections", required_argument, NULL, OPT_CONNECTIONS },
	{ "seconds", required_argument, NULL, OPT_SECONDS },
	{ "rate", required_argument, NULL, OPT_RATE },
	{ "inflight", required_argument, NULL, OPT_INFLIGHT },
	{ "cases", required_argument, NULL, OPT_CASES },
	{ "close-cases", required_argument, NULL, OPT_CLOSE_CASES },
	{ "drain", required_argument, NULL, OPT_DRAIN },
	{ "idle", required_argument, NULL, OPT_IDLE },
	{ "hold", required_argument, NULL, OPT_HOLD },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* The counts: option id, name, where it goes, its limits. */
static const struct bench_count_opt counts[] = {
	{ OPT_CONNECTIONS, "connections", offsetof(struct bench_opts, connections), 1, 100000 },
	{ OPT_SECONDS, "seconds", offsetof(struct bench_opts, seconds), 1, 86400 },
	{ OPT_RATE, "rate", offsetof(struct bench_opts, rate), 0, 10000000 },
	{ OPT_INFLIGHT, "inflight", offsetof(struct bench_opts, inflight), 1, 65536 },
	{ OPT_CASES, "cases", offsetof(struct bench_opts, cases), 1, 10000000 },
	{ OPT_CLOSE_CASES, "close-cases", offsetof(struct bench_opts, close_cases), 0, 10000000 },
	{ OPT_DRAIN, "drain", offsetof(struct bench_opts, drain_s), 1, 3600 },
	{ OPT_IDLE, "idle", offsetof(struct bench_opts, idle), 0, 1000000 },
	{ OPT_HOLD, "hold", offsetof(struct bench_opts, hold_s), 1, 86400 },
};

/* --mix visit=30,step=20,...: kinds not named get 0. 0 or -1 (printed). */
static int parse_mix(struct bench_opts *o, const char *arg)
{
	static const char *const names[BENCH_MIX_KINDS] = {
		[K_VISIT] = "visit", [K_STEP] = "step", [K_REFER] = "refer",
		[K_PROPOSE] = "propose", [K_ANSWER] = "answer", [K_ACK] = "ack",
		[K_CLOSE] = "close",
	};
	char buf[256], *save = NULL, *item;
	unsigned sum = 0;

	snprintf(buf, sizeof(buf), "%s", arg);
	memset(o->weight, 0, sizeof(o->weight));
	for (item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(item, '=');
		uint64_t v;
		int k;

		if (!eq)
			goto err_syntax;
		*eq = 0;
		for (k = 0; k < BENCH_MIX_KINDS && strcmp(names[k], item); k++)
			;
		if (k == BENCH_MIX_KINDS || bench_parse_count(eq + 1, "mix", 0, 1000, &v))
			goto err_syntax;
		o->weight[k] = (unsigned)v;
		sum += (unsigned)v;
	}
	if (sum)
		return 0;
err_syntax:
	fprintf(stderr, PROG ": bad --mix '%s': KIND=PARTS,... with KIND among visit, step, "
		"refer, propose, answer, ack, close, and some parts\n", arg);
	return -1;
}

static int parse_options(struct bench_opts *o, int argc, char **argv)
{
	bool partners_given = false;
	uint64_t pid;
	int ch;

	while ((ch = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
		switch (ch) {
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		case OPT_ADDR: o->addr = optarg; break;
		case OPT_DEV: o->dev = optarg; break;
		case OPT_PLATFORM: o->platform = optarg; break;
		case OPT_LANDLORD: o->landlord = optarg; break;
		case OPT_COORDINATION: o->coordination = optarg; break;
		case OPT_PARTNER:
			if (!partners_given)
				o->n_partners = 0;
			partners_given = true;
			if (o->n_partners == BENCH_MAX_PARTNERS) {
				fprintf(stderr, PROG ": %d partners at most\n", BENCH_MAX_PARTNERS);
				return -1;
			}
			o->partners[o->n_partners++] = optarg;
			break;
		case OPT_MIX:
			if (parse_mix(o, optarg))
				return -1;
			break;
		case OPT_SERVER_PID:
			if (bench_parse_count(optarg, "server-pid", 1, 1u << 30, &pid))
				return -1;
			o->server_pid = (long)pid;
			break;
		case '?':
			return -1;
		default:
			if (bench_parse_count_opt(counts, sizeof(counts) / sizeof(counts[0]), o, ch,
						  optarg))
				return -1;
			break;
		}
	}
	if (optind != argc || !o->addr || !o->dev) {
		fprintf(stderr, "%s", optind != argc ? usage_text :
			PROG ": --addr and --dev are required (see --help)\n");
		return -1;
	}
	if (!o->idle && o->connections < 2 + o->n_partners) {
		fprintf(stderr, PROG ": --connections must be at least %zu (one per organisation)\n",
			2 + o->n_partners);
		return -1;
	}
	return 0;
}

/* As many open files as we may: one per connection, and a few. */
static void raise_nofile(uint64_t want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want)
		fprintf(stderr, PROG ": open-file limit %llu is under the %" PRIu64 " needed: "
			"some connections will fail\n", (unsigned long long)rl.rlim_cur, want);
}

/* Open every connection of p and wait until each is ready or gone. 0, or
 * -1 when one did not open. */
static int connect_all(struct pool *p)
{
	p->connect_start_us = bench_mono_us();
	pool_launch(p);
	while (!p->settled) {
		if (event_base_loop(p->base, EVLOOP_ONCE) < 0)
			return -1;
	}
	printf("connections            %zu ready after %.2f s (%zu failed)\n", p->ready,
	       bench_seconds_between(p->connect_start_us, p->settled_us), p->gone);
	return p->ready == p->n_conns ? 0 : -1;
}

static int run_mix(const struct bench_opts *o)
{
	const unsigned *w = o->weight;
	const unsigned share[3] = {
		[ROLE_LANDLORD] = w[K_REFER] + w[K_STEP] + w[K_PROPOSE],
		[ROLE_COORDINATION] = w[K_ACK],
		[ROLE_PARTNER] = w[K_VISIT] + w[K_ANSWER] + w[K_CLOSE],
	};
	uint32_t cap = o->inflight > BENCH_PREP_INFLIGHT ? (uint32_t)o->inflight :
		       BENCH_PREP_INFLIGHT;
	struct server_watch watch = { 0 };
	struct server_snap before = { 0 }, after = { 0 };
	struct pool p = { 0 };
	struct book b = { 0 };
	double ok_per_s = 0;
	uint64_t answered = 0;
	int rc = 1;

	if (server_watch_open(&watch, o) || pool_init(&p, o, o->connections, cap, share) ||
	    connect_all(&p) || prep_run(&p, &b) || server_snap_take(&watch, &before))
		goto out;
	rc = mix_run(&p, &b, &ok_per_s, &answered);
	printf("\n");
	if (server_snap_take(&watch, &after) == 0)
		server_print_run(&before, &after, answered);
	else
		rc = 1;
	printf("maillage commands/s: %.0f\n", ok_per_s);
out:
	pool_release(&p);
	book_release(&b);
	server_snap_release(&before);
	server_snap_release(&after);
	server_watch_close(&watch);
	return rc;
}

int main(int argc, char **argv)
{
	struct bench_opts o = {
		.platform = "vaulx-bron", .landlord = "bailleur-est",
		.coordination = "coord-vaulx-bron",
		.partners = { "asso-habitat", "asso-relais", "ccas-vaulx" }, .n_partners = 3,
		.weight = { [K_VISIT] = 30, [K_STEP] = 20, [K_REFER] = 25, [K_PROPOSE] = 10,
			    [K_ANSWER] = 5, [K_ACK] = 5, [K_CLOSE] = 5 },
		.connections = 64, .seconds = 20, .inflight = 32, .cases = 2000, .hold_s = 5,
		.drain_s = 30,
	};
	time_t now = time(NULL);
	struct tm tm;

	if (parse_options(&o, argc, argv))
		return 2;
	if (bench_start(o.token))
		return 1;
	gmtime_r(&now, &tm);
	strftime(o.today, sizeof(o.today), "%Y-%m-%d", &tm);
	raise_nofile((o.idle ? o.idle : o.connections) + 64);
	return o.idle ? idle_run(&o) : run_mix(&o);
}
