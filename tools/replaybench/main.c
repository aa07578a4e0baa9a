/* maillage-replaybench - how fast the models are rebuilt from the log, and
 * how fast one long case's history is read (issue 6's replay targets).
 *
 * Fills a fresh data directory in process (the writer's own code: command
 * validation skipped, every command run and committed in batches as the
 * server does): households referred, acknowledged, accepted and visited, plus
 * one case with --history events. Then times, on that directory, what
 * `maillage-admin rebuild` does (every model dropped and rebuilt from the
 * log, one write transaction) and the query the server answers for
 * GetCaseHistory of the long case (read transaction, personal fields
 * unsealed, the framed Response built), --reads times. With --verify, first
 * checks that a rebuild gives byte for byte the models the writer stored
 * (what `maillage-admin verify` does for the models).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "command.h"
#include "config.h"
#include "err.h"
#include "evlog.h"
#include "kek.h"
#include "models.h"
#include "query.h"
#include "vault.h"
#include "verify.h"

#define BATCH 4096               /* commands per write transaction, as max_batch */
#define VISITS_PER_CASE 7        /* a case: referral, acknowledgement, acceptance, visits */

static const char usage[] =
	"usage: maillage-replaybench -c CONFIG [--events N] [--history N] [--reads N]\n"
	"                            [--verify]\n"
	"\n"
	"Fills CONFIG's data_dir (which must not exist yet) with about N events\n"
	"(default 1000000) in cases of 10 events, plus one case of --history events\n"
	"(default 1000); then times the rebuild of every model from the log and\n"
	"--reads (default 200) reads of the long case's history. Prints the\n"
	"figures. --verify: before the timed rebuild, rebuild the models into a\n"
	"scratch directory next to data_dir and compare them with the ones the\n"
	"writer stored (exit status 1 when they differ). The organisations used: landlord bailleur-est, coordination\n"
	"coord-vaulx-bron, partner ccas-vaulx, platform vaulx-bron (tools/devsetup.sh).\n";

struct bench {
	struct config *cfg;
	struct evlog *log;
	struct evlog_txn *txn;       /* the batch being filled */
	size_t in_batch;
	uint64_t commands, refused;
	uint32_t next_id;
	int64_t now_us;
	const struct org *landlord, *coord, *partner;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, int rc)
{
	fprintf(stderr, "maillage-replaybench: %s: %s\n", what, ml_strerror(rc));
	exit(1);
}

static void commit_batch(struct bench *b)
{
	int rc;

	if (!b->txn)
		return;
	rc = evlog_txn_commit(b->txn);
	if (rc)
		die("commit", rc);
	b->txn = NULL;
	b->in_batch = 0;
}

/* Run req as org in the current batch; the case id it named or made goes
 * into case_id (when not NULL). */
static void run(struct bench *b, const struct org *org, ml_request *req, char *case_id)
{
	uint8_t id[16] = { 0 };
	struct command_pre pre;
	struct command_ctx ctx = { .cfg = b->cfg, .org = org, .req = req,
				   .now_us = b->now_us++, .pre = &pre };
	struct command_out out;
	int rc;

	if (!b->txn && (rc = evlog_txn_begin(b->log, true, &b->txn)))
		die("begin", rc);
	memcpy(id, &b->next_id, sizeof(b->next_id));
	b->next_id++;
	req->command_id.data = id;
	req->command_id.len = sizeof(id);
	command_prepare(b->cfg, req, &pre);   /* the loop thread's part, as the
					       * server does; not ready: run
					       * computes it */
	command_run(b->txn, &ctx, &out);
	explicit_bzero(&pre, sizeof(pre));
	b->commands++;
	if (out.st.code) {
		b->refused++;
		fprintf(stderr, "refused: %s\n", out.st.message);
	} else if (case_id) {
		snprintf(case_id, sizeof(out.case_id), "%s", out.case_id);
	}
	req->command_id.data = NULL;
	if (++b->in_batch == BATCH)
		commit_batch(b);
}

static void refer(struct bench *b, uint64_t n, char *case_id)
{
	ml_request req = MAILLAGE__V1__REQUEST__INIT;
	Maillage__V1__ReferHousehold body = MAILLAGE__V1__REFER_HOUSEHOLD__INIT;
	Maillage__V1__Referral ref = MAILLAGE__V1__REFERRAL__INIT;
	Maillage__V1__Household hh = MAILLAGE__V1__HOUSEHOLD__INIT;
	Maillage__V1__Person p = MAILLAGE__V1__PERSON__INIT;
	char first[32];

	snprintf(first, sizeof(first), "Replay%llu", (unsigned long long)n);
	p.last_name = "Rejeu";
	p.first_name = first;
	p.birth_date = "1975-05-05";
	hh.reference_person = &p;
	hh.adults = 1;
	hh.children = 2;
	hh.address = "12 rue des Lilas";
	hh.commune = "Vaulx-en-Velin";
	ref.platform = "vaulx-bron";
	ref.reason = MAILLAGE__V1__REFERRAL_REASON__REASON_UNPAID_RENT;
	ref.household = &hh;
	body.referral = &ref;
	req.body_case = MAILLAGE__V1__REQUEST__BODY_REFER_HOUSEHOLD;
	req.refer_household = &body;
	run(b, b->landlord, &req, case_id);
}

static void acknowledge_accept(struct bench *b, char *case_id)
{
	ml_request req = MAILLAGE__V1__REQUEST__INIT;
	Maillage__V1__AcknowledgeReferral ack = MAILLAGE__V1__ACKNOWLEDGE_REFERRAL__INIT;
	Maillage__V1__AcceptCase acc = MAILLAGE__V1__ACCEPT_CASE__INIT;
	Maillage__V1__Acceptance a = MAILLAGE__V1__ACCEPTANCE__INIT;

	ack.case_id = case_id;
	req.body_case = MAILLAGE__V1__REQUEST__BODY_ACKNOWLEDGE_REFERRAL;
	req.acknowledge_referral = &ack;
	run(b, b->coord, &req, NULL);
	a.lead_partner = b->partner->id;
	a.support_level = MAILLAGE__V1__SUPPORT_LEVEL__SUPPORT_INTENSIVE_GLOBAL;
	acc.case_id = case_id;
	acc.acceptance = &a;
	req.body_case = MAILLAGE__V1__REQUEST__BODY_ACCEPT_CASE;
	req.accept_case = &acc;
	run(b, b->coord, &req, NULL);
}

static void visit(struct bench *b, char *case_id)
{
	ml_request req = MAILLAGE__V1__REQUEST__INIT;
	Maillage__V1__RecordVisit body = MAILLAGE__V1__RECORD_VISIT__INIT;
	Maillage__V1__Visit v = MAILLAGE__V1__VISIT__INIT;
	Maillage__V1__Domain domain = MAILLAGE__V1__DOMAIN__DOMAIN_BUDGET;

	v.date = "2026-11-02";
	v.mode = MAILLAGE__V1__VISIT_MODE__VISIT_HOME;
	v.household_present = 1;
	v.n_domains = 1;
	v.domains = &domain;
	v.notes = "budget revu avec le ménage";
	body.case_id = case_id;
	body.visit = &v;
	req.body_case = MAILLAGE__V1__REQUEST__BODY_RECORD_VISIT;
	req.record_visit = &body;
	run(b, b->partner, &req, NULL);
}

/* A case of n events: referral, acknowledgement, acceptance, visits. */
static void one_case(struct bench *b, uint64_t number, uint64_t n, char *case_id)
{
	refer(b, number, case_id);
	acknowledge_accept(b, case_id);
	for (uint64_t i = 3; i < n; i++)
		visit(b, case_id);
}

static double rebuild(struct evlog *log)
{
	struct evlog_txn *txn;
	double t0 = now_s();
	int rc = evlog_txn_begin(log, true, &txn);

	if (!rc && !(rc = evlog_models_clear(txn)) && !(rc = models_rebuild(txn, txn)))
		rc = evlog_txn_commit(txn);
	else if (!rc)
		evlog_txn_abort(txn);
	if (rc)
		die("rebuild", rc);
	return now_s() - t0;
}

/* Compare the models the writer stored with a rebuild of them, in a scratch
 * directory next to data_dir (removed afterwards). */
static void verify(struct bench *b)
{
	struct verify_report rep;
	char tmpdir[4096];
	char *slash;
	double t0 = now_s();
	int rc;

	snprintf(tmpdir, sizeof(tmpdir), "%s", b->cfg->data_dir);
	slash = strrchr(tmpdir, '/');
	if (slash && slash != tmpdir)
		*slash = 0;
	else
		snprintf(tmpdir, sizeof(tmpdir), "%s", slash ? "/" : ".");
	rc = verify_models(b->log, tmpdir, &rep);
	if (rc == ML_ECORRUPT) {
		fprintf(stderr, "maillage-replaybench: the rebuilt models differ from the "
			"stored ones: %s\n", rep.fault);
		exit(1);
	}
	if (rc)
		die("verify", rc);
	printf("verify                 the models the writer stored are the rebuilt ones, "
	       "byte for byte (%.2f s)\n", now_s() - t0);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Read the long case's history reads times; its latencies, sorted, in ms. */
static void read_history(struct bench *b, const char *case_id, int reads, double *ms,
			 size_t *bytes)
{
	ml_request req = MAILLAGE__V1__REQUEST__INIT;
	Maillage__V1__GetCaseHistory h = MAILLAGE__V1__GET_CASE_HISTORY__INIT;
	struct query_in in = { .log = b->log, .cfg = b->cfg, .org = b->coord, .req = &req,
			       .max_bytes = b->cfg->max_frame_bytes };

	h.case_id = (char *)case_id;
	req.body_case = MAILLAGE__V1__REQUEST__BODY_GET_CASE_HISTORY;
	req.get_case_history = &h;
	for (int i = 0; i < reads; i++) {
		ml_access_record *journal = NULL;
		uint8_t *frame = NULL;
		double t0 = now_s();
		int rc = query_run(&in, &frame, bytes, &journal);

		ms[i] = (now_s() - t0) * 1000;
		if (rc)
			die("history", rc);
		free(frame);
		wire_free(journal);
	}
	qsort(ms, (size_t)reads, sizeof(*ms), cmp_double);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "events", required_argument, NULL, 'e' },
		{ "history", required_argument, NULL, 'H' },
		{ "reads", required_argument, NULL, 'r' },
		{ "verify", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bench b = { .next_id = 1 };
	uint64_t events = 1000000, history = 1000, total;
	int reads = 200, opt, rc;
	bool check = false;
	const char *conf = NULL;
	char err[1024], case_id[64], long_case[64];
	struct kek *kek;
	struct timespec now;
	double t0, fill_s, rebuild_s, *ms;
	size_t bytes = 0;

	while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': conf = optarg; break;
		case 'e': events = strtoull(optarg, NULL, 10); break;
		case 'H': history = strtoull(optarg, NULL, 10); break;
		case 'r': reads = atoi(optarg); break;
		case 'v': check = true; break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (!conf || reads < 1 || history < 3 || optind != argc) {
		fputs(usage, stderr);
		return 2;
	}
	if (config_load(conf, &b.cfg, err, sizeof(err))) {
		fprintf(stderr, "maillage-replaybench: %s\n", err);
		return 2;
	}
	b.landlord = config_find_org(b.cfg, "bailleur-est");
	b.coord = config_find_org(b.cfg, "coord-vaulx-bron");
	b.partner = config_find_org(b.cfg, "ccas-vaulx");
	if (!b.landlord || !b.coord || !b.partner || evlog_exists(b.cfg->data_dir)) {
		fprintf(stderr, "maillage-replaybench: needs the development organisations and "
			"a data_dir that does not exist yet\n");
		return 2;
	}
	if ((rc = evlog_open(b.cfg->data_dir, b.cfg->map_size_mb << 20, false, &b.log, err,
			     sizeof(err))) ||
	    (rc = vault_open(b.log, b.cfg->data_dir, b.cfg->master_key, b.cfg->master_key_file,
			     &kek, err, sizeof(err)))) {
		fprintf(stderr, "maillage-replaybench: %s\n", err);
		return 1;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	b.now_us = (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;

	t0 = now_s();
	one_case(&b, 0, history, long_case);
	for (uint64_t n = 1; b.commands < events; n++)
		one_case(&b, n, 3 + VISITS_PER_CASE, case_id);
	commit_batch(&b);
	fill_s = now_s() - t0;
	total = b.commands - b.refused;
	printf("filled                 %llu events (%llu refused) in %.1f s: %.0f events/s, "
	       "in-process, %d commands per commit\n", (unsigned long long)total,
	       (unsigned long long)b.refused, fill_s, (double)total / fill_s, BATCH);

	if (check)
		verify(&b);
	rebuild_s = rebuild(b.log);
	printf("rebuild                every model from %llu events in %.2f s: %.0f events/s "
	       "(target: 1 000 000 in under 5 s)\n", (unsigned long long)total, rebuild_s,
	       (double)total / rebuild_s);

	ms = calloc((size_t)reads, sizeof(*ms));
	if (!ms)
		die("history", ML_ENOMEM);
	read_history(&b, long_case, reads, ms, &bytes);
	printf("history                case %s, %llu events, %zu bytes framed: p50 %.2f ms, "
	       "p99 %.2f ms, max %.2f ms over %d reads (target: under 5 ms)\n", long_case,
	       (unsigned long long)history, bytes, ms[reads / 2], ms[reads * 99 / 100],
	       ms[reads - 1], reads);
	free(ms);
	evlog_close(b.log);
	kek_close(kek);
	config_free(b.cfg);
	return b.refused ? 1 : 0;
}
