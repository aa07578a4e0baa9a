/* server.c - what the server says of itself around a run: a Ping with
 * counters (Pong.counters: batches, events, commit times, commands by type
 * and status, its cpu and memory) on a blocking connection kept for it, and
 * its /proc files when the benchmark knows its pid; the difference printed.
 */
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

#define MIB (1024.0 * 1024.0)

int server_watch_open(struct server_watch *w, const struct bench_opts *o)
{
	char cert[4096], key[4096], ca[4096], err[512];

	w->o = o;
	snprintf(ca, sizeof(ca), "%s/ca.crt", o->dev);
	snprintf(cert, sizeof(cert), "%s/%s.crt", o->dev, o->landlord);
	snprintf(key, sizeof(key), "%s/%s.key", o->dev, o->landlord);
	w->mlc = bench_connect(o->addr, ca, cert, key, BENCH_TIMEOUT_MS, err, sizeof(err));
	if (!w->mlc) {
		fprintf(stderr, PROG ": %s\n", err);
		return -1;
	}
	return 0;
}

void server_watch_close(struct server_watch *w)
{
	mlc_close(w->mlc);
	w->mlc = NULL;
}

/* The number after "name" in text (a /proc/PID/status or io file); 0 when
 * absent. */
static uint64_t proc_number(const char *text, const char *name)
{
	const char *at = strstr(text, name);

	return at ? strtoull(at + strlen(name), NULL, 10) : 0;
}

/* The contents of path, at most len - 1 bytes; "" when it cannot be read. */
static char *read_small(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;

	if (f) {
		n = fread(buf, 1, len - 1, f);
		fclose(f);
	}
	buf[n] = 0;
	return buf;
}

/* Clock ticks (user + system) from the text of a /proc stat file; 0 if it
 * does not parse. */
static uint64_t stat_ticks(const char *stat)
{
	const char *after = strrchr(stat, ')');
	unsigned long long utime, stime;

	/* after the name: state, then fields 4..13, then utime and stime */
	if (!after || sscanf(after + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
			     &utime, &stime) != 2)
		return 0;
	return utime + stime;
}

/* Each thread's cpu, from /proc/PID/task/TID/stat. */
static void snap_threads(const struct bench_opts *o, struct server_snap *s)
{
	char path[96], buf[1024];
	struct dirent *d;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%ld/task", o->server_pid);
	dir = opendir(path);
	if (!dir)
		return;
	while ((d = readdir(dir)) && s->n_threads < BENCH_MAX_THREADS) {
		long tid = strtol(d->d_name, NULL, 10);

		if (tid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/task/%ld/stat", o->server_pid, tid);
		s->tid[s->n_threads] = tid;
		s->tid_ticks[s->n_threads++] = stat_ticks(read_small(path, buf, sizeof(buf)));
	}
	closedir(dir);
}

/* The server's cpu (user + system, in clock ticks), memory and writes from
 * /proc. */
static void snap_proc(const struct bench_opts *o, struct server_snap *s)
{
	char path[64], buf[4096];

	if (o->server_pid <= 0)
		return;
	snprintf(path, sizeof(path), "/proc/%ld/stat", o->server_pid);
	s->cpu_ticks = stat_ticks(read_small(path, buf, sizeof(buf)));
	snprintf(path, sizeof(path), "/proc/%ld/status", o->server_pid);
	read_small(path, buf, sizeof(buf));
	if (!s->cpu_ticks || !buf[0])
		return;
	s->rss_kb = proc_number(buf, "VmRSS:");
	s->hwm_kb = proc_number(buf, "VmHWM:");
	s->anon_kb = proc_number(buf, "RssAnon:");
	snprintf(path, sizeof(path), "/proc/%ld/io", o->server_pid);
	s->write_bytes = proc_number(read_small(path, buf, sizeof(buf)), "wchar:");
	snap_threads(o, s);
	s->pid = o->server_pid;
	s->proc = true;
}

int server_snap_take(struct server_watch *w, struct server_snap *s)
{
	Maillage__V1__Ping ping = MAILLAGE__V1__PING__INIT;
	mlc_request req = MAILLAGE__V1__REQUEST__INIT;

	memset(s, 0, sizeof(*s));
	ping.counters = true;
	req.body_case = MAILLAGE__V1__REQUEST__BODY_PING;
	req.ping = &ping;
	s->resp = mlc_call(w->mlc, &req);
	s->at_us = bench_mono_us();
	snap_proc(w->o, s);
	if (!s->resp) {
		fprintf(stderr, PROG ": ping failed: %s\n", mlc_error(w->mlc));
		return -1;
	}
	if (!resp_ok(s->resp) || !s->resp->pong) {
		fprintf(stderr, PROG ": ping refused: %s\n", resp_message(s->resp));
		return -1;
	}
	s->c = s->resp->pong->counters;
	s->counted = s->c != NULL;
	return 0;
}

void server_snap_release(struct server_snap *s)
{
	mlc_response_free(s->resp);
	memset(s, 0, sizeof(*s));
}

uint64_t server_rss_bytes(const struct server_snap *s)
{
	if (s->counted)
		return s->c->rss_bytes;
	return s->proc ? s->rss_kb * 1024 : 0;
}

/* ------------------------------------------------------------------------- */
/* The difference. */

static uint64_t bucket(const Maillage__V1__ServerCounters *c, size_t i)
{
	return i < c->n_batch_sizes ? c->batch_sizes[i] : 0;
}

static void print_batches(const Maillage__V1__ServerCounters *a,
			  const Maillage__V1__ServerCounters *b, uint64_t commits)
{
	size_t n = a->n_batch_sizes > b->n_batch_sizes ? a->n_batch_sizes : b->n_batch_sizes;

	printf("batch sizes (jobs)     ");
	for (size_t i = 0, shown = 0; i < n; i++) {
		uint64_t d = bucket(b, i) - bucket(a, i);
		char range[32];

		if (!d)
			continue;
		if (i == 0)
			snprintf(range, sizeof(range), "1");
		else
			snprintf(range, sizeof(range), "%" PRIu64 "-%" PRIu64, UINT64_C(1) << i,
				 (UINT64_C(2) << i) - 1);
		printf("%s%s: %" PRIu64 " (%.0f%%)", shown++ ? ", " : "", range, d,
		       commits ? 100.0 * (double)d / (double)commits : 0.0);
	}
	printf("\n");
}

static uint64_t commit_count(const Maillage__V1__ServerCounters *c, size_t i)
{
	return i < c->n_commit_us_counts ? c->commit_us_counts[i] : 0;
}

/* The run's commits by commit time, and the bound 99% of them stay within. */
static void print_commit_times(const Maillage__V1__ServerCounters *a,
			       const Maillage__V1__ServerCounters *b, uint64_t commits)
{
	size_t n = b->n_commit_us_bounds;
	uint64_t seen = 0, p99 = 0;       /* 0: above the last bound */

	if (!commits || b->n_commit_us_counts != n + 1)
		return;
	printf("commit time buckets    ");
	for (size_t i = 0, shown = 0; i <= n; i++) {
		uint64_t d = commit_count(b, i) - commit_count(a, i);

		seen += d;
		if (!p99 && i < n && seen * 100 >= commits * 99)
			p99 = b->commit_us_bounds[i];
		if (!d)
			continue;
		if (i < n)
			printf("%s<= %.1f ms: %.1f%%", shown++ ? ", " : "",
			       (double)b->commit_us_bounds[i] / 1000, 100.0 * (double)d / (double)commits);
		else
			printf("%s> %.1f ms: %.1f%%", shown++ ? ", " : "",
			       (double)b->commit_us_bounds[n - 1] / 1000, 100.0 * (double)d / (double)commits);
	}
	printf("\n");
	if (p99)
		printf("                       99%% of the commits took %.1f ms or less\n",
		       (double)p99 / 1000);
	else if (n)
		printf("                       over 1%% of the commits took more than %.1f ms\n",
		       (double)b->commit_us_bounds[n - 1] / 1000);
}

/* The count of (command, status) in c; 0 when absent. */
static uint64_t command_count(const Maillage__V1__ServerCounters *c, const char *command,
			      int status)
{
	for (size_t i = 0; i < c->n_commands; i++)
		if ((int)c->commands[i]->status == status && !strcmp(c->commands[i]->command, command))
			return c->commands[i]->count;
	return 0;
}

static void print_commands(const Maillage__V1__ServerCounters *a,
			   const Maillage__V1__ServerCounters *b, double secs)
{
	bool any = false;

	for (size_t i = 0; i < b->n_commands; i++) {
		const Maillage__V1__CommandCount *cc = b->commands[i];
		uint64_t d = cc->count - command_count(a, cc->command, (int)cc->status);

		if (!d)
			continue;
		printf("%s%-22s %-20s %9" PRIu64 " (%.0f/s)\n", any ? "                       " :
		       "commands (server)      ", cc->command, bench_status_name((int)cc->status), d,
		       secs > 0 ? (double)d / secs : 0.0);
		any = true;
	}
	if (!any)
		printf("commands (server)      none\n");
	if (b->commands_unprepared > a->commands_unprepared)
		printf("                       %" PRIu64 " of them without the loop thread's "
		       "preparation (hash, household key): the writer computed it\n",
		       b->commands_unprepared - a->commands_unprepared);
}

/* The cpu of each thread of b that also was in a and worked. */
static void print_threads(const struct server_snap *a, const struct server_snap *b,
			  double secs, long pid)
{
	double hz = (double)sysconf(_SC_CLK_TCK);
	bool any = false;

	for (size_t i = 0; i < b->n_threads; i++)
		for (size_t j = 0; j < a->n_threads; j++) {
			double cpu;

			if (a->tid[j] != b->tid[i] || b->tid_ticks[i] == a->tid_ticks[j])
				continue;
			cpu = (double)(b->tid_ticks[i] - a->tid_ticks[j]) / hz;
			printf("%s%ld%s %.0f%%", any ? ", thread " : "server threads (/proc) thread ",
			       b->tid[i], b->tid[i] == pid ? " (main: the event loop)" : "",
			       secs > 0 ? 100 * cpu / secs : 0.0);
			any = true;
		}
	if (any)
		printf(" of a core\n");
}

/* What the server wrote (LMDB's pages, and its replies), in all and per
 * command. */
static void print_writes(const struct server_snap *a, const struct server_snap *b,
			 double secs, uint64_t commands)
{
	double mib = (double)(b->write_bytes - a->write_bytes) / MIB;

	printf("written (/proc wchar)  %.0f MiB (%.0f MiB/s", mib, secs > 0 ? mib / secs : 0.0);
	if (commands)
		printf(", %.1f KiB per command", mib * 1024 / (double)commands);
	printf("): the data file's pages, and the replies\n");
}

static void print_proc(const struct server_snap *a, const struct server_snap *b, double secs)
{
	double cpu;

	if (!a->proc || !b->proc) {
		printf("server cpu, memory     n/a (no server pid given: --server-pid)\n");
		return;
	}
	cpu = (double)(b->cpu_ticks - a->cpu_ticks) / (double)sysconf(_SC_CLK_TCK);
	printf("server cpu (/proc)     %.1f s over %.1f s: %.0f%% of one core\n", cpu, secs,
	       secs > 0 ? 100 * cpu / secs : 0.0);
	printf("server memory (/proc)  rss %.0f MiB, peak %.0f MiB, heap (RssAnon) %.0f MiB\n",
	       (double)b->rss_kb / 1024, (double)b->hwm_kb / 1024, (double)b->anon_kb / 1024);
}

/* What /proc adds: cpu per thread, disk writes. */
static void print_proc_extra(const struct server_snap *a, const struct server_snap *b,
			     double secs, uint64_t commands, long pid)
{
	if (!a->proc || !b->proc)
		return;
	print_threads(a, b, secs, pid);
	print_writes(a, b, secs, commands);
}

void server_print_run(const struct server_snap *a, const struct server_snap *b,
		      uint64_t commands)
{
	const Maillage__V1__ServerCounters *x = a->c, *y = b->c;
	double secs = bench_seconds_between(a->at_us, b->at_us), cpu;
	uint64_t commits, events, jobs;
	long pid = b->proc ? b->pid : 0;

	printf("== server: what it counted over the run (Ping counters before and after)\n");
	if (!a->counted || !b->counted) {
		printf("server counters        n/a (the server answered no Pong.counters)\n");
		print_proc(a, b, secs);
		print_proc_extra(a, b, secs, commands, pid);
		return;
	}
	if (y->uptime_us > x->uptime_us)
		secs = (double)(y->uptime_us - x->uptime_us) / 1e6;
	commits = y->commits - x->commits;
	events = y->events - x->events;
	jobs = y->jobs - x->jobs;
	printf("commits                %" PRIu64 " in %.1f s (%.0f/s); %" PRIu64 " events, %" PRIu64
	       " jobs\n", commits, secs, secs > 0 ? (double)commits / secs : 0.0, events, jobs);
	printf("events per commit      %.1f on average (jobs per commit %.1f)\n",
	       commits ? (double)events / (double)commits : 0.0,
	       commits ? (double)jobs / (double)commits : 0.0);
	print_batches(x, y, commits);
	printf("commit time            %.2f ms on average (batch begin to commit return), max %.2f "
	       "ms since the server started\n",
	       commits ? (double)(y->batch_us_total - x->batch_us_total) / (double)commits / 1000 :
	       0.0, (double)y->batch_us_max / 1000);
	print_commit_times(x, y, commits);
	printf("                       the writer was busy %.0f%% of the time\n",
	       secs > 0 ? (double)(y->batch_us_total - x->batch_us_total) / 1e4 / secs : 0.0);
	cpu = (double)(y->cpu_user_us - x->cpu_user_us + y->cpu_system_us - x->cpu_system_us) / 1e6;
	printf("server cpu             %.1f s user + %.1f s system: %.0f%% of one core\n",
	       (double)(y->cpu_user_us - x->cpu_user_us) / 1e6,
	       (double)(y->cpu_system_us - x->cpu_system_us) / 1e6,
	       secs > 0 ? 100 * cpu / secs : 0.0);
	printf("server memory          rss %.0f MiB (before %.0f MiB), peak %.0f MiB; %" PRIu32
	       " connections\n", (double)y->rss_bytes / MIB, (double)x->rss_bytes / MIB,
	       (double)y->rss_max_bytes / MIB, y->connections);
	if (b->proc)
		printf("                       heap (RssAnon) %.0f MiB; the rest of rss is the LMDB "
		       "map's pages\n", (double)b->anon_kb / 1024);
	print_proc_extra(a, b, secs, commands, pid);
	print_commands(x, y, secs);
}

void server_print_memory(const struct server_snap *a, const struct server_snap *b, size_t n)
{
	uint64_t ra = server_rss_bytes(a), rb = server_rss_bytes(b);

	if (!ra || !rb) {
		printf("server memory          n/a (no Pong.counters and no --server-pid)\n");
		return;
	}
	printf("server rss             %.1f MiB with the connections open (%.1f MiB before): "
	       "%.1f KiB more per connection\n", (double)rb / MIB, (double)ra / MIB,
	       n ? ((double)rb - (double)ra) / 1024.0 / (double)n : 0.0);
	if (a->proc && b->proc)
		printf("server heap (RssAnon)  %.1f MiB (%.1f MiB before)\n",
		       (double)b->anon_kb / 1024, (double)a->anon_kb / 1024);
	if (b->counted)
		printf("server says            %" PRIu32 " connections open, rss peak %.1f MiB\n",
		       b->c->connections, (double)b->c->rss_max_bytes / MIB);
}
