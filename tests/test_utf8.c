/* test_utf8.c: the one UTF-8 check agrees with RFC 3629 at every boundary
 * (overlong forms, surrogates, U+10FFFF, cut sequences), never reads past a
 * counted buffer, and the repair replaces exactly the offending bytes. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"

static void test_seq_boundaries(void **state)
{
	(void)state;
	struct {
		const char *s;
		size_t want;
	} cases[] = {
		{"a", 1},
		{"\x7f", 1},
		{"\xc2\x80", 2},         /* U+0080, the first two-byte character */
		{"\xc1\xbf", 0},         /* overlong U+007F */
		{"\xc0\x80", 0},         /* overlong NUL */
		{"\xdf\xbf", 2},         /* U+07FF */
		{"\xe0\xa0\x80", 3},     /* U+0800 */
		{"\xe0\x9f\xbf", 0},     /* overlong U+07FF */
		{"\xed\x9f\xbf", 3},     /* U+D7FF */
		{"\xed\xa0\x80", 0},     /* U+D800, a surrogate */
		{"\xed\xbf\xbf", 0},     /* U+DFFF */
		{"\xee\x80\x80", 3},     /* U+E000 */
		{"\xef\xbf\xbd", 3},     /* U+FFFD */
		{"\xf0\x90\x80\x80", 4}, /* U+10000 */
		{"\xf0\x8f\xbf\xbf", 0}, /* overlong U+FFFF */
		{"\xf4\x8f\xbf\xbf", 4}, /* U+10FFFF */
		{"\xf4\x90\x80\x80", 0}, /* U+110000 */
		{"\xf5\x80\x80\x80", 0},
		{"\xff", 0},
		{"\x80", 0}, /* a lone continuation byte */
		{"\xc3", 0}, /* cut by the end of the string */
		{"\xe2\x82", 0},
		{"\xf0\x9f\x8e", 0},
		{"\xe2\x28\xa1", 0}, /* second byte not a continuation */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t got = utf8_seq((const unsigned char *)cases[i].s);
		if (got != cases[i].want)
			fail_msg("case %zu: utf8_seq gave %zu, want %zu", i, got, cases[i].want);
	}
}

static void test_valid_counts_bytes(void **state)
{
	(void)state;
	size_t bad = 99;
	assert_true(utf8_valid("", 0, &bad));
	assert_true(utf8_valid("caf\xc3\xa9 \xe2\x82\xac", 9, NULL));
	assert_false(utf8_valid("ab\xff", 3, &bad));
	assert_int_equal(bad, 2);
	assert_false(utf8_valid("ab\0cd", 5, &bad)); /* a NUL inside counted bytes */
	assert_int_equal(bad, 2);
	/* A sequence cut by the count is refused without reading past it: the
	 * buffer is exactly as long as the count, so ASan sees any overread. */
	char *cut = malloc(3);
	assert_non_null(cut);
	memcpy(cut, "a\xe2\x82", 3);
	assert_false(utf8_valid(cut, 3, &bad));
	assert_int_equal(bad, 1);
	memcpy(cut, "\xe2\x82\xac", 3);
	assert_true(utf8_valid(cut, 3, &bad));
	free(cut);
}

static void test_clean_replaces_only_bad_bytes(void **state)
{
	(void)state;
	strbuf tmp = {0};
	const char *ok = "Beyonc\xc3\xa9";
	assert_ptr_equal(utf8_clean(ok, &tmp), ok); /* valid input is not copied */
	assert_string_equal(utf8_clean(NULL, &tmp), "");
	assert_string_equal(utf8_clean("a\xffz\xed\xa0\x80!", &tmp),
	                    "a\xef\xbf\xbdz\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd!");
	assert_string_equal(utf8_clean("\xc3", &tmp), "\xef\xbf\xbd");
	strbuf_free(&tmp);
}

int main(void)
{
	/* clang-format off */
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_seq_boundaries),
	    cmocka_unit_test(test_valid_counts_bytes),
	    cmocka_unit_test(test_clean_replaces_only_bad_bytes),
	};
	/* clang-format on */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
