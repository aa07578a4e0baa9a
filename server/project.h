/* project.h - the case summary as a fold over the case's events.
 *
 * Pure and deterministic: the same events give byte-identical summaries, so
 * the stored model can be rebuilt from the log. Used by the write side right
 * after each append (same transaction) and by rebuild tools.
 */
#ifndef MAILLAGE_PROJECT_H
#define MAILLAGE_PROJECT_H

#include "wire.h"

/* Apply ev to *c. A household_referred event needs *c == NULL and creates the
 * summary (free with wire_free()); any other event needs an existing one.
 * Returns 0, ML_ENOMEM, or ML_ECORRUPT when the event does not fit the case
 * (wrong case, version not the next one, creation of an existing case). */
int project_case_apply(ml_case **c, const ml_event *ev);

#endif
