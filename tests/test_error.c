/* test_error.c: seg_error_set/at/format/clear and seg_strerror (error.h). */
#include "testutil.h"

#include <string.h>

#include "core/error.h"

static void test_set_fills_code_and_message(void **state)
{
	(void)state;
	seg_error e;
	memset(&e, 0x5a, sizeof e); /* garbage that set must overwrite */
	int rc = seg_error_set(&e, SEG_EFORMAT, "bad %s on row %d", "quote", 7);
	assert_int_equal(rc, SEG_EFORMAT);
	assert_int_equal(e.code, SEG_EFORMAT);
	assert_string_equal(e.msg, "bad quote on row 7");
	assert_string_equal(e.file, "");
	assert_int_equal(e.line, 0);
	assert_int_equal(e.column, 0);
}

static void test_set_clears_previous_location(void **state)
{
	(void)state;
	seg_error e;
	seg_error_set(&e, SEG_EIO, "first");
	seg_error_at(&e, "a.csv", 3, 4);
	seg_error_set(&e, SEG_EINVAL, "second");
	assert_int_equal(e.code, SEG_EINVAL);
	assert_string_equal(e.msg, "second");
	assert_string_equal(e.file, "");
	assert_int_equal(e.line, 0);
	assert_int_equal(e.column, 0);
}

static void test_set_truncates_long_message(void **state)
{
	(void)state;
	char big[2000];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	seg_error e;
	seg_error_set(&e, SEG_EINVAL, "%s", big);
	assert_int_equal(strlen(e.msg), sizeof e.msg - 1);
	assert_int_equal(e.msg[0], 'x');
}

static void test_null_err_is_fine(void **state)
{
	(void)state;
	assert_int_equal(seg_error_set(NULL, SEG_ENOMEM, "x %d", 1), SEG_ENOMEM);
	assert_int_equal(seg_error_set(NULL, SEG_OK, "fine"), SEG_OK);
	seg_error_at(NULL, "f", 1, 2);
	seg_error_clear(NULL);
}

static void test_at_sets_location(void **state)
{
	(void)state;
	seg_error e;
	seg_error_set(&e, SEG_EFORMAT, "m");
	seg_error_at(&e, "data/x.csv", 12, 3);
	assert_string_equal(e.file, "data/x.csv");
	assert_int_equal(e.line, 12);
	assert_int_equal(e.column, 3);
	assert_string_equal(e.msg, "m"); /* untouched */
	assert_int_equal(e.code, SEG_EFORMAT);
	seg_error_at(&e, NULL, 0, 0);
	assert_string_equal(e.file, "");
	assert_int_equal(e.line, 0);
}

static void test_at_truncates_long_file(void **state)
{
	(void)state;
	char path[600];
	memset(path, 'p', sizeof path - 1);
	path[sizeof path - 1] = '\0';
	seg_error e = {0};
	seg_error_at(&e, path, 1, 1);
	assert_int_equal(strlen(e.file), sizeof e.file - 1);
}

static void test_clear(void **state)
{
	(void)state;
	seg_error e;
	seg_error_set(&e, SEG_EDB, "sqlite said no");
	seg_error_at(&e, "cat.db", 5, 6);
	seg_error_clear(&e);
	assert_int_equal(e.code, 0);
	assert_string_equal(e.msg, "");
	assert_string_equal(e.file, "");
	assert_int_equal(e.line, 0);
	assert_int_equal(e.column, 0);
}

static void test_format_all_parts(void **state)
{
	(void)state;
	seg_error e;
	char buf[600];
	seg_error_set(&e, SEG_EFORMAT, "unterminated quote");
	seg_error_at(&e, "in.csv", 42, 7);
	seg_error_format(&e, buf, sizeof buf);
	assert_string_equal(buf, "in.csv:42:7: unterminated quote");
}

static void test_format_partial_locations(void **state)
{
	(void)state;
	seg_error e;
	char buf[600];

	seg_error_set(&e, SEG_EIO, "cannot read");
	seg_error_format(&e, buf, sizeof buf);
	assert_string_equal(buf, "cannot read");

	seg_error_at(&e, "f.csv", 0, 0);
	seg_error_format(&e, buf, sizeof buf);
	assert_string_equal(buf, "f.csv: cannot read");

	seg_error_at(&e, "f.csv", 9, 0);
	seg_error_format(&e, buf, sizeof buf);
	assert_string_equal(buf, "f.csv:9: cannot read");

	seg_error_at(&e, NULL, 9, 2);
	seg_error_format(&e, buf, sizeof buf);
	assert_string_equal(buf, "9:2: cannot read");
}

static void test_format_empty_message_uses_strerror(void **state)
{
	(void)state;
	seg_error e = {0};
	char buf[100];
	e.code = SEG_ENOTFOUND;
	seg_error_format(&e, buf, sizeof buf);
	assert_string_equal(buf, "not found");
}

static void test_format_small_buffers(void **state)
{
	(void)state;
	seg_error e;
	seg_error_set(&e, SEG_EFORMAT, "a rather long message");
	seg_error_at(&e, "some/long/file/name.csv", 123456, 99);

	char buf[8];
	memset(buf, '#', sizeof buf);
	seg_error_format(&e, buf, sizeof buf);
	assert_int_equal(strlen(buf), sizeof buf - 1);
	assert_memory_equal(buf, "some/lo", 8);

	/* Exactly the length of the file part plus NUL: no overrun past cap. */
	char b2[32];
	memset(b2, '#', sizeof b2);
	seg_error_format(&e, b2, 25);
	assert_int_equal(b2[24], '\0');
	assert_int_equal(b2[25], '#');
	assert_string_equal(b2, "some/long/file/name.csv:");

	char b1[1] = {'#'};
	seg_error_format(&e, b1, 1);
	assert_int_equal(b1[0], '\0');

	char b0[1] = {'#'};
	seg_error_format(&e, b0, 0);
	assert_int_equal(b0[0], '#'); /* cap 0 writes nothing */
}

static void test_strerror_each_code(void **state)
{
	(void)state;
	assert_string_equal(seg_strerror(SEG_OK), "success");
	assert_string_equal(seg_strerror(SEG_ENOMEM), "out of memory");
	assert_string_equal(seg_strerror(SEG_EIO), "input/output error");
	assert_string_equal(seg_strerror(SEG_EINVAL), "invalid argument");
	assert_string_equal(seg_strerror(SEG_EFORMAT), "bad format");
	assert_string_equal(seg_strerror(SEG_ENOTFOUND), "not found");
	assert_string_equal(seg_strerror(SEG_EDB), "database error");
	assert_string_equal(seg_strerror(SEG_EVERSION), "unsupported format version");
	assert_string_equal(seg_strerror(SEG_ECHECKSUM), "checksum mismatch");
	assert_string_equal(seg_strerror(SEG_EREADONLY), "read-only");
	assert_string_equal(seg_strerror(SEG_ESTALE), "out of date");
	assert_string_equal(seg_strerror(-11), "unknown error");
	assert_string_equal(seg_strerror(1), "unknown error");
	assert_string_equal(seg_strerror(-1000000), "unknown error");
}

static void test_codes_distinct_and_negative(void **state)
{
	(void)state;
	const int codes[] = {SEG_ENOMEM, SEG_EIO,      SEG_EINVAL,    SEG_EFORMAT,   SEG_ENOTFOUND,
	                     SEG_EDB,    SEG_EVERSION, SEG_ECHECKSUM, SEG_EREADONLY, SEG_ESTALE};
	const size_t n = sizeof codes / sizeof *codes;
	for (size_t i = 0; i < n; i++) {
		assert_true(codes[i] < 0);
		for (size_t j = i + 1; j < n; j++) {
			assert_int_not_equal(codes[i], codes[j]);
			assert_string_not_equal(seg_strerror(codes[i]), seg_strerror(codes[j]));
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_fills_code_and_message),
		cmocka_unit_test(test_set_clears_previous_location),
		cmocka_unit_test(test_set_truncates_long_message),
		cmocka_unit_test(test_null_err_is_fine),
		cmocka_unit_test(test_at_sets_location),
		cmocka_unit_test(test_at_truncates_long_file),
		cmocka_unit_test(test_clear),
		cmocka_unit_test(test_format_all_parts),
		cmocka_unit_test(test_format_partial_locations),
		cmocka_unit_test(test_format_empty_message_uses_strerror),
		cmocka_unit_test(test_format_small_buffers),
		cmocka_unit_test(test_strerror_each_code),
		cmocka_unit_test(test_codes_distinct_and_negative),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
