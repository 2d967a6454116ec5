//! What a client sends, decoded without I/O: a Tandem client's first frame
//! becomes the key of its `hello` ([`before_hello`]), and each data frame
//! after that a room command, a reply to the client, or the close that
//! refuses it.
//!
//! Decoding runs on the connection's task, not the room's, so the room's one
//! thread only applies. Updates are checked here before the room sees them:
//! their structure first (`guard::check_update_v1`, because yrs trusts counts
//! and nesting), then yrs's decoder, under `catch_unwind`. A Tandem client's
//! malformed JSON is answered with an `error` frame and the connection stays;
//! everything else that is malformed closes it.
//!
//! | frame | refused with |
//! |---|---|
//! | a Tandem client's first frame, when it is not a `hello` (binary, another message, not JSON) | [`CloseCode::BadMessage`] |
//! | a `hello` over [`MAX_HELLO_BYTES`] | [`CloseCode::TooBig`] |
//! | binary, not a y-sync message (or not y-websocket on `/yjs`) | [`CloseCode::BadMessage`] |
//! | an update that does not pass the guard or decode | [`CloseCode::InvalidUpdate`] |
//! | a Yjs awareness state over the presence limit | [`CloseCode::BadMessage`] |
//! | text on `/yjs` | [`CloseCode::BadMessage`] |
//! | text or a close reason that is not UTF-8 (seen by the codec, [`super::frame`]) | [`CloseCode::InvalidPayload`] |
//! | a message over the size limit (seen by the codec) | [`CloseCode::TooBig`] |
//! | a WebSocket protocol violation (seen by the codec) | [`CloseCode::ProtocolError`] |
//! | a compressed message that does not inflate or breaks RFC 7692's framing (seen by the codec) | [`CloseCode::ProtocolError`] |

use std::panic::catch_unwind;

use axum::extract::ws::Message;
use bytes::Bytes;
use tandem_shared::close::{Close, CloseCode};
use tandem_shared::guard::check_update_v1;
use tandem_shared::protocol::MAX_HELLO_BYTES;
use tandem_shared::yjs::YjsFrame;
use tandem_shared::{ClientId, ClientMsg, ErrorCode, ServerMsg, SyncFrame};
use yrs::Update;

use yrs::updates::decoder::Decode;

use crate::room::{Announced, AwarenessReader, Dialect, RoomCmd, check_presence};

/// What the reader does with one data frame.
#[derive(Debug)]
pub(super) enum Inbound {
    /// Hand it to the room.
    Room(RoomCmd),
    /// Answer the client directly; the connection stays.
    Reply(ServerMsg),
    /// Nothing to do (a Yjs client's awareness about other clients).
    Nothing,
}

/// Decodes one connection's data frames.
#[derive(Debug)]
pub(super) struct FrameDecoder {
    /// The connection, named in the room commands.
    client: ClientId,
    /// The protocol it speaks.
    dialect: Dialect,
    /// For a Yjs client: which awareness client it speaks for.
    awareness: AwarenessReader,
}

impl FrameDecoder {
    /// A decoder for connection `client` speaking `dialect`.
    pub(super) fn new(client: ClientId, dialect: Dialect) -> Self {
        Self {
            client,
            dialect,
            awareness: AwarenessReader::default(),
        }
    }

    /// A binary frame.
    pub(super) fn binary(&mut self, frame: Bytes) -> Result<Inbound, Close> {
        match self.dialect {
            Dialect::Tandem => decode_sync(self.client, frame).map(Inbound::Room),
            Dialect::Yjs => Ok(decode_yjs(self.client, frame, &mut self.awareness)?
                .map_or(Inbound::Nothing, Inbound::Room)),
        }
    }

    /// A text frame (the codec has checked it is UTF-8).
    pub(super) fn text(&self, text: &str) -> Result<Inbound, Close> {
        match self.dialect {
            Dialect::Tandem => Ok(decode_text(self.client, text)),
            Dialect::Yjs => Err(Close::new(
                CloseCode::BadMessage,
                "this endpoint speaks binary y-websocket frames only",
            )),
        }
    }
}

/// What a Tandem client's `hello` presented.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Hello {
    /// The share key (`None`: no key).
    pub(super) key: Option<String>,
    /// The browser's author secret, checked for form
    /// (`tandem_shared::authors::valid_secret`).
    pub(super) author: Option<String>,
    /// The colour it would like, `#rrggbb`.
    pub(super) color: Option<String>,
}

/// What a frame means while the server waits for a Tandem client's hello.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum BeforeHello {
    /// The hello.
    Hello(Hello),
    /// A ping or pong: keep waiting.
    Wait,
    /// The client closed.
    Closed,
    /// Anything else: the close that refuses it.
    Refused(Close),
}

/// A frame that arrived while the server waits for the hello.
pub(super) fn before_hello(message: &Message) -> BeforeHello {
    match message {
        Message::Text(text) => match decode_hello(text) {
            Ok(hello) => BeforeHello::Hello(hello),
            Err(close) => BeforeHello::Refused(close),
        },
        Message::Binary(_) => BeforeHello::Refused(Close::new(
            CloseCode::BadMessage,
            "the first message must be a hello, not a binary frame",
        )),
        Message::Ping(_) | Message::Pong(_) => BeforeHello::Wait,
        Message::Close(_) => BeforeHello::Closed,
    }
}

/// A first text frame: what its `hello` presented, or the close that
/// refuses it (also an author secret or colour that breaks its rule).
pub(super) fn decode_hello(text: &str) -> Result<Hello, Close> {
    if text.len() > MAX_HELLO_BYTES {
        return Err(Close::new(
            CloseCode::TooBig,
            format!("hello larger than {MAX_HELLO_BYTES} bytes"),
        ));
    }
    match serde_json::from_str::<ClientMsg>(text) {
        Ok(ClientMsg::Hello { key, author, color }) => {
            if author
                .as_deref()
                .is_some_and(|a| !tandem_shared::authors::valid_secret(a))
            {
                return Err(Close::new(
                    CloseCode::BadMessage,
                    "the hello's author must be 16 to 64 of A-Z a-z 0-9 - _",
                ));
            }
            if color
                .as_deref()
                .is_some_and(|c| tandem_shared::palette::rgb(c).is_none())
            {
                return Err(Close::new(
                    CloseCode::BadMessage,
                    "the hello's color must be #rrggbb",
                ));
            }
            Ok(Hello { key, author, color })
        }
        Ok(other) => Err(Close::new(
            CloseCode::BadMessage,
            format!("the first message must be a hello, not {}", other.kind()),
        )),
        Err(err) => Err(Close::new(
            CloseCode::BadMessage,
            format!("the first message must be a hello: {err}"),
        )),
    }
}

/// A y-sync frame (Tandem's binary frames, and the sync frames of the Yjs
/// dialect) as a room command, or the close to answer it with.
pub(super) fn decode_sync(client: ClientId, frame: Bytes) -> Result<RoomCmd, Close> {
    let decoded = SyncFrame::decode(&frame)
        .map_err(|err| Close::new(CloseCode::BadMessage, format!("bad sync frame: {err}")))?;
    match decoded {
        SyncFrame::Step1(state_vector) => Ok(RoomCmd::StateVector {
            client,
            state_vector,
        }),
        SyncFrame::Step2(payload) | SyncFrame::Update(payload) => {
            let invalid = |why: String| {
                Close::new(CloseCode::InvalidUpdate, format!("invalid update: {why}"))
            };
            // Check the structure first: yrs trusts counts and nesting (see `guard`).
            check_update_v1(&payload).map_err(|err| invalid(err.to_string()))?;
            let update = catch_unwind(|| Update::decode_v1(&payload))
                .map_err(|_| invalid("the update made the decoder panic".into()))?
                .map_err(|err| invalid(err.to_string()))?;
            // The payload is the tail of the frame (decode checked nothing
            // follows it), so it can be shared instead of copied.
            let raw = frame.slice(frame.len() - payload.len()..);
            Ok(RoomCmd::Update {
                received: std::time::Instant::now(),
                client,
                update,
                raw,
            })
        }
    }
}

/// A y-websocket frame as a room command (`None`: nothing to do), or the
/// close to answer it with.
pub(super) fn decode_yjs(
    client: ClientId,
    frame: Bytes,
    awareness: &mut AwarenessReader,
) -> Result<Option<RoomCmd>, Close> {
    let decoded = YjsFrame::decode(&frame).map_err(|err| {
        Close::new(
            CloseCode::BadMessage,
            format!("bad y-websocket frame: {err}"),
        )
    })?;
    match decoded {
        YjsFrame::Sync(_) => decode_sync(client, frame).map(Some),
        YjsFrame::AwarenessQuery => Ok(Some(RoomCmd::AwarenessQuery { client })),
        YjsFrame::Awareness(entries) => Ok(awareness.read(client, entries)?.map(
            |Announced {
                 presence,
                 awareness,
             }| RoomCmd::Presence {
                client,
                presence,
                awareness: Some(awareness),
            },
        )),
    }
}

/// A Tandem client's text frame: a ping is answered, a valid presence goes
/// to the room, and anything else is answered with an `error` frame.
pub(super) fn decode_text(client: ClientId, text: &str) -> Inbound {
    match serde_json::from_str::<ClientMsg>(text) {
        Ok(ClientMsg::Ping) => Inbound::Reply(ServerMsg::Pong),
        // The key was decided at admission; a later one changes nothing.
        Ok(ClientMsg::Hello { .. }) => Inbound::Reply(ServerMsg::Error {
            code: ErrorCode::BadMessage,
            reason: "a hello comes once, as the first message".into(),
        }),
        Ok(ClientMsg::Presence(presence)) => match check_presence(text, presence) {
            Ok(presence) => Inbound::Room(RoomCmd::Presence {
                client,
                presence: Some(presence),
                awareness: None,
            }),
            Err(reason) => Inbound::Reply(ServerMsg::Error {
                code: ErrorCode::BadPresence,
                reason,
            }),
        },
        Err(err) => Inbound::Reply(ServerMsg::Error {
            code: ErrorCode::BadMessage,
            reason: format!("not a Tandem message: {err}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use tandem_shared::Presence;
    use tandem_shared::yjs::AwarenessEntry;
    use yrs::{ReadTxn, StateVector, Text, Transact};

    use super::*;
    use crate::room::MAX_PRESENCE_BYTES;

    const ME: ClientId = ClientId(7);

    /// A valid v1 update typing "hi".
    fn an_update() -> Vec<u8> {
        let doc = yrs::Doc::new();
        let text = doc.get_or_insert_text("content");
        text.insert(&mut doc.transact_mut(), 0, "hi");
        doc.transact()
            .encode_state_as_update_v1(&StateVector::default())
    }

    fn refused(result: Result<impl std::fmt::Debug, Close>) -> (CloseCode, String) {
        let close = result.expect_err("refused");
        (close.code, close.reason)
    }

    fn presence_json(name: &str) -> String {
        ClientMsg::Presence(Presence {
            name: name.into(),
            color: "#30bced".into(),
            cursor: None,
        })
        .to_json()
    }

    #[test]
    fn the_first_frame_is_a_hello_with_its_key() {
        let hello = |key: Option<&str>| {
            Message::Text(
                ClientMsg::Hello {
                    key: key.map(str::to_owned),
                    author: None,
                    color: None,
                }
                .to_json()
                .into(),
            )
        };
        let keyed = |key: Option<&str>| {
            BeforeHello::Hello(Hello {
                key: key.map(str::to_owned),
                ..Hello::default()
            })
        };
        assert_eq!(before_hello(&hello(Some("e.abc"))), keyed(Some("e.abc")));
        assert_eq!(before_hello(&hello(None)), keyed(None));
        assert_eq!(
            before_hello(&Message::Text(r#"{"type":"hello"}"#.into())),
            keyed(None)
        );
        let authored =
            r##"{"type":"hello","key":null,"author":"abcdefghijklmnop","color":"#2f8636"}"##;
        assert_eq!(
            before_hello(&Message::Text(authored.into())),
            BeforeHello::Hello(Hello {
                key: None,
                author: Some("abcdefghijklmnop".into()),
                color: Some("#2f8636".into()),
            })
        );
        assert_eq!(
            before_hello(&Message::Ping(Bytes::new())),
            BeforeHello::Wait
        );
        assert_eq!(
            before_hello(&Message::Pong(Bytes::new())),
            BeforeHello::Wait
        );
        assert_eq!(before_hello(&Message::Close(None)), BeforeHello::Closed);
    }

    #[test]
    fn anything_else_first_is_refused_with_a_reason() {
        let refused = |message: Message| match before_hello(&message) {
            BeforeHello::Refused(close) => (close.code, close.reason),
            other => panic!("{other:?}"),
        };
        let step1 = SyncFrame::Step1(StateVector::default()).encode();
        assert_eq!(
            refused(Message::Binary(step1.into())),
            (
                CloseCode::BadMessage,
                "the first message must be a hello, not a binary frame".into()
            )
        );
        assert_eq!(
            refused(Message::Text(ClientMsg::Ping.to_json().into())),
            (
                CloseCode::BadMessage,
                "the first message must be a hello, not ping".into()
            )
        );
        for bad in [
            "not json",
            r#"{"type":"hello","key":7}"#,
            r#"{"key":"e.abc"}"#,
        ] {
            let (code, reason) = refused(Message::Text(bad.into()));
            assert_eq!(code, CloseCode::BadMessage, "{bad}");
            assert!(
                reason.starts_with("the first message must be a hello: "),
                "{reason}"
            );
        }
        let short = r#"{"type":"hello","key":null,"author":"short"}"#;
        assert_eq!(
            refused(Message::Text(short.into())),
            (
                CloseCode::BadMessage,
                "the hello's author must be 16 to 64 of A-Z a-z 0-9 - _".into()
            )
        );
        let red = r#"{"type":"hello","key":null,"color":"red"}"#;
        assert_eq!(
            refused(Message::Text(red.into())),
            (
                CloseCode::BadMessage,
                "the hello's color must be #rrggbb".into()
            )
        );
        let key = "e.".to_owned() + &"A".repeat(MAX_HELLO_BYTES);
        let big = ClientMsg::Hello {
            key: Some(key),
            author: None,
            color: None,
        }
        .to_json();
        assert_eq!(
            refused(Message::Text(big.into())),
            (
                CloseCode::TooBig,
                format!("hello larger than {MAX_HELLO_BYTES} bytes")
            )
        );
    }

    #[test]
    fn sync_frames_become_room_commands() {
        let step1 = SyncFrame::Step1(StateVector::default()).encode();
        assert!(matches!(
            decode_sync(ME, step1.into()),
            Ok(RoomCmd::StateVector { client: ME, .. })
        ));
        let payload = an_update();
        for frame in [
            SyncFrame::Update(payload.clone()),
            SyncFrame::Step2(payload.clone()),
        ] {
            let Ok(RoomCmd::Update { client, raw, .. }) = decode_sync(ME, frame.encode().into())
            else {
                panic!("an update");
            };
            assert_eq!(client, ME);
            assert_eq!(
                raw.as_ref(),
                payload.as_slice(),
                "the payload, not the frame"
            );
        }
    }

    #[test]
    fn binary_frames_that_are_not_y_sync_are_bad_messages() {
        for frame in [&[][..], &[9, 0], &[0, 7], &[0, 0, 0xff]] {
            let (code, reason) = refused(decode_sync(ME, Bytes::copy_from_slice(frame)));
            assert_eq!(code, CloseCode::BadMessage, "{frame:?}");
            assert!(reason.starts_with("bad sync frame: "), "{reason}");
        }
    }

    #[test]
    fn updates_that_do_not_pass_the_guard_are_invalid() {
        // Claims five client blocks and holds none.
        let frame = SyncFrame::Update(vec![5]).encode();
        let (code, reason) = refused(decode_sync(ME, frame.into()));
        assert_eq!(code, CloseCode::InvalidUpdate);
        assert!(reason.starts_with("invalid update: "), "{reason}");
        // Trailing garbage after a valid update.
        let mut payload = an_update();
        payload.extend([0xff; 4]);
        let frame = SyncFrame::Update(payload).encode();
        assert_eq!(
            refused(decode_sync(ME, frame.into())).0,
            CloseCode::InvalidUpdate
        );
    }

    #[test]
    fn tandem_text_frames_are_answered_or_forwarded() {
        let decoder = FrameDecoder::new(ME, Dialect::Tandem);
        assert!(matches!(
            decoder.text(&ClientMsg::Ping.to_json()),
            Ok(Inbound::Reply(ServerMsg::Pong))
        ));
        assert!(matches!(
            decoder.text(&presence_json("Ada")),
            Ok(Inbound::Room(RoomCmd::Presence {
                client: ME,
                presence: Some(_),
                awareness: None
            }))
        ));
    }

    #[test]
    fn bad_tandem_text_is_answered_with_an_error_and_keeps_the_connection() {
        let decoder = FrameDecoder::new(ME, Dialect::Tandem);
        let error = |text: &str| match decoder.text(text) {
            Ok(Inbound::Reply(ServerMsg::Error { code, reason })) => (code, reason),
            other => panic!("{other:?}"),
        };
        let (code, reason) = error("not json");
        assert_eq!(code, ErrorCode::BadMessage);
        assert!(reason.starts_with("not a Tandem message: "), "{reason}");
        assert_eq!(error(r#"{"type":"shout"}"#).0, ErrorCode::BadMessage);
        assert_eq!(
            error(r#"{"type":"hello","key":"e.abc"}"#),
            (
                ErrorCode::BadMessage,
                "a hello comes once, as the first message".into()
            )
        );
        assert_eq!(
            error(&presence_json(" ")),
            (
                ErrorCode::BadPresence,
                "name must be 1 to 48 characters".into()
            )
        );
        let padded = format!("{}{}", presence_json("Ada"), " ".repeat(MAX_PRESENCE_BYTES));
        assert_eq!(
            error(&padded),
            (
                ErrorCode::BadPresence,
                format!("presence larger than {MAX_PRESENCE_BYTES} bytes")
            )
        );
    }

    #[test]
    fn the_yjs_endpoint_refuses_text() {
        let decoder = FrameDecoder::new(ME, Dialect::Yjs);
        let (code, reason) = refused(decoder.text(&ClientMsg::Ping.to_json()));
        assert_eq!(code, CloseCode::BadMessage);
        assert_eq!(
            reason,
            "this endpoint speaks binary y-websocket frames only"
        );
    }

    #[test]
    fn yjs_frames_become_room_commands() {
        let mut decoder = FrameDecoder::new(ME, Dialect::Yjs);
        let sync = YjsFrame::Sync(SyncFrame::Update(an_update())).encode();
        assert!(matches!(
            decoder.binary(sync.into()),
            Ok(Inbound::Room(RoomCmd::Update { client: ME, .. }))
        ));
        let query = YjsFrame::AwarenessQuery.encode();
        assert!(matches!(
            decoder.binary(query.into()),
            Ok(Inbound::Room(RoomCmd::AwarenessQuery { client: ME }))
        ));
        let own = AwarenessEntry {
            client: 42,
            clock: 3,
            state: r#"{"user":{"name":"Ada"}}"#.into(),
        };
        let frame = YjsFrame::Awareness(vec![own]).encode();
        let Ok(Inbound::Room(RoomCmd::Presence {
            presence: Some(presence),
            awareness: Some(awareness),
            ..
        })) = decoder.binary(frame.into())
        else {
            panic!("a presence");
        };
        assert_eq!(presence.name, "Ada");
        assert_eq!((awareness.client, awareness.clock), (42, 3));
        let echo = AwarenessEntry {
            client: 5,
            clock: 1,
            state: "{}".into(),
        };
        let frame = YjsFrame::Awareness(vec![echo]).encode();
        assert!(matches!(decoder.binary(frame.into()), Ok(Inbound::Nothing)));
    }

    #[test]
    fn bad_yjs_frames_are_refused() {
        let mut decoder = FrameDecoder::new(ME, Dialect::Yjs);
        for frame in [&[2, 0][..], &[3, 0], &[]] {
            let (code, reason) = refused(decoder.binary(Bytes::copy_from_slice(frame)));
            assert_eq!(code, CloseCode::BadMessage, "{frame:?}");
            assert!(reason.starts_with("bad y-websocket frame: "), "{reason}");
        }
        let bad_update = YjsFrame::Sync(SyncFrame::Update(vec![5])).encode();
        assert_eq!(
            refused(decoder.binary(bad_update.into())).0,
            CloseCode::InvalidUpdate
        );
        let big = AwarenessEntry {
            client: 1,
            clock: 1,
            state: format!(
                r#"{{"user":{{"name":"{}"}}}}"#,
                "n".repeat(MAX_PRESENCE_BYTES)
            ),
        };
        let frame = YjsFrame::Awareness(vec![big]).encode();
        assert_eq!(
            refused(decoder.binary(frame.into())).0,
            CloseCode::BadMessage
        );
    }
}
