//! Bad input gets a clear, documented answer; the server and the room keep going.

mod support;

use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use support::http::upgrade_request;
use tandem_shared::close::{Close, CloseCode};
use tandem_shared::protocol::MAX_HELLO_BYTES;
use tandem_shared::{ClientMsg, ErrorCode, ServerMsg, SyncFrame};
use tandem_testkit::socket::close_of;
use tandem_testkit::{DEADLINE, TestServer, poll};
use tokio_tungstenite::tungstenite::{self, Message};

#[tokio::test]
async fn a_bad_room_name_is_refused_before_the_upgrade() {
    let (server, _) = TestServer::memory().await;
    for bad in ["has%20space", "dot.dot", &"x".repeat(65), "%C3%A9"] {
        let (status, body) =
            upgrade_request(&server, &format!("/ws/{bad}"), Some("tandem.v1"), None, &[]).await;
        assert_eq!(status, 400, "{bad}");
        assert!(body.contains("invalid room name"), "{bad}: {body}");
    }
    // The same through a real WebSocket client: the handshake fails with 400.
    // (Built by hand: `RoomId` refuses to make a URL for a name it refuses.)
    let url = format!("{}/ws/no%20spaces", server.ws_base());
    match tandem_testkit::socket::open(&url).await {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 400),
        other => panic!("expected HTTP 400, got {other:?}"),
    }
}

#[tokio::test]
async fn an_unknown_subprotocol_is_refused_and_none_is_accepted() {
    let (server, _) = TestServer::memory().await;
    let (status, body) =
        upgrade_request(&server, "/ws/room", Some("chat, superchat"), None, &[]).await;
    assert_eq!(status, 400);
    assert!(body.contains("tandem.v1"), "{body}");
    let (status, _) =
        upgrade_request(&server, "/ws/room", Some("chat, tandem.v1"), None, &[]).await;
    assert_eq!(status, 101);
    let (status, _) = upgrade_request(&server, "/ws/room", None, None, &[]).await;
    assert_eq!(status, 101, "no subprotocol at all means tandem.v1");
}

/// Opens a bare socket to `room`, sends `first` (nothing if `None`), and
/// reads until the server closes: the data frames that came before the
/// close, and the close.
async fn answer_to_first_frame(
    server: &TestServer,
    room: &str,
    first: Option<Message>,
) -> (Vec<Message>, Close) {
    let mut socket = tandem_testkit::socket::open(&server.ws_url(room))
        .await
        .expect("upgraded");
    if let Some(first) = first {
        socket.send(first).await.expect("sent");
    }
    let mut before = Vec::new();
    let close = poll(
        "the server's close",
        DEADLINE,
        async || match tokio::time::timeout(Duration::from_millis(200), socket.next()).await {
            Err(_) => Err(format!("no close yet, after {before:?}")),
            Ok(Some(Ok(Message::Close(frame)))) => Ok(close_of(frame.as_ref())),
            Ok(Some(Ok(message @ (Message::Text(_) | Message::Binary(_))))) => {
                before.push(message);
                Err(format!("no close yet, after {before:?}"))
            }
            Ok(Some(Ok(_))) => Err(format!("no close yet, after {before:?}")),
            Ok(other) => panic!("the stream ended without a close: {other:?}"),
        },
    )
    .await;
    (before, close)
}

#[tokio::test]
async fn the_first_frame_must_be_a_hello() {
    let (server, _) = TestServer::memory().await;
    let step1 = SyncFrame::Step1(Default::default()).encode();
    let cases = [
        (
            Message::Binary(step1.into()),
            CloseCode::BadMessage,
            "the first message must be a hello, not a binary frame",
        ),
        (
            Message::Text(ClientMsg::Ping.to_json().into()),
            CloseCode::BadMessage,
            "the first message must be a hello, not ping",
        ),
        (
            Message::Text("{".into()),
            CloseCode::BadMessage,
            "the first message must be a hello: ",
        ),
        (
            Message::Text(
                format!(
                    r#"{{"type":"hello","key":"{}"}}"#,
                    "k".repeat(MAX_HELLO_BYTES)
                )
                .into(),
            ),
            CloseCode::TooBig,
            "hello larger than 1024 bytes",
        ),
        // An author secret or a colour that breaks its rule (issue 28).
        (
            Message::Text(r#"{"type":"hello","key":null,"author":"short"}"#.into()),
            CloseCode::BadMessage,
            "the hello's author must be 16 to 64 of A-Z a-z 0-9 - _",
        ),
        (
            Message::Text(
                r#"{"type":"hello","key":null,"author":"abcdefghijklmnop","color":"blue"}"#.into(),
            ),
            CloseCode::BadMessage,
            "the hello's color must be #rrggbb",
        ),
    ];
    for (first, code, reason) in cases {
        let (before, close) = answer_to_first_frame(&server, "hello-rules", Some(first)).await;
        assert!(
            before.is_empty(),
            "nothing for the room came first: {before:?}"
        );
        assert_eq!(close.code, code, "{}", close.reason);
        assert!(close.reason.starts_with(reason), "{}", close.reason);
    }
    // Nobody joined on the way.
    let (status, body) = server.get("/healthz").await;
    assert_eq!(status, 200);
    let health: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(health["rooms"], 0, "{health}");
}

#[tokio::test]
async fn without_a_hello_the_server_says_nothing_and_closes_with_4003() {
    let (server, _) = TestServer::memory_with(|c| c.heartbeat = Duration::from_millis(300)).await;
    let (before, close) = answer_to_first_frame(&server, "silent", None).await;
    assert!(before.is_empty(), "no welcome before a hello: {before:?}");
    assert_eq!(close.code, CloseCode::HeartbeatTimeout);
    assert_eq!(close.reason, "no hello within 0.6 s");
}

#[tokio::test]
async fn a_second_hello_gets_an_error_frame_and_the_connection_stays() {
    let (server, _) = TestServer::memory().await;
    let mut a = server.client("twice").await;
    let hello = ClientMsg::Hello {
        key: Some("e.AAAAAAAAAAAAAAAAAAAAAA".into()),
        author: None,
        color: None,
    };
    a.send_raw(Message::Text(hello.to_json().into())).await;
    a.pump_until("an error", |c| !c.errors.is_empty()).await;
    assert_eq!(
        a.errors,
        [ServerMsg::Error {
            code: ErrorCode::BadMessage,
            reason: "a hello comes once, as the first message".into()
        }]
    );
    assert!(!a.read_only(), "the first hello decided");
    a.insert(0, "still here").await;
    a.wait_saved().await;
}

#[tokio::test]
async fn health_is_reported() {
    let (server, _) = TestServer::memory().await;
    let _client = server.client("health").await;
    let (status, body) = server.get("/healthz").await;
    assert_eq!(status, 200);
    let health: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(health["status"], "ok");
    assert_eq!(health["rooms"], 1);
    assert_eq!(health["connections"], 1);
}

#[tokio::test]
async fn malformed_json_gets_an_error_frame_and_the_connection_stays() {
    let (server, _) = TestServer::memory().await;
    let mut a = server.client("json").await;
    for bad in ["{", r#"{"type":"nope"}"#, r#"{"no_type":1}"#, "[]"] {
        a.send_raw(Message::Text(bad.into())).await;
    }
    a.pump_until("four errors", |c| c.errors.len() == 4).await;
    for error in &a.errors {
        let ServerMsg::Error { code, reason } = error else {
            unreachable!()
        };
        assert_eq!(*code, ErrorCode::BadMessage);
        assert!(reason.starts_with("not a Tandem message"), "{reason}");
    }
    a.insert(0, "still here").await;
    a.wait_saved().await;
}

async fn assert_room_unharmed(server: &TestServer, room: &str, expected: &str) {
    let mut reader = server.client(room).await;
    assert_eq!(reader.content(), expected);
    reader.insert(0, "+").await;
    reader.wait_saved().await;
}

#[tokio::test]
async fn a_bad_binary_frame_closes_that_client_only() {
    let (server, _) = TestServer::memory().await;
    let mut good = server.client("frames").await;
    good.insert(0, "safe").await;
    good.wait_saved().await;
    let cases: [(&[u8], &str); 5] = [
        (&[], "frame ends inside a message"),
        (&[1, 0], "unsupported y-sync message type 1"),
        (&[0, 7, 0], "unknown sync message type 7"),
        (&[0, 2, 0, 0], "bytes after the end"),
        (
            &[0, 2, 0xff, 0xff, 0xff, 0xff, 0x0f],
            "frame ends inside a message",
        ),
    ];
    for (frame, reason) in cases {
        let mut bad = server.client("frames").await;
        bad.send_raw(Message::Binary(frame.to_vec().into())).await;
        let (code, got) = bad.expect_close().await;
        assert_eq!(code, CloseCode::BadMessage, "{frame:?}");
        assert!(got.contains(reason), "{frame:?}: {got}");
    }
    good.round_trip().await;
    assert!(good.closed.is_none());
    assert_room_unharmed(&server, "frames", "safe").await;
}

#[tokio::test]
async fn an_update_that_does_not_decode_is_refused_and_not_stored() {
    let (server, store) = TestServer::memory().await;
    let mut good = server.client("updates").await;
    good.insert(0, "kept").await;
    good.wait_saved().await;
    let log_before = store.log_len(&tandem_shared::RoomId::new("updates").expect("room"));

    let mut bad = server.client("updates").await;
    let junk = SyncFrame::Update(vec![5, 1, 200, 3, 9, 9]).encode();
    bad.send_raw(Message::Binary(junk.into())).await;
    let (code, reason) = bad.expect_close().await;
    assert_eq!(code, CloseCode::InvalidUpdate);
    assert!(reason.starts_with("invalid update"), "{reason}");

    good.round_trip().await;
    assert!(good.closed.is_none(), "the others notice nothing");
    assert_eq!(good.content(), "kept");
    assert_eq!(
        store.log_len(&tandem_shared::RoomId::new("updates").expect("room")),
        log_before
    );
    assert_room_unharmed(&server, "updates", "kept").await;
}

#[tokio::test]
async fn an_oversized_message_is_closed_with_1009() {
    let (server, _) = TestServer::memory_with(|c| c.max_message_bytes = 64 * 1024).await;
    let mut a = server.client("big").await;
    a.send_raw(Message::Binary(vec![0u8; 100 * 1024].into()))
        .await;
    let (code, reason) = a.expect_close().await;
    assert_eq!(code, CloseCode::TooBig);
    assert!(reason.contains("65536"), "{reason}");
    assert_room_unharmed(&server, "big", "").await;
}

#[tokio::test]
async fn a_storage_failure_closes_the_room_with_1011_and_others_keep_working() {
    let (server, store) = TestServer::memory().await;
    let mut healthy = server.client("healthy").await;
    let mut a = server.client("broken").await;
    a.insert(0, "saved").await;
    a.wait_saved().await;

    store.fail_writes(true);
    a.insert(5, " lost?").await;
    let (code, reason) = a.expect_close().await;
    assert_eq!(code, CloseCode::Internal);
    assert!(reason.contains("storage"), "{reason}");
    store.fail_writes(false);

    healthy.insert(0, "fine").await;
    healthy.wait_saved().await;
    // The room reloads from what was durable; the client's unsaved edit is
    // still in its replica and comes back through the state-vector exchange.
    let again =
        tandem_testkit::Client::connect_with(&server.ws_url("broken"), a.doc().clone()).await;
    let mut again = again;
    again.wait_saved().await;
    assert_eq!(server.client("broken").await.content(), "saved lost?");
}
