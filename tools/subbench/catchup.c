/* catchup.c - the catch-up phase: one subscriber of a fleet reads the log
 * from position 0 up to its head; the events per second.
 */
#include <inttypes.h>
#include <stdio.h>
#include <sys/resource.h>

#include <event2/event.h>

#include "fleet.h"

int catchup_run(const struct bench_opts *o)
{
	struct fleet fl = { 0 };
	struct rusage ru_start;
	double s;
	int rc = 1;

	printf("== catch-up: one subscriber from position 0\n");
	if (fleet_init(&fl, o, FLEET_CATCHUP, 1))
		goto out;
	getrusage(RUSAGE_SELF, &ru_start);
	fl.connect_start_us = bench_mono_us();
	fleet_launch(&fl);
	if (event_base_dispatch(fl.base) < 0)
		fprintf(stderr, PROG ": event loop failed\n");
	if (!fl.caught_up_us) {
		fprintf(stderr, PROG ": the subscriber stopped at position %" PRIu64 " of %" PRIu64
			"\n", fl.subs[0].position, fl.head);
		goto out;
	}
	s = bench_seconds_between(fl.subscribe_us, fl.caught_up_us);
	printf("catch-up               %" PRIu64 " events (positions 1 to %" PRIu64 ", %" PRIu64
	       " gaps) in %.2f s: %.0f events/s\n", fl.notifications, fl.head, fl.disorder, s,
	       s > 0 ? (double)fl.notifications / s : 0.0);
	bench_print_cpu(&ru_start, bench_seconds_between(fl.connect_start_us, bench_mono_us()));
	rc = fl.disorder ? 1 : 0;
out:
	fleet_release(&fl);
	return rc;
}
