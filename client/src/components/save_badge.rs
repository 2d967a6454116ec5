//! The save indicator: "Saved" only once the server has the edits on disk.

use leptos::prelude::*;

use crate::net::{SaveState, save_key, save_label};

/// `save-state`.
#[component]
pub(crate) fn SaveBadge(state: RwSignal<SaveState>) -> impl IntoView {
    let hint = move || match state.get() {
        SaveState::Saved => "Every edit is stored on the server",
        SaveState::Saving => "Sending your latest edits to the server",
        SaveState::Unsaved => {
            "Your edits are kept in this browser and will be sent when you reconnect"
        }
    };
    view! {
        <span
            class="badge save-badge"
            data-testid="save-state"
            data-state=move || save_key(state.get())
            title=hint
        >
            {move || save_label(state.get())}
        </span>
    }
}
