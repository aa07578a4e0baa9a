/* test_crash.c - the crash harness: cycles of pipelined load on several
 * connections, SIGKILL at a random moment, restart, then check that every
 * acknowledged command is there exactly once with its answer, that nothing
 * unacknowledged is half there, and that the log verifies.
 *
 * Environment: CRASH_CYCLES (default 50), CRASH_SEED (default: from the
 * clock; printed, so a failing run can be replayed), CRASH_VERBOSE=1 prints
 * every cycle (otherwise every tenth and the failing one).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../integration/harness.h"

#define N_CONNS 6          /* 2 referrers, 2 coordination, 2 lead partners */
#define MAX_PER_CONN 500   /* commands planned per connection and cycle */
#define WINDOW 64          /* requests in flight per connection */
#define MAX_KILL_MS 200    /* the kill comes 0..MAX_KILL_MS after the load starts */
#define MAX_CASES 400000

/* Where a case stands in the client's model (after every check). */
enum stage {
	ST_REFERRED,       /* can be acknowledged */
	ST_ACKNOWLEDGED,   /* can be accepted */
	ST_ACCEPTED,       /* visits can be recorded */
};

struct kase {
	char id[64];
	enum stage stage;
	uint32_t version;  /* confirmed version */
	unsigned visits;
};

/* One planned command of a cycle. */
enum outcome {
	OUT_UNSENT,        /* never written to the connection */
	OUT_DOUBT,         /* written, no answer before the kill */
	OUT_ACKED,         /* answered OK before the kill */
	OUT_REFUSED,       /* answered with an error: a failure of the test */
};

struct cmd {
	mlc_request *req;
	int conn;
	int kase;          /* index in cases[], -1 for a referral until answered */
	enum stage next;   /* stage after it (ST_ACCEPTED for visits) */
	enum outcome out;
	int code;          /* code of the refusal */
	/* The first answer (before the kill), then the answer to the retry. */
	Maillage__V1__CommandResult first, retry;
	char first_case[64], retry_case[64];
	bool retried_replayed;
};

struct conn_load {
	const char *org;
	struct mlc *c;
	int cmds[MAX_PER_CONN];   /* indexes in cmds[] in send order */
	int n;
	int sent;
	int answered;
};

static const char *const conn_orgs[N_CONNS] = {
	"bailleur-est", "ccas-vaulx", "coord-vaulx-bron", "coord-vaulx-bron",
	"asso-habitat", "asso-habitat",
};

static struct kase cases[MAX_CASES];
static int n_cases;
static struct cmd cmds[N_CONNS * MAX_PER_CONN];
static int n_cmds;
static struct conn_load loads[N_CONNS];
static uint64_t first_request_id;
static uint64_t rng_state;

struct totals {
	long cycles, planned, sent, acked, doubt, doubt_committed, doubt_absent, unsent,
	     retried, events;
};
static struct totals tot;

static uint64_t rnd(void)
{
	/* xorshift64*: the same seed gives the same load. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static unsigned rnd_below(unsigned n)
{
	return n ? (unsigned)(rnd() % n) : 0;
}

static struct cmd *cmd_of(uint64_t request_id)
{
	if (request_id < first_request_id || request_id - first_request_id >= (uint64_t)n_cmds)
		return NULL;
	return &cmds[request_id - first_request_id];
}

static void keep_result(const mlc_response *resp, Maillage__V1__CommandResult *dst,
			char *case_id)
{
	const Maillage__V1__CommandResult *r = resp->command;

	maillage__v1__command_result__init(dst);
	case_id[0] = 0;
	if (!r)
		return;
	*dst = *r;
	snprintf(case_id, 64, "%s", r->case_id ? r->case_id : "");
	dst->case_id = case_id;
}

/* Plan the cycle's commands: referrals, and follow-ups on cases made in
 * earlier cycles. A case gets commands on one connection only, so their order
 * holds on the wire, in the writer and in the retries. */
static void plan_cycle(long cycle)
{
	static int busy[MAX_CASES];
	char first[48];

	n_cmds = 0;
	memset(busy, 0, sizeof(busy));
	for (int k = 0; k < N_CONNS; k++) {
		struct conn_load *l = &loads[k];
		int want = 100 + (int)rnd_below(MAX_PER_CONN - 100 + 1);

		l->org = conn_orgs[k];
		l->n = l->sent = l->answered = 0;
		for (int tries = 0; l->n < want && tries < 4 * want; tries++) {
			struct cmd *c = &cmds[n_cmds];
			int ci;

			memset(c, 0, sizeof(*c));
			c->conn = k;
			c->kase = -1;
			if (k < 2) {
				if (n_cases + n_cmds >= MAX_CASES)
					break;
				snprintf(first, sizeof(first), "C%ldN%dK%d", cycle, l->n, k);
				c->req = h_refer(&H, "vaulx-bron", "Crash", first, "1975-06-15");
				c->next = ST_REFERRED;
			} else {
				if (!n_cases)
					break;
				ci = (int)rnd_below((unsigned)n_cases);
				if (busy[ci] && busy[ci] != k + 1)
					continue;
				/* The stage this case will be at when the command runs. */
				enum stage at = cases[ci].stage;

				for (int j = 0; j < l->n; j++)
					if (cmds[l->cmds[j]].kase == ci)
						at = cmds[l->cmds[j]].next;
				if (k < 4 && at == ST_REFERRED) {
					c->req = h_acknowledge(&H, cases[ci].id);
					c->next = ST_ACKNOWLEDGED;
				} else if (k < 4 && at == ST_ACKNOWLEDGED) {
					c->req = h_accept(&H, cases[ci].id, "asso-habitat");
					c->next = ST_ACCEPTED;
				} else if (k >= 4 && at == ST_ACCEPTED) {
					c->req = h_visit(&H, cases[ci].id, "2026-11-02");
					c->next = ST_ACCEPTED;
				} else {
					continue;
				}
				c->kase = ci;
				busy[ci] = k + 1;
			}
			l->cmds[l->n++] = n_cmds++;
		}
	}
	first_request_id = n_cmds ? cmds[0].req->request_id : 0;
	for (int i = 0; i < n_cmds; i++)
		assert_int_equal(cmds[i].req->request_id, first_request_id + (uint64_t)i);
}

/* One connection's load: keep WINDOW requests in flight until everything is
 * answered or the connection dies (the kill). */
static void *run_conn(void *arg)
{
	struct conn_load *l = arg;
	mlc_response *resp;

	while (l->answered < l->n) {
		while (l->sent < l->n && l->sent - l->answered < WINDOW) {
			struct cmd *c = &cmds[l->cmds[l->sent]];

			/* In doubt from the first byte written. */
			c->out = OUT_DOUBT;
			l->sent++;
			if (mlc_send(l->c, c->req))
				return NULL;
		}
		resp = mlc_recv(l->c);
		if (!resp)
			return NULL;
		struct cmd *c = cmd_of(resp->request_id);

		if (c) {
			if (h_code(resp) == 0 && resp->command) {
				c->out = OUT_ACKED;
				keep_result(resp, &c->first, c->first_case);
			} else {
				c->out = OUT_REFUSED;
				c->code = h_code(resp);
			}
		}
		mlc_response_free(resp);
		l->answered++;
	}
	return NULL;
}

/* Read the events from position from to the head; store each event's
 * command_id (16 bytes) and case id by position - from. */
struct seen_event {
	uint8_t command_id[16];
	bool has_id;
	char case_id[64];
	uint32_t version;
};

static struct seen_event *read_log(uint64_t from, uint64_t *head)
{
	struct mlc *a = h_connect(&H, "auditor", NULL, 0);
	struct seen_event *ev = NULL;
	size_t cap = 0;
	uint64_t pos = from;

	assert_non_null(a);
	*head = from - 1;
	for (;;) {
		mlc_request *req = h_read_events(&H, pos, 0);
		mlc_response *resp = h_call(a, req);

		h_request_free(req);
		assert_int_equal(h_code(resp), 0);
		assert_non_null(resp->events);
		for (size_t i = 0; i < resp->events->n_events; i++) {
			const Maillage__V1__Event *e = resp->events->events[i];
			size_t at;

			assert_int_equal(e->position, *head + 1);
			*head = e->position;
			at = (size_t)(e->position - from);
			if (at >= cap) {
				cap = cap ? cap * 2 : 1024;
				ev = realloc(ev, cap * sizeof(*ev));
				assert_non_null(ev);
			}
			memset(&ev[at], 0, sizeof(ev[at]));
			if (e->command_id.len == 16) {
				memcpy(ev[at].command_id, e->command_id.data, 16);
				ev[at].has_id = true;
			}
			snprintf(ev[at].case_id, 64, "%s", e->case_id ? e->case_id : "");
			ev[at].version = e->case_version;
		}
		pos = resp->events->next_position;
		mlc_response_free(resp);
		if (!pos)
			break;
	}
	mlc_close(a);
	if (!ev)
		ev = calloc(1, sizeof(*ev));
	return ev;
}

static bool same_result(const Maillage__V1__CommandResult *a, const char *a_case,
			const Maillage__V1__CommandResult *b, const char *b_case)
{
	return !strcmp(a_case, b_case) && a->case_version == b->case_version &&
	       a->first_position == b->first_position && a->event_count == b->event_count &&
	       a->recorded_at == b->recorded_at;
}

/* Retry every planned command with its command_id, per connection in the
 * original order, pipelined. */
static void retry_all(long cycle)
{
	for (int k = 0; k < N_CONNS; k++) {
		struct conn_load *l = &loads[k];
		struct mlc *c;
		int sent = 0, got = 0;
		char err[256];

		if (!l->n)
			continue;
		c = h_connect(&H, l->org, err, sizeof(err));
		if (!c)
			fail_msg("cycle %ld: cannot connect as %s: %s", cycle, l->org, err);
		while (got < l->n) {
			mlc_response *resp;
			struct cmd *m;

			while (sent < l->n && sent - got < WINDOW)
				assert_int_equal(mlc_send(c, cmds[l->cmds[sent++]].req), 0);
			resp = mlc_recv(c);
			if (!resp)
				fail_msg("cycle %ld: retry as %s: %s", cycle, l->org, mlc_error(c));
			m = cmd_of(resp->request_id);
			assert_non_null(m);
			if (h_code(resp) != 0 || !resp->command)
				fail_msg("cycle %ld: retry of command %d (%s, was %s) refused: code %d: %s",
					 cycle, (int)(m - cmds), l->org,
					 m->out == OUT_ACKED ? "acknowledged" :
					 m->out == OUT_DOUBT ? "in doubt" : "unsent",
					 h_code(resp), resp->status ? resp->status->message : "");
			keep_result(resp, &m->retry, m->retry_case);
			m->retried_replayed = resp->command->replayed;
			mlc_response_free(resp);
			got++;
		}
		mlc_close(c);
	}
}

/* maillage-admin verify on the data directory, quiet unless it fails. */
static int verify_quiet(void)
{
	char cmd[2048];
	int rc;

	snprintf(cmd, sizeof(cmd), "'%s/maillage-admin' verify '%s' >'%s/verify.out' 2>&1",
		 H.bin, H.data, H.dir);
	rc = system(cmd);
	if (rc) {
		snprintf(cmd, sizeof(cmd), "cat '%s/verify.out' >&2", H.dir);
		if (system(cmd))
			fprintf(stderr, "crash: cannot show the output of verify\n");
	}
	return rc;
}

static void print_cycle(long cycle, unsigned delay_ms, int planned, int sent, int acked,
			int doubt, int committed, uint64_t head)
{
	print_message("cycle %4ld: kill at %3u ms, %3d planned, %3d sent, %3d acknowledged, "
		      "%3d in doubt (%d committed), head %" PRIu64 "\n",
		      cycle, delay_ms, planned, sent, acked, doubt, committed, head);
}

static void run_cycle(long cycle, bool verbose, bool last_cycle)
{
	pthread_t th[N_CONNS];
	struct timespec pause;
	unsigned delay_ms = rnd_below(MAX_KILL_MS + 1);
	uint64_t base, head_restart, head_final;
	struct seen_event *ev;
	int acked = 0, doubt = 0, unsent = 0, committed = 0, sent = 0;
	uint64_t events_expected = 0;
	char err[256];

	base = h_last_position(&H);
	plan_cycle(cycle);
	for (int k = 0; k < N_CONNS; k++) {
		loads[k].c = h_connect(&H, loads[k].org, err, sizeof(err));
		if (!loads[k].c)
			fail_msg("cycle %ld: cannot connect as %s: %s", cycle, loads[k].org, err);
	}
	for (int k = 0; k < N_CONNS; k++)
		assert_int_equal(pthread_create(&th[k], NULL, run_conn, &loads[k]), 0);
	pause.tv_sec = delay_ms / 1000;
	pause.tv_nsec = (long)(delay_ms % 1000) * 1000000L;
	nanosleep(&pause, NULL);
	assert_int_equal(h_stop(&H, SIGKILL), 128 + SIGKILL);
	for (int k = 0; k < N_CONNS; k++) {
		pthread_join(th[k], NULL);
		mlc_close(loads[k].c);
		loads[k].c = NULL;
		sent += loads[k].sent;
	}
	for (int i = 0; i < n_cmds; i++) {
		if (cmds[i].out == OUT_REFUSED)
			fail_msg("cycle %ld: command %d (%s) refused before the kill: code %d",
				 cycle, i, conn_orgs[cmds[i].conn], cmds[i].code);
		acked += cmds[i].out == OUT_ACKED;
		doubt += cmds[i].out == OUT_DOUBT;
		unsent += cmds[i].out == OUT_UNSENT;
	}

	/* Restart; the log must verify before anything else touches it. */
	if (h_start(&H))
		fail_msg("cycle %ld: the server does not restart", cycle);
	if (verify_quiet())
		fail_msg("cycle %ld: verify failed after the restart (seed above)", cycle);
	free(read_log(base + 1, &head_restart));

	retry_all(cycle);

	/* Every command has now run exactly once; check each answer. */
	for (int i = 0; i < n_cmds; i++) {
		struct cmd *m = &cmds[i];
		uint64_t last = m->retry.first_position + m->retry.event_count - 1;

		if (m->out == OUT_ACKED) {
			if (!m->retried_replayed)
				fail_msg("cycle %ld: acknowledged command %d executed again on retry "
					 "(case %s, first at %" PRIu64 ", again at %" PRIu64 ")",
					 cycle, i, m->first_case, m->first.first_position,
					 m->retry.first_position);
			if (!same_result(&m->first, m->first_case, &m->retry, m->retry_case))
				fail_msg("cycle %ld: command %d: retry answered case %s v%u at %" PRIu64
					 " x%u, first answer case %s v%u at %" PRIu64 " x%u",
					 cycle, i, m->retry_case, m->retry.case_version,
					 m->retry.first_position, m->retry.event_count, m->first_case,
					 m->first.case_version, m->first.first_position,
					 m->first.event_count);
		}
		if (m->retried_replayed) {
			/* Replayed: it was committed before the kill. */
			if (m->retry.event_count == 0 || m->retry.first_position <= base ||
			    last > head_restart)
				fail_msg("cycle %ld: command %d replayed with events %" PRIu64 "..%" PRIu64
					 " outside the log before the retry (%" PRIu64 "..%" PRIu64 ")",
					 cycle, i, m->retry.first_position, last, base + 1, head_restart);
			if (m->out == OUT_UNSENT)
				fail_msg("cycle %ld: command %d never sent but replayed", cycle, i);
			committed += m->out == OUT_DOUBT;
		} else if (m->retry.first_position <= head_restart) {
			fail_msg("cycle %ld: command %d executed on retry at %" PRIu64
				 ", inside the log before the retry (head %" PRIu64 ")",
				 cycle, i, m->retry.first_position, head_restart);
		}
		events_expected += m->retry.event_count;
	}

	/* The log after base holds exactly the events of the cycle's commands,
	 * each at the position its answer gives, with its command id. */
	ev = read_log(base + 1, &head_final);
	if (head_final - base != events_expected)
		fail_msg("cycle %ld: %" PRIu64 " events appended, the answers account for %" PRIu64,
			 cycle, head_final - base, events_expected);
	for (int i = 0; i < n_cmds; i++) {
		struct cmd *m = &cmds[i];

		for (uint32_t e = 0; e < m->retry.event_count; e++) {
			struct seen_event *s = &ev[m->retry.first_position + e - base - 1];

			if (!s->has_id || memcmp(s->command_id, m->req->command_id.data, 16) ||
			    strcmp(s->case_id, m->retry_case))
				fail_msg("cycle %ld: event %" PRIu64 " is not command %d's (case %s)",
					 cycle, m->retry.first_position + e, i, m->retry_case);
		}
	}
	free(ev);

	/* Versions move on by the events of each command, in order, per case;
	 * then the model takes the cycle in. */
	for (int i = 0; i < n_cmds; i++) {
		struct cmd *m = &cmds[i];
		struct kase *k;

		if (m->kase < 0) {
			assert_true(n_cases < MAX_CASES);
			m->kase = n_cases++;
			k = &cases[m->kase];
			memset(k, 0, sizeof(*k));
			snprintf(k->id, sizeof(k->id), "%s", m->retry_case);
		}
		k = &cases[m->kase];
		if (strcmp(k->id, m->retry_case) ||
		    m->retry.case_version != k->version + m->retry.event_count)
			fail_msg("cycle %ld: command %d on case %s: version %u after %u events, "
				 "the case was at %u", cycle, i, m->retry_case,
				 m->retry.case_version, m->retry.event_count, k->version);
		k->version = m->retry.case_version;
		k->stage = m->next;
	}
	/* Once more after the retries, every tenth cycle and at the end (verify
	 * reads the whole log: every cycle would make long runs quadratic). */
	if ((cycle % 10 == 0 || last_cycle) && verify_quiet())
		fail_msg("cycle %ld: verify failed after the retries", cycle);

	if (verbose || cycle % 10 == 0)
		print_cycle(cycle, delay_ms, n_cmds, sent, acked, doubt, committed, head_final);
	tot.cycles++;
	tot.planned += n_cmds;
	tot.sent += sent;
	tot.acked += acked;
	tot.doubt += doubt;
	tot.doubt_committed += committed;
	tot.doubt_absent += doubt - committed;
	tot.unsent += unsent;
	tot.retried += n_cmds;
	tot.events = (long)head_final;
	for (int i = 0; i < n_cmds; i++)
		h_request_free(cmds[i].req);
	n_cmds = 0;
}

static void test_crash_cycles(void **state)
{
	const char *s = getenv("CRASH_CYCLES"), *seed = getenv("CRASH_SEED");
	const char *v = getenv("CRASH_VERBOSE");
	long cycles = s ? atol(s) : 50;
	int64_t t0 = h_now_us();

	(void)state;
	rng_state = seed ? strtoull(seed, NULL, 0) : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
	if (!rng_state)
		rng_state = 1;
	print_message("crash: %ld cycles, CRASH_SEED=%" PRIu64 "\n", cycles, rng_state);
	for (long i = 1; i <= cycles; i++)
		run_cycle(i, v && *v == '1', i == cycles);
	print_message("crash: %ld cycles in %.1f s; %ld commands planned, %ld sent, "
		      "%ld acknowledged before the kill, %ld in doubt (%ld committed, %ld not), "
		      "%ld never sent; %ld retried, all answered consistently; %ld events, "
		      "verify clean\n",
		      tot.cycles, (double)(h_now_us() - t0) / 1e6, tot.planned, tot.sent, tot.acked,
		      tot.doubt, tot.doubt_committed, tot.doubt_absent, tot.unsent, tot.retried,
		      tot.events);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crash_cycles),
	};

	return cmocka_run_group_tests_name("crash", tests, h_group_setup, h_group_teardown);
}
