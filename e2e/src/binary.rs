//! [`ServerProcess`]: the real `tandem` binary (the release build) in a
//! child process, serving the built client on a free port of 127.0.0.1 and
//! keeping its rooms in a data directory of its own.
//!
//! The in-process [`TestServer`](crate::TestServer) stops gracefully; this
//! one can also be killed with SIGKILL, as a crash, the OOM killer or a
//! power cut would end it, and started again on the same port and data
//! directory (pages reconnect to the same origin, whose storage they keep),
//! with the same or other flags (another `--secret` revokes every key).
//!
//! The binary is `TANDEM_E2E_SERVER` when set (`cargo xtask test` sets it to
//! the build it just made), else `<target>/release/tandem`; build it with
//! `cargo build --release -p tandem-server`.

use std::ffi::OsString;
use std::fs::File;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::SystemTime;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::server::dist_dir;
use crate::{DEADLINE, paths};
use tandem_testkit::try_poll;

/// A `tandem` child process, or the place one ran until it was killed.
/// Dropping it kills the process; its data directory is removed unless the
/// test is failing (then it is kept for a look, and its path printed).
#[derive(Debug)]
pub struct ServerProcess {
    /// The binary.
    binary: PathBuf,
    /// `127.0.0.1:<port>`, the same across restarts.
    addr: SocketAddr,
    /// `http://127.0.0.1:<port>`.
    base: String,
    /// `--data-dir`, the same across restarts.
    data_dir: PathBuf,
    /// Where the process writes its log (every run appends).
    log: PathBuf,
    /// The flags of the current run besides the ones the harness sets.
    args: Vec<OsString>,
    /// For [`ServerProcess::start_alone`]: the directory the binary was
    /// copied into and runs in, with no flag but `--listen` from the harness.
    home: Option<PathBuf>,
    /// The running process, if any.
    child: Option<Running>,
}

/// A running server and its watchdog.
#[derive(Debug)]
struct Running {
    /// The `tandem` process, a child of the test process (which reaps it).
    server: Child,
    /// A shell that kills the server when its standard input closes (see
    /// [`WATCHDOG`]); the test process holds the other end.
    watchdog: Child,
}

impl Running {
    /// SIGKILLs the server and reaps it, after stopping its watchdog (so
    /// the watchdog never signals a pid that was reaped and reused).
    fn kill(mut self) -> std::io::Result<()> {
        let _ = self.watchdog.kill();
        let _ = self.watchdog.wait();
        if self.server.try_wait()?.is_none() {
            // `Child::kill` is SIGKILL on Unix: no shutdown, no flush.
            self.server.kill()?;
        }
        self.server.wait().map(drop)
    }
}

/// Kills the server (pid `$0`) with SIGKILL once its standard input closes.
/// The test process holds the write end, and the kernel closes it however
/// that process ends, so a test run killed midway (Ctrl-C, a timeout) leaves
/// no server behind. Ctrl-C reaches this shell too: it ignores it and lets
/// the pipe decide.
const WATCHDOG: &str = r#"trap '' HUP INT
while read -r _; do :; done
kill -KILL "$0" 2>/dev/null
"#;

impl ServerProcess {
    /// Starts the binary on a free port and a fresh data directory, with
    /// `args` (e.g. `["--secret", "…"]`) after the harness's `--listen`,
    /// `--data-dir` and `--static-dir`; waits until it answers `/healthz`.
    pub async fn start(args: &[&str]) -> Self {
        let binary = server_binary();
        let data_dir = paths::fresh_dir("binary");
        let log = data_dir.with_extension("log");
        let addr = free_addr();
        let mut server = Self {
            binary,
            addr,
            base: format!("http://{addr}"),
            data_dir,
            log,
            args: Vec::new(),
            home: None,
            child: None,
        };
        server.run(args).await;
        server
    }

    /// Copies `binary` alone into a fresh, empty directory and runs it
    /// there as someone who just downloaded it would: from that directory,
    /// with `--listen` and `args` only (no `--static-dir`, no
    /// `--data-dir`: it keeps its documents in `./data`); waits until it
    /// answers `/healthz`. For the one-file build of `cargo xtask dist`.
    pub async fn start_alone(binary: &Path, args: &[&str]) -> Self {
        let home = paths::fresh_dir("alone");
        let copy = home.join("tandem");
        if let Err(err) = std::fs::copy(binary, &copy) {
            panic!(
                "cannot copy {} (build it with `cargo xtask dist`): {err}",
                binary.display()
            );
        }
        let addr = free_addr();
        let mut server = Self {
            binary: copy,
            addr,
            base: format!("http://{addr}"),
            data_dir: home.join("data"),
            log: home.with_extension("log"),
            args: Vec::new(),
            home: Some(home),
            child: None,
        };
        server.run(args).await;
        server
    }

    /// The directory a [`ServerProcess::start_alone`] binary runs in.
    pub fn home(&self) -> Option<&Path> {
        self.home.as_deref()
    }

    /// `http://127.0.0.1:<port>`: what pages load.
    pub fn url(&self) -> &str {
        &self.base
    }

    /// `ws://127.0.0.1:<port>`, the base of the socket URLs.
    pub fn ws_base(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// The data directory (SQLite and the generated secret).
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Kills the process with SIGKILL (no shutdown, no flush: only what it
    /// had committed survives) and reaps it. Does nothing if it is not running.
    pub fn kill(&mut self) {
        let Some(running) = self.child.take() else {
            return;
        };
        let pid = running.server.id();
        if let Err(err) = running.kill() {
            panic!("cannot kill the server (pid {pid}): {err}");
        }
    }

    /// Starts the binary again on the same port and data directory with the
    /// flags of the last run (killing it first if it runs).
    pub async fn restart(&mut self) {
        let args = self.args.clone();
        self.kill();
        self.run_os(args).await;
    }

    /// Starts the binary again on the same port and data directory with
    /// `args` instead of the last run's (killing it first if it runs).
    pub async fn restart_with(&mut self, args: &[&str]) {
        self.kill();
        self.run(args).await;
    }

    /// `GET path` as a plain HTTP client: the status and the body. Fails
    /// the test if the server cannot be reached.
    pub async fn get(&self, path: &str) -> (u16, String) {
        match tokio::time::timeout(DEADLINE, http_get(self.addr, path)).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(err)) => panic!("GET {}{path} failed: {err}\n{}", self.base, self.log_tail()),
            Err(_) => panic!("GET {}{path} got no answer within {DEADLINE:?}", self.base),
        }
    }

    async fn run(&mut self, args: &[&str]) {
        self.run_os(args.iter().map(OsString::from).collect()).await;
    }

    async fn run_os(&mut self, args: Vec<OsString>) {
        let log = File::options()
            .create(true)
            .append(true)
            .open(&self.log)
            .and_then(|f| Ok((f.try_clone()?, f)))
            .unwrap_or_else(|err| panic!("cannot open {}: {err}", self.log.display()));
        let mut command = Command::new(&self.binary);
        command.arg("--listen").arg(self.addr.to_string());
        match &self.home {
            Some(home) => {
                command.current_dir(home);
            }
            None => {
                command
                    .arg("--data-dir")
                    .arg(&self.data_dir)
                    .arg("--static-dir")
                    .arg(dist_dir());
            }
        }
        command
            .args(&args)
            .stdin(Stdio::null())
            .stdout(log.0)
            .stderr(log.1);
        // Only the flags above and `args`: none of the runner's `TANDEM_*` settings.
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("TANDEM_") {
                command.env_remove(name);
            }
        }
        let server = command
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {}: {err}", self.binary.display()));
        let watchdog = Command::new("sh")
            .arg("-c")
            .arg(WATCHDOG)
            .arg(server.id().to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let watchdog = match watchdog {
            Ok(watchdog) => watchdog,
            Err(err) => {
                let mut server = server;
                let _ = server.kill();
                let _ = server.wait();
                panic!("cannot start the server's watchdog shell: {err}");
            }
        };
        self.child = Some(Running { server, watchdog });
        self.args = args;
        self.wait_until_ready().await;
    }

    /// Waits until `/healthz` answers 200; fails at once if the process exits.
    async fn wait_until_ready(&mut self) {
        let addr = self.addr;
        let ready = try_poll(DEADLINE, async || {
            if let Some(running) = self.child.as_mut()
                && let Ok(Some(status)) = running.server.try_wait()
            {
                return Ok(Err(format!("it exited ({status})")));
            }
            match http_get(addr, "/healthz").await {
                Ok((200, _)) => Ok(Ok(())),
                Ok((status, body)) => Err(format!("/healthz answered {status}: {body}")),
                Err(err) => Err(format!("/healthz: {err}")),
            }
        })
        .await;
        match ready {
            Ok(Ok(())) => {}
            Ok(Err(seen)) | Err(seen) => {
                self.kill();
                panic!(
                    "{} did not start on {addr}: {seen}\nits log:\n{}",
                    self.binary.display(),
                    self.log_tail()
                )
            }
        }
    }

    /// The end of the process's log.
    fn log_tail(&self) -> String {
        paths::log_tail(&self.log)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Some(running) = self.child.take() {
            let _ = running.kill();
        }
        if std::thread::panicking() {
            eprintln!(
                "the server's data is kept in {} (log: {})",
                self.data_dir.display(),
                self.log.display()
            );
        } else {
            // Best effort: a folder we cannot remove only costs disk space.
            let _ = std::fs::remove_dir_all(self.home.as_ref().unwrap_or(&self.data_dir));
            let _ = std::fs::remove_file(&self.log);
        }
    }
}

/// The release binary: `TANDEM_E2E_SERVER`, else `<target>/release/tandem`.
/// It must exist; a build older than the server's sources is used, with a
/// warning (a failing test prints it).
fn server_binary() -> PathBuf {
    let binary = std::env::var_os(crate::env::SERVER)
        .filter(|v| !v.is_empty())
        .map_or_else(|| paths::target_dir().join("release/tandem"), PathBuf::from);
    let Ok(built) = std::fs::metadata(&binary).and_then(|m| m.modified()) else {
        panic!(
            "the server binary {} does not exist: build it with \
             `cargo build --release -p tandem-server` (`cargo xtask test` does), or set {} \
             to a `tandem` binary",
            binary.display(),
            crate::env::SERVER
        );
    };
    let e2e = Path::new(env!("CARGO_MANIFEST_DIR"));
    let workspace = e2e.parent().unwrap_or(e2e);
    let newest = ["server/src", "shared/src"]
        .iter()
        .filter_map(|dir| newest_file(&workspace.join(dir)))
        .max();
    if let Some((_, file)) = newest.filter(|(changed, _)| *changed > built) {
        eprintln!(
            "warning: {} is older than {}: rebuild it with `cargo build --release -p tandem-server`",
            binary.display(),
            file.display()
        );
    }
    binary
}

/// The most recently modified file under `dir`, and when.
fn newest_file(dir: &Path) -> Option<(SystemTime, PathBuf)> {
    let mut newest: Option<(SystemTime, PathBuf)> = None;
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        let found = if path.is_dir() {
            newest_file(&path)
        } else {
            entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .map(|t| (t, path))
        };
        if let Some(found) = found
            && newest.as_ref().is_none_or(|(t, _)| found.0 > *t)
        {
            newest = Some(found);
        }
    }
    newest
}

/// An address of 127.0.0.1 nothing listens on right now.
fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .unwrap_or_else(|err| panic!("cannot find a free port: {err}"))
}

/// `GET path` over HTTP/1.0, so the answer is the body up to the end of
/// the stream (never chunked): the status and the body.
async fn http_get(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(addr).await?;
    let request = format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let bad = || {
        std::io::Error::other(format!(
            "not an HTTP response: {:?}",
            String::from_utf8_lossy(&response)
        ))
    };
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(bad)?;
    let status = std::str::from_utf8(&response[..split])
        .ok()
        .and_then(|head| head.split_whitespace().nth(1)?.parse().ok())
        .ok_or_else(bad)?;
    let body = String::from_utf8_lossy(&response[split + 4..]).into_owned();
    Ok((status, body))
}
