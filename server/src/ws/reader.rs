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

use std::future::Future;
use std::pin::Pin;

use axum::extract::ws::Message;
use governor::DefaultDirectRateLimiter;
use tandem_shared::close::{Close, CloseCode};
use tracing::debug;

use super::decode::{BeforeHello, FrameDecoder, Hello, Inbound, before_hello};
use super::outbox::Outbox;
use super::wire::{Event, Wire, count_incoming};
use crate::AppState;
use crate::room::{Outbound, RoomGone, RoomHandle};

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
    /// The hello came: its key (or none), author secret and colour.
    Hello(Hello),
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
        count_incoming(&state.frames_in, &message);
        match before_hello(&message) {
            BeforeHello::Hello(hello) => return HelloEnd::Hello(hello),
            BeforeHello::Wait => {}
            BeforeHello::Closed => return HelloEnd::ClientClosed,
            BeforeHello::Refused(close) => {
                debug!(code = close.code.number(), reason = %close.reason, "refused a first frame");
                return HelloEnd::Refused(close);
            }
        }
    }
}

/// What the connection needs to read: its socket, room, outbox, decoder
/// and token bucket.
pub(super) struct Reading<'a> {
    pub wire: &'a mut Wire,
    pub room: &'a RoomHandle,
    pub outbox: &'a Outbox,
    pub state: &'a AppState,
    pub decoder: &'a mut FrameDecoder,
    pub limiter: &'a DefaultDirectRateLimiter,
}

/// What to do after one event.
enum Step {
    /// Read on.
    Next,
    /// The connection ends.
    End(ReadEnd),
    /// Wait for room in the room's inbox, then read on. Boxed: the wait is
    /// rare, and its future (with the command) should not sit in every
    /// connection's task.
    Wait(Pin<Box<dyn Future<Output = Result<(), RoomGone>> + Send + 'static>>),
}

/// Reads the client's frames until the connection ends, forwarding them to
/// the room and answering through the outbox.
///
/// The loop awaits only two things, the next event and (rarely) a boxed
/// wait: whatever is decoded is handled in [`step`], a plain function, so
/// no message or command is held across an await and the connection's
/// future stays small.
pub(super) async fn read_loop(mut r: Reading<'_>) -> ReadEnd {
    loop {
        let event = r.wire.next().await;
        match step(&mut r, event) {
            Step::Next => {}
            Step::End(end) => return end,
            Step::Wait(wait) => {
                if wait.await.is_err() {
                    return stopped(r.outbox);
                }
            }
        }
    }
}

/// The room failed and has already queued a close for this connection;
/// this one is the fallback.
fn stopped(outbox: &Outbox) -> ReadEnd {
    outbox.close(Close::new(
        CloseCode::Internal,
        "the document stopped; reconnect",
    ));
    ReadEnd::ServerClosed
}

/// Handles one event: counts, rate-limits, decodes and forwards.
fn step(r: &mut Reading<'_>, event: Event) -> Step {
    let refuse = |close: Close| {
        r.outbox.close(close);
        Step::End(ReadEnd::ServerClosed)
    };
    let message = match event {
        Event::Message(message) => message,
        Event::Refused(close) => return refuse(close),
        Event::Closing => return Step::End(ReadEnd::ServerClosed),
        Event::Shutdown => return Step::End(ReadEnd::Shutdown),
        Event::Ended => return Step::End(ReadEnd::Gone),
    };
    r.wire.heard();
    if matches!(message, Message::Text(_) | Message::Binary(_)) && r.limiter.check().is_err() {
        let rate = r.state.config.rate_limit.max(1);
        let flood = format!("more than {rate} messages per second; slow down");
        return refuse(Close::new(CloseCode::RateLimited, flood));
    }
    count_incoming(&r.state.frames_in, &message);
    let inbound = match message {
        Message::Binary(frame) => r.decoder.binary(frame),
        Message::Text(text) => r.decoder.text(&text),
        Message::Close(_) => return Step::End(ReadEnd::ClientClosed),
        Message::Ping(_) | Message::Pong(_) => return Step::Next,
    };
    match inbound {
        Ok(Inbound::Room(cmd)) => match r.room.try_send(cmd) {
            Ok(()) => Step::Next,
            Err(Some(cmd)) => {
                let room = r.room.clone();
                Step::Wait(Box::pin(async move { room.send(cmd).await }))
            }
            Err(None) => Step::End(stopped(r.outbox)),
        },
        Ok(Inbound::Reply(reply)) => {
            if r.outbox.push(Outbound::json(&reply)).is_err() {
                return refuse(Close::new(
                    CloseCode::SlowConsumer,
                    "you fell too far behind; reconnect to resync",
                ));
            }
            Step::Next
        }
        Ok(Inbound::Nothing) => Step::Next,
        Err(close) => {
            debug!(code = close.code.number(), reason = %close.reason, "refused a frame");
            refuse(close)
        }
    }
}
