// SPDX-License-Identifier: GPL-2.0

//! Uploads to a TFTP server from user space (`lazyresume capture
//! --upload`), driving the shared protocol core over a UDP socket. The
//! data is streamed: only the block in flight is kept, for resending.

use anyhow::{bail, Context, Result};
use lazyresume_tftp::{ErrorCode, OptionSet, SendEvent, SendTimeout, Sender, MIN_OUT_LEN};
use std::net::{SocketAddr, SocketAddrV4, UdpSocket};
use std::time::Duration;

/// Block size asked for: the largest, which tftpd-hpa grants.
const BLKSIZE: u16 = 65464;
/// Retransmission timeout.
const RTO: Duration = Duration::from_millis(500);
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

/// Uploads `len` bytes from `data` as `file` to `server`, calling
/// `progress` with the bytes acknowledged so far.
pub fn upload(
    server: SocketAddrV4,
    file: &str,
    len: u64,
    data: &mut dyn Reader,
    progress: &mut dyn FnMut(u64),
) -> Result<()> {
    let sock = UdpSocket::bind("0.0.0.0:0").context("binding a UDP socket")?;
    sock.set_read_timeout(Some(RTO))?;
    let mut tx = Sender::new(OptionSet {
        blksize: Some(BLKSIZE),
        timeout: None,
        tsize: Some(len),
        windowsize: None,
    });
    let mut out = vec![0u8; usize::from(BLKSIZE) + 4 + MIN_OUT_LEN];
    let mut buf = vec![0u8; 65536];
    // The block in flight: its offset and bytes.
    let mut block: Option<(u64, Vec<u8>)> = None;
    let len = tx
        .write_request(file.as_bytes(), &mut out)
        .map_err(|e| anyhow::anyhow!("{file}: cannot encode the request: {e:?}"))?;
    let request = out[..len].to_vec();
    sock.send_to(&request, server)?;
    let mut peer: Option<SocketAddr> = None;
    let mut retries = 0;
    loop {
        let transmit = match sock.recv_from(&mut buf) {
            Ok((n, from)) => {
                let ok = match peer {
                    Some(p) => p == from,
                    None => from.ip() == *server.ip(),
                };
                let waiting = tx.awaiting_reply();
                match tx.on_packet(ok, &buf[..n], &mut out) {
                    SendEvent::Ignored => false,
                    SendEvent::Reject(l) => {
                        sock.send_to(&out[..l], from)?;
                        false
                    }
                    SendEvent::Transmit => {
                        if waiting {
                            peer = Some(from);
                        }
                        retries = 0;
                        true
                    }
                    SendEvent::Done => return Ok(()),
                    SendEvent::Failed { error, send } => {
                        if let (Some(l), Some(p)) = (send, peer) {
                            sock.send_to(&out[..l], p)?;
                        }
                        bail!("upload of {file} to {server}: {error}");
                    }
                }
            }
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                retries += 1;
                if retries > MAX_RETRIES {
                    if let (Some(l), Some(p)) =
                        (tx.abort(ErrorCode::NotDefined, b"timeout", &mut out), peer)
                    {
                        let _ = sock.send_to(&out[..l], p);
                    }
                    bail!("upload of {file} to {server}: no answer");
                }
                match tx.on_timeout() {
                    SendTimeout::ResendRequest => {
                        sock.send_to(&request, server)?;
                        false
                    }
                    SendTimeout::Retransmit => true,
                    SendTimeout::Idle => false,
                }
            }
            Err(e) => return Err(e).context("receiving from the TFTP server"),
        };
        if !transmit {
            continue;
        }
        let peer_addr = peer.context("no server TID")?;
        while let Some(next) = tx.next_block() {
            let in_flight = matches!(&block, Some((off, _)) if *off == next.offset);
            if !in_flight {
                let expected = block.as_ref().map_or(0, |(o, b)| o + b.len() as u64);
                if next.offset != expected {
                    bail!("upload of {file}: server asked for offset {}", next.offset);
                }
                progress(next.offset);
                let mut bytes = vec![0u8; next.max_len];
                let n = data.read_full(&mut bytes)?;
                bytes.truncate(n);
                block = Some((next.offset, bytes));
            }
            let bytes = block.as_ref().map_or(&[][..], |(_, b)| b.as_slice());
            let l = tx
                .send_block(bytes, &mut out)
                .map_err(|e| anyhow::anyhow!("upload of {file}: {e:?}"))?;
            sock.send_to(&out[..l], peer_addr)?;
        }
    }
}
