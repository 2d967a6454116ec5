//! One connection's socket, driven from its one task: frames in through the
//! [`Decoder`], the outbox out, pings, and the close handshake.
//!
//! [`Wire::next`] polls everything a connection waits on at once — the
//! close slot and the heartbeat's asks (one waker, see [`super::outbox`]),
//! the outbox, the socket for writing while bytes wait, the socket for
//! reading — and returns the next thing the connection must act on
//! ([`Event`]). Nothing here holds a timer, a buffer
//! or a future while the connection is idle:
//!
//! - reads go into a per-thread scratch buffer ([`SCRATCH`]); complete
//!   frames are decoded there, and only the tail of an incomplete one (or
//!   what follows a message, until it is taken) is copied into the
//!   connection's decoder;
//! - frames to send are a header (≤ 10 bytes) and the shared payload
//!   `Bytes` of the room's [`Outbound`], written vectored ([`Unwritten`]),
//!   so a relayed message is never copied per recipient; with permessage-deflate agreed, a message of at
//!   least the threshold goes out compressed, once for all its recipients
//!   ([`compressed`]). The queue's memory is freed whenever it empties.
//!   Up to [`MAX_BATCH`] frames are taken from the outbox per write, and
//!   none while the socket is blocked: a client that stops reading fills
//!   its outbox, and the room cuts it (4002).
//! - an urgent close (the outbox's close slot) drops what has not started
//!   going out and follows what has; a close queued behind the messages
//!   goes after them; pings are answered with pongs, a client's close with
//!   the same code (its reply is the end of the handshake: the stream ends
//!   once it is written).
//!
//! After a refusal (the codec's [`Close`]) the rest of the input is read and
//! thrown away, and once the close is out the write side is shut, so the
//! client reads the close rather than a reset; the caller bounds all of this
//! with `CLOSE_GRACE`.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::poll_fn;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use axum::extract::ws::Message;
use bytes::Bytes;
use hyper::upgrade::Upgraded as HyperUpgraded;
use hyper_util::rt::TokioIo;
use tandem_shared::close::Close;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::compressed::compressed;
use super::frame::{self, Decoder, Header};
use super::outbox::{Next, OutboxReceiver};
use super::socket::SocketControl;
use crate::metrics::{FrameCounters, FrameKind};
use crate::room::Outbound;

/// An upgraded connection's byte stream.
pub(super) type Io = TokioIo<HyperUpgraded>;

/// Most frames taken from the outbox per write: a burst of relayed updates
/// goes out in a few syscalls instead of one each.
const MAX_BATCH: usize = 64;

/// Bytes read at a time, into the thread's scratch buffer.
const SCRATCH_LEN: usize = 32 * 1024;

thread_local! {
    /// Where reads land: one per runtime thread, shared by all its
    /// connections (only borrowed inside a poll).
    static SCRATCH: RefCell<Box<[u8]>> = RefCell::new(vec![0; SCRATCH_LEN].into_boxed_slice());
}

/// What the connection must act on next.
#[derive(Debug, PartialEq)]
pub(super) enum Event {
    /// A message from the client: data, a ping (the pong is queued), a pong,
    /// or its close (the reply is queued).
    Message(Message),
    /// The client broke the framing rules: the close that answers it (the
    /// caller asks for it through the outbox; the rest of the input is
    /// ignored).
    Refused(Close),
    /// A close went out from this side (urgent, or queued behind the
    /// messages): nothing more will be sent.
    Closing,
    /// The server is shutting down.
    Shutdown,
    /// The stream ended or failed, or the close handshake is complete.
    Ended,
}

/// How a [`Wire`] sends and reads.
#[derive(Debug)]
pub(super) struct WireOptions {
    /// permessage-deflate was agreed.
    pub deflate: bool,
    /// Compress messages of at least this many bytes (when agreed).
    pub deflate_from: usize,
    /// Largest incoming message, compressed or inflated.
    pub limit: usize,
    pub counters: Arc<FrameCounters>,
    /// The TCP socket's control, to reset a connection whose close is stuck.
    pub control: Option<Arc<SocketControl>>,
}

/// A connection's socket and its outgoing queue (see the module doc).
#[derive(Debug)]
pub(super) struct Wire<S = Io> {
    io: S,
    decoder: Decoder,
    out: Unwritten,
    rx: OutboxReceiver,
    /// Compress from this many bytes; `None` without permessage-deflate.
    deflate_from: Option<usize>,
    counters: Arc<FrameCounters>,
    control: Option<Arc<SocketControl>>,
    state: State,
}

/// Where the connection is in its close handshake.
#[derive(Debug, Default, Clone, Copy)]
struct State {
    /// A close frame is queued or sent.
    close_sent: bool,
    /// `Closing` not yet reported for it.
    announce: bool,
    /// The client's close arrived.
    close_received: bool,
    /// The input broke the rules: read and ignore the rest.
    discard: bool,
    /// The write side was shut after the close went out.
    shut: bool,
    /// The stream ended or failed.
    ended: bool,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Wire<S> {
    /// A connection over `io`, sending what `rx` receives.
    pub(super) fn new(io: S, rx: OutboxReceiver, options: WireOptions) -> Self {
        Self {
            io,
            decoder: Decoder::new(options.deflate, options.limit),
            out: Unwritten::default(),
            rx,
            deflate_from: options.deflate.then_some(options.deflate_from),
            counters: options.counters,
            control: options.control,
            state: State::default(),
        }
    }

    /// The TCP socket's control, if the listener provides it.
    pub(super) fn control(&self) -> Option<&SocketControl> {
        self.control.as_deref()
    }

    /// The client was heard from (for the heartbeat).
    pub(super) fn heard(&self) {
        self.rx.heard();
    }

    /// The next [`Event`].
    pub(super) async fn next(&mut self) -> Event {
        poll_fn(|cx| self.poll_next(cx)).await
    }

    /// Polls everything the connection waits on; see [`Event`].
    pub(super) fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Event> {
        loop {
            if self.state.ended {
                return Poll::Ready(Event::Ended);
            }
            if !self.state.close_sent
                && let Poll::Ready(close) = self.rx.poll_close(cx)
            {
                // Urgent: what has not started going out is dropped.
                self.out.abandon_unstarted();
                self.queue_close(&close);
            }
            let signals = self.rx.poll_signals(cx);
            if signals.ping && !self.state.close_sent {
                self.queue(frame::PING, Bytes::new());
            }
            if signals.shutdown {
                return Poll::Ready(Event::Shutdown);
            }
            let mut more = false;
            while !self.state.close_sent {
                if self.out.len() >= MAX_BATCH {
                    more = true;
                    break;
                }
                match self.rx.poll_next(cx) {
                    Poll::Ready(Next::Message(message)) => self.queue_outbound(message),
                    Poll::Ready(Next::Close(close)) => self.queue_close(&close),
                    Poll::Pending => break,
                }
            }
            if !self.out.is_empty() {
                match self.out.poll_write(&mut self.io, cx) {
                    Poll::Ready(Ok(())) => {
                        if more {
                            continue;
                        }
                    }
                    Poll::Ready(Err(_)) => {
                        self.state.ended = true;
                        continue;
                    }
                    Poll::Pending => {}
                }
            }
            if self.state.announce {
                self.state.announce = false;
                return Poll::Ready(Event::Closing);
            }
            if self.state.close_sent && self.out.is_empty() {
                if self.state.close_received {
                    // The handshake is complete: the stream ends here (the
                    // server closes the TCP connection first).
                    self.state.ended = true;
                    continue;
                }
                if self.state.discard && !self.state.shut {
                    // The client will not send a close we could read: let
                    // it see the end of the stream after ours.
                    self.state.shut = true;
                    if Pin::new(&mut self.io).poll_shutdown(cx).is_ready() {
                        continue;
                    }
                }
            }
            if self.state.close_received {
                // Nothing may follow a close: only the reply is awaited.
                return Poll::Pending;
            }
            return match ready!(self.poll_read(cx)) {
                Ok(Some(message)) => {
                    self.answer(&message);
                    Poll::Ready(Event::Message(message))
                }
                Ok(None) => continue,
                Err(close) => {
                    self.state.discard = true;
                    Poll::Ready(Event::Refused(close))
                }
            };
        }
    }

    /// Queues the replies a ping and a close get.
    fn answer(&mut self, message: &Message) {
        match message {
            Message::Ping(payload) if !self.state.close_sent => {
                self.queue(frame::PONG, payload.clone());
            }
            Message::Close(close) => {
                self.state.close_received = true;
                if !self.state.close_sent {
                    let body = close
                        .as_ref()
                        .map_or_else(Bytes::new, |c| frame::close_body(c.code, c.reason.as_str()));
                    self.queue(frame::CLOSE, body);
                    // The client started it: nothing to report.
                    self.state.announce = false;
                }
            }
            _ => {}
        }
    }

    /// The next message read (`Ok(None)` once the stream ended, or while
    /// discarding), or the codec's refusal.
    fn poll_read(&mut self, cx: &mut Context<'_>) -> Poll<Result<Option<Message>, Close>> {
        loop {
            if !self.state.discard
                && self.decoder.has_pending()
                && let Some(message) = self.decoder.next_pending()?
            {
                return Poll::Ready(Ok(Some(message)));
            }
            let (io, decoder, state) = (&mut self.io, &mut self.decoder, &mut self.state);
            let decoded = SCRATCH.with_borrow_mut(|scratch| {
                let mut buf = ReadBuf::new(scratch);
                let read = Pin::new(&mut *io).poll_read(cx, &mut buf);
                let n = buf.filled().len();
                match read {
                    Poll::Pending => Poll::Pending,
                    Poll::Ready(Err(_)) => {
                        state.ended = true;
                        Poll::Ready(Ok(None))
                    }
                    Poll::Ready(Ok(())) if n == 0 => {
                        state.ended = true;
                        Poll::Ready(Ok(None))
                    }
                    Poll::Ready(Ok(())) if state.discard => Poll::Ready(Ok(None)),
                    Poll::Ready(Ok(())) => Poll::Ready(decoder.next_fresh(&mut scratch[..n])),
                }
            });
            match ready!(decoded)? {
                Some(message) => return Poll::Ready(Ok(Some(message))),
                None if self.state.ended => return Poll::Ready(Ok(None)),
                None => {}
            }
        }
    }

    /// Queues a message of the room or of the connection.
    fn queue_outbound(&mut self, message: Outbound) {
        let opcode = if message.is_text() {
            frame::TEXT
        } else {
            frame::BINARY
        };
        self.queue(opcode, message.into_payload());
    }

    /// Queues this side's close.
    fn queue_close(&mut self, close: &Close) {
        self.queue(
            frame::CLOSE,
            frame::close_body(close.code.number(), &close.reason),
        );
    }

    /// Counts a frame and queues it; a data frame of at least the threshold
    /// goes compressed (once for all its recipients).
    fn queue(&mut self, opcode: u8, payload: Bytes) {
        let kind = match opcode {
            frame::TEXT => FrameKind::Text,
            frame::BINARY => FrameKind::Binary,
            frame::PING => FrameKind::Ping,
            frame::PONG => FrameKind::Pong,
            _ => FrameKind::Close,
        };
        self.counters.count(kind, &payload);
        if opcode == frame::CLOSE {
            self.state.close_sent = true;
            self.state.announce = true;
        }
        let data = opcode == frame::TEXT || opcode == frame::BINARY;
        let big = self.deflate_from.is_some_and(|from| payload.len() >= from);
        if data && big {
            let packed = compressed(&payload);
            self.out
                .push(Header::new(opcode, true, packed.len()), packed);
        } else {
            self.out
                .push(Header::new(opcode, false, payload.len()), payload);
        }
    }
}

/// Counts a frame the client sent.
pub(super) fn count_incoming(counters: &FrameCounters, message: &Message) {
    let (kind, payload): (FrameKind, &[u8]) = match message {
        Message::Text(text) => (FrameKind::Text, text.as_bytes()),
        Message::Binary(bytes) => (FrameKind::Binary, bytes),
        Message::Ping(bytes) => (FrameKind::Ping, bytes),
        Message::Pong(bytes) => (FrameKind::Pong, bytes),
        Message::Close(_) => (FrameKind::Close, &[]),
    };
    counters.count(kind, payload);
}

/// Frames taken from the outbox, waiting for the socket: headers and
/// shared payloads.
#[derive(Debug, Default)]
struct Unwritten {
    chunks: VecDeque<Chunk>,
}

#[derive(Debug)]
struct Chunk {
    header: Header,
    payload: Bytes,
    /// Bytes of header and payload already written.
    written: usize,
}

impl Chunk {
    fn len(&self) -> usize {
        self.header.as_bytes().len() + self.payload.len()
    }

    /// What is left to write, as up to two slices.
    fn rest(&self) -> (&[u8], &[u8]) {
        let head = self.header.as_bytes();
        if self.written < head.len() {
            (&head[self.written..], &self.payload)
        } else {
            (&[], &self.payload[self.written - head.len()..])
        }
    }
}

impl Unwritten {
    fn len(&self) -> usize {
        self.chunks.len()
    }

    fn is_empty(&self) -> bool {
        self.chunks.is_empty()
    }

    fn push(&mut self, header: Header, payload: Bytes) {
        self.chunks.push_back(Chunk {
            header,
            payload,
            written: 0,
        });
    }

    /// Drops every frame but one that is partly written (it must be
    /// finished, or the stream's framing breaks).
    fn abandon_unstarted(&mut self) {
        let keep = usize::from(self.chunks.front().is_some_and(|c| c.written > 0));
        self.chunks.truncate(keep);
    }

    /// Writes until every frame is out, vectored.
    fn poll_write<S: AsyncWrite + Unpin>(
        &mut self,
        io: &mut S,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        while !self.chunks.is_empty() {
            let mut slices = [IoSlice::new(&[]); 2 * MAX_BATCH];
            let mut used = 0;
            for chunk in self.chunks.iter().take(MAX_BATCH) {
                let (head, payload) = chunk.rest();
                for part in [head, payload] {
                    if !part.is_empty() {
                        slices[used] = IoSlice::new(part);
                        used += 1;
                    }
                }
            }
            let mut n = ready!(Pin::new(&mut *io).poll_write_vectored(cx, &slices[..used]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            while let Some(chunk) = self.chunks.front_mut() {
                let left = chunk.len() - chunk.written;
                if n >= left {
                    n -= left;
                    self.chunks.pop_front();
                } else {
                    chunk.written += n;
                    break;
                }
            }
        }
        // Nothing is kept while idle.
        self.chunks = VecDeque::new();
        Pin::new(io).poll_flush(cx)
    }
}
