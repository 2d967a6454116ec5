//! The kit's own promises: the client syncs, counts and sees closes the way
//! the tests rely on; the server restarts on its port with its rooms and
//! cleans up its scratch directory.

use tandem_shared::close::CloseCode;
use tandem_testkit::{Client, Storage, TempDir, TestServer, test_config};

#[tokio::test]
async fn clients_sync_relay_and_count_what_was_saved() {
    let (server, _) = TestServer::memory().await;
    let mut a = server.client("kit").await;
    assert!(a.synced());
    assert_eq!(a.sent(), 1, "the handshake's step 2 is counted");
    a.insert(0, "hello").await;
    a.wait_saved().await;
    assert_eq!((a.sent(), a.saved()), (2, 2));
    let b = server.client("kit").await;
    assert_eq!(b.content(), "hello");
    a.ping().await;
    a.pump_until("a pong", |c| c.pongs == 1).await;
}

#[tokio::test]
async fn a_refused_write_is_seen_as_a_typed_close() {
    let (server, _) = TestServer::memory().await;
    let (status, body) = server.get("/healthz").await;
    assert_eq!(status, 200, "{body}");
    let keys = tandem_testkit::test_keys();
    let room = tandem_shared::RoomId::new("kit-view").expect("room");
    let view = keys.key_for(&room, tandem_server::access::Right::View);
    let mut viewer = Client::connect_with_key(&server.ws_url("kit-view"), &view).await;
    assert!(viewer.read_only());
    assert_eq!(viewer.sent(), 0, "a view-only session sends no step 2");
    viewer.insert(0, "no").await;
    let (code, reason) = viewer.expect_close().await;
    assert_eq!(code, CloseCode::Policy, "{reason}");
}

#[tokio::test]
async fn a_restart_keeps_the_port_and_the_rooms() {
    for sqlite in [false, true] {
        let dir = TempDir::new("kit-restart");
        let mut server = if sqlite {
            TestServer::sqlite(dir.path(), |_| {}).await
        } else {
            TestServer::memory().await.0
        };
        let addr = server.addr;
        let mut a = server.client("kept").await;
        a.insert(0, "kept").await;
        a.wait_saved().await;
        server.restart().await;
        assert_eq!(server.addr, addr);
        assert!(server.is_running());
        assert_eq!(
            server.client("kept").await.content(),
            "kept",
            "sqlite: {sqlite}"
        );
        server.stop().await;
        assert!(!server.is_running());
        server.stop().await;
    }
}

#[tokio::test]
async fn scratch_data_goes_after_a_clean_stop_only() {
    let scratch = TempDir::new("kit-scratch");
    let path = scratch.path().to_path_buf();
    let mut server = TestServer::launch(test_config(&path), Storage::Scratch(scratch)).await;
    assert_eq!(server.data_dir(), Some(path.as_path()));
    server.client("scratch").await.insert(0, "x").await;
    server.stop().await;
    drop(server);
    assert!(!path.exists(), "removed after a clean stop");

    let scratch = TempDir::new("kit-kept");
    let path = scratch.path().to_path_buf();
    let server = TestServer::launch(test_config(&path), Storage::Scratch(scratch)).await;
    drop(server);
    assert!(path.exists(), "kept when the server was still running");
    let _ = std::fs::remove_dir_all(&path);
}
