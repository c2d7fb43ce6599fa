// SPDX-License-Identifier: GPL-2.0

//! The workload's memory, in four shapes that a capture treats differently:
//! a heap vector, an anonymous mapping, a mapping shared copy-on-write with
//! a forked child (which checks its own view when asked), and a vector a
//! thread owns. Their concatenation is the space `read` addresses.

use anyhow::{bail, Context, Result};
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::FromRawFd;
use std::sync::mpsc;

use crate::pattern;

/// Region numbers (the pattern differs per region) and names.
const HEAP: u64 = 0;
const MMAP: u64 = 1;
const SHARED: u64 = 2;
const THREAD: u64 = 3;
const NAMES: [&str; 4] = ["heap", "mmap", "shared", "thread"];

/// Page size the regions are rounded to.
const PAGE: u64 = 4096;

/// A private anonymous mapping.
struct Mapping {
    ptr: *mut u8,
    len: usize,
}

impl Mapping {
    fn new(len: usize) -> Result<Self> {
        // SAFETY: an anonymous private mapping at an address of the
        // kernel's choice; the result is checked.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error()).context("mmap");
        }
        Ok(Self {
            ptr: ptr.cast(),
            len,
        })
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: the mapping is `len` bytes, readable, and lives as long
        // as `self`; nothing else writes it once filled.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `bytes`, and `&mut self` makes this the only view.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }
}

/// A check request to the thread: range, and where to answer.
type ThreadRequest = (u64, u64, mpsc::Sender<Option<u64>>);

/// The workload's memory.
pub struct Memory {
    seed: u64,
    heap: Vec<u8>,
    mmap: Mapping,
    shared: Mapping,
    /// Pipes to and from the child that shares `shared`.
    child_in: File,
    child_out: File,
    child: libc::pid_t,
    thread: mpsc::Sender<ThreadRequest>,
    thread_len: u64,
}

/// Where a check found a wrong byte.
#[derive(Debug, PartialEq, Eq)]
pub struct Bad {
    /// Region name.
    pub region: &'static str,
    /// Offset in the region.
    pub offset: u64,
    /// Offset in the whole space.
    pub global: u64,
}

/// The four region sizes of `mib` MiB: 40 %, 30 %, 20 % and the rest, each
/// whole pages and at least one page.
pub fn sizes(mib: u64) -> [u64; 4] {
    let pages = (mib * (1 << 20) / PAGE).max(4);
    let heap = (pages * 4 / 10).max(1);
    let mmap = (pages * 3 / 10).max(1);
    let shared = (pages * 2 / 10).max(1);
    [heap, mmap, shared, pages - heap - mmap - shared].map(|p| p * PAGE)
}

fn pipe() -> Result<(File, File)> {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2(2) writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error()).context("pipe");
    }
    // SAFETY: both descriptors are new and owned by nothing else.
    Ok(unsafe { (File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])) })
}

/// The child's loop: answer range checks of its view of `shared` until the
/// parent closes the pipe.
fn child_main(shared: &Mapping, seed: u64, mut input: File, mut output: File) -> ! {
    // SAFETY: prctl(PR_SET_PDEATHSIG) only sets a flag of this process.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
    let mut req = [0u8; 16];
    while input.read_exact(&mut req).is_ok() {
        let off = u64::from_le_bytes(req[..8].try_into().unwrap_or_default());
        let len = u64::from_le_bytes(req[8..].try_into().unwrap_or_default());
        let bytes = shared.bytes();
        let answer = match bytes.get(off as usize..(off + len) as usize) {
            Some(b) => {
                pattern::first_bad(b, seed, SHARED, off).map_or(u64::MAX, |i| off + i as u64)
            }
            None => off,
        };
        if output.write_all(&answer.to_le_bytes()).is_err() {
            break;
        }
    }
    // SAFETY: _exit(2) ends the child without running the parent's
    // destructors twice.
    unsafe { libc::_exit(0) }
}

impl Memory {
    /// Allocates and fills `mib` MiB: the shared region, the fork of the
    /// child (before any thread exists), the parent's own regions, the
    /// thread.
    pub fn new(mib: u64, seed: u64) -> Result<Self> {
        let [h, m, s, t] = sizes(mib);
        // Only this region is filled before the fork: the others are the
        // parent's own, not shared copy-on-write with the child.
        let mut shared = Mapping::new(s as usize)?;
        pattern::fill(shared.bytes_mut(), seed, SHARED, 0);

        let (to_child_r, to_child_w) = pipe()?;
        let (from_child_r, from_child_w) = pipe()?;
        // SAFETY: no thread exists yet, so the child may run anything.
        let child = unsafe { libc::fork() };
        if child < 0 {
            return Err(std::io::Error::last_os_error()).context("fork");
        }
        if child == 0 {
            drop(to_child_w);
            drop(from_child_r);
            child_main(&shared, seed, to_child_r, from_child_w);
        }
        drop(to_child_r);
        drop(from_child_w);
        let mut heap = vec![0u8; h as usize];
        pattern::fill(&mut heap, seed, HEAP, 0);
        let mut mmap = Mapping::new(m as usize)?;
        pattern::fill(mmap.bytes_mut(), seed, MMAP, 0);

        let (tx, rx) = mpsc::channel::<ThreadRequest>();
        std::thread::Builder::new()
            .name("owner".into())
            .spawn(move || {
                let mut own = vec![0u8; t as usize];
                pattern::fill(&mut own, seed, THREAD, 0);
                for (off, len, answer) in rx {
                    let bad = own
                        .get(off as usize..(off + len) as usize)
                        .map_or(Some(off), |b| {
                            pattern::first_bad(b, seed, THREAD, off).map(|i| off + i as u64)
                        });
                    let _ = answer.send(bad);
                }
            })
            .context("starting the thread")?;
        Ok(Self {
            seed,
            heap,
            mmap,
            shared,
            child_in: to_child_w,
            child_out: from_child_r,
            child,
            thread: tx,
            thread_len: t,
        })
    }

    /// Bytes of the whole space.
    pub fn total(&self) -> u64 {
        self.heap.len() as u64 + self.mmap.len as u64 + self.shared.len as u64 + self.thread_len
    }

    fn region_lens(&self) -> [u64; 4] {
        [
            self.heap.len() as u64,
            self.mmap.len as u64,
            self.shared.len as u64,
            self.thread_len,
        ]
    }

    /// First wrong byte of `[off, off + len)` of region `r` as this
    /// process sees it (the thread's region through the thread).
    fn check_region(&self, r: u64, off: u64, len: u64) -> Result<Option<u64>> {
        let local = |b: &[u8]| {
            pattern::first_bad(&b[off as usize..(off + len) as usize], self.seed, r, off)
                .map(|i| off + i as u64)
        };
        Ok(match r {
            HEAP => local(&self.heap),
            MMAP => local(self.mmap.bytes()),
            SHARED => local(self.shared.bytes()),
            _ => {
                let (tx, rx) = mpsc::channel();
                self.thread.send((off, len, tx)).context("thread gone")?;
                rx.recv().context("thread gone")?
            }
        })
    }

    /// The child's view of `[off, off + len)` of the shared region.
    fn check_child(&mut self, off: u64, len: u64) -> Result<Option<u64>> {
        let mut req = [0u8; 16];
        req[..8].copy_from_slice(&off.to_le_bytes());
        req[8..].copy_from_slice(&len.to_le_bytes());
        self.child_in.write_all(&req).context("child gone")?;
        let mut a = [0u8; 8];
        self.child_out.read_exact(&mut a).context("child gone")?;
        let a = u64::from_le_bytes(a);
        Ok((a != u64::MAX).then_some(a))
    }

    /// Checks `[offset, offset + len)` of the space.
    pub fn check(&self, offset: u64, len: u64) -> Result<Option<Bad>> {
        let mut base = 0;
        let (start, end) = (offset, offset + len);
        for (r, rlen) in self.region_lens().into_iter().enumerate() {
            let (lo, hi) = (start.max(base), end.min(base + rlen));
            if lo < hi {
                if let Some(o) = self.check_region(r as u64, lo - base, hi - lo)? {
                    return Ok(Some(Bad {
                        region: NAMES[r],
                        offset: o,
                        global: base + o,
                    }));
                }
            }
            base += rlen;
        }
        Ok(None)
    }

    /// Checks every byte, the child's view of the shared region included;
    /// returns the bytes checked.
    pub fn verify(&mut self) -> Result<Result<u64, Bad>> {
        if let Some(bad) = self.check(0, self.total())? {
            return Ok(Err(bad));
        }
        let [h, m, s, _] = self.region_lens();
        if let Some(o) = self.check_child(0, s)? {
            return Ok(Err(Bad {
                region: "shared (child)",
                offset: o,
                global: h + m + o,
            }));
        }
        Ok(Ok(self.total()))
    }

    /// Stops the child and the thread.
    pub fn shutdown(self) -> Result<()> {
        let Self {
            child_in,
            child_out,
            child,
            thread,
            ..
        } = self;
        drop(child_in);
        drop(child_out);
        drop(thread);
        let mut status = 0;
        // SAFETY: waits for our own child, which exits on EOF of its pipe.
        if unsafe { libc::waitpid(child, &mut status, 0) } != child {
            bail!("waitpid: {}", std::io::Error::last_os_error());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_add_up_in_whole_pages() {
        for mib in [0, 1, 4, 32, 256, 1024] {
            let s = sizes(mib);
            assert!(s.iter().all(|&x| x >= PAGE && x % PAGE == 0));
            assert_eq!(s.iter().sum::<u64>(), (mib << 20).max(4 * PAGE));
        }
    }
}
