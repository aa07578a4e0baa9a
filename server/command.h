/* command.h - running one command on the write side: idempotency, the case's
 * relation and state checks, the events it appends and the models it updates,
 * inside one nested transaction of the writer's batch, or in the batch itself
 * (direct): every check that can refuse a command runs before its first write.
 *
 * Called on the writer thread only, after validate_request() and
 * auth_request_kind() accepted the request on the loop thread; except
 * command_prepare(), which the loop thread calls before it queues the
 * command, to take off the writer what does not read the database.
 */
#ifndef MAILLAGE_COMMAND_H
#define MAILLAGE_COMMAND_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "crypto.h"
#include "evlog.h"
#include "status.h"
#include "wire.h"

/* What a command computes from its request alone (command_prepare()).
 * household_key is key material: wipe it (explicit_bzero) before freeing. */
struct command_pre {
	bool ready;                 /* filled by command_prepare() */
	uint8_t request_hash[CRYPTO_SHA256_LEN];   /* of the request less its
						    * request_id: its identity */
	int household_rc;           /* ReferHousehold: household_key()'s result */
	uint8_t household_key[CRYPTO_SHA256_LEN];  /* ...and the key, when 0 */
};

struct command_ctx {
	const struct config *cfg;
	const struct org *org;      /* the sender, from its certificate */
	const ml_request *req;
	int64_t now_us;             /* the batch's clock: recorded_at */
	const struct command_pre *pre;  /* req's, when ready; NULL (or not
					 * ready): command_run() computes it */
};

/* Fill pre from req (as accepted by validate_request()) and
 * cfg->household_secret, on any thread: it reads neither the database nor
 * the writer's state. The request's hash and, for a ReferHousehold, the
 * household key with household_key()'s status (a failure is the refusal
 * the writer answers in the command's turn, as without pre). The secret
 * never changes while the server runs (a reload that changes it needs a
 * restart: config_adopt() never swaps key files), so a key prepared before
 * a reload holds after it. Returns 0 (pre->ready), or ML_ENOMEM or
 * ML_ECRYPTO (a failure that may not recur): pre is then not ready, and
 * command_run() computes everything itself. */
int command_prepare(const struct config *cfg, const ml_request *req,
		    struct command_pre *pre);

/* What the command answered; plain data, no ownership. */
struct command_out {
	struct status st;           /* OK, or why it was refused */
	char case_id[64];           /* the case (new, existing on ALREADY_EXISTS) */
	uint32_t version;           /* after the command, or current on ABORTED */
	uint64_t first_position;
	uint32_t event_count;
	bool replayed;              /* the stored answer to a retried command_id */
	int64_t recorded_at;
	bool destroyed_key;         /* a data key was destroyed (erasure) */
	bool spoiled;               /* command_run_direct(): failed after writing
				     * to the batch */
};

/* Run ctx->req inside a transaction nested in batch. Accepted: its events and
 * model updates and its command record are handed to batch. Refused: nothing
 * of it remains. A command_id seen before with the same request answers the
 * stored result and writes nothing; with a different request, or from another
 * organisation, it is refused (INVALID_ARGUMENT on command_id).
 * Always fills out; returns 0, or the ML_E* code of a refusal. */
int command_run(struct evlog_txn *batch, const struct command_ctx *ctx,
		struct command_out *out);

/* command_run() in batch itself, without the nested transaction (and its
 * copies of every page the command touches). A refusal (INVALID_ARGUMENT,
 * NOT_FOUND, ALREADY_EXISTS, PERMISSION_DENIED, FAILED_PRECONDITION,
 * ABORTED) that wrote nothing leaves no trace, and the checks of every
 * command come before its first write. Any other outcome that is not a
 * success (a refusal after a write, a storage or decoding failure, which
 * may leave batch unusable) sets out->spoiled: the caller must then abort
 * batch, and may run its commands again, nested. */
int command_run_direct(struct evlog_txn *batch, const struct command_ctx *ctx,
		       struct command_out *out);

/* Append ev (writer thread, inside txn), its personal fields sealed with the
 * data key of household hk (32 bytes) on ev's platform, made when *c is NULL
 * (a referral), and bring the models in step with it: they are built from
 * the event as stored, so a rebuild gives the same. ML_ESTATE when ev has
 * personal data and the household's key was destroyed. */
int command_append(struct evlog_txn *txn, ml_case **c, ml_event *ev, const uint8_t *hk);

/* Expire every referral still undecided (REFERRED or ACKNOWLEDGED) that was
 * referred more than cfg->referral_expiry_s before now_us: each gets a
 * ReferralExpired event appended by the platform itself (actor_org = the
 * platform id, role ROLE_PLATFORM, no command_id), in its own nested
 * transaction of batch. *expired gets the count. 0 or an ML_E* code. */
int command_expire(struct evlog_txn *batch, const struct config *cfg, int64_t now_us,
		   unsigned *expired);

#endif
