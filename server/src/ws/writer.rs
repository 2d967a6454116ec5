//! The connection's write loop: the outbox into the socket.
//!
//! Frames are written in batches and flushed once per batch, so a burst of
//! relayed updates goes out in a few syscalls; a ping goes out every
//! heartbeat. An urgent close (the outbox's close slot) is sent ahead of
//! anything queued, and if the socket is blocked by a client that stopped
//! reading, the close is queued behind what is being written and gets
//! [`CLOSE_GRACE`] to go out; if it cannot, the socket is armed to reset
//! when closed ([`SocketControl`]), so the kernel does not keep the unsent
//! queue for a peer that reads nothing.
//!
//! With permessage-deflate agreed, a text or binary message of at least
//! `threshold` bytes goes out compressed (a raw frame with RSV1 set, see
//! [`deflate`](super::deflate)), once for all the recipients of a relayed
//! message; smaller ones go as they are.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message};
use bytes::Bytes;
use futures_util::SinkExt;
use futures_util::stream::SplitSink;
use tokio::time::{Instant, timeout};
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::{Frame, FrameHeader};
use tracing::debug;

use super::CLOSE_GRACE;
use super::compressed::compressed;
use super::handshake::Socket;
use super::socket::SocketControl;
use crate::metrics::FrameCounters;
use crate::room::OutboxReceiver;

/// Most frames written between two flushes: a burst of relayed updates goes
/// out in a few syscalls instead of one each.
const MAX_BATCH: usize = 64;

/// How the writer sends: the socket's compression and its reset switch.
#[derive(Debug)]
pub(super) struct WriterOptions {
    /// Compress messages of at least this many bytes; `None` when
    /// permessage-deflate was not agreed.
    pub deflate_from: Option<usize>,
    pub heartbeat: Duration,
    pub counters: Arc<FrameCounters>,
    /// The TCP socket's control, to reset a connection whose close is stuck.
    pub control: Option<Arc<SocketControl>>,
}

/// The write half of a connection's socket.
pub(super) type Sink = SplitSink<Socket, tungstenite::Message>;

/// Drains the outbox into the socket and sends a ping every `heartbeat`.
pub(super) async fn write_loop(mut sink: Sink, outbox: OutboxReceiver, options: WriterOptions) {
    let OutboxReceiver {
        mut frames,
        mut control,
    } = outbox;
    let WriterOptions {
        deflate_from,
        heartbeat,
        counters,
        control: socket,
    } = options;
    let wire = |message: Message| to_wire(message, deflate_from);
    let mut ping = tokio::time::interval_at(Instant::now() + heartbeat, heartbeat);
    loop {
        let first = tokio::select! {
            biased;
            frame = control.recv() => {
                send_close(&mut sink, frame, socket.as_deref()).await;
                break;
            }
            message = frames.recv() => match message {
                Some(message) => message,
                None => break,
            },
            _ = ping.tick() => Message::Ping(Bytes::new()),
        };
        let batch = async {
            let mut message = first;
            let mut written = 0;
            loop {
                let is_close = matches!(message, Message::Close(_));
                counters.count(&message);
                sink.feed(wire(message)).await?;
                written += 1;
                if is_close {
                    sink.flush().await?;
                    return Ok::<bool, tungstenite::Error>(true);
                }
                match frames.try_next() {
                    Some(next) if written < MAX_BATCH => message = next,
                    Some(next) => {
                        // Flush what we have and start the next batch with it.
                        sink.flush().await?;
                        written = 0;
                        message = next;
                    }
                    None => break,
                }
            }
            sink.flush().await?;
            Ok(false)
        };
        let sent = tokio::select! {
            sent = batch => sent,
            // A client that stopped reading can block the send forever: an
            // urgent close (e.g. slow consumer) abandons the batch and goes
            // out behind what is already buffered, or the socket is reset.
            frame = control.recv() => {
                send_close(&mut sink, frame, socket.as_deref()).await;
                break;
            }
        };
        match sent {
            Ok(false) => {}
            Ok(true) | Err(_) => break,
        }
    }
}

/// Sends `frame` within [`CLOSE_GRACE`]; a close that cannot go out (the
/// peer stopped reading and the socket's buffers are full) arms the reset.
async fn send_close(sink: &mut Sink, frame: CloseFrame, control: Option<&SocketControl>) {
    let close = tungstenite::Message::Close(Some(tungstenite::protocol::CloseFrame {
        code: frame.code.into(),
        reason: tungstenite::Utf8Bytes::from(frame.reason.as_str()),
    }));
    match timeout(CLOSE_GRACE, sink.send(close)).await {
        Ok(Ok(())) => {}
        Ok(Err(err)) => debug!(error = %err, "close frame not sent"),
        Err(_) => {
            debug!("close frame stuck behind unread data; resetting the connection");
            if let Some(control) = control {
                control.reset_on_close();
            }
        }
    }
}

/// `message` as tungstenite sends it: compressed when `deflate_from` says
/// so, once for all the recipients of a relayed message ([`compressed`]).
pub(super) fn to_wire(message: Message, deflate_from: Option<usize>) -> tungstenite::Message {
    let compress = |payload: Bytes, data: Data| {
        let header = FrameHeader {
            rsv1: true,
            opcode: OpCode::Data(data),
            ..FrameHeader::default()
        };
        tungstenite::Message::Frame(Frame::from_payload(header, compressed(&payload)))
    };
    let big = |len: usize| deflate_from.is_some_and(|from| len >= from);
    match message {
        Message::Binary(bytes) if big(bytes.len()) => compress(bytes, Data::Binary),
        Message::Text(text) if big(text.len()) => compress(Bytes::from(text), Data::Text),
        Message::Binary(bytes) => tungstenite::Message::Binary(bytes),
        Message::Text(text) => match tungstenite::Utf8Bytes::try_from(Bytes::from(text)) {
            Ok(text) => tungstenite::Message::Text(text),
            // Unreachable: axum's text is UTF-8 already.
            Err(_) => tungstenite::Message::Binary(Bytes::new()),
        },
        Message::Ping(bytes) => tungstenite::Message::Ping(bytes),
        Message::Pong(bytes) => tungstenite::Message::Pong(bytes),
        Message::Close(frame) => {
            tungstenite::Message::Close(frame.map(|frame| tungstenite::protocol::CloseFrame {
                code: frame.code.into(),
                reason: tungstenite::Utf8Bytes::from(frame.reason.as_str()),
            }))
        }
    }
}
