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
/*
 * mail_canon for an address a person types: a domain in Unicode (UTF-8) is
 * turned into its IDNA2008 A-label form (RFC 5891, through libidn2, with
 * the UTS #46 mapping, so "B\xc3\x9cCHER.example" is "xn--bcher-kva.example"), as
 * the directory and certificates hold it (mail is IA5String, RFC 4524
 * §2.16; rfc822Name is IA5String, RFC 5280 §4.2.1.6). A local part that is
 * not ASCII (SMTPUTF8, RFC 6531) is refused: mail_canon refuses it
 * wherever smimepub reads an address, so no certificate smimepub handles
 * names one, and it is never folded or guessed at.
 */
int	mail_canon_idn(const char *in, size_t len, char *out, const char **why);
/*
 * 1 if the addresses a and b are the same without regard to ASCII case,
 * local part included, as directories match mail (caseIgnoreIA5Match,
 * RFC 4524 §2.16) and as smimepub finds a person by it; bytes beyond ASCII
 * (an SmtpUTF8Mailbox, RFC 9598) compare exactly.
 */
int	mail_eq(const char *a, const char *b);

#endif
