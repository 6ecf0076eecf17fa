/* progress.h: a one-line progress bar on standard error, drawn only when
 * standard error is a terminal (so logs and pipes stay clean), at most ten
 * times a second. The line fits in 79 columns, so that it never wraps on an
 * 80-column terminal (a wrapped line cannot be redrawn in place). */
#ifndef SEGUE_PROGRESS_H
#define SEGUE_PROGRESS_H

#include <stdint.h>

typedef struct progress {
	const char *label; /* shown before the bar (its first 28 characters) */
	uint64_t total;    /* 0 = unknown (a count instead of a bar) */
	double started;    /* monotonic seconds at start */
	double last_draw;  /* monotonic seconds of the last draw */
	int enabled;       /* 1 when stderr is a terminal */
	int drawn;         /* a line is on screen and needs clearing */
	int width;         /* columns of the widest line drawn since the last clear */
} progress;

/* Monotonic seconds, for timing. */
double progress_now(void);

/* Starts a bar: enabled when standard error is a terminal. */
void progress_start(progress *p, const char *label, uint64_t total);
/* Redraws if at least 0.1 s has passed since the last draw (the first
 * update draws at once); `done` in the unit of total, which is bytes: the
 * line shows
 *   "<label>                      [##########..........]  50%   12.3 MB/s  eta  10s"
 * or, with total 0, "<label>  123.4 MB   12.3 MB/s". A shorter line than
 * the one on screen is padded with blanks over it. */
void progress_update(progress *p, uint64_t done);
/* Shows one line of text in place of the bar (when enabled), e.g. what a
 * long step without a measure of progress is doing; cleared like the bar. */
void progress_note(progress *p, const char *text);
/* Clears the line, if one was drawn. */
void progress_finish(progress *p);

/* The same as a callback, for modules that take `void (*)(void*, done, total)`:
 * sets total, then updates. */
void progress_callback(void *p, uint64_t done, uint64_t total);

#endif
