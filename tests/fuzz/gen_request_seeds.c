/* gen_request_seeds.c - writes the seed corpus of fuzz_request: one valid
 * Request per body type, built with the fixtures of tests/unit/test_validate.c,
 * and a few invalid variants. Not part of the build; regenerate with
 *   cc -std=c11 -D_GNU_SOURCE -Ibuild/gen -Iserver tests/fuzz/gen_request_seeds.c \
 *     build/obj/pb.o build/obj/server/{err,status,wire,validate}.o \
 *     -lprotobuf-c -lcmocka -o /tmp/gen && /tmp/gen tests/fuzz/corpus/fuzz_request
 */
#include <stdlib.h>

#define main test_validate_main
#include "../unit/test_validate.c"
#undef main

static void save(const char *dir, const char *name)
{
	char path[512];
	uint8_t *buf;
	size_t len;
	FILE *out;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (wire_pack(&f.req, &buf, &len) || !(out = fopen(path, "wb")) ||
	    fwrite(buf, 1, len, out) != len || fclose(out)) {
		fprintf(stderr, "cannot write '%s'\n", path);
		exit(1);
	}
	free(buf);
}

int main(int argc, char **argv);

int main(int argc, char **argv)
{
	char name[128];

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	for (size_t i = 0; i < ARRAY_SIZE(all_bodies); i++) {
		reset(all_bodies[i]);
		f.req.request_id = i + 1;
		snprintf(name, sizeof(name), "valid-%s", wire_body_case_name(all_bodies[i]));
		save(argv[1], name);
	}
	/* Invalid on purpose: each breaks one rule. */
	reset(B(RECORD_VISIT));
	f.visit_body.date = "2026-02-30";
	save(argv[1], "bad-date");
	reset(B(ACCEPT_CASE));
	f.req.command_id.len = 15;
	save(argv[1], "bad-command-id");
	reset(B(GET_CASE));
	f.get_case.case_id = "vnx-2026-42";
	save(argv[1], "bad-case-id");
	reset(B(REFER_HOUSEHOLD));
	f.referral.platform = "nowhere";
	save(argv[1], "unknown-platform");
	reset(B(REFER_HOUSEHOLD));
	f.person.last_name = "\xc3\x28";
	save(argv[1], "bad-utf8");
	reset(B(REFER_HOUSEHOLD));
	f.household.debt_cents = -1;
	save(argv[1], "negative-amount");
	reset(B(PING));
	f.req.body_case = MAILLAGE__V1__REQUEST__BODY__NOT_SET;
	save(argv[1], "no-body");
	return 0;
}
