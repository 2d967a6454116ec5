//! The network side: the WebSocket to `/ws/{room}` and everything about it,
//! as a thin host around the shared sans-I/O `ClientSession` (which owns the
//! handshake, the `saved` counters, the rights and the presence table).
//!
//! - [`connection`]: the page's handle: starts the task, passes requests and presence.
//! - [`lifecycle`]: the task across sockets: attempts, countdown, offline
//!   wait, give-up (the decisions pure, tested).
//! - [`serve`]: one socket, driving the session with every frame, edit and
//!   presence report; how a connection ends.
//! - [`recording_socket`]: the socket as the connection uses it; every frame in and out
//!   is recorded for the inspector there.
//! - [`link`]: the heartbeat: pings and dead-socket detection (pure, tested).
//! - [`inputs`]: what the task reacts to ([`Control`] among them), polled in priority order.
//! - [`signals`]: the signals the connection writes, from the session's state.
//! - [`page_socket`]: the socket a `pagehide` handler closes synchronously.
//! - [`backoff`]: when to retry, from the close table (pure, tested).
//! - [`status`]: what the header shows about connection and saving (pure, tested).
//! - [`http`]: the JSON API next to the socket (create a room, download).
//! - [`access`]: what the page shows when its link is narrowed or revoked.

mod access;
mod backoff;
mod connection;
mod http;
mod inputs;
mod lifecycle;
mod link;
mod page_socket;
mod recording_socket;
mod serve;
mod signals;
mod status;

pub(crate) use access::AccessNotice;
pub(crate) use connection::Connection;
pub(crate) use http::{ExportFormat, create_room, download_text, fetch, read_text};
pub(crate) use inputs::Control;
pub(crate) use page_socket::PageSocket;
pub(crate) use signals::SessionSignals;
pub(crate) use status::{Announcements, ConnectionState, SaveState, save_key, save_label};

use std::rc::Rc;

use tandem_shared::ClientSession;

use crate::editor::SharedDoc;

/// The session this page drives: the shared protocol state machine over the
/// page's document.
type PageSession = ClientSession<Rc<SharedDoc>>;
