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

pub mod backup;
pub mod lock;
mod memory;
mod postgres;
mod sqlite;

use std::panic::{AssertUnwindSafe, catch_unwind};

use tandem_shared::RoomId;
use tandem_shared::authors::Authorship;
use tandem_shared::history::AuthorChange;
use yrs::updates::decoder::Decode;

use crate::links::Link;
use yrs::{Transact, Update};

pub use memory::MemoryStore;
pub use postgres::{DatabaseUrl, PostgresStore};
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
    /// Who wrote what (issue 28): the room's authors and the claims that
    /// tie the document's client ids to them, read in the same snapshot as
    /// the log. Compaction never touches them.
    pub authors: Authorship,
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
    /// PostgreSQL refused an operation, or the connection broke.
    #[error("postgres: {0}")]
    Postgres(#[from] ::postgres::Error),
    /// PostgreSQL could not be reached (`url` has no user or password).
    #[error("cannot reach PostgreSQL at {url}: {source}")]
    Connect {
        /// The server, as `postgres://host:port/db`.
        url: String,
        /// What the client said.
        source: ::postgres::Error,
    },
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
    /// Another process holds the data directory's lock: `tandem restore`
    /// is replacing the store (see [`lock::DataDirLock`]).
    #[error(
        "{path} is locked: `tandem restore` is replacing the store; start again when it is done"
    )]
    Locked {
        /// The lock file.
        path: std::path::PathBuf,
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
    fn append(&self, room: &RoomId, updates: &[&[u8]]) -> Result<u64, StoreError> {
        self.append_with_authors(room, updates, &Authorship::default())
    }

    /// [`Store::append`], recording in the same transaction what changed in
    /// the room's authorship (issue 28): `authors` are written as given
    /// (new ones added, known ones replaced: a person's latest name and
    /// colour), `claims` added unless one for the same client id and clock
    /// is stored already (the first stands). So the claims of an update are
    /// durable exactly when the update is. `updates` may be empty: a rename
    /// is stored on its own.
    fn append_with_authors(
        &self,
        room: &RoomId,
        updates: &[&[u8]],
        authors: &Authorship,
    ) -> Result<u64, StoreError>;

    /// Marks a room that was never written as protected (see
    /// [`StoredRoom::protected`]); `false`, changing nothing, if it already has
    /// content or is protected already (a name is claimed once).
    fn claim(&self, room: &RoomId) -> Result<bool, StoreError>;

    /// Makes `state` the room's snapshot and drops every log entry up to and
    /// including `through`, in one transaction. `state` must contain at least
    /// everything those entries held.
    fn compact(&self, room: &RoomId, state: &[u8], through: u64) -> Result<(), StoreError>;

    // Version history (issue 15). Versions live beside the log and the
    // snapshot: `compact` never touches them. Which ones to drop is decided
    // by the room's retention policy (`room::history`), not by the store.

    /// Stores a checkpoint of `room` and returns its id. Ids are unique in
    /// the store, grow with every call and are never reused, so a later
    /// version always has a larger id.
    fn add_version(&self, room: &RoomId, version: &NewVersion<'_>) -> Result<u64, StoreError>;

    /// Every version of `room`, newest (largest id) first, without their
    /// states: listing must stay fast however large the document is.
    fn list_versions(&self, room: &RoomId) -> Result<Vec<Version>, StoreError>;

    /// The encoded state (one v1 update) of version `id` of `room`; `None`
    /// if there is no such version in that room.
    fn version_state(&self, room: &RoomId, id: u64) -> Result<Option<Vec<u8>>, StoreError>;

    /// Sets (or with `None` clears) the label of version `id`; `false` if
    /// the room has no such version.
    fn label_version(
        &self,
        room: &RoomId,
        id: u64,
        label: Option<&str>,
    ) -> Result<bool, StoreError>;

    /// Deletes the listed versions of `room` in one transaction (ids that do
    /// not exist are ignored) and returns how many were deleted.
    fn delete_versions(&self, room: &RoomId, ids: &[u64]) -> Result<usize, StoreError>;

    // Rooms from the command line (issue 31, `tandem rooms`): what an
    // operator lists and deletes. Whether a room is open is the running
    // server's business (`crate::admin`), not the store's.

    /// Every stored room, by name, with what it holds. Reads the sizes,
    /// never the contents.
    fn list_rooms(&self) -> Result<Vec<RoomSummary>, StoreError>;

    /// Deletes `room`: its snapshot, its log and its versions, in one
    /// transaction. What it held, or `None` if the store had nothing of it.
    fn delete_room(&self, room: &RoomId) -> Result<Option<RoomSummary>, StoreError>;

    // Share links (issue 27): records beside the room, never touched by
    // compaction, deleted with the room. Which change to make, and whether
    // it is allowed, is `crate::links`'s business, run inside the store's
    // transaction through `edit_links`.

    /// Whether `room` is protected, and its stored share links, oldest
    /// first: none while its links were never changed (the two original
    /// links then stand for them, see [`crate::links::standing`]).
    fn links(&self, room: &RoomId) -> Result<RoomLinks, StoreError>;

    /// Changes `room`'s links in one transaction that no other change of
    /// them, from this node or another, interleaves with. `edit` gets
    /// whether the room is protected and its stored links, oldest first; it
    /// may change them and append new ones (never remove or reorder one) and
    /// answers whether to write what it did. Returns the links as stored
    /// afterwards.
    fn edit_links(
        &self,
        room: &RoomId,
        edit: &mut dyn FnMut(bool, &mut Vec<Link>) -> bool,
    ) -> Result<Vec<Link>, StoreError>;
}

/// A room's share links as [`Store::links`] reads them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoomLinks {
    /// Whether the room is protected ([`StoredRoom::protected`]): only
    /// protected rooms have links to manage.
    pub protected: bool,
    /// Its stored links, oldest first.
    pub links: Vec<Link>,
}

/// What [`Store::edit_links`] writes: the rows of `after` that changed from
/// `before` (same position, same id) and the rows appended; an error if
/// `edit` removed or reordered a link, which the contract forbids.
pub(crate) fn link_writes<'a>(
    before: &[Link],
    after: &'a [Link],
) -> Result<(Vec<&'a Link>, &'a [Link]), StoreError> {
    let kept = after
        .get(..before.len())
        .ok_or_else(|| StoreError::Other("a change of links removed a link".into()))?;
    let mut changed = Vec::new();
    for (old, new) in before.iter().zip(kept) {
        if old.id != new.id {
            return Err(StoreError::Other("a change of links reordered them".into()));
        }
        if old != new {
            changed.push(new);
        }
    }
    Ok((changed, &after[before.len()..]))
}

/// What a room holds in the store, as `tandem rooms list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RoomSummary {
    /// The room's name.
    pub room: RoomId,
    /// Whether it was created through `POST /api/rooms` (see
    /// [`StoredRoom::protected`]).
    pub protected: bool,
    /// Bytes of its snapshot and log: what loading it reads.
    pub bytes: u64,
    /// Updates written since it was created (compacted ones included).
    pub updates: u64,
    /// Updates in its log now, not yet folded into the snapshot.
    pub log_updates: u64,
    /// When it last changed (written, compacted or claimed), in Unix
    /// milliseconds; 0 when the store does not know.
    pub changed_at: i64,
    /// How many versions it keeps.
    pub versions: u64,
}

/// Why a checkpoint was taken. Stored as text ([`VersionKind::as_str`]) so
/// the list reads well in the API and in a database shell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VersionKind {
    /// After a stretch of editing (the periodic checkpoint).
    Edit,
    /// When the room went idle or was unloaded.
    Idle,
    /// Just before a restore, so the restore itself can be undone.
    BeforeRestore,
    /// The state right after a restore.
    Restore,
    /// Asked for by a person naming the current state.
    Named,
}

impl VersionKind {
    /// Every kind, for parsing and tests.
    pub const ALL: [Self; 5] = [
        Self::Edit,
        Self::Idle,
        Self::BeforeRestore,
        Self::Restore,
        Self::Named,
    ];

    /// The stored and serialised name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Edit => "edit",
            Self::Idle => "idle",
            Self::BeforeRestore => "before-restore",
            Self::Restore => "restore",
            Self::Named => "named",
        }
    }

    /// The kind stored as `name`; unknown names (from a newer server) read
    /// as [`VersionKind::Edit`] rather than hiding the version.
    pub fn parse(name: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == name)
            .unwrap_or(Self::Edit)
    }
}

/// One stored version, as listed (its state is fetched separately).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// Unique, increasing id (see [`Store::add_version`]).
    pub id: u64,
    /// When the checkpoint was taken, in Unix milliseconds.
    pub at: i64,
    /// Names of the people whose edits it covers since the previous version.
    pub authors: Vec<String>,
    /// A name a person gave it; named versions are kept until deleted.
    pub label: Option<String>,
    /// Why it was taken.
    pub kind: VersionKind,
    /// For a [`VersionKind::Restore`]: the version whose text was restored.
    pub restored_from: Option<u64>,
    /// Who changed what since the previous version (issue 28), by author.
    pub changes: Vec<AuthorChange>,
}

/// A version to store: everything but the id, plus the state.
#[derive(Debug, Clone, Copy)]
pub struct NewVersion<'a> {
    /// See [`Version::at`].
    pub at: i64,
    /// See [`Version::authors`].
    pub authors: &'a [String],
    /// See [`Version::label`].
    pub label: Option<&'a str>,
    /// See [`Version::kind`].
    pub kind: VersionKind,
    /// See [`Version::restored_from`].
    pub restored_from: Option<u64>,
    /// See [`Version::changes`].
    pub changes: &'a [AuthorChange],
    /// The whole document state as one v1 update.
    pub state: &'a [u8],
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

        check_versions(store);
        check_rooms(store);
        check_links(store);
        check_authors(store);
    }

    fn author(id: &str, name: &str) -> tandem_shared::authors::Author {
        tandem_shared::authors::Author {
            id: tandem_shared::authors::AuthorId::new(id).expect("id"),
            kind: tandem_shared::authors::AuthorKind::Person,
            name: name.into(),
            color: "#2f8636".into(),
            restored: None,
        }
    }

    fn claim(client: u64, clock: u32, author: &str) -> tandem_shared::authors::Claim {
        tandem_shared::authors::Claim {
            client,
            clock,
            author: tandem_shared::authors::AuthorId::new(author).expect("id"),
        }
    }

    /// Authorship (issue 28), after the other steps: recorded with the
    /// updates, the first claim of a client id and clock standing, authors
    /// replaced by their latest, a rename stored on its own, all of it kept
    /// by compaction and deleted with the room.
    fn check_authors(store: &dyn Store) {
        let a = room("authors-a");
        let first = Authorship {
            authors: vec![author("p-ada", "Ada")],
            claims: vec![claim(1001, 0, "p-ada")],
        };
        assert_eq!(
            store
                .append_with_authors(&a, &[b"one"], &first)
                .expect("append"),
            1
        );
        assert_eq!(store.load(&a).expect("load").authors, first);

        // Bob writes with his own client id and with Ada's past her clock
        // 5; a second claim of (1001, 0) does not replace hers.
        let second = Authorship {
            authors: vec![author("p-bob", "Bob")],
            claims: vec![
                claim(1001, 0, "p-bob"),
                claim(1001, 5, "p-bob"),
                claim(2002, 0, "p-bob"),
            ],
        };
        store
            .append_with_authors(&a, &[b"two", b"three"], &second)
            .expect("append");
        // Ada renames herself without writing: stored on its own.
        let renamed = Authorship {
            authors: vec![author("p-ada", "Ada Lovelace")],
            claims: Vec::new(),
        };
        assert_eq!(
            store
                .append_with_authors(&a, &[], &renamed)
                .expect("a rename"),
            3,
            "a rename writes no log row"
        );
        let expected = Authorship {
            authors: vec![author("p-ada", "Ada Lovelace"), author("p-bob", "Bob")],
            claims: vec![
                claim(1001, 0, "p-ada"),
                claim(1001, 5, "p-bob"),
                claim(2002, 0, "p-bob"),
            ],
        };
        let loaded = store.load(&a).expect("load");
        assert_eq!(loaded.authors, expected);
        assert_eq!(loaded.updates.len(), 3);

        // Compaction keeps them.
        store.compact(&a, b"merged", 3).expect("compact");
        let loaded = store.load(&a).expect("load");
        assert!(loaded.updates.is_empty());
        assert_eq!(loaded.authors, expected);
        assert!(
            store.load(&room("alpha")).expect("load").authors.is_empty(),
            "per room"
        );

        // A plain append records nothing of authorship.
        store.append(&a, &[b"four"]).expect("append");
        assert_eq!(store.load(&a).expect("load").authors, expected);

        store.delete_room(&a).expect("delete").expect("it existed");
        assert_eq!(store.load(&a).expect("load"), StoredRoom::default());
    }

    /// Share links, after [`check_contract`]'s other steps: none stored
    /// until the first change, which writes the two originals down with it;
    /// changes made atomically or not at all; deleted with their room.
    fn check_links(store: &dyn Store) {
        use crate::links::{self, Creation, LinkId, Right};
        use tandem_shared::links::{LinkPatch, NewLink};

        let a = room("links-a");
        let open = room("links-open");
        assert!(store.claim(&a).expect("claim"));
        store.append(&open, &[b"x"]).expect("append");
        assert_eq!(
            store.links(&a).expect("links"),
            RoomLinks {
                protected: true,
                links: Vec::new()
            },
            "a protected room stores no link before the first change"
        );
        assert!(!store.links(&open).expect("links").protected);
        assert!(!store.links(&room("never-seen")).expect("links").protected);

        let now = 1_800_000_000_000;
        let made_id = LinkId::from_random([3; 8]);
        let mut made = None;
        let stored = store
            .edit_links(&a, &mut |protected, stored| {
                assert!(protected && stored.is_empty());
                let creation = Creation {
                    id: made_id.clone(),
                    new: NewLink {
                        right: Right::Edit,
                        label: Some("Design review".into()),
                        expires_in: Some(3_600),
                        created_by: Some("Ana".into()),
                    },
                };
                made = links::create(stored, creation, now).ok();
                made.is_some()
            })
            .expect("edit");
        let made = made.expect("created");
        let ids: Vec<&str> = stored.iter().map(|l| l.id.as_str()).collect();
        assert_eq!(
            ids,
            ["e", "v", made_id.as_str()],
            "the originals, then the new one"
        );
        assert_eq!(stored[0], Link::original(Right::Edit));
        assert_eq!(stored[1], Link::original(Right::View));
        assert_eq!(store.links(&a).expect("links").links, stored, "as written");
        assert_eq!(stored[2], made);
        assert_eq!(made.expires_at, Some(now + 3_600_000));
        assert_eq!(made.created_by.as_deref(), Some("Ana"));

        // A change refused half-way writes nothing.
        let unchanged = store
            .edit_links(&a, &mut |_, stored| {
                stored[1].label = Some("not kept".into());
                false
            })
            .expect("edit");
        assert_eq!(unchanged, stored);
        assert_eq!(store.links(&a).expect("links").links, stored);

        // Narrow one, revoke another: both kept, in place.
        let after = store
            .edit_links(&a, &mut |_, stored| {
                let narrow = LinkPatch {
                    right: Some(Right::View),
                    label: Some(None),
                    ..LinkPatch::default()
                };
                links::patch(stored, &made_id, &narrow, now + 1).is_ok()
                    && links::revoke(stored, &LinkId::original(Right::View), now + 2).is_ok()
            })
            .expect("edit");
        assert_eq!(after.len(), 3);
        assert_eq!(
            (after[2].right, after[2].label.as_deref()),
            (Right::View, None)
        );
        assert_eq!(after[1].revoked_at, Some(now + 2));
        assert_eq!(store.links(&a).expect("links").links, after);

        // Removing a link is not a change the store makes.
        assert!(
            store
                .edit_links(&a, &mut |_, stored| {
                    stored.pop();
                    true
                })
                .is_err()
        );
        assert_eq!(store.links(&a).expect("links").links, after);
        assert!(
            store.links(&open).expect("links").links.is_empty(),
            "per room"
        );

        store.delete_room(&a).expect("delete").expect("it existed");
        assert_eq!(store.links(&a).expect("links"), RoomLinks::default());
        store.delete_room(&open).expect("delete");
    }

    /// Listing and deleting rooms, after [`check_contract`]'s other steps.
    fn check_rooms(store: &dyn Store) {
        let listed = store.list_rooms().expect("list");
        let names: Vec<&str> = listed.iter().map(|r| r.room.as_str()).collect();
        assert_eq!(
            names,
            ["alpha", "beta", "gamma", "versions-a"],
            "every room with a row, by name (versions-b holds versions only)"
        );
        let alpha = &listed[0];
        assert_eq!(
            (
                alpha.protected,
                alpha.bytes,
                alpha.updates,
                alpha.log_updates,
                alpha.versions
            ),
            (false, 7, 4, 1, 0),
            "a 3-byte snapshot and a 4-byte update: {alpha:?}"
        );
        assert!(alpha.changed_at > 0, "{alpha:?}");
        let gamma = &listed[2];
        assert_eq!((gamma.protected, gamma.bytes, gamma.updates), (true, 0, 0));
        let versions_a = &listed[3];
        assert_eq!(
            (
                versions_a.bytes,
                versions_a.updates,
                versions_a.log_updates,
                versions_a.versions
            ),
            (6, 2, 0, 1),
            "{versions_a:?}"
        );

        let a = room("alpha");
        let deleted = store.delete_room(&a).expect("delete").expect("it existed");
        assert_eq!(&deleted, alpha, "the delete answers what the room held");
        assert_eq!(store.load(&a).expect("load"), StoredRoom::default());
        assert_eq!(store.delete_room(&a).expect("delete again"), None);
        assert_eq!(
            store.delete_room(&room("never-seen")).expect("delete"),
            None
        );
        let b = room("versions-b");
        let versions_only = store.delete_room(&b).expect("delete").expect("versions");
        assert_eq!(versions_only.versions, 1);
        assert!(store.list_versions(&b).expect("list").is_empty());
        let names: Vec<String> = store
            .list_rooms()
            .expect("list")
            .into_iter()
            .map(|r| r.room.to_string())
            .collect();
        assert_eq!(names, ["beta", "gamma", "versions-a"]);
        assert_eq!(
            store
                .list_versions(&room("versions-a"))
                .expect("list")
                .len(),
            1,
            "other rooms keep their versions"
        );
        // The name starts afresh.
        assert_eq!(store.append(&a, &[b"new"]).expect("append"), 1);
        assert_eq!(store.load(&a).expect("load").updates, [b"new"]);
    }

    /// The version part of the contract: add, list newest first, get one,
    /// label, delete, and versions kept across compaction.
    fn check_versions(store: &dyn Store) {
        let a = room("versions-a");
        let b = room("versions-b");
        assert!(store.list_versions(&a).expect("list").is_empty());
        assert_eq!(store.version_state(&a, 1).expect("state"), None);

        let ana = vec!["Ana".to_string(), "Bo".to_string()];
        let ana_changes = vec![AuthorChange {
            author: tandem_shared::authors::AuthorId::new("p-ana").expect("id"),
            added: 12,
            removed: 3,
        }];
        let first = store
            .add_version(
                &a,
                &NewVersion {
                    at: 1_000,
                    authors: &ana,
                    label: None,
                    kind: VersionKind::Edit,
                    restored_from: None,
                    changes: &ana_changes,
                    state: b"state-1",
                },
            )
            .expect("add");
        let other = store
            .add_version(
                &b,
                &NewVersion {
                    at: 1_500,
                    authors: &[],
                    label: Some("elsewhere"),
                    kind: VersionKind::Named,
                    restored_from: None,
                    changes: &[],
                    state: b"state-b",
                },
            )
            .expect("add");
        let second = store
            .add_version(
                &a,
                &NewVersion {
                    at: 2_000,
                    authors: &[],
                    label: None,
                    kind: VersionKind::Restore,
                    restored_from: Some(first),
                    changes: &[],
                    state: b"state-2",
                },
            )
            .expect("add");
        assert!(
            first < other && other < second,
            "ids grow: {first} {other} {second}"
        );

        let listed = store.list_versions(&a).expect("list");
        assert_eq!(
            listed,
            vec![
                Version {
                    id: second,
                    at: 2_000,
                    authors: vec![],
                    label: None,
                    kind: VersionKind::Restore,
                    restored_from: Some(first),
                    changes: vec![],
                },
                Version {
                    id: first,
                    at: 1_000,
                    authors: ana.clone(),
                    label: None,
                    kind: VersionKind::Edit,
                    restored_from: None,
                    changes: ana_changes.clone(),
                },
            ],
            "newest first, and only this room's"
        );
        assert_eq!(
            store.version_state(&a, first).expect("state").as_deref(),
            Some(&b"state-1"[..])
        );
        assert_eq!(
            store.version_state(&a, other).expect("state"),
            None,
            "another room's version is not found through this room"
        );

        assert!(
            store
                .label_version(&a, first, Some("Draft sent to Ana"))
                .expect("label")
        );
        assert!(!store.label_version(&a, other, Some("no")).expect("label"));
        assert!(!store.label_version(&a, 999_999, Some("no")).expect("label"));
        let listed = store.list_versions(&a).expect("list");
        assert_eq!(listed[1].label.as_deref(), Some("Draft sent to Ana"));
        assert!(store.label_version(&a, first, None).expect("unlabel"));
        assert_eq!(store.list_versions(&a).expect("list")[1].label, None);

        // Compaction of the room's log keeps its versions.
        store.append(&a, &[b"x", b"y"]).expect("append");
        store.compact(&a, b"merged", 2).expect("compact");
        assert_eq!(store.list_versions(&a).expect("list").len(), 2);
        assert_eq!(
            store.version_state(&a, second).expect("state").as_deref(),
            Some(&b"state-2"[..])
        );

        assert_eq!(
            store
                .delete_versions(&a, &[first, other, 999_999])
                .expect("delete"),
            1,
            "only this room's existing versions are deleted"
        );
        let ids: Vec<u64> = store
            .list_versions(&a)
            .expect("list")
            .iter()
            .map(|v| v.id)
            .collect();
        assert_eq!(ids, vec![second]);
        assert_eq!(store.version_state(&a, first).expect("state"), None);
        assert_eq!(store.list_versions(&b).expect("list").len(), 1);
        assert_eq!(store.delete_versions(&a, &[]).expect("delete nothing"), 0);

        // Ids are never reused, even after the newest is deleted.
        store.delete_versions(&a, &[second]).expect("delete");
        let third = store
            .add_version(
                &a,
                &NewVersion {
                    at: 3_000,
                    authors: &[],
                    label: None,
                    kind: VersionKind::Idle,
                    restored_from: None,
                    changes: &[],
                    state: b"state-3",
                },
            )
            .expect("add");
        assert!(third > second, "{third} > {second}");
    }

    #[test]
    fn memory_store_keeps_the_contract() {
        check_contract(&MemoryStore::default());
    }

    #[test]
    fn postgres_store_keeps_the_contract() {
        check_contract(&postgres::tests::fresh_store());
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

    #[test]
    fn sqlite_authorship_survives_reopening() {
        let dir = tempdir();
        let a = room("authored");
        let written = Authorship {
            authors: vec![author("p-ada", "Ada")],
            claims: vec![claim((1 << 53) - 1, 7, "p-ada")],
        };
        {
            let store = SqliteStore::open(dir.path()).expect("open");
            store
                .append_with_authors(&a, &[b"kept"], &written)
                .expect("append");
            store.compact(&a, b"merged", 1).expect("compact");
        }
        let store = SqliteStore::open(dir.path()).expect("reopen");
        assert_eq!(store.load(&a).expect("load").authors, written);
    }

    #[test]
    fn sqlite_versions_survive_reopening() {
        let dir = tempdir();
        let a = room("alpha");
        let authors = vec!["Ana".to_string()];
        let id = {
            let store = SqliteStore::open(dir.path()).expect("open");
            store
                .add_version(
                    &a,
                    &NewVersion {
                        at: 42,
                        authors: &authors,
                        label: Some("kept"),
                        kind: VersionKind::Named,
                        restored_from: None,
                        changes: &[],
                        state: b"state",
                    },
                )
                .expect("add")
        };
        let store = SqliteStore::open(dir.path()).expect("reopen");
        let listed = store.list_versions(&a).expect("list");
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].id, id);
        assert_eq!(listed[0].authors, authors);
        assert_eq!(listed[0].label.as_deref(), Some("kept"));
        assert_eq!(
            store.version_state(&a, id).expect("state").as_deref(),
            Some(&b"state"[..])
        );
        store.delete_versions(&a, &[id]).expect("delete");
        drop(store);
        let store = SqliteStore::open(dir.path()).expect("reopen");
        let next = store
            .add_version(
                &a,
                &NewVersion {
                    at: 43,
                    authors: &[],
                    label: None,
                    kind: VersionKind::Edit,
                    restored_from: None,
                    changes: &[],
                    state: b"s",
                },
            )
            .expect("add");
        assert!(
            next > id,
            "ids are not reused after reopening: {next} > {id}"
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
