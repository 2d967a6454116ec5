//! The Tandem protocol, version 1 (`tandem.v1`).
//!
//! ```text
//! One WebSocket per browser tab, opened with
//!
//!   GET /ws/{room}            room: 1–64 of [A-Za-z0-9_-], else HTTP 400
//!   Sec-WebSocket-Protocol: tandem.v1
//!
//! and no share key in the URL (`?key=` is HTTP 400: URLs reach logs). Text
//! frames carry JSON control messages (ServerMsg / ClientMsg), one per frame,
//! each an object whose "type" names it. Binary frames carry CRDT sync in the
//! standard y-sync encoding (the one yrs::sync and y-protocols use), one
//! message per frame:
//!
//!   frame      = varuint(0 = sync) sync-msg
//!   sync-msg   = varuint(0) buf(state vector)     sync step 1
//!              | varuint(1) buf(update v1)        sync step 2
//!              | varuint(2) buf(update v1)        update
//!   buf(x)     = varuint(len x) x
//!
//! Session
//!
//!   client                                   server
//!     |  HTTP upgrade, tandem.v1  ------------->|  validates room, origin, capacity
//!     |<--------------  101 Switching Protocols |
//!     |  text {"type":"hello","key":…}  ------->|  first frame: the share key, or null
//!     |<-----------  text {"type":"welcome",…}  |  client id, room, protocol, read-only
//!     |<--------------  binary step 1 (sv_s)    |  the server's state vector
//!     |  binary step 1 (sv_c)  ---------------->|
//!     |<--------------  binary step 2 (Δ c)     |  all the client misses
//!     |  binary step 2 (Δ s)  ----------------->|  all the server misses: counted as an update
//!     |  binary update  ----------------------->|  each local edit, as it happens
//!     |<--------------  binary update           |  every other client's edits, relayed
//!     |<-----------  text {"type":"saved",n}    |  n of this connection's updates are on disk
//!     |  text {"type":"ping"}  ---------------->|  app heartbeat (browsers cannot send pings)
//!     |<-----------  text {"type":"pong"}       |
//!     |<--------------  ping / pong frames ---->|  server heartbeat, answered by the browser
//!     |<------------->  close (code, reason)    |  see `close`
//! ```
//!
//! The hello comes first, at most [`MAX_HELLO_BYTES`]: the server sends
//! nothing for the room before it, then checks the key (1008 if it is not
//! valid for the room) and the room's capacity, and welcomes the client. The
//! client may send its step 1 right after the hello, without waiting for the
//! welcome. Anything else first closes with 4000, a larger hello with 1009,
//! and no hello within two heartbeat intervals with 4003.
//!
//! Delivery: TCP keeps each direction in order, CRDT updates commute and are
//! idempotent, and each (re)connect starts with the state-vector exchange, so
//! edits made while disconnected reach the other side exactly once in effect.
//!
//! View-only connections (`read_only` in the welcome) send no step 2 and no
//! updates: the server closes them with 1008 if they do.
//!
//! Rights can change while a connection is open, when an editor changes the
//! share link it was admitted with: `access_changed` says so (a connection
//! made view-only then has each update refused with an `error` of code
//! `read_only`, and stays open; one made an editor gets a fresh step 1 to
//! answer), and a revoked or expired link closes the connection with 4006.
//!
//! Authorship: the `hello` may carry the browser's author secret (never
//! shown to anyone: the server keeps a digest of it per room) and the
//! colour it prefers; the `welcome` carries the room's authorship (who
//! wrote with which client id, see [`crate::authors`]) and the colour the
//! room gives this connection, and an `authors` message every change of
//! the authorship, sent before the update it attributes.
//!
//! Durable acknowledgement: the server counts the sync step 2 and update
//! frames each connection sends (TCP order makes the count unambiguous). Once
//! the store has committed the first `n` of them it sends `saved` with `n`.
//! A client may consider an edit safe only when it is covered by a `saved`.

use std::fmt;

use serde::{Deserialize, Serialize};
use yrs::StateVector;
use yrs::encoding::read::{self, Read};
use yrs::encoding::write::Write;
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;

use crate::authors::Authorship;
use crate::{ClientId, RoomId};

/// The WebSocket subprotocol that names this protocol.
pub const SUBPROTOCOL: &str = "tandem.v1";
/// The protocol version carried in `welcome`.
pub const PROTOCOL_VERSION: u32 = 1;
/// The largest `hello` a server takes, in bytes of JSON; keys are at most
/// 34 characters (a share link's id, a dot, its tag).
pub const MAX_HELLO_BYTES: usize = 1024;

/// JSON control messages from the server, carried in text frames.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg {
    /// The server's first frame, once the `hello` is admitted: who you are
    /// and where you are.
    Welcome {
        /// Protocol version the server speaks ([`PROTOCOL_VERSION`]).
        protocol: u32,
        /// This connection's id, as others see it in presence.
        client_id: ClientId,
        /// The room this connection joined.
        room: RoomId,
        /// Whether this connection may only read: its updates are refused.
        read_only: bool,
        /// Everyone else in the room right now.
        peers: Vec<PeerPresence>,
        /// The room's share keys, given to the editors of a protected room
        /// so they can share edit and view links; `null` for view-only
        /// connections and in rooms opened by name (open to anyone who has
        /// the name, so there are no rights to hand out).
        share: Option<ShareKeys>,
        /// Who wrote what in this room so far: every author and every claim
        /// of a client id (see [`crate::authors`]); later changes come as
        /// [`ServerMsg::Authors`].
        #[serde(default)]
        authors: Authorship,
        /// The colour the room gives this connection (`#rrggbb`), distinct
        /// from the others present and from the document's other authors
        /// while the palette has room; a client shows itself in it (its
        /// `presence` colour) and its text is tinted with it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        color: Option<String>,
    },
    /// Another connection's presence changed (or it just joined).
    Presence(PeerPresence),
    /// Another connection left the room; forget its presence.
    PeerLeft {
        /// The connection that left.
        client_id: ClientId,
    },
    /// The first `updates` sync step 2 and update frames this connection sent
    /// are committed to durable storage.
    Saved {
        /// Count of this connection's update frames now durable.
        updates: u64,
    },
    /// Reply to a client [`ClientMsg::Ping`].
    Pong,
    /// The room's authorship changed: authors new or changed (in full: a
    /// person's latest name and colour) and new claims. Sent before the
    /// update whose items the claims cover, so a client knows who wrote
    /// text as it arrives. Merge it into the `welcome`'s with
    /// [`Authorship::merge`].
    Authors(Authorship),
    /// This connection's rights changed while it was open: an editor
    /// changed the right of the share link it was admitted with. From now
    /// on the server treats it as the `welcome` would have: a connection
    /// made read-only has its updates refused (each answered with an
    /// [`ErrorCode::ReadOnly`] error, the connection stays open); one made
    /// an editor is sent a fresh sync step 1 right after, which its step 2
    /// answers. A revoked or expired link closes the connection instead
    /// ([`crate::close::CloseCode::AccessRevoked`]).
    AccessChanged {
        /// Whether this connection may now only read.
        read_only: bool,
        /// The room's share keys, as `welcome.share` gives them: `null` for
        /// a connection that is now view-only.
        share: Option<ShareKeys>,
        /// Why, for the person: e.g. "an editor made this link view-only".
        reason: String,
    },
    /// Something the client sent was refused; the connection stays open.
    /// Fatal problems close the connection instead (see [`crate::close`]).
    Error {
        /// A stable, machine-readable code.
        code: ErrorCode,
        /// A short human explanation.
        reason: String,
    },
}

/// JSON control messages from the client, carried in text frames.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMsg {
    /// The first frame of every connection, and only the first: the key of
    /// the share link the client was opened with, carried inside the
    /// connection so it never appears in a URL (which servers and proxies
    /// log). The server decides the connection's rights from it.
    Hello {
        /// A share link's key (`{id}.{tag}`, see `crate::links`), or `null`
        /// for none.
        key: Option<String>,
        /// This browser's author secret: 16–64 of `A–Z a–z 0–9 - _`, random,
        /// kept by the browser. Its connections write as one author, whose
        /// id is a digest of the secret (the secret is shown to no one).
        /// Absent: this connection writes as an author of its own.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        author: Option<String>,
        /// The colour (`#rrggbb`) this person would like; the room gives it
        /// unless someone present or another author of the document has it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        color: Option<String>,
    },
    /// App-level heartbeat; the server answers [`ServerMsg::Pong`].
    Ping,
    /// This connection's presence: who is typing, and where.
    Presence(Presence),
}

/// The keys that make a room's share links: `/d/{room}#key={edit}` lets
/// people edit, `/d/{room}#key={view}` only read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareKeys {
    /// Grants editing.
    pub edit: String,
    /// Grants reading.
    pub view: String,
}

/// The answer of `POST /api/rooms`: a new protected room and its keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedRoom {
    /// The room's name.
    pub room: RoomId,
    /// Key of the edit link.
    pub edit_key: String,
    /// Key of the view link.
    pub view_key: String,
}

/// What a client says about itself to the room.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Presence {
    /// Display name, 1–[`Presence::MAX_NAME_CHARS`] characters.
    pub name: String,
    /// Colour as `#rrggbb`.
    pub color: String,
    /// Caret and selection in the document body, or `None` when not editing it.
    pub cursor: Option<Cursor>,
}

/// A caret with its selection, as relative positions (yrs `StickyIndex`, the
/// JSON form of Yjs's `RelativePosition`), so it stays on the same characters
/// while others edit around it. `anchor == head` is a plain caret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    /// Where the selection started.
    pub anchor: yrs::StickyIndex,
    /// Where the selection ends: the caret.
    pub head: yrs::StickyIndex,
}

/// A presence entry as the server relays it: the client's own [`Presence`]
/// plus the connection it belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeerPresence {
    /// The connection this presence belongs to.
    pub client_id: ClientId,
    /// Display name.
    pub name: String,
    /// Colour as `#rrggbb`.
    pub color: String,
    /// Caret and selection, if any.
    pub cursor: Option<Cursor>,
}

impl Presence {
    /// Longest display name, in characters.
    pub const MAX_NAME_CHARS: usize = 48;

    /// Checks the fields against the documented rules; the error says which.
    pub fn validate(&self) -> Result<(), &'static str> {
        let chars = self.name.chars().count();
        if self.name.trim().is_empty() || chars > Self::MAX_NAME_CHARS {
            return Err("name must be 1 to 48 characters");
        }
        if self.name.chars().any(char::is_control) {
            return Err("name must not contain control characters");
        }
        let hex = self.color.strip_prefix('#').unwrap_or_default();
        if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err("color must be #rrggbb");
        }
        Ok(())
    }

    /// This presence as the server relays it for `client_id`.
    pub fn for_peer(self, client_id: ClientId) -> PeerPresence {
        PeerPresence {
            client_id,
            name: self.name,
            color: self.color,
            cursor: self.cursor,
        }
    }
}

/// Stable codes of [`ServerMsg::Error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// A text frame was not a known JSON message.
    BadMessage,
    /// A presence message broke the rules of [`Presence::validate`].
    BadPresence,
    /// An update from a connection whose link was made view-only while it
    /// was open (see [`ServerMsg::AccessChanged`]): it was not applied,
    /// stored or relayed.
    ReadOnly,
    /// An update from a connection that may only comment (a comment link)
    /// changed more than the comments (`crate::comments`): it was not
    /// applied, stored or relayed.
    CommentOnly,
}

impl ServerMsg {
    /// The JSON text of this message.
    pub fn to_json(&self) -> String {
        // Serializing these types cannot fail: no maps with non-string keys, no
        // custom serializers that error.
        serde_json::to_string(self).unwrap_or_default()
    }
}

impl ClientMsg {
    /// The JSON text of this message.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Its `type`, e.g. `hello`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Hello { .. } => "hello",
            Self::Ping => "ping",
            Self::Presence(_) => "presence",
        }
    }
}

/// One binary frame: a y-sync message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncFrame {
    /// Sync step 1: the sender's state vector; the receiver answers with step 2.
    Step1(StateVector),
    /// Sync step 2: every change the receiver misses, as a v1 update.
    Step2(Vec<u8>),
    /// An incremental change, as a v1 update.
    Update(Vec<u8>),
}

/// y-sync's outer message tag for sync messages.
const MSG_SYNC: u32 = 0;
const SYNC_STEP_1: u32 = 0;
const SYNC_STEP_2: u32 = 1;
const SYNC_UPDATE: u32 = 2;

/// Why a binary frame is not a valid [`SyncFrame`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The frame ended before the message did, or a length was out of range.
    Truncated,
    /// The outer tag is a y-sync message Tandem's endpoint does not accept
    /// (awareness, auth, or an unknown tag).
    UnsupportedMessage(u32),
    /// The sync sub-tag is not step 1, step 2 or update.
    UnknownSyncType(u32),
    /// The state vector of a step 1 did not decode.
    BadStateVector,
    /// Bytes follow the message; a frame holds exactly one.
    TrailingBytes,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated => f.write_str("frame ends inside a message"),
            Self::UnsupportedMessage(tag) => write!(f, "unsupported y-sync message type {tag}"),
            Self::UnknownSyncType(tag) => write!(f, "unknown sync message type {tag}"),
            Self::BadStateVector => f.write_str("state vector does not decode"),
            Self::TrailingBytes => f.write_str("bytes after the end of the message"),
        }
    }
}

impl std::error::Error for DecodeError {}

impl From<read::Error> for DecodeError {
    fn from(_: read::Error) -> Self {
        Self::Truncated
    }
}

impl SyncFrame {
    /// The bytes of this message as a binary frame.
    pub fn encode(&self) -> Vec<u8> {
        let (sync_type, payload): (u32, &[u8]);
        let state_vector;
        match self {
            Self::Step1(sv) => {
                state_vector = sv.encode_v1();
                (sync_type, payload) = (SYNC_STEP_1, &state_vector);
            }
            Self::Step2(update) => (sync_type, payload) = (SYNC_STEP_2, update),
            Self::Update(update) => (sync_type, payload) = (SYNC_UPDATE, update),
        }
        let mut frame = Vec::with_capacity(payload.len() + 8);
        frame.write_var(MSG_SYNC);
        frame.write_var(sync_type);
        frame.write_buf(payload);
        frame
    }

    /// Parses one binary frame. The update payloads are not decoded here:
    /// whoever applies them validates them.
    pub fn decode(frame: &[u8]) -> Result<Self, DecodeError> {
        let mut cursor = read::Cursor::new(frame);
        let tag: u32 = cursor.read_var()?;
        if tag != MSG_SYNC {
            return Err(DecodeError::UnsupportedMessage(tag));
        }
        let sync_type: u32 = cursor.read_var()?;
        let payload = cursor.read_buf()?;
        let message = match sync_type {
            SYNC_STEP_1 => {
                crate::guard::check_state_vector_v1(payload)
                    .map_err(|_| DecodeError::BadStateVector)?;
                Self::Step1(
                    StateVector::decode_v1(payload).map_err(|_| DecodeError::BadStateVector)?,
                )
            }
            SYNC_STEP_2 => Self::Step2(payload.to_vec()),
            SYNC_UPDATE => Self::Update(payload.to_vec()),
            other => return Err(DecodeError::UnknownSyncType(other)),
        };
        if cursor.has_content() {
            return Err(DecodeError::TrailingBytes);
        }
        Ok(message)
    }

    /// A one-line description for logs and the frame inspector.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Step1(_) => "sync step 1",
            Self::Step2(_) => "sync step 2",
            Self::Update(_) => "update",
        }
    }
}

#[cfg(test)]
mod tests {
    use yrs::{GetString, ReadTxn, Text, Transact, Update};

    use super::*;

    fn room() -> RoomId {
        RoomId::new("quiet-otter").expect("valid room name")
    }

    #[test]
    fn server_messages_round_trip_as_readable_json() {
        let cases = [
            (
                ServerMsg::Welcome {
                    protocol: PROTOCOL_VERSION,
                    client_id: ClientId(7),
                    room: room(),
                    read_only: false,
                    peers: vec![peer()],
                    share: Some(ShareKeys {
                        edit: "e.abc".into(),
                        view: "v.def".into(),
                    }),
                    authors: Authorship::default(),
                    color: Some("#2f8636".into()),
                },
                r##"{"type":"welcome","protocol":1,"client_id":7,"room":"quiet-otter","read_only":false,"peers":[{"client_id":3,"name":"Ada","color":"#e06c75","cursor":{"anchor":{"item":{"client":99,"clock":4},"assoc":0},"head":{"tname":"content","assoc":-1}}}],"share":{"edit":"e.abc","view":"v.def"},"authors":{"authors":[],"claims":[]},"color":"#2f8636"}"##,
            ),
            (
                ServerMsg::Authors(Authorship {
                    authors: vec![crate::authors::Author {
                        id: crate::authors::AuthorId::new("pA1b2").expect("id"),
                        kind: crate::authors::AuthorKind::Person,
                        name: "Ada".into(),
                        color: "#2f8636".into(),
                        restored: None,
                    }],
                    claims: vec![crate::authors::Claim {
                        client: 1001,
                        clock: 0,
                        author: crate::authors::AuthorId::new("pA1b2").expect("id"),
                    }],
                }),
                r##"{"type":"authors","authors":[{"id":"pA1b2","kind":"person","name":"Ada","color":"#2f8636"}],"claims":[{"client":1001,"clock":0,"author":"pA1b2"}]}"##,
            ),
            (
                ServerMsg::Presence(PeerPresence {
                    cursor: None,
                    ..peer()
                }),
                r##"{"type":"presence","client_id":3,"name":"Ada","color":"#e06c75","cursor":null}"##,
            ),
            (
                ServerMsg::PeerLeft {
                    client_id: ClientId(3),
                },
                r#"{"type":"peer_left","client_id":3}"#,
            ),
            (
                ServerMsg::Saved { updates: 42 },
                r#"{"type":"saved","updates":42}"#,
            ),
            (ServerMsg::Pong, r#"{"type":"pong"}"#),
            (
                ServerMsg::AccessChanged {
                    read_only: true,
                    share: None,
                    reason: "an editor made this link view-only".into(),
                },
                r#"{"type":"access_changed","read_only":true,"share":null,"reason":"an editor made this link view-only"}"#,
            ),
            (
                ServerMsg::Error {
                    code: ErrorCode::ReadOnly,
                    reason: "this link is view-only now; the update was not applied".into(),
                },
                r#"{"type":"error","code":"read_only","reason":"this link is view-only now; the update was not applied"}"#,
            ),
            (
                ServerMsg::Error {
                    code: ErrorCode::BadMessage,
                    reason: "unknown type".into(),
                },
                r#"{"type":"error","code":"bad_message","reason":"unknown type"}"#,
            ),
        ];
        for (msg, json) in cases {
            assert_eq!(msg.to_json(), json);
            assert_eq!(serde_json::from_str::<ServerMsg>(json).ok(), Some(msg));
        }
    }

    fn peer() -> PeerPresence {
        PeerPresence {
            client_id: ClientId(3),
            name: "Ada".into(),
            color: "#e06c75".into(),
            cursor: Some(Cursor {
                anchor: yrs::StickyIndex::from_id(
                    yrs::ID::new(yrs::ClientID::new(99), 4),
                    yrs::Assoc::After,
                ),
                head: yrs::StickyIndex::new(
                    yrs::IndexScope::Root("content".into()),
                    yrs::Assoc::Before,
                ),
            }),
        }
    }

    #[test]
    fn client_messages_round_trip_as_readable_json() {
        let presence = Presence {
            name: "Ada".into(),
            color: "#e06c75".into(),
            cursor: None,
        };
        let cases = [
            (
                ClientMsg::Hello {
                    key: Some("e.YUu-WjA909Ne46-U4lgNwQ".into()),
                    author: None,
                    color: None,
                },
                r#"{"type":"hello","key":"e.YUu-WjA909Ne46-U4lgNwQ"}"#.to_string(),
            ),
            (
                ClientMsg::Hello {
                    key: None,
                    author: None,
                    color: None,
                },
                r#"{"type":"hello","key":null}"#.to_string(),
            ),
            (
                ClientMsg::Hello {
                    key: None,
                    author: Some("k3Jd9-Qp_2mZx8Lw".into()),
                    color: Some("#2f8636".into()),
                },
                r##"{"type":"hello","key":null,"author":"k3Jd9-Qp_2mZx8Lw","color":"#2f8636"}"##
                    .to_string(),
            ),
            (ClientMsg::Ping, r#"{"type":"ping"}"#.to_string()),
            (
                ClientMsg::Presence(presence),
                r##"{"type":"presence","name":"Ada","color":"#e06c75","cursor":null}"##.to_string(),
            ),
        ];
        for (msg, json) in cases {
            assert_eq!(msg.to_json(), json);
            assert!(json.contains(&format!("\"type\":\"{}\"", msg.kind())));
            assert_eq!(serde_json::from_str::<ClientMsg>(&json).ok(), Some(msg));
        }
        // A hello without the field has no key, as with `null`.
        assert_eq!(
            serde_json::from_str::<ClientMsg>(r#"{"type":"hello"}"#).ok(),
            Some(ClientMsg::Hello {
                key: None,
                author: None,
                color: None
            })
        );
        // A welcome from a server without authorship reads as an empty one.
        let old = r#"{"type":"welcome","protocol":1,"client_id":7,"room":"quiet-otter","read_only":false,"peers":[],"share":null}"#;
        assert!(matches!(
            serde_json::from_str::<ServerMsg>(old),
            Ok(ServerMsg::Welcome { authors, color: None, .. }) if authors.is_empty()
        ));
        assert!(serde_json::from_str::<ClientMsg>(r#"{"type":"hello","key":7}"#).is_err());
    }

    #[test]
    fn presence_rules() {
        let ok = Presence {
            name: "Ada Lovelace".into(),
            color: "#A0b1C2".into(),
            cursor: None,
        };
        assert_eq!(ok.validate(), Ok(()));
        let bad = |name: &str, color: &str| {
            Presence {
                name: name.into(),
                color: color.into(),
                cursor: None,
            }
            .validate()
        };
        assert!(bad("", "#000000").is_err());
        assert!(bad("   ", "#000000").is_err());
        assert!(bad(&"é".repeat(49), "#000000").is_err());
        assert!(bad(&"é".repeat(48), "#000000").is_ok());
        assert!(bad("tab\there", "#000000").is_err());
        for color in ["000000", "#00000", "#0000000", "#gggggg", "red", ""] {
            assert!(bad("Ada", color).is_err(), "{color}");
        }
    }

    #[test]
    fn malformed_json_is_refused() {
        for bad in [
            "",
            "{",
            r#"{"type":"nope"}"#,
            r#"{"kind":"ping"}"#,
            r#"{"type":"welcome","protocol":"one","client_id":1,"room":"r","read_only":false}"#,
            r#"{"type":"welcome","protocol":1,"client_id":1,"room":"no spaces","read_only":false}"#,
        ] {
            assert!(serde_json::from_str::<ServerMsg>(bad).is_err(), "{bad}");
        }
        assert!(serde_json::from_str::<ClientMsg>(r#"{"type":"pong"}"#).is_err());
    }

    fn sample_update() -> (yrs::Doc, Vec<u8>) {
        let doc = crate::doc::new_doc();
        let text = doc.get_or_insert_text(crate::doc::CONTENT);
        let mut txn = doc.transact_mut();
        text.insert(&mut txn, 0, "héllo 👋");
        let update = txn.encode_update_v1();
        drop(txn);
        (doc, update)
    }

    #[test]
    fn sync_frames_round_trip() {
        let (doc, update) = sample_update();
        let sv = doc.transact().state_vector();
        for frame in [
            SyncFrame::Step1(StateVector::default()),
            SyncFrame::Step1(sv),
            SyncFrame::Step2(update.clone()),
            SyncFrame::Update(update),
            SyncFrame::Update(Vec::new()),
        ] {
            assert_eq!(SyncFrame::decode(&frame.encode()), Ok(frame));
        }
    }

    #[test]
    fn sync_frames_match_the_y_sync_encoding() {
        // What a stock Yjs client (y-protocols) sends as its first frame for an
        // empty document: sync, step 1, a one-byte state vector holding 0 clients.
        assert_eq!(
            SyncFrame::Step1(StateVector::default()).encode(),
            [0, 0, 1, 0]
        );
        let (_, update) = sample_update();
        let frame = SyncFrame::Update(update.clone()).encode();
        let yrs_frame =
            yrs::sync::Message::Sync(yrs::sync::SyncMessage::Update(update)).encode_v1();
        assert_eq!(frame, yrs_frame);
    }

    #[test]
    fn updates_survive_the_frame() {
        let (doc, update) = sample_update();
        let Ok(SyncFrame::Update(bytes)) = SyncFrame::decode(&SyncFrame::Update(update).encode())
        else {
            panic!("update frame did not decode");
        };
        let copy = crate::doc::new_doc();
        let text = copy.get_or_insert_text(crate::doc::CONTENT);
        copy.transact_mut()
            .apply_update(Update::decode_v1(&bytes).expect("update decodes"))
            .expect("update applies");
        let original = doc.get_or_insert_text(crate::doc::CONTENT);
        assert_eq!(
            text.get_string(&copy.transact()),
            original.get_string(&doc.transact())
        );
    }

    #[test]
    fn bad_frames_are_refused() {
        assert_eq!(SyncFrame::decode(&[]), Err(DecodeError::Truncated));
        assert_eq!(SyncFrame::decode(&[0]), Err(DecodeError::Truncated));
        assert_eq!(
            SyncFrame::decode(&[0, 2, 5, 1]),
            Err(DecodeError::Truncated)
        );
        assert_eq!(
            SyncFrame::decode(&[1, 0]),
            Err(DecodeError::UnsupportedMessage(1))
        );
        assert_eq!(
            SyncFrame::decode(&[7, 0]),
            Err(DecodeError::UnsupportedMessage(7))
        );
        assert_eq!(
            SyncFrame::decode(&[0, 9, 0]),
            Err(DecodeError::UnknownSyncType(9))
        );
        assert_eq!(
            SyncFrame::decode(&[0, 2, 0, 0]),
            Err(DecodeError::TrailingBytes)
        );
        assert_eq!(
            SyncFrame::decode(&[0, 0, 1, 0xff]),
            Err(DecodeError::BadStateVector)
        );
        // A length prefix claiming ~4 GiB must fail fast, not allocate.
        assert_eq!(
            SyncFrame::decode(&[0, 2, 0xff, 0xff, 0xff, 0xff, 0x0f]),
            Err(DecodeError::Truncated)
        );
    }
}
