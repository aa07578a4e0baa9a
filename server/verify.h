/* verify.h - checking a data directory end to end: positions dense from 1,
 * every event decodes and carries its own position, the hash chain, one
 * entry of the streams index per event with versions dense from 1 per case,
 * and an idempotency record for every command that appended events.
 * Works in one read transaction, so it can run beside a live server.
 */
#ifndef MAILLAGE_VERIFY_H
#define MAILLAGE_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "evlog.h"

struct verify_report {
	uint64_t events;          /* events checked */
	uint64_t cases;           /* distinct cases seen */
	char fault[512];          /* the first fault, "" when none */
};

/* 0 when everything verifies; ML_ECORRUPT with report->fault naming the first
 * fault (position and what is wrong); another ML_E* code when the directory
 * cannot be read. */
int verify_log(struct evlog *log, struct verify_report *report);

/* Check that every data key has its household's record (before anything
 * else: ML_ECORRUPT, report->fault naming it); then rebuild every model
 * from the log into a scratch environment in a new
 * directory under tmpdir (any name: it never reaches a shell; removed
 * before returning) and compare it byte for byte with the live models of
 * log: 0, ML_ECORRUPT with the first difference in report->fault, ML_EINVAL
 * when tmpdir is too long, ML_ENOSPACE when tmpdir's file system is full,
 * ML_EIO when the scratch directory cannot be made or removed, or another
 * ML_E* code. */
int verify_models(struct evlog *log, const char *tmpdir, struct verify_report *report);

#endif
