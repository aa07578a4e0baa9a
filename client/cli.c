/* cli.c - `maillage`, the command-line client: one table of subcommands, each
 * naming its Request body and mapping its options to that body's fields; one
 * path to parse, build, connect, send and print for people or (--json) scripts.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_json.h"
#include "mlclient.h"
#include "watch.h"

#define EXIT_USAGE 1
#define EXIT_CONNECTION 2
#define EXIT_REFUSED_BASE 10

#define MAX_ARGS 256
#define MAX_LONGOPTS 48
#define OPT_VAL_BASE 1000       /* getopt_long val of optdef i: OPT_VAL_BASE + i */

#define DESC(x) (&maillage__v1__##x##__descriptor)

/* optdef.flags */
#define O_REQUIRED 0x1          /* the subcommand needs it */
#define O_REPEAT   0x2          /* may be given more than once (repeated field) */
#define O_FLAG     0x4          /* takes no value */
#define O_EUROS    0x8          /* "1234.56" euros into an int64 of cents */
#define O_REQUEST  0x10         /* path is a field of the Request, not of the body */

/*
 * One option. path names the field it sets, from the subcommand's body message
 * (e.g. "referral.household.debt_cents"), or from the Request with O_REQUEST;
 * the value is converted by the field's type: strings as they are, integers,
 * enums by value name, bytes from hex, repeated fields appended to. A NULL
 * path is read by the subcommand's builder or by main() (global options).
 */
struct cli;

struct optdef {
	const char *name;
	const char *path;
	unsigned flags;
	const char *arg;        /* placeholder in the help, NULL for O_FLAG */
	const char *help;
};

struct subcmd {
	const char *name;
	const char *summary;         /* one line for the top-level help */
	const char *body;            /* the Request oneof member it sends */
	const char *positional;      /* field set by the CASE_ID argument, or NULL */
	bool is_command;             /* appends events: gets a command_id */
	const char *done;            /* human output: "<done> CASE (version, position)" */
	const struct optdef *opts;   /* terminated by a NULL name */
	/* Optional: what the option table cannot say. 0 or -1 (cli->err set). */
	int (*build)(struct cli *cli, mlc_request *req, ProtobufCMessage *body);
};

/* An option as given on the command line. */
struct arg {
	const struct optdef *def;
	const char *value;           /* NULL for flags */
};

struct cli {
	const struct subcmd *cmd;
	const char *positional;
	struct arg args[MAX_ARGS];
	int n_args;
	bool json;
	char err[1024];
};

static int fail(struct cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct cli *cli, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cli->err, sizeof(cli->err), fmt, ap);
	va_end(ap);
	return -1;
}

/* Append to the string in buf (of len bytes, *used of them taken), truncating. */
static void append(char *buf, size_t len, size_t *used, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void append(char *buf, size_t len, size_t *used, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*used >= len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *used, len - *used, fmt, ap);
	va_end(ap);
	*used = n < 0 ? len : *used + (size_t)n;
}

static void *check_alloc(void *p)
{
	if (!p) {
		fputs("maillage: out of memory\n", stderr);
		exit(EXIT_CONNECTION);
	}
	return p;
}

static void *xcalloc(size_t n, size_t size)
{
	return check_alloc(calloc(n ? n : 1, size));
}

static char *xstrdup(const char *s)
{
	return check_alloc(strdup(s));
}

/* The last value of option name ("" for a flag), NULL when not given. */
static const char *arg_get(const struct cli *cli, const char *name)
{
	for (int i = cli->n_args - 1; i >= 0; i--)
		if (!strcmp(cli->args[i].def->name, name))
			return cli->args[i].value ? cli->args[i].value : "";
	return NULL;
}

/* ------------------------------------------------------------------------
 * Enum values by name.
 */

/* Length of the prefix ("REASON_") shared by every named value of d but the
 * unspecified 0, up to an underscore; 0 if none. Help and lists omit it. */
static size_t enum_prefix(const ProtobufCEnumDescriptor *d)
{
	const char *first = NULL;
	size_t n = 0;

	for (unsigned i = 0; i < d->n_values; i++) {
		const char *name = d->values[i].name;

		if (d->values[i].value == 0)
			continue;
		if (!first) {
			const char *us = strrchr(name, '_');

			first = name;
			n = us ? (size_t)(us - name + 1) : 0;
		}
		while (n && (strncmp(name, first, n) || first[n - 1] != '_' || !name[n]))
			n--;
	}
	return n;
}

/* The value's name as written on the command line: "unpaid_rent". */
static const char *enum_short(const ProtobufCEnumDescriptor *d, const ProtobufCEnumValue *v,
			      char *buf, size_t len)
{
	size_t i;
	const char *s = v->name + enum_prefix(d);

	for (i = 0; s[i] && i + 1 < len; i++)
		buf[i] = (char)tolower((unsigned char)s[i]);
	buf[i] = 0;
	return buf;
}

/* "a, b, c": the accepted values of d. */
static void enum_list(const ProtobufCEnumDescriptor *d, char *buf, size_t len)
{
	char one[64];
	size_t used = 0;

	buf[0] = 0;
	for (unsigned i = 0; i < d->n_values; i++)
		if (d->values[i].value)
			append(buf, len, &used, "%s%s", used ? ", " : "",
			       enum_short(d, &d->values[i], one, sizeof(one)));
}

/* Whether s names v: its whole name, or what follows any of its underscores
 * ("transfer" for REHOUSING_TRANSFER), case-insensitively. */
static bool enum_names(const ProtobufCEnumValue *v, const char *s, bool whole)
{
	if (whole)
		return !strcasecmp(v->name, s);
	for (const char *us = strchr(v->name, '_'); us; us = strchr(us + 1, '_'))
		if (!strcasecmp(us + 1, s))
			return true;
	return false;
}

/* The value of d named s; 0 with cli->err when none or several are. */
static int enum_resolve(struct cli *cli, const char *opt, const ProtobufCEnumDescriptor *d,
			const char *s)
{
	char list[1024];
	int found = 0;

	for (int whole = 1; whole >= 0; whole--) {
		for (unsigned i = 0; i < d->n_values; i++) {
			const ProtobufCEnumValue *v = &d->values[i];

			if (v->value == 0 || !enum_names(v, s, whole))
				continue;
			if (found && found != v->value) {
				enum_list(d, list, sizeof(list));
				fail(cli, "%s '%s' is ambiguous; one of: %s", opt, s, list);
				return 0;
			}
			found = v->value;
		}
		if (found)
			return found;
	}
	enum_list(d, list, sizeof(list));
	fail(cli, "%s '%s' is not one of: %s", opt, s, list);
	return 0;
}

/* The full name of value v of d ("IN_SUPPORT"), "-" for 0, the number if unknown. */
static const char *enum_name(const ProtobufCEnumDescriptor *d, int v)
{
	static char num[16];
	const ProtobufCEnumValue *e = protobuf_c_enum_descriptor_get_value(d, v);

	if (v == 0)
		return "-";
	if (e)
		return e->name;
	snprintf(num, sizeof(num), "%d", v);
	return num;
}

/* ------------------------------------------------------------------------
 * Values into message fields, by path and by the field's type.
 */

/* "1234.56" (or "1234,56", "1234") euros as cents, exactly: no floating point. */
static int parse_euros(struct cli *cli, const char *opt, const char *s, int64_t *out)
{
	int64_t units = 0;
	int decimals = -1, cents = 0;
	const char *p;

	for (p = s; *p; p++) {
		if ((*p == '.' || *p == ',') && decimals < 0 && p != s) {
			decimals = 0;
		} else if (isdigit((unsigned char)*p) && decimals < 0) {
			if (units > ((INT64_MAX - 99) / 100 - (*p - '0')) / 10)
				return fail(cli, "%s '%s' is too large", opt, s);
			units = units * 10 + (*p - '0');
		} else if (isdigit((unsigned char)*p) && decimals < 2) {
			cents = cents * 10 + (*p - '0');
			decimals++;
		} else {
			return fail(cli, "%s '%s' is not an amount in euros like 1234.56", opt, s);
		}
	}
	if (p == s || decimals == 0)
		return fail(cli, "%s '%s' is not an amount in euros like 1234.56", opt, s);
	if (decimals == 1)
		cents *= 10;
	*out = units * 100 + cents;
	return 0;
}

static int parse_uint(struct cli *cli, const char *opt, const char *s, uint64_t max,
		      uint64_t *out)
{
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(s, &end, 10);
	if (!isdigit((unsigned char)s[0]) || *end || errno || n > max)
		return fail(cli, "%s '%s' is not a whole number up to %" PRIu64, opt, s, max);
	*out = n;
	return 0;
}

static int parse_hex(struct cli *cli, const char *opt, const char *s, ProtobufCBinaryData *out)
{
	size_t n = strlen(s);

	if (n % 2)
		return fail(cli, "%s '%s' is not hexadecimal", opt, s);
	free(out->data);
	out->data = xcalloc(n / 2, 1);
	out->len = n / 2;
	for (size_t i = 0; i < n; i++) {
		int c = tolower((unsigned char)s[i]);
		int v = isdigit(c) ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;

		if (v < 0)
			return fail(cli, "%s '%s' is not hexadecimal", opt, s);
		out->data[i / 2] = (uint8_t)(out->data[i / 2] << 4 | v);
	}
	return 0;
}

/* Convert s for field f into the value at p (one element's storage). */
static int parse_value(struct cli *cli, const char *opt, const ProtobufCFieldDescriptor *f,
		       unsigned flags, const char *s, void *p)
{
	uint64_t u;

	if (flags & O_EUROS)
		return parse_euros(cli, opt, s, p);
	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING:
		*(char **)p = xstrdup(s);
		return 0;
	case PROTOBUF_C_TYPE_UINT32:
		if (parse_uint(cli, opt, s, UINT32_MAX, &u))
			return -1;
		*(uint32_t *)p = (uint32_t)u;
		return 0;
	case PROTOBUF_C_TYPE_UINT64:
		return parse_uint(cli, opt, s, UINT64_MAX, p);
	case PROTOBUF_C_TYPE_INT64:
		if (parse_uint(cli, opt, s, INT64_MAX, &u))
			return -1;
		*(int64_t *)p = (int64_t)u;
		return 0;
	case PROTOBUF_C_TYPE_BOOL:
		*(protobuf_c_boolean *)p = strcmp(s, "false") != 0;
		return 0;
	case PROTOBUF_C_TYPE_ENUM:
		*(int *)p = enum_resolve(cli, opt, f->descriptor, s);
		return *(int *)p ? 0 : -1;
	case PROTOBUF_C_TYPE_BYTES:
		return parse_hex(cli, opt, s, p);
	default:
		return fail(cli, "%s: field type %d not supported", opt, (int)f->type);
	}
}

/* Size of one element of a repeated field f. */
static size_t element_size(const ProtobufCFieldDescriptor *f)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING:
		return sizeof(char *);
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_UINT64:
		return sizeof(int64_t);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_ENUM:
		return sizeof(int);
	default:
		return sizeof(uint32_t);
	}
}

/* A new, initialised message of type d (freed with the Request). */
static ProtobufCMessage *message_new(const ProtobufCMessageDescriptor *d)
{
	ProtobufCMessage *m = xcalloc(1, d->sizeof_message);

	protobuf_c_message_init(d, m);
	return m;
}

/* Set the field at path ("referral.household.adults") under msg to s,
 * creating the messages on the way. opt names the option in messages. */
static int set_path(struct cli *cli, ProtobufCMessage *msg, const char *path,
		    const char *opt, unsigned flags, const char *s)
{
	const ProtobufCFieldDescriptor *f;
	char name[64];
	size_t n = strcspn(path, ".");

	if (n >= sizeof(name))
		return fail(cli, "%s: bad field path '%s'", opt, path);
	memcpy(name, path, n);
	name[n] = 0;
	f = protobuf_c_message_descriptor_get_field_by_name(msg->descriptor, name);
	if (!f)
		return fail(cli, "%s: no field '%s' in %s", opt, name, msg->descriptor->name);

	if (path[n] == '.') {
		ProtobufCMessage **sub = (ProtobufCMessage **)((char *)msg + f->offset);

		if (f->type != PROTOBUF_C_TYPE_MESSAGE || f->label == PROTOBUF_C_LABEL_REPEATED)
			return fail(cli, "%s: field '%s' is not a message", opt, name);
		if (!*sub)
			*sub = message_new(f->descriptor);
		return set_path(cli, *sub, path + n + 1, opt, flags, s);
	}
	if (f->label == PROTOBUF_C_LABEL_REPEATED) {
		size_t *count = (size_t *)((char *)msg + f->quantifier_offset);
		char **items = (char **)((char *)msg + f->offset);
		size_t size = element_size(f);
		char *grown = realloc(*items, (*count + 1) * size);

		if (!grown)
			return fail(cli, "out of memory");
		*items = grown;
		memset(grown + *count * size, 0, size);
		if (parse_value(cli, opt, f, flags, s, grown + *count * size))
			return -1;
		(*count)++;
		return 0;
	}
	if (f->type == PROTOBUF_C_TYPE_STRING) {
		char **old = (char **)((char *)msg + f->offset);

		if (*old != f->default_value)   /* init points at the shared "" */
			free(*old);
		*old = NULL;
	}
	return parse_value(cli, opt, f, flags, s, (char *)msg + f->offset);
}

/* The field descriptor at path from d, for the help; NULL if none. */
static const ProtobufCFieldDescriptor *field_at(const ProtobufCMessageDescriptor *d,
						const char *path)
{
	const ProtobufCFieldDescriptor *f;
	char name[64];
	size_t n = strcspn(path, ".");

	if (n >= sizeof(name))
		return NULL;
	memcpy(name, path, n);
	name[n] = 0;
	f = protobuf_c_message_descriptor_get_field_by_name(d, name);
	if (!f || path[n] != '.')
		return f;
	return f->type == PROTOBUF_C_TYPE_MESSAGE ? field_at(f->descriptor, path + n + 1) : NULL;
}

/* ------------------------------------------------------------------------
 * The subcommands.
 */

static const struct optdef global_opts[] = {
	{ "addr", NULL, 0, "HOST:PORT", "server address (MAILLAGE_ADDR)" },
	{ "cert", NULL, 0, "FILE", "client certificate, PEM (MAILLAGE_CERT)" },
	{ "key", NULL, 0, "FILE", "its private key, PEM (MAILLAGE_KEY)" },
	{ "ca", NULL, 0, "FILE", "CA of the server's certificate, PEM (MAILLAGE_CA)" },
	{ "timeout", NULL, 0, "MS", "limit for connecting and for each read or write "
	  "(default 10000)" },
	{ "json", NULL, O_FLAG, NULL, "print the whole response as one JSON object" },
	{ "help", NULL, O_FLAG, NULL, "this help" },
	{ NULL, NULL, 0, NULL, NULL }
};

/* Every subcommand also takes these (the server ignores them on queries). */
static const struct optdef request_opts[] = {
	{ "command-id", "command_id", O_REQUEST, "HEX32",
	  "retry with the id of the first attempt (default: random)" },
	{ "expected-version", "expected_version", O_REQUEST, "N",
	  "refused (ABORTED) unless the case is at version N" },
	{ "correlation-id", "correlation_id", O_REQUEST, "TEXT",
	  "your own reference, kept in the event" },
	{ "purpose", "purpose", O_REQUEST, "TEXT",
	  "why you read the case (kept in its access journal; no personal data)" },
	{ NULL, NULL, 0, NULL, NULL }
};

static const struct optdef ping_opts[] = {
	{ NULL, NULL, 0, NULL, NULL }
};

static const struct optdef refer_opts[] = {
	{ "platform", "referral.platform", O_REQUIRED, "ID", "territorial platform, e.g. vaulx-bron" },
	{ "reason", "referral.reason", O_REQUIRED, "REASON", "why the household is referred" },
	{ "details", "referral.reason_details", 0, "TEXT", "the reason in words" },
	{ "last-name", "referral.household.reference_person.last_name", O_REQUIRED, "NAME",
	  "reference person's last name" },
	{ "first-name", "referral.household.reference_person.first_name", O_REQUIRED, "NAME",
	  "reference person's first name" },
	{ "birth-date", "referral.household.reference_person.birth_date", O_REQUIRED,
	  "YYYY-MM-DD", "reference person's birth date" },
	{ "adults", "referral.household.adults", O_REQUIRED, "N", "adults in the household" },
	{ "children", "referral.household.children", 0, "N", "children (default 0)" },
	{ "debt", "referral.household.debt_cents", O_EUROS, "EUROS",
	  "rent arrears in euros, e.g. 3456.78" },
	{ "need", "referral.household.needs", O_REPEAT, "NEED", "a need (repeat for more)" },
	{ "address", "referral.household.address", 0, "TEXT", "street address" },
	{ "postal-code", "referral.household.postal_code", 0, "CODE", "postal code" },
	{ "commune", "referral.household.commune", 0, "NAME", "commune" },
	{ "phone", "referral.household.phone", 0, "NUMBER", "phone number" },
	{ "email", "referral.household.email", 0, "ADDRESS", "e-mail address" },
	{ "tenant-ref", "referral.household.tenant_reference", 0, "REF",
	  "the landlord's tenancy number" },
	{ "notes", "referral.household.notes", 0, "TEXT", "free-text notes" },
	{ NULL, NULL, 0, NULL, NULL }
};

static const struct optdef acknowledge_opts[] = {
	{ "note", "note", 0, "TEXT", "a note for the referrer" },
	{ NULL, NULL, 0, NULL, NULL }
};

static const struct optdef accept_opts[] = {
	{ "lead", "acceptance.lead_partner", O_REQUIRED, "ORG", "the lead partner organisation" },
	{ "co-referent", "acceptance.co_referents", O_REPEAT, "ORG",
	  "another partner on the case (repeat for more)" },
	{ "level", "acceptance.support_level", O_REQUIRED, "LEVEL", "support level" },
	{ "notes", "acceptance.notes", 0, "TEXT", "free-text notes" },
	{ NULL, NULL, 0, NULL, NULL }
};

static const struct optdef decline_opts[] = {
	{ "reason", "decline.reason", O_REQUIRED, "REASON", "why the referral is declined" },
	{ "text", "decline.text", 0, "TEXT", "the reason in words" },
	{ "redirect-to", "decline.redirect_to", 0, "SERVICE",
	  "the service the household is oriented to" },
	{ NULL, NULL, 0, NULL, NULL }
};

static const struct optdef withdraw_opts[] = {
	{ "reason", "reason_text", 0, "TEXT", "why the referral is withdrawn" },
	{ NULL, NULL, 0, NULL, NULL }
};

static const struct optdef visit_opts[] = {
	{ "date", "visit.date", O_REQUIRED, "YYYY-MM-DD", "date of the visit" },
	{ "mode", "visit.mode", O_REQUIRED, "MODE", "how it took place" },
	{ "domain", "visit.domains", O_REPEAT, "D", "a domain worked on (repeat for more)" },
	{ "tool", "visit.tools", O_REPEAT, "T", "a tool mobilised (repeat for more)" },
	{ "absent", NULL, O_FLAG, NULL, "the household was not present" },
	{ "notes", "visit.notes", 0, "TEXT", "free-text notes" },
	{ NULL, NULL, 0, NULL, NULL }
};

static const struct optdef propose_opts[] = {
	{ "dwelling", "proposal.dwelling_ref", O_REQUIRED, "REF", "the landlord's dwelling reference" },
	{ "landlord", "proposal.landlord", O_REQUIRED, "ORG", "the landlord organisation" },
	{ "commune", "proposal.commune", O_REQUIRED, "NAME", "commune of the dwelling" },
	{ "typology", "proposal.typology", O_REQUIRED, "T", "size of the dwelling" },
	{ "rent", "proposal.rent_cents", O_REQUIRED | O_EUROS, "EUROS",
	  "monthly rent, charges included, e.g. 480.00" },
	{ "kind", "proposal.kind", O_REQUIRED, "KIND", "kind of rehousing" },
	{ "available-from", "proposal.available_from", 0, "YYYY-MM-DD", "when it is free" },
	{ NULL, NULL, 0, NULL, NULL }
};

static const struct optdef close_opts[] = {
	{ "outcome", "closure.outcome", O_REQUIRED, "OUTCOME", "how support ends" },
	{ "date", "closure.date", O_REQUIRED, "YYYY-MM-DD", "date support ended" },
	{ "handed-over-to", "closure.handed_over_to", 0, "SERVICE", "who takes over" },
	{ "notes", "closure.notes", 0, "TEXT", "free-text notes" },
	{ NULL, NULL, 0, NULL, NULL }
};

static const struct optdef history_opts[] = {
	{ "from-version", "from_version", 0, "N", "first version wanted (default: the start)" },
	{ "page-size", "max_events", 0, "N", "events per response (default: as many as fit)" },
	{ "as-of-version", "as_of_version", 0, "N", "the case as it stood at version N" },
	{ "as-of-date", "as_of_date", 0, "YYYY-MM-DD", "the case as it stood at the end of that day" },
	{ NULL, NULL, 0, NULL, NULL }
};

static const struct optdef assign_opts[] = {
	{ "partner", "partner", O_REQUIRED, "ORG", "the partner organisation" },
	{ "role", "role", O_REQUIRED, "ROLE", "lead or co_referent" },
	{ NULL, NULL, 0, NULL, NULL }
};

static const struct optdef release_opts[] = {
	{ "partner", "partner", O_REQUIRED, "ORG", "the partner leaving the case" },
	{ "reason", "reason_text", 0, "TEXT", "why" },
	{ NULL, NULL, 0, NULL, NULL }
};

static const struct optdef step_opts[] = {
	{ "stage", "step.stage", O_REQUIRED, "STAGE", "eviction procedure stage" },
	{ "date", "step.date", O_REQUIRED, "YYYY-MM-DD", "when it happened" },
	{ "amount", "step.amount_cents", O_EUROS, "EUROS", "the sum the step states" },
	{ "hearing-date", "step.hearing_date", 0, "YYYY-MM-DD", "court summons: the hearing" },
	{ "notes", "step.notes", 0, "TEXT", "free-text notes" },
	{ NULL, NULL, 0, NULL, NULL }
};

static const struct optdef answer_opts[] = {
	{ "proposal", "answer.proposal_number", O_REQUIRED, "N", "the proposal's number" },
	{ "accept", NULL, O_FLAG, NULL, "the household accepts the dwelling" },
	{ "refuse", "answer.refusal_reason", 0, "REASON", "the household refuses, and why" },
	{ "text", "answer.text", 0, "TEXT", "the answer in words" },
	{ NULL, NULL, 0, NULL, NULL }
};

static const struct optdef sign_opts[] = {
	{ "proposal", "proposal_number", O_REQUIRED, "N", "the accepted proposal's number" },
	{ "date", "date", O_REQUIRED, "YYYY-MM-DD", "date of signature" },
	{ NULL, NULL, 0, NULL, NULL }
};

static const struct optdef hold_opts[] = {
	{ "reason", "reason_text", 0, "TEXT", "why support is suspended" },
	{ NULL, NULL, 0, NULL, NULL }
};

static const struct optdef resume_opts[] = {
	{ "note", "note", 0, "TEXT", "a note" },
	{ NULL, NULL, 0, NULL, NULL }
};

static const struct optdef erase_opts[] = {
	{ "reason", "reason", O_REQUIRED, "REASON",
	  "household_request (right to erasure) or dpo_decision" },
	{ NULL, NULL, 0, NULL, NULL }
};

static const struct optdef journal_opts[] = {
	{ "cursor", "cursor", 0, "CURSOR", "continue after this page (next_cursor)" },
	{ "page-size", "limit", 0, "N", "records per page (default 100, at most 1000)" },
	{ NULL, NULL, 0, NULL, NULL }
};

static const struct optdef caseload_opts[] = {
	{ "state", "state", 0, "STATE", "only cases in this state" },
	{ "partner", "partner", 0, "ORG", "only cases with this lead partner or co-referent" },
	{ "referrer", "referrer", 0, "ORG", "only cases referred by this organisation" },
	{ "stage", "stage", 0, "STAGE", "only cases at this procedure stage" },
	{ "cursor", "cursor", 0, "CASE_ID", "continue after this case (next_cursor)" },
	{ "page-size", "limit", 0, "N", "rows per page (default 100, at most 1000)" },
	{ NULL, NULL, 0, NULL, NULL }
};

static const struct optdef days_opts[] = {
	{ "days", "days", 0, "N", "the number of days (default: stale 45, deadlines 30)" },
	{ NULL, NULL, 0, NULL, NULL }
};

static const struct optdef stats_opts[] = {
	{ "from", "from", O_REQUIRED, "YYYY-MM-DD", "first day of the period" },
	{ "to", "to", O_REQUIRED, "YYYY-MM-DD", "last day of the period" },
	{ NULL, NULL, 0, NULL, NULL }
};

static const struct optdef events_opts[] = {
	{ "from", "from_position", 0, "POSITION", "first position wanted (default 1)" },
	{ "page-size", "max_events", 0, "N", "events per response (default: as many as fit)" },
	{ NULL, NULL, 0, NULL, NULL }
};

static const struct optdef watch_opts[] = {
	{ "from", "from_position", 0, "POSITION",
	  "the last position already seen (default 0: from the start of the log)" },
	{ "now", "from_now", O_FLAG, NULL, "only events committed from now on" },
	{ "platform", "platform", 0, "PLATFORM", "only this platform" },
	{ "case", "case_id", 0, "CASE_ID", "only this case" },
	{ "type", "event_types", O_REPEAT, "TYPE", "only this kind of event (repeatable)" },
	{ "involved", "involved_only", O_FLAG, NULL,
	  "only cases you referred or are assigned to" },
	{ "position-file", NULL, 0, "FILE",
	  "resume after the position it holds, and keep it up to date" },
	{ "count", NULL, 0, "N", "exit after N events (default: follow until interrupted)" },
	{ NULL, NULL, 0, NULL, NULL }
};

/* answer: --accept, or --refuse REASON, not both. */
static int build_answer(struct cli *cli, mlc_request *req, ProtobufCMessage *body)
{
	bool accept = arg_get(cli, "accept") != NULL;

	(void)req;
	if (accept == (arg_get(cli, "refuse") != NULL)) {
		snprintf(cli->err, sizeof(cli->err), "give either --accept or --refuse REASON");
		return -1;
	}
	return set_path(cli, body, "answer.accepted", "--accept", 0, accept ? "true" : "false");
}

/* visit: the household is present unless --absent. */
static int build_visit(struct cli *cli, mlc_request *req, ProtobufCMessage *body)
{
	(void)req;
	return set_path(cli, body, "visit.household_present", "--absent", 0,
			arg_get(cli, "absent") ? "false" : "true");
}

static const struct subcmd subcmds[] = {
	{ "ping", "check the connection and who the server thinks you are",
	  "ping", NULL, false, NULL, ping_opts, NULL },
	{ "refer", "refer a household to a platform",
	  "refer_household", NULL, true, "referred", refer_opts, NULL },
	{ "acknowledge", "acknowledge a referral (coordination)",
	  "acknowledge_referral", "case_id", true, "acknowledged", acknowledge_opts, NULL },
	{ "accept", "accept a case and name its partners (coordination)",
	  "accept_case", "case_id", true, "accepted", accept_opts, NULL },
	{ "decline", "decline a referral (coordination)",
	  "decline_referral", "case_id", true, "declined", decline_opts, NULL },
	{ "withdraw", "withdraw a referral (its referrer, before acceptance)",
	  "withdraw_referral", "case_id", true, "withdrawn", withdraw_opts, NULL },
	{ "visit", "record a visit to the household (a partner of the case)",
	  "record_visit", "case_id", true, "visit recorded on", visit_opts, build_visit },
	{ "propose", "propose a dwelling for rehousing",
	  "propose_rehousing", "case_id", true, "rehousing proposed on", propose_opts, NULL },
	{ "close", "close support with its outcome",
	  "close_support", "case_id", true, "closed", close_opts, NULL },
	{ "case", "show a case as it stands",
	  "get_case", "case_id", false, NULL, ping_opts, NULL },
	{ "history", "list every event of a case (or the case as it stood then)",
	  "get_case_history", "case_id", false, NULL, history_opts, NULL },
	{ "assign", "assign a partner to a case as lead or co-referent (coordination)",
	  "assign_partner", "case_id", true, "partner assigned on", assign_opts, NULL },
	{ "release", "release a partner's assignment (the partner, or coordination)",
	  "release_assignment", "case_id", true, "assignment released on", release_opts, NULL },
	{ "step", "record an eviction procedure step",
	  "record_procedure_step", "case_id", true, "procedure step recorded on", step_opts, NULL },
	{ "answer", "answer a rehousing proposal",
	  "answer_proposal", "case_id", true, "proposal answered on", answer_opts, build_answer },
	{ "sign", "record the lease signed for an accepted proposal",
	  "sign_lease", "case_id", true, "lease signed on", sign_opts, NULL },
	{ "hold", "put support on hold (lead partner or coordination)",
	  "put_on_hold", "case_id", true, "put on hold", hold_opts, NULL },
	{ "resume", "resume support put on hold",
	  "resume", "case_id", true, "resumed", resume_opts, NULL },
	{ "erase", "erase the personal data of the case's household on its platform "
	  "(coordination with the data-protection role; every case of it closed)",
	  "erase_household_data", "case_id", true, "household data erased on", erase_opts, NULL },
	{ "journal", "who read a case's personal data, and why (coordination, auditors)",
	  "list_access_journal", "case_id", false, NULL, journal_opts, NULL },
	{ "caseload", "a platform's caseload board: the cases you may read",
	  "list_caseload", "platform", false, NULL, caseload_opts, NULL },
	{ "pending", "a platform's referrals waiting for a decision, oldest first",
	  "list_pending_referrals", "platform", false, NULL, ping_opts, NULL },
	{ "load", "open cases per partner organisation of a platform (coordination)",
	  "get_partner_load", "platform", false, NULL, ping_opts, NULL },
	{ "stale", "cases in support with no contact for more than --days",
	  "list_stale_cases", "platform", false, NULL, days_opts, NULL },
	{ "deadlines", "cases whose next procedure deadline falls within --days",
	  "list_deadlines", "platform", false, NULL, days_opts, NULL },
	{ "pipeline", "rehousing proposals per landlord on a platform",
	  "get_rehousing_pipeline", "platform", false, NULL, ping_opts, NULL },
	{ "stats", "a platform's figures for a period (no personal data)",
	  "get_platform_stats", "platform", false, NULL, stats_opts, NULL },
	{ "events", "read the event log from a position (auditors)",
	  "read_events", NULL, false, NULL, events_opts, NULL },
	{ "watch", "print the events you may read as they are committed, resuming after "
	  "a stop", "subscribe", NULL, false, NULL, watch_opts, NULL },
};

#define N_SUBCMDS (sizeof(subcmds) / sizeof(subcmds[0]))

static const char usage_head[] =
	"usage: maillage [OPTIONS] COMMAND [CASE_ID | PLATFORM] [COMMAND OPTIONS]\n"
	"\n"
	"The maillage client: sends one command or query to a maillaged server over\n"
	"mutual TLS, as the organisation named in the client certificate.\n"
	"\n"
	"commands (maillage COMMAND --help for their options):\n";

static const char usage_tail[] =
	"\n"
	"Options may also come after COMMAND. Commands take --command-id HEX32 (retry\n"
	"with the same idempotency key), --expected-version N and --correlation-id TEXT;\n"
	"queries take --purpose TEXT (why you read: kept in the access journal).\n"
	"Enumerated values are written in lowercase without their prefix\n"
	"(--reason unpaid_rent, --level intensive_global); amounts in euros (1234.56).\n"
	"\n"
	"exit status:\n"
	"  0   ok\n"
	"  1   usage error\n"
	"  2   connection, TLS or protocol failure (for a command: retry with the\n"
	"      --command-id that is printed)\n"
	"  10 + the status code when the server refuses: 13 INVALID_ARGUMENT,\n"
	"      15 NOT_FOUND, 16 ALREADY_EXISTS, 17 PERMISSION_DENIED,\n"
	"      18 RESOURCE_EXHAUSTED, 19 FAILED_PRECONDITION, 20 ABORTED, 23 INTERNAL,\n"
	"      24 UNAVAILABLE (retry with the printed --command-id), 26 UNAUTHENTICATED\n";

/* label then text, under the help column, lines broken between words. */
static void print_wrapped(FILE *out, const char *label, const char *text)
{
	const int indent = 31 + (int)strlen(label), width = 79;
	int col = fprintf(out, "%*s%s", 31, "", label);
	bool first = true;

	while (*text) {
		int n = (int)strcspn(text, " ");

		if (!first && col + 1 + n > width)
			col = fprintf(out, "\n%*s", indent, "") - 1;
		else if (!first)
			col += fprintf(out, " ");
		col += fprintf(out, "%.*s", n, text);
		text += n;
		text += strspn(text, " ");
		first = false;
	}
	fputc('\n', out);
}

/* "  --name ARG    help" lines; enum options list their values. */
static void print_opts(FILE *out, const struct optdef *opts, const ProtobufCMessageDescriptor *d)
{
	for (const struct optdef *o = opts; o->name; o++) {
		const ProtobufCFieldDescriptor *f = o->path && d ? field_at(d, o->path) : NULL;
		char left[48], values[512];

		snprintf(left, sizeof(left), "--%s%s%s", o->name, o->arg ? " " : "",
			 o->arg ? o->arg : "");
		fprintf(out, "  %-26s %s%s\n", left, o->help,
			o->flags & O_REQUIRED ? " (required)" : "");
		if (f && f->type == PROTOBUF_C_TYPE_ENUM) {
			enum_list(f->descriptor, values, sizeof(values));
			print_wrapped(out, "one of: ", values);
		}
	}
}

/* The positional argument's name: CASE_ID or PLATFORM. */
static const char *positional_name(const struct subcmd *cmd)
{
	return !strcmp(cmd->positional, "platform") ? "PLATFORM" : "CASE_ID";
}

static void print_usage(FILE *out)
{
	fputs(usage_head, out);
	for (size_t i = 0; i < N_SUBCMDS; i++)
		fprintf(out, "  %-13s %s%s%s\n", subcmds[i].name,
			subcmds[i].positional ? positional_name(&subcmds[i]) : "",
			subcmds[i].positional ? ": " : "", subcmds[i].summary);
	fputs("\noptions (or environment):\n", out);
	print_opts(out, global_opts, NULL);
	fputs(usage_tail, out);
}

static const ProtobufCMessageDescriptor *body_descriptor(const struct subcmd *cmd)
{
	const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(
		&maillage__v1__request__descriptor, cmd->body);

	return f ? f->descriptor : NULL;
}

static void print_command_help(const struct subcmd *cmd)
{
	printf("usage: maillage %s%s%s [OPTIONS]\n\n%s.\n\n", cmd->name,
	       cmd->positional ? " " : "", cmd->positional ? positional_name(cmd) : "",
	       cmd->summary);
	if (cmd->opts[0].name) {
		puts("options:");
		print_opts(stdout, cmd->opts, body_descriptor(cmd));
		putchar('\n');
	}
	if (cmd->is_command) {
		puts("idempotency and concurrency:");
		print_opts(stdout, request_opts, &maillage__v1__request__descriptor);
		putchar('\n');
	}
	puts("connection and output: --addr, --cert, --key, --ca, --timeout, --json\n"
	     "(before or after the command; see maillage --help)");
}

/* ------------------------------------------------------------------------
 * Parsing the command line.
 */

/* Fill longopts (and defs, its optdefs) from the NULL-terminated tables. */
static int add_longopts(struct option *longopts, const struct optdef **defs, int n,
			const struct optdef *opts)
{
	for (const struct optdef *o = opts; o->name && n < MAX_LONGOPTS; o++, n++) {
		longopts[n] = (struct option){ o->name,
			o->flags & O_FLAG ? no_argument : required_argument, NULL, OPT_VAL_BASE + n };
		defs[n] = o;
	}
	longopts[n] = (struct option){ NULL, 0, NULL, 0 };
	return n;
}

/* The index of --help in longopts (-h is its short form). */
static int help_index(const struct option *longopts)
{
	int i = 0;

	while (strcmp(longopts[i].name, "help"))
		i++;
	return i;
}

/* getopt_long over argv with the options in longopts; records each option,
 * stops at the first non-option when stop_at_arg. Returns optind or -1. */
static int getopt_pass(struct cli *cli, int argc, char **argv, const struct option *longopts,
		       const struct optdef **defs, bool stop_at_arg)
{
	int ch, idx;

	opterr = 0;
	optind = 0;   /* glibc: start afresh, also after an earlier pass */
	while ((ch = getopt_long(argc, argv, stop_at_arg ? "+:h" : ":h", longopts, &idx)) != -1) {
		const struct optdef *def;

		if (ch == '?' && optopt >= OPT_VAL_BASE)
			return fail(cli, "option '--%s' takes no value",
				    defs[optopt - OPT_VAL_BASE]->name);
		if (ch == '?')
			return fail(cli, "unknown option '%s'%s", argv[optind - 1],
				    cli->cmd ? "" : " (command options come after the command)");
		if (ch == ':')
			return fail(cli, "option '%s' needs a value", argv[optind - 1]);
		if (ch == 'h')
			ch = OPT_VAL_BASE + help_index(longopts);
		def = defs[ch - OPT_VAL_BASE];
		if (cli->n_args == MAX_ARGS)
			return fail(cli, "too many options");
		if (optarg && !(def->flags & O_REPEAT) && arg_get(cli, def->name))
			return fail(cli, "option '--%s' given twice", def->name);
		cli->args[cli->n_args++] = (struct arg){ def, def->flags & O_FLAG ? NULL : optarg };
	}
	return optind;
}

static int parse_args(struct cli *cli, int argc, char **argv)
{
	struct option longopts[MAX_LONGOPTS + 1];
	const struct optdef *defs[MAX_LONGOPTS];
	int n, first, rest;

	n = add_longopts(longopts, defs, 0, global_opts);
	first = getopt_pass(cli, argc, argv, longopts, defs, true);
	if (first < 0 || first >= argc)
		return first < 0 ? -1 : 0;
	for (size_t i = 0; i < N_SUBCMDS; i++)
		if (!strcmp(subcmds[i].name, argv[first]))
			cli->cmd = &subcmds[i];
	if (!cli->cmd)
		return fail(cli, "unknown command '%s' (maillage --help lists them)", argv[first]);

	n = add_longopts(longopts, defs, n, cli->cmd->opts);
	n = add_longopts(longopts, defs, n, request_opts);
	/* argv[first] is the command: getopt skips it like a program name */
	rest = getopt_pass(cli, argc - first, argv + first, longopts, defs, false);
	if (rest < 0)
		return -1;
	rest += first;
	if (rest < argc && cli->cmd->positional)
		cli->positional = argv[rest++];
	if (rest < argc)
		return fail(cli, "unexpected argument '%s'", argv[rest]);
	return 0;
}

/* Every required option of the subcommand, and its case id. */
static int check_required(struct cli *cli)
{
	char missing[512] = "";
	size_t used = 0;

	if (cli->cmd->positional && !cli->positional)
		append(missing, sizeof(missing), &used, " CASE_ID");
	for (const struct optdef *o = cli->cmd->opts; o->name; o++)
		if ((o->flags & O_REQUIRED) && !arg_get(cli, o->name))
			append(missing, sizeof(missing), &used, " --%s", o->name);
	if (used)
		return fail(cli, "'%s' needs%s (maillage %s --help)", cli->cmd->name, missing,
			    cli->cmd->name);
	return 0;
}

/* ------------------------------------------------------------------------
 * Building the Request.
 */

static mlc_request *build_request(struct cli *cli)
{
	const ProtobufCFieldDescriptor *bf = protobuf_c_message_descriptor_get_field_by_name(
		&maillage__v1__request__descriptor, cli->cmd->body);
	mlc_request *req = (mlc_request *)message_new(&maillage__v1__request__descriptor);
	ProtobufCMessage *body;

	body = message_new(bf->descriptor);
	*(ProtobufCMessage **)((char *)req + bf->offset) = body;
	*(uint32_t *)((char *)req + bf->quantifier_offset) = bf->id;

	if (arg_get(cli, "command-id") && strlen(arg_get(cli, "command-id")) != 32) {
		fail(cli, "--command-id '%s' is not 32 hexadecimal digits",
		     arg_get(cli, "command-id"));
		goto err_free_req;
	}
	if (cli->cmd->positional &&
	    set_path(cli, body, cli->cmd->positional, positional_name(cli->cmd), 0,
		     cli->positional))
		goto err_free_req;
	for (int i = 0; i < cli->n_args; i++) {
		const struct arg *a = &cli->args[i];
		char opt[64];

		if (!a->def->path)
			continue;
		snprintf(opt, sizeof(opt), "--%s", a->def->name);
		if (set_path(cli, a->def->flags & O_REQUEST ? &req->base : body, a->def->path,
			     opt, a->def->flags, a->value ? a->value : "true"))
			goto err_free_req;
	}
	if (req->command_id.len == 0 && cli->cmd->is_command) {
		req->command_id.data = xcalloc(16, 1);
		req->command_id.len = 16;
		if (mlc_new_command_id(req->command_id.data)) {
			fail(cli, "cannot draw a random command id");
			goto err_free_req;
		}
	}
	if (cli->cmd->build && cli->cmd->build(cli, req, body))
		goto err_free_req;
	return req;

err_free_req:
	maillage__v1__request__free_unpacked(req, NULL);
	return NULL;
}

/* ------------------------------------------------------------------------
 * Output for people.
 */

/* µs since the epoch as "2026-11-24T08:00:00Z"; "-" for 0. */
static const char *iso_time(int64_t us, char *buf, size_t len)
{
	time_t s = (time_t)(us / 1000000);
	struct tm tm;

	if (!us || !gmtime_r(&s, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "-");
	return buf;
}

/* Cents as "3456.00 EUR". */
static const char *euros(int64_t cents, char *buf, size_t len)
{
	uint64_t abs = cents < 0 ? -(uint64_t)cents : (uint64_t)cents;

	snprintf(buf, len, "%s%" PRIu64 ".%02u EUR", cents < 0 ? "-" : "", abs / 100,
		 (unsigned)(abs % 100));
	return buf;
}

static const char *or_dash(const char *s)
{
	return s && s[0] ? s : "-";
}

/* One aligned "key: value" line. */
static void kv(const char *key, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void kv(const char *key, const char *fmt, ...)
{
	va_list ap;

	printf("%s:%*s", key, (int)(18 - strlen(key)), "");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* "a, b, c" of a repeated string field, "-" when empty. */
static const char *joined(char *const *items, size_t n, char *buf, size_t len)
{
	size_t used = 0;

	snprintf(buf, len, "-");
	for (size_t i = 0; i < n; i++)
		append(buf, len, &used, "%s%s", i ? ", " : "", items[i]);
	return buf;
}

static void print_case(const Maillage__V1__CaseView *view)
{
	const Maillage__V1__CaseSummary *s = view->summary;
	const Maillage__V1__Household *h = view->household;
	char buf[1024], t[32];

	if (!s) {
		puts("case: -");
		return;
	}
	kv("case", "%s", s->case_id);
	if (view->personal_data)
		kv("personal data", "%s", enum_name(DESC(personal_data_state), view->personal_data));
	kv("platform", "%s", s->platform);
	kv("state", "%s", enum_name(DESC(case_state), s->state));
	kv("version", "%u", s->version);
	kv("referrer", "%s (%s)", or_dash(s->referrer), enum_name(DESC(org_kind), s->referrer_kind));
	kv("reason", "%s", enum_name(DESC(referral_reason), s->reason));
	kv("referred at", "%s", iso_time(s->referred_at, t, sizeof(t)));
	kv("updated at", "%s", iso_time(s->updated_at, t, sizeof(t)));
	kv("lead partner", "%s", or_dash(s->lead_partner));
	kv("co-referents", "%s", joined(s->co_referents, s->n_co_referents, buf, sizeof(buf)));
	kv("support level", "%s", enum_name(DESC(support_level), s->support_level));
	kv("visits", "%u", s->visit_count);
	kv("last visit", "%s", or_dash(s->last_visit_date));
	kv("proposals", "%u", s->proposal_count);
	kv("outcome", "%s", enum_name(DESC(closing_outcome), s->outcome));
	if (s->decline_reason)
		kv("decline reason", "%s", enum_name(DESC(decline_reason), s->decline_reason));
	kv("debt", "%s", euros(s->debt_cents, buf, sizeof(buf)));
	if (!h) {
		kv("household", "-");
		return;
	}
	kv("household", "%u adult(s), %u child(ren)", h->adults, h->children);
	if (h->reference_person)
		kv("reference person", "%s %s, born %s", h->reference_person->first_name,
		   h->reference_person->last_name, or_dash(h->reference_person->birth_date));
	if (h->commune[0] || h->postal_code[0])
		kv("commune", "%s%s%s", h->postal_code, h->postal_code[0] ? " " : "", h->commune);
	if (h->n_needs) {
		size_t used = 0;

		for (size_t i = 0; i < h->n_needs; i++)
			append(buf, sizeof(buf), &used, "%s%s", i ? ", " : "",
			       enum_name(DESC(need), h->needs[i]));
		kv("needs", "%s", buf);
	}
}

/* What an event says, in a few words. */
static void event_detail(const Maillage__V1__Event *ev, char *buf, size_t len)
{
	char m[32];

	buf[0] = 0;
	switch (ev->body_case) {
	case MAILLAGE__V1__EVENT__BODY_HOUSEHOLD_REFERRED:
		if (ev->household_referred->referral)
			snprintf(buf, len, "%s on %s",
				 enum_name(DESC(referral_reason), ev->household_referred->referral->reason),
				 ev->household_referred->referral->platform);
		break;
	case MAILLAGE__V1__EVENT__BODY_REFERRAL_ACKNOWLEDGED:
		snprintf(buf, len, "%s", ev->referral_acknowledged->note);
		break;
	case MAILLAGE__V1__EVENT__BODY_CASE_ACCEPTED:
		if (ev->case_accepted->acceptance)
			snprintf(buf, len, "lead %s, %s", ev->case_accepted->acceptance->lead_partner,
				 enum_name(DESC(support_level),
					   ev->case_accepted->acceptance->support_level));
		break;
	case MAILLAGE__V1__EVENT__BODY_REFERRAL_DECLINED:
		if (ev->referral_declined->decline)
			snprintf(buf, len, "%s", enum_name(DESC(decline_reason),
							   ev->referral_declined->decline->reason));
		break;
	case MAILLAGE__V1__EVENT__BODY_REFERRAL_WITHDRAWN:
		snprintf(buf, len, "%s", ev->referral_withdrawn->reason_text);
		break;
	case MAILLAGE__V1__EVENT__BODY_VISIT_RECORDED:
		if (ev->visit_recorded->visit)
			snprintf(buf, len, "%s %s%s", ev->visit_recorded->visit->date,
				 enum_name(DESC(visit_mode), ev->visit_recorded->visit->mode),
				 ev->visit_recorded->visit->household_present ? "" :
				 ", household absent");
		break;
	case MAILLAGE__V1__EVENT__BODY_REHOUSING_PROPOSED:
		if (ev->rehousing_proposed->proposal)
			snprintf(buf, len, "#%u %s in %s, %s, %s",
				 ev->rehousing_proposed->proposal_number,
				 ev->rehousing_proposed->proposal->dwelling_ref,
				 ev->rehousing_proposed->proposal->commune,
				 enum_name(DESC(typology), ev->rehousing_proposed->proposal->typology),
				 euros(ev->rehousing_proposed->proposal->rent_cents, m, sizeof(m)));
		break;
	case MAILLAGE__V1__EVENT__BODY_SUPPORT_CLOSED:
		if (ev->support_closed->closure)
			snprintf(buf, len, "%s on %s",
				 enum_name(DESC(closing_outcome), ev->support_closed->closure->outcome),
				 ev->support_closed->closure->date);
		break;
	default:
		break;
	}
}

/* "label KEY n, KEY n" on one line; nothing when empty. */
static void print_counts(const char *label, Maillage__V1__Count **counts, size_t n)
{
	if (!n)
		return;
	printf("%s", label);
	for (size_t i = 0; i < n; i++)
		printf("%s %s %u", i ? "," : "", counts[i]->key, counts[i]->count);
	putchar('\n');
}

static void print_stats(const Maillage__V1__PlatformStats *s)
{
	kv("platform", "%s, %s to %s", s->platform, s->from, s->to);
	kv("referrals", "%u", s->referrals);
	print_counts("  by kind:", s->referrals_by_kind, s->n_referrals_by_kind);
	print_counts("  by reason:", s->referrals_by_reason, s->n_referrals_by_reason);
	kv("decisions", "%u acknowledged, %u accepted, %u declined, %u withdrawn, %u expired",
	   s->acknowledged, s->accepted, s->declined, s->withdrawn, s->expired);
	kv("days to decide", "mean %.1f, median %.1f", s->decision_days_mean,
	   s->decision_days_median);
	kv("closures", "%u, eviction avoided %u (%.0f %%)", s->closed, s->eviction_avoided,
	   100 * s->eviction_avoided_share);
	print_counts("  by outcome:", s->closures_by_outcome, s->n_closures_by_outcome);
	kv("days of support", "mean %.1f, median %.1f", s->support_days_mean,
	   s->support_days_median);
	kv("visits", "%u", s->visits);
	print_counts("  by mode:", s->visits_by_mode, s->n_visits_by_mode);
	print_counts("  by domain:", s->visits_by_domain, s->n_visits_by_domain);
	print_counts("  tools:", s->tools_mobilised, s->n_tools_mobilised);
	kv("rehousing", "%u proposals, %u accepted, %u refused, %u leases signed", s->proposals,
	   s->proposals_accepted, s->proposals_refused, s->leases_signed);
}

/* "#POS vN TIME TYPE by ORG (ROLE): detail" */
static void print_event(const Maillage__V1__Event *ev)
{
	const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(
		&maillage__v1__event__descriptor, (int)ev->body_case);
	char t[32], detail[512];

	event_detail(ev, detail, sizeof(detail));
	printf("#%" PRIu64 " v%u %s %s by %s (%s)%s%s\n", ev->position, ev->case_version,
	       iso_time(ev->recorded_at, t, sizeof(t)), f ? f->name : "unknown_event",
	       or_dash(ev->actor_org), enum_name(DESC(actor_role), ev->actor_role),
	       detail[0] ? ": " : "", detail);
}

static void print_human(const struct cli *cli, const mlc_response *r)
{
	char buf[1024], t[32];

	switch (r->result_case) {
	case MAILLAGE__V1__RESPONSE__RESULT_COMMAND:
		printf("%s %s (version %u, position %" PRIu64 ")%s\n",
		       cli->cmd->done ? cli->cmd->done : "done", r->command->case_id,
		       r->command->case_version, r->command->first_position,
		       r->command->replayed ? " (replayed)" : "");
		break;
	case MAILLAGE__V1__RESPONSE__RESULT_CASE:
		print_case(r->case_);
		break;
	case MAILLAGE__V1__RESPONSE__RESULT_HISTORY:
		for (size_t i = 0; i < r->history->n_events; i++)
			print_event(r->history->events[i]);
		break;
	case MAILLAGE__V1__RESPONSE__RESULT_CASELOAD:
		printf("%-17s %-13s %5s %-16s %-16s %-28s %12s\n", "CASE", "STATE", "DAYS",
		       "LEAD", "REFERRER", "PROCEDURE", "DEBT");
		for (size_t i = 0; i < r->caseload->n_rows; i++) {
			const Maillage__V1__CaseSummary *c = r->caseload->rows[i]->summary;

			printf("%-17s %-13s %5u %-16s %-16s %-28s %12s\n", c->case_id,
			       enum_name(DESC(case_state), c->state),
			       r->caseload->rows[i]->days_since_referral, or_dash(c->lead_partner),
			       c->referrer, c->procedure_stage ?
			       enum_name(DESC(procedure_stage), c->procedure_stage) : "-",
			       euros(c->debt_cents, buf, sizeof(buf)));
		}
		if (r->caseload->next_cursor[0])
			printf("next: --cursor %s\n", r->caseload->next_cursor);
		break;
	case MAILLAGE__V1__RESPONSE__RESULT_PARTNER_LOAD:
		printf("%-20s %-12s %5s %12s\n", "PARTNER", "KIND", "LEAD", "CO-REFERENT");
		for (size_t i = 0; i < r->partner_load->n_partners; i++) {
			const Maillage__V1__PartnerLoad *p = r->partner_load->partners[i];

			printf("%-20s %-12s %5u %12u\n", p->partner, enum_name(DESC(org_kind), p->kind),
			       p->lead, p->co_referent);
		}
		break;
	case MAILLAGE__V1__RESPONSE__RESULT_CASES:
		printf("%-17s %-13s %-16s %9s %-11s %s\n", "CASE", "STATE", "LEAD", "NO CONTACT",
		       "DEADLINE", "WHAT");
		for (size_t i = 0; i < r->cases->n_rows; i++) {
			const Maillage__V1__CaseSummary *c = r->cases->rows[i]->summary;

			printf("%-17s %-13s %-16s %8ud %-11s %s\n", c->case_id,
			       enum_name(DESC(case_state), c->state), or_dash(c->lead_partner),
			       r->cases->rows[i]->days_without_contact, or_dash(c->next_deadline),
			       c->next_deadline_kind ?
			       enum_name(DESC(deadline_kind), c->next_deadline_kind) : "-");
		}
		break;
	case MAILLAGE__V1__RESPONSE__RESULT_PIPELINE:
		printf("%-20s %8s %8s %8s %8s %7s\n", "LANDLORD", "PROPOSED", "ACCEPTED",
		       "REFUSED", "PENDING", "LEASES");
		for (size_t i = 0; i < r->pipeline->n_landlords; i++) {
			const Maillage__V1__LandlordPipeline *l = r->pipeline->landlords[i];

			printf("%-20s %8u %8u %8u %8u %7u\n", l->landlord, l->proposed, l->accepted,
			       l->refused, l->pending, l->leases_signed);
			print_counts("  refused:", l->refusals_by_reason, l->n_refusals_by_reason);
		}
		break;
	case MAILLAGE__V1__RESPONSE__RESULT_STATS:
		print_stats(r->stats);
		break;
	case MAILLAGE__V1__RESPONSE__RESULT_PENDING:
		printf("%-17s %-13s %5s %-16s %s\n", "CASE", "STATE", "DAYS", "REFERRER", "REASON");
		for (size_t i = 0; i < r->pending->n_referrals; i++) {
			const Maillage__V1__PendingReferral *p = r->pending->referrals[i];

			printf("%-17s %-13s %5u %-16s %s\n", p->case_id,
			       enum_name(DESC(case_state), p->state), p->age_days, p->referrer,
			       enum_name(DESC(referral_reason), p->reason));
		}
		break;
	case MAILLAGE__V1__RESPONSE__RESULT_EVENTS:
		for (size_t i = 0; i < r->events->n_events; i++)
			print_event(r->events->events[i]);
		if (r->events->next_position)
			printf("next: --from %" PRIu64 "\n", r->events->next_position);
		break;
	case MAILLAGE__V1__RESPONSE__RESULT_ACCESS_JOURNAL:
		printf("%-20s %-18s %-12s %-17s %s\n", "AT", "ORGANISATION", "KIND", "QUERY",
		       "PURPOSE");
		for (size_t i = 0; i < r->access_journal->n_records; i++) {
			const Maillage__V1__AccessRecord *a = r->access_journal->records[i];

			printf("%-20s %-18s %-12s %-17s %s\n", iso_time(a->at, t, sizeof(t)), a->org,
			       enum_name(DESC(org_kind), a->kind), a->query, or_dash(a->purpose));
		}
		if (r->access_journal->next_cursor[0])
			printf("next: --cursor %s\n", r->access_journal->next_cursor);
		break;
	case MAILLAGE__V1__RESPONSE__RESULT_PONG:
		kv("organisation", "%s (%s)", r->pong->org, enum_name(DESC(org_kind), r->pong->kind));
		kv("platforms", "%s", joined(r->pong->platforms, r->pong->n_platforms, buf,
					     sizeof(buf)));
		kv("server time", "%s", iso_time(r->pong->server_time, t, sizeof(t)));
		kv("last position", "%" PRIu64, r->pong->last_position);
		break;
	default:
		puts("ok");
		break;
	}
}

/* ------------------------------------------------------------------------
 * The exchange.
 */

/* "maillage: retry with --command-id HEX" for a command whose fate is unknown. */
static void retry_hint(const struct cli *cli, const mlc_request *req)
{
	if (!cli->cmd->is_command || req->command_id.len == 0)
		return;
	fputs("maillage: retry with --command-id ", stderr);
	for (size_t i = 0; i < req->command_id.len; i++)
		fprintf(stderr, "%02x", req->command_id.data[i]);
	fputc('\n', stderr);
}

/* Print a refusal on stderr; returns the exit status. */
static int refused(const struct cli *cli, const mlc_request *req, const mlc_response *r)
{
	const Maillage__V1__Status *st = r->status;

	fprintf(stderr, "maillage: %s: %s", enum_name(DESC(status_code), st->code),
		or_dash(st->message));
	if (st->field[0])
		fprintf(stderr, " (field: %s)", st->field);
	fputc('\n', stderr);
	if (st->code == MAILLAGE__V1__STATUS_CODE__UNAVAILABLE)
		retry_hint(cli, req);
	return EXIT_REFUSED_BASE + (int)st->code;
}

/* Send req and print the answer; history pages are followed to the end.
 * Returns the exit status. */
static int exchange(struct cli *cli, struct mlc *c, mlc_request *req)
{
	for (;;) {
		mlc_response *r = mlc_call(c, req);
		uint32_t next;

		if (!r) {
			fprintf(stderr, "maillage: %s\n", mlc_error(c));
			retry_hint(cli, req);
			return EXIT_CONNECTION;
		}
		if (cli->json)
			cli_json_print(stdout, &r->base);
		if (r->status && r->status->code) {
			int status = refused(cli, req, r);

			mlc_response_free(r);
			return status;
		}
		if (!cli->json)
			print_human(cli, r);
		next = r->result_case == MAILLAGE__V1__RESPONSE__RESULT_HISTORY ?
		       r->history->next_version : 0;
		mlc_response_free(r);
		if (!next)
			return 0;
		if (next <= req->get_case_history->from_version) {
			fprintf(stderr, "maillage: the server sent next_version %u after "
				"from_version %u\n", next, req->get_case_history->from_version);
			return EXIT_CONNECTION;
		}
		req->get_case_history->from_version = next;
		req->request_id = 0;
	}
}

/* maillage watch: a subscription, printed as it goes (watch.c). */
static int watch(struct cli *cli, const struct mlc_opts *opts, const mlc_request *req)
{
	struct watch_opts w = { .position_file = arg_get(cli, "position-file"),
				.json = cli->json, .print_event = print_event };

	if (arg_get(cli, "count") &&
	    (parse_uint(cli, "--count", arg_get(cli, "count"), UINT32_MAX, &w.count) ||
	     (!w.count && fail(cli, "--count must be at least 1")))) {
		fprintf(stderr, "maillage: %s\n", cli->err);
		return EXIT_USAGE;
	}
	return watch_run(opts, req->subscribe, &w);
}

int main(int argc, char **argv)
{
	struct cli cli = { .n_args = 0 };
	struct mlc_opts opts = { .timeout_ms = 0 };
	mlc_request *req;
	struct mlc *c;
	char err[512];
	uint64_t timeout = 10000;
	int status;

	if (parse_args(&cli, argc, argv)) {
		fprintf(stderr, "maillage: %s\n", cli.err);
		return EXIT_USAGE;
	}
	if (arg_get(&cli, "help")) {
		if (cli.cmd)
			print_command_help(cli.cmd);
		else
			print_usage(stdout);
		return 0;
	}
	if (!cli.cmd) {
		print_usage(stderr);
		return EXIT_USAGE;
	}
	if (check_required(&cli) ||
	    (arg_get(&cli, "timeout") &&
	     parse_uint(&cli, "--timeout", arg_get(&cli, "timeout"), INT32_MAX, &timeout)) ||
	    (!timeout && fail(&cli, "--timeout must be at least 1 ms"))) {
		fprintf(stderr, "maillage: %s\n", cli.err);
		return EXIT_USAGE;
	}
	cli.json = arg_get(&cli, "json") != NULL;
	opts.addr = arg_get(&cli, "addr");
	opts.cert = arg_get(&cli, "cert");
	opts.key = arg_get(&cli, "key");
	opts.ca = arg_get(&cli, "ca");
	opts.timeout_ms = (int)timeout;
	mlc_opts_from_env(&opts);

	req = build_request(&cli);
	if (!req) {
		fprintf(stderr, "maillage: %s\n", cli.err);
		return EXIT_USAGE;
	}
	if (req->body_case == MAILLAGE__V1__REQUEST__BODY_SUBSCRIBE) {
		status = watch(&cli, &opts, req);
		goto out_flush;
	}
	c = mlc_connect(&opts, err, sizeof(err));
	if (!c) {
		fprintf(stderr, "maillage: %s\n", err);
		retry_hint(&cli, req);
		status = EXIT_CONNECTION;
		goto out_free_req;
	}
	status = exchange(&cli, c, req);
	mlc_close(c);
out_flush:
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "maillage: cannot write the output: %s\n", strerror(errno));
		status = status ? status : EXIT_CONNECTION;
	}
out_free_req:
	maillage__v1__request__free_unpacked(req, NULL);
	return status;
}
