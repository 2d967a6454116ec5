//! The WebSocket endpoint, from the upgrade request to the end of a connection.
//!
//! | file | concept |
//! |---|---|
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
mod connection;
mod decode;
mod reader;
mod upgrade;
mod writer;

use std::time::Duration;

pub(crate) use upgrade::{ws_handler, yjs_handler};

/// How long to wait for the client's half of a close handshake, and for the
/// writer to get a final frame out.
const CLOSE_GRACE: Duration = Duration::from_secs(3);
