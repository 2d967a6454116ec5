//! The ✕ drawn in the close and remove buttons.

use leptos::prelude::*;

/// A 16 px ✕, hidden from screen readers: its button carries the label.
#[component]
pub(crate) fn CrossIcon() -> impl IntoView {
    view! {
        <svg viewBox="0 0 20 20" width="16" height="16" aria-hidden="true">
            <path d="M5 5l10 10M15 5L5 15" class="icon-stroke"></path>
        </svg>
    }
}
