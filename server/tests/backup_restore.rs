//! `tandem backup` while people type, and `tandem restore`: the real binary
//! serving, native clients typing into it over real sockets, the backup
//! and restore commands run as an operator runs them.
//!
//! What must hold: every edit a client was told is `saved` before the
//! backup began is in the copy; a copy restored into a fresh data
//! directory serves it; a store in use is never replaced; and for
//! PostgreSQL the documented path (pg_dump, pg_restore into an empty
//! database) brings a store back whole.

mod cluster_support;
mod support;

use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use support::process::TandemProcess;
use tandem_testkit::{Client, DEADLINE, TempDir, eventually};

/// Runs `tandem ARGS` to completion (the operator's command line).
async fn tandem(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_tandem"))
            .args(&args)
            .env_remove("RUST_LOG")
            .env_remove("TANDEM_DATA_DIR")
            .env_remove("TANDEM_STORE")
            .output()
            .expect("run tandem")
    })
    .await
    .expect("the command's task")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn arg(path: &Path) -> String {
    path.to_str().expect("a UTF-8 path").to_owned()
}

/// `[a17]`: the 18th marker client `a` typed.
fn marker(who: char, n: usize) -> String {
    format!("[{who}{n}]")
}

/// One client typing a marker every 10 ms (well inside the server's rate
/// limit) at the end of the body until `stop`, publishing how many of its
/// markers the server has acknowledged. Its first frame is its step 2, so
/// after `saved = n` its first `n - 1` markers are durable.
fn typist(
    mut client: Client,
    who: char,
    stop: Arc<AtomicBool>,
) -> (Arc<Mutex<usize>>, tokio::task::JoinHandle<(Client, usize)>) {
    let acknowledged = Arc::new(Mutex::new(0));
    let published = acknowledged.clone();
    let task = tokio::spawn(async move {
        let mut typed = 0;
        let mut pace = tokio::time::interval(Duration::from_millis(10));
        while !stop.load(Ordering::SeqCst) {
            pace.tick().await;
            client.insert(client.len(), &marker(who, typed)).await;
            typed += 1;
            client.drain().await;
            *published.lock().expect("not poisoned") = client.saved().saturating_sub(1) as usize;
        }
        client.wait_saved().await;
        (client, typed)
    });
    (acknowledged, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_while_two_clients_type_holds_every_edit_saved_before_it_began() {
    let dir = TempDir::new("backup-typing");
    let data = dir.path().join("data");
    let live = TandemProcess::start(&data, &[]);
    let room = "typed-during-backup";

    // Something sizeable besides, so the copy is more than a few pages.
    let mut bulk = Client::connect(&live.ws_url("bulk")).await;
    let chunk = "lorem ipsum dolor sit amet ".repeat(10_000);
    for _ in 0..4 {
        bulk.insert(bulk.len(), &chunk).await;
    }
    bulk.wait_saved().await;
    let bulk_text = bulk.content();

    let stop = Arc::new(AtomicBool::new(false));
    let a = Client::connect(&live.ws_url(room)).await;
    let b = Client::connect(&live.ws_url(room)).await;
    let (a_saved, a_task) = typist(a, 'a', stop.clone());
    let (b_saved, b_task) = typist(b, 'b', stop.clone());
    eventually("both clients have edits acknowledged", || {
        *a_saved.lock().expect("lock") >= 20 && *b_saved.lock().expect("lock") >= 20
    })
    .await;

    // Everything acknowledged by now was acknowledged before the backup began.
    let before = (
        *a_saved.lock().expect("lock"),
        *b_saved.lock().expect("lock"),
    );
    let copy = dir.path().join("copy.db");
    let backup = tandem(vec![
        "backup".into(),
        arg(&copy),
        "--data-dir".into(),
        arg(&data),
    ])
    .await;
    assert!(
        backup.status.success(),
        "backup failed: {}",
        text(&backup.stderr)
    );
    assert!(
        text(&backup.stdout).contains("2 room(s)"),
        "{}",
        text(&backup.stdout)
    );
    // The clients kept typing, and their edits kept being acknowledged.
    let after = *a_saved.lock().expect("lock");
    eventually("the server acknowledges edits after the backup", || {
        *a_saved.lock().expect("lock") > after
    })
    .await;
    stop.store(true, Ordering::SeqCst);
    let (a, a_typed) = a_task.await.expect("typist a");
    let (b, b_typed) = b_task.await.expect("typist b");
    assert!(a_typed > before.0 && b_typed > before.1);

    // A store in use is never replaced, not even with --force.
    let refused = tandem(vec![
        "restore".into(),
        arg(&copy),
        "--data-dir".into(),
        arg(&data),
        "--force".into(),
    ])
    .await;
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused.stdout));
    assert!(
        text(&refused.stderr).contains("is in use"),
        "{}",
        text(&refused.stderr)
    );

    // Restored into a fresh data directory, the copy serves every
    // acknowledged edit from before the backup.
    let fresh = dir.path().join("restored");
    let restore = tandem(vec![
        "restore".into(),
        arg(&copy),
        "--data-dir".into(),
        arg(&fresh),
    ])
    .await;
    assert!(
        restore.status.success(),
        "restore failed: {}",
        text(&restore.stderr)
    );
    let restored = TandemProcess::start(&fresh, &[]);
    let reader = Client::connect(&restored.ws_url(room)).await;
    let restored_text = reader.content();
    for (who, acknowledged) in [('a', before.0), ('b', before.1)] {
        for n in 0..acknowledged {
            assert!(
                restored_text.contains(&marker(who, n)),
                "{} was acknowledged before the backup began and is missing from the copy",
                marker(who, n)
            );
        }
    }
    let bulk_reader = Client::connect(&restored.ws_url("bulk")).await;
    assert!(
        bulk_reader.content() == bulk_text,
        "the other room came back whole"
    );

    // Once the server stops, the lock is gone and --force replaces its store
    // (the old one kept aside).
    drop((a, b, bulk));
    let mut live = live;
    live.signal("TERM");
    live.wait_exit(DEADLINE).await;
    let replaced = tandem(vec![
        "restore".into(),
        arg(&copy),
        "--data-dir".into(),
        arg(&data),
    ])
    .await;
    assert_eq!(
        replaced.status.code(),
        Some(1),
        "a store with rooms needs --force"
    );
    assert!(
        text(&replaced.stderr).contains("--force"),
        "{}",
        text(&replaced.stderr)
    );
    let forced = tandem(vec![
        "restore".into(),
        arg(&copy),
        "--data-dir".into(),
        arg(&data),
        "--force".into(),
    ])
    .await;
    assert!(forced.status.success(), "{}", text(&forced.stderr));
    assert!(
        text(&forced.stdout).contains("is kept as"),
        "{}",
        text(&forced.stdout)
    );
}

#[tokio::test]
async fn backups_refuse_what_they_cannot_do_and_say_what_to_use() {
    let dir = TempDir::new("backup-refusals");
    let no_store = tandem(vec![
        "backup".into(),
        arg(&dir.path().join("x.db")),
        "--data-dir".into(),
        arg(&dir.path().join("nothing-here")),
    ])
    .await;
    assert_eq!(no_store.status.code(), Some(1));
    assert!(text(&no_store.stderr).contains("holds no Tandem store"));

    let postgres = tandem(vec![
        "backup".into(),
        "x.db".into(),
        "--store".into(),
        "postgres".into(),
    ])
    .await;
    assert_eq!(postgres.status.code(), Some(1));
    assert!(
        text(&postgres.stderr).contains("pg_dump"),
        "{}",
        text(&postgres.stderr)
    );

    let not_a_backup = dir.path().join("notes.txt");
    std::fs::write(&not_a_backup, "not a database").expect("write");
    let refused = tandem(vec![
        "restore".into(),
        arg(&not_a_backup),
        "--data-dir".into(),
        arg(&dir.path().join("data")),
    ])
    .await;
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused.stderr).contains("is not a Tandem backup"),
        "{}",
        text(&refused.stderr)
    );
}

/// The PostgreSQL path docs/DEPLOYMENT.md documents: `pg_dump
/// --format=custom` of the live database while a client types, then
/// `pg_restore --no-owner` into an empty database, and a node on it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_store_comes_back_through_pg_dump_and_pg_restore() {
    let source = cluster_support::fresh_database().await;
    let dir = TempDir::new("pg-backup");
    let secret = "a-secret-of-at-least-thirty-two-characters";
    let node = TandemProcess::start(
        &dir.path().join("node-a"),
        &[
            "--store",
            "postgres",
            "--database-url",
            &source,
            "--secret",
            secret,
        ],
    );
    let mut writer = Client::connect(&node.ws_url("kept-in-postgres")).await;
    for n in 0..50 {
        writer.insert(writer.len(), &marker('p', n)).await;
    }
    writer.wait_saved().await;
    let written = writer.content();

    let dump = dir.path().join("tandem.dump");
    let dumped = tokio::task::spawn_blocking({
        let (dump, source) = (dump.clone(), source.clone());
        move || {
            Command::new("pg_dump")
                .args(["--format=custom", "--file"])
                .arg(&dump)
                .arg(&source)
                .output()
        }
    })
    .await
    .expect("pg_dump task")
    .expect("pg_dump runs (Debian's postgresql-client; `cargo xtask test` installs it)");
    assert!(dumped.status.success(), "pg_dump: {}", text(&dumped.stderr));

    let target = cluster_support::fresh_database().await;
    let restored = tokio::task::spawn_blocking({
        let (dump, target) = (dump.clone(), target.clone());
        move || {
            Command::new("pg_restore")
                .args(["--no-owner", "--exit-on-error", "--dbname"])
                .arg(&target)
                .arg(&dump)
                .output()
        }
    })
    .await
    .expect("pg_restore task")
    .expect("pg_restore runs");
    assert!(
        restored.status.success(),
        "pg_restore: {}",
        text(&restored.stderr)
    );

    let node_b = TandemProcess::start(
        &dir.path().join("node-b"),
        &[
            "--store",
            "postgres",
            "--database-url",
            &target,
            "--secret",
            secret,
        ],
    );
    let reader = Client::connect(&node_b.ws_url("kept-in-postgres")).await;
    assert_eq!(reader.content(), written);
    // The restored database keeps taking edits where the log left off.
    let mut more = reader;
    more.insert(more.len(), "[after]").await;
    more.wait_saved().await;
    assert!(more.content().ends_with("[after]"));
}
