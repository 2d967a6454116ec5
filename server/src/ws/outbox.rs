//! A connection's outbox: the state its room, its own task and the
//! server-wide heartbeat share — the bounded [`SendQueue`], an urgent close
//! slot, and what the heartbeat asks (a ping, shutdown, how long the client
//! has been silent).
//!
//! The room and the connection push messages through an [`Outbox`] (the
//! room through it as its member's [`Recipient`]); the connection's task
//! takes them through the [`OutboxReceiver`] and writes them to the socket.
//! A push past the queue's bounds fails at once (see [`SendQueue`]).
//!
//! Closing goes through a one-close slot the connection checks first, so a
//! close still gets through when the queue is full; a close may also be
//! queued behind what is waiting ([`Outbox::close_after_queued`], the
//! `1001` after a draining server's last `saved`). Every close the server
//! asks for is counted once (`tandem_disconnects_total`), here.
//!
//! The state is a mutex around plain values rather than tokio channels: an
//! idle connection holds one, and a tokio channel allocates its first block
//! of 32 slots up front (1.6 KiB for messages, 1.3 KiB for a close
//! channel). One waker (the connection's task) is woken for a message, a
//! close, a ping and shutdown alike, so a connection needs no timer and no
//! future of its own to wait on them.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use tandem_shared::close::Close;

use super::send_queue::SendQueue;
use crate::room::{Outbound, Recipient, SendError};

/// The sending side: the room's member and the connection's own replies.
/// Cheap to clone.
#[derive(Debug, Clone)]
pub(super) struct Outbox {
    shared: Arc<Shared>,
}

/// The receiving side, owned by the connection's task.
#[derive(Debug)]
pub(super) struct OutboxReceiver {
    shared: Arc<Shared>,
}

/// What the senders, the receiver and the heartbeat of one connection share.
#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    /// Heartbeat intervals since the connection last heard from its client
    /// (see [`Watch::tick`]).
    silence: AtomicU8,
    /// The queue's bounds.
    max_messages: usize,
    max_bytes: usize,
}

#[derive(Debug, Default)]
struct State {
    queue: SendQueue,
    close: CloseSlot,
    /// The [`OutboxReceiver`] was dropped: the connection is gone.
    receiver_gone: bool,
    /// The heartbeat asks for a ping.
    ping: bool,
    /// The server is shutting down (set once, taken once).
    shutdown: bool,
    /// The connection waits for its client's hello (for the heartbeat's
    /// wording).
    awaiting_hello: bool,
    /// The receiving task, to wake for a message, a close, a ping or
    /// shutdown.
    waker: Option<Waker>,
}

#[derive(Debug, Default)]
enum CloseSlot {
    /// No close asked for yet.
    #[default]
    Open,
    /// A close to send now, ahead of the queue.
    Urgent(Close),
    /// A close to send once everything queued before it has gone.
    AfterQueued(Close),
    /// The connection took the close; later ones are ignored.
    Taken,
}

/// What the receiver takes next, in order.
#[derive(Debug, PartialEq)]
pub(super) enum Next {
    /// A message to send.
    Message(Outbound),
    /// The close queued behind the messages (nothing follows it).
    Close(Close),
}

/// A queue holding at most `max_messages` messages and `max_bytes` bytes.
pub(super) fn outbox(max_messages: usize, max_bytes: usize) -> (Outbox, OutboxReceiver) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State::default()),
        silence: AtomicU8::new(0),
        max_messages: max_messages.max(1),
        max_bytes,
    });
    (
        Outbox {
            shared: shared.clone(),
        },
        OutboxReceiver { shared },
    )
}

/// Counts a connection the server closes, by the close code's label
/// (`tandem_disconnects_total`).
fn count_disconnect(close: &Close) {
    metrics::counter!(crate::metrics::DISCONNECTS, "reason" => close.code.label()).increment(1);
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

    fn push(&self, message: Outbound) -> Result<(), SendError> {
        let mut state = self.lock();
        if state.receiver_gone {
            return Err(SendError::Closed);
        }
        state
            .queue
            .push(message, self.max_messages, self.max_bytes)?;
        Self::wake(state);
        Ok(())
    }

    /// Asks for a close, urgent or behind the queue; the first one wins and
    /// is counted.
    fn close(&self, close: Close, urgent: bool) {
        let mut state = self.lock();
        if matches!(state.close, CloseSlot::Open) {
            count_disconnect(&close);
            state.close = if urgent {
                CloseSlot::Urgent(close)
            } else {
                CloseSlot::AfterQueued(close)
            };
            Self::wake(state);
        }
    }
}

impl Recipient for Shared {
    fn send(&self, message: Outbound) -> Result<(), SendError> {
        self.push(message)
    }

    fn close(&self, close: Close) {
        Shared::close(self, close, true);
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
    pub(super) fn push(&self, message: Outbound) -> Result<(), SendError> {
        self.shared.push(message)
    }

    /// Asks the connection to send a close frame now, ahead of what is
    /// queued. A second close while one is pending (or after it was sent)
    /// is ignored, and not counted: the first one wins.
    pub(super) fn close(&self, close: Close) {
        self.shared.close(close, true);
    }

    /// Asks the connection to send a close frame once what is queued now
    /// has gone, so the client reads it all first; ignored like
    /// [`Outbox::close`] after another close.
    pub(super) fn close_after_queued(&self, close: Close) {
        self.shared.close(close, false);
    }

    /// Whether the connection waits for its client's hello (the heartbeat
    /// words its timeout after it).
    pub(super) fn set_awaiting_hello(&self, waiting: bool) {
        self.shared.lock().awaiting_hello = waiting;
    }

    /// This connection as a room's member sees it: where the room sends.
    pub(super) fn recipient(&self) -> Arc<dyn Recipient> {
        self.shared.clone()
    }

    /// The heartbeat's view of this connection.
    pub(super) fn watch(&self) -> Watch {
        Watch {
            shared: self.shared.clone(),
        }
    }
}

impl OutboxReceiver {
    /// The urgent close asked for, or `Pending` (the task woken later).
    /// Cancel-safe: a close stays in the slot until a call returns it.
    pub(super) fn poll_close(&mut self, cx: &Context<'_>) -> Poll<Close> {
        let mut state = self.shared.lock();
        match std::mem::replace(&mut state.close, CloseSlot::Taken) {
            CloseSlot::Urgent(close) => Poll::Ready(close),
            other => {
                state.close = other;
                register(&mut state, cx);
                Poll::Pending
            }
        }
    }

    /// The next message, or the close queued behind the messages once they
    /// are all taken; `Pending` (the task woken later) while there is none.
    pub(super) fn poll_next(&mut self, cx: &Context<'_>) -> Poll<Next> {
        let mut state = self.shared.lock();
        if let Some(message) = state.queue.pop(self.shared.max_bytes) {
            return Poll::Ready(Next::Message(message));
        }
        if let CloseSlot::AfterQueued(_) = state.close
            && let CloseSlot::AfterQueued(close) =
                std::mem::replace(&mut state.close, CloseSlot::Taken)
        {
            return Poll::Ready(Next::Close(close));
        }
        register(&mut state, cx);
        Poll::Pending
    }

    /// What the heartbeat asked since the last call: a ping, shutdown.
    /// Registers the task to be woken for the next ask.
    pub(super) fn poll_signals(&mut self, cx: &Context<'_>) -> Signals {
        let mut state = self.shared.lock();
        let signals = Signals {
            ping: std::mem::take(&mut state.ping),
            shutdown: std::mem::take(&mut state.shutdown),
        };
        register(&mut state, cx);
        signals
    }

    /// The client was heard from: its silence starts again.
    pub(super) fn heard(&self) {
        self.shared.silence.store(0, Ordering::Relaxed);
    }
}

impl Drop for OutboxReceiver {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.receiver_gone = true;
        let queued = state.queue.take_all();
        drop(state);
        // Outside the lock: dropping messages runs their destructors.
        drop(queued);
    }
}

/// What the heartbeat asked of a connection (see [`OutboxReceiver::poll_signals`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Signals {
    /// Send a ping.
    pub(super) ping: bool,
    /// The server is shutting down.
    pub(super) shutdown: bool,
}

/// The server-wide heartbeat's handle on one connection.
#[derive(Debug, Clone)]
pub(super) struct Watch {
    shared: Arc<Shared>,
}

/// What one heartbeat tick found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tick {
    /// Heard from within the limit: a ping was asked for.
    Alive,
    /// Silent past the limit, still waiting for its hello or not.
    Silent { awaiting_hello: bool },
}

impl Watch {
    /// One heartbeat interval went by: past `limit` silent intervals the
    /// connection is reported silent, else a ping is asked for.
    pub(super) fn tick(&self, limit: u8) -> Tick {
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
    pub(super) fn close(&self, close: Close) {
        self.shared.close(close, true);
    }

    /// Tells the connection the server is shutting down.
    pub(super) fn shut_down(&self) {
        let mut state = self.shared.lock();
        state.shutdown = true;
        Shared::wake(state);
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use tandem_shared::close::CloseCode;

    use super::*;

    fn close(code: CloseCode, reason: &str) -> Close {
        Close::new(code, reason)
    }

    fn binary(len: usize) -> Outbound {
        Outbound::binary(Bytes::from(vec![0; len]))
    }

    fn noop() -> Context<'static> {
        Context::from_waker(Waker::noop())
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
            queue.close_after_queued(close(CloseCode::GoingAway, "and again"));
            assert!(rx.poll_close(&noop()).is_ready());
            queue.close(close(CloseCode::SlowConsumer, "after the first was sent"));
        });
        assert_eq!(recorder.0.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn reports_a_gone_connection() {
        let (outbox, rx) = outbox(10, 10);
        drop(rx);
        assert_eq!(outbox.push(binary(1)), Err(SendError::Closed));
        assert_eq!(outbox.recipient().send(binary(1)), Err(SendError::Closed));
    }

    #[test]
    fn the_room_sends_into_the_same_bounded_queue() {
        let (outbox, mut rx) = outbox(2, 1 << 20);
        let member = outbox.recipient();
        assert_eq!(member.send(binary(1)), Ok(()));
        assert_eq!(outbox.push(binary(2)), Ok(()));
        assert_eq!(member.send(binary(3)), Err(SendError::Full));
        let Poll::Ready(Next::Message(first)) = rx.poll_next(&noop()) else {
            panic!("a message is queued");
        };
        assert_eq!(first.payload().len(), 1, "in order");
    }

    #[test]
    fn an_urgent_close_jumps_the_queue() {
        let (outbox, mut rx) = outbox(1, 100);
        outbox.push(binary(1)).expect("room for one");
        outbox
            .recipient()
            .close(close(CloseCode::SlowConsumer, "too slow"));
        outbox.close(close(CloseCode::Normal, "ignored"));
        let Poll::Ready(sent) = rx.poll_close(&noop()) else {
            panic!("close queued");
        };
        assert_eq!(
            (sent.code, sent.reason.as_str()),
            (CloseCode::SlowConsumer, "too slow")
        );
        assert!(rx.poll_close(&noop()).is_pending());
        outbox.close(close(CloseCode::Normal, "after the first was taken"));
        assert!(rx.poll_close(&noop()).is_pending());
    }

    #[test]
    fn a_close_after_queued_comes_after_every_message_queued_before_it() {
        let (outbox, mut rx) = outbox(10, 100);
        outbox.push(binary(1)).expect("room");
        outbox.push(binary(2)).expect("room");
        outbox.close_after_queued(close(CloseCode::GoingAway, "server is shutting down"));
        assert!(rx.poll_close(&noop()).is_pending(), "not urgent");
        let taken: Vec<Next> = std::iter::from_fn(|| match rx.poll_next(&noop()) {
            Poll::Ready(next) => Some(next),
            Poll::Pending => None,
        })
        .collect();
        assert_eq!(
            taken,
            [
                Next::Message(binary(1)),
                Next::Message(binary(2)),
                Next::Close(close(CloseCode::GoingAway, "server is shutting down")),
            ]
        );
    }

    #[test]
    fn a_waiting_receiver_is_woken_by_a_message_and_by_a_close() {
        let (outbox, mut rx) = outbox(4, 100);
        let woken = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let waker = Waker::from(Arc::new(Counter(woken.clone())));
        let cx = Context::from_waker(&waker);
        assert!(rx.poll_next(&cx).is_pending());
        outbox.push(binary(1)).expect("room");
        assert_eq!(woken.load(Ordering::Relaxed), 1);
        assert!(rx.poll_next(&cx).is_ready());
        assert!(rx.poll_close(&cx).is_pending());
        outbox.close(close(CloseCode::GoingAway, "going away"));
        assert_eq!(woken.load(Ordering::Relaxed), 2);
        assert!(rx.poll_close(&cx).is_ready());
    }

    /// A waker that counts its wakes.
    struct Counter(Arc<std::sync::atomic::AtomicUsize>);

    impl std::task::Wake for Counter {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
}
