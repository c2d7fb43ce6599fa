// SPDX-License-Identifier: GPL-2.0
/*
 * The production module, lazyresume.ko, refuses the requests only the
 * tests use (they are in lazyresume_test.ko, Documentation/ioctl.rst):
 * each is ENOTTY, counted as an unknown ioctl, while the production
 * requests still answer.
 *
 * Loads lazyresume.ko for each test (unloading lazyresume_test.ko if it
 * is loaded) and puts back what was loaded before: the test module, or
 * nothing. Skips when the kernel has no lazyresume module.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <linux/lazyresume.h>

#include "kselftest_harness.h"
#include "lazy_dev.h"

FIXTURE(prod) {
	int fd;
	int had_test_module;	/* loaded before the test: load it again */
	int had_prod_module;	/* loaded before the test: leave it */
};

/* A test-only request, with an argument of its size (zeroed). */
FIXTURE_VARIANT(prod) {
	unsigned long cmd;
	size_t size;
};

FIXTURE_VARIANT_ADD(prod, evict) {
	.cmd = LAZYRESUME_IOC_EVICT,
	.size = sizeof(struct lazyresume_evict),
};

FIXTURE_VARIANT_ADD(prod, mem_inject) {
	.cmd = LAZYRESUME_IOC_MEM_INJECT,
	.size = sizeof(struct lazyresume_mem_inject),
};

FIXTURE_VARIANT_ADD(prod, tftp_get) {
	.cmd = LAZYRESUME_IOC_TFTP_GET,
	.size = sizeof(struct lazyresume_tftp_xfer),
};

FIXTURE_VARIANT_ADD(prod, tftp_put) {
	.cmd = LAZYRESUME_IOC_TFTP_PUT,
	.size = sizeof(struct lazyresume_tftp_xfer),
};

/* Puts back the module that was loaded before the test, if any. */
static void restore_modules(struct __test_metadata *_metadata,
			    FIXTURE_DATA(prod) *self)
{
	if (!self->had_prod_module && module_loaded(PROD_MODULE))
		EXPECT_EQ(0, system("modprobe -r " PROD_MODULE));
	if (self->had_test_module && !module_loaded(TEST_MODULE))
		EXPECT_EQ(0, system("modprobe " TEST_MODULE));
}

FIXTURE_SETUP(prod)
{
	self->fd = -1;
	self->had_test_module = module_loaded(TEST_MODULE);
	self->had_prod_module = module_loaded(PROD_MODULE);
	if (!module_available(PROD_MODULE))
		SKIP(return, "no lazyresume module for this kernel");
	/* Each step undoes what it changed before it fails the test. */
	if (self->had_test_module && system("modprobe -r " TEST_MODULE)) {
		ASSERT_TRUE(0) TH_LOG("cannot unload " TEST_MODULE);
	}
	if (!self->had_prod_module && system("modprobe " PROD_MODULE)) {
		restore_modules(_metadata, self);
		ASSERT_TRUE(0) TH_LOG("cannot load " PROD_MODULE);
	}
	self->fd = open(DEV_PATH, O_RDONLY);
	if (self->fd < 0) {
		restore_modules(_metadata, self);
		ASSERT_LE(0, self->fd);
	}
}

FIXTURE_TEARDOWN(prod)
{
	if (self->fd >= 0)
		close(self->fd);
	restore_modules(_metadata, self);
}

TEST_F(prod, refused)
{
	struct lazyresume_version version;
	unsigned char arg[4096];
	long long unknown;

	ASSERT_LE(variant->size, sizeof(arg));
	memset(arg, 0, sizeof(arg));
	unknown = stat_value("unknown_ioctls");
	ASSERT_LE(0, unknown);
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->fd, variant->cmd, arg));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(unknown + 1, stat_value("unknown_ioctls"));
	/* The production requests answer. */
	memset(&version, 0, sizeof(version));
	EXPECT_EQ(0, ioctl(self->fd, LAZYRESUME_IOC_GET_VERSION, &version));
	EXPECT_EQ(LAZYRESUME_ABI_MAJOR, version.abi_major);
}

TEST_HARNESS_MAIN
