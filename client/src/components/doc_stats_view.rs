//! Word and character counts in the footer.

use leptos::prelude::*;

use crate::editor::DocStats;

/// `doc-stats`.
#[component]
pub(crate) fn DocStatsView(stats: RwSignal<DocStats>) -> impl IntoView {
    view! {
        <span
            class="doc-stats"
            data-testid="doc-stats"
            data-words=move || stats.get().words.to_string()
            data-chars=move || stats.get().chars.to_string()
        >
            {move || stats.get().label()}
        </span>
    }
}
