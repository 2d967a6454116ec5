//! The local replica of a room's document: the yrs [`Doc`] laid out as
//! `tandem_shared::doc` says, and the rules that tell local edits (sent to the
//! server, undoable) from remote ones (applied quietly, never echoed back).
//!
//! Every transaction that is not remote produces exactly one v1 update on the
//! channel returned by [`Replica::new`]; the connection task reads it and
//! decides whether to send it now or let the next sync step 2 carry it. No
//! DOM here, so this is tested natively.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures_channel::mpsc::{self, UnboundedReceiver};
use tandem_shared::doc;
use yrs::undo::{Options as UndoOptions, UndoManager};
use yrs::updates::decoder::Decode;
use yrs::{
    Assoc, Doc, GetString, IndexedSequence, Observable, Origin, ReadTxn, StateVector, StickyIndex,
    Text, TextRef, Transact, Update,
};

use tandem_shared::authors::{self, ItemSpan, Step};

use super::changes::{self, TextChange};
use super::field::Field;
use crate::error::ClientError;
use tandem_shared::splice::Splice;

/// Origin of transactions made by this person through the page.
const LOCAL_ORIGIN: &str = "tandem:local";
/// Origin of updates received from the server or loaded from storage.
const REMOTE_ORIGIN: &str = "tandem:remote";
/// Origin of edits merged from the local copy another tab wrote: sent to
/// the server like local edits (it may not have them), never undoable.
const STORED_ORIGIN: &str = "tandem:stored";
/// Key of the update observer that feeds the outgoing channel.
const OUTBOX_KEY: &str = "tandem:outbox";
/// Key of the text observers that describe each transaction's changes.
const CHANGES_KEY: &str = "tandem:changes";
/// Key of the body observer that tells the authorship's pieces what each
/// transaction did (see `crate::authors`).
const AUTHORS_KEY: &str = "tandem:authors";
/// Origin of the write transaction that reads the body's items (it changes
/// nothing, see `tandem_shared::authors::item_spans`).
const READING_ORIGIN: &str = "tandem:reading";
/// Edits closer together than this undo as one step.
const UNDO_CAPTURE_MS: u64 = 500;

/// One local transaction, as the connection task sends it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LocalUpdate {
    /// The transaction's v1 update: the payload of one `update` frame.
    pub(crate) update: Vec<u8>,
    /// What it changed, from the transaction's text events (for the inspector).
    pub(crate) changes: Vec<TextChange>,
}

/// This person's updates not yet appended to the offline copy: the outbox
/// observer pushes each one as its transaction commits, and the page takes
/// them before it returns to the browser (see [`Replica::take_unstored`]).
/// A std `Mutex` for the same reason as [`PendingChanges`].
type Unstored = Arc<Mutex<Vec<Vec<u8>>>>;

/// Changes seen by the text observers of the transaction being committed.
/// yrs calls type observers before update observers, so the outbox observer
/// (local) or [`Replica::apply_remote`] (remote) takes them for that same
/// transaction. A std `Mutex` because yrs's `sync` feature makes observers
/// `Send + Sync`; there is one thread, so it is never contended.
type PendingChanges = Arc<Mutex<Vec<TextChange>>>;

/// What one transaction did to the body, for the authorship's pieces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BodyEdit {
    /// Its steps, its insertions written with one client id, from `clock`.
    Steps {
        /// What it did, in order.
        steps: Vec<Step>,
        /// The client id of everything it inserted.
        client: u64,
        /// A clock of its insertions (the first).
        clock: u32,
    },
    /// It brought several writers' items at once (a sync step 2, a merged
    /// copy): the body is read again.
    Reread,
}

/// The body edits not yet taken; a std `Mutex` as [`PendingChanges`] is.
type BodyEdits = Arc<Mutex<Vec<BodyEdit>>>;

/// The room's document as this tab holds it.
pub(crate) struct Replica {
    /// The CRDT document; UTF-16 offsets, like the browser's text fields.
    doc: Doc,
    /// Root text `doc::CONTENT`.
    content: TextRef,
    /// Root text `doc::TITLE`.
    title: TextRef,
    /// Marks remote transactions, which the outbox observer skips.
    remote: Origin,
    /// Marks local transactions, the only ones undo managers track.
    local: Origin,
    /// The text changes of the transaction being committed.
    pending: PendingChanges,
    /// This person's updates the offline copy does not hold yet.
    unstored: Unstored,
    /// How many updates went out on the outgoing channel, so the connection
    /// can tell whether any is still queued (see [`Replica::updates_made`]).
    made: Arc<AtomicU64>,
    /// What each transaction did to the body, for who-wrote-what.
    body_edits: BodyEdits,
}

impl std::fmt::Debug for Replica {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replica")
            .field("client_id", &self.doc.client_id())
            .finish()
    }
}

impl Replica {
    /// An empty replica, and the channel that carries each local
    /// transaction's update.
    pub(crate) fn new() -> (Self, UnboundedReceiver<LocalUpdate>) {
        let doc = doc::new_doc();
        let content = doc.get_or_insert_text(doc::CONTENT);
        let title = doc.get_or_insert_text(doc::TITLE);
        let remote = Origin::from(REMOTE_ORIGIN);
        let pending = PendingChanges::default();
        for (field, text) in [(Field::Content, &content), (Field::Title, &title)] {
            let sink = Arc::clone(&pending);
            text.observe(CHANGES_KEY, move |txn, event| {
                let changes = changes::from_delta(field, event.delta(txn));
                if let Ok(mut pending) = sink.lock() {
                    pending.extend(changes);
                }
            });
        }
        let body_edits = BodyEdits::default();
        let sink = Arc::clone(&body_edits);
        content.observe(AUTHORS_KEY, move |txn, event| {
            let mut inserters = txn.insert_set().iter();
            let edit = match (inserters.next(), inserters.next()) {
                (Some((client, ranges)), None) => {
                    ranges
                        .iter()
                        .map(|r| r.start)
                        .min()
                        .map_or(BodyEdit::Reread, |clock| BodyEdit::Steps {
                            steps: authors::steps(event.delta(txn)),
                            client: client.get(),
                            clock,
                        })
                }
                // Only removals: no writer to name.
                (None, _) => BodyEdit::Steps {
                    steps: authors::steps(event.delta(txn)),
                    client: 0,
                    clock: 0,
                },
                _ => BodyEdit::Reread,
            };
            if let Ok(mut edits) = sink.lock() {
                edits.push(edit);
            }
        });
        let (outbox, outgoing) = mpsc::unbounded();
        let skip = remote.clone();
        let stored = Origin::from(STORED_ORIGIN);
        let taken = Arc::clone(&pending);
        let unstored = Unstored::default();
        let to_store = Arc::clone(&unstored);
        let made = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&made);
        // The closure holds only `Send + Sync` values, so it compiles whether
        // or not yrs's `sync` feature is enabled somewhere in the workspace.
        // The channel is unbounded but drained at once by the connection task;
        // it holds at most the updates of one browser task.
        let observed = doc.observe_update_v1(OUTBOX_KEY, move |txn, event| {
            if txn.origin() != Some(&skip) {
                let changes = take(&taken);
                // Merged from the offline copy: already stored there.
                if txn.origin() != Some(&stored)
                    && let Ok(mut unstored) = to_store.lock()
                {
                    unstored.push(event.update.clone());
                }
                counted.fetch_add(1, Ordering::Relaxed);
                // A closed channel means the page is being torn down.
                let _ = outbox.unbounded_send(LocalUpdate {
                    update: event.update.clone(),
                    changes,
                });
            }
        });
        if let Err(e) = observed {
            // Only possible with a transaction open, which a new doc has not.
            leptos::logging::error!("cannot observe document updates: {e}");
        }
        let replica = Self {
            doc,
            content,
            title,
            remote,
            local: Origin::from(LOCAL_ORIGIN),
            pending,
            unstored,
            made,
            body_edits,
        };
        (replica, outgoing)
    }

    fn text(&self, field: Field) -> &TextRef {
        match field {
            Field::Content => &self.content,
            Field::Title => &self.title,
        }
    }

    /// The current text of `field`.
    pub(crate) fn string(&self, field: Field) -> String {
        self.text(field).get_string(&self.doc.transact())
    }

    /// This replica's state vector: what a sync step 1 carries.
    pub(crate) fn state_vector(&self) -> StateVector {
        self.doc.transact().state_vector()
    }

    /// Everything this replica has that a peer with `sv` lacks: a sync step 2.
    pub(crate) fn diff_since(&self, sv: &StateVector) -> Vec<u8> {
        self.doc.transact().encode_diff_v1(sv)
    }

    /// The whole document as one v1 update.
    #[cfg(test)]
    pub(crate) fn encode_state(&self) -> Vec<u8> {
        self.diff_since(&StateVector::default())
    }

    /// This person's updates committed since the last call, for the offline
    /// copy: every local transaction (edits, undo, redo), in order.
    pub(crate) fn take_unstored(&self) -> Vec<Vec<u8>> {
        self.unstored
            .lock()
            .map(|mut unstored| std::mem::take(&mut *unstored))
            .unwrap_or_default()
    }

    /// How many updates this replica has put on the outgoing channel so far
    /// (local edits and merges from the offline copy): when the connection
    /// has taken fewer, one is still queued and not yet counted by the
    /// session.
    pub(crate) fn updates_made(&self) -> u64 {
        self.made.load(Ordering::Relaxed)
    }

    /// What the transactions since the last call did to the body.
    pub(crate) fn take_body_edits(&self) -> Vec<BodyEdit> {
        self.body_edits
            .lock()
            .map(|mut edits| std::mem::take(&mut *edits))
            .unwrap_or_default()
    }

    /// The body's items in document order, with their ids; `None` while
    /// another transaction is open (not the case outside observers).
    pub(crate) fn body_items(&self) -> Option<Vec<ItemSpan>> {
        let mut txn = self
            .doc
            .try_transact_mut_with(Origin::from(READING_ORIGIN))
            .ok()?;
        Some(authors::item_spans(&mut txn, &self.content))
    }

    /// This replica's yrs client id: what its edits are written with.
    pub(crate) fn client_id(&self) -> u64 {
        self.doc.client_id().get()
    }

    /// A cheap handle on the same document (for the local-copy writer).
    pub(crate) fn doc(&self) -> &Doc {
        &self.doc
    }

    /// Decodes an update received from outside; applying it is separate so
    /// updates can be held during an IME composition.
    pub(crate) fn decode_update(bytes: &[u8]) -> Result<Update, ClientError> {
        // yrs trusts the counts inside an update; the guard refuses lying ones
        // before they turn into huge allocations or deep recursion.
        tandem_shared::guard::check_update_v1(bytes)
            .map_err(|e| ClientError::BadUpdate(e.to_string()))?;
        Update::decode_v1(bytes).map_err(|e| ClientError::BadUpdate(e.to_string()))
    }

    /// Applies an update from the server or from storage: not sent back, not
    /// tracked by undo. Returns what it changed in the texts.
    pub(crate) fn apply_remote(&self, update: Update) -> Result<Vec<TextChange>, ClientError> {
        take(&self.pending);
        let applied = {
            let mut txn = self.doc.transact_mut_with(self.remote.clone());
            txn.apply_update(update)
                .map_err(|e| ClientError::BadUpdate(e.to_string()))
            // The transaction commits here, running the text observers.
        };
        let changes = take(&self.pending);
        applied.map(|()| changes)
    }

    /// Merges the local copy another tab of this browser wrote. What this
    /// replica lacked goes out on the outgoing channel like a local edit
    /// (the server may not have it either), but undo does not track it.
    /// Returns whether the document changed.
    pub(crate) fn apply_stored(&self, update: Update) -> Result<bool, ClientError> {
        let mut txn = self.doc.transact_mut_with(STORED_ORIGIN);
        txn.apply_update(update)
            .map_err(|e| ClientError::BadUpdate(e.to_string()))?;
        Ok(!txn.insert_set().is_empty() || !txn.delete_set().is_empty())
        // The transaction commits here, feeding the outgoing channel.
    }

    /// Applies this person's edit to `field` in one transaction: at most one
    /// delete and one insert. `new` is the field's text after the edit, in
    /// UTF-16 units, and `splice` comes from `tandem_shared::splice::splice`.
    pub(crate) fn apply_local(&self, field: Field, splice: &Splice, new: &[u16]) {
        if splice.is_empty() {
            return;
        }
        let text = self.text(field);
        let mut txn = self.doc.transact_mut_with(self.local.clone());
        // Offsets fit u32: browsers cap string lengths well below 4 G units.
        let index = splice.index as u32;
        if splice.delete > 0 {
            text.remove_range(&mut txn, index, splice.delete as u32);
        }
        if !splice.insert.is_empty() {
            let inserted = String::from_utf16_lossy(&new[splice.insert.clone()]);
            text.insert(&mut txn, index, &inserted);
        }
    }

    /// Applies this person's Markdown edit to `field` in one transaction
    /// (one update for the others, one undo step): each change is (index,
    /// units removed, text inserted), ascending, in the text before.
    pub(crate) fn apply_local_changes(&self, field: Field, changes: &[(usize, usize, String)]) {
        if changes.is_empty() {
            return;
        }
        let text = self.text(field);
        let mut txn = self.doc.transact_mut_with(self.local.clone());
        // From the last change back, so earlier indexes stay valid.
        for (index, delete, insert) in changes.iter().rev() {
            // Offsets fit u32: browsers cap string lengths well below 4 G units.
            if *delete > 0 {
                text.remove_range(&mut txn, *index as u32, *delete as u32);
            }
            if !insert.is_empty() {
                text.insert(&mut txn, *index as u32, insert);
            }
        }
    }

    /// An undo manager for `field` that sees only this person's edits.
    pub(crate) fn undo_manager(&self, field: Field) -> UndoManager<()> {
        let options = UndoOptions {
            capture_timeout_millis: UNDO_CAPTURE_MS,
            tracked_origins: HashSet::from([self.local.clone()]),
            capture_transaction: None,
            timestamp: Arc::new(now_ms),
            init_undo_stack: Vec::new(),
            init_redo_stack: Vec::new(),
        };
        let mut manager = UndoManager::with_options(options);
        manager.expand_scope(&self.doc, self.text(field));
        manager
    }

    /// A position in `field` that follows the text around it through
    /// concurrent edits. It sticks to the character after `index`, or to the
    /// one before when `index` is the end.
    pub(crate) fn sticky(&self, field: Field, index: u32) -> Option<StickyIndex> {
        let txn = self.doc.transact();
        let text = self.text(field);
        text.sticky_index(&txn, index, Assoc::After)
            .or_else(|| text.sticky_index(&txn, index, Assoc::Before))
    }

    /// Where `sticky` is now.
    pub(crate) fn resolve(&self, sticky: &StickyIndex) -> Option<u32> {
        sticky
            .get_offset(&self.doc.transact())
            .map(|offset| offset.index)
    }
}

/// Empties `pending`, returning what it held.
fn take(pending: &PendingChanges) -> Vec<TextChange> {
    pending
        .lock()
        .map(|mut changes| std::mem::take(&mut *changes))
        .unwrap_or_default()
}

/// Milliseconds since the Unix epoch, for the undo manager's grouping.
fn now_ms() -> u64 {
    #[cfg(target_arch = "wasm32")]
    {
        js_sys::Date::now() as u64
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_shared::splice::splice;

    fn units(s: &str) -> Vec<u16> {
        s.encode_utf16().collect()
    }

    /// Types `new` into `field` the way the page does: diff, then one transaction.
    fn type_into(replica: &Replica, field: Field, new: &str) {
        let old = units(&replica.string(field));
        let new = units(new);
        replica.apply_local(field, &splice(&old, &new, None), &new);
    }

    fn drain_local(rx: &mut UnboundedReceiver<LocalUpdate>) -> Vec<LocalUpdate> {
        std::iter::from_fn(|| rx.try_recv().ok()).collect()
    }

    fn drain(rx: &mut UnboundedReceiver<LocalUpdate>) -> Vec<Vec<u8>> {
        drain_local(rx).into_iter().map(|u| u.update).collect()
    }

    fn receive(replica: &Replica, update: &[u8]) -> Vec<TextChange> {
        let update = Replica::decode_update(update).expect("update decodes");
        replica.apply_remote(update).expect("update applies")
    }

    #[test]
    fn each_update_carries_the_changes_of_its_own_transaction() {
        let (a, mut a_out) = Replica::new();
        let (b, _b_out) = Replica::new();
        type_into(&a, Field::Content, "hello");
        type_into(&a, Field::Content, "hello!");
        type_into(&a, Field::Title, "T");
        type_into(&a, Field::Content, "help!");
        let sent = drain_local(&mut a_out);
        let described: Vec<String> = sent.iter().map(|u| changes::describe(&u.changes)).collect();
        assert_eq!(
            described,
            [
                "insert 'hello' at 0",
                "insert '!' at 5",
                "title: insert 'T' at 0",
                "delete 2 at 3, insert 'p' at 3",
            ]
        );
        // The receiving side describes what applying each update changed.
        let received: Vec<String> = sent
            .iter()
            .map(|u| changes::describe(&receive(&b, &u.update)))
            .collect();
        assert_eq!(received, described);
        // An update that changes nothing (already applied) describes nothing.
        assert!(receive(&b, &sent[0].update).is_empty());
    }

    #[test]
    fn each_local_transaction_is_one_update_and_remote_ones_are_not_echoed() {
        let (a, mut a_out) = Replica::new();
        let (b, mut b_out) = Replica::new();
        type_into(&a, Field::Content, "hello");
        type_into(&a, Field::Content, "hello world");
        type_into(&a, Field::Title, "Notes");
        let sent = drain(&mut a_out);
        assert_eq!(sent.len(), 3);
        for update in &sent {
            receive(&b, update);
        }
        assert!(
            drain(&mut b_out).is_empty(),
            "remote updates must not be re-sent"
        );
        assert_eq!(b.string(Field::Content), "hello world");
        assert_eq!(b.string(Field::Title), "Notes");
    }

    #[test]
    fn every_local_transaction_is_queued_for_the_offline_copy_and_nothing_else() {
        let (a, mut a_out) = Replica::new();
        let (b, mut b_out) = Replica::new();
        type_into(&a, Field::Content, "hello");
        type_into(&a, Field::Title, "T");
        let stored = a.take_unstored();
        let sent = drain(&mut a_out);
        assert_eq!(stored, sent, "the same bytes as the updates sent");
        assert!(a.take_unstored().is_empty(), "taken once");
        assert_eq!(a.updates_made(), 2);

        // Remote updates are stored by whoever received them, and an edit
        // merged from the offline copy is there already: neither is queued,
        // but the merge goes out to the server like a local edit.
        receive(&b, &sent[0]);
        assert!(b.take_unstored().is_empty());
        let merged = b
            .apply_stored(Replica::decode_update(&sent[1]).expect("decodes"))
            .expect("applies");
        assert!(merged);
        assert!(b.take_unstored().is_empty());
        assert_eq!(drain(&mut b_out).len(), 1);
        assert_eq!(b.updates_made(), 1);

        // Undo is this person's edit too.
        let mut undo = a.undo_manager(Field::Content);
        type_into(&a, Field::Content, "hello there");
        assert!(undo.undo_blocking());
        assert_eq!(a.take_unstored().len(), 2);
    }

    #[test]
    fn state_vector_exchange_merges_offline_edits_once() {
        let (a, _a_out) = Replica::new();
        let (b, _b_out) = Replica::new();
        type_into(&a, Field::Content, "shared ");
        receive(&b, &a.encode_state());
        // Both edit while apart.
        type_into(&a, Field::Content, "shared text by a");
        type_into(&b, Field::Content, "by b: shared ");
        // Step 1 / step 2 in both directions, twice: the second round adds nothing.
        for _ in 0..2 {
            let to_b = a.diff_since(&b.state_vector());
            let to_a = b.diff_since(&a.state_vector());
            receive(&b, &to_b);
            receive(&a, &to_a);
        }
        assert_eq!(a.string(Field::Content), b.string(Field::Content));
        assert_eq!(a.string(Field::Content), "by b: shared text by a");
    }

    #[test]
    fn loaded_state_is_neither_sent_nor_undoable() {
        let (a, _a_out) = Replica::new();
        type_into(&a, Field::Content, "kept offline");
        let (b, mut b_out) = Replica::new();
        let mut undo = b.undo_manager(Field::Content);
        receive(&b, &a.encode_state());
        assert!(drain(&mut b_out).is_empty());
        assert!(!undo.undo_blocking());
        assert_eq!(b.string(Field::Content), "kept offline");
    }

    #[test]
    fn merged_copies_are_sent_once_and_not_undoable() {
        let (tab1, mut tab1_out) = Replica::new();
        let (tab2, _tab2_out) = Replica::new();
        type_into(&tab2, Field::Content, "offline edit");
        let mut undo = tab1.undo_manager(Field::Content);
        let stored = || Replica::decode_update(&tab2.encode_state()).expect("decodes");
        assert!(tab1.apply_stored(stored()).expect("applies"));
        let sent = drain_local(&mut tab1_out);
        assert_eq!(sent.len(), 1, "what the copy added goes to the server");
        assert_eq!(
            changes::describe(&sent[0].changes),
            "insert 'offline edit' at 0"
        );
        assert!(!undo.undo_blocking(), "not this person's edit to undo");
        // Merging the same copy again changes and sends nothing.
        assert!(!tab1.apply_stored(stored()).expect("applies"));
        assert!(drain(&mut tab1_out).is_empty());
        // A copy that only deletes still counts as a change.
        let (tab3, _tab3_out) = Replica::new();
        receive(&tab3, &tab1.encode_state());
        type_into(&tab3, Field::Content, "offline");
        let deleted = Replica::decode_update(&tab3.encode_state()).expect("decodes");
        assert!(tab1.apply_stored(deleted).expect("applies"));
        assert_eq!(tab1.string(Field::Content), "offline");
    }

    #[test]
    fn undo_reverts_only_this_persons_edits() {
        let (a, mut a_out) = Replica::new();
        let (b, mut b_out) = Replica::new();
        let mut undo = a.undo_manager(Field::Content);
        type_into(&a, Field::Content, "mine");
        for update in drain(&mut a_out) {
            receive(&b, &update);
        }
        type_into(&b, Field::Content, "mine, theirs");
        for update in drain(&mut b_out) {
            receive(&a, &update);
        }
        assert!(undo.undo_blocking());
        assert_eq!(a.string(Field::Content), ", theirs");
        // The undo is a local edit: one update, which converges the peer.
        let undone = drain(&mut a_out);
        assert_eq!(undone.len(), 1);
        receive(&b, &undone[0]);
        assert_eq!(b.string(Field::Content), ", theirs");
        assert!(undo.redo_blocking());
        assert_eq!(a.string(Field::Content), "mine, theirs");
    }

    #[test]
    fn body_edits_say_who_inserted_and_several_writers_mean_a_reread() {
        let (a, mut a_out) = Replica::new();
        let (b, _b_out) = Replica::new();
        type_into(&a, Field::Content, "hello");
        type_into(&a, Field::Content, "help");
        type_into(&a, Field::Title, "T");
        let me = a.client_id();
        assert_eq!(
            a.take_body_edits(),
            [
                BodyEdit::Steps {
                    steps: vec![Step::Insert(5)],
                    client: me,
                    clock: 0
                },
                BodyEdit::Steps {
                    steps: vec![Step::Retain(3), Step::Delete(2), Step::Insert(1)],
                    client: me,
                    clock: 5
                },
            ],
            "one per body transaction; the title's are not the body's"
        );
        for update in drain(&mut a_out) {
            receive(&b, &update);
        }
        assert_eq!(b.take_body_edits().len(), 2);
        // Two writers' edits in one update: read again.
        type_into(&b, Field::Content, "help!");
        let (c, _c_out) = Replica::new();
        receive(&c, &a.encode_state());
        c.take_body_edits();
        let both = b.encode_state();
        let (d, _d_out) = Replica::new();
        receive(&d, &both);
        assert_eq!(d.take_body_edits(), [BodyEdit::Reread]);
        let items = d.body_items().expect("no transaction open");
        assert_eq!(items.iter().map(|i| i.len).sum::<u32>(), 5);
        assert!(items.iter().any(|i| i.client == me));
        assert!(items.iter().any(|i| i.client == b.client_id()));
    }

    #[test]
    fn the_end_and_an_empty_text_have_sticky_positions_too() {
        let (a, _a_out) = Replica::new();
        let empty = a
            .sticky(Field::Content, 0)
            .expect("an empty text has a position");
        assert_eq!(
            serde_json::to_string(&empty).expect("serializes"),
            r#"{"tname":"content","assoc":-1}"#
        );
        type_into(&a, Field::Content, "ab");
        assert_eq!(a.resolve(&empty), Some(0));
        let end = a.sticky(Field::Content, 2).expect("the end has a position");
        type_into(&a, Field::Content, "abc");
        assert_eq!(a.resolve(&end), Some(2), "sticks to the 'b' before it");
    }

    #[test]
    fn sticky_positions_follow_remote_edits_before_them() {
        let (a, mut a_out) = Replica::new();
        let (b, _b_out) = Replica::new();
        type_into(&a, Field::Content, "hello world");
        for update in drain(&mut a_out) {
            receive(&b, &update);
        }
        // b's caret sits before "world" (6) and at the end (11).
        let caret = b.sticky(Field::Content, 6).expect("inside the text");
        let end = b.sticky(Field::Content, 11).expect("at the end");
        type_into(&a, Field::Content, "oh, hello 👋 world");
        for update in drain(&mut a_out) {
            receive(&b, &update);
        }
        assert_eq!(b.string(Field::Content), "oh, hello 👋 world");
        // "oh, " is 4 units and "👋 " is 3 (a surrogate pair and a space).
        assert_eq!(b.resolve(&caret), Some(13));
        assert_eq!(b.resolve(&end), Some(18));
    }
}
