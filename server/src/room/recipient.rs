//! What a room hands its members: [`Outbound`] messages, through the
//! [`Recipient`] each connection gave when it joined.
//!
//! The room decides *what* to send and to whom; how it goes on the wire
//! (frames, compression, the bounded queue and its close slot) belongs to
//! the connection (`crate::ws`, whose outbox implements [`Recipient`]). So
//! the room holds no socket type and is tested with a recipient that only
//! records ([`testing::TestMember`]).
//!
//! A relayed update is encoded once: every member gets a clone of the same
//! [`Outbound`], whose payload is one shared `Bytes` (the connection
//! compresses it once for all of them, see `ws/compressed.rs`).

use std::fmt;

use bytes::Bytes;
use tandem_shared::close::Close;
use tandem_shared::{ServerMsg, SyncFrame};

/// One message for a member: a JSON control message (a text frame) or a
/// y-sync or awareness message (a binary frame). Cheap to clone: the
/// payload is shared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outbound {
    /// Text (always UTF-8: made from a `String`) or binary.
    text: bool,
    /// The message's bytes, shared by every clone.
    payload: Bytes,
}

impl Outbound {
    /// A control message, as its JSON text.
    pub fn json(message: &ServerMsg) -> Self {
        Self::text(message.to_json())
    }

    /// A text message.
    pub fn text(text: String) -> Self {
        Self {
            text: true,
            payload: Bytes::from(text),
        }
    }

    /// A y-sync message.
    pub fn sync(frame: &SyncFrame) -> Self {
        Self::binary(Bytes::from(frame.encode()))
    }

    /// A binary message.
    pub fn binary(payload: Bytes) -> Self {
        Self {
            text: false,
            payload,
        }
    }

    /// Whether it goes as a text frame (else binary).
    pub fn is_text(&self) -> bool {
        self.text
    }

    /// Its bytes.
    pub fn payload(&self) -> &Bytes {
        &self.payload
    }

    /// Its bytes, taken.
    pub fn into_payload(self) -> Bytes {
        self.payload
    }
}

/// Why a member could not take a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Its queue is at its bound: it fell too far behind. The room closes
    /// it ([`SlowConsumer`](tandem_shared::close::CloseCode::SlowConsumer))
    /// and it resyncs on reconnect; nothing is skipped silently.
    #[error("outgoing queue full")]
    Full,
    /// The connection is gone.
    #[error("connection closed")]
    Closed,
}

/// Where a room sends one member's messages: the member's connection.
/// Neither call waits.
pub trait Recipient: Send + Sync + fmt::Debug {
    /// Queues `message` behind what is queued already.
    fn send(&self, message: Outbound) -> Result<(), SendError>;

    /// Closes the connection now, ahead of whatever is queued. A second
    /// close while one is pending (or after it went out) is ignored.
    fn close(&self, close: Close);
}

#[cfg(test)]
pub(crate) mod testing {
    //! A member for the room's unit tests.

    use std::collections::VecDeque;
    use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
    use std::time::Duration;

    use super::*;

    /// Keeps what the room sends, bounded in messages like a connection's
    /// queue, and the close it was sent.
    #[derive(Debug)]
    pub(crate) struct TestMember {
        /// What was sent, and the close.
        state: Mutex<State>,
        /// Woken on every message and close.
        changed: tokio::sync::Notify,
    }

    #[derive(Debug, Default)]
    struct State {
        /// Most messages held before [`SendError::Full`].
        capacity: usize,
        messages: VecDeque<Outbound>,
        close: Option<Close>,
    }

    impl TestMember {
        /// A member holding at most `capacity` messages.
        pub(crate) fn new(capacity: usize) -> Arc<Self> {
            Arc::new(Self {
                state: Mutex::new(State {
                    capacity,
                    ..State::default()
                }),
                changed: tokio::sync::Notify::new(),
            })
        }

        fn lock(&self) -> MutexGuard<'_, State> {
            // Plain values only; a test that panicked holding it is over.
            self.state.lock().unwrap_or_else(PoisonError::into_inner)
        }

        /// The member as the room takes it.
        pub(crate) fn recipient(self: &Arc<Self>) -> Arc<dyn Recipient> {
            self.clone()
        }

        /// Everything sent so far, taken.
        pub(crate) fn take(&self) -> Vec<Outbound> {
            self.lock().messages.drain(..).collect()
        }

        /// The close it was sent, if any.
        pub(crate) fn closed(&self) -> Option<Close> {
            self.lock().close.clone()
        }

        /// The next message, waiting up to ten seconds for it.
        pub(crate) async fn next(&self) -> Outbound {
            self.wait(|state| state.messages.pop_front()).await
        }

        /// The close it was sent, waiting up to ten seconds for it.
        pub(crate) async fn wait_closed(&self) -> Close {
            self.wait(|state| state.close.clone()).await
        }

        async fn wait<T>(&self, mut found: impl FnMut(&mut State) -> Option<T>) -> T {
            let waiting = async {
                loop {
                    let changed = self.changed.notified();
                    if let Some(value) = found(&mut self.lock()) {
                        return value;
                    }
                    changed.await;
                }
            };
            tokio::time::timeout(Duration::from_secs(10), waiting)
                .await
                .expect("the room sent it within the deadline")
        }
    }

    impl Recipient for TestMember {
        fn send(&self, message: Outbound) -> Result<(), SendError> {
            let mut state = self.lock();
            if state.messages.len() >= state.capacity {
                return Err(SendError::Full);
            }
            state.messages.push_back(message);
            drop(state);
            self.changed.notify_waiters();
            Ok(())
        }

        fn close(&self, close: Close) {
            self.lock().close.get_or_insert(close);
            self.changed.notify_waiters();
        }
    }
}
