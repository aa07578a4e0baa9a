/* cli_json.c - any protobuf-c message as JSON, by walking its descriptor:
 * no code per message type.
 */
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "cli_json.h"

/* Length of the well-formed UTF-8 sequence at p (at most n bytes), 0 if none. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	size_t len;
	uint32_t cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2;
		cp = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		cp = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		cp = p[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	/* overlong forms, UTF-16 surrogates, past U+10FFFF */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

/* A JSON string: quotes, backslashes and control characters escaped,
 * UTF-8 kept as it is, a byte that is not UTF-8 replaced by U+FFFD. */
static void print_string(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);

	fputc('"', out);
	while (n > 0) {
		size_t len = utf8_len(p, n);

		switch (len ? *p : 0x100) {
		case '"':
			fputs("\\\"", out);
			break;
		case '\\':
			fputs("\\\\", out);
			break;
		case '\b':
			fputs("\\b", out);
			break;
		case '\f':
			fputs("\\f", out);
			break;
		case '\n':
			fputs("\\n", out);
			break;
		case '\r':
			fputs("\\r", out);
			break;
		case '\t':
			fputs("\\t", out);
			break;
		case 0x100:
			fputs("\\ufffd", out);
			len = 1;
			break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				fprintf(out, "\\u%04x", *p);
			else
				fwrite(p, 1, len, out);
			break;
		}
		p += len;
		n -= len;
	}
	fputc('"', out);
}

static void print_double(FILE *out, double v, int digits)
{
	if (isnan(v))
		fputs("\"NaN\"", out);
	else if (isinf(v))
		fputs(v > 0 ? "\"Infinity\"" : "\"-Infinity\"", out);
	else
		fprintf(out, "%.*g", digits, v);
}

static void print_message(FILE *out, const ProtobufCMessage *msg);

/* One value of field f stored at p. */
static void print_value(FILE *out, const ProtobufCFieldDescriptor *f, const void *p)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		fprintf(out, "%" PRId32, *(const int32_t *)p);
		break;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		fprintf(out, "%" PRIu32, *(const uint32_t *)p);
		break;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		fprintf(out, "%" PRId64, *(const int64_t *)p);
		break;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		fprintf(out, "%" PRIu64, *(const uint64_t *)p);
		break;
	case PROTOBUF_C_TYPE_FLOAT:
		print_double(out, *(const float *)p, 9);
		break;
	case PROTOBUF_C_TYPE_DOUBLE:
		print_double(out, *(const double *)p, 17);
		break;
	case PROTOBUF_C_TYPE_BOOL:
		fputs(*(const protobuf_c_boolean *)p ? "true" : "false", out);
		break;
	case PROTOBUF_C_TYPE_ENUM: {
		const ProtobufCEnumValue *v =
			protobuf_c_enum_descriptor_get_value(f->descriptor, *(const int *)p);

		if (v)
			print_string(out, v->name);
		else
			fprintf(out, "%d", *(const int *)p);   /* a value newer than us */
		break;
	}
	case PROTOBUF_C_TYPE_STRING:
		print_string(out, *(char *const *)p ? *(char *const *)p : "");
		break;
	case PROTOBUF_C_TYPE_BYTES: {
		const ProtobufCBinaryData *b = p;

		fputc('"', out);
		for (size_t i = 0; i < b->len; i++)
			fprintf(out, "%02x", b->data[i]);
		fputc('"', out);
		break;
	}
	case PROTOBUF_C_TYPE_MESSAGE:
		print_message(out, *(const ProtobufCMessage *const *)p);
		break;
	}
}

/* Size of one stored value of f: the stride of a repeated field's array. */
static size_t value_size(const ProtobufCFieldDescriptor *f)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return sizeof(int64_t);
	case PROTOBUF_C_TYPE_DOUBLE:
		return sizeof(double);
	case PROTOBUF_C_TYPE_FLOAT:
		return sizeof(float);
	case PROTOBUF_C_TYPE_STRING:
		return sizeof(char *);
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(ProtobufCMessage *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_ENUM:
		return sizeof(int);
	default:
		return sizeof(int32_t);
	}
}

/* True when a singular field holds its proto3 default (and is omitted). */
static bool is_default(const ProtobufCFieldDescriptor *f, const void *p)
{
	static const char zero[sizeof(int64_t)];
	const char *s;

	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING:
		s = *(char *const *)p;
		return !s || !s[0];
	case PROTOBUF_C_TYPE_BYTES:
		return ((const ProtobufCBinaryData *)p)->len == 0;
	case PROTOBUF_C_TYPE_MESSAGE:
		return !*(const void *const *)p;
	default:
		return !memcmp(p, zero, value_size(f));
	}
}

/* Status.code is printed even when OK (0), so a script can always read it. */
static bool always_printed(const ProtobufCMessageDescriptor *d,
			   const ProtobufCFieldDescriptor *f)
{
	return !strcmp(d->short_name, "Status") && !strcmp(f->name, "code");
}

/* Whether field f of msg is present in the output. */
static bool is_present(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
	const char *base = (const char *)msg;
	const void *p = base + f->offset;

	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
		return *(const uint32_t *)(base + f->quantifier_offset) == f->id;
	if (f->label == PROTOBUF_C_LABEL_REPEATED)
		return *(const size_t *)(base + f->quantifier_offset) > 0;
	/* proto2 and proto3 "optional" scalars carry a has_ flag */
	if (f->label != PROTOBUF_C_LABEL_NONE && f->quantifier_offset &&
	    f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE)
		return *(const protobuf_c_boolean *)(base + f->quantifier_offset);
	if (f->label == PROTOBUF_C_LABEL_REQUIRED)
		return true;
	return !is_default(f, p) || always_printed(msg->descriptor, f);
}

static void print_message(FILE *out, const ProtobufCMessage *msg)
{
	const ProtobufCMessageDescriptor *d;
	const char *sep = "";

	if (!msg) {
		fputs("null", out);
		return;
	}
	d = msg->descriptor;
	fputc('{', out);
	/* d->fields is sorted by field number */
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *p = (const char *)msg + f->offset;

		if (!is_present(msg, f))
			continue;
		fprintf(out, "%s\"%s\":", sep, f->name);
		sep = ",";
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)((const char *)msg + f->quantifier_offset);
			const char *items = *(const char *const *)p;

			fputc('[', out);
			for (size_t k = 0; k < n; k++) {
				if (k)
					fputc(',', out);
				print_value(out, f, items + k * value_size(f));
			}
			fputc(']', out);
		} else {
			print_value(out, f, p);
		}
	}
	fputc('}', out);
}

int cli_json_print(FILE *out, const ProtobufCMessage *msg)
{
	print_message(out, msg);
	fputc('\n', out);
	return ferror(out) ? -1 : 0;
}
