//! The set of loaded rooms, and the one place rooms are started.
//!
//! Finding or creating a room is one step under the `RoomTable`'s lock, so
//! two connections racing to open the same cold room get the same actor and
//! the room is loaded once. A room removes itself (idle, failed, or shut
//! down) through its `Listing`, and only while
//! nothing is waiting in its inbox; a connection holding a handle to a room
//! that has just gone sees [`RoomGone`] and looks the room up again.
//!
//! [`RoomGone`]: super::RoomGone

use std::sync::Arc;

use tandem_shared::RoomId;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use super::actor::RoomActor;
use super::context::{RoomContext, RoomSettings};
use super::handle::{RoomHandle, channel};
use super::table::RoomTable;
use crate::access::Keys;
use crate::store::Store;

/// All loaded rooms, and what a new room is given.
#[derive(Debug)]
pub struct Registry {
    /// Loaded rooms by name.
    table: RoomTable,
    /// Handed to every room at spawn.
    context: Arc<RoomContext>,
    /// Tracks every room task, so shutdown can wait for all of them.
    tracker: TaskTracker,
}

impl Registry {
    /// An empty registry whose rooms live on `store`, hand out keys signed by
    /// `keys`, and stop when `shutdown` fires; their tasks join `tracker`.
    pub fn new(
        store: Arc<dyn Store>,
        keys: Arc<Keys>,
        settings: RoomSettings,
        shutdown: CancellationToken,
        tracker: TaskTracker,
    ) -> Self {
        Self {
            table: RoomTable::default(),
            context: Arc::new(RoomContext::new(store, keys, settings, shutdown)),
            tracker,
        }
    }

    /// The handle of `room`, starting its actor (which loads it) if it is not
    /// loaded. `None` once the server is shutting down.
    pub fn get_or_create(&self, room: &RoomId) -> Option<RoomHandle> {
        if self.context.shutdown.is_cancelled() {
            return None;
        }
        Some(self.table.get_or_insert(room, |listing| {
            let (handle, inbox) = channel(room.clone());
            let actor = RoomActor::new(room.clone(), inbox, listing, self.context.clone());
            // A root span: the room outlives the connection that happened to open it.
            let span = tracing::info_span!(parent: None, "room", room = %room);
            self.tracker.spawn(actor.run().instrument(span));
            handle
        }))
    }

    /// The handle of `room` if it is loaded on this node (never loads it):
    /// for news only a loaded room needs, such as a change of its links.
    pub fn get(&self, room: &RoomId) -> Option<RoomHandle> {
        self.table.get(room)
    }

    /// Connects every room started from now on to the other nodes through
    /// `bus`; a second call changes nothing.
    pub fn attach_bus(&self, bus: Arc<crate::bus::Bus>) {
        let _ = self.context.bus.set(bus);
    }

    /// The bus, if the server runs as a node of a cluster.
    pub fn bus(&self) -> Option<&Arc<crate::bus::Bus>> {
        self.context.bus.get()
    }

    /// Number of rooms in memory.
    pub fn loaded(&self) -> usize {
        self.table.len()
    }

    /// Whether `room` is in memory.
    pub fn is_loaded(&self, room: &RoomId) -> bool {
        self.table.contains(room)
    }

    /// Waits for every room task to finish (after shutdown was signalled).
    pub async fn wait_stopped(&self) {
        self.tracker.close();
        self.tracker.wait().await;
    }
}
