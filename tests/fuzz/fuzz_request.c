/* fuzz_request.c - libFuzzer target for what the server does with a frame's
 * payload before queueing it (conn.c): wire_request_unpack(), then
 * validate_request() and, when that passes, auth_request_kind() for one
 * organisation of each kind of a small fixed configuration. Every decoded
 * request is freed: ASan reports leaks as failures.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "config.h"
#include "err.h"
#include "validate.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)
#define KIND(k) MAILLAGE__V1__ORG_KIND__##k

static struct platform platforms[] = {
	{ "vaulx-bron", "VNX", "Vaulx-en-Velin / Bron" },
	{ "venissieux", "VEN", "Vénissieux" },
};
static char *both[] = { "vaulx-bron", "venissieux" };
static char *vaulx[] = { "vaulx-bron" };
static struct org orgs[] = {
	{ "bailleur-est", "Bailleur Est", KIND(LANDLORD), both, 2, false },
	{ "ccas-vaulx", "CCAS", KIND(CCAS), vaulx, 1, false },
	{ "mdm-venissieux", "MDM", KIND(MDM), both + 1, 1, false },
	{ "hopital-est", "Hôpital", KIND(HOSPITAL), both, 2, false },
	{ "siao-rhone", "SIAO", KIND(SIAO), both, 2, false },
	{ "asso-habitat", "Asso", KIND(ASSOCIATION), vaulx, 1, false },
	{ "coord-vaulx-bron", "Coord", KIND(COORDINATION), vaulx, 1, true },
	{ "coord-venissieux", "Coord", KIND(COORDINATION), both + 1, 1, false },
	{ "funder-metropole", "Funder", KIND(FUNDER), both, 2, false },
	{ "auditor", "Auditor", KIND(AUDITOR), both, 2, false },
};
static struct config cfg = {
	.max_frame_bytes = 1u << 20,
	.platforms = platforms,
	.n_platforms = sizeof(platforms) / sizeof(platforms[0]),
	.orgs = orgs,
	.n_orgs = sizeof(orgs) / sizeof(orgs[0]),
};

/* A status is a NUL-terminated message and field within their arrays. */
static void check_status(const struct status *st)
{
	CHECK(memchr(st->message, 0, sizeof(st->message)) != NULL);
	CHECK(memchr(st->field, 0, sizeof(st->field)) != NULL);
	CHECK(validate_utf8(st->message, strlen(st->message), false));
}

/* Every string of the message can be read to its end (wire_walk_strings). */
static int touch_string(void *arg, const ProtobufCMessageDescriptor *md,
			unsigned field, char **slot)
{
	size_t *total = arg;

	(void)md;
	(void)field;
	*total += strlen(*slot);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ml_request *req = wire_request_unpack(data, size);
	struct status st;
	size_t total = 0;

	if (!req)
		return 0;
	(void)wire_body_name(req);
	(void)wire_case_id(req);
	(void)validate_is_command(req);
	CHECK(wire_walk_strings(req, touch_string, &total) == 0);
	status_clear(&st);
	if (validate_request(req, &st)) {
		CHECK(st.code != 0);
		check_status(&st);
		goto out;
	}
	CHECK(st.code == 0);
	for (size_t i = 0; i < cfg.n_orgs; i++) {
		int rc;

		status_clear(&st);
		rc = auth_request_kind(&cfg, &orgs[i], req, &st);
		CHECK(rc == 0 || rc == ML_EPERM || rc == ML_EINVAL);
		CHECK((rc == 0) == (st.code == 0));
		check_status(&st);
	}
out:
	wire_free(req);
	return 0;
}
