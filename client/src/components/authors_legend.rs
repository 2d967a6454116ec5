//! The legend shown with the authors' tints: each author of the body (and
//! text nobody is recorded for) in their tint, with their share of the
//! text, largest first, live as people type; and who wrote the text at the
//! caret, for people who move by keyboard rather than point.

use leptos::prelude::*;

use crate::authors::{AuthorsView, Share};
use crate::presence::safe_color;

/// `authors-legend`.
#[component]
pub(crate) fn AuthorsLegend(view: AuthorsView) -> impl IntoView {
    let shares = move || {
        view.version.track();
        view.shares()
    };
    let at_caret = move || {
        view.at_caret
            .get()
            .map(|label| format!("At the caret: {label}"))
    };
    view! {
        <section
            id="authors-legend"
            class="authors-legend"
            data-testid="authors-legend"
            aria-label="Authors"
        >
            <ul class="authors-list">
                <For
                    each=shares
                    key=|share| (share.author, share.label.clone(), share.percent, share.color.clone())
                    children=|share: Share| entry(share)
                />
            </ul>
            <p class="authors-caret" data-testid="author-at-caret">{at_caret}</p>
        </section>
    }
}

/// One author's line: their tint, name and share.
fn entry(share: Share) -> impl IntoView {
    let you = if share.is_you { " (you)" } else { "" };
    let style = share.author.map(|i| {
        let color = share.color.as_deref().map_or("#6b7280", safe_color);
        format!("--l:var(--au{i}l);--d:var(--au{i}d);--c:{color}")
    });
    view! {
        <li
            class="authors-item"
            class:is-unknown=share.author.is_none()
            data-testid="author-share"
            data-author=share.author.map(|i| i.to_string())
            data-label=share.label.clone()
            data-percent=share.percent.to_string()
        >
            <span class="author-swatch" style=style aria-hidden="true"></span>
            <span class="author-name">{share.label.clone()}{you}</span>
            <span class="author-percent">{format!("{}%", share.percent)}</span>
        </li>
    }
}
