//! The "View only" badge shown under the title when the server made this
//! connection read-only.

use leptos::prelude::*;

/// `read-only-banner`.
#[component]
pub(crate) fn ReadOnlyBadge(read_only: RwSignal<bool>) -> impl IntoView {
    view! {
        <Show when=move || read_only.get()>
            <span
                class="badge read-only-badge"
                data-testid="read-only-banner"
                role="status"
                title="You can read this document and see who is here, but not change it. Ask an editor for an edit link."
            >
                <svg viewBox="0 0 20 20" width="14" height="14" aria-hidden="true">
                    <path
                        d="M2 10s3-5.5 8-5.5 8 5.5 8 5.5-3 5.5-8 5.5S2 10 2 10z"
                        class="icon-stroke"
                    ></path>
                    <circle cx="10" cy="10" r="2.2" class="icon-stroke"></circle>
                </svg>
                "View only"
                <span class="sr-only">" — you can read this document but not edit it"</span>
            </span>
        </Show>
    }
}
