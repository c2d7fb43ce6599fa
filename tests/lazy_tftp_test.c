// SPDX-License-Identifier: GPL-2.0
/*
 * The tftp backend: pages evicted into lazy entries, moved to tftpd-hpa
 * with LAZYRESUME_IOC_TFTP_BACKEND (one file per page, or files of several
 * pages put there with busybox tftp), come back from the server on first
 * access, checked against their SHA-256, through the fetch engine: a fault
 * waits for its page without its mmap_lock, killable and freezable; with
 * the background lane on, the engine fetches every page and installs it
 * without any fault.
 *
 * The background lane is off in every test but those about it, so that
 * what a test counts is what its faults did.
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
#include <sys/resource.h>
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
	ASSERT_EQ(0, set_background(self->fd, LAZYRESUME_BACKGROUND_OFF, 0));
	/* Files of this run: the store keeps one prefix while pages use it. */
	snprintf(self->req.prefix, sizeof(self->req.prefix),
		 "upload/lz%d-%ld-", getpid(), (long)time(NULL));
}

FIXTURE_TEARDOWN(tftp)
{
	set_background(self->fd, LAZYRESUME_BACKGROUND_FULL, 0);
	close(self->fd);
}

TEST_F(tftp, read_back_from_the_server)
{
	const unsigned long pages = 32;
	unsigned char *p = map_filled(pages, 1);
	long long served, fetched, remote, memory;
	struct lazyresume_mirrors m = { .op = LAZYRESUME_MIRRORS_GET };
	unsigned long long answered;

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
	/* One server, no mirror: the one of the request. */
	ASSERT_EQ(0, ioctl(self->fd, LAZYRESUME_IOC_MIRRORS, &m));
	EXPECT_EQ(1u, m.count);
	EXPECT_EQ(0, memcmp(m.server[0].addr, self->req.server, 4));
	EXPECT_EQ(self->req.port ? self->req.port : 69, m.server[0].port);
	answered = m.transfers[0];

	served = stat_value("fault_served");
	EXPECT_EQ(-1, check(p, pages, 1));
	EXPECT_EQ(0, lazy_pages(p, pages));
	/* Others' faults and transfers add: at least ours are there. */
	EXPECT_LE(served + pages, stat_value("fault_served"));
	/* The uploads, then one fetch per page. */
	EXPECT_LE(fetched + self->req.pages + pages,
		  stat_value("tftp_completed"));
	/* Each fetch counts for the server that answered it. */
	ASSERT_EQ(0, ioctl(self->fd, LAZYRESUME_IOC_MIRRORS, &m));
	EXPECT_LE(answered + pages, m.transfers[0]);
	EXPECT_EQ(0, m.failovers[0]);
	/* One server: no fetcher ever left it, none came back to it. */
	EXPECT_EQ(0, m.server[0].returns);
	EXPECT_EQ(0, stat_value("fetch_server0_returns"));
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

/*
 * NR_THREADS threads read @page (page 0 of a map_filled(..., 2)) at once;
 * returns how many bytes they found wrong, or -1 if a thread could not be
 * started.
 */
static int race_readers(volatile unsigned char *page)
{
	struct racer racers[NR_THREADS];
	pthread_t threads[NR_THREADS];
	pthread_barrier_t start;
	int i, bad = 0;

	if (pthread_barrier_init(&start, NULL, NR_THREADS))
		return -1;
	for (i = 0; i < NR_THREADS; i++) {
		racers[i].start = &start;
		racers[i].page = page;
		racers[i].bad = 0;
		/* The ones started wait at the barrier: give up for good. */
		if (pthread_create(&threads[i], NULL, race_read, &racers[i]))
			return -1;
	}
	for (i = 0; i < NR_THREADS; i++) {
		pthread_join(threads[i], NULL);
		bad += racers[i].bad;
	}
	pthread_barrier_destroy(&start);
	return bad;
}

TEST_F(tftp, fork_and_threads_read_the_same_pages)
{
	unsigned char *p = map_filled(2, 2);
	int status;
	pid_t pid;

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, evict_all(self->fd, p, 2));
	ASSERT_EQ(0, ioctl(self->fd, LAZYRESUME_IOC_TFTP_BACKEND, &self->req));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(check(p, 2, 2) == -1 ? 0 : 1);
	EXPECT_EQ(0, race_readers(p));
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
	long long interrupted, cut;
	unsigned char *p;
	int i, status;

	/*
	 * A signal every half millisecond while the pages come in: the
	 * faults wait killable only, and the transfers run in the engine's
	 * thread, which signals do not reach. Others' transfers could be cut
	 * short (tftp_err_eintr), but nobody else fetches while this runs.
	 */
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	p = map_filled(pages, 3);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, evict_all(self->fd, p, pages));
	ASSERT_EQ(0, ioctl(self->fd, LAZYRESUME_IOC_TFTP_BACKEND, &self->req));
	interrupted = stat_value("fault_interrupted");
	cut = stat_value("tftp_err_eintr");
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
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	EXPECT_EQ(interrupted, stat_value("fault_interrupted"));
	EXPECT_EQ(cut, stat_value("tftp_err_eintr"));
	EXPECT_EQ(0, lazy_pages(p, pages));
	munmap(p, pages * page_size);
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

TEST_F(tftp, a_truncated_page_file_is_sigbus)
{
	unsigned char *p = map_filled(1, 4);
	long long bad;
	int status;

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, drop_unused(self->fd));
	if (stat_value("tftp_backend_pages") != 0)
		SKIP(return, "pages of another user are on a TFTP server");
	ASSERT_EQ(0, evict_all(self->fd, p, 1));
	/*
	 * truncated-0000000000000000 is an empty file on the server
	 * (scripts/tftp-test-files.sh), as a repeated upload request leaves
	 * one: it arrives without the page, every time. It is given up
	 * after three tries, not fetched forever.
	 */
	strcpy(self->req.prefix, "truncated-");
	self->req.flags = LAZYRESUME_TFTP_BACKEND_NO_UPLOAD;
	ASSERT_EQ(0, ioctl(self->fd, LAZYRESUME_IOC_TFTP_BACKEND, &self->req));
	bad = stat_value("fetch_undecodable_files");
	status = read_in_child(p, 20000);
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS);
	EXPECT_LE(bad + 3, stat_value("fetch_undecodable_files"));
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
/*
 * Whether the file @path holds exactly the @len bytes of @data.
 */
static int same_content(const char *path, const void *data, size_t len)
{
	unsigned char buf[4096];
	size_t off = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY), same = 1;

	if (fd < 0)
		return 0;
	while (same && (n = read(fd, buf, sizeof(buf))) > 0) {
		same = off + n <= len && !memcmp(buf, (const char *)data + off, n);
		off += n;
	}
	close(fd);
	return same && off == len;
}

/*
 * Uploads @len bytes of @data as @name with busybox tftp, and fetches it
 * back to check it: busybox sends a request again after 100 ms, and on a
 * loaded host tftpd-hpa then runs two transfers of the file at once, the
 * second truncating what the first wrote. Up to three tries.
 */
static int put_file(const struct lazyresume_tftp_backend *req, const char *name,
		    const void *data, size_t len)
{
	char path[] = "/tmp/lazy-chunk-XXXXXX", back[] = "/tmp/lazy-back-XXXXXX";
	char cmd[600];
	int fd = mkstemp(path), bfd = mkstemp(back), rc = -1, try;

	if (fd < 0 || bfd < 0)
		goto out;
	if (write(fd, data, len) != (ssize_t)len)
		goto out;
	for (try = 0; try < 3 && rc; try++) {
		snprintf(cmd, sizeof(cmd),
			 "tftp -b 8192 -p -l %s -r %s %u.%u.%u.%u %u && "
			 "tftp -b 8192 -g -l %s -r %s %u.%u.%u.%u %u",
			 path, name, req->server[0], req->server[1],
			 req->server[2], req->server[3], req->port, back, name,
			 req->server[0], req->server[1], req->server[2],
			 req->server[3], req->port);
		if (system(cmd) == 0 && same_content(back, data, len))
			rc = 0;
	}
out:
	if (fd >= 0) {
		close(fd);
		unlink(path);
	}
	if (bfd >= 0) {
		close(bfd);
		unlink(back);
	}
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
	kept = stat_value("fetch_urgent_pages");
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
	EXPECT_LE(kept + pages, stat_value("fetch_urgent_pages"));
	EXPECT_LE(hits + pages - files, stat_value("fault_read_ahead_hits"));
	/* Each kept page was given up when it was served. */
	EXPECT_EQ(held, stat_value("read_ahead_pages_kept"));
	munmap(p, pages * page_size);
}

TEST_F(tftp, a_file_that_fails_its_check_is_fetched_again)
{
	const unsigned long pages = PAGES_PER_FILE;
	struct lazyresume_mem_inject corrupt = { 0, 1, 0, 0 };
	struct lazyresume_mem_inject none = { 0, 0, 0, 0 };
	unsigned char *p = map_filled(pages, 48);
	long long mismatches, fetched, hits, held;

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, serve_in_files(self->fd, &self->req, p, pages, 48));
	mismatches = stat_value("fetch_hash_mismatches");
	fetched = stat_value("tftp_completed");
	hits = stat_value("fault_read_ahead_hits");
	/* Only pages of our file can be kept: the store is ours alone. */
	held = stat_value("read_ahead_pages_kept");
	/* The first page of the file arrives corrupted: checked on arrival. */
	ASSERT_EQ(0, ioctl(self->fd, LAZYRESUME_IOC_MEM_INJECT, &corrupt));
	EXPECT_EQ(-1, check(p, 1, 48));
	ASSERT_EQ(0, ioctl(self->fd, LAZYRESUME_IOC_MEM_INJECT, &none));
	/* Ours at least: others' transfers and mismatches would add. */
	EXPECT_LE(mismatches + 1, stat_value("fetch_hash_mismatches"));
	/* The file came twice; the other pages wait in the store. */
	EXPECT_LE(fetched + 2, stat_value("tftp_completed"));
	EXPECT_EQ(held + pages - 1, stat_value("read_ahead_pages_kept"));
	EXPECT_EQ(-1, check(p, pages, 48));
	EXPECT_EQ(0, lazy_pages(p, pages));
	/* Every page after the first came from the store, taken when served. */
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
	/* ... and raw files only. */
	r = self->req;
	r.flags = LAZYRESUME_TFTP_BACKEND_LZ4;
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->fd, LAZYRESUME_IOC_TFTP_BACKEND, &r));
	EXPECT_EQ(EINVAL, errno);
}

/* A thread that reads the first byte of a page and checks it. */
struct toucher {
	volatile unsigned char *p;
	int seed;
	int ok;
};

static void *touch_first_byte(void *arg)
{
	struct toucher *t = arg;

	t->ok = t->p[0] == pattern(0, 0, t->seed);
	return NULL;
}

/*
 * Evicts the page of @p, moves it to the server and makes the server look
 * dead to the engine (its transfers fail as if nothing answered), so that
 * a fault on the page waits. The caller brings the server back.
 */
static int evict_behind_a_dead_server(int fd,
				      struct lazyresume_tftp_backend *req,
				      unsigned char *p)
{
	struct lazyresume_mem_inject offline = { 1, 0, 0, 0 };

	if (set_policy(fd, LAZYRESUME_POLICY_BLOCK, 0) || evict_all(fd, p, 1) ||
	    ioctl(fd, LAZYRESUME_IOC_TFTP_BACKEND, req))
		return -1;
	return ioctl(fd, LAZYRESUME_IOC_MEM_INJECT, &offline);
}

static int server_back(int fd)
{
	struct lazyresume_mem_inject none = { 0, 0, 0, 0 };

	return ioctl(fd, LAZYRESUME_IOC_MEM_INJECT, &none);
}

TEST_F(tftp, a_waiting_fault_blocks_neither_mmap_nor_cmdline)
{
	unsigned char *p = map_filled(1, 49);
	struct toucher t = { p, 49, 0 };
	pthread_t thread;
	long long waited;
	char buf[256];
	void *q;
	int i, fd;

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, evict_behind_a_dead_server(self->fd, &self->req, p));
	waited = stat_value("fault_waited");
	ASSERT_EQ(0, pthread_create(&thread, NULL, touch_first_byte, &t));
	ASSERT_EQ(waited + 1, stat_wait_for("fault_waited", waited + 1, 5000));
	/*
	 * The fault waits without the mmap_lock: mmap() and munmap() (which
	 * take it for writing) and a read of /proc/self/cmdline (which takes
	 * it for reading behind them) go through. A watchdog turns a hang
	 * into a failure.
	 */
	alarm(20);
	for (i = 0; i < 100; i++) {
		q = mmap(NULL, page_size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		ASSERT_NE(MAP_FAILED, q);
		ASSERT_EQ(0, munmap(q, page_size));
	}
	fd = open("/proc/self/cmdline", O_RDONLY);
	ASSERT_LE(0, fd);
	EXPECT_LT(0, read(fd, buf, sizeof(buf)));
	close(fd);
	alarm(0);
	/* Still waiting, then served once the server is back. */
	EXPECT_EQ(1, lazy_pages(p, 1));
	ASSERT_EQ(0, server_back(self->fd));
	ASSERT_EQ(0, pthread_join(thread, NULL));
	EXPECT_EQ(1, t.ok);
	EXPECT_EQ(0, lazy_pages(p, 1));
	munmap(p, page_size);
}

/* Writes @text into the file @path; 0 or -1. */
static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

TEST_F(tftp, a_waiting_fault_can_be_frozen_and_killed)
{
	unsigned char *p = map_filled(1, 50);
	long long waited;
	int status, frozen;
	pid_t pid;

	ASSERT_NE(NULL, p);
	if (access("/sys/power/pm_test", W_OK))
		SKIP(munmap(p, page_size); return,
		     "no /sys/power/pm_test (CONFIG_PM_DEBUG)");
	ASSERT_EQ(0, evict_behind_a_dead_server(self->fd, &self->req, p));
	waited = stat_value("fault_waited");
	pid = fork_reader(p);
	ASSERT_LT(0, pid);
	ASSERT_EQ(waited + 1, stat_wait_for("fault_waited", waited + 1, 5000));
	/*
	 * Freeze every task and thaw them again (the hibernation freezer
	 * test): it fails if a task does not freeze within the timeout, as a
	 * task waiting uninterruptibly for the network would not.
	 */
	ASSERT_EQ(0, write_file("/sys/power/pm_freeze_timeout", "5000"));
	ASSERT_EQ(0, write_file("/sys/power/pm_test", "freezer"));
	frozen = write_file("/sys/power/state", "disk");
	write_file("/sys/power/pm_test", "none");
	write_file("/sys/power/pm_freeze_timeout", "20000");
	EXPECT_EQ(0, frozen);
	/* Still waiting after the thaw, and a kill ends it. */
	EXPECT_EQ(-1, wait_for(pid, 200));
	kill(pid, SIGKILL);
	status = wait_for(pid, 10000);
	EXPECT_TRUE(status != -1 && WIFSIGNALED(status) &&
		    WTERMSIG(status) == SIGKILL);
	if (status == -1)
		waitpid(pid, &status, 0);
	ASSERT_EQ(0, server_back(self->fd));
	EXPECT_EQ(-1, check(p, 1, 50));
	munmap(p, page_size);
}

TEST_F(tftp, every_waited_fault_is_one_major_fault)
{
	const unsigned long pages = 16;
	unsigned char *p = map_filled(pages, 51);
	struct rusage before, after;

	ASSERT_NE(NULL, p);
	/* One page per file: every fault waits for its own transfer. */
	ASSERT_EQ(0, evict_all(self->fd, p, pages));
	ASSERT_EQ(0, ioctl(self->fd, LAZYRESUME_IOC_TFTP_BACKEND, &self->req));
	ASSERT_EQ(0, getrusage(RUSAGE_THREAD, &before));
	EXPECT_EQ(-1, check(p, pages, 51));
	ASSERT_EQ(0, getrusage(RUSAGE_THREAD, &after));
	EXPECT_EQ(pages, after.ru_majflt - before.ru_majflt);
	munmap(p, page_size * pages);
}

/* Polls until no page of @p is lazy, for @ms at most; the lazy pages left. */
static long wait_installed(const unsigned char *p, unsigned long pages, int ms)
{
	long left = lazy_pages(p, pages);
	int i;

	for (i = 0; left && i < ms / 20; i++) {
		usleep(20000);
		left = lazy_pages(p, pages);
	}
	return left;
}

/* Whether the @pages pages of @p from page @first on are all zeros. */
static int zeros(const unsigned char *p, unsigned long first,
		 unsigned long pages)
{
	unsigned long i;

	for (i = first * page_size; i < (first + pages) * page_size; i++)
		if (p[i])
			return 0;
	return 1;
}

TEST_F(tftp, a_zero_page_is_never_fetched)
{
	unsigned char *p = map_filled(2, 54);
	long long urgent, background, waited, transfers, filled;

	ASSERT_NE(NULL, p);
	/* Page 0 is a page of zeros of its own (not the shared zero page). */
	memset(p, 0, page_size);
	ASSERT_EQ(0, evict_all(self->fd, p, 2));
	/* Uploads page 1 only: a page of zeros is never fetched. */
	ASSERT_EQ(0, ioctl(self->fd, LAZYRESUME_IOC_TFTP_BACKEND, &self->req));
	EXPECT_LE(1, stat_value("tftp_backend_zero_pages"));
	EXPECT_EQ(2, lazy_pages(p, 2));
	urgent = stat_value("fetch_urgent_files");
	background = stat_value("fetch_background_files");
	waited = stat_value("fault_waited");
	transfers = stat_value("tftp_completed");
	filled = stat_value("zero_pages_filled");

	EXPECT_TRUE(zeros(p, 0, 1));
	EXPECT_EQ(1, lazy_pages(p, 2));
	/* No transfer, no wait: filled with zeros at the fault. */
	EXPECT_EQ(urgent, stat_value("fetch_urgent_files"));
	EXPECT_EQ(background, stat_value("fetch_background_files"));
	EXPECT_EQ(waited, stat_value("fault_waited"));
	EXPECT_EQ(transfers, stat_value("tftp_completed"));
	EXPECT_LE(filled + 1, stat_value("zero_pages_filled"));
	/* The other page is fetched as ever. */
	EXPECT_EQ(-1, check_pages(p, 1, 1, 54));
	EXPECT_EQ(urgent + 1, stat_value("fetch_urgent_files"));
	munmap(p, 2 * page_size);
}

/* Frame header bit of a block stored as it is (image-format.rst). */
#define FRAME_STORED (1u << 31)

TEST_F(tftp, lz4_files_leave_zero_pages_out)
{
	/*
	 * Three files of PAGES_PER_FILE pages as an image of format version
	 * 3 has them: the first with every other page zero, the second all
	 * zeros (no file: asking for it would fail the fault), the third
	 * without zeros. Each file is one block, stored as it is (the
	 * framing of LZ4 blocks; the e2e scenarios decode real LZ4).
	 */
	const unsigned long pages = 3 * PAGES_PER_FILE;
	unsigned char *p = map_filled(pages, 55), *copy, *file;
	struct lazyresume_page_hashes h = { 0 };
	long long urgent, filled;
	unsigned long f, i, n;
	char name[256];
	uint32_t word;

	ASSERT_NE(NULL, p);
	for (i = 0; i < pages; i++)
		if ((i < PAGES_PER_FILE && i % 2 == 0) ||
		    i / PAGES_PER_FILE == 1)
			memset(p + i * page_size, 0, page_size);
	copy = malloc(pages * page_size);
	file = malloc(4 + PAGES_PER_FILE * page_size);
	ASSERT_NE(NULL, copy);
	ASSERT_NE(NULL, file);
	memcpy(copy, p, pages * page_size);
	ASSERT_EQ(0, drop_unused(self->fd));
	if (stat_value("tftp_backend_pages") != 0)
		SKIP(return, "pages of another user are on a TFTP server");
	ASSERT_EQ(0, evict_all(self->fd, p, pages));
	ASSERT_EQ(0, ioctl(self->fd, LAZYRESUME_IOC_PAGE_HASHES, &h));
	ASSERT_EQ(pages, h.total);
	for (f = 0; f < 3; f++) {
		n = 0;
		for (i = f * PAGES_PER_FILE; i < (f + 1) * PAGES_PER_FILE; i++)
			if (!zeros(copy, i, 1))
				memcpy(file + 4 + n++ * page_size,
				       copy + i * page_size, page_size);
		if (!n)
			continue;
		word = (uint32_t)(n * page_size) | FRAME_STORED;
		memcpy(file, &word, 4);
		snprintf(name, sizeof(name), "%s%016lx", self->req.prefix, f);
		ASSERT_EQ(0, put_file(&self->req, name, file, 4 + n * page_size));
	}
	self->req.flags = LAZYRESUME_TFTP_BACKEND_NO_UPLOAD |
			  LAZYRESUME_TFTP_BACKEND_LZ4 |
			  (4 << LAZYRESUME_TFTP_BACKEND_CHUNK_SHIFT);
	ASSERT_EQ(0, ioctl(self->fd, LAZYRESUME_IOC_TFTP_BACKEND, &self->req));
	urgent = stat_value("fetch_urgent_files");
	filled = stat_value("zero_pages_filled");

	EXPECT_EQ(0, memcmp(copy, p, pages * page_size));
	EXPECT_EQ(0, lazy_pages(p, pages));
	/* Two files came, the one of zeros was never asked for. */
	EXPECT_EQ(urgent + 2, stat_value("fetch_urgent_files"));
	EXPECT_EQ(filled + PAGES_PER_FILE + PAGES_PER_FILE / 2,
		  stat_value("zero_pages_filled"));
	free(copy);
	free(file);
	munmap(p, pages * page_size);
}

TEST_F(tftp, zero_pages_are_installed_in_the_background)
{
	unsigned char *p = map_filled(PAGES_PER_FILE, 56);
	long long fills, urgent, background;

	ASSERT_NE(NULL, p);
	memset(p, 0, PAGES_PER_FILE * page_size);
	ASSERT_EQ(0, evict_all(self->fd, p, PAGES_PER_FILE));
	ASSERT_EQ(0, ioctl(self->fd, LAZYRESUME_IOC_TFTP_BACKEND, &self->req));
	fills = stat_value("fault_fills");
	urgent = stat_value("fetch_urgent_files");
	background = stat_value("fetch_background_files");
	/* Nothing to fetch, yet the installer puts every page in place. */
	ASSERT_EQ(0, set_background(self->fd, LAZYRESUME_BACKGROUND_FULL, 0));
	EXPECT_EQ(0, wait_installed(p, PAGES_PER_FILE, 10000));
	EXPECT_EQ(fills, stat_value("fault_fills"));
	EXPECT_EQ(urgent, stat_value("fetch_urgent_files"));
	EXPECT_EQ(background, stat_value("fetch_background_files"));
	EXPECT_TRUE(zeros(p, 0, PAGES_PER_FILE));
	munmap(p, PAGES_PER_FILE * page_size);
}

TEST_F(tftp, the_background_fetches_and_installs_every_page)
{
	/* Four whole files and a short last one. */
	const unsigned long pages = 4 * PAGES_PER_FILE + 3, files = 5;
	unsigned char *p = map_filled(pages, 52);
	long long fills, fetched, held, installed;

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, serve_in_files(self->fd, &self->req, p, pages, 52));
	fills = stat_value("fault_fills");
	fetched = stat_value("tftp_completed");
	held = stat_value("read_ahead_pages_kept");
	installed = stat_value("fetch_installed");
	/* Nothing touches the pages: the engine brings them all. */
	ASSERT_EQ(0, set_background(self->fd, LAZYRESUME_BACKGROUND_FULL, 0));
	EXPECT_EQ(0, wait_installed(p, pages, 30000));
	EXPECT_EQ(fills, stat_value("fault_fills"));
	EXPECT_LE(installed + pages, stat_value("fetch_installed"));
	/* Each file came once; what was kept was dropped once installed. */
	EXPECT_EQ(fetched + files, stat_value("tftp_completed"));
	EXPECT_EQ(held, stat_wait_for("read_ahead_pages_kept", held, 5000));
	EXPECT_EQ(-1, check(p, pages, 52));
	EXPECT_EQ(fills, stat_value("fault_fills"));
	munmap(p, pages * page_size);
}

TEST_F(tftp, concurrent_faults_and_the_background_fetch_a_file_once)
{
	const unsigned long pages = 32;
	unsigned char *p = map_filled(pages, 2);
	long long fetched;

	ASSERT_NE(NULL, p);
	/* One page per file, uploaded by the module. */
	ASSERT_EQ(0, evict_all(self->fd, p, pages));
	ASSERT_EQ(0, ioctl(self->fd, LAZYRESUME_IOC_TFTP_BACKEND, &self->req));
	fetched = stat_value("tftp_completed");
	ASSERT_EQ(0, set_background(self->fd, LAZYRESUME_BACKGROUND_FULL, 0));
	/*
	 * Threads fault on the first page while the background lane takes
	 * the first file.
	 */
	EXPECT_EQ(0, race_readers(p));
	EXPECT_EQ(0, wait_installed(p, pages, 30000));
	EXPECT_EQ(fetched + pages, stat_value("tftp_completed"));
	EXPECT_EQ(-1, check(p, pages, 2));
	munmap(p, pages * page_size);
}

TEST_F(tftp, an_urgent_fault_is_served_while_the_background_streams)
{
	/* 4 MiB at 1 MiB/s: the stream lasts seconds. */
	const unsigned long pages = 64 * PAGES_PER_FILE;
	unsigned char *p = map_filled(pages, 53);
	long long urgent;

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, set_background(self->fd, LAZYRESUME_BACKGROUND_FULL, 1));
	ASSERT_EQ(0, serve_in_files(self->fd, &self->req, p, pages, 53));
	urgent = stat_value("fetch_urgent_files");
	/* The last file, which the stream reaches last. */
	EXPECT_EQ(-1, check_pages(p, pages - 1, 1, 53));
	EXPECT_LE(urgent + 1, stat_value("fetch_urgent_files"));
	/* Served before the stream ended. */
	EXPECT_LT(0, lazy_pages(p, pages));
	ASSERT_EQ(0, set_background(self->fd, LAZYRESUME_BACKGROUND_FULL, 0));
	EXPECT_EQ(0, wait_installed(p, pages, 60000));
	EXPECT_EQ(-1, check(p, pages, 53));
	munmap(p, pages * page_size);
}

/* LAZYRESUME_IOC_WORKINGSET with @op and the limits; fills @ws. */
static int workingset(int fd, __u32 op, __u64 max_pages, __u64 max_ms,
		      struct lazyresume_workingset *ws)
{
	memset(ws, 0, sizeof(*ws));
	ws->op = op;
	ws->max_pages = max_pages;
	ws->max_ms = max_ms;
	return ioctl(fd, LAZYRESUME_IOC_WORKINGSET, ws);
}

TEST_F(tftp, a_recording_stops_at_its_page_limit)
{
	const unsigned long pages = 8;
	unsigned char *p = map_filled(pages, 61);
	struct lazyresume_workingset ws;
	__u64 order[8];
	int i, j;

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, evict_all(self->fd, p, pages));
	ASSERT_EQ(0, ioctl(self->fd, LAZYRESUME_IOC_TFTP_BACKEND, &self->req));
	ASSERT_EQ(0, workingset(self->fd, LAZYRESUME_WORKINGSET_START, 3, 0, &ws));
	EXPECT_TRUE(ws.flags & LAZYRESUME_WORKINGSET_RECORDING);
	EXPECT_EQ(0, ws.recorded);
	/* Eight first touches: the recording keeps three, then stops. */
	EXPECT_EQ(-1, check(p, pages, 61));
	ASSERT_EQ(0, workingset(self->fd, LAZYRESUME_WORKINGSET_QUERY, 0, 0, &ws));
	EXPECT_FALSE(ws.flags & LAZYRESUME_WORKINGSET_RECORDING);
	EXPECT_EQ(3, ws.recorded);
	/* Touched again: no page twice, nothing more. */
	EXPECT_EQ(-1, check(p, pages, 61));
	memset(&ws, 0, sizeof(ws));
	ws.op = LAZYRESUME_WORKINGSET_READ;
	ws.count = 8;
	ws.buf = (unsigned long)order;
	ASSERT_EQ(0, ioctl(self->fd, LAZYRESUME_IOC_WORKINGSET, &ws));
	ASSERT_EQ(3, ws.count);
	EXPECT_EQ(3, ws.recorded);
	for (i = 0; i < 3; i++)
		for (j = 0; j < i; j++)
			EXPECT_NE(order[i], order[j]);
	munmap(p, pages * page_size);
}

TEST_F(tftp, a_recording_stops_at_its_time_limit)
{
	struct lazyresume_workingset ws;

	ASSERT_EQ(0, workingset(self->fd, LAZYRESUME_WORKINGSET_START, 0, 100, &ws));
	EXPECT_TRUE(ws.flags & LAZYRESUME_WORKINGSET_RECORDING);
	usleep(300 * 1000);
	ASSERT_EQ(0, workingset(self->fd, LAZYRESUME_WORKINGSET_QUERY, 0, 0, &ws));
	EXPECT_FALSE(ws.flags & LAZYRESUME_WORKINGSET_RECORDING);
	/* A stop after the time ran out changes nothing. */
	ASSERT_EQ(0, workingset(self->fd, LAZYRESUME_WORKINGSET_STOP, 0, 0, &ws));
	EXPECT_FALSE(ws.flags & LAZYRESUME_WORKINGSET_RECORDING);
}

TEST_F(tftp, a_recording_refuses_bad_requests)
{
	struct lazyresume_workingset ws;

	ASSERT_EQ(0, workingset(self->fd, LAZYRESUME_WORKINGSET_QUERY, 0, 0, &ws));
	ws.stream = 1;
	EXPECT_EQ(-1, ioctl(self->fd, LAZYRESUME_IOC_WORKINGSET, &ws));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, workingset(self->fd, 99, 0, 0, &ws));
	EXPECT_EQ(EINVAL, errno);
	memset(&ws, 0, sizeof(ws));
	ws.op = LAZYRESUME_WORKINGSET_READ;
	ws.count = 65537;
	EXPECT_EQ(-1, ioctl(self->fd, LAZYRESUME_IOC_WORKINGSET, &ws));
	EXPECT_EQ(EINVAL, errno);
}

TEST_HARNESS_MAIN
