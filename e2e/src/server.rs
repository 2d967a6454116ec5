//! [`TestServer`]: the real Tandem server, in-process, on a free port.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use tandem_server::{Config, ServerError};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::paths;

/// A running (or stopped) Tandem server serving the built client, storing
/// rooms in SQLite in its own directory so a restart keeps them.
#[derive(Debug)]
pub struct TestServer {
    /// `http://127.0.0.1:<port>`: what pages load. Stays the same across
    /// [`TestServer::restart`], so open pages reconnect to the same origin.
    pub base: String,
    /// The address the server listens on.
    pub addr: SocketAddr,
    /// The SQLite store's directory (a fresh one under `target/e2e-tmp/`).
    pub data_dir: PathBuf,
    /// What every (re)start runs with.
    config: Config,
    /// The serving task while it runs.
    running: Option<Running>,
}

/// A server task and the way to stop it.
#[derive(Debug)]
struct Running {
    /// Resolves the shutdown future given to `tandem_server::run`.
    stop: oneshot::Sender<()>,
    /// `run` itself; returns once the server has drained.
    task: JoinHandle<Result<(), ServerError>>,
}

impl TestServer {
    /// Starts a server with the default configuration.
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Starts a server after `adjust` has changed its configuration (the
    /// listen address, static and data directories are set by the harness).
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let static_dir = dist_dir();
        let data_dir = paths::fresh_dir("server").join("data");
        let mut config = Config {
            static_dir,
            data_dir: data_dir.clone(),
            ..Config::default()
        };
        adjust(&mut config);
        config.static_dir = dist_dir();
        config.data_dir = data_dir.clone();

        let listener = bind(SocketAddr::from(([127, 0, 0, 1], 0)));
        let addr = listener
            .local_addr()
            .expect("a bound listener has an address");
        config.listen = addr;
        let mut server = Self {
            base: format!("http://{addr}"),
            addr,
            data_dir,
            config,
            running: None,
        };
        server.spawn(listener);
        server
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> &str {
        &self.base
    }

    /// `ws://127.0.0.1:<port>`, the base of the socket URLs (`/ws/{room}`,
    /// `/yjs/{room}`).
    pub fn ws_base(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// `GET path` (e.g. `/api/rooms/r/text?key=…`) as a plain HTTP client:
    /// the status and the body. Fails the test if the server cannot be reached.
    pub async fn get(&self, path: &str) -> (u16, String) {
        let attempt = async {
            let mut stream = TcpStream::connect(self.addr).await?;
            let request = format!(
                "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
                self.addr
            );
            stream.write_all(request.as_bytes()).await?;
            let mut response = Vec::new();
            stream.read_to_end(&mut response).await?;
            Ok::<_, std::io::Error>(response)
        };
        let response = match tokio::time::timeout(crate::DEADLINE, attempt).await {
            Ok(Ok(response)) => response,
            Ok(Err(err)) => panic!("GET {}{path} failed: {err}", self.base),
            Err(_) => panic!(
                "GET {}{path} got no answer within {:?}",
                self.base,
                crate::DEADLINE
            ),
        };
        parse_response(&response).unwrap_or_else(|| {
            panic!(
                "GET {}{path}: not an HTTP response: {:?}",
                self.base,
                String::from_utf8_lossy(&response)
            )
        })
    }

    /// Whether the server is serving (started and not stopped).
    pub fn is_running(&self) -> bool {
        self.running.is_some()
    }

    /// Shuts the server down gracefully (clients get close 1001, rooms are
    /// flushed) and waits for it to finish. Does nothing if it is stopped.
    pub async fn stop(&mut self) {
        let Some(Running { stop, task }) = self.running.take() else {
            return;
        };
        // The receiver is gone only if the server already ended; `task` says how.
        let _ = stop.send(());
        let grace = self.config.shutdown_timeout + Duration::from_secs(10);
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
    /// with the same data directory.
    pub async fn restart(&mut self) {
        self.stop().await;
        let listener = bind(self.addr);
        self.spawn(listener);
    }

    fn spawn(&mut self, listener: TcpListener) {
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown = async move {
            // A dropped sender (the test ended without `stop`) also shuts down.
            let _ = stopped.await;
        };
        let task = tokio::spawn(tandem_server::run(listener, self.config.clone(), shutdown));
        self.running = Some(Running { stop, task });
    }
}

impl Drop for TestServer {
    /// A stopped server's data is removed; a running one (the test ended
    /// early) is told to stop, and its data is kept for a look, as it is
    /// when the test failed.
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            let _ = running.stop.send(());
            return;
        }
        if !std::thread::panicking()
            && let Some(dir) = self.data_dir.parent()
        {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// The built client, from `TANDEM_E2E_DIST`.
pub(crate) fn dist_dir() -> PathBuf {
    let Some(dist) = std::env::var_os(crate::env::DIST).filter(|v| !v.is_empty()) else {
        panic!(
            "{} is not set: browser tests need the built client. Run them with \
             `cargo xtask test`, which builds dist/ and sets it.",
            crate::env::DIST
        );
    };
    let dist = PathBuf::from(dist);
    if !dist.join("index.html").is_file() {
        panic!(
            "{}={} holds no index.html: build the client with `cargo xtask build`",
            crate::env::DIST,
            dist.display()
        );
    }
    dist
}

/// The status and body of an HTTP/1.1 response read to its end (plain or
/// chunked body).
fn parse_response(response: &[u8]) -> Option<(u16, String)> {
    let split = response.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&response[..split]).ok()?;
    let mut body = &response[split + 4..];
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    let chunked = head.lines().any(|line| {
        line.split_once(':').is_some_and(|(name, value)| {
            name.trim().eq_ignore_ascii_case("transfer-encoding")
                && value.trim().eq_ignore_ascii_case("chunked")
        })
    });
    if !chunked {
        return Some((status, String::from_utf8_lossy(body).into_owned()));
    }
    let mut decoded = Vec::new();
    loop {
        let line_end = body.windows(2).position(|w| w == b"\r\n")?;
        let size = std::str::from_utf8(&body[..line_end]).ok()?;
        let size = usize::from_str_radix(size.split(';').next()?.trim(), 16).ok()?;
        body = &body[line_end + 2..];
        if size == 0 {
            return Some((status, String::from_utf8_lossy(&decoded).into_owned()));
        }
        decoded.extend_from_slice(body.get(..size)?);
        body = body.get(size + 2..)?;
    }
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

#[cfg(test)]
mod tests {
    use super::parse_response;

    #[test]
    fn reads_plain_and_chunked_bodies() {
        let plain = b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello";
        assert_eq!(parse_response(plain), Some((200, "hello".into())));
        let chunked =
            b"HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n";
        assert_eq!(parse_response(chunked), Some((403, "hello".into())));
        assert_eq!(parse_response(b"garbage"), None);
    }
}
