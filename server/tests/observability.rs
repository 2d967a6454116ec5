//! What operators see: metrics that move with real traffic, and the export.
//! (One test binary of its own: the metrics recorder is process-wide.)

mod support;

use support::http::upgrade_request;
use tandem_server::api::CreatedRoom;
use tandem_testkit::TestServer;

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
async fn metrics_move_when_clients_edit() {
    let (server, _) = TestServer::memory().await;
    let (_, before) = server.get("/metrics").await;

    let mut a = server.client("metered").await;
    let mut b = server.client("metered").await;
    for i in 0..10 {
        a.insert(a.len(), &format!("{i} ")).await;
    }
    a.wait_saved().await;
    b.pump_until("b has everything", |c| c.content().len() == 20)
        .await;

    let (status, after) = server.get("/metrics").await;
    assert_eq!(status, 200);
    let delta = |metric: &str, labels: &str| {
        sample(&after, metric, labels) - sample(&before, metric, labels)
    };
    assert!(
        delta("tandem_frames_received_total", "kind=\"sync_update\"") >= 10.0,
        "{after}"
    );
    assert!(
        delta("tandem_frames_sent_total", "kind=\"sync_update\"") >= 10.0,
        "relayed to b"
    );
    assert!(delta("tandem_bytes_received_total", "kind=\"sync_update\"") > 0.0);
    assert!(delta("tandem_upgrades_total", "result=\"accepted\"") >= 2.0);
    assert!(delta("tandem_relay_seconds_count", "") >= 10.0);
    assert!(delta("tandem_store_commit_seconds_count", "") >= 1.0);
    assert!(delta("tandem_store_commit_batch_updates_sum", "") >= 10.0);
    assert!(sample(&after, "tandem_connections_open", "") >= 2.0);
    assert_eq!(
        sample(&after, "tandem_room_clients", "room=\"metered\""),
        2.0
    );
    assert!(sample(&after, "tandem_room_document_bytes", "room=\"metered\"") > 0.0);
    assert!(sample(&after, "tandem_room_updates_total", "room=\"metered\"") >= 10.0);
    assert!(sample(&after, "tandem_rooms_loaded", "") >= 1.0);

    // A refused upgrade and a server-side close are counted by reason.
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
    assert!(sample(&last, "tandem_upgrades_total", "reason=\"origin\"") >= 1.0);
    assert!(sample(&last, "tandem_disconnects_total", "reason=\"bad_message\"") >= 1.0);
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
    let mut owner =
        tandem_testkit::Client::connect_with_key(&server.ws_url(&room), &created.edit_key).await;
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
