//! One open document: builds the page's [`SharedDoc`] and [`Connection`],
//! lays out header, editor and footer, and tears everything down when the
//! page goes (socket closed, timers dropped, listeners removed, local copy
//! written).

use std::rc::Rc;

use leptos::prelude::*;
use send_wrapper::SendWrapper;
use tandem_shared::RoomId;
use web_sys::VisibilityState;

use super::home::set_page_title;
use super::{ConnectionBadge, DocStatsView, Logo, SaveBadge, ShareButton, TextEditor, TitleField};
use crate::editor::{DocSignals, SharedDoc};
use crate::listener::EventListener;
use crate::net::{Connection, Control, PageSocket, SessionSignals};
use crate::recent;

/// The editor page for `room`.
#[component]
pub(crate) fn DocumentView(room: RoomId) -> impl IntoView {
    let doc_signals = DocSignals::new();
    let session = SessionSignals::new();
    let opened = SharedDoc::open(&room, doc_signals);
    let doc = Rc::clone(&opened.doc);
    let key = page_key();
    let (connection, page_socket) = Connection::start(&room, key.as_deref(), opened, session);
    let listeners = page_listeners(&connection, &page_socket, &doc);

    let name = room.to_string();
    Effect::new(move |_| {
        let title = doc_signals.title.get();
        let title = title.trim();
        let shown = if title.is_empty() {
            "Untitled document"
        } else {
            title
        };
        set_page_title(&format!("{shown} — Tandem"));
        recent::remember(&name, title);
    });

    // `on_cleanup` wants `Send`; the wrapper is only ever opened on this thread.
    let teardown = SendWrapper::new((connection.clone(), Rc::clone(&doc), listeners));
    on_cleanup(move || {
        let (connection, doc, listeners) = teardown.take();
        drop(listeners);
        doc.flush_local_copy();
        connection.request(Control::Stop);
    });

    let url_room = room.to_string();
    let room_name = move || {
        session
            .room
            .get()
            .map_or_else(|| url_room.clone(), |r| r.to_string())
    };
    view! {
        <div class="page doc-page">
            <header class="doc-header">
                <div class="doc-header-main">
                    <Logo/>
                    <div class="title-block">
                        <TitleField doc=Rc::clone(&doc) read_only=session.read_only/>
                        <span class="room-name" title="Document name">
                            <span class="room-label">"Room"</span>
                            <span data-testid="room-name">{room_name}</span>
                        </span>
                    </div>
                </div>
                <div class="doc-header-status">
                    <ConnectionBadge state=session.connection connection=connection/>
                    <SaveBadge state=session.save/>
                    <ShareButton room=room share=session.share/>
                </div>
            </header>
            <main class="doc-main">
                <div class="paper">
                    <TextEditor doc=doc read_only=session.read_only/>
                </div>
            </main>
            <footer class="doc-footer">
                <DocStatsView stats=doc_signals.stats/>
                {move || {
                    session
                        .read_only
                        .get()
                        .then(|| view! { <span class="badge">"View only"</span> })
                }}
            </footer>
        </div>
    }
}

/// The share-link key in the page address (`/d/{room}#key=…`), if any.
fn page_key() -> Option<String> {
    let hash = web_sys::window()?.location().hash().ok()?;
    key_from_hash(&hash)
}

fn key_from_hash(hash: &str) -> Option<String> {
    hash.trim_start_matches('#')
        .split('&')
        .find_map(|part| part.strip_prefix("key="))
        .filter(|key| !key.is_empty())
        .map(str::to_owned)
}

/// Window and document events the connection and the local copy care about.
fn page_listeners(
    connection: &Connection,
    page_socket: &Rc<PageSocket>,
    doc: &Rc<SharedDoc>,
) -> Vec<EventListener> {
    let Some(window) = web_sys::window() else {
        return Vec::new();
    };
    let mut listeners = Vec::new();
    let request = |control: Control| {
        let connection = connection.clone();
        move |_| connection.request(control)
    };
    listeners.extend(EventListener::new(
        &window,
        "online",
        request(Control::RetryNow),
    ));
    listeners.extend(EventListener::new(
        &window,
        "offline",
        request(Control::WentOffline),
    ));
    if let Some(document) = window.document() {
        let connection = connection.clone();
        let visible = document.clone();
        listeners.extend(EventListener::new(
            &document,
            "visibilitychange",
            move |_| {
                if visible.visibility_state() == VisibilityState::Visible {
                    connection.request(Control::RetryNow);
                }
            },
        ));
    }
    // Leaving (or entering the back/forward cache): keep the edits, free the
    // connection. A page shown again from that cache reconnects at once.
    let doc = Rc::clone(doc);
    let page_socket = Rc::clone(page_socket);
    listeners.extend(EventListener::new(&window, "pagehide", move |_| {
        doc.flush_local_copy();
        page_socket.close_for_pagehide();
    }));
    listeners.extend(EventListener::new(
        &window,
        "pageshow",
        request(Control::RetryNow),
    ));
    listeners
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_come_from_the_fragment() {
        assert_eq!(key_from_hash("#key=e.abc"), Some("e.abc".to_owned()));
        assert_eq!(key_from_hash("#x=1&key=v.def"), Some("v.def".to_owned()));
        assert_eq!(key_from_hash("#key="), None);
        assert_eq!(key_from_hash(""), None);
    }
}
