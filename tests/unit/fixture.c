/* fixture.c - the setup the unit tests on a data directory share (see
 * fixture.h): directory, event log and key, configuration, a referral.
 */
#include "fixture.h"

#include <assert.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "evlog.h"
#include "fsutil.h"
#include "kek.h"
#include "wire.h"

static struct platform platforms[] = {
	{ .id = "vaulx-bron", .code = "VNX", .name = "V" },
	{ .id = "lyon-7-8", .code = "LYS", .name = "L" },
};
static char *platform_ids[] = { "vaulx-bron", "lyon-7-8" };

int fixture_dir_make(char dir[FIXTURE_DIR_LEN], const char *name)
{
	snprintf(dir, FIXTURE_DIR_LEN, "/tmp/maillage-%s-XXXXXX", name);
	return mkdtemp(dir) ? 0 : ML_EIO;
}

int fixture_dir_remove(const char *dir)
{
	return fs_remove_tree(dir);
}

void fixture_config(struct config *cfg, struct org *orgs, size_t n_orgs,
		    size_t n_platforms)
{
	static const struct org all[] = {
		{ "landlord", "L", MAILLAGE__V1__ORG_KIND__LANDLORD, NULL, 0, false },
		{ "coord", "C", MAILLAGE__V1__ORG_KIND__COORDINATION, NULL, 0, false },
		{ "asso", "A", MAILLAGE__V1__ORG_KIND__ASSOCIATION, NULL, 0, false },
	};

	assert(n_orgs >= 1 && n_orgs <= 3 && n_platforms >= 1 && n_platforms <= 2);
	for (size_t i = 0; i < n_orgs; i++) {
		orgs[i] = all[i];
		orgs[i].platforms = platform_ids;
		orgs[i].n_platforms = n_platforms;
	}
	cfg->orgs = orgs;
	cfg->n_orgs = n_orgs;
	cfg->platforms = platforms;
	cfg->n_platforms = n_platforms;
}

int fixture_log_open(const char *dir, size_t map_size, const struct config *cfg,
		     uint64_t epoch, struct evlog **log, struct kek **kek)
{
	char err[256] = "";
	int rc;

	rc = evlog_open(dir, map_size, false, log, err, sizeof(err));
	if (rc)
		goto err;
	rc = kek_open(dir, cfg->master_key, epoch, kek, err, sizeof(err));
	if (rc)
		goto err_close_log;
	evlog_attach_kek(*log, *kek);
	return 0;

err_close_log:
	evlog_close(*log);
	*log = NULL;
err:
	fprintf(stderr, "fixture: %s\n", err);
	return rc;
}

struct evlog *fixture_evlog(const char *dir, size_t map_size, bool readonly)
{
	struct evlog *log;
	char err[256];

	if (!evlog_open(dir, map_size, readonly, &log, err, sizeof(err)))
		return log;
	fprintf(stderr, "cannot open '%s': %s\n", dir, err);
	return NULL;
}

void fixture_log_close(struct evlog *log, struct kek *kek)
{
	evlog_close(log);
	kek_close(kek);
}

void fixture_refer_init(struct fixture_refer *r, const char *platform,
			Maillage__V1__ReferralReason reason, const char *last,
			const char *first)
{
	maillage__v1__request__init(&r->req);
	maillage__v1__refer_household__init(&r->body);
	maillage__v1__referral__init(&r->ref);
	maillage__v1__household__init(&r->hh);
	maillage__v1__person__init(&r->person);
	memset(r->id, 0, sizeof(r->id));
	r->person.last_name = (char *)last;
	r->person.first_name = (char *)first;
	r->person.birth_date = "1980-01-01";
	r->hh.reference_person = &r->person;
	r->hh.adults = 1;
	r->ref.platform = (char *)platform;
	r->ref.reason = reason;
	r->ref.household = &r->hh;
	r->body.referral = &r->ref;
	r->req.body_case = MAILLAGE__V1__REQUEST__BODY_REFER_HOUSEHOLD;
	r->req.refer_household = &r->body;
	r->req.command_id.data = r->id;
	r->req.command_id.len = sizeof(r->id);
}

int fixture_unanchor_txn(MDB_txn *txn)
{
	struct row { MDB_val k, v; } *rows = NULL;
	size_t n = 0, cap = 0;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	MDB_dbi dbi;
	int rc = mdb_dbi_open(txn, "households", 0, &dbi);

	if (!rc)
		rc = mdb_cursor_open(txn, dbi, &cur);
	while (!rc && !(rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))) {
		if (n == cap) {
			struct row *more = realloc(rows, (cap = cap ? 2 * cap : 256) * sizeof(*rows));

			assert(more);
			rows = more;
		}
		assert(k.mv_size > 8);
		rows[n].k = (MDB_val){ k.mv_size - 8, malloc(k.mv_size - 8) };
		rows[n].v = (MDB_val){ v.mv_size, malloc(v.mv_size + 1) };
		assert(rows[n].k.mv_data && rows[n].v.mv_data);
		memcpy(rows[n].k.mv_data, (uint8_t *)k.mv_data + 8, k.mv_size - 8);
		memcpy(rows[n].v.mv_data, v.mv_data, v.mv_size);
		n++;
	}
	if (cur)
		mdb_cursor_close(cur);
	rc = rc == MDB_NOTFOUND ? mdb_drop(txn, dbi, 0) : rc;
	for (size_t i = 0; i < n; i++) {
		if (!rc)
			rc = mdb_put(txn, dbi, &rows[i].k, &rows[i].v, MDB_NOOVERWRITE);
		free(rows[i].k.mv_data);
		free(rows[i].v.mv_data);
	}
	free(rows);
	return rc;
}

int fixture_unanchor(const char *dir, uint32_t schema)
{
	uint8_t version[4];
	MDB_val sk = { 14, "schema_version" }, sv = { 4, version };
	MDB_env *env;
	MDB_txn *txn = NULL;
	MDB_dbi meta;
	int rc = mdb_env_create(&env);

	if (rc)
		return rc;
	mdb_env_set_maxdbs(env, 32);
	mdb_env_set_mapsize(env, 1u << 30);
	wire_put_be32(version, schema);
	rc = mdb_env_open(env, dir, 0, 0600);
	if (!rc)
		rc = mdb_txn_begin(env, NULL, 0, &txn);
	if (!rc)
		rc = mdb_dbi_open(txn, "meta", 0, &meta);
	if (!rc)
		rc = fixture_unanchor_txn(txn);
	if (!rc)
		rc = mdb_put(txn, meta, &sk, &sv, 0);
	if (!rc)
		rc = mdb_txn_commit(txn);
	else if (txn)
		mdb_txn_abort(txn);
	mdb_env_close(env);
	return rc;
}
