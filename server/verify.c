/* verify.c - walking the whole log and its indexes to prove them intact. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "err.h"
#include "fsutil.h"
#include "models.h"
#include "verify.h"

struct walk {
	struct evlog_txn *txn;
	struct verify_report *rep;
	uint64_t expect;                      /* next position */
	uint8_t prev[CRYPTO_SHA256_LEN];      /* hash of the previous event */
};

static int fault(struct walk *w, const char *fmt, uint64_t pos, const char *detail)
{
	char what[256];

	snprintf(what, sizeof(what), fmt, detail);
	snprintf(w->rep->fault, sizeof(w->rep->fault), "position %llu: %s",
		 (unsigned long long)pos, what);
	return ML_ECORRUPT;
}

static int check_event(void *arg, const ml_event *ev, const uint8_t *raw, size_t len)
{
	struct walk *w = arg;
	ml_command_record *rec = NULL;
	uint64_t pos = 0;
	int rc;

	if (ev->position != w->expect)
		return fault(w, "%s", w->expect, "missing (positions are not dense)");
	if (ev->prev_hash.len != CRYPTO_SHA256_LEN ||
	    memcmp(ev->prev_hash.data, w->prev, CRYPTO_SHA256_LEN))
		return fault(w, "%s", w->expect, "prev_hash does not match the previous event (hash chain broken)");
	rc = evlog_stream_get(w->txn, ev->case_id, ev->case_version, &pos);
	if (rc == ML_ENOTFOUND || (!rc && pos != ev->position))
		return fault(w, "no streams entry for case '%s' at its version", w->expect, ev->case_id);
	if (ev->case_version > 1 && !rc)
		rc = evlog_stream_get(w->txn, ev->case_id, ev->case_version - 1, &pos);
	if (rc == ML_ENOTFOUND)
		return fault(w, "case '%s' has a gap in its versions", w->expect, ev->case_id);
	if (rc == ML_ECORRUPT)
		return fault(w, "the streams index of case '%s' does not decode (streams or "
			     "stream_tails)", w->expect, ev->case_id);
	if (rc)
		return rc;
	if (ev->case_version == 1)
		w->rep->cases++;
	if (ev->command_id.len) {
		rc = evlog_command_get(w->txn, ev->command_id.data, &rec);
		if (rc == ML_ENOTFOUND || rc == ML_ECORRUPT)
			return fault(w, "%s", w->expect, "its command has no idempotency record");
		if (rc)
			return rc;
		wire_free(rec);
	}
	crypto_sha256(raw, len, w->prev);
	w->expect++;
	w->rep->events++;
	return 0;
}

int verify_log(struct evlog *log, struct verify_report *rep)
{
	struct walk w = { .rep = rep, .expect = 1 };
	uint64_t streams = 0;
	int rc;

	memset(rep, 0, sizeof(*rep));
	rc = evlog_txn_begin(log, false, &w.txn);
	if (rc)
		return rc;
	rc = evlog_scan(w.txn, 1, check_event, &w);
	if (rc == ML_ECORRUPT && !rep->fault[0])
		fault(&w, "%s", w.expect, "stored event does not decode");
	if (!rc && w.expect - 1 != evlog_last_position(w.txn))
		rc = fault(&w, "%s", w.expect, "events missing before the head of the log");
	if (!rc && (rc = evlog_stream_count(w.txn, &streams)) == ML_ECORRUPT)
		snprintf(rep->fault, sizeof(rep->fault), "a stream_tails record does not decode");
	if (!rc && streams != rep->events) {
		snprintf(rep->fault, sizeof(rep->fault),
			 "streams has %llu entries for %llu events",
			 (unsigned long long)streams, (unsigned long long)rep->events);
		rc = ML_ECORRUPT;
	}
	evlog_txn_abort(w.txn);
	return rc;
}

#define SCRATCH_MAP_SIZE ((size_t)64 << 30)

int verify_models(struct evlog *log, const char *tmpdir, struct verify_report *rep)
{
	struct evlog_txn *src = NULL, *dst = NULL;
	struct evlog *scratch = NULL;
	char dir[FS_PATH_LEN], err[512];
	int rc;

	memset(rep, 0, sizeof(*rep));
	if ((size_t)snprintf(dir, sizeof(dir), "%s/maillage-rebuild-XXXXXX", tmpdir) >=
	    sizeof(dir))
		return ML_EINVAL;
	if (!mkdtemp(dir))
		return fs_err(errno);
	rc = evlog_open(dir, SCRATCH_MAP_SIZE, false, &scratch, err, sizeof(err));
	if (rc)
		goto out_remove;
	rc = evlog_txn_begin(log, false, &src);
	if (!rc)
		rc = evlog_datakeys_check(src, rep->fault, sizeof(rep->fault));
	if (!rc)
		rc = evlog_txn_begin(scratch, true, &dst);
	if (!rc)
		rc = models_rebuild(src, dst);
	if (!rc)
		rc = evlog_models_compare(src, dst, rep->fault, sizeof(rep->fault));
	evlog_txn_abort(dst);
	evlog_txn_abort(src);
	evlog_close(scratch);
out_remove:
	if (fs_remove_tree(dir) && !rc)
		rc = ML_EIO;
	return rc;
}
