//! Tandem's server: HTTP and WebSocket on one port, one actor per room,
//! durable per-room storage.
//!
//! `main.rs` parses a [`Config`] and calls [`run`] with a bound listener;
//! tests do the same on port 0, or build an [`AppState`] around a store they
//! can inspect (e.g. a [`store::MemoryStore`]) and call [`serve`].

pub mod access;
pub mod api;
pub mod config;
pub mod http;
pub mod limits;
pub mod metrics;
pub mod room;
pub mod shutdown;
pub mod store;
pub mod telemetry;
mod ws;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

use access::Keys;
pub use config::Config;
pub use http::app;
use limits::ConnectionLimits;
use room::{Registry, RoomSettings};
use store::{MemoryStore, SqliteStore, Store, StoreError};

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The store could not be opened (missing or read-only data directory,
    /// full disk, database from a newer version…).
    #[error("cannot open storage in {dir}: {source}")]
    Store {
        /// The configured data directory.
        dir: std::path::PathBuf,
        /// What went wrong.
        source: StoreError,
    },
    /// The share-link secret could not be set up.
    #[error("cannot set up share-link keys: {0}")]
    Keys(access::AccessError),
    /// Serving HTTP failed.
    #[error("server failed: {0}")]
    Serve(#[from] std::io::Error),
}

/// What every request handler and connection shares. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The configuration the server started with.
    pub config: Arc<Config>,
    /// Loaded rooms.
    pub registry: Arc<Registry>,
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
    pub frames_in: Arc<metrics::FrameCounters>,
    /// Frames and bytes sent, by kind.
    pub frames_out: Arc<metrics::FrameCounters>,
    /// Source of connection ids.
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
        };
        let keys = Arc::new(keys);
        let registry = Registry::new(
            store,
            keys.clone(),
            settings,
            shutdown.clone(),
            TaskTracker::new(),
        );
        let limits = ConnectionLimits::new(config.max_connections, config.max_connections_per_ip);
        Self {
            config: Arc::new(config),
            registry: Arc::new(registry),
            shutdown,
            connections: TaskTracker::new(),
            limits: Arc::new(limits),
            keys,
            metrics: metrics::install(),
            // After `install`, so the handles are bound to the recorder.
            frames_in: Arc::new(metrics::FrameCounters::new(
                metrics::FRAMES_IN,
                metrics::BYTES_IN,
            )),
            frames_out: Arc::new(metrics::FrameCounters::new(
                metrics::FRAMES_OUT,
                metrics::BYTES_OUT,
            )),
            next_client: Arc::new(AtomicU64::new(1)),
        }
    }
}

/// The share-link keys the configuration calls for: `--secret` if given,
/// else the secret kept in the data directory (generated on first run), or a
/// throwaway one for the memory store.
pub fn open_keys(config: &Config) -> Result<Keys, ServerError> {
    match (&config.secret, config.store) {
        (Some(secret), _) => Keys::from_secret(&secret.0),
        (None, config::StoreKind::Sqlite) => Keys::load_or_create(&config.data_dir),
        (None, config::StoreKind::Memory) => Keys::ephemeral(),
    }
    .map_err(ServerError::Keys)
}

/// Opens the store the configuration names.
pub fn open_store(config: &Config) -> Result<Arc<dyn Store>, ServerError> {
    Ok(match config.store {
        config::StoreKind::Sqlite => Arc::new(SqliteStore::open(&config.data_dir).map_err(
            |source| ServerError::Store {
                dir: config.data_dir.clone(),
                source,
            },
        )?),
        config::StoreKind::Memory => Arc::new(MemoryStore::default()),
    })
}

/// Opens the store and the share-link keys the configuration names: every
/// start-up failure (a read-only or missing data directory, a full disk, a
/// weak secret) surfaces here, before the server listens.
pub fn prepare(config: Config) -> Result<AppState, ServerError> {
    let store = open_store(&config)?;
    let keys = open_keys(&config)?;
    Ok(AppState::new(config, store, keys))
}

/// Serves on `listener` until `shutdown` resolves, then shuts down gracefully:
/// stop accepting, let every room commit what it received, close every client
/// with 1001, and return within `config.shutdown_timeout`.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    serve(listener, prepare(config)?, shutdown).await
}

/// [`run`] with the whole state supplied by the caller, who keeps a clone to
/// observe the server (its registry, its connections).
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let static_dir = &state.config.static_dir;
    if !static_dir.join("index.html").is_file() {
        warn!(
            dir = %static_dir.display(),
            "the web client is not built there; pages will answer 503 (run `cargo xtask build`)"
        );
    }
    let grace = state.config.shutdown_timeout;
    let token = state.shutdown.clone();
    let signal = async move {
        shutdown.await;
        token.cancel();
    };
    let service = app(state.clone()).into_make_service_with_connect_info::<std::net::SocketAddr>();
    // Small frames go out at once: without TCP_NODELAY, Nagle's algorithm and
    // delayed ACKs hold relayed updates back by tens of milliseconds.
    let listener = listener.tap_io(|tcp| {
        if let Err(err) = tcp.set_nodelay(true) {
            tracing::debug!(error = %err, "cannot set TCP_NODELAY");
        }
    });
    axum::serve(listener, service)
        .with_graceful_shutdown(signal)
        .await?;

    info!(
        connections = state.connections.len(),
        rooms = state.registry.loaded(),
        "draining"
    );
    let drained = tokio::time::timeout(grace, async {
        state.connections.close();
        state.connections.wait().await;
        state.registry.wait_stopped().await;
    })
    .await;
    match drained {
        Ok(()) => info!("shut down cleanly"),
        Err(_) => warn!(
            ?grace,
            "shutdown timed out; exiting with rooms or connections still open"
        ),
    }
    Ok(())
}
