//! The y-websocket dialect, so stock Yjs clients can join Tandem rooms.
//!
//! A Yjs provider (`y-websocket`'s `WebsocketProvider`, `pycrdt-websocket`)
//! connects to `ws://host/yjs/{room}` with no subprotocol and speaks binary
//! frames only, one message each:
//!
//! ```text
//! frame      = varuint(0) sync-msg                         sync (as in `protocol`)
//!            | varuint(1) buf(awareness-update)            awareness
//!            | varuint(3)                                  awareness query
//! awareness-update = varuint(n) (varuint(client) varuint(clock) string(json))*
//! ```
//!
//! Awareness states follow the convention of the Yjs editor bindings
//! (y-codemirror, y-prosemirror, y-quill):
//! `{"user": {"name": "Ada", "color": "#e06c75"}, "cursor": {"anchor": RelativePosition, "head": RelativePosition}}`,
//! where a relative position is the JSON of Yjs's `RelativePosition`
//! (`{"type": null, "tname": null, "item": {"client": 1, "clock": 2}, "assoc": 0}`),
//! the same thing as a yrs `StickyIndex`. [`presence_from_state`] and
//! [`state_from_presence`] translate between that and Tandem's [`Presence`].

use serde_json::{Map, Value};
use yrs::encoding::read::{self, Read};
use yrs::encoding::write::Write;

use crate::protocol::{Cursor, DecodeError, Presence, SyncFrame};

const MSG_SYNC: u32 = 0;
const MSG_AWARENESS: u32 = 1;
const MSG_AWARENESS_QUERY: u32 = 3;

/// One client's entry in an awareness update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwarenessEntry {
    /// The awareness client id (a Yjs client's `doc.clientID`).
    pub client: u64,
    /// Increases with every change; the newest wins.
    pub clock: u32,
    /// The state as JSON text; `"null"` means the client is gone.
    pub state: String,
}

/// One binary frame of the y-websocket dialect.
#[derive(Debug, Clone, PartialEq)]
pub enum YjsFrame {
    /// Document sync, exactly as in Tandem's own protocol.
    Sync(SyncFrame),
    /// Awareness (presence) of one or more clients.
    Awareness(Vec<AwarenessEntry>),
    /// A request for everyone's awareness.
    AwarenessQuery,
}

impl YjsFrame {
    /// Parses one frame. Counts are checked against the bytes that remain
    /// before anything is allocated.
    pub fn decode(frame: &[u8]) -> Result<Self, DecodeError> {
        let mut cursor = read::Cursor::new(frame);
        let tag: u32 = cursor.read_var()?;
        match tag {
            MSG_SYNC => SyncFrame::decode(frame).map(Self::Sync),
            MSG_AWARENESS => {
                let len: usize = cursor.read_var()?;
                let start = cursor.next;
                let update = frame
                    .get(start..start.saturating_add(len))
                    .ok_or(DecodeError::Truncated)?;
                if start + len != frame.len() {
                    return Err(DecodeError::TrailingBytes);
                }
                decode_awareness(update).map(Self::Awareness)
            }
            MSG_AWARENESS_QUERY if !cursor.has_content() => Ok(Self::AwarenessQuery),
            MSG_AWARENESS_QUERY => Err(DecodeError::TrailingBytes),
            other => Err(DecodeError::UnsupportedMessage(other)),
        }
    }

    /// The bytes of this frame.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Self::Sync(sync) => sync.encode(),
            Self::Awareness(entries) => {
                let mut update = Vec::new();
                update.write_var(entries.len());
                for entry in entries {
                    update.write_var(entry.client);
                    update.write_var(entry.clock);
                    update.write_string(&entry.state);
                }
                let mut frame = Vec::with_capacity(update.len() + 6);
                frame.write_var(MSG_AWARENESS);
                frame.write_buf(&update);
                frame
            }
            Self::AwarenessQuery => vec![MSG_AWARENESS_QUERY as u8],
        }
    }
}

fn decode_awareness(update: &[u8]) -> Result<Vec<AwarenessEntry>, DecodeError> {
    let mut cursor = read::Cursor::new(update);
    let count: u64 = cursor.read_var()?;
    // Each entry takes at least 3 bytes (client, clock, empty string).
    if count > (update.len() / 3) as u64 {
        return Err(DecodeError::Truncated);
    }
    let mut entries = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let client: u64 = cursor.read_var()?;
        let clock: u32 = cursor.read_var()?;
        let state = cursor.read_string()?.to_string();
        entries.push(AwarenessEntry {
            client,
            clock,
            state,
        });
    }
    if cursor.has_content() {
        return Err(DecodeError::TrailingBytes);
    }
    Ok(entries)
}

/// Tandem's presence from a Yjs awareness state; `None` for a `null` state
/// (the client left) or a state that is not JSON. Missing or invalid names
/// and colours get defaults; a cursor that does not parse is dropped.
pub fn presence_from_state(state: &str, fallback_color: &str) -> Option<Presence> {
    let Ok(Value::Object(state)) = serde_json::from_str::<Value>(state) else {
        return None;
    };
    let user = state.get("user").and_then(Value::as_object);
    let name: String = user
        .and_then(|u| u.get("name"))
        .and_then(Value::as_str)
        .map(|n| {
            n.chars()
                .filter(|c| !c.is_control())
                .take(Presence::MAX_NAME_CHARS)
                .collect()
        })
        .filter(|n: &String| !n.trim().is_empty())
        .unwrap_or_else(|| "Yjs user".to_string());
    let color = user
        .and_then(|u| u.get("color"))
        .and_then(Value::as_str)
        .filter(|c| {
            Presence {
                name: "x".into(),
                color: c.to_string(),
                cursor: None,
            }
            .validate()
            .is_ok()
        })
        .unwrap_or(fallback_color)
        .to_string();
    let cursor = state.get("cursor").and_then(|c| {
        let anchor = sticky_index(c.get("anchor")?)?;
        let head = sticky_index(c.get("head")?)?;
        Some(Cursor { anchor, head })
    });
    Some(Presence {
        name,
        color,
        cursor,
    })
}

/// A Yjs `RelativePosition` JSON as a yrs `StickyIndex` (nulls dropped).
fn sticky_index(value: &Value) -> Option<yrs::StickyIndex> {
    let object: Map<String, Value> = value
        .as_object()?
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    serde_json::from_value(Value::Object(object)).ok()
}

/// The Yjs awareness state for a Tandem presence (`None`: the peer left).
pub fn state_from_presence(presence: Option<&Presence>) -> String {
    let Some(presence) = presence else {
        return "null".into();
    };
    let cursor = presence
        .cursor
        .as_ref()
        .map(|c| serde_json::json!({ "anchor": c.anchor, "head": c.head }));
    serde_json::json!({
        "user": { "name": presence.name, "color": presence.color },
        "cursor": cursor,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_in_the_y_protocols_encoding() {
        let frames = [
            YjsFrame::Sync(SyncFrame::Update(vec![0, 0])),
            YjsFrame::AwarenessQuery,
            YjsFrame::Awareness(vec![
                AwarenessEntry {
                    client: 12345,
                    clock: 3,
                    state: r#"{"user":{"name":"Ada"}}"#.into(),
                },
                AwarenessEntry {
                    client: 9,
                    clock: 1,
                    state: "null".into(),
                },
            ]),
        ];
        for frame in frames {
            assert_eq!(YjsFrame::decode(&frame.encode()), Ok(frame));
        }
        // As y-protocols writes an awareness message for client 1, clock 2, state {}:
        assert_eq!(
            YjsFrame::Awareness(vec![AwarenessEntry {
                client: 1,
                clock: 2,
                state: "{}".into()
            }])
            .encode(),
            [1, 6, 1, 1, 2, 2, b'{', b'}']
        );
    }

    #[test]
    fn bad_frames_are_refused() {
        assert_eq!(
            YjsFrame::decode(&[2, 0]),
            Err(DecodeError::UnsupportedMessage(2))
        );
        assert_eq!(YjsFrame::decode(&[3, 0]), Err(DecodeError::TrailingBytes));
        assert_eq!(
            YjsFrame::decode(&[1, 4, 0xff, 0xff, 0xff, 0x0f]),
            Err(DecodeError::Truncated)
        );
        assert_eq!(
            YjsFrame::decode(&[1, 3, 1, 1, 2]),
            Err(DecodeError::Truncated)
        );
        assert!(
            YjsFrame::decode(&[1, 5, 1, 1, 2, 1, 0xff]).is_err(),
            "state is not UTF-8"
        );
    }

    #[test]
    fn awareness_states_translate_both_ways() {
        let yjs = r##"{"user":{"name":"Grace","color":"#30bced"},"cursor":{"anchor":{"type":null,"tname":null,"item":{"client":7,"clock":3},"assoc":0},"head":{"type":null,"tname":"content","item":null,"assoc":-1}}}"##;
        let presence = presence_from_state(yjs, "#000000").expect("presence");
        assert_eq!(presence.name, "Grace");
        assert_eq!(presence.color, "#30bced");
        let cursor = presence.cursor.clone().expect("cursor");
        assert_eq!(
            cursor.anchor,
            yrs::StickyIndex::from_id(yrs::ID::new(yrs::ClientID::new(7), 3), yrs::Assoc::After)
        );
        let back = state_from_presence(Some(&presence));
        assert_eq!(presence_from_state(&back, "#000000"), Some(presence));
        assert_eq!(state_from_presence(None), "null");
        assert_eq!(presence_from_state("null", "#000000"), None);
    }

    #[test]
    fn odd_states_get_defaults() {
        let p = presence_from_state("{}", "#123456").expect("presence");
        assert_eq!(
            (p.name.as_str(), p.color.as_str(), p.cursor),
            ("Yjs user", "#123456", None)
        );
        let long = format!(
            r#"{{"user":{{"name":"{}","color":"red"}}}}"#,
            "n".repeat(100)
        );
        let p = presence_from_state(&long, "#123456").expect("presence");
        assert_eq!(p.name.len(), Presence::MAX_NAME_CHARS);
        assert_eq!(p.color, "#123456");
        assert!(p.validate().is_ok());
        assert_eq!(presence_from_state("not json", "#123456"), None);
    }
}
