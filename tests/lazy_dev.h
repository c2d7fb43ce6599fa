/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The control device and its debugfs counters, for every lazyresume
 * selftest: a test skips when the running kernel has no lazyresume test
 * module (or the production module is loaded) and fails when the module is
 * there but does not load.
 */
#ifndef LAZY_DEV_H
#define LAZY_DEV_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#define DEV_PATH "/dev/lazyresume"
#define STATS_PATH "/sys/kernel/debug/lazyresume/stats"

/* Value of the counter @name in the debugfs statistics, or -1. */
static inline long long stat_value(const char *name)
{
	char line[512], key[64];
	FILE *f = fopen(STATS_PATH, "r");
	long long val, found = -1;

	if (!f)
		return -1;
	/* "name value" lines; histograms have more fields. */
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %lld", key, &val) == 2 &&
		    !strcmp(key, name))
			found = val;
	fclose(f);
	return found;
}

/*
 * The counters are the module's, moved by every process that uses it, and
 * what a test leaves behind moves them after it ended (an exited process's
 * entries go when the last reference to its mm does, a killed child's fill
 * may still be running, read-ahead keeps the pages of a file). So no test
 * expects an absolute value: it reads a counter right before its action
 * and checks the difference. A cumulative counter, which others can only
 * increase, is checked for at least what the test did, or for exactly
 * that in one of a few tries when only an exact count catches the bug;
 * a count that drops back when others' activity ends is waited for
 * (stat_wait_for()); a count of the page store that only the test's pages
 * can move while it runs is checked exactly. What is the test's own is
 * also checked where no other process moves it: its page tables
 * (lazy_pages() in lazy_common.h) and its memory's content.
 */

/*
 * Waits up to @ms for the counter @name to read @want (a count that drops
 * back once what other processes do settles); returns the last value.
 */
static inline long long stat_wait_for(const char *name, long long want, int ms)
{
	long long v = stat_value(name);
	int i;

	for (i = 0; v != want && i < ms / 10; i++) {
		usleep(10000);
		v = stat_value(name);
	}
	return v;
}

/*
 * The counter @name once it reads the same for 50 ms (up to @ms), or its
 * last value: the baseline of a test, once what an earlier test left
 * behind has settled.
 */
static inline long long stat_settled(const char *name, int ms)
{
	long long last = stat_value(name), v;
	int i;

	for (i = 0; i < ms / 50; i++) {
		usleep(50000);
		v = stat_value(name);
		if (v == last)
			break;
		last = v;
	}
	return last;
}

/*
 * The tests' module: lazyresume.ko plus the requests only tests use
 * (Documentation/ioctl.rst).  Only one of the two can be loaded.
 */
#define TEST_MODULE "lazyresume_test"
#define PROD_MODULE "lazyresume"

/* Whether modules.dep of the running kernel lists module @name. */
static inline int module_available(const char *name)
{
	char path[256], line[1024], ko[64];
	struct utsname u;
	int found = 0;
	FILE *f;

	if (uname(&u))
		return 0;
	snprintf(path, sizeof(path), "/lib/modules/%s/modules.dep", u.release);
	snprintf(ko, sizeof(ko), "/%s.ko:", name);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, ko) != NULL;
	fclose(f);
	return found;
}

/* Whether module @name is loaded. */
static inline int module_loaded(const char *name)
{
	char path[128];
	struct stat st;

	snprintf(path, sizeof(path), "/sys/module/%s", name);
	return stat(path, &st) == 0;
}

/*
 * The control device of the test module, opened read-only after loading
 * it if needed: a descriptor; -ENOENT if this kernel has no test module or
 * -EBUSY if the production module is loaded instead (the caller skips);
 * another -errno if the test module does not load or open (the caller
 * fails).
 */
static inline int open_device(void)
{
	int fd;

	if (!module_loaded(TEST_MODULE)) {
		if (module_loaded(PROD_MODULE))
			return -EBUSY;
		if (!module_available(TEST_MODULE))
			return -ENOENT;
		if (system("modprobe " TEST_MODULE))
			return -EIO;
	}
	fd = open(DEV_PATH, O_RDONLY);
	return fd < 0 ? -errno : fd;
}

/* SKIP the test when it cannot have the test module, fail when it does not open. */
#define OPEN_DEVICE_OR_SKIP(fd)						\
	do {								\
		(fd) = open_device();					\
		if ((fd) == -ENOENT)					\
			SKIP(return, "no " TEST_MODULE " module for this kernel"); \
		if ((fd) == -EBUSY)					\
			SKIP(return, PROD_MODULE " is loaded: unload it, these " \
			     "tests need " TEST_MODULE);		\
		ASSERT_LE(0, (fd));					\
	} while (0)

#endif /* LAZY_DEV_H */
