//! What operators see: metrics that count real traffic exactly. One test in
//! a binary of its own: the metrics recorder is process-wide, so another
//! test running beside it would move the same counters.

mod support;

use support::http::upgrade_request;
use tandem_shared::SyncFrame;
use tandem_testkit::{TestServer, edit};

/// The value of the first sample of `metric` whose labels contain `labels`.
fn sample(metrics: &str, metric: &str, labels: &str) -> f64 {
    metrics
        .lines()
        .filter(|l| !l.starts_with('#'))
        .find(|l| l.starts_with(metric) && l.contains(labels))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn metrics_count_exactly_what_clients_do() {
    let (server, _) = TestServer::memory().await;
    let (_, before) = server.get("/metrics").await;

    let mut a = server.client("metered").await;
    let mut b = server.client("metered").await;
    // Ten updates, each saved before the next: ten commits of one update.
    let mut update_bytes = 0;
    let mut frame_bytes = 0;
    for i in 0..10 {
        let update = edit::insert(a.doc(), &a.text, a.len(), &format!("{i} "));
        update_bytes += update.len();
        frame_bytes += SyncFrame::Update(update.clone()).encode().len();
        a.send_update(update).await;
        a.wait_saved().await;
    }
    b.pump_until("b has everything", |c| c.content().len() == 20)
        .await;

    let (status, after) = server.get("/metrics").await;
    assert_eq!(status, 200);
    let delta = |metric: &str, labels: &str| {
        sample(&after, metric, labels) - sample(&before, metric, labels)
    };
    let update = "kind=\"sync_update\"";
    assert_eq!(
        delta("tandem_frames_received_total", update),
        10.0,
        "{after}"
    );
    assert_eq!(
        delta("tandem_frames_sent_total", update),
        10.0,
        "relayed to b"
    );
    assert_eq!(
        delta("tandem_bytes_received_total", update),
        frame_bytes as f64
    );
    assert_eq!(
        delta("tandem_bytes_sent_total", update),
        frame_bytes as f64,
        "relayed as received"
    );
    assert_eq!(delta("tandem_upgrades_total", "result=\"accepted\""), 2.0);
    // Every update frame the room applied: a's ten, and each client's
    // sync step 2 (which changed nothing).
    assert_eq!(delta("tandem_relay_seconds_count", ""), 12.0);
    assert_eq!(delta("tandem_store_commit_seconds_count", ""), 10.0);
    assert_eq!(delta("tandem_store_commit_batch_updates_sum", ""), 10.0);
    assert_eq!(sample(&after, "tandem_connections_open", ""), 2.0);
    let room = "room=\"metered\"";
    assert_eq!(sample(&after, "tandem_room_clients", room), 2.0);
    assert_eq!(
        sample(&after, "tandem_room_document_bytes", room),
        update_bytes as f64
    );
    assert_eq!(sample(&after, "tandem_room_updates_total", room), 10.0);
    assert_eq!(sample(&after, "tandem_rooms_loaded", ""), 1.0);

    // A refused upgrade and a server-side close are counted by reason, once.
    let (status, _) = upgrade_request(
        &server,
        "/ws/metered",
        None,
        Some("https://evil.example"),
        &[],
    )
    .await;
    assert_eq!(status, 403);
    let mut bad = server.client("metered").await;
    bad.send_raw(tokio_tungstenite::tungstenite::Message::Binary(
        vec![9, 9].into(),
    ))
    .await;
    bad.expect_close().await;
    let (_, last) = server.get("/metrics").await;
    let since =
        |metric: &str, labels: &str| sample(&last, metric, labels) - sample(&after, metric, labels);
    assert_eq!(since("tandem_upgrades_total", "reason=\"origin\""), 1.0);
    assert_eq!(
        since("tandem_disconnects_total", "reason=\"bad_message\""),
        1.0
    );
}
