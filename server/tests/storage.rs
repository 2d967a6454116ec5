//! Durability: "saved" means on disk; restarts, compaction and group commit.

mod support;

use std::sync::Arc;

use support::gated_store::{GatedStore, Held};
use tandem_server::store::{SqliteStore, Store};
use tandem_shared::RoomId;
use tandem_shared::close::CloseCode;
use tandem_testkit::{TempDir, TestServer, eventually, test_config};
use yrs::{GetString as _, Transact as _};

fn room(name: &str) -> RoomId {
    RoomId::new(name).expect("valid room")
}

#[tokio::test]
async fn text_survives_a_restart() {
    let dir = TempDir::new("restart");
    let mut server = TestServer::sqlite(dir.path(), |_| {}).await;
    let mut a = server.client("diary").await;
    a.insert(0, "Dear diary, ").await;
    a.insert(12, "today we shipped. 🚢").await;
    a.delete(0, 5).await;
    a.wait_saved().await;
    let written = a.content();
    a.close().await;
    server.stop().await;

    let server = TestServer::sqlite(dir.path(), |_| {}).await;
    assert_eq!(server.client("diary").await.content(), written);
    assert_eq!(written, "diary, today we shipped. 🚢");
}

#[tokio::test]
async fn saved_counts_every_update_frame_in_order() {
    let (server, _) = TestServer::memory().await;
    let mut a = server.client("count").await;
    // The step 2 sent during the handshake counts too.
    assert_eq!(a.sent(), 1);
    a.wait_saved().await;
    for i in 0..20 {
        a.insert(a.len(), &format!("{i} ")).await;
    }
    assert_eq!(a.sent(), 21);
    a.wait_saved().await;
    assert_eq!(a.saved(), 21);
}

#[tokio::test]
async fn updates_arriving_during_a_commit_share_the_next_one() {
    let (server, store) = TestServer::memory().await;
    let mut a = server.client("group").await;
    a.wait_saved().await;
    let before = store.appends();
    for i in 0..200 {
        a.insert(a.len(), &format!("{i},")).await;
    }
    a.wait_saved().await;
    let commits = store.appends() - before;
    assert!(commits >= 1);
    assert!(
        commits < 200,
        "200 updates took {commits} commits: no grouping"
    );
    assert_eq!(
        store.log_len(&room("group")),
        200,
        "every update is in the log"
    );
}

#[tokio::test]
async fn compaction_keeps_content_identical() {
    let dir = TempDir::new("compact");
    let mut server = TestServer::sqlite(dir.path(), |c| c.compact_updates = 25).await;
    let mut a = server.client("compact").await;
    for i in 0..120u32 {
        if i % 7 == 6 {
            a.delete(0, 2).await;
        } else {
            a.insert(a.len(), &format!("line {i}\n")).await;
        }
        if i % 10 == 0 {
            a.wait_saved().await;
        }
    }
    a.wait_saved().await;
    let written = a.content();
    a.close().await;
    server.stop().await;

    let stored = SqliteStore::open(dir.path())
        .expect("open")
        .load(&room("compact"))
        .expect("load");
    assert!(
        stored.snapshot.is_some(),
        "the log was compacted into a snapshot"
    );
    assert!(
        stored.updates.len() < 25 + 10,
        "log holds {} entries",
        stored.updates.len()
    );

    let server = TestServer::sqlite(dir.path(), |_| {}).await;
    assert_eq!(server.client("compact").await.content(), written);
}

#[tokio::test]
async fn an_idle_room_is_unloaded_and_reloads_intact() {
    let (server, store) =
        TestServer::memory_with(|c| c.room_idle = std::time::Duration::from_millis(50)).await;
    let mut a = server.client("idle").await;
    a.insert(0, "remember me").await;
    a.wait_saved().await;
    a.close().await;
    let registry = server.state.registry.clone();
    tandem_testkit::eventually("room unloaded", || !registry.is_loaded(&room("idle"))).await;
    let loads = store.loads();
    assert_eq!(server.client("idle").await.content(), "remember me");
    assert_eq!(store.loads(), loads + 1);
}

#[tokio::test]
async fn graceful_shutdown_commits_what_it_received_before_saying_going_away() {
    let dir = TempDir::new("shutdown");
    let sqlite: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path()).expect("open"));
    let store = Arc::new(GatedStore::shut(sqlite, Held::Appends));
    let mut server = TestServer::start(test_config(dir.path()), store.clone()).await;
    let mut a = server.client("bye").await;
    let mut b = server.client("bye").await;
    let markers: Vec<String> = (0..50).map(|i| format!("{i} ")).collect();
    for marker in &markers {
        a.insert(a.len(), marker).await;
    }
    // The room has applied every edit (it relayed them), and none is on disk.
    b.pump_until("b sees every edit", |c| c.content() == markers.concat())
        .await;
    a.drain().await;
    assert!(a.saved() < a.sent(), "edits are waiting for the disk");

    let state = server.state.clone();
    let stop = tokio::spawn(async move { server.stop().await });
    eventually("the server is shutting down", || {
        state.shutdown.is_cancelled()
    })
    .await;
    store.open_gate();
    let (code, reason) = a.expect_close().await;
    assert_eq!(code, CloseCode::GoingAway);
    assert!(reason.contains("shutting down"), "{reason}");
    // Everything a sent was committed and acknowledged before the close...
    assert_eq!(
        a.saved(),
        a.sent(),
        "the last `saved` came before the close"
    );
    let (code, _) = b.expect_close().await;
    assert_eq!(code, CloseCode::GoingAway);
    a.close().await;
    b.close().await;
    stop.await.expect("stopped");
    drop(store);

    // ...and it is on disk, with no client reconnecting to resend it.
    let stored = SqliteStore::open(dir.path())
        .expect("open")
        .load(&room("bye"))
        .expect("load");
    let (doc, skipped) = stored.to_doc();
    assert!(skipped.is_empty(), "{skipped:?}");
    let text = doc.get_or_insert_text(tandem_shared::doc::CONTENT);
    assert_eq!(text.get_string(&doc.transact()), markers.concat());
}
