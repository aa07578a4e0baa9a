/* deadline.h - the next deadline of an eviction procedure, from its latest
 * stage (DESIGN.md section 2): six weeks after a payment order, the hearing of
 * a court summons, two months after an order to vacate; an eviction never
 * takes place during the winter truce (1 November - 31 March), so a date that
 * falls in it moves to the next 1 April. Pure.
 */
#ifndef MAILLAGE_DEADLINE_H
#define MAILLAGE_DEADLINE_H

#define DEADLINE_DATE_LEN 11    /* "YYYY-MM-DD" and its NUL */

/* The deadline that follows stage (a maillage.v1.ProcedureStage) recorded on
 * date (with hearing, the hearing date of a summons, "" if none): out gets the
 * date and *kind a maillage.v1.DeadlineKind. Returns 0, or ML_ENOTFOUND when
 * the stage has no deadline, ML_EINVAL when a date does not parse. */
int deadline_next(int stage, const char *date, const char *hearing,
		  char out[DEADLINE_DATE_LEN], int *kind);

/* Days from 1970-01-01 to the date s, or ML_EINVAL; and back. */
int deadline_days(const char *s, long *days);
void deadline_format(long days, char out[DEADLINE_DATE_LEN]);

#endif
