//! [`Client`]: a native Tandem client for tests, the same protocol as the
//! browser app because it drives the same [`ClientSession`]; this file only
//! moves frames between the session and a tokio-tungstenite socket. Like
//! every Tandem client it says `hello` first, with the share key if it has
//! one ([`Client::connect_with_key`]); the socket's URL never carries it.
//!
//! Tests also make it misbehave on purpose: write before syncing or on a
//! view-only link ([`Client::send_update`] always sends, counted for
//! `saved`), send raw frames, stop reading. It fails the test on anything
//! the server must never send: a frame that does not decode or apply, a
//! `saved` count outside what was sent, a close code outside the table.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use tandem_shared::close::{Close, CloseCode};
use tandem_shared::doc::{CONTENT, new_doc};
use tandem_shared::session::{Event, Outgoing, Reaction, SessionError};
use tandem_shared::{ClientId, ClientSession, PeerPresence, Presence, ServerMsg, ShareKeys};
use tokio_tungstenite::tungstenite::Message;
use yrs::{Doc, GetString as _, Text as _, TextRef, Transact as _};

use crate::socket::{self, Socket, close_of, message};
use crate::{DEADLINE, edit};

/// One connection and its replica of the room's document.
#[derive(Debug)]
pub struct Client {
    /// The WebSocket.
    socket: Socket,
    /// The protocol: the replica, what the welcome said, frames sent and
    /// saved, everyone else's presence.
    session: ClientSession<Doc>,
    /// The document's body, for edits and reads.
    pub text: TextRef,
    /// `error` messages received, as the server sent them.
    pub errors: Vec<ServerMsg>,
    /// Pongs received.
    pub pongs: u64,
    /// Update frames received (the server's step 2 not counted): what the
    /// room relayed, to see that nothing of our own comes back.
    pub updates_received: u64,
    /// The server's step 2 frames received (the answers to our step 1).
    pub steps2_received: u64,
    /// The close the server sent, once it did.
    pub closed: Option<Close>,
    /// Whether the stream ended.
    pub ended: bool,
    /// The error that ended the stream, if one did.
    pub error: Option<String>,
    /// Whether a send failed (the server may still have sent a close).
    pub send_failed: bool,
}

impl Client {
    /// Connects and completes the sync handshake.
    pub async fn connect(url: &str) -> Self {
        Self::welcomed(url, new_doc(), None).await.sync().await
    }

    /// Connects with the share-link `key` in its hello, and completes the
    /// sync handshake.
    pub async fn connect_with_key(url: &str, key: &str) -> Self {
        Self::welcomed(url, new_doc(), Some(key)).await.sync().await
    }

    /// Connects as the browser whose author secret is `secret` (see
    /// `tandem_shared::authors`), with the share-link `key` if given, and
    /// completes the sync handshake.
    pub async fn connect_as(url: &str, key: Option<&str>, secret: &str) -> Self {
        Self::connect_as_with(url, key, secret, new_doc()).await
    }

    /// [`Client::connect_as`], with `doc` as the starting replica (for
    /// a chosen yrs client id, or edits made offline).
    pub async fn connect_as_with(url: &str, key: Option<&str>, secret: &str, doc: Doc) -> Self {
        let mut client = Self::open_with(url, doc, key, Some(secret))
            .await
            .expect("connect");
        client.welcome().await;
        client.sync().await
    }

    /// Connects with `doc` as the starting replica (e.g. offline edits).
    pub async fn connect_with(url: &str, doc: Doc) -> Self {
        Self::welcomed(url, doc, None).await.sync().await
    }

    /// Connects and reads the welcome, without syncing.
    pub async fn connect_unsynced(url: &str) -> Self {
        Self::welcomed(url, new_doc(), None).await
    }

    /// Like [`Client::connect`], but `None` if the server goes away before
    /// the handshake completes (for tests that kill servers).
    pub async fn try_connect(url: &str) -> Option<Self> {
        let mut client = Self::open(url, new_doc(), None).await.ok()?;
        let Ok(Some(Ok(Message::Text(welcome)))) =
            tokio::time::timeout(DEADLINE, client.socket.next()).await
        else {
            return None;
        };
        client.session.receive_text(&welcome).ok()?;
        client.send_frame(&client.session.step1()).await;
        while !client.synced() {
            if !client.step(DEADLINE).await {
                return None;
            }
        }
        Some(client)
    }

    /// Opens the socket and says hello (without a key), nothing else: for
    /// connections the server refuses when it admits them. `None` if the
    /// upgrade itself fails.
    pub async fn upgrade_only(url: &str) -> Option<Self> {
        Self::open(url, new_doc(), None).await.ok()
    }

    /// Like [`Client::upgrade_only`], with the share-link `key` in the hello.
    pub async fn upgrade_only_with_key(url: &str, key: &str) -> Option<Self> {
        Self::open(url, new_doc(), Some(key)).await.ok()
    }

    /// Opens the socket and sends the hello, with `key` if given: the first
    /// frame of every connection.
    async fn open(
        url: &str,
        doc: Doc,
        key: Option<&str>,
    ) -> Result<Self, tokio_tungstenite::tungstenite::Error> {
        Self::open_with(url, doc, key, None).await
    }

    /// [`Client::open`], presenting the author `secret` if given.
    async fn open_with(
        url: &str,
        doc: Doc,
        key: Option<&str>,
        secret: Option<&str>,
    ) -> Result<Self, tokio_tungstenite::tungstenite::Error> {
        let socket = socket::open(url).await?;
        let text = doc.get_or_insert_text(CONTENT);
        let mut session = ClientSession::new(doc, false).with_key(key.map(str::to_owned));
        if let Some(secret) = secret {
            session = session.with_author(secret.to_owned(), None);
        }
        let hello = session.open();
        let mut client = Self {
            socket,
            session,
            text,
            errors: Vec::new(),
            pongs: 0,
            updates_received: 0,
            steps2_received: 0,
            closed: None,
            ended: false,
            error: None,
            send_failed: false,
        };
        client.send_frame(&hello).await;
        Ok(client)
    }

    /// Opens the socket, says hello and takes the welcome, which must come first.
    async fn welcomed(url: &str, doc: Doc, key: Option<&str>) -> Self {
        let mut client = Self::open(url, doc, key).await.expect("connect");
        client.welcome().await;
        client
    }

    /// Takes the welcome, which must be the first frame.
    async fn welcome(&mut self) {
        let client = self;
        let first = tokio::time::timeout(DEADLINE, client.socket.next())
            .await
            .expect("welcome within the deadline")
            .expect("stream open")
            .expect("frame");
        let Message::Text(text) = first else {
            panic!("first frame is text, got {first:?}")
        };
        match client.session.receive_text(&text) {
            Ok(Reaction {
                event: Event::Welcomed,
                ..
            }) => {}
            other => panic!("first frame is a welcome, got {text} ({other:?})"),
        }
    }

    /// Sends our step 1 and handles frames until the server's step 2 arrived.
    async fn sync(mut self) -> Self {
        self.send_frame(&self.session.step1()).await;
        self.pump_until("initial sync", Self::synced).await;
        self
    }

    /// Who wrote what, as the server said (welcome, then `authors`).
    pub fn authorship(&self) -> &tandem_shared::authors::Authorship {
        self.session.authorship()
    }

    /// The colour the room gave this connection.
    pub fn color(&self) -> Option<&str> {
        self.session.color()
    }

    /// The replica.
    pub fn doc(&self) -> &Doc {
        self.session.replica()
    }

    /// This connection's id, from its welcome.
    pub fn client_id(&self) -> ClientId {
        self.session
            .client_id()
            .expect("the client id comes with the welcome")
    }

    /// Whether the server made this connection view-only.
    pub fn read_only(&self) -> bool {
        self.session.read_only()
    }

    /// The share keys the welcome carried, if any.
    pub fn share(&self) -> Option<&ShareKeys> {
        self.session.share()
    }

    /// Step-2 and update frames sent on this connection.
    pub fn sent(&self) -> u64 {
        self.session.sent()
    }

    /// The last `saved` count received.
    pub fn saved(&self) -> u64 {
        self.session.saved()
    }

    /// Whether the server's step 2 arrived.
    pub fn synced(&self) -> bool {
        self.session.synced()
    }

    /// Everyone else's presence, as the server reported it.
    pub fn peers(&self) -> &BTreeMap<ClientId, PeerPresence> {
        self.session.peers()
    }

    /// Tells the room who we are.
    pub async fn send_presence(&mut self, presence: Presence) {
        self.send_frame(&self.session.presence(presence)).await;
    }

    /// Drops the TCP connection without a close frame, as a crashed tab would.
    pub fn drop_abruptly(self) {
        drop(self.socket);
    }

    /// The document's text.
    pub fn content(&self) -> String {
        self.text.get_string(&self.doc().transact())
    }

    /// Length in the doc's offset unit (UTF-16).
    pub fn len(&self) -> u32 {
        self.text.len(&self.doc().transact())
    }

    /// Whether the document is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Inserts locally and sends the update.
    pub async fn insert(&mut self, index: u32, chunk: &str) {
        let update = edit::insert(self.doc(), &self.text, index, chunk);
        self.send_update(update).await;
    }

    /// Deletes locally and sends the update.
    pub async fn delete(&mut self, index: u32, len: u32) {
        let update = edit::delete(self.doc(), &self.text, index, len);
        self.send_update(update).await;
    }

    /// Sends `update` as an update frame, counted for `saved`, whatever the
    /// connection's state (tests write before syncing or on view-only links
    /// on purpose).
    pub async fn send_update(&mut self, update: Vec<u8>) {
        let frame = self.session.update_frame(update);
        self.send_frame(&frame).await;
    }

    /// Sends an app-level ping.
    pub async fn ping(&mut self) {
        self.send_frame(&self.session.ping()).await;
    }

    async fn send_frame(&mut self, frame: &Outgoing) {
        self.send_raw(message(frame)).await;
    }

    /// Sends any frame as is. After a failed send nothing more is sent;
    /// whatever waits for an answer then fails with the connection's end.
    pub async fn send_raw(&mut self, message: Message) {
        if !self.ended && !self.send_failed {
            self.send_failed = self.socket.send(message).await.is_err();
        }
    }

    /// Reads one frame (with a deadline) and handles it; `false` once the stream ended.
    pub async fn step(&mut self, timeout: Duration) -> bool {
        if self.ended {
            return false;
        }
        let next = match tokio::time::timeout(timeout, self.socket.next()).await {
            Ok(next) => next,
            Err(_) => return true,
        };
        match next {
            None => {
                self.ended = true;
                false
            }
            Some(Err(err)) => {
                self.ended = true;
                self.error = Some(err.to_string());
                false
            }
            Some(Ok(message)) => {
                self.handle(message).await;
                true
            }
        }
    }

    async fn handle(&mut self, message: Message) {
        match message {
            Message::Text(text) => match self.session.receive_text(&text) {
                Ok(reaction) => match reaction.event {
                    Event::Pong => self.pongs += 1,
                    Event::Refused { code, reason } => {
                        self.errors.push(ServerMsg::Error { code, reason });
                    }
                    Event::Welcomed => panic!("unexpected second welcome: {text}"),
                    _ => {}
                },
                Err(SessionError::Saved { updates, sent }) => {
                    panic!("saved {updates} goes back or is more than the {sent} frames sent")
                }
                Err(err) => panic!("server sent a text frame the session refuses: {err}: {text}"),
            },
            Message::Binary(bytes) => match self.session.receive_binary(&bytes) {
                Ok(reaction) => {
                    match reaction.event {
                        Event::Applied {
                            first_sync: false, ..
                        } => self.updates_received += 1,
                        Event::Applied {
                            first_sync: true, ..
                        } => self.steps2_received += 1,
                        _ => {}
                    }
                    if let Some(reply) = reaction.reply {
                        self.send_frame(&reply).await;
                    }
                }
                Err(err) => panic!("server frames decode and apply: {err}"),
            },
            Message::Close(frame) => self.closed = Some(close_of(frame.as_ref())),
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
        }
    }

    /// Handles frames until `condition` holds; panics after the deadline.
    pub async fn pump_until(&mut self, what: &str, condition: impl Fn(&Self) -> bool) {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        while !condition(self) {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            assert!(!left.is_zero(), "timed out waiting for: {what}");
            if !self.step(left.min(Duration::from_millis(200))).await && !condition(self) {
                panic!(
                    "connection ended while waiting for: {what} (close: {:?})",
                    self.closed
                );
            }
        }
    }

    /// A round trip through the room: sends a sync step 1 and handles frames
    /// until the room's answer (a step 2) arrives. The room handles a
    /// connection's frames in order and answers in order, so afterwards the
    /// room has handled everything this connection sent before, and this
    /// connection has read everything the room sent it before its answer:
    /// the point after which "nothing else happened" means something.
    pub async fn round_trip(&mut self) {
        let answers = self.steps2_received;
        self.send_frame(&self.session.step1()).await;
        self.pump_until("the room's answer to a sync step 1", |c| {
            c.steps2_received > answers
        })
        .await;
    }

    /// Handles whatever frames are already waiting, without blocking long.
    pub async fn drain(&mut self) {
        while !self.ended {
            match tokio::time::timeout(Duration::from_millis(1), self.socket.next()).await {
                Ok(Some(Ok(message))) => self.handle(message).await,
                Ok(_) => self.ended = true,
                Err(_) => break,
            }
        }
    }

    /// Waits until every frame sent is acknowledged as durable.
    pub async fn wait_saved(&mut self) {
        self.pump_until("all updates saved", |c| c.session.all_saved())
            .await;
    }

    /// Waits for the server to close the connection; returns code and reason.
    pub async fn expect_close(&mut self) -> (CloseCode, String) {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        while self.closed.is_none() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for a close"
            );
            if !self.step(Duration::from_millis(200)).await && self.closed.is_none() {
                panic!("stream ended without a close frame ({:?})", self.error);
            }
        }
        let close = self.closed.clone().expect("close frame");
        (close.code, close.reason)
    }

    /// Closes normally.
    pub async fn close(mut self) {
        let _ = self.socket.close(None).await;
        socket::read_to_end(&mut self.socket, DEADLINE).await;
    }
}
