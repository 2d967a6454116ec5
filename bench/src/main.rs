//! `tandem-bench`: the whole benchmark (`cargo xtask bench` builds
//! everything, installs the peers and calls it) into `docs/BENCHMARKS.md`,
//! or only its cluster section spliced into the existing file. Loopback
//! only; every run stops by itself.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use tandem_bench::procs::{self, ClusterStore, Launcher};
use tandem_bench::report;
use tandem_bench::suite::{self, Config};
use tandem_loadgen::target::ServerKind;

/// The parts of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Part {
    /// Every single-node section (Tandem and the peers): the whole report
    /// is rewritten, the cluster section carried over when it does not run.
    SingleNode,
    /// The cluster section alone: spliced into the existing report.
    Cluster,
}

#[derive(Debug, Parser)]
#[command(
    name = "tandem-bench",
    version,
    about = "Tandem measured beside other y-sync servers and as a cluster; writes docs/BENCHMARKS.md"
)]
struct Args {
    /// The Tandem server binary (release build).
    #[arg(long, default_value = "target/release/tandem")]
    tandem_bin: PathBuf,
    /// The load generator, run as the idle workers (default: beside this binary).
    #[arg(long)]
    load_bin: Option<PathBuf>,
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
    /// Run only these parts (comma-separated): `cluster` alone is spliced
    /// into the existing report, the rest of it untouched. Default: all
    /// (the cluster section when PostgreSQL and Redis are given).
    #[arg(long, value_enum, value_delimiter = ',')]
    only: Vec<Part>,
    /// PostgreSQL for the cluster section (`cargo xtask bench` sets the variable).
    #[arg(long, env = "TANDEM_TEST_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Redis for the cluster section.
    #[arg(long, env = "TANDEM_TEST_REDIS_URL", hide_env_values = true)]
    redis_url: Option<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut pinned = false;
    if !args.no_pin && cores >= 2 {
        // Before the runtime starts, so every thread inherits the mask.
        match procs::pin_self(1) {
            Ok(()) => pinned = true,
            Err(err) => eprintln!("warning: not pinned to CPU 1: {err:#}"),
        }
    }
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    if pinned {
        builder.worker_threads(1);
    }
    let outcome = builder
        .build()
        .context("cannot start the runtime")
        .and_then(|runtime| runtime.block_on(run(args, pinned)));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args, pinned: bool) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.scratch)?;
    // Raised once here: every server and worker started below inherits it.
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let only = |part: Part| args.only.is_empty() || args.only.contains(&part);
    let load_bin = match args.load_bin {
        Some(bin) => bin,
        None => std::env::current_exe()?.with_file_name("tandem-load"),
    };
    anyhow::ensure!(
        load_bin.is_file(),
        "the load generator is missing: {} (cargo build --release -p tandem-loadgen)",
        load_bin.display()
    );
    let config = Config {
        launcher: Launcher {
            tandem_bin: args.tandem_bin,
            yjs_dir: args.yjs_dir,
            ysweet_bin: args.ysweet_bin,
            scratch: std::fs::canonicalize(&args.scratch)?,
            cpu: pinned.then_some(0),
            cluster: None,
        },
        load_bin,
        quick: args.quick,
        command: report::command_line(std::env::args(), &report::repository()),
    };
    let store = args
        .database_url
        .zip(args.redis_url)
        .map(|(database_url, redis_url)| ClusterStore {
            database_url,
            redis_url,
        });
    let previous = std::fs::read_to_string(&args.out).ok();
    let began = std::time::Instant::now();
    let markdown = if only(Part::SingleNode) {
        let servers = if args.servers.is_empty() {
            ServerKind::ALL.to_vec()
        } else {
            args.servers
        };
        let mut results = suite::single_node(&config, &args.trace, &servers).await?;
        match store {
            Some(store) if only(Part::Cluster) => {
                results.cluster = Some(suite::cluster(&config, store).await);
            }
            None if only(Part::Cluster) => eprintln!(
                "==> [cluster] skipped: no PostgreSQL and Redis (TANDEM_TEST_DATABASE_URL, \
                 TANDEM_TEST_REDIS_URL; `cargo xtask bench` provides them); the report keeps \
                 the previous cluster section"
            ),
            _ => {}
        }
        report::render(&results, previous.as_deref())
    } else {
        let store = store.context(
            "the cluster section needs PostgreSQL and Redis: --database-url and --redis-url \
             (TANDEM_TEST_DATABASE_URL, TANDEM_TEST_REDIS_URL; `cargo xtask bench --only cluster` \
             provides them)",
        )?;
        anyhow::ensure!(
            config.launcher.tandem_bin.is_file(),
            "the Tandem server binary is missing: {}",
            config.launcher.tandem_bin.display()
        );
        let figures = suite::cluster(&config, store).await;
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
