//! A version's text, read-only, with its changes marked: insertions as
//! `<ins>` in the tint of the person who wrote them (named on hover and for
//! screen readers), deletions as `<del>` (so screen readers announce them
//! too).

use leptos::prelude::*;
use tandem_shared::authors::{AuthorId, Authorship, UNKNOWN_AUTHOR};
use tandem_shared::palette::{Scheme, tint};

use crate::authors::local_time;
use crate::history::{Change, Marked};
use crate::presence::safe_color;

/// `history-preview-text`; "Loading…" until the text arrives.
#[component]
pub(crate) fn HistoryDiff(
    /// The marked text, `None` while loading or with nothing selected.
    pieces: Memo<Option<Vec<Marked>>>,
    /// Whether the comparison is with the live document (which reads the
    /// marks the other way round: what a restore would remove is inserted).
    against_current: Signal<bool>,
    /// Who wrote what: names and colours the insertions.
    authorship: RwSignal<Authorship>,
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
                        "Struck out: in this version only. Underlined: added since, in the current document, in the colour of who wrote it."
                    } else {
                        "Struck out: removed in this version. Underlined: added in it, in the colour of who wrote it."
                    };
                    view! {
                        <p class="history-legend muted small">{hint}</p>
                        <pre class="history-text">
                            {pieces
                                .into_iter()
                                .map(|piece| match piece.change {
                                    Change::Same => view! { <span>{piece.text}</span> }.into_any(),
                                    Change::Added => inserted(piece.text, piece.author.as_ref(), authorship),
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

/// An insertion by `author`, in their tint, named by its title.
fn inserted(text: String, author: Option<&AuthorId>, authorship: RwSignal<Authorship>) -> AnyView {
    let found = authorship.with_untracked(|table| {
        author
            .and_then(|id| table.author(id))
            .map(|a| (a.label(local_time), a.color.clone()))
    });
    let (label, style) = match found {
        Some((label, color)) => {
            let color = safe_color(&color).to_owned();
            let style = format!(
                "--l:{};--d:{};--c:{color}",
                tint(&color, Scheme::Light),
                tint(&color, Scheme::Dark)
            );
            (label, Some(style))
        }
        None => (UNKNOWN_AUTHOR.to_owned(), None),
    };
    let title = format!("Added by {label}");
    let tinted = style.is_some();
    view! {
        <ins
            class:by-author=tinted
            style=style
            title=title
            data-author=label
        >
            {text}
        </ins>
    }
    .into_any()
}
