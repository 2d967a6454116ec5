//! `tandem rooms list | export | import | delete` against a running server,
//! on SQLite and on PostgreSQL (and across two nodes with Redis): the real
//! binary serving, the same binary as the operator's command line, native
//! clients typing and holding rooms open.
//!
//! PostgreSQL and Redis come from `cargo xtask services -- cargo test -p
//! tandem-server --test admin_rooms` (or `cargo xtask test`); those tests
//! fail, never skip, without them.

mod cluster_support;
mod support;

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

use serde_json::Value;
use support::process::TandemProcess;
use tandem_server::store::{PostgresStore, SqliteStore, Store};
use tandem_shared::RoomId;
use tandem_shared::doc::TITLE;
use tandem_testkit::{Client, DEADLINE, TempDir, edit, poll};
use yrs::{GetString as _, Transact as _};

/// The secret of the PostgreSQL nodes (the SQLite server keeps its own).
const SECRET: &str = "a-secret-of-at-least-thirty-two-characters";

/// How the operator reaches one server: its address and what proves they
/// may (the data directory holding its secret, or the secret itself).
struct Operator {
    server: String,
    auth: Vec<String>,
}

impl Operator {
    /// Runs `tandem rooms ARGS --server … AUTH` to completion.
    async fn rooms(&self, args: &[&str]) -> Output {
        let mut line: Vec<String> = vec!["rooms".into()];
        line.extend(args.iter().map(|a| (*a).to_owned()));
        line.extend(["--server".into(), self.server.clone()]);
        if args.first() != Some(&"import") {
            line.extend(self.auth.iter().cloned());
        }
        run(line).await
    }

    /// `rooms list --json`, parsed.
    async fn list(&self) -> Vec<Value> {
        let listed = self.rooms(&["list", "--json"]).await;
        assert!(listed.status.success(), "list: {}", text(&listed.stderr));
        serde_json::from_slice(&listed.stdout).expect("list --json prints JSON")
    }

    /// The listed entry of `room`, if listed.
    async fn entry(&self, room: &str) -> Option<Value> {
        self.list()
            .await
            .into_iter()
            .find(|r| r["room"].as_str() == Some(room))
    }
}

async fn run(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_tandem"))
            .args(&args)
            .env_remove("RUST_LOG")
            .env_remove("TANDEM_DATA_DIR")
            .env_remove("TANDEM_SECRET")
            .env_remove("TANDEM_ADMIN_TOKEN")
            .env_remove("TANDEM_SERVER_URL")
            .output()
            .expect("run tandem")
    })
    .await
    .expect("the command's task")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Types `body` (and `title`, if any) into `room` and waits until saved.
async fn write(server: &TandemProcess, room: &str, title: &str, body: &str) {
    let mut client = Client::connect(&server.ws_url(room)).await;
    if !title.is_empty() {
        let title_text = client.doc().get_or_insert_text(TITLE);
        let update = edit::insert(client.doc(), &title_text, 0, title);
        client.send_update(update).await;
    }
    client.insert(0, body).await;
    client.wait_saved().await;
    client.close().await;
}

/// What every store must do, against `server` (whose rooms unload 100 ms
/// after the last person leaves), its operator, and `versions`, which
/// reads the store's versions of a room directly.
async fn list_export_import_delete(
    server: &TandemProcess,
    operator: &Operator,
    versions: impl Fn(&str) -> usize,
    scratch: &Path,
) {
    write(server, "notes", "", "Hello notes").await;
    write(server, "plans", "Trip plan", "# Day 1\n\nOslo.\n").await;

    // Listed, with what they hold, once they have unloaded and the
    // checkpoint of their unloading is stored.
    let notes = poll(
        "notes to unload, checkpointed",
        DEADLINE,
        async || match operator.entry("notes").await {
            Some(entry) if entry["loaded_here"] == false && entry["versions"] == 1 => Ok(entry),
            other => Err(format!("{other:?}")),
        },
    )
    .await;
    poll(
        "plans to unload, checkpointed",
        DEADLINE,
        async || match operator.entry("plans").await {
            Some(entry) if entry["loaded_here"] == false && entry["versions"] == 1 => Ok(()),
            other => Err(format!("{other:?}")),
        },
    )
    .await;
    assert_eq!(notes["protected"], false);
    assert!(notes["updates"].as_u64() >= Some(1), "{notes}");
    assert!(notes["bytes"].as_u64() > Some(0), "{notes}");
    assert!(notes["changed_at"].as_i64() > Some(0), "{notes}");
    let table = operator.rooms(&["list"]).await;
    assert!(table.status.success(), "{}", text(&table.stderr));
    let table = text(&table.stdout);
    assert!(
        table.starts_with("ROOM") && table.contains("LAST CHANGE") && table.contains("plans"),
        "{table}"
    );

    // Import: a protected document with the file's text and front-matter
    // title, and both links.
    let file = scratch.join("imported.md");
    let body = "# Imported\n\nSome *Markdown*, from a file.\n";
    std::fs::write(&file, format!("---\ntitle: \"From a file\"\n---\n{body}")).expect("write");
    let imported = operator
        .rooms(&["import", file.to_str().expect("utf-8")])
        .await;
    assert!(imported.status.success(), "{}", text(&imported.stderr));
    let said = text(&imported.stdout);
    let link = |kind: &str| -> (String, String) {
        let line = said
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{kind} link: ")))
            .unwrap_or_else(|| panic!("a {kind} link in: {said}"));
        let (page, key) = line.split_once("#key=").expect("a key in the link");
        let room = page.rsplit('/').next().expect("a room").to_owned();
        (room, key.to_owned())
    };
    let (room, edit_key) = link("edit");
    let (view_room, view_key) = link("view");
    assert_eq!(room, view_room);
    assert!(
        edit_key.starts_with("e.") && view_key.starts_with("v."),
        "{said}"
    );
    let viewer = Client::connect_with_key(&server.ws_url(&room), &view_key).await;
    assert!(viewer.read_only(), "the view link is view-only");
    assert_eq!(viewer.content(), body);
    let title = viewer.doc().get_or_insert_text(TITLE);
    assert_eq!(title.get_string(&viewer.doc().transact()), "From a file");
    viewer.close().await;
    let anonymous = Client::connect(&server.ws_url(&room)).await;
    assert!(anonymous.read_only(), "an imported document is protected");
    anonymous.close().await;

    // Export: every room, as ROOM.md; a title in front matter.
    let out = scratch.join("exported");
    let exported = operator
        .rooms(&["export", "--all", "--out", out.to_str().expect("utf-8")])
        .await;
    assert!(exported.status.success(), "{}", text(&exported.stderr));
    let read = |name: &str| std::fs::read_to_string(out.join(name)).expect("an exported file");
    assert_eq!(read("notes.md"), "Hello notes");
    assert_eq!(
        read("plans.md"),
        "---\ntitle: \"Trip plan\"\n---\n# Day 1\n\nOslo.\n"
    );
    assert_eq!(
        read(&format!("{room}.md")),
        format!("---\ntitle: \"From a file\"\n---\n{body}")
    );
    let again = operator
        .rooms(&["export", "plans", "--out", out.to_str().expect("utf-8")])
        .await;
    assert_eq!(
        again.status.code(),
        Some(1),
        "an existing file is not replaced"
    );
    assert!(
        text(&again.stderr).contains("--force"),
        "{}",
        text(&again.stderr)
    );

    // Delete: refused while someone has the room open, and nobody is cut.
    let mut holder = Client::connect(&server.ws_url("notes")).await;
    let refused = operator.rooms(&["delete", "notes"]).await;
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused.stderr).contains("409") && text(&refused.stderr).contains("is open"),
        "{}",
        text(&refused.stderr)
    );
    let open = operator.entry("notes").await.expect("still listed");
    assert_eq!(open["loaded_here"], true);
    holder.insert(holder.len(), "!").await;
    holder.wait_saved().await;
    assert!(holder.closed.is_none(), "the person in it stays connected");
    holder.close().await;
    poll("notes to unload again", DEADLINE, async || {
        match operator.entry("notes").await {
            Some(entry) if entry["loaded_here"] == false => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    let deleted = operator.rooms(&["delete", "notes"]).await;
    assert!(deleted.status.success(), "{}", text(&deleted.stderr));
    assert!(
        text(&deleted.stdout).starts_with("deleted notes:"),
        "{}",
        text(&deleted.stdout)
    );
    assert!(
        operator.entry("notes").await.is_none(),
        "gone from the list"
    );
    assert_eq!(versions("notes"), 0, "its versions went with it");
    assert!(versions("plans") >= 1, "other rooms keep theirs");
    let fresh = Client::connect(&server.ws_url("notes")).await;
    assert_eq!(fresh.content(), "", "the name starts afresh");
    fresh.close().await;
    let missing = operator.rooms(&["delete", "never-written"]).await;
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        text(&missing.stderr).contains("404"),
        "{}",
        text(&missing.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_from_the_command_line_on_sqlite() {
    let dir = TempDir::new("admin-sqlite");
    let data = dir.path().join("data");
    let server = TandemProcess::start(&data, &["--room-idle", "100ms"]);
    let operator = Operator {
        server: format!("http://{}", server.addr),
        auth: vec!["--data-dir".into(), data.to_str().expect("utf-8").into()],
    };
    // A second store on the same file, as a tool would open it: the server
    // holds only a shared lock, so reading alongside it works.
    let store = Arc::new(SqliteStore::open(&data).expect("open the server's store"));
    let versions = |room: &str| {
        store
            .list_versions(&RoomId::new(room).expect("room"))
            .expect("list versions")
            .len()
    };
    list_export_import_delete(&server, &operator, versions, dir.path()).await;

    // The token is the secret's: a wrong one, or none, is refused.
    let wrong = Operator {
        server: operator.server.clone(),
        auth: vec!["--admin-token".into(), "a.not-the-token".into()],
    };
    let refused = wrong.rooms(&["list"]).await;
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused.stderr).contains("403"),
        "{}",
        text(&refused.stderr)
    );
    let nowhere = Operator {
        server: operator.server.clone(),
        auth: vec![
            "--data-dir".into(),
            dir.path().join("elsewhere").to_str().expect("utf-8").into(),
        ],
    };
    let refused = nowhere.rooms(&["list"]).await;
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused.stderr).contains("secret.key"),
        "{}",
        text(&refused.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_from_the_command_line_on_postgres() {
    let database = cluster_support::fresh_database().await;
    let dir = TempDir::new("admin-postgres");
    let server = TandemProcess::start(
        &dir.path().join("node"),
        &[
            "--store",
            "postgres",
            "--database-url",
            &database,
            "--secret",
            SECRET,
            "--room-idle",
            "100ms",
        ],
    );
    let operator = Operator {
        server: format!("http://{}", server.addr),
        auth: vec!["--secret".into(), SECRET.into()],
    };
    let url = database.parse().expect("database URL");
    let store = tokio::task::spawn_blocking(move || PostgresStore::open(&url))
        .await
        .expect("open task")
        .expect("open the store");
    let store = Arc::new(store);
    let versions = |room: &str| {
        let (store, room) = (store.clone(), RoomId::new(room).expect("room"));
        // The synchronous client must not run on a runtime's thread.
        std::thread::spawn(move || store.list_versions(&room).expect("list versions").len())
            .join()
            .expect("versions thread")
    };
    list_export_import_delete(&server, &operator, versions, dir.path()).await;
}

/// In a cluster the node asked cannot see the other nodes' people in its
/// registry: Redis's connection counts can, and the delete is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_open_on_another_node_is_not_deleted() {
    let database = cluster_support::fresh_database().await;
    let redis = cluster_support::required(cluster_support::REDIS_URL_ENV);
    let dir = TempDir::new("admin-cluster");
    let args = [
        "--store",
        "postgres",
        "--database-url",
        database.as_str(),
        "--redis-url",
        redis.as_str(),
        "--secret",
        SECRET,
        "--room-idle",
        "100ms",
    ];
    let a = TandemProcess::start(&dir.path().join("a"), &args);
    let b = TandemProcess::start(&dir.path().join("b"), &args);
    let room = cluster_support::unique_room("held-on-a");
    let mut holder = Client::connect(&a.ws_url(&room)).await;
    holder.insert(0, "still here").await;
    holder.wait_saved().await;

    let operator_b = Operator {
        server: format!("http://{}", b.addr),
        auth: vec!["--secret".into(), SECRET.into()],
    };
    let entry = poll(
        "node b to count a's connection",
        DEADLINE,
        async || match operator_b.entry(&room).await {
            Some(entry) if entry["connections_elsewhere"] == 1 => Ok(entry),
            other => Err(format!("{other:?}")),
        },
    )
    .await;
    assert_eq!(entry["loaded_here"], false);
    let listed = operator_b.rooms(&["list"]).await;
    assert!(
        text(&listed.stdout).contains("1 elsewhere"),
        "{}",
        text(&listed.stdout)
    );
    let refused = operator_b.rooms(&["delete", &room]).await;
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused.stderr).contains("open on another server"),
        "{}",
        text(&refused.stderr)
    );
    assert_eq!(holder.content(), "still here");
    holder.close().await;
}
