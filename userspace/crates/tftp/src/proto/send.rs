// SPDX-License-Identifier: GPL-2.0

//! The upload (WRQ) state machine.

use core::fmt;

use super::options::{negotiate, Negotiated, OptionSet};
use super::packet::{encode_data, encode_request, EncodeError, ErrorCode, Packet, RequestKind};
use super::transfer::{self, TransferError, MIN_OUT_LEN};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// The WRQ is out, no answer yet.
    AwaitingReply,
    /// Options settled, sending DATA.
    Transferring,
    /// The last block was acknowledged.
    Done,
    /// The transfer failed or was aborted.
    Failed,
}

/// What the caller does after [`Sender::on_packet`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendEvent<'p> {
    /// The packet changed nothing (a duplicate or stale ACK, a repeated
    /// OACK...). Duplicate ACKs never cause a retransmission (the sender's
    /// half of the Sorcerer's Apprentice fix). The caller must not restart
    /// its retransmission timer for it.
    Ignored,
    /// The packet came from a stranger (`from_tid_ok` was false): send
    /// `out[..len]`, ERROR 5, back to where the packet came from, not to
    /// the server. The transfer is unaffected.
    Reject(usize),
    /// The window moved: send blocks while [`Sender::next_block`] asks for
    /// one, each with [`Sender::send_block`].
    Transmit,
    /// The server acknowledged the last block: the upload is complete.
    Done,
    /// The transfer failed: send `out[..len]` (an ERROR) to the server if
    /// `send` is `Some(len)`, and stop.
    Failed {
        /// Why.
        error: TransferError<'p>,
        /// Length of the ERROR in `out` to send, if any.
        send: Option<usize>,
    },
}

/// What the caller does after [`Sender::on_timeout`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendTimeout {
    /// No answer to the WRQ: send it again (write it with
    /// [`Sender::write_request`] or resend the saved bytes).
    ResendRequest,
    /// Send the unacknowledged blocks again: send blocks while
    /// [`Sender::next_block`] asks for one, each with
    /// [`Sender::send_block`].
    Retransmit,
    /// Nothing to send: the transfer is over.
    Idle,
}

/// The block [`Sender::next_block`] wants to send next.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BlockRequest {
    /// Its wire block number.
    pub block: u16,
    /// Absolute byte offset in the file of its data.
    pub offset: u64,
    /// The block size: the caller passes exactly this many bytes, or fewer
    /// for the last block (0 if the file ends at `offset`).
    pub max_len: usize,
}

/// Why [`Sender::send_block`] refused a chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SendError {
    /// No block is to be sent now ([`Sender::next_block`] is `None`).
    NotReady,
    /// The chunk is longer than the block size.
    ChunkTooLong,
    /// The chunk disagrees with the file's end as earlier chunks set it: a
    /// short chunk before the last block, or a resent last block of another
    /// length.
    InconsistentChunk,
    /// `out` cannot hold the DATA packet.
    BufferTooSmall,
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotReady => "no block to send now",
            Self::ChunkTooLong => "chunk longer than the block size",
            Self::InconsistentChunk => "chunk inconsistent with the end of the file",
            Self::BufferTooSmall => "output buffer too small for the DATA packet",
        })
    }
}

/// Retransmission timeout of a write request (WRQ) until the server
/// answers, in milliseconds, for every uploader: long, because a repeated
/// WRQ makes the server start a second transfer of the same file, which
/// truncates it, possibly after the first one completed (seen under load:
/// a page file left empty on the server). The round-trip estimate of a
/// running transfer does not apply: a server answers data at once but
/// forks or spawns a transfer for a request.
pub const WRITE_REQUEST_RTO_MS: u32 = 2000;

/// An upload: the client side of a WRQ, without I/O.
///
/// The caller sends the request ([`Sender::write_request`]) and feeds every
/// packet that arrives to [`Sender::on_packet`]. When that says
/// [`SendEvent::Transmit`] (or [`Sender::on_timeout`] says
/// [`SendTimeout::Retransmit`]), it sends blocks while
/// [`Sender::next_block`] asks for one: it reads the asked bytes of the
/// file and passes them to [`Sender::send_block`], which writes the DATA
/// packet. A chunk shorter than the block size (possibly empty) is the last
/// one. Retransmitted blocks are asked for again, by offset, so the caller
/// needs no copy of what is in flight.
///
/// The TID rules are those of [`super::Receiver`]. With a window larger
/// than 1 (RFC 7440) an ACK of a block inside the window makes the sender
/// go back and resend from the block after it.
#[derive(Clone, Debug)]
pub struct Sender {
    state: State,
    requested: OptionSet,
    params: Negotiated,
    /// Absolute number of the last acknowledged block (0: the request).
    acked: u64,
    /// Absolute number of the next block to send.
    next: u64,
    /// Highest absolute block number sent so far.
    sent_max: u64,
    /// Absolute number and length of the last block, once sent.
    last: Option<(u64, usize)>,
    retries: u32,
}

impl Sender {
    /// An upload that asks the server for `requested` options.
    ///
    /// To announce the file size set `tsize` to it.
    pub const fn new(requested: OptionSet) -> Self {
        Self {
            state: State::AwaitingReply,
            requested,
            params: Negotiated::DEFAULT,
            acked: 0,
            next: 1,
            sent_max: 0,
            last: None,
            retries: 0,
        }
    }

    /// Encodes the WRQ for `filename` into `out` and returns its length.
    pub fn write_request(&self, filename: &[u8], out: &mut [u8]) -> Result<usize, EncodeError> {
        encode_request(out, RequestKind::Write, filename, &self.requested)
    }

    /// The options asked for.
    pub const fn requested(&self) -> &OptionSet {
        &self.requested
    }

    /// Whether the server has not answered yet.
    pub fn awaiting_reply(&self) -> bool {
        self.state == State::AwaitingReply
    }

    /// The transfer's parameters, once the server has answered.
    pub fn negotiated(&self) -> Option<&Negotiated> {
        match self.state {
            State::AwaitingReply => None,
            _ => Some(&self.params),
        }
    }

    /// Blocks the server acknowledged so far.
    pub const fn blocks_acked(&self) -> u64 {
        self.acked
    }

    /// Timeouts since the last progress.
    pub const fn retries(&self) -> u32 {
        self.retries
    }

    /// Whether the server acknowledged the whole file.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Whether the transfer failed or was aborted.
    pub fn is_failed(&self) -> bool {
        self.state == State::Failed
    }

    /// Handles `pkt`, one UDP payload. `from_tid_ok` says whether it came
    /// from the server's TID (see [`super::Receiver`]). Replies go into
    /// `out`, which must hold at least [`MIN_OUT_LEN`] bytes.
    pub fn on_packet<'p>(
        &mut self,
        from_tid_ok: bool,
        pkt: &'p [u8],
        out: &mut [u8],
    ) -> SendEvent<'p> {
        if !from_tid_ok {
            return match transfer::reject_stranger(pkt, out) {
                Some(len) => SendEvent::Reject(len),
                None => SendEvent::Ignored,
            };
        }
        match self.state {
            State::Done | State::Failed => return SendEvent::Ignored,
            State::AwaitingReply | State::Transferring => {}
        }
        if out.len() < MIN_OUT_LEN {
            return self.fail(TransferError::BufferTooSmall, out);
        }
        let packet = match Packet::decode(pkt) {
            Ok(packet) => packet,
            Err(e) => return self.fail(TransferError::Malformed(e), out),
        };
        match packet {
            Packet::Error { code, message } => {
                self.state = State::Failed;
                SendEvent::Failed {
                    error: TransferError::Remote { code, message },
                    send: None,
                }
            }
            Packet::Ack { block } if self.state == State::AwaitingReply => {
                if block != 0 {
                    return SendEvent::Ignored;
                }
                // The server ignored the options: RFC 1350 rules.
                self.params = Negotiated::DEFAULT;
                self.start()
            }
            Packet::Ack { block } => self.on_ack(block),
            Packet::Oack(options) if self.state == State::AwaitingReply => {
                match negotiate(&self.requested, &options) {
                    Ok(params) => {
                        self.params = params;
                        self.start()
                    }
                    Err(e) => self.fail(TransferError::Negotiation(e), out),
                }
            }
            // A repeated OACK: DATA 1 was lost or is late; the timeout
            // resends it.
            Packet::Oack(_) => SendEvent::Ignored,
            Packet::Rrq(_) | Packet::Wrq(_) | Packet::Data { .. } => {
                self.fail(TransferError::Unexpected(packet.opcode()), out)
            }
        }
    }

    fn start<'p>(&mut self) -> SendEvent<'p> {
        self.state = State::Transferring;
        self.retries = 0;
        SendEvent::Transmit
    }

    fn on_ack<'p>(&mut self, block: u16) -> SendEvent<'p> {
        // Distance of `block` past the last acknowledged one, modulo 2^16;
        // only blocks that were sent can be acknowledged.
        let ahead = u64::from(block.wrapping_sub(self.acked as u16));
        let outstanding = self.sent_max.saturating_sub(self.acked);
        if ahead == 0 || ahead > outstanding {
            return SendEvent::Ignored;
        }
        self.acked = self.acked.saturating_add(ahead);
        self.retries = 0;
        if let Some((last, _)) = self.last {
            if self.acked == last {
                self.state = State::Done;
                return SendEvent::Done;
            }
        }
        // Cumulative ACK: resend anything after it that was sent already
        // (RFC 7440), send new blocks otherwise.
        self.next = self.acked.saturating_add(1);
        SendEvent::Transmit
    }

    /// The block to send now, if the window allows one.
    pub fn next_block(&self) -> Option<BlockRequest> {
        if self.state != State::Transferring {
            return None;
        }
        if let Some((last, _)) = self.last {
            if self.next > last {
                return None;
            }
        }
        let window_end = self.acked.saturating_add(u64::from(self.params.windowsize));
        if self.next > window_end {
            return None;
        }
        let max_len = usize::from(self.params.blksize);
        let offset = self
            .next
            .checked_sub(1)?
            .checked_mul(u64::from(self.params.blksize))?;
        Some(BlockRequest {
            block: self.next as u16,
            offset,
            max_len,
        })
    }

    /// Encodes the DATA packet of the block [`Sender::next_block`] asked
    /// for, carrying `chunk`, into `out` and returns its length.
    ///
    /// `chunk` is the file's bytes at the asked offset: exactly
    /// `max_len` bytes, or fewer (possibly none) if the file ends there.
    pub fn send_block(&mut self, chunk: &[u8], out: &mut [u8]) -> Result<usize, SendError> {
        let request = self.next_block().ok_or(SendError::NotReady)?;
        if chunk.len() > request.max_len {
            return Err(SendError::ChunkTooLong);
        }
        let short = chunk.len() < request.max_len;
        let consistent = match self.last {
            Some((last, len)) if self.next == last => chunk.len() == len,
            Some(_) => !short,
            // A block sent full earlier cannot become the last one.
            None => !short || self.next > self.sent_max,
        };
        if !consistent {
            return Err(SendError::InconsistentChunk);
        }
        let len = encode_data(out, request.block, chunk).map_err(|_| SendError::BufferTooSmall)?;
        if short && self.last.is_none() {
            self.last = Some((self.next, chunk.len()));
        }
        self.sent_max = self.sent_max.max(self.next);
        self.next = self.next.saturating_add(1);
        Ok(len)
    }

    /// Handles the retransmission timeout: nothing useful arrived for a
    /// while. Counts a retry.
    pub fn on_timeout(&mut self) -> SendTimeout {
        match self.state {
            State::AwaitingReply => {
                self.retries = self.retries.saturating_add(1);
                SendTimeout::ResendRequest
            }
            State::Transferring => {
                self.retries = self.retries.saturating_add(1);
                self.next = self.acked.saturating_add(1);
                SendTimeout::Retransmit
            }
            State::Done | State::Failed => SendTimeout::Idle,
        }
    }

    /// Abandons the transfer (too many retries, the file cannot be
    /// read...). Returns the length of the ERROR with `code` and `message`
    /// written into `out` to send to the server, or `None` if the transfer
    /// was already over or `out` cannot hold the packet.
    pub fn abort(&mut self, code: ErrorCode, message: &[u8], out: &mut [u8]) -> Option<usize> {
        match self.state {
            State::Done | State::Failed => None,
            State::AwaitingReply | State::Transferring => {
                self.state = State::Failed;
                transfer::write_abort(code, message, out)
            }
        }
    }

    fn fail<'p>(&mut self, error: TransferError<'p>, out: &mut [u8]) -> SendEvent<'p> {
        self.state = State::Failed;
        let send = transfer::write_reply(&error, out);
        SendEvent::Failed { error, send }
    }
}
