//! A room's share links as its actor keeps them (see `actor/links.rs` for
//! what the actor does with them): the links that stand for the room, the
//! read of them from the store in flight, the joins waiting for it, and
//! when the next link a member holds expires.

use std::sync::Arc;
use std::time::Duration;

use tandem_shared::{ClientId, RoomId};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::command::JoinRefused;
use super::dialect::Dialect;
use super::recipient::Recipient;
use crate::links::{Link, LinkId};
use crate::store::{RoomLinks, Store, StoreError};

/// The room's share links as its actor keeps them.
#[derive(Debug, Default)]
pub(super) struct LinkTable {
    /// The links that stand for the room ([`crate::links::standing`]).
    pub(super) links: Vec<Link>,
    /// A read of the stored links in flight.
    pub(super) reading: Option<JoinHandle<Result<RoomLinks, StoreError>>>,
    /// The links changed again after that read started: read once more.
    pub(super) again: bool,
    /// When a link some member was admitted with next expires; recomputed
    /// when links are read, a member joins, or it fires.
    pub(super) next_expiry: Option<Instant>,
    /// Joins with a link this copy of the links does not have: created a
    /// moment ago (its announcement may still be on its way, or still being
    /// read), or gone. They wait for a read that started after them.
    pub(super) waiting: Vec<WaitingJoin>,
}

/// A join held until the links are read again (see [`LinkTable::waiting`]).
#[derive(Debug)]
pub(super) struct WaitingJoin {
    /// The connection.
    pub(super) client: ClientId,
    /// Where its messages go.
    pub(super) recipient: Arc<dyn Recipient>,
    /// The link its key names.
    pub(super) link: LinkId,
    /// Its protocol.
    pub(super) dialect: Dialect,
    /// Who it writes as.
    pub(super) identity: crate::room::authors::Identity,
    /// Its answer.
    pub(super) joined: oneshot::Sender<Result<(), JoinRefused>>,
}

impl LinkTable {
    /// Whether a read is in flight.
    pub(super) fn is_reading(&self) -> bool {
        self.reading.is_some()
    }

    /// The read's result, once it is done (pending without one).
    pub(super) async fn read_done(&mut self) -> Result<RoomLinks, StoreError> {
        let Some(reading) = self.reading.as_mut() else {
            return std::future::pending().await;
        };
        let read = reading.await;
        self.reading = None;
        read.unwrap_or_else(|err| Err(StoreError::Other(err.to_string())))
    }

    /// When the next expiry is due, if any.
    pub(super) fn next_expiry(&self) -> Option<Instant> {
        self.next_expiry
    }

    /// The links that stand for the room.
    pub(super) fn standing(&self) -> &[Link] {
        &self.links
    }

    /// Whether this copy has the link `link` names (or there is none).
    pub(super) fn knows(&self, link: Option<&LinkId>) -> bool {
        link.is_none_or(|id| self.links.iter().any(|l| &l.id == id))
    }
}

/// Reads `room`'s links from `store` on a blocking thread.
pub(super) async fn read(store: Arc<dyn Store>, room: RoomId) -> Result<RoomLinks, StoreError> {
    tokio::task::spawn_blocking(move || store.links(&room))
        .await
        .unwrap_or_else(|err| Err(StoreError::Other(err.to_string())))
}

/// The tokio instant of `at` (Unix ms), from now (`now`, Unix ms).
pub(super) fn instant_of(at: i64, now: i64) -> Instant {
    Instant::now() + Duration::from_millis(u64::try_from(at - now).unwrap_or(0))
}
