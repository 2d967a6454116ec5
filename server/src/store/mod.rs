//! Durable per-room storage: the [`Store`] trait and its implementations.
//!
//! A room is stored as a snapshot (the whole document state as one v1 update)
//! plus an append-only log of the updates applied since. Loading applies the
//! snapshot and then the log; compaction replaces the snapshot with the merged
//! state and drops the log it covers, in one transaction.
//!
//! The trait is blocking on purpose: SQLite is, and the room actor calls it
//! through `spawn_blocking`, one operation per room at a time, so a slow disk
//! stalls that room's acknowledgements and nothing else.

mod memory;
mod sqlite;

use std::panic::{AssertUnwindSafe, catch_unwind};

use tandem_shared::RoomId;
use yrs::updates::decoder::Decode;
use yrs::{Transact, Update};

pub use memory::MemoryStore;
pub use sqlite::{DB_FILE, SqliteStore};

/// What is stored for one room.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct StoredRoom {
    /// The merged state as of `snapshot_seq`, if the room was ever compacted.
    pub snapshot: Option<Vec<u8>>,
    /// Log entries after the snapshot, oldest first.
    pub updates: Vec<Vec<u8>>,
    /// Sequence number of the newest log entry (or of the snapshot when the log
    /// is empty); 0 for a room never written.
    pub last_seq: u64,
    /// Whether the room was created through `POST /api/rooms`: only a valid
    /// edit key may change it. Rooms opened by name are open to everyone.
    pub protected: bool,
}

impl StoredRoom {
    /// The document this stored state describes, and why entries that do
    /// not decode or apply were skipped (one bad row must not hide the rest).
    pub fn to_doc(&self) -> (yrs::Doc, Vec<String>) {
        let doc = tandem_shared::doc::new_doc();
        let mut skipped = Vec::new();
        for bytes in self.snapshot.iter().chain(&self.updates) {
            // One transaction per entry: much faster in yrs than one big one.
            let applied = Update::decode_v1(bytes)
                .map_err(|e| e.to_string())
                .and_then(|update| {
                    catch_unwind(AssertUnwindSafe(|| doc.transact_mut().apply_update(update)))
                        .map_err(|_| "panic while applying".to_string())?
                        .map_err(|e| e.to_string())
                });
            if let Err(err) = applied {
                skipped.push(err);
            }
        }
        (doc, skipped)
    }

    /// Bytes held in the log, which compaction bounds.
    pub fn log_bytes(&self) -> u64 {
        self.updates.iter().map(|u| u.len() as u64).sum()
    }
}

/// A storage failure. The detail goes to the log; clients only learn that the
/// server failed (close `Internal`).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The SQLite database refused an operation.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The data directory could not be prepared.
    #[error("data directory {path}: {source}")]
    DataDir {
        /// The directory in question.
        path: std::path::PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The database was written by a newer Tandem.
    #[error("database schema version {found} is newer than this server understands ({supported})")]
    SchemaTooNew {
        /// Version in the file.
        found: i64,
        /// Newest version this build knows.
        supported: i64,
    },
    /// The storage task itself failed (it panicked or was cancelled).
    #[error("storage task failed: {0}")]
    Other(String),
    /// A failure injected by a test through [`MemoryStore::fail_writes`].
    #[error("injected failure")]
    Injected,
}

/// Durable storage of rooms.
///
/// Every method is blocking; durable means "on disk" when it returns `Ok`.
pub trait Store: Send + Sync + std::fmt::Debug + 'static {
    /// The stored state of `room`; an empty [`StoredRoom`] if it was never written.
    fn load(&self, room: &RoomId) -> Result<StoredRoom, StoreError>;

    /// Appends `updates` to the room's log in one durable transaction and
    /// returns the sequence number of the last one.
    fn append(&self, room: &RoomId, updates: &[&[u8]]) -> Result<u64, StoreError>;

    /// Marks a room that was never written as protected (see
    /// [`StoredRoom::protected`]); `false`, changing nothing, if it already has
    /// content or is protected already (a name is claimed once).
    fn claim(&self, room: &RoomId) -> Result<bool, StoreError>;

    /// Makes `state` the room's snapshot and drops every log entry up to and
    /// including `through`, in one transaction. `state` must contain at least
    /// everything those entries held.
    fn compact(&self, room: &RoomId, state: &[u8], through: u64) -> Result<(), StoreError>;
}

#[cfg(test)]
pub(crate) mod tests {
    //! The same contract, checked against every implementation.

    use super::*;

    fn room(name: &str) -> RoomId {
        RoomId::new(name).expect("valid room name")
    }

    pub(super) fn check_contract(store: &dyn Store) {
        let a = room("alpha");
        let b = room("beta");
        assert_eq!(store.load(&a).expect("load"), StoredRoom::default());

        assert_eq!(store.append(&a, &[b"one", b"two"]).expect("append"), 2);
        assert_eq!(store.append(&b, &[b"other"]).expect("append"), 1);
        assert_eq!(store.append(&a, &[b"three"]).expect("append"), 3);
        let loaded = store.load(&a).expect("load");
        assert_eq!(loaded.snapshot, None);
        assert_eq!(
            loaded.updates,
            vec![b"one".to_vec(), b"two".to_vec(), b"three".to_vec()]
        );
        assert_eq!(loaded.last_seq, 3);
        assert_eq!(loaded.log_bytes(), 11);

        store.compact(&a, b"merged", 2).expect("compact");
        let loaded = store.load(&a).expect("load");
        assert_eq!(loaded.snapshot.as_deref(), Some(&b"merged"[..]));
        assert_eq!(loaded.updates, vec![b"three".to_vec()]);
        assert_eq!(loaded.last_seq, 3);

        store.compact(&a, b"all", 3).expect("compact");
        let loaded = store.load(&a).expect("load");
        assert_eq!(loaded.snapshot.as_deref(), Some(&b"all"[..]));
        assert!(loaded.updates.is_empty());
        assert_eq!(loaded.last_seq, 3, "sequence numbers never go back");
        assert_eq!(store.append(&a, &[b"four"]).expect("append"), 4);

        assert_eq!(
            store.load(&b).expect("load").updates,
            vec![b"other".to_vec()]
        );
        assert_eq!(store.append(&b, &[]).expect("empty append"), 1);

        let c = room("gamma");
        assert!(!store.claim(&a).expect("claim"), "a room with content");
        assert!(store.claim(&c).expect("claim"), "a fresh name");
        assert!(store.load(&c).expect("load").protected);
        assert!(!store.claim(&c).expect("claim"), "a name is claimed once");
        assert!(!store.load(&a).expect("load").protected);
    }

    #[test]
    fn memory_store_keeps_the_contract() {
        check_contract(&MemoryStore::default());
    }

    #[test]
    fn sqlite_store_keeps_the_contract() {
        let dir = tempdir();
        check_contract(&SqliteStore::open(dir.path()).expect("open"));
    }

    #[test]
    fn sqlite_store_survives_reopening() {
        let dir = tempdir();
        let a = room("alpha");
        {
            let store = SqliteStore::open(dir.path()).expect("open");
            store.append(&a, &[b"kept"]).expect("append");
        }
        let store = SqliteStore::open(dir.path()).expect("reopen");
        assert_eq!(
            store.load(&a).expect("load").updates,
            vec![b"kept".to_vec()]
        );
    }

    /// A fresh directory under `target/` removed on drop, without a tempfile dependency.
    pub(crate) fn tempdir() -> TempDir {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "tandem-store-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }

    pub(crate) struct TempDir(std::path::PathBuf);

    impl TempDir {
        pub(crate) fn path(&self) -> &std::path::Path {
            &self.0
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}
