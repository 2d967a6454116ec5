//! [`TestServer`]: the real Tandem server in this process, on a free port
//! of 127.0.0.1, for the server's integration tests and the browser tests.
//!
//! It builds the [`AppState`] itself (so a test can keep the memory store it
//! inspects, and reads the registry and limits through [`TestServer::state`])
//! and serves it with [`tandem_server::serve`]. Keys come from a fixed
//! secret, so share links survive restarts. [`TestServer::restart`] starts
//! a new server on the same port (SO_REUSEADDR: the old connections may sit
//! in TIME_WAIT) with the same store, so open clients and pages reconnect to
//! the same origin and find their rooms.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tandem_server::access::Keys;
use tandem_server::store::{MemoryStore, SqliteStore, Store};
use tandem_server::{AppState, Config, ServerError};
use tandem_shared::RoomId;
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::http::http;
use crate::{Client, DEADLINE, TempDir};

/// The secret behind [`test_keys`].
pub const TEST_SECRET: &str = "test-secret-test-secret-test-secret";

/// Share-link keys with a fixed secret, so keys survive restarts and tests
/// can make their own.
pub fn test_keys() -> Keys {
    Keys::from_secret(TEST_SECRET).expect("test secret")
}

/// A configuration for tests: no static files, the defaults otherwise.
pub fn test_config(data_dir: &Path) -> Config {
    Config {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        data_dir: data_dir.to_path_buf(),
        static_dir: PathBuf::from("/nonexistent"),
        ..Config::default()
    }
}

/// Where a [`TestServer`] keeps its rooms. Every (re)start uses the same.
#[derive(Debug)]
pub enum Storage {
    /// A memory store the test holds too (to fail writes, count loads).
    Memory(Arc<MemoryStore>),
    /// Any store the test built.
    Custom(Arc<dyn Store>),
    /// SQLite in a directory the test owns, opened again on every start.
    Sqlite(PathBuf),
    /// SQLite in a scratch directory the server owns: removed when the
    /// server is dropped after a clean [`TestServer::stop`], kept for a look
    /// when it was still running or a test failed.
    Scratch(TempDir),
}

impl Storage {
    fn open(&self) -> Arc<dyn Store> {
        match self {
            Self::Memory(store) => store.clone(),
            Self::Custom(store) => store.clone(),
            Self::Sqlite(dir) => sqlite(dir),
            Self::Scratch(dir) => sqlite(dir.path()),
        }
    }

    fn dir(&self) -> Option<&Path> {
        match self {
            Self::Memory(_) | Self::Custom(_) => None,
            Self::Sqlite(dir) => Some(dir),
            Self::Scratch(dir) => Some(dir.path()),
        }
    }
}

fn sqlite(dir: &Path) -> Arc<dyn Store> {
    match SqliteStore::open(dir) {
        Ok(store) => Arc::new(store),
        Err(err) => panic!("cannot open a SQLite store in {}: {err}", dir.display()),
    }
}

/// A running (or stopped) server.
#[derive(Debug)]
pub struct TestServer {
    /// The address it listens on; the same across [`TestServer::restart`].
    pub addr: SocketAddr,
    /// `http://127.0.0.1:<port>`: what pages load.
    pub base: String,
    /// The state of the current (or last) run: registry, limits, metrics.
    pub state: AppState,
    /// What every (re)start runs with.
    config: Config,
    /// Where rooms are kept.
    storage: Storage,
    /// The serving task while it runs.
    running: Option<Running>,
}

/// A server task and the way to stop it.
#[derive(Debug)]
struct Running {
    /// Resolves the shutdown future given to `serve`.
    stop: oneshot::Sender<()>,
    /// `serve` itself; returns once the server has drained.
    task: JoinHandle<Result<(), ServerError>>,
}

impl TestServer {
    /// Starts a server on 127.0.0.1 and a free port with `config` (its
    /// listen address is replaced) and `storage`.
    pub async fn launch(mut config: Config, storage: Storage) -> Self {
        let listener = bind(SocketAddr::from(([127, 0, 0, 1], 0)));
        let addr = listener
            .local_addr()
            .expect("a bound listener has an address");
        config.listen = addr;
        if let Some(dir) = storage.dir() {
            config.data_dir = dir.to_path_buf();
        }
        let (state, running) = serve(listener, &config, &storage);
        Self {
            addr,
            base: format!("http://{addr}"),
            state,
            config,
            storage,
            running: Some(running),
        }
    }

    /// Starts a server with `store`.
    pub async fn start(config: Config, store: Arc<dyn Store>) -> Self {
        Self::launch(config, Storage::Custom(store)).await
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
        let server = Self::launch(config, Storage::Memory(store.clone())).await;
        (server, store)
    }

    /// A server on a SQLite store in `dir`.
    pub async fn sqlite(dir: &Path, tune: impl FnOnce(&mut Config)) -> Self {
        let mut config = test_config(dir);
        tune(&mut config);
        Self::launch(config, Storage::Sqlite(dir.to_path_buf())).await
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> &str {
        &self.base
    }

    /// `http://…{path}`.
    pub fn http_url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `ws://127.0.0.1:<port>`, the base of the socket URLs (`/ws/{room}`,
    /// `/yjs/{room}`).
    pub fn ws_base(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// `ws://…/ws/{room}`. A share key goes in the client's hello
    /// ([`Client::connect_with_key`]), never in this URL.
    pub fn ws_url(&self, room: &str) -> String {
        room_id(room).ws_url(&self.base)
    }

    /// A connected, synced client in `room`.
    pub async fn client(&self, room: &str) -> Client {
        Client::connect(&self.ws_url(room)).await
    }

    /// The SQLite store's directory, if the server has one.
    pub fn data_dir(&self) -> Option<&Path> {
        self.storage.dir()
    }

    /// Whether the server is serving (started and not stopped).
    pub fn is_running(&self) -> bool {
        self.running.is_some()
    }

    /// Shuts the server down gracefully (clients get a going-away close,
    /// rooms are flushed) and waits for it to finish; fails the test if it
    /// fails or hangs. Does nothing if it is stopped.
    pub async fn stop(&mut self) {
        let Some(Running { stop, task }) = self.running.take() else {
            return;
        };
        // The receiver is gone only if the server already ended; `task` says how.
        let _ = stop.send(());
        let grace = DEADLINE.max(self.config.shutdown_timeout + Duration::from_secs(10));
        match tokio::time::timeout(grace, task).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(err))) => panic!("the server at {} failed: {err}", self.base),
            Ok(Err(join)) => panic!("the server at {} panicked: {join}", self.base),
            Err(_) => panic!(
                "the server at {} did not stop within {grace:?} of being asked to",
                self.base
            ),
        }
    }

    /// Stops the server (if running) and starts a new one on the same port
    /// with the same configuration and store.
    pub async fn restart(&mut self) {
        self.stop().await;
        let (state, running) = serve(bind(self.addr), &self.config, &self.storage);
        self.state = state;
        self.running = Some(running);
    }

    /// `GET path` (e.g. `/api/rooms/r/text?key=…`) as a plain HTTP client:
    /// the status and the body. Fails the test if the server cannot be reached.
    pub async fn get(&self, path: &str) -> (u16, String) {
        http(self.addr, "GET", path, None, "").await
    }
}

impl Drop for TestServer {
    /// A running server (the test ended without stopping it) is told to
    /// stop. Its scratch data is kept for a look, as it is when the test
    /// failed; a cleanly stopped server's scratch data is removed.
    fn drop(&mut self) {
        let running = self.running.take();
        let stopped_cleanly = running.is_none() && !std::thread::panicking();
        if let Some(running) = running {
            let _ = running.stop.send(());
        }
        if !stopped_cleanly && let Storage::Scratch(dir) = &mut self.storage {
            dir.keep();
        }
    }
}

fn room_id(room: &str) -> RoomId {
    RoomId::new(room).unwrap_or_else(|err| panic!("{room:?} is not a room name: {err}"))
}

/// Starts serving on `listener`: a fresh state on the storage's store.
fn serve(listener: TcpListener, config: &Config, storage: &Storage) -> (AppState, Running) {
    let state = AppState::new(config.clone(), storage.open(), test_keys());
    let (stop, stopped) = oneshot::channel::<()>();
    let shutdown = async move {
        // A dropped sender (the test ended without `stop`) also shuts down.
        let _ = stopped.await;
    };
    let task = tokio::spawn(tandem_server::serve(listener, state.clone(), shutdown));
    (state, Running { stop, task })
}

/// Listens on `addr` with SO_REUSEADDR, so a restarted server can take the
/// port back while the previous one's connections sit in TIME_WAIT.
fn bind(addr: SocketAddr) -> TcpListener {
    let attempt = || -> std::io::Result<TcpListener> {
        let socket = TcpSocket::new_v4()?;
        socket.set_reuseaddr(true)?;
        socket.bind(addr)?;
        socket.listen(1024)
    };
    match attempt() {
        Ok(listener) => listener,
        Err(err) => panic!("cannot listen on {addr}: {err}"),
    }
}
