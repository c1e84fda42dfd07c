/*
 * mail.h — mail-address validation, used wherever an address enters.
 * RFC 5321 §4.1.2 addr-spec restricted to a dot-atom local part (no quoted
 * strings, no address literals), a domain with at least one dot, and the
 * 254-byte path limit of RFC 5321 §4.5.3.1.3 minus the angle brackets.
 */
#ifndef SMIMEPUB_MAIL_H
#define SMIMEPUB_MAIL_H

#include <stddef.h>

#define MAIL_MAX	254	/* RFC 5321 §4.5.3.1.3: 256 - "<" - ">" */
#define MAIL_LOCAL_MAX	64	/* RFC 5321 §4.5.3.1.1 */

/*
 * Validate in (len bytes, so an embedded NUL is seen and refused) and write
 * the canonical form (domain lower-cased, local part as given) to out, which
 * holds at least MAIL_MAX + 1 bytes. Returns 0, or -1 with *why set to a
 * static reason. Logs nothing: the caller names the input and the context.
 */
int	mail_canon(const char *in, size_t len, char *out, const char **why);

#endif
