/*
 * driver.c — a main() for the libFuzzer targets in tests/fuzz/, so that
 * `make check` (with gcc, under ASan/UBSan when SANITIZE=1) runs every target
 * over its seeds and a bounded number of deterministic random mutations.
 * With clang, build a target for real coverage-guided fuzzing instead:
 *   clang -fsanitize=fuzzer,address -I. tests/fuzz/fuzz_X.c build/libsmimepub.a ...
 * Usage: fuzz_X [ITERATIONS] [SEED-FILE ...]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static uint64_t rng = 0x9e3779b97f4a7c15ULL;	/* fixed: runs repeat */

static uint32_t
next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

int
main(int argc, char *argv[])
{
	static uint8_t seeds[16][65536];
	static size_t seedlen[16];
	uint8_t buf[65536];
	size_t nseeds = 0, len, i, j;
	long iters = argc > 1 ? atol(argv[1]) : 20000;
	FILE *fp;
	int a;

	for (a = 2; a < argc && nseeds < 16; a++) {
		if ((fp = fopen(argv[a], "rb")) == NULL) {
			perror(argv[a]);
			return 2;
		}
		seedlen[nseeds] = fread(seeds[nseeds], 1, sizeof(seeds[0]), fp);
		fclose(fp);
		LLVMFuzzerTestOneInput(seeds[nseeds], seedlen[nseeds]);
		nseeds++;
	}
	for (i = 0; i < (size_t)iters; i++) {
		if (nseeds > 0 && next() % 4 != 0) {
			size_t s = next() % nseeds;

			len = seedlen[s];
			memcpy(buf, seeds[s], len);
			/* flip, overwrite or truncate a few bytes */
			for (j = 0; j < 1 + next() % 8 && len > 0; j++) {
				switch (next() % 3) {
				case 0:
					buf[next() % len] ^= (uint8_t)(1u << (next() % 8));
					break;
				case 1:
					buf[next() % len] = (uint8_t)next();
					break;
				default:
					len = next() % (len + 1);
				}
			}
		} else {
			len = next() % 512;
			for (j = 0; j < len; j++)
				buf[j] = (uint8_t)next();
		}
		LLVMFuzzerTestOneInput(buf, len);
	}
	printf("%s: %ld inputs, no crash\n", argv[0], iters + (long)nseeds);
	return 0;
}
