/* config_int.h - inside the configuration module (config.c reads the file,
 * config_diff.c compares and adopts values on a reload): the key tables.
 * Not for other modules: they use config.h.
 */
#ifndef MAILLAGE_CONFIG_INT_H
#define MAILLAGE_CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* How a key's value is stored at its offset in the section's struct (what
 * config_diff() compares and config_adopt() exchanges). A new type must be
 * handled by both (config_diff.c asserts on a type it does not know). */
enum config_key_type {
	CONFIG_KEY_END,         /* the { NULL } entry closing a table */
	CONFIG_KEY_STRING,      /* char *, owned; NULL when not given */
	CONFIG_KEY_PATH,        /* char *, an absolute path; the household secret
				 * and master key files also compare by the key
				 * they hold */
	CONFIG_KEY_LISTEN,      /* char *, "ADDRESS:PORT" */
	CONFIG_KEY_CODE,        /* char *, a platform's case id prefix */
	CONFIG_KEY_UINT,        /* unsigned, in [min, max] */
	CONFIG_KEY_SIZE,        /* size_t, in [min, max] */
	CONFIG_KEY_BOOL,        /* bool, from yes or no */
	CONFIG_KEY_LOG_LEVEL,   /* int, enum log_level */
	CONFIG_KEY_KIND,        /* int, maillage.v1.OrgKind */
	CONFIG_KEY_PLATFORMS,   /* struct org's platforms and n_platforms */
};

struct parser;

/* A key of one section: its name, whether it must be given, how its value
 * is stored, and the setter that checks the value and stores it at offset
 * in the section's struct (config.c). */
struct key {
	const char *name;
	bool required;
	enum config_key_type type;
	int (*set)(struct parser *p, const struct key *k, const char *value);
	size_t offset;
	unsigned long min, max;         /* numbers only */
};

/* The keys of the globals, of a [platform ID] and of an [org ID] section,
 * each closed by an entry whose name is NULL (CONFIG_KEY_END). At most 32
 * keys a table (a bit each while parsing). */
extern const struct key *const config_global_keys;
extern const struct key *const config_platform_keys;
extern const struct key *const config_org_keys;

/* The key called name in keys, or NULL; *bit gets its bit (1 << index). */
const struct key *config_find_key(const struct key *keys, const char *name, unsigned *bit);

#endif
