/* test_strbuf.c: the growable string (strbuf.h), above all its JSON string
 * writer, whose output the API sends as it is: escapes, UTF-8 kept, bytes
 * that are not UTF-8 replaced, and every output read back by jansson. */
#include "testutil.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/strbuf.h"

/* strbuf_json(in) must be `want` exactly and parse (as a JSON string) back
 * to `back` (NULL: to `in`). */
static void check_json(const char *in, const char *want, const char *back)
{
	strbuf sb = {0};
	strbuf_json(&sb, in);
	assert_false(sb.oom);
	assert_string_equal(strbuf_cstr(&sb), want);
	json_error_t je;
	json_t *j = json_loads(strbuf_cstr(&sb), JSON_DECODE_ANY, &je);
	if (j == NULL)
		fail_msg("jansson refused %s: %s", strbuf_cstr(&sb), je.text);
	assert_true(json_is_string(j));
	assert_string_equal(json_string_value(j), back ? back : in);
	json_decref(j);
	strbuf_free(&sb);
}

static void test_json_escapes(void **state)
{
	(void)state;
	check_json("", "\"\"", NULL);
	check_json("plain", "\"plain\"", NULL);
	check_json("say \"hi\"\\", "\"say \\\"hi\\\"\\\\\"", NULL);
	check_json("a\nb\rc\td", "\"a\\nb\\rc\\td\"", NULL);
	check_json("\x01\x1f", "\"\\u0001\\u001f\"", NULL);
	check_json("/ and \x7f stay", "\"/ and \x7f stay\"", NULL);
}

static void test_json_utf8(void **state)
{
	(void)state;
	/* Well-formed sequences of 2, 3 and 4 bytes, at the edges of their ranges. */
	check_json("Beyonc\xc3\xa9", "\"Beyonc\xc3\xa9\"", NULL);
	check_json("\xe0\xa0\x80 \xed\x9f\xbf \xef\xbf\xbf", "\"\xe0\xa0\x80 \xed\x9f\xbf \xef\xbf\xbf\"", NULL);
	check_json("\xf0\x9f\x8e\xb5 \xf4\x8f\xbf\xbf", "\"\xf0\x9f\x8e\xb5 \xf4\x8f\xbf\xbf\"", NULL);
	/* Not UTF-8: a lone continuation byte, an overlong, a surrogate, a
	 * byte past U+10FFFF, Latin-1, and a sequence cut short at the end. */
	const char *fffd = "\xef\xbf\xbd";
	char want[80], back[64];
	snprintf(back, sizeof back, "a%sb", fffd);
	snprintf(want, sizeof want, "\"%s\"", back);
	check_json("a\x80"
	           "b",
	           want, back);
	check_json("a\xf5"
	           "b",
	           want, back);
	check_json("a\xe9"
	           "b",
	           want, back); /* Latin-1 e-acute */
	snprintf(back, sizeof back, "%s%s", fffd, fffd);
	snprintf(want, sizeof want, "\"%s\"", back);
	check_json("\xc0\x80", want, back);
	snprintf(back, sizeof back, "%s%s%s", fffd, fffd, fffd);
	snprintf(want, sizeof want, "\"%s\"", back);
	check_json("\xed\xa0\x80", want, back);
	snprintf(back, sizeof back, "x%s%s", fffd, fffd);
	snprintf(want, sizeof want, "\"%s\"", back);
	check_json("x\xe2\x82", want, back);
}

/* Every one- and two-byte input: the output always parses. */
static void test_json_all_pairs(void **state)
{
	(void)state;
	char in[3] = {0};
	strbuf sb = {0};
	for (int a = 1; a < 256; a++)
		for (int b = 0; b < 256; b++) {
			in[0] = (char)a;
			in[1] = (char)b;
			strbuf_reset(&sb);
			strbuf_json(&sb, in);
			json_t *j = json_loads(strbuf_cstr(&sb), JSON_DECODE_ANY, NULL);
			if (j == NULL)
				fail_msg("not valid JSON for bytes %02x %02x: %s", a, b, strbuf_cstr(&sb));
			json_decref(j);
		}
	strbuf_free(&sb);
}

static void test_append_printf_detach(void **state)
{
	(void)state;
	strbuf sb = {0};
	assert_string_equal(strbuf_cstr(&sb), "");
	for (int i = 0; i < 1000; i++)
		strbuf_printf(&sb, "%d,", i);
	assert_int_equal(sb.len, 3890); /* 10*2 + 90*3 + 900*4 */
	assert_memory_equal(sb.data + sb.len - 4, "999,", 4);
	strbuf_xml(&sb, "<a href=\"x\">&'</a>");
	assert_non_null(strstr(strbuf_cstr(&sb), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"));
	char *p = strbuf_detach(&sb);
	assert_non_null(p);
	assert_int_equal(sb.len, 0);
	assert_int_equal(strncmp(p, "0,1,2,", 6), 0);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_escapes),
		cmocka_unit_test(test_json_utf8),
		cmocka_unit_test(test_json_all_pairs),
		cmocka_unit_test(test_append_printf_detach),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
