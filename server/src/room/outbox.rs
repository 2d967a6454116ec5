//! A connection's outgoing queue, bounded in messages and in bytes.
//!
//! The room actor and the connection push frames into an [`Outbox`]; the
//! connection's task drains the [`OutboxReceiver`] into the socket. A
//! push that would pass either bound fails instead of waiting, so one slow
//! client can never stall the room or grow the server's memory: the caller
//! closes that client ([`SlowConsumer`]) and it resyncs on reconnect.
//! Nothing is ever dropped silently.
//!
//! A frame larger than the byte bound by itself (the sync step 2 of a big
//! document, or a large paste relayed under a small bound) could never fit
//! under it, and refusing it would close a client for a frame it was owed,
//! not for falling behind: a joiner of a 30 MB document would be closed the
//! moment its step 2 was queued behind its `welcome`. Such a frame is
//! admitted whenever no other one like it waits; the frames that fit the
//! bound are counted against it as usual. The queue so holds at most the
//! byte bound plus one frame, and a client that stops reading is still
//! closed once either is full.
//!
//! Closing goes through a separate one-frame slot that the connection checks
//! first, so a close still gets through when the queue is full.
//!
//! The queue is a `VecDeque` behind a mutex rather than a tokio channel: an
//! idle connection holds one, and a tokio channel allocates its first block
//! of 32 slots up front (1.6 KiB for frames, 1.3 KiB for a close channel).
//! This one holds no frame memory while empty.
//!
//! The same shared state carries what the server-wide heartbeat asks of the
//! connection ([`Watch`]): a ping, the count of silent heartbeat intervals,
//! and shutdown. One waker (the connection's task owns both halves of the
//! receiver) is woken for all of them, so a connection needs no timer and no
//! future of its own to wait on them.
//!
//! [`SlowConsumer`]: tandem_shared::close::CloseCode::SlowConsumer

use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use axum::extract::ws::{CloseFrame, Message};
use tandem_shared::close::Close;

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

/// The sending side of a connection's queue. Cheap to clone; once every
/// clone is dropped, the receiver sees the end of the queue.
#[derive(Debug)]
pub struct Outbox {
    shared: Arc<Shared>,
}

/// The receiving side, owned by the connection's task.
#[derive(Debug)]
pub struct OutboxReceiver {
    /// Frames in order.
    pub frames: FrameQueue,
    /// An urgent close.
    pub control: CloseSignal,
}

/// The ordered frames of an [`OutboxReceiver`]. Dropping it closes the
/// queue: later pushes fail with [`OutboxError::Closed`].
#[derive(Debug)]
pub struct FrameQueue {
    shared: Arc<Shared>,
}

/// The receiving end of an [`Outbox`]'s close slot.
#[derive(Debug)]
pub struct CloseSignal {
    shared: Arc<Shared>,
}

/// What the senders, the receiver and the heartbeat of one queue share.
#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    /// Heartbeat intervals since the connection last heard from its client
    /// (see [`Watch::tick`]).
    silence: AtomicU8,
    max_messages: usize,
    max_bytes: usize,
}

#[derive(Debug, Default)]
struct State {
    frames: VecDeque<Message>,
    /// Payload bytes of the frames in `frames` that fit the byte bound (all
    /// but an oversized one).
    bytes: usize,
    /// A frame larger than the byte bound by itself is in `frames` (at most
    /// one is, see the module doc).
    oversized: bool,
    close: CloseSlot,
    /// Live [`Outbox`] clones.
    senders: usize,
    /// The [`FrameQueue`] was dropped.
    receiver_gone: bool,
    /// The heartbeat asks for a ping.
    ping: bool,
    /// The server is shutting down (set once, taken once).
    shutdown: bool,
    /// The connection waits for its client's hello (for the heartbeat's
    /// wording).
    awaiting_hello: bool,
    /// The receiving task, to wake for a frame, a close, the last sender
    /// leaving, a ping or shutdown.
    waker: Option<Waker>,
}

#[derive(Debug, Default)]
enum CloseSlot {
    /// No close asked for yet.
    #[default]
    Open,
    /// A close waiting for the connection to send it.
    Asked(CloseFrame),
    /// The connection took the close; later ones are ignored.
    Taken,
}

/// A queue holding at most `max_messages` frames and `max_bytes` bytes.
pub fn outbox(max_messages: usize, max_bytes: usize) -> (Outbox, OutboxReceiver) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            senders: 1,
            ..State::default()
        }),
        silence: AtomicU8::new(0),
        max_messages: max_messages.max(1),
        max_bytes,
    });
    (
        Outbox {
            shared: shared.clone(),
        },
        OutboxReceiver {
            frames: FrameQueue {
                shared: shared.clone(),
            },
            control: CloseSignal { shared },
        },
    )
}

/// `close` as a WebSocket close frame.
pub fn close_frame(close: Close) -> CloseFrame {
    // `Close::new` already cut the reason to fit; a `Close` built field by
    // field may not have been.
    let mut reason = close.reason;
    tandem_shared::close::truncate_reason(&mut reason);
    CloseFrame {
        code: close.code.number(),
        reason: reason.into(),
    }
}

/// Counts a connection the server closes, by the close code's label
/// (`tandem_disconnects_total`). Every close the server sends is counted
/// once: through [`Outbox::close`], or here for a close queued behind data
/// (the 1001 at shutdown).
pub fn count_disconnect(close: &Close) {
    metrics::counter!(crate::metrics::DISCONNECTS, "reason" => close.code.label()).increment(1);
}

fn payload_len(message: &Message) -> usize {
    match message {
        Message::Text(text) => text.len(),
        Message::Binary(bytes) | Message::Ping(bytes) | Message::Pong(bytes) => bytes.len(),
        Message::Close(_) => 0,
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is plain values, each update a few field writes that
        // cannot panic halfway: a poisoned lock holds nothing torn.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Wakes the receiver, outside the lock.
    fn wake(mut state: MutexGuard<'_, State>) {
        let waker = state.waker.take();
        drop(state);
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Asks for a close ahead of queued frames (see [`Outbox::close`]).
    fn close(&self, close: Close) {
        let mut state = self.lock();
        if matches!(state.close, CloseSlot::Open) {
            count_disconnect(&close);
            state.close = CloseSlot::Asked(close_frame(close));
            Self::wake(state);
        }
    }
}

/// Registers `cx`'s waker as the receiver's.
fn register(state: &mut State, cx: &Context<'_>) {
    match &mut state.waker {
        Some(waker) => waker.clone_from(cx.waker()),
        None => state.waker = Some(cx.waker().clone()),
    }
}

impl Outbox {
    /// Queues `message` without waiting.
    pub fn push(&self, message: Message) -> Result<(), OutboxError> {
        let len = payload_len(&message);
        let mut state = self.shared.lock();
        if state.receiver_gone {
            return Err(OutboxError::Closed);
        }
        if state.frames.len() >= self.shared.max_messages {
            return Err(OutboxError::Full);
        }
        if len > self.shared.max_bytes {
            // It can never fit under the bound: it goes through unless another
            // one like it still waits (see the module doc).
            if state.oversized {
                return Err(OutboxError::Full);
            }
            state.oversized = true;
        } else if state.bytes + len > self.shared.max_bytes {
            return Err(OutboxError::Full);
        } else {
            state.bytes += len;
        }
        state.frames.push_back(message);
        Shared::wake(state);
        Ok(())
    }

    /// Asks the connection to send a close frame now, ahead of queued frames.
    /// A second close while one is pending (or after it was sent) is
    /// ignored, and not counted: the first one wins.
    pub fn close(&self, close: Close) {
        self.shared.close(close);
    }

    /// Whether the connection is gone (its receiving side dropped).
    pub fn is_closed(&self) -> bool {
        self.shared.lock().receiver_gone
    }

    /// Whether the connection waits for its client's hello (the heartbeat
    /// words its timeout after it).
    pub fn set_awaiting_hello(&self, waiting: bool) {
        self.shared.lock().awaiting_hello = waiting;
    }

    /// The heartbeat's view of this connection.
    pub fn watch(&self) -> Watch {
        Watch {
            shared: self.shared.clone(),
        }
    }
}

impl Clone for Outbox {
    fn clone(&self) -> Self {
        self.shared.lock().senders += 1;
        Self {
            shared: self.shared.clone(),
        }
    }
}

impl Drop for Outbox {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.senders -= 1;
        if state.senders == 0 {
            Shared::wake(state);
        }
    }
}

impl FrameQueue {
    /// The next frame; `None` once the queue is empty and every sender is
    /// gone. Cancel-safe: a frame is only taken by a call that returns it.
    pub async fn recv(&mut self) -> Option<Message> {
        poll_fn(|cx| self.poll_next(cx)).await
    }

    /// The next frame, or `None` once the queue is empty and every sender
    /// is gone; `Pending` (the task woken later) while it is empty.
    pub fn poll_next(&mut self, cx: &Context<'_>) -> Poll<Option<Message>> {
        let mut state = self.shared.lock();
        if let Some(message) = take_front(&mut state, self.shared.max_bytes) {
            return Poll::Ready(Some(message));
        }
        if state.senders == 0 {
            return Poll::Ready(None);
        }
        register(&mut state, cx);
        Poll::Pending
    }

    /// The next frame if one is queued, without waiting.
    pub fn try_next(&mut self) -> Option<Message> {
        take_front(&mut self.shared.lock(), self.shared.max_bytes)
    }
}

/// Takes the first frame off the queue of an outbox bounded to `max_bytes`.
fn take_front(state: &mut State, max_bytes: usize) -> Option<Message> {
    let message = state.frames.pop_front()?;
    let len = payload_len(&message);
    if len > max_bytes {
        state.oversized = false;
    } else {
        state.bytes -= len;
    }
    // An emptied queue gives its memory back (even the first few slots,
    // ~200 bytes): an idle connection holds none, and the next burst's
    // allocation is cheap next to its frames.
    if state.frames.is_empty() && state.frames.capacity() > 0 {
        state.frames = VecDeque::new();
    }
    Some(message)
}

impl Drop for FrameQueue {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.receiver_gone = true;
        let frames = std::mem::take(&mut state.frames);
        state.bytes = 0;
        state.oversized = false;
        drop(state);
        // Outside the lock: dropping frames runs their destructors.
        drop(frames);
    }
}

impl CloseSignal {
    /// Waits until a close is asked for, and takes it. Cancel-safe: a close
    /// stays in the slot until a call returns it.
    pub async fn recv(&mut self) -> CloseFrame {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// The close asked for, or `Pending` (the task woken later).
    pub fn poll_recv(&mut self, cx: &Context<'_>) -> Poll<CloseFrame> {
        let mut state = self.shared.lock();
        match std::mem::replace(&mut state.close, CloseSlot::Taken) {
            CloseSlot::Asked(frame) => Poll::Ready(frame),
            other => {
                state.close = other;
                register(&mut state, cx);
                Poll::Pending
            }
        }
    }

    /// What the heartbeat asked since the last call: a ping, shutdown.
    /// Registers the task to be woken for the next ask.
    pub fn poll_signals(&mut self, cx: &Context<'_>) -> Signals {
        let mut state = self.shared.lock();
        let signals = Signals {
            ping: std::mem::take(&mut state.ping),
            shutdown: std::mem::take(&mut state.shutdown),
        };
        register(&mut state, cx);
        signals
    }

    /// The client was heard from: its silence starts again.
    pub fn heard(&self) {
        self.shared.silence.store(0, Ordering::Relaxed);
    }

    /// The close asked for, if any, without waiting.
    pub fn try_recv(&mut self) -> Option<CloseFrame> {
        let mut state = self.shared.lock();
        match std::mem::replace(&mut state.close, CloseSlot::Taken) {
            CloseSlot::Asked(frame) => Some(frame),
            other => {
                state.close = other;
                None
            }
        }
    }
}

/// What the heartbeat asked of a connection (see [`CloseSignal::poll_signals`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Signals {
    /// Send a ping.
    pub ping: bool,
    /// The server is shutting down.
    pub shutdown: bool,
}

/// The server-wide heartbeat's handle on one connection: not a sender (the
/// queue still ends when the last [`Outbox`] goes).
#[derive(Debug, Clone)]
pub struct Watch {
    shared: Arc<Shared>,
}

/// What one heartbeat tick found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tick {
    /// Heard from within the limit: a ping was asked for.
    Alive,
    /// Silent past the limit, still waiting for its hello or not.
    Silent { awaiting_hello: bool },
}

impl Watch {
    /// One heartbeat interval went by: past `limit` silent intervals the
    /// connection is reported silent, else a ping is asked for.
    pub fn tick(&self, limit: u8) -> Tick {
        let silent = self.shared.silence.fetch_add(1, Ordering::Relaxed);
        let mut state = self.shared.lock();
        if silent >= limit {
            // Not to wrap around while its close goes out.
            self.shared.silence.store(limit, Ordering::Relaxed);
            return Tick::Silent {
                awaiting_hello: state.awaiting_hello,
            };
        }
        state.ping = true;
        Shared::wake(state);
        Tick::Alive
    }

    /// Closes the connection now, ahead of its queue (see [`Outbox::close`]).
    pub fn close(&self, close: Close) {
        self.shared.close(close);
    }

    /// Tells the connection the server is shutting down.
    pub fn shut_down(&self) {
        let mut state = self.shared.lock();
        state.shutdown = true;
        Shared::wake(state);
    }
}

#[cfg(test)]
mod tests {
    use tandem_shared::close::CloseCode;

    use super::*;

    fn close(code: CloseCode, reason: &str) -> Close {
        Close::new(code, reason)
    }

    /// Counts `tandem_disconnects_total` increments, whatever the label.
    #[derive(Debug, Default)]
    struct Disconnects(Arc<std::sync::atomic::AtomicU64>);

    impl metrics::Recorder for Disconnects {
        fn describe_counter(
            &self,
            _: metrics::KeyName,
            _: Option<metrics::Unit>,
            _: metrics::SharedString,
        ) {
        }
        fn describe_gauge(
            &self,
            _: metrics::KeyName,
            _: Option<metrics::Unit>,
            _: metrics::SharedString,
        ) {
        }
        fn describe_histogram(
            &self,
            _: metrics::KeyName,
            _: Option<metrics::Unit>,
            _: metrics::SharedString,
        ) {
        }
        fn register_counter(
            &self,
            key: &metrics::Key,
            _: &metrics::Metadata<'_>,
        ) -> metrics::Counter {
            if key.name() == crate::metrics::DISCONNECTS {
                metrics::Counter::from_arc(self.0.clone())
            } else {
                metrics::Counter::noop()
            }
        }
        fn register_gauge(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Gauge {
            metrics::Gauge::noop()
        }
        fn register_histogram(
            &self,
            _: &metrics::Key,
            _: &metrics::Metadata<'_>,
        ) -> metrics::Histogram {
            metrics::Histogram::noop()
        }
    }

    #[test]
    fn a_close_is_counted_once_however_often_it_is_asked() {
        let recorder = Disconnects::default();
        metrics::with_local_recorder(&recorder, || {
            let (queue, mut rx) = outbox(4, 1024);
            queue.close(close(CloseCode::Internal, "the document stopped"));
            queue.close(close(
                CloseCode::Internal,
                "the document stopped; reconnect",
            ));
            assert!(rx.control.try_recv().is_some());
            queue.close(close(CloseCode::SlowConsumer, "after the first was sent"));
        });
        assert_eq!(recorder.0.load(std::sync::atomic::Ordering::Relaxed), 1);
    }

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
        assert_eq!(outbox.push(binary(1)), Ok(()), "small frames still fit");
    }

    #[test]
    fn an_oversized_message_passes_small_frames_queued_before_it() {
        // A joiner's welcome and step 1 are still queued when its big step 2
        // comes: it is owed that frame, it did not fall behind.
        let (outbox, mut rx) = outbox(10, 10);
        assert_eq!(outbox.push(binary(4)), Ok(()));
        assert_eq!(outbox.push(binary(4)), Ok(()));
        assert_eq!(outbox.push(binary(50)), Ok(()));
        assert_eq!(outbox.push(binary(2)), Ok(()), "the bound still has room");
        assert_eq!(outbox.push(binary(1)), Err(OutboxError::Full));
        let lens: Vec<usize> = std::iter::from_fn(|| rx.frames.try_next())
            .map(|m| payload_len(&m))
            .collect();
        assert_eq!(lens, [4, 4, 50, 2], "in order");
        assert_eq!(outbox.push(binary(10)), Ok(()), "all freed as written");
    }

    #[test]
    fn only_one_oversized_message_waits_at_a_time() {
        let (outbox, mut rx) = outbox(10, 10);
        assert_eq!(outbox.push(binary(50)), Ok(()));
        assert_eq!(
            outbox.push(binary(11)),
            Err(OutboxError::Full),
            "a client that does not read is still closed"
        );
        rx.frames.try_next().expect("queued frame");
        assert_eq!(outbox.push(binary(11)), Ok(()), "the slot is free again");
        let state = outbox.shared.lock();
        assert_eq!((state.bytes, state.oversized), (0, true));
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
        outbox.close(close(CloseCode::SlowConsumer, "too slow"));
        outbox.close(close(CloseCode::Normal, "ignored"));
        let frame = rx.control.try_recv().expect("close queued");
        assert_eq!(frame.code, CloseCode::SlowConsumer.number());
        assert_eq!(frame.reason.as_str(), "too slow");
        assert!(rx.control.try_recv().is_none());
        outbox.close(close(CloseCode::Normal, "after the first was taken"));
        assert!(rx.control.try_recv().is_none());
    }

    #[tokio::test]
    async fn frames_come_in_order_and_end_when_every_sender_is_gone() {
        let (outbox, mut rx) = outbox(10, 100);
        let clone = outbox.clone();
        let waiting = tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(message) = rx.frames.recv().await {
                got.push(payload_len(&message));
            }
            got
        });
        tokio::task::yield_now().await;
        outbox.push(binary(1)).expect("room");
        clone.push(binary(2)).expect("room");
        drop(outbox);
        tokio::task::yield_now().await;
        clone.push(binary(3)).expect("room");
        drop(clone);
        let got = tokio::time::timeout(std::time::Duration::from_secs(10), waiting)
            .await
            .expect("ended within the deadline")
            .expect("task finished");
        assert_eq!(got, vec![1, 2, 3]);
    }

    #[test]
    fn an_idle_queue_holds_no_frame_memory() {
        let (outbox, mut rx) = outbox(1000, 1 << 20);
        assert_eq!(
            outbox.shared.lock().frames.capacity(),
            0,
            "nothing up front"
        );
        for _ in 0..500 {
            outbox.push(binary(10)).expect("room");
        }
        while rx.frames.try_next().is_some() {}
        let state = outbox.shared.lock();
        assert_eq!(state.bytes, 0);
        assert_eq!(state.frames.capacity(), 0, "a burst's memory is given back");
    }

    #[tokio::test]
    async fn a_waiting_writer_wakes_for_a_close() {
        let (outbox, mut rx) = outbox(1, 100);
        let waiting = tokio::spawn(async move { rx.control.recv().await });
        tokio::task::yield_now().await;
        outbox.close(close(CloseCode::SlowConsumer, "too slow"));
        let frame = tokio::time::timeout(std::time::Duration::from_secs(10), waiting)
            .await
            .expect("woken within the deadline")
            .expect("task finished");
        assert_eq!(frame.code, CloseCode::SlowConsumer.number());
    }

    #[tokio::test]
    async fn a_close_asked_before_waiting_is_not_lost() {
        let (outbox, mut rx) = outbox(1, 100);
        outbox.close(close(CloseCode::GoingAway, "going away"));
        let frame = tokio::time::timeout(std::time::Duration::from_secs(10), rx.control.recv())
            .await
            .expect("ready at once");
        assert_eq!(frame.code, CloseCode::GoingAway.number());
    }
}
