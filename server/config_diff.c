/* config_diff.c - (to be written). */
#include "err.h"
