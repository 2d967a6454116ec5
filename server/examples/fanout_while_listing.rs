//! Fan-out latency in one room alone, and while someone lists the room's
//! versions 20 times a second (`GET /api/rooms/{room}/versions`): whether
//! version-history work holds up the room's keystrokes (issue 25).
//!
//! It starts the release server (`--tandem`, SQLite, the load flags of
//! docs/BENCHMARKS.md) on a room whose history already holds `--versions`
//! checkpoints (a month of editing keeps about a thousand), connects
//! `--clients` clients of which `--writers` type at `--rate` updates a
//! second in total, and measures, for every update, the time from the
//! writer's send to its arrival at each reading client (one clock: the
//! writers and readers share this process). Rounds alternate the two
//! conditions; the figures are the medians of the rounds with their ranges.
//!
//! ```sh
//! cargo build --release -p tandem-server --bin tandem --example fanout_while_listing
//! taskset -c 1 target/release/examples/fanout_while_listing --tandem target/release/tandem
//! ```
//!
//! The server is started under `taskset -c 0` when `taskset` is on the
//! path, so each side has a core of its own, as in `cargo xtask bench`.

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use futures_util::{SinkExt as _, StreamExt as _};
use tandem_server::store::{NewVersion, SqliteStore, Store, VersionKind};
use tandem_shared::{ClientMsg, RoomId};
use tandem_testkit::{Client, TempDir};
use tokio_tungstenite::tungstenite::Message;
use yrs::{ReadTxn as _, StateVector, Text as _, Transact as _};

/// Marks the send time (µs since the run's start) inside the inserted text.
/// Three-byte characters that a small update's encoding does not contain.
const OPEN: &str = "\u{2402}";
const CLOSE: &str = "\u{2403}";

/// The room measured.
const ROOM: &str = "fanout-history";

/// What to run.
#[derive(Debug, Clone)]
struct Options {
    tandem: PathBuf,
    clients: usize,
    writers: usize,
    rate: u32,
    seconds: u64,
    rounds: usize,
    versions: usize,
    lists_per_second: u32,
}

impl Options {
    fn parse() -> anyhow::Result<Self> {
        let mut options = Self {
            tandem: PathBuf::from("target/release/tandem"),
            clients: 100,
            writers: 5,
            rate: 100,
            seconds: 5,
            rounds: 3,
            versions: 1000,
            lists_per_second: 20,
        };
        let mut args = std::env::args().skip(1);
        while let Some(flag) = args.next() {
            let mut value = || args.next().with_context(|| format!("{flag} needs a value"));
            match flag.as_str() {
                "--tandem" => options.tandem = PathBuf::from(value()?),
                "--clients" => options.clients = value()?.parse()?,
                "--writers" => options.writers = value()?.parse()?,
                "--rate" => options.rate = value()?.parse()?,
                "--seconds" => options.seconds = value()?.parse()?,
                "--rounds" => options.rounds = value()?.parse()?,
                "--versions" => options.versions = value()?.parse()?,
                "--lists-per-second" => options.lists_per_second = value()?.parse()?,
                other => bail!(
                    "unknown flag {other}; flags: --tandem PATH --clients N --writers N \
                     --rate N --seconds N --rounds N --versions N --lists-per-second N"
                ),
            }
        }
        if options.writers == 0 || options.writers >= options.clients {
            bail!("--writers must be at least 1 and fewer than --clients");
        }
        Ok(options)
    }
}

/// One measured stretch: its window on the run's clock, in µs.
#[derive(Debug, Clone, Copy)]
struct Window {
    listing: bool,
    from_us: u64,
    to_us: u64,
}

/// What a stretch measured.
#[derive(Debug)]
struct Figures {
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    deliveries: usize,
    lists: usize,
    /// Median time to answer a list request, ms.
    list_ms: f64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = Options::parse()?;
    let scratch = TempDir::new("fanout-while-listing");
    seed_versions(&scratch.path().join("data"), options.versions)?;
    let port = free_port()?;
    let mut server = start_server(&options.tandem, &scratch.path().join("data"), port)?;
    let outcome = measure(&options, port).await;
    let _ = server.kill();
    let _ = server.wait();
    let (windows, samples, lists) = outcome?;

    println!(
        "{} clients, {} writers, {} updates/s, {} s per stretch, {} versions, {} lists/s",
        options.clients,
        options.writers,
        options.rate,
        options.seconds,
        options.versions,
        options.lists_per_second
    );
    println!(
        "| stretch | round | p50 ms | p99 ms | max ms | deliveries | lists | list ms (median) |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let mut alone = Vec::new();
    let mut listing = Vec::new();
    for (i, window) in windows.iter().enumerate() {
        let figures = figures(window, &samples, &lists);
        let name = if window.listing { "listing" } else { "alone" };
        println!(
            "| {name} | {} | {:.2} | {:.2} | {:.2} | {} | {} | {:.2} |",
            i / 2 + 1,
            figures.p50_ms,
            figures.p99_ms,
            figures.max_ms,
            figures.deliveries,
            figures.lists,
            figures.list_ms
        );
        if window.listing {
            listing.push(figures);
        } else {
            alone.push(figures);
        }
    }
    println!();
    for (name, runs) in [("alone", &alone), ("listing", &listing)] {
        println!(
            "{name}: p99 {} ms, p50 {} ms (medians of {}, ranges in parentheses)",
            median_range(runs.iter().map(|f| f.p99_ms).collect()),
            median_range(runs.iter().map(|f| f.p50_ms).collect()),
            runs.len()
        );
    }
    Ok(())
}

/// Stores `count` checkpoints of a small document for the room, ten minutes
/// apart, as a month of editing leaves them.
fn seed_versions(data_dir: &std::path::Path, count: usize) -> anyhow::Result<()> {
    let store = SqliteStore::open(data_dir)?;
    let room = RoomId::new(ROOM)?;
    let doc = tandem_shared::doc::new_doc();
    let text = doc.get_or_insert_text(tandem_shared::doc::CONTENT);
    text.insert(&mut doc.transact_mut(), 0, "A document with a history.");
    let state = doc
        .transact()
        .encode_state_as_update_v1(&StateVector::default());
    let authors = vec!["Ana".to_string(), "Bo".to_string()];
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as i64;
    for i in (0..count).rev() {
        store.add_version(
            &room,
            &NewVersion {
                at: now - i as i64 * 600_000,
                authors: &authors,
                label: None,
                kind: VersionKind::Edit,
                restored_from: None,
                state: &state,
            },
        )?;
    }
    Ok(())
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The server with the load flags of docs/BENCHMARKS.md, on `port`.
fn start_server(
    tandem: &std::path::Path,
    data_dir: &std::path::Path,
    port: u16,
) -> anyhow::Result<Child> {
    let taskset = Command::new("taskset")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let mut command = if taskset {
        let mut c = Command::new("taskset");
        c.args(["-c", "0"]).arg(tandem);
        c
    } else {
        Command::new(tandem)
    };
    command
        .args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--store",
            "sqlite",
        ])
        .arg("--data-dir")
        .arg(data_dir)
        .args([
            "--rate-limit",
            "1000000",
            "--rate-burst",
            "1000000",
            "--max-connections",
            "200000",
            "--max-connections-per-ip",
            "200000",
            "--max-room-connections",
            "100000",
            "--max-document-bytes",
            "1099511627776",
            "--queue-messages",
            "1000000",
            "--queue-bytes",
            "1073741824",
            "--room-idle",
            "10m",
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    let child = command
        .spawn()
        .with_context(|| format!("cannot start {}", tandem.display()))?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let started = Instant::now();
    while std::net::TcpStream::connect(addr).is_err() {
        if started.elapsed() > Duration::from_secs(20) {
            bail!("the server did not listen on {addr}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(child)
}

type Samples = Arc<Mutex<Vec<(u64, u64)>>>;

/// Runs the rounds; the windows, every (sent µs, latency µs) delivery, and
/// every answered list request (sent µs, answered after µs).
async fn measure(
    options: &Options,
    port: u16,
) -> anyhow::Result<(Vec<Window>, Vec<(u64, u64)>, Vec<(u64, u64)>)> {
    let start = Instant::now();
    let url = format!("ws://127.0.0.1:{port}/ws/{ROOM}");
    let samples: Samples = Arc::new(Mutex::new(Vec::new()));
    let stop = tokio_util::sync::CancellationToken::new();
    let mut tasks = Vec::new();
    for _ in 0..options.clients - options.writers {
        let socket = reader(&url).await?;
        tasks.push(tokio::spawn(read(
            socket,
            start,
            samples.clone(),
            stop.clone(),
        )));
    }
    let per_writer = Duration::from_secs_f64(options.writers as f64 / f64::from(options.rate));
    for _ in 0..options.writers {
        let client = Client::connect(&url).await;
        tasks.push(tokio::spawn(write(client, per_writer, start, stop.clone())));
    }
    // Settle: every connection joined and the writers typing.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let lists: Samples = Arc::new(Mutex::new(Vec::new()));
    let mut windows = Vec::new();
    for _ in 0..options.rounds {
        for listing in [false, true] {
            let from_us = start.elapsed().as_micros() as u64;
            let lister = listing.then(|| {
                let every = Duration::from_secs_f64(1.0 / f64::from(options.lists_per_second));
                tokio::spawn(list(addr, every, start, lists.clone()))
            });
            tokio::time::sleep(Duration::from_secs(options.seconds)).await;
            if let Some(lister) = lister {
                lister.abort();
            }
            let to_us = start.elapsed().as_micros() as u64;
            windows.push(Window {
                listing,
                from_us,
                to_us,
            });
            // What was sent in the window arrives before the next one starts.
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
    stop.cancel();
    for task in tasks {
        let _ = task.await;
    }
    let samples = std::mem::take(&mut *samples.lock().unwrap_or_else(|p| p.into_inner()));
    let lists = std::mem::take(&mut *lists.lock().unwrap_or_else(|p| p.into_inner()));
    Ok((windows, samples, lists))
}

type Socket = tandem_testkit::socket::Socket;

/// A reading client: says hello and reads (it never writes, never syncs).
async fn reader(url: &str) -> anyhow::Result<Socket> {
    let mut socket = tandem_testkit::socket::open(url).await?;
    let hello = ClientMsg::Hello { key: None }.to_json();
    socket.send(Message::Text(hello.into())).await?;
    Ok(socket)
}

async fn read(
    mut socket: Socket,
    start: Instant,
    samples: Samples,
    stop: tokio_util::sync::CancellationToken,
) {
    let mut mine = Vec::new();
    loop {
        let message = tokio::select! {
            () = stop.cancelled() => break,
            message = socket.next() => message,
        };
        match message {
            Some(Ok(Message::Binary(bytes))) => {
                let now = start.elapsed().as_micros() as u64;
                for sent in sent_times(&bytes) {
                    mine.push((sent, now.saturating_sub(sent)));
                }
            }
            Some(Ok(_)) => {}
            _ => break,
        }
    }
    samples
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .extend(mine);
}

/// The send times marked in an update's bytes.
fn sent_times(bytes: &[u8]) -> Vec<u64> {
    let text = String::from_utf8_lossy(bytes);
    text.split(OPEN)
        .skip(1)
        .filter_map(|rest| rest.split_once(CLOSE))
        .filter_map(|(digits, _)| digits.parse().ok())
        .collect()
}

/// A writer: appends a marked string every `every`, reading in between.
async fn write(
    mut client: Client,
    every: Duration,
    start: Instant,
    stop: tokio_util::sync::CancellationToken,
) {
    // Writers start spread over one interval.
    let mut next = tokio::time::Instant::now() + every.mul_f64(fastrand::f64());
    while !stop.is_cancelled() {
        while tokio::time::Instant::now() < next {
            if !client.step(next - tokio::time::Instant::now()).await {
                return;
            }
        }
        let sent = start.elapsed().as_micros();
        let end = client.len();
        client.insert(end, &format!("{OPEN}{sent}{CLOSE}")).await;
        next += every;
    }
}

/// Lists the room's versions every `every`, noting when each answered
/// request was sent and how long the answer took.
async fn list(addr: SocketAddr, every: Duration, start: Instant, lists: Samples) {
    let mut ticks = tokio::time::interval(every);
    let path = format!("/api/rooms/{ROOM}/versions");
    loop {
        ticks.tick().await;
        let sent = start.elapsed().as_micros() as u64;
        let (status, _) = tandem_testkit::http(addr, "GET", &path, None, "").await;
        let took = start.elapsed().as_micros() as u64 - sent;
        if status == 200 {
            lists
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push((sent, took));
        }
    }
}

fn figures(window: &Window, samples: &[(u64, u64)], lists: &[(u64, u64)]) -> Figures {
    let mut latencies: Vec<u64> = samples
        .iter()
        .filter(|(sent, _)| (window.from_us..window.to_us).contains(sent))
        .map(|(_, latency)| *latency)
        .collect();
    latencies.sort_unstable();
    let at = |q: f64| {
        let i = ((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len().max(1)) - 1;
        latencies.get(i).map_or(f64::NAN, |us| *us as f64 / 1000.0)
    };
    let mut answered: Vec<u64> = lists
        .iter()
        .filter(|(sent, _)| (window.from_us..window.to_us).contains(sent))
        .map(|(_, took)| *took)
        .collect();
    answered.sort_unstable();
    Figures {
        p50_ms: at(0.50),
        p99_ms: at(0.99),
        max_ms: at(1.0),
        deliveries: latencies.len(),
        lists: answered.len(),
        list_ms: answered
            .get(answered.len() / 2)
            .map_or(f64::NAN, |us| *us as f64 / 1000.0),
    }
}

/// `median (min–max)` of `values`.
fn median_range(mut values: Vec<f64>) -> String {
    values.sort_by(f64::total_cmp);
    match (values.first(), values.get(values.len() / 2), values.last()) {
        (Some(min), Some(median), Some(max)) => format!("{median:.2} ({min:.2}–{max:.2})"),
        _ => "n/a".to_string(),
    }
}
