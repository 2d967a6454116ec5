//! What connections and the HTTP API ask of a room, and what it answers.
//!
//! A [`RoomCmd`] is one message to a room's actor; the actor handles them one
//! at a time, so nothing here needs a lock. Commands that expect an answer
//! carry a `oneshot` sender; [`RoomHandle`](super::RoomHandle) wraps them in
//! async methods.

use std::sync::Arc;

use bytes::Bytes;
use tandem_shared::{ClientId, Presence};
use tokio::sync::oneshot;
use yrs::{StateVector, Update};

use tandem_shared::authors::AuthorsExport;

use super::authors::Identity;
use super::dialect::Dialect;
use super::document::Exported;
use super::presence::AwarenessId;
use super::recipient::Recipient;
use crate::access::Right;
use crate::links::{KeyRefusal, LinkId};

/// A message to a room's actor.
#[derive(Debug)]
pub(crate) enum RoomCmd {
    /// A connection joins: the actor sends it its `welcome` (with the room's
    /// presence table) and its sync step 1.
    Join {
        /// The connection's id.
        client: ClientId,
        /// Where the room sends this connection's messages.
        recipient: Arc<dyn Recipient>,
        /// The link its key names, if it presented an authentic one: the
        /// room's links say what it grants (and whether it still stands).
        link: Option<LinkId>,
        /// Which protocol the connection speaks.
        dialect: Dialect,
        /// Who it writes as (see `super::authors`).
        identity: Identity,
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
        /// For a Yjs client: the awareness identity it used, so its state is
        /// relayed to other Yjs clients under the same identity.
        awareness: Option<AwarenessId>,
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
    /// Asks who wrote what in the body: its runs of one author each, and
    /// the room's authors (`GET /api/rooms/{room}/authors`).
    Authors {
        /// The right the requester's key grants, if any.
        key: Option<Right>,
        /// `None` if the requester may not read the room.
        reply: oneshot::Sender<Option<AuthorsExport>>,
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
    /// A version-history request of the HTTP API (see `history`).
    History(super::history::HistoryCmd),
    /// The room's share links changed in the store (an editor's change
    /// through the API on this node): the room reads them again and brings
    /// every connection in line (closed, narrowed or widened).
    LinksChanged,
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
    /// The link the key names was revoked or expired, or the room has no
    /// such link: the connection is closed with `AccessRevoked`.
    #[error("{0}")]
    Link(KeyRefusal),
}

impl From<RoomGone> for JoinRefused {
    fn from(_: RoomGone) -> Self {
        Self::Gone
    }
}
