//! Rooms: one actor task per open document.
//!
//! The [`registry`] finds or creates a room's actor atomically; the actor
//! ([`actor`]) owns the room's yrs `Doc` and its connections' outboxes, and is
//! the only code that touches either. Connections talk to it through a
//! [`RoomHandle`] over a bounded channel, so a flood of frames from one
//! connection waits in that connection's reader (and, through TCP, in the
//! client) rather than in server memory.

mod actor;
pub mod outbox;
pub mod registry;

use std::time::Duration;

use bytes::Bytes;
use tandem_shared::{ClientId, Presence, RoomId};

use crate::access::Right;
use tokio::sync::{mpsc, oneshot};
use yrs::{StateVector, Update};

pub use outbox::{FrameQueue, Outbox, OutboxReceiver, outbox};
pub use registry::Registry;

/// Capacity of a room's command channel. Large enough that a burst from many
/// clients does not serialise them, small enough to bound memory per room.
const ROOM_CHANNEL_CAPACITY: usize = 256;

/// Tuning of every room, taken from [`crate::Config`].
#[derive(Debug, Clone)]
pub struct RoomSettings {
    /// Unload a room after this long without connections.
    pub idle: Duration,
    /// Compact once the log holds this many updates...
    pub compact_updates: u64,
    /// ...or this many bytes.
    pub compact_bytes: u64,
    /// Most members of one room.
    pub max_connections: usize,
    /// Largest document, in bytes of stored state.
    pub max_document_bytes: u64,
    /// Most rooms with per-room metric labels at one time.
    pub labelled_rooms: usize,
}

/// A message to a room's actor.
#[derive(Debug)]
pub(crate) enum RoomCmd {
    /// A connection joins: the actor queues its `welcome` (with the room's
    /// presence table) and its sync step 1 in `outbox`.
    Join {
        /// The connection's id.
        client: ClientId,
        /// Where the room writes to this connection.
        outbox: Outbox,
        /// The right the connection's key grants, if it has a valid key.
        key: Option<Right>,
        /// Which protocol the connection speaks.
        dialect: Dialect,
        /// Answered once the room is loaded: a member now, or why not.
        joined: oneshot::Sender<Result<(), JoinRefused>>,
    },
    /// A sync step 1 from the client: answer with what it misses.
    StateVector {
        /// The sender.
        client: ClientId,
        /// Its state vector.
        state_vector: StateVector,
    },
    /// A sync step 2 or update from the client, already decoded by its
    /// connection task (so decoding does not load the room's one thread).
    Update {
        /// The sender.
        client: ClientId,
        /// The decoded update, to apply.
        update: Update,
        /// The bytes as received, to store and relay.
        raw: Bytes,
        /// When the frame arrived, for the relay latency metric.
        received: std::time::Instant,
    },
    /// The connection's presence changed (already validated); `None` when a
    /// Yjs client cleared its awareness state.
    Presence {
        /// The sender.
        client: ClientId,
        /// Its new presence.
        presence: Option<Presence>,
        /// For a Yjs client: the awareness client id and clock it used, so
        /// its state is relayed to other Yjs clients under the same identity.
        awareness: Option<(u64, u32)>,
    },
    /// A Yjs client asked for everyone's awareness.
    AwarenessQuery {
        /// The asker.
        client: ClientId,
    },
    /// Asks for the document's title and body as plain text.
    Export {
        /// The right the requester's key grants, if any.
        key: Option<Right>,
        /// `None` if the requester may not read the room.
        reply: oneshot::Sender<Option<Exported>>,
    },
    /// Answered once every update received before it is durable.
    Flush {
        /// Fired when the room's store pipeline is empty.
        done: oneshot::Sender<()>,
    },
    /// Protects the room if nobody is in it and nothing was ever written.
    Claim {
        /// What came of it.
        reply: oneshot::Sender<Claim>,
    },
    /// A connection left.
    Leave {
        /// The connection's id.
        client: ClientId,
    },
}

/// The room is gone (unloaded, failed, or the server is shutting down); the
/// caller should look it up again in the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("room is no longer running")]
pub struct RoomGone;

/// The protocol a connection speaks: Tandem's own (`/ws`), or the
/// y-websocket dialect of stock Yjs clients (`/yjs`, see `tandem_shared::yjs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// JSON control frames and `saved` acknowledgements; presence as JSON.
    Tandem,
    /// Binary only; presence as awareness updates; no acknowledgements.
    Yjs,
}

/// A document as plain text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exported {
    /// The title (may be empty).
    pub title: String,
    /// The body.
    pub body: String,
}

/// What a claim of a room's name came to. The room's actor decides, so a
/// claim and a join can never interleave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The room is now protected.
    Claimed,
    /// Someone has the room open.
    InUse,
    /// The room has content, or was claimed before.
    Taken,
    /// The store failed; the message says why.
    Failed(String),
}

/// Why a join did not happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JoinRefused {
    /// The room is gone; look it up again.
    #[error("room is no longer running")]
    Gone,
    /// The room has its maximum number of members.
    #[error("room is full")]
    Full,
}

impl From<RoomGone> for JoinRefused {
    fn from(_: RoomGone) -> Self {
        Self::Gone
    }
}

/// A cheap, cloneable way to talk to one room's actor.
#[derive(Debug, Clone)]
pub struct RoomHandle {
    /// The room's name, for logs.
    room: RoomId,
    /// The actor's inbox.
    tx: mpsc::Sender<RoomCmd>,
}

impl RoomHandle {
    /// The room's name.
    pub fn room(&self) -> &RoomId {
        &self.room
    }

    pub(crate) async fn send(&self, cmd: RoomCmd) -> Result<(), RoomGone> {
        // Waiting for room in the inbox is the rare case; its future (the
        // command plus a semaphore wait, ~600 bytes) would otherwise sit in
        // every connection's task all the time, idle or not.
        match self.tx.try_send(cmd) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(cmd)) => {
                Box::pin(self.tx.send(cmd)).await.map_err(|_| RoomGone)
            }
            Err(mpsc::error::TrySendError::Closed(_)) => Err(RoomGone),
        }
    }

    /// Joins the room with the right `key` grants (if any); returns once the
    /// room is loaded and the welcome and sync step 1 are queued in `outbox`.
    pub async fn join(
        &self,
        client: ClientId,
        outbox: Outbox,
        key: Option<Right>,
        dialect: Dialect,
    ) -> Result<(), JoinRefused> {
        let (joined, done) = oneshot::channel();
        self.send(RoomCmd::Join {
            client,
            outbox,
            key,
            dialect,
            joined,
        })
        .await?;
        done.await.map_err(|_| JoinRefused::Gone)?
    }

    /// The document as plain text; `Ok(None)` if `key` does not allow reading it.
    pub async fn export(&self, key: Option<Right>) -> Result<Option<Exported>, RoomGone> {
        let (reply, answer) = oneshot::channel();
        self.send(RoomCmd::Export { key, reply }).await?;
        answer.await.map_err(|_| RoomGone)
    }

    /// Protects the room if it is empty and nobody has it open.
    pub async fn claim(&self) -> Result<Claim, RoomGone> {
        let (reply, answer) = oneshot::channel();
        self.send(RoomCmd::Claim { reply }).await?;
        answer.await.map_err(|_| RoomGone)
    }

    /// Waits until every update this handle's senders sent before is durable.
    pub async fn flush(&self) -> Result<(), RoomGone> {
        let (done, finished) = oneshot::channel();
        self.send(RoomCmd::Flush { done }).await?;
        finished.await.map_err(|_| RoomGone)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tokio_util::sync::CancellationToken;
    use tokio_util::task::TaskTracker;

    use super::*;
    use crate::store::MemoryStore;

    fn registry(store: Arc<MemoryStore>, idle: Duration) -> Arc<Registry> {
        let settings = RoomSettings {
            idle,
            compact_updates: 1000,
            compact_bytes: 1 << 20,
            max_connections: 10,
            max_document_bytes: 1 << 20,
            labelled_rooms: 10,
        };
        let keys = Arc::new(crate::access::Keys::ephemeral().expect("keys"));
        Arc::new(Registry::new(
            store,
            keys,
            settings,
            CancellationToken::new(),
            TaskTracker::new(),
        ))
    }

    /// Lets spawned tasks (and the store's blocking loads) run.
    async fn settle() {
        for _ in 0..50 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_room_unloads_after_the_configured_delay() {
        let store = Arc::new(MemoryStore::default());
        let registry = registry(store.clone(), Duration::from_secs(30));
        let room = RoomId::new("idle").expect("room");
        let handle = registry.get_or_create(&room).expect("running");
        let (queue, _frames) = outbox(16, 1 << 20);
        handle
            .join(ClientId(1), queue, None, Dialect::Tandem)
            .await
            .expect("joined");

        // A member keeps the room loaded however long it stays.
        tokio::time::advance(Duration::from_secs(3600)).await;
        settle().await;
        assert!(registry.is_loaded(&room));

        handle
            .send(RoomCmd::Leave {
                client: ClientId(1),
            })
            .await
            .expect("left");
        settle().await;
        tokio::time::advance(Duration::from_secs(29)).await;
        settle().await;
        assert!(registry.is_loaded(&room), "unloaded before the idle delay");

        tokio::time::advance(Duration::from_secs(2)).await;
        settle().await;
        assert!(
            !registry.is_loaded(&room),
            "still loaded after the idle delay"
        );
        assert_eq!(store.loads(), 1);

        // The next visitor gets a fresh actor that loads the room again.
        let again = registry.get_or_create(&room).expect("running");
        let (queue, _frames) = outbox(16, 1 << 20);
        again
            .join(ClientId(2), queue, None, Dialect::Tandem)
            .await
            .expect("joined");
        assert_eq!(store.loads(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_handle_to_an_unloaded_room_reports_it_gone() {
        let store = Arc::new(MemoryStore::default());
        let registry = registry(store, Duration::from_secs(1));
        let room = RoomId::new("gone").expect("room");
        let stale = registry.get_or_create(&room).expect("running");
        let (queue, _frames) = outbox(16, 1 << 20);
        stale
            .join(ClientId(1), queue, None, Dialect::Tandem)
            .await
            .expect("joined");
        stale
            .send(RoomCmd::Leave {
                client: ClientId(1),
            })
            .await
            .expect("left");
        settle().await;
        tokio::time::advance(Duration::from_secs(2)).await;
        settle().await;
        assert!(!registry.is_loaded(&room));
        let (queue, _frames) = outbox(16, 1 << 20);
        assert_eq!(
            stale.join(ClientId(2), queue, None, Dialect::Tandem).await,
            Err(JoinRefused::Gone)
        );
    }
}
