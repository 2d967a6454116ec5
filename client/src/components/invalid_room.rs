//! The page shown for `/d/{room}` when `room` breaks the naming rule; no
//! socket is opened for it.

use leptos::prelude::*;

use super::Logo;
use crate::page::set_page_title;

/// The friendly error page for a bad room name.
#[component]
pub(crate) fn InvalidRoom(
    /// The name as it appeared in the address.
    name: String,
    /// Why it is refused (`InvalidRoomId`'s message).
    error: String,
) -> impl IntoView {
    set_page_title("Document not found — Tandem");
    let shown = if name.is_empty() {
        "(empty)".to_owned()
    } else {
        name
    };
    view! {
        <div class="page">
            <header class="topbar">
                <Logo/>
            </header>
            <main class="message-page" data-testid="invalid-room">
                <div class="message-card">
                    <h1>"This link does not lead to a document"</h1>
                    <p>
                        "The name " <code class="room-code">{shown}</code> " cannot be used: "
                        {error} "."
                    </p>
                    <p class="muted">
                        "Document names use letters, digits, “-” and “_”, up to 64 characters."
                    </p>
                    <a class="btn btn-primary" href="/">
                        "Back to Tandem"
                    </a>
                </div>
            </main>
        </div>
    }
}
