//! The binary's everyday commands: print a room's text, follow its
//! changes, replay a trace into it, run one fan-out load.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use tandem_shared::DecodeError;
use tandem_shared::session::SessionError;
use tandem_testkit::socket::message;
use tokio_tungstenite::tungstenite::Message;
use yrs::types::Delta;
use yrs::types::text::TextEvent;
use yrs::{Any, Observable, Out};

use crate::bigdoc;
use crate::conn;
use crate::fanout::{self, FanoutSpec};
use crate::target::Target;
use crate::trace::Trace;

/// Prints the room's text.
pub async fn cat(target: Target, room: &str) -> anyhow::Result<()> {
    target.prepare_room(room).await.ok();
    let synced = conn::connect(&target, room, None, Duration::from_secs(30)).await?;
    println!("{}", synced.content());
    Ok(())
}

/// Prints the room's text, then each change as `@index +"inserted"` or
/// `@index -count`, for at most `duration`.
pub async fn follow(target: Target, room: &str, duration: Duration) -> anyhow::Result<()> {
    target.prepare_room(room).await.ok();
    let conn::Synced {
        mut socket,
        mut session,
        text,
        ..
    } = conn::connect(&target, room, None, Duration::from_secs(30)).await?;
    println!("{}", conn::content(session.replica(), &text));
    eprintln!("-- following {room} for {duration:?} (Ctrl-C to stop)");
    text.observe("follow", |txn, event: &TextEvent| {
        let mut index = 0;
        for delta in event.delta(txn) {
            match delta {
                Delta::Retain(n, _) => index += n,
                Delta::Deleted(n) => println!("@{index} -{n}"),
                Delta::Inserted(value, _) => {
                    let inserted = match value {
                        Out::Any(Any::String(s)) => s.to_string(),
                        other => Out::to_string(other.clone(), txn),
                    };
                    println!("@{index} +{inserted:?}");
                    index += inserted.encode_utf16().count() as u32;
                }
            }
        }
    });
    let end = tokio::time::Instant::now() + duration;
    loop {
        let next = tokio::select! {
            next = socket.next() => next,
            () = tokio::time::sleep_until(end) => break,
        };
        match next {
            // The session applies updates (the observer prints them) and
            // answers a step 1; awareness and other messages are skipped.
            Some(Ok(Message::Binary(bytes))) => match session.receive_binary(&bytes) {
                Ok(reaction) => {
                    if let Some(reply) = reaction.reply {
                        socket.send(message(&reply)).await?;
                    }
                }
                Err(SessionError::BadFrame(DecodeError::UnsupportedMessage(_))) => {}
                Err(err) => anyhow::bail!("{err}"),
            },
            Some(Ok(Message::Close(frame))) => {
                eprintln!("-- the server closed the connection: {frame:?}");
                break;
            }
            Some(Ok(_)) => {}
            Some(Err(err)) => return Err(err.into()),
            None => break,
        }
    }
    Ok(())
}

/// Replays a trace into the room, then checks a fresh client's text against
/// the trace's.
pub async fn replay(
    target: Target,
    room: &str,
    trace: &std::path::Path,
    rate: Option<f64>,
    limit: Option<usize>,
    timeout: Duration,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let trace = Trace::load(trace)?;
    let prepared = bigdoc::prepare(&trace, limit)?;
    eprintln!(
        "-- {} edits prepared in {:.1} s; replaying into {}",
        prepared.updates.len(),
        started.elapsed().as_secs_f64(),
        target.room_url(room)?
    );
    let updates = Arc::new(prepared.updates);
    let total = updates.len();
    let outcome = bigdoc::replay(target, room, updates, rate, timeout).await?;
    println!(
        "sent {} of {total} updates in {:.2} s",
        outcome.sent, outcome.send_secs
    );
    match outcome.relay_secs {
        Some(s) => println!(
            "relayed to an observer in {s:.2} s ({:.0} updates/s)",
            total as f64 / s
        ),
        None => println!("relayed to an observer: {} of {total}", outcome.relayed),
    }
    if let Some(s) = outcome.durable_secs {
        println!("all saved in {s:.2} s ({:.0} updates/s)", total as f64 / s);
    }
    if let Some(problem) = outcome.problem {
        anyhow::bail!("{problem}");
    }
    let (secs, text) = bigdoc::fresh_load(target, room).await?;
    println!(
        "a fresh client loaded the document in {:.1} ms",
        secs * 1000.0
    );
    anyhow::ensure!(
        text == prepared.text,
        "the room's text differs from the trace's end ({} vs {} characters); the room must be empty before a replay",
        text.chars().count(),
        prepared.text.chars().count()
    );
    println!(
        "text matches the trace ({} characters)",
        text.chars().count()
    );
    Ok(())
}

/// One fan-out run, printed.
pub async fn load(target: Target, room: &str, spec: &FanoutSpec) -> anyhow::Result<()> {
    let result = fanout::run(&[target], room, spec, &[])
        .await
        .context("load run failed")?;
    println!(
        "{} updates sent ({:.0}/s), {} of {} deliveries",
        result.sent, result.achieved_rate, result.received, result.expected
    );
    match result.latency.summary() {
        Some(s) if result.complete() => println!(
            "latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms over {} deliveries",
            s.p50_ms, s.p99_ms, s.max_ms, s.count
        ),
        _ => println!("not timed: the run did not deliver everything"),
    }
    println!("converged: {}", if result.converged { "yes" } else { "NO" });
    for problem in &result.problems {
        println!("problem: {problem}");
    }
    anyhow::ensure!(result.complete(), "updates were lost");
    Ok(())
}
