//! The History panel: the document's versions (time, who changed what,
//! named ones marked), one version's text read-only with its changes marked
//! against the live document or the version before it (insertions in the
//! colour of who wrote them), and, for editors only, "Restore" and "Name
//! this version". The live document keeps updating
//! beside it; the list is fetched again when the panel opens, when the
//! document changes (a restore by someone else changes it) and after this
//! page names or restores.
//!
//! Keyboard: arrow keys move through the list (the selection follows the
//! focus), Escape closes the panel.

use std::rc::Rc;

use leptos::prelude::*;
use tandem_shared::RoomId;
use tandem_shared::authors::{Authorship, ExportedRun, Pieces};
use tandem_shared::history::{VersionEntry, check_label};

use super::popover::focus_when_shown;
use super::{HistoryDiff, HistoryRow};
use crate::editor::SharedDoc;
use crate::history::{
    by_author, diff, list_versions, name_version, restore_version, version_authors,
};

/// What the selected version is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compare {
    /// The live document: what restoring would change.
    Current,
    /// The version listed below it: what changed in it.
    Previous,
}

/// A version's text as fetched, for the selection and its comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Loaded {
    id: u64,
    text: String,
    /// Who wrote what in it.
    runs: Vec<ExportedRun>,
}

/// `history-panel`, its list (`history-list`, rows `history-item`), the
/// preview (`history-preview`), and the editor-only `history-restore`,
/// `history-label` and `history-name` controls.
#[component]
pub(crate) fn HistoryPanel(
    room: RoomId,
    /// The page's share key, if any.
    key: Option<String>,
    /// The live document, compared with the selected version.
    doc: Rc<SharedDoc>,
    /// Bumped by every change of the live document.
    content_version: RwSignal<u64>,
    /// Whether this page may only read: no restore or naming then.
    read_only: RwSignal<bool>,
    /// Whether the panel shows; Escape clears it.
    open: RwSignal<bool>,
    /// Who wrote what, as the server last said: names the insertions and
    /// each version's changes.
    authorship: RwSignal<Authorship>,
) -> impl IntoView {
    let versions = RwSignal::new(Vec::<VersionEntry>::new());
    let selected = RwSignal::new(None::<u64>);
    let compare = RwSignal::new(Compare::Current);
    let shown = RwSignal::new(None::<Loaded>);
    let previous = RwSignal::new(None::<Loaded>);
    let error = RwSignal::new(None::<String>);
    let notice = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let label = RwSignal::new(String::new());
    let refreshes = RwSignal::new(0u64);

    // The list: on open, after this page's own changes, and a moment after
    // the live document changes (a burst of typing fetches once).
    {
        let (room, key) = (room.clone(), key.clone());
        Effect::new(move |_| {
            refreshes.track();
            let (room, key) = (room.clone(), key.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match list_versions(&room, key.as_deref()).await {
                    Ok(list) => {
                        if selected.get_untracked().is_none() {
                            selected.try_set(list.first().map(|v| v.id));
                        }
                        versions.try_set(list);
                        error.try_set(None);
                    }
                    Err(e) => {
                        error.try_set(Some(format!("Could not load the history: {}", e.explain())));
                    }
                }
            });
        });
    }
    let pending = StoredValue::new_local(None::<gloo_timers::callback::Timeout>);
    Effect::new(move |first: Option<()>| {
        content_version.track();
        if first.is_some() {
            let timeout = gloo_timers::callback::Timeout::new(1_500, move || {
                refreshes.try_update(|n| *n += 1);
            });
            pending.set_value(Some(timeout));
        }
    });
    on_cleanup(move || {
        pending.try_update_value(|t| drop(t.take()));
    });

    // The selected version's text, and the one before it when compared.
    let fetch_into = {
        let (room, key) = (room.clone(), key.clone());
        move |target: RwSignal<Option<Loaded>>, id: Option<u64>| {
            let Some(id) = id else {
                target.set(None);
                return;
            };
            if target.with_untracked(|t| t.as_ref().is_some_and(|t| t.id == id)) {
                return;
            }
            let (room, key) = (room.clone(), key.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match version_authors(&room, id, key.as_deref()).await {
                    Ok(export) => {
                        target.try_set(Some(Loaded {
                            id,
                            text: export.text,
                            runs: export.runs,
                        }));
                    }
                    Err(e) => {
                        error.try_set(Some(format!(
                            "Could not open that version: {}",
                            e.explain()
                        )));
                    }
                }
            });
        }
    };
    {
        let fetch_into = fetch_into.clone();
        Effect::new(move |_| fetch_into(shown, selected.get()));
    }
    Effect::new(move |_| {
        let before = selected.get().and_then(|id| {
            versions.with(|list| {
                let at = list.iter().position(|v| v.id == id)?;
                list.get(at + 1).map(|v| v.id)
            })
        });
        if compare.get() == Compare::Previous {
            fetch_into(previous, before);
        }
    });

    // The marked text: against the live document (tracked) or the previous version.
    let pieces = {
        let doc = Rc::clone(&doc);
        let doc = send_wrapper::SendWrapper::new(doc);
        Memo::new(move |_| {
            let shown = shown.get()?;
            if selected.get() != Some(shown.id) {
                return None;
            }
            Some(match compare.get() {
                Compare::Current => {
                    content_version.track();
                    let runs = authorship.with(|table| live_runs(&doc, table));
                    by_author(diff(&shown.text, &doc.content()), &runs)
                }
                Compare::Previous => match previous.get() {
                    Some(before) => by_author(diff(&before.text, &shown.text), &shown.runs),
                    None => by_author(diff("", &shown.text), &shown.runs),
                },
            })
        })
    };

    let restore = {
        let (room, key) = (room.clone(), key.clone());
        move |_| {
            let Some(id) = selected.get_untracked() else {
                return;
            };
            if busy.get_untracked() {
                return;
            }
            busy.set(true);
            error.set(None);
            let (room, key) = (room.clone(), key.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match restore_version(&room, id, key.as_deref()).await {
                    Ok(entry) => {
                        notice.try_set(Some("Restored. Everyone now sees that text.".into()));
                        selected.try_set(Some(entry.id));
                        refreshes.try_update(|n| *n += 1);
                    }
                    Err(e) => {
                        error.try_set(Some(format!("Could not restore: {}", e.explain())));
                    }
                }
                busy.try_set(false);
            });
        }
    };
    let name = {
        let (room, key) = (room.clone(), key.clone());
        move |ev: web_sys::SubmitEvent| {
            ev.prevent_default();
            let text = label.get_untracked();
            if let Some(why) = check_label(&text) {
                error.set(Some(format!("Could not name it: {why}.")));
                return;
            }
            busy.set(true);
            error.set(None);
            let (room, key) = (room.clone(), key.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match name_version(&room, text.trim(), key.as_deref()).await {
                    Ok(entry) => {
                        label.try_set(String::new());
                        notice.try_set(Some(format!(
                            "Named “{}”.",
                            entry.label.unwrap_or_default()
                        )));
                        selected.try_set(Some(entry.id));
                        refreshes.try_update(|n| *n += 1);
                    }
                    Err(e) => {
                        error.try_set(Some(format!("Could not name it: {}", e.explain())));
                    }
                }
                busy.try_set(false);
            });
        }
    };

    let on_keydown = move |ev: web_sys::KeyboardEvent| match ev.key().as_str() {
        "Escape" => {
            ev.prevent_default();
            open.set(false);
        }
        "ArrowDown" | "ArrowUp" => {
            let down = ev.key() == "ArrowDown";
            let next = versions.with_untracked(|list| {
                let at = selected
                    .get_untracked()
                    .and_then(|id| list.iter().position(|v| v.id == id));
                let next = match (at, down) {
                    (Some(i), true) => (i + 1).min(list.len().saturating_sub(1)),
                    (Some(i), false) => i.saturating_sub(1),
                    (None, _) => 0,
                };
                list.get(next).map(|v| v.id)
            });
            if let Some(id) = next {
                ev.prevent_default();
                selected.set(Some(id));
                focus_row(id);
            }
        }
        _ => {}
    };

    // Opening the panel moves the focus into it (the panel itself, named
    // "Version history"; Tab goes on to its controls and list).
    let panel = NodeRef::<leptos::html::Aside>::new();
    focus_when_shown(panel);

    view! {
        <aside
            class="history-panel"
            node_ref=panel
            tabindex="-1"
            id="history-panel"
            data-testid="history-panel"
            aria-label="Version history"
            on:keydown=on_keydown
        >
            <div class="history-head">
                <h2 class="history-title">"History"</h2>
                <button
                    type="button"
                    class="btn btn-secondary history-close"
                    data-testid="history-close"
                    aria-label="Close the history"
                    on:click=move |_| open.set(false)
                >
                    "Close"
                </button>
            </div>
            <Show when=move || !read_only.get()>
                <form class="history-name" on:submit=name.clone()>
                    <label class="history-name-label" for="history-label">
                        "Name this version"
                    </label>
                    <input
                        id="history-label"
                        class="input"
                        data-testid="history-label"
                        maxlength="100"
                        placeholder="Draft sent to Ana"
                        prop:value=move || label.get()
                        on:input=move |ev| label.set(event_target_value(&ev))
                    />
                    <button
                        type="submit"
                        class="btn btn-secondary"
                        data-testid="history-name"
                        disabled=move || busy.get()
                    >
                        "Name"
                    </button>
                </form>
            </Show>
            {move || error.get().map(|m| view! { <p class="field-error" role="alert" data-testid="history-error">{m}</p> })}
            {move || notice.get().map(|m| view! { <p class="history-notice" role="status">{m}</p> })}
            <div class="history-body">
                // A listbox holds options only: the empty state is beside it.
                <Show
                    when=move || !versions.with(Vec::is_empty)
                    fallback=|| view! {
                        <p class="history-list history-empty muted" data-testid="history-list">
                            "No versions yet: one is kept after a stretch of editing, when everyone leaves, or when you name one."
                        </p>
                    }
                >
                    <ul
                        class="history-list"
                        role="listbox"
                        aria-label="Versions, newest first"
                        data-testid="history-list"
                    >
                        <For
                            each=move || versions.get()
                            key=|v| (v.id, v.label.clone())
                            let:version
                        >
                            <HistoryRow version=version selected=selected authorship=authorship/>
                        </For>
                    </ul>
                </Show>
                <section class="history-preview" aria-label="The selected version">
                    <div class="history-preview-bar">
                        <label class="history-compare">
                            "Changes against "
                            <select
                                data-testid="history-compare"
                                on:change=move |ev| {
                                    compare.set(if event_target_value(&ev) == "previous" {
                                        Compare::Previous
                                    } else {
                                        Compare::Current
                                    })
                                }
                            >
                                <option value="current">"the current document"</option>
                                <option value="previous">"the previous version"</option>
                            </select>
                        </label>
                        <Show when=move || !read_only.get() && selected.get().is_some()>
                            <button
                                type="button"
                                class="btn btn-primary"
                                data-testid="history-restore"
                                disabled=move || busy.get()
                                on:click=restore.clone()
                            >
                                "Restore this version"
                            </button>
                        </Show>
                    </div>
                    <HistoryDiff
                        pieces=pieces
                        against_current=Signal::derive(move || compare.get() == Compare::Current)
                        authorship=authorship
                    />
                </section>
            </div>
        </aside>
    }
}

/// Who wrote what in the live document's body, read from its items.
fn live_runs(doc: &SharedDoc, table: &Authorship) -> Vec<ExportedRun> {
    let Some(items) = doc.body_items() else {
        return Vec::new();
    };
    Pieces::from_spans(&items)
        .runs(&table.lookup())
        .into_iter()
        .map(|run| ExportedRun {
            from: run.from,
            to: run.to,
            author: run
                .author
                .and_then(|i| table.authors.get(i))
                .map(|a| a.id.clone()),
        })
        .collect()
}

/// Moves the focus to the row of version `id`.
fn focus_row(id: u64) {
    use wasm_bindgen::JsCast;
    let row = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(&format!("history-version-{id}")))
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
    if let Some(row) = row {
        let _ = row.focus();
    }
}
