//! The copy of a document kept in the browser's IndexedDB, so edits made
//! offline survive a reload, a closed tab or a crashed one: every
//! transaction is appended as it happens, read before the socket opens. The
//! state-vector exchange on the next connection merges it with the server's
//! copy, duplicating nothing.
//!
//! Layout (database `tandem`, version 1):
//!
//! - `updates`: key `[room, id]` (`id` random), value the bytes of a yrs v1
//!   update. A room's copy is the merge of all its records.
//! - `unsaved`: key `room`, value `true` while the copy may hold edits the
//!   server has not acknowledged, so a reload knows to show "unsaved".
//!
//! **No edit lives only in memory.** Each of this person's transactions
//! (typing, undo, redo) and each update from the server is appended in its
//! own readwrite transaction, issued and explicitly committed (`commit()`)
//! in the same browser task that made the edit, before the page can paint
//! it or handle anything else. A local record sets the `unsaved` flag in the
//! same transaction, so the copy and its flag are never out of step: a page
//! whose copy lost a record lost its flag with it. Explicit commit matters:
//! Chromium aborts a transaction that is waiting to auto-commit when its
//! page goes away, but finishes one whose `commit()` it has received, even
//! when the tab is force-closed (Chromium's own browser test
//! `content/test/data/indexeddb/blocked_explicit_commit.js` checks exactly
//! that; the W3C explainer for `commit()` names saving state on unload as its
//! purpose). What remains is the browser process writing the transaction to
//! disk, which survives the page; only a crash of the whole browser or the
//! machine within those milliseconds could lose it. So there is no flush on
//! `pagehide`: nothing is left to flush. `e2e/tests/offline.rs` reloads
//! right after typing, twenty times, in one tab and across two.
//!
//! The rest is upkeep, in one transaction at a time, [`UPKEEP_MS`] after the
//! last append (and when the acknowledged state changes): merge the records
//! other tabs appended, compact, and set or clear the flag. All tabs of a
//! browser share the records of a room; appending never overwrites another
//! tab's edits, and what another tab stored reaches this tab's text (and the
//! server) at the next upkeep. The flag is cleared only when the server
//! acknowledged all of this tab's edits *and* the merge added nothing; when
//! it added something, the flag stays until those edits are acknowledged
//! too. During an IME composition the document cannot take a merge: the
//! records stay unseen until a later upkeep. An upkeep that the page's end
//! cuts short is aborted whole: it only ever replaces records with their
//! equivalent.
//!
//! Compaction keeps a room's records few: past [`COMPACT_AT`], the small
//! records are merged into one beside the largest (yrs `merge_updates_v1`,
//! cheap for a few small updates), or, once they add up to more than the
//! largest, everything is replaced by the document's state. A long session
//! of typing on a large document so rewrites it only each time its records
//! double, not every 32 keystrokes.
//!
//! Copies left in `localStorage` (base64) by earlier versions are moved into
//! IndexedDB once, on the first page load that can, then removed there.
//! When the browser refuses storage or it is full, [`StorageProblem`] says so
//! on the page, beside the save state; an append that failed is made good by
//! the next upkeep, which appends the whole state.

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

/// How long after the last append the upkeep runs (merge other tabs'
/// records, compact, flag). Nothing waits on it to be kept.
const UPKEEP_MS: u32 = 300;

/// A room's records are compacted once an upkeep finds more than this many.
/// Small enough that a load merges few updates, large enough that typing
/// rarely compacts.
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
    /// The records, id and v1 update, in any order (they commute).
    pub(crate) records: Vec<(u64, Vec<u8>)>,
    /// Whether they may hold edits the server never acknowledged.
    pub(crate) unsaved: bool,
}

/// Who made an appended update, which decides the flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Made {
    /// This person, in this tab: the server may not have it.
    Here,
    /// The server sent it: kept so that later local records, which build on
    /// it, still read on a reload made offline.
    Server,
}

/// The stored copy of one room's document.
pub(crate) struct LocalCopy {
    /// Shared with the pending timer callback and running upkeeps.
    writer: Rc<Writer>,
    /// The pending upkeep; dropping it cancels it.
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
    /// An append failed: the copy lacks something the document has, and the
    /// next upkeep appends the whole state.
    behind: Cell<bool>,
    /// Records already in the document (read, merged or appended here).
    seen: RefCell<HashSet<u64>>,
    /// An upkeep is running; `again` asks it for one more round, so upkeeps
    /// of one tab never overlap.
    running: Cell<bool>,
    again: Cell<bool>,
    /// What the page shows when storing fails, and its last value.
    problem: RwSignal<Option<StorageProblem>>,
    shown: Cell<Option<StorageProblem>>,
}

impl Writer {
    fn report(&self, problem: Option<StorageProblem>) {
        if self.shown.replace(problem) != problem {
            self.problem.set(problem);
        }
    }

    fn failed(&self, e: &IdbError) {
        if self.shown.get().is_none() {
            leptos::logging::warn!("offline copy not saved: {e}");
        }
        self.report(Some(StorageProblem::of(e)));
    }

    /// Appends `update` in a transaction of its own, committed before this
    /// returns to the browser (see the module doc): a local one sets the
    /// flag in the same transaction.
    fn append(self: &Rc<Self>, update: &[u8], made: Made) {
        let Some(db) = &self.db else {
            return;
        };
        if made == Made::Here {
            self.unsaved.set(true);
        }
        let id = new_id();
        let issued = transaction(db, IdbTransactionMode::Readwrite).and_then(|tx| {
            store(&tx, UPDATES)?
                .add_with_key(&Uint8Array::from(update), &record_key(&self.room, id))
                .map_err(IdbError::thrown)?;
            if made == Made::Here {
                store(&tx, UNSAVED)?
                    .put_with_key(&JsValue::TRUE, &JsValue::from_str(&self.room))
                    .map_err(IdbError::thrown)?;
            }
            commit(&tx)?;
            Ok(tx)
        });
        let tx = match issued {
            Ok(tx) => tx,
            Err(e) => {
                self.behind.set(true);
                self.failed(&e);
                return;
            }
        };
        self.seen.borrow_mut().insert(id);
        let writer = Rc::clone(self);
        wasm_bindgen_futures::spawn_local(async move {
            match idb::done(&tx).await {
                Ok(()) => {
                    if !writer.behind.get() {
                        writer.report(None);
                    }
                }
                Err(e) => {
                    writer.seen.borrow_mut().remove(&id);
                    writer.behind.set(true);
                    writer.failed(&e);
                }
            }
        });
    }

    /// One upkeep, in one transaction.
    async fn upkeep_once(&self) {
        let Some(db) = &self.db else {
            return;
        };
        let result = match transaction(db, IdbTransactionMode::Readwrite) {
            Ok(tx) => self.upkeep_in(&tx).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(()) => self.report(None),
            Err(e) => self.failed(&e),
        }
    }

    async fn upkeep_in(&self, tx: &IdbTransaction) -> Result<(), IdbError> {
        let behind = self.behind.replace(false);
        let filled = self.fill(tx, behind).await;
        let written = match filled {
            Ok(written) => written,
            Err(e) => {
                // Nothing of a half-done upkeep may commit.
                let _ = tx.abort();
                self.behind.set(behind);
                return Err(e);
            }
        };
        let done = idb::done(tx).await;
        match &done {
            Ok(()) => {
                let mut seen = self.seen.borrow_mut();
                seen.retain(|id| !written.removed.contains(id));
                seen.extend(written.added);
            }
            Err(_) => self.behind.set(behind),
        }
        done
    }

    /// Issues the upkeep's requests: the whole state if an append failed,
    /// other tabs' records merged, compaction, the flag.
    async fn fill(&self, tx: &IdbTransaction, behind: bool) -> Result<Written, IdbError> {
        let updates = store(tx, UPDATES)?;
        let mut written = Written::default();
        if behind {
            let id = new_id();
            updates
                .add_with_key(
                    &Uint8Array::from(&self.state()[..]),
                    &record_key(&self.room, id),
                )
                .map_err(IdbError::thrown)?;
            written.added.push(id);
        }
        let range = room_range(&self.room)?;
        let keys: Array = idb::run(updates.get_all_keys_with_key(&range))
            .await?
            .unchecked_into();
        let ids: Vec<u64> = keys.iter().filter_map(|key| id_of(&key)).collect();
        // Whether the document now holds every record of the room.
        let mut complete = true;
        for &id in &ids {
            if self.seen.borrow().contains(&id) || written.added.contains(&id) {
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
            let values: Array = idb::run(updates.get_all_with_key(&range))
                .await?
                .unchecked_into();
            let records: Vec<(u64, Vec<u8>)> = keys
                .iter()
                .zip(values.iter())
                .filter_map(|(key, value)| {
                    Some((id_of(&key)?, value.dyn_into::<Uint8Array>().ok()?.to_vec()))
                })
                .collect();
            let (removed, replacement) = compact(records, || self.state());
            for id in &removed {
                updates
                    .delete(&record_key(&self.room, *id))
                    .map_err(IdbError::thrown)?;
            }
            let id = new_id();
            updates
                .add_with_key(
                    &Uint8Array::from(&replacement[..]),
                    &record_key(&self.room, id),
                )
                .map_err(IdbError::thrown)?;
            written.removed = removed;
            written.added.push(id);
        }
        let flags = store(tx, UNSAVED)?;
        let room = JsValue::from_str(&self.room);
        let flagged = if self.unsaved.get() {
            flags.put_with_key(&JsValue::TRUE, &room)
        } else {
            flags.delete(&room)
        };
        flagged.map_err(IdbError::thrown)?;
        // Every request is issued: let it commit even if the page goes now.
        commit(tx)?;
        Ok(written)
    }

    /// The whole document as one v1 update.
    fn state(&self) -> Vec<u8> {
        self.doc.transact().encode_diff_v1(&StateVector::default())
    }

    /// Runs upkeeps one after the other until none is asked for.
    async fn upkeep(self: Rc<Self>) {
        if self.running.replace(true) {
            self.again.set(true);
            return;
        }
        loop {
            self.upkeep_once().await;
            if !self.again.replace(false) {
                break;
            }
        }
        self.running.set(false);
    }
}

/// What an upkeep changed in the records, applied to `seen` once it commits.
#[derive(Debug, Default)]
struct Written {
    removed: Vec<u64>,
    added: Vec<u64>,
}

/// Commits `tx` now rather than when its last callback returns: the page
/// may go away before that (see the module doc).
fn commit(tx: &IdbTransaction) -> Result<(), IdbError> {
    // web-sys marks `commit` deprecated, but every current browser has it.
    #[allow(deprecated)]
    tx.commit().map_err(IdbError::thrown)
}

/// What compaction does with a room's `records` (id, bytes): the ids to
/// remove and the one record that replaces them. The small records are
/// merged beside the largest while they add up to no more than it;
/// otherwise all of them give way to `state`, the document's (which holds
/// every record: compaction runs only once all are merged).
fn compact(records: Vec<(u64, Vec<u8>)>, state: impl FnOnce() -> Vec<u8>) -> (Vec<u64>, Vec<u8>) {
    let largest = records
        .iter()
        .enumerate()
        .max_by_key(|(_, (_, bytes))| bytes.len())
        .map(|(at, _)| at);
    let Some(largest) = largest else {
        return (Vec::new(), state());
    };
    let rest: Vec<&(u64, Vec<u8>)> = records
        .iter()
        .enumerate()
        .filter(|(at, _)| *at != largest)
        .map(|(_, record)| record)
        .collect();
    let rest_bytes: usize = rest.iter().map(|(_, bytes)| bytes.len()).sum();
    if rest_bytes <= records[largest].1.len() {
        let slices: Vec<&[u8]> = rest.iter().map(|(_, bytes)| bytes.as_slice()).collect();
        if let Ok(merged) = yrs::merge_updates_v1(&slices) {
            return (rest.iter().map(|(id, _)| *id).collect(), merged);
        }
    }
    (records.iter().map(|(id, _)| *id).collect(), state())
}

impl LocalCopy {
    /// The copy of `room`, written from `doc`; each upkeep first brings
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
        let writer = Writer {
            room: room.to_owned(),
            db,
            doc,
            merge,
            unsaved: Cell::new(stored.unsaved),
            behind: Cell::new(false),
            seen: RefCell::new(seen),
            running: Cell::new(false),
            again: Cell::new(false),
            problem,
            shown: Cell::new(None),
        };
        writer.report(refused);
        let copy = Self {
            writer: Rc::new(writer),
            timer: RefCell::new(None),
        };
        let loaded = (!stored.records.is_empty()).then_some(Loaded {
            records: stored.records,
            unsaved: stored.unsaved,
        });
        (copy, loaded)
    }

    /// Removes stored records that turned out to be unreadable (the others
    /// stay: one bad record must not cost the rest).
    pub(crate) fn discard(&self, ids: Vec<u64>) {
        let Some(db) = self.writer.db.clone() else {
            return;
        };
        let room = self.writer.room.clone();
        {
            let mut seen = self.writer.seen.borrow_mut();
            for id in &ids {
                seen.remove(id);
            }
        }
        wasm_bindgen_futures::spawn_local(async move {
            let deleted = async {
                let tx = transaction(&db, IdbTransactionMode::Readwrite)?;
                let updates = store(&tx, UPDATES)?;
                for id in &ids {
                    updates
                        .delete(&record_key(&room, *id))
                        .map_err(IdbError::thrown)?;
                }
                idb::done(&tx).await
            };
            if let Err(e) = deleted.await {
                leptos::logging::warn!("unreadable records of {room} not removed: {e}");
            }
        });
    }

    /// Appends `update`, committed before the browser runs anything else,
    /// and schedules an upkeep.
    pub(crate) fn append(&self, update: &[u8], made: Made) {
        self.writer.append(update, made);
        self.upkeep_soon();
    }

    /// Runs an upkeep [`UPKEEP_MS`] after the last call.
    pub(crate) fn upkeep_soon(&self) {
        let writer = Rc::clone(&self.writer);
        // Replacing the previous timeout cancels it.
        *self.timer.borrow_mut() = Some(Timeout::new(UPKEEP_MS, move || {
            wasm_bindgen_futures::spawn_local(writer.upkeep());
        }));
    }

    /// Records whether the document holds unacknowledged edits. The stored
    /// flag is cleared only once the stored copy holds nothing this document
    /// lacks (see the module doc).
    pub(crate) fn set_unsaved(&self, unsaved: bool) {
        if self.writer.unsaved.replace(unsaved) == unsaved {
            return;
        }
        wasm_bindgen_futures::spawn_local(Rc::clone(&self.writer).upkeep());
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

    /// Updates of one document: a large first one, then `small` keystrokes.
    fn typed(small: usize) -> (Doc, Vec<(u64, Vec<u8>)>) {
        use yrs::{GetString as _, Text as _};
        let doc = tandem_shared::doc::new_doc();
        let text = doc.get_or_insert_text(tandem_shared::doc::CONTENT);
        let mut records = Vec::new();
        let mut id = 0;
        let mut record = |doc: &Doc, before: &StateVector| {
            id += 1;
            (id, doc.transact().encode_diff_v1(before))
        };
        let before = doc.transact().state_vector();
        text.insert(&mut doc.transact_mut(), 0, &"base text ".repeat(400));
        records.push(record(&doc, &before));
        for i in 0..small {
            let before = doc.transact().state_vector();
            let len = text.get_string(&doc.transact()).len() as u32;
            if i % 5 == 4 {
                text.remove_range(&mut doc.transact_mut(), 0, 3);
            } else {
                text.insert(&mut doc.transact_mut(), len, "k");
            }
            records.push(record(&doc, &before));
        }
        (doc, records)
    }

    fn text_of(records: &[Vec<u8>]) -> String {
        use yrs::GetString as _;
        use yrs::updates::decoder::Decode as _;
        let doc = tandem_shared::doc::new_doc();
        let text = doc.get_or_insert_text(tandem_shared::doc::CONTENT);
        for record in records {
            let update = yrs::Update::decode_v1(record).expect("decodes");
            doc.transact_mut().apply_update(update).expect("applies");
        }
        text.get_string(&doc.transact())
    }

    #[test]
    fn compaction_merges_the_small_records_beside_the_largest() {
        use yrs::GetString as _;
        let (doc, records) = typed(40);
        let want = doc
            .get_or_insert_text(tandem_shared::doc::CONTENT)
            .get_string(&doc.transact());
        let base = records[0].clone();
        let (removed, replacement) = compact(records.clone(), || panic!("no full state"));
        assert_eq!(removed.len(), 40, "every record but the largest");
        assert!(!removed.contains(&base.0));
        assert!(replacement.len() < base.1.len());
        assert_eq!(text_of(&[base.1, replacement]), want, "the same document");
    }

    #[test]
    fn compaction_rewrites_the_state_once_the_small_records_outweigh_the_largest() {
        // Forty records of 100 bytes outweigh one of 1,000: merging them
        // would keep as much as rewriting, so the state replaces them all.
        let records: Vec<(u64, Vec<u8>)> = (0..40)
            .map(|id| (id, vec![0u8; 100]))
            .chain(std::iter::once((99, vec![0u8; 1_000])))
            .collect();
        let (removed, replacement) = compact(records, || b"state".to_vec());
        assert_eq!(removed.len(), 41, "all of them");
        assert_eq!(replacement, b"state");
    }
}
