//! Captures a real session and keeps docs/PROTOCOL.md's "Captured session"
//! section equal to it. The clients use fixed yrs client ids, so every byte
//! is reproducible; when the protocol changes this test fails until the doc
//! is regenerated with `TANDEM_WRITE_PROTOCOL_DOC=1 cargo test -p
//! tandem-server --test protocol_doc`.

mod support;

use std::fmt::Write as _;

use futures_util::{SinkExt, StreamExt};
use support::TestServer;
use support::http::http_post_json;
use tandem_shared::{ClientMsg, CreatedRoom, Presence, SUBPROTOCOL, SyncFrame};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use yrs::updates::decoder::Decode;
use yrs::{Doc, GetString, OffsetKind, Options, ReadTxn, Text, Transact, Update};

const BEGIN: &str = "<!-- capture:begin -->";
const END: &str = "<!-- capture:end -->";

/// One side of the session, recording what it sends and receives.
struct Recorder {
    who: &'static str,
    socket: support::client::Socket,
    doc: Doc,
    log: Vec<(String, Message)>,
}

fn doc_with_id(id: u64) -> Doc {
    Doc::with_options(Options {
        offset_kind: OffsetKind::Utf16,
        client_id: yrs::ClientID::new(id),
        ..Options::default()
    })
}

impl Recorder {
    async fn connect(
        server: &TestServer,
        who: &'static str,
        yrs_id: u64,
        key: &str,
    ) -> (Self, String) {
        let mut request = format!("{}?key={key}", server.ws_url("demo"))
            .into_client_request()
            .expect("request");
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_static(SUBPROTOCOL),
        );
        let (socket, response) = tokio_tungstenite::connect_async(request)
            .await
            .expect("connect");
        let handshake = format!(
            "GET /ws/demo?key={key} HTTP/1.1\nUpgrade: websocket\nConnection: Upgrade\nSec-WebSocket-Version: 13\nSec-WebSocket-Protocol: {SUBPROTOCOL}\n\nHTTP/1.1 {}\nUpgrade: websocket\nConnection: upgrade\nSec-WebSocket-Protocol: {}",
            response.status(),
            response.headers()["sec-websocket-protocol"]
                .to_str()
                .expect("ascii"),
        );
        (
            Self {
                who,
                socket,
                doc: doc_with_id(yrs_id),
                log: Vec::new(),
            },
            handshake,
        )
    }

    async fn send(&mut self, message: Message) {
        self.log.push((format!("{} →", self.who), message.clone()));
        self.socket.send(message).await.expect("send");
    }

    async fn recv(&mut self) -> Message {
        let message = tokio::time::timeout(support::DEADLINE, self.socket.next())
            .await
            .expect("a frame in time")
            .expect("open")
            .expect("frame");
        self.log.push((format!("{} ←", self.who), message.clone()));
        message
    }

    /// Receives until a frame matches `want`, answering the server's step 1.
    async fn recv_until(&mut self, want: impl Fn(&Message) -> bool) {
        loop {
            let message = self.recv().await;
            if let Message::Binary(bytes) = &message {
                match SyncFrame::decode(bytes).expect("valid") {
                    SyncFrame::Step2(u) | SyncFrame::Update(u) => {
                        let update = Update::decode_v1(&u).expect("decode");
                        self.doc.transact_mut().apply_update(update).expect("apply");
                    }
                    SyncFrame::Step1(_) => {}
                }
            }
            if want(&message) {
                return;
            }
        }
    }

    async fn type_text(&mut self, index: u32, chunk: &str) {
        let text = self.doc.get_or_insert_text("content");
        let update = {
            let mut txn = self.doc.transact_mut();
            text.insert(&mut txn, index, chunk);
            txn.encode_update_v1()
        };
        self.send(Message::Binary(SyncFrame::Update(update).encode().into()))
            .await;
    }
}

fn is_text(message: &Message, kind: &str) -> bool {
    matches!(message, Message::Text(t) if t.contains(&format!("\"type\":\"{kind}\"")))
}

fn is_sync(message: &Message, kind: &str) -> bool {
    matches!(message, Message::Binary(b) if SyncFrame::decode(b).map(|f| f.kind()) == Ok(kind))
}

/// A frame as DevTools lists it, with what it means.
fn render(direction: &str, message: &Message) -> String {
    match message {
        Message::Text(text) => {
            let kind = serde_json::from_str::<serde_json::Value>(text)
                .ok()
                .and_then(|v| v["type"].as_str().map(str::to_string))
                .unwrap_or_else(|| "not a Tandem message".into());
            format!(
                "{direction} text ({} bytes) — `{kind}`\n\n```json\n{text}\n```\n",
                text.len()
            )
        }
        Message::Binary(bytes) => {
            let hex: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
            let meaning = match SyncFrame::decode(bytes) {
                Ok(SyncFrame::Step1(sv)) => {
                    format!("sync step 1: state vector with {} client(s)", sv.len())
                }
                Ok(SyncFrame::Step2(u)) => format!("sync step 2: an update of {} bytes", u.len()),
                Ok(SyncFrame::Update(u)) => format!("update: {} bytes", u.len()),
                Err(err) => format!("not a sync frame: {err}"),
            };
            format!(
                "{direction} binary ({} bytes) — {meaning}\n\n```text\n{}\n```\n",
                bytes.len(),
                hex.join(" ")
            )
        }
        Message::Close(Some(frame)) => {
            format!(
                "{direction} close — code {} `{}`\n",
                u16::from(frame.code),
                frame.reason
            )
        }
        other => format!("{direction} {other:?}\n"),
    }
}

async fn capture() -> String {
    let (server, _) = TestServer::memory().await;
    let mut out = String::new();

    // As the home page's "New document" does: a protected room, opened with
    // its edit key (the page has it in its address's fragment).
    let (status, body) = http_post_json(&server, "/api/rooms", r#"{"name":"demo"}"#).await;
    assert_eq!(status, 201, "{body}");
    let created: CreatedRoom = serde_json::from_str(&body).expect("created room");
    let key = created.edit_key.as_str();

    let (mut ada, handshake) = Recorder::connect(&server, "Ada", 1001, key).await;
    ada.recv_until(|m| is_sync(m, "sync step 1")).await;
    let sv = ada.doc.transact().state_vector();
    ada.send(Message::Binary(SyncFrame::Step1(sv).encode().into()))
        .await;
    ada.recv_until(|m| is_sync(m, "sync step 2")).await;
    // Ada answers the server's step 1 (here: nothing the server misses).
    let diff = ada.doc.transact().encode_diff_v1(&Default::default());
    ada.send(Message::Binary(SyncFrame::Step2(diff).encode().into()))
        .await;
    ada.recv_until(|m| is_text(m, "saved")).await;
    let presence = Presence {
        name: "Ada".into(),
        color: "#e06c75".into(),
        cursor: None,
    };
    ada.send(Message::Text(
        ClientMsg::Presence(presence).to_json().into(),
    ))
    .await;
    ada.type_text(0, "Hi").await;
    ada.recv_until(|m| is_text(m, "saved")).await;

    let (mut bob, _) = Recorder::connect(&server, "Bob", 1002, key).await;
    bob.recv_until(|m| is_sync(m, "sync step 1")).await;
    let sv = bob.doc.transact().state_vector();
    bob.send(Message::Binary(SyncFrame::Step1(sv).encode().into()))
        .await;
    bob.recv_until(|m| is_sync(m, "sync step 2")).await;
    let diff = bob.doc.transact().encode_diff_v1(&Default::default());
    bob.send(Message::Binary(SyncFrame::Step2(diff).encode().into()))
        .await;
    bob.recv_until(|m| is_text(m, "saved")).await;

    bob.type_text(2, "!").await;
    ada.recv_until(|m| is_sync(m, "update")).await;
    ada.send(Message::Text(ClientMsg::Ping.to_json().into()))
        .await;
    ada.recv_until(|m| is_text(m, "pong")).await;
    ada.send(Message::Text("{\"type\":\"hello\"}".into())).await;
    ada.recv_until(|m| is_text(m, "error")).await;
    bob.socket.close(None).await.expect("close");
    ada.recv_until(|m| is_text(m, "peer_left")).await;
    ada.send(Message::Close(None)).await;
    let text = ada.doc.get_or_insert_text("content");
    assert_eq!(text.get_string(&ada.doc.transact()), "Hi!");

    writeln!(
        out,
        "`POST /api/rooms` with `{{\"name\":\"demo\"}}` answered `201` with:\n\n```json\n{body}\n```\n"
    )
    .expect("write");
    writeln!(
        out,
        "The handshake (DevTools → Network → WS → Headers):\n\n```http\n{handshake}\n```\n"
    )
    .expect("write");
    writeln!(
        out,
        "Ada's frames (DevTools → Messages; ↑ sent, ↓ received), then Bob's:\n"
    )
    .expect("write");
    for (n, (direction, message)) in ada.log.iter().chain(bob.log.iter()).enumerate() {
        let direction = direction.replace('→', "↑ sent").replace('←', "↓ received");
        write!(out, "{}. {}", n + 1, render(&direction, message)).expect("write");
        out.push('\n');
    }
    out
}

#[tokio::test]
async fn protocol_doc_shows_a_real_session() {
    let captured = capture().await;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/PROTOCOL.md");
    let doc = std::fs::read_to_string(&path).expect("docs/PROTOCOL.md exists");
    let (head, rest) = doc.split_once(BEGIN).expect("capture:begin marker");
    let (_, tail) = rest.split_once(END).expect("capture:end marker");
    let expected = format!("{head}{BEGIN}\n{captured}{END}{tail}");
    if std::env::var_os("TANDEM_WRITE_PROTOCOL_DOC").is_some() {
        std::fs::write(&path, expected).expect("write the doc");
    } else {
        assert!(
            doc == expected,
            "docs/PROTOCOL.md's captured session is out of date; regenerate it with\n  TANDEM_WRITE_PROTOCOL_DOC=1 cargo test -p tandem-server --test protocol_doc"
        );
    }
}
