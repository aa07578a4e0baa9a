/* test_wire.c - the unpacking arena, copies in it, opening personal fields
 * there, and a history framed from events packed one by one: the same bytes
 * as packing it whole.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "personal.h"
#include "wire.h"

static char case_id[] = "VNX-2026-000042";
static char platform[] = "vaulx-bron";
static char org[] = "ccas-vaulx";
static char date[] = "2026-11-02";

/* A visit of case_id at version, with notes of n 'x' (n > 0) in buf. */
static void make_visit(ml_event *ev, Maillage__V1__VisitRecorded *vr, Maillage__V1__Visit *v,
		       uint32_t version, char *notes, size_t n)
{
	static Maillage__V1__Domain domains[] = { MAILLAGE__V1__DOMAIN__DOMAIN_BUDGET,
						  MAILLAGE__V1__DOMAIN__DOMAIN_HOUSING };
	static uint8_t hash[WIRE_HASH_LEN] = { 1, 2, 3 };

	maillage__v1__event__init(ev);
	maillage__v1__visit_recorded__init(vr);
	maillage__v1__visit__init(v);
	memset(notes, 'x', n);
	notes[n] = 0;
	v->date = date;
	v->mode = MAILLAGE__V1__VISIT_MODE__VISIT_HOME;
	v->domains = domains;
	v->n_domains = 2;
	v->household_present = 1;
	v->notes = notes;
	vr->visit = v;
	ev->position = 1000 + version;
	ev->case_id = case_id;
	ev->case_version = version;
	ev->recorded_at = 1764000000000000LL + version;
	ev->occurred_at = 1764000000000000LL;
	ev->platform = platform;
	ev->actor_org = org;
	ev->prev_hash.data = hash;
	ev->prev_hash.len = sizeof(hash);
	ev->body_case = MAILLAGE__V1__EVENT__BODY_VISIT_RECORDED;
	ev->visit_recorded = vr;
}

static void test_arena_grows_and_releases(void **state)
{
	_Alignas(WIRE_ARENA_ALIGN) uint8_t mem[256];
	struct wire_arena a;
	uint8_t *p[64];

	(void)state;
	memset(mem, 0, sizeof(mem));
	wire_arena_init(&a, mem, sizeof(mem), true);
	for (int round = 0; round < 2; round++) {
		for (size_t i = 0; i < 64; i++) {
			p[i] = wire_arena_alloc(&a, i * 100 + 1);
			assert_non_null(p[i]);
			assert_int_equal((uintptr_t)p[i] % WIRE_ARENA_ALIGN, 0);
			memset(p[i], 0xa5, i * 100 + 1);
		}
		for (size_t i = 1; i < 64; i++)       /* none overlaps another */
			for (size_t j = 0; j < i; j++)
				assert_true(p[j] + j * 100 + 1 <= p[i] || p[i] + i * 100 + 1 <= p[j]);
		assert_true(p[0] >= mem && p[0] < mem + sizeof(mem));
		wire_arena_release(&a);
		for (size_t i = 0; i < sizeof(mem); i++)      /* wiped */
			assert_int_equal(mem[i], 0);
	}
	assert_ptr_equal(wire_arena_alloc(&a, 8), mem);
	wire_arena_release(&a);
}

static void test_unpack_in_arena(void **state)
{
	_Alignas(WIRE_ARENA_ALIGN) uint8_t mem[512];   /* too small: blocks follow */
	Maillage__V1__VisitRecorded vr;
	Maillage__V1__Visit v;
	struct wire_arena a;
	ml_event ev, *got;
	char notes[40000];
	uint8_t *packed, *again;
	size_t len, len2;

	(void)state;
	make_visit(&ev, &vr, &v, 7, notes, sizeof(notes) - 1);
	assert_int_equal(wire_pack(&ev, &packed, &len), 0);
	wire_arena_init(&a, mem, sizeof(mem), false);
	got = wire_event_unpack_in(&a, packed, len);
	assert_non_null(got);
	assert_string_equal(got->visit_recorded->visit->notes, notes);
	assert_int_equal(wire_pack(got, &again, &len2), 0);
	assert_int_equal(len2, len);
	assert_memory_equal(again, packed, len);
	assert_null(wire_event_unpack_in(&a, packed, len - 1));      /* truncated */
	wire_arena_release(&a);
	free(again);
	free(packed);
}

static void test_copy_in_is_independent(void **state)
{
	_Alignas(WIRE_ARENA_ALIGN) uint8_t mem[4096];
	Maillage__V1__VisitRecorded vr;
	Maillage__V1__Visit v;
	struct wire_arena a;
	ml_event ev, *copy;
	char notes[16], other[] = "autre chose";
	uint8_t *before, *after, *copied;
	size_t len, len2, len3;

	(void)state;
	make_visit(&ev, &vr, &v, 3, notes, 5);
	assert_int_equal(wire_pack(&ev, &before, &len), 0);
	wire_arena_init(&a, mem, sizeof(mem), false);
	copy = wire_copy_in(&a, &ev);
	assert_non_null(copy);
	assert_ptr_not_equal(copy->visit_recorded, &vr);
	assert_ptr_not_equal(copy->visit_recorded->visit, &v);
	assert_int_equal(wire_pack(copy, &copied, &len3), 0);
	assert_int_equal(len3, len);
	assert_memory_equal(copied, before, len);
	copy->visit_recorded->visit->notes = other;
	copy->case_version = 4;
	assert_int_equal(wire_pack(&ev, &after, &len2), 0);   /* the original is untouched */
	assert_int_equal(len2, len);
	assert_memory_equal(after, before, len);
	assert_string_equal(v.notes, "xxxxx");
	wire_arena_release(&a);
	free(before);
	free(after);
	free(copied);
}

/* Seal ev's personal fields with k and return its stored bytes. */
static void seal_and_pack(ml_event *ev, const struct vault_key *k, uint8_t **out, size_t *len)
{
	struct personal_taken t;

	assert_int_equal(personal_seal(ev, k, &t), 0);
	assert_int_equal(wire_pack(ev, out, len), 0);
	personal_restore(ev, &t);
}

/* As a history reads raw: unpacked into a (*stored), copied into b (which
 * may be a) and the copy opened there with k; returns the copy. */
static ml_event *open_copy(struct wire_arena *a, struct wire_arena *b, const uint8_t *raw,
			   size_t rawlen, const struct vault_key *k, ml_event **stored)
{
	ml_event *copy;

	*stored = wire_event_unpack_in(a, raw, rawlen);
	assert_non_null(*stored);
	copy = wire_copy_in(b, *stored);
	assert_non_null(copy);
	assert_int_equal(personal_open_in(copy, k, b), 0);
	return copy;
}

static void test_open_in_arena_as_with_malloc(void **state)
{
	_Alignas(WIRE_ARENA_ALIGN) uint8_t mem[4096], mem2[64];
	Maillage__V1__VisitRecorded vr;
	Maillage__V1__Visit v;
	struct vault_key k = { .id = { 1, 2, 3, 4, 5, 6, 7, 8 } }, other = k;
	struct wire_arena a, b;
	ml_event ev, *stored, *copy, *opened;
	char notes[300];
	uint8_t *raw, *want, *got;
	size_t rawlen, wantlen, gotlen;

	(void)state;
	memset(mem2, 0, sizeof(mem2));
	memset(k.key, 7, sizeof(k.key));
	other.id[0] = 9;
	make_visit(&ev, &vr, &v, 12, notes, 200);
	seal_and_pack(&ev, &k, &raw, &rawlen);
	for (int erased = 0; erased < 2; erased++) {
		const struct vault_key *key = erased ? &other : &k;

		opened = wire_event_unpack(raw, rawlen);
		assert_non_null(opened);
		assert_non_null(opened->sealed);
		assert_int_equal(personal_open(opened, key), 0);
		assert_int_equal(wire_pack(opened, &want, &wantlen), 0);

		wire_arena_init(&a, mem, sizeof(mem), false);
		wire_arena_init(&b, mem2, sizeof(mem2), true);
		copy = open_copy(&a, &b, raw, rawlen, key, &stored);
		assert_null(copy->sealed);
		assert_non_null(stored->sealed);                       /* untouched */
		assert_string_equal(stored->visit_recorded->visit->notes, "");
		assert_string_equal(copy->visit_recorded->visit->notes,
				    erased ? PERSONAL_ERASED : notes);
		assert_int_equal(wire_pack(copy, &got, &gotlen), 0);
		assert_int_equal(gotlen, wantlen);
		assert_memory_equal(got, want, wantlen);
		wire_arena_release(&b);
		for (size_t i = 0; i < sizeof(mem2); i++)
			assert_int_equal(mem2[i], 0);
		wire_arena_release(&a);
		free(got);
		free(want);
		wire_free(opened);
	}
	free(raw);
}

/* A history of n visits (notes of 1 to 300 bytes) of case id framed whole
 * and framed from a wire_list: the same bytes. */
static void check_history(size_t n, uint32_t next_version, bool as_of, char *id)
{
	ml_response resp = MAILLAGE__V1__RESPONSE__INIT;
	Maillage__V1__Status status = MAILLAGE__V1__STATUS__INIT;
	Maillage__V1__CaseHistory h = MAILLAGE__V1__CASE_HISTORY__INIT;
	ml_case summary = MAILLAGE__V1__CASE_SUMMARY__INIT;
	ml_event *evs = calloc(n + 1, sizeof(*evs)), **ptrs = calloc(n + 1, sizeof(*ptrs));
	Maillage__V1__VisitRecorded *vrs = calloc(n + 1, sizeof(*vrs));
	Maillage__V1__Visit *vs = calloc(n + 1, sizeof(*vs));
	char (*notes)[301] = calloc(n + 1, sizeof(*notes));
	struct wire_list l = { 0 };
	uint8_t *want, *got;
	size_t wantlen, gotlen;

	assert_true(evs && ptrs && vrs && vs && notes);
	summary.case_id = id;
	summary.version = (uint32_t)n;
	resp.request_id = 300;
	resp.status = &status;
	h.case_id = id;
	h.next_version = next_version;
	h.as_of = as_of ? &summary : NULL;
	for (size_t i = 0; i < n; i++) {
		make_visit(&evs[i], &vrs[i], &vs[i], (uint32_t)i + 1, notes[i], 1 + i * 37 % 300);
		ptrs[i] = &evs[i];
		assert_int_equal(wire_list_add_event(&l, &evs[i]), 0);
	}
	resp.result_case = MAILLAGE__V1__RESPONSE__RESULT_HISTORY;
	resp.history = &h;
	assert_int_equal(wire_pack_frame_history(&resp, &l, &got, &gotlen), 0);
	h.events = ptrs;
	h.n_events = n;
	assert_int_equal(wire_pack_frame(&resp, &want, &wantlen), 0);
	assert_int_equal(gotlen, wantlen);
	assert_memory_equal(got, want, wantlen);
	wire_list_release(&l);
	assert_null(l.buf);
	free(want);
	free(got);
	free(notes);
	free(vs);
	free(vrs);
	free(ptrs);
	free(evs);
}

static void test_history_frame_as_packed_whole(void **state)
{
	(void)state;
	char long_id[300];

	memset(long_id, 'L', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = 0;
	check_history(0, 0, false, case_id);
	check_history(0, 0, true, case_id);
	check_history(1, 0, true, case_id);
	check_history(3, 4, true, case_id);
	check_history(1000, 0, true, case_id);   /* the list grows; lengths of 3 bytes */
	check_history(20, 21, false, case_id);
	check_history(5, 0, true, long_id);      /* no room in front: a new buffer */
	check_history(0, 0, true, long_id);
}

/* The frame of a history holding ev (a copy of stored, the event stored as
 * raw), packed whole or, from raw, by wire_list_add_stored_event(): the same
 * bytes. True when the stored bytes were used (the fast path). */
static bool check_stored(const ml_event *ev, const ml_event *stored, const uint8_t *raw,
			 size_t rawlen)
{
	ml_response resp = MAILLAGE__V1__RESPONSE__INIT;
	Maillage__V1__Status status = MAILLAGE__V1__STATUS__INIT;
	Maillage__V1__CaseHistory h = MAILLAGE__V1__CASE_HISTORY__INIT;
	struct wire_list whole = { 0 }, from_raw = { 0 };
	uint8_t *want, *got;
	size_t wantlen, gotlen;
	bool fast;

	resp.status = &status;
	resp.result_case = MAILLAGE__V1__RESPONSE__RESULT_HISTORY;
	resp.history = &h;
	h.case_id = case_id;
	assert_int_equal(wire_list_add_event(&whole, ev), 0);
	assert_int_equal(whole.n_stored, 0);
	assert_int_equal(wire_list_add_stored_event(&from_raw, ev, stored, raw, rawlen), 0);
	assert_int_equal(from_raw.n, 1);
	fast = from_raw.n_stored == 1;
	assert_int_equal(wire_pack_frame_history(&resp, &whole, &want, &wantlen), 0);
	assert_int_equal(wire_pack_frame_history(&resp, &from_raw, &got, &gotlen), 0);
	assert_int_equal(gotlen, wantlen);
	assert_memory_equal(got, want, wantlen);
	free(want);
	free(got);
	return fast;
}

/* The event the history frame of ev sends, decoded (free it with wire_free()). */
static ml_event *sent_event(const ml_event *ev, const ml_event *stored, const uint8_t *raw,
			    size_t rawlen)
{
	ml_response resp = MAILLAGE__V1__RESPONSE__INIT, *back;
	Maillage__V1__Status status = MAILLAGE__V1__STATUS__INIT;
	Maillage__V1__CaseHistory h = MAILLAGE__V1__CASE_HISTORY__INIT;
	struct wire_list l = { 0 };
	ml_event *sent;
	uint8_t *frame;
	size_t len;

	resp.status = &status;
	resp.result_case = MAILLAGE__V1__RESPONSE__RESULT_HISTORY;
	resp.history = &h;
	h.case_id = case_id;
	assert_int_equal(wire_list_add_stored_event(&l, ev, stored, raw, rawlen), 0);
	assert_int_equal(wire_pack_frame_history(&resp, &l, &frame, &len), 0);
	back = maillage__v1__response__unpack(NULL, len - WIRE_FRAME_HEADER,
					      frame + WIRE_FRAME_HEADER);
	assert_non_null(back);
	assert_int_equal(back->result_case, MAILLAGE__V1__RESPONSE__RESULT_HISTORY);
	assert_int_equal(back->history->n_events, 1);
	sent = back->history->events[0];
	back->history->events[0] = NULL;
	back->history->n_events = 0;
	wire_free(back);
	free(frame);
	return sent;
}

static void test_stored_event_as_packed_whole(void **state)
{
	_Alignas(WIRE_ARENA_ALIGN) uint8_t mem[4096];
	Maillage__V1__VisitRecorded vr;
	Maillage__V1__Visit v;
	Maillage__V1__ReferralAcknowledged ack = MAILLAGE__V1__REFERRAL_ACKNOWLEDGED__INIT;
	struct vault_key k = { .id = { 1 } };
	struct wire_arena a;
	ml_event ev, *copy, *stored;
	char notes[200];
	uint8_t *raw, *odd;
	size_t rawlen;

	(void)state;
	memset(k.key, 3, sizeof(k.key));
	make_visit(&ev, &vr, &v, 2, notes, 150);

	/* Sealed, then opened or erased: the stored bytes go out. */
	seal_and_pack(&ev, &k, &raw, &rawlen);
	for (int erased = 0; erased < 2; erased++) {
		copy = wire_event_unpack(raw, rawlen);
		assert_int_equal(personal_open(copy, erased ? NULL : &k), 0);
		assert_true(check_stored(copy, copy, raw, rawlen));
		wire_free(copy);
	}
	/* As a history reads it: a copy in a wiping arena of the event
	 * unpacked in another, opened there. */
	wire_arena_init(&a, mem, sizeof(mem), true);
	copy = open_copy(&a, &a, raw, rawlen, &k, &stored);
	assert_true(check_stored(copy, stored, raw, rawlen));
	wire_arena_release(&a);

	/* Not opened: the box goes out as stored, the whole event packed. */
	copy = wire_event_unpack(raw, rawlen);
	assert_false(check_stored(copy, copy, raw, rawlen));
	/* Still sealed and its body changed: packed whole too. */
	copy->visit_recorded->visit->household_present = 0;
	assert_false(check_stored(copy, copy, raw, rawlen));
	wire_free(copy);

	/* Laid out otherwise than protobuf-c packs it: a field out of order,
	 * an unknown field (of a later schema), a field after the body. */
	odd = malloc(rawlen + 8);
	assert_non_null(odd);
	memcpy(odd, raw, rawlen);
	odd[rawlen] = 0x90;                   /* field 50, varint: 1 */
	odd[rawlen + 1] = 0x03;
	odd[rawlen + 2] = 1;
	copy = wire_event_unpack(odd, rawlen + 3);
	assert_non_null(copy);
	assert_int_equal(copy->base.n_unknown_fields, 1);
	assert_false(check_stored(copy, copy, odd, rawlen + 3));
	wire_free(copy);
	odd[rawlen] = 1 << 3;                 /* position again, after the body */
	odd[rawlen + 1] = 9;
	copy = wire_event_unpack(odd, rawlen + 2);
	assert_non_null(copy);
	assert_int_equal(copy->position, 9);
	assert_false(check_stored(copy, copy, odd, rawlen + 2));
	wire_free(copy);
	odd[0] = 13 << 3;                     /* personal_data first: CLEAR */
	odd[1] = 1;
	memcpy(odd + 2, raw, rawlen);
	copy = wire_event_unpack(odd, rawlen + 2);
	assert_non_null(copy);
	assert_false(check_stored(copy, copy, odd, rawlen + 2));
	wire_free(copy);
	free(odd);
	free(raw);

	/* Without personal data, without a body, with an empty one. */
	ev.visit_recorded->visit->notes = (char *)"";
	assert_int_equal(wire_pack(&ev, &raw, &rawlen), 0);
	copy = wire_event_unpack(raw, rawlen);
	assert_true(check_stored(copy, copy, raw, rawlen));
	wire_free(copy);
	free(raw);
	ev.body_case = MAILLAGE__V1__EVENT__BODY__NOT_SET;
	assert_int_equal(wire_pack(&ev, &raw, &rawlen), 0);
	copy = wire_event_unpack(raw, rawlen);
	assert_true(check_stored(copy, copy, raw, rawlen));
	wire_free(copy);
	free(raw);
	ev.body_case = MAILLAGE__V1__EVENT__BODY_REFERRAL_ACKNOWLEDGED;
	ev.referral_acknowledged = &ack;
	assert_int_equal(wire_pack(&ev, &raw, &rawlen), 0);
	copy = wire_event_unpack(raw, rawlen);
	assert_true(check_stored(copy, copy, raw, rawlen));
	wire_free(copy);
	free(raw);
}

/* A field of the envelope (fields 1-11) changed in the copy, as a future
 * minimisation might: the copy is packed whole, and the frame carries the
 * copy's value, not the stored one. */
static void test_stored_envelope_changed(void **state)
{
	_Alignas(WIRE_ARENA_ALIGN) uint8_t mem[4096], mem2[4096];
	Maillage__V1__VisitRecorded vr;
	Maillage__V1__Visit v;
	struct vault_key k = { .id = { 1 } };
	struct wire_arena a, b;
	ml_event ev, *stored, *copy, *sent;
	char notes[200], masked[] = "masked-org", same[sizeof(org)];
	uint8_t *raw;
	size_t rawlen;

	(void)state;
	memset(k.key, 3, sizeof(k.key));
	make_visit(&ev, &vr, &v, 2, notes, 150);
	seal_and_pack(&ev, &k, &raw, &rawlen);
	for (int change = 0; change < 5; change++) {
		wire_arena_init(&a, mem, sizeof(mem), false);
		wire_arena_init(&b, mem2, sizeof(mem2), true);
		copy = open_copy(&a, &b, raw, rawlen, &k, &stored);
		switch (change) {
		case 0:                       /* nothing: the fast path */
			break;
		case 1:                       /* a string minimised */
			copy->actor_org = masked;
			break;
		case 2:                       /* the same value elsewhere */
			memcpy(same, org, sizeof(org));
			copy->actor_org = same;
			break;
		case 3:                       /* a scalar */
			copy->recorded_at = 0;
			break;
		case 4:                       /* bytes emptied */
			copy->prev_hash = (ProtobufCBinaryData){ 0 };
			break;
		}
		assert_int_equal(check_stored(copy, stored, raw, rawlen), change == 0);
		sent = sent_event(copy, stored, raw, rawlen);
		assert_string_equal(sent->actor_org, change == 1 ? masked : org);
		assert_int_equal(sent->recorded_at, change == 3 ? 0 : stored->recorded_at);
		assert_int_equal(sent->prev_hash.len, change == 4 ? 0 : WIRE_HASH_LEN);
		assert_string_equal(sent->visit_recorded->visit->notes, notes);
		wire_free(sent);
		wire_arena_release(&b);
		wire_arena_release(&a);
	}
	free(raw);
}

/* Stored bytes that protobuf-c would not have written (a field twice, a
 * varint longer than needed) are not copied: the frame is exactly the one
 * packing the copy whole gives. */
static void test_stored_not_as_packed(void **state)
{
	Maillage__V1__VisitRecorded vr;
	Maillage__V1__Visit v;
	ml_event ev, *copy;
	char notes[100];
	uint8_t *raw, *odd;
	size_t rawlen;

	(void)state;
	make_visit(&ev, &vr, &v, 2, notes, 50);
	assert_int_equal(wire_pack(&ev, &raw, &rawlen), 0);
	assert_int_equal(raw[0], 1 << 3);     /* position 1002: two bytes */
	assert_int_equal(raw[1], 0xea);
	assert_int_equal(raw[2], 0x07);
	odd = malloc(rawlen + 2);
	assert_non_null(odd);

	odd[0] = 1 << 3;                      /* position twice, in front */
	odd[1] = 9;
	memcpy(odd + 2, raw, rawlen);
	copy = wire_event_unpack(odd, rawlen + 2);
	assert_non_null(copy);
	assert_int_equal(copy->position, 1002);   /* the last one counts */
	assert_false(check_stored(copy, copy, odd, rawlen + 2));
	wire_free(copy);

	odd[0] = 1 << 3;                      /* position 1002 in three bytes */
	odd[1] = 0xea;
	odd[2] = 0x87;
	odd[3] = 0x00;
	memcpy(odd + 4, raw + 3, rawlen - 3);
	copy = wire_event_unpack(odd, rawlen + 1);
	assert_non_null(copy);
	assert_int_equal(copy->position, 1002);
	assert_false(check_stored(copy, copy, odd, rawlen + 1));
	wire_free(copy);

	odd[0] = 0x88;                        /* its tag in two bytes */
	odd[1] = 0x00;
	memcpy(odd + 2, raw + 1, rawlen - 1);
	copy = wire_event_unpack(odd, rawlen + 1);
	assert_non_null(copy);
	assert_int_equal(copy->position, 1002);
	assert_false(check_stored(copy, copy, odd, rawlen + 1));
	wire_free(copy);

	copy = wire_event_unpack(raw, rawlen); /* as packed: copied */
	assert_true(check_stored(copy, copy, raw, rawlen));
	wire_free(copy);
	free(odd);
	free(raw);
}

/* The fast path with a body changed after opening: a referral whose
 * household key is minimised (as query.c does for a referrer). */
static void test_stored_referral_minimised(void **state)
{
	_Alignas(WIRE_ARENA_ALIGN) uint8_t mem[4096], mem2[4096];
	static uint8_t hkey[32] = { 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9 };
	Maillage__V1__HouseholdReferred hr = MAILLAGE__V1__HOUSEHOLD_REFERRED__INIT;
	Maillage__V1__Referral ref = MAILLAGE__V1__REFERRAL__INIT;
	Maillage__V1__Household hh = MAILLAGE__V1__HOUSEHOLD__INIT;
	Maillage__V1__VisitRecorded vr;
	Maillage__V1__Visit v;
	struct vault_key k = { .id = { 4 } };
	struct wire_arena a, b;
	ml_event ev, *stored, *copy, *sent;
	char notes[8], address[] = "12 rue des Lilas, Vaulx-en-Velin";
	uint8_t *raw, *want, *got;
	size_t rawlen, wantlen;
	ml_response resp = MAILLAGE__V1__RESPONSE__INIT;
	Maillage__V1__Status status = MAILLAGE__V1__STATUS__INIT;
	Maillage__V1__CaseHistory h = MAILLAGE__V1__CASE_HISTORY__INIT;
	struct wire_list l = { 0 };
	size_t gotlen;

	(void)state;
	memset(k.key, 5, sizeof(k.key));
	make_visit(&ev, &vr, &v, 1, notes, 1);
	hh.address = address;
	ref.platform = platform;
	ref.household = &hh;
	hr.referral = &ref;
	hr.referrer_kind = MAILLAGE__V1__ORG_KIND__CCAS;
	hr.household_key.data = hkey;
	hr.household_key.len = sizeof(hkey);
	ev.body_case = MAILLAGE__V1__EVENT__BODY_HOUSEHOLD_REFERRED;
	ev.household_referred = &hr;
	seal_and_pack(&ev, &k, &raw, &rawlen);

	wire_arena_init(&a, mem, sizeof(mem), false);
	wire_arena_init(&b, mem2, sizeof(mem2), true);
	copy = open_copy(&a, &b, raw, rawlen, &k, &stored);
	assert_non_null(stored->sealed);            /* sealed, untouched by the open */
	copy->household_referred->household_key = (ProtobufCBinaryData){ 0 };
	assert_int_equal(stored->household_referred->household_key.len, sizeof(hkey));

	/* The stored bytes are used, and the frame is that of the whole copy. */
	assert_true(check_stored(copy, stored, raw, rawlen));
	sent = sent_event(copy, stored, raw, rawlen);
	assert_int_equal(sent->household_referred->household_key.len, 0);
	assert_string_equal(sent->household_referred->referral->household->address, address);
	assert_int_equal(sent->personal_data,
			 MAILLAGE__V1__PERSONAL_DATA_STATE__PERSONAL_DATA_CLEAR);
	wire_free(sent);
	resp.status = &status;
	resp.result_case = MAILLAGE__V1__RESPONSE__RESULT_HISTORY;
	resp.history = &h;
	h.case_id = case_id;
	assert_int_equal(wire_list_add_stored_event(&l, copy, stored, raw, rawlen), 0);
	assert_int_equal(l.n_stored, 1);
	assert_int_equal(wire_pack_frame_history(&resp, &l, &got, &gotlen), 0);
	assert_null(memmem(got, gotlen, hkey, sizeof(hkey)));      /* the key is not sent */
	h.events = &copy;
	h.n_events = 1;
	assert_int_equal(wire_pack_frame(&resp, &want, &wantlen), 0);
	assert_int_equal(gotlen, wantlen);
	assert_memory_equal(got, want, wantlen);
	free(want);
	free(got);
	wire_arena_release(&b);
	wire_arena_release(&a);
	free(raw);
}

/* Opening into an arena that does not wipe is refused: the plaintext would
 * outlive the read. */
static void test_open_in_needs_wiping_arena(void **state)
{
	_Alignas(WIRE_ARENA_ALIGN) uint8_t mem[4096];
	Maillage__V1__VisitRecorded vr;
	Maillage__V1__Visit v;
	struct vault_key k = { .id = { 1 } };
	struct wire_arena a;
	ml_event ev, *stored;
	char notes[64];
	uint8_t *raw;
	size_t rawlen;

	(void)state;
	memset(k.key, 3, sizeof(k.key));
	make_visit(&ev, &vr, &v, 2, notes, 40);
	seal_and_pack(&ev, &k, &raw, &rawlen);
	wire_arena_init(&a, mem, sizeof(mem), false);
	stored = wire_event_unpack_in(&a, raw, rawlen);
	assert_non_null(stored);
	assert_int_equal(personal_open_in(stored, &k, &a), ML_EINTERNAL);
	assert_non_null(stored->sealed);                   /* nothing opened */
	assert_string_equal(stored->visit_recorded->visit->notes, "");
	wire_arena_release(&a);
	free(raw);
}

/* wire_pack_frame_history() packs the Response's fields but its result,
 * then the history's case_id, events, next_version and as_of, in that
 * order: true only while the schema keeps every other field of Response
 * below history and CaseHistory's fields 1 to 4 as they are. A field added
 * to either breaks this test, not the frames. */
static void test_history_frame_layout_matches_schema(void **state)
{
	const ProtobufCMessageDescriptor *r = &maillage__v1__response__descriptor;
	const ProtobufCMessageDescriptor *h = &maillage__v1__case_history__descriptor;
	static const char *const names[] = { "case_id", "events", "next_version", "as_of" };
	const ProtobufCFieldDescriptor *f;

	(void)state;
	f = protobuf_c_message_descriptor_get_field(r, MAILLAGE__V1__RESPONSE__RESULT_HISTORY);
	assert_non_null(f);
	assert_string_equal(f->name, "history");
	assert_true(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF);
	for (unsigned i = 0; i < r->n_fields; i++)
		if (!(r->fields[i].flags & PROTOBUF_C_FIELD_FLAG_ONEOF) ||
		    r->fields[i].quantifier_offset != f->quantifier_offset)
			assert_true(r->fields[i].id < MAILLAGE__V1__RESPONSE__RESULT_HISTORY);
	assert_int_equal(h->n_fields, 4);
	for (unsigned i = 0; i < h->n_fields; i++) {
		assert_int_equal(h->fields[i].id, i + 1);
		assert_string_equal(h->fields[i].name, names[i]);
		assert_false(h->fields[i].flags & PROTOBUF_C_FIELD_FLAG_ONEOF);
	}
	assert_int_equal(h->fields[1].label, PROTOBUF_C_LABEL_REPEATED);
	assert_int_equal(h->fields[1].type, PROTOBUF_C_TYPE_MESSAGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_arena_grows_and_releases),
		cmocka_unit_test(test_unpack_in_arena),
		cmocka_unit_test(test_copy_in_is_independent),
		cmocka_unit_test(test_open_in_arena_as_with_malloc),
		cmocka_unit_test(test_history_frame_as_packed_whole),
		cmocka_unit_test(test_stored_event_as_packed_whole),
		cmocka_unit_test(test_stored_envelope_changed),
		cmocka_unit_test(test_stored_not_as_packed),
		cmocka_unit_test(test_stored_referral_minimised),
		cmocka_unit_test(test_open_in_needs_wiping_arena),
		cmocka_unit_test(test_history_frame_layout_matches_schema),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
