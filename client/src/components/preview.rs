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
//! (`crate::markdown::scroll_sync`), in the animation frame after the
//! scroll. A move of the preview that its own change caused (the scroll
//! anchoring that keeps its text in place) is not passed on: before, each
//! keystroke's re-rendered block nudged the preview, the preview moved the
//! editor, and typing moved the editor's text by a line and back.
//!
//! Rendering only writes to the DOM; nothing here reads layout during an
//! edit.

use std::cell::Cell;
use std::rc::Rc;

use leptos::html::Div;
use leptos::prelude::*;
use send_wrapper::SendWrapper;
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlElement};

use crate::editor::SharedDoc;
use crate::listener::EventListener;
use crate::markdown::reconcile::BlockElements;
use crate::markdown::scroll_sync::{Pane, map_scroll};
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

    // Set while the preview's own content change may still move its scroll
    // position (the browser's scroll anchoring), so that move is not taken
    // for the reader's and passed on to the editor.
    let settling = SendWrapper::new(Rc::new(Cell::new(false)));

    Effect::new({
        let doc = doc.clone();
        let settling = settling.clone();
        move |_| {
            let version = content_version.get();
            let editable = !read_only.get();
            let Some(article) = article.get() else {
                return;
            };
            markdown.sync(version, || doc.content());
            let blocks = markdown.preview();
            let focused = focused_box(&article, blocks);
            let first = !blocks.shows_in(&article);
            let made = markdown
                .with(|md| {
                    let ids: Vec<u64> = md.blocks().iter().map(|b| b.id).collect();
                    let made = blocks
                        .reconcile(&article, &ids, "div", "md-block", |i| md.html(i).to_owned());
                    for (_, block) in &made {
                        enable_boxes(block, editable);
                    }
                    made
                })
                .unwrap_or_default();
            if let Some((block, task)) = focused {
                refocus(blocks, block, &task);
            }
            if !made.is_empty() {
                settle(&settling);
                if !first {
                    lay_out_at_once(made.into_iter().map(|(_, el)| el).collect());
                }
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

    // Split mode: each pane follows the other, block by block. A scroll
    // event only notes which pane moved; the following happens in the next
    // animation frame (of the same rendering update: scroll events come
    // first), once for both panes, where reading layout costs no extra
    // layout.
    let listeners = SendWrapper::new(Rc::new(
        std::cell::RefCell::new(Vec::<EventListener>::new()),
    ));
    let attach = listeners.clone();
    scroller.on_load(move |pane| {
        let Some(editor) = editor_scroller.get_untracked() else {
            return;
        };
        let sync = Rc::new(ScrollSync {
            echo: Cell::new(None),
            pending: Cell::new(None),
            settling: Rc::clone(&settling),
        });
        let follow = |from_editor: bool| {
            let sync = Rc::clone(&sync);
            move |_| {
                if mode.get_untracked() != ViewMode::Split || !sync.moved(from_editor) {
                    return;
                }
                let sync = Rc::clone(&sync);
                request_animation_frame(move || {
                    let Some(from_editor) = sync.pending.take() else {
                        return;
                    };
                    let (Some(editor), Some(pane)) =
                        (editor_scroller.get_untracked(), scroller.get_untracked())
                    else {
                        return;
                    };
                    sync.follow(from_editor, &editor, &pane, markdown);
                });
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

/// Split mode's scroll sync between the editor's surface and the preview.
struct ScrollSync {
    /// The pane that moved last because the other one did, whose next
    /// scroll event is an echo (`Some(true)`: the editor).
    echo: Cell<Option<bool>>,
    /// The pane whose move the next animation frame passes on, if any.
    pending: Cell<Option<bool>>,
    /// Set while the preview's own content change may move it.
    settling: Rc<Cell<bool>>,
}

impl ScrollSync {
    /// A pane scrolled (`from_editor`: the editor). Returns whether a
    /// frame must pass the move on (none is asked for yet).
    fn moved(&self, from_editor: bool) -> bool {
        if self.echo.get() == Some(from_editor) {
            self.echo.set(None);
            return false;
        }
        // Scroll anchoring keeping the preview's text in place while its
        // blocks change is not the reader scrolling it.
        if !from_editor && self.settling.get() {
            return false;
        }
        self.pending.replace(Some(from_editor)).is_none()
    }

    /// Scrolls the other pane to the block, and the fraction of it, this
    /// one shows at its top.
    fn follow(
        &self,
        from_editor: bool,
        editor: &HtmlElement,
        pane: &HtmlElement,
        markdown: MarkdownState,
    ) {
        let (from, to) = if from_editor {
            (editor, pane)
        } else {
            (pane, editor)
        };
        let (from_blocks, to_blocks) = if from_editor {
            (markdown.layer(), markdown.preview())
        } else {
            (markdown.preview(), markdown.layer())
        };
        let target = from_blocks.with(|from_shown| {
            to_blocks.with(|to_shown| {
                map_scroll(
                    &pane_of(from_shown),
                    &pane_of(to_shown),
                    f64::from(from.scroll_top()),
                )
            })
        });
        let Some(Some(target)) = target else {
            return;
        };
        let max = f64::from(to.scroll_height() - to.client_height()).max(0.0);
        let target = target.clamp(0.0, max).round() as i32;
        if (target - to.scroll_top()).abs() >= 1 {
            self.echo.set(Some(!from_editor));
            to.set_scroll_top(target);
        }
    }
}

/// A pane's block elements as the scroll mapping reads them: each top
/// (relative to the pane's scrolled content) read only when asked for.
fn pane_of(shown: &[(u64, HtmlElement)]) -> Pane<impl Fn(usize) -> f64 + '_> {
    let end = shown.last().map_or(0.0, |(_, last)| {
        f64::from(last.offset_top() + last.offset_height())
    });
    Pane {
        blocks: shown.len(),
        top: move |i| {
            shown
                .get(i)
                .map_or(0.0, |(_, el)| f64::from(el.offset_top()))
        },
        end,
    }
}

/// Has the preview lay out blocks that replaced others in the next frame.
/// A block off screen is not laid out (`content-visibility: auto`) and
/// takes the size it had last; a new element has none, so for a frame it
/// would be 4em tall, the text below would jump, and scroll anchoring would
/// move the preview twice. `md-fresh` keeps them visible until they have a
/// size of their own.
fn lay_out_at_once(made: Vec<HtmlElement>) {
    for block in &made {
        let _ = block.class_list().add_1("md-fresh");
    }
    request_animation_frame(move || {
        request_animation_frame(move || {
            for block in &made {
                let _ = block.class_list().remove_1("md-fresh");
            }
        });
    });
}

/// Marks the preview as settling until its content change has been laid
/// out and any scroll anchoring it causes has been reported: scroll events
/// are dispatched at the start of a frame, before its animation frame
/// callbacks, so the mark goes in the callbacks of the frame after next.
fn settle(settling: &Rc<Cell<bool>>) {
    settling.set(true);
    let settling = Rc::clone(settling);
    request_animation_frame(move || {
        request_animation_frame(move || settling.set(false));
    });
}

/// The task box with the focus, as (the index of its block, its `data-task`).
fn focused_box(article: &Element, blocks: BlockElements) -> Option<(usize, String)> {
    let active = web_sys::window()?.document()?.active_element()?;
    if !article.contains(Some(&active)) || !active.matches(".task-list-item-checkbox").ok()? {
        return None;
    }
    let block = active.closest("[data-block]").ok()??;
    let index = blocks.with(|shown| {
        shown
            .iter()
            .position(|(_, el)| block.is_same_node(Some(el)))
    })??;
    Some((index, active.get_attribute("data-task")?))
}

/// Gives the focus back to the box `task` of the block at `index`.
fn refocus(blocks: BlockElements, index: usize, task: &str) {
    let Some(Some(block)) = blocks.with(|shown| shown.get(index).map(|(_, el)| el.clone())) else {
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
