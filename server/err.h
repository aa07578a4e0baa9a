/* err.h - the project-wide error space (server, tools).
 *
 * Functions that act return 0 on success or one of the negative ML_E* codes.
 * The codes from ML_EINVAL to ML_EUNAUTH are the negated gRPC status numbers
 * of maillage.v1.StatusCode, so a refusal maps onto the wire without a table.
 */
#ifndef MAILLAGE_ERR_H
#define MAILLAGE_ERR_H

#include <stdbool.h>

enum {
	ML_OK = 0,
	/* refusals, answered to the client with the matching status code */
	ML_EINVAL = -3,       /* INVALID_ARGUMENT: a field is wrong */
	ML_ENOTFOUND = -5,    /* NOT_FOUND */
	ML_EEXIST = -6,       /* ALREADY_EXISTS */
	ML_EPERM = -7,        /* PERMISSION_DENIED */
	ML_EFULL = -8,        /* RESOURCE_EXHAUSTED: disk or map full, limits */
	ML_ESTATE = -9,       /* FAILED_PRECONDITION: illegal transition */
	ML_ECONFLICT = -10,   /* ABORTED: expected_version mismatch */
	ML_EINTERNAL = -13,   /* INTERNAL */
	ML_EUNAVAIL = -14,    /* UNAVAILABLE: shutting down, storage failing */
	ML_EUNAUTH = -16,     /* UNAUTHENTICATED */
	/* operational failures, never sent as such */
	ML_ENOMEM = -100,     /* out of memory */
	ML_EIO = -101,        /* a file could not be read or written */
	ML_ECONFIG = -102,    /* bad configuration */
	ML_ETLS = -103,       /* TLS setup failed */
	ML_EDB = -104,        /* LMDB failed */
	ML_ECORRUPT = -105,   /* stored data does not decode or does not verify */
	ML_ESCHEMA = -106,    /* data directory from another schema version */
	ML_ECRYPTO = -107,    /* a cryptographic primitive failed */
	/* no room to write, answered as RESOURCE_EXHAUSTED */
	ML_ENOSPACE = -108,   /* the data directory's file system is full */
	ML_EMAPFULL = -109,   /* the LMDB map is full: map_size_mb */
};

/* A static, lowercase description of an ML_E* code. Never NULL. */
const char *ml_strerror(int err);

/* The maillage.v1.StatusCode number to answer for err (INTERNAL for the
 * operational codes, RESOURCE_EXHAUSTED for ML_ENOMEM and the no-room
 * codes). */
int ml_err_status_code(int err);

/* True for the codes that mean "no room to write" (ML_EFULL, ML_ENOSPACE,
 * ML_EMAPFULL, ML_ENOMEM): the client may retry once room is made. */
bool ml_err_no_room(int err);

#endif
