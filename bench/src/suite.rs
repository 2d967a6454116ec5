//! The benchmark suite, one code path for both topologies: Tandem beside
//! its peers, one server each ([`single_node`]), and a cluster of Tandem
//! nodes on PostgreSQL and Redis ([`cluster`]). What both measure is the
//! same code with other contenders ([`side_by_side`]: the fan-out runs and
//! the rate search; [`idle`]: idle connections held by `tandem-load
//! idle-worker` processes, one per server).
//!
//! Servers run pinned to CPU 0 and the load generator to CPU 1 (on a
//! machine with at least two), so that neither steals the other's core and
//! a single-threaded server (Node) and a multi-threaded one (Tandem) get the
//! same hardware. Fan-out runs are interleaved across contenders (run 1 on
//! each, then run 2…), so a burst of background load hits them all alike.
//! The figures go into [`crate::results`] (plain data), with the machine's
//! facts gathered here first, so the report renders without running anything.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use tandem_loadgen::bigdoc::{self, Prepared};
use tandem_loadgen::durable::{self, DurableSpec};
use tandem_loadgen::fanout::{self, FanoutSpec};
use tandem_loadgen::idle::IdleSpec;
use tandem_loadgen::idle_workers::{self, Worker, WorkerSpec};
use tandem_loadgen::stats::Spread;
use tandem_loadgen::target::{ServerKind, Target};
use tandem_loadgen::trace::Trace;

use crate::procs::{ClusterStore, Launcher, ServerProcess, dir_size};
use crate::results::{
    BigDoc, ClusterResults, CrossNodeLatency, DurableRow, FanoutRow, FanoutRun, Floors, Idle,
    Results, Section, Step, Stepping,
};
use crate::stepping::{PassRule, RateStepper};
use crate::{floor, machine, storage, versions_bench};

/// What every run needs.
#[derive(Debug, Clone)]
pub struct Config {
    /// How to start the servers.
    pub launcher: Launcher,
    /// The `tandem-load` binary, run as the idle workers.
    pub load_bin: PathBuf,
    /// A few minutes instead of ~half an hour.
    pub quick: bool,
    /// The command line, for the report, with paths relative to the
    /// repository (see [`crate::report::command_line`]).
    pub command: String,
}

/// Sizes and durations of what both topologies measure.
#[derive(Debug, Clone)]
struct Plan {
    /// Repetitions of each fan-out configuration.
    runs: usize,
    /// Fan-out: (clients, writers, total updates/s).
    fanout: Vec<(usize, usize, f64)>,
    /// How long each fan-out run writes.
    fanout_secs: f64,
    /// Rate search: clients and writers in the room.
    step_room: (usize, usize),
    /// First rate, highest rate, bisection steps.
    step_rates: (u64, u64, u32),
    /// How long each step writes.
    step_secs: f64,
    /// Idle connections to try for (one server: capped by the open-file limits).
    idle_connections: usize,
    /// How long to hold them.
    idle_hold_secs: f64,
    /// Longest time the workers may spend opening them.
    idle_budget_secs: f64,
}

impl Plan {
    /// The plan for a full or a quick run, on one node or a cluster.
    fn new(quick: bool, cluster: bool) -> Self {
        let fanout = if cluster {
            vec![(100, 1, 50.0), (100, 5, 100.0)]
        } else {
            [10, 100, 500]
                .into_iter()
                .flat_map(|clients| [(clients, 1, 50.0), (clients, 5, 100.0)])
                .collect()
        };
        Self {
            runs: if quick { 1 } else { 3 },
            fanout,
            fanout_secs: if quick { 2.0 } else { 5.0 },
            step_room: (10, 5),
            step_rates: match (quick, cluster) {
                (true, false) => (1000, 32_000, 0),
                (true, true) => (1000, 16_000, 0),
                (false, _) => (1000, 128_000, 2),
            },
            step_secs: if quick { 1.5 } else { 3.0 },
            idle_connections: match (quick, cluster) {
                (true, false) => 2_000,
                (true, true) => 6_000,
                (false, _) => 100_000,
            },
            idle_hold_secs: if quick { 1.0 } else { 5.0 },
            idle_budget_secs: match (quick, cluster) {
                (true, true) => 60.0,
                (false, true) => 300.0,
                (_, false) => 240.0,
            },
        }
    }

    /// An empty section for this plan.
    fn section(&self, config: &Config, facts: Vec<(String, String)>) -> Section {
        Section {
            quick: config.quick,
            runs: self.runs,
            command: config.command.clone(),
            facts,
            fanout_secs: self.fanout_secs,
            step_room: self.step_room,
            step_secs: self.step_secs,
            ..Section::default()
        }
    }
}

/// Nodes a cluster's room spreads over.
const NODES: usize = 3;
/// Connections per room in the idle runs.
const IDLE_PER_ROOM: usize = 50;
/// Source addresses of the idle runs (127.0.0.1 up to 127.0.0.N).
const IDLE_SOURCES: u8 = 8;
/// Descriptors a single server keeps for everything but idle connections.
const SERVER_FILE_MARGIN: u64 = 300;
/// The same for a node (its database pool and Redis too), with room to spare.
const NODE_FILE_MARGIN: u64 = 3_000;

/// What is measured side by side: a server, or a cluster's room on some of
/// its nodes.
struct Contender<'a> {
    /// How the report names it.
    label: String,
    /// The servers its clients spread over, round-robin.
    servers: &'a [ServerProcess],
}

fn step(section: &str, what: &str) {
    eprintln!("==> [{section}] {what}");
}

/// Seconds since the epoch: tells one run's rooms from an earlier run's on
/// the same PostgreSQL.
fn run_id() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Tandem and its peers, one server each: every single-node section.
pub async fn single_node(
    config: &Config,
    trace: &Path,
    kinds: &[ServerKind],
) -> anyhow::Result<Results> {
    let began = Instant::now();
    let plan = Plan::new(config.quick, false);
    let mut results = Results {
        section: plan.section(config, machine::facts(&config.launcher)),
        durable_secs: if config.quick { 2.0 } else { 5.0 },
        ..Results::default()
    };
    for &kind in kinds {
        if config.launcher.available(kind) {
            results.servers.push(kind);
        } else {
            let why = "not installed (run `cargo xtask bench`)".into();
            results.skipped.push((kind, why));
        }
    }
    anyhow::ensure!(
        results.servers.contains(&ServerKind::Tandem),
        "the Tandem server binary is missing: {}",
        config.launcher.tandem_bin.display()
    );
    let id = run_id();

    step("trace", "loading and preparing the editing trace");
    let trace = Trace::load(trace)?;
    let prepared = Arc::new(bigdoc::prepare(&trace, config.quick.then_some(30_000))?);
    drop(trace);
    step("floor", "bare yrs in this process");
    results.floors = floors(&prepared, config.quick);

    step("fan-out", "starting the servers");
    let servers = results
        .servers
        .iter()
        .map(|&kind| config.launcher.start(kind, "fanout"))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let contenders: Vec<Contender> = servers
        .iter()
        .map(|s| Contender {
            label: s.kind.label().into(),
            servers: std::slice::from_ref(s),
        })
        .collect();
    side_by_side(&contenders, &plan, id, &mut results.section).await;
    for server in servers {
        server.stop(Duration::from_secs(5));
    }

    for &kind in &results.servers.clone() {
        step("connections", &format!("{kind}: idle connections"));
        let outcome = match config.launcher.start(kind, "idle") {
            Ok(server) => idle_on(config, &server).await,
            Err(err) => Err(err),
        };
        let outcome = outcome.map(|(figures, cap)| {
            results.idle_cap = cap;
            figures
        });
        log_idle(&outcome);
        let outcome = outcome.map_err(|e| format!("{e:#}"));
        results.section.idle.push((kind.label().into(), outcome));
        tokio::time::sleep(Duration::from_secs(2)).await;
    }

    bigdoc_section(config, config.quick, &mut results, &prepared, id).await;
    durable_section(config, &mut results, id).await;
    step("storage", "group commit and compaction, in process");
    let scratch = &config.launcher.scratch;
    results.storage = storage::run(scratch, &prepared.updates, config.quick);
    step(
        "versions",
        "version history: storage over simulated days, list and open",
    );
    results.versions =
        versions_bench::run(scratch, &prepared.updates, &prepared.text, config.quick);
    results.section.minutes = began.elapsed().as_secs_f64() / 60.0;
    Ok(results)
}

/// A cluster of Tandem nodes on `store`: the same room on one node and
/// spread over [`NODES`], the cross-node latency, idle connections across
/// as many nodes as the open-file limit asks for. Every node is killed when
/// its handle drops, so an error leaves nothing running.
pub async fn cluster(config: &Config, store: ClusterStore) -> ClusterResults {
    let began = Instant::now();
    let plan = Plan::new(config.quick, true);
    let facts = machine::facts(&config.launcher)
        .into_iter()
        .filter(|(k, _)| ["date", "load average at start", "Tandem"].contains(&k.as_str()))
        .collect();
    let mut results = ClusterResults {
        section: plan.section(config, facts),
        nodes: NODES,
        latency: None,
    };
    let launcher = Launcher {
        cluster: Some(store),
        ..config.launcher.clone()
    };
    let id = run_id();
    let start_nodes = |name: &str, count: usize| {
        (0..count)
            .map(|i| launcher.start(ServerKind::Tandem, &format!("{name}-{i}")))
            .collect::<anyhow::Result<Vec<_>>>()
    };

    step("cluster", "starting three nodes on PostgreSQL and Redis");
    let latency = match start_nodes("node", NODES) {
        Ok(nodes) => {
            let contenders = [
                Contender {
                    label: "one node".into(),
                    servers: &nodes[..1],
                },
                Contender {
                    label: format!("{NODES} nodes"),
                    servers: &nodes,
                },
            ];
            side_by_side(&contenders, &plan, id, &mut results.section).await;
            let updates = if config.quick { 200 } else { 1000 };
            step(
                "cluster",
                &format!("cross-node latency: {updates} updates one at a time"),
            );
            tandem_loadgen::cross_node::latency(nodes[0].addr, nodes[1].addr, updates)
                .await
                .map(|r| CrossNodeLatency {
                    updates,
                    same_node: r.same_node.summary(),
                    cross_node: r.cross_node.summary(),
                    converged: r.converged,
                })
        }
        Err(err) => Err(err),
    };
    match &latency {
        Ok(l) => eprintln!(
            "    p99 same node {} ms, cross node {} ms{}",
            l.same_node
                .map_or("–".into(), |s| format!("{:.2}", s.p99_ms)),
            l.cross_node
                .map_or("–".into(), |s| format!("{:.2}", s.p99_ms)),
            if l.converged {
                ""
            } else {
                "; did not converge"
            }
        ),
        Err(err) => eprintln!("    failed: {err:#}"),
    }
    results.latency = Some(latency.map_err(|e| format!("{e:#}")));

    // Every process started here inherits this process's limits; the hard
    // one is what a node or a worker can raise its own to.
    let limit = rlimit::increase_nofile_limit(u64::MAX).unwrap_or(1024);
    let per_process = limit.saturating_sub(NODE_FILE_MARGIN).max(1) as usize;
    let count = idle_workers::processes_for(plan.idle_connections, per_process, NODES);
    step(
        "cluster",
        &format!(
            "idle: {} connections over {count} nodes and {count} worker processes \
             (open-file limit {limit} each)",
            plan.idle_connections
        ),
    );
    let outcome = match start_nodes("idle", count) {
        Ok(nodes) => idle(&nodes, plan.idle_connections, limit, &plan, config, id).await,
        Err(err) => Err(err),
    };
    log_idle(&outcome);
    let label = format!("{count} nodes");
    let outcome = outcome.map_err(|e| format!("{e:#}"));
    results.section.idle.push((label, outcome));
    results.section.minutes = began.elapsed().as_secs_f64() / 60.0;
    results
}

/// The fan-out runs (interleaved: run 1 on every contender, then run 2…)
/// and the rate search of each contender, into `section`.
async fn side_by_side(contenders: &[Contender<'_>], plan: &Plan, id: u64, section: &mut Section) {
    let targets = |c: &Contender| {
        c.servers
            .iter()
            .map(ServerProcess::target)
            .collect::<Vec<Target>>()
    };
    let pids = |c: &Contender| c.servers.iter().map(|s| s.pid).collect::<Vec<u32>>();
    for &(clients, writers, rate) in &plan.fanout {
        let mut rows: Vec<FanoutRow> = contenders
            .iter()
            .map(|c| FanoutRow {
                label: c.label.clone(),
                clients,
                writers,
                rate,
                runs: Vec::new(),
            })
            .collect();
        for run in 0..plan.runs {
            for (i, (c, row)) in contenders.iter().zip(rows.iter_mut()).enumerate() {
                step(
                    "fan-out",
                    &format!(
                        "{}: {clients} clients, {writers} writer(s), {rate} updates/s, run {} of {}",
                        c.label,
                        run + 1,
                        plan.runs
                    ),
                );
                let spec = FanoutSpec {
                    clients,
                    writers,
                    rate,
                    duration: Duration::from_secs_f64(plan.fanout_secs),
                    settle: Duration::from_secs(10),
                };
                let room = format!("fo{id}-{clients}-{writers}-{i}-{run}");
                let figures =
                    FanoutRun::measured(fanout::run(&targets(c), &room, &spec, &pids(c)).await);
                figures.log();
                row.runs.push(figures);
                // Let the servers finish closing the room's connections.
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
        section.fanout.extend(rows);
    }

    let rule = PassRule::default();
    let (start, max, refinements) = plan.step_rates;
    let (clients, writers) = plan.step_room;
    for (i, c) in contenders.iter().enumerate() {
        let mut stepper = RateStepper::new(start, 100, max, refinements);
        let mut steps = Vec::new();
        while let Some(rate) = stepper.next_rate() {
            step(
                "rate",
                &format!("{}: {rate} updates/s into a room of {clients}", c.label),
            );
            let spec = FanoutSpec {
                clients,
                writers,
                rate: rate as f64,
                duration: Duration::from_secs_f64(plan.step_secs),
                settle: Duration::from_secs(5),
            };
            let room = format!("st{id}-{i}-{rate}");
            let outcome = fanout::run(&targets(c), &room, &spec, &pids(c)).await;
            let step = Step::measured(rate, &rule, outcome);
            step.log();
            stepper.record(rate, step.passed);
            steps.push(step);
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        section.stepping.push(Stepping {
            label: c.label.clone(),
            steps,
            sustained: stepper.sustained(),
            capped: stepper.capped(),
        });
    }
}

/// Idle connections on one `server`, as many as the plan asks for and
/// both ends' open-file limits allow; with the figures, where the count
/// stops, in words.
pub async fn idle_on(config: &Config, server: &ServerProcess) -> anyhow::Result<(Idle, String)> {
    let plan = Plan::new(config.quick, false);
    let own_limit = rlimit::increase_nofile_limit(u64::MAX).unwrap_or(1024);
    let server_limit = server.max_open_files().unwrap_or(1024);
    let cap = format!(
        "asked for {}; open-file limits: load generator {own_limit}, server {server_limit}",
        plan.idle_connections
    );
    // Both ends hold one descriptor per connection.
    let limit = own_limit.min(server_limit);
    let room = limit.saturating_sub(SERVER_FILE_MARGIN) as usize;
    let connections = plan.idle_connections.min(room);
    let figures = idle(
        std::slice::from_ref(server),
        connections,
        limit,
        &plan,
        config,
        run_id(),
    )
    .await?;
    Ok((figures, cap))
}

/// Holds `connections` idle connections on `servers`, an even share each,
/// opened by one `tandem-load idle-worker` process per server (each under
/// its own open-file limit); memory per connection is the servers' RSS
/// growth, summed, over the connections held. Every worker is killed when
/// its handle drops.
async fn idle(
    servers: &[ServerProcess],
    connections: usize,
    file_limit: u64,
    plan: &Plan,
    config: &Config,
    id: u64,
) -> anyhow::Result<Idle> {
    // Let the servers settle (a node's pool, bus, liveness) before the baseline.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_before_kib = servers.iter().filter_map(ServerProcess::rss_kib).sum();
    let budget = Duration::from_secs_f64(plan.idle_budget_secs);
    let started = Instant::now();
    let shares = idle_workers::shares(connections, servers.len());
    let mut workers = Vec::with_capacity(servers.len());
    for (i, (server, &share)) in servers.iter().zip(&shares).enumerate() {
        let spec = WorkerSpec {
            target: server.target(),
            prefix: format!("idle{id}-{i}"),
            idle: IdleSpec {
                connections: share,
                per_room: IDLE_PER_ROOM,
                sources: IDLE_SOURCES,
                budget,
            },
        };
        workers.push(Worker::start(&config.load_bin, &spec)?);
    }
    // The budget bounds the opening; a connection under way may take its
    // own deadline (60 s) on top.
    let deadline = started + budget + Duration::from_secs(90);
    let (mut held, mut stopped) = (0, Vec::new());
    for (i, worker) in workers.iter_mut().enumerate() {
        let opened = tokio::task::block_in_place(|| worker.opened(deadline))
            .with_context(|| format!("worker {}", i + 1))?;
        held += opened.opened;
        if let Some(why) = opened.stopped {
            stopped.push(if servers.len() > 1 {
                format!("node {}: {why}", i + 1)
            } else {
                why
            });
        }
    }
    let open_secs = started.elapsed().as_secs_f64();
    // Let the servers finish whatever the handshakes started, then measure.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_after_kib = servers.iter().filter_map(ServerProcess::rss_kib).sum();
    tokio::time::sleep(Duration::from_secs_f64(plan.idle_hold_secs)).await;
    let mut alive_after_hold = 0;
    let close_by = Instant::now() + Duration::from_secs(30);
    for (i, worker) in workers.iter_mut().enumerate() {
        let closing = tokio::task::block_in_place(|| worker.close(close_by))
            .with_context(|| format!("worker {} at the end of the hold", i + 1))?;
        alive_after_hold += closing.alive;
    }
    Ok(Idle {
        asked: connections,
        held,
        servers: servers.len(),
        file_limit,
        per_room: IDLE_PER_ROOM,
        sources: IDLE_SOURCES,
        rss_before_kib,
        rss_after_kib,
        open_secs,
        alive_after_hold,
        hold_secs: plan.idle_hold_secs,
        stopped,
    })
}

fn log_idle(outcome: &anyhow::Result<Idle>) {
    match outcome {
        Ok(r) => eprintln!(
            "    {} of {} held by {} server(s), {:.2} KiB each, opened in {:.0} s{}",
            r.held,
            r.asked,
            r.servers,
            r.bytes_per_conn() / 1024.0,
            r.open_secs,
            if r.stopped.is_empty() {
                String::new()
            } else {
                format!("; stopped: {}", r.stopped.join("; "))
            }
        ),
        Err(err) => eprintln!("    failed: {err:#}"),
    }
}

fn floors(prepared: &Prepared, quick: bool) -> Floors {
    let runs = if quick { 1 } else { 3 };
    Floors {
        apply_rate: floor::apply_rate(&prepared.updates, runs),
        append_rate: floor::append_rate(200_000, runs),
        load_ms: floor::load_ms(&prepared.state, 5),
        make_secs: prepared.make_secs,
        edits: prepared.updates.len(),
        state_bytes: prepared.state.len(),
        text_chars: prepared.text.chars().count(),
    }
}

async fn bigdoc_section(
    config: &Config,
    quick: bool,
    results: &mut Results,
    prepared: &Arc<Prepared>,
    id: u64,
) {
    let updates = Arc::new(prepared.updates.clone());
    for &kind in &results.servers.clone() {
        step(
            "large document",
            &format!("{kind}: replaying {} edits", updates.len()),
        );
        let mut figures = BigDoc::default();
        if let Err(err) = bigdoc_one(
            config,
            quick,
            kind,
            prepared,
            updates.clone(),
            &mut figures,
            id,
        )
        .await
        {
            figures.problems.push(format!("{err:#}"));
        }
        for problem in &figures.problems {
            eprintln!("    problem: {problem}");
        }
        results.bigdoc.push((kind, figures));
    }
}

async fn bigdoc_one(
    config: &Config,
    quick: bool,
    kind: ServerKind,
    prepared: &Prepared,
    updates: Arc<Vec<Vec<u8>>>,
    figures: &mut BigDoc,
    id: u64,
) -> anyhow::Result<()> {
    let server = config.launcher.start(kind, "bigdoc")?;
    let room = format!("big{id}");
    let rss_before = server.rss_kib();
    let timeout = Duration::from_secs(if quick { 60 } else { 150 });
    figures.replay = bigdoc::replay(server.target(), &room, updates, None, timeout).await?;
    if let Some(problem) = &figures.replay.problem {
        figures.problems.push(problem.clone());
        // Did the server lose the updates, or only fail to pass them on?
        let closed = figures.replay.observer_ended.is_some();
        match bigdoc::fresh_load(server.target(), &room).await {
            Ok((_, text)) if text == prepared.text && closed => figures.problems.push(
                "a fresh client gets the whole text: the server applied every update and \
                 disconnected the observer that fell behind (it would resync on reconnect)"
                    .into(),
            ),
            Ok((_, text)) if text == prepared.text => figures.problems.push(
                "yet a fresh client gets the whole text: the server applied every update but \
                 silently dropped relayed ones to a client that fell behind, keeping it connected"
                    .into(),
            ),
            Ok((_, text)) => figures.problems.push(format!(
                "a fresh client gets {} of {} characters",
                text.chars().count(),
                prepared.text.chars().count()
            )),
            Err(err) => figures.problems.push(format!("{err:#}")),
        }
        server.stop(Duration::from_secs(5));
        return Ok(());
    }
    eprintln!(
        "    relayed in {:.1} s{}",
        figures.replay.relay_secs.unwrap_or(f64::NAN),
        figures
            .replay
            .durable_secs
            .map(|d| format!(", durable in {d:.1} s"))
            .unwrap_or_default()
    );
    let mut warm = Vec::new();
    let mut text_ok = true;
    for _ in 0..3 {
        let (secs, text) = bigdoc::fresh_load(server.target(), &room).await?;
        warm.push(secs * 1000.0);
        text_ok &= text == prepared.text;
    }
    figures.warm_ms = Spread::of(&warm);
    figures.text_ok = Some(text_ok);
    if !text_ok {
        figures
            .problems
            .push("a fresh client's text differs from the trace's".into());
    }
    let rss_after = server.rss_kib();
    match kind {
        ServerKind::Yjs => {
            figures.room_kib = rss_after.zip(rss_before).map(|(a, b)| a.saturating_sub(b));
            figures.room_kib_how = "RSS growth over the replay (memory only: no persistence)";
        }
        ServerKind::Tandem | ServerKind::Ysweet => {
            // Give y-sweet's periodic checkpoint (10 s) time to write.
            if kind == ServerKind::Ysweet {
                tokio::time::sleep(Duration::from_secs(12)).await;
            }
            let data_dir = server.data_dir.clone();
            server.stop(Duration::from_secs(15));
            figures.stored_bytes = Some(dir_size(&data_dir));
            let server = config.launcher.start_in(kind, &data_dir, &[])?;
            tokio::time::sleep(Duration::from_millis(500)).await;
            let idle = server.rss_kib();
            let (secs, text) = bigdoc::fresh_load(server.target(), &room)
                .await
                .context("after a restart")?;
            figures.cold_ms = Some(secs * 1000.0);
            figures.cold_text_ok = Some(text == prepared.text);
            if text != prepared.text {
                figures.problems.push(format!(
                    "after a restart the document has {} of {} characters",
                    text.chars().count(),
                    prepared.text.chars().count()
                ));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
            figures.room_kib = server.rss_kib().zip(idle).map(|(a, b)| a.saturating_sub(b));
            figures.room_kib_how =
                "RSS after a restart and one fresh client, minus RSS after the restart";
            server.stop(Duration::from_secs(5));
            return Ok(());
        }
    }
    server.stop(Duration::from_secs(5));
    Ok(())
}

async fn durable_section(config: &Config, results: &mut Results, id: u64) {
    step("durable writes", "Tandem, SQLite, synchronous=FULL");
    let server = match config.launcher.start(ServerKind::Tandem, "durable") {
        Ok(server) => server,
        Err(err) => {
            let problems = vec![format!("{err:#}")];
            results.durable.push(DurableRow {
                problems,
                ..DurableRow::default()
            });
            return;
        }
    };
    let durable: &[(usize, bool)] = if config.quick {
        &[(1, true), (10, true), (10, false)]
    } else {
        &[
            (1, true),
            (10, true),
            (100, true),
            (10, false),
            (100, false),
        ]
    };
    let runs = if config.quick { 1 } else { 3 };
    for &(writers, one_room) in durable {
        let mut row = DurableRow {
            writers,
            one_room,
            ..DurableRow::default()
        };
        for run in 0..runs {
            step(
                "durable writes",
                &format!(
                    "{writers} writer(s) in {}, run {} of {}",
                    if one_room { "one room" } else { "a room each" },
                    run + 1,
                    runs
                ),
            );
            let spec = DurableSpec {
                writers,
                one_room,
                window: 32,
                duration: Duration::from_secs_f64(results.durable_secs),
            };
            let prefix = format!("du{id}-{writers}-{one_room}-{run}");
            match durable::run(server.target(), &prefix, &spec).await {
                Ok(result) => {
                    eprintln!("    {:.0} acknowledged updates/s", result.rate);
                    row.rates.push(result.rate);
                    row.latency = result.latency.summary();
                    row.problems.extend(result.problems);
                }
                Err(err) => row.problems.push(format!("{err:#}")),
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        results.durable.push(row);
    }
    server.stop(Duration::from_secs(10));
}
