//! The repository's nginx configuration (`deploy/nginx.conf`) in front of
//! two nodes on one PostgreSQL and Redis: Debian's nginx runs the file with
//! only its upstream servers and listen port replaced.
//!
//! - A browser-like upgrade (with an `Origin`) through the proxy is
//!   accepted: the proxy passes `Host` with its port.
//! - Each room's clients land on one node (consistent hashing on the room)
//!   and converge; different rooms use both nodes.
//! - When a room's node stops, its clients come back through the proxy to
//!   the other node with nothing acknowledged lost.

mod cluster_support;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use cluster_support::*;
use tandem_testkit::{Client, DEADLINE, TempDir, TestServer, socket};

const NGINX_ENV: &str = "TANDEM_TEST_NGINX";

/// nginx running `deploy/nginx.conf` in front of `nodes`; killed on drop.
struct Proxy {
    port: u16,
    child: Child,
    dir: TempDir,
}

impl Proxy {
    fn start(nodes: &[&TestServer]) -> Self {
        let binary = std::env::var(NGINX_ENV).unwrap_or_else(|_| "/usr/sbin/nginx".into());
        let source = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy/nginx.conf");
        let config = std::fs::read_to_string(&source).expect("read deploy/nginx.conf");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let upstreams: Vec<String> = config
            .lines()
            .filter(|l| l.trim_start().starts_with("server 127.0.0.1:"))
            .map(str::to_string)
            .collect();
        assert_eq!(
            upstreams.len(),
            2,
            "deploy/nginx.conf names two upstream servers"
        );
        let mut config = config.replace("listen 8080;", &format!("listen 127.0.0.1:{port};"));
        for (line, node) in upstreams.iter().zip(nodes) {
            let ours = line.replacen(
                line.split_whitespace().nth(1).expect("an address"),
                &node.addr.to_string(),
                1,
            );
            config = config.replacen(line.as_str(), &ours, 1);
        }
        let dir = TempDir::new("cluster-nginx");
        std::fs::create_dir_all(dir.path().join("logs")).expect("logs dir");
        let file = dir.path().join("nginx.conf");
        std::fs::write(&file, config).expect("write the config");
        let globals = format!(
            "daemon off; pid {0}/nginx.pid; error_log {0}/error.log;",
            dir.path().display()
        );
        let child = Command::new(&binary)
            .arg("-c")
            .arg(&file)
            .arg("-p")
            .arg(format!("{}/", dir.path().display()))
            .args(["-g", &globals])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {binary} (set {NGINX_ENV}): {e}"));
        let deadline = std::time::Instant::now() + DEADLINE;
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "nginx did not listen: {}",
                std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Self { port, child, dir }
    }

    fn ws_url(&self, room: &str) -> String {
        tandem_shared::RoomId::new(room)
            .expect("room name")
            .ws_url(&format!("ws://127.0.0.1:{}", self.port))
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = &self.dir;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_keeps_each_room_on_one_node_and_moves_it_when_the_node_stops() {
    let database = fresh_database().await;
    let redis = required(REDIS_URL_ENV);
    let mut a = node(&database, &redis).await;
    let b = node(&database, &redis).await;
    let proxy = Proxy::start(&[&a, &b]);

    // A browser's upgrade: its Origin is the proxy's address, which the
    // node sees as Host only if the proxy passes the port along.
    let origin = format!("http://127.0.0.1:{}", proxy.port);
    let room = unique_room("origin");
    let upgraded = socket::open_with_headers(&proxy.ws_url(&room), &[("Origin", &origin)]).await;
    assert!(
        upgraded.is_ok(),
        "an upgrade with the proxy's Origin: {upgraded:?}"
    );

    let rooms: Vec<String> = (0..12).map(|i| unique_room(&format!("hash{i}"))).collect();
    let mut per_room = Vec::new();
    for room in &rooms {
        let mut first = Client::connect(&proxy.ws_url(room)).await;
        let mut second = Client::connect(&proxy.ws_url(room)).await;
        let chunks = markers(&format!("{room}-"), 3);
        type_chunks(&mut first, &chunks).await;
        first.wait_saved().await;
        second
            .pump_until("the room's other client sees the edits", |c| {
                c.content().contains(chunks[2].as_str())
            })
            .await;
        per_room.push((first, second, chunks));
    }
    let on_a = rooms
        .iter()
        .filter(|room| {
            a.state
                .registry
                .is_loaded(&tandem_shared::RoomId::new(room.as_str()).expect("room"))
        })
        .count();
    let on_b = rooms
        .iter()
        .filter(|room| {
            b.state
                .registry
                .is_loaded(&tandem_shared::RoomId::new(room.as_str()).expect("room"))
        })
        .count();
    assert_eq!(
        on_a + on_b,
        rooms.len(),
        "each room is loaded on exactly one node ({on_a} + {on_b})"
    );
    assert!(
        on_a > 0 && on_b > 0,
        "rooms spread over both nodes ({on_a} and {on_b})"
    );

    // Stop node a: its clients are closed (1001) and come back through the
    // proxy, which sends them to node b.
    let moved: Vec<usize> = rooms
        .iter()
        .enumerate()
        .filter(|(_, room)| {
            a.state
                .registry
                .is_loaded(&tandem_shared::RoomId::new(room.as_str()).expect("room"))
        })
        .map(|(i, _)| i)
        .collect();
    a.stop().await;
    for i in moved {
        let (first, _, chunks) = &per_room[i];
        let mut back = Client::connect_with(&proxy.ws_url(&rooms[i]), first.doc().clone()).await;
        back.wait_saved().await;
        let mut fresh = vec![Client::connect(&proxy.ws_url(&rooms[i])).await, back];
        converge(&mut fresh, chunks).await;
        assert!(
            b.state
                .registry
                .is_loaded(&tandem_shared::RoomId::new(rooms[i].as_str()).expect("room")),
            "the room moved to node b"
        );
    }
}
