/* test_atomicfile.c: replacing a file atomically: a commit replaces the
 * target by a rename (a new inode) and leaves no temporary; an abort or a
 * failed write leaves the target as it was and no temporary; temporaries
 * are new files of their own, named PATH.tmp.XXXXXX, two writers never
 * share one, and a link planted at a fixed name is not followed; the file and
 * directory modes follow the umask without the process umask ever being
 * read or changed; and the name test takes exactly the names it makes. */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/atomicfile.h"

/* Every umask() call of the library lands here (the test's definition wins
 * over the C library's when the static library is linked): umask changes
 * the mask of every thread at once, so the code under test must never call
 * it. The test sets the mask through the system call itself. */
static int umask_calls;

mode_t umask(mode_t mask)
{
	umask_calls++;
	return (mode_t)syscall(SYS_umask, mask);
}

static mode_t set_umask(mode_t mask) { return (mode_t)syscall(SYS_umask, mask); }

/* How many names in `dir` are temporaries of `target`. */
static int count_temporaries(const char *dir, const char *target)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		n += atomicfile_is_temp_of(e->d_name, target);
	closedir(d);
	return n;
}

static void write_text(const char *path, const char *text)
{
	atomicfile *a = NULL;
	seg_error err = {0};
	assert_int_equal(atomicfile_open(&a, path, &err), 0);
	assert_true(fputs(text, atomicfile_stream(a)) >= 0);
	assert_int_equal(atomicfile_commit(a, &err), 0);
}

static void test_commit_and_abort(void **state)
{
	(void)state;
	const char *dir = tu_tmpdir();
	char path[1200];
	snprintf(path, sizeof path, "%s/latest", dir);
	seg_error err = {0};
	write_text(path, "v1\n");
	struct stat a, b;
	assert_int_equal(stat(path, &a), 0);
	write_text(path, "v2\n");
	assert_int_equal(stat(path, &b), 0);
	assert_true(a.st_ino != b.st_ino); /* replaced by a rename, not rewritten */
	char *text = tu_read(path, NULL);
	assert_string_equal(text, "v2\n");
	free(text);
	assert_int_equal(count_temporaries(dir, "latest"), 0);

	/* The temporary lies beside the target under its pattern, and only a
	 * commit makes it the target. */
	atomicfile *f = NULL;
	assert_int_equal(atomicfile_open(&f, path, &err), 0);
	const char *tmp = atomicfile_temp_path(f);
	assert_memory_equal(tmp, path, strlen(path));
	assert_true(atomicfile_is_temp_of(strrchr(tmp, '/') + 1, "latest"));
	assert_int_equal(count_temporaries(dir, "latest"), 1);
	fputs("v3\n", atomicfile_stream(f));
	assert_int_equal(atomicfile_sync(f, &err), 0);
	assert_int_equal(atomicfile_sync(f, &err), 0); /* a second time: nothing to do */
	text = tu_read(path, NULL);
	assert_string_equal(text, "v2\n");
	free(text);
	assert_int_equal(atomicfile_commit(f, &err), 0);
	text = tu_read(path, NULL);
	assert_string_equal(text, "v3\n");
	free(text);

	/* An abort leaves the target as it was, and no temporary. */
	assert_int_equal(atomicfile_open(&f, path, &err), 0);
	fputs("half", atomicfile_stream(f));
	atomicfile_abort(f);
	atomicfile_abort(NULL);
	text = tu_read(path, NULL);
	assert_string_equal(text, "v3\n");
	free(text);
	assert_int_equal(count_temporaries(dir, "latest"), 0);

	/* No directory: nothing created, a message naming the temporary. */
	snprintf(path, sizeof path, "%s/no/such/dir/x", dir);
	assert_int_equal(atomicfile_open(&f, path, &err), SEG_EIO);
	assert_null(f);
	assert_non_null(strstr(err.msg, "/no/such/dir/x.tmp."));
	assert_int_equal(atomicfile_sync_dir(path, &err), SEG_EIO);
	assert_int_equal(atomicfile_sync_dir(dir, &err), 0);
	tu_rmtree(dir);
}

/* Two writers of one file at once: each has a temporary of its own, and the
 * target ends up as one of them, whole. */
static void test_two_writers(void **state)
{
	(void)state;
	const char *dir = tu_tmpdir();
	char path[1200];
	snprintf(path, sizeof path, "%s/features.snap", dir);
	seg_error err = {0};
	atomicfile *a = NULL, *b = NULL;
	assert_int_equal(atomicfile_open(&a, path, &err), 0);
	assert_int_equal(atomicfile_open(&b, path, &err), 0);
	assert_string_not_equal(atomicfile_temp_path(a), atomicfile_temp_path(b));
	fputs("first writer", atomicfile_stream(a));
	fputs("second writer", atomicfile_stream(b));
	assert_int_equal(atomicfile_commit(b, &err), 0);
	assert_int_equal(atomicfile_commit(a, &err), 0);
	char *text = tu_read(path, NULL);
	assert_string_equal(text, "first writer");
	free(text);
	assert_int_equal(count_temporaries(dir, "features.snap"), 0);
	tu_rmtree(dir);
}

/* A write that fails (the file size limit, EFBIG) fails the commit: the
 * target is untouched and the temporary removed. */
static void test_write_error(void **state)
{
	(void)state;
	const char *dir = tu_tmpdir();
	char path[1200];
	snprintf(path, sizeof path, "%s/report.html", dir);
	write_text(path, "old report");
	struct rlimit was, small;
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &was), 0);
	small = was;
	small.rlim_cur = 4096;
	void (*sig)(int) = signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	static char big[65536];
	memset(big, 'x', sizeof big);
	atomicfile *a = NULL;
	seg_error err = {0};
	assert_int_equal(atomicfile_open(&a, path, &err), 0);
	fwrite(big, 1, sizeof big, atomicfile_stream(a));
	int rc = atomicfile_commit(a, &err);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &was), 0);
	signal(SIGXFSZ, sig);
	assert_int_equal(rc, SEG_EIO);
	assert_non_null(strstr(err.msg, "report.html.tmp."));
	char *text = tu_read(path, NULL);
	assert_string_equal(text, "old report");
	free(text);
	assert_int_equal(count_temporaries(dir, "report.html"), 0);
	tu_rmtree(dir);
}

/* A link planted at the fixed name PATH.tmp (what segue's writers once
 * used) is not written through: the temporary is always a new file. */
static void test_planted_link(void **state)
{
	(void)state;
	const char *dir = tu_tmpdir();
	char path[1200], victim[1200], link[1300];
	snprintf(path, sizeof path, "%s/latest", dir);
	snprintf(victim, sizeof victim, "%s/victim", dir);
	tu_write(dir, "victim", "precious");
	snprintf(link, sizeof link, "%s/latest.tmp", dir);
	assert_int_equal(symlink(victim, link), 0);
	write_text(path, "v1\n");
	struct stat st;
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	char *text = tu_read(victim, NULL);
	assert_string_equal(text, "precious");
	free(text);
	assert_int_equal(lstat(link, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	tu_rmtree(dir);
}

/* Files get 0666 and directories 0777 less the umask, as fopen and mkdir
 * give, and the process umask is never called. */
static void test_modes_follow_umask(void **state)
{
	(void)state;
	const char *dir = tu_tmpdir();
	char path[1200], d[1200];
	struct stat st;
	seg_error err = {0};
	mode_t was = set_umask(027);
	umask_calls = 0;
	snprintf(path, sizeof path, "%s/names.seg", dir);
	write_text(path, "x");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	set_umask(0);
	write_text(path, "y");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0666);
	set_umask(077);
	snprintf(d, sizeof d, "%s/v4.tmp.XXXXXX", dir);
	assert_int_equal(atomicfile_make_dir(d, &err), 0);
	assert_null(strstr(d, "XXXXXX"));
	assert_true(atomicfile_is_temp_of(strrchr(d, '/') + 1, "v4"));
	assert_int_equal(stat(d, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);
	set_umask(022);
	snprintf(d, sizeof d, "%s/v5.tmp.XXXXXX", dir);
	assert_int_equal(atomicfile_make_dir(d, &err), 0);
	assert_int_equal(stat(d, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0755);
	/* an empty file of its own, the same way */
	snprintf(d, sizeof d, "%s/catalog.db.tmp.XXXXXX", dir);
	assert_int_equal(atomicfile_make_file(d, &err), 0);
	assert_null(strstr(d, "XXXXXX"));
	assert_true(atomicfile_is_temp_of(strrchr(d, '/') + 1, "catalog.db"));
	assert_int_equal(stat(d, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_size, 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	assert_int_equal(umask_calls, 0);
	set_umask(was);
	/* a template without the pattern is refused, and nothing is made */
	snprintf(d, sizeof d, "%s/v6.XXXXXX", dir);
	assert_int_equal(atomicfile_make_dir(d, &err), SEG_EINVAL);
	snprintf(d, sizeof d, "%s/v6.tmp.XXXXX", dir);
	assert_int_equal(atomicfile_make_dir(d, &err), SEG_EINVAL);
	snprintf(d, sizeof d, "%s/f6.XXXXXX", dir);
	assert_int_equal(atomicfile_make_file(d, &err), SEG_EINVAL);
	assert_int_equal(access(d, F_OK), -1);
	tu_rmtree(dir);
}

static void test_is_temp_of(void **state)
{
	(void)state;
	assert_true(atomicfile_is_temp_of("features.snap.tmp.Ab12Cd", "features.snap"));
	assert_true(atomicfile_is_temp_of("v3.tmp.zzzzzz", "v3"));
	assert_true(atomicfile_is_temp_of("latest.tmp.000000", "latest"));
	assert_false(atomicfile_is_temp_of("features.snap", "features.snap"));
	assert_false(atomicfile_is_temp_of("features.snap.tmp", "features.snap"));
	assert_false(atomicfile_is_temp_of("features.snap.tmp.", "features.snap"));
	assert_false(atomicfile_is_temp_of("features.snap.tmp.Ab12C", "features.snap"));
	assert_false(atomicfile_is_temp_of("features.snap.tmp.Ab12Cde", "features.snap"));
	assert_false(atomicfile_is_temp_of("features.snap.tmp.Ab-2Cd", "features.snap"));
	assert_false(atomicfile_is_temp_of("features.snap.tmp.Ab.2Cd", "features.snap"));
	assert_false(atomicfile_is_temp_of("names.seg.tmp.Ab12Cd", "features.snap"));
	assert_false(atomicfile_is_temp_of("xfeatures.snap.tmp.Ab12Cd", "features.snap"));
	assert_false(atomicfile_is_temp_of("my.tmp.notes", "my"));
	assert_false(atomicfile_is_temp_of("notes.tmp.txt", "notes"));
	assert_false(atomicfile_is_temp_of("draft.tmp", "draft"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_commit_and_abort),   cmocka_unit_test(test_two_writers),
		cmocka_unit_test(test_write_error),        cmocka_unit_test(test_planted_link),
		cmocka_unit_test(test_modes_follow_umask), cmocka_unit_test(test_is_temp_of),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
