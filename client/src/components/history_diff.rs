//! A version's text, read-only, with its changes marked: insertions as
//! `<ins>`, deletions as `<del>` (so screen readers announce them too).

use leptos::prelude::*;

use crate::history::{Change, Piece};

/// `history-preview-text`; "Loading…" until the text arrives.
#[component]
pub(crate) fn HistoryDiff(
    /// The marked text, `None` while loading or with nothing selected.
    pieces: Memo<Option<Vec<Piece>>>,
    /// Whether the comparison is with the live document (which reads the
    /// marks the other way round: what a restore would remove is inserted).
    against_current: Signal<bool>,
) -> impl IntoView {
    view! {
        <div
            class="history-preview-text"
            data-testid="history-preview"
            aria-live="polite"
            tabindex="0"
        >
            {move || match pieces.get() {
                None => view! { <p class="muted">"Pick a version to see its text."</p> }.into_any(),
                Some(pieces) => {
                    let hint = if against_current.get() {
                        "Struck out: in this version only. Underlined: added since, in the current document."
                    } else {
                        "Struck out: removed in this version. Underlined: added in it."
                    };
                    view! {
                        <p class="history-legend muted small">{hint}</p>
                        <pre class="history-text">
                            {pieces
                                .into_iter()
                                .map(|piece| match piece.change {
                                    Change::Same => view! { <span>{piece.text}</span> }.into_any(),
                                    Change::Added => view! { <ins>{piece.text}</ins> }.into_any(),
                                    Change::Removed => view! { <del>{piece.text}</del> }.into_any(),
                                })
                                .collect_view()}
                        </pre>
                    }
                        .into_any()
                }
            }}
        </div>
    }
}
