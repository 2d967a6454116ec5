//! Idle connections: synced, silent connections held open, for measuring
//! how many a server holds and its memory per connection (the bench reads
//! the server's side; [`crate::idle_workers`] runs this in child processes).
//!
//! Connections come from several 127.0.0.x source addresses (one address
//! has only ~28k ephemeral ports), sit in rooms of `per_room` (a realistic
//! spread: a room's own cost is shared by its members), and each keeps
//! reading so that heartbeat pings are answered.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use crate::conn::{self, Progress, ReaderOptions, Sink};
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
    /// Longest time to spend opening connections.
    pub budget: Duration,
}

/// Connections opened at once.
const PARALLEL: usize = 128;

/// Idle connections held open by [`open`]; dropping it closes them.
pub struct Held {
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

impl std::fmt::Debug for Held {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Held")
            .field("opened", &self.sinks.len())
            .field("stopped", &self.stopped)
            .field("open_secs", &self.open_secs)
            .finish_non_exhaustive()
    }
}

impl Held {
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

impl Drop for Held {
    fn drop(&mut self) {
        // The readers end with their sockets; the sinks close with `self`.
        let _ = self.stop.send(true);
    }
}

/// Opens up to `spec.connections` idle connections to rooms `{prefix}-N`
/// (stopping at the first failure or when `spec.budget` is used up) and
/// keeps them open, answering pings, until the result is dropped.
pub async fn open(target: Target, prefix: &str, spec: &IdleSpec) -> Held {
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
    Held {
        sinks,
        stop: stop_tx,
        progress,
        stopped,
        open_secs: started.elapsed().as_secs_f64(),
    }
}
