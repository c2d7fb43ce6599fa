/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * lazyresume: the /dev/lazyresume ioctl interface.
 *
 * The Rust definitions in userspace/crates/abi/src/lib.rs are the same ABI;
 * a host test (cargo test -p lazyresume-abi) compiles this header and checks
 * that every number, size and offset agrees.
 *
 * Versioning: LAZYRESUME_ABI_MAJOR changes on any incompatible change;
 * LAZYRESUME_ABI_MINOR grows when ioctls or fields are added.  Userspace
 * calls LAZYRESUME_IOC_GET_VERSION first and refuses another major.
 * An ioctl the module does not implement fails with ENOTTY.
 */
#ifndef _UAPI_LINUX_LAZYRESUME_H
#define _UAPI_LINUX_LAZYRESUME_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define LAZYRESUME_ABI_MAJOR 1
#define LAZYRESUME_ABI_MINOR 0

/* ioctl type byte, see Documentation/userspace-api/ioctl/ioctl-number.rst */
#define LAZYRESUME_IOC_MAGIC 0xB9

#define LAZYRESUME_VERSION_LEN 32

/**
 * struct lazyresume_version - what LAZYRESUME_IOC_GET_VERSION returns
 * @abi_major: LAZYRESUME_ABI_MAJOR of the module
 * @abi_minor: LAZYRESUME_ABI_MINOR of the module
 * @features:  LAZYRESUME_FEAT_* bits of what this module implements
 * @version:   the module's version, NUL-terminated
 */
struct lazyresume_version {
	__u32 abi_major;
	__u32 abi_minor;
	__u64 features;
	char version[LAZYRESUME_VERSION_LEN];
};

#define LAZYRESUME_IOC_GET_VERSION \
	_IOR(LAZYRESUME_IOC_MAGIC, 0x00, struct lazyresume_version)

#endif /* _UAPI_LINUX_LAZYRESUME_H */
