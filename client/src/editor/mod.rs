//! The editor: the room's yrs document held in the page, and the binding of
//! its two `Text`s to the title `<input>` and the body `<textarea>`.
//!
//! - [`replica`]: the yrs document and what counts as a local or remote edit.
//! - `tandem_shared::splice`: the one splice that explains a field's new value.
//! - [`binding`]: one field ↔ one `Text`, caret kept through remote edits.
//! - [`shared_doc`]: the page's document: both bindings, the IME gate, the
//!   local copy ([`local_copy`]) and the signals for counts and title.
//! - [`field`]: which of the two fields, and its DOM element.
//! - [`undo`], [`stats`]: the undo/redo shortcuts, counts.

mod binding;
mod changes;
mod field;
mod local_copy;
pub(crate) mod overlay;
mod replica;
mod shared_doc;
mod stats;
mod undo;

pub(crate) use field::{Field, FieldElement};

pub(crate) use changes::describe as describe_changes;
pub(crate) use local_copy::{StorageProblem, StoredCopy};
pub(crate) use replica::{BodyEdit, LocalUpdate};
pub(crate) use shared_doc::{DocSignals, OpenedDoc, Received, SharedDoc};
pub(crate) use stats::DocStats;
pub(crate) use undo::Modifiers;
