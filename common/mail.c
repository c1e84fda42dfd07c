/*
 * mail.c — the one validation every mail address passes before it is used
 * in a filter, a certificate or a file name (see mail.h for the rules).
 */
#include <stdlib.h>
#include <string.h>

#include <idn2.h>

#include "common/mail.h"

/* RFC 5322 §3.2.3 atext, without ALPHA and DIGIT. */
static const char mail_atext[] = "!#$%&'*+-/=?^_`{|}~";

static int
mail_is_atext(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr(mail_atext, c) != NULL;
}

static int
mail_is_ldh(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-';
}

/* Every byte printable ASCII, exactly one '@': its offset, or -1 with
 * *why. */
static long
mail_scan(const char *in, size_t len, const char **why)
{
	const char *at = NULL;
	unsigned char c;
	size_t i;

	for (i = 0; i < len; i++) {
		c = (unsigned char)in[i];
		if (c == '\0')
			*why = "contains a NUL byte";
		else if (c < 0x20 || c == 0x7f)
			*why = "contains a control character";
		else if (c == ' ')
			*why = "contains a space";
		else if (c >= 0x80)
			*why = "contains a non-ASCII byte";
		else if (c == '@' && at != NULL)
			*why = "more than one '@'";
		else if (c == '@')
			at = in + i;
		if (*why != NULL)
			return -1;
	}
	if (at == NULL) {
		*why = "no '@'";
		return -1;
	}
	return (long)(at - in);
}

/* The local part, in[0..local): a dot-atom of at most 64 bytes. */
static int
mail_local_ok(const char *in, size_t local, const char **why)
{
	unsigned char c;
	size_t i;

	if (local == 0)
		*why = "empty local part";
	else if (local > MAIL_LOCAL_MAX)
		*why = "local part longer than 64 bytes (RFC 5321 4.5.3.1.1)";
	/* dot-atom: atext runs separated by single dots (RFC 5322 3.2.3) */
	for (i = 0; *why == NULL && i < local; i++) {
		c = (unsigned char)in[i];
		if (c == '.') {
			if (i == 0 || i == local - 1 || in[i - 1] == '.')
				*why = "local part has a leading, trailing or "
				    "double dot";
		} else if (!mail_is_atext(c))
			*why = "local part has a character outside dot-atom";
	}
	return *why == NULL ? 0 : -1;
}

/* The domain, d[0..n): LDH labels of 1..63 bytes (RFC 1035 2.3.4), at
 * least one dot. */
static int
mail_domain_ok(const char *d, size_t n, const char **why)
{
	size_t i, lablen = 0, dots = 0;
	unsigned char c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)d[i];
		if (c == '.') {
			if (lablen == 0 || d[i - 1] == '-') {
				*why = "domain has an empty label or one ending "
				    "in '-'";
				return -1;
			}
			dots++;
			lablen = 0;
		} else if (!mail_is_ldh(c)) {
			*why = "domain has a character other than letters, "
			    "digits, '-' and '.'";
			return -1;
		} else if (lablen == 0 && c == '-') {
			*why = "domain label starts with '-'";
			return -1;
		} else if (++lablen > 63) {
			*why = "domain label longer than 63 bytes";
			return -1;
		}
	}
	if (lablen == 0 || d[n - 1] == '-') {
		*why = n == 0 ? "empty domain" : "domain ends in '.' or '-'";
		return -1;
	}
	if (dots == 0) {
		*why = "domain has no dot";
		return -1;
	}
	return 0;
}

int
mail_canon(const char *in, size_t len, char *out, const char **why)
{
	size_t i, local;
	long at;
	unsigned char c;

	*why = NULL;
	if (len == 0) {
		*why = "empty address";
		return -1;
	}
	if (len > MAIL_MAX) {
		*why = "longer than 254 bytes (RFC 5321 4.5.3.1.3)";
		return -1;
	}
	if ((at = mail_scan(in, len, why)) == -1)
		return -1;
	local = (size_t)at;
	if (mail_local_ok(in, local, why) == -1 ||
	    mail_domain_ok(in + local + 1, len - local - 1, why) == -1)
		return -1;
	for (i = 0; i < len; i++) {
		c = (unsigned char)in[i];
		if (i > local && c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		out[i] = (char)c;
	}
	out[len] = '\0';
	return 0;
}

int
mail_canon_idn(const char *in, size_t len, char *out, const char **why)
{
	char dom[MAIL_MAX + 1], addr[MAIL_MAX + 1], *ascii = NULL;
	const char *at;
	size_t i, local, n;
	int rc;

	for (i = 0; i < len && (unsigned char)in[i] < 0x80; i++)
		;
	if (i == len || len > MAIL_MAX || memchr(in, '\0', len) != NULL ||
	    (at = memrchr(in, '@', len)) == NULL)
		return mail_canon(in, len, out, why);
	local = (size_t)(at - in);
	for (i = 0; i < local; i++)
		if ((unsigned char)in[i] >= 0x80) {
			*why = "non-ASCII local part (SMTPUTF8, RFC 6531): not "
			    "supported; only the domain may be in Unicode";
			return -1;
		}
	memcpy(dom, at + 1, len - local - 1);
	dom[len - local - 1] = '\0';
	/* UTS #46 non-transitional mapping (case folded, NFC), then the
	 * IDNA2008 rules (RFC 5891 §5): what browsers and MTAs send */
	rc = idn2_to_ascii_8z(dom, &ascii, IDN2_NFC_INPUT |
	    IDN2_NONTRANSITIONAL);
	if (rc != IDN2_OK || (n = strlen(ascii)) + local + 1 > MAIL_MAX) {
		*why = rc != IDN2_OK ? "domain is not a valid internationalized "
		    "domain name (IDNA2008, RFC 5891)" : "longer than 254 bytes "
		    "(RFC 5321 4.5.3.1.3) in its A-label form";
		idn2_free(ascii);
		return -1;
	}
	memcpy(addr, in, local + 1);
	memcpy(addr + local + 1, ascii, n);
	idn2_free(ascii);
	return mail_canon(addr, local + 1 + n, out, why);
}

int
mail_eq(const char *a, const char *b)
{
	unsigned char x, y;

	for (;; a++, b++) {
		x = (unsigned char)*a;
		y = (unsigned char)*b;
		if (x >= 'A' && x <= 'Z')
			x = (unsigned char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (unsigned char)(y - 'A' + 'a');
		if (x != y)
			return 0;
		if (x == '\0')
			return 1;
	}
}
