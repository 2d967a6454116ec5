//! The document body: a `<textarea>` bound to the `content` text, with the
//! other people's carets and selections drawn over it, and this person's
//! caret reported as presence.

use std::rc::Rc;

use leptos::html::Textarea;
use leptos::prelude::*;

use super::RemoteCursors;
use crate::editor::{Field, FieldElement, SharedDoc};
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
) -> impl IntoView {
    let node = NodeRef::<Textarea>::new();
    let on_input = {
        let doc = Rc::clone(&doc);
        let reporter = reporter.clone();
        move |_| {
            doc.input(Field::Content);
            reporter.report();
        }
    };
    let on_composition_start = handler(&doc, SharedDoc::composition_start);
    let on_composition_end = {
        let doc = Rc::clone(&doc);
        let reporter = reporter.clone();
        move |_| {
            doc.composition_end(Field::Content);
            reporter.report();
        }
    };
    let on_blur = {
        let doc = Rc::clone(&doc);
        let reporter = reporter.clone();
        move |_| {
            doc.composition_end(Field::Content);
            reporter.report();
        }
    };
    let on_keydown = {
        let doc = Rc::clone(&doc);
        move |ev: web_sys::KeyboardEvent| doc.keydown(Field::Content, &ev)
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
    let placeholder = move || {
        if read_only.get() {
            "Nothing has been written here yet."
        } else {
            "Start writing…"
        }
    };
    view! {
        <div class="editor-surface">
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
                on:compositionstart=on_composition_start
                on:compositionend=on_composition_end
                on:blur=on_blur
            ></textarea>
            <RemoteCursors doc=doc peers=peers content_version=content_version editor=node/>
        </div>
    }
}

/// An event handler that reports the caret, whatever the event: every event
/// that can move it does (identical reports are dropped by the throttle).
fn reporting<E>(reporter: &PresenceReporter) -> impl Fn(E) + use<E> {
    let reporter = reporter.clone();
    move |_| reporter.report()
}

/// An event handler that calls `f` on the document, whatever the event.
fn handler<E>(doc: &Rc<SharedDoc>, f: fn(&SharedDoc)) -> impl Fn(E) + use<E> {
    let doc = Rc::clone(doc);
    move |_| f(&doc)
}
