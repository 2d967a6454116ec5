//! The Edit / Split / Preview switch in the header. The choice is
//! remembered in this browser (`localStorage`); a view link opens in
//! Preview whatever was chosen (see `ViewMode::initial`).

use leptos::prelude::*;

use crate::markdown::ViewMode;
use crate::storage;

/// `view-modes`, with `view-edit`, `view-split` and `view-preview`.
#[component]
pub(crate) fn ViewModeSwitch(mode: RwSignal<ViewMode>) -> impl IntoView {
    let buttons = ViewMode::ALL
        .into_iter()
        .map(|m| {
            let icon = match m {
                ViewMode::Edit => "M4 16h3l8-8-3-3-8 8v3zM11 6l3 3",
                ViewMode::Split => "M3 4h14v12H3zM10 4v12",
                ViewMode::Preview => {
                    "M2 10s3-5 8-5 8 5 8 5-3 5-8 5-8-5-8-5zM10 8a2 2 0 1 0 0 4 2 2 0 0 0 0-4"
                }
            };
            view! {
                <button
                    type="button"
                    class="btn btn-secondary btn-header view-mode"
                    data-testid=format!("view-{}", m.as_str())
                    aria-pressed=move || (mode.get() == m).to_string()
                    title=m.label()
                    on:click=move |_| {
                        mode.set(m);
                        if let Err(e) = storage::set(crate::markdown::VIEW_MODE_KEY, m.as_str()) {
                            leptos::logging::warn!("view mode not remembered: {e}");
                        }
                    }
                >
                    <svg viewBox="0 0 20 20" width="16" height="16" aria-hidden="true">
                        <path d=icon class="icon-stroke"></path>
                    </svg>
                    <span class="btn-text">{m.label()}</span>
                </button>
            }
        })
        .collect_view();
    view! {
        <div class="view-modes" role="group" aria-label="View" data-testid="view-modes">
            {buttons}
        </div>
    }
}
