//! One open document: builds the page's [`SharedDoc`] and [`Connection`],
//! lays out header (title, people, status, actions), editor, frame
//! inspector and footer, and tears everything down when the page goes
//! (socket closed, timers dropped, listeners removed).

use std::rc::Rc;

use leptos::html::Button;
use leptos::prelude::*;
use send_wrapper::SendWrapper;
use tandem_shared::RoomId;
use web_sys::VisibilityState;

use super::AccessNoticeView;
use super::popover::return_focus_on_close;
use super::{AuthorTints, AuthorsLegend, AuthorsToggle};
use super::{
    ConnectionBadge, DocStatsView, DownloadMenu, HistoryPanel, InspectorPanel, Logo, NameField,
    Participants, ReadOnlyBadge, SaveBadge, ShareButton, StatusAnnouncer, TextEditor, TitleField,
};
use super::{MarkdownToolbar, Outline, Preview, ViewModeSwitch};
use crate::authors::AuthorsView;
use crate::editor::{DocSignals, SharedDoc, StoredCopy};
use crate::listener::EventListener;
use crate::markdown::{MarkdownState, ViewMode};
use crate::net::{Connection, ConnectionState, Control, PageSocket, SessionSignals};
use crate::page::set_page_title;
use crate::presence::{Identity, PresenceReporter};
use crate::random::random_u64;
use crate::recent;

/// The editor page for `room`, opened with the share `key` of the address,
/// from the `stored` offline copy.
#[component]
pub(crate) fn DocumentView(room: RoomId, key: Option<String>, stored: StoredCopy) -> impl IntoView {
    let doc_signals = DocSignals::new();
    let session = SessionSignals::new();
    let identity = RwSignal::new(Identity::load_or_create(random_u64));
    let opened = SharedDoc::open(&room, doc_signals, stored);
    let doc = Rc::clone(&opened.doc);
    let author = identity.with_untracked(|i| (i.secret.clone(), i.color().to_owned()));
    let (connection, page_socket) =
        Connection::start(&room, key.as_deref(), author, opened, session);
    let reporter = PresenceReporter::new(connection.presence_inbox(), identity, Rc::clone(&doc));
    let inspector_open = RwSignal::new(false);
    let history_open = RwSignal::new(false);
    let (history_button, inspector_button) = (NodeRef::<Button>::new(), NodeRef::<Button>::new());
    return_focus_on_close(history_open, history_button);
    return_focus_on_close(inspector_open, inspector_button);
    let listeners = page_listeners(&connection, &page_socket, &reporter, inspector_open);

    // A new name, the colour the room gives (or the first render) is news
    // for the room.
    {
        let reporter = reporter.clone();
        Effect::new(move |_| {
            identity.track();
            doc_signals.room_color.track();
            reporter.report();
        });
    }
    // Who wrote what (issue 28): the toggle as this browser left it.
    let authors = AuthorsView::remembered();
    let tints_doc = Rc::clone(&doc);

    let name = room.to_string();
    let remembered_key = key.clone();
    Effect::new(move |_| {
        let title = doc_signals.title.get();
        let title = title.trim();
        set_page_title(&format!("{} — Tandem", page_heading(title)));
        // The key is remembered once the server accepted it.
        let accepted = session
            .connection
            .with(|c| matches!(c, ConnectionState::Connected { .. }));
        let key = remembered_key.as_deref().filter(|_| accepted);
        recent::remember(&name, title, key);
    });

    // `on_cleanup` wants `Send`; the wrapper is only ever opened on this thread.
    // Nothing of the document to write: every edit is in the offline copy
    // already (see `editor::local_copy`).
    let teardown = SendWrapper::new((connection.clone(), listeners));
    on_cleanup(move || {
        let (connection, listeners) = teardown.take();
        drop(listeners);
        connection.request(Control::Stop);
    });

    let url_room = room.to_string();
    let room_name = move || {
        session
            .room
            .get()
            .map_or_else(|| url_room.clone(), |r| r.to_string())
    };
    let shortcut = shortcut_label();
    let (history_room, history_key) = (room.clone(), key.clone());
    let history_doc = SendWrapper::new(Rc::clone(&doc));
    // Markdown (issue 26): the view mode, the blocks, the panes' scrollers.
    let markdown = MarkdownState::new();
    let mode = RwSignal::new(ViewMode::opening(key.as_deref()));
    let outline_open = RwSignal::new(false);
    let editor_scroller = NodeRef::<leptos::html::Div>::new();
    let preview_scroller = NodeRef::<leptos::html::Div>::new();
    let notice_doc = Rc::clone(&doc);
    let (toolbar_doc, preview_doc, outline_doc) = (
        Rc::clone(&doc),
        SendWrapper::new(Rc::clone(&doc)),
        SendWrapper::new(Rc::clone(&doc)),
    );
    view! {
        <div class="page doc-page">
            <StatusAnnouncer connection=session.connection save=session.save/>
            <header class="doc-header">
                // The page's one level-one heading, for screen readers: the
                // title itself is a field.
                <h1 class="sr-only">{move || doc_signals.title.with(|t| page_heading(t))}</h1>
                <div class="doc-header-main">
                    <Logo/>
                    <div class="title-block">
                        <TitleField doc=Rc::clone(&doc) read_only=session.read_only/>
                        <span class="room-line">
                            <span class="room-name" title="Document name">
                                <span class="room-label">"Room"</span>
                                <span data-testid="room-name">{room_name}</span>
                            </span>
                            <ReadOnlyBadge read_only=session.read_only/>
                        </span>
                    </div>
                </div>
                <div class="doc-header-people">
                    <Participants
                        identity=identity
                        room_color=doc_signals.room_color
                        peers=session.peers
                        connection=session.connection
                    />
                    <NameField identity=identity/>
                </div>
                <div class="doc-header-status">
                    <ConnectionBadge state=session.connection connection=connection/>
                    <SaveBadge
                        state=session.save
                        connection=session.connection
                        storage=doc_signals.storage
                        read_only=session.read_only
                    />
                </div>
                <div class="doc-header-actions">
                    <ViewModeSwitch mode=mode/>
                    <AuthorsToggle view=authors/>
                    <DownloadMenu room=room.clone() key=key.clone() title=doc_signals.title/>
                    <button
                        type="button"
                        class="btn btn-secondary btn-header"
                        data-testid="history-toggle"
                        node_ref=history_button
                        aria-pressed=move || history_open.get().to_string()
                        aria-controls=move || history_open.get().then_some("history-panel")
                        title="Version history"
                        on:click=move |_| history_open.update(|open| *open = !*open)
                    >
                        <svg viewBox="0 0 20 20" width="16" height="16" aria-hidden="true">
                            <path d="M4 10a6 6 0 1 0 2-4.5M4 3v3h3M10 6v4l3 2" class="icon-stroke"></path>
                        </svg>
                        <span class="btn-text">"History"</span>
                    </button>
                    <button
                        type="button"
                        class="btn btn-secondary btn-header"
                        data-testid="inspector-toggle"
                        node_ref=inspector_button
                        aria-pressed=move || inspector_open.get().to_string()
                        aria-controls=move || inspector_open.get().then_some("inspector")
                        aria-keyshortcuts="Control+Shift+F Meta+Shift+F"
                        title=format!("Frame inspector ({shortcut})")
                        on:click=move |_| inspector_open.update(|open| *open = !*open)
                    >
                        <svg viewBox="0 0 20 20" width="16" height="16" aria-hidden="true">
                            <path d="M7 4L3 10l4 6M13 4l4 6-4 6" class="icon-stroke"></path>
                        </svg>
                        <span class="btn-text">"Frames"</span>
                    </button>
                    <ShareButton
                        room=room
                        page_key=key
                        share=session.share
                        read_only=session.read_only
                        creator=Signal::derive(move || identity.with(|i| i.name.clone()))
                    />
                </div>
            </header>
            <AccessNoticeView
                notice=session.access
                save=session.save
                doc=Rc::clone(&notice_doc)
                title=doc_signals.title
            />
            <MarkdownToolbar
                doc=toolbar_doc
                read_only=session.read_only
                mode=mode
                outline_open=outline_open
            />
            <Show when=move || authors.shown.get()>
                <AuthorsLegend view=authors/>
            </Show>
            <AuthorTints
                doc=tints_doc
                view=authors
                markdown=markdown
                content_version=doc_signals.content_version
                authorship=doc_signals.authorship
                editor_scroller=editor_scroller
                preview_scroller=preview_scroller
            />
            <main
                class="doc-main"
                class:with-inspector=move || inspector_open.get()
                data-mode=move || mode.get().as_str()
            >
                <div class="paper" class:md-hidden=move || !mode.get().shows_editor()>
                    <TextEditor
                        doc=doc
                        read_only=session.read_only
                        peers=session.peers
                        content_version=doc_signals.content_version
                        reporter=reporter
                        markdown=markdown
                        scroller=editor_scroller
                    />
                </div>
                <Show when=move || mode.get().shows_preview()>
                    <Preview
                        doc=Rc::clone(&preview_doc)
                        markdown=markdown
                        content_version=doc_signals.content_version
                        read_only=session.read_only
                        mode=mode
                        editor_scroller=editor_scroller
                        scroller=preview_scroller
                    />
                </Show>
                <Show when=move || outline_open.get()>
                    <Outline
                        doc=Rc::clone(&outline_doc)
                        markdown=markdown
                        content_version=doc_signals.content_version
                        open=outline_open
                        editor_scroller=editor_scroller
                        preview_scroller=preview_scroller
                    />
                </Show>
                <Show when=move || inspector_open.get()>
                    <InspectorPanel frames=session.frames open=inspector_open/>
                </Show>
                <Show when=move || history_open.get()>
                    <HistoryPanel
                        room=history_room.clone()
                        key=history_key.clone()
                        doc=Rc::clone(&history_doc)
                        content_version=doc_signals.content_version
                        read_only=session.read_only
                        open=history_open
                        authorship=doc_signals.authorship
                    />
                </Show>
            </main>
            <footer class="doc-footer">
                <DocStatsView stats=doc_signals.stats/>
            </footer>
        </div>
    }
}

/// The page's heading: the document's title, or what the page calls an
/// untitled one.
fn page_heading(title: &str) -> String {
    match title.trim() {
        "" => "Untitled document".to_owned(),
        title => title.to_owned(),
    }
}

/// How the inspector shortcut is written on this platform.
fn shortcut_label() -> &'static str {
    let apple = web_sys::window()
        .and_then(|w| w.navigator().platform().ok())
        .is_some_and(|p| p.starts_with("Mac") || p.starts_with("iP"));
    if apple { "⌘⇧F" } else { "Ctrl+Shift+F" }
}

/// Window and document events the connection, presence and the inspector
/// shortcut care about.
fn page_listeners(
    connection: &Connection,
    page_socket: &Rc<PageSocket>,
    reporter: &PresenceReporter,
    inspector_open: RwSignal<bool>,
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
        // Caret moves by keyboard, mouse, touch or script all end here.
        let reporter = reporter.clone();
        listeners.extend(EventListener::new(
            &document,
            "selectionchange",
            move |_| reporter.report(),
        ));
    }
    listeners.extend(EventListener::new(&window, "keydown", move |ev| {
        use wasm_bindgen::JsCast;
        let Some(ev) = ev.dyn_ref::<web_sys::KeyboardEvent>() else {
            return;
        };
        if (ev.ctrl_key() || ev.meta_key())
            && ev.shift_key()
            && !ev.alt_key()
            && ev.code() == "KeyF"
        {
            ev.prevent_default();
            inspector_open.update(|open| *open = !*open);
        }
    }));
    // Leaving (or entering the back/forward cache): free the connection (the
    // edits are in the offline copy already). A page shown again from that
    // cache reconnects at once.
    let page_socket = Rc::clone(page_socket);
    listeners.extend(EventListener::new(&window, "pagehide", move |_| {
        page_socket.close_for_pagehide();
    }));
    listeners.extend(EventListener::new(
        &window,
        "pageshow",
        request(Control::RetryNow),
    ));
    listeners
}
