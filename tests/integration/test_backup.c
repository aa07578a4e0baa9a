/* test_backup.c - backups (issue 8, item 6): maillage-admin backup while
 * clients write, restore into a new directory, a second server on it holding
 * exactly the log up to the backup's position, its personal data readable
 * (the key file came along); a backup right after an erasure (the key file
 * rotated) restores and opens; restore refuses a non-empty target and a
 * damaged backup.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define ST(x) MAILLAGE__V1__STATUS_CODE__##x
#define PD(x) MAILLAGE__V1__PERSONAL_DATA_STATE__PERSONAL_DATA_##x
#define ERASE_REQUEST MAILLAGE__V1__ERASURE_REASON__ERASURE_HOUSEHOLD_REQUEST

#define LOAD_BEFORE 300      /* events written under load before the backup */
#define LOAD_AFTER 100       /* and after it, before the load stops */
#define KEK_SLOT 68          /* epoch (8) + sealed KEK (60): kek.h */

/* Run the shell command fmt... (output to H.dir/cmd.out, printed when the
 * status is not 0, and appended to H.dir/admin.log); its exit status. */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int n, rc;

	va_start(ap, fmt);
	n = vsnprintf(cmd + 2, sizeof(cmd) - 702, fmt, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < sizeof(cmd) - 702);
	memcpy(cmd, "{ ", 2);
	snprintf(cmd + 2 + n, 700, "; } >'%s/cmd.out' 2>&1", H.dir);
	rc = system(cmd);
	rc = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
	snprintf(cmd, sizeof(cmd), "{ echo 'exit status %d:'; cat '%s/cmd.out'; } | "
		 "tee -a '%s/admin.log' %s", rc, H.dir, H.dir, rc ? ">&2" : ">/dev/null");
	if (system(cmd))
		print_message("cannot keep the output in %s/admin.log\n", H.dir);
	return rc;
}

/* maillage-admin ARGS, run by the shell. */
#define ADMIN(fmt, ...) sh("'%s/maillage-admin' " fmt, H.bin, __VA_ARGS__)

/* A number of DIR/manifest (key=value lines). */
static uint64_t manifest_u64(const char *dir, const char *key)
{
	char path[700], line[256];
	size_t n = strlen(key);
	uint64_t v = 0;
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "%s/manifest", dir);
	f = fopen(path, "r");
	assert_non_null(f);
	while (!found && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n) && line[n] == '=') {
			v = strtoull(line + n + 1, NULL, 10);
			found = true;
		}
	fclose(f);
	assert_true(found);
	return v;
}

/* The key file of dir (KEK_FILE_LEN bytes, checked for its magic). */
static void read_kek(const char *dir, uint8_t buf[8 + 2 * KEK_SLOT])
{
	char path[700];
	FILE *f;

	snprintf(path, sizeof(path), "%s/kek", dir);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fread(buf, 1, 8 + 2 * KEK_SLOT, f), 8 + 2 * KEK_SLOT);
	assert_int_equal(fgetc(f), EOF);
	fclose(f);
	assert_memory_equal(buf, "MLKEK001", 8);
}

static uint64_t slot_epoch(const uint8_t *kek, int slot)
{
	uint64_t e = 0;

	for (int i = 0; i < 8; i++)
		e = e << 8 | kek[8 + slot * KEK_SLOT + i];
	return e;
}

/* Refer a household as bailleur-est; its case id (free it). */
static char *refer(struct harness *h, const char *last, const char *first)
{
	mlc_response *r = h_send_as(h, "bailleur-est", h_refer(h, "vaulx-bron", last, first,
								  "1975-05-06"), ST(OK));
	char *id = strdup(r->command->case_id);

	mlc_response_free(r);
	assert_non_null(id);
	return id;
}

/* GetCase as the coordination: fail unless personal data is in state pd
 * with this last name. */
static void expect_person(struct harness *h, const char *case_id, int pd, const char *last)
{
	mlc_response *r = h_send_as(h, "coord-vaulx-bron", h_get_case(h, case_id), ST(OK));

	assert_int_equal(r->case_->personal_data, pd);
	assert_string_equal(r->case_->household->reference_person->last_name, last);
	mlc_response_free(r);
}

/* The server on a restored directory: its own port, directory and
 * configuration, the same master key and household secret as H. Stopped
 * and removed by the test that starts it, or by the group teardown when
 * that test fails. */
static struct harness R;

/* The threads a test starts (writers, an eraser), with the one flag that
 * stops them: stopped and joined by the test, or by its teardown when it
 * failed midway (before the next test, and the server they talk to, go on).
 * What they are given is static for the same reason. */
#define WORKERS_MAX 4
static struct {
	pthread_t thread[WORKERS_MAX];
	size_t n;
	atomic_bool stop;
} workers;

static void workers_start(void *(*run)(void *), void *arg)
{
	assert_true(workers.n < WORKERS_MAX);
	assert_int_equal(pthread_create(&workers.thread[workers.n], NULL, run, arg), 0);
	workers.n++;
}

static void workers_stop(void)
{
	atomic_store(&workers.stop, true);
	for (size_t i = 0; i < workers.n; i++)
		pthread_join(workers.thread[i], NULL);
	workers.n = 0;
	atomic_store(&workers.stop, false);
}

/* A test's teardown: its workers, if it failed before stopping them. */
static int stop_workers(void **state)
{
	(void)state;
	workers_stop();
	return 0;
}

static int teardown(void **state)
{
	int rc = R.dir[0] ? h_teardown(&R) : 0;

	return h_group_teardown(state) || rc ? -1 : 0;
}

static void stop_restored(void)
{
	assert_int_equal(h_teardown(&R), 0);
	memset(&R, 0, sizeof(R));
}

/* Restore backup into a fresh server r, whose data directory is replaced
 * by the restore; r is left stopped. */
static void restore_stopped(struct harness *r, const char *backup)
{
	assert_int_equal(h_setup(r, NULL), 0);
	assert_int_equal(h_stop(r, SIGTERM), 0);
	assert_int_equal(sh("rm -rf '%s'", r->data), 0);
	assert_int_equal(ADMIN("restore '%s' '%s' -c '%s'", backup, r->data, H.conf), 0);
}

/* restore_stopped(), then start r on the restored directory. */
static void restore_into(struct harness *r, const char *backup)
{
	restore_stopped(r, backup);
	assert_int_equal(h_start(r), 0);
}

/* A writer: one connection, one command after another until the workers
 * are stopped. */
struct load {
	struct harness h;        /* a copy of H: its own request ids */
	const char *org;
	const char *visit_case;  /* NULL: referrals */
	unsigned acked, failed;
	char error[200];          /* the first failure */
};

static void *load_run(void *arg)
{
	struct load *l = arg;
	struct mlc *c = h_connect(&l->h, l->org, NULL, 0);
	char first[32];

	for (unsigned i = 0; c && !atomic_load(&workers.stop); i++) {
		mlc_request *req;
		mlc_response *resp;

		snprintf(first, sizeof(first), "P%u", i);
		req = l->visit_case ? h_visit(&l->h, l->visit_case, "2026-11-20") :
				      h_refer(&l->h, "vaulx-bron", l->org, first, "1960-02-03");
		resp = mlc_call(c, req);
		if (h_code(resp) == 0)
			l->acked++;
		else if (!l->failed++)
			snprintf(l->error, sizeof(l->error), "code %d: %s", h_code(resp),
				 resp && resp->status ? resp->status->message : mlc_error(c));
		mlc_response_free(resp);
		h_request_free(req);
	}
	if (c)
		mlc_close(c);
	else
		l->failed++;
	return NULL;
}

/* Wait (20 s at most) until the log reaches pos. */
static void wait_position(uint64_t pos)
{
	struct timespec pause = { .tv_nsec = 10 * 1000000 };

	for (int i = 0; i < 2000 && h_last_position(&H) < pos; i++)
		nanosleep(&pause, NULL);
	assert_true(h_last_position(&H) >= pos);
}

static void test_backup_under_load(void **state)
{
	static const char *const orgs[] = { "bailleur-est", "ccas-vaulx", "asso-habitat" };
	char *before = refer(&H, "Avantsauvegarde", "Claire"), *visited;
	char backup[700], a[700], b[700];
	static struct load load[3];
	uint64_t start, pos, last;
	int64_t t0, t1;

	(void)state;
	visited = refer(&H, "Visitee", "Anne");
	h_expect(&H, "coord-vaulx-bron", h_acknowledge(&H, visited), ST(OK));
	h_expect(&H, "coord-vaulx-bron", h_accept(&H, visited, "asso-habitat"), ST(OK));
	start = h_last_position(&H);
	for (int i = 0; i < 3; i++) {
		load[i] = (struct load){ .h = H, .org = orgs[i],
					 .visit_case = i == 2 ? visited : NULL };
		workers_start(load_run, &load[i]);
	}
	wait_position(start + LOAD_BEFORE);

	snprintf(backup, sizeof(backup), "%s/backups/one", H.dir);
	assert_int_equal(sh("mkdir -p '%s/backups'", H.dir), 0);
	t0 = h_now_us();
	assert_int_equal(ADMIN("backup '%s' '%s' -c '%s'", H.data, backup, H.conf), 0);
	t1 = h_now_us();
	pos = manifest_u64(backup, "position");
	wait_position(pos + LOAD_AFTER);
	workers_stop();
	for (int i = 0; i < 3; i++) {
		if (load[i].failed)
			print_message("%s: %u commands failed, the first with %s\n", orgs[i],
				      load[i].failed, load[i].error);
		assert_int_equal(load[i].failed, 0);
		assert_true(load[i].acked > 0);
	}
	last = h_last_position(&H);
	print_message("backup under load: position %llu of %llu (load from %llu) in %lld ms, "
		      "data.mdb %llu bytes\n", (unsigned long long)pos,
		      (unsigned long long)last, (unsigned long long)start,
		      (long long)(t1 - t0) / 1000,
		      (unsigned long long)manifest_u64(backup, "data_bytes"));
	/* Taken while the load ran: events before it and after it. */
	assert_true(pos >= start + LOAD_BEFORE);
	assert_true(last > pos);

	restore_into(&R, backup);
	assert_int_equal(h_last_position(&R), pos);
	/* Exactly the log up to the backup's position, byte for byte. */
	snprintf(a, sizeof(a), "%s/export-live.jsonl", H.dir);
	snprintf(b, sizeof(b), "%s/export-restored.jsonl", H.dir);
	assert_int_equal(sh("'%s/maillage-admin' export '%s' >'%s'", H.bin, H.data, a), 0);
	assert_int_equal(sh("'%s/maillage-admin' export '%s' >'%s'", H.bin, R.data, b), 0);
	assert_int_equal(sh("test \"$(wc -l <'%s')\" -eq %llu", b, (unsigned long long)pos), 0);
	assert_int_equal(sh("head -n %llu '%s' | cmp - '%s'", (unsigned long long)pos, a, b), 0);
	assert_int_equal(h_verify(&R), 0);
	/* The key file came along: personal data reads. */
	expect_person(&R, before, PD(CLEAR), "Avantsauvegarde");
	expect_person(&R, visited, PD(CLEAR), "Visitee");
	/* And the restored server takes new commands after the position. */
	free(refer(&R, "Apresrestauration", "Paul"));
	assert_int_equal(h_last_position(&R), pos + 1);
	stop_restored();
	free(visited);
	free(before);
}

static void test_backup_after_erasure(void **state)
{
	static const uint8_t empty[KEK_SLOT];
	char *erased = refer(&H, "Effacable", "Louise"), *kept = refer(&H, "Gardee", "Rose");
	uint8_t kek_before[8 + 2 * KEK_SLOT], live[8 + 2 * KEK_SLOT], copy[8 + 2 * KEK_SLOT];
	char backup[700], path[800];
	uint64_t epoch;
	FILE *marker;

	(void)state;
	h_expect(&H, "coord-vaulx-bron", h_decline(&H, erased), ST(OK));
	read_kek(H.data, kek_before);
	h_expect(&H, "coord-vaulx-bron", h_erase(&H, erased, ERASE_REQUEST), ST(OK));
	snprintf(backup, sizeof(backup), "%s/backups/after-erasure", H.dir);
	assert_int_equal(ADMIN("backup '%s' '%s'", H.data, backup), 0);

	/* The backup's key file holds the KEK of the copy's epoch, the one the
	 * live file holds now, and nothing else: not the KEK of before the
	 * erasure, which would open the erased data key. */
	epoch = manifest_u64(backup, "kek_epoch");
	read_kek(H.data, live);
	read_kek(backup, copy);
	assert_int_equal(epoch, slot_epoch(kek_before, 0) + 1);
	assert_int_equal(slot_epoch(copy, 0), epoch);
	assert_memory_equal(copy + 8, live + 8, KEK_SLOT);
	assert_memory_equal(copy + 8 + KEK_SLOT, empty, KEK_SLOT);
	snprintf(path, sizeof(path), "%s/kek", backup);
	assert_int_equal(h_file_count(path, kek_before + 16, 60), 0);
	snprintf(path, sizeof(path), "%s/data.mdb", backup);
	assert_int_equal(h_file_count(path, kek_before + 16, 60), 0);

	restore_into(&R, backup);
	expect_person(&R, kept, PD(CLEAR), "Gardee");
	expect_person(&R, erased, PD(ERASED), "erased");
	assert_int_equal(h_verify(&R), 0);
	stop_restored();

	/* Had a reader lagged behind the erasure, its scrub would still be
	 * pending and the copy would carry the marker (meta "scrub_after", here
	 * 65536), a transaction id of the source: the compacted copy numbers
	 * its transactions from 1 again. The restored server drops it (mdb_load:
	 * lmdb-utils) instead of scrubbing at every batch until its own
	 * numbering catches up. */
	restore_stopped(&R, backup);
	snprintf(path, sizeof(path), "%s/marker.txt", R.dir);
	marker = fopen(path, "w");
	assert_non_null(marker);
	fputs("scrub_after\n\\00\\00\\00\\00\\00\\01\\00\\00\n", marker);  /* mdb_load -T */
	assert_int_equal(fclose(marker), 0);
	assert_int_equal(sh("mdb_load -T -s meta -f '%s' '%s'", path, R.data), 0);
	assert_int_equal(h_start(&R), 0);
	expect_person(&R, kept, PD(CLEAR), "Gardee");
	free(refer(&R, "Apresrestauration", "Lise"));
	assert_true(h_log_contains(&R, "event=scrub_marker_dropped scrub_after=65536 "));
	assert_int_equal(sh("! mdb_dump -p -s meta '%s' | grep -q scrub_after", R.data), 0);
	assert_int_equal(h_verify(&R), 0);
	stop_restored();
	free(kept);
	free(erased);
}

/* An eraser: refer, decline and erase one household after another (each
 * erasure rotates the key-encryption key) until the workers are stopped. */
struct eraser {
	struct harness h;
	unsigned erased, failed;
};

/* Call req on c and free it; true when answered OK. *case_id (may be NULL)
 * gets the case id of a command's answer. */
static bool call_ok(struct mlc *c, mlc_request *req, char *case_id, size_t len)
{
	mlc_response *resp = mlc_call(c, req);
	bool ok = h_code(resp) == 0;

	if (ok && case_id)
		snprintf(case_id, len, "%s", resp->command->case_id);
	mlc_response_free(resp);
	h_request_free(req);
	return ok;
}

static void *eraser_run(void *arg)
{
	struct eraser *e = arg;
	struct mlc *ref = h_connect(&e->h, "bailleur-est", NULL, 0);
	struct mlc *coord = h_connect(&e->h, "coord-vaulx-bron", NULL, 0);
	char first[32], id[64];

	for (unsigned i = 0; ref && coord && !atomic_load(&workers.stop); i++) {
		snprintf(first, sizeof(first), "E%u", i);
		if (call_ok(ref, h_refer(&e->h, "vaulx-bron", "Rotation", first, "1950-01-01"),
			    id, sizeof(id)) &&
		    call_ok(coord, h_decline(&e->h, id), NULL, 0) &&
		    call_ok(coord, h_erase(&e->h, id, ERASE_REQUEST), NULL, 0))
			e->erased++;
		else
			e->failed++;
	}
	e->failed += !ref || !coord;
	if (ref)
		mlc_close(ref);
	if (coord)
		mlc_close(coord);
	return NULL;
}

/* Backups taken while erasures rotate the key-encryption key again and
 * again: each one is checked with the master key by backup itself (its
 * key file opens, every data key unwraps), and restores. */
static void test_backups_during_rotations(void **state)
{
	char *kept = refer(&H, "Toujourslisible", "Marc");
	static struct eraser eraser;
	struct eraser *e = &eraser;
	char backup[700], target[700];
	int i;

	(void)state;
	*e = (struct eraser){ .h = H };
	workers_start(eraser_run, e);
	for (i = 0; i < 8; i++) {
		snprintf(backup, sizeof(backup), "%s/backups/rotating-%d", H.dir, i);
		assert_int_equal(ADMIN("backup '%s' '%s' -c '%s'", H.data, backup, H.conf), 0);
	}
	workers_stop();
	assert_int_equal(e->failed, 0);
	snprintf(target, sizeof(target), "%s/admin.log", H.dir);
	print_message("8 backups while %u erasures rotated the key-encryption key; "
		      "backups that had to copy again: %zu\n", e->erased,
		      h_file_count(target, " attempts\n", 10));
	assert_true(e->erased > 0);
	snprintf(target, sizeof(target), "%s/restored-rotating", H.dir);
	assert_int_equal(ADMIN("restore '%s' '%s' -c '%s'", backup, target, H.conf), 0);
	free(kept);
}

static void test_restore_refuses(void **state)
{
	char backup[700], bad[700], target[700];

	(void)state;
	snprintf(backup, sizeof(backup), "%s/backups/small", H.dir);
	snprintf(bad, sizeof(bad), "%s/backups/damaged", H.dir);
	snprintf(target, sizeof(target), "%s/restored", H.dir);
	assert_int_equal(ADMIN("backup '%s' '%s'", H.data, backup), 0);
	/* A backup is never written over anything. */
	assert_int_equal(ADMIN("backup '%s' '%s'", H.data, backup), 2);

	/* A non-empty target: refused, left as it was. */
	assert_int_equal(sh("mkdir '%s' && echo keep >'%s/keepme'", target, target), 0);
	assert_int_equal(ADMIN("restore '%s' '%s'", backup, target), 2);
	assert_int_equal(sh("test \"$(ls -A '%s')\" = keepme", target), 0);
	assert_int_equal(sh("rm -rf '%s'", target), 0);

	/* A truncated data file, then a truncated key file: a fault (exit 1),
	 * nothing at the target, no temporary directory left beside it. */
	assert_int_equal(sh("cp -r '%s' '%s' && truncate -s 8192 '%s/data.mdb'", backup, bad, bad),
			 0);
	assert_int_equal(ADMIN("restore '%s' '%s'", bad, target), 1);
	assert_int_equal(sh("rm -rf '%s' && cp -r '%s' '%s' && truncate -s 100 '%s/kek'", bad,
			    backup, bad, bad), 0);
	assert_int_equal(ADMIN("restore '%s' '%s'", bad, target), 1);
	assert_int_equal(sh("test ! -e '%s' && test -z \"$(ls -A '%s' | grep '[.]restore-')\"", target,
			    H.dir), 0);

	/* An empty target directory is fine. */
	assert_int_equal(sh("mkdir '%s'", target), 0);
	assert_int_equal(ADMIN("restore '%s' '%s'", backup, target), 0);
	assert_int_equal(ADMIN("verify '%s'", target), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_backup_under_load, stop_workers),
		cmocka_unit_test(test_backup_after_erasure),
		cmocka_unit_test_teardown(test_backups_during_rotations, stop_workers),
		cmocka_unit_test(test_restore_refuses),
	};

	return cmocka_run_group_tests_name("backup", tests, h_group_setup, teardown);
}
