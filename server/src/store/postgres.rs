//! The PostgreSQL [`Store`] (`--store postgres --database-url postgres://…`),
//! the truth shared by the nodes of a cluster.
//!
//! The same layout as SQLite (rooms with a snapshot, an update log, versions)
//! with versioned, forward-only migrations applied under an advisory lock,
//! so nodes starting together migrate once. The trait is blocking and runs
//! on `spawn_blocking` threads; the synchronous `postgres` client fits that
//! exactly (it drives tokio-postgres on a small runtime of its own). A few
//! connections are pooled, each with its statements prepared once.
//!
//! What several nodes writing one room rely on:
//! - `append` allocates sequence numbers and writes the rows in one
//!   statement that locks the room's row, so appends of different nodes
//!   never collide and a commit is one round trip.
//! - `load` reads the room and its log in one `REPEATABLE READ` snapshot:
//!   a compaction committing meanwhile cannot hide rows from it.
//! - `compact` holds the room's row lock (`FOR UPDATE`), so two nodes never
//!   compact one room at once, and only replaces a snapshot that is older
//!   than its own: a node never overwrites another node's newer snapshot
//!   with a state that may lack what that snapshot folded in. The caller
//!   passes as `through` only a sequence number up to which it holds every
//!   row (see `bus::SeqSet`), so a compaction never drops a row it did not
//!   fold in.
//! - `claim` is one conditional upsert: atomic across nodes.

use std::fmt;
use std::str::FromStr;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use postgres::config::Host;
use postgres::types::ToSql;
use postgres::{Client, IsolationLevel, NoTls, Statement};
use tandem_shared::RoomId;
use tandem_shared::authors::{Author, AuthorId, Authorship, Claim};

use super::sqlite::{decode_changes, encode_changes};
use super::{
    NewVersion, RoomLinks, RoomSummary, Store, StoreError, StoredRoom, Version, VersionKind,
    link_writes,
};
use crate::links::{Link, LinkId, Right};

/// Schema migrations, applied in order; entry `i` moves the schema from
/// version `i` to `i + 1`. Never edit a released entry: add a new one.
const MIGRATIONS: &[&str] = &[
    // 1: rooms, their update log, and their versions (issue 15).
    "CREATE TABLE rooms (
        name         TEXT PRIMARY KEY,
        snapshot     BYTEA,
        snapshot_seq BIGINT  NOT NULL DEFAULT 0,
        last_seq     BIGINT  NOT NULL DEFAULT 0,
        protected    BOOLEAN NOT NULL DEFAULT false,
        created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
        updated_at   TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    CREATE TABLE updates (
        room TEXT   NOT NULL,
        seq  BIGINT NOT NULL,
        data BYTEA  NOT NULL,
        PRIMARY KEY (room, seq)
    );
    CREATE TABLE versions (
        id            BIGSERIAL PRIMARY KEY,
        room          TEXT   NOT NULL,
        at            BIGINT NOT NULL,
        authors       TEXT   NOT NULL,
        label         TEXT,
        kind          TEXT   NOT NULL,
        restored_from BIGINT,
        state         BYTEA  NOT NULL
    );
    CREATE INDEX versions_by_room ON versions (room, id);",
    // 2: share links as records (issue 27), as in SQLite's migration 4.
    "CREATE TABLE links (
        seq        BIGSERIAL PRIMARY KEY,
        room       TEXT   NOT NULL,
        id         TEXT   NOT NULL,
        grants     TEXT   NOT NULL,
        label      TEXT,
        created_by TEXT,
        created_at BIGINT,
        expires_at BIGINT,
        revoked_at BIGINT,
        UNIQUE (room, id)
    );",
    // 3: who wrote what (issue 28), as in SQLite's migration 5; `seq`
    // keeps the order authors first appeared in.
    "CREATE TABLE authors (
        seq    BIGSERIAL,
        room   TEXT NOT NULL,
        id     TEXT NOT NULL,
        record TEXT NOT NULL,
        PRIMARY KEY (room, id)
    );
    CREATE TABLE claims (
        room   TEXT    NOT NULL,
        client BIGINT  NOT NULL,
        clock  BIGINT  NOT NULL,
        author TEXT    NOT NULL,
        PRIMARY KEY (room, client, clock)
    );
    ALTER TABLE versions ADD COLUMN changes TEXT NOT NULL DEFAULT '[]';",
];

/// Key of the advisory lock taken while migrating ("tandem" in ASCII).
const MIGRATION_LOCK: i64 = 0x7461_6e64_656d;
/// Most connections one node opens.
const POOL_SIZE: usize = 8;
/// How long connecting may take before start-up (or a reconnect) fails.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A `postgres://` URL whose password never shows in logs or `Debug`.
#[derive(Clone)]
pub struct DatabaseUrl {
    /// The URL as given, password included, for connecting.
    config: postgres::Config,
}

impl DatabaseUrl {
    /// `postgres://host:port/dbname`, without user or password: what logs
    /// and errors name.
    pub fn redacted(&self) -> String {
        let host = match self.config.get_hosts().first() {
            Some(Host::Tcp(host)) => host.clone(),
            Some(Host::Unix(path)) => path.display().to_string(),
            None => "localhost".into(),
        };
        let port = self.config.get_ports().first().copied().unwrap_or(5432);
        let db = self
            .config
            .get_dbname()
            .or(self.config.get_user())
            .unwrap_or("");
        format!("postgres://{host}:{port}/{db}")
    }

    /// The same server, database `name`.
    pub fn with_database(&self, name: &str) -> Self {
        let mut config = self.config.clone();
        config.dbname(name);
        Self { config }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl FromStr for DatabaseUrl {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // The parser's message never quotes the input, so no password leaks.
        let mut config = postgres::Config::from_str(s).map_err(|e| e.to_string())?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        config.keepalives(true);
        config.application_name("tandem");
        Ok(Self { config })
    }
}

/// Rooms in a PostgreSQL database, shared by every node of a cluster.
#[derive(Debug)]
pub struct PostgresStore {
    /// Where to (re)connect.
    url: DatabaseUrl,
    /// Idle connections, and how many are open in all.
    pool: Mutex<PoolState>,
    /// Signalled when a connection is returned or closed.
    returned: Condvar,
}

#[derive(Debug, Default)]
struct PoolState {
    idle: Vec<Conn>,
    open: usize,
}

/// One connection with its prepared statements.
struct Conn {
    client: Client,
    load_room: Statement,
    load_log: Statement,
    append: Statement,
}

impl fmt::Debug for Conn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Conn")
    }
}

/// A pooled connection, returned on drop (or forgotten if it broke).
struct Pooled<'a> {
    store: &'a PostgresStore,
    conn: Option<Conn>,
}

impl std::ops::Deref for Pooled<'_> {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        self.conn.as_ref().expect("present until drop")
    }
}

impl std::ops::DerefMut for Pooled<'_> {
    fn deref_mut(&mut self) -> &mut Conn {
        self.conn.as_mut().expect("present until drop")
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        let mut pool = self.store.lock();
        match self.conn.take() {
            Some(conn) if !conn.client.is_closed() => pool.idle.push(conn),
            _ => pool.open -= 1,
        }
        self.store.returned.notify_one();
    }
}

impl PostgresStore {
    /// Connects to `url` and brings its schema up to date. Fails with the
    /// URL's host and the error when the server cannot be reached, or with
    /// [`StoreError::SchemaTooNew`] for a database from a newer Tandem.
    ///
    /// Callable from async code: connecting runs on a thread of its own,
    /// since the client must not block a runtime's worker.
    pub fn open(url: &DatabaseUrl) -> Result<Self, StoreError> {
        let store = Self {
            url: url.clone(),
            pool: Mutex::new(PoolState::default()),
            returned: Condvar::new(),
        };
        std::thread::scope(|scope| {
            scope
                .spawn(|| -> Result<(), StoreError> {
                    let mut client = store.connect_client()?;
                    migrate(&mut client)?;
                    let conn = prepare(client)?;
                    let mut pool = store.lock();
                    pool.idle.push(conn);
                    pool.open += 1;
                    Ok(())
                })
                .join()
                .map_err(|_| StoreError::Other("connecting to PostgreSQL panicked".into()))?
        })?;
        tracing::info!(database = %url.redacted(), "PostgreSQL store opened");
        Ok(store)
    }

    fn connect_client(&self) -> Result<Client, StoreError> {
        self.url
            .config
            .connect(NoTls)
            .map_err(|source| StoreError::Connect {
                url: self.url.redacted(),
                source,
            })
    }

    fn lock(&self) -> MutexGuard<'_, PoolState> {
        // Critical sections are a push or a pop: never left half-done.
        self.pool
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// An idle connection, a new one if fewer than [`POOL_SIZE`] are open,
    /// or the next one returned.
    fn get(&self) -> Result<Pooled<'_>, StoreError> {
        let mut pool = self.lock();
        loop {
            if let Some(conn) = pool.idle.pop() {
                if conn.client.is_closed() {
                    pool.open -= 1;
                    continue;
                }
                return Ok(Pooled {
                    store: self,
                    conn: Some(conn),
                });
            }
            if pool.open < POOL_SIZE {
                pool.open += 1;
                drop(pool);
                let conn = self.connect_client().and_then(prepare);
                return match conn {
                    Ok(conn) => Ok(Pooled {
                        store: self,
                        conn: Some(conn),
                    }),
                    Err(err) => {
                        self.lock().open -= 1;
                        self.returned.notify_one();
                        Err(err)
                    }
                };
            }
            pool = self
                .returned
                .wait(pool)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        // Closing a client runs its small runtime, which must not happen on
        // a runtime's worker (the server drops its state there): close them
        // on a thread of their own.
        let idle = std::mem::take(&mut self.lock().idle);
        if !idle.is_empty() {
            let _ = std::thread::spawn(move || drop(idle)).join();
        }
    }
}

fn prepare(mut client: Client) -> Result<Conn, StoreError> {
    Ok(Conn {
        load_room: client
            .prepare("SELECT snapshot, last_seq, protected FROM rooms WHERE name = $1")?,
        load_log: client.prepare("SELECT data FROM updates WHERE room = $1 ORDER BY seq")?,
        // One statement, so one round trip and its own transaction: the
        // upsert locks the room's row and reserves `$2` sequence numbers,
        // then the rows are written with them.
        append: client.prepare(
            "WITH head AS (
                INSERT INTO rooms AS r (name, last_seq) VALUES ($1, $2)
                ON CONFLICT (name) DO UPDATE SET last_seq = r.last_seq + $2, updated_at = now()
                RETURNING last_seq
             ), written AS (
                INSERT INTO updates (room, seq, data)
                SELECT $1, (SELECT last_seq FROM head) - $2 + t.ord, t.data
                FROM unnest($3::bytea[]) WITH ORDINALITY AS t(data, ord)
             )
             SELECT last_seq FROM head",
        )?,
        client,
    })
}

fn migrate(client: &mut Client) -> Result<(), StoreError> {
    let supported = MIGRATIONS.len() as i64;
    let mut txn = client.transaction()?;
    txn.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    txn.batch_execute(
        "CREATE TABLE IF NOT EXISTS tandem_migrations (
            version    BIGINT PRIMARY KEY,
            applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
        )",
    )?;
    let found: i64 = txn
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM tandem_migrations",
            &[],
        )?
        .get(0);
    if found > supported {
        return Err(StoreError::SchemaTooNew { found, supported });
    }
    for (version, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let version = version as i64 + 1;
        txn.batch_execute(sql)?;
        txn.execute(
            "INSERT INTO tandem_migrations (version) VALUES ($1)",
            &[&version],
        )?;
        tracing::info!(version, "applied database migration");
    }
    txn.commit()?;
    Ok(())
}

/// Authors are stored as a JSON array: names are free text.
fn encode_authors(authors: &[String]) -> String {
    serde_json::to_string(authors).unwrap_or_else(|_| "[]".to_string())
}

/// A row's authors; a column that does not parse reads as none.
fn decode_authors(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

/// The summary of each room (or of the one named, with `$1`): the same
/// columns as SQLite's, in one pass over each table.
const SUMMARIES: &str = "SELECT r.name, r.protected,
        (COALESCE(octet_length(r.snapshot), 0) + COALESCE(u.bytes, 0))::bigint,
        r.last_seq, COALESCE(u.count, 0)::bigint,
        (extract(epoch FROM r.updated_at) * 1000)::bigint, COALESCE(v.count, 0)::bigint
     FROM rooms r
     LEFT JOIN (SELECT room, count(*) AS count, sum(octet_length(data)) AS bytes
                FROM updates GROUP BY room) u ON u.room = r.name
     LEFT JOIN (SELECT room, count(*) AS count FROM versions GROUP BY room) v
            ON v.room = r.name
     WHERE $1::text IS NULL OR r.name = $1
     ORDER BY r.name";

/// The rows of [`SUMMARIES`] as summaries; names that are not room names
/// (written by hand) are skipped.
fn summaries(rows: &[postgres::Row]) -> Vec<RoomSummary> {
    rows.iter()
        .filter_map(|row| {
            let room = RoomId::new(row.get::<_, String>(0)).ok()?;
            Some(RoomSummary {
                room,
                protected: row.get(1),
                bytes: row.get::<_, i64>(2) as u64,
                updates: row.get::<_, i64>(3) as u64,
                log_updates: row.get::<_, i64>(4) as u64,
                changed_at: row.get(5),
                versions: row.get::<_, i64>(6) as u64,
            })
        })
        .collect()
}

impl PostgresStore {
    fn load_once(&self, room: &RoomId) -> Result<StoredRoom, StoreError> {
        let mut conn = self.get()?;
        let Conn {
            client,
            load_room,
            load_log,
            ..
        } = &mut *conn;
        let mut txn = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()?;
        let Some(head) = txn.query_opt(&*load_room, &[&room.as_str()])? else {
            txn.commit()?;
            return Ok(StoredRoom::default());
        };
        let updates = txn
            .query(&*load_log, &[&room.as_str()])?
            .iter()
            .map(|row| row.get::<_, Vec<u8>>(0))
            .collect();
        let authors = read_authorship(&mut txn, room)?;
        txn.commit()?;
        Ok(StoredRoom {
            snapshot: head.get(0),
            updates,
            last_seq: head.get::<_, i64>(1) as u64,
            protected: head.get(2),
            authors,
        })
    }
}

impl Store for PostgresStore {
    fn load(&self, room: &RoomId) -> Result<StoredRoom, StoreError> {
        // Idle connections may have been cut while PostgreSQL restarted;
        // the pool forgets each one as it fails. A load writes nothing, so
        // it is retried on a fresh connection; a failed write closes the
        // room instead (its clients resend).
        match self.load_once(room) {
            Err(StoreError::Postgres(err)) if err.is_closed() => self.load_once(room),
            other => other,
        }
    }

    fn append_with_authors(
        &self,
        room: &RoomId,
        updates: &[&[u8]],
        authors: &Authorship,
    ) -> Result<u64, StoreError> {
        let mut conn = self.get()?;
        if !authors.is_empty() {
            // Rows and authorship in one transaction: two round trips more
            // than a plain append, paid only by batches that bring a new
            // writer or a rename.
            let Conn { client, append, .. } = &mut *conn;
            let mut txn = client.transaction()?;
            let seq = if updates.is_empty() {
                txn.execute(
                    "INSERT INTO rooms (name) VALUES ($1) ON CONFLICT (name) DO NOTHING",
                    &[&room.as_str()],
                )?;
                txn.query_one(
                    "SELECT last_seq FROM rooms WHERE name = $1",
                    &[&room.as_str()],
                )?
                .get::<_, i64>(0)
            } else {
                let count = updates.len() as i64;
                let params: [&(dyn ToSql + Sync); 3] = [&room.as_str(), &count, &updates];
                txn.query_one(&*append, &params)?.get(0)
            };
            write_authorship(&mut txn, room, authors)?;
            txn.commit()?;
            return Ok(seq as u64);
        }
        if updates.is_empty() {
            let seq = conn
                .client
                .query_opt(
                    "SELECT last_seq FROM rooms WHERE name = $1",
                    &[&room.as_str()],
                )?
                .map_or(0, |row| row.get::<_, i64>(0));
            return Ok(seq as u64);
        }
        let count = updates.len() as i64;
        let Conn { client, append, .. } = &mut *conn;
        let params: [&(dyn ToSql + Sync); 3] = [&room.as_str(), &count, &updates];
        let seq: i64 = client.query_one(&*append, &params)?.get(0);
        Ok(seq as u64)
    }

    fn claim(&self, room: &RoomId) -> Result<bool, StoreError> {
        let changed = self.get()?.client.execute(
            "INSERT INTO rooms AS r (name, protected) VALUES ($1, true)
             ON CONFLICT (name) DO UPDATE SET protected = true, updated_at = now()
             WHERE r.last_seq = 0 AND r.snapshot IS NULL AND NOT r.protected",
            &[&room.as_str()],
        )?;
        Ok(changed == 1)
    }

    fn compact(&self, room: &RoomId, state: &[u8], through: u64) -> Result<(), StoreError> {
        let through = through as i64;
        let mut conn = self.get()?;
        let mut txn = conn.client.transaction()?;
        txn.execute(
            "INSERT INTO rooms (name) VALUES ($1) ON CONFLICT (name) DO NOTHING",
            &[&room.as_str()],
        )?;
        // The row lock: another node compacting (or appending to) this room
        // waits for this transaction.
        let snapshot_seq: i64 = txn
            .query_one(
                "SELECT snapshot_seq FROM rooms WHERE name = $1 FOR UPDATE",
                &[&room.as_str()],
            )?
            .get(0);
        if snapshot_seq > through {
            tracing::debug!(%room, snapshot_seq, through, "a newer snapshot is stored: not compacting");
            txn.commit()?;
            return Ok(());
        }
        txn.execute(
            "UPDATE rooms SET snapshot = $2, snapshot_seq = $3,
                last_seq = GREATEST(last_seq, $3), updated_at = now()
             WHERE name = $1",
            &[&room.as_str(), &state, &through],
        )?;
        txn.execute(
            "DELETE FROM updates WHERE room = $1 AND seq <= $2",
            &[&room.as_str(), &through],
        )?;
        txn.commit()?;
        Ok(())
    }

    fn add_version(&self, room: &RoomId, version: &NewVersion<'_>) -> Result<u64, StoreError> {
        let restored_from = version.restored_from.map(|id| id as i64);
        let id: i64 = self
            .get()?
            .client
            .query_one(
                "INSERT INTO versions (room, at, authors, label, kind, restored_from, changes, state)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                &[
                    &room.as_str(),
                    &version.at,
                    &encode_authors(version.authors),
                    &version.label,
                    &version.kind.as_str(),
                    &restored_from,
                    &encode_changes(version.changes),
                    &version.state,
                ],
            )?
            .get(0);
        Ok(id as u64)
    }

    fn list_versions(&self, room: &RoomId) -> Result<Vec<Version>, StoreError> {
        let rows = self.get()?.client.query(
            "SELECT id, at, authors, label, kind, restored_from, changes FROM versions
             WHERE room = $1 ORDER BY id DESC",
            &[&room.as_str()],
        )?;
        Ok(rows
            .iter()
            .map(|row| Version {
                id: row.get::<_, i64>(0) as u64,
                at: row.get(1),
                authors: decode_authors(row.get(2)),
                label: row.get(3),
                kind: VersionKind::parse(row.get(4)),
                restored_from: row.get::<_, Option<i64>>(5).map(|id| id as u64),
                changes: decode_changes(row.get(6)),
            })
            .collect())
    }

    fn version_state(&self, room: &RoomId, id: u64) -> Result<Option<Vec<u8>>, StoreError> {
        let row = self.get()?.client.query_opt(
            "SELECT state FROM versions WHERE id = $1 AND room = $2",
            &[&(id as i64), &room.as_str()],
        )?;
        Ok(row.map(|row| row.get(0)))
    }

    fn label_version(
        &self,
        room: &RoomId,
        id: u64,
        label: Option<&str>,
    ) -> Result<bool, StoreError> {
        let changed = self.get()?.client.execute(
            "UPDATE versions SET label = $3 WHERE id = $1 AND room = $2",
            &[&(id as i64), &room.as_str(), &label],
        )?;
        Ok(changed == 1)
    }

    fn delete_versions(&self, room: &RoomId, ids: &[u64]) -> Result<usize, StoreError> {
        if ids.is_empty() {
            return Ok(0);
        }
        let ids: Vec<i64> = ids.iter().map(|&id| id as i64).collect();
        let deleted = self.get()?.client.execute(
            "DELETE FROM versions WHERE room = $1 AND id = ANY($2)",
            &[&room.as_str(), &ids],
        )?;
        Ok(deleted as usize)
    }

    fn list_rooms(&self) -> Result<Vec<RoomSummary>, StoreError> {
        let none: Option<&str> = None;
        let rows = self.get()?.client.query(SUMMARIES, &[&none])?;
        Ok(summaries(&rows))
    }

    fn links(&self, room: &RoomId) -> Result<RoomLinks, StoreError> {
        let mut conn = self.get()?;
        // One snapshot for both reads.
        let mut txn = conn
            .client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()?;
        let links = RoomLinks {
            protected: is_protected(&mut txn, room)?,
            links: read_links(&mut txn, room)?,
        };
        txn.commit()?;
        Ok(links)
    }

    fn edit_links(
        &self,
        room: &RoomId,
        edit: &mut dyn FnMut(bool, &mut Vec<Link>) -> bool,
    ) -> Result<Vec<Link>, StoreError> {
        let mut conn = self.get()?;
        let mut txn = conn.client.transaction()?;
        // The room's links lock, held to the commit: changes of one room's
        // links from every node take turns, the first change included
        // (a row lock could not cover links not written yet). Its own key
        // space, so it never waits on appends or compaction.
        txn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('tandem.links/' || $1, 0))",
            &[&room.as_str()],
        )?;
        let protected = is_protected(&mut txn, room)?;
        let before = read_links(&mut txn, room)?;
        let mut after = before.clone();
        if !edit(protected, &mut after) {
            txn.commit()?;
            return Ok(before);
        }
        let (changed, added) = link_writes(&before, &after)?;
        for link in changed {
            txn.execute(
                "UPDATE links SET grants = $3, label = $4, expires_at = $5, revoked_at = $6
                 WHERE room = $1 AND id = $2",
                &[
                    &room.as_str(),
                    &link.id.as_str(),
                    &link.right.as_str(),
                    &link.label,
                    &link.expires_at,
                    &link.revoked_at,
                ],
            )?;
        }
        for link in added {
            txn.execute(
                "INSERT INTO links
                    (room, id, grants, label, created_by, created_at, expires_at, revoked_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &[
                    &room.as_str(),
                    &link.id.as_str(),
                    &link.right.as_str(),
                    &link.label,
                    &link.created_by,
                    &link.created_at,
                    &link.expires_at,
                    &link.revoked_at,
                ],
            )?;
        }
        txn.commit()?;
        Ok(after)
    }

    fn delete_room(&self, room: &RoomId) -> Result<Option<RoomSummary>, StoreError> {
        let mut conn = self.get()?;
        let mut txn = conn.client.transaction()?;
        // The room's row lock: an append or a compaction of another node
        // waits for the delete (and then starts the room afresh).
        txn.execute(
            "SELECT 1 FROM rooms WHERE name = $1 FOR UPDATE",
            &[&room.as_str()],
        )?;
        let summary = summaries(&txn.query(SUMMARIES, &[&Some(room.as_str())])?).pop();
        let mut deleted = 0;
        for statement in [
            "DELETE FROM updates WHERE room = $1",
            "DELETE FROM versions WHERE room = $1",
            "DELETE FROM rooms WHERE name = $1",
        ] {
            deleted += txn.execute(statement, &[&room.as_str()])?;
        }
        // Links belong to the room, but are not what the summary counts.
        txn.execute("DELETE FROM links WHERE room = $1", &[&room.as_str()])?;
        // Authorship belongs to the room's text, and goes with it.
        txn.execute("DELETE FROM authors WHERE room = $1", &[&room.as_str()])?;
        txn.execute("DELETE FROM claims WHERE room = $1", &[&room.as_str()])?;
        txn.commit()?;
        Ok(summary.or_else(|| {
            (deleted > 0).then(|| RoomSummary {
                room: room.clone(),
                protected: false,
                bytes: 0,
                updates: 0,
                log_updates: 0,
                changed_at: 0,
                versions: deleted,
            })
        }))
    }
}

/// The stored links of `room`, oldest first, as SQLite's `read_links`
/// reads them (hand-written ids skipped, unknown rights read as view).
fn read_links(
    client: &mut impl postgres::GenericClient,
    room: &RoomId,
) -> Result<Vec<Link>, StoreError> {
    let rows = client.query(
        "SELECT id, grants, label, created_by, created_at, expires_at, revoked_at
         FROM links WHERE room = $1 ORDER BY seq",
        &[&room.as_str()],
    )?;
    Ok(rows
        .iter()
        .filter_map(|row| {
            Some(Link {
                id: LinkId::new(row.get::<_, String>(0)).ok()?,
                right: Right::parse(row.get(1)).unwrap_or(Right::View),
                label: row.get(2),
                created_by: row.get(3),
                created_at: row.get(4),
                expires_at: row.get(5),
                revoked_at: row.get(6),
            })
        })
        .collect())
}

/// Writes `authors`' changes for `room`, as SQLite's `write_authorship`:
/// records replaced by their latest, claims added unless taken.
fn write_authorship(
    client: &mut impl postgres::GenericClient,
    room: &RoomId,
    authors: &Authorship,
) -> Result<(), StoreError> {
    for author in &authors.authors {
        let record = serde_json::to_string(author).unwrap_or_default();
        client.execute(
            "INSERT INTO authors (room, id, record) VALUES ($1, $2, $3)
             ON CONFLICT (room, id) DO UPDATE SET record = excluded.record",
            &[&room.as_str(), &author.id.as_str(), &record],
        )?;
    }
    if !authors.claims.is_empty() {
        // Client ids are 53-bit (JavaScript-safe): they fit a BIGINT.
        let clients: Vec<i64> = authors.claims.iter().map(|c| c.client as i64).collect();
        let clocks: Vec<i64> = authors.claims.iter().map(|c| i64::from(c.clock)).collect();
        let names: Vec<&str> = authors.claims.iter().map(|c| c.author.as_str()).collect();
        client.execute(
            "INSERT INTO claims (room, client, clock, author)
             SELECT $1, c.client, c.clock, c.author
             FROM unnest($2::bigint[], $3::bigint[], $4::text[]) AS c(client, clock, author)
             ON CONFLICT (room, client, clock) DO NOTHING",
            &[&room.as_str(), &clients, &clocks, &names],
        )?;
    }
    Ok(())
}

/// `room`'s authorship, as SQLite's `read_authorship` reads it (rows that
/// do not read skipped).
fn read_authorship(
    client: &mut impl postgres::GenericClient,
    room: &RoomId,
) -> Result<Authorship, StoreError> {
    let authors = client
        .query(
            "SELECT record FROM authors WHERE room = $1 ORDER BY seq",
            &[&room.as_str()],
        )?
        .iter()
        .filter_map(|row| serde_json::from_str::<Author>(row.get(0)).ok())
        .collect();
    let claims = client
        .query(
            "SELECT client, clock, author FROM claims WHERE room = $1 ORDER BY client, clock",
            &[&room.as_str()],
        )?
        .iter()
        .filter_map(|row| {
            Some(Claim {
                client: u64::try_from(row.get::<_, i64>(0)).ok()?,
                clock: u32::try_from(row.get::<_, i64>(1)).ok()?,
                author: AuthorId::new(row.get::<_, String>(2)).ok()?,
            })
        })
        .collect();
    Ok(Authorship { authors, claims })
}

/// Whether `room` has a row marked protected.
fn is_protected(
    client: &mut impl postgres::GenericClient,
    room: &RoomId,
) -> Result<bool, StoreError> {
    Ok(client
        .query_opt(
            "SELECT protected FROM rooms WHERE name = $1",
            &[&room.as_str()],
        )?
        .is_some_and(|row| row.get(0)))
}

#[cfg(test)]
pub(crate) mod tests {
    //! PostgreSQL-specific behaviour; the shared contract runs from
    //! `store::tests`. Every test gets a database of its own on the server
    //! `TANDEM_TEST_DATABASE_URL` names (`cargo xtask test` provides one).

    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    /// The variable naming the test server; a superuser URL.
    pub(crate) const DATABASE_URL_ENV: &str = "TANDEM_TEST_DATABASE_URL";

    /// A store on a fresh database. Panics (never skips) when no test
    /// server is configured.
    pub(crate) fn fresh_store() -> PostgresStore {
        PostgresStore::open(&fresh_database()).expect("open the PostgreSQL store")
    }

    /// A fresh, empty database on the test server.
    pub(crate) fn fresh_database() -> DatabaseUrl {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let admin = std::env::var(DATABASE_URL_ENV).unwrap_or_else(|_| {
            panic!(
                "{DATABASE_URL_ENV} is not set: the PostgreSQL tests need a server \
                 (`cargo xtask test` starts one)"
            )
        });
        let admin: DatabaseUrl = admin.parse().expect("a valid test database URL");
        let name = format!(
            "tandem_unit_{}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed),
            fastrand::u32(..)
        );
        let mut client = admin
            .config
            .connect(NoTls)
            .expect("connect to the test server");
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create a test database");
        admin.with_database(&name)
    }

    fn room(name: &str) -> RoomId {
        RoomId::new(name).expect("room")
    }

    #[test]
    fn the_password_never_shows() {
        let url: DatabaseUrl = "postgres://ana:hunter2@db.example:5433/docs"
            .parse()
            .expect("parse");
        assert_eq!(url.redacted(), "postgres://db.example:5433/docs");
        assert!(!format!("{url:?}").contains("hunter2"));
    }

    #[test]
    fn an_unreachable_server_is_named_in_the_error() {
        // A port nothing listens on: bound, then released.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("port")
            .port();
        let url: DatabaseUrl = format!("postgres://ana:hunter2@127.0.0.1:{port}/docs")
            .parse()
            .expect("parse");
        let err = PostgresStore::open(&url).expect_err("nothing listens there");
        let text = err.to_string();
        assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(!text.contains('\n'), "one line: {text}");
    }

    #[test]
    fn two_nodes_share_one_log_and_reopening_migrates_nothing() {
        let url = fresh_database();
        let a = PostgresStore::open(&url).expect("node a");
        let b = PostgresStore::open(&url).expect("node b");
        let r = room("shared");
        assert_eq!(a.append(&r, &[b"a1"]).expect("append"), 1);
        assert_eq!(b.append(&r, &[b"b1", b"b2"]).expect("append"), 3);
        assert_eq!(a.append(&r, &[b"a2"]).expect("append"), 4);
        assert_eq!(
            b.load(&r).expect("load").updates,
            [&b"a1"[..], b"b1", b"b2", b"a2"]
        );
        assert!(a.claim(&room("fresh")).expect("claim"));
        assert!(
            !b.claim(&room("fresh")).expect("claim"),
            "claimed once across nodes"
        );
    }

    #[test]
    fn another_node_loads_the_authorship_one_node_wrote() {
        use tandem_shared::authors::AuthorKind;
        let url = fresh_database();
        let a = PostgresStore::open(&url).expect("node a");
        let b = PostgresStore::open(&url).expect("node b");
        let r = room("authored");
        let ada = Author {
            id: AuthorId::new("p-ada").expect("id"),
            kind: AuthorKind::Person,
            name: "Ada".into(),
            color: "#2f8636".into(),
            restored: None,
        };
        let claim = |client, author: &str| Claim {
            client,
            clock: 0,
            author: AuthorId::new(author).expect("id"),
        };
        let written = Authorship {
            authors: vec![ada.clone()],
            claims: vec![claim(1 << 52, "p-ada")],
        };
        a.append_with_authors(&r, &[b"a1"], &written)
            .expect("append");
        // B claims the same client id and clock for someone else: A's stands.
        b.append_with_authors(
            &r,
            &[b"b1"],
            &Authorship {
                authors: Vec::new(),
                claims: vec![claim(1 << 52, "p-bob")],
            },
        )
        .expect("append");
        b.compact(&r, b"state", 2).expect("compact");
        let loaded = b.load(&r).expect("load");
        assert_eq!(loaded.authors, written, "read by the other node, compacted");
        assert_eq!(
            PostgresStore::open(&url)
                .expect("restart")
                .load(&r)
                .expect("load")
                .authors,
            written
        );
    }

    #[test]
    fn a_node_never_overwrites_a_newer_snapshot_or_drops_rows_past_its_own() {
        let url = fresh_database();
        let a = PostgresStore::open(&url).expect("node a");
        let b = PostgresStore::open(&url).expect("node b");
        let r = room("compacted");
        a.append(&r, &[b"1", b"2", b"3", b"4"]).expect("append");
        // B folded in rows up to 3 and compacts them.
        b.compact(&r, b"b-state", 3).expect("compact");
        // A, which holds rows up to 2 only, compacts later: B's snapshot stays.
        a.compact(&r, b"a-state", 2).expect("compact");
        let loaded = a.load(&r).expect("load");
        assert_eq!(loaded.snapshot.as_deref(), Some(&b"b-state"[..]));
        assert_eq!(loaded.updates, [b"4"], "row 4 was folded in by nobody");
        assert_eq!(loaded.last_seq, 4);
    }

    #[test]
    fn concurrent_appends_from_many_nodes_get_distinct_sequence_numbers() {
        let url = fresh_database();
        let r = room("busy");
        let seqs: Vec<u64> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..4)
                .map(|node| {
                    let (url, r) = (&url, &r);
                    scope.spawn(move || {
                        let store = PostgresStore::open(url).expect("node");
                        (0..25)
                            .map(|i| {
                                let data = format!("{node}-{i}");
                                store.append(r, &[data.as_bytes()]).expect("append")
                            })
                            .collect::<Vec<u64>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().expect("node thread"))
                .collect()
        });
        let mut sorted = seqs.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted, (1..=100).collect::<Vec<u64>>());
        let store = PostgresStore::open(&url).expect("open");
        assert_eq!(store.load(&r).expect("load").updates.len(), 100);
    }
}
