/* status.c - filling the per-request status record. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "status.h"

void status_clear(struct status *st)
{
	memset(st, 0, sizeof(*st));
}

int status_fail(struct status *st, int err, const char *field,
		const char *fmt, ...)
{
	va_list ap;

	st->code = ml_err_status_code(err);
	snprintf(st->field, sizeof(st->field), "%s", field ? field : "");
	va_start(ap, fmt);
	vsnprintf(st->message, sizeof(st->message), fmt, ap);
	va_end(ap);
	return err;
}
