//! Cluster latency (`tandem-load cluster`): how much the trip through
//! PostgreSQL and Redis adds for a reader on another node.
//!
//! Two real `tandem` processes (release build) on one PostgreSQL and one
//! Redis (`--store postgres --redis-url`). A writer on node A sends one
//! update at a time; a reader on A (relayed at once, before the commit) and
//! a reader on B (after A's commit, through A's publish and B's read of
//! the stream) each record when the update shows in their text. The next
//! update goes once both have it, so the figures are latencies, not queueing.
//! Both readers are in this process: one monotonic clock.
//!
//! [`start_node`] is also how the bench's cluster section
//! ([`crate::cluster_suite`]) starts its nodes: the suite's limits lifted
//! ([`crate::procs::TANDEM_LOAD_FLAGS`]), optionally pinned to a CPU.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use tandem_testkit::Client;

use crate::procs::{TANDEM_LOAD_FLAGS, listening_addr};
use crate::stats::Latencies;
use crate::target::{ServerKind, Target};

/// One cluster latency run.
#[derive(Debug, Clone)]
pub struct ClusterSpec {
    /// The `tandem` binary (release build).
    pub tandem_bin: PathBuf,
    /// Scratch folder for the nodes' data directories.
    pub scratch: PathBuf,
    /// PostgreSQL for both nodes.
    pub database_url: String,
    /// Redis for both nodes.
    pub redis_url: String,
    /// Updates sent, one at a time.
    pub updates: usize,
    /// CPU to pin the nodes to (`taskset -c`), if any.
    pub cpu: Option<usize>,
}

/// What a run measured.
#[derive(Debug)]
pub struct ClusterResult {
    /// Writer on A to a reader on A.
    pub same_node: Latencies,
    /// Writer on A to a reader on B.
    pub cross_node: Latencies,
    /// Whether the writer, both readers and a fresh client on each node
    /// ended with the same text.
    pub converged: bool,
}

/// A node process; killed when dropped.
#[derive(Debug)]
pub struct Node {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl Node {
    /// Its process id (the server itself: `taskset` execs it).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Where to connect.
    pub fn target(&self) -> Target {
        Target {
            kind: ServerKind::Tandem,
            addr: self.addr,
        }
    }

    /// Resident memory, KiB.
    pub fn rss_kib(&self) -> Option<u64> {
        crate::procs::rss_kib(self.pid())
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts one node named `name` (its data directory under the scratch
/// folder) on the spec's PostgreSQL and Redis, with the suite's limits
/// lifted; returns once it listens.
pub fn start_node(spec: &ClusterSpec, name: &str) -> anyhow::Result<Node> {
    let data_dir = spec.scratch.join(name);
    std::fs::create_dir_all(&data_dir)?;
    let mut cmd = match spec.cpu {
        Some(cpu) => {
            let mut cmd = Command::new("taskset");
            cmd.arg("-c").arg(cpu.to_string()).arg(&spec.tandem_bin);
            cmd
        }
        None => Command::new(&spec.tandem_bin),
    };
    let mut child = cmd
        .args(["--listen", "127.0.0.1:0", "--store", "postgres"])
        .arg("--data-dir")
        .arg(&data_dir)
        .args(["--static-dir", "/nonexistent"])
        .args(["--log", "warn,tandem=info,tandem_server=warn"])
        .args(TANDEM_LOAD_FLAGS)
        .env("TANDEM_DATABASE_URL", &spec.database_url)
        .env("TANDEM_REDIS_URL", &spec.redis_url)
        // One secret for every node, as a cluster needs.
        .env("TANDEM_SECRET", "cluster-bench-secret-cluster-bench-secret")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("start {}", spec.tandem_bin.display()))?;
    let stderr = child.stderr.take().context("stderr is piped")?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(addr) = listening_addr(&line) {
                let _ = tx.send(Ok(addr));
            } else if line.starts_with("error:") {
                let _ = tx.send(Err(line));
            }
        }
    });
    let mut node = Node {
        child,
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
    };
    match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(Ok(addr)) => node.addr = addr,
        Ok(Err(line)) => anyhow::bail!("node {name} did not start: {line}"),
        Err(_) => anyhow::bail!("node {name} did not report its address within 30 s"),
    }
    Ok(node)
}

/// Runs `spec`.
pub async fn run(spec: &ClusterSpec) -> anyhow::Result<ClusterResult> {
    let a = start_node(spec, "node-a")?;
    let b = start_node(spec, "node-b")?;
    latency(a.addr, b.addr, spec.updates).await
}

/// Writer on node `a`, readers on `a` and on `b`, `updates` updates one at
/// a time (after 20 warm-up ones). The test client panics on a protocol
/// error or a missed deadline; the run is in a task of its own, so that
/// comes back as an error, not an abort.
pub async fn latency(
    a: SocketAddr,
    b: SocketAddr,
    updates: usize,
) -> anyhow::Result<ClusterResult> {
    tokio::spawn(latency_inner(a, b, updates))
        .await
        .map_err(|e| anyhow::anyhow!("the latency run failed: {e}"))?
}

async fn latency_inner(
    a: SocketAddr,
    b: SocketAddr,
    updates: usize,
) -> anyhow::Result<ClusterResult> {
    let room = format!("cluster-bench-{:08x}", fastrand::u32(..));
    let url = |addr: SocketAddr| {
        tandem_shared::RoomId::new(&room)
            .map(|r| r.ws_url(&format!("ws://{addr}")))
            .map_err(|e| anyhow::anyhow!("room name: {e}"))
    };
    let mut writer = Client::connect(&url(a)?).await;
    let mut on_a = Client::connect(&url(a)?).await;
    let mut on_b = Client::connect(&url(b)?).await;
    let mut result = ClusterResult {
        same_node: Latencies::new(),
        cross_node: Latencies::new(),
        converged: false,
    };
    // Warm-up: the room is loaded and subscribed on both nodes.
    for k in 0..updates + 20 {
        let marker = format!("[{k}]");
        let end = writer.len();
        let sent = Instant::now();
        writer.insert(end, &marker).await;
        let seen = |c: &Client| c.content().contains(marker.as_str());
        let (same, cross) = tokio::join!(
            async {
                on_a.pump_until("the update on node a", seen).await;
                sent.elapsed()
            },
            async {
                on_b.pump_until("the update on node b", seen).await;
                sent.elapsed()
            },
        );
        writer.drain().await;
        if k >= 20 {
            result.same_node.record(same);
            result.cross_node.record(cross);
        }
    }
    writer.wait_saved().await;
    let text = writer.content();
    let fresh_a = Client::connect(&url(a)?).await.content();
    let fresh_b = Client::connect(&url(b)?).await.content();
    result.converged = [on_a.content(), on_b.content(), fresh_a, fresh_b]
        .iter()
        .all(|t| *t == text);
    Ok(result)
}

/// The result as Markdown rows.
pub fn render(result: &ClusterResult, spec: &ClusterSpec) -> String {
    let row = |what: &str, l: &Latencies| match l.summary() {
        Some(s) => format!(
            "| {what} | {} | {:.2} | {:.2} | {:.2} |\n",
            s.count, s.p50_ms, s.p99_ms, s.max_ms
        ),
        None => format!("| {what} | 0 | – | – | – |\n"),
    };
    format!(
        "Writer on node A, one update at a time ({} updates), two nodes on one PostgreSQL and one Redis:\n\n\
         | reader | updates | p50 ms | p99 ms | max ms |\n|---|---|---|---|---|\n{}{}",
        spec.updates,
        row("on node A (same node)", &result.same_node),
        row("on node B (through commit + Redis)", &result.cross_node),
    )
}
