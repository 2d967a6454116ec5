//! `tandem-load`: connect to a room, print or follow it, replay a trace,
//! generate load, run the whole benchmark (`tandem-load bench`, which
//! `cargo xtask bench` calls), or the crash soak (`tandem-load soak`, which
//! `cargo xtask soak` calls). Loopback only; every command stops by itself.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use tandem_loadgen::cluster_suite::{self, ClusterConfig};
use tandem_loadgen::fanout::FanoutSpec;
use tandem_loadgen::procs::{self, Launcher};
use tandem_loadgen::soak::{self, SoakSpec};
use tandem_loadgen::suite::{self, BenchConfig};
use tandem_loadgen::target::{ServerKind, Target};
use tandem_loadgen::{report, tools};

#[derive(Debug, Parser)]
#[command(
    name = "tandem-load",
    version,
    about = "Load generator and benchmarks for Tandem and other y-sync servers"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Args)]
struct Room {
    /// Room URL: ws://IP:PORT/ws/ROOM (Tandem), ws://IP:PORT/ROOM (Yjs
    /// reference server) or ws://IP:PORT/d/ROOM/ws/ROOM (y-sweet).
    url: String,
    /// Dialect to speak, when the URL's shape does not say it.
    #[arg(long, value_enum)]
    server_kind: Option<ServerKind>,
}

impl Room {
    fn parse(&self) -> anyhow::Result<(Target, String)> {
        let (target, room) = Target::parse_url(&self.url, self.server_kind)?;
        anyhow::ensure!(
            target.addr.ip().is_loopback(),
            "tandem-load only talks to loopback addresses (127.0.0.0/8, ::1)"
        );
        Ok((target, room))
    }
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Print the room's text and exit.
    Cat(Room),
    /// Print the room's text, then its changes as they happen.
    Follow {
        #[command(flatten)]
        room: Room,
        /// Stop after this many seconds.
        #[arg(long, default_value_t = 300.0)]
        seconds: f64,
    },
    /// Replay an editing trace into an empty room, one update per edit, and
    /// check the result against the trace's endContent.
    Replay {
        #[command(flatten)]
        room: Room,
        /// The trace (.json.gz), josephg/editing-traces format.
        #[arg(long)]
        trace: PathBuf,
        /// Updates per second (default: as fast as the server takes them).
        #[arg(long)]
        rate: Option<f64>,
        /// Replay only the first N edits.
        #[arg(long)]
        limit: Option<usize>,
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 600.0)]
        timeout: f64,
    },
    /// Fan-out load on one room: N clients, W writers at a total rate;
    /// prints send→receive latency and checks convergence.
    Load {
        #[command(flatten)]
        room: Room,
        /// Clients in the room, writers included.
        #[arg(long, default_value_t = 10)]
        clients: usize,
        /// Writers among them.
        #[arg(long, default_value_t = 1)]
        writers: usize,
        /// Total updates per second.
        #[arg(long, default_value_t = 100.0)]
        rate: f64,
        /// Seconds of writing.
        #[arg(long, default_value_t = 5.0)]
        seconds: f64,
    },
    /// The whole benchmark suite against Tandem and the peers; writes Markdown.
    Bench(BenchArgs),
    /// Only the version-history section of the suite (in process, no
    /// server): prints its Markdown.
    History {
        /// The editing trace.
        #[arg(long, default_value = "../shared/bench-data/automerge-paper.json.gz")]
        trace: PathBuf,
        /// Scratch folder for the databases.
        #[arg(long, default_value = "target/bench")]
        scratch: PathBuf,
        /// 10 simulated days and a prefix of the trace instead of 60 days and all of it.
        #[arg(long)]
        quick: bool,
    },
    /// Kill Tandem with SIGKILL at random moments while clients type, restart
    /// it on the same data, and check that nothing acknowledged is lost.
    Soak(SoakArgs),
    /// Two Tandem nodes on one PostgreSQL and Redis: latency from a writer
    /// on one node to a reader on the same node and on the other. (The
    /// whole cluster section: `bench --only cluster`.)
    Cluster(ClusterArgs),
    /// Used by the cluster section of `bench`: open idle connections to one
    /// node, print one JSON line, hold them until stdin closes, print
    /// another and exit.
    #[command(hide = true)]
    IdleWorker(IdleWorkerArgs),
}

#[derive(Debug, Args)]
struct IdleWorkerArgs {
    /// The node (a loopback address).
    #[arg(long)]
    addr: std::net::SocketAddr,
    /// Room name prefix.
    #[arg(long)]
    prefix: String,
    /// Connections to open.
    #[arg(long)]
    connections: usize,
    /// Connections per room.
    #[arg(long, default_value_t = 50)]
    per_room: usize,
    /// Source addresses, 127.0.0.1 up to 127.0.0.N.
    #[arg(long, default_value_t = 8)]
    sources: u8,
    /// Longest time to spend opening, seconds.
    #[arg(long, default_value_t = 240.0)]
    budget_secs: f64,
}

/// The parts of `tandem-load bench`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Section {
    /// Every single-node section (Tandem and the peers): the whole report
    /// is rewritten, the cluster section carried over when it does not run.
    SingleNode,
    /// The cluster section alone: spliced into the existing report.
    Cluster,
}

#[derive(Debug, Args)]
struct ClusterArgs {
    /// The Tandem server binary (release build).
    #[arg(long, default_value = "target/release/tandem")]
    tandem_bin: PathBuf,
    /// Scratch folder for the nodes' data directories.
    #[arg(long, default_value = "target/bench-cluster")]
    scratch: PathBuf,
    /// PostgreSQL for the nodes (`cargo xtask services` sets the variable).
    #[arg(long, env = "TANDEM_TEST_DATABASE_URL", hide_env_values = true)]
    database_url: String,
    /// Redis for the nodes.
    #[arg(long, env = "TANDEM_TEST_REDIS_URL", hide_env_values = true)]
    redis_url: String,
    /// Updates sent, one at a time.
    #[arg(long, default_value_t = 1000)]
    updates: usize,
}

#[derive(Debug, Args)]
struct SoakArgs {
    /// The Tandem server binary (release build).
    #[arg(long, default_value = "target/release/tandem")]
    tandem_bin: PathBuf,
    /// Scratch folder for the data directory.
    #[arg(long, default_value = "target/soak")]
    scratch: PathBuf,
    /// Kill-and-restart cycles.
    #[arg(long, default_value_t = 200)]
    cycles: u32,
    /// Rooms the clients type into.
    #[arg(long, default_value_t = 4)]
    rooms: usize,
    /// Native clients typing, spread evenly over the rooms.
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Each kill comes at a random moment within this many milliseconds of
    /// the clients starting to connect.
    #[arg(long, default_value_t = 400)]
    kill_within_ms: u64,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

#[derive(Debug, Args)]
struct BenchArgs {
    /// The Tandem server binary (release build).
    #[arg(long, default_value = "target/release/tandem")]
    tandem_bin: PathBuf,
    /// Folder where `@y/websocket-server` is installed with npm.
    #[arg(long)]
    yjs_dir: Option<PathBuf>,
    /// The y-sweet binary.
    #[arg(long)]
    ysweet_bin: Option<PathBuf>,
    /// The editing trace for the large-document test.
    #[arg(long, default_value = "../shared/bench-data/automerge-paper.json.gz")]
    trace: PathBuf,
    /// Scratch folder for data directories.
    #[arg(long, default_value = "target/bench")]
    scratch: PathBuf,
    /// Where to write the report.
    #[arg(long, default_value = "docs/BENCHMARKS.md")]
    out: PathBuf,
    /// A smoke run of a few minutes instead of the full one.
    #[arg(long)]
    quick: bool,
    /// Servers to measure (default: all that are installed).
    #[arg(long, value_enum, value_delimiter = ',')]
    servers: Vec<ServerKind>,
    /// Do not pin servers and the load generator to separate CPUs.
    #[arg(long)]
    no_pin: bool,
    /// Run only these sections (comma-separated): `cluster` alone is
    /// spliced into the existing report, the rest of it untouched.
    /// Default: all (the cluster section when PostgreSQL and Redis are given).
    #[arg(long, value_enum, value_delimiter = ',')]
    only: Vec<Section>,
    /// PostgreSQL for the cluster section (`cargo xtask bench` sets the variable).
    #[arg(long, env = "TANDEM_TEST_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Redis for the cluster section.
    #[arg(long, env = "TANDEM_TEST_REDIS_URL", hide_env_values = true)]
    redis_url: Option<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut workers = None;
    if let Cmd::Bench(args) = &cli.command {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        if !args.no_pin && cores >= 2 {
            // Before the runtime starts, so every thread inherits the mask.
            match procs::pin_self(1) {
                Ok(()) => workers = Some(1),
                Err(err) => eprintln!("warning: not pinned to CPU 1: {err:#}"),
            }
        }
    }
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    if let Some(n) = workers {
        builder.worker_threads(n);
    }
    let runtime = match builder.build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let pinned = workers.is_some();
    match runtime.block_on(run(cli.command, pinned)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Cmd, pinned: bool) -> anyhow::Result<()> {
    match command {
        Cmd::Cat(room) => {
            let (target, room) = room.parse()?;
            tools::cat(target, &room).await
        }
        Cmd::Follow { room, seconds } => {
            let (target, room) = room.parse()?;
            tools::follow(target, &room, Duration::from_secs_f64(seconds)).await
        }
        Cmd::Replay {
            room,
            trace,
            rate,
            limit,
            timeout,
        } => {
            let (target, room) = room.parse()?;
            let timeout = Duration::from_secs_f64(timeout);
            tools::replay(target, &room, &trace, rate, limit, timeout).await
        }
        Cmd::Load {
            room,
            clients,
            writers,
            rate,
            seconds,
        } => {
            let (target, room) = room.parse()?;
            let spec = FanoutSpec {
                clients,
                writers,
                rate,
                duration: Duration::from_secs_f64(seconds),
                settle: Duration::from_secs(10),
            };
            tools::load(target, &room, &spec).await
        }
        Cmd::Bench(args) => bench(args, pinned).await,
        Cmd::History {
            trace,
            scratch,
            quick,
        } => {
            std::fs::create_dir_all(&scratch)?;
            let trace = tandem_loadgen::trace::Trace::load(&trace)?;
            let prepared = tandem_loadgen::bigdoc::prepare(&trace, quick.then_some(30_000))?;
            let result =
                tandem_loadgen::history::run(&scratch, &prepared.updates, &prepared.text, quick);
            let mut markdown = String::new();
            tandem_loadgen::history::render(&mut markdown, &result);
            println!("{markdown}");
            Ok(())
        }
        Cmd::Soak(args) => soak(args).await,
        Cmd::Cluster(args) => {
            let spec = tandem_loadgen::cluster::ClusterSpec {
                tandem_bin: args.tandem_bin,
                scratch: args.scratch,
                database_url: args.database_url,
                redis_url: args.redis_url,
                updates: args.updates,
                cpu: None,
            };
            let result = tandem_loadgen::cluster::run(&spec).await?;
            println!("{}", tandem_loadgen::cluster::render(&result, &spec));
            anyhow::ensure!(
                result.converged,
                "the clients did not end with the same text"
            );
            Ok(())
        }
        Cmd::IdleWorker(args) => {
            anyhow::ensure!(
                args.addr.ip().is_loopback(),
                "tandem-load only talks to loopback addresses (127.0.0.0/8, ::1)"
            );
            // Up to the hard limit: the worker's share was sized for it.
            let _ = rlimit::increase_nofile_limit(u64::MAX);
            tandem_loadgen::idle_workers::serve(tandem_loadgen::idle_workers::WorkerSpec {
                addr: args.addr,
                prefix: args.prefix,
                idle: tandem_loadgen::idle::IdleSpec {
                    connections: args.connections,
                    per_room: args.per_room,
                    sources: args.sources,
                    hold: Duration::ZERO,
                    budget: Duration::from_secs_f64(args.budget_secs),
                },
            })
            .await
        }
    }
}

async fn soak(args: SoakArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.tandem_bin.is_file(),
        "no server binary at {} (cargo build --release -p tandem-server)",
        args.tandem_bin.display()
    );
    std::fs::create_dir_all(&args.scratch)?;
    let spec = SoakSpec {
        tandem_bin: std::fs::canonicalize(&args.tandem_bin)?,
        scratch: std::fs::canonicalize(&args.scratch)?,
        cycles: args.cycles,
        rooms: args.rooms,
        typists: args.clients,
        kill_within: Duration::from_millis(args.kill_within_ms),
        seed: args.seed,
    };
    eprintln!(
        "==> soak: {} clients in {} rooms, {} SIGKILL cycles (seed {})",
        spec.typists, spec.rooms, spec.cycles, spec.seed
    );
    let report = soak::run(&spec).await?;
    println!("{}", report.summary());
    anyhow::ensure!(
        report.passed(),
        "the soak lost acknowledged edits or left replicas different"
    );
    Ok(())
}

async fn bench(args: BenchArgs, pinned: bool) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.scratch)?;
    let servers = if args.servers.is_empty() {
        ServerKind::ALL.to_vec()
    } else {
        args.servers.clone()
    };
    let only = |s: Section| args.only.is_empty() || args.only.contains(&s);
    let command = report::command_line(std::env::args(), &report::repository());
    let launcher = Launcher {
        tandem_bin: args.tandem_bin.clone(),
        yjs_dir: args.yjs_dir.clone(),
        ysweet_bin: args.ysweet_bin.clone(),
        scratch: std::fs::canonicalize(&args.scratch)?,
        cpu: pinned.then_some(0),
    };
    let cluster_config = match (&args.database_url, &args.redis_url) {
        (Some(database_url), Some(redis_url)) => {
            let facts = tandem_loadgen::machine::facts(&launcher)
                .into_iter()
                .filter(|(k, _)| ["date", "load average at start", "Tandem"].contains(&k.as_str()))
                .collect();
            Some(ClusterConfig {
                tandem_bin: launcher.tandem_bin.clone(),
                scratch: launcher.scratch.clone(),
                database_url: database_url.clone(),
                redis_url: redis_url.clone(),
                cpu: launcher.cpu,
                quick: args.quick,
                command: command.clone(),
                facts,
            })
        }
        _ => None,
    };
    let previous = std::fs::read_to_string(&args.out).ok();
    let began = std::time::Instant::now();
    let markdown = if only(Section::SingleNode) {
        let config = BenchConfig {
            launcher,
            trace: args.trace,
            quick: args.quick,
            servers,
            command,
        };
        let mut results = suite::run(&config).await?;
        if only(Section::Cluster) {
            match &cluster_config {
                Some(cluster) => {
                    let figures = cluster_suite::run(cluster).await;
                    results.minutes += figures.minutes;
                    results.cluster = Some(figures);
                }
                None => eprintln!(
                    "==> [cluster] skipped: no PostgreSQL and Redis (TANDEM_TEST_DATABASE_URL, \
                     TANDEM_TEST_REDIS_URL; `cargo xtask bench` provides them); the report keeps \
                     the previous cluster section"
                ),
            }
        }
        report::render(&results, previous.as_deref())
    } else {
        let cluster = cluster_config.context(
            "the cluster section needs PostgreSQL and Redis: --database-url and --redis-url \
             (TANDEM_TEST_DATABASE_URL, TANDEM_TEST_REDIS_URL; `cargo xtask bench --only cluster` \
             provides them)",
        )?;
        anyhow::ensure!(
            cluster.tandem_bin.is_file(),
            "the Tandem server binary is missing: {}",
            cluster.tandem_bin.display()
        );
        let figures = cluster_suite::run(&cluster).await;
        report::splice_cluster(previous.as_deref().unwrap_or_default(), &figures)
    };
    if let Some(dir) = args.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&args.out, markdown)?;
    eprintln!(
        "==> wrote {} ({:.1} minutes)",
        args.out.display(),
        began.elapsed().as_secs_f64() / 60.0
    );
    Ok(())
}
