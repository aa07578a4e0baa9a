/* wire.c - protobuf-c glue: decoding, encoding, framing and enum names.
 * The only file that calls protobuf-c; everything it unpacks uses the default
 * (malloc) allocator, so strings set with wire_set_string() can be freed by
 * wire_free().
 */
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "wire.h"

#define UNPACK(fn, type, data, len) \
	((type *)maillage__v1__##fn##__unpack(NULL, (len), (data)))

ml_request *wire_request_unpack(const uint8_t *data, size_t len)
{
	return UNPACK(request, ml_request, data, len);
}

ml_event *wire_event_unpack(const uint8_t *data, size_t len)
{
	return UNPACK(event, ml_event, data, len);
}

ml_case *wire_case_unpack(const uint8_t *data, size_t len)
{
	return UNPACK(case_summary, ml_case, data, len);
}

ml_command_record *wire_command_record_unpack(const uint8_t *data, size_t len)
{
	return UNPACK(command_record, ml_command_record, data, len);
}

ml_household_cases *wire_household_cases_unpack(const uint8_t *data, size_t len)
{
	return UNPACK(household_cases, ml_household_cases, data, len);
}

ml_data_key *wire_data_key_unpack(const uint8_t *data, size_t len)
{
	return UNPACK(data_key, ml_data_key, data, len);
}

ml_access_record *wire_access_record_unpack(const uint8_t *data, size_t len)
{
	return UNPACK(access_record, ml_access_record, data, len);
}

Maillage__V1__PersonalValues *wire_personal_values_unpack(const uint8_t *data, size_t len)
{
	return UNPACK(personal_values, Maillage__V1__PersonalValues, data, len);
}

/* The fields of one message that are present: oneof members only when set. */
static bool field_present(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
	if (!(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
		return true;
	return *(const uint32_t *)((const char *)m + f->quantifier_offset) == f->id;
}

int wire_walk_strings(void *msg, wire_string_fn fn, void *arg)
{
	ProtobufCMessage *m = msg;
	const ProtobufCMessageDescriptor *md = m->descriptor;
	int rc = 0;

	for (unsigned i = 0; !rc && i < md->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &md->fields[i];
		char *member = (char *)m + f->offset;

		if (!field_present(m, f))
			continue;
		if (f->type == PROTOBUF_C_TYPE_STRING && f->label != PROTOBUF_C_LABEL_REPEATED) {
			rc = fn(arg, md, f->id, (char **)member);
		} else if (f->type == PROTOBUF_C_TYPE_MESSAGE &&
			   f->label != PROTOBUF_C_LABEL_REPEATED) {
			if (*(void **)member)
				rc = wire_walk_strings(*(void **)member, fn, arg);
		} else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
			size_t n = *(size_t *)((char *)m + f->quantifier_offset);
			void **items = *(void ***)member;

			for (size_t j = 0; !rc && j < n; j++)
				rc = wire_walk_strings(items[j], fn, arg);
		}
	}
	return rc;
}

void wire_free(void *msg)
{
	if (msg)
		protobuf_c_message_free_unpacked(msg, NULL);
}

size_t wire_packed_size(const void *msg)
{
	return protobuf_c_message_get_packed_size(msg);
}

size_t wire_pack_to(const void *msg, uint8_t *buf)
{
	return protobuf_c_message_pack(msg, buf);
}

int wire_pack(const void *msg, uint8_t **out, size_t *len)
{
	size_t n = wire_packed_size(msg);
	uint8_t *buf = malloc(n ? n : 1);

	if (!buf)
		return ML_ENOMEM;
	*len = wire_pack_to(msg, buf);
	*out = buf;
	return 0;
}

int wire_pack_frame(const void *msg, uint8_t **out, size_t *len)
{
	size_t n = wire_packed_size(msg);
	uint8_t *buf = malloc(WIRE_FRAME_HEADER + n);

	if (!buf)
		return ML_ENOMEM;
	wire_put_be32(buf, (uint32_t)n);
	wire_pack_to(msg, buf + WIRE_FRAME_HEADER);
	*out = buf;
	*len = WIRE_FRAME_HEADER + n;
	return 0;
}

int wire_status_frame(uint64_t request_id, const struct status *st,
		      uint8_t **out, size_t *len)
{
	ml_response resp = MAILLAGE__V1__RESPONSE__INIT;
	Maillage__V1__Status status = MAILLAGE__V1__STATUS__INIT;

	wire_status_fill(&status, st);
	resp.request_id = request_id;
	resp.status = &status;
	return wire_pack_frame(&resp, out, len);
}

void wire_status_fill(Maillage__V1__Status *out, const struct status *st)
{
	out->code = (Maillage__V1__StatusCode)st->code;
	out->message = (char *)st->message;
	out->field = (char *)st->field;
}

int wire_set_string(char **field, const char *value)
{
	char *copy = strdup(value ? value : "");

	if (!copy)
		return ML_ENOMEM;
	if (*field && *field != protobuf_c_empty_string)
		free(*field);
	*field = copy;
	return 0;
}

int wire_set_strings(char ***field, size_t *n, char *const *values, size_t count)
{
	char **copy = calloc(count ? count : 1, sizeof(*copy));
	size_t i;

	if (!copy)
		return ML_ENOMEM;
	for (i = 0; i < count; i++) {
		copy[i] = strdup(values[i]);
		if (!copy[i])
			goto err_free_copy;
	}
	for (i = 0; i < *n; i++)
		free((*field)[i]);
	free(*field);
	*field = copy;
	*n = count;
	return 0;

err_free_copy:
	while (i > 0)
		free(copy[--i]);
	free(copy);
	return ML_ENOMEM;
}

int wire_set_bytes(ProtobufCBinaryData *field, const uint8_t *data, size_t len)
{
	uint8_t *copy = malloc(len ? len : 1);

	if (!copy)
		return ML_ENOMEM;
	memcpy(copy, data, len);
	free(field->data);
	field->data = copy;
	field->len = len;
	return 0;
}

Maillage__V1__ProposalState *wire_case_add_proposal(ml_case *c)
{
	Maillage__V1__ProposalState **more, *p = malloc(sizeof(*p));

	if (!p)
		return NULL;
	maillage__v1__proposal_state__init(p);
	more = realloc(c->proposals, (c->n_proposals + 1) * sizeof(*more));
	if (!more) {
		free(p);
		return NULL;
	}
	more[c->n_proposals++] = p;
	c->proposals = more;
	return p;
}

ml_case *wire_case_new(void)
{
	ml_case *c = malloc(sizeof(*c));

	if (c)
		maillage__v1__case_summary__init(c);
	return c;
}

ml_access_record *wire_access_record_new(void)
{
	ml_access_record *r = malloc(sizeof(*r));

	if (r)
		maillage__v1__access_record__init(r);
	return r;
}

uint32_t wire_get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

void wire_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static const char *enum_name(const ProtobufCEnumDescriptor *desc, int value)
{
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(desc, value);

	return v ? v->name : "?";
}

const char *wire_case_state_name(int state)
{
	return enum_name(&maillage__v1__case_state__descriptor, state);
}

const char *wire_org_kind_name(int kind)
{
	return enum_name(&maillage__v1__org_kind__descriptor, kind);
}

const char *wire_status_code_name(int code)
{
	return enum_name(&maillage__v1__status_code__descriptor, code);
}

const char *wire_enum_name(const ProtobufCEnumDescriptor *desc, int value)
{
	return enum_name(desc, value);
}

const char *wire_body_case_name(int body_case)
{
	const ProtobufCFieldDescriptor *f;

	if (body_case == MAILLAGE__V1__REQUEST__BODY__NOT_SET)
		return "none";
	f = protobuf_c_message_descriptor_get_field(&maillage__v1__request__descriptor,
						    (unsigned)body_case);
	return f ? f->name : "?";
}

const char *wire_body_name(const ml_request *req)
{
	return wire_body_case_name((int)req->body_case);
}

const ProtobufCMessage *wire_body(const ml_request *req)
{
	const ProtobufCFieldDescriptor *f;

	if (req->body_case == MAILLAGE__V1__REQUEST__BODY__NOT_SET)
		return NULL;
	f = protobuf_c_message_descriptor_get_field(&maillage__v1__request__descriptor,
						    req->body_case);
	if (!f || f->type != PROTOBUF_C_TYPE_MESSAGE)
		return NULL;
	return *(const ProtobufCMessage *const *)((const char *)req + f->offset);
}

const char *wire_case_id(const ml_request *req)
{
	const ProtobufCMessage *body = wire_body(req);
	const ProtobufCFieldDescriptor *f;

	if (!body)
		return NULL;
	f = protobuf_c_message_descriptor_get_field_by_name(body->descriptor, "case_id");
	if (!f || f->type != PROTOBUF_C_TYPE_STRING)
		return NULL;
	return *(const char *const *)((const char *)body + f->offset);
}

int wire_org_kind_from_name(const char *name)
{
	const ProtobufCEnumValue *v =
		protobuf_c_enum_descriptor_get_value_by_name(&maillage__v1__org_kind__descriptor, name);

	return v ? v->value : 0;
}

bool wire_enum_valid(const ProtobufCEnumDescriptor *desc, int value)
{
	return value != 0 && protobuf_c_enum_descriptor_get_value(desc, value) != NULL;
}
