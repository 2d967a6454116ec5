//! The room actor: the one task that owns a room's document.
//!
//! It loads the room before answering anyone, then handles one [`RoomCmd`]
//! at a time: joins and leaves (the [`Members`]), updates (checked, applied
//! to the document, relayed to the other members at once and handed to the
//! [`Pipeline`]), presence, claims, exports and version history (`history`).
//! After each event it lets the pipeline start its next store operation and
//! delivers the `saved` acknowledgements the pipeline returns; relaying
//! never waits for the disk, and the loop awaits no store call: commits,
//! compaction and the version history's store work are pipeline
//! operations whose results are one more event. Three rare paths still
//! wait for the store where the room must not move on without it: a claim
//! (decided between joins, with nobody in the room), rebuilding the
//! document after an update that failed half-applied, and a cluster resync.
//!
//! The actor is given everything it uses at spawn (a [`RoomContext`] and its
//! [`Listing`] in the room table); it unloads itself when idle, stops on
//! shutdown once its pipeline is empty, and on a store failure closes its
//! members with [`CloseCode::Internal`] so the next connection reloads what
//! is durable.

use std::sync::Arc;

use bytes::Bytes;
use tandem_shared::close::{Close, CloseCode};
use tandem_shared::comments::check_comment_update;
use tandem_shared::{ClientId, RoomId, SyncFrame};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::{debug, error, info, warn};
use yrs::{Doc, ReadTxn, StateVector, Transact, Update};

use super::authors::{Identity, RoomAuthors};
use super::command::{Claim, JoinRefused, RoomCmd};
use super::context::RoomContext;
use super::dialect::Dialect;
use super::document::{self, UpdateRefused};
use super::greeting::Greeting;
use super::history::Checkpoints;
use super::link_table::{self, LinkTable, WaitingJoin};
use super::members::{Members, Peer, Writing};
use super::pipeline::{Pipeline, Progress};
use super::recipient::{Outbound, Recipient};
use super::table::Listing;
use crate::access;
use crate::links::{LinkId, Right};
use crate::metrics::RoomLabel;
use crate::store::{StoreError, VersionKind};

mod authors;
mod cluster;
mod history;
mod links;

/// Who an update comes from: a member, or the room itself (a restore).
/// Connection ids start at 1 (`AppState`), so the room's own id, 0, names no
/// member: its updates are relayed to everyone and acknowledged to no one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// The member with this id.
    Member(ClientId),
    /// The server's own edit.
    Room,
}

/// The id the room's own updates go under in the pipeline and the relay.
const ROOM: ClientId = ClientId(0);

/// Why an update was not applied.
#[derive(Debug, PartialEq, Eq)]
enum Refused {
    /// It would grow the document past `--max-document-bytes` (this limit).
    TooLarge(u64),
    /// The document refused it (see [`UpdateRefused`]).
    Update(UpdateRefused),
}

/// Why the actor stopped.
#[derive(Debug, PartialEq, Eq)]
enum Exit {
    /// Idle and unloaded, or the server is shutting down.
    Done,
    /// The store failed; members are to be closed with `Internal`.
    Failed,
}

/// One room's actor.
#[derive(Debug)]
pub(super) struct RoomActor {
    /// The room's name.
    room: RoomId,
    /// Commands from connections and the API.
    inbox: mpsc::Receiver<RoomCmd>,
    /// The room's entry in the registry, to remove it when stopping.
    listing: Listing,
    /// Store, keys, settings, shutdown and metric labels.
    context: Arc<RoomContext>,
    /// The document; only this task touches it.
    doc: Doc,
    /// Who is in the room.
    members: Members,
    /// Applied updates on their way to the store.
    pipeline: Pipeline,
    /// Whether only edit keys may change the room (see [`crate::access`]).
    protected: bool,
    /// This room's labelled metrics, if it holds one of the bounded slots.
    label: Option<RoomLabel>,
    /// What other nodes commit to this room, with `--redis-url` (`cluster`).
    feed: Option<crate::bus::RoomFeed>,
    /// Checkpoints: when the next is due and whom it credits.
    history: Checkpoints,
    /// The room's share links, what its members were admitted with follows
    /// them (`links`).
    links: LinkTable,
    /// Who wrote what, and the members as authors (`authors`).
    authors: RoomAuthors,
}

impl RoomActor {
    /// The actor of `room`, not loaded yet: [`RoomActor::run`] loads it.
    pub(super) fn new(
        room: RoomId,
        inbox: mpsc::Receiver<RoomCmd>,
        listing: Listing,
        context: Arc<RoomContext>,
    ) -> Self {
        let settings = &context.settings;
        let pipeline = Pipeline::new(
            room.clone(),
            context.store.clone(),
            settings.compact_updates,
            settings.compact_bytes,
        );
        let history = Checkpoints::new(settings.history);
        Self {
            members: Members::new(room.clone()),
            room,
            inbox,
            listing,
            context,
            doc: tandem_shared::doc::new_doc(),
            history,
            pipeline,
            protected: false,
            label: None,
            feed: None,
            authors: RoomAuthors::default(),
            links: LinkTable::default(),
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
        self.label = self.context.labels.take(&self.room);
        self.report();
        let exit = self.serve().await;
        if exit == Exit::Failed {
            self.fail("storage failure; unsaved edits stay in your browser")
                .await;
        }
        // Zeroes the room's gauges and frees its label for another room.
        self.label = None;
        debug!(room = %self.room, ?exit, "room stopped");
    }

    async fn load(&mut self) -> Result<(), StoreError> {
        // Before loading, so nothing committed meanwhile is missed.
        self.subscribe().await;
        let (doc, mut stored) =
            document::load(self.context.store.clone(), self.room.clone()).await?;
        self.doc = doc;
        self.pipeline.loaded(&stored);
        self.authors = RoomAuthors::loaded(std::mem::take(&mut stored.authors));
        self.authors.counter().watch(&self.doc);
        self.protected = stored.protected;
        let stored_links = link_table::read(self.context.store.clone(), self.room.clone()).await?;
        self.links_loaded(stored_links);
        info!(room = %self.room, log = stored.updates.len(), snapshot = stored.snapshot.is_some(), "room loaded");
        Ok(())
    }

    async fn serve(&mut self) -> Exit {
        loop {
            let idle = self.context.settings.idle;
            let idle_deadline = self.members.idle_since().map(|since| since + idle);
            let link_expiry = self.links.next_expiry();
            tokio::select! {
                cmd = self.inbox.recv() => match cmd {
                    Some(cmd) => self.handle(cmd).await,
                    None => return Exit::Done,
                },
                done = self.pipeline.finished(), if self.pipeline.is_busy() => match done {
                    Ok(finished) => {
                        self.members.acknowledge(&finished.acks);
                        self.publish_committed();
                        if let Some(done) = finished.history {
                            self.history_done(done).await;
                        }
                    }
                    Err(err) => {
                        error!(room = %self.room, error = %err, "storage failure: closing the room");
                        return Exit::Failed;
                    }
                },
                () = sleep_until_opt(self.history.due()), if self.history.due().is_some() => {
                    self.checkpoint_if_dirty(VersionKind::Edit);
                }
                remote = Self::next_remote(&mut self.feed), if self.feed.is_some() => {
                    self.on_remote(remote).await;
                }
                read = self.links.read_done(), if self.links.is_reading() => {
                    self.links_read(read);
                }
                () = sleep_until_opt(link_expiry), if link_expiry.is_some() => {
                    self.reconcile_links();
                }
                () = sleep_until_opt(idle_deadline), if self.members.is_empty() && idle_deadline.is_some() => {
                    if self.pipeline.is_idle() && self.listing.remove_if_idle(&self.inbox) {
                        self.checkpoint_if_dirty(VersionKind::Idle);
                        self.drain().await;
                        info!(room = %self.room, "room idle: unloaded");
                        return Exit::Done;
                    }
                    // Not yet empty: look again once the pipeline drains.
                    self.members.restart_idle();
                }
                () = self.context.shutdown.cancelled(), if self.members.is_empty() && self.pipeline.is_idle() => {
                    self.listing.remove();
                    self.checkpoint_if_dirty(VersionKind::Idle);
                    self.drain().await;
                    return Exit::Done;
                }
            }
            let progress = self.pipeline.start(&self.doc);
            self.deliver(progress);
            self.report();
        }
    }

    async fn handle(&mut self, cmd: RoomCmd) {
        match cmd {
            RoomCmd::Join {
                client,
                recipient,
                link,
                dialect,
                identity,
                joined,
            } => match (self.links.knows(link.as_ref()), link) {
                (false, Some(link)) => self.wait_for_links(WaitingJoin {
                    client,
                    recipient,
                    link,
                    dialect,
                    identity,
                    joined,
                }),
                (_, link) => {
                    let _ = joined.send(self.join(client, recipient, link, dialect, identity));
                }
            },
            RoomCmd::LinksChanged => self.read_links(),
            RoomCmd::Presence {
                client,
                presence,
                awareness,
            } => {
                let name = presence.as_ref().map(|p| p.name.as_str());
                self.history.named(client, name);
                if let Some(change) = self.authors.named(client, name) {
                    self.authors_changed(change);
                }
                self.publish_presence(client, presence.as_ref());
                self.members.set_presence(client, presence, awareness);
            }
            RoomCmd::AwarenessQuery { client } => {
                if let Some(frame) = self.members.awareness_of_all() {
                    self.members.send(client, frame);
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
                let exported =
                    access::may_read(key, self.protected).then(|| document::export(&self.doc));
                let _ = reply.send(exported);
            }
            RoomCmd::Authors { key, reply } => {
                let _ = reply.send(self.export_authors(key));
            }
            RoomCmd::Flush { done } => self.pipeline.flush(done),
            RoomCmd::Claim { reply } => {
                let claim = self.claim().await;
                let _ = reply.send(claim);
            }
            RoomCmd::History(cmd) => self.history_request(cmd),
            RoomCmd::Leave { client } => {
                self.history.left(client);
                self.authors.left(client);
                self.publish_presence(client, None);
                self.members.remove(client);
            }
        }
    }

    /// Greets `client` through `recipient` (see [`Greeting`]), then makes
    /// it a member with the right its share link grants now.
    fn join(
        &mut self,
        client: ClientId,
        recipient: Arc<dyn Recipient>,
        link: Option<LinkId>,
        dialect: Dialect,
        identity: Identity,
    ) -> Result<(), JoinRefused> {
        if self.members.len() >= self.context.settings.max_connections {
            return Err(JoinRefused::Full);
        }
        let right = self.admission(link.as_ref())?;
        let read_only = right.read_only();
        let shown: Vec<String> = self
            .members
            .presences()
            .into_iter()
            .map(|p| p.color)
            .collect();
        let (color, recolored) = self.authors.join(client, &identity, &shown);
        let greeting = Greeting {
            room: &self.room,
            protected: self.protected,
            keys: &self.context.keys,
            links: self.links.standing(),
            state_vector: self.doc.transact().state_vector(),
            members: &self.members,
            authors: self.authors.table(),
            color: Some(&color),
        };
        for message in greeting.frames(client, dialect, read_only) {
            if recipient.send(message).is_err() {
                // The connection is gone or cannot take its greeting.
                self.authors.left(client);
                return Err(JoinRefused::Gone);
            }
        }
        if let Some(change) = recolored {
            // A returning author's new colour: the others learn it too.
            self.authors_changed(change);
        }
        let peer = Peer::new(client, recipient, read_only, dialect)
            .admitted_with(link)
            .commenting(right == Right::Comment);
        self.members.add(client, peer);
        Ok(())
    }

    /// Protects the room if nobody is in it and nothing was ever written.
    /// Runs on the actor, between commands: no join can slip in while the
    /// store records the claim.
    async fn claim(&mut self) -> Claim {
        if !self.members.is_empty() {
            return Claim::InUse;
        }
        if self.protected || self.pipeline.written() {
            return Claim::Taken;
        }
        let store = self.context.store.clone();
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

    /// Answers a sync step 1 with what the client misses.
    fn send_missing(&mut self, client: ClientId, state_vector: &StateVector) {
        if !self.members.contains(client) {
            return;
        }
        let diff = self.doc.transact().encode_diff_v1(state_vector);
        self.members
            .send(client, Outbound::sync(&SyncFrame::Step2(diff)));
    }

    /// Applies member `client`'s update; refusals close the client.
    async fn apply(&mut self, client: ClientId, update: Update, raw: Bytes) {
        match self.members.writing(client) {
            None => return,
            Some(Writing::ReadOnly) => {
                let close = Close::new(
                    CloseCode::Policy,
                    "this link is view-only: edits are not accepted",
                );
                self.members.close(client, close);
                return;
            }
            // It may have sent this before it heard of the change: refused,
            // and it stays.
            Some(Writing::Narrowed) => return self.refuse_narrowed(client),
            Some(Writing::Comments) => {
                let checked = check_comment_update(&self.doc.transact(), &raw);
                if let Err(refusal) = checked {
                    return self.refuse_comment(client, &refusal);
                }
            }
            Some(Writing::Edits) => {}
        }
        match self.apply_update(Origin::Member(client), update, raw) {
            Ok(()) => {}
            Err(Refused::TooLarge(limit)) => {
                let close = Close::new(
                    CloseCode::DocumentTooLarge,
                    format!("the document is at its size limit ({limit} bytes)"),
                );
                self.members.close(client, close);
            }
            Err(Refused::Update(UpdateRefused::Gap)) => {
                warn!(room = %self.room, %client, "refused an update with a gap");
                let reason = format!(
                    "invalid update: {}; reconnect to resync",
                    UpdateRefused::Gap
                );
                self.members
                    .close(client, Close::new(CloseCode::InvalidUpdate, reason));
            }
            Err(Refused::Update(refused)) => {
                warn!(room = %self.room, %client, reason = %refused, "refused an update");
                let close = Close::new(
                    CloseCode::InvalidUpdate,
                    format!("invalid update: {refused}"),
                );
                self.members.close(client, close);
                self.rebuild().await;
            }
        }
    }

    /// Applies an update, a member's or the room's own (a restore): checks
    /// the size limit, applies it to the document, relays it if it changed
    /// anything and queues it for the store. An update the document refused
    /// ([`UpdateRefused`] other than a gap) may have been applied in part:
    /// the caller must [`rebuild`](Self::rebuild).
    fn apply_update(&mut self, origin: Origin, update: Update, raw: Bytes) -> Result<(), Refused> {
        let limit = self.context.settings.max_document_bytes;
        if self.pipeline.size() + raw.len() as u64 > limit {
            return Err(Refused::TooLarge(limit));
        }
        // Counts only what this update changes.
        let _ = self.authors.counter().take();
        let applied = document::apply_counted(&self.doc, update).map_err(Refused::Update)?;
        let changed = applied.changed;
        let writer = match origin {
            Origin::Member(client) => client,
            Origin::Room => ROOM,
        };
        // Before the update goes out: members learn who wrote it first.
        self.attribute(writer, &applied.grown);
        let (from, seq) = match origin {
            Origin::Member(client) => {
                let Some(seq) = self.members.count_update(client) else {
                    return Ok(());
                };
                if changed {
                    self.history.edited(client);
                }
                (client, seq)
            }
            Origin::Room => (ROOM, 0),
        };
        if changed {
            // Encoded once; every member gets the same shared bytes.
            let message = Outbound::sync(&SyncFrame::Update(raw.to_vec()));
            self.members.relay(from, &message);
            if let Some(label) = &self.label {
                label.count_update();
            }
        }
        self.pipeline.push(from, seq, changed.then_some(raw));
        Ok(())
    }

    /// Rebuilds the document from what is stored plus what is unsaved,
    /// after an update that may have been applied in part before failing
    /// (that update was never relayed or queued).
    async fn rebuild(&mut self) {
        let (store, room) = (self.context.store.clone(), self.room.clone());
        match document::rebuild(store, room, self.pipeline.unsaved()).await {
            Ok(doc) => {
                self.doc = doc;
                self.authors.counter().watch(&self.doc);
            }
            Err(err) => {
                error!(room = %self.room, error = %err, "could not reload room after a bad update");
            }
        }
    }

    /// Runs the pipeline until it is empty: the end of a room that stops
    /// (its last commits and checkpoint), when nobody can be held up.
    async fn drain(&mut self) {
        loop {
            let progress = self.pipeline.start(&self.doc);
            self.deliver(progress);
            if !self.pipeline.is_busy() {
                return;
            }
            match self.pipeline.finished().await {
                Ok(finished) => {
                    self.members.acknowledge(&finished.acks);
                    self.publish_committed();
                }
                Err(err) => {
                    error!(room = %self.room, error = %err, "storage failure while stopping");
                    return;
                }
            }
        }
    }

    /// Delivers what a pipeline step owes, acknowledgements first.
    fn deliver(&mut self, progress: Progress) {
        self.members.acknowledge(&progress.acks);
        for done in progress.flushed {
            let _ = done.send(());
        }
    }

    /// Updates this room's gauges, if it is labelled.
    fn report(&self) {
        if let Some(label) = &self.label {
            label.report(self.members.len(), self.pipeline.size());
        }
    }

    /// Closes every member with `Internal` and leaves the registry, so the next
    /// connection reloads the room from what is durable.
    async fn fail(&mut self, reason: &str) {
        self.listing.remove();
        let close = Close::new(CloseCode::Internal, reason);
        self.members.close_all(&close);
        // Anyone who sent a command before the registry forgot us is told too.
        self.inbox.close();
        while let Some(cmd) = self.inbox.recv().await {
            if let RoomCmd::Join { recipient, .. } = cmd {
                recipient.close(close.clone());
            }
        }
    }
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
