//! The room actor's side of version history (see `crate::room::history`):
//! requests of the API checked and turned into pipeline jobs, checkpoints
//! taken, and the steps of a restore carried on as their jobs come back.
//! Nothing here waits for the store.

use tokio::sync::oneshot;
use tracing::{info, warn};
use yrs::Update;
use yrs::updates::decoder::Decode;

use tandem_shared::authors::RestoredVersion;

use super::{Origin, ROOM, Refused, RoomActor};
use crate::room::history::{
    AfterCheckpoint, HistoryCmd, HistoryError, HistoryJob, JobDone, may_edit, may_read, splice,
};
use crate::store::VersionKind;

impl RoomActor {
    /// Serves one request of the API: checks the key, then hands the store
    /// work to the pipeline, which answers the requester.
    pub(super) fn history_request(&mut self, cmd: HistoryCmd) {
        let protected = self.protected;
        let pipeline = &mut self.pipeline;
        match cmd {
            HistoryCmd::List { key, reply } => checked(may_read(key, protected), reply, |reply| {
                pipeline.history(HistoryJob::List { reply });
            }),
            HistoryCmd::Text { key, id, reply } => {
                checked(may_read(key, protected), reply, |reply| {
                    pipeline.history(HistoryJob::Text { id, reply });
                });
            }
            HistoryCmd::Authors { key, id, reply } => {
                let table = self.authors.table().clone();
                checked(may_read(key, protected), reply, |reply| {
                    pipeline.history(HistoryJob::Authors { id, table, reply });
                });
            }
            HistoryCmd::Label {
                key,
                id,
                label,
                reply,
            } => checked(may_edit(key, protected), reply, |reply| {
                pipeline.history(HistoryJob::Label { id, label, reply });
            }),
            HistoryCmd::Delete { key, id, reply } => {
                checked(may_edit(key, protected), reply, |reply| {
                    pipeline.history(HistoryJob::Delete { id, reply });
                });
            }
            HistoryCmd::Restore { key, id, reply } => {
                checked(may_edit(key, protected), reply, |reply| {
                    pipeline.history(HistoryJob::ReadForRestore { id, reply });
                });
            }
            HistoryCmd::Name { key, label, reply } => {
                checked(may_edit(key, protected), reply, |reply| {
                    let then = AfterCheckpoint::Reply(reply);
                    self.checkpoint(VersionKind::Named, Some(label), None, then);
                });
            }
        }
    }

    /// Carries a restore on once a job has done its part.
    pub(super) async fn history_done(&mut self, done: JobDone) {
        match done {
            JobDone::Answered => {}
            JobDone::RestoreRead {
                id,
                target,
                threads,
                restored,
                reply,
            } => {
                // The splice is made from the state the checkpoint stores,
                // and applied once that checkpoint is durable.
                let update = splice(&self.doc, &target, &threads);
                let then = AfterCheckpoint::Restore {
                    id,
                    update,
                    restored,
                    reply,
                };
                self.checkpoint(VersionKind::BeforeRestore, None, None, then);
            }
            JobDone::RestoreReady {
                id,
                update,
                restored,
                reply,
            } => {
                if let Some(update) = update
                    && let Err(err) = self.apply_restore(update, restored).await
                {
                    let _ = reply.send(Err(err));
                    return;
                }
                info!(room = %self.room, id, "restored a version");
                let then = AfterCheckpoint::Reply(reply);
                self.checkpoint(VersionKind::Restore, None, Some(id), then);
            }
        }
    }

    /// Applies a restore's splice as the room's own update, its text
    /// attributed to the version it brings back.
    async fn apply_restore(
        &mut self,
        update: Vec<u8>,
        restored: RestoredVersion,
    ) -> Result<(), HistoryError> {
        let decoded = Update::decode_v1(&update).map_err(|_| HistoryError::Damaged)?;
        self.authors.restoring(ROOM, restored);
        let applied = self.apply_update(Origin::Room, decoded, update.into());
        self.authors.left(ROOM);
        match applied {
            Ok(()) => Ok(()),
            Err(Refused::TooLarge(_)) => Err(HistoryError::TooLarge),
            Err(Refused::Update(refused)) => {
                warn!(room = %self.room, reason = %refused, "a restore's update did not apply");
                self.rebuild().await;
                Err(HistoryError::Damaged)
            }
        }
    }

    /// Takes a checkpoint if anything changed since the previous one (the
    /// periodic one, or on unload).
    pub(super) fn checkpoint_if_dirty(&mut self, kind: VersionKind) {
        if self.history.is_dirty() {
            self.checkpoint(kind, None, None, AfterCheckpoint::Log);
        }
    }

    /// Takes a checkpoint of the document now and queues storing it.
    fn checkpoint(
        &mut self,
        kind: VersionKind,
        label: Option<String>,
        restored_from: Option<u64>,
        then: AfterCheckpoint,
    ) {
        let members = &self.members;
        let checkpoint = self
            .history
            .take(&self.doc, kind, label, restored_from, |client| {
                members.contains(client)
            });
        self.pipeline.history(HistoryJob::Checkpoint {
            checkpoint,
            policy: self.history.policy(),
            then,
        });
    }
}

/// Goes on with `reply` when the request is `allowed`, else answers it with
/// the refusal.
fn checked<T>(
    allowed: Result<(), HistoryError>,
    reply: oneshot::Sender<Result<T, HistoryError>>,
    then: impl FnOnce(oneshot::Sender<Result<T, HistoryError>>),
) {
    match allowed {
        Ok(()) => then(reply),
        Err(err) => {
            let _ = reply.send(Err(err));
        }
    }
}
