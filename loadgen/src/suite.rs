//! The whole benchmark: every workload, against every server available, in
//! one run of one load generator; the figures go to [`crate::report`].
//!
//! Servers run pinned to CPU 0 and the load generator to CPU 1 (on a
//! machine with at least two), so that neither steals the other's core and
//! a single-threaded server (Node) and a multi-threaded one (Tandem) get the
//! same hardware. Fan-out runs are interleaved across servers (run 1 on each,
//! then run 2…), so a burst of background load hits them all alike.
//!
//! The figures go into a [`Results`] (plain data, [`crate::results`]), with
//! the machine's facts gathered here first ([`crate::machine`]), so the
//! report renders without running anything.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::bigdoc::{self, Prepared};
use crate::durable::{self, DurableSpec};
use crate::fanout::{self, FanoutSpec};
use crate::floor;
use crate::idle::{self, IdleSpec};
use crate::procs::{self, Launcher, ServerProcess};
use crate::results::{BigDoc, DurableRow, FanoutRow, FanoutRun, Floors, Results, Step, Stepping};
use crate::stats::Spread;
use crate::stepping::{PassRule, RateStepper};
use crate::target::ServerKind;
use crate::trace::Trace;

/// What to run.
#[derive(Debug, Clone)]
pub struct BenchConfig {
    /// How to start the servers.
    pub launcher: Launcher,
    /// The editing trace for the large-document test.
    pub trace: PathBuf,
    /// A few minutes instead of ~half an hour.
    pub quick: bool,
    /// Servers to include (those not installed are skipped with a note).
    pub servers: Vec<ServerKind>,
    /// The command line, for the report, with paths relative to the
    /// repository (see [`crate::report::command_line`]).
    pub command: String,
}

/// Sizes and durations of one bench run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Repetitions of each fan-out and durable configuration.
    pub runs: usize,
    /// Fan-out: (clients, writers, total updates/s).
    pub fanout: Vec<(usize, usize, f64)>,
    /// How long each fan-out run writes.
    pub fanout_secs: f64,
    /// Rate stepping: clients and writers in the room.
    pub step_room: (usize, usize),
    /// First rate, highest rate, bisection steps.
    pub step_rates: (u64, u64, u32),
    /// How long each step writes.
    pub step_secs: f64,
    /// Idle connections to try for (capped by the open-file limits).
    pub idle_connections: usize,
    /// How long to hold them.
    pub idle_hold_secs: f64,
    /// Edits of the trace to replay (`None`: all).
    pub trace_limit: Option<usize>,
    /// Longest a replay may take before the server is reported as too slow.
    pub replay_timeout_secs: f64,
    /// Durable writes: (writers, one room?).
    pub durable: Vec<(usize, bool)>,
    /// How long each durable run writes.
    pub durable_secs: f64,
}

impl Plan {
    /// The plan for a full or a quick run.
    pub fn new(quick: bool) -> Self {
        let fanout = vec![
            (10, 1, 50.0),
            (10, 5, 100.0),
            (100, 1, 50.0),
            (100, 5, 100.0),
            (500, 1, 50.0),
            (500, 5, 100.0),
        ];
        if quick {
            Self {
                runs: 1,
                fanout,
                fanout_secs: 2.0,
                step_room: (10, 5),
                step_rates: (1000, 32_000, 0),
                step_secs: 1.5,
                idle_connections: 2000,
                idle_hold_secs: 1.0,
                trace_limit: Some(30_000),
                replay_timeout_secs: 60.0,
                durable: vec![(1, true), (10, true), (10, false)],
                durable_secs: 2.0,
            }
        } else {
            Self {
                runs: 3,
                fanout,
                fanout_secs: 5.0,
                step_room: (10, 5),
                step_rates: (1000, 128_000, 2),
                step_secs: 3.0,
                idle_connections: 100_000,
                idle_hold_secs: 5.0,
                trace_limit: None,
                replay_timeout_secs: 150.0,
                durable: vec![
                    (1, true),
                    (10, true),
                    (100, true),
                    (10, false),
                    (100, false),
                ],
                durable_secs: 5.0,
            }
        }
    }
}

/// Runs the whole suite.
pub async fn run(config: &BenchConfig) -> anyhow::Result<Results> {
    let began = Instant::now();
    let plan = Plan::new(config.quick);
    let mut results = Results {
        quick: config.quick,
        runs: plan.runs,
        command: config.command.clone(),
        machine: crate::machine::facts(&config.launcher),
        step_room: plan.step_room,
        step_secs: plan.step_secs,
        fanout_secs: plan.fanout_secs,
        durable_secs: plan.durable_secs,
        ..Results::default()
    };
    for &kind in &config.servers {
        if config.launcher.available(kind) {
            results.servers.push(kind);
        } else {
            results
                .skipped
                .push((kind, "not installed (run `cargo xtask bench`)".into()));
        }
    }
    anyhow::ensure!(
        results.servers.contains(&ServerKind::Tandem),
        "the Tandem server binary is missing: {}",
        config.launcher.tandem_bin.display()
    );
    let id = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);

    step("trace", "loading and preparing the editing trace");
    let trace = Trace::load(&config.trace)?;
    let prepared = Arc::new(bigdoc::prepare(&trace, plan.trace_limit)?);
    drop(trace);

    step("floor", "bare yrs in this process");
    results.floors = floors(&prepared, config.quick);

    fanout_section(config, &plan, &mut results, id).await?;
    idle_section(config, &plan, &mut results).await;
    bigdoc_section(config, &plan, &mut results, &prepared, id).await;
    durable_section(config, &plan, &mut results, id).await;
    step("storage", "group commit and compaction, in process");
    results.storage =
        crate::storage::run(&config.launcher.scratch, &prepared.updates, config.quick);
    step(
        "history",
        "version history: storage over simulated days, list and open",
    );
    results.history = crate::history::run(
        &config.launcher.scratch,
        &prepared.updates,
        &prepared.text,
        config.quick,
    );
    results.minutes = began.elapsed().as_secs_f64() / 60.0;
    Ok(results)
}

fn step(section: &str, what: &str) {
    eprintln!("==> [{section}] {what}");
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

async fn fanout_section(
    config: &BenchConfig,
    plan: &Plan,
    results: &mut Results,
    id: u64,
) -> anyhow::Result<()> {
    step("fan-out", "starting the servers");
    let mut servers: Vec<ServerProcess> = Vec::new();
    for &kind in &results.servers {
        servers.push(config.launcher.start(kind, "fanout")?);
    }
    for &(clients, writers, rate) in &plan.fanout {
        let mut rows: Vec<FanoutRow> = servers
            .iter()
            .map(|s| FanoutRow {
                server: s.kind,
                clients,
                writers,
                rate,
                runs: Vec::new(),
            })
            .collect();
        for run in 0..plan.runs {
            for (server, row) in servers.iter().zip(rows.iter_mut()) {
                step(
                    "fan-out",
                    &format!(
                        "{}: {clients} clients, {writers} writer(s), {rate} updates/s, run {} of {}",
                        server.kind,
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
                let room = format!("fo{id}-{clients}-{writers}-{run}");
                let figures = FanoutRun::measured(
                    fanout::run(server.target(), &room, &spec, Some(server.pid)).await,
                );
                figures.log();
                row.runs.push(figures);
                // Let the server finish closing the room's connections.
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
        results.fanout.extend(rows);
    }

    let rule = PassRule::default();
    let (start, max, refinements) = plan.step_rates;
    let (clients, writers) = plan.step_room;
    for server in &servers {
        let mut stepper = RateStepper::new(start, 100, max, refinements);
        let mut steps = Vec::new();
        while let Some(rate) = stepper.next_rate() {
            step(
                "rate",
                &format!("{}: {rate} updates/s into a room of {clients}", server.kind),
            );
            let spec = FanoutSpec {
                clients,
                writers,
                rate: rate as f64,
                duration: Duration::from_secs_f64(plan.step_secs),
                settle: Duration::from_secs(5),
            };
            let room = format!("st{id}-{rate}");
            let step = Step::measured(
                rate,
                &rule,
                fanout::run(server.target(), &room, &spec, Some(server.pid)).await,
            );
            step.log();
            stepper.record(rate, step.passed);
            steps.push(step);
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        results.stepping.push(Stepping {
            server: server.kind,
            steps,
            sustained: stepper.sustained(),
            capped: stepper.capped(),
        });
    }
    for server in servers {
        server.stop(Duration::from_secs(5));
    }
    Ok(())
}

async fn idle_section(config: &BenchConfig, plan: &Plan, results: &mut Results) {
    let own_limit = rlimit::increase_nofile_limit(u64::MAX).unwrap_or(1024);
    let per_room = 50;
    results.idle_per_room = per_room;
    for &kind in &results.servers.clone() {
        step("connections", &format!("{kind}: idle connections"));
        let outcome = async {
            let server = config.launcher.start(kind, "idle")?;
            let server_limit = server.max_open_files().unwrap_or(1024);
            // Both ends hold one descriptor per connection; keep a margin
            // for everything else the processes have open.
            let cap = (own_limit.min(server_limit) as usize).saturating_sub(300);
            let connections = plan.idle_connections.min(cap);
            results.idle_cap = format!(
                "asked for {}; open-file limits: load generator {own_limit}, server {server_limit}",
                plan.idle_connections
            );
            let spec = IdleSpec {
                connections,
                per_room,
                sources: 8,
                hold: Duration::from_secs_f64(plan.idle_hold_secs),
                budget: Duration::from_secs(240),
            };
            let result = idle::run(server.target(), server.pid, "idle", &spec).await;
            server.stop(Duration::from_secs(10));
            result
        }
        .await;
        match &outcome {
            Ok(r) => eprintln!(
                "    {} of {} open, {:.0} bytes each{}",
                r.opened,
                r.asked,
                r.bytes_per_conn(),
                r.stopped
                    .as_deref()
                    .map(|s| format!("; stopped: {s}"))
                    .unwrap_or_default()
            ),
            Err(err) => eprintln!("    failed: {err:#}"),
        }
        results
            .idle
            .push((kind, outcome.map_err(|e| format!("{e:#}"))));
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

async fn bigdoc_section(
    config: &BenchConfig,
    plan: &Plan,
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
            plan,
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
    config: &BenchConfig,
    plan: &Plan,
    kind: ServerKind,
    prepared: &Prepared,
    updates: Arc<Vec<Vec<u8>>>,
    figures: &mut BigDoc,
    id: u64,
) -> anyhow::Result<()> {
    let server = config.launcher.start(kind, "bigdoc")?;
    let room = format!("big{id}");
    let rss_before = server.rss_kib();
    let timeout = Duration::from_secs_f64(plan.replay_timeout_secs);
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
            figures.stored_bytes = Some(procs::dir_size(&data_dir));
            let server = config.launcher.start_in(kind, &data_dir)?;
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

async fn durable_section(config: &BenchConfig, plan: &Plan, results: &mut Results, id: u64) {
    step("durable writes", "Tandem, SQLite, synchronous=FULL");
    let server = match config.launcher.start(ServerKind::Tandem, "durable") {
        Ok(server) => server,
        Err(err) => {
            results.durable.push(DurableRow {
                writers: 0,
                one_room: true,
                rates: Vec::new(),
                latency: None,
                problems: vec![format!("{err:#}")],
            });
            return;
        }
    };
    for &(writers, one_room) in &plan.durable {
        let mut row = DurableRow {
            writers,
            one_room,
            rates: Vec::new(),
            latency: None,
            problems: Vec::new(),
        };
        for run in 0..plan.runs {
            step(
                "durable writes",
                &format!(
                    "{writers} writer(s) in {}, run {} of {}",
                    if one_room { "one room" } else { "a room each" },
                    run + 1,
                    plan.runs
                ),
            );
            let spec = DurableSpec {
                writers,
                one_room,
                window: 32,
                duration: Duration::from_secs_f64(plan.durable_secs),
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
