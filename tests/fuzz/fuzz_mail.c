/*
 * fuzz_mail.c — libFuzzer target for mail_canon(): any bytes in, no crash,
 * and whatever is accepted is canonical (idempotent) and within MAIL_MAX.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/mail.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char out[MAIL_MAX + 1], again[MAIL_MAX + 1];
	const char *why;

	if (mail_canon((const char *)data, len, out, &why) == 0) {
		if (strlen(out) != len || len > MAIL_MAX)
			abort();
		if (mail_canon(out, len, again, &why) != 0 ||
		    strcmp(out, again) != 0)
			abort();
	}
	return 0;
}
