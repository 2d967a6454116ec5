//! A cluster of nodes on one PostgreSQL and one Redis (issue 20), tested
//! against the real servers `cargo xtask test` provides
//! (`TANDEM_TEST_DATABASE_URL`, `TANDEM_TEST_REDIS_URL`; the tests fail,
//! never skip, without them). Each test has a database of its own and
//! rooms named uniquely, so tests share the Redis without meeting.
//!
//! - Three in-process nodes, clients spread over them typing at once:
//!   everyone converges, and a late joiner on any node gets the same text.
//! - A real `tandem` node killed with SIGKILL mid-typing: no acknowledged
//!   edit is lost, and its clients converge through another node.
//! - A private Redis stopped and restarted while clients type on two nodes.
//! - PostgreSQL connections cut while clients type: rooms close with 1011,
//!   clients resend, nothing acknowledged is lost.
//! - Compaction: three nodes compacting one room's log while all append;
//!   and a node cut off from the bus compacting while another node's rows
//!   it never received sit in the log (they must survive).
//! - A node that cannot reach PostgreSQL exits with one line naming the
//!   server; no password in errors or logs.
//! - Presence: people on one node see those on another, a room loaded late
//!   on a node shows the people already in it elsewhere (the presence
//!   query), and a dead node's people leave everyone's lists.

mod cluster_support;
mod support;

use cluster_support::*;

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

use support::process::{TandemProcess, wait_for_exit};
use support::proxy::FaultProxy;
use tandem_shared::close::CloseCode;
use tandem_testkit::{Client, DEADLINE, TempDir, poll};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_converge_and_a_late_joiner_on_any_node_gets_the_same_text() {
    let database = fresh_database().await;
    let redis = required(REDIS_URL_ENV);
    let nodes = [
        node(&database, &redis).await,
        node(&database, &redis).await,
        node(&database, &redis).await,
    ];
    let room = unique_room("three");
    let mut clients = Vec::new();
    for n in &nodes {
        for _ in 0..2 {
            clients.push(n.client(&room).await);
        }
    }
    // Everyone types at once: each client's chunks go out interleaved with
    // the others' frames arriving.
    let all: Vec<Vec<String>> = (0..clients.len())
        .map(|i| markers(&format!("c{i}-"), 15))
        .collect();
    for round in 0..15 {
        for (client, chunks) in clients.iter_mut().zip(&all) {
            type_chunks(client, &chunks[round..=round]).await;
        }
    }
    for client in &mut clients {
        client.wait_saved().await;
    }
    let every: Vec<String> = all.concat();
    let text = converge(&mut clients, &every).await;
    assert_each_once(&text, &every);

    for n in &nodes {
        let late = n.client(&room).await;
        assert_eq!(
            late.content(),
            text,
            "a late joiner on {} sees the same text",
            n.addr
        );
    }

    // What an operator watches on the cross-node path moved (in-process
    // nodes share one metrics recorder, so this is the nodes' sum).
    let (status, metrics) = nodes[0].get("/metrics").await;
    assert_eq!(status, 200);
    for series in [
        "tandem_store_commit_seconds_count",
        "tandem_bus_publish_seconds_count",
        "tandem_bus_delivery_seconds_count",
    ] {
        assert!(
            sample_count(&metrics, series) > 0.0,
            "{series} in {metrics}"
        );
    }
}

/// The value of an unlabelled series in Prometheus text (0 when absent).
fn sample_count(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_mid_typing_loses_no_acknowledged_edit() {
    let database = fresh_database().await;
    let redis = required(REDIS_URL_ENV);
    let dir = TempDir::new("cluster-kill");
    let victim = TandemProcess::start(
        dir.path(),
        &[
            "--store",
            "postgres",
            "--database-url",
            &database,
            "--redis-url",
            &redis,
        ],
    );
    assert!(
        !victim.log_text().contains("postgres://postgres@"),
        "the log shows the URL with its user: {}",
        victim.log_text()
    );
    let survivor = node(&database, &redis).await;
    let room = unique_room("kill");
    let mut on_victim = Client::connect(&victim.ws_url(&room)).await;
    let mut on_survivor = survivor.client(&room).await;

    let first = markers("v", 20);
    let theirs = markers("s", 20);
    for i in 0..20 {
        type_chunks(&mut on_victim, &first[i..=i]).await;
        type_chunks(&mut on_survivor, &theirs[i..=i]).await;
    }
    on_survivor.wait_saved().await;
    // Some of the victim's client's edits acknowledged, then more typed
    // that may or may not be committed when the node dies.
    on_victim
        .pump_until("some edits saved", |c| c.saved() >= 5)
        .await;
    let late = markers("late", 10);
    type_chunks(&mut on_victim, &late).await;
    on_victim.drain().await;
    let acknowledged = on_victim.saved() as usize;
    victim.kill();

    let sent: Vec<String> = first.iter().chain(&late).cloned().collect();
    let acked = &sent[..acknowledged.min(sent.len())];
    // What the survivor holds now: every acknowledged edit of the dead
    // node's client, even before that client comes back.
    on_survivor
        .pump_until("the dead node's acknowledged edits", |c| {
            let text = c.content();
            acked.iter().all(|m| text.contains(m.as_str()))
        })
        .await;
    let stored = stored_text(&database, &room).await;
    for marker in acked {
        assert!(
            stored.contains(marker.as_str()),
            "acknowledged {marker} not in PostgreSQL: {stored}"
        );
    }
    let fresh = survivor.client(&room).await;

    // The dead node's client comes back through the survivor with its
    // replica and resends what was not acknowledged.
    let doc = on_victim.doc().clone();
    let mut back = Client::connect_with(&survivor.ws_url(&room), doc).await;
    back.wait_saved().await;
    let every: Vec<String> = sent.iter().chain(&theirs).cloned().collect();
    let mut clients = vec![back, on_survivor, fresh];
    let text = converge(&mut clients, &every).await;
    assert_each_once(&text, &every);
}

/// A private Redis on a fixed port, to stop and start again.
struct PrivateRedis {
    port: u16,
    dir: TempDir,
    child: Option<Child>,
}

impl PrivateRedis {
    async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let mut redis = Self {
            port,
            dir: TempDir::new("cluster-redis"),
            child: None,
        };
        redis.resume().await;
        redis
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    async fn resume(&mut self) {
        let binary = std::env::var(REDIS_SERVER_ENV).unwrap_or_else(|_| "redis-server".into());
        let child = Command::new(&binary)
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--dir"])
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {binary} (set {REDIS_SERVER_ENV}): {e}"));
        self.child = Some(child);
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        poll("redis-server to listen", DEADLINE, async || {
            tokio::net::TcpStream::connect(addr)
                .await
                .map(drop)
                .map_err(|e| e.to_string())
        })
        .await;
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_stopped_and_restarted_while_clients_type() {
    let database = fresh_database().await;
    let mut redis = PrivateRedis::start().await;
    let a = node(&database, &redis.url()).await;
    let b = node(&database, &redis.url()).await;
    let room = unique_room("redis");
    let mut on_a = a.client(&room).await;
    let mut on_a2 = a.client(&room).await;
    let mut on_b = b.client(&room).await;
    let before = markers("before", 5);
    type_chunks(&mut on_a, &before).await;
    on_a.wait_saved().await;
    on_b.pump_until("node b relays node a's edits", |c| {
        c.content().contains("[before4]")
    })
    .await;

    redis.stop();
    // Without Redis, each node keeps serving its own clients: edits are
    // committed and relayed on the node at once.
    let during_a = markers("during-a", 5);
    let during_b = markers("during-b", 5);
    type_chunks(&mut on_a, &during_a).await;
    type_chunks(&mut on_b, &during_b).await;
    on_a.wait_saved().await;
    on_b.wait_saved().await;
    on_a2
        .pump_until("a neighbour on the same node sees the edits", |c| {
            c.content().contains("[during-a4]")
        })
        .await;

    redis.resume().await;
    let after = markers("after", 3);
    type_chunks(&mut on_b, &after).await;
    on_b.wait_saved().await;
    let every: Vec<String> = [before, during_a, during_b, after].concat();
    let mut clients = vec![on_a, on_a2, on_b];
    let text = converge(&mut clients, &every).await;
    assert_each_once(&text, &every);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_connections_cut_close_rooms_with_1011_and_nothing_acknowledged_is_lost() {
    let database = fresh_database().await;
    let redis = required(REDIS_URL_ENV);
    // The node reaches PostgreSQL through a proxy that can cut every
    // connection, as a PostgreSQL restart does.
    let (host_port, db) = database
        .strip_prefix("postgres://")
        .and_then(|rest| rest.split_once('/'))
        .expect("a postgres:// URL with a database");
    let (userinfo, host_port) = host_port
        .rsplit_once('@')
        .map_or(("", host_port), |(u, h)| (u, h));
    let upstream: SocketAddr = host_port
        .parse()
        .expect("the test PostgreSQL is on an IP address");
    let proxy = FaultProxy::start(upstream).await;
    let at = if userinfo.is_empty() {
        String::new()
    } else {
        format!("{userinfo}@")
    };
    let through_proxy = format!("postgres://{at}{}/{db}", proxy.addr);
    let a = node(&through_proxy, &redis).await;
    let b = node(&database, &redis).await;
    let room = unique_room("pgcut");
    let mut on_a = a.client(&room).await;
    let on_b = b.client(&room).await;
    let before = markers("pre", 5);
    type_chunks(&mut on_a, &before).await;
    on_a.wait_saved().await;

    proxy.cut();
    let during = markers("cut", 5);
    type_chunks(&mut on_a, &during).await;
    let (code, _) = on_a.expect_close().await;
    assert_eq!(
        code,
        CloseCode::Internal,
        "a failed commit closes the room with 1011"
    );
    let acknowledged = on_a.saved() as usize;
    let sent: Vec<String> = before.iter().chain(&during).cloned().collect();

    // The client reconnects to the same node with its replica and resends.
    let mut back = Client::connect_with(&a.ws_url(&room), on_a.doc().clone()).await;
    back.wait_saved().await;
    let mut clients = vec![back, on_b];
    let text = converge(&mut clients, &sent).await;
    assert_each_once(&text, &sent);
    assert!(acknowledged >= before.len());

    // And it is all in the store: a fresh client on the other node.
    let stored = stored_text(&database, &room).await;
    for marker in &sent {
        assert!(
            stored.contains(marker.as_str()),
            "{marker} missing from PostgreSQL: {stored}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_cannot_reach_postgres_exits_with_one_line_and_no_password() {
    let dir = TempDir::new("cluster-unreachable");
    // A port nothing listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let url = format!("postgres://ana:hunter2@127.0.0.1:{port}/docs");
    let mut command = TandemProcess::command(dir.path(), &["--store", "postgres"]);
    let output = command
        .env("TANDEM_DATABASE_URL", &url)
        .output()
        .expect("run tandem");
    assert!(!output.status.success(), "tandem must exit with a failure");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "one error line: {stderr}");
    assert!(
        errors[0].contains(&format!("127.0.0.1:{port}")),
        "names the server: {stderr}"
    );
    assert!(!stderr.contains("hunter2"), "the password shows: {stderr}");

    // Running, a node names its database without the password too.
    let database = fresh_database().await;
    // The test server's URL with a password: its own if it has one, else
    // one added (the private server trusts loopback and ignores it).
    let (userinfo, rest) = database
        .strip_prefix("postgres://")
        .and_then(|r| r.split_once('@'))
        .expect("a test URL with a user");
    let (with_password, password) = match userinfo.split_once(':') {
        Some((_, password)) => (database.clone(), password.to_string()),
        None => (
            format!("postgres://{userinfo}:hunter2@{rest}"),
            "hunter2".to_string(),
        ),
    };
    let node = TandemProcess::start(
        dir.path(),
        &[
            "--store",
            "postgres",
            "--database-url",
            &with_password,
            "--redis-url",
            &required(REDIS_URL_ENV),
        ],
    );
    let log = node.log_text();
    assert!(log.contains("PostgreSQL store opened"), "{log}");
    assert!(!log.contains(&password), "the password shows: {log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_compacting_one_room_at_once_keep_every_row() {
    let database = fresh_database().await;
    let redis = required(REDIS_URL_ENV);
    // Every node compacts the room's shared log every few rows, while the
    // others keep appending to it.
    let tune = |c: &mut tandem_server::Config| c.compact_updates = 4;
    let nodes = [
        node_with(&database, &redis, tune).await,
        node_with(&database, &redis, tune).await,
        node_with(&database, &redis, tune).await,
    ];
    let room = unique_room("compact");
    let mut clients = Vec::new();
    for n in &nodes {
        clients.push(n.client(&room).await);
    }
    let all: Vec<Vec<String>> = (0..clients.len())
        .map(|i| markers(&format!("k{i}-"), 40))
        .collect();
    for round in 0..40 {
        for (client, chunks) in clients.iter_mut().zip(&all) {
            type_chunks(client, &chunks[round..=round]).await;
        }
    }
    for client in &mut clients {
        client.wait_saved().await;
    }
    let every: Vec<String> = all.concat();
    let text = converge(&mut clients, &every).await;
    assert_each_once(&text, &every);
    let stored = stored_text(&database, &room).await;
    for marker in &every {
        assert!(
            stored.contains(marker.as_str()),
            "{marker} lost from PostgreSQL: {stored}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_cut_off_from_the_bus_never_compacts_away_rows_it_lacks() {
    let database = fresh_database().await;
    let redis = required(REDIS_URL_ENV);
    let upstream: SocketAddr = redis
        .strip_prefix("redis://")
        .and_then(|rest| rest.split('/').next())
        .and_then(|addr| addr.parse().ok())
        .expect("the test Redis is redis://IP:PORT");
    let bus_link = FaultProxy::start(upstream).await;
    let tune = |c: &mut tandem_server::Config| c.compact_updates = 4;
    let a = node_with(&database, &redis, tune).await;
    let b = node_with(&database, &format!("redis://{}", bus_link.addr), tune).await;
    let room = unique_room("cutoff");
    let mut on_a = a.client(&room).await;
    let mut on_b = b.client(&room).await;

    // B hears nothing from the bus while A writes, then B writes: B's rows
    // come after A's in the shared log, and B compacts.
    bus_link.stall(true);
    let from_a = markers("a", 10);
    let from_b = markers("b", 10);
    type_chunks(&mut on_a, &from_a).await;
    on_a.wait_saved().await;
    type_chunks(&mut on_b, &from_b).await;
    on_b.wait_saved().await;
    let stored = stored_text(&database, &room).await;
    for marker in from_a.iter().chain(&from_b) {
        assert!(
            stored.contains(marker.as_str()),
            "{marker} was compacted away: {stored}"
        );
    }

    bus_link.stall(false);
    let every: Vec<String> = [from_a, from_b].concat();
    let mut clients = vec![on_a, on_b];
    let text = converge(&mut clients, &every).await;
    assert_each_once(&text, &every);
}

fn presence(name: &str) -> tandem_shared::Presence {
    tandem_shared::Presence {
        name: name.to_string(),
        color: "#336699".to_string(),
        cursor: None,
    }
}

fn sees(client: &Client, name: &str) -> bool {
    client.peers().values().any(|p| p.name == name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_crosses_nodes_and_a_dead_nodes_people_leave() {
    let database = fresh_database().await;
    let redis = required(REDIS_URL_ENV);
    let dir = TempDir::new("cluster-presence");
    let victim = TandemProcess::start(
        dir.path(),
        &[
            "--store",
            "postgres",
            "--database-url",
            &database,
            "--redis-url",
            &redis,
        ],
    );
    let survivor = node(&database, &redis).await;
    // A third node: every survivor must drop the dead node's people, not
    // only the first to notice the death.
    let other = node(&database, &redis).await;
    let room = unique_room("presence");
    let mut ana = Client::connect(&victim.ws_url(&room)).await;
    let mut bo = survivor.client(&room).await;
    let mut dee = other.client(&room).await;

    ana.send_presence(presence("Ana")).await;
    bo.pump_until("Bo sees Ana, who is on the other node", |c| sees(c, "Ana"))
        .await;
    dee.pump_until("Dee sees Ana, on a third node", |c| sees(c, "Ana"))
        .await;
    bo.send_presence(presence("Bo")).await;
    ana.pump_until("Ana sees Bo", |c| sees(c, "Bo")).await;
    let mut cy = survivor.client(&room).await;
    cy.pump_until("a joiner sees Ana in its welcome", |c| sees(c, "Ana"))
        .await;

    // The victim dies without a word: its liveness key expires and the
    // survivor drops its people.
    victim.kill();
    bo.pump_until("Ana leaves Bo's list", |c| !sees(c, "Ana"))
        .await;
    cy.pump_until("Ana leaves Cy's list", |c| !sees(c, "Ana"))
        .await;
    dee.pump_until("Ana leaves the list on the third node too", |c| {
        !sees(c, "Ana")
    })
    .await;
    assert!(sees(&cy, "Bo"), "Bo, on the survivor, is still listed");
}

/// Waits until `room`'s stream in Redis holds an entry: what a node has
/// published there is in Redis, not in flight.
async fn wait_for_stream_entry(redis: &str, room: &str) {
    let client = redis::Client::open(redis).expect("redis URL");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect to the test Redis");
    let key = format!("tandem:room:{room}");
    poll(&format!("an entry in {key}"), DEADLINE, async || {
        let len: u64 = redis::cmd("XLEN")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .expect("XLEN");
        if len > 0 {
            Ok(())
        } else {
            Err("an empty stream".to_owned())
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_loaded_late_on_a_node_shows_the_people_already_in_it_elsewhere() {
    let database = fresh_database().await;
    let redis = required(REDIS_URL_ENV);
    let a = node(&database, &redis).await;
    let b = node(&database, &redis).await;
    let room = unique_room("late-presence");
    let mut ana = a.client(&room).await;
    ana.send_presence(presence("Ana")).await;
    // Ana's presence is in Redis before node B has ever loaded the room,
    // and Ana stays still from now on.
    wait_for_stream_entry(&redis, &room).await;
    let mut bo = b.client(&room).await;
    bo.pump_until(
        "Bo, joining on a node that loads the room now, sees Ana",
        |c| sees(c, "Ana"),
    )
    .await;
    // And the other way round: Ana sees Bo as soon as Bo says who he is.
    bo.send_presence(presence("Bo")).await;
    ana.pump_until("Ana sees Bo", |c| sees(c, "Bo")).await;
}

#[tokio::test]
async fn the_bus_without_a_shared_store_is_refused_at_start_up() {
    let dir = TempDir::new("cluster-bus-sqlite");
    let mut child = TandemProcess::command(dir.path(), &["--redis-url", "redis://127.0.0.1:1"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run tandem");
    let status = wait_for_exit(&mut child, DEADLINE, || {
        "tandem started with --redis-url on SQLite instead of refusing".to_owned()
    })
    .await;
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        use std::io::Read;
        let _ = pipe.read_to_string(&mut stderr);
    }
    assert!(!status.success(), "tandem must refuse to start");
    assert!(
        stderr.contains("the bus needs --store postgres"),
        "says why: {stderr}"
    );
}

/// Whether a connection to `url` is refused with the room-full close.
async fn refused_as_room_full(url: &str) {
    let mut refused = Client::upgrade_only(url).await.expect("upgrade");
    let (code, reason) = refused.expect_close().await;
    assert_eq!(code, CloseCode::TryAgainLater, "{reason}");
    assert!(reason.contains("too many people"), "{reason}");
    assert!(
        tandem_shared::close::retry_after(&reason).is_some_and(|s| (10..=30).contains(&s)),
        "{reason}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_limit_counts_the_whole_cluster_and_falls_back_to_local_counts() {
    let database = fresh_database().await;
    let mut redis = PrivateRedis::start().await;
    let room_of_two = |c: &mut tandem_server::Config| c.max_room_connections = 2;
    let a = node_with(&database, &redis.url(), room_of_two).await;
    let b = node_with(&database, &redis.url(), room_of_two).await;

    // Two on node A fill the room for node B too.
    let room = unique_room("limit");
    let _a1 = a.client(&room).await;
    let _a2 = a.client(&room).await;
    refused_as_room_full(&b.ws_url(&room)).await;

    // Redis gone: each node counts its own connections only, so node B
    // takes two in the room and refuses a third, as node A does.
    redis.stop();
    let _b1 = b.client(&room).await;
    let _b2 = b.client(&room).await;
    refused_as_room_full(&b.ws_url(&room)).await;
    refused_as_room_full(&a.ws_url(&room)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_limit_counts_the_whole_cluster() {
    let database = fresh_database().await;
    // A Redis of its own: every test's clients come from 127.0.0.1, so on
    // the shared one the other tests' connections would count too.
    let redis = PrivateRedis::start().await;
    let three_per_address = |c: &mut tandem_server::Config| c.max_connections_per_ip = 3;
    let a = node_with(&database, &redis.url(), three_per_address).await;
    let b = node_with(&database, &redis.url(), three_per_address).await;

    // Every test client comes from 127.0.0.1: two on node A and one on
    // node B, in different rooms, use the address's three places.
    let _a1 = a.client(&unique_room("addr")).await;
    let _a2 = a.client(&unique_room("addr")).await;
    let _b1 = b.client(&unique_room("addr")).await;
    let mut refused = Client::upgrade_only(&b.ws_url(&unique_room("addr")))
        .await
        .expect("upgrade");
    let (code, reason) = refused.expect_close().await;
    assert_eq!(code, CloseCode::TryAgainLater, "{reason}");
    assert!(
        reason.contains("too many connections from your address"),
        "{reason}"
    );
    assert!(
        tandem_shared::close::retry_after(&reason).is_some_and(|s| (5..=20).contains(&s)),
        "{reason}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_a_node_with_a_short_retry_hint_and_its_clients_resume_elsewhere() {
    let database = fresh_database().await;
    let redis = required(REDIS_URL_ENV);
    let dir = TempDir::new("cluster-drain");
    let mut draining = TandemProcess::start(
        dir.path(),
        &[
            "--store",
            "postgres",
            "--database-url",
            &database,
            "--redis-url",
            &redis,
        ],
    );
    let survivor = node(&database, &redis).await;
    let room = unique_room("drain");
    let mut leaving = Client::connect(&draining.ws_url(&room)).await;
    let staying = survivor.client(&room).await;
    let typed = markers("d", 10);
    type_chunks(&mut leaving, &typed).await;
    leaving.wait_saved().await;

    draining.signal("TERM");
    let (code, reason) = leaving.expect_close().await;
    assert_eq!(code, CloseCode::GoingAway, "{reason}");
    assert!(
        tandem_shared::close::retry_after(&reason).is_some_and(|s| s <= 2),
        "a drain hints a return within 2 s: {reason}"
    );
    assert!(draining.wait_exit(DEADLINE).await.success());

    // It comes back on the other node (the load balancer's choice once the
    // drained node stops listening) with nothing lost.
    let doc = leaving.doc().clone();
    let back = Client::connect_with(&survivor.ws_url(&room), doc).await;
    let mut clients = vec![back, staying];
    let text = converge(&mut clients, &typed).await;
    assert_each_once(&text, &typed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_open_on_another_node_cannot_be_claimed() {
    let database = fresh_database().await;
    let redis = PrivateRedis::start().await;
    let a = node(&database, &redis.url()).await;
    let b = node(&database, &redis.url()).await;
    let claim = |room: &str| format!(r#"{{"name":"{room}"}}"#);

    // Someone has the room open on node B and has not written anything:
    // node A's actor for it has no members, but the claim is still refused.
    let room = unique_room("claim");
    let reader = b.client(&room).await;
    let (status, body) =
        tandem_testkit::http(a.addr, "POST", "/api/rooms", None, &claim(&room)).await;
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("this document is open"), "{body}");

    // Once they have gone (uncounted at node B's next beat), it can be.
    reader.close().await;
    poll(
        "the claim to succeed once the reader left",
        DEADLINE,
        async || {
            let (status, body) =
                tandem_testkit::http(a.addr, "POST", "/api/rooms", None, &claim(&room)).await;
            match status {
                201 => Ok(()),
                409 => Err(body),
                other => panic!("a claim answers 201 or 409, not {other}: {body}"),
            }
        },
    )
    .await;
}
