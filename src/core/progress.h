/* progress.h: a one-line progress bar on standard error, drawn only when
 * standard error is a terminal (so logs and pipes stay clean), at most ten
 * times a second. */
#ifndef SEGUE_PROGRESS_H
#define SEGUE_PROGRESS_H

#include <stdint.h>

typedef struct progress {
	const char *label;   /* shown before the bar */
	uint64_t total;      /* 0 = unknown (a spinner with a count) */
	double started;      /* monotonic seconds at start */
	double last_draw;    /* monotonic seconds of the last draw */
	int enabled;         /* 1 when stderr is a terminal */
	int drawn;           /* a line is on screen and needs clearing */
} progress;

/* Monotonic seconds, for timing. */
double progress_now(void);

void progress_start(progress *p, const char *label, uint64_t total);
/* Redraws if enough time has passed; `done` in the unit of total (bytes). */
void progress_update(progress *p, uint64_t done);
/* Clears the line. */
void progress_finish(progress *p);

/* The same as a callback, for modules that take `void (*)(void*, done, total)`. */
void progress_callback(void *p, uint64_t done, uint64_t total);

#endif
