/* test_personal.c - personal data at rest and its erasure (issue 5, items 3
 * and 4): nothing personal in clear anywhere in the data directory; erasure
 * by destroying the household's data key, the history and statistics still
 * there, and no copy of the key left in LMDB's free pages.
 */
#include <dirent.h>
#include <lmdb.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define ST(x) MAILLAGE__V1__STATUS_CODE__##x
#define PD(x) MAILLAGE__V1__PERSONAL_DATA_STATE__PERSONAL_DATA_##x
#define ERASE_REQUEST MAILLAGE__V1__ERASURE_REASON__ERASURE_HOUSEHOLD_REQUEST

/* Values that appear nowhere but in this test's requests. */
static const char *const secrets[] = {
	"Qwertyuiopnom", "Zazieprenom", "7 impasse Kzyxwv", "0612345987",
	"famille.secrete@example.org", "notes-confidentielles-dette-sante",
	"TENANCY-QX-77", "visite-note-tres-privee",
};

/* Occurrences of needle in every file of the data directory. */
static size_t count_in_data(const void *needle, size_t len)
{
	DIR *d = opendir(H.data);
	struct dirent *e;
	size_t n = 0;
	char path[1200];

	assert_non_null(d);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s", H.data, e->d_name);
			n += h_file_count(path, needle, len);
		}
	closedir(d);
	return n;
}

/* A referral carrying every personal field, with the given last name. */
static mlc_request *refer_full(const char *last_name)
{
	mlc_request *req = h_refer(&H, "vaulx-bron", last_name, secrets[1], "1980-04-05");
	Maillage__V1__Household *hh = req->refer_household->referral->household;

	free(hh->address);
	hh->address = strdup(secrets[2]);
	hh->phone = strdup(secrets[3]);
	hh->email = strdup(secrets[4]);
	hh->notes = strdup(secrets[5]);
	hh->tenant_reference = strdup(secrets[6]);
	free(hh->commune);
	hh->commune = strdup("Communecontrolex");   /* not personal: stays clear */
	return req;
}

static char *refer_case(const char *last_name)
{
	mlc_response *r = h_send_as(&H, "bailleur-est", refer_full(last_name), ST(OK));
	char *id = strdup(r->command->case_id);

	mlc_response_free(r);
	return id;
}

static void test_nothing_personal_in_clear(void **state)
{
	char *id = refer_case(secrets[0]);
	mlc_request *visit;
	mlc_response *r;

	(void)state;
	h_expect(&H, "coord-vaulx-bron", h_acknowledge(&H, id), ST(OK));
	h_expect(&H, "coord-vaulx-bron", h_accept(&H, id, "ccas-vaulx"), ST(OK));
	visit = h_visit(&H, id, "2026-11-02");
	visit->record_visit->visit->notes = strdup(secrets[7]);
	h_expect(&H, "ccas-vaulx", visit, ST(OK));

	/* The readers of the case see it all... */
	r = h_send_as(&H, "ccas-vaulx", h_get_case(&H, id), ST(OK));
	assert_string_equal(r->case_->household->reference_person->last_name, secrets[0]);
	assert_string_equal(r->case_->household->phone, secrets[3]);
	assert_string_equal(r->case_->household->tenant_reference, secrets[6]);
	assert_int_equal(r->case_->personal_data, PD(CLEAR));
	mlc_response_free(r);
	r = h_send_as(&H, "coord-vaulx-bron", h_history(&H, id), ST(OK));
	assert_string_equal(r->history->events[3]->visit_recorded->visit->notes, secrets[7]);
	mlc_response_free(r);

	/* ...and no byte of the data directory holds any of it, while a
	 * non-personal field of the same referral is there (the scan works). */
	assert_int_equal(h_stop(&H, SIGTERM), 0);
	for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++) {
		size_t n = count_in_data(secrets[i], strlen(secrets[i]));

		if (n)
			fail_msg("'%s' found %zu times in the data directory", secrets[i], n);
	}
	assert_true(count_in_data("Communecontrolex", 16) > 0);
	assert_int_equal(h_start(&H), 0);
	free(id);
}

/* The wrapped data key of the household of case id, from the households database
 * (read with LMDB directly, as anyone with the files could): the record whose
 * key is the household's anchor (8 bytes), its key, then "vaulx-bron". */
static size_t wrapped_key(const char *id, uint8_t *out)
{
	mlc_response *r = h_send_as(&H, "coord-vaulx-bron", h_get_case(&H, id), ST(OK));
	uint8_t key[32 + 64];
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_cursor *cur;
	MDB_val k, v;
	size_t n = 0;
	Maillage__V1__DataKey *dk;

	assert_int_equal(r->case_->summary->household_key.len, 32);
	memcpy(key, r->case_->summary->household_key.data, 32);
	memcpy(key + 32, "vaulx-bron", 10);
	mlc_response_free(r);
	assert_int_equal(mdb_env_create(&env), 0);
	mdb_env_set_maxdbs(env, 32);
	assert_int_equal(mdb_env_open(env, H.data, MDB_RDONLY, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "households", 0, &dbi), 0);
	assert_int_equal(mdb_cursor_open(txn, dbi, &cur), 0);
	while (!n && !mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != 8 + 42 || memcmp((uint8_t *)k.mv_data + 8, key, 42))
			continue;
		dk = maillage__v1__data_key__unpack(NULL, v.mv_size, v.mv_data);
		assert_non_null(dk);
		n = dk->wrapped.len;
		memcpy(out, dk->wrapped.data, n);
		maillage__v1__data_key__free_unpacked(dk, NULL);
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return n;
}

/* The key file: "MLKEK001", then two slots of { epoch, sealed KEK (60) }. */
struct kek_file {
	uint8_t bytes[8 + 2 * 68];
};

static void read_kek(struct kek_file *k)
{
	char path[700];
	FILE *f;

	snprintf(path, sizeof(path), "%s/kek", H.data);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fread(k->bytes, 1, sizeof(k->bytes), f), sizeof(k->bytes));
	fclose(f);
	assert_memory_equal(k->bytes, "MLKEK001", 8);
}

static uint64_t slot_epoch(const struct kek_file *k, int slot)
{
	uint64_t e = 0;

	for (int i = 0; i < 8; i++)
		e = e << 8 | k->bytes[8 + slot * 68 + i];
	return e;
}

static void test_erasure(void **state)
{
	static const uint8_t empty_slot[68];
	char *id = refer_case("Erasableone"), *other = NULL;
	uint8_t wrapped[128];
	size_t wlen, before = 0, after;
	struct kek_file kek_before, kek_after;
	mlc_response *r;
	MDB_env *env;
	MDB_txn *pin;

	(void)state;
	wlen = wrapped_key(id, wrapped);
	assert_int_equal(wlen, 60);

	/* Refused while the case is open, and without the data-protection role. */
	h_expect(&H, "coord-vaulx-bron", h_erase(&H, id, ERASE_REQUEST), ST(FAILED_PRECONDITION));
	h_expect(&H, "coord-vaulx-bron", h_decline(&H, id), ST(OK));
	h_expect(&H, "coord-venissieux", h_erase(&H, id, ERASE_REQUEST), ST(PERMISSION_DENIED));
	h_expect(&H, "ccas-vaulx", h_erase(&H, id, ERASE_REQUEST), ST(PERMISSION_DENIED));
	h_expect(&H, "coord-vaulx-bron",
		 h_erase(&H, id, MAILLAGE__V1__ERASURE_REASON__ERASURE_RETENTION),
		 ST(INVALID_ARGUMENT));

	/* Pin an old snapshot so that the copies of the households page holding
	 * the data key pile up in the free pages while other households are
	 * referred. */
	assert_int_equal(mdb_env_create(&env), 0);
	mdb_env_set_maxdbs(env, 32);
	assert_int_equal(mdb_env_open(env, H.data, MDB_RDONLY, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &pin), 0);
	for (int i = 0; i < 12; i++) {
		char name[32];

		snprintf(name, sizeof(name), "Autrefamille%c", 'a' + i);
		r = h_send_as(&H, "bailleur-est", h_refer(&H, "vaulx-bron", name, "Jean",
							 "1970-01-01"), ST(OK));
		if (!other)
			other = strdup(r->command->case_id);
		mlc_response_free(r);
	}
	mdb_txn_abort(pin);
	mdb_env_close(env);
	before = count_in_data(wrapped, wlen);
	assert_true(before >= 2);        /* live + copies in free pages */
	read_kek(&kek_before);
	assert_int_equal(slot_epoch(&kek_before, 0), 1);

	r = h_send_as(&H, "coord-vaulx-bron", h_erase(&H, id, ERASE_REQUEST), ST(OK));
	assert_int_equal(r->command->event_count, 1);
	mlc_response_free(r);
	h_expect(&H, "coord-vaulx-bron", h_erase(&H, id, ERASE_REQUEST), ST(FAILED_PRECONDITION));
	/* That refusal found no key to delete: it wrote nothing, so its batch
	 * did not have to run again nested (writer.c invariant 2). */
	assert_false(h_log_contains(&H, "event=batch_rerun"));

	/* The key-encryption key that wrapped every copy of the erased key LMDB
	 * may still hold is gone: the key file holds only the next one, and its
	 * old bytes are nowhere in the data directory. */
	read_kek(&kek_after);
	assert_int_equal(slot_epoch(&kek_after, 0), 2);
	assert_memory_equal(kek_after.bytes + 8 + 68, empty_slot, sizeof(empty_slot));
	assert_int_equal(count_in_data(kek_before.bytes + 16, 60), 0);
	/* And the free pages that held copies were overwritten. */
	after = count_in_data(wrapped, wlen);
	print_message("wrapped data key found %zu times before the erasure, %zu after\n",
		      before, after);
	assert_true(after < before);
	assert_int_equal(wrapped_key(id, wrapped), 0);
	assert_true(h_log_contains(&H, "event=kek_rotated epoch=2"));

	/* Every read of the personal fields says "erased"; the rest stays. */
	r = h_send_as(&H, "coord-vaulx-bron", h_get_case(&H, id), ST(OK));
	assert_int_equal(r->case_->personal_data, PD(ERASED));
	assert_string_equal(r->case_->household->reference_person->last_name, "erased");
	assert_string_equal(r->case_->household->address, "erased");
	assert_string_equal(r->case_->household->notes, "erased");
	assert_string_equal(r->case_->household->commune, "Communecontrolex");
	assert_int_equal(r->case_->household->debt_cents, 345600);
	mlc_response_free(r);
	r = h_send_as(&H, "auditor", h_history(&H, id), ST(OK));
	assert_int_equal(r->history->n_events, 3);
	assert_int_equal(r->history->events[2]->body_case,
			 MAILLAGE__V1__EVENT__BODY_HOUSEHOLD_DATA_ERASED);
	assert_int_equal(r->history->events[2]->household_data_erased->reason, ERASE_REQUEST);
	assert_int_equal(r->history->events[0]->personal_data, PD(ERASED));
	mlc_response_free(r);
	r = h_send_as(&H, "funder-metropole",
		      h_platform_query(&H, MAILLAGE__V1__REQUEST__BODY_GET_PLATFORM_STATS,
				       "vaulx-bron"), ST(OK));
	assert_true(r->stats->referrals >= 14);
	assert_true(r->stats->declined >= 1);
	mlc_response_free(r);

	/* The other households' keys were re-wrapped: still readable, also
	 * after a restart (the key file is read again). */
	assert_int_equal(h_stop(&H, SIGTERM), 0);
	assert_int_equal(h_start(&H), 0);
	r = h_send_as(&H, "coord-vaulx-bron", h_get_case(&H, other), ST(OK));
	assert_string_equal(r->case_->household->reference_person->last_name, "Autrefamillea");
	assert_int_equal(r->case_->personal_data, PD(CLEAR));
	mlc_response_free(r);
	assert_int_equal(h_verify(&H), 0);

	/* The same household referred again gets a new key. */
	h_expect(&H, "bailleur-est", refer_full("Erasableone"), ST(OK));
	free(other);
	free(id);
}

/* Each reader sees what it needs: the household key (which links a
 * household's cases across platforms) only coordination and auditors. */
static void test_minimised_views(void **state)
{
	char *id = refer_case("Minimise");
	static const char *const orgs[] = { "bailleur-est", "coord-vaulx-bron", "auditor" };
	mlc_response *r;

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		size_t want = i ? 32 : 0;
		bool seen = false;

		r = h_send_as(&H, orgs[i], h_get_case(&H, id), ST(OK));
		assert_int_equal(r->case_->summary->household_key.len, want);
		assert_string_equal(r->case_->household->reference_person->last_name, "Minimise");
		mlc_response_free(r);
		r = h_send_as(&H, orgs[i], h_history(&H, id), ST(OK));
		assert_int_equal(r->history->as_of->household_key.len, want);
		assert_int_equal(r->history->events[0]->household_referred->household_key.len, want);
		mlc_response_free(r);
		r = h_send_as(&H, orgs[i],
			      h_platform_query(&H, MAILLAGE__V1__REQUEST__BODY_LIST_CASELOAD,
					       "vaulx-bron"), ST(OK));
		for (size_t k = 0; k < r->caseload->n_rows; k++) {
			assert_int_equal(r->caseload->rows[k]->summary->household_key.len, want);
			seen = seen || !strcmp(r->caseload->rows[k]->summary->case_id, id);
		}
		assert_true(seen);
		mlc_response_free(r);
	}
	/* A partner with no relation to the case does not see it at all. */
	r = h_send_as(&H, "asso-habitat",
		      h_platform_query(&H, MAILLAGE__V1__REQUEST__BODY_LIST_CASELOAD,
				       "vaulx-bron"), ST(OK));
	for (size_t k = 0; k < r->caseload->n_rows; k++)
		assert_string_not_equal(r->caseload->rows[k]->summary->case_id, id);
	mlc_response_free(r);
	free(id);
}

/* Run cmd through the shell; fail the test unless it exits 0. */
static void shell(const char *fmt, const char *a, const char *b)
{
	char cmd[2048];

	snprintf(cmd, sizeof(cmd), fmt, a, b);
	if (system(cmd) != 0)
		fail_msg("command failed: %s", cmd);
}

/* The server refuses to start without its key file, or with another master
 * key, naming the file; with both back it starts and reads. */
static void test_refuses_without_its_keys(void **state)
{
	char *id = refer_case("Clefs");
	mlc_response *r;

	(void)state;
	assert_int_equal(h_stop(&H, SIGTERM), 0);
	shell("mv '%s/kek' '%s/kek.away'", H.data, H.data);
	assert_int_not_equal(h_start(&H), 0);
	assert_true(h_log_contains(&H, "/kek': No such file or directory"));
	shell("mv '%s/kek.away' '%s/kek'", H.data, H.data);

	shell("openssl rand -hex 32 > '%s/other.key' && chmod 600 '%s/other.key'", H.dir, H.dir);
	shell("cp '%s' '%s.saved'", H.conf, H.conf);
	shell("sed -i 's|^master_key_file = .*$|master_key_file = %s/other.key|' '%s'", H.dir,
	      H.conf);
	assert_int_not_equal(h_start(&H), 0);
	assert_true(h_log_contains(&H, "is not the master key the data directory's keys are "
				       "wrapped with"));
	shell("mv '%s.saved' '%s'", H.conf, H.conf);

	/* A crash in the middle of a rotation leaves a second slot (the next
	 * key, or the old one): the start wipes it and keeps the current one. */
	{
		static const uint8_t empty_slot[68];
		struct kek_file k;
		char path[700];
		FILE *f;

		snprintf(path, sizeof(path), "%s/kek", H.data);
		f = fopen(path, "r+b");
		assert_non_null(f);
		assert_int_equal(fseek(f, 8 + 68, SEEK_SET), 0);
		for (int i = 0; i < 68; i++)
			fputc(i < 7 ? 0 : 0x5a, f);      /* epoch 0x5a..., junk key */
		fclose(f);
		assert_int_equal(h_start(&H), 0);
		read_kek(&k);
		assert_memory_equal(k.bytes + 8 + 68, empty_slot, sizeof(empty_slot));
		assert_true(slot_epoch(&k, 0) >= 1);
	}
	r = h_send_as(&H, "coord-vaulx-bron", h_get_case(&H, id), ST(OK));
	assert_string_equal(r->case_->household->reference_person->last_name, "Clefs");
	mlc_response_free(r);
	free(id);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nothing_personal_in_clear),
		cmocka_unit_test(test_erasure),
		cmocka_unit_test(test_minimised_views),
		cmocka_unit_test(test_refuses_without_its_keys),
	};

	return cmocka_run_group_tests(tests, h_group_setup, h_group_teardown);
}
