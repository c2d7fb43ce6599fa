/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * lazyresume: the /dev/lazyresume ioctl interface.
 *
 * The Rust definitions in userspace/crates/abi/src/abi.rs are the same ABI;
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

#define LAZYRESUME_ABI_MAJOR 3
#define LAZYRESUME_ABI_MINOR 4

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

#define LAZYRESUME_TFTP_FILENAME_LEN 256

/* lazyresume_tftp_xfer.flags */
#define LAZYRESUME_TFTP_NO_DIGEST (1 << 0) /* skip the SHA-256 */
#define LAZYRESUME_TFTP_TWICE (1 << 1) /* GET: twice, on one kept socket */

/**
 * struct lazyresume_tftp_xfer - argument of LAZYRESUME_IOC_TFTP_GET/PUT
 * @server:      in: server IPv4 address, most significant byte first
 * @port:        in: server UDP port, 0 means 69
 * @blksize:     in: blksize option to ask for (8..65464), 0 or 512: none
 * @windowsize:  in: windowsize option to ask for (at most 64), 0 or 1: none
 * @flags:       in: LAZYRESUME_TFTP_* flags
 * @rto_ms:      in: initial retransmission timeout, doubled on each retry
 *               up to 4 s; 0 means 500
 * @deadline_ms: in: deadline of the whole transfer; 0 means 30000
 * @filename:    in: file name, NUL-terminated
 * @reserved:    must be zero
 * @length:      GET: out: file length in bytes; PUT: in: how many bytes of
 *               the test pattern to upload (byte i is the top byte of
 *               i * 0x9E3779B97F4A7C15)
 * @elapsed_ns:  out: time the transfer took
 * @retransmits: out: requests and acknowledgements sent again
 * @blksize_used:    out: block size the server agreed to
 * @windowsize_used: out: window size the server agreed to
 * @sha256:      out: SHA-256 of the data fetched or sent (zero with
 *               LAZYRESUME_TFTP_NO_DIGEST)
 *
 * With LAZYRESUME_TFTP_TWICE, GET fetches the file twice, one transfer
 * after the other on one socket as the fetch engine's workers keep it,
 * and reports the second transfer.
 *
 * Errors: ENOENT (file not found), EACCES (access violation), EEXIST and
 * ENOSPC (upload refused), ETIMEDOUT
 * (no answer within the deadline), EPROTO (protocol violation by the
 * server), EINTR (signal), EINVAL (bad argument, or a server address that
 * is not unicast), EPERM (no CAP_NET_ADMIN: the module's sockets live in
 * the initial network namespace), EFAULT.
 */
struct lazyresume_tftp_xfer {
	__u8 server[4];
	__u16 port;
	__u16 blksize;
	__u16 windowsize;
	__u16 flags;
	__u32 rto_ms;
	__u32 deadline_ms;
	char filename[LAZYRESUME_TFTP_FILENAME_LEN];
	__u32 reserved;
	__u64 length;
	__u64 elapsed_ns;
	__u32 retransmits;
	__u16 blksize_used;
	__u16 windowsize_used;
	__u8 sha256[32];
};

#define LAZYRESUME_IOC_TFTP_GET \
	_IOWR(LAZYRESUME_IOC_MAGIC, 0x01, struct lazyresume_tftp_xfer)
#define LAZYRESUME_IOC_TFTP_PUT \
	_IOWR(LAZYRESUME_IOC_MAGIC, 0x02, struct lazyresume_tftp_xfer)

/**
 * struct lazyresume_evict - argument of LAZYRESUME_IOC_EVICT
 * @start:          in: first byte of the range, page aligned
 * @length:         in: length of the range in bytes, page aligned, not 0
 * @seen:           out: present pages looked at in private anonymous VMAs
 * @evicted:        out: pages turned into lazy entries
 * @skipped_shared: out: mapped more than once (copy-on-write after fork)
 * @skipped_locked: out: mlocked
 * @skipped_large:  out: part of a large folio (never split)
 * @skipped_pinned: out: maybe pinned for DMA
 * @skipped_ksm:    out: KSM page
 * @skipped_zero:   out: the shared zero page
 * @skipped_other:  out: special, device, swap cache, hwpoison or busy page
 *
 * Evicts the private anonymous pages of the range of the calling process
 * into the module's memory backend: each becomes a lazy entry, filled again
 * on first access (see Documentation/lazy-entry.rst).  For tests and
 * benchmarks.  Errors: EPERM (no CAP_SYS_ADMIN), EINVAL (range not page
 * aligned, empty or wrapping), EINTR (fatal signal), ENOMEM, ENOSPC (no
 * more indexes), EFAULT.
 */
struct lazyresume_evict {
	__u64 start;
	__u64 length;
	__u64 seen;
	__u64 evicted;
	__u64 skipped_shared;
	__u64 skipped_locked;
	__u64 skipped_large;
	__u64 skipped_pinned;
	__u64 skipped_ksm;
	__u64 skipped_zero;
	__u64 skipped_other;
};

#define LAZYRESUME_IOC_EVICT \
	_IOWR(LAZYRESUME_IOC_MAGIC, 0x03, struct lazyresume_evict)

/* lazyresume_policy.policy */
#define LAZYRESUME_POLICY_BLOCK 0  /* retry until the backend answers */
#define LAZYRESUME_POLICY_SIGBUS 1 /* SIGBUS after deadline_ms */

/**
 * struct lazyresume_policy - what a fault does while the backend does not
 * answer; argument of LAZYRESUME_IOC_SET_POLICY and _GET_POLICY
 * @policy:      LAZYRESUME_POLICY_BLOCK (the default: the faulting task
 *               waits, and can be killed) or LAZYRESUME_POLICY_SIGBUS
 * @deadline_ms: LAZYRESUME_POLICY_SIGBUS: how long to retry; 0 means 10000
 *
 * A page whose content does not match its hash is fetched three times,
 * then the fault fails with SIGBUS under either policy.  SET needs
 * CAP_SYS_ADMIN; EINVAL for an unknown policy.
 */
struct lazyresume_policy {
	__u32 policy;
	__u32 deadline_ms;
};

#define LAZYRESUME_IOC_SET_POLICY \
	_IOW(LAZYRESUME_IOC_MAGIC, 0x04, struct lazyresume_policy)
#define LAZYRESUME_IOC_GET_POLICY \
	_IOR(LAZYRESUME_IOC_MAGIC, 0x05, struct lazyresume_policy)

/* lazyresume_mem_inject.flags */
#define LAZYRESUME_MEM_NO_VERIFY (1 << 0) /* skip the SHA-256 check */

/**
 * struct lazyresume_mem_inject - fault injection into the memory backend,
 * for tests and benchmarks; argument of LAZYRESUME_IOC_MEM_INJECT (needs
 * CAP_SYS_ADMIN)
 * @offline:         not 0: the backend behaves as if it did not answer
 * @corrupt_fetches: the next this many pages it returns have a byte flipped
 * @flags:           LAZYRESUME_MEM_* flags
 * @reserved:        must be zero
 *
 * Each call replaces the whole setting; all zeroes is the normal backend.
 * EINVAL for unknown flags or a reserved field that is not zero.
 */
struct lazyresume_mem_inject {
	__u32 offline;
	__u32 corrupt_fetches;
	__u32 flags;
	__u32 reserved;
};

#define LAZYRESUME_IOC_MEM_INJECT \
	_IOW(LAZYRESUME_IOC_MAGIC, 0x06, struct lazyresume_mem_inject)

#define LAZYRESUME_TFTP_PREFIX_LEN 128

/* lazyresume_tftp_backend.flags */
#define LAZYRESUME_TFTP_BACKEND_NO_UPLOAD (1 << 0) /* files already there */
/*
 * The files are the LZ4-encoded chunk files of an image of format version
 * 3 (Documentation/image-format.rst): the pages that are not zero, in LZ4
 * blocks, and no file for a chunk of zeros.  Needs
 * LAZYRESUME_TFTP_BACKEND_NO_UPLOAD.  Without it the files are raw, every
 * page of a file in place.  Pages of zeros are never fetched either way.
 */
#define LAZYRESUME_TFTP_BACKEND_LZ4 (1 << 1)
/*
 * Bits 8 to 11: log2 of the pages per file (0 to 6, that is 1 to 64
 * pages), as mmap() encodes huge page sizes.  A fault fetches the whole
 * file of its page and keeps the other pages of it for their own faults:
 * read-ahead.  More than one page per file needs
 * LAZYRESUME_TFTP_BACKEND_NO_UPLOAD.
 */
#define LAZYRESUME_TFTP_BACKEND_CHUNK_SHIFT 8
#define LAZYRESUME_TFTP_BACKEND_CHUNK_MASK 0xf
#define LAZYRESUME_TFTP_BACKEND_CHUNK_MAX_LOG2 6

/**
 * struct lazyresume_tftp_backend - argument of LAZYRESUME_IOC_TFTP_BACKEND
 * @server:     in: server IPv4 address, most significant byte first
 * @port:       in: server UDP port, 0 means 69
 * @blksize:    in: blksize option to ask for, 0 means the file size + 8
 *              (a file is one block), at most 65464
 * @rto_ms:     in: initial retransmission timeout, 0 means 200
 * @flags:      in: LAZYRESUME_TFTP_BACKEND_* flags
 * @prefix:     in: page i is in the file "<prefix><c as 16 lowercase hex
 *              digits>", c = i / pages per file (see the flags);
 *              NUL-terminated
 * @pages:      out: pages now served from the server
 * @elapsed_ns: out: time the uploads took
 *
 * Moves every page the memory backend holds to the server, one file per
 * page (uploaded with the in-kernel client, unless
 * LAZYRESUME_TFTP_BACKEND_NO_UPLOAD), frees them, and from then on fills
 * their lazy entries from the server: the tftp backend.  Each page is
 * still checked against the SHA-256 taken when it was evicted.  One server
 * and prefix at a time: EBUSY if pages are served from another one.
 * Errors: EPERM (needs CAP_SYS_ADMIN and CAP_NET_ADMIN), EINVAL, EBUSY,
 * and the upload errors of LAZYRESUME_IOC_TFTP_PUT (pages moved before the
 * failure stay moved).
 */
struct lazyresume_tftp_backend {
	__u8 server[4];
	__u16 port;
	__u16 blksize;
	__u32 rto_ms;
	__u32 flags;
	char prefix[LAZYRESUME_TFTP_PREFIX_LEN];
	__u64 pages;
	__u64 elapsed_ns;
};

#define LAZYRESUME_IOC_TFTP_BACKEND \
	_IOWR(LAZYRESUME_IOC_MAGIC, 0x07, struct lazyresume_tftp_backend)

/* lazyresume_evict_task.flags */
/*
 * Also evict pages shared copy-on-write with another process (after a
 * fork): every mapping of such a page, in any process, gets the same lazy
 * entry, and the first read after resume maps one page for all of them,
 * shared until one writes (ABI 2.1; from 1.5 to 2.0 each process's
 * mapping got its own entry and, once touched, its own copy).
 */
#define LAZYRESUME_EVICT_SHARED 0x1

/*
 * LAZYRESUME_IOC_EVICT_TASK: like LAZYRESUME_IOC_EVICT, for the process
 * @pid (0: the caller) instead of the caller, with @flags (0 or
 * LAZYRESUME_EVICT_SHARED; before ABI 1.5 the field was reserved and had
 * to be zero).  Used to capture an image, while every other process is
 * frozen.
 */
struct lazyresume_evict_task {
	__u32 pid;
	__u32 flags;
	struct lazyresume_evict range;
};

#define LAZYRESUME_IOC_EVICT_TASK \
	_IOWR(LAZYRESUME_IOC_MAGIC, 0x08, struct lazyresume_evict_task)

/*
 * LAZYRESUME_IOC_PAGE_HASHES: copies the SHA-256 of pages @first to
 * @first + @count - 1 of the page store to the user buffer @hashes
 * (@count * 32 bytes; an index without a page gives 32 zero bytes) and
 * says how many pages the store indexes and how many of them are on the
 * TFTP server.  The capture writes the image manifest from it.
 */
struct lazyresume_page_hashes {
	__u64 first;
	__u64 count;
	__u64 hashes;
	__u64 total;
	__u64 remote;
};

#define LAZYRESUME_IOC_PAGE_HASHES \
	_IOWR(LAZYRESUME_IOC_MAGIC, 0x09, struct lazyresume_page_hashes)

#define LAZYRESUME_IFNAME_LEN 16

/* A client's network identity, handed from the boot kernel to the image. */
struct lazyresume_net_identity {
	char ifname[LAZYRESUME_IFNAME_LEN];
	__u8 mac[6];
	__u16 reserved;
	__u8 addr[4];
	__u8 netmask[4];
	__u8 gateway[4];
	__u8 server[4];
	__u16 port;
	__u16 reserved2;
	__u32 reserved3;
};

#define LAZYRESUME_IMAGE_NAME_LEN 128
#define LAZYRESUME_REASON_LEN 128

/* lazyresume_resume.flags */
#define LAZYRESUME_RESUME_DRY_RUN (1 << 0) /* load, check, do not jump */
#define LAZYRESUME_RESUME_BACKGROUND_OFF (1 << 1) /* resumed: no background */
#define LAZYRESUME_RESUME_RECORD_WORKINGSET (1 << 2) /* resumed: record (2.2) */
#define LAZYRESUME_RESUME_ALLOW_UNSIGNED (1 << 3) /* none needed, bad refused (3.0) */

/*
 * LAZYRESUME_IOC_RESUME: fetches the manifest and pageset1 of image
 * @image from @id.server with the in-kernel TFTP client, checks them,
 * leaves @id for the restored kernel and restores the image.  Returns
 * only on failure (or after a dry run), with @reason saying why; the
 * system then runs on as before.
 *
 * The manifest must carry a signature (manifest.sig) that verifies with
 * a key of the kernel's trusted keyrings; with
 * LAZYRESUME_RESUME_ALLOW_UNSIGNED it may carry none, but one it carries
 * must verify; its name must be @image, and its
 * generation at least @min_generation (3.0).  @generation returns the
 * image's generation, @verified 1 if its signature was checked.
 */
struct lazyresume_resume {
	struct lazyresume_net_identity id;
	char image[LAZYRESUME_IMAGE_NAME_LEN];
	__u16 blksize;
	__u16 windowsize;
	__u32 rto_ms;
	__u32 deadline_ms;
	__u32 flags;
	char reason[LAZYRESUME_REASON_LEN];
	__u64 manifest_bytes;
	__u64 pageset1_bytes;
	__u64 elapsed_ns;
	__u64 min_generation;
	__u64 generation;
	__u32 verified;
	__u32 reserved;
};

#define LAZYRESUME_IOC_RESUME \
	_IOWR(LAZYRESUME_IOC_MAGIC, 0x0A, struct lazyresume_resume)

/*
 * LAZYRESUME_IOC_ADOPT: in the restored kernel, takes over the identity
 * the boot kernel left: pageset2 is fetched from its server from now on,
 * and the caller gets it to configure the interface.  ENOENT: there is no
 * hand-off; ESTALE: it comes from another kernel build.
 */
/* lazyresume_adopt.flags */
#define LAZYRESUME_ADOPT_BACKGROUND_OFF (1 << 0) /* resumed with it */
#define LAZYRESUME_ADOPT_RECORD_WORKINGSET (1 << 1) /* recording started */

struct lazyresume_adopt {
	struct lazyresume_net_identity id;
	char image[LAZYRESUME_IMAGE_NAME_LEN];
	__u32 flags;
	__u32 reserved;
};

#define LAZYRESUME_IOC_ADOPT \
	_IOR(LAZYRESUME_IOC_MAGIC, 0x0B, struct lazyresume_adopt)

/* lazyresume_status.flags */
#define LAZYRESUME_STATUS_RESUMED (1 << 0) /* this system was resumed */
#define LAZYRESUME_STATUS_COMPLETE (1 << 1) /* every page local: no server */

/*
 * LAZYRESUME_IOC_STATUS: what `lazyresume status` shows.  The fetch
 * engine's part: @complete_after_ns, with LAZYRESUME_STATUS_COMPLETE, is
 * when (after the resume) the last lazy entry was filled; @urgent_* count
 * the transfers faults waited for, with the latency of those faults (p50
 * and p99, upper bounds of power-of-two buckets); @background_* the
 * transfers of the background lane and the time it spent in them;
 * @pages_installed the pages the background put into page tables;
 * @pages_local the pages fetched and not installed yet; @background and
 * @rate_mib as set by LAZYRESUME_IOC_SET_BACKGROUND.
 */
struct lazyresume_status {
	__u64 pages_outstanding;
	__u64 pages_fetched;
	__u64 bytes_fetched;
	__u64 fetch_failures;
	__u64 latency_count;
	__u64 latency_mean_ns;
	__u64 latency_max_ns;
	__u64 since_resume_ns;
	__u64 complete_after_ns;
	__u64 urgent_pages;
	__u64 urgent_bytes;
	__u64 urgent_p50_ns;
	__u64 urgent_p99_ns;
	__u64 background_pages;
	__u64 background_bytes;
	__u64 background_busy_ns;
	__u64 pages_installed;
	__u64 pages_local;
	__u32 background;
	__u32 rate_mib;
	__u8 server[4];
	__u16 port;
	__u16 flags;
	char prefix[LAZYRESUME_TFTP_PREFIX_LEN];
};

#define LAZYRESUME_IOC_STATUS \
	_IOR(LAZYRESUME_IOC_MAGIC, 0x0C, struct lazyresume_status)

/*
 * LAZYRESUME_IOC_READ_PAGES: copies pages @first to @first + @count - 1
 * of the memory backend into the user buffer @buf (@count pages); ENODATA
 * if one of them is not held in memory.  The capture uploads or writes
 * pageset2 from it.
 */
struct lazyresume_read_pages {
	__u64 first;
	__u64 count;
	__u64 buf;
};

#define LAZYRESUME_IOC_READ_PAGES \
	_IOW(LAZYRESUME_IOC_MAGIC, 0x0D, struct lazyresume_read_pages)

/* lazyresume_background.mode */
#define LAZYRESUME_BACKGROUND_FULL 0 /* stream the rest (the default) */
#define LAZYRESUME_BACKGROUND_IDLE 1 /* only while no fault is waiting */
#define LAZYRESUME_BACKGROUND_OFF 2  /* fetch only what faults ask for */

/**
 * struct lazyresume_background - the background lane of the fetch engine;
 * argument of LAZYRESUME_IOC_SET_BACKGROUND
 * @mode:     LAZYRESUME_BACKGROUND_*
 * @rate_mib: at most this many MiB/s; 0: no limit
 *
 * After a resume the engine fetches the pages no fault asked for yet, in
 * order from just after the last page a fault asked for, and puts them
 * into the page tables of the processes that map them.  Needs
 * CAP_SYS_ADMIN; EINVAL for an unknown mode.
 */
struct lazyresume_background {
	__u32 mode;
	__u32 rate_mib;
};

#define LAZYRESUME_IOC_SET_BACKGROUND \
	_IOW(LAZYRESUME_IOC_MAGIC, 0x0E, struct lazyresume_background)

/* lazyresume_workingset.op (ABI 2.2) */
#define LAZYRESUME_WORKINGSET_QUERY 0 /* report only */
#define LAZYRESUME_WORKINGSET_START 1 /* record first touches anew */
#define LAZYRESUME_WORKINGSET_STOP 2  /* stop recording */
#define LAZYRESUME_WORKINGSET_READ 3  /* copy entries to @buf */
/* lazyresume_workingset.flags */
#define LAZYRESUME_WORKINGSET_RECORDING (1 << 0) /* a recording runs */
/* lazyresume_workingset.loadset */
#define LAZYRESUME_LOADSET_NONE 0    /* nothing to fetch */
#define LAZYRESUME_LOADSET_PENDING 1 /* to fetch, or being fetched */
#define LAZYRESUME_LOADSET_DONE 2    /* fetched, pages kept */
#define LAZYRESUME_LOADSET_REFUSED 3 /* refused; the kernel log says why */
#define LAZYRESUME_LOADSET_MISSING 4 /* the image has none */
#define LAZYRESUME_LOADSET_STOPPED 5 /* stream: stopped (ABI 3.2) */

/**
 * struct lazyresume_workingset - argument of LAZYRESUME_IOC_WORKINGSET:
 * the recording of the order in which pageset2 pages are first touched
 * after a resume, and the loading set a resumed client fetched
 * @op:            LAZYRESUME_WORKINGSET_*
 * @flags:         out: LAZYRESUME_WORKINGSET_RECORDING
 * @max_pages:     START: stop after this many pages (0: all of pageset2)
 * @max_ms:        START: stop after this many milliseconds (0: never)
 * @first:         READ: first entry to copy
 * @count:         READ: entries @buf holds (at most 65536)
 * @buf:           READ: user address of @count __u64 page indexes
 * @recorded:      out: entries recorded, in first-touch order
 * @loadset_pages: out: pages the loading set brought that were needed
 * @loadset_bytes: out: bytes of the loading set fetched
 * @loadset:       out: LAZYRESUME_LOADSET_*
 * @stream:        in: zero; out: LAZYRESUME_LOADSET_* of the image's
 *                 stream, which the background lane fetches first when it
 *                 runs at full speed; STOPPED when it stopped before its
 *                 end: the lane left full speed, a recording started, or
 *                 its transfer failed after it brought pages (ABI 3.2)
 */
struct lazyresume_workingset {
	__u32 op;
	__u32 flags;
	__u64 max_pages;
	__u64 max_ms;
	__u64 first;
	__u64 count;
	__u64 buf;
	__u64 recorded;
	__u64 loadset_pages;
	__u64 loadset_bytes;
	__u32 loadset;
	__u32 stream;
};

#define LAZYRESUME_IOC_WORKINGSET \
	_IOWR(LAZYRESUME_IOC_MAGIC, 0x0F, struct lazyresume_workingset)

/* lazyresume_timeline.op (ABI 3.1) */
#define LAZYRESUME_TIMELINE_READ 0 /* events, and samples to @samples */
#define LAZYRESUME_TIMELINE_MARK 1 /* @event happened at @mark_ns */
/* lazyresume_timeline.event_ns[] indexes: boot kernel, then restored */
#define LAZYRESUME_TL_MODULE_LOADED 0
#define LAZYRESUME_TL_RESUME_REQUESTED 1
#define LAZYRESUME_TL_MANIFEST_FETCHED 2
#define LAZYRESUME_TL_MANIFEST_VERIFIED 3
#define LAZYRESUME_TL_PAGESET1_FETCHED 4
#define LAZYRESUME_TL_PAGESET1_DECODED 5
#define LAZYRESUME_TL_JUMP 6
#define LAZYRESUME_TL_DEVICES_RESUMED 7 /* marked by user space */
#define LAZYRESUME_TL_ADOPTED 8
#define LAZYRESUME_TL_THAWED 9 /* marked by user space */
#define LAZYRESUME_TL_HOOK_DONE 10 /* marked by user space */
#define LAZYRESUME_TL_FIRST_FAULT 11
#define LAZYRESUME_TL_LOADSET_DONE 12
#define LAZYRESUME_TL_COMPLETE 13
#define LAZYRESUME_TL_FIRST_ANSWER 14 /* marked by an application */
#define LAZYRESUME_TL_EVENTS 15
#define LAZYRESUME_TL_EVENT_SLOTS 16
/* lazyresume_timeline.flags */
#define LAZYRESUME_TIMELINE_RESUMED (1 << 0) /* boot events from the hand-off */
#define LAZYRESUME_TIMELINE_GAP_MEASURED (1 << 1) /* jump..adopt measured */
#define LAZYRESUME_TIMELINE_SAMPLING (1 << 2) /* samples still taken */

/**
 * struct lazyresume_timeline_sample - the pages of each lane at @t_ns
 */
struct lazyresume_timeline_sample {
	__s64 t_ns;
	__u64 urgent_pages;
	__u64 workingset_pages;
	__u64 background_pages;
	__u64 installed_pages;
};

/**
 * struct lazyresume_timeline - argument of LAZYRESUME_IOC_TIMELINE: the
 * resume as a timeline on one clock, the boot kernel's CLOCK_MONOTONIC
 * in nanoseconds; the restored kernel's times are placed after the jump
 * by the time from the jump to the adoption (measured with the CPU's
 * time-stamp counter when LAZYRESUME_TIMELINE_GAP_MEASURED, else taken
 * as zero)
 * @op:        LAZYRESUME_TIMELINE_*
 * @event:     MARK: LAZYRESUME_TL_DEVICES_RESUMED, _THAWED, _HOOK_DONE
 *             or _FIRST_ANSWER (only its first mark counts)
 * @mark_ns:   MARK: its CLOCK_MONOTONIC time (0: now)
 * @samples:   READ: user address of @count samples, or 0
 * @count:     READ: in, room at @samples; out, samples copied
 * @total:     out: samples held (a ring: when full every other one is
 *             dropped and @period_ms doubles)
 * @period_ms: out: sampling period
 * @flags:     out: LAZYRESUME_TIMELINE_*
 * @known:     out: bit LAZYRESUME_TL_* set if that event happened
 * @event_ns:  out: time of each event
 *
 * READ needs no privilege; MARK needs CAP_SYS_ADMIN.
 */
struct lazyresume_timeline {
	__u32 op;
	__u32 event;
	__u64 mark_ns;
	__u64 samples;
	__u32 count;
	__u32 total;
	__u32 period_ms;
	__u32 flags;
	__u64 known;
	__s64 event_ns[LAZYRESUME_TL_EVENT_SLOTS];
};

#define LAZYRESUME_IOC_TIMELINE \
	_IOWR(LAZYRESUME_IOC_MAGIC, 0x10, struct lazyresume_timeline)

/* lazyresume_mirrors.op (ABI 3.3) */
#define LAZYRESUME_MIRRORS_SET 0 /* the mirrors of the next resume */
#define LAZYRESUME_MIRRORS_GET 1 /* the servers in use, and their counters */
#define LAZYRESUME_MIRRORS_MAX 4 /* mirrors besides the primary server */
#define LAZYRESUME_SERVERS_MAX 5 /* the primary and its mirrors */

/**
 * struct lazyresume_server - a TFTP server
 * @addr:     IPv4 address, most significant byte first
 * @port:     UDP port, 0 means 69
 * @returns:  LAZYRESUME_MIRRORS_SET: must be zero (it was @reserved
 *            before ABI 3.4); LAZYRESUME_MIRRORS_GET (ABI 3.4): times a
 *            fetcher that had left this server for silence came back to
 *            it and it answered, saturating at 65535
 */
struct lazyresume_server {
	__u8 addr[4];
	__u16 port;
	__u16 returns;
};

/**
 * struct lazyresume_mirrors - argument of LAZYRESUME_IOC_MIRRORS (ABI 3.3):
 * the servers that hold the same image as the primary one
 * @op:        LAZYRESUME_MIRRORS_*
 * @count:     SET: in, mirrors in @server (at most LAZYRESUME_MIRRORS_MAX);
 *             GET: out, servers in use (first the one the boot
 *             kernel fetched pageset1 from: the primary, unless it
 *             failed over; then the others in their order; 0 if pages
 *             come from no server)
 * @server:    SET: in, the mirrors; GET: out, the servers
 * @transfers: GET: out, transfers each server answered during this
 *             resume, the boot kernel's included (ABI 3.4)
 * @failovers: GET: out, transfers of each server that found no answer,
 *             after which the fetcher (or the boot kernel, ABI 3.4) went
 *             on with the next server
 *
 * SET (CAP_SYS_ADMIN and CAP_NET_ADMIN) names the mirrors of the primary
 * server of the next LAZYRESUME_IOC_RESUME (@id.server): a transfer of
 * the manifest or pageset1 that finds no answer goes on from the next
 * server; the restored kernel fetches pageset2 from all of them, and a
 * fetcher whose server stops answering moves to the next.  What a
 * server sends is checked as before (signature and hashes), whichever
 * it is.  Count 0 clears the list.  EINVAL for more than
 * LAZYRESUME_MIRRORS_MAX mirrors, an address that is not unicast or a
 * reserved field that is not zero.  GET needs no privilege.
 */
struct lazyresume_mirrors {
	__u32 op;
	__u32 count;
	struct lazyresume_server server[LAZYRESUME_SERVERS_MAX];
	__u64 transfers[LAZYRESUME_SERVERS_MAX];
	__u64 failovers[LAZYRESUME_SERVERS_MAX];
};

#define LAZYRESUME_IOC_MIRRORS \
	_IOWR(LAZYRESUME_IOC_MAGIC, 0x11, struct lazyresume_mirrors)

#endif /* _UAPI_LINUX_LAZYRESUME_H */
