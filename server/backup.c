/* backup.c - consistent hot copies of a data directory (to be written). */
#include "err.h"
