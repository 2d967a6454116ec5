//! Fan-out latency in one room alone, and while someone lists the room's
//! versions 20 times a second (`GET /api/rooms/{room}/versions`): whether
//! version-history work holds up the room's keystrokes (issue 25).
//!
//! Against a running server (started as docs/BENCHMARKS.md starts it, with
//! the load flags), it first names `--versions` versions of the room
//! through the API (a month of editing keeps about a thousand checkpoints),
//! then connects `--clients` clients of which `--writers` type at `--rate`
//! updates a second in total, and measures, for every update, the time from
//! the writer's send to its arrival at each reading client (one clock: the
//! writers and readers share this process). Rounds alternate the two
//! conditions; the figures are the medians of the rounds with their ranges.
//!
//! ```sh
//! cargo build --release -p tandem-server --bin tandem --example fanout_while_listing
//! taskset -c 0 target/release/tandem --listen 127.0.0.1:PORT --data-dir DIR [the load flags] &
//! taskset -c 1 target/release/examples/fanout_while_listing ws://127.0.0.1:PORT/ws/ROOM
//! ```

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use futures_util::{SinkExt as _, StreamExt as _};
use tandem_shared::{ClientMsg, RoomId};
use tandem_testkit::Client;
use tokio_tungstenite::tungstenite::Message;

/// Marks the send time (µs since the run's start) inside the inserted text.
/// Three-byte characters that a small update's encoding does not contain.
const OPEN: &str = "\u{2402}";
const CLOSE: &str = "\u{2403}";

/// What to run.
#[derive(Debug, Clone)]
struct Options {
    /// `ws://IP:PORT/ws/ROOM`.
    url: String,
    /// The server's address and the room, from the URL.
    addr: SocketAddr,
    room: RoomId,
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
        let mut url = None;
        let mut options = Self {
            url: String::new(),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            room: RoomId::new("unset")?,
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
                "--clients" => options.clients = value()?.parse()?,
                "--writers" => options.writers = value()?.parse()?,
                "--rate" => options.rate = value()?.parse()?,
                "--seconds" => options.seconds = value()?.parse()?,
                "--rounds" => options.rounds = value()?.parse()?,
                "--versions" => options.versions = value()?.parse()?,
                "--lists-per-second" => options.lists_per_second = value()?.parse()?,
                other if url.is_none() && other.starts_with("ws://") => {
                    url = Some(other.to_owned())
                }
                other => bail!(
                    "unknown argument {other}; usage: fanout_while_listing ws://IP:PORT/ws/ROOM \
                     [--clients N --writers N --rate N --seconds N --rounds N --versions N \
                     --lists-per-second N]"
                ),
            }
        }
        let url = url.context("the room's URL, ws://IP:PORT/ws/ROOM, is needed")?;
        let (host, room) = url
            .strip_prefix("ws://")
            .and_then(|rest| rest.split_once("/ws/"))
            .context("the URL is ws://IP:PORT/ws/ROOM")?;
        options.addr = host.parse().context("the URL's host is IP:PORT")?;
        options.room = RoomId::new(room)?;
        options.url = url;
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
    name_versions(&options).await?;
    let (windows, samples, lists) = measure(&options).await?;

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

/// Names `--versions` versions of the room through the API, so listing
/// them costs what a month of history costs.
async fn name_versions(options: &Options) -> anyhow::Result<()> {
    let path = format!("/api/rooms/{}/versions", options.room);
    for i in 0..options.versions {
        let label = format!("{{\"label\":\"version {i}\"}}");
        let (status, body) = tandem_testkit::http(options.addr, "POST", &path, None, &label).await;
        if status != 201 {
            bail!("naming a version answered {status}: {body}");
        }
    }
    Ok(())
}

type Samples = Arc<Mutex<Vec<(u64, u64)>>>;

/// Runs the rounds; the windows, every (sent µs, latency µs) delivery, and
/// every answered list request (sent µs, answered after µs).
async fn measure(
    options: &Options,
) -> anyhow::Result<(Vec<Window>, Vec<(u64, u64)>, Vec<(u64, u64)>)> {
    let start = Instant::now();
    let url = options.url.as_str();
    let samples: Samples = Arc::new(Mutex::new(Vec::new()));
    let stop = tokio_util::sync::CancellationToken::new();
    let mut tasks = Vec::new();
    for _ in 0..options.clients - options.writers {
        let socket = reader(url).await?;
        tasks.push(tokio::spawn(read(
            socket,
            start,
            samples.clone(),
            stop.clone(),
        )));
    }
    let per_writer = Duration::from_secs_f64(options.writers as f64 / f64::from(options.rate));
    for _ in 0..options.writers {
        let client = Client::connect(url).await;
        tasks.push(tokio::spawn(write(client, per_writer, start, stop.clone())));
    }
    // Settle: every connection joined and the writers typing.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let lists: Samples = Arc::new(Mutex::new(Vec::new()));
    let mut windows = Vec::new();
    for _ in 0..options.rounds {
        for listing in [false, true] {
            let from_us = start.elapsed().as_micros() as u64;
            let lister = listing.then(|| {
                let every = Duration::from_secs_f64(1.0 / f64::from(options.lists_per_second));
                let path = format!("/api/rooms/{}/versions", options.room);
                tokio::spawn(list(options.addr, path, every, start, lists.clone()))
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
    let hello = ClientMsg::Hello {
        key: None,
        author: None,
        color: None,
    }
    .to_json();
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
async fn list(addr: SocketAddr, path: String, every: Duration, start: Instant, lists: Samples) {
    let mut ticks = tokio::time::interval(every);
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
