//! The publisher task: appends committed batches to their rooms' streams
//! (one entry per update, all of a batch in one round trip),
//! trimming them to the retention window, and owes a resync marker for
//! every room whose batch it could not publish. Links changes go the same
//! way and owe a marker too; presence entries, presence queries and their
//! answers go the same way, best effort.

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use redis::aio::MultiplexedConnection;
use tandem_shared::RoomId;
use tokio::sync::mpsc;

use super::entry::{room_key, wake_key};
use super::settings::{COMMAND_TIMEOUT, MARKER_RETRY};
use super::shared::Shared;

/// What the publisher appends to Redis: a committed batch, presence, a
/// presence query or its answers, or a wake-up for the reader.
#[derive(Debug)]
pub(super) enum ToPublish {
    Update {
        room: RoomId,
        first: u64,
        last: u64,
        updates: Arc<Vec<Bytes>>,
        /// When the room handed it over, for [`crate::metrics::BUS_PUBLISH_SECONDS`].
        queued: Instant,
    },
    /// Make the reader take a new subscription into account now.
    Wake,
    /// A local connection's presence (JSON), or `None` when it left.
    Presence {
        room: RoomId,
        client: u64,
        presence: Option<String>,
    },
    /// Ask the nodes holding `room` for their members' presence.
    PresenceQuery { room: RoomId },
    /// Local connections' presence (JSON), answering a presence query.
    Presences {
        room: RoomId,
        presences: Vec<(u64, String)>,
    },
    /// `room`'s share links changed in the store. Not ephemeral: one that
    /// cannot be published owes the room a resync marker, as a commit does.
    Links { room: RoomId },
    /// A change of `room`'s authorship (JSON), committed with the rows
    /// published after it. Not ephemeral: one that cannot be published
    /// makes the room resync (which reads the authorship again).
    Authors { room: RoomId, authors: String },
}

pub(super) async fn run(shared: Arc<Shared>, mut rx: mpsc::Receiver<ToPublish>) {
    let mut conn: Option<MultiplexedConnection> = None;
    let mut retry = tokio::time::interval(MARKER_RETRY);
    retry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let next = tokio::select! {
            // Rooms have stopped: publish what they queued, then stop.
            () = shared.shutdown.cancelled() => {
                drain(&shared, &mut rx, conn).await;
                return;
            }
            next = rx.recv() => match next {
                Some(next) => Some(next),
                None => return,
            },
            _ = retry.tick() => None,
        };
        if conn.is_none() {
            conn = shared.connect(COMMAND_TIMEOUT).await.ok();
        }
        let Some(c) = conn.as_mut() else {
            if let Some(
                ToPublish::Update { room, .. }
                | ToPublish::Links { room }
                | ToPublish::Authors { room, .. },
            ) = next
            {
                shared.lost().insert(room);
            }
            continue;
        };
        let mut ok = send_owed_markers(&shared, c).await;
        if ok {
            ok = match next {
                Some(ToPublish::Update {
                    room,
                    first,
                    last,
                    updates,
                    queued,
                }) => {
                    let sent = publish(&shared, c, &room, first, last, &updates).await;
                    metrics::histogram!(crate::metrics::BUS_PUBLISH_SECONDS)
                        .record(queued.elapsed().as_secs_f64());
                    if let Err(err) = &sent {
                        tracing::warn!(%room, error = %err, "could not publish a commit; the room resyncs");
                        shared.lost().insert(room);
                    }
                    sent.is_ok()
                }
                Some(ToPublish::Presence {
                    room,
                    client,
                    presence,
                }) => publish_presence(&shared, c, &room, client, presence.as_deref())
                    .await
                    .is_ok(),
                Some(ToPublish::PresenceQuery { room }) => {
                    query_presence(&shared, c, &room).await.is_ok()
                }
                Some(ToPublish::Presences { room, presences }) => {
                    answer_presence(&shared, c, &room, &presences).await.is_ok()
                }
                Some(ToPublish::Links { room }) => {
                    let sent = publish_links(&shared, c, &room).await;
                    if let Err(err) = &sent {
                        tracing::warn!(%room, error = %err, "could not publish a links change; the room resyncs");
                        shared.lost().insert(room);
                    }
                    sent.is_ok()
                }
                Some(ToPublish::Authors { room, authors }) => {
                    let sent = publish_authors(&shared, c, &room, &authors).await;
                    if let Err(err) = &sent {
                        tracing::warn!(%room, error = %err, "could not publish an authorship change; the room resyncs");
                        shared.lost().insert(room);
                    }
                    sent.is_ok()
                }
                Some(ToPublish::Wake) => wake(&shared, c).await.is_ok(),
                None => true,
            };
        }
        if !ok {
            conn = None;
        }
    }
}

/// Publishes everything still queued, once; a failure marks the room.
async fn drain(
    shared: &Shared,
    rx: &mut mpsc::Receiver<ToPublish>,
    conn: Option<MultiplexedConnection>,
) {
    let mut conn = match conn {
        Some(conn) => Some(conn),
        None => shared.connect(COMMAND_TIMEOUT).await.ok(),
    };
    while let Ok(next) = rx.try_recv() {
        let sent = match (next, conn.as_mut()) {
            (
                ToPublish::Update {
                    room,
                    first,
                    last,
                    updates,
                    ..
                },
                Some(c),
            ) => (
                room.clone(),
                publish(shared, c, &room, first, last, &updates)
                    .await
                    .is_ok(),
            ),
            (ToPublish::Links { room }, Some(c)) => {
                (room.clone(), publish_links(shared, c, &room).await.is_ok())
            }
            (ToPublish::Authors { room, authors }, Some(c)) => (
                room.clone(),
                publish_authors(shared, c, &room, &authors).await.is_ok(),
            ),
            (
                ToPublish::Update { room, .. }
                | ToPublish::Links { room }
                | ToPublish::Authors { room, .. },
                None,
            ) => (room, false),
            _ => continue,
        };
        let (room, sent) = sent;
        if !sent {
            tracing::warn!(%room, "could not publish a commit while stopping");
            conn = None;
        }
    }
}

/// Ends the reader's blocking read at once (see `entry::wake_key`). The
/// wake stream holds one entry and expires a minute after the last wake.
pub(super) async fn wake(
    shared: &Shared,
    conn: &mut MultiplexedConnection,
) -> redis::RedisResult<()> {
    let key = wake_key(&shared.node);
    redis::pipe()
        .cmd("XADD")
        .arg(&key)
        .arg("MAXLEN")
        .arg(1)
        .arg("*")
        .arg("w")
        .arg(1)
        .ignore()
        .cmd("PEXPIRE")
        .arg(&key)
        .arg(60_000)
        .ignore()
        .query_async::<()>(conn)
        .await
}

fn now_ms() -> u64 {
    now_us() / 1000
}

/// Wall-clock microseconds since the Unix epoch (0 if the clock is before it).
pub(crate) fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// Appends one entry and trims the stream by length and age, in one round trip.
async fn publish(
    shared: &Shared,
    conn: &mut MultiplexedConnection,
    room: &RoomId,
    first: u64,
    last: u64,
    updates: &[Bytes],
) -> redis::RedisResult<()> {
    // One entry per update, each with its own log row: merging a batch
    // (yrs's `merge_updates`) is superlinear and would run on the runtime.
    // The whole batch still goes in one round trip.
    let entries = updates
        .iter()
        .enumerate()
        .map(|(i, u)| (first + i as u64, first + i as u64, u.as_ref()));
    debug_assert_eq!(first + updates.len() as u64, last + 1);
    let settings = &shared.settings;
    let key = room_key(room);
    let retention = settings.retention.as_millis() as u64;
    let published = now_us();
    let mut pipe = redis::pipe();
    for (s, e, update) in entries {
        let mut cmd = entry(shared, &key);
        cmd.arg("s")
            .arg(s)
            .arg("e")
            .arg(e)
            .arg("u")
            .arg(update)
            .arg("t")
            .arg(published);
        pipe.add_command(cmd).ignore();
    }
    pipe.cmd("XTRIM")
        .arg(&key)
        .arg("MINID")
        .arg("~")
        .arg(now_ms().saturating_sub(retention))
        .ignore()
        .cmd("PEXPIRE")
        .arg(&key)
        .arg(retention.max(1))
        .ignore();
    pipe.query_async::<()>(conn).await
}

/// Appends a presence entry (`l` when the connection left).
async fn publish_presence(
    shared: &Shared,
    conn: &mut MultiplexedConnection,
    room: &RoomId,
    client: u64,
    presence: Option<&str>,
) -> redis::RedisResult<()> {
    let key = room_key(room);
    let mut pipe = redis::pipe();
    let mut cmd = entry(shared, &key);
    cmd.arg("c").arg(client);
    match presence {
        Some(json) => cmd.arg("p").arg(json),
        None => cmd.arg("l").arg(1),
    };
    pipe.add_command(cmd).ignore();
    expire(shared, &mut pipe, &key);
    pipe.query_async::<()>(conn).await
}

/// Appends a presence query: the nodes holding `room` answer with their
/// members' presence (see [`answer_presence`]).
pub(super) async fn query_presence(
    shared: &Shared,
    conn: &mut MultiplexedConnection,
    room: &RoomId,
) -> redis::RedisResult<()> {
    let key = room_key(room);
    let mut pipe = redis::pipe();
    let mut cmd = entry(shared, &key);
    cmd.arg("q").arg(1);
    pipe.add_command(cmd).ignore();
    expire(shared, &mut pipe, &key);
    pipe.query_async::<()>(conn).await
}

/// The start of an entry this node appends to a room's stream, `key`:
/// `XADD` trimmed to about `--bus-max-len` entries, with the node's id;
/// the caller adds the entry's own fields (see `entry.rs`).
fn entry(shared: &Shared, key: &str) -> redis::Cmd {
    let mut cmd = redis::cmd("XADD");
    cmd.arg(key)
        .arg("MAXLEN")
        .arg("~")
        .arg(shared.settings.max_len)
        .arg("*")
        .arg("n")
        .arg(&shared.node);
    cmd
}

/// Lets an idle stream expire a retention window after this write: a room
/// only ever queried or shown presence in must not stay in Redis forever.
/// Every write sets the same window, so this never shortens another's.
fn expire(shared: &Shared, pipe: &mut redis::Pipeline, key: &str) {
    let retention = shared.settings.retention.as_millis() as u64;
    pipe.cmd("PEXPIRE").arg(key).arg(retention.max(1)).ignore();
}

/// Appends a links change: the nodes holding `room` read its share links
/// from the store again.
async fn publish_links(
    shared: &Shared,
    conn: &mut MultiplexedConnection,
    room: &RoomId,
) -> redis::RedisResult<()> {
    let key = room_key(room);
    let mut pipe = redis::pipe();
    let mut cmd = entry(shared, &key);
    cmd.arg("k").arg(1);
    pipe.add_command(cmd).ignore();
    expire(shared, &mut pipe, &key);
    pipe.query_async::<()>(conn).await
}

/// Appends an authorship change: the nodes holding `room` add it to theirs
/// (before the rows published after it).
async fn publish_authors(
    shared: &Shared,
    conn: &mut MultiplexedConnection,
    room: &RoomId,
    authors: &str,
) -> redis::RedisResult<()> {
    let key = room_key(room);
    let mut pipe = redis::pipe();
    let mut cmd = entry(shared, &key);
    cmd.arg("a").arg(authors);
    pipe.add_command(cmd).ignore();
    expire(shared, &mut pipe, &key);
    pipe.query_async::<()>(conn).await
}

/// Appends one presence entry per member, in one round trip.
async fn answer_presence(
    shared: &Shared,
    conn: &mut MultiplexedConnection,
    room: &RoomId,
    presences: &[(u64, String)],
) -> redis::RedisResult<()> {
    let key = room_key(room);
    let mut pipe = redis::pipe();
    for (client, json) in presences {
        let mut cmd = entry(shared, &key);
        cmd.arg("c").arg(*client).arg("p").arg(json);
        pipe.add_command(cmd).ignore();
    }
    expire(shared, &mut pipe, &key);
    pipe.query_async::<()>(conn).await
}

/// Publishes the resync markers owed; `false` if Redis failed.
async fn send_owed_markers(shared: &Shared, conn: &mut MultiplexedConnection) -> bool {
    let owed: Vec<RoomId> = shared.lost().drain().collect();
    for (i, room) in owed.iter().enumerate() {
        let sent = entry(shared, &room_key(room))
            .arg("r")
            .arg(1)
            .query_async::<redis::Value>(conn)
            .await;
        if sent.is_err() {
            shared.lost().extend(owed[i..].iter().cloned());
            return false;
        }
        tracing::info!(%room, "published a resync marker for commits the bus missed");
    }
    true
}
