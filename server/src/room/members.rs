//! The members of a room, and how messages reach them.
//!
//! Every message goes to a member's [`Recipient`] (its connection's bounded
//! queue). A send that fails means the member fell too far behind (it is
//! closed with [`CloseCode::SlowConsumer`] and resyncs on reconnect) or is
//! already gone; either way it is removed at once, never skipped silently. Removing a
//! member tells the others it left, in the form each speaks (a JSON
//! `peer_left`, or an awareness entry with a `null` state), which may find
//! more slow members: removal cascades, at most once per member.

use std::collections::HashMap;
use std::sync::Arc;

use tandem_shared::close::{Close, CloseCode};
use tandem_shared::yjs::AwarenessEntry;
use tandem_shared::{ClientId, PeerPresence, Presence, RoomId, ServerMsg};
use tokio::time::Instant;
use tracing::warn;

use super::dialect::Dialect;
use super::pipeline::Ack;
use super::presence::{AwarenessId, awareness_frame};
use super::recipient::{Outbound, Recipient, SendError};
use crate::links::{LinkId, Right};

/// One member of the room.
#[derive(Debug)]
pub(super) struct Peer {
    /// Where messages for this connection go.
    to: Arc<dyn Recipient>,
    /// A view-only connection's updates are refused.
    read_only: bool,
    /// A read-only connection that may comment (a comment link): its
    /// updates that change only the comments are applied, the others
    /// refused (`tandem_shared::comments::check_comment_update`).
    comment: bool,
    /// Made view-only while open (its link was narrowed): its updates are
    /// refused one by one with an `error` frame rather than closing it,
    /// since it may have sent them before it heard of the change.
    narrowed: bool,
    /// The share link it was admitted with, if its key named one: a change
    /// of that link reaches it (closed, narrowed or widened).
    link: Option<LinkId>,
    /// Update frames received from this connection so far.
    received: u64,
    /// How many of those are durable (the last `saved` sent).
    durable: u64,
    /// What the connection last said about itself, relayed to joiners.
    /// Boxed: most members of a big room never set one, and the table holds
    /// every member's entry inline (~150 bytes less per idle connection).
    presence: Option<Box<PeerPresence>>,
    /// The protocol it speaks.
    dialect: Dialect,
    /// Its identity in Yjs awareness (see [`AwarenessId`]).
    awareness: AwarenessId,
}

impl Peer {
    /// Connection `client`, reached through `to`, with nothing sent yet.
    pub(super) fn new(
        client: ClientId,
        to: Arc<dyn Recipient>,
        read_only: bool,
        dialect: Dialect,
    ) -> Self {
        Self {
            to,
            read_only,
            comment: false,
            narrowed: false,
            link: None,
            received: 0,
            durable: 0,
            presence: None,
            dialect,
            awareness: AwarenessId::of(client),
        }
    }
}

impl Peer {
    /// This peer, admitted with share link `link`.
    pub(super) fn admitted_with(mut self, link: Option<LinkId>) -> Self {
        self.link = link;
        self
    }

    /// This peer, read-only but allowed to comment (`comment`).
    pub(super) fn commenting(mut self, comment: bool) -> Self {
        self.comment = comment && self.read_only;
        self
    }

    /// The right it holds now.
    fn right(&self) -> Right {
        match (self.read_only, self.comment) {
            (false, _) => Right::Edit,
            (true, true) => Right::Comment,
            (true, false) => Right::View,
        }
    }
}

/// What a member's updates meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Writing {
    /// They are applied.
    Edits,
    /// It was admitted view-only: an update closes it.
    ReadOnly,
    /// It was made view-only while open: each update is refused, and it
    /// stays.
    Narrowed,
    /// It may only comment: an update that changes only the comments is
    /// applied, any other refused, and it stays.
    Comments,
}

/// The room's members.
#[derive(Debug)]
pub(super) struct Members {
    /// The room's name, for logs.
    room: RoomId,
    /// Members by connection.
    peers: HashMap<ClientId, Peer>,
    /// When the room last became empty (or was loaded empty); `None` while
    /// anyone is in it. The room unloads a while after this.
    idle_since: Option<Instant>,
    /// People in this room on other nodes of a cluster (`actor::cluster`),
    /// under the ids this node shows them with: only their presence is
    /// known here. They are not members (nothing is sent to them).
    remote: HashMap<ClientId, (AwarenessId, PeerPresence)>,
}

impl Members {
    /// Nobody yet, idle from now.
    pub(super) fn new(room: RoomId) -> Self {
        Self {
            room,
            peers: HashMap::new(),
            idle_since: Some(Instant::now()),
            remote: HashMap::new(),
        }
    }

    /// How many members there are.
    pub(super) fn len(&self) -> usize {
        self.peers.len()
    }

    /// Whether nobody is in the room.
    pub(super) fn is_empty(&self) -> bool {
        self.peers.is_empty()
    }

    /// Whether `client` is a member.
    pub(super) fn contains(&self, client: ClientId) -> bool {
        self.peers.contains_key(&client)
    }

    /// What `client`'s updates meet; `None` if it is not a member.
    pub(super) fn writing(&self, client: ClientId) -> Option<Writing> {
        self.peers.get(&client).map(|peer| match peer {
            Peer {
                read_only: false, ..
            } => Writing::Edits,
            Peer { comment: true, .. } => Writing::Comments,
            Peer { narrowed: true, .. } => Writing::Narrowed,
            _ => Writing::ReadOnly,
        })
    }

    /// The protocol `client` speaks, if it is a member.
    pub(super) fn dialect(&self, client: ClientId) -> Option<Dialect> {
        self.peers.get(&client).map(|peer| peer.dialect)
    }

    /// Each member admitted with a share link: its id, its link, and the
    /// right it holds.
    pub(super) fn linked(&self) -> Vec<(ClientId, LinkId, Right)> {
        self.peers
            .iter()
            .filter_map(|(id, peer)| Some((*id, peer.link.clone()?, peer.right())))
            .collect()
    }

    /// The links members were admitted with (with repeats).
    pub(super) fn links_in_use(&self) -> impl Iterator<Item = &LinkId> {
        self.peers.values().filter_map(|peer| peer.link.as_ref())
    }

    /// Gives `client` the right `right`: view-only or comment-only (its
    /// link was narrowed) or editing (its link was widened); returns the
    /// dialect it speaks, if it is a member.
    pub(super) fn set_right(&mut self, client: ClientId, right: Right) -> Option<Dialect> {
        let peer = self.peers.get_mut(&client)?;
        peer.read_only = right.read_only();
        peer.narrowed = right.read_only();
        peer.comment = right == Right::Comment;
        Some(peer.dialect)
    }

    /// Since when the room has been empty.
    pub(super) fn idle_since(&self) -> Option<Instant> {
        self.idle_since
    }

    /// Counts idleness from now: the room was idle long enough but could not
    /// unload yet, so it looks again a full idle period later.
    pub(super) fn restart_idle(&mut self) {
        self.idle_since = Some(Instant::now());
    }

    /// Counts one more update from `client`; its number among the client's
    /// updates (what a `saved` counts), or `None` if it is not a member.
    pub(super) fn count_update(&mut self, client: ClientId) -> Option<u64> {
        let peer = self.peers.get_mut(&client)?;
        peer.received += 1;
        Some(peer.received)
    }

    /// Everyone's presence, for a joiner's `welcome`.
    pub(super) fn presences(&self) -> Vec<PeerPresence> {
        self.peers
            .values()
            .filter_map(|p| p.presence.as_deref().cloned())
            .chain(self.remote.values().map(|(_, p)| p.clone()))
            .collect()
    }

    /// One awareness update with every member that has a presence, or `None`.
    pub(super) fn awareness_of_all(&self) -> Option<Outbound> {
        let entries: Vec<AwarenessEntry> = self
            .peers
            .values()
            .filter(|p| p.presence.is_some())
            .map(|p| p.awareness.entry(p.presence.as_deref()))
            .chain(self.remote.values().map(|(a, p)| a.entry(Some(p))))
            .collect();
        (!entries.is_empty()).then(|| awareness_frame(entries))
    }

    /// Someone on another node set (`Some`) or cleared its presence, or
    /// left: tells every member here, in the form each speaks.
    pub(super) fn set_remote(&mut self, client: ClientId, presence: Option<Presence>) {
        match presence {
            Some(presence) => {
                let awareness = self
                    .remote
                    .get(&client)
                    .map_or(AwarenessId::of(client), |(a, _)| a.bumped());
                let presence = presence.for_peer(client);
                let entry = awareness.entry(Some(&presence));
                self.remote.insert(client, (awareness, presence.clone()));
                self.broadcast(client, &ServerMsg::Presence(presence), entry);
            }
            None => {
                if let Some((awareness, _)) = self.remote.remove(&client) {
                    let left = ServerMsg::PeerLeft { client_id: client };
                    self.broadcast(client, &left, awareness.gone());
                }
            }
        }
    }

    /// What each member here with a presence said about itself, to answer
    /// another node's presence query (`actor::cluster`).
    pub(super) fn local_presences(&self) -> Vec<(ClientId, Presence)> {
        self.peers
            .iter()
            .filter_map(|(id, peer)| {
                let p = peer.presence.as_ref()?;
                let presence = Presence {
                    name: p.name.clone(),
                    color: p.color.clone(),
                    cursor: p.cursor.clone(),
                };
                Some((*id, presence))
            })
            .collect()
    }

    /// The people on other nodes this room shows.
    pub(super) fn remote_peers(&self) -> Vec<ClientId> {
        self.remote.keys().copied().collect()
    }

    /// Makes `client` a member; the room is no longer idle.
    pub(super) fn add(&mut self, client: ClientId, peer: Peer) {
        self.peers.insert(client, peer);
        self.idle_since = None;
    }

    /// Sends `message` to `client`, if it is a member.
    pub(super) fn send(&mut self, client: ClientId, message: Outbound) {
        if let Some(peer) = self.peers.get(&client)
            && let Err(err) = peer.to.send(message)
        {
            self.drop_peer(client, err);
        }
    }

    /// Sends `message` to every Tandem member (Yjs clients get no control
    /// messages): the room's authorship as it changes.
    pub(super) fn tell_tandem(&mut self, message: &Outbound) {
        let slow: Vec<(ClientId, SendError)> = self
            .peers
            .iter()
            .filter(|(_, peer)| peer.dialect == Dialect::Tandem)
            .filter_map(|(id, peer)| peer.to.send(message.clone()).err().map(|e| (*id, e)))
            .collect();
        self.drop_all(slow);
    }

    /// Sends `message` to every member but `from`: one message, its payload
    /// shared by all of them.
    pub(super) fn relay(&mut self, from: ClientId, message: &Outbound) {
        let slow: Vec<(ClientId, SendError)> = self
            .peers
            .iter()
            .filter(|(id, _)| **id != from)
            .filter_map(|(id, peer)| peer.to.send(message.clone()).err().map(|e| (*id, e)))
            .collect();
        self.drop_all(slow);
    }

    /// Records `client`'s new presence (`None`: cleared) and tells everyone.
    /// A Yjs client names its awareness identity; a Tandem client's clock is
    /// bumped so Yjs members take the change.
    pub(super) fn set_presence(
        &mut self,
        client: ClientId,
        presence: Option<Presence>,
        awareness: Option<AwarenessId>,
    ) {
        let Some(peer) = self.peers.get_mut(&client) else {
            return;
        };
        peer.presence = presence.map(|p| Box::new(p.for_peer(client)));
        peer.awareness = awareness.unwrap_or(peer.awareness.bumped());
        let json = match peer.presence.as_deref() {
            Some(presence) => ServerMsg::Presence(presence.clone()),
            None => ServerMsg::PeerLeft { client_id: client },
        };
        let entry = peer.awareness.entry(peer.presence.as_deref());
        self.broadcast(client, &json, entry);
    }

    /// Closes `client` with `close` and removes it.
    pub(super) fn close(&mut self, client: ClientId, close: Close) {
        if let Some(peer) = self.peers.get(&client) {
            peer.to.close(close);
        }
        self.remove(client);
    }

    /// Forgets a member and tells the others it left, so no ghost remains.
    pub(super) fn remove(&mut self, client: ClientId) {
        let Some(peer) = self.peers.remove(&client) else {
            return;
        };
        self.broadcast(
            client,
            &ServerMsg::PeerLeft { client_id: client },
            peer.awareness.gone(),
        );
        if self.peers.is_empty() {
            self.idle_since = Some(Instant::now());
        }
    }

    /// Tells each acknowledged Tandem member how many of its updates are
    /// durable (`saved`); Yjs members only have their count recorded, the
    /// y-websocket protocol having no acknowledgement.
    pub(super) fn acknowledge(&mut self, acks: &[Ack]) {
        let mut slow = Vec::new();
        for ack in acks {
            let Some(peer) = self.peers.get_mut(&ack.client) else {
                continue;
            };
            peer.durable = peer.durable.max(ack.updates);
            if peer.dialect == Dialect::Yjs {
                continue;
            }
            let saved = ServerMsg::Saved {
                updates: peer.durable,
            };
            if let Err(err) = peer.to.send(Outbound::json(&saved)) {
                slow.push((ack.client, err));
            }
        }
        self.drop_all(slow);
    }

    /// Closes every member with `close` and forgets them all, telling nobody.
    pub(super) fn close_all(&mut self, close: &Close) {
        for (_, peer) in self.peers.drain() {
            peer.to.close(close.clone());
        }
    }

    /// Sends `json` to every Tandem member but `except`, and the awareness
    /// `entry` to every Yjs member except a Yjs `except` whose own presence
    /// this is not: y-websocket providers expect their own state back (the
    /// reference server sends it), but not news of their own departure.
    fn broadcast(&mut self, except: ClientId, json: &ServerMsg, entry: AwarenessEntry) {
        let json_frame = Outbound::json(json);
        let yjs_frame = awareness_frame(vec![entry]);
        let echo_presence = matches!(json, ServerMsg::Presence(_));
        let slow: Vec<(ClientId, SendError)> = self
            .peers
            .iter()
            .filter_map(|(id, peer)| {
                let frame = match peer.dialect {
                    Dialect::Tandem if *id == except => return None,
                    Dialect::Tandem => &json_frame,
                    Dialect::Yjs if *id == except && !echo_presence => return None,
                    Dialect::Yjs => &yjs_frame,
                };
                peer.to.send(frame.clone()).err().map(|e| (*id, e))
            })
            .collect();
        self.drop_all(slow);
    }

    fn drop_all(&mut self, slow: Vec<(ClientId, SendError)>) {
        for (client, err) in slow {
            self.drop_peer(client, err);
        }
    }

    /// Removes a member that refused a message, closing it first if it was
    /// too slow (a connection that is gone has nobody left to tell).
    fn drop_peer(&mut self, client: ClientId, err: SendError) {
        if let Some(peer) = self.peers.get(&client)
            && err == SendError::Full
        {
            warn!(room = %self.room, %client, "slow consumer: closing");
            peer.to.close(Close::new(
                CloseCode::SlowConsumer,
                "you fell too far behind; reconnect to resync",
            ));
        }
        self.remove(client);
    }
}

#[cfg(test)]
mod tests {
    use tandem_shared::yjs::YjsFrame;

    use super::super::recipient::testing::TestMember;
    use super::*;

    fn room() -> Members {
        Members::new(RoomId::new("members").expect("room"))
    }

    /// Adds member `id` holding at most `capacity` messages.
    fn join(members: &mut Members, id: u64, dialect: Dialect, capacity: usize) -> Arc<TestMember> {
        let member = TestMember::new(capacity);
        members.add(
            ClientId(id),
            Peer::new(ClientId(id), member.recipient(), false, dialect),
        );
        member
    }

    fn frames(member: &TestMember) -> Vec<Outbound> {
        member.take()
    }

    fn json(member: &TestMember) -> Vec<ServerMsg> {
        frames(member)
            .into_iter()
            .filter(Outbound::is_text)
            .filter_map(|m| serde_json::from_slice(m.payload()).ok())
            .collect()
    }

    fn awareness(member: &TestMember) -> Vec<AwarenessEntry> {
        frames(member)
            .into_iter()
            .filter(|m| !m.is_text())
            .flat_map(|m| match YjsFrame::decode(m.payload()) {
                Ok(YjsFrame::Awareness(entries)) => entries,
                _ => Vec::new(),
            })
            .collect()
    }

    fn ada() -> Presence {
        Presence {
            name: "Ada".into(),
            color: "#30bced".into(),
            cursor: None,
        }
    }

    #[test]
    fn an_update_is_relayed_to_everyone_but_its_sender() {
        let mut members = room();
        let a = join(&mut members, 1, Dialect::Tandem, 8);
        let b = join(&mut members, 2, Dialect::Tandem, 8);
        let y = join(&mut members, 3, Dialect::Yjs, 8);
        members.relay(ClientId(1), &Outbound::binary(vec![0, 2, 0].into()));
        assert!(frames(&a).is_empty());
        assert_eq!(frames(&b).len(), 1);
        assert_eq!(frames(&y).len(), 1);
    }

    #[test]
    fn a_slow_member_is_closed_and_the_others_are_told_it_left() {
        let mut members = room();
        let a = join(&mut members, 1, Dialect::Tandem, 8);
        let slow = join(&mut members, 2, Dialect::Tandem, 1);
        let y = join(&mut members, 3, Dialect::Yjs, 8);
        let update = Outbound::binary(vec![0, 2, 0].into());
        members.relay(ClientId(1), &update);
        members.relay(ClientId(1), &update);
        assert!(!members.contains(ClientId(2)));
        let close = slow.closed().expect("closed");
        assert_eq!(close.code, CloseCode::SlowConsumer);
        assert_eq!(
            json(&a),
            [ServerMsg::PeerLeft {
                client_id: ClientId(2)
            }]
        );
        let left = awareness(&y);
        assert_eq!(left.len(), 1);
        assert_eq!((left[0].client, left[0].state.as_str()), (2, "null"));
    }

    #[test]
    fn presence_reaches_tandem_members_as_json_and_every_yjs_member_as_awareness() {
        let mut members = room();
        let a = join(&mut members, 1, Dialect::Tandem, 8);
        let b = join(&mut members, 2, Dialect::Tandem, 8);
        let y = join(&mut members, 3, Dialect::Yjs, 8);
        members.set_presence(ClientId(1), Some(ada()), None);
        assert!(frames(&a).is_empty(), "no echo to a Tandem sender");
        assert_eq!(json(&b), [ServerMsg::Presence(ada().for_peer(ClientId(1)))]);
        let seen = awareness(&y);
        assert_eq!((seen[0].client, seen[0].clock), (1, 1), "clock bumped");

        // A Yjs member gets its own state back, under its own identity.
        let own = AwarenessId {
            client: 99,
            clock: 7,
        };
        members.set_presence(ClientId(3), Some(ada()), Some(own));
        let echoed = awareness(&y);
        assert_eq!((echoed[0].client, echoed[0].clock), (99, 7));
        assert_eq!(members.presences().len(), 2);
        assert!(members.awareness_of_all().is_some());
    }

    #[test]
    fn saved_counts_go_to_tandem_members_only_and_never_go_back() {
        let mut members = room();
        let a = join(&mut members, 1, Dialect::Tandem, 8);
        let y = join(&mut members, 2, Dialect::Yjs, 8);
        let ack = |client, updates| Ack {
            client: ClientId(client),
            updates,
        };
        members.acknowledge(&[ack(1, 3), ack(2, 5)]);
        members.acknowledge(&[ack(1, 2)]);
        assert_eq!(
            json(&a),
            [
                ServerMsg::Saved { updates: 3 },
                ServerMsg::Saved { updates: 3 }
            ]
        );
        assert!(frames(&y).is_empty());
    }

    #[test]
    fn the_room_is_idle_from_when_the_last_member_leaves() {
        let mut members = room();
        assert!(members.idle_since().is_some(), "idle until someone joins");
        let _a = join(&mut members, 1, Dialect::Tandem, 8);
        let _b = join(&mut members, 2, Dialect::Tandem, 8);
        assert_eq!(members.idle_since(), None);
        members.remove(ClientId(1));
        assert_eq!(members.idle_since(), None);
        members.close(ClientId(2), Close::new(CloseCode::Policy, "no"));
        assert!(members.idle_since().is_some());
        assert_eq!(members.count_update(ClientId(2)), None);
    }
}
