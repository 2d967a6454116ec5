//! Opening a `tandem.v1` socket and moving a [`ClientSession`]'s frames on
//! and off it.
//!
//! [`request`] is the one place a client sets `Sec-WebSocket-Protocol:
//! tandem.v1`: the test client, the end-to-end peer, the protocol capture
//! and the load generator (which connects its own TCP streams) all build
//! their upgrade request with it. It offers permessage-deflate too, as
//! browsers do, so every native test runs over the extension; the socket
//! sits on [`DeflateIo`], which inflates what the server compressed.
//!
//! [`ClientSession`]: tandem_shared::ClientSession

use futures_util::StreamExt as _;
use tandem_server::deflate::AGREED;
use tandem_shared::SUBPROTOCOL;
use tandem_shared::close::{Close, CloseCode};
use tandem_shared::session::{Outgoing, WireFrame};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::handshake::client::{Request, Response};
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::http::header::{
    SEC_WEBSOCKET_EXTENSIONS, SEC_WEBSOCKET_PROTOCOL,
};
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error, Message};

use crate::deflate_io::{DeflateIo, server_agreed};

/// A client socket as [`open`] makes it.
pub type Socket = WebSocketStream<DeflateIo<TcpStream>>;

/// A socket as `tokio_tungstenite::connect_async` makes it, without the
/// extension: what a stock y-websocket peer uses in the tests.
pub type PlainSocket = WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

/// The upgrade request for `url`, asking for `tandem.v1` and offering
/// permessage-deflate.
pub fn request(url: &str) -> Result<Request, Error> {
    let mut request = url.into_client_request()?;
    request.headers_mut().insert(
        SEC_WEBSOCKET_PROTOCOL,
        HeaderValue::from_static(SUBPROTOCOL),
    );
    request
        .headers_mut()
        .insert(SEC_WEBSOCKET_EXTENSIONS, HeaderValue::from_static(AGREED));
    Ok(request)
}

/// Connects to the host of `request` and upgrades over [`DeflateIo`]; fails
/// when the server agreed to an extension that was not offered.
pub async fn upgrade(
    request: Request,
    config: WebSocketConfig,
) -> Result<(Socket, Response), Error> {
    let uri = request.uri();
    let host = uri.host().unwrap_or("localhost").to_string();
    let port = uri.port_u16().unwrap_or(80);
    let tcp = TcpStream::connect((host.as_str(), port)).await?;
    tcp.set_nodelay(true)?;
    let limit = config.max_message_size.unwrap_or(usize::MAX);
    let (socket, response) = tokio_tungstenite::client_async_with_config(
        request,
        DeflateIo::client(tcp, limit),
        Some(config),
    )
    .await?;
    let answer = response
        .headers()
        .get(SEC_WEBSOCKET_EXTENSIONS)
        .and_then(|v| v.to_str().ok());
    if let Err(refused) = server_agreed(answer) {
        return Err(Error::Io(std::io::Error::other(refused)));
    }
    Ok((socket, response))
}

/// Opens a WebSocket to `url`, asking for `tandem.v1`.
pub async fn open(url: &str) -> Result<Socket, Error> {
    open_with_headers(url, &[]).await
}

/// Opens a WebSocket to `url` with extra request headers (e.g. `Origin`).
pub async fn open_with_headers(
    url: &str,
    headers: &[(&'static str, &str)],
) -> Result<Socket, Error> {
    let mut request = request(url)?;
    for (name, value) in headers {
        let value = HeaderValue::from_str(value).expect("header value");
        request.headers_mut().insert(*name, value);
    }
    Ok(open_request(request).await?.0)
}

/// What a client takes from the server, in bytes: a sync step 2 carries the
/// whole document in one frame (up to `--max-document-bytes`, 64 MiB by
/// default), past tungstenite's 16 MiB frame limit. Browsers have none.
const MAX_INCOMING: usize = 256 << 20;

/// Opens a WebSocket with `request` (from [`request`]) and checks that the
/// server chose `tandem.v1`; the response is for tests that show it.
pub async fn open_request(request: Request) -> Result<(Socket, Response), Error> {
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_INCOMING))
        .max_frame_size(Some(MAX_INCOMING));
    let (socket, response) = upgrade(request, config).await?;
    assert_eq!(
        response
            .headers()
            .get(SEC_WEBSOCKET_PROTOCOL)
            .map(HeaderValue::as_bytes),
        Some(SUBPROTOCOL.as_bytes()),
        "server echoes the subprotocol"
    );
    Ok((socket, response))
}

/// The WebSocket message that carries a frame the session made.
pub fn message(frame: &Outgoing) -> Message {
    match frame.to_wire() {
        WireFrame::Text(text) => Message::Text(text.into()),
        WireFrame::Binary(bytes) => Message::Binary(bytes.into()),
    }
}

/// The close a server sent, as a row of Tandem's close table: a close frame
/// without a code is [`CloseCode::NoStatus`]. A code outside the table fails
/// the test: the server sends only what the table lists.
pub fn close_of(frame: Option<&CloseFrame>) -> Close {
    let Some(frame) = frame else {
        return Close::new(CloseCode::NoStatus, "");
    };
    let number = u16::from(frame.code);
    let Some(code) = CloseCode::from_number(number) else {
        panic!(
            "the server closed with {number} ({}), a code outside tandem_shared::close::TABLE",
            frame.reason
        );
    };
    Close::new(code, frame.reason.as_str())
}

/// Reads whatever is left on `socket` until it ends or stays silent for
/// `quiet`: after a close frame, so tungstenite completes the handshake.
pub async fn read_to_end<S>(socket: &mut S, quiet: std::time::Duration)
where
    S: futures_util::Stream<Item = Result<Message, Error>> + Unpin,
{
    while let Ok(Some(Ok(_))) = tokio::time::timeout(quiet, socket.next()).await {}
}
