/* casestate.h - the case lifecycle, enforced on the write side.
 *
 *  REFERRED --acknowledge--> ACKNOWLEDGED --accept--> IN_SUPPORT <--> ON_HOLD
 *     |                          |                       |
 *     +-- decline --------------+---> DECLINED          +-- close --> CLOSED
 *     +-- withdraw (referrer, before acceptance) ---> WITHDRAWN
 *     +-- expire (timer) ---> EXPIRED
 *
 * States are maillage.v1.CaseState values; commands are identified by the
 * Request body case (MAILLAGE__V1__REQUEST__BODY_*). Visits, proposals and
 * their answers, leases and partner assignments are events inside IN_SUPPORT
 * (assignments also ON_HOLD) and leave the state unchanged; procedure steps
 * may be recorded in any open state. PutOnHold and Resume move between
 * IN_SUPPORT and ON_HOLD.
 */
#ifndef MAILLAGE_CASESTATE_H
#define MAILLAGE_CASESTATE_H

#include <stdbool.h>

/* The expiry timer, as a pseudo-command (no Request body has this number). */
#define CASESTATE_EXPIRE 1000

/* The state a case in state `from` moves to when the command `body_case` is
 * applied; `from` itself for commands legal in `from` that keep the state;
 * 0 (CASE_STATE_UNSPECIFIED) when the command is illegal in `from`.
 * ReferHousehold creates a case: casestate_next(0, REFER) == REFERRED. */
int casestate_next(int from, int body_case);

/* True for DECLINED, WITHDRAWN, EXPIRED and CLOSED. */
bool casestate_is_final(int state);

/* The states in which body_case is legal, for error messages, e.g.
 * "REFERRED or ACKNOWLEDGED". */
const char *casestate_legal_from(int body_case);

#endif
