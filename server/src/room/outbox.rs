//! A connection's outgoing queue, bounded in messages and in bytes.
//!
//! The room actor and the connection push frames into an [`Outbox`]; the
//! connection's writer task drains the [`OutboxReceiver`] into the socket. A
//! push that would pass either bound fails instead of waiting, so one slow
//! client can never stall the room or grow the server's memory: the caller
//! closes that client ([`close::SLOW_CONSUMER`]) and it resyncs on reconnect.
//! Nothing is ever dropped silently.
//!
//! Closing goes through a separate one-frame slot that the writer checks
//! first, so a close still gets through when the queue is full. The slot
//! lives in the allocation the byte count already needs, rather than in a
//! second channel: an idle connection holds one of these, and a tokio channel
//! allocates its first block of 32 slots up front (~1.3 KiB).
//!
//! [`close::SLOW_CONSUMER`]: tandem_shared::close::SLOW_CONSUMER

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::ws::{CloseFrame, Message};
use tokio::sync::{Notify, mpsc};

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
    /// The byte count and the close slot, shared with the receiver.
    shared: Arc<Shared>,
    /// Bound on the queued bytes.
    max_bytes: usize,
}

/// What the senders and the receiver of one queue share.
#[derive(Debug, Default)]
struct Shared {
    /// Bytes queued and not yet written.
    queued_bytes: AtomicUsize,
    /// The urgent close, once one is asked for.
    close: Mutex<CloseSlot>,
    /// Wakes the writer when `close` fills.
    close_asked: Notify,
}

#[derive(Debug, Default)]
enum CloseSlot {
    /// No close asked for yet.
    #[default]
    Open,
    /// A close waiting for the writer.
    Asked(CloseFrame),
    /// The writer took the close; later ones are ignored.
    Taken,
}

/// The receiving side, owned by the connection's writer task.
#[derive(Debug)]
pub struct OutboxReceiver {
    /// Frames in order.
    pub frames: FrameQueue,
    /// An urgent close.
    pub control: CloseSignal,
}

/// The receiving end of an [`Outbox`]'s close slot.
#[derive(Debug)]
pub struct CloseSignal {
    shared: Arc<Shared>,
}

/// The ordered frames of an [`OutboxReceiver`]; taking a frame out releases
/// its bytes from the bound.
#[derive(Debug)]
pub struct FrameQueue {
    /// Frames in order.
    frames: mpsc::Receiver<Message>,
    /// Shared with the senders.
    shared: Arc<Shared>,
}

/// A queue holding at most `max_messages` frames and `max_bytes` bytes.
pub fn outbox(max_messages: usize, max_bytes: usize) -> (Outbox, OutboxReceiver) {
    let (frames_tx, frames_rx) = mpsc::channel(max_messages.max(1));
    let shared = Arc::new(Shared::default());
    (
        Outbox {
            frames: frames_tx,
            shared: shared.clone(),
            max_bytes,
        },
        OutboxReceiver {
            frames: FrameQueue {
                frames: frames_rx,
                shared: shared.clone(),
            },
            control: CloseSignal { shared },
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
        let queued_bytes = &self.shared.queued_bytes;
        let before = queued_bytes.fetch_add(len, Ordering::AcqRel);
        // A single message larger than the bound still goes through an empty
        // queue: otherwise a big document could never be sent at all.
        if before > 0 && before + len > self.max_bytes {
            queued_bytes.fetch_sub(len, Ordering::AcqRel);
            return Err(OutboxError::Full);
        }
        self.frames.try_send(message).map_err(|err| {
            queued_bytes.fetch_sub(len, Ordering::AcqRel);
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
        let mut slot = self.shared.lock_close();
        if matches!(*slot, CloseSlot::Open) {
            *slot = CloseSlot::Asked(CloseFrame {
                code,
                reason: reason.into(),
            });
            drop(slot);
            // Stores a permit when the writer is not waiting right now.
            self.shared.close_asked.notify_one();
        }
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
        self.shared
            .queued_bytes
            .fetch_sub(payload_len(message), Ordering::AcqRel);
    }
}

impl Shared {
    fn lock_close(&self) -> std::sync::MutexGuard<'_, CloseSlot> {
        // The slot is a plain value: a panic elsewhere cannot leave it torn.
        self.close.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl CloseSignal {
    /// Waits until a close is asked for, and takes it. Cancel-safe: a close
    /// stays in the slot until a call returns it.
    pub async fn recv(&mut self) -> CloseFrame {
        loop {
            if let Some(frame) = self.try_recv() {
                return frame;
            }
            self.shared.close_asked.notified().await;
        }
    }

    /// The close asked for, if any, without waiting.
    pub fn try_recv(&mut self) -> Option<CloseFrame> {
        let mut slot = self.shared.lock_close();
        match std::mem::replace(&mut *slot, CloseSlot::Taken) {
            CloseSlot::Asked(frame) => Some(frame),
            other => {
                *slot = other;
                None
            }
        }
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
        assert!(rx.control.try_recv().is_none());
        outbox.close(1000, "after the first was taken");
        assert!(rx.control.try_recv().is_none());
    }

    #[tokio::test]
    async fn a_waiting_writer_wakes_for_a_close() {
        let (outbox, mut rx) = outbox(1, 100);
        let waiting = tokio::spawn(async move { rx.control.recv().await });
        tokio::task::yield_now().await;
        outbox.close(4002, "too slow");
        let frame = tokio::time::timeout(std::time::Duration::from_secs(10), waiting)
            .await
            .expect("woken within the deadline")
            .expect("task finished");
        assert_eq!(frame.code, 4002);
    }

    #[tokio::test]
    async fn a_close_asked_before_waiting_is_not_lost() {
        let (outbox, mut rx) = outbox(1, 100);
        outbox.close(1001, "going away");
        let frame = tokio::time::timeout(std::time::Duration::from_secs(10), rx.control.recv())
            .await
            .expect("ready at once");
        assert_eq!(frame.code, 1001);
    }
}
