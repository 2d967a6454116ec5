//! The header's "Show authors" toggle: tints each author's text in the
//! editor and the preview and shows the legend (remembered in this browser).

use leptos::prelude::*;

use crate::authors::AuthorsView;

/// `authors-toggle`.
#[component]
pub(crate) fn AuthorsToggle(view: AuthorsView) -> impl IntoView {
    view! {
        <button
            type="button"
            class="btn btn-secondary btn-header"
            data-testid="authors-toggle"
            aria-pressed=move || view.shown.get().to_string()
            aria-controls=move || view.shown.get().then_some("authors-legend")
            title="Show who wrote what: each author's text in their colour"
            on:click=move |_| view.set_shown(!view.shown.get_untracked())
        >
            <svg viewBox="0 0 20 20" width="16" height="16" aria-hidden="true">
                <path d="M4 16l1-4 8-8 3 3-8 8-4 1zM11.5 5.5l3 3M3 18h14" class="icon-stroke"></path>
            </svg>
            <span class="btn-text">"Show authors"</span>
        </button>
    }
}
