// SPDX-License-Identifier: GPL-2.0

//! The workload's memory, in four shapes that a capture treats differently:
//! a heap vector, an anonymous mapping, a mapping shared copy-on-write with
//! a forked child (which checks its own view when asked), and a vector a
//! thread owns. Their concatenation is the space `read` addresses.

use anyhow::{anyhow, Context, Result};
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::FromRawFd;
use std::sync::mpsc;
use std::thread::JoinHandle;

use crate::pattern;

/// Region numbers, in the order of the space (the content differs per
/// region).
const HEAP: u64 = 0;
const MMAP: u64 = 1;
const SHARED: u64 = 2;
const THREAD: u64 = 3;
/// Region names, by number.
const NAMES: [&str; 4] = ["heap", "mmap", "shared", "thread"];
/// The name `verify` gives the child's view of the shared region.
const SHARED_CHILD: &str = "shared-child";

/// Page size the regions are rounded to.
const PAGE: u64 = 4096;

/// The four region sizes in bytes of `mib` MiB (at least 1): 40 %, 30 %,
/// 20 % and the rest, each in whole pages.
pub fn sizes(mib: u64) -> [u64; 4] {
    let pages = mib * (1 << 20) / PAGE;
    let [heap, mmap, shared] = [4, 3, 2].map(|tenths| pages * tenths / 10);
    [heap, mmap, shared, pages - heap - mmap - shared].map(|p| p * PAGE)
}

/// The parts of `[offset, offset + len)` of the space in each region, as
/// (region, offset in the region, length).
fn pieces(lens: [u64; 4], offset: u64, len: u64) -> impl Iterator<Item = (u64, u64, u64)> {
    let end = offset + len;
    let mut base = 0;
    (0..4).filter_map(move |r| {
        let start = base;
        base += lens[r as usize];
        let (lo, hi) = (offset.max(start), end.min(base));
        if lo < hi {
            Some((r, lo - start, hi - lo))
        } else {
            None
        }
    })
}

/// The offset in its region of the first wrong byte of
/// `[off, off + len)` of `bytes`, region `region`; a range outside `bytes`
/// is wrong at `off`.
fn first_bad(bytes: &[u8], seed: u64, region: u64, off: u64, len: u64) -> Option<u64> {
    let Some(part) = bytes.get(off as usize..(off + len) as usize) else {
        return Some(off);
    };
    pattern::first_bad(part, seed, region, off).map(|i| off + i as u64)
}

/// A new vector of `len` bytes holding region `region`.
fn filled_vec(len: u64, seed: u64, region: u64) -> Result<Vec<u8>> {
    let mut v = Vec::new();
    v.try_reserve_exact(len as usize)
        .with_context(|| format!("allocating {len} bytes of {}", NAMES[region as usize]))?;
    v.resize(len as usize, 0);
    pattern::fill(&mut v, seed, region);
    Ok(v)
}

/// A private anonymous mapping, filled with one region.
struct Mapping {
    ptr: *mut u8,
    len: usize,
}

impl Mapping {
    /// Maps `len` bytes and fills them with region `region`.
    fn new(len: u64, seed: u64, region: u64) -> Result<Self> {
        let len = len as usize;
        // SAFETY: a new anonymous private mapping at an address of the
        // kernel's choice, so no existing memory is affected; the result is
        // checked.
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
            return Err(std::io::Error::last_os_error())
                .with_context(|| format!("mmap of {len} bytes of {}", NAMES[region as usize]));
        }
        let map = Self {
            ptr: ptr.cast(),
            len,
        };
        // SAFETY: the mapping is `len` bytes, readable and writable, and
        // nothing else uses it yet.
        let bytes = unsafe { std::slice::from_raw_parts_mut(map.ptr, len) };
        pattern::fill(bytes, seed, region);
        Ok(map)
    }

    /// The mapped bytes.
    fn bytes(&self) -> &[u8] {
        // SAFETY: the mapping is `len` readable bytes, lives until `self`
        // is dropped, and is only written by `new`.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly this mapping; no slice of it outlives
        // `self`.
        unsafe { libc::munmap(self.ptr.cast(), self.len) };
    }
}

/// A pipe, as its read and write ends (both close-on-exec).
fn pipe() -> Result<(File, File)> {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2(2) writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error()).context("pipe");
    }
    // SAFETY: both descriptors are new and owned by nothing else.
    Ok(unsafe { (File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])) })
}

/// The forked child that keeps a copy-on-write view of the shared region
/// and checks it on request. Requests are (offset, length), answers the
/// offset of the first wrong byte or `u64::MAX`, all little-endian `u64`s
/// over two pipes.
struct Checker {
    pid: libc::pid_t,
    requests: File,
    answers: File,
}

impl Checker {
    /// Forks the child; to be called before any thread is started.
    fn fork(shared: &Mapping, seed: u64) -> Result<Self> {
        let (requests_r, requests) = pipe()?;
        let (answers, answers_w) = pipe()?;
        // SAFETY: the process has one thread (none is started before), so
        // the child is a full copy of it; the child only uses its pipes and
        // its view of `shared`, then calls _exit(2).
        match unsafe { libc::fork() } {
            -1 => Err(std::io::Error::last_os_error()).context("fork"),
            0 => {
                drop((requests, answers));
                child_main(shared, seed, requests_r, answers_w)
            }
            pid => Ok(Self {
                pid,
                requests,
                answers,
            }),
        }
    }

    /// The child's view of `[off, off + len)` of the shared region.
    fn check(&self, off: u64, len: u64) -> Result<Option<u64>> {
        let mut req = [0u8; 16];
        req[..8].copy_from_slice(&off.to_le_bytes());
        req[8..].copy_from_slice(&len.to_le_bytes());
        (&self.requests).write_all(&req).context("child gone")?;
        let mut answer = [0u8; 8];
        (&self.answers)
            .read_exact(&mut answer)
            .context("child gone")?;
        let bad = u64::from_le_bytes(answer);
        Ok((bad != u64::MAX).then_some(bad))
    }

    /// Ends the child (EOF on its pipe) and reaps it.
    fn stop(self) -> Result<()> {
        let pid = self.pid;
        drop(self);
        let mut status = 0;
        // SAFETY: waits for our own child, which exits on EOF of its pipe.
        if unsafe { libc::waitpid(pid, &mut status, 0) } != pid {
            return Err(std::io::Error::last_os_error()).context("waitpid");
        }
        Ok(())
    }
}

/// The child's loop: answers checks of its view of `shared` until the
/// parent goes (EOF on the pipe, or SIGKILL when it dies).
fn child_main(shared: &Mapping, seed: u64, mut requests: File, mut answers: File) -> ! {
    // SAFETY: prctl(PR_SET_PDEATHSIG) only sets an attribute of this
    // process. Should the parent die before this, EOF ends the loop.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
    let mut req = [0u8; 16];
    while requests.read_exact(&mut req).is_ok() {
        let [off, len] = [0, 8].map(|i| {
            let mut word = [0u8; 8];
            word.copy_from_slice(&req[i..i + 8]);
            u64::from_le_bytes(word)
        });
        let bad = first_bad(shared.bytes(), seed, SHARED, off, len).unwrap_or(u64::MAX);
        if answers.write_all(&bad.to_le_bytes()).is_err() {
            break;
        }
    }
    // SAFETY: ends the child without running the parent's clean-up (atexit
    // handlers, destructors) a second time.
    unsafe { libc::_exit(0) }
}

/// The thread that filled and owns the thread region, and checks it on
/// request.
struct Owner {
    requests: mpsc::Sender<(u64, u64)>,
    answers: mpsc::Receiver<Option<u64>>,
    thread: JoinHandle<()>,
}

impl Owner {
    /// Starts the thread and waits until it has filled its `len` bytes.
    fn start(len: u64, seed: u64) -> Result<Self> {
        let (requests, requests_r) = mpsc::channel::<(u64, u64)>();
        let (answers_w, answers) = mpsc::channel();
        let (ready_w, ready) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("owner".into())
            .spawn(move || match filled_vec(len, seed, THREAD) {
                Err(e) => {
                    let _ = ready_w.send(Err(e));
                }
                Ok(own) => {
                    let _ = ready_w.send(Ok(()));
                    for (off, len) in requests_r {
                        if answers_w
                            .send(first_bad(&own, seed, THREAD, off, len))
                            .is_err()
                        {
                            break;
                        }
                    }
                }
            })
            .context("starting the thread")?;
        ready.recv().map_err(|_| anyhow!("the thread died"))??;
        Ok(Self {
            requests,
            answers,
            thread,
        })
    }

    /// The thread's check of `[off, off + len)` of its region.
    fn check(&self, off: u64, len: u64) -> Result<Option<u64>> {
        self.requests
            .send((off, len))
            .map_err(|_| anyhow!("thread gone"))?;
        self.answers.recv().map_err(|_| anyhow!("thread gone"))
    }

    /// Ends the thread (its request channel closes) and joins it.
    fn stop(self) -> Result<()> {
        drop(self.requests);
        self.thread
            .join()
            .map_err(|_| anyhow!("the thread panicked"))
    }
}

/// A wrong byte.
#[derive(Debug, PartialEq, Eq)]
pub struct Bad {
    /// The region's name (`shared-child` for the child's view).
    pub region: &'static str,
    /// The offset in the region.
    pub offset: u64,
    /// The offset in the space.
    pub global: u64,
}

/// The workload's memory.
pub struct Memory {
    seed: u64,
    heap: Vec<u8>,
    mmap: Mapping,
    shared: Mapping,
    checker: Checker,
    owner: Owner,
    lens: [u64; 4],
}

impl Memory {
    /// Allocates and fills `mib` MiB (at least 1): the shared region, the
    /// fork of its child, then the parent's own regions and the thread's.
    pub fn new(mib: u64, seed: u64) -> Result<Self> {
        let lens = sizes(mib);
        // Only the shared region exists at the fork: the others are the
        // parent's alone.
        let shared = Mapping::new(lens[2], seed, SHARED)?;
        let checker = Checker::fork(&shared, seed)?;
        let heap = filled_vec(lens[0], seed, HEAP)?;
        let mmap = Mapping::new(lens[1], seed, MMAP)?;
        let owner = Owner::start(lens[3], seed)?;
        Ok(Self {
            seed,
            heap,
            mmap,
            shared,
            checker,
            owner,
            lens,
        })
    }

    /// Bytes of the space.
    pub fn total(&self) -> u64 {
        self.lens.iter().sum()
    }

    /// The first wrong byte of `[off, off + len)` of region `r`, as this
    /// process sees it (the thread region through the thread).
    fn check_region(&self, r: u64, off: u64, len: u64) -> Result<Option<u64>> {
        let own = |bytes: &[u8]| Ok(first_bad(bytes, self.seed, r, off, len));
        match r {
            HEAP => own(&self.heap),
            MMAP => own(self.mmap.bytes()),
            SHARED => own(self.shared.bytes()),
            _ => self.owner.check(off, len),
        }
    }

    /// The first wrong byte of `[offset, offset + len)` of the space (which
    /// the caller keeps inside it).
    pub fn check(&self, offset: u64, len: u64) -> Result<Option<Bad>> {
        for (r, off, n) in pieces(self.lens, offset, len) {
            if let Some(bad) = self.check_region(r, off, n)? {
                let base: u64 = self.lens[..r as usize].iter().sum();
                return Ok(Some(Bad {
                    region: NAMES[r as usize],
                    offset: bad,
                    global: base + bad,
                }));
            }
        }
        Ok(None)
    }

    /// The first wrong byte of all the space, then of the child's view of
    /// the shared region.
    pub fn verify(&self) -> Result<Option<Bad>> {
        if let Some(bad) = self.check(0, self.total())? {
            return Ok(Some(bad));
        }
        let [heap, mmap, shared, _] = self.lens;
        Ok(self.checker.check(0, shared)?.map(|offset| Bad {
            region: SHARED_CHILD,
            offset,
            global: heap + mmap + offset,
        }))
    }

    /// Stops the thread and the child.
    pub fn shutdown(self) -> Result<()> {
        self.owner.stop()?;
        self.checker.stop()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_add_up_in_whole_pages() {
        assert_eq!(sizes(4), [409, 307, 204, 104].map(|p| p * PAGE));
        for mib in [1, 3, 32, 256, 1024, 1 << 20] {
            let s = sizes(mib);
            assert!(s.iter().all(|&x| x >= PAGE && x % PAGE == 0));
            assert_eq!(s.iter().sum::<u64>(), mib << 20);
        }
    }

    #[test]
    fn ranges_split_at_region_boundaries() {
        let lens = [10, 20, 30, 40];
        let all = |off, len| pieces(lens, off, len).collect::<Vec<_>>();
        assert_eq!(
            all(0, 100),
            [(0, 0, 10), (1, 0, 20), (2, 0, 30), (3, 0, 40)]
        );
        assert_eq!(all(5, 30), [(0, 5, 5), (1, 0, 20), (2, 0, 5)]);
        assert_eq!(all(10, 20), [(1, 0, 20)]);
        assert_eq!(all(99, 1), [(3, 39, 1)]);
    }

    #[test]
    fn wrong_bytes_are_found_in_a_region() {
        let mut v = filled_vec(3 * PAGE, 5, MMAP).unwrap();
        assert_eq!(first_bad(&v, 5, MMAP, 0, 3 * PAGE), None);
        assert_eq!(first_bad(&v, 5, HEAP, 8, 8), Some(8));
        assert_eq!(first_bad(&v, 5, MMAP, 3 * PAGE - 1, 2), Some(3 * PAGE - 1));
        v[5000] = !v[5000];
        assert_eq!(first_bad(&v, 5, MMAP, 4096, 4096), Some(5000));
        assert_eq!(first_bad(&v, 5, MMAP, 5001, 100), None);
    }
}
