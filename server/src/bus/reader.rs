//! The reader task: one blocking `XREAD` over every subscribed room's
//! stream (and this node's wake stream), handing other nodes' entries to
//! the rooms' actors.
//!
//! After losing Redis, every room resyncs from the store once Redis answers
//! again (and reads on from the stream's newest entry, noted before the
//! resync is handed over), and asks the other nodes for their people's
//! presence again, since presence entries published meanwhile were missed.
//! A room whose stream was trimmed past its position, or whose queue
//! overflowed, resyncs the same way.
//!
//! Nothing on the read path waits on a timer: `XREAD` returns as soon as an
//! entry is appended, and the next one is issued as soon as the reply is
//! handed over (entries appended in between are returned by it at once).
//! The `BLOCK` timeout ([`READ_BLOCK`]) only bounds how long a read waits when nothing
//! happens.

use std::sync::Arc;

use redis::aio::MultiplexedConnection;
use tandem_shared::RoomId;

use super::client_ids::remote_client;
use super::entry::{self, Entry, StreamId, room_key, wake_key};
use super::publisher;
use super::remote::Remote;
use super::settings::{COMMAND_TIMEOUT, READ_BLOCK, READ_COUNT, RECONNECT};
use super::shared::Shared;

pub(super) async fn run(shared: Arc<Shared>) {
    let mut first = true;
    loop {
        if shared.shutdown.is_cancelled() {
            return;
        }
        let conn = shared.connect(READ_BLOCK + COMMAND_TIMEOUT).await;
        let mut conn = match conn {
            Ok(conn) => conn,
            Err(err) => {
                tracing::debug!(error = %err, "bus unreachable");
                tokio::select! {
                    () = shared.shutdown.cancelled() => return,
                    () = tokio::time::sleep(RECONNECT) => continue,
                }
            }
        };
        if !first {
            tracing::info!("bus reachable again: rooms resync from the store");
            if resync_all(&shared, &mut conn).await.is_err() {
                continue;
            }
        }
        first = false;
        let outcome = tokio::select! {
            () = shared.shutdown.cancelled() => return,
            outcome = read(&shared, &mut conn) => outcome,
        };
        if let Err(err) = outcome {
            tracing::warn!(error = %err, "lost the bus; rooms keep serving their own clients");
        }
    }
}

/// Notes each room's newest entry, then owes it a resync, and asks the
/// other nodes for the room's people (read from the noted position on).
async fn resync_all(shared: &Shared, conn: &mut MultiplexedConnection) -> redis::RedisResult<()> {
    let rooms: Vec<RoomId> = shared.subs().keys().cloned().collect();
    for room in rooms {
        let newest = Shared::newest(conn, &room).await?;
        if let Some(sub) = shared.subs().get_mut(&room) {
            sub.position = sub.position.max(newest);
            sub.resync = true;
        }
        publisher::query_presence(shared, conn, &room).await?;
    }
    Ok(())
}

/// Reads until Redis fails.
async fn read(shared: &Shared, conn: &mut MultiplexedConnection) -> redis::RedisResult<()> {
    let wake = wake_key(&shared.node);
    let mut wake_position = StreamId::default();
    loop {
        deliver_resyncs(shared);
        check_trims(shared, conn).await?;
        let rooms: Vec<(RoomId, StreamId)> = shared
            .subs()
            .iter()
            .map(|(room, sub)| (room.clone(), sub.position))
            .collect();
        let mut cmd = redis::cmd("XREAD");
        cmd.arg("COUNT")
            .arg(READ_COUNT)
            .arg("BLOCK")
            .arg(READ_BLOCK.as_millis() as u64)
            .arg("STREAMS")
            .arg(&wake);
        for (room, _) in &rooms {
            cmd.arg(room_key(room));
        }
        cmd.arg(wake_position.to_string());
        for (_, position) in &rooms {
            cmd.arg(position.to_string());
        }
        let reply: redis::Value = cmd.query_async(conn).await?;
        for (key, entries) in entry::parse_xread(&reply) {
            if key == wake {
                if let Some((id, _)) = entries.last() {
                    wake_position = *id;
                }
                continue;
            }
            let Some(room) = key
                .strip_prefix("tandem:room:")
                .and_then(|name| RoomId::new(name).ok())
            else {
                continue;
            };
            hand_over(shared, &room, entries);
        }
    }
}

/// Gives `room`'s actor what other nodes published.
fn hand_over(shared: &Shared, room: &RoomId, entries: Vec<(StreamId, Option<Entry>)>) {
    let mut subs = shared.subs();
    let Some(sub) = subs.get_mut(room) else {
        return;
    };
    if entries.len() >= READ_COUNT {
        // Behind: make sure the stream was not trimmed past us meanwhile.
        sub.check_trim = true;
    }
    let mut closed = false;
    for (id, entry) in entries {
        if id <= sub.position {
            continue;
        }
        sub.position = id;
        let remote = match entry {
            Some(Entry::Update {
                node,
                first,
                last,
                update,
                published_us,
            }) if node != shared.node => Remote::Update {
                first,
                last,
                update,
                published_us,
            },
            Some(Entry::Links { node }) if node != shared.node => Remote::Links,
            Some(Entry::Authors { node, authors }) if node != shared.node => {
                match serde_json::from_str(&authors) {
                    Ok(change) => Remote::Authors(change),
                    // Not from a node of this build: the store has it.
                    Err(_) => {
                        sub.resync = true;
                        continue;
                    }
                }
            }
            Some(Entry::Resync { node }) if node != shared.node => {
                sub.resync = true;
                continue;
            }
            Some(Entry::PresenceQuery { node }) if node != shared.node => {
                // Ephemeral like presence: a busy room skips the answer
                // (its people show when they next change presence).
                if sub.tx.try_send(Remote::PresenceQuery).is_err() {
                    tracing::debug!(%room, "dropped a presence query: the room is busy");
                }
                continue;
            }
            Some(Entry::Presence {
                node,
                client,
                presence,
            }) if node != shared.node => {
                // Presence is ephemeral: a full queue drops it, as a
                // missed cursor move; it is never worth a resync.
                let presence = match presence {
                    Some(json) => match serde_json::from_str(&json) {
                        Ok(presence) => Some(presence),
                        Err(_) => continue,
                    },
                    None => None,
                };
                let peer = remote_client(&node, client);
                if sub
                    .tx
                    .try_send(Remote::Presence { peer, presence })
                    .is_err()
                {
                    tracing::debug!(%room, "dropped a remote presence: the room is busy");
                }
                continue;
            }
            Some(_) => continue,
            None => {
                tracing::warn!(%room, %id, "malformed bus entry: the room resyncs");
                sub.resync = true;
                continue;
            }
        };
        if sub.resync {
            // The resync owed reloads everything committed so far.
            continue;
        }
        match sub.tx.try_send(remote) {
            Ok(()) => {}
            Err(tokio::sync::mpsc::error::TrySendError::Full(_)) => sub.resync = true,
            Err(tokio::sync::mpsc::error::TrySendError::Closed(_)) => closed = true,
        }
    }
    if closed {
        subs.remove(room);
    }
}

/// Hands each room the resync it owes, when its queue has room.
fn deliver_resyncs(shared: &Shared) {
    shared.subs().retain(|_, sub| {
        if sub.resync {
            match sub.tx.try_send(Remote::Resync) {
                Ok(()) => sub.resync = false,
                Err(tokio::sync::mpsc::error::TrySendError::Full(_)) => {}
                Err(tokio::sync::mpsc::error::TrySendError::Closed(_)) => return false,
            }
        }
        true
    });
}

/// For rooms just subscribed or behind: if entries past their position were
/// trimmed away, they resync.
async fn check_trims(shared: &Shared, conn: &mut MultiplexedConnection) -> redis::RedisResult<()> {
    let due: Vec<(RoomId, StreamId)> = shared
        .subs()
        .iter()
        .filter(|(_, sub)| sub.check_trim)
        .map(|(room, sub)| (room.clone(), sub.position))
        .collect();
    for (room, position) in due {
        let reply = redis::cmd("XINFO")
            .arg("STREAM")
            .arg(room_key(&room))
            .query_async::<redis::Value>(conn)
            .await;
        // A missing stream (nothing published within the retention) is fine.
        let trimmed = match reply {
            Ok(info) => entry::parse_max_deleted(&info).is_some_and(|max| max > position),
            Err(err) if matches!(err.kind(), redis::ErrorKind::Server(_)) => false,
            Err(err) => return Err(err),
        };
        if let Some(sub) = shared.subs().get_mut(&room) {
            sub.check_trim = false;
            if trimmed {
                tracing::info!(%room, "the bus trimmed entries this node had not read: resync");
                sub.resync = true;
            }
        }
    }
    Ok(())
}
