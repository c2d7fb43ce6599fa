/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers of the lazy entry selftests: the control device, its debugfs
 * counters, pages with a known content, evicting them, and children that
 * fault on them.
 */
#ifndef LAZY_COMMON_H
#define LAZY_COMMON_H

#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/lazyresume.h>

#include "lazy_dev.h"

static long page_size;

/* Byte @off of page @pg of the pattern with @seed. */
static inline unsigned char pattern(unsigned long pg, unsigned long off, int seed)
{
	return (unsigned char)(pg * 131 + off * 7 + seed * 29 + 1);
}

static inline void fill(unsigned char *p, unsigned long pages, int seed)
{
	unsigned long i, j;

	for (i = 0; i < pages; i++)
		for (j = 0; j < page_size; j++)
			p[i * page_size + j] = pattern(i, j, seed);
}

/*
 * Offset of the first byte of pages [@first, @first + @pages) of @p that
 * differs from the pattern, or -1.
 */
static inline long check_pages(const unsigned char *p, unsigned long first,
			unsigned long pages, int seed)
{
	unsigned long i, j;

	for (i = first; i < first + pages; i++)
		for (j = 0; j < page_size; j++)
			if (p[i * page_size + j] != pattern(i, j, seed))
				return i * page_size + j;
	return -1;
}

static inline long check(const unsigned char *p, unsigned long pages, int seed)
{
	return check_pages(p, 0, pages, seed);
}

/* A private anonymous mapping of @pages small pages, filled with @seed. */
static inline unsigned char *map_filled(unsigned long pages, int seed)
{
	unsigned char *p = mmap(NULL, pages * page_size, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	/* Small pages only: eviction leaves large folios alone. */
	madvise(p, pages * page_size, MADV_NOHUGEPAGE);
	fill(p, pages, seed);
	return p;
}

static inline int evict(int fd, void *p, unsigned long pages,
		 struct lazyresume_evict *out)
{
	struct lazyresume_evict e = {
		.start = (uintptr_t)p,
		.length = pages * page_size,
	};
	int rc = ioctl(fd, LAZYRESUME_IOC_EVICT, &e);

	if (out)
		*out = e;
	return rc;
}

#define PM_PRESENT (1ULL << 63)
#define PM_SWAP (1ULL << 62)
#define PM_PFN_MASK ((1ULL << 55) - 1)
#define PM_SWAP_TYPE_BITS 5

/* The /proc/self/pagemap entry of @addr, or 0. */
static inline uint64_t pagemap_entry(const void *addr)
{
	uint64_t e = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY);

	if (fd < 0)
		return 0;
	if (pread(fd, &e, sizeof(e), (uintptr_t)addr / page_size * 8) != 8)
		e = 0;
	close(fd);
	return e;
}

/*
 * Lazy entries among pages [@p, @p + @pages pages) of this process: its
 * own count, which no other process moves (pagemap shows an entry as
 * swapped and not present; the guest has no swap), or -1. One read: each
 * read of pagemap allocates a buffer, which a debug kernel's KASAN keeps
 * in quarantine for a while after it is freed (MemFree is measured).
 */
static inline long lazy_pages(const void *p, unsigned long pages)
{
	size_t len = pages * sizeof(uint64_t);
	uint64_t *e = malloc(len);
	long i, n = -1;
	int fd;

	if (!e)
		return -1;
	fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd >= 0 && pread(fd, e, len, (uintptr_t)p / page_size * 8) == (ssize_t)len)
		for (n = 0, i = 0; i < (long)pages; i++)
			n += (e[i] & PM_SWAP) && !(e[i] & PM_PRESENT);
	if (fd >= 0)
		close(fd);
	free(e);
	return n;
}

/*
 * The index in the module's page store of the lazy entry at @addr (its
 * swap offset, shown to root), or -1 if there is none.
 */
static inline long long lazy_index(const void *addr)
{
	uint64_t e = pagemap_entry(addr);

	if (!(e & PM_SWAP) || (e & PM_PRESENT))
		return -1;
	return (long long)((e & PM_PFN_MASK) >> PM_SWAP_TYPE_BITS);
}

static inline int set_policy(int fd, __u32 policy, __u32 deadline_ms)
{
	struct lazyresume_policy p = { policy, deadline_ms };

	return ioctl(fd, LAZYRESUME_IOC_SET_POLICY, &p);
}

/* Sets the background lane of the fetch engine (LAZYRESUME_BACKGROUND_*). */
static inline int set_background(int fd, __u32 mode, __u32 rate_mib)
{
	struct lazyresume_background b = { mode, rate_mib };

	return ioctl(fd, LAZYRESUME_IOC_SET_BACKGROUND, &b);
}

/*
 * Lets the store forget pages no entry refers to any more (an eviction
 * does that first; nothing is mapped at address 0, so it evicts nothing).
 */
static inline int drop_unused(int fd)
{
	return evict(fd, NULL, 1, NULL);
}

/*
 * Waits up to @ms for @pid; returns its wait status, or -1 if it is still
 * running then.
 */
static inline int wait_for(pid_t pid, int ms)
{
	int status, i;

	for (i = 0; i < ms / 10; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
		usleep(10000);
	}
	return -1;
}

/* Forks a child that reads the first byte of @p and exits 0. */
static inline pid_t fork_reader(const unsigned char *p)
{
	volatile unsigned char c;
	pid_t pid = fork();

	if (pid == 0) {
		c = p[0];
		(void)c;
		_exit(0);
	}
	return pid;
}

/*
 * The wait status of a child that read the first byte of @p, or -1 if it
 * had not ended after @ms (it is killed and reaped then).
 */
static inline int read_in_child(const unsigned char *p, int ms)
{
	pid_t pid = fork_reader(p);
	int status;

	if (pid < 0)
		return -1;
	status = wait_for(pid, ms);
	if (status == -1) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	return status;
}

/* The hpa@ADDR:PORT server of lrtftp= on the kernel command line. */
static inline int hpa_server(__u8 addr[4], __u16 *port)
{
	char cmdline[4096], *s;
	unsigned int a, b, c, d, p;
	FILE *f = fopen("/proc/cmdline", "r");
	size_t n;

	if (!f)
		return -1;
	n = fread(cmdline, 1, sizeof(cmdline) - 1, f);
	fclose(f);
	cmdline[n] = 0;
	s = strstr(cmdline, "hpa@");
	if (!s || sscanf(s, "hpa@%u.%u.%u.%u:%u", &a, &b, &c, &d, &p) != 5)
		return -1;
	addr[0] = a;
	addr[1] = b;
	addr[2] = c;
	addr[3] = d;
	*port = p;
	return 0;
}

#endif /* LAZY_COMMON_H */
