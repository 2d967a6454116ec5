//! Starting and stopping the server.
//!
//! [`prepare`] opens the store and the share-link keys the configuration
//! names, so every start-up failure surfaces before the server listens;
//! [`serve`] runs the HTTP app on a bound listener until the shutdown
//! future resolves, then drains: stop accepting, let every room commit what
//! it received, close every client with `GoingAway`, all within
//! `--shutdown-timeout`. [`run`] is the two together.

use std::future::Future;
use std::sync::Arc;

use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tracing::{info, warn};

use crate::access::Keys;
use crate::config::{Config, StoreKind};
use crate::error::ServerError;
use crate::http::app;
use crate::state::AppState;
use crate::store::{MemoryStore, PostgresStore, SqliteStore, Store, StoreError};

/// The share-link keys the configuration calls for: `--secret` if given,
/// else the secret kept in the data directory (generated on first run), or a
/// throwaway one for the memory store.
pub fn open_keys(config: &Config) -> Result<Keys, ServerError> {
    match (&config.secret, config.store) {
        (Some(secret), _) => Keys::from_secret(&secret.0),
        (None, StoreKind::Sqlite) => Keys::load_or_create(&config.data_dir),
        (None, StoreKind::Postgres) => {
            warn!("no --secret: share links signed by this node are refused by the other nodes");
            Keys::load_or_create(&config.data_dir)
        }
        (None, StoreKind::Memory) => Keys::ephemeral(),
    }
    .map_err(ServerError::Keys)
}

/// Opens the store the configuration names.
pub fn open_store(config: &Config) -> Result<Arc<dyn Store>, ServerError> {
    Ok(match config.store {
        StoreKind::Sqlite => {
            Arc::new(
                SqliteStore::open(&config.data_dir).map_err(|source| ServerError::Store {
                    dir: config.data_dir.clone(),
                    source,
                })?,
            )
        }
        StoreKind::Memory => Arc::new(MemoryStore::default()),
        StoreKind::Postgres => {
            let Some(url) = &config.database_url else {
                return Err(ServerError::Store {
                    dir: "postgres".into(),
                    source: StoreError::Other("--store postgres needs --database-url".into()),
                });
            };
            // The error names the URL's host (never its password): one line.
            Arc::new(
                PostgresStore::open(url).map_err(|source| ServerError::Store {
                    dir: url.redacted().into(),
                    source,
                })?,
            )
        }
    })
}

/// Opens the store and the share-link keys the configuration names: every
/// start-up failure (a read-only or missing data directory, a full disk, a
/// weak secret) surfaces here, before the server listens.
pub fn prepare(config: Config) -> Result<AppState, ServerError> {
    if config.redis_url.is_some() && config.store != StoreKind::Postgres {
        // Nodes relay only what they committed, numbered by a log they
        // share: on separate stores their documents would drift apart.
        return Err(ServerError::Store {
            dir: "--redis-url".into(),
            source: StoreError::Other(
                "the bus needs --store postgres: the nodes of a cluster share one store".into(),
            ),
        });
    }
    let store = open_store(&config)?;
    let keys = open_keys(&config)?;
    Ok(AppState::new(config, store, keys))
}

/// Serves on `listener` until `shutdown` resolves, then shuts down gracefully:
/// stop accepting, let every room commit what it received, close every client
/// with `GoingAway`, and return within `config.shutdown_timeout`.
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
    match &state.config.embedded_client {
        Some(bundle) => info!(
            files = bundle.len(),
            bytes = bundle.bytes(),
            "serving the web client built into this binary (--static-dir serves another)"
        ),
        None if !static_dir.join("index.html").is_file() => warn!(
            dir = %static_dir.display(),
            "the web client is not built there; pages will answer 503 (run `cargo xtask build`)"
        ),
        None => {}
    }
    let grace = state.config.shutdown_timeout;
    let token = state.shutdown.clone();
    let signal = async move {
        shutdown.await;
        token.cancel();
    };
    // Like `into_make_service_with_connect_info::<SocketAddr>`, plus each
    // connection's socket control for WebSocket upgrades (server/src/ws/socket.rs).
    let service = crate::ws::into_make_service(app(state.clone()));
    // Small frames go out at once: without TCP_NODELAY, Nagle's algorithm and
    // delayed ACKs hold relayed updates back by tens of milliseconds.
    let listener = crate::ws::SocketListener::new(listener.tap_io(|tcp| {
        if let Err(err) = tcp.set_nodelay(true) {
            tracing::debug!(error = %err, "cannot set TCP_NODELAY");
        }
    }));
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
        if let Some(bus) = state.registry.bus() {
            // After the rooms: their last commits are published first.
            bus.shutdown().await;
        }
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
