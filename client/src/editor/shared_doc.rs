//! The document of one open page: the [`Replica`], the two bound fields, the
//! IME gate, the local copy, and the signals the header and footer read.
//!
//! Event handlers call in here for local input, undo/redo and composition;
//! the connection's [`ClientSession`](tandem_shared::ClientSession) calls in
//! for the sync exchange and remote updates, through this document's
//! [`tandem_shared::Replica`] implementation.
//! Everything runs on the browser's one thread, and no borrow is held across
//! an `.await` or into a callback.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use futures_channel::mpsc::UnboundedReceiver;
use leptos::prelude::{GetUntracked, RwSignal, Set, Update as _};
use tandem_shared::authors::{Authorship, ItemSpan};
use tandem_shared::{Cursor, RoomId};
use yrs::{StateVector, Update};

use super::binding::TextBinding;
use super::changes::{self, TextChange};
use super::field::{Field, FieldElement};
use super::local_copy::{Loaded, LocalCopy, Made, MergeStored, Merged, StorageProblem, StoredCopy};
use super::overlay::PlacedCursor;
use super::replica::{BodyEdit, LocalUpdate, Replica};
use super::stats::DocStats;
use super::undo::{Modifiers, UndoAction};
use crate::error::ClientError;
use tandem_shared::markdown::edit::{self, Action, Change, TextEdit};
use tandem_shared::markdown::offsets::utf16_to_byte;

/// What the page shows about the document outside the fields.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DocSignals {
    /// The shared title, for `document.title` and the recent list.
    pub(crate) title: RwSignal<String>,
    /// Word and character counts of the body.
    pub(crate) stats: RwSignal<DocStats>,
    /// Bumped whenever the body changes (local or remote edit), so remote
    /// carets are resolved again against the new text.
    pub(crate) content_version: RwSignal<u64>,
    /// Why the offline copy is not being kept, if it is not.
    pub(crate) storage: RwSignal<Option<StorageProblem>>,
    /// Who wrote what, as the server last said (`welcome`, `authors`).
    pub(crate) authorship: RwSignal<Authorship>,
    /// The colour the room gave this page, once welcomed.
    pub(crate) room_color: RwSignal<Option<String>>,
}

impl DocSignals {
    pub(crate) fn new() -> Self {
        Self {
            title: RwSignal::new(String::new()),
            stats: RwSignal::new(DocStats::default()),
            content_version: RwSignal::new(0),
            storage: RwSignal::new(None),
            authorship: RwSignal::new(Authorship::default()),
            room_color: RwSignal::new(None),
        }
    }
}

/// What became of an update received from the server.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Received {
    /// Applied; these are the text changes it made.
    Applied(Vec<TextChange>),
    /// Held until the IME composition ends.
    Held,
}

impl Received {
    /// What the frame inspector says about the update.
    pub(crate) fn describe(&self) -> String {
        match self {
            Self::Applied(made) => changes::describe(made),
            Self::Held => "held until the IME composition ends".to_owned(),
        }
    }
}

/// One room's document as this page holds it.
pub(crate) struct SharedDoc {
    /// The yrs document and its local/remote rules.
    replica: Replica,
    /// The body `<textarea>`, once mounted.
    content: RefCell<Option<TextBinding>>,
    /// The title `<input>`, once mounted.
    title: RefCell<Option<TextBinding>>,
    /// Between `compositionstart` and `compositionend` the field holds text
    /// the IME has not committed: no diffing, and remote updates wait.
    composing: Cell<bool>,
    /// Remote updates received during a composition, in arrival order.
    held: RefCell<Vec<Update>>,
    /// The server made this connection view-only: local edits and undo are off.
    read_only: Cell<bool>,
    /// The copy in IndexedDB.
    local_copy: LocalCopy,
    /// Title and counts for the rest of the page.
    signals: DocSignals,
}

/// A freshly opened document.
pub(crate) struct OpenedDoc {
    pub(crate) doc: Rc<SharedDoc>,
    /// One update per local transaction, for the connection task.
    pub(crate) outgoing: UnboundedReceiver<LocalUpdate>,
    /// Whether the stored copy may hold edits the server never acknowledged.
    pub(crate) unsaved: bool,
}

impl SharedDoc {
    /// Opens `room`'s document, starting from the stored copy if there is one.
    pub(crate) fn open(room: &RoomId, signals: DocSignals, stored: StoredCopy) -> OpenedDoc {
        let (replica, outgoing) = Replica::new();
        let mut unsaved = false;
        let doc = Rc::new_cyclic(|me: &Weak<Self>| {
            let me = Weak::clone(me);
            let merge: MergeStored = Box::new(move |state: &[u8]| {
                me.upgrade()
                    .map_or(Merged::NotNow, |doc| doc.merge_stored(state))
            });
            let (local_copy, state) = LocalCopy::new(
                room.as_str(),
                replica.doc().clone(),
                merge,
                stored,
                signals.storage,
            );
            if let Some(Loaded {
                records,
                unsaved: flagged,
            }) = state
            {
                // Each record on its own: one that does not read costs only
                // itself.
                let unreadable: Vec<u64> = records
                    .iter()
                    .filter_map(|(id, record)| {
                        let applied =
                            Replica::decode_update(record).and_then(|u| replica.apply_remote(u));
                        let e = applied.err()?;
                        leptos::logging::warn!("stored record of {room} ignored: {e}");
                        Some(*id)
                    })
                    .collect();
                unsaved = flagged;
                if !unreadable.is_empty() {
                    local_copy.discard(unreadable);
                }
            }
            Self {
                replica,
                content: RefCell::new(None),
                title: RefCell::new(None),
                composing: Cell::new(false),
                held: RefCell::new(Vec::new()),
                read_only: Cell::new(false),
                local_copy,
                signals,
            }
        });
        doc.publish(Field::Content, doc.replica.string(Field::Content));
        doc.publish(Field::Title, doc.replica.string(Field::Title));
        OpenedDoc {
            doc,
            outgoing,
            unsaved,
        }
    }

    fn binding(&self, field: Field) -> &RefCell<Option<TextBinding>> {
        match field {
            Field::Content => &self.content,
            Field::Title => &self.title,
        }
    }

    /// Binds a mounted field and shows its text.
    pub(crate) fn bind(&self, field: Field, element: FieldElement) {
        *self.binding(field).borrow_mut() = Some(TextBinding::new(&self.replica, field, element));
    }

    /// The field changed in the DOM (`input` event).
    pub(crate) fn input(&self, field: Field) {
        if self.composing.get() || self.read_only.get() || self.is_patching(field) {
            return;
        }
        let changed = self
            .binding(field)
            .borrow_mut()
            .as_mut()
            .and_then(|b| b.pull(&self.replica));
        if let Some(text) = changed {
            self.changed(field, text);
        }
    }

    /// Whether the page is changing `field` itself right now (a remote
    /// update, an undo, a Markdown edit: its binding is busy). The browser's
    /// editing command fires `input` for such a change (see
    /// `super::binding`); it is not the person's.
    pub(crate) fn is_patching(&self, field: Field) -> bool {
        self.binding(field).try_borrow_mut().is_err()
    }

    /// Undo or redo in `field`.
    pub(crate) fn undo(&self, field: Field, action: UndoAction) {
        if self.composing.get() || self.read_only.get() {
            return;
        }
        let changed = self
            .binding(field)
            .borrow_mut()
            .as_mut()
            .and_then(|b| b.undo(&self.replica, action));
        if let Some(text) = changed {
            self.changed(field, text);
        }
    }

    /// `keydown` in `field`: the undo/redo shortcuts replace the browser's
    /// own textarea history, which knows nothing of other people's edits.
    pub(crate) fn keydown(&self, field: Field, ev: &web_sys::KeyboardEvent) {
        if ev.is_composing() || self.composing.get() {
            return;
        }
        let mods = Modifiers {
            ctrl: ev.ctrl_key(),
            meta: ev.meta_key(),
            shift: ev.shift_key(),
            alt: ev.alt_key(),
        };
        if let Some(action) = UndoAction::from_shortcut(&ev.key(), &ev.code(), mods) {
            ev.prevent_default();
            self.undo(field, action);
        }
    }

    /// `beforeinput` in `field`: catches undo/redo from menus.
    pub(crate) fn before_input(&self, field: Field, ev: &web_sys::InputEvent) {
        if let Some(action) = UndoAction::from_input_type(&ev.input_type()) {
            ev.prevent_default();
            self.undo(field, action);
        }
    }

    /// An IME composition started.
    pub(crate) fn composition_start(&self) {
        self.composing.set(true);
    }

    /// The IME committed (or the field lost focus): take the composed text as
    /// one local edit, then apply what arrived meanwhile.
    pub(crate) fn composition_end(&self, field: Field) {
        if !self.composing.replace(false) {
            return;
        }
        self.input(field);
        // An upkeep that could not merge during the composition runs now.
        self.local_copy.upkeep_soon();
        let held = std::mem::take(&mut *self.held.borrow_mut());
        if !held.is_empty()
            && let Err(e) = self.apply_updates(held)
        {
            leptos::logging::warn!("held update dropped: {e}");
        }
    }

    /// Whether an IME composition is in progress (the field then shows text
    /// the document does not hold yet).
    pub(crate) fn is_composing(&self) -> bool {
        self.composing.get()
    }

    /// Does `action` at the body's selection (see
    /// `tandem_shared::markdown::edit`). Returns whether it applied; if not,
    /// the key keeps its usual meaning.
    pub(crate) fn markdown_action(&self, action: Action) -> bool {
        self.edit_content(false, |text, selection| {
            edit::apply(action, text, selection)
        })
    }

    /// Ticks or unticks the task box whose `[` is at UTF-16 offset `at` of
    /// the body: one character, one transaction. Returns whether it did.
    pub(crate) fn toggle_task(&self, at: usize) -> bool {
        self.edit_content(true, |text, _| {
            let start = utf16_to_byte(text, at);
            let mark = text.get(start..)?.strip_prefix('[')?.chars().next()?;
            let insert = match mark {
                ' ' => "x",
                'x' | 'X' => " ",
                _ => return None,
            };
            Some(TextEdit {
                changes: vec![Change {
                    at: start + 1,
                    delete: 1,
                    insert: insert.to_owned(),
                }],
                selection: 0..0,
            })
        })
    }

    /// Runs `make` on the body's text and selection (UTF-8 offsets) and
    /// applies the edit it returns through the binding.
    fn edit_content(
        &self,
        keep_selection: bool,
        make: impl FnOnce(&str, std::ops::Range<usize>) -> Option<TextEdit>,
    ) -> bool {
        if self.composing.get() || self.read_only.get() {
            return false;
        }
        // Whatever was typed and not yet taken comes first.
        self.input(Field::Content);
        let text = self.replica.string(Field::Content);
        let made = {
            let mut binding = self.content.borrow_mut();
            let Some(binding) = binding.as_mut() else {
                return false;
            };
            let units = binding.selection_range();
            let selection = utf16_to_byte(&text, units.start)..utf16_to_byte(&text, units.end);
            let Some(edit) = make(&text, selection) else {
                return false;
            };
            if edit.changes.is_empty() {
                return true;
            }
            binding.apply_edit(&self.replica, &edit.to_utf16(&text), keep_selection)
        };
        self.changed(Field::Content, made);
        true
    }

    /// The server said whether this connection may edit.
    pub(crate) fn set_read_only(&self, read_only: bool) {
        self.read_only.set(read_only);
    }

    /// Whether the body has the keyboard focus.
    pub(crate) fn content_focused(&self) -> bool {
        self.content
            .borrow()
            .as_ref()
            .is_some_and(TextBinding::is_focused)
    }

    /// The body's selection as a presence cursor, if the body is mounted.
    pub(crate) fn cursor(&self) -> Option<Cursor> {
        self.content
            .borrow()
            .as_ref()
            .and_then(|b| b.cursor(&self.replica))
    }

    /// Where another person's cursor is in the body now; `None` while it
    /// points at text this tab has not received yet.
    pub(crate) fn place(&self, cursor: &Cursor) -> Option<PlacedCursor> {
        Some(PlacedCursor {
            anchor: self.replica.resolve(&cursor.anchor)? as usize,
            head: self.replica.resolve(&cursor.head)? as usize,
        })
    }

    /// What the transactions since the last call did to the body (see
    /// `crate::authors`).
    pub(crate) fn take_body_edits(&self) -> Vec<BodyEdit> {
        self.replica.take_body_edits()
    }

    /// The body's items with their ids, in order; `None` while a
    /// transaction is open.
    pub(crate) fn body_items(&self) -> Option<Vec<ItemSpan>> {
        self.replica.body_items()
    }

    /// The colour the room gave this page, once welcomed.
    pub(crate) fn room_color(&self) -> Option<String> {
        self.signals.room_color.get_untracked()
    }

    /// The yrs client id this page writes with.
    pub(crate) fn client_id(&self) -> u64 {
        self.replica.client_id()
    }

    /// The body's text.
    pub(crate) fn content(&self) -> String {
        self.replica.string(Field::Content)
    }

    fn apply_updates(&self, updates: Vec<Update>) -> Result<Vec<TextChange>, ClientError> {
        let mut result = Ok(Vec::new());
        let shown = self.refresh_fields(|| {
            for update in updates {
                match (self.replica.apply_remote(update), &mut result) {
                    (Ok(changes), Ok(all)) => all.extend(changes),
                    (Err(e), _) => result = Err(e),
                    (Ok(_), Err(_)) => {}
                }
            }
        });
        for (field, text) in shown {
            self.changed(field, text);
        }
        result
    }

    /// Runs `apply`, which changes the document, then shows the new text in
    /// the bound fields, carets kept in place. Returns the fields whose text
    /// the page must publish.
    fn refresh_fields(&self, apply: impl FnOnce()) -> Vec<(Field, String)> {
        let anchors = [Field::Content, Field::Title].map(|field| {
            self.binding(field)
                .borrow()
                .as_ref()
                .and_then(|b| b.anchor(&self.replica))
        });
        apply();
        let mut shown = Vec::new();
        for (field, anchor) in [Field::Content, Field::Title].into_iter().zip(&anchors) {
            let changed = match self.binding(field).borrow_mut().as_mut() {
                Some(binding) => binding.push(&self.replica, anchor.as_ref()),
                // Not mounted yet: `bind` will show the text.
                None => Some(self.replica.string(field)),
            };
            if let Some(text) = changed {
                shown.push((field, text));
            }
        }
        shown
    }

    /// Merges a record another tab appended to the offline copy, during an
    /// upkeep (see [`super::local_copy`]); the record is stored already.
    fn merge_stored(&self, state: &[u8]) -> Merged {
        if self.composing.get() {
            return Merged::NotNow;
        }
        let update = match Replica::decode_update(state) {
            Ok(update) => update,
            Err(e) => {
                // Nothing readable to keep: this tab's write replaces it.
                leptos::logging::warn!("unreadable stored copy overwritten: {e}");
                return Merged::Nothing;
            }
        };
        let mut added = Ok(false);
        let shown = self.refresh_fields(|| added = self.replica.apply_stored(update));
        for (field, text) in shown {
            self.publish(field, text);
        }
        match added {
            Ok(true) => Merged::Added,
            Ok(false) => Merged::Nothing,
            Err(e) => {
                // As unreadable as one that does not decode.
                leptos::logging::warn!("unreadable stored copy overwritten: {e}");
                Merged::Nothing
            }
        }
    }

    /// Records whether the document holds unacknowledged edits, for the
    /// stored copy.
    pub(crate) fn set_unsaved(&self, unsaved: bool) {
        self.local_copy.set_unsaved(unsaved);
    }

    /// How many updates the document has put on the outgoing channel (see
    /// [`Replica::updates_made`]).
    pub(crate) fn updates_made(&self) -> u64 {
        self.replica.updates_made()
    }

    /// This person changed `field`: the transaction goes into the offline
    /// copy before anything else runs, then the page shows it. Every local
    /// edit ends here.
    fn changed(&self, field: Field, text: String) {
        for update in self.replica.take_unstored() {
            self.local_copy.append(&update, Made::Here);
        }
        self.publish(field, text);
    }

    fn publish(&self, field: Field, text: String) {
        match field {
            Field::Content => {
                self.signals.stats.set(DocStats::of(&text));
                self.signals.content_version.update(|v| *v += 1);
            }
            Field::Title => self.signals.title.set(text),
        }
    }
}

/// The session's view of the page's document: the sync exchange reads and
/// writes the replica, and remote updates go through the IME gate and the
/// bindings like any other.
impl tandem_shared::Replica for SharedDoc {
    type Applied = Received;
    type Error = ClientError;

    fn state_vector(&self) -> StateVector {
        self.replica.state_vector()
    }

    fn diff_since(&self, theirs: &StateVector) -> Vec<u8> {
        self.replica.diff_since(theirs)
    }

    /// Who wrote what changed: the page shows it (`crate::authors`).
    fn authorship_changed(&self, table: &Authorship, color: Option<&str>) {
        self.signals.authorship.set(table.clone());
        let color = color.map(str::to_owned);
        if self.signals.room_color.get_untracked() != color {
            self.signals.room_color.set(color);
        }
    }

    /// A sync step 2 or update from the server. Held during a composition;
    /// an error means the update was not applied.
    fn apply_remote(&self, bytes: &[u8]) -> Result<Received, ClientError> {
        let update = Replica::decode_update(bytes)?;
        // Stored as received, held or not: local edits made on top of it
        // must still read after a reload made offline. (A step 2 that
        // brings nothing is not worth a record.) Stored after the fields
        // show it, so the person sees the text without waiting for the
        // record's transaction to be opened: a local edit can only come in a
        // later task, and IndexedDB runs transactions in the order they were
        // opened, so the record still lands before any edit made on top.
        let record = !update.is_empty();
        let received = if self.composing.get() {
            self.held.borrow_mut().push(update);
            Ok(Received::Held)
        } else {
            self.apply_updates(vec![update]).map(Received::Applied)
        };
        if record {
            self.local_copy.append(bytes, Made::Server);
        }
        received
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn received_updates_say_what_they_did() {
        let typed = TextChange::Insert {
            field: Field::Content,
            index: 5,
            text: "!".into(),
        };
        assert_eq!(Received::Applied(vec![typed]).describe(), "insert '!' at 5");
        assert_eq!(Received::Applied(Vec::new()).describe(), "no text changed");
        assert_eq!(
            Received::Held.describe(),
            "held until the IME composition ends"
        );
    }
}
