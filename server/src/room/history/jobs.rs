//! The store work of version history: each request of the API and each
//! checkpoint becomes a [`HistoryJob`], which the room's pipeline runs on a
//! blocking thread, one store operation at a time with the room's commits.
//! A job answers its requester itself; what the actor must still do (the
//! next step of a restore) comes back as a [`JobDone`].

use tandem_shared::RoomId;
use tandem_shared::authors::{AuthorsExport, Authorship, RestoredVersion, runs_of};
use tandem_shared::comments::Placed;
use tandem_shared::doc::CONTENT;
use tokio::sync::oneshot;
use tracing::{error, info};
use yrs::updates::decoder::Decode;

use super::checkpoints::Checkpoint;
use super::policy::HistoryPolicy;
use super::request::HistoryError;
use super::restore::{decode, decode_restore};
use super::retention::thin;
use crate::room::document::Exported;
use crate::store::{Store, StoreError, Version};

/// One piece of version-history store work for a room.
#[derive(Debug)]
pub(crate) enum HistoryJob {
    /// Stores a checkpoint, then thins the room's versions.
    Checkpoint {
        /// The version to store.
        checkpoint: Checkpoint,
        /// Retention's bounds.
        policy: HistoryPolicy,
        /// What follows.
        then: AfterCheckpoint,
    },
    /// Lists the versions, newest first.
    List {
        reply: oneshot::Sender<Result<Vec<Version>, HistoryError>>,
    },
    /// Reads one version's text.
    Text {
        id: u64,
        reply: oneshot::Sender<Result<Exported, HistoryError>>,
    },
    /// Reads one version's body and its runs under `table`, the room's
    /// authorship when asked (claims only grow, so it covers the version).
    Authors {
        id: u64,
        table: Authorship,
        reply: oneshot::Sender<Result<AuthorsExport, HistoryError>>,
    },
    /// Names (or renames) a version.
    Label {
        id: u64,
        label: String,
        reply: oneshot::Sender<Result<Version, HistoryError>>,
    },
    /// Deletes a version.
    Delete {
        id: u64,
        reply: oneshot::Sender<Result<(), HistoryError>>,
    },
    /// Reads the text a restore brings back; the actor goes on with it.
    ReadForRestore {
        id: u64,
        reply: oneshot::Sender<Result<Version, HistoryError>>,
    },
}

/// What happens once a checkpoint is stored.
#[derive(Debug)]
pub(crate) enum AfterCheckpoint {
    /// Nothing: a checkpoint after editing or on unload. A failure is
    /// logged, not fatal: the edits themselves are safe in the log.
    Log,
    /// The stored version answers the request (naming the current state,
    /// the checkpoint after a restore).
    Reply(oneshot::Sender<Result<Version, HistoryError>>),
    /// This is the checkpoint before restoring version `id`: the actor then
    /// applies `update` (the splice made from the state it stored).
    Restore {
        id: u64,
        update: Option<Vec<u8>>,
        /// What the restore's text is attributed to.
        restored: RestoredVersion,
        reply: oneshot::Sender<Result<Version, HistoryError>>,
    },
}

/// What a job leaves the actor to do.
#[derive(Debug)]
pub(crate) enum JobDone {
    /// Nothing: the requester was answered.
    Answered,
    /// Version `id` of a restore was read: the actor checkpoints the current
    /// state and makes the splice to `target`.
    RestoreRead {
        id: u64,
        target: Exported,
        /// Its comment threads, placed in its text.
        threads: Vec<Placed>,
        /// The version, to name the text the restore puts back.
        restored: RestoredVersion,
        reply: oneshot::Sender<Result<Version, HistoryError>>,
    },
    /// The checkpoint before restoring version `id` is stored: the actor
    /// applies `update` and checkpoints the result.
    RestoreReady {
        id: u64,
        update: Option<Vec<u8>>,
        /// What the restore's text is attributed to.
        restored: RestoredVersion,
        reply: oneshot::Sender<Result<Version, HistoryError>>,
    },
}

impl HistoryJob {
    /// Does the store work for `room` (on a blocking thread) and answers
    /// the requester, if that is the end of it.
    pub(crate) fn run(self, store: &dyn Store, room: &RoomId) -> JobDone {
        match self {
            Self::Checkpoint {
                checkpoint,
                policy,
                then,
            } => {
                let stored = store_checkpoint(store, room, &checkpoint, &policy);
                match (then, stored) {
                    (AfterCheckpoint::Log, Err(err)) => {
                        error!(%room, error = %err, "could not store a checkpoint");
                    }
                    (AfterCheckpoint::Log, Ok(_)) => {}
                    (AfterCheckpoint::Reply(reply), stored) => {
                        let _ = reply.send(stored);
                    }
                    (
                        AfterCheckpoint::Restore {
                            id,
                            update,
                            restored,
                            reply,
                        },
                        Ok(_),
                    ) => {
                        return JobDone::RestoreReady {
                            id,
                            update,
                            restored,
                            reply,
                        };
                    }
                    (AfterCheckpoint::Restore { reply, .. }, Err(err)) => {
                        let _ = reply.send(Err(err));
                    }
                }
            }
            Self::List { reply } => {
                let _ = reply.send(store.list_versions(room).map_err(HistoryError::from));
            }
            Self::Text { id, reply } => {
                let _ = reply.send(read_version(store, room, id));
            }
            Self::Authors { id, table, reply } => {
                let _ = reply.send(version_authors(store, room, id, &table));
            }
            Self::Label { id, label, reply } => {
                let _ = reply.send(relabel(store, room, id, &label));
            }
            Self::Delete { id, reply } => {
                let _ = reply.send(delete(store, room, id));
            }
            Self::ReadForRestore { id, reply } => match read_restore(store, room, id) {
                Ok((target, threads)) => {
                    let restored = restored_version(store, room, id);
                    return JobDone::RestoreRead {
                        id,
                        target,
                        threads,
                        restored,
                        reply,
                    };
                }
                Err(err) => {
                    let _ = reply.send(Err(err));
                }
            },
        }
        JobDone::Answered
    }
}

/// Stores `checkpoint` as a version, then applies retention to the room's
/// versions; the version as stored.
fn store_checkpoint(
    store: &dyn Store,
    room: &RoomId,
    checkpoint: &Checkpoint,
    policy: &HistoryPolicy,
) -> Result<Version, HistoryError> {
    let id = store.add_version(room, &checkpoint.as_new())?;
    let versions = store.list_versions(room)?;
    let dropped = thin(&versions, checkpoint.at, policy);
    if !dropped.is_empty() {
        let deleted = store.delete_versions(room, &dropped)?;
        info!(%room, deleted, "retention thinned old versions");
    }
    info!(%room, id, kind = checkpoint.kind.as_str(), "checkpoint stored");
    Ok(Version {
        id,
        at: checkpoint.at,
        authors: checkpoint.authors.clone(),
        label: checkpoint.label.clone(),
        kind: checkpoint.kind,
        restored_from: checkpoint.restored_from,
        changes: checkpoint.changes.clone(),
    })
}

/// Version `id`'s title and body, and its comment threads.
fn read_restore(
    store: &dyn Store,
    room: &RoomId,
    id: u64,
) -> Result<(Exported, Vec<Placed>), HistoryError> {
    let state = store
        .version_state(room, id)?
        .ok_or(HistoryError::NotFound)?;
    decode_restore(&state)
}

/// Version `id`'s title and body.
fn read_version(store: &dyn Store, room: &RoomId, id: u64) -> Result<Exported, HistoryError> {
    let state = store
        .version_state(room, id)?
        .ok_or(HistoryError::NotFound)?;
    decode(&state)
}

/// Who wrote what in version `id`'s body, under `table`.
fn version_authors(
    store: &dyn Store,
    room: &RoomId,
    id: u64,
    table: &Authorship,
) -> Result<AuthorsExport, HistoryError> {
    let state = store
        .version_state(room, id)?
        .ok_or(HistoryError::NotFound)?;
    let update = yrs::Update::decode_v1(&state).map_err(|_| HistoryError::Damaged)?;
    let doc = tandem_shared::doc::new_doc();
    let built = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        use yrs::Transact as _;
        doc.transact_mut().apply_update(update)
    }));
    if !matches!(built, Ok(Ok(()))) {
        return Err(HistoryError::Damaged);
    }
    let runs = runs_of(&doc, CONTENT, table);
    let text = crate::room::document::export(&doc);
    Ok(AuthorsExport::new(text.title, text.body, &runs, table))
}

/// Version `id` as a restore names it (its time and label; the id alone if
/// the list does not read).
fn restored_version(store: &dyn Store, room: &RoomId, id: u64) -> RestoredVersion {
    let listed = store
        .list_versions(room)
        .ok()
        .and_then(|versions| versions.into_iter().find(|v| v.id == id));
    RestoredVersion {
        id,
        at: listed.as_ref().map_or(0, |v| v.at),
        label: listed.and_then(|v| v.label),
    }
}

/// Gives version `id` the label `label`; the version as now listed.
fn relabel(
    store: &dyn Store,
    room: &RoomId,
    id: u64,
    label: &str,
) -> Result<Version, HistoryError> {
    if !store.label_version(room, id, Some(label))? {
        return Err(HistoryError::NotFound);
    }
    store
        .list_versions(room)?
        .into_iter()
        .find(|v| v.id == id)
        .ok_or(HistoryError::NotFound)
}

/// Deletes version `id`.
fn delete(store: &dyn Store, room: &RoomId, id: u64) -> Result<(), HistoryError> {
    let deleted: Result<usize, StoreError> = store.delete_versions(room, &[id]);
    if deleted? == 0 {
        Err(HistoryError::NotFound)
    } else {
        info!(%room, id, "version deleted");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{MemoryStore, VersionKind};

    fn room() -> RoomId {
        RoomId::new("jobs").expect("room")
    }

    fn checkpoint(label: Option<&str>) -> Checkpoint {
        let doc = tandem_shared::doc::new_doc();
        use yrs::{ReadTxn as _, Text as _, Transact as _};
        doc.get_or_insert_text(tandem_shared::doc::CONTENT).insert(
            &mut doc.transact_mut(),
            0,
            "checkpointed",
        );
        Checkpoint {
            at: 1_000,
            authors: vec!["Ana".into()],
            label: label.map(str::to_string),
            kind: VersionKind::Named,
            restored_from: None,
            changes: Vec::new(),
            state: doc
                .transact()
                .encode_state_as_update_v1(&yrs::StateVector::default()),
        }
    }

    #[test]
    fn a_named_checkpoint_answers_with_the_stored_version_and_reads_back() {
        let store = MemoryStore::default();
        let (reply, answer) = oneshot::channel();
        let job = HistoryJob::Checkpoint {
            checkpoint: checkpoint(Some("first draft")),
            policy: HistoryPolicy::default(),
            then: AfterCheckpoint::Reply(reply),
        };
        assert!(matches!(job.run(&store, &room()), JobDone::Answered));
        let version = answer.blocking_recv().expect("answered").expect("stored");
        assert_eq!(version.label.as_deref(), Some("first draft"));

        let (reply, answer) = oneshot::channel();
        HistoryJob::Text {
            id: version.id,
            reply,
        }
        .run(&store, &room());
        assert_eq!(
            answer.blocking_recv().expect("answered").map(|e| e.body),
            Ok("checkpointed".into())
        );
    }

    #[test]
    fn a_restore_goes_back_to_the_actor_twice_and_a_missing_version_ends_it() {
        let store = MemoryStore::default();
        let (reply, answer) = oneshot::channel();
        let done = HistoryJob::ReadForRestore { id: 42, reply }.run(&store, &room());
        assert!(matches!(done, JobDone::Answered));
        assert_eq!(
            answer.blocking_recv().expect("answered"),
            Err(HistoryError::NotFound)
        );

        let (reply, _answer) = oneshot::channel();
        let job = HistoryJob::Checkpoint {
            checkpoint: checkpoint(None),
            policy: HistoryPolicy::default(),
            then: AfterCheckpoint::Restore {
                id: 7,
                update: None,
                restored: RestoredVersion {
                    id: 7,
                    at: 0,
                    label: None,
                },
                reply,
            },
        };
        assert!(matches!(
            job.run(&store, &room()),
            JobDone::RestoreReady { id: 7, .. }
        ));
    }

    #[test]
    fn a_failed_store_is_answered_as_a_storage_failure() {
        let store = MemoryStore::default();
        store.fail_writes(true);
        let (reply, answer) = oneshot::channel();
        HistoryJob::Checkpoint {
            checkpoint: checkpoint(None),
            policy: HistoryPolicy::default(),
            then: AfterCheckpoint::Reply(reply),
        }
        .run(&store, &room());
        assert!(matches!(
            answer.blocking_recv().expect("answered"),
            Err(HistoryError::Store(_))
        ));
    }
}
