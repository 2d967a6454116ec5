//! The document body: a `<textarea>` bound to the `content` text.

use std::rc::Rc;

use leptos::html::Textarea;
use leptos::prelude::*;

use crate::editor::{Field, FieldElement, SharedDoc};

/// `editor`.
#[component]
pub(crate) fn TextEditor(doc: Rc<SharedDoc>, read_only: RwSignal<bool>) -> impl IntoView {
    let node = NodeRef::<Textarea>::new();
    let on_input = handler(&doc, |doc| doc.input(Field::Content));
    let on_composition_start = handler(&doc, SharedDoc::composition_start);
    let on_composition_end = handler(&doc, |doc| doc.composition_end(Field::Content));
    let on_blur = handler(&doc, |doc| doc.composition_end(Field::Content));
    let on_keydown = {
        let doc = Rc::clone(&doc);
        move |ev: web_sys::KeyboardEvent| doc.keydown(Field::Content, &ev)
    };
    let on_before_input = {
        let doc = Rc::clone(&doc);
        move |ev: web_sys::InputEvent| doc.before_input(Field::Content, &ev)
    };
    node.on_load(move |el| {
        doc.bind(Field::Content, FieldElement::TextArea(el.clone()));
        let _ = el.focus();
    });
    view! {
        <textarea
            node_ref=node
            class="editor"
            data-testid="editor"
            aria-label="Document text"
            placeholder="Start writing…"
            spellcheck="true"
            readonly=move || read_only.get()
            on:input=on_input
            on:keydown=on_keydown
            on:beforeinput=on_before_input
            on:compositionstart=on_composition_start
            on:compositionend=on_composition_end
            on:blur=on_blur
        ></textarea>
    }
}

/// An event handler that calls `f` on the document, whatever the event.
fn handler<E>(doc: &Rc<SharedDoc>, f: fn(&SharedDoc)) -> impl Fn(E) + use<E> {
    let doc = Rc::clone(doc);
    move |_| f(&doc)
}
