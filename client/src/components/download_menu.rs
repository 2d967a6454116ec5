//! "Download": the document as a `.txt` or `.md` file, fetched from the
//! server (`GET /api/rooms/{room}/text`) with this page's key, and saved
//! under the server's file name (the title) or one made here; as a web page;
//! or with who wrote what (`GET /api/rooms/{room}/authors`, JSON).

use leptos::html::{Button, Div};
use leptos::prelude::*;
use tandem_shared::RoomId;
use wasm_bindgen::JsCast;

use super::popover::{close_on_outside_pointer, return_focus_on_close};
use crate::net::{ExportFormat, download_text};

/// `download-menu`, `download-txt`, `download-md` and `download-error`.
#[component]
pub(crate) fn DownloadMenu(
    room: RoomId,
    /// The share key of this page, if any: protected rooms need it.
    key: Option<String>,
    /// The shared title, for a file name when the server gives none.
    title: RwSignal<String>,
) -> impl IntoView {
    let open = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let root = NodeRef::<Div>::new();
    // A menu opens with its first item focused, so arrows and Enter work at once.
    let first = NodeRef::<Button>::new();
    let button = NodeRef::<Button>::new();
    return_focus_on_close(open, button);
    first.on_load(|button| {
        let _ = button.focus();
    });

    let download = move |format: ExportFormat| {
        let room = room.clone();
        let key = key.clone();
        move |_| {
            if busy.get_untracked() {
                return;
            }
            busy.set(true);
            error.set(None);
            let room = room.clone();
            let key = key.clone();
            let title = title.get_untracked();
            wasm_bindgen_futures::spawn_local(async move {
                let result = download_text(&room, key.as_deref(), format, &title).await;
                busy.try_set(false);
                match result {
                    Ok(()) => {
                        open.try_set(false);
                    }
                    Err(e) => {
                        leptos::logging::warn!("download failed: {e}");
                        error.try_set(Some(format!("Could not download: {}", e.explain())));
                    }
                }
            });
        }
    };

    close_on_outside_pointer(open, root);

    view! {
        <div class="menu-anchor" node_ref=root>
            <button
                type="button"
                class="btn btn-secondary btn-header"
                data-testid="download-menu"
                node_ref=button
                aria-haspopup="menu"
                aria-expanded=move || open.get().to_string()
                aria-controls=move || open.get().then_some("download-menu")
                title="Download this document"
                on:click=move |_| {
                    error.set(None);
                    open.update(|o| *o = !*o);
                }
            >
                <svg viewBox="0 0 20 20" width="16" height="16" aria-hidden="true">
                    <path d="M10 3v10M6 9l4 4 4-4M4 16h12" class="icon-stroke"></path>
                </svg>
                <span class="btn-text">"Download"</span>
            </button>
            <Show when=move || open.get()>
                <div
                    class="popover menu"
                    id="download-menu"
                    role="menu"
                    aria-label="Download as"
                    aria-busy=move || busy.get().to_string()
                    on:keydown=move |ev: web_sys::KeyboardEvent| match ev.key().as_str() {
                        "Escape" => open.set(false),
                        "ArrowDown" | "ArrowUp" => {
                            ev.prevent_default();
                            move_focus(&ev, ev.key() == "ArrowDown");
                        }
                        _ => {}
                    }
                >
                    <button
                        type="button"
                        role="menuitem"
                        class="menu-item"
                        data-testid="download-txt"
                        node_ref=first
                        on:click=download(ExportFormat::Txt)
                    >
                        <span class="menu-item-title">"Plain text"</span>
                        <span class="menu-item-hint">".txt"</span>
                    </button>
                    <button
                        type="button"
                        role="menuitem"
                        class="menu-item"
                        data-testid="download-md"
                        on:click=download(ExportFormat::Md)
                    >
                        <span class="menu-item-title">"Markdown"</span>
                        <span class="menu-item-hint">".md"</span>
                    </button>
                    <button
                        type="button"
                        role="menuitem"
                        class="menu-item"
                        data-testid="download-html"
                        on:click=download(ExportFormat::Html)
                    >
                        <span class="menu-item-title">"Web page"</span>
                        <span class="menu-item-hint">".html"</span>
                    </button>
                    <button
                        type="button"
                        role="menuitem"
                        class="menu-item"
                        data-testid="download-authors"
                        on:click=download(ExportFormat::Authors)
                    >
                        <span class="menu-item-title">"Who wrote what"</span>
                        <span class="menu-item-hint">".json"</span>
                    </button>
                    <p class="menu-note muted small">
                        {move || {
                            if busy.get() {
                                "Preparing the file…"
                            } else {
                                "The copy saved on the server."
                            }
                        }}
                    </p>
                    {move || {
                        error
                            .get()
                            .map(|message| {
                                view! {
                                    <p class="field-error" role="alert" data-testid="download-error">
                                        {message}
                                    </p>
                                }
                            })
                    }}
                </div>
            </Show>
        </div>
    }
}

/// Moves the focus to the next (or previous) item of the menu.
fn move_focus(ev: &web_sys::KeyboardEvent, forward: bool) {
    let Some(menu) = ev
        .current_target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
    else {
        return;
    };
    let Ok(items) = menu.query_selector_all("[role=menuitem]") else {
        return;
    };
    let items: Vec<web_sys::HtmlElement> = (0..items.length())
        .filter_map(|i| items.item(i)?.dyn_into().ok())
        .collect();
    if items.is_empty() {
        return;
    }
    let active = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.active_element());
    let current = items.iter().position(|item| {
        active
            .as_ref()
            .is_some_and(|a| a == item.as_ref() as &web_sys::Element)
    });
    let next = match (current, forward) {
        (Some(i), true) => (i + 1) % items.len(),
        (Some(i), false) => (i + items.len() - 1) % items.len(),
        (None, _) => 0,
    };
    let _ = items[next].focus();
}
