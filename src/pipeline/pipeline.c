/* pipeline.c: not written yet. */
#include "pipeline/pipeline.h"
