//! [`NativePeer`]: a Tandem client in the test process — `tandem.v1` over
//! tokio-tungstenite with a yrs replica — for tests where a non-browser
//! Tandem client edits next to the page and stock Yjs clients.
//!
//! Like the web client, it announces itself with a presence message,
//! catches up through the state-vector exchange, and reconnects by itself
//! when the server goes away; edits made while disconnected reach the
//! server through the next exchange.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use tandem_shared::{ClientId, ClientMsg, Presence, SUBPROTOCOL, ServerMsg, SyncFrame};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use yrs::updates::decoder::Decode as _;
use yrs::{Doc, GetString as _, ReadTxn as _, Text as _, Transact as _, Update};

use crate::wait::try_poll;

/// How long the peer waits before connecting again after losing the server
/// (a reconnect delay, like the web client's backoff, not a synchronisation).
const RETRY: Duration = Duration::from_millis(250);
/// Local edits waiting for the socket; tests make far fewer.
const QUEUE: usize = 1024;
/// The colour this peer announces.
const COLOR: &str = "#0f8274";

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A native Tandem client connected to one room, reconnecting by itself.
/// Dropping it ends the connection.
#[derive(Debug)]
pub struct NativePeer {
    /// The name it announces in presence.
    name: String,
    /// The document and what the server said, shared with the connection task.
    shared: Arc<Shared>,
    /// Local updates for the connection task to send.
    updates: mpsc::Sender<Vec<u8>>,
    /// The connection task (connect, sync, relay, reconnect).
    task: JoinHandle<()>,
}

/// What the connection task and the test both see.
#[derive(Debug)]
struct Shared {
    /// The replica. A std mutex: it is held for one yrs transaction, never
    /// across an `.await`.
    doc: Mutex<Doc>,
    /// The connection as the server described it. A std mutex, for the same reason.
    session: Mutex<NativeSession>,
}

/// The peer's connection, as the server described it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NativeSession {
    /// Whether a connection is open and its first sync is done.
    pub synced: bool,
    /// The id of the current (or last) connection, from its `welcome`.
    pub client_id: Option<ClientId>,
    /// How many connections completed their first sync (1 until a reconnect).
    pub syncs: u32,
    /// The others in the room by client id: their names, from presence.
    pub peers: BTreeMap<ClientId, String>,
    /// The code and reason of the last close the server sent.
    pub last_close: Option<(u16, String)>,
}

impl NativePeer {
    /// Connects to `room` on the server at `ws_base` (`ws://127.0.0.1:<port>`)
    /// as `name`, with the share `key` if any, and waits for the first sync.
    pub async fn join(ws_base: &str, room: &str, key: Option<&str>, name: &str) -> Self {
        let url = match key {
            Some(key) => format!("{ws_base}/ws/{room}?key={key}"),
            None => format!("{ws_base}/ws/{room}"),
        };
        let shared = Arc::new(Shared {
            doc: Mutex::new(tandem_shared::doc::new_doc()),
            session: Mutex::new(NativeSession::default()),
        });
        let (updates, queued) = mpsc::channel(QUEUE);
        let task = tokio::spawn(run(url, name.to_owned(), Arc::clone(&shared), queued));
        let peer = Self {
            name: name.to_owned(),
            shared,
            updates,
            task,
        };
        peer.wait_until("its first sync", crate::DEADLINE, |s, _| s.synced)
            .await;
        peer
    }

    /// The document body as this peer has it.
    pub fn text(&self) -> String {
        let doc = lock(&self.shared.doc);
        let text = doc.get_or_insert_text(tandem_shared::doc::CONTENT);
        text.get_string(&doc.transact())
    }

    /// What the server said about the connection.
    pub fn session(&self) -> NativeSession {
        lock(&self.shared.session).clone()
    }

    /// The names of the others in the room, sorted.
    pub fn peer_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.session().peers.into_values().collect();
        names.sort();
        names
    }

    /// Inserts `chunk` at UTF-16 offset `index` of the body and sends the
    /// update (or leaves it for the next sync while disconnected).
    pub async fn insert(&self, index: u32, chunk: &str) {
        let update = {
            let doc = lock(&self.shared.doc);
            let text = doc.get_or_insert_text(tandem_shared::doc::CONTENT);
            let mut txn = doc.transact_mut();
            text.insert(&mut txn, index, chunk);
            txn.encode_update_v1()
        };
        if self.updates.send(update).await.is_err() {
            panic!("{}'s connection task is gone", self.name);
        }
    }

    /// Waits until `pred` holds for the session and the body text.
    pub async fn wait_until(
        &self,
        what: &str,
        deadline: Duration,
        pred: impl Fn(&NativeSession, &str) -> bool,
    ) {
        let seen = try_poll(deadline, async || {
            let (session, text) = (self.session(), self.text());
            if pred(&session, &text) {
                Ok(())
            } else {
                Err(format!("text {text:?}, {session:?}"))
            }
        })
        .await;
        if let Err(seen) = seen {
            panic!(
                "waited {deadline:?} for the native peer {} to show {what}; last saw {seen}",
                self.name
            );
        }
    }

    /// Waits until the body is exactly `expected`.
    pub async fn wait_for_text(&self, expected: &str, deadline: Duration) {
        self.wait_until(&format!("the text {expected:?}"), deadline, |_, text| {
            text == expected
        })
        .await;
    }
}

impl Drop for NativePeer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Connects, serves the connection until it ends, and connects again.
async fn run(url: String, name: String, shared: Arc<Shared>, mut updates: mpsc::Receiver<Vec<u8>>) {
    loop {
        // What was queued while disconnected goes out in the next sync step 2.
        while updates.try_recv().is_ok() {}
        if let Ok(socket) = connect(&url).await {
            let close = serve(socket, &name, &shared, &mut updates).await;
            let mut session = lock(&shared.session);
            session.synced = false;
            session.peers.clear();
            if close.is_some() {
                session.last_close = close;
            }
        }
        tokio::time::sleep(RETRY).await;
    }
}

async fn connect(url: &str) -> Result<Socket, tokio_tungstenite::tungstenite::Error> {
    let mut request = url.into_client_request()?;
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static(SUBPROTOCOL),
    );
    let (socket, _) = tokio_tungstenite::connect_async(request).await?;
    Ok(socket)
}

/// One connection: welcome, presence, sync, then relaying both ways until
/// it ends. Returns the server's close code and reason, if it sent one.
async fn serve(
    mut socket: Socket,
    name: &str,
    shared: &Shared,
    updates: &mut mpsc::Receiver<Vec<u8>>,
) -> Option<(u16, String)> {
    let welcome = tokio::time::timeout(crate::DEADLINE, socket.next()).await;
    let Ok(Some(Ok(Message::Text(welcome)))) = welcome else {
        return None;
    };
    let Ok(ServerMsg::Welcome {
        client_id, peers, ..
    }) = serde_json::from_str(&welcome)
    else {
        return None;
    };
    {
        let mut session = lock(&shared.session);
        session.client_id = Some(client_id);
        session.peers = peers.into_iter().map(|p| (p.client_id, p.name)).collect();
    }
    let presence = ClientMsg::Presence(Presence {
        name: name.to_owned(),
        color: COLOR.to_owned(),
        cursor: None,
    });
    let step1 = SyncFrame::Step1(lock(&shared.doc).transact().state_vector());
    if socket
        .send(Message::Text(presence.to_json().into()))
        .await
        .is_err()
        || socket
            .send(Message::Binary(step1.encode().into()))
            .await
            .is_err()
    {
        return None;
    }
    loop {
        tokio::select! {
            incoming = socket.next() => {
                let message = match incoming {
                    Some(Ok(message)) => message,
                    None | Some(Err(_)) => return None,
                };
                match message {
                    Message::Text(text) => note_control(shared, &text),
                    Message::Binary(bytes) => {
                        if let Some(reply) = sync(shared, &bytes)?
                            && socket.send(Message::Binary(reply.into())).await.is_err()
                        {
                            return None;
                        }
                    }
                    Message::Close(frame) => {
                        // Reading on lets tungstenite finish the close handshake.
                        while let Ok(Some(Ok(_))) =
                            tokio::time::timeout(Duration::from_secs(2), socket.next()).await
                        {}
                        return frame.map(|f| (u16::from(f.code), f.reason.to_string()));
                    }
                    Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
                }
            }
            update = updates.recv() => {
                let frame = SyncFrame::Update(update?).encode();
                if socket.send(Message::Binary(frame.into())).await.is_err() {
                    return None;
                }
            }
        }
    }
}

/// Takes in a JSON control message: presence comes and goes.
fn note_control(shared: &Shared, text: &str) {
    let mut session = lock(&shared.session);
    match serde_json::from_str::<ServerMsg>(text) {
        Ok(ServerMsg::Presence(peer)) => {
            session.peers.insert(peer.client_id, peer.name);
        }
        Ok(ServerMsg::PeerLeft { client_id }) => {
            session.peers.remove(&client_id);
        }
        _ => {}
    }
}

/// Handles a y-sync frame: `Some(Some(reply))` to send, `Some(None)` when
/// nothing is to be sent, `None` when the frame is unusable (the
/// connection is dropped and made again).
fn sync(shared: &Shared, bytes: &[u8]) -> Option<Option<Vec<u8>>> {
    let frame = SyncFrame::decode(bytes).ok()?;
    let doc = lock(&shared.doc);
    match frame {
        SyncFrame::Step1(their_state) => {
            let diff = doc.transact().encode_diff_v1(&their_state);
            Some(Some(SyncFrame::Step2(diff).encode()))
        }
        SyncFrame::Step2(update) => {
            apply(&doc, &update)?;
            let mut session = lock(&shared.session);
            session.synced = true;
            session.syncs += 1;
            Some(None)
        }
        SyncFrame::Update(update) => {
            apply(&doc, &update)?;
            Some(None)
        }
    }
}

fn apply(doc: &Doc, update: &[u8]) -> Option<()> {
    let update = Update::decode_v1(update).ok()?;
    doc.transact_mut().apply_update(update).ok()
}

/// Locks `mutex`, also after a panic elsewhere (the data is still usable
/// for a test's diagnostics).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
