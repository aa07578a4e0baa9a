/* test_fsutil.c - the file utilities (server/fsutil.c): removing a tree with
 * no shell (a quote in its name is only a character; a symbolic link is
 * removed, never followed), writing a new file whole. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "fixture.h"
#include "fsutil.h"

static char base[FIXTURE_DIR_LEN];

static int setup(void **state)
{
	(void)state;
	return fixture_dir_make(base, "fsutil");
}

static int teardown(void **state)
{
	(void)state;
	return fs_remove_tree(base);
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static void test_remove_tree_without_a_shell(void **state)
{
	char tree[FS_PATH_LEN], sub[FS_PATH_LEN], file[FS_PATH_LEN], link[FS_PATH_LEN];
	char kept[FS_PATH_LEN], pwned[FS_PATH_LEN];

	(void)state;
	fs_path_join(tree, base, "it's'; touch PWNED; echo '");
	fs_path_join(sub, tree, "sub");
	fs_path_join(file, sub, "data");
	fs_path_join(link, sub, "link");
	fs_path_join(kept, base, "kept");
	fs_path_join(pwned, base, "PWNED");
	assert_int_equal(mkdir(tree, 0700), 0);
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_int_equal(fs_write_new_file(file, "x", 1), 0);
	assert_int_equal(fs_write_new_file(kept, "keep", 4), 0);
	assert_int_equal(symlink(kept, link), 0);
	assert_int_equal(chdir(base), 0);
	assert_int_equal(fs_remove_tree(tree), 0);
	assert_false(exists(tree));
	assert_true(exists(kept));          /* the link's target is left alone */
	assert_false(exists(pwned));        /* nothing ran */
	assert_int_equal(fs_remove_tree(tree), 0);   /* gone already: fine */
}

static void test_write_new_file_refuses_an_existing_one(void **state)
{
	char path[FS_PATH_LEN];

	(void)state;
	fs_path_join(path, base, "once");
	assert_int_equal(fs_write_new_file(path, "one", 3), 0);
	assert_int_not_equal(fs_write_new_file(path, "two", 3), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_remove_tree_without_a_shell),
		cmocka_unit_test(test_write_new_file_refuses_an_existing_one),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
