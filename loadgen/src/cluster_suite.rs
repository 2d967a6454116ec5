//! The cluster section of the benchmark (`tandem-load bench`, alone with
//! `--only cluster`): real `tandem` release processes with `--store
//! postgres --redis-url`, on the PostgreSQL and Redis `cargo xtask bench`
//! provides.
//!
//! - Fan-out: the single-node section's machinery ([`fanout::run_spread`])
//!   with 100 clients on one node and the same 100 spread round-robin over
//!   three, in the same three-node cluster (same store, same bus: only the
//!   spread differs). Runs alternate between the two.
//! - Cross-node latency: [`cluster::latency`], a writer on one node and
//!   readers on it and on another.
//! - Sustained rate of one room: the single-node search ([`RateStepper`],
//!   [`PassRule`]) with the room on one node and spread over three
//!   (writers and readers on every node).
//! - Idle connections across node processes: [`idle_workers`], as many
//!   nodes and worker processes as the open-file limit asks for.
//!
//! Every node and worker is killed when its handle drops, so an error
//! leaves nothing running. Runs that lose anything are reported as lost.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::cluster::{self, ClusterSpec, Node};
use crate::fanout::{self, FanoutSpec};
use crate::idle::IdleSpec;
use crate::idle_workers::{self, Worker, WorkerSpec};
use crate::results::{
    ClusterIdle, ClusterLatency, ClusterResults, FanoutRow, FanoutRun, Step, Stepping,
};
use crate::stepping::{PassRule, RateStepper};
use crate::target::{ServerKind, Target};

/// What the cluster section needs.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// The `tandem` binary (release build).
    pub tandem_bin: PathBuf,
    /// Scratch folder for the nodes' data directories.
    pub scratch: PathBuf,
    /// PostgreSQL for every node.
    pub database_url: String,
    /// Redis for every node.
    pub redis_url: String,
    /// CPU to pin the nodes to, if any (the suite's servers' CPU).
    pub cpu: Option<usize>,
    /// A few minutes instead of the full run.
    pub quick: bool,
    /// The command line, for the report.
    pub command: String,
    /// Date, load and build, for the report.
    pub facts: Vec<(String, String)>,
}

/// Sizes and durations of one cluster section.
#[derive(Debug, Clone)]
pub struct ClusterPlan {
    /// Nodes the fan-out and rate runs spread over.
    pub nodes: usize,
    /// Repetitions of each fan-out configuration.
    pub runs: usize,
    /// Fan-out: (clients, writers, total updates/s).
    pub fanout: Vec<(usize, usize, f64)>,
    /// How long each fan-out run writes.
    pub fanout_secs: f64,
    /// Cross-node latency: updates timed.
    pub latency_updates: usize,
    /// Rate search: clients and writers in the room.
    pub step_room: (usize, usize),
    /// First rate, highest rate, bisection steps.
    pub step_rates: (u64, u64, u32),
    /// How long each step writes.
    pub step_secs: f64,
    /// Idle connections to hold across the nodes.
    pub idle_connections: usize,
    /// Fewest node processes for the idle test.
    pub idle_min_nodes: usize,
    /// How long to hold them.
    pub idle_hold_secs: f64,
    /// Longest time the workers may spend opening.
    pub idle_budget_secs: f64,
}

impl ClusterPlan {
    /// The plan for a full or a quick run.
    pub fn new(quick: bool) -> Self {
        let fanout = vec![(100, 1, 50.0), (100, 5, 100.0)];
        if quick {
            Self {
                nodes: 3,
                runs: 1,
                fanout,
                fanout_secs: 2.0,
                latency_updates: 200,
                step_room: (10, 5),
                step_rates: (1000, 16_000, 0),
                step_secs: 1.5,
                idle_connections: 6_000,
                idle_min_nodes: 3,
                idle_hold_secs: 1.0,
                idle_budget_secs: 60.0,
            }
        } else {
            Self {
                nodes: 3,
                runs: 3,
                fanout,
                fanout_secs: 5.0,
                latency_updates: 1000,
                step_room: (10, 5),
                step_rates: (1000, 128_000, 2),
                step_secs: 3.0,
                idle_connections: 100_000,
                idle_min_nodes: 3,
                idle_hold_secs: 5.0,
                idle_budget_secs: 300.0,
            }
        }
    }
}

/// Descriptors a node or a worker keeps for everything but connections
/// (database pool, Redis, listener, logs), with room to spare.
const FILE_MARGIN: u64 = 3_000;

/// Runs the cluster section.
pub async fn run(config: &ClusterConfig) -> ClusterResults {
    let began = Instant::now();
    let plan = ClusterPlan::new(config.quick);
    let mut results = ClusterResults {
        quick: config.quick,
        runs: plan.runs,
        command: config.command.clone(),
        facts: config.facts.clone(),
        nodes: plan.nodes,
        fanout_secs: plan.fanout_secs,
        step_room: plan.step_room,
        step_secs: plan.step_secs,
        ..ClusterResults::default()
    };
    let id = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let spec = ClusterSpec {
        tandem_bin: config.tandem_bin.clone(),
        scratch: config.scratch.join("cluster"),
        database_url: config.database_url.clone(),
        redis_url: config.redis_url.clone(),
        updates: plan.latency_updates,
        cpu: config.cpu,
    };

    step("starting three nodes on PostgreSQL and Redis");
    match start_nodes(&spec, "node", plan.nodes) {
        Ok(nodes) => {
            fanout_runs(&nodes, &plan, &mut results, id).await;
            step(&format!(
                "cross-node latency: {} updates one at a time",
                plan.latency_updates
            ));
            let latency = cluster::latency(nodes[0].addr, nodes[1].addr, plan.latency_updates)
                .await
                .map(|r| ClusterLatency {
                    updates: plan.latency_updates,
                    same_node: r.same_node.summary(),
                    cross_node: r.cross_node.summary(),
                    converged: r.converged,
                });
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
            rate_search(&nodes, &plan, &mut results, id).await;
        }
        Err(err) => {
            eprintln!("    failed: {err:#}");
            let why = format!("{err:#}");
            results.latency = Some(Err(why));
        }
    }

    let idle = idle_run(&spec, &plan, id).await;
    match &idle {
        Ok(r) => eprintln!(
            "    {} of {} held over {} nodes, {:.2} KiB each, opened in {:.0} s{}",
            r.held,
            r.asked,
            r.nodes,
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
    results.idle = Some(idle.map_err(|e| format!("{e:#}")));
    results.minutes = began.elapsed().as_secs_f64() / 60.0;
    results
}

fn step(what: &str) {
    eprintln!("==> [cluster] {what}");
}

fn start_nodes(spec: &ClusterSpec, name: &str, count: usize) -> anyhow::Result<Vec<Node>> {
    (0..count)
        .map(|i| start_node(spec, &format!("{name}-{i}")))
        .collect()
}

fn start_node(spec: &ClusterSpec, name: &str) -> anyhow::Result<Node> {
    let dir = spec.scratch.join(name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("cannot clear {}", dir.display()))?;
    }
    cluster::start_node(spec, name)
}

fn targets(nodes: &[Node]) -> Vec<Target> {
    nodes.iter().map(Node::target).collect()
}

fn pids(nodes: &[Node]) -> Vec<u32> {
    nodes.iter().map(Node::pid).collect()
}

async fn fanout_runs(nodes: &[Node], plan: &ClusterPlan, results: &mut ClusterResults, id: u64) {
    let all = targets(nodes);
    let all_pids = pids(nodes);
    for &(clients, writers, rate) in &plan.fanout {
        let row = || FanoutRow {
            server: ServerKind::Tandem,
            clients,
            writers,
            rate,
            runs: Vec::new(),
        };
        let (mut one, mut spread) = (row(), row());
        for run in 0..plan.runs {
            for (on, row) in [(1, &mut one), (nodes.len(), &mut spread)] {
                step(&format!(
                    "fan-out: {clients} clients on {on} node(s), {writers} writer(s), \
                     {rate} updates/s, run {} of {}",
                    run + 1,
                    plan.runs
                ));
                let spec = FanoutSpec {
                    clients,
                    writers,
                    rate,
                    duration: Duration::from_secs_f64(plan.fanout_secs),
                    settle: Duration::from_secs(10),
                };
                let room = format!("cfo{id}-{clients}-{writers}-{on}-{run}");
                let figures = FanoutRun::measured(
                    fanout::run_spread(&all[..on], &room, &spec, &all_pids[..on]).await,
                );
                figures.log();
                row.runs.push(figures);
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
        results.fanout.push((one, spread));
    }
}

async fn rate_search(nodes: &[Node], plan: &ClusterPlan, results: &mut ClusterResults, id: u64) {
    let all = targets(nodes);
    let all_pids = pids(nodes);
    let rule = PassRule::default();
    let (start, max, refinements) = plan.step_rates;
    let (clients, writers) = plan.step_room;
    for on in [1, nodes.len()] {
        let label = if on == 1 {
            "one node".to_string()
        } else {
            format!("{on} nodes")
        };
        let mut stepper = RateStepper::new(start, 100, max, refinements);
        let mut steps = Vec::new();
        while let Some(rate) = stepper.next_rate() {
            step(&format!(
                "rate: {rate} updates/s into a room of {clients} on {label}"
            ));
            let spec = FanoutSpec {
                clients,
                writers,
                rate: rate as f64,
                duration: Duration::from_secs_f64(plan.step_secs),
                settle: Duration::from_secs(5),
            };
            let room = format!("cst{id}-{on}-{rate}");
            let step = Step::measured(
                rate,
                &rule,
                fanout::run_spread(&all[..on], &room, &spec, &all_pids[..on]).await,
            );
            step.log();
            stepper.record(rate, step.passed);
            steps.push(step);
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        results.stepping.push((
            label,
            Stepping {
                server: ServerKind::Tandem,
                steps,
                sustained: stepper.sustained(),
                capped: stepper.capped(),
            },
        ));
    }
}

/// Holds `plan.idle_connections` idle connections across as many nodes (and
/// as many worker processes, one per node) as the open-file limit needs.
async fn idle_run(spec: &ClusterSpec, plan: &ClusterPlan, id: u64) -> anyhow::Result<ClusterIdle> {
    // Every process started here inherits this process's limits; the hard
    // one is what a node or a worker can raise its own to.
    let file_limit = rlimit::getrlimit(rlimit::Resource::NOFILE)
        .map(|(_, hard)| hard)
        .unwrap_or(1024);
    let per_process = file_limit.saturating_sub(FILE_MARGIN).max(1) as usize;
    let count =
        idle_workers::processes_for(plan.idle_connections, per_process, plan.idle_min_nodes);
    let shares = idle_workers::shares(plan.idle_connections, count);
    step(&format!(
        "idle: {} connections over {count} nodes and {count} worker processes \
         (open-file limit {file_limit} each)",
        plan.idle_connections
    ));
    let exe = std::env::current_exe().context("cannot find the tandem-load binary")?;
    let nodes = tokio::task::block_in_place(|| start_nodes(spec, "idle", count))?;
    // Let the nodes settle (pool, bus, liveness) before the baseline.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_before_kib: u64 = nodes.iter().filter_map(Node::rss_kib).sum();
    let per_room = 50;
    let sources = 8;
    let budget = Duration::from_secs_f64(plan.idle_budget_secs);
    let started = Instant::now();
    let mut workers = Vec::with_capacity(count);
    for (i, (node, &share)) in nodes.iter().zip(&shares).enumerate() {
        let worker = WorkerSpec {
            addr: node.addr,
            prefix: format!("cidle{id}-{i}"),
            idle: IdleSpec {
                connections: share,
                per_room,
                sources,
                hold: Duration::ZERO,
                budget,
            },
        };
        workers.push(Worker::start(&exe, &worker)?);
    }
    // The budget bounds the opening; a connection under way may take its
    // own deadline (60 s) on top.
    let deadline = started + budget + Duration::from_secs(90);
    let mut held = 0;
    let mut stopped = Vec::new();
    for (i, worker) in workers.iter_mut().enumerate() {
        let opened = tokio::task::block_in_place(|| worker.opened(deadline))
            .with_context(|| format!("worker {}", i + 1))?;
        held += opened.opened;
        if let Some(why) = opened.stopped {
            stopped.push(format!("node {}: {why}", i + 1));
        }
    }
    let open_secs = started.elapsed().as_secs_f64();
    // Let the nodes finish whatever the handshakes started, then measure.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_after_kib: u64 = nodes.iter().filter_map(Node::rss_kib).sum();
    tokio::time::sleep(Duration::from_secs_f64(plan.idle_hold_secs)).await;
    let mut alive_after_hold = 0;
    let close_by = Instant::now() + Duration::from_secs(30);
    for (i, worker) in workers.iter_mut().enumerate() {
        let closing = tokio::task::block_in_place(|| worker.close(close_by))
            .with_context(|| format!("worker {} at the end of the hold", i + 1))?;
        alive_after_hold += closing.alive;
    }
    drop(workers);
    drop(nodes);
    Ok(ClusterIdle {
        asked: plan.idle_connections,
        held,
        nodes: count,
        workers: count,
        file_limit,
        per_room,
        sources,
        rss_before_kib,
        rss_after_kib,
        open_secs,
        alive_after_hold,
        hold_secs: plan.idle_hold_secs,
        stopped,
    })
}
