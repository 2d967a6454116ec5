//! What a frame is, in a word (its kind) and a line (its summary).
//!
//! Text frames are JSON: the kind is their `type` and the summary lists
//! their other fields. Binary frames are y-sync messages: the kind is the
//! sync message and the summary what it carries; for updates that is what
//! changed in the text, which the caller supplies from the transaction's
//! text events (see `editor::changes`).

use serde_json::Value;
use tandem_shared::{DecodeError, SyncFrame};

/// Which filter of the inspector shows a kind of frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Category {
    /// Sync step 1 and 2: the state-vector exchange of each connection.
    Sync,
    /// Incremental CRDT updates.
    Updates,
    /// `presence` and `peer_left`.
    Presence,
    /// Everything else: `welcome`, `saved`, `ping`, `pong`, `error`, closes.
    Control,
}

impl Category {
    /// The filter a frame of `kind` belongs to.
    pub(crate) fn of(kind: &str) -> Self {
        match kind {
            "sync_step1" | "sync_step2" => Self::Sync,
            "update" => Self::Updates,
            "presence" | "peer_left" => Self::Presence,
            _ => Self::Control,
        }
    }
}

/// A frame's kind (the `data-kind` of its row) and one-line summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Classified {
    /// The JSON `type`, or `sync_step1` / `sync_step2` / `update`.
    pub(crate) kind: String,
    /// What the frame carries, in one line.
    pub(crate) summary: String,
}

/// Longest quoted string value in a summary, in characters.
const VALUE_CHARS: usize = 40;

/// A text frame: its JSON `type` and fields.
pub(crate) fn classify_text(text: &str) -> Classified {
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

/// A value in a summary line: scalars as JSON, strings cut, arrays by their
/// length and objects by their keys.
fn short_value(value: &Value) -> String {
    match value {
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
pub(crate) fn classify_sync(frame: &SyncFrame, changes: Option<String>) -> Classified {
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
pub(crate) fn classify_bad_binary(error: &DecodeError) -> Classified {
    Classified {
        kind: "binary".to_owned(),
        summary: format!("not a y-sync message: {error}"),
    }
}

#[cfg(test)]
mod tests {
    use tandem_shared::{ClientId, ServerMsg};

    use super::*;

    fn classified(kind: &str, summary: &str) -> Classified {
        Classified {
            kind: kind.into(),
            summary: summary.into(),
        }
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
    fn kinds_fall_into_filters() {
        assert_eq!(Category::of("sync_step1"), Category::Sync);
        assert_eq!(Category::of("sync_step2"), Category::Sync);
        assert_eq!(Category::of("update"), Category::Updates);
        assert_eq!(Category::of("presence"), Category::Presence);
        assert_eq!(Category::of("peer_left"), Category::Presence);
        for kind in [
            "welcome", "saved", "ping", "pong", "error", "close", "text", "binary",
        ] {
            assert_eq!(Category::of(kind), Category::Control, "{kind}");
        }
    }
}
