//! The live preview: the body rendered from Markdown, block by block.
//!
//! One `div` per block of the document (`MarkdownState`) holds the block's
//! sanitised HTML (`tandem_shared::markdown::render`, the same function the
//! server's HTML export runs). After any edit, local or remote, only blocks
//! with new ids are replaced (`crate::markdown::reconcile`): the rest of the
//! preview, its scroll position (the browser's scroll anchoring keeps what
//! is on screen in place) and the focus are left alone. A focused task box
//! whose block is replaced gets the focus back.
//!
//! Task boxes are enabled for people who may edit; a click becomes one edit
//! of the text (`SharedDoc::toggle_task`), and the re-rendered block shows
//! the result, as everyone else sees it. Links to `#…` scroll the preview
//! instead of changing the page address (which carries the share key).
//!
//! In Split mode the two panes follow each other's scrolling block by block
//! (`crate::markdown::scroll_sync`).

use std::cell::Cell;
use std::rc::Rc;

use leptos::html::Div;
use leptos::prelude::*;
use send_wrapper::SendWrapper;
use wasm_bindgen::JsCast;
use web_sys::Element;

use crate::editor::SharedDoc;
use crate::listener::EventListener;
use crate::markdown::reconcile::{block_children, reconcile};
use crate::markdown::scroll_sync::map_scroll;
use crate::markdown::{MarkdownState, ViewMode};

/// `preview`.
#[component]
pub(crate) fn Preview(
    doc: Rc<SharedDoc>,
    markdown: MarkdownState,
    /// Bumped on every change of the body.
    content_version: RwSignal<u64>,
    read_only: RwSignal<bool>,
    mode: RwSignal<ViewMode>,
    /// The editor's scrolling surface, for the scroll sync.
    editor_scroller: NodeRef<Div>,
    /// The preview's scrolling pane (also used by the outline).
    scroller: NodeRef<Div>,
) -> impl IntoView {
    let article = NodeRef::<leptos::html::Article>::new();
    let doc = SendWrapper::new(doc);

    Effect::new({
        let doc = doc.clone();
        move |_| {
            let version = content_version.get();
            let editable = !read_only.get();
            let Some(article) = article.get() else {
                return;
            };
            markdown.sync(version, || doc.content());
            let focused = focused_box(&article);
            markdown.with(|md| {
                let ids: Vec<u64> = md.blocks().iter().map(|b| b.id).collect();
                let made = reconcile(&article, &ids, "div", "md-block", |i| md.html(i).to_owned());
                for (_, block) in &made {
                    enable_boxes(block, editable);
                }
            });
            if let Some((block, task)) = focused {
                refocus(&article, block, &task);
            }
        }
    });

    // A change of rights reaches the boxes already shown.
    Effect::new(move |_| {
        let editable = !read_only.get();
        if let Some(article) = article.get_untracked() {
            enable_boxes(&article, editable);
        }
    });

    let on_click = {
        let doc = doc.clone();
        move |ev: web_sys::MouseEvent| {
            let Some(target) = ev.target().and_then(|t| t.dyn_into::<Element>().ok()) else {
                return;
            };
            if target.matches(".task-list-item-checkbox").unwrap_or(false) {
                // The box shows the text's state, not the click's: the edit
                // re-renders it.
                ev.prevent_default();
                let offset = target
                    .get_attribute("data-task")
                    .and_then(|o| o.parse::<usize>().ok());
                let block = target
                    .closest("[data-block]")
                    .ok()
                    .flatten()
                    .and_then(|b| b.get_attribute("data-block")?.parse::<u64>().ok());
                let (Some(offset), Some(block)) = (offset, block) else {
                    return;
                };
                let at = markdown
                    .with(|md| {
                        let i = md.blocks().iter().position(|b| b.id == block)?;
                        Some(md.utf16_start(i) + offset)
                    })
                    .flatten();
                if let Some(at) = at {
                    doc.toggle_task(at);
                }
                return;
            }
            if let Ok(Some(link)) = target.closest("a[href^='#']") {
                ev.prevent_default();
                let id = link
                    .get_attribute("href")
                    .unwrap_or_default()
                    .trim_start_matches('#')
                    .to_owned();
                let found = web_sys::window()
                    .and_then(|w| w.document())
                    .and_then(|d| d.get_element_by_id(&id));
                if let (Some(found), Some(article)) = (found, article.get_untracked())
                    && article.contains(Some(&found))
                {
                    found.scroll_into_view();
                }
            }
        }
    };

    // Split mode: each pane follows the other, block by block.
    let listeners = SendWrapper::new(Rc::new(
        std::cell::RefCell::new(Vec::<EventListener>::new()),
    ));
    let attach = listeners.clone();
    scroller.on_load(move |pane| {
        let Some(editor) = editor_scroller.get_untracked() else {
            return;
        };
        // The pane that moved last because the other one did, whose next
        // scroll event is an echo.
        let echo: Rc<Cell<Option<bool>>> = Rc::new(Cell::new(None));
        let follow = |from_editor: bool| {
            let echo = Rc::clone(&echo);
            move |_| {
                if mode.get_untracked() != ViewMode::Split {
                    return;
                }
                if echo.get() == Some(from_editor) {
                    echo.set(None);
                    return;
                }
                let (Some(editor), Some(pane)) =
                    (editor_scroller.get_untracked(), scroller.get_untracked())
                else {
                    return;
                };
                let (from, to): (&web_sys::HtmlElement, &web_sys::HtmlElement) = if from_editor {
                    (&editor, &pane)
                } else {
                    (&pane, &editor)
                };
                let (Some((from_tops, from_end)), Some((to_tops, to_end))) =
                    (block_tops(from, from_editor), block_tops(to, !from_editor))
                else {
                    return;
                };
                let target = map_scroll(
                    &from_tops,
                    from_end,
                    &to_tops,
                    to_end,
                    f64::from(from.scroll_top()),
                );
                let max = f64::from(to.scroll_height() - to.client_height()).max(0.0);
                let target = target.clamp(0.0, max).round() as i32;
                if (target - to.scroll_top()).abs() >= 1 {
                    echo.set(Some(!from_editor));
                    to.set_scroll_top(target);
                }
            }
        };
        let mut listeners = attach.borrow_mut();
        listeners.extend(EventListener::new(&editor, "scroll", follow(true)));
        listeners.extend(EventListener::new(&pane, "scroll", follow(false)));
    });
    on_cleanup(move || listeners.borrow_mut().clear());

    view! {
        <section class="preview-pane" aria-label="Preview">
            <div class="preview-scroll" node_ref=scroller tabindex="0" data-testid="preview-scroll">
                <article
                    class="markdown-body preview"
                    node_ref=article
                    data-testid="preview"
                    on:click=on_click
                ></article>
            </div>
        </section>
    }
}

/// The tops of the block elements of a pane (relative to its scrolled
/// content) and the bottom of the last, or `None` before it has any.
fn block_tops(pane: &web_sys::HtmlElement, editor: bool) -> Option<(Vec<f64>, f64)> {
    let container = pane
        .query_selector(if editor {
            ".editor-highlight"
        } else {
            "article"
        })
        .ok()
        .flatten()?;
    let blocks = block_children(&container);
    let tops: Vec<f64> = blocks
        .iter()
        .filter_map(|(_, el)| el.dyn_ref::<web_sys::HtmlElement>())
        .map(|el| f64::from(el.offset_top()))
        .collect();
    let last = blocks.last()?.1.dyn_ref::<web_sys::HtmlElement>()?.clone();
    let end = f64::from(last.offset_top() + last.offset_height());
    Some((tops, end))
}

/// The task box with the focus, as (the index of its block, its `data-task`).
fn focused_box(article: &Element) -> Option<(usize, String)> {
    let active = web_sys::window()?.document()?.active_element()?;
    if !article.contains(Some(&active)) || !active.matches(".task-list-item-checkbox").ok()? {
        return None;
    }
    let block = active.closest("[data-block]").ok()??;
    let index = block_children(article)
        .iter()
        .position(|(_, el)| *el == block)?;
    Some((index, active.get_attribute("data-task")?))
}

/// Gives the focus back to the box `task` of the block at `index`.
fn refocus(article: &Element, index: usize, task: &str) {
    let Some((_, block)) = block_children(article).into_iter().nth(index) else {
        return;
    };
    let selector = format!(".task-list-item-checkbox[data-task=\"{task}\"]");
    if let Ok(Some(found)) = block.query_selector(&selector)
        && let Ok(found) = found.dyn_into::<web_sys::HtmlElement>()
    {
        let _ = found.focus();
    }
}

/// Enables (for editors) or disables the task boxes under `root`.
fn enable_boxes(root: &Element, editable: bool) {
    let Ok(boxes) = root.query_selector_all(".task-list-item-checkbox") else {
        return;
    };
    for i in 0..boxes.length() {
        if let Some(input) = boxes
            .item(i)
            .and_then(|n| n.dyn_into::<web_sys::HtmlInputElement>().ok())
        {
            input.set_disabled(!editable);
        }
    }
}
