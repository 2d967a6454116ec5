//! The "Recent documents" panel on the landing page.

use leptos::prelude::*;

use super::CrossIcon;
use crate::recent::{self, RecentDoc};

/// The list of recently opened documents, newest first, with a way to forget one.
#[component]
pub(crate) fn RecentDocs() -> impl IntoView {
    let docs = RwSignal::new(recent::load());
    let now = js_sys::Date::now();
    let item = move |doc: RecentDoc| {
        let room = doc.room.clone();
        let href = doc.path();
        let title = if doc.title.trim().is_empty() {
            "Untitled document".to_owned()
        } else {
            doc.title
        };
        let label = format!("Remove {title} from recent documents");
        view! {
            <li class="recent-item">
                <a class="recent-link" href=href>
                    <span class="recent-title">{title}</span>
                    <span class="recent-meta">
                        <span class="recent-room">{doc.room.clone()}</span>
                        <span aria-hidden="true">" · "</span>
                        <span>{recent::relative_time(now, doc.opened_ms)}</span>
                    </span>
                </a>
                <button
                    type="button"
                    class="icon-btn"
                    title="Remove from recent documents"
                    aria-label=label
                    on:click=move |_| docs.set(recent::forget(&room))
                >
                    <CrossIcon/>
                </button>
            </li>
        }
    };
    view! {
        <section class="panel" aria-labelledby="recent-heading">
            <h2 id="recent-heading">"Recent documents"</h2>
            <ul class="recent-list" data-testid="recent-docs">
                <For each=move || docs.get() key=|doc| doc.room.clone() children=item/>
            </ul>
            <Show when=move || docs.with(Vec::is_empty)>
                <p class="muted empty-note">"Documents you open on this device will show up here."</p>
            </Show>
        </section>
    }
}
