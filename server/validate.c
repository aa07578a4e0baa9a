/* validate.c - field checks on a decoded Request: a table of rules per
 * command (required fields, dates, ranges, case ids), then one walk over every
 * field by reflection (UTF-8, lengths, enum values, list sizes).
 */
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "validate.h"

#define B(x) MAILLAGE__V1__REQUEST__BODY_##x

enum rule_kind {
	R_MSG,        /* submessage required */
	R_STR,        /* non-empty string */
	R_ENUM,       /* enum other than 0 */
	R_DATE,       /* "YYYY-MM-DD" required */
	R_OPT_DATE,   /* empty or a date */
	R_CASE_ID,    /* CODE-YYYY-NNNNNN */
	R_RANGE,      /* integer within [min, max] */
};

struct rule {
	int body;
	const char *path;     /* from the body message, e.g. "referral.platform" */
	enum rule_kind kind;
	long long min, max;
};

static const struct rule rules[] = {
	{ B(REFER_HOUSEHOLD), "referral", R_MSG, 0, 0 },
	{ B(REFER_HOUSEHOLD), "referral.platform", R_STR, 0, 0 },
	{ B(REFER_HOUSEHOLD), "referral.reason", R_ENUM, 0, 0 },
	{ B(REFER_HOUSEHOLD), "referral.household", R_MSG, 0, 0 },
	{ B(REFER_HOUSEHOLD), "referral.household.reference_person", R_MSG, 0, 0 },
	{ B(REFER_HOUSEHOLD), "referral.household.reference_person.last_name", R_STR, 0, 0 },
	{ B(REFER_HOUSEHOLD), "referral.household.reference_person.first_name", R_STR, 0, 0 },
	{ B(REFER_HOUSEHOLD), "referral.household.reference_person.birth_date", R_DATE, 0, 0 },
	{ B(REFER_HOUSEHOLD), "referral.household.adults", R_RANGE, 1, 30 },
	{ B(REFER_HOUSEHOLD), "referral.household.children", R_RANGE, 0, 29 },
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
	{ B(GET_CASE), "case_id", R_CASE_ID, 0, 0 },
	{ B(GET_CASE_HISTORY), "case_id", R_CASE_ID, 0, 0 },
};

/* Free-text fields: multiline and up to VALIDATE_MAX_TEXT bytes. */
static const char *const text_fields[] = {
	"notes", "note", "text", "reason_details", "reason_text",
};

/* Where a field lives in a message, by name; NULL message when a parent on the
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

bool validate_case_id(const char *s)
{
	size_t i = 0, n = strlen(s), digits;

	if (n > 40)
		return false;
	while (s[i] >= 'A' && s[i] <= 'Z')
		i++;
	if (i < 2 || i > 6 || s[i++] != '-')
		return false;
	for (digits = 0; s[i] >= '0' && s[i] <= '9'; i++)
		digits++;
	if (digits != 4 || s[i++] != '-')
		return false;
	for (digits = 0; s[i] >= '0' && s[i] <= '9'; i++)
		digits++;
	return digits >= 6 && i == n;
}

static int check_rule(const ProtobufCMessage *body, const struct rule *r,
		      const char *prefix, struct status *st)
{
	char field[128];
	struct located at;
	const char *s;
	long long v;
	int64_t us;

	if (locate(body, r->path, &at))
		return status_fail(st, ML_EINTERNAL, NULL, "no field '%s'", r->path);
	if (!at.msg)
		return 0;     /* a missing parent has its own rule, checked first */
	snprintf(field, sizeof(field), "%s.%s", prefix, r->path);
	s = at.field->type == PROTOBUF_C_TYPE_STRING ? *(char *const *)at.value : NULL;
	switch (r->kind) {
	case R_MSG:
		if (!*(const void *const *)at.value)
			return status_fail(st, ML_EINVAL, field, "field is required");
		return 0;
	case R_STR:
		return s && s[0] ? 0 : status_fail(st, ML_EINVAL, field, "field is required");
	case R_ENUM:
		return *(const int *)at.value ? 0 :
			status_fail(st, ML_EINVAL, field, "field is required");
	case R_OPT_DATE:
		if (!s[0])
			return 0;
		/* fall through */
	case R_DATE:
		if (!s[0])
			return status_fail(st, ML_EINVAL, field, "field is required");
		return validate_parse_date(s, &us) == 0 ? 0 :
			status_fail(st, ML_EINVAL, field, "date '%.40s' is not a calendar date "
				    "written YYYY-MM-DD", s);
	case R_CASE_ID:
		if (!s[0])
			return status_fail(st, ML_EINVAL, field, "field is required");
		return validate_case_id(s) ? 0 :
			status_fail(st, ML_EINVAL, field, "case id '%.40s' is not of the form "
				    "CODE-YYYY-NNNNNN", s);
	case R_RANGE:
		v = int_value(&at);
		return v >= r->min && v <= r->max ? 0 :
			status_fail(st, ML_EINVAL, field, "value %lld is not between %lld and %lld",
				    v, r->min, r->max);
	}
	return 0;
}

static bool is_text(const char *name)
{
	for (size_t i = 0; i < sizeof(text_fields) / sizeof(text_fields[0]); i++)
		if (!strcmp(name, text_fields[i]))
			return true;
	return false;
}

static int check_string(const char *s, const char *name, const char *field,
			struct status *st)
{
	bool text = is_text(name);
	size_t n = strlen(s), max = text ? VALIDATE_MAX_TEXT : VALIDATE_MAX_NAME;

	if (n > max)
		return status_fail(st, ML_EINVAL, field, "text of %zu bytes is longer than %zu",
				   n, max);
	if (!validate_utf8(s, n, text))
		return status_fail(st, ML_EINVAL, field,
				   "text is not valid UTF-8 or holds control characters");
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
		return 0;
	}
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
		for (size_t j = 0; !rc && f->type != PROTOBUF_C_TYPE_MESSAGE && j < i; j++) {
			bool same = f->type == PROTOBUF_C_TYPE_ENUM ?
				*(const int *)(items + i * size) == *(const int *)(items + j * size) :
				!strcmp(*(char *const *)(items + i * size),
					*(char *const *)(items + j * size));
			if (same)
				rc = status_fail(st, ML_EINVAL, field, "entry %zu repeats entry %zu",
						 i + 1, j + 1);
		}
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

/* Rules no table can say. */
static int check_specific(const ml_request *req, struct status *st)
{
	if (req->body_case == B(REFER_HOUSEHOLD)) {
		const Maillage__V1__Household *h = req->refer_household->referral->household;

		if (h->adults + h->children > 30)
			return status_fail(st, ML_EINVAL, "refer_household.referral.household.children",
					   "a household of %u people is not plausible",
					   h->adults + h->children);
	}
	if (req->body_case == B(ACCEPT_CASE)) {
		const Maillage__V1__Acceptance *a = req->accept_case->acceptance;

		for (size_t i = 0; i < a->n_co_referents; i++)
			if (!strcmp(a->co_referents[i], a->lead_partner))
				return status_fail(st, ML_EINVAL,
						   "accept_case.acceptance.co_referents",
						   "'%s' is already the lead partner", a->lead_partner);
	}
	if (req->body_case == B(PING) && req->ping->payload.len > 1024)
		return status_fail(st, ML_EINVAL, "ping.payload", "payload of %zu bytes is longer "
				   "than 1024", req->ping->payload.len);
	return 0;
}

bool validate_is_command(const ml_request *req)
{
	return req->body_case >= B(REFER_HOUSEHOLD) && req->body_case <= B(CLOSE_SUPPORT);
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
	for (size_t i = 0; !rc && i < sizeof(rules) / sizeof(rules[0]); i++)
		if (rules[i].body == (int)req->body_case)
			rc = check_rule(body, &rules[i], name, st);
	if (!rc)
		rc = walk(body, name, st);
	return rc ? rc : check_specific(req, st);
}

int validate_parse_date(const char *s, int64_t *out_us)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, m, d, n = -1;
	long long days;

	if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10 ||
	    s[4] != '-' || s[7] != '-')
		return ML_EINVAL;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return ML_EINVAL;
	if (y < 1900 || y > 2199 || m < 1 || m > 12 || d < 1)
		return ML_EINVAL;
	if (d > mdays[m - 1] + (m == 2 && (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))))
		return ML_EINVAL;
	/* Days from 1970-01-01 (H. Hinnant's days_from_civil). */
	y -= m <= 2;
	{
		long long era = y / 400, yoe = y - era * 400;
		long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
		long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

		days = era * 146097 + doe - 719468;
	}
	*out_us = days * 86400LL * 1000000LL;
	return 0;
}

bool validate_utf8(const char *str, size_t len, bool multiline)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < len) {
		unsigned c = s[i], need, cp;

		if (c < 0x80) {
			if ((c < 0x20 && !(multiline && (c == '\n' || c == '\t'))) || c == 0x7f)
				return false;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			cp = c & 0x07;
		} else {
			return false;    /* continuation byte, overlong lead, or > U+10FFFF */
		}
		if (i + need >= len)
			return false;
		for (unsigned k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp < 0xa0))
			return false;
		i += need + 1;
	}
	return true;
}
