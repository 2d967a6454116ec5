//! The map of loaded rooms, shared by the registry and the rooms in it.
//!
//! The registry finds or inserts a room in one step under the map's lock, so
//! two connections racing to open the same cold room get the same actor and
//! the room is loaded once. Each inserted room gets a [`Listing`]: the narrow
//! handle through which its actor removes itself, and only itself. Room
//! incarnations are told apart by a generation number, so a stopping room
//! never removes its successor.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tandem_shared::RoomId;
use tokio::sync::mpsc;

use super::handle::RoomHandle;

/// Loaded rooms by name. Cheap to clone: clones share the map.
#[derive(Debug, Clone, Default)]
pub(super) struct RoomTable {
    /// A std mutex: every critical section is a map lookup, insert or
    /// remove (plus, on insert, creating a channel and spawning a task),
    /// never an await.
    rooms: Arc<Mutex<HashMap<RoomId, Entry>>>,
    /// Source of generation numbers.
    next_generation: Arc<AtomicU64>,
}

/// One loaded room.
#[derive(Debug)]
struct Entry {
    /// Given to everyone who looks the room up.
    handle: RoomHandle,
    /// Which incarnation of the room this is.
    generation: u64,
}

/// A room's own entry in the table: lets its actor remove it, and nothing else.
#[derive(Debug)]
pub(super) struct Listing {
    /// The table the room is in.
    table: RoomTable,
    /// The room's name.
    room: RoomId,
    /// Its incarnation, so an old actor cannot remove a newer one.
    generation: u64,
}

impl RoomTable {
    fn lock(&self) -> MutexGuard<'_, HashMap<RoomId, Entry>> {
        // The map is never left half-updated by a panic (single inserts and
        // removes), so a poisoned lock is still safe to use.
        self.rooms
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The handle of `room`; if it is not loaded, `start` starts it (given
    /// the new room's listing) and its handle is inserted, in the same step.
    pub(super) fn get_or_insert(
        &self,
        room: &RoomId,
        start: impl FnOnce(Listing) -> RoomHandle,
    ) -> RoomHandle {
        let mut rooms = self.lock();
        if let Some(entry) = rooms.get(room) {
            return entry.handle.clone();
        }
        let generation = self.next_generation.fetch_add(1, Ordering::Relaxed) + 1;
        let handle = start(Listing {
            table: self.clone(),
            room: room.clone(),
            generation,
        });
        rooms.insert(
            room.clone(),
            Entry {
                handle: handle.clone(),
                generation,
            },
        );
        handle
    }

    /// The handle of `room`, if it is loaded.
    pub(super) fn get(&self, room: &RoomId) -> Option<RoomHandle> {
        self.lock().get(room).map(|entry| entry.handle.clone())
    }

    /// Number of rooms in the table.
    pub(super) fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether `room` is in the table.
    pub(super) fn contains(&self, room: &RoomId) -> bool {
        self.lock().contains_key(room)
    }
}

impl Listing {
    /// Removes the room if nothing waits in its `inbox`, checked under the
    /// table's lock so no new lookup can slip in between; `true` if the room
    /// is no longer listed and its actor may stop.
    pub(super) fn remove_if_idle<T>(&self, inbox: &mpsc::Receiver<T>) -> bool {
        let mut rooms = self.table.lock();
        if !inbox.is_empty() {
            return false;
        }
        self.remove_from(&mut rooms);
        true
    }

    /// Removes the room if it is still this incarnation.
    pub(super) fn remove(&self) {
        self.remove_from(&mut self.table.lock());
    }

    fn remove_from(&self, rooms: &mut HashMap<RoomId, Entry>) {
        if rooms
            .get(&self.room)
            .is_some_and(|entry| entry.generation == self.generation)
        {
            rooms.remove(&self.room);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::super::handle::channel;
    use super::*;

    fn room(name: &str) -> RoomId {
        RoomId::new(name).expect("room")
    }

    /// Inserts `name` if missing; the listing, if a room was started.
    fn open(table: &RoomTable, name: &str) -> Option<Listing> {
        let started = Cell::new(None);
        table.get_or_insert(&room(name), |listing| {
            started.set(Some(listing));
            channel(room(name)).0
        });
        started.into_inner()
    }

    #[test]
    fn a_room_is_started_once() {
        let table = RoomTable::default();
        assert!(open(&table, "a").is_some());
        assert!(open(&table, "a").is_none(), "already loaded");
        assert!(open(&table, "b").is_some());
        assert_eq!(table.len(), 2);
    }

    #[test]
    fn a_stopped_room_never_removes_its_successor() {
        let table = RoomTable::default();
        let first = open(&table, "a").expect("started");
        first.remove();
        assert!(!table.contains(&room("a")));
        let _second = open(&table, "a").expect("started again");
        first.remove();
        assert!(
            table.contains(&room("a")),
            "the old listing removed the new room"
        );
    }

    #[test]
    fn a_room_with_commands_waiting_stays_listed() {
        let table = RoomTable::default();
        let listing = open(&table, "a").expect("started");
        let (tx, inbox) = mpsc::channel(1);
        tx.try_send(()).expect("room in the channel");
        assert!(!listing.remove_if_idle(&inbox));
        assert!(table.contains(&room("a")));
        drop(tx);
        let (_tx, empty) = mpsc::channel::<()>(1);
        assert!(listing.remove_if_idle(&empty));
        assert!(!table.contains(&room("a")));
    }
}
