/* log.h - one logfmt line per event of note, on stderr:
 *   ts=2026-11-24T07:40:11.123456Z level=info event=listen addr=127.0.0.1:7400
 * Thread-safe (one write per line). Never log personal data: identify cases
 * by id and organisations by id, nothing about the household.
 */
#ifndef MAILLAGE_LOG_H
#define MAILLAGE_LOG_H

enum log_level {
	LOG_DEBUG,
	LOG_INFO,
	LOG_WARN,
	LOG_ERROR,
};

/* Lines below level are dropped (default LOG_INFO). Any thread. */
void log_set_level(enum log_level level);

/* Write one line: event is a short snake_case name; fmt (may be NULL) gives
 * further key=value pairs. Quote free-text values with %s inside "...".
 * Control characters in what fmt gives (a newline, an escape) are written
 * as '?': a record is always one line. Quotes are not escaped. */
void log_write(enum log_level level, const char *event, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_debug(...) log_write(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_write(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_write(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_write(LOG_ERROR, __VA_ARGS__)

#endif
