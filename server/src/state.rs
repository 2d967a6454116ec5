//! [`AppState`]: what every request handler and connection shares.
//!
//! Built once from the [`Config`], a [`Store`] and the share-link [`Keys`];
//! cheap to clone (every field is shared). It also hands out connection ids.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tandem_shared::ClientId;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::access::Keys;
use crate::config::Config;
use crate::limits::ConnectionLimits;
use crate::metrics::{self, FrameCounters};
use crate::room::{Registry, RoomSettings};
use crate::store::Store;

/// What every request handler and connection shares. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The configuration the server started with.
    pub config: Arc<Config>,
    /// Loaded rooms.
    pub registry: Arc<Registry>,
    /// The store the rooms live on, for what is not one room's business:
    /// the admin API's list and delete (`crate::admin`).
    pub store: Arc<dyn Store>,
    /// Cancelled when shutdown begins.
    pub shutdown: CancellationToken,
    /// Every open WebSocket connection, so shutdown can wait for them.
    pub connections: TaskTracker,
    /// Server-wide and per-address connection bounds.
    pub limits: Arc<ConnectionLimits>,
    /// Signs and checks share-link keys.
    pub keys: Arc<Keys>,
    /// Renders the metrics for `GET /metrics`.
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
    /// Frames and bytes received, by kind.
    pub frames_in: Arc<FrameCounters>,
    /// Frames and bytes sent, by kind.
    pub frames_out: Arc<FrameCounters>,
    /// The heartbeat of every WebSocket connection (pings, silence,
    /// shutdown), one task for all.
    pub(crate) heartbeats: crate::ws::Heartbeats,
    /// Source of connection ids: unique for the life of the process, so a
    /// presence or a `peer_left` never names the wrong connection.
    next_client: Arc<AtomicU64>,
}

impl AppState {
    /// State for a server storing rooms in `store` and signing keys with `keys`.
    pub fn new(config: Config, store: Arc<dyn Store>, keys: Keys) -> Self {
        let shutdown = CancellationToken::new();
        let settings = RoomSettings {
            idle: config.room_idle,
            compact_updates: config.compact_updates,
            compact_bytes: config.compact_bytes,
            max_connections: config.max_room_connections,
            max_document_bytes: config.max_document_bytes,
            labelled_rooms: config.metrics_room_labels,
            history: config.history_policy(),
        };
        let keys = Arc::new(keys);
        // The rooms' actors and the heartbeat: shutdown waits for them all.
        let tasks = TaskTracker::new();
        let registry = Registry::new(
            store.clone(),
            keys.clone(),
            settings,
            shutdown.clone(),
            tasks.clone(),
        );
        if let Some(url) = &config.redis_url {
            let settings = crate::bus::BusSettings {
                retention: config.bus_retention,
                max_len: config.bus_max_len,
            };
            registry.attach_bus(Arc::new(crate::bus::Bus::new(url, settings)));
        }
        let heartbeats = crate::ws::Heartbeats::new(config.heartbeat, shutdown.clone(), tasks);
        let limits = ConnectionLimits::new(config.max_connections, config.max_connections_per_ip);
        Self {
            config: Arc::new(config),
            registry: Arc::new(registry),
            store,
            shutdown,
            connections: TaskTracker::new(),
            limits: Arc::new(limits),
            keys,
            metrics: metrics::install(),
            // After `install`, so the handles are bound to the recorder.
            frames_in: Arc::new(FrameCounters::new(metrics::FRAMES_IN, metrics::BYTES_IN)),
            frames_out: Arc::new(FrameCounters::new(metrics::FRAMES_OUT, metrics::BYTES_OUT)),
            next_client: Arc::new(AtomicU64::new(1)),
            heartbeats,
        }
    }

    /// A fresh connection id.
    pub(crate) fn next_client_id(&self) -> ClientId {
        ClientId(self.next_client.fetch_add(1, Ordering::Relaxed))
    }
}
