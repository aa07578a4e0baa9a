/* validate.h - field checks on a decoded Request, before anything else.
 *
 * Pure: no configuration, no storage. Checks presence of the body and of
 * required fields, command_id length (16 bytes) on commands, enum values,
 * calendar dates "YYYY-MM-DD", amounts >= 0, UTF-8 validity, string length and
 * list size limits. The refusal names the field by its path from the request,
 * e.g. "record_visit.visit.date".
 */
#ifndef MAILLAGE_VALIDATE_H
#define MAILLAGE_VALIDATE_H

#include <stdbool.h>
#include <stdint.h>

#include "wire.h"

#define VALIDATE_MAX_NAME 200        /* names, references, ids */
#define VALIDATE_MAX_TEXT 4000       /* free-text notes */
#define VALIDATE_MAX_LIST 32         /* repeated fields */

/* 0 when req is acceptable as to its fields; ML_EINVAL with st filled
 * otherwise. Thread-safe. */
int validate_request(const ml_request *req, struct status *st);

/* True for commands (which need a command_id), false for queries. */
bool validate_is_command(const ml_request *req);

/* True when s has the shape of a case id: CODE-YYYY-NNNNNN (2 to 6 capitals,
 * 4 digits, 6 or more digits; 40 bytes at most). */
bool validate_case_id(const char *s);

/* Parse a calendar date "YYYY-MM-DD" (1900..2199, real day of month) into
 * microseconds since the epoch at 00:00 UTC. 0 or ML_EINVAL. */
int validate_parse_date(const char *s, int64_t *out_us);

/* True when s holds len bytes of well-formed UTF-8 without control characters
 * (tab and newline allowed when multiline). */
bool validate_utf8(const char *s, size_t len, bool multiline);

#endif
