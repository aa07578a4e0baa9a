/* main.c - maillage-subbench, the subscription benchmark: delivery latency
 * from commit to notification for many subscribers under a steady command
 * rate, the fill rate of a large log, and the catch-up speed of a subscriber.
 * This file reads the command line and runs the phase asked for.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

const char bench_prog[] = PROG;

static const char usage_text[] =
	"usage: " PROG " [OPTIONS] latency|fill|catchup\n"
	"\n"
	"Benchmarks the subscriptions of a running maillaged over mutual TLS.\n"
	"  latency   SUBSCRIBERS connections (one event loop) subscribe from now as\n"
	"            the subscriber organisation while a producer sends ReferHousehold\n"
	"            commands as the producer organisation, RATE per second for\n"
	"            SECONDS; prints the delivery latency (receive time minus\n"
	"            event.recorded_at) and the commands' round trip\n"
	"  fill      sends ReferHousehold commands, pipelined over CONNECTIONS, until\n"
	"            the log holds EVENTS events; prints the commands per second\n"
	"  catchup   one subscriber (on the event loop too) reads the log from\n"
	"            position 0 up to its head; prints the events per second\n"
	"\n"
	"options:\n"
	"  --addr HOST:PORT         server address (a numeric IP for latency)\n"
	"  --ca FILE                CA that signed the server's certificate\n"
	"  --producer-cert FILE     producer organisation's certificate (latency, fill)\n"
	"  --producer-key FILE      its private key\n"
	"  --subscriber-cert FILE   subscriber organisation's certificate (latency, catchup)\n"
	"  --subscriber-key FILE    its private key\n"
	"  --platform ID            platform referred to and followed (vaulx-bron)\n"
	"  --subscribers N          latency: subscriber connections (1000)\n"
	"  --rate N                 latency: commands per second (25)\n"
	"  --seconds N              latency: how long the producer sends (20)\n"
	"  --drain N                latency: seconds allowed for the last notifications (10)\n"
	"  --events N               fill: the number of events the log must reach (1000000)\n"
	"  --connections N          fill: connections sending at once (4)\n"
	"  --inflight N             fill: commands in flight per connection (256)\n"
	"  -h, --help               show this help\n"
	"\n"
	"Exit status: 0 done, 1 failed (or not every notification arrived), 2 usage.\n";

enum opt_id {
	OPT_ADDR = 1000, OPT_CA, OPT_PRODUCER_CERT, OPT_PRODUCER_KEY, OPT_SUBSCRIBER_CERT,
	OPT_SUBSCRIBER_KEY, OPT_PLATFORM, OPT_SUBSCRIBERS, OPT_RATE, OPT_SECONDS, OPT_DRAIN,
	OPT_EVENTS, OPT_CONNECTIONS, OPT_INFLIGHT,
};

static const struct option long_options[] = {
	{ "addr", required_argument, NULL, OPT_ADDR },
	{ "ca", required_argument, NULL, OPT_CA },
	{ "producer-cert", required_argument, NULL, OPT_PRODUCER_CERT },
	{ "producer-key", required_argument, NULL, OPT_PRODUCER_KEY },
	{ "subscriber-cert", required_argument, NULL, OPT_SUBSCRIBER_CERT },
	{ "subscriber-key", required_argument, NULL, OPT_SUBSCRIBER_KEY },
	{ "platform", required_argument, NULL, OPT_PLATFORM },
	{ "subscribers", required_argument, NULL, OPT_SUBSCRIBERS },
	{ "rate", required_argument, NULL, OPT_RATE },
	{ "seconds", required_argument, NULL, OPT_SECONDS },
	{ "drain", required_argument, NULL, OPT_DRAIN },
	{ "events", required_argument, NULL, OPT_EVENTS },
	{ "connections", required_argument, NULL, OPT_CONNECTIONS },
	{ "inflight", required_argument, NULL, OPT_INFLIGHT },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* The counts: option id, name, where it goes, its limits. */
static const struct bench_count_opt counts[] = {
	{ OPT_SUBSCRIBERS, "subscribers", offsetof(struct bench_opts, subscribers), 1, 100000 },
	{ OPT_RATE, "rate", offsetof(struct bench_opts, rate), 1, 100000 },
	{ OPT_SECONDS, "seconds", offsetof(struct bench_opts, seconds), 1, 86400 },
	{ OPT_DRAIN, "drain", offsetof(struct bench_opts, drain_s), 1, 3600 },
	{ OPT_EVENTS, "events", offsetof(struct bench_opts, events), 0, UINT64_C(1) << 40 },
	{ OPT_CONNECTIONS, "connections", offsetof(struct bench_opts, connections), 1, 256 },
	{ OPT_INFLIGHT, "inflight", offsetof(struct bench_opts, inflight), 1, 65536 },
};

static int parse_options(struct bench_opts *o, int argc, char **argv)
{
	int ch;

	while ((ch = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
		switch (ch) {
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		case OPT_ADDR: o->addr = optarg; break;
		case OPT_CA: o->ca = optarg; break;
		case OPT_PRODUCER_CERT: o->producer_cert = optarg; break;
		case OPT_PRODUCER_KEY: o->producer_key = optarg; break;
		case OPT_SUBSCRIBER_CERT: o->subscriber_cert = optarg; break;
		case OPT_SUBSCRIBER_KEY: o->subscriber_key = optarg; break;
		case OPT_PLATFORM: o->platform = optarg; break;
		case '?':
			return -1;
		default:
			if (bench_parse_count_opt(counts, sizeof(counts) / sizeof(counts[0]), o, ch,
						  optarg))
				return -1;
			break;
		}
	}
	return 0;
}

/* The options phase needs, present. */
static int check_needed(const struct bench_opts *o, const char *phase)
{
	bool producer = strcmp(phase, "catchup") != 0;
	bool subscriber = strcmp(phase, "fill") != 0;
	const char *missing = !o->addr ? "--addr" : !o->ca ? "--ca" :
			      producer && !o->producer_cert ? "--producer-cert" :
			      producer && !o->producer_key ? "--producer-key" :
			      subscriber && !o->subscriber_cert ? "--subscriber-cert" :
			      subscriber && !o->subscriber_key ? "--subscriber-key" : NULL;

	if (missing) {
		fprintf(stderr, PROG ": %s needs %s (see --help)\n", phase, missing);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct bench_opts o = { .platform = "vaulx-bron", .subscribers = 1000, .rate = 25,
				.seconds = 20, .drain_s = 10, .events = 1000000, .connections = 4,
				.inflight = 256 };
	const char *phase;

	if (parse_options(&o, argc, argv))
		return 2;
	if (optind != argc - 1) {
		fprintf(stderr, "%s", usage_text);
		return 2;
	}
	phase = argv[optind];
	if (strcmp(phase, "latency") && strcmp(phase, "fill") && strcmp(phase, "catchup")) {
		fprintf(stderr, PROG ": unknown phase '%s' (latency, fill or catchup)\n", phase);
		return 2;
	}
	if (check_needed(&o, phase))
		return 2;
	if (bench_start(o.token))
		return 1;
	if (!strcmp(phase, "latency"))
		return latency_run(&o);
	if (!strcmp(phase, "fill"))
		return fill_run(&o);
	return catchup_run(&o);
}
