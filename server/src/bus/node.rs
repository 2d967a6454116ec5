//! This node's side of the bus: [`Bus`], which rooms subscribe to and
//! publish through and admission counts connections with, and a room's
//! subscription ([`RoomFeed`]).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use bytes::Bytes;
use tandem_shared::RoomId;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::counts::Counts;
use super::entry::StreamId;
use super::publisher::{self, ToPublish};
use super::remote::Remote;
use super::settings::{BusSettings, COMMAND_TIMEOUT, PUBLISH_QUEUE, ROOM_QUEUE};
use super::shared::{Shared, Sub};
use super::tracking::{self, Verdict};
use super::url::RedisUrl;
use super::{liveness, reader};

/// A room's subscription; dropping it unsubscribes.
#[derive(Debug)]
pub struct RoomFeed {
    /// What the reader hands over.
    rx: mpsc::Receiver<Remote>,
    /// To unsubscribe on drop.
    shared: Arc<Shared>,
    room: RoomId,
    /// Tells this subscription from a later one of the same room.
    token: u64,
}

impl RoomFeed {
    /// The next message for the room.
    pub async fn recv(&mut self) -> Option<Remote> {
        self.rx.recv().await
    }
}

impl Drop for RoomFeed {
    fn drop(&mut self) {
        let mut subs = self.shared.subs();
        if subs.get(&self.room).is_some_and(|s| s.token == self.token) {
            subs.remove(&self.room);
        }
    }
}

/// This node's side of the bus. Tasks start with the first subscription
/// (inside the runtime) and stop on the server's shutdown.
#[derive(Debug)]
pub struct Bus {
    shared: Arc<Shared>,
    url: RedisUrl,
    /// The publisher's queue, once started.
    to_publish: OnceLock<mpsc::Sender<ToPublish>>,
    tasks: TaskTracker,
}

impl Bus {
    /// A bus on `url`; nothing connects until the first room subscribes.
    /// It runs until [`Bus::shutdown`], which the server calls once every
    /// room has stopped, so the last commits of a drain are published too.
    pub fn new(url: &RedisUrl, settings: BusSettings) -> Self {
        let shutdown = CancellationToken::new();
        let node = format!("{:016x}", fastrand::u64(..));
        // The URL was validated when parsed; this cannot fail for it.
        use redis::IntoConnectionInfo;
        let info = url
            .url
            .as_str()
            .into_connection_info()
            .unwrap_or_else(|_| unreachable!("RedisUrl is validated when parsed"))
            // Every command is a small write on the cross-node path: never
            // hold one back for Nagle's algorithm (redis-rs leaves it on).
            .set_tcp_settings(redis::io::tcp::TcpSettings::default().set_nodelay(true));
        let client = redis::Client::open(info)
            .unwrap_or_else(|_| unreachable!("RedisUrl is validated when parsed"));
        tracing::info!(redis = %url.redacted(), node, "cluster bus enabled");
        Self {
            shared: Arc::new(Shared {
                node,
                client,
                settings,
                subs: Mutex::new(HashMap::new()),
                lost: Mutex::new(HashSet::new()),
                next_token: AtomicU64::new(1),
                shutdown,
                lookups: tokio::sync::Mutex::new(None),
                counts: Counts::default(),
            }),
            url: url.clone(),
            to_publish: OnceLock::new(),
            tasks: TaskTracker::new(),
        }
    }

    /// This node's id, as written in its entries.
    pub fn node(&self) -> &str {
        &self.shared.node
    }

    fn to_publish(&self) -> &mpsc::Sender<ToPublish> {
        self.to_publish.get_or_init(|| {
            let (tx, rx) = mpsc::channel(PUBLISH_QUEUE);
            self.tasks.spawn(publisher::run(self.shared.clone(), rx));
            self.tasks.spawn(reader::run(self.shared.clone()));
            self.tasks.spawn(liveness::run(self.shared.clone()));
            tracing::debug!(redis = %self.url.redacted(), "bus tasks started");
            tx
        })
    }

    /// Subscribes `room`: notes the stream's newest entry, so everything
    /// published from now on is delivered. Call before loading the room.
    pub async fn subscribe(&self, room: &RoomId) -> RoomFeed {
        let to_publish = self.to_publish().clone();
        let (tx, rx) = mpsc::channel(ROOM_QUEUE);
        let noted = async {
            let mut cached = self.shared.lookups.lock().await;
            let mut conn = match cached.as_ref() {
                Some(conn) => conn.clone(),
                None => self.shared.connect(COMMAND_TIMEOUT).await?,
            };
            let newest = Shared::newest(&mut conn, room).await;
            *cached = newest.is_ok().then_some(conn);
            newest
        };
        let (position, resync) = match noted.await {
            Ok(position) => (position, false),
            // Redis is down: the room resyncs once the reader is back.
            Err(err) => {
                tracing::warn!(%room, error = %err, "bus unreachable while loading a room");
                (StreamId::default(), true)
            }
        };
        let token = self.shared.next_token.fetch_add(1, Ordering::Relaxed);
        self.shared.subs().insert(
            room.clone(),
            Sub {
                position,
                tx,
                resync,
                check_trim: true,
                token,
            },
        );
        let _ = to_publish.try_send(ToPublish::Wake);
        // After the position was noted, so the answers are read. Presence
        // is ephemeral: with the queue full or Redis unreachable the query
        // is lost, and the people elsewhere show here when they next change
        // presence (or when the reader, reconnecting, asks again).
        let _ = to_publish.try_send(ToPublish::PresenceQuery { room: room.clone() });
        RoomFeed {
            rx,
            shared: self.shared.clone(),
            room: room.clone(),
            token,
        }
    }

    /// Publishes a committed batch (rows `first..=last` of `room`). Never
    /// waits: a full queue marks the room for a resync marker instead.
    pub fn publish(&self, room: &RoomId, first: u64, last: u64, updates: Arc<Vec<Bytes>>) {
        let sent = self.to_publish().try_send(ToPublish::Update {
            room: room.clone(),
            first,
            last,
            updates,
            queued: Instant::now(),
        });
        if sent.is_err() {
            self.shared.lost().insert(room.clone());
        }
    }

    /// Hands a committed change of `room`'s authorship to the other nodes,
    /// before the rows committed with it ([`Bus::publish`], called next).
    /// Never waits: a full queue marks the room for a resync marker instead
    /// (a resync reads the authorship too).
    pub fn publish_authors(&self, room: &RoomId, authors: &tandem_shared::authors::Authorship) {
        let sent = self.to_publish().try_send(ToPublish::Authors {
            room: room.clone(),
            authors: serde_json::to_string(authors).unwrap_or_default(),
        });
        if sent.is_err() {
            self.shared.lost().insert(room.clone());
        }
    }

    /// Tells the other nodes that `room`'s share links changed in the store,
    /// so their copies of the room read them again. Never waits: a full
    /// queue marks the room for a resync marker instead (a resync reads the
    /// links too).
    pub fn publish_links(&self, room: &RoomId) {
        let sent = self
            .to_publish()
            .try_send(ToPublish::Links { room: room.clone() });
        if sent.is_err() {
            self.shared.lost().insert(room.clone());
        }
    }

    /// Tells the other nodes about connection `client`'s presence (`None`:
    /// it left). Presence is ephemeral: with the queue full it is dropped
    /// (the next change corrects it), never waited for.
    pub fn publish_presence(
        &self,
        room: &RoomId,
        client: tandem_shared::ClientId,
        presence: Option<&tandem_shared::Presence>,
    ) {
        let presence = match presence {
            Some(p) => match serde_json::to_string(p) {
                Ok(json) => Some(json),
                Err(_) => return,
            },
            None => None,
        };
        let _ = self.to_publish().try_send(ToPublish::Presence {
            room: room.clone(),
            client: client.0,
            presence,
        });
    }

    /// Answers another node's presence query: the current presence of this
    /// node's members of `room` who have one. Dropped, never waited for,
    /// when the queue is full.
    pub fn answer_presence_query(
        &self,
        room: &RoomId,
        presences: &[(tandem_shared::ClientId, tandem_shared::Presence)],
    ) {
        let presences: Vec<(u64, String)> = presences
            .iter()
            .filter_map(|(client, p)| Some((client.0, serde_json::to_string(p).ok()?)))
            .collect();
        if presences.is_empty() {
            return;
        }
        let _ = self.to_publish().try_send(ToPublish::Presences {
            room: room.clone(),
            presences,
        });
    }

    /// Counts a connection from `ip` to `room` across the cluster, if the
    /// cluster holds fewer than `max_room` connections in the room and
    /// `max_per_ip` from the address; falls back to local counting when
    /// Redis does not answer (see `tracking`).
    pub async fn admit(
        &self,
        room: &RoomId,
        ip: std::net::IpAddr,
        max_room: usize,
        max_per_ip: usize,
    ) -> Verdict {
        // The liveness beat mirrors the counts: start it with the first
        // connection rather than the first room.
        let _ = self.to_publish();
        tracking::admit(&self.shared, room, ip, max_room, max_per_ip).await
    }

    /// How many connections the other nodes hold in `room`; an error when
    /// Redis does not answer (within the admission's timeout).
    pub async fn connections_elsewhere(&self, room: &RoomId) -> redis::RedisResult<u64> {
        tracking::elsewhere(&self.shared, room).await
    }

    /// Publishes what is queued, leaves the cluster (this node's liveness
    /// key) and stops the bus tasks. Call after every room has stopped.
    pub async fn shutdown(&self) {
        self.shared.shutdown.cancel();
        self.tasks.close();
        self.tasks.wait().await;
        tracking::forget(&self.shared).await;
    }
}
