//! Hostile input and access control: origins, keys, limits, guarded decoding.
//! Each refusal has its documented answer, the server keeps serving the room,
//! and the room's stored content is unchanged.

mod support;

use std::time::Duration;

use support::http::upgrade_request;
use tandem_server::api::CreatedRoom;
use tandem_server::store::Store;
use tandem_shared::close::{self, CloseCode};
use tandem_shared::{RoomId, SyncFrame};
use tandem_testkit::{Client, TestServer};
use tokio_tungstenite::tungstenite::{self, Message};
use yrs::{GetString, ReadTxn, Text, Transact};

/// The stored state of `room` as text, read straight from the store.
fn stored_text(store: &dyn Store, room: &str) -> String {
    let stored = store.load(&RoomId::new(room).expect("room")).expect("load");
    let doc = tandem_shared::doc::new_doc();
    let text = doc.get_or_insert_text(tandem_shared::doc::CONTENT);
    for bytes in stored.snapshot.iter().chain(&stored.updates) {
        use yrs::updates::decoder::Decode;
        let update = yrs::Update::decode_v1(bytes).expect("stored updates decode");
        doc.transact_mut()
            .apply_update(update)
            .expect("stored updates apply");
    }
    text.get_string(&doc.transact())
}

#[tokio::test]
async fn cross_origin_upgrades_are_refused_before_the_upgrade() {
    let (server, _) =
        TestServer::memory_with(|c| c.allowed_origins = vec!["https://docs.example".into()]).await;
    let own = format!("http://{}", server.addr);
    for (origin, expected) in [
        (Some("https://evil.example"), 403),
        (Some("null"), 403),
        (
            Some(&*format!("http://{}.evil.example", server.addr.ip())),
            403,
        ),
        (Some("https://docs.example"), 101),
        (Some(own.as_str()), 101),
        (None, 101),
    ] {
        let (status, body) = upgrade_request(&server, "/ws/origin-room", None, origin, &[]).await;
        assert_eq!(status, expected, "{origin:?}: {body}");
        if status == 403 {
            assert!(body.contains("origin not allowed"), "{body}");
        }
    }
    // Through a real client: the wrong origin never gets a socket.
    let url = server.ws_url("origin-room");
    match tandem_testkit::socket::open_with_headers(&url, &[("Origin", "https://evil.example")])
        .await
    {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 403),
        other => panic!("expected 403, got {other:?}"),
    }
    assert!(
        tandem_testkit::socket::open_with_headers(&url, &[("Origin", &own)])
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_key_in_the_socket_url_is_refused_before_the_upgrade() {
    let (server, _) = TestServer::memory().await;
    let (_, body) = create_room(&server, "{}").await;
    let created: CreatedRoom = serde_json::from_str(&body).expect("json");
    let room = created.room.to_string();
    // Keys in URLs reach server and proxy logs: `/ws/` takes them only in
    // the hello, and says so instead of silently making the link read-only.
    for key in [created.edit_key.as_str(), ""] {
        let path = format!("/ws/{room}?key={key}");
        let (status, body) = upgrade_request(&server, &path, None, None, &[]).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert!(body.contains("goes in the hello message"), "{body}");
    }
    let url = format!("{}?key={}", server.ws_url(&room), created.edit_key);
    match tandem_testkit::socket::open(&url).await {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 400),
        other => panic!("expected HTTP 400, got {other:?}"),
    }
    // Stock Yjs providers can put it nowhere else: `/yjs/` still takes it.
    let path = format!("/yjs/{room}?key={}", created.edit_key);
    let (status, body) = upgrade_request(&server, &path, None, None, &[]).await;
    assert_eq!(status, 101, "{body}");
    // And the hello carries it: the same key makes an editor.
    let editor = Client::connect_with_key(&server.ws_url(&room), &created.edit_key).await;
    assert!(!editor.read_only());
}

async fn create_room(server: &TestServer, body: &str) -> (u16, String) {
    tandem_testkit::http(server.addr, "POST", "/api/rooms", None, body).await
}

#[tokio::test]
async fn a_created_room_is_protected_and_its_links_grant_what_they_name() {
    let (server, store) = TestServer::memory().await;
    let (status, body) = create_room(&server, "{}").await;
    assert_eq!(status, 201, "{body}");
    let created: CreatedRoom = serde_json::from_str(&body).expect("json");
    let room = created.room.to_string();
    let url = server.ws_url(&room);

    let mut editor = Client::connect_with_key(&url, &created.edit_key).await;
    assert!(!editor.read_only());
    editor.insert(0, "owned text").await;
    editor.wait_saved().await;

    // The view link reads and is present, but cannot write.
    let mut viewer = Client::connect_with_key(&url, &created.view_key).await;
    assert!(viewer.read_only());
    assert_eq!(viewer.content(), "owned text");
    viewer.insert(0, "vandal ").await;
    let (code, reason) = viewer.expect_close().await;
    assert_eq!(code, CloseCode::Policy);
    assert!(reason.contains("view-only"), "{reason}");

    // So does a connection with no key at all: the room is protected.
    let mut anonymous = Client::connect(&server.ws_url(&room)).await;
    assert!(anonymous.read_only());
    anonymous.delete(0, 5).await;
    assert_eq!(anonymous.expect_close().await.0, CloseCode::Policy);

    // A key for another room, or a forged one, is refused with a reason.
    let (_, other) = create_room(&server, "{}").await;
    let other: CreatedRoom = serde_json::from_str(&other).expect("json");
    for bad in [
        other.edit_key.as_str(),
        "e.AAAAAAAAAAAAAAAAAAAAAA",
        "nonsense",
    ] {
        let mut refused = Client::upgrade_only_with_key(&url, bad)
            .await
            .unwrap_or_else(|| panic!("{bad}"));
        let (code, reason) = refused.expect_close().await;
        assert_eq!(code, CloseCode::Policy, "{bad}");
        assert!(reason.contains("not valid"), "{reason}");
    }

    editor.round_trip().await;
    assert!(editor.closed.is_none(), "the editor noticed nothing");
    assert_eq!(stored_text(&*store, &room), "owned text");
}

#[tokio::test]
async fn keys_are_handed_out_only_for_protected_rooms() {
    let (server, _) = TestServer::memory_with(|c| c.room_idle = Duration::from_millis(50)).await;
    // A visitor of an open, still empty room gets no keys: the name is its
    // only secret, and a key would outlive a later claim of the name.
    let early = server.client("claimed-later").await;
    assert!(!early.read_only());
    assert_eq!(early.share(), None);
    early.close().await;
    // An open room cannot be claimed; once it has unloaded, its empty name can.
    let registry = server.state.registry.clone();
    let name = RoomId::new("claimed-later").expect("valid name");
    tandem_testkit::eventually("room unloaded", || !registry.is_loaded(&name)).await;

    let (status, body) = create_room(&server, r#"{"name":"claimed-later"}"#).await;
    assert_eq!(status, 201, "{body}");
    let created: CreatedRoom = serde_json::from_str(&body).expect("json");
    let url = server.ws_url("claimed-later");

    // The claimer's editors get both keys; viewers and the keyless none.
    let editor = Client::connect_with_key(&url, &created.edit_key).await;
    let share = editor
        .share()
        .cloned()
        .expect("an editor of a protected room gets keys");
    assert_eq!(share.edit, created.edit_key);
    assert_eq!(share.view, created.view_key);
    let viewer = Client::connect_with_key(&url, &created.view_key).await;
    assert!(viewer.read_only());
    assert_eq!(viewer.share(), None);
    let anonymous = server.client("claimed-later").await;
    assert!(anonymous.read_only(), "the claim protects the name");
    assert_eq!(anonymous.share(), None);
}

#[tokio::test]
async fn only_empty_names_can_be_claimed() {
    let (server, _) = TestServer::memory().await;
    let mut open = server.client("open-by-name").await;
    open.insert(0, "public notes").await;
    open.wait_saved().await;
    let (status, body) = create_room(&server, r#"{"name":"open-by-name"}"#).await;
    assert_eq!(status, 409, "{body}");
    let (status, body) = create_room(&server, r#"{"name":"fresh-name"}"#).await;
    assert_eq!(status, 201, "{body}");
    // A name is claimed once: a second claim would hand out the same keys.
    let (status, body) = create_room(&server, r#"{"name":"fresh-name"}"#).await;
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("already exists"), "{body}");
    // Nor can a name be claimed from under someone who has it open, empty
    // or not: they would keep editing a document that became protected.
    let visitor = server.client("being-read").await;
    let (status, body) = create_room(&server, r#"{"name":"being-read"}"#).await;
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("is open"), "{body}");
    assert!(!visitor.read_only());
    let (status, _) = create_room(&server, r#"{"name":"bad name"}"#).await;
    assert_eq!(status, 400);
    let (status, _) = create_room(&server, r#"{"nmae":"typo"}"#).await;
    assert_eq!(status, 422);
    // Rooms opened by name stay open to everyone.
    assert!(!server.client("open-by-name").await.read_only());
}

#[tokio::test]
async fn a_view_key_makes_an_open_room_read_only_too() {
    let (server, store) = TestServer::memory().await;
    let mut writer = server.client("open-room").await;
    writer.insert(0, "as it was").await;
    writer.wait_saved().await;

    let keys = tandem_testkit::test_keys();
    let room = RoomId::new("open-room").expect("room");
    let view = keys.key_for(&room, tandem_server::access::Right::View);
    let mut viewer = Client::connect_with_key(&server.ws_url("open-room"), &view).await;
    assert!(viewer.read_only());
    assert_eq!(viewer.content(), "as it was", "a view key reads");

    // An edit with the view key is refused, and the room stays as it was.
    viewer.insert(0, "vandal ").await;
    let (code, reason) = viewer.expect_close().await;
    assert_eq!(code, CloseCode::Policy);
    assert!(reason.contains("view-only"), "{reason}");
    writer.round_trip().await;
    assert_eq!(writer.content(), "as it was", "nothing was relayed");
    assert_eq!(
        server.get("/api/rooms/open-room/text").await,
        (200, "as it was".to_owned())
    );
    assert_eq!(stored_text(&*store, "open-room"), "as it was");
}

#[tokio::test]
async fn flooding_messages_is_rate_limited() {
    let (server, _) = TestServer::memory_with(|c| {
        c.rate_limit = 20;
        c.rate_burst = 40;
    })
    .await;
    let mut calm = server.client("flood").await;
    let mut flood = server.client("flood").await;
    for _ in 0..200 {
        flood.ping().await;
    }
    let (code, reason) = flood.expect_close().await;
    assert_eq!(code, CloseCode::RateLimited);
    assert!(reason.contains("20 messages per second"), "{reason}");
    calm.insert(0, "unaffected").await;
    calm.wait_saved().await;
}

#[tokio::test]
async fn connection_limits_answer_1013_with_a_retry_hint() {
    let (server, _) = TestServer::memory_with(|c| {
        c.max_connections_per_ip = 3;
        c.max_room_connections = 2;
    })
    .await;
    let _a = server.client("full-room").await;
    let _b = server.client("full-room").await;
    let mut c = Client::upgrade_only(&server.ws_url("full-room"))
        .await
        .expect("upgrade");
    let (code, reason) = c.expect_close().await;
    assert_eq!(code, CloseCode::TryAgainLater);
    assert!(reason.contains("too many people"), "{reason}");
    assert!(
        close::retry_after(&reason).is_some_and(|s| (10..=30).contains(&s)),
        "{reason}"
    );
    drop(c);

    // The third connection from this address (the refused one has closed).
    tandem_testkit::eventually("the refused connection is gone", || {
        server.state.limits.open() == 2
    })
    .await;
    let _other_room = server.client("elsewhere").await;
    let mut d = Client::upgrade_only(&server.ws_url("elsewhere"))
        .await
        .expect("upgrade");
    let (code, reason) = d.expect_close().await;
    assert_eq!(code, CloseCode::TryAgainLater);
    assert!(
        reason.contains("too many connections from your address"),
        "{reason}"
    );
    assert!(close::retry_after(&reason).is_some(), "{reason}");
}

#[tokio::test]
async fn a_document_cannot_grow_past_its_limit() {
    let (server, store) = TestServer::memory_with(|c| c.max_document_bytes = 4096).await;
    let mut a = server.client("bounded").await;
    a.insert(0, "small").await;
    a.wait_saved().await;
    a.insert(5, &"x".repeat(5000)).await;
    let (code, reason) = a.expect_close().await;
    assert_eq!(code, CloseCode::DocumentTooLarge);
    assert!(reason.contains("4096"), "{reason}");
    assert_eq!(stored_text(&*store, "bounded"), "small");
    let b = server.client("bounded").await;
    assert_eq!(b.content(), "small");
}

/// A v1 update with `clients` client sections claiming `blocks` blocks each.
fn lying_update(blocks: u32) -> Vec<u8> {
    let mut update = vec![1];
    let mut n = blocks;
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            update.push(byte);
            break;
        }
        update.push(byte | 0x80);
    }
    update.extend([1, 0, 4, 1, b'x']);
    update
}

/// A real update from a client whose first five edits the server never saw.
fn gap_update() -> Vec<u8> {
    let doc = yrs::Doc::with_client_id(7);
    let text = doc.get_or_insert_text("content");
    text.insert(&mut doc.transact_mut(), 0, "12345");
    let before = doc.transact().state_vector();
    text.insert(&mut doc.transact_mut(), 5, "6");
    doc.transact().encode_diff_v1(&before)
}

#[tokio::test]
async fn crafted_updates_are_refused_and_never_applied_stored_or_relayed() {
    let (server, store) = TestServer::memory().await;
    let mut good = server.client("crafted").await;
    good.insert(0, "intact").await;
    good.wait_saved().await;
    let before = good.doc().transact().state_vector();

    let mut deep = vec![1, 1, 7, 0, 8, 1, 4, b'r', b'o', b'o', b't', 1];
    for _ in 0..100_000 {
        deep.extend([117, 1]);
    }
    deep.extend([126, 0]);
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (lying_update(u32::MAX), "count is larger"),
        (lying_update(50_000_000), "count is larger"),
        (vec![0xff, 0xff, 0xff, 0xff, 0x0f], "count is larger"),
        (deep, "nest deeper"),
        (vec![1, 1, 7, 0, 0x0c, 1, 0], "unknown tag"),
        // Client 7's edit at clock 5, though the room has nothing from client 7.
        (gap_update(), "depends on edits this server does not have"),
    ];
    for (update, reason) in cases {
        let mut bad = server.client("crafted").await;
        bad.send_raw(Message::Binary(SyncFrame::Update(update).encode().into()))
            .await;
        let (code, got) = bad.expect_close().await;
        assert_eq!(code, CloseCode::InvalidUpdate);
        assert!(got.contains(reason), "{got}");
    }
    good.round_trip().await;
    assert!(good.closed.is_none());
    assert_eq!(
        good.doc().transact().state_vector(),
        before,
        "nothing was relayed"
    );
    assert_eq!(stored_text(&*store, "crafted"), "intact");
}

#[tokio::test]
async fn invalid_utf8_in_a_text_frame_closes_with_a_reason() {
    let (server, _) = TestServer::memory().await;
    let mut a = server.client("utf8").await;
    let frame = tungstenite::protocol::frame::Frame::message(
        vec![0xff, 0xfe, 0xfd],
        tungstenite::protocol::frame::coding::OpCode::Data(
            tungstenite::protocol::frame::coding::Data::Text,
        ),
        true,
    );
    a.send_raw(Message::Frame(frame)).await;
    let (code, reason) = a.expect_close().await;
    assert_eq!(code, CloseCode::InvalidPayload, "{reason}");
    assert!(reason.contains("UTF-8"), "{reason}");
    let b = server.client("utf8").await;
    assert_eq!(b.content(), "");
}

#[tokio::test]
async fn a_fragmented_flood_is_cut_at_the_message_limit() {
    use tungstenite::protocol::frame::Frame;
    use tungstenite::protocol::frame::coding::{Data, OpCode};
    let (server, _) = TestServer::memory_with(|c| c.max_message_bytes = 64 * 1024).await;
    let mut a = server.client("fragments").await;
    a.send_raw(Message::Frame(Frame::message(
        vec![0u8; 16 * 1024],
        OpCode::Data(Data::Binary),
        false,
    )))
    .await;
    // Fragments keep coming until the server answers. (Flooding blindly
    // would leave unread bytes in the server's socket when it closes, and the
    // kernel would then reset the connection, losing the close frame.)
    for _ in 0..64 {
        a.send_raw(Message::Frame(Frame::message(
            vec![0u8; 16 * 1024],
            OpCode::Data(Data::Continue),
            false,
        )))
        .await;
        a.step(Duration::from_millis(100)).await;
        if a.closed.is_some() || a.ended {
            break;
        }
    }
    let (code, _) = a.expect_close().await;
    assert_eq!(code, CloseCode::TooBig);
    let mut b = server.client("fragments").await;
    b.insert(0, "alive").await;
    b.wait_saved().await;
}

#[tokio::test]
async fn a_document_downloads_as_text_with_the_rights_of_its_key() {
    let (server, _) = TestServer::memory().await;
    let mut a = server.client("export-open").await;
    a.insert(0, "# Notes\nplain text body").await;
    a.wait_saved().await;
    let (status, body) = server.get("/api/rooms/export-open/text").await;
    assert_eq!(status, 200);
    assert_eq!(body, "# Notes\nplain text body");
    let (status, _) = server.get("/api/rooms/export-open/text?format=md").await;
    assert_eq!(status, 200);
    let (status, _) = server.get("/api/rooms/export-open/text?format=pdf").await;
    assert_eq!(status, 400);

    let (_, created) = tandem_testkit::http(server.addr, "POST", "/api/rooms", None, "{}").await;
    let created: CreatedRoom = serde_json::from_str(&created).expect("json");
    let room = created.room.to_string();
    let mut owner = Client::connect_with_key(&server.ws_url(&room), &created.edit_key).await;
    owner.insert(0, "secret plans").await;
    owner.wait_saved().await;
    let path = |q: &str| format!("/api/rooms/{room}/text{q}");
    assert_eq!(
        server.get(&path("")).await.0,
        403,
        "protected without a key"
    );
    assert_eq!(
        server.get(&path("?key=v.AAAAAAAAAAAAAAAAAAAAAA")).await.0,
        403
    );
    let (status, body) = server
        .get(&path(&format!("?key={}", created.view_key)))
        .await;
    assert_eq!((status, body.as_str()), (200, "secret plans"));
    // What the web client sends: the key in a header, out of the URL and so
    // out of access logs.
    let as_markdown = path("?format=md");
    let bearer = |key| tandem_testkit::http(server.addr, "GET", &as_markdown, Some(key), "");
    let (status, body) = bearer(&created.view_key).await;
    assert_eq!((status, body.as_str()), (200, "secret plans"));
    let (status, _) = bearer("v.AAAAAAAAAAAAAAAAAAAAAA").await;
    assert_eq!(status, 403);
}
