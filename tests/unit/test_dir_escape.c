/*
 * test_dir_escape.c — dir_filter_escape(): RFC 4515 §3 escaping of values
 * that enter an LDAP filter (injection strings, NUL, backslash, parentheses,
 * bytes outside printable ASCII, the empty value).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ldap/dir.h"

struct esc { const char *in; size_t len; const char *want; };
static const struct esc cases[] = {
	{ "alice@example.com", 17, "alice@example.com" },
	{ "*)(mail=*", 9, "\\2a\\29\\28mail=\\2a" },
	{ "*", 1, "\\2a" },
	{ "(", 1, "\\28" },
	{ ")", 1, "\\29" },
	{ "\\", 1, "\\5c" },
	{ "a\\2a", 4, "a\\5c2a" },
	{ "a\0b", 3, "a\\00b" },
	{ "\0", 1, "\\00" },
	{ "caf\xc3\xa9", 5, "caf\\c3\\a9" },
	{ "\x7f\xff", 2, "\\7f\\ff" },
	{ "tab\there\r\n", 10, "tab\\09here\\0d\\0a" },
	{ "o'neil+x=y&z|!~<>", 17, "o'neil+x=y&z|!~<>" },
	{ "", 0, "" },
	{ "*)(|(objectClass=*", 18, "\\2a\\29\\28|\\28objectClass=\\2a" },
};

START_TEST(test_table)
{
	char *out = dir_filter_escape(cases[_i].in, cases[_i].len);

	ck_assert_ptr_nonnull(out);
	ck_assert_str_eq(out, cases[_i].want);
	free(out);
}
END_TEST

/* Whatever goes in, no filter metacharacter or non-ASCII byte comes out
 * unescaped, and unescaping gives the input back. */
START_TEST(test_all_bytes)
{
	char in[256], *out, *r, back[256];
	size_t i, n = 0;

	for (i = 0; i < 256; i++)
		in[i] = (char)i;
	out = dir_filter_escape(in, sizeof(in));
	ck_assert_ptr_nonnull(out);
	for (r = out; *r != '\0'; r++) {
		unsigned char ch = (unsigned char)*r;

		ck_assert_msg(ch >= 0x20 && ch < 0x7f, "byte %02x unescaped", ch);
		ck_assert(ch != '*' && ch != '(' && ch != ')');
		if (ch == '\\') {
			unsigned v;

			ck_assert(sscanf(r + 1, "%2x", &v) == 1);
			back[n++] = (char)v;
			r += 2;
		} else
			back[n++] = (char)ch;
		ck_assert_uint_le(n, sizeof(back));
	}
	ck_assert_uint_eq(n, sizeof(in));
	ck_assert(memcmp(back, in, sizeof(in)) == 0);
	free(out);
}
END_TEST

/* Stops at len, not at a NUL, and reads nothing beyond it. */
START_TEST(test_len)
{
	char *out = dir_filter_escape("ab*cd", 2);

	ck_assert_str_eq(out, "ab");
	free(out);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("dir_escape");
	TCase *tc = tcase_create("escape");
	SRunner *sr;
	int nf;

	tcase_add_loop_test(tc, test_table, 0,
	    (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, test_all_bytes);
	tcase_add_test(tc, test_len);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
