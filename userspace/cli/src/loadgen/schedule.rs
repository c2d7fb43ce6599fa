// SPDX-License-Identifier: GPL-2.0

//! What one replayed client fetches next, without I/O: the module's fetch
//! engine (`rust/fetch/mod.rs`, `Engine::request` and `Engine::next`)
//! rewritten over the chunk files of an image, and the fault sequences
//! the clients replay (recorded in a trace file, or derived from the
//! image).
//!
//! As in the engine: one map says for each chunk file whether it is still
//! on the server, asked for by a fault, in flight or arrived, so no file is
//! fetched twice; the fetchers take work in lanes of strict priority,
//! urgent (faults, oldest first) before the loading set before the
//! background stream; the first fetcher serves the urgent lane only; the
//! background lane waits for the loading set, then fetches the image's
//! stream if it has one while its other fetcher takes files from the end
//! down until the two meet, then goes on from just after the last file a
//! fault asked for (postcopy), wrapping around.

use std::collections::VecDeque;
use std::time::Duration;

/// Where a chunk file is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Still on the server, nobody waiting.
    Absent,
    /// A fault waits for it.
    Urgent,
    /// Being fetched.
    InFlight,
    /// Fetched, or nothing to fetch (a chunk of zeros has no file, a chunk
    /// the loading set brought whole is not fetched).
    Arrived,
    /// Given up after too many failed transfers.
    Failed,
}

/// The lane of a transfer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lane {
    /// A fault waits for the file.
    Urgent,
    /// The rest of pageset2, streamed.
    Background,
}

/// What a fetcher does next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// Fetch this chunk file in this lane.
    Fetch(u64, Lane),
    /// Fetch the loading set.
    Loadset,
    /// Fetch the stream (background lane).
    Stream,
    /// Nothing to do now: wait for a change.
    Wait,
    /// Every chunk arrived (or failed) and the loading set is done: the
    /// fetcher stops.
    Done,
}

/// What a fault's request found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Requested {
    /// The file is here already: no transfer.
    Here,
    /// Queued, in flight, or coming with the loading set: wait.
    Pending,
    /// No such chunk in the image.
    Invalid,
}

/// The progress of the loading set or the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Loadset {
    /// The image has none, or it arrived (or was given up or stopped).
    Done,
    /// To fetch.
    Todo,
    /// Being fetched.
    InFlight,
}

/// A failed transfer of a file is tried again this many times in all
/// before the file is given up (the module tries forever under the
/// `block` policy; a benchmark must end).
pub const MAX_TRIES: u32 = 5;

/// One client's fetch state.
#[derive(Debug)]
pub struct Scheduler {
    files: Vec<Stage>,
    tries: Vec<u32>,
    urgent: VecDeque<u64>,
    cursor: u64,
    loadset: Loadset,
    /// Chunks that the loading set brings whole: a fault on them waits for
    /// it, the background lane leaves them to it.
    covered: Vec<bool>,
    left: usize,
    /// The stream, and for each chunk one past the last stream entry of
    /// its pages (0: none of its pages is in the stream).
    stream: Loadset,
    stream_end: Vec<u64>,
    /// The first chunk the stream has not brought whole yet, and the
    /// lowest chunk the other fetcher took (or passed) from the end.
    stream_chunk: u64,
    back: u64,
}

impl Scheduler {
    /// A client of an image of `chunks` chunks of which `present` (sorted
    /// or not) have a file on the server; `covered` are those that the
    /// loading set brings whole, if `loadset` (the image has one).
    pub fn new(chunks: u64, present: &[u64], loadset: bool, covered: &[u64]) -> Self {
        let n = usize::try_from(chunks).unwrap_or(0);
        let mut files = vec![Stage::Arrived; n];
        for &c in present {
            if let Some(f) = files.get_mut(c as usize) {
                *f = Stage::Absent;
            }
        }
        let mut cov = vec![false; n];
        if loadset {
            for &c in covered {
                if let Some(f) = cov.get_mut(c as usize) {
                    *f = true;
                }
            }
        }
        let left = files.iter().filter(|s| **s == Stage::Absent).count();
        Self {
            files,
            tries: vec![0; n],
            urgent: VecDeque::new(),
            cursor: 0,
            loadset: if loadset {
                Loadset::Todo
            } else {
                Loadset::Done
            },
            covered: cov,
            left,
            stream: Loadset::Done,
            stream_end: Vec::new(),
            stream_chunk: 0,
            back: n as u64,
        }
    }

    /// The image has a stream; `end[c]` is one past the last stream entry
    /// of chunk `c`'s pages (0: none in the stream), nondecreasing where
    /// not 0 (the stream is in index order).
    pub fn with_stream(mut self, end: Vec<u64>) -> Self {
        self.stream = Loadset::Todo;
        self.stream_end = end;
        self
    }

    /// [`Scheduler::with_stream`] if the image has a stream.
    pub fn with_stream_if(self, end: Option<Vec<u64>>) -> Self {
        match end {
            Some(end) => self.with_stream(end),
            None => self,
        }
    }

    /// The stage of chunk `c`.
    #[cfg(test)]
    pub fn stage(&self, c: u64) -> Option<Stage> {
        self.files.get(c as usize).copied()
    }

    /// Whether the loading set is done (or there is none).
    pub fn loadset_done(&self) -> bool {
        self.loadset == Loadset::Done
    }

    /// Files neither arrived nor given up.
    pub fn left(&self) -> usize {
        self.left
    }

    /// Whether nothing is left to fetch. Unlike the module, whose client
    /// may be complete while its stream still runs, the replay also waits
    /// for the stream's transfer to end: its bytes are load on the server.
    pub fn complete(&self) -> bool {
        self.left == 0 && self.loadset_done() && self.stream != Loadset::InFlight
    }

    /// A fault needs chunk `c` (`Engine::request`).
    pub fn request(&mut self, c: u64) -> Requested {
        let loadset_coming = self.loadset != Loadset::Done;
        let Some(f) = self.files.get_mut(c as usize) else {
            return Requested::Invalid;
        };
        match *f {
            Stage::Arrived | Stage::Failed => Requested::Here,
            Stage::Urgent | Stage::InFlight => Requested::Pending,
            // The loading set brings it: wait for it rather than fetch
            // its file.
            Stage::Absent if loadset_coming && self.covered[c as usize] => Requested::Pending,
            Stage::Absent => {
                *f = Stage::Urgent;
                self.urgent.push_back(c);
                // Postcopy: the background lane goes on right after it.
                self.cursor = c + 1;
                Requested::Pending
            }
        }
    }

    /// What a fetcher does next (`Engine::next`); marks what it returns in
    /// flight. `urgent_only` for the fetcher that serves faults only.
    pub fn next(&mut self, urgent_only: bool) -> Next {
        while let Some(c) = self.urgent.pop_front() {
            if let Some(f) = self.files.get_mut(c as usize) {
                if *f == Stage::Urgent {
                    *f = Stage::InFlight;
                    return Next::Fetch(c, Lane::Urgent);
                }
            }
        }
        if self.complete() {
            return Next::Done;
        }
        if urgent_only {
            return Next::Wait;
        }
        match self.loadset {
            Loadset::Todo => {
                self.loadset = Loadset::InFlight;
                return Next::Loadset;
            }
            Loadset::InFlight => return Next::Wait,
            Loadset::Done => {}
        }
        let n = self.files.len() as u64;
        match self.stream {
            Loadset::Todo if self.left > 0 => {
                self.stream = Loadset::InFlight;
                return Next::Stream;
            }
            Loadset::Todo => self.stream = Loadset::Done,
            // The other fetcher: files from the end down, to meet it.
            Loadset::InFlight => {
                let low = self.stream_chunk + 1;
                for c in (low..self.back.min(n)).rev() {
                    self.back = c;
                    let f = &mut self.files[c as usize];
                    if *f == Stage::Absent {
                        *f = Stage::InFlight;
                        return Next::Fetch(c, Lane::Background);
                    }
                }
                return Next::Wait;
            }
            Loadset::Done => {}
        }
        let cursor = self.cursor.min(n);
        for c in (cursor..n).chain(0..cursor) {
            let f = &mut self.files[c as usize];
            if *f == Stage::Absent {
                *f = Stage::InFlight;
                self.cursor = c + 1;
                return Next::Fetch(c, Lane::Background);
            }
        }
        Next::Wait
    }

    /// The transfer of chunk `c` in `lane` ended, well if `ok`. A failed
    /// one goes back to its lane until [`MAX_TRIES`]; returns whether the
    /// file was given up.
    pub fn finish(&mut self, c: u64, lane: Lane, ok: bool) -> bool {
        let i = c as usize;
        let Some(f) = self.files.get_mut(i) else {
            return false;
        };
        if *f != Stage::InFlight {
            return false;
        }
        if ok {
            *f = Stage::Arrived;
            self.left -= 1;
            return false;
        }
        self.tries[i] += 1;
        if self.tries[i] >= MAX_TRIES {
            *f = Stage::Failed;
            self.left -= 1;
            return true;
        }
        match lane {
            Lane::Urgent => {
                *f = Stage::Urgent;
                self.urgent.push_front(c);
            }
            Lane::Background => *f = Stage::Absent,
        }
        false
    }

    /// The loading set's transfer ended, well if `ok`: the chunks it
    /// brought whole are arrived; if not, they are left to the other
    /// lanes (the module resumes without a refused loading set).
    pub fn finish_loadset(&mut self, ok: bool) {
        if self.loadset != Loadset::InFlight {
            return;
        }
        self.loadset = Loadset::Done;
        if !ok {
            return;
        }
        for (i, f) in self.files.iter_mut().enumerate() {
            if self.covered[i] && *f == Stage::Absent {
                *f = Stage::Arrived;
                self.left -= 1;
            }
        }
    }
}

impl Scheduler {
    /// The stream brought its entries `..entries`: the chunks it brought
    /// whole are arrived. Returns whether it should stop, having reached
    /// the files the other fetcher took from the end.
    pub fn stream_progress(&mut self, entries: u64) -> bool {
        let n = self.files.len() as u64;
        while self.stream_chunk < n {
            let c = self.stream_chunk as usize;
            let end = self.stream_end.get(c).copied().unwrap_or(0);
            if end > entries {
                break;
            }
            if end != 0 && self.files[c] == Stage::Absent {
                self.files[c] = Stage::Arrived;
                self.left -= 1;
            }
            self.stream_chunk += 1;
        }
        self.stream_chunk >= self.back
    }

    /// The stream's transfer ended (done, stopped or failed): the files
    /// bring what it did not.
    pub fn finish_stream(&mut self) {
        if self.stream == Loadset::InFlight {
            self.stream = Loadset::Done;
        }
    }
}

/// One fault of a replayed sequence: at `at` after the resume, the client
/// touches a page of chunk `chunk`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fault {
    /// Time after the resume, as recorded.
    pub at: Duration,
    /// The chunk file of the page.
    pub chunk: u64,
}

/// Parses a fault trace: one fault a line, `MS CHUNK` (milliseconds after
/// the resume, chunk index, both decimal; a chunk in hex as `0x...`),
/// blank lines and `#` comments ignored. The faults come out in time order
/// (a stable sort: equal times keep the file's order).
pub fn parse_trace(text: &str) -> Result<Vec<Fault>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let mut parts = line.split_whitespace();
        let (Some(ms), Some(chunk), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(format!("line {}: expected 'MS CHUNK'", n + 1));
        };
        let ms: u64 = ms
            .parse()
            .map_err(|_| format!("line {}: '{ms}' is not a number of milliseconds", n + 1))?;
        let chunk = match chunk.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16),
            None => chunk.parse(),
        }
        .map_err(|_| format!("line {}: '{chunk}' is not a chunk index", n + 1))?;
        out.push(Fault {
            at: Duration::from_millis(ms),
            chunk,
        });
    }
    out.sort_by_key(|f| f.at);
    Ok(out)
}

/// A small deterministic generator (xorshift64*), so that a derived
/// sequence is the same on every run with the same seed.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed` (any value, 0 included).
    pub fn new(seed: u64) -> Self {
        // SplitMix64 of the seed, never 0.
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Self((z ^ (z >> 31)) | 1)
    }

    /// The next value.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A value below `n` (> 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// A plausible fault sequence for client `client` when none was recorded
/// (the module keeps no timestamped log of its faults): `count` faults,
/// one every `gap` from the resume on, on chunk files drawn without
/// repeats from `candidates` (the chunks with a file that the loading set
/// does not bring: what a client that has the loading set still faults
/// on) in runs of up to four neighbouring chunks, as a program walks an
/// array, from a generator seeded with `seed` and the client's number, so
/// that clients differ but runs repeat.
pub fn derive_faults(
    candidates: &[u64],
    count: usize,
    gap: Duration,
    seed: u64,
    client: usize,
) -> Vec<Fault> {
    let mut rng = Rng::new(seed ^ (client as u64).wrapping_mul(0x1000_0000_01b3));
    let mut chosen: Vec<u64> = Vec::with_capacity(count);
    let mut used = std::collections::HashSet::new();
    let count = count.min(candidates.len());
    while chosen.len() < count {
        let start = rng.below(candidates.len() as u64) as usize;
        let run = 1 + rng.below(4) as usize;
        for &c in candidates.iter().skip(start).take(run) {
            if chosen.len() < count && used.insert(c) {
                chosen.push(c);
            }
        }
    }
    chosen
        .into_iter()
        .enumerate()
        .map(|(i, chunk)| Fault {
            at: gap * i as u32,
            chunk,
        })
        .collect()
}

/// When a replayed fault is issued, after the resume: at its recorded time,
/// but not before the fault before it was served (the faulting thread was
/// blocked until then; a recorded sequence is one thread's).
pub fn due(recorded: Duration, previous_served: Duration) -> Duration {
    recorded.max(previous_served)
}

/// The `p`-th percentile (0 to 100) of sorted `v`, nearest rank; `None`
/// when empty.
pub fn percentile(v: &[f64], p: f64) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    Some(v[rank.clamp(1, v.len()) - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain_background(s: &mut Scheduler) -> Vec<u64> {
        let mut order = Vec::new();
        while let Next::Fetch(c, lane) = s.next(false) {
            assert_eq!(lane, Lane::Background);
            assert!(!s.finish(c, lane, true));
            order.push(c);
        }
        order
    }

    #[test]
    fn the_stream_and_the_files_from_the_end_meet() {
        // Ten chunks of four pages, all in the stream.
        let end: Vec<u64> = (1..=10).map(|c| c * 4).collect();
        let mut s = Scheduler::new(10, &(0..10).collect::<Vec<_>>(), false, &[]).with_stream(end);
        assert_eq!(s.next(true), Next::Wait);
        assert_eq!(s.next(false), Next::Stream);
        // The other fetcher, from the end.
        assert_eq!(s.next(false), Next::Fetch(9, Lane::Background));
        assert!(!s.finish(9, Lane::Background, true));
        assert_eq!(s.next(false), Next::Fetch(8, Lane::Background));
        // Two chunks' pages came whole, the third's in part.
        assert!(!s.stream_progress(10));
        assert_eq!(s.stage(1), Some(Stage::Arrived));
        assert_eq!(s.stage(2), Some(Stage::Absent));
        assert_eq!(s.next(false), Next::Fetch(7, Lane::Background));
        // A fault's chunk ahead of the stream is fetched for it.
        assert_eq!(s.request(5), Requested::Pending);
        assert_eq!(s.next(true), Next::Fetch(5, Lane::Urgent));
        // The stream reaches chunk 7, taken from the end: it stops.
        assert!(s.stream_progress(28));
        assert_eq!(s.stage(6), Some(Stage::Arrived));
        assert_eq!(s.stage(5), Some(Stage::InFlight));
        s.finish_stream();
        assert!(!s.complete());
        for c in [8, 7] {
            assert!(!s.finish(c, Lane::Background, true));
        }
        assert!(!s.finish(5, Lane::Urgent, true));
        assert!(s.complete());
        assert_eq!(s.next(false), Next::Done);
    }

    #[test]
    fn a_stopped_stream_leaves_the_rest_to_the_files() {
        let end: Vec<u64> = (1..=6).map(|c| c * 2).collect();
        let mut s = Scheduler::new(6, &(0..6).collect::<Vec<_>>(), false, &[]).with_stream(end);
        assert_eq!(s.next(false), Next::Stream);
        assert!(!s.stream_progress(4));
        // It failed: the files after it, in order, none twice.
        s.finish_stream();
        assert_eq!(drain_background(&mut s), vec![2, 3, 4, 5]);
        assert!(s.complete());
    }

    #[test]
    fn background_streams_every_present_file_once_in_order() {
        // Chunks 1 and 4 are zeros: no file.
        let mut s = Scheduler::new(6, &[0, 2, 3, 5], false, &[]);
        assert_eq!(s.left(), 4);
        assert_eq!(drain_background(&mut s), vec![0, 2, 3, 5]);
        assert!(s.complete());
        assert_eq!(s.next(false), Next::Done);
        assert_eq!(s.next(true), Next::Done);
    }

    #[test]
    fn urgent_first_and_the_stream_goes_on_after_it() {
        let mut s = Scheduler::new(8, &[0, 1, 2, 3, 4, 5, 6, 7], false, &[]);
        assert_eq!(s.next(false), Next::Fetch(0, Lane::Background));
        assert_eq!(s.request(5), Requested::Pending);
        // Asked twice: queued once.
        assert_eq!(s.request(5), Requested::Pending);
        // The urgent-only fetcher takes it; then nothing for it.
        assert_eq!(s.next(true), Next::Fetch(5, Lane::Urgent));
        assert_eq!(s.next(true), Next::Wait);
        // The stream continues after 5, then wraps around.
        assert_eq!(s.next(false), Next::Fetch(6, Lane::Background));
        s.finish(0, Lane::Background, true);
        s.finish(5, Lane::Urgent, true);
        s.finish(6, Lane::Background, true);
        assert_eq!(s.request(5), Requested::Here);
        assert_eq!(drain_background(&mut s), vec![7, 1, 2, 3, 4]);
        assert!(s.complete());
    }

    #[test]
    fn urgent_preempts_background_on_every_fetcher() {
        let mut s = Scheduler::new(4, &[0, 1, 2, 3], false, &[]);
        s.request(2);
        s.request(1);
        // Oldest first, on a general fetcher too.
        assert_eq!(s.next(false), Next::Fetch(2, Lane::Urgent));
        assert_eq!(s.next(false), Next::Fetch(1, Lane::Urgent));
        assert_eq!(s.next(false), Next::Fetch(3, Lane::Background));
    }

    #[test]
    fn a_fault_on_a_file_in_flight_waits_for_it() {
        let mut s = Scheduler::new(2, &[0, 1], false, &[]);
        assert_eq!(s.next(false), Next::Fetch(0, Lane::Background));
        assert_eq!(s.request(0), Requested::Pending);
        // Not queued a second time.
        assert_eq!(s.next(true), Next::Wait);
        assert_eq!(s.request(9), Requested::Invalid);
    }

    #[test]
    fn the_loading_set_comes_before_the_stream_and_covers_chunks() {
        let mut s = Scheduler::new(5, &[0, 1, 2, 3, 4], true, &[1, 2]);
        assert!(!s.complete());
        // The urgent-only fetcher never takes the loading set.
        assert_eq!(s.next(true), Next::Wait);
        assert_eq!(s.next(false), Next::Loadset);
        // The background lane waits for it ...
        assert_eq!(s.next(false), Next::Wait);
        // ... faults do not: a covered chunk waits for the loading set,
        // another is fetched.
        assert_eq!(s.request(2), Requested::Pending);
        assert_eq!(s.request(3), Requested::Pending);
        assert_eq!(s.next(false), Next::Fetch(3, Lane::Urgent));
        assert_eq!(s.next(true), Next::Wait);
        s.finish(3, Lane::Urgent, true);
        s.finish_loadset(true);
        assert!(s.loadset_done());
        assert_eq!(s.stage(1), Some(Stage::Arrived));
        assert_eq!(s.request(2), Requested::Here);
        assert_eq!(drain_background(&mut s), vec![4, 0]);
        assert!(s.complete());
    }

    #[test]
    fn a_failed_loading_set_leaves_its_chunks_to_the_stream() {
        let mut s = Scheduler::new(3, &[0, 1, 2], true, &[0, 1, 2]);
        assert_eq!(s.next(false), Next::Loadset);
        s.finish_loadset(false);
        assert_eq!(drain_background(&mut s), vec![0, 1, 2]);
    }

    #[test]
    fn failed_transfers_are_retried_then_given_up() {
        let mut s = Scheduler::new(2, &[0, 1], false, &[]);
        s.request(1);
        for _ in 1..MAX_TRIES {
            assert_eq!(s.next(true), Next::Fetch(1, Lane::Urgent));
            assert!(!s.finish(1, Lane::Urgent, false));
        }
        assert_eq!(s.next(true), Next::Fetch(1, Lane::Urgent));
        assert!(s.finish(1, Lane::Urgent, false));
        assert_eq!(s.stage(1), Some(Stage::Failed));
        // A background failure goes back to the stream.
        assert_eq!(s.next(false), Next::Fetch(0, Lane::Background));
        s.finish(0, Lane::Background, false);
        assert_eq!(s.next(false), Next::Fetch(0, Lane::Background));
        s.finish(0, Lane::Background, true);
        assert!(s.complete());
        // A finish of something not in flight changes nothing.
        assert!(!s.finish(0, Lane::Background, false));
        assert_eq!(s.stage(0), Some(Stage::Arrived));
    }

    #[test]
    fn traces_parse_and_sort() {
        let t = parse_trace("# recorded\n20 7\n\n5 0x10  # hex\n20 3\n").unwrap();
        assert_eq!(
            t,
            vec![
                Fault {
                    at: Duration::from_millis(5),
                    chunk: 16
                },
                Fault {
                    at: Duration::from_millis(20),
                    chunk: 7
                },
                Fault {
                    at: Duration::from_millis(20),
                    chunk: 3
                },
            ]
        );
        assert!(parse_trace("1 2 3").is_err());
        assert!(parse_trace("x 2").is_err());
        assert!(parse_trace("1 y").is_err());
        assert_eq!(parse_trace("").unwrap(), vec![]);
    }

    #[test]
    fn derived_faults_are_distinct_spaced_and_repeatable() {
        let cands: Vec<u64> = (100..200).collect();
        let a = derive_faults(&cands, 30, Duration::from_millis(10), 7, 3);
        assert_eq!(a.len(), 30);
        let mut chunks: Vec<u64> = a.iter().map(|f| f.chunk).collect();
        assert!(chunks.iter().all(|c| cands.contains(c)));
        chunks.sort_unstable();
        chunks.dedup();
        assert_eq!(chunks.len(), 30);
        for (i, f) in a.iter().enumerate() {
            assert_eq!(f.at, Duration::from_millis(10 * i as u64));
        }
        assert_eq!(
            a,
            derive_faults(&cands, 30, Duration::from_millis(10), 7, 3)
        );
        assert_ne!(
            a,
            derive_faults(&cands, 30, Duration::from_millis(10), 7, 4)
        );
        // Never more than there are candidates.
        assert_eq!(
            derive_faults(&cands[..5], 30, Duration::ZERO, 1, 0).len(),
            5
        );
        assert!(derive_faults(&[], 30, Duration::ZERO, 1, 0).is_empty());
    }

    #[test]
    fn a_fault_waits_for_the_one_before() {
        let ms = Duration::from_millis;
        assert_eq!(due(ms(50), ms(10)), ms(50));
        assert_eq!(due(ms(50), ms(80)), ms(80));
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0];
        assert_eq!(percentile(&v, 50.0), Some(5.0));
        assert_eq!(percentile(&v, 90.0), Some(9.0));
        assert_eq!(percentile(&v, 100.0), Some(10.0));
        assert_eq!(percentile(&v, 0.0), Some(1.0));
        assert_eq!(percentile(&[], 50.0), None);
    }
}
