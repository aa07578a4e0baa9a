/* reload.c - (to be written). */
#include "err.h"
