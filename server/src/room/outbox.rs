//! A connection's outgoing queue, bounded in messages and in bytes.
//!
//! The room actor and the connection push frames into an [`Outbox`]; the
//! connection's writer task drains the [`OutboxReceiver`] into the socket. A
//! push that would pass either bound fails instead of waiting, so one slow
//! client can never stall the room or grow the server's memory: the caller
//! closes that client ([`close::SLOW_CONSUMER`]) and it resyncs on reconnect.
//! Nothing is ever dropped silently.
//!
//! Closing goes through a separate one-slot control channel that the writer
//! checks first, so a close still gets through when the queue is full.
//!
//! [`close::SLOW_CONSUMER`]: tandem_shared::close::SLOW_CONSUMER

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::extract::ws::{CloseFrame, Message};
use tokio::sync::mpsc;

/// Why a frame could not be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OutboxError {
    /// The queue is at its message or byte bound: the client is too slow.
    #[error("outgoing queue full")]
    Full,
    /// The connection is gone.
    #[error("connection closed")]
    Closed,
}

/// The sending side of a connection's queue. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Outbox {
    /// Frames in order.
    frames: mpsc::Sender<Message>,
    /// An urgent close that jumps the queue.
    control: mpsc::Sender<CloseFrame>,
    /// Bytes queued and not yet written, shared with the receiver.
    queued_bytes: Arc<AtomicUsize>,
    /// Bound on `queued_bytes`.
    max_bytes: usize,
}

/// The receiving side, owned by the connection's writer task.
#[derive(Debug)]
pub struct OutboxReceiver {
    /// Frames in order.
    pub frames: FrameQueue,
    /// An urgent close.
    pub control: mpsc::Receiver<CloseFrame>,
}

/// The ordered frames of an [`OutboxReceiver`]; taking a frame out releases
/// its bytes from the bound.
#[derive(Debug)]
pub struct FrameQueue {
    /// Frames in order.
    frames: mpsc::Receiver<Message>,
    /// Shared with the senders.
    queued_bytes: Arc<AtomicUsize>,
}

/// A queue holding at most `max_messages` frames and `max_bytes` bytes.
pub fn outbox(max_messages: usize, max_bytes: usize) -> (Outbox, OutboxReceiver) {
    let (frames_tx, frames_rx) = mpsc::channel(max_messages.max(1));
    let (control_tx, control_rx) = mpsc::channel(1);
    let queued_bytes = Arc::new(AtomicUsize::new(0));
    (
        Outbox {
            frames: frames_tx,
            control: control_tx,
            queued_bytes: queued_bytes.clone(),
            max_bytes,
        },
        OutboxReceiver {
            frames: FrameQueue {
                frames: frames_rx,
                queued_bytes,
            },
            control: control_rx,
        },
    )
}

fn payload_len(message: &Message) -> usize {
    match message {
        Message::Text(text) => text.len(),
        Message::Binary(bytes) | Message::Ping(bytes) | Message::Pong(bytes) => bytes.len(),
        Message::Close(_) => 0,
    }
}

impl Outbox {
    /// Queues `message` without waiting.
    pub fn push(&self, message: Message) -> Result<(), OutboxError> {
        let len = payload_len(&message);
        let before = self.queued_bytes.fetch_add(len, Ordering::AcqRel);
        // A single message larger than the bound still goes through an empty
        // queue: otherwise a big document could never be sent at all.
        if before > 0 && before + len > self.max_bytes {
            self.queued_bytes.fetch_sub(len, Ordering::AcqRel);
            return Err(OutboxError::Full);
        }
        self.frames.try_send(message).map_err(|err| {
            self.queued_bytes.fetch_sub(len, Ordering::AcqRel);
            match err {
                mpsc::error::TrySendError::Full(_) => OutboxError::Full,
                mpsc::error::TrySendError::Closed(_) => OutboxError::Closed,
            }
        })
    }

    /// Asks the writer to send a close frame now, ahead of queued frames.
    /// A second close while one is pending is ignored: the first one wins.
    pub fn close(&self, code: u16, reason: impl Into<String>) {
        metrics::counter!(crate::metrics::DISCONNECTS, "reason" => crate::metrics::close_reason(code))
            .increment(1);
        let mut reason = reason.into();
        tandem_shared::close::truncate_reason(&mut reason);
        let _ = self.control.try_send(CloseFrame {
            code,
            reason: reason.into(),
        });
    }

    /// Whether the connection's writer is gone.
    pub fn is_closed(&self) -> bool {
        self.frames.is_closed()
    }
}

impl FrameQueue {
    /// The next frame; `None` once every sender is gone.
    pub async fn recv(&mut self) -> Option<Message> {
        let message = self.frames.recv().await?;
        self.release(&message);
        Some(message)
    }

    /// The next frame if one is queued, without waiting.
    pub fn try_next(&mut self) -> Option<Message> {
        let message = self.frames.try_recv().ok()?;
        self.release(&message);
        Some(message)
    }

    fn release(&self, message: &Message) {
        self.queued_bytes
            .fetch_sub(payload_len(message), Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binary(len: usize) -> Message {
        Message::Binary(vec![0; len].into())
    }

    #[test]
    fn bounded_in_messages() {
        let (outbox, _rx) = outbox(2, 1 << 20);
        assert_eq!(outbox.push(binary(1)), Ok(()));
        assert_eq!(outbox.push(binary(1)), Ok(()));
        assert_eq!(outbox.push(binary(1)), Err(OutboxError::Full));
    }

    #[test]
    fn bounded_in_bytes_and_freed_as_written() {
        let (outbox, mut rx) = outbox(100, 10);
        assert_eq!(outbox.push(binary(6)), Ok(()));
        assert_eq!(outbox.push(binary(6)), Err(OutboxError::Full));
        rx.frames.try_next().expect("queued frame");
        assert_eq!(outbox.push(binary(6)), Ok(()));
    }

    #[test]
    fn an_oversized_message_passes_an_empty_queue() {
        let (outbox, _rx) = outbox(10, 10);
        assert_eq!(outbox.push(binary(50)), Ok(()));
        assert_eq!(outbox.push(binary(1)), Err(OutboxError::Full));
    }

    #[test]
    fn reports_a_gone_connection() {
        let (outbox, rx) = outbox(10, 10);
        drop(rx);
        assert_eq!(outbox.push(binary(1)), Err(OutboxError::Closed));
        assert!(outbox.is_closed());
    }

    #[test]
    fn close_jumps_the_queue() {
        let (outbox, mut rx) = outbox(1, 100);
        outbox.push(binary(1)).expect("room for one");
        outbox.close(4002, "too slow");
        outbox.close(1000, "ignored");
        let frame = rx.control.try_recv().expect("close queued");
        assert_eq!(frame.code, 4002);
        assert_eq!(frame.reason.as_str(), "too slow");
        assert!(rx.control.try_recv().is_err());
    }
}
