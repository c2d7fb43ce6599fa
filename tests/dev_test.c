// SPDX-License-Identifier: GPL-2.0
/*
 * The /dev/lazyresume control device: version query, unknown ioctls,
 * bad user pointers and the debugfs statistics that count them; the
 * timeline's read and marks; the mirrors' checks.
 *
 * Needs the test module lazyresume_test.ko (loaded with modprobe if it is
 * not; skips when the kernel has none or the production module is loaded).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/lazyresume.h>

#include "kselftest_harness.h"
#include "lazy_dev.h"

FIXTURE(dev) {
	int fd;
};

FIXTURE_SETUP(dev)
{
	struct stat st;

	self->fd = -1;
	OPEN_DEVICE_OR_SKIP(self->fd);
	ASSERT_EQ(0, stat(DEV_PATH, &st));
	ASSERT_TRUE(S_ISCHR(st.st_mode));
}

FIXTURE_TEARDOWN(dev)
{
	if (self->fd >= 0)
		close(self->fd);
}

TEST_F(dev, get_version)
{
	struct lazyresume_version v;

	memset(&v, 0xa5, sizeof(v));
	ASSERT_EQ(0, ioctl(self->fd, LAZYRESUME_IOC_GET_VERSION, &v));
	EXPECT_EQ(LAZYRESUME_ABI_MAJOR, v.abi_major);
	EXPECT_EQ(LAZYRESUME_ABI_MINOR, v.abi_minor);
	/* The string is NUL-terminated and not empty. */
	ASSERT_NE(NULL, memchr(v.version, 0, sizeof(v.version)));
	EXPECT_LT(0, strlen(v.version));
	TH_LOG("module version %s, ABI %u.%u, features %#llx", v.version,
	       v.abi_major, v.abi_minor, (unsigned long long)v.features);
}

TEST_F(dev, get_version_bad_pointer)
{
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->fd, LAZYRESUME_IOC_GET_VERSION, NULL));
	EXPECT_EQ(EFAULT, errno);
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->fd, LAZYRESUME_IOC_GET_VERSION, (void *)1));
	EXPECT_EQ(EFAULT, errno);
}

TEST_F(dev, unknown_ioctls_are_enotty)
{
	struct lazyresume_version v;
	const unsigned long bad[] = {
		/* a number the ABI does not define */
		_IOR(LAZYRESUME_IOC_MAGIC, 0x7f, struct lazyresume_version),
		/* GET_VERSION with another size or direction */
		_IOR(LAZYRESUME_IOC_MAGIC, 0x00, __u32),
		_IOW(LAZYRESUME_IOC_MAGIC, 0x00, struct lazyresume_version),
		_IO(LAZYRESUME_IOC_MAGIC, 0x00),
		/* another driver's type byte */
		_IOR('T', 0x00, struct lazyresume_version),
		0,
	};
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		EXPECT_EQ(-1, ioctl(self->fd, bad[i], &v)) {
			TH_LOG("ioctl %#lx", bad[i]);
		}
		EXPECT_EQ(ENOTTY, errno) {
			TH_LOG("ioctl %#lx", bad[i]);
		}
	}
}

/*
 * The counters are the module's: another user of the device adds to them.
 * Each try owns a lower bound (it did one version query and one unknown
 * ioctl); the counts are exact in a try that nothing else overlapped, and
 * one of a few tries has that window to itself unless every try counts
 * too much.
 */
TEST_F(dev, stats_count_ioctls)
{
	struct lazyresume_version v;
	long long ioctls, unknown, versions;
	int try;

	for (try = 0; try < 5; try++) {
		ioctls = stat_value("ioctls");
		unknown = stat_value("unknown_ioctls");
		versions = stat_value("version_queries");
		if (ioctls < 0)
			SKIP(return, "%s not readable (debugfs not mounted?)",
			     STATS_PATH);
		ASSERT_LE(0, unknown);
		ASSERT_LE(0, versions);

		ASSERT_EQ(0, ioctl(self->fd, LAZYRESUME_IOC_GET_VERSION, &v));
		ASSERT_EQ(-1, ioctl(self->fd, _IO(LAZYRESUME_IOC_MAGIC, 0x7e)));

		ioctls = stat_value("ioctls") - ioctls;
		unknown = stat_value("unknown_ioctls") - unknown;
		versions = stat_value("version_queries") - versions;
		ASSERT_LE(2, ioctls);
		ASSERT_LE(1, unknown);
		ASSERT_LE(1, versions);
		if (ioctls == 2 && unknown == 1 && versions == 1)
			break;
		TH_LOG("try %d: %lld ioctls, %lld unknown, %lld version queries counted",
		       try, ioctls, unknown, versions);
	}
	EXPECT_EQ(2, ioctls);
	EXPECT_EQ(1, unknown);
	EXPECT_EQ(1, versions);
}

/* A fetch request for @name from 127.0.0.1:9 (nothing listens there). */
static struct lazyresume_tftp_xfer xfer(const char *name)
{
	struct lazyresume_tftp_xfer x;

	memset(&x, 0, sizeof(x));
	x.server[0] = 127;
	x.server[3] = 1;
	x.port = 9;
	x.deadline_ms = 300;
	strncpy(x.filename, name, sizeof(x.filename) - 1);
	return x;
}

/* errno of a failed transfer ioctl, 0 if it succeeded. */
static int xfer_errno(int fd, unsigned long cmd, struct lazyresume_tftp_xfer *x)
{
	errno = 0;
	return ioctl(fd, cmd, x) == -1 ? errno : 0;
}

TEST_F(dev, tftp_rejects_bad_arguments)
{
	struct lazyresume_tftp_xfer x;
	const unsigned long cmds[] = {
		LAZYRESUME_IOC_TFTP_GET, LAZYRESUME_IOC_TFTP_PUT,
	};
	unsigned int i;

	for (i = 0; i < 2; i++) {
		x = xfer("");
		EXPECT_EQ(EINVAL, xfer_errno(self->fd, cmds[i], &x));	/* empty name */

		x = xfer("f");
		memset(x.filename, 'a', sizeof(x.filename));
		EXPECT_EQ(EINVAL, xfer_errno(self->fd, cmds[i], &x));	/* no NUL */

		x = xfer("f");
		x.blksize = 7;
		EXPECT_EQ(EINVAL, xfer_errno(self->fd, cmds[i], &x));	/* blksize below 8 */

		x = xfer("f");
		x.blksize = 65465;
		EXPECT_EQ(EINVAL, xfer_errno(self->fd, cmds[i], &x));	/* blksize above 65464 */

		x = xfer("f");
		x.reserved = 1;
		EXPECT_EQ(EINVAL, xfer_errno(self->fd, cmds[i], &x));

		x = xfer("f");
		x.windowsize = 65;
		EXPECT_EQ(EINVAL, xfer_errno(self->fd, cmds[i], &x));	/* window above 64 */

		x = xfer("f");
		x.server[0] = 224;		/* multicast */
		EXPECT_EQ(EINVAL, xfer_errno(self->fd, cmds[i], &x));

		x = xfer("f");
		memset(x.server, 255, 4);	/* broadcast */
		EXPECT_EQ(EINVAL, xfer_errno(self->fd, cmds[i], &x));

		x = xfer("f");
		x.flags = 0x8000;
		EXPECT_EQ(EINVAL, xfer_errno(self->fd, cmds[i], &x));	/* unknown flag */
	}
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->fd, LAZYRESUME_IOC_TFTP_GET, NULL));
	EXPECT_EQ(EFAULT, errno);
}

TEST_F(dev, tftp_silent_server_times_out_with_extreme_timeouts)
{
	struct lazyresume_tftp_xfer x = xfer("nothing-answers");

	/* Backoff from the largest timeout must neither overflow nor hang. */
	x.rto_ms = 0xffffffff;
	EXPECT_EQ(ETIMEDOUT, xfer_errno(self->fd, LAZYRESUME_IOC_TFTP_GET, &x));
	x = xfer("nothing-answers");
	x.rto_ms = 1;
	x.windowsize = 64;
	x.blksize = 65464;
	EXPECT_EQ(ETIMEDOUT, xfer_errno(self->fd, LAZYRESUME_IOC_TFTP_GET, &x));
}

static long long monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int timeline_errno(int fd, struct lazyresume_timeline *t)
{
	errno = 0;
	return ioctl(fd, LAZYRESUME_IOC_TIMELINE, t) ? errno : 0;
}

TEST_F(dev, timeline_read_and_marks)
{
	struct lazyresume_timeline t;
	struct lazyresume_timeline_sample s[4];
	long long now = monotonic_ns();

	memset(&t, 0, sizeof(t));
	t.op = LAZYRESUME_TIMELINE_READ;
	t.samples = (unsigned long)s;
	t.count = 4;
	ASSERT_EQ(0, timeline_errno(self->fd, &t));
	/* Not resumed here: the module's load is known, on this clock. */
	ASSERT_TRUE(t.known & (1ULL << LAZYRESUME_TL_MODULE_LOADED));
	EXPECT_LT(0, t.event_ns[LAZYRESUME_TL_MODULE_LOADED]);
	EXPECT_GE(now, t.event_ns[LAZYRESUME_TL_MODULE_LOADED]);
	EXPECT_FALSE(t.flags & LAZYRESUME_TIMELINE_RESUMED);
	EXPECT_GE(4u, t.count);
	EXPECT_LT(0u, t.period_ms);

	/* User space marks only the events it sees, not in the future. */
	memset(&t, 0, sizeof(t));
	t.op = LAZYRESUME_TIMELINE_MARK;
	t.event = LAZYRESUME_TL_JUMP;
	EXPECT_EQ(EINVAL, timeline_errno(self->fd, &t));
	t.event = LAZYRESUME_TL_EVENT_SLOTS + 3;
	EXPECT_EQ(EINVAL, timeline_errno(self->fd, &t));
	t.event = LAZYRESUME_TL_HOOK_DONE;
	t.mark_ns = monotonic_ns() + 60 * 1000000000LL;
	EXPECT_EQ(EINVAL, timeline_errno(self->fd, &t));
	t.mark_ns = monotonic_ns() - 1000000;
	ASSERT_EQ(0, timeline_errno(self->fd, &t));
	EXPECT_TRUE(t.known & (1ULL << LAZYRESUME_TL_HOOK_DONE));
	/* Not resumed: this kernel's clock is the timeline's. */
	if (!(t.flags & LAZYRESUME_TIMELINE_RESUMED))
		EXPECT_EQ((long long)t.mark_ns, t.event_ns[LAZYRESUME_TL_HOOK_DONE]);
	t.op = 7;
	EXPECT_EQ(EINVAL, timeline_errno(self->fd, &t));
}

static int mirrors_errno(int fd, struct lazyresume_mirrors *m)
{
	errno = 0;
	return ioctl(fd, LAZYRESUME_IOC_MIRRORS, m) ? errno : 0;
}

TEST_F(dev, mirrors_set_checked_get_counts)
{
	struct lazyresume_mirrors m;
	int i;

	/* Four mirrors at most, unicast, reserved fields zero. */
	memset(&m, 0, sizeof(m));
	m.op = LAZYRESUME_MIRRORS_SET;
	for (i = 0; i < LAZYRESUME_SERVERS_MAX; i++) {
		m.server[i].addr[0] = 10;
		m.server[i].addr[3] = i + 1;
		m.server[i].port = 6900 + i;
	}
	m.count = LAZYRESUME_MIRRORS_MAX + 1;
	EXPECT_EQ(EINVAL, mirrors_errno(self->fd, &m));
	m.count = 2;
	m.server[1].addr[0] = 224;
	EXPECT_EQ(EINVAL, mirrors_errno(self->fd, &m));
	m.server[1].addr[0] = 10;
	m.server[1].returns = 1;
	EXPECT_EQ(EINVAL, mirrors_errno(self->fd, &m));
	m.server[1].returns = 0;
	memset(m.server[0].addr, 0, 4);
	EXPECT_EQ(EINVAL, mirrors_errno(self->fd, &m));
	m.server[0].addr[0] = 10;
	m.count = LAZYRESUME_MIRRORS_MAX;
	EXPECT_EQ(0, mirrors_errno(self->fd, &m));
	/* Cleared again: the list applies to the next resume only. */
	m.count = 0;
	EXPECT_EQ(0, mirrors_errno(self->fd, &m));

	/* The servers of the page store: as many as GET says, counters
	 * that only grow. */
	memset(&m, 0, sizeof(m));
	m.op = LAZYRESUME_MIRRORS_GET;
	ASSERT_EQ(0, mirrors_errno(self->fd, &m));
	EXPECT_GE((__u32)LAZYRESUME_SERVERS_MAX, m.count);
	for (i = m.count; i < LAZYRESUME_SERVERS_MAX; i++) {
		EXPECT_EQ(0, m.server[i].port);
		EXPECT_EQ(0, m.server[i].returns);
	}
	/* Each server's counters in debugfs too, the boot kernel's apart. */
	if (stat_value("fetch_server0_transfers") >= 0) {
		for (i = 0; i < LAZYRESUME_SERVERS_MAX; i++) {
			char name[64];

			snprintf(name, sizeof(name), "fetch_server%d_returns", i);
			EXPECT_LE(0, stat_value(name));
			snprintf(name, sizeof(name), "resume_server%d_failovers", i);
			EXPECT_LE(0, stat_value(name));
			snprintf(name, sizeof(name), "resume_server%d_transfers", i);
			EXPECT_LE(0, stat_value(name));
		}
	}
	m.op = 9;
	EXPECT_EQ(EINVAL, mirrors_errno(self->fd, &m));
}

TEST(open_needs_root_only_mode)
{
	struct stat st;
	int fd;

	OPEN_DEVICE_OR_SKIP(fd);
	close(fd);
	ASSERT_EQ(0, stat(DEV_PATH, &st));
	EXPECT_EQ(0600, st.st_mode & 0777);
}

TEST_HARNESS_MAIN
