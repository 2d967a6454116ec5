//! The save indicator: "Saved" only once the server has the edits on disk;
//! beside it, when the browser will not keep the offline copy (storage
//! refused or full), a badge that says so in plain words.
//!
//! The save label's detail after " — " (for example "offline", which the
//! connection badge already says) is folded away on narrow headers and stays
//! in the DOM, the `title` and for screen readers.

use leptos::prelude::*;

use crate::editor::StorageProblem;
use crate::net::{ConnectionState, SaveState, save_key, save_label};

/// A label split at its " — " detail: what is always shown, and the rest.
fn split_detail(label: &str) -> (&str, &str) {
    match label.find(" — ") {
        Some(at) => label.split_at(at),
        None => (label, ""),
    }
}

/// `save-state`, and `local-copy-state` while the offline copy is not kept.
#[component]
pub(crate) fn SaveBadge(
    state: RwSignal<SaveState>,
    /// The connection: once the server refused it for good, unsaved edits
    /// are not waiting for the network.
    connection: RwSignal<ConnectionState>,
    /// Why the offline copy is not being kept, if it is not.
    storage: RwSignal<Option<StorageProblem>>,
    /// Whether this page may only read: edits it holds then wait in this
    /// browser, not for the network (its link was narrowed, say).
    read_only: RwSignal<bool>,
) -> impl IntoView {
    let closed = move || connection.with(|c| matches!(c, ConnectionState::Closed { .. }));
    let gave_up = move || closed() || read_only.get();
    let hint = move || match state.get() {
        SaveState::Saved => "Every edit is stored on the server",
        SaveState::Saving => "Sending your latest edits to the server",
        SaveState::Unsaved if closed() => {
            "The server closed the connection for good (see beside); your edits are kept in this browser only"
        }
        SaveState::Unsaved if read_only.get() => {
            "This page may only read now; edits the server did not take are kept in this browser only"
        }
        SaveState::Unsaved => {
            "Your edits are kept in this browser and will be sent when you reconnect"
        }
    };
    let parts = move || split_detail(save_label(state.get(), gave_up()));
    view! {
        <span
            class="badge save-badge"
            data-testid="save-state"
            data-state=move || save_key(state.get())
            title=hint
        >
            // One flex item, so the badge's gap does not split the words.
            <span class="save-text">
                <span class="save-lead">{move || parts().0}</span>
                <span class="save-extra">{move || parts().1}</span>
            </span>
        </span>
        {move || {
            storage
                .get()
                .map(|problem| {
                    view! {
                        <span
                            class="badge storage-badge"
                            data-testid="local-copy-state"
                            data-state=problem.key()
                            title=problem.explain()
                            role="status"
                        >
                            <svg viewBox="0 0 20 20" width="14" height="14" aria-hidden="true">
                                <path d="M10 3l8 14H2L10 3z" class="icon-stroke"></path>
                                <path d="M10 8.5v4M10 14.6v.1" class="icon-stroke"></path>
                            </svg>
                            <span class="storage-text">{problem.label()}</span>
                            <span class="sr-only">{format!(". {}", problem.explain())}</span>
                        </span>
                    }
                })
        }}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_split_at_their_detail() {
        assert_eq!(
            split_detail("Unsaved changes — offline"),
            ("Unsaved changes", " — offline")
        );
        assert_eq!(split_detail("Saved"), ("Saved", ""));
    }
}
