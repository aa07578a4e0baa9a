/* err.c - descriptions and wire status codes for the ML_E* error space. */
#include "err.h"

const char *ml_strerror(int err)
{
	switch (err) {
	case ML_OK: return "success";
	case ML_EINVAL: return "invalid argument";
	case ML_ENOTFOUND: return "not found";
	case ML_EEXIST: return "already exists";
	case ML_EPERM: return "permission denied";
	case ML_EFULL: return "resource exhausted";
	case ML_ESTATE: return "failed precondition";
	case ML_ECONFLICT: return "version conflict";
	case ML_EINTERNAL: return "internal error";
	case ML_EUNAVAIL: return "unavailable";
	case ML_EUNAUTH: return "unauthenticated";
	case ML_ENOMEM: return "out of memory";
	case ML_EIO: return "input/output error";
	case ML_ECONFIG: return "bad configuration";
	case ML_ETLS: return "tls setup failed";
	case ML_EDB: return "storage error";
	case ML_ECORRUPT: return "stored data is corrupt";
	case ML_ESCHEMA: return "unsupported schema version";
	case ML_ECRYPTO: return "cryptographic operation failed";
	case ML_ENOSPACE: return "no space left on the data directory's file system";
	case ML_EMAPFULL: return "the data file reached its maximum size (map_size_mb)";
	}
	return "unknown error";
}

bool ml_err_no_room(int err)
{
	return err == ML_EFULL || err == ML_ENOSPACE || err == ML_EMAPFULL || err == ML_ENOMEM;
}

int ml_err_status_code(int err)
{
	if (ml_err_no_room(err))
		return -ML_EFULL;
	if (err <= ML_EINVAL && err >= ML_EUNAUTH)
		return -err;
	return -ML_EINTERNAL;
}
