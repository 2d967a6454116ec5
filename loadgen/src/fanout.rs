//! Fan-out: one room of N clients, W of them writing at a fixed total rate;
//! the latency from a writer's send to the receipt at every other client,
//! and a convergence check at the end.
//!
//! Each writer appends a [`Tag`] to its own replica per update and records
//! when it sent it; readers record when each tag arrived. All clients live
//! in this process, so send and receive times come from one monotonic clock.
//! At the end every replica is rebuilt from what its connection received and
//! compared with every other and with a fresh client's copy of the room: a
//! server that lost an update shows up as missing tags or different texts,
//! and such a run is reported as lost, not timed.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::SinkExt;
use futures_util::StreamExt;
use tandem_shared::ClientSession;
use tandem_testkit::socket::message;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use yrs::{Doc, TextRef};

use crate::conn::{self, Progress, ReaderLog, ReaderOptions, Sink, Synced};
use crate::stats::Latencies;
use crate::tag::Tag;
use crate::target::Target;

/// One fan-out run.
#[derive(Debug, Clone)]
pub struct FanoutSpec {
    /// Connections in the room, writers included.
    pub clients: usize,
    /// How many of them write.
    pub writers: usize,
    /// Total updates per second, shared evenly by the writers.
    pub rate: f64,
    /// How long the writers write.
    pub duration: Duration,
    /// How long to wait after the last send for every update to arrive.
    pub settle: Duration,
}

/// What a fan-out run measured.
#[derive(Debug)]
pub struct FanoutResult {
    /// Send→receive latencies at every other client (first receipt of each update).
    pub latency: Latencies,
    /// Updates sent by all writers.
    pub sent: u64,
    /// The rate the writers achieved, updates/s.
    pub achieved_rate: f64,
    /// Receipts expected: every update at every client but its writer.
    pub expected: u64,
    /// Distinct receipts seen.
    pub received: u64,
    /// Whether every replica, and a fresh client's copy, ended equal.
    pub converged: bool,
    /// Connections that ended during the run.
    pub disconnects: usize,
    /// What went wrong, in words.
    pub problems: Vec<String>,
    /// Server CPU use while the writers ran, in cores (if its pid is known).
    pub server_cpu: Option<f64>,
    /// This process's CPU use over the same window, in cores.
    pub loadgen_cpu: Option<f64>,
}

impl FanoutResult {
    /// Receipts that never came.
    pub fn lost(&self) -> u64 {
        self.expected.saturating_sub(self.received)
    }

    /// Whether the run delivered everything and converged: only then are its
    /// latencies meaningful.
    pub fn complete(&self) -> bool {
        self.converged && self.lost() == 0 && self.disconnects == 0
    }
}

/// How long one client may take to connect and sync.
const CONNECT_DEADLINE: Duration = Duration::from_secs(60);
/// Connections opened at once.
const CONNECT_PARALLEL: usize = 64;

/// Opens `clients` synced connections to `room`, client `i` on
/// `targets[i % targets.len()]` (the nodes of a cluster, round-robin).
async fn connect_all(
    targets: &[Target],
    room: &str,
    clients: usize,
) -> anyhow::Result<Vec<Synced>> {
    anyhow::ensure!(!targets.is_empty(), "no server to connect to");
    for target in targets {
        target.prepare_room(room).await?;
    }
    let gate = Arc::new(Semaphore::new(CONNECT_PARALLEL));
    let mut set = JoinSet::new();
    for i in 0..clients {
        let target = targets[i % targets.len()];
        let (gate, room) = (gate.clone(), room.to_string());
        set.spawn(async move {
            let _permit = gate.acquire_owned().await;
            (
                i,
                conn::connect(&target, &room, None, CONNECT_DEADLINE).await,
            )
        });
    }
    let mut synced: Vec<Option<Synced>> = (0..clients).map(|_| None).collect();
    let mut first_error = None;
    let mut failed = 0;
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok((i, Ok(s))) => synced[i] = Some(s),
            Ok((_, Err(err))) => {
                failed += 1;
                first_error.get_or_insert(err);
            }
            Err(err) => {
                failed += 1;
                first_error.get_or_insert(err.into());
            }
        }
    }
    if let Some(err) = first_error {
        return Err(err.context(format!("{failed} of {clients} connections failed")));
    }
    Ok(synced.into_iter().flatten().collect())
}

/// Runs `spec` in `room` (which should be new and empty) with client `i`
/// on `targets[i % targets.len()]`: one server, or the writers (clients
/// `0..W`) and the readers spread over the nodes of a cluster. Server CPU
/// is the sum over `server_pids` (none: not measured). The fresh client
/// of the convergence check connects to every target in turn, so each node
/// must serve the same text.
pub async fn run(
    targets: &[Target],
    room: &str,
    spec: &FanoutSpec,
    server_pids: &[u32],
) -> anyhow::Result<FanoutResult> {
    anyhow::ensure!(
        spec.writers >= 1 && spec.writers <= spec.clients && spec.clients >= 2,
        "a fan-out run needs 1 ≤ writers ≤ clients and at least 2 clients"
    );
    let synced = connect_all(targets, room, spec.clients).await?;

    let progress = Arc::new(Progress::default());
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut readers = Vec::with_capacity(spec.clients);
    let mut writer_parts = Vec::new();
    let mut idle_sinks = Vec::new();
    let mut docs = Vec::with_capacity(spec.clients);
    for (i, s) in synced.into_iter().enumerate() {
        let (sink, stream) = s.socket.split();
        let writer = (i < spec.writers).then_some(i as u32);
        let options = ReaderOptions {
            writer,
            keep_updates: true,
        };
        readers.push(tokio::spawn(conn::read_loop(
            stream,
            stop_rx.clone(),
            options,
            progress.clone(),
            None,
        )));
        match writer {
            Some(w) => writer_parts.push((w, sink, s.session, s.text)),
            None => {
                idle_sinks.push(sink);
                docs.push((s.session.replica().clone(), s.text));
            }
        }
    }

    let per_writer = spec.rate / spec.writers as f64;
    let start = Instant::now() + Duration::from_millis(100);
    let end = start + spec.duration;
    let server_cpu_before = cpu_of(server_pids);
    let self_cpu_before = crate::procfs::self_cpu_secs();
    let mut writers = Vec::new();
    for (w, sink, session, text) in writer_parts {
        writers.push(tokio::spawn(write_at_rate(
            sink, session, text, w, per_writer, start, end,
        )));
    }
    let mut writer_docs = Vec::new();
    let mut sent_times: Vec<Vec<Instant>> = Vec::new();
    let mut problems = Vec::new();
    for handle in writers {
        let out = handle.await.context("a writer task failed")?;
        if let Some(err) = &out.error {
            problems.push(format!("writer {}: {err}", out.writer));
        }
        sent_times.push(out.sent);
        writer_docs.push((out.session.replica().clone(), out.text));
        idle_sinks.push(out.sink);
    }
    let wall = start.elapsed().as_secs_f64().max(1e-9);
    let server_cpu = match (server_cpu_before, cpu_of(server_pids)) {
        (Some(a), Some(b)) => Some((b - a) / wall),
        _ => None,
    };
    let loadgen_cpu = match (self_cpu_before, crate::procfs::self_cpu_secs()) {
        (Some(a), Some(b)) => Some((b - a) / wall),
        _ => None,
    };

    let sent: u64 = sent_times.iter().map(|s| s.len() as u64).sum();
    let expected = sent * (spec.clients as u64 - 1);
    let deadline = Instant::now() + spec.settle;
    while progress.received.load(Ordering::Relaxed) < expected
        && progress.ended.load(Ordering::Relaxed) == 0
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let _ = stop_tx.send(true);
    let mut logs: Vec<ReaderLog> = Vec::with_capacity(readers.len());
    let mut streams = Vec::with_capacity(readers.len());
    for reader in readers {
        let (stream, log) = reader.await.context("a reader task failed")?;
        streams.push(stream);
        logs.push(log);
    }

    // Latency of each update's first arrival at each client.
    let mut latency = Latencies::new();
    let mut received = 0;
    let mut disconnects = 0;
    for log in &mut logs {
        if let Some(why) = &log.ended {
            disconnects += 1;
            if disconnects == 1 {
                problems.push(format!("a connection ended: {why}"));
            }
        }
        log.receipts.sort_unstable_by_key(|(t, at)| (*t, *at));
        let mut last: Option<Tag> = None;
        for (tag, at) in &log.receipts {
            if last == Some(*tag) {
                continue;
            }
            last = Some(*tag);
            let Some(sent_at) = sent_times
                .get(tag.writer as usize)
                .and_then(|s| s.get(tag.seq as usize))
            else {
                continue;
            };
            received += 1;
            latency.record(at.saturating_duration_since(*sent_at));
        }
    }
    if received < expected {
        problems.push(format!(
            "{} of {expected} deliveries never arrived",
            expected - received
        ));
    }

    // Convergence: rebuild every replica from what it received.
    let replicas = writer_docs.into_iter().chain(docs);
    let mut texts = Vec::with_capacity(spec.clients);
    // Writers come first in both lists: clients 0..W write.
    for ((doc, text), log) in replicas.zip(logs.iter()) {
        for update in &log.updates {
            if let Err(err) = conn::apply(&doc, update) {
                problems.push(format!("an update did not apply: {err:#}"));
                break;
            }
        }
        texts.push(conn::content(&doc, &text));
    }
    drop(streams);
    drop(idle_sinks);
    let reference = texts.first().cloned().unwrap_or_default();
    let differing = texts.iter().filter(|t| **t != reference).count();
    let mut converged = differing == 0;
    if differing > 0 {
        let lengths: Vec<usize> = texts.iter().map(|t| t.chars().count()).collect();
        problems.push(format!(
            "{differing} of {} replicas differ from the first (lengths {}–{} characters)",
            texts.len(),
            lengths.iter().min().unwrap_or(&0),
            lengths.iter().max().unwrap_or(&0),
        ));
    }
    for (n, target) in targets.iter().enumerate() {
        let on = if targets.len() > 1 {
            format!(" on node {}", n + 1)
        } else {
            String::new()
        };
        match conn::connect(target, room, None, CONNECT_DEADLINE)
            .await
            .map(|s| s.content())
        {
            Ok(text) if text == reference => {}
            Ok(text) => {
                converged = false;
                problems.push(format!(
                    "a fresh client's copy{on} differs ({} vs {} characters)",
                    text.chars().count(),
                    reference.chars().count()
                ));
            }
            Err(err) => {
                converged = false;
                problems.push(format!("a fresh client{on} could not sync: {err:#}"));
            }
        }
    }
    Ok(FanoutResult {
        latency,
        sent,
        achieved_rate: sent as f64 / spec.duration.as_secs_f64(),
        expected,
        received,
        converged,
        disconnects,
        problems,
        server_cpu,
        loadgen_cpu,
    })
}

/// CPU time used so far by all of `pids`, seconds (`None` if any is unknown
/// or there are none).
fn cpu_of(pids: &[u32]) -> Option<f64> {
    if pids.is_empty() {
        return None;
    }
    pids.iter()
        .map(|&pid| crate::procfs::pid_cpu_secs(pid))
        .sum::<Option<f64>>()
}

/// What a writer hands back.
struct WriterOut {
    writer: u32,
    sink: Sink,
    /// Its session, whose replica holds its own updates.
    session: ClientSession<Doc>,
    text: TextRef,
    /// When each of its updates was sent, by sequence number.
    sent: Vec<Instant>,
    error: Option<String>,
}

/// Most frames written before one flush: keeps a late writer from sending a
/// burst of thousands at once.
const MAX_BATCH: usize = 256;

/// Sends one tagged update at a time, `rate` per second, from `start` to `end`.
async fn write_at_rate(
    mut sink: Sink,
    mut session: ClientSession<Doc>,
    text: TextRef,
    writer: u32,
    rate: f64,
    start: Instant,
    end: Instant,
) -> WriterOut {
    let mut sent: Vec<Instant> = Vec::new();
    let mut error = None;
    tokio::time::sleep_until(start.into()).await;
    'run: loop {
        let now = Instant::now();
        if now >= end {
            break;
        }
        let due = ((now - start).as_secs_f64() * rate).floor() as usize + 1;
        let mut batch = 0;
        while sent.len() < due && batch < MAX_BATCH {
            let tag = Tag {
                writer,
                seq: sent.len() as u32,
            };
            let Some(frame) = conn::append_tag(&mut session, &text, tag) else {
                error = Some("the session is not live after the handshake".into());
                break 'run;
            };
            sent.push(Instant::now());
            if let Err(err) = sink.feed(message(&frame)).await {
                error = Some(err.to_string());
                break 'run;
            }
            batch += 1;
        }
        if let Err(err) = sink.flush().await {
            error = Some(err.to_string());
            break;
        }
        let next = start + Duration::from_secs_f64(sent.len() as f64 / rate);
        if next > Instant::now() {
            tokio::time::sleep_until(next.min(end).into()).await;
        }
    }
    WriterOut {
        writer,
        sink,
        session,
        text,
        sent,
        error,
    }
}
