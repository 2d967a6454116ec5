//! The notice under the header when the page's share link changed while it
//! was open: narrowed to view-only ("You can no longer edit this
//! document", with why) or revoked or expired ("This link no longer
//! works"). Edits the server did not take stay in this browser, as after
//! any refusal; the notice says so and offers to copy the page's text (the
//! title and the body as this browser has them) so nothing typed is lost.

use std::rc::Rc;

use gloo_timers::future::TimeoutFuture;
use leptos::prelude::*;
use send_wrapper::SendWrapper;

use super::copy_field::copy_to_clipboard;
use crate::editor::SharedDoc;
use crate::net::{AccessNotice, SaveState};

/// How long the button says "Copied".
const CONFIRM_MS: u32 = 2_000;

/// `access-notice`, with `access-copy-text`.
#[component]
pub(crate) fn AccessNoticeView(
    notice: RwSignal<AccessNotice>,
    /// Whether edits wait in this browser only.
    save: RwSignal<SaveState>,
    /// The document as this browser has it.
    doc: Rc<SharedDoc>,
    /// Its title.
    title: RwSignal<String>,
) -> impl IntoView {
    let doc = SendWrapper::new(doc);
    let copied = RwSignal::new(None::<bool>);
    let clicks = RwSignal::new(0u32);
    let on_copy = move |_| {
        clicks.update(|n| *n += 1);
        let click = clicks.get_untracked();
        let title = title.get_untracked();
        let body = doc.content();
        let text = if title.trim().is_empty() {
            body
        } else {
            format!("{}\n\n{body}", title.trim())
        };
        wasm_bindgen_futures::spawn_local(async move {
            let done = copy_to_clipboard(&text).await;
            copied.try_set(Some(done));
            TimeoutFuture::new(CONFIRM_MS).await;
            if clicks.try_get_untracked() == Some(click) {
                copied.try_set(None);
            }
        });
    };
    let kept = move || {
        if save.get() == SaveState::Unsaved {
            "Edits the server did not save are kept in this browser: copy your text to keep them elsewhere."
        } else {
            "Everything you wrote reached the server; you can still copy the text as this page has it."
        }
    };
    view! {
        <Show when=move || notice.with(|n| *n != AccessNotice::None)>
            <section
                class="access-notice"
                data-testid="access-notice"
                data-state=move || notice.with(AccessNotice::key)
                role="alert"
                aria-labelledby="access-notice-heading"
            >
                <svg class="access-notice-icon" viewBox="0 0 20 20" width="20" height="20" aria-hidden="true">
                    <rect x="4" y="9" width="12" height="8" rx="1.5" class="icon-stroke"></rect>
                    <path d="M7 9V6.5a3 3 0 0 1 6 0V9" class="icon-stroke"></path>
                </svg>
                <div class="access-notice-text">
                    <h2 class="access-notice-heading" id="access-notice-heading">
                        {move || notice.with(AccessNotice::heading)}
                    </h2>
                    <p data-testid="access-notice-reason">
                        {move || notice.with(AccessNotice::reason)}
                        " "
                        {move || notice.with(AccessNotice::advice)}
                    </p>
                    <p class="muted small" data-testid="access-notice-kept">{kept}</p>
                </div>
                <button
                    type="button"
                    class="btn btn-small btn-secondary"
                    data-testid="access-copy-text"
                    on:click=on_copy.clone()
                >
                    {move || match copied.get() {
                        Some(true) => "Copied",
                        Some(false) => "Copy failed: select the text instead",
                        None => "Copy your text",
                    }}
                </button>
            </section>
        </Show>
    }
}
