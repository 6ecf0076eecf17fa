/* simulate.c: not written yet. */
#include "experiment/simulate.h"
