//! What every room is given at spawn: the services and tuning it shares with
//! the other rooms.
//!
//! The registry builds one [`RoomContext`] and hands each new actor a clone
//! of its `Arc`, so a room reaches the store, the share keys, its settings,
//! the shutdown signal and the metric label slots without knowing the
//! registry. The only thing a room asks of the registry is to be removed
//! from it, through its [`Listing`](super::table::Listing).

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::access::Keys;
use crate::metrics::RoomLabels;
use crate::store::Store;

/// Tuning of every room, taken from [`crate::Config`].
#[derive(Debug, Clone)]
pub struct RoomSettings {
    /// Unload a room after this long without connections.
    pub idle: Duration,
    /// Compact once the log holds this many updates...
    pub compact_updates: u64,
    /// ...or this many bytes.
    pub compact_bytes: u64,
    /// Most members of one room.
    pub max_connections: usize,
    /// Largest document, in bytes of stored state.
    pub max_document_bytes: u64,
    /// Most rooms with per-room metric labels at one time.
    pub labelled_rooms: usize,
    /// When checkpoints are taken and how long they are kept.
    pub history: super::HistoryPolicy,
}

/// What a room's actor needs from the server.
#[derive(Debug)]
pub(super) struct RoomContext {
    /// Where rooms are loaded from and committed to.
    pub(super) store: Arc<dyn Store>,
    /// Signs the share keys a protected room's editors get in `welcome`.
    pub(super) keys: Arc<Keys>,
    /// Tuning shared by every room.
    pub(super) settings: RoomSettings,
    /// Fired when the server shuts down; rooms flush and stop.
    pub(super) shutdown: CancellationToken,
    /// The bounded per-room metric labels (`settings.labelled_rooms` of them).
    pub(super) labels: Arc<RoomLabels>,
    /// The bus to the other nodes (`--redis-url`), set once before any room starts.
    pub(super) bus: std::sync::OnceLock<Arc<crate::bus::Bus>>,
}

impl RoomContext {
    /// A context whose label slots are bounded by `settings.labelled_rooms`.
    pub(super) fn new(
        store: Arc<dyn Store>,
        keys: Arc<Keys>,
        settings: RoomSettings,
        shutdown: CancellationToken,
    ) -> Self {
        Self {
            labels: Arc::new(RoomLabels::new(settings.labelled_rooms)),
            bus: std::sync::OnceLock::new(),
            store,
            keys,
            settings,
            shutdown,
        }
    }
}
