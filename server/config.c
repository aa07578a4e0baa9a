/* config.c - reading and checking the configuration file (format in config.h
 * and deploy/maillaged.conf.example). Every error names FILE:LINE.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "err.h"
#include "wire.h"

enum section { SEC_GLOBAL, SEC_PLATFORM, SEC_ORG };

struct parser {
	struct config *cfg;
	const char *path;
	char *dir;                 /* directory of the file, for relative paths */
	unsigned line;
	enum section sec;
	unsigned sec_line;
	unsigned seen;             /* keys seen in the current section (bit per key) */
	char *err;
	size_t errlen;
};

static int perr(struct parser *p, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int perr(struct parser *p, unsigned line, const char *fmt, ...)
{
	int n = snprintf(p->err, p->errlen, "%s:%u: ", p->path, line);
	va_list ap;

	if (n >= 0 && (size_t)n < p->errlen) {
		va_start(ap, fmt);
		vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return ML_ECONFIG;
}

/* Key tables: the key, a bit for "seen", required, and its setter. */
struct key {
	const char *name;
	bool required;
	int (*set)(struct parser *p, const struct key *k, const char *value);
	size_t offset;             /* into struct config, platform or org */
	unsigned long min, max;    /* numbers */
	size_t width;              /* numbers: sizeof the field (unsigned or size_t) */
};

static char **field_str(void *base, const struct key *k)
{
	return (char **)((char *)base + k->offset);
}

static void *section_base(struct parser *p)
{
	struct config *cfg = p->cfg;

	if (p->sec == SEC_PLATFORM)
		return &cfg->platforms[cfg->n_platforms - 1];
	if (p->sec == SEC_ORG)
		return &cfg->orgs[cfg->n_orgs - 1];
	return cfg;
}

static int set_string(struct parser *p, const struct key *k, const char *value)
{
	char **f = field_str(section_base(p), k);

	free(*f);
	*f = strdup(value);
	return *f ? 0 : ML_ENOMEM;
}

static int set_path(struct parser *p, const struct key *k, const char *value)
{
	char **f = field_str(section_base(p), k);
	size_t n;

	if (!value[0])
		return perr(p, p->line, "'%s' must not be empty", k->name);
	free(*f);
	if (value[0] == '/') {
		*f = strdup(value);
	} else {
		n = strlen(p->dir) + strlen(value) + 2;
		*f = malloc(n);
		if (*f)
			snprintf(*f, n, "%s/%s", p->dir, value);
	}
	return *f ? 0 : ML_ENOMEM;
}

static int set_number(struct parser *p, const struct key *k, const char *value)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(value, &end, 10);
	if (!isdigit((unsigned char)value[0]) || *end || errno || v < k->min || v > k->max)
		return perr(p, p->line, "'%s' must be a whole number from %lu to %lu, not '%s'",
			    k->name, k->min, k->max, value);
	if (k->width == sizeof(size_t))
		*(size_t *)((char *)p->cfg + k->offset) = v;
	else
		*(unsigned *)((char *)p->cfg + k->offset) = (unsigned)v;
	return 0;
}

static int set_listen(struct parser *p, const struct key *k, const char *value)
{
	const char *colon = strrchr(value, ':');
	char *end;
	long port;

	if (!colon || colon == value)
		return perr(p, p->line, "'listen' must be HOST:PORT, not '%s'", value);
	port = strtol(colon + 1, &end, 10);
	if (*end || port < 1 || port > 65535)
		return perr(p, p->line, "'listen' port must be 1 to 65535, not '%s'", colon + 1);
	return set_string(p, k, value);
}

static int set_code(struct parser *p, const struct key *k, const char *value)
{
	size_t n = strlen(value);

	for (size_t i = 0; i < n; i++)
		if (value[i] < 'A' || value[i] > 'Z')
			n = 0;
	if (n < 2 || n > 6)
		return perr(p, p->line, "'code' must be 2 to 6 capital letters, not '%s'", value);
	for (size_t i = 0; i + 1 < p->cfg->n_platforms; i++)
		if (p->cfg->platforms[i].code && !strcmp(p->cfg->platforms[i].code, value))
			return perr(p, p->line, "code '%s' is already used by platform '%s'",
				    value, p->cfg->platforms[i].id);
	return set_string(p, k, value);
}

static int set_kind(struct parser *p, const struct key *k, const char *value)
{
	int kind = wire_org_kind_from_name(value);

	(void)k;
	if (!kind)
		return perr(p, p->line, "unknown organisation kind '%s' (LANDLORD, CCAS, MDM, "
			    "HOSPITAL, SIAO, ASSOCIATION, COORDINATION, FUNDER, AUDITOR)", value);
	p->cfg->orgs[p->cfg->n_orgs - 1].kind = kind;
	return 0;
}

/* Platform ids are checked once every section is read. */
static int set_platforms(struct parser *p, const struct key *k, const char *value)
{
	struct org *o = &p->cfg->orgs[p->cfg->n_orgs - 1];
	char *copy = strdup(value), *save = NULL, *tok;

	(void)k;
	if (!copy)
		return ML_ENOMEM;
	for (tok = strtok_r(copy, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
		char **more = realloc(o->platforms, (o->n_platforms + 1) * sizeof(*more));

		if (!more || !(more[o->n_platforms] = strdup(tok))) {
			if (more)
				o->platforms = more;
			free(copy);
			return ML_ENOMEM;
		}
		o->platforms = more;
		o->n_platforms++;
	}
	free(copy);
	if (!o->n_platforms)
		return perr(p, p->line, "'platforms' must name at least one platform");
	return 0;
}

#define CFG(f) offsetof(struct config, f)
#define PLAT(f) offsetof(struct platform, f)
#define ORG(f) offsetof(struct org, f)

static const struct key global_keys[] = {
	{ "listen", true, set_listen, CFG(listen), 0, 0, 0 },
	{ "data_dir", true, set_path, CFG(data_dir), 0, 0, 0 },
	{ "tls_cert", true, set_path, CFG(tls_cert), 0, 0, 0 },
	{ "tls_key", true, set_path, CFG(tls_key), 0, 0, 0 },
	{ "tls_ca", true, set_path, CFG(tls_ca), 0, 0, 0 },
	{ "household_secret_file", true, set_path, CFG(household_secret_file), 0, 0, 0 },
	{ "max_frame_bytes", false, set_number, CFG(max_frame_bytes), 1024, 64UL << 20, sizeof(size_t) },
	{ "map_size_mb", false, set_number, CFG(map_size_mb), 16, 1048576UL, sizeof(size_t) },
	{ "handshake_timeout_s", false, set_number, CFG(handshake_timeout_s), 1, 3600, sizeof(unsigned) },
	{ "frame_timeout_s", false, set_number, CFG(frame_timeout_s), 1, 3600, sizeof(unsigned) },
	{ "idle_timeout_s", false, set_number, CFG(idle_timeout_s), 1, 86400, sizeof(unsigned) },
	{ "max_inflight", false, set_number, CFG(max_inflight), 1, 65536, sizeof(unsigned) },
	{ "max_batch", false, set_number, CFG(max_batch), 1, 65536, sizeof(unsigned) },
	{ NULL, false, NULL, 0, 0, 0, 0 },
};

static const struct key platform_keys[] = {
	{ "code", true, set_code, PLAT(code), 0, 0, 0 },
	{ "name", false, set_string, PLAT(name), 0, 0, 0 },
	{ NULL, false, NULL, 0, 0, 0, 0 },
};

static const struct key org_keys[] = {
	{ "kind", true, set_kind, 0, 0, 0, 0 },
	{ "platforms", true, set_platforms, 0, 0, 0, 0 },
	{ "name", false, set_string, ORG(name), 0, 0, 0 },
	{ NULL, false, NULL, 0, 0, 0, 0 },
};

static const struct key *keys_of(enum section sec)
{
	return sec == SEC_PLATFORM ? platform_keys : sec == SEC_ORG ? org_keys : global_keys;
}

/* Every required key of the section just finished must have been given. */
static int end_section(struct parser *p)
{
	const struct key *keys = keys_of(p->sec);

	for (unsigned i = 0; keys[i].name; i++)
		if (keys[i].required && !(p->seen & (1u << i)))
			return perr(p, p->sec_line, "missing required key '%s'", keys[i].name);
	return 0;
}

static bool valid_id(const char *id)
{
	size_t n = strlen(id);

	if (n < 1 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!islower((unsigned char)id[i]) && !isdigit((unsigned char)id[i]) && id[i] != '-')
			return false;
	return true;
}

static bool id_taken(const struct config *cfg, enum section sec, const char *id)
{
	if (sec == SEC_PLATFORM)
		return config_find_platform(cfg, id) != NULL;
	return config_find_org(cfg, id) != NULL;
}

/* "[platform ID]" or "[org ID]": close the previous section, open this one. */
static int begin_section(struct parser *p, char *line)
{
	char type[16], id[80], extra;
	struct config *cfg = p->cfg;
	int rc = end_section(p);

	if (rc)
		return rc;
	if (sscanf(line, "[%15s %79[^] \t]]%c", type, id, &extra) != 2 ||
	    line[strlen(line) - 1] != ']')
		return perr(p, p->line, "bad section header '%s' (use [platform ID] or [org ID])",
			    line);
	if (!strcmp(type, "platform"))
		p->sec = SEC_PLATFORM;
	else if (!strcmp(type, "org"))
		p->sec = SEC_ORG;
	else
		return perr(p, p->line, "unknown section type '%s' (platform or org)", type);
	if (!valid_id(id))
		return perr(p, p->line, "bad id '%s': 1 to 64 lowercase letters, digits or '-'", id);
	if (id_taken(cfg, p->sec, id))
		return perr(p, p->line, "duplicate %s '%s'", type, id);
	if (p->sec == SEC_PLATFORM) {
		struct platform *more = realloc(cfg->platforms,
						(cfg->n_platforms + 1) * sizeof(*more));

		if (!more)
			return ML_ENOMEM;
		cfg->platforms = more;
		memset(&more[cfg->n_platforms], 0, sizeof(*more));
		if (!(more[cfg->n_platforms].id = strdup(id)))
			return ML_ENOMEM;
		cfg->n_platforms++;
	} else {
		struct org *more = realloc(cfg->orgs, (cfg->n_orgs + 1) * sizeof(*more));

		if (!more)
			return ML_ENOMEM;
		cfg->orgs = more;
		memset(&more[cfg->n_orgs], 0, sizeof(*more));
		if (!(more[cfg->n_orgs].id = strdup(id)))
			return ML_ENOMEM;
		cfg->n_orgs++;
	}
	p->seen = 0;
	p->sec_line = p->line;
	return 0;
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

static int key_value(struct parser *p, char *line)
{
	const struct key *keys = keys_of(p->sec);
	char *eq = strchr(line, '='), *name, *value;

	if (!eq)
		return perr(p, p->line, "expected 'key = value', got '%s'", line);
	*eq = 0;
	name = trim(line);
	value = trim(eq + 1);
	for (unsigned i = 0; keys[i].name; i++) {
		if (strcmp(keys[i].name, name))
			continue;
		if (p->seen & (1u << i))
			return perr(p, p->line, "duplicate key '%s'", name);
		p->seen |= 1u << i;
		return keys[i].set(p, &keys[i], value);
	}
	return perr(p, p->line, "unknown key '%s'%s", name,
		    p->sec == SEC_GLOBAL ? "" : " in this section");
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The household secret: 64 hex characters, private to the server's user. */
static int read_secret(struct config *cfg, char *err, size_t errlen)
{
	const char *path = cfg->household_secret_file;
	char buf[80];
	struct stat st;
	size_t n;
	FILE *f = fopen(path, "r");

	if (!f) {
		snprintf(err, errlen, "cannot open household secret '%s': %s", path,
			 strerror(errno));
		return ML_EIO;
	}
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077)) {
		fclose(f);
		snprintf(err, errlen, "household secret '%s' must not be accessible by group "
			 "or others (chmod 600)", path);
		return ML_ECONFIG;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	if (n > 0 && buf[n - 1] == '\n')
		buf[--n] = 0;
	for (size_t i = 0; n == 2 * CONFIG_SECRET_LEN && i < CONFIG_SECRET_LEN; i++) {
		int hi = hexval(buf[2 * i]), lo = hexval(buf[2 * i + 1]);

		if (hi < 0 || lo < 0)
			n = 0;
		else
			cfg->household_secret[i] = (uint8_t)(hi << 4 | lo);
	}
	if (n != 2 * CONFIG_SECRET_LEN) {
		snprintf(err, errlen, "household secret '%s' must hold 64 hexadecimal characters "
			 "(e.g. from 'openssl rand -hex 32')", path);
		return ML_ECONFIG;
	}
	return 0;
}

/* After the last line: sections complete, org platforms declared. */
static int finish(struct parser *p)
{
	struct config *cfg = p->cfg;
	int rc = end_section(p);

	if (rc)
		return rc;
	if (!cfg->n_platforms || !cfg->n_orgs)
		return perr(p, p->line, "at least one [platform ID] and one [org ID] are needed");
	for (size_t i = 0; i < cfg->n_orgs; i++)
		for (size_t j = 0; j < cfg->orgs[i].n_platforms; j++)
			if (!config_find_platform(cfg, cfg->orgs[i].platforms[j]))
				return perr(p, 0, "organisation '%s' names unknown platform '%s'",
					    cfg->orgs[i].id, cfg->orgs[i].platforms[j]);
	return 0;
}

static void set_defaults(struct config *cfg)
{
	cfg->max_frame_bytes = 1u << 20;
	cfg->map_size_mb = 1024;
	cfg->handshake_timeout_s = 10;
	cfg->frame_timeout_s = 30;
	cfg->idle_timeout_s = 600;
	cfg->max_inflight = 256;
	cfg->max_batch = 512;
}

static int parse_file(struct parser *p, FILE *f)
{
	char *buf = NULL, *line;
	size_t cap = 0;
	int rc = 0;

	while (!rc && getline(&buf, &cap, f) > 0) {
		p->line++;
		line = trim(buf);
		if (!line[0] || line[0] == '#')
			continue;
		rc = line[0] == '[' ? begin_section(p, line) : key_value(p, line);
	}
	free(buf);
	return rc ? rc : finish(p);
}

int config_load(const char *path, struct config **out, char *err, size_t errlen)
{
	struct parser p = { .path = path, .err = err, .errlen = errlen };
	const char *slash = strrchr(path, '/');
	FILE *f;
	int rc = ML_ENOMEM;

	p.cfg = calloc(1, sizeof(*p.cfg));
	p.dir = slash ? strndup(path, (size_t)(slash - path + (slash == path))) : strdup(".");
	if (!p.cfg || !p.dir || !(p.cfg->path = strdup(path))) {
		snprintf(err, errlen, "out of memory");
		goto err_free;
	}
	set_defaults(p.cfg);
	f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "cannot open '%s': %s", path, strerror(errno));
		rc = ML_EIO;
		goto err_free;
	}
	rc = parse_file(&p, f);
	fclose(f);
	if (!rc)
		rc = read_secret(p.cfg, err, errlen);
	if (rc == ML_ENOMEM)
		snprintf(err, errlen, "out of memory");
	if (rc)
		goto err_free;
	free(p.dir);
	*out = p.cfg;
	return 0;

err_free:
	free(p.dir);
	config_free(p.cfg);
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
	free(cfg->data_dir);
	free(cfg->tls_cert);
	free(cfg->tls_key);
	free(cfg->tls_ca);
	free(cfg->household_secret_file);
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
