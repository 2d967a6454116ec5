//! [`RoomHandle`]: how everything outside a room talks to its actor.
//!
//! A handle is the sending end of the actor's inbox, a bounded channel, so a
//! flood of frames from one connection waits in that connection's reader
//! (and, through TCP, in the client) rather than in server memory. A handle
//! outliving its room reports [`RoomGone`]; its holder looks the room up
//! again in the registry.

use std::sync::Arc;

use tandem_shared::authors::AuthorsExport;
use tandem_shared::{ClientId, RoomId};
use tokio::sync::{mpsc, oneshot};

use super::authors::Identity;
use super::command::{Claim, JoinRefused, RoomCmd, RoomGone};
use super::dialect::Dialect;
use super::document::Exported;
use super::recipient::Recipient;
use crate::access::Right;
use crate::links::LinkId;

/// Capacity of a room's command channel. Large enough that a burst from many
/// clients does not serialise them, small enough to bound memory per room.
const ROOM_CHANNEL_CAPACITY: usize = 256;

/// A cheap, cloneable way to talk to one room's actor.
#[derive(Debug, Clone)]
pub struct RoomHandle {
    /// The room's name, for logs.
    room: RoomId,
    /// The actor's inbox.
    tx: mpsc::Sender<RoomCmd>,
}

/// A new room's inbox: the handle others use, and the receiver its actor owns.
pub(super) fn channel(room: RoomId) -> (RoomHandle, mpsc::Receiver<RoomCmd>) {
    let (tx, rx) = mpsc::channel(ROOM_CHANNEL_CAPACITY);
    (RoomHandle { room, tx }, rx)
}

impl RoomHandle {
    /// The room's name.
    pub fn room(&self) -> &RoomId {
        &self.room
    }

    /// Sends `cmd` if the inbox has room: `Err(Some(cmd))` when it is full
    /// (the caller waits with [`send`](Self::send), boxed, so a connection's
    /// task does not carry that wait's future), `Err(None)` when the room
    /// is gone.
    // The command comes back as it went in, to be sent by the wait: boxing
    // it would allocate on every full inbox for nothing.
    #[allow(clippy::result_large_err)]
    pub(crate) fn try_send(&self, cmd: RoomCmd) -> Result<(), Option<RoomCmd>> {
        match self.tx.try_send(cmd) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(cmd)) => Err(Some(cmd)),
            Err(mpsc::error::TrySendError::Closed(_)) => Err(None),
        }
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

    /// Joins the room with the right its share link `link` grants (if the
    /// connection's key named one); returns once the room is loaded and the
    /// welcome and sync step 1 went to `recipient`.
    pub async fn join(
        &self,
        client: ClientId,
        recipient: Arc<dyn Recipient>,
        link: Option<LinkId>,
        dialect: Dialect,
    ) -> Result<(), JoinRefused> {
        let identity = match dialect {
            Dialect::Tandem => Identity::Connection { preferred: None },
            Dialect::Yjs => Identity::Yjs,
        };
        self.join_as(client, recipient, link, dialect, identity)
            .await
    }

    /// [`join`](Self::join), writing as `identity` (see `super::authors`).
    pub(crate) async fn join_as(
        &self,
        client: ClientId,
        recipient: Arc<dyn Recipient>,
        link: Option<LinkId>,
        dialect: Dialect,
        identity: Identity,
    ) -> Result<(), JoinRefused> {
        let (joined, done) = oneshot::channel();
        self.send(RoomCmd::Join {
            client,
            recipient,
            link,
            dialect,
            identity,
            joined,
        })
        .await?;
        done.await.map_err(|_| JoinRefused::Gone)?
    }

    /// Who wrote what in the body; `Ok(None)` if `key` does not allow
    /// reading it.
    pub async fn authors(&self, key: Option<Right>) -> Result<Option<AuthorsExport>, RoomGone> {
        let (reply, answer) = oneshot::channel();
        self.send(RoomCmd::Authors { key, reply }).await?;
        answer.await.map_err(|_| RoomGone)
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

    /// Sends a version-history request; the caller awaits its own reply channel.
    pub(crate) async fn history(&self, cmd: super::history::HistoryCmd) -> Result<(), RoomGone> {
        self.send(RoomCmd::History(cmd)).await
    }

    /// Tells the room its share links changed in the store: it reads them
    /// again and brings its connections in line.
    pub async fn links_changed(&self) -> Result<(), RoomGone> {
        self.send(RoomCmd::LinksChanged).await
    }

    /// Waits until every update this handle's senders sent before is durable.
    pub async fn flush(&self) -> Result<(), RoomGone> {
        let (done, finished) = oneshot::channel();
        self.send(RoomCmd::Flush { done }).await?;
        finished.await.map_err(|_| RoomGone)
    }
}
