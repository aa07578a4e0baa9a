/* validate.c - field checks on a decoded Request: a table of rules per
 * command (required fields, dates, ranges, case ids), then one walk over every
 * field by reflection (UTF-8, lengths, enum values, list sizes).
 */
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "validate.h"

#define B(x) MAILLAGE__V1__REQUEST__BODY_##x
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define CASE_ID_MAX 40
#define PING_MAX 1024
#define HOUSEHOLD_MAX 30
#define QUOTE_MAX 40          /* bytes of a client's value quoted in a message */

enum rule_kind {
	R_MSG,        /* submessage required */
	R_STR,        /* non-empty string */
	R_ENUM,       /* enum other than 0 (known values are checked by the walk) */
	R_DATE,       /* "YYYY-MM-DD" required */
	R_OPT_DATE,   /* empty or a date */
	R_CASE_ID,    /* CODE-YYYY-NNNNNN */
	R_OPT_CASE_ID, /* empty or a case id */
	R_RANGE,      /* integer within [min, max] */
};

struct rule {
	int body;
	const char *path;     /* from the body message, e.g. "referral.platform" */
	enum rule_kind kind;
	long long min, max;
};

/* Per command, parents before their children: a rule on a field whose parent
 * is absent is skipped, the parent's own rule having refused first. */
static const struct rule rules[] = {
	{ B(REFER_HOUSEHOLD), "referral", R_MSG, 0, 0 },
	{ B(REFER_HOUSEHOLD), "referral.platform", R_STR, 0, 0 },
	{ B(REFER_HOUSEHOLD), "referral.reason", R_ENUM, 0, 0 },
	{ B(REFER_HOUSEHOLD), "referral.household", R_MSG, 0, 0 },
	{ B(REFER_HOUSEHOLD), "referral.household.reference_person", R_MSG, 0, 0 },
	{ B(REFER_HOUSEHOLD), "referral.household.reference_person.last_name", R_STR, 0, 0 },
	{ B(REFER_HOUSEHOLD), "referral.household.reference_person.first_name", R_STR, 0, 0 },
	{ B(REFER_HOUSEHOLD), "referral.household.reference_person.birth_date", R_DATE, 0, 0 },
	{ B(REFER_HOUSEHOLD), "referral.household.adults", R_RANGE, 1, HOUSEHOLD_MAX },
	{ B(REFER_HOUSEHOLD), "referral.household.children", R_RANGE, 0, HOUSEHOLD_MAX - 1 },
	{ B(REFER_HOUSEHOLD), "referral.household.debt_cents", R_RANGE, 0, 10000000000LL },
	{ B(ACKNOWLEDGE_REFERRAL), "case_id", R_CASE_ID, 0, 0 },
	{ B(ACCEPT_CASE), "case_id", R_CASE_ID, 0, 0 },
	{ B(ACCEPT_CASE), "acceptance", R_MSG, 0, 0 },
	{ B(ACCEPT_CASE), "acceptance.lead_partner", R_STR, 0, 0 },
	{ B(ACCEPT_CASE), "acceptance.support_level", R_ENUM, 0, 0 },
	{ B(DECLINE_REFERRAL), "case_id", R_CASE_ID, 0, 0 },
	{ B(DECLINE_REFERRAL), "decline", R_MSG, 0, 0 },
	{ B(DECLINE_REFERRAL), "decline.reason", R_ENUM, 0, 0 },
	{ B(WITHDRAW_REFERRAL), "case_id", R_CASE_ID, 0, 0 },
	{ B(RECORD_VISIT), "case_id", R_CASE_ID, 0, 0 },
	{ B(RECORD_VISIT), "visit", R_MSG, 0, 0 },
	{ B(RECORD_VISIT), "visit.date", R_DATE, 0, 0 },
	{ B(RECORD_VISIT), "visit.mode", R_ENUM, 0, 0 },
	{ B(PROPOSE_REHOUSING), "case_id", R_CASE_ID, 0, 0 },
	{ B(PROPOSE_REHOUSING), "proposal", R_MSG, 0, 0 },
	{ B(PROPOSE_REHOUSING), "proposal.dwelling_ref", R_STR, 0, 0 },
	{ B(PROPOSE_REHOUSING), "proposal.commune", R_STR, 0, 0 },
	{ B(PROPOSE_REHOUSING), "proposal.typology", R_ENUM, 0, 0 },
	{ B(PROPOSE_REHOUSING), "proposal.kind", R_ENUM, 0, 0 },
	{ B(PROPOSE_REHOUSING), "proposal.rent_cents", R_RANGE, 1, 100000000LL },
	{ B(PROPOSE_REHOUSING), "proposal.available_from", R_OPT_DATE, 0, 0 },
	{ B(CLOSE_SUPPORT), "case_id", R_CASE_ID, 0, 0 },
	{ B(CLOSE_SUPPORT), "closure", R_MSG, 0, 0 },
	{ B(CLOSE_SUPPORT), "closure.outcome", R_ENUM, 0, 0 },
	{ B(CLOSE_SUPPORT), "closure.date", R_DATE, 0, 0 },
	{ B(ASSIGN_PARTNER), "case_id", R_CASE_ID, 0, 0 },
	{ B(ASSIGN_PARTNER), "partner", R_STR, 0, 0 },
	{ B(ASSIGN_PARTNER), "role", R_ENUM, 0, 0 },
	{ B(RELEASE_ASSIGNMENT), "case_id", R_CASE_ID, 0, 0 },
	{ B(RELEASE_ASSIGNMENT), "partner", R_STR, 0, 0 },
	{ B(RECORD_PROCEDURE_STEP), "case_id", R_CASE_ID, 0, 0 },
	{ B(RECORD_PROCEDURE_STEP), "step", R_MSG, 0, 0 },
	{ B(RECORD_PROCEDURE_STEP), "step.stage", R_ENUM, 0, 0 },
	{ B(RECORD_PROCEDURE_STEP), "step.date", R_DATE, 0, 0 },
	{ B(RECORD_PROCEDURE_STEP), "step.amount_cents", R_RANGE, 0, 10000000000LL },
	{ B(RECORD_PROCEDURE_STEP), "step.hearing_date", R_OPT_DATE, 0, 0 },
	{ B(ANSWER_PROPOSAL), "case_id", R_CASE_ID, 0, 0 },
	{ B(ANSWER_PROPOSAL), "answer", R_MSG, 0, 0 },
	{ B(ANSWER_PROPOSAL), "answer.proposal_number", R_RANGE, 1, 1000 },
	{ B(SIGN_LEASE), "case_id", R_CASE_ID, 0, 0 },
	{ B(SIGN_LEASE), "proposal_number", R_RANGE, 1, 1000 },
	{ B(SIGN_LEASE), "date", R_DATE, 0, 0 },
	{ B(PUT_ON_HOLD), "case_id", R_CASE_ID, 0, 0 },
	{ B(RESUME), "case_id", R_CASE_ID, 0, 0 },
	{ B(ERASE_HOUSEHOLD_DATA), "case_id", R_CASE_ID, 0, 0 },
	{ B(ERASE_HOUSEHOLD_DATA), "reason", R_ENUM, 0, 0 },
	{ B(LIST_ACCESS_JOURNAL), "case_id", R_CASE_ID, 0, 0 },
	{ B(LIST_ACCESS_JOURNAL), "limit", R_RANGE, 0, 1000 },
	{ B(LIST_CASELOAD), "platform", R_STR, 0, 0 },
	{ B(LIST_CASELOAD), "limit", R_RANGE, 0, 1000 },
	{ B(LIST_PENDING_REFERRALS), "platform", R_STR, 0, 0 },
	{ B(GET_PARTNER_LOAD), "platform", R_STR, 0, 0 },
	{ B(GET_REHOUSING_PIPELINE), "platform", R_STR, 0, 0 },
	{ B(GET_PLATFORM_STATS), "platform", R_STR, 0, 0 },
	{ B(GET_PLATFORM_STATS), "from", R_DATE, 0, 0 },
	{ B(GET_PLATFORM_STATS), "to", R_DATE, 0, 0 },
	{ B(LIST_STALE_CASES), "platform", R_STR, 0, 0 },
	{ B(LIST_STALE_CASES), "days", R_RANGE, 0, 3650 },
	{ B(LIST_DEADLINES), "platform", R_STR, 0, 0 },
	{ B(LIST_DEADLINES), "days", R_RANGE, 0, 3650 },
	{ B(GET_CASE), "case_id", R_CASE_ID, 0, 0 },
	{ B(GET_CASE_HISTORY), "case_id", R_CASE_ID, 0, 0 },
	{ B(SUBSCRIBE), "case_id", R_OPT_CASE_ID, 0, 0 },
};

/* Free-text fields, by name: multiline and up to VALIDATE_MAX_TEXT bytes.
 * Every other string is single-line and up to VALIDATE_MAX_NAME bytes. */
static const char *const text_fields[] = {
	"notes", "note", "text", "reason_details", "reason_text",
};

/* Length of the well-formed UTF-8 character at s (n > 0 bytes left) when it
 * is not a control character (C0, DEL, C1; tab and newline allowed when
 * multiline); 0 otherwise. */
static size_t utf8_char(const unsigned char *s, size_t n, bool multiline)
{
	static const unsigned min_cp[] = { 0, 0, 0x80, 0x800, 0x10000 };
	size_t need;
	unsigned cp;

	if (s[0] < 0x80)
		return (s[0] >= 0x20 && s[0] != 0x7f) ||
		       (multiline && (s[0] == '\n' || s[0] == '\t'));
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		need = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		need = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		need = 4;
	else
		return 0;     /* continuation byte, overlong lead, or beyond U+10FFFF */
	cp = s[0] & (0x7fu >> need);
	if (need > n)
		return 0;
	for (size_t k = 1; k < need; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[k] & 0x3f);
	}
	if (cp < min_cp[need] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
	    (cp >= 0x80 && cp < 0xa0))
		return 0;
	return need;
}

/* Offset of the first byte of s that starts no allowed character; len when
 * every character is allowed. */
static size_t utf8_bad_at(const char *s, size_t len, bool multiline)
{
	size_t i = 0, k;

	while (i < len && (k = utf8_char((const unsigned char *)s + i, len - i, multiline)))
		i += k;
	return i;
}

bool validate_utf8(const char *s, size_t len, bool multiline)
{
	return utf8_bad_at(s, len, multiline) == len;
}

/* The client's value s, fit to quote in a message: whole characters up to
 * QUOTE_MAX bytes, '?' for each byte that starts none, "..." when cut. A
 * message is sent back as a protobuf string and must be valid UTF-8 even
 * when the value is not. buf holds QUOTE_MAX + 4 bytes. */
static const char *quote(const char *s, char *buf)
{
	size_t n = strlen(s), i = 0, o = 0;

	while (i < n) {
		size_t k = utf8_char((const unsigned char *)s + i, n - i, false);

		if (o + (k ? k : 1) > QUOTE_MAX)
			break;
		if (k)
			memcpy(buf + o, s + i, k);
		else
			buf[o] = '?';
		o += k ? k : 1;
		i += k ? k : 1;
	}
	snprintf(buf + o, 4, "%s", i < n ? "..." : "");
	return buf;
}

/* The value of the n decimal digits at s; -1 when one is not a digit. */
static int digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static int days_in_month(int y, int m)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);

	return mdays[m - 1] + (m == 2 && leap);
}

/* Days from 1970-01-01 to y-m-d, proleptic Gregorian, for y >= 1 (H. Hinnant's
 * days_from_civil). */
static int64_t days_from_civil(int y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = y / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int validate_parse_date(const char *s, int64_t *out_us)
{
	int y, m, d;

	if (strnlen(s, 11) != 10 || s[4] != '-' || s[7] != '-')
		return ML_EINVAL;
	y = digits(s, 4);
	m = digits(s + 5, 2);
	d = digits(s + 8, 2);
	if (y < 1900 || y > 2199 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
		return ML_EINVAL;
	*out_us = days_from_civil(y, m, d) * 86400LL * 1000000LL;
	return 0;
}

/* Skip a run of characters in [lo, hi] at s + *i; how many there were. */
static size_t span(const char *s, size_t *i, char lo, char hi)
{
	size_t start = *i;

	while (s[*i] >= lo && s[*i] <= hi)
		(*i)++;
	return *i - start;
}

bool validate_case_id(const char *s)
{
	size_t i = 0, code, year, number;

	if (strnlen(s, CASE_ID_MAX + 1) > CASE_ID_MAX)
		return false;
	code = span(s, &i, 'A', 'Z');
	if (code < 2 || code > 6 || s[i++] != '-')
		return false;
	year = span(s, &i, '0', '9');
	if (year != 4 || s[i++] != '-')
		return false;
	number = span(s, &i, '0', '9');
	return number >= 6 && s[i] == 0;
}

/* Where a field lives in a message, by name; NULL msg when a parent on the
 * path is absent. */
struct located {
	const ProtobufCMessage *msg;
	const ProtobufCFieldDescriptor *field;
	const void *value;
};

static int locate(const ProtobufCMessage *msg, const char *path, struct located *out)
{
	char name[64];
	const char *dot;
	size_t n;

	for (;;) {
		dot = strchr(path, '.');
		n = dot ? (size_t)(dot - path) : strlen(path);
		if (n >= sizeof(name))
			return ML_EINTERNAL;
		memcpy(name, path, n);
		name[n] = 0;
		out->msg = msg;
		out->field = protobuf_c_message_descriptor_get_field_by_name(msg->descriptor, name);
		if (!out->field)
			return ML_EINTERNAL;
		out->value = (const char *)msg + out->field->offset;
		if (!dot)
			return 0;
		msg = *(const ProtobufCMessage *const *)out->value;
		if (!msg) {
			out->msg = NULL;
			return 0;
		}
		path = dot + 1;
	}
}

static long long int_value(const struct located *at)
{
	switch (at->field->type) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
		return *(const int64_t *)at->value;
	case PROTOBUF_C_TYPE_UINT64:
		return (long long)*(const uint64_t *)at->value;
	case PROTOBUF_C_TYPE_UINT32:
		return *(const uint32_t *)at->value;
	default:
		return *(const int32_t *)at->value;
	}
}

static int required(const char *field, struct status *st)
{
	return status_fail(st, ML_EINVAL, field, "field is required");
}

static int check_date(const char *s, bool optional, const char *field, struct status *st)
{
	char q[QUOTE_MAX + 4];
	int64_t us;

	if (!s[0])
		return optional ? 0 : required(field, st);
	if (validate_parse_date(s, &us))
		return status_fail(st, ML_EINVAL, field,
				   "date '%s' is not a calendar date written YYYY-MM-DD",
				   quote(s, q));
	return 0;
}

static int check_case_id(const char *s, const char *field, struct status *st)
{
	char q[QUOTE_MAX + 4];

	if (!s[0])
		return required(field, st);
	if (!validate_case_id(s))
		return status_fail(st, ML_EINVAL, field,
				   "case id '%s' is not of the form CODE-YYYY-NNNNNN", quote(s, q));
	return 0;
}

static int check_range(const struct located *at, const struct rule *r, const char *field,
		       struct status *st)
{
	long long v = int_value(at);

	if (v < r->min || v > r->max)
		return status_fail(st, ML_EINVAL, field, "value %lld is not between %lld and %lld",
				   v, r->min, r->max);
	return 0;
}

static int check_rule(const ProtobufCMessage *body, const struct rule *r,
		      const char *prefix, struct status *st)
{
	char field[128];
	struct located at;
	const char *s;

	if (locate(body, r->path, &at))
		return status_fail(st, ML_EINTERNAL, NULL, "no field '%s'", r->path);
	if (!at.msg)
		return 0;     /* a missing parent has its own rule, checked first */
	snprintf(field, sizeof(field), "%s.%s", prefix, r->path);
	s = at.field->type == PROTOBUF_C_TYPE_STRING ? *(char *const *)at.value : "";
	switch (r->kind) {
	case R_MSG:
		return *(const void *const *)at.value ? 0 : required(field, st);
	case R_STR:
		return s[0] ? 0 : required(field, st);
	case R_ENUM:
		return *(const int *)at.value ? 0 : required(field, st);
	case R_DATE:
	case R_OPT_DATE:
		return check_date(s, r->kind == R_OPT_DATE, field, st);
	case R_CASE_ID:
		return check_case_id(s, field, st);
	case R_OPT_CASE_ID:
		return s[0] ? check_case_id(s, field, st) : 0;
	case R_RANGE:
		return check_range(&at, r, field, st);
	}
	return 0;
}

static bool is_text(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(text_fields); i++)
		if (!strcmp(name, text_fields[i]))
			return true;
	return false;
}

static int check_string(const char *s, const char *name, const char *field,
			struct status *st)
{
	bool text = is_text(name);
	size_t n = strlen(s), max = text ? VALIDATE_MAX_TEXT : VALIDATE_MAX_NAME;
	size_t bad;

	if (n > max)
		return status_fail(st, ML_EINVAL, field, "text of %zu bytes is longer than %zu",
				   n, max);
	bad = utf8_bad_at(s, n, text);
	if (bad < n)
		return status_fail(st, ML_EINVAL, field, "text is not valid UTF-8 or holds a "
				   "control character at byte %zu", bad);
	return 0;
}

static int check_enum(const ProtobufCFieldDescriptor *f, int v, const char *field,
		      struct status *st)
{
	const ProtobufCEnumDescriptor *e = f->descriptor;

	if (v == 0 || wire_enum_valid(e, v))
		return 0;
	return status_fail(st, ML_EINVAL, field, "value %d is not a known %s", v, e->short_name);
}

static int walk(const ProtobufCMessage *msg, const char *prefix, struct status *st);

/* One element of a field (the field itself, or one entry of a list). */
static int check_value(const ProtobufCFieldDescriptor *f, const void *v,
		       const char *field, bool in_list, struct status *st)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING:
		if (in_list && !(*(char *const *)v)[0])
			return status_fail(st, ML_EINVAL, field, "entries must not be empty");
		return check_string(*(char *const *)v, f->name, field, st);
	case PROTOBUF_C_TYPE_ENUM:
		if (in_list && *(const int *)v == 0)
			return status_fail(st, ML_EINVAL, field, "entries must not be unspecified");
		return check_enum(f, *(const int *)v, field, st);
	case PROTOBUF_C_TYPE_MESSAGE:
		return *(const ProtobufCMessage *const *)v ?
			walk(*(const ProtobufCMessage *const *)v, field, st) : 0;
	default:
		return 0;
	}
}

static size_t elem_size(const ProtobufCFieldDescriptor *f)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(void *);
	case PROTOBUF_C_TYPE_ENUM:
		return sizeof(int);
	default:
		return 0;     /* lists of other types are not checked entry by entry */
	}
}

/* True when two entries of a list of strings or enums are equal. */
static bool same_entry(const ProtobufCFieldDescriptor *f, const void *a, const void *b)
{
	if (f->type == PROTOBUF_C_TYPE_ENUM)
		return *(const int *)a == *(const int *)b;
	if (f->type == PROTOBUF_C_TYPE_STRING)
		return !strcmp(*(char *const *)a, *(char *const *)b);
	return false;
}

static int check_list(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f,
		      const char *field, struct status *st)
{
	size_t n = *(const size_t *)((const char *)msg + f->quantifier_offset);
	const char *items = *(const char *const *)((const char *)msg + f->offset);
	size_t size = elem_size(f);
	int rc = 0;

	if (n > VALIDATE_MAX_LIST)
		return status_fail(st, ML_EINVAL, field, "list of %zu entries is longer than %d",
				   n, VALIDATE_MAX_LIST);
	for (size_t i = 0; size && !rc && i < n; i++) {
		rc = check_value(f, items + i * size, field, true, st);
		for (size_t j = 0; !rc && j < i; j++)
			if (same_entry(f, items + i * size, items + j * size))
				rc = status_fail(st, ML_EINVAL, field, "entry %zu repeats entry %zu",
						 i + 1, j + 1);
	}
	return rc;
}

/* Every field of msg: strings, enums and lists, recursively. */
static int walk(const ProtobufCMessage *msg, const char *prefix, struct status *st)
{
	const ProtobufCMessageDescriptor *d = msg->descriptor;
	char field[128];
	int rc = 0;

	for (unsigned i = 0; !rc && i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];

		if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
			continue;     /* the Request's body is walked on its own */
		snprintf(field, sizeof(field), "%s%s%s", prefix, prefix[0] ? "." : "", f->name);
		if (f->label == PROTOBUF_C_LABEL_REPEATED)
			rc = check_list(msg, f, field, st);
		else
			rc = check_value(f, (const char *)msg + f->offset, field, false, st);
	}
	return rc;
}

/* Rules across fields, which no table row can say. They run last, once every
 * required message is known to be present. */
static int check_household_size(const ml_request *req, struct status *st)
{
	const Maillage__V1__Household *h = req->refer_household->referral->household;

	if (h->adults + h->children > HOUSEHOLD_MAX)
		return status_fail(st, ML_EINVAL, "refer_household.referral.household.children",
				   "a household of %u people is not plausible (%d at most)",
				   h->adults + h->children, HOUSEHOLD_MAX);
	return 0;
}

static int check_co_referents(const ml_request *req, struct status *st)
{
	const Maillage__V1__Acceptance *a = req->accept_case->acceptance;
	char q[QUOTE_MAX + 4];

	for (size_t i = 0; i < a->n_co_referents; i++)
		if (!strcmp(a->co_referents[i], a->lead_partner))
			return status_fail(st, ML_EINVAL, "accept_case.acceptance.co_referents",
					   "'%s' is already the lead partner",
					   quote(a->lead_partner, q));
	return 0;
}

static int check_ping(const ml_request *req, struct status *st)
{
	if (req->ping->payload.len > PING_MAX)
		return status_fail(st, ML_EINVAL, "ping.payload",
				   "payload of %zu bytes is longer than %d",
				   req->ping->payload.len, PING_MAX);
	return 0;
}

/* A refusal says why; an acceptance has no refusal reason. */
static int check_answer(const ml_request *req, struct status *st)
{
	const Maillage__V1__ProposalAnswer *a = req->answer_proposal->answer;

	if (!a->accepted && !a->refusal_reason)
		return status_fail(st, ML_EINVAL, "answer_proposal.answer.refusal_reason",
				   "field is required when the proposal is refused");
	if (a->accepted && a->refusal_reason)
		return status_fail(st, ML_EINVAL, "answer_proposal.answer.refusal_reason",
				   "an accepted proposal has no refusal reason");
	return 0;
}

/* The retention rule is the server's own reason. */
static int check_erasure(const ml_request *req, struct status *st)
{
	if (req->erase_household_data->reason == MAILLAGE__V1__ERASURE_REASON__ERASURE_RETENTION)
		return status_fail(st, ML_EINVAL, "erase_household_data.reason",
				   "ERASURE_RETENTION is for the server's retention rule only");
	return 0;
}

static const struct {
	int body;
	int (*check)(const ml_request *req, struct status *st);
} cross_checks[] = {
	{ B(ERASE_HOUSEHOLD_DATA), check_erasure },
	{ B(ANSWER_PROPOSAL), check_answer },
	{ B(REFER_HOUSEHOLD), check_household_size },
	{ B(ACCEPT_CASE), check_co_referents },
	{ B(PING), check_ping },
};

bool validate_is_command(const ml_request *req)
{
	return req->body_case >= B(REFER_HOUSEHOLD) && req->body_case <= B(ERASE_HOUSEHOLD_DATA);
}

int validate_request(const ml_request *req, struct status *st)
{
	const ProtobufCMessage *body = wire_body(req);
	const char *name = wire_body_name(req);
	int rc;

	status_clear(st);
	if (!body)
		return status_fail(st, ML_EINVAL, "body", "request has no body");
	if (validate_is_command(req) && req->command_id.len != WIRE_COMMAND_ID_LEN)
		return status_fail(st, ML_EINVAL, "command_id",
				   "command_id must be %d random bytes, not %zu",
				   WIRE_COMMAND_ID_LEN, req->command_id.len);
	rc = check_string(req->correlation_id, "correlation_id", "correlation_id", st);
	if (!rc)
		rc = check_string(req->purpose, "purpose", "purpose", st);
	for (size_t i = 0; !rc && i < ARRAY_SIZE(rules); i++)
		if (rules[i].body == (int)req->body_case)
			rc = check_rule(body, &rules[i], name, st);
	if (!rc)
		rc = walk(body, name, st);
	for (size_t i = 0; !rc && i < ARRAY_SIZE(cross_checks); i++)
		if (cross_checks[i].body == (int)req->body_case)
			rc = cross_checks[i].check(req, st);
	return rc;
}
