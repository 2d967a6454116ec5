//! Idle connections across several node processes: more than one process
//! may hold, since every process here has a hard open-file limit (20,000).
//!
//! Each server (the bench starts them) gets a worker: the `tandem-load`
//! binary run as `tandem-load idle-worker`, a child process under its own
//! limit that opens its share with [`idle::open`]
//! (rooms of `per_room`, from several source addresses), prints one JSON
//! line ([`Opened`]) on stdout, holds the connections until its stdin
//! closes, then prints a second line ([`Closing`]) and exits. The parent
//! reads the nodes' RSS before the first worker starts and once every
//! worker has reported, so the memory is the nodes' alone.
//!
//! Each worker's connections go to one node (a room's clients on one node,
//! as the load balancer's room-affine hashing puts them); the per-address
//! and room counts still go through Redis on every admission. Every worker
//! is killed when its handle drops, so an error or a panic leaves none
//! behind.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::idle::{self, IdleSpec};
use crate::target::Target;

/// A worker's first line: it has opened what it could.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Opened {
    /// Connections open and synced.
    pub opened: usize,
    /// Seconds it spent opening.
    pub open_secs: f64,
    /// Why it stopped short, if it did.
    pub stopped: Option<String>,
}

/// A worker's last line: how many were still open when it was told to close.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Closing {
    /// Connections still open.
    pub alive: usize,
}

/// What one worker opens.
#[derive(Debug, Clone)]
pub struct WorkerSpec {
    /// The server it connects to.
    pub target: Target,
    /// Room name prefix (rooms `{prefix}-N`).
    pub prefix: String,
    /// The connections and how.
    pub idle: IdleSpec,
}

/// The worker's side (`tandem-load idle-worker`): open, report, hold until
/// stdin closes, report, return.
pub async fn serve(spec: WorkerSpec) -> anyhow::Result<()> {
    let held = idle::open(spec.target, &spec.prefix, &spec.idle).await;
    let line = serde_json::to_string(&Opened {
        opened: held.opened(),
        open_secs: held.open_secs,
        stopped: held.stopped.clone(),
    })?;
    say(&line)?;
    // Reading stdin blocks: on a thread of its own, so the readers keep
    // answering the nodes' pings meanwhile.
    tokio::task::spawn_blocking(|| {
        let mut sink = String::new();
        let stdin = std::io::stdin();
        while stdin.lock().read_line(&mut sink).is_ok_and(|n| n > 0) {
            sink.clear();
        }
    })
    .await
    .context("waiting for stdin to close")?;
    let line = serde_json::to_string(&Closing {
        alive: held.alive(),
    })?;
    drop(held);
    say(&line)
}

fn say(line: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()?;
    Ok(())
}

/// A worker process, seen from the parent; killed when dropped.
#[derive(Debug)]
pub struct Worker {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
}

impl Worker {
    /// Starts `exe idle-worker …` for `spec`.
    pub fn start(exe: &Path, spec: &WorkerSpec) -> anyhow::Result<Self> {
        let mut child = Command::new(exe)
            .arg("idle-worker")
            .arg("--addr")
            .arg(spec.target.addr.to_string())
            .arg("--server-kind")
            .arg(spec.target.kind.id())
            .arg("--prefix")
            .arg(&spec.prefix)
            .arg("--connections")
            .arg(spec.idle.connections.to_string())
            .arg("--per-room")
            .arg(spec.idle.per_room.to_string())
            .arg("--sources")
            .arg(spec.idle.sources.to_string())
            .arg("--budget-secs")
            .arg(spec.idle.budget.as_secs_f64().to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("cannot start {} idle-worker", exe.display()))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().context("stdout is piped")?;
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Self {
            child,
            stdin,
            lines,
        })
    }

    /// Waits until `deadline` for the worker's next JSON line of type `T`.
    fn next<T: for<'de> Deserialize<'de>>(&mut self, deadline: Instant) -> anyhow::Result<T> {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => match serde_json::from_str(&line) {
                    Ok(value) => return Ok(value),
                    // Anything else on stdout is not ours to judge; skip it.
                    Err(_) => continue,
                },
                Err(RecvTimeoutError::Timeout) => anyhow::bail!("no report within the deadline"),
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait().ok();
                    anyhow::bail!(
                        "the worker exited before reporting ({})",
                        status.map_or("status unknown".into(), |s| s.to_string())
                    )
                }
            }
        }
    }

    /// Waits for the worker to have opened its share.
    pub fn opened(&mut self, deadline: Instant) -> anyhow::Result<Opened> {
        self.next(deadline)
    }

    /// Closes its stdin (its signal to close the connections) and waits for
    /// its last report.
    pub fn close(&mut self, deadline: Instant) -> anyhow::Result<Closing> {
        drop(self.stdin.take());
        let closing = self.next(deadline)?;
        let until = Instant::now() + Duration::from_secs(5);
        while Instant::now() < until {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(closing)
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// Splits `total` connections over `parts` as evenly as whole numbers allow.
pub fn shares(total: usize, parts: usize) -> Vec<usize> {
    let parts = parts.max(1);
    (0..parts)
        .map(|i| total / parts + usize::from(i < total % parts))
        .collect()
}

/// Processes needed to hold `total` connections when each may hold
/// `per_process` (at least `min`).
pub fn processes_for(total: usize, per_process: usize, min: usize) -> usize {
    total.div_ceil(per_process.max(1)).max(min)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_add_up_and_differ_by_at_most_one() {
        let s = shares(100_000, 6);
        assert_eq!(s.iter().sum::<usize>(), 100_000);
        assert_eq!(s, vec![16_667, 16_667, 16_667, 16_667, 16_666, 16_666]);
        assert_eq!(shares(5, 0), vec![5]);
    }

    #[test]
    fn enough_processes_for_the_file_limit() {
        // 20,000 descriptors each, a margin of 3,000 for everything else.
        assert_eq!(processes_for(100_000, 17_000, 3), 6);
        assert_eq!(processes_for(6_000, 17_000, 3), 3);
    }

    #[test]
    fn reports_round_trip_as_single_lines() {
        let opened = Opened {
            opened: 16_667,
            open_secs: 12.5,
            stopped: Some("time budget of 300s used up".into()),
        };
        let line = serde_json::to_string(&opened).expect("encodes");
        assert!(!line.contains('\n'));
        assert_eq!(
            serde_json::from_str::<Opened>(&line).expect("decodes"),
            opened
        );
    }
}
