//! Connection tracking across the cluster: how many connections each node
//! holds in each room and from each address, so the room and per-address
//! limits count the whole cluster.
//!
//! Each node keeps its own counts (the truth for that node, `counts`) and mirrors
//! them into one Redis hash, `tandem:conns:<node>`, fields `r:<room>` and
//! `a:<address>`. The hash has the liveness key's TTL and is rewritten from
//! the local counts on every liveness beat, so a dead node's counts vanish
//! with its liveness key and a Redis that restarted empty is refilled
//! within one beat. Admission runs one script that sums the other live
//! nodes' fields and, if the new connection fits, writes this node's new
//! counts, atomically: two nodes admitting at once cannot both take the
//! last place. A connection that leaves lowers the local count at once and
//! the mirror at the next beat (up to [`BEAT`](super::settings::BEAT)
//! late, the only way the cluster-wide count can run high). The rewrite and
//! admissions' writes take turns on `Shared::lookups`, so an older snapshot
//! never overwrites a newer count.
//!
//! When Redis does not answer within [`CHECK_TIMEOUT`], admission falls
//! back to the local counts (the room actor's and the per-address bound
//! in [`crate::limits`]), so a node keeps serving while Redis is down.

use std::net::IpAddr;
use std::sync::Arc;

use redis::aio::MultiplexedConnection;
use tandem_shared::RoomId;

use super::counts::{addr_field, room_field};
use super::entry::conns_key;
use super::settings::{CHECK_TIMEOUT, COMMAND_TIMEOUT, TTL};
use super::shared::Shared;

/// Sums the other live nodes' counts for the room and the address and,
/// when the new connection fits, stores this node's counts and marks it
/// alive. Returns 0 (admitted), 1 (room full) or 2 (address full).
///
/// ARGV: node, room field, address field, this node's room count with the
/// new connection, the same for the address, room bound, address bound,
/// TTL in ms. Keys are built inside (one standalone Redis, not a Redis
/// Cluster, is what the bus supports).
const ADMIT: &str = r"
local nodes = redis.call('SMEMBERS', 'tandem:nodes')
local room, addr = 0, 0
for _, n in ipairs(nodes) do
  if n ~= ARGV[1] and redis.call('EXISTS', 'tandem:node:' .. n) == 1 then
    local v = redis.call('HMGET', 'tandem:conns:' .. n, ARGV[2], ARGV[3])
    room = room + (tonumber(v[1]) or 0)
    addr = addr + (tonumber(v[2]) or 0)
  end
end
if room + tonumber(ARGV[4]) > tonumber(ARGV[6]) then return 1 end
if addr + tonumber(ARGV[5]) > tonumber(ARGV[7]) then return 2 end
local key = 'tandem:conns:' .. ARGV[1]
redis.call('HSET', key, ARGV[2], ARGV[4], ARGV[3], ARGV[5])
redis.call('PEXPIRE', key, ARGV[8])
redis.call('SET', 'tandem:node:' .. ARGV[1], 1, 'PX', ARGV[8])
redis.call('SADD', 'tandem:nodes', ARGV[1])
return 0
";

/// Sums the other live nodes' connections to a room. ARGV: node, room field.
const ELSEWHERE: &str = r"
local nodes = redis.call('SMEMBERS', 'tandem:nodes')
local room = 0
for _, n in ipairs(nodes) do
  if n ~= ARGV[1] and redis.call('EXISTS', 'tandem:node:' .. n) == 1 then
    room = room + (tonumber(redis.call('HGET', 'tandem:conns:' .. n, ARGV[2])) or 0)
  end
end
return room
";

/// What the cluster said about a new connection.
#[derive(Debug)]
pub enum Verdict {
    /// It fits (or Redis did not answer and the local bounds apply); it is
    /// counted while this lives.
    Counted(Tracked),
    /// The room holds its maximum number of connections across the cluster.
    RoomFull,
    /// The address holds its maximum number of connections across the cluster.
    AddressFull,
}

/// One connection counted in the cluster; uncounts it when dropped.
#[derive(Debug)]
pub struct Tracked {
    shared: Arc<Shared>,
    fields: [String; 2],
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.shared.counts.remove(&self.fields);
    }
}

/// Counts a connection from `ip` to `room` if the cluster has room for it
/// under `max_room` and `max_per_ip`.
pub(super) async fn admit(
    shared: &Arc<Shared>,
    room: &RoomId,
    ip: IpAddr,
    max_room: usize,
    max_per_ip: usize,
) -> Verdict {
    let fields = [room_field(room), addr_field(ip)];
    let [room_count, addr_count] = shared.counts.add(&[&fields[0], &fields[1]]);
    let tracked = Tracked {
        shared: shared.clone(),
        fields,
    };
    let asked = tokio::time::timeout(
        CHECK_TIMEOUT,
        ask(
            shared,
            &tracked.fields,
            room_count,
            addr_count,
            max_room,
            max_per_ip,
        ),
    )
    .await;
    match asked {
        Ok(Ok(0)) => Verdict::Counted(tracked),
        Ok(Ok(1)) => Verdict::RoomFull,
        Ok(Ok(_)) => Verdict::AddressFull,
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "connection tracking unreachable: counting locally");
            Verdict::Counted(tracked)
        }
        Err(_) => {
            tracing::warn!("connection tracking timed out: counting locally");
            Verdict::Counted(tracked)
        }
    }
}

async fn ask(
    shared: &Shared,
    fields: &[String; 2],
    room_count: u64,
    addr_count: u64,
    max_room: usize,
    max_per_ip: usize,
) -> redis::RedisResult<i64> {
    let mut cached = shared.lookups.lock().await;
    let mut conn = match cached.as_ref() {
        Some(conn) => conn.clone(),
        None => shared.connect(COMMAND_TIMEOUT).await?,
    };
    let reply: redis::RedisResult<i64> = redis::cmd("EVAL")
        .arg(ADMIT)
        .arg(0)
        .arg(&shared.node)
        .arg(&fields[0])
        .arg(&fields[1])
        .arg(room_count)
        .arg(addr_count)
        .arg(max_room)
        .arg(max_per_ip)
        .arg(TTL.as_millis() as u64)
        .query_async(&mut conn)
        .await;
    *cached = reply.is_ok().then_some(conn);
    reply
}

/// How many connections the other live nodes hold in `room`, as their
/// admissions counted them (a connection is counted from its admission, so
/// one that has joined on another node is always seen; one that left is
/// seen for up to a beat).
pub(super) async fn elsewhere(shared: &Shared, room: &RoomId) -> redis::RedisResult<u64> {
    let asked = async {
        let mut conn = shared.connect(COMMAND_TIMEOUT).await?;
        redis::cmd("EVAL")
            .arg(ELSEWHERE)
            .arg(0)
            .arg(&shared.node)
            .arg(room_field(room))
            .query_async::<u64>(&mut conn)
            .await
    };
    match tokio::time::timeout(CHECK_TIMEOUT, asked).await {
        Ok(answer) => answer,
        Err(_) => Err(redis::RedisError::from((
            redis::ErrorKind::Io,
            "connection tracking timed out",
        ))),
    }
}

/// Rewrites this node's hash from its counts, with the liveness TTL.
pub(super) async fn mirror(
    shared: &Shared,
    conn: &mut MultiplexedConnection,
) -> redis::RedisResult<()> {
    let key = conns_key(&shared.node);
    // Held until the rewrite is done: an admission's write then lands
    // wholly before or after it, never overwritten by an older snapshot.
    let _writes = shared.lookups.lock().await;
    let counts = shared.counts.snapshot();
    let mut pipe = redis::pipe();
    pipe.atomic().cmd("DEL").arg(&key).ignore();
    if !counts.is_empty() {
        pipe.cmd("HSET").arg(&key).arg(counts).ignore();
        pipe.cmd("PEXPIRE")
            .arg(&key)
            .arg(TTL.as_millis() as u64)
            .ignore();
    }
    pipe.query_async(conn).await
}

/// Forgets this node's counts in Redis (a stopping node's clients should
/// find room on the others at once).
pub(super) async fn forget(shared: &Shared) {
    let removed = async {
        let mut conn = shared.connect(COMMAND_TIMEOUT).await?;
        redis::cmd("DEL")
            .arg(conns_key(&shared.node))
            .query_async::<()>(&mut conn)
            .await
    };
    // Bounded: a Redis that does not answer must not hold up the exit (the
    // hash expires with the TTL anyway).
    match tokio::time::timeout(CHECK_TIMEOUT, removed).await {
        Ok(Ok(())) => {}
        Ok(Err(err)) => {
            tracing::debug!(error = %err, "could not forget this node's connection counts");
        }
        Err(_) => tracing::debug!("forgetting this node's connection counts timed out"),
    }
}
