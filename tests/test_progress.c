/* test_progress.c: the terminal progress bar (progress.h). Standard error is
 * pointed at a file to read what is drawn (with the bar switched on by hand,
 * as a terminal would), or at a pseudo-terminal to check that a terminal
 * switches it on: the line's format with and without a total, at most 79
 * columns, at most one draw per 0.1 s, a shorter line padded over a longer
 * one, the clearing by progress_finish, notes, and the callback form. */
#include "testutil.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/progress.h"

static int g_saved = -1;  /* the real standard error while captured */
static char g_path[1200]; /* the capture file */

/* Points standard error at a fresh file. */
static void capture_begin(void)
{
	snprintf(g_path, sizeof g_path, "%s/stderr.txt", tu_group_dir);
	int fd = open(g_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	fflush(stderr);
	g_saved = dup(STDERR_FILENO);
	assert_true(g_saved >= 0);
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	close(fd);
}

/* Restores standard error; returns what was written (malloc'd). */
static char *capture_end(void)
{
	fflush(stderr);
	assert_int_equal(dup2(g_saved, STDERR_FILENO), STDERR_FILENO);
	close(g_saved);
	g_saved = -1;
	size_t len;
	char *s = tu_read(g_path, &len);
	assert_non_null(s);
	return s;
}

static int count_char(const char *s, char c)
{
	int n = 0;
	for (; *s; s++)
		n += *s == c;
	return n;
}

/* A progress that draws into the capture whatever stderr is. */
static void start_on(progress *p, const char *label, uint64_t total)
{
	progress_start(p, label, total);
	p->enabled = 1;
}

static void test_off_when_not_a_terminal(void **state)
{
	(void)state;
	capture_begin();
	progress p;
	progress_start(&p, "reading", 100);
	int enabled = p.enabled;
	progress_update(&p, 50);
	progress_note(&p, "a note");
	progress_callback(&p, 60, 100);
	progress_finish(&p);
	char *out = capture_end();
	assert_int_equal(enabled, 0);
	assert_string_equal(out, "");
	free(out);
}

static void test_on_when_a_terminal(void **state)
{
	(void)state;
	int master = posix_openpt(O_RDWR | O_NOCTTY);
	if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) {
		if (master >= 0)
			close(master);
		skip(); /* no pseudo-terminals here */
	}
	int slave = open(ptsname(master), O_RDWR | O_NOCTTY);
	assert_true(slave >= 0);
	fflush(stderr);
	int saved = dup(STDERR_FILENO);
	assert_int_equal(dup2(slave, STDERR_FILENO), STDERR_FILENO);
	progress p;
	progress_start(&p, "reading", 100);
	int enabled = p.enabled;
	p.enabled = 0; /* draw nothing on the pseudo-terminal: nobody reads it */
	assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	close(slave);
	close(master);
	assert_int_equal(enabled, 1);
}

static void test_bar_format(void **state)
{
	(void)state;
	capture_begin();
	progress p;
	start_on(&p, "tracks.csv", 1000);
	progress_update(&p, 500);
	char *out = capture_end();
	/* One line, drawn over the current one: "\r", the label padded to 28,
	 * the half-filled bar, the percentage, a rate and an eta. */
	assert_int_equal(out[0], '\r');
	assert_int_equal(count_char(out, '\r'), 1);
	assert_null(strchr(out, '\n'));
	assert_memory_equal(out + 1, "tracks.csv                   [##########..........]  50% ", 57);
	assert_non_null(strstr(out, " MB/s  eta "));
	assert_int_equal(out[strlen(out) - 1], 's');
	assert_true(strlen(out) - 1 <= 79);
	free(out);
}

static void test_bar_ends_full_and_label_is_cut(void **state)
{
	(void)state;
	capture_begin();
	progress p;
	/* More done than the total: a full bar at 100%, no negative eta. */
	start_on(&p, "a label much longer than twenty-eight characters", 10);
	progress_update(&p, 25);
	char *out = capture_end();
	assert_memory_equal(out + 1, "a label much longer than twe [####################] 100% ", 57);
	assert_non_null(strstr(out, "eta   0s"));
	free(out);
}

static void test_count_without_total(void **state)
{
	(void)state;
	capture_begin();
	progress p;
	start_on(&p, "stdin", 0);
	progress_update(&p, 12345678);
	char *out = capture_end();
	assert_int_equal(out[0], '\r');
	assert_memory_equal(out + 1, "stdin                              12.3 MB  ", 44);
	assert_non_null(strstr(out, " MB/s"));
	assert_null(strchr(out, '['));
	free(out);
}

static void test_at_most_ten_draws_a_second(void **state)
{
	(void)state;
	capture_begin();
	progress p;
	start_on(&p, "x", 100);
	progress_update(&p, 1); /* draws: the first update */
	progress_update(&p, 2); /* too soon */
	progress_update(&p, 3); /* too soon */
	usleep(120 * 1000);
	progress_update(&p, 4); /* draws */
	progress_update(&p, 5); /* too soon */
	char *out = capture_end();
	assert_int_equal(count_char(out, '\r'), 2);
	assert_non_null(strstr(out, "   1% "));
	assert_non_null(strstr(out, "   4% "));
	assert_null(strstr(out, "   2% "));
	assert_null(strstr(out, "   5% "));
	free(out);
}

static void test_finish_clears_the_whole_line(void **state)
{
	(void)state;
	capture_begin();
	progress p;
	start_on(&p, "tracks_600k.PARTIAL.csv", 1000);
	progress_update(&p, 300);
	progress_finish(&p);
	progress_finish(&p); /* nothing more: the line is already clear */
	char *out = capture_end();
	/* "\r<line>" then "\r<blanks>\r", the blanks covering the whole line. */
	char *second = strchr(out + 1, '\r');
	assert_non_null(second);
	long line = (long)(second - out) - 1; /* columns of the line drawn */
	assert_true(line <= 79);
	size_t blanks = strspn(second + 1, " ");
	if ((long)blanks < line)
		fail_msg("finish cleared %zu columns of a %ld-column line", blanks, line);
	assert_string_equal(second + 1 + blanks, "\r");
	free(out);

	/* Without a draw, finish writes nothing. */
	capture_begin();
	start_on(&p, "x", 0);
	progress_finish(&p);
	out = capture_end();
	assert_string_equal(out, "");
	free(out);
}

static void test_shorter_line_covers_longer(void **state)
{
	(void)state;
	capture_begin();
	progress p;
	start_on(&p, "x", 100);
	progress_update(&p, 50); /* the bar: 78 columns */
	p.total = 0;
	p.last_draw = 0;
	progress_update(&p, 50); /* the count: shorter, padded to 78 */
	char *out = capture_end();
	char *second = strchr(out + 1, '\r');
	assert_non_null(second);
	size_t first_len = (size_t)(second - out) - 1;
	assert_int_equal(strlen(second + 1), first_len);
	free(out);
}

static void test_note_and_callback(void **state)
{
	(void)state;
	capture_begin();
	progress p;
	start_on(&p, "indexing", 0);
	progress_note(&p, "building the search index...");
	progress_finish(&p);
	progress_callback(&p, 30, 60); /* sets the total, draws */
	int total_set = p.total == 60;
	char *out = capture_end();
	assert_true(total_set);
	assert_memory_equal(out, "\rbuilding the search index...\r", 30);
	assert_non_null(strstr(out, "[##########..........]  50%"));
	free(out);
}

static void test_clock_is_monotonic(void **state)
{
	(void)state;
	double a = progress_now();
	usleep(20 * 1000);
	double b = progress_now();
	assert_true(b - a >= 0.02);
	assert_true(b - a < 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_off_when_not_a_terminal),
		cmocka_unit_test(test_on_when_a_terminal),
		cmocka_unit_test(test_bar_format),
		cmocka_unit_test(test_bar_ends_full_and_label_is_cut),
		cmocka_unit_test(test_count_without_total),
		cmocka_unit_test(test_at_most_ten_draws_a_second),
		cmocka_unit_test(test_finish_clears_the_whole_line),
		cmocka_unit_test(test_shorter_line_covers_longer),
		cmocka_unit_test(test_note_and_callback),
		cmocka_unit_test(test_clock_is_monotonic),
	};
	return cmocka_run_group_tests(tests, tu_group_tmpdir, tu_group_rmtree);
}
