// SPDX-License-Identifier: GPL-2.0

//! The download (RRQ) state machine.

use super::options::{negotiate, Negotiated, OptionSet};
use super::packet::{encode_ack, encode_request, EncodeError, ErrorCode, Packet, RequestKind};
use super::transfer::{self, TransferError, MIN_OUT_LEN};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// The RRQ is out, no answer yet.
    AwaitingReply,
    /// Options settled, receiving DATA.
    Transferring,
    /// The last block arrived and was acknowledged.
    Done,
    /// The transfer failed or was aborted.
    Failed,
}

/// What the caller does after [`Receiver::on_packet`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecvEvent<'p> {
    /// The packet changed nothing (a duplicate, stale or out-of-window
    /// block, a repeated OACK...). The caller must not restart its
    /// retransmission timer for it: the timer measures time without
    /// progress, so a server that keeps resending cannot starve
    /// [`Receiver::on_timeout`].
    Ignored,
    /// Send `out[..len]` to the server (ACK 0 after an OACK, or an ACK of
    /// the last in-order block asking the server to resend the rest of its
    /// window).
    Send(usize),
    /// The packet came from a stranger (`from_tid_ok` was false): send
    /// `out[..len]`, ERROR 5, back to where the packet came from, not to
    /// the server. The transfer is unaffected.
    Reject(usize),
    /// The next block in order: store `data` at byte `offset` of the file,
    /// then send `out[..len]` (an ACK) to the server if `ack` is
    /// `Some(len)`.
    Data {
        /// Absolute byte offset of `data` in the file.
        offset: u64,
        /// The block's payload, borrowed from the packet.
        data: &'p [u8],
        /// Length of the ACK in `out` to send, if this block ends a window.
        ack: Option<usize>,
    },
    /// The last block (shorter than the block size, possibly empty): store
    /// `data` at `offset`, send `out[..ack]` to the server; the transfer is
    /// complete. Duplicates of this block that arrive later are answered
    /// with the same ACK ([`RecvEvent::Send`]) while the caller keeps
    /// listening.
    Done {
        /// Absolute byte offset of `data` in the file.
        offset: u64,
        /// The block's payload, borrowed from the packet.
        data: &'p [u8],
        /// Length of the final ACK in `out`.
        ack: usize,
    },
    /// The transfer failed: send `out[..len]` (an ERROR) to the server if
    /// `send` is `Some(len)`, and stop.
    Failed {
        /// Why.
        error: TransferError<'p>,
        /// Length of the ERROR in `out` to send, if any.
        send: Option<usize>,
    },
}

/// What the caller does after [`Receiver::on_timeout`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecvTimeout {
    /// No answer to the RRQ: send it again (write it with
    /// [`Receiver::write_request`] or resend the saved bytes).
    ResendRequest,
    /// Send `out[..len]` to the server: the ACK of the last in-order block,
    /// which makes the server resend what follows it.
    Send(usize),
    /// Nothing to send: the transfer is over.
    Idle,
}

/// A download: the client side of an RRQ, without I/O.
///
/// The caller sends the request ([`Receiver::write_request`]), feeds every
/// packet that arrives to [`Receiver::on_packet`] and calls
/// [`Receiver::on_timeout`] when nothing useful arrived for the timeout
/// ([`Negotiated::timeout`], or its own). It gives up when
/// [`Receiver::retries`] passes its limit, optionally telling the server
/// with [`Receiver::abort`].
///
/// The server answers from a new port, its transfer ID (TID). While
/// [`Receiver::awaiting_reply`] is true the caller passes packets from the
/// server's address with any port as `from_tid_ok`; the port of the packet
/// that ends the wait is the TID, and from then on only packets from it
/// are `from_tid_ok`.
///
/// Data comes out strictly in order, each byte exactly once, with its
/// absolute offset. Duplicates never trigger an ACK (the receiver's half of
/// the Sorcerer's Apprentice fix); lost ACKs are recovered by the timeout.
/// A block past a gap makes the receiver ACK the last in-order block once
/// (RFC 7440), so the server resends from the gap at once.
#[derive(Clone, Debug)]
pub struct Receiver {
    state: State,
    requested: OptionSet,
    params: Negotiated,
    /// Absolute number of the next block expected, from 1.
    next: u64,
    /// Absolute byte offset of block `next`: the bytes delivered.
    offset: u64,
    /// In-order blocks since the last ACK.
    unacked: u16,
    /// Whether the last in-order block was acknowledged again since the
    /// last progress (by a gap or a timeout), so a gap does not ACK again.
    reacked: bool,
    retries: u32,
}

impl Receiver {
    /// A download that asks the server for `requested` options.
    ///
    /// To learn the file size ask for `tsize: Some(0)`.
    pub const fn new(requested: OptionSet) -> Self {
        Self {
            state: State::AwaitingReply,
            requested,
            params: Negotiated::DEFAULT,
            next: 1,
            offset: 0,
            unacked: 0,
            reacked: false,
            retries: 0,
        }
    }

    /// Encodes the RRQ for `filename` into `out` and returns its length.
    pub fn write_request(&self, filename: &[u8], out: &mut [u8]) -> Result<usize, EncodeError> {
        encode_request(out, RequestKind::Read, filename, &self.requested)
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

    /// Bytes delivered so far.
    pub const fn offset(&self) -> u64 {
        self.offset
    }

    /// Blocks delivered so far.
    pub const fn blocks(&self) -> u64 {
        self.next.saturating_sub(1)
    }

    /// Timeouts since the last progress.
    pub const fn retries(&self) -> u32 {
        self.retries
    }

    /// Whether the whole file arrived.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Whether the transfer failed or was aborted.
    pub fn is_failed(&self) -> bool {
        self.state == State::Failed
    }

    /// Handles `pkt`, one UDP payload. `from_tid_ok` says whether it came
    /// from the server's TID (see [`Receiver`]). Replies go into `out`,
    /// which must hold at least [`MIN_OUT_LEN`] bytes.
    pub fn on_packet<'p>(
        &mut self,
        from_tid_ok: bool,
        pkt: &'p [u8],
        out: &mut [u8],
    ) -> RecvEvent<'p> {
        if !from_tid_ok {
            return match transfer::reject_stranger(pkt, out) {
                Some(len) => RecvEvent::Reject(len),
                None => RecvEvent::Ignored,
            };
        }
        match self.state {
            State::Failed => return RecvEvent::Ignored,
            State::Done => return self.dally(pkt, out),
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
                RecvEvent::Failed {
                    error: TransferError::Remote { code, message },
                    send: None,
                }
            }
            Packet::Oack(options) if self.state == State::AwaitingReply => {
                match negotiate(&self.requested, &options) {
                    Ok(params) => {
                        self.params = params;
                        self.state = State::Transferring;
                        self.retries = 0;
                        match encode_ack(out, 0) {
                            Ok(len) => RecvEvent::Send(len),
                            Err(_) => self.fail(TransferError::BufferTooSmall, out),
                        }
                    }
                    Err(e) => self.fail(TransferError::Negotiation(e), out),
                }
            }
            // A repeated OACK: our ACK 0 was lost or is late; the timeout
            // resends it.
            Packet::Oack(_) => RecvEvent::Ignored,
            Packet::Data { block, data } => {
                if self.state == State::AwaitingReply {
                    if block != 1 {
                        return RecvEvent::Ignored;
                    }
                    // The server ignored the options: RFC 1350 rules.
                    self.params = Negotiated::DEFAULT;
                    self.state = State::Transferring;
                }
                self.on_data(block, data, out)
            }
            Packet::Rrq(_) | Packet::Wrq(_) | Packet::Ack { .. } => {
                self.fail(TransferError::Unexpected(packet.opcode()), out)
            }
        }
    }

    fn on_data<'p>(&mut self, block: u16, data: &'p [u8], out: &mut [u8]) -> RecvEvent<'p> {
        let blksize = self.params.blksize;
        // Distance of `block` ahead of the expected one, modulo 2^16.
        let ahead = block.wrapping_sub(self.next as u16);
        if ahead != 0 {
            if ahead <= self.params.windowsize && !self.reacked {
                // A block past a gap: ask for the rest of the window again,
                // once until the next progress.
                self.reacked = true;
                self.unacked = 0;
                return match encode_ack(out, self.last_block()) {
                    Ok(len) => RecvEvent::Send(len),
                    Err(_) => self.fail(TransferError::BufferTooSmall, out),
                };
            }
            // A duplicate, a stale block, or another block past the gap.
            return RecvEvent::Ignored;
        }
        if data.len() > usize::from(blksize) {
            return self.fail(
                TransferError::OversizedBlock {
                    len: data.len(),
                    blksize,
                },
                out,
            );
        }
        let offset = self.offset;
        let (Some(end), Some(next)) = (
            offset.checked_add(data.len() as u64),
            self.next.checked_add(1),
        ) else {
            return self.fail(TransferError::Overflow, out);
        };
        let ack = match encode_ack(out, block) {
            Ok(len) => len,
            Err(_) => return self.fail(TransferError::BufferTooSmall, out),
        };
        self.offset = end;
        self.next = next;
        self.retries = 0;
        self.reacked = false;
        if data.len() < usize::from(blksize) {
            self.state = State::Done;
            return RecvEvent::Done { offset, data, ack };
        }
        self.unacked = self.unacked.saturating_add(1);
        if self.unacked >= self.params.windowsize {
            self.unacked = 0;
            RecvEvent::Data {
                offset,
                data,
                ack: Some(ack),
            }
        } else {
            RecvEvent::Data {
                offset,
                data,
                ack: None,
            }
        }
    }

    /// After the last block: a duplicate of it means the server missed the
    /// final ACK, so send it again.
    fn dally<'p>(&self, pkt: &'p [u8], out: &mut [u8]) -> RecvEvent<'p> {
        match Packet::decode(pkt) {
            Ok(Packet::Data { block, .. }) if block == self.last_block() => {
                match encode_ack(out, block) {
                    Ok(len) => RecvEvent::Send(len),
                    Err(_) => RecvEvent::Ignored,
                }
            }
            _ => RecvEvent::Ignored,
        }
    }

    /// Handles the retransmission timeout: nothing useful arrived for a
    /// while. Counts a retry; the reply, if any, goes into `out`.
    pub fn on_timeout(&mut self, out: &mut [u8]) -> RecvTimeout {
        match self.state {
            State::AwaitingReply => {
                self.retries = self.retries.saturating_add(1);
                RecvTimeout::ResendRequest
            }
            State::Transferring => {
                self.retries = self.retries.saturating_add(1);
                self.unacked = 0;
                self.reacked = true;
                match encode_ack(out, self.last_block()) {
                    Ok(len) => RecvTimeout::Send(len),
                    Err(_) => RecvTimeout::Idle,
                }
            }
            State::Done | State::Failed => RecvTimeout::Idle,
        }
    }

    /// Abandons the transfer (too many retries, no room for the data...).
    /// Returns the length of the ERROR with `code` and `message` written
    /// into `out` to send to the server, or `None` if the transfer was
    /// already over or `out` cannot hold the packet.
    pub fn abort(&mut self, code: ErrorCode, message: &[u8], out: &mut [u8]) -> Option<usize> {
        match self.state {
            State::Done | State::Failed => None,
            State::AwaitingReply | State::Transferring => {
                self.state = State::Failed;
                transfer::write_abort(code, message, out)
            }
        }
    }

    /// Wire number of the last in-order block (0 before the first).
    fn last_block(&self) -> u16 {
        self.next.wrapping_sub(1) as u16
    }

    fn fail<'p>(&mut self, error: TransferError<'p>, out: &mut [u8]) -> RecvEvent<'p> {
        self.state = State::Failed;
        let send = transfer::write_reply(&error, out);
        RecvEvent::Failed { error, send }
    }
}
