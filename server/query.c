/* query.c - the read side: ping, a case, its history (as of a version or a
 * date), and the log itself for auditors.
 */
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "board.h"
#include "clock.h"
#include "counters.h"
#include "err.h"
#include "grow.h"
#include "journal.h"
#include "personal.h"
#include "project.h"
#include "query.h"
#include "stats.h"
#include "validate.h"

struct query {
	struct evlog_txn *txn;
	const struct config *cfg;
	const struct org *org;
	const ml_request *req;
	ml_response *resp;
	struct status st;
	const struct query_in *in;
	Maillage__V1__ServerCounters *counters;   /* for Ping {counters} */
	struct vault_key key;         /* the case's household's data key */
	int key_state;                /* 0: not looked up, 1: key, -1: erased */
};

/* Put back the personal fields of ev (a stored event of case c, unpacked or
 * copied into a, which wipes: personal_open_in()), or "erased" when the
 * household's data key is gone. */
static int open_personal(struct query *q, const ml_case *c, ml_event *ev, struct wire_arena *a)
{
	int rc;

	if (!ev->sealed)
		return 0;
	if (!q->key_state) {
		rc = c->household_key.len != CRYPTO_SHA256_LEN ? ML_ECORRUPT :
		     vault_get(q->txn, c->household_key.data, c->platform, 0, &q->key);
		if (rc && rc != ML_ENOTFOUND)
			return rc;
		q->key_state = rc ? -1 : 1;
	}
	return personal_open_in(ev, q->key_state > 0 ? &q->key : NULL, a);
}

static int ping(struct query *q, Maillage__V1__Pong *pong)
{
	pong->payload = q->req->ping->payload;
	pong->org = q->org->id;
	pong->kind = q->org->kind;
	pong->platforms = q->org->platforms;
	pong->n_platforms = q->org->n_platforms;
	pong->server_time = clock_now_us();
	pong->last_position = evlog_last_position(q->txn);
	q->resp->result_case = MAILLAGE__V1__RESPONSE__RESULT_PONG;
	q->resp->pong = pong;
	if (!q->req->ping->counters || !q->in->counters)
		return 0;
	if (counters_fill(q->in->counters, q->counters))
		return status_fail(&q->st, ML_ENOMEM, NULL, "out of memory");
	q->counters->connections = (uint32_t)q->in->connections;
	pong->counters = q->counters;
	return 0;
}

/* Load the case and check that org may run this query on it. */
static int readable_case(struct query *q, ml_case **c)
{
	const char *case_id = wire_case_id(q->req);
	int role;
	int rc = evlog_case_get(q->txn, case_id, c);

	if (rc && rc != ML_ENOTFOUND)
		return status_fail(&q->st, rc, NULL, "cannot read case '%s': %s",
				   case_id, ml_strerror(rc));
	return auth_case_access(q->cfg, q->org, q->req, case_id, *c, &role, &q->st);
}

/* The first event of a case (the referral), to show the household: in a,
 * a wiping arena that lives until the answer is framed. */
struct first {
	struct wire_arena *a;
	ml_event *ev;
};

/* Keep the first event: unpacked again from raw into f->a (ev is in the
 * scan's arena, released after this call). */
static int keep_first(void *arg, const ml_event *ev, const uint8_t *raw, size_t rawlen)
{
	struct first *f = arg;

	(void)ev;
	f->ev = wire_event_unpack_in(f->a, raw, rawlen);
	return f->ev ? 1 : ML_ENOMEM;
}

static int get_case(struct query *q, Maillage__V1__CaseView *view, struct first *first)
{
	ml_case *c = NULL;
	int rc = readable_case(q, &c);

	if (!rc)
		rc = evlog_stream_scan(q->txn, c->case_id, 1, keep_first, first);
	if (!rc && first->ev)
		rc = open_personal(q, c, first->ev, first->a);
	if (!rc)
		rc = auth_minimise_case(q->org, c);
	if (rc) {
		wire_free(c);
		return q->st.code ? rc : status_fail(&q->st, rc, NULL, "cannot read case: %s",
						     ml_strerror(rc));
	}
	view->summary = c;
	if (first->ev && first->ev->body_case == MAILLAGE__V1__EVENT__BODY_HOUSEHOLD_REFERRED &&
	    first->ev->household_referred->referral)
		view->household = first->ev->household_referred->referral->household;
	view->personal_data = first->ev ? first->ev->personal_data : 0;
	q->resp->result_case = MAILLAGE__V1__RESPONSE__RESULT_CASE;
	q->resp->case_ = view;
	return 0;
}

struct history {
	struct query *q;
	const ml_case *case_now;      /* the case as stored: its household key */
	struct wire_list *events;     /* the events sent, packed as they are read */
	size_t n_events, bytes, max_bytes, max_events;
	uint32_t from_version, as_of_version;
	uint32_t *next_version;       /* where the page stops, when it does */
	int64_t as_of_us;             /* events recorded before this instant */
	ml_case *c;                   /* the case folded up to the last event sent */
	int rc;                       /* a failure of the fold */
};

/* Append a copy of the stored event to a growing array. */
static int push_event(ml_event ***events, size_t *n, size_t *cap, const uint8_t *raw,
		      size_t rawlen)
{
	ml_event **grown = grow_for_one(*events, *n, cap, sizeof(*grown), 16);

	if (!grown)
		return ML_ENOMEM;
	*events = grown;
	(*events)[*n] = wire_event_unpack(raw, rawlen);
	if (!(*events)[*n])
		return ML_ENOMEM;
	(*n)++;
	return 0;
}

/* True when a page already holding n events of bytes may not take len more. */
static bool page_full(size_t n, size_t bytes, size_t len, size_t max_bytes, size_t max_events)
{
	return n && (bytes + len + 16 > max_bytes || n >= max_events);
}

/* Minimise copy, an event of case c copied into an arena (wire_copy_in()),
 * for org: a referral's household key is dropped for a reader who does not
 * see it (auth_sees_household_key()). The copy's messages are its own: the
 * key is cleared in place, not through a setter, which would free the stored
 * event's value. An empty proto3 bytes field is not packed: the reader gets
 * no key, as from auth_minimise_case(). */
static void minimise_copy(const struct org *org, const ml_case *c, ml_event *copy)
{
	if (copy->body_case == MAILLAGE__V1__EVENT__BODY_HOUSEHOLD_REFERRED &&
	    !auth_sees_household_key(org, c))
		copy->household_referred->household_key = (ProtobufCBinaryData){ 0 };
}

/* Pack the stored event ev (raw, rawlen) as the reader gets it (personal
 * fields opened, household key minimised) after the events already sent.
 * The fields are opened in a copy of ev's messages that shares the rest of
 * ev (wire_copy_in()), in an arena on the stack wiped afterwards: it holds
 * personal data. The referral too: minimise_copy() minimises it there. */
static int send_event(struct history *hs, const ml_event *ev, const uint8_t *raw, size_t rawlen)
{
	_Alignas(WIRE_ARENA_ALIGN) uint8_t mem[WIRE_EVENT_ARENA];
	struct wire_arena a;
	ml_event *copy;
	int rc;

	wire_arena_init(&a, mem, sizeof(mem), true);
	copy = wire_copy_in(&a, ev);
	rc = copy ? open_personal(hs->q, hs->case_now, copy, &a) : ML_ENOMEM;
	if (!rc) {
		minimise_copy(hs->q->org, hs->case_now, copy);
		rc = wire_list_add_stored_event(hs->events, copy, ev, raw, rawlen);
	}
	wire_arena_release(&a);
	return rc;
}

static int add_event(void *arg, const ml_event *ev, const uint8_t *raw, size_t rawlen)
{
	struct history *hs = arg;
	int rc;

	if ((hs->as_of_version && ev->case_version > hs->as_of_version) ||
	    (hs->as_of_us && ev->recorded_at >= hs->as_of_us))
		return 1;
	if (ev->case_version >= hs->from_version) {
		if (page_full(hs->n_events, hs->bytes, rawlen, hs->max_bytes, hs->max_events)) {
			*hs->next_version = ev->case_version;
			return 1;
		}
		rc = send_event(hs, ev, raw, rawlen);
		if (rc)
			return rc;
		hs->n_events++;
		hs->bytes += rawlen + 16;
	}
	hs->rc = project_case_apply(&hs->c, ev);
	return hs->rc;
}

/* The history asked for, in h but for its events: those are packed into
 * events as they are read (none stays unpacked), and framed with h by
 * wire_pack_frame_history(). */
static int get_history(struct query *q, Maillage__V1__CaseHistory *h, struct wire_list *events,
		       size_t max_bytes)
{
	const Maillage__V1__GetCaseHistory *g = q->req->get_case_history;
	struct history hs = {
		.q = q, .events = events, .next_version = &h->next_version, .max_bytes = max_bytes,
		.max_events = g->max_events ? g->max_events : SIZE_MAX,
		.from_version = g->from_version ? g->from_version : 1,
		.as_of_version = g->as_of_version,
	};
	ml_case *c = NULL;
	uint32_t last;
	int rc = readable_case(q, &c);

	if (rc)
		goto out_free;
	if (g->as_of_date[0] && validate_parse_date(g->as_of_date, &hs.as_of_us) == 0)
		hs.as_of_us += 86400LL * 1000000;     /* up to the end of that day */
	h->case_id = q->req->get_case_history->case_id;
	hs.case_now = c;
	/* What the page may take, for the buffer's size. */
	events->expect_bytes = max_bytes;
	last = hs.as_of_version && hs.as_of_version < c->version ? hs.as_of_version : c->version;
	events->expect_n = last >= hs.from_version ? last - hs.from_version + 1 : 0;
	if (events->expect_n > hs.max_events)
		events->expect_n = hs.max_events;
	rc = evlog_stream_scan(q->txn, c->case_id, 1, add_event, &hs);
	if (rc) {
		status_fail(&q->st, rc, NULL, "cannot read the history of case '%s': %s",
			    c->case_id, ml_strerror(rc));
		goto out_free;
	}
	if (hs.c && (rc = auth_minimise_case(q->org, hs.c))) {
		status_fail(&q->st, rc, NULL, "out of memory");
		goto out_free;
	}
	h->as_of = hs.c;
	hs.c = NULL;
	q->resp->result_case = MAILLAGE__V1__RESPONSE__RESULT_HISTORY;
	q->resp->history = h;
out_free:
	wire_free(hs.c);
	wire_free(c);
	return rc;
}

struct page {
	struct query *q;
	Maillage__V1__EventPage *p;
	size_t cap, bytes, max_bytes, max_events;
};

/* Keep the events of the auditor's platforms, until the page is full. */
static int add_log_event(void *arg, const ml_event *ev, const uint8_t *raw, size_t rawlen)
{
	struct page *pg = arg;
	Maillage__V1__EventPage *p = pg->p;

	if (page_full(p->n_events, pg->bytes, rawlen, pg->max_bytes, pg->max_events)) {
		p->next_position = ev->position;
		return 1;
	}
	if (!org_is_member(pg->q->org, ev->platform))
		return 0;
	pg->bytes += rawlen + 16;
	/* As stored, so the chain verifies: personal fields stay sealed. */
	return push_event(&p->events, &p->n_events, &pg->cap, raw, rawlen);
}

static int read_events(struct query *q, Maillage__V1__EventPage *p, size_t max_bytes)
{
	const Maillage__V1__ReadEvents *r = q->req->read_events;
	struct page pg = {
		.q = q, .p = p, .max_bytes = max_bytes,
		.max_events = r->max_events ? r->max_events : SIZE_MAX,
	};
	int rc = evlog_scan(q->txn, r->from_position ? r->from_position : 1, add_log_event, &pg);

	if (rc)
		return status_fail(&q->st, rc, NULL, "cannot read the log: %s", ml_strerror(rc));
	p->last_position = evlog_last_position(q->txn);
	q->resp->result_case = MAILLAGE__V1__RESPONSE__RESULT_EVENTS;
	q->resp->events = p;
	return 0;
}

static int list_journal(struct query *q, Maillage__V1__AccessJournal *j)
{
	ml_case *c = NULL;
	int rc = readable_case(q, &c);

	wire_free(c);
	if (!rc)
		rc = journal_list(q->txn, q->req->list_access_journal, j, &q->st);
	if (!rc) {
		q->resp->result_case = MAILLAGE__V1__RESPONSE__RESULT_ACCESS_JOURNAL;
		q->resp->access_journal = j;
	}
	return rc;
}

static void free_events(ml_event **events, size_t n)
{
	for (size_t i = 0; i < n; i++)
		wire_free(events[i]);
	free(events);
}

int query_run(const struct query_in *in, uint8_t **frame, size_t *len,
	      ml_access_record **journal)
{
	struct evlog *log = in->log;
	const struct config *cfg = in->cfg;
	const struct org *org = in->org;
	const ml_request *req = in->req;
	size_t max_bytes = in->max_bytes;
	Maillage__V1__ServerCounters counters = MAILLAGE__V1__SERVER_COUNTERS__INIT;
	Maillage__V1__AccessJournal access = MAILLAGE__V1__ACCESS_JOURNAL__INIT;
	ml_response resp = MAILLAGE__V1__RESPONSE__INIT;
	Maillage__V1__Status status = MAILLAGE__V1__STATUS__INIT;
	Maillage__V1__Pong pong = MAILLAGE__V1__PONG__INIT;
	Maillage__V1__CaseView view = MAILLAGE__V1__CASE_VIEW__INIT;
	Maillage__V1__CaseHistory hist = MAILLAGE__V1__CASE_HISTORY__INIT;
	struct wire_list events = { 0 };
	Maillage__V1__EventPage page = MAILLAGE__V1__EVENT_PAGE__INIT;
	Maillage__V1__Caseload board = MAILLAGE__V1__CASELOAD__INIT;
	Maillage__V1__PendingReferrals pending = MAILLAGE__V1__PENDING_REFERRALS__INIT;
	Maillage__V1__PartnerLoads load = MAILLAGE__V1__PARTNER_LOADS__INIT;
	Maillage__V1__CaseList cases = MAILLAGE__V1__CASE_LIST__INIT;
	Maillage__V1__RehousingPipeline pipeline = MAILLAGE__V1__REHOUSING_PIPELINE__INIT;
	Maillage__V1__PlatformStats stats = MAILLAGE__V1__PLATFORM_STATS__INIT;
	struct query q = { .cfg = cfg, .org = org, .req = req, .resp = &resp, .in = in,
			   .counters = &counters };
	_Alignas(WIRE_ARENA_ALIGN) uint8_t first_mem[WIRE_EVENT_ARENA];
	struct wire_arena first_arena;
	struct first first = { .a = &first_arena };
	int rc = evlog_txn_begin(log, false, &q.txn);

	wire_arena_init(&first_arena, first_mem, sizeof(first_mem), true);
	status_clear(&q.st);
	if (rc) {
		status_fail(&q.st, ml_err_no_room(rc) ? ML_EUNAVAIL : rc, NULL,
			    "cannot read the log: %s", ml_strerror(rc));
		goto out_reply;
	}
	switch (req->body_case) {
	case MAILLAGE__V1__REQUEST__BODY_PING:
		ping(&q, &pong);
		break;
	case MAILLAGE__V1__REQUEST__BODY_GET_CASE:
		get_case(&q, &view, &first);
		break;
	case MAILLAGE__V1__REQUEST__BODY_GET_CASE_HISTORY:
		get_history(&q, &hist, &events, max_bytes);
		break;
	case MAILLAGE__V1__REQUEST__BODY_LIST_ACCESS_JOURNAL:
		list_journal(&q, &access);
		break;
	case MAILLAGE__V1__REQUEST__BODY_READ_EVENTS:
		read_events(&q, &page, max_bytes);
		break;
	case MAILLAGE__V1__REQUEST__BODY_LIST_CASELOAD:
		if (!board_caseload(q.txn, cfg, org, req->list_caseload, clock_now_us(), &board, &q.st)) {
			resp.result_case = MAILLAGE__V1__RESPONSE__RESULT_CASELOAD;
			resp.caseload = &board;
		}
		break;
	case MAILLAGE__V1__REQUEST__BODY_GET_PARTNER_LOAD:
		if (!board_partner_load(q.txn, cfg, org, req->get_partner_load, &load, &q.st)) {
			resp.result_case = MAILLAGE__V1__RESPONSE__RESULT_PARTNER_LOAD;
			resp.partner_load = &load;
		}
		break;
	case MAILLAGE__V1__REQUEST__BODY_LIST_STALE_CASES:
		if (!board_stale(q.txn, cfg, org, req->list_stale_cases, clock_now_us(), &cases, &q.st)) {
			resp.result_case = MAILLAGE__V1__RESPONSE__RESULT_CASES;
			resp.cases = &cases;
		}
		break;
	case MAILLAGE__V1__REQUEST__BODY_LIST_DEADLINES:
		if (!board_deadlines(q.txn, cfg, org, req->list_deadlines, clock_now_us(), &cases, &q.st)) {
			resp.result_case = MAILLAGE__V1__RESPONSE__RESULT_CASES;
			resp.cases = &cases;
		}
		break;
	case MAILLAGE__V1__REQUEST__BODY_GET_REHOUSING_PIPELINE:
		if (!stats_pipeline(q.txn, cfg, org, req->get_rehousing_pipeline, &pipeline, &q.st)) {
			resp.result_case = MAILLAGE__V1__RESPONSE__RESULT_PIPELINE;
			resp.pipeline = &pipeline;
		}
		break;
	case MAILLAGE__V1__REQUEST__BODY_GET_PLATFORM_STATS:
		if (!stats_period(q.txn, cfg, org, req->get_platform_stats, &stats, &q.st)) {
			resp.result_case = MAILLAGE__V1__RESPONSE__RESULT_STATS;
			resp.stats = &stats;
		}
		break;
	case MAILLAGE__V1__REQUEST__BODY_LIST_PENDING_REFERRALS:
		if (!board_pending(q.txn, cfg, org, req->list_pending_referrals, clock_now_us(), &pending,
				   &q.st)) {
			resp.result_case = MAILLAGE__V1__RESPONSE__RESULT_PENDING;
			resp.pending = &pending;
		}
		break;
	default:
		status_fail(&q.st, ML_EINVAL, "body", "'%s' is not a query",
			    wire_body_name(req));
	}
	evlog_txn_abort(q.txn);
	vault_key_wipe(&q.key);
out_reply:
	/* No record of the read, no personal data sent (writer.c, invariant 6). */
	*journal = NULL;
	if (!q.st.code && journal_needed(req) &&
	    !(*journal = journal_record_new(org, wire_case_id(req), wire_body_name(req),
					    req->purpose, clock_now_us())))
		status_fail(&q.st, ML_ENOMEM, NULL, "out of memory: this read cannot be "
			    "recorded in the access journal; nothing was sent");
	if (q.st.code)
		resp.result_case = MAILLAGE__V1__RESPONSE__RESULT__NOT_SET;
	resp.request_id = req->request_id;
	wire_status_fill(&status, &q.st);
	resp.status = &status;
	if (resp.result_case == MAILLAGE__V1__RESPONSE__RESULT_HISTORY)
		rc = wire_pack_frame_history(&resp, &events, frame, len);
	else
		rc = wire_pack_frame(&resp, frame, len);
	if (rc) {
		wire_free(*journal);
		*journal = NULL;
	}
	journal_list_release(&access);
	counters_release(&counters);
	wire_free(view.summary);
	wire_arena_release(&first_arena);     /* after the frame: view points into it */
	wire_list_release(&events);
	wire_free(hist.as_of);
	free_events(page.events, page.n_events);
	board_caseload_release(&board);
	board_pending_release(&pending);
	board_partner_load_release(&load);
	board_case_list_release(&cases);
	stats_pipeline_release(&pipeline);
	stats_period_release(&stats);
	return rc;
}
