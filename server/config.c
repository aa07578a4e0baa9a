/* config.c - reading and checking the configuration file (format in config.h
 * and deploy/maillaged.conf.example) and the two key files it names: the
 * household secret and the master key. Comparing two loads, for a reload,
 * is config_diff.c's; the key tables are shared through config_int.h.
 * Every error is written as "FILE:LINE: problem".
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "config_int.h"
#include "err.h"
#include "wire.h"

enum section {
	SEC_GLOBAL,     /* before the first section header */
	SEC_PLATFORM,   /* inside [platform ID] */
	SEC_ORG,        /* inside [org ID] */
};

/* Where a section was declared, for errors found after it has ended. */
struct section_lines {
	unsigned header;        /* line of "[org ID]" or "[platform ID]" */
	unsigned platforms;     /* org: line of its "platforms" key */
	unsigned data_protection; /* org: line of its "data_protection" key, or 0 */
};

struct parser {
	struct config *cfg;
	const char *path;               /* as given, for messages */
	char *dir;                      /* absolute directory of the file */
	unsigned line;                  /* current line, from 1 */
	enum section sec;
	unsigned sec_line;              /* header of the current section, 0 = globals */
	unsigned seen;                  /* keys given in the section, a bit per key */
	unsigned secret_line;           /* line of household_secret_file */
	unsigned master_key_line;       /* line of master_key_file */
	struct section_lines *plat_lines;       /* parallel to cfg->platforms */
	struct section_lines *org_lines;        /* parallel to cfg->orgs */
	char *err;
	size_t errlen;
};

/* Write "FILE:LINE: problem" into the caller's buffer and return rc. */
static int perr_rc(struct parser *p, int rc, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int perr_rc(struct parser *p, int rc, unsigned line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!p->errlen)
		return rc;
	n = snprintf(p->err, p->errlen, "%s:%u: ", p->path, line);
	if (n >= 0 && (size_t)n < p->errlen) {
		va_start(ap, fmt);
		vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return rc;
}

#define perr(p, line, ...) perr_rc((p), ML_ECONFIG, (line), __VA_ARGS__)

static void *section_base(struct parser *p)
{
	struct config *cfg = p->cfg;

	if (p->sec == SEC_PLATFORM)
		return &cfg->platforms[cfg->n_platforms - 1];
	if (p->sec == SEC_ORG)
		return &cfg->orgs[cfg->n_orgs - 1];
	return cfg;
}

static void *field(struct parser *p, const struct key *k)
{
	return (char *)section_base(p) + k->offset;
}

static char *join_path(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *s = malloc(n);

	if (s)
		snprintf(s, n, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", name);
	return s;
}

static int set_string(struct parser *p, const struct key *k, const char *value)
{
	char **f = field(p, k);

	free(*f);
	*f = strdup(value);
	return *f ? 0 : ML_ENOMEM;
}

/* A path: kept when absolute, else joined to the config file's directory. */
static int set_path(struct parser *p, const struct key *k, const char *value)
{
	char **f = field(p, k);

	free(*f);
	*f = value[0] == '/' ? strdup(value) : join_path(p->dir, value);
	if (k->offset == offsetof(struct config, household_secret_file))
		p->secret_line = p->line;
	else if (k->offset == offsetof(struct config, master_key_file))
		p->master_key_line = p->line;
	return *f ? 0 : ML_ENOMEM;
}

/* "yes" or "no". */
static int set_bool(struct parser *p, const struct key *k, const char *value)
{
	if (strcmp(value, "yes") && strcmp(value, "no"))
		return perr(p, p->line, "'%s' must be yes or no, not '%s'", k->name, value);
	*(bool *)field(p, k) = !strcmp(value, "yes");
	return 0;
}

/* An org's data-protection role; its kind, which may come later in the
 * section, is checked in end_section(). */
static int set_data_protection(struct parser *p, const struct key *k, const char *value)
{
	p->org_lines[p->cfg->n_orgs - 1].data_protection = p->line;
	return set_bool(p, k, value);
}

/* A whole decimal number in [k->min, k->max]; no sign, no suffix. */
static int parse_number(struct parser *p, const struct key *k, const char *value,
			unsigned long *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(value, &end, 10);
	if (!isdigit((unsigned char)value[0]) || *end || errno || v < k->min || v > k->max)
		return perr(p, p->line, "'%s' must be a whole number from %lu to %lu, not '%s'",
			    k->name, k->min, k->max, value);
	*out = v;
	return 0;
}

static int set_size(struct parser *p, const struct key *k, const char *value)
{
	unsigned long v;
	int rc = parse_number(p, k, value, &v);

	if (!rc)
		*(size_t *)field(p, k) = v;
	return rc;
}

static int set_uint(struct parser *p, const struct key *k, const char *value)
{
	unsigned long v;
	int rc = parse_number(p, k, value, &v);

	if (!rc)
		*(unsigned *)field(p, k) = (unsigned)v;
	return rc;
}

/* HOST:PORT, HOST a numeric IPv4 address or a bracketed IPv6 address (what
 * the listener's evutil_parse_sockaddr_port() accepts: no name lookup). */
static int set_listen(struct parser *p, const struct key *k, const char *value)
{
	const char *colon = strrchr(value, ':');
	const char *port;
	unsigned char addr[sizeof(struct in6_addr)];
	char host[INET6_ADDRSTRLEN + 2];
	unsigned long v = 0;
	size_t n;
	int ok;

	if (!colon || colon == value)
		return perr(p, p->line, "'%s' must be ADDRESS:PORT, not '%s'", k->name, value);
	for (port = colon + 1; isdigit((unsigned char)*port) && v <= 65535; port++)
		v = v * 10 + (unsigned long)(*port - '0');
	if (port == colon + 1 || *port || v < 1 || v > 65535)
		return perr(p, p->line, "'%s' port must be 1 to 65535, not '%s'", k->name,
			    colon + 1);
	n = (size_t)(colon - value);
	if (value[0] == '[' && n >= 2 && value[n - 1] == ']' && n - 2 < sizeof(host)) {
		memcpy(host, value + 1, n - 2);
		host[n - 2] = 0;
		ok = inet_pton(AF_INET6, host, addr) == 1;
	} else if (n < sizeof(host)) {
		memcpy(host, value, n);
		host[n] = 0;
		ok = inet_pton(AF_INET, host, addr) == 1;
	} else {
		ok = 0;
	}
	if (!ok)
		return perr(p, p->line, "'%s' address must be an IPv4 address or an IPv6 "
			    "address in brackets ([::1]:7400), not '%.*s'", k->name, (int)n, value);
	return set_string(p, k, value);
}

/* debug, info, warn or error. */
static int set_log_level(struct parser *p, const struct key *k, const char *value)
{
	static const char *const names[] = { "debug", "info", "warn", "error" };

	for (int i = 0; i < 4; i++)
		if (!strcmp(value, names[i])) {
			*(int *)field(p, k) = i;
			return 0;
		}
	return perr(p, p->line, "'%s' must be debug, info, warn or error, not '%s'", k->name,
		    value);
}

static int set_code(struct parser *p, const struct key *k, const char *value)
{
	struct config *cfg = p->cfg;
	size_t n = strlen(value);

	for (size_t i = 0; i < n; i++)
		if (value[i] < 'A' || value[i] > 'Z')
			n = 0;
	if (n < 2 || n > 6)
		return perr(p, p->line, "'code' must be 2 to 6 capital letters, not '%s'", value);
	for (size_t i = 0; i + 1 < cfg->n_platforms; i++)
		if (!strcmp(cfg->platforms[i].code, value))
			return perr(p, p->line, "code '%s' is already used by platform '%s'",
				    value, cfg->platforms[i].id);
	return set_string(p, k, value);
}

static int set_kind(struct parser *p, const struct key *k, const char *value)
{
	int kind = wire_org_kind_from_name(value);

	if (!kind)
		return perr(p, p->line, "unknown organisation kind '%s' (LANDLORD, CCAS, MDM, "
			    "HOSPITAL, SIAO, ASSOCIATION, COORDINATION, FUNDER or AUDITOR)",
			    value);
	*(int *)field(p, k) = kind;
	return 0;
}

static bool valid_id(const char *id, size_t n)
{
	if (n < 1 || n > CONFIG_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(id[i] >= 'a' && id[i] <= 'z') && !isdigit((unsigned char)id[i]) &&
		    id[i] != '-')
			return false;
	return true;
}

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = 0;
	return s;
}

/* "a, b": platform ids, checked against the declared platforms in finish(),
 * since a platform may be declared after the orgs that name it. */
static int set_platforms(struct parser *p, const struct key *k, const char *value)
{
	struct org *o = &p->cfg->orgs[p->cfg->n_orgs - 1];
	char *copy = strdup(value), *item, *next;
	int rc = 0;

	(void)k;
	if (!copy)
		return ML_ENOMEM;
	for (item = copy; item && !rc; item = next) {
		char **more;

		next = strchr(item, ',');
		if (next)
			*next++ = 0;
		item = trim(item);
		if (!item[0]) {
			rc = perr(p, p->line, "'platforms' has an empty item in '%s'", value);
			break;
		}
		if (!valid_id(item, strlen(item))) {
			rc = perr(p, p->line, "bad platform id '%s' in 'platforms'", item);
			break;
		}
		if (org_is_member(o, item)) {
			rc = perr(p, p->line, "platform '%s' is listed twice", item);
			break;
		}
		more = realloc(o->platforms, (o->n_platforms + 1) * sizeof(*more));
		if (!more) {
			rc = ML_ENOMEM;
			break;
		}
		o->platforms = more;
		more[o->n_platforms] = strdup(item);
		if (!more[o->n_platforms])
			rc = ML_ENOMEM;
		else
			o->n_platforms++;
	}
	free(copy);
	p->org_lines[p->cfg->n_orgs - 1].platforms = p->line;
	return rc;
}

#define CFG(f) offsetof(struct config, f)
#define PLAT(f) offsetof(struct platform, f)
#define ORG(f) offsetof(struct org, f)

static const struct key global_keys[] = {
	{ "listen", true, CONFIG_KEY_LISTEN, set_listen, CFG(listen), 0, 0 },
	{ "data_dir", true, CONFIG_KEY_PATH, set_path, CFG(data_dir), 0, 0 },
	{ "tls_cert", true, CONFIG_KEY_PATH, set_path, CFG(tls_cert), 0, 0 },
	{ "tls_key", true, CONFIG_KEY_PATH, set_path, CFG(tls_key), 0, 0 },
	{ "tls_ca", true, CONFIG_KEY_PATH, set_path, CFG(tls_ca), 0, 0 },
	{ "tls_crl", false, CONFIG_KEY_PATH, set_path, CFG(tls_crl), 0, 0 },
	{ "household_secret_file", true, CONFIG_KEY_PATH, set_path, CFG(household_secret_file),
	  0, 0 },
	{ "master_key_file", true, CONFIG_KEY_PATH, set_path, CFG(master_key_file), 0, 0 },
	{ "max_frame_bytes", false, CONFIG_KEY_SIZE, set_size, CFG(max_frame_bytes),
	  1024, 64UL << 20 },
	{ "map_size_mb", false, CONFIG_KEY_SIZE, set_size, CFG(map_size_mb), 16, 1048576 },
	{ "handshake_timeout_s", false, CONFIG_KEY_UINT, set_uint, CFG(handshake_timeout_s),
	  1, 3600 },
	{ "frame_timeout_s", false, CONFIG_KEY_UINT, set_uint, CFG(frame_timeout_s), 1, 3600 },
	{ "idle_timeout_s", false, CONFIG_KEY_UINT, set_uint, CFG(idle_timeout_s), 1, 86400 },
	{ "max_inflight", false, CONFIG_KEY_UINT, set_uint, CFG(max_inflight), 1, 65536 },
	{ "max_output_bytes", false, CONFIG_KEY_SIZE, set_size, CFG(max_output_bytes),
	  65536, 1UL << 30 },
	{ "metrics_listen", false, CONFIG_KEY_LISTEN, set_listen, CFG(metrics_listen), 0, 0 },
	{ "log_level", false, CONFIG_KEY_LOG_LEVEL, set_log_level, CFG(log_level), 0, 0 },
	{ "max_connections", false, CONFIG_KEY_UINT, set_uint, CFG(max_connections),
	  1, 1000000 },
	{ "max_connections_per_org", false, CONFIG_KEY_UINT, set_uint,
	  CFG(max_connections_per_org), 1, 1000000 },
	{ "max_batch", false, CONFIG_KEY_UINT, set_uint, CFG(max_batch), 1, 65536 },
	{ "referral_expiry_s", false, CONFIG_KEY_UINT, set_uint, CFG(referral_expiry_s),
	  1, 10 * 365 * 86400 },
	{ "expiry_check_s", false, CONFIG_KEY_UINT, set_uint, CFG(expiry_check_s), 1, 86400 },
	{ "heartbeat_s", false, CONFIG_KEY_UINT, set_uint, CFG(heartbeat_s), 1, 3600 },
	{ "subscriber_stall_s", false, CONFIG_KEY_UINT, set_uint, CFG(subscriber_stall_s),
	  1, 86400 },
	{ "retention_s", false, CONFIG_KEY_UINT, set_uint, CFG(retention_s),
	  1, 100UL * 365 * 86400 },
	{ "retention_check_s", false, CONFIG_KEY_UINT, set_uint, CFG(retention_check_s),
	  1, 86400 },
	{ "journal_retention_s", false, CONFIG_KEY_UINT, set_uint, CFG(journal_retention_s), 1,
	  100UL * 365 * 86400 },
	{ NULL, false, CONFIG_KEY_END, NULL, 0, 0, 0 },
};

static const struct key platform_keys[] = {
	{ "code", true, CONFIG_KEY_CODE, set_code, PLAT(code), 0, 0 },
	{ "name", false, CONFIG_KEY_STRING, set_string, PLAT(name), 0, 0 },
	{ NULL, false, CONFIG_KEY_END, NULL, 0, 0, 0 },
};

static const struct key org_keys[] = {
	{ "kind", true, CONFIG_KEY_KIND, set_kind, ORG(kind), 0, 0 },
	{ "name", false, CONFIG_KEY_STRING, set_string, ORG(name), 0, 0 },
	{ "platforms", true, CONFIG_KEY_PLATFORMS, set_platforms, ORG(platforms), 0, 0 },
	{ "data_protection", false, CONFIG_KEY_BOOL, set_data_protection, ORG(data_protection),
	  0, 0 },
	{ NULL, false, CONFIG_KEY_END, NULL, 0, 0, 0 },
};

/* (tests/deploy/test_config_check.sh reads the tables above by their names.) */
const struct key *const config_global_keys = global_keys;
const struct key *const config_platform_keys = platform_keys;
const struct key *const config_org_keys = org_keys;

static const struct key *keys_of(enum section sec)
{
	if (sec == SEC_PLATFORM)
		return platform_keys;
	if (sec == SEC_ORG)
		return org_keys;
	return global_keys;
}

const struct key *config_find_key(const struct key *keys, const char *name, unsigned *bit)
{
	for (unsigned i = 0; keys[i].name; i++) {
		if (!strcmp(keys[i].name, name)) {
			*bit = 1u << i;
			return &keys[i];
		}
	}
	return NULL;
}

/* Every required key of the section just finished must have been given, and
 * only a coordination may hold the data-protection role. */
static int end_section(struct parser *p)
{
	const struct key *keys = keys_of(p->sec);
	const struct org *o;

	for (unsigned i = 0; keys[i].name; i++)
		if (keys[i].required && !(p->seen & (1u << i)))
			return perr(p, p->sec_line, "missing required key '%s'", keys[i].name);
	if (p->sec != SEC_ORG)
		return 0;
	o = &p->cfg->orgs[p->cfg->n_orgs - 1];
	if (o->data_protection && o->kind != MAILLAGE__V1__ORG_KIND__COORDINATION)
		return perr(p, p->org_lines[p->cfg->n_orgs - 1].data_protection,
			    "'data_protection = yes' is only for a COORDINATION organisation, "
			    "and org '%s' is %s", o->id, wire_org_kind_name(o->kind));
	return 0;
}

/* Append a zeroed platform or org named id, with its header line. */
static int add_section(struct parser *p, const char *id)
{
	struct config *cfg = p->cfg;
	bool plat = p->sec == SEC_PLATFORM;
	size_t n = plat ? cfg->n_platforms : cfg->n_orgs;
	struct section_lines *lines;
	char *copy;

	lines = realloc(plat ? p->plat_lines : p->org_lines, (n + 1) * sizeof(*lines));
	if (!lines)
		return ML_ENOMEM;
	if (plat)
		p->plat_lines = lines;
	else
		p->org_lines = lines;
	lines[n].header = p->line;
	lines[n].platforms = 0;
	lines[n].data_protection = 0;
	copy = strdup(id);
	if (!copy)
		return ML_ENOMEM;
	if (plat) {
		struct platform *more = realloc(cfg->platforms, (n + 1) * sizeof(*more));

		if (!more)
			goto err_free_copy;
		cfg->platforms = more;
		memset(&more[n], 0, sizeof(*more));
		more[n].id = copy;
		cfg->n_platforms++;
	} else {
		struct org *more = realloc(cfg->orgs, (n + 1) * sizeof(*more));

		if (!more)
			goto err_free_copy;
		cfg->orgs = more;
		memset(&more[n], 0, sizeof(*more));
		more[n].id = copy;
		cfg->n_orgs++;
	}
	return 0;

err_free_copy:
	free(copy);
	return ML_ENOMEM;
}

/* "[platform ID]" or "[org ID]": close the previous section, open this one. */
static int begin_section(struct parser *p, char *line)
{
	size_t len = strlen(line);
	char *type, *id, *sp;
	const char *kind;
	unsigned first;
	int rc = end_section(p);

	if (rc)
		return rc;
	if (line[len - 1] != ']')
		return perr(p, p->line, "bad section header '%s' (expected [platform ID] or "
			    "[org ID])", line);
	line[len - 1] = 0;
	type = trim(line + 1);
	sp = type + strcspn(type, " \t");
	id = trim(sp);
	*sp = 0;
	if (!type[0] || !id[0] || strpbrk(id, " \t"))
		return perr(p, p->line, "bad section header '[%s%s%s]' (expected [platform ID] "
			    "or [org ID])", type, id[0] ? " " : "", id);
	if (!strcmp(type, "platform"))
		p->sec = SEC_PLATFORM;
	else if (!strcmp(type, "org"))
		p->sec = SEC_ORG;
	else
		return perr(p, p->line, "unknown section type '%s' (expected platform or org)",
			    type);
	kind = p->sec == SEC_PLATFORM ? "platform" : "org";
	if (!valid_id(id, strlen(id)))
		return perr(p, p->line, "bad %s id '%s': 1 to %d lowercase letters, digits or '-'",
			    kind, id, CONFIG_ID_MAX);
	if (p->sec == SEC_PLATFORM && config_find_platform(p->cfg, id)) {
		first = p->plat_lines[config_find_platform(p->cfg, id) - p->cfg->platforms].header;
		return perr(p, p->line, "duplicate platform '%s' (first declared at line %u)",
			    id, first);
	}
	if (p->sec == SEC_ORG && config_find_org(p->cfg, id)) {
		first = p->org_lines[config_find_org(p->cfg, id) - p->cfg->orgs].header;
		return perr(p, p->line, "duplicate org '%s' (first declared at line %u)",
			    id, first);
	}
	rc = add_section(p, id);
	if (rc)
		return rc;
	p->seen = 0;
	p->sec_line = p->line;
	return 0;
}

static int key_value(struct parser *p, char *line)
{
	char *eq = strchr(line, '='), *name, *value;
	const struct key *k;
	unsigned bit;

	if (!eq)
		return perr(p, p->line, "expected 'key = value', not '%s'", line);
	*eq = 0;
	name = trim(line);
	value = trim(eq + 1);
	if (!name[0])
		return perr(p, p->line, "missing key before '='");
	k = config_find_key(keys_of(p->sec), name, &bit);
	if (!k && p->sec != SEC_GLOBAL && config_find_key(global_keys, name, &bit))
		return perr(p, p->line, "global key '%s' must come before the first section",
			    name);
	if (!k && p->sec != SEC_GLOBAL)
		return perr(p, p->line, "unknown key '%s' in [%s %s]", name,
			    p->sec == SEC_PLATFORM ? "platform" : "org",
			    p->sec == SEC_PLATFORM ?
			    p->cfg->platforms[p->cfg->n_platforms - 1].id :
			    p->cfg->orgs[p->cfg->n_orgs - 1].id);
	if (!k)
		return perr(p, p->line, "unknown key '%s'", name);
	if (p->seen & bit)
		return perr(p, p->line, "duplicate key '%s'", name);
	p->seen |= bit;
	if (!value[0])
		return perr(p, p->line, "empty value for '%s'", name);
	return k->set(p, k, value);
}

/* After the last line: sections complete, org platforms declared. */
static int finish(struct parser *p)
{
	struct config *cfg = p->cfg;
	int rc = end_section(p);

	if (rc)
		return rc;
	if (!cfg->n_platforms)
		return perr(p, 0, "no [platform ID] section: at least one platform is required");
	if (!cfg->n_orgs)
		return perr(p, 0, "no [org ID] section: at least one organisation is required");
	for (size_t i = 0; i < cfg->n_orgs; i++)
		for (size_t j = 0; j < cfg->orgs[i].n_platforms; j++)
			if (!config_find_platform(cfg, cfg->orgs[i].platforms[j]))
				return perr(p, p->org_lines[i].platforms,
					    "unknown platform '%s' in org '%s'",
					    cfg->orgs[i].platforms[j], cfg->orgs[i].id);
	return 0;
}

static int parse_file(struct parser *p, FILE *f)
{
	char *buf = NULL, *line;
	size_t cap = 0;
	int rc = 0;

	while (!rc && getline(&buf, &cap, f) >= 0) {
		p->line++;
		line = trim(buf);
		if (!line[0] || line[0] == '#')
			continue;
		rc = line[0] == '[' ? begin_section(p, line) : key_value(p, line);
	}
	if (!rc && ferror(f))
		rc = perr_rc(p, ML_EIO, p->line, "cannot read: %s", strerror(errno));
	free(buf);
	return rc ? rc : finish(p);
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A key file: 64 hex characters (CONFIG_SECRET_LEN bytes) and an optional
 * newline, in a regular file that neither group nor others may read or write.
 * path was named at line; the key is written to out, which is wiped when the
 * file is malformed. */
static int read_key_file(struct parser *p, const char *path, unsigned line,
			 uint8_t out[CONFIG_SECRET_LEN])
{
	char buf[2 * CONFIG_SECRET_LEN + 3];
	struct stat st;
	size_t n;
	int rc = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return perr_rc(p, ML_EIO, line, "cannot open '%s': %s", path, strerror(errno));
	if (fstat(fileno(f), &st)) {
		rc = perr_rc(p, ML_EIO, line, "cannot stat '%s': %s", path, strerror(errno));
		goto err_close;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = perr(p, line, "'%s' is not a regular file", path);
		goto err_close;
	}
	if (st.st_mode & (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH)) {
		rc = perr(p, line, "'%s' must not be accessible by group or others "
			  "(chmod 600)", path);
		goto err_close;
	}
	n = fread(buf, 1, sizeof(buf), f);
	if (ferror(f)) {
		rc = perr_rc(p, ML_EIO, line, "cannot read '%s': %s", path, strerror(errno));
		goto err_wipe;
	}
	if (n == 2 * CONFIG_SECRET_LEN + 1 && buf[n - 1] == '\n')
		n--;
	for (size_t i = 0; n == 2 * CONFIG_SECRET_LEN && i < CONFIG_SECRET_LEN; i++) {
		int hi = hexval((unsigned char)buf[2 * i]);
		int lo = hexval((unsigned char)buf[2 * i + 1]);

		if (hi < 0 || lo < 0)
			n = 0;
		else
			out[i] = (uint8_t)(hi << 4 | lo);
	}
	if (n != 2 * CONFIG_SECRET_LEN) {
		explicit_bzero(out, CONFIG_SECRET_LEN);
		rc = perr(p, line, "'%s' must hold 64 hexadecimal characters "
			  "(openssl rand -hex 32)", path);
	}
err_wipe:
	explicit_bzero(buf, sizeof(buf));
err_close:
	fclose(f);
	return rc;
}

/* The household secret and the master key, which must differ: one key must
 * not serve both to link households and to wrap their data keys. */
static int read_keys(struct parser *p)
{
	struct config *cfg = p->cfg;
	int rc;

	rc = read_key_file(p, cfg->household_secret_file, p->secret_line,
			   cfg->household_secret);
	if (!rc)
		rc = read_key_file(p, cfg->master_key_file, p->master_key_line,
				   cfg->master_key);
	if (!rc && !memcmp(cfg->master_key, cfg->household_secret, CONFIG_SECRET_LEN))
		rc = perr(p, p->master_key_line, "'%s' holds the same key as '%s': the master "
			  "key and the household secret must differ", cfg->master_key_file,
			  cfg->household_secret_file);
	return rc;
}

static void set_defaults(struct config *cfg)
{
	cfg->max_frame_bytes = 1u << 20;
	cfg->map_size_mb = 1024;
	cfg->handshake_timeout_s = 10;
	cfg->frame_timeout_s = 30;
	cfg->idle_timeout_s = 600;
	cfg->max_inflight = 256;
	cfg->max_output_bytes = 4u << 20;
	cfg->log_level = 1;
	cfg->max_connections = 20000;
	cfg->max_connections_per_org = 1000;
	cfg->max_batch = 4096;
	cfg->referral_expiry_s = 30 * 86400;
	cfg->expiry_check_s = 60;
	cfg->heartbeat_s = 15;
	cfg->subscriber_stall_s = 60;
	cfg->retention_s = 730 * 86400;
	cfg->retention_check_s = 3600;
	cfg->journal_retention_s = 365 * 86400;
}

/* The absolute directory of path: relative paths in the file start there. */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *cwd, *dir, *rel;

	if (path[0] == '/')
		return strndup(path, slash == path ? 1 : (size_t)(slash - path));
	cwd = getcwd(NULL, 0);
	if (!cwd || !slash)
		return cwd;
	rel = strndup(path, (size_t)(slash - path));
	dir = rel ? join_path(cwd, rel) : NULL;
	free(rel);
	free(cwd);
	return dir;
}

int config_load(const char *path, struct config **out, char *err, size_t errlen)
{
	struct parser p = { .path = path, .err = err, .errlen = errlen };
	FILE *f;
	int rc;

	*out = NULL;
	if (errlen)
		err[0] = 0;
	f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "cannot open '%s': %s", path, strerror(errno));
		return ML_EIO;
	}
	rc = ML_ENOMEM;
	p.cfg = calloc(1, sizeof(*p.cfg));
	if (!p.cfg)
		goto err_close;
	p.cfg->path = strdup(path);
	p.dir = dir_of(path);
	if (!p.cfg->path || !p.dir)
		goto err_free;
	set_defaults(p.cfg);
	rc = parse_file(&p, f);
	if (!rc)
		rc = read_keys(&p);
	if (rc)
		goto err_free;
	fclose(f);
	free(p.plat_lines);
	free(p.org_lines);
	free(p.dir);
	*out = p.cfg;
	return 0;

err_free:
	free(p.plat_lines);
	free(p.org_lines);
	free(p.dir);
	config_free(p.cfg);
err_close:
	fclose(f);
	if (rc == ML_ENOMEM)
		perr_rc(&p, rc, p.line, "out of memory");
	return rc;
}

void config_free(struct config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->n_platforms; i++) {
		free(cfg->platforms[i].id);
		free(cfg->platforms[i].code);
		free(cfg->platforms[i].name);
	}
	for (size_t i = 0; i < cfg->n_orgs; i++) {
		free(cfg->orgs[i].id);
		free(cfg->orgs[i].name);
		for (size_t j = 0; j < cfg->orgs[i].n_platforms; j++)
			free(cfg->orgs[i].platforms[j]);
		free(cfg->orgs[i].platforms);
	}
	free(cfg->platforms);
	free(cfg->orgs);
	free(cfg->path);
	free(cfg->listen);
	free(cfg->metrics_listen);
	free(cfg->data_dir);
	free(cfg->tls_cert);
	free(cfg->tls_key);
	free(cfg->tls_ca);
	free(cfg->tls_crl);
	free(cfg->household_secret_file);
	explicit_bzero(cfg->household_secret, sizeof(cfg->household_secret));
	free(cfg->master_key_file);
	explicit_bzero(cfg->master_key, sizeof(cfg->master_key));
	free(cfg);
}

const struct org *config_find_org(const struct config *cfg, const char *id)
{
	for (size_t i = 0; i < cfg->n_orgs; i++)
		if (!strcmp(cfg->orgs[i].id, id))
			return &cfg->orgs[i];
	return NULL;
}

const struct platform *config_find_platform(const struct config *cfg, const char *id)
{
	for (size_t i = 0; i < cfg->n_platforms; i++)
		if (!strcmp(cfg->platforms[i].id, id))
			return &cfg->platforms[i];
	return NULL;
}

const struct platform *config_platform_by_code(const struct config *cfg,
					       const char *code, size_t len)
{
	for (size_t i = 0; i < cfg->n_platforms; i++)
		if (strlen(cfg->platforms[i].code) == len &&
		    !memcmp(cfg->platforms[i].code, code, len))
			return &cfg->platforms[i];
	return NULL;
}

bool org_is_member(const struct org *org, const char *platform)
{
	for (size_t i = 0; i < org->n_platforms; i++)
		if (!strcmp(org->platforms[i], platform))
			return true;
	return false;
}
