//! One client connection: open (from a chosen source address), the y-sync
//! handshake in the target's dialect, and the reader that load runs attach
//! to each connection afterwards.
//!
//! The handshake is the shared [`ClientSession`], as in every Tandem client:
//! it answers the server's step 1, applies its step 2, and counts the step 2
//! and update frames this client sends, which Tandem's `saved` counts. Frames
//! of other y-sync message types (awareness, y-sweet's extensions) decode as
//! `UnsupportedMessage` and are skipped. After the handshake, the load
//! reader ([`read_loop`]) only scans update frames for tags: applying them
//! would cost more than the servers being measured. Control messages go to
//! the writer's session when the run wants `saved` ([`SharedSession`]), so
//! no acknowledgement is counted here.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tandem_shared::session::{Event, Outgoing, SessionError};
use tandem_shared::{ClientSession, DecodeError, Replica, SyncFrame};
use tandem_testkit::deflate_io::DeflateIo;
use tandem_testkit::edit;
use tandem_testkit::socket::message;
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::watch;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use yrs::{ClientID, Doc, GetString, OffsetKind, Options, TextRef, Transact};

use crate::tag::{self, Tag};
use crate::target::{ServerKind, Target};

/// A client WebSocket over plain TCP.
pub type Socket = WebSocketStream<DeflateIo<TcpStream>>;
/// The sending half of a [`Socket`].
pub type Sink = SplitSink<Socket, Message>;
/// The receiving half of a [`Socket`].
pub type Stream = SplitStream<Socket>;

/// A session shared by the task that writes through it and the reader that
/// takes the server's control messages (`saved`) into it. A std mutex: each
/// lock covers one synchronous call into the session, never an `.await`.
pub type SharedSession = Arc<Mutex<ClientSession<Doc>>>;

/// Locks a [`SharedSession`], also after a panic elsewhere (the counts are
/// still what they were).
pub fn lock(session: &Mutex<ClientSession<Doc>>) -> MutexGuard<'_, ClientSession<Doc>> {
    session
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The client side's buffers. Tungstenite's defaults (128 KiB each) would
/// cost the load generator gigabytes at 20,000 connections; frames here are
/// small and bigger ones still grow the read buffer as needed.
fn client_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(16 * 1024)
        .write_buffer_size(16 * 1024)
        .max_message_size(Some(256 << 20))
        .max_frame_size(Some(256 << 20))
}

/// Opens a WebSocket to `room` on `target`, from `source` if given (to
/// spread many connections over several 127.0.0.x addresses).
pub async fn open(target: &Target, room: &str, source: Option<IpAddr>) -> anyhow::Result<Socket> {
    let socket = match target.addr {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    if let Some(ip) = source {
        socket
            .bind(SocketAddr::new(ip, 0))
            .with_context(|| format!("cannot bind source address {ip}"))?;
    }
    let stream = socket
        .connect(target.addr)
        .await
        .with_context(|| format!("cannot connect to {}", target.addr))?;
    stream.set_nodelay(true)?;
    let url = target.room_url(room)?;
    let request = if target.kind == ServerKind::Tandem {
        tandem_testkit::socket::request(&url)?
    } else {
        url.into_client_request()?
    };
    // Tandem's request offers permessage-deflate; the adapter inflates what
    // a server compressed (and passes everything else through).
    let config = client_config();
    let limit = config.max_message_size.unwrap_or(usize::MAX);
    let (socket, _response) = tokio_tungstenite::client_async_with_config(
        request,
        DeflateIo::client(stream, limit),
        Some(config),
    )
    .await
    .context("WebSocket upgrade failed")?;
    Ok(socket)
}

/// A new replica laid out as a Tandem document (UTF-16 offsets, like
/// [`tandem_shared::doc::new_doc`]) but with a 32-bit client id, as Yjs
/// clients generate. yrs 0.28 draws 53-bit ids by default, and y-sweet 0.9.1
/// (built on yrs 0.19) mangles those: it relays the update under a different
/// client id, so the sender's own edits come back as someone else's and its
/// replica doubles them. With 32-bit ids every server sees the same ids.
pub fn new_replica() -> Doc {
    Doc::with_options(Options {
        offset_kind: OffsetKind::Utf16,
        client_id: ClientID::new(u64::from(fastrand::u32(1..))),
        ..Options::default()
    })
}

/// A connection that completed the handshake, with its session.
#[derive(Debug)]
pub struct Synced {
    /// The socket, ready for updates.
    pub socket: Socket,
    /// This client's side of the protocol: its replica of the room, and the
    /// step 2 and update frames it sent, which Tandem's `saved` counts.
    pub session: ClientSession<Doc>,
    /// The room's `content` text in the replica.
    pub text: TextRef,
    /// When the server's step 2 had been applied.
    pub synced_at: Instant,
}

impl Synced {
    /// The replica.
    pub fn doc(&self) -> &Doc {
        self.session.replica()
    }

    /// The replica's text.
    pub fn content(&self) -> String {
        content(self.doc(), &self.text)
    }
}

/// Opens and completes the handshake within `deadline`.
pub async fn connect(
    target: &Target,
    room: &str,
    source: Option<IpAddr>,
    deadline: Duration,
) -> anyhow::Result<Synced> {
    tokio::time::timeout(deadline, async {
        let socket = open(target, room, source).await?;
        handshake(socket, target.kind).await
    })
    .await
    .with_context(|| format!("no sync within {deadline:?}"))?
}

/// The y-sync handshake, driven by the session: say hello (Tandem only; the
/// other dialects have none), send our state vector, answer the server's
/// with what it misses, apply what it sends, until its step 2 arrived and
/// ours went out (updates are sent live from then on).
pub async fn handshake(mut socket: Socket, kind: ServerKind) -> anyhow::Result<Synced> {
    let replica = new_replica();
    let text = replica.get_or_insert_text(tandem_shared::doc::CONTENT);
    let mut session = ClientSession::new(replica, false);
    let hello = session.open();
    if kind == ServerKind::Tandem {
        socket.send(message(&hello)).await?;
    }
    socket.send(message(&session.step1())).await?;
    while !(session.synced() && (session.live() || session.read_only())) {
        let frame = socket
            .next()
            .await
            .context("the server closed during the handshake")??;
        let reaction = match frame {
            // The other dialects send no text frames.
            Message::Text(text) if kind == ServerKind::Tandem => session.receive_text(&text),
            Message::Binary(bytes) => session.receive_binary(&bytes),
            Message::Close(frame) => {
                let why = frame.map_or_else(
                    || "no close code".to_owned(),
                    |f| format!("{} {}", u16::from(f.code), f.reason),
                );
                bail!("the server closed the connection: {why}");
            }
            _ => continue,
        };
        let reaction = match reaction {
            Ok(reaction) => reaction,
            Err(SessionError::BadFrame(DecodeError::UnsupportedMessage(_))) => continue,
            Err(err) => bail!("during the handshake: {err}"),
        };
        if let Event::Refused { reason, .. } = &reaction.event {
            bail!("server error during the handshake: {reason}");
        }
        if let Some(reply) = reaction.reply {
            socket.send(message(&reply)).await?;
        }
    }
    Ok(Synced {
        socket,
        session,
        text,
        synced_at: Instant::now(),
    })
}

/// A sync frame, or `None` for y-sync messages that are not sync (awareness…).
pub fn decode(bytes: &[u8]) -> anyhow::Result<Option<SyncFrame>> {
    match SyncFrame::decode(bytes) {
        Ok(frame) => Ok(Some(frame)),
        Err(DecodeError::UnsupportedMessage(_)) => Ok(None),
        Err(err) => bail!("bad frame from the server: {err}"),
    }
}

/// Applies a v1 update to `doc` as every session does
/// ([`Replica::apply_remote`]), in its own transaction.
pub fn apply(doc: &Doc, update: &[u8]) -> anyhow::Result<()> {
    doc.apply_remote(update)
        .map_err(|err| anyhow::anyhow!("{err}"))
}

/// Appends `tag` to the replica's text and returns the update frame to send,
/// counted by the session; `None` before the session's step 2 went out.
pub fn append_tag(session: &mut ClientSession<Doc>, text: &TextRef, tag: Tag) -> Option<Outgoing> {
    let update = edit::append(session.replica(), text, &tag.text());
    session.local_update(update)
}

/// The text of `content` in `doc`.
pub fn content(doc: &Doc, text: &TextRef) -> String {
    text.get_string(&doc.transact())
}

/// What a load reader should keep.
#[derive(Debug, Clone, Copy)]
pub struct ReaderOptions {
    /// This client's index among the writers, if it is one (its own tags,
    /// echoed by some servers, are not latencies).
    pub writer: Option<u32>,
    /// Keep every update's bytes, to rebuild the replica at the end.
    pub keep_updates: bool,
}

/// Counters shared by all readers of a run, read while it runs.
#[derive(Debug, Default)]
pub struct Progress {
    /// Tags received from other clients' writers, summed over readers.
    pub received: AtomicU64,
    /// Update frames received, summed over readers.
    pub frames: AtomicU64,
    /// Readers whose connection ended.
    pub ended: AtomicU64,
}

/// What one reader saw.
#[derive(Debug, Default)]
pub struct ReaderLog {
    /// Every other writer's tag received, with when.
    pub receipts: Vec<(Tag, Instant)>,
    /// The updates received (when kept), in order.
    pub updates: Vec<Vec<u8>>,
    /// Update frames received.
    pub frames: u64,
    /// The first control message the writer's session refused (e.g. a
    /// `saved` count beyond what was sent).
    pub refused: Option<String>,
    /// The close the server sent, or why the stream ended, if it did.
    pub ended: Option<String>,
}

/// Reads `stream` until `stop` turns true or the connection ends. Update
/// frames are only scanned for tags; control messages go into `session`
/// (the session of whoever writes on this connection), if given.
pub async fn read_loop(
    mut stream: Stream,
    mut stop: watch::Receiver<bool>,
    options: ReaderOptions,
    progress: Arc<Progress>,
    session: Option<SharedSession>,
) -> (Stream, ReaderLog) {
    let mut log = ReaderLog::default();
    loop {
        if *stop.borrow() {
            break;
        }
        // The stop signal first: under a steady stream of frames a reader
        // would otherwise never notice it.
        let next = tokio::select! {
            biased;
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    break;
                }
                continue;
            }
            next = stream.next() => next,
        };
        let message = match next {
            Some(Ok(message)) => message,
            Some(Err(err)) => {
                log.ended = Some(err.to_string());
                break;
            }
            None => {
                log.ended = Some("stream ended".into());
                break;
            }
        };
        match message {
            Message::Binary(bytes) => {
                let Ok(Some(frame)) = decode(&bytes) else {
                    continue;
                };
                let payload = match frame {
                    SyncFrame::Update(update) | SyncFrame::Step2(update) => update,
                    SyncFrame::Step1(_) => continue,
                };
                log.frames += 1;
                progress.frames.fetch_add(1, Ordering::Relaxed);
                let now = Instant::now();
                let mut others = 0;
                tag::scan(&payload, |t| {
                    if Some(t.writer) != options.writer {
                        log.receipts.push((t, now));
                        others += 1;
                    }
                });
                progress.received.fetch_add(others, Ordering::Relaxed);
                if options.keep_updates {
                    log.updates.push(payload);
                }
            }
            Message::Text(text) => {
                if let Some(session) = &session {
                    let taken = lock(session).receive_text(&text);
                    if let Err(err) = taken {
                        log.refused.get_or_insert_with(|| err.to_string());
                    }
                }
            }
            Message::Close(frame) => {
                log.ended = Some(match frame {
                    Some(f) => format!("closed {} {}", u16::from(f.code), f.reason),
                    None => "closed".into(),
                });
                break;
            }
            _ => {}
        }
    }
    if log.ended.is_some() {
        progress.ended.fetch_add(1, Ordering::Relaxed);
    }
    (stream, log)
}

#[cfg(test)]
mod tests {
    use yrs::{Text, Transact};

    use super::*;

    #[tokio::test]
    async fn the_handshake_and_saved_go_through_the_session() {
        let (server, _) = tandem_testkit::TestServer::memory().await;
        let target = Target {
            kind: ServerKind::Tandem,
            addr: server.addr,
        };
        let synced = connect(&target, "loadgen-session", None, tandem_testkit::DEADLINE)
            .await
            .expect("the handshake completes");
        assert!(synced.session.synced() && synced.session.live());
        assert_eq!(synced.session.sent(), 1, "our step 2 is counted");
        let Synced {
            socket,
            mut session,
            text,
            ..
        } = synced;
        let frame = append_tag(&mut session, &text, Tag { writer: 0, seq: 0 }).expect("live");
        let session: SharedSession = Arc::new(Mutex::new(session));
        let (mut sink, stream) = socket.split();
        sink.send(message(&frame)).await.expect("send");
        let (stop, stopped) = watch::channel(false);
        let options = ReaderOptions {
            writer: Some(0),
            keep_updates: false,
        };
        let progress = Arc::new(Progress::default());
        let reader = tokio::spawn(read_loop(
            stream,
            stopped,
            options,
            progress,
            Some(session.clone()),
        ));
        tandem_testkit::eventually("the step 2 and the update saved", || {
            lock(&session).all_saved()
        })
        .await;
        assert_eq!(lock(&session).saved(), 2);
        stop.send(true).expect("the reader listens");
        let (_, log) = reader.await.expect("the reader ends");
        assert_eq!((log.refused, log.ended), (None, None));
    }

    #[test]
    fn applying_own_echoes_changes_nothing() {
        let doc = tandem_shared::doc::new_doc();
        let text = doc.get_or_insert_text(tandem_shared::doc::CONTENT);
        // What a server's step 2 for an empty room carries.
        apply(&doc, &[0, 0]).expect("empty update applies");
        let mut updates = Vec::new();
        for seq in 0..20 {
            let mut txn = doc.transact_mut();
            let len = text.len(&txn);
            text.insert(&mut txn, len, &Tag { writer: 0, seq }.text());
            updates.push(txn.encode_update_v1());
        }
        let before = content(&doc, &text);
        for update in &updates {
            apply(&doc, update).expect("applies");
        }
        assert_eq!(content(&doc, &text), before);
    }
}
