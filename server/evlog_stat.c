/* evlog_stat.c - figures about the LMDB environment for /metrics (to be written). */
#include "err.h"
