/* wire.c - protobuf-c glue: decoding, encoding, framing and enum names.
 * The only file that calls protobuf-c. Messages it unpacks use the default
 * (malloc) allocator, so strings set with wire_set_string() can be freed by
 * wire_free(), except those unpacked into a struct wire_arena.
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

/* A malloc'ed block of an arena; data follows the header. */
struct wire_block {
	struct wire_block *next;
	size_t cap, used;             /* used: once a newer block is in use */
	_Alignas(WIRE_ARENA_ALIGN) uint8_t data[];
};

#define ARENA_BLOCK_MIN (16u << 10)

static void *arena_pa_alloc(void *arg, size_t n)
{
	return wire_arena_alloc(arg, n);
}

static void arena_pa_free(void *arg, void *p)
{
	(void)arg;
	(void)p;                      /* released with the arena */
}

void wire_arena_init(struct wire_arena *a, void *buf, size_t cap, bool wipe)
{
	memset(a, 0, sizeof(*a));
	a->pa.alloc = arena_pa_alloc;
	a->pa.free = arena_pa_free;
	a->pa.allocator_data = a;
	a->base = a->first = buf;
	a->cap = a->first_cap = cap;
	a->wipe = wipe;
}

void *wire_arena_alloc(struct wire_arena *a, size_t n)
{
	struct wire_block *b;
	size_t size;

	if (n > SIZE_MAX - WIRE_ARENA_ALIGN)
		return NULL;
	n = (n + WIRE_ARENA_ALIGN - 1) & ~(size_t)(WIRE_ARENA_ALIGN - 1);
	if (n <= a->cap - a->used) {
		a->used += n;
		return a->base + a->used - n;
	}
	size = n > ARENA_BLOCK_MIN ? n : ARENA_BLOCK_MIN;
	if (size > SIZE_MAX - sizeof(*b) || !(b = malloc(sizeof(*b) + size)))
		return NULL;
	if (a->base == a->first)
		a->first_used = a->used;
	else
		a->blocks->used = a->used;
	b->next = a->blocks;
	b->cap = size;
	a->blocks = b;
	a->base = b->data;
	a->cap = size;
	a->used = n;
	return b->data;
}

void wire_arena_release(struct wire_arena *a)
{
	struct wire_block *b, *next;

	if (a->base != a->first) {
		a->blocks->used = a->used;
		a->used = a->first_used;
	}
	for (b = a->blocks; b; b = next) {
		next = b->next;
		if (a->wipe)
			explicit_bzero(b->data, b->used);
		free(b);
	}
	if (a->wipe && a->used)
		explicit_bzero(a->first, a->used);
	a->blocks = NULL;
	a->base = a->first;
	a->cap = a->first_cap;
	a->used = a->first_used = 0;
}

ml_event *wire_event_unpack_in(struct wire_arena *a, const uint8_t *data, size_t len)
{
	return maillage__v1__event__unpack(&a->pa, len, data);
}

Maillage__V1__PersonalValues *wire_personal_values_unpack_in(struct wire_arena *a,
							      const uint8_t *data, size_t len)
{
	return maillage__v1__personal_values__unpack(&a->pa, len, data);
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

void *wire_copy_in(struct wire_arena *a, const void *msg)
{
	const ProtobufCMessageDescriptor *md = ((const ProtobufCMessage *)msg)->descriptor;
	char *m = wire_arena_alloc(a, md->sizeof_message);

	if (!m)
		return NULL;
	memcpy(m, msg, md->sizeof_message);
	for (unsigned i = 0; i < md->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &md->fields[i];
		void **member = (void **)(m + f->offset);

		if (f->type != PROTOBUF_C_TYPE_MESSAGE || !field_present((void *)m, f) || !*member)
			continue;
		if (f->label != PROTOBUF_C_LABEL_REPEATED) {
			if (!(*member = wire_copy_in(a, *member)))
				return NULL;
		} else {
			size_t n = *(size_t *)(m + f->quantifier_offset);
			void **items = n ? wire_arena_alloc(a, n * sizeof(*items)) : NULL;

			if (n && !items)
				return NULL;
			for (size_t j = 0; j < n; j++)
				if (!(items[j] = wire_copy_in(a, ((void **)*member)[j])))
					return NULL;
			*member = items;
		}
	}
	return m;
}

void wire_free(void *msg)
{
	if (msg)
		protobuf_c_message_free_unpacked(msg, NULL);
}

void wire_frame_free(uint8_t *buf, size_t len)
{
	if (buf) {
		explicit_bzero(buf, len);
		free(buf);
	}
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

/* Varints (the protobuf base-128 encoding). */
static size_t varint_size(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static size_t put_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

/* A length-delimited field's tag (wire type 2); all ours take one byte. */
#define TAG_LEN(field) ((uint8_t)((field) << 3 | 2))
#define CASE_HISTORY_EVENTS 2         /* maillage.proto: CaseHistory.events */
_Static_assert(MAILLAGE__V1__RESPONSE__RESULT_HISTORY < 16, "one-byte tag");

/* Room kept in front of a list's events for the frame header, the
 * Response's fields before its result and the history's case id: enough
 * for any successful history (see wire_pack_frame_history()). */
#define LIST_ROOM 128u
#define LIST_FIRST_CAP (16u << 10)

/* Make room for need more bytes in l: a new buffer, the old one wiped.
 * Growing means copying, and fresh pages to fault in (and, with glibc, two
 * large buffers per answer make the heap shrink and grow again at each):
 * a list is made for the events the caller expects, at the size of the
 * first one, and grows for the rest at the average size so far. */
static int list_grow(struct wire_list *l, size_t need)
{
	size_t n = l->n ? l->n : 1, held = l->buf ? l->len - LIST_ROOM : need;
	size_t cap = l->buf ? l->cap : LIST_ROOM + LIST_FIRST_CAP;
	uint8_t *grown;

	if (!l->buf)
		l->len = LIST_ROOM;
	if (l->expect_n > l->n && held / n < SIZE_MAX / 2 / l->expect_n) {
		size_t all = held / n * l->expect_n;

		all += all / 16;
		if (l->expect_bytes && all > l->expect_bytes)
			all = l->expect_bytes;
		if (all > cap - LIST_ROOM)
			cap = LIST_ROOM + all;
	}
	while (cap - l->len < need) {
		if (cap > SIZE_MAX / 2)
			return ML_ENOMEM;
		cap *= 2;
	}
	if (cap == l->cap)
		return 0;
	/* Not realloc(): the old buffer is wiped before it is freed. */
	grown = malloc(cap);
	if (!grown)
		return ML_ENOMEM;
	if (l->buf) {
		memcpy(grown, l->buf, l->len);
		explicit_bzero(l->buf, l->len);
		free(l->buf);
	}
	l->buf = grown;
	l->cap = cap;
	return 0;
}

int wire_list_add_event(struct wire_list *l, const ml_event *msg)
{
	size_t n = wire_packed_size(msg), need = 1 + varint_size(n) + n;
	int rc;

	if ((!l->buf || need > l->cap - l->len) && (rc = list_grow(l, need)))
		return rc;
	l->buf[l->len] = TAG_LEN(CASE_HISTORY_EVENTS);
	l->len += 1 + put_varint(l->buf + l->len + 1, n);
	l->len += wire_pack_to(msg, l->buf + l->len);
	l->n++;
	return 0;
}

/* Read a varint of at most 10 bytes at p (n bytes left) into *v; its
 * length, 0 when it does not end there. */
static inline size_t get_varint(const uint8_t *p, size_t n, uint64_t *v)
{
	if (n && p[0] < 0x80) {               /* most tags and lengths */
		*v = p[0];
		return 1;
	}
	*v = 0;
	for (size_t i = 0; i < n && i < 10; i++) {
		*v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
		if (!(p[i] & 0x80))
			return i && !p[i] ? 0 : i + 1;   /* overlong: not as packed */
	}
	return 0;
}

/* The field at p (n bytes left): its number in *number and its length,
 * 0 when it is not one, or not as protobuf-c writes one (a wire type it does
 * not write, a varint longer than it need be). */
static size_t field_at(const uint8_t *p, size_t n, uint64_t *number)
{
	uint64_t tag, v;
	size_t k = get_varint(p, n, &tag), m;

	if (!k)
		return 0;
	*number = tag >> 3;
	switch (tag & 7) {
	case 0:                               /* a varint: skipped, not read */
		for (m = k; m < n && m - k < 10; m++)
			if (!(p[m] & 0x80))
				return m > k && !p[m] ? 0 : m + 1;
		return 0;
	case 1:
		return n - k >= 8 ? k + 8 : 0;
	case 2:
		m = get_varint(p + k, n - k, &v);
		return m && v <= n - k - m ? k + m + v : 0;
	case 5:
		return n - k >= 4 ? k + 4 : 0;
	}
	return 0;
}

#define EVENT_SEALED 12               /* maillage.proto: Event.sealed */
#define EVENT_PERSONAL_DATA 13        /* Event.personal_data */

/* Where the fields of the stored event raw numbered below sealed end, in
 * *front, when raw is laid out as protobuf-c packs an Event: fields in
 * strictly ascending number order (none twice), varints as short as they
 * can be, and after those only sealed, personal_data and the body (field
 * number body). */
static bool stored_front(const uint8_t *raw, size_t len, uint32_t body, size_t *front)
{
	uint64_t number, last = 0;
	size_t pos = 0, k;

	*front = len;
	for (; pos < len; pos += k, last = number) {
		if (!(k = field_at(raw + pos, len - pos, &number)) || number <= last)
			return false;
		if (number >= EVENT_SEALED && *front == len)
			*front = pos;
		if (number >= EVENT_SEALED && number != EVENT_SEALED &&
		    number != EVENT_PERSONAL_DATA && number != body)
			return false;
	}
	return true;
}

/* True when every field of ev numbered below sealed is stored's: scalars
 * equal, strings, bytes, messages and repeated fields pointing at the same
 * place (wire_copy_in() shares strings and bytes, so a field the caller
 * replaced points elsewhere, whatever its value), and the same presence. */
static bool front_unchanged(const ml_event *ev, const ml_event *stored)
{
	const ProtobufCMessageDescriptor *md = &maillage__v1__event__descriptor;
	const char *a = (const char *)ev, *b = (const char *)stored;

	for (unsigned i = 0; i < md->n_fields && md->fields[i].id < EVENT_SEALED; i++) {
		const ProtobufCFieldDescriptor *f = &md->fields[i];
		size_t size;

		if (f->label == PROTOBUF_C_LABEL_REPEATED ||
		    f->label == PROTOBUF_C_LABEL_OPTIONAL || (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)) {
			size = f->label == PROTOBUF_C_LABEL_REPEATED ? sizeof(size_t) :
			       (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) ? sizeof(uint32_t) :
			       sizeof(protobuf_c_boolean);
			if (f->type != PROTOBUF_C_TYPE_MESSAGE && f->type != PROTOBUF_C_TYPE_STRING &&
			    memcmp(a + f->quantifier_offset, b + f->quantifier_offset, size))
				return false;
		}
		if (f->label == PROTOBUF_C_LABEL_REPEATED)
			size = sizeof(void *);
		else switch (f->type) {
		case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64:
		case PROTOBUF_C_TYPE_SFIXED64: case PROTOBUF_C_TYPE_UINT64:
		case PROTOBUF_C_TYPE_FIXED64: case PROTOBUF_C_TYPE_DOUBLE:
			size = 8;
			break;
		case PROTOBUF_C_TYPE_BOOL:
			size = sizeof(protobuf_c_boolean);
			break;
		case PROTOBUF_C_TYPE_STRING: case PROTOBUF_C_TYPE_MESSAGE:
			size = sizeof(void *);
			break;
		case PROTOBUF_C_TYPE_BYTES:
			size = sizeof(ProtobufCBinaryData);   /* len and data */
			break;
		default:                      /* 32-bit integers, enums, floats */
			size = 4;
		}
		if (memcmp(a + f->offset, b + f->offset, size))
			return false;
	}
	return true;
}

int wire_list_add_stored_event(struct wire_list *l, const ml_event *ev, const ml_event *stored,
			       const uint8_t *raw, size_t rawlen)
{
	const ProtobufCFieldDescriptor *f = NULL;
	const void *body = NULL;
	uint64_t pd = (uint64_t)(int64_t)ev->personal_data;   /* an enum: an int32 varint */
	size_t front, n, n_body = 0, need;
	uint8_t *p;
	int rc;

	if (ev->body_case != MAILLAGE__V1__EVENT__BODY__NOT_SET) {
		f = protobuf_c_message_descriptor_get_field(&maillage__v1__event__descriptor,
							    ev->body_case);
		body = f ? *(const void *const *)((const char *)ev + f->offset) : NULL;
	}
	/* Only the fields from sealed on may differ from raw's: any other
	 * change (a minimised envelope field) sends the whole of ev. */
	if (ev->sealed || ev->base.n_unknown_fields || (ev->body_case && !body) ||
	    !front_unchanged(ev, stored) || !stored_front(raw, rawlen, ev->body_case, &front))
		return wire_list_add_event(l, ev);
	if (body)
		n_body = wire_packed_size(body);
	n = front + (pd ? 1 + varint_size(pd) : 0) +
	    (body ? varint_size((uint64_t)f->id << 3 | 2) + varint_size(n_body) + n_body : 0);
	need = 1 + varint_size(n) + n;
	if ((!l->buf || need > l->cap - l->len) && (rc = list_grow(l, need)))
		return rc;
	p = l->buf + l->len;
	*p++ = TAG_LEN(CASE_HISTORY_EVENTS);
	p += put_varint(p, n);
	memcpy(p, raw, front);
	p += front;
	if (pd) {
		*p++ = EVENT_PERSONAL_DATA << 3;
		p += put_varint(p, pd);
	}
	if (body) {
		p += put_varint(p, (uint64_t)f->id << 3 | 2);
		p += put_varint(p, n_body);
		p += wire_pack_to(body, p);
	}
	l->len = (size_t)(p - l->buf);
	l->n++;
	l->n_stored++;
	return 0;
}

void wire_list_release(struct wire_list *l)
{
	if (l->buf) {
		explicit_bzero(l->buf, l->len);
		free(l->buf);
	}
	memset(l, 0, sizeof(*l));
}

static char no_case_id[] = "";         /* proto3: an empty string is not packed */

int wire_pack_frame_history(const ml_response *resp, struct wire_list *l,
			    uint8_t **out, size_t *len)
{
	/* protobuf-c packs a message's fields in number order: the Response
	 * before its result (request_id, status), then the history's case_id,
	 * its events, next_version and as_of. */
	ml_response rest = *resp;
	Maillage__V1__CaseHistory head = *resp->history, tail = *resp->history;
	size_t events = l->buf ? l->len - LIST_ROOM : 0;
	size_t n_rest, n_head, n_tail, n_hist, front, n;
	uint8_t *buf, *p;

	rest.result_case = MAILLAGE__V1__RESPONSE__RESULT__NOT_SET;
	rest.history = NULL;
	head.next_version = 0;
	head.as_of = NULL;
	tail.case_id = no_case_id;
	n_rest = wire_packed_size(&rest);
	n_head = wire_packed_size(&head);
	n_tail = wire_packed_size(&tail);
	n_hist = n_head + events + n_tail;
	front = WIRE_FRAME_HEADER + n_rest + 1 + varint_size(n_hist) + n_head;
	n = front - WIRE_FRAME_HEADER + events + n_tail;
	if (n > UINT32_MAX)
		return ML_ENOMEM;
	if (l->buf && front <= LIST_ROOM && front + events + n_tail <= l->cap) {
		size_t end = front + events + n_tail;

		buf = l->buf;
		memmove(buf + front, buf + LIST_ROOM, events);
		if (end < l->len)             /* the old copy of the last bytes */
			explicit_bzero(buf + end, l->len - end);
		memset(l, 0, sizeof(*l));     /* the frame carries the events out */
	} else {
		buf = malloc(front + events + n_tail);
		if (!buf)
			return ML_ENOMEM;
		if (l->buf)
			memcpy(buf + front, l->buf + LIST_ROOM, events);
		wire_list_release(l);
	}
	wire_put_be32(buf, (uint32_t)n);
	p = buf + WIRE_FRAME_HEADER;
	p += wire_pack_to(&rest, p);
	*p++ = TAG_LEN(MAILLAGE__V1__RESPONSE__RESULT_HISTORY);
	p += put_varint(p, n_hist);
	wire_pack_to(&head, p);
	wire_pack_to(&tail, buf + front + events);
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

ProtobufCMessage *wire_event_body(ml_event *ev)
{
	const ProtobufCFieldDescriptor *f;

	if (ev->body_case == MAILLAGE__V1__EVENT__BODY__NOT_SET)
		return NULL;
	f = protobuf_c_message_descriptor_get_field(&maillage__v1__event__descriptor,
						    ev->body_case);
	if (!f || f->type != PROTOBUF_C_TYPE_MESSAGE)
		return NULL;
	return *(ProtobufCMessage **)((char *)ev + f->offset);
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
