//! The terminal client's WebSocket: a `tandem.v1` upgrade over plain TCP
//! (tokio-tungstenite), and the messages a session's frames travel in.
//!
//! It offers no compression: the server then sends every frame as it is,
//! which is what `--frames` shows anyway (DevTools shows a browser's
//! frames after inflating them).

use anyhow::Context as _;
use tandem_shared::SUBPROTOCOL;
use tandem_shared::session::{Outgoing, WireFrame};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::http::header::SEC_WEBSOCKET_PROTOCOL;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// An open `tandem.v1` socket.
pub(super) type Socket = WebSocketStream<TcpStream>;

/// What the client takes in one message: a sync step 2 carries the whole
/// document (up to the server's `--max-document-bytes`, 64 MiB by
/// default), past tungstenite's 16 MiB default. Browsers have no limit.
const MAX_INCOMING: usize = 256 << 20;

/// Opens `ws://host:port/ws/{room}`, asking for `tandem.v1`; fails unless
/// the server agreed to it.
pub(super) async fn open(url: &str) -> anyhow::Result<Socket> {
    let mut request = url
        .into_client_request()
        .with_context(|| format!("{url} is not a WebSocket URL"))?;
    request.headers_mut().insert(
        SEC_WEBSOCKET_PROTOCOL,
        HeaderValue::from_static(SUBPROTOCOL),
    );
    let host = request.uri().host().unwrap_or("localhost").to_owned();
    let port = request.uri().port_u16().unwrap_or(80);
    let tcp = TcpStream::connect((host.as_str(), port))
        .await
        .with_context(|| format!("cannot reach {host}:{port}"))?;
    // Keystrokes go out at once, as the page's do.
    tcp.set_nodelay(true)?;
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_INCOMING))
        .max_frame_size(Some(MAX_INCOMING));
    let (socket, response) =
        tokio_tungstenite::client_async_with_config(request, tcp, Some(config))
            .await
            .with_context(|| format!("the upgrade to {url} failed"))?;
    let agreed = response.headers().get(SEC_WEBSOCKET_PROTOCOL);
    if agreed.map(HeaderValue::as_bytes) != Some(SUBPROTOCOL.as_bytes()) {
        anyhow::bail!("{url} does not speak {SUBPROTOCOL}: is it a Tandem server?");
    }
    Ok(socket)
}

/// The WebSocket message that carries a frame the session made.
pub(super) fn message(frame: &Outgoing) -> Message {
    match frame.to_wire() {
        WireFrame::Text(text) => Message::Text(text.into()),
        WireFrame::Binary(bytes) => Message::Binary(bytes.into()),
    }
}
