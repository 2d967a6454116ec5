//! One client connection: open (from a chosen source address), the y-sync
//! handshake in the target's dialect, and the reader that load runs attach
//! to each connection afterwards.
//!
//! Frames are built and parsed with [`tandem_shared::SyncFrame`] and
//! [`tandem_shared::ServerMsg`]; frames of other y-sync message types
//! (awareness, y-sweet's extensions) decode as `UnsupportedMessage` and are
//! skipped.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tandem_shared::{DecodeError, SUBPROTOCOL, ServerMsg, SyncFrame};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::watch;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use yrs::updates::decoder::Decode;
use yrs::{ClientID, Doc, GetString, OffsetKind, Options, ReadTxn, TextRef, Transact, Update};

use crate::tag::{self, Tag};
use crate::target::{ServerKind, Target};

/// A client WebSocket over plain TCP.
pub type Socket = WebSocketStream<TcpStream>;
/// The sending half of a [`Socket`].
pub type Sink = SplitSink<Socket, Message>;
/// The receiving half of a [`Socket`].
pub type Stream = SplitStream<Socket>;

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
    let mut request = target.room_url(room).into_client_request()?;
    if target.kind == ServerKind::Tandem {
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_static(SUBPROTOCOL),
        );
    }
    let (socket, _response) =
        tokio_tungstenite::client_async_with_config(request, stream, Some(client_config()))
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

/// A connection that completed the handshake, with its replica.
#[derive(Debug)]
pub struct Synced {
    /// The socket, ready for updates.
    pub socket: Socket,
    /// This client's replica of the room.
    pub doc: Doc,
    /// The room's `content` text in `doc`.
    pub text: TextRef,
    /// Update and step-2 frames sent so far: what Tandem's `saved` counts.
    pub counted: u64,
    /// When the server's step 2 had been applied.
    pub synced_at: Instant,
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

/// The y-sync handshake: send our state vector, answer the server's with
/// what it misses, apply what it sends until its step 2 arrives.
pub async fn handshake(mut socket: Socket, kind: ServerKind) -> anyhow::Result<Synced> {
    let doc = new_replica();
    let text = doc.get_or_insert_text(tandem_shared::doc::CONTENT);
    let step1 = SyncFrame::Step1(doc.transact().state_vector()).encode();
    socket.send(Message::Binary(step1.into())).await?;
    let mut counted = 0;
    loop {
        let message = socket
            .next()
            .await
            .context("the server closed during the handshake")??;
        match message {
            Message::Text(text) if kind == ServerKind::Tandem => {
                if let Ok(ServerMsg::Error { reason, .. }) = serde_json::from_str(&text) {
                    bail!("server error during the handshake: {reason}");
                }
            }
            Message::Binary(bytes) => match decode(&bytes)? {
                Some(SyncFrame::Step1(sv)) => {
                    let diff = doc.transact().encode_diff_v1(&sv);
                    socket
                        .send(Message::Binary(SyncFrame::Step2(diff).encode().into()))
                        .await?;
                    counted += 1;
                }
                Some(SyncFrame::Step2(update)) => {
                    apply(&doc, &update)?;
                    return Ok(Synced {
                        socket,
                        doc,
                        text,
                        counted,
                        synced_at: Instant::now(),
                    });
                }
                Some(SyncFrame::Update(update)) => apply(&doc, &update)?,
                None => {}
            },
            Message::Close(frame) => {
                let (code, reason) = frame
                    .map(|f| (u16::from(f.code), f.reason.to_string()))
                    .unwrap_or((1005, String::new()));
                bail!("the server closed the connection: {code} {reason}");
            }
            _ => {}
        }
    }
}

/// A sync frame, or `None` for y-sync messages that are not sync (awareness…).
pub fn decode(bytes: &[u8]) -> anyhow::Result<Option<SyncFrame>> {
    match SyncFrame::decode(bytes) {
        Ok(frame) => Ok(Some(frame)),
        Err(DecodeError::UnsupportedMessage(_)) => Ok(None),
        Err(err) => bail!("bad frame from the server: {err}"),
    }
}

/// Applies a v1 update to `doc` in its own transaction.
pub fn apply(doc: &Doc, update: &[u8]) -> anyhow::Result<()> {
    let update = Update::decode_v1(update).context("update does not decode")?;
    doc.transact_mut()
        .apply_update(update)
        .context("update does not apply")?;
    Ok(())
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
    /// The highest `saved` count any reader saw (Tandem).
    pub saved: AtomicU64,
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
    /// The last `saved` count (Tandem).
    pub saved: u64,
    /// The close the server sent, or why the stream ended, if it did.
    pub ended: Option<String>,
}

/// Reads `stream` until `stop` turns true or the connection ends.
pub async fn read_loop(
    mut stream: Stream,
    mut stop: watch::Receiver<bool>,
    options: ReaderOptions,
    progress: Arc<Progress>,
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
                if let Ok(ServerMsg::Saved { updates }) = serde_json::from_str(&text) {
                    log.saved = log.saved.max(updates);
                    progress.saved.fetch_max(updates, Ordering::Relaxed);
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
