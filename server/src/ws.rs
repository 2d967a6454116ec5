//! The WebSocket endpoint: `ws_handler` checks the upgrade request, and
//! `handle_socket` runs one connection.
//!
//! A connection is a reader loop (this task) and a writer task fed by the
//! connection's [`Outbox`]. The reader decodes each frame off the room's
//! thread and forwards it to the room actor, answering app-level pings itself;
//! the writer drains the outbox into the socket and sends the heartbeat pings.
//! When either side ends, the other follows; after a close frame is sent or
//! received the reader keeps reading until the peer's close arrives, so the
//! close handshake completes.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::panic::catch_unwind;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use governor::{Quota, RateLimiter};
use serde::Deserialize;
use tandem_shared::guard::check_update_v1;
use tandem_shared::yjs::{YjsFrame, presence_from_state};
use tandem_shared::{
    ClientId, ClientMsg, ErrorCode, Presence, RoomId, SUBPROTOCOL, ServerMsg, SyncFrame, close,
};
use tokio::time::{Instant, sleep_until, timeout};
use tracing::{Instrument, debug, info, warn};
use yrs::Update;
use yrs::updates::decoder::Decode;

use crate::AppState;
use crate::access::Right;
use crate::limits::{Refusal, Slot};
use crate::metrics::FrameCounters;
use crate::room::{Dialect, JoinRefused, Outbox, OutboxReceiver, RoomCmd, RoomHandle, outbox};

/// How long to wait for the client's half of a close handshake, and for the
/// writer to get a final frame out.
const CLOSE_GRACE: Duration = Duration::from_secs(3);

/// Query parameters of `GET /ws/{room}`.
#[derive(Debug, Deserialize)]
pub(crate) struct WsParams {
    /// A share-link key (see [`crate::access`]).
    key: Option<String>,
}

/// What a connection may do, decided before the upgrade.
#[derive(Debug)]
enum Admission {
    /// It may join, with the right its key grants (none without a key).
    Admitted { slot: Slot, key: Option<Right> },
    /// It is told why not in a close frame, right after the upgrade.
    Refused { code: u16, reason: String },
}

/// `GET /ws/{room}`: Tandem's own protocol (`tandem.v1`).
pub(crate) async fn ws_handler(
    room: Path<String>,
    params: Query<WsParams>,
    state: State<AppState>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    upgrade(Dialect::Tandem, room, params, state, peer, headers, ws)
}

/// `GET /yjs/{room}`: the y-websocket dialect, for stock Yjs clients.
pub(crate) async fn yjs_handler(
    room: Path<String>,
    params: Query<WsParams>,
    state: State<AppState>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    upgrade(Dialect::Yjs, room, params, state, peer, headers, ws)
}

/// Checks the origin, room name, subprotocol, key and capacity, then
/// upgrades. Problems a browser page cannot see in an HTTP status (key,
/// capacity) are answered with a close frame after the upgrade.
fn upgrade(
    dialect: Dialect,
    Path(room): Path<String>,
    Query(params): Query<WsParams>,
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if !origin_allowed(&headers, &state.config.allowed_origins) {
        debug!(origin = ?headers.get(header::ORIGIN), "refused a cross-origin upgrade");
        refused_upgrade("origin");
        return (StatusCode::FORBIDDEN, "origin not allowed\n").into_response();
    }
    let room = match RoomId::new(room) {
        Ok(room) => room,
        Err(err) => {
            refused_upgrade("room_name");
            return (
                StatusCode::BAD_REQUEST,
                format!("invalid room name: {err}\n"),
            )
                .into_response();
        }
    };
    let offered: Vec<&[u8]> = ws.requested_protocols().map(|p| p.as_bytes()).collect();
    if dialect == Dialect::Tandem
        && !offered.is_empty()
        && !offered.contains(&SUBPROTOCOL.as_bytes())
    {
        refused_upgrade("subprotocol");
        return (
            StatusCode::BAD_REQUEST,
            format!("unsupported subprotocol: this server speaks {SUBPROTOCOL}\n"),
        )
            .into_response();
    }
    drop(offered);
    if state.shutdown.is_cancelled() {
        refused_upgrade("shutting_down");
        return (StatusCode::SERVICE_UNAVAILABLE, "server is shutting down\n").into_response();
    }
    let admission = admit(&state, &room, params.key.as_deref(), peer.ip());
    let config = &state.config;
    let ws = match dialect {
        Dialect::Tandem => ws.protocols([SUBPROTOCOL]),
        Dialect::Yjs => ws,
    };
    // tungstenite's defaults (128 KiB read buffer, allocated at the upgrade)
    // cost ~140 KiB per idle connection. Frames here are small: the buffer
    // holds the whole frame being read and each read takes up to 1 KiB, so a
    // bigger frame just takes more reads (a 1 MiB paste: 1,024). The write buffer grows only when used: up to
    // 16 KiB of a batch of relayed frames goes out in one write at the flush.
    // Its ceiling stays unlimited: a sync step 2 carries the whole document,
    // far above the incoming message limit, and the outbox already bounds
    // what waits for this connection.
    let ws = ws
        .read_buffer_size(1024)
        .write_buffer_size(16 * 1024)
        .max_message_size(config.max_message_bytes)
        .max_frame_size(config.max_message_bytes);
    let client = ClientId(state.next_client_id());
    // Counted from the upgrade on, so shutdown waits for this connection too.
    let tracked = state.connections.token();
    let span = tracing::info_span!("conn", %room, %client, ip = %peer.ip());
    ws.on_upgrade(move |socket| {
        async move {
            handle_socket(socket, state, room, client, admission, dialect).await;
            drop(tracked);
        }
        .instrument(span)
    })
}

fn refused_upgrade(reason: &'static str) {
    metrics::counter!(crate::metrics::UPGRADES, "result" => "refused", "reason" => reason)
        .increment(1);
}

/// Counts a connection as open for as long as it lives.
struct OpenConnection;

impl OpenConnection {
    fn new() -> Self {
        metrics::gauge!(crate::metrics::CONNECTIONS_OPEN).increment(1.0);
        Self
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        metrics::gauge!(crate::metrics::CONNECTIONS_OPEN).decrement(1.0);
    }
}

/// The same-origin rule plus the configured list. A request without an
/// `Origin` header does not come from a browser page and cannot be a
/// cross-site hijack, so it passes; `Origin: null` does not.
fn origin_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    if allowed.iter().any(|a| a == origin) {
        return true;
    }
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        == Some(host)
}

fn admit(state: &AppState, room: &RoomId, key: Option<&str>, ip: IpAddr) -> Admission {
    let key = match key {
        None => None,
        Some(key) => match state.keys.verify(room, key) {
            Some(right) => Some(right),
            None => {
                refused_upgrade("key");
                return Admission::Refused {
                    code: close::POLICY,
                    reason: "this link's key is not valid for this document".into(),
                };
            }
        },
    };
    match state.limits.admit(ip) {
        Ok(slot) => Admission::Admitted { slot, key },
        Err(refusal) => {
            refused_upgrade(match refusal {
                Refusal::ServerFull => "server_full",
                Refusal::AddressFull => "address_full",
            });
            // Spread the retries of a crowd over time instead of a stampede.
            let wait = fastrand::u32(5..=20);
            let why = match refusal {
                Refusal::ServerFull => "the server is at capacity",
                Refusal::AddressFull => "too many connections from your address",
            };
            warn!(%ip, ?refusal, "connection refused");
            Admission::Refused {
                code: close::TRY_AGAIN_LATER,
                reason: close::with_retry_after(why, wait),
            }
        }
    }
}

/// How the reader loop ended.
#[derive(Debug, PartialEq, Eq)]
enum ReadEnd {
    /// The client sent a close frame; tungstenite has queued the reply.
    ClientClosed,
    /// The stream ended or failed without a close handshake.
    Gone,
    /// We queued a close frame (refusal, timeout, room failure).
    ServerClosed,
    /// The server is shutting down.
    Shutdown,
    /// The writer stopped first (it sent a close, or the socket failed).
    WriterEnded,
}

async fn handle_socket(
    socket: WebSocket,
    state: AppState,
    room: RoomId,
    client: ClientId,
    admission: Admission,
    dialect: Dialect,
) {
    let config = state.config.clone();
    let (sink, mut stream) = socket.split();
    let (outbox, outbox_rx) = outbox(config.queue_messages, config.queue_bytes);
    let writer = write_loop(sink, outbox_rx, config.heartbeat, state.frames_out.clone());
    let mut writer = tokio::spawn(writer.in_current_span());
    let _open = OpenConnection::new();
    let (_slot, key) = match admission {
        Admission::Admitted { slot, key } => {
            metrics::counter!(crate::metrics::UPGRADES, "result" => "accepted", "reason" => "ok")
                .increment(1);
            (slot, key)
        }
        Admission::Refused { code, reason } => {
            outbox.close(code, reason);
            drop(outbox);
            let _ = timeout(CLOSE_GRACE, async {
                while stream.next().await.is_some() {}
            })
            .await;
            let _ = timeout(CLOSE_GRACE, writer).await;
            return;
        }
    };

    // Boxed: joining happens once, and its future should not take room in
    // the connection's task for the rest of its life.
    let end = match Box::pin(join(&state, &room, client, &outbox, key, dialect)).await {
        Ok(handle) => {
            debug!("joined");
            // Whichever side ends first ends the connection: a writer that
            // stopped (slow consumer, failed send) must not leave a reader
            // holding the connection open until the heartbeat notices.
            let end = tokio::select! {
                end = read_loop(&mut stream, &handle, &outbox, client, &state, dialect) => end,
                _ = &mut writer => ReadEnd::WriterEnded,
            };
            if end == ReadEnd::Shutdown {
                // Let the room commit what this client sent, so its last
                // `saved` goes out before the close.
                let _ = timeout(config.shutdown_timeout, handle.flush()).await;
                let frame = CloseFrame {
                    code: close::GOING_AWAY,
                    reason: "server is shutting down; reconnect shortly".into(),
                };
                if outbox.push(Message::Close(Some(frame))).is_err() {
                    outbox.close(close::GOING_AWAY, "server is shutting down");
                }
            }
            let _ = handle.send(RoomCmd::Leave { client }).await;
            end
        }
        Err(JoinRefused::Full) => {
            refused_upgrade("room_full");
            let reason = close::with_retry_after(
                "this document has too many people in it",
                fastrand::u32(10..=30),
            );
            outbox.close(close::TRY_AGAIN_LATER, reason);
            ReadEnd::ServerClosed
        }
        Err(JoinRefused::Gone) if state.shutdown.is_cancelled() => {
            outbox.close(
                close::GOING_AWAY,
                "server is shutting down; reconnect shortly",
            );
            ReadEnd::ServerClosed
        }
        Err(JoinRefused::Gone) => {
            outbox.close(
                close::INTERNAL,
                "the document could not be opened; try again",
            );
            ReadEnd::ServerClosed
        }
    };
    drop(outbox);

    if end != ReadEnd::Gone {
        // Finish the close handshake: read until the client's close (or the
        // reply to it) has gone through and the stream ends.
        let _ = timeout(CLOSE_GRACE, async {
            while stream.next().await.is_some() {}
        })
        .await;
    }
    if end != ReadEnd::WriterEnded {
        let _ = timeout(CLOSE_GRACE, writer).await;
    }
    info!(?end, "connection closed");
}

/// Joins the room, looking it up again if it unloaded between lookup and join.
async fn join(
    state: &AppState,
    room: &RoomId,
    client: ClientId,
    outbox: &Outbox,
    key: Option<Right>,
    dialect: Dialect,
) -> Result<RoomHandle, JoinRefused> {
    for _ in 0..3 {
        let handle = state
            .registry
            .get_or_create(room)
            .ok_or(JoinRefused::Gone)?;
        match handle.join(client, outbox.clone(), key, dialect).await {
            Ok(()) => return Ok(handle),
            Err(JoinRefused::Gone) => continue,
            Err(refused) => return Err(refused),
        }
    }
    warn!("room kept going away while joining");
    Err(JoinRefused::Gone)
}

async fn read_loop(
    stream: &mut SplitStream<WebSocket>,
    room: &RoomHandle,
    outbox: &Outbox,
    client: ClientId,
    state: &AppState,
    dialect: Dialect,
) -> ReadEnd {
    let silence_limit = state.config.heartbeat * 2;
    let mut deadline = Instant::now() + silence_limit;
    // A Yjs client's awareness id: the first one it speaks for.
    let mut awareness_id: Option<u64> = None;
    let rate = NonZeroU32::new(state.config.rate_limit).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(state.config.rate_burst).unwrap_or(rate);
    let limiter = RateLimiter::direct(Quota::per_second(rate).allow_burst(burst));
    loop {
        let next = tokio::select! {
            next = stream.next() => next,
            () = sleep_until(deadline) => {
                outbox.close(close::HEARTBEAT_TIMEOUT, format!("nothing heard for {} s", silence_limit.as_secs()));
                return ReadEnd::ServerClosed;
            }
            () = state.shutdown.cancelled() => return ReadEnd::Shutdown,
        };
        deadline = Instant::now() + silence_limit;
        let message = match next {
            Some(Ok(message)) => message,
            Some(Err(err)) => return read_error(err, outbox, state.config.max_message_bytes),
            None => return ReadEnd::Gone,
        };
        if matches!(message, Message::Text(_) | Message::Binary(_)) && limiter.check().is_err() {
            outbox.close(
                close::RATE_LIMITED,
                format!("more than {rate} messages per second; slow down"),
            );
            return ReadEnd::ServerClosed;
        }
        state.frames_in.count(&message);
        let cmd = match message {
            Message::Binary(frame) if dialect == Dialect::Yjs => {
                match decode_yjs(client, frame, &mut awareness_id) {
                    Ok(Some(cmd)) => cmd,
                    Ok(None) => continue,
                    Err((code, reason)) => {
                        debug!(code, %reason, "refused a binary frame");
                        outbox.close(code, reason);
                        return ReadEnd::ServerClosed;
                    }
                }
            }
            Message::Text(_) if dialect == Dialect::Yjs => {
                outbox.close(
                    close::BAD_MESSAGE,
                    "this endpoint speaks binary y-websocket frames only",
                );
                return ReadEnd::ServerClosed;
            }
            Message::Binary(frame) => match decode_binary(client, frame) {
                Ok(cmd) => cmd,
                Err((code, reason)) => {
                    debug!(code, %reason, "refused a binary frame");
                    outbox.close(code, reason);
                    return ReadEnd::ServerClosed;
                }
            },
            Message::Text(text) => {
                let reply = match serde_json::from_str::<ClientMsg>(&text) {
                    Ok(ClientMsg::Ping) => ServerMsg::Pong,
                    Ok(ClientMsg::Presence(presence)) => match presence_checked(&text, presence) {
                        Ok(presence) => {
                            if room
                                .send(RoomCmd::Presence {
                                    client,
                                    presence: Some(presence),
                                    awareness: None,
                                })
                                .await
                                .is_err()
                            {
                                outbox.close(close::INTERNAL, "the document stopped; reconnect");
                                return ReadEnd::ServerClosed;
                            }
                            continue;
                        }
                        Err(reason) => ServerMsg::Error {
                            code: ErrorCode::BadPresence,
                            reason,
                        },
                    },
                    Err(err) => ServerMsg::Error {
                        code: ErrorCode::BadMessage,
                        reason: format!("not a Tandem message: {err}"),
                    },
                };
                if outbox.push(Message::Text(reply.to_json().into())).is_err() {
                    outbox.close(
                        close::SLOW_CONSUMER,
                        "you fell too far behind; reconnect to resync",
                    );
                    return ReadEnd::ServerClosed;
                }
                continue;
            }
            Message::Close(_) => return ReadEnd::ClientClosed,
            Message::Ping(_) | Message::Pong(_) => continue,
        };
        if room.send(cmd).await.is_err() {
            // The room failed and has already queued a close for us.
            outbox.close(close::INTERNAL, "the document stopped; reconnect");
            return ReadEnd::ServerClosed;
        }
    }
}

/// Largest presence message accepted, in bytes: a name, a colour and two
/// relative positions fit in a few hundred.
const MAX_PRESENCE_BYTES: usize = 2048;

fn presence_checked(text: &str, presence: Presence) -> Result<Presence, String> {
    if text.len() > MAX_PRESENCE_BYTES {
        return Err(format!("presence larger than {MAX_PRESENCE_BYTES} bytes"));
    }
    presence.validate().map_err(str::to_string)?;
    Ok(presence)
}

fn read_error(err: axum::Error, outbox: &Outbox, max_message_bytes: usize) -> ReadEnd {
    match err
        .into_inner()
        .downcast::<tungstenite::Error>()
        .map(|e| *e)
    {
        Ok(tungstenite::Error::Capacity(cap)) => {
            debug!(error = %cap, "message over the size limit");
            outbox.close(
                close::TOO_BIG,
                format!("message larger than {max_message_bytes} bytes"),
            );
            ReadEnd::ServerClosed
        }
        Ok(tungstenite::Error::Protocol(protocol)) => {
            debug!(error = %protocol, "WebSocket protocol violation");
            outbox.close(1002, format!("protocol error: {protocol}"));
            ReadEnd::ServerClosed
        }
        Ok(tungstenite::Error::Utf8(_)) => {
            outbox.close(close::BAD_MESSAGE, "text frame is not valid UTF-8");
            ReadEnd::ServerClosed
        }
        Ok(other) => {
            debug!(error = %other, "connection failed");
            ReadEnd::Gone
        }
        Err(other) => {
            debug!(error = %other, "connection failed");
            ReadEnd::Gone
        }
    }
}

/// Decodes a y-websocket frame into a room command (`None`: nothing to do),
/// or the close to answer it with.
fn decode_yjs(
    client: ClientId,
    frame: Bytes,
    awareness_id: &mut Option<u64>,
) -> Result<Option<RoomCmd>, (u16, String)> {
    let decoded = YjsFrame::decode(&frame)
        .map_err(|err| (close::BAD_MESSAGE, format!("bad y-websocket frame: {err}")))?;
    match decoded {
        YjsFrame::Sync(_) => decode_binary(client, frame).map(Some),
        YjsFrame::AwarenessQuery => Ok(Some(RoomCmd::AwarenessQuery { client })),
        YjsFrame::Awareness(entries) => {
            // A provider speaks for its own client only; entries about others
            // (echoes of what we sent it) are ignored.
            let own = *awareness_id.get_or_insert(entries.first().map_or(0, |e| e.client));
            let Some(entry) = entries.into_iter().find(|e| e.client == own) else {
                return Ok(None);
            };
            if entry.state.len() > MAX_PRESENCE_BYTES {
                return Err((
                    close::BAD_MESSAGE,
                    format!("awareness state larger than {MAX_PRESENCE_BYTES} bytes"),
                ));
            }
            let fallback = PALETTE[(client.0 % PALETTE.len() as u64) as usize];
            Ok(Some(RoomCmd::Presence {
                client,
                presence: presence_from_state(&entry.state, fallback),
                awareness: Some((entry.client, entry.clock)),
            }))
        }
    }
}

/// Colours for Yjs users whose awareness names none.
const PALETTE: [&str; 8] = [
    "#e06c75", "#98c379", "#e5c07b", "#61afef", "#c678dd", "#56b6c2", "#d19a66", "#be5046",
];

/// Decodes a binary frame into a room command, or the close to answer it with.
fn decode_binary(client: ClientId, frame: Bytes) -> Result<RoomCmd, (u16, String)> {
    let decoded = SyncFrame::decode(&frame)
        .map_err(|err| (close::BAD_MESSAGE, format!("bad sync frame: {err}")))?;
    match decoded {
        SyncFrame::Step1(state_vector) => Ok(RoomCmd::StateVector {
            client,
            state_vector,
        }),
        SyncFrame::Step2(payload) | SyncFrame::Update(payload) => {
            let invalid = |why: String| (close::INVALID_UPDATE, format!("invalid update: {why}"));
            // Check the structure first: yrs trusts counts and nesting (see `guard`).
            check_update_v1(&payload).map_err(|err| invalid(err.to_string()))?;
            let update = catch_unwind(|| Update::decode_v1(&payload))
                .map_err(|_| invalid("the update made the decoder panic".into()))?
                .map_err(|err| invalid(err.to_string()))?;
            // The payload is the tail of the frame (decode checked nothing
            // follows it), so it can be shared instead of copied.
            let raw = frame.slice(frame.len() - payload.len()..);
            Ok(RoomCmd::Update {
                received: std::time::Instant::now(),
                client,
                update,
                raw,
            })
        }
    }
}

/// Most frames written between two flushes: a burst of relayed updates goes
/// out in a few syscalls instead of one each.
const MAX_BATCH: usize = 64;

/// Drains the outbox into the socket and sends a ping every `heartbeat`.
async fn write_loop(
    mut sink: SplitSink<WebSocket, Message>,
    outbox: OutboxReceiver,
    heartbeat: Duration,
    counters: Arc<FrameCounters>,
) {
    let OutboxReceiver {
        mut frames,
        mut control,
    } = outbox;
    let mut ping = tokio::time::interval_at(Instant::now() + heartbeat, heartbeat);
    loop {
        let first = tokio::select! {
            biased;
            frame = control.recv() => {
                let _ = timeout(CLOSE_GRACE, sink.send(Message::Close(Some(frame)))).await;
                break;
            }
            message = frames.recv() => match message {
                Some(message) => message,
                None => break,
            },
            _ = ping.tick() => Message::Ping(Bytes::new()),
        };
        let batch = async {
            let mut message = first;
            let mut written = 0;
            loop {
                let is_close = matches!(message, Message::Close(_));
                counters.count(&message);
                sink.feed(message).await?;
                written += 1;
                if is_close {
                    sink.flush().await?;
                    return Ok::<bool, axum::Error>(true);
                }
                match frames.try_next() {
                    Some(next) if written < MAX_BATCH => message = next,
                    Some(next) => {
                        // Flush what we have and start the next batch with it.
                        sink.flush().await?;
                        written = 0;
                        message = next;
                    }
                    None => break,
                }
            }
            sink.flush().await?;
            Ok(false)
        };
        let sent = tokio::select! {
            sent = batch => sent,
            // A client that stopped reading can block the send forever; an
            // urgent close (e.g. slow consumer) then just drops the socket.
            _ = control.recv() => break,
        };
        match sent {
            Ok(false) => {}
            Ok(true) | Err(_) => break,
        }
    }
}

impl AppState {
    fn next_client_id(&self) -> u64 {
        self.next_client
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }
}
