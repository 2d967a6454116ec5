//! The binding between one text field and one yrs `Text`.
//!
//! Local input: the field's new value is diffed against what it showed before
//! (`shown`), and the splice becomes one local transaction. Remote changes:
//! the selection is pinned to the text with sticky indexes before the update
//! applies, the field is patched with `setRangeText` (only the changed run),
//! and the selection is put back where its text went. Undo and redo go
//! through a yrs `UndoManager` that tracks this person's edits only.

use tandem_shared::Cursor;
use yrs::StickyIndex;
use yrs::undo::UndoManager;

use super::field::{Field, FieldElement};
use super::replica::Replica;
use super::undo::UndoAction;
use tandem_shared::markdown::edit::Utf16Edit;
use tandem_shared::splice::splice;

/// A field bound to its `Text`.
pub(crate) struct TextBinding {
    /// Which `Text` of the document.
    field: Field,
    /// The DOM element.
    element: FieldElement,
    /// What the element shows, in UTF-16 units. It equals the `Text` except
    /// for the moment between a DOM input and [`Self::pull`], and during an
    /// IME composition (when remote updates are held back).
    shown: Vec<u16>,
    /// This person's undo history for this field.
    undo: UndoManager<()>,
}

/// A selection pinned to the text, captured before a remote update.
pub(crate) struct Anchor {
    start: StickyIndex,
    end: StickyIndex,
    direction: String,
}

impl TextBinding {
    /// Binds `element` to `field` and shows the field's current text.
    pub(crate) fn new(replica: &Replica, field: Field, element: FieldElement) -> Self {
        let text = replica.string(field);
        element.set_value(&text);
        Self {
            field,
            element,
            shown: text.encode_utf16().collect(),
            undo: replica.undo_manager(field),
        }
    }

    /// Applies what the person changed in the element since the last sync as
    /// one local transaction. Returns the new text when something changed.
    pub(crate) fn pull(&mut self, replica: &Replica) -> Option<String> {
        let value = self.element.value();
        let new: Vec<u16> = value.encode_utf16().collect();
        let caret = self.element.selection().map(|s| s.end as usize);
        let change = splice(&self.shown, &new, caret);
        if change.is_empty() {
            return None;
        }
        replica.apply_local(self.field, &change, &new);
        self.shown = new;
        Some(value)
    }

    /// Pins the current selection to the text around it.
    pub(crate) fn anchor(&self, replica: &Replica) -> Option<Anchor> {
        let selection = self.element.selection()?;
        Some(Anchor {
            start: replica.sticky(self.field, selection.start)?,
            end: replica.sticky(self.field, selection.end)?,
            direction: selection.direction,
        })
    }

    /// Whether the element has the keyboard focus.
    pub(crate) fn is_focused(&self) -> bool {
        self.element.is_focused()
    }

    /// The selection as a presence cursor: `anchor` where it started,
    /// `head` at the caret (the start of a backward selection).
    pub(crate) fn cursor(&self, replica: &Replica) -> Option<Cursor> {
        let selection = self.element.selection()?;
        let (anchor, head) = if selection.direction == "backward" {
            (selection.end, selection.start)
        } else {
            (selection.start, selection.end)
        };
        let head_index = replica.sticky(self.field, head)?;
        let anchor_index = if anchor == head {
            head_index.clone()
        } else {
            replica.sticky(self.field, anchor)?
        };
        Some(Cursor {
            anchor: anchor_index,
            head: head_index,
        })
    }

    /// Shows the `Text`'s current content after a remote update, putting the
    /// selection back at `anchor`. Returns the new text when it changed.
    pub(crate) fn push(&mut self, replica: &Replica, anchor: Option<&Anchor>) -> Option<String> {
        let value = self.render(replica)?;
        if let Some(anchor) = anchor
            && let (Some(start), Some(end)) =
                (replica.resolve(&anchor.start), replica.resolve(&anchor.end))
        {
            self.element
                .set_selection(start.min(end), start.max(end), &anchor.direction);
        }
        Some(value)
    }

    /// Undoes or redoes this person's last edit of the field, leaving the
    /// caret at the end of what changed. Returns the new text.
    pub(crate) fn undo(&mut self, replica: &Replica, action: UndoAction) -> Option<String> {
        // Anything typed but not yet pulled belongs before the undo.
        let pulled = self.pull(replica);
        let changed = match action {
            UndoAction::Undo => self.undo.undo_blocking(),
            UndoAction::Redo => self.undo.redo_blocking(),
        };
        if !changed {
            return pulled;
        }
        let old = self.shown.clone();
        let value = self.render(replica)?;
        let change = splice(&old, &self.shown, None);
        let caret = change.insert.end as u32;
        self.element.set_selection(caret, caret, "none");
        Some(value)
    }

    /// Makes a Markdown edit (see `tandem_shared::markdown::edit`): one
    /// transaction and one undo step of its own, the element patched only
    /// where it changes, the selection put at `edit.selection` (or, with
    /// `keep_selection`, left where the browser keeps it). Returns the new
    /// text.
    pub(crate) fn apply_edit(
        &mut self,
        replica: &Replica,
        edit: &Utf16Edit,
        keep_selection: bool,
    ) -> String {
        // Not merged with the typing before it, nor with the typing after.
        self.undo.reset();
        replica.apply_local_changes(self.field, &edit.changes);
        self.undo.reset();
        for (index, delete, insert) in edit.changes.iter().rev() {
            self.element
                .replace_range(insert, *index as u32, (*index + *delete) as u32);
            let end = (*index + *delete).min(self.shown.len());
            self.shown
                .splice((*index).min(end)..end, insert.encode_utf16());
        }
        if !keep_selection {
            let (start, end) = (edit.selection.start as u32, edit.selection.end as u32);
            self.element.set_selection(start, end, "none");
        }
        replica.string(self.field)
    }

    /// The selection in UTF-16 units, or the end of the text.
    pub(crate) fn selection_range(&self) -> std::ops::Range<usize> {
        match self.element.selection() {
            Some(s) => s.start as usize..s.end as usize,
            None => self.shown.len()..self.shown.len(),
        }
    }

    /// Patches the element to the `Text`'s content; `None` if it already matches.
    fn render(&mut self, replica: &Replica) -> Option<String> {
        let value = replica.string(self.field);
        let new: Vec<u16> = value.encode_utf16().collect();
        let change = splice(&self.shown, &new, None);
        if change.is_empty() {
            return None;
        }
        let inserted = String::from_utf16_lossy(&new[change.insert.clone()]);
        let (start, end) = (change.index as u32, (change.index + change.delete) as u32);
        self.element.replace_range(&inserted, start, end);
        self.shown = new;
        Some(value)
    }
}
