// SPDX-License-Identifier: GPL-2.0

//! `fetch`: the fetch engine, which owns every transfer of pages from the
//! server so that no fault does network I/O (`Documentation/fetch.rst`).
//!
//! The pages of the `tftp` backend are in files of `chunk_pages` pages.
//! One map says, for each file, whether it is still to fetch, asked for by
//! a fault, in flight, arrived or given up: the fault path and both lanes
//! share it, so no file is fetched twice. Kernel threads, the fetchers,
//! run the transfers, each with preallocated buffers and a socket per
//! transfer, taking work in lanes of strict priority:
//!
//! - **urgent**: files a fault waits for, oldest first. A fault finds its
//!   page missing, queues its file and waits without its lock (mm retries
//!   the fault); one fetcher serves this lane only, so an urgent request
//!   never waits behind a background transfer.
//! - **working set**: the image's loading set, the pages a recording
//!   client touched first, in one sequential transfer (`workingset.rs`).
//! - **background**: the other files, in order from just after the last
//!   file a fault asked for (as postcopy migration does), in `full` mode
//!   always, in `idle` mode only when no fault asked for a file lately,
//!   never in `off` mode; optionally under a rate limit. In `full` mode
//!   with no rate limit, the lane first fetches the image's stream, if it
//!   has one: every page in one sequential transfer (`workingset.rs`),
//!   which saves a transfer per file, while the lane's other fetcher
//!   takes files from the end down until the two meet; what neither
//!   brought comes in files after.
//!
//! A file in LZ4 blocks (an image's chunk file) is decoded into buffers
//! each fetcher keeps. Pages of zeros are never fetched: a file of zeros
//! counts as arrived from the start, and the installer fills the entries
//! of zero pages as it does those of kept pages.
//!
//! Fetched pages are checked against their SHA-256 and kept in the page
//! store. A second thread, the installer, puts them into the page tables
//! of every process that maps them (`lazy_entry_unuse()`, as swapoff does)
//! and then drops them, so that a client ends with the memory an eager
//! client has. When no lazy entry is left, the client is *complete*: it no
//! longer needs the server.
//!
//! `fetch` is the layer above `store`; it uses `store`, `tftp` and `sys`.

use core::fmt::Write;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use kernel::alloc::KVVec;
use kernel::c_str;
use kernel::new_mutex;
use kernel::page::PAGE_SIZE;
use kernel::prelude::*;
use kernel::sync::{Arc, Mutex};
use kernel::time::Ktime;

use crate::shared::abi;
use crate::shared::image_blocks::{decode_chunk, DecodeError, BLOCK_LEN};
use crate::store::tftp::Patience;
use crate::store::{FetchError, Found, Inject, PageStore, Want};
use crate::sys::debugfs::SeqBuf;
use crate::sys::kthread::{should_stop, Kthread, Worker};
use crate::sys::lazy_entry::{self, Folio, LocalFill};
use crate::sys::lz4;
use crate::sys::net::SockAddrV4;
use crate::sys::page::OwnedPage;
use crate::sys::sha256;
use crate::sys::wait::{Sleep, WaitKey, WaitQueue, Woken};
use crate::tftp::client::{Endpoint, FAILOVER_SILENCE_MS};

mod stats;
pub(crate) mod timeline;
mod workingset;

pub(crate) use stats::STATS;
pub(crate) use workingset::SeqFile;
use workingset::{Sequential, WorkingSet};

/// Fetcher threads, each running one transfer at a time. The first serves
/// only the urgent lane, so that an urgent request never waits behind a
/// background transfer (QEMU postcopy's separate channel); the others take
/// urgent requests first, then background ones, two at a time so that the
/// round trips and the server's start of one transfer overlap with
/// another's data.
const FETCHERS: usize = 3;
/// `windowsize` every transfer asks for (servers without RFC 7440 ignore
/// it and send one block at a time).
const WINDOWSIZE: u16 = 16;
/// Deadline of one transfer; a file that misses it is asked for again.
const TRANSFER_DEADLINE_MS: u32 = 2000;
/// A file whose pages fail their hash check this many times is given up.
const MAX_BAD_TRIES: u8 = 3;
/// Pause after a transfer that found no answer: doubles from the first to
/// the second value, reset by a transfer that succeeds.
const RETRY_MIN_MS: u32 = 10;
const RETRY_MAX_MS: u32 = 1000;
/// Urgent requests queued at most; more are found by a scan of the map.
const URGENT_QUEUE: usize = 1024;
/// In `idle` mode the background lane waits this long after the last
/// urgent request.
const IDLE_GAP_MS: i64 = 200;
/// The installer runs a pass once this many pages are kept (64 MiB), or
/// when no file arrived for [`INSTALL_QUIET_MS`].
const INSTALL_BATCH: usize = 16384;
const INSTALL_QUIET_MS: i64 = 100;
/// How long an idle worker sleeps before it looks again on its own.
const IDLE_POLL_MS: u32 = 1000;
/// A server left for silence may be tried again this long after, by a
/// fetcher that started on it; each try that finds it silent again
/// doubles the wait, up to the second value. A try of a server still
/// silent costs one background transfer about 1 s (the quick silence
/// rule), so a dead server costs a tenth of one fetcher at first and
/// under 2 % once the wait is at its cap; a server restarted after
/// maintenance is used again within a minute at worst.
const RETURN_MIN_MS: u32 = 10_000;
const RETURN_MAX_MS: u32 = 60_000;

/// Where a file is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Still on the server, nobody waiting.
    Absent,
    /// A fault waits for it.
    Urgent,
    /// Being fetched.
    InFlight,
    /// Fetched: its pages that were needed are kept or installed. Also a
    /// file with nothing to fetch (its pages are zeros).
    Arrived,
    /// Missing on the server or failing its checks: its faults get SIGBUS.
    Failed,
}

/// One file of the map.
#[derive(Clone, Copy)]
struct File {
    stage: Stage,
    /// Transfers whose pages failed their hash check.
    bad_tries: u8,
    /// When a fault first asked for it (with [`Stage::Urgent`]).
    since: Ktime,
}

/// The lane of a transfer.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Lane {
    Urgent,
    Background,
}

/// What a fetcher does next.
enum Next {
    /// Fetch this file in this lane, of the map of this generation.
    Fetch(u64, Lane, u64),
    /// Fetch the loading set (the working-set lane) or the stream (the
    /// background lane) in one transfer.
    Sequential(Sequential),
    /// Nothing to do for this long (or until woken).
    Wait(u32),
}

/// How a transfer ended.
enum Outcome {
    /// These pages were kept, of a file this long.
    Arrived { kept: u64, len: usize },
    /// Some pages failed their hash check; these were kept.
    Bad { kept: u64, len: usize },
    /// No answer (or no memory): try again later.
    Retry,
    /// The fetcher's server did not answer, and it goes on with the next
    /// one: try again at once.
    Failover,
    /// The file cannot be had.
    Failed,
}

/// A ring of urgent requests (files), oldest first.
struct Queue {
    files: KVec<u64>,
    head: usize,
    len: usize,
    /// A request did not fit: scan the map for [`Stage::Urgent`] files.
    overflow: bool,
}

impl Queue {
    fn new() -> Result<Self> {
        Ok(Self {
            files: KVec::from_elem(0u64, URGENT_QUEUE, GFP_KERNEL)?,
            head: 0,
            len: 0,
            overflow: false,
        })
    }

    fn push(&mut self, file: u64) {
        if self.len == URGENT_QUEUE {
            self.overflow = true;
            return;
        }
        self.files[(self.head + self.len) % URGENT_QUEUE] = file;
        self.len += 1;
    }

    fn pop(&mut self) -> Option<u64> {
        if self.len == 0 {
            return None;
        }
        let file = self.files[self.head];
        self.head = (self.head + 1) % URGENT_QUEUE;
        self.len -= 1;
        Some(file)
    }

    fn clear(&mut self) {
        self.head = 0;
        self.len = 0;
        self.overflow = false;
    }
}

/// What the fetchers know of a server of the page store.
#[derive(Clone, Copy)]
struct Health {
    /// Left for silence (or found silent by the boot kernel), and no
    /// answer from it since.
    silent: bool,
    /// When a fetcher may try it again (`CLOCK_MONOTONIC` ms).
    retry_at_ms: i64,
    /// The wait after the last try that found it silent.
    backoff_ms: u32,
    /// A fetcher tries it now: one at a time.
    probing: bool,
}

impl Health {
    /// A server that answers, as far as anyone knows.
    const ANSWERS: Self = Self {
        silent: false,
        retry_at_ms: 0,
        backoff_ms: RETURN_MIN_MS,
        probing: false,
    };

    /// Found silent at `now_ms`: tried again after the shortest wait.
    fn left(&mut self, now_ms: i64) {
        self.silent = true;
        self.backoff_ms = RETURN_MIN_MS;
        self.retry_at_ms = now_ms + i64::from(RETURN_MIN_MS);
    }
}

/// What a fetcher's last transfer found of its server.
#[derive(Clone, Copy)]
struct Heard {
    /// The server, an index into the page store's servers.
    server: usize,
    answered: bool,
    /// It was a try of the fetcher's own server, which it had left.
    tried_again: bool,
}

/// What the engine's lock protects.
struct State {
    /// The map of files; empty until [`Engine::reset`].
    files: KVVec<File>,
    /// Bumped by every reset: a transfer of an older map counts for nothing.
    generation: u64,
    urgent: Queue,
    /// The next file the background lane looks at.
    cursor: u64,
    /// Whether the background lane may run: after a resume, or once the
    /// user set its mode; never on its own on a machine that moved its
    /// pages to a server to capture them.
    streaming: bool,
    /// `BACKGROUND_*` mode and rate limit (MiB/s, 0: none).
    mode: u32,
    rate_mib: u32,
    /// Since when the rate limit counts, and the bytes fetched since.
    rate_since: Ktime,
    rate_bytes: u64,
    /// No transfer before this (after one that found no answer).
    retry_at: Option<Ktime>,
    retry_ms: u32,
    /// The last urgent request, for `idle` mode.
    last_urgent: Option<Ktime>,
    /// The last file that arrived or failed, for the installer.
    last_arrival: Ktime,
    /// Background transfers in flight, and since when one was: the time
    /// the lane streams, for its rate.
    background_in_flight: u32,
    background_since: Ktime,
    /// When the reset happened, and when the last entry was filled after it.
    reset_at: Option<Ktime>,
    complete_at: Option<Ktime>,
    /// Entries of pages of zeros may wait for an install pass (they are
    /// never fetched, so no arrival calls for one).
    zeros_pending: bool,
    /// The working-set lane: [`Stage::Urgent`] while the loading set is
    /// to be fetched, [`Stage::InFlight`] while it is, [`Stage::Arrived`]
    /// when there is none (any more).
    loadset: Stage,
    /// The same for the image's stream, in the background lane.
    stream: Stage,
    /// The page store's servers at the reset, and how many of them, from
    /// the first, answered the boot kernel.
    servers: usize,
    answering: usize,
    /// What the fetchers know of each server.
    health: [Health; abi::SERVERS_MAX],
}

impl State {
    /// A background transfer (a file or the stream) starts at `now`.
    fn background_begin(&mut self, now: Ktime) {
        if self.background_in_flight == 0 {
            self.background_since = now;
        }
        self.background_in_flight += 1;
    }

    /// A background transfer ends at `now`: the time the lane streamed
    /// counts while one or more were in flight, for its rate.
    fn background_end(&mut self, now: Ktime) {
        self.background_in_flight = self.background_in_flight.saturating_sub(1);
        if self.background_in_flight == 0 {
            let ns = (now - self.background_since).to_ns().max(0) as u64;
            STATS.background_busy_ns.add(ns);
        }
    }
}

/// Lockdep classes of the engine's wait queues.
static ARRIVALS_KEY: WaitKey = WaitKey::new();
static WORKERS_KEY: WaitKey = WaitKey::new();
static INSTALLER_KEY: WaitKey = WaitKey::new();
static SAMPLER_KEY: WaitKey = WaitKey::new();

/// What a fault's request for its page found.
pub(crate) enum Requested {
    /// The file is queued or in flight: wait for it.
    Pending,
    /// The page is in the store now: copy it.
    Here,
}

/// The fetch engine's part of `lazyresume status`.
pub(crate) struct Status {
    /// Time from the reset (the resume) to complete, if complete.
    pub(crate) complete_after_ns: Option<u64>,
    /// `BACKGROUND_*` mode and rate limit.
    pub(crate) mode: u32,
    pub(crate) rate_mib: u32,
}

/// The fetch engine: the map of files, the lanes and their threads' shared
/// state.
#[pin_data]
pub(crate) struct Engine {
    store: Arc<PageStore>,
    #[pin]
    state: Mutex<State>,
    /// Bumped whenever a file arrives or fails.
    progress: AtomicU64,
    /// Bumped whenever the fetchers have new work.
    work: AtomicU64,
    /// `State::mode`, for the fault path to read without the lock.
    mode: AtomicU32,
    /// While the stream comes: the lowest file the background lane's other
    /// fetcher took or passed from the end (`u64::MAX`: none). Read
    /// without the lock by the stream, which stops there.
    back_cursor: AtomicU64,
    /// While the stream comes: the file of its last page, where the other
    /// fetcher stops.
    stream_at: AtomicU64,
    /// Faults waiting for files.
    #[pin]
    arrivals: WaitQueue,
    /// The fetchers, when idle.
    #[pin]
    workers: WaitQueue,
    /// The installer, between its looks at the store (not woken by each
    /// arrival: it runs when enough is kept, or when it is quiet).
    #[pin]
    installer: WaitQueue,
    /// The recording of first touches and the loading set.
    #[pin]
    ws: Mutex<WorkingSet>,
    /// A recording runs: the fault path reports touches, the background
    /// lane and the installer wait.
    recording: AtomicBool,
    /// The events of the timeline (`timeline.rs`).
    events: timeline::Events,
    /// The samples of the timeline.
    #[pin]
    samples: Mutex<timeline::Ring>,
    /// The sampler, between samples.
    #[pin]
    sampler: WaitQueue,
}

impl Engine {
    /// An engine for the pages of `store`, with nothing to fetch yet, that
    /// notes the resume's events in `events`.
    pub(crate) fn new(
        store: Arc<PageStore>,
        events: timeline::Events,
    ) -> Result<impl PinInit<Self>> {
        let urgent = Queue::new()?;
        let ring = timeline::Ring::new()?;
        let now = Ktime::ktime_get();
        Ok(pin_init!(Self {
            store,
            state <- new_mutex!(State {
                files: KVVec::new(),
                generation: 0,
                urgent,
                cursor: 0,
                streaming: false,
                mode: abi::BACKGROUND_FULL,
                rate_mib: 0,
                rate_since: now,
                rate_bytes: 0,
                retry_at: None,
                retry_ms: RETRY_MIN_MS,
                last_urgent: None,
                last_arrival: now,
                background_in_flight: 0,
                background_since: now,
                reset_at: None,
                complete_at: None,
                zeros_pending: false,
                loadset: Stage::Arrived,
                stream: Stage::Arrived,
                servers: 1,
                answering: 1,
                health: [Health::ANSWERS; abi::SERVERS_MAX],
            }),
            progress: AtomicU64::new(0),
            work: AtomicU64::new(0),
            mode: AtomicU32::new(abi::BACKGROUND_FULL),
            back_cursor: AtomicU64::new(u64::MAX),
            stream_at: AtomicU64::new(0),
            arrivals <- WaitQueue::new(c_str!("lazyresume_arrivals"), &ARRIVALS_KEY),
            workers <- WaitQueue::new(c_str!("lazyresume_workers"), &WORKERS_KEY),
            installer <- WaitQueue::new(c_str!("lazyresume_installer"), &INSTALLER_KEY),
            ws <- new_mutex!(WorkingSet::new()),
            recording: AtomicBool::new(false),
            events,
            samples <- new_mutex!(ring),
            sampler <- WaitQueue::new(c_str!("lazyresume_sampler"), &SAMPLER_KEY),
        }))
    }

    /// The page store.
    pub(crate) fn store(&self) -> &PageStore {
        &self.store
    }

    /// The events of the resume's timeline.
    pub(crate) fn timeline(&self) -> &timeline::Events {
        &self.events
    }

    /// Starts over with the remote pages the store has now (after they
    /// moved to a server, or after a resume): every file with a page that
    /// is not zero is to fetch, by faults, and by the background lane if
    /// `stream` (a resume) or if the user set its mode since the last
    /// reset; then, so are the pages of zeros to install.
    pub(crate) fn reset(&self, stream: bool) -> Result {
        let (n, per, servers, answering) =
            self.store.remote_files().map_or((0, 1, 1, 1), |(s, n)| {
                (n, s.chunk_pages().get(), s.servers().len(), s.answering())
            });
        let mut files = KVVec::with_capacity(n as usize, GFP_KERNEL)?;
        let now = Ktime::ktime_get();
        for _ in 0..n {
            files.push(
                File {
                    stage: Stage::Absent,
                    bad_tries: 0,
                    since: now,
                },
                GFP_KERNEL,
            )?;
        }
        // Nothing to fetch in a file of zeros: it has arrived.
        self.store.for_each_file(per, |file, needed| {
            if let Some(f) = files.as_mut_slice().get_mut(file as usize) {
                if !needed {
                    f.stage = Stage::Arrived;
                }
            }
        });
        let zeros = self.store.zero_pages() > 0;
        let mut st = self.state.lock();
        st.files = files;
        st.generation += 1;
        st.streaming = stream;
        st.zeros_pending = zeros && stream;
        st.urgent.clear();
        st.cursor = 0;
        self.back_cursor.store(u64::MAX, Ordering::Relaxed);
        self.stream_at.store(0, Ordering::Relaxed);
        st.retry_at = None;
        st.retry_ms = RETRY_MIN_MS;
        st.reset_at = Some(now);
        st.complete_at = None;
        st.rate_since = now;
        st.rate_bytes = 0;
        // The servers the boot kernel found silent count as left now:
        // tried again after the shortest wait, as any left server.
        let servers = servers.clamp(1, abi::SERVERS_MAX);
        let answering = answering.clamp(1, servers);
        st.servers = servers;
        st.answering = answering;
        st.health = [Health::ANSWERS; abi::SERVERS_MAX];
        for h in &mut st.health[answering..servers] {
            h.left(now.to_ms());
        }
        drop(st);
        self.kick();
        Ok(())
    }

    /// Tells the workers that there is something new.
    fn kick(&self) {
        self.work.fetch_add(1, Ordering::AcqRel);
        self.workers.wake_all();
    }

    /// Sets the background lane's mode and rate limit.
    pub(crate) fn set_background(&self, mode: u32, rate_mib: u32) -> Result {
        if ![
            abi::BACKGROUND_FULL,
            abi::BACKGROUND_IDLE,
            abi::BACKGROUND_OFF,
        ]
        .contains(&mode)
        {
            return Err(EINVAL);
        }
        let zeros = self.store.zero_pages() > 0;
        let mut st = self.state.lock();
        st.streaming = true;
        st.zeros_pending = zeros;
        st.mode = mode;
        self.mode.store(mode, Ordering::Relaxed);
        st.rate_mib = rate_mib;
        st.rate_since = Ktime::ktime_get();
        st.rate_bytes = 0;
        drop(st);
        self.kick();
        Ok(())
    }

    /// Whether faults take the kept page they copy (background off: no
    /// installer drops it), or leave it to the installer.
    pub(crate) fn faults_take_pages(&self) -> bool {
        self.mode.load(Ordering::Relaxed) == abi::BACKGROUND_OFF
            || self.recording.load(Ordering::Relaxed)
    }

    /// A fault needs page `index`, in file `file`, which the store does not
    /// have: queues the file unless it is on its way. `ENOENT` if the file
    /// is not on the server, `EIO` if its pages never matched their hashes.
    pub(crate) fn request(&self, index: u64, file: u64) -> Result<Requested> {
        // The loading set brings it soon: wait for it rather than fetch
        // its file.
        if self.coming(index) {
            return Ok(Requested::Pending);
        }
        let now = Ktime::ktime_get();
        let mut st = self.state.lock();
        let Some(f) = st.files.as_mut_slice().get_mut(file as usize) else {
            // Not in the map: no server, or pages moved since the reset.
            return Err(EIO);
        };
        match f.stage {
            Stage::Urgent | Stage::InFlight => return Ok(Requested::Pending),
            // Pages that never matched their hashes, or a missing file.
            Stage::Failed if f.bad_tries >= MAX_BAD_TRIES => return Err(EIO),
            Stage::Failed => return Err(ENOENT),
            Stage::Absent | Stage::Arrived => {}
        }
        // The file may have arrived between the fault's look into the
        // store and now.
        if self.store.is_kept(index) {
            return Ok(Requested::Here);
        }
        // Arrived already but the page was taken by another fault since
        // (background off): fetched again, as before the engine.
        f.stage = Stage::Urgent;
        f.since = now;
        st.urgent.push(file);
        // Postcopy: the background lane goes on right after this file.
        st.cursor = file + 1;
        st.last_urgent = Some(now);
        drop(st);
        self.kick();
        Ok(Requested::Pending)
    }

    /// Whether file `file` is queued or in flight.
    fn pending(&self, file: u64) -> bool {
        let st = self.state.lock();
        st.files
            .as_slice()
            .get(file as usize)
            .is_some_and(|f| matches!(f.stage, Stage::Urgent | Stage::InFlight))
    }

    /// Sleeps as `how` says until page `index`, of file `file`, is no
    /// longer on its way (its file queued or in flight, or the loading set
    /// about to bring it), for `timeout_ms` at most if given. `EINTR` on a
    /// fatal signal.
    pub(crate) fn wait(
        &self,
        index: u64,
        file: u64,
        how: Sleep,
        timeout_ms: Option<u32>,
    ) -> Result {
        let start = Ktime::ktime_get();
        loop {
            let seen = self.progress.load(Ordering::Acquire);
            let coming = self.coming(index);
            if !coming && !self.pending(file) {
                return Ok(());
            }
            let left = match timeout_ms {
                Some(t) => {
                    let spent = (Ktime::ktime_get() - start).to_ms().max(0) as u32;
                    if spent >= t {
                        return Ok(());
                    }
                    Some(t - spent)
                }
                None => None,
            };
            // A loading set that stalls leaves the page to its file: look
            // again after a while.
            let left = match (coming, left) {
                (true, Some(l)) => Some(l.min(workingset::STALL_MS)),
                (true, None) => Some(workingset::STALL_MS),
                (false, l) => l,
            };
            // Woken by any arrival: look again.
            let woken = self
                .arrivals
                .wait_until(how, left, || self.progress.load(Ordering::Acquire) != seen)?;
            if woken == Woken::TimedOut && !coming {
                return Ok(());
            }
        }
    }

    /// Sleeps as `how` says for `ms` milliseconds. `EINTR` on a fatal
    /// signal.
    pub(crate) fn pause(&self, how: Sleep, ms: u32) -> Result {
        self.arrivals.wait_until(how, Some(ms), || false)?;
        Ok(())
    }

    /// Starts the timeline's samples anew (after a resume).
    pub(crate) fn start_samples(&self) {
        self.samples.lock().clear();
        self.sampler.wake_all();
    }

    /// Copies the timeline's samples into `out`: how many, of how many,
    /// and the sampling period.
    pub(crate) fn samples(&self, out: &mut [abi::TimelineSample]) -> (usize, usize, u32) {
        let ring = self.samples.lock();
        let (n, total) = ring.copy(out, self.events.offset());
        (n, total, ring.period_ms())
    }

    /// The fetch engine's part of the status.
    pub(crate) fn status(&self) -> Status {
        let st = self.state.lock();
        let complete_after_ns = match (st.reset_at, st.complete_at) {
            (Some(r), Some(c)) => Some((c - r).to_ns().max(0) as u64),
            _ => None,
        };
        Status {
            complete_after_ns,
            mode: st.mode,
            rate_mib: st.rate_mib,
        }
    }

    /// What a fetcher does next, with `io` its own; marks the file it
    /// returns in flight. Between two transfers, so at a file boundary:
    /// notes what the fetcher's last transfer found of its server, and
    /// sends the fetcher back to its own server if that answers again,
    /// or to try it if it was left long enough ago and the transfer is
    /// a background file (never one a fault waits for).
    fn next(&self, urgent_only: bool, io: &mut Io) -> Next {
        let now = Ktime::ktime_get();
        let mut st = self.state.lock();
        let st = &mut *st;
        io.settle(st, now.to_ms());
        let next = self.pick(st, urgent_only, now);
        match next {
            Next::Fetch(_, lane, _) => io.go_home(st, now.to_ms(), lane == Lane::Background),
            Next::Sequential(_) => io.go_home(st, now.to_ms(), false),
            Next::Wait(_) => {}
        }
        next
    }

    /// What a fetcher does next, in `st`; marks the file it returns in
    /// flight.
    fn pick(&self, st: &mut State, urgent_only: bool, now: Ktime) -> Next {
        if let Some(at) = st.retry_at {
            let ms = (at - now).to_ms();
            if ms > 0 {
                return Next::Wait(ms as u32);
            }
            st.retry_at = None;
        }
        while let Some(file) = st.urgent.pop() {
            if let Some(f) = st.files.as_mut_slice().get_mut(file as usize) {
                if f.stage == Stage::Urgent {
                    f.stage = Stage::InFlight;
                    return Next::Fetch(file, Lane::Urgent, st.generation);
                }
            }
        }
        if st.urgent.overflow {
            st.urgent.overflow = false;
            for file in 0..st.files.len() {
                if st.files[file].stage == Stage::Urgent {
                    st.urgent.push(file as u64);
                }
            }
            if let Some(file) = st.urgent.pop() {
                st.files[file as usize].stage = Stage::InFlight;
                return Next::Fetch(file, Lane::Urgent, st.generation);
            }
        }
        // The working-set lane, before the background lane, which waits
        // for it.
        if !urgent_only {
            match st.loadset {
                Stage::Urgent => {
                    st.loadset = Stage::InFlight;
                    return Next::Sequential(Sequential::Loadset);
                }
                Stage::InFlight => return Next::Wait(IDLE_POLL_MS),
                _ => {}
            }
        }
        if urgent_only || !st.streaming || self.recording.load(Ordering::Acquire) {
            return Next::Wait(IDLE_POLL_MS);
        }
        match st.mode {
            abi::BACKGROUND_OFF => return Next::Wait(IDLE_POLL_MS),
            abi::BACKGROUND_IDLE => {
                if let Some(t) = st.last_urgent {
                    let quiet = (now - t).to_ms();
                    if quiet < IDLE_GAP_MS {
                        return Next::Wait((IDLE_GAP_MS - quiet) as u32);
                    }
                }
            }
            _ => {}
        }
        if st.rate_mib > 0 {
            // Bytes allowed so far at the rate, against bytes fetched.
            let ns = (now - st.rate_since).to_ns().max(0) as u64;
            let allowed = u64::from(st.rate_mib) * (1 << 20) * ns / 1_000_000_000;
            if st.rate_bytes > allowed {
                let ahead = st.rate_bytes - allowed;
                let ms = (ahead * 1000)
                    .checked_div(u64::from(st.rate_mib) << 20)
                    .unwrap_or(0);
                return Next::Wait((ms as u32).clamp(1, IDLE_POLL_MS));
            }
        }
        let n = st.files.len() as u64;
        // The stream, at full speed only: it cannot be paced nor paused
        // without its server resending. Meanwhile the other fetcher takes
        // files from the end down; the stream stops where they meet
        // (`Pages::page` in `workingset.rs`).
        if st.mode == abi::BACKGROUND_FULL && st.rate_mib == 0 {
            match st.stream {
                Stage::Urgent => {
                    st.stream = Stage::InFlight;
                    st.background_begin(now);
                    return Next::Sequential(Sequential::Stream);
                }
                Stage::InFlight => {
                    let low = self.stream_at.load(Ordering::Relaxed).saturating_add(1);
                    let top = self.back_cursor.load(Ordering::Relaxed).min(n);
                    for file in (low..top).rev() {
                        let f = &mut st.files[file as usize];
                        // Every file from here up was taken (or arrived,
                        // failed, or is a fault's): the stream stops when
                        // it gets here.
                        self.back_cursor.store(file, Ordering::Relaxed);
                        if f.stage == Stage::Absent {
                            f.stage = Stage::InFlight;
                            st.background_begin(now);
                            return Next::Fetch(file, Lane::Background, st.generation);
                        }
                    }
                    // Met: what a failed transfer sent back, or what the
                    // stream passed without bringing it, comes from the
                    // cursor, not after the stream.
                }
                _ => {}
            }
        }
        let cursor = st.cursor.min(n);
        for file in Iterator::chain(cursor..n, 0..cursor) {
            let f = &mut st.files[file as usize];
            if f.stage == Stage::Absent {
                f.stage = Stage::InFlight;
                st.cursor = file + 1;
                st.background_begin(now);
                return Next::Fetch(file, Lane::Background, st.generation);
            }
        }
        Next::Wait(IDLE_POLL_MS)
    }

    /// Fetches file `file` of map `generation` in `lane` with `io` and
    /// records how it went.
    fn transfer(&self, file: u64, lane: Lane, generation: u64, io: &mut Io) {
        let outcome = self.fetch_file(file, io);
        self.finish(file, lane, generation, outcome);
    }

    /// Fetches file `file` and keeps its pages that are still needed.
    fn fetch_file(&self, file: u64, io: &mut Io) -> Outcome {
        let Some((source, _)) = self.store.remote_files() else {
            return Outcome::Failed;
        };
        let per = source.chunk_pages().get();
        let first = file * per;
        if io.wanted.len() != per as usize {
            io.wanted = match KVec::from_elem(Want::Nothing, per as usize, GFP_KERNEL) {
                Ok(w) => w,
                Err(_) => return Outcome::Retry,
            };
        }
        let (needed, pages) = self.store.wanted(first, &mut io.wanted);
        // Pages of zeros are never fetched: a file of zeros is not even
        // there in LZ4 blocks.
        if needed == 0 {
            return Outcome::Arrived { kept: 0, len: 0 };
        }
        if self.store.inject().offline() {
            return Outcome::Retry;
        }
        let Some(max_len) = source.max_file_len() else {
            return Outcome::Failed;
        };
        let server = io.server;
        // A try of a server left for silence is left as quickly as the
        // boot kernel leaves one.
        let silence_ms = if io.returning.is_some() {
            FAILOVER_SILENCE_MS
        } else {
            0
        };
        let Ok((endpoint, buf)) = io.prepare(source.blksize(), max_len, source.lz4()) else {
            return Outcome::Retry;
        };
        let r = source.fetch_chunk(
            endpoint,
            server,
            file,
            buf,
            WINDOWSIZE,
            Patience {
                deadline_ms: TRANSFER_DEADLINE_MS,
                silence_ms,
            },
        );
        match r {
            Err(FetchError::Unreachable) => {
                return if io.failover(source.servers()) {
                    Outcome::Retry
                } else {
                    Outcome::Failover
                };
            }
            Err(FetchError::NoMemory) => {}
            _ => io.answered(source.servers()),
        }
        match r {
            Ok(len) => {
                let kept = if source.lz4() {
                    self.keep_encoded(first, len, pages, io)
                } else if len < wanted_len(&io.wanted) {
                    // Short of a page it must hold: a file left truncated
                    // on the server (a repeated upload request truncates
                    // it), say. Taken as it is, it would "arrive" again
                    // and again without the page a fault waits for: it
                    // counts as a file whose pages failed their check,
                    // and is given up after a few tries (SIGBUS for its
                    // pages).
                    STATS.undecodable.inc();
                    Ok((0, true))
                } else {
                    let data = io.buf.get(..len).unwrap_or(&[]);
                    self.keep_pages(first, data, &io.wanted)
                };
                match kept {
                    Ok((kept, false)) => Outcome::Arrived { kept, len },
                    Ok((kept, true)) => Outcome::Bad { kept, len },
                    // What was kept stays; the rest comes with the next try.
                    Err(_) => Outcome::Retry,
                }
            }
            Err(FetchError::Unreachable) | Err(FetchError::NoMemory) => Outcome::Retry,
            Err(FetchError::NoSuchPage) | Err(FetchError::Failed(_)) => Outcome::Failed,
        }
    }

    /// Checks the pages of `data`, the file whose first page is `first`,
    /// against `wanted` (the hash of each page still needed, see
    /// [`PageStore::wanted`]) and keeps those that match; returns how many
    /// it kept and whether one failed its check, or `ENOMEM`.
    fn keep_pages(&self, first: u64, data: &[u8], wanted: &[Want]) -> Result<(u64, bool)> {
        let mut keeper = Keeper::new(self.store.inject(), wanted.len())?;
        for ((j, bytes), want) in data.chunks_exact(PAGE_SIZE).enumerate().zip(wanted) {
            keeper.offer(first + j as u64, bytes, want)?;
        }
        Ok(keeper.keep(&self.store))
    }

    /// Decodes the LZ4-encoded file of `len` bytes in `io.buf`, whose first
    /// page is `first` and which holds the pages of `pages` indexes that
    /// are not zero (`io.wanted` says which, see [`PageStore::wanted`]),
    /// and keeps those still needed that match their hashes, as
    /// [`Engine::keep_pages`] does. A file that does not decode counts as
    /// one whose pages failed their check.
    fn keep_encoded(
        &self,
        first: u64,
        len: usize,
        pages: usize,
        io: &mut Io,
    ) -> Result<(u64, bool)> {
        let Io {
            buf,
            stage,
            out,
            wanted,
            ..
        } = io;
        let wanted = wanted.as_slice();
        let mut keeper = Keeper::new(self.store.inject(), wanted.len())?;
        let zero = |j: usize| matches!(wanted.get(j), Some(Want::Zero));
        let r = decode_chunk(
            buf.get(..len).unwrap_or(&[]),
            pages,
            PAGE_SIZE,
            zero,
            stage,
            out,
            lz4::decompress,
            &mut |j, bytes| {
                let want = wanted.get(j).unwrap_or(&Want::Nothing);
                keeper.offer(first + j as u64, bytes, want)
            },
        );
        match r {
            Ok(()) => Ok(keeper.keep(&self.store)),
            Err(DecodeError::Sink(e)) => Err(e),
            Err(_) => {
                // Counted; `finish` logs the file if it is given up.
                STATS.undecodable.inc();
                let (kept, _) = keeper.keep(&self.store);
                Ok((kept, true))
            }
        }
    }

    /// Records the outcome of a transfer of `file` of map `generation` in
    /// `lane` and wakes its waiters.
    fn finish(&self, file: u64, lane: Lane, generation: u64, outcome: Outcome) {
        let now = Ktime::ktime_get();
        let mut guard = self.state.lock();
        let st = &mut *guard;
        let f = match st.files.as_mut_slice().get_mut(file as usize) {
            Some(f) if st.generation == generation => f,
            // The map was reset meanwhile: what arrived is kept all the same.
            _ => {
                if lane == Lane::Background {
                    st.background_end(now);
                }
                drop(guard);
                self.progress.fetch_add(1, Ordering::AcqRel);
                self.arrivals.wake_all();
                return;
            }
        };
        let since = f.since;
        let pause = matches!(outcome, Outcome::Retry);
        let (kept, len) = match outcome {
            Outcome::Arrived { kept, len } => {
                f.stage = Stage::Arrived;
                st.retry_ms = RETRY_MIN_MS;
                (kept, len)
            }
            Outcome::Bad { kept, len } => {
                f.bad_tries += 1;
                if f.bad_tries >= MAX_BAD_TRIES {
                    f.stage = Stage::Failed;
                    STATS.failed_files.inc();
                    pr_err!("page file {file}: pages do not match their hashes {MAX_BAD_TRIES} times, giving up (SIGBUS)\n");
                } else if lane == Lane::Urgent {
                    f.stage = Stage::Urgent;
                    st.urgent.push(file);
                } else {
                    f.stage = Stage::Absent;
                    st.cursor = file;
                }
                (kept, len)
            }
            Outcome::Retry | Outcome::Failover => {
                STATS.unreachable.inc();
                if lane == Lane::Urgent {
                    f.stage = Stage::Urgent;
                    st.urgent.push(file);
                } else {
                    f.stage = Stage::Absent;
                    st.cursor = file;
                }
                // A fetcher that moved to another server tries it at once.
                if pause {
                    st.retry_at = Some(Ktime::from_raw(
                        now.to_ns() + i64::from(st.retry_ms) * 1_000_000,
                    ));
                    st.retry_ms = (st.retry_ms * 2).min(RETRY_MAX_MS);
                }
                (0, 0)
            }
            Outcome::Failed => {
                f.stage = Stage::Failed;
                STATS.failed_files.inc();
                pr_err!("page file {file}: not on the server, or refused (SIGBUS for its pages)\n");
                (0, 0)
            }
        };
        st.rate_bytes += len as u64;
        st.last_arrival = now;
        if lane == Lane::Background {
            st.background_end(now);
        }
        drop(guard);
        match lane {
            Lane::Urgent => {
                STATS.urgent_files.inc();
                STATS.urgent_pages.add(kept);
                STATS.urgent_bytes.add(len as u64);
                if kept > 0 {
                    STATS
                        .urgent_latency
                        .record((now - since).to_ns().max(0) as u64);
                }
            }
            Lane::Background => {
                STATS.background_files.inc();
                STATS.background_pages.add(kept);
                STATS.background_bytes.add(len as u64);
            }
        }
        self.progress.fetch_add(1, Ordering::AcqRel);
        self.arrivals.wake_all();
    }

    /// Whether the installer should run a pass now: pages are kept, or
    /// entries of pages of zeros may be waiting for one.
    fn install_due(&self) -> bool {
        // A page installed while a recording runs would be used without a
        // fault, and missing from the recording.
        if self.recording() {
            return false;
        }
        let (_, _, kept) = self.store.pages();
        let st = self.state.lock();
        if kept == 0 && !st.zeros_pending {
            return false;
        }
        st.mode != abi::BACKGROUND_OFF
            && (kept >= INSTALL_BATCH
                || (Ktime::ktime_get() - st.last_arrival).to_ms() >= INSTALL_QUIET_MS)
    }

    /// Puts the kept pages and the pages of zeros into the page tables
    /// that refer to them, drops the kept ones, and notes when the client
    /// is complete.
    fn install(&self) {
        let pass = self.store.begin_pass();
        let generation = self.state.lock().generation;
        match lazy_entry::unuse(self) {
            Ok(unused) => {
                STATS.install_passes.inc();
                STATS.installed.add(unused.filled);
                self.store.sweep(pass);
                // Every entry of a page of zeros was filled, and no new
                // one appears before the next reset (`fork()` copies
                // entries, which the pass follows).
                let mut st = self.state.lock();
                if st.generation == generation {
                    st.zeros_pending = false;
                }
            }
            // Kept for the next pass.
            Err(e) => pr_warn!("installing fetched pages failed ({e:?}); retrying later\n"),
        }
        self.check_complete();
    }

    /// Notes the time the last lazy entry was filled after a reset, and
    /// drops what is kept: no entry can refer to it any more.
    fn check_complete(&self) {
        if !lazy_entry::none_left() {
            return;
        }
        if self.store.pages().2 > 0 {
            self.store.sweep(u64::MAX);
        }
        let mut st = self.state.lock();
        if st.reset_at.is_some() && st.complete_at.is_none() {
            st.complete_at = Some(Ktime::ktime_get());
            drop(st);
            self.events.mark(abi::TL_COMPLETE);
            pr_info!("complete: every page is local, the server is no longer needed\n");
        }
    }
}

impl LocalFill for Engine {
    fn at_hand(&self, index: u64) -> bool {
        self.store.at_hand(index)
    }

    fn fill_local(&self, index: u64, folio: &mut Folio<'_>) -> Result {
        if self.store.fill_if_zero(index, folio) {
            return Ok(());
        }
        match self.store.copy(index, folio, false) {
            Ok(Found::Kept) => Ok(()),
            // Pages of the memory backend stay for their faults.
            _ => Err(EAGAIN),
        }
    }
}

/// The bytes a raw file must have to hold every page of `wanted` still
/// to be fetched.
fn wanted_len(wanted: &[Want]) -> usize {
    wanted
        .iter()
        .rposition(|w| matches!(w, Want::Page(_)))
        .map_or(0, |j| (j + 1) * PAGE_SIZE)
}

/// The pages of one file that pass their check, before they are kept.
struct Keeper<'a> {
    inject: &'a Inject,
    pages: KVec<(u64, OwnedPage)>,
    /// A page failed its check.
    bad: bool,
}

impl<'a> Keeper<'a> {
    /// Room for the `n` pages of a file.
    fn new(inject: &'a Inject, n: usize) -> Result<Self> {
        Ok(Self {
            inject,
            pages: KVec::with_capacity(n, GFP_KERNEL)?,
            bad: false,
        })
    }

    /// Takes `bytes` as the content of page `index` if `want` asks for it
    /// and it matches its hash; `ENOMEM` if no page can be had.
    fn offer(&mut self, index: u64, bytes: &[u8], want: &Want) -> Result {
        let Want::Page(hash) = want else {
            return Ok(());
        };
        let mut page = OwnedPage::alloc(GFP_KERNEL | __GFP_NOWARN)?;
        page.write(|dst| dst.copy_from_slice(bytes));
        if self.inject.take_corruption() {
            page.write(|dst| dst[0] ^= 0xff);
        }
        if self.inject.verify() && page.read(|p| sha256::digest(p)) != *hash {
            STATS.hash_mismatches.inc();
            self.bad = true;
            return Ok(());
        }
        self.pages.push((index, page), GFP_KERNEL)?;
        Ok(())
    }

    /// Keeps the pages taken in `store`; returns how many and whether one
    /// failed its check.
    fn keep(self, store: &PageStore) -> (u64, bool) {
        let kept = self.pages.len() as u64;
        store.keep(self.pages);
        (kept, self.bad)
    }
}

/// A fetcher's socket and buffers, kept from one transfer to the next.
struct Io {
    endpoint: Option<Endpoint>,
    blksize: u16,
    /// The file.
    buf: KVVec<u8>,
    /// The decoder's buffers for an LZ4-encoded file ([`BLOCK_LEN`] each
    /// once one came), see `Decoder::feed`.
    stage: KVVec<u8>,
    out: KVVec<u8>,
    /// What is needed of each page of the file.
    wanted: KVec<Want>,
    /// The server this fetcher asks: an index into the page store's
    /// servers (taken modulo their number), kept while it answers.
    server: usize,
    /// The server it starts on, [`Fetcher::first_server`], and its own
    /// server: that modulo the number of servers, where it goes back
    /// once that answers again after it left it.
    first: usize,
    home: usize,
    /// The map it was placed for ([`State::generation`]).
    generation: u64,
    /// Transfers that found no answer since the last one that did.
    silent: usize,
    /// While it tries its own server again, or another left for
    /// silence: the server it came from, where it goes back at once if
    /// the one it tries is still silent.
    returning: Option<usize>,
    /// The server whose [`Health::probing`] it holds.
    probing: Option<usize>,
    /// What its last transfer found, for [`Io::settle`].
    heard: Option<Heard>,
}

impl Io {
    /// The endpoint for `blksize`, a buffer of `len` bytes, and with
    /// `lz4` the decoder's buffers.
    fn prepare(
        &mut self,
        blksize: u16,
        len: usize,
        lz4: bool,
    ) -> Result<(&mut Endpoint, &mut [u8])> {
        if self.buf.len() != len {
            self.buf = KVVec::from_elem(0u8, len, GFP_KERNEL)?;
        }
        if lz4 && self.stage.len() != BLOCK_LEN {
            self.stage = KVVec::from_elem(0u8, BLOCK_LEN, GFP_KERNEL)?;
            self.out = KVVec::from_elem(0u8, BLOCK_LEN, GFP_KERNEL)?;
        }
        if self.endpoint.is_none() || self.blksize != blksize {
            self.endpoint = Some(Endpoint::new(blksize)?);
            self.blksize = blksize;
        }
        let endpoint = self.endpoint.as_mut().ok_or(ENOMEM)?;
        Ok((endpoint, &mut self.buf))
    }

    /// With the engine's lock held, before the fetcher looks for work:
    /// after a reset, places it (a fetcher whose own server the boot
    /// kernel found silent, past the first `answering` of the page
    /// store's servers, starts on one that answered it); then notes what
    /// its last transfer found of its server in `st`'s [`Health`].
    fn settle(&mut self, st: &mut State, now_ms: i64) {
        if self.generation != st.generation {
            self.generation = st.generation;
            self.home = self.first % st.servers.max(1);
            self.server = self.home % st.answering.max(1);
            self.silent = 0;
            self.returning = None;
            // The reset made every `Health` anew.
            self.probing = None;
            self.heard = None;
            return;
        }
        if let Some(h) = self.probing.take().and_then(|k| st.health.get_mut(k)) {
            h.probing = false;
        }
        // Sent to its own server, but no transfer told anything of it
        // (nothing to fetch in the file, no memory): back where it was.
        if let Some(back) = self.returning.take() {
            self.server = back;
        }
        let Some(heard) = self.heard.take() else {
            return;
        };
        let Some(h) = st.health.get_mut(heard.server) else {
            return;
        };
        if heard.answered {
            *h = Health::ANSWERS;
        } else if !h.silent {
            h.left(now_ms);
        } else if heard.tried_again {
            h.backoff_ms = (h.backoff_ms.saturating_mul(2)).min(RETURN_MAX_MS);
            h.retry_at_ms = now_ms + i64::from(h.backoff_ms);
        }
    }

    /// With the engine's lock held, before a transfer: a fetcher away
    /// from its own server goes back to it if it answers (someone heard
    /// it since it was left); otherwise, if `may_try` (a background file:
    /// no fault waits for it), it tries a server left for silence whose
    /// wait is over and that no other fetcher tries, its own first: so a
    /// server whose only fetcher serves faults is tried too.
    fn go_home(&mut self, st: &mut State, now_ms: i64, may_try: bool) {
        let n = st.servers.clamp(1, abi::SERVERS_MAX);
        let at = self.server % n;
        let home_answers = st.health.get(self.home).is_some_and(|h| !h.silent);
        if at != self.home && home_answers {
            self.returning = Some(at);
            self.server = self.home;
            return;
        }
        if !may_try {
            return;
        }
        for k in Iterator::chain(core::iter::once(self.home), 0..n) {
            let Some(h) = st.health.get_mut(k) else {
                continue;
            };
            if k != at && h.silent && !h.probing && now_ms >= h.retry_at_ms {
                h.probing = true;
                self.probing = Some(k);
                self.returning = Some(at);
                self.server = k;
                return;
            }
        }
    }

    /// The server of `servers` this fetcher asks, and its index.
    fn server(&self, servers: &[SockAddrV4]) -> (usize, Option<SockAddrV4>) {
        let k = self.server % servers.len().max(1);
        (k, servers.get(k).copied())
    }

    /// The fetcher's server answered a transfer.
    fn answered(&mut self, servers: &[SockAddrV4]) {
        let (k, addr) = self.server(servers);
        if let Some(c) = STATS.server_transfers.get(k) {
            c.inc();
        }
        let back = self.returning.take();
        let tried_again = back.is_some();
        match (back, addr) {
            (Some(_), Some(addr)) if k == self.home => {
                if let Some(c) = STATS.server_returns.get(k) {
                    c.inc();
                }
                pr_info!("page server {addr} answers again: a fetcher is back on it\n");
            }
            // Another fetcher's server: they go back to it, this one
            // goes back to where it was.
            (Some(back), Some(addr)) => {
                pr_info!("page server {addr} answers again\n");
                self.server = back;
            }
            _ => {}
        }
        self.heard = Some(Heard {
            server: k,
            answered: true,
            tried_again,
        });
        self.silent = 0;
    }

    /// The fetcher's server did not answer a transfer: it goes on with the
    /// next of `servers` (a mirror of the same image, whose pages are
    /// checked as any), or, if it was trying a server it had left (its
    /// own, or another's), back to the one it came from. Returns whether
    /// every server went silent since the last answer: then the fetchers
    /// pause, as with one server.
    fn failover(&mut self, servers: &[SockAddrV4]) -> bool {
        let n = servers.len().max(1);
        let (k, from) = self.server(servers);
        let back = self.returning.take();
        self.heard = Some(Heard {
            server: k,
            answered: false,
            tried_again: back.is_some(),
        });
        if n > 1 {
            if let Some(c) = STATS.server_failovers.get(k) {
                c.inc();
            }
        }
        if let Some(back) = back {
            // Still silent: no line (there was one when it was left), and
            // the server it came from answered last.
            self.server = back;
            return false;
        }
        self.silent += 1;
        if n > 1 {
            self.server = (k + 1) % n;
            // Once until a server answers again, not at every try.
            if let (1, Some(from), Some(to)) = (self.silent, from, servers.get(self.server)) {
                pr_warn!("page server {from} does not answer: a fetcher goes on with {to}\n");
            }
        }
        self.silent % n == 0
    }
}

/// The thread that runs the transfers.
struct Fetcher {
    engine: Arc<Engine>,
    /// Serves the urgent lane only.
    urgent_only: bool,
    /// The server it asks first (an index into the page store's
    /// servers, modulo their number): the fetchers spread over them.
    first_server: usize,
}

impl Worker for Fetcher {
    fn run(&self) {
        let e = &*self.engine;
        let mut io = Io {
            endpoint: None,
            blksize: 0,
            buf: KVVec::new(),
            stage: KVVec::new(),
            out: KVVec::new(),
            wanted: KVec::new(),
            server: self.first_server,
            first: self.first_server,
            home: 0,
            // Placed by the first look for work.
            generation: u64::MAX,
            silent: 0,
            returning: None,
            probing: None,
            heard: None,
        };
        while !should_stop() {
            let seen = e.work.load(Ordering::Acquire);
            match e.next(self.urgent_only, &mut io) {
                Next::Fetch(file, lane, generation) => e.transfer(file, lane, generation, &mut io),
                Next::Sequential(which) => {
                    e.transfer_sequential(which, &mut io);
                    if which == Sequential::Stream {
                        e.state.lock().background_end(Ktime::ktime_get());
                    }
                }
                Next::Wait(ms) => {
                    // No signals reach a kernel thread: nothing to fail.
                    let _ = e.workers.wait_until(Sleep::Idle, Some(ms), || {
                        e.work.load(Ordering::Acquire) != seen || should_stop()
                    });
                }
            }
        }
    }
}

/// The thread that installs fetched pages.
struct Installer(Arc<Engine>);

impl Worker for Installer {
    fn run(&self) {
        let e = &*self.0;
        while !should_stop() {
            if e.install_due() {
                e.install();
                continue;
            }
            e.check_complete();
            let seen = e.progress.load(Ordering::Acquire);
            let _ = e
                .workers
                .wait_until(Sleep::Idle, Some(INSTALL_QUIET_MS as u32), || {
                    e.progress.load(Ordering::Acquire) != seen || should_stop()
                });
        }
    }
}

/// The thread that samples the lanes for the timeline: every period
/// from the resume's adoption until the client is complete (one more
/// sample then), idle otherwise.
struct Sampler(Arc<Engine>);

impl Worker for Sampler {
    fn run(&self) {
        let e = &*self.0;
        while !should_stop() {
            let ms = if e.events.sampling() {
                let mut ring = e.samples.lock();
                ring.sample();
                if e.events.known(abi::TL_COMPLETE) {
                    e.events.stop_sampling();
                }
                ring.period_ms()
            } else {
                timeline::IDLE_MS
            };
            let due = Ktime::ktime_get().to_ms() + i64::from(ms);
            // Woken early by a new resume (`start_samples`) or a stop;
            // sleeps on after other wake-ups.
            loop {
                let left = due - Ktime::ktime_get().to_ms();
                if left <= 0 || should_stop() {
                    break;
                }
                let was = e.events.sampling();
                let _ = e.sampler.wait_until(Sleep::Idle, Some(left as u32), || {
                    should_stop() || e.events.sampling() != was
                });
                if e.events.sampling() != was {
                    break;
                }
            }
        }
    }
}

/// The engine's threads; stopped on drop.
struct Threads {
    _fetchers: KVec<Kthread<Fetcher>>,
    _installer: Kthread<Installer>,
    _sampler: Kthread<Sampler>,
}

impl Threads {
    /// Starts the fetchers and the installer of `engine`.
    fn start(engine: &Arc<Engine>) -> Result<Self> {
        let mut fetchers = KVec::with_capacity(FETCHERS, GFP_KERNEL)?;
        for i in 0..FETCHERS {
            let fetcher = Fetcher {
                engine: engine.clone(),
                urgent_only: i == 0,
                first_server: i,
            };
            let fetcher = Arc::new(fetcher, GFP_KERNEL)?;
            fetchers.push(
                Kthread::spawn(fetcher, c_str!("lazyresume-fetch"))?,
                GFP_KERNEL,
            )?;
        }
        let installer = Arc::new(Installer(engine.clone()), GFP_KERNEL)?;
        let sampler = Arc::new(Sampler(engine.clone()), GFP_KERNEL)?;
        Ok(Self {
            _fetchers: fetchers,
            _installer: Kthread::spawn(installer, c_str!("lazyresume-install"))?,
            _sampler: Kthread::spawn(sampler, c_str!("lazyresume-timeline"))?,
        })
    }
}

/// The running engine: its threads, stopped on drop.
pub(crate) struct Running {
    _threads: Threads,
}

impl Running {
    /// Starts the threads of `engine`.
    pub(crate) fn start(engine: &Arc<Engine>) -> Result<Self> {
        Ok(Self {
            _threads: Threads::start(engine)?,
        })
    }
}

/// Writes the lines of `engine` in the debugfs `stats`.
pub(crate) fn render_stats(engine: &Engine, out: &mut SeqBuf<'_>) -> core::fmt::Result {
    STATS.render(out)?;
    let s = engine.status();
    let mode = match s.mode {
        abi::BACKGROUND_IDLE => "idle",
        abi::BACKGROUND_OFF => "off",
        _ => "full",
    };
    writeln!(out, "background {mode}")?;
    writeln!(out, "background_rate_mib {}", s.rate_mib)?;
    writeln!(out, "complete {}", u8::from(s.complete_after_ns.is_some()))?;
    writeln!(
        out,
        "complete_after_ns {}",
        s.complete_after_ns.unwrap_or(0)
    )
}
