//! The document body: a `<textarea>` bound to the `content` text, with the
//! Markdown highlighting drawn under it, the other people's carets and
//! selections drawn over it, and this person's caret reported as presence.
//!
//! The textarea keeps everything a person types with (IME, spell-check,
//! mobile keyboards, selection, the browser's caret) and shows transparent
//! text; the highlight layer under it holds the same characters with the
//! same metrics, coloured (see `HighlightLayer`). Both sit in one grid cell
//! whose height is the layer's, inside a scrolling surface, so they scroll
//! together natively and never drift apart. During an IME composition the
//! textarea shows its own text (the layer does not know the composed text
//! yet). Markdown shortcuts (`crate::markdown::keys`) are edits made
//! through the document before the undo shortcuts get the key.

use std::rc::Rc;

use leptos::html::{Div, Textarea};
use leptos::prelude::*;

use super::{HighlightLayer, RemoteCursors};
use crate::editor::{Field, FieldElement, Modifiers, SharedDoc};
use crate::markdown::MarkdownState;
use crate::markdown::keys::action_for_key;
use crate::presence::{PresenceReporter, PresenceTable};

/// `editor`.
#[component]
pub(crate) fn TextEditor(
    doc: Rc<SharedDoc>,
    read_only: RwSignal<bool>,
    /// The others in the room, for their carets.
    peers: RwSignal<PresenceTable>,
    /// Bumped on every change of the body.
    content_version: RwSignal<u64>,
    /// Where caret moves and focus changes go.
    reporter: PresenceReporter,
    /// The body's Markdown blocks, for the highlighting.
    markdown: MarkdownState,
    /// The scrolling surface (for the preview's scroll sync and the outline).
    scroller: NodeRef<Div>,
) -> impl IntoView {
    let node = NodeRef::<Textarea>::new();
    let composing = RwSignal::new(false);
    let on_input = {
        let doc = Rc::clone(&doc);
        let reporter = reporter.clone();
        move |_| {
            // The page's own change of the field (a remote edit) is not news.
            if doc.is_patching(Field::Content) {
                return;
            }
            doc.input(Field::Content);
            reporter.report();
        }
    };
    let on_composition_start = {
        let doc = Rc::clone(&doc);
        move |_| {
            doc.composition_start();
            composing.set(true);
        }
    };
    let on_composition_end = {
        let doc = Rc::clone(&doc);
        let reporter = reporter.clone();
        move |_| {
            doc.composition_end(Field::Content);
            composing.set(false);
            reporter.report();
        }
    };
    let on_blur = {
        let doc = Rc::clone(&doc);
        let reporter = reporter.clone();
        move |_| {
            doc.composition_end(Field::Content);
            composing.set(false);
            reporter.report();
        }
    };
    let on_keydown = {
        let doc = Rc::clone(&doc);
        let reporter = reporter.clone();
        move |ev: web_sys::KeyboardEvent| {
            // 229: a key the IME is handling.
            if !ev.is_composing() && ev.key_code() != 229 {
                let mods = Modifiers {
                    ctrl: ev.ctrl_key(),
                    meta: ev.meta_key(),
                    shift: ev.shift_key(),
                    alt: ev.alt_key(),
                };
                let alt_graph = ev.get_modifier_state("AltGraph");
                if let Some(action) = action_for_key(&ev.key(), &ev.code(), mods, alt_graph)
                    && doc.markdown_action(action)
                {
                    ev.prevent_default();
                    reporter.report();
                    return;
                }
            }
            doc.keydown(Field::Content, &ev);
        }
    };
    let on_before_input = {
        let doc = Rc::clone(&doc);
        move |ev: web_sys::InputEvent| doc.before_input(Field::Content, &ev)
    };
    {
        let doc = Rc::clone(&doc);
        let reporter = reporter.clone();
        node.on_load(move |el| {
            doc.bind(Field::Content, FieldElement::TextArea(el.clone()));
            let _ = el.focus();
            reporter.report();
        });
    }
    // The textarea is as tall as its text and never scrolls (the surface
    // around it does), but while a new line waits for the highlight layer
    // to grow the row, the browser may scroll it to show the caret. The
    // event comes only when it did, so nothing reads layout on a keystroke.
    let on_scroll = move |_| {
        if let Some(textarea) = node.get_untracked()
            && textarea.scroll_top() != 0
        {
            textarea.set_scroll_top(0);
        }
    };
    let placeholder = move || {
        if read_only.get() {
            "Nothing has been written here yet."
        } else {
            "Start writing…"
        }
    };
    let highlight_doc = Rc::clone(&doc);
    view! {
        <div class="editor-surface" node_ref=scroller class:is-composing=move || composing.get()>
            <div class="editor-grid">
            <HighlightLayer doc=highlight_doc markdown=markdown content_version=content_version/>
            <textarea
                node_ref=node
                class="editor editor-text"
                data-testid="editor"
                aria-label="Document text"
                aria-readonly=move || read_only.get().to_string()
                placeholder=placeholder
                spellcheck="true"
                readonly=move || read_only.get()
                on:input=on_input
                on:keydown=on_keydown
                on:keyup=reporting(&reporter)
                on:mouseup=reporting(&reporter)
                on:select=reporting(&reporter)
                on:focus=reporting(&reporter)
                on:beforeinput=on_before_input
                on:scroll=on_scroll
                on:compositionstart=on_composition_start
                on:compositionend=on_composition_end
                on:blur=on_blur
            ></textarea>
            <RemoteCursors
                doc=doc
                peers=peers
                content_version=content_version
                editor=node
                markdown=markdown
            />
            </div>
        </div>
    }
}

/// An event handler that reports the caret, whatever the event: every event
/// that can move it does (identical reports are dropped by the throttle).
fn reporting<E>(reporter: &PresenceReporter) -> impl Fn(E) + use<E> {
    let reporter = reporter.clone();
    move |_| reporter.report()
}
