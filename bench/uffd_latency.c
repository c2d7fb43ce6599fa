// SPDX-License-Identifier: GPL-2.0
/*
 * uffd_latency: service time of a missing-page fault resolved by a
 * userfaultfd handler with UFFDIO_COPY, the way CRIU lazy-pages and QEMU
 * postcopy fill memory on demand, from content that is already in memory.
 * It is the userfaultfd counterpart of fault_latency's lazy-read-nocheck
 * and lazy-write-nocheck rows (a lazy entry filled by the memory backend
 * without the SHA-256 check): same page size, same access, same clock.
 *
 *   uffd_latency [PAGES [ROUNDS]]
 *
 * Each round maps PAGES private anonymous pages, registers them for missing
 * faults, and times the first access to each page from the faulting thread
 * (clock_gettime around one load or store) while a handler thread reads the
 * fault from the userfaultfd and copies the page's content in with
 * UFFDIO_COPY.  The handler waits in poll() as handlers do, on any CPU
 * (uffd-write, uffd-read), or both threads are pinned to one CPU, so that
 * the fault hands the CPU straight to the handler (uffd-read-samecpu: no
 * cross-CPU wake-up, which costs a scheduler tick in a TCG guest).
 * Prints, like fault_latency:
 *   bench fault kind=K n=N median_ns=M p90_ns=P mean_ns=A
 * Needs CONFIG_USERFAULTFD and root (or vm.unprivileged_userfaultfd).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "latency.h"

static long page_size;

struct handler {
	int uffd;
	unsigned char *base;	/* the registered range */
	unsigned char *source;	/* the content of its pages */
	size_t pages;
	size_t served;
};

static void die(const char *what)
{
	perror(what);
	exit(1);
}

/* Serves missing faults until every page of the range has been copied in. */
static void *serve(void *arg)
{
	struct handler *h = arg;
	struct uffd_msg msg;
	struct uffdio_copy copy;
	struct pollfd pfd = { .fd = h->uffd, .events = POLLIN };
	size_t off;

	while (h->served < h->pages) {
		if (poll(&pfd, 1, 10000) != 1)
			die("poll on the userfaultfd (no fault for 10 s)");
		if (read(h->uffd, &msg, sizeof(msg)) != sizeof(msg)) {
			if (errno == EAGAIN)
				continue;
			die("read from the userfaultfd");
		}
		if (msg.event != UFFD_EVENT_PAGEFAULT)
			continue;
		off = (msg.arg.pagefault.address & ~(page_size - 1)) -
		      (uintptr_t)h->base;
		copy.dst = (uintptr_t)h->base + off;
		copy.src = (uintptr_t)h->source + off;
		copy.len = page_size;
		copy.mode = 0;
		copy.copy = 0;
		if (ioctl(h->uffd, UFFDIO_COPY, &copy) && errno != EEXIST)
			die("UFFDIO_COPY");
		h->served++;
	}
	return NULL;
}

/* Pins the calling thread to CPU 0, or lets it run anywhere. */
static void pin(int on)
{
	cpu_set_t set;
	long cpu, n = sysconf(_SC_NPROCESSORS_ONLN);

	CPU_ZERO(&set);
	for (cpu = 0; cpu < (on ? 1 : n); cpu++)
		CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die("sched_setaffinity");
}

/*
 * One round: @pages fresh pages, first access (a write if @write) timed
 * into @t; with @same_cpu, the faulting and the handler thread share CPU 0.
 */
static void round_trip(size_t pages, int write, int same_cpu, uint64_t *t)
{
	size_t len = pages * page_size, i;
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { 0 };
	volatile unsigned char *p;
	struct handler h = { .pages = pages };
	pthread_t thread;

	h.uffd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (h.uffd < 0)
		die("userfaultfd");
	if (ioctl(h.uffd, UFFDIO_API, &api))
		die("UFFDIO_API");
	h.base = mmap(NULL, len, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	h.source = mmap(NULL, len, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (h.base == MAP_FAILED || h.source == MAP_FAILED)
		die("mmap");
	madvise(h.base, len, MADV_NOHUGEPAGE);
	for (i = 0; i < len; i += 64)
		h.source[i] = (unsigned char)(i >> 6);
	reg.range.start = (uintptr_t)h.base;
	reg.range.len = len;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	if (ioctl(h.uffd, UFFDIO_REGISTER, &reg))
		die("UFFDIO_REGISTER");
	/* The handler inherits the affinity of its creator. */
	pin(same_cpu);
	if (pthread_create(&thread, NULL, serve, &h))
		die("pthread_create");

	p = h.base;
	time_faults(p, pages, page_size, write, t);
	pthread_join(thread, NULL);
	pin(0);
	/* The content arrived: a wrong copy would make this a lie. */
	for (i = 0; i < pages; i++)
		if (p[i * page_size + 64] != h.source[i * page_size + 64]) {
			fprintf(stderr, "page %zu has the wrong content\n", i);
			exit(1);
		}
	munmap(h.base, len);
	munmap(h.source, len);
	close(h.uffd);
}

int main(int argc, char **argv)
{
	size_t pages = argc > 1 ? strtoul(argv[1], NULL, 0) : 2048;
	int rounds = argc > 2 ? atoi(argv[2]) : 3;
	uint64_t *t;
	int r, write;

	page_size = sysconf(_SC_PAGESIZE);
	if (!pages || rounds < 1) {
		fprintf(stderr, "usage: uffd_latency [PAGES [ROUNDS]]\n");
		return 2;
	}
	t = calloc(pages * rounds, sizeof(*t));
	if (!t)
		return 1;
	for (write = 1; write >= 0; write--) {
		for (r = 0; r < rounds; r++)
			round_trip(pages, write, 0, t + r * pages);
		report(write ? "uffd-write" : "uffd-read", t, pages * rounds);
	}
	for (r = 0; r < rounds; r++)
		round_trip(pages, 0, 1, t + r * pages);
	report("uffd-read-samecpu", t, pages * rounds);
	free(t);
	return 0;
}
