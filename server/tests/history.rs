//! Version history through the real server: the HTTP API and its refusals,
//! restore as a forward edit that two socket clients converge on, versions
//! kept across compaction and restarts, checkpoints on their own (after a
//! stretch of editing, on unload), retention that thins old checkpoints but
//! never a named one, and a room that keeps relaying while its history is
//! read.

mod support;

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use support::gated_store::{GatedStore, Held, OpenOnDrop};
use tandem_server::store::{MemoryStore, NewVersion, SqliteStore, Store as _, VersionKind};
use tandem_shared::history::VersionEntry;
use tandem_shared::{CreatedRoom, Presence, RoomId};
use tandem_testkit::{Client, DEADLINE, TempDir, TestServer, eventually, poll, test_config};

/// One request with the share key as a bearer token: status and body.
/// These answers always have a length.
async fn http(
    server: &TestServer,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: &str,
) -> (u16, String) {
    let bearer = bearer.map(|key| format!("Bearer {key}"));
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(bearer) = &bearer {
        headers.push(("Authorization", bearer));
    }
    let response =
        tandem_testkit::http::request(server.addr, method, path, &headers, body.as_bytes()).await;
    assert_eq!(
        response.header("transfer-encoding"),
        None,
        "these answers have a length"
    );
    (response.status, response.text())
}

async fn create_room(server: &TestServer, name: &str) -> CreatedRoom {
    let (status, body) = http(
        server,
        "POST",
        "/api/rooms",
        None,
        &format!("{{\"name\":\"{name}\"}}"),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    serde_json::from_str(&body).expect("created room")
}

async fn list(server: &TestServer, room: &str, key: Option<&str>) -> Vec<VersionEntry> {
    let (status, body) = http(
        server,
        "GET",
        &format!("/api/rooms/{room}/versions"),
        key,
        "",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).expect("a version list")
}

async fn name(server: &TestServer, room: &str, key: Option<&str>, label: &str) -> VersionEntry {
    let body = serde_json::json!({ "label": label }).to_string();
    let (status, answer) = http(
        server,
        "POST",
        &format!("/api/rooms/{room}/versions"),
        key,
        &body,
    )
    .await;
    assert_eq!(status, 201, "{answer}");
    serde_json::from_str(&answer).expect("a version")
}

async fn restore(server: &TestServer, room: &str, key: Option<&str>, id: u64) -> (u16, String) {
    http(
        server,
        "POST",
        &format!("/api/rooms/{room}/versions/{id}/restore"),
        key,
        "",
    )
    .await
}

fn presence(name: &str) -> Presence {
    Presence {
        name: name.into(),
        color: "#336699".into(),
        cursor: None,
    }
}

fn error_of(body: &str) -> String {
    let value: Value = serde_json::from_str(body).expect("a JSON refusal");
    value["error"].as_str().expect("an error").to_string()
}

#[tokio::test]
async fn a_restore_reaches_both_clients_and_is_listed() {
    let (server, _) = TestServer::memory().await;
    let created = create_room(&server, "restore-two").await;
    let edit = created.edit_key.as_str();
    let url = server.ws_url("restore-two");
    let mut ana = Client::connect_with_key(&url, edit).await;
    let mut bo = Client::connect_with_key(&url, edit).await;
    ana.send_presence(presence("Ana")).await;
    bo.send_presence(presence("Bo")).await;

    ana.insert(0, "Hello world").await;
    ana.wait_saved().await;
    let first = name(&server, "restore-two", Some(edit), "Draft sent to Ana").await;
    assert_eq!(first.label.as_deref(), Some("Draft sent to Ana"));
    assert_eq!(first.kind, "named");
    assert_eq!(first.authors, vec!["Ana".to_string()]);

    bo.pump_until("Bo has Ana's text", |c| c.content() == "Hello world")
        .await;
    bo.insert(6, "brave new ").await;
    bo.wait_saved().await;
    ana.pump_until("Ana has Bo's edit", |c| {
        c.content() == "Hello brave new world"
    })
    .await;

    let (status, body) = restore(&server, "restore-two", Some(edit), first.id).await;
    assert_eq!(status, 200, "{body}");
    let restored: VersionEntry = serde_json::from_str(&body).expect("a version");
    assert_eq!(restored.kind, "restore");
    assert_eq!(restored.restored_from, Some(first.id));

    // Both open clients converge on the old text through an ordinary update.
    ana.pump_until("Ana sees the restore", |c| c.content() == "Hello world")
        .await;
    bo.pump_until("Bo sees the restore", |c| c.content() == "Hello world")
        .await;

    let versions = list(&server, "restore-two", Some(edit)).await;
    let kinds: Vec<&str> = versions.iter().map(|v| v.kind.as_str()).collect();
    assert_eq!(kinds, vec!["restore", "before-restore", "named"]);
    assert_eq!(versions[0].id, restored.id, "newest first");
    assert_eq!(versions[1].authors, vec!["Bo".to_string()]);

    // The checkpoint before the restore holds what it replaced: the restore
    // can itself be undone.
    let (status, text) = http(
        &server,
        "GET",
        &format!("/api/rooms/restore-two/versions/{}/text", versions[1].id),
        Some(edit),
        "",
    )
    .await;
    assert_eq!((status, text.as_str()), (200, "Hello brave new world"));
    let (status, body) = restore(&server, "restore-two", Some(edit), versions[1].id).await;
    assert_eq!(status, 200, "{body}");
    bo.pump_until("Bo sees the undo", |c| {
        c.content() == "Hello brave new world"
    })
    .await;
}

#[tokio::test]
async fn history_requests_are_checked() {
    let (server, _) = TestServer::memory().await;
    let created = create_room(&server, "guarded").await;
    let (edit, view) = (created.edit_key.as_str(), created.view_key.as_str());
    let mut ana = Client::connect_with_key(&server.ws_url("guarded"), edit).await;
    ana.insert(0, "secret plans").await;
    ana.wait_saved().await;
    let named = name(&server, "guarded", Some(edit), "v1").await;
    let text_path = format!("/api/rooms/guarded/versions/{}/text", named.id);

    // A view key browses, by header or by `?key=`...
    assert_eq!(list(&server, "guarded", Some(view)).await.len(), 1);
    let (status, text) = http(&server, "GET", &format!("{text_path}?key={view}"), None, "").await;
    assert_eq!((status, text.as_str()), (200, "secret plans"));
    // ...but neither names nor restores.
    let (status, body) = restore(&server, "guarded", Some(view), named.id).await;
    assert_eq!(status, 403, "{body}");
    assert!(error_of(&body).contains("view-only"), "{body}");
    let (status, body) = http(
        &server,
        "POST",
        &format!("/api/rooms/guarded/versions?key={view}"),
        None,
        r#"{"label":"mine"}"#,
    )
    .await;
    assert_eq!(status, 403, "{body}");

    // No key, or a wrong one, on a protected room: nothing.
    let (status, _) = http(&server, "GET", "/api/rooms/guarded/versions", None, "").await;
    assert_eq!(status, 403);
    let (status, _) = http(&server, "GET", &text_path, None, "").await;
    assert_eq!(status, 403);
    let (status, body) = restore(&server, "guarded", None, named.id).await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = restore(&server, "guarded", Some("e.forged"), named.id).await;
    assert_eq!(status, 403, "{body}");
    assert!(error_of(&body).contains("not valid"), "{body}");

    // Bad ids.
    for id in ["999999", "abc", "-1"] {
        let (status, body) = http(
            &server,
            "POST",
            &format!("/api/rooms/guarded/versions/{id}/restore"),
            Some(edit),
            "",
        )
        .await;
        assert_eq!(status, 404, "{id}: {body}");
        let (status, _) = http(
            &server,
            "GET",
            &format!("/api/rooms/guarded/versions/{id}/text"),
            Some(edit),
            "",
        )
        .await;
        assert_eq!(status, 404, "{id}");
    }
    // Another room's version is not this room's.
    let other = create_room(&server, "elsewhere").await;
    let (status, _) = http(
        &server,
        "GET",
        &format!("/api/rooms/elsewhere/versions/{}/text", named.id),
        Some(&other.edit_key),
        "",
    )
    .await;
    assert_eq!(status, 404);

    // Bad bodies and labels.
    let bodies = [
        ("not json", 400),
        (r#"{"label": 5}"#, 400),
        (r#"{"label": "x", "extra": 1}"#, 400),
        (r#"{"label": "   "}"#, 400),
        (r#"{"label": "a\u0007b"}"#, 400),
    ];
    for (body, expected) in bodies {
        let (status, answer) = http(
            &server,
            "POST",
            "/api/rooms/guarded/versions",
            Some(edit),
            body,
        )
        .await;
        assert_eq!(status, expected, "{body}: {answer}");
        assert!(!error_of(&answer).is_empty());
    }
    let long_label = serde_json::json!({ "label": "é".repeat(101) }).to_string();
    let (status, _) = http(
        &server,
        "POST",
        "/api/rooms/guarded/versions",
        Some(edit),
        &long_label,
    )
    .await;
    assert_eq!(status, 400);
    let huge = serde_json::json!({ "label": "x".repeat(5000) }).to_string();
    let (status, body) = http(
        &server,
        "POST",
        "/api/rooms/guarded/versions",
        Some(edit),
        &huge,
    )
    .await;
    assert_eq!(status, 413, "{body}");
    let (status, _) = http(&server, "GET", "/api/rooms/Bad%20Name!/versions", None, "").await;
    assert_eq!(status, 400);
    assert_eq!(
        list(&server, "guarded", Some(edit)).await.len(),
        1,
        "nothing was added"
    );

    // An open room (made by name, no keys) is everyone's, as for editing.
    let mut open = server.client("open-room").await;
    open.insert(0, "anyone").await;
    open.wait_saved().await;
    let version = name(&server, "open-room", None, "open").await;
    let (status, body) = restore(&server, "open-room", None, version.id).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn versions_survive_compaction_and_restarts() {
    let dir = TempDir::new("history-restart");
    let mut server = TestServer::sqlite(dir.path(), |c| c.compact_updates = 10).await;
    let mut a = server.client("kept").await;
    a.insert(0, "version one").await;
    a.wait_saved().await;
    let one = name(&server, "kept", None, "one").await;
    for i in 0..40 {
        a.insert(a.len(), &format!(" {i}")).await;
    }
    a.wait_saved().await;
    let later = a.content();
    a.close().await;
    server.restart().await;

    let versions = list(&server, "kept", None).await;
    assert!(
        versions
            .iter()
            .any(|v| v.id == one.id && v.label.as_deref() == Some("one")),
        "{versions:?}"
    );
    // The shutdown took a checkpoint of the edits made after "one".
    assert_eq!(versions[0].kind, "idle", "{versions:?}");
    let (status, text) = http(
        &server,
        "GET",
        &format!("/api/rooms/kept/versions/{}/text", versions[0].id),
        None,
        "",
    )
    .await;
    assert_eq!((status, text.as_str()), (200, later.as_str()));

    let (status, body) = restore(&server, "kept", None, one.id).await;
    assert_eq!(status, 200, "{body}");
    // The restore is an ordinary stored update: it is still there after a restart.
    server.restart().await;
    let b = server.client("kept").await;
    assert_eq!(b.content(), "version one");
    let (status, text) = http(
        &server,
        "GET",
        &format!("/api/rooms/kept/versions/{}/text", one.id),
        None,
        "",
    )
    .await;
    assert_eq!((status, text.as_str()), (200, "version one"));
}

#[tokio::test]
async fn checkpoints_come_after_editing_and_on_unload() {
    let (mut server, store) = TestServer::memory_with(|c| {
        c.history_interval = Duration::from_millis(1500);
        c.room_idle = Duration::from_millis(300);
    })
    .await;
    let room = RoomId::new("auto").expect("room");
    let mut a = server.client("auto").await;
    a.send_presence(presence("Ana")).await;
    let mut anonymous = server.client("auto").await;
    a.insert(0, "typed").await;
    anonymous
        .pump_until("the text arrives", |c| c.content() == "typed")
        .await;
    anonymous.insert(0, "> ").await;
    a.wait_saved().await;
    anonymous.wait_saved().await;
    eventually("a checkpoint after a stretch of editing", || {
        store.list_versions(&room).map_or(0, |v| v.len()) == 1
    })
    .await;
    let versions = store.list_versions(&room).expect("list");
    assert_eq!(versions[0].kind, VersionKind::Edit);
    assert_eq!(
        versions[0].authors,
        vec!["Ana".to_string(), "Anonymous".to_string()]
    );

    a.insert(a.len(), " more").await;
    a.wait_saved().await;
    a.close().await;
    anonymous.close().await;
    eventually("a checkpoint when the room unloads", || {
        store.list_versions(&room).is_ok_and(|v| {
            v.first().is_some_and(|v| v.authors == ["Ana".to_string()]) && v.len() == 2
        })
    })
    .await;
    eventually("the room unloads", || server.state.registry.loaded() == 0).await;
    // Nothing changed since: no further checkpoint, even once every room
    // has stopped (a stopped server has run every room's last store work).
    server.stop().await;
    assert_eq!(store.list_versions(&room).expect("list").len(), 2);
}

#[tokio::test]
async fn retention_thins_old_checkpoints_and_never_a_named_one() {
    const HOUR: i64 = 3_600_000;
    const DAY: i64 = 24 * HOUR;
    let dir = TempDir::new("history-retention");
    let room = RoomId::new("old").expect("room");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64;
    // Stored as an older server would have: explicit timestamps, oldest first.
    let ids = {
        let store = SqliteStore::open(dir.path()).expect("open");
        let state = {
            use yrs::{ReadTxn as _, StateVector, Transact as _};
            tandem_shared::doc::new_doc()
                .transact()
                .encode_state_as_update_v1(&StateVector::default())
        };
        let start_of_day = (now - 40 * DAY).div_euclid(DAY) * DAY;
        let start_of_hour = (now - 3 * DAY).div_euclid(HOUR) * HOUR;
        let at = [
            (start_of_day + HOUR, Some("named long ago")), // kept: named
            (start_of_day + 2 * HOUR, None),               // dropped: same day
            (start_of_day + 3 * HOUR, None),               // kept: newest of its day
            (start_of_hour + 60_000, None),                // dropped: same hour
            (start_of_hour + 120_000, None),               // kept: newest of its hour
            (now - HOUR, None),                            // kept: within a day
            (now - HOUR + 1, None),                        // kept: within a day
        ];
        at.iter()
            .map(|(at, label)| {
                store
                    .add_version(
                        &room,
                        &NewVersion {
                            at: *at,
                            authors: &[],
                            label: *label,
                            kind: VersionKind::Edit,
                            restored_from: None,
                            changes: &[],
                            state: &state,
                        },
                    )
                    .expect("add")
            })
            .collect::<Vec<u64>>()
    };
    let server = TestServer::sqlite(dir.path(), |_| {}).await;
    // Naming an old checkpoint keeps it from retention.
    let (status, body) = http(
        &server,
        "PUT",
        &format!("/api/rooms/old/versions/{}/label", ids[3]),
        None,
        r#"{"label": "keep this one"}"#,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // Any checkpoint applies retention; naming one takes a checkpoint.
    let named = name(&server, "old", None, "today").await;
    let listed: Vec<u64> = list(&server, "old", None)
        .await
        .iter()
        .map(|v| v.id)
        .collect();
    assert_eq!(
        listed,
        vec![named.id, ids[6], ids[5], ids[4], ids[3], ids[2], ids[0]],
        "kept: today's, the newest of the old hour and of the old day, and the named ones"
    );
}

#[tokio::test]
async fn editors_name_existing_versions_and_delete_them() {
    let (server, _) = TestServer::memory().await;
    let created = create_room(&server, "tidy").await;
    let (edit, view) = (created.edit_key.as_str(), created.view_key.as_str());
    let mut a = Client::connect_with_key(&server.ws_url("tidy"), edit).await;
    a.insert(0, "draft").await;
    a.wait_saved().await;
    let version = name(&server, "tidy", Some(edit), "first").await;
    let label_path = format!("/api/rooms/tidy/versions/{}/label", version.id);
    let version_path = format!("/api/rooms/tidy/versions/{}", version.id);

    let (status, body) = http(
        &server,
        "PUT",
        &label_path,
        Some(edit),
        r#"{"label":"renamed"}"#,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let renamed: VersionEntry = serde_json::from_str(&body).expect("a version");
    assert_eq!(renamed.label.as_deref(), Some("renamed"));
    assert_eq!(renamed.id, version.id);

    // A view key may do neither; bad labels and unknown ids are refused.
    let (status, _) = http(
        &server,
        "PUT",
        &label_path,
        Some(view),
        r#"{"label":"mine"}"#,
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = http(&server, "DELETE", &version_path, Some(view), "").await;
    assert_eq!(status, 403);
    let (status, _) = http(&server, "PUT", &label_path, Some(edit), r#"{"label":""}"#).await;
    assert_eq!(status, 400);
    let (status, _) = http(
        &server,
        "PUT",
        "/api/rooms/tidy/versions/999999/label",
        Some(edit),
        r#"{"label":"x"}"#,
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = http(
        &server,
        "DELETE",
        "/api/rooms/tidy/versions/999999",
        Some(edit),
        "",
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(list(&server, "tidy", Some(view)).await, vec![renamed]);

    let (status, body) = http(&server, "DELETE", &version_path, Some(edit), "").await;
    assert_eq!((status, body.as_str()), (204, ""));
    assert!(list(&server, "tidy", Some(edit)).await.is_empty());
    let (status, _) = http(
        &server,
        "GET",
        &format!("{version_path}/text"),
        Some(edit),
        "",
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(
        a.content(),
        "draft",
        "deleting a version leaves the document alone"
    );
}

// Two workers: a room that blocked its thread on the store would still let
// the test's own waits run out and fail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_keeps_relaying_while_its_versions_are_read() {
    let memory = Arc::new(MemoryStore::default());
    let store = Arc::new(GatedStore::open(memory, Held::VersionLists));
    let server = TestServer::start(
        test_config(std::path::Path::new("/nonexistent")),
        store.clone(),
    )
    .await;
    let mut writer = server.client("busy").await;
    let mut reader = server.client("busy").await;
    let _open_at_the_end = OpenOnDrop(store.clone());

    // A list request whose store read is held until the gate opens.
    store.shut_gate();
    let addr = server.addr;
    let listing = tokio::spawn(async move {
        tandem_testkit::http(addr, "GET", "/api/rooms/busy/versions", None, "").await
    });
    poll(
        "the list to reach the store",
        DEADLINE,
        async || match store.waiting() {
            0 => Err("not yet".to_owned()),
            _ => Ok(()),
        },
    )
    .await;

    // The room's keystrokes go on meanwhile.
    writer.insert(0, "typed while the store reads").await;
    reader
        .pump_until("the reader gets the keystroke", |c| {
            c.content() == "typed while the store reads"
        })
        .await;
    assert_eq!(store.waiting(), 1, "the list is still held");

    store.open_gate();
    let (status, body) = listing.await.expect("the request task");
    assert_eq!((status, body.as_str()), (200, "[]"));
    writer.wait_saved().await;
}
