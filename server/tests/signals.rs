//! SIGTERM and Ctrl-C (SIGINT) to the real `tandem` binary: every client is
//! told 1001 (going away), every acknowledged edit is on disk when the
//! process is gone, and the process exits within `--shutdown-timeout` even
//! with a client that stopped reading.
//!
//! Signals go through kill(1) (the workspace forbids the unsafe code a
//! direct kill(2) would need); the database is reopened after the process
//! exited, with no server in between.

mod support;

use std::time::Duration;

use futures_util::StreamExt as _;
use support::process::TandemProcess;
use tandem_server::store::{SqliteStore, Store as _};
use tandem_shared::RoomId;
use tandem_shared::close::CloseCode;
use tandem_testkit::socket::close_of;
use tandem_testkit::{Client, DEADLINE, TempDir};
use tokio_tungstenite::tungstenite::Message;
use yrs::{GetString as _, Transact as _};

/// The shutdown budget given to the server.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(2);

/// A client that wrote `markers` one update each after its handshake.
struct Writer {
    client: Client,
    room: &'static str,
    markers: Vec<String>,
}

impl Writer {
    /// The markers the server acknowledged (frame 1 was the handshake's step 2).
    fn acknowledged(&self) -> &[String] {
        let saved = self.client.saved().saturating_sub(1) as usize;
        &self.markers[..saved.min(self.markers.len())]
    }
}

/// The body of `room` as stored in `dir`, read with no server running.
fn stored_text(dir: &std::path::Path, room: &str) -> String {
    let store = SqliteStore::open(dir).expect("reopen the database");
    let stored = store
        .load(&RoomId::new(room).expect("room"))
        .expect("load the room");
    let (doc, skipped) = stored.to_doc();
    assert!(skipped.is_empty(), "entries that do not apply: {skipped:?}");
    let text = doc.get_or_insert_text(tandem_shared::doc::CONTENT);
    text.get_string(&doc.transact())
}

async fn shutdown_on(signal: &str) {
    let dir = TempDir::new(&format!("signal-{signal}"));
    let timeout = format!("{}s", SHUTDOWN_TIMEOUT.as_secs());
    let mut server = TandemProcess::start(dir.path(), &["--shutdown-timeout", &timeout]);

    let mut writers = Vec::new();
    for (n, room) in ["signal-a", "signal-a", "signal-b"].into_iter().enumerate() {
        let mut client = Client::connect(&server.ws_url(room)).await;
        let mut markers = Vec::new();
        for i in 0..20 {
            let marker = format!("<w{n}e{i}>");
            client.insert(client.len(), &marker).await;
            markers.push(marker);
        }
        client.wait_saved().await;
        writers.push(Writer {
            client,
            room,
            markers,
        });
    }
    // Edits still on their way when the signal arrives.
    for (n, writer) in writers.iter_mut().enumerate() {
        for i in 20..30 {
            let marker = format!("<w{n}e{i}>");
            writer.client.insert(writer.client.len(), &marker).await;
            writer.markers.push(marker);
        }
    }
    // A client that stopped reading: it must not hold the process past its
    // shutdown budget, and its going-away close waits in its socket.
    let mut stalled = tandem_testkit::socket::open(&server.ws_url("signal-b"))
        .await
        .expect("connect");

    server.signal(signal);
    let mut acknowledged = Vec::new();
    for mut writer in writers {
        let (code, reason) = writer.client.expect_close().await;
        assert_eq!(
            code,
            CloseCode::GoingAway,
            "after SIG{signal}, {} got {reason:?}",
            writer.room
        );
        acknowledged.push((writer.room, writer.acknowledged().to_vec()));
        // Completes the close handshake.
        writer.client.close().await;
    }
    // Generous: the budget, plus time for a loaded machine to start and end a process.
    let status = server.wait_exit(SHUTDOWN_TIMEOUT + DEADLINE).await;
    assert!(
        status.success(),
        "tandem exited with {status} after SIG{signal}:\n{}",
        server.log_text()
    );
    let close = tokio::time::timeout(DEADLINE, async {
        while let Some(Ok(message)) = stalled.next().await {
            if let Message::Close(frame) = message {
                return Some(close_of(frame.as_ref()));
            }
        }
        None
    })
    .await
    .expect("the stalled client's socket ends");
    assert_eq!(
        close.map(|c| c.code),
        Some(CloseCode::GoingAway),
        "the client that stopped reading was told 1001 too"
    );

    for (room, markers) in &acknowledged {
        let stored = stored_text(dir.path(), room);
        let lost: Vec<&String> = markers
            .iter()
            .filter(|m| stored.matches(m.as_str()).count() != 1)
            .collect();
        assert!(
            lost.is_empty(),
            "after SIG{signal}, acknowledged edits not on disk exactly once in {room}: {lost:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_closes_with_going_away_and_keeps_acknowledged_edits() {
    shutdown_on("TERM").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_closes_with_going_away_and_keeps_acknowledged_edits() {
    shutdown_on("INT").await;
}
