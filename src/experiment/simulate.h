/* simulate.h: the user simulator (not written yet; its helper writes this
 * header's contract). */
#ifndef SEGUE_SIMULATE_H
#define SEGUE_SIMULATE_H
#endif
