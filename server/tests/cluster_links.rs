//! Share links in a cluster (issue 27), against the real PostgreSQL and
//! Redis `cargo xtask test` provides: a change made through one node's API
//! reaches the connections a link admitted on another node at once, as a
//! control entry on the room's stream that makes that node read the links
//! again from the store.

mod cluster_support;

use std::time::Duration;

use cluster_support::*;
use tandem_shared::CreatedRoom;
use tandem_shared::close::{Close, CloseCode};
use tandem_shared::links::LinkEntry;
use tandem_testkit::{Client, http, poll};

/// How soon a change must reach a connection on the other node, from the
/// moment the API answered: waited for with this deadline, never measured.
const AT_ONCE: Duration = Duration::from_secs(1);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_changed_through_one_node_reaches_its_connections_on_another() {
    let database = fresh_database().await;
    let redis = required(REDIS_URL_ENV);
    let (a, b) = (node(&database, &redis).await, node(&database, &redis).await);
    let room = unique_room("links");

    let body = format!("{{\"name\":\"{room}\"}}");
    let (status, answer) = http(a.addr, "POST", "/api/rooms", None, &body).await;
    assert_eq!(status, 201, "{answer}");
    let created: CreatedRoom = serde_json::from_str(&answer).expect("created room");
    let new_link = async |right: &str| -> LinkEntry {
        let path = format!("/api/rooms/{room}/links");
        let body = format!("{{\"right\":\"{right}\"}}");
        let (status, answer) = http(a.addr, "POST", &path, Some(&created.edit_key), &body).await;
        assert_eq!(status, 201, "{answer}");
        serde_json::from_str(&answer).expect("a link")
    };
    let revoked = new_link("edit").await;
    let narrowed = new_link("edit").await;

    // Both connections are on node B; the room is loaded there only.
    let mut cut = Client::connect_with_key(
        &b.ws_url(&room),
        revoked.key.as_deref().expect("an active link's key"),
    )
    .await;
    let mut reader = Client::connect_with_key(
        &b.ws_url(&room),
        narrowed.key.as_deref().expect("an active link's key"),
    )
    .await;
    cut.insert(0, "kept ").await;
    cut.wait_saved().await;

    // Revoked through node A: closed on node B within a second.
    let path = format!("/api/rooms/{room}/links/{}", revoked.id);
    let (status, answer) = http(a.addr, "DELETE", &path, Some(&created.edit_key), "").await;
    assert_eq!(status, 204, "{answer}");
    let close: Close = poll(
        "node B to close the revoked link's connection",
        AT_ONCE,
        async || {
            cut.step(Duration::from_millis(5)).await;
            cut.closed.clone().ok_or_else(|| "still open".to_owned())
        },
    )
    .await;
    assert_eq!(
        (close.code, close.reason.as_str()),
        (CloseCode::AccessRevoked, "this link was revoked")
    );

    // Narrowed through node A: read-only on node B within a second.
    let path = format!("/api/rooms/{room}/links/{}", narrowed.id);
    let (status, answer) = http(
        a.addr,
        "PATCH",
        &path,
        Some(&created.edit_key),
        r#"{"right":"view"}"#,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    poll(
        "node B to make the narrowed link's connection read-only",
        AT_ONCE,
        async || {
            reader.step(Duration::from_millis(5)).await;
            if reader.read_only() {
                Ok(())
            } else {
                Err(format!("read-only: false, closed: {:?}", reader.closed))
            }
        },
    )
    .await;
    assert_eq!(reader.closed, None, "narrowed in place");
    assert_eq!(stored_text(&database, &room).await, "kept ");
}
