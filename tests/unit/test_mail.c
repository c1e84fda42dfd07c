/*
 * test_mail.c — mail_canon(): a table of good and bad addresses.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/mail.h"

struct good { const char *in, *want; };
static const struct good goods[] = {
	{ "alice@example.com", "alice@example.com" },
	{ "Alice.Smith@Example.COM", "Alice.Smith@example.com" },
	{ "a+tag@sub.example.co.uk", "a+tag@sub.example.co.uk" },
	{ "o'neil@example.com", "o'neil@example.com" },
	{ "x!#$%&*+-/=?^_`{|}~@example.com", "x!#$%&*+-/=?^_`{|}~@example.com" },
	{ "a@b-c.d1", "a@b-c.d1" },
};

static const char *const bads[] = {
	"", "alice", "@example.com", "alice@", "a@b", "alice@example",
	"*)(mail=*", "*)(mail=*@example.com", "al ice@example.com",
	"alice@exa mple.com", ".alice@example.com", "alice.@example.com",
	"al..ice@example.com", "alice@@example.com", "a@b@example.com",
	"alice@example..com", "alice@.example.com", "alice@example.com.",
	"alice@-example.com", "alice@example-.com", "alice@exa_mple.com",
	"\"alice\"@example.com", "alice@[127.0.0.1]", "al(ice@example.com",
	"al)ice@example.com", "al\\ice@example.com", "alice@example.com\r\n",
	"ali\nce@example.com", "alice\t@example.com", "ali\x7f" "ce@example.com",
	"al\xc3\xa9@example.com", "alice@ex\xc3\xa9.com", "a,b@example.com",
	"a;b@example.com", "a<b@example.com", "a:b@example.com",
};

START_TEST(test_good)
{
	char out[MAIL_MAX + 1];
	const char *why = "x";

	ck_assert_int_eq(mail_canon(goods[_i].in, strlen(goods[_i].in), out,
	    &why), 0);
	ck_assert_str_eq(out, goods[_i].want);
	ck_assert_ptr_null(why);
}
END_TEST

START_TEST(test_bad)
{
	char out[MAIL_MAX + 1];
	const char *why = NULL;

	ck_assert_msg(mail_canon(bads[_i], strlen(bads[_i]), out, &why) == -1,
	    "accepted \"%s\"", bads[_i]);
	ck_assert_ptr_nonnull(why);
}
END_TEST

START_TEST(test_nul)
{
	static const char in[] = "alice\0evil@example.com";
	char out[MAIL_MAX + 1];
	const char *why = NULL;

	ck_assert_int_eq(mail_canon(in, sizeof(in) - 1, out, &why), -1);
	ck_assert_str_eq(why, "contains a NUL byte");
}
END_TEST

START_TEST(test_lengths)
{
	char in[400], out[MAIL_MAX + 1];
	const char *why = NULL;
	size_t n;

	/* 64-byte local part is fine, 65 is not (RFC 5321 4.5.3.1.1) */
	memset(in, 'a', 64);
	strcpy(in + 64, "@example.com");
	ck_assert_int_eq(mail_canon(in, strlen(in), out, &why), 0);
	memset(in, 'a', 65);
	strcpy(in + 65, "@example.com");
	ck_assert_int_eq(mail_canon(in, strlen(in), out, &why), -1);

	/* exactly 254 accepted, 255 and 300 refused */
	for (n = 254; n <= 300; n += (n == 254 ? 1 : 45)) {
		size_t i, dom = n - 2;

		in[0] = 'a';
		in[1] = '@';
		for (i = 0; i < dom; i++)
			in[2 + i] = (i % 60 == 59) ? '.' : 'b';
		in[2 + dom - 1] = 'c';
		in[2 + dom] = '\0';
		ck_assert_uint_eq(strlen(in), n);
		ck_assert_int_eq(mail_canon(in, n, out, &why),
		    n <= MAIL_MAX ? 0 : -1);
	}
	/* a 64-byte label is refused (RFC 1035 2.3.4) */
	strcpy(in, "a@");
	memset(in + 2, 'b', 64);
	strcpy(in + 66, ".com");
	ck_assert_int_eq(mail_canon(in, strlen(in), out, &why), -1);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("mail");
	TCase *tc = tcase_create("canon");
	SRunner *sr;
	int nf;

	log_init("test_mail", 0, LOG_LVL_ERR);
	tcase_add_loop_test(tc, test_good, 0, sizeof(goods) / sizeof(goods[0]));
	tcase_add_loop_test(tc, test_bad, 0, sizeof(bads) / sizeof(bads[0]));
	tcase_add_test(tc, test_nul);
	tcase_add_test(tc, test_lengths);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
