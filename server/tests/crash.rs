//! Crash safety: every edit the server acknowledged survives SIGKILL.
//!
//! The harness runs the real `tandem` binary on a SQLite data directory.
//! Several clients stream unique edits and record which ones were
//! acknowledged (`saved`); the server is killed with SIGKILL at a seeded
//! random moment and restarted on the same directory; every acknowledged edit
//! must be in the document. The directory carries over between iterations, so
//! later rounds also check everything acknowledged in earlier ones.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tandem_shared::RoomId;
use tandem_testkit::{Client, DEADLINE, TempDir};

const ITERATIONS: u64 = 8;
const CLIENTS: usize = 3;

struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start(data_dir: &std::path::Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tandem"))
            .args([
                "--listen",
                "127.0.0.1:0",
                "--static-dir",
                "/nonexistent",
                "--log",
                "info",
            ])
            .arg("--data-dir")
            .arg(data_dir)
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the tandem binary");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if !sent && let Some(rest) = line.split("listening on http://").nth(1) {
                    let addr: SocketAddr = rest.trim().parse().expect("address in the log");
                    let _ = tx.send(addr);
                    sent = true;
                }
            }
        });
        let addr = rx
            .recv_timeout(DEADLINE)
            .expect("server reports its address");
        Self { child, addr }
    }

    fn ws_url(&self, room: &str) -> String {
        RoomId::new(room)
            .expect("a room name")
            .ws_url(&format!("ws://{}", self.addr), None)
    }

    fn kill(mut self) {
        // std's kill is SIGKILL on Unix: no shutdown path runs.
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reap");
    }
}

/// Streams edits until the connection dies; returns the markers acknowledged.
async fn stream_edits(url: String, client: usize, round: u64) -> Vec<String> {
    let Some(mut c) = Client::try_connect(&url).await else {
        return Vec::new();
    };
    // sent-frame number → marker; frame 1 was the handshake's step 2.
    let mut markers: Vec<Option<String>> = vec![None; c.sent() as usize];
    let mut i = 0u64;
    loop {
        let marker = format!("<r{round}c{client}e{i}>");
        i += 1;
        if c.ended || c.closed.is_some() {
            break;
        }
        // Appending keeps markers intact (nobody deletes).
        c.insert(c.len(), &marker).await;
        markers.push(Some(marker));
        // Some acknowledgement traffic; tolerate the socket dying.
        if !c.step(Duration::from_millis(1)).await {
            break;
        }
        if i.is_multiple_of(8) {
            tokio::task::yield_now().await;
        }
    }
    markers
        .into_iter()
        .take(c.saved() as usize)
        .flatten()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_edits_survive_sigkill() {
    let dir = TempDir::new("crash");
    let mut acknowledged: Vec<String> = Vec::new();
    let mut rng = fastrand::Rng::with_seed(0x7a6d_656d);
    for round in 0..ITERATIONS {
        let server = Server::start(dir.path());
        let url = server.ws_url("crash-room");
        let writers: Vec<_> = (0..CLIENTS)
            .map(|client| tokio::spawn(stream_edits(url.clone(), client, round)))
            .collect();
        let kill_after = Duration::from_millis(rng.u64(50..600));
        tokio::time::sleep(kill_after).await; // the seeded crash moment, not a wait for a condition
        server.kill();
        for writer in writers {
            acknowledged.extend(writer.await.expect("writer task"));
        }

        let server = Server::start(dir.path());
        let reader = Client::connect(&server.ws_url("crash-room")).await;
        let text = reader.content();
        let missing: Vec<&String> = acknowledged
            .iter()
            .filter(|m| !text.contains(m.as_str()))
            .collect();
        assert!(
            missing.is_empty(),
            "round {round} (killed after {kill_after:?}): {} of {} acknowledged edits lost, e.g. {:?}",
            missing.len(),
            acknowledged.len(),
            &missing[..missing.len().min(5)]
        );
        eprintln!(
            "round {round}: killed after {kill_after:?}; {} acknowledged edits so far, all present",
            acknowledged.len()
        );
        for marker in &acknowledged {
            assert_eq!(
                text.matches(marker.as_str()).count(),
                1,
                "{marker} appears once"
            );
        }
        server.kill();
    }
    assert!(
        acknowledged.len() > ITERATIONS as usize,
        "the harness acknowledged edits at all"
    );
}
