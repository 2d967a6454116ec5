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

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use tandem_testkit::Client;

use crate::procs::listening_addr;
use crate::stats::Latencies;

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
}

/// What a run measured.
#[derive(Debug)]
pub struct ClusterResult {
    /// Writer on A to a reader on A.
    pub same_node: Latencies,
    /// Writer on A to a reader on B.
    pub cross_node: Latencies,
}

/// A node process; killed when dropped.
struct Node {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_node(spec: &ClusterSpec, name: &str) -> anyhow::Result<Node> {
    let data_dir = spec.scratch.join(name);
    std::fs::create_dir_all(&data_dir)?;
    let mut child = Command::new(&spec.tandem_bin)
        .args(["--listen", "127.0.0.1:0", "--store", "postgres"])
        .arg("--data-dir")
        .arg(&data_dir)
        .args(["--static-dir", "/nonexistent"])
        .args(["--log", "warn,tandem=info,tandem_server=warn"])
        .env("TANDEM_DATABASE_URL", &spec.database_url)
        .env("TANDEM_REDIS_URL", &spec.redis_url)
        // One secret for both nodes, as a cluster needs.
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
    let room = format!("cluster-bench-{:08x}", fastrand::u32(..));
    let url = |node: &Node| {
        tandem_shared::RoomId::new(&room)
            .map(|r| r.ws_url(&format!("ws://{}", node.addr)))
            .map_err(|e| anyhow::anyhow!("room name: {e}"))
    };
    let mut writer = Client::connect(&url(&a)?).await;
    let mut on_a = Client::connect(&url(&a)?).await;
    let mut on_b = Client::connect(&url(&b)?).await;
    let mut result = ClusterResult {
        same_node: Latencies::new(),
        cross_node: Latencies::new(),
    };
    // Warm-up: the room is loaded and subscribed on both nodes.
    for k in 0..spec.updates + 20 {
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
    Ok(result)
}

/// Fan-out across nodes: one writer on node A sends `updates` updates at
/// `rate` per second; `readers` clients spread round-robin over `nodes`
/// (all on A when it is one node) record when each shows in their text.
pub async fn fanout(
    nodes: &[SocketAddr],
    readers: usize,
    updates: usize,
    rate: f64,
) -> anyhow::Result<Latencies> {
    use std::sync::{Arc, Mutex};
    let room = format!("cluster-fanout-{:08x}", fastrand::u32(..));
    let url = |addr: &SocketAddr| {
        tandem_shared::RoomId::new(&room)
            .map(|r| r.ws_url(&format!("ws://{addr}")))
            .map_err(|e| anyhow::anyhow!("room name: {e}"))
    };
    let first = nodes.first().context("no nodes")?;
    let mut writer = Client::connect(&url(first)?).await;
    let sent: Arc<Mutex<Vec<Option<Instant>>>> = Arc::new(Mutex::new(vec![None; updates]));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..readers {
        let mut reader = Client::connect(&url(&nodes[i % nodes.len()])?).await;
        let sent = sent.clone();
        tasks.spawn(async move {
            let mut latencies = Latencies::new();
            let mut next = 0;
            let deadline = Instant::now() + Duration::from_secs(120);
            while next < updates && Instant::now() < deadline {
                reader.step(Duration::from_millis(50)).await;
                let text = reader.content();
                while next < updates && text.contains(&format!("[{next}]")) {
                    let at = sent.lock().map(|s| s[next]).unwrap_or(None);
                    if let Some(at) = at {
                        latencies.record(at.elapsed());
                    }
                    next += 1;
                }
            }
            (latencies, next)
        });
    }
    let interval = Duration::from_secs_f64(1.0 / rate.max(1.0));
    let start = Instant::now();
    for k in 0..updates {
        let due = start + interval * k as u32;
        tokio::time::sleep_until(due.into()).await;
        let end = writer.len();
        if let Ok(mut s) = sent.lock() {
            s[k] = Some(Instant::now());
        }
        writer.insert(end, &format!("[{k}]")).await;
        writer.drain().await;
    }
    let mut all = Latencies::new();
    while let Some(joined) = tasks.join_next().await {
        let (latencies, got) = joined.context("a reader task failed")?;
        anyhow::ensure!(
            got == updates,
            "a reader received {got} of {updates} updates"
        );
        all.merge(&latencies);
    }
    writer.wait_saved().await;
    Ok(all)
}

/// Fan-out over three nodes against the same on one node, both on the
/// same PostgreSQL and Redis: Markdown rows.
pub async fn fanout_section(
    spec: &ClusterSpec,
    readers: usize,
    updates: usize,
    rate: f64,
) -> anyhow::Result<String> {
    let nodes = [
        start_node(spec, "fan-a")?,
        start_node(spec, "fan-b")?,
        start_node(spec, "fan-c")?,
    ];
    let addrs: Vec<SocketAddr> = nodes.iter().map(|n| n.addr).collect();
    let one = fanout(&addrs[..1], readers, updates, rate).await?;
    let three = fanout(&addrs, readers, updates, rate).await?;
    let row = |what: &str, l: &Latencies| match l.summary() {
        Some(s) => format!(
            "| {what} | {} | {:.2} | {:.2} | {:.2} |\n",
            s.count, s.p50_ms, s.p99_ms, s.max_ms
        ),
        None => format!("| {what} | 0 | – | – | – |\n"),
    };
    Ok(format!(
        "One writer on node A at {rate} updates/s ({updates} updates), {readers} readers:\n\n\
         | readers on | receipts | p50 ms | p99 ms | max ms |\n|---|---|---|---|---|\n{}{}",
        row("one node (A)", &one),
        row("three nodes (round-robin)", &three),
    ))
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
