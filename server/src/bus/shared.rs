//! The state this node's bus handle, its reader and its publisher share:
//! the subscribed rooms and where each has read to, the rooms owed a resync
//! marker, the Redis client, and this node's connection counts.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::AtomicU64;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use tandem_shared::RoomId;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::counts::Counts;
use super::entry::{self, StreamId};
use super::remote::Remote;
use super::settings::{BusSettings, COMMAND_TIMEOUT};

/// One subscribed room, as the reader sees it.
#[derive(Debug)]
pub(super) struct Sub {
    /// The id of the last entry read (or the newest when subscribing).
    pub(super) position: StreamId,
    /// Where to hand entries.
    pub(super) tx: mpsc::Sender<Remote>,
    /// The room owes a [`Remote::Resync`] (delivered when its queue has room).
    pub(super) resync: bool,
    /// Whether to check that the stream was not trimmed past `position`.
    pub(super) check_trim: bool,
    /// Tells this subscription from a later one of the same room.
    pub(super) token: u64,
}

/// State shared by the handle, the reader and the publisher.
#[derive(Debug)]
pub(super) struct Shared {
    /// This node's id: its own entries are skipped when read back.
    pub(super) node: String,
    /// Opens connections to Redis.
    pub(super) client: redis::Client,
    /// Retention of the streams.
    pub(super) settings: BusSettings,
    /// Subscribed rooms. A std mutex: held for map operations, never an await.
    pub(super) subs: Mutex<HashMap<RoomId, Sub>>,
    /// Rooms with commits that could not be published: each gets a resync
    /// marker once Redis answers again.
    pub(super) lost: Mutex<HashSet<RoomId>>,
    /// Numbers subscriptions ([`Sub::token`]).
    pub(super) next_token: AtomicU64,
    /// Stops the bus's tasks.
    pub(super) shutdown: CancellationToken,
    /// The connection subscriptions note stream positions on, kept between
    /// rooms (a tokio mutex: held across the connect).
    pub(super) lookups: tokio::sync::Mutex<Option<MultiplexedConnection>>,
    /// This node's connections by room and address (see `tracking`).
    pub(super) counts: Counts,
}

impl Shared {
    pub(super) fn subs(&self) -> MutexGuard<'_, HashMap<RoomId, Sub>> {
        self.subs
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(super) fn lost(&self) -> MutexGuard<'_, HashSet<RoomId>> {
        self.lost
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(super) async fn connect(
        &self,
        response_timeout: Duration,
    ) -> redis::RedisResult<MultiplexedConnection> {
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(COMMAND_TIMEOUT))
            .set_response_timeout(Some(response_timeout));
        self.client
            .get_multiplexed_async_connection_with_config(&config)
            .await
    }

    /// The newest entry id of `room`'s stream.
    pub(super) async fn newest(
        conn: &mut MultiplexedConnection,
        room: &RoomId,
    ) -> redis::RedisResult<StreamId> {
        let reply: redis::Value = redis::cmd("XREVRANGE")
            .arg(entry::room_key(room))
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(1)
            .query_async(conn)
            .await?;
        Ok(entry::parse_last_id(&reply))
    }
}
