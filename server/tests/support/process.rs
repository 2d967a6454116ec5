//! The real `tandem` binary as a child process, for the tests that signal,
//! kill or starve it: it listens on a free port of 127.0.0.1, and every line
//! it logs is kept so a test can read what the server said about itself.
//! A process still running when its handle is dropped is killed.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tandem_shared::RoomId;
use tandem_testkit::{DEADLINE, try_poll};

/// A running (or exited) `tandem` process.
pub struct TandemProcess {
    /// The process.
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Every line it wrote to stderr so far.
    log: Arc<Mutex<Vec<String>>>,
}

impl TandemProcess {
    /// Starts `tandem` on `data_dir` with `args` after the defaults, and waits
    /// until it says where it listens.
    pub fn start(data_dir: &Path, args: &[&str]) -> Self {
        Self::spawn(Self::command(data_dir, args))
    }

    /// The command [`TandemProcess::start`] runs, for tests that wrap it.
    pub fn command(data_dir: &Path, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_tandem"));
        command
            .args(["--listen", "127.0.0.1:0", "--static-dir", "/nonexistent"])
            .args(["--log", "info"])
            .arg("--data-dir")
            .arg(data_dir)
            .args(args);
        command
    }

    /// Runs `command` (a `tandem` command line, possibly wrapped) and waits
    /// until the server says where it listens.
    pub fn spawn(mut command: Command) -> Self {
        let mut child = command
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the tandem binary");
        let stderr = child.stderr.take().expect("stderr is piped");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let lines = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on http://").nth(1)
                    && let Ok(addr) = rest.trim().parse::<SocketAddr>()
                {
                    let _ = tx.send(addr);
                }
                lines.lock().expect("log lock").push(line);
            }
        });
        let mut process = Self {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            log,
        };
        match rx.recv_timeout(DEADLINE) {
            Ok(addr) => process.addr = addr,
            Err(_) => panic!(
                "tandem did not report its address within {DEADLINE:?}:\n{}",
                process.log_text()
            ),
        }
        process
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `ws://…/ws/{room}`.
    pub fn ws_url(&self, room: &str) -> String {
        RoomId::new(room)
            .expect("a room name")
            .ws_url(&format!("ws://{}", self.addr))
    }

    /// Everything it logged so far, one line each.
    pub fn log_text(&self) -> String {
        self.log.lock().expect("log lock").join("\n")
    }

    /// The first logged line containing `needle`, if any.
    pub fn log_line(&self, needle: &str) -> Option<String> {
        let log = self.log.lock().expect("log lock");
        log.iter().find(|line| line.contains(needle)).cloned()
    }

    /// Sends `signal` (`TERM`, `INT`, `KILL`…) with kill(1): the workspace
    /// forbids the unsafe code a direct `kill(2)` would need.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status()
            .expect("run kill(1)");
        assert!(status.success(), "kill -{signal} {} failed", self.pid());
    }

    /// SIGKILL, then reaps the process: no shutdown path runs.
    pub fn kill(mut self) {
        // std's kill is SIGKILL on Unix.
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reap");
    }

    /// Waits until the process exits, for at most `limit`; fails the test
    /// (killing the process) if it is still running then.
    pub async fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let log = self.log.clone();
        wait_for_exit(&mut self.child, limit, || {
            format!(
                "tandem was still running {limit:?} after being asked to stop:\n{}",
                log.lock().expect("log lock").join("\n")
            )
        })
        .await
    }
}

/// Waits until `child` exits, for at most `limit`; fails the test (killing
/// the process) with `failure()` if it is still running then.
pub async fn wait_for_exit(
    child: &mut Child,
    limit: Duration,
    failure: impl FnOnce() -> String,
) -> ExitStatus {
    let exited = try_poll(limit, async || match child.try_wait() {
        Ok(Some(status)) => Ok(status),
        Ok(None) => Err("still running".to_owned()),
        Err(err) => panic!("cannot poll the child process: {err}"),
    })
    .await;
    match exited {
        Ok(status) => status,
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{}", failure());
        }
    }
}

impl Drop for TandemProcess {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}
