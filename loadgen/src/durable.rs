//! Durable writes: how many updates per second Tandem acknowledges with
//! `saved` (committed to SQLite with `synchronous=FULL`, group commit per
//! room), with many writers each keeping a window of unacknowledged updates
//! in flight.

use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use tandem_shared::session::Event;
use tandem_testkit::socket::message;
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message;

use crate::conn::{self, Synced};
use crate::stats::Latencies;
use crate::tag::Tag;
use crate::target::{ServerKind, Target};

/// One durable-write run.
#[derive(Debug, Clone)]
pub struct DurableSpec {
    /// Writing connections.
    pub writers: usize,
    /// All in one room (`true`) or each in its own.
    pub one_room: bool,
    /// Unacknowledged updates each writer keeps in flight.
    pub window: u64,
    /// How long the writers write.
    pub duration: Duration,
}

/// What a durable-write run measured.
#[derive(Debug)]
pub struct DurableResult {
    /// Updates acknowledged before the writing period ended.
    pub acked: u64,
    /// Acknowledged updates per second.
    pub rate: f64,
    /// Send→`saved` latencies.
    pub latency: Latencies,
    /// What went wrong, if anything.
    pub problems: Vec<String>,
}

/// Runs `spec` against a Tandem server, in rooms named `{prefix}-N`.
pub async fn run(
    target: Target,
    prefix: &str,
    spec: &DurableSpec,
) -> anyhow::Result<DurableResult> {
    anyhow::ensure!(
        target.kind == ServerKind::Tandem,
        "only Tandem acknowledges durable writes"
    );
    let mut clients = Vec::with_capacity(spec.writers);
    for i in 0..spec.writers {
        let room = if spec.one_room {
            format!("{prefix}-0")
        } else {
            format!("{prefix}-{i}")
        };
        clients.push(conn::connect(&target, &room, None, Duration::from_secs(60)).await?);
    }
    let start = Instant::now() + Duration::from_millis(100);
    let end = start + spec.duration;
    let mut set = JoinSet::new();
    for (i, client) in clients.into_iter().enumerate() {
        set.spawn(write_acked(client, i as u32, spec.window, start, end));
    }
    let mut latency = Latencies::new();
    let mut acked = 0;
    let mut problems = Vec::new();
    while let Some(joined) = set.join_next().await {
        let out = joined.context("a writer task failed")?;
        acked += out.acked_in_time;
        latency.merge(&out.latency);
        if let Some(problem) = out.problem {
            problems.push(problem);
        }
    }
    Ok(DurableResult {
        acked,
        rate: acked as f64 / spec.duration.as_secs_f64(),
        latency,
        problems,
    })
}

struct WriterOut {
    acked_in_time: u64,
    latency: Latencies,
    problem: Option<String>,
}

/// How long after the end a writer waits for its last acknowledgements.
const SETTLE: Duration = Duration::from_secs(10);

async fn write_acked(
    client: Synced,
    writer: u32,
    window: u64,
    start: Instant,
    end: Instant,
) -> WriterOut {
    let Synced {
        socket,
        mut session,
        text,
        ..
    } = client;
    let (mut sink, mut stream) = socket.split();
    // Frames of the handshake (its step 2): the session counts them first.
    let handshake = session.sent();
    // When each update was sent; update n is frame `handshake + n + 1`.
    let mut sent_at: Vec<Instant> = Vec::new();
    let mut out = WriterOut {
        acked_in_time: 0,
        latency: Latencies::new(),
        problem: None,
    };
    tokio::time::sleep_until(start.into()).await;
    loop {
        let now = Instant::now();
        let in_flight = session.sent() - session.saved();
        if now >= end && in_flight == 0 {
            break;
        }
        if now >= end + SETTLE {
            out.problem = Some(format!("{in_flight} updates never acknowledged"));
            break;
        }
        if now < end && in_flight < window {
            let mut fed = false;
            for _ in in_flight..window {
                let tag = Tag {
                    writer,
                    seq: sent_at.len() as u32,
                };
                let Some(frame) = conn::append_tag(&mut session, &text, tag) else {
                    out.problem = Some("the session is not live after the handshake".into());
                    return out;
                };
                sent_at.push(Instant::now());
                if let Err(err) = sink.feed(message(&frame)).await {
                    out.problem = Some(err.to_string());
                    return out;
                }
                fed = true;
            }
            if fed && let Err(err) = sink.flush().await {
                out.problem = Some(err.to_string());
                return out;
            }
        }
        let incoming = match tokio::time::timeout(Duration::from_millis(100), stream.next()).await {
            Err(_) => continue,
            Ok(Some(Ok(incoming))) => incoming,
            Ok(other) => {
                out.problem = Some(format!("connection ended: {other:?}"));
                return out;
            }
        };
        // Relayed updates (binary) are not applied: that would cost more
        // than what is measured. `saved` goes through the session.
        let Message::Text(json) = incoming else {
            continue;
        };
        let before = session.saved();
        match session.receive_text(&json) {
            Ok(reaction) if matches!(reaction.event, Event::Saved { .. }) => {
                let now = Instant::now();
                for n in before + 1..=session.saved() {
                    let Some(index) = n.checked_sub(handshake + 1) else {
                        continue;
                    };
                    if let Some(at) = sent_at.get(index as usize) {
                        out.latency.record(now.saturating_duration_since(*at));
                        if now <= end {
                            out.acked_in_time += 1;
                        }
                    }
                }
            }
            Ok(_) => {}
            Err(err) => {
                out.problem = Some(err.to_string());
                return out;
            }
        }
    }
    out
}
