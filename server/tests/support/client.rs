//! A native Tandem client for tests: the same protocol as the browser app
//! (welcome, state-vector exchange, updates, `saved`), on tokio-tungstenite.

use std::collections::HashMap;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tandem_shared::{
    ClientId, ClientMsg, PeerPresence, Presence, SUBPROTOCOL, ServerMsg, ShareKeys, SyncFrame,
};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use yrs::updates::decoder::Decode;
use yrs::{Doc, GetString, ReadTxn, Text, TextRef, Transact, Update};

use super::DEADLINE;

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Opens a WebSocket to `url`, asking for `tandem.v1`.
pub async fn open(url: &str) -> Result<Socket, tokio_tungstenite::tungstenite::Error> {
    open_with_headers(url, &[]).await
}

/// Opens a WebSocket to `url` with extra request headers (e.g. `Origin`).
pub async fn open_with_headers(
    url: &str,
    headers: &[(&'static str, &str)],
) -> Result<Socket, tokio_tungstenite::tungstenite::Error> {
    let mut request = url.into_client_request()?;
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static(SUBPROTOCOL),
    );
    for (name, value) in headers {
        let value = HeaderValue::from_str(value).expect("header value");
        request.headers_mut().insert(*name, value);
    }
    let (socket, response) = tokio_tungstenite::connect_async(request).await?;
    assert_eq!(
        response
            .headers()
            .get("Sec-WebSocket-Protocol")
            .map(|v| v.as_bytes()),
        Some(SUBPROTOCOL.as_bytes()),
        "server echoes the subprotocol"
    );
    Ok(socket)
}

/// One connection and its replica of the room's document.
pub struct Client {
    socket: Socket,
    pub doc: Doc,
    pub text: TextRef,
    /// From the welcome.
    pub client_id: ClientId,
    pub read_only: bool,
    /// The share keys the welcome carried, if any.
    pub share: Option<ShareKeys>,
    /// Step-2 and update frames sent on this connection.
    pub sent: u64,
    /// The last `saved` count received.
    pub saved: u64,
    /// Whether the server's step 2 arrived.
    pub synced: bool,
    /// `error` messages received.
    pub errors: Vec<ServerMsg>,
    /// Pongs received.
    pub pongs: u64,
    /// Everyone else's presence, as the server reported it.
    pub peers: HashMap<ClientId, PeerPresence>,
    /// The close frame, once the server closed.
    pub closed: Option<CloseFrame>,
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
        let client = Self::connect_unsynced(url).await;
        client.synced().await
    }

    /// Connects with `doc` as the starting replica (e.g. offline edits).
    pub async fn connect_with(url: &str, doc: Doc) -> Self {
        let mut client = Self::connect_unsynced(url).await;
        client.text = doc.get_or_insert_text(tandem_shared::doc::CONTENT);
        client.doc = doc;
        client.synced().await
    }

    async fn synced(mut self) -> Self {
        let step1 = SyncFrame::Step1(self.doc.transact().state_vector()).encode();
        self.send_raw(Message::Binary(step1.into())).await;
        self.pump_until("initial sync", |c| c.synced).await;
        self
    }

    /// Like [`Client::connect`], but `None` if the server goes away before
    /// the handshake completes (for tests that kill servers).
    pub async fn try_connect(url: &str) -> Option<Self> {
        let mut socket = open(url).await.ok()?;
        let Ok(Some(Ok(Message::Text(_)))) = tokio::time::timeout(DEADLINE, socket.next()).await
        else {
            return None;
        };
        let doc = tandem_shared::doc::new_doc();
        let text = doc.get_or_insert_text(tandem_shared::doc::CONTENT);
        let mut client = Self::new(socket, doc, text, ClientId(0), false);
        let step1 = SyncFrame::Step1(client.doc.transact().state_vector()).encode();
        client.send_raw(Message::Binary(step1.into())).await;
        while !client.synced {
            if !client.step(DEADLINE).await {
                return None;
            }
        }
        Some(client)
    }

    fn new(socket: Socket, doc: Doc, text: TextRef, client_id: ClientId, read_only: bool) -> Self {
        Self {
            socket,
            doc,
            text,
            client_id,
            read_only,
            sent: 0,
            saved: 0,
            synced: false,
            errors: Vec::new(),
            pongs: 0,
            peers: HashMap::new(),
            share: None,
            closed: None,
            ended: false,
            send_failed: false,
            error: None,
        }
    }

    /// Opens the socket and nothing else: for connections the server refuses
    /// right after the upgrade. `None` if the upgrade itself fails.
    pub async fn upgrade_only(url: &str) -> Option<Self> {
        let socket = open(url).await.ok()?;
        let doc = tandem_shared::doc::new_doc();
        let text = doc.get_or_insert_text(tandem_shared::doc::CONTENT);
        Some(Self::new(socket, doc, text, ClientId(0), false))
    }

    /// Connects and reads the welcome, without syncing.
    pub async fn connect_unsynced(url: &str) -> Self {
        let mut socket = open(url).await.expect("connect");
        let first = tokio::time::timeout(DEADLINE, socket.next())
            .await
            .expect("welcome within the deadline")
            .expect("stream open")
            .expect("frame");
        let Message::Text(text) = first else {
            panic!("first frame is text, got {first:?}")
        };
        let Ok(ServerMsg::Welcome {
            client_id,
            read_only,
            peers,
            share,
            ..
        }) = serde_json::from_str(&text)
        else {
            panic!("first frame is a welcome, got {text}")
        };
        let doc = tandem_shared::doc::new_doc();
        let text = doc.get_or_insert_text(tandem_shared::doc::CONTENT);
        let mut client = Self::new(socket, doc, text, client_id, read_only);
        client.peers = peers.into_iter().map(|p| (p.client_id, p)).collect();
        client.share = share;
        client
    }

    /// Tells the room who we are.
    pub async fn send_presence(&mut self, presence: Presence) {
        let json = ClientMsg::Presence(presence).to_json();
        self.send_raw(Message::Text(json.into())).await;
    }

    /// Drops the TCP connection without a close frame, as a crashed tab would.
    pub fn drop_abruptly(self) {
        drop(self.socket);
    }

    /// The document's text.
    pub fn content(&self) -> String {
        self.text.get_string(&self.doc.transact())
    }

    /// Length in the doc's offset unit (UTF-16).
    pub fn len(&self) -> u32 {
        self.text.len(&self.doc.transact())
    }

    /// Inserts locally and sends the update.
    pub async fn insert(&mut self, index: u32, chunk: &str) {
        let update = {
            let mut txn = self.doc.transact_mut();
            self.text.insert(&mut txn, index, chunk);
            txn.encode_update_v1()
        };
        self.send_update(update).await;
    }

    /// Deletes locally and sends the update.
    pub async fn delete(&mut self, index: u32, len: u32) {
        let update = {
            let mut txn = self.doc.transact_mut();
            self.text.remove_range(&mut txn, index, len);
            txn.encode_update_v1()
        };
        self.send_update(update).await;
    }

    /// Sends `update` as an update frame, counted for `saved`.
    pub async fn send_update(&mut self, update: Vec<u8>) {
        self.sent += 1;
        self.send_raw(Message::Binary(SyncFrame::Update(update).encode().into()))
            .await;
    }

    /// Sends an app-level ping.
    pub async fn ping(&mut self) {
        self.send_raw(Message::Text(ClientMsg::Ping.to_json().into()))
            .await;
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
            Message::Text(text) => match serde_json::from_str::<ServerMsg>(&text) {
                Ok(ServerMsg::Saved { updates }) => {
                    assert!(updates >= self.saved, "saved never goes back");
                    assert!(updates <= self.sent, "saved {updates} > sent {}", self.sent);
                    self.saved = updates;
                }
                Ok(ServerMsg::Pong) => self.pongs += 1,
                Ok(ServerMsg::Presence(peer)) => {
                    self.peers.insert(peer.client_id, peer);
                }
                Ok(ServerMsg::PeerLeft { client_id }) => {
                    self.peers.remove(&client_id);
                }
                Ok(msg @ ServerMsg::Error { .. }) => self.errors.push(msg),
                Ok(other) => panic!("unexpected {other:?}"),
                Err(err) => {
                    panic!("server sent a text frame that is not a ServerMsg: {err}: {text}")
                }
            },
            Message::Binary(bytes) => {
                match SyncFrame::decode(&bytes).expect("server frames decode") {
                    SyncFrame::Step1(sv) => {
                        let diff = self.doc.transact().encode_diff_v1(&sv);
                        self.sent += 1;
                        self.send_raw(Message::Binary(SyncFrame::Step2(diff).encode().into()))
                            .await;
                    }
                    SyncFrame::Step2(update) => {
                        self.apply(&update);
                        self.synced = true;
                    }
                    SyncFrame::Update(update) => self.apply(&update),
                }
            }
            Message::Close(frame) => {
                self.closed = Some(frame.unwrap_or(CloseFrame {
                    code: 1005.into(),
                    reason: "".into(),
                }))
            }
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
        }
    }

    fn apply(&mut self, update: &[u8]) {
        let update = Update::decode_v1(update).expect("server updates decode");
        self.doc
            .transact_mut()
            .apply_update(update)
            .expect("server updates apply");
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

    /// Waits until every update sent is acknowledged as durable.
    pub async fn wait_saved(&mut self) {
        self.pump_until("all updates saved", |c| c.saved == c.sent)
            .await;
    }

    /// Waits for the server to close the connection; returns code and reason.
    pub async fn expect_close(&mut self) -> (u16, String) {
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
        let frame = self.closed.clone().expect("close frame");
        (u16::from(frame.code), frame.reason.to_string())
    }

    /// Closes normally.
    pub async fn close(mut self) {
        let _ = self.socket.close(None).await;
        while let Ok(Some(Ok(_))) = tokio::time::timeout(DEADLINE, self.socket.next()).await {}
    }
}
