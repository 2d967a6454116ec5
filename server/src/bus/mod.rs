//! The bus between the nodes of a cluster (`--redis-url`): one Redis Stream
//! per room carrying the updates each node has committed.
//!
//! A room's actor [`Bus::subscribe`]s before it loads the room: the
//! subscription notes the stream's newest entry first, so anything
//! committed while the room loads is read afterwards (CRDT updates are
//! idempotent, so reading some twice is free). After each commit the actor
//! [`Bus::publish`]es the batch with the log sequence numbers it got; other
//! nodes' readers hand it to their copy of the room ([`Remote::Update`]),
//! which applies it and relays it to its own clients. Nothing waits for
//! Redis: publishing is a bounded queue to the publisher task, reading a
//! task of its own.
//!
//! Presence travels the same streams, as ephemeral entries: other nodes
//! show a member's presence to their own members ([`Remote::Presence`]),
//! and drop a dead node's people ([`Remote::NodeGone`], from `liveness`).
//! A node that loads a room (or gets Redis back) cannot have seen the
//! presence entries published before, so it publishes a presence query;
//! every node holding the room answers ([`Remote::PresenceQuery`]) with its
//! members' current presence, which the asking node reads like any other.
//!
//! When a node cannot be sure it has read everything — Redis was
//! unreachable, the stream was trimmed past its position (the retention
//! window: `--bus-retention`, `--bus-max-len`), its room's queue
//! overflowed, or another node could not publish a commit — the room gets
//! [`Remote::Resync`]: it reloads from the store, which holds every
//! committed update, and merges.
//!
//! | file | concept |
//! |---|---|
//! | `entry` | key names, stream ids, the fields of an entry |
//! | `reader` | the task reading every subscribed room's stream |
//! | `publisher` | the task appending committed updates |
//! | `liveness` | each node's key with a TTL; rooms resync when another node dies |
//! | `seqs` | which log rows a room holds, so compaction never drops others' |
//! | `tracking` | each node's connection counts, so limits count the whole cluster |

mod entry;
mod liveness;
mod publisher;
mod reader;
mod seqs;
mod tracking;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use redis::aio::MultiplexedConnection;
use tandem_shared::RoomId;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use entry::StreamId;
pub(crate) use publisher::now_us;
pub(crate) use seqs::SeqSet;
pub use tracking::{Tracked, Verdict};

/// How many remote updates may wait for one room's actor; past it the room
/// resyncs from the store instead.
const ROOM_QUEUE: usize = 256;
/// How many committed batches may wait for the publisher; past it the room
/// is marked for a resync marker.
const PUBLISH_QUEUE: usize = 4096;
/// How long one Redis command may take before the connection counts as lost.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(2);

/// A `redis://` URL whose password never shows in logs or `Debug`.
#[derive(Clone)]
pub struct RedisUrl {
    /// As given, for connecting.
    url: String,
    /// `redis://host:port/db`, for logs.
    redacted: String,
}

impl RedisUrl {
    /// The URL without user or password.
    pub fn redacted(&self) -> &str {
        &self.redacted
    }
}

impl fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted)
    }
}

impl FromStr for RedisUrl {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        use redis::IntoConnectionInfo;
        let info = s
            .into_connection_info()
            .map_err(|_| "not a valid redis:// URL".to_string())?;
        let redacted = format!("redis://{}/{}", info.addr(), info.redis_settings().db());
        Ok(Self {
            url: s.to_string(),
            redacted,
        })
    }
}

/// Retention of the streams, from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct BusSettings {
    /// Entries older than this are trimmed, and an idle stream expires.
    pub retention: Duration,
    /// A stream keeps about this many entries at most.
    pub max_len: u64,
}

/// What a room's actor receives from other nodes.
#[derive(Debug, Clone, PartialEq)]
pub enum Remote {
    /// Another node committed log rows `first..=last` as `update`.
    Update {
        /// First log sequence number covered.
        first: u64,
        /// Last log sequence number covered.
        last: u64,
        /// One v1 update.
        update: Bytes,
        /// When the other node published it (µs since the Unix epoch, its
        /// clock), for [`crate::metrics::BUS_DELIVERY_SECONDS`].
        published_us: Option<u64>,
    },
    /// Something may have been missed: reload from the store and merge.
    Resync,
    /// Someone on another node, shown here as `peer`, set its presence or
    /// (`None`) left.
    Presence {
        /// The id this node shows them under ([`remote_client`]).
        peer: tandem_shared::ClientId,
        /// What they said about themselves.
        presence: Option<tandem_shared::Presence>,
    },
    /// A node stopped beating: everyone it showed here ([`node_of`] equal
    /// to `tag`) is gone.
    NodeGone {
        /// See [`node_tag`].
        tag: u64,
    },
    /// Another node loaded the room and asks for its people: answer with
    /// [`Bus::answer_presence_query`].
    PresenceQuery,
}

/// A short number for a node id: the upper bits of the ids its people
/// get on the other nodes.
pub fn node_tag(node: &str) -> u64 {
    // FNV-1a, folded to 20 bits and never 0, so remote ids stay above every
    // local connection id (which count up from 1) and below 2^53, exact in
    // JavaScript numbers.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in node.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    ((hash ^ (hash >> 20) ^ (hash >> 40)) & 0xF_FFFF).max(1)
}

/// The id connection `client` of `node` is shown under on other nodes.
pub fn remote_client(node: &str, client: u64) -> tandem_shared::ClientId {
    tandem_shared::ClientId((node_tag(node) << 32) | (client & 0xFFFF_FFFF))
}

/// The node tag of an id made by [`remote_client`] (0 for a local id).
pub fn node_of(client: tandem_shared::ClientId) -> u64 {
    client.0 >> 32
}

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

/// One subscribed room, as the reader sees it.
#[derive(Debug)]
struct Sub {
    /// The id of the last entry read (or the newest when subscribing).
    position: StreamId,
    /// Where to hand entries.
    tx: mpsc::Sender<Remote>,
    /// The room owes a [`Remote::Resync`] (delivered when its queue has room).
    resync: bool,
    /// Whether to check that the stream was not trimmed past `position`.
    check_trim: bool,
    /// See [`RoomFeed::token`].
    token: u64,
}

/// A committed batch on its way to Redis.
#[derive(Debug)]
enum Outgoing {
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
}

/// State shared by the handle, the reader and the publisher.
#[derive(Debug)]
struct Shared {
    /// This node's id: its own entries are skipped when read back.
    node: String,
    client: redis::Client,
    settings: BusSettings,
    /// Subscribed rooms. A std mutex: held for map operations, never an await.
    subs: Mutex<HashMap<RoomId, Sub>>,
    /// Rooms with commits that could not be published: each gets a resync
    /// marker once Redis answers again.
    lost: Mutex<HashSet<RoomId>>,
    next_token: AtomicU64,
    shutdown: CancellationToken,
    /// The connection subscriptions note stream positions on, kept between
    /// rooms (a tokio mutex: held across the connect).
    lookups: tokio::sync::Mutex<Option<MultiplexedConnection>>,
    /// This node's connections by room and address (see `tracking`).
    counts: tracking::Counts,
}

impl Shared {
    fn subs(&self) -> MutexGuard<'_, HashMap<RoomId, Sub>> {
        self.subs
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn lost(&self) -> MutexGuard<'_, HashSet<RoomId>> {
        self.lost
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    async fn connect(
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
    async fn newest(
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

/// This node's side of the bus. Tasks start with the first subscription
/// (inside the runtime) and stop on the server's shutdown.
#[derive(Debug)]
pub struct Bus {
    shared: Arc<Shared>,
    url: RedisUrl,
    /// The publisher's queue, once started.
    outgoing: OnceLock<mpsc::Sender<Outgoing>>,
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
                counts: tracking::Counts::default(),
            }),
            url: url.clone(),
            outgoing: OnceLock::new(),
            tasks: TaskTracker::new(),
        }
    }

    /// This node's id, as written in its entries.
    pub fn node(&self) -> &str {
        &self.shared.node
    }

    fn outgoing(&self) -> &mpsc::Sender<Outgoing> {
        self.outgoing.get_or_init(|| {
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
        let outgoing = self.outgoing().clone();
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
        let _ = outgoing.try_send(Outgoing::Wake);
        // After the position was noted, so the answers are read. Presence
        // is ephemeral: with the queue full or Redis unreachable the query
        // is lost, and the people elsewhere show here when they next change
        // presence (or when the reader, reconnecting, asks again).
        let _ = outgoing.try_send(Outgoing::PresenceQuery { room: room.clone() });
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
        let sent = self.outgoing().try_send(Outgoing::Update {
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
        let _ = self.outgoing().try_send(Outgoing::Presence {
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
        let _ = self.outgoing().try_send(Outgoing::Presences {
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
        let _ = self.outgoing();
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
