//! The page's handle on the connection task: [`Connection::start`] spawns
//! the task for one document (its [`Lifecycle`] of sockets, each served by
//! driving the shared `ClientSession`), and the handle passes the page's
//! requests ([`Control`]) and this tab's presence to it.

use std::rc::Rc;

use futures_channel::mpsc::{self, UnboundedSender};
use tandem_shared::{ClientSession, Presence, RoomId};

use super::inputs::{Control, Inputs};
use super::lifecycle::Lifecycle;
use super::page_socket::PageSocket;
use super::signals::SessionSignals;
use crate::editor::OpenedDoc;

/// A handle on the connection task; cheap to clone, `Send`, so reactive
/// callbacks can hold it.
#[derive(Debug, Clone)]
pub(crate) struct Connection {
    /// The page's requests to the task.
    control: UnboundedSender<Control>,
    /// This tab's presence, as the page reports it. Unbounded like the
    /// outgoing updates: the task drains it at once and keeps only the latest.
    presence: UnboundedSender<Presence>,
}

impl Connection {
    /// Starts the task for `room` on the opened document. `key` is the
    /// share-link key from the page address's fragment, if any: each
    /// connection presents it in its `hello`, never in the socket's URL,
    /// with `author`: this browser's author secret and the colour it would
    /// like (see `tandem_shared::authors`).
    pub(crate) fn start(
        room: &RoomId,
        key: Option<&str>,
        author: (String, String),
        opened: OpenedDoc,
        signals: SessionSignals,
    ) -> (Self, Rc<PageSocket>) {
        let (control, control_rx) = mpsc::unbounded();
        let (presence, presence_rx) = mpsc::unbounded();
        let page_socket = Rc::new(PageSocket::default());
        let origin = web_sys::window()
            .and_then(|w| w.location().origin().ok())
            .unwrap_or_default();
        let lifecycle = Lifecycle::new(
            socket_url(&origin, room),
            ClientSession::new(opened.doc, opened.unsaved)
                .with_key(key.map(str::to_owned))
                .with_author(author.0, Some(author.1)),
            Inputs::new(control_rx, opened.outgoing, presence_rx),
            signals,
            Rc::clone(&page_socket),
        );
        wasm_bindgen_futures::spawn_local(lifecycle.run());
        (Self { control, presence }, page_socket)
    }

    /// Sends `request` to the task (ignored once it ended).
    pub(crate) fn request(&self, request: Control) {
        let _ = self.control.unbounded_send(request);
    }

    /// Where the page reports this tab's presence (name, colour or cursor).
    /// The task sends the latest at most once per 50 ms, and again after
    /// each reconnect.
    pub(crate) fn presence_inbox(&self) -> UnboundedSender<Presence> {
        self.presence.clone()
    }
}

/// The socket URL for a page at `origin` (`http(s)://host`):
/// `ws(s)://host/ws/{room}`, with no key (that goes in the `hello`).
fn socket_url(origin: &str, room: &RoomId) -> String {
    room.ws_url(origin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_url_follows_the_page() {
        let room: RoomId = "quiet-otter".parse().expect("valid room");
        assert_eq!(
            socket_url("http://127.0.0.1:8080", &room),
            "ws://127.0.0.1:8080/ws/quiet-otter"
        );
        assert_eq!(
            socket_url("https://tandem.example", &room),
            "wss://tandem.example/ws/quiet-otter"
        );
    }
}
