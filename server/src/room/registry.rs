//! The set of loaded rooms.
//!
//! Finding or creating a room is one step under one lock, so two connections
//! racing to open the same cold room get the same actor and the room is
//! loaded once. A room removes itself (idle, failed, or shut down) through the
//! same lock, and only while nothing is waiting in its inbox; a connection
//! holding a handle to a room that has just gone sees [`RoomGone`] and looks
//! the room up again.
//!
//! [`RoomGone`]: super::RoomGone

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use tandem_shared::RoomId;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use super::actor::RoomActor;
use super::{ROOM_CHANNEL_CAPACITY, RoomCmd, RoomHandle, RoomSettings};
use crate::access::Keys;
use crate::store::Store;

/// All loaded rooms, and what a new room needs to start.
#[derive(Debug)]
pub struct Registry {
    /// Loaded rooms by name. A std mutex: every critical section is a map
    /// lookup or insert plus a channel creation, never an await.
    rooms: Mutex<HashMap<RoomId, Slot>>,
    /// Where rooms are stored.
    pub(super) store: Arc<dyn Store>,
    /// Signs the share keys given to editors.
    pub(super) keys: Arc<Keys>,
    /// Tuning shared by every room.
    pub(super) settings: RoomSettings,
    /// Fired when the server shuts down; rooms flush and stop.
    pub(super) shutdown: CancellationToken,
    /// Tracks every room task, so shutdown can wait for all of them.
    tracker: TaskTracker,
    /// Tells room incarnations apart, so a stopping room never removes its
    /// successor from the map.
    next_generation: AtomicU64,
    /// Rooms currently holding a per-room metrics label (bounded by
    /// `settings.labelled_rooms`).
    labelled: AtomicUsize,
}

#[derive(Debug)]
struct Slot {
    handle: RoomHandle,
    generation: u64,
}

impl Registry {
    /// An empty registry whose rooms live on `store`.
    pub fn new(
        store: Arc<dyn Store>,
        keys: Arc<Keys>,
        settings: RoomSettings,
        shutdown: CancellationToken,
        tracker: TaskTracker,
    ) -> Self {
        Self {
            rooms: Mutex::new(HashMap::new()),
            store,
            keys,
            settings,
            shutdown,
            tracker,
            next_generation: AtomicU64::new(1),
            labelled: AtomicUsize::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<RoomId, Slot>> {
        // The map is never left half-updated by a panic (single inserts and
        // removes), so a poisoned lock is still safe to use.
        self.rooms
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The handle of `room`, starting its actor (which loads it) if it is not
    /// loaded. `None` once the server is shutting down.
    pub fn get_or_create(self: &Arc<Self>, room: &RoomId) -> Option<RoomHandle> {
        if self.shutdown.is_cancelled() {
            return None;
        }
        let mut rooms = self.lock();
        if let Some(slot) = rooms.get(room) {
            return Some(slot.handle.clone());
        }
        let (tx, rx) = mpsc::channel(ROOM_CHANNEL_CAPACITY);
        let handle = RoomHandle {
            room: room.clone(),
            tx,
        };
        let generation = self.next_generation.fetch_add(1, Ordering::Relaxed);
        let actor = RoomActor::new(room.clone(), generation, rx, self.clone());
        // A root span: the room outlives the connection that happened to open it.
        let span = tracing::info_span!(parent: None, "room", room = %room);
        self.tracker.spawn(actor.run().instrument(span));
        rooms.insert(
            room.clone(),
            Slot {
                handle: handle.clone(),
                generation,
            },
        );
        Some(handle)
    }

    /// Removes the room if it is still this incarnation and nothing waits in
    /// its inbox; `true` if it was removed and the actor may stop.
    pub(super) fn remove_if_idle(
        &self,
        room: &RoomId,
        generation: u64,
        inbox: &mpsc::Receiver<RoomCmd>,
    ) -> bool {
        let mut rooms = self.lock();
        if !inbox.is_empty() {
            return false;
        }
        if rooms
            .get(room)
            .is_some_and(|slot| slot.generation == generation)
        {
            rooms.remove(room);
        }
        true
    }

    /// Removes the room if it is still this incarnation.
    pub(super) fn remove(&self, room: &RoomId, generation: u64) {
        let mut rooms = self.lock();
        if rooms
            .get(room)
            .is_some_and(|slot| slot.generation == generation)
        {
            rooms.remove(room);
        }
    }

    /// Takes one of the bounded per-room metrics label slots, if one is free.
    pub(super) fn take_label_slot(&self) -> bool {
        let max = self.settings.labelled_rooms;
        self.labelled
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .is_ok()
    }

    /// Gives a label slot back.
    pub(super) fn release_label_slot(&self) {
        self.labelled.fetch_sub(1, Ordering::AcqRel);
    }

    /// Number of rooms in memory.
    pub fn loaded(&self) -> usize {
        self.lock().len()
    }

    /// Whether `room` is in memory.
    pub fn is_loaded(&self, room: &RoomId) -> bool {
        self.lock().contains_key(room)
    }

    /// Waits for every room task to finish (after shutdown was signalled).
    pub async fn wait_stopped(&self) {
        self.tracker.close();
        self.tracker.wait().await;
    }
}
