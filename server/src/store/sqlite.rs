//! The default [`Store`]: one SQLite file (`tandem.db`) in the data directory.
//!
//! SQLite is bundled (no system library), runs in WAL mode with
//! `synchronous=FULL` so a commit is on disk when it returns, and its schema is
//! versioned through `PRAGMA user_version` with forward-only migrations.

use std::path::Path;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use tandem_shared::RoomId;
use tandem_shared::authors::{Author, AuthorId, Authorship, Claim};
use tandem_shared::history::AuthorChange;

use super::lock::DataDirLock;
use super::{
    NewVersion, RoomLinks, RoomSummary, Store, StoreError, StoredRoom, Version, VersionKind,
    link_writes,
};
use crate::links::{Link, LinkId, Right};

/// File name of the database inside the data directory.
pub const DB_FILE: &str = "tandem.db";

/// Schema migrations, applied in order; entry `i` moves the schema from
/// version `i` to `i + 1`. Never edit a released entry: add a new one.
pub(super) const MIGRATIONS: &[&str] = &[
    // 1: rooms with an optional snapshot, and their update log.
    "CREATE TABLE rooms (
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
    );",
    // 2: rooms created through the API are protected by their edit key.
    "ALTER TABLE rooms ADD COLUMN protected INTEGER NOT NULL DEFAULT 0;",
    // 3: version history. AUTOINCREMENT so an id is never reused, even after
    // the newest version is deleted. The state is the last column so listing
    // (which never selects it) does not read its overflow pages.
    "CREATE TABLE versions (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        room          TEXT    NOT NULL,
        at            INTEGER NOT NULL,
        authors       TEXT    NOT NULL,
        label         TEXT,
        kind          TEXT    NOT NULL,
        restored_from INTEGER,
        state         BLOB    NOT NULL
    );
    CREATE INDEX versions_by_room ON versions (room, id);",
    // 4: share links as records (issue 27). `seq` keeps them in the order
    // they were written; `grants` is the right's name (`right` is an SQL
    // keyword); times in Unix ms, NULL for unknown (the originals' creation)
    // or none (no expiry, not revoked).
    "CREATE TABLE links (
        seq        INTEGER PRIMARY KEY AUTOINCREMENT,
        room       TEXT    NOT NULL,
        id         TEXT    NOT NULL,
        grants     TEXT    NOT NULL,
        label      TEXT,
        created_by TEXT,
        created_at INTEGER,
        expires_at INTEGER,
        revoked_at INTEGER,
        UNIQUE (room, id)
    );",
    // 5: who wrote what (issue 28). An author's record is its JSON (kind,
    // name, colour, a restore's version), replaced by its latest; rowid
    // keeps the order authors first appeared in. A claim ties a client id
    // from a clock on to an author; the first claim of a client id and
    // clock stands. Versions say who changed what since the previous one.
    "CREATE TABLE authors (
        room   TEXT NOT NULL,
        id     TEXT NOT NULL,
        record TEXT NOT NULL,
        PRIMARY KEY (room, id)
    );
    CREATE TABLE claims (
        room   TEXT    NOT NULL,
        client INTEGER NOT NULL,
        clock  INTEGER NOT NULL,
        author TEXT    NOT NULL,
        PRIMARY KEY (room, client, clock)
    );
    ALTER TABLE versions ADD COLUMN changes TEXT NOT NULL DEFAULT '[]';",
];

/// Rooms in a SQLite database.
#[derive(Debug)]
pub struct SqliteStore {
    /// The one connection. SQLite allows one writer at a time anyway, and
    /// every call runs on a blocking thread, so a std mutex (held for one
    /// short transaction, never across an await) serialises them simply.
    conn: Mutex<Connection>,
    /// A shared lock on the data directory for as long as the store is
    /// open: `tandem restore` takes it exclusively, so it refuses to
    /// replace a store in use (and a server cannot open one being replaced).
    _in_use: Option<DataDirLock>,
}

impl SqliteStore {
    /// Opens (creating if needed) `data_dir/tandem.db` and brings its schema
    /// up to date. Fails with a clear error on a missing or read-only directory,
    /// a full disk, or a database from a newer version.
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|source| StoreError::DataDir {
            path: data_dir.to_path_buf(),
            source,
        })?;
        let in_use = DataDirLock::for_store(data_dir)?;
        let mut conn = Connection::open(data_dir.join(DB_FILE))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // Compaction frees most of a room's pages; let the file give them back.
        // (Takes effect only on a new database, before its first table.)
        conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
        let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |row| row.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(mode, "SQLite refused WAL mode; commits will be slower");
        }
        conn.pragma_update(None, "synchronous", "FULL")?;
        migrate(&mut conn)?;
        // Read back, not assumed: `synchronous` is a setting of this
        // connection, so only this log line can show what commits run with
        // (2 = FULL). The crash test checks it.
        let synchronous: i64 = conn.query_row("PRAGMA synchronous", [], |row| row.get(0))?;
        tracing::info!(journal_mode = %mode, synchronous, "SQLite store opened");
        Ok(Self {
            conn: Mutex::new(conn),
            _in_use: in_use,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic inside a transaction leaves it rolled back by rusqlite's
        // drop guard, so the connection is still consistent.
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let supported = MIGRATIONS.len() as i64;
    let found: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if found > supported {
        return Err(StoreError::SchemaTooNew { found, supported });
    }
    for (version, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let txn = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        txn.execute_batch(sql)?;
        txn.pragma_update(None, "user_version", version as i64 + 1)?;
        txn.commit()?;
        tracing::info!(version = version + 1, "applied database migration");
    }
    Ok(())
}

/// Frees the file's unused pages. The pragma frees one page per step, so
/// it is stepped to the end.
fn incremental_vacuum(conn: &Connection) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached("PRAGMA incremental_vacuum")?;
    let mut rows = stmt.query([])?;
    while rows.next()?.is_some() {}
    Ok(())
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl Store for SqliteStore {
    fn load(&self, room: &RoomId) -> Result<StoredRoom, StoreError> {
        let conn = self.lock();
        let head: Option<(Option<Vec<u8>>, i64, bool)> = conn
            .prepare_cached("SELECT snapshot, last_seq, protected FROM rooms WHERE name = ?1")?
            .query_row([room.as_str()], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })
            .optional()?;
        let Some((snapshot, last_seq, protected)) = head else {
            return Ok(StoredRoom::default());
        };
        let mut stmt =
            conn.prepare_cached("SELECT data FROM updates WHERE room = ?1 ORDER BY seq")?;
        let updates = stmt
            .query_map([room.as_str()], |row| row.get(0))?
            .collect::<Result<Vec<Vec<u8>>, _>>()?;
        let authors = read_authorship(&conn, room)?;
        Ok(StoredRoom {
            snapshot,
            updates,
            last_seq: last_seq as u64,
            protected,
            authors,
        })
    }

    fn append_with_authors(
        &self,
        room: &RoomId,
        updates: &[&[u8]],
        authors: &Authorship,
    ) -> Result<u64, StoreError> {
        let mut conn = self.lock();
        let txn = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let now = now();
        txn.prepare_cached(
            "INSERT INTO rooms (name, created_at, updated_at) VALUES (?1, ?2, ?2)
             ON CONFLICT (name) DO NOTHING",
        )?
        .execute(params![room.as_str(), now])?;
        let mut seq: i64 = txn
            .prepare_cached("SELECT last_seq FROM rooms WHERE name = ?1")?
            .query_row([room.as_str()], |row| row.get(0))?;
        write_authorship(&txn, room, authors)?;
        if updates.is_empty() {
            txn.commit()?;
            return Ok(seq as u64);
        }
        {
            let mut insert =
                txn.prepare_cached("INSERT INTO updates (room, seq, data) VALUES (?1, ?2, ?3)")?;
            for update in updates {
                seq += 1;
                insert.execute(params![room.as_str(), seq, update])?;
            }
        }
        txn.prepare_cached("UPDATE rooms SET last_seq = ?2, updated_at = ?3 WHERE name = ?1")?
            .execute(params![room.as_str(), seq, now])?;
        txn.commit()?;
        Ok(seq as u64)
    }

    fn claim(&self, room: &RoomId) -> Result<bool, StoreError> {
        let conn = self.lock();
        let changed = conn
            .prepare_cached(
                "INSERT INTO rooms (name, protected, created_at, updated_at) VALUES (?1, 1, ?2, ?2)
                 ON CONFLICT (name) DO UPDATE SET protected = 1, updated_at = excluded.updated_at
                 WHERE last_seq = 0 AND snapshot IS NULL AND protected = 0",
            )?
            .execute(params![room.as_str(), now()])?;
        Ok(changed == 1)
    }

    fn compact(&self, room: &RoomId, state: &[u8], through: u64) -> Result<(), StoreError> {
        let mut conn = self.lock();
        let txn = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let now = now();
        let through = through as i64;
        txn.prepare_cached(
            "INSERT INTO rooms (name, snapshot, snapshot_seq, last_seq, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?3, ?4, ?4)
             ON CONFLICT (name) DO UPDATE SET
                snapshot = excluded.snapshot,
                snapshot_seq = excluded.snapshot_seq,
                last_seq = max(last_seq, excluded.last_seq),
                updated_at = excluded.updated_at",
        )?
        .execute(params![room.as_str(), state, through, now])?;
        txn.prepare_cached("DELETE FROM updates WHERE room = ?1 AND seq <= ?2")?
            .execute(params![room.as_str(), through])?;
        txn.commit()?;
        // Return the pages the dropped log held to the file system. A failure
        // here only leaves the file larger, so it is not an error.
        if let Err(err) = incremental_vacuum(&conn) {
            tracing::warn!(error = %err, "incremental vacuum failed");
        }
        Ok(())
    }

    fn add_version(&self, room: &RoomId, version: &NewVersion<'_>) -> Result<u64, StoreError> {
        let conn = self.lock();
        conn.prepare_cached(
            "INSERT INTO versions (room, at, authors, label, kind, restored_from, changes, state)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?
        .execute(params![
            room.as_str(),
            version.at,
            encode_authors(version.authors),
            version.label,
            version.kind.as_str(),
            version.restored_from.map(|id| id as i64),
            encode_changes(version.changes),
            version.state,
        ])?;
        Ok(conn.last_insert_rowid() as u64)
    }

    fn list_versions(&self, room: &RoomId) -> Result<Vec<Version>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT id, at, authors, label, kind, restored_from, changes FROM versions
             WHERE room = ?1 ORDER BY id DESC",
        )?;
        let rows = stmt
            .query_map([room.as_str()], |row| {
                Ok(Version {
                    id: row.get::<_, i64>(0)? as u64,
                    at: row.get(1)?,
                    authors: decode_authors(&row.get::<_, String>(2)?),
                    label: row.get(3)?,
                    kind: VersionKind::parse(&row.get::<_, String>(4)?),
                    restored_from: row.get::<_, Option<i64>>(5)?.map(|id| id as u64),
                    changes: decode_changes(&row.get::<_, String>(6)?),
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn version_state(&self, room: &RoomId, id: u64) -> Result<Option<Vec<u8>>, StoreError> {
        let conn = self.lock();
        let state = conn
            .prepare_cached("SELECT state FROM versions WHERE id = ?1 AND room = ?2")?
            .query_row(params![id as i64, room.as_str()], |row| row.get(0))
            .optional()?;
        Ok(state)
    }

    fn label_version(
        &self,
        room: &RoomId,
        id: u64,
        label: Option<&str>,
    ) -> Result<bool, StoreError> {
        let conn = self.lock();
        let changed = conn
            .prepare_cached("UPDATE versions SET label = ?3 WHERE id = ?1 AND room = ?2")?
            .execute(params![id as i64, room.as_str(), label])?;
        Ok(changed == 1)
    }

    fn delete_versions(&self, room: &RoomId, ids: &[u64]) -> Result<usize, StoreError> {
        if ids.is_empty() {
            return Ok(0);
        }
        let mut conn = self.lock();
        let txn = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut deleted = 0;
        {
            let mut stmt =
                txn.prepare_cached("DELETE FROM versions WHERE id = ?1 AND room = ?2")?;
            for id in ids {
                deleted += stmt.execute(params![*id as i64, room.as_str()])?;
            }
        }
        txn.commit()?;
        if let Err(err) = incremental_vacuum(&conn) {
            tracing::warn!(error = %err, "incremental vacuum failed");
        }
        Ok(deleted)
    }

    fn list_rooms(&self) -> Result<Vec<RoomSummary>, StoreError> {
        summaries(&self.lock(), None)
    }

    fn delete_room(&self, room: &RoomId) -> Result<Option<RoomSummary>, StoreError> {
        let mut conn = self.lock();
        let txn = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let summary = summaries(&txn, Some(room))?.pop();
        let mut deleted = 0;
        for table in [
            "DELETE FROM updates WHERE room = ?1",
            "DELETE FROM versions WHERE room = ?1",
            "DELETE FROM rooms WHERE name = ?1",
        ] {
            deleted += txn.prepare_cached(table)?.execute([room.as_str()])?;
        }
        // Authorship belongs to the room's text, and goes with it.
        for table in [
            "DELETE FROM authors WHERE room = ?1",
            "DELETE FROM claims WHERE room = ?1",
        ] {
            txn.prepare_cached(table)?.execute([room.as_str()])?;
        }
        // Links belong to the room, but are not what the summary counts.
        txn.prepare_cached("DELETE FROM links WHERE room = ?1")?
            .execute([room.as_str()])?;
        txn.commit()?;
        if let Err(err) = incremental_vacuum(&conn) {
            tracing::warn!(error = %err, "incremental vacuum failed");
        }
        // Versions of a room with no row (never written) are still a room.
        Ok(summary.or_else(|| {
            (deleted > 0).then(|| RoomSummary {
                room: room.clone(),
                protected: false,
                bytes: 0,
                updates: 0,
                log_updates: 0,
                changed_at: 0,
                versions: deleted as u64,
            })
        }))
    }

    fn links(&self, room: &RoomId) -> Result<RoomLinks, StoreError> {
        let conn = self.lock();
        Ok(RoomLinks {
            protected: is_protected(&conn, room)?,
            links: read_links(&conn, room)?,
        })
    }

    fn edit_links(
        &self,
        room: &RoomId,
        edit: &mut dyn FnMut(bool, &mut Vec<Link>) -> bool,
    ) -> Result<Vec<Link>, StoreError> {
        let mut conn = self.lock();
        // IMMEDIATE: the write lock from the start, so nothing changes the
        // links between reading them and writing the change.
        let txn = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let protected = is_protected(&txn, room)?;
        let before = read_links(&txn, room)?;
        let mut after = before.clone();
        if !edit(protected, &mut after) {
            return Ok(before);
        }
        let (changed, added) = link_writes(&before, &after)?;
        {
            let mut update = txn.prepare_cached(
                "UPDATE links SET grants = ?3, label = ?4, expires_at = ?5, revoked_at = ?6
                 WHERE room = ?1 AND id = ?2",
            )?;
            for link in changed {
                update.execute(params![
                    room.as_str(),
                    link.id.as_str(),
                    link.right.as_str(),
                    link.label,
                    link.expires_at,
                    link.revoked_at,
                ])?;
            }
            let mut insert = txn.prepare_cached(
                "INSERT INTO links
                    (room, id, grants, label, created_by, created_at, expires_at, revoked_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            for link in added {
                insert.execute(params![
                    room.as_str(),
                    link.id.as_str(),
                    link.right.as_str(),
                    link.label,
                    link.created_by,
                    link.created_at,
                    link.expires_at,
                    link.revoked_at,
                ])?;
            }
        }
        txn.commit()?;
        Ok(after)
    }
}

/// Whether `room` has a row marked protected.
fn is_protected(conn: &Connection, room: &RoomId) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT protected FROM rooms WHERE name = ?1")?
        .query_row([room.as_str()], |row| row.get(0))
        .optional()?
        .unwrap_or(false))
}

/// The stored links of `room`, oldest first. A row whose id is not a link
/// id (written by hand) is skipped; a right this build does not know (from
/// a newer one) reads as view, the narrowest.
fn read_links(conn: &Connection, room: &RoomId) -> Result<Vec<Link>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, grants, label, created_by, created_at, expires_at, revoked_at
         FROM links WHERE room = ?1 ORDER BY seq",
    )?;
    let rows = stmt.query_map([room.as_str()], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, String>(1)?,
            row.get(2)?,
            row.get(3)?,
            row.get(4)?,
            row.get(5)?,
            row.get(6)?,
        ))
    })?;
    let mut links = Vec::new();
    for row in rows {
        let (id, grants, label, created_by, created_at, expires_at, revoked_at) = row?;
        let Ok(id) = LinkId::new(id) else {
            continue;
        };
        links.push(Link {
            id,
            right: Right::parse(&grants).unwrap_or(Right::View),
            label,
            created_by,
            created_at,
            expires_at,
            revoked_at,
        });
    }
    Ok(links)
}

/// The summary of each room of `rooms` (or of the one named, with `only`).
fn summaries(conn: &Connection, only: Option<&RoomId>) -> Result<Vec<RoomSummary>, StoreError> {
    // One pass over each table, grouped, rather than a subquery per room.
    let mut stmt = conn.prepare_cached(
        "SELECT r.name, r.protected, COALESCE(length(r.snapshot), 0) + COALESCE(u.bytes, 0),
                r.last_seq, COALESCE(u.count, 0), r.updated_at, COALESCE(v.count, 0)
         FROM rooms r
         LEFT JOIN (SELECT room, count(*) AS count, sum(length(data)) AS bytes
                    FROM updates GROUP BY room) u ON u.room = r.name
         LEFT JOIN (SELECT room, count(*) AS count FROM versions GROUP BY room) v
                ON v.room = r.name
         WHERE ?1 IS NULL OR r.name = ?1
         ORDER BY r.name",
    )?;
    let rows = stmt.query_map([only.map(RoomId::as_str)], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, bool>(1)?,
            row.get::<_, i64>(2)?,
            row.get::<_, i64>(3)?,
            row.get::<_, i64>(4)?,
            row.get::<_, i64>(5)?,
            row.get::<_, i64>(6)?,
        ))
    })?;
    let mut summaries = Vec::new();
    for row in rows {
        let (name, protected, bytes, updates, log_updates, changed_secs, versions) = row?;
        // A name written by hand into the file that is not a room name is
        // skipped rather than failing the whole list.
        let Ok(room) = RoomId::new(name) else {
            continue;
        };
        summaries.push(RoomSummary {
            room,
            protected,
            bytes: bytes as u64,
            updates: updates as u64,
            log_updates: log_updates as u64,
            changed_at: changed_secs.saturating_mul(1000),
            versions: versions as u64,
        });
    }
    Ok(summaries)
}

/// Writes `authors`' changes for `room` inside `txn`: each author's record
/// replaced by its latest, each claim added unless its client id and clock
/// are claimed already.
fn write_authorship(
    txn: &Connection,
    room: &RoomId,
    authors: &Authorship,
) -> Result<(), StoreError> {
    if authors.is_empty() {
        return Ok(());
    }
    let mut upsert = txn.prepare_cached(
        "INSERT INTO authors (room, id, record) VALUES (?1, ?2, ?3)
         ON CONFLICT (room, id) DO UPDATE SET record = excluded.record",
    )?;
    for author in &authors.authors {
        let record = serde_json::to_string(author).unwrap_or_default();
        upsert.execute(params![room.as_str(), author.id.as_str(), record])?;
    }
    let mut claim = txn.prepare_cached(
        "INSERT INTO claims (room, client, clock, author) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (room, client, clock) DO NOTHING",
    )?;
    for c in &authors.claims {
        // Client ids are 53-bit (JavaScript-safe): they fit an i64.
        claim.execute(params![
            room.as_str(),
            c.client as i64,
            i64::from(c.clock),
            c.author.as_str()
        ])?;
    }
    Ok(())
}

/// `room`'s authorship. A row that does not read (written by hand, or by a
/// newer Tandem) is skipped rather than hiding the rest.
fn read_authorship(conn: &Connection, room: &RoomId) -> Result<Authorship, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT record FROM authors WHERE room = ?1 ORDER BY rowid")?;
    let authors = stmt
        .query_map([room.as_str()], |row| row.get::<_, String>(0))?
        .filter_map(|record| {
            record
                .ok()
                .and_then(|r| serde_json::from_str::<Author>(&r).ok())
        })
        .collect();
    let mut stmt = conn.prepare_cached(
        "SELECT client, clock, author FROM claims WHERE room = ?1 ORDER BY client, clock",
    )?;
    let claims = stmt
        .query_map([room.as_str()], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, String>(2)?,
            ))
        })?
        .filter_map(|row| {
            let (client, clock, author) = row.ok()?;
            Some(Claim {
                client: u64::try_from(client).ok()?,
                clock: u32::try_from(clock).ok()?,
                author: AuthorId::new(author).ok()?,
            })
        })
        .collect();
    Ok(Authorship { authors, claims })
}

/// A version's changes as stored: a JSON array.
pub(super) fn encode_changes(changes: &[AuthorChange]) -> String {
    serde_json::to_string(changes).unwrap_or_else(|_| "[]".to_string())
}

/// A row's changes; a column that does not parse reads as none.
pub(super) fn decode_changes(text: &str) -> Vec<AuthorChange> {
    serde_json::from_str(text).unwrap_or_default()
}

/// Authors are stored as a JSON array: names are free text.
fn encode_authors(authors: &[String]) -> String {
    serde_json::to_string(authors).unwrap_or_else(|_| "[]".to_string())
}

/// A row's authors; a column that does not parse (hand-edited) reads as none
/// rather than hiding the version.
fn decode_authors(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compaction_gives_pages_back_to_the_file_system() {
        let dir = crate::store::tests::tempdir();
        let store = SqliteStore::open(dir.path()).expect("open");
        let room = RoomId::new("big").expect("room");
        let chunk = vec![7u8; 64 * 1024];
        for _ in 0..64 {
            store.append(&room, &[&chunk]).expect("append");
        }
        let file = dir.path().join(DB_FILE);
        let checkpoint = |store: &SqliteStore| {
            store
                .lock()
                .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
                .expect("checkpoint");
        };
        checkpoint(&store);
        let before = std::fs::metadata(&file).expect("file").len();
        store.compact(&room, b"tiny", 64).expect("compact");
        checkpoint(&store);
        let after = std::fs::metadata(&file).expect("file").len();
        assert!(before > 4 * 1024 * 1024, "{before}");
        assert!(
            after < before / 4,
            "the file shrank from {before} to only {after}"
        );
    }
}
