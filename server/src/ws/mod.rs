//! The WebSocket endpoint, from the upgrade request to the end of a connection.
//!
//! | file | concept |
//! |---|---|
//! | `handshake` | the opening handshake done by hand (extensions, the subprotocol, the raw tungstenite stream) |
//! | `echo` | a dev-only echo server on this transport, for conformance suites (`server/examples/ws_echo.rs`; never routed) |
//! | `compressed` | a relayed message compressed once for all its recipients |
//! | `socket` | the TCP socket under each connection: the listener and make-service that let an upgrade bound its send buffer and reset it when cut |
//! | `deflate` | permessage-deflate: negotiation, compression, and the adapter that inflates incoming messages under tungstenite |
//! | `upgrade` | `ws_handler`/`yjs_handler`: checks before the upgrade (origin, room name, subprotocol, no key in a `/ws/` URL, shutdown) |
//! | `admission` | the connection bounds and the key's right, or the close that refuses them |
//! | `connection` | `handle_socket`: one connection's life (hello, admission, join, reader and writer, shutdown, close handshake) |
//! | `decode` | a first frame as a `hello`, and each later frame a client sends as a room command, a reply, or a refusal (no I/O) |
//! | `reader` | the wait for a Tandem client's `hello`; the read loop: heartbeat deadline, rate limit, decoding, forwarding to the room |
//! | `writer` | the write loop: drains the connection's outbox into the socket, pings |
//!
//! A connection is a reader loop (its own task) and a writer task fed by the
//! connection's [`Outbox`](crate::room::Outbox). When either side ends, the
//! other follows; after a close frame is sent or received the reader keeps
//! reading until the peer's close arrives, so the close handshake completes.

mod admission;
mod compressed;
mod connection;
mod decode;
pub mod deflate;
pub mod echo;
mod handshake;
mod reader;
mod socket;
mod upgrade;
mod writer;

use std::time::Duration;

pub(crate) use socket::{SocketListener, into_make_service};
pub(crate) use upgrade::{ws_handler, yjs_handler};

/// How long to wait for the client's half of a close handshake, and for the
/// writer to get a final frame out.
const CLOSE_GRACE: Duration = Duration::from_secs(3);
