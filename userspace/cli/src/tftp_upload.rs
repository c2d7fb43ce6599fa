// SPDX-License-Identifier: GPL-2.0

//! Uploads to a TFTP server from user space (`lazyresume capture`),
//! driving the shared protocol core over UDP sockets: one streamed file
//! (pageset1, of which only the block in flight is kept) or many small
//! ones at once (pageset2 pages, one file each, where the round trips and
//! the server's per-transfer start dominate).

use anyhow::{anyhow, bail, Context, Result};
use lazyresume_tftp::{
    ErrorCode, OptionSet, SendEvent, SendTimeout, Sender, MIN_OUT_LEN, WRITE_REQUEST_RTO_MS,
};
use std::net::{SocketAddr, SocketAddrV4, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

/// Block size asked for: the largest, which tftpd-hpa grants.
const BLKSIZE: u16 = 65464;
/// Retransmission timeout of data.
const RTO: Duration = Duration::from_millis(500);
/// Retransmission timeout of the request (see [`WRITE_REQUEST_RTO_MS`]).
const REQUEST_RTO: Duration = Duration::from_millis(WRITE_REQUEST_RTO_MS as u64);
/// Retries without progress before giving up.
const MAX_RETRIES: u32 = 10;

/// Bytes to upload, read in order.
pub trait Reader {
    /// Fills `buf` with the next bytes, short only at the end.
    fn read_full(&mut self, buf: &mut [u8]) -> Result<usize>;
}

impl Reader for &[u8] {
    fn read_full(&mut self, buf: &mut [u8]) -> Result<usize> {
        let n = buf.len().min(self.len());
        buf[..n].copy_from_slice(&self[..n]);
        *self = &self[n..];
        Ok(n)
    }
}

/// One upload in progress.
struct Upload<R> {
    file: String,
    server: SocketAddrV4,
    sock: UdpSocket,
    tx: Sender,
    data: R,
    request: Vec<u8>,
    /// The server's TID, once it answered.
    peer: Option<SocketAddr>,
    /// The block in flight: its offset and bytes.
    block: Option<(u64, Vec<u8>)>,
    /// When the retransmission timer fires.
    timer: Instant,
    retries: u32,
    done: bool,
    /// A second server transfer answered (a repeated request reached the
    /// server): the file may be truncated after this upload ends.
    duplicate: bool,
}

impl<R: Reader> Upload<R> {
    /// Sends the WRQ for `file` of `len` bytes.
    fn start(
        server: SocketAddrV4,
        file: &str,
        len: Option<u64>,
        data: R,
        sock: Option<UdpSocket>,
    ) -> Result<Self> {
        let sock = match sock {
            Some(s) => {
                // Whatever an earlier transfer left is not for this one.
                let mut junk = [0u8; 1];
                while s.recv_from(&mut junk).is_ok() {}
                s
            }
            None => UdpSocket::bind("0.0.0.0:0").context("binding a UDP socket")?,
        };
        sock.set_nonblocking(true)?;
        let tx = Sender::new(OptionSet {
            blksize: Some(BLKSIZE),
            timeout: None,
            tsize: len,
            windowsize: None,
        });
        let mut out = [0u8; 512];
        let n = tx
            .write_request(file.as_bytes(), &mut out)
            .map_err(|e| anyhow!("{file}: cannot encode the request: {e:?}"))?;
        let u = Self {
            file: file.to_string(),
            server,
            sock,
            tx,
            data,
            request: out[..n].to_vec(),
            peer: None,
            block: None,
            timer: Instant::now() + REQUEST_RTO,
            retries: 0,
            done: false,
            duplicate: false,
        };
        u.sock.send_to(&u.request, server)?;
        Ok(u)
    }

    /// Handles every packet waiting on the socket and the timer; `out` and
    /// `buf` are scratch space. Sets `done` at the end.
    fn step(
        &mut self,
        out: &mut [u8],
        buf: &mut [u8],
        progress: &mut dyn FnMut(u64),
    ) -> Result<()> {
        loop {
            let (n, from) = match self.sock.recv_from(buf) {
                Ok(r) => r,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e).context("receiving from the TFTP server"),
            };
            let ok = match self.peer {
                Some(p) => p == from,
                None => from.ip() == *self.server.ip(),
            };
            let waiting = self.tx.awaiting_reply();
            match self.tx.on_packet(ok, &buf[..n], out) {
                SendEvent::Ignored => {}
                SendEvent::Reject(l) => {
                    self.duplicate |= from.ip() == *self.server.ip();
                    self.sock.send_to(&out[..l], from)?;
                }
                SendEvent::Transmit => {
                    if waiting {
                        self.peer = Some(from);
                    }
                    self.retries = 0;
                    self.transmit(out, progress)?;
                }
                SendEvent::Done => {
                    self.done = true;
                    return Ok(());
                }
                SendEvent::Failed { error, send } => {
                    if let (Some(l), Some(p)) = (send, self.peer) {
                        let _ = self.sock.send_to(&out[..l], p);
                    }
                    bail!("upload of {} to {}: {error}", self.file, self.server);
                }
            }
        }
        if Instant::now() >= self.timer {
            self.retries += 1;
            if self.retries > MAX_RETRIES {
                if let (Some(l), Some(p)) = (
                    self.tx.abort(ErrorCode::NotDefined, b"timeout", out),
                    self.peer,
                ) {
                    let _ = self.sock.send_to(&out[..l], p);
                }
                bail!("upload of {} to {}: no answer", self.file, self.server);
            }
            self.timer = Instant::now() + RTO;
            match self.tx.on_timeout() {
                SendTimeout::ResendRequest => {
                    self.sock.send_to(&self.request, self.server)?;
                    self.timer = Instant::now() + REQUEST_RTO;
                }
                SendTimeout::Retransmit => self.transmit(out, progress)?,
                SendTimeout::Idle => {}
            }
        }
        Ok(())
    }

    /// Sends the blocks the window allows, reading new ones in order.
    fn transmit(&mut self, out: &mut [u8], progress: &mut dyn FnMut(u64)) -> Result<()> {
        let peer = self.peer.context("no server TID")?;
        while let Some(next) = self.tx.next_block() {
            let in_flight = matches!(&self.block, Some((off, _)) if *off == next.offset);
            if !in_flight {
                let expected = self.block.as_ref().map_or(0, |(o, b)| o + b.len() as u64);
                if next.offset != expected {
                    bail!(
                        "upload of {}: server asked for offset {}",
                        self.file,
                        next.offset
                    );
                }
                progress(next.offset);
                let mut bytes = vec![0u8; next.max_len];
                let n = self.data.read_full(&mut bytes)?;
                bytes.truncate(n);
                self.block = Some((next.offset, bytes));
            }
            let bytes = self.block.as_ref().map_or(&[][..], |(_, b)| b.as_slice());
            let l = self
                .tx
                .send_block(bytes, out)
                .map_err(|e| anyhow!("upload of {}: {e:?}", self.file))?;
            self.sock.send_to(&out[..l], peer)?;
        }
        self.timer = Instant::now() + RTO;
        Ok(())
    }
}

/// Waits until one of `uploads` has something to read or its timer
/// fires.
fn wait<R>(uploads: &[Upload<R>]) -> Result<()> {
    let now = Instant::now();
    let timeout = uploads
        .iter()
        .map(|u| u.timer.saturating_duration_since(now))
        .min()
        .unwrap_or(RTO);
    let mut fds: Vec<libc::pollfd> = uploads
        .iter()
        .map(|u| libc::pollfd {
            fd: u.sock.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    // SAFETY: `fds` holds `fds.len()` valid pollfd structures.
    let rc = unsafe {
        libc::poll(
            fds.as_mut_ptr(),
            fds.len() as libc::nfds_t,
            timeout.as_millis().min(i32::MAX as u128) as i32 + 1,
        )
    };
    if rc < 0 {
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e).context("poll");
        }
    }
    Ok(())
}

/// Scratch buffers of a transfer loop.
fn buffers() -> (Vec<u8>, Vec<u8>) {
    (
        vec![0u8; usize::from(BLKSIZE) + 4 + MIN_OUT_LEN],
        vec![0u8; 65536],
    )
}

/// Uploads the bytes of `data` (`len` of them, if known) as `file` to
/// `server`, calling `progress` with the offsets reached.
pub fn upload(
    server: SocketAddrV4,
    file: &str,
    len: Option<u64>,
    data: &mut dyn Reader,
    progress: &mut dyn FnMut(u64),
) -> Result<()> {
    let (mut out, mut buf) = buffers();
    let mut u = [Upload::start(server, file, len, data, None)?];
    while !u[0].done {
        wait(&u)?;
        u[0].step(&mut out, &mut buf, progress)?;
    }
    if u[0].duplicate {
        bail!("upload of {file} to {server}: the server started it twice and may truncate it");
    }
    Ok(())
}

/// Uploads every `(name, bytes)` of `files` to `server`, `parallel` at a
/// time, calling `progress` with the number of files done. A file the
/// server started twice is uploaded again once the other transfer is
/// over.
pub fn upload_many(
    server: SocketAddrV4,
    files: &mut dyn Iterator<Item = Result<(String, Vec<u8>)>>,
    parallel: usize,
    progress: &mut dyn FnMut(u64),
) -> Result<u64> {
    let mut redo = Vec::new();
    let done = run_uploads(server, files, parallel, &mut redo, progress)?;
    for _ in 0..3 {
        if redo.is_empty() {
            return Ok(done);
        }
        // The duplicate transfers got an error and end; wait for that.
        std::thread::sleep(Duration::from_secs(1));
        let mut again = std::mem::take(&mut redo).into_iter().map(Ok);
        run_uploads(server, &mut again, 1, &mut redo, &mut |_| {})?;
    }
    if let Some((name, _)) = redo.first() {
        bail!("upload of {name} to {server}: the server keeps starting it twice");
    }
    Ok(done)
}

/// The loop of [`upload_many`]: files started twice go into `redo`.
fn run_uploads(
    server: SocketAddrV4,
    files: &mut dyn Iterator<Item = Result<(String, Vec<u8>)>>,
    parallel: usize,
    redo: &mut Vec<(String, Vec<u8>)>,
    progress: &mut dyn FnMut(u64),
) -> Result<u64> {
    let (mut out, mut buf) = buffers();
    let mut running: Vec<Upload<std::io::Cursor<Vec<u8>>>> = Vec::new();
    // Sockets of finished uploads, used again: a NAT on the way (QEMU's
    // user network keeps a host socket per client port for minutes) sees
    // `parallel` clients, not one per file.
    let mut idle: Vec<UdpSocket> = Vec::new();
    let mut done = 0u64;
    let mut more = true;
    loop {
        while more && running.len() < parallel.max(1) {
            match files.next() {
                Some(f) => {
                    let (name, bytes) = f?;
                    let len = Some(bytes.len() as u64);
                    let data = std::io::Cursor::new(bytes);
                    running.push(Upload::start(server, &name, len, data, idle.pop())?);
                }
                None => more = false,
            }
        }
        if running.is_empty() {
            return Ok(done);
        }
        wait(&running)?;
        for u in running.iter_mut() {
            u.step(&mut out, &mut buf, &mut |_| {})?;
        }
        let mut i = 0;
        while i < running.len() {
            if running[i].done {
                let u = running.swap_remove(i);
                if u.duplicate {
                    redo.push((u.file, u.data.into_inner()));
                }
                idle.push(u.sock);
                done += 1;
            } else {
                i += 1;
            }
        }
        progress(done);
    }
}

impl Reader for std::io::Cursor<Vec<u8>> {
    fn read_full(&mut self, buf: &mut [u8]) -> Result<usize> {
        Ok(std::io::Read::read(self, buf)?)
    }
}

impl<R: Reader + ?Sized> Reader for &mut R {
    fn read_full(&mut self, buf: &mut [u8]) -> Result<usize> {
        (**self).read_full(buf)
    }
}

impl Reader for std::io::BufReader<std::fs::File> {
    fn read_full(&mut self, buf: &mut [u8]) -> Result<usize> {
        use std::io::Read;
        let mut n = 0;
        while n < buf.len() {
            match self.read(&mut buf[n..])? {
                0 => break,
                k => n += k,
            }
        }
        Ok(n)
    }
}
