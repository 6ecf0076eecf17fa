/* test_container.c: the sectioned file container round-trips, aligns its sections, and
 * refuses a corrupt, truncated or version-mismatched file with a clear code; a file
 * replaced atomically is a new inode, a failed write leaves the old one and no
 * temporary, and its mode follows the umask without the process umask being touched. */
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <string.h>
#include <unistd.h>

#include "core/container.h"

static void write_sample(const char *path)
{
	container_writer *w = container_writer_create();
	seg_error err;
	float v[5] = {1, 2, 3, 4, 5};
	assert_int_equal(container_writer_add(w, "meta", "{\"a\":1}", 8, &err), 0);
	assert_int_equal(container_writer_add(w, "floats", v, sizeof v, &err), 0);
	assert_int_equal(container_writer_add(w, "empty", NULL, 0, &err), 0);
	assert_int_equal(container_writer_add(w, "floats", v, sizeof v, &err), SEG_EINVAL); /* twice */
	assert_int_equal(container_writer_add(w, "a-name-much-too-long-for-a-section-entry", v, 4, &err), SEG_EINVAL);
	assert_int_equal(container_writer_save(w, path, &err), 0);
	container_writer_free(w);
	container_writer_free(NULL);
}

static void test_roundtrip(void **state)
{
	(void)state;
	const char *dir = tu_tmpdir();
	char path[1200];
	snprintf(path, sizeof path, "%s/m.seg", dir);
	write_sample(path);
	container_file *m;
	seg_error err;
	assert_int_equal(container_file_open(&m, path, &err), 0);
	assert_int_equal(container_file_count(m), 3);
	assert_string_equal(container_file_name_at(m, 1), "floats");
	size_t sz;
	const float *f = container_file_section(m, "floats", &sz);
	assert_non_null(f);
	assert_int_equal(sz, 5 * sizeof(float));
	assert_int_equal((uintptr_t)f % CONTAINER_ALIGN, 0);
	assert_float_equal(f[4], 5.0f, 0);
	assert_string_equal((const char *)container_file_section(m, "meta", NULL), "{\"a\":1}");
	assert_null(container_file_section(m, "nope", NULL));
	const void *p;
	assert_int_equal(container_file_require(m, "floats", 20, &p, &err), 0);
	assert_int_equal(container_file_require(m, "floats", 24, &p, &err), SEG_EFORMAT);
	assert_non_null(strstr(err.msg, "floats"));
	assert_int_equal(container_file_require(m, "nope", 4, &p, &err), SEG_EFORMAT);
	container_file_close(m);
	container_file_close(NULL);
	tu_rmtree(dir);
}

static void corrupt_and_expect(long off, unsigned char byte, int code, const char *needle)
{
	const char *dir = tu_tmpdir();
	char path[1200];
	snprintf(path, sizeof path, "%s/m.seg", dir);
	write_sample(path);
	tu_put_byte(path, off, byte);
	container_file *m = (container_file *)1;
	seg_error err = {0};
	assert_int_equal(container_file_open(&m, path, &err), code);
	assert_null(m);
	assert_non_null(strstr(err.msg, needle));
	tu_rmtree(dir);
}

static void test_refusals(void **state)
{
	(void)state;
	corrupt_and_expect(0, 'X', SEG_EFORMAT, "bad magic");
	corrupt_and_expect(8, 7, SEG_EVERSION, "version 7");
	corrupt_and_expect(-70, 0x55, SEG_ECHECKSUM, "checksum");
	const char *dir = tu_tmpdir();
	char path[1200];
	snprintf(path, sizeof path, "%s/m.seg", dir);
	write_sample(path);
	assert_int_equal(truncate(path, 200), 0);
	container_file *m;
	seg_error err;
	assert_int_equal(container_file_open(&m, path, &err), SEG_EFORMAT);
	assert_non_null(strstr(err.msg, "truncated"));
	unlink(path);
	assert_int_equal(container_file_open(&m, path, &err), SEG_ENOTFOUND);
	tu_rmtree(dir);
}

static int fill_text(FILE *f, void *arg) { return fputs(arg, f) < 0 ? -1 : 0; }
static int fill_fails(FILE *f, void *arg)
{
	(void)arg;
	fputs("half", f);
	errno = ENOSPC;
	return -1;
}

/* 1 when `dir` holds a name with ".tmp." in it. */
static int has_temporary(const char *dir)
{
	char cmd[1300], *out = NULL;
	snprintf(cmd, sizeof cmd, "ls -a '%s' | grep -c '\\.tmp\\.'", dir);
	tu_run(cmd, &out);
	int yes = out != NULL && atoi(out) > 0;
	free(out);
	return yes;
}

/* A borrowed section is written as it is at the save, like a copied one,
 * and stays the caller's: freeing the writer leaves it (ASan would see a
 * double free), and a name borrowed twice is refused as a copy is. */
static void test_borrow(void **state)
{
	(void)state;
	const char *dir = tu_tmpdir();
	char path[1200];
	snprintf(path, sizeof path, "%s/b.seg", dir);
	size_t n = 100000;
	int32_t *big = malloc(sizeof(int32_t) * n);
	assert_non_null(big);
	for (size_t i = 0; i < n; i++)
		big[i] = (int32_t)(i * 7);
	seg_error err;
	container_writer *w = container_writer_create();
	assert_non_null(w);
	assert_int_equal(container_writer_borrow(w, "big", big, sizeof(int32_t) * n, &err), 0);
	assert_int_equal(container_writer_add(w, "copied", "abc", 4, &err), 0);
	assert_int_equal(container_writer_borrow(w, "big", big, 4, &err), SEG_EINVAL);
	big[n - 1] = -1; /* written as it is when saved */
	assert_int_equal(container_writer_save(w, path, &err), 0);
	container_writer_free(w);
	container_file *m;
	assert_int_equal(container_file_open(&m, path, &err), 0);
	size_t sz;
	const int32_t *got = container_file_section(m, "big", &sz);
	assert_int_equal(sz, sizeof(int32_t) * n);
	assert_int_equal(got[12345], 12345 * 7);
	assert_int_equal(got[n - 1], -1);
	assert_string_equal((const char *)container_file_section(m, "copied", NULL), "abc");
	container_file_close(m);
	free(big);
	tu_rmtree(dir);
}

static void test_write_atomic(void **state)
{
	(void)state;
	const char *dir = tu_tmpdir();
	char path[1200];
	snprintf(path, sizeof path, "%s/latest", dir);
	seg_error err = {0};
	assert_int_equal(container_write_atomic(path, fill_text, "v1\n", &err), 0);
	struct stat a, b;
	assert_int_equal(stat(path, &a), 0);
	assert_int_equal(container_write_atomic(path, fill_text, "v2\n", &err), 0);
	assert_int_equal(stat(path, &b), 0);
	assert_true(a.st_ino != b.st_ino); /* replaced by a rename, not rewritten */
	char *text = tu_read(path, NULL);
	assert_string_equal(text, "v2\n");
	free(text);
	/* a failed write leaves the old file and no temporary */
	assert_int_equal(container_write_atomic(path, fill_fails, NULL, &err), SEG_EIO);
	assert_non_null(strstr(err.msg, strerror(ENOSPC)));
	text = tu_read(path, NULL);
	assert_string_equal(text, "v2\n");
	free(text);
	assert_false(has_temporary(dir));
	/* the same for a container */
	snprintf(path, sizeof path, "%s/m.seg", dir);
	write_sample(path);
	assert_false(has_temporary(dir));
	snprintf(path, sizeof path, "%s/no/such/dir/x", dir);
	assert_int_equal(container_write_atomic(path, fill_text, "x", &err), SEG_EIO);
	tu_rmtree(dir);
}

/* Every umask() call of the library lands here (the test's definition wins
 * over the C library's when the static library is linked). umask changes
 * the mask of every thread at once: another thread creating a file while
 * it is 0 would make that file writable by all. The test sets the mask
 * through the system call itself. */
static int umask_calls;

mode_t umask(mode_t mask)
{
	umask_calls++;
	return (mode_t)syscall(SYS_umask, mask);
}

/* The replaced file's mode is what fopen gives (0666 less the umask, the
 * umask of the moment), and the process umask is never called. */
static void test_write_atomic_mode(void **state)
{
	(void)state;
	const char *dir = tu_tmpdir();
	char path[1200];
	snprintf(path, sizeof path, "%s/m.seg", dir);
	mode_t was = (mode_t)syscall(SYS_umask, 027);
	umask_calls = 0;
	write_sample(path);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	syscall(SYS_umask, 002);
	seg_error err = {0};
	snprintf(path, sizeof path, "%s/latest", dir);
	assert_int_equal(container_write_atomic(path, fill_text, "v1\n", &err), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0664);
	syscall(SYS_umask, was);
	assert_int_equal(umask_calls, 0);
	tu_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_borrow),
		cmocka_unit_test(test_write_atomic),
		cmocka_unit_test(test_write_atomic_mode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
