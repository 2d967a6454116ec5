//! The binding between one text field and one yrs `Text`.
//!
//! Local input: the field's new value is diffed against what it showed before
//! (`shown`), and the splice becomes one local transaction. Remote changes:
//! the selection is pinned to the text with sticky indexes before the update
//! applies, the field is patched (only the changed run, see [`patch`]), and
//! the selection is put back where its text went. Undo and redo go through a
//! yrs `UndoManager` that tracks this person's edits only.
//!
//! Patching a long text: Chromium keeps a textarea's text as one element per
//! line, and `setRangeText` (like setting `value`) builds all of them again,
//! so the page lays out every line anew: 25–50 ms on the 104,852-character
//! paper, on every remote keystroke. An edit made with the browser's own
//! editing command touches one line and costs a millisecond or two. So a
//! focused, writable textarea is patched with `execCommand("insertText")`
//! over the range (the selection and the scroll position put back, the
//! `input` events it fires ignored: see `SharedDoc::is_patching`), checked,
//! and anything else with `setRangeText`.

use tandem_shared::Cursor;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::HtmlTextAreaElement;
use yrs::StickyIndex;
use yrs::undo::UndoManager;

use super::field::{Field, FieldElement, Selection};
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
            let end = (*index + *delete).min(self.shown.len());
            let mut expected = self.shown.clone();
            expected.splice((*index).min(end)..end, insert.encode_utf16());
            patch(
                &self.element,
                insert,
                *index as u32,
                (*index + *delete) as u32,
                &expected,
            );
            self.shown = expected;
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
        patch(&self.element, &inserted, start, end, &new);
        self.shown = new;
        Some(value)
    }
}

/// Replaces units `start..end` of `element` with `text`; `expected` is the
/// whole text it must then hold. The rest of the field, its scroll position
/// and its selection (moved as `setRangeText` moves it) are left alone.
fn patch(element: &FieldElement, text: &str, start: u32, end: u32, expected: &[u16]) {
    if let FieldElement::TextArea(area) = element
        && element.is_focused()
    {
        match edit_in_place(area, text, start, end, expected.len()) {
            InPlace::Done => return,
            InPlace::NotHere => {}
            InPlace::Wrong(selection) => {
                // Never seen; the field is made right whatever happened.
                leptos::logging::warn!("an in-place edit went wrong; rewriting the field");
                element.set_value(&String::from_utf16_lossy(expected));
                element.set_selection(selection.start, selection.end, &selection.direction);
                return;
            }
        }
    }
    element.replace_range(text, start, end);
}

/// What [`edit_in_place`] did.
enum InPlace {
    /// The field holds the new text.
    Done,
    /// Nothing: the textarea cannot be edited, or the browser refused the
    /// command.
    NotHere,
    /// The field changed, but not as asked; this is the selection to put
    /// back once it is rewritten.
    Wrong(Selection),
}

/// Makes the change in the focused `area` with the browser's editing
/// command, which lays out the lines it touches only (see the module doc).
/// It edits where the selection is, so the selection goes there and back;
/// the command scrolls nothing (checked in Chromium: a reader scrolled away
/// from their caret stays where they are).
fn edit_in_place(
    area: &HtmlTextAreaElement,
    text: &str,
    start: u32,
    end: u32,
    expected_len: usize,
) -> InPlace {
    if start == end && text.is_empty() {
        return InPlace::Done;
    }
    if area.read_only() || area.disabled() {
        return InPlace::NotHere;
    }
    let Some(document) = area
        .owner_document()
        .and_then(|d| d.dyn_into::<web_sys::HtmlDocument>().ok())
    else {
        return InPlace::NotHere;
    };
    let (Ok(Some(before_start)), Ok(Some(before_end))) =
        (area.selection_start(), area.selection_end())
    else {
        return InPlace::NotHere;
    };
    let direction = area
        .selection_direction()
        .ok()
        .flatten()
        .unwrap_or_else(|| "none".to_owned());
    if area.set_selection_range(start, end).is_err() {
        return InPlace::NotHere;
    }
    let done = if text.is_empty() {
        document.exec_command("delete")
    } else {
        document.exec_command_with_show_ui_and_value("insertText", false, text)
    };
    // Where `setRangeText` ("preserve") would leave the selection.
    let inserted = text.encode_utf16().count() as u32;
    let moved = |at: u32, end_of_selection: bool| {
        if at > end {
            at + inserted - (end - start)
        } else if at > start {
            if end_of_selection {
                start + inserted
            } else {
                start
            }
        } else {
            at
        }
    };
    let selection = Selection {
        start: moved(before_start, false),
        end: moved(before_end, true),
        direction,
    };
    if !matches!(done, Ok(true)) {
        let _ =
            area.set_selection_range_with_direction(before_start, before_end, &selection.direction);
        return InPlace::NotHere;
    }
    let _ = area.set_selection_range_with_direction(
        selection.start,
        selection.end,
        &selection.direction,
    );
    if holds(area, text, start, expected_len) {
        InPlace::Done
    } else {
        InPlace::Wrong(selection)
    }
}

/// Whether `area` is `expected_len` units long with `text` at `start`
/// (the value stays in JavaScript).
fn holds(area: &HtmlTextAreaElement, text: &str, start: u32, expected_len: usize) -> bool {
    if area.text_length() as usize != expected_len {
        return false;
    }
    let Some(value) = js_sys::Reflect::get(area, &JsValue::from_str("value"))
        .ok()
        .and_then(|v| v.dyn_into::<js_sys::JsString>().ok())
    else {
        return false;
    };
    let len = text.encode_utf16().count() as u32;
    value.substring(start, start + len) == text
}
