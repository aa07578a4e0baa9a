/* test_log.c - log lines (server/log.c): one logfmt line per record, even
 * when a value holds a newline or another control character; lines below
 * the level are dropped; a value too long for a line is cut, still ending
 * the line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

#define CAPTURE_MAX 8192

static char got[CAPTURE_MAX];

/* stderr, while a test writes, goes into a pipe; read back into got. */
static int saved_stderr = -1, pipe_fd[2] = { -1, -1 };

static void capture_begin(void)
{
	assert_int_equal(pipe(pipe_fd), 0);
	saved_stderr = dup(STDERR_FILENO);
	assert_true(saved_stderr >= 0);
	assert_true(dup2(pipe_fd[1], STDERR_FILENO) >= 0);
	close(pipe_fd[1]);
	pipe_fd[1] = -1;
}

/* What was written, NUL-terminated in got. */
static const char *capture_end(void)
{
	size_t n = 0;
	ssize_t r;

	assert_true(dup2(saved_stderr, STDERR_FILENO) >= 0);
	close(saved_stderr);
	saved_stderr = -1;
	while (n < sizeof(got) - 1 && (r = read(pipe_fd[0], got + n, sizeof(got) - 1 - n)) > 0)
		n += (size_t)r;
	close(pipe_fd[0]);
	pipe_fd[0] = -1;
	got[n] = 0;
	return got;
}

static size_t count_char(const char *s, char c)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == c;
	return n;
}

static void test_line_shape(void **state)
{
	const char *out;

	(void)state;
	capture_begin();
	log_info("listening", "addr=%s platforms=%d", "127.0.0.1:7400", 2);
	out = capture_end();
	assert_int_equal(strncmp(out, "ts=", 3), 0);
	assert_non_null(strstr(out, "Z level=info event=listening addr=127.0.0.1:7400 "
				    "platforms=2\n"));
	assert_int_equal(count_char(out, '\n'), 1);
}

/* A newline in a value would forge a second record: it is written as '?',
 * as are a carriage return, an escape and DEL. */
static void test_control_characters_stay_on_one_line(void **state)
{
	const char *out;

	(void)state;
	capture_begin();
	log_error("config_unreadable", "file=\"%s\"",
		  "/etc/x\nts=2026-01-01T00:00:00Z level=info event=forged\r\x1b[2J\x7f");
	out = capture_end();
	assert_int_equal(count_char(out, '\n'), 1);
	assert_non_null(strstr(out, "file=\"/etc/x?ts=2026-01-01T00:00:00Z level=info "
				    "event=forged??[2J?\"\n"));
	assert_null(strchr(out, '\r'));
	assert_null(strchr(out, '\x1b'));
}

static void test_level_drops_lower_lines(void **state)
{
	const char *out;

	(void)state;
	capture_begin();
	log_set_level(LOG_WARN);
	log_info("dropped", NULL);
	log_warn("kept", NULL);
	log_set_level(LOG_INFO);
	out = capture_end();
	assert_null(strstr(out, "event=dropped"));
	assert_non_null(strstr(out, "level=warn event=kept\n"));
	assert_int_equal(count_char(out, '\n'), 1);
}

/* A value longer than a line is cut; the record still ends the line. */
static void test_long_value_is_cut_and_ends_the_line(void **state)
{
	static char big[5000];
	const char *out;
	size_t len;

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	capture_begin();
	log_info("long", "detail=\"%s\"", big);
	out = capture_end();
	len = strlen(out);
	assert_true(len > 1000 && len < sizeof(big));
	assert_int_equal(out[len - 1], '\n');
	assert_int_equal(count_char(out, '\n'), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line_shape),
		cmocka_unit_test(test_control_characters_stay_on_one_line),
		cmocka_unit_test(test_level_drops_lower_lines),
		cmocka_unit_test(test_long_value_is_cut_and_ends_the_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
