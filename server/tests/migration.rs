//! Upgrades: a database written by the oldest schema Tandem shipped opens in
//! this build with every room's content intact, stays editable, and keeps
//! numbering its log where the old one stopped.
//!
//! The old database is built here the way the first release did it: WAL,
//! the first migration's SQL exactly as released (frozen below, so an edit
//! to the released entry in `MIGRATIONS` shows up as a failure here),
//! `user_version` 1, and rows as that schema stored them: a log of v1
//! updates per room and, for a compacted room, a snapshot plus the log after it.

use std::path::Path;

use rusqlite::{Connection, params};
use tandem_server::store::{DB_FILE, SqliteStore, Store as _};
use tandem_shared::RoomId;
use tandem_shared::doc::{CONTENT, TITLE, new_doc};
use tandem_testkit::{Client, TempDir, TestServer, edit};
use yrs::updates::decoder::Decode as _;
use yrs::{Doc, GetString as _, ReadTxn as _, StateVector, Transact as _, Update};

/// Schema version 1 as released (`MIGRATIONS[0]` of the first release).
/// Never edit: it is what databases in the field hold.
const SCHEMA_V1: &str = "CREATE TABLE rooms (
        name         TEXT PRIMARY KEY,
        snapshot     BLOB,
        snapshot_seq INTEGER NOT NULL DEFAULT 0,
        last_seq     INTEGER NOT NULL DEFAULT 0,
        created_at   INTEGER NOT NULL,
        updated_at   INTEGER NOT NULL
    );
    CREATE TABLE updates (
        room TEXT    NOT NULL,
        seq  INTEGER NOT NULL,
        data BLOB    NOT NULL,
        PRIMARY KEY (room, seq)
    );";

/// A document being written by an old client: its updates as sent.
struct OldDoc {
    doc: Doc,
    updates: Vec<Vec<u8>>,
}

impl OldDoc {
    fn new() -> Self {
        Self {
            doc: new_doc(),
            updates: Vec::new(),
        }
    }

    fn insert(&mut self, field: &str, index: u32, chunk: &str) {
        let text = self.doc.get_or_insert_text(field);
        self.updates
            .push(edit::insert(&self.doc, &text, index, chunk));
    }

    fn append(&mut self, chunk: &str) {
        let text = self.doc.get_or_insert_text(CONTENT);
        self.updates.push(edit::append(&self.doc, &text, chunk));
    }

    fn delete(&mut self, index: u32, len: u32) {
        let text = self.doc.get_or_insert_text(CONTENT);
        self.updates
            .push(edit::delete(&self.doc, &text, index, len));
    }

    fn state(&self) -> Vec<u8> {
        self.doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default())
    }

    fn text(&self, field: &str) -> String {
        self.doc
            .get_or_insert_text(field)
            .get_string(&self.doc.transact())
    }
}

/// Writes a version-1 database into `dir`: `log` is stored as a log only,
/// `compacted` as a snapshot of its first `through` updates plus the rest.
fn write_v1_database(dir: &Path, log: &OldDoc, compacted: &OldDoc, through: usize) {
    let conn = Connection::open(dir.join(DB_FILE)).expect("create the old database");
    let mode: String = conn
        .query_row("PRAGMA journal_mode=WAL", [], |row| row.get(0))
        .expect("WAL");
    assert_eq!(mode, "wal");
    conn.execute_batch(SCHEMA_V1).expect("schema version 1");
    conn.pragma_update(None, "user_version", 1)
        .expect("user_version");
    let now = 1_790_000_000i64;
    let insert_update = |room: &str, seq: usize, data: &[u8]| {
        conn.execute(
            "INSERT INTO updates (room, seq, data) VALUES (?1, ?2, ?3)",
            params![room, seq as i64, data],
        )
        .expect("insert an update");
    };

    conn.execute(
        "INSERT INTO rooms (name, last_seq, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)",
        params!["old-log", log.updates.len() as i64, now],
    )
    .expect("insert a room");
    for (i, update) in log.updates.iter().enumerate() {
        insert_update("old-log", i + 1, update);
    }

    // The snapshot is the state after `through` updates: replay them alone.
    let head = OldDoc::new();
    for update in &compacted.updates[..through] {
        let decoded = Update::decode_v1(update).expect("decode");
        head.doc
            .transact_mut()
            .apply_update(decoded)
            .expect("apply");
    }
    conn.execute(
        "INSERT INTO rooms (name, snapshot, snapshot_seq, last_seq, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        params![
            "old-compacted",
            head.state(),
            through as i64,
            compacted.updates.len() as i64,
            now
        ],
    )
    .expect("insert a compacted room");
    for (i, update) in compacted.updates.iter().enumerate().skip(through) {
        insert_update("old-compacted", i + 1, update);
    }
}

fn content_and_title(client: &Client) -> (String, String) {
    let doc = client.doc();
    // Root types first: getting one takes a write transaction.
    let content = doc.get_or_insert_text(CONTENT);
    let title = doc.get_or_insert_text(TITLE);
    let txn = doc.transact();
    (content.get_string(&txn), title.get_string(&txn))
}

#[tokio::test]
async fn a_database_of_the_first_schema_opens_with_its_rooms_intact() {
    let mut log = OldDoc::new();
    log.insert(TITLE, 0, "Minutes");
    log.insert(CONTENT, 0, "Attendees: Ada, Grace\n");
    log.insert(CONTENT, 22, "Decisions: ship it 🚢\n");
    log.delete(11, 5);
    let mut compacted = OldDoc::new();
    for i in 0..30 {
        compacted.append(&format!("line {i}\n"));
    }
    compacted.delete(0, 7);
    compacted.insert(TITLE, 0, "Long log");

    let dir = TempDir::new("migration");
    write_v1_database(dir.path(), &log, &compacted, 20);

    let mut server = TestServer::sqlite(dir.path(), |_| {}).await;
    let mut old_log = server.client("old-log").await;
    assert_eq!(
        content_and_title(&old_log),
        (log.text(CONTENT), log.text(TITLE))
    );
    assert_eq!(
        log.text(CONTENT),
        "Attendees: Grace\nDecisions: ship it 🚢\n"
    );
    let reader = server.client("old-compacted").await;
    assert_eq!(
        content_and_title(&reader),
        (compacted.text(CONTENT), compacted.text(TITLE))
    );
    reader.close().await;

    // Rooms of the first schema were open to anyone: they still are.
    assert!(!old_log.read_only(), "an old room became read-only");
    old_log.insert(0, "Updated. ").await;
    old_log.wait_saved().await;
    let expected = old_log.content();
    old_log.close().await;
    server.stop().await;

    // The log goes on from the old numbering, and the upgraded file opens again.
    let store = SqliteStore::open(dir.path()).expect("reopen the upgraded database");
    let stored = store
        .load(&RoomId::new("old-log").expect("room"))
        .expect("load");
    assert_eq!(stored.last_seq, log.updates.len() as u64 + 1);
    assert!(!stored.protected);
    drop(store);
    let server = TestServer::sqlite(dir.path(), |_| {}).await;
    assert_eq!(server.client("old-log").await.content(), expected);
    assert_eq!(
        content_and_title(&server.client("old-compacted").await),
        (compacted.text(CONTENT), compacted.text(TITLE))
    );
}
