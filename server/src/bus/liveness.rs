//! Node liveness: each node refreshes a key with a short TTL, and notices
//! when another node's key expires.
//!
//! A node publishes a commit just after it commits; killed in between, the
//! commit is stored but never reaches the other nodes through the bus. So
//! when a node's liveness key expires, every other node reloads its rooms
//! from the store and merges (within [`TTL`] plus one [`BEAT`] of the
//! death), and drops the presence of that node's people.
//!
//! Each node remembers which dead nodes it has handled: every survivor must
//! act on a death, not only the first to notice it. A dead node leaves the
//! shared set of nodes once it has been missing for [`FORGET_AFTER`] beats
//! of the node that removes it, so every live node, beating as often, has
//! seen it dead by then.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use redis::aio::MultiplexedConnection;

use super::client_ids::node_tag;
use super::entry::{NODES, node_key};
use super::remote::Remote;
use super::settings::{BEAT, COMMAND_TIMEOUT, FORGET_AFTER, TTL};
use super::shared::Shared;
use super::{publisher, tracking};

pub(super) async fn run(shared: Arc<Shared>) {
    let mut conn: Option<MultiplexedConnection> = None;
    // Per other node, the beats its key has been found missing.
    let mut missing: HashMap<String, u32> = HashMap::new();
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
        match beat_once(&shared, c, &mut missing).await {
            Ok(dead) if !dead.is_empty() => {
                tracing::info!(?dead, "nodes stopped beating: rooms resync from the store");
                for sub in shared.subs().values_mut() {
                    sub.resync = true;
                    for node in &dead {
                        let tag = node_tag(node);
                        // A full queue is rare here (the room is far
                        // behind); its resync still comes, its ghosts stay
                        // until the room reloads.
                        let _ = sub.tx.try_send(Remote::NodeGone { tag });
                    }
                }
                // Wake the reader so it hands the resyncs over now.
                let _ = publisher::wake(&shared, c).await;
            }
            Ok(_) => {}
            Err(err) => {
                tracing::debug!(error = %err, "liveness beat failed");
                conn = None;
            }
        }
    }
}

/// Refreshes this node's key; returns the nodes whose keys this node has
/// just found expired (each death is handled once per node), and removes
/// from the set those missing for [`FORGET_AFTER`] beats.
async fn beat_once(
    shared: &Shared,
    conn: &mut MultiplexedConnection,
    missing: &mut HashMap<String, u32>,
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
    tracking::mirror(shared, conn).await?;
    let others: Vec<String> = members.into_iter().filter(|n| *n != shared.node).collect();
    // Nodes another node already removed need no memory here.
    let listed: HashSet<&String> = others.iter().collect();
    missing.retain(|node, _| listed.contains(node));
    if others.is_empty() {
        return Ok(Vec::new());
    }
    let mut exists = redis::pipe();
    for node in &others {
        exists.cmd("EXISTS").arg(node_key(node));
    }
    let alive: Vec<i64> = exists.query_async(conn).await?;
    let mut newly_dead = Vec::new();
    let mut forget = Vec::new();
    for (node, alive) in others.into_iter().zip(alive) {
        if alive != 0 {
            // Alive (again, if it stalled past its TTL): a later death counts.
            missing.remove(&node);
            continue;
        }
        let beats = missing.entry(node.clone()).or_insert(0);
        if *beats == 0 {
            newly_dead.push(node.clone());
        }
        *beats += 1;
        if *beats >= FORGET_AFTER {
            forget.push(node);
        }
    }
    if !forget.is_empty() {
        redis::cmd("SREM")
            .arg(NODES)
            .arg(&forget)
            .query_async::<i64>(conn)
            .await?;
        for node in &forget {
            missing.remove(node);
        }
    }
    Ok(newly_dead)
}
