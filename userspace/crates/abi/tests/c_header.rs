// SPDX-License-Identifier: GPL-2.0

//! The Rust ABI and `include/uapi/linux/lazyresume.h` must agree: compile a
//! C program against the header and compare every number it prints.

use lazyresume_abi as abi;
use std::path::PathBuf;
use std::process::Command;

const PROBE: &str = r#"
#include <stddef.h>
#include <stdio.h>
#include <linux/lazyresume.h>
int main(void)
{
	printf("ABI_MAJOR %u\n", LAZYRESUME_ABI_MAJOR);
	printf("ABI_MINOR %u\n", LAZYRESUME_ABI_MINOR);
	printf("IOC_MAGIC %u\n", LAZYRESUME_IOC_MAGIC);
	printf("VERSION_LEN %u\n", LAZYRESUME_VERSION_LEN);
	printf("VERSION_SIZE %zu\n", sizeof(struct lazyresume_version));
	printf("OFF_abi_minor %zu\n", offsetof(struct lazyresume_version, abi_minor));
	printf("OFF_features %zu\n", offsetof(struct lazyresume_version, features));
	printf("OFF_version %zu\n", offsetof(struct lazyresume_version, version));
	printf("IOC_GET_VERSION %lu\n", (unsigned long)LAZYRESUME_IOC_GET_VERSION);
	printf("TFTP_FILENAME_LEN %u\n", LAZYRESUME_TFTP_FILENAME_LEN);
	printf("TFTP_NO_DIGEST %u\n", LAZYRESUME_TFTP_NO_DIGEST);
	printf("TFTP_TWICE %u\n", LAZYRESUME_TFTP_TWICE);
	printf("TFTP_XFER_SIZE %zu\n", sizeof(struct lazyresume_tftp_xfer));
#define OFF(f) printf("TG_" #f " %zu\n", offsetof(struct lazyresume_tftp_xfer, f))
	OFF(port); OFF(blksize); OFF(windowsize); OFF(flags); OFF(rto_ms);
	OFF(deadline_ms); OFF(filename); OFF(reserved); OFF(length);
	OFF(elapsed_ns); OFF(retransmits); OFF(blksize_used);
	OFF(windowsize_used); OFF(sha256);
	printf("IOC_TFTP_GET %lu\n", (unsigned long)LAZYRESUME_IOC_TFTP_GET);
	printf("IOC_TFTP_PUT %lu\n", (unsigned long)LAZYRESUME_IOC_TFTP_PUT);
	printf("EVICT_SIZE %zu\n", sizeof(struct lazyresume_evict));
#define EV(f) printf("EV_" #f " %zu\n", offsetof(struct lazyresume_evict, f))
	EV(length); EV(seen); EV(evicted); EV(skipped_shared);
	EV(skipped_locked); EV(skipped_large); EV(skipped_pinned);
	EV(skipped_ksm); EV(skipped_zero); EV(skipped_other);
	printf("IOC_EVICT %lu\n", (unsigned long)LAZYRESUME_IOC_EVICT);
	printf("POLICY_BLOCK %u\n", LAZYRESUME_POLICY_BLOCK);
	printf("POLICY_SIGBUS %u\n", LAZYRESUME_POLICY_SIGBUS);
	printf("POLICY_SIZE %zu\n", sizeof(struct lazyresume_policy));
	printf("PO_deadline_ms %zu\n", offsetof(struct lazyresume_policy, deadline_ms));
	printf("IOC_SET_POLICY %lu\n", (unsigned long)LAZYRESUME_IOC_SET_POLICY);
	printf("IOC_GET_POLICY %lu\n", (unsigned long)LAZYRESUME_IOC_GET_POLICY);
	printf("MEM_INJECT_SIZE %zu\n", sizeof(struct lazyresume_mem_inject));
	printf("MI_corrupt_fetches %zu\n", offsetof(struct lazyresume_mem_inject, corrupt_fetches));
	printf("MI_flags %zu\n", offsetof(struct lazyresume_mem_inject, flags));
	printf("MI_reserved %zu\n", offsetof(struct lazyresume_mem_inject, reserved));
	printf("MEM_NO_VERIFY %u\n", LAZYRESUME_MEM_NO_VERIFY);
	printf("IOC_MEM_INJECT %lu\n", (unsigned long)LAZYRESUME_IOC_MEM_INJECT);
	printf("TFTP_PREFIX_LEN %u\n", LAZYRESUME_TFTP_PREFIX_LEN);
	printf("TFTP_BACKEND_NO_UPLOAD %u\n", LAZYRESUME_TFTP_BACKEND_NO_UPLOAD);
	printf("TFTP_BACKEND_LZ4 %u\n", LAZYRESUME_TFTP_BACKEND_LZ4);
	printf("TFTP_BACKEND_CHUNK_SHIFT %u\n", LAZYRESUME_TFTP_BACKEND_CHUNK_SHIFT);
	printf("EVICT_SHARED %u\n", LAZYRESUME_EVICT_SHARED);
	printf("TFTP_BACKEND_CHUNK_MASK %u\n", LAZYRESUME_TFTP_BACKEND_CHUNK_MASK);
	printf("TFTP_BACKEND_CHUNK_MAX_LOG2 %u\n", LAZYRESUME_TFTP_BACKEND_CHUNK_MAX_LOG2);
	printf("TFTP_BACKEND_SIZE %zu\n", sizeof(struct lazyresume_tftp_backend));
#define TB(f) printf("TB_" #f " %zu\n", offsetof(struct lazyresume_tftp_backend, f))
	TB(port); TB(blksize); TB(rto_ms); TB(flags); TB(prefix); TB(pages);
	TB(elapsed_ns);
	printf("IOC_TFTP_BACKEND %lu\n", (unsigned long)LAZYRESUME_IOC_TFTP_BACKEND);
#define SZ(name, t) printf(name " %zu\n", sizeof(struct t))
#define OF(t, f) printf(#t "." #f " %zu\n", offsetof(struct t, f))
	SZ("EVICT_TASK_SIZE", lazyresume_evict_task);
	OF(lazyresume_evict_task, flags); OF(lazyresume_evict_task, range);
	printf("IOC_EVICT_TASK %lu\n", (unsigned long)LAZYRESUME_IOC_EVICT_TASK);
	SZ("PAGE_HASHES_SIZE", lazyresume_page_hashes);
	OF(lazyresume_page_hashes, count); OF(lazyresume_page_hashes, hashes);
	OF(lazyresume_page_hashes, total); OF(lazyresume_page_hashes, remote);
	printf("IOC_PAGE_HASHES %lu\n", (unsigned long)LAZYRESUME_IOC_PAGE_HASHES);
	printf("IFNAME_LEN %u\n", LAZYRESUME_IFNAME_LEN);
	printf("IMAGE_NAME_LEN %u\n", LAZYRESUME_IMAGE_NAME_LEN);
	printf("REASON_LEN %u\n", LAZYRESUME_REASON_LEN);
	SZ("NET_IDENTITY_SIZE", lazyresume_net_identity);
	OF(lazyresume_net_identity, mac); OF(lazyresume_net_identity, reserved);
	OF(lazyresume_net_identity, addr); OF(lazyresume_net_identity, netmask);
	OF(lazyresume_net_identity, gateway); OF(lazyresume_net_identity, server);
	OF(lazyresume_net_identity, port); OF(lazyresume_net_identity, reserved2);
	OF(lazyresume_net_identity, reserved3);
	printf("RESUME_DRY_RUN %u\n", LAZYRESUME_RESUME_DRY_RUN);
	SZ("RESUME_SIZE", lazyresume_resume);
	OF(lazyresume_resume, image); OF(lazyresume_resume, blksize);
	OF(lazyresume_resume, windowsize); OF(lazyresume_resume, rto_ms);
	OF(lazyresume_resume, deadline_ms); OF(lazyresume_resume, flags);
	OF(lazyresume_resume, reason); OF(lazyresume_resume, manifest_bytes);
	OF(lazyresume_resume, pageset1_bytes); OF(lazyresume_resume, elapsed_ns);
	OF(lazyresume_resume, min_generation); OF(lazyresume_resume, generation);
	OF(lazyresume_resume, verified); OF(lazyresume_resume, reserved);
	printf("RESUME_ALLOW_UNSIGNED %u\n", LAZYRESUME_RESUME_ALLOW_UNSIGNED);
	printf("IOC_RESUME %lu\n", (unsigned long)LAZYRESUME_IOC_RESUME);
	SZ("ADOPT_SIZE", lazyresume_adopt);
	OF(lazyresume_adopt, image); OF(lazyresume_adopt, flags);
	OF(lazyresume_adopt, reserved);
	printf("RESUME_BACKGROUND_OFF %u\n", LAZYRESUME_RESUME_BACKGROUND_OFF);
	printf("ADOPT_BACKGROUND_OFF %u\n", LAZYRESUME_ADOPT_BACKGROUND_OFF);
	printf("IOC_ADOPT %lu\n", (unsigned long)LAZYRESUME_IOC_ADOPT);
	printf("STATUS_RESUMED %u\n", LAZYRESUME_STATUS_RESUMED);
	printf("STATUS_COMPLETE %u\n", LAZYRESUME_STATUS_COMPLETE);
	SZ("STATUS_SIZE", lazyresume_status);
	OF(lazyresume_status, pages_fetched); OF(lazyresume_status, bytes_fetched);
	OF(lazyresume_status, fetch_failures); OF(lazyresume_status, latency_count);
	OF(lazyresume_status, latency_mean_ns); OF(lazyresume_status, latency_max_ns);
	OF(lazyresume_status, since_resume_ns);
	OF(lazyresume_status, complete_after_ns); OF(lazyresume_status, urgent_pages);
	OF(lazyresume_status, urgent_bytes); OF(lazyresume_status, urgent_p50_ns);
	OF(lazyresume_status, urgent_p99_ns); OF(lazyresume_status, background_pages);
	OF(lazyresume_status, background_bytes);
	OF(lazyresume_status, background_busy_ns);
	OF(lazyresume_status, pages_installed); OF(lazyresume_status, pages_local);
	OF(lazyresume_status, background); OF(lazyresume_status, rate_mib);
	OF(lazyresume_status, server);
	OF(lazyresume_status, port); OF(lazyresume_status, flags);
	OF(lazyresume_status, prefix);
	printf("IOC_STATUS %lu\n", (unsigned long)LAZYRESUME_IOC_STATUS);
	SZ("READ_PAGES_SIZE", lazyresume_read_pages);
	OF(lazyresume_read_pages, count); OF(lazyresume_read_pages, buf);
	printf("IOC_READ_PAGES %lu\n", (unsigned long)LAZYRESUME_IOC_READ_PAGES);
	printf("BACKGROUND_FULL %u\n", LAZYRESUME_BACKGROUND_FULL);
	printf("BACKGROUND_IDLE %u\n", LAZYRESUME_BACKGROUND_IDLE);
	printf("BACKGROUND_OFF %u\n", LAZYRESUME_BACKGROUND_OFF);
	SZ("BACKGROUND_SIZE", lazyresume_background);
	OF(lazyresume_background, rate_mib);
	printf("IOC_SET_BACKGROUND %lu\n", (unsigned long)LAZYRESUME_IOC_SET_BACKGROUND);
	printf("RESUME_RECORD_WORKINGSET %u\n", LAZYRESUME_RESUME_RECORD_WORKINGSET);
	printf("ADOPT_RECORD_WORKINGSET %u\n", LAZYRESUME_ADOPT_RECORD_WORKINGSET);
	printf("WORKINGSET_QUERY %u\n", LAZYRESUME_WORKINGSET_QUERY);
	printf("WORKINGSET_START %u\n", LAZYRESUME_WORKINGSET_START);
	printf("WORKINGSET_STOP %u\n", LAZYRESUME_WORKINGSET_STOP);
	printf("WORKINGSET_READ %u\n", LAZYRESUME_WORKINGSET_READ);
	printf("WORKINGSET_RECORDING %u\n", LAZYRESUME_WORKINGSET_RECORDING);
	printf("LOADSET_NONE %u\n", LAZYRESUME_LOADSET_NONE);
	printf("LOADSET_PENDING %u\n", LAZYRESUME_LOADSET_PENDING);
	printf("LOADSET_DONE %u\n", LAZYRESUME_LOADSET_DONE);
	printf("LOADSET_REFUSED %u\n", LAZYRESUME_LOADSET_REFUSED);
	printf("LOADSET_MISSING %u\n", LAZYRESUME_LOADSET_MISSING);
	printf("LOADSET_STOPPED %u\n", LAZYRESUME_LOADSET_STOPPED);
	SZ("WORKINGSET_SIZE", lazyresume_workingset);
	OF(lazyresume_workingset, flags); OF(lazyresume_workingset, max_pages);
	OF(lazyresume_workingset, max_ms); OF(lazyresume_workingset, first);
	OF(lazyresume_workingset, count); OF(lazyresume_workingset, buf);
	OF(lazyresume_workingset, recorded);
	OF(lazyresume_workingset, loadset_pages);
	OF(lazyresume_workingset, loadset_bytes);
	OF(lazyresume_workingset, loadset); OF(lazyresume_workingset, stream);
	printf("IOC_WORKINGSET %lu\n", (unsigned long)LAZYRESUME_IOC_WORKINGSET);
	printf("TIMELINE_READ %u\n", LAZYRESUME_TIMELINE_READ);
	printf("TIMELINE_MARK %u\n", LAZYRESUME_TIMELINE_MARK);
	printf("TL_MODULE_LOADED %u\n", LAZYRESUME_TL_MODULE_LOADED);
	printf("TL_RESUME_REQUESTED %u\n", LAZYRESUME_TL_RESUME_REQUESTED);
	printf("TL_MANIFEST_FETCHED %u\n", LAZYRESUME_TL_MANIFEST_FETCHED);
	printf("TL_MANIFEST_VERIFIED %u\n", LAZYRESUME_TL_MANIFEST_VERIFIED);
	printf("TL_PAGESET1_FETCHED %u\n", LAZYRESUME_TL_PAGESET1_FETCHED);
	printf("TL_PAGESET1_DECODED %u\n", LAZYRESUME_TL_PAGESET1_DECODED);
	printf("TL_JUMP %u\n", LAZYRESUME_TL_JUMP);
	printf("TL_DEVICES_RESUMED %u\n", LAZYRESUME_TL_DEVICES_RESUMED);
	printf("TL_ADOPTED %u\n", LAZYRESUME_TL_ADOPTED);
	printf("TL_THAWED %u\n", LAZYRESUME_TL_THAWED);
	printf("TL_HOOK_DONE %u\n", LAZYRESUME_TL_HOOK_DONE);
	printf("TL_FIRST_FAULT %u\n", LAZYRESUME_TL_FIRST_FAULT);
	printf("TL_LOADSET_DONE %u\n", LAZYRESUME_TL_LOADSET_DONE);
	printf("TL_COMPLETE %u\n", LAZYRESUME_TL_COMPLETE);
	printf("TL_FIRST_ANSWER %u\n", LAZYRESUME_TL_FIRST_ANSWER);
	printf("TL_EVENTS %u\n", LAZYRESUME_TL_EVENTS);
	printf("TL_EVENT_SLOTS %u\n", LAZYRESUME_TL_EVENT_SLOTS);
	printf("TIMELINE_RESUMED %u\n", LAZYRESUME_TIMELINE_RESUMED);
	printf("TIMELINE_GAP_MEASURED %u\n", LAZYRESUME_TIMELINE_GAP_MEASURED);
	printf("TIMELINE_SAMPLING %u\n", LAZYRESUME_TIMELINE_SAMPLING);
	SZ("TIMELINE_SAMPLE_SIZE", lazyresume_timeline_sample);
	OF(lazyresume_timeline_sample, urgent_pages);
	OF(lazyresume_timeline_sample, workingset_pages);
	OF(lazyresume_timeline_sample, background_pages);
	OF(lazyresume_timeline_sample, installed_pages);
	SZ("TIMELINE_SIZE", lazyresume_timeline);
	OF(lazyresume_timeline, event); OF(lazyresume_timeline, mark_ns);
	OF(lazyresume_timeline, samples); OF(lazyresume_timeline, count);
	OF(lazyresume_timeline, total); OF(lazyresume_timeline, period_ms);
	OF(lazyresume_timeline, flags); OF(lazyresume_timeline, known);
	OF(lazyresume_timeline, event_ns);
	printf("IOC_TIMELINE %lu\n", (unsigned long)LAZYRESUME_IOC_TIMELINE);
	printf("MIRRORS_SET %u\n", LAZYRESUME_MIRRORS_SET);
	printf("MIRRORS_GET %u\n", LAZYRESUME_MIRRORS_GET);
	printf("MIRRORS_MAX %u\n", LAZYRESUME_MIRRORS_MAX);
	printf("SERVERS_MAX %u\n", LAZYRESUME_SERVERS_MAX);
	SZ("SERVER_SIZE", lazyresume_server);
	OF(lazyresume_server, port); OF(lazyresume_server, returns);
	SZ("MIRRORS_SIZE", lazyresume_mirrors);
	OF(lazyresume_mirrors, count); OF(lazyresume_mirrors, server);
	OF(lazyresume_mirrors, transfers); OF(lazyresume_mirrors, failovers);
	printf("IOC_MIRRORS %lu\n", (unsigned long)LAZYRESUME_IOC_MIRRORS);
	return 0;
}
"#;

fn c_values() -> Vec<(String, u64)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../..");
    let dir = std::env::temp_dir().join(format!("lazyresume-abi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("probe.c");
    let bin = dir.join("probe");
    std::fs::write(&src, PROBE).unwrap();
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let st = Command::new(cc)
        .arg("-Wall")
        .arg("-Werror")
        .arg("-I")
        .arg(root.join("include/uapi"))
        .arg(&src)
        .arg("-o")
        .arg(&bin)
        .status()
        .expect("run the C compiler");
    assert!(st.success(), "the uapi header does not compile");
    let out = Command::new(&bin).output().expect("run the probe");
    std::fs::remove_dir_all(&dir).ok();
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let (k, v) = l.split_once(' ').unwrap();
            (k.to_string(), v.parse().unwrap())
        })
        .collect()
}

macro_rules! tg {
    ($f:ident) => {
        core::mem::offset_of!(abi::TftpXfer, $f) as u64
    };
}

macro_rules! tb {
    ($f:ident) => {
        core::mem::offset_of!(abi::TftpBackend, $f) as u64
    };
}

macro_rules! of {
    ($t:ident, $f:ident) => {
        core::mem::offset_of!(abi::$t, $f) as u64
    };
}

macro_rules! ev {
    ($f:ident) => {
        core::mem::offset_of!(abi::Evict, $f) as u64
    };
}

#[test]
fn c_header_matches_rust_abi() {
    let v = core::mem::offset_of!(abi::Version, abi_minor) as u64;
    let f = core::mem::offset_of!(abi::Version, features) as u64;
    let s = core::mem::offset_of!(abi::Version, version) as u64;
    let expected = [
        ("ABI_MAJOR", u64::from(abi::ABI_MAJOR)),
        ("ABI_MINOR", u64::from(abi::ABI_MINOR)),
        ("IOC_MAGIC", u64::from(abi::IOC_MAGIC)),
        ("VERSION_LEN", abi::VERSION_LEN as u64),
        ("VERSION_SIZE", abi::VERSION_SIZE as u64),
        ("OFF_abi_minor", v),
        ("OFF_features", f),
        ("OFF_version", s),
        ("IOC_GET_VERSION", u64::from(abi::IOC_GET_VERSION)),
        ("TFTP_FILENAME_LEN", abi::TFTP_FILENAME_LEN as u64),
        ("TFTP_NO_DIGEST", u64::from(abi::TFTP_NO_DIGEST)),
        ("TFTP_TWICE", u64::from(abi::TFTP_TWICE)),
        ("TFTP_XFER_SIZE", abi::TFTP_XFER_SIZE as u64),
        ("TG_port", tg!(port)),
        ("TG_blksize", tg!(blksize)),
        ("TG_windowsize", tg!(windowsize)),
        ("TG_flags", tg!(flags)),
        ("TG_rto_ms", tg!(rto_ms)),
        ("TG_deadline_ms", tg!(deadline_ms)),
        ("TG_filename", tg!(filename)),
        ("TG_reserved", tg!(reserved)),
        ("TG_length", tg!(length)),
        ("TG_elapsed_ns", tg!(elapsed_ns)),
        ("TG_retransmits", tg!(retransmits)),
        ("TG_blksize_used", tg!(blksize_used)),
        ("TG_windowsize_used", tg!(windowsize_used)),
        ("TG_sha256", tg!(sha256)),
        ("IOC_TFTP_GET", u64::from(abi::IOC_TFTP_GET)),
        ("IOC_TFTP_PUT", u64::from(abi::IOC_TFTP_PUT)),
        ("EVICT_SIZE", abi::EVICT_SIZE as u64),
        ("EV_length", ev!(length)),
        ("EV_seen", ev!(seen)),
        ("EV_evicted", ev!(evicted)),
        ("EV_skipped_shared", ev!(skipped_shared)),
        ("EV_skipped_locked", ev!(skipped_locked)),
        ("EV_skipped_large", ev!(skipped_large)),
        ("EV_skipped_pinned", ev!(skipped_pinned)),
        ("EV_skipped_ksm", ev!(skipped_ksm)),
        ("EV_skipped_zero", ev!(skipped_zero)),
        ("EV_skipped_other", ev!(skipped_other)),
        ("IOC_EVICT", u64::from(abi::IOC_EVICT)),
        ("POLICY_BLOCK", u64::from(abi::POLICY_BLOCK)),
        ("POLICY_SIGBUS", u64::from(abi::POLICY_SIGBUS)),
        ("POLICY_SIZE", abi::POLICY_SIZE as u64),
        (
            "PO_deadline_ms",
            core::mem::offset_of!(abi::Policy, deadline_ms) as u64,
        ),
        ("IOC_SET_POLICY", u64::from(abi::IOC_SET_POLICY)),
        ("IOC_GET_POLICY", u64::from(abi::IOC_GET_POLICY)),
        ("MEM_INJECT_SIZE", abi::MEM_INJECT_SIZE as u64),
        (
            "MI_corrupt_fetches",
            core::mem::offset_of!(abi::MemInject, corrupt_fetches) as u64,
        ),
        (
            "MI_flags",
            core::mem::offset_of!(abi::MemInject, flags) as u64,
        ),
        (
            "MI_reserved",
            core::mem::offset_of!(abi::MemInject, reserved) as u64,
        ),
        ("MEM_NO_VERIFY", u64::from(abi::MEM_NO_VERIFY)),
        ("IOC_MEM_INJECT", u64::from(abi::IOC_MEM_INJECT)),
        ("TFTP_PREFIX_LEN", abi::TFTP_PREFIX_LEN as u64),
        (
            "TFTP_BACKEND_NO_UPLOAD",
            u64::from(abi::TFTP_BACKEND_NO_UPLOAD),
        ),
        ("TFTP_BACKEND_LZ4", u64::from(abi::TFTP_BACKEND_LZ4)),
        (
            "TFTP_BACKEND_CHUNK_SHIFT",
            u64::from(abi::TFTP_BACKEND_CHUNK_SHIFT),
        ),
        ("EVICT_SHARED", u64::from(abi::EVICT_SHARED)),
        (
            "TFTP_BACKEND_CHUNK_MASK",
            u64::from(abi::TFTP_BACKEND_CHUNK_MASK),
        ),
        (
            "TFTP_BACKEND_CHUNK_MAX_LOG2",
            u64::from(abi::TFTP_BACKEND_CHUNK_MAX_LOG2),
        ),
        ("TFTP_BACKEND_SIZE", abi::TFTP_BACKEND_SIZE as u64),
        ("TB_port", tb!(port)),
        ("TB_blksize", tb!(blksize)),
        ("TB_rto_ms", tb!(rto_ms)),
        ("TB_flags", tb!(flags)),
        ("TB_prefix", tb!(prefix)),
        ("TB_pages", tb!(pages)),
        ("TB_elapsed_ns", tb!(elapsed_ns)),
        ("IOC_TFTP_BACKEND", u64::from(abi::IOC_TFTP_BACKEND)),
        ("EVICT_TASK_SIZE", abi::EVICT_TASK_SIZE as u64),
        ("lazyresume_evict_task.flags", of!(EvictTask, flags)),
        ("lazyresume_evict_task.range", of!(EvictTask, range)),
        ("IOC_EVICT_TASK", u64::from(abi::IOC_EVICT_TASK)),
        ("PAGE_HASHES_SIZE", abi::PAGE_HASHES_SIZE as u64),
        ("lazyresume_page_hashes.count", of!(PageHashes, count)),
        ("lazyresume_page_hashes.hashes", of!(PageHashes, hashes)),
        ("lazyresume_page_hashes.total", of!(PageHashes, total)),
        ("lazyresume_page_hashes.remote", of!(PageHashes, remote)),
        ("IOC_PAGE_HASHES", u64::from(abi::IOC_PAGE_HASHES)),
        ("IFNAME_LEN", abi::IFNAME_LEN as u64),
        ("IMAGE_NAME_LEN", abi::IMAGE_NAME_LEN as u64),
        ("REASON_LEN", abi::REASON_LEN as u64),
        ("NET_IDENTITY_SIZE", abi::NET_IDENTITY_SIZE as u64),
        ("lazyresume_net_identity.mac", of!(NetIdentity, mac)),
        (
            "lazyresume_net_identity.reserved",
            of!(NetIdentity, reserved),
        ),
        ("lazyresume_net_identity.addr", of!(NetIdentity, addr)),
        ("lazyresume_net_identity.netmask", of!(NetIdentity, netmask)),
        ("lazyresume_net_identity.gateway", of!(NetIdentity, gateway)),
        ("lazyresume_net_identity.server", of!(NetIdentity, server)),
        ("lazyresume_net_identity.port", of!(NetIdentity, port)),
        (
            "lazyresume_net_identity.reserved2",
            of!(NetIdentity, reserved2),
        ),
        (
            "lazyresume_net_identity.reserved3",
            of!(NetIdentity, reserved3),
        ),
        ("RESUME_DRY_RUN", u64::from(abi::RESUME_DRY_RUN)),
        ("RESUME_SIZE", abi::RESUME_SIZE as u64),
        ("lazyresume_resume.image", of!(Resume, image)),
        ("lazyresume_resume.blksize", of!(Resume, blksize)),
        ("lazyresume_resume.windowsize", of!(Resume, windowsize)),
        ("lazyresume_resume.rto_ms", of!(Resume, rto_ms)),
        ("lazyresume_resume.deadline_ms", of!(Resume, deadline_ms)),
        ("lazyresume_resume.flags", of!(Resume, flags)),
        ("lazyresume_resume.reason", of!(Resume, reason)),
        (
            "lazyresume_resume.manifest_bytes",
            of!(Resume, manifest_bytes),
        ),
        (
            "lazyresume_resume.pageset1_bytes",
            of!(Resume, pageset1_bytes),
        ),
        ("lazyresume_resume.elapsed_ns", of!(Resume, elapsed_ns)),
        (
            "lazyresume_resume.min_generation",
            of!(Resume, min_generation),
        ),
        ("lazyresume_resume.generation", of!(Resume, generation)),
        ("lazyresume_resume.verified", of!(Resume, verified)),
        ("lazyresume_resume.reserved", of!(Resume, reserved)),
        (
            "RESUME_ALLOW_UNSIGNED",
            u64::from(abi::RESUME_ALLOW_UNSIGNED),
        ),
        ("IOC_RESUME", u64::from(abi::IOC_RESUME)),
        ("ADOPT_SIZE", abi::ADOPT_SIZE as u64),
        ("lazyresume_adopt.image", of!(Adopt, image)),
        ("lazyresume_adopt.flags", of!(Adopt, flags)),
        ("lazyresume_adopt.reserved", of!(Adopt, reserved)),
        (
            "RESUME_BACKGROUND_OFF",
            u64::from(abi::RESUME_BACKGROUND_OFF),
        ),
        ("ADOPT_BACKGROUND_OFF", u64::from(abi::ADOPT_BACKGROUND_OFF)),
        ("IOC_ADOPT", u64::from(abi::IOC_ADOPT)),
        ("STATUS_RESUMED", u64::from(abi::STATUS_RESUMED)),
        ("STATUS_COMPLETE", u64::from(abi::STATUS_COMPLETE)),
        ("STATUS_SIZE", abi::STATUS_SIZE as u64),
        (
            "lazyresume_status.pages_fetched",
            of!(Status, pages_fetched),
        ),
        (
            "lazyresume_status.bytes_fetched",
            of!(Status, bytes_fetched),
        ),
        (
            "lazyresume_status.fetch_failures",
            of!(Status, fetch_failures),
        ),
        (
            "lazyresume_status.latency_count",
            of!(Status, latency_count),
        ),
        (
            "lazyresume_status.latency_mean_ns",
            of!(Status, latency_mean_ns),
        ),
        (
            "lazyresume_status.latency_max_ns",
            of!(Status, latency_max_ns),
        ),
        (
            "lazyresume_status.since_resume_ns",
            of!(Status, since_resume_ns),
        ),
        (
            "lazyresume_status.complete_after_ns",
            of!(Status, complete_after_ns),
        ),
        ("lazyresume_status.urgent_pages", of!(Status, urgent_pages)),
        ("lazyresume_status.urgent_bytes", of!(Status, urgent_bytes)),
        (
            "lazyresume_status.urgent_p50_ns",
            of!(Status, urgent_p50_ns),
        ),
        (
            "lazyresume_status.urgent_p99_ns",
            of!(Status, urgent_p99_ns),
        ),
        (
            "lazyresume_status.background_pages",
            of!(Status, background_pages),
        ),
        (
            "lazyresume_status.background_bytes",
            of!(Status, background_bytes),
        ),
        (
            "lazyresume_status.background_busy_ns",
            of!(Status, background_busy_ns),
        ),
        (
            "lazyresume_status.pages_installed",
            of!(Status, pages_installed),
        ),
        ("lazyresume_status.pages_local", of!(Status, pages_local)),
        ("lazyresume_status.background", of!(Status, background)),
        ("lazyresume_status.rate_mib", of!(Status, rate_mib)),
        ("lazyresume_status.server", of!(Status, server)),
        ("lazyresume_status.port", of!(Status, port)),
        ("lazyresume_status.flags", of!(Status, flags)),
        ("lazyresume_status.prefix", of!(Status, prefix)),
        ("IOC_STATUS", u64::from(abi::IOC_STATUS)),
        ("READ_PAGES_SIZE", abi::READ_PAGES_SIZE as u64),
        ("lazyresume_read_pages.count", of!(ReadPages, count)),
        ("lazyresume_read_pages.buf", of!(ReadPages, buf)),
        ("IOC_READ_PAGES", u64::from(abi::IOC_READ_PAGES)),
        ("BACKGROUND_FULL", u64::from(abi::BACKGROUND_FULL)),
        ("BACKGROUND_IDLE", u64::from(abi::BACKGROUND_IDLE)),
        ("BACKGROUND_OFF", u64::from(abi::BACKGROUND_OFF)),
        ("BACKGROUND_SIZE", abi::BACKGROUND_SIZE as u64),
        ("lazyresume_background.rate_mib", of!(Background, rate_mib)),
        ("IOC_SET_BACKGROUND", u64::from(abi::IOC_SET_BACKGROUND)),
        (
            "RESUME_RECORD_WORKINGSET",
            u64::from(abi::RESUME_RECORD_WORKINGSET),
        ),
        (
            "ADOPT_RECORD_WORKINGSET",
            u64::from(abi::ADOPT_RECORD_WORKINGSET),
        ),
        ("WORKINGSET_QUERY", u64::from(abi::WORKINGSET_QUERY)),
        ("WORKINGSET_START", u64::from(abi::WORKINGSET_START)),
        ("WORKINGSET_STOP", u64::from(abi::WORKINGSET_STOP)),
        ("WORKINGSET_READ", u64::from(abi::WORKINGSET_READ)),
        ("WORKINGSET_RECORDING", u64::from(abi::WORKINGSET_RECORDING)),
        ("LOADSET_NONE", u64::from(abi::LOADSET_NONE)),
        ("LOADSET_PENDING", u64::from(abi::LOADSET_PENDING)),
        ("LOADSET_DONE", u64::from(abi::LOADSET_DONE)),
        ("LOADSET_REFUSED", u64::from(abi::LOADSET_REFUSED)),
        ("LOADSET_MISSING", u64::from(abi::LOADSET_MISSING)),
        ("LOADSET_STOPPED", u64::from(abi::LOADSET_STOPPED)),
        ("WORKINGSET_SIZE", abi::WORKINGSET_SIZE as u64),
        ("lazyresume_workingset.flags", of!(Workingset, flags)),
        (
            "lazyresume_workingset.max_pages",
            of!(Workingset, max_pages),
        ),
        ("lazyresume_workingset.max_ms", of!(Workingset, max_ms)),
        ("lazyresume_workingset.first", of!(Workingset, first)),
        ("lazyresume_workingset.count", of!(Workingset, count)),
        ("lazyresume_workingset.buf", of!(Workingset, buf)),
        ("lazyresume_workingset.recorded", of!(Workingset, recorded)),
        (
            "lazyresume_workingset.loadset_pages",
            of!(Workingset, loadset_pages),
        ),
        (
            "lazyresume_workingset.loadset_bytes",
            of!(Workingset, loadset_bytes),
        ),
        ("lazyresume_workingset.loadset", of!(Workingset, loadset)),
        ("lazyresume_workingset.stream", of!(Workingset, stream)),
        ("IOC_WORKINGSET", u64::from(abi::IOC_WORKINGSET)),
        ("TIMELINE_READ", u64::from(abi::TIMELINE_READ)),
        ("TIMELINE_MARK", u64::from(abi::TIMELINE_MARK)),
        ("TL_MODULE_LOADED", u64::from(abi::TL_MODULE_LOADED)),
        ("TL_RESUME_REQUESTED", u64::from(abi::TL_RESUME_REQUESTED)),
        ("TL_MANIFEST_FETCHED", u64::from(abi::TL_MANIFEST_FETCHED)),
        ("TL_MANIFEST_VERIFIED", u64::from(abi::TL_MANIFEST_VERIFIED)),
        ("TL_PAGESET1_FETCHED", u64::from(abi::TL_PAGESET1_FETCHED)),
        ("TL_PAGESET1_DECODED", u64::from(abi::TL_PAGESET1_DECODED)),
        ("TL_JUMP", u64::from(abi::TL_JUMP)),
        ("TL_DEVICES_RESUMED", u64::from(abi::TL_DEVICES_RESUMED)),
        ("TL_ADOPTED", u64::from(abi::TL_ADOPTED)),
        ("TL_THAWED", u64::from(abi::TL_THAWED)),
        ("TL_HOOK_DONE", u64::from(abi::TL_HOOK_DONE)),
        ("TL_FIRST_FAULT", u64::from(abi::TL_FIRST_FAULT)),
        ("TL_LOADSET_DONE", u64::from(abi::TL_LOADSET_DONE)),
        ("TL_COMPLETE", u64::from(abi::TL_COMPLETE)),
        ("TL_FIRST_ANSWER", u64::from(abi::TL_FIRST_ANSWER)),
        ("TL_EVENTS", abi::TL_EVENTS as u64),
        ("TL_EVENT_SLOTS", abi::TL_EVENT_SLOTS as u64),
        ("TIMELINE_RESUMED", u64::from(abi::TIMELINE_RESUMED)),
        (
            "TIMELINE_GAP_MEASURED",
            u64::from(abi::TIMELINE_GAP_MEASURED),
        ),
        ("TIMELINE_SAMPLING", u64::from(abi::TIMELINE_SAMPLING)),
        ("TIMELINE_SAMPLE_SIZE", abi::TIMELINE_SAMPLE_SIZE as u64),
        (
            "lazyresume_timeline_sample.urgent_pages",
            of!(TimelineSample, urgent_pages),
        ),
        (
            "lazyresume_timeline_sample.workingset_pages",
            of!(TimelineSample, workingset_pages),
        ),
        (
            "lazyresume_timeline_sample.background_pages",
            of!(TimelineSample, background_pages),
        ),
        (
            "lazyresume_timeline_sample.installed_pages",
            of!(TimelineSample, installed_pages),
        ),
        ("TIMELINE_SIZE", abi::TIMELINE_SIZE as u64),
        ("lazyresume_timeline.event", of!(Timeline, event)),
        ("lazyresume_timeline.mark_ns", of!(Timeline, mark_ns)),
        ("lazyresume_timeline.samples", of!(Timeline, samples)),
        ("lazyresume_timeline.count", of!(Timeline, count)),
        ("lazyresume_timeline.total", of!(Timeline, total)),
        ("lazyresume_timeline.period_ms", of!(Timeline, period_ms)),
        ("lazyresume_timeline.flags", of!(Timeline, flags)),
        ("lazyresume_timeline.known", of!(Timeline, known)),
        ("lazyresume_timeline.event_ns", of!(Timeline, event_ns)),
        ("IOC_TIMELINE", u64::from(abi::IOC_TIMELINE)),
        ("MIRRORS_SET", u64::from(abi::MIRRORS_SET)),
        ("MIRRORS_GET", u64::from(abi::MIRRORS_GET)),
        ("MIRRORS_MAX", abi::MIRRORS_MAX as u64),
        ("SERVERS_MAX", abi::SERVERS_MAX as u64),
        ("SERVER_SIZE", abi::SERVER_SIZE as u64),
        ("lazyresume_server.port", of!(Server, port)),
        ("lazyresume_server.returns", of!(Server, returns)),
        ("MIRRORS_SIZE", abi::MIRRORS_SIZE as u64),
        ("lazyresume_mirrors.count", of!(Mirrors, count)),
        ("lazyresume_mirrors.server", of!(Mirrors, server)),
        ("lazyresume_mirrors.transfers", of!(Mirrors, transfers)),
        ("lazyresume_mirrors.failovers", of!(Mirrors, failovers)),
        ("IOC_MIRRORS", u64::from(abi::IOC_MIRRORS)),
    ];
    let got = c_values();
    assert_eq!(got.len(), expected.len(), "probe printed {got:?}");
    for ((gk, gv), (ek, ev)) in got.iter().zip(expected.iter()) {
        assert_eq!(gk, ek);
        assert_eq!(gv, ev, "{ek}: C says {gv}, Rust says {ev}");
    }
}
