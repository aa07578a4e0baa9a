/* log.c - logfmt lines on stderr, one write(2) each. */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/* Set by the loop thread (a reload), read by every thread. */
static atomic_int min_level = LOG_INFO;
static const char *const level_names[] = { "debug", "info", "warn", "error" };

void log_set_level(enum log_level level)
{
	atomic_store_explicit(&min_level, (int)level, memory_order_relaxed);
}

/* Control characters in what the format gave (a newline in a file name, a
 * message) would start a line of their own or garble the terminal: each
 * becomes '?', so a record is always one line. */
static void neutralise_controls(char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch < 0x20 || ch == 0x7f)
			s[i] = '?';
	}
}

void log_write(enum log_level level, const char *event, const char *fmt, ...)
{
	char line[2048];
	struct timespec ts;
	struct tm tm;
	size_t n;
	va_list ap;

	if ((int)level < atomic_load_explicit(&min_level, memory_order_relaxed))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(line, sizeof(line), "ts=%Y-%m-%dT%H:%M:%S", &tm);
	n += (size_t)snprintf(line + n, sizeof(line) - n, ".%06ldZ level=%s event=%s",
			      ts.tv_nsec / 1000, level_names[level], event);
	if (fmt && n < sizeof(line) - 2) {
		size_t from;

		line[n++] = ' ';
		from = n;
		va_start(ap, fmt);
		vsnprintf(line + n, sizeof(line) - n, fmt, ap);
		va_end(ap);
		n += strlen(line + n);
		neutralise_controls(line + from, n - from);
	}
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}
