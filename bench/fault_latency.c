// SPDX-License-Identifier: GPL-2.0
/*
 * fault_latency: service time of a fault on a lazy entry filled by the
 * memory backend, against a plain anonymous fault.
 *
 *   fault_latency [PAGES [ROUNDS [ADDR:PORT PREFIX]]]
 *
 * Each round maps PAGES fresh private anonymous pages and times, one by one:
 *   plain-write  the first write to a page never touched (mm allocates and
 *                zeroes a page);
 *   lazy-write   the first write to a page evicted with LAZYRESUME_IOC_EVICT
 *                (mm allocates and zeroes a page, the module copies the
 *                stored page in and checks its SHA-256);
 *   lazy-read    the same with a read;
 *   lazy-write-nocheck, lazy-read-nocheck  the same without the SHA-256
 *                check (LAZYRESUME_MEM_NO_VERIFY), to show what it costs;
 * and, with a TFTP server (tftpd-hpa accepting uploads under PREFIX):
 *   tftp-read    the first read of a page moved to the server with
 *                LAZYRESUME_IOC_TFTP_BACKEND (one fetch of the page file,
 *                SHA-256 check);
 *   tftp-get     the same page file fetched with LAZYRESUME_IOC_TFTP_GET
 *                (the round trip of a one-block fetch, no fault);
 * and prints one line per kind:
 *   bench fault kind=K n=N median_ns=M p90_ns=P mean_ns=A
 * Needs the lazyresume module loaded and root.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/lazyresume.h>

#include "latency.h"

static long page_size;

static unsigned char *map_pages(size_t pages)
{
	unsigned char *p = mmap(NULL, pages * page_size, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	madvise(p, pages * page_size, MADV_NOHUGEPAGE);
	return p;
}

/* Maps @pages pages with content and evicts them all. */
static unsigned char *map_evicted(int fd, size_t pages)
{
	unsigned char *p = map_pages(pages);
	struct lazyresume_evict e = { .length = pages * page_size };
	size_t i;

	for (i = 0; i < pages * page_size; i += 64)
		p[i] = (unsigned char)(i >> 6);
	e.start = (uintptr_t)p;
	if (ioctl(fd, LAZYRESUME_IOC_EVICT, &e) || e.evicted != pages) {
		fprintf(stderr, "evict: %llu of %zu pages\n",
			(unsigned long long)e.evicted, pages);
		exit(1);
	}
	return p;
}

static void set_verify(int fd, int verify)
{
	struct lazyresume_mem_inject m = { 0 };

	m.flags = verify ? 0 : LAZYRESUME_MEM_NO_VERIFY;
	if (ioctl(fd, LAZYRESUME_IOC_MEM_INJECT, &m)) {
		perror("LAZYRESUME_IOC_MEM_INJECT");
		exit(1);
	}
}

/* Times first writes or reads to @pages evicted pages, @rounds times. */
static void time_lazy(int fd, size_t pages, int rounds, int write, uint64_t *t)
{
	unsigned char *p;
	int r;

	for (r = 0; r < rounds; r++) {
		p = map_evicted(fd, pages);
		time_faults(p, pages, page_size, write, t + r * pages);
		munmap(p, pages * page_size);
	}
}

/* Times tftp-read faults and tftp-get fetches of the same page files. */
static void bench_tftp(int fd, size_t pages, int rounds, const char *server,
		       const char *prefix)
{
	struct lazyresume_tftp_backend b = { 0 };
	struct lazyresume_tftp_xfer x;
	unsigned int a[4], port;
	uint64_t *rd, *get, t0;
	unsigned char *p;
	size_t i;
	int r;

	if (sscanf(server, "%u.%u.%u.%u:%u", &a[0], &a[1], &a[2], &a[3],
		   &port) != 5) {
		fprintf(stderr, "bad server %s\n", server);
		exit(1);
	}
	for (i = 0; i < 4; i++)
		b.server[i] = a[i];
	b.port = port;
	rd = calloc(pages * rounds, sizeof(*rd));
	get = calloc(pages * rounds, sizeof(*get));
	if (!rd || !get)
		exit(1);
	for (r = 0; r < rounds; r++) {
		/* Fresh files each round: the store forgets unused pages. */
		snprintf(b.prefix, sizeof(b.prefix), "%s%d-%d-", prefix,
			 getpid(), r);
		p = map_evicted(fd, pages);
		if (ioctl(fd, LAZYRESUME_IOC_TFTP_BACKEND, &b) ||
		    b.pages != pages) {
			perror("LAZYRESUME_IOC_TFTP_BACKEND");
			exit(1);
		}
		printf("bench upload pages=%zu ms=%llu\n", pages,
		       (unsigned long long)b.elapsed_ns / 1000000);
		time_faults(p, pages, page_size, 0, rd + r * pages);
		munmap(p, pages * page_size);
		/* The same files, fetched without a fault (pages 0..n-1 of
		 * the store of this round).
		 */
		for (i = 0; i < pages; i++) {
			memset(&x, 0, sizeof(x));
			memcpy(x.server, b.server, 4);
			x.port = b.port;
			x.blksize = page_size + 8;
			x.flags = LAZYRESUME_TFTP_NO_DIGEST;
			snprintf(x.filename, sizeof(x.filename), "%s%016zx",
				 b.prefix, i);
			t0 = now_ns();
			if (ioctl(fd, LAZYRESUME_IOC_TFTP_GET, &x) ||
			    x.length != (__u64)page_size) {
				perror(x.filename);
				exit(1);
			}
			get[r * pages + i] = now_ns() - t0;
		}
	}
	report("tftp-read", rd, pages * rounds);
	report("tftp-get", get, pages * rounds);
	free(rd);
	free(get);
}

int main(int argc, char **argv)
{
	size_t pages = argc > 1 ? strtoul(argv[1], NULL, 0) : 2048;
	int rounds = argc > 2 ? atoi(argv[2]) : 3;
	const char *kinds[] = { "lazy-write", "lazy-read", "lazy-write-nocheck",
				"lazy-read-nocheck" };
	uint64_t *t;
	unsigned char *p;
	int fd, r, k;

	page_size = sysconf(_SC_PAGESIZE);
	fd = open("/dev/lazyresume", O_RDONLY);
	if (fd < 0 || !pages || rounds < 1) {
		perror("/dev/lazyresume");
		return 1;
	}
	t = calloc(pages * rounds, sizeof(*t));
	if (!t)
		return 1;
	for (r = 0; r < rounds; r++) {
		p = map_pages(pages);
		time_faults(p, pages, page_size, 1, t + r * pages);
		munmap(p, pages * page_size);
	}
	report("plain-write", t, pages * rounds);
	for (k = 0; k < 4; k++) {
		set_verify(fd, k < 2);
		time_lazy(fd, pages, rounds, !(k & 1), t);
		report(kinds[k], t, pages * rounds);
	}
	set_verify(fd, 1);
	free(t);
	if (argc > 4)
		bench_tftp(fd, pages < 256 ? pages : 256, rounds, argv[3],
			   argv[4]);
	return 0;
}
