//! A read-only link with a Copy button, for the share popover. Where the
//! Clipboard API is missing (plain HTTP away from localhost), the link is
//! selected instead so it can be copied by hand.

use gloo_timers::future::TimeoutFuture;
use leptos::html::Input;
use leptos::prelude::*;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// How long the button says "Copied".
const CONFIRM_MS: u32 = 2_000;

/// A labelled link and its Copy button.
#[component]
pub(crate) fn CopyField(
    /// The input's `id` (the label points at it).
    id: &'static str,
    /// The input's `data-testid`.
    testid: &'static str,
    /// The Copy button's `data-testid`.
    copy_testid: &'static str,
    /// The visible label, in ASCII: the Copy button's name is it lowercased
    /// with `to_ascii_lowercase`, which needs none of the Unicode case
    /// tables `to_lowercase` would add to the wasm (about 12 KB).
    label: &'static str,
    /// The link.
    #[prop(into)]
    url: Signal<String>,
    /// A line under the field saying what the link allows.
    hint: Signal<&'static str>,
) -> impl IntoView {
    let copied = RwSignal::new(false);
    // Each click's confirmation only clears itself, not a newer one.
    let clicks = RwSignal::new(0u32);
    let field = NodeRef::<Input>::new();
    let on_copy = move |_| {
        clicks.update(|n| *n += 1);
        let click = clicks.get_untracked();
        let text = url.get_untracked();
        wasm_bindgen_futures::spawn_local(async move {
            if copy_to_clipboard(&text).await {
                copied.try_set(true);
                TimeoutFuture::new(CONFIRM_MS).await;
                if clicks.try_get_untracked() == Some(click) {
                    copied.try_set(false);
                }
            } else if let Some(input) = field.get_untracked() {
                let _ = input.focus();
                input.select();
            }
        });
    };
    let hint_id = format!("{id}-hint");
    view! {
        <div class="copy-field">
            <label class="popover-label" for=id>
                {label}
            </label>
            <div class="copy-row">
                <input
                    node_ref=field
                    id=id
                    class="text-input share-url"
                    data-testid=testid
                    type="text"
                    readonly
                    aria-describedby=hint_id.clone()
                    prop:value=move || url.get()
                    on:focus=select_all
                />
                <button
                    type="button"
                    class="btn btn-small btn-secondary copy-button"
                    data-testid=copy_testid
                    aria-label=format!("Copy {}", label.to_ascii_lowercase())
                    on:click=on_copy
                >
                    {move || if copied.get() { "Copied" } else { "Copy" }}
                </button>
            </div>
            <p class="muted small" id=hint_id>
                {move || hint.get()}
            </p>
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

/// Writes `text` to the clipboard; `false` where the Clipboard API is
/// missing (insecure context) or refused.
pub(crate) async fn copy_to_clipboard(text: &str) -> bool {
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
