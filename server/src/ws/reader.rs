//! The connection's read loops: a Tandem client's `hello` ([`read_hello`]),
//! then frames from the client to the room ([`read_loop`]).
//!
//! Until the hello arrives nothing else is taken: pings and pongs are
//! ignored, any other frame is refused, and without a hello for two
//! heartbeat intervals the connection is closed with
//! [`CloseCode::HeartbeatTimeout`], as any silent one is.
//!
//! Each frame resets the heartbeat deadline (silence for two heartbeat
//! intervals closes with [`CloseCode::HeartbeatTimeout`]), data frames pass a
//! token bucket ([`CloseCode::RateLimited`] past it), and are decoded
//! ([`FrameDecoder`]) into a command for the room, a direct reply, or a
//! refusal. The loop ends at the client's close, a refusal, the server's
//! shutdown, or the end of the stream; it reports which ([`ReadEnd`]) so the
//! connection can finish the close handshake.

use std::num::NonZeroU32;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes};
use futures_util::StreamExt;
use futures_util::stream::SplitStream;
use governor::{Quota, RateLimiter};
use tandem_shared::ClientId;
use tandem_shared::close::{Close, CloseCode};
use tokio::time::{Instant, sleep_until};
use tokio_tungstenite::tungstenite;
use tracing::debug;

use super::decode::{BeforeHello, FrameDecoder, Inbound, before_hello, read_error};
use super::handshake::Socket;
use crate::AppState;
use crate::room::{Dialect, Outbox, RoomHandle};

/// The read half of a connection's socket.
pub(super) type Stream = SplitStream<Socket>;

/// A message tungstenite read, as the decoder and the counters take it.
pub(super) fn from_wire(message: tungstenite::Message) -> Message {
    match message {
        // tungstenite checked the text: the second check cannot fail.
        tungstenite::Message::Text(text) => match Utf8Bytes::try_from(bytes::Bytes::from(text)) {
            Ok(text) => Message::Text(text),
            Err(_) => Message::Binary(bytes::Bytes::new()),
        },
        tungstenite::Message::Binary(bytes) => Message::Binary(bytes),
        tungstenite::Message::Ping(bytes) => Message::Ping(bytes),
        tungstenite::Message::Pong(bytes) => Message::Pong(bytes),
        tungstenite::Message::Close(frame) => Message::Close(frame.map(|frame| CloseFrame {
            code: frame.code.into(),
            reason: Utf8Bytes::from(frame.reason.as_str()),
        })),
        // Only written, never read: tungstenite returns whole messages.
        tungstenite::Message::Frame(frame) => Message::Binary(frame.into_payload()),
    }
}

/// How the reader loop ended.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum ReadEnd {
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

/// How the wait for a Tandem client's hello ended.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum HelloEnd {
    /// The hello came, with this key (or none).
    Hello(Option<String>),
    /// It did not come in time, or something else came first: the close
    /// that refuses the connection.
    Refused(Close),
    /// The client sent a close frame first.
    ClientClosed,
    /// The stream ended or failed.
    Gone,
    /// The server is shutting down.
    Shutdown,
}

/// Waits for the hello, the first frame of a Tandem connection, for at most
/// two heartbeat intervals.
pub(super) async fn read_hello(stream: &mut Stream, state: &AppState) -> HelloEnd {
    let wait = state.config.heartbeat * 2;
    let deadline = Instant::now() + wait;
    loop {
        let next = tokio::select! {
            next = stream.next() => next,
            () = sleep_until(deadline) => {
                let late = format!("no hello within {}", seconds(wait));
                return HelloEnd::Refused(Close::new(CloseCode::HeartbeatTimeout, late));
            }
            () = state.shutdown.cancelled() => return HelloEnd::Shutdown,
        };
        let message = match next {
            Some(Ok(message)) => from_wire(message),
            Some(Err(err)) => {
                return match read_error(err, state.config.max_message_bytes) {
                    Some(close) => HelloEnd::Refused(close),
                    None => HelloEnd::Gone,
                };
            }
            None => return HelloEnd::Gone,
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

/// `wait` for people: `60 s`, or `0.4 s` under a second.
fn seconds(wait: Duration) -> String {
    if wait.subsec_millis() == 0 {
        format!("{} s", wait.as_secs())
    } else {
        format!("{:.1} s", wait.as_secs_f64())
    }
}

/// Reads `client`'s frames until the connection ends, forwarding them to
/// `room` and answering through `outbox`.
pub(super) async fn read_loop(
    stream: &mut Stream,
    room: &RoomHandle,
    outbox: &Outbox,
    client: ClientId,
    state: &AppState,
    dialect: Dialect,
) -> ReadEnd {
    let silence_limit = state.config.heartbeat * 2;
    let mut deadline = Instant::now() + silence_limit;
    let mut decoder = FrameDecoder::new(client, dialect);
    let rate = NonZeroU32::new(state.config.rate_limit).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(state.config.rate_burst).unwrap_or(rate);
    let limiter = RateLimiter::direct(Quota::per_second(rate).allow_burst(burst));
    let refuse = |close: Close| {
        outbox.close(close);
        ReadEnd::ServerClosed
    };
    loop {
        let next = tokio::select! {
            next = stream.next() => next,
            () = sleep_until(deadline) => {
                let silence = format!("nothing heard for {}", seconds(silence_limit));
                return refuse(Close::new(CloseCode::HeartbeatTimeout, silence));
            }
            () = state.shutdown.cancelled() => return ReadEnd::Shutdown,
        };
        deadline = Instant::now() + silence_limit;
        let message = match next {
            Some(Ok(message)) => from_wire(message),
            Some(Err(err)) => {
                return match read_error(err, state.config.max_message_bytes) {
                    Some(close) => refuse(close),
                    None => ReadEnd::Gone,
                };
            }
            None => return ReadEnd::Gone,
        };
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
                if room.send(cmd).await.is_err() {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_read_in_seconds() {
        assert_eq!(seconds(Duration::from_secs(60)), "60 s");
        assert_eq!(seconds(Duration::from_millis(400)), "0.4 s");
        assert_eq!(seconds(Duration::from_millis(1500)), "1.5 s");
    }
}
