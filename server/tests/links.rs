//! Share links as records, through the real server's HTTP API: editors list,
//! create, change and revoke a protected document's links; every refusal
//! has a status and a one-line reason; keys issued before links were
//! records keep working until revoked (the first change writes them down);
//! a revoked or expired link's key is refused wherever a key is read.

use serde_json::Value;
use tandem_server::store::{SqliteStore, Store as _};
use tandem_shared::links::{LinkEntry, LinkState, Right};
use tandem_shared::{CreatedRoom, RoomId};
use tandem_testkit::{DEADLINE, TestServer, http, poll, test_keys};

async fn create_room(server: &TestServer, name: &str) -> CreatedRoom {
    let body = format!("{{\"name\":\"{name}\"}}");
    let (status, answer) = http(server.addr, "POST", "/api/rooms", None, &body).await;
    assert_eq!(status, 201, "{answer}");
    serde_json::from_str(&answer).expect("created room")
}

async fn list(server: &TestServer, room: &str, key: &str) -> Vec<LinkEntry> {
    let path = format!("/api/rooms/{room}/links");
    let (status, body) = http(server.addr, "GET", &path, Some(key), "").await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).expect("a list of links")
}

async fn create(server: &TestServer, room: &str, key: &str, body: &str) -> LinkEntry {
    let path = format!("/api/rooms/{room}/links");
    let (status, answer) = http(server.addr, "POST", &path, Some(key), body).await;
    assert_eq!(status, 201, "{answer}");
    serde_json::from_str(&answer).expect("a link")
}

async fn change(server: &TestServer, room: &str, key: &str, id: &str, body: &str) -> LinkEntry {
    let path = format!("/api/rooms/{room}/links/{id}");
    let (status, answer) = http(server.addr, "PATCH", &path, Some(key), body).await;
    assert_eq!(status, 200, "{answer}");
    serde_json::from_str(&answer).expect("a link")
}

async fn revoke(server: &TestServer, room: &str, key: &str, id: &str) {
    let path = format!("/api/rooms/{room}/links/{id}");
    let (status, answer) = http(server.addr, "DELETE", &path, Some(key), "").await;
    assert_eq!(status, 204, "{answer}");
}

/// The status of reading the room's version list with `key`: a route any
/// link may use.
async fn reads(server: &TestServer, room: &str, key: &str) -> (u16, String) {
    let path = format!("/api/rooms/{room}/versions");
    http(server.addr, "GET", &path, Some(key), "").await
}

/// The reason of a refusal: its JSON `error`, one line.
fn reason(body: &str) -> String {
    let value: Value = serde_json::from_str(body).unwrap_or_else(|_| panic!("JSON: {body}"));
    let reason = value["error"].as_str().expect("an error field").to_owned();
    assert!(!reason.is_empty() && !reason.contains('\n'), "{reason:?}");
    reason
}

#[tokio::test]
async fn editors_list_create_change_and_revoke_links() {
    let (server, _store) = TestServer::memory().await;
    let room = create_room(&server, "links-manage").await;

    // Before any change, the two original links stand, with their keys.
    let listed = list(&server, "links-manage", &room.edit_key).await;
    let ids: Vec<&str> = listed.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(ids, ["e", "v"]);
    assert_eq!(listed[0].key.as_deref(), Some(room.edit_key.as_str()));
    assert_eq!(listed[1].key.as_deref(), Some(room.view_key.as_str()));
    assert_eq!(
        (listed[1].right, listed[1].state),
        (Right::View, LinkState::Active)
    );
    assert_eq!(
        listed[0].created_at, None,
        "the originals came with the room"
    );

    let review = create(
        &server,
        "links-manage",
        &room.edit_key,
        r#"{"right":"edit","label":"Design review","expires_in":86400,"created_by":"Ana"}"#,
    )
    .await;
    assert_eq!(review.right, Right::Edit);
    assert_eq!(review.label.as_deref(), Some("Design review"));
    assert_eq!(review.created_by.as_deref(), Some("Ana"));
    let created_at = review.created_at.expect("a created link has a time");
    assert_eq!(review.expires_at, Some(created_at + 86_400_000));
    let review_key = review.key.clone().expect("an active link's key");
    assert!(
        review_key.starts_with(&format!("{}.", review.id)),
        "{review_key}"
    );
    let ids: Vec<String> = list(&server, "links-manage", &room.edit_key)
        .await
        .into_iter()
        .map(|l| l.id.to_string())
        .collect();
    assert_eq!(ids, ["e", "v", review.id.as_str()]);

    // Its key works on every route that reads keys, and manages links too.
    assert_eq!(reads(&server, "links-manage", &review_key).await.0, 200);
    let narrowed = change(
        &server,
        "links-manage",
        &review_key,
        review.id.as_str(),
        r#"{"right":"view","label":null,"expires_in":null}"#,
    )
    .await;
    assert_eq!(
        (narrowed.right, narrowed.label, narrowed.expires_at),
        (Right::View, None, None)
    );
    // Narrowed, it reads but no longer manages.
    assert_eq!(reads(&server, "links-manage", &review_key).await.0, 200);
    let path = "/api/rooms/links-manage/links";
    let (status, body) = http(server.addr, "GET", path, Some(&review_key), "").await;
    assert_eq!(
        (status, reason(&body).as_str()),
        (403, "only editors may manage links; this link is view-only")
    );

    revoke(&server, "links-manage", &room.edit_key, review.id.as_str()).await;
    let (status, body) = reads(&server, "links-manage", &review_key).await;
    assert_eq!(
        (status, reason(&body).as_str()),
        (403, "this link was revoked")
    );
    let gone = list(&server, "links-manage", &room.edit_key)
        .await
        .into_iter()
        .find(|l| l.id == review.id)
        .expect("a revoked link stays listed");
    assert_eq!(gone.state, LinkState::Revoked);
    assert!(gone.revoked_at.is_some());
    assert_eq!(gone.key, None, "a dead link's key is not handed out again");
}

/// The migration: a document created before links were records has only
/// its `e.…`/`v.…` keys. They keep working as they did; the first change
/// of its links writes them down as the links `e` and `v`, which an
/// editor can then narrow or revoke like any other.
#[tokio::test]
async fn keys_from_before_links_were_records_work_until_revoked() {
    let dir = tandem_testkit::TempDir::new("links-migration");
    let mut server = TestServer::sqlite(dir.path(), |_| {}).await;
    let room = create_room(&server, "links-old").await;
    assert!(room.edit_key.starts_with("e.") && room.view_key.starts_with("v."));
    assert_eq!(reads(&server, "links-old", &room.view_key).await.0, 200);

    // The first change: a new link. The originals are written with it.
    create(&server, "links-old", &room.edit_key, r#"{"right":"view"}"#).await;
    let store = SqliteStore::open(dir.path()).expect("the same file, beside the server");
    let stored = store
        .links(&RoomId::new("links-old").expect("room"))
        .expect("links");
    let ids: Vec<&str> = stored.links.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(ids[..2], ["e", "v"], "the originals are records now");
    assert!(stored.protected);
    drop(store);

    // Both old keys still work, across a restart too.
    server.restart().await;
    assert_eq!(reads(&server, "links-old", &room.view_key).await.0, 200);
    assert_eq!(list(&server, "links-old", &room.edit_key).await.len(), 3);

    // Now the old view key can be revoked, and the old edit key narrowed
    // once another lasting edit link exists.
    revoke(&server, "links-old", &room.edit_key, "v").await;
    let (status, body) = reads(&server, "links-old", &room.view_key).await;
    assert_eq!(
        (status, reason(&body).as_str()),
        (403, "this link was revoked")
    );
    let spare = create(&server, "links-old", &room.edit_key, r#"{"right":"edit"}"#).await;
    change(
        &server,
        "links-old",
        &room.edit_key,
        "e",
        r#"{"right":"view"}"#,
    )
    .await;
    let spare_key = spare.key.expect("key");
    let (status, body) = http(
        server.addr,
        "GET",
        "/api/rooms/links-old/links",
        Some(&room.edit_key),
        "",
    )
    .await;
    assert_eq!(
        (status, reason(&body).as_str()),
        (403, "only editors may manage links; this link is view-only")
    );
    assert_eq!(list(&server, "links-old", &spare_key).await.len(), 4);
}

#[tokio::test]
async fn an_expired_link_is_refused_at_its_next_use() {
    let (server, _store) = TestServer::memory().await;
    let room = create_room(&server, "links-expiry").await;
    let brief = create(
        &server,
        "links-expiry",
        &room.edit_key,
        r#"{"right":"view","expires_in":1}"#,
    )
    .await;
    let key = brief.key.expect("key");
    poll(
        "the one-second link to expire",
        DEADLINE,
        async || match reads(&server, "links-expiry", &key).await {
            (403, body) if reason(&body) == "this link has expired" => Ok(()),
            other => Err(format!("{other:?}")),
        },
    )
    .await;
    let listed = list(&server, "links-expiry", &room.edit_key).await;
    let expired = listed.iter().find(|l| l.id == brief.id).expect("listed");
    assert_eq!(
        (expired.state, expired.key.as_deref()),
        (LinkState::Expired, None)
    );
    // Expiry is final: it cannot be extended.
    let path = format!("/api/rooms/links-expiry/links/{}", brief.id);
    let (status, body) = http(
        server.addr,
        "PATCH",
        &path,
        Some(&room.edit_key),
        r#"{"expires_in":null}"#,
    )
    .await;
    assert_eq!(
        (status, reason(&body).as_str()),
        (409, "this link has expired; create a new one")
    );
}

/// A request and its refusal: method, path, key, body, status, reason
/// (empty: any one-line reason, e.g. serde's for a bad body).
type Case<'a> = (&'a str, String, Option<&'a str>, String, u16, &'a str);

/// Every refusal of the links API: its status and its one-line reason.
#[tokio::test]
async fn every_refusal_has_a_status_and_a_reason() {
    let (server, _store) = TestServer::memory().await;
    let room = create_room(&server, "links-refused").await;
    let (edit, view) = (room.edit_key.as_str(), room.view_key.as_str());
    let links = "/api/rooms/links-refused/links";
    let one = |id: &str| format!("/api/rooms/links-refused/links/{id}");
    // An open room's key signs as any room's would, but it has no links.
    let open_key = test_keys().key_for(&RoomId::new("links-open").expect("room"), Right::Edit);
    http(server.addr, "GET", "/api/rooms/links-open/text", None, "").await;
    let stranger = test_keys().key_for(&RoomId::new("elsewhere").expect("room"), Right::Edit);
    let big = format!(r#"{{"right":"view","label":"{}"}}"#, "x".repeat(5_000));
    let unknown = "AAAAAAAAAAA";

    let cases: Vec<Case> = vec![
        (
            "GET",
            "/api/rooms/no%20room/links".into(),
            Some(edit),
            String::new(),
            400,
            "invalid room name",
        ),
        (
            "GET",
            links.into(),
            None,
            String::new(),
            403,
            "managing links needs the key of an edit link",
        ),
        (
            "GET",
            links.into(),
            Some(&stranger),
            String::new(),
            403,
            "this key is not valid for this document",
        ),
        (
            "GET",
            links.into(),
            Some("e.forged"),
            String::new(),
            403,
            "this key is not valid for this document",
        ),
        (
            "GET",
            links.into(),
            Some(view),
            String::new(),
            403,
            "only editors may manage links; this link is view-only",
        ),
        (
            "POST",
            links.into(),
            Some(view),
            r#"{"right":"edit"}"#.into(),
            403,
            "only editors may manage links; this link is view-only",
        ),
        ("POST", links.into(), Some(edit), "{".into(), 400, ""),
        (
            "POST",
            links.into(),
            Some(edit),
            r#"{"right":"owner"}"#.into(),
            400,
            "",
        ),
        (
            "POST",
            links.into(),
            Some(edit),
            r#"{"right":"edit","key":"mine"}"#.into(),
            400,
            "",
        ),
        (
            "POST",
            links.into(),
            Some(edit),
            r#"{"right":"edit","label":"  "}"#.into(),
            400,
            "the label is empty",
        ),
        (
            "POST",
            links.into(),
            Some(edit),
            r#"{"right":"edit","created_by":"a\nb"}"#.into(),
            400,
            "created_by contains control characters",
        ),
        (
            "POST",
            links.into(),
            Some(edit),
            r#"{"right":"edit","expires_in":0}"#.into(),
            400,
            "expires_in must be from 1 to 31622400 seconds, or null for never",
        ),
        (
            "POST",
            links.into(),
            Some(edit),
            big,
            413,
            "the body is larger than 4 KiB",
        ),
        (
            "PATCH",
            one("e"),
            Some(edit),
            "{}".into(),
            400,
            "the body changes nothing: give a label, right or expires_in",
        ),
        (
            "PATCH",
            one(unknown),
            Some(edit),
            r#"{"label":"x"}"#.into(),
            404,
            "no such link",
        ),
        (
            "PATCH",
            one("not-a-link-id"),
            Some(edit),
            r#"{"label":"x"}"#.into(),
            404,
            "no such link",
        ),
        (
            "DELETE",
            one(unknown),
            Some(edit),
            String::new(),
            404,
            "no such link",
        ),
        (
            "DELETE",
            one("e"),
            Some(edit),
            String::new(),
            409,
            "this would leave the document without an edit link that never expires; create one first",
        ),
        (
            "PATCH",
            one("e"),
            Some(edit),
            r#"{"right":"view"}"#.into(),
            409,
            "this would leave the document without an edit link that never expires; create one first",
        ),
        (
            "PATCH",
            one("e"),
            Some(edit),
            r#"{"expires_in":60}"#.into(),
            409,
            "this would leave the document without an edit link that never expires; create one first",
        ),
        (
            "GET",
            "/api/rooms/links-open/links".into(),
            Some(&open_key),
            String::new(),
            409,
            "this document is open to anyone who has its name; it has no links to manage",
        ),
    ];
    for (method, path, key, body, status, why) in cases {
        let (got, answer) = http(server.addr, method, &path, key, &body).await;
        assert_eq!(got, status, "{method} {path} {body:.60}: {answer}");
        let said = reason(&answer);
        if !why.is_empty() {
            assert_eq!(said, why, "{method} {path}");
        }
    }
    // Revoked is final, for the link and for its key.
    revoke(&server, "links-refused", edit, "v").await;
    let (status, body) = http(server.addr, "DELETE", &one("v"), Some(edit), "").await;
    assert_eq!(
        (status, reason(&body).as_str()),
        (409, "this link was revoked; create a new one")
    );
    let (status, body) = http(server.addr, "GET", links, Some(view), "").await;
    assert_eq!(
        (status, reason(&body).as_str()),
        (403, "this link was revoked")
    );
    // Nothing refused was written: the list is the originals, one revoked.
    let listed = list(&server, "links-refused", edit).await;
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].state, LinkState::Active);
}

/// A created link's key on the WebSocket's sibling routes: the download
/// takes it, and refuses it once revoked.
#[tokio::test]
async fn a_created_links_key_downloads_until_revoked() {
    let (server, _store) = TestServer::memory().await;
    let room = create_room(&server, "links-download").await;
    let reader = create(
        &server,
        "links-download",
        &room.edit_key,
        r#"{"right":"view"}"#,
    )
    .await;
    let key = reader.key.expect("key");
    let path = "/api/rooms/links-download/text";
    let (status, _) = http(server.addr, "GET", path, Some(&key), "").await;
    assert_eq!(status, 200);
    revoke(
        &server,
        "links-download",
        &room.edit_key,
        reader.id.as_str(),
    )
    .await;
    let (status, body) = http(server.addr, "GET", path, Some(&key), "").await;
    assert_eq!(
        (status, reason(&body).as_str()),
        (403, "this link was revoked")
    );
}

/// What changes to a link do to the connections it admitted: the Tandem
/// clients and the stock Yjs ones.
mod connections {
    use std::time::Duration;

    use futures_util::{SinkExt as _, StreamExt as _};
    use tandem_shared::close::{Close, CloseCode};
    use tandem_shared::yjs::YjsFrame;
    use tandem_shared::{ErrorCode, ServerMsg, SyncFrame};
    use tandem_testkit::socket::close_of;
    use tandem_testkit::{Client, DEADLINE, TestServer, http, poll};
    use tokio::task::JoinHandle;
    use tokio_tungstenite::tungstenite::Message;
    use yrs::{ReadTxn as _, StateVector, Transact as _};

    use super::{create, create_room};

    /// How soon a change must reach a connection it concerns, from the
    /// moment the API answered: the issue's promise, checked by waiting
    /// with this deadline (never by measuring).
    const AT_ONCE: Duration = Duration::from_secs(1);

    /// One typed character, each different within a run, so what the
    /// server kept is checked character by character.
    fn nth(i: usize) -> char {
        char::from(b'a' + (i % 26) as u8)
    }

    /// Types `count` characters at the end, one update each.
    async fn type_some(client: &mut Client, typed: &mut String, count: usize) {
        for _ in 0..count {
            let c = nth(typed.len());
            client.insert(client.len(), &c.to_string()).await;
            typed.push(c);
        }
    }

    /// A request to the API in a task of its own, so typing goes on while
    /// it runs.
    fn request(
        server: &TestServer,
        method: &'static str,
        path: String,
        key: String,
        body: &'static str,
    ) -> JoinHandle<(u16, String)> {
        let addr = server.addr;
        tokio::spawn(async move { http(addr, method, &path, Some(&key), body).await })
    }

    /// Keeps `client` typing (and reading) until `change` is answered;
    /// returns the answer.
    async fn type_during(
        client: &mut Client,
        typed: &mut String,
        change: JoinHandle<(u16, String)>,
    ) -> (u16, String) {
        while !change.is_finished() {
            type_some(client, typed, 1).await;
            client.step(Duration::from_millis(2)).await;
        }
        change.await.expect("the request's task")
    }

    /// The text the server holds for `room`, read by a new editor.
    async fn server_text(server: &TestServer, room: &str, key: &str) -> String {
        let mut reader = Client::connect_with_key(&server.ws_url(room), key).await;
        reader.round_trip().await;
        reader.content()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn revoking_closes_the_link_s_connections_at_once_and_keeps_what_they_saved() {
        let (server, _store) = TestServer::memory().await;
        let room = create_room(&server, "links-revoked-typist").await;
        let link = create(
            &server,
            "links-revoked-typist",
            &room.edit_key,
            r#"{"right":"edit","label":"Typist"}"#,
        )
        .await;
        let key = link.key.expect("key");
        let mut typist =
            Client::connect_with_key(&server.ws_url("links-revoked-typist"), &key).await;
        let mut bystander =
            Client::connect_with_key(&server.ws_url("links-revoked-typist"), &room.edit_key).await;
        let mut typed = String::new();
        type_some(&mut typist, &mut typed, 5).await;
        typist.wait_saved().await;

        let path = format!("/api/rooms/links-revoked-typist/links/{}", link.id);
        let revoke = request(&server, "DELETE", path, room.edit_key.clone(), "");
        let (status, body) = type_during(&mut typist, &mut typed, revoke).await;
        assert_eq!(status, 204, "{body}");
        let mut saved = typist.saved();
        let close: Close = poll(
            "the revoked link's connection to be closed",
            AT_ONCE,
            async || {
                typist.step(Duration::from_millis(5)).await;
                saved = saved.max(typist.saved());
                typist.closed.clone().ok_or_else(|| "still open".to_owned())
            },
        )
        .await;
        assert_eq!(
            (close.code, close.reason.as_str()),
            (CloseCode::AccessRevoked, "this link was revoked")
        );
        // Everything it was told was saved is on the server (its first
        // counted frame was its sync step 2, which carried nothing).
        let kept = server_text(&server, "links-revoked-typist", &room.edit_key).await;
        let acked = &typed[..(saved as usize).saturating_sub(1)];
        assert!(
            kept.starts_with(acked),
            "the server keeps every acknowledged character: {kept:?} vs {acked:?}"
        );
        // The editor on another link stays; the key no longer opens the room.
        bystander.round_trip().await;
        assert_eq!(bystander.closed, None);
        let mut again = Client::upgrade_only_with_key(&server.ws_url("links-revoked-typist"), &key)
            .await
            .expect("upgraded");
        let (code, reason) = again.expect_close().await;
        assert_eq!(
            (code, reason.as_str()),
            (CloseCode::AccessRevoked, "this link was revoked")
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn narrowing_makes_the_link_s_connections_read_only_in_place() {
        let (server, _store) = TestServer::memory().await;
        let name = "links-narrowed-typist";
        let room = create_room(&server, name).await;
        let link = create(&server, name, &room.edit_key, r#"{"right":"edit"}"#).await;
        let key = link.key.expect("key");
        let mut typist = Client::connect_with_key(&server.ws_url(name), &key).await;
        let mut typed = String::new();
        type_some(&mut typist, &mut typed, 5).await;
        typist.wait_saved().await;

        let path = format!("/api/rooms/{name}/links/{}", link.id);
        let narrow = request(
            &server,
            "PATCH",
            path,
            room.edit_key.clone(),
            r#"{"right":"view"}"#,
        );
        let (status, body) = type_during(&mut typist, &mut typed, narrow).await;
        assert_eq!(status, 200, "{body}");
        poll(
            "the connection to be told it may only read",
            AT_ONCE,
            async || {
                typist.step(Duration::from_millis(5)).await;
                if typist.read_only() {
                    Ok(())
                } else {
                    Err(format!("read-only: false, closed: {:?}", typist.closed))
                }
            },
        )
        .await;
        assert_eq!(typist.share(), None, "a reader holds no share keys");

        // What it sends from now on is refused, one by one, and it stays.
        let refused_before = read_only_errors(&typist);
        let mut late = String::new();
        for c in ['X', 'Y', 'Z'] {
            typist.insert(typist.len(), &c.to_string()).await;
            late.push(c);
        }
        typist
            .pump_until("three refusals", |c| {
                read_only_errors(c) >= refused_before + 3
            })
            .await;
        typist.round_trip().await;
        assert_eq!(typist.closed, None, "narrowed in place, not closed");
        let kept = server_text(&server, name, &room.edit_key).await;
        assert!(
            typed.starts_with(&kept),
            "{kept:?} is a prefix of {typed:?}"
        );
        assert!(kept.len() >= 5, "what was saved before stays: {kept:?}");
        assert!(
            !kept.contains(['X', 'Y', 'Z']),
            "later edits refused: {kept:?}"
        );

        // Widened again, it edits again, in place: its next step 2 carries
        // what the server refused meanwhile.
        let path = format!("/api/rooms/{name}/links/{}", link.id);
        let widen = request(
            &server,
            "PATCH",
            path,
            room.edit_key.clone(),
            r#"{"right":"edit"}"#,
        );
        assert_eq!(widen.await.expect("task").0, 200);
        let sent = typist.sent();
        typist
            .pump_until("editing again", |c| !c.read_only() && c.share().is_some())
            .await;
        typist
            .pump_until("its step 2 sent and saved", |c| {
                c.sent() > sent && c.saved() == c.sent()
            })
            .await;
        let kept = server_text(&server, name, &room.edit_key).await;
        assert!(kept.ends_with("XYZ"), "{kept:?}");
    }

    fn read_only_errors(client: &Client) -> usize {
        client
            .errors
            .iter()
            .filter(|e| {
                matches!(
                    e,
                    ServerMsg::Error {
                        code: ErrorCode::ReadOnly,
                        ..
                    }
                )
            })
            .count()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_link_that_expires_while_connected_closes_its_connections() {
        let (server, _store) = TestServer::memory().await;
        let name = "links-expiring";
        let room = create_room(&server, name).await;
        let link = create(
            &server,
            name,
            &room.edit_key,
            r#"{"right":"view","expires_in":2}"#,
        )
        .await;
        let expires_at = link.expires_at.expect("an expiry");
        let key = link.key.expect("key");
        let mut reader = Client::connect_with_key(&server.ws_url(name), &key).await;
        assert!(reader.read_only());
        // Closed at the expiry: waited for until a second past it.
        let left = u64::try_from(expires_at - tandem_server::links::now_ms()).unwrap_or(0);
        let close: Close = poll(
            "the expired link's connection to be closed",
            Duration::from_millis(left) + AT_ONCE,
            async || {
                reader.step(Duration::from_millis(10)).await;
                reader.closed.clone().ok_or_else(|| "still open".to_owned())
            },
        )
        .await;
        assert!(
            tandem_server::links::now_ms() >= expires_at,
            "not before its time"
        );
        assert_eq!(
            (close.code, close.reason.as_str()),
            (CloseCode::AccessRevoked, "this link has expired")
        );
        let mut again = Client::upgrade_only_with_key(&server.ws_url(name), &key)
            .await
            .expect("upgraded");
        assert_eq!(
            again.expect_close().await,
            (CloseCode::AccessRevoked, "this link has expired".to_owned())
        );
    }

    /// A stock Yjs client (the y-websocket dialect, key in the URL).
    struct YjsPeer {
        socket: tandem_testkit::socket::PlainSocket,
        doc: yrs::Doc,
        closed: Option<Close>,
    }

    impl YjsPeer {
        async fn connect(server: &TestServer, room: &str, key: &str) -> Self {
            let url = format!("{}/yjs/{room}?key={key}", server.ws_base());
            let (socket, _) = tokio_tungstenite::connect_async(url)
                .await
                .expect("connect");
            let mut peer = Self {
                socket,
                doc: tandem_shared::doc::new_doc(),
                closed: None,
            };
            peer.send(SyncFrame::Step1(StateVector::default())).await;
            peer
        }

        async fn send(&mut self, frame: SyncFrame) {
            let bytes = YjsFrame::Sync(frame).encode();
            let _ = self.socket.send(Message::Binary(bytes.into())).await;
        }

        /// Reads frames until `done` says a sync frame is what was awaited.
        async fn read_until(
            &mut self,
            what: &str,
            deadline: Duration,
            done: impl Fn(&SyncFrame) -> bool,
        ) {
            poll(what, deadline, async || {
                match tokio::time::timeout(Duration::from_millis(10), self.socket.next()).await {
                    Ok(Some(Ok(Message::Binary(bytes)))) => match YjsFrame::decode(&bytes) {
                        Ok(YjsFrame::Sync(frame)) if done(&frame) => Ok(()),
                        _ => Err("another frame".to_owned()),
                    },
                    Ok(Some(Ok(Message::Close(frame)))) => {
                        self.closed = Some(close_of(frame.as_ref()));
                        Ok(())
                    }
                    Ok(None | Some(Err(_))) => Ok(()),
                    _ => Err("nothing yet".to_owned()),
                }
            })
            .await;
        }

        /// An update typing `text` at the start, sent as a stock client does.
        async fn type_text(&mut self, text: &str) {
            let body = self.doc.get_or_insert_text(tandem_shared::doc::CONTENT);
            let update = tandem_testkit::edit::insert(&self.doc, &body, 0, text);
            self.send(SyncFrame::Update(update)).await;
        }

        /// A round trip through the room: a step 1, answered with a step 2.
        async fn round_trip(&mut self) {
            let sv = self.doc.transact().state_vector();
            self.send(SyncFrame::Step1(sv)).await;
            self.read_until("the room's step 2", DEADLINE, |f| {
                matches!(f, SyncFrame::Step2(_))
            })
            .await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_yjs_client_is_cut_when_its_link_is_revoked_and_refused_once_narrowed() {
        let (server, _store) = TestServer::memory().await;
        let name = "links-yjs";
        let room = create_room(&server, name).await;
        let narrowed = create(&server, name, &room.edit_key, r#"{"right":"edit"}"#).await;
        let revoked = create(&server, name, &room.edit_key, r#"{"right":"edit"}"#).await;

        // Narrowed: its updates are refused from then on (it cannot be
        // told: the dialect has no such message), and it stays connected.
        let mut yjs = YjsPeer::connect(&server, name, narrowed.key.as_deref().expect("key")).await;
        yjs.round_trip().await;
        yjs.type_text("before ").await;
        yjs.round_trip().await;
        // A Tandem client on the same link hears of the change, so the room
        // has made it by then.
        let mut witness =
            Client::connect_with_key(&server.ws_url(name), narrowed.key.as_deref().expect("key"))
                .await;
        let path = format!("/api/rooms/{name}/links/{}", narrowed.id);
        let (status, _) = http(
            server.addr,
            "PATCH",
            &path,
            Some(&room.edit_key),
            r#"{"right":"view"}"#,
        )
        .await;
        assert_eq!(status, 200);
        witness.pump_until("the narrowing", Client::read_only).await;
        yjs.type_text("after ").await;
        yjs.round_trip().await;
        assert_eq!(yjs.closed, None, "still connected");
        assert_eq!(server_text(&server, name, &room.edit_key).await, "before ");

        // Revoked: cut at once.
        let mut cut = YjsPeer::connect(&server, name, revoked.key.as_deref().expect("key")).await;
        cut.round_trip().await;
        let path = format!("/api/rooms/{name}/links/{}", revoked.id);
        let (status, _) = http(server.addr, "DELETE", &path, Some(&room.edit_key), "").await;
        assert_eq!(status, 204);
        cut.read_until("the cut", AT_ONCE, |_| false).await;
        let close = cut.closed.expect("a close frame");
        assert_eq!(
            (close.code, close.reason.as_str()),
            (CloseCode::AccessRevoked, "this link was revoked")
        );
        // And its key no longer opens the room on /yjs/ either.
        let mut again = YjsPeer::connect(&server, name, revoked.key.as_deref().expect("key")).await;
        again.read_until("the refusal", DEADLINE, |_| false).await;
        assert_eq!(again.closed.map(|c| c.code), Some(CloseCode::AccessRevoked));
    }
}
