//! A large document: a real editing trace replayed into a room one edit per
//! update (as a person's keystrokes arrive), then loaded by fresh clients.
//!
//! The updates are made before anything is timed ([`prepare`]), so the
//! replay measures the server, not the replaying client's yrs. An observer
//! in the same room counts relayed updates (the relay rate); with Tandem the
//! replayer also waits for `saved` to cover everything (the durable rate).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use tandem_testkit::socket::message;
use tokio::sync::watch;
use yrs::{GetString, ReadTxn, StateVector, Text, Transact};

use crate::conn::{self, Progress, ReaderOptions};
use crate::target::{ServerKind, Target};
use crate::trace::{self, Trace};

/// A trace turned into the updates a client would send.
#[derive(Debug)]
pub struct Prepared {
    /// One v1 update per edit, in order.
    pub updates: Vec<Vec<u8>>,
    /// The text they produce (the trace's `endContent` when not cut short).
    pub text: String,
    /// The whole document state as one v1 update.
    pub state: Vec<u8>,
    /// Seconds it took this process's yrs to make the updates (one
    /// transaction per edit): the client-side cost, kept out of the replay.
    pub make_secs: f64,
}

/// Converts the trace (its first `limit` edits, if given) to UTF-16 edits
/// and makes one update per edit in a Tandem-shaped document.
pub fn prepare(trace: &Trace, limit: Option<usize>) -> anyhow::Result<Prepared> {
    let (edits, expected) = trace::to_utf16(trace, limit)?;
    let doc = conn::new_replica();
    let text = doc.get_or_insert_text(tandem_shared::doc::CONTENT);
    if !trace.start_content.is_empty() {
        let mut txn = doc.transact_mut();
        text.insert(&mut txn, 0, &trace.start_content);
    }
    let started = Instant::now();
    let mut updates = Vec::with_capacity(edits.len());
    for edit in &edits {
        let mut txn = doc.transact_mut();
        if edit.remove > 0 {
            text.remove_range(&mut txn, edit.index, edit.remove);
        }
        if !edit.insert.is_empty() {
            text.insert(&mut txn, edit.index, &edit.insert);
        }
        updates.push(txn.encode_update_v1());
    }
    let make_secs = started.elapsed().as_secs_f64();
    let txn = doc.transact();
    let made = text.get_string(&txn);
    anyhow::ensure!(
        made == expected,
        "the converted edits do not rebuild the trace's text"
    );
    if limit.is_none() {
        anyhow::ensure!(
            made == trace.end_content,
            "replaying the trace does not give its endContent"
        );
    }
    let state = txn.encode_state_as_update_v1(&StateVector::default());
    Ok(Prepared {
        updates,
        text: made,
        state,
        make_secs,
    })
}

/// What a replay measured.
#[derive(Debug, Clone, Default)]
pub struct ReplayOutcome {
    /// Updates sent.
    pub sent: usize,
    /// Seconds to write them all into the socket.
    pub send_secs: f64,
    /// Seconds until the observer had them all; `None` if it did not in time.
    pub relay_secs: Option<f64>,
    /// Updates the observer received.
    pub relayed: u64,
    /// Seconds until `saved` covered them all (Tandem); `None` otherwise.
    pub durable_secs: Option<f64>,
    /// What went wrong, if anything.
    pub problem: Option<String>,
    /// How the observer's connection ended, if the server ended it.
    pub observer_ended: Option<String>,
}

/// Sends `updates` into `room` as fast as the server takes them (or at
/// `rate` per second), with an observer counting what is relayed. Gives up
/// after `timeout`.
pub async fn replay(
    target: Target,
    room: &str,
    updates: Arc<Vec<Vec<u8>>>,
    rate: Option<f64>,
    timeout: Duration,
) -> anyhow::Result<ReplayOutcome> {
    target.prepare_room(room).await?;
    let deadline_conn = Duration::from_secs(60);
    let observer = conn::connect(&target, room, None, deadline_conn).await?;
    let replayer = conn::connect(&target, room, None, deadline_conn).await?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let seen = Arc::new(Progress::default());
    let options = ReaderOptions {
        writer: None,
        keep_updates: false,
    };
    let (observer_sink, observer_stream) = observer.socket.split();
    let observer_task = tokio::spawn(conn::read_loop(
        observer_stream,
        stop_rx.clone(),
        options,
        seen.clone(),
        None,
    ));
    let own = Arc::new(Progress::default());
    // The replayer's session counts what it sends; its reader hands it the
    // server's `saved` messages.
    let session = Arc::new(std::sync::Mutex::new(replayer.session));
    let (mut sink, stream) = replayer.socket.split();
    let own_task = tokio::spawn(conn::read_loop(
        stream,
        stop_rx,
        options,
        own.clone(),
        Some(session.clone()),
    ));

    let total = updates.len();
    let started = Instant::now();
    let give_up = started + timeout;
    let mut outcome = ReplayOutcome {
        sent: 0,
        ..ReplayOutcome::default()
    };
    for (i, update) in updates.iter().enumerate() {
        if let Some(rate) = rate {
            let due = started + Duration::from_secs_f64(i as f64 / rate);
            if due > Instant::now() {
                if !flush_by(&mut sink, give_up, &mut outcome, total).await {
                    break;
                }
                tokio::time::sleep_until(due.into()).await;
            }
        }
        // Counted as sent whatever the session's replica holds: the
        // trace's updates were made on another replica ([`prepare`]).
        let frame = conn::lock(&session).update_frame(update.clone());
        let send = sink.feed(message(&frame));
        match tokio::time::timeout_at(give_up.into(), send).await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => {
                outcome.problem = Some(format!("sending failed after {i} updates: {err}"));
                break;
            }
            Err(_) => {
                outcome.problem = Some(format!("sent only {i} of {total} updates in {timeout:?}"));
                break;
            }
        }
        outcome.sent = i + 1;
        if i % 256 == 255 && !flush_by(&mut sink, give_up, &mut outcome, total).await {
            break;
        }
    }
    if outcome.problem.is_none() {
        flush_by(&mut sink, give_up, &mut outcome, total).await;
    }
    outcome.send_secs = started.elapsed().as_secs_f64();

    let all = total as u64;
    // A server that stops relaying for this long after the last send has
    // dropped updates (or is too slow to matter): stop waiting.
    let stall = Duration::from_secs(15);
    let mut last = (0, Instant::now());
    while seen.frames.load(Ordering::Relaxed) < all
        && seen.ended.load(Ordering::Relaxed) == 0
        && Instant::now() < give_up
        && last.1.elapsed() < stall
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
        let now = seen.frames.load(Ordering::Relaxed);
        if now != last.0 {
            last = (now, Instant::now());
        }
    }
    outcome.relayed = seen.frames.load(Ordering::Relaxed);
    if outcome.relayed >= all {
        outcome.relay_secs = Some(started.elapsed().as_secs_f64());
    } else if outcome.problem.is_none() {
        outcome.problem = Some(format!(
            "the observer received {} of {total} updates and then nothing for {} s",
            outcome.relayed,
            last.1.elapsed().as_secs().min(stall.as_secs()),
        ));
    }
    if target.kind == ServerKind::Tandem {
        while !conn::lock(&session).all_saved()
            && own.ended.load(Ordering::Relaxed) == 0
            && Instant::now() < give_up
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let (saved, sent) = {
            let session = conn::lock(&session);
            (session.saved(), session.sent())
        };
        if saved == sent && outcome.sent == total {
            outcome.durable_secs = Some(started.elapsed().as_secs_f64());
        } else if outcome.problem.is_none() {
            outcome.problem = Some(format!(
                "saved reached {saved} of the {sent} frames sent in {timeout:?}"
            ));
        }
    }
    let _ = stop_tx.send(true);
    let observer_log = observer_task.await.ok().map(|(_, log)| log);
    outcome.observer_ended = observer_log.as_ref().and_then(|l| l.ended.clone());
    let own_log = own_task.await.ok().map(|(_, log)| log);
    let why = |who: &str, log: Option<conn::ReaderLog>| {
        let log = log?;
        let ended = log
            .ended
            .map(|e| format!("; the {who}'s connection ended: {e}"));
        let refused = log
            .refused
            .map(|e| format!("; the {who}'s session refused: {e}"));
        Some(ended.into_iter().chain(refused).collect::<String>())
    };
    if let Some(problem) = &mut outcome.problem {
        problem.extend(why("observer", observer_log));
        problem.extend(why("replayer", own_log));
    }
    drop(observer_sink);
    drop(sink);
    Ok(outcome)
}

/// Flushes the replayer's socket, giving up at `give_up` (a server that
/// stops reading would otherwise hold the replay forever); `false` and a
/// problem noted when it could not.
async fn flush_by(
    sink: &mut conn::Sink,
    give_up: Instant,
    outcome: &mut ReplayOutcome,
    total: usize,
) -> bool {
    match tokio::time::timeout_at(give_up.into(), sink.flush()).await {
        Ok(Ok(())) => true,
        Ok(Err(err)) => {
            outcome.problem = Some(format!(
                "sending failed after {} updates: {err}",
                outcome.sent
            ));
            false
        }
        Err(_) => {
            outcome.problem = Some(format!(
                "the server took only about {} of {total} updates before the time limit",
                outcome.sent
            ));
            false
        }
    }
}

/// A fresh client's load of the whole room: seconds from connecting to
/// having applied the server's step 2, and the text it got.
pub async fn fresh_load(target: Target, room: &str) -> anyhow::Result<(f64, String)> {
    let started = Instant::now();
    let synced = conn::connect(&target, room, None, Duration::from_secs(120))
        .await
        .context("a fresh client could not load the document")?;
    let secs = synced.synced_at.duration_since(started).as_secs_f64();
    Ok((secs, synced.content()))
}
