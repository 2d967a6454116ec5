//! One version in the History panel's list: when, who changed what since
//! the previous one (characters added and removed per person), why, and its
//! name.

use leptos::prelude::*;
use tandem_shared::authors::Authorship;
use tandem_shared::history::VersionEntry;

use crate::history::{Changed, changed};
use crate::presence::safe_color;

/// `history-item`: a listbox option; clicking or focusing it selects it.
#[component]
pub(crate) fn HistoryRow(
    version: VersionEntry,
    /// The id of the selected version, shared with the panel.
    selected: RwSignal<Option<u64>>,
    /// Who wrote what: names the people in `version.changes`.
    authorship: RwSignal<Authorship>,
) -> impl IntoView {
    let id = version.id;
    let is_selected = move || selected.get() == Some(id);
    let when = local_time(version.at);
    let changes = version.changes.clone();
    let people = move || authorship.with(|table| changed(&changes, table, local_time));
    // Versions from before changes were counted keep their names alone.
    let who = if version.authors.is_empty() || !version.changes.is_empty() {
        None
    } else {
        Some(version.authors.join(", "))
    };
    let why = match version.kind.as_str() {
        "restore" => "Restored an earlier version",
        "before-restore" => "Before a restore",
        "named" => "Named",
        "idle" => "When editing stopped",
        _ => "After editing",
    };
    let label = version.label.clone();
    let named = label.is_some();
    view! {
        <li
            id=format!("history-version-{id}")
            class="history-item"
            class:named=named
            class:selected=is_selected
            role="option"
            data-testid="history-item"
            data-kind=version.kind.clone()
            aria-selected=move || is_selected().to_string()
            tabindex=move || if is_selected() { "0" } else { "-1" }
            on:click=move |_| selected.set(Some(id))
        >
            <span class="history-when">{when}</span>
            {label.map(|l| view! { <span class="history-label" data-testid="history-item-label">"★ " {l}</span> })}
            <span class="history-why muted small">{why}</span>
            {who.map(|w| view! { <span class="history-who small">{w}</span> })}
            <span class="history-changes small" data-testid="history-changes">
                {move || people().into_iter().map(person).collect_view()}
            </span>
        </li>
    }
}

/// One person's line: their colour, name and counts ("+12 −3").
fn person(changed: Changed) -> impl IntoView {
    let style = changed
        .color
        .as_deref()
        .map(|c| format!("--c:{}", safe_color(c)));
    let counts = match (changed.added, changed.removed) {
        (added, 0) => format!("+{added}"),
        (0, removed) => format!("−{removed}"),
        (added, removed) => format!("+{added} −{removed}"),
    };
    let said = format!(
        "{}: {} characters added, {} removed",
        changed.label, changed.added, changed.removed
    );
    let name = changed.label.clone();
    view! {
        <span
            class="history-change"
            data-testid="history-change"
            data-author=name
            data-added=changed.added.to_string()
            data-removed=changed.removed.to_string()
            title=said
        >
            <span class="history-change-dot" style=style aria-hidden="true"></span>
            {changed.label}" "{counts}
        </span>
    }
}

/// `at` (Unix ms) as this browser writes a date and time.
fn local_time(at: i64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(at as f64));
    date.to_locale_string("default", &wasm_bindgen::JsValue::UNDEFINED)
        .as_string()
        .unwrap_or_default()
}
