//! The servers under test as child processes: start one on a loopback port
//! (optionally pinned to a CPU with `taskset`), Tandem on SQLite or as a
//! cluster node on PostgreSQL and Redis, wait until it listens, read its
//! memory from `/proc`, stop it. A server is always killed when its handle
//! is dropped, so no run leaves one behind.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use tandem_loadgen::procfs;
use tandem_loadgen::target::{ServerKind, Target};

/// How to start each kind of server.
#[derive(Debug, Clone)]
pub struct Launcher {
    /// `target/release/tandem`.
    pub tandem_bin: PathBuf,
    /// Folder with `node_modules/@y/websocket-server`.
    pub yjs_dir: Option<PathBuf>,
    /// The `y-sweet` binary.
    pub ysweet_bin: Option<PathBuf>,
    /// Scratch space for data directories.
    pub scratch: PathBuf,
    /// CPU to pin servers to (`taskset -c`), if any.
    pub cpu: Option<usize>,
    /// Where Tandem keeps its documents and meets its peers when it runs as
    /// a cluster node; `None`: SQLite in its data directory, alone.
    pub cluster: Option<ClusterStore>,
}

/// The PostgreSQL and Redis every node of a cluster shares.
#[derive(Debug, Clone)]
pub struct ClusterStore {
    /// PostgreSQL, for every node's documents.
    pub database_url: String,
    /// Redis, the bus between the nodes.
    pub redis_url: String,
}

/// Flags that lift Tandem's protective limits out of the way of a
/// benchmark: the load is deliberate, and the peers have no such limits.
pub const TANDEM_LOAD_FLAGS: &[&str] = &[
    "--rate-limit",
    "1000000",
    "--rate-burst",
    "1000000",
    "--max-connections",
    "200000",
    "--max-connections-per-ip",
    "200000",
    "--max-room-connections",
    "100000",
    "--max-document-bytes",
    "1099511627776",
    "--queue-messages",
    "1000000",
    "--queue-bytes",
    "1073741824",
    "--room-idle",
    "10m",
];

impl Launcher {
    /// Whether this kind can be started here.
    pub fn available(&self, kind: ServerKind) -> bool {
        match kind {
            ServerKind::Tandem => self.tandem_bin.is_file(),
            ServerKind::Yjs => self
                .yjs_dir
                .as_ref()
                .is_some_and(|d| d.join(YJS_SERVER_JS).is_file()),
            ServerKind::Ysweet => self.ysweet_bin.as_ref().is_some_and(|b| b.is_file()),
        }
    }

    /// Starts a fresh server of `kind` with an empty data directory named `tag`.
    pub fn start(&self, kind: ServerKind, tag: &str) -> anyhow::Result<ServerProcess> {
        let data_dir = self.scratch.join(format!("{}-{tag}", kind.id()));
        if data_dir.exists() {
            std::fs::remove_dir_all(&data_dir)
                .with_context(|| format!("cannot clear {}", data_dir.display()))?;
        }
        std::fs::create_dir_all(&data_dir)
            .with_context(|| format!("cannot create {}", data_dir.display()))?;
        self.start_in(kind, &data_dir, &[])
    }

    /// Starts a server of `kind` on an existing data directory (a restart),
    /// with `extra` flags after Tandem's own (the other servers take none).
    pub fn start_in(
        &self,
        kind: ServerKind,
        data_dir: &Path,
        extra: &[&str],
    ) -> anyhow::Result<ServerProcess> {
        let mut cmd = match self.cpu {
            Some(cpu) => {
                let mut cmd = Command::new("taskset");
                cmd.arg("-c").arg(cpu.to_string());
                cmd
            }
            None => Command::new(program(kind, self)?),
        };
        if self.cpu.is_some() {
            cmd.arg(program(kind, self)?);
        }
        let port = match kind {
            ServerKind::Tandem => 0,
            _ => free_port()?,
        };
        match kind {
            ServerKind::Tandem => {
                let static_dir = self.scratch.join("no-static");
                std::fs::create_dir_all(&static_dir)?;
                cmd.args(["--listen", "127.0.0.1:0", "--store"]);
                match &self.cluster {
                    None => cmd.arg("sqlite"),
                    Some(store) => cmd
                        .arg("postgres")
                        .env("TANDEM_DATABASE_URL", &store.database_url)
                        .env("TANDEM_REDIS_URL", &store.redis_url)
                        // One secret for every node, as a cluster needs.
                        .env("TANDEM_SECRET", "cluster-bench-secret-cluster-bench-secret"),
                };
                cmd.arg("--data-dir")
                    .arg(data_dir)
                    .arg("--static-dir")
                    .arg(static_dir)
                    // Only main's start-up line; per-connection info logs
                    // would cost the server time during the runs.
                    .args(["--log", "warn,tandem=info,tandem_server=warn"])
                    .args(TANDEM_LOAD_FLAGS)
                    .args(extra);
            }
            ServerKind::Yjs => {
                let dir = self.yjs_dir.as_ref().context("no Yjs server folder")?;
                cmd.arg(YJS_SERVER_JS)
                    .current_dir(dir)
                    .env("HOST", "127.0.0.1")
                    .env("PORT", port.to_string());
            }
            ServerKind::Ysweet => {
                cmd.arg("serve").arg(data_dir).args([
                    "--host",
                    "127.0.0.1",
                    "--port",
                    &port.to_string(),
                ]);
            }
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .with_context(|| format!("cannot start {kind}: {cmd:?}"))?;
        let log = Arc::new(Mutex::new(VecDeque::new()));
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        if let Some(out) = child.stdout.take() {
            keep_lines(out, log.clone(), None);
        }
        if let Some(err) = child.stderr.take() {
            keep_lines(err, log.clone(), Some(addr_tx));
        }
        let mut server = ServerProcess {
            kind,
            pid: child.id(),
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            data_dir: data_dir.to_path_buf(),
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = server.child.try_wait() {
                bail!(
                    "{kind} exited during start-up ({status}):\n{}",
                    server.recent_log()
                );
            }
            if kind == ServerKind::Tandem {
                if let Ok(addr) = addr_rx.try_recv() {
                    server.addr = addr;
                    break;
                }
            } else if TcpStream::connect_timeout(&server.addr, Duration::from_millis(200)).is_ok() {
                break;
            }
            if Instant::now() > deadline {
                bail!(
                    "{kind} did not start listening within 60 s:\n{}",
                    server.recent_log()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(server)
    }
}

/// Where the Yjs reference server's entry point is, inside its npm folder.
pub const YJS_SERVER_JS: &str = "node_modules/@y/websocket-server/src/server.js";

fn program(kind: ServerKind, launcher: &Launcher) -> anyhow::Result<PathBuf> {
    Ok(match kind {
        ServerKind::Tandem => launcher.tandem_bin.clone(),
        ServerKind::Yjs => PathBuf::from("node"),
        ServerKind::Ysweet => launcher
            .ysweet_bin
            .clone()
            .context("no y-sweet binary given")?,
    })
}

/// Keeps the last lines of a child's output (and drains it, so the child
/// never blocks on a full pipe); reports Tandem's listening address.
fn keep_lines(
    out: impl std::io::Read + Send + 'static,
    log: Arc<Mutex<VecDeque<String>>>,
    addr: Option<std::sync::mpsc::Sender<SocketAddr>>,
) {
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if let Some(tx) = &addr
                && let Some(found) = listening_addr(&line)
            {
                let _ = tx.send(found);
            }
            // A poisoned lock only means another reader panicked; the log is
            // best-effort diagnostics.
            if let Ok(mut log) = log.lock() {
                if log.len() == 40 {
                    log.pop_front();
                }
                log.push_back(line);
            }
        }
    });
}

/// The address in Tandem's `Tandem is listening on http://ADDR` line,
/// ignoring colour codes around it.
pub fn listening_addr(line: &str) -> Option<SocketAddr> {
    let (_, rest) = line.split_once("Tandem is listening on http://")?;
    let addr: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
        .collect();
    addr.parse().ok()
}

/// A server started by [`Launcher`]; killed when dropped.
#[derive(Debug)]
pub struct ServerProcess {
    /// Which server.
    pub kind: ServerKind,
    /// Its process id (the server itself: `taskset` execs it).
    pub pid: u32,
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its data directory.
    pub data_dir: PathBuf,
    /// Its last lines of output.
    log: Arc<Mutex<VecDeque<String>>>,
}

impl ServerProcess {
    /// Where to connect.
    pub fn target(&self) -> Target {
        Target {
            kind: self.kind,
            addr: self.addr,
        }
    }

    /// Resident memory, KiB.
    pub fn rss_kib(&self) -> Option<u64> {
        procfs::rss_kib(self.pid)
    }

    /// The process's open-file limit (soft).
    pub fn max_open_files(&self) -> Option<u64> {
        procfs::max_open_files(self.pid)
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Its last lines of output.
    pub fn recent_log(&self) -> String {
        self.log
            .lock()
            .map(|l| l.iter().cloned().collect::<Vec<_>>().join("\n"))
            .unwrap_or_default()
    }

    /// Asks the server to stop (SIGTERM, so Tandem flushes), then kills it
    /// after `grace`.
    pub fn stop(mut self, grace: Duration) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if !self.running() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // Drop kills it.
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if self.running() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// A port free on 127.0.0.1 right now.
pub fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("cannot find a free port")?;
    Ok(listener.local_addr()?.port())
}

/// Total size of the files under `path`, bytes.
pub fn dir_size(path: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// Pins this process (every thread) to `cpu`, with `taskset`.
pub fn pin_self(cpu: usize) -> anyhow::Result<()> {
    let status = Command::new("taskset")
        .args([
            "-a",
            "-p",
            "-c",
            &cpu.to_string(),
            &std::process::id().to_string(),
        ])
        .stdout(Stdio::null())
        .status()
        .context("cannot run taskset")?;
    if !status.success() {
        bail!("taskset exited with {status}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_listening_line() {
        let line = "\u{1b}[2m2026-11-24T17:00:00Z\u{1b}[0m \u{1b}[32m INFO\u{1b}[0m \u{1b}[2mtandem\u{1b}[0m: Tandem is listening on http://127.0.0.1:40123\u{1b}[0m";
        assert_eq!(
            listening_addr(line),
            Some(SocketAddr::from(([127, 0, 0, 1], 40123)))
        );
        assert_eq!(listening_addr("something else"), None);
    }
}
