/* config_diff.c - comparing two loads of the configuration and adopting
 * values from the newer one, for a SIGHUP reload (contracts in config.h).
 * The key tables (config_int.h) say how each field is stored, so a key
 * added to a table is compared and adopted with no change here.
 */
#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "config_int.h"
#include "err.h"

/* The struct of section "platform ID" or "org ID" (NULL: the globals) in cfg,
 * with its key table; NULL when cfg does not declare it. */
static void *section_in(const struct config *cfg, const char *section,
			const struct key **keys)
{
	if (!section) {
		*keys = config_global_keys;
		return (void *)cfg;
	}
	if (!strncmp(section, "platform ", 9)) {
		*keys = config_platform_keys;
		return (void *)config_find_platform(cfg, section + 9);
	}
	*keys = config_org_keys;
	return (void *)config_find_org(cfg, section + 4);
}

/* The key read from the file named by key k of the globals, or NULL. */
static const uint8_t *key_file_contents(const struct key *k, const struct config *cfg)
{
	if (k->offset == offsetof(struct config, household_secret_file))
		return cfg->household_secret;
	if (k->offset == offsetof(struct config, master_key_file))
		return cfg->master_key;
	return NULL;
}

/* The size of a field of type t (CONFIG_KEY_PLATFORMS excepted: two fields). */
static size_t value_size(enum config_key_type t)
{
	switch (t) {
	case CONFIG_KEY_STRING:
	case CONFIG_KEY_PATH:
	case CONFIG_KEY_LISTEN:
	case CONFIG_KEY_CODE:
		return sizeof(char *);
	case CONFIG_KEY_UINT:
		return sizeof(unsigned);
	case CONFIG_KEY_SIZE:
		return sizeof(size_t);
	case CONFIG_KEY_BOOL:
		return sizeof(bool);
	case CONFIG_KEY_LOG_LEVEL:
	case CONFIG_KEY_KIND:
		return sizeof(int);
	case CONFIG_KEY_PLATFORMS:
	case CONFIG_KEY_END:
		break;
	}
	assert(!"no single field for this key type");
	return 0;
}

/* Same platforms, in any order (an org lists each once). */
static bool same_platforms(const struct org *a, const struct org *b)
{
	for (size_t i = 0; i < a->n_platforms; i++)
		if (!org_is_member(b, a->platforms[i]))
			return false;
	return a->n_platforms == b->n_platforms;
}

/* Same value of key k in the sections a and b (of one type; keys is k's
 * table). A key file compares by path and by the key it holds. */
static bool same_value(const struct key *keys, const struct key *k, const void *a,
		       const void *b)
{
	const char *fa = (const char *)a + k->offset, *fb = (const char *)b + k->offset;
	const char *sa, *sb;

	switch (k->type) {
	case CONFIG_KEY_UINT:
	case CONFIG_KEY_SIZE:
	case CONFIG_KEY_BOOL:
	case CONFIG_KEY_LOG_LEVEL:
	case CONFIG_KEY_KIND:
		return !memcmp(fa, fb, value_size(k->type));
	case CONFIG_KEY_PLATFORMS:
		return same_platforms(a, b);
	case CONFIG_KEY_PATH:        /* a key file: by its key, then by its path */
		if (keys == config_global_keys && key_file_contents(k, a) &&
		    memcmp(key_file_contents(k, a), key_file_contents(k, b), CONFIG_SECRET_LEN))
			return false;
		/* fall through */
	case CONFIG_KEY_STRING:
	case CONFIG_KEY_LISTEN:
	case CONFIG_KEY_CODE:
		sa = *(char *const *)fa;
		sb = *(char *const *)fb;
		return sa == sb || (sa && sb && !strcmp(sa, sb));
	case CONFIG_KEY_END:
		break;
	}
	assert(!"unknown config key type");
	return false;
}

/* Report the sections of a missing from b (key NULL); with both, the keys
 * of the sections of a found in b that differ. */
static size_t diff_sections(const struct config *a, const struct config *b, bool both,
			    config_change_fn fn, void *arg)
{
	char section[CONFIG_ID_MAX + 16];
	const struct key *keys;
	size_t n = 0;

	for (size_t i = 0; i < a->n_platforms + a->n_orgs; i++) {
		bool plat = i < a->n_platforms;
		const void *sa = plat ? (const void *)&a->platforms[i] :
			(const void *)&a->orgs[i - a->n_platforms];
		const void *sb;

		snprintf(section, sizeof(section), "%s %s", plat ? "platform" : "org",
			 plat ? a->platforms[i].id : a->orgs[i - a->n_platforms].id);
		sb = section_in(b, section, &keys);
		if (!sb) {
			fn(arg, section, NULL);
			n++;
			continue;
		}
		for (unsigned j = 0; both && keys[j].name; j++)
			if (!same_value(keys, &keys[j], sa, sb)) {
				fn(arg, section, keys[j].name);
				n++;
			}
	}
	return n;
}

size_t config_diff(const struct config *cfg, const struct config *next,
		   config_change_fn fn, void *arg)
{
	size_t n = 0;

	for (unsigned i = 0; config_global_keys[i].name; i++)
		if (!same_value(config_global_keys, &config_global_keys[i], cfg, next)) {
			fn(arg, NULL, config_global_keys[i].name);
			n++;
		}
	n += diff_sections(cfg, next, true, fn, arg);
	return n + diff_sections(next, cfg, false, fn, arg);
}

/* Exchange the bytes of two fields of size len. */
static void swap_bytes(void *a, void *b, size_t len)
{
	unsigned char tmp[sizeof(size_t) > sizeof(char *) ? sizeof(size_t) : sizeof(char *)];

	assert(len <= sizeof(tmp));
	memcpy(tmp, a, len);
	memcpy(a, b, len);
	memcpy(b, tmp, len);
}

int config_adopt(struct config *cfg, struct config *next, const char *section,
		 const char *key)
{
	const struct key *keys, *k;
	void *mine = section_in(cfg, section, &keys);
	void *theirs = section_in(next, section, &keys);
	unsigned bit;

	k = key ? config_find_key(keys, key, &bit) : NULL;
	if (!mine || !theirs || !k ||
	    (keys == config_global_keys && key_file_contents(k, cfg)))
		return ML_EINVAL;
	if (k->type == CONFIG_KEY_PLATFORMS) {
		struct org *a = mine, *b = theirs;

		swap_bytes(&a->platforms, &b->platforms, sizeof(a->platforms));
		swap_bytes(&a->n_platforms, &b->n_platforms, sizeof(a->n_platforms));
		return 0;
	}
	swap_bytes((char *)mine + k->offset, (char *)theirs + k->offset, value_size(k->type));
	return 0;
}
