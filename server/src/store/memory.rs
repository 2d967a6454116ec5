//! An in-memory [`Store`] for tests: the same contract as SQLite, plus
//! counters and failure injection so tests can observe loads and provoke
//! storage errors.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tandem_shared::RoomId;
use tandem_shared::authors::Authorship;

use super::{
    NewVersion, RoomLinks, RoomSummary, Store, StoreError, StoredRoom, Version, link_writes,
};
use crate::links::Link;

/// Rooms kept in a map; nothing survives the process.
#[derive(Debug, Default)]
pub struct MemoryStore {
    /// Per room: snapshot, log with sequence numbers, last sequence number.
    /// A std mutex: every critical section is a few map operations, never an await.
    rooms: Mutex<HashMap<RoomId, MemoryRoom>>,
    /// How many times `load` ran, for the "one load per cold room" tests.
    loads: AtomicU64,
    /// How many `append` calls committed, for the group-commit tests.
    appends: AtomicU64,
    /// When set, `append` and `compact` fail as a broken disk would.
    fail_writes: AtomicBool,
    /// The last version id handed out: ids are unique across rooms and never
    /// reused, as in SQLite.
    last_version: AtomicU64,
}

#[derive(Debug, Default)]
struct MemoryRoom {
    snapshot: Option<Vec<u8>>,
    log: Vec<(u64, Vec<u8>)>,
    last_seq: u64,
    protected: bool,
    /// Versions oldest first, each with its state.
    versions: Vec<(Version, Vec<u8>)>,
    /// When it was last written, compacted or claimed (Unix ms), for the list.
    changed_at: i64,
    /// Whether it was ever written, compacted or claimed: what makes a row
    /// in SQLite's `rooms`, so a room listed here is one listed there.
    listed: bool,
    /// Its share links, oldest first (empty until they are first changed).
    links: Vec<Link>,
    /// Who wrote what (see [`Store::append_with_authors`]).
    authors: Authorship,
}

impl MemoryRoom {
    fn summary(&self, room: &RoomId) -> RoomSummary {
        let log_bytes: usize = self.log.iter().map(|(_, u)| u.len()).sum();
        RoomSummary {
            room: room.clone(),
            protected: self.protected,
            bytes: (self.snapshot.as_ref().map_or(0, Vec::len) + log_bytes) as u64,
            updates: self.last_seq,
            log_updates: self.log.len() as u64,
            changed_at: self.changed_at,
            versions: self.versions.len() as u64,
        }
    }
}

/// Now, in Unix milliseconds.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl MemoryStore {
    /// Total `load` calls so far.
    pub fn loads(&self) -> u64 {
        self.loads.load(Ordering::SeqCst)
    }

    /// Total successful `append` calls so far (each one a "transaction").
    pub fn appends(&self) -> u64 {
        self.appends.load(Ordering::SeqCst)
    }

    /// Makes every later write fail (or succeed again).
    pub fn fail_writes(&self, fail: bool) {
        self.fail_writes.store(fail, Ordering::SeqCst);
    }

    /// Number of log entries currently held for `room`.
    pub fn log_len(&self, room: &RoomId) -> usize {
        self.lock().get(room).map_or(0, |r| r.log.len())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<RoomId, MemoryRoom>> {
        // A panic while holding this lock can only come from a bug in this
        // file; the map itself is never left half-updated, so keep going.
        self.rooms
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn check_writable(&self) -> Result<(), StoreError> {
        if self.fail_writes.load(Ordering::SeqCst) {
            Err(StoreError::Injected)
        } else {
            Ok(())
        }
    }
}

impl Store for MemoryStore {
    fn load(&self, room: &RoomId) -> Result<StoredRoom, StoreError> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        Ok(self
            .lock()
            .get(room)
            .map_or_else(StoredRoom::default, |r| StoredRoom {
                snapshot: r.snapshot.clone(),
                updates: r.log.iter().map(|(_, u)| u.clone()).collect(),
                last_seq: r.last_seq,
                protected: r.protected,
                authors: r.authors.clone(),
            }))
    }

    fn append_with_authors(
        &self,
        room: &RoomId,
        updates: &[&[u8]],
        authors: &Authorship,
    ) -> Result<u64, StoreError> {
        self.check_writable()?;
        let mut rooms = self.lock();
        let entry = rooms.entry(room.clone()).or_default();
        entry.authors.merge(authors.clone());
        for update in updates {
            entry.last_seq += 1;
            entry.log.push((entry.last_seq, update.to_vec()));
        }
        entry.listed = true;
        if !updates.is_empty() {
            entry.changed_at = now_ms();
        }
        self.appends.fetch_add(1, Ordering::SeqCst);
        Ok(entry.last_seq)
    }

    fn claim(&self, room: &RoomId) -> Result<bool, StoreError> {
        self.check_writable()?;
        let mut rooms = self.lock();
        let entry = rooms.entry(room.clone()).or_default();
        entry.listed = true;
        if entry.last_seq > 0 || entry.snapshot.is_some() || entry.protected {
            return Ok(false);
        }
        entry.protected = true;
        entry.changed_at = now_ms();
        Ok(true)
    }

    fn compact(&self, room: &RoomId, state: &[u8], through: u64) -> Result<(), StoreError> {
        self.check_writable()?;
        let mut rooms = self.lock();
        let entry = rooms.entry(room.clone()).or_default();
        entry.snapshot = Some(state.to_vec());
        entry.log.retain(|(seq, _)| *seq > through);
        entry.last_seq = entry.last_seq.max(through);
        entry.changed_at = now_ms();
        entry.listed = true;
        Ok(())
    }

    fn add_version(&self, room: &RoomId, version: &NewVersion<'_>) -> Result<u64, StoreError> {
        self.check_writable()?;
        let mut rooms = self.lock();
        let id = self.last_version.fetch_add(1, Ordering::SeqCst) + 1;
        rooms.entry(room.clone()).or_default().versions.push((
            Version {
                id,
                at: version.at,
                authors: version.authors.to_vec(),
                label: version.label.map(str::to_string),
                kind: version.kind,
                restored_from: version.restored_from,
                changes: version.changes.to_vec(),
            },
            version.state.to_vec(),
        ));
        Ok(id)
    }

    fn list_versions(&self, room: &RoomId) -> Result<Vec<Version>, StoreError> {
        Ok(self.lock().get(room).map_or_else(Vec::new, |r| {
            r.versions.iter().rev().map(|(v, _)| v.clone()).collect()
        }))
    }

    fn version_state(&self, room: &RoomId, id: u64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.lock().get(room).and_then(|r| {
            r.versions
                .iter()
                .find(|(v, _)| v.id == id)
                .map(|(_, state)| state.clone())
        }))
    }

    fn label_version(
        &self,
        room: &RoomId,
        id: u64,
        label: Option<&str>,
    ) -> Result<bool, StoreError> {
        self.check_writable()?;
        let mut rooms = self.lock();
        let found = rooms
            .get_mut(room)
            .and_then(|r| r.versions.iter_mut().find(|(v, _)| v.id == id));
        Ok(found.is_some_and(|(v, _)| {
            v.label = label.map(str::to_string);
            true
        }))
    }

    fn delete_versions(&self, room: &RoomId, ids: &[u64]) -> Result<usize, StoreError> {
        self.check_writable()?;
        let mut rooms = self.lock();
        let Some(entry) = rooms.get_mut(room) else {
            return Ok(0);
        };
        let before = entry.versions.len();
        entry.versions.retain(|(v, _)| !ids.contains(&v.id));
        Ok(before - entry.versions.len())
    }

    fn list_rooms(&self) -> Result<Vec<RoomSummary>, StoreError> {
        let mut rooms: Vec<RoomSummary> = self
            .lock()
            .iter()
            .filter(|(_, stored)| stored.listed)
            .map(|(room, stored)| stored.summary(room))
            .collect();
        rooms.sort_by(|a, b| a.room.as_str().cmp(b.room.as_str()));
        Ok(rooms)
    }

    fn delete_room(&self, room: &RoomId) -> Result<Option<RoomSummary>, StoreError> {
        self.check_writable()?;
        Ok(self.lock().remove(room).map(|stored| stored.summary(room)))
    }

    fn links(&self, room: &RoomId) -> Result<RoomLinks, StoreError> {
        Ok(self
            .lock()
            .get(room)
            .map_or_else(RoomLinks::default, |r| RoomLinks {
                protected: r.protected,
                links: r.links.clone(),
            }))
    }

    fn edit_links(
        &self,
        room: &RoomId,
        edit: &mut dyn FnMut(bool, &mut Vec<Link>) -> bool,
    ) -> Result<Vec<Link>, StoreError> {
        // The map's lock is held throughout: no other change interleaves.
        let mut rooms = self.lock();
        let (protected, before) = rooms
            .get(room)
            .map_or((false, Vec::new()), |r| (r.protected, r.links.clone()));
        let mut after = before.clone();
        if !edit(protected, &mut after) {
            return Ok(before);
        }
        link_writes(&before, &after)?;
        self.check_writable()?;
        rooms.entry(room.clone()).or_default().links = after.clone();
        Ok(after)
    }
}
