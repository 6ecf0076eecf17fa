/* test_tune.c: placeholder, filled below. */
#include "testutil.h"
int main(void) { return 0; }
