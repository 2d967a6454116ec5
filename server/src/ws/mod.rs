//! The WebSocket endpoint, from the upgrade request to the end of a connection.
//!
//! | file | concept |
//! |---|---|
//! | `handshake` | the opening handshake done by hand (extensions, the subprotocol, the raw upgraded stream) |
//! | `echo` | a dev-only echo server on this transport, for conformance suites (`server/examples/ws_echo.rs`; never routed) |
//! | `frame` | the server's RFC 6455 codec, without I/O: client frames decoded and checked (close codes for every violation), compressed messages inflated, server frame headers |
//! | `wire` | one connection's socket from its one task: reads through the codec from a per-thread scratch buffer, the outbox written vectored, pings, the close handshake |
//! | `heartbeat` | one server-wide task: pings every connection each interval, closes the silent (4003), tells everyone of shutdown |
//! | `outbox` | a connection's shared state: its bounded send queue, the urgent close slot, the heartbeat's asks; the room's [`Recipient`](crate::room::Recipient) for that member |
//! | `send_queue` | the bounded queue itself (messages and bytes; one oversized message at a time) |
//! | `compressed` | a relayed message compressed once for all its recipients |
//! | `socket` | the TCP socket under each connection: the listener and make-service that let an upgrade bound its send buffer and reset it when cut |
//! | `deflate` | permessage-deflate: negotiation, compression and inflation (public: the native clients' adapter in `tandem_testkit::deflate_io` inflates with it) |
//! | `upgrade` | `ws_handler`/`yjs_handler`: checks before the upgrade (origin, room name, subprotocol, no key in a `/ws/` URL, shutdown) |
//! | `admission` | the connection bounds and the key's right, or the close that refuses them |
//! | `connection` | `handle_socket`: one connection's life (hello, admission, join, reading, shutdown, close handshake) |
//! | `decode` | a first frame as a `hello`, and each later frame a client sends as a room command, a reply, or a refusal (no I/O) |
//! | `reader` | the wait for a Tandem client's `hello`; the read loop: rate limit, decoding, forwarding to the room |
//!
//! A connection is one task and one small future: it polls its socket, its
//! outbox and the heartbeat's asks together ([`wire::Wire`]); rare, long waits (the join, a full room inbox, the
//! close handshake) are boxed futures that exist only while they run. An
//! idle connection holds no buffer and no timer. After a close frame is
//! sent or received the connection keeps reading until the peer's close
//! arrives, so the close handshake completes.

mod admission;
mod compressed;
mod connection;
mod decode;
pub mod deflate;
pub mod echo;
mod frame;
mod handshake;
mod heartbeat;
mod outbox;
mod reader;
mod send_queue;
mod socket;
mod upgrade;
mod wire;

use std::time::Duration;

pub(crate) use heartbeat::Heartbeats;
pub(crate) use socket::{SocketListener, into_make_service};
pub(crate) use upgrade::{ws_handler, yjs_handler};

/// How long to wait for a close frame to go out and for the client's half
/// of the close handshake.
const CLOSE_GRACE: Duration = Duration::from_secs(3);
