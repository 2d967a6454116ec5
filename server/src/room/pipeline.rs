//! A room's store pipeline: group commit, acknowledgements, compaction and
//! the version history's store work.
//!
//! Updates the actor applied wait in `pending`. One store operation runs at a
//! time per room, on a blocking thread: when none is running, the whole of
//! `pending` goes to the store in one `append` (one transaction); updates
//! that arrive meanwhile form the next batch (group commit). Relaying never
//! waits for this; the `saved` acknowledgement does. Version-history jobs
//! (checkpoints, listing and reading versions, see `super::history`) wait
//! in their own queue and take turns with the commits, so neither starves
//! the other. Past the configured bounds the log is compacted: the
//! document's state replaces the snapshot and the log it covers, in one
//! transaction.
//!
//! So the room's actor never awaits the store in its loop: it starts
//! operations and takes their results ([`Pipeline::finished`]) as one more
//! event among its inbox and timers.
//!
//! The pipeline holds no connection. Its steps return what the actor owes the
//! members ([`Progress`]: which client is told `saved` with what count, and
//! which `flush` requests are now answered), so it is tested with a
//! [`MemoryStore`](crate::store::MemoryStore) and no socket.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;
use tandem_shared::{ClientId, RoomId};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tracing::{error, info, warn};
use yrs::{Doc, ReadTxn, StateVector, Transact};

use tandem_shared::authors::Authorship;

use super::history::{HistoryJob, JobDone};
use crate::store::{Store, StoreError, StoredRoom};

/// A connection's updates that are now durable: the first `updates` it sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Ack {
    /// The connection.
    pub(super) client: ClientId,
    /// How many of its update frames are durable.
    pub(super) updates: u64,
}

/// What a step leaves the actor to deliver, in this order: the `saved`
/// acknowledgements, then the flushes they complete (a connection that
/// flushed before closing must see its last `saved` first).
#[derive(Debug, Default)]
#[must_use]
pub(super) struct Progress {
    /// `saved` owed to members.
    pub(super) acks: Vec<Ack>,
    /// `flush` requests to answer.
    pub(super) flushed: Vec<oneshot::Sender<()>>,
}

/// An applied update waiting for the store.
#[derive(Debug)]
struct Pending {
    /// Who sent it.
    from: ClientId,
    /// Its number among `from`'s updates.
    seq: u64,
    /// What to store; `None` when the update changed nothing (it still needs
    /// an acknowledgement, in order).
    bytes: Option<Bytes>,
}

/// What a finished store operation leaves the actor, besides its
/// accounting: `saved` owed after a commit, or a history job's next step.
#[derive(Debug, Default)]
#[must_use]
pub(super) struct Finished {
    /// `saved` owed to members.
    pub(super) acks: Vec<Ack>,
    /// A restore's next step, for the actor.
    pub(super) history: Option<JobDone>,
}

/// The store operation running for this room.
#[derive(Debug)]
struct InFlight {
    /// The store call.
    task: JoinHandle<Outcome>,
    /// What it is, to account for it when it returns.
    operation: Operation,
}

/// What a store call returned.
#[derive(Debug)]
enum Outcome {
    /// An append or a compaction: the newest log sequence number it covers.
    Log(Result<u64, StoreError>),
    /// A history job, which answered its requester itself.
    History(JobDone),
}

#[derive(Debug)]
enum Operation {
    /// Appending a batch.
    Append {
        /// The batch, kept to rebuild the document if a bad update taints it.
        updates: Arc<Vec<Bytes>>,
        /// What changed in the room's authorship, stored with the batch.
        authors: Authorship,
        /// The acknowledgements it completes.
        acks: Vec<Ack>,
        /// Updates and bytes in the batch, for the log's size.
        count: u64,
        bytes: u64,
        /// When the commit started, for the commit latency metric.
        started: std::time::Instant,
    },
    /// Replacing the log up to `through` with a snapshot.
    Compact {
        /// The newest log entry the snapshot covers.
        through: u64,
        /// Size of the snapshot being written, and the room's size when it
        /// was taken, to recompute the size afterwards.
        merged: u64,
        size_before: u64,
    },
    /// A version-history job.
    History,
}

/// One room's store pipeline.
#[derive(Debug)]
pub(super) struct Pipeline {
    /// The room, for the store and the logs.
    room: RoomId,
    /// Where the room is stored.
    store: Arc<dyn Store>,
    /// Compact once the log holds this many updates (at least 1)...
    compact_updates: u64,
    /// ...or this many bytes (at least 1).
    compact_bytes: u64,
    /// Applied, not yet handed to the store, oldest first.
    pending: Vec<Pending>,
    /// Changes of the room's authorship not yet handed to the store: they
    /// go with the next batch (the claims of an update in its own
    /// transaction), or on their own (a rename).
    authors: Authorship,
    /// The authorship changes committed last, until the actor publishes
    /// them to the bus.
    committed_authors: Option<Authorship>,
    /// Version-history jobs waiting, oldest first.
    history: VecDeque<HistoryJob>,
    /// The last operation started was a commit: a waiting history job goes
    /// next, so a steady stream of edits cannot starve it (nor jobs edits).
    appended_last: bool,
    /// The store operation running, if any.
    in_flight: Option<InFlight>,
    /// `flush` requests waiting for the pipeline to empty.
    flush_waiters: Vec<oneshot::Sender<()>>,
    /// Newest durable log sequence number.
    last_seq: u64,
    /// The log rows folded into the document. In a cluster other nodes
    /// append to the same log; compaction goes only through the contiguous
    /// prefix of rows this node holds, so it never drops a row it lacks.
    folded: crate::bus::SeqSet,
    /// The last batch committed, until the actor publishes it to the bus:
    /// first and last log sequence numbers, and the updates.
    committed: Option<(u64, u64, Arc<Vec<Bytes>>)>,
    /// Size of the durable log since the last snapshot, to decide compaction.
    log_updates: u64,
    log_bytes: u64,
    /// Bytes of stored state (snapshot + log + not yet stored), the measure
    /// `--max-document-bytes` bounds. Compaction brings it down to the
    /// merged size.
    size: u64,
}

impl Pipeline {
    /// An empty pipeline for a room never written; see [`Pipeline::loaded`].
    pub(super) fn new(
        room: RoomId,
        store: Arc<dyn Store>,
        compact_updates: u64,
        compact_bytes: u64,
    ) -> Self {
        Self {
            room,
            store,
            compact_updates: compact_updates.max(1),
            compact_bytes: compact_bytes.max(1),
            pending: Vec::new(),
            authors: Authorship::default(),
            committed_authors: None,
            history: VecDeque::new(),
            appended_last: false,
            in_flight: None,
            flush_waiters: Vec::new(),
            last_seq: 0,
            folded: crate::bus::SeqSet::default(),
            committed: None,
            log_updates: 0,
            log_bytes: 0,
            size: 0,
        }
    }

    /// Takes up where `stored` left off.
    pub(super) fn loaded(&mut self, stored: &StoredRoom) {
        self.last_seq = stored.last_seq;
        self.folded = crate::bus::SeqSet::through(stored.last_seq);
        self.log_updates = stored.updates.len() as u64;
        self.log_bytes = stored.log_bytes();
        self.size = stored.snapshot.as_ref().map_or(0, |s| s.len() as u64) + self.log_bytes;
    }

    /// The batch committed last, once: what the bus publishes.
    pub(super) fn take_committed(&mut self) -> Option<(u64, u64, Arc<Vec<Bytes>>)> {
        self.committed.take()
    }

    /// The authorship changes committed last, once: what the bus publishes
    /// with (or, for a rename, without) the batch.
    pub(super) fn take_committed_authors(&mut self) -> Option<Authorship> {
        self.committed_authors.take()
    }

    /// Queues a change of the room's authorship for the store, with the
    /// next batch.
    pub(super) fn record_authors(&mut self, change: Authorship) {
        self.authors.merge(change);
    }

    /// Another node committed log rows `first..=last` (`bytes` long), now
    /// folded into the document: they count toward compaction and size.
    pub(super) fn remote_committed(&mut self, first: u64, last: u64, bytes: u64) {
        self.folded.insert(first, last);
        self.last_seq = self.last_seq.max(last);
        self.log_updates += last + 1 - first.min(last);
        self.log_bytes += bytes;
        self.size += bytes;
    }

    /// The document was merged with the store's copy up to `last_seq`.
    pub(super) fn resynced(&mut self, last_seq: u64) {
        self.folded.extend_through(last_seq);
        self.last_seq = self.last_seq.max(last_seq);
    }

    /// Bytes of stored state, counting what is not stored yet.
    pub(super) fn size(&self) -> u64 {
        self.size
    }

    /// Whether the room holds anything: stored, being stored, or waiting.
    pub(super) fn written(&self) -> bool {
        self.last_seq > 0 || self.size > 0 || !self.is_idle()
    }

    /// Whether nothing is waiting for or in the store.
    pub(super) fn is_idle(&self) -> bool {
        self.in_flight.is_none()
            && self.pending.is_empty()
            && self.authors.is_empty()
            && self.history.is_empty()
    }

    /// Whether every update queued so far is durable (or changed nothing):
    /// none waits, and no commit runs. History jobs and compaction do not
    /// count: they hold no one's update.
    fn is_durable(&self) -> bool {
        self.pending.is_empty()
            && !matches!(
                self.in_flight,
                Some(InFlight {
                    operation: Operation::Append { .. },
                    ..
                })
            )
    }

    /// Whether a store operation is running.
    pub(super) fn is_busy(&self) -> bool {
        self.in_flight.is_some()
    }

    /// Queues update number `seq` of `from`; `bytes` is what to store, or
    /// `None` if it changed nothing.
    pub(super) fn push(&mut self, from: ClientId, seq: u64, bytes: Option<Bytes>) {
        if let Some(bytes) = &bytes {
            self.size += bytes.len() as u64;
        }
        self.pending.push(Pending { from, seq, bytes });
    }

    /// Queues a version-history job; it runs in turn with the commits.
    pub(super) fn history(&mut self, job: HistoryJob) {
        self.history.push_back(job);
    }

    /// Answers `done` once everything queued so far is durable.
    pub(super) fn flush(&mut self, done: oneshot::Sender<()>) {
        if self.is_durable() {
            let _ = done.send(());
        } else {
            self.flush_waiters.push(done);
        }
    }

    /// Applied updates not yet known to be durable: the batch being committed
    /// (which may or may not be stored by now) and those waiting.
    pub(super) fn unsaved(&self) -> Vec<Bytes> {
        let in_flight = match &self.in_flight {
            Some(InFlight {
                operation: Operation::Append { updates, .. },
                ..
            }) => updates.as_slice(),
            _ => &[],
        };
        let pending = self.pending.iter().filter_map(|p| p.bytes.clone());
        in_flight.iter().cloned().chain(pending).collect()
    }

    /// Starts the next store operation if none is running: the pending batch
    /// or a history job (taking turns when both wait), then compaction of
    /// `doc` when the log has grown past its bound. Flushes waiting are
    /// released once every update before them is durable.
    pub(super) fn start(&mut self, doc: &Doc) -> Progress {
        let mut progress = Progress::default();
        if self.in_flight.is_none() {
            self.start_next(doc, &mut progress);
        }
        if self.is_durable() {
            progress.flushed = std::mem::take(&mut self.flush_waiters);
        }
        progress
    }

    fn start_next(&mut self, doc: &Doc, progress: &mut Progress) {
        let history_turn = !self.history.is_empty() && self.appended_last;
        if (!self.pending.is_empty() || !self.authors.is_empty()) && !history_turn {
            let batch = std::mem::take(&mut self.pending);
            let acks = last_seq_per_client(&batch);
            let updates: Vec<Bytes> = batch.into_iter().filter_map(|p| p.bytes).collect();
            if updates.is_empty() && self.authors.is_empty() {
                // Nothing to write: these updates changed nothing and are as
                // durable as what came before them.
                progress.acks = acks;
            } else {
                let authors = std::mem::take(&mut self.authors);
                self.start_append(updates, acks, authors);
                self.appended_last = true;
                return;
            }
        }
        self.appended_last = false;
        if let Some(job) = self.history.pop_front() {
            let (store, room) = (self.store.clone(), self.room.clone());
            let task =
                tokio::task::spawn_blocking(move || Outcome::History(job.run(&*store, &room)));
            self.in_flight = Some(InFlight {
                task,
                operation: Operation::History,
            });
            return;
        }
        if self.log_updates >= self.compact_updates || self.log_bytes >= self.compact_bytes {
            self.start_compaction(doc);
        }
    }

    fn start_append(&mut self, updates: Vec<Bytes>, acks: Vec<Ack>, authors: Authorship) {
        let count = updates.len() as u64;
        let bytes = updates.iter().map(|u| u.len() as u64).sum();
        let updates = Arc::new(updates);
        let (store, room, batch) = (self.store.clone(), self.room.clone(), updates.clone());
        let written = authors.clone();
        let task = tokio::task::spawn_blocking(move || {
            let refs: Vec<&[u8]> = batch.iter().map(|u| u.as_ref()).collect();
            Outcome::Log(store.append_with_authors(&room, &refs, &written))
        });
        self.in_flight = Some(InFlight {
            task,
            operation: Operation::Append {
                updates,
                authors,
                acks,
                count,
                bytes,
                started: std::time::Instant::now(),
            },
        });
    }

    fn start_compaction(&mut self, doc: &Doc) {
        let state = doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        let (store, room, through) = (self.store.clone(), self.room.clone(), self.folded.prefix());
        let (merged, size_before) = (state.len() as u64, self.size);
        let task = tokio::task::spawn_blocking(move || {
            Outcome::Log(store.compact(&room, &state, through).map(|()| through))
        });
        self.in_flight = Some(InFlight {
            task,
            operation: Operation::Compact {
                through,
                merged,
                size_before,
            },
        });
    }

    /// Waits for the running store operation and accounts for it: the
    /// acknowledgements a commit completes, a history job's next step, or
    /// the store's failure (the room must then stop). Never resolves while
    /// nothing runs. Cancel-safe: the operation is only taken once it has
    /// finished.
    pub(super) async fn finished(&mut self) -> Result<Finished, StoreError> {
        let Some(in_flight) = &mut self.in_flight else {
            return std::future::pending().await;
        };
        let outcome = (&mut in_flight.task).await;
        let Some(in_flight) = self.in_flight.take() else {
            return Ok(Finished::default());
        };
        match (in_flight.operation, outcome) {
            (Operation::History, Ok(Outcome::History(done))) => Ok(Finished {
                acks: Vec::new(),
                history: Some(done),
            }),
            (Operation::History, Err(join)) => {
                // Its requester sees the request dropped; the room goes on.
                error!(room = %self.room, error = %join, "a version-history job failed");
                Ok(Finished::default())
            }
            (operation, Ok(Outcome::Log(result))) => {
                self.account(operation, result).map(|acks| Finished {
                    acks,
                    history: None,
                })
            }
            (operation, Ok(Outcome::History(_))) => {
                unreachable!("{operation:?} returns a log sequence number")
            }
            (operation, Err(join)) => self
                .account(operation, Err(StoreError::Other(join.to_string())))
                .map(|acks| Finished {
                    acks,
                    history: None,
                }),
        }
    }

    fn account(
        &mut self,
        operation: Operation,
        result: Result<u64, StoreError>,
    ) -> Result<Vec<Ack>, StoreError> {
        match (operation, result) {
            (
                Operation::Append {
                    acks,
                    count,
                    bytes,
                    started,
                    updates,
                    authors,
                },
                Ok(seq),
            ) => {
                if !authors.is_empty() {
                    self.committed_authors
                        .get_or_insert_with(Authorship::default)
                        .merge(authors);
                }
                if count == 0 {
                    // Authorship alone (a rename): no log row.
                    return Ok(acks);
                }
                let first = seq + 1 - count.min(seq);
                self.folded.insert(first, seq);
                self.committed = Some((first, seq, updates));
                metrics::histogram!(crate::metrics::COMMIT_SECONDS)
                    .record(started.elapsed().as_secs_f64());
                metrics::histogram!(crate::metrics::COMMIT_BATCH).record(count as f64);
                self.last_seq = seq;
                self.log_updates += count;
                self.log_bytes += bytes;
                Ok(acks)
            }
            (Operation::Append { .. }, Err(err)) => Err(err),
            (
                Operation::Compact {
                    through,
                    merged,
                    size_before,
                },
                Ok(_),
            ) => {
                info!(room = %self.room, through, updates = self.log_updates, merged, "compacted");
                // The stored state is now the snapshot plus what arrived since it was taken.
                self.size = merged + self.size.saturating_sub(size_before);
                // Appends never run beside a compaction, so the log is now empty.
                self.log_updates = 0;
                self.log_bytes = 0;
                Ok(Vec::new())
            }
            (Operation::Compact { .. }, Err(err)) => {
                // The log is intact; try again once it has grown past the bound again.
                warn!(room = %self.room, error = %err, "compaction failed");
                self.log_updates = 0;
                self.log_bytes = 0;
                Ok(Vec::new())
            }
            (Operation::History, _) => Ok(Vec::new()),
        }
    }
}

/// The newest update number of each sender in `batch`, in order of first appearance.
fn last_seq_per_client(batch: &[Pending]) -> Vec<Ack> {
    let mut acks: Vec<Ack> = Vec::new();
    for p in batch {
        match acks.iter_mut().find(|ack| ack.client == p.from) {
            Some(ack) => ack.updates = ack.updates.max(p.seq),
            None => acks.push(Ack {
                client: p.from,
                updates: p.seq,
            }),
        }
    }
    acks
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::time::timeout;
    use yrs::Text;

    use super::*;
    use crate::store::MemoryStore;

    const A: ClientId = ClientId(1);
    const B: ClientId = ClientId(2);

    fn ack(client: ClientId, updates: u64) -> Ack {
        Ack { client, updates }
    }

    fn room() -> RoomId {
        RoomId::new("pipeline").expect("room")
    }

    fn pipeline(store: &Arc<MemoryStore>, compact_updates: u64) -> Pipeline {
        Pipeline::new(room(), store.clone(), compact_updates, 1 << 30)
    }

    fn raw(text: &str) -> Bytes {
        Bytes::copy_from_slice(text.as_bytes())
    }

    fn bytes(text: &str) -> Option<Bytes> {
        Some(raw(text))
    }

    /// The running operation's acknowledgements, within a deadline.
    async fn finish(pipeline: &mut Pipeline) -> Result<Vec<Ack>, StoreError> {
        timeout(Duration::from_secs(10), pipeline.finished())
            .await
            .expect("the store operation finished within the deadline")
            .map(|finished| finished.acks)
    }

    /// A history job that lists the room's versions, and its answer.
    fn list_job() -> (
        HistoryJob,
        oneshot::Receiver<Result<Vec<crate::store::Version>, super::super::history::HistoryError>>,
    ) {
        let (reply, answer) = oneshot::channel();
        (HistoryJob::List { reply }, answer)
    }

    #[tokio::test]
    async fn one_commit_acknowledges_each_sender_up_to_its_last_update() {
        let store = Arc::new(MemoryStore::default());
        let mut pipeline = pipeline(&store, 1000);
        let doc = yrs::Doc::new();
        pipeline.push(A, 1, bytes("a1"));
        pipeline.push(B, 1, bytes("b1"));
        pipeline.push(A, 2, bytes("a2"));
        let progress = pipeline.start(&doc);
        assert!(
            progress.acks.is_empty(),
            "nothing is durable before the commit"
        );
        assert_eq!(
            finish(&mut pipeline).await.expect("committed"),
            [ack(A, 2), ack(B, 1)]
        );
        assert_eq!(store.appends(), 1, "one transaction for the batch");
        assert_eq!(store.log_len(&room()), 3);
        assert_eq!(pipeline.size(), 6);
    }

    #[tokio::test]
    async fn updates_arriving_during_a_commit_go_together_in_the_next_one() {
        let store = Arc::new(MemoryStore::default());
        let mut pipeline = pipeline(&store, 1000);
        let doc = yrs::Doc::new();
        pipeline.push(A, 1, bytes("a1"));
        let _ = pipeline.start(&doc);
        pipeline.push(A, 2, bytes("a2"));
        pipeline.push(B, 1, bytes("b1"));
        assert!(
            pipeline.start(&doc).acks.is_empty(),
            "one operation at a time"
        );
        assert_eq!(pipeline.unsaved(), [raw("a1"), raw("a2"), raw("b1")]);
        assert_eq!(finish(&mut pipeline).await.expect("committed"), [ack(A, 1)]);
        let _ = pipeline.start(&doc);
        assert_eq!(
            finish(&mut pipeline).await.expect("committed"),
            [ack(A, 2), ack(B, 1)]
        );
        assert_eq!(store.appends(), 2);
        assert!(pipeline.unsaved().is_empty());
    }

    #[tokio::test]
    async fn updates_that_change_nothing_are_acknowledged_without_a_write() {
        let store = Arc::new(MemoryStore::default());
        let mut pipeline = pipeline(&store, 1000);
        let (done, flushed) = oneshot::channel();
        pipeline.push(A, 1, None);
        pipeline.flush(done);
        let progress = pipeline.start(&yrs::Doc::new());
        assert_eq!(progress.acks, [ack(A, 1)]);
        assert_eq!(
            progress.flushed.len(),
            1,
            "the flush is answered after the ack"
        );
        assert_eq!(store.appends(), 0);
        assert!(!pipeline.written());
        drop(flushed);
    }

    #[tokio::test]
    async fn a_flush_is_answered_once_what_came_before_is_durable() {
        let store = Arc::new(MemoryStore::default());
        let mut pipeline = pipeline(&store, 1000);
        let doc = yrs::Doc::new();

        let (done, mut answered) = oneshot::channel();
        pipeline.flush(done);
        assert_eq!(
            answered.try_recv(),
            Ok(()),
            "an idle pipeline answers at once"
        );

        pipeline.push(A, 1, bytes("a1"));
        let (done, mut answered) = oneshot::channel();
        pipeline.flush(done);
        assert!(pipeline.start(&doc).flushed.is_empty());
        assert!(answered.try_recv().is_err(), "answered before the commit");
        finish(&mut pipeline).await.expect("committed");
        let progress = pipeline.start(&doc);
        assert_eq!(progress.flushed.len(), 1);
        for done in progress.flushed {
            done.send(()).expect("waiting");
        }
        assert_eq!(answered.try_recv(), Ok(()));
    }

    #[tokio::test]
    async fn a_long_log_is_compacted_into_a_snapshot() {
        let store = Arc::new(MemoryStore::default());
        let mut pipeline = pipeline(&store, 2);
        let doc = tandem_shared::doc::new_doc();
        let text = doc.get_or_insert_text(tandem_shared::doc::CONTENT);
        text.insert(&mut doc.transact_mut(), 0, "hello");
        pipeline.push(A, 1, bytes("a1"));
        pipeline.push(A, 2, bytes("a2"));
        let _ = pipeline.start(&doc);
        finish(&mut pipeline).await.expect("committed");
        let progress = pipeline.start(&doc);
        assert!(progress.flushed.is_empty(), "compacting");
        assert!(pipeline.is_busy());
        assert_eq!(finish(&mut pipeline).await.expect("compacted"), []);
        assert_eq!(store.log_len(&room()), 0);
        let merged = doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default())
            .len() as u64;
        assert_eq!(pipeline.size(), merged);
        assert!(pipeline.written());
        let _ = pipeline.start(&doc);
        assert!(
            !pipeline.is_busy(),
            "the log is empty: no second compaction"
        );
    }

    #[tokio::test]
    async fn a_failed_commit_is_an_error_and_a_failed_compaction_is_not() {
        let store = Arc::new(MemoryStore::default());
        let mut pipeline = pipeline(&store, 1);
        let doc = yrs::Doc::new();
        pipeline.push(A, 1, bytes("a1"));
        let _ = pipeline.start(&doc);
        finish(&mut pipeline).await.expect("committed");
        store.fail_writes(true);
        let _ = pipeline.start(&doc);
        assert!(pipeline.is_busy(), "compacting");
        assert_eq!(finish(&mut pipeline).await.expect("tolerated"), []);
        assert_eq!(store.log_len(&room()), 1, "the log is intact");

        pipeline.push(A, 2, bytes("a2"));
        let _ = pipeline.start(&doc);
        assert!(matches!(
            finish(&mut pipeline).await,
            Err(StoreError::Injected)
        ));
    }

    #[tokio::test]
    async fn compaction_stops_before_a_row_another_node_wrote_until_it_is_folded_in() {
        let store = Arc::new(MemoryStore::default());
        let mut pipeline = pipeline(&store, 1);
        let doc = yrs::Doc::new();
        // Another node appends row 1; this node has not received it.
        store.append(&room(), &[b"theirs"]).expect("append");
        pipeline.push(A, 1, bytes("mine"));
        let _ = pipeline.start(&doc);
        finish(&mut pipeline).await.expect("committed as row 2");
        let _ = pipeline.start(&doc);
        finish(&mut pipeline).await.expect("compacted");
        assert_eq!(
            store.log_len(&room()),
            2,
            "row 1 is not folded in: nothing dropped"
        );
        pipeline.remote_committed(1, 1, 6);
        let _ = pipeline.start(&doc);
        finish(&mut pipeline).await.expect("compacted");
        assert_eq!(
            store.log_len(&room()),
            0,
            "both rows are in the document now"
        );
    }

    #[tokio::test]
    async fn history_jobs_and_commits_take_turns_and_a_flush_waits_only_for_commits() {
        let store = Arc::new(MemoryStore::default());
        let mut pipeline = pipeline(&store, 1000);
        let doc = yrs::Doc::new();
        let (first, mut first_answer) = list_job();
        let (second, mut second_answer) = list_job();
        pipeline.history(first);
        pipeline.history(second);
        pipeline.push(A, 1, bytes("a1"));
        let _ = pipeline.start(&doc);
        // The commit goes first, then a job, even with more updates waiting.
        assert_eq!(finish(&mut pipeline).await.expect("committed"), [ack(A, 1)]);
        pipeline.push(A, 2, bytes("a2"));
        let (done, mut flushed) = oneshot::channel();
        pipeline.flush(done);
        let _ = pipeline.start(&doc);
        assert!(!pipeline.is_idle());
        finish(&mut pipeline).await.expect("a job ran");
        assert_eq!(first_answer.try_recv(), Ok(Ok(Vec::new())), "listed");
        assert!(second_answer.try_recv().is_err(), "one job at a time");
        // Then the commit, and the flush is answered with the job still queued.
        let _ = pipeline.start(&doc);
        assert_eq!(finish(&mut pipeline).await.expect("committed"), [ack(A, 2)]);
        let progress = pipeline.start(&doc);
        assert_eq!(progress.flushed.len(), 1, "durable, with a job running");
        for done in progress.flushed {
            done.send(()).expect("waiting");
        }
        assert_eq!(flushed.try_recv(), Ok(()));
        finish(&mut pipeline).await.expect("the second job ran");
        assert_eq!(second_answer.try_recv(), Ok(Ok(Vec::new())));
        let _ = pipeline.start(&doc);
        assert!(pipeline.is_idle());
    }

    fn claim_of(client: u64) -> Authorship {
        Authorship {
            authors: Vec::new(),
            claims: vec![tandem_shared::authors::Claim {
                client,
                clock: 0,
                author: tandem_shared::authors::AuthorId::new("p-ada").expect("id"),
            }],
        }
    }

    #[tokio::test]
    async fn authorship_goes_with_its_batch_in_one_append_or_alone() {
        let store = Arc::new(MemoryStore::default());
        let mut pipeline = pipeline(&store, 1000);
        let doc = yrs::Doc::new();
        pipeline.push(A, 1, bytes("a1"));
        pipeline.record_authors(claim_of(7));
        let _ = pipeline.start(&doc);
        assert_eq!(finish(&mut pipeline).await.expect("committed"), [ack(A, 1)]);
        assert_eq!(store.appends(), 1, "one transaction for both");
        let stored = store.load(&room()).expect("load");
        assert_eq!(stored.authors, claim_of(7));
        assert_eq!(pipeline.take_committed_authors(), Some(claim_of(7)));
        assert!(pipeline.take_committed().is_some());

        // A change with no update (a rename) is stored on its own.
        pipeline.record_authors(claim_of(8));
        assert!(!pipeline.is_idle(), "it waits for the store");
        let _ = pipeline.start(&doc);
        assert_eq!(finish(&mut pipeline).await.expect("committed"), []);
        assert_eq!(store.log_len(&room()), 1, "no log row");
        assert_eq!(store.load(&room()).expect("load").authors.claims.len(), 2);
        assert_eq!(pipeline.take_committed_authors(), Some(claim_of(8)));
        assert!(pipeline.take_committed().is_none(), "no rows to publish");
        let _ = pipeline.start(&doc);
        assert!(pipeline.is_idle());
    }

    #[test]
    fn acknowledgements_keep_each_senders_newest_update() {
        let batch = [
            Pending {
                from: B,
                seq: 4,
                bytes: None,
            },
            Pending {
                from: A,
                seq: 1,
                bytes: None,
            },
            Pending {
                from: B,
                seq: 5,
                bytes: None,
            },
        ];
        assert_eq!(last_seq_per_client(&batch), [ack(B, 5), ack(A, 1)]);
    }
}
