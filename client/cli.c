/* cli.c - `maillage`, the command-line client: one table of subcommands, each
 * with its options and a builder for its request; one path to connect, send,
 * and print the answer for people or (--json) for scripts.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_json.h"
#include "mlclient.h"

#define EXIT_USAGE 1
#define EXIT_CONNECTION 2
#define EXIT_REFUSED_BASE 10
#define MAX_ARGS 64

/* Options as given: --name value (or a bare flag), in order. */
struct arg {
	const char *name;
	const char *value;    /* NULL for flags */
};

struct cli {
	struct mlc_opts opts;
	bool json;
	const struct subcmd *cmd;
	const char *positional;   /* the case id */
	struct arg args[MAX_ARGS];
	int n_args;
	char err[1400];
};

struct subcmd {
	const char *name;
	const char *synopsis;
	const char *help;         /* option lines */
	const char *options;      /* accepted: "name=" takes a value, "name" is a flag */
	bool needs_case;
	bool is_command;
	const char *done;         /* human verb for a command's result */
	int (*build)(struct cli *cli, mlc_request *req);
};

#define NEW(T, init) ({ T *m_ = calloc(1, sizeof(T)); if (!m_) abort(); init(m_); m_; })

static const char *arg_get(const struct cli *cli, const char *name)
{
	for (int i = cli->n_args - 1; i >= 0; i--)
		if (!strcmp(cli->args[i].name, name))
			return cli->args[i].value ? cli->args[i].value : "";
	return NULL;
}

static int fail(struct cli *cli, const char *fmt, const char *a, const char *b)
{
	snprintf(cli->err, sizeof(cli->err), fmt, a, b);
	return -1;
}

/* A copy of option name's value ("" when absent); required ones must be set. */
static int str_opt(struct cli *cli, const char *name, bool required, char **out)
{
	const char *v = arg_get(cli, name);

	if (!v && required)
		return fail(cli, "--%s is required%s", name, "");
	*out = strdup(v ? v : "");
	if (!*out)
		abort();
	return 0;
}

/* Length of the prefix ("REASON_") that every named value of d shares, 0 if
 * none: options name values without it. */
static size_t enum_prefix(const ProtobufCEnumDescriptor *d)
{
	const char *first = d->n_values > 1 ? d->values[1].name : "";
	const char *us = strchr(first, '_');
	size_t n = us ? (size_t)(us - first + 1) : 0;

	for (unsigned i = 1; n && i < d->n_values; i++)
		if (strncmp(d->values[i].name, first, n))
			n = 0;
	return n;
}

/* The value named s (case-insensitive, with or without the prefix); 0 if none. */
static int enum_match(const ProtobufCEnumDescriptor *d, const char *s)
{
	size_t prefix = enum_prefix(d);

	for (unsigned i = 0; i < d->n_values; i++)
		if (d->values[i].value && (!strcasecmp(d->values[i].name, s) ||
					   !strcasecmp(d->values[i].name + prefix, s)))
			return d->values[i].value;
	return 0;
}

static int enum_opt(struct cli *cli, const char *name, const ProtobufCEnumDescriptor *d,
		    bool required, int *out)
{
	const char *v = arg_get(cli, name);
	char list[1024] = "";

	*out = 0;
	if (!v)
		return required ? fail(cli, "--%s is required%s", name, "") : 0;
	*out = enum_match(d, v);
	if (*out)
		return 0;
	for (unsigned i = 0; i < d->n_values; i++) {
		if (d->values[i].value == 0)
			continue;
		strncat(list, " ", sizeof(list) - strlen(list) - 1);
		strncat(list, d->values[i].name + enum_prefix(d), sizeof(list) - strlen(list) - 1);
	}
	for (char *p = list; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	snprintf(cli->err, sizeof(cli->err), "--%s '%s' is not one of:%s", name, v, list);
	return -1;
}

/* Every value of a repeatable enum option. */
static int enum_list(struct cli *cli, const char *name, const ProtobufCEnumDescriptor *d,
		     int **out, size_t *n)
{
	*n = 0;
	*out = calloc(MAX_ARGS, sizeof(**out));
	if (!*out)
		abort();
	for (int i = 0; i < cli->n_args; i++) {
		struct cli one = *cli;

		if (strcmp(cli->args[i].name, name))
			continue;
		one.n_args = 1;
		one.args[0] = cli->args[i];
		if (enum_opt(&one, name, d, true, &(*out)[*n])) {
			memcpy(cli->err, one.err, sizeof(cli->err));
			return -1;
		}
		(*n)++;
	}
	return 0;
}

static int str_list(struct cli *cli, const char *name, char ***out, size_t *n)
{
	*n = 0;
	*out = calloc(MAX_ARGS, sizeof(**out));
	if (!*out)
		abort();
	for (int i = 0; i < cli->n_args; i++)
		if (!strcmp(cli->args[i].name, name) && !((*out)[(*n)++] = strdup(cli->args[i].value)))
			abort();
	return 0;
}

static int uint_opt(struct cli *cli, const char *name, uint32_t dflt, uint32_t *out)
{
	const char *v = arg_get(cli, name);
	char *end;
	unsigned long n;

	*out = dflt;
	if (!v)
		return 0;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (!isdigit((unsigned char)*v) || *end || errno || n > UINT32_MAX)
		return fail(cli, "--%s '%s' is not a whole number", name, v);
	*out = (uint32_t)n;
	return 0;
}

/* "1234.56" euros as cents, exactly (no floating point). */
static int euros_opt(struct cli *cli, const char *name, bool required, int64_t *out)
{
	const char *v = arg_get(cli, name), *p;
	int64_t cents = 0;
	int decimals = -1;

	*out = 0;
	if (!v)
		return required ? fail(cli, "--%s is required%s", name, "") : 0;
	for (p = v; *p; p++) {
		if (*p == '.' || *p == ',') {
			if (decimals >= 0 || p == v)
				break;
			decimals = 0;
		} else if (isdigit((unsigned char)*p) && decimals < 2 && cents < INT64_MAX / 100) {
			cents = cents * 10 + (*p - '0');
			decimals += decimals >= 0;
		} else {
			break;
		}
	}
	if (*p || p == v)
		return fail(cli, "--%s '%s' is not an amount in euros like 1234.56", name, v);
	for (decimals = decimals < 0 ? 0 : decimals; decimals < 2; decimals++)
		cents *= 10;
	*out = cents;
	return 0;
}

#define DESC(x) (&maillage__v1__##x##__descriptor)

static int build_refer(struct cli *cli, mlc_request *req)
{
	Maillage__V1__Referral *ref = NEW(Maillage__V1__Referral, maillage__v1__referral__init);
	Maillage__V1__Household *h = NEW(Maillage__V1__Household, maillage__v1__household__init);
	Maillage__V1__Person *p = NEW(Maillage__V1__Person, maillage__v1__person__init);
	int reason = 0, *needs = NULL;
	size_t n_needs = 0;

	req->body_case = MAILLAGE__V1__REQUEST__BODY_REFER_HOUSEHOLD;
	req->refer_household = NEW(Maillage__V1__ReferHousehold, maillage__v1__refer_household__init);
	req->refer_household->referral = ref;
	ref->household = h;
	h->reference_person = p;
	if (str_opt(cli, "platform", true, &ref->platform) ||
	    enum_opt(cli, "reason", DESC(referral_reason), true, &reason) ||
	    str_opt(cli, "details", false, &ref->reason_details) ||
	    str_opt(cli, "last-name", true, &p->last_name) ||
	    str_opt(cli, "first-name", true, &p->first_name) ||
	    str_opt(cli, "birth-date", true, &p->birth_date) ||
	    uint_opt(cli, "adults", 1, &h->adults) || uint_opt(cli, "children", 0, &h->children) ||
	    euros_opt(cli, "debt", false, &h->debt_cents) ||
	    enum_list(cli, "need", DESC(need), &needs, &n_needs) ||
	    str_opt(cli, "address", false, &h->address) ||
	    str_opt(cli, "postal-code", false, &h->postal_code) ||
	    str_opt(cli, "commune", false, &h->commune) ||
	    str_opt(cli, "phone", false, &h->phone) || str_opt(cli, "email", false, &h->email) ||
	    str_opt(cli, "notes", false, &h->notes) ||
	    str_opt(cli, "tenant-ref", false, &h->tenant_reference)) {
		h->needs = (Maillage__V1__Need *)needs;
		h->n_needs = n_needs;
		return -1;
	}
	ref->reason = reason;
	h->needs = (Maillage__V1__Need *)needs;
	h->n_needs = n_needs;
	return 0;
}

static int build_acknowledge(struct cli *cli, mlc_request *req)
{
	req->body_case = MAILLAGE__V1__REQUEST__BODY_ACKNOWLEDGE_REFERRAL;
	req->acknowledge_referral = NEW(Maillage__V1__AcknowledgeReferral,
					maillage__v1__acknowledge_referral__init);
	req->acknowledge_referral->case_id = strdup(cli->positional);
	return str_opt(cli, "note", false, &req->acknowledge_referral->note);
}

static int build_accept(struct cli *cli, mlc_request *req)
{
	Maillage__V1__Acceptance *a = NEW(Maillage__V1__Acceptance, maillage__v1__acceptance__init);
	int level = 0, rc;

	req->body_case = MAILLAGE__V1__REQUEST__BODY_ACCEPT_CASE;
	req->accept_case = NEW(Maillage__V1__AcceptCase, maillage__v1__accept_case__init);
	req->accept_case->case_id = strdup(cli->positional);
	req->accept_case->acceptance = a;
	rc = str_opt(cli, "lead", true, &a->lead_partner) ||
	     str_list(cli, "co-referent", &a->co_referents, &a->n_co_referents) ||
	     enum_opt(cli, "level", DESC(support_level), true, &level) ||
	     str_opt(cli, "notes", false, &a->notes);
	a->support_level = level;
	return rc ? -1 : 0;
}

static int build_decline(struct cli *cli, mlc_request *req)
{
	Maillage__V1__Decline *d = NEW(Maillage__V1__Decline, maillage__v1__decline__init);
	int reason = 0, rc;

	req->body_case = MAILLAGE__V1__REQUEST__BODY_DECLINE_REFERRAL;
	req->decline_referral = NEW(Maillage__V1__DeclineReferral,
				    maillage__v1__decline_referral__init);
	req->decline_referral->case_id = strdup(cli->positional);
	req->decline_referral->decline = d;
	rc = enum_opt(cli, "reason", DESC(decline_reason), true, &reason) ||
	     str_opt(cli, "text", false, &d->text) ||
	     str_opt(cli, "redirect-to", false, &d->redirect_to);
	d->reason = reason;
	return rc ? -1 : 0;
}

static int build_withdraw(struct cli *cli, mlc_request *req)
{
	req->body_case = MAILLAGE__V1__REQUEST__BODY_WITHDRAW_REFERRAL;
	req->withdraw_referral = NEW(Maillage__V1__WithdrawReferral,
				     maillage__v1__withdraw_referral__init);
	req->withdraw_referral->case_id = strdup(cli->positional);
	return str_opt(cli, "reason", false, &req->withdraw_referral->reason_text);
}

static int build_visit(struct cli *cli, mlc_request *req)
{
	Maillage__V1__Visit *v = NEW(Maillage__V1__Visit, maillage__v1__visit__init);
	int mode = 0, *domains = NULL, *tools = NULL, rc;

	req->body_case = MAILLAGE__V1__REQUEST__BODY_RECORD_VISIT;
	req->record_visit = NEW(Maillage__V1__RecordVisit, maillage__v1__record_visit__init);
	req->record_visit->case_id = strdup(cli->positional);
	req->record_visit->visit = v;
	rc = str_opt(cli, "date", true, &v->date) ||
	     enum_opt(cli, "mode", DESC(visit_mode), true, &mode) ||
	     enum_list(cli, "domain", DESC(domain), &domains, &v->n_domains) ||
	     enum_list(cli, "tool", DESC(support_tool), &tools, &v->n_tools) ||
	     str_opt(cli, "notes", false, &v->notes);
	v->mode = mode;
	v->domains = (Maillage__V1__Domain *)domains;
	v->tools = (Maillage__V1__SupportTool *)tools;
	v->household_present = arg_get(cli, "absent") == NULL;
	return rc ? -1 : 0;
}

static int build_propose(struct cli *cli, mlc_request *req)
{
	Maillage__V1__Proposal *p = NEW(Maillage__V1__Proposal, maillage__v1__proposal__init);
	int typology = 0, kind = 0, rc;

	req->body_case = MAILLAGE__V1__REQUEST__BODY_PROPOSE_REHOUSING;
	req->propose_rehousing = NEW(Maillage__V1__ProposeRehousing,
				     maillage__v1__propose_rehousing__init);
	req->propose_rehousing->case_id = strdup(cli->positional);
	req->propose_rehousing->proposal = p;
	rc = str_opt(cli, "dwelling", true, &p->dwelling_ref) ||
	     str_opt(cli, "landlord", false, &p->landlord) ||
	     str_opt(cli, "commune", true, &p->commune) ||
	     enum_opt(cli, "typology", DESC(typology), true, &typology) ||
	     euros_opt(cli, "rent", true, &p->rent_cents) ||
	     enum_opt(cli, "kind", DESC(rehousing_kind), true, &kind) ||
	     str_opt(cli, "available-from", false, &p->available_from);
	p->typology = typology;
	p->kind = kind;
	return rc ? -1 : 0;
}

static int build_close(struct cli *cli, mlc_request *req)
{
	Maillage__V1__Closure *c = NEW(Maillage__V1__Closure, maillage__v1__closure__init);
	int outcome = 0, rc;

	req->body_case = MAILLAGE__V1__REQUEST__BODY_CLOSE_SUPPORT;
	req->close_support = NEW(Maillage__V1__CloseSupport, maillage__v1__close_support__init);
	req->close_support->case_id = strdup(cli->positional);
	req->close_support->closure = c;
	rc = enum_opt(cli, "outcome", DESC(closing_outcome), true, &outcome) ||
	     str_opt(cli, "date", true, &c->date) ||
	     str_opt(cli, "handed-over-to", false, &c->handed_over_to) ||
	     str_opt(cli, "notes", false, &c->notes);
	c->outcome = outcome;
	return rc ? -1 : 0;
}

static int build_case(struct cli *cli, mlc_request *req)
{
	req->body_case = MAILLAGE__V1__REQUEST__BODY_GET_CASE;
	req->get_case = NEW(Maillage__V1__GetCase, maillage__v1__get_case__init);
	req->get_case->case_id = strdup(cli->positional);
	return 0;
}

static int build_history(struct cli *cli, mlc_request *req)
{
	req->body_case = MAILLAGE__V1__REQUEST__BODY_GET_CASE_HISTORY;
	req->get_case_history = NEW(Maillage__V1__GetCaseHistory,
				    maillage__v1__get_case_history__init);
	req->get_case_history->case_id = strdup(cli->positional);
	return uint_opt(cli, "from-version", 1, &req->get_case_history->from_version);
}

static int build_ping(struct cli *cli, mlc_request *req)
{
	(void)cli;
	req->body_case = MAILLAGE__V1__REQUEST__BODY_PING;
	req->ping = NEW(Maillage__V1__Ping, maillage__v1__ping__init);
	return 0;
}

#define CMD_OPTS "command-id= expected-version= correlation-id= "

static const struct subcmd subcmds[] = {
	{ "ping", "ping", "", "", false, false, NULL, build_ping },
	{ "refer", "refer --platform ID --reason REASON --last-name NAME --first-name NAME "
	  "--birth-date YYYY-MM-DD [options]",
	  "  --platform ID          territorial platform (e.g. vaulx-bron)\n"
	  "  --reason REASON        unpaid_rent, neighbourhood_nuisance, leaving_psychiatric_hospital,\n"
	  "                         leaving_shelter, over_occupation, unsuitable_dwelling,\n"
	  "                         too_expensive_dwelling, other\n"
	  "  --details TEXT         the reason in words\n"
	  "  --last-name, --first-name, --birth-date   the reference person\n"
	  "  --adults N (1), --children N (0)          household composition\n"
	  "  --debt EUROS           rent arrears, e.g. 3456.78\n"
	  "  --need NEED            social, budget, legal, health_access, housing, employment (repeat)\n"
	  "  --address, --postal-code, --commune, --phone, --email, --tenant-ref, --notes\n",
	  CMD_OPTS "platform= reason= details= last-name= first-name= birth-date= adults= "
	  "children= debt= need= address= postal-code= commune= phone= email= notes= tenant-ref=",
	  false, true, "referred", build_refer },
	{ "acknowledge", "acknowledge CASE_ID [--note TEXT]", "  --note TEXT\n",
	  CMD_OPTS "note=", true, true, "acknowledged", build_acknowledge },
	{ "accept", "accept CASE_ID --lead ORG --level LEVEL [--co-referent ORG]... [--notes TEXT]",
	  "  --lead ORG             the lead partner organisation\n"
	  "  --co-referent ORG      another partner on the case (repeat)\n"
	  "  --level LEVEL          advice_to_referrer, coordination, intensive_global\n"
	  "  --notes TEXT\n",
	  CMD_OPTS "lead= co-referent= level= notes=", true, true, "accepted", build_accept },
	{ "decline", "decline CASE_ID --reason REASON [--text TEXT] [--redirect-to SERVICE]",
	  "  --reason REASON        out_of_territory, not_eligible, already_supported,\n"
	  "                         household_refused, incomplete_referral, other\n"
	  "  --text TEXT, --redirect-to SERVICE\n",
	  CMD_OPTS "reason= text= redirect-to=", true, true, "declined", build_decline },
	{ "withdraw", "withdraw CASE_ID [--reason TEXT]", "  --reason TEXT\n",
	  CMD_OPTS "reason=", true, true, "withdrawn", build_withdraw },
	{ "visit", "visit CASE_ID --date YYYY-MM-DD --mode MODE [options]",
	  "  --date YYYY-MM-DD\n"
	  "  --mode MODE            home, office, phone, accompanied_appointment, household_absent\n"
	  "  --domain D             social, budget, legal, health_access, housing, employment (repeat)\n"
	  "  --tool T               rent_payment_aid, rescue_lease, moving_aid, debt_repayment_plan,\n"
	  "                         housing_solidarity_fund, transfer, sliding_lease,\n"
	  "                         transitional_housing, legal_aid (repeat)\n"
	  "  --absent               the household was not present\n"
	  "  --notes TEXT\n",
	  CMD_OPTS "date= mode= domain= tool= absent notes=", true, true, "visit recorded on",
	  build_visit },
	{ "propose", "propose CASE_ID --dwelling REF --commune NAME --typology T3 --rent EUROS "
	  "--kind KIND [options]",
	  "  --dwelling REF         the landlord's dwelling reference\n"
	  "  --landlord ORG         the landlord (defaults to the sender when it is one)\n"
	  "  --commune NAME, --typology t1..t6_or_more, --rent EUROS (monthly, charges included)\n"
	  "  --kind KIND            social_housing, transfer, sliding_lease, transitional,\n"
	  "                         adapted, private_rental\n"
	  "  --available-from YYYY-MM-DD\n",
	  CMD_OPTS "dwelling= landlord= commune= typology= rent= kind= available-from=",
	  true, true, "rehousing proposed on", build_propose },
	{ "close", "close CASE_ID --outcome OUTCOME --date YYYY-MM-DD [options]",
	  "  --outcome OUTCOME      kept_in_dwelling, rehoused_transfer, adapted_housing,\n"
	  "                         oriented_to_shelter, evicted, lost_contact, household_refused,\n"
	  "                         handed_back, other\n"
	  "  --date YYYY-MM-DD, --handed-over-to SERVICE, --notes TEXT\n",
	  CMD_OPTS "outcome= date= handed-over-to= notes=", true, true, "closed", build_close },
	{ "case", "case CASE_ID", "", "", true, false, NULL, build_case },
	{ "history", "history CASE_ID [--from-version N]", "  --from-version N\n",
	  "from-version=", true, false, NULL, build_history },
};

static const char usage[] =
	"usage: maillage [--addr HOST:PORT] [--cert FILE] [--key FILE] [--ca FILE]\n"
	"                [--json] [--timeout MS] COMMAND [ARGS]\n"
	"\n"
	"The maillage client: sends one command or query to a maillaged server over\n"
	"mutual TLS as the organisation of the client certificate.\n"
	"\n"
	"commands:\n"
	"  refer, acknowledge, accept, decline, withdraw, visit, propose, close\n"
	"  case, history, ping          (maillage COMMAND --help for each)\n"
	"\n"
	"connection (options or environment):\n"
	"  --addr HOST:PORT   MAILLAGE_ADDR   server address\n"
	"  --cert FILE        MAILLAGE_CERT   client certificate (PEM)\n"
	"  --key FILE         MAILLAGE_KEY    its private key\n"
	"  --ca FILE          MAILLAGE_CA     CA of the server certificate\n"
	"  --timeout MS       per network operation (default 10000)\n"
	"  --json             print the whole response as one JSON object\n"
	"\n"
	"commands also take: --command-id HEX32 (retry with the same idempotency key),\n"
	"  --expected-version N, --correlation-id TEXT\n"
	"\n"
	"exit status: 0 ok; 1 usage; 2 connection, TLS or protocol failure;\n"
	"  10 + the status code when the server refuses: 13 INVALID_ARGUMENT,\n"
	"  15 NOT_FOUND, 16 ALREADY_EXISTS, 17 PERMISSION_DENIED, 18 RESOURCE_EXHAUSTED,\n"
	"  19 FAILED_PRECONDITION, 20 ABORTED, 23 INTERNAL, 24 UNAVAILABLE,\n"
	"  26 UNAUTHENTICATED\n";

static const char global_opts[] = "addr= cert= key= ca= timeout= json help";

/* "name=" or "name" in the space-separated list spec; *takes_value says which. */
static bool accepts(const char *spec, const char *name, bool *takes_value)
{
	size_t n = strlen(name);

	for (const char *p = spec; (p = strstr(p, name)); p += n) {
		bool start = p == spec || p[-1] == ' ';

		if (start && (p[n] == ' ' || p[n] == 0 || p[n] == '=')) {
			*takes_value = p[n] == '=';
			return true;
		}
	}
	return false;
}

static int parse_args(struct cli *cli, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *spec;
		bool value;

		if (strncmp(a, "--", 2)) {
			if (!cli->cmd) {
				for (size_t k = 0; k < sizeof(subcmds) / sizeof(subcmds[0]); k++)
					if (!strcmp(subcmds[k].name, a))
						cli->cmd = &subcmds[k];
				if (!cli->cmd)
					return fail(cli, "unknown command '%s'%s", a, "");
			} else if (!cli->positional && cli->cmd->needs_case) {
				cli->positional = a;
			} else {
				return fail(cli, "unexpected argument '%s'%s", a, "");
			}
			continue;
		}
		a += 2;
		spec = accepts(global_opts, a, &value) ? global_opts :
		       cli->cmd && accepts(cli->cmd->options, a, &value) ? cli->cmd->options : NULL;
		if (!spec)
			return fail(cli, "unknown option '--%s'%s", a, cli->cmd ? "" :
				    " (command options come after the command)");
		if (cli->n_args == MAX_ARGS)
			return fail(cli, "too many options%s%s", "", "");
		if (value && i + 1 >= argc)
			return fail(cli, "--%s needs a value%s", a, "");
		cli->args[cli->n_args].name = a;
		cli->args[cli->n_args++].value = value ? argv[++i] : NULL;
	}
	return 0;
}

static int hex_id(struct cli *cli, const char *hex, ProtobufCBinaryData *out)
{
	out->data = malloc(16);
	out->len = 16;
	if (!out->data)
		abort();
	if (!hex)
		return mlc_new_command_id(out->data) ? fail(cli, "no random bytes%s%s", "", "") : 0;
	if (strlen(hex) != 32)
		return fail(cli, "--command-id '%s' must be 32 hexadecimal digits%s", hex, "");
	for (int i = 0; i < 16; i++) {
		unsigned v;

		if (sscanf(hex + 2 * i, "%2x", &v) != 1 || !isxdigit((unsigned char)hex[2 * i + 1]))
			return fail(cli, "--command-id '%s' must be 32 hexadecimal digits%s", hex, "");
		out->data[i] = (uint8_t)v;
	}
	return 0;
}

static mlc_request *build_request(struct cli *cli)
{
	mlc_request *req = NEW(mlc_request, maillage__v1__request__init);

	if (cli->cmd->needs_case && !cli->positional) {
		fail(cli, "'%s' needs a case id%s", cli->cmd->name, "");
		goto err_free;
	}
	if (cli->cmd->is_command &&
	    (hex_id(cli, arg_get(cli, "command-id"), &req->command_id) ||
	     uint_opt(cli, "expected-version", 0, &req->expected_version) ||
	     str_opt(cli, "correlation-id", false, &req->correlation_id)))
		goto err_free;
	if (cli->cmd->build(cli, req))
		goto err_free;
	return req;

err_free:
	maillage__v1__request__free_unpacked(req, NULL);
	return NULL;
}

static void print_time(const char *label, int64_t us)
{
	time_t s = (time_t)(us / 1000000);
	struct tm tm;
	char buf[32];

	gmtime_r(&s, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf("%s%s", label, buf);
}

static const char *enum_name(const ProtobufCEnumDescriptor *d, int v)
{
	const ProtobufCEnumValue *e = protobuf_c_enum_descriptor_get_value(d, v);

	return e ? e->name : "-";
}

static void print_case(const Maillage__V1__CaseView *view)
{
	const Maillage__V1__CaseSummary *s = view->summary;
	const Maillage__V1__Household *h = view->household;

	printf("case:            %s\n", s->case_id);
	printf("platform:        %s\n", s->platform);
	printf("state:           %s (version %u)\n", enum_name(DESC(case_state), s->state),
	       s->version);
	printf("referrer:        %s (%s)\n", s->referrer, enum_name(DESC(org_kind), s->referrer_kind));
	printf("reason:          %s\n", enum_name(DESC(referral_reason), s->reason));
	print_time("referred at:     ", s->referred_at);
	print_time("\nupdated at:      ", s->updated_at);
	printf("\nlead partner:    %s\n", s->lead_partner[0] ? s->lead_partner : "-");
	for (size_t i = 0; i < s->n_co_referents; i++)
		printf("co-referent:     %s\n", s->co_referents[i]);
	printf("support level:   %s\n", enum_name(DESC(support_level), s->support_level));
	printf("visits:          %u (last %s)\n", s->visit_count,
	       s->last_visit_date[0] ? s->last_visit_date : "-");
	printf("proposals:       %u\n", s->proposal_count);
	printf("debt:            %" PRId64 ".%02d EUR\n", s->debt_cents / 100,
	       (int)(s->debt_cents % 100));
	if (s->outcome)
		printf("outcome:         %s\n", enum_name(DESC(closing_outcome), s->outcome));
	if (s->decline_reason)
		printf("declined:        %s\n", enum_name(DESC(decline_reason), s->decline_reason));
	if (h && h->reference_person)
		printf("household:       %s %s, born %s; %u adult(s), %u child(ren)\n",
		       h->reference_person->first_name, h->reference_person->last_name,
		       h->reference_person->birth_date, h->adults, h->children);
}

/* One line per event: position, version, time, type, actor, a detail. */
static void print_event(const Maillage__V1__Event *ev)
{
	const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(
		&maillage__v1__event__descriptor, ev->body_case);

	printf("#%" PRIu64 " v%u ", ev->position, ev->case_version);
	print_time("", ev->recorded_at);
	printf(" %s by %s (%s)", f ? f->name : "?", ev->actor_org,
	       enum_name(DESC(actor_role), ev->actor_role));
	switch (ev->body_case) {
	case MAILLAGE__V1__EVENT__BODY_VISIT_RECORDED:
		if (ev->visit_recorded->visit)
			printf(": %s %s", ev->visit_recorded->visit->date,
			       enum_name(DESC(visit_mode), ev->visit_recorded->visit->mode));
		break;
	case MAILLAGE__V1__EVENT__BODY_CASE_ACCEPTED:
		if (ev->case_accepted->acceptance)
			printf(": lead %s", ev->case_accepted->acceptance->lead_partner);
		break;
	case MAILLAGE__V1__EVENT__BODY_SUPPORT_CLOSED:
		if (ev->support_closed->closure)
			printf(": %s", enum_name(DESC(closing_outcome),
						 ev->support_closed->closure->outcome));
		break;
	case MAILLAGE__V1__EVENT__BODY_REHOUSING_PROPOSED:
		if (ev->rehousing_proposed->proposal)
			printf(": %s in %s", ev->rehousing_proposed->proposal->dwelling_ref,
			       ev->rehousing_proposed->proposal->commune);
		break;
	case MAILLAGE__V1__EVENT__BODY_REFERRAL_DECLINED:
		if (ev->referral_declined->decline)
			printf(": %s", enum_name(DESC(decline_reason),
						 ev->referral_declined->decline->reason));
		break;
	default:
		break;
	}
	putchar('\n');
}

/* The result of a successful response, for people. */
static void print_human(const struct cli *cli, const mlc_response *r)
{
	switch (r->result_case) {
	case MAILLAGE__V1__RESPONSE__RESULT_COMMAND:
		printf("%s %s (version %u, position %" PRIu64 ")%s\n", cli->cmd->done,
		       r->command->case_id, r->command->case_version, r->command->first_position,
		       r->command->replayed ? " (replayed)" : "");
		break;
	case MAILLAGE__V1__RESPONSE__RESULT_CASE:
		print_case(r->case_);
		break;
	case MAILLAGE__V1__RESPONSE__RESULT_HISTORY:
		for (size_t i = 0; i < r->history->n_events; i++)
			print_event(r->history->events[i]);
		break;
	case MAILLAGE__V1__RESPONSE__RESULT_PONG:
		printf("pong: you are %s (%s); last position %" PRIu64 "\n", r->pong->org,
		       enum_name(DESC(org_kind), r->pong->kind), r->pong->last_position);
		break;
	default:
		break;
	}
}

/* Print a refusal; returns the exit status. */
static int refused(const struct cli *cli, const mlc_request *req, const mlc_response *r)
{
	const Maillage__V1__Status *st = r->status;

	fprintf(stderr, "maillage: %s: %s", enum_name(DESC(status_code), st->code), st->message);
	if (st->field[0])
		fprintf(stderr, " (field: %s)", st->field);
	if (r->result_case == MAILLAGE__V1__RESPONSE__RESULT_COMMAND && r->command->case_id[0])
		fprintf(stderr, " [case %s, version %u]", r->command->case_id,
			r->command->case_version);
	fputc('\n', stderr);
	if (cli->cmd->is_command && st->code == MAILLAGE__V1__STATUS_CODE__UNAVAILABLE) {
		fputs("maillage: retry with --command-id ", stderr);
		for (size_t i = 0; i < req->command_id.len; i++)
			fprintf(stderr, "%02x", req->command_id.data[i]);
		fputc('\n', stderr);
	}
	return EXIT_REFUSED_BASE + (int)st->code;
}

/* Send req, print the answer; history pages are followed. Exit status. */
static int exchange(struct cli *cli, struct mlc *c, mlc_request *req)
{
	int status = 0;

	for (;;) {
		mlc_response *r = mlc_call(c, req);

		if (!r) {
			fprintf(stderr, "maillage: %s\n", mlc_error(c));
			return EXIT_CONNECTION;
		}
		if (cli->json)
			cli_json_print(stdout, &r->base);
		if (r->status && r->status->code) {
			status = refused(cli, req, r);
		} else if (!cli->json) {
			print_human(cli, r);
		}
		if (status || r->result_case != MAILLAGE__V1__RESPONSE__RESULT_HISTORY ||
		    !r->history->next_version) {
			mlc_response_free(r);
			return status;
		}
		req->get_case_history->from_version = r->history->next_version;
		req->request_id = 0;
		mlc_response_free(r);
	}
}

static void command_help(const struct subcmd *cmd)
{
	printf("usage: maillage %s\n\n%s", cmd->synopsis, cmd->help);
	if (cmd->is_command)
		printf("  --command-id HEX32     retry with this idempotency key\n"
		       "  --expected-version N   refuse (ABORTED) unless the case is at version N\n"
		       "  --correlation-id TEXT  your own reference, kept in the event\n");
}

int main(int argc, char **argv)
{
	struct cli cli = { .opts = { .timeout_ms = 10000 } };
	mlc_request *req;
	struct mlc *c;
	char err[512];
	uint32_t timeout;
	int status;

	signal(SIGPIPE, SIG_IGN);
	if (parse_args(&cli, argc, argv)) {
		fprintf(stderr, "maillage: %s\n", cli.err);
		return EXIT_USAGE;
	}
	if (arg_get(&cli, "help") || !cli.cmd) {
		if (cli.cmd)
			command_help(cli.cmd);
		else
			fputs(usage, arg_get(&cli, "help") ? stdout : stderr);
		return arg_get(&cli, "help") ? 0 : EXIT_USAGE;
	}
	cli.json = arg_get(&cli, "json") != NULL;
	cli.opts.addr = arg_get(&cli, "addr");
	cli.opts.cert = arg_get(&cli, "cert");
	cli.opts.key = arg_get(&cli, "key");
	cli.opts.ca = arg_get(&cli, "ca");
	if (uint_opt(&cli, "timeout", 10000, &timeout)) {
		fprintf(stderr, "maillage: %s\n", cli.err);
		return EXIT_USAGE;
	}
	cli.opts.timeout_ms = (int)timeout;
	mlc_opts_from_env(&cli.opts);
	req = build_request(&cli);
	if (!req) {
		fprintf(stderr, "maillage: %s\n", cli.err);
		return EXIT_USAGE;
	}
	c = mlc_connect(&cli.opts, err, sizeof(err));
	if (!c) {
		fprintf(stderr, "maillage: %s\n", err);
		maillage__v1__request__free_unpacked(req, NULL);
		return EXIT_CONNECTION;
	}
	status = exchange(&cli, c, req);
	mlc_close(c);
	maillage__v1__request__free_unpacked(req, NULL);
	return status;
}
