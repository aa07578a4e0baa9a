/* main.c - maillage-diskbench: what the disk alone gives for the writes of
 * one commit, so the server's commit times and latency can be read against
 * it. A commit of LMDB writes its dirty pages (pwrite), flushes them
 * (fdatasync), then writes its meta page through a descriptor opened with
 * O_DSYNC; this does the same with PAGES pages at random places in a file
 * of FILE_MB, ROUNDS times, and prints the time of a round (p50, p90, p99,
 * p99.9, max) and the share over 2.5 and 5 ms. With --busy N, N threads spin
 * on the CPU meanwhile, as the server, its clients and the kernel keep the
 * cores busy during a benchmark: on a virtual machine a flush can then wait
 * for CPU time outside the guest, which the disk alone does not show.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define PROG "maillage-diskbench"
#define PAGE 4096

static const char usage_text[] =
	"usage: " PROG " --dir DIR [--pages N] [--rounds N] [--file-mb N] [--busy N]\n"
	"\n"
	"Times ROUNDS commit-shaped writes in a scratch file DIR/diskbench.tmp\n"
	"(removed at the end): N pages of 4 KiB at random places (pwrite), fdatasync,\n"
	"then one page through an O_DSYNC descriptor, as an LMDB commit writes its\n"
	"dirty pages and its meta page. Prints the time of a round: p50, p90, p99,\n"
	"p99.9, max, and the share over 2.5 ms and 5 ms.\n"
	"\n"
	"  --dir DIR      a directory on the disk to measure (the data directory's)\n"
	"  --pages N      pages per round (40: a commit at ~5 000 commands/s)\n"
	"  --rounds N     rounds (2000; at most 1000000)\n"
	"  --file-mb N    size of the scratch file (256)\n"
	"  --busy N       N threads spin on the CPU, at the lowest priority, during the\n"
	"                 rounds (0; at most 64)\n"
	"  -h, --help     this help\n"
	"\n"
	"Exit status: 0 done, 1 failed (the scratch file, a write or a flush failed,\n"
	"out of memory, or a thread could not start), 2 usage.\n";

#define BUSY_MAX 64

struct opts {
	const char *dir;
	long pages, rounds, file_mb, busy;
};

/* The spinning threads of --busy. */
struct busy {
	pthread_t thread[BUSY_MAX];
	long started;
	atomic_bool stop;
};

static double mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int parse_long(const char *s, const char *name, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, PROG ": --%s must be a number from %ld to %ld\n", name, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

/* 0, 1 for --help (printed), -1 for a usage error (said). */
static int parse_options(struct opts *o, int argc, char **argv)
{
	static const struct option longs[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "pages", required_argument, NULL, 'p' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "file-mb", required_argument, NULL, 'f' },
		{ "busy", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch, rc = 0;

	while (!rc && (ch = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		switch (ch) {
		case 'h':
			fputs(usage_text, stdout);
			return 1;
		case 'd': o->dir = optarg; break;
		case 'p': rc = parse_long(optarg, "pages", 1, 100000, &o->pages); break;
		case 'r': rc = parse_long(optarg, "rounds", 1, 1000000, &o->rounds); break;
		case 'f': rc = parse_long(optarg, "file-mb", 1, 65536, &o->file_mb); break;
		case 'b': rc = parse_long(optarg, "busy", 0, BUSY_MAX, &o->busy); break;
		default: return -1;
		}
	}
	if (!rc && (optind != argc || !o->dir)) {
		fprintf(stderr, PROG ": --dir is required (see --help)\n");
		rc = -1;
	}
	return rc;
}

/* pwrite of a whole page; a short write is an error (EIO). */
static int write_page(int fd, const unsigned char *page, off_t at)
{
	ssize_t n = pwrite(fd, page, PAGE, at);

	if (n == PAGE)
		return 0;
	if (n >= 0)
		errno = EIO;
	return -1;
}

/* Write every page of fd once and flush, so that rounds overwrite blocks
 * the file already has (as LMDB mostly does). */
static int fill(int fd, long file_pages, unsigned char *page)
{
	for (long i = 0; i < file_pages; i++)
		if (write_page(fd, page, (off_t)i * PAGE))
			return -1;
	return fdatasync(fd);
}

/* A page of the file past the first (the meta page's), at random: two
 * draws, as RAND_MAX may be as small as 32767. */
static off_t random_page(long file_pages, unsigned *seed)
{
	unsigned long r = (unsigned long)rand_r(seed) * ((unsigned long)RAND_MAX + 1) +
			  (unsigned long)rand_r(seed);

	return (off_t)(1 + r % (unsigned long)(file_pages - 1)) * PAGE;
}

/* One round: the dirty pages, their flush, the meta page. */
static int round_once(int fd, int meta_fd, long pages, long file_pages, unsigned char *page,
		      unsigned *seed)
{
	for (long p = 0; p < pages; p++) {
		page[0]++;
		if (write_page(fd, page, random_page(file_pages, seed)))
			return -1;
	}
	if (fdatasync(fd))
		return -1;
	return write_page(meta_fd, page, 0);
}

/* A spinning thread, at the lowest priority (on Linux setpriority with 0
 * sets the calling thread's), so that the rounds' thread never waits for a
 * core inside the machine: what the spinning adds is lost outside it. If it
 * cannot lower itself, it spins at the default priority. */
static void *spin(void *arg)
{
	struct busy *b = arg;
	volatile unsigned long turns = 0;

	(void)setpriority(PRIO_PROCESS, 0, 19);
	while (!atomic_load_explicit(&b->stop, memory_order_relaxed))
		turns++;
	return NULL;
}

/* Start n spinning threads; 0, or -1 with errno set (those started run on
 * until busy_stop). */
static int busy_start(struct busy *b, long n)
{
	atomic_init(&b->stop, false);
	for (b->started = 0; b->started < n; b->started++) {
		int rc = pthread_create(&b->thread[b->started], NULL, spin, b);

		if (rc) {
			errno = rc;
			return -1;
		}
	}
	return 0;
}

static void busy_stop(struct busy *b)
{
	atomic_store(&b->stop, true);
	for (long i = 0; i < b->started; i++)
		pthread_join(b->thread[i], NULL);
	b->started = 0;
}

static void report(const struct opts *o, double *ms, double total_ms)
{
	long n = o->rounds, over25 = 0, over5 = 0;

	for (long i = 0; i < n; i++) {
		over25 += ms[i] > 2.5;
		over5 += ms[i] > 5.0;
	}
	qsort(ms, (size_t)n, sizeof(*ms), cmp_double);
	printf("disk alone             %ld rounds of %ld random 4 KiB pages + fdatasync + one "
	       "O_DSYNC page (%.0f rounds/s)", n, o->pages, total_ms > 0 ? n * 1e3 / total_ms : 0);
	if (o->busy)
		printf(", %ld threads spinning", o->busy);
	printf("\n");
	printf("                       p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, "
	       "max %.2f ms; over 2.5 ms: %.1f%%, over 5 ms: %.1f%%\n", ms[n / 2],
	       ms[n * 9 / 10], ms[n * 99 / 100], ms[n * 999 / 1000], ms[n - 1],
	       100.0 * over25 / n, 100.0 * over5 / n);
}

int main(int argc, char **argv)
{
	struct opts o = { .pages = 40, .rounds = 2000, .file_mb = 256 };
	struct busy busy = { .started = 0 };
	unsigned char page[PAGE];
	unsigned seed = (unsigned)time(NULL);
	char path[4096];
	double *ms = NULL, start, elapsed;
	long file_pages;
	int fd = -1, meta_fd = -1, rc = parse_options(&o, argc, argv);

	if (rc)
		return rc > 0 ? 0 : 2;
	rc = 1;
	file_pages = o.file_mb * (1024 * 1024 / PAGE);
	memset(page, 0x5a, sizeof(page));
	if ((size_t)snprintf(path, sizeof(path), "%s/diskbench.tmp", o.dir) >= sizeof(path)) {
		fprintf(stderr, PROG ": directory name too long\n");
		return 2;
	}
	ms = calloc((size_t)o.rounds, sizeof(*ms));
	if (!ms) {
		fprintf(stderr, PROG ": out of memory\n");
		return 1;
	}
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || (meta_fd = open(path, O_WRONLY | O_DSYNC | O_CLOEXEC)) < 0) {
		fprintf(stderr, PROG ": cannot open '%s': %s\n", path, strerror(errno));
		goto out;
	}
	if (fill(fd, file_pages, page)) {
		fprintf(stderr, PROG ": cannot fill '%s': %s\n", path, strerror(errno));
		goto out;
	}
	if (busy_start(&busy, o.busy)) {
		fprintf(stderr, PROG ": cannot start a spinning thread: %s\n", strerror(errno));
		goto out;
	}
	start = mono_ms();
	for (long i = 0; i < o.rounds; i++) {
		double t = mono_ms();

		if (round_once(fd, meta_fd, o.pages, file_pages, page, &seed)) {
			fprintf(stderr, PROG ": cannot write '%s': %s\n", path, strerror(errno));
			goto out;
		}
		ms[i] = mono_ms() - t;
	}
	elapsed = mono_ms() - start;
	busy_stop(&busy);
	report(&o, ms, elapsed);
	rc = 0;
out:
	busy_stop(&busy);
	if (meta_fd >= 0)
		close(meta_fd);
	if (fd >= 0) {
		close(fd);
		unlink(path);
	}
	free(ms);
	return rc;
}
