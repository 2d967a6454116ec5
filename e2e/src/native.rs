//! [`NativePeer`]: a Tandem client in the test process — the shared
//! [`ClientSession`] over a tokio-tungstenite socket — for tests where a
//! non-browser Tandem client edits next to the page and stock Yjs clients.
//!
//! Like the web client, it presents the share key in its `hello`, announces
//! itself with a presence message,
//! catches up through the state-vector exchange, and reconnects by itself
//! when the server goes away; edits made while disconnected stay in the
//! session's replica and reach the server in the next exchange's step 2.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use tandem_shared::close::Close;
use tandem_shared::session::{Event, Outgoing, Reaction};
use tandem_shared::{ClientId, ClientSession, Presence, RoomId};
use tandem_testkit::edit;
use tandem_testkit::socket::{self, Socket, close_of, message};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use yrs::{Doc, GetString as _, Transact as _};

use tandem_testkit::try_poll;

/// How long the peer waits before connecting again after losing the server
/// (a reconnect delay, like the web client's backoff, not a synchronisation).
const RETRY: Duration = Duration::from_millis(250);
/// Frames of local edits waiting for the socket; tests make far fewer.
const QUEUE: usize = 1024;
/// The colour this peer announces.
const COLOR: &str = "#0f8274";

/// A native Tandem client connected to one room, reconnecting by itself.
/// Dropping it ends the connection.
#[derive(Debug)]
pub struct NativePeer {
    /// The name it announces in presence.
    name: String,
    /// The session and the last close, shared with the connection task.
    shared: Arc<Mutex<PeerState>>,
    /// Frames of local edits for the connection task to send.
    frames: mpsc::Sender<Outgoing>,
    /// The connection task (connect, sync, relay, reconnect).
    task: JoinHandle<()>,
}

/// What the connection task and the test both see. Behind a std mutex:
/// each lock covers one synchronous call into the session (a frame from
/// the server, a local edit) and never an `.await`, so a tokio lock would
/// buy nothing.
#[derive(Debug)]
struct PeerState {
    /// The protocol: the replica, the connection as the server described it.
    session: ClientSession<Doc>,
    /// The last close the server sent.
    last_close: Option<Close>,
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
    /// The last close the server sent.
    pub last_close: Option<Close>,
}

impl NativePeer {
    /// Connects to `room` on the server at `ws_base` (`ws://127.0.0.1:<port>`)
    /// as `name`, with the share `key` if any, and waits for the first sync.
    pub async fn join(ws_base: &str, room: &str, key: Option<&str>, name: &str) -> Self {
        let url = RoomId::new(room)
            .unwrap_or_else(|err| panic!("{room:?} is not a room name: {err}"))
            .ws_url(ws_base);
        let session = ClientSession::new(tandem_shared::doc::new_doc(), false)
            .with_key(key.map(str::to_owned));
        let shared = Arc::new(Mutex::new(PeerState {
            session,
            last_close: None,
        }));
        let (frames, queued) = mpsc::channel(QUEUE);
        let task = tokio::spawn(run(url, name.to_owned(), Arc::clone(&shared), queued));
        let peer = Self {
            name: name.to_owned(),
            shared,
            frames,
            task,
        };
        peer.wait_until("its first sync", crate::DEADLINE, |s, _| s.synced)
            .await;
        peer
    }

    /// The document body as this peer has it.
    pub fn text(&self) -> String {
        let state = lock(&self.shared);
        let doc = state.session.replica();
        let text = doc.get_or_insert_text(tandem_shared::doc::CONTENT);
        text.get_string(&doc.transact())
    }

    /// What the server said about the connection.
    pub fn session(&self) -> NativeSession {
        let state = lock(&self.shared);
        let session = &state.session;
        NativeSession {
            synced: session.synced(),
            client_id: session.client_id(),
            syncs: session.syncs(),
            peers: session
                .peers()
                .iter()
                .map(|(id, peer)| (*id, peer.name.clone()))
                .collect(),
            last_close: state.last_close.clone(),
        }
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
        let mut state = lock(&self.shared);
        let doc = state.session.replica();
        let text = doc.get_or_insert_text(tandem_shared::doc::CONTENT);
        let update = edit::insert(doc, &text, index, chunk);
        // Queued under the same lock: a frame counted on this connection is
        // in the queue before the connection task can end the connection
        // (and then drop the frame, whose edit the next step 2 carries).
        if let Some(frame) = state.session.local_update(update)
            && self.frames.try_send(frame).is_err()
        {
            panic!("{}'s connection task is gone or far behind", self.name);
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
async fn run(
    url: String,
    name: String,
    shared: Arc<Mutex<PeerState>>,
    mut frames: mpsc::Receiver<Outgoing>,
) {
    loop {
        // Frames of a connection that ended: their edits are in the replica,
        // and the next step 2 carries them.
        while frames.try_recv().is_ok() {}
        if let Ok(socket) = socket::open(&url).await {
            let hello = lock(&shared).session.open();
            let close = serve(socket, hello, &name, &shared, &mut frames).await;
            let mut state = lock(&shared);
            state.session.closed();
            if close.is_some() {
                state.last_close = close;
            }
        }
        tokio::time::sleep(RETRY).await;
    }
}

/// One connection: hello, welcome, presence, sync, then relaying both ways
/// until it ends. Returns the close the server sent, if it sent one.
async fn serve(
    mut socket: Socket,
    hello: Outgoing,
    name: &str,
    shared: &Mutex<PeerState>,
    frames: &mut mpsc::Receiver<Outgoing>,
) -> Option<Close> {
    socket.send(message(&hello)).await.ok()?;
    let welcome = tokio::time::timeout(crate::DEADLINE, socket.next()).await;
    let Ok(Some(Ok(Message::Text(welcome)))) = welcome else {
        return None;
    };
    let (presence, step1) = {
        let mut state = lock(shared);
        let Ok(Reaction {
            event: Event::Welcomed,
            ..
        }) = state.session.receive_text(&welcome)
        else {
            return None;
        };
        let presence = state.session.presence(Presence {
            name: name.to_owned(),
            color: COLOR.to_owned(),
            cursor: None,
        });
        (presence, state.session.step1())
    };
    if socket.send(message(&presence)).await.is_err() || socket.send(message(&step1)).await.is_err()
    {
        return None;
    }
    loop {
        tokio::select! {
            incoming = socket.next() => {
                let reply = match incoming {
                    Some(Ok(Message::Text(text))) => {
                        // A text frame the session refuses changes nothing here.
                        let _ = lock(shared).session.receive_text(&text);
                        None
                    }
                    Some(Ok(Message::Binary(bytes))) => {
                        let received = lock(shared).session.receive_binary(&bytes);
                        // An unusable frame: the replica may now miss
                        // something, so drop the connection and resync.
                        received.ok()?.reply
                    }
                    Some(Ok(Message::Close(frame))) => {
                        // Reading on lets tungstenite finish the close handshake.
                        socket::read_to_end(&mut socket, Duration::from_secs(2)).await;
                        return frame.as_ref().map(|f| close_of(Some(f)));
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => None,
                    None | Some(Err(_)) => return None,
                };
                if let Some(reply) = reply
                    && socket.send(message(&reply)).await.is_err()
                {
                    return None;
                }
            }
            frame = frames.recv() => {
                if socket.send(message(&frame?)).await.is_err() {
                    return None;
                }
            }
        }
    }
}

/// Locks `mutex`, also after a panic elsewhere (the data is still usable
/// for a test's diagnostics).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
