//! A WebSocket echo server on Tandem's transport (the same handshake,
//! codec, permessage-deflate, limits and close codes), for conformance
//! suites such as Autobahn|Testsuite's fuzzingclient. Only
//! `server/examples/ws_echo.rs` runs it: the product's router never routes
//! to it.

use std::io;
use std::sync::Arc;

use axum::Router;
use axum::extract::ws::Message;
use axum::response::Response;
use axum::routing::get;
use tokio::net::TcpListener;

use super::connection::finish;
use super::handshake::{SocketOptions, Upgrade, Upgraded};
use super::outbox::outbox;
use super::socket::{SocketListener, into_make_service};
use super::wire::{Event, Wire, WireOptions};
use crate::metrics::FrameCounters;
use crate::room::Outbound;

/// Largest message echoed: Autobahn's largest cases send 16 MiB.
const LIMIT: usize = 64 << 20;

/// Serves the echo endpoint at `/` on `listener` until the process ends.
pub async fn serve(listener: TcpListener) -> io::Result<()> {
    let router = Router::new().route("/", get(upgrade));
    axum::serve(SocketListener::new(listener), into_make_service(router)).await
}

async fn upgrade(ws: Upgrade) -> Response {
    let options = SocketOptions {
        protocol: None,
        deflate: true,
        send_buffer: 0,
    };
    ws.respond(options, echo)
}

/// Sends every data message back, compressed when the extension was agreed
/// (whatever its size, so a suite's compression cases see it used).
async fn echo(upgraded: Upgraded) {
    // Unbounded: the suite sends as fast as it likes and reads everything.
    let (outbox, rx) = outbox(usize::MAX, usize::MAX);
    let options = WireOptions {
        deflate: upgraded.deflate,
        deflate_from: 0,
        limit: LIMIT,
        counters: Arc::new(FrameCounters::new("ws_echo_frames", "ws_echo_bytes")),
        control: upgraded.control,
    };
    let mut wire = Wire::new(upgraded.io, rx, options);
    loop {
        match wire.next().await {
            Event::Message(Message::Text(text)) => {
                if outbox
                    .push(Outbound::text(text.as_str().to_owned()))
                    .is_err()
                {
                    break;
                }
            }
            Event::Message(Message::Binary(bytes)) => {
                if outbox.push(Outbound::binary(bytes)).is_err() {
                    break;
                }
            }
            // Pings are answered and closes replied to by the wire.
            Event::Message(Message::Close(_)) | Event::Closing | Event::Shutdown => break,
            Event::Message(_) => {}
            Event::Refused(close) => {
                outbox.close(close);
                break;
            }
            Event::Ended => return,
        }
    }
    drop(outbox);
    finish(&mut wire).await;
}
