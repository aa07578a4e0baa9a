/* admin_backup.c - maillage-admin backup and restore (to be written). */
#include "err.h"
