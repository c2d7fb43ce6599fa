// SPDX-License-Identifier: GPL-2.0

//! The capture's refusal of writable persistent filesystems: a client that
//! resumes the image would see their state as of the capture while the
//! filesystem goes on changing, and corrupt it (the first weakness the
//! seed paper lists).

use anyhow::{bail, Result};
use std::path::Path;

/// Filesystem types that live on the network.
const NETWORK_FS: &[&str] = &[
    "nfs",
    "nfs4",
    "cifs",
    "smb3",
    "9p",
    "ceph",
    "glusterfs",
    "virtiofs",
    "fuse.sshfs",
    "afs",
];

/// A mount that would go inconsistent: writable and persistent.
#[derive(Debug, PartialEq, Eq)]
pub struct Risky {
    /// Mount point.
    pub target: String,
    /// Filesystem type.
    pub fstype: String,
    /// What is mounted.
    pub source: String,
}

/// The writable persistent (block-backed or network) mounts of a
/// `/proc/self/mounts` text.
pub fn writable_persistent(mounts: &str) -> Vec<Risky> {
    mounts
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let [source, target, fstype, opts, ..] = f.as_slice() else {
                return None;
            };
            let writable = opts.split(',').any(|o| o == "rw");
            let persistent = source.starts_with("/dev/") || NETWORK_FS.contains(fstype);
            (writable && persistent).then(|| Risky {
                target: target.to_string(),
                fstype: fstype.to_string(),
                source: source.to_string(),
            })
        })
        .collect()
}

/// Fails, naming them, if writable persistent filesystems are mounted,
/// but for the one holding `image_dir` (the image store, which clients
/// do not mount: they fetch from it over TFTP).
pub fn refuse_writable_persistent(image_dir: Option<&Path>) -> Result<()> {
    let mut risky = writable_persistent(&std::fs::read_to_string("/proc/self/mounts")?);
    if let Some(dir) = image_dir.and_then(|d| d.canonicalize().ok()) {
        // The innermost mount holding the directory.
        if let Some(store) = risky
            .iter()
            .filter(|r| dir.starts_with(&r.target))
            .max_by_key(|r| r.target.len())
            .map(|r| r.target.clone())
        {
            risky.retain(|r| r.target != store);
        }
    }
    if let Some(r) = risky.first() {
        bail!(
            "refusing to capture: {} ({} on {}) is mounted writable{}; clients resuming \
             the image would corrupt it. Unmount it or remount it read-only, or pass \
             --allow-writable",
            r.target,
            r.fstype,
            r.source,
            if risky.len() > 1 {
                format!(" (and {} more)", risky.len() - 1)
            } else {
                String::new()
            }
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_writable_persistent_mounts_are_risky() {
        let m = "rootfs / rootfs rw 0 0\n\
                 proc /proc proc rw,nosuid 0 0\n\
                 tmpfs /tmp tmpfs rw 0 0\n\
                 /dev/vda1 /data ext4 rw,relatime 0 0\n\
                 /dev/vdb /ro ext4 ro,relatime 0 0\n\
                 srv:/export /home nfs4 rw,vers=4.2 0 0\n\
                 srv:/pub /pub nfs ro 0 0\n";
        let r = writable_persistent(m);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].target, "/data");
        assert_eq!(r[1].fstype, "nfs4");
    }
}
