// SPDX-License-Identifier: GPL-2.0
/*
 * redis_fill: the data set of the redis benchmark (scripts/bench-app.sh),
 * as redis protocol for `redis-cli --pipe`.
 *
 *   redis_fill KEYS [VALUE_BYTES]
 *
 * writes KEYS commands "SET lr:%08u VALUE" (keys lr:00000000 upwards, in
 * that order) to stdout.  Each value is VALUE_BYTES (default 4096)
 * characters of the alphabet [A-Za-z0-9+/], pseudo-random but
 * reproducible: splitmix64 seeded with SEED + key * 2^32 gives 64 bits,
 * of which the low 6 of each byte pick 8 characters, lowest byte first.
 * scripts/redis-client.py computes the same values on the host.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEED 0x6c617a79726573ULL /* "lazyres" */

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

int main(int argc, char **argv)
{
	unsigned long keys, len, i, j;
	char *value;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: redis_fill KEYS [VALUE_BYTES]\n");
		return 2;
	}
	keys = strtoul(argv[1], NULL, 0);
	len = argc > 2 ? strtoul(argv[2], NULL, 0) : 4096;
	value = malloc(len + 8);
	if (!value || keys > 100000000UL)
		return 1;
	for (i = 0; i < keys; i++) {
		uint64_t s = SEED + ((uint64_t)i << 32);

		for (j = 0; j < len; j += 8) {
			uint64_t r = splitmix64(&s);
			int k;

			for (k = 0; k < 8; k++)
				value[j + k] = alphabet[(r >> (8 * k)) & 63];
		}
		printf("*3\r\n$3\r\nSET\r\n$11\r\nlr:%08lu\r\n$%lu\r\n", i, len);
		fwrite(value, 1, len, stdout);
		fputs("\r\n", stdout);
	}
	return fflush(stdout) ? 1 : 0;
}
