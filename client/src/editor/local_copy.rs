//! The copy of a document kept in `localStorage`, so edits made offline
//! survive a reload: written about 300 ms after the last change and when the
//! page is hidden, read before the socket opens. The state-vector exchange on
//! the next connection merges it with the server's copy, duplicating nothing.
//!
//! All tabs of a browser share one copy per room, and a tab closed while
//! offline leaves edits nowhere else. So no write replaces the copy blindly:
//! the tab first merges the stored copy into its own document, and only then
//! writes that document, which holds everything either had. What the merge
//! added goes to the server as if typed here (the session sends it, or the
//! next step 2 carries it). The `unsaved` flag follows the same rule: a tab
//! clears it only when the server acknowledged all of its own edits *and*
//! the stored copy holds nothing it lacks; when the merge added something,
//! the flag stays until those edits are acknowledged too. During an IME
//! composition the document cannot take the merge, so the write waits for
//! the composition to end.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use gloo_timers::callback::Timeout;
use yrs::{Doc, ReadTxn, StateVector, Transact};

use crate::{base64, storage};

/// How long after the last change the copy is written.
const DEBOUNCE_MS: u32 = 300;

/// What merging the stored copy into this tab's document came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Merged {
    /// The document already held everything the copy holds.
    Nothing,
    /// The copy held edits the document lacked; they are in it now, and on
    /// their way to the server.
    Added,
    /// The document cannot take it now (an IME composition): do not write.
    NotNow,
}

/// Merges the stored state (a v1 update) into the live document.
pub(crate) type MergeStored = Box<dyn Fn(&[u8]) -> Merged>;

/// The stored copy of one room's document.
pub(crate) struct LocalCopy {
    /// Shared with the pending timer callback.
    writer: Rc<Writer>,
    /// The pending debounced write; dropping it cancels it.
    timer: RefCell<Option<Timeout>>,
}

struct Writer {
    /// `tandem:doc:{room}`.
    doc_key: String,
    /// `tandem:unsaved:{room}`.
    unsaved_key: String,
    /// A handle on the live document (yrs docs are cheap to clone).
    doc: Doc,
    /// Merges the stored copy into the live document before each write.
    merge: MergeStored,
    /// Whether the document holds edits the server has not acknowledged.
    unsaved: Cell<bool>,
    /// A full storage is reported once, not on every keystroke.
    warned: Cell<bool>,
}

impl Writer {
    /// Merges the stored copy into the document; `false` means the document
    /// cannot take it now. What it added is unsaved until acknowledged.
    fn merge_stored(&self) -> bool {
        let Some(state) = storage::get(&self.doc_key).and_then(|s| base64::decode(&s)) else {
            return true;
        };
        match (self.merge)(&state) {
            Merged::Nothing => true,
            Merged::Added => {
                self.unsaved.set(true);
                true
            }
            Merged::NotNow => false,
        }
    }

    fn write(&self) {
        if !self.merge_stored() {
            return;
        }
        let state = self.doc.transact().encode_diff_v1(&StateVector::default());
        if let Err(e) = storage::set(&self.doc_key, &base64::encode(&state)) {
            if !self.warned.replace(true) {
                leptos::logging::warn!("offline copy not saved: {e}");
            }
            return;
        }
        self.write_flag();
    }

    fn write_flag(&self) {
        if self.unsaved.get() {
            // Best effort: a failure here only means a reload shows "Saved" early.
            let _ = storage::set(&self.unsaved_key, "1");
        } else {
            storage::remove(&self.unsaved_key);
        }
    }
}

impl LocalCopy {
    /// The copy of `room`, written from `doc`; before each write, `merge`
    /// brings the stored copy into `doc`.
    pub(crate) fn new(room: &str, doc: Doc, merge: MergeStored) -> Self {
        let writer = Writer {
            doc_key: storage::doc_key(room),
            unsaved_key: storage::unsaved_key(room),
            doc,
            merge,
            unsaved: Cell::new(false),
            warned: Cell::new(false),
        };
        Self {
            writer: Rc::new(writer),
            timer: RefCell::new(None),
        }
    }

    /// The stored state, and whether it may hold unacknowledged edits.
    pub(crate) fn load(&self) -> Option<(Vec<u8>, bool)> {
        let encoded = storage::get(&self.writer.doc_key)?;
        let state = base64::decode(&encoded)?;
        let unsaved = storage::get(&self.writer.unsaved_key).is_some();
        self.writer.unsaved.set(unsaved);
        Some((state, unsaved))
    }

    /// Drops a stored copy that turned out to be unreadable.
    pub(crate) fn discard(&self) {
        storage::remove(&self.writer.doc_key);
        storage::remove(&self.writer.unsaved_key);
    }

    /// Writes the copy [`DEBOUNCE_MS`] after the last call.
    pub(crate) fn schedule(&self) {
        let writer = Rc::clone(&self.writer);
        // Replacing the previous timeout cancels it.
        *self.timer.borrow_mut() = Some(Timeout::new(DEBOUNCE_MS, move || writer.write()));
    }

    /// Writes the copy now (page hidden or closed).
    pub(crate) fn flush(&self) {
        if self.timer.borrow_mut().take().is_some() || self.writer.unsaved.get() {
            self.writer.write();
        }
    }

    /// Records whether the document holds unacknowledged edits. The stored
    /// flag is cleared only once the stored copy holds nothing this document
    /// lacks (see the module doc).
    pub(crate) fn set_unsaved(&self, unsaved: bool) {
        if self.writer.unsaved.replace(unsaved) == unsaved {
            return;
        }
        if !unsaved && !self.writer.merge_stored() {
            // Mid-composition: another tab's edits may be in the copy only.
            self.writer.unsaved.set(true);
            return;
        }
        self.writer.write_flag();
    }
}
