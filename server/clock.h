/* clock.h - the server's wall clock, in the unit events are dated in. */
#ifndef MAILLAGE_CLOCK_H
#define MAILLAGE_CLOCK_H

#include <stdint.h>

/* Microseconds since the Unix epoch (UTC), from CLOCK_REALTIME. Any thread. */
int64_t clock_now_us(void);

#endif
