//! Cross-node latency: how much the trip through the store and Redis adds
//! for a reader on another node of a cluster.
//!
//! A writer on node A sends one update at a time; a reader on A (relayed at
//! once, before the commit) and a reader on B (after A's commit, through
//! A's publish and B's read of the stream) each record when the update
//! shows in their text. The next update goes once both have it, so the
//! figures are latencies, not queueing. Both readers are in this process:
//! one monotonic clock.

use std::net::SocketAddr;
use std::time::Instant;

use tandem_testkit::Client;

use crate::stats::Latencies;

/// What a run measured.
#[derive(Debug)]
pub struct CrossNode {
    /// Writer on A to a reader on A.
    pub same_node: Latencies,
    /// Writer on A to a reader on B.
    pub cross_node: Latencies,
    /// Whether the writer, both readers and a fresh client on each node
    /// ended with the same text.
    pub converged: bool,
}

/// Writer on node `a`, readers on `a` and on `b`, `updates` updates one at
/// a time (after 20 warm-up ones). The test client panics on a protocol
/// error or a missed deadline; the run is in a task of its own, so that
/// comes back as an error, not an abort.
pub async fn latency(a: SocketAddr, b: SocketAddr, updates: usize) -> anyhow::Result<CrossNode> {
    tokio::spawn(latency_inner(a, b, updates))
        .await
        .map_err(|e| anyhow::anyhow!("the latency run failed: {e}"))?
}

async fn latency_inner(a: SocketAddr, b: SocketAddr, updates: usize) -> anyhow::Result<CrossNode> {
    let room = format!("cluster-bench-{:08x}", fastrand::u32(..));
    let url = |addr: SocketAddr| {
        tandem_shared::RoomId::new(&room)
            .map(|r| r.ws_url(&format!("ws://{addr}")))
            .map_err(|e| anyhow::anyhow!("room name: {e}"))
    };
    let mut writer = Client::connect(&url(a)?).await;
    let mut on_a = Client::connect(&url(a)?).await;
    let mut on_b = Client::connect(&url(b)?).await;
    let mut result = CrossNode {
        same_node: Latencies::new(),
        cross_node: Latencies::new(),
        converged: false,
    };
    // Warm-up: the room is loaded and subscribed on both nodes.
    for k in 0..updates + 20 {
        let marker = format!("[{k}]");
        let end = writer.len();
        let sent = Instant::now();
        writer.insert(end, &marker).await;
        let seen = |c: &Client| c.content().contains(marker.as_str());
        let (same, cross) = tokio::join!(
            async {
                on_a.pump_until("the update on node a", seen).await;
                sent.elapsed()
            },
            async {
                on_b.pump_until("the update on node b", seen).await;
                sent.elapsed()
            },
        );
        writer.drain().await;
        if k >= 20 {
            result.same_node.record(same);
            result.cross_node.record(cross);
        }
    }
    writer.wait_saved().await;
    let text = writer.content();
    let fresh_a = Client::connect(&url(a)?).await.content();
    let fresh_b = Client::connect(&url(b)?).await.content();
    result.converged = [on_a.content(), on_b.content(), fresh_a, fresh_b]
        .iter()
        .all(|t| *t == text);
    Ok(result)
}
