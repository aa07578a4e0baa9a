/* test_verify.c - maillage-admin verify's checker against a log damaged on
 * purpose: a flipped byte in an event, a broken hash chain, a missing streams
 * entry (in streams, and in a case's tail), a missing idempotency record;
 * a data key whose household lost its record; and the upgrade of a
 * directory of schema 2, 3, 4 and 5. The damage is done
 * with LMDB directly (this test is the only place outside evlog.c that does
 * so).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "err.h"
#include "evlog.h"
#include "evlog_int.h"      /* EVLOG_ANCHOR_LEN */
#include "fixture.h"
#include "kek.h"
#include "models.h"
#include "vault.h"
#include "verify.h"

static char dir[FIXTURE_DIR_LEN];
static struct config cfg;
static struct org org;          /* landlord, on vaulx-bron */

/* Referral number i (command id i + 1) in txn; 0 when accepted. */
static int refer_one(struct evlog_txn *txn, int i)
{
	struct fixture_refer r;
	char first[16];
	struct command_ctx ctx = { .cfg = &cfg, .org = &org, .req = &r.req,
				   .now_us = 1795000000000000LL };
	struct command_out out;

	snprintf(first, sizeof(first), "P%d", i);
	fixture_refer_init(&r, "vaulx-bron", MAILLAGE__V1__REFERRAL_REASON__REASON_OTHER,
			   "Verify", first);
	r.id[0] = (uint8_t)(i + 1);
	return command_run(txn, &ctx, &out) || out.st.code ? -1 : 0;
}

/* The referrer withdraws case_id (its version 2); 0 when accepted. */
static int withdraw(struct evlog_txn *txn, const char *case_id)
{
	ml_request req = MAILLAGE__V1__REQUEST__INIT;
	Maillage__V1__WithdrawReferral body = MAILLAGE__V1__WITHDRAW_REFERRAL__INIT;
	uint8_t id[16] = { 0xee };
	struct command_ctx ctx = { .cfg = &cfg, .org = &org, .req = &req,
				   .now_us = 1795000000000000LL };
	struct command_out out;

	body.case_id = (char *)case_id;
	body.reason_text = "rehoused by family";
	req.body_case = MAILLAGE__V1__REQUEST__BODY_WITHDRAW_REFERRAL;
	req.withdraw_referral = &body;
	req.command_id.data = id;
	req.command_id.len = 16;
	return command_run(txn, &ctx, &out) || out.st.code ? -1 : 0;
}

/* Referrals from..to-1 (positions from+1..to) in the directory (created if
 * needed), in one transaction. */
static int add_referrals(int from, int to)
{
	struct evlog *log;
	struct evlog_txn *txn;
	struct kek *kek;
	int rc;

	/* The first opening makes the key-encryption key, of epoch 1. */
	if (fixture_log_open(dir, 16 << 20, &cfg, from ? 1 : 0, &log, &kek))
		return -1;
	rc = evlog_txn_begin(log, true, &txn);
	for (int i = from; !rc && i < to; i++)
		if ((rc = refer_one(txn, i)))
			evlog_txn_abort(txn);
	if (!rc)
		rc = evlog_txn_commit(txn);
	fixture_log_close(log, kek);
	return rc ? -1 : 0;
}

/* A fresh directory holding five referrals (positions 1..5). */
static int setup(void **state)
{
	(void)state;
	fixture_config(&cfg, &org, 1, 1);
	return fixture_dir_make(dir, "verify") ? -1 : add_referrals(0, 5);
}

static int teardown(void **state)
{
	(void)state;
	return fixture_dir_remove(dir);
}

/* Run verify on the directory; return its code and the fault in fault. */
static int verify(char *fault, size_t len)
{
	struct verify_report rep;
	struct evlog *log;
	char err[256];
	int rc;

	assert_int_equal(evlog_open(dir, 16 << 20, true, &log, err, sizeof(err)), 0);
	rc = verify_log(log, &rep);
	snprintf(fault, len, "%s", rep.fault);
	evlog_close(log);
	return rc;
}

/* Open the raw environment and one named database for damage. */
static void raw_open(const char *name, MDB_env **env, MDB_txn **txn, MDB_dbi *dbi)
{
	assert_int_equal(mdb_env_create(env), 0);
	mdb_env_set_maxdbs(*env, 16);
	mdb_env_set_mapsize(*env, 16 << 20);
	assert_int_equal(mdb_env_open(*env, dir, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(*env, NULL, 0, txn), 0);
	assert_int_equal(mdb_dbi_open(*txn, name, 0, dbi), 0);
}

static void raw_close(MDB_env *env, MDB_txn *txn)
{
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

static MDB_val pos_key(uint8_t *buf, uint64_t pos)
{
	MDB_val k = { 8, buf };

	for (int i = 7; i >= 0; i--, pos >>= 8)
		buf[i] = (uint8_t)pos;
	return k;
}

/* Replace event pos by a copy with byte at offset from the end flipped. */
static void flip_event_byte(uint64_t pos, size_t from_end, uint8_t *saved, size_t *saved_len)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	uint8_t kbuf[8], copy[4096];
	MDB_val k = pos_key(kbuf, pos), v;

	raw_open("events", &env, &txn, &dbi);
	assert_int_equal(mdb_get(txn, dbi, &k, &v), 0);
	assert_true(v.mv_size <= sizeof(copy));
	memcpy(copy, v.mv_data, v.mv_size);
	memcpy(saved, v.mv_data, v.mv_size);
	*saved_len = v.mv_size;
	copy[v.mv_size - from_end] ^= 0x01;
	v.mv_data = copy;
	assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	raw_close(env, txn);
}

static void restore_event(uint64_t pos, uint8_t *saved, size_t len)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	uint8_t kbuf[8];
	MDB_val k = pos_key(kbuf, pos), v = { len, saved };

	raw_open("events", &env, &txn, &dbi);
	assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	raw_close(env, txn);
}

static void test_intact(void **state)
{
	char fault[512];

	(void)state;
	assert_int_equal(verify(fault, sizeof(fault)), 0);
	assert_string_equal(fault, "");
}

/* Directories before schema 4 had no stream_tails: every event of a case
 * was in streams, under (case id, 0, version). Move the tails there and drop
 * stream_tails. */
static void fold_tails(MDB_txn *txn)
{
	MDB_dbi tails, streams;
	MDB_cursor *cur;
	MDB_val k, v;

	assert_int_equal(mdb_dbi_open(txn, "stream_tails", 0, &tails), 0);
	assert_int_equal(mdb_dbi_open(txn, "streams", 0, &streams), 0);
	assert_int_equal(mdb_cursor_open(txn, tails, &cur), 0);
	while (!mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		const uint8_t *p = v.mv_data;
		uint32_t first = wire_get_be32(p);

		for (size_t i = 0; i < (v.mv_size - 4) / 8; i++) {
			uint8_t sk[64];
			MDB_val skey = { k.mv_size + 5, sk }, sval = { 8, (void *)(p + 4 + 8 * i) };

			memcpy(sk, k.mv_data, k.mv_size);
			sk[k.mv_size] = 0;
			wire_put_be32(sk + k.mv_size + 1, first + (uint32_t)i);
			assert_int_equal(mdb_put(txn, streams, &skey, &sval, MDB_NOOVERWRITE), 0);
		}
	}
	mdb_cursor_close(cur);
	assert_int_equal(mdb_drop(txn, tails, 1), 0);
}

/* A household's record of cases is keyed by its anchor then its key (schema
 * 6); before, by its key alone. */
#define ANCHORED_LEN (EVLOG_ANCHOR_LEN + WIRE_HASH_LEN)

/* Directories before schema 5 kept the data keys in "keys": move those of
 * households (household key, then platform id) there. */
static void split_keys(MDB_txn *txn)
{
	MDB_dbi households, keys;
	MDB_cursor *cur;
	MDB_val k, v;

	assert_int_equal(mdb_dbi_open(txn, "households", 0, &households), 0);
	assert_int_equal(mdb_dbi_open(txn, "keys", MDB_CREATE, &keys), 0);
	assert_int_equal(mdb_cursor_open(txn, households, &cur), 0);
	for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); !rc;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size == WIRE_HASH_LEN)
			continue;
		assert_int_equal(mdb_put(txn, keys, &k, &v, MDB_NOOVERWRITE), 0);
		assert_int_equal(mdb_cursor_del(cur, 0), 0);
	}
	mdb_cursor_close(cur);
}

static void set_schema(MDB_txn *txn, uint8_t schema)
{
	uint8_t version[4] = { 0, 0, 0, schema };
	MDB_val k = { 14, "schema_version" }, v = { 4, version };
	MDB_dbi meta;

	assert_int_equal(mdb_dbi_open(txn, "meta", 0, &meta), 0);
	assert_int_equal(mdb_put(txn, meta, &k, &v, 0), 0);
}

/* Make the directory's layout that of schema (2 to 5), with stream_tails or
 * without. */
static void downgrade(MDB_txn *txn, uint8_t schema, bool tails)
{
	if (!tails)
		fold_tails(txn);
	assert_int_equal(fixture_unanchor_txn(txn), 0);
	if (schema < 5)
		split_keys(txn);
	set_schema(txn, schema);
}

/* The data keys (records keyed by more than a household's prefix of
 * `prefix` bytes) in database name; -1 when there is no such database. */
static int raw_data_keys(const char *name, size_t prefix)
{
	MDB_env *env;
	MDB_txn *raw;
	MDB_dbi dbi;
	MDB_cursor *cur;
	MDB_val k, v;
	int n = -1;

	raw_open("meta", &env, &raw, &dbi);
	if (!mdb_dbi_open(raw, name, 0, &dbi)) {
		assert_int_equal(mdb_cursor_open(raw, dbi, &cur), 0);
		for (n = 0; !mdb_cursor_get(cur, &k, &v, MDB_NEXT); )
			n += k.mv_size > prefix;
		mdb_cursor_close(cur);
	}
	raw_close(env, raw);
	return n;
}

struct unwrap {
	struct evlog_txn *txn;
	int n;
};

static int unwrap_one(void *arg, const uint8_t *hk, const char *platform, uint64_t at)
{
	struct unwrap *u = arg;
	struct vault_key k;

	(void)at;
	assert_string_equal(platform, "vaulx-bron");
	assert_int_equal(vault_get(u->txn, hk, platform, 0, &k), 0);
	vault_key_wipe(&k);
	u->n++;
	return 0;
}

/* Open the directory, read-only or not, with its key-encryption key: the
 * number of its data keys, each of which unwraps; and its models compare
 * equal to a rebuild's. */
static int unwrap_all(bool readonly)
{
	struct verify_report rep;
	struct unwrap u = { .n = 0 };
	struct evlog *log;
	struct kek *kek;
	char err[256];

	assert_int_equal(evlog_open(dir, 16 << 20, readonly, &log, err, sizeof(err)), 0);
	assert_int_equal(kek_open(dir, cfg.master_key, 1, &kek, err, sizeof(err)), 0);
	evlog_attach_kek(log, kek);
	assert_int_equal(evlog_txn_begin(log, false, &u.txn), 0);
	assert_int_equal(evlog_datakey_scan(u.txn, unwrap_one, &u), 0);
	evlog_txn_abort(u.txn);
	assert_int_equal(verify_models(log, "/tmp", &rep), 0);
	fixture_log_close(log, kek);
	return u.n;
}

/* A directory of schema 2 kept the idempotency records in "commands", keyed
 * by command id: made here from this one, then upgraded by a writable open
 * (the server's), which a read-only open (maillage-admin) asks for. */
static void downgrade_to_schema_2(void)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi log, old;
	MDB_cursor *cur;
	MDB_val k, v, ok, ov;

	raw_open("command_log", &env, &txn, &log);
	assert_int_equal(mdb_dbi_open(txn, "commands", MDB_CREATE, &old), 0);
	assert_int_equal(mdb_cursor_open(txn, log, &cur), 0);
	while (!mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		ok = (MDB_val){ 16, v.mv_data };
		ov = (MDB_val){ v.mv_size - 16, (uint8_t *)v.mv_data + 16 };
		assert_int_equal(mdb_put(txn, old, &ok, &ov, 0), 0);
	}
	mdb_cursor_close(cur);
	assert_int_equal(mdb_drop(txn, log, 1), 0);
	downgrade(txn, 2, false);
	raw_close(env, txn);
}

static void test_upgrade_from_schema_2(void **state)
{
	struct evlog *log;
	struct evlog_txn *txn;
	ml_command_record *rec;
	uint8_t id[16] = { 3 };
	char err[256], fault[512];
	MDB_env *env;
	MDB_txn *raw;
	MDB_dbi dbi;

	(void)state;
	downgrade_to_schema_2();
	assert_int_equal(evlog_open(dir, 16 << 20, true, &log, err, sizeof(err)), ML_ESCHEMA);
	assert_non_null(strstr(err, "start the server once on it to upgrade it"));
	assert_int_equal(evlog_open(dir, 16 << 20, false, &log, err, sizeof(err)), 0);
	assert_int_equal(evlog_txn_begin(log, false, &txn), 0);
	assert_int_equal(evlog_command_get(txn, id, &rec), 0);
	assert_int_equal(rec->result->first_position, 3);
	wire_free(rec);
	id[0] = 9;
	assert_int_equal(evlog_command_get(txn, id, &rec), ML_ENOTFOUND);
	evlog_txn_abort(txn);
	evlog_close(log);
	raw_open("meta", &env, &raw, &dbi);
	assert_int_equal(mdb_dbi_open(raw, "commands", 0, &dbi), MDB_NOTFOUND);
	raw_close(env, raw);
	assert_int_equal(verify(fault, sizeof(fault)), 0);
	/* The data keys moved from keys into households, and unwrap. */
	assert_int_equal(raw_data_keys("keys", WIRE_HASH_LEN), -1);
	assert_int_equal(raw_data_keys("households", ANCHORED_LEN), 5);
	assert_int_equal(unwrap_all(true), 5);
}

/* Every case's version 1 at its position, and n entries in all. */
static void check_streams(bool readonly, uint64_t n)
{
	struct evlog *log;
	struct evlog_txn *txn;
	uint64_t pos, count;
	char err[256];

	assert_int_equal(evlog_open(dir, 16 << 20, readonly, &log, err, sizeof(err)), 0);
	assert_int_equal(evlog_txn_begin(log, false, &txn), 0);
	for (uint32_t i = 1; i <= 5; i++) {
		char id[32];

		snprintf(id, sizeof(id), "VNX-2026-%06u", i);
		assert_int_equal(evlog_stream_get(txn, id, 1, &pos), 0);
		assert_int_equal(pos, i);
	}
	assert_int_equal(evlog_stream_count(txn, &count), 0);
	assert_int_equal(count, n);
	evlog_txn_abort(txn);
	evlog_close(log);
}

static uint32_t schema_version(void)
{
	MDB_env *env;
	MDB_txn *raw;
	MDB_dbi dbi;
	MDB_val k = { 14, "schema_version" }, v;
	uint32_t version;

	raw_open("meta", &env, &raw, &dbi);
	assert_int_equal(mdb_get(raw, dbi, &k, &v), 0);
	assert_int_equal(v.mv_size, 4);
	version = wire_get_be32(v.mv_data);
	raw_close(env, raw);
	return version;
}

struct seen_versions {
	uint32_t v[4];
	size_t n;
};

static int note_version(void *arg, const ml_event *ev, const uint8_t *raw, size_t len)
{
	struct seen_versions *s = arg;

	(void)raw;
	(void)len;
	if (s->n == 4)
		return ML_EINTERNAL;
	s->v[s->n++] = ev->case_version;
	return 0;
}

/* A directory of schema 3 had every event in streams, no stream_tails: a
 * read-only open (maillage-admin, a backup's check) reads it as it is, a
 * writable open upgrades it. Then a case's next event starts its tail after
 * its versions in streams. A version 4 directory without stream_tails is
 * refused. */
static void test_upgrade_from_schema_3(void **state)
{
	struct evlog *log;
	struct evlog_txn *txn;
	struct kek *kek;
	struct seen_versions seen = { .n = 0 };
	char err[256], fault[512];
	MDB_env *env;
	MDB_txn *raw;
	MDB_dbi dbi;

	(void)state;
	raw_open("meta", &env, &raw, &dbi);
	downgrade(raw, 3, false);
	raw_close(env, raw);
	check_streams(true, 5);
	assert_int_equal(verify(fault, sizeof(fault)), 0);
	assert_int_equal(schema_version(), 3);
	assert_int_equal(raw_data_keys("keys", WIRE_HASH_LEN), 5);
	assert_int_equal(unwrap_all(true), 5);
	check_streams(false, 5);
	assert_int_equal(schema_version(), EVLOG_SCHEMA_VERSION);
	assert_int_equal(raw_data_keys("keys", WIRE_HASH_LEN), -1);
	assert_int_equal(raw_data_keys("households", ANCHORED_LEN), 5);
	assert_int_equal(unwrap_all(true), 5);

	/* Case 2 continues: version 1 in streams, version 2 in a new tail. */
	assert_int_equal(fixture_log_open(dir, 16 << 20, &cfg, 1, &log, &kek), 0);
	assert_int_equal(evlog_txn_begin(log, true, &txn), 0);
	assert_int_equal(withdraw(txn, "VNX-2026-000002"), 0);
	assert_int_equal(evlog_txn_commit(txn), 0);
	assert_int_equal(evlog_txn_begin(log, false, &txn), 0);
	assert_int_equal(evlog_stream_scan(txn, "VNX-2026-000002", 1, note_version, &seen), 0);
	evlog_txn_abort(txn);
	fixture_log_close(log, kek);
	assert_int_equal(seen.n, 2);
	assert_int_equal(seen.v[0], 1);
	assert_int_equal(seen.v[1], 2);
	assert_int_equal(verify(fault, sizeof(fault)), 0);

	raw_open("meta", &env, &raw, &dbi);
	downgrade(raw, 4, false);
	raw_close(env, raw);
	assert_int_equal(evlog_open(dir, 16 << 20, true, &log, err, sizeof(err)), ML_ESCHEMA);
	assert_non_null(strstr(err, "no 'stream_tails' database"));
	check_streams(false, 6);     /* a writable open makes it again */
	assert_int_equal(verify(fault, sizeof(fault)), 0);
}

/* evlog_open() refuses the directory with a message holding expect. */
static void expect_refused(bool readonly, int code, const char *expect)
{
	struct evlog *log = NULL;
	char err[256] = "";

	assert_int_equal(evlog_open(dir, 16 << 20, readonly, &log, err, sizeof(err)), code);
	if (!strstr(err, expect))
		fail_msg("expected '%s' in '%s'", expect, err);
}

/* Put (value not NULL) or delete key k in database name, made if needed. */
static void raw_change(const char *name, MDB_val k, const char *value)
{
	MDB_env *env;
	MDB_txn *raw;
	MDB_dbi dbi;
	MDB_val v = { value ? strlen(value) : 0, (void *)value };

	raw_open("meta", &env, &raw, &dbi);
	assert_int_equal(mdb_dbi_open(raw, name, MDB_CREATE, &dbi), 0);
	assert_int_equal(value ? mdb_put(raw, dbi, &k, &v, 0) : mdb_del(raw, dbi, &k, NULL), 0);
	raw_close(env, raw);
}

/* verify_models on dir, opened read-only: its code, the fault in fault. */
static int models_fault(char *fault, size_t len)
{
	struct verify_report rep;
	struct evlog *log;
	char err[256];
	int rc;

	assert_int_equal(evlog_open(dir, 16 << 20, true, &log, err, sizeof(err)), 0);
	rc = verify_models(log, "/tmp", &rep);
	snprintf(fault, len, "%s", rep.fault);
	evlog_close(log);
	return rc;
}

/* Take the first record of households (a household's: before schema 5
 * there is nothing else) out, its key and value saved in key, val, *vlen
 * (room on entry); put_back puts them back. */
static void household_row_swap(uint8_t *key, uint8_t *val, size_t *vlen, bool put_back)
{
	MDB_val k = { WIRE_HASH_LEN, key }, v;
	MDB_cursor *cur;
	MDB_env *env;
	MDB_txn *raw;
	MDB_dbi dbi;

	raw_open("households", &env, &raw, &dbi);
	if (put_back) {
		v = (MDB_val){ *vlen, val };
		assert_int_equal(mdb_put(raw, dbi, &k, &v, MDB_NOOVERWRITE), 0);
	} else {
		assert_int_equal(mdb_cursor_open(raw, dbi, &cur), 0);
		assert_int_equal(mdb_cursor_get(cur, &k, &v, MDB_FIRST), 0);
		assert_int_equal(k.mv_size, WIRE_HASH_LEN);
		assert_true(v.mv_size <= *vlen);
		memcpy(key, k.mv_data, WIRE_HASH_LEN);
		memcpy(val, v.mv_data, v.mv_size);
		*vlen = v.mv_size;
		assert_int_equal(mdb_cursor_del(cur, 0), 0);
		mdb_cursor_close(cur);
	}
	raw_close(env, raw);
}

/* A directory of schema 4 kept the data keys in keys: a read-only open reads
 * them there; a writable one moves them into households and drops keys, all
 * or nothing. A schema 5 directory with keys, a schema 4 one without, are
 * refused. */
static void test_upgrade_from_schema_4(void **state)
{
	uint8_t hk[WIRE_HASH_LEN];
	MDB_val bad = { WIRE_HASH_LEN, hk };
	char fault[512];
	MDB_env *env;
	MDB_txn *raw;
	MDB_dbi dbi;

	(void)state;
	memset(hk, 0xff, sizeof(hk));     /* sorts after every data key */
	raw_open("meta", &env, &raw, &dbi);
	downgrade(raw, 4, true);
	raw_close(env, raw);
	assert_int_equal(raw_data_keys("keys", WIRE_HASH_LEN), 5);
	assert_int_equal(raw_data_keys("households", WIRE_HASH_LEN), 0);
	assert_int_equal(unwrap_all(true), 5);
	assert_int_equal(verify(fault, sizeof(fault)), 0);
	assert_int_equal(models_fault(fault, sizeof(fault)), 0);

	/* verify names a data key of keys whose household lost its record (the
	 * first household: every household of the fixture has a data key). */
	{
		uint8_t key[WIRE_HASH_LEN], val[1024];
		size_t vlen = sizeof(val);

		household_row_swap(key, val, &vlen, false);
		assert_int_equal(models_fault(fault, sizeof(fault)), ML_ECORRUPT);
		assert_int_equal(strncmp(fault, "keys: data key of household ", 28), 0);
		assert_non_null(strstr(fault, " has no household record"));
		household_row_swap(key, val, &vlen, true);
	}

	/* An upgrade that fails half-way (the last record of keys is no data
	 * key's: every data key was copied before it) leaves schema 4 as it
	 * was. */
	raw_change("keys", bad, "x");
	assert_int_equal(models_fault(fault, sizeof(fault)), ML_ECORRUPT);
	assert_string_equal(fault, "keys: a record whose key of 32 bytes is no data key's");
	expect_refused(false, ML_ECORRUPT, "cannot upgrade");
	expect_refused(false, ML_ECORRUPT, "record 6 of keys (key ffffffff");
	assert_int_equal(schema_version(), 4);
	assert_int_equal(raw_data_keys("keys", WIRE_HASH_LEN), 5);
	assert_int_equal(raw_data_keys("households", WIRE_HASH_LEN), 0);
	raw_change("keys", bad, NULL);

	assert_int_equal(unwrap_all(false), 5);
	assert_int_equal(schema_version(), EVLOG_SCHEMA_VERSION);
	assert_int_equal(raw_data_keys("keys", WIRE_HASH_LEN), -1);
	assert_int_equal(raw_data_keys("households", ANCHORED_LEN), 5);
	assert_int_equal(verify(fault, sizeof(fault)), 0);
	assert_int_equal(unwrap_all(true), 5);

	/* A record of households that is neither kind is named. */
	raw_change("households", (MDB_val){ 5, "short" }, "x");
	assert_int_equal(models_fault(fault, sizeof(fault)), ML_ECORRUPT);
	assert_string_equal(fault, "households: a record whose key of 5 bytes is neither a "
			    "household's nor a data key's");
	raw_change("households", (MDB_val){ 5, "short" }, NULL);

	/* keys again (one record, then empty): refused, read-only or not. */
	raw_change("keys", bad, "x");
	raw_change("keys", bad, NULL);
	expect_refused(true, ML_ESCHEMA, "has a 'keys' database in schema 6 (data keys "
		       "belong in 'households')");
	expect_refused(false, ML_ESCHEMA, "has a 'keys' database in schema 6 (data keys "
		       "belong in 'households')");
	raw_open("keys", &env, &raw, &dbi);
	assert_int_equal(mdb_drop(raw, dbi, 1), 0);
	set_schema(raw, 4);
	raw_close(env, raw);
	expect_refused(true, ML_ESCHEMA, "(no 'keys' database in schema 4)");
	expect_refused(false, ML_ESCHEMA, "(no 'keys' database in schema 4)");
	raw_open("meta", &env, &raw, &dbi);
	set_schema(raw, EVLOG_SCHEMA_VERSION);
	raw_close(env, raw);
	assert_int_equal(unwrap_all(false), 5);
}

/* A byte changed inside event 2's body: event 3 no longer chains to it. */
static void test_flipped_byte(void **state)
{
	uint8_t saved[4096];
	size_t len;
	char fault[512];

	(void)state;
	flip_event_byte(2, 3, saved, &len);
	assert_int_equal(verify(fault, sizeof(fault)), ML_ECORRUPT);
	if (!strstr(fault, "position 3") && !strstr(fault, "position 2"))
		fail_msg("fault does not locate the damage: %s", fault);
	restore_event(2, saved, len);
	assert_int_equal(verify(fault, sizeof(fault)), 0);
}

/* A forged prev_hash in event 4: the chain is broken exactly there. */
static void test_broken_chain(void **state)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	uint8_t kbuf[8], saved[4096];
	MDB_val k = pos_key(kbuf, 4), v;
	ml_event *ev;
	uint8_t *packed;
	size_t len, saved_len;
	char fault[512];

	(void)state;
	raw_open("events", &env, &txn, &dbi);
	assert_int_equal(mdb_get(txn, dbi, &k, &v), 0);
	memcpy(saved, v.mv_data, v.mv_size);
	saved_len = v.mv_size;
	ev = wire_event_unpack(v.mv_data, v.mv_size);
	assert_non_null(ev);
	ev->prev_hash.data[0] ^= 0xff;
	assert_int_equal(wire_pack(ev, &packed, &len), 0);
	v.mv_data = packed;
	v.mv_size = len;
	assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	raw_close(env, txn);
	free(packed);
	wire_free(ev);
	assert_int_equal(verify(fault, sizeof(fault)), ML_ECORRUPT);
	assert_non_null(strstr(fault, "position 4: prev_hash does not match"));
	restore_event(4, saved, saved_len);
}

/* Deleting an index entry is found too. */
static void delete_and_verify(const char *db, MDB_val key, const char *expect)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	char fault[512];

	raw_open(db, &env, &txn, &dbi);
	assert_int_equal(mdb_del(txn, dbi, &key, NULL), 0);
	raw_close(env, txn);
	assert_int_equal(verify(fault, sizeof(fault)), ML_ECORRUPT);
	if (!strstr(fault, expect))
		fail_msg("expected '%s' in '%s'", expect, fault);
}

static void test_missing_streams_entry(void **state)
{
	uint8_t key[] = "VNX-2026-000003\0\0\0\0\1";

	(void)state;
	delete_and_verify("streams", (MDB_val){ sizeof(key) - 1, key },
			  "position 3: no streams entry for case 'VNX-2026-000003'");
}

/* Put value under case_id in stream_tails (NULL: delete it). */
static void put_tail(const char *case_id, const void *value, size_t len)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k = { strlen(case_id), (void *)case_id }, v = { len, (void *)value };

	raw_open("stream_tails", &env, &txn, &dbi);
	assert_int_equal(value ? mdb_put(txn, dbi, &k, &v, 0) : mdb_del(txn, dbi, &k, NULL), 0);
	raw_close(env, txn);
}

/* Every key of households begins with its household's anchor: the
 * position of its case's first event (the fixture's case i is at position
 * i, one household each); n households. */
static void check_anchors(int n)
{
	MDB_env *env;
	MDB_txn *raw;
	MDB_dbi dbi;
	MDB_cursor *cur;
	MDB_val k, v;
	uint64_t last = 0;
	int households = 0;

	raw_open("households", &env, &raw, &dbi);
	assert_int_equal(mdb_cursor_open(raw, dbi, &cur), 0);
	while (!mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		uint64_t at = evlog_get_be64(k.mv_data);

		assert_true(k.mv_size >= ANCHORED_LEN);
		if (k.mv_size == ANCHORED_LEN) {
			ml_household_cases *hc = wire_household_cases_unpack(v.mv_data,
									     v.mv_size);
			char first[32];

			assert_non_null(hc);
			snprintf(first, sizeof(first), "VNX-2026-%06llu", (unsigned long long)at);
			assert_string_equal(hc->case_ids[0], first);
			wire_free(hc);
			assert_true(at > last);
			households++;
		}
		last = at;
	}
	mdb_cursor_close(cur);
	raw_close(env, raw);
	assert_int_equal(households, n);
}

/* A directory of schema 5 keyed households by household key: a read-only
 * open reads it as it is (and its models compare equal to a rebuild's, which
 * has anchors); a writable one re-keys every row with its household's
 * anchor, all or nothing: a record of cases that lists no case stops it. */
static void test_upgrade_from_schema_5(void **state)
{
	uint8_t hk[WIRE_HASH_LEN];
	char fault[512];
	MDB_env *env;
	MDB_txn *raw;
	MDB_dbi dbi;

	(void)state;
	check_anchors(5);
	raw_open("meta", &env, &raw, &dbi);
	downgrade(raw, 5, true);
	raw_close(env, raw);
	assert_int_equal(raw_data_keys("households", WIRE_HASH_LEN), 5);
	assert_int_equal(unwrap_all(true), 5);
	assert_int_equal(verify(fault, sizeof(fault)), 0);
	assert_int_equal(models_fault(fault, sizeof(fault)), 0);

	/* A household with no case (its key sorts last) stops the upgrade. */
	memset(hk, 0xff, sizeof(hk));
	raw_change("households", (MDB_val){ WIRE_HASH_LEN, hk }, "");
	expect_refused(false, ML_ECORRUPT, "cannot upgrade");
	expect_refused(false, ML_ECORRUPT, "it lists no case");
	assert_int_equal(schema_version(), 5);
	assert_int_equal(raw_data_keys("households", WIRE_HASH_LEN), 5);
	/* ...and so does one whose case has no event. */
	raw_change("households", (MDB_val){ WIRE_HASH_LEN, hk }, "\x0a\x04NOPE");
	expect_refused(false, ML_ECORRUPT, "its case 'NOPE' has no first event");
	assert_int_equal(schema_version(), 5);
	raw_change("households", (MDB_val){ WIRE_HASH_LEN, hk }, NULL);

	assert_int_equal(unwrap_all(false), 5);
	assert_int_equal(schema_version(), EVLOG_SCHEMA_VERSION);
	check_anchors(5);
	assert_int_equal(raw_data_keys("households", ANCHORED_LEN), 5);
	assert_int_equal(verify(fault, sizeof(fault)), 0);
	assert_int_equal(models_fault(fault, sizeof(fault)), 0);
}

/* A tail record that does not decode, of a case whose events are all in
 * streams: found by the count. */
static void test_malformed_tail_counted(void **state)
{
	uint8_t bad[5] = { 0, 0, 0, 2, 9 };
	char fault[512];

	(void)state;
	put_tail("VNX-2026-000003", bad, sizeof(bad));
	assert_int_equal(verify(fault, sizeof(fault)), ML_ECORRUPT);
	assert_string_equal(fault, "a stream_tails record does not decode");
	put_tail("VNX-2026-000003", NULL, 0);      /* removed */
	assert_int_equal(verify(fault, sizeof(fault)), 0);
}

/* An event in its case's tail (a sixth referral, position 7): its tail
 * altered, then lost. */
static void test_missing_tail_entry(void **state)
{
	uint8_t key[] = "VNX-2026-000006", bad[13] = { 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 7 };
	char fault[512];

	(void)state;
	assert_int_equal(add_referrals(5, 6), 0);
	put_tail("VNX-2026-000006", bad, sizeof(bad));     /* 4 + 9 bytes */
	assert_int_equal(verify(fault, sizeof(fault)), ML_ECORRUPT);
	assert_string_equal(fault, "position 7: the streams index of case 'VNX-2026-000006' "
			    "does not decode (streams or stream_tails)");
	delete_and_verify("stream_tails", (MDB_val){ sizeof(key) - 1, key },
			  "position 7: no streams entry for case 'VNX-2026-000006'");
}

static void test_missing_command_record(void **state)
{
	uint8_t seq[8] = { 0, 0, 0, 0, 0, 0, 0, 2 };      /* the second command's record */

	(void)state;
	delete_and_verify("command_log", (MDB_val){ 8, seq },
			  "position 2: its command has no idempotency record");
}

/* Rebuild the models of dir in place, as maillage-admin rebuild does; they
 * then equal a rebuild elsewhere. */
static void rebuild_in_place(void)
{
	struct verify_report rep;
	struct evlog_txn *txn;
	struct evlog *log;
	char err[256];

	assert_int_equal(evlog_open(dir, 16 << 20, false, &log, err, sizeof(err)), 0);
	assert_int_equal(evlog_txn_begin(log, true, &txn), 0);
	assert_int_equal(evlog_models_clear(txn), 0);
	assert_int_equal(models_rebuild(txn, txn), 0);
	assert_int_equal(evlog_txn_commit(txn), 0);
	assert_int_equal(verify_models(log, "/tmp", &rep), 0);
	evlog_close(log);
}

/* Move every row of households whose anchor is `from` to anchor `to`, or
 * its data keys only (raw LMDB). */
static void move_anchor(uint64_t from, uint64_t to, bool keys_only)
{
	MDB_env *env;
	MDB_txn *raw;
	MDB_dbi dbi;
	MDB_cursor *cur;
	MDB_val k, v;
	uint8_t keys[4][128], vals[4][256];
	size_t klen[4], vlen[4], n = 0;

	raw_open("households", &env, &raw, &dbi);
	assert_int_equal(mdb_cursor_open(raw, dbi, &cur), 0);
	while (!mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		uint8_t at[8];

		pos_key(at, from);
		if (memcmp(k.mv_data, at, 8) || (keys_only && k.mv_size == ANCHORED_LEN))
			continue;
		assert_true(n < 4 && k.mv_size <= 128 && v.mv_size <= 256);
		memcpy(keys[n], k.mv_data, k.mv_size);
		memcpy(vals[n], v.mv_data, v.mv_size);
		klen[n] = k.mv_size;
		vlen[n++] = v.mv_size;
		assert_int_equal(mdb_cursor_del(cur, 0), 0);
	}
	mdb_cursor_close(cur);
	assert_true(n > 0);
	for (size_t i = 0; i < n; i++) {
		pos_key(keys[i], to);
		k = (MDB_val){ klen[i], keys[i] };
		v = (MDB_val){ vlen[i], vals[i] };
		assert_int_equal(mdb_put(raw, dbi, &k, &v, MDB_NOOVERWRITE), 0);
	}
	raw_close(env, raw);
}

/* verify_models' fault on dir, opened writable or not. */
static void expect_models_fault(bool readonly, const char *expect)
{
	struct verify_report rep;
	struct evlog *log;
	char err[256];

	assert_int_equal(evlog_open(dir, 16 << 20, readonly, &log, err, sizeof(err)), 0);
	assert_int_equal(verify_models(log, "/tmp", &rep), ML_ECORRUPT);
	if (!strstr(rep.fault, expect))
		fail_msg("expected '%s' in '%s'", expect, rep.fault);
	evlog_close(log);
}

/* A household stored under another anchor than the log gives (its record
 * and its data key moved together): verify names it; a rebuild in place,
 * which would put its record back under the right anchor and leave its data
 * key where nothing finds it, is refused and commits nothing. A household
 * record the log does not give is named too. */
static void test_household_under_another_anchor(void **state)
{
	struct evlog_txn *txn;
	struct evlog *log;
	uint8_t key[ANCHORED_LEN];
	char err[256];
	ml_household_cases hc = MAILLAGE__V1__HOUSEHOLD_CASES__INIT;
	char *ids[] = { "VNX-2026-000003" };
	uint8_t packed[64];

	(void)state;
	move_anchor(3, 1000, false);
	expect_models_fault(true, "is under another anchor than the rebuilt one");
	assert_int_equal(evlog_open(dir, 16 << 20, false, &log, err, sizeof(err)), 0);
	assert_int_equal(evlog_txn_begin(log, true, &txn), 0);
	assert_int_equal(evlog_models_clear(txn), 0);
	assert_int_equal(models_rebuild(txn, txn), ML_ECORRUPT);
	evlog_txn_abort(txn);
	evlog_close(log);
	assert_int_equal(raw_data_keys("households", ANCHORED_LEN), 6);
	move_anchor(1000, 3, false);
	assert_int_equal(unwrap_all(true), 6);   /* a sixth referral since setup */
	assert_int_equal(models_fault(err, sizeof(err)), 0);

	/* An extra record (a household key no case has). */
	hc.case_ids = ids;
	hc.n_case_ids = 1;
	assert_true(wire_packed_size(&hc) < sizeof(packed));
	packed[wire_pack_to(&hc, packed)] = 0;
	pos_key(key, 900);
	memset(key + EVLOG_ANCHOR_LEN, 0x42, WIRE_HASH_LEN);
	raw_change("households", (MDB_val){ ANCHORED_LEN, key }, (const char *)packed);
	expect_models_fault(true, "households: the record of household 4242");
	expect_models_fault(true, " is there but the log does not give it");
	raw_change("households", (MDB_val){ ANCHORED_LEN, key }, NULL);
	assert_int_equal(models_fault(err, sizeof(err)), 0);
}

/* The key rotation re-wraps every data key where it is: one away from its
 * household's record (which verify names) is re-wrapped too, not left
 * under a key-encryption key about to be destroyed. */
static void test_rotation_rewraps_a_stray_key(void **state)
{
	struct evlog_txn *txn;
	struct evlog *log;
	struct kek *kek;
	struct vault_key k;
	ml_case *c;
	uint8_t hk[WIRE_HASH_LEN];

	(void)state;
	move_anchor(3, 1000, true);
	assert_int_equal(fixture_log_open(dir, 16 << 20, &cfg, 1, &log, &kek), 0);
	assert_int_equal(evlog_txn_begin(log, true, &txn), 0);
	assert_int_equal(evlog_case_get(txn, "VNX-2026-000003", &c), 0);
	memcpy(hk, c->household_key.data, WIRE_HASH_LEN);
	wire_free(c);
	assert_int_equal(vault_get(txn, hk, "vaulx-bron", 0, &k), ML_ENOTFOUND);
	assert_int_equal(vault_rewrap_all(txn, kek_epoch(kek)), 0);
	assert_int_equal(vault_get_at(txn, 1000, hk, "vaulx-bron", &k), 0);
	vault_key_wipe(&k);
	assert_int_equal(evlog_txn_commit(txn), 0);
	fixture_log_close(log, kek);
	move_anchor(1000, 3, true);
	assert_int_equal(unwrap_all(true), 6);
}

/* Models: a changed case summary and a lost pending entry are found by the
 * rebuild-and-compare; a rebuild puts them right. */
static void test_models_against_a_rebuild(void **state)
{
	struct verify_report rep;
	struct evlog *log;
	MDB_env *env;
	MDB_txn *raw;
	MDB_dbi dbi;
	MDB_val k = { 15, "VNX-2026-000001" }, v;
	uint8_t copy[1024];
	char err[256];

	(void)state;
	raw_open("proj_cases", &env, &raw, &dbi);
	assert_int_equal(mdb_get(raw, dbi, &k, &v), 0);
	memcpy(copy, v.mv_data, v.mv_size);
	copy[v.mv_size - 1] ^= 0x01;
	v.mv_data = copy;
	assert_int_equal(mdb_put(raw, dbi, &k, &v, 0), 0);
	raw_close(env, raw);

	assert_int_equal(evlog_open(dir, 16 << 20, false, &log, err, sizeof(err)), 0);
	assert_int_equal(verify_models(log, "/tmp", &rep), ML_ECORRUPT);
	assert_non_null(strstr(rep.fault, "proj_cases: the value of 'VNX-2026-000001' differs"));
	evlog_close(log);
	rebuild_in_place();
}

/* A data key whose household has lost its record of cases: named by
 * verify_models before any rebuild; a rebuild puts the record back. */
static void test_data_key_without_household(void **state)
{
	struct verify_report rep;
	struct evlog_txn *txn;
	struct evlog *log;
	ml_case *c;
	uint8_t hk[WIRE_HASH_LEN];
	char err[256], expect[256];
	size_t n;
	MDB_env *env;
	MDB_txn *raw;
	MDB_dbi dbi;
	uint8_t key[ANCHORED_LEN];
	MDB_val k = { ANCHORED_LEN, key };

	(void)state;
	assert_int_equal(evlog_open(dir, 16 << 20, true, &log, err, sizeof(err)), 0);
	assert_int_equal(evlog_txn_begin(log, false, &txn), 0);
	assert_int_equal(evlog_case_get(txn, "VNX-2026-000002", &c), 0);
	assert_int_equal(c->household_key.len, WIRE_HASH_LEN);
	memcpy(hk, c->household_key.data, WIRE_HASH_LEN);
	pos_key(key, 2);         /* the household's anchor: its case's first event */
	memcpy(key + EVLOG_ANCHOR_LEN, hk, WIRE_HASH_LEN);
	wire_free(c);
	evlog_txn_abort(txn);
	evlog_close(log);
	n = (size_t)snprintf(expect, sizeof(expect), "households: data key of household ");
	for (size_t i = 0; i < WIRE_HASH_LEN; i++)
		n += (size_t)snprintf(expect + n, sizeof(expect) - n, "%02x", hk[i]);
	snprintf(expect + n, sizeof(expect) - n, " on platform 'vaulx-bron' has no household "
		 "record");

	raw_open("households", &env, &raw, &dbi);
	assert_int_equal(mdb_del(raw, dbi, &k, NULL), 0);
	raw_close(env, raw);
	assert_int_equal(evlog_open(dir, 16 << 20, true, &log, err, sizeof(err)), 0);
	assert_int_equal(verify_models(log, "/tmp", &rep), ML_ECORRUPT);
	assert_string_equal(rep.fault, expect);
	evlog_close(log);

	rebuild_in_place();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_intact),
		cmocka_unit_test(test_upgrade_from_schema_2),
		cmocka_unit_test(test_upgrade_from_schema_3),
		cmocka_unit_test(test_upgrade_from_schema_4),
		cmocka_unit_test(test_upgrade_from_schema_5),
		cmocka_unit_test(test_malformed_tail_counted),
		cmocka_unit_test(test_flipped_byte),
		cmocka_unit_test(test_broken_chain),
		cmocka_unit_test(test_missing_tail_entry),
		cmocka_unit_test(test_missing_streams_entry),
		cmocka_unit_test(test_missing_command_record),
		cmocka_unit_test(test_models_against_a_rebuild),
		cmocka_unit_test(test_data_key_without_household),
		cmocka_unit_test(test_household_under_another_anchor),
		cmocka_unit_test(test_rotation_rewraps_a_stray_key),
	};

	return cmocka_run_group_tests_name("verify", tests, setup, teardown);
}
