//! Frames and edits in words: what the page's frame inspector and
//! `tandem connect --frames` print for each frame, so both describe a
//! session the same way.
//!
//! - A frame's kind and one-line summary ([`Classified`]): text frames are
//!   JSON, so the kind is their `type` and the summary lists their other
//!   fields in the order sent; binary frames are y-sync messages, so the
//!   kind is the sync message and the summary what it carries.
//! - A close frame's code, named as `close::TABLE` names it, and reason;
//!   a payload's size in words (`4.1 KB`).
//! - What an update changed in the document's texts ([`TextChange`],
//!   [`describe`]): `insert 'a' at 5`, `delete 3 at 10`, `title: insert 'x'
//!   at 0`, built from the yrs text events (the delta) of the transaction
//!   that made or applied the update, never by re-parsing its bytes.
//!   Indexes are UTF-16 units, like the document and the browser's fields.

use serde_json::Value;
use yrs::types::Delta;
use yrs::{Any, Out};

use crate::doc::Field;
use crate::{DecodeError, SyncFrame};

/// A frame's kind (the inspector's `data-kind`) and one-line summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classified {
    /// The JSON `type`, or `sync_step1` / `sync_step2` / `update`.
    pub kind: String,
    /// What the frame carries, in one line.
    pub summary: String,
}

/// Longest quoted string value in a summary, in characters.
const VALUE_CHARS: usize = 40;

/// A text frame: its JSON `type` and fields.
pub fn classify_text(text: &str) -> Classified {
    let Ok(OrderedObject(fields)) = serde_json::from_str::<OrderedObject>(text) else {
        return Classified {
            kind: "text".to_owned(),
            summary: "not a JSON object".to_owned(),
        };
    };
    let kind = match fields.iter().find(|(key, _)| key == "type") {
        Some((_, Value::String(kind))) => kind.clone(),
        _ => "text".to_owned(),
    };
    let summary = match kind.as_str() {
        "ping" if fields.len() == 1 => "app-level heartbeat".to_owned(),
        "pong" if fields.len() == 1 => "answer to ping".to_owned(),
        "authors" => authors_summary(text).unwrap_or_else(|| "authorship changed".to_owned()),
        _ => fields
            .iter()
            .filter(|(key, _)| key.as_str() != "type")
            .map(|(key, value)| format!("{key}: {}", short_value(value)))
            .collect::<Vec<_>>()
            .join(", "),
    };
    Classified { kind, summary }
}

/// A JSON object's fields in the order they were sent (`serde_json`'s own
/// map sorts them unless a crate-wide feature is on).
struct OrderedObject(Vec<(String, Value)>);

impl<'de> serde::Deserialize<'de> for OrderedObject {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Fields;
        impl<'de> serde::de::Visitor<'de> for Fields {
            type Value = OrderedObject;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<OrderedObject, A::Error> {
                let mut fields = Vec::new();
                while let Some(field) = map.next_entry::<String, Value>()? {
                    fields.push(field);
                }
                Ok(OrderedObject(fields))
            }
        }
        deserializer.deserialize_map(Fields)
    }
}

/// An `authors` message in words: who (as the page names them) and which
/// client ids they claimed from which clock, e.g. `Ada, Grace (Yjs client);
/// 1001 from 0 → Ada`.
fn authors_summary(text: &str) -> Option<String> {
    let change: crate::authors::Authorship = match serde_json::from_str::<Value>(text).ok()? {
        Value::Object(mut fields) => {
            fields.remove("type");
            serde_json::from_value(Value::Object(fields)).ok()?
        }
        _ => return None,
    };
    let name = |id: &crate::authors::AuthorId| {
        change
            .author(id)
            .map_or_else(|| id.to_string(), |a| a.label(crate::authors::utc_minute))
    };
    let listed = |mut items: Vec<String>| {
        let more = items.len().saturating_sub(LISTED);
        items.truncate(LISTED);
        if more > 0 {
            items.push(format!("and {more} more"));
        }
        items.join(", ")
    };
    let authors: Vec<String> = change
        .authors
        .iter()
        .map(|a| format!("{} {}", a.label(crate::authors::utc_minute), a.color))
        .collect();
    let claims: Vec<String> = change
        .claims
        .iter()
        .map(|c| format!("{} from {} → {}", c.client, c.clock, name(&c.author)))
        .collect();
    Some(match (authors.is_empty(), claims.is_empty()) {
        (false, true) => listed(authors),
        (true, false) => listed(claims),
        _ => format!("{}; {}", listed(authors), listed(claims)),
    })
}

/// A value in a summary line: scalars as JSON, strings cut, arrays by their
/// length and objects by their keys (a whole authorship by its counts).
fn short_value(value: &Value) -> String {
    match value {
        Value::Object(fields)
            if fields.len() == 2
                && fields.get("authors").is_some_and(Value::is_array)
                && fields.get("claims").is_some_and(Value::is_array) =>
        {
            let count = |key: &str| {
                fields
                    .get(key)
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len)
            };
            let (authors, claims) = (count("authors"), count("claims"));
            let plural = |n: usize, one: &str, many: &str| {
                format!("{n} {}", if n == 1 { one } else { many })
            };
            format!(
                "{} and {}",
                plural(authors, "author", "authors"),
                plural(claims, "claim", "claims")
            )
        }
        Value::String(text) if text.chars().count() > VALUE_CHARS => {
            let cut: String = text.chars().take(VALUE_CHARS).collect();
            format!(
                "{}…\"",
                Value::String(cut).to_string().trim_end_matches('"')
            )
        }
        Value::Array(items) => format!("[{}]", items.len()),
        Value::Object(fields) => {
            let keys: Vec<&str> = fields.keys().map(String::as_str).collect();
            format!("{{{}}}", keys.join(", "))
        }
        other => other.to_string(),
    }
}

/// A binary frame that decoded as a y-sync message. `changes` says what an
/// update changed in the text, when known.
pub fn classify_sync(frame: &SyncFrame, changes: Option<String>) -> Classified {
    let (kind, summary) = match frame {
        SyncFrame::Step1(sv) => {
            let clients = sv.len();
            let plural = if clients == 1 { "client" } else { "clients" };
            (
                "sync_step1",
                format!("state vector with {clients} {plural}"),
            )
        }
        SyncFrame::Step2(update) => (
            "sync_step2",
            changes.unwrap_or_else(|| {
                format!(
                    "what the other side misses ({} bytes of update)",
                    update.len()
                )
            }),
        ),
        SyncFrame::Update(update) => (
            "update",
            changes.unwrap_or_else(|| format!("{} bytes of update", update.len())),
        ),
    };
    Classified {
        kind: kind.to_owned(),
        summary,
    }
}

/// A binary frame that is not a y-sync message.
pub fn classify_bad_binary(error: &DecodeError) -> Classified {
    Classified {
        kind: "binary".to_owned(),
        summary: format!("not a y-sync message: {error}"),
    }
}

/// A close frame: its code with the close table's name, and its reason
/// (`1001 going away: server is shutting down; retry after 1 s`). A code
/// outside the table is shown by number alone.
pub fn classify_close(code: u16, reason: &str) -> Classified {
    let named = match crate::close::CloseCode::from_number(code) {
        Some(known) => format!("{code} {}", known.name()),
        None => code.to_string(),
    };
    let summary = if reason.is_empty() {
        named
    } else {
        format!("{named}: {reason}")
    };
    Classified {
        kind: "close".to_owned(),
        summary,
    }
}

/// `22 B`, `4.1 KB`, `1.3 MB`. In integers, rounded to the nearest tenth:
/// formatting a float would bring about 20 KB of float-printing code into
/// the page's wasm for this one label.
pub fn size(bytes: u64) -> String {
    let tenths = |unit: u64| (bytes + unit / 20) / (unit / 10);
    match bytes {
        0..1_000 => format!("{bytes} B"),
        1_000..999_950 => {
            let t = tenths(1_000);
            format!("{}.{} KB", t / 10, t % 10)
        }
        999_950..999_950_000 => {
            let t = tenths(1_000_000);
            format!("{}.{} MB", t / 10, t % 10)
        }
        _ => {
            let t = tenths(1_000_000_000);
            format!("{}.{} GB", t / 10, t % 10)
        }
    }
}

/// Quoted insertions longer than this many characters are cut.
const QUOTE_CHARS: usize = 24;
/// A description lists at most this many changes, then counts the rest.
const LISTED: usize = 4;

/// One change to one of the document's texts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextChange {
    /// `text` was inserted at `index` (UTF-16 units) of `field`.
    Insert {
        /// The text changed.
        field: Field,
        /// Where, in the text as it is after the earlier changes.
        index: u32,
        /// What was inserted.
        text: String,
    },
    /// `len` UTF-16 units were removed at `index` of `field`.
    Delete {
        /// The text changed.
        field: Field,
        /// Where, in the text as it is after the earlier changes.
        index: u32,
        /// How many units.
        len: u32,
    },
}

/// The changes a text event's `delta` describes, in order, with indexes in
/// the text as it is after the earlier changes.
pub fn from_delta(field: Field, delta: &[Delta]) -> Vec<TextChange> {
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
pub fn describe(changes: &[TextChange]) -> String {
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

    use yrs::{Observable, Text, Transact};

    use super::*;
    use crate::doc;
    use crate::{ClientId, ServerMsg};

    fn classified(kind: &str, summary: &str) -> Classified {
        Classified {
            kind: kind.into(),
            summary: summary.into(),
        }
    }

    #[test]
    fn authorship_is_described_in_words() {
        let welcome = r##"{"type":"welcome","protocol":1,"client_id":1,"room":"demo","read_only":false,"peers":[],"share":null,"authors":{"authors":[],"claims":[]},"color":"#d23f4a"}"##;
        assert_eq!(
            classify_text(welcome).summary,
            r##"protocol: 1, client_id: 1, room: "demo", read_only: false, peers: [0], share: null, authors: 0 authors and 0 claims, color: "#d23f4a""##
        );
        let change = r##"{"type":"authors","authors":[{"id":"pA","kind":"person","name":"Ada","color":"#d23f4a"},{"id":"y7","kind":"yjs","name":"","color":"#1a7bb8"}],"claims":[{"client":1001,"clock":0,"author":"pA"},{"client":7,"clock":3,"author":"y7"}]}"##;
        assert_eq!(
            classify_text(change),
            classified(
                "authors",
                "Ada #d23f4a, Yjs client #1a7bb8; 1001 from 0 → Ada, 7 from 3 → Yjs client"
            )
        );
        let renamed = r##"{"type":"authors","authors":[{"id":"pA","kind":"person","name":"Ada L.","color":"#d23f4a"}],"claims":[]}"##;
        assert_eq!(classify_text(renamed).summary, "Ada L. #d23f4a");
        let claim_only =
            r#"{"type":"authors","authors":[],"claims":[{"client":1001,"clock":9,"author":"pB"}]}"#;
        assert_eq!(classify_text(claim_only).summary, "1001 from 9 → pB");
    }

    #[test]
    fn text_frames_show_their_type_and_fields_in_order() {
        // The welcome of the captured session in docs/PROTOCOL.md.
        let welcome = r#"{"type":"welcome","protocol":1,"client_id":1,"room":"demo","read_only":false,"peers":[],"share":{"edit":"e.YUu-WjA909Ne46-U4lgNwQ","view":"v.GFQ5dBaPVJ4vl-2WcpBZIw"}}"#;
        assert_eq!(
            classify_text(welcome),
            classified(
                "welcome",
                r#"protocol: 1, client_id: 1, room: "demo", read_only: false, peers: [0], share: {edit, view}"#
            )
        );
        let presence = r##"{"type":"presence","name":"Ada","color":"#e06c75","cursor":null}"##;
        assert_eq!(
            classify_text(presence),
            classified(
                "presence",
                r##"name: "Ada", color: "#e06c75", cursor: null"##
            )
        );
        assert_eq!(
            classify_text(
                &ServerMsg::PeerLeft {
                    client_id: ClientId(2)
                }
                .to_json()
            ),
            classified("peer_left", "client_id: 2")
        );
        assert_eq!(
            classify_text(r#"{"type":"saved","updates":1}"#),
            classified("saved", "updates: 1")
        );
        assert_eq!(
            classify_text(r#"{"type":"ping"}"#),
            classified("ping", "app-level heartbeat")
        );
        assert_eq!(
            classify_text(r#"{"type":"pong"}"#),
            classified("pong", "answer to ping")
        );
    }

    #[test]
    fn long_strings_are_cut_and_odd_text_is_still_shown() {
        let reason = "x".repeat(100);
        let error = format!(r#"{{"type":"error","code":"bad_message","reason":"{reason}"}}"#);
        let summary = classify_text(&error).summary;
        assert_eq!(
            summary,
            format!(r#"code: "bad_message", reason: "{}…""#, "x".repeat(40))
        );
        assert_eq!(
            classify_text("hello"),
            classified("text", "not a JSON object")
        );
        assert_eq!(
            classify_text(r#"{"no_type":1}"#),
            classified("text", "no_type: 1")
        );
    }

    #[test]
    fn binary_frames_show_the_sync_message() {
        let step1 = SyncFrame::decode(&[0, 0, 1, 0]).expect("step 1");
        assert_eq!(
            classify_sync(&step1, None),
            classified("sync_step1", "state vector with 0 clients")
        );
        let one_client = SyncFrame::decode(&[0, 0, 4, 1, 0xe9, 0x07, 2]).expect("step 1");
        assert_eq!(
            classify_sync(&one_client, None).summary,
            "state vector with 1 client"
        );
        let step2 = SyncFrame::Step2(vec![0, 0]);
        assert_eq!(
            classify_sync(&step2, Some("no text changed".into())),
            classified("sync_step2", "no text changed")
        );
        assert_eq!(
            classify_sync(&step2, None),
            classified(
                "sync_step2",
                "what the other side misses (2 bytes of update)"
            )
        );
        let update = SyncFrame::Update(vec![1; 19]);
        assert_eq!(
            classify_sync(&update, Some("insert 'Hi' at 0".into())),
            classified("update", "insert 'Hi' at 0")
        );
        assert_eq!(classify_sync(&update, None).summary, "19 bytes of update");
        let bad = SyncFrame::decode(&[1, 0]).expect_err("awareness is refused");
        assert_eq!(classify_bad_binary(&bad).kind, "binary");
    }

    #[test]
    fn closes_carry_the_tables_name() {
        assert_eq!(
            classify_close(1001, "server is shutting down; retry after 1 s"),
            classified(
                "close",
                "1001 going away: server is shutting down; retry after 1 s"
            )
        );
        assert_eq!(classify_close(1000, "").summary, "1000 normal");
        assert_eq!(classify_close(4321, "odd").summary, "4321: odd");
    }

    #[test]
    fn sizes() {
        assert_eq!(size(22), "22 B");
        assert_eq!(size(999), "999 B");
        assert_eq!(size(4_096), "4.1 KB");
        assert_eq!(size(1_300_000), "1.3 MB");
        assert_eq!(size(1_000), "1.0 KB");
        assert_eq!(size(1_049), "1.0 KB");
        assert_eq!(size(1_050), "1.1 KB");
        assert_eq!(size(999_949), "999.9 KB");
        assert_eq!(size(999_950), "1.0 MB");
        assert_eq!(size(12_345_678), "12.3 MB");
        assert_eq!(size(3_210_000_000), "3.2 GB");
    }

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
