// SPDX-License-Identifier: GPL-2.0
/*
 * The capture and resume ioctls of lazyresume, short of a real capture
 * or resume (the end-to-end tests do those, scripts/e2e-resume.sh):
 * evicting another process, the page hashes a manifest is written from,
 * the status, the hand-off a booted (not resumed) kernel does not have,
 * and every way LAZYRESUME_IOC_RESUME refuses an image, saying why.
 *
 * The resume cases need a tftpd-hpa accepting uploads under upload/,
 * named on the kernel command line as lrtftp=...,hpa@ADDR:PORT,... and
 * serving the images of scripts/signature-test-images.sh under sig/:
 * one-page images of a kernel that does not exist, so that an image the
 * signature check lets through is refused by the next check, which says
 * so (the signature was accepted).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "lazy_common.h"

FIXTURE(resume) {
	int fd;
};

FIXTURE_SETUP(resume)
{
	page_size = sysconf(_SC_PAGESIZE);
	OPEN_DEVICE_OR_SKIP(self->fd);
}

FIXTURE_TEARDOWN(resume)
{
	close(self->fd);
}

TEST_F(resume, status_of_a_booted_kernel)
{
	struct lazyresume_status s;

	memset(&s, 0xa5, sizeof(s));
	ASSERT_EQ(0, ioctl(self->fd, LAZYRESUME_IOC_STATUS, &s));
	EXPECT_EQ(0, s.flags & LAZYRESUME_STATUS_RESUMED);
	EXPECT_EQ(0, s.since_resume_ns);
	EXPECT_LE(s.latency_mean_ns, s.latency_max_ns);
}

TEST_F(resume, no_hand_off_without_a_resume)
{
	struct lazyresume_adopt a;

	EXPECT_EQ(-1, ioctl(self->fd, LAZYRESUME_IOC_ADOPT, &a));
	EXPECT_EQ(ENOENT, errno);
}

/* Evict @pages pages at @p of process @pid (0: this one) with @flags. */
static int evict_task(int fd, pid_t pid, void *p, unsigned long pages,
		      __u32 flags, struct lazyresume_evict_task *t)
{
	memset(t, 0, sizeof(*t));
	t->pid = pid;
	t->flags = flags;
	t->range.start = (uintptr_t)p;
	t->range.length = pages * page_size;
	return ioctl(fd, LAZYRESUME_IOC_EVICT_TASK, t);
}

/* A step of a child of fork_child(): 0 if it went well. */
typedef int (*child_step)(unsigned char *p, unsigned long pages);

/*
 * Forks a child that runs @before on its view of @p, tells the parent,
 * waits for end_child(), then runs @after and exits 0 if both went well.
 * Returns the child's pid (-1 on error) and in *@go the pipe end that
 * end_child() writes.
 */
static pid_t fork_child(unsigned char *p, unsigned long pages,
			child_step before, child_step after, int *go)
{
	int to_child[2], ready[2];
	char c = 0;
	pid_t pid;

	if (pipe(to_child) || pipe(ready))
		return -1;
	pid = fork();
	if (pid == 0) {
		int ok = before(p, pages) == 0;

		if (write(ready[1], &c, 1) != 1 || read(to_child[0], &c, 1) != 1)
			_exit(2);
		_exit(ok && after(p, pages) == 0 ? 0 : 1);
	}
	*go = to_child[1];
	if (pid < 0 || read(ready[0], &c, 1) != 1)
		return -1;
	return pid;
}

/* Lets the child of fork_child() go on; returns its exit status or -1. */
static int end_child(pid_t pid, int go)
{
	char c = 0;
	int status;

	if (write(go, &c, 1) != 1 || waitpid(pid, &status, 0) != pid ||
	    !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static int nothing(unsigned char *p, unsigned long pages)
{
	return 0;
}

static int own_pages(unsigned char *p, unsigned long pages)
{
	fill(p, pages, 8);
	return 0;
}

static int own_pages_intact(unsigned char *p, unsigned long pages)
{
	return check(p, pages, 8) == -1 ? 0 : 1;
}

/* The shared pages read right, then the child's writes go to its copy. */
static int shared_pages_intact(unsigned char *p, unsigned long pages)
{
	int was_shared = check(p, pages, 11);

	fill(p, pages, 12);
	return was_shared == -1 && check(p, pages, 12) == -1 ? 0 : 1;
}

TEST_F(resume, evict_another_process)
{
	const unsigned long pages = 16;
	unsigned char *p = map_filled(pages, 7);
	struct lazyresume_evict_task t;
	pid_t pid;
	int go;

	ASSERT_NE(NULL, p);
	/* The child owns its pages (no longer shared with the parent). */
	pid = fork_child(p, pages, own_pages, own_pages_intact, &go);
	ASSERT_LT(0, pid);
	ASSERT_EQ(0, evict_task(self->fd, pid, p, pages, 0, &t));
	EXPECT_EQ(pages, t.range.evicted);
	/* The parent's own pages were not touched. */
	EXPECT_EQ(-1, check(p, pages, 7));
	EXPECT_EQ(0, end_child(pid, go));
	munmap(p, pages * page_size);
}

TEST_F(resume, evict_task_refuses_bad_requests)
{
	struct lazyresume_evict_task t;

	memset(&t, 0, sizeof(t));
	t.pid = 0x3fffffff;
	t.range.length = page_size;
	EXPECT_EQ(-1, ioctl(self->fd, LAZYRESUME_IOC_EVICT_TASK, &t));
	EXPECT_EQ(ESRCH, errno);
	t.pid = 0;
	t.flags = LAZYRESUME_EVICT_SHARED << 1;
	EXPECT_EQ(-1, ioctl(self->fd, LAZYRESUME_IOC_EVICT_TASK, &t));
	EXPECT_EQ(EINVAL, errno);
}

/*
 * Pages shared copy-on-write with a forked child stay mapped unless
 * LAZYRESUME_EVICT_SHARED is given; with it both processes' mappings
 * become lazy entries, each process reads the content back, and a write
 * in the child does not show in the parent.
 */
TEST_F(resume, evict_pages_shared_with_a_forked_child)
{
	const unsigned long pages = 16;
	unsigned char *p = map_filled(pages, 11);
	struct lazyresume_evict_task t;
	pid_t pid;
	int go;

	ASSERT_NE(NULL, p);
	pid = fork_child(p, pages, nothing, shared_pages_intact, &go);
	ASSERT_LT(0, pid);

	ASSERT_EQ(0, evict_task(self->fd, 0, p, pages, 0, &t));
	EXPECT_EQ(pages, t.range.seen);
	EXPECT_EQ(0, t.range.evicted);
	EXPECT_EQ(pages, t.range.skipped_shared);

	/* Through the rmap: one shared entry in each process for each page. */
	ASSERT_EQ(0, evict_task(self->fd, 0, p, pages,
				LAZYRESUME_EVICT_SHARED, &t));
	EXPECT_EQ(2 * pages, t.range.evicted);
	EXPECT_EQ(0, t.range.skipped_shared);
	EXPECT_EQ(pages, lazy_pages(p, pages));

	/* Nothing left to evict in the child: its mappings are entries. */
	ASSERT_EQ(0, evict_task(self->fd, pid, p, pages,
				LAZYRESUME_EVICT_SHARED, &t));
	EXPECT_EQ(0, t.range.seen);
	EXPECT_EQ(0, t.range.evicted);

	/* One fill for both; the child checks its view, then writes. */
	EXPECT_EQ(-1, check(p, pages, 11));
	EXPECT_EQ(0, end_child(pid, go));
	/* The child's writes went to its own copy. */
	EXPECT_EQ(-1, check(p, pages, 11));
	munmap(p, pages * page_size);
}

TEST_F(resume, page_hashes_follow_page_contents)
{
	const unsigned long pages = 3;
	unsigned char *p = map_filled(pages, 9);
	unsigned char hashes[64][32], zero[32] = { 0 };
	struct lazyresume_page_hashes h;
	struct lazyresume_evict e;
	long long index[3];
	unsigned long i;

	ASSERT_NE(NULL, p);
	/* Pages 0 and 2 alike, page 1 different. */
	memcpy(p + 2 * page_size, p, page_size);
	ASSERT_EQ(0, evict(self->fd, p, pages, &e));
	ASSERT_EQ(pages, e.evicted);
	/*
	 * Where the store put this test's pages, from its own page tables
	 * (others may have pages in the store, before or after ours).
	 */
	memset(&h, 0, sizeof(h));
	h.count = 1;
	for (i = 0; i < pages; i++) {
		index[i] = lazy_index(p + i * page_size);
		ASSERT_LE(0, index[i]);
		h.first = index[i];
		h.hashes = (uintptr_t)hashes[i];
		ASSERT_EQ(0, ioctl(self->fd, LAZYRESUME_IOC_PAGE_HASHES, &h));
		ASSERT_LT(index[i], h.total);
	}
	EXPECT_NE(index[0], index[2]);
	EXPECT_NE(0, memcmp(hashes[0], zero, 32));
	EXPECT_EQ(0, memcmp(hashes[0], hashes[2], 32));
	EXPECT_NE(0, memcmp(hashes[0], hashes[1], 32));
	/* Past the end: zeros. */
	h.first = h.total;
	h.hashes = (uintptr_t)hashes[pages];
	memset(hashes[pages], 0xa5, 32);
	ASSERT_EQ(0, ioctl(self->fd, LAZYRESUME_IOC_PAGE_HASHES, &h));
	EXPECT_EQ(0, memcmp(hashes[pages], zero, 32));
	h.hashes = (uintptr_t)hashes;
	h.count = 1 << 20;
	EXPECT_EQ(-1, ioctl(self->fd, LAZYRESUME_IOC_PAGE_HASHES, &h));
	EXPECT_EQ(EINVAL, errno);
	/* The pages come back as they were. */
	EXPECT_EQ(-1, check_pages(p, 0, 2, 9));
	EXPECT_EQ(0, memcmp(p, p + 2 * page_size, page_size));
	munmap(p, pages * page_size);
}

/* A resume request for @image from the hpa server; 0 or SKIP. */
static int resume_request(struct lazyresume_resume *r, const char *image)
{
	memset(r, 0, sizeof(*r));
	if (hpa_server(r->id.server, &r->id.port))
		return -1;
	strcpy(r->id.ifname, "eth0");
	snprintf(r->image, sizeof(r->image), "%s", image);
	return 0;
}

TEST_F(resume, refuses_a_missing_image_and_says_why)
{
	struct lazyresume_resume r;
	char name[64];

	snprintf(name, sizeof(name), "no-such-image-%d", getpid());
	if (resume_request(&r, name))
		SKIP(return, "no hpa@ADDR:PORT in lrtftp= on the command line");
	EXPECT_EQ(-1, ioctl(self->fd, LAZYRESUME_IOC_RESUME, &r));
	EXPECT_EQ(ENOENT, errno);
	TH_LOG("reason: %s", r.reason);
	EXPECT_NE(NULL, strstr(r.reason, "cannot fetch"));
	EXPECT_NE(NULL, strstr(r.reason, "/manifest"));
}

TEST_F(resume, refuses_a_malformed_manifest_and_says_why)
{
	struct lazyresume_tftp_xfer put;
	struct lazyresume_resume r;

	if (resume_request(&r, "upload"))
		SKIP(return, "no hpa@ADDR:PORT in lrtftp= on the command line");
	/* upload/manifest: a page of the test pattern, not a manifest. */
	memset(&put, 0, sizeof(put));
	memcpy(put.server, r.id.server, 4);
	put.port = r.id.port;
	strcpy(put.filename, "upload/manifest");
	put.length = page_size;
	ASSERT_EQ(0, ioctl(self->fd, LAZYRESUME_IOC_TFTP_PUT, &put));
	EXPECT_EQ(-1, ioctl(self->fd, LAZYRESUME_IOC_RESUME, &r));
	EXPECT_EQ(EINVAL, errno);
	TH_LOG("reason: %s", r.reason);
	EXPECT_NE(NULL, strstr(r.reason, "not a lazyresume manifest"));
}

TEST_F(resume, refuses_bad_requests)
{
	struct lazyresume_resume r;

	if (resume_request(&r, ""))
		SKIP(return, "no hpa@ADDR:PORT in lrtftp= on the command line");
	EXPECT_EQ(-1, ioctl(self->fd, LAZYRESUME_IOC_RESUME, &r));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_NE(NULL, strstr(r.reason, "no image name"));
	resume_request(&r, "x");
	r.flags = 1 << 7;
	EXPECT_EQ(-1, ioctl(self->fd, LAZYRESUME_IOC_RESUME, &r));
	EXPECT_EQ(EINVAL, errno);
	resume_request(&r, "x");
	r.blksize = 7;
	EXPECT_EQ(-1, ioctl(self->fd, LAZYRESUME_IOC_RESUME, &r));
	EXPECT_EQ(EINVAL, errno);
	resume_request(&r, "x");
	memset(r.id.server, 0, 4);
	EXPECT_EQ(-1, ioctl(self->fd, LAZYRESUME_IOC_RESUME, &r));
	EXPECT_EQ(EINVAL, errno);
}

/*
 * Resumes sig/@image (scripts/signature-test-images.sh) with @flags and
 * @min_generation: the errno it fails with, its reason in @r; 0 if it
 * succeeds (it must not), -1 if there is no server to ask.
 */
static int resume_sig_image(int fd, struct lazyresume_resume *r,
			    const char *image, __u32 flags,
			    __u64 min_generation)
{
	char name[64];

	snprintf(name, sizeof(name), "sig/%s", image);
	if (resume_request(r, name))
		return -1;
	r->flags = flags;
	r->min_generation = min_generation;
	if (ioctl(fd, LAZYRESUME_IOC_RESUME, r) == 0)
		return 0;
	return errno;
}

/* The next check after the signature's refuses the image's kernel. */
#define SIGNATURE_ACCEPTED(r) strstr((r).reason, "image is of kernel")

TEST_F(resume, refuses_an_unsigned_image_unless_allowed)
{
	struct lazyresume_resume r;
	int err;

	err = resume_sig_image(self->fd, &r, "unsigned", 0, 0);
	if (err == -1)
		SKIP(return, "no hpa@ADDR:PORT in lrtftp= on the command line");
	EXPECT_EQ(ENOKEY, err);
	TH_LOG("reason: %s", r.reason);
	EXPECT_NE(NULL, strstr(r.reason, "not signed"));
	EXPECT_EQ(0, r.verified);
	EXPECT_EQ(EXDEV, resume_sig_image(self->fd, &r, "unsigned",
					  LAZYRESUME_RESUME_ALLOW_UNSIGNED, 0));
	EXPECT_NE(NULL, SIGNATURE_ACCEPTED(r));
}

TEST_F(resume, accepts_a_signature_by_a_trusted_key)
{
	struct lazyresume_resume r;
	int err;

	err = resume_sig_image(self->fd, &r, "good", 0, 0);
	if (err == -1)
		SKIP(return, "no hpa@ADDR:PORT in lrtftp= on the command line");
	EXPECT_EQ(EXDEV, err);
	TH_LOG("reason: %s", r.reason);
	EXPECT_NE(NULL, SIGNATURE_ACCEPTED(r));
	/* Its generation is 5: asking for 5 is no rollback, 6 is. */
	EXPECT_EQ(EXDEV, resume_sig_image(self->fd, &r, "good", 0, 5));
	EXPECT_EQ(ESTALE, resume_sig_image(self->fd, &r, "good", 0, 6));
	TH_LOG("reason: %s", r.reason);
	EXPECT_NE(NULL, strstr(r.reason, "rollback"));
}

TEST_F(resume, refuses_a_signature_by_an_untrusted_key)
{
	struct lazyresume_resume r;
	int err;

	err = resume_sig_image(self->fd, &r, "untrusted", 0, 0);
	if (err == -1)
		SKIP(return, "no hpa@ADDR:PORT in lrtftp= on the command line");
	EXPECT_EQ(ENOKEY, err);
	TH_LOG("reason: %s", r.reason);
	EXPECT_NE(NULL, strstr(r.reason, "does not trust"));
}

TEST_F(resume, refuses_a_signature_that_does_not_match)
{
	struct lazyresume_resume r;
	int err;

	err = resume_sig_image(self->fd, &r, "tampered", 0, 0);
	if (err == -1)
		SKIP(return, "no hpa@ADDR:PORT in lrtftp= on the command line");
	EXPECT_EQ(EKEYREJECTED, err);
	TH_LOG("reason: %s", r.reason);
	EXPECT_NE(NULL, strstr(r.reason, "bad signature"));
}

TEST_F(resume, refuses_a_signed_image_under_another_name)
{
	struct lazyresume_resume r;
	int err;

	err = resume_sig_image(self->fd, &r, "renamed", 0, 0);
	if (err == -1)
		SKIP(return, "no hpa@ADDR:PORT in lrtftp= on the command line");
	EXPECT_EQ(EINVAL, err);
	TH_LOG("reason: %s", r.reason);
	EXPECT_NE(NULL, strstr(r.reason, "names image 'sig/good'"));
}

TEST_HARNESS_MAIN
