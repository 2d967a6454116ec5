//! Captures a real session and keeps docs/PROTOCOL.md's "Captured session"
//! section equal to it. Both clients are the shared `ClientSession`, so the
//! frames are the ones every Tandem client sends. They use fixed yrs client
//! ids, so every byte is reproducible; when the protocol changes this test
//! fails until the doc is regenerated with `TANDEM_WRITE_PROTOCOL_DOC=1
//! cargo test -p tandem-server --test protocol_doc`.

use std::fmt::Write as _;

use futures_util::{SinkExt, StreamExt};
use tandem_shared::session::{Event, Outgoing, Reaction};
use tandem_shared::{ClientSession, CreatedRoom, Presence, RoomId, SUBPROTOCOL, SyncFrame};
use tandem_testkit::socket::{self, Socket, message};
use tandem_testkit::{DEADLINE, TestServer, edit};
use tokio_tungstenite::tungstenite::Message;
use yrs::{Doc, GetString, OffsetKind, Options, Transact};

const BEGIN: &str = "<!-- capture:begin -->";
const END: &str = "<!-- capture:end -->";

/// One side of the session, recording what it sends and receives. What it
/// sends and how it takes what it receives is the [`ClientSession`] every
/// Tandem client drives; the recorder only chooses when to send.
struct Recorder {
    who: &'static str,
    socket: Socket,
    session: ClientSession<Doc>,
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
        let room = RoomId::new("demo").expect("room");
        let request = socket::request(&room.ws_url(server.url())).expect("request");
        let (socket, response) = socket::open_request(request).await.expect("connect");
        let handshake = format!(
            "GET {} HTTP/1.1\nUpgrade: websocket\nConnection: Upgrade\nSec-WebSocket-Version: 13\nSec-WebSocket-Protocol: {SUBPROTOCOL}\n\nHTTP/1.1 {}\nUpgrade: websocket\nConnection: upgrade\nSec-WebSocket-Protocol: {}",
            room.ws_path(),
            response.status(),
            response.headers()["sec-websocket-protocol"]
                .to_str()
                .expect("ascii"),
        );
        // Each browser presents a secret of its own, so its connections
        // write as one author; both would like red.
        let mut session = ClientSession::new(doc_with_id(yrs_id), false)
            .with_key(Some(key.to_owned()))
            .with_author(format!("{who}-browser-secret-2026"), Some("#d23f4a".into()));
        let hello = session.open();
        let mut recorder = Self {
            who,
            socket,
            session,
            log: Vec::new(),
        };
        // The first frame of every connection; nothing comes for the room before it.
        recorder.send(&hello).await;
        (recorder, handshake)
    }

    async fn send(&mut self, frame: &Outgoing) {
        self.send_raw(message(frame)).await;
    }

    async fn send_raw(&mut self, message: Message) {
        self.log.push((format!("{} →", self.who), message.clone()));
        self.socket.send(message).await.expect("send");
    }

    async fn recv(&mut self) -> Message {
        let message = tokio::time::timeout(DEADLINE, self.socket.next())
            .await
            .expect("a frame in time")
            .expect("open")
            .expect("frame");
        self.log.push((format!("{} ←", self.who), message.clone()));
        message
    }

    /// Takes frames through the session until one means `want`; returns
    /// that frame's reaction (with the reply, for the caller to send).
    async fn recv_until(&mut self, want: impl Fn(&Event<()>) -> bool) -> Reaction<()> {
        loop {
            let reaction = match self.recv().await {
                Message::Text(text) => self.session.receive_text(&text),
                Message::Binary(bytes) => self.session.receive_binary(&bytes),
                other => panic!("{} got {other:?}", self.who),
            }
            .expect("the server's frames are valid");
            if want(&reaction.event) {
                return reaction;
            }
            assert_eq!(reaction.reply, None, "{} left a frame unanswered", self.who);
        }
    }

    /// The handshake in the order the captured session has always shown:
    /// the server's welcome and step 1, our step 1, the server's step 2,
    /// then the session's answer to the server's step 1.
    async fn handshake(&mut self) {
        let answer = self
            .recv_until(|e| *e == Event::Answered)
            .await
            .reply
            .expect("an editor answers the server's step 1");
        let step1 = self.session.step1();
        self.send(&step1).await;
        self.recv_until(|e| {
            matches!(
                e,
                Event::Applied {
                    first_sync: true,
                    ..
                }
            )
        })
        .await;
        self.send(&answer).await;
    }

    async fn type_text(&mut self, index: u32, chunk: &str) {
        let doc = self.session.replica();
        let update = edit::insert(doc, &doc.get_or_insert_text("content"), index, chunk);
        let frame = self
            .session
            .local_update(update)
            .expect("live after the handshake");
        self.send(&frame).await;
    }

    fn content(&self) -> String {
        let doc = self.session.replica();
        doc.get_or_insert_text("content")
            .get_string(&doc.transact())
    }
}

fn saved(event: &Event<()>) -> bool {
    matches!(event, Event::Saved { .. })
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
    let (status, body) = tandem_testkit::http(
        server.addr,
        "POST",
        "/api/rooms",
        None,
        r#"{"name":"demo"}"#,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let created: CreatedRoom = serde_json::from_str(&body).expect("created room");
    let key = created.edit_key.as_str();

    let (mut ada, handshake) = Recorder::connect(&server, "Ada", 1001, key).await;
    ada.handshake().await;
    ada.recv_until(saved).await;
    // In the colour the room gave her.
    let presence = Presence {
        name: "Ada".into(),
        color: ada.session.color().expect("a colour").to_owned(),
        cursor: None,
    };
    let presence = ada.session.presence(presence);
    ada.send(&presence).await;
    ada.type_text(0, "Hi").await;
    ada.recv_until(saved).await;

    let (mut bob, _) = Recorder::connect(&server, "Bob", 1002, key).await;
    bob.handshake().await;
    bob.recv_until(saved).await;

    bob.type_text(2, "!").await;
    ada.recv_until(|e| {
        matches!(
            e,
            Event::Applied {
                first_sync: false,
                ..
            }
        )
    })
    .await;
    let ping = ada.session.ping();
    ada.send(&ping).await;
    ada.recv_until(|e| *e == Event::Pong).await;
    // Not a Tandem message: sent raw, past the session.
    ada.send_raw(Message::Text("{\"type\":\"shout\"}".into()))
        .await;
    ada.recv_until(|e| matches!(e, Event::Refused { .. })).await;
    bob.socket.close(None).await.expect("close");
    ada.recv_until(|e| matches!(e, Event::PeerLeft(_))).await;
    ada.send_raw(Message::Close(None)).await;
    assert_eq!(ada.content(), "Hi!");

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
