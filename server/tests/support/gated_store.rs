//! A store whose chosen operations wait while a gate is shut, for tests
//! that hold the server up inside the store: what was received stays
//! unacknowledged while appends wait; a history request stays unanswered
//! while version listing waits. Everything else goes straight through.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use tandem_server::links::Link;
use tandem_server::store::{
    NewVersion, RoomLinks, RoomSummary, Store, StoreError, StoredRoom, Version,
};
use tandem_shared::RoomId;

/// Which operations wait at the gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    /// `append`: the commits behind `saved`.
    Appends,
    /// `list_versions`: the version history's list.
    VersionLists,
}

/// A store around `inner` whose [`Held`] operations wait while the gate is
/// shut.
#[derive(Debug)]
pub struct GatedStore {
    inner: Arc<dyn Store>,
    held: Held,
    /// The gate, and how many calls wait at it. A std mutex: the store's
    /// calls run on blocking threads and wait on the condition variable,
    /// never across an await.
    gate: Mutex<Gate>,
    changed: Condvar,
}

#[derive(Debug)]
struct Gate {
    shut: bool,
    waiting: usize,
}

impl GatedStore {
    /// `inner` with `held` operations waiting from the start.
    pub fn shut(inner: Arc<dyn Store>, held: Held) -> Self {
        Self {
            inner,
            held,
            gate: Mutex::new(Gate {
                shut: true,
                waiting: 0,
            }),
            changed: Condvar::new(),
        }
    }

    /// `inner` with the gate open.
    pub fn open(inner: Arc<dyn Store>, held: Held) -> Self {
        let store = Self::shut(inner, held);
        store.open_gate();
        store
    }

    fn lock(&self) -> MutexGuard<'_, Gate> {
        self.gate.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Lets every waiting and later call through.
    pub fn open_gate(&self) {
        self.lock().shut = false;
        self.changed.notify_all();
    }

    /// Makes later calls wait again.
    pub fn shut_gate(&self) {
        self.lock().shut = true;
    }

    /// How many calls wait at the gate now.
    pub fn waiting(&self) -> usize {
        self.lock().waiting
    }

    fn pass(&self, operation: Held) {
        if operation != self.held {
            return;
        }
        let mut gate = self.lock();
        gate.waiting += 1;
        let mut gate = self
            .changed
            .wait_while(gate, |gate| gate.shut)
            .unwrap_or_else(PoisonError::into_inner);
        gate.waiting -= 1;
    }
}

/// Opens the gate when dropped, so a failing test does not leave a store
/// call (and its runtime) waiting forever.
#[derive(Debug)]
pub struct OpenOnDrop(pub Arc<GatedStore>);

impl Drop for OpenOnDrop {
    fn drop(&mut self) {
        self.0.open_gate();
    }
}

impl Store for GatedStore {
    fn load(&self, room: &RoomId) -> Result<StoredRoom, StoreError> {
        self.inner.load(room)
    }

    fn append_with_authors(
        &self,
        room: &RoomId,
        updates: &[&[u8]],
        authors: &tandem_shared::authors::Authorship,
    ) -> Result<u64, StoreError> {
        self.pass(Held::Appends);
        self.inner.append_with_authors(room, updates, authors)
    }

    fn claim(&self, room: &RoomId) -> Result<bool, StoreError> {
        self.inner.claim(room)
    }

    fn compact(&self, room: &RoomId, state: &[u8], through: u64) -> Result<(), StoreError> {
        self.inner.compact(room, state, through)
    }

    fn add_version(&self, room: &RoomId, version: &NewVersion<'_>) -> Result<u64, StoreError> {
        self.inner.add_version(room, version)
    }

    fn list_versions(&self, room: &RoomId) -> Result<Vec<Version>, StoreError> {
        self.pass(Held::VersionLists);
        self.inner.list_versions(room)
    }

    fn version_state(&self, room: &RoomId, id: u64) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.version_state(room, id)
    }

    fn label_version(
        &self,
        room: &RoomId,
        id: u64,
        label: Option<&str>,
    ) -> Result<bool, StoreError> {
        self.inner.label_version(room, id, label)
    }

    fn delete_versions(&self, room: &RoomId, ids: &[u64]) -> Result<usize, StoreError> {
        self.inner.delete_versions(room, ids)
    }

    fn list_rooms(&self) -> Result<Vec<RoomSummary>, StoreError> {
        self.inner.list_rooms()
    }

    fn delete_room(&self, room: &RoomId) -> Result<Option<RoomSummary>, StoreError> {
        self.inner.delete_room(room)
    }

    fn links(&self, room: &RoomId) -> Result<RoomLinks, StoreError> {
        self.inner.links(room)
    }

    fn edit_links(
        &self,
        room: &RoomId,
        edit: &mut dyn FnMut(bool, &mut Vec<Link>) -> bool,
    ) -> Result<Vec<Link>, StoreError> {
        self.inner.edit_links(room, edit)
    }
}
