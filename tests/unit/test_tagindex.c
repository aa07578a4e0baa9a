/* test_tagindex.c - the open-addressing table of (tag, value) pairs
 * (server/tagindex.c): an empty table, a tag stored several times, a probe
 * run that wraps past the last slot, growth past the first size, and free.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <string.h>

#include "tagindex.h"

#define FIRST_CAP 1024       /* the table's first size (TAGINDEX_MIN_SLOTS) */
#define MANY 3000            /* several times that: the table grows thrice */

/* How many values tag has in ix; each must be one of want[0..n), and is
 * counted in seen[] (zeroed by the caller). */
static size_t values_of(const struct tagindex *ix, uint64_t tag, const uint64_t *want,
			size_t n, size_t *seen)
{
	size_t count = 0;

	for (size_t i = tagindex_first(ix, tag); i != TAGINDEX_END;
	     i = tagindex_next(ix, i, tag)) {
		size_t j = 0;

		assert_true(i < ix->cap);
		assert_int_equal(ix->slots[i].tag, tag);
		while (j < n && want[j] != ix->slots[i].value)
			j++;
		if (j == n)
			fail_msg("tag %#llx: value %llu not expected", (unsigned long long)tag,
				 (unsigned long long)ix->slots[i].value);
		seen[j]++;
		count++;
	}
	return count;
}

/* tag has exactly the values want[0..n), each once. */
static void assert_values(const struct tagindex *ix, uint64_t tag, const uint64_t *want,
			  size_t n)
{
	size_t seen[8] = { 0 };

	assert_true(n <= 8);
	assert_int_equal(values_of(ix, tag, want, n, seen), n);
	for (size_t j = 0; j < n; j++)
		assert_int_equal(seen[j], 1);
}

static void test_empty_table_has_nothing(void **state)
{
	struct tagindex ix = { .slots = NULL };

	(void)state;
	assert_int_equal(tagindex_first(&ix, 0), TAGINDEX_END);
	assert_int_equal(tagindex_first(&ix, 42), TAGINDEX_END);
	assert_int_equal(tagindex_first(&ix, UINT64_MAX), TAGINDEX_END);
	tagindex_free(&ix);
	assert_null(ix.slots);
}

static void test_tag_with_several_values(void **state)
{
	struct tagindex ix = { .slots = NULL };
	const uint64_t a[] = { 10, 11, 12 }, b[] = { 20 }, c[] = { 30, 31 };
	const uint64_t ta = 0x1111, tb = 0x1111 + FIRST_CAP, tc = 0x1112;

	(void)state;
	/* ta and tb share their home slot; tc's is the next one: the three
	 * runs interleave. */
	assert_int_equal(tagindex_add(&ix, ta, a[0]), 0);
	assert_int_equal(tagindex_add(&ix, tb, b[0]), 0);
	assert_int_equal(tagindex_add(&ix, tc, c[0]), 0);
	assert_int_equal(tagindex_add(&ix, ta, a[1]), 0);
	assert_int_equal(tagindex_add(&ix, tc, c[1]), 0);
	assert_int_equal(tagindex_add(&ix, ta, a[2]), 0);
	assert_int_equal(ix.used, 6);
	assert_int_equal(ix.cap, FIRST_CAP);
	assert_values(&ix, ta, a, 3);
	assert_values(&ix, tb, b, 1);
	assert_values(&ix, tc, c, 2);
	assert_int_equal(tagindex_first(&ix, 0x1113), TAGINDEX_END);
	assert_int_equal(tagindex_first(&ix, 0x1111 + 2 * FIRST_CAP), TAGINDEX_END);
	tagindex_free(&ix);
}

/* Tags whose home is the last slot: their run goes on at slot 0, where a
 * tag whose home is slot 0 then has to look past them. */
static void test_probe_wraps_past_the_end(void **state)
{
	struct tagindex ix = { .slots = NULL };
	const uint64_t last = FIRST_CAP - 1;
	const uint64_t t1 = last, t2 = last + FIRST_CAP, t3 = last + 5 * FIRST_CAP, t0 = 0;
	const uint64_t v1[] = { 1, 4 }, v2[] = { 2 }, v3[] = { 3 }, v0[] = { 5 };

	(void)state;
	assert_int_equal(tagindex_add(&ix, t1, v1[0]), 0);
	assert_int_equal(tagindex_add(&ix, t2, v2[0]), 0);
	assert_int_equal(tagindex_add(&ix, t3, v3[0]), 0);
	assert_int_equal(tagindex_add(&ix, t1, v1[1]), 0);
	assert_int_equal(tagindex_add(&ix, t0, v0[0]), 0);
	assert_int_equal(ix.cap, FIRST_CAP);
	/* The run: the last slot, then slots 0, 1, 2, and t0 at 3. */
	assert_int_equal(ix.slots[last].value, 1);
	assert_int_equal(ix.slots[0].value, 2);
	assert_int_equal(ix.slots[1].value, 3);
	assert_int_equal(ix.slots[2].value, 4);
	assert_int_equal(ix.slots[3].value, 5);
	assert_int_equal(tagindex_first(&ix, t1), last);
	assert_int_equal(tagindex_next(&ix, last, t1), 2);
	assert_int_equal(tagindex_next(&ix, 2, t1), TAGINDEX_END);
	assert_values(&ix, t1, v1, 2);
	assert_values(&ix, t2, v2, 1);
	assert_values(&ix, t3, v3, 1);
	assert_values(&ix, t0, v0, 1);
	assert_int_equal(tagindex_first(&ix, last + 2 * FIRST_CAP), TAGINDEX_END);
	assert_int_equal(tagindex_first(&ix, 1), TAGINDEX_END);
	tagindex_free(&ix);
}

/* Tag of entry n: MANY entries on MANY / 3 tags spread over the table, three
 * values each, so every tag is there three times across each growth. */
static uint64_t tag_of(uint64_t n)
{
	return (n % (MANY / 3)) * 0x9e3779b97f4a7c15ull;
}

static void test_grows_and_keeps_every_entry(void **state)
{
	struct tagindex ix = { .slots = NULL };

	(void)state;
	for (uint64_t n = 1; n <= MANY; n++) {
		assert_int_equal(tagindex_add(&ix, tag_of(n), n), 0);
		assert_true(ix.used * 2 <= ix.cap);
	}
	assert_int_equal(ix.used, MANY);
	assert_true(ix.cap > FIRST_CAP);
	assert_int_equal(ix.cap & (ix.cap - 1), 0);
	for (uint64_t t = 0; t < MANY / 3; t++) {
		/* Entries n, n + MANY/3, n + 2*MANY/3 share a tag (0: MANY/3...). */
		uint64_t n = t ? t : MANY / 3;
		const uint64_t want[] = { n, n + MANY / 3, n + 2 * MANY / 3 };

		assert_values(&ix, tag_of(n), want, 3);
	}
	tagindex_free(&ix);
}

static void test_free_resets(void **state)
{
	struct tagindex ix = { .slots = NULL };
	const uint64_t v[] = { 7 };

	(void)state;
	for (uint64_t n = 1; n <= FIRST_CAP; n++)
		assert_int_equal(tagindex_add(&ix, n, n), 0);
	tagindex_free(&ix);
	assert_null(ix.slots);
	assert_int_equal(ix.cap, 0);
	assert_int_equal(ix.used, 0);
	assert_int_equal(tagindex_first(&ix, 1), TAGINDEX_END);
	/* And it is usable again, from the first size. */
	assert_int_equal(tagindex_add(&ix, 1, 7), 0);
	assert_int_equal(ix.cap, FIRST_CAP);
	assert_int_equal(ix.used, 1);
	assert_values(&ix, 1, v, 1);
	assert_int_equal(tagindex_first(&ix, 2), TAGINDEX_END);
	tagindex_free(&ix);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_table_has_nothing),
		cmocka_unit_test(test_tag_with_several_values),
		cmocka_unit_test(test_probe_wraps_past_the_end),
		cmocka_unit_test(test_grows_and_keeps_every_entry),
		cmocka_unit_test(test_free_resets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
