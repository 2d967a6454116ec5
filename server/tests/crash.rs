//! Crash safety: every edit the server acknowledged survives SIGKILL.
//!
//! The harness runs the real `tandem` binary on a SQLite data directory.
//! Several clients stream unique edits and record which ones were
//! acknowledged (`saved`); the server is killed with SIGKILL once the round
//! has a seeded number of acknowledged edits and some still unacknowledged,
//! then restarted on the same directory, where every acknowledged edit must
//! be in the document exactly once. The directory carries over between
//! rounds, so later rounds also check everything acknowledged in earlier
//! ones. The writers must die with the server (no close frame: nothing cut
//! them short), so the rate limits are lifted for them.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use support::process::TandemProcess;
use tandem_shared::close::Close;
use tandem_testkit::{Client, TempDir, eventually};

const ITERATIONS: u64 = 8;
const CLIENTS: usize = 3;

/// The writers' traffic is deliberate: no rate limit may cut them before the kill.
const UNLIMITED: &[&str] = &["--rate-limit", "1000000", "--rate-burst", "1000000"];

/// What the writers of one round report while they write.
#[derive(Default)]
struct Round {
    /// Writers connected and synced.
    connected: AtomicU64,
    /// Edits acknowledged so far, all writers together.
    acknowledged: AtomicU64,
    /// Writers with edits sent and not acknowledged right now.
    waiting: AtomicU64,
}

/// How one writer's connection went.
struct Writer {
    /// Markers acknowledged (`saved`), in order.
    acknowledged: Vec<String>,
    /// Markers sent and never acknowledged.
    unacknowledged: usize,
    /// The close frame the server sent, if it sent one.
    closed: Option<Close>,
    /// Whether the connection came up at all.
    connected: bool,
}

/// Streams edits until the connection dies.
async fn stream_edits(url: String, client: usize, round: u64, progress: Arc<Round>) -> Writer {
    let Some(mut c) = Client::try_connect(&url).await else {
        return Writer {
            acknowledged: Vec::new(),
            unacknowledged: 0,
            closed: None,
            connected: false,
        };
    };
    progress.connected.fetch_add(1, Ordering::SeqCst);
    // sent-frame number → marker; frame 1 was the handshake's step 2.
    let mut markers: Vec<Option<String>> = vec![None; c.sent() as usize];
    let mut reported = 0u64;
    let mut waiting = false;
    let mut i = 0u64;
    while !c.ended && c.closed.is_none() && !c.send_failed {
        let marker = format!("<r{round}c{client}e{i}>");
        i += 1;
        // Appending keeps markers intact (nobody deletes).
        c.insert(c.len(), &marker).await;
        markers.push(Some(marker));
        // Take in acknowledgements; tolerate the socket dying.
        if !c.step(Duration::from_millis(1)).await {
            break;
        }
        let acknowledged = markers
            .iter()
            .take(c.saved() as usize)
            .filter(|m| m.is_some())
            .count() as u64;
        progress
            .acknowledged
            .fetch_add(acknowledged - reported, Ordering::SeqCst);
        reported = acknowledged;
        let now_waiting = c.saved() < c.sent();
        if now_waiting != waiting {
            if now_waiting {
                progress.waiting.fetch_add(1, Ordering::SeqCst);
            } else {
                progress.waiting.fetch_sub(1, Ordering::SeqCst);
            }
            waiting = now_waiting;
        }
        if i.is_multiple_of(8) {
            tokio::task::yield_now().await;
        }
    }
    // Whatever the server sent before dying (a close frame would be here).
    c.drain().await;
    let saved = c.saved() as usize;
    let unacknowledged = markers.iter().skip(saved).filter(|m| m.is_some()).count();
    Writer {
        acknowledged: markers.into_iter().take(saved).flatten().collect(),
        unacknowledged,
        closed: c.closed.clone(),
        connected: true,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_edits_survive_sigkill() {
    let dir = TempDir::new("crash");
    let mut acknowledged: Vec<String> = Vec::new();
    let mut rng = fastrand::Rng::with_seed(0x7a6d_656d);
    for round in 0..ITERATIONS {
        let server = TandemProcess::start(dir.path(), UNLIMITED);
        // The server's own connection runs with synchronous=FULL (2): the
        // setting is per connection, so only the server can report it.
        let opened = server
            .log_line("SQLite store opened")
            .unwrap_or_else(|| panic!("no store line in the log:\n{}", server.log_text()));
        assert!(
            opened.contains("synchronous=2"),
            "the server's SQLite connection is not synchronous=FULL: {opened}"
        );
        if round == 0 {
            // WAL is a property of the file: any connection reads it back.
            let db = dir.path().join(tandem_server::store::DB_FILE);
            let conn = rusqlite::Connection::open(db).expect("open the live database");
            let mode: String = conn
                .query_row("PRAGMA journal_mode", [], |row| row.get(0))
                .expect("journal_mode");
            assert_eq!(mode, "wal", "the live database is not in WAL mode");
        }
        let url = server.ws_url("crash-room");
        let progress = Arc::new(Round::default());
        let writers: Vec<_> = (0..CLIENTS)
            .map(|client| tokio::spawn(stream_edits(url.clone(), client, round, progress.clone())))
            .collect();
        // The seeded crash moment: every writer connected, this many edits
        // acknowledged, and some still waiting for theirs.
        let target = rng.u64(1..400);
        eventually(
            "acknowledged and unacknowledged edits before the kill",
            || {
                progress.connected.load(Ordering::SeqCst) == CLIENTS as u64
                    && progress.acknowledged.load(Ordering::SeqCst) >= target
                    && progress.waiting.load(Ordering::SeqCst) > 0
            },
        )
        .await;
        server.kill();
        let mut unacknowledged = 0;
        let mut this_round = 0;
        for writer in writers {
            let writer = writer.await.expect("writer task");
            assert!(writer.connected, "round {round}: a writer never connected");
            assert_eq!(
                writer.closed, None,
                "round {round}: a writer was closed by the server before the kill"
            );
            unacknowledged += writer.unacknowledged;
            this_round += writer.acknowledged.len();
            acknowledged.extend(writer.acknowledged);
        }
        assert!(
            this_round > 0 && unacknowledged > 0,
            "round {round}: {this_round} acknowledged and {unacknowledged} unacknowledged edits at the kill; both must happen"
        );

        let server = TandemProcess::start(dir.path(), UNLIMITED);
        let reader = Client::connect(&server.ws_url("crash-room")).await;
        let text = reader.content();
        let missing: Vec<&String> = acknowledged
            .iter()
            .filter(|m| !text.contains(m.as_str()))
            .collect();
        assert!(
            missing.is_empty(),
            "round {round} (killed after {target}+ acknowledged edits): {} of {} acknowledged edits lost, e.g. {:?}",
            missing.len(),
            acknowledged.len(),
            &missing[..missing.len().min(5)]
        );
        for marker in &acknowledged {
            assert_eq!(
                text.matches(marker.as_str()).count(),
                1,
                "{marker} appears once"
            );
        }
        eprintln!(
            "round {round}: killed with {this_round} acknowledged and {unacknowledged} unacknowledged edits; {} acknowledged so far, all present",
            acknowledged.len()
        );
        server.kill();
    }
}
