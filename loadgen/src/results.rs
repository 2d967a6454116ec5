//! The figures a bench run produces: what [`crate::suite`] measures and
//! [`crate::report`] renders. Plain data, so the renderer does no I/O and
//! needs nothing of the runner.

use crate::bigdoc;
use crate::idle::IdleResult;
use crate::stats::{Spread, Summary};
use crate::stepping::{PassRule, StepFigures};
use crate::target::ServerKind;

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

/// All runs of one fan-out configuration on one server.
#[derive(Debug, Clone)]
pub struct FanoutRow {
    /// The server.
    pub server: ServerKind,
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
    pub fn measured(outcome: anyhow::Result<crate::fanout::FanoutResult>) -> Self {
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
    pub fn measured(
        rate: u64,
        rule: &PassRule,
        outcome: anyhow::Result<crate::fanout::FanoutResult>,
    ) -> Self {
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

/// The rate search on one server.
#[derive(Debug, Clone)]
pub struct Stepping {
    /// The server.
    pub server: ServerKind,
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
#[derive(Debug, Clone)]
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

/// Everything a bench run measured.
#[derive(Debug, Clone, Default)]
pub struct Results {
    /// The plan it followed.
    pub quick: bool,
    /// Runs per configuration.
    pub runs: usize,
    /// The command line, with paths relative to the repository.
    pub command: String,
    /// Facts about the machine and software.
    pub machine: Vec<(String, String)>,
    /// Servers measured.
    pub servers: Vec<ServerKind>,
    /// Servers left out, and why.
    pub skipped: Vec<(ServerKind, String)>,
    /// Fan-out.
    pub fanout: Vec<FanoutRow>,
    /// Rate search.
    pub stepping: Vec<Stepping>,
    /// Room size and writers of the rate search.
    pub step_room: (usize, usize),
    /// Seconds per step.
    pub step_secs: f64,
    /// Floors.
    pub floors: Floors,
    /// Idle connections per server.
    pub idle: Vec<(ServerKind, Result<IdleResult, String>)>,
    /// Connections per room in the idle test.
    pub idle_per_room: usize,
    /// Why the idle test stops where it does.
    pub idle_cap: String,
    /// Large document per server.
    pub bigdoc: Vec<(ServerKind, BigDoc)>,
    /// Durable writes (Tandem).
    pub durable: Vec<DurableRow>,
    /// Storage in process (Tandem's SqliteStore).
    pub storage: crate::storage::StorageResult,
    /// Version history in process: storage growth, list and open times.
    pub history: crate::history::HistoryResult,
    /// Seconds per fan-out run.
    pub fanout_secs: f64,
    /// Seconds per durable run.
    pub durable_secs: f64,
    /// Wall-clock minutes the whole run took.
    pub minutes: f64,
    /// The cluster section, when it ran.
    pub cluster: Option<ClusterResults>,
}

/// The cross-node latency run of the cluster section.
#[derive(Debug, Clone, Default)]
pub struct ClusterLatency {
    /// Updates timed (after the warm-up).
    pub updates: usize,
    /// Writer on node A to a reader on A.
    pub same_node: Option<Summary>,
    /// Writer on node A to a reader on B (through the commit and Redis).
    pub cross_node: Option<Summary>,
    /// Whether every client and a fresh one on each node ended equal.
    pub converged: bool,
}

impl ClusterLatency {
    /// Cross-node p99 minus same-node p99, ms, when both were measured
    /// and the run converged.
    pub fn p99_gap_ms(&self) -> Option<f64> {
        if !self.converged {
            return None;
        }
        Some(self.cross_node?.p99_ms - self.same_node?.p99_ms)
    }
}

/// Idle connections held across several node processes.
#[derive(Debug, Clone, Default)]
pub struct ClusterIdle {
    /// Connections asked for, in all.
    pub asked: usize,
    /// Connections open and synced at the same time, in all.
    pub held: usize,
    /// Node processes.
    pub nodes: usize,
    /// Load-generator worker processes (one per node).
    pub workers: usize,
    /// The open-file limit each process runs under.
    pub file_limit: u64,
    /// Connections per room.
    pub per_room: usize,
    /// Source addresses (127.0.0.1 up to 127.0.0.N).
    pub sources: u8,
    /// The nodes' RSS before the first connection, summed, KiB.
    pub rss_before_kib: u64,
    /// The nodes' RSS with every connection open, summed, KiB.
    pub rss_after_kib: u64,
    /// Wall-clock seconds from starting the workers until all had opened.
    pub open_secs: f64,
    /// Connections still open after the hold.
    pub alive_after_hold: usize,
    /// Seconds the connections were held.
    pub hold_secs: f64,
    /// Why opening stopped short, per worker that did (`node N: why`).
    pub stopped: Vec<String>,
}

impl ClusterIdle {
    /// The nodes' memory per connection, bytes (RSS growth summed over the
    /// nodes, over the connections held).
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

/// Everything the cluster section measured.
#[derive(Debug, Clone, Default)]
pub struct ClusterResults {
    /// The plan it followed.
    pub quick: bool,
    /// Runs per fan-out configuration.
    pub runs: usize,
    /// The command line of the run, with paths relative to the repository.
    pub command: String,
    /// When it ran, the load average then and the server build (from
    /// [`crate::machine::facts`]).
    pub facts: Vec<(String, String)>,
    /// Nodes the fan-out and rate runs spread over.
    pub nodes: usize,
    /// Seconds per fan-out run.
    pub fanout_secs: f64,
    /// Fan-out: the same configuration with every client on one node
    /// (`.0`) and spread round-robin over the nodes (`.1`).
    pub fanout: Vec<(FanoutRow, FanoutRow)>,
    /// Writer on one node, readers on it and on another.
    pub latency: Option<Result<ClusterLatency, String>>,
    /// Room size and writers of the rate search.
    pub step_room: (usize, usize),
    /// Seconds per step.
    pub step_secs: f64,
    /// The rate search with the room on one node and spread over the nodes.
    pub stepping: Vec<(String, Stepping)>,
    /// Idle connections across node processes.
    pub idle: Option<Result<ClusterIdle, String>>,
    /// Wall-clock minutes the section took.
    pub minutes: f64,
}
