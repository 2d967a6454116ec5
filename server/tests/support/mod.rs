//! Test support: a server on port 0 and a native Tandem client speaking the
//! real protocol over a real WebSocket (tokio-tungstenite + yrs).

#![allow(dead_code, unreachable_pub)] // each test binary uses a different part

pub mod client;
pub mod http;
pub mod proxy;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tandem_server::access::Keys;
use tandem_server::store::{MemoryStore, SqliteStore, Store};
use tandem_server::{AppState, Config};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use client::Client;

/// Default deadline for conditions the tests wait on.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// Share-link keys with a fixed secret, so keys survive test restarts.
pub fn test_keys() -> Keys {
    Keys::from_secret(TEST_SECRET).expect("test secret")
}

/// The secret behind [`test_keys`].
pub const TEST_SECRET: &str = "test-secret-test-secret-test-secret";

/// A configuration for tests: no static files, generous timeouts.
pub fn test_config(data_dir: &Path) -> Config {
    Config {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        data_dir: data_dir.to_path_buf(),
        static_dir: PathBuf::from("/nonexistent"),
        ..Config::default()
    }
}

/// A server running in this process.
pub struct TestServer {
    pub addr: SocketAddr,
    pub state: AppState,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl TestServer {
    /// Starts a server with `store` on 127.0.0.1 and a free port.
    pub async fn start(config: Config, store: Arc<dyn Store>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind port 0");
        Self::start_on(listener, config, store).await
    }

    /// Starts a server with `store` on `listener`.
    pub async fn start_on(
        listener: tokio::net::TcpListener,
        config: Config,
        store: Arc<dyn Store>,
    ) -> Self {
        let addr = listener.local_addr().expect("local addr");
        let state = AppState::new(config, store, test_keys());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn({
            let state = state.clone();
            async move {
                let shutdown = async {
                    let _ = stopped.await;
                };
                tandem_server::serve(listener, state, shutdown)
                    .await
                    .expect("server runs");
            }
        });
        Self {
            addr,
            state,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// A server on a fresh memory store.
    pub async fn memory() -> (Self, Arc<MemoryStore>) {
        Self::memory_with(|_| {}).await
    }

    /// A server on a fresh memory store, with `tune` applied to its config.
    pub async fn memory_with(tune: impl FnOnce(&mut Config)) -> (Self, Arc<MemoryStore>) {
        let store = Arc::new(MemoryStore::default());
        let mut config = test_config(Path::new("/nonexistent"));
        tune(&mut config);
        (Self::start(config, store.clone()).await, store)
    }

    /// A server on a SQLite store in `dir`.
    pub async fn sqlite(dir: &Path, tune: impl FnOnce(&mut Config)) -> Self {
        let mut config = test_config(dir);
        tune(&mut config);
        let store = SqliteStore::open(dir).expect("open sqlite store");
        Self::start(config, Arc::new(store)).await
    }

    /// `ws://…/ws/{room}`.
    pub fn ws_url(&self, room: &str) -> String {
        format!("ws://{}/ws/{room}", self.addr)
    }

    /// `http://…{path}`.
    pub fn http_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// A connected, synced client in `room`.
    pub async fn client(&self, room: &str) -> Client {
        Client::connect(&self.ws_url(room)).await
    }

    /// Shuts down gracefully and waits for the server to return.
    pub async fn stop(mut self) {
        self.stop_in_place().await;
    }

    async fn stop_in_place(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(DEADLINE, task)
                .await
                .expect("server stops within the deadline")
                .expect("server task did not panic");
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A fresh directory removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "tandem-{tag}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create temp dir");
        Self(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Polls `condition` until it holds or `DEADLINE` passes.
pub async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while !condition() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
