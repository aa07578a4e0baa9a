/* test_grow.c - grow_for_one (server/grow.c): the array kept while it has
 * room, doubled when full (first for an empty one), contents kept; a size
 * that would overflow refused with the array left as it was.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>

#include "grow.h"

static void test_grows_by_doubling_and_keeps_items(void **state)
{
	int *v = NULL, *more;
	size_t cap = 0;

	(void)state;
	for (size_t n = 0; n < 100; n++) {
		more = grow_for_one(v, n, &cap, sizeof(*v), 4);
		assert_non_null(more);
		if (n < 4)
			assert_int_equal(cap, 4);
		assert_true(cap > n && cap <= 2 * (n + 4));
		v = more;
		v[n] = (int)n;
	}
	assert_int_equal(cap, 128);
	for (int i = 0; i < 100; i++)
		assert_int_equal(v[i], i);
	assert_ptr_equal(grow_for_one(v, 100, &cap, sizeof(*v), 4), v);   /* room left */
	free(v);
}

static void test_overflow_is_refused(void **state)
{
	char *v = malloc(8);
	size_t cap = SIZE_MAX / 2 + 1;

	(void)state;
	assert_non_null(v);
	assert_null(grow_for_one(v, cap, &cap, 1, 8));
	assert_int_equal(cap, SIZE_MAX / 2 + 1);
	cap = 8;
	assert_null(grow_for_one(v, 8, &cap, SIZE_MAX / 8, 8));
	assert_int_equal(cap, 8);
	free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grows_by_doubling_and_keeps_items),
		cmocka_unit_test(test_overflow_is_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
