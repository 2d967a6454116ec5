//! What the connection does with what its client sends: a Tandem client's
//! `hello` ([`read_hello`]), then frames to the room ([`read_loop`]).
//!
//! Until the hello arrives nothing else is taken: pings and pongs are
//! ignored, any other frame is refused, and without a hello for two
//! heartbeat intervals the heartbeat closes the connection with
//! [`CloseCode::HeartbeatTimeout`](tandem_shared::close::CloseCode), as it
//! does any silent one (see [`super::heartbeat`]).
//!
//! After it, each frame tells the heartbeat the client is alive, data frames
//! pass a token bucket ([`CloseCode::RateLimited`] past it), and are decoded
//! ([`FrameDecoder`]) into a command for the room, a direct reply, or a
//! refusal. The loop ends at the client's close, a refusal, a close from
//! this side, the server's shutdown, or the end of the stream; it reports
//! which ([`ReadEnd`]) so the connection can finish the close handshake.

use std::num::NonZeroU32;

use axum::extract::ws::Message;
use governor::{Quota, RateLimiter};
use tandem_shared::ClientId;
use tandem_shared::close::{Close, CloseCode};
use tracing::debug;

use super::decode::{BeforeHello, FrameDecoder, Inbound, before_hello};
use super::wire::{Event, Wire};
use crate::AppState;
use crate::room::{Dialect, Outbox, RoomHandle};

/// How the reader loop ended.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum ReadEnd {
    /// The client sent a close frame; the reply is queued.
    ClientClosed,
    /// The stream ended or failed without a close handshake.
    Gone,
    /// This side closed (a refusal, the heartbeat, the room).
    ServerClosed,
    /// The server is shutting down.
    Shutdown,
}

/// How the wait for a Tandem client's hello ended.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum HelloEnd {
    /// The hello came, with this key (or none).
    Hello(Option<String>),
    /// Something else came first: the close that refuses the connection.
    Refused(Close),
    /// It did not come in time: the heartbeat closed the connection.
    TimedOut,
    /// The client sent a close frame first.
    ClientClosed,
    /// The stream ended or failed.
    Gone,
    /// The server is shutting down.
    Shutdown,
}

/// Waits for the hello, the first frame of a Tandem connection (the
/// heartbeat bounds the wait).
pub(super) async fn read_hello(wire: &mut Wire, state: &AppState) -> HelloEnd {
    loop {
        let message = match wire.next().await {
            Event::Message(message) => message,
            Event::Refused(close) => return HelloEnd::Refused(close),
            Event::Closing => return HelloEnd::TimedOut,
            Event::Shutdown => return HelloEnd::Shutdown,
            Event::Ended => return HelloEnd::Gone,
        };
        state.frames_in.count(&message);
        match before_hello(&message) {
            BeforeHello::Hello(key) => return HelloEnd::Hello(key),
            BeforeHello::Wait => {}
            BeforeHello::Closed => return HelloEnd::ClientClosed,
            BeforeHello::Refused(close) => {
                debug!(code = close.code.number(), reason = %close.reason, "refused a first frame");
                return HelloEnd::Refused(close);
            }
        }
    }
}

/// Reads `client`'s frames until the connection ends, forwarding them to
/// `room` and answering through `outbox`.
pub(super) async fn read_loop(
    wire: &mut Wire,
    room: &RoomHandle,
    outbox: &Outbox,
    client: ClientId,
    state: &AppState,
    dialect: Dialect,
) -> ReadEnd {
    let mut decoder = FrameDecoder::new(client, dialect);
    let rate = NonZeroU32::new(state.config.rate_limit).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(state.config.rate_burst).unwrap_or(rate);
    let limiter = RateLimiter::direct(Quota::per_second(rate).allow_burst(burst));
    let refuse = |close: Close| {
        outbox.close(close);
        ReadEnd::ServerClosed
    };
    loop {
        let message = match wire.next().await {
            Event::Message(message) => message,
            Event::Refused(close) => return refuse(close),
            Event::Closing => return ReadEnd::ServerClosed,
            Event::Shutdown => return ReadEnd::Shutdown,
            Event::Ended => return ReadEnd::Gone,
        };
        wire.heard();
        if matches!(message, Message::Text(_) | Message::Binary(_)) && limiter.check().is_err() {
            let flood = format!("more than {rate} messages per second; slow down");
            return refuse(Close::new(CloseCode::RateLimited, flood));
        }
        state.frames_in.count(&message);
        let inbound = match message {
            Message::Binary(frame) => decoder.binary(frame),
            Message::Text(text) => decoder.text(&text),
            Message::Close(_) => return ReadEnd::ClientClosed,
            Message::Ping(_) | Message::Pong(_) => continue,
        };
        match inbound {
            Ok(Inbound::Room(cmd)) => {
                let sent = match room.try_send(cmd) {
                    Ok(()) => true,
                    // Boxed: the wait for room in the inbox is rare, and its
                    // future should not sit in every connection's task.
                    Err(Some(cmd)) => Box::pin(room.send(cmd)).await.is_ok(),
                    Err(None) => false,
                };
                if !sent {
                    // The room failed and has already queued a close for us.
                    let stopped =
                        Close::new(CloseCode::Internal, "the document stopped; reconnect");
                    return refuse(stopped);
                }
            }
            Ok(Inbound::Reply(reply)) => {
                if outbox.push(Message::Text(reply.to_json().into())).is_err() {
                    return refuse(Close::new(
                        CloseCode::SlowConsumer,
                        "you fell too far behind; reconnect to resync",
                    ));
                }
            }
            Ok(Inbound::Nothing) => {}
            Err(close) => {
                debug!(code = close.code.number(), reason = %close.reason, "refused a frame");
                return refuse(close);
            }
        }
    }
}
