//! The room actor: the one task that owns a room's document.
//!
//! It loads the room (snapshot + log) before answering anyone, applies each
//! update, relays it to the room's other connections at once, and hands it to
//! the store pipeline. The pipeline runs one store operation at a time per
//! room; updates that arrive while a commit is in flight wait in `pending`
//! and go together in the next one (group commit). Relaying never waits for
//! the disk; the `saved` acknowledgement does.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use axum::extract::ws::Message;
use bytes::Bytes;
use tandem_shared::yjs::{AwarenessEntry, YjsFrame, state_from_presence};
use tandem_shared::{
    ClientId, PROTOCOL_VERSION, PeerPresence, Presence, RoomId, ServerMsg, ShareKeys, SyncFrame,
    close,
};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, warn};
use yrs::updates::decoder::Decode;
use yrs::{Doc, GetString, ReadTxn, StateVector, Transact, Update};

use super::outbox::{Outbox, OutboxError};
use super::registry::Registry;
use super::{Claim, Dialect, Exported, JoinRefused, RoomCmd, RoomSettings};
use crate::access::Right;
use crate::store::{Store, StoreError, StoredRoom};

/// One member of the room.
#[derive(Debug)]
struct Peer {
    /// Where frames for this connection go.
    outbox: Outbox,
    /// A view-only connection's updates are refused.
    read_only: bool,
    /// Update frames received from this connection so far.
    received: u64,
    /// How many of those are durable (the last `saved` sent).
    durable: u64,
    /// What the connection last said about itself, relayed to joiners.
    presence: Option<PeerPresence>,
    /// The protocol it speaks.
    dialect: Dialect,
    /// Its identity in Yjs awareness: (client id, clock). A Yjs client's own;
    /// for Tandem clients, their connection id and a clock bumped per change.
    awareness: (u64, u32),
}

/// An update applied to the document and waiting for the store.
#[derive(Debug)]
struct Pending {
    /// Who sent it, and its number among that connection's updates.
    from: ClientId,
    seq: u64,
    /// What to store; `None` when the update changed nothing (it still needs
    /// an acknowledgement, in order).
    bytes: Option<Bytes>,
}

/// The store operation running for this room, if any.
#[derive(Debug)]
enum InFlight {
    /// Appending a batch; `acks` are the (connection, count) pairs it covers.
    Append {
        task: JoinHandle<Result<u64, StoreError>>,
        /// The batch, kept to rebuild the document if a bad update taints it.
        updates: Arc<Vec<Bytes>>,
        acks: Vec<(ClientId, u64)>,
        count: u64,
        bytes: u64,
        /// When the commit started, for the commit latency metric.
        started: std::time::Instant,
    },
    /// Replacing the log up to `through` with a snapshot.
    Compact {
        task: JoinHandle<Result<(), StoreError>>,
        through: u64,
        /// Size of the snapshot being written, and the room's size when it
        /// was taken, to recompute the size afterwards.
        merged: u64,
        size_before: u64,
    },
}

/// Why the actor stopped.
#[derive(Debug, PartialEq, Eq)]
enum Exit {
    /// Idle and unloaded, or the server is shutting down.
    Done,
    /// The store failed; members were closed with 1011.
    Failed,
}

pub(super) struct RoomActor {
    room: RoomId,
    /// Identifies this incarnation of the room in the registry.
    generation: u64,
    rx: mpsc::Receiver<RoomCmd>,
    registry: Arc<Registry>,
    store: Arc<dyn Store>,
    settings: RoomSettings,
    shutdown: CancellationToken,
    doc: Doc,
    peers: HashMap<ClientId, Peer>,
    /// Applied, not yet handed to the store, oldest first.
    pending: Vec<Pending>,
    in_flight: Option<InFlight>,
    /// `Flush` requests waiting for the pipeline to empty.
    flush_waiters: Vec<oneshot::Sender<()>>,
    /// Newest durable log sequence number.
    last_seq: u64,
    /// Size of the durable log since the last snapshot, to decide compaction.
    log_updates: u64,
    log_bytes: u64,
    /// When the last member left; the room unloads `settings.idle` later.
    idle_since: Option<Instant>,
    /// Whether only edit keys may change the room (see [`crate::access`]).
    protected: bool,
    /// Bytes of stored state (snapshot + log + not yet stored), the measure
    /// `max_document_bytes` bounds. Compaction brings it down to the merged size.
    size: u64,
    /// The `room` label of this room's metrics, if it holds one of the
    /// bounded label slots.
    label: Option<String>,
}

impl std::fmt::Debug for RoomActor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoomActor")
            .field("room", &self.room)
            .field("peers", &self.peers.len())
            .field("pending", &self.pending.len())
            .finish_non_exhaustive()
    }
}

impl RoomActor {
    pub(super) fn new(
        room: RoomId,
        generation: u64,
        rx: mpsc::Receiver<RoomCmd>,
        registry: Arc<Registry>,
    ) -> Self {
        Self {
            room,
            generation,
            rx,
            store: registry.store.clone(),
            settings: registry.settings.clone(),
            shutdown: registry.shutdown.clone(),
            registry,
            doc: tandem_shared::doc::new_doc(),
            peers: HashMap::new(),
            pending: Vec::new(),
            in_flight: None,
            flush_waiters: Vec::new(),
            last_seq: 0,
            log_updates: 0,
            log_bytes: 0,
            idle_since: Some(Instant::now()),
            protected: false,
            size: 0,
            label: None,
        }
    }

    /// Loads the room, then serves it until it is idle, failed, or shut down.
    pub(super) async fn run(mut self) {
        if let Err(err) = self.load().await {
            error!(room = %self.room, error = %err, "could not load room");
            self.fail("storage failure while loading the document")
                .await;
            return;
        }
        if self.registry.take_label_slot() {
            self.label = Some(self.room.to_string());
        }
        self.report_gauges();
        let exit = self.serve().await;
        if exit == Exit::Failed {
            self.fail("storage failure; unsaved edits stay in your browser")
                .await;
        }
        if let Some(label) = self.label.take() {
            metrics::gauge!(crate::metrics::ROOM_CLIENTS, "room" => label.clone()).set(0.0);
            metrics::gauge!(crate::metrics::ROOM_DOCUMENT_BYTES, "room" => label).set(0.0);
            self.registry.release_label_slot();
        }
        debug!(room = %self.room, ?exit, "room stopped");
    }

    async fn load(&mut self) -> Result<(), StoreError> {
        let store = self.store.clone();
        let room = self.room.clone();
        let (doc, stored) = tokio::task::spawn_blocking(move || -> Result<_, StoreError> {
            let stored = store.load(&room)?;
            let doc = build_doc(&room, &stored);
            Ok((doc, stored))
        })
        .await
        .map_err(|join| StoreError::Other(join.to_string()))??;
        self.doc = doc;
        self.last_seq = stored.last_seq;
        self.log_updates = stored.updates.len() as u64;
        self.log_bytes = stored.log_bytes();
        self.protected = stored.protected;
        self.size = stored.snapshot.as_ref().map_or(0, |s| s.len() as u64) + self.log_bytes;
        info!(room = %self.room, log = self.log_updates, snapshot = stored.snapshot.is_some(), "room loaded");
        Ok(())
    }

    async fn serve(&mut self) -> Exit {
        loop {
            let idle_deadline = self.idle_since.map(|since| since + self.settings.idle);
            tokio::select! {
                cmd = self.rx.recv() => match cmd {
                    Some(cmd) => self.handle(cmd).await,
                    None => return Exit::Done,
                },
                result = wait_in_flight(&mut self.in_flight), if self.in_flight.is_some() => {
                    if !self.store_done(result) {
                        return Exit::Failed;
                    }
                }
                () = sleep_until_opt(idle_deadline), if self.peers.is_empty() && idle_deadline.is_some() => {
                    if self.pipeline_idle() && self.registry.remove_if_idle(&self.room, self.generation, &self.rx) {
                        info!(room = %self.room, "room idle: unloaded");
                        return Exit::Done;
                    }
                    // Not yet empty: look again once the pipeline drains.
                    self.idle_since = Some(Instant::now());
                }
                () = self.shutdown.cancelled(), if self.peers.is_empty() && self.pipeline_idle() => {
                    self.registry.remove(&self.room, self.generation);
                    return Exit::Done;
                }
            }
            self.start_store_work();
            self.report_gauges();
        }
    }

    async fn handle(&mut self, cmd: RoomCmd) {
        match cmd {
            RoomCmd::Join {
                client,
                outbox,
                key,
                dialect,
                joined,
            } => {
                if self.peers.len() >= self.settings.max_connections {
                    let _ = joined.send(Err(JoinRefused::Full));
                    return;
                }
                // A key's right wins; without one, protected rooms are read-only.
                let read_only = match key {
                    Some(Right::Edit) => false,
                    Some(Right::View) => true,
                    None => self.protected,
                };
                let step1 = SyncFrame::Step1(self.doc.transact().state_vector()).encode();
                let greeting = match dialect {
                    Dialect::Tandem => {
                        // Keys only for protected rooms: an open room's
                        // name is its only secret, and a key handed out there
                        // would stay valid if the name were claimed later.
                        let share = (self.protected && !read_only).then(|| ShareKeys {
                            edit: self.registry.keys.key_for(&self.room, Right::Edit),
                            view: self.registry.keys.key_for(&self.room, Right::View),
                        });
                        let welcome = ServerMsg::Welcome {
                            protocol: PROTOCOL_VERSION,
                            client_id: client,
                            room: self.room.clone(),
                            read_only,
                            peers: self
                                .peers
                                .values()
                                .filter_map(|p| p.presence.clone())
                                .collect(),
                            share,
                        };
                        Some(Message::Text(welcome.to_json().into()))
                    }
                    // Yjs clients learn who is here from an awareness update,
                    // after the sync step 1 (as the reference server does).
                    Dialect::Yjs => None,
                };
                let awareness = (dialect == Dialect::Yjs)
                    .then(|| self.awareness_of_all())
                    .flatten();
                let frames = greeting
                    .into_iter()
                    .chain([Message::Binary(step1.into())])
                    .chain(awareness);
                for frame in frames {
                    if outbox.push(frame).is_err() {
                        return;
                    }
                }
                let peer = Peer {
                    outbox,
                    read_only,
                    received: 0,
                    durable: 0,
                    presence: None,
                    dialect,
                    awareness: (client.0, 0),
                };
                self.peers.insert(client, peer);
                self.idle_since = None;
                let _ = joined.send(Ok(()));
            }
            RoomCmd::Presence {
                client,
                presence,
                awareness,
            } => {
                let Some(peer) = self.peers.get_mut(&client) else {
                    return;
                };
                peer.presence = presence.map(|p| p.for_peer(client));
                peer.awareness = match awareness {
                    Some(identity) => identity,
                    None => (peer.awareness.0, peer.awareness.1.wrapping_add(1)),
                };
                self.broadcast_presence(client);
            }
            RoomCmd::AwarenessQuery { client } => {
                if let (Some(peer), Some(frame)) =
                    (self.peers.get(&client), self.awareness_of_all())
                    && let Err(err) = peer.outbox.push(frame)
                {
                    self.drop_peer(client, err);
                }
            }
            RoomCmd::StateVector {
                client,
                state_vector,
            } => self.send_missing(client, &state_vector),
            RoomCmd::Update {
                client,
                update,
                raw,
                received,
            } => {
                self.apply(client, update, raw).await;
                metrics::histogram!(crate::metrics::RELAY_SECONDS)
                    .record(received.elapsed().as_secs_f64());
            }
            RoomCmd::Export { key, reply } => {
                // Every room is readable with a valid key; open rooms without one too.
                let readable = key.is_some() || !self.protected;
                let exported = readable.then(|| {
                    let txn = self.doc.transact();
                    let text = |name| {
                        txn.get_text(name)
                            .map(|t| t.get_string(&txn))
                            .unwrap_or_default()
                    };
                    Exported {
                        title: text(tandem_shared::doc::TITLE),
                        body: text(tandem_shared::doc::CONTENT),
                    }
                });
                let _ = reply.send(exported);
            }
            RoomCmd::Flush { done } => {
                if self.pipeline_idle() {
                    let _ = done.send(());
                } else {
                    self.flush_waiters.push(done);
                }
            }
            RoomCmd::Claim { reply } => {
                let claim = self.claim().await;
                let _ = reply.send(claim);
            }
            RoomCmd::Leave { client } => self.remove_peer(client),
        }
    }

    /// Protects the room if nobody is in it and nothing was ever written.
    /// Runs on the actor, between commands: no join can slip in while the
    /// store records the claim.
    async fn claim(&mut self) -> Claim {
        if !self.peers.is_empty() {
            return Claim::InUse;
        }
        let written = self.last_seq > 0 || self.size > 0 || !self.pipeline_idle();
        if self.protected || written {
            return Claim::Taken;
        }
        let store = self.store.clone();
        let room = self.room.clone();
        match tokio::task::spawn_blocking(move || store.claim(&room)).await {
            Ok(Ok(true)) => {
                self.protected = true;
                info!(room = %self.room, "room claimed: protected");
                Claim::Claimed
            }
            Ok(Ok(false)) => Claim::Taken,
            Ok(Err(err)) => Claim::Failed(err.to_string()),
            Err(join) => Claim::Failed(join.to_string()),
        }
    }

    fn send_missing(&mut self, client: ClientId, state_vector: &StateVector) {
        let Some(peer) = self.peers.get(&client) else {
            return;
        };
        let diff = self.doc.transact().encode_diff_v1(state_vector);
        let frame = Message::Binary(SyncFrame::Step2(diff).encode().into());
        if let Err(err) = peer.outbox.push(frame) {
            self.drop_peer(client, err);
        }
    }

    async fn apply(&mut self, client: ClientId, update: Update, raw: Bytes) {
        let Some(peer) = self.peers.get_mut(&client) else {
            return;
        };
        if peer.read_only {
            peer.outbox.close(
                close::POLICY,
                "this link is view-only: edits are not accepted",
            );
            self.remove_peer(client);
            return;
        }
        if self.size + raw.len() as u64 > self.settings.max_document_bytes {
            let limit = self.settings.max_document_bytes;
            peer.outbox.close(
                close::DOCUMENT_TOO_LARGE,
                format!("the document is at its size limit ({limit} bytes)"),
            );
            self.remove_peer(client);
            return;
        }
        // An update that starts past what the room has for some client
        // depends on edits the server never received. yrs would park it as
        // "pending" and integrate it later through code paths that crafted
        // updates drive into use-after-free (found by fuzzing, see
        // docs/FUZZING.md); no Tandem client sends one, because the
        // state-vector exchange comes first. Refuse it before yrs sees it.
        let state = self.doc.transact().state_vector();
        if update
            .state_vector_lower()
            .iter()
            .any(|(c, clock)| *clock > state.get(c))
        {
            warn!(room = %self.room, %client, "refused an update with a gap");
            peer.outbox.close(
                close::INVALID_UPDATE,
                "invalid update: it depends on edits this server does not have; reconnect to resync",
            );
            self.remove_peer(client);
            return;
        }
        peer.received += 1;
        let seq = peer.received;

        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let mut txn = self.doc.transact_mut();
            let result = txn.apply_update(update);
            (result, txn.has_changes() || txn.has_missing_updates())
        }));
        let changed = match outcome {
            Ok((Ok(()), changed)) => changed,
            Ok((Err(err), _)) => {
                self.refuse_update(client, &err.to_string()).await;
                return;
            }
            Err(_) => {
                self.refuse_update(client, "update made the CRDT engine panic")
                    .await;
                return;
            }
        };

        if changed {
            let frame = Message::Binary(SyncFrame::Update(raw.to_vec()).encode().into());
            let mut slow = Vec::new();
            for (&id, other) in &self.peers {
                if id != client
                    && let Err(err) = other.outbox.push(frame.clone())
                {
                    slow.push((id, err));
                }
            }
            for (id, err) in slow {
                self.drop_peer(id, err);
            }
        }
        if changed {
            self.size += raw.len() as u64;
            if let Some(label) = &self.label {
                metrics::counter!(crate::metrics::ROOM_UPDATES, "room" => label.clone())
                    .increment(1);
            }
        }
        self.pending.push(Pending {
            from: client,
            seq,
            bytes: changed.then_some(raw),
        });
    }

    /// Closes `client` for a bad update. The update may have been applied in
    /// part before failing, so the document is rebuilt from what is stored
    /// plus what is pending; the update itself was never relayed or queued.
    async fn refuse_update(&mut self, client: ClientId, why: &str) {
        warn!(room = %self.room, %client, reason = why, "refused an update");
        if let Some(peer) = self.peers.get(&client) {
            peer.outbox
                .close(close::INVALID_UPDATE, format!("invalid update: {why}"));
        }
        self.remove_peer(client);
        self.rebuild_doc().await;
    }

    async fn rebuild_doc(&mut self) {
        let store = self.store.clone();
        let room = self.room.clone();
        let stored = match tokio::task::spawn_blocking(move || store.load(&room)).await {
            Ok(Ok(stored)) => stored,
            Ok(Err(err)) => {
                error!(room = %self.room, error = %err, "could not reload room after a bad update");
                return;
            }
            Err(join) => {
                error!(room = %self.room, error = %join, "reload task failed");
                return;
            }
        };
        let doc = build_doc(&self.room, &stored);
        // The durable state, plus everything applied and not yet durable: the
        // batch being committed (which may or may not be in `stored` yet;
        // applying it twice is harmless) and the pending updates.
        let in_flight = match &self.in_flight {
            Some(InFlight::Append { updates, .. }) => updates.as_slice(),
            _ => &[],
        };
        let pending = self.pending.iter().filter_map(|p| p.bytes.as_ref());
        for bytes in in_flight.iter().chain(pending) {
            if let Ok(update) = Update::decode_v1(bytes) {
                let _ = catch_unwind(AssertUnwindSafe(|| doc.transact_mut().apply_update(update)));
            }
        }
        self.doc = doc;
    }

    fn drop_peer(&mut self, client: ClientId, err: OutboxError) {
        if let Some(peer) = self.peers.get(&client)
            && err == OutboxError::Full
        {
            warn!(room = %self.room, %client, "slow consumer: closing");
            peer.outbox.close(
                close::SLOW_CONSUMER,
                "you fell too far behind; reconnect to resync",
            );
        }
        self.remove_peer(client);
    }

    /// Forgets a member and tells the others it left, so no ghost remains.
    fn remove_peer(&mut self, client: ClientId) {
        let Some(peer) = self.peers.remove(&client) else {
            return;
        };
        let (id, clock) = peer.awareness;
        let gone = AwarenessEntry {
            client: id,
            clock: clock.wrapping_add(1),
            state: state_from_presence(None),
        };
        self.broadcast(
            client,
            &ServerMsg::PeerLeft { client_id: client },
            YjsFrame::Awareness(vec![gone]),
        );
        if self.peers.is_empty() {
            self.idle_since = Some(Instant::now());
        }
    }

    /// Tells everyone about `client`'s presence: Tandem clients but the sender
    /// get JSON; every Yjs client, the sender included (y-websocket providers
    /// expect their own state back, as the reference server sends it), gets
    /// an awareness update.
    fn broadcast_presence(&mut self, client: ClientId) {
        let Some(peer) = self.peers.get(&client) else {
            return;
        };
        let json = match &peer.presence {
            Some(presence) => ServerMsg::Presence(presence.clone()),
            None => ServerMsg::PeerLeft { client_id: client },
        };
        let awareness = YjsFrame::Awareness(vec![awareness_entry(peer)]);
        self.broadcast(client, &json, awareness);
    }

    /// Sends `json` to every Tandem member but `except`, and `yjs` to every
    /// Yjs member except a Yjs `except` whose own awareness this is not.
    fn broadcast(&mut self, except: ClientId, json: &ServerMsg, yjs: YjsFrame) {
        let json_frame = Message::Text(json.to_json().into());
        let yjs_frame = Message::Binary(yjs.encode().into());
        let echo_presence = matches!(json, ServerMsg::Presence(_));
        let slow: Vec<(ClientId, OutboxError)> = self
            .peers
            .iter()
            .filter_map(|(id, peer)| {
                let frame = match peer.dialect {
                    Dialect::Tandem if *id == except => return None,
                    Dialect::Tandem => &json_frame,
                    Dialect::Yjs if *id == except && !echo_presence => return None,
                    Dialect::Yjs => &yjs_frame,
                };
                peer.outbox.push(frame.clone()).err().map(|e| (*id, e))
            })
            .collect();
        for (id, err) in slow {
            self.drop_peer(id, err);
        }
    }

    /// One awareness update with every member that has a presence, or `None`.
    fn awareness_of_all(&self) -> Option<Message> {
        let entries: Vec<AwarenessEntry> = self
            .peers
            .values()
            .filter(|p| p.presence.is_some())
            .map(awareness_entry)
            .collect();
        (!entries.is_empty()).then(|| Message::Binary(YjsFrame::Awareness(entries).encode().into()))
    }

    /// Updates this room's gauges, if it is labelled.
    fn report_gauges(&self) {
        if let Some(label) = &self.label {
            metrics::gauge!(crate::metrics::ROOM_CLIENTS, "room" => label.clone())
                .set(self.peers.len() as f64);
            metrics::gauge!(crate::metrics::ROOM_DOCUMENT_BYTES, "room" => label.clone())
                .set(self.size as f64);
        }
    }

    fn pipeline_idle(&self) -> bool {
        self.in_flight.is_none() && self.pending.is_empty()
    }

    /// Starts the next store operation if none is running: the pending batch
    /// first, then compaction when the log has grown past its bound.
    fn start_store_work(&mut self) {
        if self.in_flight.is_some() {
            return;
        }
        if !self.pending.is_empty() {
            let batch = std::mem::take(&mut self.pending);
            let acks = last_seq_per_client(&batch);
            let updates: Vec<Bytes> = batch.into_iter().filter_map(|p| p.bytes).collect();
            if updates.is_empty() {
                // Nothing to write: these updates changed nothing and are as
                // durable as what came before them.
                self.acknowledge(&acks);
                self.start_store_work();
                return;
            }
            let count = updates.len() as u64;
            let bytes = updates.iter().map(|u| u.len() as u64).sum();
            let updates = Arc::new(updates);
            let (store, room, batch) = (self.store.clone(), self.room.clone(), updates.clone());
            let task = tokio::task::spawn_blocking(move || {
                let refs: Vec<&[u8]> = batch.iter().map(|u| u.as_ref()).collect();
                store.append(&room, &refs)
            });
            self.in_flight = Some(InFlight::Append {
                task,
                updates,
                acks,
                count,
                bytes,
                started: std::time::Instant::now(),
            });
            return;
        }
        if self.log_updates >= self.settings.compact_updates.max(1)
            || self.log_bytes >= self.settings.compact_bytes.max(1)
        {
            let state = self
                .doc
                .transact()
                .encode_state_as_update_v1(&StateVector::default());
            let (store, room, through) = (self.store.clone(), self.room.clone(), self.last_seq);
            let (merged, size_before) = (state.len() as u64, self.size);
            let task = tokio::task::spawn_blocking(move || store.compact(&room, &state, through));
            self.in_flight = Some(InFlight::Compact {
                task,
                through,
                merged,
                size_before,
            });
            return;
        }
        for waiter in self.flush_waiters.drain(..) {
            let _ = waiter.send(());
        }
    }

    /// Handles a finished store operation; `false` if the store failed.
    fn store_done(&mut self, result: StoreResult) -> bool {
        let Some(in_flight) = self.in_flight.take() else {
            return true;
        };
        match (in_flight, result) {
            (
                InFlight::Append {
                    acks,
                    count,
                    bytes,
                    started,
                    ..
                },
                StoreResult::Append(Ok(seq)),
            ) => {
                metrics::histogram!(crate::metrics::COMMIT_SECONDS)
                    .record(started.elapsed().as_secs_f64());
                metrics::histogram!(crate::metrics::COMMIT_BATCH).record(count as f64);
                self.last_seq = seq;
                self.log_updates += count;
                self.log_bytes += bytes;
                self.acknowledge(&acks);
                true
            }
            (
                InFlight::Compact {
                    through,
                    merged,
                    size_before,
                    ..
                },
                StoreResult::Compact(Ok(())),
            ) => {
                info!(room = %self.room, through, updates = self.log_updates, merged, "compacted");
                // The stored state is now the snapshot plus what arrived since it was taken.
                self.size = merged + self.size.saturating_sub(size_before);
                // Appends never run beside a compaction, so the log is now empty.
                self.log_updates = 0;
                self.log_bytes = 0;
                true
            }
            (InFlight::Compact { .. }, StoreResult::Compact(Err(err))) => {
                // The log is intact; try again after the next append.
                warn!(room = %self.room, error = %err, "compaction failed");
                self.log_updates = 0;
                self.log_bytes = 0;
                true
            }
            (_, StoreResult::Append(Err(err)) | StoreResult::Compact(Err(err))) => {
                error!(room = %self.room, error = %err, "storage failure: closing the room");
                false
            }
            (_, StoreResult::Append(Ok(_)) | StoreResult::Compact(Ok(()))) => {
                unreachable!("store results are matched to their operation")
            }
        }
    }

    fn acknowledge(&mut self, acks: &[(ClientId, u64)]) {
        let mut slow = Vec::new();
        for (client, seq) in acks {
            if let Some(peer) = self.peers.get_mut(client) {
                peer.durable = peer.durable.max(*seq);
                if peer.dialect == Dialect::Yjs {
                    // The y-websocket protocol has no acknowledgement.
                    continue;
                }
                let saved = ServerMsg::Saved {
                    updates: peer.durable,
                }
                .to_json();
                if let Err(err) = peer.outbox.push(Message::Text(saved.into())) {
                    slow.push((*client, err));
                }
            }
        }
        for (client, err) in slow {
            self.drop_peer(client, err);
        }
    }

    /// Closes every member with 1011 and leaves the registry, so the next
    /// connection reloads the room from what is durable.
    async fn fail(&mut self, reason: &str) {
        self.registry.remove(&self.room, self.generation);
        for (_, peer) in self.peers.drain() {
            peer.outbox.close(close::INTERNAL, reason);
        }
        // Anyone who sent a command before the registry forgot us is told too.
        self.rx.close();
        while let Some(cmd) = self.rx.recv().await {
            if let RoomCmd::Join { outbox, .. } = cmd {
                outbox.close(close::INTERNAL, reason);
            }
        }
    }
}

/// A member's presence as an awareness entry under its awareness identity.
fn awareness_entry(peer: &Peer) -> AwarenessEntry {
    let presence = peer.presence.as_ref().map(|p| Presence {
        name: p.name.clone(),
        color: p.color.clone(),
        cursor: p.cursor.clone(),
    });
    AwarenessEntry {
        client: peer.awareness.0,
        clock: peer.awareness.1,
        state: state_from_presence(presence.as_ref()),
    }
}

/// A room's document from what is stored, logging entries that are skipped.
fn build_doc(room: &RoomId, stored: &StoredRoom) -> Doc {
    let (doc, skipped) = stored.to_doc();
    for err in skipped {
        error!(%room, error = %err, "skipping a stored update that does not apply");
    }
    doc
}

fn last_seq_per_client(batch: &[Pending]) -> Vec<(ClientId, u64)> {
    let mut acks: Vec<(ClientId, u64)> = Vec::new();
    for p in batch {
        match acks.iter_mut().find(|(c, _)| *c == p.from) {
            Some(entry) => entry.1 = entry.1.max(p.seq),
            None => acks.push((p.from, p.seq)),
        }
    }
    acks
}

#[derive(Debug)]
enum StoreResult {
    Append(Result<u64, StoreError>),
    Compact(Result<(), StoreError>),
}

async fn wait_in_flight(in_flight: &mut Option<InFlight>) -> StoreResult {
    fn joined<T>(
        r: Result<Result<T, StoreError>, tokio::task::JoinError>,
    ) -> Result<T, StoreError> {
        r.map_err(|join| StoreError::Other(join.to_string()))?
    }
    match in_flight {
        Some(InFlight::Append { task, .. }) => StoreResult::Append(joined(task.await)),
        Some(InFlight::Compact { task, .. }) => StoreResult::Compact(joined(task.await)),
        None => std::future::pending().await,
    }
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
