//! A WebSocket echo server on Tandem's transport (the same handshake,
//! permessage-deflate, limits and close codes), for conformance suites such
//! as Autobahn|Testsuite's fuzzingclient. Only `server/examples/ws_echo.rs`
//! runs it: the product's router never routes to it.

use std::io;

use axum::Router;
use axum::response::Response;
use axum::routing::get;
use futures_util::{SinkExt as _, StreamExt as _};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use super::decode::read_error;
use super::handshake::{SocketOptions, Upgrade, Upgraded};
use super::reader::from_wire;
use super::socket::{SocketListener, into_make_service};
use super::writer::to_wire;

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
        config: WebSocketConfig::default()
            .max_message_size(Some(LIMIT))
            .max_frame_size(Some(LIMIT)),
    };
    ws.respond(options, echo)
}

/// Sends every data message back, compressed when the extension was agreed
/// (whatever its size, so a suite's compression cases see it used).
async fn echo(upgraded: Upgraded) {
    let Upgraded {
        mut socket,
        deflate,
        ..
    } = upgraded;
    let deflate_from = deflate.then_some(0);
    while let Some(next) = socket.next().await {
        let message = match next {
            Ok(message @ (tungstenite::Message::Text(_) | tungstenite::Message::Binary(_))) => {
                message
            }
            // Pings are answered and closes replied to by tungstenite; keep
            // reading until the stream ends.
            Ok(_) => continue,
            Err(err) => {
                if let Some(close) = read_error(err, LIMIT) {
                    let frame = tungstenite::protocol::CloseFrame {
                        code: close.code.number().into(),
                        reason: close.reason.into(),
                    };
                    let _ = socket.send(tungstenite::Message::Close(Some(frame))).await;
                    while let Some(Ok(_)) = socket.next().await {}
                }
                return;
            }
        };
        if socket
            .send(to_wire(from_wire(message), deflate_from))
            .await
            .is_err()
        {
            return;
        }
    }
}
