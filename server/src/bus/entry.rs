//! What the bus keeps in Redis: key names, stream ids, and the fields of an
//! entry, read from the raw replies without trusting them.
//!
//! One stream per room, `tandem:room:{name}`. An entry is either a committed
//! update (`n` node id, `s`/`e` the first and last log sequence numbers it
//! covers — today always one row — `u` the v1 update, and `t` when the
//! publisher handed it to Redis, microseconds since the Unix epoch on its
//! clock, for the delivery lag metric) or a resync marker (`n`, `r`): the
//! node could not publish some of its commits, so readers reload the room
//! from the store; or a presence (`n`, `c` the connection, `p` its presence
//! as JSON, or `l` when it left), ephemeral; or a presence query (`n`, `q`):
//! the node just loaded the room and asks every node holding it to publish
//! its members' presence again; or a links change (`n`, `k`): an editor
//! changed the room's share links in the store, so nodes holding the room
//! read them again and bring their connections in line; or an authorship
//! change (`n`, `a` as JSON): who wrote with which client id, committed
//! with the rows that follow it (published before them, so the nodes
//! applying them know who wrote them; issue 28).

use bytes::Bytes;
use redis::Value;
use tandem_shared::RoomId;

/// The stream of `room`.
pub(crate) fn room_key(room: &RoomId) -> String {
    format!("tandem:room:{room}")
}

/// The stream a node's reader also waits on, so a newly loaded room is
/// read at once rather than after the current blocking read times out.
pub(crate) fn wake_key(node: &str) -> String {
    format!("tandem:wake:{node}")
}

/// The set of every node that announced itself (`liveness`). The Lua
/// scripts of `tracking` spell this key and the two below as well.
pub(super) const NODES: &str = "tandem:nodes";

/// A node's liveness key, which expires unless refreshed.
pub(super) fn node_key(node: &str) -> String {
    format!("tandem:node:{node}")
}

/// The hash holding a node's connection counts (`tracking`).
pub(super) fn conns_key(node: &str) -> String {
    format!("tandem:conns:{node}")
}

/// A stream entry id, `milliseconds-sequence`, ordered as Redis orders them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub(crate) struct StreamId(pub(crate) u64, pub(crate) u64);

impl StreamId {
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let (ms, seq) = text.split_once('-')?;
        Some(Self(ms.parse().ok()?, seq.parse().ok()?))
    }
}

impl std::fmt::Display for StreamId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.0, self.1)
    }
}

/// One entry read from a room's stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Entry {
    /// Rows `first..=last` committed by `node`, merged into `update`.
    Update {
        node: String,
        first: u64,
        last: u64,
        update: Bytes,
        /// When it was published (µs since the epoch, the publisher's
        /// clock); `None` from a node that does not say.
        published_us: Option<u64>,
    },
    /// `node` lost some publishes: reload the room from the store.
    Resync { node: String },
    /// Connection `client` of `node` set its presence (JSON) or, `None`, left.
    Presence {
        node: String,
        client: u64,
        presence: Option<String>,
    },
    /// `node` loaded the room: every node holding it republishes its members' presence.
    PresenceQuery { node: String },
    /// `node` changed the room's share links in the store.
    Links { node: String },
    /// `node` recorded a change of the room's authorship (JSON of a
    /// `tandem_shared::authors::Authorship`), stored with the rows it
    /// publishes next.
    Authors { node: String, authors: String },
}

pub(crate) fn text(value: &Value) -> Option<String> {
    match value {
        Value::BulkString(bytes) => String::from_utf8(bytes.clone()).ok(),
        Value::SimpleString(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        _ => None,
    }
}

/// The fields of an entry (`[k1, v1, k2, v2…]`) as an [`Entry`]; `None` for
/// anything malformed.
pub(crate) fn parse_fields(fields: &Value) -> Option<Entry> {
    let Value::Array(items) = fields else {
        return None;
    };
    let (mut node, mut first, mut last, mut update, mut resync) = (None, None, None, None, false);
    let (mut client, mut presence, mut left, mut query, mut published_us) =
        (None, None, false, false, None);
    let mut links = false;
    let mut authors = None;
    for pair in items.chunks(2) {
        let [key, value] = pair else { return None };
        match text(key)?.as_str() {
            "n" => node = text(value),
            "s" => first = text(value)?.parse().ok(),
            "e" => last = text(value)?.parse().ok(),
            "u" => match value {
                Value::BulkString(bytes) => update = Some(Bytes::copy_from_slice(bytes)),
                _ => return None,
            },
            "r" => resync = true,
            "c" => client = text(value)?.parse().ok(),
            "p" => presence = text(value),
            "l" => left = true,
            "q" => query = true,
            "k" => links = true,
            "a" => authors = text(value),
            // Only a clock reading for a metric: a bad one is ignored.
            "t" => published_us = text(value).and_then(|t| t.parse().ok()),
            _ => {}
        }
    }
    let node = node?;
    if resync {
        return Some(Entry::Resync { node });
    }
    if query {
        return Some(Entry::PresenceQuery { node });
    }
    if links {
        return Some(Entry::Links { node });
    }
    if let Some(authors) = authors {
        return Some(Entry::Authors { node, authors });
    }
    if let Some(client) = client {
        if presence.is_none() && !left {
            return None;
        }
        return Some(Entry::Presence {
            node,
            client,
            presence,
        });
    }
    Some(Entry::Update {
        node,
        first: first?,
        last: last?,
        update: update?,
        published_us,
    })
}

/// Entries of one stream with their ids; `None` for a malformed one.
pub(crate) type StreamEntries = Vec<(StreamId, Option<Entry>)>;

/// An `XREAD` reply: per stream key, its entries.
pub(crate) fn parse_xread(reply: &Value) -> Vec<(String, StreamEntries)> {
    let streams: Vec<(&Value, &Value)> = match reply {
        Value::Array(streams) => streams
            .iter()
            .filter_map(|s| match s {
                Value::Array(kv) if kv.len() == 2 => Some((&kv[0], &kv[1])),
                _ => None,
            })
            .collect(),
        Value::Map(map) => map.iter().map(|(k, v)| (k, v)).collect(),
        _ => Vec::new(),
    };
    streams
        .into_iter()
        .filter_map(|(key, entries)| {
            let key = text(key)?;
            let Value::Array(entries) = entries else {
                return None;
            };
            let entries = entries
                .iter()
                .filter_map(|entry| match entry {
                    Value::Array(parts) if parts.len() == 2 => {
                        let id = StreamId::parse(&text(&parts[0])?)?;
                        Some((id, parse_fields(&parts[1])))
                    }
                    _ => None,
                })
                .collect();
            Some((key, entries))
        })
        .collect()
}

/// The id of the one entry an `XREVRANGE … COUNT 1` returned; the zero id
/// for an empty or missing stream.
pub(crate) fn parse_last_id(reply: &Value) -> StreamId {
    match reply {
        Value::Array(entries) => entries
            .first()
            .and_then(|entry| match entry {
                Value::Array(parts) => parts.first().and_then(text),
                _ => None,
            })
            .and_then(|id| StreamId::parse(&id))
            .unwrap_or_default(),
        _ => StreamId::default(),
    }
}

/// `max-deleted-entry-id` from an `XINFO STREAM` reply: everything up to it
/// was trimmed away.
pub(crate) fn parse_max_deleted(reply: &Value) -> Option<StreamId> {
    let pairs: Vec<(&Value, &Value)> = match reply {
        Value::Array(items) => items
            .chunks(2)
            .filter_map(|p| match p {
                [k, v] => Some((k, v)),
                _ => None,
            })
            .collect(),
        Value::Map(map) => map.iter().map(|(k, v)| (k, v)).collect(),
        _ => return None,
    };
    pairs
        .into_iter()
        .find(|(k, _)| text(k).as_deref() == Some("max-deleted-entry-id"))
        .and_then(|(_, v)| StreamId::parse(&text(v)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    #[test]
    fn entries_read_back_and_junk_is_refused() {
        let fields = Value::Array(vec![
            bulk("n"),
            bulk("node-a"),
            bulk("s"),
            bulk("4"),
            bulk("e"),
            bulk("6"),
            bulk("u"),
            Value::BulkString(vec![0, 1, 2]),
        ]);
        assert_eq!(
            parse_fields(&fields),
            Some(Entry::Update {
                node: "node-a".into(),
                first: 4,
                last: 6,
                update: Bytes::from_static(&[0, 1, 2]),
                published_us: None,
            })
        );
        let mut timed = fields.clone();
        if let Value::Array(items) = &mut timed {
            items.extend([bulk("t"), bulk("1700000000000123")]);
        }
        assert!(matches!(
            parse_fields(&timed),
            Some(Entry::Update {
                published_us: Some(1_700_000_000_000_123),
                ..
            })
        ));
        let query = Value::Array(vec![bulk("n"), bulk("b"), bulk("q"), bulk("1")]);
        assert_eq!(
            parse_fields(&query),
            Some(Entry::PresenceQuery { node: "b".into() })
        );
        let authors = Value::Array(vec![bulk("n"), bulk("b"), bulk("a"), bulk("{}")]);
        assert_eq!(
            parse_fields(&authors),
            Some(Entry::Authors {
                node: "b".into(),
                authors: "{}".into()
            })
        );
        let links = Value::Array(vec![bulk("n"), bulk("b"), bulk("k"), bulk("1")]);
        assert_eq!(
            parse_fields(&links),
            Some(Entry::Links { node: "b".into() })
        );
        let marker = Value::Array(vec![bulk("n"), bulk("b"), bulk("r"), bulk("1")]);
        assert_eq!(
            parse_fields(&marker),
            Some(Entry::Resync { node: "b".into() })
        );
        let junk = Value::Array(vec![bulk("n"), bulk("a"), bulk("s"), bulk("x")]);
        assert_eq!(parse_fields(&junk), None);
        assert_eq!(parse_fields(&Value::Int(3)), None);
    }

    #[test]
    fn presence_entries_read_back() {
        let set = Value::Array(vec![
            bulk("n"),
            bulk("a"),
            bulk("c"),
            bulk("7"),
            bulk("p"),
            bulk("{}"),
        ]);
        assert_eq!(
            parse_fields(&set),
            Some(Entry::Presence {
                node: "a".into(),
                client: 7,
                presence: Some("{}".into()),
            })
        );
        let left = Value::Array(vec![
            bulk("n"),
            bulk("a"),
            bulk("c"),
            bulk("7"),
            bulk("l"),
            bulk("1"),
        ]);
        assert!(matches!(
            parse_fields(&left),
            Some(Entry::Presence { presence: None, .. })
        ));
        let neither = Value::Array(vec![bulk("n"), bulk("a"), bulk("c"), bulk("7")]);
        assert_eq!(parse_fields(&neither), None);
    }

    #[test]
    fn stream_ids_order_numerically() {
        let a = StreamId::parse("99-5").expect("id");
        let b = StreamId::parse("100-0").expect("id");
        assert!(a < b);
        assert_eq!(b.to_string(), "100-0");
        assert_eq!(StreamId::parse("nope"), None);
    }
}
