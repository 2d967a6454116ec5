//! Copies of the SQLite store: `tandem backup` and `tandem restore`, and
//! the lock that tells whether a store is in use.
//!
//! **Backup** copies `tandem.db` with SQLite's online backup API
//! (`sqlite3_backup_step(-1)`: every page in one step, inside one read
//! transaction of the source). In WAL mode that read sees the database as
//! of the moment it began, and writers are not held back meanwhile, so the
//! copy holds every transaction committed before the backup began — every
//! edit a client was sent `saved` for — and none half-written, while the
//! server keeps committing. It goes to a temporary file beside `DEST`,
//! which is switched to a rollback journal (one self-contained file),
//! checked (`PRAGMA quick_check`), synced and renamed into place.
//!
//! **In use** is the data directory's lock ([`DataDirLock`]): every open
//! store holds it shared, restore takes it exclusively, so a restore while
//! anything uses the store is refused, and a server started during a
//! restore refuses to start.
//!
//! **Restore** checks the copy (a SQLite file, `quick_check` ok, a Tandem
//! schema no newer than this build), takes the lock, moves an existing
//! store aside (only with `replace`: `tandem.db.replaced-{unix time}` and
//! its `-wal`/`-shm`, so it stays openable), and writes the copy in with
//! the backup API into a temporary file that is synced and renamed to
//! `tandem.db`. The next server start migrates it if it is older.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

use super::StoreError;
use super::lock::{DataDirLock, LOCK_FILE};
use super::sqlite::{DB_FILE, MIGRATIONS};

/// How long a backup waits for a source that is locked (SQLite is
/// recovering a WAL, or a checkpoint holds it) before giving up.
const BUSY_DEADLINE: Duration = Duration::from_secs(30);

/// Why a backup or restore did not happen. Each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The data directory holds no store.
    #[error("{0} holds no Tandem store (no {DB_FILE}); is --data-dir right?")]
    NoStore(PathBuf),
    /// The destination exists and replacing it was not asked for.
    #[error("{0} exists; choose another name, or pass --force to replace it")]
    DestinationExists(PathBuf),
    /// The store is in use: a server or a backup holds its lock.
    #[error(
        "the store in {0} is in use (a Tandem server, or a backup, holds {LOCK_FILE}); stop the server first"
    )]
    InUse(PathBuf),
    /// The data directory already holds a store with rooms.
    #[error(
        "{path} already holds a store with {rooms} room(s); pass --force to replace it (the current one is kept beside it as {DB_FILE}.replaced-<time>)"
    )]
    StoreExists {
        /// The store that would be replaced.
        path: PathBuf,
        /// How many rooms it holds.
        rooms: u64,
    },
    /// The file to restore is not a Tandem backup.
    #[error("{path} is not a Tandem backup: {why}")]
    NotABackup {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        why: String,
    },
    /// SQLite refused.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A file could not be read, written, synced or renamed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The copy was busy for longer than [`BUSY_DEADLINE`].
    #[error("the store stayed busy for {0:?}; try again")]
    Busy(Duration),
    /// Opening the store for the backup failed (its lock, for one).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a backup or restore did, for the person who ran it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyReport {
    /// Rooms in the copy.
    pub rooms: u64,
    /// Versions in the copy.
    pub versions: u64,
    /// Bytes of the copy.
    pub bytes: u64,
    /// For a restore that replaced a store: where the old one was moved.
    pub replaced: Option<PathBuf>,
}

/// Writes a consistent copy of the store in `data_dir` to `dest` while a
/// server may be writing to it (see the module doc). An existing `dest` is
/// replaced only with `replace`.
pub fn backup(data_dir: &Path, dest: &Path, replace: bool) -> Result<CopyReport, BackupError> {
    let db = data_dir.join(DB_FILE);
    if !db.is_file() {
        return Err(BackupError::NoStore(data_dir.to_path_buf()));
    }
    if dest.exists() && !replace {
        return Err(BackupError::DestinationExists(dest.to_path_buf()));
    }
    // Shared, as a server holds it: a restore cannot swap the file under us.
    let _lock = DataDirLock::for_store(data_dir)?;
    // Opened without creating and without migrating: the server owns the schema.
    let source = Connection::open_with_flags(&db, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
    source.busy_timeout(Duration::from_secs(5))?;
    let partial = sibling(dest, "partial")?;
    let outcome = copy_into(&source, &partial).and_then(|report| {
        finish(&partial, dest)?;
        Ok(report)
    });
    if outcome.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    outcome
}

/// Replaces the store in `data_dir` with the backup `src` (see the module
/// doc). An existing store with rooms is replaced only with `replace`, and
/// kept beside the new one.
pub fn restore(data_dir: &Path, src: &Path, replace: bool) -> Result<CopyReport, BackupError> {
    let source = open_backup(src)?;
    std::fs::create_dir_all(data_dir).map_err(|source| BackupError::Io {
        path: data_dir.to_path_buf(),
        source,
    })?;
    let _lock = DataDirLock::exclusive(data_dir)
        .map_err(|source| BackupError::Io {
            path: data_dir.join(LOCK_FILE),
            source,
        })?
        .ok_or_else(|| BackupError::InUse(data_dir.to_path_buf()))?;
    let db = data_dir.join(DB_FILE);
    let mut replaced = None;
    if db.exists() {
        // Nothing else has it open (the lock), so this may recover its WAL.
        // A store that cannot be read is counted as holding something.
        let rooms = Connection::open_with_flags(&db, OpenFlags::SQLITE_OPEN_READ_WRITE)
            .and_then(|conn| count(&conn, "rooms"))
            .unwrap_or(1);
        if rooms > 0 && !replace {
            return Err(BackupError::StoreExists { path: db, rooms });
        }
        let stamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let aside = data_dir.join(format!("{DB_FILE}.replaced-{stamp}"));
        // The WAL and shared memory go with it, under the names SQLite
        // looks for, so the old store stays openable as it was.
        for suffix in ["-wal", "-shm", ""] {
            let from = data_dir.join(format!("{DB_FILE}{suffix}"));
            let to = PathBuf::from(format!("{}{suffix}", aside.display()));
            match std::fs::rename(&from, &to) {
                Ok(()) => {}
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(BackupError::Io { path: from, source }),
            }
        }
        replaced = Some(aside);
    }
    let restoring = sibling(&db, "restoring")?;
    let outcome = copy_into(&source, &restoring).and_then(|report| {
        finish(&restoring, &db)?;
        Ok(report)
    });
    if outcome.is_err() {
        let _ = std::fs::remove_file(&restoring);
    }
    Ok(CopyReport {
        replaced,
        ..outcome?
    })
}

/// Opens `src` read-only and checks it is a Tandem store this build reads.
fn open_backup(src: &Path) -> Result<Connection, BackupError> {
    let not_a_backup = |why: String| BackupError::NotABackup {
        path: src.to_path_buf(),
        why,
    };
    if !src.is_file() {
        return Err(not_a_backup("no such file".into()));
    }
    let conn = Connection::open_with_flags(src, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let check = |conn: &Connection| -> rusqlite::Result<(String, i64, i64)> {
        let quick: String = conn.query_row("PRAGMA quick_check", [], |row| row.get(0))?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
        let rooms: i64 = conn.query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'rooms'",
            [],
            |row| row.get(0),
        )?;
        Ok((quick, version, rooms))
    };
    let (quick, version, rooms_table) =
        check(&conn).map_err(|err| not_a_backup(err.to_string()))?;
    if quick != "ok" {
        return Err(not_a_backup(format!("damaged ({quick})")));
    }
    if rooms_table == 0 {
        return Err(not_a_backup("it holds no Tandem tables".into()));
    }
    let supported = MIGRATIONS.len() as i64;
    if version > supported {
        return Err(not_a_backup(format!(
            "its schema version {version} is newer than this build reads ({supported})"
        )));
    }
    Ok(conn)
}

/// Copies every page of `source` into a new database at `path`, makes it
/// one self-contained file and checks it.
fn copy_into(source: &Connection, path: &Path) -> Result<CopyReport, BackupError> {
    let _ = std::fs::remove_file(path);
    // Readable by its owner only: it holds every document.
    create_private(path).map_err(|source| BackupError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut copy = Connection::open(path)?;
    {
        let backup = Backup::new(source, &mut copy)?;
        let started = Instant::now();
        // All pages in one step: one read transaction of the source, so
        // one consistent state. Busy only while SQLite recovers a WAL.
        loop {
            match backup.step(-1)? {
                StepResult::Done => break,
                StepResult::More => {}
                StepResult::Busy | StepResult::Locked => {
                    if started.elapsed() > BUSY_DEADLINE {
                        return Err(BackupError::Busy(BUSY_DEADLINE));
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                _ => {}
            }
        }
    }
    // The copy carries the source's WAL flag; a backup is one file.
    let _: String = copy.query_row("PRAGMA journal_mode=DELETE", [], |row| row.get(0))?;
    let quick: String = copy.query_row("PRAGMA quick_check", [], |row| row.get(0))?;
    if quick != "ok" {
        return Err(BackupError::NotABackup {
            path: path.to_path_buf(),
            why: format!("the copy does not check out ({quick})"),
        });
    }
    let report = CopyReport {
        rooms: count(&copy, "rooms").unwrap_or(0),
        versions: count(&copy, "versions").unwrap_or(0),
        bytes: 0,
        replaced: None,
    };
    copy.close().map_err(|(_, err)| err)?;
    let bytes = std::fs::metadata(path)
        .map_err(|source| BackupError::Io {
            path: path.to_path_buf(),
            source,
        })?
        .len();
    Ok(CopyReport { bytes, ..report })
}

/// Creates an empty file at `path` that only its owner may read.
fn create_private(path: &Path) -> std::io::Result<()> {
    let mut options = File::options();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map(drop)
}

/// Rows of `table` (0 when it does not exist).
fn count(conn: &Connection, table: &str) -> rusqlite::Result<u64> {
    let exists: i64 = conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
        [table],
        |row| row.get(0),
    )?;
    if exists == 0 {
        return Ok(0);
    }
    let rows: i64 = conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |row| {
        row.get(0)
    })?;
    Ok(rows as u64)
}

/// `.{name}.{what}-{pid}` beside `path`.
fn sibling(path: &Path, what: &str) -> Result<PathBuf, BackupError> {
    let name = path
        .file_name()
        .ok_or_else(|| BackupError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::other("not a file name"),
        })?
        .to_string_lossy();
    Ok(path.with_file_name(format!(".{name}.{what}-{}", std::process::id())))
}

/// Syncs `from`, renames it to `to` and syncs their directory, so the
/// file is whole under its name after a power cut.
fn finish(from: &Path, to: &Path) -> Result<(), BackupError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| BackupError::Io { path, source }
    };
    File::open(from)
        .and_then(|f| f.sync_all())
        .map_err(io(from))?;
    std::fs::rename(from, to).map_err(io(to))?;
    let dir = match to.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

#[cfg(test)]
mod tests {
    use tandem_shared::RoomId;

    use super::*;
    use crate::store::tests::tempdir;
    use crate::store::{SqliteStore, Store};

    #[test]
    fn a_backup_restores_and_a_store_in_use_is_never_replaced() {
        let dir = tempdir();
        let data = dir.path().join("data");
        let room = RoomId::new("kept").expect("room");
        let store = SqliteStore::open(&data).expect("open");
        store.append(&room, &[b"one", b"two"]).expect("append");

        let copy = dir.path().join("copy.db");
        let report = backup(&data, &copy, false).expect("backup while open");
        assert_eq!(report.rooms, 1);
        assert!(report.bytes > 0);
        assert!(matches!(
            backup(&data, &copy, false),
            Err(BackupError::DestinationExists(_))
        ));

        let restored = dir.path().join("restored");
        restore(&restored, &copy, false).expect("restore into a fresh directory");
        assert!(
            matches!(restore(&data, &copy, true), Err(BackupError::InUse(_))),
            "the store is open"
        );
        drop(store);
        assert!(matches!(
            restore(&data, &copy, false),
            Err(BackupError::StoreExists { rooms: 1, .. })
        ));
        let report = restore(&data, &copy, true).expect("replace a closed store");
        let aside = report.replaced.expect("the old store is kept");
        assert!(aside.is_file(), "{}", aside.display());

        let reopened = SqliteStore::open(&restored).expect("open the restored store");
        assert_eq!(
            reopened.load(&room).expect("load").updates,
            [b"one".to_vec(), b"two".to_vec()]
        );
        // A store being restored cannot be opened by a server.
        assert!(
            DataDirLock::exclusive(&restored).expect("lock").is_none(),
            "the store is open"
        );
        drop(reopened);
        let held = DataDirLock::exclusive(&restored)
            .expect("lock")
            .expect("nothing uses it");
        assert!(matches!(
            SqliteStore::open(&restored),
            Err(StoreError::Locked { .. })
        ));
        drop(held);
    }

    #[test]
    fn what_is_not_a_backup_is_refused() {
        let dir = tempdir();
        let junk = dir.path().join("junk.db");
        std::fs::write(&junk, b"not a database at all, not even close").expect("write");
        assert!(matches!(
            restore(&dir.path().join("data"), &junk, false),
            Err(BackupError::NotABackup { .. })
        ));
        let empty = dir.path().join("empty.db");
        Connection::open(&empty)
            .and_then(|c| c.execute_batch("CREATE TABLE other (x)"))
            .expect("a SQLite file of another program");
        assert!(matches!(
            restore(&dir.path().join("data"), &empty, false),
            Err(BackupError::NotABackup { .. })
        ));
        assert!(matches!(
            backup(&dir.path().join("nothing"), &dir.path().join("x.db"), false),
            Err(BackupError::NoStore(_))
        ));
    }
}
