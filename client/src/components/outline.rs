//! The outline: the document's headings as a table of contents, in a side
//! panel (a sheet over the page on phones). Choosing one scrolls the editor
//! and the preview to it. Focus moves into the panel when it opens and back
//! to its toggle when Escape closes it.

use leptos::html::{Div, Nav};
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::editor::SharedDoc;
use crate::markdown::MarkdownState;
use send_wrapper::SendWrapper;
use std::rc::Rc;

/// One entry: the block id of the heading, its level and text.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    block: u64,
    level: u8,
    text: String,
}

/// `outline`, with one `outline-item` per heading.
#[component]
pub(crate) fn Outline(
    doc: Rc<SharedDoc>,
    markdown: MarkdownState,
    content_version: RwSignal<u64>,
    open: RwSignal<bool>,
    editor_scroller: NodeRef<Div>,
    preview_scroller: NodeRef<Div>,
) -> impl IntoView {
    let doc = SendWrapper::new(doc);
    let entries = Memo::new(move |_| {
        let version = content_version.get();
        markdown.sync(version, || doc.content());
        markdown
            .with(|md| {
                let blocks = md.blocks();
                md.headings()
                    .map(|(i, h)| Entry {
                        block: blocks[i].id,
                        level: h.level,
                        text: h.text.clone(),
                    })
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    });
    let panel = NodeRef::<Nav>::new();
    panel.on_load(|nav| {
        if let Ok(Some(first)) = nav.query_selector("button, h2")
            && let Ok(first) = first.dyn_into::<web_sys::HtmlElement>()
        {
            let _ = first.focus();
        }
    });
    let go = move |block: u64| {
        for (scroller, selector) in [
            (editor_scroller, format!(".m-b[data-block=\"{block}\"]")),
            (
                preview_scroller,
                format!(".md-block[data-block=\"{block}\"]"),
            ),
        ] {
            if let Some(scroller) = scroller.get_untracked()
                && let Ok(Some(target)) = scroller.query_selector(&selector)
                && let Ok(target) = target.dyn_into::<web_sys::HtmlElement>()
            {
                scroller.set_scroll_top(target.offset_top());
            }
        }
        // On a phone the panel covers the page: it closes once used.
        let narrow = web_sys::window()
            .and_then(|w| w.inner_width().ok()?.as_f64())
            .is_some_and(|width| width <= 720.0);
        if narrow {
            close(open);
        }
    };
    view! {
        <nav
            class="outline-panel"
            id="outline-panel"
            aria-label="Outline"
            data-testid="outline"
            node_ref=panel
            on:keydown=move |ev: web_sys::KeyboardEvent| {
                if ev.key() == "Escape" {
                    close(open);
                }
            }
        >
            <div class="outline-head">
                <h2 class="outline-title" tabindex="-1">"Outline"</h2>
                <button
                    type="button"
                    class="icon-button"
                    aria-label="Close the outline"
                    on:click=move |_| close(open)
                >
                    <span aria-hidden="true">"×"</span>
                </button>
            </div>
            {move || {
                let entries = entries.get();
                if entries.is_empty() {
                    return view! {
                        <p class="muted small outline-empty">
                            "No headings yet. Lines starting with # become headings."
                        </p>
                    }
                        .into_any();
                }
                view! {
                    <ol class="outline-list">
                        {entries
                            .into_iter()
                            .map(|entry| {
                                let block = entry.block;
                                view! {
                                    <li class=format!("outline-item level-{}", entry.level)>
                                        <button
                                            type="button"
                                            data-testid="outline-item"
                                            on:click=move |_| go(block)
                                        >
                                            {entry.text}
                                        </button>
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ol>
                }
                    .into_any()
            }}
        </nav>
    }
}

/// Closes the panel and gives the focus back to its toggle.
fn close(open: RwSignal<bool>) {
    open.set(false);
    let toggle = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| {
            d.query_selector("[data-testid=\"outline-toggle\"]")
                .ok()
                .flatten()
        })
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
    if let Some(toggle) = toggle {
        let _ = toggle.focus();
    }
}
