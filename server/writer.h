/* writer.h - the writer thread: the only owner of LMDB write transactions.
 *
 * The loop thread submits decoded commands; the writer runs every queued one
 * in one write transaction (group commit) — directly, or each in its own
 * nested transaction when one fails after writing — commits once, then hands
 * the jobs back to the loop thread with their framed replies. See the
 * invariants at the top of writer.c.
 */
#ifndef MAILLAGE_WRITER_H
#define MAILLAGE_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "command.h"
#include "config.h"
#include "evlog.h"
#include "wire.h"

struct event_base;

enum writer_job_kind {
	WRITER_COMMAND,            /* run req, set reply */
	WRITER_JOURNAL,            /* store journal; reply (a query's answer, set
				    * by the loop) goes out once it is committed */
	WRITER_EXPIRY,             /* expire due referrals (no owner, no req) */
	WRITER_RETENTION,          /* erase households past retention, prune the
				    * journal (no owner, no req) */
};

struct writer_job {
	struct writer_job *next;
	enum writer_job_kind kind;
	void *owner;               /* the connection (NULL for timer jobs);
				    * touched by the loop thread only */
	const struct org *org;     /* the sender */
	ml_request *req;           /* owned by the job */
	struct command_pre pre;    /* WRITER_COMMAND: what the loop thread
				    * computed from req (command_prepare()),
				    * if ready; wiped by writer_job_free() */
	ml_access_record *journal; /* owned by the job */
	uint8_t *reply;            /* framed Response; free() */
	size_t reply_len;
	int status_code;           /* the reply's status, for logs */
};

/* Called on the loop thread for each finished job, in commit order; the
 * callback owns the job (free with writer_job_free()). */
typedef void (*writer_done_fn)(void *arg, struct writer_job *job);

struct writer;

/* Start the thread. base must have been created after evthread_use_pthreads().
 * Returns 0, ML_ENOMEM, or ML_EINTERNAL if the thread cannot start. */
struct counters;

/* counters gets each batch and command (counters.h). */
int writer_start(struct event_base *base, struct evlog *log, const struct config *cfg,
		 struct counters *counters, writer_done_fn done, void *arg,
		 struct writer **out);

/* Queue a job (loop thread). The writer takes ownership until done. */
void writer_submit(struct writer *w, struct writer_job *job);

/* Queue a timer job (WRITER_EXPIRY or WRITER_RETENTION; loop thread): a job
 * with no owner and no request, handed back like the others once committed. */
int writer_submit_timer(struct writer *w, enum writer_job_kind kind);

/* Hold the writer between two batches, so that the loop thread may change
 * what the writer thread reads: the configuration given to writer_start()
 * and the orgs its jobs point to (a SIGHUP reload's platform memberships).
 * Waits for the batch being run, if any, to commit (not for the queue);
 * returns once the thread is parked, holding no transaction and reading no
 * configuration until writer_resume(). Jobs submitted meanwhile are queued;
 * nothing is committed while paused. Loop thread only, not while paused;
 * resume within the same callback (the loop waits on no other thread). */
void writer_pause(struct writer *w);

/* Let a paused writer take batches again; the changes made while paused are
 * visible to it (the mutex orders them). Loop thread only. */
void writer_resume(struct writer *w);

/* Finish every queued job, stop and join the thread, deliver what is left,
 * and free w (loop thread, not while paused). NULL is a no-op. */
void writer_stop(struct writer *w);

/* Batches committed and commands run so far (monotonic, any thread). */
uint64_t writer_commits(const struct writer *w);

struct writer_job *writer_job_new(void *owner, const struct org *org, ml_request *req);
void writer_job_free(struct writer_job *job);

#endif
