/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Timing and reporting shared by the fault benchmarks: a monotonic clock in
 * nanoseconds, the timed first access to each page of a range, and one "bench fault" line (median, p90, mean) per kind,
 * the format scripts/bench-fault.sh reads.
 */
#ifndef LATENCY_H
#define LATENCY_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

static inline int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Sorts the @n times of @t and prints their line for @kind. */
static inline void report(const char *kind, uint64_t *t, size_t n)
{
	uint64_t sum = 0;
	size_t i;

	qsort(t, n, sizeof(*t), cmp_u64);
	for (i = 0; i < n; i++)
		sum += t[i];
	printf("bench fault kind=%s n=%zu median_ns=%llu p90_ns=%llu mean_ns=%llu\n",
	       kind, n, (unsigned long long)t[n / 2],
	       (unsigned long long)t[n * 9 / 10],
	       (unsigned long long)(sum / n));
}

/*
 * Times the first access to each of @pages pages of @page_size bytes at
 * @p, a write if @write, else a read, into @t.
 */
static inline void time_faults(volatile unsigned char *p, size_t pages,
			       long page_size, int write, uint64_t *t)
{
	unsigned char sink = 0;
	uint64_t t0;
	size_t i;

	for (i = 0; i < pages; i++) {
		t0 = now_ns();
		if (write)
			p[i * page_size] = 1;
		else
			sink += p[i * page_size];
		t[i] = now_ns() - t0;
	}
	(void)sink;
}

#endif /* LATENCY_H */
