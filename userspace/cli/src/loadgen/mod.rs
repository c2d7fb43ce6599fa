// SPDX-License-Identifier: GPL-2.0

//! `lazyresume loadgen`: the boot storm's host-side load generator
//! (`Documentation/performance.rst`, "Boot storm"). It replays N clients'
//! fetch sequences against one or more TFTP servers with the shared
//! protocol core (`tftp_download`, the module's options): each client
//! fetches what a resuming kernel fetches (manifest, manifest.sig,
//! pageset1.sums, pageset1), then, as the module's fetch engine does after
//! the resume, the loading set if the image has one, its faults' chunk
//! files at their recorded times (urgent lane) and the rest of pageset2
//! (background lane: the image's stream if it has one, with chunk files
//! from the end until they meet, then chunk files), with the engine's
//! three fetchers and lanes (`schedule.rs`). Client `i` uses server
//! `i % S`.
//!
//! Per client it measures the time to interactive (pageset1 and the
//! loading set done) and to complete (every chunk file there), from its
//! start; overall, the bytes per second the servers gave. With
//! `--verify` every file's SHA-256 is checked against the image
//! directory's copy.
//!
//! On the loopback nothing limits a client but the server; with
//! `--client-rate` each client receives through a link of its own of that
//! rate, a model of its switch port (`link.rs`).

mod link;
mod schedule;

use anyhow::{bail, ensure, Context, Result};
use clap::Args;
use lazyresume_image::blocks::BLOCK_LEN;
use lazyresume_image::loadset::{
    LoadsetHeader, LoadsetSink, Stream, INDEX_LEN, LOADSET_NAME, STREAM_NAME,
};
use lazyresume_image::{
    self as image, chunk_name, is_zero_page_hash, Manifest, PageHashes, CHUNK_NAME_LEN, HASH_LEN,
};
use link::Link;
use schedule::{Fault, Next, Requested, Scheduler};
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::fmt::Write as _;
use std::net::SocketAddrV4;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::image::sha256;
use crate::tftp_download::{self, Endpoint, NotFound, Options, Rtt};

/// Arguments of `lazyresume loadgen`.
#[derive(Args)]
pub struct LoadgenArgs {
    /// The image directory that the servers serve (as NAME under their
    /// root).
    #[arg(long)]
    image: PathBuf,
    /// The image's name on the servers (by default the manifest's).
    #[arg(long)]
    name: Option<String>,
    /// A TFTP server, ADDRESS:PORT; repeat for several (client i uses
    /// server i % S).
    #[arg(long = "server", required = true, value_name = "ADDRESS:PORT")]
    servers: Vec<SocketAddrV4>,
    /// Clients replayed at once.
    #[arg(long, default_value_t = 1)]
    clients: usize,
    /// A recorded fault sequence, one 'MS CHUNK' a line (milliseconds
    /// after the resume, chunk index); repeat for several (client i
    /// replays trace i % T). Without one, a sequence is derived from the
    /// image (--faults, --fault-gap-ms, --seed).
    #[arg(long, value_name = "FILE")]
    trace: Vec<PathBuf>,
    /// Faults of a derived sequence, per client.
    #[arg(long, default_value_t = 32)]
    faults: usize,
    /// Time between the faults of a derived sequence.
    #[arg(long, default_value_t = 20, value_name = "MS")]
    fault_gap_ms: u64,
    /// Seed of the derived sequences.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Start client i i * MS after the first (0: all at once, a storm).
    #[arg(long, default_value_t = 0, value_name = "MS")]
    stagger_ms: u64,
    /// Each client receives through a link of its own of this rate (a
    /// model of its switch port: it takes, and acknowledges, every block
    /// only once the link would have carried it; Ethernet, IPv4, UDP and
    /// TFTP headers counted). Without it, nothing but the servers limits a
    /// client.
    #[arg(long, value_name = "MBIT", value_parser = link::parse_mbit)]
    client_rate: Option<u64>,
    /// Check every fetched file's SHA-256 against the image directory.
    #[arg(long)]
    verify: bool,
    /// Give up (and fail) after this many seconds.
    #[arg(long, default_value_t = 300, value_name = "S")]
    timeout: u64,
    /// Write one line per client (CSV) into FILE.
    #[arg(long, value_name = "FILE")]
    csv: Option<PathBuf>,
    /// Print the summary as one line of KEY=VALUE words too.
    #[arg(long)]
    machine: bool,
    /// Open a socket per transfer instead of keeping one per fetcher (as
    /// the module did before it kept them), for comparison.
    #[arg(long)]
    socket_per_transfer: bool,
}

/// The module's fetchers per client (`FETCHERS` in `rust/fetch/mod.rs`):
/// the first serves the urgent lane only.
const FETCHERS: usize = 3;
/// `windowsize` every transfer of the module asks for (`WINDOWSIZE` of
/// the fetch engine, `--windowsize` of `lazyresume resume`).
const WINDOWSIZE: u16 = 16;
/// The resume's transfers (`rust/resume/mod.rs`): `blksize`, initial
/// timeout, deadline (60 s and 2 s per MiB).
const BOOT_BLKSIZE: u16 = 65464;
const BOOT_RTO: Duration = Duration::from_millis(500);
/// Chunk files (`rust/store/tftp.rs`, `rust/fetch/mod.rs`).
const CHUNK_RTO: Duration = Duration::from_millis(200);
const CHUNK_DEADLINE: Duration = Duration::from_millis(2000);
/// The loading set (`rust/fetch/workingset.rs`).
const LOADSET_DEADLINE: Duration = Duration::from_secs(600);
const LOADSET_TRIES: u32 = 3;
/// Pause after a failed transfer, doubling up to the second value
/// (`RETRY_MIN_MS`, `RETRY_MAX_MS`).
const RETRY_MIN: Duration = Duration::from_millis(10);
const RETRY_MAX: Duration = Duration::from_millis(1000);

/// A file of the image as a client fetches it.
#[derive(Clone, Debug)]
struct FileSpec {
    /// Its name on the server.
    path: String,
    len: u64,
    sha256: [u8; HASH_LEN],
}

/// The image's stream, and where in it each chunk's pages are.
struct StreamPlan {
    file: FileSpec,
    /// Stream entries (pages) whole once `k * STREAM_STEP` bytes arrived.
    entries_at: Vec<u64>,
    /// Per chunk, one past the last entry of its pages (0: none).
    chunk_end: Vec<u64>,
}

/// The granularity of [`StreamPlan::entries_at`].
const STREAM_STEP: usize = 65536;

/// What each client fetches.
struct Plan {
    /// Before the resume, in order; `manifest.sig` may be missing.
    boot: Vec<(FileSpec, bool)>,
    loadset: Option<FileSpec>,
    stream: Option<StreamPlan>,
    chunks: u64,
    /// The chunk files, by chunk (`None`: chunk of zeros, no file).
    chunk_files: Vec<Option<FileSpec>>,
    /// Chunks the loading set brings whole.
    covered: Vec<u64>,
    /// Chunks with a file the loading set does not bring: where derived
    /// faults go.
    candidates: Vec<u64>,
    blksize: u16,
    pageset1_len: u64,
    pageset2_file_bytes: u64,
}

fn spec(dir: &Path, name: &str, file: &str) -> Result<Option<FileSpec>> {
    let p = dir.join(file);
    match std::fs::read(&p) {
        Ok(b) => Ok(Some(FileSpec {
            path: format!("{name}/{file}"),
            len: b.len() as u64,
            sha256: sha256(&b),
        })),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", p.display())),
    }
}

/// Reads the image directory `dir`, served as `name`.
fn plan(dir: &Path, name: Option<&str>) -> Result<Plan> {
    let mpath = dir.join(image::MANIFEST_NAME);
    let manifest = std::fs::read(&mpath).with_context(|| format!("reading {}", mpath.display()))?;
    let h = Manifest::parse(&manifest, sha256)
        .map_err(|e| anyhow::anyhow!("{}: {e}", mpath.display()))?
        .header;
    let name = name.unwrap_or_else(|| h.name_str()).to_string();
    let hashes = std::fs::read(dir.join(image::HASHES_NAME)).context("reading hashes")?;
    let m = PageHashes::parse(&h, &hashes, sha256).map_err(|e| anyhow::anyhow!("hashes: {e}"))?;
    let need = |f: &str| -> Result<FileSpec> {
        spec(dir, &name, f)?.with_context(|| format!("{}: no {f}", dir.display()))
    };
    let sig = spec(dir, &name, image::SIGNATURE_NAME)?;
    let boot = vec![
        (need(image::MANIFEST_NAME)?, true),
        (
            sig.unwrap_or(FileSpec {
                path: format!("{name}/{}", image::SIGNATURE_NAME),
                len: 0,
                sha256: [0; HASH_LEN],
            }),
            false,
        ),
        (need(image::PAGESET1_SUMS_NAME)?, true),
        (need(image::PAGESET1_NAME)?, true),
    ];
    let chunks = h.chunks();
    let mut chunk_files = Vec::with_capacity(chunks as usize);
    let mut bytes = 0;
    for c in 0..chunks {
        let mut n = [0u8; CHUNK_NAME_LEN];
        chunk_name(c, &mut n);
        let f = spec(dir, &name, &String::from_utf8_lossy(&n))?;
        bytes += f.as_ref().map_or(0, |f| f.len);
        chunk_files.push(f);
    }
    let per = u64::from(h.chunk_pages);
    let page = h.page_size as usize;
    let loadset = spec(dir, &name, LOADSET_NAME)?;
    let mut covered = Vec::new();
    if loadset.is_some() {
        let file = std::fs::read(dir.join(LOADSET_NAME))?;
        let lh = LoadsetHeader::parse::<()>(&file, sha256, &sha256(&manifest), &h)
            .map_err(|e| anyhow::anyhow!("loadset: {e}"))?;
        let pages: HashSet<u64> = lh
            .index::<()>(&file, sha256, &h)
            .map_err(|e| anyhow::anyhow!("loadset: {e}"))?
            .collect();
        for c in 0..chunks {
            let count = h.chunk_page_count(c).unwrap_or(0);
            let all = (c * per..c * per + count).all(|i| {
                pages.contains(&i) || m.page_hash(i).is_none_or(|x| is_zero_page_hash(x, page))
            });
            if all && chunk_files[c as usize].is_some() {
                covered.push(c);
            }
        }
    }
    let stream = match spec(dir, &name, STREAM_NAME)? {
        Some(file) => Some(stream_plan(dir, file, &manifest, &h)?),
        None => None,
    };
    let cov: HashSet<u64> = covered.iter().copied().collect();
    let candidates = (0..chunks)
        .filter(|c| chunk_files[*c as usize].is_some() && !cov.contains(c))
        .collect();
    Ok(Plan {
        boot,
        loadset,
        stream,
        chunks,
        chunk_files,
        covered,
        candidates,
        // `default_blksize()` of `rust/store/tftp.rs`.
        blksize: (u64::from(h.chunk_pages) * u64::from(h.page_size) + 8).min(65464) as u16,
        pageset1_len: h.pageset1_len,
        pageset2_file_bytes: bytes,
    })
}

/// Reads the stream `file` of the image in `dir`: after how many bytes
/// each entry is whole, and each chunk's last entry.
fn stream_plan(
    dir: &Path,
    file: FileSpec,
    manifest: &[u8],
    h: &image::Header,
) -> Result<StreamPlan> {
    /// Keeps the index list, ignores the pages.
    struct Index(Vec<u8>);
    impl LoadsetSink for Index {
        type Error = ();
        fn header(&mut self, _: &LoadsetHeader) -> Result<(), ()> {
            Ok(())
        }
        fn index(&mut self, _: u64, bytes: &[u8]) -> Result<(), ()> {
            self.0.extend_from_slice(bytes);
            Ok(())
        }
        fn index_bytes(&self) -> &[u8] {
            &self.0
        }
        fn page(&mut self, _: u64, _: u64, _: &[u8]) -> Result<(), ()> {
            Ok(())
        }
    }
    let bytes = std::fs::read(dir.join(STREAM_NAME)).context("reading the stream")?;
    let mut reader = Stream::new(sha256, sha256(manifest), *h);
    let mut sink = Index(Vec::new());
    let (mut stage, mut out) = (vec![0u8; BLOCK_LEN], vec![0u8; BLOCK_LEN]);
    let mut page = vec![0u8; h.page_size as usize];
    let mut entries_at = vec![0];
    for piece in bytes.chunks(STREAM_STEP) {
        reader
            .feed(
                piece,
                &mut stage,
                &mut out,
                &mut page,
                crate::pageset1::decompress,
                &mut sink,
            )
            .map_err(|e| anyhow::anyhow!("stream: {e}"))?;
        entries_at.push(reader.pages_done());
    }
    reader
        .finish::<()>()
        .map_err(|e| anyhow::anyhow!("stream: {e}"))?;
    let per = u64::from(h.chunk_pages).max(1);
    let mut chunk_end = vec![0u64; h.chunks() as usize];
    for (k, e) in sink.0.chunks_exact(INDEX_LEN).enumerate() {
        let p = u64::from_le_bytes(e.try_into().unwrap_or([0; 8]));
        if let Some(end) = chunk_end.get_mut((p / per) as usize) {
            *end = (*end).max(k as u64 + 1);
        }
    }
    Ok(StreamPlan {
        file,
        entries_at,
        chunk_end,
    })
}

/// A file arrived, but not as the image has it.
#[derive(Debug)]
struct Corrupt(String);

impl std::fmt::Display for Corrupt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Corrupt {}

/// What one transfer gave.
struct Got {
    bytes: u64,
    retransmits: u32,
}

/// One client's results; times from its start.
#[derive(Clone, Debug, Default)]
struct ClientResult {
    server: usize,
    resumed: Option<Duration>,
    interactive: Option<Duration>,
    complete: Option<Duration>,
    /// When its last transfer ended, from the run's start.
    end: Duration,
    bytes: u64,
    transfers: u64,
    retransmits: u64,
    failed_transfers: u64,
    given_up: u64,
    bad: u64,
    faults: usize,
    /// UDP sockets opened by the fetchers.
    sockets: u64,
    /// Per fault: from its issue to its page's file being there.
    fault_waits: Vec<Duration>,
    errors: Vec<String>,
}

/// A client's shared state after the resume.
struct State {
    sched: Scheduler,
    res: ClientResult,
}

struct Client<'a> {
    plan: &'a Plan,
    server: SocketAddrV4,
    verify: bool,
    /// Each fetcher keeps its socket.
    keep_sockets: bool,
    /// The run's start and deadline.
    t0: Instant,
    deadline: Instant,
    state: Mutex<State>,
    changed: Condvar,
    /// The client's round-trip estimate, which all its transfers share
    /// as the module's do.
    rtt: Mutex<Rtt>,
    /// The client's own link (`--client-rate`), which all its transfers
    /// share; `None`: unlimited.
    link: Option<Link>,
}

impl Client<'_> {
    /// Fetches `f` from the client's server through its link; checks its
    /// length, and with `verify` its SHA-256. A missing file that `must`
    /// not be there is fine.
    fn fetch(
        &self,
        f: &FileSpec,
        must: bool,
        opts: &Options,
        endpoint: Option<&mut Endpoint>,
    ) -> Result<Got> {
        let mut hasher = Sha256::new();
        let mut len = 0u64;
        let mut sink = |off: u64, b: &[u8]| {
            self.receive(b.len());
            len = off + b.len() as u64;
            if self.verify {
                hasher.update(b);
            }
            Ok(())
        };
        let r = match endpoint {
            Some(ep) => ep.fetch(self.server, &f.path, opts, Some(&self.rtt), &mut sink),
            None => tftp_download::fetch_adaptive(
                self.server,
                &f.path,
                opts,
                Some(&self.rtt),
                &mut sink,
            ),
        };
        let report = match r {
            Ok(r) => r,
            Err(e) if !must && e.downcast_ref::<NotFound>().is_some() => {
                return Ok(Got {
                    bytes: 0,
                    retransmits: 0,
                })
            }
            Err(e) => return Err(e),
        };
        if len != f.len {
            return Err(
                Corrupt(format!("{}: {len} bytes, the image has {}", f.path, f.len)).into(),
            );
        }
        if self.verify {
            let d: [u8; HASH_LEN] = hasher.finalize().into();
            if d != f.sha256 {
                return Err(
                    Corrupt(format!("{}: SHA-256 differs from the image's", f.path)).into(),
                );
            }
        }
        Ok(Got {
            bytes: len,
            retransmits: report.retransmits,
        })
    }

    /// A block of `data` bytes arrived: returns once the client's link, if
    /// it has one, would have carried it.
    fn receive(&self, data: usize) {
        if let Some(l) = &self.link {
            l.receive(data);
        }
    }

    fn record(&self, r: &Result<Got>, res: &mut ClientResult) {
        res.transfers += 1;
        match r {
            Ok(g) => {
                res.bytes += g.bytes;
                res.retransmits += u64::from(g.retransmits);
            }
            Err(e) => {
                res.failed_transfers += 1;
                let s = format!("{e:#}");
                if e.downcast_ref::<Corrupt>().is_some() {
                    res.bad += 1;
                }
                if res.errors.len() < 4 {
                    res.errors.push(s);
                }
            }
        }
    }

    fn chunk_opts(&self) -> Options {
        Options {
            blksize: self.plan.blksize,
            windowsize: WINDOWSIZE,
            rto: CHUNK_RTO,
            deadline: CHUNK_DEADLINE,
        }
    }

    /// One of the engine's fetchers.
    fn fetcher(&self, urgent_only: bool, start: Instant) {
        let mut pause = RETRY_MIN;
        // The fetcher's socket, kept from one transfer to the next.
        let mut ep = Endpoint::default();
        let sockets = |ep: &Endpoint| {
            self.state.lock().unwrap().res.sockets += ep.sockets;
        };
        loop {
            let next = {
                let mut st = self.state.lock().unwrap();
                loop {
                    if Instant::now() >= self.deadline {
                        st.res.sockets += ep.sockets;
                        return;
                    }
                    match st.sched.next(urgent_only) {
                        Next::Wait => {
                            st = self
                                .changed
                                .wait_timeout(st, Duration::from_millis(100))
                                .unwrap()
                                .0;
                        }
                        n => break n,
                    }
                }
            };
            match next {
                Next::Done => {
                    sockets(&ep);
                    self.changed.notify_all();
                    return;
                }
                Next::Wait => unreachable!(),
                Next::Fetch(c, lane) => {
                    let Some(f) = &self.plan.chunk_files[c as usize] else {
                        unreachable!("the scheduler fetches only chunks with a file")
                    };
                    let r = self.fetch(
                        f,
                        true,
                        &self.chunk_opts(),
                        self.keep_sockets.then_some(&mut ep),
                    );
                    let ok = r.is_ok();
                    let mut st = self.state.lock().unwrap();
                    let now = Instant::now();
                    self.record(&r, &mut st.res);
                    if st.sched.finish(c, lane, ok) {
                        st.res.given_up += 1;
                    }
                    st.res.end = now - self.t0;
                    if st.sched.complete() && st.res.complete.is_none() {
                        st.res.complete = Some(now - start);
                    }
                    drop(st);
                    self.changed.notify_all();
                    if ok {
                        pause = RETRY_MIN;
                    } else {
                        std::thread::sleep(pause);
                        pause = (pause * 2).min(RETRY_MAX);
                    }
                }
                Next::Stream => {
                    let r = self.stream(self.keep_sockets.then_some(&mut ep));
                    let mut st = self.state.lock().unwrap();
                    let now = Instant::now();
                    self.record(&r, &mut st.res);
                    st.sched.finish_stream();
                    st.res.end = now - self.t0;
                    if st.sched.complete() && st.res.complete.is_none() {
                        st.res.complete = Some(now - start);
                    }
                    drop(st);
                    self.changed.notify_all();
                }
                Next::Loadset => {
                    let f = self.plan.loadset.as_ref().expect("a loading set");
                    let opts = Options {
                        deadline: LOADSET_DEADLINE,
                        rto: CHUNK_RTO,
                        ..self.chunk_opts()
                    };
                    let mut ok = false;
                    for _ in 0..LOADSET_TRIES {
                        let r = self.fetch(f, true, &opts, self.keep_sockets.then_some(&mut ep));
                        ok = r.is_ok();
                        self.record(&r, &mut self.state.lock().unwrap().res);
                        if ok {
                            break;
                        }
                    }
                    let mut st = self.state.lock().unwrap();
                    let now = Instant::now();
                    st.sched.finish_loadset(ok);
                    st.res.interactive = Some(now - start);
                    st.res.end = now - self.t0;
                    if st.sched.complete() && st.res.complete.is_none() {
                        st.res.complete = Some(now - start);
                    }
                    drop(st);
                    self.changed.notify_all();
                }
            }
        }
    }

    /// Fetches the stream, as the background lane does: the chunks whose
    /// pages came are arrived as it goes, and it stops where it meets the
    /// files the other fetcher takes from the end (then it is a success
    /// with the bytes it brought). A stream that fails is not tried again:
    /// the files bring the rest.
    fn stream(&self, endpoint: Option<&mut Endpoint>) -> Result<Got> {
        let sp = self.plan.stream.as_ref().expect("a stream");
        let opts = Options {
            deadline: LOADSET_DEADLINE,
            ..self.chunk_opts()
        };
        let mut hasher = Sha256::new();
        let mut len = 0u64;
        let mut met = false;
        let mut sink = |off: u64, b: &[u8]| -> Result<()> {
            self.receive(b.len());
            len = off + b.len() as u64;
            if self.verify {
                hasher.update(b);
            }
            let whole = sp
                .entries_at
                .get(len as usize / STREAM_STEP)
                .copied()
                .unwrap_or(u64::MAX);
            met = self.state.lock().unwrap().sched.stream_progress(whole);
            self.changed.notify_all();
            if met {
                bail!("the stream met the files from the end");
            }
            Ok(())
        };
        let r = match endpoint {
            Some(ep) => ep.fetch(
                self.server,
                &sp.file.path,
                &opts,
                Some(&self.rtt),
                &mut sink,
            ),
            None => tftp_download::fetch_adaptive(
                self.server,
                &sp.file.path,
                &opts,
                Some(&self.rtt),
                &mut sink,
            ),
        };
        let retransmits = match r {
            Ok(report) => report.retransmits,
            Err(_) if met => 0,
            Err(e) => return Err(e),
        };
        if !met {
            let f = &sp.file;
            if len != f.len {
                bail!(Corrupt(format!(
                    "{}: {len} bytes, the image has {}",
                    f.path, f.len
                )));
            }
            if self.verify && <[u8; HASH_LEN]>::from(hasher.finalize()) != f.sha256 {
                bail!(Corrupt(format!(
                    "{}: SHA-256 differs from the image's",
                    f.path
                )));
            }
        }
        Ok(Got {
            bytes: len,
            retransmits,
        })
    }

    /// The faults of `faults`, replayed from `resumed` on.
    fn faults(&self, faults: &[Fault], resumed: Instant) {
        let mut served = Duration::ZERO;
        for f in faults {
            let at = resumed + schedule::due(f.at, served);
            let now = Instant::now();
            if at > now {
                std::thread::sleep(at - now);
            }
            let issued = Instant::now();
            let mut st = self.state.lock().unwrap();
            loop {
                if Instant::now() >= self.deadline {
                    return;
                }
                match st.sched.request(f.chunk) {
                    Requested::Here | Requested::Invalid => break,
                    Requested::Pending => {
                        self.changed.notify_all();
                        st = self
                            .changed
                            .wait_timeout(st, Duration::from_millis(100))
                            .unwrap()
                            .0;
                    }
                }
            }
            let done = Instant::now();
            st.res.faults += 1;
            st.res.fault_waits.push(done - issued);
            served = done - resumed;
        }
    }
}

/// Runs client `idx` from `t0`.
fn run_client(
    idx: usize,
    plan: &Plan,
    args: &LoadgenArgs,
    faults: &[Fault],
    t0: Instant,
    deadline: Instant,
) -> ClientResult {
    let s = idx % args.servers.len();
    let server = args.servers[s];
    let start = t0 + Duration::from_millis(args.stagger_ms) * idx as u32;
    if let Some(d) = start.checked_duration_since(Instant::now()) {
        std::thread::sleep(d);
    }
    let mut res = ClientResult {
        server: s,
        ..Default::default()
    };
    let client = Client {
        plan,
        server,
        verify: args.verify,
        keep_sockets: !args.socket_per_transfer,
        t0,
        deadline,
        state: Mutex::new(State {
            sched: Scheduler::new(
                plan.chunks,
                &(0..plan.chunks)
                    .filter(|c| plan.chunk_files[*c as usize].is_some())
                    .collect::<Vec<_>>(),
                plan.loadset.is_some(),
                &plan.covered,
            )
            .with_stream_if(plan.stream.as_ref().map(|s| s.chunk_end.clone())),
            res: ClientResult::default(),
        }),
        changed: Condvar::new(),
        rtt: Mutex::new(Rtt::default()),
        link: args.client_rate.map(Link::new),
    };
    // What the resuming kernel fetches, one file after the other.
    for (f, must) in &plan.boot {
        let mib = f.len.div_ceil(1 << 20);
        let opts = Options {
            blksize: BOOT_BLKSIZE,
            windowsize: WINDOWSIZE,
            rto: BOOT_RTO,
            deadline: Duration::from_secs(60 + 2 * mib),
        };
        let mut ok = false;
        for _ in 0..schedule::MAX_TRIES {
            if Instant::now() >= deadline {
                break;
            }
            let r = client.fetch(f, *must, &opts, None);
            // A socket per transfer, as the resume's.
            res.sockets += 1;
            ok = r.is_ok();
            client.record(&r, &mut res);
            if ok {
                break;
            }
        }
        if !ok {
            res.errors
                .push(format!("{}: not fetched, no resume", f.path));
            res.end = Instant::now() - t0;
            return res;
        }
    }
    let resumed = Instant::now();
    res.resumed = Some(resumed - start);
    if plan.loadset.is_none() {
        res.interactive = res.resumed;
    }
    {
        let mut st = client.state.lock().unwrap();
        st.res = res;
        if st.sched.complete() {
            st.res.complete = st.res.resumed;
        }
    }
    std::thread::scope(|sc| {
        for i in 0..FETCHERS {
            let c = &client;
            sc.spawn(move || c.fetcher(i == 0, start));
        }
        client.faults(faults, resumed);
    });
    let mut st = client.state.into_inner().unwrap();
    if st.res.complete.is_none() {
        st.res.errors.push(format!(
            "not complete: {} files left when the run gave up",
            st.sched.left()
        ));
    }
    st.res.server = s;
    st.res
}

/// `bits_per_second` in Mbit/s, as few digits as it needs.
fn mbit(bits_per_second: u64) -> String {
    format!("{}", bits_per_second as f64 / 1e6)
}

fn secs(d: Option<Duration>) -> String {
    d.map_or("-".into(), |d| format!("{:.3}", d.as_secs_f64()))
}

fn stats(v: &mut [f64]) -> String {
    v.sort_by(f64::total_cmp);
    match (
        v.first(),
        schedule::percentile(v, 50.0),
        schedule::percentile(v, 90.0),
        v.last(),
    ) {
        (Some(a), Some(m), Some(p), Some(z)) => {
            format!("min {a:.2} s, median {m:.2} s, p90 {p:.2} s, max {z:.2} s")
        }
        _ => "none".into(),
    }
}

/// `lazyresume loadgen`.
pub fn run(args: &LoadgenArgs) -> Result<()> {
    ensure!(args.clients > 0, "--clients must be at least 1");
    let plan = plan(&args.image, args.name.as_deref())?;
    let mut traces = Vec::new();
    for t in &args.trace {
        let text =
            std::fs::read_to_string(t).with_context(|| format!("reading {}", t.display()))?;
        let faults =
            schedule::parse_trace(&text).map_err(|e| anyhow::anyhow!("{}: {e}", t.display()))?;
        if let Some(f) = faults.iter().find(|f| f.chunk >= plan.chunks) {
            bail!("{}: chunk {} is not in the image", t.display(), f.chunk);
        }
        traces.push(faults);
    }
    let faults: Vec<Vec<Fault>> = (0..args.clients)
        .map(|i| match traces.len() {
            0 => schedule::derive_faults(
                &plan.candidates,
                args.faults,
                Duration::from_millis(args.fault_gap_ms),
                args.seed,
                i,
            ),
            n => traces[i % n].clone(),
        })
        .collect();
    println!(
        "loadgen: {} clients, {} server(s), image {}: pageset1 {:.1} MiB, loading set {}, pageset2 {:.1} MiB in {} files ({} chunks, {} covered by the loading set), {} faults per client ({})",
        args.clients,
        args.servers.len(),
        args.image.display(),
        plan.pageset1_len as f64 / 1048576.0,
        plan.loadset
            .as_ref()
            .map_or("none".into(), |l| format!("{:.1} MiB", l.len as f64 / 1048576.0)),
        plan.pageset2_file_bytes as f64 / 1048576.0,
        plan.chunk_files.iter().flatten().count(),
        plan.chunks,
        plan.covered.len(),
        faults.first().map_or(0, Vec::len),
        if traces.is_empty() { "derived" } else { "recorded" },
    );
    match args.client_rate {
        Some(r) => println!(
            "client links: {} Mbit/s each (a model: each client paces what it receives; the servers are on the loopback)",
            mbit(r)
        ),
        None => println!("client links: unlimited (nothing but the servers limits a client)"),
    }
    let t0 = Instant::now() + Duration::from_millis(50);
    let deadline = t0 + Duration::from_secs(args.timeout);
    let results: Vec<ClientResult> = std::thread::scope(|sc| {
        let handles: Vec<_> = (0..args.clients)
            .map(|i| {
                let (plan, faults) = (&plan, &faults[i]);
                std::thread::Builder::new()
                    .stack_size(256 << 10)
                    .spawn_scoped(sc, move || run_client(i, plan, args, faults, t0, deadline))
            })
            .collect::<Result<_, _>>()?;
        handles
            .into_iter()
            .map(|h| h.join().map_err(|_| anyhow::anyhow!("a client panicked")))
            .collect::<Result<Vec<_>>>()
    })?;
    report(args, &results)
}

fn report(args: &LoadgenArgs, results: &[ClientResult]) -> Result<()> {
    let mut csv = String::from("client,server,resumed_s,interactive_s,complete_s,bytes,transfers,retransmits,failed_transfers,faults,fault_wait_median_ms,fault_wait_max_ms\n");
    for (i, r) in results.iter().enumerate() {
        let mut w: Vec<f64> = r
            .fault_waits
            .iter()
            .map(|d| d.as_secs_f64() * 1e3)
            .collect();
        w.sort_by(f64::total_cmp);
        let _ = writeln!(
            csv,
            "{i},{},{},{},{},{},{},{},{},{},{:.1},{:.1}",
            r.server,
            secs(r.resumed),
            secs(r.interactive),
            secs(r.complete),
            r.bytes,
            r.transfers,
            r.retransmits,
            r.failed_transfers,
            r.faults,
            schedule::percentile(&w, 50.0).unwrap_or(0.0),
            w.last().copied().unwrap_or(0.0),
        );
    }
    if let Some(p) = &args.csv {
        std::fs::write(p, &csv).with_context(|| format!("writing {}", p.display()))?;
    }
    let mut tti: Vec<f64> = results
        .iter()
        .filter_map(|r| r.interactive.map(|d| d.as_secs_f64()))
        .collect();
    let mut done: Vec<f64> = results
        .iter()
        .filter_map(|r| r.complete.map(|d| d.as_secs_f64()))
        .collect();
    let mut waits: Vec<f64> = results
        .iter()
        .flat_map(|r| r.fault_waits.iter().map(|d| d.as_secs_f64() * 1e3))
        .collect();
    waits.sort_by(f64::total_cmp);
    let wall = results.iter().map(|r| r.end).max().unwrap_or_default();
    let bytes: u64 = results.iter().map(|r| r.bytes).sum();
    let mibps = bytes as f64 / 1048576.0 / wall.as_secs_f64().max(1e-9);
    let sum = |f: fn(&ClientResult) -> u64| results.iter().map(f).sum::<u64>();
    println!("time to interactive: {}", stats(&mut tti));
    println!("time to complete:    {}", stats(&mut done));
    println!(
        "fault waits:         {} faults, median {:.1} ms, p90 {:.1} ms, max {:.1} ms",
        waits.len(),
        schedule::percentile(&waits, 50.0).unwrap_or(0.0),
        schedule::percentile(&waits, 90.0).unwrap_or(0.0),
        waits.last().copied().unwrap_or(0.0)
    );
    println!(
        "servers gave:        {:.1} MiB in {:.2} s: {mibps:.1} MiB/s",
        bytes as f64 / 1048576.0,
        wall.as_secs_f64()
    );
    for s in 0..args.servers.len() {
        let b: u64 = results
            .iter()
            .filter(|r| r.server == s)
            .map(|r| r.bytes)
            .sum();
        let w = results
            .iter()
            .filter(|r| r.server == s)
            .map(|r| r.end)
            .max()
            .unwrap_or_default();
        println!(
            "  server {} ({}): {:.1} MiB, {:.1} MiB/s",
            s,
            args.servers[s],
            b as f64 / 1048576.0,
            b as f64 / 1048576.0 / w.as_secs_f64().max(1e-9)
        );
    }
    println!(
        "transfers:           {} ({} sockets), {} retransmits, {} failed (retried), {} files given up{}",
        sum(|r| r.transfers),
        if args.socket_per_transfer {
            sum(|r| r.transfers)
        } else {
            sum(|r| r.sockets)
        },
        sum(|r| r.retransmits),
        sum(|r| r.failed_transfers),
        sum(|r| r.given_up),
        if args.verify {
            format!(
                ", {} arrived wrong and were fetched again (SHA-256 checked)",
                sum(|r| r.bad)
            )
        } else {
            format!(
                ", {} arrived with a wrong length and were fetched again",
                sum(|r| r.bad)
            )
        }
    );
    if args.machine {
        let p = |v: &[f64], q| schedule::percentile(v, q).unwrap_or(f64::NAN);
        println!(
            "storm clients={} servers={} tti_med={:.3} tti_p90={:.3} tti_max={:.3} done_med={:.3} done_p90={:.3} done_max={:.3} mib={:.1} wall={:.3} mibps={:.1} retransmits={} failed={} wrong={} fault_wait_med_ms={:.1} fault_wait_p90_ms={:.1} incomplete={} client_mbit={}",
            args.clients,
            args.servers.len(),
            p(&tti, 50.0),
            p(&tti, 90.0),
            p(&tti, 100.0),
            p(&done, 50.0),
            p(&done, 90.0),
            p(&done, 100.0),
            bytes as f64 / 1048576.0,
            wall.as_secs_f64(),
            mibps,
            sum(|r| r.retransmits),
            sum(|r| r.failed_transfers),
            sum(|r| r.bad),
            schedule::percentile(&waits, 50.0).unwrap_or(0.0),
            schedule::percentile(&waits, 90.0).unwrap_or(0.0),
            results.iter().filter(|r| r.complete.is_none()).count(),
            args.client_rate.map_or("unlimited".into(), mbit),
        );
    }
    // A client fails if a file never arrived intact; a transfer that
    // failed or brought the wrong bytes and was tried again is counted
    // above, and shown here only for the failed clients.
    let mut failed = 0;
    for (i, r) in results.iter().enumerate() {
        if r.complete.is_none() || r.given_up > 0 {
            failed += 1;
            for e in &r.errors {
                eprintln!("loadgen: client {i}: {e}");
            }
        }
    }
    if failed == 0 {
        if let Some((i, e)) = results
            .iter()
            .enumerate()
            .find_map(|(i, r)| r.errors.first().map(|e| (i, e)))
        {
            eprintln!("loadgen: every client got every file intact; the first failed transfer (tried again): client {i}: {e}");
        }
    }
    ensure!(
        failed == 0,
        "{failed} of {} clients did not get every file intact",
        results.len()
    );
    Ok(())
}
