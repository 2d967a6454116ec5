//! The document's two fields: which one ([`Field`], the name the replica,
//! the change descriptions and the bindings share) and its element in the
//! page ([`FieldElement`]): the body `<textarea>` or the title `<input>`.
//! Both elements expose the same value and selection API in the DOM, but
//! web-sys gives them separate types.

use web_sys::{HtmlInputElement, HtmlTextAreaElement};

/// The two shared texts of a Tandem document (`tandem_shared::doc::Field`,
/// which the change descriptions name too).
pub(crate) use tandem_shared::doc::Field;

/// A bound text field.
#[derive(Debug, Clone)]
pub(crate) enum FieldElement {
    /// The document body.
    TextArea(HtmlTextAreaElement),
    /// The document title.
    Input(HtmlInputElement),
}

/// A selection in UTF-16 units, as the DOM reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Selection {
    pub(crate) start: u32,
    pub(crate) end: u32,
    /// `"forward"`, `"backward"` or `"none"`.
    pub(crate) direction: String,
}

impl FieldElement {
    /// The field's current text.
    pub(crate) fn value(&self) -> String {
        match self {
            Self::TextArea(el) => el.value(),
            Self::Input(el) => el.value(),
        }
    }

    /// Replaces the whole text (first render only; edits use [`Self::replace_range`]).
    pub(crate) fn set_value(&self, value: &str) {
        match self {
            Self::TextArea(el) => el.set_value(value),
            Self::Input(el) => el.set_value(value),
        }
    }

    /// The current selection, if the field has one.
    pub(crate) fn selection(&self) -> Option<Selection> {
        let (start, end, direction) = match self {
            Self::TextArea(el) => (
                el.selection_start(),
                el.selection_end(),
                el.selection_direction(),
            ),
            Self::Input(el) => (
                el.selection_start(),
                el.selection_end(),
                el.selection_direction(),
            ),
        };
        Some(Selection {
            start: start.ok().flatten()?,
            end: end.ok().flatten()?,
            direction: direction
                .ok()
                .flatten()
                .unwrap_or_else(|| "none".to_owned()),
        })
    }

    /// Whether the field has the keyboard focus.
    pub(crate) fn is_focused(&self) -> bool {
        let element: &web_sys::Element = match self {
            Self::TextArea(el) => el,
            Self::Input(el) => el,
        };
        web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.active_element())
            .is_some_and(|active| &active == element)
    }

    /// Selects `start..end` (UTF-16 units).
    pub(crate) fn set_selection(&self, start: u32, end: u32, direction: &str) {
        let result = match self {
            Self::TextArea(el) => el.set_selection_range_with_direction(start, end, direction),
            Self::Input(el) => el.set_selection_range_with_direction(start, end, direction),
        };
        if let Err(e) = result {
            leptos::logging::warn!("could not restore the selection: {e:?}");
        }
    }

    /// Replaces units `start..end` with `text`, leaving the rest of the field
    /// (and its scroll position) alone.
    pub(crate) fn replace_range(&self, text: &str, start: u32, end: u32) {
        let result = match self {
            Self::TextArea(el) => el.set_range_text_with_start_and_end(text, start, end),
            Self::Input(el) => el.set_range_text_with_start_and_end(text, start, end),
        };
        if let Err(e) = result {
            leptos::logging::warn!("setRangeText failed, rewriting the field: {e:?}");
            let mut units: Vec<u16> = self.value().encode_utf16().collect();
            let (start, end) = (start as usize, end as usize);
            if start <= end && end <= units.len() {
                units.splice(start..end, text.encode_utf16());
                self.set_value(&String::from_utf16_lossy(&units));
            }
        }
    }
}
