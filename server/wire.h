/* wire.h - the protobuf schema (maillage.v1) as the server sees it.
 *
 * The only header that includes the generated maillage.pb-c.h, and wire.c is
 * the only file that calls protobuf-c (pack, unpack, free). Other modules use
 * the message structs through the short names below.
 *
 * Ownership: every wire_*_unpack() result is freed with wire_free() (same
 * allocator). Buffers from wire_pack() are malloc'ed and freed with free();
 * frames that may carry personal data with wire_frame_free().
 *
 * The one exception to "every unpack is paired with free_unpacked"
 * (STYLE.md section 5): a message unpacked into a struct wire_arena
 * (wire_*_unpack_in()) or copied there (wire_copy_in()) is never freed on its
 * own, neither with wire_free() nor with protobuf_c_message_free_unpacked();
 * the whole arena is released at once by wire_arena_release(). On purpose:
 * a history unpacks every event of a case, and one malloc and free per field
 * cost more than the rest of the read.
 */
#ifndef MAILLAGE_WIRE_H
#define MAILLAGE_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "maillage/v1/maillage.pb-c.h"
#include "status.h"

typedef Maillage__V1__Request ml_request;
typedef Maillage__V1__Response ml_response;
typedef Maillage__V1__Event ml_event;
typedef Maillage__V1__CaseSummary ml_case;
typedef Maillage__V1__CommandRecord ml_command_record;
typedef Maillage__V1__CommandResult ml_command_result;
typedef Maillage__V1__HouseholdCases ml_household_cases;
typedef Maillage__V1__DataKey ml_data_key;
typedef Maillage__V1__AccessRecord ml_access_record;

/* Frames: a 4-byte big-endian length, then that many bytes. */
#define WIRE_FRAME_HEADER 4
#define WIRE_COMMAND_ID_LEN 16
#define WIRE_HASH_LEN 32

/* Room for one event unpacked (and, in a wiping arena, its personal fields
 * opened) on the stack: most fit; the arena mallocs blocks for the rest. */
#define WIRE_EVENT_ARENA (4u << 10)

/* A bump allocator to unpack into: nothing unpacked into it is freed on
 * its own (the exception to STYLE.md section 5, see above);
 * wire_arena_release() releases everything at once (wire_free() must never
 * be called on it, nor the wire_set_*() setters, which free the value they
 * replace). The first block is the caller's (typically on the
 * stack, WIRE_ARENA_ALIGN-aligned); further blocks are malloc'ed as needed.
 * With wipe set, every byte handed out is wiped before it is released or
 * reused: for arenas that held personal data. One thread at a time. */
#define WIRE_ARENA_ALIGN 16
struct wire_block;
struct wire_arena {
	ProtobufCAllocator pa;        /* what protobuf-c calls; allocator_data: the arena */
	uint8_t *base;                /* the block being filled */
	size_t cap, used;
	uint8_t *first;               /* the caller's block */
	size_t first_cap, first_used; /* first_used: once another block is in use */
	struct wire_block *blocks;    /* malloc'ed blocks, newest first */
	bool wipe;
};

/* Start an arena on the caller's block buf of cap bytes (aligned to
 * WIRE_ARENA_ALIGN; cap may be 0). */
void wire_arena_init(struct wire_arena *a, void *buf, size_t cap, bool wipe);

/* n bytes aligned to WIRE_ARENA_ALIGN, valid until wire_arena_release();
 * NULL when out of memory. */
void *wire_arena_alloc(struct wire_arena *a, size_t n);

/* Release (and wipe, when asked) everything allocated; a stays usable. */
void wire_arena_release(struct wire_arena *a);

/* Decode one message into arena a; NULL when the bytes are not a valid
 * message of that type or a ran out of memory. Released with the arena. */
ml_event *wire_event_unpack_in(struct wire_arena *a, const uint8_t *data, size_t len);
Maillage__V1__PersonalValues *wire_personal_values_unpack_in(struct wire_arena *a,
							      const uint8_t *data, size_t len);

/* A copy of msg in arena a whose messages are new (down to the leaves, so
 * that its string fields may be pointed elsewhere without touching msg) but
 * whose strings, bytes and repeated scalars are msg's: valid while msg is
 * and a is, read-only but for those pointers. NULL when a runs out. */
void *wire_copy_in(struct wire_arena *a, const void *msg);

/* Decode one message; NULL when the bytes are not a valid message of that
 * type (or on allocation failure). Free with wire_free(). */
ml_request *wire_request_unpack(const uint8_t *data, size_t len);
ml_event *wire_event_unpack(const uint8_t *data, size_t len);
ml_case *wire_case_unpack(const uint8_t *data, size_t len);
ml_command_record *wire_command_record_unpack(const uint8_t *data, size_t len);
ml_household_cases *wire_household_cases_unpack(const uint8_t *data, size_t len);
ml_data_key *wire_data_key_unpack(const uint8_t *data, size_t len);
ml_access_record *wire_access_record_unpack(const uint8_t *data, size_t len);
Maillage__V1__PersonalValues *wire_personal_values_unpack(const uint8_t *data, size_t len);

/* Call fn for every string field of msg and of the messages it holds (set
 * oneof members only), depth first in schema order, with the message's
 * descriptor, the field number and the field itself, which fn may replace
 * (by a malloc'ed string when msg was unpacked, wire_free() frees it). fn
 * returns 0 to go on, else the walk stops and returns that. */
typedef int (*wire_string_fn)(void *arg, const ProtobufCMessageDescriptor *md,
			      unsigned field, char **slot);
int wire_walk_strings(void *msg, wire_string_fn fn, void *arg);

/* Free any message returned by a wire_*_unpack(); NULL is a no-op. Never
 * on a message in a wire_arena. */
void wire_free(void *msg);

/* Wipe the len bytes of buf, then free() it: for frames and other buffers
 * that may hold personal data. NULL is a no-op. */
void wire_frame_free(uint8_t *buf, size_t len);

/* Pack any message into a new malloc'ed buffer; *len gets its size.
 * Returns 0, or ML_ENOMEM. */
int wire_pack(const void *msg, uint8_t **out, size_t *len);

/* Pack msg after a 4-byte frame header into a new buffer (header included in
 * *len). Returns 0, or ML_ENOMEM. */
int wire_pack_frame(const void *msg, uint8_t **out, size_t *len);

/* The size msg packs to. */
size_t wire_packed_size(const void *msg);

/* Pack msg into buf, which must hold wire_packed_size(msg) bytes. */
size_t wire_pack_to(const void *msg, uint8_t *buf);

/* The events of a CaseHistory packed one by one as they are read, so that
 * none has to stay unpacked until the whole answer is packed: each element
 * is the field's encoding (tag, length, message), after room kept for what
 * precedes them in the frame. The buffer holds personal data: it is wiped
 * before it is freed, and when it grows. */
struct wire_list {
	uint8_t *buf;
	size_t len, cap;              /* len counts the room kept in front */
	size_t n;                     /* events in it */
	size_t n_stored;              /* of which added from their stored
				       * bytes (wire_list_add_stored_event()'s
				       * fast path) */
	size_t expect_n;              /* events the caller expects at most (0:
				       * unknown): the buffer grows once to
				       * what they would take at the average
				       * size so far */
	size_t expect_bytes;          /* and bytes (0: unknown) */
};

/* Append msg (an Event) to l. Returns 0, or ML_ENOMEM (l unchanged). */
int wire_list_add_event(struct wire_list *l, const ml_event *msg);

/* The same for ev, a copy (wire_copy_in()) of stored, the event stored as
 * raw (rawlen bytes) and unpacked from it, as the reader gets it: personal
 * fields opened, minimised (auth.h). Returns 0, or ML_ENOMEM (l unchanged).
 *
 * The contract of the fast path (counted in l->n_stored): the fields of ev
 * numbered below `sealed` (the envelope: position .. prev_hash) are copied
 * from raw, not packed again, and only the body and personal_data are packed
 * from ev. It is taken only when
 *  - every envelope field of ev is stored's: scalars equal, strings and
 *    bytes the very same pointers (wire_copy_in() shares them: a field
 *    pointed elsewhere, e.g. minimised, counts as changed even when its
 *    value is equal); any change sends the whole of ev packed instead;
 *  - ev is opened (no sealed box) and has no unknown field;
 *  - raw is laid out as protobuf-c packs an Event: envelope fields in
 *    strictly ascending order, none twice, varints no longer than needed,
 *    then only sealed, personal_data and the body.
 * The event sent then decodes to ev, and its bytes are those of packing ev
 * whole whenever raw is what protobuf-c packed (as evlog stores it); a raw
 * written by another encoder may, say, carry a zero scalar explicitly. So a
 * caller may change ev's body and personal_data freely, and any envelope
 * field only by pointing it elsewhere or changing its value. */
int wire_list_add_stored_event(struct wire_list *l, const ml_event *ev, const ml_event *stored,
			       const uint8_t *raw, size_t rawlen);

/* Wipe and free l's buffer; l is empty afterwards. */
void wire_list_release(struct wire_list *l);

/* Like wire_pack_frame(resp) for a Response whose result is a history
 * without events (n_events 0), the events of l being sent as its events:
 * the same bytes as packing the history with those events unpacked in it
 * (as l holds them: see wire_list_add_stored_event()). It relies on the
 * schema: every field of Response outside its result oneof numbered below
 * history, and CaseHistory's fields exactly case_id (1), events (2),
 * next_version (3), as_of (4); tests/unit/test_wire.c checks both against
 * the generated descriptors.
 * The frame is built in l's buffer (l is empty afterwards) unless there is
 * no room for it. Returns 0, or ML_ENOMEM (l unchanged). */
int wire_pack_frame_history(const ml_response *resp, struct wire_list *l,
			    uint8_t **out, size_t *len);

/* A whole Response for request_id carrying st (no result), framed. */
int wire_status_frame(uint64_t request_id, const struct status *st,
		      uint8_t **out, size_t *len);

/* Copy st into a Status message; out points into st (no allocation). */
void wire_status_fill(Maillage__V1__Status *out, const struct status *st);

/* Setters for messages that wire_free() will release: they copy value,
 * free the previous one, and return 0 or ML_ENOMEM. */
int wire_set_string(char **field, const char *value);
int wire_set_strings(char ***field, size_t *n, char *const *values, size_t count);
int wire_set_bytes(ProtobufCBinaryData *field, const uint8_t *data, size_t len);

/* Append an empty ProposalState to c->proposals; NULL when out of memory. */
Maillage__V1__ProposalState *wire_case_add_proposal(ml_case *c);

/* A new, initialised CaseSummary to fill with the setters; wire_free() it. */
ml_case *wire_case_new(void);

/* A new, initialised AccessRecord to fill with the setters; wire_free() it. */
ml_access_record *wire_access_record_new(void);

/* Read a 4-byte big-endian length; write one. */
uint32_t wire_get_be32(const uint8_t *p);
void wire_put_be32(uint8_t *p, uint32_t v);

/* Names of enum values as in the .proto ("IN_SUPPORT"), "?" if unknown. */
const char *wire_case_state_name(int state);
const char *wire_org_kind_name(int kind);
const char *wire_status_code_name(int code);
const char *wire_enum_name(const ProtobufCEnumDescriptor *desc, int value);
/* The field name of the request's body ("refer_household"), "none" if unset. */
const char *wire_body_name(const ml_request *req);
/* The same for a Request.body case number ("none", "?" when unknown). */
const char *wire_body_case_name(int body_case);

/* The message in the request's oneof body, NULL when none is set. */
const ProtobufCMessage *wire_body(const ml_request *req);

/* The message in the event's oneof body, NULL when none is set. */
ProtobufCMessage *wire_event_body(ml_event *ev);

/* The case_id field of the request's body, NULL when the body has none
 * (ping, refer_household). */
const char *wire_case_id(const ml_request *req);

/* The value of an OrgKind by its name ("LANDLORD"); 0 when unknown. */
int wire_org_kind_from_name(const char *name);

/* True when value is a known value of the enum (and not 0 = unspecified). */
bool wire_enum_valid(const ProtobufCEnumDescriptor *desc, int value);

#endif
