/* test_command.c - the write path without the network: commands run in a
 * batch transaction on a temporary data directory; refusals leave no trace,
 * retries replay, the hash chain and the case summary follow the events, an
 * aborted batch gives its positions back, what the loop thread prepared
 * (command_prepare()) stands for what the writer would compute. The tests run twice: each command
 * nested in the batch (command_run), then directly in it
 * (command_run_direct), on a fresh directory each time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "command.h"
#include "err.h"
#include "evlog.h"
#include "fixture.h"
#include "verify.h"

static char dir[FIXTURE_DIR_LEN];
static bool direct;            /* the group being run: command_run_direct() */
static struct evlog *elog;
static struct kek *kek;
static struct config cfg;      /* vaulx-bron */
static struct org orgs[3];     /* landlord, coord, asso */

static int setup(void **state)
{
	(void)state;
	direct = false;
	fixture_config(&cfg, orgs, 3, 1);
	if (fixture_dir_make(dir, "cmd") || fixture_log_open(dir, 64 << 20, &cfg, 0, &elog, &kek))
		return -1;
	return 0;
}

static int setup_direct(void **state)
{
	int rc = setup(state);

	direct = true;
	return rc;
}

static int teardown(void **state)
{
	(void)state;
	fixture_log_close(elog, kek);
	return fixture_dir_remove(dir);
}

static uint8_t next_id;

static void command_id(ml_request *req, uint8_t *buf)
{
	memset(buf, 0, 16);
	buf[0] = ++next_id;
	req->command_id.data = buf;
	req->command_id.len = 16;
}

/* Run reqs in one batch; commit when commit is true. */
static void run_batch(ml_request **reqs, const struct org **who, size_t n,
		      struct command_out *outs, bool commit)
{
	struct evlog_txn *txn;

	assert_int_equal(evlog_txn_begin(elog, true, &txn), 0);
	for (size_t i = 0; i < n; i++) {
		struct command_ctx ctx = { .cfg = &cfg, .org = who[i], .req = reqs[i],
					   .now_us = 1795000000000000LL };

		if (direct)
			command_run_direct(txn, &ctx, &outs[i]);
		else
			command_run(txn, &ctx, &outs[i]);
		assert_false(outs[i].spoiled);
	}
	if (commit)
		assert_int_equal(evlog_txn_commit(txn), 0);
	else
		evlog_txn_abort(txn);
}

static uint64_t head(void)
{
	struct evlog_txn *txn;
	uint64_t pos;

	assert_int_equal(evlog_txn_begin(elog, false, &txn), 0);
	pos = evlog_last_position(txn);
	evlog_txn_abort(txn);
	return pos;
}

/* A referral of "Jo <last>" to vaulx-bron, with the next command id. */
static void make_refer(struct fixture_refer *r, const char *last)
{
	fixture_refer_init(r, "vaulx-bron", MAILLAGE__V1__REFERRAL_REASON__REASON_UNPAID_RENT,
			   last, "Jo");
	command_id(&r->req, r->id);
}

struct ack {
	ml_request req;
	Maillage__V1__AcknowledgeReferral body;
	uint8_t id[16];
};

static void make_ack(struct ack *a, const char *case_id)
{
	maillage__v1__request__init(&a->req);
	maillage__v1__acknowledge_referral__init(&a->body);
	a->body.case_id = (char *)case_id;
	a->req.body_case = MAILLAGE__V1__REQUEST__BODY_ACKNOWLEDGE_REFERRAL;
	a->req.acknowledge_referral = &a->body;
	command_id(&a->req, a->id);
}

/* A batch mixing accepted and refused commands keeps exactly the accepted. */
static void test_refusal_leaves_no_trace(void **state)
{
	struct fixture_refer r1, r2, r3;
	struct ack bad, good;
	ml_request *reqs[5];
	const struct org *who[5] = { &orgs[0], &orgs[0], &orgs[1], &orgs[1], &orgs[0] };
	struct command_out outs[5];
	uint64_t before = head();

	(void)state;
	make_refer(&r1, "Alpha");
	make_refer(&r2, "Alpha");          /* same household: ALREADY_EXISTS */
	make_ack(&bad, "VNX-2026-999999"); /* missing case */
	make_ack(&good, "VNX-2026-000001");
	make_refer(&r3, "Beta");
	reqs[0] = &r1.req;
	reqs[1] = &r2.req;
	reqs[2] = &bad.req;
	reqs[3] = &good.req;
	reqs[4] = &r3.req;
	run_batch(reqs, who, 5, outs, true);
	assert_int_equal(outs[0].st.code, 0);
	assert_string_equal(outs[0].case_id, "VNX-2026-000001");
	assert_int_equal(outs[1].st.code, MAILLAGE__V1__STATUS_CODE__ALREADY_EXISTS);
	assert_string_equal(outs[1].case_id, "VNX-2026-000001");
	assert_int_equal(outs[2].st.code, MAILLAGE__V1__STATUS_CODE__NOT_FOUND);
	assert_int_equal(outs[3].st.code, 0);
	assert_int_equal(outs[3].version, 2);
	assert_int_equal(outs[4].st.code, 0);
	/* case numbers stay dense too: the refused referral took none */
	assert_string_equal(outs[4].case_id, "VNX-2026-000002");
	assert_int_equal(head(), before + 3);
	assert_int_equal(outs[4].first_position, before + 3);
}

/* An aborted batch gives back its positions and case numbers. */
static void test_aborted_batch(void **state)
{
	struct fixture_refer r;
	ml_request *reqs[1] = { &r.req };
	const struct org *who[1] = { &orgs[0] };
	struct command_out out;
	uint64_t before = head();

	(void)state;
	make_refer(&r, "Gamma");
	run_batch(reqs, who, 1, &out, false);
	assert_int_equal(out.st.code, 0);
	assert_int_equal(head(), before);
	run_batch(reqs, who, 1, &out, true);
	assert_int_equal(out.st.code, 0);
	assert_false(out.replayed);
	assert_int_equal(out.first_position, before + 1);
	assert_string_equal(out.case_id, "VNX-2026-000003");
}

/* The same command_id answers the stored result; another sender is refused. */
static void test_retry(void **state)
{
	struct fixture_refer r;
	ml_request *reqs[1] = { &r.req };
	const struct org *who[1] = { &orgs[0] };
	const struct org *other[1] = { &orgs[2] };
	struct command_out first, again;
	uint64_t pos;

	(void)state;
	make_refer(&r, "Delta");
	run_batch(reqs, who, 1, &first, true);
	pos = head();
	r.req.request_id = 99;      /* not part of the identity of a command */
	run_batch(reqs, who, 1, &again, true);
	assert_true(again.replayed);
	assert_string_equal(again.case_id, first.case_id);
	assert_int_equal(again.first_position, first.first_position);
	assert_int_equal(head(), pos);
	run_batch(reqs, other, 1, &again, true);
	assert_int_equal(again.st.code, MAILLAGE__V1__STATUS_CODE__INVALID_ARGUMENT);
	assert_string_equal(again.st.field, "command_id");
	r.person.first_name = "Other";
	run_batch(reqs, who, 1, &again, true);
	assert_int_equal(again.st.code, MAILLAGE__V1__STATUS_CODE__INVALID_ARGUMENT);
	assert_int_equal(head(), pos);
}

static void test_log_verifies(void **state)
{
	struct verify_report rep;

	(void)state;
	assert_int_equal(verify_log(elog, &rep), 0);
	assert_int_equal(rep.events, head());
	assert_int_equal(rep.cases, 4);
}

/* Run directly, a command that fails after a write says so: here the map
 * fills up under a batch of referrals, each of which writes before it can
 * fail. Nested, the same failure leaves the batch usable. */
static void test_failure_after_write_spoils(void **state)
{
	char small[sizeof(dir) + 8], name[32];
	struct evlog *log;
	struct kek *k;
	struct evlog_txn *txn;
	struct command_out out;
	int rc = 0, n;

	(void)state;
	snprintf(small, sizeof(small), "%s/small", dir);
	assert_int_equal(mkdir(small, 0700), 0);
	assert_int_equal(fixture_log_open(small, 1 << 20, &cfg, 0, &log, &k), 0);
	assert_int_equal(evlog_txn_begin(log, true, &txn), 0);
	for (n = 0; n < 10000 && !rc; n++) {
		struct fixture_refer r;
		struct command_ctx ctx = { .cfg = &cfg, .org = &orgs[0], .req = &r.req,
					   .now_us = 1795000000000000LL };

		snprintf(name, sizeof(name), "Full%d", n);
		make_refer(&r, name);
		r.id[0] = 0xee;                   /* a command_id of its own */
		r.id[1] = (uint8_t)n;
		r.id[2] = (uint8_t)(n >> 8);
		rc = direct ? command_run_direct(txn, &ctx, &out) : command_run(txn, &ctx, &out);
	}
	assert_int_equal(rc, ML_EMAPFULL);
	assert_true(n > 1);
	assert_int_equal(out.spoiled, direct);
	if (!direct) {
		/* The batch is still usable: the first referral, sent again,
		 * answers its stored result. */
		struct fixture_refer r;
		struct command_ctx ctx = { .cfg = &cfg, .org = &orgs[0], .req = &r.req,
					   .now_us = 1795000000000000LL };

		make_refer(&r, "Full0");
		r.id[0] = 0xee;
		r.id[1] = 0;
		r.id[2] = 0;
		assert_int_equal(command_run(txn, &ctx, &out), 0);
		assert_true(out.replayed);
	}
	evlog_txn_abort(txn);
	fixture_log_close(log, k);
}

/* Run req as org in a batch of its own, committed, with pre (or none). */
static void run_one(ml_request *req, const struct command_pre *pre, struct command_out *out)
{
	struct command_ctx ctx = { .cfg = &cfg, .org = &orgs[0], .req = req,
				   .now_us = 1795000000000000LL, .pre = pre };
	struct evlog_txn *txn;

	assert_int_equal(evlog_txn_begin(elog, true, &txn), 0);
	if (direct)
		command_run_direct(txn, &ctx, out);
	else
		command_run(txn, &ctx, out);
	assert_false(out->spoiled);
	assert_int_equal(evlog_txn_commit(txn), 0);
}

/* The request hash and household key prepared on the loop thread are the
 * ones the command uses (here made to differ from what the writer would
 * compute, so that a command ignoring them fails these checks); a pre not
 * ready, or none, has the writer compute them as before. */
static void test_prepared(void **state)
{
	struct fixture_refer r, z, bad;
	struct command_pre pre, zpre, unready;
	struct command_out out, own;
	char case_id[64];
	uint64_t pos;

	(void)state;
	make_refer(&r, "Epsilon");
	assert_int_equal(command_prepare(&cfg, &r.req, &pre), 0);
	assert_true(pre.ready);
	assert_int_equal(pre.household_rc, 0);
	pre.request_hash[0] ^= 0xff;        /* not the request's own hash */
	run_one(&r.req, &pre, &out);
	assert_int_equal(out.st.code, 0);
	assert_false(out.replayed);
	snprintf(case_id, sizeof(case_id), "%s", out.case_id);
	pos = head();
	/* The record holds the prepared hash: the same request hashed by the
	 * writer is another command, the prepared hash replays. */
	run_one(&r.req, NULL, &out);
	assert_int_equal(out.st.code, MAILLAGE__V1__STATUS_CODE__INVALID_ARGUMENT);
	assert_string_equal(out.st.field, "command_id");
	run_one(&r.req, &pre, &out);
	assert_int_equal(out.st.code, 0);
	assert_true(out.replayed);
	assert_string_equal(out.case_id, case_id);
	memset(&unready, 0xa5, sizeof(unready));
	unready.ready = false;              /* ignored: the writer hashes */
	run_one(&r.req, &unready, &out);
	assert_int_equal(out.st.code, MAILLAGE__V1__STATUS_CODE__INVALID_ARGUMENT);
	assert_int_equal(head(), pos);

	/* Zeta's referral carrying Epsilon's household key is Epsilon's
	 * household, with its open case. */
	make_refer(&z, "Zeta");
	assert_int_equal(command_prepare(&cfg, &z.req, &zpre), 0);
	memcpy(zpre.household_key, pre.household_key, sizeof(zpre.household_key));
	run_one(&z.req, &zpre, &out);
	assert_int_equal(out.st.code, MAILLAGE__V1__STATUS_CODE__ALREADY_EXISTS);
	assert_string_equal(out.case_id, case_id);
	assert_int_equal(head(), pos);
	run_one(&z.req, NULL, &out);        /* its own key: a new household */
	assert_int_equal(out.st.code, 0);
	assert_int_equal(head(), pos + 1);

	/* A prepared failure is the refusal the writer would give. */
	make_refer(&bad, "-'-");            /* normalises to nothing */
	run_one(&bad.req, NULL, &own);
	assert_int_equal(own.st.code, MAILLAGE__V1__STATUS_CODE__INVALID_ARGUMENT);
	assert_string_equal(own.st.field, "refer_household.referral.household.reference_person");
	assert_int_equal(command_prepare(&cfg, &bad.req, &pre), 0);
	assert_int_equal(pre.household_rc, ML_EINVAL);
	run_one(&bad.req, &pre, &out);
	assert_int_equal(out.st.code, own.st.code);
	assert_string_equal(out.st.field, own.st.field);
	assert_string_equal(out.st.message, own.st.message);
	make_refer(&z, "Eta");
	assert_int_equal(command_prepare(&cfg, &z.req, &zpre), 0);
	zpre.household_rc = ML_EINVAL;      /* Eta's identity is fine: pre decides */
	run_one(&z.req, &zpre, &out);
	assert_int_equal(out.st.code, own.st.code);
	assert_string_equal(out.st.field, own.st.field);
	assert_string_equal(out.st.message, own.st.message);
	assert_int_equal(head(), pos + 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refusal_leaves_no_trace),
		cmocka_unit_test(test_aborted_batch),
		cmocka_unit_test(test_retry),
		cmocka_unit_test(test_log_verifies),
		cmocka_unit_test(test_failure_after_write_spoils),
		cmocka_unit_test(test_prepared),
	};

	int failed = cmocka_run_group_tests_name("command, nested", tests, setup, teardown);

	failed |= cmocka_run_group_tests_name("command, direct", tests, setup_direct, teardown);
	return failed;
}
