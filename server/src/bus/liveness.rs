//! Node liveness: each node refreshes a key with a short TTL, and notices
//! when another node's key expires.
//!
//! A node publishes a commit just after it commits; killed in between, the
//! commit is stored but never reaches the other nodes through the bus. So
//! when a node's liveness key expires, every other node reloads its rooms
//! from the store and merges (within [`TTL`] plus one [`BEAT`] of the
//! death), and drops the presence of that node's people.

use std::sync::Arc;
use std::time::Duration;

use redis::aio::MultiplexedConnection;

use super::{COMMAND_TIMEOUT, Shared};

/// How often a node refreshes its key and looks at the others'.
pub(crate) const BEAT: Duration = Duration::from_secs(1);
/// How long a node's key outlives its last refresh.
pub(crate) const TTL: Duration = Duration::from_secs(3);
/// The set of every node that announced itself.
const NODES: &str = "tandem:nodes";

fn node_key(node: &str) -> String {
    format!("tandem:node:{node}")
}

pub(super) async fn run(shared: Arc<Shared>) {
    let mut conn: Option<MultiplexedConnection> = None;
    let mut beat = tokio::time::interval(BEAT);
    beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            // The key is left to expire rather than deleted: the other nodes
            // then resync from the store once, which also covers a commit
            // this node could not publish while stopping.
            () = shared.shutdown.cancelled() => return,
            _ = beat.tick() => {}
        }
        if conn.is_none() {
            conn = shared.connect(COMMAND_TIMEOUT).await.ok();
        }
        let Some(c) = conn.as_mut() else { continue };
        match beat_once(&shared, c).await {
            Ok(dead) if !dead.is_empty() => {
                tracing::info!(?dead, "nodes stopped beating: rooms resync from the store");
                for sub in shared.subs().values_mut() {
                    sub.resync = true;
                    for node in &dead {
                        let tag = super::node_tag(node);
                        // A full queue is rare here (the room is far
                        // behind); its resync still comes, its ghosts stay
                        // until the room reloads.
                        let _ = sub.tx.try_send(super::Remote::NodeGone { tag });
                    }
                }
                // Wake the reader so it hands the resyncs over now.
                let _ = super::publisher::wake(&shared, c).await;
            }
            Ok(_) => {}
            Err(err) => {
                tracing::debug!(error = %err, "liveness beat failed");
                conn = None;
            }
        }
    }
}

/// Refreshes this node's key; returns the nodes whose keys expired (and
/// removes them from the set, so each death is handled once).
async fn beat_once(
    shared: &Shared,
    conn: &mut MultiplexedConnection,
) -> redis::RedisResult<Vec<String>> {
    let (_, _, members): (redis::Value, redis::Value, Vec<String>) = redis::pipe()
        .cmd("SET")
        .arg(node_key(&shared.node))
        .arg(1)
        .arg("PX")
        .arg(TTL.as_millis() as u64)
        .cmd("SADD")
        .arg(NODES)
        .arg(&shared.node)
        .cmd("SMEMBERS")
        .arg(NODES)
        .query_async(conn)
        .await?;
    super::tracking::mirror(shared, conn).await?;
    let others: Vec<String> = members.into_iter().filter(|n| *n != shared.node).collect();
    if others.is_empty() {
        return Ok(Vec::new());
    }
    let mut exists = redis::pipe();
    for node in &others {
        exists.cmd("EXISTS").arg(node_key(node));
    }
    let alive: Vec<i64> = exists.query_async(conn).await?;
    let dead: Vec<String> = others
        .into_iter()
        .zip(alive)
        .filter(|(_, alive)| *alive == 0)
        .map(|(node, _)| node)
        .collect();
    let mut removed = Vec::new();
    for node in dead {
        // Only the node that removes it acts, so one death is handled once
        // per node rather than on every beat.
        let gone: i64 = redis::cmd("SREM")
            .arg(NODES)
            .arg(&node)
            .query_async(conn)
            .await?;
        if gone == 1 {
            removed.push(node);
        }
    }
    Ok(removed)
}
