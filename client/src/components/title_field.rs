//! The shared, editable document title at the top of the page, bound to the
//! `title` text of the document.

use std::rc::Rc;

use leptos::html::Input;
use leptos::prelude::*;
use tandem_shared::doc::TITLE_MAX_LEN;
use wasm_bindgen::JsCast;

use crate::editor::{Field, FieldElement, SharedDoc};

/// `title`.
#[component]
pub(crate) fn TitleField(doc: Rc<SharedDoc>, read_only: RwSignal<bool>) -> impl IntoView {
    let node = NodeRef::<Input>::new();
    let on_input = handler(&doc, |doc| doc.input(Field::Title));
    let on_composition_start = handler(&doc, SharedDoc::composition_start);
    let on_composition_end = handler(&doc, |doc| doc.composition_end(Field::Title));
    let on_blur = handler(&doc, |doc| doc.composition_end(Field::Title));
    let on_keydown = {
        let doc = Rc::clone(&doc);
        move |ev: web_sys::KeyboardEvent| {
            if ev.key() == "Enter" && !ev.is_composing() {
                // Enter ends the title and moves on to the text.
                ev.prevent_default();
                focus_editor();
            } else {
                doc.keydown(Field::Title, &ev);
            }
        }
    };
    let on_before_input = {
        let doc = Rc::clone(&doc);
        move |ev: web_sys::InputEvent| doc.before_input(Field::Title, &ev)
    };
    node.on_load(move |el| doc.bind(Field::Title, FieldElement::Input(el)));
    view! {
        <input
            node_ref=node
            class="title-input"
            data-testid="title"
            type="text"
            placeholder="Untitled document"
            maxlength=TITLE_MAX_LEN.to_string()
            aria-label="Document title"
            autocomplete="off"
            spellcheck="false"
            readonly=move || read_only.get()
            on:input=on_input
            on:keydown=on_keydown
            on:beforeinput=on_before_input
            on:compositionstart=on_composition_start
            on:compositionend=on_composition_end
            on:blur=on_blur
        />
    }
}

fn focus_editor() {
    let editor = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.query_selector("[data-testid=editor]").ok().flatten())
        .and_then(|el| el.dyn_into::<web_sys::HtmlElement>().ok());
    if let Some(editor) = editor {
        let _ = editor.focus();
    }
}

/// An event handler that calls `f` on the document, whatever the event.
fn handler<E>(doc: &Rc<SharedDoc>, f: fn(&SharedDoc)) -> impl Fn(E) + use<E> {
    let doc = Rc::clone(doc);
    move |_| f(&doc)
}
