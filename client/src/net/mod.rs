//! The network side: the WebSocket to `/ws/{room}` and everything about it.
//!
//! - [`connection`]: the task that owns the socket, the sync handshake, the
//!   save counter, the heartbeat and the reconnect loop.
//! - [`backoff`]: when to retry (pure, tested).
//! - [`status`]: what the header shows about connection and saving (pure, tested).
//! - [`http`]: the JSON API next to the socket (create a room, download).

mod backoff;
mod connection;
mod http;
mod status;

pub(crate) use connection::{Connection, Control, PageSocket, SessionSignals};
pub(crate) use http::{ExportFormat, create_room, download_text};
pub(crate) use status::{ConnectionState, SaveState};
