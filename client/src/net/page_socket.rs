//! The open browser socket, reachable synchronously from a `pagehide`
//! handler: a page entering the back/forward cache is frozen right after
//! `pagehide`, before the connection task could run, and would otherwise
//! keep its connection (and a server slot) open while nobody looks at it.

use std::cell::{Cell, RefCell};

use tandem_shared::close::CloseCode;

/// The current connection's browser socket, shared by the connection task
/// (which attaches and detaches it) and the page's `pagehide` listener.
#[derive(Debug, Default)]
pub(crate) struct PageSocket {
    /// The browser socket of the current connection, if one is open.
    socket: RefCell<Option<web_sys::WebSocket>>,
    /// The page closed it: the task reconnects instead of obeying the code.
    closed_by_page: Cell<bool>,
}

impl PageSocket {
    /// Closes the current socket now (the page is being hidden or unloaded).
    pub(crate) fn close_for_pagehide(&self) {
        if let Some(socket) = self.socket.borrow_mut().take() {
            self.closed_by_page.set(true);
            // Browsers only let pages send 1000 or 3000–4999.
            let _ = socket.close_with_code_and_reason(CloseCode::Normal.number(), "page hidden");
        }
    }

    /// A new connection's socket.
    pub(super) fn attach(&self, socket: web_sys::WebSocket) {
        self.closed_by_page.set(false);
        *self.socket.borrow_mut() = Some(socket);
    }

    /// The connection ended: nothing for `pagehide` to close.
    pub(super) fn detach(&self) {
        self.socket.borrow_mut().take();
    }

    /// Whether the page closed the socket (and forgets it did).
    pub(super) fn take_closed_by_page(&self) -> bool {
        self.closed_by_page.replace(false)
    }
}
