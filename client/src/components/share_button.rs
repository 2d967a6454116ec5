//! The Share button: copies the document's link and opens a popover with
//! the links to give out. Editors get both the edit link and the view-only
//! link (from `welcome.share`) and, in a protected document, every share
//! link to manage ([`LinksManager`](super::LinksManager)); a view-only
//! reader gets the address they are on, which is itself a view link.

use gloo_timers::future::TimeoutFuture;
use leptos::html::{Button, Div};
use leptos::prelude::*;
use tandem_shared::{RoomId, ShareKeys};

use super::copy_field::copy_to_clipboard;
use super::popover::{close_on_outside_pointer, return_focus_on_close};
use super::{CopyField, CrossIcon, LinksManager};

/// How long the button says "Copied".
const CONFIRM_MS: u32 = 2_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Copy {
    Idle,
    Copied,
    Failed,
}

/// `share`, and its popover: `share-edit-url` and `share-view-url` when the
/// server gave keys, else `share-url`.
#[component]
pub(crate) fn ShareButton(
    room: RoomId,
    /// The key in this page's address, if any.
    page_key: Option<String>,
    /// The room's keys, when the server handed them out (editors only).
    share: RwSignal<Option<ShareKeys>>,
    /// Whether this connection is view-only.
    read_only: RwSignal<bool>,
    /// The name this person gave in the editor, recorded on links they make.
    creator: Signal<String>,
) -> impl IntoView {
    // Editors with a key manage the document's links (the server hides
    // them for a document opened by name, which has none).
    let manager = {
        let (room, page_key) = (room.clone(), page_key.clone());
        move || {
            let key = page_key.clone().filter(|_| !read_only.get())?;
            Some(view! { <LinksManager room=room.clone() key=key creator=creator share=share/> })
        }
    };
    let managing = {
        let has_key = page_key.is_some();
        move || has_key && !read_only.get()
    };
    let origin = web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default();
    let link = {
        let room = room.clone();
        move |key: Option<&str>| format!("{origin}{}", room.page_path(key))
    };
    let current_url = link(page_key.as_deref());
    let edit_url = {
        let link = link.clone();
        Signal::derive(move || share.with(|s| s.as_ref().map(|k| link(Some(&k.edit)))))
    };
    let view_url = {
        let link = link.clone();
        Signal::derive(move || share.with(|s| s.as_ref().map(|k| link(Some(&k.view)))))
    };
    // The link the button copies: the edit link when there is one.
    let primary = {
        let current_url = current_url.clone();
        Signal::derive(move || edit_url.get().unwrap_or_else(|| current_url.clone()))
    };
    let open = RwSignal::new(false);
    let copy = RwSignal::new(Copy::Idle);
    let clicks = RwSignal::new(0u32);
    let root = NodeRef::<Div>::new();
    let button = NodeRef::<Button>::new();
    // Opening moves the focus into the popover (its first field, the link
    // the button copied); closing it from inside gives it back.
    let popover = NodeRef::<Div>::new();
    popover.on_load(|popover| {
        use wasm_bindgen::JsCast;
        let first = popover
            .query_selector(".copy-field input")
            .ok()
            .flatten()
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
        if let Some(first) = first {
            let _ = first.focus();
        }
    });
    return_focus_on_close(open, button);

    let on_share = move |_| {
        open.set(true);
        clicks.update(|n| *n += 1);
        let click = clicks.get_untracked();
        let url = primary.get_untracked();
        wasm_bindgen_futures::spawn_local(async move {
            let copied = copy_to_clipboard(&url).await;
            copy.try_set(if copied { Copy::Copied } else { Copy::Failed });
            if copied {
                TimeoutFuture::new(CONFIRM_MS).await;
                if clicks.try_get_untracked() == Some(click) {
                    copy.try_set(Copy::Idle);
                }
            }
        });
    };

    close_on_outside_pointer(open, root);

    let status = move || match (copy.get(), share.with(Option::is_some)) {
        (Copy::Copied, true) => "Edit link copied to the clipboard",
        (Copy::Copied, false) => "Link copied to the clipboard",
        (Copy::Failed, _) => "Copy a link to share the document",
        (Copy::Idle, _) => "Share this document",
    };
    let links = move || {
        let current_url = current_url.clone();
        match (edit_url.get(), view_url.get()) {
            (Some(edit), Some(view)) => view! {
                <CopyField
                    id="share-edit-url"
                    testid="share-edit-url"
                    copy_testid="share-edit-copy"
                    label="Edit link"
                    url=edit
                    hint=Signal::stored("Anyone with this link can read and edit.")
                />
                <CopyField
                    id="share-view-url"
                    testid="share-view-url"
                    copy_testid="share-view-copy"
                    label="View-only link"
                    url=view
                    hint=Signal::stored("Anyone with this link can read and see who is here, but not edit.")
                />
            }
            .into_any(),
            _ => view! {
                <CopyField
                    id="share-url"
                    testid="share-url"
                    copy_testid="share-copy"
                    label="Link to this document"
                    url=current_url
                    hint=Signal::derive(move || {
                        if read_only.get() {
                            "You are viewing this document: the link lets others read it too."
                        } else {
                            "Anyone with this link can read and edit. For separate edit and view-only links, start a new document from the home page."
                        }
                    })
                />
            }
            .into_any(),
        }
    };
    view! {
        <div class="share" node_ref=root>
            <button
                type="button"
                class="btn btn-primary share-button"
                data-testid="share"
                node_ref=button
                aria-haspopup="dialog"
                aria-expanded=move || open.get().to_string()
                on:click=on_share
            >
                {move || if copy.get() == Copy::Copied { "Copied" } else { "Share" }}
            </button>
            <Show when=move || open.get()>
                <div
                    class="popover share-popover"
                    class:with-links=managing
                    node_ref=popover
                    role="dialog"
                    aria-label="Share this document"
                    on:keydown=move |ev: web_sys::KeyboardEvent| {
                        if ev.key() == "Escape" {
                            open.set(false);
                        }
                    }
                >
                    <div class="popover-head">
                        <p class="popover-title" role="status">{status}</p>
                        <button
                            type="button"
                            class="icon-btn"
                            aria-label="Close"
                            on:click=move |_| open.set(false)
                        >
                            <CrossIcon/>
                        </button>
                    </div>
                    {links.clone()}
                    {manager.clone()}
                </div>
            </Show>
        </div>
    }
}
