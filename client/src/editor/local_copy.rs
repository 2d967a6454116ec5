//! The copy of a document kept in the browser's IndexedDB, so edits made
//! offline survive a reload: written about 300 ms after the last change and
//! when the page is hidden, read before the socket opens. The state-vector
//! exchange on the next connection merges it with the server's copy,
//! duplicating nothing.
//!
//! Layout (database `tandem`, version 1):
//!
//! - `updates`: key `[room, id]` (`id` random), value the bytes of a yrs v1
//!   update. A room's copy is the merge of all its records. A write appends
//!   only what the document gained since the last write (incremental: a
//!   keystroke on a large document stores bytes, not the document), and
//!   after [`COMPACT_AT`] records one write replaces them all with the full
//!   state, in the same transaction.
//! - `unsaved`: key `room`, value `true` while the copy may hold edits the
//!   server has not acknowledged, so a reload knows to show "unsaved".
//!
//! All tabs of a browser share the records of a room, and a tab closed while
//! offline leaves edits nowhere else. Appending never overwrites another
//! tab's edits; and every write also reads the records this tab has not seen
//! and merges them into its document, so what another tab stored reaches
//! this tab's text (and the server) without a reload. The `unsaved` flag is
//! cleared only when the server acknowledged all of this tab's edits *and*
//! the merge added nothing; when it added something, the flag stays until
//! those edits are acknowledged too. During an IME composition the document
//! cannot take a merge: the records stay unseen until a later write.
//!
//! Copies left in `localStorage` (base64) by earlier versions are moved into
//! IndexedDB once, on the first page load that can, then removed there.
//! When the browser refuses storage or it is full, [`StorageProblem`] says so
//! on the page, beside the save state.

use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::rc::Rc;

use gloo_timers::callback::Timeout;
use js_sys::{Array, Uint8Array};
use leptos::prelude::{RwSignal, Set};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{IdbDatabase, IdbKeyRange, IdbTransaction, IdbTransactionMode};
use yrs::{Doc, ReadTxn, StateVector, Transact};

use crate::idb::{self, IdbError};
use crate::random::random_u64;
use crate::storage;

/// How long after the last change the copy is written.
const DEBOUNCE_MS: u32 = 300;

/// A room's records are compacted into one once a write finds this many.
/// Small enough that a load merges few updates, large enough that typing on
/// a big document rarely re-stores all of it.
const COMPACT_AT: usize = 32;

const DB_NAME: &str = "tandem";
const DB_VERSION: u32 = 1;
const UPDATES: &str = "updates";
const UNSAVED: &str = "unsaved";

/// What merging stored records into this tab's document came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Merged {
    /// The document already held everything the record holds.
    Nothing,
    /// The record held edits the document lacked; they are in it now, and
    /// on their way to the server.
    Added,
    /// The document cannot take it now (an IME composition).
    NotNow,
}

/// Merges a stored record (a v1 update) into the live document.
pub(crate) type MergeStored = Box<dyn Fn(&[u8]) -> Merged>;

/// Why the offline copy is not being kept, in the words the page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StorageProblem {
    /// The browser refuses to store anything for this site (private
    /// browsing, blocked site data, no IndexedDB).
    Refused,
    /// The browser's storage for this site is full.
    Full,
    /// Storing failed for another reason (a disk error).
    Failed,
}

impl StorageProblem {
    fn of(e: &IdbError) -> Self {
        match e {
            IdbError::Unavailable(_) => Self::Refused,
            IdbError::QuotaExceeded(_) => Self::Full,
            IdbError::Failed(_) => Self::Failed,
        }
    }

    /// `data-state` of the page's indicator.
    pub(crate) fn key(self) -> &'static str {
        match self {
            Self::Refused => "refused",
            Self::Full => "full",
            Self::Failed => "failed",
        }
    }

    /// The short label beside the save state.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::Refused => "Not kept in this browser",
            Self::Full => "Browser storage full",
            Self::Failed => "Not kept in this browser",
        }
    }

    /// The full explanation (hover, screen readers).
    pub(crate) fn explain(self) -> &'static str {
        match self {
            Self::Refused => {
                "This browser does not let Tandem keep a copy of the document (private \
                 browsing or blocked site data). Edits reach the server while you are \
                 connected, but edits made offline are lost if this page is closed or reloaded."
            }
            Self::Full => {
                "This browser's storage for this site is full, so the copy kept for working \
                 offline is out of date. Edits reach the server while you are connected; \
                 free some space (or clear other sites' data) to keep offline edits across \
                 a reload."
            }
            Self::Failed => {
                "This browser could not store the copy of the document kept for working \
                 offline. Edits reach the server while you are connected, but edits made \
                 offline are lost if this page is closed or reloaded."
            }
        }
    }
}

/// What was stored for a room when the page opened it.
pub(crate) struct StoredCopy {
    /// The database, or why there is none.
    db: Result<IdbDatabase, StorageProblem>,
    /// The room's records: id and bytes.
    records: Vec<(u64, Vec<u8>)>,
    /// Whether the copy may hold edits the server never acknowledged.
    unsaved: bool,
}

impl StoredCopy {
    /// Opens the database (moving copies left in `localStorage` by earlier
    /// versions into it, once) and reads `room`'s copy.
    pub(crate) async fn read(room: &str) -> Self {
        let db = match idb::open(DB_NAME, DB_VERSION, create_stores).await {
            Ok(db) => db,
            Err(e) => {
                leptos::logging::warn!("offline copy unavailable: {e}");
                return Self {
                    db: Err(StorageProblem::of(&e)),
                    records: Vec::new(),
                    unsaved: false,
                };
            }
        };
        if let Err(e) = migrate_legacy(&db).await {
            // The old copies stay where they are; the next load tries again.
            leptos::logging::warn!("copies in localStorage not moved: {e}");
        }
        let (records, unsaved) = match read_room(&db, room).await {
            Ok(read) => read,
            Err(e) => {
                // The database opened, so later writes may still work.
                leptos::logging::warn!("offline copy of {room} not read: {e}");
                (Vec::new(), false)
            }
        };
        Self {
            db: Ok(db),
            records,
            unsaved,
        }
    }
}

/// Version 1 of the schema (see the module doc).
fn create_stores(db: &IdbDatabase) -> Result<(), JsValue> {
    db.create_object_store(UPDATES)?;
    db.create_object_store(UNSAVED)?;
    Ok(())
}

fn record_key(room: &str, id: u64) -> JsValue {
    // Ids have 53 bits, so the `f64` holds them exactly.
    Array::of2(&JsValue::from_str(room), &JsValue::from_f64(id as f64)).into()
}

fn id_of(key: &JsValue) -> Option<u64> {
    let id = key.dyn_ref::<Array>()?.get(1).as_f64()?;
    Some(id as u64)
}

/// A new record id: random, so tabs appending at once never collide.
fn new_id() -> u64 {
    random_u64() >> 11
}

/// Every key `[room, id]`: numbers sort below arrays, so `[room, []]` is
/// above them all and `[room]` below.
fn room_range(room: &str) -> Result<IdbKeyRange, IdbError> {
    let room = JsValue::from_str(room);
    IdbKeyRange::bound(&Array::of1(&room), &Array::of2(&room, &Array::new()))
        .map_err(IdbError::thrown)
}

fn transaction(db: &IdbDatabase, mode: IdbTransactionMode) -> Result<IdbTransaction, IdbError> {
    let stores = Array::of2(&JsValue::from_str(UPDATES), &JsValue::from_str(UNSAVED));
    db.transaction_with_str_sequence_and_mode(&stores, mode)
        .map_err(IdbError::thrown)
}

fn store(tx: &IdbTransaction, name: &str) -> Result<web_sys::IdbObjectStore, IdbError> {
    tx.object_store(name).map_err(IdbError::thrown)
}

async fn read_room(db: &IdbDatabase, room: &str) -> Result<(Vec<(u64, Vec<u8>)>, bool), IdbError> {
    let tx = transaction(db, IdbTransactionMode::Readonly)?;
    let updates = store(&tx, UPDATES)?;
    let range = room_range(room)?;
    let keys: Array = idb::run(updates.get_all_keys_with_key(&range))
        .await?
        .unchecked_into();
    let values: Array = idb::run(updates.get_all_with_key(&range))
        .await?
        .unchecked_into();
    let flag = idb::run(store(&tx, UNSAVED)?.get(&JsValue::from_str(room))).await?;
    let records = keys
        .iter()
        .zip(values.iter())
        .filter_map(|(key, value)| {
            let bytes = value.dyn_into::<Uint8Array>().ok()?.to_vec();
            Some((id_of(&key)?, bytes))
        })
        .collect();
    Ok((records, !flag.is_undefined()))
}

/// Moves every copy an earlier version left in `localStorage` into the
/// database, then removes it there. Appending makes it one more record of
/// its room, merged with whatever is there already.
async fn migrate_legacy(db: &IdbDatabase) -> Result<(), IdbError> {
    let legacy = storage::legacy_copies();
    if legacy.is_empty() {
        return Ok(());
    }
    let tx = transaction(db, IdbTransactionMode::Readwrite)?;
    let updates = store(&tx, UPDATES)?;
    let flags = store(&tx, UNSAVED)?;
    for copy in &legacy {
        updates
            .add_with_key(
                &Uint8Array::from(&copy.state[..]),
                &record_key(&copy.room, new_id()),
            )
            .map_err(IdbError::thrown)?;
        if copy.unsaved {
            flags
                .put_with_key(&JsValue::TRUE, &JsValue::from_str(&copy.room))
                .map_err(IdbError::thrown)?;
        }
    }
    idb::done(&tx).await?;
    for copy in &legacy {
        storage::remove_legacy(&copy.room);
    }
    Ok(())
}

/// A room's stored copy, to apply to a fresh document.
pub(crate) struct Loaded {
    /// The records: v1 updates, in any order (they commute).
    pub(crate) records: Vec<Vec<u8>>,
    /// Whether they may hold edits the server never acknowledged.
    pub(crate) unsaved: bool,
}

/// The stored copy of one room's document.
pub(crate) struct LocalCopy {
    /// Shared with the pending timer callback and running writes.
    writer: Rc<Writer>,
    /// The pending debounced write; dropping it cancels it.
    timer: RefCell<Option<Timeout>>,
}

struct Writer {
    room: String,
    /// `None` when the browser refused storage.
    db: Option<IdbDatabase>,
    /// A handle on the live document (yrs docs are cheap to clone).
    doc: Doc,
    /// Merges another tab's record into the live document.
    merge: MergeStored,
    /// Whether the document holds edits the server has not acknowledged.
    unsaved: Cell<bool>,
    /// The document changed since its last record was appended.
    dirty: Cell<bool>,
    /// The document's state vector when its last appended record was
    /// committed: the next record is the diff from there.
    written: RefCell<StateVector>,
    /// Records already in the document (read, merged or written here).
    seen: RefCell<HashSet<u64>>,
    /// A write is running; `again` asks it for one more round, so writes of
    /// one tab never overlap.
    writing: Cell<bool>,
    again: Cell<bool>,
    /// What the page shows when storing fails, and its last value.
    problem: RwSignal<Option<StorageProblem>>,
    shown: Cell<Option<StorageProblem>>,
}

/// What a write appended and where the document stood then.
struct Appended {
    id: u64,
    state_vector: StateVector,
}

impl Writer {
    fn report(&self, problem: Option<StorageProblem>) {
        if self.shown.replace(problem) != problem {
            self.problem.set(problem);
        }
    }

    /// Appends the document's changes since the last record, if any.
    fn append_own(&self, updates: &web_sys::IdbObjectStore) -> Result<Option<Appended>, IdbError> {
        if !self.dirty.replace(false) {
            return Ok(None);
        }
        let (diff, state_vector) = {
            let txn = self.doc.transact();
            // Always carries the whole delete set: deletions do not show in
            // a state vector, so the diff cannot skip them.
            (
                txn.encode_diff_v1(&self.written.borrow()),
                txn.state_vector(),
            )
        };
        let id = new_id();
        let added = updates.add_with_key(&Uint8Array::from(&diff[..]), &record_key(&self.room, id));
        if let Err(e) = added {
            self.dirty.set(true);
            return Err(IdbError::thrown(e));
        }
        self.seen.borrow_mut().insert(id);
        Ok(Some(Appended { id, state_vector }))
    }

    /// One write: append, merge what other tabs stored, compact, set the
    /// flag, commit.
    async fn write_once(&self) {
        let Some(db) = &self.db else {
            return;
        };
        let result = match transaction(db, IdbTransactionMode::Readwrite) {
            Ok(tx) => self.write_in(&tx).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(()) => self.report(None),
            Err(e) => {
                if self.shown.get().is_none() {
                    leptos::logging::warn!("offline copy not saved: {e}");
                }
                self.report(Some(StorageProblem::of(&e)));
            }
        }
    }

    async fn write_in(&self, tx: &IdbTransaction) -> Result<(), IdbError> {
        let filled = self.fill(tx).await;
        let appended = match filled {
            Ok(appended) => appended,
            Err(e) => {
                // Nothing of a half-done write may commit.
                let _ = tx.abort();
                self.dirty.set(true);
                return Err(e);
            }
        };
        match idb::done(tx).await {
            Ok(()) => {
                if let Some(Appended { state_vector, .. }) = appended {
                    *self.written.borrow_mut() = state_vector;
                }
                Ok(())
            }
            Err(e) => {
                if let Some(Appended { id, .. }) = appended {
                    self.seen.borrow_mut().remove(&id);
                    self.dirty.set(true);
                }
                Err(e)
            }
        }
    }

    async fn fill(&self, tx: &IdbTransaction) -> Result<Option<Appended>, IdbError> {
        let updates = store(tx, UPDATES)?;
        let mut appended = self.append_own(&updates)?;
        let range = room_range(&self.room)?;
        let keys: Array = idb::run(updates.get_all_keys_with_key(&range))
            .await?
            .unchecked_into();
        let ids: Vec<u64> = keys.iter().filter_map(|key| id_of(&key)).collect();
        // Whether the document now holds every record of the room.
        let mut complete = true;
        for &id in &ids {
            if self.seen.borrow().contains(&id) {
                continue;
            }
            let value = idb::run(updates.get(&record_key(&self.room, id))).await?;
            if let Some(bytes) = value.dyn_ref::<Uint8Array>() {
                match (self.merge)(&bytes.to_vec()) {
                    Merged::Nothing => {}
                    Merged::Added => self.unsaved.set(true),
                    Merged::NotNow => {
                        complete = false;
                        break;
                    }
                }
            }
            self.seen.borrow_mut().insert(id);
        }
        if !complete {
            // Another tab's edits may be in the copy only.
            self.unsaved.set(true);
        } else if ids.len() > COMPACT_AT {
            updates.delete(&range).map_err(IdbError::thrown)?;
            let (state, state_vector) = {
                let txn = self.doc.transact();
                (
                    txn.encode_diff_v1(&StateVector::default()),
                    txn.state_vector(),
                )
            };
            let id = new_id();
            updates
                .add_with_key(&Uint8Array::from(&state[..]), &record_key(&self.room, id))
                .map_err(IdbError::thrown)?;
            *self.seen.borrow_mut() = HashSet::from([id]);
            appended = Some(Appended { id, state_vector });
        }
        let flags = store(tx, UNSAVED)?;
        let room = JsValue::from_str(&self.room);
        let flagged = if self.unsaved.get() {
            flags.put_with_key(&JsValue::TRUE, &room)
        } else {
            flags.delete(&room)
        };
        flagged.map_err(IdbError::thrown)?;
        Ok(appended)
    }

    /// Runs writes one after the other until none is asked for.
    async fn write(self: Rc<Self>) {
        if self.writing.replace(true) {
            self.again.set(true);
            return;
        }
        loop {
            self.write_once().await;
            if !self.again.replace(false) {
                break;
            }
        }
        self.writing.set(false);
    }

    /// Appends the changes in one transaction issued now and committed at
    /// once, with no callback to wait for: the page may be going away.
    fn flush(self: &Rc<Self>) {
        let Some(db) = &self.db else {
            return;
        };
        if !self.dirty.get() {
            return;
        }
        let started = transaction(db, IdbTransactionMode::Readwrite).and_then(|tx| {
            let appended = self.append_own(&store(&tx, UPDATES)?)?;
            if self.unsaved.get() {
                store(&tx, UNSAVED)?
                    .put_with_key(&JsValue::TRUE, &JsValue::from_str(&self.room))
                    .map_err(IdbError::thrown)?;
            }
            // web-sys marks `commit` deprecated, but every current browser
            // has it, and it is what lets the write finish without this
            // page's callbacks.
            #[allow(deprecated)]
            tx.commit().map_err(IdbError::thrown)?;
            Ok((tx, appended))
        });
        let (tx, appended) = match started {
            Ok(started) => started,
            Err(e) => {
                self.dirty.set(true);
                leptos::logging::warn!("offline copy not saved: {e}");
                return;
            }
        };
        let writer = Rc::clone(self);
        wasm_bindgen_futures::spawn_local(async move {
            let done = idb::done(&tx).await;
            match (done, appended) {
                (Ok(()), Some(Appended { state_vector, .. })) => {
                    *writer.written.borrow_mut() = state_vector;
                }
                (Ok(()), None) => {}
                (Err(e), appended) => {
                    if let Some(Appended { id, .. }) = appended {
                        writer.seen.borrow_mut().remove(&id);
                    }
                    writer.dirty.set(true);
                    writer.report(Some(StorageProblem::of(&e)));
                }
            }
        });
    }
}

impl LocalCopy {
    /// The copy of `room`, written from `doc`; each write first brings
    /// other tabs' records into `doc` through `merge`. Returns it with the
    /// stored records (v1 updates, applied in any order: they commute) and
    /// whether they may hold edits the server never acknowledged; `problem`
    /// shows when storing fails.
    pub(crate) fn new(
        room: &str,
        doc: Doc,
        merge: MergeStored,
        stored: StoredCopy,
        problem: RwSignal<Option<StorageProblem>>,
    ) -> (Self, Option<Loaded>) {
        let (db, refused) = match stored.db {
            Ok(db) => (Some(db), None),
            Err(p) => (None, Some(p)),
        };
        let seen = stored.records.iter().map(|(id, _)| *id).collect();
        let records: Vec<Vec<u8>> = stored.records.into_iter().map(|(_, b)| b).collect();
        let writer = Writer {
            room: room.to_owned(),
            db,
            doc,
            merge,
            unsaved: Cell::new(stored.unsaved),
            dirty: Cell::new(false),
            written: RefCell::new(StateVector::default()),
            seen: RefCell::new(seen),
            writing: Cell::new(false),
            again: Cell::new(false),
            problem,
            shown: Cell::new(None),
        };
        writer.report(refused);
        let copy = Self {
            writer: Rc::new(writer),
            timer: RefCell::new(None),
        };
        let loaded = (!records.is_empty()).then_some(Loaded {
            records,
            unsaved: stored.unsaved,
        });
        (copy, loaded)
    }

    /// The stored state is in the document now: later records need only
    /// what it gains.
    pub(crate) fn loaded(&self) {
        *self.writer.written.borrow_mut() = self.writer.doc.transact().state_vector();
    }

    /// Drops a stored copy that turned out to be unreadable.
    pub(crate) fn discard(&self) {
        let Some(db) = self.writer.db.clone() else {
            return;
        };
        self.writer.seen.borrow_mut().clear();
        self.writer.unsaved.set(false);
        let room = self.writer.room.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let deleted = async {
                let tx = transaction(&db, IdbTransactionMode::Readwrite)?;
                store(&tx, UPDATES)?
                    .delete(&room_range(&room)?.into())
                    .map_err(IdbError::thrown)?;
                store(&tx, UNSAVED)?
                    .delete(&JsValue::from_str(&room))
                    .map_err(IdbError::thrown)?;
                idb::done(&tx).await
            };
            if let Err(e) = deleted.await {
                leptos::logging::warn!("unreadable copy of {room} not removed: {e}");
            }
        });
    }

    /// Writes the copy [`DEBOUNCE_MS`] after the last call.
    pub(crate) fn schedule(&self) {
        self.writer.dirty.set(true);
        let writer = Rc::clone(&self.writer);
        // Replacing the previous timeout cancels it.
        *self.timer.borrow_mut() = Some(Timeout::new(DEBOUNCE_MS, move || {
            wasm_bindgen_futures::spawn_local(writer.write());
        }));
    }

    /// Writes the copy now (page hidden or closed).
    pub(crate) fn flush(&self) {
        self.timer.borrow_mut().take();
        self.writer.flush();
    }

    /// Records whether the document holds unacknowledged edits. The stored
    /// flag is cleared only once the stored copy holds nothing this document
    /// lacks (see the module doc).
    pub(crate) fn set_unsaved(&self, unsaved: bool) {
        if self.writer.unsaved.replace(unsaved) == unsaved {
            return;
        }
        wasm_bindgen_futures::spawn_local(Rc::clone(&self.writer).write());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_storage_failure_is_said_in_plain_words() {
        let cases = [
            (
                IdbError::Unavailable("SecurityError".into()),
                "refused",
                "Not kept in this browser",
            ),
            (
                IdbError::QuotaExceeded("quota".into()),
                "full",
                "Browser storage full",
            ),
            (
                IdbError::Failed("UnknownError".into()),
                "failed",
                "Not kept in this browser",
            ),
        ];
        for (error, key, label) in cases {
            let problem = StorageProblem::of(&error);
            assert_eq!((problem.key(), problem.label()), (key, label), "{error}");
            assert!(
                problem.explain().contains("offline"),
                "{key}: the explanation says what it means for offline edits"
            );
        }
    }
}
