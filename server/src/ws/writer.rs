//! The connection's write loop: the outbox into the socket.
//!
//! Frames are written in batches and flushed once per batch, so a burst of
//! relayed updates goes out in a few syscalls; a ping goes out every
//! heartbeat. An urgent close (the outbox's close slot) is sent ahead of
//! anything queued, and if the socket is blocked by a client that stopped
//! reading, the close abandons the write and the loop ends.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket};
use bytes::Bytes;
use futures_util::SinkExt;
use futures_util::stream::SplitSink;
use tokio::time::{Instant, timeout};

use super::CLOSE_GRACE;
use crate::metrics::FrameCounters;
use crate::room::OutboxReceiver;

/// Most frames written between two flushes: a burst of relayed updates goes
/// out in a few syscalls instead of one each.
const MAX_BATCH: usize = 64;

/// Drains the outbox into the socket and sends a ping every `heartbeat`.
pub(super) async fn write_loop(
    mut sink: SplitSink<WebSocket, Message>,
    outbox: OutboxReceiver,
    heartbeat: Duration,
    counters: Arc<FrameCounters>,
) {
    let OutboxReceiver {
        mut frames,
        mut control,
    } = outbox;
    let mut ping = tokio::time::interval_at(Instant::now() + heartbeat, heartbeat);
    loop {
        let first = tokio::select! {
            biased;
            frame = control.recv() => {
                let _ = timeout(CLOSE_GRACE, sink.send(Message::Close(Some(frame)))).await;
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
                sink.feed(message).await?;
                written += 1;
                if is_close {
                    sink.flush().await?;
                    return Ok::<bool, axum::Error>(true);
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
            // A client that stopped reading can block the send forever; an
            // urgent close (e.g. slow consumer) then just drops the socket.
            _ = control.recv() => break,
        };
        match sent {
            Ok(false) => {}
            Ok(true) | Err(_) => break,
        }
    }
}
