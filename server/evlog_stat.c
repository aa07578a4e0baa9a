/* evlog_stat.c - figures about the LMDB environment for /metrics: its map
 * size, how much of it the data file uses, the last committed transaction.
 */
#include "err.h"
#include "evlog_int.h"

int evlog_stat_read(struct evlog *log, struct evlog_stat *out)
{
	MDB_envinfo info;
	MDB_stat st;
	int rc;

	rc = mdb_env_info(log->env, &info);
	if (!rc)
		rc = mdb_env_stat(log->env, &st);
	if (rc)
		return evlog_map_err(rc, "env stat");
	out->map_bytes = info.me_mapsize;
	out->used_bytes = ((uint64_t)info.me_last_pgno + 1) * st.ms_psize;
	out->last_txn_id = info.me_last_txnid;
	return 0;
}
