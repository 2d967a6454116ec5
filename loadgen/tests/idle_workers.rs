//! The idle workers of the cluster section, through the real path: the
//! `tandem-load` binary run as `idle-worker` against a real server on
//! loopback, reporting over its stdout, told to close over its stdin.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use tandem_loadgen::idle::IdleSpec;
use tandem_loadgen::idle_workers::{Worker, WorkerSpec};
use tandem_loadgen::target::{ServerKind, Target};
use tandem_testkit::TestServer;

fn exe() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_tandem-load"))
}

fn spec(addr: std::net::SocketAddr, connections: usize) -> WorkerSpec {
    WorkerSpec {
        target: Target {
            kind: ServerKind::Tandem,
            addr,
        },
        prefix: format!("worker-test-{:08x}", fastrand::u32(..)),
        idle: IdleSpec {
            connections,
            per_room: 50,
            sources: 8,
            budget: Duration::from_secs(60),
        },
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_worker_opens_its_share_holds_it_and_reports() {
    let (server, _store) = TestServer::memory().await;
    let mut worker = Worker::start(exe(), &spec(server.addr, 120)).expect("the worker starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    let opened = tokio::task::block_in_place(|| worker.opened(deadline)).expect("a report");
    assert_eq!(opened.opened, 120, "{opened:?}");
    assert_eq!(opened.stopped, None);
    // Held: the server counts them while the worker waits on its stdin.
    let open_now = server.state.limits.open();
    assert_eq!(open_now, 120);
    let closing = tokio::task::block_in_place(|| worker.close(deadline)).expect("a last report");
    assert_eq!(closing.alive, 120);
    tandem_testkit::eventually("the server sees the connections close", || {
        server.state.limits.open() == 0
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_worker_that_is_refused_says_why_it_stopped() {
    let (server, _store) = TestServer::memory_with(|c| c.max_connections = 30).await;
    let mut worker = Worker::start(exe(), &spec(server.addr, 200)).expect("the worker starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    let opened = tokio::task::block_in_place(|| worker.opened(deadline)).expect("a report");
    assert!(opened.opened <= 30, "{opened:?}");
    let why = opened.stopped.expect("it says why it stopped");
    assert!(why.contains("1013"), "{why}");
}

#[test]
fn a_worker_refuses_an_address_off_loopback() {
    let out = Command::new(exe())
        .args([
            "idle-worker",
            "--addr",
            "192.0.2.1:80",
            "--prefix",
            "x",
            "--connections",
            "1",
        ])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("only talks to loopback"), "{stderr}");
}
