//! Idle connections: how many synced, silent connections one server process
//! holds, and its resident memory per connection.
//!
//! Connections come from several 127.0.0.x source addresses (one address
//! has only ~28k ephemeral ports), sit in rooms of `per_room` (a realistic
//! spread: a room's own cost is shared by its members), and each keeps
//! reading so that heartbeat pings are answered. The server's `VmRSS` is read
//! before the first connection and once all are open; the difference over
//! the count is the memory per idle connection, room share included.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use crate::conn::{self, Progress, ReaderOptions, Sink};
use crate::procs;
use crate::target::Target;

/// One idle-connection run.
#[derive(Debug, Clone)]
pub struct IdleSpec {
    /// Connections to open (the run stops earlier at the first failure).
    pub connections: usize,
    /// Connections per room.
    pub per_room: usize,
    /// Source addresses to spread over: 127.0.0.1 up to 127.0.0.N.
    pub sources: u8,
    /// How long to hold them all open before closing.
    pub hold: Duration,
    /// Longest time to spend opening connections.
    pub budget: Duration,
}

/// What an idle-connection run measured.
#[derive(Debug, Clone)]
pub struct IdleResult {
    /// Connections asked for.
    pub asked: usize,
    /// Connections open and synced at the same time.
    pub opened: usize,
    /// Why opening stopped short of `asked`, if it did.
    pub stopped: Option<String>,
    /// Seconds spent opening.
    pub open_secs: f64,
    /// Server RSS before the first connection, KiB.
    pub rss_before_kib: u64,
    /// Server RSS with all connections open, KiB.
    pub rss_after_kib: u64,
    /// Connections still open at the end of the hold.
    pub alive_after_hold: usize,
    /// This process's RSS growth per connection, bytes (the client side).
    pub client_bytes_per_conn: f64,
}

impl IdleResult {
    /// Server memory per connection, bytes.
    pub fn bytes_per_conn(&self) -> f64 {
        if self.opened == 0 {
            return 0.0;
        }
        (self.rss_after_kib.saturating_sub(self.rss_before_kib) * 1024) as f64 / self.opened as f64
    }
}

/// Connections opened at once.
const PARALLEL: usize = 128;

/// Idle connections held open by [`open`]; dropping it closes them.
pub struct Opened {
    /// The connections' sending halves (their readers run in tasks).
    sinks: Vec<Sink>,
    /// Tells the readers to stop.
    stop: watch::Sender<bool>,
    /// Counts readers whose connection ended.
    progress: Arc<Progress>,
    /// Why opening stopped short, if it did.
    pub stopped: Option<String>,
    /// Seconds spent opening.
    pub open_secs: f64,
}

impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opened")
            .field("opened", &self.sinks.len())
            .field("stopped", &self.stopped)
            .field("open_secs", &self.open_secs)
            .finish_non_exhaustive()
    }
}

impl Opened {
    /// Connections open and synced when opening finished.
    pub fn opened(&self) -> usize {
        self.sinks.len()
    }

    /// Connections still open now.
    pub fn alive(&self) -> usize {
        self.sinks
            .len()
            .saturating_sub(self.progress.ended.load(Ordering::Relaxed) as usize)
    }
}

impl Drop for Opened {
    fn drop(&mut self) {
        // The readers end with their sockets; the sinks close with `self`.
        let _ = self.stop.send(true);
    }
}

/// Opens up to `spec.connections` idle connections to rooms `{prefix}-N`.
pub async fn run(
    target: Target,
    server_pid: u32,
    prefix: &str,
    spec: &IdleSpec,
) -> anyhow::Result<IdleResult> {
    let rss_before_kib = procs::rss_kib(server_pid).unwrap_or(0);
    let self_before = procs::rss_kib(std::process::id()).unwrap_or(0);
    let held = open(target, prefix, spec).await;
    let opened = held.opened();

    // Let the server finish whatever the handshakes started, then measure.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_after_kib = procs::rss_kib(server_pid).unwrap_or(0);
    let self_after = procs::rss_kib(std::process::id()).unwrap_or(0);
    tokio::time::sleep(spec.hold).await;
    let alive_after_hold = held.alive();
    Ok(IdleResult {
        asked: spec.connections,
        opened,
        stopped: held.stopped.clone(),
        open_secs: held.open_secs,
        rss_before_kib,
        rss_after_kib,
        alive_after_hold,
        client_bytes_per_conn: if opened == 0 {
            0.0
        } else {
            (self_after.saturating_sub(self_before) * 1024) as f64 / opened as f64
        },
    })
}

/// Opens up to `spec.connections` idle connections to rooms `{prefix}-N`
/// (stopping at the first failure or when `spec.budget` is used up) and
/// keeps them open, answering pings, until the result is dropped.
pub async fn open(target: Target, prefix: &str, spec: &IdleSpec) -> Opened {
    let progress = Arc::new(Progress::default());
    let (stop_tx, stop_rx) = watch::channel(false);
    let gate = Arc::new(Semaphore::new(PARALLEL));
    let mut set: JoinSet<anyhow::Result<Sink>> = JoinSet::new();
    let mut sinks = Vec::with_capacity(spec.connections);
    let mut stopped = None;
    let started = Instant::now();
    let per_room = spec.per_room.max(1);
    let sources = spec.sources.max(1);

    let collect = |result: Result<anyhow::Result<Sink>, tokio::task::JoinError>,
                   stopped: &mut Option<String>,
                   sinks: &mut Vec<Sink>| match result {
        Ok(Ok(sink)) => sinks.push(sink),
        Ok(Err(err)) => {
            stopped.get_or_insert_with(|| format!("{err:#}"));
        }
        Err(err) => {
            stopped.get_or_insert_with(|| err.to_string());
        }
    };

    for i in 0..spec.connections {
        if stopped.is_some() {
            break;
        }
        if started.elapsed() > spec.budget {
            stopped = Some(format!("time budget of {:?} used up", spec.budget));
            break;
        }
        let room = format!("{prefix}-{}", i / per_room);
        if i % per_room == 0
            && let Err(err) = target.prepare_room(&room).await
        {
            stopped = Some(format!("{err:#}"));
            break;
        }
        let Ok(permit) = gate.clone().acquire_owned().await else {
            break;
        };
        let source = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1 + (i % sources as usize) as u8));
        let (stop, progress) = (stop_rx.clone(), progress.clone());
        set.spawn(async move {
            let synced = conn::connect(&target, &room, Some(source), Duration::from_secs(60)).await;
            drop(permit);
            let (sink, stream) = synced?.socket.split();
            let options = ReaderOptions {
                writer: None,
                keep_updates: false,
            };
            tokio::spawn(conn::read_loop(stream, stop, options, progress, None));
            Ok(sink)
        });
        while let Some(result) = set.try_join_next() {
            collect(result, &mut stopped, &mut sinks);
        }
    }
    while let Some(result) = set.join_next().await {
        collect(result, &mut stopped, &mut sinks);
    }
    Opened {
        sinks,
        stop: stop_tx,
        progress,
        stopped,
        open_secs: started.elapsed().as_secs_f64(),
    }
}
