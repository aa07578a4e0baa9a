/* status.h - the answer to one request: a status code, a message, a field.
 *
 * Filled by whoever refuses a request (validation, authorisation, the domain)
 * and turned into a maillage.v1.Status by the wire module.
 */
#ifndef MAILLAGE_STATUS_H
#define MAILLAGE_STATUS_H

struct status {
	int code;            /* maillage.v1.StatusCode number; 0 = OK */
	char field[128];     /* offending field path, "" when none */
	char message[384];   /* lowercase, quotes its subject */
};

/* Reset st to OK with no message. */
void status_clear(struct status *st);

/* Record a refusal: err is an ML_E* code, field may be NULL. Returns err, so
 * callers write `return status_fail(st, ML_EINVAL, "x.y", "...", ...);`. */
int status_fail(struct status *st, int err, const char *field,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
