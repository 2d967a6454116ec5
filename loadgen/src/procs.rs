//! The servers under test as child processes: start one on a loopback port
//! (optionally pinned to a CPU with `taskset`), wait until it listens, read
//! its memory and CPU time from `/proc`, stop it. A server is always killed
//! when its handle is dropped, so no run leaves one behind.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::target::{ServerKind, Target};

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
        let data_dir = self.scratch.join(format!("{}-{tag}", short(kind)));
        if data_dir.exists() {
            std::fs::remove_dir_all(&data_dir)
                .with_context(|| format!("cannot clear {}", data_dir.display()))?;
        }
        std::fs::create_dir_all(&data_dir)
            .with_context(|| format!("cannot create {}", data_dir.display()))?;
        self.start_in(kind, &data_dir)
    }

    /// Starts a server of `kind` on an existing data directory (a restart).
    pub fn start_in(&self, kind: ServerKind, data_dir: &Path) -> anyhow::Result<ServerProcess> {
        self.start_in_with(kind, data_dir, &[])
    }

    /// [`Launcher::start_in`], with `extra` flags after Tandem's own (the
    /// other servers take none).
    pub fn start_in_with(
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
                cmd.args(["--listen", "127.0.0.1:0", "--store", "sqlite"])
                    .arg("--data-dir")
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

fn short(kind: ServerKind) -> &'static str {
    match kind {
        ServerKind::Tandem => "tandem",
        ServerKind::Yjs => "yjs",
        ServerKind::Ysweet => "ysweet",
    }
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
        rss_kib(self.pid)
    }

    /// The most resident memory it has had, KiB (`VmHWM`).
    pub fn peak_kib(&self) -> Option<u64> {
        status_kib(self.pid, "VmHWM:")
    }

    /// CPU time used so far (user + system), seconds.
    pub fn cpu_secs(&self) -> Option<f64> {
        cpu_secs(&format!("/proc/{}/stat", self.pid))
    }

    /// The process's open-file limit (soft).
    pub fn max_open_files(&self) -> Option<u64> {
        let limits = std::fs::read_to_string(format!("/proc/{}/limits", self.pid)).ok()?;
        let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
        line.split_whitespace().nth(3)?.parse().ok()
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

    /// Kills the server with SIGKILL, so no shutdown path runs, and reaps it.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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

/// Resident memory of process `pid`, KiB (`VmRSS` in `/proc/<pid>/status`).
pub fn rss_kib(pid: u32) -> Option<u64> {
    status_kib(pid, "VmRSS:")
}

/// A `KiB` figure of `/proc/<pid>/status`, by its label (`VmRSS:`, `VmHWM:`).
fn status_kib(pid: u32, label: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(label))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// CPU time (user + system) of process `pid`, seconds.
pub fn pid_cpu_secs(pid: u32) -> Option<f64> {
    cpu_secs(&format!("/proc/{pid}/stat"))
}

/// CPU time (user + system) of this process, seconds.
pub fn self_cpu_secs() -> Option<f64> {
    cpu_secs("/proc/self/stat")
}

fn cpu_secs(stat_path: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(stat_path).ok()?;
    // Fields after the parenthesised command name, which may hold spaces.
    let (_, after) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 here.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / clock_ticks())
}

/// `sysconf(_SC_CLK_TCK)`, asked of `getconf` once (no unsafe code here).
fn clock_ticks() -> f64 {
    static TICKS: OnceLock<f64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .unwrap_or(100.0)
    })
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

    #[test]
    fn reads_own_process_figures() {
        assert!(rss_kib(std::process::id()).is_some_and(|kib| kib > 0));
        assert!(status_kib(std::process::id(), "VmHWM:").is_some_and(|kib| kib > 0));
        assert!(self_cpu_secs().is_some());
    }
}
