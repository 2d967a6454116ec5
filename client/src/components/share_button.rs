//! The Share button: copies the document's link and shows it in a small
//! popover (where it can be copied by hand when the clipboard is not
//! available, e.g. on plain HTTP away from localhost).

use gloo_timers::future::TimeoutFuture;
use leptos::ev;
use leptos::html::{Div, Input};
use leptos::prelude::*;
use tandem_shared::{RoomId, ShareKeys};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// How long the button says "Copied".
const CONFIRM_MS: u32 = 2_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Copy {
    Idle,
    Copied,
    Failed,
}

/// `share`.
#[component]
pub(crate) fn ShareButton(
    room: RoomId,
    /// The room's keys, when the server handed them out: the links then
    /// carry `#key=…` (edit) and a view-only variant is offered.
    share: RwSignal<Option<ShareKeys>>,
) -> impl IntoView {
    let base = share_url(&room);
    let link = move |key: Option<String>| match key {
        Some(key) => format!("{base}#key={key}"),
        None => base.clone(),
    };
    let edit_url = {
        let link = link.clone();
        Signal::derive(move || link(share.with(|s| s.as_ref().map(|k| k.edit.clone()))))
    };
    let view_url = Signal::derive(move || {
        share
            .with(|s| s.as_ref().map(|k| k.view.clone()))
            .map(|key| link(Some(key)))
    });
    let open = RwSignal::new(false);
    let copy = RwSignal::new(Copy::Idle);
    // Each click's confirmation only clears itself, not a newer one.
    let clicks = RwSignal::new(0u32);
    let root = NodeRef::<Div>::new();
    let field = NodeRef::<Input>::new();

    let on_share = {
        move |_| {
            open.set(true);
            clicks.update(|n| *n += 1);
            let click = clicks.get_untracked();
            let url = edit_url.get_untracked();
            wasm_bindgen_futures::spawn_local(async move {
                let copied = copy_to_clipboard(&url).await;
                copy.try_set(if copied { Copy::Copied } else { Copy::Failed });
                if copied {
                    TimeoutFuture::new(CONFIRM_MS).await;
                    if clicks.try_get_untracked() == Some(click) {
                        copy.try_set(Copy::Idle);
                    }
                } else if let Some(input) = field.get_untracked() {
                    input.select();
                }
            });
        }
    };

    // Clicking anywhere outside closes the popover.
    let outside = window_event_listener(ev::pointerdown, move |ev| {
        if !open.get_untracked() {
            return;
        }
        let target = ev.target().and_then(|t| t.dyn_into::<web_sys::Node>().ok());
        let inside = root
            .get_untracked()
            .zip(target)
            .is_some_and(|(root, t)| root.contains(Some(&t)));
        if !inside {
            open.set(false);
        }
    });
    on_cleanup(move || outside.remove());

    let status = move || match copy.get() {
        Copy::Copied => "Link copied to the clipboard",
        Copy::Failed => "Copy this link to share the document",
        Copy::Idle => "Share this document",
    };
    view! {
        <div class="share" node_ref=root>
            <button
                type="button"
                class="btn btn-primary share-button"
                data-testid="share"
                aria-haspopup="dialog"
                aria-expanded=move || open.get().to_string()
                on:click=on_share
            >
                {move || if copy.get() == Copy::Copied { "Copied" } else { "Share" }}
            </button>
            <Show when=move || open.get()>
                <div
                    class="popover"
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
                            <svg viewBox="0 0 20 20" width="16" height="16" aria-hidden="true">
                                <path d="M5 5l10 10M15 5L5 15" class="icon-stroke"></path>
                            </svg>
                        </button>
                    </div>
                    <input
                        node_ref=field
                        class="text-input share-url"
                        data-testid="share-url"
                        type="text"
                        readonly
                        aria-label="Link to this document"
                        prop:value=move || edit_url.get()
                        on:focus=select_all
                    />
                    <p class="muted small">"Anyone with this link can read and edit the document."</p>
                    {move || {
                        view_url
                            .get()
                            .map(|url| {
                                view! {
                                    <label class="popover-label" for="share-view-url">
                                        "View-only link"
                                    </label>
                                    <input
                                        id="share-view-url"
                                        class="text-input share-url"
                                        type="text"
                                        readonly
                                        prop:value=url
                                        on:focus=select_all
                                    />
                                }
                            })
                    }}
                </div>
            </Show>
        </div>
    }
}

fn select_all(ev: web_sys::FocusEvent) {
    if let Some(input) = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
    {
        input.select();
    }
}

/// `{origin}/d/{room}`.
fn share_url(room: &RoomId) -> String {
    let origin = web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default();
    format!("{origin}/d/{room}")
}

/// Writes `text` to the clipboard; `false` where the Clipboard API is
/// missing (insecure context) or refused.
async fn copy_to_clipboard(text: &str) -> bool {
    let Some(window) = web_sys::window() else {
        return false;
    };
    let navigator = window.navigator();
    // `navigator.clipboard` is undefined outside secure contexts; calling
    // through it would throw.
    let available = js_sys::Reflect::get(&navigator, &JsValue::from_str("clipboard"))
        .is_ok_and(|c| !c.is_undefined() && !c.is_null());
    if !available {
        return false;
    }
    JsFuture::from(navigator.clipboard().write_text(text))
        .await
        .is_ok()
}
