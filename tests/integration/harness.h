/* harness.h - integration tests against the real maillaged binary: a fresh
 * data directory and configuration per server, the development certificates
 * of tools/devsetup.sh, a free loopback port, real TLS through mlclient.
 *
 * Environment: MAILLAGE_ROOT (repository root, default "."), MAILLAGE_BIN
 * (directory of maillaged and maillage-admin, default $MAILLAGE_ROOT/build/bin).
 */
#ifndef MAILLAGE_HARNESS_H
#define MAILLAGE_HARNESS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mlclient.h"

struct harness {
	char root[400];        /* repository root */
	char bin[512];         /* build/bin */
	char dir[512];         /* this server's temporary directory */
	char certs[512];       /* shared development certificates */
	char conf[600];        /* dir/maillaged.conf */
	char data[600];        /* dir/data */
	char log[600];         /* dir/server.log: the server's stderr */
	int port;
	pid_t pid;             /* 0 when not running */
	atomic_uint_fast64_t next_id; /* request ids; tests' threads send too */
};

/* The server of the test binary, and cmocka group fixtures for it: setup
 * starts it with the default configuration, teardown stops it (failing the
 * group on an unclean exit or a sanitizer's report in its log, which
 * tests/run.sh counts as a failure) and removes its directory. */
extern struct harness H;
int h_group_setup(void **state);
int h_group_teardown(void **state);

/* Make the directory, certificates and configuration (extra config lines
 * appended to the global section, may be NULL), and start the server.
 * Returns 0, or -1 with a message on stderr. */
int h_setup(struct harness *h, const char *extra_config);

/* Start the server on the same directory and port; wait until it accepts
 * TLS connections (10 s at most). 0 or -1. */
int h_start(struct harness *h);

/* Send sig (SIGTERM, SIGKILL) and wait for the process (10 s at most, then
 * SIGKILL and -1); returns its exit status (0..255), 128+signal if killed by
 * a signal, -1 if it was not running or had to be killed. */
int h_stop(struct harness *h, int sig);

/* Stop the server with SIGTERM and remove the directory. Returns 0 when it
 * exited cleanly (status 0: under the sanitizers, also no leak and no error),
 * -1 otherwise with the end of its log on stderr. */
int h_teardown(struct harness *h);

/* Connect as organisation org (its development certificate). NULL on failure,
 * with the reason in err when err is not NULL. */
struct mlc *h_connect(struct harness *h, const char *org, char *err, size_t errlen);

/* Connect with explicit certificate files (cert/key relative to the certs
 * directory, e.g. "intruder.crt"); NULL cert = no client certificate. */
struct mlc *h_connect_files(struct harness *h, const char *cert, const char *key,
			    char *err, size_t errlen);

/* Run maillage-admin verify on the data directory; its exit status. */
int h_verify(struct harness *h);

/* True when the server's log contains needle. */
bool h_log_contains(struct harness *h, const char *needle);

/* The number of lines of the server's log that contain needle (0 when the
 * log cannot be read). */
int h_log_count(struct harness *h, const char *needle);

/* Wait until at least n lines of the server's log contain needle, looking
 * every 50 ms for timeout_ms at most. True when they do, false on timeout. */
bool h_log_wait(struct harness *h, const char *needle, int n, int timeout_ms);

/* How many times the len bytes of needle occur in the file at path
 * (overlapping occurrences counted; the whole file is read into memory).
 * Fails the current test when the file cannot be read. */
size_t h_file_count(const char *path, const void *needle, size_t len);

/* Request builders: a Request on the heap with a fresh request_id and (for
 * commands) a fresh command_id; free with h_request_free(). */
mlc_request *h_request(struct harness *h);
void h_request_free(mlc_request *req);

/* Commands of the story, with typical values. */
mlc_request *h_refer(struct harness *h, const char *platform, const char *last_name,
		     const char *first_name, const char *birth_date);
mlc_request *h_acknowledge(struct harness *h, const char *case_id);
mlc_request *h_accept(struct harness *h, const char *case_id, const char *lead);
mlc_request *h_decline(struct harness *h, const char *case_id);
mlc_request *h_withdraw(struct harness *h, const char *case_id);
mlc_request *h_visit(struct harness *h, const char *case_id, const char *date);
mlc_request *h_propose(struct harness *h, const char *case_id, const char *landlord);
mlc_request *h_close(struct harness *h, const char *case_id);
mlc_request *h_assign(struct harness *h, const char *case_id, const char *partner, int role);
mlc_request *h_release(struct harness *h, const char *case_id, const char *partner);
/* hearing may be NULL */
mlc_request *h_step(struct harness *h, const char *case_id, int stage, const char *date,
		    const char *hearing);
mlc_request *h_answer(struct harness *h, const char *case_id, uint32_t number, bool accepted);
mlc_request *h_sign(struct harness *h, const char *case_id, uint32_t number);
/* on: PutOnHold; off: Resume */
mlc_request *h_hold(struct harness *h, const char *case_id, bool on);
mlc_request *h_get_case(struct harness *h, const char *case_id);
/* EraseHouseholdData (reason: maillage.v1.ErasureReason). */
mlc_request *h_erase(struct harness *h, const char *case_id, int reason);
/* ListAccessJournal; cursor may be NULL, limit 0 = the default. */
mlc_request *h_journal(struct harness *h, const char *case_id, const char *cursor,
		       uint32_t limit);
mlc_request *h_history(struct harness *h, const char *case_id);
mlc_request *h_ping(struct harness *h);
/* ReadEvents (auditors) from position from, at most max events (0 = as fit). */
mlc_request *h_read_events(struct harness *h, uint64_t from, uint32_t max);
/* A platform-wide query (body: a Request.body number whose message has a
 * "platform" field, e.g. MAILLAGE__V1__REQUEST__BODY_LIST_CASELOAD) for
 * platform; a stats query covers this year. */
mlc_request *h_platform_query(struct harness *h, int body, const char *platform);
/* Subscribe after from_position; platform and case_id may be NULL (no filter).
 * Other filters: set them on req->subscribe (heap values). */
mlc_request *h_subscribe(struct harness *h, uint64_t from_position, const char *platform,
			 const char *case_id);

/* As organisation org on a new connection: send req, fail the current test
 * unless the answer has status code; return the response (free with
 * mlc_response_free). h_call_as keeps req; h_send_as frees it; h_expect frees
 * both. */
mlc_response *h_call_as(struct harness *h, const char *org, mlc_request *req, int code);
mlc_response *h_send_as(struct harness *h, const char *org, mlc_request *req, int code);
void h_expect(struct harness *h, const char *org, mlc_request *req, int code);

/* The position of the last event, from a ping. */
uint64_t h_last_position(struct harness *h);

/* mlc_call() then check the status code; returns the response (free with
 * mlc_response_free) or NULL if the call failed. */
mlc_response *h_call(struct mlc *c, mlc_request *req);

/* A loopback TCP port nobody listens on now. */
int h_free_port(void);

/* Run the shell command made of fmt and its arguments; its exit status (-1
 * when it did not exit). */
int h_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A monotonic clock, for timings in tests. */
int64_t h_now_us(void);

/* The status code of resp (-1 when resp is NULL). */
int h_code(const mlc_response *resp);

#endif
