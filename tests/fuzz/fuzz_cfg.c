/*
 * fuzz_cfg.c — libFuzzer target for cfg_load(): any file content in, an
 * error or a config out, never a crash or a leak.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/cfg.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static char path[64];
	struct cfg *c;
	FILE *fp;

	if (path[0] == '\0')
		snprintf(path, sizeof(path), "/tmp/fuzz_cfg.%ld", (long)getpid());
	if ((fp = fopen(path, "wb")) == NULL)
		abort();
	fwrite(data, 1, len, fp);
	fclose(fp);
	if ((c = cfg_load(path)) != NULL)
		cfg_free(c);
	unlink(path);
	return 0;
}
