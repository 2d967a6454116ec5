//! Helpers of the cluster tests (`cluster.rs`, `cluster_nginx.rs`): the
//! PostgreSQL and Redis `cargo xtask test` provides, in-process nodes on
//! them, typing and waiting for convergence.

#![allow(dead_code, unreachable_pub, unused_imports)] // each test binary uses a different part

use std::sync::Arc;
use std::time::Duration;

use tandem_server::config::StoreKind;
use tandem_server::store::{PostgresStore, Store};
use tandem_testkit::{Client, DEADLINE, Storage, TempDir, TestServer, poll, test_config};
pub use tandem_testkit::{DATABASE_URL_ENV, REDIS_URL_ENV, required};

/// The `redis-server` binary the tests that stop and restart Redis run.
pub const REDIS_SERVER_ENV: &str = "TANDEM_TEST_REDIS_SERVER";

/// A fresh database on the test server, as a URL.
pub async fn fresh_database() -> String {
    let admin = required(DATABASE_URL_ENV);
    let name = format!(
        "tandem_cluster_{}_{}",
        std::process::id(),
        fastrand::u32(..)
    );
    let sql = format!("CREATE DATABASE {name}");
    let url = admin.clone();
    tokio::task::spawn_blocking(move || {
        let mut client = postgres::Client::connect(&url, postgres::NoTls)
            .expect("connect to the test PostgreSQL");
        client.batch_execute(&sql).expect("create a test database");
    })
    .await
    .expect("create database task");
    // The same server and credentials, the new database.
    let base = admin
        .rsplit_once('/')
        .map_or(admin.as_str(), |(base, _)| base)
        .to_string();
    format!("{base}/{name}")
}

/// The text PostgreSQL holds for `room`, read straight from the store.
pub async fn stored_text(database: &str, room: &str) -> String {
    let url = database.parse().expect("database URL");
    let room = tandem_shared::RoomId::new(room).expect("room name");
    tokio::task::spawn_blocking(move || {
        use yrs::{GetString, Transact};
        let store = PostgresStore::open(&url).expect("open the store");
        let (doc, skipped) = store.load(&room).expect("load").to_doc();
        assert!(
            skipped.is_empty(),
            "stored updates that do not apply: {skipped:?}"
        );
        let text = doc.get_or_insert_text(tandem_shared::doc::CONTENT);
        text.get_string(&doc.transact())
    })
    .await
    .expect("load task")
}

/// A room name no other test (or earlier run on the same Redis) uses.
pub fn unique_room(tag: &str) -> String {
    format!("{tag}-{:08x}", fastrand::u32(..))
}

/// An in-process node on `database` and `redis`.
pub async fn node(database: &str, redis: &str) -> TestServer {
    node_with(database, redis, |_| {}).await
}

/// [`node`] with its configuration tuned first.
pub async fn node_with(
    database: &str,
    redis: &str,
    tune: impl FnOnce(&mut tandem_server::Config),
) -> TestServer {
    let dir = TempDir::new("cluster-node");
    let mut config = test_config(dir.path());
    tune(&mut config);
    config.store = StoreKind::Postgres;
    config.database_url = Some(database.parse().expect("database URL"));
    config.redis_url = Some(redis.parse().expect("redis URL"));
    let url = config.database_url.clone().expect("set above");
    let store = tokio::task::spawn_blocking(move || PostgresStore::open(&url))
        .await
        .expect("open task")
        .expect("open the PostgreSQL store");
    let store: Arc<dyn Store> = Arc::new(store);
    let server = TestServer::launch(config, Storage::Custom(store)).await;
    // The node's scratch directory holds nothing it needs (no SQLite).
    drop(dir);
    server
}

/// Inserts `chunks` at the end of the client's text, one update each.
pub async fn type_chunks(client: &mut Client, chunks: &[String]) {
    for chunk in chunks {
        let end = client.len();
        client.insert(end, chunk).await;
        client.drain().await;
    }
}

/// Pumps every client until all hold the same text containing every marker.
pub async fn converge(clients: &mut [Client], markers: &[String]) -> String {
    poll("every client to hold every marker", DEADLINE, async || {
        for client in clients.iter_mut() {
            client.step(Duration::from_millis(5)).await;
        }
        let first = clients[0].content();
        let same = clients.iter().all(|c| c.content() == first);
        if same && markers.iter().all(|m| first.contains(m.as_str())) {
            Ok(first)
        } else {
            let lengths: Vec<usize> = clients.iter().map(|c| c.content().len()).collect();
            Err(format!("texts of lengths {lengths:?}"))
        }
    })
    .await
}

pub fn markers(tag: &str, count: usize) -> Vec<String> {
    (0..count).map(|i| format!("[{tag}{i}]")).collect()
}

pub fn assert_each_once(text: &str, markers: &[String]) {
    for marker in markers {
        assert_eq!(
            text.matches(marker.as_str()).count(),
            1,
            "{marker} appears once in {text}"
        );
    }
}
