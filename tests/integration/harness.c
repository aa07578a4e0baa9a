/* harness.c - starting, stopping and talking to a real maillaged in tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define NEW(T, init) ({ T *m_ = calloc(1, sizeof(T)); if (!m_) abort(); init(m_); m_; })

struct harness H;

int h_group_setup(void **state)
{
	(void)state;
	return h_setup(&H, NULL);
}

int h_group_teardown(void **state)
{
	(void)state;
	return h_teardown(&H);
}

static char *dupstr(const char *s)
{
	char *d = strdup(s);

	if (!d)
		abort();
	return d;
}

int h_free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && !bind(fd, (struct sockaddr *)&sa, sizeof(sa)) &&
	    !getsockname(fd, (struct sockaddr *)&sa, &len))
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static int run(const char *cmd)
{
	int rc = system(cmd);

	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static int write_config(struct harness *h, const char *extra)
{
	char cmd[2048], src[600];
	FILE *in, *out;
	char line[1024];
	bool globals = true;

	/* Certificates are made once and shared; the configuration is ours. */
	snprintf(cmd, sizeof(cmd), "'%s/tools/devsetup.sh' '%s' %d '%s' >/dev/null",
		 h->root, h->certs, h->port, h->data);
	if (run(cmd)) {
		fprintf(stderr, "harness: devsetup failed: %s\n", cmd);
		return -1;
	}
	snprintf(src, sizeof(src), "%s/maillaged.conf", h->certs);
	in = fopen(src, "r");
	out = fopen(h->conf, "w");
	if (!in || !out) {
		fprintf(stderr, "harness: cannot copy '%s' to '%s'\n", src, h->conf);
		if (in)
			fclose(in);
		if (out)
			fclose(out);
		return -1;
	}
	while (fgets(line, sizeof(line), in)) {
		if (globals && line[0] == '[') {
			/* Extra global keys go before the first section. */
			fprintf(out, "frame_timeout_s = 2\n%s\n", extra ? extra : "");
			globals = false;
		}
		fputs(line, out);
	}
	fclose(in);
	fclose(out);
	return 0;
}

int h_setup(struct harness *h, const char *extra_config)
{
	const char *root = getenv("MAILLAGE_ROOT");
	const char *bin = getenv("MAILLAGE_BIN");
	char tmpl[] = "/tmp/maillage-test-XXXXXX";

	memset(h, 0, sizeof(*h));
	/* A write to a connection the server dropped must fail, not kill us. */
	signal(SIGPIPE, SIG_IGN);
	snprintf(h->root, sizeof(h->root), "%s", root ? root : ".");
	if (bin)
		snprintf(h->bin, sizeof(h->bin), "%s", bin);
	else
		snprintf(h->bin, sizeof(h->bin), "%s/build/bin", h->root);
	snprintf(h->certs, sizeof(h->certs), "%s/build/test-certs", h->root);
	if (!mkdtemp(tmpl)) {
		perror("harness: mkdtemp");
		return -1;
	}
	snprintf(h->dir, sizeof(h->dir), "%s", tmpl);
	snprintf(h->conf, sizeof(h->conf), "%s/maillaged.conf", h->dir);
	snprintf(h->data, sizeof(h->data), "%s/data", h->dir);
	snprintf(h->log, sizeof(h->log), "%s/server.log", h->dir);
	h->port = h_free_port();
	if (h->port < 0 || write_config(h, extra_config))
		return -1;
	return h_start(h);
}

int h_start(struct harness *h)
{
	char path[600], err[256];
	struct timespec pause = { .tv_nsec = 20 * 1000000 };
	pid_t pid;

	snprintf(path, sizeof(path), "%s/maillaged", h->bin);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open(h->log, O_WRONLY | O_CREAT | O_APPEND, 0600);

		if (fd >= 0) {
			dup2(fd, STDERR_FILENO);
			dup2(fd, STDOUT_FILENO);
		}
		execl(path, "maillaged", "-v", "-c", h->conf, (char *)NULL);
		_exit(127);
	}
	h->pid = pid;
	for (int i = 0; i < 500; i++) {
		struct mlc *c = h_connect(h, "auditor", err, sizeof(err));
		int status;

		if (c) {
			mlc_close(c);
			return 0;
		}
		if (waitpid(pid, &status, WNOHANG) == pid) {
			h->pid = 0;
			fprintf(stderr, "harness: maillaged exited at start; see %s\n", h->log);
			return -1;
		}
		nanosleep(&pause, NULL);
	}
	fprintf(stderr, "harness: maillaged did not start: %s\n", err);
	return -1;
}

int h_stop(struct harness *h, int sig)
{
	struct timespec pause = { .tv_nsec = 10 * 1000000 };
	int status = 0;
	pid_t got = 0;

	if (!h->pid)
		return -1;
	kill(h->pid, sig);
	/* A clean shutdown takes well under 10 s; past that, it is a failure. */
	for (int i = 0; i < 1000 && got != h->pid; i++) {
		got = waitpid(h->pid, &status, WNOHANG);
		if (got == 0)
			nanosleep(&pause, NULL);
	}
	if (got != h->pid) {
		fprintf(stderr, "harness: maillaged did not stop on signal %d; killing it\n", sig);
		kill(h->pid, SIGKILL);
		waitpid(h->pid, &status, 0);
		h->pid = 0;
		return -1;
	}
	h->pid = 0;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/* Lines a sanitizer writes when it reports (ThreadSanitizer, AddressSanitizer,
 * LeakSanitizer, UndefinedBehaviorSanitizer), in the log of every lifetime
 * of the server, a killed one's too. */
static int sanitizer_reports(struct harness *h)
{
	static const char *const marks[] = { "ThreadSanitizer:", "AddressSanitizer:",
					     "LeakSanitizer:", "runtime error:" };
	int n = 0;

	for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++)
		n += h_log_count(h, marks[i]);
	return n;
}

int h_teardown(struct harness *h)
{
	char cmd[700];
	int status = h->pid ? h_stop(h, SIGTERM) : 0;
	int reports = sanitizer_reports(h);

	if (status || reports) {
		fprintf(stderr, "harness: maillaged exited with status %d, %d lines of sanitizer "
			"reports in its log; its end:\n", status, reports);
		snprintf(cmd, sizeof(cmd), "tail -n 40 '%s' >&2", h->log);
		run(cmd);
	}
	if (h->dir[0] && !getenv("MAILLAGE_KEEP")) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", h->dir);
		run(cmd);
	}
	return status || reports ? -1 : 0;
}

struct mlc *h_connect_files(struct harness *h, const char *cert, const char *key,
			    char *err, size_t errlen)
{
	char addr[64], certp[700], keyp[700], cap[700], dummy[256];
	struct mlc_opts o = { .addr = addr, .timeout_ms = 5000 };

	snprintf(addr, sizeof(addr), "127.0.0.1:%d", h->port);
	snprintf(cap, sizeof(cap), "%s/ca.crt", h->certs);
	o.ca = cap;
	if (cert) {
		snprintf(certp, sizeof(certp), "%s/%s", h->certs, cert);
		snprintf(keyp, sizeof(keyp), "%s/%s", h->certs, key);
		o.cert = certp;
		o.key = keyp;
	}
	return mlc_connect(&o, err ? err : dummy, err ? errlen : sizeof(dummy));
}

struct mlc *h_connect(struct harness *h, const char *org, char *err, size_t errlen)
{
	char cert[200], key[200];

	snprintf(cert, sizeof(cert), "%s.crt", org);
	snprintf(key, sizeof(key), "%s.key", org);
	return h_connect_files(h, cert, key, err, errlen);
}

int h_verify(struct harness *h)
{
	char cmd[1400];

	snprintf(cmd, sizeof(cmd), "'%s/maillage-admin' verify '%s'", h->bin, h->data);
	return run(cmd);
}

bool h_log_contains(struct harness *h, const char *needle)
{
	FILE *f = fopen(h->log, "r");
	char line[4096];
	bool found = false;

	while (f && !found && fgets(line, sizeof(line), f))
		found = strstr(line, needle) != NULL;
	if (f)
		fclose(f);
	return found;
}

int h_log_count(struct harness *h, const char *needle)
{
	FILE *f = fopen(h->log, "r");
	char line[4096];
	int n = 0;

	while (f && fgets(line, sizeof(line), f))
		n += strstr(line, needle) != NULL;
	if (f)
		fclose(f);
	return n;
}

bool h_log_wait(struct harness *h, const char *needle, int n, int timeout_ms)
{
	int64_t end = h_now_us() + (int64_t)timeout_ms * 1000;

	while (h_log_count(h, needle) < n) {
		if (h_now_us() > end)
			return false;
		usleep(50000);
	}
	return true;
}

size_t h_file_count(const char *path, const void *needle, size_t len)
{
	FILE *f = fopen(path, "rb");
	size_t n = 0, got;
	struct stat st;
	char *buf;

	assert_non_null(f);
	assert_int_equal(fstat(fileno(f), &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	assert_non_null(buf);
	got = fread(buf, 1, (size_t)st.st_size, f);
	fclose(f);
	for (size_t i = 0; i + len <= got; i++)
		n += !memcmp(buf + i, needle, len);
	free(buf);
	return n;
}

mlc_request *h_request(struct harness *h)
{
	mlc_request *req = NEW(mlc_request, maillage__v1__request__init);

	req->request_id = ++h->next_id;
	req->command_id.data = malloc(16);
	if (!req->command_id.data || mlc_new_command_id(req->command_id.data))
		abort();
	req->command_id.len = 16;
	return req;
}

void h_request_free(mlc_request *req)
{
	if (req)
		maillage__v1__request__free_unpacked(req, NULL);
}

mlc_request *h_refer(struct harness *h, const char *platform, const char *last_name,
		     const char *first_name, const char *birth_date)
{
	mlc_request *req = h_request(h);
	Maillage__V1__ReferHousehold *r = NEW(Maillage__V1__ReferHousehold,
					      maillage__v1__refer_household__init);
	Maillage__V1__Referral *ref = NEW(Maillage__V1__Referral, maillage__v1__referral__init);
	Maillage__V1__Household *hh = NEW(Maillage__V1__Household, maillage__v1__household__init);
	Maillage__V1__Person *p = NEW(Maillage__V1__Person, maillage__v1__person__init);

	p->last_name = dupstr(last_name);
	p->first_name = dupstr(first_name);
	p->birth_date = dupstr(birth_date);
	hh->reference_person = p;
	hh->adults = 1;
	hh->children = 2;
	hh->debt_cents = 345600;
	hh->address = dupstr("12 rue des Lilas");
	hh->commune = dupstr("Vaulx-en-Velin");
	hh->n_needs = 1;
	hh->needs = malloc(sizeof(*hh->needs));
	hh->needs[0] = MAILLAGE__V1__NEED__NEED_BUDGET;
	ref->platform = dupstr(platform);
	ref->reason = MAILLAGE__V1__REFERRAL_REASON__REASON_UNPAID_RENT;
	ref->household = hh;
	r->referral = ref;
	req->body_case = MAILLAGE__V1__REQUEST__BODY_REFER_HOUSEHOLD;
	req->refer_household = r;
	return req;
}

mlc_request *h_acknowledge(struct harness *h, const char *case_id)
{
	mlc_request *req = h_request(h);

	req->acknowledge_referral = NEW(Maillage__V1__AcknowledgeReferral,
					maillage__v1__acknowledge_referral__init);
	req->acknowledge_referral->case_id = dupstr(case_id);
	req->body_case = MAILLAGE__V1__REQUEST__BODY_ACKNOWLEDGE_REFERRAL;
	return req;
}

mlc_request *h_accept(struct harness *h, const char *case_id, const char *lead)
{
	mlc_request *req = h_request(h);
	Maillage__V1__Acceptance *a = NEW(Maillage__V1__Acceptance,
					  maillage__v1__acceptance__init);

	a->lead_partner = dupstr(lead);
	a->support_level = MAILLAGE__V1__SUPPORT_LEVEL__SUPPORT_INTENSIVE_GLOBAL;
	req->accept_case = NEW(Maillage__V1__AcceptCase, maillage__v1__accept_case__init);
	req->accept_case->case_id = dupstr(case_id);
	req->accept_case->acceptance = a;
	req->body_case = MAILLAGE__V1__REQUEST__BODY_ACCEPT_CASE;
	return req;
}

mlc_request *h_decline(struct harness *h, const char *case_id)
{
	mlc_request *req = h_request(h);
	Maillage__V1__Decline *d = NEW(Maillage__V1__Decline, maillage__v1__decline__init);

	d->reason = MAILLAGE__V1__DECLINE_REASON__DECLINE_NOT_ELIGIBLE;
	d->text = dupstr("outside the platform's criteria");
	req->decline_referral = NEW(Maillage__V1__DeclineReferral,
				    maillage__v1__decline_referral__init);
	req->decline_referral->case_id = dupstr(case_id);
	req->decline_referral->decline = d;
	req->body_case = MAILLAGE__V1__REQUEST__BODY_DECLINE_REFERRAL;
	return req;
}

mlc_request *h_withdraw(struct harness *h, const char *case_id)
{
	mlc_request *req = h_request(h);

	req->withdraw_referral = NEW(Maillage__V1__WithdrawReferral,
				     maillage__v1__withdraw_referral__init);
	req->withdraw_referral->case_id = dupstr(case_id);
	req->withdraw_referral->reason_text = dupstr("debt paid off");
	req->body_case = MAILLAGE__V1__REQUEST__BODY_WITHDRAW_REFERRAL;
	return req;
}

mlc_request *h_visit(struct harness *h, const char *case_id, const char *date)
{
	mlc_request *req = h_request(h);
	Maillage__V1__Visit *v = NEW(Maillage__V1__Visit, maillage__v1__visit__init);

	v->date = dupstr(date);
	v->mode = MAILLAGE__V1__VISIT_MODE__VISIT_HOME;
	v->household_present = 1;
	v->n_domains = 1;
	v->domains = malloc(sizeof(*v->domains));
	v->domains[0] = MAILLAGE__V1__DOMAIN__DOMAIN_BUDGET;
	req->record_visit = NEW(Maillage__V1__RecordVisit, maillage__v1__record_visit__init);
	req->record_visit->case_id = dupstr(case_id);
	req->record_visit->visit = v;
	req->body_case = MAILLAGE__V1__REQUEST__BODY_RECORD_VISIT;
	return req;
}

mlc_request *h_propose(struct harness *h, const char *case_id, const char *landlord)
{
	mlc_request *req = h_request(h);
	Maillage__V1__Proposal *p = NEW(Maillage__V1__Proposal, maillage__v1__proposal__init);

	p->dwelling_ref = dupstr("BEH-0042-T3");
	p->landlord = dupstr(landlord);
	p->commune = dupstr("Bron");
	p->typology = MAILLAGE__V1__TYPOLOGY__T3;
	p->rent_cents = 48000;
	p->kind = MAILLAGE__V1__REHOUSING_KIND__REHOUSING_TRANSFER;
	req->propose_rehousing = NEW(Maillage__V1__ProposeRehousing,
				     maillage__v1__propose_rehousing__init);
	req->propose_rehousing->case_id = dupstr(case_id);
	req->propose_rehousing->proposal = p;
	req->body_case = MAILLAGE__V1__REQUEST__BODY_PROPOSE_REHOUSING;
	return req;
}

mlc_request *h_close(struct harness *h, const char *case_id)
{
	mlc_request *req = h_request(h);
	Maillage__V1__Closure *c = NEW(Maillage__V1__Closure, maillage__v1__closure__init);

	c->outcome = MAILLAGE__V1__CLOSING_OUTCOME__OUTCOME_KEPT_IN_DWELLING;
	c->date = dupstr("2026-11-20");
	req->close_support = NEW(Maillage__V1__CloseSupport, maillage__v1__close_support__init);
	req->close_support->case_id = dupstr(case_id);
	req->close_support->closure = c;
	req->body_case = MAILLAGE__V1__REQUEST__BODY_CLOSE_SUPPORT;
	return req;
}

mlc_request *h_assign(struct harness *h, const char *case_id, const char *partner, int role)
{
	mlc_request *req = h_request(h);

	req->assign_partner = NEW(Maillage__V1__AssignPartner, maillage__v1__assign_partner__init);
	req->assign_partner->case_id = dupstr(case_id);
	req->assign_partner->partner = dupstr(partner);
	req->assign_partner->role = role;
	req->body_case = MAILLAGE__V1__REQUEST__BODY_ASSIGN_PARTNER;
	return req;
}

mlc_request *h_release(struct harness *h, const char *case_id, const char *partner)
{
	mlc_request *req = h_request(h);

	req->release_assignment = NEW(Maillage__V1__ReleaseAssignment,
				      maillage__v1__release_assignment__init);
	req->release_assignment->case_id = dupstr(case_id);
	req->release_assignment->partner = dupstr(partner);
	req->body_case = MAILLAGE__V1__REQUEST__BODY_RELEASE_ASSIGNMENT;
	return req;
}

mlc_request *h_step(struct harness *h, const char *case_id, int stage, const char *date,
		    const char *hearing)
{
	mlc_request *req = h_request(h);
	Maillage__V1__ProcedureStep *s = NEW(Maillage__V1__ProcedureStep,
					     maillage__v1__procedure_step__init);

	s->stage = stage;
	s->date = dupstr(date);
	s->amount_cents = 412000;
	if (hearing)
		s->hearing_date = dupstr(hearing);
	req->record_procedure_step = NEW(Maillage__V1__RecordProcedureStep,
					 maillage__v1__record_procedure_step__init);
	req->record_procedure_step->case_id = dupstr(case_id);
	req->record_procedure_step->step = s;
	req->body_case = MAILLAGE__V1__REQUEST__BODY_RECORD_PROCEDURE_STEP;
	return req;
}

mlc_request *h_answer(struct harness *h, const char *case_id, uint32_t number, bool accepted)
{
	mlc_request *req = h_request(h);
	Maillage__V1__ProposalAnswer *a = NEW(Maillage__V1__ProposalAnswer,
					      maillage__v1__proposal_answer__init);

	a->proposal_number = number;
	a->accepted = accepted;
	a->refusal_reason = accepted ? 0 : MAILLAGE__V1__PROPOSAL_REFUSAL_REASON__REFUSAL_LOCATION;
	req->answer_proposal = NEW(Maillage__V1__AnswerProposal,
				   maillage__v1__answer_proposal__init);
	req->answer_proposal->case_id = dupstr(case_id);
	req->answer_proposal->answer = a;
	req->body_case = MAILLAGE__V1__REQUEST__BODY_ANSWER_PROPOSAL;
	return req;
}

mlc_request *h_sign(struct harness *h, const char *case_id, uint32_t number)
{
	mlc_request *req = h_request(h);

	req->sign_lease = NEW(Maillage__V1__SignLease, maillage__v1__sign_lease__init);
	req->sign_lease->case_id = dupstr(case_id);
	req->sign_lease->proposal_number = number;
	req->sign_lease->date = dupstr("2026-11-23");
	req->body_case = MAILLAGE__V1__REQUEST__BODY_SIGN_LEASE;
	return req;
}

mlc_request *h_hold(struct harness *h, const char *case_id, bool on)
{
	mlc_request *req = h_request(h);

	if (on) {
		req->put_on_hold = NEW(Maillage__V1__PutOnHold, maillage__v1__put_on_hold__init);
		req->put_on_hold->case_id = dupstr(case_id);
		req->body_case = MAILLAGE__V1__REQUEST__BODY_PUT_ON_HOLD;
	} else {
		req->resume = NEW(Maillage__V1__Resume, maillage__v1__resume__init);
		req->resume->case_id = dupstr(case_id);
		req->body_case = MAILLAGE__V1__REQUEST__BODY_RESUME;
	}
	return req;
}

mlc_request *h_erase(struct harness *h, const char *case_id, int reason)
{
	mlc_request *req = h_request(h);

	req->erase_household_data = NEW(Maillage__V1__EraseHouseholdData,
					maillage__v1__erase_household_data__init);
	req->erase_household_data->case_id = dupstr(case_id);
	req->erase_household_data->reason = reason;
	req->body_case = MAILLAGE__V1__REQUEST__BODY_ERASE_HOUSEHOLD_DATA;
	return req;
}

mlc_request *h_journal(struct harness *h, const char *case_id, const char *cursor,
		       uint32_t limit)
{
	mlc_request *req = h_request(h);

	req->list_access_journal = NEW(Maillage__V1__ListAccessJournal,
				       maillage__v1__list_access_journal__init);
	req->list_access_journal->case_id = dupstr(case_id);
	if (cursor)
		req->list_access_journal->cursor = dupstr(cursor);
	req->list_access_journal->limit = limit;
	req->body_case = MAILLAGE__V1__REQUEST__BODY_LIST_ACCESS_JOURNAL;
	return req;
}

mlc_request *h_get_case(struct harness *h, const char *case_id)
{
	mlc_request *req = h_request(h);

	req->get_case = NEW(Maillage__V1__GetCase, maillage__v1__get_case__init);
	req->get_case->case_id = dupstr(case_id);
	req->body_case = MAILLAGE__V1__REQUEST__BODY_GET_CASE;
	return req;
}

mlc_request *h_history(struct harness *h, const char *case_id)
{
	mlc_request *req = h_request(h);

	req->get_case_history = NEW(Maillage__V1__GetCaseHistory,
				    maillage__v1__get_case_history__init);
	req->get_case_history->case_id = dupstr(case_id);
	req->body_case = MAILLAGE__V1__REQUEST__BODY_GET_CASE_HISTORY;
	return req;
}

/* Set the string field name of msg to a copy of value. */
static void set_string(ProtobufCMessage *msg, const char *name, const char *value)
{
	const ProtobufCFieldDescriptor *f =
		protobuf_c_message_descriptor_get_field_by_name(msg->descriptor, name);

	if (!f || f->type != PROTOBUF_C_TYPE_STRING)
		abort();
	*(char **)((char *)msg + f->offset) = dupstr(value);
}

mlc_request *h_platform_query(struct harness *h, int body, const char *platform)
{
	const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(
		&maillage__v1__request__descriptor, (unsigned)body);
	mlc_request *req = h_request(h);
	ProtobufCMessage *msg;
	char day[16];
	time_t now = time(NULL);

	if (!f || f->type != PROTOBUF_C_TYPE_MESSAGE)
		abort();
	msg = calloc(1, ((const ProtobufCMessageDescriptor *)f->descriptor)->sizeof_message);
	if (!msg)
		abort();
	((const ProtobufCMessageDescriptor *)f->descriptor)->message_init(msg);
	*(ProtobufCMessage **)((char *)req + f->offset) = msg;
	req->body_case = (Maillage__V1__Request__BodyCase)body;
	set_string(msg, "platform", platform);
	if (body == MAILLAGE__V1__REQUEST__BODY_GET_PLATFORM_STATS) {
		strftime(day, sizeof(day), "%Y-01-01", gmtime(&now));
		set_string(msg, "from", day);
		strftime(day, sizeof(day), "%Y-12-31", gmtime(&now));
		set_string(msg, "to", day);
	}
	return req;
}

int64_t h_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

mlc_request *h_subscribe(struct harness *h, uint64_t from_position, const char *platform,
			 const char *case_id)
{
	mlc_request *req = h_request(h);
	Maillage__V1__Subscribe *s = NEW(Maillage__V1__Subscribe, maillage__v1__subscribe__init);

	s->from_position = from_position;
	if (platform)
		s->platform = dupstr(platform);
	if (case_id)
		s->case_id = dupstr(case_id);
	req->subscribe = s;
	req->body_case = MAILLAGE__V1__REQUEST__BODY_SUBSCRIBE;
	return req;
}

mlc_request *h_read_events(struct harness *h, uint64_t from, uint32_t max)
{
	mlc_request *req = h_request(h);

	req->read_events = NEW(Maillage__V1__ReadEvents, maillage__v1__read_events__init);
	req->read_events->from_position = from;
	req->read_events->max_events = max;
	req->body_case = MAILLAGE__V1__REQUEST__BODY_READ_EVENTS;
	return req;
}

mlc_request *h_ping(struct harness *h)
{
	mlc_request *req = h_request(h);

	req->ping = NEW(Maillage__V1__Ping, maillage__v1__ping__init);
	req->body_case = MAILLAGE__V1__REQUEST__BODY_PING;
	return req;
}

mlc_response *h_call(struct mlc *c, mlc_request *req)
{
	mlc_response *resp = mlc_call(c, req);

	if (!resp)
		fprintf(stderr, "harness: call failed: %s\n", mlc_error(c));
	return resp;
}

int h_code(const mlc_response *resp)
{
	if (!resp)
		return -1;
	return resp->status ? (int)resp->status->code : 0;
}

mlc_response *h_call_as(struct harness *h, const char *org, mlc_request *req, int code)
{
	char err[256];
	struct mlc *c = h_connect(h, org, err, sizeof(err));
	mlc_response *resp;

	if (!c)
		fail_msg("cannot connect as %s: %s", org, err);
	resp = h_call(c, req);
	mlc_close(c);
	if (!resp)
		fail_msg("%s: no answer", org);
	if (h_code(resp) != code)
		fail_msg("%s: expected code %d, got %d: %s (field %s)", org, code, h_code(resp),
			 resp->status ? resp->status->message : "",
			 resp->status ? resp->status->field : "");
	return resp;
}

mlc_response *h_send_as(struct harness *h, const char *org, mlc_request *req, int code)
{
	mlc_response *resp = h_call_as(h, org, req, code);

	h_request_free(req);
	return resp;
}

void h_expect(struct harness *h, const char *org, mlc_request *req, int code)
{
	mlc_response_free(h_send_as(h, org, req, code));
}

uint64_t h_last_position(struct harness *h)
{
	mlc_response *resp = h_send_as(h, "auditor", h_ping(h), 0);
	uint64_t pos = resp->pong->last_position;

	mlc_response_free(resp);
	return pos;
}

int h_sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	return rc != -1 && WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}
