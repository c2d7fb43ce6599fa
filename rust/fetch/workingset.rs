// SPDX-License-Identifier: GPL-2.0

//! The working set (`Documentation/fetch.rst`): recording the order in
//! which a resumed client first touches its pageset2 pages, and the
//! engine's working-set lane, which fetches an image's loading set
//! (`Documentation/image-format.rst`) as one sequential windowed
//! transfer after the urgent lane and before the background lane.
//!
//! **Recording.** Each fault that fills a lazy entry reports its page
//! ([`Engine::touched`]); the first report of each page is appended to a
//! bounded list, until the user stops the recording, or it reaches its
//! page count or its time limit. While it records, the background lane
//! and the installer wait (faults take the pages they copy, as with the
//! background lane off): a page the engine installed on its own would be
//! used without a fault, and missing from the list.
//!
//! **Replay.** After a resume the lane fetches `<image>/loadset` from the
//! image's server. Its pages arrive in first-touch order; each one still
//! needed is checked against its hash in the page store and kept, where
//! faults and the installer find it as they find the pages of a chunk
//! file. A page file all of whose pages the loading set brought is
//! marked arrived, and never fetched. A loading set that does not belong
//! to the image or is damaged is refused with one line in the kernel log;
//! the pages it gave before, checked, stay.
//!
//! **The stream.** An image may also have a `stream`, in the same format:
//! its other pages, in index order (`lazyresume make-stream`). The
//! background lane fetches it the same way, in one transfer, before it
//! turns to page files, while it runs at full speed: a transfer per page
//! file costs a request, a server process and an option acknowledgement,
//! and those, not the bytes, set the pace of the files. Meanwhile the
//! lane's other fetcher takes page files from the end down, and the
//! stream stops where the two meet. It also stops when the lane is set to
//! `idle`, `off` or a rate limit, or a recording starts; the page files
//! bring the rest.

use kernel::alloc::KVVec;
use kernel::page::PAGE_SIZE;
use kernel::prelude::*;
use kernel::time::Ktime;

use super::{Engine, Io, Keeper, Stage, STATS, WINDOWSIZE};
use crate::shared::abi;
use crate::shared::image::{Header, HASH_LEN};
use crate::shared::image_loadset::{LoadsetError, LoadsetHeader, LoadsetSink, Stream};
use crate::store::Want;
use crate::sys::errno;
use crate::sys::kthread::should_stop;
use crate::sys::lz4;
use crate::sys::sha256;
use crate::tftp::client::{Sink, TransferOptions, FAILOVER_SILENCE_MS};

/// Deadline of the loading set's or the stream's transfer: they may be
/// large (the stream of a 4 GiB image at 8 MiB/s).
const SEQUENTIAL_DEADLINE_MS: u32 = 600_000;
/// Initial retransmission timeout of the loading set's or the stream's
/// transfer.
const SEQUENTIAL_RTO_MS: u32 = 200;
/// Attempts at a loading set or a stream that finds no answer, per
/// server.
const SEQUENTIAL_TRIES: u32 = 3;
/// Pages of the loading set kept at once (one LZ4 block of 4 KiB pages).
const KEEP_BATCH: usize = 32;
/// A fault waits for a page the loading set brings if it is at most this
/// many entries ahead of what arrived (1 MiB of 4 KiB pages): nearer than
/// that the stream is faster than a fetch of the page's file.
const LOOKAHEAD: u64 = 256;
/// ... and if the loading set made progress in the last this many
/// milliseconds; otherwise the page's file is fetched.
pub(super) const STALL_MS: u32 = 200;

/// A file of pages in the loading set's format that a resumed client is
/// to fetch: the loading set, or the stream.
pub(crate) struct SeqFile {
    /// `<image>/loadset` or `<image>/stream`.
    pub(crate) name: KVec<u8>,
    /// SHA-256 of the image's manifest, and its header.
    pub(crate) manifest_sha256: [u8; HASH_LEN],
    pub(crate) header: Header,
}

/// Which file of pages a lane fetches in one transfer.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Sequential {
    /// The loading set, in the working-set lane.
    Loadset,
    /// The stream, in the background lane.
    Stream,
}

impl Sequential {
    /// Its slot in [`WorkingSet::files`].
    fn slot(self) -> usize {
        match self {
            Self::Loadset => 0,
            Self::Stream => 1,
        }
    }

    /// What the kernel log calls it.
    fn what(self) -> &'static str {
        match self {
            Self::Loadset => "loading set",
            Self::Stream => "stream",
        }
    }

    /// Its lane's stage in the engine's state.
    fn stage(self, st: &mut super::State) -> &mut Stage {
        match self {
            Self::Loadset => &mut st.loadset,
            Self::Stream => &mut st.stream,
        }
    }

    /// Counts `n` pages kept from it.
    fn count_pages(self, n: u64) {
        match self {
            Self::Loadset => STATS.workingset_pages.add(n),
            Self::Stream => STATS.background_pages.add(n),
        }
    }

    /// Counts `n` bytes of it received.
    fn count_bytes(self, n: u64) {
        match self {
            Self::Loadset => STATS.workingset_bytes.add(n),
            Self::Stream => STATS.background_bytes.add(n),
        }
    }
}

/// A file of pages fetched in one transfer, and how that went.
struct SeqState {
    /// To fetch, until it is fetched.
    file: Option<SeqFile>,
    /// `LOADSET_*`.
    state: u32,
    /// Transfers of it that found no answer.
    tries: u32,
}

impl SeqState {
    /// Nothing to fetch.
    const fn none() -> Self {
        Self {
            file: None,
            state: abi::LOADSET_NONE,
            tries: 0,
        }
    }
}

/// The recording, the loading set and the stream, under the engine's
/// `ws` lock.
pub(crate) struct WorkingSet {
    /// First-touch order of pageset2 pages.
    order: KVVec<u64>,
    /// One bit per page: already in `order`.
    seen: KVVec<u64>,
    /// The recording stops at this many pages.
    max_pages: u64,
    /// ... or at this time.
    until: Option<Ktime>,
    /// The loading set and the stream ([`Sequential::slot`]).
    files: [SeqState; 2],
    /// While the loading set or the stream comes in (never both): for
    /// each pageset2 page, its place in the file plus one (0: not in it).
    coming: KVVec<u32>,
    /// Entries of that file arrived (and kept, if needed).
    at: u64,
    /// When that file last made progress.
    progress_at: Ktime,
}

impl WorkingSet {
    /// Nothing recorded, no loading set.
    pub(crate) fn new() -> Self {
        Self {
            order: KVVec::new(),
            seen: KVVec::new(),
            max_pages: 0,
            until: None,
            files: [SeqState::none(), SeqState::none()],
            coming: KVVec::new(),
            at: 0,
            progress_at: Ktime::from_raw(0),
        }
    }
}

/// What `LAZYRESUME_IOC_WORKINGSET` reports.
pub(crate) struct WsStatus {
    pub(crate) recording: bool,
    pub(crate) recorded: u64,
    pub(crate) loadset: u32,
    pub(crate) stream: u32,
}

impl Engine {
    /// Starts recording first touches anew: at most `max_pages` pages (0:
    /// every page of the store), for at most `max_ms` milliseconds (0: no
    /// limit).
    pub(crate) fn start_recording(&self, max_pages: u64, max_ms: u64) -> Result {
        let (_, remote, _) = self.store.pages();
        let pages = remote as u64;
        let max = match max_pages {
            0 => pages,
            n => n.min(pages),
        };
        let words = usize::try_from(pages.div_ceil(64)).map_err(|_| EINVAL)?;
        let seen = KVVec::from_elem(0u64, words, GFP_KERNEL)?;
        let order = KVVec::with_capacity(usize::try_from(max).map_err(|_| EINVAL)?, GFP_KERNEL)?;
        let until = match max_ms {
            0 => None,
            ms => Some(Ktime::from_raw(
                Ktime::ktime_get().to_ns().saturating_add(
                    i64::try_from(ms)
                        .unwrap_or(i64::MAX / 2)
                        .saturating_mul(1_000_000),
                ),
            )),
        };
        let mut ws = self.ws.lock();
        ws.order = order;
        ws.seen = seen;
        ws.max_pages = max;
        ws.until = until;
        self.recording
            .store(true, core::sync::atomic::Ordering::Release);
        drop(ws);
        pr_info!("recording the working set: at most {max} pages\n");
        Ok(())
    }

    /// Stops the recording; what it recorded stays.
    pub(crate) fn stop_recording(&self) {
        let ws = self.ws.lock();
        let was = self
            .recording
            .swap(false, core::sync::atomic::Ordering::AcqRel);
        let n = ws.order.len();
        drop(ws);
        if was {
            pr_info!("working set recorded: {n} pages\n");
            // The background lane and the installer go on.
            self.kick();
            self.progress
                .fetch_add(1, core::sync::atomic::Ordering::AcqRel);
            self.workers.wake_all();
        }
    }

    /// Whether a recording runs (then the background lane and the
    /// installer wait); stops it if its time is up.
    pub(crate) fn recording(&self) -> bool {
        if !self.recording.load(core::sync::atomic::Ordering::Acquire) {
            return false;
        }
        let due = self
            .ws
            .lock()
            .until
            .is_some_and(|t| Ktime::ktime_get().to_ns() >= t.to_ns());
        if due {
            self.stop_recording();
            return false;
        }
        true
    }

    /// A fault filled an entry of page `index`: notes it if it is the
    /// page's first touch and a recording runs.
    pub(crate) fn touched(&self, index: u64) {
        if !self.recording.load(core::sync::atomic::Ordering::Relaxed) {
            return;
        }
        let mut ws = self.ws.lock();
        let (Ok(word), bit) = (usize::try_from(index / 64), index % 64) else {
            return;
        };
        let Some(w) = ws.seen.as_mut_slice().get_mut(word) else {
            return;
        };
        if *w & (1 << bit) != 0 {
            return;
        }
        *w |= 1 << bit;
        // Room was reserved for `max_pages`: no allocation here.
        if (ws.order.len() as u64) < ws.max_pages && ws.order.push(index, GFP_NOWAIT).is_err() {
            return;
        }
        let full = ws.order.len() as u64 >= ws.max_pages;
        drop(ws);
        if full {
            self.stop_recording();
        }
    }

    /// Copies recorded entries `first..` into `out`; returns how many.
    pub(crate) fn recorded(&self, first: u64, out: &mut [u64]) -> usize {
        let ws = self.ws.lock();
        let from = usize::try_from(first).unwrap_or(usize::MAX);
        let src = ws.order.as_slice().get(from..).unwrap_or(&[]);
        let n = src.len().min(out.len());
        if let (Some(dst), Some(src)) = (out.get_mut(..n), src.get(..n)) {
            dst.copy_from_slice(src);
        }
        n
    }

    /// The recording's and the loading set's state.
    pub(crate) fn ws_status(&self) -> WsStatus {
        let recording = self.recording();
        let ws = self.ws.lock();
        WsStatus {
            recording,
            recorded: ws.order.len() as u64,
            loadset: ws.files[Sequential::Loadset.slot()].state,
            stream: ws.files[Sequential::Stream.slot()].state,
        }
    }

    /// After a resume: the loading set `ls` is to be fetched first.
    pub(crate) fn set_loadset(&self, ls: SeqFile) {
        self.set_sequential(Sequential::Loadset, ls);
    }

    /// After a resume: the stream `ls` is what the background lane fetches
    /// first.
    pub(crate) fn set_stream(&self, ls: SeqFile) {
        self.set_sequential(Sequential::Stream, ls);
    }

    /// `ls` is the file `which` to fetch, from now on.
    fn set_sequential(&self, which: Sequential, ls: SeqFile) {
        let mut ws = self.ws.lock();
        ws.files[which.slot()] = SeqState {
            file: Some(ls),
            state: abi::LOADSET_PENDING,
            tries: 0,
        };
        drop(ws);
        *which.stage(&mut self.state.lock()) = Stage::Urgent;
        self.kick();
    }

    /// Whether the stream may go on: the background lane runs at full
    /// speed and no recording runs.
    fn stream_allowed(&self) -> bool {
        let st = self.state.lock();
        st.mode == abi::BACKGROUND_FULL
            && st.rate_mib == 0
            && !self.recording.load(core::sync::atomic::Ordering::Relaxed)
    }

    /// Fetches the loading set (the working-set lane) or the stream (the
    /// background lane) with `io`, and notes how it went.
    pub(super) fn transfer_sequential(&self, which: Sequential, io: &mut Io) {
        let what = which.what();
        let (name, manifest_sha256, header) = {
            let ws = self.ws.lock();
            let Some(ls) = ws.files[which.slot()].file.as_ref() else {
                drop(ws);
                *which.stage(&mut self.state.lock()) = Stage::Arrived;
                return;
            };
            let mut name = KVec::new();
            if name.extend_from_slice(&ls.name, GFP_KERNEL).is_err() {
                drop(ws);
                self.sequential_retry(which, 1);
                return;
            }
            (name, ls.manifest_sha256, ls.header)
        };
        let text = core::str::from_utf8(&name).unwrap_or("?");
        // From the fetcher's server, which the store knows with its mirrors.
        let Some((source, _)) = self.store.remote_files() else {
            return self.sequential_end(which, abi::LOADSET_NONE);
        };
        let servers = source.servers();
        let (blksize, max_len) = (source.blksize(), source.max_file_len().unwrap_or(PAGE_SIZE));
        let (_, Some(server)) = io.server(servers) else {
            return self.sequential_end(which, abi::LOADSET_NONE);
        };
        if io.prepare(blksize, max_len, true).is_err() {
            return self.sequential_retry(which, servers.len());
        }
        let Io {
            endpoint: Some(endpoint),
            stage,
            out,
            ..
        } = io
        else {
            return self.sequential_retry(which, servers.len());
        };
        let Ok(page) = KVVec::from_elem(0u8, PAGE_SIZE, GFP_KERNEL) else {
            return self.sequential_retry(which, servers.len());
        };
        let mut feed = Feed {
            stream: Stream::new(sha256::digest, manifest_sha256, header),
            stage,
            out,
            page,
            pages: Pages::new(self, which),
            error: None,
            stopped: false,
        };
        let opts = TransferOptions {
            blksize,
            windowsize: WINDOWSIZE,
            rto_ms: SEQUENTIAL_RTO_MS,
            deadline_ms: SEQUENTIAL_DEADLINE_MS,
            silence_ms: if servers.len() > 1 {
                FAILOVER_SILENCE_MS
            } else {
                0
            },
            log_failures: false,
            pool_port: true,
        };
        let start = Ktime::ktime_get();
        let r = endpoint.fetch(server, &name, &opts, &mut feed);
        feed.pages.flush();
        let kept = feed.pages.kept;
        let bytes = feed.pages.bytes;
        let ms = (Ktime::ktime_get() - start).to_ms();
        let silent = matches!(r, Err(e) if errno::is_transient_net(e))
            && feed.error.is_none()
            && !feed.pages.met
            && !feed.stopped;
        match (r, feed.error) {
            (_, Some(e)) => {
                pr_err!(
                    "{what} {text} refused: {e}; going on without it ({kept} of its pages kept)\n"
                );
                self.sequential_end(which, abi::LOADSET_REFUSED);
            }
            (Err(_), None) if feed.pages.met => {
                let n = feed.pages.entries;
                pr_info!("{what} {text}: {n} pages ({bytes} bytes) in {ms} ms, {kept} kept, the rest from page files\n");
                self.sequential_end(which, abi::LOADSET_DONE);
            }
            (Err(_), None) if feed.stopped => {
                pr_info!("{what} {text} stopped after {kept} pages: the background lane is no longer at full speed; page files bring the rest\n");
                self.sequential_end(which, abi::LOADSET_STOPPED);
            }
            (Ok(_), None) => match feed.stream.finish::<()>() {
                Ok(()) => {
                    let n = feed.stream.pages_done();
                    pr_info!("{what} {text}: {n} pages ({bytes} bytes) in {ms} ms, {kept} kept\n");
                    self.sequential_end(which, abi::LOADSET_DONE);
                }
                Err(e) => {
                    pr_err!("{what} {text} refused: {e}; going on without it ({kept} of its pages kept)\n");
                    self.sequential_end(which, abi::LOADSET_REFUSED);
                }
            },
            (Err(e), None) if e == ENOENT || e == EACCES => {
                pr_info!("no {what} {text} on the server\n");
                self.sequential_end(which, abi::LOADSET_MISSING);
            }
            // A stream that brought pages is not fetched again from its
            // start: the page files know what is still missing.
            (Err(e), None) if which == Sequential::Stream && kept > 0 => {
                pr_warn!("{what} {text}: transfer failed ({e:?}) after {kept} pages; page files bring the rest\n");
                self.sequential_end(which, abi::LOADSET_STOPPED);
            }
            (Err(e), None) => {
                pr_warn!("{what} {text}: transfer failed ({e:?}) from {server}\n");
                self.sequential_retry(which, servers.len());
            }
        }
        // The next try of it, by whichever fetcher, starts over; this
        // fetcher asks the next server from now on.
        if silent {
            io.failover(servers);
        } else {
            io.answered(servers);
        }
    }

    /// Whether the loading set or the stream is about to bring page
    /// `index`: a fault waits for it rather than fetch its file.
    pub(super) fn coming(&self, index: u64) -> bool {
        let ws = self.ws.lock();
        let Some(&pos) = usize::try_from(index)
            .ok()
            .and_then(|i| ws.coming.as_slice().get(i))
        else {
            return false;
        };
        let pos = u64::from(pos);
        pos > ws.at
            && pos - ws.at <= LOOKAHEAD
            && (Ktime::ktime_get() - ws.progress_at).to_ms() < i64::from(STALL_MS)
    }

    /// The index list `list` of the loading set or the stream checked out:
    /// its pages are coming, in this order.
    fn sequential_coming(&self, list: &[u8]) -> Result {
        let (_, remote, _) = self.store.pages();
        let mut coming = KVVec::from_elem(0u32, remote, GFP_KERNEL)?;
        for (k, e) in list.chunks_exact(8).enumerate() {
            let mut b = [0u8; 8];
            for (d, s) in b.iter_mut().zip(e) {
                *d = *s;
            }
            let page = u64::from_le_bytes(b);
            let slot = usize::try_from(page)
                .ok()
                .and_then(|p| coming.as_mut_slice().get_mut(p));
            if let (Some(s), Ok(pos)) = (slot, u32::try_from(k + 1)) {
                *s = pos;
            }
        }
        let mut ws = self.ws.lock();
        ws.coming = coming;
        ws.at = 0;
        ws.progress_at = Ktime::ktime_get();
        Ok(())
    }

    /// Entries `..at` of the loading set or the stream arrived.
    fn sequential_at(&self, at: u64) {
        let mut ws = self.ws.lock();
        ws.at = at;
        ws.progress_at = Ktime::ktime_get();
    }

    /// The transfer of the loading set or the stream found no answer:
    /// again later, a few times for each of `servers` servers (from its
    /// start: TFTP cannot resume a transfer; the pages kept stay and are
    /// not kept twice).
    fn sequential_retry(&self, which: Sequential, servers: usize) {
        let mut ws = self.ws.lock();
        ws.coming = KVVec::new();
        let f = &mut ws.files[which.slot()];
        f.tries = f.tries.saturating_add(1);
        let most = SEQUENTIAL_TRIES.saturating_mul(u32::try_from(servers.max(1)).unwrap_or(1));
        let give_up = f.tries >= most;
        drop(ws);
        if give_up {
            let what = which.what();
            pr_err!("{what}: no answer {most} times, going on without it\n");
            self.sequential_end(which, abi::LOADSET_REFUSED);
        } else {
            *which.stage(&mut self.state.lock()) = Stage::Urgent;
            self.kick();
        }
    }

    /// The loading set or the stream is done, as `state` says.
    fn sequential_end(&self, which: Sequential, state: u32) {
        let mut ws = self.ws.lock();
        ws.coming = KVVec::new();
        let f = &mut ws.files[which.slot()];
        f.file = None;
        f.state = state;
        drop(ws);
        if state == abi::LOADSET_DONE && which == Sequential::Loadset {
            self.events.mark(abi::TL_LOADSET_DONE);
        }
        *which.stage(&mut self.state.lock()) = Stage::Arrived;
        self.kick();
    }

    /// Marks arrived every absent page file in `files` (first pages) that
    /// has no page left to fetch: the loading set or the stream brought
    /// them all.
    fn sequential_files_done(&self, files: &[u64], wanted: &mut [Want]) {
        let per = wanted.len() as u64;
        for &file in files {
            let (needed, _) = self.store.wanted(file.saturating_mul(per), wanted);
            if needed != 0 {
                continue;
            }
            let mut st = self.state.lock();
            if let Some(f) = st.files.as_mut_slice().get_mut(file as usize) {
                if f.stage == Stage::Absent {
                    f.stage = Stage::Arrived;
                }
            }
        }
    }
}

/// The pages of the loading set or the stream as they arrive.
struct Pages<'a> {
    engine: &'a Engine,
    which: Sequential,
    /// The index list.
    index: KVVec<u8>,
    /// Pages checked and not kept yet.
    batch: Option<Keeper<'a>>,
    /// The page files of the batch's pages.
    files: KVec<u64>,
    /// What is needed of one page, and of one page file.
    want: [Want; 1],
    wanted: KVec<Want>,
    /// Pages kept, bytes received.
    kept: u64,
    bytes: u64,
    /// Entries handed out.
    entries: u64,
    /// The stream reached the files the background lane took from the end.
    met: bool,
}

impl<'a> Pages<'a> {
    fn new(engine: &'a Engine, which: Sequential) -> Self {
        Self {
            engine,
            which,
            index: KVVec::new(),
            batch: None,
            files: KVec::new(),
            want: [Want::Nothing],
            wanted: KVec::new(),
            kept: 0,
            bytes: 0,
            entries: 0,
            met: false,
        }
    }

    /// Keeps the batch's pages and marks the page files they finished.
    fn flush(&mut self) {
        if let Some(batch) = self.batch.take() {
            let (n, _) = batch.keep(&self.engine.store);
            self.kept = self.kept.saturating_add(n);
            self.which.count_pages(n);
            self.engine
                .sequential_files_done(&self.files, &mut self.wanted);
            self.files = KVec::new();
        }
        self.engine.sequential_at(self.entries);
        // A quiet spell for the installer starts now; faults waiting for a
        // file of these pages look again.
        self.engine.state.lock().last_arrival = Ktime::ktime_get();
        self.engine
            .progress
            .fetch_add(1, core::sync::atomic::Ordering::AcqRel);
        self.engine.arrivals.wake_all();
    }
}

impl LoadsetSink for Pages<'_> {
    type Error = Error;

    fn header(&mut self, h: &LoadsetHeader) -> Result {
        let len = usize::try_from(h.index_len().unwrap_or(u64::MAX)).map_err(|_| EFBIG)?;
        self.index = KVVec::with_capacity(len, GFP_KERNEL)?;
        let per = self
            .engine
            .store
            .remote_files()
            .map_or(1, |(s, _)| s.chunk_pages().get());
        self.wanted = KVec::from_elem(Want::Nothing, per as usize, GFP_KERNEL)?;
        Ok(())
    }

    fn index(&mut self, _offset: u64, bytes: &[u8]) -> Result {
        self.index.extend_from_slice(bytes, GFP_KERNEL)?;
        Ok(())
    }

    fn index_bytes(&self) -> &[u8] {
        &self.index
    }

    fn page(&mut self, entry: u64, page: u64, bytes: &[u8]) -> Result {
        // The index list checked out before the first page.
        if entry == 0 {
            self.engine.sequential_coming(&self.index)?;
        }
        let per = self.wanted.len().max(1) as u64;
        let file = page.checked_div(per).unwrap_or(page);
        if self.which == Sequential::Stream {
            // The rest is the other fetcher's, from the end down.
            let e = self.engine;
            e.stream_at
                .store(file, core::sync::atomic::Ordering::Relaxed);
            if file >= e.back_cursor.load(core::sync::atomic::Ordering::Relaxed) {
                self.met = true;
                return Err(errno::ecanceled());
            }
        }
        self.entries = entry.saturating_add(1);
        // Kept, local already, a page of zeros: nothing to do.
        self.engine.store.wanted(page, &mut self.want);
        let want = self.want[0];
        if !matches!(want, Want::Page(_)) {
            if self.entries % KEEP_BATCH as u64 == 0 {
                self.flush();
            }
            return Ok(());
        }
        if self.batch.is_none() {
            self.batch = Some(Keeper::new(self.engine.store.inject(), KEEP_BATCH)?);
        }
        // One page: the reader hands out whole pages of the image's size,
        // which the resume checked is ours.
        let bytes: &[u8; PAGE_SIZE] = bytes.try_into().map_err(|_| EINVAL)?;
        if let Some(b) = self.batch.as_mut() {
            // A page that fails its hash is left for its page file.
            b.offer(page, bytes, &want)?;
        }
        if !self.files.contains(&file) {
            self.files.push(file, GFP_KERNEL)?;
        }
        if self
            .batch
            .as_ref()
            .is_some_and(|b| b.pages.len() >= KEEP_BATCH)
        {
            self.flush();
        }
        Ok(())
    }
}

/// The transfer of the loading set or the stream: feeds what arrives to
/// the reader.
struct Feed<'a, 'b> {
    stream: Stream,
    stage: &'b mut KVVec<u8>,
    out: &'b mut KVVec<u8>,
    page: KVVec<u8>,
    pages: Pages<'a>,
    /// Why the reader refused the file.
    error: Option<LoadsetError<Error>>,
    /// The stream was stopped: the background lane is no longer at full
    /// speed.
    stopped: bool,
}

impl Sink for Feed<'_, '_> {
    fn write(&mut self, _offset: u64, data: &[u8]) -> Result {
        // The module goes away: no transfer outlasts it.
        if should_stop() {
            return Err(errno::ecanceled());
        }
        if self.pages.which == Sequential::Stream && !self.pages.engine.stream_allowed() {
            self.stopped = true;
            return Err(errno::ecanceled());
        }
        self.pages.bytes = self.pages.bytes.saturating_add(data.len() as u64);
        self.pages.which.count_bytes(data.len() as u64);
        let r = self.stream.feed(
            data,
            self.stage,
            self.out,
            &mut self.page,
            lz4::decompress,
            &mut self.pages,
        );
        match r {
            Ok(()) => Ok(()),
            // Out of memory: the transfer fails, and is tried again.
            Err(LoadsetError::Sink(e)) => Err(e),
            Err(e) => {
                self.error = Some(e);
                Err(EINVAL)
            }
        }
    }
}
