//! What a transaction changed in the document's texts, in words:
//! `insert 'a' at 5`, `delete 3 at 10`, `title: insert 'x' at 0`.
//!
//! Built from the yrs text events (the delta) of the transaction that
//! produced or applied an update, never by re-parsing the update's bytes, so
//! the frame inspector says exactly what happened to the text. Indexes are
//! UTF-16 units, like the document and the browser's text fields.

use yrs::types::Delta;
use yrs::{Any, Out};

use super::field::Field;

/// Quoted insertions longer than this many characters are cut.
const QUOTE_CHARS: usize = 24;
/// A description lists at most this many changes, then counts the rest.
const LISTED: usize = 4;

/// One change to one of the document's texts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TextChange {
    /// `text` was inserted at `index` (UTF-16 units) of `field`.
    Insert {
        field: Field,
        index: u32,
        text: String,
    },
    /// `len` UTF-16 units were removed at `index` of `field`.
    Delete { field: Field, index: u32, len: u32 },
}

/// The changes a text event's `delta` describes, in order, with indexes in
/// the text as it is after the earlier changes.
pub(crate) fn from_delta(field: Field, delta: &[Delta]) -> Vec<TextChange> {
    let mut index = 0u32;
    let mut changes = Vec::new();
    for op in delta {
        match op {
            Delta::Retain(len, _) => index += len,
            Delta::Deleted(len) => changes.push(TextChange::Delete {
                field,
                index,
                len: *len,
            }),
            Delta::Inserted(value, _) => {
                let text = match value {
                    Out::Any(Any::String(text)) => text.to_string(),
                    // Embeds (from other Yjs apps) take one position.
                    _ => "\u{FFFC}".to_owned(),
                };
                let len = text.encode_utf16().count() as u32;
                changes.push(TextChange::Insert { field, index, text });
                index += len;
            }
        }
    }
    changes
}

impl std::fmt::Display for TextChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (field, body) = match self {
            Self::Insert { field, index, text } => {
                (field, format!("insert {} at {index}", quote(text)))
            }
            Self::Delete { field, index, len } => (field, format!("delete {len} at {index}")),
        };
        match field {
            Field::Content => f.write_str(&body),
            Field::Title => write!(f, "title: {body}"),
        }
    }
}

/// The changes in words, e.g. `delete 3 at 10, insert 'x' at 10`.
pub(crate) fn describe(changes: &[TextChange]) -> String {
    if changes.is_empty() {
        return "no text changed".to_owned();
    }
    let mut words: Vec<String> = changes
        .iter()
        .take(LISTED)
        .map(ToString::to_string)
        .collect();
    if changes.len() > LISTED {
        words.push(format!("and {} more", changes.len() - LISTED));
    }
    words.join(", ")
}

/// `'text'` with line breaks and quotes escaped, cut after
/// [`QUOTE_CHARS`] characters (then followed by the full length).
fn quote(text: &str) -> String {
    let count = text.chars().count();
    let mut out = String::from("'");
    for c in text.chars().take(QUOTE_CHARS) {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&c.escape_unicode().to_string()),
            c => out.push(c),
        }
    }
    if count > QUOTE_CHARS {
        out.push_str(&format!("…' ({count} chars)"));
    } else {
        out.push('\'');
    }
    out
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tandem_shared::doc;
    use yrs::{Observable, Text, Transact};

    use super::*;

    fn insert(index: u32, text: &str) -> TextChange {
        TextChange::Insert {
            field: Field::Content,
            index,
            text: text.into(),
        }
    }

    /// The changes a real yrs transaction reports through its text event.
    fn observed(
        setup: &str,
        edit: impl FnOnce(&yrs::TextRef, &mut yrs::TransactionMut),
    ) -> Vec<TextChange> {
        let doc = doc::new_doc();
        let text = doc.get_or_insert_text(doc::CONTENT);
        text.insert(&mut doc.transact_mut(), 0, setup);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&seen);
        text.observe("test", move |txn, event| {
            sink.lock()
                .expect("not poisoned")
                .extend(from_delta(Field::Content, event.delta(txn)));
        });
        edit(&text, &mut doc.transact_mut());
        seen.lock().expect("not poisoned").clone()
    }

    #[test]
    fn a_keystroke_is_one_insert_at_its_index() {
        let changes = observed("hello", |t, txn| t.insert(txn, 5, "a"));
        assert_eq!(changes, [insert(5, "a")]);
        assert_eq!(describe(&changes), "insert 'a' at 5");
    }

    #[test]
    fn deletes_and_replacements() {
        let changes = observed("hello brave new world", |t, txn| t.remove_range(txn, 10, 3));
        assert_eq!(describe(&changes), "delete 3 at 10");
        let changes = observed("abcdef", |t, txn| {
            t.remove_range(txn, 1, 2);
            t.insert(txn, 1, "XY");
        });
        assert_eq!(describe(&changes), "delete 2 at 1, insert 'XY' at 1");
    }

    #[test]
    fn indexes_count_utf16_units_like_the_page() {
        // "👋" is two UTF-16 units.
        let changes = observed("👋 hi", |t, txn| t.insert(txn, 5, "!"));
        assert_eq!(changes, [insert(5, "!")]);
        let changes = observed("", |t, txn| t.insert(txn, 0, "👋👋"));
        assert_eq!(describe(&changes), "insert '👋👋' at 0");
    }

    #[test]
    fn title_changes_say_so() {
        let change = TextChange::Insert {
            field: Field::Title,
            index: 0,
            text: "x".into(),
        };
        assert_eq!(describe(&[change]), "title: insert 'x' at 0");
        let change = TextChange::Delete {
            field: Field::Title,
            index: 2,
            len: 1,
        };
        assert_eq!(change.to_string(), "title: delete 1 at 2");
    }

    #[test]
    fn quotes_are_escaped_and_long_text_is_cut() {
        assert_eq!(describe(&[insert(0, "a\nb'c")]), r"insert 'a\nb\'c' at 0");
        let long = "lorem ipsum ".repeat(10);
        assert_eq!(
            describe(&[insert(3, &long)]),
            "insert 'lorem ipsum lorem ipsum …' (120 chars) at 3"
        );
    }

    #[test]
    fn many_changes_are_counted_not_listed() {
        let changes: Vec<_> = (0..7).map(|i| insert(i, "x")).collect();
        assert_eq!(
            describe(&changes),
            "insert 'x' at 0, insert 'x' at 1, insert 'x' at 2, insert 'x' at 3, and 3 more"
        );
        assert_eq!(describe(&[]), "no text changed");
    }
}
