//! The Tandem mark and name, linking home.

use leptos::prelude::*;

/// The logo in the top-left corner of every page.
#[component]
pub(crate) fn Logo() -> impl IntoView {
    view! {
        <a href="/" class="logo" aria-label="Tandem, home">
            <svg class="logo-mark" viewBox="0 0 32 32" width="28" height="28" aria-hidden="true">
                <rect x="1" y="1" width="30" height="30" rx="8" class="logo-bg"></rect>
                <rect x="9" y="8" width="3.2" height="16" rx="1.6" class="logo-caret-a"></rect>
                <rect x="19.8" y="8" width="3.2" height="16" rx="1.6" class="logo-caret-b"></rect>
                <path d="M12.2 16h7.6" class="logo-link"></path>
            </svg>
            <span class="logo-name">"Tandem"</span>
        </a>
    }
}
