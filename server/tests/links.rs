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
