//! Who wrote what, drawn: keeps the runs up to date as the body changes
//! (`AuthorsView::refresh`), tints them in the editor's highlight layer and
//! in the preview (`crate::authors::tint`), names the author of the text
//! under the pointer in a tooltip and of the text at the caret in the
//! legend. While authors are not shown it only drops what the document
//! reports, and takes every tint away.
//!
//! The highlight layer and the preview replace a block's element when its
//! text changes, in effects of their own: a `MutationObserver` on each
//! container tints new blocks as they come, whichever effect ran first.

use std::cell::RefCell;
use std::rc::Rc;

use leptos::html::Div;
use leptos::prelude::*;
use send_wrapper::SendWrapper;
use tandem_shared::authors::Authorship;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{Element, HtmlElement, MutationObserver, MutationObserverInit};

use crate::authors::tint::{self, Block};
use crate::authors::{AuthorsView, label_of, local_time, timed};
use crate::editor::SharedDoc;
use crate::listener::EventListener;
use crate::markdown::MarkdownState;

/// The two tinted containers and what watches them.
#[derive(Default)]
struct Watched {
    /// The highlight layer under the body, and its observer.
    layer: Option<(Element, MutationObserver)>,
    /// The preview's article, and its observer.
    preview: Option<(Element, MutationObserver)>,
    /// The listeners for the pointer and the caret.
    listeners: Vec<EventListener>,
    /// Called by the observers: paints again.
    repaint: Option<Closure<dyn FnMut(js_sys::Array, MutationObserver)>>,
}

/// `author-tip`, the tooltip; the work is in effects and listeners.
#[component]
pub(crate) fn AuthorTints(
    doc: Rc<SharedDoc>,
    view: AuthorsView,
    markdown: MarkdownState,
    /// Bumped on every change of the body.
    content_version: RwSignal<u64>,
    /// The room's authorship, as the server last said.
    authorship: RwSignal<Authorship>,
    /// The editor's scrolling surface (holds the highlight layer).
    editor_scroller: NodeRef<Div>,
    /// The preview's scrolling pane (holds the preview's article).
    preview_scroller: NodeRef<Div>,
) -> impl IntoView {
    let doc = SendWrapper::new(doc);
    let watched = SendWrapper::new(Rc::new(RefCell::new(Watched::default())));
    let tip = RwSignal::new(None::<(String, i32, i32)>);

    let paint = SendWrapper::new(Rc::new(move || {
        paint_all(view, markdown, editor_scroller, preview_scroller)
    }));

    // The runs follow the body and the authorship; the tints the runs.
    {
        let doc = doc.clone();
        let watched = watched.clone();
        let paint = paint.clone();
        Effect::new(move |_| {
            let version = content_version.get();
            let shown = view.shown.get();
            let edits = doc.take_body_edits();
            if !shown {
                view.forget();
                view.at_caret.set(None);
                for container in containers(editor_scroller, preview_scroller) {
                    tint::clear(&container);
                }
                return;
            }
            authorship.with(|table| {
                timed(|| {
                    let whole = view.refresh(
                        edits,
                        || doc.body_items(),
                        table,
                        doc.client_id(),
                        local_time,
                    );
                    // A whole read and the runs from it, or one edit's worth.
                    let name = if whole {
                        "tandem:authors-runs"
                    } else {
                        "tandem:authors-update"
                    };
                    ((), name)
                });
            });
            markdown.sync(version, || doc.content());
            watch(&watched, editor_scroller, preview_scroller, &paint);
            paint();
        });
    }

    // The pointer and the caret name the author.
    {
        let watched = watched.clone();
        let doc = doc.clone();
        Effect::new(move |_| {
            let (Some(editor), preview) = (editor_scroller.get(), preview_scroller.get()) else {
                return;
            };
            let mut listeners = Vec::new();
            for pane in std::iter::once(Element::from(editor)).chain(preview.map(Element::from)) {
                listeners.extend(EventListener::new(&pane, "mousemove", move |ev| {
                    let Some(ev) = ev.dyn_ref::<web_sys::MouseEvent>() else {
                        return;
                    };
                    if !view.shown.get_untracked() {
                        tip.set(None);
                        return;
                    }
                    tip.set(
                        author_under(view, ev.client_x(), ev.client_y())
                            .map(|label| (label, ev.client_x(), ev.client_y())),
                    );
                }));
                listeners.extend(EventListener::new(&pane, "mouseleave", move |_| {
                    tip.set(None);
                }));
            }
            if let Some(document) = web_sys::window().and_then(|w| w.document()) {
                let doc = doc.clone();
                listeners.extend(EventListener::new(
                    &document,
                    "selectionchange",
                    move |_| {
                        if view.shown.get_untracked() {
                            view.at_caret.set(author_at_caret(&doc, view));
                        }
                    },
                ));
            }
            watched.borrow_mut().listeners = listeners;
        });
    }

    let teardown = watched.clone();
    on_cleanup(move || {
        let mut watched = teardown.borrow_mut();
        for (_, observer) in watched
            .layer
            .take()
            .into_iter()
            .chain(watched.preview.take())
        {
            observer.disconnect();
        }
        watched.listeners.clear();
        watched.repaint = None;
    });

    view! {
        <div
            class="author-tip"
            role="tooltip"
            data-testid="author-tip"
            hidden=move || tip.with(Option::is_none)
            style=move || {
                tip.with(|t| {
                    t.as_ref()
                        .map(|(_, x, y)| format!("left:{}px;top:{}px", x + 12, y + 18))
                        .unwrap_or_default()
                })
            }
        >
            {move || tip.with(|t| t.as_ref().map(|(label, _, _)| label.clone()))}
        </div>
    }
}

/// The highlight layer and the preview's article, each if mounted.
fn mounted(editor: NodeRef<Div>, preview: NodeRef<Div>) -> (Option<Element>, Option<Element>) {
    let layer = editor
        .get_untracked()
        .and_then(|e| e.query_selector(".editor-highlight").ok().flatten());
    let article = preview
        .get_untracked()
        .and_then(|p| p.query_selector("article").ok().flatten());
    (layer, article)
}

/// The highlight layer and the preview's article, where they are mounted.
fn containers(editor: NodeRef<Div>, preview: NodeRef<Div>) -> Vec<Element> {
    let (layer, article) = mounted(editor, preview);
    layer.into_iter().chain(article).collect()
}

/// Makes sure each mounted container is watched for new blocks (the
/// preview's comes and goes with the view mode).
fn watch(
    watched: &Rc<RefCell<Watched>>,
    editor: NodeRef<Div>,
    preview: NodeRef<Div>,
    paint: &Rc<impl Fn() + 'static>,
) {
    let mut guard = watched.borrow_mut();
    let w = &mut *guard;
    let repaint = w.repaint.get_or_insert_with(|| {
        let paint = Rc::clone(paint);
        Closure::new(move |_: js_sys::Array, _: MutationObserver| paint())
    });
    let callback = repaint.as_ref().unchecked_ref::<js_sys::Function>().clone();
    let (layer, article) = mounted(editor, preview);
    for (slot, current) in [(&mut w.layer, layer), (&mut w.preview, article)] {
        if slot.as_ref().map(|(el, _)| el) == current.as_ref() {
            continue;
        }
        if let Some((_, old)) = slot.take() {
            old.disconnect();
        }
        let Some(element) = current else {
            continue;
        };
        let Ok(observer) = MutationObserver::new(&callback) else {
            continue;
        };
        let options = MutationObserverInit::new();
        options.set_child_list(true);
        if observer.observe_with_options(&element, &options).is_ok() {
            *slot = Some((element, observer));
        }
    }
}

/// Tints both containers from the current runs (only the blocks whose
/// runs changed), and sets the authors' colours on the page.
fn paint_all(
    view: AuthorsView,
    markdown: MarkdownState,
    editor: NodeRef<Div>,
    preview: NodeRef<Div>,
) {
    if !view.shown.get_untracked() {
        return;
    }
    let (layer, article) = mounted(editor, preview);
    let page = editor
        .get_untracked()
        .and_then(|e| e.closest(".doc-page").ok().flatten())
        .and_then(|p| p.dyn_into::<HtmlElement>().ok());
    let blocks = markdown
        .with(|md| {
            let text = md.text().to_owned();
            md.blocks()
                .iter()
                .enumerate()
                .map(|(i, block)| {
                    let source = text
                        .get(block.range.clone())
                        .map(|s| s.encode_utf16().collect::<Vec<u16>>());
                    (
                        Block {
                            id: block.id,
                            start: md.utf16_start(i) as u32,
                            len: block.utf16_len as u32,
                            source: None,
                        },
                        source,
                    )
                })
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    view.with(|runs, shown| {
        if let Some(page) = &page {
            tint::set_colors(page, shown);
        }
        if let Some(layer) = &layer {
            let exact: Vec<Block> = blocks.iter().map(|(b, _)| b.clone()).collect();
            tint::paint(layer, &exact, runs);
        }
        if let Some(article) = &article {
            let sourced: Vec<Block> = blocks
                .iter()
                .map(|(b, source)| Block {
                    source: Some(source.clone().unwrap_or_default()),
                    ..b.clone()
                })
                .collect();
            tint::paint(article, &sourced, runs);
        }
    });
}

/// The name of the author of the tinted text at the viewport point `x, y`.
fn author_under(view: AuthorsView, x: i32, y: i32) -> Option<String> {
    let document = web_sys::window()?.document()?;
    let stack = document.elements_from_point(x as f32, y as f32);
    let span = stack
        .iter()
        .filter_map(|node| node.dyn_into::<Element>().ok())
        .find(|el| el.class_list().contains("au"))?;
    let author = span
        .get_attribute("data-au")
        .and_then(|a| a.parse::<usize>().ok());
    view.with(|_, shown| label_of(author, shown))
}

/// Who wrote the character before the body's caret (the first, at the
/// start), when the body has the focus.
fn author_at_caret(doc: &SharedDoc, view: AuthorsView) -> Option<String> {
    if !doc.content_focused() {
        return None;
    }
    let document = web_sys::window()?.document()?;
    let textarea = document
        .active_element()?
        .dyn_into::<web_sys::HtmlTextAreaElement>()
        .ok()?;
    let caret = textarea.selection_start().ok().flatten()?;
    view.label_at(caret.saturating_sub(1))
}
