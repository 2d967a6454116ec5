//! The y-websocket dialect at `/yjs/{room}`, driven by a minimal Yjs-style
//! client built on yrs: same rooms, same durability, presence translated.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tandem_shared::close::{Close, CloseCode};
use tandem_shared::session::Outgoing;
use tandem_shared::yjs::{AwarenessEntry, YjsFrame, presence_from_state};
use tandem_shared::{ClientSession, Presence, SyncFrame};
use tandem_testkit::socket::{PlainSocket as Socket, close_of};
use tandem_testkit::{Client, DEADLINE, TestServer, edit, poll};
use tokio_tungstenite::tungstenite::Message;
use yrs::{GetString, Transact};

/// A y-websocket-style peer: binary frames only, awareness for presence.
/// Its sync messages go through the same [`ClientSession`] as Tandem's
/// clients (the y-sync part of both dialects is the same); awareness is its own.
struct YjsPeer {
    socket: Socket,
    session: ClientSession<yrs::Doc>,
    /// The latest awareness state seen per awareness client id.
    awareness: std::collections::HashMap<u64, (u32, String)>,
    closed: Option<Close>,
}

impl YjsPeer {
    async fn connect(url: &str) -> Self {
        let (socket, response) = tokio_tungstenite::connect_async(url)
            .await
            .expect("connect");
        assert!(response.headers().get("Sec-WebSocket-Protocol").is_none());
        let mut session = ClientSession::new(tandem_shared::doc::new_doc(), false);
        // The y-websocket dialect has no hello: the key, if any, is in the URL.
        let _hello = session.open();
        let mut peer = Self {
            socket,
            session,
            awareness: Default::default(),
            closed: None,
        };
        let step1 = peer.session.step1();
        peer.send_sync(step1).await;
        peer
    }

    async fn send(&mut self, frame: YjsFrame) {
        self.socket
            .send(Message::Binary(frame.encode().into()))
            .await
            .expect("send");
    }

    /// Sends a sync frame the session made, in this dialect's framing.
    async fn send_sync(&mut self, frame: Outgoing) {
        let Outgoing::Sync(sync) = frame else {
            panic!("the Yjs dialect sends no text frames: {frame:?}")
        };
        self.send(YjsFrame::Sync(sync)).await;
    }

    fn text(&self) -> String {
        let doc = self.session.replica();
        doc.get_or_insert_text("content")
            .get_string(&doc.transact())
    }

    async fn insert(&mut self, index: u32, chunk: &str) {
        let doc = self.session.replica();
        let update = edit::insert(doc, &doc.get_or_insert_text("content"), index, chunk);
        // Sent whatever the sync's state: tests write on view-only links on purpose.
        let frame = self.session.update_frame(update);
        self.send_sync(frame).await;
    }

    async fn pump_until(&mut self, what: &str, condition: impl Fn(&Self) -> bool) {
        poll(what, DEADLINE, async || {
            while !condition(self) {
                let Ok(next) =
                    tokio::time::timeout(Duration::from_millis(200), self.socket.next()).await
                else {
                    return Err("nothing more arrived".to_owned());
                };
                match next {
                    Some(Ok(Message::Binary(bytes))) => self.receive(&bytes).await,
                    Some(Ok(Message::Text(text))) => {
                        panic!("the Yjs dialect sends no text frames: {text}")
                    }
                    Some(Ok(Message::Close(frame))) => {
                        self.closed = Some(close_of(frame.as_ref()));
                    }
                    Some(Ok(_)) => {}
                    None | Some(Err(_)) => {
                        assert!(
                            condition(self),
                            "connection ended while waiting for: {what}"
                        );
                    }
                }
            }
            Ok(())
        })
        .await;
    }

    /// Handles one binary frame from the server.
    async fn receive(&mut self, bytes: &[u8]) {
        match YjsFrame::decode(bytes).expect("valid frame") {
            YjsFrame::Sync(sync) => {
                let reaction = self.session.receive_sync(sync).expect("applies");
                if let Some(reply) = reaction.reply {
                    self.send_sync(reply).await;
                }
            }
            YjsFrame::Awareness(entries) => {
                for e in entries {
                    self.awareness.insert(e.client, (e.clock, e.state));
                }
            }
            YjsFrame::AwarenessQuery => {}
        }
    }

    /// The code of the close the server sent, if it did.
    fn close_code(&self) -> Option<CloseCode> {
        self.closed.as_ref().map(|c| c.code)
    }
}

fn yjs_url(server: &TestServer, room: &str) -> String {
    format!("{}/yjs/{room}", server.ws_base())
}

#[tokio::test]
async fn yjs_and_tandem_clients_edit_one_room_together() {
    let (server, _) = TestServer::memory().await;
    let mut tandem = server.client("mixed").await;
    tandem.insert(0, "from tandem. ").await;
    tandem.wait_saved().await;

    let mut yjs = YjsPeer::connect(&yjs_url(&server, "mixed")).await;
    yjs.pump_until("initial sync", |p| p.text() == "from tandem. ")
        .await;
    yjs.insert(13, "from yjs.").await;
    tandem
        .pump_until("tandem sees the yjs edit", |c| {
            c.content() == "from tandem. from yjs."
        })
        .await;
    tandem.insert(0, ">> ").await;
    yjs.pump_until("yjs sees the tandem edit", |p| {
        p.text() == ">> from tandem. from yjs."
    })
    .await;

    // Same durability: a fresh client after everything settled sees it all.
    tandem.wait_saved().await;
    let fresh = Client::connect(&server.ws_url("mixed")).await;
    assert_eq!(fresh.content(), ">> from tandem. from yjs.");
}

#[tokio::test]
async fn presence_crosses_between_awareness_and_json() {
    let (server, _) = TestServer::memory().await;
    let mut tandem = server.client("aware").await;
    let mut yjs = YjsPeer::connect(&yjs_url(&server, "aware")).await;
    yjs.pump_until("synced", |_| true).await;

    // Yjs → Tandem: the awareness state arrives as JSON presence.
    let state = r##"{"user":{"name":"Grace","color":"#30bced"},"cursor":null}"##;
    yjs.send(YjsFrame::Awareness(vec![AwarenessEntry {
        client: 4242,
        clock: 1,
        state: state.into(),
    }]))
    .await;
    tandem
        .pump_until("tandem sees Grace", |c| {
            c.peers().values().any(|p| p.name == "Grace")
        })
        .await;
    // The provider gets its own state back, as from the reference server.
    yjs.pump_until("yjs sees itself", |p| p.awareness.contains_key(&4242))
        .await;

    // Tandem → Yjs: JSON presence arrives as an awareness state.
    tandem
        .send_presence(Presence {
            name: "Ada".into(),
            color: "#e06c75".into(),
            cursor: None,
        })
        .await;
    let ada_id = tandem.client_id().0;
    yjs.pump_until("yjs sees Ada", |p| p.awareness.contains_key(&ada_id))
        .await;
    let (_, ada) = &yjs.awareness[&ada_id];
    let ada = presence_from_state(ada, "#000000").expect("a state");
    assert_eq!((ada.name.as_str(), ada.color.as_str()), ("Ada", "#e06c75"));

    // An awareness query is answered with everyone.
    yjs.awareness.clear();
    yjs.send(YjsFrame::AwarenessQuery).await;
    yjs.pump_until("the answer", |p| {
        p.awareness.contains_key(&ada_id) && p.awareness.contains_key(&4242)
    })
    .await;

    // Leaving clears the state on the other side: null awareness, peer_left JSON.
    tandem.close().await;
    yjs.pump_until("Ada's state is null", |p| {
        p.awareness.get(&ada_id).is_some_and(|(_, s)| s == "null")
    })
    .await;
    let mut watcher = server.client("aware").await;
    assert!(watcher.peers().values().any(|p| p.name == "Grace"));
    drop(yjs);
    watcher
        .pump_until("Grace leaves", |c| c.peers().is_empty())
        .await;
}

#[tokio::test]
async fn the_yjs_endpoint_applies_the_same_rules() {
    let (server, store) = TestServer::memory().await;
    let mut yjs = YjsPeer::connect(&yjs_url(&server, "rules")).await;
    yjs.pump_until("synced", |_| true).await;
    // A text frame, a bad update: refused with the same codes.
    yjs.socket
        .send(Message::Text("{}".into()))
        .await
        .expect("send");
    yjs.pump_until("closed", |p| p.closed.is_some()).await;
    assert_eq!(yjs.close_code(), Some(CloseCode::BadMessage));

    let mut yjs = YjsPeer::connect(&yjs_url(&server, "rules")).await;
    yjs.send(YjsFrame::Sync(SyncFrame::Update(vec![
        0xff, 0xff, 0xff, 0x7f,
    ])))
    .await;
    yjs.pump_until("closed", |p| p.closed.is_some()).await;
    assert_eq!(yjs.close_code(), Some(CloseCode::InvalidUpdate));
    assert_eq!(
        store.log_len(&tandem_shared::RoomId::new("rules").expect("room")),
        0
    );

    // Origin rules and keys are the same as /ws.
    let url = yjs_url(&server, "rules");
    let refused =
        tandem_testkit::socket::open_with_headers(&url, &[("Origin", "https://evil.example")])
            .await;
    assert!(refused.is_err());
    let (_, created) = tandem_testkit::http(server.addr, "POST", "/api/rooms", None, "{}").await;
    let created: tandem_server::api::CreatedRoom = serde_json::from_str(&created).expect("json");
    let mut viewer = YjsPeer::connect(&format!(
        "{}?key={}",
        yjs_url(&server, created.room.as_str()),
        created.view_key
    ))
    .await;
    viewer.pump_until("synced", |_| true).await;
    viewer.insert(0, "not allowed").await;
    viewer.pump_until("closed", |p| p.closed.is_some()).await;
    assert_eq!(viewer.close_code(), Some(CloseCode::Policy));
}

/// A comment link on `/yjs/`: a stock Yjs app may add comments (the
/// `comments` map, docs/PROTOCOL.md "Comments") and its text edits are
/// dropped, the connection staying open.
#[tokio::test]
async fn a_yjs_comment_link_comments_and_its_text_edits_are_dropped() {
    use tandem_shared::comments::{self, COMMENTS, Comment, Stamp};
    use yrs::{ReadTxn as _, WriteTxn as _};

    let (server, _store) = TestServer::memory().await;
    let (_, created) = tandem_testkit::http(server.addr, "POST", "/api/rooms", None, "{}").await;
    let created: tandem_server::api::CreatedRoom = serde_json::from_str(&created).expect("json");
    let room = created.room.as_str().to_owned();
    let path = format!("/api/rooms/{room}/links");
    let (status, link) = tandem_testkit::http(
        server.addr,
        "POST",
        &path,
        Some(&created.edit_key),
        r#"{"right":"comment"}"#,
    )
    .await;
    assert_eq!(status, 201, "{link}");
    let link: tandem_shared::links::LinkEntry = serde_json::from_str(&link).expect("a link");
    let mut editor = Client::connect_with_key(&server.ws_url(&room), &created.edit_key).await;
    editor.insert(0, "Hello world").await;
    editor.wait_saved().await;

    let url = format!(
        "{}?key={}",
        yjs_url(&server, &room),
        link.key.expect("a key")
    );
    let mut reviewer = YjsPeer::connect(&url).await;
    reviewer
        .pump_until("synced", |p| p.text() == "Hello world")
        .await;
    let update = {
        let doc = reviewer.session.replica();
        let before = doc.transact().state_vector();
        let mut txn = doc.transact_mut();
        let notes = txn.get_or_insert_map(COMMENTS);
        let body = txn.get_or_insert_text("content");
        let first = Comment {
            id: "c1".into(),
            stamp: Stamp {
                author: "yjs-app".into(),
                name: "Reviewer".into(),
                color: "#2f8636".into(),
                time: 1_765_000_000_000,
            },
            text: "Which world?".into(),
        };
        comments::open_thread(&mut txn, &notes, &body, "t1", (6, 11), &first).expect("open");
        drop(txn);
        doc.transact().encode_diff_v1(&before)
    };
    let frame = reviewer.session.update_frame(update);
    reviewer.send_sync(frame).await;
    let threads = |client: &Client| {
        let doc = client.doc();
        let notes = doc.get_or_insert_map(COMMENTS);
        comments::threads(&doc.transact(), &notes).len()
    };
    editor
        .pump_until("the Yjs app's thread", |c| threads(c) == 1)
        .await;

    let relayed = editor.updates_received;
    reviewer.insert(0, "X").await;
    // Its presence, sent after the edit, reaches the editor after the room
    // handled the edit: had the edit been applied, it would have come first.
    let state = r##"{"user":{"name":"Reviewer","color":"#30bced"},"cursor":null}"##;
    reviewer
        .send(YjsFrame::Awareness(vec![AwarenessEntry {
            client: 77,
            clock: 1,
            state: state.into(),
        }]))
        .await;
    editor
        .pump_until("the reviewer's presence", |c| {
            c.peers().values().any(|p| p.name == "Reviewer")
        })
        .await;
    let mut late = Client::connect_with_key(&server.ws_url(&room), &created.edit_key).await;
    late.round_trip().await;
    assert_eq!(late.content(), "Hello world");
    assert_eq!(threads(&late), 1);
    assert_eq!(editor.updates_received, relayed, "the edit was not relayed");
    assert_eq!(reviewer.closed, None, "the Yjs app stays connected");
}
