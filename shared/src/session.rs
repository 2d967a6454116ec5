//! The client side of `tandem.v1` as a state machine with no I/O.
//!
//! [`ClientSession`] owns a replica of the room's document and everything a
//! client knows about its connection: the share key it presents in each
//! connection's `hello`, the id and rights the `welcome` gave it, whether
//! the server's sync step 2 arrived (`synced`), whether its own
//! step 2 went out (`live`), the count of step 2 and update frames it sent
//! and how many of them the server reported durable (`saved`), and the
//! others' presence. Each frame from the server goes in through
//! [`ClientSession::receive_text`] or [`ClientSession::receive_binary`]; out
//! comes a [`Reaction`]: the frame to send back, if any, and the [`Event`] to
//! surface. Sockets, timers and retries belong to the hosts around it (the
//! browser's connection task, the native test client, the end-to-end peer,
//! the load generator), so every client reacts the same way and the
//! reactions are unit-tested here without a network. The shape follows
//! `yrs::sync::Protocol` and y-sweet's `DocConnection`.
//!
//! One connection, as a host drives it:
//!
//! ```text
//! socket open        send session.open() (the hello), then session.step1()
//! each frame in      session.receive_text / receive_binary → send reply, handle event
//! each local edit    session.local_update(update) → send the frame, if any
//! socket closed      session.closed()
//! ```
//!
//! A local edit made while no step 2 of ours has gone out on the current
//! connection is not sent: it is in the replica, and the step 2 that answers
//! the server's next step 1 carries it. That keeps the `saved` count exact:
//! the server counts step 2 and update frames in TCP order, and so does the
//! session.

use std::collections::BTreeMap;
use std::fmt;
use std::rc::Rc;

use yrs::updates::decoder::Decode;
use yrs::{ReadTxn, StateVector, Transact, Update};

use crate::authors::Authorship;
use crate::protocol::{
    ClientMsg, DecodeError, ErrorCode, PROTOCOL_VERSION, PeerPresence, Presence, ServerMsg,
    ShareKeys, SyncFrame,
};
use crate::{ClientId, RoomId};

/// The document a session keeps in step with the room. Every method takes
/// `&self`: yrs documents (and the browser's wrapper) change through
/// transactions, not through `&mut`.
pub trait Replica {
    /// What applying a remote update reports (the browser: the text changes
    /// it made, or that it waits for an IME composition to end).
    type Applied;
    /// Why a remote update was refused.
    type Error: fmt::Display;

    /// The replica's state vector, for our sync step 1.
    fn state_vector(&self) -> StateVector;
    /// Everything the holder of `theirs` misses, as a v1 update: our step 2.
    fn diff_since(&self, theirs: &StateVector) -> Vec<u8>;
    /// Applies a v1 update from the server.
    fn apply_remote(&self, update: &[u8]) -> Result<Self::Applied, Self::Error>;

    /// The room's authorship changed (the `welcome` brought it whole, an
    /// `authors` message a change), now `table`, and `color` is the one the
    /// room gives this connection, if it said. Called before the update the
    /// change attributes arrives. Replicas that show who wrote what keep
    /// them; the default ignores them.
    fn authorship_changed(&self, _table: &Authorship, _color: Option<&str>) {}
}

/// Why a plain yrs document refused an update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyError(String);

impl fmt::Display for ApplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ApplyError {}

impl Replica for yrs::Doc {
    type Applied = ();
    type Error = ApplyError;

    fn state_vector(&self) -> StateVector {
        self.transact().state_vector()
    }

    fn diff_since(&self, theirs: &StateVector) -> Vec<u8> {
        self.transact().encode_diff_v1(theirs)
    }

    fn apply_remote(&self, update: &[u8]) -> Result<(), ApplyError> {
        let update = Update::decode_v1(update)
            .map_err(|err| ApplyError(format!("update does not decode: {err}")))?;
        self.transact_mut()
            .apply_update(update)
            .map_err(|err| ApplyError(format!("update does not apply: {err}")))
    }
}

impl<R: Replica + ?Sized> Replica for Rc<R> {
    type Applied = R::Applied;
    type Error = R::Error;

    fn state_vector(&self) -> StateVector {
        (**self).state_vector()
    }

    fn diff_since(&self, theirs: &StateVector) -> Vec<u8> {
        (**self).diff_since(theirs)
    }

    fn apply_remote(&self, update: &[u8]) -> Result<R::Applied, R::Error> {
        (**self).apply_remote(update)
    }

    fn authorship_changed(&self, table: &Authorship, color: Option<&str>) {
        (**self).authorship_changed(table, color);
    }
}

/// A frame for the host to send, typed so hosts that show frames (the
/// browser's inspector) need not decode their own output.
#[derive(Debug, Clone, PartialEq)]
pub enum Outgoing {
    /// A JSON control message: a text frame.
    Control(ClientMsg),
    /// A y-sync message: a binary frame.
    Sync(SyncFrame),
}

/// A frame as it goes on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WireFrame {
    /// A text frame.
    Text(String),
    /// A binary frame.
    Binary(Vec<u8>),
}

impl Outgoing {
    /// The frame's wire form.
    pub fn to_wire(&self) -> WireFrame {
        match self {
            Self::Control(msg) => WireFrame::Text(msg.to_json()),
            Self::Sync(frame) => WireFrame::Binary(frame.encode()),
        }
    }
}

/// What a frame from the server meant, for the host to act on.
#[derive(Debug, Clone, PartialEq)]
pub enum Event<A> {
    /// The `welcome`: the session now has its client id, room, rights, share
    /// keys and the others' presence.
    Welcomed,
    /// The server's step 1 was answered (the reply is our step 2, or nothing
    /// on a view-only connection). Every local edit so far is in that step 2,
    /// so updates the host still queues for sending are covered by it.
    Answered,
    /// A step 2 (`first_sync` is true: the session is now synced) or an
    /// update was applied to the replica.
    Applied {
        /// Whether this was the server's step 2.
        first_sync: bool,
        /// What the replica reported.
        applied: A,
    },
    /// The server reported the first `updates` frames of this connection durable.
    Saved {
        /// The count, as the server sent it.
        updates: u64,
    },
    /// Someone joined or moved: their presence, now in [`ClientSession::peers`].
    Presence(PeerPresence),
    /// Someone left.
    PeerLeft(ClientId),
    /// The room's authorship changed (an `authors` message): the session's
    /// [`ClientSession::authorship`] holds it, and the replica was told.
    Authors,
    /// The answer to our ping.
    Pong,
    /// The connection's rights changed while it was open (`access_changed`):
    /// the session now holds the new rights and share keys. Made view-only,
    /// it sends no more updates (local edits stay in the replica, unsent);
    /// made an editor, it answers the server's next step 1 with its step 2.
    AccessChanged {
        /// Whether the connection may now only read.
        read_only: bool,
        /// The server's explanation, for the person.
        reason: String,
    },
    /// The server refused something we sent; the connection stays open.
    /// An update refused because the link became view-only (code
    /// `read_only`) leaves the session's edits unsent.
    Refused {
        /// The stable code.
        code: ErrorCode,
        /// The server's explanation.
        reason: String,
    },
}

/// The session's answer to one frame from the server.
#[derive(Debug, Clone, PartialEq)]
pub struct Reaction<A> {
    /// The frame to send back, if any.
    pub reply: Option<Outgoing>,
    /// What happened.
    pub event: Event<A>,
}

impl<A> Reaction<A> {
    fn quiet(event: Event<A>) -> Self {
        Self { reply: None, event }
    }
}

/// A frame from the server the session could not take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionError<E> {
    /// A text frame that is not a [`ServerMsg`].
    BadJson(String),
    /// A binary frame that is not a sync frame ([`DecodeError::UnsupportedMessage`]
    /// for other y-sync messages, which servers of the y-websocket dialect send).
    BadFrame(DecodeError),
    /// The replica refused an update: it may now miss something, so the
    /// host should drop the connection and resync on a new one.
    Update(E),
    /// The server speaks another protocol version: this client cannot talk to it.
    Protocol {
        /// The version in the server's `welcome`.
        server: u32,
    },
    /// A `saved` count beyond what this connection sent, or lower than one
    /// already reported. The session keeps the count within what it sent.
    Saved {
        /// The count the server sent.
        updates: u64,
        /// What this connection sent.
        sent: u64,
    },
}

impl<E: fmt::Display> fmt::Display for SessionError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadJson(err) => write!(f, "text frame is not a server message: {err}"),
            Self::BadFrame(err) => write!(f, "binary frame is not a sync message: {err}"),
            Self::Update(err) => write!(f, "could not apply an update: {err}"),
            Self::Protocol { server } => write!(
                f,
                "the server speaks protocol {server}, this client {PROTOCOL_VERSION}"
            ),
            Self::Saved { updates, sent } => {
                write!(f, "saved {updates} is not within the {sent} frames sent")
            }
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for SessionError<E> {}

/// Whether this client's edits are on the server's disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveState {
    /// Every edit is acknowledged as durable.
    Saved,
    /// Edits are on their way or waiting for the acknowledgement.
    Saving,
    /// Edits exist only in this client and there is no connection.
    Unsaved,
}

/// One client's view of its room, across connections.
#[derive(Debug)]
pub struct ClientSession<R> {
    /// The document.
    replica: R,
    /// The share-link key this client was opened with, presented in the
    /// `hello` of every connection (never in a URL, which gets logged).
    key: Option<String>,
    /// The author secret and preferred colour every `hello` presents, so
    /// this client's connections write as one author (see [`crate::authors`]).
    author: Option<(String, Option<String>)>,
    /// Who wrote what, as the server said (the last `welcome`, then each
    /// `authors` change): kept across connections until the next welcome.
    authorship: Authorship,
    /// The colour the room gave this client in its last `welcome`.
    color: Option<String>,
    /// A socket is open (between [`ClientSession::open`] and [`ClientSession::closed`]).
    open: bool,
    /// This connection's id, from its `welcome`; kept after it closes, so a
    /// host can still say who it was.
    client_id: Option<ClientId>,
    /// The room the server confirmed.
    room: Option<RoomId>,
    /// Whether the server made this connection view-only: it then sends no
    /// step 2 and no updates (the server would close it with 1008).
    read_only: bool,
    /// The share keys of the welcome, for editors of a protected room.
    share: Option<ShareKeys>,
    /// Our step 2 went out on this connection: local updates are sent as they happen.
    live: bool,
    /// The server's step 2 arrived on this connection.
    synced: bool,
    /// Connections whose first sync completed, over the session's life.
    syncs: u32,
    /// Step 2 and update frames sent on this connection: what `saved` counts.
    sent: u64,
    /// How many of them the server reported durable.
    saved: u64,
    /// The replica holds local edits no open connection has sent yet (made
    /// while disconnected, or sent on a connection that died before the ack).
    unsent: bool,
    /// Everyone else in the room, by connection; emptied when a connection
    /// ends, so no ghost survives a reconnect.
    peers: BTreeMap<ClientId, PeerPresence>,
}

impl<R: Replica> ClientSession<R> {
    /// A session on `replica`. `unsent` says whether it may hold edits the
    /// server never acknowledged (a stored copy flagged so).
    pub fn new(replica: R, unsent: bool) -> Self {
        Self {
            replica,
            key: None,
            author: None,
            authorship: Authorship::default(),
            color: None,
            open: false,
            client_id: None,
            room: None,
            read_only: false,
            share: None,
            live: false,
            synced: false,
            syncs: 0,
            sent: 0,
            saved: 0,
            unsent,
            peers: BTreeMap::new(),
        }
    }

    /// This session with the share-link `key` (edit or view) its hellos
    /// present; without one, a hello says `"key":null`.
    pub fn with_key(mut self, key: Option<String>) -> Self {
        self.key = key;
        self
    }

    /// This session with an author secret (16–64 of `A–Z a–z 0–9 - _`, see
    /// [`crate::authors::valid_secret`]) and the colour it would like, which
    /// its hellos present.
    pub fn with_author(mut self, secret: String, color: Option<String>) -> Self {
        self.author = Some((secret, color));
        self
    }

    /// Who wrote what, as the server last said.
    pub fn authorship(&self) -> &Authorship {
        &self.authorship
    }

    /// The colour the room gave this client, once welcomed.
    pub fn color(&self) -> Option<&str> {
        self.color.as_deref()
    }

    /// The replica.
    pub fn replica(&self) -> &R {
        &self.replica
    }

    /// A socket opened: counting starts again. Returns the `hello` with the
    /// session's key, which must be the first frame on the socket: the
    /// server sends nothing for the room before it.
    #[must_use = "the hello must be the first frame sent on the socket"]
    pub fn open(&mut self) -> Outgoing {
        self.open = true;
        self.live = false;
        self.synced = false;
        self.sent = 0;
        self.saved = 0;
        self.peers.clear();
        let (author, color) = match &self.author {
            Some((secret, color)) => (Some(secret.clone()), color.clone()),
            None => (None, None),
        };
        Outgoing::Control(ClientMsg::Hello {
            key: self.key.clone(),
            author,
            color,
        })
    }

    /// Our sync step 1: the replica's state vector. Hosts send it right
    /// after the hello (before or after the `welcome`).
    pub fn step1(&self) -> Outgoing {
        Outgoing::Sync(SyncFrame::Step1(self.replica.state_vector()))
    }

    /// The socket closed: whatever was not acknowledged may be lost and must
    /// travel again in the next step 2; presence belongs to the connection.
    pub fn closed(&mut self) {
        if self.saved < self.sent {
            self.unsent = true;
        }
        self.open = false;
        self.live = false;
        self.synced = false;
        self.sent = 0;
        self.saved = 0;
        self.peers.clear();
    }

    /// A local edit, already in the replica, as the v1 `update` it made: the
    /// frame to send, or `None` when no step 2 of ours has gone out on this
    /// connection (the next one will carry the edit).
    pub fn local_update(&mut self, update: Vec<u8>) -> Option<Outgoing> {
        if self.live && !self.read_only {
            Some(self.update_frame(update))
        } else {
            self.unsent = true;
            None
        }
    }

    /// An update frame for `update`, counted for `saved` whatever the
    /// connection's state: for hosts that write on purpose before syncing or
    /// on a view-only link (tests of the server's refusals).
    pub fn update_frame(&mut self, update: Vec<u8>) -> Outgoing {
        self.sent += 1;
        Outgoing::Sync(SyncFrame::Update(update))
    }

    /// A presence message.
    pub fn presence(&self, presence: Presence) -> Outgoing {
        Outgoing::Control(ClientMsg::Presence(presence))
    }

    /// An app-level ping; the server answers with a pong.
    pub fn ping(&self) -> Outgoing {
        Outgoing::Control(ClientMsg::Ping)
    }

    /// Takes a text frame from the server.
    pub fn receive_text(
        &mut self,
        text: &str,
    ) -> Result<Reaction<R::Applied>, SessionError<R::Error>> {
        let msg = serde_json::from_str::<ServerMsg>(text)
            .map_err(|err| SessionError::BadJson(err.to_string()))?;
        let event = match msg {
            ServerMsg::Welcome {
                protocol,
                client_id,
                room,
                read_only,
                peers,
                share,
                authors,
                color,
            } => {
                if protocol != PROTOCOL_VERSION {
                    return Err(SessionError::Protocol { server: protocol });
                }
                self.authorship = authors;
                self.color = color;
                self.replica
                    .authorship_changed(&self.authorship, self.color.as_deref());
                self.client_id = Some(client_id);
                self.room = Some(room);
                self.read_only = read_only;
                self.share = share;
                self.peers = peers
                    .into_iter()
                    .filter(|peer| peer.client_id != client_id)
                    .map(|peer| (peer.client_id, peer))
                    .collect();
                Event::Welcomed
            }
            ServerMsg::Saved { updates } => {
                let within = updates <= self.sent && updates >= self.saved;
                self.saved = self.saved.max(updates.min(self.sent));
                if !within {
                    return Err(SessionError::Saved {
                        updates,
                        sent: self.sent,
                    });
                }
                Event::Saved { updates }
            }
            ServerMsg::Presence(peer) => {
                if Some(peer.client_id) != self.client_id {
                    self.peers.insert(peer.client_id, peer.clone());
                }
                Event::Presence(peer)
            }
            ServerMsg::PeerLeft { client_id } => {
                self.peers.remove(&client_id);
                Event::PeerLeft(client_id)
            }
            ServerMsg::Pong => Event::Pong,
            ServerMsg::Authors(change) => {
                if self.authorship.merge(change) {
                    self.replica
                        .authorship_changed(&self.authorship, self.color.as_deref());
                }
                Event::Authors
            }
            ServerMsg::AccessChanged {
                read_only,
                share,
                reason,
            } => {
                if self.read_only && !read_only {
                    // No step 2 of ours went out as a reader: the server's
                    // next step 1 is answered with one, which carries every
                    // edit the replica holds.
                    self.live = false;
                }
                self.read_only = read_only;
                self.share = share;
                Event::AccessChanged { read_only, reason }
            }
            ServerMsg::Error { code, reason } => {
                if code == ErrorCode::ReadOnly {
                    // The server did not take that update: it lives only
                    // here until a step 2 of ours is acknowledged.
                    self.unsent = true;
                }
                Event::Refused { code, reason }
            }
        };
        Ok(Reaction::quiet(event))
    }

    /// Takes a binary frame from the server.
    pub fn receive_binary(
        &mut self,
        bytes: &[u8],
    ) -> Result<Reaction<R::Applied>, SessionError<R::Error>> {
        let frame = SyncFrame::decode(bytes).map_err(SessionError::BadFrame)?;
        self.receive_sync(frame)
    }

    /// Takes a decoded sync frame from the server (for hosts that decoded it
    /// already, e.g. to show it).
    pub fn receive_sync(
        &mut self,
        frame: SyncFrame,
    ) -> Result<Reaction<R::Applied>, SessionError<R::Error>> {
        match frame {
            SyncFrame::Step1(theirs) => {
                if self.read_only {
                    return Ok(Reaction::quiet(Event::Answered));
                }
                let step2 = SyncFrame::Step2(self.replica.diff_since(&theirs));
                self.sent += 1;
                self.live = true;
                // The step 2 carries every local edit so far.
                self.unsent = false;
                Ok(Reaction {
                    reply: Some(Outgoing::Sync(step2)),
                    event: Event::Answered,
                })
            }
            SyncFrame::Step2(update) => {
                let applied = self
                    .replica
                    .apply_remote(&update)
                    .map_err(SessionError::Update)?;
                if !self.synced {
                    self.synced = true;
                    self.syncs += 1;
                }
                Ok(Reaction::quiet(Event::Applied {
                    first_sync: true,
                    applied,
                }))
            }
            SyncFrame::Update(update) => {
                let applied = self
                    .replica
                    .apply_remote(&update)
                    .map_err(SessionError::Update)?;
                Ok(Reaction::quiet(Event::Applied {
                    first_sync: false,
                    applied,
                }))
            }
        }
    }

    /// This connection's id, once welcomed (the last one's after it closed).
    pub fn client_id(&self) -> Option<ClientId> {
        self.client_id
    }

    /// The room the server confirmed.
    pub fn room(&self) -> Option<&RoomId> {
        self.room.as_ref()
    }

    /// Whether the server made this connection view-only.
    pub fn read_only(&self) -> bool {
        self.read_only
    }

    /// The share keys the welcome carried, if any.
    pub fn share(&self) -> Option<&ShareKeys> {
        self.share.as_ref()
    }

    /// Whether the server's step 2 arrived on this connection.
    pub fn synced(&self) -> bool {
        self.synced
    }

    /// Whether our step 2 went out on this connection (local edits are sent live).
    pub fn live(&self) -> bool {
        self.live
    }

    /// How many connections completed their first sync.
    pub fn syncs(&self) -> u32 {
        self.syncs
    }

    /// Step 2 and update frames sent on this connection.
    pub fn sent(&self) -> u64 {
        self.sent
    }

    /// How many of them the server reported durable.
    pub fn saved(&self) -> u64 {
        self.saved
    }

    /// Whether everything sent on this connection is durable.
    pub fn all_saved(&self) -> bool {
        self.saved == self.sent
    }

    /// Everyone else in the room, as the server reported them.
    pub fn peers(&self) -> &BTreeMap<ClientId, PeerPresence> {
        &self.peers
    }

    /// Whether this client's edits are durable, on their way, or only here:
    /// edits no connection can send (none is open, or it may only read)
    /// are only here.
    pub fn save_state(&self) -> SaveState {
        if self.unsent && (!self.open || self.read_only) {
            SaveState::Unsaved
        } else if self.unsent || self.saved < self.sent {
            SaveState::Saving
        } else {
            SaveState::Saved
        }
    }
}

#[cfg(test)]
mod tests {
    use yrs::{Doc, GetString, Text, Transact};

    use super::*;
    use crate::doc::{CONTENT, new_doc};

    fn session() -> ClientSession<Doc> {
        ClientSession::new(new_doc(), false)
    }

    fn welcome(read_only: bool) -> String {
        ServerMsg::Welcome {
            protocol: PROTOCOL_VERSION,
            client_id: ClientId(7),
            room: RoomId::new("quiet-otter").expect("valid"),
            read_only,
            peers: vec![peer(3, "Ada")],
            share: None,
            authors: Authorship::default(),
            color: Some("#2f8636".into()),
        }
        .to_json()
    }

    fn peer(id: u64, name: &str) -> PeerPresence {
        PeerPresence {
            client_id: ClientId(id),
            name: name.into(),
            color: "#e06c75".into(),
            cursor: None,
        }
    }

    fn type_into(doc: &Doc, at: u32, chunk: &str) -> Vec<u8> {
        let text = doc.get_or_insert_text(CONTENT);
        let mut txn = doc.transact_mut();
        text.insert(&mut txn, at, chunk);
        txn.encode_update_v1()
    }

    fn content(doc: &Doc) -> String {
        doc.get_or_insert_text(CONTENT).get_string(&doc.transact())
    }

    fn binary(out: Option<Outgoing>) -> Vec<u8> {
        match out.map(|o| o.to_wire()) {
            Some(WireFrame::Binary(bytes)) => bytes,
            other => panic!("expected a binary frame, got {other:?}"),
        }
    }

    /// The server's side of a handshake: its step 1 and step 2 for `client`.
    fn server_frames(server: &Doc, client: &ClientSession<Doc>) -> (Vec<u8>, Vec<u8>) {
        let step1 = SyncFrame::Step1(server.transact().state_vector()).encode();
        let step2 = SyncFrame::Step2(
            server
                .transact()
                .encode_diff_v1(&client.replica().state_vector()),
        )
        .encode();
        (step1, step2)
    }

    #[test]
    fn every_connection_starts_with_a_hello_carrying_the_key() {
        let mut keyless = session();
        assert_eq!(
            keyless.open().to_wire(),
            WireFrame::Text(r#"{"type":"hello","key":null}"#.into())
        );
        let mut s = session().with_key(Some("e.abc".into()));
        for _ in 0..2 {
            assert_eq!(
                s.open(),
                Outgoing::Control(ClientMsg::Hello {
                    key: Some("e.abc".into()),
                    author: None,
                    color: None,
                }),
                "on every (re)connect"
            );
            s.closed();
        }
    }

    #[test]
    fn the_welcome_sets_identity_rights_and_peers() {
        let mut s = session();
        let _ = s.open();
        let reaction = s.receive_text(&welcome(false)).expect("welcome");
        assert_eq!(reaction, Reaction::quiet(Event::Welcomed));
        assert_eq!(s.client_id(), Some(ClientId(7)));
        assert_eq!(s.room().map(RoomId::as_str), Some("quiet-otter"));
        assert!(!s.read_only());
        assert_eq!(s.peers().len(), 1);
    }

    #[test]
    fn another_protocol_version_is_refused() {
        let mut s = session();
        let json = welcome(false).replace("\"protocol\":1", "\"protocol\":2");
        assert_eq!(
            s.receive_text(&json),
            Err(SessionError::Protocol { server: 2 })
        );
        assert_eq!(s.client_id(), None);
    }

    #[test]
    fn the_handshake_exchanges_what_each_side_misses() {
        let server = new_doc();
        type_into(&server, 0, "from the server");
        let mut s = session();
        type_into(s.replica(), 0, "offline ");
        let _ = s.open();
        s.receive_text(&welcome(false)).expect("welcome");
        let (step1, step2) = server_frames(&server, &s);

        let answered = s.receive_binary(&step1).expect("step 1");
        assert_eq!(answered.event, Event::Answered);
        let Ok(SyncFrame::Step2(diff)) = SyncFrame::decode(&binary(answered.reply)) else {
            panic!("the answer to a step 1 is a step 2");
        };
        server
            .apply_remote(&diff)
            .expect("the server takes our step 2");
        assert!((s.live(), s.sent()) == (true, 1), "a step 2 is counted");
        assert!(!s.synced());

        let applied = s.receive_binary(&step2).expect("step 2");
        assert_eq!(
            applied.event,
            Event::Applied {
                first_sync: true,
                applied: ()
            }
        );
        assert!(s.synced());
        assert_eq!(s.syncs(), 1);
        assert_eq!(content(s.replica()), content(&server));
    }

    #[test]
    fn updates_wait_for_our_step_2_then_go_live() {
        let server = new_doc();
        let mut s = session();
        let _ = s.open();
        s.receive_text(&welcome(false)).expect("welcome");
        let early = type_into(s.replica(), 0, "a");
        assert_eq!(s.local_update(early), None, "not live yet");
        assert_eq!(s.save_state(), SaveState::Saving);
        let (step1, _) = server_frames(&server, &s);
        let reply = s.receive_binary(&step1).expect("step 1").reply;
        let Ok(SyncFrame::Step2(diff)) = SyncFrame::decode(&binary(reply)) else {
            panic!("step 2");
        };
        server.apply_remote(&diff).expect("applies");
        assert_eq!(content(&server), "a", "the step 2 carried the early edit");
        let late = type_into(s.replica(), 1, "b");
        let frame = binary(s.local_update(late.clone()));
        assert_eq!(SyncFrame::decode(&frame), Ok(SyncFrame::Update(late)));
        assert_eq!(s.sent(), 2);
    }

    #[test]
    fn a_view_only_connection_sends_no_step_2_and_no_updates() {
        let mut s = session();
        let _ = s.open();
        s.receive_text(&welcome(true)).expect("welcome");
        let (step1, _) = server_frames(&new_doc(), &s);
        let reaction = s.receive_binary(&step1).expect("step 1");
        assert_eq!(reaction, Reaction::quiet(Event::Answered));
        assert_eq!(s.local_update(vec![0, 0]), None);
        assert_eq!(s.sent(), 0);
        // A host that writes on purpose still gets a counted frame.
        assert!(matches!(
            s.update_frame(vec![0, 0]),
            Outgoing::Sync(SyncFrame::Update(_))
        ));
        assert_eq!(s.sent(), 1);
    }

    #[test]
    fn saved_counts_only_what_was_sent_and_never_goes_back() {
        let mut s = session();
        let _ = s.open();
        s.receive_text(&welcome(false)).expect("welcome");
        let (step1, _) = server_frames(&new_doc(), &s);
        s.receive_binary(&step1).expect("step 1");
        s.local_update(vec![0, 0]).expect("live");
        s.local_update(vec![0, 0]).expect("live");
        assert_eq!(s.save_state(), SaveState::Saving);
        let saved = |n: u64| ServerMsg::Saved { updates: n }.to_json();
        assert_eq!(
            s.receive_text(&saved(2)).map(|r| r.event),
            Ok(Event::Saved { updates: 2 })
        );
        assert_eq!(s.save_state(), SaveState::Saving);
        assert_eq!(
            s.receive_text(&saved(1)),
            Err(SessionError::Saved {
                updates: 1,
                sent: 3
            })
        );
        assert_eq!(s.saved(), 2, "a lower count changes nothing");
        assert_eq!(
            s.receive_text(&saved(9)),
            Err(SessionError::Saved {
                updates: 9,
                sent: 3
            })
        );
        assert_eq!(s.saved(), 3, "a count past what was sent is held to it");
        assert_eq!(s.save_state(), SaveState::Saved);
        assert!(s.all_saved());
    }

    #[test]
    fn offline_edits_are_unsaved_until_a_step_2_is_acknowledged() {
        let mut s = session();
        let edit = type_into(s.replica(), 0, "x");
        assert_eq!(s.local_update(edit), None);
        assert_eq!(s.save_state(), SaveState::Unsaved);
        let _ = s.open();
        assert_eq!(s.save_state(), SaveState::Saving);
        s.receive_text(&welcome(false)).expect("welcome");
        let (step1, _) = server_frames(&new_doc(), &s);
        s.receive_binary(&step1).expect("step 1");
        assert_eq!(s.save_state(), SaveState::Saving);
        s.receive_text(&ServerMsg::Saved { updates: 1 }.to_json())
            .expect("saved");
        assert_eq!(s.save_state(), SaveState::Saved);
    }

    #[test]
    fn unacknowledged_frames_become_unsaved_when_the_socket_drops() {
        let mut s = session();
        let _ = s.open();
        s.receive_text(&welcome(false)).expect("welcome");
        let (step1, _) = server_frames(&new_doc(), &s);
        s.receive_binary(&step1).expect("step 1");
        s.local_update(vec![0, 0]).expect("live");
        s.receive_text(&ServerMsg::Saved { updates: 1 }.to_json())
            .expect("saved");
        s.closed();
        assert_eq!(s.save_state(), SaveState::Unsaved);
        assert_eq!((s.sent(), s.saved(), s.live()), (0, 0, false));
        assert!(s.peers().is_empty(), "presence belongs to the connection");
        assert_eq!(s.client_id(), Some(ClientId(7)), "the last id is kept");

        // A clean drop (everything acknowledged) stays saved.
        let mut s = session();
        let _ = s.open();
        s.receive_text(&welcome(false)).expect("welcome");
        s.receive_binary(&step1).expect("step 1");
        s.receive_text(&ServerMsg::Saved { updates: 1 }.to_json())
            .expect("saved");
        s.closed();
        assert_eq!(s.save_state(), SaveState::Saved);
    }

    #[test]
    fn a_stored_unsaved_copy_starts_unsaved() {
        let s = ClientSession::new(new_doc(), true);
        assert_eq!(s.save_state(), SaveState::Unsaved);
    }

    #[test]
    fn presence_comes_and_goes_and_never_lists_ourselves() {
        let mut s = session();
        let _ = s.open();
        s.receive_text(&welcome(false)).expect("welcome");
        let bob = ServerMsg::Presence(peer(4, "Bob")).to_json();
        assert_eq!(
            s.receive_text(&bob).map(|r| r.event),
            Ok(Event::Presence(peer(4, "Bob")))
        );
        let me = ServerMsg::Presence(peer(7, "Me")).to_json();
        s.receive_text(&me).expect("own presence");
        let names: Vec<&str> = s.peers().values().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["Ada", "Bob"]);
        let left = ServerMsg::PeerLeft {
            client_id: ClientId(3),
        }
        .to_json();
        assert_eq!(
            s.receive_text(&left).map(|r| r.event),
            Ok(Event::PeerLeft(ClientId(3)))
        );
        assert_eq!(s.peers().len(), 1);
    }

    /// A replica that records what it is told of the authorship.
    struct Watching {
        doc: Doc,
        told: std::cell::RefCell<Vec<(usize, usize, Option<String>)>>,
    }

    impl Replica for Watching {
        type Applied = ();
        type Error = ApplyError;
        fn state_vector(&self) -> StateVector {
            self.doc.state_vector()
        }
        fn diff_since(&self, theirs: &StateVector) -> Vec<u8> {
            self.doc.diff_since(theirs)
        }
        fn apply_remote(&self, update: &[u8]) -> Result<(), ApplyError> {
            self.doc.apply_remote(update)
        }
        fn authorship_changed(&self, table: &Authorship, color: Option<&str>) {
            self.told.borrow_mut().push((
                table.authors.len(),
                table.claims.len(),
                color.map(str::to_owned),
            ));
        }
    }

    #[test]
    fn the_hello_presents_the_author_and_authorship_reaches_the_replica() {
        use crate::authors::{Author, AuthorId, AuthorKind, Claim};
        let replica = Watching {
            doc: new_doc(),
            told: Default::default(),
        };
        let mut s = ClientSession::new(replica, false)
            .with_author("secret-0123456789".into(), Some("#d23f4a".into()));
        assert_eq!(
            s.open().to_wire(),
            WireFrame::Text(
                r##"{"type":"hello","key":null,"author":"secret-0123456789","color":"#d23f4a"}"##
                    .into()
            )
        );
        s.receive_text(&welcome(false)).expect("welcome");
        assert_eq!(s.color(), Some("#2f8636"));
        let ada = AuthorId::new("pada").expect("id");
        let change = ServerMsg::Authors(Authorship {
            authors: vec![Author {
                id: ada.clone(),
                kind: AuthorKind::Person,
                name: "Ada".into(),
                color: "#1a7bb8".into(),
                restored: None,
            }],
            claims: vec![Claim {
                client: 5,
                clock: 0,
                author: ada,
            }],
        });
        assert_eq!(
            s.receive_text(&change.to_json()).map(|r| r.event),
            Ok(Event::Authors)
        );
        // The same change again tells the replica nothing new.
        s.receive_text(&change.to_json()).expect("authors");
        assert_eq!(s.authorship().claims.len(), 1);
        assert_eq!(
            *s.replica().told.borrow(),
            [
                (0, 0, Some("#2f8636".into())),
                (1, 1, Some("#2f8636".into()))
            ]
        );
        // A new welcome brings the whole table again.
        s.closed();
        let _ = s.open();
        s.receive_text(&welcome(false)).expect("welcome");
        assert!(s.authorship().is_empty());
    }

    #[test]
    fn pongs_errors_and_unknown_frames() {
        let mut s = session();
        assert_eq!(
            s.receive_text(&ServerMsg::Pong.to_json()).map(|r| r.event),
            Ok(Event::Pong)
        );
        let error = ServerMsg::Error {
            code: ErrorCode::BadPresence,
            reason: "name must be 1 to 48 characters".into(),
        };
        assert_eq!(
            s.receive_text(&error.to_json()).map(|r| r.event),
            Ok(Event::Refused {
                code: ErrorCode::BadPresence,
                reason: "name must be 1 to 48 characters".into()
            })
        );
        assert!(matches!(
            s.receive_text("{\"type\":\"hello\"}"),
            Err(SessionError::BadJson(_))
        ));
        assert_eq!(
            s.receive_binary(&[1, 0]),
            Err(SessionError::BadFrame(DecodeError::UnsupportedMessage(1)))
        );
    }

    /// The server's side of a rights change, as JSON.
    fn access_changed(read_only: bool) -> String {
        ServerMsg::AccessChanged {
            read_only,
            share: (!read_only).then(|| ShareKeys {
                edit: "e.abc".into(),
                view: "v.def".into(),
            }),
            reason: if read_only {
                "an editor made this link view-only".into()
            } else {
                "an editor let this link edit".into()
            },
        }
        .to_json()
    }

    fn read_only_error() -> String {
        ServerMsg::Error {
            code: ErrorCode::ReadOnly,
            reason: "this link is view-only now; the update was not applied".into(),
        }
        .to_json()
    }

    #[test]
    fn a_downgrade_stops_sending_and_keeps_the_edits_unsent() {
        let server = new_doc();
        let mut s = session();
        let _ = s.open();
        s.receive_text(&welcome(false)).expect("welcome");
        let (step1, _) = server_frames(&server, &s);
        s.receive_binary(&step1).expect("step 1");
        let before = type_into(s.replica(), 0, "kept");
        assert!(s.local_update(before).is_some(), "live");
        s.receive_text(&ServerMsg::Saved { updates: 2 }.to_json())
            .expect("saved");
        assert_eq!(s.save_state(), SaveState::Saved);
        // An edit in flight when the editor changed the link.
        let in_flight = type_into(s.replica(), 4, "!");
        assert!(s.local_update(in_flight).is_some());

        let reaction = s.receive_text(&access_changed(true)).expect("access");
        assert_eq!(
            reaction.event,
            Event::AccessChanged {
                read_only: true,
                reason: "an editor made this link view-only".into()
            }
        );
        assert!(s.read_only());
        assert_eq!(s.share(), None, "a reader hands out no keys");
        // The server refused the update in flight, and counts it as handled.
        let refused = s.receive_text(&read_only_error()).expect("error");
        assert!(matches!(
            refused.event,
            Event::Refused {
                code: ErrorCode::ReadOnly,
                ..
            }
        ));
        s.receive_text(&ServerMsg::Saved { updates: 3 }.to_json())
            .expect("saved");
        assert_eq!(
            s.save_state(),
            SaveState::Unsaved,
            "the refused edit is only in this browser"
        );
        // Later edits are not sent at all.
        let later = type_into(s.replica(), 5, "?");
        assert_eq!(s.local_update(later), None);
        assert_eq!(s.sent(), 3);
        assert_eq!(
            content(s.replica()),
            "kept!?",
            "the replica keeps every edit"
        );
        // Reconnecting as a reader does not send them either.
        s.closed();
        let _ = s.open();
        s.receive_text(&welcome(true)).expect("welcome");
        let (step1, _) = server_frames(&server, &s);
        assert_eq!(s.receive_binary(&step1).expect("step 1").reply, None);
        assert_eq!(s.save_state(), SaveState::Unsaved);
    }

    #[test]
    fn an_upgrade_answers_the_next_step_1_with_every_unsent_edit() {
        let server = new_doc();
        let mut s = session();
        let _ = s.open();
        s.receive_text(&welcome(true)).expect("welcome");
        let (step1, _) = server_frames(&server, &s);
        assert_eq!(s.receive_binary(&step1).expect("step 1").reply, None);
        // A reader's local copy may hold edits from an earlier visit.
        let earlier = type_into(s.replica(), 0, "draft");
        assert_eq!(s.local_update(earlier), None);
        assert_eq!(s.save_state(), SaveState::Unsaved);

        let reaction = s.receive_text(&access_changed(false)).expect("access");
        assert!(matches!(
            reaction.event,
            Event::AccessChanged {
                read_only: false,
                ..
            }
        ));
        assert!(!s.read_only() && !s.live());
        assert!(s.share().is_some());
        // The server follows the change with a step 1.
        let (step1, _) = server_frames(&server, &s);
        let reply = s.receive_binary(&step1).expect("step 1").reply;
        let Ok(SyncFrame::Step2(diff)) = SyncFrame::decode(&binary(reply)) else {
            panic!("an editor answers a step 1 with a step 2");
        };
        server.apply_remote(&diff).expect("applies");
        assert_eq!(content(&server), "draft");
        assert!(s.live());
        s.receive_text(&ServerMsg::Saved { updates: 1 }.to_json())
            .expect("saved");
        assert_eq!(s.save_state(), SaveState::Saved);
    }

    #[test]
    fn an_update_the_replica_refuses_is_an_error() {
        let mut s = session();
        let garbage = SyncFrame::Update(vec![0xff, 0xff, 0xff]).encode();
        assert!(matches!(
            s.receive_binary(&garbage),
            Err(SessionError::Update(_))
        ));
    }

    #[test]
    fn control_frames_are_the_protocol_json() {
        let s = session();
        assert_eq!(
            s.ping().to_wire(),
            WireFrame::Text("{\"type\":\"ping\"}".into())
        );
        let presence = Presence {
            name: "Ada".into(),
            color: "#e06c75".into(),
            cursor: None,
        };
        assert_eq!(
            s.presence(presence.clone()).to_wire(),
            WireFrame::Text(ClientMsg::Presence(presence).to_json())
        );
        assert_eq!(
            s.step1().to_wire(),
            WireFrame::Binary(vec![0, 0, 1, 0]),
            "an empty replica's step 1 is what stock Yjs clients send"
        );
    }
}
