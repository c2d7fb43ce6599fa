// SPDX-License-Identifier: GPL-2.0
/*
 * The tftp backend: pages evicted into lazy entries, moved to tftpd-hpa
 * with LAZYRESUME_IOC_TFTP_BACKEND (one file per page, or files of several
 * pages put there with busybox tftp), come back from the server on first
 * access, checked against their SHA-256.
 *
 * Needs the test module lazyresume_test.ko, debugfs and a tftpd-hpa
 * accepting uploads under upload/, named on the kernel command line as
 * lrtftp=...,hpa@ADDR:PORT,... (scripts/run-kselftests.sh does that).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
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
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "lazy_common.h"

#define NR_THREADS 8

/* Evicts all @pages of @p, or fails. */
static int evict_all(int fd, void *p, unsigned long pages)
{
	struct lazyresume_evict e;

	return evict(fd, p, pages, &e) || e.evicted != pages ? -1 : 0;
}

FIXTURE(tftp) {
	int fd;
	struct lazyresume_tftp_backend req;
};

FIXTURE_SETUP(tftp)
{
	page_size = sysconf(_SC_PAGESIZE);
	memset(&self->req, 0, sizeof(self->req));
	if (hpa_server(self->req.server, &self->req.port))
		SKIP(return, "no hpa@ADDR:PORT in lrtftp= on the command line");
	OPEN_DEVICE_OR_SKIP(self->fd);
	if (stat_value("tftp_backend_pages") < 0)
		SKIP(return, "%s not readable (debugfs not mounted?)", STATS_PATH);
	/* Files of this run: the store keeps one prefix while pages use it. */
	snprintf(self->req.prefix, sizeof(self->req.prefix),
		 "upload/lz%d-%ld-", getpid(), (long)time(NULL));
}

FIXTURE_TEARDOWN(tftp)
{
	close(self->fd);
}

TEST_F(tftp, read_back_from_the_server)
{
	const unsigned long pages = 32;
	unsigned char *p = map_filled(pages, 1);
	long long served, fetched, remote, memory;

	ASSERT_NE(NULL, p);
	/* An eviction may empty the store first: the baselines are after it. */
	ASSERT_EQ(0, evict_all(self->fd, p, pages));
	fetched = stat_value("tftp_completed");
	remote = stat_value("tftp_backend_pages");
	memory = stat_value("memory_backend_pages");
	ASSERT_EQ(0, ioctl(self->fd, LAZYRESUME_IOC_TFTP_BACKEND, &self->req));
	/* Every page held in memory moved, ours among them. */
	EXPECT_LE(pages, self->req.pages);
	EXPECT_EQ(remote + self->req.pages, stat_value("tftp_backend_pages"));
	EXPECT_EQ(memory - self->req.pages, stat_value("memory_backend_pages"));
	EXPECT_EQ(pages, lazy_pages(p, pages));
	TH_LOG("%llu pages uploaded in %llu ms", self->req.pages,
	       self->req.elapsed_ns / 1000000);

	served = stat_value("fault_served");
	EXPECT_EQ(-1, check(p, pages, 1));
	EXPECT_EQ(0, lazy_pages(p, pages));
	/* Others' faults and transfers add: at least ours are there. */
	EXPECT_LE(served + pages, stat_value("fault_served"));
	/* The uploads, then one fetch per page. */
	EXPECT_LE(fetched + self->req.pages + pages,
		  stat_value("tftp_completed"));
	munmap(p, pages * page_size);
}

struct racer {
	pthread_barrier_t *start;
	volatile unsigned char *page;
	int bad;
};

static void *race_read(void *arg)
{
	struct racer *r = arg;
	unsigned long j;

	pthread_barrier_wait(r->start);
	for (j = 0; j < page_size; j += 97)
		r->bad += r->page[j] != pattern(0, j, 2);
	return NULL;
}

TEST_F(tftp, fork_and_threads_read_the_same_pages)
{
	struct racer racers[NR_THREADS];
	pthread_t threads[NR_THREADS];
	pthread_barrier_t start;
	unsigned char *p = map_filled(2, 2);
	int i, status;
	pid_t pid;

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, evict_all(self->fd, p, 2));
	ASSERT_EQ(0, ioctl(self->fd, LAZYRESUME_IOC_TFTP_BACKEND, &self->req));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(check(p, 2, 2) == -1 ? 0 : 1);
	ASSERT_EQ(0, pthread_barrier_init(&start, NULL, NR_THREADS));
	for (i = 0; i < NR_THREADS; i++) {
		racers[i].start = &start;
		racers[i].page = p;
		racers[i].bad = 0;
		ASSERT_EQ(0, pthread_create(&threads[i], NULL, race_read,
					    &racers[i]));
	}
	for (i = 0; i < NR_THREADS; i++) {
		ASSERT_EQ(0, pthread_join(threads[i], NULL));
		EXPECT_EQ(0, racers[i].bad);
	}
	pthread_barrier_destroy(&start);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	EXPECT_EQ(-1, check(p, 2, 2));
	munmap(p, 2 * page_size);
}

static void on_signal(int sig)
{
	(void)sig;
}

TEST_F(tftp, signals_do_not_interrupt_a_fetch)
{
	const unsigned long pages = 16;
	struct sigaction sa = { .sa_handler = on_signal };
	pid_t parent = getpid(), pid;
	long long retries = 0;
	unsigned char *p;
	int i, try, status;

	/* A signal every half millisecond while the pages come in. */
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	/*
	 * Not one fetch was cut short: others' fault retries would count
	 * too, so the count must stay still in one of a few tries; fetches
	 * that signals cut short move it in every try.
	 */
	for (try = 0; try < 3; try++) {
		p = map_filled(pages, 3);
		ASSERT_NE(NULL, p);
		ASSERT_EQ(0, evict_all(self->fd, p, pages));
		ASSERT_EQ(0, ioctl(self->fd, LAZYRESUME_IOC_TFTP_BACKEND,
				   &self->req));
		retries = stat_value("fault_retries");
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0) {
			for (i = 0; i < 100000; i++) {
				kill(parent, SIGUSR1);
				usleep(500);
			}
			_exit(0);
		}
		EXPECT_EQ(-1, check(p, pages, 3));
		retries = stat_value("fault_retries") - retries;
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		munmap(p, pages * page_size);
		if (!retries)
			break;
		TH_LOG("try %d: %lld fault retries", try, retries);
	}
	EXPECT_EQ(0, retries);
	signal(SIGUSR1, SIG_DFL);
}

TEST_F(tftp, missing_page_file_is_sigbus)
{
	unsigned char *p = map_filled(1, 4);
	long long missing;
	int status;

	ASSERT_NE(NULL, p);
	/* Nothing else uses the store now: a new prefix is accepted. */
	ASSERT_EQ(0, drop_unused(self->fd));
	if (stat_value("tftp_backend_pages") != 0)
		SKIP(return, "pages of another user are on a TFTP server");
	ASSERT_EQ(0, evict_all(self->fd, p, 1));
	strcat(self->req.prefix, "never-uploaded-");
	self->req.flags = LAZYRESUME_TFTP_BACKEND_NO_UPLOAD;
	ASSERT_EQ(0, ioctl(self->fd, LAZYRESUME_IOC_TFTP_BACKEND, &self->req));
	missing = stat_value("fault_failed_missing");
	status = read_in_child(p, 20000);
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS);
	/* Ours at least (others' missing pages would add). */
	EXPECT_LE(missing + 1, stat_value("fault_failed_missing"));
	EXPECT_EQ(1, lazy_pages(p, 1));
	munmap(p, page_size);
}

/*
 * Moves one evicted page of @p to a server that does not answer (port 9
 * of the hpa server's host), then starts a child that reads it.
 */
static pid_t fault_on_dead_server(int fd, struct lazyresume_tftp_backend *req,
				  unsigned char *p)
{
	if (drop_unused(fd) || evict_all(fd, p, 1))
		return -1;
	req->port = 9;
	req->flags = LAZYRESUME_TFTP_BACKEND_NO_UPLOAD;
	if (ioctl(fd, LAZYRESUME_IOC_TFTP_BACKEND, req))
		return -1;
	return fork_reader(p);
}

TEST_F(tftp, dead_server_policy_block_is_killable)
{
	unsigned char *p = map_filled(1, 6);
	int status;
	pid_t pid;

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, set_policy(self->fd, LAZYRESUME_POLICY_BLOCK, 0));
	pid = fault_on_dead_server(self->fd, &self->req, p);
	ASSERT_LT(0, pid);
	/* Waiting for the server, in a fetch or between two. */
	EXPECT_EQ(-1, wait_for(pid, 3000));
	kill(pid, SIGKILL);
	status = wait_for(pid, 20000);
	EXPECT_NE(-1, status);
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	if (status == -1)
		waitpid(pid, &status, 0);
	munmap(p, page_size);
}

TEST_F(tftp, dead_server_policy_sigbus_after_deadline)
{
	unsigned char *p = map_filled(1, 7);
	long long failed;
	int status;
	pid_t pid;

	ASSERT_NE(NULL, p);
	/* Shorter than one fetch attempt: the attempt is cut to fit. */
	ASSERT_EQ(0, set_policy(self->fd, LAZYRESUME_POLICY_SIGBUS, 500));
	failed = stat_value("fault_failed_deadline");
	pid = fault_on_dead_server(self->fd, &self->req, p);
	ASSERT_LT(0, pid);
	status = wait_for(pid, 20000);
	set_policy(self->fd, LAZYRESUME_POLICY_BLOCK, 0);
	EXPECT_NE(-1, status);
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS);
	EXPECT_LE(failed + 1, stat_value("fault_failed_deadline"));
	if (status == -1) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	munmap(p, page_size);
}

TEST_F(tftp, one_server_at_a_time)
{
	struct lazyresume_tftp_backend other = self->req;
	unsigned char *p = map_filled(2, 5);

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, evict_all(self->fd, p, 1));
	ASSERT_EQ(0, ioctl(self->fd, LAZYRESUME_IOC_TFTP_BACKEND, &self->req));
	ASSERT_EQ(0, evict_all(self->fd, p + page_size, 1));
	strcat(other.prefix, "other-");
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->fd, LAZYRESUME_IOC_TFTP_BACKEND, &other));
	EXPECT_EQ(EBUSY, errno);
	/* The same server and prefix again is fine. */
	EXPECT_EQ(0, ioctl(self->fd, LAZYRESUME_IOC_TFTP_BACKEND, &self->req));
	EXPECT_EQ(1, self->req.pages);
	EXPECT_EQ(-1, check(p, 2, 5));
	munmap(p, 2 * page_size);
}

#define PAGES_PER_FILE 16

/* Puts @len bytes of @data on the server of @req as @name (busybox tftp). */
static int put_file(const struct lazyresume_tftp_backend *req, const char *name,
		    const void *data, size_t len)
{
	char path[] = "/tmp/lazy-chunk-XXXXXX", cmd[512];
	int fd = mkstemp(path), rc = -1;

	if (fd < 0)
		return -1;
	if (write(fd, data, len) == (ssize_t)len) {
		snprintf(cmd, sizeof(cmd),
			 "tftp -b 8192 -p -l %s -r %s %u.%u.%u.%u %u", path,
			 name, req->server[0], req->server[1], req->server[2],
			 req->server[3], req->port);
		rc = system(cmd);
	}
	close(fd);
	unlink(path);
	return rc;
}

/*
 * Evicts the @pages of @p (filled with @seed), puts them on the server in
 * files of PAGES_PER_FILE pages and serves them from there.
 */
static int serve_in_files(int fd, struct lazyresume_tftp_backend *req,
			  unsigned char *p, unsigned long pages, int seed)
{
	struct lazyresume_page_hashes h = { 0 };
	unsigned char *copy = map_filled(pages, seed);
	unsigned long first, n;
	char name[256];
	int rc = -1;

	if (!copy || evict_all(fd, p, pages) ||
	    ioctl(fd, LAZYRESUME_IOC_PAGE_HASHES, &h))
		goto out;
	/* Nothing else is in the store: the pages are indexes 0 to pages - 1. */
	if (h.total != pages)
		goto out;
	for (first = 0; first < pages; first += PAGES_PER_FILE) {
		n = pages - first < PAGES_PER_FILE ? pages - first : PAGES_PER_FILE;
		snprintf(name, sizeof(name), "%s%016lx", req->prefix,
			 first / PAGES_PER_FILE);
		if (put_file(req, name, copy + first * page_size, n * page_size))
			goto out;
	}
	req->flags = LAZYRESUME_TFTP_BACKEND_NO_UPLOAD |
		     (4 << LAZYRESUME_TFTP_BACKEND_CHUNK_SHIFT);
	rc = ioctl(fd, LAZYRESUME_IOC_TFTP_BACKEND, req);
out:
	if (copy)
		munmap(copy, pages * page_size);
	return rc;
}

TEST_F(tftp, a_fault_reads_its_whole_file_ahead)
{
	/* Two whole files and a short last one. */
	const unsigned long pages = 2 * PAGES_PER_FILE + 8, files = 3;
	unsigned char *p = map_filled(pages, 47);
	long long served, fetched, kept, hits, held;

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, serve_in_files(self->fd, &self->req, p, pages, 47));
	EXPECT_EQ(pages, self->req.pages);
	served = stat_value("fault_served");
	fetched = stat_value("tftp_completed");
	kept = stat_value("fault_read_ahead");
	hits = stat_value("fault_read_ahead_hits");
	/* Only pages of our files can be kept: the store is ours alone. */
	held = stat_value("read_ahead_pages_kept");

	EXPECT_EQ(-1, check(p, pages, 47));
	EXPECT_EQ(0, lazy_pages(p, pages));
	/*
	 * One fetch per file; the other pages of a file wait in the store.
	 * Others' faults and transfers add to the cumulative counters: at
	 * least ours are there, and without read-ahead (one fetch per page)
	 * there would be no hits.
	 */
	EXPECT_LE(served + pages, stat_value("fault_served"));
	EXPECT_LE(fetched + files, stat_value("tftp_completed"));
	EXPECT_LE(kept + pages - files, stat_value("fault_read_ahead"));
	EXPECT_LE(hits + pages - files, stat_value("fault_read_ahead_hits"));
	/* Each kept page was given up when it was served. */
	EXPECT_EQ(held, stat_value("read_ahead_pages_kept"));
	munmap(p, pages * page_size);
}

TEST_F(tftp, a_kept_page_that_fails_its_check_is_fetched_again)
{
	const unsigned long pages = PAGES_PER_FILE;
	struct lazyresume_mem_inject corrupt = { 0, 1, 0, 0 };
	struct lazyresume_mem_inject none = { 0, 0, 0, 0 };
	unsigned char *p = map_filled(pages, 48);
	long long mismatches, fetched, hits, held;

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, serve_in_files(self->fd, &self->req, p, pages, 48));
	mismatches = stat_value("fault_hash_mismatches");
	fetched = stat_value("tftp_completed");
	hits = stat_value("fault_read_ahead_hits");
	/* Only pages of our file can be kept: the store is ours alone. */
	held = stat_value("read_ahead_pages_kept");
	EXPECT_EQ(-1, check(p, 1, 48));
	EXPECT_EQ(held + pages - 1, stat_value("read_ahead_pages_kept"));
	/* The next page comes from the store, corrupted on its way. */
	ASSERT_EQ(0, ioctl(self->fd, LAZYRESUME_IOC_MEM_INJECT, &corrupt));
	EXPECT_EQ(-1, check_pages(p, 1, 1, 48));
	ASSERT_EQ(0, ioctl(self->fd, LAZYRESUME_IOC_MEM_INJECT, &none));
	/* Ours at least: others' transfers and mismatches would add. */
	EXPECT_LE(mismatches + 1, stat_value("fault_hash_mismatches"));
	/*
	 * Its file was fetched again; the rest was still kept, and page 0,
	 * served already, was not kept again.
	 */
	EXPECT_LE(fetched + 2, stat_value("tftp_completed"));
	EXPECT_EQ(held + pages - 2, stat_value("read_ahead_pages_kept"));
	EXPECT_EQ(-1, check(p, pages, 48));
	EXPECT_EQ(0, lazy_pages(p, pages));
	/*
	 * Every page after the first came from the store: the corrupted one
	 * on its first try, the rest without fetching their file again.
	 */
	EXPECT_LE(hits + pages - 1, stat_value("fault_read_ahead_hits"));
	EXPECT_EQ(held, stat_value("read_ahead_pages_kept"));
	munmap(p, pages * page_size);
}

TEST_F(tftp, rejects_bad_requests)
{
	struct lazyresume_tftp_backend r = self->req;

	r.flags = 1 << 5;
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->fd, LAZYRESUME_IOC_TFTP_BACKEND, &r));
	EXPECT_EQ(EINVAL, errno);
	r = self->req;
	memset(r.prefix, 'x', sizeof(r.prefix));
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->fd, LAZYRESUME_IOC_TFTP_BACKEND, &r));
	EXPECT_EQ(EINVAL, errno);
	r = self->req;
	memset(r.server, 0, sizeof(r.server));
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->fd, LAZYRESUME_IOC_TFTP_BACKEND, &r));
	EXPECT_EQ(EINVAL, errno);
	r = self->req;
	r.blksize = 7;
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->fd, LAZYRESUME_IOC_TFTP_BACKEND, &r));
	EXPECT_EQ(EINVAL, errno);
	/* 128 pages per file: too many. */
	r = self->req;
	r.flags = LAZYRESUME_TFTP_BACKEND_NO_UPLOAD |
		  ((LAZYRESUME_TFTP_BACKEND_CHUNK_MAX_LOG2 + 1)
		   << LAZYRESUME_TFTP_BACKEND_CHUNK_SHIFT);
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->fd, LAZYRESUME_IOC_TFTP_BACKEND, &r));
	EXPECT_EQ(EINVAL, errno);
	/* The module uploads one page per file only. */
	r = self->req;
	r.flags = 1 << LAZYRESUME_TFTP_BACKEND_CHUNK_SHIFT;
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->fd, LAZYRESUME_IOC_TFTP_BACKEND, &r));
	EXPECT_EQ(EINVAL, errno);
}

TEST_HARNESS_MAIN
