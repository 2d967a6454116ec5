//! The Markdown highlighting under the body's textarea.
//!
//! One `div` per block of the document (`MarkdownState`), holding the
//! block's characters in styled runs (`tandem_shared::markdown::highlight`);
//! after an edit only the blocks with new ids are replaced
//! (`crate::markdown::reconcile`). The layer has the textarea's font,
//! padding and wrapping (`.editor-text`), so every character lands where
//! the textarea's own (transparent) character is; its height is the grid
//! row's, which the textarea stretches to. Other people's carets are placed
//! by measuring its characters (`RemoteCursors`).
//!
//! Updating it only writes to the DOM: nothing here reads layout, so the
//! browser lays the page out once, for the frame that shows the edit.

use std::rc::Rc;

use leptos::html::Div;
use leptos::prelude::*;
use send_wrapper::SendWrapper;

use crate::editor::SharedDoc;
use crate::markdown::MarkdownState;

/// `editor-highlight`.
#[component]
pub(crate) fn HighlightLayer(
    doc: Rc<SharedDoc>,
    markdown: MarkdownState,
    /// Bumped on every change of the body.
    content_version: RwSignal<u64>,
) -> impl IntoView {
    let layer = NodeRef::<Div>::new();
    // Reactive closures must be `Send`; the wrapper is only opened on this thread.
    let doc = SendWrapper::new(doc);
    Effect::new(move |_| {
        let version = content_version.get();
        let Some(layer) = layer.get() else {
            return;
        };
        markdown.sync(version, || doc.content());
        let blocks = markdown.layer();
        markdown.with(|md| {
            let ids: Vec<u64> = md.blocks().iter().map(|b| b.id).collect();
            blocks.reconcile(&layer, &ids, "div", "m-b", |i| md.highlight(i).to_owned());
            // A final line break makes one more (empty) line in a textarea;
            // the stylesheet adds it to the layer's last block.
            let _ = layer
                .class_list()
                .toggle_with_force("ends-with-newline", md.text().ends_with('\n'));
        });
    });
    view! { <div class="editor-highlight editor-text" node_ref=layer aria-hidden="true"></div> }
}
