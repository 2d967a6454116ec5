//! `tandem-load`: connect to a room, print or follow it, replay a trace,
//! generate load, or hold idle connections for the bench (`idle-worker`).
//! Loopback only; every command stops by itself.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use tandem_loadgen::commands;
use tandem_loadgen::fanout::FanoutSpec;
use tandem_loadgen::idle::IdleSpec;
use tandem_loadgen::idle_workers::{self, WorkerSpec};
use tandem_loadgen::target::{ServerKind, Target};

#[derive(Debug, Parser)]
#[command(
    name = "tandem-load",
    version,
    about = "Load generator for Tandem and other y-sync servers"
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
        Ok((loopback(target)?, room))
    }
}

/// `target`, if it is on loopback: the only addresses this tool talks to.
fn loopback(target: Target) -> anyhow::Result<Target> {
    anyhow::ensure!(
        target.addr.ip().is_loopback(),
        "tandem-load only talks to loopback addresses (127.0.0.0/8, ::1)"
    );
    Ok(target)
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
    /// Used by the bench (`tandem-bench`): open idle connections to one
    /// server, print one JSON line, hold them until stdin closes, print
    /// another and exit.
    #[command(hide = true)]
    IdleWorker(IdleWorkerArgs),
}

#[derive(Debug, Args)]
struct IdleWorkerArgs {
    /// The server (a loopback address).
    #[arg(long)]
    addr: std::net::SocketAddr,
    /// Its dialect.
    #[arg(long, value_enum, default_value_t = ServerKind::Tandem)]
    server_kind: ServerKind,
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

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse().command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Cmd) -> anyhow::Result<()> {
    match command {
        Cmd::Cat(room) => {
            let (target, room) = room.parse()?;
            commands::cat(target, &room).await
        }
        Cmd::Follow { room, seconds } => {
            let (target, room) = room.parse()?;
            commands::follow(target, &room, Duration::from_secs_f64(seconds)).await
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
            commands::replay(target, &room, &trace, rate, limit, timeout).await
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
            commands::load(target, &room, &spec).await
        }
        Cmd::IdleWorker(args) => {
            let target = loopback(Target {
                kind: args.server_kind,
                addr: args.addr,
            })?;
            // Up to the hard limit: the worker's share was sized for it.
            let _ = rlimit::increase_nofile_limit(u64::MAX);
            idle_workers::serve(WorkerSpec {
                target,
                prefix: args.prefix,
                idle: IdleSpec {
                    connections: args.connections,
                    per_room: args.per_room,
                    sources: args.sources,
                    budget: Duration::from_secs_f64(args.budget_secs),
                },
            })
            .await
        }
    }
}
