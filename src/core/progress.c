/* progress.c: terminal progress bar (see progress.h). */
#include "core/progress.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

#define BAR 20  /* bar cells: with the label and figures, 78 columns in all */
#define LINE 80 /* longest line drawn (the note is cut there) */

double progress_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void progress_start(progress *p, const char *label, uint64_t total)
{
	p->label = label;
	p->total = total;
	p->started = progress_now();
	p->last_draw = 0;
	p->enabled = isatty(STDERR_FILENO);
	p->drawn = 0;
	p->width = 0;
}

/* Draws `line` over the current one, padded to cover a longer one. */
static void draw(progress *p, const char *line, int n)
{
	if (n < 0)
		return;
	if (n > LINE - 1)
		n = LINE - 1;
	fprintf(stderr, "\r%-*.*s", p->width > n ? p->width : n, n, line);
	if (n > p->width)
		p->width = n;
	p->drawn = 1;
}

void progress_update(progress *p, uint64_t done)
{
	if (!p->enabled)
		return;
	double now = progress_now();
	if (now - p->last_draw < 0.1)
		return;
	p->last_draw = now;
	double secs = now - p->started;
	double rate = secs > 0 ? (double)done / secs / 1e6 : 0;
	char line[2 * LINE];
	int n;
	if (p->total > 0) {
		double f = (double)done / (double)p->total;
		if (f > 1)
			f = 1;
		int filled = (int)(f * BAR);
		char bar[BAR + 1];
		for (int i = 0; i < BAR; i++)
			bar[i] = i < filled ? '#' : '.';
		bar[BAR] = '\0';
		double eta = f > 0 ? secs / f - secs : 0;
		if (eta > 999)
			eta = 999; /* keep the width */
		n = snprintf(line, sizeof line, "%-28.28s [%s] %3.0f%% %6.1f MB/s  eta %3.0fs", p->label, bar, f * 100,
		             rate, eta);
	} else {
		n = snprintf(line, sizeof line, "%-28.28s %10.1f MB  %6.1f MB/s", p->label, (double)done / 1e6, rate);
	}
	draw(p, line, n);
}

void progress_note(progress *p, const char *text)
{
	if (!p->enabled)
		return;
	char line[LINE];
	int n = snprintf(line, sizeof line, "%s", text);
	draw(p, line, n);
}

void progress_finish(progress *p)
{
	if (p->enabled && p->drawn)
		fprintf(stderr, "\r%*s\r", p->width, "");
	p->drawn = 0;
	p->width = 0;
}

void progress_callback(void *ctx, uint64_t done, uint64_t total)
{
	progress *p = ctx;
	p->total = total;
	progress_update(p, done);
}
