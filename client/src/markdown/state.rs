//! [`MarkdownState`]: the page's [`MarkdownDoc`], kept in step with the
//! body text, shared by the editor's highlighting, the preview and the
//! outline, with the block elements the highlight layer and the preview
//! show (for the scroll sync and the remote carets, which find a block's
//! element without asking the DOM).

use leptos::prelude::*;
use tandem_shared::markdown::MarkdownDoc;

use super::reconcile::BlockElements;

/// A small `Copy` handle on the page's Markdown document.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MarkdownState {
    /// The blocks of the body, with their cached highlighting and HTML.
    doc: StoredValue<MarkdownDoc>,
    /// The body's `content_version` the blocks reflect (`None`: not yet).
    synced: StoredValue<Option<u64>>,
    /// The highlight layer's block elements.
    layer: BlockElements,
    /// The preview's block elements.
    preview: BlockElements,
}

impl MarkdownState {
    /// An empty document; [`MarkdownState::sync`] fills it.
    pub(crate) fn new() -> Self {
        Self {
            doc: StoredValue::new(MarkdownDoc::new("")),
            synced: StoredValue::new(None),
            layer: BlockElements::new(),
            preview: BlockElements::new(),
        }
    }

    /// The block elements of the editor's highlight layer.
    pub(crate) fn layer(&self) -> BlockElements {
        self.layer
    }

    /// The block elements of the preview.
    pub(crate) fn preview(&self) -> BlockElements {
        self.preview
    }

    /// Brings the blocks to the body at `version`, reading the text with
    /// `text` only if this version was not seen yet (each change of the body
    /// is parsed once, whoever asks first).
    pub(crate) fn sync(&self, version: u64, text: impl FnOnce() -> String) {
        if self.synced.get_value() == Some(version) {
            return;
        }
        let text = text();
        self.doc.update_value(|doc| {
            doc.update(&text);
        });
        self.synced.set_value(Some(version));
    }

    /// Runs `f` on the document (which caches renderings as they are
    /// asked for); `None` once the page that owns it is gone.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut MarkdownDoc) -> R) -> Option<R> {
        self.doc.try_update_value(f)
    }
}
