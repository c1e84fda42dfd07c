/*
 * dir_escape.c — RFC 4515 §3 escaping of an assertion value before it enters
 * an LDAP filter, so that a value such as "*)(mail=*" matches itself and
 * nothing else. Kept alone in its file: it needs no connection (and a unit
 * test of lookup/ replaces the rest of the directory client).
 */
#include <stdlib.h>

#include "ldap/dir.h"

/*
 * '*', '(', ')', '\\' and NUL must be escaped (RFC 4515 §3); every other byte
 * outside printable ASCII is escaped too, so the filter string is plain
 * ASCII whatever the value holds (UTF-8 survives as its \XX bytes).
 */
char *
dir_filter_escape(const char *val, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char ch;
	char *out, *w;
	size_t i;

	if (len > (((size_t)-1) - 1) / 3)
		return NULL;
	if ((out = malloc(len * 3 + 1)) == NULL)
		return NULL;
	w = out;
	for (i = 0; i < len; i++) {
		ch = (unsigned char)val[i];
		if (ch == '*' || ch == '(' || ch == ')' || ch == '\\' ||
		    ch < 0x20 || ch > 0x7e) {
			*w++ = '\\';
			*w++ = hex[ch >> 4];
			*w++ = hex[ch & 0xf];
		} else
			*w++ = (char)ch;
	}
	*w = '\0';
	return out;
}
