/* fuzz_config.c - libFuzzer target for the configuration parser
 * (config_load()). Each input is written to DIR/maillaged.conf, DIR a
 * temporary directory made once at start that also holds the key files the
 * seed configurations name by relative path:
 *   household.secret, master.key  two different valid keys, mode 0600
 *   same.key                      the household secret again, mode 0600
 *   open.key                      a valid key readable by others, mode 0644
 *   short.key                     not 64 hexadecimal characters, mode 0600
 * The directory is removed at exit. FUZZ_CONFIG_VERBOSE=1 prints each
 * config_load() result (to check what a seed reaches).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "err.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

static char dir[256];
static char conf[300];
static int verbose;            /* FUZZ_CONFIG_VERBOSE=1: print each result */

static const struct {
	const char *name;
	const char *text;
	mode_t mode;
} keys[] = {
	{ "household.secret",
	  "3f1c2a0b4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8\n", 0600 },
	{ "master.key",
	  "a0b1c2d3e4f5061728394a5b6c7d8e9fa0b1c2d3e4f5061728394a5b6c7d8e9f\n", 0600 },
	{ "same.key",
	  "3f1c2a0b4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8", 0600 },
	{ "open.key",
	  "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n", 0644 },
	{ "short.key", "0011223344\n", 0600 },
};

static void write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	FILE *f = fopen(path, "w");

	CHECK(f != NULL);
	CHECK(fwrite(data, 1, len, f) == len);
	CHECK(fclose(f) == 0);
	CHECK(chmod(path, mode) == 0);
}

static void remove_dir(void)
{
	char path[512];

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, keys[i].name);
		unlink(path);
	}
	unlink(conf);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");
	char path[512];

	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "%s/fuzz_config.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	CHECK(mkdtemp(dir) != NULL);
	snprintf(conf, sizeof(conf), "%s/maillaged.conf", dir);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, keys[i].name);
		write_file(path, keys[i].text, strlen(keys[i].text), keys[i].mode);
	}
	atexit(remove_dir);
	verbose = getenv("FUZZ_CONFIG_VERBOSE") != NULL;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *cfg = NULL;
	char err[256];
	int rc;

	write_file(conf, data, size, 0600);
	memset(err, 'x', sizeof(err));
	rc = config_load(conf, &cfg, err, sizeof(err));
	CHECK(memchr(err, 0, sizeof(err)) != NULL);
	if (verbose)
		fprintf(stderr, "config_load: %d %s\n", rc, rc ? err : "loaded");
	if (rc) {
		CHECK(cfg == NULL);
		CHECK(rc == ML_ECONFIG || rc == ML_EIO || rc == ML_ENOMEM);
		CHECK(err[0] != 0);
		return 0;
	}
	CHECK(cfg != NULL);
	CHECK(memcmp(cfg->household_secret, cfg->master_key, CONFIG_SECRET_LEN) != 0);
	/* What the server reads from a loaded config. */
	for (size_t i = 0; i < cfg->n_platforms; i++) {
		const struct platform *p = &cfg->platforms[i];

		CHECK(config_find_platform(cfg, p->id) == p);
		CHECK(config_platform_by_code(cfg, p->code, strlen(p->code)) == p);
	}
	for (size_t i = 0; i < cfg->n_orgs; i++) {
		const struct org *o = &cfg->orgs[i];

		CHECK(config_find_org(cfg, o->id) == o);
		for (size_t j = 0; j < o->n_platforms; j++) {
			CHECK(config_find_platform(cfg, o->platforms[j]) != NULL);
			CHECK(org_is_member(o, o->platforms[j]));
		}
	}
	config_free(cfg);
	return 0;
}
