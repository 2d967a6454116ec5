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

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tandem_shared::{
    ClientId, ClientMsg, ErrorCode, Presence, RoomId, SUBPROTOCOL, ServerMsg, SyncFrame, close,
};
use tokio::time::{Instant, sleep_until, timeout};
use tracing::{Instrument, debug, info, warn};
use yrs::Update;
use yrs::updates::decoder::Decode;

use crate::AppState;
use crate::room::{Outbox, OutboxReceiver, RoomCmd, RoomHandle, outbox};

/// How long to wait for the client's half of a close handshake, and for the
/// writer to get a final frame out.
const CLOSE_GRACE: Duration = Duration::from_secs(3);

/// `GET /ws/{room}`: validates the room name and subprotocol, then upgrades.
pub(crate) async fn ws_handler(
    Path(room): Path<String>,
    State(state): State<AppState>,
    ws: WebSocketUpgrade,
) -> Response {
    let room = match RoomId::new(room) {
        Ok(room) => room,
        Err(err) => {
            return (
                StatusCode::BAD_REQUEST,
                format!("invalid room name: {err}\n"),
            )
                .into_response();
        }
    };
    let offered: Vec<&[u8]> = ws.requested_protocols().map(|p| p.as_bytes()).collect();
    if !offered.is_empty() && !offered.contains(&SUBPROTOCOL.as_bytes()) {
        return (
            StatusCode::BAD_REQUEST,
            format!("unsupported subprotocol: this server speaks {SUBPROTOCOL}\n"),
        )
            .into_response();
    }
    drop(offered);
    if state.shutdown.is_cancelled() {
        return (StatusCode::SERVICE_UNAVAILABLE, "server is shutting down\n").into_response();
    }
    let config = &state.config;
    let ws = ws
        .protocols([SUBPROTOCOL])
        .max_message_size(config.max_message_bytes)
        .max_frame_size(config.max_message_bytes);
    let client = ClientId(state.next_client_id());
    // Counted from the upgrade on, so shutdown waits for this connection too.
    let tracked = state.connections.token();
    let span = tracing::info_span!("conn", %room, %client);
    ws.on_upgrade(move |socket| {
        async move {
            handle_socket(socket, state, room, client).await;
            drop(tracked);
        }
        .instrument(span)
    })
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
}

async fn handle_socket(socket: WebSocket, state: AppState, room: RoomId, client: ClientId) {
    let config = state.config.clone();
    let (sink, mut stream) = socket.split();
    let (outbox, outbox_rx) = outbox(config.queue_messages, config.queue_bytes);
    let writer = tokio::spawn(write_loop(sink, outbox_rx, config.heartbeat).in_current_span());

    let read_only = false;

    let end = match join(&state, &room, client, &outbox, read_only).await {
        Some(handle) => {
            debug!("joined");
            let end = read_loop(&mut stream, &handle, &outbox, client, &state).await;
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
        None if state.shutdown.is_cancelled() => {
            outbox.close(
                close::GOING_AWAY,
                "server is shutting down; reconnect shortly",
            );
            ReadEnd::ServerClosed
        }
        None => {
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
    let _ = timeout(CLOSE_GRACE, writer).await;
    info!(?end, "connection closed");
}

/// Joins the room, looking it up again if it unloaded between lookup and join.
async fn join(
    state: &AppState,
    room: &RoomId,
    client: ClientId,
    outbox: &Outbox,
    read_only: bool,
) -> Option<RoomHandle> {
    for _ in 0..3 {
        let handle = state.registry.get_or_create(room)?;
        if handle.join(client, outbox.clone(), read_only).await.is_ok() {
            return Some(handle);
        }
    }
    warn!("room kept going away while joining");
    None
}

async fn read_loop(
    stream: &mut SplitStream<WebSocket>,
    room: &RoomHandle,
    outbox: &Outbox,
    client: ClientId,
    state: &AppState,
) -> ReadEnd {
    let silence_limit = state.config.heartbeat * 2;
    let mut deadline = Instant::now() + silence_limit;
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
        let cmd = match message {
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
                                .send(RoomCmd::Presence { client, presence })
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
            let update = Update::decode_v1(&payload)
                .map_err(|err| (close::INVALID_UPDATE, format!("invalid update: {err}")))?;
            // The payload is the tail of the frame (decode checked nothing
            // follows it), so it can be shared instead of copied.
            let raw = frame.slice(frame.len() - payload.len()..);
            Ok(RoomCmd::Update {
                client,
                update,
                raw,
            })
        }
    }
}

/// Drains the outbox into the socket and sends a ping every `heartbeat`.
async fn write_loop(
    mut sink: SplitSink<WebSocket, Message>,
    mut outbox: OutboxReceiver,
    heartbeat: Duration,
) {
    let mut ping = tokio::time::interval_at(Instant::now() + heartbeat, heartbeat);
    loop {
        let message = tokio::select! {
            biased;
            Some(frame) = outbox.control.recv() => {
                let _ = timeout(CLOSE_GRACE, sink.send(Message::Close(Some(frame)))).await;
                break;
            }
            message = outbox.frames.recv() => match message {
                Some(message) => {
                    outbox.written(&message);
                    message
                }
                None => break,
            },
            _ = ping.tick() => Message::Ping(Bytes::new()),
        };
        let is_close = matches!(message, Message::Close(_));
        let sent = tokio::select! {
            sent = sink.send(message) => sent,
            // A client that stopped reading can block the send forever; an
            // urgent close (e.g. slow consumer) then just drops the socket.
            Some(_) = outbox.control.recv() => break,
        };
        if sent.is_err() || is_close {
            break;
        }
    }
}

impl AppState {
    fn next_client_id(&self) -> u64 {
        self.next_client
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }
}
