/* writer.c - group commit on the writer thread; the durability order.
 *
 * Invariants (DESIGN.md section 3), enforced here and nowhere else:
 *  1. One thread owns every LMDB write transaction: this one.
 *  2. A refused command leaves no trace and does not spoil the batch. A
 *     batch first runs its commands directly in its transaction (command.h:
 *     a command's checks come before its first write). When a command fails
 *     after it has written, or in a way that may leave the transaction
 *     unusable, that transaction is aborted and the batch runs again with
 *     every command in its own nested transaction.
 *  3. The events of a command, the models derived from them and its
 *     idempotency record are written in the same outer transaction, so no
 *     read ever sees one without the others.
 *  4. A reply leaves the writer only after the outer commit holding its
 *     events has returned (fsync done). If that commit fails, every command
 *     of the batch is answered with the failure and nothing of it is visible.
 *  5. Positions are dense: evlog_append() takes the next one inside the
 *     transaction; an aborted transaction gives its positions back.
 *  6. A query answer carrying personal data leaves only after its access
 *     record is committed; if it cannot be, the answer is replaced by the
 *     failure (nothing disclosed that the journal does not show).
 *  7. A batch that destroys data keys rotates the key-encryption key in the
 *     same transaction (kek.h): once it commits, no copy of those keys left
 *     anywhere in the data directory can be unwrapped. If the rotation
 *     fails, the whole batch fails and nothing of it is recorded. Then the
 *     free pages that held copies are overwritten too, before the replies
 *     leave, or at a later batch when a reader was still on an older
 *     snapshot.
 *  8. The configuration the writer reads (w->cfg, and each job's org) changes
 *     only while the writer is paused: parked in take_batch(), between two
 *     batches, holding no transaction. writer_pause() returns only then, and
 *     the mutex orders the loop thread's changes before the next batch.
 */
#include <assert.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "command.h"
#include "counters.h"
#include "clock.h"
#include "erasure.h"
#include "err.h"
#include "journal.h"
#include "kek.h"
#include "log.h"
#include "vault.h"
#include "writer.h"

struct writer {
	struct evlog *log;
	const struct config *cfg;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct writer_job *queue, **queue_tail;   /* submitted, not yet run */
	struct writer_job *done, **done_tail;     /* committed, not yet delivered */
	bool stopping;
	bool paused;                              /* writer_pause(): take no batch */
	bool parked;                              /* the thread waits in take_batch()
						   * (between batches) */
	pthread_cond_t park;                      /* parked became true */
	struct event *done_ev;                    /* activated by the writer */
	writer_done_fn done_fn;
	void *done_arg;
	atomic_uint_fast64_t commits;
	uint32_t journal_seq;                     /* writer thread only */
	struct counters *counters;
	uint64_t scrub_after;                     /* keys were destroyed in this txn */
	bool scrub_marked;                        /* ...and meta says so */
	bool nest;                                /* the last batch ran again nested:
						   * run the next one nested first */
};

struct writer_job *writer_job_new(void *owner, const struct org *org, ml_request *req)
{
	struct writer_job *job = calloc(1, sizeof(*job));

	if (job) {
		job->owner = owner;
		job->org = org;
		job->req = req;
	}
	return job;
}

/* Wipe and free job's framed reply: a journaled query's answer carries
 * personal data. */
static void drop_reply(struct writer_job *job)
{
	if (job->reply)
		explicit_bzero(job->reply, job->reply_len);
	free(job->reply);
	job->reply = NULL;
	job->reply_len = 0;
}

void writer_job_free(struct writer_job *job)
{
	if (!job)
		return;
	wire_free(job->req);
	wire_free(job->journal);
	drop_reply(job);
	explicit_bzero(&job->pre, sizeof(job->pre));    /* a household key */
	free(job);
}

/* Frame the reply of one command (or the failure of a journaled query). */
static void reply(struct writer_job *job, const struct command_out *out)
{
	ml_response resp = MAILLAGE__V1__RESPONSE__INIT;
	Maillage__V1__Status status = MAILLAGE__V1__STATUS__INIT;
	ml_command_result res = MAILLAGE__V1__COMMAND_RESULT__INIT;

	drop_reply(job);
	resp.request_id = job->req->request_id;
	wire_status_fill(&status, &out->st);
	resp.status = &status;
	if (out->case_id[0]) {
		res.case_id = (char *)out->case_id;
		res.case_version = out->version;
		res.first_position = out->first_position;
		res.event_count = out->event_count;
		res.replayed = out->replayed;
		res.recorded_at = out->recorded_at;
		resp.result_case = MAILLAGE__V1__RESPONSE__RESULT_COMMAND;
		resp.command = &res;
	}
	job->status_code = out->st.code;
	if (wire_pack_frame(&resp, &job->reply, &job->reply_len))
		job->reply = NULL;     /* the loop answers INTERNAL */
}

/* Answer every job of a failed batch with err. */
static void fail_batch(struct writer_job *jobs, int err, const char *what)
{
	struct command_out out;

	memset(&out, 0, sizeof(out));
	status_fail(&out.st, ml_err_no_room(err) ? err : ML_EUNAVAIL, NULL,
		    "%s: %s; nothing was recorded, retry with the same command_id",
		    what, ml_strerror(err));
	for (struct writer_job *job = jobs; job; job = job->next) {
		if (job->req)
			reply(job, &out);
		else
			drop_reply(job);
	}
}

/* A journaled query: its record goes into the batch, or its answer is
 * replaced by the failure. */
static void journal(struct writer *w, struct evlog_txn *txn, struct writer_job *job)
{
	struct command_out out;
	int rc = journal_write(txn, job->journal, w->journal_seq++);

	job->status_code = 0;
	if (!rc)
		return;
	memset(&out, 0, sizeof(out));
	status_fail(&out.st, ml_err_no_room(rc) ? rc : ML_EUNAVAIL, NULL,
		    "cannot record this read in the access journal: %s; nothing was sent",
		    ml_strerror(rc));
	reply(job, &out);
}

/* The expiry job: the referrals due are expired inside this batch; the
 * number of events it appended. */
static unsigned expire(struct writer *w, struct evlog_txn *txn, int64_t now_us)
{
	unsigned n = 0;
	int rc = command_expire(txn, w->cfg, now_us, &n);

	if (rc)
		log_error("expiry_failed", "error=\"%s\" expired=%u", ml_strerror(rc), n);
	return n;
}

/* The retention job; true when it destroyed data keys. */
static bool retain(struct writer *w, struct evlog_txn *txn, int64_t now_us)
{
	unsigned erased = 0;
	size_t pruned = 0;
	int rc = erasure_retention(txn, w->cfg, now_us, &erased, &pruned);

	if (rc)
		log_error("retention_failed", "error=\"%s\"", ml_strerror(rc));
	log_info("retention", "erased=%u journal_pruned=%zu", erased, pruned);
	return erased > 0;
}

/* A batch destroyed data keys: rotate the key-encryption key inside it, so
 * that no copy LMDB keeps of them can be unwrapped once it commits (kek.h).
 * *next gets the new epoch. */
static int rotate_begin(struct evlog_txn *txn, uint64_t *next)
{
	int rc = kek_rotate_begin(evlog_txn_kek(txn), next);

	if (!rc)
		rc = vault_rewrap_all(txn, *next);
	return rc;
}

/* No copy of a destroyed data key is left in a free page: forget the scrub
 * (in memory and its meta marker) and the previous key-encryption key. */
static void scrub_done(struct writer *w)
{
	struct evlog_txn *txn;

	w->scrub_after = 0;
	w->scrub_marked = false;
	kek_forget_old(evlog_kek(w->log));
	if (!evlog_txn_begin(w->log, true, &txn)) {
		evlog_meta_del(txn, "scrub_after");
		evlog_txn_commit(txn);
	}
}

/* Overwrite the free pages that may hold copies of destroyed data keys.
 * Pages freed by transaction T become unreachable once a later transaction
 * has committed and no reader is older (evlog.h): commit a marker once, then
 * scrub when no reader is older; until then each batch looks again (a
 * reader-table read). The marker in meta also makes the server finish it at
 * its next start. Once done, the previous key-encryption key is forgotten in
 * memory too. */
static void scrub(struct writer *w)
{
	uint8_t v[8];
	uint64_t clean = 0;
	size_t pages = 0;
	struct evlog_txn *txn;
	int rc = 0;

	if (!w->scrub_marked) {
		wire_put_be32(v, (uint32_t)(w->scrub_after >> 32));
		wire_put_be32(v + 4, (uint32_t)w->scrub_after);
		rc = evlog_txn_begin(w->log, true, &txn);
		if (!rc && !(rc = evlog_meta_put(txn, "scrub_after", v, sizeof(v))))
			rc = evlog_txn_commit(txn);
		else if (!rc)
			evlog_txn_abort(txn);
		w->scrub_marked = !rc;
	}
	if (!rc)
		rc = evlog_scrub_free_pages(w->log, w->scrub_after, &clean, &pages);
	if (rc) {
		log_error("scrub_failed", "error=\"%s\"", ml_strerror(rc));
		return;
	}
	if (clean < w->scrub_after)
		return;              /* a reader is still on an older snapshot */
	scrub_done(w);
}

/* A scrub left unfinished by the last run (meta "scrub_after"): finish it
 * before the first batch. A marker above the last committed transaction
 * counts another environment's transactions: a restored backup, which
 * LMDB's compacting copy renumbered from 1 and which has no free pages to
 * scrub. It is dropped; kept, it would make every batch try to scrub (a
 * write transaction and a reader-table read more) until the numbering
 * caught up. */
static void finish_scrub(struct writer *w)
{
	struct evlog_txn *txn;
	uint8_t v[8];
	size_t len = 0;
	uint64_t last;

	if (evlog_txn_begin(w->log, false, &txn))
		return;
	last = evlog_txn_id(txn);      /* read-only: the snapshot's, the last committed */
	if (!evlog_meta_get(txn, "scrub_after", v, sizeof(v), &len) && len == sizeof(v)) {
		w->scrub_after = (uint64_t)wire_get_be32(v) << 32 | wire_get_be32(v + 4);
		w->scrub_marked = true;
	}
	evlog_txn_abort(txn);
	if (w->scrub_after > last) {
		log_info("scrub_marker_dropped", "scrub_after=%llu last_txn=%llu detail=\"from "
			 "another environment's numbering (a restored copy): nothing to scrub\"",
			 (unsigned long long)w->scrub_after, (unsigned long long)last);
		scrub_done(w);
	}
	if (w->scrub_after)
		scrub(w);
}

/* Count the commands of a batch with the status they are answered with. */
static void count_commands(struct writer *w, const struct writer_job *jobs)
{
	for (const struct writer_job *job = jobs; job; job = job->next)
		if (job->kind == WRITER_COMMAND)
			counters_command(w->counters, (int)job->req->body_case, job->status_code,
					 job->pre.ready);
}

/* What the jobs of a batch did. */
struct tally {
	uint64_t events;          /* appended */
	bool destroyed;           /* data keys destroyed */
};

/* Run the jobs in txn, commands directly in it or each nested (invariant 2).
 * 0, or the ML_E* code of a command run directly that spoiled txn
 * (command.h): txn must then be abandoned. */
static int run_jobs(struct writer *w, struct evlog_txn *txn, struct command_ctx *ctx,
		    bool direct, struct writer_job *jobs, struct tally *t)
{
	struct command_out out;
	int rc;

	memset(t, 0, sizeof(*t));
	for (struct writer_job *job = jobs; job; job = job->next) {
		switch (job->kind) {
		case WRITER_EXPIRY:
			t->events += expire(w, txn, ctx->now_us);
			break;
		case WRITER_RETENTION:
			t->destroyed |= retain(w, txn, ctx->now_us);
			break;
		case WRITER_JOURNAL:
			journal(w, txn, job);
			break;
		case WRITER_COMMAND:
			ctx->org = job->org;
			ctx->req = job->req;
			ctx->pre = &job->pre;
			rc = direct ? command_run_direct(txn, ctx, &out) :
				      command_run(txn, ctx, &out);
			if (out.spoiled)
				return rc;
			reply(job, &out);
			t->destroyed |= out.destroyed_key;
			t->events += out.st.code || out.replayed ? 0 : out.event_count;
			break;
		}
	}
	return 0;
}

/* A command of jobs was answered with a storage or internal failure. */
static bool has_failures(const struct writer_job *jobs)
{
	for (const struct writer_job *job = jobs; job; job = job->next) {
		if (job->kind == WRITER_COMMAND &&
		    (job->status_code == MAILLAGE__V1__STATUS_CODE__RESOURCE_EXHAUSTED ||
		     job->status_code == MAILLAGE__V1__STATUS_CODE__INTERNAL ||
		     job->status_code == MAILLAGE__V1__STATUS_CODE__UNAVAILABLE))
			return true;
	}
	return false;
}

/* Begin the batch's transaction and run its jobs in it: directly, and again
 * nested if a command spoils the direct run. After such a batch the next one
 * runs nested at once (a full map would spoil every batch), and so on until
 * one runs without a failure. Log lines of the abandoned run (expiries,
 * erasures) are not taken back. 0 or the ML_E* code of begin. */
static int begin_and_run(struct writer *w, struct writer_job *jobs, size_t n,
			 struct command_ctx *ctx, struct evlog_txn **txn, struct tally *t)
{
	for (bool direct = !w->nest;; direct = false) {
		int rc = evlog_txn_begin(w->log, true, txn);

		if (rc)
			return rc;
		rc = run_jobs(w, *txn, ctx, direct, jobs, t);
		if (!rc) {
			w->nest = !direct && has_failures(jobs);
			return 0;
		}
		evlog_txn_abort(*txn);
		log_info("batch_rerun", "jobs=%zu error=\"%s\" detail=\"a command failed after "
			 "writing or with its transaction unusable; the batch runs again, each "
			 "command nested\"", n, ml_strerror(rc));
	}
}

/* Run one batch in one write transaction; replies are set on every job. */

static void run_batch(struct writer *w, struct writer_job *jobs, size_t n)
{
	struct command_ctx ctx = { .cfg = w->cfg, .now_us = clock_now_us() };
	struct evlog_txn *txn;
	struct timespec t0, t1;
	struct tally t;
	uint64_t txn_id, next = 0;
	long us;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = begin_and_run(w, jobs, n, &ctx, &txn, &t);
	if (rc) {
		fail_batch(jobs, rc, "cannot begin a write transaction");
		return;
	}
	txn_id = evlog_txn_id(txn);
	if (t.destroyed && (rc = rotate_begin(txn, &next))) {
		evlog_txn_abort(txn);
		kek_rotate_end(evlog_kek(w->log), false);
		log_error("kek_rotation_failed", "commands=%zu error=\"%s\"", n, ml_strerror(rc));
		fail_batch(jobs, rc, "cannot rotate the key-encryption key");
		return;
	}
	rc = evlog_txn_commit(txn);
	if (next && kek_rotate_end(evlog_kek(w->log), !rc))
		log_error("kek_wipe_failed", "epoch=%llu detail=\"the previous key stays in the "
			  "key file until the next start\"", (unsigned long long)next);
	if (rc) {
		log_error("commit_failed", "commands=%zu error=\"%s\"", n, ml_strerror(rc));
		fail_batch(jobs, rc, "cannot commit");
		return;
	}
	if (next) {
		log_info("kek_rotated", "epoch=%llu", (unsigned long long)next);
		w->scrub_after = txn_id;
		w->scrub_marked = false;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	us = (t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000;
	counters_batch(w->counters, n, t.events, (uint64_t)us);
	if (w->scrub_after)
		scrub(w);
	atomic_fetch_add(&w->commits, 1);
	log_debug("commit", "commands=%zu us=%ld", n, us);
}

/* Take up to max_batch queued jobs; NULL when stopping with an empty queue.
 * While it waits, for a job or for the end of a pause, the thread is parked:
 * it holds no transaction and reads no configuration (writer_pause()). */
static struct writer_job *take_batch(struct writer *w, size_t *n)
{
	struct writer_job *head, **cut;

	pthread_mutex_lock(&w->lock);
	while ((!w->queue || w->paused) && !w->stopping) {
		if (!w->parked) {
			w->parked = true;
			pthread_cond_broadcast(&w->park);
		}
		pthread_cond_wait(&w->wake, &w->lock);
	}
	w->parked = false;
	head = w->queue;
	cut = &w->queue;
	for (*n = 0; *cut && *n < w->cfg->max_batch; (*n)++)
		cut = &(*cut)->next;
	w->queue = *cut;
	*cut = NULL;
	if (!w->queue)
		w->queue_tail = &w->queue;
	pthread_mutex_unlock(&w->lock);
	return head;
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	struct writer_job *jobs, *last;
	size_t n;

	while ((jobs = take_batch(w, &n))) {
		run_batch(w, jobs, n);
		count_commands(w, jobs);
		for (last = jobs; last->next; last = last->next)
			;
		pthread_mutex_lock(&w->lock);
		*w->done_tail = jobs;
		w->done_tail = &last->next;
		pthread_mutex_unlock(&w->lock);
		event_active(w->done_ev, EV_READ, 0);
	}
	crypto_pool_wipe();      /* the next data keys were there */
	return NULL;
}

/* Loop thread: hand finished jobs to the connections. */
static void deliver(evutil_socket_t fd, short what, void *arg)
{
	struct writer *w = arg;
	struct writer_job *jobs, *next;

	(void)fd;
	(void)what;
	pthread_mutex_lock(&w->lock);
	jobs = w->done;
	w->done = NULL;
	w->done_tail = &w->done;
	pthread_mutex_unlock(&w->lock);
	for (; jobs; jobs = next) {
		next = jobs->next;
		jobs->next = NULL;
		w->done_fn(w->done_arg, jobs);
	}
}

int writer_start(struct event_base *base, struct evlog *log, const struct config *cfg,
		 struct counters *counters, writer_done_fn done, void *arg,
		 struct writer **out)
{
	struct writer *w = calloc(1, sizeof(*w));

	if (!w)
		return ML_ENOMEM;
	w->log = log;
	w->cfg = cfg;
	w->counters = counters;
	w->done_fn = done;
	w->done_arg = arg;
	w->queue_tail = &w->queue;
	w->done_tail = &w->done;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->wake, NULL);
	pthread_cond_init(&w->park, NULL);
	w->done_ev = event_new(base, -1, 0, deliver, w);
	if (!w->done_ev)
		goto err_free;
	finish_scrub(w);
	if (pthread_create(&w->thread, NULL, writer_main, w)) {
		event_free(w->done_ev);
		goto err_free;
	}
	*out = w;
	return 0;

err_free:
	pthread_cond_destroy(&w->park);
	pthread_cond_destroy(&w->wake);
	pthread_mutex_destroy(&w->lock);
	free(w);
	return ML_EINTERNAL;
}

void writer_submit(struct writer *w, struct writer_job *job)
{
	job->next = NULL;
	pthread_mutex_lock(&w->lock);
	*w->queue_tail = job;
	w->queue_tail = &job->next;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
}

int writer_submit_timer(struct writer *w, enum writer_job_kind kind)
{
	struct writer_job *job = writer_job_new(NULL, NULL, NULL);

	if (!job)
		return ML_ENOMEM;
	job->kind = kind;
	writer_submit(w, job);
	return 0;
}

void writer_pause(struct writer *w)
{
	pthread_mutex_lock(&w->lock);
	assert(!w->paused && !w->stopping);
	w->paused = true;
	while (!w->parked)
		pthread_cond_wait(&w->park, &w->lock);
	pthread_mutex_unlock(&w->lock);
}

void writer_resume(struct writer *w)
{
	pthread_mutex_lock(&w->lock);
	assert(w->paused);
	w->paused = false;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
}

void writer_stop(struct writer *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	assert(!w->paused);
	w->stopping = true;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	deliver(-1, 0, w);
	event_free(w->done_ev);
	pthread_cond_destroy(&w->park);
	pthread_cond_destroy(&w->wake);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

uint64_t writer_commits(const struct writer *w)
{
	return atomic_load(&((struct writer *)w)->commits);
}
