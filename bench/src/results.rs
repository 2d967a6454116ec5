//! The figures a bench run produces: what [`crate::suite`] measures and
//! [`crate::report`] renders. Plain data, so the renderer does no I/O and
//! needs nothing of the runner. [`Section`] holds what both topologies
//! measure alike; [`Results`] (one node) and [`ClusterResults`] add their own.

use tandem_loadgen::bigdoc;
use tandem_loadgen::fanout::FanoutResult;
use tandem_loadgen::stats::{Spread, Summary};
use tandem_loadgen::target::ServerKind;

use crate::stepping::{PassRule, StepFigures};
use crate::storage::StorageResult;
use crate::versions_bench::VersionsResult;

/// One fan-out run's figures.
#[derive(Debug, Clone)]
pub struct FanoutRun {
    /// Percentiles, when the run delivered everything.
    pub summary: Option<Summary>,
    /// Deliveries that never came.
    pub lost: u64,
    /// Whether every replica ended equal.
    pub converged: bool,
    /// What went wrong.
    pub problems: Vec<String>,
    /// Server CPU, cores.
    pub server_cpu: Option<f64>,
}

/// All runs of one fan-out configuration on one contender (a server, or a
/// cluster's room on some of its nodes).
#[derive(Debug, Clone)]
pub struct FanoutRow {
    /// The contender, as the report names it.
    pub label: String,
    /// Clients in the room.
    pub clients: usize,
    /// Writers among them.
    pub writers: usize,
    /// Total updates/s.
    pub rate: f64,
    /// Each run.
    pub runs: Vec<FanoutRun>,
}

impl FanoutRow {
    /// Whether every run delivered everything.
    pub fn complete(&self) -> bool {
        !self.runs.is_empty() && self.runs.iter().all(|r| r.summary.is_some())
    }

    /// Spread of a percentile over the complete runs.
    pub fn spread(&self, pick: impl Fn(&Summary) -> f64) -> Option<Spread> {
        let values: Vec<f64> = self
            .runs
            .iter()
            .filter_map(|r| r.summary.as_ref().map(&pick))
            .collect();
        Spread::of(&values)
    }
}

impl FanoutRun {
    /// What one fan-out run measured (timed only if nothing was lost), or
    /// why it failed.
    pub fn measured(outcome: anyhow::Result<FanoutResult>) -> Self {
        match outcome {
            Ok(result) => Self {
                summary: if result.complete() {
                    result.latency.summary()
                } else {
                    None
                },
                lost: result.lost(),
                converged: result.converged,
                problems: result.problems,
                server_cpu: result.server_cpu,
            },
            Err(err) => Self {
                summary: None,
                lost: 0,
                converged: false,
                problems: vec![format!("{err:#}")],
                server_cpu: None,
            },
        }
    }

    /// One line on stderr for the person watching the run.
    pub fn log(&self) {
        match &self.summary {
            Some(s) => eprintln!(
                "    p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} deliveries)",
                s.p50_ms, s.p99_ms, s.max_ms, s.count
            ),
            None => eprintln!(
                "    not timed: {}",
                self.problems.first().map_or("incomplete", String::as_str)
            ),
        }
    }
}

/// One step of the rate search.
#[derive(Debug, Clone)]
pub struct Step {
    /// Asked rate, updates/s.
    pub rate: u64,
    /// What it measured.
    pub figures: StepFigures,
    /// Whether it counted as sustained.
    pub passed: bool,
    /// Server and load-generator CPU, cores.
    pub server_cpu: Option<f64>,
    /// The load generator's CPU, cores.
    pub loadgen_cpu: Option<f64>,
    /// p50 latency, ms.
    pub p50_ms: Option<f64>,
    /// First problem, if any.
    pub problem: Option<String>,
}

impl Step {
    /// The step at `rate` from what its run measured (or why it failed),
    /// judged by `rule`.
    pub fn measured(rate: u64, rule: &PassRule, outcome: anyhow::Result<FanoutResult>) -> Self {
        match outcome {
            Ok(result) => {
                let summary = result.latency.summary();
                let figures = StepFigures {
                    target_rate: rate as f64,
                    achieved_rate: result.achieved_rate,
                    p99_ms: summary.map(|s| s.p99_ms),
                    converged: result.converged && result.lost() == 0,
                    disconnects: result.disconnects,
                };
                Self {
                    rate,
                    passed: rule.passes(&figures),
                    figures,
                    server_cpu: result.server_cpu,
                    loadgen_cpu: result.loadgen_cpu,
                    p50_ms: summary.map(|s| s.p50_ms),
                    problem: result.problems.into_iter().next(),
                }
            }
            Err(err) => Self {
                rate,
                figures: StepFigures {
                    target_rate: rate as f64,
                    achieved_rate: 0.0,
                    p99_ms: None,
                    converged: false,
                    disconnects: 0,
                },
                passed: false,
                server_cpu: None,
                loadgen_cpu: None,
                p50_ms: None,
                problem: Some(format!("{err:#}")),
            },
        }
    }

    /// One line on stderr for the person watching the run.
    pub fn log(&self) {
        eprintln!(
            "    {} (p99 {} ms, achieved {:.0}/s{})",
            if self.passed {
                "sustained"
            } else {
                "not sustained"
            },
            self.figures
                .p99_ms
                .map_or("–".into(), |p| format!("{p:.1}")),
            self.figures.achieved_rate,
            self.problem
                .as_deref()
                .map(|p| format!("; {p}"))
                .unwrap_or_default()
        );
    }
}

/// The rate search on one contender.
#[derive(Debug, Clone)]
pub struct Stepping {
    /// The contender, as the report names it.
    pub label: String,
    /// Every step, in order.
    pub steps: Vec<Step>,
    /// Highest rate sustained.
    pub sustained: Option<u64>,
    /// Whether the search hit its top rate without failing.
    pub capped: bool,
}

/// The large-document figures for one server.
#[derive(Debug, Clone, Default)]
pub struct BigDoc {
    /// The replay.
    pub replay: bigdoc::ReplayOutcome,
    /// Fresh-client load times with the room in memory, ms.
    pub warm_ms: Option<Spread>,
    /// Fresh-client load time after a restart (room loaded from storage), ms.
    pub cold_ms: Option<f64>,
    /// Whether the fresh clients' text equals the trace's.
    pub text_ok: Option<bool>,
    /// Whether the text after the restart equals it too.
    pub cold_text_ok: Option<bool>,
    /// Bytes on disk.
    pub stored_bytes: Option<u64>,
    /// Server memory attributable to the room, KiB.
    pub room_kib: Option<u64>,
    /// How `room_kib` was measured.
    pub room_kib_how: &'static str,
    /// What went wrong.
    pub problems: Vec<String>,
}

/// The in-process yrs floors.
#[derive(Debug, Clone, Default)]
pub struct Floors {
    /// Trace updates applied, one transaction each, updates/s.
    pub apply_rate: Option<Spread>,
    /// Single-character appends made and encoded, updates/s.
    pub append_rate: Option<Spread>,
    /// The trace's final state decoded and applied, ms.
    pub load_ms: Option<Spread>,
    /// Making the trace's updates, seconds (client side).
    pub make_secs: f64,
    /// Edits in the replayed trace.
    pub edits: usize,
    /// Size of the final state as one v1 update, bytes.
    pub state_bytes: usize,
    /// Characters in the final text.
    pub text_chars: usize,
}

/// One durable-write configuration's runs.
#[derive(Debug, Clone, Default)]
pub struct DurableRow {
    /// Writers.
    pub writers: usize,
    /// In one room or one room each.
    pub one_room: bool,
    /// Acknowledged updates/s per run.
    pub rates: Vec<f64>,
    /// p50 and p99 send→saved of the last run, ms.
    pub latency: Option<Summary>,
    /// Problems seen.
    pub problems: Vec<String>,
}

/// Idle connections held by one or more server processes, each with a
/// `tandem-load idle-worker` process of its own opening its share.
#[derive(Debug, Clone, Default)]
pub struct Idle {
    /// Connections asked for, in all.
    pub asked: usize,
    /// Connections open and synced at the same time, in all.
    pub held: usize,
    /// Server processes (and as many worker processes).
    pub servers: usize,
    /// The open-file limit each process runs under.
    pub file_limit: u64,
    /// Connections per room.
    pub per_room: usize,
    /// Source addresses (127.0.0.1 up to 127.0.0.N).
    pub sources: u8,
    /// The servers' RSS before the first connection, summed, KiB.
    pub rss_before_kib: u64,
    /// The servers' RSS with every connection open, summed, KiB.
    pub rss_after_kib: u64,
    /// Wall-clock seconds from starting the workers until all had opened.
    pub open_secs: f64,
    /// Connections still open after the hold.
    pub alive_after_hold: usize,
    /// Seconds the connections were held.
    pub hold_secs: f64,
    /// Why opening stopped short, per worker that did.
    pub stopped: Vec<String>,
}

impl Idle {
    /// The servers' memory per connection, bytes (RSS growth summed over
    /// the servers, over the connections held).
    pub fn bytes_per_conn(&self) -> f64 {
        if self.held == 0 {
            return 0.0;
        }
        (self.rss_after_kib.saturating_sub(self.rss_before_kib) * 1024) as f64 / self.held as f64
    }

    /// Connections opened per second.
    pub fn open_rate(&self) -> f64 {
        self.held as f64 / self.open_secs.max(1e-9)
    }
}

/// What the shared suite measured in one topology: the contenders side by
/// side in fan-out and the rate search, and idle connections.
#[derive(Debug, Clone, Default)]
pub struct Section {
    /// The plan it followed.
    pub quick: bool,
    /// Runs per fan-out configuration.
    pub runs: usize,
    /// The command line of the run, with paths relative to the repository.
    pub command: String,
    /// Facts about the machine and the software ([`crate::machine::facts`]).
    pub facts: Vec<(String, String)>,
    /// Seconds per fan-out run.
    pub fanout_secs: f64,
    /// Fan-out, each configuration's rows in the contenders' order.
    pub fanout: Vec<FanoutRow>,
    /// Room size and writers of the rate search.
    pub step_room: (usize, usize),
    /// Seconds per step.
    pub step_secs: f64,
    /// The rate search, one per contender.
    pub stepping: Vec<Stepping>,
    /// Idle connections, by contender.
    pub idle: Vec<(String, Result<Idle, String>)>,
    /// Wall-clock minutes it took.
    pub minutes: f64,
}

impl Section {
    /// The highest rate `label` sustained.
    pub fn sustained(&self, label: &str) -> Option<u64> {
        self.stepping
            .iter()
            .find(|s| s.label == label)
            .and_then(|s| s.sustained)
    }

    /// The fan-out row of `label` for `clients` and `writers`.
    pub fn fanout_row(&self, label: &str, clients: usize, writers: usize) -> Option<&FanoutRow> {
        self.fanout
            .iter()
            .find(|r| r.label == label && r.clients == clients && r.writers == writers)
    }

    /// The idle figures of `label`, if it held any.
    pub fn idle_of(&self, label: &str) -> Option<&Idle> {
        self.idle
            .iter()
            .find(|(l, _)| l == label)
            .and_then(|(_, r)| r.as_ref().ok())
    }
}

/// Everything the single-node run measured: Tandem and its peers.
#[derive(Debug, Clone, Default)]
pub struct Results {
    /// What the shared suite measured, the servers as contenders.
    pub section: Section,
    /// Servers measured (their labels name the contenders).
    pub servers: Vec<ServerKind>,
    /// Servers left out, and why.
    pub skipped: Vec<(ServerKind, String)>,
    /// Floors.
    pub floors: Floors,
    /// Why the idle test stops where it does.
    pub idle_cap: String,
    /// Large document per server.
    pub bigdoc: Vec<(ServerKind, BigDoc)>,
    /// Durable writes (Tandem).
    pub durable: Vec<DurableRow>,
    /// Seconds per durable run.
    pub durable_secs: f64,
    /// Storage in process (Tandem's SqliteStore).
    pub storage: StorageResult,
    /// Version history in process: storage growth, list and open times.
    pub versions: VersionsResult,
    /// The cluster section, when it ran.
    pub cluster: Option<ClusterResults>,
}

/// The cross-node latency run of the cluster section.
#[derive(Debug, Clone, Default)]
pub struct CrossNodeLatency {
    /// Updates timed (after the warm-up).
    pub updates: usize,
    /// Writer on node A to a reader on A.
    pub same_node: Option<Summary>,
    /// Writer on node A to a reader on B (through the commit and Redis).
    pub cross_node: Option<Summary>,
    /// Whether every client and a fresh one on each node ended equal.
    pub converged: bool,
}

impl CrossNodeLatency {
    /// Cross-node p99 minus same-node p99, ms, when both were measured
    /// and the run converged.
    pub fn p99_gap_ms(&self) -> Option<f64> {
        if !self.converged {
            return None;
        }
        Some(self.cross_node?.p99_ms - self.same_node?.p99_ms)
    }
}

/// Everything the cluster section measured.
#[derive(Debug, Clone, Default)]
pub struct ClusterResults {
    /// What the shared suite measured: the room on one node against the
    /// room spread over the nodes, and idle connections across nodes.
    pub section: Section,
    /// Nodes the fan-out and rate runs spread over.
    pub nodes: usize,
    /// Writer on one node, readers on it and on another.
    pub latency: Option<Result<CrossNodeLatency, String>>,
}
