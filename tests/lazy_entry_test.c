// SPDX-License-Identifier: GPL-2.0
/*
 * On-demand pages: private anonymous pages evicted into lazy entries with
 * LAZYRESUME_IOC_EVICT (memory backend) come back with the same content on
 * every way a page can be reached, and every mm path that meets an entry
 * keeps the counters right. See Documentation/lazy-entry.rst.
 *
 * Needs the test module lazyresume_test.ko (loaded with modprobe if it is
 * not) and debugfs. Run as root.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif

#include "kselftest_harness.h"
#include "lazy_common.h"

#define NR_THREADS 8

/* A "kB" line of /proc/meminfo, or -1. */
static long long meminfo_kb(const char *name)
{
	char key[64];
	long long val, found = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fscanf(f, "%63s %lld kB\n", key, &val) == 2)
		if (!strncmp(key, name, strlen(name)) && key[strlen(name)] == ':')
			found = val;
	fclose(f);
	return found;
}

#define PCP_FRACTION "/proc/sys/vm/percpu_pagelist_high_fraction"

/* Saves the value of sysctl file @path in @old (if not NULL), writes @val. */
static int sysctl_rw(const char *path, char old[32], const char *val)
{
	FILE *f = fopen(path, "r+");
	int rc = -1;

	if (!f)
		return -1;
	if (!old || fgets(old, 32, f)) {
		rewind(f);
		rc = fputs(val, f) < 0 || fflush(f) ? -1 : 0;
	}
	fclose(f);
	return rc;
}

/* Pages of [@p, @p + @pages pages) resident according to mincore(). */
static unsigned long resident(void *p, unsigned long pages)
{
	unsigned char vec[4096];
	unsigned long i, n = 0;

	if (pages > sizeof(vec) || mincore(p, pages * page_size, vec))
		return (unsigned long)-1;
	for (i = 0; i < pages; i++)
		n += vec[i] & 1;
	return n;
}

static int inject(int fd, __u32 offline, __u32 corrupt)
{
	struct lazyresume_mem_inject m = { offline, corrupt, 0, 0 };

	return ioctl(fd, LAZYRESUME_IOC_MEM_INJECT, &m);
}

/*
 * Lazy entries in all page tables (pages_outstanding) are counted by the
 * kernel for everyone. A test takes its baseline once what earlier tests
 * left has settled (an exited process's entries go when the last
 * reference to its mm does, which is not always its exit), checks its own
 * entries in its own page tables (lazy_pages()), and waits for the
 * global count to come back to its baseline: a fill of a killed child or
 * the teardown of an exited one may still hold a count for a moment, a
 * leaked count never drops. That needs no other process to keep entries
 * made during the test, which nothing in the selftests does.
 */
#define SETTLE_MS 5000

FIXTURE(lazy) {
	int fd;
	long long outstanding;
};

/* Expects the count of lazy entries to come back to @want. */
#define EXPECT_OUTSTANDING(want)					\
	EXPECT_EQ((long long)(want),					\
		  stat_wait_for("pages_outstanding", (want), SETTLE_MS))

FIXTURE_SETUP(lazy)
{
	page_size = sysconf(_SC_PAGESIZE);
	OPEN_DEVICE_OR_SKIP(self->fd);
	self->outstanding = stat_settled("pages_outstanding", SETTLE_MS);
	if (self->outstanding < 0)
		SKIP(return, "%s not readable (debugfs not mounted?)", STATS_PATH);
	ASSERT_EQ(0, inject(self->fd, 0, 0));
	ASSERT_EQ(0, set_policy(self->fd, LAZYRESUME_POLICY_BLOCK, 0));
}

FIXTURE_TEARDOWN(lazy)
{
	inject(self->fd, 0, 0);
	set_policy(self->fd, LAZYRESUME_POLICY_BLOCK, 0);
	close(self->fd);
}

TEST_F(lazy, evict_and_read_back)
{
	const unsigned long pages = 64;
	unsigned char *p = map_filled(pages, 1);
	struct lazyresume_evict e;
	long long served;

	ASSERT_NE(NULL, p);
	ASSERT_EQ(pages, resident(p, pages));
	ASSERT_EQ(0, evict(self->fd, p, pages, &e));
	EXPECT_EQ(pages, e.seen);
	EXPECT_EQ(pages, e.evicted);
	EXPECT_EQ(0, resident(p, pages));
	EXPECT_EQ(pages, lazy_pages(p, pages));
	EXPECT_OUTSTANDING(self->outstanding + pages);

	/* Others' faults add to fault_served: at least ours are there. */
	served = stat_value("fault_served");
	EXPECT_EQ(-1, check(p, pages, 1));
	EXPECT_EQ(pages, resident(p, pages));
	EXPECT_EQ(0, lazy_pages(p, pages));
	EXPECT_LE(served + pages, stat_value("fault_served"));
	EXPECT_OUTSTANDING(self->outstanding);
	munmap(p, pages * page_size);
}

TEST_F(lazy, evict_counts_what_it_skips)
{
	const unsigned long pages = 8;
	unsigned char *p = map_filled(pages, 2);
	unsigned char *zero = mmap(NULL, pages * page_size, PROT_READ,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned char *shared = mmap(NULL, pages * page_size,
				     PROT_READ | PROT_WRITE,
				     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct lazyresume_evict e;
	volatile unsigned char c;
	unsigned long i;

	ASSERT_NE(NULL, p);
	ASSERT_NE(MAP_FAILED, zero);
	ASSERT_NE(MAP_FAILED, shared);
	/* Read faults on untouched memory map the zero page. */
	for (i = 0; i < pages; i++)
		c = zero[i * page_size];
	(void)c;
	memset(shared, 1, pages * page_size);
	/* The first two pages mlocked. */
	ASSERT_EQ(0, mlock(p, 2 * page_size));

	ASSERT_EQ(0, evict(self->fd, p, pages, &e));
	EXPECT_EQ(pages - 2, e.evicted);
	EXPECT_EQ(2, e.skipped_locked);
	ASSERT_EQ(0, evict(self->fd, zero, pages, &e));
	EXPECT_EQ(0, e.evicted);
	EXPECT_EQ(pages, e.skipped_zero);
	/* Shared mappings are not walked at all. */
	ASSERT_EQ(0, evict(self->fd, shared, pages, &e));
	EXPECT_EQ(0, e.seen);
	EXPECT_EQ(pages, resident(shared, pages));

	EXPECT_EQ(-1, check(p, pages, 2));
	munlock(p, 2 * page_size);
	munmap(p, pages * page_size);
	munmap(zero, pages * page_size);
	munmap(shared, pages * page_size);
}

TEST_F(lazy, evict_rejects_bad_ranges)
{
	unsigned char *p = map_filled(1, 3);
	struct lazyresume_evict e = { 0 };

	ASSERT_NE(NULL, p);
	errno = 0;
	EXPECT_EQ(-1, evict(self->fd, p + 1, 1, NULL));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, evict(self->fd, p, 0, NULL));
	EXPECT_EQ(EINVAL, errno);
	e.start = (__u64)-page_size;
	e.length = 2 * page_size;
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->fd, LAZYRESUME_IOC_EVICT, &e));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->fd, LAZYRESUME_IOC_EVICT, NULL));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, check(p, 1, 3));
	munmap(p, page_size);
}

TEST_F(lazy, write_after_evict)
{
	const unsigned long pages = 16;
	unsigned char *p = map_filled(pages, 4);
	unsigned long i;

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, evict(self->fd, p, pages, NULL));
	/* A write fault first: the rest of the page keeps its content. */
	for (i = 0; i < pages; i++)
		p[i * page_size + 5] = pattern(i, 5, 4);
	EXPECT_EQ(0, lazy_pages(p, pages));
	EXPECT_EQ(-1, check(p, pages, 4));
	EXPECT_OUTSTANDING(self->outstanding);
	munmap(p, pages * page_size);
}

TEST_F(lazy, fork_isolation)
{
	const unsigned long pages = 16;
	unsigned char *p = map_filled(pages, 5);
	int go[2], status;
	pid_t pid;
	char c;

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, evict(self->fd, p, pages, NULL));
	ASSERT_EQ(0, pipe(go));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* Wait until the parent has written, then see the original. */
		if (read(go[0], &c, 1) != 1)
			_exit(2);
		if (check(p, pages, 5) != -1)
			_exit(3);
		fill(p, pages, 6);
		_exit(check(p, pages, 6) == -1 ? 0 : 4);
	}
	/* The child inherited one entry per page. */
	EXPECT_EQ(pages, lazy_pages(p, pages));
	EXPECT_OUTSTANDING(self->outstanding + 2 * pages);
	fill(p, pages / 2, 7);
	ASSERT_EQ(1, write(go[1], "x", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	/* Our writes stayed ours, the child's stayed the child's. */
	EXPECT_EQ(-1, check(p, pages / 2, 7));
	EXPECT_EQ(-1, check_pages(p, pages / 2, pages / 2, 5));
	EXPECT_OUTSTANDING(self->outstanding);
	close(go[0]);
	close(go[1]);
	munmap(p, pages * page_size);
}

TEST_F(lazy, mremap_moves_entries)
{
	const unsigned long pages = 16;
	unsigned char *p = map_filled(pages, 8);
	unsigned char *q;

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, evict(self->fd, p, pages, NULL));
	/* Grow it so that it has to move. */
	q = mremap(p, pages * page_size, 4 * pages * page_size,
		   MREMAP_MAYMOVE);
	ASSERT_NE(MAP_FAILED, q);
	EXPECT_EQ(pages, lazy_pages(q, pages));
	EXPECT_OUTSTANDING(self->outstanding + pages);
	EXPECT_EQ(-1, check(q, pages, 8));
	EXPECT_OUTSTANDING(self->outstanding);
	munmap(q, 4 * pages * page_size);
}

TEST_F(lazy, mprotect_read_only)
{
	const unsigned long pages = 4;
	unsigned char *p = map_filled(pages, 9);
	int status;
	pid_t pid;

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, evict(self->fd, p, pages, NULL));
	ASSERT_EQ(0, mprotect(p, pages * page_size, PROT_READ));
	EXPECT_EQ(-1, check(p, pages, 9));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		p[0] = 0;
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status));
	EXPECT_EQ(SIGSEGV, WTERMSIG(status));
	/* Writable again: a write after evicting a read-only page works. */
	ASSERT_EQ(0, evict(self->fd, p, pages, NULL));
	ASSERT_EQ(0, mprotect(p, pages * page_size, PROT_READ | PROT_WRITE));
	p[0] = pattern(0, 0, 9);
	EXPECT_EQ(-1, check(p, pages, 9));
	munmap(p, pages * page_size);
}

TEST_F_TIMEOUT(lazy, munmap_and_exit_give_everything_back, 300)
{
	/* 32 MiB: big enough to see in MemFree. */
	const unsigned long pages = (32 << 20) / page_size;
	long long free_before, free_after, slack_kb = 8 << 10, memory;
	char old_fraction[32];
	unsigned char *p;
	int status, i;
	pid_t pid;

	/* Frees what earlier tests left in the backend. */
	ASSERT_EQ(0, drop_unused(self->fd));
	/*
	 * Freed pages stay in per-CPU lists, which grow with bursts of frees
	 * by megabytes: keep them small while measuring, and fill them first.
	 */
	ASSERT_EQ(0, sysctl_rw(PCP_FRACTION, old_fraction, "100000"));
	p = map_filled(pages, 10);
	ASSERT_NE(NULL, p);
	munmap(p, pages * page_size);
	free_before = meminfo_kb("MemFree");

	p = map_filled(pages, 10);
	ASSERT_NE(NULL, p);
	memory = stat_value("memory_backend_pages");
	ASSERT_EQ(0, evict(self->fd, p, pages, NULL));
	EXPECT_OUTSTANDING(self->outstanding + pages);
	/* The store holds our pages (until no entry is left anywhere). */
	EXPECT_LE(memory + pages, stat_value("memory_backend_pages"));
	munmap(p, pages * page_size);
	EXPECT_OUTSTANDING(self->outstanding);

	/* The same from a process that exits with its pages evicted. */
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		p = map_filled(pages, 11);
		_exit(!p || evict(self->fd, p, pages, NULL) ||
		      lazy_pages(p, pages) != pages ? 1 : 0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	EXPECT_OUTSTANDING(self->outstanding);

	/*
	 * The store is freed as a whole, once no lazy entry is left in any
	 * page table; other processes' entries keep it (and MemFree) as is.
	 */
	if (stat_wait_for("pages_outstanding", 0, SETTLE_MS) != 0) {
		TH_LOG("entries of other processes: the store stays, not checked");
	} else {
		ASSERT_EQ(0, drop_unused(self->fd));
		EXPECT_EQ(0, stat_value("memory_backend_pages"));
		for (i = 0; i < 30; i++) {
			free_after = meminfo_kb("MemFree");
			if (free_after >= free_before - slack_kb)
				break;
			usleep(100000);
		}
		EXPECT_LE(free_before - slack_kb, free_after) {
			TH_LOG("MemFree %lld kB before, %lld kB after",
			       free_before, free_after);
		}
	}
	sysctl_rw(PCP_FRACTION, NULL, old_fraction);
}

TEST_F(lazy, madv_dontneed_reads_zeroes)
{
	const unsigned long pages = 8;
	unsigned char *p = map_filled(pages, 12);
	unsigned long i;

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, evict(self->fd, p, pages, NULL));
	ASSERT_EQ(0, madvise(p, pages * page_size, MADV_DONTNEED));
	EXPECT_EQ(0, lazy_pages(p, pages));
	EXPECT_OUTSTANDING(self->outstanding);
	for (i = 0; i < pages * page_size; i++)
		if (p[i])
			break;
	EXPECT_EQ(pages * page_size, i);
	munmap(p, pages * page_size);
}

TEST_F(lazy, madv_free_discards_entries)
{
	const unsigned long pages = 8;
	unsigned char *p = map_filled(pages, 13);

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, evict(self->fd, p, pages, NULL));
	ASSERT_EQ(0, madvise(p, pages * page_size, MADV_FREE));
	EXPECT_EQ(0, lazy_pages(p, pages));
	EXPECT_OUTSTANDING(self->outstanding);
	munmap(p, pages * page_size);
}

TEST_F(lazy, proc_mem_and_process_vm_readv)
{
	const unsigned long pages = 8;
	unsigned char *p = map_filled(pages, 14);
	unsigned char *buf = malloc(pages * page_size);
	struct iovec local, remote;
	int go[2], status, mem;
	char path[64], c;
	pid_t pid;

	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, buf);
	/* Our own memory through /proc/self/mem. */
	ASSERT_EQ(0, evict(self->fd, p, pages, NULL));
	mem = open("/proc/self/mem", O_RDONLY);
	ASSERT_LE(0, mem);
	ASSERT_EQ(pages * page_size,
		  pread(mem, buf, pages * page_size, (uintptr_t)p));
	close(mem);
	EXPECT_EQ(-1, check(buf, pages, 14));

	/* A child's evicted memory through process_vm_readv and its mem. */
	ASSERT_EQ(0, pipe(go));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		fill(p, pages, 15);
		if (evict(self->fd, p, pages, NULL))
			_exit(1);
		if (write(go[1], "x", 1) != 1)
			_exit(2);
		pause();
		_exit(0);
	}
	ASSERT_EQ(1, read(go[0], &c, 1));
	memset(buf, 0, pages * page_size);
	local.iov_base = buf;
	local.iov_len = pages * page_size / 2;
	remote.iov_base = p;
	remote.iov_len = pages * page_size / 2;
	EXPECT_EQ(pages * page_size / 2,
		  process_vm_readv(pid, &local, 1, &remote, 1, 0));
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	mem = open(path, O_RDONLY);
	EXPECT_LE(0, mem);
	EXPECT_EQ(pages * page_size / 2,
		  pread(mem, buf + pages * page_size / 2,
			pages * page_size / 2,
			(uintptr_t)p + pages * page_size / 2));
	close(mem);
	EXPECT_EQ(-1, check(buf, pages, 15));
	kill(pid, SIGKILL);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_OUTSTANDING(self->outstanding);
	close(go[0]);
	close(go[1]);
	free(buf);
	munmap(p, pages * page_size);
}

struct racer {
	pthread_barrier_t *start;
	volatile unsigned char *page;
	unsigned char seen[64];
};

static void *race_read(void *arg)
{
	struct racer *r = arg;
	unsigned long i;

	pthread_barrier_wait(r->start);
	for (i = 0; i < sizeof(r->seen); i++)
		r->seen[i] = r->page[i * 61];
	return NULL;
}

TEST_F(lazy, threads_fault_one_page)
{
	struct racer racers[NR_THREADS];
	pthread_t threads[NR_THREADS];
	pthread_barrier_t start;
	long long served, fills;
	unsigned char *p;
	int i, round;
	unsigned long j;

	ASSERT_EQ(0, pthread_barrier_init(&start, NULL, NR_THREADS));
	for (round = 0; round < 20; round++) {
		p = map_filled(1, 16 + round);
		ASSERT_NE(NULL, p);
		ASSERT_EQ(0, evict(self->fd, p, 1, NULL));
		served = stat_value("fault_served");
		fills = stat_value("fault_fills");
		for (i = 0; i < NR_THREADS; i++) {
			racers[i].start = &start;
			racers[i].page = p;
			ASSERT_EQ(0, pthread_create(&threads[i], NULL,
						    race_read, &racers[i]));
		}
		for (i = 0; i < NR_THREADS; i++)
			ASSERT_EQ(0, pthread_join(threads[i], NULL));
		for (i = 0; i < NR_THREADS; i++)
			for (j = 0; j < sizeof(racers[i].seen); j++)
				ASSERT_EQ(pattern(0, j * 61, 16 + round),
					  racers[i].seen[j]);
		/*
		 * One page mapped; every fill that ran served one (the fills
		 * of this window are our threads': no other process has
		 * lazy entries to fault on).
		 */
		EXPECT_EQ(1, resident(p, 1));
		EXPECT_EQ(0, lazy_pages(p, 1));
		EXPECT_LE(served + 1, stat_value("fault_served"));
		EXPECT_EQ(stat_value("fault_fills") - fills,
			  stat_value("fault_served") - served);
		EXPECT_OUTSTANDING(self->outstanding);
		munmap(p, page_size);
	}
	pthread_barrier_destroy(&start);
}

TEST_F(lazy, corrupted_page_is_fetched_again)
{
	const unsigned long pages = 2;
	unsigned char *p = map_filled(pages, 40);
	long long mismatches;

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, evict(self->fd, p, pages, NULL));
	mismatches = stat_value("fault_hash_mismatches");
	ASSERT_EQ(0, inject(self->fd, 0, 1));
	EXPECT_EQ(-1, check(p, pages, 40));
	/* Ours at least (others' corrupted fetches would add). */
	EXPECT_LE(mismatches + 1, stat_value("fault_hash_mismatches"));
	munmap(p, pages * page_size);
}

TEST_F(lazy, always_corrupted_page_is_sigbus)
{
	unsigned char *p = map_filled(1, 41);
	long long failed;
	int status;

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, evict(self->fd, p, 1, NULL));
	failed = stat_value("fault_failed_integrity");
	ASSERT_EQ(0, inject(self->fd, 0, 1000));
	status = read_in_child(p, 20000);
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS);
	EXPECT_LE(failed + 1, stat_value("fault_failed_integrity"));
	EXPECT_EQ(1, lazy_pages(p, 1));
	/* Never mapped: the entry is still there, and fine once the
	 * backend is.
	 */
	ASSERT_EQ(0, inject(self->fd, 0, 0));
	EXPECT_EQ(-1, check(p, 1, 41));
	munmap(p, page_size);
}

TEST_F(lazy, policy_sigbus_after_deadline)
{
	unsigned char *p = map_filled(1, 42);
	struct lazyresume_policy got;
	long long failed;
	int status;

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, evict(self->fd, p, 1, NULL));
	ASSERT_EQ(0, set_policy(self->fd, LAZYRESUME_POLICY_SIGBUS, 300));
	ASSERT_EQ(0, ioctl(self->fd, LAZYRESUME_IOC_GET_POLICY, &got));
	EXPECT_EQ(LAZYRESUME_POLICY_SIGBUS, got.policy);
	EXPECT_EQ(300, got.deadline_ms);
	failed = stat_value("fault_failed_deadline");
	ASSERT_EQ(0, inject(self->fd, 1, 0));
	status = read_in_child(p, 20000);
	EXPECT_NE(-1, status);
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS);
	EXPECT_LE(failed + 1, stat_value("fault_failed_deadline"));
	ASSERT_EQ(0, inject(self->fd, 0, 0));
	EXPECT_EQ(-1, check(p, 1, 42));
	munmap(p, page_size);
}

TEST_F(lazy, policy_block_waits_for_the_backend)
{
	unsigned char *p = map_filled(4, 43);
	long long retries;
	int status;
	pid_t pid;

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, evict(self->fd, p, 4, NULL));
	retries = stat_value("fault_retries");
	ASSERT_EQ(0, inject(self->fd, 1, 0));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(check(p, 4, 43) == -1 ? 0 : 1);
	/* Still waiting after a while, retrying. */
	EXPECT_EQ(-1, wait_for(pid, 1000));
	EXPECT_LT(retries, stat_value("fault_retries"));
	ASSERT_EQ(0, inject(self->fd, 0, 0));
	status = wait_for(pid, 20000);
	EXPECT_NE(-1, status);
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	if (status == -1) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	munmap(p, 4 * page_size);
}

TEST_F(lazy, policy_block_is_killable)
{
	unsigned char *p = map_filled(1, 44);
	int status;
	pid_t pid;

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, evict(self->fd, p, 1, NULL));
	ASSERT_EQ(0, inject(self->fd, 1, 0));
	pid = fork_reader(p);
	ASSERT_LE(0, pid);
	EXPECT_EQ(-1, wait_for(pid, 500));
	kill(pid, SIGKILL);
	status = wait_for(pid, 20000);
	EXPECT_NE(-1, status);
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	ASSERT_EQ(0, inject(self->fd, 0, 0));
	EXPECT_EQ(-1, check(p, 1, 44));
	munmap(p, page_size);
}

TEST_F(lazy, unchecked_corrupted_page_is_mapped)
{
	struct lazyresume_mem_inject m = { 0, 1, LAZYRESUME_MEM_NO_VERIFY, 0 };
	unsigned char *p = map_filled(1, 46);

	/* The check is what catches corruption: without it, it goes through. */
	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, evict(self->fd, p, 1, NULL));
	ASSERT_EQ(0, ioctl(self->fd, LAZYRESUME_IOC_MEM_INJECT, &m));
	EXPECT_EQ(0, check(p, 1, 46));
	munmap(p, page_size);
}

TEST_F(lazy, inject_rejects_unknown)
{
	struct lazyresume_mem_inject m = { 0, 0, 1 << 7, 0 };

	errno = 0;
	EXPECT_EQ(-1, ioctl(self->fd, LAZYRESUME_IOC_MEM_INJECT, &m));
	EXPECT_EQ(EINVAL, errno);
	m.flags = 0;
	m.reserved = 1;
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->fd, LAZYRESUME_IOC_MEM_INJECT, &m));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(lazy, pagemap_and_smaps_report_entries_as_swapped)
{
	const unsigned long pages = 4;
	unsigned char *p = map_filled(pages, 50);
	uint64_t e;

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, evict(self->fd, p, pages, NULL));
	/* Content that is not in memory: swapped, not present. */
	e = pagemap_entry(p);
	EXPECT_TRUE(e & PM_SWAP);
	EXPECT_FALSE(e & PM_PRESENT);
	EXPECT_EQ(-1, check(p, pages, 50));
	e = pagemap_entry(p);
	EXPECT_TRUE(e & PM_PRESENT);
	EXPECT_FALSE(e & PM_SWAP);
	munmap(p, pages * page_size);
}

TEST_F(lazy, prot_none_faults_without_a_fill)
{
	unsigned char *p = map_filled(1, 51);
	long long fills;
	int status, try;

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, evict(self->fd, p, 1, NULL));
	ASSERT_EQ(0, mprotect(p, page_size, PROT_NONE));
	/*
	 * No fill: others' fills would count too, so the count must stay
	 * still in one of a few tries; a fill on each access moves it in
	 * every try.
	 */
	for (try = 0; try < 5; try++) {
		fills = stat_value("fault_fills");
		status = read_in_child(p, 20000);
		EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
		fills = stat_value("fault_fills") - fills;
		if (!fills)
			break;
	}
	EXPECT_EQ(0, fills);
	EXPECT_EQ(1, lazy_pages(p, 1));
	ASSERT_EQ(0, mprotect(p, page_size, PROT_READ));
	EXPECT_EQ(-1, check(p, 1, 51));
	munmap(p, page_size);
}

TEST_F(lazy, pages_shared_after_fork_are_skipped)
{
	const unsigned long pages = 4;
	unsigned char *p = map_filled(pages, 52);
	struct lazyresume_evict e;
	int go[2], status;
	pid_t pid;
	char c;

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, pipe(go));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* Keep the pages shared until the parent is done. */
		_exit(read(go[0], &c, 1) == 1 ? 0 : 1);
	}
	ASSERT_EQ(0, evict(self->fd, p, pages, &e));
	EXPECT_EQ(0, e.evicted);
	EXPECT_EQ(pages, e.skipped_shared);
	ASSERT_EQ(1, write(go[1], "x", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	close(go[0]);
	close(go[1]);
	munmap(p, pages * page_size);
}

/* A 2 MiB-aligned private anonymous range of @size bytes, or NULL. */
static unsigned char *map_aligned(size_t size)
{
	size_t huge = 2UL << 20;
	unsigned char *p = mmap(NULL, size + huge, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned char *a;

	if (p == MAP_FAILED)
		return NULL;
	a = (unsigned char *)(((uintptr_t)p + huge - 1) & ~(huge - 1));
	if (a > p)
		munmap(p, a - p);
	munmap(a + size, p + huge - a);
	return a;
}

static int thp_available(void)
{
	return access("/sys/kernel/mm/transparent_hugepage/enabled", R_OK) == 0;
}

TEST_F(lazy, huge_pages_are_skipped)
{
	size_t huge = 2UL << 20;
	unsigned char *p = map_aligned(huge);
	struct lazyresume_evict e;
	uint64_t flags;

	ASSERT_NE(NULL, p);
	if (!thp_available())
		SKIP(return, "no transparent huge pages");
	ASSERT_EQ(0, madvise(p, huge, MADV_HUGEPAGE));
	memset(p, 7, huge);
	/* Bit 22 of kpageflags would tell THP; the evict counts tell too. */
	ASSERT_EQ(0, evict(self->fd, p, huge / page_size, &e));
	flags = pagemap_entry(p);
	if (e.skipped_large == 0)
		SKIP(return, "no huge page was allocated (%llu evicted)",
		     (unsigned long long)e.evicted);
	EXPECT_EQ(0, e.evicted);
	EXPECT_TRUE(flags & PM_PRESENT);
	munmap(p, huge);
}

TEST_F(lazy, collapse_refuses_ranges_with_entries)
{
	size_t huge = 2UL << 20;
	unsigned char *p = map_aligned(huge);
	unsigned long pages = huge / page_size;
	long long fills;
	int try;

	ASSERT_NE(NULL, p);
	if (!thp_available())
		SKIP(return, "no transparent huge pages");
	fill(p, pages, 53);
	ASSERT_EQ(0, evict(self->fd, p, 8, NULL));
	/* As in prot_none_faults_without_a_fill: no fill in one of a few tries. */
	for (try = 0; try < 5; try++) {
		fills = stat_value("fault_fills");
		errno = 0;
		EXPECT_EQ(-1, madvise(p, huge, MADV_COLLAPSE));
		EXPECT_EQ(EINVAL, errno);
		fills = stat_value("fault_fills") - fills;
		if (!fills)
			break;
	}
	/* khugepaged did not fill the entries either. */
	EXPECT_EQ(0, fills);
	EXPECT_EQ(0, resident(p, 8));
	EXPECT_EQ(8, lazy_pages(p, 8));
	EXPECT_EQ(-1, check(p, pages, 53));
	munmap(p, huge);
}

TEST_F(lazy, policy_rejects_unknown)
{
	errno = 0;
	EXPECT_EQ(-1, set_policy(self->fd, 7, 0));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, set_policy(self->fd, LAZYRESUME_POLICY_BLOCK, 5));
	EXPECT_EQ(EINVAL, errno);
}

/* LAZYRESUME_IOC_EVICT_TASK on this process with @flags. */
static int evict_self(int fd, void *p, unsigned long pages, __u32 flags,
		      struct lazyresume_evict *out)
{
	struct lazyresume_evict_task t = {
		.flags = flags,
		.range = {
			.start = (uintptr_t)p,
			.length = pages * page_size,
		},
	};
	int rc = ioctl(fd, LAZYRESUME_IOC_EVICT_TASK, &t);

	if (out)
		*out = t.range;
	return rc;
}

/* The page frame mapped at @addr, or 0 (not present, or not root). */
static uint64_t pfn_of(const void *addr)
{
	uint64_t e = pagemap_entry(addr);

	return (e & PM_PRESENT) ? (e & PM_PFN_MASK) : 0;
}

/* The @field line ("VmLazy:") of /proc/self/@file, in kB, or -1. */
static long long proc_kb(const char *file, const char *field)
{
	char path[64], line[256];
	long long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/%s", file);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, strlen(field))) {
			kb = atoll(line + strlen(field));
			break;
		}
	fclose(f);
	return kb;
}

TEST_F(lazy, status_and_smaps_count_entries)
{
	const unsigned long pages = 16;
	const long long kb = page_size / 1024;
	unsigned char *p = map_filled(pages, 60);
	long long status, rollup;

	ASSERT_NE(NULL, p);
	status = proc_kb("status", "VmLazy:");
	rollup = proc_kb("smaps_rollup", "Lazy:");
	ASSERT_LE(0, status);
	ASSERT_LE(0, rollup);
	ASSERT_EQ(0, evict(self->fd, p, pages, NULL));
	EXPECT_EQ(status + pages * kb, proc_kb("status", "VmLazy:"));
	EXPECT_EQ(rollup + pages * kb, proc_kb("smaps_rollup", "Lazy:"));
	/* Filled: counted as resident again. */
	EXPECT_EQ(-1, check(p, pages / 2, 60));
	EXPECT_EQ(status + pages / 2 * kb, proc_kb("status", "VmLazy:"));
	EXPECT_EQ(rollup + pages / 2 * kb, proc_kb("smaps_rollup", "Lazy:"));
	munmap(p, pages * page_size);
	EXPECT_EQ(status, proc_kb("status", "VmLazy:"));
}

/*
 * A child reads, then writes, the pages it shares with this process;
 * reports the frame of its first page after each step on @out.
 */
static void read_then_write(int in, int out, unsigned char *p,
			    unsigned long pages, int seed)
{
	uint64_t pfn;
	char c;

	if (read(in, &c, 1) != 1 || check(p, pages, seed) != -1)
		_exit(2);
	pfn = pfn_of(p);
	if (write(out, &pfn, sizeof(pfn)) != sizeof(pfn))
		_exit(3);
	if (read(in, &c, 1) != 1)
		_exit(4);
	p[0] ^= 0xff;
	pfn = pfn_of(p);
	if (write(out, &pfn, sizeof(pfn)) != sizeof(pfn))
		_exit(5);
	_exit(0);
}

/*
 * Pages of @p that a child shares with this process are lazy entries in
 * both (made by @evict_shared in both at once, or by fork): the child's
 * read fills one page, mapped here too, and its write splits it.
 */
static void shared_fill(struct __test_metadata *_metadata, int fd,
			unsigned char *p, unsigned long pages, int seed,
			bool evict_shared)
{
	struct lazyresume_evict e;
	int go[2], back[2], status;
	uint64_t child_pfn;
	pid_t pid;

	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(back));
	if (!evict_shared)
		ASSERT_EQ(0, evict(fd, p, pages, NULL));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		read_then_write(go[0], back[1], p, pages, seed);
	if (evict_shared) {
		ASSERT_EQ(0, evict_self(fd, p, pages, LAZYRESUME_EVICT_SHARED,
					&e));
		/* One entry in each process for each page. */
		EXPECT_EQ(2 * pages, e.evicted);
	}
	EXPECT_EQ(pages, lazy_pages(p, pages));

	ASSERT_EQ(1, write(go[1], "r", 1));
	ASSERT_EQ(sizeof(child_pfn), read(back[0], &child_pfn, sizeof(child_pfn)));
	/* The child's reads mapped the pages here too. */
	EXPECT_EQ(0, lazy_pages(p, pages));
	if (child_pfn)
		EXPECT_EQ(child_pfn, pfn_of(p));

	ASSERT_EQ(1, write(go[1], "w", 1));
	ASSERT_EQ(sizeof(child_pfn), read(back[0], &child_pfn, sizeof(child_pfn)));
	/* The child's write made it a copy of its own. */
	if (child_pfn)
		EXPECT_NE(child_pfn, pfn_of(p));
	EXPECT_EQ(-1, check(p, pages, seed));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	close(go[0]);
	close(go[1]);
	close(back[0]);
	close(back[1]);
}

TEST_F(lazy, pages_shared_copy_on_write_stay_shared)
{
	const unsigned long pages = 4;
	unsigned char *p = map_filled(pages, 61);

	ASSERT_NE(NULL, p);
	if (!pfn_of(p))
		SKIP(goto out, "page frames not shown (not root)");
	shared_fill(_metadata, self->fd, p, pages, 61, true);
	EXPECT_OUTSTANDING(self->outstanding);
out:
	munmap(p, pages * page_size);
}

TEST_F(lazy, entries_copied_by_fork_fill_one_page)
{
	const unsigned long pages = 4;
	unsigned char *p = map_filled(pages, 62);

	ASSERT_NE(NULL, p);
	if (!pfn_of(p))
		SKIP(goto out, "page frames not shown (not root)");
	shared_fill(_metadata, self->fd, p, pages, 62, false);
	EXPECT_OUTSTANDING(self->outstanding);
out:
	munmap(p, pages * page_size);
}

TEST_F(lazy, unload_refused_while_entries_exist)
{
	unsigned char *p = map_filled(2, 45);
	int rc;

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, evict(self->fd, p, 2, NULL));
	close(self->fd);
	self->fd = -1;
	/* Only the entries hold the module now. */
	rc = system("rmmod " TEST_MODULE " 2>/dev/null");
	EXPECT_NE(0, rc);
	EXPECT_TRUE(module_loaded(TEST_MODULE));
	EXPECT_EQ(-1, check(p, 2, 45));
	munmap(p, 2 * page_size);
	/* Unloadable again once no entry is left anywhere. */
	if (stat_wait_for("pages_outstanding", 0, SETTLE_MS) == 0) {
		EXPECT_EQ(0, system("rmmod " TEST_MODULE));
		EXPECT_EQ(0, system("modprobe " TEST_MODULE));
	}
	self->fd = open(DEV_PATH, O_RDONLY);
}

TEST_HARNESS_MAIN
