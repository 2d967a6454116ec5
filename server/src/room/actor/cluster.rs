//! The room actor's side of the cluster bus (`--redis-url`; see
//! [`crate::bus`]): subscribing before the room loads, publishing each
//! committed batch, applying what other nodes committed and relaying it to
//! this node's members, reading the share links again when another node
//! changed them, and resyncing from the store when the bus says something
//! may have been missed.
//!
//! Relaying a member's update to the other members never waits for any of
//! this: it happens in `apply`, before the commit; only publishing to other
//! nodes waits for the commit, so nothing another node's clients build on
//! can die with this node.

use bytes::Bytes;
use tandem_shared::{ClientId, Presence, SyncFrame};
use tracing::{error, info, warn};
use yrs::updates::decoder::Decode;
use yrs::{ReadTxn, Transact, Update};

use super::RoomActor;
use crate::bus::{Remote, RoomFeed};
use crate::room::document;
use crate::room::recipient::Outbound;

/// Connection ids start at 1 (`AppState`): relaying "from" this id reaches
/// every member.
const FROM_ANOTHER_NODE: ClientId = ClientId(0);

impl RoomActor {
    /// The next message from the bus; never resolves without a subscription.
    pub(super) async fn next_remote(feed: &mut Option<RoomFeed>) -> Option<Remote> {
        match feed {
            Some(feed) => feed.recv().await,
            None => std::future::pending().await,
        }
    }

    /// Subscribes to the room's stream, if this node has a bus. Called
    /// before loading: see [`crate::bus::Bus::subscribe`].
    pub(super) async fn subscribe(&mut self) {
        if let Some(bus) = self.context.bus.get() {
            self.feed = Some(bus.subscribe(&self.room).await);
        }
    }

    /// Hands the batch just committed to the bus (it never waits): the
    /// authorship it recorded first, so the nodes applying its rows know
    /// who wrote them.
    pub(super) fn publish_committed(&mut self) {
        let authors = self.pipeline.take_committed_authors();
        let committed = self.pipeline.take_committed();
        let Some(bus) = self.context.bus.get() else {
            return;
        };
        if let Some(authors) = authors {
            bus.publish_authors(&self.room, &authors);
        }
        if let Some((first, last, updates)) = committed {
            bus.publish(&self.room, first, last, updates);
        }
    }

    /// Handles a message from the bus; `None`: the bus stopped (shutdown).
    pub(super) async fn on_remote(&mut self, remote: Option<Remote>) {
        match remote {
            None => self.feed = None,
            Some(Remote::Update {
                first,
                last,
                update,
                published_us,
            }) => {
                self.apply_remote(first, last, update).await;
                if let Some(published) = published_us {
                    // Wall clocks of two hosts: a skewed one may read as
                    // negative, counted as zero.
                    let lag = crate::bus::now_us().saturating_sub(published);
                    metrics::histogram!(crate::metrics::BUS_DELIVERY_SECONDS)
                        .record(lag as f64 / 1e6);
                }
            }
            Some(Remote::Resync) => self.resync().await,
            Some(Remote::Links) => self.read_links(),
            Some(Remote::Authors(change)) => {
                // Another node stored it; here it is only told.
                if let Some(new) = self.authors.recorded_elsewhere(change) {
                    self.tell_authors(&new);
                }
            }
            Some(Remote::Presence { peer, presence }) => self.members.set_remote(peer, presence),
            Some(Remote::NodeGone { tag }) => {
                for peer in self.members.remote_peers() {
                    if crate::bus::node_of(peer) == tag {
                        self.members.set_remote(peer, None);
                    }
                }
            }
            Some(Remote::PresenceQuery) => {
                if let Some(bus) = self.context.bus.get() {
                    bus.answer_presence_query(&self.room, &self.members.local_presences());
                }
            }
        }
    }

    /// Tells the other nodes what member `client` says about itself
    /// (`None`: it left or cleared it).
    pub(super) fn publish_presence(&self, client: ClientId, presence: Option<&Presence>) {
        if let Some(bus) = self.context.bus.get()
            && self.members.contains(client)
        {
            bus.publish_presence(&self.room, client, presence);
        }
    }

    /// Applies rows `first..=last` another node committed, and relays them.
    async fn apply_remote(&mut self, first: u64, last: u64, update: Bytes) {
        let applied = Update::decode_v1(&update)
            .map_err(|e| e.to_string())
            .and_then(|decoded| document::apply(&self.doc, decoded).map_err(|e| e.to_string()));
        match applied {
            Ok(changed) => {
                if changed {
                    self.relay_remote(&update);
                }
                self.pipeline
                    .remote_committed(first, last, update.len() as u64);
            }
            Err(why) => {
                warn!(room = %self.room, first, last, reason = %why, "an update from another node did not apply: resync");
                self.resync().await;
            }
        }
    }

    /// Reloads the room from the store and merges what this node lacks;
    /// reads its share links again too (a links change may be what was
    /// missed).
    async fn resync(&mut self) {
        self.read_links();
        let loaded = document::load(self.context.store.clone(), self.room.clone()).await;
        let (stored_doc, mut stored) = match loaded {
            Ok(loaded) => loaded,
            Err(err) => {
                // The room keeps serving; the next commit meets the same
                // store and closes the room if it is still failing.
                error!(room = %self.room, error = %err, "could not resync from the store");
                return;
            }
        };
        // The authorship first: members learn who wrote what they are sent.
        if let Some(new) = self
            .authors
            .recorded_elsewhere(std::mem::take(&mut stored.authors))
        {
            self.tell_authors(&new);
        }
        let missing = stored_doc
            .transact()
            .encode_diff_v1(&self.doc.transact().state_vector());
        let applied = Update::decode_v1(&missing)
            .map_err(|e| e.to_string())
            .and_then(|decoded| document::apply(&self.doc, decoded).map_err(|e| e.to_string()));
        match applied {
            Ok(true) => self.relay_remote(&missing),
            Ok(false) => {}
            Err(why) => error!(room = %self.room, reason = %why, "the store's copy did not merge"),
        }
        self.pipeline.resynced(stored.last_seq);
        info!(room = %self.room, last_seq = stored.last_seq, "resynced from the store");
    }

    fn relay_remote(&mut self, update: &[u8]) {
        let message = Outbound::sync(&SyncFrame::Update(update.to_vec()));
        self.members.relay(FROM_ANOTHER_NODE, &message);
        if let Some(label) = &self.label {
            label.count_update();
        }
    }
}
