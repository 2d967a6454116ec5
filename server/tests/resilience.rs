//! Real networks: cut, stalled and slow links, clients that stop reading.

mod support;

use std::time::Duration;

use support::proxy::FaultProxy;
use tandem_shared::Presence;
use tandem_testkit::{Client, TestServer};

#[tokio::test]
async fn a_client_cut_mid_edit_reconnects_and_converges_without_duplicates() {
    let (server, _) = TestServer::memory().await;
    let proxy = FaultProxy::start(server.addr).await;
    let mut steady = server.client("cut").await;
    let mut flaky = Client::connect(&proxy.ws_url("cut")).await;
    for i in 0..30 {
        flaky.insert(flaky.len(), &format!("<{i}>")).await;
        if i == 15 {
            proxy.cut();
        }
    }
    // Whatever the server missed is in flaky's replica; reconnecting (through
    // the proxy again) exchanges state vectors and delivers exactly that.
    let mut back = Client::connect_with(&proxy.ws_url("cut"), flaky.doc().clone()).await;
    back.wait_saved().await;
    let expected: String = (0..30).map(|i| format!("<{i}>")).collect();
    steady
        .pump_until("steady converges", |c| c.content() == expected)
        .await;
    assert_eq!(
        server.client("cut").await.content(),
        expected,
        "each edit exactly once"
    );
}

#[tokio::test]
async fn a_stalled_link_is_detected_by_the_heartbeat() {
    let (server, _) = TestServer::memory_with(|c| c.heartbeat = Duration::from_millis(200)).await;
    let proxy = FaultProxy::start(server.addr).await;
    let mut watcher = server.client("stall").await;
    let mut stalled = Client::connect(&proxy.ws_url("stall")).await;
    stalled
        .send_presence(Presence {
            name: "Stalled".into(),
            color: "#336699".into(),
            cursor: None,
        })
        .await;
    let id = stalled.client_id();
    watcher
        .pump_until("stalled appears", |c| c.peers().contains_key(&id))
        .await;
    proxy.stall(true);
    watcher
        .pump_until("the server drops the silent peer", |c| {
            !c.peers().contains_key(&id)
        })
        .await;
    tandem_testkit::eventually("its connection is closed", || {
        server.state.limits.open() == 1
    })
    .await;
}

#[tokio::test]
async fn a_slow_link_still_gets_everything() {
    let (server, _) = TestServer::memory().await;
    let proxy = FaultProxy::start(server.addr).await;
    let mut writer = server.client("slow").await;
    let mut slow = Client::connect(&proxy.ws_url("slow")).await;
    proxy.slow(20_000);
    for i in 0..100 {
        writer.insert(writer.len(), &format!("line {i:03}\n")).await;
    }
    writer.wait_saved().await;
    let expected = writer.content();
    slow.pump_until("the slow client catches up", |c| c.content() == expected)
        .await;
}

#[tokio::test]
async fn a_client_that_never_reads_is_cut_off_and_the_others_keep_receiving() {
    let (server, _) = TestServer::memory_with(|c| {
        c.queue_messages = 64;
        c.queue_bytes = 256 * 1024;
        c.rate_limit = 1_000_000;
        c.rate_burst = 1_000_000;
    })
    .await;
    let mut writer = server.client("stuck").await;
    let mut reader = server.client("stuck").await;
    // Joins, then never reads another frame: its socket buffers fill, then
    // its outbox, then the room cuts it.
    let _stuck = Client::connect(&server.ws_url("stuck")).await;
    assert_eq!(server.state.limits.open(), 3);

    // 12 MB through the room: far more than the stuck client's socket
    // buffers and its 256 KiB outbox can hold.
    // Random letters: the clients agree to permessage-deflate, and a run of
    // one letter would shrink to a few bytes on the wire.
    let mut rng = fastrand::Rng::with_seed(11);
    let chunk: String = (0..4096).map(|_| rng.alphanumeric()).collect();
    for i in 0..3000u32 {
        writer.insert(writer.len(), &chunk).await;
        if i % 50 == 0 {
            writer.drain().await;
            reader.drain().await;
        }
    }
    let state = server.state.clone();
    tandem_testkit::eventually("the stuck client is cut off", || state.limits.open() == 2).await;
    writer.wait_saved().await;
    let expected = writer.content();
    reader
        .pump_until("the reader got every update", |c| c.content() == expected)
        .await;
    assert!(reader.closed.is_none() && writer.closed.is_none());
    let (_, metrics) = server.get("/metrics").await;
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("tandem_disconnects_total") && l.contains("slow_consumer")),
        "the cut is counted"
    );
}
